//! The `webhooks` and `webhook_deliveries` tables.

use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::sql::Sql;

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRow {
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub description: String,
    pub enabled: bool,
    /// JSON list of event patterns.
    pub events: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    pub failing_since: Option<i64>,
    /// The tenant's outbox sequence at creation: later events only are delivered.
    pub since_seq: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const HOOK_COLUMNS: &str = "id, tenant_id, url, description, enabled, events, secret, previous_secret, previous_until, failing_since, since_seq, created_at, updated_at";

fn hook_from(row: &QueryResult) -> Result<WebhookRow, DbErr> {
    Ok(WebhookRow {
        id: row.try_get("", "id")?,
        tenant_id: row.try_get("", "tenant_id")?,
        url: row.try_get("", "url")?,
        description: row.try_get("", "description")?,
        enabled: row.try_get("", "enabled")?,
        events: row.try_get("", "events")?,
        secret: row.try_get("", "secret")?,
        previous_secret: row.try_get("", "previous_secret")?,
        previous_until: row.try_get("", "previous_until")?,
        failing_since: row.try_get("", "failing_since")?,
        since_seq: row.try_get("", "since_seq")?,
        created_at: row.try_get("", "created_at")?,
        updated_at: row.try_get("", "updated_at")?,
    })
}

pub async fn insert(conn: &impl ConnectionTrait, w: &WebhookRow) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO webhooks (")
        .push(HOOK_COLUMNS)
        .push(") VALUES (")
        .bind(w.id.clone())
        .push(", ")
        .bind(w.tenant_id.clone())
        .push(", ")
        .bind(w.url.clone())
        .push(", ")
        .bind(w.description.clone())
        .push(", ")
        .bind(w.enabled)
        .push(", ")
        .bind(w.events.clone())
        .push(", ")
        .bind(w.secret.clone())
        .push(", ")
        .bind(w.previous_secret.clone())
        .push(", ")
        .bind(w.previous_until)
        .push(", ")
        .bind(w.failing_since)
        .push(", ")
        .bind(w.since_seq)
        .push(", ")
        .bind(w.created_at)
        .push(", ")
        .bind(w.updated_at)
        .push(")");
    sql.execute(conn).await.map(|_| ())
}

/// Writes every column but the id, tenant and creation time.
pub async fn update(conn: &impl ConnectionTrait, w: &WebhookRow) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE webhooks SET url = ")
        .bind(w.url.clone())
        .push(", description = ")
        .bind(w.description.clone())
        .push(", enabled = ")
        .bind(w.enabled)
        .push(", events = ")
        .bind(w.events.clone())
        .push(", secret = ")
        .bind(w.secret.clone())
        .push(", previous_secret = ")
        .bind(w.previous_secret.clone())
        .push(", previous_until = ")
        .bind(w.previous_until)
        .push(", failing_since = ")
        .bind(w.failing_since)
        .push(", updated_at = ")
        .bind(w.updated_at)
        .push(" WHERE id = ")
        .bind(w.id.clone())
        .push(" AND tenant_id = ")
        .bind(w.tenant_id.clone());
    sql.execute(conn).await.map(|n| n > 0)
}

pub async fn get(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    id: &str,
) -> Result<Option<WebhookRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(HOOK_COLUMNS)
        .push(" FROM webhooks WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND id = ")
        .bind(id.to_owned());
    sql.fetch_one(conn)
        .await?
        .as_ref()
        .map(hook_from)
        .transpose()
}

/// The tenant's endpoints, oldest first.
pub async fn list(conn: &impl ConnectionTrait, tenant_id: &str) -> Result<Vec<WebhookRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(HOOK_COLUMNS)
        .push(" FROM webhooks WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" ORDER BY created_at, id");
    sql.fetch_all(conn).await?.iter().map(hook_from).collect()
}

pub async fn delete(conn: &impl ConnectionTrait, tenant_id: &str, id: &str) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM webhooks WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND id = ")
        .bind(id.to_owned());
    sql.execute(conn).await.map(|n| n > 0)
}

/// Delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
    fn parse(s: &str) -> DeliveryStatus {
        match s {
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRow {
    /// Also the `webhook-id` header: a receiver deduplicates on it.
    pub id: String,
    pub webhook_id: String,
    pub tenant_id: String,
    pub tenant_seq: i64,
    pub event: String,
    pub entry_id: Option<String>,
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_status: Option<i32>,
    pub last_duration_ms: Option<i64>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, tenant_id, tenant_seq, event, entry_id, payload, status, attempts, next_attempt_at, last_status, last_duration_ms, last_response, last_error, created_at, delivered_at";

fn delivery_from(row: &QueryResult) -> Result<DeliveryRow, DbErr> {
    let status: String = row.try_get("", "status")?;
    Ok(DeliveryRow {
        id: row.try_get("", "id")?,
        webhook_id: row.try_get("", "webhook_id")?,
        tenant_id: row.try_get("", "tenant_id")?,
        tenant_seq: row.try_get("", "tenant_seq")?,
        event: row.try_get("", "event")?,
        entry_id: row.try_get("", "entry_id")?,
        payload: row.try_get("", "payload")?,
        status: DeliveryStatus::parse(&status),
        attempts: row.try_get("", "attempts")?,
        next_attempt_at: row.try_get("", "next_attempt_at")?,
        last_status: row.try_get("", "last_status")?,
        last_duration_ms: row.try_get("", "last_duration_ms")?,
        last_response: row.try_get("", "last_response")?,
        last_error: row.try_get("", "last_error")?,
        created_at: row.try_get("", "created_at")?,
        delivered_at: row.try_get("", "delivered_at")?,
    })
}

/// Adds a pending delivery; a second one for the same endpoint and event is ignored.
pub async fn enqueue(conn: &impl ConnectionTrait, d: &DeliveryRow) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO webhook_deliveries (")
        .push(DELIVERY_COLUMNS)
        .push(", lease_until) VALUES (")
        .bind(d.id.clone())
        .push(", ")
        .bind(d.webhook_id.clone())
        .push(", ")
        .bind(d.tenant_id.clone())
        .push(", ")
        .bind(d.tenant_seq)
        .push(", ")
        .bind(d.event.clone())
        .push(", ")
        .bind(d.entry_id.clone())
        .push(", ")
        .bind(d.payload.clone())
        .push(", 'pending', 0, ")
        .bind(d.next_attempt_at)
        .push(", NULL, NULL, NULL, NULL, ")
        .bind(d.created_at)
        .push(", NULL, NULL) ON CONFLICT (webhook_id, tenant_seq) DO NOTHING");
    sql.execute(conn).await.map(|_| ())
}

/// Endpoints with a delivery due now that no node holds, with their tenant.
pub async fn due_endpoints(
    conn: &impl ConnectionTrait,
    now: i64,
    limit: u64,
) -> Result<Vec<(String, String)>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT DISTINCT d.webhook_id, d.tenant_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.enabled = ")
        .bind(true)
        .push(" WHERE d.status = 'pending' AND d.next_attempt_at <= ")
        .bind(now)
        .push(" AND (d.lease_until IS NULL OR d.lease_until < ")
        .bind(now)
        .push(") LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "webhook_id")?, r.try_get("", "tenant_id")?)))
        .collect()
}

/// Takes the endpoint's next due deliveries, in event order, for `until` (one node sends
/// them): the oldest pending ones up to the first that is not due, at most `limit`. Empty when
/// another node holds any of them (its claim commits first; this one then finds them leased).
pub async fn claim_batch(
    db: &super::Db,
    webhook_id: &str,
    now: i64,
    until: i64,
    limit: u64,
) -> Result<Vec<DeliveryRow>, DbErr> {
    // A write from the start (on SQLite `BEGIN IMMEDIATE`): a read transaction that later
    // writes fails with SQLITE_BUSY_SNAPSHOT when another writer committed in between.
    let txn = super::begin_write(db).await?;
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("SELECT ")
        .push(DELIVERY_COLUMNS)
        .push(", lease_until FROM webhook_deliveries WHERE webhook_id = ")
        .bind(webhook_id.to_owned())
        .push(" AND status = 'pending' ORDER BY tenant_seq LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let mut batch = Vec::new();
    for row in sql.fetch_all(&txn).await? {
        let leased: Option<i64> = row.try_get("", "lease_until")?;
        let d = delivery_from(&row)?;
        if d.next_attempt_at > now || leased.is_some_and(|l| l >= now) {
            break; // in order: nothing after a delivery that waits
        }
        batch.push(d);
    }
    if batch.is_empty() {
        return Ok(batch);
    }
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("UPDATE webhook_deliveries SET lease_until = ")
        .bind(until)
        .push(" WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < ")
        .bind(now)
        .push(") AND id IN (");
    for (i, d) in batch.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(d.id.clone());
    }
    sql.push(")");
    let taken = sql.execute(&txn).await?;
    if taken != batch.len() as u64 {
        txn.rollback().await?;
        return Ok(Vec::new());
    }
    txn.commit().await?;
    Ok(batch)
}

/// Keeps claimed deliveries leased until `until`.
pub async fn extend_lease(
    conn: &impl ConnectionTrait,
    ids: &[String],
    until: i64,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE webhook_deliveries SET lease_until = ")
        .bind(until)
        .push(" WHERE status = 'pending' AND id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(id.clone());
    }
    sql.push(")");
    sql.execute(conn).await.map(|_| ())
}

/// Gives a claimed delivery back (its attempt could not be recorded), so that the next pass
/// sends it again rather than after the lease.
pub async fn release(conn: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE webhook_deliveries SET lease_until = NULL WHERE id = ")
        .bind(id.to_owned());
    sql.execute(conn).await.map(|_| ())
}

/// The outcome of one attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: DeliveryStatus,
    pub next_attempt_at: i64,
    pub code: Option<i32>,
    pub duration_ms: i64,
    pub response: Option<String>,
    pub error: Option<String>,
    pub at: i64,
}

pub async fn record_attempt(
    conn: &impl ConnectionTrait,
    id: &str,
    a: &Attempt,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE webhook_deliveries SET status = ")
        .bind(a.status.as_str().to_owned())
        .push(", attempts = attempts + 1, next_attempt_at = ")
        .bind(a.next_attempt_at)
        .push(", lease_until = NULL, last_status = ")
        .bind(a.code)
        .push(", last_duration_ms = ")
        .bind(a.duration_ms)
        .push(", last_response = ")
        .bind(a.response.clone())
        .push(", last_error = ")
        .bind(a.error.clone())
        .push(", delivered_at = ")
        .bind((a.status == DeliveryStatus::Delivered).then_some(a.at))
        .push(" WHERE id = ")
        .bind(id.to_owned());
    sql.execute(conn).await.map(|_| ())
}

/// The endpoint's deliveries, newest first.
pub async fn deliveries(
    conn: &impl ConnectionTrait,
    webhook_id: &str,
    limit: u64,
) -> Result<Vec<DeliveryRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(DELIVERY_COLUMNS)
        .push(" FROM webhook_deliveries WHERE webhook_id = ")
        .bind(webhook_id.to_owned())
        .push(" ORDER BY tenant_seq DESC LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(delivery_from)
        .collect()
}

/// Sends a delivery again (as a new attempt of the same message id).
pub async fn redeliver(
    conn: &impl ConnectionTrait,
    webhook_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ")
        .bind(now)
        .push(", lease_until = NULL WHERE webhook_id = ")
        .bind(webhook_id.to_owned())
        .push(" AND id = ")
        .bind(id.to_owned());
    sql.execute(conn).await.map(|n| n > 0)
}
