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

async fn metrics_text(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut r = app.client.get(app.url("/metrics"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.expect("metrics");
    (r.status().as_u16(), r.text().await.expect("text"))
}

/// The sample value of the first line that starts with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_operation_and_report_backlogs() {
    // The indexer idle: the demo's events stay in its backlog.
    let app = TestApp::spawn_with(zellige_e2e::quiet)
        .await
        .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let t = demo.marrakech.public_token.as_str();
    for _ in 0..3 {
        app.graphql(
            Some(t),
            "{ articles { totalCount } }",
            serde_json::json!({}),
        )
        .await;
    }
    app.graphql(
        Some(&demo.marrakech.editor_token),
        "mutation { createArticle(data: {title: \"مقال\"}) { id } }",
        serde_json::json!({}),
    )
    .await;
    let (status, text) = metrics_text(&app, None).await;
    assert_eq!(status, 200);
    let queries = sample(
        &text,
        r#"zellige_http_requests_total{method="POST",route="/graphql",status="200",operation="query"}"#,
    );
    assert_eq!(queries, Some(3.0), "{text}");
    let mutations = sample(
        &text,
        r#"zellige_http_requests_total{method="POST",route="/graphql",status="200",operation="mutation"}"#,
    );
    assert_eq!(mutations, Some(1.0), "{text}");
    assert!(
        text.contains(r#"zellige_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/graphql",status="200",operation="query"} 3"#)
            || text.contains(r#"zellige_http_request_duration_seconds_count{method="POST",route="/graphql",status="200",operation="query"} 3"#),
        "{text}"
    );
    // Routes are templates, not raw paths.
    app.client
        .get(app.url("/admin/api/v1/entries/article/nope"))
        .send()
        .await
        .expect("admin");
    let (_, text) = metrics_text(&app, None).await;
    assert!(!text.contains("/nope"), "{text}");
    let consumer = app.state.search.consumer().to_owned();
    let backlog = sample(
        &text,
        &format!(
            r#"zellige_outbox_backlog_events{{consumer="{consumer}",tenant="marrakech-safi"}}"#
        ),
    )
    .expect("search backlog");
    assert!(backlog > 0.0, "{text}");
    // /readyz reports the same backlog and the backend.
    let ready = app.readiness().await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["search"]["backend"], "embedded");
    assert_eq!(
        ready["search"]["backlog"]["marrakech-safi"].as_f64(),
        Some(backlog)
    );
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let app = TestApp::spawn_with(|c| {
        c.metrics_token = Some(zellige::config::Secret::new("s3cret-scrape"));
    })
    .await
    .expect("spawn");
    assert_eq!(metrics_text(&app, None).await.0, 401);
    assert_eq!(metrics_text(&app, Some("wrong")).await.0, 401);
    let (status, text) = metrics_text(&app, Some("s3cret-scrape")).await;
    assert_eq!(status, 200);
    assert!(text.contains("zellige_http_requests_total"), "{text}");
}
