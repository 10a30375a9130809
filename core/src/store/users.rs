//! The `users` table (per-tenant accounts; passwords as argon2id hashes).

use sea_orm::{ConnectionTrait, DbErr};

use super::sql::Sql;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: i64,
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
        .bind(false).push(", ")
        .bind(user.created_at).push(", ")
        .bind(user.created_at).push(")");
    sql.execute(conn).await.map(|_| ())
}

pub async fn find_by_email(
    conn: &impl ConnectionTrait,
    ctx: &TenantCtx,
    email: &str,
) -> Result<Option<UserRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT id, email, role, password_hash, created_at FROM users WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND email = ")
        .bind(email.to_owned());
    let Some(row) = sql.fetch_one(conn).await? else {
        return Ok(None);
    };
    Ok(Some(UserRow {
        id: row.try_get("", "id")?,
        email: row.try_get("", "email")?,
        role: row.try_get("", "role")?,
        password_hash: row.try_get("", "password_hash")?,
        created_at: row.try_get("", "created_at")?,
    }))
}
