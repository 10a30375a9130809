//! The plugin tables: `plugins` (one per id and scope), `plugin_versions` (manifest and
//! component bytes), `tenant_plugins` (what a tenant enabled, with configuration, grants and
//! limits) and `plugin_kv` (each plugin's key-value store in each tenant).

use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::reads::{Fetch, Row};
use super::sql::Sql;

/// A plugin id in one scope: `owner_tenant_id` is `None` for platform plugins.
#[derive(Debug, Clone)]
pub struct PluginRow {
    pub id: String,
    pub plugin_id: String,
    pub owner_tenant_id: Option<String>,
    pub latest_version: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A version's metadata (the component bytes are read separately).
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub plugin_row_id: String,
    pub version: String,
    pub manifest: String,
    pub sha256: String,
    pub created_at: i64,
}

/// A plugin as one tenant enabled it, with everything a call needs but the bytes.
#[derive(Debug, Clone)]
pub struct EnabledRow {
    pub plugin_row_id: String,
    pub plugin_id: String,
    pub owner_tenant_id: Option<String>,
    pub version: String,
    pub enabled: bool,
    pub manifest: String,
    pub sha256: String,
    pub config: String,
    pub grants: String,
    pub limits: String,
}

const PLUGIN_COLUMNS: &str =
    "id, plugin_id, owner_tenant_id, latest_version, created_at, updated_at";

fn plugin_from(row: &QueryResult) -> Result<PluginRow, DbErr> {
    Ok(PluginRow {
        id: row.try_get("", "id")?,
        plugin_id: row.try_get("", "plugin_id")?,
        owner_tenant_id: row.try_get("", "owner_tenant_id")?,
        latest_version: row.try_get("", "latest_version")?,
        created_at: row.try_get("", "created_at")?,
        updated_at: row.try_get("", "updated_at")?,
    })
}

/// The plugin of this id that `tenant` can see: its own private one, else the platform's.
/// With `tenant` `None`, the platform plugin only.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    tenant: Option<&str>,
    plugin_id: &str,
) -> Result<Option<PluginRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(PLUGIN_COLUMNS)
        .push(" FROM plugins WHERE plugin_id = ")
        .bind(plugin_id.to_owned())
        .push(" AND (owner_tenant_id IS NULL");
    if let Some(t) = tenant {
        sql.push(" OR owner_tenant_id = ").bind(t.to_owned());
    }
    // A tenant's own plugin first (NULLs sort last on both databases with this expression).
    sql.push(") ORDER BY CASE WHEN owner_tenant_id IS NULL THEN 1 ELSE 0 END LIMIT 1");
    sql.fetch_one(conn)
        .await?
        .map(|r| plugin_from(&r))
        .transpose()
}

/// The plugin of this id in exactly this scope.
pub async fn find_in_scope(
    conn: &impl ConnectionTrait,
    owner: Option<&str>,
    plugin_id: &str,
) -> Result<Option<PluginRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(PLUGIN_COLUMNS)
        .push(" FROM plugins WHERE plugin_id = ")
        .bind(plugin_id.to_owned());
    match owner {
        Some(t) => sql.push(" AND owner_tenant_id = ").bind(t.to_owned()),
        None => sql.push(" AND owner_tenant_id IS NULL"),
    };
    sql.fetch_one(conn)
        .await?
        .map(|r| plugin_from(&r))
        .transpose()
}

/// Whether any tenant holds a private plugin of this id (a platform install may not shadow it).
pub async fn any_private(conn: &impl ConnectionTrait, plugin_id: &str) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT id FROM plugins WHERE plugin_id = ")
        .bind(plugin_id.to_owned())
        .push(" AND owner_tenant_id IS NOT NULL LIMIT 1");
    Ok(sql.fetch_one(conn).await?.is_some())
}

