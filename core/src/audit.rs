//! The audit log: every write and every security event, with who, which tenant, what and when.
//!
//! Content writes record their event inside their own transaction (see `content`), so an
//! acknowledged write always has its audit row and a rolled-back one never does. Security
//! events (logins, token and user changes) are recorded by `auth`. Tenant admins read the log
//! through the admin API. Secrets are never put into `detail`.

use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;

use crate::store::audit::{self as repo, AuditRow};
use crate::tenancy::TenantCtx;
use crate::time::{now_ms, to_rfc3339};

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// `None` for platform events.
    pub tenant_id: Option<&'a str>,
    /// `token:ID`, `user:ID`, `operator:ID`, `cli`, or `anonymous`.
    pub actor: &'a str,
    /// Dotted verb, e.g. `entry.published`, `auth.login_failed`, `token.revoked`.
    pub action: &'a str,
    /// What it acted on, e.g. `article/0193…`, `user/0193…`, `tenant/marrakech-safi`.
    pub target: String,
    pub detail: serde_json::Value,
    /// The client address, when the event came over HTTP.
    pub client: Option<String>,
}

impl<'a> Event<'a> {
    pub fn new(tenant: Option<&'a TenantCtx>, actor: &'a str, action: &'a str) -> Self {
        Event {
            tenant_id: tenant.map(TenantCtx::id),
            actor,
            action,
            target: String::new(),
            detail: serde_json::Value::Object(Default::default()),
            client: None,
        }
    }
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
    pub fn client(mut self, client: Option<String>) -> Self {
        self.client = client;
        self
    }
}

/// Appends an event, on a connection or inside the caller's transaction.
pub async fn record(conn: &impl crate::store::reads::Exec, event: Event<'_>) -> Result<(), DbErr> {
    repo::insert(conn, &event.into_row()).await
}

/// The rows of `events`, to be written with others (`store::sql::insert_all`).
pub(crate) fn rows_of<'a>(events: impl IntoIterator<Item = Event<'a>>) -> crate::store::sql::Rows {
    let rows: Vec<AuditRow> = events.into_iter().map(Event::into_row).collect();
    repo::rows_of(&rows)
}

impl Event<'_> {
    /// The row an event is stored as, stamped now.
    fn into_row(self) -> AuditRow {
        AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: self.tenant_id.map(str::to_owned),
            at: now_ms(),
            actor: self.actor.to_owned(),
            action: self.action.to_owned(),
            target: self.target,
            detail: self.detail,
            client: self.client,
        }
    }
}

/// An event as the admin API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
    pub client: Option<String>,
}

/// A tenant's events, newest first; `before` is the id of the last event of the previous page.
pub async fn list(
    conn: &impl ConnectionTrait,
    ctx: &TenantCtx,
    before: Option<&str>,
    action_prefix: Option<&str>,
    limit: u64,
) -> Result<Vec<AuditEntry>, DbErr> {
    Ok(repo::list(conn, ctx.id(), before, action_prefix, limit)
        .await?
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: to_rfc3339(r.at),
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: r.detail,
            client: r.client,
        })
        .collect())
}

/// Refusals (failed or throttled logins, 403s) as audit rows that an anonymous client cannot
/// turn into a flood of writes: the first of a kind (same tenant, actor, action, target,
/// client and detail) is written at once, repeats within `window` are counted in memory and
/// written as one row (`detail.repeated`) when the window ends, and at most `per_minute` rows
/// are written a minute; beyond that, refusals are counted per tenant in an
/// `audit.refusals_suppressed` row.
#[derive(Clone)]
pub struct Refusals {
    inner: std::sync::Arc<RefusalsInner>,
}

struct RefusalsInner {
    db: crate::store::Db,
    window: std::time::Duration,
    per_minute: u32,
    state: std::sync::Mutex<RefusalState>,
    flusher: std::sync::Once,
}

#[derive(Default)]
struct RefusalState {
    /// Kinds seen within the window: when first written, and repeats since.
    seen: std::collections::HashMap<String, (std::time::Instant, u64, AuditRow)>,
    /// Rows written in the current minute.
    minute: Option<(std::time::Instant, u32)>,
    /// Refusals not written, per tenant (`""`: the platform).
    suppressed: std::collections::HashMap<String, u64>,
}

