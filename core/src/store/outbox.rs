//! The outbox: every content change writes one event row in the same transaction, numbered per
//! tenant (`tenant_seq`, gap-free and in commit order). Consumers (search indexer, webhooks,
//! subscriptions) each keep their own position per tenant in `outbox_consumers`.

use sea_orm::{DbBackend, DbErr, Value};

use super::reads::Exec;
use serde::Serialize;

use super::sql::{Rows, Sql, insert_all, insert_apart, insert_rows, push_insert_ctes};
use super::tenants;
use crate::tenancy::TenantCtx;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventKind {
    #[serde(rename = "entry.created")]
    EntryCreated,
    #[serde(rename = "entry.updated")]
    EntryUpdated,
    #[serde(rename = "entry.published")]
    EntryPublished,
    #[serde(rename = "entry.unpublished")]
    EntryUnpublished,
    #[serde(rename = "entry.deleted")]
    EntryDeleted,
    #[serde(rename = "content_type.changed")]
    ContentTypeChanged,
    /// A plugin was enabled, disabled or set up again for the tenant: nodes that keep the
    /// tenant's plugin setup in memory tell theirs is stale by the sequence moving on.
    #[serde(rename = "plugin.changed")]
    PluginChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::EntryCreated => "entry.created",
            EventKind::EntryUpdated => "entry.updated",
            EventKind::EntryPublished => "entry.published",
            EventKind::EntryUnpublished => "entry.unpublished",
            EventKind::EntryDeleted => "entry.deleted",
            EventKind::ContentTypeChanged => "content_type.changed",
            EventKind::PluginChanged => "plugin.changed",
        }
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventKind,
    pub entry_type: Option<String>,
    pub entry_id: Option<String>,
    pub payload: serde_json::Value,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub tenant_seq: i64,
    pub kind: String,
    pub entry_type: Option<String>,
    pub entry_id: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: i64,
}

/// Records events in the caller's transaction.
pub async fn record(
    conn: &impl Exec,
    ctx: &TenantCtx,
    events: Vec<NewEvent>,
    now: i64,
) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    if conn.backend() == DbBackend::Postgres {
        return record_reserving(conn, ctx, Vec::new(), events, now).await;
    }
    let n = events.len() as i64;
    let last = tenants::reserve_event_seq(conn, ctx.id(), n).await?;
    let first = last - n + 1;
    let rows = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            vec![
                Value::from(ctx.id().to_owned()),
                Value::from(first + i as i64),
                Value::from(e.kind.as_str().to_owned()),
                Value::from(e.entry_type),
                Value::from(e.entry_id),
                Value::from(e.payload.to_string()),
                Value::from(now),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "outbox",
        &[
            "tenant_id",
            "tenant_seq",
            "kind",
            "entry_type",
            "entry_id",
            "payload",
            "created_at",
        ],
        rows,
    )
    .await
}

/// Inserts `parts` (see [`super::sql::insert_all`]) and records `events` after them: on
/// PostgreSQL in one statement, so the rows of a group's creates and their events cost one
/// round trip under the tenant's lock.
pub(crate) async fn insert_and_record(
    conn: &impl Exec,
    ctx: &TenantCtx,
    parts: Vec<Rows>,
    events: Vec<NewEvent>,
    now: i64,
) -> Result<(), DbErr> {
    if conn.backend() == DbBackend::Postgres && !events.is_empty() {
        return record_reserving(conn, ctx, parts, events, now).await;
    }
    insert_all(conn, parts).await?;
    record(conn, ctx, events, now).await
}

/// PostgreSQL: inserts `parts`, reserves the events' sequence numbers and inserts the events,
/// in one statement (data-modifying `WITH`s), one round trip under the tenant's lock for every
/// write.
async fn record_reserving(
    conn: &impl Exec,
    ctx: &TenantCtx,
    parts: Vec<Rows>,
    events: Vec<NewEvent>,
    now: i64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(DbBackend::Postgres);
    let (ctes, apart) = push_insert_ctes(&mut sql, parts);
    sql.push(if ctes == 0 { "WITH " } else { ", " });
    let n = push_record_ctes(&mut sql, ctx, events, now);
    sql.push(" SELECT count(*) AS n FROM recorded");
    let recorded: i64 = match conn.row(sql).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    if recorded != n {
        // No tenant row to reserve from: nothing was written.
        return Err(DbErr::RecordNotFound(format!("tenant {}", ctx.id())));
    }
    insert_apart(conn, apart).await
}

