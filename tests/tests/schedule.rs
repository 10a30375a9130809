//! Scheduled publishing end to end, on SQLite and PostgreSQL: set over GraphQL and the admin
//! API, carried out by the running server within a second of the due time, with the same
//! outbox event and audit trail as a manual publish; refused in the past, out of order or
//! without the right to publish; carried out once by two nodes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zellige_e2e::{TestApp, code};

fn rfc3339_in(ms: i64) -> String {
    zellige::time::to_rfc3339(zellige::time::now_ms() + ms)
}

async fn create_article(app: &TestApp, editor: &str, title: &str) -> String {
    let (_, _, body) = app
        .graphql(
            Some(editor),
            "mutation($t: String!) { createArticle(data: {title: $t}) { id } }",
            json!({"t": title}),
        )
        .await;
    body["data"]["createArticle"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("create: {body}"))
        .to_owned()
}

/// The published copy as the public sees it (`null` when there is none).
async fn published(app: &TestApp, public: &str, id: &str) -> Value {
    let (_, _, body) = app
        .graphql(
            Some(public),
            "query($id: ID!) { article(id: $id) { id publishedAt } }",
            json!({"id": id}),
        )
        .await;
    body["data"]["article"].clone()
}

/// Waits until the public sees the entry published (or not); returns when that happened.
async fn until_published(app: &TestApp, public: &str, id: &str, yes: bool) -> Instant {
    let started = Instant::now();
    loop {
        if published(app, public, id).await.is_null() != yes {
            return Instant::now();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{id} never became {}",
            if yes { "published" } else { "unpublished" }
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn audit_count(app: &TestApp, admin: &str, action: &str, target: &str) -> usize {
    let a = app
        .admin(
            "GET",
            &format!("/audit?action={action}&first=100"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|i| i["target"].as_str().is_some_and(|t| t.ends_with(target)))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn publish_and_unpublish_at_a_time_a_few_seconds_ahead() {
    for app in TestApp::both().await.expect("spawn") {
        let demo = app.demo().await.expect("demo");
        let editor = demo.marrakech.editor_token.as_str();
        let public = demo.marrakech.public_token.as_str();
        let admin = app.admin_token("marrakech-safi").await.expect("admin");
        let id = create_article(&app, editor, "معرض الزربية بشيشاوة").await;
        // Any offset is accepted; times are kept in UTC.
        let publish_at = zellige::time::now_ms() + 2_000;
        let local = chrono::DateTime::from_timestamp_millis(publish_at)
            .expect("time")
            .with_timezone(&chrono::FixedOffset::east_opt(3600).expect("offset"))
            .to_rfc3339();
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "mutation($id: ID!, $p: DateTime, $u: DateTime) { scheduleArticle(id: $id, publishAt: $p, unpublishAt: $u) { publishAt unpublishAt changes { action dueAt scheduledBy } } }",
                json!({"id": id, "p": local, "u": rfc3339_in(4_000)}),
            )
            .await;
        let s = &body["data"]["scheduleArticle"];
        assert_eq!(
            s["publishAt"],
            zellige::time::to_rfc3339(publish_at),
            "{body}"
        );
        assert_eq!(s["changes"].as_array().map(Vec::len), Some(2), "{body}");
        // Editors see it on the entry and in the tenant's schedule; the public sees neither.
        let (_, _, body) = app
            .graphql(
                Some(editor),
                "query($id: ID!) { article(id: $id, status: DRAFT) { schedule { publishAt unpublishAt } } schedule { entryId action } }",
                json!({"id": id}),
            )
            .await;
        assert!(
            !body["data"]["article"]["schedule"]["publishAt"].is_null(),
            "{body}"
        );
        assert!(
            body["data"]["schedule"].as_array().is_some_and(|l| l
                .iter()
                .filter(|c| c["entryId"] == id.as_str())
                .count()
                == 2),
            "{body}"
        );
        let (_, _, body) = app
            .graphql(Some(public), "{ schedule { entryId } }", json!({}))
            .await;
        assert_eq!(body["data"]["schedule"], json!([]), "{body}");
        assert!(published(&app, public, &id).await.is_null());
        // Published within a second of the due time, then unpublished.
        until_published(&app, public, &id, true).await;
        let late = zellige::time::now_ms() - publish_at;
        assert!(late < 1_000, "published {late} ms after the due time");
        let shown = published(&app, public, &id).await;
        assert!(!shown["publishedAt"].is_null(), "{shown}");
        until_published(&app, public, &id, false).await;
        // The same trail as a manual publish: outbox events (seen by subscribers, search …)
        // and audit rows, in the name of who scheduled it.
        assert_eq!(audit_count(&app, &admin, "entry.published", &id).await, 1);
        assert_eq!(audit_count(&app, &admin, "entry.unpublished", &id).await, 1);
        assert_eq!(
            audit_count(&app, &admin, "entry.schedule_fired", &id).await,
            2
        );
        assert_eq!(audit_count(&app, &admin, "entry.scheduled", &id).await, 1);
        let a = app
            .admin(
                "GET",
                "/audit?action=entry.published&first=100",
                Some(&admin),
                None,
            )
            .await;
        let row = a.body["items"]
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .find(|i| i["target"].as_str().is_some_and(|t| t.ends_with(&id)))
            })
            .cloned()
            .unwrap_or_default();
        assert!(
            row["actor"]
                .as_str()
                .is_some_and(|a| a.starts_with("token:")),
            "published in the scheduler's name: {row}"
        );
        let ctx = zellige::tenancy::by_slug(&app.state.db, "marrakech-safi")
            .await
            .expect("tenant");
        let events = zellige::store::outbox::read(&app.state.db, &ctx, 0, 10_000)
            .await
            .expect("outbox");
        let kinds: Vec<&str> = events
            .iter()
            .filter(|e| e.entry_id.as_deref() == Some(id.as_str()))
            .map(|e| e.kind.as_str())
            .collect();
        assert_eq!(
            kinds,
            ["entry.created", "entry.published", "entry.unpublished"]
        );
        // Nothing is left pending.
        let (_, _, body) = app
            .graphql(Some(editor), "{ schedule { entryId } }", json!({}))
            .await;
        assert_eq!(body["data"]["schedule"], json!([]), "{body}");
    }
}

#[tokio::test]
async fn schedules_are_checked_and_need_the_right_to_publish() {
    let app = TestApp::spawn().await.expect("spawn");
    let demo = app.demo().await.expect("demo");
    let editor = demo.marrakech.editor_token.as_str();
    let id = create_article(&app, editor, "ورشة").await;
    let schedule = "mutation($id: ID!, $p: DateTime, $u: DateTime) { scheduleArticle(id: $id, publishAt: $p, unpublishAt: $u) { publishAt unpublishAt } }";
    let (_, _, body) = app
        .graphql(
            Some(editor),
            schedule,
            json!({"id": id, "p": "2017-12-01T09:00:00Z"}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body.to_string().contains("publishAt"), "{body}");
    let (_, _, body) = app
        .graphql(
            Some(editor),
            schedule,
            json!({"id": id, "p": rfc3339_in(60_000), "u": rfc3339_in(30_000)}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body.to_string().contains("unpublishAt"), "{body}");
    let (_, _, body) = app
        .graphql(
            Some(editor),
            schedule,
            json!({"id": id, "p": "next tuesday"}),
        )
        .await;
    assert!(!body["errors"].is_null(), "{body}");
    // The public may not schedule.
    let (_, _, body) = app
        .graphql(
            Some(&demo.marrakech.public_token),
            schedule,
            json!({"id": id, "p": rfc3339_in(60_000)}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    // Over the admin API: set, read back, clear one part with null, keep the other.
    let path = format!("/entries/article/{id}/schedule");
    let a = app
        .admin(
            "PUT",
            &path,
            Some(editor),
            Some(json!({"publishAt": rfc3339_in(60_000), "unpublishAt": rfc3339_in(120_000)})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = app
        .admin("PUT", &path, Some(editor), Some(json!({"publishAt": null})))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body["publishAt"].is_null(), "{}", a.body);
    assert!(!a.body["unpublishAt"].is_null(), "{}", a.body);
    let a = app.admin("GET", &path, Some(editor), None).await;
    assert_eq!(
        a.body["changes"].as_array().map(Vec::len),
        Some(1),
        "{}",
        a.body
    );
    let a = app.admin("GET", "/schedule", Some(editor), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body[0]["entryId"], id.as_str(), "{}", a.body);
    assert_eq!(a.body[0]["action"], "unpublish", "{}", a.body);
    let a = app
        .admin(
            "PUT",
            &path,
            Some(editor),
            Some(json!({"publishAt": "2001-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.code(), "BAD_USER_INPUT");
    // Deleting the entry drops its schedule.
    app.graphql(
        Some(editor),
        "mutation($id: ID!) { deleteArticle(id: $id) }",
        json!({"id": id}),
    )
    .await;
    let a = app.admin("GET", "/schedule", Some(editor), None).await;
    assert_eq!(a.body, json!([]), "{}", a.body);
}

#[tokio::test]
async fn two_nodes_publish_a_schedule_once() {
    for a in TestApp::both().await.expect("spawn") {
        let b = a.another_node().await.expect("second node");
        let demo = a.demo().await.expect("demo");
        let editor = demo.marrakech.editor_token.as_str();
        let public = demo.marrakech.public_token.as_str();
        let admin = a.admin_token("marrakech-safi").await.expect("admin");
        let mut ids = Vec::new();
        for i in 0..10 {
            let id = create_article(&a, editor, &format!("معرض رقم {i}")).await;
            let (_, _, body) = a
                .graphql(
                    Some(editor),
                    "mutation($id: ID!, $p: DateTime) { scheduleArticle(id: $id, publishAt: $p) { publishAt } }",
                    json!({"id": id, "p": rfc3339_in(1_500)}),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
            ids.push(id);
        }
        for id in &ids {
            until_published(&b, public, id, true).await;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        for id in &ids {
            assert_eq!(
                audit_count(&a, &admin, "entry.schedule_fired", id).await,
                1,
                "{id} fired once"
            );
            assert_eq!(audit_count(&a, &admin, "entry.published", id).await, 1);
        }
    }
}