/// Most kinds remembered at once; beyond, new kinds count as suppressed.
const REFUSAL_KINDS: usize = 10_000;

impl Refusals {
    pub fn new(db: crate::store::Db, window: std::time::Duration, per_minute: u32) -> Refusals {
        Refusals {
            inner: std::sync::Arc::new(RefusalsInner {
                db,
                window,
                per_minute,
                state: Default::default(),
                flusher: std::sync::Once::new(),
            }),
        }
    }

    /// Records a refusal (never inside a transaction: refusals write nothing else).
    pub async fn record(&self, event: Event<'_>) {
        self.start_flusher();
        let row = event.into_row();
        let key = format!(
            "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}",
            row.tenant_id.as_deref().unwrap_or(""),
            row.actor,
            row.action,
            row.target,
            row.client.as_deref().unwrap_or(""),
            row.detail
        );
        let write = {
            let mut state = self.lock();
            let now = std::time::Instant::now();
            if let Some((_, repeats, _)) = state.seen.get_mut(&key) {
                *repeats += 1;
                false
            } else if state.seen.len() >= REFUSAL_KINDS
                || !state.take_budget(now, self.inner.per_minute)
            {
                *state
                    .suppressed
                    .entry(row.tenant_id.clone().unwrap_or_default())
                    .or_default() += 1;
                false
            } else {
                state.seen.insert(key, (now, 0, row.clone()));
                true
            }
        };
        if write && let Err(e) = repo::insert(&self.inner.db, &row).await {
            tracing::error!(error = %e, "recording a refusal in the audit log");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RefusalState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn start_flusher(&self) {
        let weak = std::sync::Arc::downgrade(&self.inner);
        let window = self.inner.window;
        self.inner.flusher.call_once(|| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(window.max(std::time::Duration::from_millis(100)) / 2).await;
                    let Some(inner) = weak.upgrade() else { return };
                    Refusals { inner }.flush(false).await;
                }
            });
        });
    }

    /// Writes the repeats of kinds whose window ended (of every kind with `all`), and the
    /// suppressed counts.
    pub async fn flush(&self, all: bool) {
        let (rows, suppressed) = {
            let mut state = self.lock();
            let window = self.inner.window;
            let mut rows = Vec::new();
            state.seen.retain(|_, (at, repeats, row)| {
                let ended = all || at.elapsed() >= window;
                if ended && *repeats > 0 {
                    let mut r = row.clone();
                    r.id = uuid::Uuid::now_v7().to_string();
                    r.at = now_ms();
                    if let serde_json::Value::Object(d) = &mut r.detail {
                        d.insert("repeated".into(), serde_json::Value::from(*repeats));
                    } else {
                        r.detail = serde_json::json!({ "repeated": *repeats, "detail": r.detail });
                    }
                    rows.push(r);
                }
                !ended
            });
            (rows, std::mem::take(&mut state.suppressed))
        };
        let mut all_rows = rows;
        for (tenant, n) in suppressed {
            all_rows.push(AuditRow {
                id: uuid::Uuid::now_v7().to_string(),
                tenant_id: (!tenant.is_empty()).then_some(tenant),
                at: now_ms(),
                actor: "zellige".into(),
                action: "audit.refusals_suppressed".into(),
                target: String::new(),
                detail: serde_json::json!({ "count": n }),
                client: None,
            });
        }
        for row in all_rows {
            if let Err(e) = repo::insert(&self.inner.db, &row).await {
                tracing::error!(error = %e, "recording repeated refusals in the audit log");
            }
        }
    }
}

impl RefusalState {
    /// Takes one write from this minute's budget, if any is left.
    fn take_budget(&mut self, now: std::time::Instant, per_minute: u32) -> bool {
        let minute = match self.minute {
            Some((start, used))
                if now.duration_since(start) < std::time::Duration::from_secs(60) =>
            {
                (start, used)
            }
            _ => (now, 0),
        };
        if minute.1 >= per_minute {
            self.minute = Some(minute);
            return false;
        }
        self.minute = Some((minute.0, minute.1 + 1));
        true
    }
}
