//! `entry_docs`, `entry_fields` and `entry_versions`: the documents of entries, their value
//! index, and their history. See the module docs of [`crate::store`] for the design.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, TransactionSession, TransactionTrait, Value};
use serde_json::Map;

use super::dialect;
use super::reads::{Exec, Fetch, Row};
use super::sql::{Rows, Sql, insert_rows};
use crate::content::values::{self, IndexRow};
use crate::tenancy::TenantCtx;

/// Which copy of an entry: the working draft, or what readers of published content see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Draft,
    Published,
}

impl Stage {
    fn code(self) -> i16 {
        match self {
            Stage::Draft => 0,
            Stage::Published => 1,
        }
    }
}

/// One stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocRow {
    pub entry_id: String,
    pub entry_type: String,
    pub slug: String,
    pub version: i64,
    pub data: Map<String, serde_json::Value>,
    pub locales: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// `None` while the entry has never been published (or was unpublished).
    pub published_at: Option<i64>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

/// The columns of a document, in the order `doc_with_fields` reads them.
const DOC_COLUMNS: &str = "d.entry_id, d.type, d.slug, d.version, d.data, d.locales, d.created_at, d.updated_at, d.published_at, d.created_by, d.updated_by";

fn doc_from_row(row: &Row) -> Result<DocRow, DbErr> {
    doc_with_fields(row, None)
}

/// A document with only the data fields in `keep` decoded (all of them with `None`).
fn doc_with_fields(row: &Row, keep: Option<&[String]>) -> Result<DocRow, DbErr> {
    // The columns of `DOC_COLUMNS`, in its order, from wherever the statement put them.
    let at = row.position("entry_id")?;
    let data = row.text_at(at + 4)?;
    let locales = row.text_at(at + 5)?;
    let published_at: i64 = row.try_get_at(at + 8)?;
    Ok(DocRow {
        entry_id: row.try_get_at(at)?,
        entry_type: row.try_get_at(at + 1)?,
        slug: row.try_get_at(at + 2)?,
        version: row.try_get_at(at + 3)?,
        data: decode_data(&data, keep)
            .map_err(|e| DbErr::Custom(format!("entry_docs.data: {e}")))?,
        locales: serde_json::from_str(&locales).unwrap_or_default(),
        created_at: row.try_get_at(at + 6)?,
        updated_at: row.try_get_at(at + 7)?,
        published_at: (published_at != 0).then_some(published_at),
        created_by: row.try_get_at(at + 9)?,
        updated_by: row.try_get_at(at + 10)?,
    })
}

/// Decodes a stored document's fields; with `keep`, only those, stepping over the others
/// without building them. A list page usually asks for a few short fields of documents whose
/// bulk is one long body: decoding every body took a tenth of the CPU of an uncached `latest`.
fn decode_data(
    text: &str,
    keep: Option<&[String]>,
) -> Result<serde_json::Map<String, serde_json::Value>, serde_json::Error> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

    struct Keep<'a>(&'a [String]);

    /// A key, borrowed from the text unless it has escapes: only kept keys are copied.
    struct Key<'de>(std::borrow::Cow<'de, str>);

    impl<'de> serde::Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Text;
            impl<'de> Visitor<'de> for Text {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(std::borrow::Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
                }
                fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                    Ok(Key(std::borrow::Cow::Owned(v)))
                }
            }
            d.deserialize_str(Text)
        }
    }

    impl<'de> DeserializeSeed<'de> for Keep<'_> {
        type Value = serde_json::Map<String, serde_json::Value>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Keep<'_> {
        type Value = serde_json::Map<String, serde_json::Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut out = serde_json::Map::new();
            while let Some(Key(key)) = access.next_key::<Key<'de>>()? {
                if self.0.iter().any(|k| *k == key) {
                    out.insert(key.into_owned(), access.next_value()?);
                } else {
                    access.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }

    match keep {
        None => serde_json::from_str(text),
        Some(keep) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let map = Keep(keep).deserialize(&mut de)?;
            de.end()?;
            Ok(map)
        }
    }
}

fn scope(sql: &mut Sql, ctx: &TenantCtx, stage: Stage) {
    sql.push("d.tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND d.stage = ")
        .bind(stage.code());
}

/// One document by id; `entry_type` narrows it when given.
pub(crate) async fn get(
    conn: &impl Fetch,
    ctx: &TenantCtx,
    stage: Stage,
    entry_type: Option<&str>,
    id: &str,
) -> Result<Option<DocRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(DOC_COLUMNS)
        .push(" FROM entry_docs d WHERE ");
    scope(&mut sql, ctx, stage);
    sql.push(" AND d.entry_id = ").bind(id.to_owned());
    if let Some(t) = entry_type {
        sql.push(" AND d.type = ").bind(t.to_owned());
    }
    // By primary key.
    sql.plan_by_shape().may_carry_check();
    conn.row(sql).await?.as_ref().map(doc_from_row).transpose()
}

/// The draft document, locked for the rest of the transaction (PostgreSQL).
pub(crate) async fn get_draft_for_update(
    conn: &impl Fetch,
    ctx: &TenantCtx,
    entry_type: &str,
    id: &str,
) -> Result<Option<DocRow>, DbErr> {
    let backend = conn.backend();
    let mut sql = Sql::new(backend);
    sql.push("SELECT ")
        .push(DOC_COLUMNS)
        .push(" FROM entry_docs d WHERE ");
    scope(&mut sql, ctx, Stage::Draft);
    sql.push(" AND d.type = ")
        .bind(entry_type.to_owned())
        .push(" AND d.entry_id = ")
        .bind(id.to_owned())
        .push(dialect::for_update(backend));
    conn.row(sql).await?.as_ref().map(doc_from_row).transpose()
}

pub(crate) async fn get_by_slug(
    conn: &impl Fetch,
    ctx: &TenantCtx,
    stage: Stage,
    entry_type: &str,
    slug: &str,
) -> Result<Option<DocRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(DOC_COLUMNS)
        .push(" FROM entry_docs d WHERE ");
    scope(&mut sql, ctx, stage);
    sql.push(" AND d.type = ")
        .bind(entry_type.to_owned())
        .push(" AND d.slug = ")
        .bind(slug.to_owned())
        // By a unique key.
        .plan_by_shape()
        .may_carry_check();
    conn.row(sql).await?.as_ref().map(doc_from_row).transpose()
}

/// Many documents by id in one query (batched reference loading).
pub(crate) async fn get_many(
    conn: &impl Fetch,
    ctx: &TenantCtx,
    stage: Stage,
    ids: &[String],
) -> Result<Vec<DocRow>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let mut sql = Sql::new(conn.backend());
        sql.push("SELECT ")
            .push(DOC_COLUMNS)
            .push(" FROM entry_docs d WHERE ");
        scope(&mut sql, ctx, stage);
        sql.push(" AND d.entry_id IN ")
            .bind_list(chunk.iter().cloned())
            // By primary key.
            .plan_by_shape()
            .may_carry_check();
        for row in conn.rows(sql).await? {
            out.push(doc_from_row(&row)?);
        }
    }
    Ok(out)
}

