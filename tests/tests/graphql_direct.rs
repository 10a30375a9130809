//! Plain pages are answered without the executor's per-field resolution (`graphql::direct`).
//! The same queries go to two nodes on one database, one with it and one without
//! (`limits.graphql_direct_pages = false`), and every answer must be the same, byte for byte:
//! status, data, errors. Then the metrics say which answers were built directly, so that the
//! comparison is known to cover both paths. On SQLite and on PostgreSQL.

use serde_json::{Value, json};
use zellige_e2e::TestApp;

/// `graphql_answers{by="…"}` of a node.
async fn answers(app: &TestApp, by: &str) -> u64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let prefix = format!("zellige_graphql_answers_total{{by=\"{by}\"}}");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Raw answer: status and body bytes.
async fn raw(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> (u16, String) {
    let mut req = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("send");
    (r.status().as_u16(), r.text().await.expect("body"))
}

#[tokio::test]
async fn plain_pages_answer_as_the_executor_does() {
    let uncached = |c: &mut zellige::config::Config| {
        c.limits.graphql_cache_bytes = 0;
        c.limits.graphql_direct_pages = false;
    };
    for executor in TestApp::both_with(uncached).await.expect("spawn") {
        let direct = executor
            .another_node_with(|c| c.limits.graphql_direct_pages = true)
            .await
            .expect("second node");
        let demo = executor.demo().await.expect("demo");
        let public = demo.marrakech.public_token.clone();
        let editor = demo.marrakech.editor_token.clone();
        let other = demo.casablanca.public_token.clone();

        // Entries with values of every shape: Arabic with diacritics, alef forms and ta
        // marbuta, a French translation, empty and missing fields, lists, a draft.
        let create = "mutation($d: ArticleCreateInput!, $p: Boolean) { createArticle(data: $d, publish: $p) { id } }";
        for (data, publish) in [
            (
                json!({"title": "مَعْرِضُ الصِّنَاعَةِ التَّقْلِيدِيَّةِ بِآسَفِي", "excerpt": "إعلان", "city": "آسفي", "tags": ["زليج", "فخار"], "category": "news"}),
                true,
            ),
            (
                json!({"title": "الحرفة والمهارة", "tags": [], "city": "مراكش"}),
                true,
            ),
            (json!({"title": "مسودة لم تنشر بعد"}), false),
        ] {
            let (status, body) = raw(
                &executor,
                Some(&editor),
                create,
                json!({"d": data, "p": publish}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            assert!(!body.contains("\"errors\""), "{body}");
        }
        let (_, listed) = raw(
            &executor,
            Some(&editor),
            "{ articles(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await;
        let id: Value = serde_json::from_str(&listed).expect("json");
        let id = id["data"]["articles"]["nodes"][0]["id"]
            .as_str()
            .expect("an article")
            .to_owned();
        let (status, body) = raw(
            &executor,
            Some(&editor),
            "mutation($id: ID!) { updateArticle(id: $id, locale: \"fr\", data: {title: \"Salon de l'artisanat\"}) { id } }",
            json!({"id": id}),
        )
        .await;
        assert_eq!(status, 200, "{body}");

        // Answered directly.
        let plain = [
            "{ articles(orderBy: [{field: publishedAt, direction: DESC}], first: 20) { nodes { id slug title excerpt publishedAt city } } }",
            r#"{ events(where: {startsAt: {gte: "2015-03-01T00:00:00Z", lt: "2030-04-01T00:00:00Z"}}, orderBy: [{field: startsAt}], first: 20) { nodes { id title startsAt city } } }"#,
            "{ artisans(orderBy: [{field: name}], first: 5) { nodes { id name craft city } } }",
            "{ a: articles(first: 3) { n: nodes { t: title i: id v: version s: status } } b: events(last: 2) { nodes { title } } }",
            r#"{ articles(locale: "fr", first: 50) { nodes { id title locale availableLocales tags category createdAt updatedAt } } }"#,
            r#"{ articles(where: {city: {eq: "آسفي"}}) { nodes { title city tags } } }"#,
            r#"{ articles(where: {title: {contains: "الصناعة"}}) { nodes { id title } } }"#,
            "{ articles(first: 0) { nodes { id } } }",
            "{ articles(first: 200) { nodes { id } } }",
            r#"{ articles(after: "not a cursor") { nodes { id } } }"#,
            "{ articles(status: DRAFT) { nodes { id title status createdBy updatedBy } } }",
            "{ articles { nodes { id createdBy updatedBy } } }",
            "query Named { articles(first: 2) { nodes { id } } }",
            // With variables, as clients send them.
            "query($n: Int, $o: [ArticleOrderBy!]) { articles(first: $n, orderBy: $o) { nodes { id title } } }",
            "query($c: String, $l: String = \"fr\") { articles(where: {city: {eq: $c}}, locale: $l) { nodes { title locale city } } }",
            "query($s: Status!, $t: [String!]) { articles(status: $s, where: {tags: {in: $t}}) { nodes { id tags status } } }",
            "query($n: Int!) { events(first: $n) { nodes { title startsAt } } }",
        ];
        // To the executor (not plain, or not valid).
        let other_shapes = [
            "{ articles { nodes { id } pageInfo { hasNextPage endCursor } } }",
            "{ articles { edges { cursor node { id } } } }",
            "{ articles { nodes { __typename id } } }",
            "{ articles { nodes { ...F } } } fragment F on Article { id title }",
            "{ articles { nodes { id title @skip(if: true) } } }",
            "{ articles { nodes { relatedEvents { title } } } }",
            "{ articles { nodes { nope } } }",
            r#"{ articles(first: "ten") { nodes { id } } }"#,
            "{ articles(orderBy: {field: title}) { nodes { id title } } }",
            r#"{ articles(where: {nope: {eq: "x"}}) { nodes { id } } }"#,
            "{ articles { nodes { id id: title } } }",
            "{ article(slug: \"x\") { id } }",
            "query($n: Int) { articles { nodes { id } } }",
            "query($n: Float) { articles(first: $n) { nodes { id } } }",
            "query($n: Int) { articles(first: $n) { nodes { id } pageInfo { endCursor } } }",
        ];
        let tokens = [
            Some(public.as_str()),
            Some(editor.as_str()),
            Some(other.as_str()),
            None,
        ];
        let direct_before = answers(&direct, "direct").await;
        let mut compared = 0;
        for query in plain.iter().chain(other_shapes.iter()) {
            for token in tokens {
                // Each variable given a value, a wrong one, or none.
                let vars = match (query.contains("$n"), token == Some(public.as_str())) {
                    (false, _) if query.contains("$c") => {
                        json!({"c": "آسفي", "l": if token.is_some() { json!("ar") } else { json!(null) }})
                    }
                    (false, _) if query.contains("$s") => {
                        json!({"s": if token == Some(editor.as_str()) { "DRAFT" } else { "PUBLISHED" }, "t": ["زليج"]})
                    }
                    (false, _) => json!({}),
                    (true, true) => json!({"n": 2, "o": [{"field": "title", "direction": "DESC"}]}),
                    (true, false) if token.is_none() => json!({"n": "two"}),
                    (true, false) => json!({"n": 1.5, "o": {"field": "city"}}),
                };
                let a = raw(&executor, token, query, vars.clone()).await;
                let b = raw(&direct, token, query, vars).await;
                assert_eq!(a, b, "{query} with {token:?}");
                compared += 1;
            }
        }
        assert_eq!(compared, (plain.len() + other_shapes.len()) * tokens.len());
        // The executor's node never answers directly; the other did for the plain pages that
        // succeeded, and only for them.
        assert_eq!(answers(&executor, "direct").await, 0);
        let directly = answers(&direct, "direct").await - direct_before;
        // 36 when written: the plain pages that succeed, with and without variables.
        assert!(
            directly >= 30,
            "only {directly} answers were built directly"
        );
        assert!(
            directly <= (plain.len() * tokens.len()) as u64,
            "{directly} answers built directly"
        );
        assert!(answers(&direct, "executor").await > 0);
    }
}
