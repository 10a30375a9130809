//! Batch mutations: `create<Plural>`, `update<Plural>` and `delete<Plural>` write up to
//! `limits.write_batch_max` entries of one type in one transaction (one write lock, one commit)
//! and answer one result per item, in order: the entry (or deleted id) or the item's error. A
//! failing item is rolled back alone; the others stand. See `Content::write_batch`.

use async_graphql::Value;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputObject, InputValue, Object, TypeRef,
};
use serde_json::Value as Json;

use super::builder::{EntryView, WriteArgs, arg_json};
use super::names::TypeNames;
use super::{RequestCtx, content_error};
use crate::access::Action;
use crate::content::{BatchWrite, ContentError, ContentType};
use crate::error::{ErrorCode, FieldError};

/// The error of one item.
struct ItemError {
    code: ErrorCode,
    message: String,
    fields: Vec<FieldError>,
}

impl From<ContentError> for ItemError {
    fn from(e: ContentError) -> Self {
        let code = e.code();
        if code == ErrorCode::Internal {
            tracing::error!(error = ?e, "internal error in a batch write");
            return ItemError {
                code,
                message: "internal error".into(),
                fields: Vec::new(),
            };
        }
        ItemError {
            code,
            message: e.to_string(),
            fields: e.fields().to_vec(),
        }
    }
}

/// One item's result.
struct ItemResult {
    id: Option<String>,
    entry: Option<EntryView>,
    error: Option<ItemError>,
}

/// `WriteError` and `WriteFieldError`, shared by every type's batch results.
pub fn shared_types() -> [Object; 2] {
    let error = Object::new("WriteError")
        .description("Why one write of a batch failed (the codes of SPEC §6's errors).")
        .field(Field::new(
            "code",
            TypeRef::named_nn(TypeRef::STRING),
            |ctx| {
                FieldFuture::new(async move {
                    let e = ctx.parent_value.try_downcast_ref::<ItemError>()?;
                    Ok(Some(FieldValue::value(Value::from(e.code.as_str()))))
                })
            },
        ))
        .field(Field::new(
            "message",
            TypeRef::named_nn(TypeRef::STRING),
            |ctx| {
                FieldFuture::new(async move {
                    let e = ctx.parent_value.try_downcast_ref::<ItemError>()?;
                    Ok(Some(FieldValue::value(Value::from(e.message.clone()))))
                })
            },
        ))
        .field(Field::new(
            "fields",
            TypeRef::named_nn_list_nn("WriteFieldError"),
            |ctx| {
                FieldFuture::new(async move {
                    let e = ctx.parent_value.try_downcast_ref::<ItemError>()?;
                    Ok(Some(FieldValue::list(
                        e.fields.iter().cloned().map(FieldValue::owned_any),
                    )))
                })
            },
        ));
    let field_error = |name: &'static str, get: fn(&FieldError) -> String| {
        Field::new(name, TypeRef::named_nn(TypeRef::STRING), move |ctx| {
            FieldFuture::new(async move {
                let e = ctx.parent_value.try_downcast_ref::<FieldError>()?;
                Ok(Some(FieldValue::value(Value::from(get(e)))))
            })
        })
    };
    let field = Object::new("WriteFieldError")
        .description("A field of the item that broke a rule: its path, the rule and a message.")
        .field(field_error("path", |e| e.path.clone()))
        .field(field_error("rule", |e| e.rule.clone()))
        .field(field_error("message", |e| e.message.clone()));
    [error, field]
}

/// The type's `<Type>WriteResult` object and `<Type>BatchUpdate` input.
pub fn types(names: &TypeNames) -> (Object, InputObject) {
    let result = Object::new(names.write_result.clone())
        .description("One item of a batch write: its entry, or why it failed.")
        .field(Field::new("id", TypeRef::named(TypeRef::ID), |ctx| {
            FieldFuture::new(async move {
                let r = ctx.parent_value.try_downcast_ref::<ItemResult>()?;
                Ok(r.id.clone().map(|id| FieldValue::value(Value::from(id))))
            })
        }))
        .field(Field::new(
            "entry",
            TypeRef::named(names.object.clone()),
            |ctx| {
                FieldFuture::new(async move {
                    let r = ctx.parent_value.try_downcast_ref::<ItemResult>()?;
                    Ok(r.entry.as_ref().map(|v| {
                        FieldValue::owned_any(EntryView {
                            entry: v.entry.clone(),
                            locale: v.locale.clone(),
                        })
                    }))
                })
            },
        ))
        .field(Field::new("error", TypeRef::named("WriteError"), |ctx| {
            FieldFuture::new(async move {
                let r = ctx.parent_value.try_downcast_ref::<ItemResult>()?;
                Ok(r.error.as_ref().map(|e| FieldValue::borrowed_any(e)))
            })
        }));
    let update = InputObject::new(names.batch_update.clone())
        .description(
            "One update of a batch: the entry, its new values, and the version it was read at.",
        )
        .field(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
        .field(InputValue::new(
            "data",
            TypeRef::named_nn(names.update_input.clone()),
        ))
        .field(InputValue::new(
            "expectedVersion",
            TypeRef::named(TypeRef::INT),
        ));
    (result, update)
}

fn results(
    outcomes: Vec<Result<Option<crate::content::Entry>, ItemError>>,
    ids: Vec<Option<String>>,
    locale: &str,
) -> FieldValue<'static> {
    FieldValue::list(outcomes.into_iter().zip(ids).map(|(outcome, id)| {
        FieldValue::owned_any(match outcome {
            Ok(entry) => ItemResult {
                id: entry.as_ref().map(|e| e.id.clone()).or(id),
                entry: entry.map(|entry| EntryView {
                    entry: std::sync::Arc::new(entry),
                    locale: locale.to_owned(),
                }),
                error: None,
            },
            Err(error) => ItemResult {
                id,
                entry: None,
                error: Some(error),
            },
        })
    }))
}

