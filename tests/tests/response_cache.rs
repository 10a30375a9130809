//! The GraphQL response cache never serves a stale answer: a repeated query is answered
//! without touching entries, and any write — through this node, another node, GraphQL or the
//! admin API — is visible on the very next read; different audiences never share answers.

use serde_json::json;
use std::sync::atomic::Ordering;
use zellige_e2e::TestApp;

const Q: &str = "{ articles(first: 50, status: DRAFT) { totalCount nodes { id title } } }";
const Q_PUBLISHED: &str = "{ articles(first: 50) { totalCount nodes { id title } } }";

#[tokio::test]
async fn cached_answers_follow_every_write() {
    for app in TestApp::both_with(zellige_e2e::quiet).await.expect("apps") {
        let demo = app.demo().await.expect("demo");
        let editor = demo.marrakech.editor_token.clone();
        let public = demo.marrakech.public_token.clone();
        let (_, _, first) = app.graphql(Some(&editor), Q, json!({})).await;
        // A repeat costs one statement: the token check, which also reads the tenant's
        // outbox sequence.
        let before = app.queries.load(Ordering::SeqCst);
        let (_, _, again) = app.graphql(Some(&editor), Q, json!({})).await;
        let cost = app.queries.load(Ordering::SeqCst) - before;
        assert_eq!(first, again);
        assert!(cost <= 2, "{cost} statements for a cached answer");
        // A named query sent without `operationName` (its document has one operation) is
        // cached the same way.
        let named = format!("query Drafts {Q}");
        let (_, _, first_named) = app.graphql(Some(&editor), &named, json!({})).await;
        assert_eq!(first_named, first);
        let before = app.queries.load(Ordering::SeqCst);
        app.graphql(Some(&editor), &named, json!({})).await;
        let cost = app.queries.load(Ordering::SeqCst) - before;
        assert!(cost <= 2, "{cost} statements for a cached named query");

        // A write through GraphQL on this node: the next read has it.
        let id = first["data"]["articles"]["nodes"][0]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let (_, _, m) = app
            .graphql(
                Some(&editor),
                "mutation($id: ID!) { updateArticle(id: $id, data: { title: \"عنوان جديد\" }, locale: \"ar\") { id } }",
                json!({ "id": id }),
            )
            .await;
        assert!(m["errors"].is_null(), "{m}");
        let (_, _, after) = app.graphql(Some(&editor), Q, json!({})).await;
        assert!(after.to_string().contains("عنوان جديد"), "{after}");

        // Drafts and published answers, and different token kinds, never mix.
        let (_, _, published) = app.graphql(Some(&public), Q_PUBLISHED, json!({})).await;
        assert!(!published.to_string().contains("عنوان جديد"), "{published}");
        let (_, _, refused) = app.graphql(Some(&public), Q, json!({})).await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");

        // A write through the admin API: publishing shows on the published read at once.
        let admin = app.admin_token("marrakech-safi").await.expect("admin");
        let p = app
            .admin(
                "POST",
                &format!("/entries/article/{id}/publish"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(p.status, 200);
        let (_, _, published) = app.graphql(Some(&public), Q_PUBLISHED, json!({})).await;
        assert!(published.to_string().contains("عنوان جديد"), "{published}");
    }
}

#[tokio::test]
async fn a_write_on_another_node_is_seen_at_once() {
    let Some(a) = TestApp::spawn_postgres_with(zellige_e2e::quiet)
        .await
        .expect("postgres")
    else {
        return;
    };
    let b = a.another_node().await.expect("second node");
    let demo = a.demo().await.expect("demo");
    let editor = demo.marrakech.editor_token.clone();
    let (_, _, cached) = a.graphql(Some(&editor), Q, json!({})).await;
    let (_, _, cached_again) = a.graphql(Some(&editor), Q, json!({})).await;
    assert_eq!(cached, cached_again);
    let total = cached["data"]["articles"]["totalCount"]
        .as_i64()
        .expect("count");
    let (_, _, m) = b
        .graphql(
            Some(&editor),
            "mutation { createArticle(data: { title: \"خبر من العقدة الثانية\", category: news }, locale: \"ar\") { id } }",
            json!({}),
        )
        .await;
    assert!(m["errors"].is_null(), "{m}");
    // No waiting: the very next read on the first node has it.
    let (_, _, fresh) = a.graphql(Some(&editor), Q, json!({})).await;
    assert_eq!(
        fresh["data"]["articles"]["totalCount"],
        total + 1,
        "{fresh}"
    );
}

#[tokio::test]
async fn concurrent_misses_run_the_query_once() {
    let app = TestApp::spawn_with(zellige_e2e::quiet).await.expect("app");
    let demo = app.demo().await.expect("demo");
    let token = demo.marrakech.public_token.clone();
    let q = "{ artisans(first: 20, orderBy: [{field: name}]) { totalCount nodes { id name } } }";
    // Once first, so that the token's last use is recorded already.
    app.graphql(
        Some(&token),
        "{ events(first: 1) { totalCount } }",
        json!({}),
    )
    .await;
    let before = app.queries.load(Ordering::SeqCst);
    let answers =
        futures::future::join_all((0..16).map(|_| app.graphql(Some(&token), q, json!({})))).await;
    let cost = app.queries.load(Ordering::SeqCst) - before;
    assert!(
        answers
            .iter()
            .all(|(s, _, b)| *s == 200 && *b == answers[0].2)
    );
    // 16 token checks, and the list and count statements once (not 16 times).
    assert!(
        cost <= 16 + 4,
        "{cost} statements for 16 concurrent identical queries"
    );
}
