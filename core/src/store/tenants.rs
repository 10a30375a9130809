//! The `tenants` table.

use sea_orm::DbErr;

use super::reads::{Exec, Row};

use super::sql::Sql;

#[derive(Debug, Clone)]
pub struct TenantRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub locales: Vec<String>,
    pub default_locale: String,
    pub domains: Vec<String>,
    pub settings: serde_json::Value,
    pub schema_version: i64,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, slug, name, locales, default_locale, domains, settings, schema_version, created_at";

fn from_row(row: &Row) -> Result<TenantRow, DbErr> {
    let json = |col: &str| -> Result<serde_json::Value, DbErr> {
        let text: String = row.try_get("", col)?;
        serde_json::from_str(&text).map_err(|e| DbErr::Custom(format!("tenants.{col}: {e}")))
    };
    let strings = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(TenantRow {
        id: row.try_get("", "id")?,
        slug: row.try_get("", "slug")?,
        name: row.try_get("", "name")?,
        locales: strings(json("locales")?),
        default_locale: row.try_get("", "default_locale")?,
        domains: strings(json("domains")?),
        settings: json("settings")?,
        schema_version: row.try_get("", "schema_version")?,
        created_at: row.try_get("", "created_at")?,
    })
}

pub async fn insert(conn: &impl Exec, t: &TenantRow) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("INSERT INTO tenants (id, slug, name, locales, default_locale, domains, settings, schema_version, event_seq, created_at, updated_at) VALUES (")
        .bind(t.id.clone()).push(", ")
        .bind(t.slug.clone()).push(", ")
        .bind(t.name.clone()).push(", ")
        .bind(serde_json::to_string(&t.locales).unwrap_or_default()).push(", ")
        .bind(t.default_locale.clone()).push(", ")
        .bind(serde_json::to_string(&t.domains).unwrap_or_default()).push(", ")
        .bind(t.settings.to_string()).push(", ")
        .bind(t.schema_version).push(", 0, ")
        .bind(t.created_at).push(", ")
        .bind(t.created_at).push(")");
    conn.exec(sql).await.map(|_| ())
}

pub async fn find_by_slug(conn: &impl Exec, slug: &str) -> Result<Option<TenantRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM tenants WHERE slug = ")
        .bind(slug.to_owned());
    conn.row(sql).await?.as_ref().map(from_row).transpose()
}

pub async fn find_by_id(conn: &impl Exec, id: &str) -> Result<Option<TenantRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM tenants WHERE id = ")
        .bind(id.to_owned());
    conn.row(sql).await?.as_ref().map(from_row).transpose()
}

pub async fn list(conn: &impl Exec) -> Result<Vec<TenantRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM tenants ORDER BY slug");
    conn.rows(sql).await?.iter().map(from_row).collect()
}

/// Writes a tenant's name, domains and settings.
pub async fn update(conn: &impl Exec, t: &TenantRow, now: i64) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE tenants SET name = ")
        .bind(t.name.clone())
        .push(", locales = ")
        .bind(serde_json::to_string(&t.locales).unwrap_or_default())
        .push(", domains = ")
        .bind(serde_json::to_string(&t.domains).unwrap_or_default())
        .push(", settings = ")
        .bind(t.settings.to_string())
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(t.id.clone());
    conn.exec(sql).await.map(|_| ())
}

/// Deletes a tenant and everything it owns.
pub async fn delete(conn: &impl Exec, id: &str) -> Result<bool, DbErr> {
    for table in [
        "entry_fields",
        "entry_versions",
        "entry_docs",
        "content_types",
        "outbox",
        "outbox_consumers",
        "api_tokens",
        "users",
        "sessions",
        "audit_log",
    ] {
        let mut sql = Sql::new(conn.backend());
        sql.push("DELETE FROM ")
            .push(table)
            .push(" WHERE tenant_id = ")
            .bind(id.to_owned());
        conn.exec(sql).await?;
    }
    let mut sql = Sql::new(conn.backend());
    sql.push("DELETE FROM tenants WHERE id = ")
        .bind(id.to_owned());
    Ok(conn.exec(sql).await? > 0)
}

/// The tenant's latest outbox sequence number: it grows with every committed write (entries,
/// imports, content types), so it versions everything a read can see.
pub async fn event_seq(conn: &impl Exec, id: &str) -> Result<Option<i64>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT event_seq FROM tenants WHERE id = ")
        .bind(id.to_owned());
    match conn.row(sql).await? {
        Some(row) => Ok(Some(row.try_get("", "event_seq")?)),
        None => Ok(None),
    }
}

/// Takes the tenant's write lock (its row, until the transaction ends) and returns the schema
/// version current under that lock. Every tenant write takes it first, so writes of one tenant
/// are serialized on both databases (SQLite already serializes all writers), and a write that
/// validated against an older schema can notice and re-validate before it writes.
pub async fn lock_for_write(conn: &impl Exec, tenant_id: &str) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE tenants SET event_seq = event_seq WHERE id = ")
        .bind(tenant_id.to_owned())
        .push(" RETURNING schema_version");
    let row = conn
        .row(sql)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("tenant {tenant_id}")))?;
    row.try_get("", "schema_version")
}

/// Reserves `n` outbox sequence numbers for a tenant and returns the last one. The row lock it
/// takes also orders the tenant's writes, so sequence order is commit order.
pub async fn reserve_event_seq(conn: &impl Exec, tenant_id: &str, n: i64) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE tenants SET event_seq = event_seq + ")
        .bind(n)
        .push(" WHERE id = ")
        .bind(tenant_id.to_owned())
        .push(" RETURNING event_seq");
    let row = conn
        .row(sql)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("tenant {tenant_id}")))?;
    row.try_get("", "event_seq")
}

/// Bumps the schema version after a content-type change; returns the new version.
pub async fn bump_schema_version(
    conn: &impl Exec,
    tenant_id: &str,
    now: i64,
) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE tenants SET schema_version = schema_version + 1, updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(tenant_id.to_owned())
        .push(" RETURNING schema_version");
    let row = conn
        .row(sql)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("tenant {tenant_id}")))?;
    row.try_get("", "schema_version")
}

pub async fn update_settings(
    conn: &impl Exec,
    id: &str,
    settings: &serde_json::Value,
    now: i64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE tenants SET settings = ")
        .bind(settings.to_string())
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id.to_owned());
    conn.exec(sql).await.map(|_| ())
}
