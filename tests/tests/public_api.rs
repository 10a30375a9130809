//! The public GraphQL API under the inputs a careless or hostile client sends: Relay paging in
//! both directions, writes in a locale the tenant does not have, limits refused before anything
//! runs. Each test runs on SQLite and on PostgreSQL.

use serde_json::{Value, json};
use zellige_e2e::{TestApp, code};

/// The ids of a page and its page info.
fn page(body: &Value, list: &str) -> (Vec<String>, bool, bool, Option<String>, Option<String>) {
    let c = &body["data"][list];
    let ids = c["nodes"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let info = &c["pageInfo"];
    (
        ids,
        info["hasNextPage"].as_bool().unwrap_or(false),
        info["hasPreviousPage"].as_bool().unwrap_or(false),
        info["startCursor"].as_str().map(str::to_owned),
        info["endCursor"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn relay_paging_walks_forward_and_back_over_the_same_entries() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let token = demo.marrakech.public_token.as_str();
        for list in ["articles", "events", "artisans"] {
            let q = format!(
                "query($first: Int, $after: String, $last: Int, $before: String) {{ {list}(first: $first, after: $after, last: $last, before: $before) {{ nodes {{ id }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
            );
            let run = |vars: Value| {
                let (app, q) = (&app, q.clone());
                async move {
                    let (status, _, body) = app.graphql(Some(token), &q, vars).await;
                    assert_eq!(status, 200, "{body}");
                    assert!(body["errors"].is_null(), "{list}: {body}");
                    page(&body, list)
                }
            };
            let (all, ..) = run(json!({"first": 100})).await;
            assert!(all.len() >= 6, "{list}: {} entries", all.len());

            // Forward by 3 over everything.
            let mut forward = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let (ids, next, previous, _, end) = run(json!({"first": 3, "after": after})).await;
                assert_eq!(previous, after.is_some(), "{list}");
                forward.extend(ids);
                if !next {
                    break;
                }
                after = end;
            }
            assert_eq!(forward, all, "{list}: forward pages");

            // Backward by 3 from the end: the same entries, the same order within pages.
            let mut backward: Vec<Vec<String>> = Vec::new();
            let mut before: Option<String> = None;
            loop {
                let (ids, next, previous, start, _) =
                    run(json!({"last": 3, "before": before})).await;
                assert_eq!(next, before.is_some(), "{list}");
                assert!(ids.len() <= 3);
                backward.push(ids);
                if !previous {
                    break;
                }
                before = start;
            }
            let joined: Vec<String> = backward.into_iter().rev().flatten().collect();
            assert_eq!(joined, all, "{list}: backward pages");

            // `last` alone is the end of the list.
            let (ids, next, previous, ..) = run(json!({"last": 2})).await;
            assert_eq!(ids, all[all.len() - 2..].to_vec(), "{list}: last 2");
            assert!(!next && previous);

            // Both cursors bound a range; `first` takes its start, `last` its end.
            let (_, _, _, _, c1) = run(json!({"first": 1})).await;
            let (_, _, _, _, c5) = run(json!({"first": 5})).await;
            let (ids, next, previous, ..) =
                run(json!({"first": 2, "after": c1, "before": c5})).await;
            assert_eq!(ids, all[1..3].to_vec(), "{list}: first within a range");
            assert!(next && previous);
            let (ids, ..) = run(json!({"last": 2, "after": c1, "before": c5})).await;
            assert_eq!(ids, all[2..4].to_vec(), "{list}: last within a range");
            // `before` with `first`: the first entries before the cursor (Relay's algorithm).
            let (ids, ..) = run(json!({"first": 2, "before": c5})).await;
            assert_eq!(ids, all[0..2].to_vec(), "{list}: first before a cursor");
            // `after` with `last`: the last entries after the cursor.
            let (ids, ..) = run(json!({"last": 2, "after": c1})).await;
            assert_eq!(
                ids,
                all[all.len() - 2..].to_vec(),
                "{list}: last after a cursor"
            );

            // `first` and `last` together are refused, naming `last`.
            let (_, _, body) = app
                .graphql(Some(token), &q, json!({"first": 2, "last": 2}))
                .await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        }
    }
}

#[tokio::test]
async fn a_write_in_an_unknown_locale_is_refused_and_changes_nothing() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let editor = demo.marrakech.editor_token.as_str();
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "{ articles(first: 1, status: DRAFT) { totalCount nodes { id title } } }",
                json!({}),
            )
            .await;
        let id = body["data"]["articles"]["nodes"][0]["id"]
            .as_str()
            .expect("an article")
            .to_owned();
        let arabic = body["data"]["articles"]["nodes"][0]["title"].clone();
        let count = body["data"]["articles"]["totalCount"].clone();
        assert!(
            arabic
                .as_str()
                .is_some_and(|t| t.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))),
            "{arabic}"
        );

        for (mutation, vars) in [
            (
                "mutation($id: ID!) { updateArticle(id: $id, locale: \"en\", data: {title: \"English title\"}) { id } }",
                json!({"id": id}),
            ),
            (
                "mutation { createArticle(locale: \"en\", data: {title: \"English title\"}) { id } }",
                json!({}),
            ),
        ] {
            let (_, _, body) = app.graphql(Some(editor), mutation, vars).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
            let fields = &body["errors"][0]["extensions"]["fields"];
            assert_eq!(fields[0]["path"], "locale", "{body}");
        }

        // The Arabic title is intact, and no English article was created.
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "query($id: ID!) { article(id: $id, status: DRAFT) { title } articles(status: DRAFT) { totalCount } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(body["data"]["article"]["title"], arabic, "{body}");
        assert_eq!(body["data"]["articles"]["totalCount"], count, "{body}");

        // Reads in an unknown locale fall back to the default one, as documented.
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "query($id: ID!) { article(id: $id, status: DRAFT, locale: \"en\") { title } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(body["data"]["article"]["title"], arabic, "{body}");
    }
}
