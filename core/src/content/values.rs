//! Entry values: checking each value against its field's rules, normalising it (trimmed
//! strings, sanitized rich text, UTC datetimes) and encoding it for the value index.
//!
//! Pure functions only: the content service feeds them and writes what they return.

use std::sync::OnceLock;

use chrono::{NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::model::{ContentType, FieldDef, FieldKind};
use crate::error::FieldError;

/// Limits applied while checking values (from `Config.limits`).
#[derive(Debug, Clone)]
pub struct ValueLimits {
    pub many_items: usize,
    /// Longest value of a field without `maxLength`, in characters.
    pub text_chars: usize,
}

impl Default for ValueLimits {
    fn default() -> Self {
        ValueLimits {
            many_items: 1_000,
            text_chars: 200_000,
        }
    }
}

/// Largest integer that round-trips through the float-encoded index and JSON clients.
const SAFE_INTEGER: i64 = (1 << 53) - 1;

fn fail(path: &str, rule: &str, message: impl Into<String>) -> Vec<FieldError> {
    vec![FieldError::new(path, rule, message)]
}

/// Checks one value (a whole `many` list, or one locale's value) and returns it normalised.
/// `null` is returned unchanged; `required` is checked by [`check_entry`].
pub fn check_value(
    field: &FieldDef,
    value: &Value,
    path: &str,
    limits: &ValueLimits,
) -> Result<Value, Vec<FieldError>> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if field.many {
        let Value::Array(items) = value else {
            return Err(fail(path, "type", format!("`{}` takes a list", field.name)));
        };
        if items.len() > limits.many_items {
            return Err(fail(
                path,
                "maxItems",
                format!("at most {} items", limits.many_items),
            ));
        }
        let mut errors = Vec::new();
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match check_single(field, item, &format!("{path}[{i}]"), limits) {
                Ok(Value::Null) => {}
                Ok(v) if !out.contains(&v) => out.push(v),
                Ok(_) => {}
                Err(mut e) => errors.append(&mut e),
            }
        }
        return if errors.is_empty() {
            Ok(Value::Array(out))
        } else {
            Err(errors)
        };
    }
    check_single(field, value, path, limits)
}