/// Appends the two data-modifying `WITH` parts that reserve the events' sequence numbers and
/// insert them (`reserved`, then `recorded`, which returns a row per event); returns how many
/// events there are.
fn push_record_ctes(sql: &mut Sql, ctx: &TenantCtx, events: Vec<NewEvent>, now: i64) -> i64 {
    let n = events.len() as i64;
    sql.push("reserved AS (UPDATE tenants SET event_seq = event_seq + ")
        .bind(n)
        .push(" WHERE id = ")
        .bind(ctx.id().to_owned())
        .push(" RETURNING event_seq), ");
    push_recorded(sql, ctx, events, now, "reserved");
    n
}

/// What [`insert_gated`] requires of the tenant when its statement takes the lock.
pub(crate) struct Gate<'a> {
    /// The schema version the writes were checked against.
    pub schema_version: i64,
    /// The slugs of the new drafts, by entry type: no entry may have one (draft or published).
    pub slugs: &'a [(String, String)],
}

/// PostgreSQL: inserts `parts` and records `events` in one statement with no transaction
/// around it (a statement is atomic, and durable once answered, as a transaction is), when its
/// first part, which takes the tenant's row lock as every write does first, finds the tenant as
/// the caller checked the writes: at `gate`'s schema version, with no write committed since the
/// statement's snapshot (its event sequence is the one that snapshot reads, so what the rest of
/// the statement reads in that snapshot is current), and none of `gate`'s slugs in use. Returns
/// whether it wrote; when not, nothing was written. A slug taken between the snapshot and the
/// insert is refused by the unique index (an error, and nothing written either).
pub(crate) async fn insert_gated(
    conn: &impl Exec,
    ctx: &TenantCtx,
    gate: &Gate<'_>,
    parts: Vec<Rows>,
    events: Vec<NewEvent>,
    now: i64,
) -> Result<bool, DbErr> {
    if conn.backend() != DbBackend::Postgres || events.is_empty() {
        return Ok(false);
    }
    let n = events.len() as i64;
    let (types, slugs): (Vec<String>, Vec<String>) = gate.slugs.iter().cloned().unzip();
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push("WITH lock AS (UPDATE tenants SET event_seq = event_seq + ")
        .bind(n)
        .push(" WHERE id = ")
        .bind(ctx.id().to_owned())
        .push(" AND schema_version = ")
        .bind(gate.schema_version)
        .push(" AND event_seq = (SELECT t.event_seq FROM tenants t WHERE t.id = ")
        .bind(ctx.id().to_owned())
        .push(") AND NOT EXISTS (SELECT 1 FROM UNNEST(")
        .bind(types)
        .push("::text[], ")
        .bind(slugs)
        // A probe per new slug, each costed on its own (a `LIMIT` keeps it from being
        // flattened into a join): the plan is made once per session, and a join was costed as
        // ten probes (a generic plan's guess at the arrays' length) against one scan of the
        // tenant's documents, so it scanned them until the table held a few thousand rows.
        .push("::text[]) AS c(type, slug) CROSS JOIN LATERAL (SELECT 1 FROM entry_docs d WHERE d.tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(
            " AND d.type = c.type AND d.stage IN (0, 1) AND d.slug = c.slug LIMIT 1) AS taken) \
             RETURNING event_seq)",
        );
    let (_, apart) = super::sql::push_insert_ctes_after(&mut sql, parts, Some("lock"));
    if !apart.is_empty() {
        return Ok(false);
    }
    sql.push(", ");
    push_recorded(&mut sql, ctx, events, now, "lock");
    sql.push(" SELECT count(*) AS n FROM recorded");
    let recorded: i64 = match conn.row(sql).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(recorded == n)
}