/// Platform plugins and, with `tenant`, that tenant's private ones.
pub async fn list_visible(
    conn: &impl ConnectionTrait,
    tenant: Option<&str>,
) -> Result<Vec<PluginRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT ")
        .push(PLUGIN_COLUMNS)
        .push(" FROM plugins WHERE owner_tenant_id IS NULL");
    if let Some(t) = tenant {
        sql.push(" OR owner_tenant_id = ").bind(t.to_owned());
    }
    sql.push(" ORDER BY plugin_id, owner_tenant_id");
    sql.fetch_all(conn).await?.iter().map(plugin_from).collect()
}

pub async fn insert_plugin(conn: &impl ConnectionTrait, row: &PluginRow) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO plugins (id, plugin_id, owner_tenant_id, latest_version, created_at, updated_at) VALUES (")
        .bind(row.id.clone()).push(", ")
        .bind(row.plugin_id.clone()).push(", ")
        .bind(row.owner_tenant_id.clone()).push(", ")
        .bind(row.latest_version.clone()).push(", ")
        .bind(row.created_at).push(", ")
        .bind(row.updated_at).push(")");
    sql.execute(conn).await.map(|_| ())
}

pub async fn set_latest(
    conn: &impl ConnectionTrait,
    row_id: &str,
    version: &str,
    now: i64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE plugins SET latest_version = ")
        .bind(version.to_owned())
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(row_id.to_owned());
    sql.execute(conn).await.map(|_| ())
}

pub async fn delete_plugin(conn: &impl ConnectionTrait, row_id: &str) -> Result<bool, DbErr> {
    // Every tenant that had it set up sees a new revision of its setups.
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push(
        "UPDATE tenants SET plugins_rev = plugins_rev + 1 WHERE id IN \
         (SELECT tenant_id FROM tenant_plugins WHERE plugin_row_id = ",
    )
    .bind(row_id.to_owned())
    .push(")");
    sql.execute(conn).await?;
    for table in ["tenant_plugins", "plugin_versions"] {
        let mut sql = Sql::new(conn.get_database_backend());
        sql.push("DELETE FROM ")
            .push(table)
            .push(" WHERE plugin_row_id = ")
            .bind(row_id.to_owned());
        sql.execute(conn).await?;
    }
    // Components no version names any more.
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM plugin_wasm WHERE sha256 NOT IN (SELECT sha256 FROM plugin_versions)");
    sql.execute(conn).await?;
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM plugins WHERE id = ")
        .bind(row_id.to_owned());
    Ok(sql.execute(conn).await? > 0)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_version(
    conn: &impl ConnectionTrait,
    row_id: &str,
    version: &str,
    manifest: &str,
    wasm: &[u8],
    sha256: &str,
    now: i64,
    by: &str,
) -> Result<(), DbErr> {
    // The component is stored once per content hash, apart from the version rows (see the
    // `plugin_wasm` migration).
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO plugin_wasm (sha256, wasm) VALUES (")
        .bind(sha256.to_owned())
        .push(", ")
        .bind(wasm.to_vec())
        .push(") ON CONFLICT (sha256) DO NOTHING");
    sql.execute(conn).await?;
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO plugin_versions (plugin_row_id, version, manifest, sha256, created_at, created_by) VALUES (")
        .bind(row_id.to_owned()).push(", ")
        .bind(version.to_owned()).push(", ")
        .bind(manifest.to_owned()).push(", ")
        .bind(sha256.to_owned()).push(", ")
        .bind(now).push(", ")
        .bind(by.to_owned()).push(")");
    sql.execute(conn).await.map(|_| ())
}

fn version_from(row: &QueryResult) -> Result<VersionRow, DbErr> {
    Ok(VersionRow {
        plugin_row_id: row.try_get("", "plugin_row_id")?,
        version: row.try_get("", "version")?,
        manifest: row.try_get("", "manifest")?,
        sha256: row.try_get("", "sha256")?,
        created_at: row.try_get("", "created_at")?,
    })
}

pub async fn versions(conn: &impl ConnectionTrait, row_id: &str) -> Result<Vec<VersionRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT plugin_row_id, version, manifest, sha256, created_at FROM plugin_versions WHERE plugin_row_id = ")
        .bind(row_id.to_owned())
        .push(" ORDER BY created_at DESC, version DESC");
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(version_from)
        .collect()
}

pub async fn version(
    conn: &impl ConnectionTrait,
    row_id: &str,
    version: &str,
) -> Result<Option<VersionRow>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT plugin_row_id, version, manifest, sha256, created_at FROM plugin_versions WHERE plugin_row_id = ")
        .bind(row_id.to_owned())
        .push(" AND version = ")
        .bind(version.to_owned());
    sql.fetch_one(conn)
        .await?
        .map(|r| version_from(&r))
        .transpose()
}

/// The component bytes with this content hash.
pub async fn wasm_by_sha(
    conn: &impl ConnectionTrait,
    sha256: &str,
) -> Result<Option<Vec<u8>>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT wasm FROM plugin_wasm WHERE sha256 = ")
        .bind(sha256.to_owned());
    match sql.fetch_one(conn).await? {
        Some(row) => Ok(Some(row.try_get("", "wasm")?)),
        None => Ok(None),
    }
}

