//! Webhooks end to end with real HTTP receivers on loopback (allowed through
//! `webhooks.allow_private`, except where the refusal is under test), on SQLite and
//! PostgreSQL: every event delivered once, in order, signed so that the official Standard
//! Webhooks verifier accepts it; retries; the delivery log and redelivery; internal addresses
//! refused; a slow receiver that holds up no other tenant; two nodes delivering each event once.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zellige::Config;
use zellige_e2e::{Receiver, TestApp, standard_webhooks_verifier, verify_standard_webhooks};

fn loopback_allowed(c: &mut Config) {
    c.webhooks.allow_private = vec!["127.0.0.0/8".into()];
    c.webhooks.retry_base_ms = 50;
    c.webhooks.interval_ms = 20;
}

async fn create_hook(app: &TestApp, admin: &str, url: &str, events: Value) -> Value {
    let a = app
        .admin(
            "POST",
            "/webhooks",
            Some(admin),
            Some(json!({"url": url, "description": "site rebuild", "events": events})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body
}

/// `GET /webhooks/{id}/deliveries`.
async fn delivery_log(app: &TestApp, admin: &str, id: &str) -> zellige_e2e::Answer {
    app.admin(
        "GET",
        &format!("/webhooks/{id}/deliveries"),
        Some(admin),
        None,
    )
    .await
}

async fn gql(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    let (_, _, body) = app.graphql(Some(token), query, vars).await;
    assert!(body["errors"].is_null(), "{body}");
    body
}

#[tokio::test]
async fn every_event_is_delivered_once_in_order_and_verifies() {
    let verifier = standard_webhooks_verifier();
    for app in TestApp::both_with(loopback_allowed).await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let admin = app.admin_token("marrakech-safi").await.expect("admin");
        let editor = demo.marrakech.editor_token.as_str();
        let receiver = Receiver::start(0, 0).await.expect("receiver");
        let hook = create_hook(&app, &admin, &receiver.url(), json!(["article.*"])).await;
        let secret = hook["secret"]
            .as_str()
            .expect("secret shown once")
            .to_owned();
        // The secret is never shown again.
        let id = hook["id"].as_str().expect("id").to_owned();
        let a = app
            .admin("GET", &format!("/webhooks/{id}"), Some(&admin), None)
            .await;
        assert!(a.body.get("secret").is_none(), "{}", a.body);
        let body = gql(
            &app,
            editor,
            "mutation { createArticle(data: {title: \"معرض الفضة بتزنيت\"}) { id } }",
            json!({}),
        )
        .await;
        let entry = body["data"]["createArticle"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        for (i, m) in [
            "mutation($id: ID!) { updateArticle(id: $id, data: {title: \"معرض الفضة\"}) { id } }",
            "mutation($id: ID!) { publishArticle(id: $id) { id } }",
            "mutation($id: ID!) { updateArticle(id: $id, data: {title: \"مسودة لاحقة\"}) { id } }",
            "mutation($id: ID!) { unpublishArticle(id: $id) { id } }",
            "mutation($id: ID!) { deleteArticle(id: $id) }",
        ]
        .into_iter()
        .enumerate()
        {
            gql(&app, editor, m, json!({"id": entry})).await;
            if i == 1 {
                // Deleting an entry deletes its history: let the publish go out first, so its
                // delivery carries the document.
                receiver.wait_for(3, 10).await;
            }
        }
        // An event the endpoint did not ask for.
        gql(&app, editor, "mutation { createEvent(data: {title: \"لقاء\", startsAt: \"2027-01-01T10:00:00Z\"}) { id } }", json!({})).await;
        let got = receiver.wait_for(6, 20).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got_all = receiver.received();
        if got_all.len() != 6 {
            let log = delivery_log(&app, &admin, &id).await;
            panic!(
                "six deliveries, once each, on {:?}: got {}; log {}",
                app.state.db.get_database_backend(),
                got.len(),
                log.body
            );
        }
        let bodies: Vec<Value> = got_all
            .iter()
            .map(|r| serde_json::from_str(&r.body).expect("JSON body"))
            .collect();
        let kinds: Vec<&str> = bodies.iter().filter_map(|b| b["type"].as_str()).collect();
        assert_eq!(
            kinds,
            [
                "entry.created",
                "entry.updated",
                "entry.published",
                "entry.updated",
                "entry.unpublished",
                "entry.deleted"
            ]
        );
        assert!(
            bodies.iter().all(|b| b["data"]["entryId"] == entry.as_str()
                && b["data"]["tenant"] == "marrakech-safi")
        );
        assert_eq!(bodies[2]["data"]["event"], "article.published");
        assert_eq!(
            bodies[2]["data"]["document"]["data"]["title"]["ar"], "معرض الفضة",
            "the published document: {}",
            bodies[2]
        );
        let ids: BTreeSet<&str> = got_all
            .iter()
            .filter_map(|r| r.headers.get("webhook-id").map(String::as_str))
            .collect();
        assert_eq!(ids.len(), 6, "one webhook-id per message");
        if let Some(python) = &verifier {
            let verdicts = verify_standard_webhooks(python, &secret, &got_all).await;
            assert_eq!(
                verdicts,
                vec!["ok"; 6],
                "the official verifier accepts every delivery"
            );
        }
        // The delivery log.
        let a = delivery_log(&app, &admin, &id).await;
        let log = a.body.as_array().expect("log");
        assert_eq!(log.len(), 6);
        assert!(
            log.iter().all(|d| d["status"] == "delivered"
                && d["lastStatus"] == 200
                && d["lastResponse"] == "thanks"),
            "{}",
            a.body
        );
        // Manual redelivery sends the same message again.
        let first = log.last().expect("first delivery")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let a = app
            .admin(
                "POST",
                &format!("/webhooks/{id}/deliveries/{first}/redeliver"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(a.status, 202, "{}", a.body);
        let got = receiver.wait_for(7, 10).await;
        assert_eq!(got.len(), 7);
        assert_eq!(got[6].headers.get("webhook-id"), Some(&first));
        // A rotated secret: both sign during the overlap, and each verifies.
        let a = app
            .admin(
                "POST",
                &format!("/webhooks/{id}/rotate-secret"),
                Some(&admin),
                None,
            )
            .await;
        let new_secret = a.body["secret"].as_str().expect("new secret").to_owned();
        assert_ne!(new_secret, secret);
        gql(
            &app,
            editor,
            "mutation { createArticle(data: {title: \"ورشة\"}) { id } }",
            json!({}),
        )
        .await;
        let got = receiver.wait_for(8, 10).await;
        let last = got.last().expect("delivery").clone();
        assert_eq!(
            last.headers
                .get("webhook-signature")
                .map(|s| s.split(' ').count()),
            Some(2)
        );
        for s in [&secret, &new_secret] {
            if let Some(python) = &verifier {
                let v = verify_standard_webhooks(python, s, std::slice::from_ref(&last)).await;
                assert_eq!(v, ["ok"]);
            }
        }
    }
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_third_attempt() {
    let app = TestApp::spawn_with(loopback_allowed).await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let admin = app.admin_token("marrakech-safi").await.expect("admin");
    let receiver = Receiver::start(2, 0).await.expect("receiver");
    let hook = create_hook(&app, &admin, &receiver.url(), json!(["*.created"])).await;
    let id = hook["id"].as_str().expect("id");
    gql(
        &app,
        &demo.marrakech.editor_token,
        "mutation { createArticle(data: {title: \"ورشة\"}) { id } }",
        json!({}),
    )
    .await;
    let got = receiver.wait_for(3, 20).await;
    assert_eq!(got.len(), 3, "two failures, then the third attempt");
    let ids: BTreeSet<&String> = got
        .iter()
        .filter_map(|r| r.headers.get("webhook-id"))
        .collect();
    assert_eq!(ids.len(), 1, "the same message each time");
    // The retries waited (backoff), and the log says how it went.
    assert!(got[2].at - got[0].at >= Duration::from_millis(50 * 6 / 10));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a = delivery_log(&app, &admin, id).await;
    assert_eq!(a.body[0]["status"], "delivered", "{}", a.body);
    assert_eq!(a.body[0]["attempts"], 3, "{}", a.body);
}

#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused() {
    let app = TestApp::spawn_with(|c| {
        c.webhooks.interval_ms = 20;
        c.webhooks.retry_base_ms = 50;
    })
    .await
    .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let admin = app.admin_token("marrakech-safi").await.expect("admin");
    let receiver = Receiver::start(0, 0).await.expect("receiver");
    // Written as an address: refused when saved.
    for url in [
        receiver.url(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::1]:8080/".to_owned(),
        "http://10.0.0.7/hook".to_owned(),
    ] {
        let a = app
            .admin("POST", "/webhooks", Some(&admin), Some(json!({"url": url})))
            .await;
        assert_eq!(a.status, 400, "{url}: {}", a.body);
        assert_eq!(a.body["fields"][0]["path"], "url", "{}", a.body);
    }
    let a = app
        .admin(
            "POST",
            "/webhooks",
            Some(&admin),
            Some(json!({"url": "ftp://example.com/x"})),
        )
        .await;
    assert_eq!(a.status, 400);
    // A name that resolves to loopback: refused when delivering (the address is checked then).
    let by_name = format!("http://localhost:{}/hook", receiver.addr.port());
    let hook = create_hook(&app, &admin, &by_name, json!(["*"])).await;
    let id = hook["id"].as_str().expect("id");
    gql(
        &app,
        &demo.marrakech.editor_token,
        "mutation { createArticle(data: {title: \"ورشة\"}) { id } }",
        json!({}),
    )
    .await;
    let started = Instant::now();
    let log = loop {
        let a = delivery_log(&app, &admin, id).await;
        if a.body[0]["attempts"].as_i64().unwrap_or(0) >= 1 {
            break a.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no attempt: {}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        log[0]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("internal address")),
        "{log}"
    );
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
}

#[tokio::test]
async fn a_slow_receiver_does_not_delay_another_tenants_deliveries() {
    let app = TestApp::spawn_with(|c| {
        loopback_allowed(c);
        c.webhooks.timeout_ms = 10_000;
    })
    .await
    .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let slow = Receiver::start(0, 1_500).await.expect("slow");
    let fast = Receiver::start(0, 0).await.expect("fast");
    let a_admin = app.admin_token("marrakech-safi").await.expect("admin");
    let b_admin = app.admin_token("casablanca-settat").await.expect("admin");
    // Several endpoints of the slow tenant, to fill its share of the senders.
    for _ in 0..6 {
        create_hook(&app, &a_admin, &slow.url(), json!(["*"])).await;
    }
    create_hook(&app, &b_admin, &fast.url(), json!(["*"])).await;
    for i in 0..5 {
        gql(
            &app,
            &demo.marrakech.editor_token,
            "mutation($t: String!) { createArticle(data: {title: $t}) { id } }",
            json!({"t": format!("ورشة {i}")}),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Instant::now();
    gql(
        &app,
        &demo.casablanca.editor_token,
        "mutation { createArticle(data: {title: \"لقاء\"}) { id } }",
        json!({}),
    )
    .await;
    let got = fast.wait_for(1, 10).await;
    assert_eq!(got.len(), 1);
    let waited = got[0].at - sent;
    assert!(
        waited < Duration::from_millis(1_000),
        "the other tenant's delivery took {waited:?} while a slow receiver was busy"
    );
    assert!(
        slow.received().len() < 30,
        "the slow receiver is still being served"
    );
}

#[tokio::test]
async fn two_nodes_deliver_each_event_once() {
    for a in TestApp::both_with(loopback_allowed).await.expect("spawn") {
        let b = a.another_node().await.expect("second node");
        let demo = a.demo().await.expect("demo");
        let admin = a.admin_token("marrakech-safi").await.expect("admin");
        let receiver = Receiver::start(0, 5).await.expect("receiver");
        create_hook(&a, &admin, &receiver.url(), json!(["*.created"])).await;
        for i in 0..20 {
            let node = if i % 2 == 0 { &a } else { &b };
            gql(
                node,
                &demo.marrakech.editor_token,
                "mutation($t: String!) { createArticle(data: {title: $t}) { id } }",
                json!({"t": format!("ورشة {i}")}),
            )
            .await;
        }
        receiver.wait_for(20, 60).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got = receiver.received();
        let ids: BTreeSet<&String> = got
            .iter()
            .filter_map(|r| r.headers.get("webhook-id"))
            .collect();
        let backend = a.state.db.get_database_backend();
        assert_eq!(ids.len(), 20, "every event on {backend:?}: {got:?}");
        assert_eq!(got.len(), 20, "once each");
    }
}

#[tokio::test]
async fn redirects_are_not_followed_and_an_endpoint_failing_too_long_is_disabled() {
    let app = TestApp::spawn_with(|c| {
        loopback_allowed(c);
        // Any failure streak is too long here, so the second failure disables the endpoint.
        c.webhooks.disable_after_hours = 0;
    })
    .await
    .expect("spawn");
    let demo = app.demo().await.expect("demo");
    let admin = app.admin_token("marrakech-safi").await.expect("admin");
    let receiver = Receiver::start(0, 0).await.expect("receiver");
    let moved = format!("http://{}/moved", receiver.addr);
    let hook = create_hook(&app, &admin, &moved, json!(["*"])).await;
    let id = hook["id"].as_str().expect("id").to_owned();
    gql(
        &app,
        &demo.marrakech.editor_token,
        "mutation { createArticle(data: {title: \"ورشة\"}) { id } }",
        json!({}),
    )
    .await;
    let started = Instant::now();
    let endpoint = loop {
        let a = app
            .admin("GET", &format!("/webhooks/{id}"), Some(&admin), None)
            .await;
        if a.body["enabled"] == false {
            break a.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never disabled: {}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!endpoint["failingSince"].is_null(), "{endpoint}");
    let log = delivery_log(&app, &admin, &id).await;
    assert_eq!(
        log.body[0]["lastStatus"], 307,
        "the redirect is a failure: {}",
        log.body
    );
    assert!(
        receiver.received().is_empty(),
        "the redirect was not followed"
    );
    let audit = app
        .admin("GET", "/audit?action=webhook.disabled", Some(&admin), None)
        .await;
    assert_eq!(
        audit.body["items"][0]["target"],
        format!("webhook/{id}"),
        "{}",
        audit.body
    );
    // Enabled again by an admin, it starts afresh.
    let a = app
        .admin(
            "PATCH",
            &format!("/webhooks/{id}"),
            Some(&admin),
            Some(json!({"enabled": true, "url": receiver.url()})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body["failingSince"].is_null(), "{}", a.body);
    // The delivery that waited while the endpoint was off goes out.
    assert_eq!(receiver.wait_for(1, 20).await.len(), 1);
}
