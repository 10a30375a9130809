//! Search end to end on the embedded index: the real server, its indexer consuming the outbox,
//! GraphQL `search` over HTTP, with the demo's real Arabic text. Every phenomenon of SPEC §8,
//! filters and facets, highlights, drafts never indexed, tenant isolation, pages, and an outage
//! (the index directory removed) from which the index recovers by itself.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use zellige_e2e::{TestApp, code};

const SEED_ID: &str = "015d186a-3580-7000-8000-000000000001";

async fn search(app: &TestApp, token: &str, query: &str, extra: &str) -> Value {
    let q = format!(
        "query($q: String!) {{ search(query: $q{extra}) {{ totalHits hits {{ id type title score highlights {{ field snippet }} entry {{ id slug status }} }} facets {{ field values {{ value count }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let (_, _, body) = app.graphql(Some(token), &q, json!({ "q": query })).await;
    body
}

fn ids(body: &Value) -> BTreeSet<String> {
    body["data"]["search"]["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .filter_map(|h| h["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the indexer has caught up enough for `query` to find `id` (or not).
async fn eventually(app: &TestApp, token: &str, query: &str, id: &str, present: bool) -> Value {
    let mut body = Value::Null;
    for _ in 0..100 {
        body = search(app, token, query, ", first: 50").await;
        if ids(&body).contains(id) == present && body["errors"].is_null() {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "`{query}` {} {id}: {body}",
        if present {
            "never found"
        } else {
            "still finds"
        }
    );
}

#[tokio::test]
async fn arabic_queries_find_what_arabic_readers_type() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let t = demo.marrakech.public_token.as_str();
    eventually(&app, t, "التعاونيات", SEED_ID, true).await;
    for (query, why) in [
        ("تعاونيات", "without the article"),
        ("والتعاونيات", "with the conjunction"),
        ("بالتعاونيات", "with the preposition"),
        ("تعاونية", "the singular"),
        ("التَّعَاوُنِيَّاتُ", "with diacritics"),
        ("التـــعاونيات", "with tatweel"),
        ("الاقليمي", "alef without hamza"),
        ("الغرفه", "ha for ta marbuta"),
        ("علي", "ya for alef maqsura"),
        ("٢٠١٧ التعاونيات", "Arabic-Indic digits"),
        ("۲۰۱۷ التعاونيات", "Persian digits"),
        ("تعاو", "the last word as a prefix"),
        ("التعاونيت", "one typo in a longer word"),
    ] {
        let body = search(&app, t, query, ", first: 50").await;
        assert!(ids(&body).contains(SEED_ID), "{why}: `{query}` → {body}");
    }
    // Highlights mark the original words, escaped around the marks.
    let body = search(&app, t, "تعاونية", ", types: [\"article\"]").await;
    let hit = body["data"]["search"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .find(|h| h["id"] == SEED_ID)
        .expect("seed");
    let snippets = hit["highlights"].to_string();
    assert!(
        snippets.contains("<mark>للتعاونيات</mark>")
            || snippets.contains("<mark>التعاونيات</mark>"),
        "{snippets}"
    );
    assert_eq!(hit["entry"]["status"], "PUBLISHED");
    assert_eq!(hit["type"], "article");
    // Nonsense finds nothing.
    let body = search(&app, t, "كسكسطرونيك", "").await;
    assert_eq!(body["data"]["search"]["totalHits"], 0, "{body}");
    // French: case and accents folded, plural and singular meet.
    let body = search(&app, t, "SALON regional", ", locale: \"fr\"").await;
    assert!(
        body["data"]["search"]["totalHits"].as_u64().unwrap_or(0) >= 1,
        "{body}"
    );
}

#[tokio::test]
async fn filters_and_facets_agree_with_the_lists() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let t = demo.marrakech.public_token.as_str();
        // All artisans of Marrakech, by craft.
        let mut body = Value::Null;
        for _ in 0..100 {
            body = search(
                &app,
                t,
                "",
                ", types: [\"artisan\"], where: {city: {eq: \"مراكش\"}}, first: 100",
            )
            .await;
            if body["data"]["search"]["totalHits"].as_u64().unwrap_or(0) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (_, _, list) = app
            .graphql(
                Some(t),
                "{ artisans(where: {city: {eq: \"مراكش\"}}) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(
            body["data"]["search"]["totalHits"], list["data"]["artisans"]["totalCount"],
            "{body}"
        );
        let crafts = body["data"]["search"]["facets"]
            .as_array()
            .expect("facets")
            .iter()
            .find(|f| f["field"] == "craft")
            .unwrap_or_else(|| panic!("craft facet in {body}"))
            .clone();
        for v in crafts["values"].as_array().expect("values") {
            let (_, _, n) = app
                .graphql(
                    Some(t),
                    "query($c: String!) { artisans(where: {city: {eq: \"مراكش\"}, craft: {eq: $c}}) { totalCount } }",
                    json!({"c": v["value"]}),
                )
                .await;
            assert_eq!(v["count"], n["data"]["artisans"]["totalCount"], "{v}");
        }
        // A date range: December 2017's events.
        let body = search(&app, t, "", ", types: [\"event\"], where: {startsAt: {gte: \"2017-12-01T00:00:00Z\", lt: \"2018-01-01T00:00:00Z\"}}, first: 100").await;
        let (_, _, list) = app
            .graphql(Some(t), "{ events(where: {startsAt: {gte: \"2017-12-01T00:00:00Z\", lt: \"2018-01-01T00:00:00Z\"}}) { totalCount } }", json!({}))
            .await;
        assert_eq!(
            body["data"]["search"]["totalHits"], list["data"]["events"]["totalCount"],
            "{body}"
        );
        // Pages do not overlap.
        let first = search(&app, t, "", ", types: [\"artisan\"], first: 5").await;
        let cursor = first["data"]["search"]["pageInfo"]["endCursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        assert_eq!(first["data"]["search"]["pageInfo"]["hasNextPage"], true);
        let second = search(
            &app,
            t,
            "",
            &format!(", types: [\"artisan\"], first: 5, after: \"{cursor}\""),
        )
        .await;
        assert_eq!(ids(&second).len(), 5);
        assert!(ids(&first).is_disjoint(&ids(&second)));
    }
}

#[tokio::test]
async fn only_published_entries_are_found_and_tenants_stay_apart() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let editor = demo.marrakech.editor_token.as_str();
        let t = demo.marrakech.public_token.as_str();
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "mutation { createArticle(data: {title: \"ورشة النقش على الجبس زخرفة\"}) { id } }",
                json!({}),
            )
            .await;
        let id = body["data"]["createArticle"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        // A draft is never indexed (wait for the indexer to pass the seed first).
        eventually(&app, t, "التعاونيات", SEED_ID, true).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(!ids(&search(&app, t, "الجبس", "").await).contains(&id));
        // Published: found, by the public and nobody else's tenant.
        app.graphql(
            Some(editor),
            "mutation($id: ID!) { publishArticle(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
        eventually(&app, t, "الجبس", &id, true).await;
        let casa = search(&app, &demo.casablanca.public_token, "الجبس", "").await;
        assert!(!ids(&casa).contains(&id), "{casa}");
        let casa = search(&app, &demo.casablanca.public_token, "التعاونيات", "").await;
        assert!(!ids(&casa).contains(SEED_ID), "{casa}");
        // Editing the draft changes nothing until it is published again.
        app.graphql(Some(editor), "mutation($id: ID!) { updateArticle(id: $id, data: {title: \"ورشة الخط المغربي\"}) { id } }", json!({"id": id})).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(ids(&search(&app, t, "الجبس", "").await).contains(&id));
        assert!(!ids(&search(&app, t, "المغربي الخط", "").await).contains(&id));
        app.graphql(
            Some(editor),
            "mutation($id: ID!) { publishArticle(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
        eventually(&app, t, "المغربي الخط", &id, true).await;
        eventually(&app, t, "الجبس", &id, false).await;
        // Unpublished: gone.
        app.graphql(
            Some(editor),
            "mutation($id: ID!) { unpublishArticle(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
        eventually(&app, t, "المغربي الخط", &id, false).await;
    }
}

#[tokio::test]
async fn an_index_outage_refuses_searches_keeps_writes_and_heals() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let t = demo.marrakech.public_token.as_str();
    let editor = demo.marrakech.editor_token.as_str();
    eventually(&app, t, "التعاونيات", SEED_ID, true).await;
    let ctx = zellige::tenancy::by_slug(&app.state.db, "marrakech-safi")
        .await
        .expect("tenant");
    let dir = app.state.config.data_dir.join("search").join(ctx.id());
    std::fs::remove_dir_all(&dir).expect("remove the index");
    let body = search(&app, t, "التعاونيات", "").await;
    // Either the outage is seen (SEARCH_UNAVAILABLE) or the indexer already rebuilt it.
    if !body["errors"].is_null() {
        assert_eq!(code(&body), "SEARCH_UNAVAILABLE", "{body}");
    }
    // Writes go on.
    let (_, _, body) = app
        .graphql(
            Some(editor),
            "mutation { createArticle(data: {title: \"معرض الفخار بآسفي\"}) { id } }",
            json!({}),
        )
        .await;
    let id = body["data"]["createArticle"]["id"]
        .as_str()
        .expect("write during the outage")
        .to_owned();
    app.graphql(
        Some(editor),
        "mutation($id: ID!) { publishArticle(id: $id) { id } }",
        json!({"id": id}),
    )
    .await;
    // The index is rebuilt from the database and catches up: old and new entries, once each.
    eventually(&app, t, "الفخار", &id, true).await;
    let body = eventually(&app, t, "التعاونيات", SEED_ID, true).await;
    let hits: Vec<String> = body["data"]["search"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .filter_map(|h| h["id"].as_str().map(str::to_owned))
        .collect();
    let unique: BTreeSet<&String> = hits.iter().collect();
    assert_eq!(unique.len(), hits.len(), "no duplicates: {hits:?}");
}
