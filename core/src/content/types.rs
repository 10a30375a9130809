//! Changing a tenant's content types. Every change is checked before it commits: the new
//! definition must be valid, names must not clash, references must point at existing types, and
//! a change that would drop stored data is refused (`dataLoss`, with how many entries and a few
//! ids) unless forced. What is dropped is judged value by value ([`super::migrate`]): a removed
//! field, an impossible conversion, other locales or list items, and values a tighter rule
//! refuses. Renames move data, in the documents and in their history. The tenant's schema
//! version is bumped in the same transaction so every node rebuilds its schema, and every
//! rewritten entry gets an `entry.updated` event.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::migrate::{self, Refused};
use super::model::{ContentType, FieldDef, FieldKind};
use super::{Content, ContentError, values};
use crate::error::{DataLoss, FieldError};
use crate::store::entries::{self as repo, IndexBatch, Stage};
use crate::store::outbox::{self, EventKind, NewEvent};
use crate::store::{content_types, tenants};
use crate::tenancy::TenantCtx;
use crate::time::now_ms;

/// Options of a content-type change.
#[derive(Debug, Clone, Default)]
pub struct ChangeOptions {
    /// Apply even if stored values are dropped.
    pub force: bool,
    /// New field name → old field name.
    pub renames: BTreeMap<String, String>,
}

/// How many entries would lose values of one field, with a few of them and why.
#[derive(Debug, Default)]
struct FieldLoss {
    entries: BTreeSet<String>,
    reasons: BTreeSet<String>,
}

/// Entries named in a `dataLoss` refusal, so an editor can open them.
const LOSS_SAMPLE: usize = 5;

impl Content {
    /// The tenant's content types.
    pub async fn types(&self, ctx: &TenantCtx) -> Result<Vec<ContentType>, ContentError> {
        Ok(self.model(ctx).await?.types.clone())
    }

