//! The `audit_log` table: who did what, where and when. Append-only; ids are UUIDv7, so id
//! order is time order.

use sea_orm::DbErr;

use super::reads::Exec;

use super::sql::Sql;

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub id: String,
    /// `None` for platform events (tenant created or deleted, operator login).
    pub tenant_id: Option<String>,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
    pub client: Option<String>,
}

pub async fn insert(conn: &impl Exec, row: &AuditRow) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push(
        "INSERT INTO audit_log (id, tenant_id, at, actor, action, target, detail, client) VALUES (",
    )
    .bind(row.id.clone())
    .push(", ")
    .bind(row.tenant_id.clone())
    .push(", ")
    .bind(row.at)
    .push(", ")
    .bind(row.actor.clone())
    .push(", ")
    .bind(row.action.clone())
    .push(", ")
    .bind(row.target.clone())
    .push(", ")
    .bind(row.detail.to_string())
    .push(", ")
    .bind(row.client.clone())
    .push(")");
    conn.exec(sql).await.map(|_| ())
}

/// Audit rows as `sql::insert_all` writes them.
pub(crate) fn rows_of(rows: &[AuditRow]) -> super::sql::Rows {
    use sea_orm::Value;
    let values = rows
        .iter()
        .map(|r| {
            vec![
                Value::from(r.id.clone()),
                Value::from(r.tenant_id.clone()),
                Value::from(r.at),
                Value::from(r.actor.clone()),
                Value::from(r.action.clone()),
                Value::from(r.target.clone()),
                Value::from(r.detail.to_string()),
                Value::from(r.client.clone()),
            ]
        })
        .collect();
    super::sql::Rows {
        table: "audit_log",
        columns: &[
            "id",
            "tenant_id",
            "at",
            "actor",
            "action",
            "target",
            "detail",
            "client",
        ],
        rows: values,
    }
}

/// A tenant's events, newest first, older than `before` (an event id) when given.
pub async fn list(
    conn: &impl Exec,
    tenant_id: &str,
    before: Option<&str>,
    action_prefix: Option<&str>,
    limit: u64,
) -> Result<Vec<AuditRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT id, tenant_id, at, actor, action, target, detail, client FROM audit_log WHERE tenant_id = ")
        .bind(tenant_id.to_owned());
    if let Some(before) = before {
        sql.push(" AND id < ").bind(before.to_owned());
    }
    if let Some(prefix) = action_prefix {
        let escaped = prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        sql.push(" AND action LIKE ")
            .bind(format!("{escaped}%"))
            .push(" ESCAPE '\\'");
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit as i64);
    let rows = conn.rows(sql).await?;
    rows.iter()
        .map(|row| {
            let detail: String = row.try_get("", "detail")?;
            Ok(AuditRow {
                id: row.try_get("", "id")?,
                tenant_id: row.try_get("", "tenant_id")?,
                at: row.try_get("", "at")?,
                actor: row.try_get("", "actor")?,
                action: row.try_get("", "action")?,
                target: row.try_get("", "target")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                client: row.try_get("", "client")?,
            })
        })
        .collect()
}
