//! Writers racing on one tenant, on SQLite and PostgreSQL: every write transaction takes the
//! tenant's write lock first and re-checks the schema version under it, so check-then-act rules
//! (unique values, derived slugs, the last active admin) hold under concurrency and a
//! content-type change never loses an entry update made while it runs.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Map, Value, json};
use zellige::ErrorCode;
use zellige::auth::{self, NewUser, Role, UserChange};
use zellige::content::entries::Entry;
use zellige::content::entries::Lookup;
use zellige::content::types::ChangeOptions;
use zellige::content::{Content, ContentError, EntryInput};
use zellige::store::entries::Stage;
use zellige::tenancy::TenantCtx;

fn input(v: Value) -> EntryInput {
    match v {
        Value::Object(data) => EntryInput {
            data,
            ..Default::default()
        },
        _ => panic!("object expected"),
    }
}

const WRITERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_keep_unique_values_unique() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        t.content
            .create_type(
                &ctx,
                json!({"name": "licence", "plural": "licences", "slugFrom": "code", "fields": [
                    {"name": "code", "type": "string", "required": true, "unique": true, "maxLength": 40}
                ]}),
                None,
            )
            .await
            .expect("type");
        let ctx = Arc::new(t.ctx("marrakech-safi").await);
        let content = t.content.clone();
        let tasks: Vec<_> = (0..WRITERS)
            .map(|_| spawn_create(&ctx, &content, "licence", json!({"code": "MRK-2017-001"})))
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.expect("join") {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(e.code(), ErrorCode::Conflict, "{e}"),
            }
        }
        assert_eq!(
            ok, 1,
            "exactly one writer may take a unique value ({})",
            t.name
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_without_slug_all_get_distinct_slugs() {
    on_backends!(|t| {
        let ctx = Arc::new(t.tenant("marrakech-safi").await);
        let content = t.content.clone();
        let tasks: Vec<_> = (0..WRITERS)
            .map(|_| {
                spawn_create(
                    &ctx,
                    &content,
                    "article",
                    json!({"title": {"ar": "معرض الصناعة التقليدية بآسفي"}}),
                )
            })
            .collect();
        let mut slugs = HashSet::new();
        for task in tasks {
            let entry = task
                .await
                .expect("join")
                .expect("a create that sent no slug never fails on the slug");
            assert!(
                slugs.insert(entry.slug.clone()),
                "duplicate slug {}",
                entry.slug
            );
        }
        assert!(slugs.contains("معرض-الصناعة-التقليدية-بآسفي"), "{slugs:?}");
        assert_eq!(slugs.len(), WRITERS);
    });
}

/// Concurrent single writes of one tenant share group commits: each keeps its own result and
/// its own checks against the writes before it, and a failing one is undone alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_creates_and_deletes_keep_their_own_results() {
    on_backends!(|t| {
        let ctx = Arc::new(t.tenant("marrakech-safi").await);
        let content = t.content.clone();
        let target = content
            .create(
                &ctx,
                "article",
                input(json!({"title": {"ar": "سوق الحرفيين"}})),
                None,
            )
            .await
            .expect("target");
        let doomed = content
            .create(
                &ctx,
                "article",
                input(json!({"title": {"ar": "خبر قديم"}})),
                None,
            )
            .await
            .expect("doomed");
        // Every writer sends expectedVersion 1: one update wins, the others are stale; the
        // creates all succeed; the delete succeeds once and then finds nothing.
        let tasks: Vec<_> = (0..WRITERS * 2)
            .map(|i| {
                let (ctx, content) = (ctx.clone(), content.clone());
                let (target, doomed) = (target.id.clone(), doomed.id.clone());
                tokio::spawn(async move {
                    match i % 3 {
                        0 => content
                            .update(
                                &ctx,
                                "article",
                                &target,
                                input(json!({"title": {"ar": format!("سوق الحرفيين {i}")}})),
                                Some(1),
                                None,
                            )
                            .await
                            .map(|e| ("update", Some(e))),
                        1 => content
                            .create(
                                &ctx,
                                "article",
                                input(json!({"title": {"ar": format!("معرض رقم {i}")}})),
                                None,
                            )
                            .await
                            .map(|e| ("create", Some(e))),
                        _ => content
                            .delete(&ctx, "article", &doomed, None)
                            .await
                            .map(|()| ("delete", None)),
                    }
                })
            })
            .collect();
        let (mut updated, mut stale, mut created, mut deleted, mut gone) = (0, 0, 0, 0, 0);
        for task in tasks {
            match task.await.expect("join") {
                Ok(("update", Some(e))) => {
                    assert_eq!(e.version, 2, "the winning update saw version 1");
                    updated += 1;
                }
                Ok(("create", Some(e))) => {
                    assert_eq!(e.version, 1);
                    let stored = content
                        .get(&ctx, "article", &Lookup::Id(e.id.clone()), Stage::Draft)
                        .await
                        .expect("read")
                        .expect("an acknowledged create is stored");
                    assert_eq!(stored.data, e.data);
                    created += 1;
                }
                Ok(_) => deleted += 1,
                Err(e) if e.code() == ErrorCode::Conflict => stale += 1,
                Err(e) if e.code() == ErrorCode::NotFound => gone += 1,
                Err(e) => panic!("unexpected error on {}: {e}", t.name),
            }
        }
        assert_eq!((updated, stale), (1, WRITERS * 2 / 3 - 1), "{}", t.name);
        assert_eq!(created, WRITERS * 2 / 3, "{}", t.name);
        assert_eq!((deleted, gone), (1, WRITERS * 2 / 3 - 1), "{}", t.name);
        let after = content
            .get(
                &ctx,
                "article",
                &Lookup::Id(target.id.clone()),
                Stage::Draft,
            )
            .await
            .expect("read")
            .expect("target");
        assert_eq!(after.version, 2, "exactly one update applied ({})", t.name);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_type_change_never_loses_concurrent_entry_updates() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let entry = t
            .content
            .create(
                &ctx,
                "artisan",
                input(json!({"name": {"ar": "أحمد الزليجي"}, "craft": "زليج", "city": "مراكش"})),
                None,
            )
            .await
            .expect("artisan");
        let base = t.content.types(&ctx).await.expect("types");
        let artisan = base
            .iter()
            .find(|c| c.name == "artisan")
            .expect("artisan type")
            .to_json();
        let with_extra = {
            let mut def = artisan.clone();
            def["fields"]
                .as_array_mut()
                .expect("fields")
                .push(json!({"name": "workshopNote", "type": "text"}));
            def
        };
        let content = t.content.clone();
        let id = entry.id.clone();
        let db = t.db.clone();
        // One editor saves 30 versions in a row; meanwhile the type changes back and forth.
        let editor = tokio::spawn({
            let content = content.clone();
            let db = db.clone();
            async move {
                let mut last = String::new();
                for i in 0..30 {
                    let ctx = zellige::tenancy::by_slug(&db, "marrakech-safi")
                        .await
                        .expect("ctx");
                    let bio = format!("سيرة رقم {i}");
                    let mut data = Map::new();
                    data.insert("bio".into(), json!({"ar": bio}));
                    let input = EntryInput {
                        data,
                        ..Default::default()
                    };
                    if content
                        .update(&ctx, "artisan", &id, input, None, None)
                        .await
                        .is_ok()
                    {
                        last = bio;
                    }
                }
                last
            }
        });
        let changer = tokio::spawn(async move {
            for i in 0..10 {
                let ctx = zellige::tenancy::by_slug(&db, "marrakech-safi")
                    .await
                    .expect("ctx");
                let def = if i % 2 == 0 {
                    with_extra.clone()
                } else {
                    artisan.clone()
                };
                content
                    .update_type(
                        &ctx,
                        "artisan",
                        def,
                        &ChangeOptions {
                            force: true,
                            ..Default::default()
                        },
                        None,
                    )
                    .await
                    .expect("type change");
            }
        });
        let last = editor.await.expect("editor");
        changer.await.expect("changer");
        assert!(!last.is_empty(), "some updates were acknowledged");
        let ctx = t.ctx("marrakech-safi").await;
        let stored = t
            .content
            .get(
                &ctx,
                "artisan",
                &zellige::content::Lookup::Id(entry.id.clone()),
                Stage::Draft,
            )
            .await
            .expect("get")
            .expect("entry");
        assert_eq!(
            stored.data["bio"]["ar"],
            json!(last),
            "{}: the last acknowledged update survives",
            t.name
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_demoting_each_other_leave_one_admin() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let mut ids = Vec::new();
        for who in ["fatima", "youssef"] {
            let u = auth::create_user(
                &t.db,
                &ctx,
                NewUser {
                    email: format!("{who}@chambre.ma"),
                    role: Role::Admin,
                    password: "كلمة-سر-طويلة-2017".into(),
                },
                "test",
            )
            .await
            .expect("user");
            ids.push(u.id);
        }
        for _ in 0..5 {
            let tasks: Vec<_> = ids
                .iter()
                .map(|id| {
                    let (db, ctx, id) = (t.db.clone(), ctx.clone(), id.clone());
                    tokio::spawn(async move {
                        auth::update_user(
                            &db,
                            &ctx,
                            &id,
                            UserChange {
                                role: Some(Role::Editor),
                                ..Default::default()
                            },
                            "test",
                        )
                        .await
                    })
                })
                .collect();
            let mut demoted = Vec::new();
            for (task, id) in tasks.into_iter().zip(&ids) {
                if task.await.expect("join").is_ok() {
                    demoted.push(id.clone());
                }
            }
            assert_eq!(demoted.len(), 1, "{}: exactly one demotion may win", t.name);
            // Restore the demoted one for the next round.
            auth::update_user(
                &t.db,
                &ctx,
                &demoted[0],
                UserChange {
                    role: Some(Role::Admin),
                    ..Default::default()
                },
                "test",
            )
            .await
            .expect("restore");
        }
    });
}

/// PostgreSQL writes a group of plain creates as one statement with no transaction around it,
/// which takes the tenant's lock first and reads in the snapshot it started with. A writer that
/// held the lock meanwhile may have taken a slug that snapshot does not show, in a way the
/// unique index alone would not refuse (another entry's published copy): the statement finds
/// the tenant's event sequence moved on, writes nothing, and the creates go through a
/// transaction that sees the slug taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_waiting_on_the_lock_see_what_its_holder_wrote() {
    let Some(t) = common::postgres().await else {
        return;
    };
    let ctx = Arc::new(t.tenant("marrakech-safi").await);
    let content = t.content.clone();
    let fair = content
        .create(
            &ctx,
            "article",
            input(json!({"title": {"ar": "معرض الزربية"}})),
            None,
        )
        .await
        .expect("create");
    content
        .publish(&ctx, "article", &fair.id, None)
        .await
        .expect("publish");

    // The holder: a writer that leaves the fair's published copy under a new slug (as a rename
    // of the draft, a publish and a rename back in one transaction would), its draft unchanged.
    let tenant_id = ctx.id().to_owned();
    let holder = hold_lock(
        &t.db,
        vec![
            (
                "UPDATE tenants SET event_seq = event_seq + 1 WHERE id = $1",
                vec![tenant_id.clone().into()],
            ),
            (
                "UPDATE entry_docs SET slug = $1 \
                 WHERE tenant_id = $2 AND entry_id = $3 AND stage = 1",
                vec![
                    "سوق-الخميس".into(),
                    tenant_id.clone().into(),
                    fair.id.clone().into(),
                ],
            ),
        ],
    )
    .await;

    // Two creates wanting that slug, one asking for it and one deriving it, wait on the lock.
    let asking = {
        let (ctx, content) = (ctx.clone(), content.clone());
        tokio::spawn(async move {
            let mut wanted = input(json!({"title": {"ar": "سوق الأربعاء"}}));
            wanted.slug = Some("سوق-الخميس".into());
            content.create(&ctx, "article", wanted, None).await
        })
    };
    let deriving = spawn_create(
        &ctx,
        &content,
        "article",
        json!({"title": {"ar": "سوق الخميس"}}),
    );
    wait_for_a_lock_waiter(&t.db).await;
    holder.commit().await.expect("commit");

    let refused = asking.await.expect("join").expect_err("the slug is taken");
    assert_eq!(refused.code(), ErrorCode::Conflict, "{refused}");
    let derived = deriving
        .await
        .expect("join")
        .expect("a create that sent no slug never fails on the slug");
    assert_eq!(derived.slug, "سوق-الخميس-2");
}

