//! GraphQL end to end: the real server on a loopback port, the demo data, HTTP requests. Every
//! query and mutation shape of SPEC §6, on SQLite and PostgreSQL.

use serde_json::{Value, json};
use zellige_e2e::{TestApp, code};

const SEED_TITLE: &str = "تنظيم لقاء إعلامي جهوي بمناسبة اليوم العالمي للتعاونيات";

#[tokio::test]
async fn queries_on_the_demo_data() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let token = Some(demo.marrakech.public_token.as_str());

        // Latest 20 published articles, with the seed article and its related event.
        let (status, ct, body) = app
            .graphql(token, "{ articles(orderBy: [{field: publishedAt, direction: DESC}], first: 20) { totalCount edges { cursor node { id slug title status publishedAt relatedEvents { title startsAt } } } pageInfo { hasNextPage endCursor } } }", json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ct, "application/graphql-response+json");
        let edges = body["data"]["articles"]["edges"]
            .as_array()
            .expect("edges")
            .clone();
        assert!(!edges.is_empty());
        let seed = edges
            .iter()
            .map(|e| &e["node"])
            .find(|n| n["title"] == SEED_TITLE)
            .expect("seed article");
        assert_eq!(seed["status"], "PUBLISHED");
        assert_eq!(seed["publishedAt"], "2017-07-06T15:00:00.000Z");
        assert_eq!(seed["relatedEvents"][0]["startsAt"], "2017-07-06T09:00:00Z");
        assert!(
            body["data"]["articles"]["totalCount"]
                .as_i64()
                .expect("count")
                >= 7
        );
        let dates: Vec<&str> = edges
            .iter()
            .filter_map(|e| e["node"]["publishedAt"].as_str())
            .collect();
        assert!(
            dates.windows(2).all(|w| w[0] >= w[1]),
            "sorted by publishedAt desc: {dates:?}"
        );

        // One article by slug, with body, in French (falls back to Arabic).
        let slug = seed["slug"].as_str().expect("slug");
        let (_, _, one) = app.graphql(token, "query($s: String!) { article(slug: $s, locale: \"fr\") { id title body locale availableLocales tags } }", json!({"s": slug})).await;
        let a = &one["data"]["article"];
        assert_eq!(a["title"], SEED_TITLE);
        assert_eq!(a["locale"], "fr");
        assert!(a["body"].as_str().expect("body").contains("dir=\"rtl\""));
        let (_, _, by_id) = app
            .graphql(
                token,
                "query($id: ID!) { article(id: $id) { slug } }",
                json!({"id": seed["id"]}),
            )
            .await;
        assert_eq!(by_id["data"]["article"]["slug"], slug);

        // Events of December 2017, sorted by start.
        let (_, _, ev) = app
            .graphql(token, "{ events(where: {startsAt: {gte: \"2017-12-01T00:00:00Z\", lt: \"2018-01-01T00:00:00Z\"}}, orderBy: [{field: startsAt}], first: 50) { nodes { title startsAt city } } }", json!({}))
            .await;
        let starts: Vec<&str> = ev["data"]["events"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["startsAt"].as_str())
            .collect();
        assert!(starts.len() >= 8, "{ev}");
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
        assert!(starts.iter().all(|s| s.starts_with("2017-12")));

        // A list decodes only the fields its query selects, however they are selected: through
        // a named fragment, an inline fragment, an alias, or `edges { node }`.
        let plain = "{ articles(first: 5) { nodes { id title excerpt city tags relatedEvents { title } } } }";
        let (_, _, want) = app.graphql(token, plain, json!({})).await;
        let shaped = "fragment F on Article { title ...G } fragment G on Article { excerpt } \
            { articles(first: 5) { nodes { id ...F ... on Article { place: city } tags relatedEvents { title } } } }";
        let (_, _, got) = app.graphql(token, shaped, json!({})).await;
        let by_edges = "{ articles(first: 5) { edges { node { id title excerpt city tags relatedEvents { title } } } } }";
        let (_, _, edges) = app.graphql(token, by_edges, json!({})).await;
        let want = want["data"]["articles"]["nodes"]
            .as_array()
            .expect("nodes")
            .clone();
        assert!(
            want.iter()
                .any(|n| n["title"].is_string() && n["city"].is_string()),
            "{want:?}"
        );
        for (i, w) in want.iter().enumerate() {
            let g = &got["data"]["articles"]["nodes"][i];
            for f in ["id", "title", "excerpt", "tags", "relatedEvents"] {
                assert_eq!(g[f], w[f], "{f} through fragments");
            }
            assert_eq!(g["place"], w["city"], "an aliased field");
            assert_eq!(
                &edges["data"]["articles"]["edges"][i]["node"], w,
                "edges {{ node }}"
            );
        }

        // Artisans filtered by craft and city, paged with cursors; no page repeats an entry.
        let q = "query($after: String) { artisans(where: {city: {eq: \"مراكش\"}, OR: [{craft: {eq: \"زليج\"}}, {craft: {eq: \"نحاس\"}}, {craft: {eq: \"دباغة\"}}]}, orderBy: [{field: name}], first: 2, after: $after) { totalCount nodes { name craft city } pageInfo { hasNextPage endCursor } } }";
        let mut after = Value::Null;
        let mut names = Vec::new();
        let mut total;
        loop {
            let (_, _, page) = app.graphql(token, q, json!({"after": after})).await;
            let conn = &page["data"]["artisans"];
            total = conn["totalCount"].as_i64().expect("total");
            for n in conn["nodes"].as_array().expect("nodes") {
                assert_eq!(n["city"], "مراكش");
                names.push(n["name"].as_str().expect("name").to_owned());
            }
            if conn["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = conn["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(names.len() as i64, total);
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);

        // Drafts are for preview/editor tokens only.
        let (_, _, d) = app
            .graphql(
                token,
                "{ artisans(status: DRAFT) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&d), "FORBIDDEN", "{d}");
        let (_, _, d) = app
            .graphql(
                Some(&demo.marrakech.editor_token),
                "{ artisans(status: DRAFT) { totalCount } }",
                json!({}),
            )
            .await;
        assert!(
            d["data"]["artisans"]["totalCount"]
                .as_i64()
                .expect("drafts visible")
                > 0
        );
        // Anonymous reads work where the tenant allows them (the demo does).
        let (status, _, anon) = app
            .graphql_with(
                None,
                &[("x-tenant", "marrakech-safi")],
                "{ locales }",
                json!({}),
            )
            .await;
        assert_eq!(
            (status, anon["data"]["locales"].clone()),
            (200, json!(["ar", "fr"]))
        );
    }
}