/// Of `ids`, those that exist as entries (any type, draft stage) of this tenant.
pub async fn existing_ids(
    conn: &impl Exec,
    ctx: &TenantCtx,
    entry_type: Option<&str>,
    ids: &[String],
) -> Result<HashSet<String>, DbErr> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(1000) {
        let mut sql = Sql::new(conn.backend());
        sql.push("SELECT d.entry_id FROM entry_docs d WHERE ");
        scope(&mut sql, ctx, Stage::Draft);
        if let Some(t) = entry_type {
            sql.push(" AND d.type = ").bind(t.to_owned());
        }
        sql.push(" AND d.entry_id IN ")
            .bind_list(chunk.iter().cloned());
        for row in conn.rows(sql).await? {
            found.insert(row.try_get::<String>("", "entry_id")?);
        }
    }
    Ok(found)
}

/// Slugs of a type in `[base, base + ".")`: `base` itself and every `base-…` (to pick a free
/// suffix). One index range per stage.
pub async fn slugs_like(
    conn: &impl Exec,
    ctx: &TenantCtx,
    entry_type: &str,
    base: &str,
) -> Result<HashSet<String>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT d.slug FROM entry_docs d WHERE d.tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND d.type = ")
        .bind(entry_type.to_owned())
        .push(" AND d.stage IN (0, 1) AND d.slug >= ")
        .bind(base.to_owned())
        .push(" AND d.slug < ")
        .bind(format!("{base}."));
    conn.rows(sql)
        .await?
        .iter()
        .map(|r| r.try_get("", "slug"))
        .collect()
}

/// Of `slugs`, those used by an entry of the type (draft or published copy).
pub async fn slugs_in(
    conn: &impl Exec,
    ctx: &TenantCtx,
    entry_type: &str,
    slugs: &[String],
) -> Result<HashSet<String>, DbErr> {
    let mut found = HashSet::new();
    for chunk in slugs.chunks(1000) {
        let mut sql = Sql::new(conn.backend());
        sql.push("SELECT d.slug FROM entry_docs d WHERE d.tenant_id = ")
            .bind(ctx.id().to_owned())
            .push(" AND d.type = ")
            .bind(entry_type.to_owned())
            .push(" AND d.stage IN (0, 1) AND d.slug IN ")
            .bind_list(chunk.iter().cloned());
        for row in conn.rows(sql).await? {
            found.insert(row.try_get::<String>("", "slug")?);
        }
    }
    Ok(found)
}

/// The entry (other than `except`) whose draft or published copy uses `slug`, if any.
pub async fn slug_owner(
    conn: &impl Exec,
    ctx: &TenantCtx,
    entry_type: &str,
    slug: &str,
    except: Option<&str>,
) -> Result<Option<String>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT d.entry_id FROM entry_docs d WHERE d.tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND d.type = ")
        .bind(entry_type.to_owned())
        .push(" AND d.stage IN (0, 1) AND d.slug = ")
        .bind(slug.to_owned());
    if let Some(id) = except {
        sql.push(" AND d.entry_id <> ").bind(id.to_owned());
    }
    sql.push(" LIMIT 1");
    conn.row(sql)
        .await?
        .map(|r| r.try_get("", "entry_id"))
        .transpose()
}

/// Whether another entry's draft holds `value` in the unique field `field`.
pub async fn unique_taken(
    conn: &impl Exec,
    ctx: &TenantCtx,
    entry_type: &str,
    field: &str,
    value: &str,
    except: Option<&str>,
) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT f.entry_id FROM entry_fields f WHERE f.tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND f.type = ")
        .bind(entry_type.to_owned())
        .push(" AND f.stage = 0 AND f.field = ")
        .bind(field.to_owned())
        .push(" AND f.locale = '' AND f.v = ")
        .bind(value.to_owned());
    if let Some(id) = except {
        sql.push(" AND f.entry_id <> ").bind(id.to_owned());
    }
    sql.push(" LIMIT 1");
    Ok(conn.row(sql).await?.is_some())
}

/// Of `values`, those a draft already holds in the unique field `field` (an import batch's
/// values, looked up together).
pub async fn unique_values_taken(
    conn: &impl Exec,
    ctx: &TenantCtx,
    entry_type: &str,
    field: &str,
    values: &[String],
) -> Result<HashSet<String>, DbErr> {
    let mut taken = HashSet::new();
    for chunk in values.chunks(1000) {
        let mut sql = Sql::new(conn.backend());
        sql.push("SELECT f.v FROM entry_fields f WHERE f.tenant_id = ")
            .bind(ctx.id().to_owned())
            .push(" AND f.type = ")
            .bind(entry_type.to_owned())
            .push(" AND f.stage = 0 AND f.field = ")
            .bind(field.to_owned())
            .push(" AND f.locale = '' AND f.v IN ")
            .bind_list(chunk.iter().cloned());
        for row in conn.rows(sql).await? {
            taken.insert(row.try_get::<String>("", "v")?);
        }
    }
    Ok(taken)
}

fn doc_values(ctx: &TenantCtx, stage: Stage, doc: &DocRow) -> Vec<Value> {
    vec![
        Value::from(doc.entry_id.clone()),
        Value::from(stage.code()),
        Value::from(ctx.id().to_owned()),
        Value::from(doc.entry_type.clone()),
        Value::from(doc.slug.clone()),
        Value::from(doc.version),
        Value::from(serde_json::Value::Object(doc.data.clone()).to_string()),
        Value::from(serde_json::to_string(&doc.locales).unwrap_or_else(|_| "[]".into())),
        Value::from(doc.created_at),
        Value::from(doc.updated_at),
        Value::from(doc.published_at.unwrap_or(0)),
        Value::from(doc.created_by.clone()),
        Value::from(doc.updated_by.clone()),
    ]
}

const DOC_INSERT_COLUMNS: [&str; 13] = [
    "entry_id",
    "stage",
    "tenant_id",
    "type",
    "slug",
    "version",
    "data",
    "locales",
    "created_at",
    "updated_at",
    "published_at",
    "created_by",
    "updated_by",
];

/// Inserts documents (new entries, bulk import).
pub async fn insert_docs(
    conn: &impl Exec,
    ctx: &TenantCtx,
    docs: &[(Stage, &DocRow)],
) -> Result<(), DbErr> {
    let r = doc_rows(ctx, docs);
    insert_rows(conn, r.table, r.columns, r.rows).await
}