/// The same for a writer that changed a content type under the lock: creates checked against
/// the model before the change are checked again against the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_waiting_on_a_type_change_are_checked_against_the_new_type() {
    let Some(t) = common::postgres().await else {
        return;
    };
    let ctx = t.tenant("marrakech-safi").await;
    let notice = |max: u32| {
        json!({"name": "notice", "plural": "notices", "slugFrom": "code", "fields": [
            {"name": "code", "type": "string", "required": true, "maxLength": max}
        ]})
    };
    t.content
        .create_type(&ctx, notice(40), None)
        .await
        .expect("type");
    let ctx = Arc::new(t.ctx("marrakech-safi").await);
    let content = t.content.clone();
    content
        .create(&ctx, "notice", input(json!({"code": "MRK-2017-001"})), None)
        .await
        .expect("a code of 12 characters fits 40");

    // The holder: a type change that tightens `maxLength` to 5 while no stored value is
    // longer (the one above is deleted in the same transaction).
    let tenant_id = ctx.id().to_owned();
    let holder = hold_lock(
        &t.db,
        vec![
            (
                "UPDATE tenants SET schema_version = schema_version + 1 WHERE id = $1",
                vec![tenant_id.clone().into()],
            ),
            (
                "DELETE FROM entry_docs WHERE tenant_id = $1 AND type = 'notice'",
                vec![tenant_id.clone().into()],
            ),
            (
                "UPDATE content_types SET definition = $1 WHERE tenant_id = $2 AND name = 'notice'",
                vec![notice(5).to_string().into(), tenant_id.clone().into()],
            ),
        ],
    )
    .await;

    let waiting = spawn_create(&ctx, &content, "notice", json!({"code": "MRK-2017-002"}));
    wait_for_a_lock_waiter(&t.db).await;
    holder.commit().await.expect("commit");
    let refused = waiting
        .await
        .expect("join")
        .expect_err("12 characters do not fit 5");
    assert_eq!(refused.code(), ErrorCode::BadUserInput, "{refused}");
    assert!(refused.to_string().contains("maxLength"), "{refused}");
}

