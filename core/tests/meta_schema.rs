//! `schema/content-type.schema.json` validates the built-in content types, and it agrees with
//! the server's own checks on a set of invalid definitions.

use serde_json::{Value, json};
use zellige::content::ContentType;

fn meta() -> jsonschema::Validator {
    let text = include_str!("../../schema/content-type.schema.json");
    let schema: Value = serde_json::from_str(text).expect("meta-schema is JSON");
    jsonschema::validator_for(&schema).expect("meta-schema compiles")
}

#[test]
fn builtin_types_are_valid() {
    let v = meta();
    for name in ["article", "event", "artisan"] {
        let path = format!(
            "{}/../schema/content-types/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let def: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let errors: Vec<String> = v
            .iter_errors(&def)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        ContentType::from_json(def).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

#[test]
fn meta_schema_and_server_reject_the_same_definitions() {
    let v = meta();
    let field = |f: Value| json!({"name": "shop", "plural": "shops", "fields": [f]});
    let invalid = [
        json!({"name": "Shop", "plural": "shops", "fields": [{"name": "a", "type": "string"}]}),
        json!({"name": "shop", "plural": "shops", "fields": []}),
        json!({"name": "shop", "plural": "shops", "fields": [{"name": "a", "type": "string"}], "colour": "red"}),
        field(json!({"name": "slug", "type": "string"})),
        field(json!({"name": "a", "type": "wat"})),
        field(json!({"name": "a", "type": "enum"})),
        field(json!({"name": "a", "type": "reference"})),
        field(json!({"name": "a", "type": "integer", "maxLength": 3})),
        field(json!({"name": "a", "type": "string", "min": 3})),
        field(json!({"name": "a", "type": "string", "filterable": true})),
        field(json!({"name": "a", "type": "richtext", "sortable": true})),
        field(json!({"name": "a", "type": "integer", "many": true})),
        field(
            json!({"name": "a", "type": "string", "unique": true, "localized": true, "maxLength": 10}),
        ),
        field(json!({"name": "a", "type": "reference", "to": "event", "localized": true})),
        field(json!({"name": "a", "type": "string", "values": ["x"]})),
    ];
    for def in invalid {
        assert!(!v.is_valid(&def), "meta-schema accepted {def}");
        assert!(
            ContentType::from_json(def.clone()).is_err(),
            "server accepted {def}"
        );
    }
    let valid = field(
        json!({"name": "city", "type": "string", "filterable": true, "maxLength": 100, "localized": true}),
    );
    assert!(v.is_valid(&valid));
    assert!(ContentType::from_json(valid).is_ok());
}