fn check_single(
    field: &FieldDef,
    value: &Value,
    path: &str,
    limits: &ValueLimits,
) -> Result<Value, Vec<FieldError>> {
    let kind = &field.kind;
    match kind {
        FieldKind::String
        | FieldKind::Text
        | FieldKind::RichText
        | FieldKind::Email
        | FieldKind::Url
        | FieldKind::Phone => {
            let Value::String(s) = value else {
                return Err(fail(
                    path,
                    "type",
                    format!("expected a string ({})", kind.name()),
                ));
            };
            let s = match kind {
                FieldKind::RichText => sanitize_html(s),
                FieldKind::Text => s.trim().replace("\r\n", "\n"),
                _ => s.trim().to_owned(),
            };
            if s.is_empty() {
                return Ok(Value::Null);
            }
            if s.chars().any(|c| c == '\0') {
                return Err(fail(path, "characters", "NUL characters are not allowed"));
            }
            let chars = s.chars().count();
            if let Some(min) = field.min_length
                && (chars as u64) < min
            {
                return Err(fail(
                    path,
                    "minLength",
                    format!("at least {min} characters, got {chars}"),
                ));
            }
            let max = field.max_length.unwrap_or(limits.text_chars as u64);
            if chars as u64 > max {
                return Err(fail(
                    path,
                    "maxLength",
                    format!("at most {max} characters, got {chars}"),
                ));
            }
            if let Some(re) = &field.pattern
                && !re.is_match(&s)
            {
                return Err(fail(
                    path,
                    "pattern",
                    format!("must match /{}/", re.as_str()),
                ));
            }
            match kind {
                FieldKind::Email if !is_email(&s) => {
                    return Err(fail(path, "email", "not a valid e-mail address"));
                }
                FieldKind::Url => match url::Url::parse(&s) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                    _ => return Err(fail(path, "url", "not an absolute http(s) URL")),
                },
                FieldKind::Phone if !is_phone(&s) => {
                    return Err(fail(
                        path,
                        "phone",
                        "not a phone number (digits, spaces, dashes, dots, parentheses, an optional leading +; 6 to 20 digits)",
                    ));
                }
                _ => {}
            }
            Ok(Value::String(s))
        }
        FieldKind::Enum(values) => match value {
            Value::String(s) if values.iter().any(|v| v == s) => Ok(value.clone()),
            _ => Err(fail(
                path,
                "enum",
                format!("must be one of: {}", values.join(", ")),
            )),
        },
        FieldKind::Integer => {
            let Some(n) = value.as_i64().filter(|n| n.abs() <= SAFE_INTEGER) else {
                return Err(fail(path, "type", "expected an integer within ±2^53"));
            };
            check_range(field, n as f64, path)?;
            Ok(Value::from(n))
        }
        FieldKind::Float => {
            let Some(n) = value.as_f64().filter(|n| n.is_finite()) else {
                return Err(fail(path, "type", "expected a finite number"));
            };
            check_range(field, n, path)?;
            Ok(value.clone())
        }
        FieldKind::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(fail(path, "type", "expected true or false")),
        },
        FieldKind::Date => match value
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        {
            Some(d) => Ok(Value::String(d.format("%Y-%m-%d").to_string())),
            None => Err(fail(path, "date", "expected a date as YYYY-MM-DD")),
        },
        FieldKind::DateTime => match value.as_str().and_then(parse_datetime) {
            Some(s) => Ok(Value::String(s)),
            None => Err(fail(
                path,
                "datetime",
                "expected an RFC 3339 date-time with offset, e.g. 2017-07-06T10:00:00+01:00",
            )),
        },
        FieldKind::Geo => {
            let lat = value.get("lat").and_then(Value::as_f64);
            let lng = value.get("lng").and_then(Value::as_f64);
            let extra = value.as_object().is_some_and(|o| o.len() != 2);
            match (lat, lng) {
                (Some(lat), Some(lng))
                    if !extra
                        && (-90.0..=90.0).contains(&lat)
                        && (-180.0..=180.0).contains(&lng) =>
                {
                    Ok(serde_json::json!({ "lat": lat, "lng": lng }))
                }
                _ => Err(fail(
                    path,
                    "geo",
                    "expected {\"lat\": -90..90, \"lng\": -180..180}",
                )),
            }
        }
        FieldKind::Json => Ok(value.clone()),
        FieldKind::Media | FieldKind::Reference { .. } => match value {
            Value::String(s)
                if !s.is_empty()
                    && s.len() <= 200
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) =>
            {
                Ok(value.clone())
            }
            _ => Err(fail(
                path,
                "type",
                format!("expected an id ({})", kind.name()),
            )),
        },
    }
}

fn check_range(field: &FieldDef, n: f64, path: &str) -> Result<(), Vec<FieldError>> {
    if let Some(min) = field.min
        && n < min
    {
        return Err(fail(path, "min", format!("must be ≥ {min}")));
    }
    if let Some(max) = field.max
        && n > max
    {
        return Err(fail(path, "max", format!("must be ≤ {max}")));
    }
    Ok(())
}

/// Normalises an RFC 3339 date-time to UTC (`2017-07-06T09:00:00Z`).
pub fn parse_datetime(s: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| {
        d.with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true)
    })
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !s.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

fn is_phone(s: &str) -> bool {
    let rest = s.strip_prefix('+').unwrap_or(s);
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    (6..=20).contains(&digits)
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || " -.()".contains(c))
}

/// Rich text is sanitized on write: no scripts, handlers or foreign protocols; `dir` and `lang`
/// are kept because Arabic content needs them.
pub fn sanitize_html(html: &str) -> String {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    let cleaner = CLEANER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.add_generic_attributes(["dir", "lang"]);
        b.url_schemes(["http", "https", "mailto", "tel"].into_iter().collect());
        b
    });
    cleaner.clean(html).to_string().trim().to_owned()
}