/// PostgreSQL: the statement that writes a group of creates is planned once per session and
/// its plan reused. Left to choose, PostgreSQL planned it anew on most executions (a generic
/// plan's estimate for its arrays looks dearer than it is), at half the cost of running it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_of_a_group_of_creates_is_planned_once_per_session() {
    let Some(t) = common::postgres().await else {
        return;
    };
    let ctx = t.tenant("marrakech-safi").await;
    let (_, db, content) = one_session(&t).await;
    for i in 0..12 {
        content
            .create(
                &ctx,
                "article",
                input(json!({"title": {"ar": format!("خبر رقم {i} عن الصناعة التقليدية")}})),
                None,
            )
            .await
            .expect("create");
    }
    let row = db
        .query_one_raw(sql(
            "SELECT coalesce(sum(generic_plans), 0)::bigint AS generic, \
             coalesce(sum(custom_plans), 0)::bigint AS custom \
             FROM pg_prepared_statements WHERE statement LIKE 'WITH lock AS%'",
            vec![],
        ))
        .await
        .expect("plans")
        .expect("row");
    let generic: i64 = row.try_get("", "generic").expect("generic");
    let custom: i64 = row.try_get("", "custom").expect("custom");
    assert_eq!(
        (generic, custom),
        (12, 0),
        "each create is one statement, planned once (generic, custom)"
    );
}

