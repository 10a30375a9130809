//! Changing a tenant's content types. Every change is checked before it commits: the new
//! definition must be valid, names must not clash, references must point at existing types, and
//! a change that would drop stored data (removed field, changed kind, localized → plain, fewer
//! enum values) is refused unless forced. Renames move data. The tenant's schema version is
//! bumped in the same transaction so every node rebuilds its schema.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::model::{ContentType, FieldDef, FieldKind};
use super::{Content, ContentError, values};
use crate::error::FieldError;
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

/// What happens to one existing field.
#[derive(Debug, Clone, PartialEq)]
enum FieldChange {
    Keep,
    Rename(String),
    /// Values are converted losslessly (e.g. plain → localized, string → text).
    Convert,
    /// Values that do not fit the new definition are dropped.
    Lossy(String),
    Remove,
}

fn compatible(old: &FieldKind, new: &FieldKind) -> bool {
    use FieldKind::*;
    old == new
        || matches!(
            (old, new),
            (String, Text)
                | (Text, String)
                | (String | Text, RichText)
                | (Integer, Float)
                | (Email | Url | Phone, String | Text)
                | (Date, DateTime)
        )
        || matches!((old, new), (Enum(a), Enum(b)) if a.iter().all(|v| b.contains(v)))
        || matches!((old, new), (Reference { to: a }, Reference { to: b }) if a == b)
}

fn classify(old: &FieldDef, new: &FieldDef) -> Option<String> {
    if !compatible(&old.kind, &new.kind) {
        return Some(format!("type {} → {}", old.kind.name(), new.kind.name()));
    }
    if old.localized && !new.localized {
        return Some("localized → not localized keeps only the default locale".into());
    }
    if old.many && !new.many {
        return Some("many → single keeps only the first value".into());
    }
    None
}

/// Converts one stored value from the old definition to the new one; `None` drops it.
fn convert(
    old: &FieldDef,
    new: &FieldDef,
    v: &Value,
    default_locale: &str,
    limits: &values::ValueLimits,
) -> Option<Value> {
    let v = match (old.localized, new.localized) {
        (false, true) => serde_json::json!({ default_locale: v }),
        (true, false) => v.get(default_locale)?.clone(),
        _ => v.clone(),
    };
    let v = match (old.many, new.many) {
        (false, true) => Value::Array(vec![v]),
        (true, false) => v.as_array()?.first()?.clone(),
        _ => v,
    };
    let v = match (&old.kind, &new.kind) {
        (FieldKind::Date, FieldKind::DateTime) => {
            v.as_str().map(|d| Value::from(format!("{d}T00:00:00Z")))?
        }
        (FieldKind::String | FieldKind::Text, FieldKind::RichText) => v
            .as_str()
            .map(|s| Value::from(format!("<p>{}</p>", ammonia::clean_text(s))))?,
        _ => v,
    };
    // Keep what the new definition accepts.
    if new.localized {
        let Value::Object(m) = &v else { return None };
        let kept: Map<String, Value> = m
            .iter()
            .filter_map(|(l, x)| {
                values::check_value(new, x, &new.name, limits)
                    .ok()
                    .filter(|x| !x.is_null())
                    .map(|x| (l.clone(), x))
            })
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    } else {
        values::check_value(new, &v, &new.name, limits)
            .ok()
            .filter(|x| !x.is_null())
    }
}

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
        bump(&txn, ctx, &ct.name, "created", now, actor).await?;
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
        // Plan: for every old field, what happens to its values.
        let mut plan: Vec<(FieldDef, Option<FieldDef>, FieldChange)> = Vec::new();
        for of in &old.fields {
            let renamed_to = options
                .renames
                .iter()
                .find(|(_, from)| *from == &of.name)
                .map(|(to, _)| to.clone());
            let target = match &renamed_to {
                Some(to) => new.field(to),
                None if options.renames.contains_key(&of.name) => None,
                None => new.field(&of.name),
            };
            let change = match target {
                None => FieldChange::Remove,
                Some(nf) => match classify(of, nf) {
                    Some(why) => FieldChange::Lossy(why),
                    None if of.localized != nf.localized
                        || of.kind != nf.kind
                        || of.many != nf.many =>
                    {
                        FieldChange::Convert
                    }
                    None if renamed_to.is_some() => FieldChange::Rename(nf.name.clone()),
                    None => FieldChange::Keep,
                },
            };
            plan.push((of.clone(), target.cloned(), change));
        }
        let mut refused = Vec::new();
        for (of, _, change) in &plan {
            let reason = match change {
                FieldChange::Remove => Some("the field is removed".to_owned()),
                FieldChange::Lossy(why) => Some(why.clone()),
                _ => None,
            };
            if let Some(reason) = reason
                && !options.force
                && repo::any_value(&txn, ctx, name, &of.name).await?
            {
                refused.push(FieldError::new(
                    of.name.as_str(),
                    "dataLoss",
                    format!(
                        "stored entries hold values of `{}`: {reason}; send force to drop them",
                        of.name
                    ),
                ));
            }
        }
        if !refused.is_empty() {
            return Err(ContentError::Conflict {
                message: "the change would drop stored data".into(),
                fields: refused,
            });
        }
        let now = now_ms();
        content_types::upsert(&txn, ctx, name, &new.to_json(), now).await?;
        // Migrate documents and rebuild their index rows, page by page, in this transaction.
        let needs_rewrite = plan.iter().any(|(_, _, c)| *c != FieldChange::Keep);
        for stage in [Stage::Draft, Stage::Published] {
            let mut after: Option<String> = None;
            loop {
                let docs = repo::scan(&txn, ctx, stage, Some(name), after.as_deref(), 500).await?;
                let Some(last) = docs.last() else { break };
                after = Some(last.entry_id.clone());
                for mut doc in docs {
                    if needs_rewrite {
                        let mut data = Map::new();
                        for (of, nf, change) in &plan {
                            let (Some(v), Some(nf)) = (doc.data.get(&of.name), nf) else {
                                continue;
                            };
                            let moved = match change {
                                FieldChange::Keep | FieldChange::Rename(_) => Some(v.clone()),
                                FieldChange::Convert | FieldChange::Lossy(_) => {
                                    convert(of, nf, v, ctx.default_locale(), &self.limits)
                                }
                                FieldChange::Remove => None,
                            };
                            if let Some(v) = moved {
                                data.insert(nf.name.clone(), v);
                            }
                        }
                        doc.data = data;
                        repo::rewrite_data(&txn, ctx, &doc.entry_id, stage, &doc.data).await?;
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
        bump(&txn, ctx, name, "changed", now, actor).await?;
        txn.commit().await?;
        self.forget(ctx);
        Ok(new)
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
        bump(&txn, ctx, name, "deleted", now_ms(), actor).await?;
        txn.commit().await?;
        self.forget(ctx);
        Ok(())
    }
}

async fn bump(
    txn: &sea_orm::DatabaseTransaction,
    ctx: &TenantCtx,
    name: &str,
    what: &str,
    now: i64,
    actor: Option<&str>,
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
        .target(format!("content-type/{name}")),
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