/// The `recorded AS (INSERT INTO outbox …)` part: the events numbered below the `event_seq`
/// that `reserved` (a `WITH` returning the tenant's sequence after reserving one number per
/// event) returns. They travel as one JSON array, whose `NULL`s (events without an entry) need
/// no special case, and keep their order through `WITH ORDINALITY`.
fn push_recorded(sql: &mut Sql, ctx: &TenantCtx, events: Vec<NewEvent>, now: i64, reserved: &str) {
    let n = events.len() as i64;
    let rows: Vec<serde_json::Value> = events
        .into_iter()
        .map(|e| {
            serde_json::json!([
                e.kind.as_str(),
                e.entry_type,
                e.entry_id,
                e.payload.to_string()
            ])
        })
        .collect();
    sql.push(
        "recorded AS (INSERT INTO outbox \
         (tenant_id, tenant_seq, kind, entry_type, entry_id, payload, created_at) SELECT ",
    )
    .bind(ctx.id().to_owned())
    .push(", s.event_seq - ")
    .bind(n)
    .push(" + e.ord, e.v->>0, e.v->>1, e.v->>2, e.v->>3, ")
    .bind(now)
    .push(" FROM ")
    .push(reserved)
    .push(" s, jsonb_array_elements(")
    .bind(serde_json::Value::Array(rows).to_string())
    .push("::jsonb) WITH ORDINALITY AS e(v, ord) RETURNING 1)");
}

/// Events of a tenant after `after`, oldest first.
pub async fn read(
    conn: &impl Exec,
    ctx: &TenantCtx,
    after: i64,
    limit: u64,
) -> Result<Vec<Event>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT tenant_seq, kind, entry_type, entry_id, payload, created_at FROM outbox WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND tenant_seq > ")
        .bind(after)
        .push(" ORDER BY tenant_seq LIMIT ")
        .bind(limit as i64);
    conn.rows(sql)
        .await?
        .iter()
        .map(|row| {
            let payload: String = row.try_get("", "payload")?;
            Ok(Event {
                tenant_seq: row.try_get("", "tenant_seq")?,
                kind: row.try_get("", "kind")?,
                entry_type: row.try_get("", "entry_type")?,
                entry_id: row.try_get("", "entry_id")?,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                created_at: row.try_get("", "created_at")?,
            })
        })
        .collect()
}

/// A consumer's position for a tenant (0 before its first acknowledgement).
pub async fn position(conn: &impl Exec, consumer: &str, ctx: &TenantCtx) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT position FROM outbox_consumers WHERE consumer = ")
        .bind(consumer.to_owned())
        .push(" AND tenant_id = ")
        .bind(ctx.id().to_owned());
    match conn.row(sql).await? {
        Some(row) => row.try_get("", "position"),
        None => Ok(0),
    }
}

/// Moves a consumer's position forward (never backward).
pub async fn acknowledge(
    conn: &impl Exec,
    consumer: &str,
    ctx: &TenantCtx,
    seq: i64,
    now: i64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("INSERT INTO outbox_consumers (consumer, tenant_id, position, updated_at) VALUES (")
        .bind(consumer.to_owned()).push(", ")
        .bind(ctx.id().to_owned()).push(", ")
        .bind(seq).push(", ")
        .bind(now)
        .push(") ON CONFLICT (consumer, tenant_id) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at WHERE outbox_consumers.position < excluded.position");
    conn.exec(sql).await.map(|_| ())
}

/// Sets a consumer's position back to 0 (a full rebuild for the search indexer).
pub async fn reset_position(
    conn: &impl Exec,
    consumer: &str,
    ctx: &TenantCtx,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE outbox_consumers SET position = 0, updated_at = 0 WHERE consumer = ")
        .bind(consumer.to_owned())
        .push(" AND tenant_id = ")
        .bind(ctx.id().to_owned());
    conn.exec(sql).await.map(|_| ())
}

/// Marks a consumer as working on a tenant (an indexer starting a rebuild), without moving
/// its position; see [`touched_at`].
pub async fn touch(
    conn: &impl Exec,
    consumer: &str,
    ctx: &TenantCtx,
    now: i64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE outbox_consumers SET updated_at = ")
        .bind(now)
        .push(" WHERE consumer = ")
        .bind(consumer.to_owned())
        .push(" AND tenant_id = ")
        .bind(ctx.id().to_owned());
    conn.exec(sql).await.map(|_| ())
}

/// When a consumer last acknowledged or touched a tenant (0 if never).
pub async fn touched_at(conn: &impl Exec, consumer: &str, ctx: &TenantCtx) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT updated_at FROM outbox_consumers WHERE consumer = ")
        .bind(consumer.to_owned())
        .push(" AND tenant_id = ")
        .bind(ctx.id().to_owned());
    match conn.row(sql).await? {
        Some(row) => row.try_get("", "updated_at"),
        None => Ok(0),
    }
}

