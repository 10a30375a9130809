//! Content type definitions (SPEC §5): the JSON wire shape (`RawContentType`, what editors send
//! and `schema/content-types/*.json` hold) and the checked model (`ContentType`) that the rest of
//! the code uses. A `ContentType` only exists once every rule below has passed, so code past this
//! point never meets an enum without values, a reference without a target, or `maxLength` on a
//! number.

use std::collections::{BTreeMap, HashSet};

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldError;

/// System fields every entry has; no content field may take these names.
pub const SYSTEM_FIELDS: &[&str] = &[
    "id",
    "type",
    "slug",
    "status",
    "version",
    "locale",
    "availableLocales",
    "createdAt",
    "updatedAt",
    "publishedAt",
    "createdBy",
    "updatedBy",
    "schedule",
];

/// Names a content type may not take: they clash with GraphQL schema names or surfaces.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "entry",
    "entries",
    "query",
    "mutation",
    "subscription",
    "search",
    "widget",
    "widgets",
    "status",
    "json",
    "date",
    "datetime",
    "node",
    "pageInfo",
    "string",
    "int",
    "float",
    "boolean",
    "id",
    "facet",
    "highlight",
    "searchResult",
    "searchHit",
    "schedule",
    "scheduledChange",
    "entrySchedule",
    "scheduleAction",
];

/// Longest value a filterable, sortable or unique text-like field may hold: such values are
/// copied into a B-tree index, whose entries must stay small on both databases.
pub const INDEXED_TEXT_MAX: u64 = 500;

/// The wire shape of a content type, as in `schema/content-type.schema.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawContentType {
    pub name: String,
    pub plural: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub display_name: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug_from: Option<String>,
    pub fields: Vec<RawField>,
    /// Compound indexes: each a list of field names whose values are indexed together, so that
    /// equality filters on the leading fields plus a sort on the next one read one index range.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub localized: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub filterable: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub sortable: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub searchable: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub many: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The kind of a field, with the data only that kind has.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    String,
    Text,
    RichText,
    Integer,
    Float,
    Boolean,
    Date,
    DateTime,
    Enum(Vec<String>),
    Email,
    Url,
    Phone,
    Geo,
    Json,
    Media,
    Reference { to: String },
}

impl FieldKind {
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::String => "string",
            FieldKind::Text => "text",
            FieldKind::RichText => "richtext",
            FieldKind::Integer => "integer",
            FieldKind::Float => "float",
            FieldKind::Boolean => "boolean",
            FieldKind::Date => "date",
            FieldKind::DateTime => "datetime",
            FieldKind::Enum(_) => "enum",
            FieldKind::Email => "email",
            FieldKind::Url => "url",
            FieldKind::Phone => "phone",
            FieldKind::Geo => "geo",
            FieldKind::Json => "json",
            FieldKind::Media => "media",
            FieldKind::Reference { .. } => "reference",
        }
    }

    /// Kinds whose values are text (length rules apply).
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
            FieldKind::String
                | FieldKind::Text
                | FieldKind::RichText
                | FieldKind::Email
                | FieldKind::Url
                | FieldKind::Phone
        )
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, FieldKind::Integer | FieldKind::Float)
    }

    /// Kinds that can be copied into the value index (filter, sort, unique).
    pub fn is_indexable(&self) -> bool {
        !matches!(
            self,
            FieldKind::RichText | FieldKind::Geo | FieldKind::Json | FieldKind::Media
        )
    }
}

/// A checked field definition.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub kind: FieldKind,
    pub required: bool,
    pub unique: bool,
    pub localized: bool,
    pub filterable: bool,
    pub sortable: bool,
    pub searchable: bool,
    pub many: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<Regex>,
    pub default: Option<Value>,
}

impl FieldDef {
    /// Whether the field's values are copied into the `entry_fields` index.
    pub fn is_indexed(&self) -> bool {
        self.filterable
            || self.sortable
            || self.unique
            || matches!(self.kind, FieldKind::Reference { .. } | FieldKind::Media)
    }
}

/// A checked content type.
#[derive(Debug, Clone)]
pub struct ContentType {
    pub name: String,
    pub plural: String,
    pub display_name: BTreeMap<String, String>,
    pub slug_from: Option<String>,
    pub fields: Vec<FieldDef>,
    pub indexes: Vec<CompoundIndex>,
    raw: RawContentType,
}

