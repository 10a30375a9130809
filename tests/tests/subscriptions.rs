//! `entryChanged` over graphql-transport-ws: events arrive in order, filtered by type, and a
//! subscriber of one tenant never sees another tenant's changes.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use zellige_e2e::TestApp;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(app: &TestApp, token: &str, query: &str) -> Socket {
    let mut req = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    ws.send(Message::text(
        json!({"type": "connection_init"}).to_string(),
    ))
    .await
    .expect("init");
    assert_eq!(next(&mut ws).await["type"], "connection_ack");
    ws.send(Message::text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": query}}).to_string(),
    ))
    .await
    .expect("subscribe");
    // Let the subscription take its starting position.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    ws
}

async fn next(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).expect("json");
        }
    }
}

#[tokio::test]
async fn entry_changes_stream_per_tenant() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let mk_editor = demo.marrakech.editor_token.clone();
        let casa_editor = demo.casablanca.editor_token.clone();
        let q = r#"subscription { entryChanged(types: ["article"]) { seq kind type id status } }"#;
        let mut mk = subscribe(&app, &mk_editor, q).await;
        let mut casa = subscribe(&app, &casa_editor, q).await;
        let mut public = subscribe(&app, &demo.marrakech.public_token, q).await;

        let create = "mutation($t: String) { createArticle(data: {title: $t}) { id } }";
        let (_, _, c) = app
            .graphql(Some(&mk_editor), create, json!({"t": "خبر من مراكش"}))
            .await;
        let id = c["data"]["createArticle"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        app.graphql(Some(&mk_editor), "mutation { createEvent(data: {title: \"حدث\", startsAt: \"2017-12-01T10:00:00Z\"}) { id } }", json!({})).await;
        app.graphql(
            Some(&mk_editor),
            "mutation($id: ID!) { publishArticle(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
        let (_, _, own) = app
            .graphql(
                Some(&casa_editor),
                create,
                json!({"t": "خبر من الدار البيضاء"}),
            )
            .await;

        let first = next(&mut mk).await;
        assert_eq!(first["type"], "next", "{first}");
        assert_eq!(
            first["payload"]["data"]["entryChanged"]["kind"],
            "entry.created"
        );
        assert_eq!(first["payload"]["data"]["entryChanged"]["id"], id.as_str());
        let second = next(&mut mk).await;
        assert_eq!(
            second["payload"]["data"]["entryChanged"]["kind"], "entry.published",
            "events of other types are filtered out"
        );
        assert!(
            second["payload"]["data"]["entryChanged"]["seq"].as_i64()
                > first["payload"]["data"]["entryChanged"]["seq"].as_i64()
        );

        // Casablanca's subscriber sees only Casablanca's article.
        let theirs = next(&mut casa).await;
        assert_eq!(
            theirs["payload"]["data"]["entryChanged"]["id"],
            own["data"]["createArticle"]["id"]
        );

        // A public reader hears of publication, not of drafts.
        let p = next(&mut public).await;
        assert_eq!(
            p["payload"]["data"]["entryChanged"]["kind"], "entry.published",
            "{p}"
        );
    }
}

/// Sends a subscribe on an open connection.
async fn also(ws: &mut Socket, id: &str, query: &str) {
    ws.send(Message::text(
        json!({"id": id, "type": "subscribe", "payload": {"query": query}}).to_string(),
    ))
    .await
    .expect("subscribe");
    // Operations on one connection run concurrently: let this one take its place first.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}

const Q: &str = "subscription { entryChanged { seq kind id } }";

#[tokio::test]
async fn a_revoked_credential_ends_its_subscriptions_within_seconds() {
    let apps = TestApp::both_with(|c| c.limits.subscription_recheck_ms = 300)
        .await
        .expect("spawn");
    for app in apps {
        app.demo().await.expect("demo");
        let admin = app.admin_token("marrakech-safi").await.expect("admin");
        let t = app
            .admin(
                "POST",
                "/tokens",
                Some(&admin),
                Some(json!({"name": "reader", "kind": "preview"})),
            )
            .await;
        let (token_id, secret) = (
            t.body["id"].as_str().expect("id").to_owned(),
            t.body["secret"].as_str().expect("secret").to_owned(),
        );
        let mut ws = subscribe(&app, &secret, Q).await;
        // Still streaming while the token holds.
        let create = "mutation { createArticle(data: {title: \"خبر\"}) { id } }";
        app.graphql(Some(&admin), create, json!({})).await;
        assert_eq!(next(&mut ws).await["type"], "next");

        let r = app
            .admin("DELETE", &format!("/tokens/{token_id}"), Some(&admin), None)
            .await;
        assert!(r.status < 300, "{:?}", r.body);
        let started = std::time::Instant::now();
        let ended = loop {
            let f = next(&mut ws).await;
            if f["type"] == "next" && f["payload"]["errors"].is_array() {
                break f;
            }
        };
        assert_eq!(
            ended["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{ended}"
        );
        assert_eq!(next(&mut ws).await["type"], "complete");
        assert!(started.elapsed() < std::time::Duration::from_secs(3));

        // A user's session: logging out ends its subscriptions the same way.
        let made = app
            .admin(
                "POST",
                "/users",
                Some(&admin),
                Some(json!({"email": "viewer@marrakech.ma", "role": "viewer", "password": "كلمة-سر-طويلة"})),
            )
            .await;
        assert_eq!(made.status, 201, "{:?}", made.body);
        let s = app
            .login("marrakech-safi", "viewer@marrakech.ma", "كلمة-سر-طويلة")
            .await;
        let session = s.body["token"].as_str().expect("session").to_owned();
        let mut ws = subscribe(&app, &session, Q).await;
        let out = app
            .admin("POST", "/auth/logout", Some(&session), None)
            .await;
        assert!(out.status < 300, "{:?}", out.body);
        let ended = next(&mut ws).await;
        assert_eq!(
            ended["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{ended}"
        );
    }
}

#[tokio::test]
async fn subscriptions_are_bounded_and_share_one_outbox_reader() {
    let apps = TestApp::both_with(|c| {
        zellige_e2e::quiet(c);
        c.limits.subscriptions_per_connection = 3;
        c.limits.subscription_recheck_ms = 60_000;
    })
    .await
    .expect("spawn");
    for app in apps {
        let demo = app.demo().await.expect("demo");
        let token = demo.marrakech.editor_token.clone();
        // A fourth subscription on one connection is refused; the first three keep working.
        let mut ws = subscribe(&app, &token, Q).await;
        also(&mut ws, "2", Q).await;
        also(&mut ws, "3", Q).await;
        also(&mut ws, "4", Q).await;
        let refused = next(&mut ws).await;
        assert_eq!(refused["id"], "4", "{refused}");
        assert_eq!(
            refused["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
            "{refused}"
        );

        // Twenty more subscribers of the tenant: the outbox is still read once per tick.
        let mut others = Vec::new();
        for _ in 0..20 {
            others.push(subscribe(&app, &token, Q).await);
        }
        let before = app.queries.load(std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let reads = app.queries.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert!(
            reads <= 6,
            "{reads} statements in a second for 23 subscriptions"
        );

        // And every subscriber gets the change.
        let create = "mutation { createArticle(data: {title: \"خبر للجميع\"}) { id } }";
        app.graphql(Some(&token), create, json!({})).await;
        for ws in others.iter_mut() {
            let f = next(ws).await;
            assert_eq!(
                f["payload"]["data"]["entryChanged"]["kind"], "entry.created",
                "{f}"
            );
        }
    }
}
