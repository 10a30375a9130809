//! Bulk transfer of entries as JSON Lines: one entry per line with its type, id, slug, status,
//! timestamps, locales, draft fields and (when they differ) published fields. Export followed by
//! import into an empty tenant reproduces the entries with their ids.
//!
//! Import is idempotent: it commits in batches, skips ids that already exist, so a run that was
//! killed half-way is completed by running it again, without duplicates.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::entries::{
    SlugProbe, Status, choose_slug_in_batch, derive_slug_base, event_for, index_rows_of,
    version_row,
};
use super::model::ContentType;
use super::{Content, ContentError, TenantModel, values};
use crate::error::FieldError;
use crate::store::entries::{self as repo, DocRow, IndexBatch, Stage};
use crate::store::outbox::{self, EventKind};
use crate::tenancy::TenantCtx;
use crate::time::{now_ms, parse_rfc3339, to_rfc3339};

/// When a running import refreshes PostgreSQL's planner statistics. Each batch probes the
/// tenant's documents for the ids, slugs and unique values it brings; planned from statistics
/// taken when the tables were a tenth of their size, those probes scan every document of the
/// tenant instead of looking each value up (measured: 127 ms instead of under 1 ms per batch of
/// 500 at 20,000 entries), so an import that outgrows autovacuum's pace slows down quadratically.
/// Refreshing each time the import doubles costs a handful of `ANALYZE`s, each reading a bounded
/// sample. SQLite plans these probes by its indexes alone and is analyzed once at the end.
#[derive(Debug)]
pub struct ImportStatistics {
    written: u64,
    next: u64,
}

impl Default for ImportStatistics {
    fn default() -> Self {
        ImportStatistics {
            written: 0,
            next: 2_000,
        }
    }
}

/// One line of an import or export file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EntryLine {
    #[serde(rename = "type")]
    pub entry_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(default = "draft")]
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// Informational on import (recomputed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locales: Vec<String>,
    /// The draft's fields (stored shape: localized fields keyed by locale).
    pub fields: Map<String, Value>,
    /// The published copy's fields when they differ from the draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Map<String, Value>>,
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "DRAFT" => Ok(Status::Draft),
            "PUBLISHED" => Ok(Status::Published),
            other => Err(serde::de::Error::custom(format!(
                "unknown status `{other}`, expected DRAFT or PUBLISHED"
            ))),
        }
    }
}

fn draft() -> Status {
    Status::Draft
}

/// The result of one import batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportStats {
    pub created: u64,
    pub skipped: u64,
}

/// An import line that failed, with its 1-based line number.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct LineError {
    pub line: usize,
    #[source]
    pub error: ContentError,
}

fn ts(value: &Option<String>, path: &str, default: i64) -> Result<i64, ContentError> {
    match value {
        None => Ok(default),
        Some(s) => parse_rfc3339(s).ok_or_else(|| {
            ContentError::invalid(path, "datetime", "expected an RFC 3339 date-time")
        }),
    }
}