/// Every distinct component hash that some tenant has enabled (to warm the cache at start).
pub async fn enabled_hashes(conn: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let sql_text = "SELECT DISTINCT v.sha256 AS sha256 FROM tenant_plugins tp \
        JOIN plugin_versions v ON v.plugin_row_id = tp.plugin_row_id AND v.version = tp.version \
        WHERE tp.enabled = ";
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push(sql_text).bind(true);
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| r.try_get("", "sha256"))
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub async fn upsert_tenant_plugin(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    row_id: &str,
    version: &str,
    enabled: bool,
    config: &str,
    grants: &str,
    limits: &str,
    now: i64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO tenant_plugins (tenant_id, plugin_row_id, version, enabled, config, grants, limits, updated_at) VALUES (")
        .bind(tenant_id.to_owned()).push(", ")
        .bind(row_id.to_owned()).push(", ")
        .bind(version.to_owned()).push(", ")
        .bind(enabled).push(", ")
        .bind(config.to_owned()).push(", ")
        .bind(grants.to_owned()).push(", ")
        .bind(limits.to_owned()).push(", ")
        .bind(now)
        .push(") ON CONFLICT (tenant_id, plugin_row_id) DO UPDATE SET version = excluded.version, \
               enabled = excluded.enabled, config = excluded.config, grants = excluded.grants, \
               limits = excluded.limits, updated_at = excluded.updated_at");
    sql.execute(conn).await?;
    // In the same transaction: no request can read the new revision with the old setup.
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE tenants SET plugins_rev = plugins_rev + 1 WHERE id = ")
        .bind(tenant_id.to_owned());
    sql.execute(conn).await.map(|_| ())
}

const ENABLED_SELECT: &str = "SELECT p.id AS plugin_row_id, p.plugin_id AS plugin_id, \
    p.owner_tenant_id AS owner_tenant_id, tp.version AS version, tp.enabled AS enabled, \
    v.manifest AS manifest, v.sha256 AS sha256, tp.config AS config, tp.grants AS grants, \
    tp.limits AS limits FROM tenant_plugins tp \
    JOIN plugins p ON p.id = tp.plugin_row_id \
    JOIN plugin_versions v ON v.plugin_row_id = tp.plugin_row_id AND v.version = tp.version \
    WHERE tp.tenant_id = ";

fn enabled_from(row: &Row) -> Result<EnabledRow, DbErr> {
    Ok(EnabledRow {
        plugin_row_id: row.try_get("", "plugin_row_id")?,
        plugin_id: row.try_get("", "plugin_id")?,
        owner_tenant_id: row.try_get("", "owner_tenant_id")?,
        version: row.try_get("", "version")?,
        enabled: row.try_get("", "enabled")?,
        manifest: row.try_get("", "manifest")?,
        sha256: row.try_get("", "sha256")?,
        config: row.try_get("", "config")?,
        grants: row.try_get("", "grants")?,
        limits: row.try_get("", "limits")?,
    })
}

/// Every plugin the tenant has set up (enabled or not), with its chosen version's manifest.
pub async fn tenant_plugins(conn: &impl Fetch, tenant_id: &str) -> Result<Vec<EnabledRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push(ENABLED_SELECT)
        .bind(tenant_id.to_owned())
        .push(" ORDER BY p.plugin_id");
    conn.rows(sql).await?.iter().map(enabled_from).collect()
}