#[tokio::test]
async fn mutations_drafts_versions_and_conflicts() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let editor = Some(demo.marrakech.editor_token.as_str());
        let public = Some(demo.marrakech.public_token.as_str());
        let create = "mutation($d: ArticleCreateInput!) { createArticle(data: $d) { id slug status version title tags } }";
        let (status, _, c) = app.graphql(editor, create, json!({"d": {"title": "معرض الزليج بمراكش", "category": "exhibition", "tags": ["زليج"]}})).await;
        assert_eq!(status, 200, "{c}");
        let a = &c["data"]["createArticle"];
        assert_eq!(
            (
                a["status"].as_str(),
                a["version"].as_i64(),
                a["slug"].as_str()
            ),
            (Some("DRAFT"), Some(1), Some("معرض-الزليج-بمراكش"))
        );
        let id = a["id"].as_str().expect("id").to_owned();

        // Not visible to readers until published.
        let read = "query($id: ID!) { article(id: $id) { title version } }";
        assert_eq!(
            app.graphql(public, read, json!({"id": id})).await.2["data"]["article"],
            Value::Null
        );
        let (_, _, p) = app
            .graphql(
                editor,
                "mutation($id: ID!) { publishArticle(id: $id) { status version } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(
            p["data"]["publishArticle"],
            json!({"status": "PUBLISHED", "version": 2})
        );

        // French title added as a draft change; readers keep the published version.
        let update = "mutation($id: ID!, $v: Int) { updateArticle(id: $id, data: {title: \"Exposition du zellige\"}, locale: \"fr\", expectedVersion: $v) { version title locale } }";
        let (_, _, u) = app.graphql(editor, update, json!({"id": id, "v": 2})).await;
        assert_eq!(
            u["data"]["updateArticle"],
            json!({"version": 3, "title": "Exposition du zellige", "locale": "fr"})
        );
        let (_, _, stale) = app.graphql(editor, update, json!({"id": id, "v": 2})).await;
        assert_eq!(code(&stale), "CONFLICT", "{stale}");
        assert_eq!(
            stale["errors"][0]["extensions"]["fields"][0]["path"],
            "expectedVersion"
        );
        let (_, _, r) = app
            .graphql(
                public,
                "query($id: ID!) { article(id: $id, locale: \"fr\") { title version } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(
            r["data"]["article"],
            json!({"title": "معرض الزليج بمراكش", "version": 2})
        );

        // Validation errors name the field and rule; nothing is written.
        let (_, _, bad) = app
            .graphql(
                editor,
                create,
                json!({"d": {"title": "x".repeat(400), "category": "sport"}}),
            )
            .await;
        // An enum value outside the type's list is refused by the schema, naming the field.
        assert_eq!(code(&bad), "BAD_USER_INPUT", "{bad}");
        let message = bad["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("category") && message.contains("sport"),
            "{bad}"
        );
        let (_, _, bad) = app
            .graphql(
                editor,
                create,
                json!({"d": {"title": "x".repeat(400), "tags": ["x".repeat(70)]}}),
            )
            .await;
        assert_eq!(code(&bad), "BAD_USER_INPUT", "{bad}");
        let fields: Vec<(String, String)> = bad["errors"][0]["extensions"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap_or("").to_owned(),
                    f["rule"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        assert!(
            fields.contains(&("title.ar".into(), "maxLength".into()))
                && fields.contains(&("tags[0]".into(), "maxLength".into())),
            "{fields:?}"
        );
        let (_, _, dup) = app
            .graphql(
                editor,
                create,
                json!({"d": {"title": "آخر", "slug": "معرض-الزليج-بمراكش"}}),
            )
            .await;
        assert_eq!(code(&dup), "CONFLICT");

        // Permissions.
        let (_, _, f) = app
            .graphql(public, create, json!({"d": {"title": "ممنوع"}}))
            .await;
        assert_eq!(code(&f), "FORBIDDEN");
        let (_, _, f) = app
            .graphql_with(
                None,
                &[("x-tenant", "marrakech-safi")],
                create,
                json!({"d": {"title": "ممنوع"}}),
            )
            .await;
        assert_eq!(code(&f), "UNAUTHENTICATED");

        let (_, _, un) = app
            .graphql(
                editor,
                "mutation($id: ID!) { unpublishArticle(id: $id) { status } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(un["data"]["unpublishArticle"]["status"], "DRAFT");
        let (_, _, del) = app
            .graphql(
                editor,
                "mutation($id: ID!) { deleteArticle(id: $id) }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(del["data"]["deleteArticle"], id);
        let (_, _, gone) = app
            .graphql(
                editor,
                "mutation($id: ID!) { deleteArticle(id: $id) }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(code(&gone), "NOT_FOUND");
    }
}

#[tokio::test]
async fn tenants_are_isolated_whatever_is_sent() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let casa = Some(demo.casablanca.editor_token.as_str());
        let mk = Some(demo.marrakech.editor_token.as_str());
        let (_, _, ids) = app.graphql(mk, "{ articles(first: 100, status: DRAFT) { nodes { id slug } } artisans(first: 100) { nodes { id } } }", json!({})).await;
        let mk_article = ids["data"]["articles"]["nodes"][0].clone();
        let mk_ids: Vec<String> = ids["data"]["artisans"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["id"].as_str().map(str::to_owned))
            .collect();

        // Reads with Casablanca's token never see Marrakech content, by id, slug or list.
        let (_, _, r) = app.graphql(casa, "query($id: ID!, $s: String!) { a: article(id: $id, status: DRAFT) { id } b: article(slug: $s, status: DRAFT) { id } }", json!({"id": mk_article["id"], "s": mk_article["slug"]})).await;
        assert_eq!(r["data"], json!({"a": null, "b": null}), "{r}");
        let (_, _, list) = app
            .graphql(
                casa,
                "{ artisans(first: 100, status: DRAFT) { nodes { id } } }",
                json!({}),
            )
            .await;
        for n in list["data"]["artisans"]["nodes"].as_array().expect("nodes") {
            assert!(!mk_ids.contains(&n["id"].as_str().unwrap_or("").to_owned()));
        }
        let (_, _, f) = app
            .graphql(
                casa,
                "query($ids: [ID!]) { artisans(where: {id: {in: $ids}}) { totalCount } }",
                json!({"ids": mk_ids}),
            )
            .await;
        assert_eq!(f["data"]["artisans"]["totalCount"], 0);

        // Writes across tenants fail as not found and change nothing.
        for m in [
            "mutation($id: ID!) { updateArticle(id: $id, data: {city: \"x\"}) { id } }",
            "mutation($id: ID!) { publishArticle(id: $id) { id } }",
            "mutation($id: ID!) { unpublishArticle(id: $id) { id } }",
            "mutation($id: ID!) { deleteArticle(id: $id) }",
        ] {
            let (_, _, e) = app.graphql(casa, m, json!({"id": mk_article["id"]})).await;
            assert_eq!(code(&e), "NOT_FOUND", "{m}: {e}");
        }
        let (_, _, still) = app
            .graphql(
                mk,
                "query($id: ID!) { article(id: $id, status: DRAFT) { id } }",
                json!({"id": mk_article["id"]}),
            )
            .await;
        assert_eq!(still["data"]["article"]["id"], mk_article["id"]);

        // A reference to another tenant's entry is refused.
        let (_, _, x) = app.graphql(casa, "mutation($ids: [ID!]) { createEvent(data: {title: \"x\", startsAt: \"2017-12-01T10:00:00Z\", relatedArticles: $ids}) { id } }", json!({"ids": [mk_article["id"]]})).await;
        assert_eq!(code(&x), "BAD_USER_INPUT");

        // Headers cannot switch tenants.
        let (status, _, h) = app
            .graphql_with(
                casa,
                &[("x-tenant", "marrakech-safi")],
                "{ locales }",
                json!({}),
            )
            .await;
        assert_eq!((status, code(&h)), (403, "FORBIDDEN"));
        let (status, _, h) = app
            .graphql_with(None, &[("x-tenant", "nowhere")], "{ locales }", json!({}))
            .await;
        assert_eq!((status, code(&h)), (400, "UNKNOWN_TENANT"));
        // A tenant's domain in Host selects it (the demo's domains are SLUG.localhost).
        let q = "{ artisans(first: 100) { nodes { id } } }";
        let (status, _, by_host) = app
            .graphql_with(
                None,
                &[("host", "casablanca-settat.localhost")],
                q,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{by_host}");
        for n in by_host["data"]["artisans"]["nodes"]
            .as_array()
            .expect("nodes")
        {
            assert!(!mk_ids.contains(&n["id"].as_str().unwrap_or("").to_owned()));
        }
        let (status, _, h) = app.graphql(None, "{ locales }", json!({})).await;
        assert_eq!((status, code(&h)), (400, "UNKNOWN_TENANT"));
        let (status, _, h) = app
            .graphql(Some("zlg_not-a-real-token"), "{ locales }", json!({}))
            .await;
        assert_eq!((status, code(&h)), (401, "UNAUTHENTICATED"));
    }
}

#[tokio::test]
async fn hostile_input_is_refused_cleanly() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let editor = Some(demo.marrakech.editor_token.as_str());
    let url = app.url("/graphql");
    let post = |body: &'static str, ct: &'static str| {
        app.client
            .post(url.clone())
            .header("content-type", ct)
            .header("accept", "application/graphql-response+json")
            .bearer_auth(&demo.marrakech.public_token)
            .body(body)
            .send()
    };
    assert_eq!(
        post("{not json", "application/json")
            .await
            .expect("send")
            .status(),
        400
    );
    assert_eq!(
        post("[1,2]", "application/json")
            .await
            .expect("send")
            .status(),
        400
    );
    assert_eq!(
        post("{\"query\": 5}", "application/json")
            .await
            .expect("send")
            .status(),
        400
    );
    assert_eq!(
        post("{\"query\": \"{ locales }\"}", "text/plain")
            .await
            .expect("send")
            .status(),
        415
    );
    let r = post("{\"query\": \"{ locales \"}", "application/json")
        .await
        .expect("send");
    assert_eq!(r.status(), 400, "syntax errors are request errors");
    let r = post("{\"query\": \"{ nope }\"}", "application/json")
        .await
        .expect("send");
    assert_eq!(r.status(), 400, "validation errors are request errors");

    let aliases: String = (0..200).map(|i| format!("a{i}: locales ")).collect();
    let (status, _, b) = app
        .graphql(editor, &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!((status, code(&b)), (400, "QUERY_TOO_COMPLEX"));
    let deep = format!(
        "{{ articles {{ nodes {{ {} id {} }} }} }}",
        "relatedEvents { relatedArticles { ".repeat(8),
        "} } ".repeat(8)
    );
    let (status, _, b) = app.graphql(editor, &deep, json!({})).await;
    assert_eq!((status, code(&b)), (400, "QUERY_TOO_COMPLEX"), "{b}");
    let (status, _, b) = app
        .graphql(
            editor,
            "{ articles(first: 1000) { totalCount } }",
            json!({}),
        )
        .await;
    // Over the page limit the query is not executed (SPEC §6).
    assert_eq!((status, code(&b)), (400, "QUERY_TOO_COMPLEX"), "{b}");
    let (_, _, b) = app
        .graphql(
            editor,
            "{ events(where: {startsAt: {gte: \"yesterday\"}}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
    let (_, _, b) = app
        .graphql(
            editor,
            "mutation { createEvent(data: {title: \"x\", startsAt: 12}) { id } }",
            json!({}),
        )
        .await;
    assert!(b["errors"].is_array(), "{b}");
    let huge = "ز".repeat(1_500_000);
    let (status, _, b) = app
        .graphql(
            editor,
            "mutation($t: String) { createArticle(data: {title: $t}) { id } }",
            json!({"t": huge}),
        )
        .await;
    assert!(
        status == 413 || code(&b) == "BAD_USER_INPUT",
        "{status} {b}"
    );
    let (_, _, b) = app
        .graphql(
            editor,
            "{ artisans(where: {city: {eq: \"' OR 1=1 --\"}}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(b["data"]["artisans"]["totalCount"], 0);
    // The server still answers.
    let (status, _, b) = app.graphql(editor, "{ locales }", json!({})).await;
    assert_eq!(
        (status, b["data"]["locales"][0].as_str()),
        (200, Some("ar"))
    );
}

/// Errors point at the query text as its author sees it: lines split at `\n` (a `\r\n` counts
/// once), columns counted in characters, Arabic ones included.
#[tokio::test]
async fn errors_point_at_the_query_text() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let token = Some(demo.marrakech.public_token.as_str());
    let line2 = "  articles(where: {city: {eq: \"زليج مراكش\"}}) { nope }";
    let text = format!("query Q {{\r\n{line2}\r\n}}");
    let (status, _, b) = app.graphql(token, &text, json!({})).await;
    assert_eq!(status, 400, "{b}");
    let at = line2.find("nope").expect("in the line");
    let column = line2[..at].chars().count() + 1;
    assert_ne!(
        column,
        at + 1,
        "the line has characters of several bytes before the field"
    );
    assert_eq!(
        b["errors"][0]["locations"],
        json!([{"line": 2, "column": column}]),
        "{b}"
    );
    // A syntax error, located by async-graphql's parser.
    let (status, _, b) = app
        .graphql(
            token,
            "{\n  locales\n  articles(first: ) { totalCount }\n}",
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{b}");
    assert_eq!(b["errors"][0]["locations"][0]["line"], 3, "{b}");
}

#[tokio::test]
async fn http_semantics() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let get = |q: &str, accept: &'static str| {
        app.client
            .get(app.url("/graphql"))
            .query(&[("query", q)])
            .header("accept", accept)
            .bearer_auth(&demo.marrakech.public_token)
            .send()
    };
    let r = get("{ locales }", "application/graphql-response+json")
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/graphql-response+json"
    );
    let r = get("{ locales }", "application/json").await.expect("get");
    assert_eq!(
        r.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let r = get(
        "mutation { deleteArticle(id: \"x\") }",
        "application/graphql-response+json",
    )
    .await
    .expect("get");
    assert_eq!(r.status(), 405);
    let r = get("{ nope }", "application/json").await.expect("get");
    assert_eq!(r.status(), 200, "legacy JSON clients get 200 with errors");
    let html = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("graphiql");
    assert!(html.text().await.expect("text").contains("graphiql"));
}

#[tokio::test]
async fn writes_publish_in_the_same_request_with_a_chosen_date() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let editor = Some(demo.marrakech.editor_token.as_str());
        let public = Some(demo.marrakech.public_token.as_str());
        // An imported article keeps its original date: created and published in one request.
        let create = "mutation($d: ArticleCreateInput!, $at: DateTime) { createArticle(data: $d, publish: true, publishedAt: $at) { id status version publishedAt } }";
        let (status, _, c) = app
            .graphql(
                editor,
                create,
                json!({"d": {"title": "يوم دراسي حول الصناعة التقليدية"}, "at": "2019-05-01T10:00:00Z"}),
            )
            .await;
        assert_eq!(status, 200, "{c}");
        let a = &c["data"]["createArticle"];
        assert_eq!(
            (a["status"].as_str(), a["version"].as_i64()),
            (Some("PUBLISHED"), Some(2)),
            "{c}"
        );
        assert!(
            a["publishedAt"]
                .as_str()
                .is_some_and(|s| s.starts_with("2019-05-01T10:00:00")),
            "{c}"
        );
        let id = a["id"].as_str().expect("id").to_owned();
        let read = "query($id: ID!) { article(id: $id) { title publishedAt } }";
        let (_, _, r) = app.graphql(public, read, json!({"id": id})).await;
        assert_eq!(
            r["data"]["article"]["title"], "يوم دراسي حول الصناعة التقليدية",
            "{r}"
        );

        // An update that publishes, and a publish that corrects the date.
        let (_, _, u) = app
            .graphql(
                editor,
                "mutation($id: ID!) { updateArticle(id: $id, data: {title: \"Journée d'étude\"}, locale: \"fr\", publish: true) { status version } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(
            u["data"]["updateArticle"],
            json!({"status": "PUBLISHED", "version": 4}),
            "{u}"
        );
        let (_, _, p) = app
            .graphql(
                editor,
                "mutation($id: ID!) { publishArticle(id: $id, publishedAt: \"2019-05-02T08:30:00Z\") { publishedAt } }",
                json!({"id": id}),
            )
            .await;
        assert!(
            p["data"]["publishArticle"]["publishedAt"]
                .as_str()
                .is_some_and(|s| s.starts_with("2019-05-02T08:30:00")),
            "{p}"
        );

        // A date without `publish`, or in the future, is refused by name; nothing is written.
        let count = "{ articles(status: DRAFT) { totalCount } }";
        let before = app.graphql(editor, count, json!({})).await.2;
        for (vars, rule) in [
            (
                "mutation { createArticle(data: {title: \"ع\"}, publishedAt: \"2019-05-01T10:00:00Z\") { id } }",
                "requires",
            ),
            (
                "mutation { createArticle(data: {title: \"ع\"}, publish: true, publishedAt: \"2999-01-01T00:00:00Z\") { id } }",
                "past",
            ),
        ] {
            let (_, _, e) = app.graphql(editor, vars, json!({})).await;
            assert_eq!(code(&e), "BAD_USER_INPUT", "{e}");
            assert_eq!(
                e["errors"][0]["extensions"]["fields"][0],
                json!({"path": "publishedAt", "rule": rule, "message": e["errors"][0]["extensions"]["fields"][0]["message"]}),
                "{e}"
            );
        }
        assert_eq!(app.graphql(editor, count, json!({})).await.2, before);
    }
}

