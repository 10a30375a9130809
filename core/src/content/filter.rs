//! `where` and `orderBy` arguments → store conditions and sort keys.
//!
//! The JSON shape is the GraphQL input shape: `{ "city": { "eq": "مراكش" }, "startsAt": { "gte":
//! "…" }, "AND": [...], "OR": [...], "NOT": {...} }`; several keys in one object are ANDed.
//! Values are checked against the field's kind and encoded the way the index stores them.

use serde_json::Value;

use super::ContentError;
use super::model::{ContentType, FieldDef, FieldKind};
use super::values::{encode_index_value, encode_number, parse_datetime};
use crate::error::FieldError;
use crate::store::entries::{CmpOp, Cond, IndexOp, SortKey, SortTarget, SysCol, SysValue};

/// Deepest nesting of `AND`/`OR`/`NOT`.
pub const MAX_DEPTH: usize = 8;
/// Most field conditions in one filter.
pub const MAX_CONDITIONS: usize = 64;

/// Fields every type can filter and sort on.
pub fn system_column(name: &str) -> Option<SysCol> {
    Some(match name {
        "id" => SysCol::Id,
        "slug" => SysCol::Slug,
        "createdAt" => SysCol::CreatedAt,
        "updatedAt" => SysCol::UpdatedAt,
        "publishedAt" => SysCol::PublishedAt,
        _ => return None,
    })
}

/// The operators a field kind accepts (the GraphQL filter inputs are generated from this too).
pub fn operators(kind: &FieldKind) -> &'static [&'static str] {
    match kind {
        FieldKind::Integer | FieldKind::Float | FieldKind::Date | FieldKind::DateTime => &[
            "eq", "ne", "in", "notIn", "lt", "lte", "gt", "gte", "isNull",
        ],
        FieldKind::Boolean => &["eq", "ne", "isNull"],
        FieldKind::Enum(_) | FieldKind::Reference { .. } => &["eq", "ne", "in", "notIn", "isNull"],
        _ => &[
            "eq",
            "ne",
            "in",
            "notIn",
            "contains",
            "startsWith",
            "isNull",
        ],
    }
}

struct Compiler<'a> {
    ct: &'a ContentType,
    locale: &'a str,
    conditions: usize,
    errors: Vec<FieldError>,
}

/// Compiles a `where` object.
pub fn compile_where(
    ct: &ContentType,
    filter: &Value,
    locale: &str,
    path: &str,
) -> Result<Cond, ContentError> {
    let mut c = Compiler {
        ct,
        locale,
        conditions: 0,
        errors: Vec::new(),
    };
    let cond = c.object(filter, path, 0);
    if c.errors.is_empty() {
        Ok(cond)
    } else {
        Err(ContentError::Invalid(c.errors))
    }
}