/// Runs the authorized writes of a batch in one transaction and merges their results with the
/// refused items, in the items' order.
async fn run(
    rc: &RequestCtx,
    ty: &str,
    items: Vec<Result<BatchWrite, ItemError>>,
) -> async_graphql::Result<Vec<Result<Option<crate::content::Entry>, ItemError>>> {
    let mut writes = Vec::with_capacity(items.len());
    let mut slots = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Ok(w) => {
                writes.push(w);
                slots.push(None);
            }
            Err(e) => slots.push(Some(e)),
        }
    }
    let actor = rc.principal.actor();
    let mut done = rc
        .content
        .write_batch(&rc.tenant, ty, writes, actor.as_deref())
        .await
        .map_err(content_error)?
        .into_iter();
    Ok(slots
        .into_iter()
        .map(|slot| match slot {
            Some(refused) => Err(refused),
            None => done.next().unwrap_or(Ok(None)).map_err(ItemError::from),
        })
        .collect())
}

/// An item the token may not write.
fn refused(e: async_graphql::Error) -> ItemError {
    ItemError {
        code: ErrorCode::Forbidden,
        message: e.message,
        fields: Vec::new(),
    }
}

/// The three batch mutations of a type.
pub fn mutations(ct: &ContentType, names: &TypeNames) -> [Field; 3] {
    let results_ty = || TypeRef::named_nn_list_nn(names.write_result.clone());
    let ty = ct.name.clone();
    let create = Field::new(names.create_many.clone(), results_ty(), move |ctx| {
        let ty = ty.clone();
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            rc.authorize(&ty, Action::Create)?;
            let args = WriteArgs::read(&ctx, rc)?;
            if args.publish.is_some() {
                rc.authorize(&ty, Action::Publish)?;
            }
            let items = match arg_json(&ctx, "items")? {
                Some(Json::Array(items)) => items,
                _ => Vec::new(),
            };
            let writes = items
                .iter()
                .map(|item| Ok(BatchWrite::Create(args.input(Some(item)))))
                .collect();
            let outcomes = run(rc, &ty, writes).await?;
            let ids = vec![None; outcomes.len()];
            Ok(Some(results(outcomes, ids, &args.read_locale)))
        })
    })
    .description("Creates several entries in one transaction; one result per item, in order.")
    .argument(InputValue::new(
        "items",
        TypeRef::named_nn_list_nn(names.create_input.clone()),
    ))
    .argument(InputValue::new("locale", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("publish", TypeRef::named(TypeRef::BOOLEAN)))
    .argument(InputValue::new("publishedAt", TypeRef::named("DateTime")));

    let ty = ct.name.clone();
    let update = Field::new(names.update_many.clone(), results_ty(), move |ctx| {
        let ty = ty.clone();
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            let args = WriteArgs::read(&ctx, rc)?;
            let items = match arg_json(&ctx, "items")? {
                Some(Json::Array(items)) => items,
                _ => Vec::new(),
            };
            // Each item is authorized on its own entry (an author may update only theirs):
            // a refused item fails alone.
            let mut writes = Vec::with_capacity(items.len());
            let mut ids = Vec::with_capacity(items.len());
            for item in &items {
                let id = item
                    .get("id")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let mut allowed = rc.authorize_entry(&ty, Action::Update, &id).await;
                if allowed.is_ok() && args.publish.is_some() {
                    allowed = rc.authorize_entry(&ty, Action::Publish, &id).await;
                }
                ids.push(Some(id.clone()));
                writes.push(match allowed {
                    Ok(()) => Ok(BatchWrite::Update {
                        id,
                        input: args.input(item.get("data")),
                        expected_version: item.get("expectedVersion").and_then(Json::as_i64),
                    }),
                    Err(e) => Err(refused(e)),
                });
            }
            let outcomes = run(rc, &ty, writes).await?;
            Ok(Some(results(outcomes, ids, &args.read_locale)))
        })
    })
    .description("Updates several entries in one transaction; one result per item, in order.")
    .argument(InputValue::new(
        "items",
        TypeRef::named_nn_list_nn(names.batch_update.clone()),
    ))
    .argument(InputValue::new("locale", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("publish", TypeRef::named(TypeRef::BOOLEAN)))
    .argument(InputValue::new("publishedAt", TypeRef::named("DateTime")));

    let ty = ct.name.clone();
    let delete = Field::new(names.delete_many.clone(), results_ty(), move |ctx| {
        let ty = ty.clone();
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            let ids: Vec<String> = match arg_json(&ctx, "ids")? {
                Some(Json::Array(ids)) => ids
                    .iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect(),
                _ => Vec::new(),
            };
            let mut writes = Vec::with_capacity(ids.len());
            for id in &ids {
                writes.push(match rc.authorize_entry(&ty, Action::Delete, id).await {
                    Ok(()) => Ok(BatchWrite::Delete { id: id.clone() }),
                    Err(e) => Err(refused(e)),
                });
            }
            let outcomes = run(rc, &ty, writes).await?;
            let locale = rc.tenant.default_locale().to_owned();
            Ok(Some(results(
                outcomes,
                ids.into_iter().map(Some).collect(),
                &locale,
            )))
        })
    })
    .description("Deletes several entries in one transaction; one result per id, in order.")
    .argument(InputValue::new(
        "ids",
        TypeRef::named_nn_list_nn(TypeRef::ID),
    ));
    [create, update, delete]
}