#[tokio::test]
async fn batch_writes_answer_one_result_per_item() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let editor = Some(demo.marrakech.editor_token.as_str());
        let public = Some(demo.marrakech.public_token.as_str());
        let count = "{ articles(status: DRAFT) { totalCount } }";
        let total = |body: Value| {
            body["data"]["articles"]["totalCount"]
                .as_i64()
                .expect("count")
        };
        let before = total(app.graphql(editor, count, json!({})).await.2);

        // Four creates in one transaction: the second lacks its Arabic title, the fourth asks
        // for the slug the third took. Those two fail alone; the others are written.
        let create = "mutation($items: [ArticleCreateInput!]!) { createArticles(items: $items, publish: true) { id entry { id slug status title } error { code message fields { path rule } } } }";
        let items = json!([
            {"title": "معرض جهوي للصناعة التقليدية بآسفي"},
            {"excerpt": "بدون عنوان"},
            {"title": "تكوين لفائدة الصُّنّاع بمراكش", "slug": "takwin-sunna"},
            {"title": "نسخة ثانية", "slug": "takwin-sunna"}
        ]);
        let (status, _, c) = app.graphql(editor, create, json!({"items": items})).await;
        assert_eq!(status, 200, "{c}");
        let r = c["data"]["createArticles"]
            .as_array()
            .expect("results")
            .clone();
        assert_eq!(r.len(), 4, "{c}");
        assert_eq!(r[0]["entry"]["status"], "PUBLISHED", "{c}");
        assert_eq!(r[0]["error"], Value::Null);
        assert_eq!(r[1]["entry"], Value::Null);
        assert_eq!(r[1]["error"]["code"], "BAD_USER_INPUT", "{c}");
        assert_eq!(
            r[1]["error"]["fields"][0],
            json!({"path": "title", "rule": "required"})
        );
        assert_eq!(r[2]["entry"]["slug"], "takwin-sunna", "{c}");
        assert_eq!(r[3]["error"]["code"], "CONFLICT", "{c}");
        assert_eq!(r[3]["error"]["fields"][0]["path"], "slug", "{c}");
        assert_eq!(
            total(app.graphql(editor, count, json!({})).await.2),
            before + 2
        );
        let first = r[0]["id"].as_str().expect("id").to_owned();
        let third = r[2]["id"].as_str().expect("id").to_owned();

        // Updates: each with its own expectedVersion; a stale one and an unknown id fail alone.
        let update = "mutation($items: [ArticleBatchUpdate!]!) { updateArticles(items: $items, locale: \"fr\") { id entry { version title } error { code } } }";
        let missing = "01890000-0000-7000-8000-000000000000";
        let items = json!([
            {"id": first, "data": {"title": "Salon régional de l'artisanat à Safi"}, "expectedVersion": 2},
            {"id": third, "data": {"title": "Formation"}, "expectedVersion": 1},
            {"id": missing, "data": {"title": "x"}}
        ]);
        let (_, _, u) = app.graphql(editor, update, json!({"items": items})).await;
        let r = &u["data"]["updateArticles"];
        assert_eq!(
            r[0]["entry"],
            json!({"version": 3, "title": "Salon régional de l'artisanat à Safi"}),
            "{u}"
        );
        assert_eq!(r[1]["error"]["code"], "CONFLICT", "{u}");
        assert_eq!(r[2]["error"]["code"], "NOT_FOUND", "{u}");
        assert_eq!(r[2]["id"], missing, "{u}");
        let read = "query($id: ID!) { article(id: $id, status: DRAFT) { version } }";
        let (_, _, t) = app.graphql(editor, read, json!({"id": third})).await;
        assert_eq!(t["data"]["article"]["version"], 2, "{t}");

        // A token that may not write: every item is refused, nothing changes.
        let (_, _, p) = app
            .graphql(
                public,
                update,
                json!({"items": [{"id": first, "data": {"title": "x"}}]}),
            )
            .await;
        assert_eq!(
            p["data"]["updateArticles"][0]["error"]["code"], "FORBIDDEN",
            "{p}"
        );

        // Deletes: one result per id.
        let delete = "mutation($ids: [ID!]!) { deleteArticles(ids: $ids) { id error { code } } }";
        let (_, _, d) = app
            .graphql(editor, delete, json!({"ids": [first, missing]}))
            .await;
        assert_eq!(
            d["data"]["deleteArticles"],
            json!([{"id": first, "error": null}, {"id": missing, "error": {"code": "NOT_FOUND"}}]),
            "{d}"
        );
        assert_eq!(
            total(app.graphql(editor, count, json!({})).await.2),
            before + 1
        );

        // More items than `limits.write_batch_max` are refused as a whole, by name.
        let many: Vec<Value> = (0..101)
            .map(|i| json!({"title": format!("خبر {i}")}))
            .collect();
        let (_, _, e) = app.graphql(editor, create, json!({"items": many})).await;
        assert_eq!(code(&e), "BAD_USER_INPUT", "{e}");
        assert_eq!(
            e["errors"][0]["extensions"]["fields"][0]["rule"], "maxItems",
            "{e}"
        );
        assert_eq!(
            total(app.graphql(editor, count, json!({})).await.2),
            before + 1
        );
    }
}