impl Compiler<'_> {
    fn err(&mut self, path: &str, rule: &str, msg: impl Into<String>) -> Cond {
        self.errors.push(FieldError::new(path, rule, msg));
        Cond::And(Vec::new())
    }

    fn object(&mut self, v: &Value, path: &str, depth: usize) -> Cond {
        if depth > MAX_DEPTH {
            return self.err(
                path,
                "maxDepth",
                format!("filters nest at most {MAX_DEPTH} levels"),
            );
        }
        let Value::Object(map) = v else {
            return self.err(path, "type", "expected an object");
        };
        let mut parts = Vec::new();
        for (key, value) in map {
            let p = format!("{path}.{key}");
            if value.is_null() {
                continue;
            }
            let part = match key.as_str() {
                "AND" | "OR" => {
                    let items = match value {
                        Value::Array(items) => items.clone(),
                        other => vec![other.clone()],
                    };
                    let subs = items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| self.object(item, &format!("{p}[{i}]"), depth + 1))
                        .collect();
                    if key == "AND" {
                        Cond::And(subs)
                    } else {
                        Cond::Or(subs)
                    }
                }
                "NOT" => Cond::Not(Box::new(self.object(value, &p, depth + 1))),
                name => self.field(name, value, &p),
            };
            parts.push(part);
        }
        if parts.len() == 1 {
            parts.pop().unwrap_or(Cond::And(Vec::new()))
        } else {
            Cond::And(parts)
        }
    }

    fn field(&mut self, name: &str, ops: &Value, path: &str) -> Cond {
        let Value::Object(ops) = ops else {
            return self.err(
                path,
                "type",
                "expected an object of operators, e.g. { \"eq\": … }",
            );
        };
        if let Some(col) = system_column(name) {
            return self.system(col, ops, path);
        }
        let ct = self.ct;
        let Some(field) = ct.field(name) else {
            return self.err(
                path,
                "unknown",
                format!("`{}` has no field `{name}`", ct.name),
            );
        };
        if !(field.filterable || matches!(field.kind, FieldKind::Reference { .. })) {
            return self.err(path, "filterable", format!("`{name}` is not filterable"));
        }
        let locale = if field.localized {
            self.locale.to_owned()
        } else {
            String::new()
        };
        let mut parts = Vec::new();
        for (op, v) in ops {
            let p = format!("{path}.{op}");
            if v.is_null() {
                continue;
            }
            self.conditions += 1;
            if self.conditions > MAX_CONDITIONS {
                return self.err(
                    &p,
                    "maxConditions",
                    format!("at most {MAX_CONDITIONS} conditions"),
                );
            }
            if !operators(&field.kind).contains(&op.as_str()) {
                parts.push(self.err(
                    &p,
                    "operator",
                    format!(
                        "`{op}` does not apply to {} fields; use {}",
                        field.kind.name(),
                        operators(&field.kind).join(", ")
                    ),
                ));
                continue;
            }
            let index = |op: IndexOp| Cond::Index {
                field: name.to_owned(),
                locale: locale.clone(),
                op,
            };
            // No value: no index row with one (`IndexOp::Any`).
            let none = || Cond::Not(Box::new(index(IndexOp::Any)));
            let cond = match op.as_str() {
                "isNull" => match v {
                    Value::Bool(true) => none(),
                    Value::Bool(false) => index(IndexOp::Any),
                    _ => self.err(&p, "type", "expected true or false"),
                },
                "in" | "notIn" => {
                    let Value::Array(items) = v else {
                        parts.push(self.err(&p, "type", "expected a list"));
                        continue;
                    };
                    let mut enc = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        match self.encode(field, item, &format!("{p}[{i}]")) {
                            Some(e) => enc.push(e),
                            None => continue,
                        }
                    }
                    // The empty string is how the index says "no value" (`eq` below).
                    let has_empty = enc.iter().any(String::is_empty);
                    enc.retain(|e| !e.is_empty());
                    let c = match (has_empty, enc.is_empty()) {
                        (false, _) => index(IndexOp::In(enc)),
                        (true, true) => none(),
                        (true, false) => Cond::Or(vec![index(IndexOp::In(enc)), none()]),
                    };
                    if op == "in" {
                        c
                    } else {
                        Cond::Not(Box::new(c))
                    }
                }
                "contains" | "startsWith" => match v.as_str() {
                    // Every value contains the empty string, and so does no value.
                    Some("") if op == "contains" => Cond::And(Vec::new()),
                    Some(s) if op == "contains" => index(IndexOp::Contains(s.to_owned())),
                    Some(s) => index(IndexOp::Prefix(s.to_owned())),
                    None => self.err(&p, "type", "expected a string"),
                },
                _ => {
                    let Some(enc) = self.encode(field, v, &p) else {
                        continue;
                    };
                    match op.as_str() {
                        // An empty string is stored as no value: the two are one for filters.
                        "eq" if enc.is_empty() => none(),
                        "ne" if enc.is_empty() => index(IndexOp::Any),
                        "eq" => index(IndexOp::Eq(enc)),
                        "ne" => Cond::Not(Box::new(index(IndexOp::Eq(enc)))),
                        "lt" => index(IndexOp::Cmp(CmpOp::Lt, enc)),
                        "lte" => index(IndexOp::Cmp(CmpOp::Lte, enc)),
                        "gt" => index(IndexOp::Cmp(CmpOp::Gt, enc)),
                        _ => index(IndexOp::Cmp(CmpOp::Gte, enc)),
                    }
                }
            };
            parts.push(cond);
        }
        if parts.len() == 1 {
            parts.pop().unwrap_or(Cond::And(Vec::new()))
        } else {
            Cond::And(parts)
        }
    }

    fn encode(&mut self, field: &FieldDef, v: &Value, path: &str) -> Option<String> {
        let ok = match (&field.kind, v) {
            (FieldKind::Integer | FieldKind::Float, Value::Number(n)) => {
                n.as_f64().map(encode_number)
            }
            (FieldKind::Boolean, Value::Bool(_)) => encode_index_value(&field.kind, v),
            (FieldKind::Date, Value::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.format("%Y-%m-%d").to_string()),
            (FieldKind::DateTime, Value::String(s)) => {
                parse_datetime(s).and_then(|n| encode_index_value(&field.kind, &Value::String(n)))
            }
            (FieldKind::Enum(values), Value::String(s)) => values.contains(s).then(|| s.clone()),
            (k, Value::String(s))
                if !k.is_numeric()
                    && !matches!(
                        k,
                        FieldKind::Boolean | FieldKind::Date | FieldKind::DateTime
                    ) =>
            {
                Some(s.clone())
            }
            _ => None,
        };
        if ok.is_none() {
            let expected = match &field.kind {
                FieldKind::DateTime => "an RFC 3339 date-time".to_owned(),
                FieldKind::Date => "a date YYYY-MM-DD".to_owned(),
                FieldKind::Enum(values) => format!("one of {}", values.join(", ")),
                k => format!("a {} value", k.name()),
            };
            self.errors.push(FieldError::new(
                path,
                "type",
                format!("expected {expected}"),
            ));
        }
        ok
    }

    fn system(&mut self, col: SysCol, ops: &serde_json::Map<String, Value>, path: &str) -> Cond {
        let mut parts = Vec::new();
        for (op, v) in ops {
            let p = format!("{path}.{op}");
            if v.is_null() {
                continue;
            }
            self.conditions += 1;
            let value = |c: &mut Self, v: &Value| -> Option<SysValue> {
                match col {
                    SysCol::Id | SysCol::Slug => v.as_str().map(|s| SysValue::Text(s.to_owned())),
                    _ => v
                        .as_str()
                        .and_then(crate::time::parse_rfc3339)
                        .map(SysValue::Time),
                }
                .or_else(|| {
                    c.errors.push(FieldError::new(
                        p.as_str(),
                        "type",
                        if matches!(col, SysCol::Id | SysCol::Slug) {
                            "expected a string"
                        } else {
                            "expected an RFC 3339 date-time"
                        },
                    ));
                    None
                })
            };
            let cond = match op.as_str() {
                "eq" | "ne" => {
                    let Some(x) = value(self, v) else { continue };
                    let c = Cond::SysEq(col, x);
                    if op == "eq" {
                        c
                    } else {
                        Cond::Not(Box::new(c))
                    }
                }
                "in" | "notIn" => {
                    let items: Vec<Value> = v.as_array().cloned().unwrap_or_default();
                    let xs: Vec<SysValue> = items.iter().filter_map(|i| value(self, i)).collect();
                    let c = Cond::SysIn(col, xs);
                    if op == "in" {
                        c
                    } else {
                        Cond::Not(Box::new(c))
                    }
                }
                "lt" | "lte" | "gt" | "gte" if !matches!(col, SysCol::Id) => {
                    let Some(x) = value(self, v) else { continue };
                    let cmp = match op.as_str() {
                        "lt" => CmpOp::Lt,
                        "lte" => CmpOp::Lte,
                        "gt" => CmpOp::Gt,
                        _ => CmpOp::Gte,
                    };
                    Cond::SysCmp(col, cmp, x)
                }
                "startsWith" if col == SysCol::Slug => match v.as_str() {
                    Some(s) => Cond::SysPrefix(col, s.to_owned()),
                    None => self.err(&p, "type", "expected a string"),
                },
                "isNull" if col == SysCol::PublishedAt => match v {
                    Value::Bool(true) => Cond::SysNull(col),
                    Value::Bool(false) => Cond::Not(Box::new(Cond::SysNull(col))),
                    _ => self.err(&p, "type", "expected true or false"),
                },
                _ => self.err(&p, "operator", format!("`{op}` does not apply here")),
            };
            parts.push(cond);
        }
        if parts.len() == 1 {
            parts.pop().unwrap_or(Cond::And(Vec::new()))
        } else {
            Cond::And(parts)
        }
    }
}

