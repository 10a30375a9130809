//! The `content_types` table: one JSON definition per (tenant, type name).

use sea_orm::DbErr;

use super::reads::Exec;

use super::sql::Sql;
use crate::tenancy::TenantCtx;

pub async fn list(conn: &impl Exec, ctx: &TenantCtx) -> Result<Vec<serde_json::Value>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT definition FROM content_types WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" ORDER BY created_at, name");
    conn.rows(sql)
        .await?
        .iter()
        .map(|row| {
            let text: String = row.try_get("", "definition")?;
            serde_json::from_str(&text)
                .map_err(|e| DbErr::Custom(format!("content_types.definition: {e}")))
        })
        .collect()
}

pub async fn upsert(
    conn: &impl Exec,
    ctx: &TenantCtx,
    name: &str,
    definition: &serde_json::Value,
    now: i64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("INSERT INTO content_types (tenant_id, name, definition, created_at, updated_at) VALUES (")
        .bind(ctx.id().to_owned()).push(", ")
        .bind(name.to_owned()).push(", ")
        .bind(definition.to_string()).push(", ")
        .bind(now).push(", ")
        .bind(now)
        .push(") ON CONFLICT (tenant_id, name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at");
    conn.exec(sql).await.map(|_| ())
}

pub async fn delete(conn: &impl Exec, ctx: &TenantCtx, name: &str) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("DELETE FROM content_types WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND name = ")
        .bind(name.to_owned());
    Ok(conn.exec(sql).await? > 0)
}