/// Checks a whole entry document against its type.
///
/// `data` is the stored shape: localized fields are objects keyed by locale. Unknown fields,
/// unknown locales and every broken rule are reported together. Returns the normalised document.
pub fn check_entry(
    ct: &ContentType,
    data: &Map<String, Value>,
    locales: &[String],
    default_locale: &str,
    limits: &ValueLimits,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Map::new();
    for key in data.keys() {
        if ct.field(key).is_none() {
            errors.push(FieldError::new(
                key.as_str(),
                "unknown",
                format!("content type `{}` has no field `{key}`", ct.name),
            ));
        }
    }
    for field in &ct.fields {
        let value = data.get(&field.name).unwrap_or(&Value::Null);
        let normalised = if field.localized && !value.is_null() {
            let Value::Object(per_locale) = value else {
                errors.push(FieldError::new(
                    field.name.as_str(),
                    "localized",
                    format!(
                        "`{}` is localized: expected an object keyed by locale ({})",
                        field.name,
                        locales.join(", ")
                    ),
                ));
                continue;
            };
            let mut m = Map::new();
            for (locale, v) in per_locale {
                let path = format!("{}.{locale}", field.name);
                if !locales.iter().any(|l| l == locale) {
                    errors.push(FieldError::new(
                        path,
                        "locale",
                        format!(
                            "unknown locale `{locale}`; the tenant has {}",
                            locales.join(", ")
                        ),
                    ));
                    continue;
                }
                match check_value(field, v, &path, limits) {
                    Ok(Value::Null) => {}
                    Ok(v) => {
                        m.insert(locale.clone(), v);
                    }
                    Err(mut e) => errors.append(&mut e),
                }
            }
            if m.is_empty() {
                Value::Null
            } else {
                Value::Object(m)
            }
        } else {
            match check_value(field, value, &field.name, limits) {
                Ok(v) => v,
                Err(mut e) => {
                    errors.append(&mut e);
                    continue;
                }
            }
        };
        let empty = match &normalised {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if field.required {
            let missing_default =
                field.localized && normalised.get(default_locale).is_none_or(Value::is_null);
            if empty || missing_default {
                let path = if field.localized && !empty {
                    format!("{}.{default_locale}", field.name)
                } else {
                    field.name.clone()
                };
                errors.push(FieldError::new(
                    path,
                    "required",
                    format!("`{}` is required", field.name),
                ));
                continue;
            }
        }
        if !empty {
            out.insert(field.name.clone(), normalised);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Fills absent fields that have a default (on create).
pub fn apply_defaults(ct: &ContentType, data: &mut Map<String, Value>, default_locale: &str) {
    for field in &ct.fields {
        if let Some(default) = &field.default
            && !data.contains_key(&field.name)
        {
            let v = if field.localized {
                serde_json::json!({ default_locale: default })
            } else {
                default.clone()
            };
            data.insert(field.name.clone(), v);
        }
    }
}

/// Resolves the value a reader of `locale` sees: its own value, else the default locale's.
pub fn localized_value<'a>(
    field: &FieldDef,
    value: &'a Value,
    locale: &str,
    default_locale: &str,
) -> Option<&'a Value> {
    if !field.localized {
        return (!value.is_null()).then_some(value);
    }
    value
        .get(locale)
        .or_else(|| value.get(default_locale))
        .filter(|v| !v.is_null())
}

/// The locales that hold at least one localized value (an entry's `availableLocales`).
pub fn available_locales(
    ct: &ContentType,
    data: &Map<String, Value>,
    locales: &[String],
) -> Vec<String> {
    locales
        .iter()
        .filter(|l| {
            ct.fields
                .iter()
                .any(|f| f.localized && data.get(&f.name).and_then(|v| v.get(l.as_str())).is_some())
        })
        .cloned()
        .collect()
}

/// Encodes a number so that byte order equals numeric order (IEEE-754 bit trick).
pub fn encode_number(n: f64) -> String {
    let bits = n.to_bits();
    let key = if n.is_sign_negative() {
        !bits
    } else {
        bits ^ (1 << 63)
    };
    format!("{key:016x}")
}

/// Encodes one scalar value of a field for the value index: byte order is value order.
/// The empty string means "no value".
pub fn encode_index_value(kind: &FieldKind, value: &Value) -> Option<String> {
    match (kind, value) {
        (FieldKind::Integer | FieldKind::Float, v) => v.as_f64().map(encode_number),
        (FieldKind::Boolean, Value::Bool(b)) => Some(if *b { "1" } else { "0" }.to_owned()),
        (FieldKind::DateTime, Value::String(s)) => {
            chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| {
                d.with_timezone(&Utc)
                    .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                    .to_string()
            })
        }
        (_, Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// One row of the value index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexRow {
    pub field: String,
    pub locale: String,
    pub value: String,
}

/// The index rows of one document: for each indexed field, one row per value (per tenant
/// locale for localized fields, holding the value that locale's readers see). A sortable field
/// without a value has one empty row, so that a sorted page, which walks that field's rows in
/// order, sees every entry; other fields have none (`isNull` and the empty group of an
/// aggregate look for the absence of a value), which halves an article's rows. Then one row per
/// compound index (per locale when one of its fields is localized), holding its fields' values
/// as one [compound key](push_key_part).
pub fn index_rows(
    ct: &ContentType,
    data: &Map<String, Value>,
    locales: &[String],
    default_locale: &str,
) -> Vec<IndexRow> {
    let mut rows = Vec::new();
    for field in ct.fields.iter().filter(|f| f.is_indexed()) {
        let per_locale: Vec<String> = if field.localized {
            locales.to_vec()
        } else {
            vec![String::new()]
        };
        for locale in per_locale {
            for value in encoded_values(field, data, &locale, default_locale) {
                if value.is_empty() && !field.sortable {
                    continue;
                }
                rows.push(IndexRow {
                    field: field.name.clone(),
                    locale: locale.clone(),
                    value,
                });
            }
        }
    }
    for index in &ct.indexes {
        let per_locale: Vec<String> = if index.localized {
            locales.to_vec()
        } else {
            vec![String::new()]
        };
        for locale in per_locale {
            let mut key = String::new();
            for name in &index.fields {
                let part = ct
                    .field(name)
                    .and_then(|f| encoded_values(f, data, &locale, default_locale).pop())
                    .unwrap_or_default();
                push_key_part(&mut key, &part);
            }
            rows.push(IndexRow {
                field: index.key_name(),
                locale,
                value: key,
            });
        }
    }
    rows
}

/// A field's encoded values as `locale`'s readers see them (`""` for a non-localized field),
/// sorted and distinct; one empty value when it has none.
fn encoded_values(
    field: &FieldDef,
    data: &Map<String, Value>,
    locale: &str,
    default_locale: &str,
) -> Vec<String> {
    let value = data.get(&field.name).unwrap_or(&Value::Null);
    let v = if field.localized {
        localized_value(field, value, locale, default_locale)
    } else {
        (!value.is_null()).then_some(value)
    };
    let mut encoded: Vec<String> = match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| encode_index_value(&field.kind, i))
            .collect(),
        Some(v) => encode_index_value(&field.kind, v).into_iter().collect(),
        None => Vec::new(),
    };
    encoded.sort();
    encoded.dedup();
    if encoded.is_empty() {
        encoded.push(String::new());
    }
    encoded
}

/// Ends each part of a compound key. It and [`KEY_ESCAPE`] sort below every character a part
/// holds once escaped, so the byte order of keys is the order of their parts, first to last.
const KEY_END: char = '\u{1}';
const KEY_ESCAPE: char = '\u{2}';

/// Appends one encoded value to a compound key: `U+0000..=U+0002` become `U+0002` followed by
/// `U+0001..=U+0003` (keeping their order and keeping the terminator unique), then [`KEY_END`].
pub fn push_key_part(key: &mut String, part: &str) {
    key.reserve(part.len() + 1);
    for c in part.chars() {
        if c <= KEY_ESCAPE {
            key.push(KEY_ESCAPE);
            key.push(char::from(c as u8 + 1));
        } else {
            key.push(c);
        }
    }
    key.push(KEY_END);
}

/// Splits the first part off a compound key: the part as it was pushed, and the rest of the
/// key. `None` when the key is not well formed.
pub fn split_key_part(key: &str) -> Option<(String, &str)> {
    let mut part = String::new();
    let mut chars = key.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            KEY_END => return Some((part, &key[i + c.len_utf8()..])),
            KEY_ESCAPE => {
                let (_, e) = chars.next()?;
                let code = u32::from(e).checked_sub(1)?;
                part.push(char::from_u32(code).filter(|c| *c <= KEY_ESCAPE)?);
            }
            c => part.push(c),
        }
    }
    None
}

