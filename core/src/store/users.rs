//! The `users` table (per-tenant accounts; passwords as argon2id hashes) and the `operators`
//! table (platform accounts, no tenant).

use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::sql::Sql;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, email, role, password_hash, disabled, created_at, updated_at";

fn from_row(row: &QueryResult) -> Result<UserRow, DbErr> {
    Ok(UserRow {
        id: row.try_get("", "id")?,
        email: row.try_get("", "email")?,
        role: row.try_get("", "role")?,
        password_hash: row.try_get("", "password_hash")?,
        disabled: row.try_get("", "disabled")?,
        created_at: row.try_get("", "created_at")?,
        updated_at: row.try_get("", "updated_at")?,
    })
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    ctx: &TenantCtx,
    user: &UserRow,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO users (id, tenant_id, email, role, password_hash, disabled, created_at, updated_at) VALUES (")
        .bind(user.id.clone()).push(", ")
        .bind(ctx.id().to_owned()).push(", ")
        .bind(user.email.clone()).push(", ")
        .bind(user.role.clone()).push(", ")
        .bind(user.password_hash.clone()).push(", ")
        .bind(user.disabled).push(", ")
        .bind(user.created_at).push(", ")
        .bind(user.updated_at).push(")");
    sql.execute(conn).await.map(|_| ())
}

pub async fn find_by_email(
    conn: &impl ConnectionTrait,
    ctx: &TenantCtx,
    email: &str,
) -> Result<Option<UserRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM users WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND email = ")
        .bind(email.to_owned());
    sql.fetch_one(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn find_by_id(
    conn: &impl ConnectionTrait,
    ctx: &TenantCtx,
    id: &str,
) -> Result<Option<UserRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM users WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND id = ")
        .bind(id.to_owned());
    sql.fetch_one(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list(conn: &impl ConnectionTrait, ctx: &TenantCtx) -> Result<Vec<UserRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM users WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" ORDER BY email");
    sql.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// Writes role, password hash and the disabled flag.
pub async fn update(
    conn: &impl ConnectionTrait,
    ctx: &TenantCtx,
    user: &UserRow,
) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE users SET role = ")
        .bind(user.role.clone())
        .push(", password_hash = ")
        .bind(user.password_hash.clone())
        .push(", disabled = ")
        .bind(user.disabled)
        .push(", updated_at = ")
        .bind(user.updated_at)
        .push(" WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND id = ")
        .bind(user.id.clone());
    Ok(sql.execute(conn).await? > 0)
}

pub async fn delete(conn: &impl ConnectionTrait, ctx: &TenantCtx, id: &str) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM users WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND id = ")
        .bind(id.to_owned());
    Ok(sql.execute(conn).await? > 0)
}

/// A platform operator.
#[derive(Debug, Clone)]
pub struct OperatorRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
}

pub async fn insert_operator(conn: &impl ConnectionTrait, op: &OperatorRow) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO operators (id, email, password_hash, disabled, created_at, updated_at) VALUES (")
        .bind(op.id.clone()).push(", ")
        .bind(op.email.clone()).push(", ")
        .bind(op.password_hash.clone()).push(", ")
        .bind(op.disabled).push(", ")
        .bind(op.created_at).push(", ")
        .bind(op.created_at).push(")");
    sql.execute(conn).await.map(|_| ())
}

fn operator_from_row(row: &QueryResult) -> Result<OperatorRow, DbErr> {
    Ok(OperatorRow {
        id: row.try_get("", "id")?,
        email: row.try_get("", "email")?,
        password_hash: row.try_get("", "password_hash")?,
        disabled: row.try_get("", "disabled")?,
        created_at: row.try_get("", "created_at")?,
    })
}

pub async fn find_operator(
    conn: &impl ConnectionTrait,
    column: OperatorKey<'_>,
) -> Result<Option<OperatorRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT id, email, password_hash, disabled, created_at FROM operators WHERE ");
    match column {
        OperatorKey::Id(id) => sql.push("id = ").bind(id.to_owned()),
        OperatorKey::Email(e) => sql.push("email = ").bind(e.to_owned()),
    };
    sql.fetch_one(conn)
        .await?
        .as_ref()
        .map(operator_from_row)
        .transpose()
}

/// How to find an operator.
#[derive(Debug, Clone, Copy)]
pub enum OperatorKey<'a> {
    Id(&'a str),
    Email(&'a str),
}
