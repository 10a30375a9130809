//! The admin API's OpenAPI document is kept in `admin-spec/openapi.json`. This test fails when
//! the routes (which generate the document) change without that file being updated
//! (`ZELLIGE_UPDATE_SNAPSHOTS=1 cargo test -p zellige --test openapi` rewrites it), and checks
//! that the document is OpenAPI 3.1 and describes what the SPEC asks for. That every documented
//! operation is really routed is checked end to end in `tests/tests/admin_api.rs`.

use serde_json::Value;

#[test]
fn document_matches_the_snapshot() {
    let doc = zellige::http::admin::openapi_json();
    let text = serde_json::to_string_pretty(&doc).expect("serialize") + "\n";
    let path = format!("{}/../admin-spec/openapi.json", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("ZELLIGE_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).expect("write snapshot");
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == text,
        "admin-spec/openapi.json is out of date; review the change and rerun with ZELLIGE_UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn document_is_openapi_3_1_and_complete() {
    let doc = zellige::http::admin::openapi_json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/admin/api/v1/auth/login", &["post"][..]),
        ("/admin/api/v1/auth/logout", &["post"]),
        ("/admin/api/v1/auth/me", &["get"]),
        ("/admin/api/v1/tenants", &["get", "post"]),
        ("/admin/api/v1/tenants/{slug}", &["get", "delete"]),
        ("/admin/api/v1/content-types", &["get", "post"]),
        (
            "/admin/api/v1/content-types/{name}",
            &["get", "put", "delete"],
        ),
        ("/admin/api/v1/entries/{type}", &["get", "post"]),
        (
            "/admin/api/v1/entries/{type}/{id}",
            &["get", "patch", "delete"],
        ),
        ("/admin/api/v1/entries/{type}/{id}/publish", &["post"]),
        ("/admin/api/v1/entries/{type}/{id}/unpublish", &["post"]),
        ("/admin/api/v1/entries/{type}/{id}/versions", &["get"]),
        (
            "/admin/api/v1/entries/{type}/{id}/versions/{version}/restore",
            &["post"],
        ),
        ("/admin/api/v1/users", &["get", "post"]),
        ("/admin/api/v1/users/{id}", &["get", "patch", "delete"]),
        ("/admin/api/v1/tokens", &["get", "post"]),
        ("/admin/api/v1/tokens/{id}", &["delete"]),
        ("/admin/api/v1/settings", &["get", "patch"]),
        ("/admin/api/v1/audit", &["get"]),
    ] {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} missing"));
        for m in methods {
            let op = &item[*m];
            assert!(op.is_object(), "{m} {path} missing");
            for status in ["400", "401", "403", "500"] {
                assert_eq!(
                    op["responses"][status]["$ref"],
                    format!("#/components/responses/E{status}"),
                    "{m} {path} {status}"
                );
            }
            // Only what an operation can give: 404 where the path names something, 409 on
            // writes that can conflict, 429 on login.
            let names = path.contains('{');
            assert_eq!(op["responses"]["404"].is_object(), names, "{m} {path} 404");
            if *m == "get" {
                assert!(op["responses"]["409"].is_null(), "{m} {path} 409");
            }
            assert_eq!(
                op["responses"]["429"].is_object(),
                *path == *"/admin/api/v1/auth/login",
                "{m} {path} 429"
            );
        }
    }
    assert_eq!(
        doc["components"]["responses"]["E400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "ErrorBody",
        "ErrorCode",
        "FieldError",
        "ContentTypeDefinition",
        "EntryBody",
    ] {
        assert!(schemas[name].is_object(), "schema {name} missing");
    }
    // Every `$ref` resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r.strip_prefix('#').expect("local ref");
        assert!(doc.pointer(pointer).is_some(), "dangling {r}");
    }
}