/// The reference ids held by a document, per target type.
pub fn references(ct: &ContentType, data: &Map<String, Value>) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for field in &ct.fields {
        if let FieldKind::Reference { to } = &field.kind {
            match data.get(&field.name) {
                Some(Value::String(id)) => out.push((field.name.clone(), to.clone(), id.clone())),
                Some(Value::Array(ids)) => {
                    for (i, id) in ids.iter().enumerate() {
                        if let Value::String(id) = id {
                            out.push((format!("{}[{i}]", field.name), to.clone(), id.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::model::builtin_types;
    use proptest::prelude::*;
    use serde_json::json;

    fn article() -> ContentType {
        builtin_types().remove(0)
    }

    fn locales() -> Vec<String> {
        vec!["ar".into(), "fr".into()]
    }

    fn check(ct: &ContentType, v: Value) -> Result<Map<String, Value>, Vec<(String, String)>> {
        let Value::Object(m) = v else {
            panic!("object")
        };
        check_entry(ct, &m, &locales(), "ar", &ValueLimits::default())
            .map_err(|e| e.into_iter().map(|e| (e.path, e.rule)).collect())
    }

    #[test]
    fn arabic_article_passes_and_html_is_sanitized() {
        let out = check(
            &article(),
            json!({
                "title": {"ar": "تنظيم لقاء إعلامي جهوي بمناسبة اليوم العالمي للتعاونيات"},
                "body": {"ar": "<p dir=\"rtl\">نص <script>alert(1)</script><a href=\"javascript:x\">رابط</a></p>"},
                "category": "news",
                "tags": ["تعاونيات", "تعاونيات", "مراكش"]
            }),
        )
        .expect("valid");
        let body = out["body"]["ar"].as_str().expect("string");
        assert!(body.contains("dir=\"rtl\""), "{body}");
        assert!(
            !body.contains("script") && !body.contains("javascript"),
            "{body}"
        );
        assert_eq!(out["tags"], json!(["تعاونيات", "مراكش"]));
    }

    #[test]
    fn each_rule_names_field_and_rule() {
        let ct = article();
        let e = check(&ct, json!({"title": {"fr": "Seulement en français"}})).unwrap_err();
        assert_eq!(e, [("title.ar".to_owned(), "required".to_owned())]);
        let e = check(&ct, json!({"title": {"ar": "x".repeat(301)}, "category": "sport", "nope": 1, "relatedEvents": "x"})).unwrap_err();
        for expected in [
            ("title.ar", "maxLength"),
            ("category", "enum"),
            ("nope", "unknown"),
            ("relatedEvents", "type"),
        ] {
            assert!(
                e.contains(&(expected.0.into(), expected.1.into())),
                "{expected:?} in {e:?}"
            );
        }
        let e = check(&ct, json!({"title": "بلا لغة"})).unwrap_err();
        assert_eq!(e, [("title".to_owned(), "localized".to_owned())]);
        let e = check(&ct, json!({"title": {"ar": "x", "es": "y"}})).unwrap_err();
        assert_eq!(e, [("title.es".to_owned(), "locale".to_owned())]);
    }

    #[test]
    fn compound_index_rows_hold_each_locale_key() {
        let artisan = builtin_types().remove(2);
        let data = check(
            &artisan,
            json!({"name": {"ar": "أحمد", "fr": "Ahmed"}, "craft": "زليج", "city": "مراكش"}),
        )
        .expect("valid");
        let rows: Vec<(String, String)> = index_rows(&artisan, &data, &locales(), "ar")
            .into_iter()
            .filter(|r| r.field == "craft+city+name")
            .map(|r| (r.locale, r.value))
            .collect();
        assert_eq!(
            rows,
            [
                ("ar".to_owned(), "زليج\u{1}مراكش\u{1}أحمد\u{1}".to_owned()),
                ("fr".to_owned(), "زليج\u{1}مراكش\u{1}Ahmed\u{1}".to_owned()),
            ]
        );
        let data = check(
            &artisan,
            json!({"name": {"ar": "أحمد"}, "craft": "زليج", "city": "مراكش"}),
        )
        .expect("valid");
        let fr = index_rows(&artisan, &data, &locales(), "ar")
            .into_iter()
            .find(|r| r.field == "craft+city+name" && r.locale == "fr")
            .expect("fr row");
        // French readers see the Arabic name (the default locale's) where there is no French one.
        assert_eq!(fr.value, "زليج\u{1}مراكش\u{1}أحمد\u{1}");
    }

    #[test]
    fn kinds_are_checked() {
        let artisan = builtin_types().remove(2);
        let e = check(&artisan, json!({"name": {"ar": "أحمد"}, "craft": "زليج", "city": "مراكش", "email": "not-an-email", "phone": "abc", "geo": {"lat": 100, "lng": 0}})).unwrap_err();
        for expected in [("email", "email"), ("phone", "phone"), ("geo", "geo")] {
            assert!(
                e.contains(&(expected.0.into(), expected.1.into())),
                "{expected:?} in {e:?}"
            );
        }
        let event = builtin_types().remove(1);
        let e = check(&event, json!({"title": {"ar": "معرض"}, "startsAt": "2017-12-05", "registrationUrl": "ftp://x"})).unwrap_err();
        for expected in [("startsAt", "datetime"), ("registrationUrl", "url")] {
            assert!(
                e.contains(&(expected.0.into(), expected.1.into())),
                "{expected:?} in {e:?}"
            );
        }
        let ok = check(
            &event,
            json!({"title": {"ar": "معرض"}, "startsAt": "2017-12-05T10:00:00+01:00"}),
        )
        .expect("valid");
        assert_eq!(ok["startsAt"], "2017-12-05T09:00:00Z");
    }

    #[test]
    fn localized_index_rows_fall_back_to_default_locale() {
        let mut ct = article();
        ct.fields[0].filterable = true; // title
        let data = json!({"title": {"ar": "عنوان"}, "city": "مراكش"});
        let rows = index_rows(&ct, data.as_object().expect("obj"), &locales(), "ar");
        let titles: Vec<_> = rows
            .iter()
            .filter(|r| r.field == "title")
            .map(|r| (r.locale.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(titles, [("ar", "عنوان"), ("fr", "عنوان")]);
        assert!(
            !rows.iter().any(|r| r.field == "province"),
            "a field that is not sortable has no row without a value: {rows:?}"
        );
    }

    #[test]
    fn only_sortable_fields_keep_a_row_without_a_value() {
        let ct = article();
        let data = json!({"title": {"ar": "معرض الصناعة التقليدية"}});
        let rows = index_rows(&ct, data.as_object().expect("obj"), &locales(), "ar");
        let empty: Vec<&str> = rows
            .iter()
            .filter(|r| r.value.is_empty())
            .map(|r| r.field.as_str())
            .collect();
        // `city` is sortable; `category`, `tags`, `province`, `cover`, `relatedEvents` are not.
        assert_eq!(empty, ["city"], "{rows:?}");
        let sortable = |name: &str| ct.field(name).is_some_and(|f| f.sortable);
        assert!(sortable("city") && !sortable("province") && !sortable("relatedEvents"));
    }

    proptest! {
        #[test]
        fn number_encoding_preserves_order(a in -1e15f64..1e15, b in -1e15f64..1e15) {
            let (ea, eb) = (encode_number(a), encode_number(b));
            prop_assert_eq!(a.partial_cmp(&b), ea.partial_cmp(&eb).map(|o| if a == b { std::cmp::Ordering::Equal } else { o }));
        }

        #[test]
        fn compound_keys_sort_as_their_parts(
            a in proptest::collection::vec("[\\x00-\\x04a-c\\u{627}]{0,4}", 1..4),
            b in proptest::collection::vec("[\\x00-\\x04a-c\\u{627}]{0,4}", 1..4),
        ) {
            let key = |parts: &[String]| {
                let mut k = String::new();
                for p in parts {
                    push_key_part(&mut k, p);
                }
                k
            };
            let (ka, kb) = (key(&a), key(&b));
            // Tuples of equal length compare part by part; a key is never a prefix of another
            // one with different parts.
            if a.len() == b.len() {
                prop_assert_eq!(a.cmp(&b), ka.as_bytes().cmp(kb.as_bytes()));
            }
            // Decoding gives the parts back.
            let mut rest = ka.as_str();
            for p in &a {
                let (part, r) = split_key_part(rest).expect("well formed");
                prop_assert_eq!(&part, p);
                rest = r;
            }
            prop_assert_eq!(rest, "");
        }

        #[test]
        fn sanitize_is_idempotent(s in "\\PC{0,200}") {
            let once = sanitize_html(&s);
            prop_assert_eq!(sanitize_html(&once), once.clone());
        }
    }
}
