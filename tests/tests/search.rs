//! Search end to end: the real server, its indexer consuming the outbox, GraphQL `search` over
//! HTTP, with the demo's real Arabic text. Every phenomenon of SPEC §8, filters and facets,
//! highlights, drafts never indexed, tenant isolation, pages, and outages from which the index
//! recovers by itself. Each scenario runs on the embedded index and, where
//! `ZELLIGE_TEST_MEILI_URL` points at a server, on Meilisearch.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use zellige_e2e::{Relay, TestApp, code, meili, use_meili};

const SEED_ID: &str = "015d186a-3580-7000-8000-000000000001";

/// The servers a scenario runs on: the embedded index on SQLite (and on PostgreSQL with
/// `both_dbs`), then the same on Meilisearch where a server is configured.
async fn servers(suite: &str, both_dbs: bool) -> Vec<TestApp> {
    let mut apps = if both_dbs {
        TestApp::both().await.expect("spawn")
    } else {
        vec![TestApp::spawn().await.expect("spawn")]
    };
    if let Some((url, key)) = meili(suite) {
        let key = key.as_deref();
        apps.push(
            TestApp::spawn_with(|c| use_meili(c, &url, key))
                .await
                .expect("spawn"),
        );
        if both_dbs
            && let Some(app) = TestApp::spawn_postgres_with(|c| use_meili(c, &url, key))
                .await
                .expect("spawn")
        {
            apps.push(app);
        }
    }
    apps
}

/// Creates and publishes an article; its id.
async fn publish_article(app: &TestApp, editor: &str, title: &str) -> String {
    let (_, _, body) = app
        .graphql(
            Some(editor),
            "mutation($t: String!) { createArticle(data: {title: $t}) { id } }",
            json!({"t": title}),
        )
        .await;
    let id = body["data"]["createArticle"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("create: {body}"))
        .to_owned();
    let (_, _, body) = app
        .graphql(
            Some(editor),
            "mutation($id: ID!) { publishArticle(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert!(body["errors"].is_null(), "publish: {body}");
    id
}

fn backend(app: &TestApp) -> &'static str {
    app.state.search.backend().name()
}

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
    for app in servers("arabic queries", false).await {
        arabic_queries(&app).await;
    }
}

async fn arabic_queries(app: &TestApp) {
    let demo = app.demo().await.expect("demo");
    let t = demo.marrakech.public_token.as_str();
    eventually(app, t, "التعاونيات", SEED_ID, true).await;
    for (query, why) in [
        ("تعاونيات", "without the article"),
        ("والتعاونيات", "with the conjunction"),
        ("بالتعاونيات", "with the preposition"),
        ("تعاونية", "the singular"),
        ("التَّعَاوُنِيَّاتُ", "with diacritics"),
        ("التـــعاونيات", "with tatweel"),
        ("الاقليمي", "alef without hamza"),
        ("الغرفه", "ha for ta marbuta"),
        ("التعاونيات علي", "ya for alef maqsura"),
        ("٢٠١٧ التعاونيات", "Arabic-Indic digits"),
        ("۲۰۱۷ التعاونيات", "Persian digits"),
        ("تعاو", "the last word as a prefix"),
        ("التعاونيت", "one typo in a longer word"),
        ("Marrakech التعاونيات", "the city's Latin name"),
        ("مراكش التعاونيات", "the bare word for the text's بمراكش"),
        ("بمراكش للتعاونيات", "a proclitic the text does not have"),
        ("بالصويره essaouira", "a place in both scripts"),
    ] {
        let body = search(app, t, query, ", first: 50").await;
        assert!(
            ids(&body).contains(SEED_ID),
            "{}: {why}: `{query}` → {body}",
            backend(app)
        );
    }
    // Highlights mark the original words, escaped around the marks.
    let body = search(app, t, "تعاونية", ", types: [\"article\"]").await;
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
    let body = search(app, t, "كسكسطرونيك", "").await;
    assert_eq!(body["data"]["search"]["totalHits"], 0, "{body}");
    // French: case and accents folded, plural and singular meet.
    let body = search(app, t, "SALON regional", ", locale: \"fr\"").await;
    assert!(
        body["data"]["search"]["totalHits"].as_u64().unwrap_or(0) >= 1,
        "{body}"
    );
    // A symbol whose compatibility form is a word is found as that word, both ways.
    let editor = demo.marrakech.editor_token.as_str();
    let id = publish_article(app, editor, "زربية مراكشية بثمن ٥٠٠٠ ﷼").await;
    eventually(app, t, "ريال زربية", &id, true).await;
    let body = search(app, t, "﷼ زربية", "").await;
    assert!(ids(&body).contains(&id), "{}: `﷼` → {body}", backend(app));
}

