//! What a content-type change does to stored values, one value at a time. A change is judged
//! by the data it meets, not by the kinds alone: `text → string` is harmless until a value
//! breaks the new `maxLength`, and a tighter `pattern` on the same kind loses every value that
//! no longer matches (every later edit of those entries would fail). Each migrated value says
//! what it lost, so a change can be refused with the entries it would damage.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::model::{FieldDef, FieldKind};
use super::values::{self, ValueLimits};

/// Whether values of `old` can become values of `new` at all (before the rules are applied).
pub(crate) fn compatible(old: &FieldKind, new: &FieldKind) -> bool {
    use FieldKind::*;
    old == new
        || matches!(
            (old, new),
            (String, Text)
                | (Text, String)
                | (String | Text, RichText)
                | (Integer, Float)
                | (Email | Url | Phone, String | Text)
                | (Date, DateTime)
        )
        || matches!((old, new), (Enum(a), Enum(b)) if a.iter().all(|v| b.contains(v)))
}

/// Whether two definitions accept exactly the same values (a rename or a flag change such as
/// `filterable` leaves values untouched).
pub(crate) fn same_values(old: &FieldDef, new: &FieldDef) -> bool {
    old.kind == new.kind
        && old.localized == new.localized
        && old.many == new.many
        && old.min == new.min
        && old.max == new.max
        && old.min_length == new.min_length
        && old.max_length == new.max_length
        && old.pattern.as_ref().map(|r| r.as_str()) == new.pattern.as_ref().map(|r| r.as_str())
}

/// One stored value after a change: what is kept (`None`: nothing) and why anything was lost.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Migrated {
    pub value: Option<Value>,
    pub lost: BTreeSet<String>,
}

/// What happens to a value the new field's rules refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Dropped (and reported): live documents must satisfy their type.
    Drop,
    /// Kept as converted: the version history keeps what an editor wrote, and restoring such a
    /// version names the field the rules refuse instead of clearing it.
    Keep,
}

/// Migrates one stored value of field `old` to field `new` (`None`: the field is removed).
pub(crate) fn migrate(
    old: &FieldDef,
    new: Option<&FieldDef>,
    value: &Value,
    default_locale: &str,
    limits: &ValueLimits,
    refused: Refused,
) -> Migrated {
    let mut lost = BTreeSet::new();
    if value.is_null() {
        return Migrated::default();
    }
    let Some(new) = new else {
        lost.insert("the field is removed".to_owned());
        return Migrated { value: None, lost };
    };
    if same_values(old, new) {
        return Migrated {
            value: Some(value.clone()),
            lost,
        };
    }
    if !compatible(&old.kind, &new.kind) {
        lost.insert(format!(
            "{} values cannot become {}",
            old.kind.name(),
            new.kind.name()
        ));
        return Migrated { value: None, lost };
    }
    // Per locale (`None` for a plain field), in the new shape.
    let mut parts: Vec<(Option<String>, Value)> = Vec::new();
    match (old.localized, new.localized, value) {
        (false, false, v) => parts.push((None, v.clone())),
        (false, true, v) => parts.push((Some(default_locale.to_owned()), v.clone())),
        (true, true, Value::Object(m)) => {
            parts.extend(m.iter().map(|(l, v)| (Some(l.clone()), v.clone())));
        }
        (true, false, Value::Object(m)) => {
            for (l, v) in m.iter().filter(|(_, v)| !v.is_null()) {
                if l == default_locale {
                    parts.push((None, v.clone()));
                } else {
                    lost.insert(format!(
                        "values in locales other than `{default_locale}` (the field is no longer localized)"
                    ));
                }
            }
        }
        _ => {
            lost.insert("the stored value is not an object of locales".to_owned());
        }
    }
    let mut kept = Map::new();
    let mut plain = None;
    for (locale, v) in parts.into_iter().filter(|(_, v)| !v.is_null()) {
        let Some(v) = reshape(old, new, v, &mut lost) else {
            continue;
        };
        let v = match refused {
            Refused::Drop => match fit(new, &v, limits, &mut lost) {
                Some(v) => v,
                None => continue,
            },
            Refused::Keep => v,
        };
        match locale {
            Some(l) => {
                kept.insert(l, v);
            }
            None => plain = Some(v),
        }
    }
    let value = if new.localized {
        (!kept.is_empty()).then_some(Value::Object(kept))
    } else {
        plain
    };
    Migrated { value, lost }
}