/// Most sort keys in one `orderBy`.
pub const MAX_SORT_KEYS: usize = 3;

/// Compiles `orderBy` (field, descending) pairs.
pub fn compile_sort(
    ct: &ContentType,
    order_by: &[(String, bool)],
    locale: &str,
) -> Result<Vec<SortKey>, ContentError> {
    if order_by.len() > MAX_SORT_KEYS {
        return Err(ContentError::invalid(
            "orderBy",
            "maxItems",
            format!("at most {MAX_SORT_KEYS} sort keys"),
        ));
    }
    let mut keys = Vec::new();
    for (i, (name, desc)) in order_by.iter().enumerate() {
        let target = if let Some(col) = system_column(name) {
            SortTarget::System(col)
        } else {
            match ct.field(name) {
                Some(f) if f.sortable => SortTarget::Field {
                    field: name.clone(),
                    locale: if f.localized {
                        locale.to_owned()
                    } else {
                        String::new()
                    },
                },
                Some(_) => {
                    return Err(ContentError::invalid(
                        &format!("orderBy[{i}].field"),
                        "sortable",
                        format!("`{name}` is not sortable"),
                    ));
                }
                None => {
                    return Err(ContentError::invalid(
                        &format!("orderBy[{i}].field"),
                        "unknown",
                        format!("`{}` has no field `{name}`", ct.name),
                    ));
                }
            }
        };
        keys.push(SortKey {
            target,
            desc: *desc,
        });
    }
    Ok(keys)
}

