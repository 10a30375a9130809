//! Secrets never show after creation: the real binary runs with every log target at `trace`,
//! users log in, tokens are created and used, a login fails; then neither the logs nor any
//! later answer contains a password, a session token or an API token.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Trace level for every target except WebAssembly compilation.
const TRACE: &str = "trace,cranelift_codegen=warn,cranelift_frontend=warn,cranelift_entity=warn,\
    regalloc2=warn,wasmtime=warn,wasmtime_environ=warn,wasmtime_cranelift=warn,\
    wasmtime_internal_cranelift=warn,wasmtime_internal_environ=warn,wasmtime_internal_cache=warn,\
    wasmtime_cache=warn,wasmparser=warn,wasm_encoder=warn,wit_parser=warn,wit_component=warn";

#[tokio::test]
async fn passwords_and_tokens_never_reach_logs_or_later_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zellige"))
        .env_remove("ZELLIGE_DATABASE_URL")
        .env("ZELLIGE_DATA_DIR", &data)
        // Everything at trace but the compiler of the bundled plugins (it sees no request data,
        // and at trace it writes megabytes per component).
        .env("RUST_LOG", TRACE)
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = child.stderr.take().expect("stderr");
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut addr = None;
    let mut demo_tokens = Vec::new();
    for _ in 0..20 {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        if let Some(rest) = line.trim().strip_prefix("Zellige demo on http://") {
            addr = Some(rest.to_owned());
        }
        if let Some(t) = line.split("token: ").nth(1) {
            demo_tokens.push(t.trim().to_owned());
        }
        if line.contains("health:") {
            break;
        }
    }
    let base = format!("http://{}/admin/api/v1", addr.expect("address"));
    // An admin token, the way an operator makes one.
    let out = Command::new(env!("CARGO_BIN_EXE_zellige"))
        .env_remove("ZELLIGE_DATABASE_URL")
        .env("ZELLIGE_DATA_DIR", &data)
        .env("RUST_LOG", "warn")
        .args([
            "token",
            "create",
            "--tenant",
            "marrakech-safi",
            "--kind",
            "admin",
        ])
        .output()
        .expect("token create");
    let admin = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(admin.starts_with("zlg_"), "{out:?}");

    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let call = |method: &str, path: &str, token: Option<&str>, body: Option<Value>| {
        let mut req = http.request(method.parse().expect("method"), format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.header("x-tenant", "marrakech-safi").send()
    };
    let password = "سر-لا-يظهر-أبدا-٢٠٢٦";
    let wrong = "wrong-password-that-must-not-be-logged";
    let user = call(
        "POST",
        "/users",
        Some(&admin),
        Some(json!({ "email": "sirr@marrakech.ma", "role": "editor", "password": password })),
    )
    .await
    .expect("create user");
    assert_eq!(user.status(), 201);
    let failed = call(
        "POST",
        "/auth/login",
        None,
        Some(json!({ "email": "sirr@marrakech.ma", "password": wrong })),
    )
    .await
    .expect("login");
    assert_eq!(failed.status(), 401);
    let session: Value = call(
        "POST",
        "/auth/login",
        None,
        Some(json!({ "email": "sirr@marrakech.ma", "password": password })),
    )
    .await
    .expect("login")
    .json()
    .await
    .expect("json");
    let session = session["token"].as_str().expect("session").to_owned();
    let made: Value = call(
        "POST",
        "/tokens",
        Some(&admin),
        Some(json!({ "name": "site", "kind": "preview" })),
    )
    .await
    .expect("token")
    .json()
    .await
    .expect("json");
    let token = made["secret"].as_str().expect("secret").to_owned();
    // Use every credential, including on GraphQL and with a bad request.
    for t in [&session, &token, &admin] {
        let r = call("GET", "/auth/me", Some(t), None).await.expect("me");
        assert_eq!(r.status(), 200);
        let _ = http
            .post(base.replace("/admin/api/v1", "/graphql"))
            .bearer_auth(t)
            .json(&json!({ "query": "{ articles(first: 1) { totalCount } }" }))
            .send()
            .await;
        let _ = http
            .post(base.replace("/admin/api/v1", "/graphql"))
            .bearer_auth(t)
            .body("{ not json")
            .send()
            .await;
    }
    let mut later = String::new();
    for path in ["/tokens", "/users", "/audit?first=100", "/settings"] {
        let r = call("GET", path, Some(&admin), None).await.expect("get");
        later.push_str(&r.text().await.expect("text"));
    }
    let _ = child.kill();
    let _ = child.wait();
    let logs = logs.join().expect("logs");
    assert!(
        logs.contains("/admin/api/v1/auth/login"),
        "trace logs were captured"
    );
    let mut secrets = vec![password, wrong, &session, &token, &admin];
    secrets.extend(demo_tokens.iter().map(String::as_str));
    for secret in secrets {
        assert!(!logs.contains(secret), "a secret is in the logs");
        assert!(!later.contains(secret), "a secret is in a later answer");
    }
}
