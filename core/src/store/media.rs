//! The `media_assets` and `media_variants` tables.

use sea_orm::{DbErr, Value};

use super::reads::{Exec, Row};

use super::sql::{Sql, insert_rows};

#[derive(Debug, Clone, PartialEq)]
pub struct AssetRow {
    pub id: String,
    pub tenant_id: String,
    /// Hex SHA-256 of the bytes: their address in storage.
    pub sha256: String,
    pub file_name: String,
    pub mime: String,
    pub size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// JSON object: locale → text.
    pub alt: String,
    /// JSON object: locale → text.
    pub caption: String,
    pub folder: String,
    /// JSON list of strings.
    pub tags: String,
    pub is_public: bool,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: [&str; 16] = [
    "id",
    "tenant_id",
    "sha256",
    "file_name",
    "mime",
    "size",
    "width",
    "height",
    "alt",
    "caption",
    "folder",
    "tags",
    "is_public",
    "created_by",
    "created_at",
    "updated_at",
];

fn from_row(row: &Row) -> Result<AssetRow, DbErr> {
    Ok(AssetRow {
        id: row.try_get("", "id")?,
        tenant_id: row.try_get("", "tenant_id")?,
        sha256: row.try_get("", "sha256")?,
        file_name: row.try_get("", "file_name")?,
        mime: row.try_get("", "mime")?,
        size: row.try_get("", "size")?,
        width: row.try_get("", "width")?,
        height: row.try_get("", "height")?,
        alt: row.try_get("", "alt")?,
        caption: row.try_get("", "caption")?,
        folder: row.try_get("", "folder")?,
        tags: row.try_get("", "tags")?,
        is_public: row.try_get("", "is_public")?,
        created_by: row.try_get("", "created_by")?,
        created_at: row.try_get("", "created_at")?,
        updated_at: row.try_get("", "updated_at")?,
    })
}

fn values(a: &AssetRow) -> Vec<Value> {
    vec![
        a.id.clone().into(),
        a.tenant_id.clone().into(),
        a.sha256.clone().into(),
        a.file_name.clone().into(),
        a.mime.clone().into(),
        a.size.into(),
        a.width.into(),
        a.height.into(),
        a.alt.clone().into(),
        a.caption.clone().into(),
        a.folder.clone().into(),
        a.tags.clone().into(),
        a.is_public.into(),
        a.created_by.clone().into(),
        a.created_at.into(),
        a.updated_at.into(),
    ]
}

pub async fn insert(conn: &impl Exec, a: &AssetRow) -> Result<(), DbErr> {
    insert_rows(conn, "media_assets", &COLUMNS, vec![values(a)]).await
}

pub async fn get(conn: &impl Exec, tenant_id: &str, id: &str) -> Result<Option<AssetRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(&COLUMNS.join(", "))
        .push(" FROM media_assets WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND id = ")
        .bind(id.to_owned());
    conn.row(sql).await?.as_ref().map(from_row).transpose()
}

/// The tenant's assets among `ids` (the others do not exist or belong to another tenant).
pub async fn get_many(
    conn: &impl Exec,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<AssetRow>, DbErr> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(conn.backend());
        sql.push("SELECT ")
            .push(&COLUMNS.join(", "))
            .push(" FROM media_assets WHERE tenant_id = ")
            .bind(tenant_id.to_owned())
            .push(" AND id IN ")
            .bind_list(chunk.iter().cloned());
        for row in conn.rows(sql).await? {
            out.push(from_row(&row)?);
        }
    }
    Ok(out)
}

/// What a listing asks for.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `image/` (a prefix ending in `/`) or a whole type.
    pub mime: Option<String>,
    pub folder: Option<String>,
    pub tag: Option<String>,
    /// A substring of the file name.
    pub name: Option<String>,
    /// Ids are time-ordered (UUID v7): newest first, from below this id.
    pub before_id: Option<String>,
}

/// One page of the tenant's assets, newest first; `limit` rows at most.
pub async fn list(
    conn: &impl Exec,
    tenant_id: &str,
    f: &ListFilter,
    limit: u64,
) -> Result<Vec<AssetRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(&COLUMNS.join(", "))
        .push(" FROM media_assets WHERE tenant_id = ")
        .bind(tenant_id.to_owned());
    if let Some(m) = &f.mime {
        if let Some(prefix) = m.strip_suffix('/') {
            sql.push(" AND substr(mime, 1, ")
                .push(&(prefix.len() + 1).to_string())
                .push(") = ")
                .bind(format!("{prefix}/"));
        } else {
            sql.push(" AND mime = ").bind(m.clone());
        }
    }
    if let Some(folder) = &f.folder {
        sql.push(" AND folder = ").bind(folder.clone());
    }
    if let Some(tag) = &f.tag {
        // Tags are stored as a JSON list of strings; a quoted match is exact.
        sql.push(" AND tags LIKE ")
            .bind(format!(
                "%{}%",
                like_escape(&serde_json::Value::from(tag.clone()).to_string())
            ))
            .push(" ESCAPE '\\'");
    }
    if let Some(name) = &f.name {
        sql.push(" AND lower(file_name) LIKE ")
            .bind(format!("%{}%", like_escape(&name.to_lowercase())))
            .push(" ESCAPE '\\'");
    }
    if let Some(before) = &f.before_id {
        sql.push(" AND id < ").bind(before.clone());
    }
    sql.push(&format!(" ORDER BY id DESC LIMIT {limit}"));
    conn.rows(sql).await?.iter().map(from_row).collect()
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Writes the metadata columns (not the bytes, the tenant or the creation).
pub async fn update_meta(conn: &impl Exec, a: &AssetRow) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE media_assets SET file_name = ")
        .bind(a.file_name.clone())
        .push(", alt = ")
        .bind(a.alt.clone())
        .push(", caption = ")
        .bind(a.caption.clone())
        .push(", folder = ")
        .bind(a.folder.clone())
        .push(", tags = ")
        .bind(a.tags.clone())
        .push(", is_public = ")
        .bind(a.is_public)
        .push(", updated_at = ")
        .bind(a.updated_at)
        .push(" WHERE tenant_id = ")
        .bind(a.tenant_id.clone())
        .push(" AND id = ")
        .bind(a.id.clone());
    Ok(conn.exec(sql).await? == 1)
}