/// A short text naming a sort order, carried in cursors so a cursor cannot be reused with
/// another order.
pub fn sort_signature(keys: &[SortKey]) -> String {
    keys.iter()
        .map(|k| {
            let name = match &k.target {
                SortTarget::System(c) => format!("{c:?}"),
                SortTarget::Field { field, locale } => format!("{field}@{locale}"),
            };
            format!("{name}:{}", if k.desc { "d" } else { "a" })
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::model::builtin_types;
    use serde_json::json;

    #[test]
    fn compiles_and_checks_filters() {
        let event = builtin_types().remove(1);
        let c = compile_where(
            &event,
            &json!({"city": {"eq": "مراكش"}, "startsAt": {"gte": "2017-12-01T00:00:00Z"}}),
            "ar",
            "where",
        )
        .expect("valid");
        assert!(matches!(c, Cond::And(ref parts) if parts.len() == 2));
        let e = compile_where(&event, &json!({"title": {"eq": "x"}, "startsAt": {"contains": "x"}, "category": {"eq": "sport"}, "nope": {"eq": 1}}), "ar", "where").unwrap_err();
        let rules: Vec<_> = e
            .fields()
            .iter()
            .map(|f| (f.path.as_str(), f.rule.as_str()))
            .collect();
        for expected in [
            ("where.title", "filterable"),
            ("where.startsAt.contains", "operator"),
            ("where.category.eq", "type"),
            ("where.nope", "unknown"),
        ] {
            assert!(rules.contains(&expected), "{expected:?} in {rules:?}");
        }
        let deep = (0..12).fold(json!({"city": {"eq": "x"}}), |acc, _| json!({"NOT": acc}));
        assert!(compile_where(&event, &deep, "ar", "where").is_err());
    }

    #[test]
    fn sorts() {
        let artisan = builtin_types().remove(2);
        let keys = compile_sort(&artisan, &[("name".into(), false)], "fr").expect("valid");
        assert_eq!(
            keys[0].target,
            SortTarget::Field {
                field: "name".into(),
                locale: "fr".into()
            }
        );
        assert!(compile_sort(&artisan, &[("bio".into(), false)], "ar").is_err());
        assert_eq!(sort_signature(&keys), "name@fr:a");
        // `id` sorts by id (not by creation time), in either direction.
        for desc in [false, true] {
            let keys = compile_sort(&artisan, &[("id".into(), desc)], "fr").expect("valid");
            assert_eq!(
                keys,
                vec![SortKey {
                    target: SortTarget::System(SysCol::Id),
                    desc
                }]
            );
        }
    }
}