/// PostgreSQL: a session's plan for the group statement made before the tables had statistics
/// checks new slugs by reading the tenant's documents; once the server has given the tables
/// their first statistics (`store::db::first_statistics`), the plan is made again and each new
/// slug is one probe of the slug index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_database_gets_statistics_and_creates_then_probe_their_slugs() {
    let Some(t) = common::postgres().await else {
        return;
    };
    let ctx = t.tenant("marrakech-safi").await;
    let (config, db, content) = one_session(&t).await;
    let create = |i: i64| {
        let (content, ctx) = (content.clone(), ctx.clone());
        async move {
            content
                .create(
                    &ctx,
                    "article",
                    input(json!({"title": {"ar": format!("معرض الصناعة التقليدية رقم {i}")}})),
                    None,
                )
                .await
                .expect("create");
        }
    };
    // The server's threshold: planned with statistics of fewer rows, a probe is a sequential scan
    // (as cheap at that size), and that plan would stay while the table grows.
    let first = config.db.postgres_first_analyze_rows as i64;
    const THEN: i64 = 120;
    for i in 0..first {
        create(i).await;
    }
    // The row counts the analyzer goes by are the statistics collector's.
    db.execute_unprepared("SELECT pg_stat_force_next_flush()")
        .await
        .expect("flush statistics");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let analyzer = tokio::spawn(zellige::store::db::first_statistics(
        t.db.clone(),
        first as u64,
        shutdown.clone(),
    ));
    tokio::time::timeout(std::time::Duration::from_secs(30), analyzer)
        .await
        .expect("every content table analyzed (the outbox and audit log hold as many rows)")
        .expect("join");
    let before = rows_read(&t.db, &db, first).await;
    for i in first..first + THEN {
        create(i).await;
    }
    let read = rows_read(&t.db, &db, first + THEN).await - before;
    assert_eq!(t.count("entry_docs").await, first + THEN);
    assert!(
        read <= THEN,
        "{THEN} creates read {read} rows or index entries of entry_docs: more than a probe each"
    );
}

