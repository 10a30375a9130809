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

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws connection with `token`, acknowledged.
async fn socket(app: &TestApp, token: &str) -> Socket {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .expect("request");
    let headers = req.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    headers.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    let init = json!({"type": "connection_init"}).to_string();
    ws.send(init.into()).await.expect("init");
    assert_eq!(frame(&mut ws).await["type"], "connection_ack");
    ws
}

async fn frame(ws: &mut Socket) -> Value {
    use futures::StreamExt;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("frame");
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            return serde_json::from_str(&t).expect("json");
        }
    }
}

/// Runs one operation over the socket and returns its first result (or error frame).
async fn over_socket(ws: &mut Socket, id: &str, query: &str, variables: &Value) -> Value {
    use futures::SinkExt;
    let msg =
        json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}});
    ws.send(msg.to_string().into()).await.expect("subscribe");
    loop {
        let f = frame(ws).await;
        if f["id"] == id && matches!(f["type"].as_str(), Some("next" | "error")) {
            return f["payload"].clone();
        }
    }
}

#[tokio::test]
async fn every_limit_holds_over_http_and_websocket_alike() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let token = demo.marrakech.public_token.as_str();
        let fragment = "fragment F on __Type { name kind fields { name args { name } type { name ofType { name } } } }";
        let bomb: String = (0..300)
            .map(|i| format!("a{i}: __schema {{ types {{ ...F }} }} "))
            .collect();
        let large = "fragment G on __Type { name kind description fields { name description args { name description defaultValue type { name kind ofType { name kind } } } type { name kind ofType { name kind ofType { name } } } isDeprecated deprecationReason } }";
        let wide: String = (0..25)
            .map(|i| format!("a{i}: __schema {{ types {{ ...G }} }} "))
            .collect();
        let deep = format!(
            "{{ articles {{ nodes {{ {} id {} }} }} }}",
            "relatedEvents { relatedArticles { ".repeat(6),
            "} } ".repeat(6)
        );
        let cases: Vec<(&str, String, Value)> = vec![
            ("introspection alias bomb", format!("{{ {bomb} }} {fragment}"), json!({})),
            ("introspection under the alias limit", format!("{{ {wide} }} {large}"), json!({})),
            ("depth", deep, json!({})),
            (
                "first over the page limit, through a variable",
                "query($n: Int) { articles(first: $n) { nodes { id } } }".into(),
                json!({"n": 1000}),
            ),
            (
                "last over the page limit",
                "{ events(last: 101) { nodes { id } } }".into(),
                json!({}),
            ),
            (
                "nested reference lists at their default size",
                "{ articles(first: 100) { nodes { relatedEvents { relatedArticles { id title body } } } } }".into(),
                json!({}),
            ),
            (
                "a reference list's first over its limit",
                "{ articles(first: 1) { nodes { relatedEvents(first: 500) { id } } } }".into(),
                json!({}),
            ),
        ];
        let mut ws = socket(&app, token).await;
        for (i, (what, query, vars)) in cases.iter().enumerate() {
            let (status, _, body) = app.graphql(Some(token), query, vars.clone()).await;
            assert_eq!(status, 400, "{what} over HTTP: {body}");
            assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{what} over HTTP: {body}");
            assert!(
                body.get("data").is_none(),
                "{what}: nothing executed: {body}"
            );
            let payload = over_socket(&mut ws, &i.to_string(), query, vars).await;
            let first = if payload.is_array() {
                &payload[0]
            } else {
                &payload["errors"][0]
            };
            assert_eq!(
                first["extensions"]["code"], "QUERY_TOO_COMPLEX",
                "{what} over WebSocket: {payload}"
            );
        }
        // What a real client sends passes on both: the standard introspection query and a
        // page of articles with their related events.
        let standard = include_str!("../../core/src/graphql/introspection.graphql");
        let page =
            "{ articles(first: 100) { nodes { id title relatedEvents(first: 5) { id title } } } }";
        for query in [standard, page] {
            let (status, _, body) = app.graphql(Some(token), query, json!({})).await;
            assert_eq!(status, 200, "{body}");
            assert!(body["errors"].is_null(), "{body}");
            let payload = over_socket(&mut ws, "ok", query, &json!({})).await;
            assert!(payload["errors"].is_null(), "{payload}");
            assert!(payload["data"].is_object(), "{payload}");
        }
    }
}