/// The rows of [`insert_docs`], for `sql::insert_all`.
pub(crate) fn doc_rows(ctx: &TenantCtx, docs: &[(Stage, &DocRow)]) -> Rows {
    Rows {
        table: "entry_docs",
        columns: &DOC_INSERT_COLUMNS,
        rows: docs
            .iter()
            .map(|(stage, doc)| doc_values(ctx, *stage, doc))
            .collect(),
    }
}

/// Rewrites the draft if its version is still `expected`; returns whether it did (optimistic lock).
pub async fn update_draft(
    conn: &impl Exec,
    ctx: &TenantCtx,
    doc: &DocRow,
    expected: i64,
) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE entry_docs SET slug = ")
        .bind(doc.slug.clone())
        .push(", version = ")
        .bind(doc.version)
        .push(", data = ")
        .bind(serde_json::Value::Object(doc.data.clone()).to_string())
        .push(", locales = ")
        .bind(serde_json::to_string(&doc.locales).unwrap_or_else(|_| "[]".into()))
        .push(", updated_at = ")
        .bind(doc.updated_at)
        .push(", published_at = ")
        .bind(doc.published_at.unwrap_or(0))
        .push(", updated_by = ")
        .bind(doc.updated_by.clone())
        .push(" WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND entry_id = ")
        .bind(doc.entry_id.clone())
        .push(" AND stage = 0 AND version = ")
        .bind(expected);
    Ok(conn.exec(sql).await? == 1)
}

/// Removes one stage of an entry (document and index rows).
pub async fn delete_stage(
    conn: &impl Exec,
    ctx: &TenantCtx,
    id: &str,
    stage: Stage,
) -> Result<u64, DbErr> {
    for table in ["entry_fields", "entry_docs"] {
        let mut sql = Sql::new(conn.backend());
        sql.push("DELETE FROM ")
            .push(table)
            .push(" WHERE tenant_id = ")
            .bind(ctx.id().to_owned())
            .push(" AND entry_id = ")
            .bind(id.to_owned())
            .push(" AND stage = ")
            .bind(stage.code());
        let n = conn.exec(sql).await?;
        if table == "entry_docs" {
            return Ok(n);
        }
    }
    Ok(0)
}

/// Removes an entry's history.
pub async fn delete_versions(conn: &impl Exec, ctx: &TenantCtx, id: &str) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("DELETE FROM entry_versions WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND entry_id = ")
        .bind(id.to_owned());
    conn.exec(sql).await.map(|_| ())
}

/// Index rows of one document, ready to insert.
pub struct IndexBatch<'a> {
    pub stage: Stage,
    pub entry_type: &'a str,
    pub entry_id: &'a str,
    pub rows: Vec<IndexRow>,
}

pub async fn insert_index(
    conn: &impl Exec,
    ctx: &TenantCtx,
    batches: Vec<IndexBatch<'_>>,
) -> Result<(), DbErr> {
    let r = index_rows(ctx, batches);
    insert_rows(conn, r.table, r.columns, r.rows).await
}

/// The rows of [`insert_index`], for `sql::insert_all`.
pub(crate) fn index_rows(ctx: &TenantCtx, batches: Vec<IndexBatch<'_>>) -> Rows {
    let mut rows = Vec::new();
    for b in batches {
        for r in b.rows {
            rows.push(vec![
                Value::from(ctx.id().to_owned()),
                Value::from(b.entry_type.to_owned()),
                Value::from(b.stage.code()),
                Value::from(b.entry_id.to_owned()),
                Value::from(r.field),
                Value::from(r.locale),
                Value::from(r.value),
            ]);
        }
    }
    Rows {
        table: "entry_fields",
        columns: &[
            "tenant_id",
            "type",
            "stage",
            "entry_id",
            "field",
            "locale",
            "v",
        ],
        rows,
    }
}

/// Replaces the index rows of one document.
pub async fn replace_index(
    conn: &impl Exec,
    ctx: &TenantCtx,
    batch: IndexBatch<'_>,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("DELETE FROM entry_fields WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND entry_id = ")
        .bind(batch.entry_id.to_owned())
        .push(" AND stage = ")
        .bind(batch.stage.code());
    conn.exec(sql).await?;
    insert_index(conn, ctx, vec![batch]).await
}

/// What a version row records.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub entry_id: String,
    pub version: i64,
    pub entry_type: String,
    pub action: String,
    pub status: String,
    pub slug: String,
    pub data: Map<String, serde_json::Value>,
    pub created_at: i64,
    pub created_by: Option<String>,
}

pub async fn insert_versions(
    conn: &impl Exec,
    ctx: &TenantCtx,
    versions: &[VersionRow],
) -> Result<(), DbErr> {
    let r = version_rows(ctx, versions);
    insert_rows(conn, r.table, r.columns, r.rows).await
}

/// The rows of [`insert_versions`], for `sql::insert_all`.
pub(crate) fn version_rows(ctx: &TenantCtx, versions: &[VersionRow]) -> Rows {
    let rows = versions
        .iter()
        .map(|v| {
            vec![
                Value::from(v.entry_id.clone()),
                Value::from(v.version),
                Value::from(ctx.id().to_owned()),
                Value::from(v.entry_type.clone()),
                Value::from(v.action.clone()),
                Value::from(v.status.clone()),
                Value::from(v.slug.clone()),
                Value::from(serde_json::Value::Object(v.data.clone()).to_string()),
                Value::from(v.created_at),
                Value::from(v.created_by.clone()),
            ]
        })
        .collect();
    Rows {
        table: "entry_versions",
        columns: &[
            "entry_id",
            "version",
            "tenant_id",
            "type",
            "action",
            "status",
            "slug",
            "data",
            "created_at",
            "created_by",
        ],
        rows,
    }
}

fn version_from_row(row: &Row) -> Result<VersionRow, DbErr> {
    let data = row.text("data")?;
    Ok(VersionRow {
        entry_id: row.try_get("", "entry_id")?,
        version: row.try_get("", "version")?,
        entry_type: row.try_get("", "type")?,
        action: row.try_get("", "action")?,
        status: row.try_get("", "status")?,
        slug: row.try_get("", "slug")?,
        data: serde_json::from_str(&data)
            .map_err(|e| DbErr::Custom(format!("entry_versions.data: {e}")))?,
        created_at: row.try_get("", "created_at")?,
        created_by: row.try_get("", "created_by")?,
    })
}

/// An entry's history, newest first.
pub async fn list_versions(
    conn: &impl Exec,
    ctx: &TenantCtx,
    id: &str,
) -> Result<Vec<VersionRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT entry_id, version, type, action, status, slug, data, created_at, created_by FROM entry_versions WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND entry_id = ")
        .bind(id.to_owned())
        .push(" ORDER BY version DESC");
    conn.rows(sql).await?.iter().map(version_from_row).collect()
}

