//! Applying a group of prepared writes in one transaction, with one result each.
//!
//! On PostgreSQL every statement of a write is a round trip under the tenant's lock: a create
//! was nine (savepoint, slug, document, index rows, version, outbox sequence and event, audit
//! row, release), so eight concurrent editors got about 400 creates/s however the commits were
//! grouped. Consecutive plain creates (no `publish`) are therefore taken together, as an import
//! batch is: their slugs are looked up in one statement per type, each is checked in order
//! against the database and the creates before it (slugs, unique values), and all of them are
//! written together with their outbox events (`store::outbox::insert_and_record`: one statement
//! on PostgreSQL).
//! A write that fails its checks fails alone and writes nothing. Should a statement of the run
//! fail after all (the database went away), the run is undone to its savepoint and its creates
//! go one by one, each in a savepoint of its own, as every other kind of write always does; a
//! group that is one run has no savepoint, and the group commit rolls back and retries it so.
//!
//! Even so a group was five round trips on PostgreSQL (`BEGIN`, the lock, the slugs, the rows,
//! `COMMIT`), and at eight editors the leader's chain of them set the pace (1,700–2,000
//! creates/s). A group of creates whose only check under the lock is that their slugs are free
//! is therefore first written by one statement and no transaction
//! ([`Content::write_creates_at_once`], `store::outbox::insert_gated`): its first part takes the
//! tenant's lock and goes on only if nothing changed since the statement's snapshot, so the
//! slug check in that snapshot is as good as one made under the lock. Otherwise it writes
//! nothing, and the group takes the transaction above.

use std::collections::{HashMap, HashSet};

use sea_orm::{DbBackend, DbErr};
use serde_json::{Map, Value};

use super::entries::{
    Entry, Prepared, SlugProbe, Status, check_references, choose_slug_in_batch, derive_slug_base,
    event_for, index_rows_of, unique_conflict, version_row,
};
use super::model::ContentType;
use super::{Content, ContentError, TenantModel, slug, values};
use crate::store::entries::{self as repo, DocRow, IndexBatch, Stage};
use crate::store::outbox::{self, EventKind, NewEvent};
use crate::store::reads::Exec;
use crate::store::sql::Rows;
use crate::store::writer::savepoint;
use crate::tenancy::TenantCtx;
use crate::time::now_ms;

/// One prepared write of a group, with who asked for it.
pub(super) struct Write {
    pub ctx: TenantCtx,
    pub entry_type: String,
    pub write: Prepared,
    pub actor: Option<String>,
}

pub(super) type Outcome = Result<Option<Entry>, ContentError>;

/// What became of a group applied by [`Content::apply_group`].
pub(super) enum Applied {
    Done(Vec<Outcome>),
    /// The group was one run of creates written without a savepoint, and one of its statements
    /// failed: the transaction must be rolled back and the writes applied again
    /// ([`Content::apply_all`]).
    Retry(Vec<Write>),
}

impl Write {
    /// A create that publishes needs its draft in the database first, so it goes alone.
    fn is_plain_create(&self) -> bool {
        matches!(&self.write, Prepared::Create(input, _) if input.publish.is_none())
    }
}

/// A create that passed the checks that need no database.
struct Staged<'m> {
    ct: &'m ContentType,
    data: Map<String, Value>,
    slug: Option<String>,
}

impl Content {
    /// A group commit's writes. When they are all plain creates (the usual group under a
    /// create load) they form one run written without the run's savepoint: two round trips
    /// fewer on PostgreSQL. Should a statement fail, the caller rolls back and retries with
    /// [`Self::apply_all`], where the run has its savepoint and falls back to one by one.
    pub(super) async fn apply_group(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        writes: Vec<Write>,
    ) -> Result<Applied, DbErr> {
        if !writes.iter().all(Write::is_plain_create) {
            return self.apply_all(txn, model, writes).await.map(Applied::Done);
        }
        match self.write_creates(txn, model, &writes).await {
            Ok(outcomes) => Ok(Applied::Done(outcomes)),
            Err(e) => {
                tracing::debug!(error = %e, creates = writes.len(), "a group of creates is retried");
                Ok(Applied::Retry(writes))
            }
        }
    }

    /// Applies `writes` in order inside `txn` (which holds the tenant's lock), each with its
    /// own result, as if each ran alone after the ones before it. An `Err` means the
    /// transaction itself failed and must not be committed.
    pub(super) async fn apply_all(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        writes: Vec<Write>,
    ) -> Result<Vec<Outcome>, DbErr> {
        let mut out = Vec::with_capacity(writes.len());
        let mut writes = writes.into_iter().peekable();
        while let Some(w) = writes.next() {
            if w.is_plain_create() {
                let mut run = vec![w];
                while let Some(next) = writes.next_if(Write::is_plain_create) {
                    run.push(next);
                }
                out.extend(self.create_run(txn, model, run).await?);
                continue;
            }
            out.push(self.apply_one(txn, model, w).await?);
        }
        Ok(out)
    }

