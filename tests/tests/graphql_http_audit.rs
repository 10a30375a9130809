//! A client nobody here wrote: the `graphql-http` audit suite (npm) must pass all its MUST
//! checks against `/graphql`, and graphql-js `buildClientSchema` must accept the introspection
//! result. Skipped, with a reason, where Node.js and npm are not installed.

use std::process::Command;

use zellige_e2e::TestApp;

#[tokio::test]
async fn graphql_http_audit_and_client_schema() {
    if !zellige_e2e::node_or_skip("the graphql-http audit") {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("graphql-http");
    if !dir.join("node_modules/graphql-http").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm ci");
        assert!(status.success(), "npm ci failed");
    }
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let url = app.url("/graphql");
    let token = demo.marrakech.public_token.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("audit.mjs")
            .arg(url)
            .arg(token)
            .current_dir(dir)
            .output()
    })
    .await
    .expect("join")
    .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "audit failed:\n{stdout}");
    assert!(stdout.contains("MUST failures: 0"));
}