pub async fn delete(conn: &impl Exec, tenant_id: &str, id: &str) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("DELETE FROM media_assets WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND id = ")
        .bind(id.to_owned());
    Ok(conn.exec(sql).await? == 1)
}

/// How many of the tenant's assets name these bytes.
pub async fn sharing(conn: &impl Exec, tenant_id: &str, sha256: &str) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT COUNT(*) AS n FROM media_assets WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND sha256 = ")
        .bind(sha256.to_owned());
    match conn.row(sql).await? {
        Some(row) => row.try_get("", "n"),
        None => Ok(0),
    }
}

/// Bytes the tenant stores: each distinct content once.
pub async fn stored_bytes(conn: &impl Exec, tenant_id: &str) -> Result<i64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    // SUM is NUMERIC on PostgreSQL: cast back to an integer.
    sql.push("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS n FROM (SELECT DISTINCT sha256, size FROM media_assets WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(") AS s");
    match conn.row(sql).await? {
        Some(row) => row.try_get::<i64>("", "n"),
        None => Ok(0),
    }
}

/// Every content address the tenant's assets name (the sweep keeps these).
pub async fn all_hashes(conn: &impl Exec, tenant_id: &str) -> Result<Vec<String>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT DISTINCT sha256 FROM media_assets WHERE tenant_id = ")
        .bind(tenant_id.to_owned());
    conn.rows(sql)
        .await?
        .iter()
        .map(|r| r.try_get("", "sha256"))
        .collect()
}

/// Records a stored variant (idempotent).
pub async fn add_variant(
    conn: &impl Exec,
    tenant_id: &str,
    sha256: &str,
    params: &str,
    mime: &str,
    size: i64,
    now: i64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push(
        "INSERT INTO media_variants (tenant_id, sha256, params, mime, size, created_at) VALUES ",
    )
    .bind_list([
        Value::from(tenant_id.to_owned()),
        sha256.to_owned().into(),
        params.to_owned().into(),
        mime.to_owned().into(),
        size.into(),
        now.into(),
    ])
    .push(" ON CONFLICT (tenant_id, sha256, params) DO NOTHING");
    conn.exec(sql).await.map(|_| ())
}

/// The variants stored for some bytes, as their parameter strings; then forgets them.
pub async fn take_variants(
    conn: &impl Exec,
    tenant_id: &str,
    sha256: &str,
) -> Result<Vec<String>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT params FROM media_variants WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND sha256 = ")
        .bind(sha256.to_owned());
    let params = conn
        .rows(sql)
        .await?
        .iter()
        .map(|r| r.try_get("", "params"))
        .collect::<Result<Vec<String>, _>>()?;
    let mut del = Sql::new(conn.backend());
    del.push("DELETE FROM media_variants WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND sha256 = ")
        .bind(sha256.to_owned());
    conn.exec(del).await?;
    Ok(params)
}

/// Entries (id, type, stage) whose indexed `field` of `entry_type` holds `asset_id`.
pub async fn referring(
    conn: &impl Exec,
    tenant_id: &str,
    fields: &[(String, String)],
    asset_id: &str,
) -> Result<Vec<(String, String, i16)>, DbErr> {
    let mut out = Vec::new();
    for (entry_type, field) in fields {
        let mut sql = Sql::new(conn.backend());
        sql.push("SELECT DISTINCT entry_id, stage FROM entry_fields WHERE tenant_id = ")
            .bind(tenant_id.to_owned())
            .push(" AND type = ")
            .bind(entry_type.clone())
            .push(" AND field = ")
            .bind(field.clone())
            .push(" AND v = ")
            .bind(asset_id.to_owned())
            .push(" LIMIT 100");
        for row in conn.rows(sql).await? {
            let stage: i16 = row
                .try_get::<i16>("", "stage")
                .or_else(|_| row.try_get::<i32>("", "stage").map(|s| s as i16))?;
            out.push((row.try_get("", "entry_id")?, entry_type.clone(), stage));
        }
    }
    Ok(out)
}