    /// One write in a savepoint of its own.
    async fn apply_one(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        w: Write,
    ) -> Result<Outcome, DbErr> {
        savepoint(
            txn,
            self.apply_locked(
                txn,
                model,
                &w.ctx,
                &w.entry_type,
                w.write,
                w.actor.as_deref(),
            ),
        )
        .await
    }

    /// Consecutive plain creates, checked together and written with one statement per table.
    async fn create_run(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        run: Vec<Write>,
    ) -> Result<Vec<Outcome>, DbErr> {
        let planned = savepoint(txn, self.write_creates(txn, model, &run)).await?;
        match planned {
            Ok(outcomes) => Ok(outcomes),
            Err(e) => {
                tracing::debug!(error = %e, creates = run.len(), "a run of creates goes one by one");
                let mut out = Vec::with_capacity(run.len());
                for w in run {
                    out.push(self.apply_one(txn, model, w).await?);
                }
                Ok(out)
            }
        }
    }

    /// The body of [`Self::create_run`]: an `Err` is a failed statement (and undoes the run);
    /// a create refused by its checks is an `Err` in its own place of the result.
    async fn write_creates(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        run: &[Write],
    ) -> Result<Vec<Outcome>, DbErr> {
        let Some(first) = run.first() else {
            return Ok(Vec::new());
        };
        let tenant = &first.ctx;
        // The checks that need no database, and the slugs the run will ask for.
        let staged = self.stage_run(model, run);
        let mut candidates: HashMap<String, Vec<String>> = HashMap::new();
        for (w, s) in run.iter().zip(&staged) {
            if let Ok(s) = s {
                candidates
                    .entry(s.ct.name.clone())
                    .or_default()
                    .push(s.wanted_slug(w.ctx.default_locale()));
            }
        }
        let probe = SlugProbe::load(txn, tenant, candidates)
            .await
            .map_err(into_db)?;

        // The checks against the database and the creates before, in order.
        let mut slugs: HashSet<(String, String)> = HashSet::new();
        let mut unique: HashSet<(String, String, String)> = HashSet::new();
        let mut docs: Vec<DocRow> = Vec::new();
        let mut outcomes: Vec<Result<usize, ContentError>> = Vec::with_capacity(run.len());
        for (w, s) in run.iter().zip(staged) {
            let s = match s {
                Ok(s) => s,
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            };
            let checked = async {
                check_references(txn, &w.ctx, s.ct, &s.data).await?;
                check_unique_in_run(txn, &w.ctx, s.ct, &s.data, &mut unique).await?;
                choose_slug_in_batch(
                    txn,
                    &w.ctx,
                    s.ct,
                    s.slug.as_deref(),
                    &s.data,
                    &mut slugs,
                    &probe,
                )
                .await
            }
            .await;
            let slug = match checked {
                Ok(slug) => slug,
                Err(ContentError::Db(e)) => return Err(e),
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            };
            outcomes.push(Ok(docs.len()));
            docs.push(s.into_draft(w, slug));
        }
        if !docs.is_empty() {
            let actors = actors_of(run, &outcomes);
            write_created(txn, tenant, model, &docs, &actors)
                .await
                .map_err(into_db)?;
        }
        Ok(answers(outcomes, docs))
    }

