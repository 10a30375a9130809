//! Liveness and readiness over real HTTP, on SQLite and PostgreSQL.

use zellige_e2e::TestApp;

async fn check(app: &TestApp) {
    let r = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["database"], true);
    let r = app.client.get(app.url("/nope")).send().await.expect("404");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn health_on_sqlite() {
    check(&TestApp::spawn().await.expect("spawn")).await;
}

#[tokio::test]
async fn health_on_postgres() {
    if let Some(app) = TestApp::spawn_postgres().await.expect("spawn") {
        check(&app).await;
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn_with(|c| c.limits.request_body_bytes = 1024)
        .await
        .expect("spawn");
    let r = app
        .client
        .post(app.url("/healthz"))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .expect("send");
    assert!(r.status().is_client_error(), "{}", r.status());
}