impl Content {
    /// Imports one batch of lines in one transaction. `lines` carry their line numbers; `known`
    /// holds (type, id) of every entry in the whole file, so references may point forward.
    pub async fn import_batch(
        &self,
        ctx: &TenantCtx,
        lines: Vec<(usize, EntryLine)>,
        known: &HashSet<(String, String)>,
    ) -> Result<ImportStats, LineError> {
        let (txn, model) = self
            .begin_write(ctx)
            .await
            .map_err(|error| LineError { line: 0, error })?;
        let first_line = lines.first().map(|(n, _)| *n).unwrap_or(0);
        let db_err = |e: sea_orm::DbErr| LineError {
            line: first_line,
            error: ContentError::Db(e),
        };
        let ids: Vec<String> = lines.iter().filter_map(|(_, l)| l.id.clone()).collect();
        let existing = repo::existing_ids(&txn, ctx, None, &ids)
            .await
            .map_err(db_err)?;
        let now = now_ms();
        let mut stats = ImportStats::default();
        let mut docs: Vec<(Stage, DocRow)> = Vec::new();
        let mut versions = Vec::new();
        let mut events = Vec::new();
        let mut batch_slugs: HashSet<(String, String)> = HashSet::new();
        let mut batch_ids: HashSet<String> = HashSet::new();
        let mut batch_unique: HashSet<(String, String, String)> = HashSet::new();
        // The slugs this batch will ask for, looked up together.
        let mut candidates: HashMap<String, Vec<String>> = Default::default();
        for (_, line) in &lines {
            if let Ok(ct) = model.get(&line.entry_type) {
                let slug = match &line.slug {
                    Some(s) => s.clone(),
                    None => derive_slug_base(ct, &line.fields, ctx.default_locale()),
                };
                candidates.entry(ct.name.clone()).or_default().push(slug);
            }
        }
        let probe = SlugProbe::load(&txn, ctx, candidates)
            .await
            .map_err(|error| LineError {
                line: first_line,
                error,
            })?;

        // First the checks that need no database, line by line up to the first failure (which
        // is reported unless an earlier line fails a database check below).
        let mut checked: Vec<(usize, Checked<'_>)> = Vec::with_capacity(lines.len());
        let mut first_error = None;
        for (line_no, line) in lines {
            if line.id.as_ref().is_some_and(|id| existing.contains(id)) {
                stats.skipped += 1;
                continue;
            }
            match self.check_line(ctx, &model, &mut batch_ids, line) {
                Ok(c) => checked.push((line_no, c)),
                Err(error) => {
                    first_error = Some(LineError {
                        line: line_no,
                        error,
                    });
                    break;
                }
            }
        }
        // Then unique values and references of the whole batch, one statement per field and
        // per target type instead of one per line.
        let lookups = BatchLookups::load(&txn, ctx, &checked)
            .await
            .map_err(db_err)?;
        for (line_no, c) in checked {
            let fail = |error: ContentError| LineError {
                line: line_no,
                error,
            };
            let Checked {
                line,
                ct,
                draft: draft_data,
                published: published_data,
            } = c;
            let mut errors = super::entries::check_media(&txn, ctx, ct, &draft_data)
                .await
                .map_err(fail)?;
            errors.extend(super::entries::reference_errors(
                ct,
                &draft_data,
                |to, id| {
                    let key = (to.to_owned(), id.to_owned());
                    lookups.found.contains(&key) || known.contains(&key)
                },
            ));
            if !errors.is_empty() {
                return Err(fail(ContentError::Invalid(errors)));
            }
            for field in ct.fields.iter().filter(|f| f.unique) {
                let Some(v) = draft_data
                    .get(&field.name)
                    .and_then(|v| values::encode_index_value(&field.kind, v))
                else {
                    continue;
                };
                let key = (ct.name.clone(), field.name.clone(), v);
                if lookups.taken.contains(&key) {
                    return Err(fail(super::entries::unique_conflict(ct, field)));
                }
                // The database does not hold this batch's rows yet: catch duplicates within it.
                if !batch_unique.insert(key) {
                    return Err(fail(ContentError::Conflict {
                        message: format!(
                            "another {} in this import has the same {}",
                            ct.name, field.name
                        ),
                        fields: vec![FieldError::new(
                            field.name.as_str(),
                            "unique",
                            "appears twice in this import",
                        )],
                    }));
                }
            }
            let slug = choose_slug_in_batch(
                &txn,
                ctx,
                ct,
                line.slug.as_deref(),
                &draft_data,
                &mut batch_slugs,
                &probe,
            )
            .await
            .map_err(fail)?;
            let created_at = ts(&line.created_at, "createdAt", now).map_err(fail)?;
            let updated_at = ts(&line.updated_at, "updatedAt", created_at).map_err(fail)?;
            let published_at = match published_data {
                Some(_) => Some(ts(&line.published_at, "publishedAt", updated_at).map_err(fail)?),
                None => None,
            };
            let id = match &line.id {
                Some(id) => id.clone(),
                None => uuid::Uuid::now_v7().to_string(),
            };
            let version = line.version.unwrap_or(1).max(1);
            let draft = DocRow {
                entry_id: id,
                entry_type: ct.name.clone(),
                slug,
                version,
                locales: values::available_locales(ct, &draft_data, ctx.locales()),
                data: draft_data,
                created_at,
                updated_at,
                published_at,
                created_by: line.created_by.clone(),
                updated_by: line.updated_by.clone(),
            };
            let status = if published_at.is_some() {
                Status::Published
            } else {
                Status::Draft
            };
            versions.push(version_row(
                &draft,
                "import",
                status,
                line.updated_by.as_deref(),
                now,
            ));
            events.push(event_for(
                if status == Status::Published {
                    EventKind::EntryPublished
                } else {
                    EventKind::EntryCreated
                },
                &draft,
            ));
            if let Some(p) = published_data {
                let published = DocRow {
                    locales: values::available_locales(ct, &p, ctx.locales()),
                    data: p,
                    ..draft.clone()
                };
                docs.push((Stage::Published, published));
            }
            docs.push((Stage::Draft, draft));
            stats.created += 1;
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let refs: Vec<(Stage, &DocRow)> = docs.iter().map(|(s, d)| (*s, d)).collect();
        repo::insert_docs(&txn, ctx, &refs).await.map_err(db_err)?;
        let mut batches = Vec::with_capacity(docs.len());
        for (stage, doc) in &docs {
            let ct = model.get(&doc.entry_type).map_err(|error| LineError {
                line: first_line,
                error,
            })?;
            batches.push(IndexBatch {
                stage: *stage,
                entry_type: &doc.entry_type,
                entry_id: &doc.entry_id,
                rows: index_rows_of(ctx, ct, doc),
            });
        }
        repo::insert_index(&txn, ctx, batches)
            .await
            .map_err(db_err)?;
        repo::insert_versions(&txn, ctx, &versions)
            .await
            .map_err(db_err)?;
        let imported = events.len();
        outbox::record(&txn, ctx, events, now)
            .await
            .map_err(db_err)?;
        if imported > 0 {
            // One audit row per batch: the entries themselves are in the outbox and history.
            crate::audit::record(
                &txn,
                crate::audit::Event::new(Some(ctx), "cli", "entry.imported")
                    .target(format!("lines/{first_line}"))
                    .detail(serde_json::json!({ "entries": imported })),
            )
            .await
            .map_err(db_err)?;
        }
        txn.commit().await.map_err(db_err)?;
        Ok(stats)
    }

    /// The checks of one line that need no database: its id, type and fields, and the
    /// published copy's fields.
    fn check_line<'m>(
        &self,
        ctx: &TenantCtx,
        model: &'m TenantModel,
        batch_ids: &mut HashSet<String>,
        line: EntryLine,
    ) -> Result<Checked<'m>, ContentError> {
        if let Some(id) = &line.id {
            if uuid::Uuid::parse_str(id).is_err() {
                return Err(ContentError::invalid("id", "uuid", "ids are UUIDs"));
            }
            if !batch_ids.insert(id.clone()) {
                return Err(ContentError::invalid(
                    "id",
                    "unique",
                    format!("id `{id}` appears twice"),
                ));
            }
        }
        let ct = model.get(&line.entry_type)?;
        let mut data = line.fields.clone();
        if line.id.is_none() {
            values::apply_defaults(ct, &mut data, ctx.default_locale());
        }
        let draft = self.check_import(ctx, ct, &data)?;
        let published = match (&line.status, &line.published) {
            (Status::Published, Some(p)) => Some(
                self.check_import(ctx, ct, p)
                    .map_err(|e| prefix(e, "published"))?,
            ),
            (Status::Published, None) => Some(draft.clone()),
            (Status::Draft, _) => None,
        };
        Ok(Checked {
            line,
            ct,
            draft,
            published,
        })
    }