    /// PostgreSQL: a group of plain creates written by one statement, with no transaction
    /// around it and no lookup before it ([`outbox::insert_gated`]): one round trip for the
    /// group instead of five (`BEGIN`, the lock, the slugs, the rows, `COMMIT`), for creates
    /// whose checks under the lock come down to their slugs being free. `None` (and nothing
    /// written) when a create needs more (unique values, references, media, a slug chosen
    /// among taken ones) or the statement finds the tenant other than the creates were checked
    /// against: the group then goes through [`Self::apply_group`] in a transaction.
    pub(super) async fn write_creates_at_once(&self, run: &[Write]) -> Option<Vec<Outcome>> {
        let first = run.first()?;
        if self.db.get_database_backend() != DbBackend::Postgres
            || !run.iter().all(Write::is_plain_create)
        {
            return None;
        }
        let tenant = &first.ctx;
        let model = self.model(tenant).await.ok()?;
        // A type with unique fields always needs its lookups: known before staging anything,
        // which the transaction would then do again.
        if run.iter().any(|w| {
            model
                .get(&w.entry_type)
                .is_ok_and(|ct| ct.fields.iter().any(|f| f.unique))
        }) {
            return None;
        }
        let mut slugs: Vec<(String, String)> = Vec::with_capacity(run.len());
        let mut seen: HashSet<(String, String)> = HashSet::with_capacity(run.len());
        let mut docs: Vec<DocRow> = Vec::with_capacity(run.len());
        let mut outcomes: Vec<Result<usize, ContentError>> = Vec::with_capacity(run.len());
        for (w, s) in run.iter().zip(self.stage_run(&model, run)) {
            let s = match s {
                Ok(s) => s,
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            };
            if !s.needs_only_its_slug() {
                return None;
            }
            let slug = s.wanted_slug(w.ctx.default_locale());
            let key = (s.ct.name.clone(), slug.clone());
            if !slug::is_valid_slug(&slug) || !seen.insert(key.clone()) {
                return None;
            }
            slugs.push(key);
            outcomes.push(Ok(docs.len()));
            docs.push(s.into_draft(w, slug));
        }
        if docs.is_empty() {
            // Refused by checks against a model no lock has confirmed: the transaction's
            // checks decide.
            return None;
        }
        let actors = actors_of(run, &outcomes);
        let now = now_ms();
        let (parts, events) = created_rows(tenant, &model, &docs, &actors, now).ok()?;
        let gate = outbox::Gate {
            schema_version: model.schema_version,
            slugs: &slugs,
        };
        match outbox::insert_gated(&self.db, tenant, &gate, parts, events, now).await {
            Ok(true) => Some(answers(outcomes, docs)),
            Ok(false) => None,
            Err(e) => {
                tracing::debug!(error = %e, creates = run.len(), "a group of creates goes through a transaction");
                None
            }
        }
    }

    /// The checks of a run's creates that need no database, in order.
    fn stage_run<'m>(
        &self,
        model: &'m TenantModel,
        run: &[Write],
    ) -> Vec<Result<Staged<'m>, ContentError>> {
        run.iter()
            .map(|w| match &w.write {
                Prepared::Create(input, hooked) => {
                    self.stage_create(&w.ctx, model, &w.entry_type, input, hooked.as_ref())
                }
                _ => Err(ContentError::Db(DbErr::Custom("not a create".into()))),
            })
            .collect()
    }

    /// Merges a create's input (or takes what its plugin hooks returned), applies defaults and
    /// checks the fields.
    fn stage_create<'m>(
        &self,
        ctx: &TenantCtx,
        model: &'m TenantModel,
        entry_type: &str,
        input: &super::EntryInput,
        hooked: Option<&Map<String, Value>>,
    ) -> Result<Staged<'m>, ContentError> {
        let ct = model.get(entry_type)?;
        let data = match hooked {
            Some(data) => data.clone(),
            None => {
                let mut data = self.merge_input(ctx, ct, input, &Map::new())?;
                values::apply_defaults(ct, &mut data, ctx.default_locale());
                data
            }
        };
        let data = self.check(ctx, ct, &data)?;
        Ok(Staged {
            ct,
            data,
            slug: input.slug.clone(),
        })
    }
}

/// A run's failed statement, to undo the run; other errors were answered in place.
fn into_db(e: ContentError) -> DbErr {
    match e {
        ContentError::Db(e) => e,
        other => DbErr::Custom(other.to_string()),
    }
}

/// Unique fields against the database and the creates of the run before this one.
async fn check_unique_in_run(
    txn: &impl Exec,
    ctx: &TenantCtx,
    ct: &ContentType,
    data: &Map<String, Value>,
    run: &mut HashSet<(String, String, String)>,
) -> Result<(), ContentError> {
    super::entries::check_unique(txn, ctx, ct, data, None).await?;
    let keys: Vec<(String, String, String)> = ct
        .fields
        .iter()
        .filter(|f| f.unique)
        .filter_map(|f| {
            let v = values::encode_index_value(&f.kind, data.get(&f.name)?)?;
            Some((ct.name.clone(), f.name.clone(), v))
        })
        .collect();
    if let Some(field) = keys
        .iter()
        .find(|k| run.contains(*k))
        .and_then(|(_, name, _)| ct.field(name))
    {
        return Err(unique_conflict(ct, field));
    }
    run.extend(keys);
    Ok(())
}

/// The writes whose staged create became `docs[i]` (`Ok(i)`), in order: who asked for each.
fn actors_of<'w>(
    run: &'w [Write],
    outcomes: &[Result<usize, ContentError>],
) -> Vec<Option<&'w str>> {
    run.iter()
        .zip(outcomes)
        .filter(|(_, o)| o.is_ok())
        .map(|(w, _)| w.actor.as_deref())
        .collect()
}