/// The store on one connection of the test database, so that its prepared statements and
/// their plans are the ones every write used.
async fn one_session(t: &common::TestDb) -> (zellige::Config, zellige::store::Db, Content) {
    let mut config = (*t.config).clone();
    config.db.max_connections = 1;
    config.db.min_connections = 1;
    let db = zellige::store::db::connect(&config).await.expect("connect");
    let content = Content::new(db.clone(), &config.limits);
    (config, db, content)
}

/// Rows and index entries of `entry_docs` read so far, once the statistics of `writer` (a
/// one-connection pool) show at least `scans` scans of the table.
async fn rows_read(db: &zellige::store::Db, writer: &zellige::store::Db, scans: i64) -> i64 {
    // The session's counters reach the statistics views once it is idle after this.
    writer
        .execute_unprepared("SELECT pg_stat_force_next_flush()")
        .await
        .expect("flush statistics");
    for _ in 0..100 {
        let row = db
            .query_one_raw(sql(
                "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n, \
                 coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS scans \
                 FROM pg_stat_user_tables WHERE relname = 'entry_docs'",
                vec![],
            ))
            .await
            .expect("statistics")
            .expect("row");
        if row.try_get::<i64>("", "scans").expect("scans") >= scans {
            return row.try_get("", "n").expect("n");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Counters that never arrived would read as no work at all.
    panic!("the statistics of entry_docs never showed {scans} scans");
}

/// A writer's transaction on PostgreSQL after `statements`, the first of which takes the
/// tenant's lock.
async fn hold_lock(
    db: &zellige::store::Db,
    statements: Vec<(&str, Vec<sea_orm::Value>)>,
) -> sea_orm::DatabaseTransaction {
    let txn = db.begin().await.expect("begin");
    for (text, values) in statements {
        txn.execute_raw(sql(text, values))
            .await
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    txn
}

/// A create on a task of its own: it may wait on a lock while the test goes on.
fn spawn_create(
    ctx: &Arc<TenantCtx>,
    content: &Content,
    entry_type: &'static str,
    data: Value,
) -> tokio::task::JoinHandle<Result<Entry, ContentError>> {
    let (ctx, content) = (ctx.clone(), content.clone());
    tokio::spawn(async move { content.create(&ctx, entry_type, input(data), None).await })
}

fn sql(text: &str, values: Vec<sea_orm::Value>) -> sea_orm::Statement {
    sea_orm::Statement::from_sql_and_values(sea_orm::DbBackend::Postgres, text, values)
}

/// Waits until a session of the test database waits on a lock (PostgreSQL).
async fn wait_for_a_lock_waiter(db: &zellige::store::Db) {
    for _ in 0..200 {
        let row = db
            .query_one_raw(sql(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
                vec![],
            ))
            .await
            .expect("activity")
            .expect("row");
        if row.try_get::<i64>("", "n").expect("n") > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no session waited on a lock");
}
