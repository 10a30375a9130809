//! References resolve in batches (no N+1), and a content-type change made through one node is
//! visible in another node's schema without a restart.

use std::sync::atomic::Ordering;

use serde_json::{Map, json};
use zellige::content::EntryInput;
use zellige_e2e::TestApp;

fn data(v: serde_json::Value) -> Map<String, serde_json::Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test]
async fn references_cost_a_constant_number_of_queries() {
    for app in TestApp::both_with(zellige_e2e::quiet).await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let ctx = zellige::tenancy::by_slug(&app.state.db, "casablanca-settat")
            .await
            .expect("tenant");
        let content = &app.state.content;
        let mut events = Vec::new();
        for i in 0..3 {
            let e = content.create(&ctx, "event", EntryInput { data: data(json!({"title": {"ar": format!("نشاط {i}")}, "startsAt": "2017-12-05T10:00:00Z"})), ..Default::default() }, None).await.expect("event");
            content
                .publish(&ctx, "event", &e.id, None)
                .await
                .expect("publish");
            events.push(e.id);
        }
        for i in 0..100 {
            let a = content.create(&ctx, "article", EntryInput { data: data(json!({"title": {"ar": format!("مقال {i}")}, "relatedEvents": [events[i % 3], events[(i + 1) % 3]]})), ..Default::default() }, None).await.expect("article");
            content
                .publish(&ctx, "article", &a.id, None)
                .await
                .expect("publish");
        }
        let token = Some(demo.casablanca.public_token.as_str());
        let query = "query($n: Int) { articles(first: $n) { nodes { title relatedEvents { title relatedArticles { title } } } } }";
        let mut costs = Vec::new();
        for n in [5, 100] {
            app.graphql(token, query, json!({"n": n})).await; // warm caches (schema, model)
            let before = app.queries.load(Ordering::Relaxed);
            let (_, _, body) = app.graphql(token, query, json!({"n": n})).await;
            costs.push(app.queries.load(Ordering::Relaxed) - before);
            let nodes = body["data"]["articles"]["nodes"]
                .as_array()
                .expect("nodes")
                .clone();
            assert_eq!(nodes.len(), n);
            assert!(
                nodes
                    .iter()
                    .all(|a| a["relatedEvents"].as_array().map(Vec::len) == Some(2)),
                "{body}"
            );
        }
        assert_eq!(
            costs[0], costs[1],
            "queries for 5 and 100 entries: {costs:?}"
        );
        assert!(costs[1] <= 8, "{costs:?}");
    }
}

#[tokio::test]
async fn content_type_changes_reach_every_node() {
    let Some(a) = TestApp::spawn_postgres_with(zellige_e2e::quiet)
        .await
        .expect("spawn")
    else {
        return;
    };
    let b = a.another_node().await.expect("second node");
    let demo = a.demo().await.expect("demo");
    let token = Some(demo.marrakech.public_token.as_str());
    let q = "{ workshops { totalCount } }";
    let (_, _, before) = b.graphql(token, q, json!({})).await;
    assert!(before["errors"].is_array(), "no such type yet: {before}");
    let ctx = zellige::tenancy::by_slug(&a.state.db, "marrakech-safi")
        .await
        .expect("tenant");
    a.state.content.create_type(&ctx, json!({"name": "workshop", "plural": "workshops", "fields": [{"name": "title", "type": "string", "localized": true}]}), None).await.expect("new type");
    let started = std::time::Instant::now();
    loop {
        let (_, _, after) = b.graphql(token, q, json!({})).await;
        if after["data"]["workshops"]["totalCount"] == 0 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "not visible on the other node within 1 s: {after}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The other tenant's schema is untouched.
    let (_, _, other) = b
        .graphql(Some(&demo.casablanca.public_token), q, json!({}))
        .await;
    assert!(other["errors"].is_array());
}
