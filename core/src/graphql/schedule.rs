//! Scheduled publishing over GraphQL: `schedule<Type>(id, publishAt, unpublishAt)` (the roles
//! that may publish the type), `schedule` on each entry and the tenant-wide `schedule` query
//! (for those who may read the type's drafts). See `content::schedule`.

use async_graphql::Value;
use async_graphql::dynamic::{Enum, Field, FieldFuture, FieldValue, InputValue, Object, TypeRef};

use super::{RequestCtx, coded, content_error};
use crate::access::Action;
use crate::content::schedule::{EntrySchedule, ScheduleChange};
use crate::error::ErrorCode;
use crate::store::schedules::{ScheduleAction, ScheduleRow};
use crate::time::to_rfc3339;

/// `ScheduleAction`, `ScheduledChange`, `EntrySchedule`.
pub fn types() -> (Enum, [Object; 2]) {
    let action = Enum::new("ScheduleAction")
        .item("PUBLISH")
        .item("UNPUBLISH")
        .description("What a scheduled change does when it is due.");
    let row_field = |name: &'static str, ty: TypeRef, get: fn(&ScheduleRow) -> Value| {
        Field::new(name, ty, move |ctx| {
            FieldFuture::new(async move {
                let r = ctx.parent_value.try_downcast_ref::<ScheduleRow>()?;
                Ok(Some(FieldValue::value(get(r))))
            })
        })
    };
    let change = Object::new("ScheduledChange")
        .description("A publish or unpublish set to happen at a given time.")
        .field(row_field("entryId", TypeRef::named_nn(TypeRef::ID), |r| {
            Value::from(r.entry_id.clone())
        }))
        .field(row_field("type", TypeRef::named_nn(TypeRef::STRING), |r| {
            Value::from(r.entry_type.clone())
        }))
        .field(row_field(
            "action",
            TypeRef::named_nn("ScheduleAction"),
            |r| {
                Value::Enum(async_graphql::Name::new(match r.action {
                    ScheduleAction::Publish => "PUBLISH",
                    ScheduleAction::Unpublish => "UNPUBLISH",
                }))
            },
        ))
        .field(row_field("dueAt", TypeRef::named_nn("DateTime"), |r| {
            Value::from(to_rfc3339(r.due_at))
        }))
        .field(row_field(
            "scheduledBy",
            TypeRef::named(TypeRef::STRING),
            |r| r.created_by.clone().map_or(Value::Null, Value::from),
        ))
        .field(row_field("failure", TypeRef::named(TypeRef::STRING), |r| {
            r.failure.clone().map_or(Value::Null, Value::from)
        }));
    let at = |name: &'static str, get: fn(&EntrySchedule) -> &Option<ScheduleRow>| {
        Field::new(name, TypeRef::named("DateTime"), move |ctx| {
            FieldFuture::new(async move {
                let s = ctx.parent_value.try_downcast_ref::<EntrySchedule>()?;
                Ok(Some(FieldValue::value(
                    get(s)
                        .as_ref()
                        .map_or(Value::Null, |r| Value::from(to_rfc3339(r.due_at))),
                )))
            })
        })
    };
    let schedule = Object::new("EntrySchedule")
        .description("An entry's pending scheduled publish and unpublish.")
        .field(at("publishAt", |s| &s.publish))
        .field(at("unpublishAt", |s| &s.unpublish))
        .field(Field::new(
            "changes",
            TypeRef::named_nn_list_nn("ScheduledChange"),
            |ctx| {
                FieldFuture::new(async move {
                    let s = ctx.parent_value.try_downcast_ref::<EntrySchedule>()?;
                    Ok(Some(FieldValue::list(
                        s.publish
                            .iter()
                            .chain(s.unpublish.iter())
                            .cloned()
                            .map(FieldValue::owned_any),
                    )))
                })
            },
        ));
    (action, [change, schedule])
}

