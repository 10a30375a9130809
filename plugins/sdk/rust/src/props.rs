//! Typed props.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::PluginError;

/// Parses `props` into `T`, usually a struct with `#[serde(deny_unknown_fields,
/// rename_all = "camelCase")]` and `Option` fields. Props that do not fit give
/// [`PluginError::BadProps`] naming the prop, e.g. `year: invalid type: string "x", expected
/// i32`; `null` counts as `{}`.
///
/// Check ranges afterwards and report them with [`PluginError::bad_prop`].
pub fn parse_props<T: DeserializeOwned>(props: Value) -> Result<T, PluginError> {
    let props = match props {
        Value::Null => Value::Object(serde_json::Map::new()),
        other => other,
    };
    serde_path_to_error::deserialize(props).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if path == "." {
            PluginError::BadProps(format!("props: {message}"))
        } else {
            PluginError::BadProps(format!("{path}: {message}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Props {
        year: Option<i32>,
    }

    #[test]
    fn parses_and_names_bad_props() {
        assert_eq!(
            parse_props::<Props>(json!({"year": 2017})).unwrap(),
            Props { year: Some(2017) }
        );
        assert_eq!(
            parse_props::<Props>(Value::Null).unwrap(),
            Props { year: None }
        );
        let PluginError::BadProps(m) = parse_props::<Props>(json!({"year": "x"})).unwrap_err()
        else {
            panic!("expected bad props")
        };
        assert!(m.starts_with("year: invalid type"), "{m}");
        let PluginError::BadProps(m) = parse_props::<Props>(json!({"yaer": 1})).unwrap_err() else {
            panic!("expected bad props")
        };
        assert!(m.contains("unknown field `yaer`"), "{m}");
    }
}
