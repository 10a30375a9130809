//! `articlesAggregate(where, status, locale, groupBy)`: how many entries a list's filter
//! matches, in total and per value of filterable fields ("artisans per city"), answered from
//! the value index in one statement per part, with the list's permissions and filters.

use async_graphql::dynamic::{
    Enum, EnumItem, Field, FieldFuture, FieldValue, InputValue, Object, TypeRef,
};
use async_graphql::{Name, Value};
use serde_json::Value as Json;

use super::builder::{arg_json, arg_string, stage_arg};
use super::names::TypeNames;
use super::{RequestCtx, content_error};
use crate::content::PageArgs;
use crate::content::entries::{Group, groupable};
use crate::content::model::ContentType;
use crate::store::entries::Stage;

/// What an aggregate field resolved to; its parts are computed when selected.
struct AggregateView {
    entry_type: String,
    args: PageArgs,
    stage: Stage,
    group_by: Vec<String>,
}

/// The shared result types: `Aggregate` and `AggregateGroup`.
pub fn shared_types() -> Vec<Object> {
    let aggregate = Object::new("Aggregate")
        .description("Counts of the entries a filter matches.")
        .field(
            Field::new("count", TypeRef::named_nn(TypeRef::INT), |ctx| {
                FieldFuture::new(async move {
                    let view = ctx.parent_value.try_downcast_ref::<AggregateView>()?;
                    let rc = ctx.data::<RequestCtx>()?;
                    let n = rc
                        .content
                        .count(&rc.tenant, &view.entry_type, &view.args, view.stage)
                        .await
                        .map_err(content_error)?;
                    Ok(Some(FieldValue::value(Value::from(n))))
                })
            })
            .description("Entries matching the filter."),
        )
        .field(
            Field::new(
                "groups",
                TypeRef::named_nn_list_nn("AggregateGroup"),
                |ctx| {
                    FieldFuture::new(async move {
                        let view = ctx.parent_value.try_downcast_ref::<AggregateView>()?;
                        if view.group_by.is_empty() {
                            return Ok(Some(FieldValue::list(Vec::<FieldValue>::new())));
                        }
                        let rc = ctx.data::<RequestCtx>()?;
                        let groups = rc
                            .content
                            .group_counts(
                                &rc.tenant,
                                &view.entry_type,
                                &view.args,
                                view.stage,
                                &view.group_by,
                            )
                            .await
                            .map_err(content_error)?;
                        Ok(Some(FieldValue::list(
                            groups.into_iter().map(FieldValue::owned_any),
                        )))
                    })
                },
            )
            .description(
                "Matching entries per value of the `groupBy` fields, largest groups first \
                 (at most 1,000). An entry with several values of a field counts in each.",
            ),
        );
    let group = Object::new("AggregateGroup")
        .field(
            Field::new("key", TypeRef::named(TypeRef::STRING), |ctx| {
                FieldFuture::new(async move {
                    let g = ctx.parent_value.try_downcast_ref::<Group>()?;
                    Ok(g.keys
                        .first()
                        .cloned()
                        .flatten()
                        .map(|k| FieldValue::value(Value::from(k))))
                })
            })
            .description("The value of the first `groupBy` field (null: no value)."),
        )
        .field(
            Field::new("keys", TypeRef::named_nn_list(TypeRef::STRING), |ctx| {
                FieldFuture::new(async move {
                    let g = ctx.parent_value.try_downcast_ref::<Group>()?;
                    Ok(Some(FieldValue::list(g.keys.iter().map(|k| {
                        FieldValue::value(k.clone().map_or(Value::Null, Value::from))
                    }))))
                })
            })
            .description("The values of every `groupBy` field, in order."),
        )
        .field(Field::new(
            "count",
            TypeRef::named_nn(TypeRef::INT),
            |ctx| {
                FieldFuture::new(async move {
                    let g = ctx.parent_value.try_downcast_ref::<Group>()?;
                    Ok(Some(FieldValue::value(Value::from(g.count))))
                })
            },
        ));
    vec![aggregate, group]
}

/// The enum of a type's groupable fields, if it has any.
pub fn group_field_enum(ct: &ContentType, names: &TypeNames) -> Option<Enum> {
    let fields: Vec<&str> = ct
        .fields
        .iter()
        .filter(|f| groupable(f))
        .map(|f| f.name.as_str())
        .collect();
    (!fields.is_empty()).then(|| {
        fields.iter().fold(
            Enum::new(names.group_field.clone())
                .description(format!("Fields `{}` entries can be counted by.", ct.plural)),
            |e, f| e.item(EnumItem::new(*f)),
        )
    })
}

/// The `…Aggregate` query field of a type.
pub fn aggregate_field(ct: &ContentType, names: &TypeNames, groupable_fields: bool) -> Field {
    let ty = ct.name.clone();
    let mut field = Field::new(
        names.aggregate.clone(),
        TypeRef::named_nn("Aggregate"),
        move |ctx| {
            let ty = ty.clone();
            FieldFuture::new(async move {
                let rc = ctx.data::<RequestCtx>()?;
                let stage = stage_arg(&ctx)?;
                let owner = rc.authorize_read(&ty, stage)?;
                let filter = arg_json(&ctx, "where")?;
                let group_by = match arg_json(&ctx, "groupBy")? {
                    Some(Json::Array(items)) => items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                let locale = rc
                    .tenant
                    .resolve_locale(arg_string(&ctx, "locale")?.as_deref())
                    .to_owned();
                let args = PageArgs {
                    filter,
                    order_by: Vec::new(),
                    first: None,
                    after: None,
                    last: None,
                    before: None,
                    locale: Some(locale),
                    owner,
                    without_page_info: false,
                };
                Ok(Some(FieldValue::owned_any(AggregateView {
                    entry_type: ty,
                    args,
                    stage,
                    group_by,
                })))
            })
        },
    )
    .argument(InputValue::new(
        "where",
        TypeRef::named(names.where_input.clone()),
    ))
    .argument(InputValue::new("locale", TypeRef::named(TypeRef::STRING)))
    .argument(
        InputValue::new("status", TypeRef::named("Status"))
            .default_value(Value::Enum(Name::new("PUBLISHED"))),
    )
    .description(format!(
        "How many `{}` match `where`, in total and per value of the `groupBy` fields.",
        ct.plural
    ));
    if groupable_fields {
        field = field.argument(InputValue::new(
            "groupBy",
            TypeRef::named_nn_list(names.group_field.clone()),
        ));
    }
    field
}