/// Most compound indexes a content type may declare (each adds a row per entry and locale).
pub const COMPOUND_INDEXES_MAX: usize = 8;
/// Most fields in one compound index.
pub const COMPOUND_FIELDS_MAX: usize = 4;

/// A checked compound index: two to four single-valued, indexable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompoundIndex {
    /// The field names, in index order.
    pub fields: Vec<String>,
    /// Whether any of the fields is localized (then there is one key per tenant locale).
    pub localized: bool,
}

impl CompoundIndex {
    /// The name its rows carry in the value index: the field names joined by `+`, which no
    /// field name can contain, so it never collides with a field's own rows.
    pub fn key_name(&self) -> String {
        self.fields.join("+")
    }
}

impl ContentType {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The definition as sent and stored.
    pub fn raw(&self) -> &RawContentType {
        &self.raw
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.raw).unwrap_or(Value::Null)
    }

    /// Parses and checks a definition from JSON. Errors name the path and the rule.
    pub fn from_json(value: Value) -> Result<ContentType, Vec<FieldError>> {
        let raw: RawContentType = serde_json::from_value(value)
            .map_err(|e| vec![FieldError::new("", "shape", e.to_string())])?;
        ContentType::try_from(raw)
    }
}

fn identifier() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        #[allow(clippy::unwrap_used)] // a literal, checked by the tests
        Regex::new("^[a-z][A-Za-z0-9]{0,39}$").unwrap()
    })
}

/// Checks a name against the identifier rule (also used for the GraphQL names built from it).
pub fn is_identifier(name: &str) -> bool {
    identifier().is_match(name)
}

impl TryFrom<RawContentType> for ContentType {
    type Error = Vec<FieldError>;

