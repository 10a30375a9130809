//! Retention on a real database (SQLite, and PostgreSQL when configured): the outbox is pruned
//! below what every live consumer has passed (a silent one no longer pins it), never its
//! newest event nor recent ones; versions beyond an entry's newest `keep` and older than the
//! policy's age go, but never the published version or the draft's; a tenant's own policy
//! wins over the server's.

mod common;

use serde_json::{Map, Value, json};
use zellige::config::RetentionConfig;
use zellige::content::EntryInput;
use zellige::retention;
use zellige::store::outbox;
use zellige::tenancy::{self, SettingsChange, VersionPolicy};

const DAY_MS: i64 = 86_400_000;

fn input(v: Value) -> EntryInput {
    let data: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
    EntryInput {
        data,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_outbox_and_the_history_are_pruned_by_policy() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let e = t
            .content
            .create(
                &ctx,
                "article",
                input(json!({"title": {"ar": "النسخة الأولى"}})),
                None,
            )
            .await
            .expect("create");
        for (i, title) in ["الثانية", "الثالثة", "الرابعة"].iter().enumerate()
        {
            t.content
                .update(
                    &ctx,
                    "article",
                    &e.id,
                    input(json!({"title": {"ar": title}})),
                    None,
                    None,
                )
                .await
                .expect("update");
            if i == 0 {
                // Published at version 3 (after the first update), then edited twice more: 1–5.
                t.content
                    .publish(&ctx, "article", &e.id, None)
                    .await
                    .expect("publish");
            }
        }
        let versions = |list: Vec<zellige::content::entries::VersionInfo>| {
            list.into_iter().map(|v| v.version).collect::<Vec<i64>>()
        };
        assert_eq!(
            versions(
                t.content
                    .versions(&ctx, "article", &e.id)
                    .await
                    .expect("history")
            ),
            [5, 4, 3, 2, 1]
        );
        let events = outbox::read(&t.db, &ctx, 0, 100).await.expect("outbox");
        let newest = events.last().expect("events").tenant_seq;
        assert_eq!(newest, 5);
        let now = zellige::time::now_ms();
        // Search has seen everything, webhooks up to 3; a node that left saw 1, days ago.
        outbox::acknowledge(&t.db, "search", &ctx, newest, now)
            .await
            .expect("ack");
        outbox::acknowledge(&t.db, "webhooks", &ctx, 3, now)
            .await
            .expect("ack");
        outbox::acknowledge(&t.db, "search@gone", &ctx, 1, now - 5 * DAY_MS)
            .await
            .expect("ack");

        let config = RetentionConfig {
            outbox_min_age_secs: 0,
            consumer_stale_hours: 72,
            versions_keep: 2,
            versions_days: 1,
            ..RetentionConfig::default()
        };
        // Recent versions stay whatever `keep` says; recent events stay with a minimum age.
        let cautious = RetentionConfig {
            outbox_min_age_secs: 3_600,
            ..config.clone()
        };
        let none = retention::tenant(&t.db, &cautious, &ctx, now + 1)
            .await
            .expect("pass");
        assert_eq!(none, retention::Pruned::default());

        let later = now + 2 * DAY_MS;
        let pruned = retention::tenant(&t.db, &config, &ctx, later)
            .await
            .expect("pass");
        // Events 1–3 (passed by both live consumers; the silent one is ignored).
        assert_eq!(pruned.events, 3);
        let kept: Vec<i64> = outbox::read(&t.db, &ctx, 0, 100)
            .await
            .expect("outbox")
            .iter()
            .map(|e| e.tenant_seq)
            .collect();
        assert_eq!(kept, [4, 5]);
        assert_eq!(outbox::oldest(&t.db, &ctx).await.expect("oldest"), 4);
        // Versions: the newest two (5, 4) and the published one (3).
        assert_eq!(pruned.versions, 2);
        assert_eq!(
            versions(
                t.content
                    .versions(&ctx, "article", &e.id)
                    .await
                    .expect("history")
            ),
            [5, 4, 3]
        );
        // A kept version still restores.
        t.content
            .restore(&ctx, "article", &e.id, 3, None, None)
            .await
            .expect("restore");

        // Once every consumer has passed everything, the newest event still stays (it holds
        // the sequence's high-water mark).
        outbox::acknowledge(&t.db, "webhooks", &ctx, 100, later)
            .await
            .expect("ack");
        outbox::acknowledge(&t.db, "search", &ctx, 100, later)
            .await
            .expect("ack");
        retention::tenant(&t.db, &config, &ctx, later + 1)
            .await
            .expect("pass");
        let left = outbox::read(&t.db, &ctx, 0, 100).await.expect("outbox");
        assert_eq!(left.len(), 1, "{left:?}");
        let next = t
            .content
            .create(
                &ctx,
                "article",
                input(json!({"title": {"ar": "بعد التنظيف"}})),
                None,
            )
            .await
            .expect("create after pruning");
        let last = outbox::read(&t.db, &ctx, 0, 100).await.expect("outbox");
        assert_eq!(
            last.last().map(|e| e.tenant_seq),
            Some(left[0].tenant_seq + 1),
            "{next:?}"
        );

        // A tenant's own policy wins: keep 10 versions, so nothing more goes.
        for title in ["أ", "ب", "ج"] {
            t.content
                .update(
                    &ctx,
                    "article",
                    &next.id,
                    input(json!({"title": {"ar": title}})),
                    None,
                    None,
                )
                .await
                .expect("update");
        }
        let own = tenancy::update_settings(
            &t.db,
            &ctx,
            SettingsChange {
                versions: Some(Some(VersionPolicy { keep: 10, days: 1 })),
                ..Default::default()
            },
            &[],
            &[],
            zellige::audit::Event::new(Some(&ctx), "test", "settings.updated"),
        )
        .await
        .expect("settings");
        let p = retention::tenant(&t.db, &config, &own, later + 2 * DAY_MS)
            .await
            .expect("pass");
        assert_eq!(p.versions, 0);
        assert_eq!(
            t.content
                .versions(&own, "article", &next.id)
                .await
                .expect("history")
                .len(),
            4
        );
        // And no live consumer at all: the outbox is left alone.
        let other = t.tenant("casablanca-settat").await;
        t.content
            .create(
                &other,
                "article",
                input(json!({"title": {"ar": "الدار البيضاء"}})),
                None,
            )
            .await
            .expect("create");
        let p = retention::tenant(&t.db, &config, &other, later + 3 * DAY_MS)
            .await
            .expect("pass");
        assert_eq!(p.events, 0);
    });
}