/// The consumer's position for the tenant with its row locked until the transaction ends, on
/// PostgreSQL; `None` when another node holds it. On SQLite (one node) the plain position.
pub async fn claim(
    conn: &impl Exec,
    consumer: &str,
    ctx: &TenantCtx,
) -> Result<Option<i64>, DbErr> {
    if conn.backend() != DbBackend::Postgres {
        return position(conn, consumer, ctx).await.map(Some);
    }
    let mut ensure = Sql::new(DbBackend::Postgres);
    ensure
        .push("INSERT INTO outbox_consumers (consumer, tenant_id, position, updated_at) VALUES (")
        .bind(consumer.to_owned())
        .push(", ")
        .bind(ctx.id().to_owned())
        .push(", 0, 0) ON CONFLICT (consumer, tenant_id) DO NOTHING");
    conn.exec(ensure).await?;
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push("SELECT position FROM outbox_consumers WHERE consumer = ")
        .bind(consumer.to_owned())
        .push(" AND tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" FOR UPDATE SKIP LOCKED");
    match conn.row(sql).await? {
        Some(row) => Ok(Some(row.try_get("", "position")?)),
        None => Ok(None),
    }
}

/// Per tenant: slug, latest sequence and a consumer's position (for `/readyz` and metrics).
pub async fn backlogs(conn: &impl Exec, consumer: &str) -> Result<Vec<(String, i64, i64)>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT t.slug, t.event_seq, COALESCE(c.position, 0) AS position FROM tenants t LEFT JOIN outbox_consumers c ON c.tenant_id = t.id AND c.consumer = ")
        .bind(consumer.to_owned())
        .push(" ORDER BY t.slug");
    conn.rows(sql)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("", "slug")?,
                row.try_get("", "event_seq")?,
                row.try_get("", "position")?,
            ))
        })
        .collect()
}

/// The tenant's latest sequence number (0 before the first event).
pub async fn latest(conn: &impl Exec, ctx: &TenantCtx) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT COALESCE(MAX(tenant_seq), 0) AS n FROM outbox WHERE tenant_id = ")
        .bind(ctx.id().to_owned());
    match conn.row(sql).await? {
        Some(row) => row.try_get("", "n"),
        None => Ok(0),
    }
}

/// The oldest and the newest sequence in a tenant's outbox, in one statement (0, 0 when it is
/// empty): a consumer whose position is below the oldest minus one has missed pruned events.
///
/// One scalar subquery per end: SQLite reads a lone `MIN` or `MAX` from the end of the index,
/// but `MIN` and `MAX` in one select scan every row of the tenant's outbox (16 ms at 100,000
/// events, for each pass of the search indexer).
pub async fn bounds(conn: &impl Exec, ctx: &TenantCtx) -> Result<(i64, i64), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT COALESCE((SELECT MIN(tenant_seq) FROM outbox WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push("), 0) AS lo, COALESCE((SELECT MAX(tenant_seq) FROM outbox WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push("), 0) AS hi");
    match conn.row(sql).await? {
        Some(row) => Ok((row.try_get("", "lo")?, row.try_get("", "hi")?)),
        None => Ok((0, 0)),
    }
}

/// The oldest sequence still in a tenant's outbox (0 when it is empty).
pub async fn oldest(conn: &impl Exec, ctx: &TenantCtx) -> Result<i64, DbErr> {
    bounds(conn, ctx).await.map(|(lo, _)| lo)
}

/// The position every live consumer of a tenant has passed: the smallest position among
/// consumers heard from since `fresh_since` (ms); `None` when none has been.
pub async fn passed_by_all(
    conn: &impl Exec,
    ctx: &TenantCtx,
    fresh_since: i64,
) -> Result<Option<i64>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT MIN(position) AS n FROM outbox_consumers WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND updated_at >= ")
        .bind(fresh_since);
    match conn.row(sql).await? {
        Some(row) => row.try_get::<Option<i64>>("", "n"),
        None => Ok(None),
    }
}

/// Deletes a tenant's events up to `through` that were written before `before` (ms), always
/// keeping the newest event (the sequence's high-water mark). Returns how many went.
pub async fn prune(
    conn: &impl Exec,
    ctx: &TenantCtx,
    through: i64,
    before: i64,
) -> Result<u64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("DELETE FROM outbox WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND tenant_seq <= ")
        .bind(through)
        .push(" AND created_at < ")
        .bind(before)
        .push(" AND tenant_seq < (SELECT COALESCE(MAX(o.tenant_seq), 0) FROM outbox o WHERE o.tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(")");
    conn.exec(sql).await
}
