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