#[tokio::test]
async fn filters_and_facets_agree_with_the_lists() {
    for app in servers("filters and facets", true).await {
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
    for app in servers("published entries and isolation", true).await {
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
    let id = publish_article(&app, editor, "معرض الفخار بآسفي").await;
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

#[tokio::test]
async fn meilisearch_down_refuses_searches_keeps_writes_and_heals() {
    let Some((url, key)) = meili("the Meilisearch outage") else {
        return;
    };
    let upstream = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.socket_addrs(|| Some(7700)).ok())
        .and_then(|a| a.into_iter().next())
        .expect("ZELLIGE_TEST_MEILI_URL is an http URL");
    let relay = Relay::start(upstream).await.expect("relay");
    let through = format!("http://{}", relay.addr);
    let app = TestApp::spawn_with(|c| use_meili(c, &through, key.as_deref()))
        .await
        .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let t = demo.marrakech.public_token.as_str();
    let editor = demo.marrakech.editor_token.as_str();
    eventually(&app, t, "التعاونيات", SEED_ID, true).await;
    relay.cut();
    let body = search(&app, t, "التعاونيات", "").await;
    assert_eq!(code(&body), "SEARCH_UNAVAILABLE", "{body}");
    let ready = app.readiness().await;
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["search"]["reachable"], false, "{ready}");
    // Writes go on, and the indexer's backlog grows.
    let id = publish_article(&app, editor, "معرض الفخار بآسفي").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ready = app.readiness().await;
    assert!(
        ready["search"]["backlog"]["marrakech-safi"]
            .as_i64()
            .unwrap_or(0)
            > 0,
        "{ready}"
    );
    relay.restore();
    // The indexer retries (with backoff) and converges: the new entry once, the old ones kept.
    let mut body = Value::Null;
    for _ in 0..300 {
        body = search(&app, t, "الفخار", ", first: 50").await;
        if ids(&body).contains(&id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ids(&body).contains(&id), "never healed: {body}");
    let body = eventually(&app, t, "التعاونيات", SEED_ID, true).await;
    let hits = body["data"]["search"]["hits"].as_array().expect("hits");
    assert_eq!(ids(&body).len(), hits.len(), "no duplicates: {body}");
}

#[tokio::test]
async fn meilisearch_settings_that_drift_are_corrected_at_start() {
    let Some((url, key)) = meili("settings drift") else {
        return;
    };
    let app = TestApp::spawn_with(|c| use_meili(c, &url, key.as_deref()))
        .await
        .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let t = demo.marrakech.public_token.as_str();
    eventually(&app, t, "التعاونيات", SEED_ID, true).await;
    let ctx = zellige::tenancy::by_slug(&app.state.db, "marrakech-safi")
        .await
        .expect("tenant");
    let settings_url = format!(
        "{url}/indexes/{}{}/settings",
        app.state.config.meili_index_prefix,
        ctx.id()
    );
    let meili_request = |r: reqwest::RequestBuilder| match &key {
        Some(k) => r.bearer_auth(k),
        None => r,
    };
    // Someone changes the index by hand.
    let task: Value = meili_request(app.client.patch(&settings_url))
        .json(&json!({"rankingRules": ["words"], "searchableAttributes": ["*"]}))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("task");
    let uid = task["taskUid"].as_u64().expect("taskUid");
    for _ in 0..100 {
        let t: Value = meili_request(app.client.get(format!("{url}/tasks/{uid}")))
            .send()
            .await
            .expect("task")
            .json()
            .await
            .expect("json");
        if t["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A node that starts puts the project's settings back.
    let node = app.another_node().await.expect("node");
    let mut current = Value::Null;
    for _ in 0..100 {
        current = meili_request(node.client.get(&settings_url))
            .send()
            .await
            .expect("settings")
            .json()
            .await
            .expect("json");
        if current["rankingRules"] == zellige::search::meili::settings()["rankingRules"]
            && current["searchableAttributes"]
                == zellige::search::meili::settings()["searchableAttributes"]
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("settings not corrected: {current}");
}

/// Two nodes on one PostgreSQL database: with Meilisearch they share one index and one
/// consumer position (one node applies each batch); with the embedded index each node keeps
/// its own index and position. Either way, both nodes answer with every entry, once.
#[tokio::test]
async fn two_nodes_on_postgresql_converge() {
    let mut pairs = Vec::new();
    if let Some(a) = TestApp::spawn_postgres().await.expect("spawn") {
        pairs.push(a);
    }
    if let Some((url, key)) = meili("two nodes")
        && let Some(a) = TestApp::spawn_postgres_with(|c| use_meili(c, &url, key.as_deref()))
            .await
            .expect("spawn")
    {
        pairs.push(a);
    }
    for a in pairs {
        let b = a.another_node().await.expect("node");
        let demo = a.demo().await.expect("demo");
        let editor = demo.marrakech.editor_token.clone();
        let t = demo.marrakech.public_token.clone();
        let mut writes = Vec::new();
        for i in 0..24 {
            let node = if i % 2 == 0 { &a } else { &b };
            let editor = editor.clone();
            writes.push(async move {
                publish_article(node, &editor, &format!("معرض الزربية الرباطية رقم {i}")).await
            });
        }
        let written: BTreeSet<String> = futures::future::join_all(writes)
            .await
            .into_iter()
            .collect();
        for node in [&a, &b] {
            let mut body = Value::Null;
            for _ in 0..200 {
                body = search(node, &t, "الرباطيه الزربيه", ", first: 50").await;
                if written.is_subset(&ids(&body)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let hits = body["data"]["search"]["hits"].as_array().expect("hits");
            assert_eq!(
                ids(&body),
                written,
                "{}: every entry once: {body}",
                backend(node)
            );
            assert_eq!(hits.len(), written.len(), "no duplicates");
        }
    }
}

/// The admin API's `/search` (the admin UI's list search): the same index and permission
/// checks as GraphQL `search`, per tenant, with its limits named.
#[tokio::test]
async fn the_admin_search_finds_what_graphql_finds_in_its_own_tenant() {
    for app in servers("the admin search", false).await {
        let demo = app.demo().await.expect("demo");
        let public = demo.marrakech.public_token.as_str();
        eventually(&app, public, "التعاونيات", SEED_ID, true).await;
        let admin_search = |token: &str, query: &str| {
            let token = token.to_owned();
            let path = format!(
                "/search?type=article&q={}",
                url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
            );
            let app = &app;
            async move { app.admin("GET", &path, Some(&token), None).await }
        };
        let found = admin_search(&demo.marrakech.editor_token, "التعاونيات").await;
        assert_eq!(found.status, 200, "{found:?}");
        let hits = found.body["hits"].as_array().cloned().unwrap_or_default();
        assert!(
            hits.iter()
                .any(|h| h["id"] == SEED_ID && h["type"] == "article"),
            "{found:?}"
        );
        assert!(
            hits.iter().any(|h| h["title"]
                .as_str()
                .is_some_and(|t| t.contains("للتعاونيات"))),
            "{found:?}"
        );
        // Another tenant's credential searches its own tenant only.
        let other = admin_search(&demo.casablanca.editor_token, "التعاونيات").await;
        assert_eq!(other.status, 200);
        assert!(
            !other.body["hits"]
                .as_array()
                .is_some_and(|h| h.iter().any(|x| x["id"] == SEED_ID)),
            "{other:?}"
        );
        // Limits and unknown types are named.
        let long = admin_search(&demo.marrakech.editor_token, &"زليج ".repeat(60)).await;
        assert_eq!(long.status, 400);
        assert_eq!(long.body["fields"][0]["path"], "q");
        assert_eq!(long.body["fields"][0]["rule"], "maxLength");
        let wordy = admin_search(&demo.marrakech.editor_token, &"زليج ".repeat(11)).await;
        assert_eq!(wordy.status, 400, "{wordy:?}");
        assert_eq!(wordy.body["fields"][0]["path"], "q");
        assert_eq!(wordy.body["fields"][0]["rule"], "maxWords");
        let unknown = app
            .admin(
                "GET",
                "/search?type=nothing&q=x",
                Some(&demo.marrakech.editor_token),
                None,
            )
            .await;
        assert_eq!(unknown.status, 404);
    }
}

/// A node's index that fell behind events retention has since pruned rebuilds instead of
/// skipping them: a deleted article must not stay findable.
#[tokio::test]
async fn an_index_behind_pruned_events_rebuilds() {
    let app = TestApp::spawn_with(zellige_e2e::quiet)
        .await
        .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let editor = demo.marrakech.editor_token.as_str();
    let tenant = zellige::tenancy::by_slug(&app.state.db, "marrakech-safi")
        .await
        .expect("tenant");
    let (search, content) = (&app.state.search, &app.state.content);
    let pass = || zellige::search::worker::pass(search, content, &tenant);
    pass().await.expect("first pass");
    let id = publish_article(&app, editor, "ورشة الفسيفساء المغربية").await;
    pass().await.expect("indexed");
    assert!(ids(&search_as(&app, editor, "الفسيفساء").await).contains(&id));
    let seen = zellige::store::outbox::position(&app.state.db, search.consumer(), &tenant)
        .await
        .expect("position");
    // While this index is away: the article is deleted, something else happens, and retention
    // prunes the deletion (every other consumer has passed it; this one is silent for days).
    app.graphql(
        Some(editor),
        "mutation($id: ID!) { deleteArticle(id: $id) }",
        json!({"id": id}),
    )
    .await;
    publish_article(&app, editor, "معرض النحاس").await;
    let now = zellige::time::now_ms();
    let db = &app.state.db;
    let latest = zellige::store::outbox::latest(db, &tenant)
        .await
        .expect("latest");
    for consumer in ["webhooks", "plugins"] {
        zellige::store::outbox::acknowledge(db, consumer, &tenant, latest, now)
            .await
            .expect("ack");
    }
    sea_orm::ConnectionTrait::execute_unprepared(
        db,
        "UPDATE outbox_consumers SET updated_at = 0 WHERE consumer LIKE 'search%'",
    )
    .await
    .expect("silent index");
    let config = zellige::config::RetentionConfig {
        outbox_min_age_secs: 0,
        ..Default::default()
    };
    let pruned = zellige::retention::tenant(db, &config, &tenant, now)
        .await
        .expect("retention");
    assert!(pruned.events > 0);
    let oldest = zellige::store::outbox::oldest(db, &tenant)
        .await
        .expect("oldest");
    assert!(
        seen + 1 < oldest,
        "the deletion was pruned: {seen} < {oldest}"
    );
    // Back: the index rebuilds, so the deleted article is gone and the new one found.
    pass().await.expect("pass after pruning");
    assert!(!ids(&search_as(&app, editor, "الفسيفساء").await).contains(&id));
    assert!(!ids(&search_as(&app, editor, "النحاس").await).is_empty());
}

async fn search_as(app: &TestApp, token: &str, query: &str) -> Value {
    search(app, token, query, ", first: 50").await
}

/// A search's work grows with its words and their length: both are bounded
/// (`limits.search_words`, `limits.search_query_chars`), counted in words after analysis and in
/// characters (not bytes) of the query as typed, and a refusal names the field and the rule.
#[tokio::test]
async fn queries_over_the_search_limits_are_refused_naming_the_rule() {
    let app = TestApp::spawn_with(|c| {
        c.limits.search_words = 4;
        c.limits.search_query_chars = 40;
    })
    .await
    .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let t = demo.marrakech.public_token.as_str();
    eventually(&app, t, "التعاونيات", SEED_ID, true).await;
    // Four words (the diacritics and the article count for nothing) are searched.
    let four = "التَّعاونيات الحرفية بمراكش آسفي";
    let body = search(&app, t, four, "").await;
    assert!(body["errors"].is_null(), "{four}: {body}");
    // A fifth word is refused, with the field and the rule.
    let body = search(&app, t, &format!("{four} معرض"), "").await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let field = &body["errors"][0]["extensions"]["fields"][0];
    assert_eq!(field["path"], "query", "{body}");
    assert_eq!(field["rule"], "maxWords", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("at most 4 words") && message.contains("5"),
        "{message}"
    );
    // Forty Arabic characters are eighty bytes, and within the limit; forty-one are not.
    let forty = "م".repeat(40);
    let body = search(&app, t, &forty, "").await;
    assert!(body["errors"].is_null(), "40 characters: {body}");
    let body = search(&app, t, &format!("{forty}ر"), "").await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let field = &body["errors"][0]["extensions"]["fields"][0];
    assert_eq!(
        (field["path"].as_str(), field["rule"].as_str()),
        (Some("query"), Some("maxLength")),
        "{body}"
    );
    // The defaults: ten words.
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let t = demo.marrakech.public_token.as_str();
    let ten = "معرض خزف زليج نحاس فضة جلد نسيج دباغة مراكش آسفي";
    let body = search(&app, t, ten, "").await;
    assert!(body["errors"].is_null(), "ten words: {body}");
    let body = search(&app, t, &format!("{ten} الصويرة"), "").await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}
