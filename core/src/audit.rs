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
pub async fn record(conn: &impl ConnectionTrait, event: Event<'_>) -> Result<(), DbErr> {
    repo::insert(
        conn,
        &AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: event.tenant_id.map(str::to_owned),
            at: now_ms(),
            actor: event.actor.to_owned(),
            action: event.action.to_owned(),
            target: event.target,
            detail: event.detail,
            client: event.client,
        },
    )
    .await
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