pub async fn get_version(
    conn: &impl Exec,
    ctx: &TenantCtx,
    id: &str,
    version: i64,
) -> Result<Option<VersionRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT entry_id, version, type, action, status, slug, data, created_at, created_by FROM entry_versions WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND entry_id = ")
        .bind(id.to_owned())
        .push(" AND version = ")
        .bind(version);
    conn.row(sql)
        .await?
        .as_ref()
        .map(version_from_row)
        .transpose()
}

/// The versions of a type's entries in (entry, version) order, one page after `after`
/// (content-type changes migrate the history with the documents).
pub async fn scan_versions(
    conn: &impl Exec,
    ctx: &TenantCtx,
    entry_type: &str,
    after: Option<(&str, i64)>,
    limit: u64,
) -> Result<Vec<VersionRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT entry_id, version, type, action, status, slug, data, created_at, created_by FROM entry_versions WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND type = ")
        .bind(entry_type.to_owned());
    if let Some((id, version)) = after {
        sql.push(" AND (entry_id > ")
            .bind(id.to_owned())
            .push(" OR (entry_id = ")
            .bind(id.to_owned())
            .push(" AND version > ")
            .bind(version)
            .push("))");
    }
    sql.push(&format!(" ORDER BY entry_id, version LIMIT {limit}"));
    conn.rows(sql).await?.iter().map(version_from_row).collect()
}

/// Deletes a tenant's versions older than `before` (ms) that are not among their entry's newest
/// `keep`, never the version its published copy or its draft is at. Returns how many went.
pub async fn prune_versions(
    conn: &impl Exec,
    ctx: &TenantCtx,
    keep: u32,
    before: i64,
) -> Result<u64, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("DELETE FROM entry_versions WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND created_at < ")
        .bind(before)
        .push(" AND version <= (SELECT d.version FROM entry_docs d WHERE d.tenant_id = entry_versions.tenant_id AND d.entry_id = entry_versions.entry_id AND d.stage = ")
        .bind(Stage::Draft.code())
        .push(") - ")
        .bind(i64::from(keep))
        .push(" AND NOT EXISTS (SELECT 1 FROM entry_docs p WHERE p.tenant_id = entry_versions.tenant_id AND p.entry_id = entry_versions.entry_id AND p.stage = ")
        .bind(Stage::Published.code())
        .push(" AND p.version = entry_versions.version)");
    conn.exec(sql).await
}

/// Rewrites the data of one version in place (content-type data migrations).
pub async fn rewrite_version_data(
    conn: &impl Exec,
    ctx: &TenantCtx,
    id: &str,
    version: i64,
    data: &Map<String, serde_json::Value>,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE entry_versions SET data = ")
        .bind(serde_json::Value::Object(data.clone()).to_string())
        .push(" WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND entry_id = ")
        .bind(id.to_owned())
        .push(" AND version = ")
        .bind(version);
    conn.exec(sql).await.map(|_| ())
}

/// All documents of a type and stage, in id order, one page after `after` (exports, data
/// migrations of a content-type change).
pub(crate) async fn scan(
    conn: &impl Fetch,
    ctx: &TenantCtx,
    stage: Stage,
    entry_type: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<DocRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(DOC_COLUMNS)
        .push(" FROM entry_docs d WHERE ");
    scope(&mut sql, ctx, stage);
    if let Some(t) = entry_type {
        sql.push(" AND d.type = ").bind(t.to_owned());
    }
    if let Some(a) = after {
        sql.push(" AND d.entry_id > ").bind(a.to_owned());
    }
    sql.push(&format!(" ORDER BY d.entry_id LIMIT {limit}"));
    conn.rows(sql).await?.iter().map(doc_from_row).collect()
}

/// Rewrites the data of one document in place (content-type data migrations).
pub async fn rewrite_data(
    conn: &impl Exec,
    ctx: &TenantCtx,
    id: &str,
    stage: Stage,
    data: &Map<String, serde_json::Value>,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE entry_docs SET data = ")
        .bind(serde_json::Value::Object(data.clone()).to_string())
        .push(" WHERE tenant_id = ")
        .bind(ctx.id().to_owned())
        .push(" AND entry_id = ")
        .bind(id.to_owned())
        .push(" AND stage = ")
        .bind(stage.code());
    conn.exec(sql).await.map(|_| ())
}

/// Deletes every entry of a type (with force, when its content type is deleted).
pub async fn delete_type(
    conn: &impl Exec,
    ctx: &TenantCtx,
    entry_type: &str,
) -> Result<u64, DbErr> {
    let mut deleted = 0;
    for table in ["entry_fields", "entry_versions", "entry_docs"] {
        let mut sql = Sql::new(conn.backend());
        sql.push("DELETE FROM ")
            .push(table)
            .push(" WHERE tenant_id = ")
            .bind(ctx.id().to_owned())
            .push(" AND type = ")
            .bind(entry_type.to_owned());
        deleted = conn.exec(sql).await?;
    }
    Ok(deleted)
}

/// Counts the documents of a type and stage.
pub async fn count_type(
    conn: &impl Exec,
    ctx: &TenantCtx,
    stage: Stage,
    entry_type: &str,
) -> Result<i64, DbErr> {
    count(
        conn,
        ctx,
        &ListQuery {
            stage,
            entry_type: entry_type.to_owned(),
            cond: None,
            sort: Vec::new(),
            after: None,
            until: None,
            owner: None,
            limit: 0,
            backward: false,
            compound: None,
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Listing: conditions, sorts and keyset pagination, compiled to SQL over the value index.

/// A system column usable in filters and sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysCol {
    Id,
    Slug,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
}

impl SysCol {
    fn column(self) -> &'static str {
        match self {
            SysCol::Id => "d.entry_id",
            SysCol::Slug => "d.slug",
            SysCol::CreatedAt => "d.created_at",
            SysCol::UpdatedAt => "d.updated_at",
            SysCol::PublishedAt => "d.published_at",
        }
    }
    fn is_time(self) -> bool {
        matches!(
            self,
            SysCol::CreatedAt | SysCol::UpdatedAt | SysCol::PublishedAt
        )
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CmpOp {
    fn sql(self) -> &'static str {
        match self {
            CmpOp::Lt => " < ",
            CmpOp::Lte => " <= ",
            CmpOp::Gt => " > ",
            CmpOp::Gte => " >= ",
        }
    }
}

/// A value of a system column: text (id, slug) or a timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysValue {
    Text(String),
    Time(i64),
}

impl From<SysValue> for Value {
    fn from(v: SysValue) -> Value {
        match v {
            SysValue::Text(s) => Value::from(s),
            SysValue::Time(t) => Value::from(t),
        }
    }
}

/// An operation on the encoded values of one indexed field.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexOp {
    Eq(String),
    In(Vec<String>),
    Cmp(CmpOp, String),
    Prefix(String),
    Contains(String),
    /// The field has a value (`isNull: false`; `isNull: true` is its negation). Only sortable
    /// fields keep a row for no value (`values::index_rows`), so no value is the absence of a
    /// row with one.
    Any,
}