/// One plugin as the tenant set it up, by plugin id.
pub async fn tenant_plugin(
    conn: &impl Fetch,
    tenant_id: &str,
    plugin_id: &str,
) -> Result<Option<EnabledRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push(ENABLED_SELECT)
        .bind(tenant_id.to_owned())
        .push(" AND p.plugin_id = ")
        .bind(plugin_id.to_owned())
        .push(" AND (p.owner_tenant_id IS NULL OR p.owner_tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(")");
    conn.row(sql).await?.map(|r| enabled_from(&r)).transpose()
}

// --- key-value store ------------------------------------------------------------------------

pub async fn kv_get(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    plugin_id: &str,
    key: &str,
) -> Result<Option<String>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT value FROM plugin_kv WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND plugin_id = ")
        .bind(plugin_id.to_owned())
        .push(" AND key = ")
        .bind(key.to_owned());
    match sql.fetch_one(conn).await? {
        Some(row) => Ok(Some(row.try_get("", "value")?)),
        None => Ok(None),
    }
}

pub async fn kv_count(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    plugin_id: &str,
) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT COUNT(*) AS n FROM plugin_kv WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND plugin_id = ")
        .bind(plugin_id.to_owned());
    match sql.fetch_one(conn).await? {
        Some(row) => row.try_get("", "n"),
        None => Ok(0),
    }
}

pub async fn kv_set(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    plugin_id: &str,
    key: &str,
    value: &str,
    now: i64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO plugin_kv (tenant_id, plugin_id, key, value, updated_at) VALUES (")
        .bind(tenant_id.to_owned()).push(", ")
        .bind(plugin_id.to_owned()).push(", ")
        .bind(key.to_owned()).push(", ")
        .bind(value.to_owned()).push(", ")
        .bind(now)
        .push(") ON CONFLICT (tenant_id, plugin_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at");
    sql.execute(conn).await.map(|_| ())
}

pub async fn kv_delete(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    plugin_id: &str,
    key: &str,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM plugin_kv WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND plugin_id = ")
        .bind(plugin_id.to_owned())
        .push(" AND key = ")
        .bind(key.to_owned());
    sql.execute(conn).await.map(|_| ())
}

/// Adds `delta` to an integer value in one statement (no lost increments under concurrency);
/// returns the new value. The caller has checked that a present value is an integer.
pub async fn kv_increment(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    plugin_id: &str,
    key: &str,
    delta: i64,
    now: i64,
) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO plugin_kv (tenant_id, plugin_id, key, value, updated_at) VALUES (")
        .bind(tenant_id.to_owned()).push(", ")
        .bind(plugin_id.to_owned()).push(", ")
        .bind(key.to_owned()).push(", ")
        .bind(delta.to_string()).push(", ")
        .bind(now)
        .push(") ON CONFLICT (tenant_id, plugin_id, key) DO UPDATE SET value = CAST(CAST(plugin_kv.value AS BIGINT) + ")
        .bind(delta)
        .push(" AS TEXT), updated_at = excluded.updated_at RETURNING value");
    let row = sql
        .fetch_one(conn)
        .await?
        .ok_or_else(|| DbErr::Custom("increment returned no row".into()))?;
    let text: String = row.try_get("", "value")?;
    text.parse()
        .map_err(|_| DbErr::Custom(format!("kv value `{text}` is not an integer")))
}