#[tokio::test]
async fn answers_follow_the_selection_order() {
    let apps = TestApp::both_with(|c| c.limits.graphql_cache_bytes = 0)
        .await
        .expect("spawn");
    for app in apps {
        let demo = app.demo().await.expect("demo");
        let token = demo.marrakech.public_token.as_str();
        let q = "{ c1: artisans(first: 50) { totalCount } c2: articles { totalCount nodes { title id slug } } c3: events(last: 3) { totalCount } ...F c5: events { nodes { slug id } totalCount } } fragment F on Query { c4: artisans(first: 1) { nodes { id } totalCount } locales }";
        for _ in 0..8 {
            let (_, _, body) = app.graphql(Some(token), q, json!({})).await;
            let keys: Vec<&String> = body["data"].as_object().expect("data").keys().collect();
            assert_eq!(keys, ["c1", "c2", "c3", "c4", "locales", "c5"], "{body}");
            let node = &body["data"]["c2"]["nodes"][0];
            let keys: Vec<&String> = node.as_object().expect("node").keys().collect();
            assert_eq!(keys, ["title", "id", "slug"], "{body}");
            let keys: Vec<&String> = body["data"]["c5"].as_object().expect("c5").keys().collect();
            assert_eq!(keys, ["nodes", "totalCount"], "{body}");
        }
    }
}

#[tokio::test]
async fn a_tenant_cannot_claim_a_host_that_is_not_its_own() {
    let apps = TestApp::both_with(|c| {
        zellige_e2e::quiet(c);
        c.platform_hosts = vec!["api.zellige.ma".into()];
    })
    .await
    .expect("spawn");
    for app in apps {
        app.demo().await.expect("demo");
        let admin = app.admin_token("marrakech-safi").await.expect("admin");
        for host in [
            "api.zellige.ma",
            "localhost",
            "127.0.0.1",
            "10.0.0.7",
            "intranet",
        ] {
            let a = app
                .admin(
                    "PATCH",
                    "/settings",
                    Some(&admin),
                    Some(json!({"domains": ["marrakech.example.ma", host]})),
                )
                .await;
            assert_eq!(a.status, 400, "{host}: {:?}", a.body);
            assert_eq!(
                a.body["fields"][0]["path"], "domains[1]",
                "{host}: {:?}",
                a.body
            );
            assert_eq!(
                a.body["fields"][0]["rule"], "reserved",
                "{host}: {:?}",
                a.body
            );
        }
        // Nothing changed: the platform host still names no tenant, the demo domain still works.
        let (status, _, body) = app
            .graphql_with(
                None,
                &[("host", "api.zellige.ma")],
                "{ locales }",
                json!({}),
            )
            .await;
        assert_eq!((status, code(&body)), (400, "UNKNOWN_TENANT"), "{body}");
        let a = app
            .admin(
                "PATCH",
                "/settings",
                Some(&admin),
                Some(json!({"domains": ["marrakech.example.ma"]})),
            )
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);

        // Unknown hosts cost at most a read of the tenant list per cache lifetime, not one
        // statement per request.
        let before = app.queries.load(std::sync::atomic::Ordering::SeqCst);
        let started = std::time::Instant::now();
        for i in 0..50 {
            let host = format!("nobody-{i}.example.org");
            let (_, _, body) = app
                .graphql_with(None, &[("host", host.as_str())], "{ locales }", json!({}))
                .await;
            assert_eq!(code(&body), "UNKNOWN_TENANT", "{body}");
        }
        let statements = app.queries.load(std::sync::atomic::Ordering::SeqCst) - before;
        // One read of the tenant list per 500 ms the loop took (a loaded machine is slower).
        let lifetimes = started.elapsed().as_millis() / 500 + 1;
        assert!(
            statements as u128 <= lifetimes + 1,
            "{statements} statements for 50 unknown hosts in {lifetimes} cache lifetimes"
        );
    }
}