/// A filter over one type's documents, with values already encoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Index {
        field: String,
        locale: String,
        op: IndexOp,
    },
    SysEq(SysCol, SysValue),
    SysIn(SysCol, Vec<SysValue>),
    SysCmp(SysCol, CmpOp, SysValue),
    SysPrefix(SysCol, String),
    /// Published entries only (for a draft-stage read: is it published?).
    SysNull(SysCol),
}

/// What a list is sorted by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortTarget {
    System(SysCol),
    Field { field: String, locale: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub target: SortTarget,
    pub desc: bool,
}

/// A position in a sorted list: the sort values of the last row seen, then its id.
pub type Position = Vec<serde_json::Value>;

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub stage: Stage,
    pub entry_type: String,
    pub cond: Option<Cond>,
    /// Ties are broken by id, in the direction of the last key (newest first without keys).
    pub sort: Vec<SortKey>,
    pub after: Option<Position>,
    /// Rows strictly before this position in walking order (the other end of a Relay range).
    pub until: Option<Position>,
    /// Only entries this account created (an author reading drafts).
    pub owner: Option<String>,
    pub limit: u64,
    /// Walk the order backwards (for `last`/`before`); rows come back in walking order.
    pub backward: bool,
    /// A compound index range that stands for equality filters (already taken out of `cond`)
    /// and, in a page, for the single sort key.
    pub compound: Option<CompoundRange>,
}

/// The rows of one compound index whose keys start with the given parts: in a page, they are
/// read in key order, which among equal leading parts is the order of the next field (the
/// sort key); so a filtered, sorted page is one index range scan that stops after a page.
#[derive(Debug, Clone, PartialEq)]
pub struct CompoundRange {
    /// The index's name in the value index (its fields joined by `+`).
    pub field: String,
    pub locale: String,
    /// The key parts of the equality filters, each [pushed](values::push_key_part).
    pub prefix: String,
}

impl CompoundRange {
    /// A sort value as the compound key it is compared with in this range.
    fn key_of(&self, sort_value: &serde_json::Value) -> serde_json::Value {
        let mut key = self.prefix.clone();
        values::push_key_part(&mut key, sort_value.as_str().unwrap_or_default());
        serde_json::Value::from(key)
    }

    /// The sort value a key read from this range holds (the reverse of [`Self::key_of`]).
    fn sort_value_of(&self, key: String) -> String {
        key.strip_prefix(self.prefix.as_str())
            .and_then(values::split_key_part)
            .map(|(part, _)| part)
            .unwrap_or(key)
    }

    fn push_join_condition(&self, sql: &mut Sql, alias: &str) {
        sql.push(&format!(" AND {alias}.field = "))
            .bind(self.field.clone())
            .push(&format!(" AND {alias}.locale = "))
            .bind(self.locale.clone())
            .push(" AND ");
        push_index_op(
            sql,
            &format!("{alias}.v"),
            &IndexOp::Prefix(self.prefix.clone()),
        );
    }
}