    fn try_from(raw: RawContentType) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        for (path, value) in [("name", &raw.name), ("plural", &raw.plural)] {
            if !is_identifier(value) {
                errors.push(FieldError::new(
                    path,
                    "pattern",
                    format!(
                        "`{value}` must start with a lowercase letter and hold only ASCII letters and digits (at most 40)"
                    ),
                ));
            } else if RESERVED_TYPE_NAMES
                .iter()
                .any(|r| r.eq_ignore_ascii_case(value))
            {
                errors.push(FieldError::new(
                    path,
                    "reserved",
                    format!("`{value}` is a reserved name"),
                ));
            }
        }
        if raw.name == raw.plural {
            errors.push(FieldError::new(
                "plural",
                "distinct",
                "plural must differ from name",
            ));
        }
        if raw.fields.is_empty() {
            errors.push(FieldError::new(
                "fields",
                "minItems",
                "a content type needs at least one field",
            ));
        }
        if raw.fields.len() > 100 {
            errors.push(FieldError::new(
                "fields",
                "maxItems",
                "a content type has at most 100 fields",
            ));
        }
        let mut seen = HashSet::new();
        let mut fields = Vec::with_capacity(raw.fields.len());
        for (i, rf) in raw.fields.iter().enumerate() {
            let path = format!("fields[{i}]");
            if !seen.insert(rf.name.as_str()) {
                errors.push(FieldError::new(
                    format!("{path}.name"),
                    "unique",
                    format!("field `{}` is defined twice", rf.name),
                ));
            }
            match check_field(rf, &path) {
                Ok(f) => fields.push(f),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if let Some(slug_from) = &raw.slug_from {
            match fields.iter().find(|f| &f.name == slug_from) {
                Some(f) if matches!(f.kind, FieldKind::String | FieldKind::Text) && !f.many => {}
                Some(_) => errors.push(FieldError::new(
                    "slugFrom",
                    "kind",
                    format!("slugFrom `{slug_from}` must name a single string or text field"),
                )),
                None => errors.push(FieldError::new(
                    "slugFrom",
                    "exists",
                    format!("slugFrom names no field `{slug_from}`"),
                )),
            }
        }
        let indexes = check_indexes(&raw.indexes, &fields, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ContentType {
            name: raw.name.clone(),
            plural: raw.plural.clone(),
            display_name: raw.display_name.clone(),
            slug_from: raw.slug_from.clone(),
            fields,
            indexes,
            raw,
        })
    }
}

/// Checks the compound indexes against the (already checked) fields.
fn check_indexes(
    raw: &[Vec<String>],
    fields: &[FieldDef],
    errors: &mut Vec<FieldError>,
) -> Vec<CompoundIndex> {
    if raw.len() > COMPOUND_INDEXES_MAX {
        errors.push(FieldError::new(
            "indexes",
            "maxItems",
            format!("a content type has at most {COMPOUND_INDEXES_MAX} compound indexes"),
        ));
    }
    let mut out: Vec<CompoundIndex> = Vec::with_capacity(raw.len());
    for (i, names) in raw.iter().enumerate() {
        let path = format!("indexes[{i}]");
        if names.len() < 2 || names.len() > COMPOUND_FIELDS_MAX {
            errors.push(FieldError::new(
                &path,
                "length",
                format!("a compound index names 2 to {COMPOUND_FIELDS_MAX} fields"),
            ));
            continue;
        }
        let mut ok = true;
        let mut text_len = 0u64;
        let mut localized = false;
        for (j, name) in names.iter().enumerate() {
            let p = format!("{path}[{j}]");
            if names[..j].contains(name) {
                errors.push(FieldError::new(
                    &p,
                    "unique",
                    format!("field `{name}` appears twice in one index"),
                ));
                ok = false;
                continue;
            }
            let Some(f) = fields.iter().find(|f| &f.name == name) else {
                errors.push(FieldError::new(
                    &p,
                    "exists",
                    format!("the content type has no field `{name}`"),
                ));
                ok = false;
                continue;
            };
            if !f.kind.is_indexable() || f.many {
                errors.push(FieldError::new(
                    &p,
                    "kind",
                    format!(
                        "`{name}` cannot be in a compound index: only single-valued fields that can be filtered or sorted can"
                    ),
                ));
                ok = false;
                continue;
            }
            localized |= f.localized;
            text_len += match &f.kind {
                k if k.is_textual() => match f.max_length {
                    Some(m) => m,
                    None => {
                        errors.push(FieldError::new(
                            &p,
                            "maxLength",
                            format!("`{name}` needs a maxLength to be in a compound index"),
                        ));
                        ok = false;
                        0
                    }
                },
                _ => 0,
            };
        }
        if text_len > INDEXED_TEXT_MAX {
            errors.push(FieldError::new(
                &path,
                "maxLength",
                format!(
                    "the text fields of a compound index may hold at most {INDEXED_TEXT_MAX} characters together (their maxLength adds up to {text_len})"
                ),
            ));
            ok = false;
        }
        if out.iter().any(|ix| &ix.fields == names) {
            errors.push(FieldError::new(
                &path,
                "unique",
                "the same compound index is declared twice",
            ));
            ok = false;
        }
        if ok {
            out.push(CompoundIndex {
                fields: names.clone(),
                localized,
            });
        }
    }
    out
}

fn check_field(rf: &RawField, path: &str) -> Result<FieldDef, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut err = |opt: &str, rule: &str, msg: String| {
        let p = if opt.is_empty() {
            path.to_owned()
        } else {
            format!("{path}.{opt}")
        };
        errors.push(FieldError::new(p, rule, msg));
    };
    if !is_identifier(&rf.name) {
        err(
            "name",
            "pattern",
            format!(
                "`{}` must start with a lowercase letter and hold only ASCII letters and digits (at most 40)",
                rf.name
            ),
        );
    }
    if SYSTEM_FIELDS.contains(&rf.name.as_str()) {
        err(
            "name",
            "reserved",
            format!("`{}` is a system field", rf.name),
        );
    }
    let kind = match rf.kind.as_str() {
        "string" => FieldKind::String,
        "text" => FieldKind::Text,
        "richtext" => FieldKind::RichText,
        "integer" => FieldKind::Integer,
        "float" => FieldKind::Float,
        "boolean" => FieldKind::Boolean,
        "date" => FieldKind::Date,
        "datetime" => FieldKind::DateTime,
        "email" => FieldKind::Email,
        "url" => FieldKind::Url,
        "phone" => FieldKind::Phone,
        "geo" => FieldKind::Geo,
        "json" => FieldKind::Json,
        "media" => FieldKind::Media,
        "enum" => match &rf.values {
            Some(values) if !values.is_empty() => {
                let distinct: HashSet<_> = values.iter().collect();
                if distinct.len() != values.len() {
                    err("values", "unique", "enum values must be distinct".into());
                }
                for v in values {
                    if v.is_empty() || v.len() > 100 {
                        err(
                            "values",
                            "length",
                            format!("enum value `{v}` must have 1 to 100 characters"),
                        );
                    }
                }
                FieldKind::Enum(values.clone())
            }
            _ => {
                err(
                    "values",
                    "required",
                    "an enum field needs a non-empty `values` list".into(),
                );
                FieldKind::Enum(Vec::new())
            }
        },
        "reference" => match &rf.to {
            Some(to) if is_identifier(to) => FieldKind::Reference { to: to.clone() },
            Some(to) => {
                err(
                    "to",
                    "pattern",
                    format!("`{to}` is not a content type name"),
                );
                FieldKind::Reference { to: to.clone() }
            }
            None => {
                err(
                    "to",
                    "required",
                    "a reference field needs `to`: the content type it points at".into(),
                );
                FieldKind::Reference { to: String::new() }
            }
        },
        other => {
            err(
                "type",
                "enum",
                format!(
                    "unknown field type `{other}`; expected one of string, text, richtext, integer, float, boolean, date, datetime, enum, email, url, phone, geo, json, media, reference"
                ),
            );
            FieldKind::Json
        }
    };
    if rf.values.is_some() && !matches!(kind, FieldKind::Enum(_)) {
        err(
            "values",
            "applicable",
            "`values` applies to enum fields only".into(),
        );
    }
    if rf.to.is_some() && !matches!(kind, FieldKind::Reference { .. }) {
        err(
            "to",
            "applicable",
            "`to` applies to reference fields only".into(),
        );
    }
    if (rf.min.is_some() || rf.max.is_some()) && !kind.is_numeric() {
        err(
            "min",
            "applicable",
            "`min`/`max` apply to integer and float fields only".into(),
        );
    }
    if let (Some(min), Some(max)) = (rf.min, rf.max)
        && min > max
    {
        err(
            "min",
            "range",
            format!("min {min} is greater than max {max}"),
        );
    }
    if (rf.min_length.is_some() || rf.max_length.is_some()) && !kind.is_textual() {
        err(
            "minLength",
            "applicable",
            "`minLength`/`maxLength` apply to text fields only".into(),
        );
    }
    if let (Some(min), Some(max)) = (rf.min_length, rf.max_length)
        && min > max
    {
        err(
            "minLength",
            "range",
            format!("minLength {min} is greater than maxLength {max}"),
        );
    }
    let pattern = match &rf.pattern {
        Some(p) if kind.is_textual() && !matches!(kind, FieldKind::RichText) => {
            match regex::RegexBuilder::new(p).size_limit(1 << 20).build() {
                Ok(re) => Some(re),
                Err(e) => {
                    err(
                        "pattern",
                        "regex",
                        format!("invalid regular expression: {e}"),
                    );
                    None
                }
            }
        }
        Some(_) => {
            err(
                "pattern",
                "applicable",
                "`pattern` applies to plain text fields only".into(),
            );
            None
        }
        None => None,
    };
    if rf.many
        && !matches!(
            kind,
            FieldKind::String | FieldKind::Enum(_) | FieldKind::Media | FieldKind::Reference { .. }
        )
    {
        err(
            "many",
            "applicable",
            "`many` applies to string, enum, media and reference fields only".into(),
        );
    }
    if (rf.filterable || rf.sortable || rf.unique) && !kind.is_indexable() {
        err(
            "filterable",
            "applicable",
            format!(
                "{} fields cannot be filterable, sortable or unique",
                kind.name()
            ),
        );
    }
    if rf.sortable && rf.many {
        err(
            "sortable",
            "applicable",
            "a `many` field cannot be sortable".into(),
        );
    }
    if rf.unique && (rf.many || rf.localized) {
        err(
            "unique",
            "applicable",
            "`unique` applies to single, non-localized fields".into(),
        );
    }
    if (rf.filterable || rf.sortable || rf.unique)
        && kind.is_textual()
        && rf.max_length.is_none_or(|m| m > INDEXED_TEXT_MAX)
    {
        err(
            "maxLength",
            "required",
            format!(
                "filterable, sortable or unique text fields need maxLength ≤ {INDEXED_TEXT_MAX}"
            ),
        );
    }
    if rf.localized && matches!(kind, FieldKind::Reference { .. }) {
        err(
            "localized",
            "applicable",
            "reference fields cannot be localized".into(),
        );
    }
    let field = FieldDef {
        name: rf.name.clone(),
        kind,
        required: rf.required,
        unique: rf.unique,
        localized: rf.localized,
        filterable: rf.filterable,
        sortable: rf.sortable,
        searchable: rf.searchable,
        many: rf.many,
        min: rf.min,
        max: rf.max,
        min_length: rf.min_length,
        max_length: rf.max_length,
        pattern,
        default: rf.default.clone(),
    };
    if let Some(default) = &rf.default {
        let limits = super::values::ValueLimits::default();
        if let Err(e) = super::values::check_value(&field, default, "default", &limits) {
            for fe in e {
                err("default", &fe.rule, fe.message);
            }
        }
    }
    if errors.is_empty() {
        Ok(field)
    } else {
        Err(errors)
    }
}