/// A `DateTime` argument: absent (`None`), explicit null (`Some(None)`), or a time.
fn time_arg(
    ctx: &async_graphql::dynamic::ResolverContext<'_>,
    name: &str,
) -> async_graphql::Result<Option<Option<i64>>> {
    match ctx.args.get(name) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(Some(None)),
        Some(v) => {
            let s = v.string()?;
            crate::time::parse_rfc3339(s)
                .map(|t| Some(Some(t)))
                .ok_or_else(|| {
                    super::with_fields(
                        coded(
                            ErrorCode::BadUserInput,
                            format!("`{name}` must be an RFC 3339 date-time"),
                        ),
                        &[crate::error::FieldError::new(
                            name,
                            "datetime",
                            "an RFC 3339 date-time, e.g. 2017-12-01T09:00:00+01:00",
                        )],
                    )
                })
        }
    }
}

/// `schedule<Type>(id, publishAt, unpublishAt)`: an argument left out keeps that part of the
/// schedule, `null` clears it.
pub fn mutation_field(entry_type: &str, name: String) -> Field {
    let ty = entry_type.to_owned();
    Field::new(name, TypeRef::named_nn("EntrySchedule"), move |ctx| {
        let ty = ty.clone();
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            let id = ctx.args.try_get("id")?.string()?.to_owned();
            rc.authorize_entry(&ty, Action::Publish, &id).await?;
            let change = ScheduleChange {
                publish_at: time_arg(&ctx, "publishAt")?,
                unpublish_at: time_arg(&ctx, "unpublishAt")?,
            };
            let actor = rc.principal.actor();
            let schedule = rc
                .content
                .schedule(&rc.tenant, &ty, &id, change, actor.as_deref())
                .await
                .map_err(content_error)?;
            Ok(Some(FieldValue::owned_any(schedule)))
        })
    })
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
    .argument(InputValue::new("publishAt", TypeRef::named("DateTime")))
    .argument(InputValue::new("unpublishAt", TypeRef::named("DateTime")))
    .description("Sets when the entry is published and unpublished (times in the future, any RFC 3339 offset; stored in UTC). An argument left out keeps that part of the schedule; null clears it.")
}

/// `schedule` on an entry: `null` for readers who may not see the type's drafts.
pub fn entry_field(entry_type: &str) -> Field {
    let ty = entry_type.to_owned();
    Field::new("schedule", TypeRef::named("EntrySchedule"), move |ctx| {
        let ty = ty.clone();
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            if rc.authorize(&ty, Action::ReadDrafts).is_err() {
                return Ok(None);
            }
            let view = ctx
                .parent_value
                .try_downcast_ref::<super::builder::EntryView>()?;
            let schedule = rc
                .content
                .schedule_of(&rc.tenant, &view.entry.id)
                .await
                .map_err(content_error)?;
            Ok(Some(FieldValue::owned_any(schedule)))
        })
    })
    .description(
        "Pending scheduled publish and unpublish (null for readers of published content only).",
    )
}

/// The tenant-wide `schedule(until, first)` view, soonest first.
pub fn query_field(page_max: u64) -> Field {
    Field::new(
        "schedule",
        TypeRef::named_nn_list_nn("ScheduledChange"),
        move |ctx| {
            FieldFuture::new(async move {
                let rc = ctx.data::<RequestCtx>()?;
                let until = time_arg(&ctx, "until")?.flatten();
                let first = match ctx.args.get("first") {
                    Some(v) if !v.is_null() => v.u64()?,
                    _ => 50,
                };
                if first > page_max {
                    return Err(coded(
                        ErrorCode::QueryTooComplex,
                        format!("`first` is at most {page_max}"),
                    ));
                }
                let rows = rc
                    .content
                    .schedules(&rc.tenant, until, first)
                    .await
                    .map_err(content_error)?;
                Ok(Some(FieldValue::list(
                    rows.into_iter()
                        .filter(|r| rc.authorize(&r.entry_type, Action::ReadDrafts).is_ok())
                        .map(FieldValue::owned_any),
                )))
            })
        },
    )
    .argument(InputValue::new("until", TypeRef::named("DateTime")))
    .argument(InputValue::new("first", TypeRef::named(TypeRef::INT)))
    .description("The tenant's scheduled publishes and unpublishes, soonest first, of the types whose drafts the caller may read.")
}
