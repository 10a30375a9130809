//! The `api_tokens` table. Only a SHA-256 hash of a token is stored.

use sea_orm::{ConnectionTrait, DbErr};

use super::reads::{Fetch, Row};

use super::sql::Sql;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    ctx: &TenantCtx,
    row: &TokenRow,
    hash: &str,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO api_tokens (id, tenant_id, kind, name, prefix, hash, created_at, expires_at) VALUES (")
        .bind(row.id.clone()).push(", ")
        .bind(ctx.id().to_owned()).push(", ")
        .bind(row.kind.clone()).push(", ")
        .bind(row.name.clone()).push(", ")
        .bind(row.prefix.clone()).push(", ")
        .bind(hash.to_owned()).push(", ")
        .bind(row.created_at).push(", ")
        .bind(row.expires_at).push(")");
    sql.execute(conn).await.map(|_| ())
}

const COLUMNS: &str =
    "id, tenant_id, kind, name, prefix, created_at, expires_at, revoked_at, last_used_at";

fn from_row(row: &Row) -> Result<TokenRow, DbErr> {
    Ok(TokenRow {
        id: row.try_get("", "id")?,
        tenant_id: row.try_get("", "tenant_id")?,
        kind: row.try_get("", "kind")?,
        name: row.try_get("", "name")?,
        prefix: row.try_get("", "prefix")?,
        created_at: row.try_get("", "created_at")?,
        expires_at: row.try_get("", "expires_at")?,
        revoked_at: row.try_get("", "revoked_at")?,
        last_used_at: row.try_get("", "last_used_at")?,
    })
}

/// What a request learns about its tenant with its credential, from the same statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TenantRevs {
    /// The outbox sequence (`tenants::event_seq`): versions the response cache.
    pub seq: i64,
    /// Changes to the plugin setups (`tenants.plugins_rev`): versions the setups kept in memory.
    pub plugins: i64,
}

/// Looks a token up by hash, whatever its tenant: this is how a request finds its tenant. Also
/// returns the tenant's [`TenantRevs`] at no extra round trip.
pub(crate) async fn find_by_hash(
    conn: &impl Fetch,
    hash: &str,
) -> Result<Option<(TokenRow, TenantRevs)>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(
            ", (SELECT n.event_seq FROM tenants n WHERE n.id = api_tokens.tenant_id) AS tenant_seq\
             , (SELECT n.plugins_rev FROM tenants n WHERE n.id = api_tokens.tenant_id) AS plugins_rev",
        )
        .push(" FROM api_tokens WHERE hash = ")
        .bind(hash.to_owned())
        // By a unique key.
        .plan_by_shape();
    let Some(row) = conn.row(sql).await? else {
        return Ok(None);
    };
    let revs = TenantRevs {
        seq: row.try_get("", "tenant_seq")?,
        plugins: row.try_get("", "plugins_rev")?,
    };
    Ok(Some((from_row(&row)?, revs)))
}

/// What the store says of a token when a request's read carries its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Present and not revoked (expiry is fixed at creation: the caller checks it).
    Active,
    Revoked,
    /// No such token (never was, or its tenant was deleted).
    Unknown,
}

/// A token check that travels with the first read of a request able to carry it
/// ([`Sql::may_carry_check`]), so that on PostgreSQL it costs no round trip of its own and is
/// answered in the same snapshot as the data. A request whose reads could not carry it (none
/// returned a row, or none was a plain `SELECT`) checks the token on its own before answering.
#[derive(Debug)]
pub struct CredentialCheck {
    hash: String,
    /// 0: open; 1: riding on a statement in flight; 2: answered.
    state: std::sync::atomic::AtomicU8,
    outcome: std::sync::OnceLock<TokenState>,
}

const CHECK_COLUMN: &str = "zellige_token_state";

impl CredentialCheck {
    pub fn new(hash: String) -> Self {
        CredentialCheck {
            hash,
            state: std::sync::atomic::AtomicU8::new(0),
            outcome: std::sync::OnceLock::new(),
        }
    }

    /// The answer, once a read brought it.
    pub fn outcome(&self) -> Option<TokenState> {
        self.outcome.get().copied()
    }

    /// Adds the check to `sql` when nothing carries it yet and `sql` can: `true` then, and the
    /// statement's rows must go to [`Self::settle`].
    pub(crate) fn board(&self, sql: &mut Sql) -> bool {
        use std::sync::atomic::Ordering;
        if !sql.may_carry()
            || self
                .state
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return false;
        }
        // 1 active, 0 revoked, 2 unknown.
        let boarded = sql.lead_column(
            "COALESCE((SELECT CASE WHEN t.revoked_at IS NULL THEN 1 ELSE 0 END \
             FROM api_tokens t WHERE t.hash = {}), 2)",
            self.hash.clone(),
            CHECK_COLUMN,
        );
        if !boarded {
            self.state.store(0, Ordering::Release);
        }
        boarded
    }

    /// Takes the answer from the first row of a statement that carried the check; without a
    /// row (or on an error) the check is open again for the next statement.
    pub(crate) fn settle(&self, first: Option<&Row>) {
        use std::sync::atomic::Ordering;
        let state = first.and_then(|row| row.try_get::<i32>("", CHECK_COLUMN).ok());
        let Some(state) = state else {
            self.state.store(0, Ordering::Release);
            return;
        };
        let _ = self.outcome.set(match state {
            1 => TokenState::Active,
            0 => TokenState::Revoked,
            _ => TokenState::Unknown,
        });
        self.state.store(2, Ordering::Release);
    }
}

/// The tenant's tokens, newest first (metadata only: the hash never leaves the store).
pub(crate) async fn list(conn: &impl Fetch, ctx: &TenantCtx) -> Result<Vec<TokenRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM api_tokens WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" ORDER BY id DESC");
    conn.rows(sql).await?.iter().map(from_row).collect()
}

pub(crate) async fn find(
    conn: &impl Fetch,
    ctx: &TenantCtx,
    id: &str,
) -> Result<Option<TokenRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM api_tokens WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND id = ")
        .bind(id.to_owned());
    conn.row(sql).await?.as_ref().map(from_row).transpose()
}

pub async fn revoke(
    conn: &impl ConnectionTrait,
    ctx: &TenantCtx,
    id: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE api_tokens SET revoked_at = ")
        .bind(now)
        .push(" WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND id = ")
        .bind(id.to_owned())
        .push(" AND revoked_at IS NULL");
    Ok(sql.execute(conn).await? > 0)
}

/// Records use, at most once a minute per token so that reads do not turn into writes.
pub async fn touch(conn: &impl ConnectionTrait, id: &str, now: i64) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE api_tokens SET last_used_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id.to_owned())
        .push(" AND (last_used_at IS NULL OR last_used_at < ")
        .bind(now - 60_000)
        .push(")");
    sql.execute(conn).await.map(|_| ())
}