/// Each write's answer: its new draft (`Ok(i)` is `docs[i]`) or why it was refused.
fn answers(outcomes: Vec<Result<usize, ContentError>>, docs: Vec<DocRow>) -> Vec<Outcome> {
    let mut docs = docs.into_iter().map(Some).collect::<Vec<_>>();
    outcomes
        .into_iter()
        .map(|o| {
            let i = o?;
            let doc = docs
                .get_mut(i)
                .and_then(Option::take)
                .ok_or_else(|| ContentError::Db(DbErr::Custom("a create was lost".into())))?;
            Ok(Some(Entry::from_doc(doc, Stage::Draft)))
        })
        .collect()
}

impl Staged<'_> {
    /// The slug asked for, or the one derived from the data.
    fn wanted_slug(&self, default_locale: &str) -> String {
        match &self.slug {
            Some(requested) => requested.clone(),
            None => derive_slug_base(self.ct, &self.data, default_locale),
        }
    }

    /// Whether, in a type without unique fields, the only check this create needs under the
    /// lock is that its slug is free: no reference or media to look up.
    fn needs_only_its_slug(&self) -> bool {
        let present = |name: &str| {
            self.data
                .get(name)
                .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        };
        !self
            .ct
            .fields
            .iter()
            .any(|f| f.kind == super::model::FieldKind::Media && present(&f.name))
            && values::references(self.ct, &self.data).is_empty()
    }

    /// The new draft, version 1.
    fn into_draft(self, w: &Write, slug: String) -> DocRow {
        let now = now_ms();
        DocRow {
            entry_id: uuid::Uuid::now_v7().to_string(),
            entry_type: self.ct.name.clone(),
            slug,
            version: 1,
            locales: values::available_locales(self.ct, &self.data, w.ctx.locales()),
            data: self.data,
            created_at: now,
            updated_at: now,
            published_at: None,
            created_by: w.actor.clone(),
            updated_by: w.actor.clone(),
        }
    }
}

/// The rows of the run's new drafts: documents, index rows, versions and audit rows in one
/// statement on PostgreSQL (one per table on SQLite), and the outbox events.
async fn write_created(
    txn: &impl Exec,
    ctx: &TenantCtx,
    model: &TenantModel,
    docs: &[DocRow],
    actors: &[Option<&str>],
) -> Result<(), ContentError> {
    let now = now_ms();
    // Should a slug be taken after all, the statement fails, the run is undone, and the
    // write-by-write retry reports the conflict.
    let (parts, events) = created_rows(ctx, model, docs, actors, now)?;
    outbox::insert_and_record(txn, ctx, parts, events, now).await?;
    Ok(())
}

/// The rows of new drafts (documents, index rows, versions, audit rows) and their events.
fn created_rows(
    ctx: &TenantCtx,
    model: &TenantModel,
    docs: &[DocRow],
    actors: &[Option<&str>],
    now: i64,
) -> Result<(Vec<Rows>, Vec<NewEvent>), ContentError> {
    let refs: Vec<(Stage, &DocRow)> = docs.iter().map(|d| (Stage::Draft, d)).collect();
    let docs_rows = repo::doc_rows(ctx, &refs);
    let mut batches = Vec::with_capacity(docs.len());
    for doc in docs {
        let ct = model.get(&doc.entry_type)?;
        batches.push(IndexBatch {
            stage: Stage::Draft,
            entry_type: &doc.entry_type,
            entry_id: &doc.entry_id,
            rows: index_rows_of(ctx, ct, doc),
        });
    }
    let index_rows = repo::index_rows(ctx, batches);
    let versions: Vec<_> = docs
        .iter()
        .zip(actors)
        .map(|(doc, actor)| version_row(doc, "create", Status::Draft, *actor, now))
        .collect();
    let version_rows = repo::version_rows(ctx, &versions);
    let audit = docs.iter().zip(actors).map(|(doc, actor)| {
        crate::audit::Event::new(
            Some(ctx),
            actor.unwrap_or("anonymous"),
            EventKind::EntryCreated.as_str(),
        )
        .target(format!("{}/{}", doc.entry_type, doc.entry_id))
        .detail(serde_json::json!({ "slug": doc.slug, "version": doc.version }))
    });
    let audit_rows = crate::audit::rows_of(audit);
    let events = docs
        .iter()
        .map(|doc| event_for(EventKind::EntryCreated, doc))
        .collect();
    Ok((
        vec![docs_rows, index_rows, version_rows, audit_rows],
        events,
    ))
}