    /// Refreshes planner statistics after a bulk import.
    pub async fn analyze(&self) -> Result<(), ContentError> {
        repo::analyze(&self.db).await?;
        Ok(())
    }

    /// Call after each import batch with the entries it created: refreshes PostgreSQL's
    /// statistics each time the import has doubled what it wrote (see [`ImportStatistics`]).
    pub async fn analyze_as_import_grows(
        &self,
        schedule: &mut ImportStatistics,
        created: u64,
    ) -> Result<(), ContentError> {
        if self.db.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        schedule.written += created;
        if schedule.written >= schedule.next {
            repo::analyze(&self.db).await?;
            schedule.next = schedule.written.saturating_mul(2);
        }
        Ok(())
    }

    fn check_import(
        &self,
        ctx: &TenantCtx,
        ct: &super::ContentType,
        data: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ContentError> {
        values::check_entry(ct, data, ctx.locales(), ctx.default_locale(), &self.limits)
            .map_err(ContentError::Invalid)
    }

    /// Exports one page of entries (all types, id order) after `after`.
    pub async fn export_page(
        &self,
        ctx: &TenantCtx,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<EntryLine>, ContentError> {
        let drafts = repo::scan(&self.db, ctx, Stage::Draft, None, after, limit).await?;
        let ids: Vec<String> = drafts
            .iter()
            .filter(|d| d.published_at.is_some())
            .map(|d| d.entry_id.clone())
            .collect();
        let published: std::collections::HashMap<String, DocRow> =
            repo::get_many(&self.db, ctx, Stage::Published, &ids)
                .await?
                .into_iter()
                .map(|d| (d.entry_id.clone(), d))
                .collect();
        Ok(drafts
            .into_iter()
            .map(|d| {
                let published_doc = published.get(&d.entry_id);
                EntryLine {
                    entry_type: d.entry_type,
                    id: Some(d.entry_id),
                    slug: Some(d.slug),
                    status: if published_doc.is_some() {
                        Status::Published
                    } else {
                        Status::Draft
                    },
                    version: Some(d.version),
                    created_at: Some(to_rfc3339(d.created_at)),
                    updated_at: Some(to_rfc3339(d.updated_at)),
                    published_at: d.published_at.map(to_rfc3339),
                    created_by: d.created_by,
                    updated_by: d.updated_by,
                    locales: d.locales,
                    published: published_doc
                        .filter(|p| p.data != d.data)
                        .map(|p| p.data.clone()),
                    fields: d.data,
                }
            })
            .collect())
    }
}

/// An import line that passed the checks that need no database.
struct Checked<'m> {
    line: EntryLine,
    ct: &'m ContentType,
    draft: Map<String, Value>,
    published: Option<Map<String, Value>>,
}

/// What a batch's lines need from the database, read in a few statements.
struct BatchLookups {
    /// `(type, field, value)` of unique values another entry already holds.
    taken: HashSet<(String, String, String)>,
    /// `(type, id)` of the referenced entries that exist.
    found: HashSet<(String, String)>,
}

impl BatchLookups {
    async fn load(
        conn: &impl crate::store::reads::Exec,
        ctx: &TenantCtx,
        lines: &[(usize, Checked<'_>)],
    ) -> Result<Self, sea_orm::DbErr> {
        let mut unique: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
        let mut refs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (_, c) in lines {
            for field in c.ct.fields.iter().filter(|f| f.unique) {
                if let Some(v) = c
                    .draft
                    .get(&field.name)
                    .and_then(|v| values::encode_index_value(&field.kind, v))
                {
                    unique
                        .entry((c.ct.name.as_str(), field.name.as_str()))
                        .or_default()
                        .push(v);
                }
            }
            for (_, to, id) in values::references(c.ct, &c.draft) {
                refs.entry(to).or_default().push(id);
            }
        }
        let mut taken = HashSet::new();
        for ((ty, field), values) in unique {
            for v in repo::unique_values_taken(conn, ctx, ty, field, &values).await? {
                taken.insert((ty.to_owned(), field.to_owned(), v));
            }
        }
        let mut found = HashSet::new();
        for (to, ids) in refs {
            for id in repo::existing_ids(conn, ctx, Some(&to), &ids).await? {
                found.insert((to.clone(), id));
            }
        }
        Ok(BatchLookups { taken, found })
    }
}

fn prefix(e: ContentError, p: &str) -> ContentError {
    match e {
        ContentError::Invalid(fields) => ContentError::Invalid(
            fields
                .into_iter()
                .map(|f| FieldError {
                    path: format!("{p}.{}", f.path),
                    ..f
                })
                .collect(),
        ),
        other => other,
    }
}