/// Converts one (per-locale) value between single and many and between kinds.
fn reshape(old: &FieldDef, new: &FieldDef, v: Value, lost: &mut BTreeSet<String>) -> Option<Value> {
    let items = match (old.many, v) {
        (true, Value::Array(items)) => items,
        (_, v) => vec![v],
    };
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| match (&old.kind, &new.kind, &v) {
            (FieldKind::Date, FieldKind::DateTime, Value::String(d)) => {
                Value::from(format!("{d}T00:00:00Z"))
            }
            (FieldKind::String | FieldKind::Text, FieldKind::RichText, Value::String(s)) => {
                Value::from(format!("<p>{}</p>", ammonia::clean_text(s)))
            }
            _ => v,
        })
        .collect();
    if new.many {
        return (!items.is_empty()).then_some(Value::Array(items));
    }
    if items.len() > 1 {
        lost.insert("items after the first (the field no longer takes a list)".to_owned());
    }
    (!items.is_empty()).then(|| items.swap_remove(0))
}

/// Keeps what the new definition accepts, item by item for a list.
fn fit(
    new: &FieldDef,
    v: &Value,
    limits: &ValueLimits,
    lost: &mut BTreeSet<String>,
) -> Option<Value> {
    let mut refuse = |errors: Vec<crate::error::FieldError>| {
        for e in errors {
            lost.insert(format!(
                "values the new rules refuse ({}: {})",
                e.rule, e.message
            ));
        }
    };
    if let (true, Value::Array(items)) = (new.many, v) {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match values::check_value(new, &Value::Array(vec![item.clone()]), &new.name, limits) {
                Ok(Value::Array(mut one)) if !one.is_empty() => {
                    let x = one.swap_remove(0);
                    if !out.contains(&x) {
                        out.push(x);
                    }
                }
                Ok(_) => {}
                Err(e) => refuse(e),
            }
        }
        return (!out.is_empty()).then_some(Value::Array(out));
    }
    match values::check_value(new, v, &new.name, limits) {
        Ok(Value::Null) => None,
        Ok(x) => Some(x),
        Err(e) => {
            refuse(e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::content::model::ContentType;

    fn field(def: Value) -> FieldDef {
        let ct = ContentType::from_json(json!({"name": "t", "plural": "ts", "fields": [def]}))
            .expect("definition");
        ct.fields[0].clone()
    }

    fn run(old: Value, new: Value, v: Value) -> Migrated {
        migrate(
            &field(old),
            Some(&field(new)),
            &v,
            "ar",
            &ValueLimits::default(),
            Refused::Drop,
        )
    }

    #[test]
    fn a_shorter_max_length_loses_the_longer_values() {
        let long = run(
            json!({"name": "f", "type": "text"}),
            json!({"name": "f", "type": "string", "maxLength": 5}),
            json!("غرفة الصناعة التقليدية"),
        );
        assert_eq!(long.value, None);
        assert_eq!(long.lost.len(), 1);
        assert!(
            long.lost.iter().all(|w| w.contains("maxLength")),
            "{long:?}"
        );
        let short = run(
            json!({"name": "f", "type": "text"}),
            json!({"name": "f", "type": "string", "maxLength": 5}),
            json!("فاس"),
        );
        assert_eq!(short.value, Some(json!("فاس")));
        assert!(short.lost.is_empty());
    }

    #[test]
    fn a_new_pattern_or_max_on_the_same_kind_is_judged_by_the_values() {
        let m = run(
            json!({"name": "f", "type": "integer"}),
            json!({"name": "f", "type": "integer", "max": 10}),
            json!(12),
        );
        assert_eq!(m.value, None);
        assert!(m.lost.iter().any(|w| w.contains("max")));
        let p = run(
            json!({"name": "f", "type": "string"}),
            json!({"name": "f", "type": "string", "pattern": "^[a-z]+$"}),
            json!("zellige"),
        );
        assert_eq!(p.value, Some(json!("zellige")));
        assert!(p.lost.is_empty());
    }

    #[test]
    fn localized_to_plain_keeps_the_default_locale_and_says_what_went() {
        let m = run(
            json!({"name": "f", "type": "string", "localized": true}),
            json!({"name": "f", "type": "string"}),
            json!({"ar": "الزليج", "fr": "Zellige"}),
        );
        assert_eq!(m.value, Some(json!("الزليج")));
        assert_eq!(m.lost.len(), 1);
        let only_default = run(
            json!({"name": "f", "type": "string", "localized": true}),
            json!({"name": "f", "type": "string"}),
            json!({"ar": "الزليج"}),
        );
        assert!(only_default.lost.is_empty());
    }

    #[test]
    fn lists_keep_the_items_that_fit() {
        let m = run(
            json!({"name": "f", "type": "string", "many": true}),
            json!({"name": "f", "type": "string", "many": true, "maxLength": 4}),
            json!(["فاس", "مراكش الحمراء"]),
        );
        assert_eq!(m.value, Some(json!(["فاس"])));
        assert_eq!(m.lost.len(), 1);
        let single = run(
            json!({"name": "f", "type": "string", "many": true}),
            json!({"name": "f", "type": "string"}),
            json!(["فاس", "مكناس"]),
        );
        assert_eq!(single.value, Some(json!("فاس")));
        assert_eq!(single.lost.len(), 1);
    }

    #[test]
    fn the_history_keeps_values_the_new_rules_refuse() {
        let m = migrate(
            &field(json!({"name": "f", "type": "text"})),
            Some(&field(
                json!({"name": "f", "type": "string", "maxLength": 3}),
            )),
            &json!("الدار البيضاء"),
            "ar",
            &ValueLimits::default(),
            Refused::Keep,
        );
        assert_eq!(m.value, Some(json!("الدار البيضاء")));
        assert!(m.lost.is_empty());
    }

    #[test]
    fn widening_loses_nothing() {
        for (old, new, v) in [
            (
                json!({"name": "f", "type": "integer"}),
                json!({"name": "f", "type": "float"}),
                json!(3),
            ),
            (
                json!({"name": "f", "type": "string"}),
                json!({"name": "f", "type": "string", "localized": true}),
                json!("سلا"),
            ),
            (
                json!({"name": "f", "type": "date"}),
                json!({"name": "f", "type": "datetime"}),
                json!("2026-03-01"),
            ),
            (
                json!({"name": "f", "type": "enum", "values": ["a"]}),
                json!({"name": "f", "type": "enum", "values": ["a", "b"]}),
                json!("a"),
            ),
        ] {
            let m = run(old, new, v);
            assert!(m.lost.is_empty(), "{m:?}");
            assert!(m.value.is_some());
        }
    }

    #[test]
    fn incompatible_kinds_and_removal_lose_everything() {
        let m = run(
            json!({"name": "f", "type": "string"}),
            json!({"name": "f", "type": "integer"}),
            json!("12"),
        );
        assert_eq!(m.value, None);
        assert_eq!(m.lost.len(), 1);
        let removed = migrate(
            &field(json!({"name": "f", "type": "string"})),
            None,
            &json!("x"),
            "ar",
            &ValueLimits::default(),
            Refused::Drop,
        );
        assert_eq!(removed.value, None);
        assert_eq!(removed.lost.len(), 1);
    }
}