/// A listed document with its position.
#[derive(Debug, Clone)]
pub struct ListedDoc {
    pub doc: DocRow,
    pub position: Position,
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Upper bound of the strings starting with `prefix` (for an index range instead of LIKE).
fn prefix_upper(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn push_index_op(sql: &mut Sql, col: &str, op: &IndexOp) {
    match op {
        IndexOp::Eq(v) => {
            sql.push(col).push(" = ").bind(v.clone());
        }
        IndexOp::In(vs) => {
            if vs.is_empty() {
                sql.push("1 = 0");
            } else {
                sql.push(col).push(" IN ").bind_list(vs.iter().cloned());
            }
        }
        IndexOp::Cmp(op, v) => {
            sql.push(col)
                .push(op.sql())
                .bind(v.clone())
                .push(" AND ")
                .push(col)
                .push(" <> ''");
        }
        IndexOp::Prefix(p) => {
            sql.push(col)
                .push(" >= ")
                .bind(p.clone())
                .push(" AND ")
                .push(col)
                .push(" < ")
                .bind(prefix_upper(p))
                .push(" AND ")
                .push(col)
                .push(" <> ''");
        }
        IndexOp::Contains(s) => {
            let backend = sql.backend();
            sql.push(col)
                .push(dialect::contains_op(backend))
                .bind(format!("%{}%", escape_like(s)))
                .push(" ESCAPE '\\'");
        }
        IndexOp::Any => {
            sql.push(col).push(" <> ''");
        }
    }
}

/// `id_col` is the entry id column of the driving table, so that index conditions are checked
/// before the document is fetched.
/// How an index condition tests an entry.
#[derive(Debug, Clone, Copy)]
enum Membership<'a> {
    /// `id IN (ids matching the condition)`: the database may drive the query by that list.
    In(&'a str),
    /// `(id IN (ids matching the condition)) IS TRUE`. Wrapped this way PostgreSQL does not
    /// turn the test into a join but into a hashed subplan: the ids are read once into a hash
    /// table, and a sorted page walks the sort index, tests each row against the hash and stops
    /// after one page, instead of intersecting whole filter lists and sorting them (the plan it
    /// picks from misestimated selectivities on the shared `v` column). 4× faster on the
    /// filtered-page benchmark.
    Hashed(&'a str),
}

fn push_cond(sql: &mut Sql, ctx: &TenantCtx, q: &ListQuery, cond: &Cond, id: Membership<'_>) {
    match cond {
        Cond::And(cs) | Cond::Or(cs) => {
            if cs.is_empty() {
                sql.push(if matches!(cond, Cond::And(_)) {
                    "1 = 1"
                } else {
                    "1 = 0"
                });
                return;
            }
            let joiner = if matches!(cond, Cond::And(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push("(");
            for (i, c) in cs.iter().enumerate() {
                if i > 0 {
                    sql.push(joiner);
                }
                push_cond(sql, ctx, q, c, id);
            }
            sql.push(")");
        }
        Cond::Not(c) => {
            sql.push("NOT (");
            push_cond(sql, ctx, q, c, id);
            sql.push(")");
        }
        Cond::Index { field, locale, op } => {
            match id {
                Membership::In(col) => sql.push(col),
                Membership::Hashed(col) => sql.push("(").push(col),
            };
            sql.push(" IN (SELECT f.entry_id");
            sql.push(" FROM entry_fields f WHERE f.tenant_id = ")
                .bind(ctx.id().to_owned())
                .push(" AND f.type = ")
                .bind(q.entry_type.clone())
                .push(" AND f.stage = ")
                .bind(q.stage.code())
                .push(" AND f.field = ")
                .bind(field.clone())
                .push(" AND f.locale = ")
                .bind(locale.clone())
                .push(" AND ");
            push_index_op(sql, "f.v", op);
            match id {
                Membership::In(_) => sql.push(")"),
                Membership::Hashed(_) => sql.push(")) IS TRUE"),
            };
        }
        Cond::SysEq(col, v) => {
            sql.push(col.column()).push(" = ").bind(v.clone());
        }
        Cond::SysIn(col, vs) => {
            if vs.is_empty() {
                sql.push("1 = 0");
            } else {
                sql.push(col.column())
                    .push(" IN ")
                    .bind_list(vs.iter().cloned());
            }
        }
        Cond::SysCmp(col, op, v) => {
            sql.push(col.column()).push(op.sql()).bind(v.clone());
            if *col == SysCol::PublishedAt {
                sql.push(" AND d.published_at <> 0");
            }
        }
        Cond::SysPrefix(col, p) => {
            sql.push(col.column())
                .push(" >= ")
                .bind(p.clone())
                .push(" AND ")
                .push(col.column())
                .push(" < ")
                .bind(prefix_upper(p));
        }
        Cond::SysNull(col) => {
            if col.is_time() {
                sql.push(col.column()).push(" = 0");
            } else {
                sql.push("1 = 0");
            }
        }
    }
}

/// If the first sort key is an indexed field and the top-level filter constrains that same
/// field with a range or equality, the constraint is applied to the sort join itself, so that
/// one index range scan both filters and orders (events in a date range sorted by start).
fn split_sort_range(q: &ListQuery) -> (Option<Cond>, Vec<IndexOp>) {
    let Some(SortKey {
        target: SortTarget::Field { field, locale },
        ..
    }) = q.sort.first()
    else {
        return (q.cond.clone(), Vec::new());
    };
    let parts = match &q.cond {
        Some(Cond::And(cs)) => cs.clone(),
        Some(c) => vec![c.clone()],
        None => return (None, Vec::new()),
    };
    let mut rest = Vec::new();
    let mut on_sort = Vec::new();
    for c in parts {
        match &c {
            Cond::Index {
                field: f,
                locale: l,
                op: op @ (IndexOp::Cmp(..) | IndexOp::Eq(_)),
            } if f == field && l == locale => {
                on_sort.push(op.clone());
            }
            _ => rest.push(c),
        }
    }
    let rest = match rest.len() {
        0 => None,
        1 => rest.pop(),
        _ => Some(Cond::And(rest)),
    };
    (rest, on_sort)
}

/// The value of the `i`th group key: `''` for none.
fn group_key(i: usize) -> String {
    format!("COALESCE(g{i}.v, '')")
}

fn sort_expr(i: usize, key: &SortKey) -> String {
    match &key.target {
        SortTarget::System(col) => col.column().to_owned(),
        SortTarget::Field { .. } => format!("s{i}.v"),
    }
}

/// What a list statement selects: a page of documents, the count of matches, or the count of
/// matches per value of index fields `(field, locale)`.
enum Shape<'a> {
    Page,
    Count,
    Groups(&'a [(String, String)], u64),
}

fn build_list(ctx: &TenantCtx, q: &ListQuery, backend: DbBackend, count_only: bool) -> Sql {
    let shape = if count_only {
        Shape::Count
    } else {
        Shape::Page
    };
    build_shaped(ctx, q, backend, shape)
}

fn build_shaped(ctx: &TenantCtx, q: &ListQuery, backend: DbBackend, shape: Shape<'_>) -> Sql {
    let mut sql = Sql::new(backend);
    let count_only = !matches!(shape, Shape::Page);
    let (cond, on_sort) = if count_only || q.compound.is_some() {
        (q.cond.clone(), Vec::new())
    } else {
        split_sort_range(q)
    };
    if matches!(shape, Shape::Page) && cond.is_none() && q.owner.is_none() && q.sort.len() <= 1 {
        // Nothing to choose between: the sort's index (or the compound range) is read in order
        // from the cursor, each row probes its document, and the limit ends it.
        sql.plan_by_shape();
    }
    if let Shape::Groups(keys, _) = &shape {
        sql.push("SELECT ");
        for i in 0..keys.len() {
            sql.push(&format!("{} AS k{i}, ", group_key(i)));
        }
        sql.push("COUNT(DISTINCT d.entry_id) AS n FROM entry_docs d");
        // An entry without a value of a field has no row of it (or, for a sortable field, an
        // empty one): it joins none and falls in the empty group. The join's other key columns
        // are bound, not taken from `d`: PostgreSQL carries the `WHERE`'s constants into an
        // inner join but not into the nullable side of an outer one, and would hash on all four.
        for (i, (field, locale)) in keys.iter().enumerate() {
            let a = format!("g{i}");
            sql.push(&format!(
                " LEFT JOIN entry_fields {a} ON {a}.entry_id = d.entry_id AND {a}.tenant_id = "
            ))
            .bind(ctx.id().to_owned())
            .push(&format!(" AND {a}.type = "))
            .bind(q.entry_type.clone())
            .push(&format!(" AND {a}.stage = "))
            .bind(q.stage.code())
            .push(&format!(" AND {a}.field = "))
            .bind(field.clone())
            .push(&format!(" AND {a}.locale = "))
            .bind(locale.clone())
            .push(&format!(" AND {a}.v <> ''"));
        }
    } else if count_only {
        sql.push("SELECT COUNT(*) AS n FROM entry_docs d");
    } else {
        sql.push("SELECT ").push(DOC_COLUMNS).may_carry_check();
        for (i, key) in q.sort.iter().enumerate() {
            sql.push(", ")
                .push(&sort_expr(i, key))
                .push(&format!(" AS k{i}"));
        }
        sql.push(" FROM entry_docs d");
        for (i, key) in q.sort.iter().enumerate() {
            if let (0, Some(range)) = (i, &q.compound) {
                sql.push(" JOIN entry_fields s0 ON s0.tenant_id = d.tenant_id AND s0.type = d.type AND s0.stage = d.stage AND s0.entry_id = d.entry_id");
                range.push_join_condition(&mut sql, "s0");
                continue;
            }
            if let SortTarget::Field { field, locale } = &key.target {
                let a = format!("s{i}");
                sql.push(&format!(" JOIN entry_fields {a} ON {a}.tenant_id = d.tenant_id AND {a}.type = d.type AND {a}.stage = d.stage AND {a}.entry_id = d.entry_id AND {a}.field = "))
                    .bind(field.clone())
                    .push(&format!(" AND {a}.locale = "))
                    .bind(locale.clone());
                if i == 0 {
                    for op in &on_sort {
                        sql.push(" AND ");
                        push_index_op(&mut sql, "s0.v", op);
                    }
                }
            }
        }
    }
    if let (true, Some(range)) = (count_only, &q.compound) {
        sql.push(" JOIN entry_fields c ON c.tenant_id = d.tenant_id AND c.type = d.type AND c.stage = d.stage AND c.entry_id = d.entry_id");
        range.push_join_condition(&mut sql, "c");
    }
    sql.push(" WHERE ");
    scope(&mut sql, ctx, q.stage);
    sql.push(" AND d.type = ").bind(q.entry_type.clone());
    if let Some(owner) = &q.owner {
        sql.push(" AND d.created_by = ").bind(owner.clone());
    }
    if let Some(c) = &cond {
        sql.push(" AND ");
        // With a single field sort, SQLite reads the sort index in order and tests each row
        // against the filters (bloom filter + list), stopping after one page: the unary `+`
        // keeps it from driving the query by a filter's id list instead, which reads and sorts
        // every match (the better plan only for very selective filters without a sort).
        let id = match (count_only, tie_breaker(q), sql.backend()) {
            (true, _, _) => Membership::In("d.entry_id"),
            (false, "s0.entry_id", DbBackend::Sqlite) => Membership::In("+s0.entry_id"),
            (false, "s0.entry_id", DbBackend::Postgres) => Membership::Hashed("s0.entry_id"),
            (false, col, _) => Membership::In(col),
        };
        push_cond(&mut sql, ctx, q, c, id);
    }
    if let Shape::Groups(keys, limit) = &shape {
        let cols: Vec<String> = (0..keys.len()).map(group_key).collect();
        sql.push(" GROUP BY ").push(&cols.join(", "));
        sql.push(" ORDER BY n DESC, ").push(&cols.join(", "));
        sql.push(&format!(" LIMIT {limit}"));
        return sql;
    }
    if count_only {
        return sql;
    }
    // Effective direction of each key, and of the id tie-breaker, in walking order.
    let id_desc_natural = q.sort.last().is_none_or(|k| k.desc);
    let flip = q.backward;
    let dirs: Vec<bool> = q.sort.iter().map(|k| k.desc ^ flip).collect();
    let id_desc = id_desc_natural ^ flip;
    let mut exprs: Vec<(String, bool)> = q
        .sort
        .iter()
        .enumerate()
        .map(|(i, k)| (sort_expr(i, k), dirs[i]))
        .collect();
    exprs.push((tie_breaker(q).to_owned(), id_desc));
    // Positions hold sort values; in a compound range the sort column holds keys.
    let in_range = |pos: &Position| -> Position {
        match (&q.compound, pos.split_first()) {
            (Some(range), Some((first, rest))) => std::iter::once(range.key_of(first))
                .chain(rest.iter().cloned())
                .collect(),
            _ => pos.clone(),
        }
    };
    let (after, until) = (
        q.after.as_ref().map(in_range),
        q.until.as_ref().map(in_range),
    );
    if let Some(pos) = &after {
        push_position_bound(&mut sql, &exprs, pos);
    }
    if let Some(pos) = &until {
        // Before a position in walking order is after it walking the other way.
        let reversed: Vec<(String, bool)> = exprs.iter().map(|(e, d)| (e.clone(), !d)).collect();
        push_position_bound(&mut sql, &reversed, pos);
    }
    sql.push(" ORDER BY ");
    for (i, key) in q.sort.iter().enumerate() {
        sql.push(&sort_expr(i, key))
            .push(if dirs[i] { " DESC, " } else { " ASC, " });
    }
    sql.push(tie_breaker(q))
        .push(if id_desc { " DESC" } else { " ASC" });
    // A literal, not a parameter: SQLite re-plans a statement whenever a LIMIT parameter is
    // bound again (it may shape the plan), which doubled the cost of every list.
    sql.push(&format!(" LIMIT {}", q.limit));
    sql
}

/// Keeps the rows strictly after `pos` when walking `exprs` (each with its direction, `true`
/// for descending).
fn push_position_bound(sql: &mut Sql, exprs: &[(String, bool)], pos: &Position) {
    if pos.len() == exprs.len() && exprs.iter().all(|(_, d)| *d == exprs[0].1) {
        // One direction: a row-value comparison, which both databases turn into an index
        // range that starts at the cursor.
        sql.push(" AND (");
        sql.push(
            &exprs
                .iter()
                .map(|(e, _)| e.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        );
        sql.push(if exprs[0].1 { ") < (" } else { ") > (" });
        for (i, p) in pos.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            bind_json(sql, p);
        }
        sql.push(")");
    } else if pos.len() == exprs.len() {
        // Mixed directions: the expanded form, led by a bound on the first key.
        let (first, desc) = &exprs[0];
        sql.push(" AND ")
            .push(first)
            .push(if *desc { " <= " } else { " >= " });
        bind_json(sql, &pos[0]);
        sql.push(" AND (");
        for i in 0..exprs.len() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            for (j, (expr, _)) in exprs.iter().enumerate().take(i) {
                sql.push(expr).push(" = ");
                bind_json(sql, &pos[j]);
                sql.push(" AND ");
            }
            let (expr, desc) = &exprs[i];
            sql.push(expr).push(if *desc { " < " } else { " > " });
            bind_json(sql, &pos[i]);
            sql.push(")");
        }
        sql.push(")");
    } else {
        // A cursor of another sort order: nothing can follow it.
        sql.push(" AND 1 = 0");
    }
}

/// The id column ties are broken on: the sort join's own copy when a single field sort drives
/// the query, so that the index `(…, v, entry_id)` delivers the whole order.
fn tie_breaker(q: &ListQuery) -> &'static str {
    match q.sort.as_slice() {
        [
            SortKey {
                target: SortTarget::Field { .. },
                ..
            },
        ] => "s0.entry_id",
        _ => "d.entry_id",
    }
}

fn bind_json(sql: &mut Sql, v: &serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            sql.bind(n.as_i64().unwrap_or_default());
        }
        serde_json::Value::String(s) => {
            sql.bind(s.clone());
        }
        other => {
            sql.bind(other.to_string());
        }
    }
}

/// Lists documents: filtered, sorted, from a position, at most `limit` rows.
/// A page of documents; with `fields`, only those data fields are decoded.
pub(crate) async fn list(
    conn: &impl Fetch,
    ctx: &TenantCtx,
    q: &ListQuery,
    fields: Option<&[String]>,
) -> Result<Vec<ListedDoc>, DbErr> {
    let sql = build_list(ctx, q, conn.backend(), false);
    let rows = conn.rows(sql).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let doc = doc_with_fields(&row, fields)?;
        let mut position = Vec::with_capacity(q.sort.len() + 1);
        for (i, key) in q.sort.iter().enumerate() {
            let col = format!("k{i}");
            let v = match &key.target {
                SortTarget::System(c) if c.is_time() => {
                    serde_json::Value::from(row.try_get::<i64>("", &col)?)
                }
                _ => {
                    let v = row.try_get::<String>("", &col)?;
                    serde_json::Value::from(match (i, &q.compound) {
                        (0, Some(range)) => range.sort_value_of(v),
                        _ => v,
                    })
                }
            };
            position.push(v);
        }
        position.push(serde_json::Value::from(doc.entry_id.clone()));
        out.push(ListedDoc { doc, position });
    }
    Ok(out)
}