    fn check_against_tenant(
        &self,
        types: &[ContentType],
        ct: &ContentType,
        replacing: Option<&str>,
    ) -> Result<(), ContentError> {
        let mut errors = Vec::new();
        for other in types.iter().filter(|t| Some(t.name.as_str()) != replacing) {
            for (path, n) in [("name", &ct.name), ("plural", &ct.plural)] {
                if *n == other.name || *n == other.plural {
                    errors.push(FieldError::new(
                        path,
                        "unique",
                        format!("`{n}` is already used by content type `{}`", other.name),
                    ));
                }
            }
        }
        for (i, f) in ct.fields.iter().enumerate() {
            if let FieldKind::Reference { to } = &f.kind
                && *to != ct.name
                && !types
                    .iter()
                    .any(|t| t.name == *to && Some(t.name.as_str()) != replacing)
            {
                errors.push(FieldError::new(
                    format!("fields[{i}].to"),
                    "exists",
                    format!("no content type `{to}`"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ContentError::Invalid(errors))
        }
    }

    /// Adds a content type to the tenant.
    pub async fn create_type(
        &self,
        ctx: &TenantCtx,
        definition: Value,
        actor: Option<&str>,
    ) -> Result<ContentType, ContentError> {
        let ct = ContentType::from_json(definition).map_err(ContentError::Invalid)?;
        let (txn, model) = self.begin_write(ctx).await?;
        if model.types.iter().any(|t| t.name == ct.name) {
            return Err(ContentError::Conflict {
                message: format!("content type `{}` exists", ct.name),
                fields: vec![FieldError::new(
                    "name",
                    "unique",
                    "a content type of this name exists",
                )],
            });
        }
        self.check_against_tenant(&model.types, &ct, None)?;
        let now = now_ms();
        content_types::upsert(&txn, ctx, &ct.name, &ct.to_json(), now).await?;
        bump(&txn, ctx, &ct.name, "created", now, actor, Value::Null).await?;
        txn.commit().await?;
        self.forget(ctx);
        Ok(ct)
    }

    /// Changes a content type, migrating stored entries. Refuses to drop data unless forced.
    pub async fn update_type(
        &self,
        ctx: &TenantCtx,
        name: &str,
        definition: Value,
        options: &ChangeOptions,
        actor: Option<&str>,
    ) -> Result<ContentType, ContentError> {
        let new = ContentType::from_json(definition).map_err(ContentError::Invalid)?;
        if new.name != name {
            return Err(ContentError::invalid(
                "name",
                "immutable",
                "a content type cannot be renamed; create a new one",
            ));
        }
        let (txn, model) = self.begin_write(ctx).await?;
        let old = model.get(name)?.clone();
        self.check_against_tenant(&model.types, &new, Some(name))?;
        let mut errors = Vec::new();
        for (to, from) in &options.renames {
            if new.field(to).is_none() {
                errors.push(FieldError::new(
                    format!("renames.{to}"),
                    "exists",
                    format!("the new definition has no field `{to}`"),
                ));
            }
            if old.field(from).is_none() {
                errors.push(FieldError::new(
                    format!("renames.{to}"),
                    "exists",
                    format!("the old definition has no field `{from}`"),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ContentError::Invalid(errors));
        }
        // Where each old field's values go: the field of the same name, or the one it is renamed
        // to; nowhere when it is removed (or its name is taken by a renamed field).
        let targets: Vec<(&FieldDef, Option<&FieldDef>)> = old
            .fields
            .iter()
            .map(|of| {
                let renamed_to = options
                    .renames
                    .iter()
                    .find(|(_, from)| *from == &of.name)
                    .map(|(to, _)| to.as_str());
                let target = match renamed_to {
                    Some(to) => new.field(to),
                    None if options.renames.contains_key(&of.name) => None,
                    None => new.field(&of.name),
                };
                (of, target)
            })
            .collect();
        let untouched = targets.iter().all(|(of, nf)| {
            nf.is_some_and(|nf| nf.name == of.name && migrate::same_values(of, nf))
        });
        let now = now_ms();
        content_types::upsert(&txn, ctx, name, &new.to_json(), now).await?;
        // Migrate documents and rebuild their index rows, page by page, in this transaction
        // (which holds the tenant's write lock: no entry write interleaves). What the change
        // would drop is counted on the way; a refusal rolls all of it back.
        let mut losses: BTreeMap<String, FieldLoss> = BTreeMap::new();
        let mut changed: BTreeMap<String, NewEvent> = BTreeMap::new();
        for stage in [Stage::Draft, Stage::Published] {
            let mut after: Option<String> = None;
            loop {
                let docs = repo::scan(&txn, ctx, stage, Some(name), after.as_deref(), 500).await?;
                let Some(last) = docs.last() else { break };
                after = Some(last.entry_id.clone());
                for mut doc in docs {
                    if !untouched {
                        let data = self.migrate_data(
                            ctx,
                            &targets,
                            &doc.data,
                            Refused::Drop,
                            |field, lost| {
                                let loss = losses.entry(field.to_owned()).or_default();
                                loss.entries.insert(doc.entry_id.clone());
                                loss.reasons.extend(lost);
                            },
                        );
                        if data != doc.data {
                            doc.data = data;
                            repo::rewrite_data(&txn, ctx, &doc.entry_id, stage, &doc.data).await?;
                            changed.entry(doc.entry_id.clone()).or_insert_with(|| {
                                let mut event =
                                    super::entries::event_for(EventKind::EntryUpdated, &doc);
                                event.payload["cause"] = Value::from("content_type.changed");
                                event
                            });
                        }
                    }
                    let rows =
                        values::index_rows(&new, &doc.data, ctx.locales(), ctx.default_locale());
                    repo::replace_index(
                        &txn,
                        ctx,
                        IndexBatch {
                            stage,
                            entry_type: name,
                            entry_id: &doc.entry_id,
                            rows,
                        },
                    )
                    .await?;
                }
            }
        }
        if !losses.is_empty() && !options.force {
            return Err(refusal(losses));
        }
        // The history follows the definition, so restoring a version from before a rename
        // brings the renamed field back; values the new rules refuse stay for the editor to fix.
        let mut versions = 0u64;
        if !untouched {
            let mut after: Option<(String, i64)> = None;
            loop {
                let rows = repo::scan_versions(
                    &txn,
                    ctx,
                    name,
                    after.as_ref().map(|(id, v)| (id.as_str(), *v)),
                    500,
                )
                .await?;
                let Some(last) = rows.last() else { break };
                after = Some((last.entry_id.clone(), last.version));
                for row in rows {
                    let data =
                        self.migrate_data(ctx, &targets, &row.data, Refused::Keep, |_, _| {});
                    if data != row.data {
                        repo::rewrite_version_data(&txn, ctx, &row.entry_id, row.version, &data)
                            .await?;
                        versions += 1;
                    }
                }
            }
        }
        let entries = changed.len();
        // Subscribers and webhooks hear of every entry the change rewrote.
        let events: Vec<NewEvent> = changed.into_values().collect();
        for chunk in events.chunks(500) {
            outbox::record(&txn, ctx, chunk.to_vec(), now).await?;
        }
        let dropped: BTreeMap<&str, usize> = losses
            .iter()
            .map(|(f, l)| (f.as_str(), l.entries.len()))
            .collect();
        bump(
            &txn,
            ctx,
            name,
            "changed",
            now,
            actor,
            serde_json::json!({ "entries": entries, "versions": versions, "dropped": dropped }),
        )
        .await?;
        txn.commit().await?;
        self.forget(ctx);
        Ok(new)
    }

    /// One document's data in the new definition; `lost` hears of every field that lost values.
    fn migrate_data(
        &self,
        ctx: &TenantCtx,
        targets: &[(&FieldDef, Option<&FieldDef>)],
        data: &Map<String, Value>,
        refused: Refused,
        mut lost: impl FnMut(&str, BTreeSet<String>),
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (of, nf) in targets {
            let Some(v) = data.get(&of.name) else {
                continue;
            };
            let m = migrate::migrate(of, *nf, v, ctx.default_locale(), &self.limits, refused);
            if !m.lost.is_empty() {
                lost(&of.name, m.lost);
            }
            if let (Some(v), Some(nf)) = (m.value, nf) {
                out.insert(nf.name.clone(), v);
            }
        }
        out
    }

    /// Deletes a content type. Refused while entries exist (unless forced) or while another
    /// type references it.
    pub async fn delete_type(
        &self,
        ctx: &TenantCtx,
        name: &str,
        force: bool,
        actor: Option<&str>,
    ) -> Result<(), ContentError> {
        let (txn, model) = self.begin_write(ctx).await?;
        model.get(name)?;
        let referencing: Vec<String> = model
            .types
            .iter()
            .filter(|t| t.name != name)
            .flat_map(|t| {
                t.fields
                    .iter()
                    .filter(|f| matches!(&f.kind, FieldKind::Reference { to } if to == name))
                    .map(move |f| format!("{}.{}", t.name, f.name))
            })
            .collect();
        if !referencing.is_empty() {
            return Err(ContentError::Conflict {
                message: format!("`{name}` is referenced by {}", referencing.join(", ")),
                fields: vec![FieldError::new(
                    "name",
                    "referenced",
                    format!("referenced by {}", referencing.join(", ")),
                )],
            });
        }
        let count = repo::count_type(&txn, ctx, Stage::Draft, name).await?;
        if count > 0 && !force {
            return Err(ContentError::Conflict {
                message: format!(
                    "{count} entries of `{name}` exist; send force to delete them with the type"
                ),
                fields: vec![FieldError::new(
                    "name",
                    "dataLoss",
                    format!("{count} entries exist"),
                )],
            });
        }
        repo::delete_type(&txn, ctx, name).await?;
        content_types::delete(&txn, ctx, name).await?;
        bump(
            &txn,
            ctx,
            name,
            "deleted",
            now_ms(),
            actor,
            serde_json::json!({ "entries": count }),
        )
        .await?;
        txn.commit().await?;
        self.forget(ctx);
        Ok(())
    }
}

/// The `dataLoss` refusal: per field, how many entries, a few ids, and why.
fn refusal(losses: BTreeMap<String, FieldLoss>) -> ContentError {
    let fields = losses
        .into_iter()
        .map(|(field, loss)| {
            let entries = loss.entries.len() as u64;
            let sample: Vec<String> = loss.entries.into_iter().take(LOSS_SAMPLE).collect();
            let reasons: Vec<String> = loss.reasons.into_iter().collect();
            let mut e = FieldError::new(
                field.as_str(),
                "dataLoss",
                format!(
                    "{entries} entries would lose values of `{field}`: {} (e.g. {}); send force to drop them",
                    reasons.join("; "),
                    sample.join(", ")
                ),
            );
            e.loss = Some(DataLoss {
                entries,
                sample,
                reasons,
            });
            e
        })
        .collect();
    ContentError::Conflict {
        message: "the change would drop stored data".into(),
        fields,
    }
}

async fn bump(
    txn: &impl crate::store::reads::Exec,
    ctx: &TenantCtx,
    name: &str,
    what: &str,
    now: i64,
    actor: Option<&str>,
    detail: Value,
) -> Result<(), ContentError> {
    crate::audit::record(
        txn,
        crate::audit::Event::new(
            Some(ctx),
            actor.unwrap_or("anonymous"),
            match what {
                "created" => "content_type.created",
                "deleted" => "content_type.deleted",
                _ => "content_type.changed",
            },
        )
        .target(format!("content-type/{name}"))
        .detail(detail),
    )
    .await?;
    let version = tenants::bump_schema_version(txn, ctx.id(), now).await?;
    outbox::record(
        txn,
        ctx,
        vec![NewEvent {
            kind: EventKind::ContentTypeChanged,
            entry_type: Some(name.to_owned()),
            entry_id: None,
            payload: serde_json::json!({ "type": name, "change": what, "schemaVersion": version }),
        }],
        now,
    )
    .await?;
    Ok(())
}
