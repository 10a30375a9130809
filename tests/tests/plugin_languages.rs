//! The same WIT contract from JavaScript (jco) and Python (componentize-py): each example in
//! `plugins/examples` is built from source by its own script (which installs its pinned tool
//! from npm or PyPI on first use), installed on the real server and rendered over GraphQL in
//! Arabic and French. Skipped, saying why, where Node.js or Python's venv is missing (a failure
//! under `ZELLIGE_TEST_REQUIRE_ALL`).

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::json;
use zellige_e2e::TestApp;

/// Runs the example's build script and returns its component and manifest.
fn build(example: &str) -> (Vec<u8>, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/examples")
        .join(example);
    let status = Command::new("bash")
        .arg(dir.join("build.sh"))
        .current_dir(&dir)
        .status()
        .expect("run build.sh");
    assert!(status.success(), "{example}/build.sh failed");
    let wasm = std::fs::read(dir.join(format!("dist/{example}.wasm"))).expect("component");
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).expect("manifest");
    (wasm, manifest)
}

async fn install_and_render(example: &str, language: &str) {
    let (wasm, manifest) = build(example);
    // This test is about the languages, not the deadline: with the whole suite running on two
    // cores, a render of a few milliseconds can wait past the default 50 ms for a core.
    let app = TestApp::spawn_with(|c| {
        c.plugins.timeout_ms = 2_000;
        c.plugins.max_timeout_ms = 2_000;
    })
    .await
    .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let op = app.operator_session().await.expect("operator");
    let a = app
        .admin(
            "POST",
            "/platform/plugins",
            Some(&op),
            Some(json!({"manifest": manifest, "component": base64::engine::general_purpose::STANDARD.encode(&wasm)})),
        )
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let e = app
        .enable_plugin("marrakech-safi", example, &["log"], json!({}))
        .await
        .expect("enable");
    assert_eq!(e.status, 200, "{:?}", e.body);
    let token = demo.marrakech.public_token.as_str();
    let (_, body) = app
        .widget(
            Some(token),
            example,
            "greeting",
            json!({"name": "<b>فاطمة</b>"}),
        )
        .await;
    let w = &body["data"]["widget"];
    let html = w["html"].as_str().unwrap_or_else(|| panic!("{body}"));
    assert!(
        html.contains("مرحبا") && html.contains("dir=\"rtl\""),
        "{html}"
    );
    assert!(html.contains("&lt;b&gt;فاطمة&lt;/b&gt;"), "escaped: {html}");
    assert_eq!(w["data"]["language"], language, "{body}");
    let (_, body) = app
        .widget(
            Some(token),
            example,
            "greeting",
            json!({"name": "Fatima", "locale": "fr"}),
        )
        .await;
    let html = body["data"]["widget"]["html"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(
        html.contains("Bonjour") && html.contains("lang=\"fr\""),
        "{html}"
    );
    // Its hooks are called on writes and let them through.
    let (_, _, body) = app
        .graphql(
            Some(&demo.marrakech.editor_token),
            "mutation { createArticle(data: {title: \"مقال تجريبي\"}) { id title } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["createArticle"]["title"], "مقال تجريبي",
        "{body}"
    );
}

#[tokio::test]
async fn javascript_example_builds_and_renders() {
    if !zellige_e2e::node_or_skip("the JavaScript plugin example") {
        return;
    }
    install_and_render("js-hello", "javascript").await;
}

#[tokio::test]
async fn python_example_builds_and_renders() {
    if !zellige_e2e::python_venv_or_skip("the Python plugin example") {
        return;
    }
    install_and_render("py-hello", "python").await;
}