/// Refreshes the planner's statistics (after bulk loads), so that it picks the most selective
/// index between a filter and a sort.
pub async fn analyze(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let sql = match conn.get_database_backend() {
        DbBackend::Postgres => "ANALYZE entry_docs, entry_fields",
        _ => "ANALYZE",
    };
    conn.execute_unprepared(sql).await.map(|_| ())
}

/// Counts the documents matching a query's filter.
pub(crate) async fn count(conn: &impl Fetch, ctx: &TenantCtx, q: &ListQuery) -> Result<i64, DbErr> {
    let sql = build_list(ctx, q, conn.backend(), true);
    match conn.rows_scanning(sql).await?.first() {
        Some(row) => row.try_get("", "n"),
        None => Ok(0),
    }
}

/// How many entries a list's filter matches per value of the index fields `keys`
/// (`(field, locale)`), largest groups first, at most `limit` groups. An entry with several
/// values of a field (a `many` field) counts once in each; values are as the index holds them
/// (`""` for no value).
pub(crate) async fn group_counts(
    conn: &impl Fetch,
    ctx: &TenantCtx,
    q: &ListQuery,
    keys: &[(String, String)],
    limit: u64,
) -> Result<Vec<(Vec<String>, i64)>, DbErr> {
    let sql = build_shaped(ctx, q, conn.backend(), Shape::Groups(keys, limit));
    let rows = conn.rows_scanning(sql).await?;
    rows.iter()
        .map(|row| {
            let values = (0..keys.len())
                .map(|i| {
                    row.try_get::<Option<String>>("", &format!("k{i}"))
                        .map(Option::unwrap_or_default)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((values, row.try_get("", "n")?))
        })
        .collect()
}

/// The database's plan for a list query, or for the count of its matches (`count_only`), as
/// text (tests assert that indexes are used).
pub async fn explain_list(
    conn: &impl ConnectionTrait,
    ctx: &TenantCtx,
    q: &ListQuery,
    count_only: bool,
) -> Result<String, DbErr> {
    let backend = conn.get_database_backend();
    let inner = build_list(ctx, q, backend, count_only);
    let mut sql = Sql::new(backend);
    sql.push(dialect::explain(backend));
    // Re-bind: rebuild the statement with the prefix.
    let stmt = inner.build();
    let text = format!("{}{}", sql.sql(), stmt.sql);
    let stmt = sea_orm::Statement {
        sql: text,
        values: stmt.values,
        db_backend: backend,
    };
    let rows = conn.query_all_raw(stmt).await?;
    let mut lines = Vec::new();
    for row in rows {
        let line = match backend {
            DbBackend::Postgres => row.try_get::<String>("", "QUERY PLAN")?,
            _ => row.try_get::<String>("", "detail")?,
        };
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

/// PostgreSQL: the plan a list page runs with on the read connections when it is planned by its
/// shape ([`Sql::plan_by_shape`]): the one generic plan, made without the values. `None` when
/// the page is planned with its values (or on SQLite, which has no such cache).
pub async fn explain_generic_list(
    conn: &impl TransactionTrait,
    ctx: &TenantCtx,
    q: &ListQuery,
) -> Result<Option<String>, DbErr> {
    let sql = build_list(ctx, q, DbBackend::Postgres, false);
    if !sql.is_planned_by_shape() {
        return Ok(None);
    }
    let (text, values) = sql.into_parts();
    let literals = values
        .iter()
        .map(|v| match v {
            Value::String(Some(s)) => Ok(format!("'{}'", s.replace('\'', "''"))),
            Value::BigInt(Some(i)) => Ok(i.to_string()),
            Value::Int(Some(i)) => Ok(i.to_string()),
            Value::SmallInt(Some(i)) => Ok(i.to_string()),
            Value::BigUnsigned(Some(i)) => Ok(i.to_string()),
            other => Err(DbErr::Custom(format!("no literal for {other:?}"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let txn = conn.begin().await?;
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_generic_plan")
        .await?;
    txn.execute_unprepared(&format!("PREPARE zellige_explain AS {text}"))
        .await?;
    let rows = txn
        .query_all_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            format!("EXPLAIN EXECUTE zellige_explain({})", literals.join(", ")),
        ))
        .await?;
    let mut lines = Vec::new();
    for row in rows {
        lines.push(row.try_get::<String>("", "QUERY PLAN")?);
    }
    txn.execute_unprepared("DEALLOCATE zellige_explain").await?;
    txn.rollback().await?;
    Ok(Some(lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::decode_data;
    use serde_json::json;

    #[test]
    fn decoding_a_selection_keeps_those_fields_whole_and_steps_over_the_rest() {
        let doc = json!({
            "title": {"ar": "مَعْرِضُ الصِّناعة التقليدية", "fr": "Salon de l'artisanat"},
            "body": {"ar": "<p dir=\"rtl\">نص طويل \u{0640}\u{0640} مع \"اقتباس\" و\\ شرطة</p>".repeat(50)},
            "city": "مراكش",
            "tags": ["زليج", "نحاس"],
            "relatedEvents": ["0190a1b2-0000-7000-8000-000000000001"],
            "rating": 4.5,
            "featured": null
        });
        let text = doc.to_string();
        let keep = ["title", "tags", "relatedEvents", "featured", "absent"].map(String::from);
        let got = decode_data(&text, Some(&keep)).expect("decodes");
        let mut want = doc.as_object().expect("object").clone();
        want.retain(|k, _| keep.contains(k));
        assert_eq!(
            got, want,
            "selected fields are whole, the others are not built"
        );
        assert_eq!(
            decode_data(&text, None).expect("all"),
            *doc.as_object().expect("object")
        );
        assert!(decode_data(&text, Some(&[])).expect("none").is_empty());
        // Stepping over a field still checks it: a broken document is an error, not a guess.
        let broken = text.replacen("\"city\":\"مراكش\"", "\"city\":\"مراكش", 1);
        assert!(decode_data(&broken, Some(&keep)).is_err());
        assert!(decode_data(&format!("{text} trailing"), Some(&keep)).is_err());
        // Keys are compared unescaped (they are borrowed from the text when they can be).
        let escaped = r#"{"ti\u0074le": "مراكش", "cit\u0079": "آسفي", "tags": []}"#;
        let got = decode_data(escaped, Some(&keep)).expect("decodes");
        assert_eq!(
            serde_json::Value::Object(got),
            json!({"title": "مراكش", "tags": []})
        );
    }
}
