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