#[tokio::test]
async fn an_oversized_body_is_answered_with_a_graphql_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|c| c.limits.request_body_bytes = 64 * 1024)
        .await
        .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let token = demo.marrakech.public_token.as_str();
    let padding = " ".repeat(100 * 1024);
    let query = format!("{{ locales {padding}}}");
    // With a Content-Length.
    let (status, _, body) = app.graphql(Some(token), &query, json!({})).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["fields"][0]["path"], "body",
        "{body}"
    );
    // Chunked, without one: cut while reading, the same answer.
    let json = json!({ "query": query }).to_string();
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    for chunk in json.as_bytes().chunks(8 * 1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"BAD_USER_INPUT\""), "{answer}");
}

#[tokio::test]
async fn scalars_and_enums_are_checked_before_anything_runs() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let editor = demo.marrakech.editor_token.as_str();
        let before = app
            .graphql(
                Some(editor),
                "{ events(status: DRAFT) { totalCount } }",
                json!({}),
            )
            .await
            .2["data"]["events"]["totalCount"]
            .clone();
        for (what, query, vars) in [
            (
                "DateTime literal",
                "mutation { createEvent(data: {title: \"معرض\", startsAt: \"tomorrow at ten\"}) { id } }",
                json!({}),
            ),
            (
                "DateTime variable",
                "mutation($t: DateTime) { createEvent(data: {title: \"معرض\", startsAt: $t}) { id } }",
                json!({"t": "2017-13-45T10:00:00Z"}),
            ),
            (
                "DateTime in a filter",
                "{ events(where: {startsAt: {gte: \"yesterday\"}}) { totalCount } }",
                json!({}),
            ),
            (
                "enum value outside the list",
                "mutation { createEvent(data: {title: \"معرض\", category: carnival}) { id } }",
                json!({}),
            ),
            (
                "enum variable outside the list",
                "mutation($c: EventCategoryEnum) { createEvent(data: {title: \"معرض\", category: $c}) { id } }",
                json!({"c": "carnival"}),
            ),
            (
                "JSON holding an enum literal",
                "mutation { createArtisan(data: {name: \"حرفي\", socialLinks: {site: FACEBOOK}}) { id } }",
                json!({}),
            ),
        ] {
            let (status, _, body) = app.graphql(Some(editor), query, vars).await;
            assert_eq!(status, 400, "{what}: {body}");
            assert_eq!(code(&body), "BAD_USER_INPUT", "{what}: {body}");
            assert!(body.get("data").is_none(), "{what}: nothing ran: {body}");
        }
        let after = app
            .graphql(
                Some(editor),
                "{ events(status: DRAFT) { totalCount } }",
                json!({}),
            )
            .await
            .2["data"]["events"]["totalCount"]
            .clone();
        assert_eq!(before, after, "no event was created");

        // The valid forms work: an enum literal, an enum variable from a JSON string, a
        // filter by enum, and the enum read back.
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "mutation($c: EventCategoryEnum) { a: createEvent(data: {title: \"معرض الزربية\", startsAt: \"2017-12-01T10:00:00+01:00\", category: fair}) { category startsAt } b: createEvent(data: {title: \"تكوين\", startsAt: \"2017-12-02T10:00:00Z\", category: $c}) { category } }",
                json!({"c": "training"}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(body["data"]["a"]["category"], "fair", "{body}");
        assert_eq!(
            body["data"]["a"]["startsAt"], "2017-12-01T09:00:00Z",
            "{body}"
        );
        assert_eq!(body["data"]["b"]["category"], "training", "{body}");
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "{ events(status: DRAFT, where: {category: {in: [fair, training]}}) { nodes { category } } __type(name: \"EventCategoryEnum\") { kind enumValues { name } } }",
                json!({}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(body["data"]["__type"]["kind"], "ENUM", "{body}");
        let nodes = body["data"]["events"]["nodes"].as_array().expect("nodes");
        assert!(
            nodes.len() >= 2
                && nodes
                    .iter()
                    .all(|n| n["category"] == "fair" || n["category"] == "training"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn grouped_counts_equal_the_per_value_counts() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let token = demo.marrakech.public_token.as_str();
        let (_, _, body) = app
            .graphql(
                Some(token),
                "{ artisansAggregate(groupBy: [city]) { count groups { key keys count } } artisans { totalCount } }",
                json!({}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let agg = &body["data"]["artisansAggregate"];
        assert_eq!(
            agg["count"], body["data"]["artisans"]["totalCount"],
            "{body}"
        );
        let groups = agg["groups"].as_array().expect("groups");
        assert!(groups.len() >= 2, "{body}");
        let sum: i64 = groups.iter().filter_map(|g| g["count"].as_i64()).sum();
        assert_eq!(
            Some(sum),
            agg["count"].as_i64(),
            "every artisan has one city: {body}"
        );
        let counts: Vec<i64> = groups.iter().filter_map(|g| g["count"].as_i64()).collect();
        assert!(
            counts.windows(2).all(|w| w[0] >= w[1]),
            "largest first: {body}"
        );
        let per_value = "query($w: ArtisanWhere) { artisans(where: $w) { totalCount } }";
        for g in groups {
            let city = g["key"].as_str().expect("city");
            assert_eq!(g["keys"], json!([city]));
            let (_, _, one) = app
                .graphql(Some(token), per_value, json!({"w": {"city": {"eq": city}}}))
                .await;
            assert_eq!(
                one["data"]["artisans"]["totalCount"], g["count"],
                "{city}: {one}"
            );
        }

        // With a filter and two keys: the same filter as the list, the pairs add up.
        let craft = {
            let (_, _, b) = app
                .graphql(
                    Some(token),
                    "{ artisans(first: 1) { nodes { craft } } }",
                    json!({}),
                )
                .await;
            b["data"]["artisans"]["nodes"][0]["craft"]
                .as_str()
                .expect("craft")
                .to_owned()
        };
        let (_, _, body) = app
            .graphql(
                Some(token),
                "query($w: ArtisanWhere) { artisansAggregate(where: $w, groupBy: [city, craft]) { count groups { keys count } } artisans(where: $w) { totalCount } }",
                json!({"w": {"craft": {"eq": craft}}}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let agg = &body["data"]["artisansAggregate"];
        assert_eq!(
            agg["count"], body["data"]["artisans"]["totalCount"],
            "{body}"
        );
        for g in agg["groups"].as_array().expect("groups") {
            assert_eq!(g["keys"][1], craft.as_str(), "{body}");
            let w = json!({"city": {"eq": g["keys"][0]}, "craft": {"eq": craft}});
            let (_, _, one) = app.graphql(Some(token), per_value, json!({"w": w})).await;
            assert_eq!(one["data"]["artisans"]["totalCount"], g["count"], "{one}");
        }

        // An enum field, and the permissions of the list: drafts need read-drafts.
        let (_, _, body) = app
            .graphql(
                Some(token),
                "{ eventsAggregate(groupBy: [category]) { count groups { key count } } }",
                json!({}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let (_, _, body) = app
            .graphql(
                Some(token),
                "{ eventsAggregate(status: DRAFT) { count } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        // A field that cannot be grouped by is not in the enum.
        let (status, _, body) = app
            .graphql(
                Some(token),
                "{ artisansAggregate(groupBy: [bio]) { count } }",
                json!({}),
            )
            .await;
        assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
    }
}

#[tokio::test]
async fn ordering_by_id_sorts_by_id_in_both_directions() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let token = demo.marrakech.public_token.as_str();
        let q = "query($d: SortDirection, $after: String) { artisans(first: 4, after: $after, orderBy: [{field: id, direction: $d}]) { nodes { id } pageInfo { endCursor hasNextPage } } }";
        for direction in ["ASC", "DESC"] {
            let mut ids = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let (_, _, body) = app
                    .graphql(Some(token), q, json!({"d": direction, "after": after}))
                    .await;
                assert!(body["errors"].is_null(), "{body}");
                let (page, next, _, _, end) = page(&body, "artisans");
                ids.extend(page);
                if !next {
                    break;
                }
                after = end;
            }
            let mut sorted = ids.clone();
            sorted.sort();
            if direction == "DESC" {
                sorted.reverse();
            }
            assert!(ids.len() >= 6, "{ids:?}");
            assert_eq!(ids, sorted, "orderBy id {direction}");
        }
    }
}