/// Built-in content types every tenant starts with (SPEC §9).
pub fn builtin_types() -> Vec<ContentType> {
    const SOURCES: [&str; 3] = [
        include_str!("../../../schema/content-types/article.json"),
        include_str!("../../../schema/content-types/event.json"),
        include_str!("../../../schema/content-types/artisan.json"),
    ];
    // The sources are part of the binary and checked by the tests below; a broken one is a
    // build defect, reported loudly rather than skipped.
    SOURCES
        .iter()
        .filter_map(|src| {
            match serde_json::from_str::<Value>(src)
                .map_err(|e| e.to_string())
                .and_then(|v| {
                    ContentType::from_json(v).map_err(|e| crate::error::describe_fields(&e))
                }) {
                Ok(ct) => Some(ct),
                Err(e) => {
                    tracing::error!("built-in content type is invalid: {e}");
                    None
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtins_parse() {
        let types = builtin_types();
        let names: Vec<_> = types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["article", "event", "artisan"]);
    }

    fn rules(value: Value) -> Vec<(String, String)> {
        match ContentType::from_json(value) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| (e.path, e.rule)).collect(),
        }
    }

    #[test]
    fn invalid_definitions_name_path_and_rule() {
        let r = rules(
            json!({"name": "Bad", "plural": "bads", "fields": [{"name": "x", "type": "string"}]}),
        );
        assert!(r.contains(&("name".into(), "pattern".into())), "{r:?}");
        let r = rules(json!({"name": "shop", "plural": "shops", "fields": [
            {"name": "kind", "type": "enum"},
            {"name": "n", "type": "integer", "maxLength": 3},
            {"name": "slug", "type": "string"},
            {"name": "c", "type": "string", "filterable": true},
            {"name": "r", "type": "reference"},
            {"name": "w", "type": "wat"},
            {"name": "d", "type": "integer", "default": "x"}
        ]}));
        for expected in [
            ("fields[0].values", "required"),
            ("fields[1].minLength", "applicable"),
            ("fields[2].name", "reserved"),
            ("fields[3].maxLength", "required"),
            ("fields[4].to", "required"),
            ("fields[5].type", "enum"),
            ("fields[6].default", "type"),
        ] {
            assert!(
                r.contains(&(expected.0.to_owned(), expected.1.to_owned())),
                "missing {expected:?} in {r:?}"
            );
        }
    }

    #[test]
    fn compound_indexes_are_checked() {
        let fields = json!([
            {"name": "craft", "type": "string", "filterable": true, "maxLength": 100},
            {"name": "city", "type": "string", "maxLength": 100},
            {"name": "bio", "type": "text", "maxLength": 450},
            {"name": "notes", "type": "text"},
            {"name": "tags", "type": "string", "many": true, "maxLength": 50},
            {"name": "body", "type": "richtext"},
            {"name": "rank", "type": "integer"}
        ]);
        let def = |indexes: Value| json!({"name": "shop", "plural": "shops", "fields": fields.clone(), "indexes": indexes});
        assert_eq!(rules(def(json!([["craft", "city", "rank"]]))), []);
        let ct = ContentType::from_json(def(json!([["craft", "rank"]]))).expect("valid");
        assert_eq!(ct.indexes[0].key_name(), "craft+rank");
        assert!(!ct.indexes[0].localized);
        let r = rules(def(json!([
            ["craft"],
            ["craft", "craft"],
            ["craft", "nope"],
            ["craft", "tags"],
            ["craft", "body"],
            ["craft", "notes"],
            ["craft", "bio"],
            ["city", "rank"],
            ["city", "rank"]
        ])));
        for expected in [
            ("indexes", "maxItems"),
            ("indexes[0]", "length"),
            ("indexes[1][1]", "unique"),
            ("indexes[2][1]", "exists"),
            ("indexes[3][1]", "kind"),
            ("indexes[4][1]", "kind"),
            ("indexes[5][1]", "maxLength"),
            ("indexes[6]", "maxLength"),
            ("indexes[8]", "unique"),
        ] {
            assert!(
                r.contains(&(expected.0.to_owned(), expected.1.to_owned())),
                "missing {expected:?} in {r:?}"
            );
        }
        assert!(
            !r.contains(&("indexes[7]".to_owned(), "unique".to_owned())),
            "{r:?}"
        );
    }
}
