//! Builds a tenant's GraphQL schema from its content model: a pure function, no I/O. Resolvers
//! own `Arc`/cloned definitions and reach the content service through the request data.

use std::sync::Arc;

use async_graphql::dynamic::{
    Enum, EnumItem, Field, FieldFuture, FieldValue, InputObject, InputValue, Interface,
    InterfaceField, Object, ResolverContext, Scalar, Schema, SchemaError, Subscription,
    SubscriptionField, SubscriptionFieldFuture, TypeRef,
};
use async_graphql::{Name, Value};
use serde_json::{Map, Value as Json};

use super::loader::EntryKey;
use super::names::{TypeNames, pascal};
use super::{RequestCtx, coded, content_error};
use crate::access::Action;
use crate::content::filter::operators;
use crate::content::model::{ContentType, FieldDef, FieldKind};
use crate::content::values::localized_value;
use crate::content::{Cursor, Entry, EntryInput, Lookup, PageArgs, Publication, TenantModel};
use crate::error::ErrorCode;
use crate::store::entries::Stage;
use crate::time::to_rfc3339;

/// Limits applied to every query (from configuration).
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    /// Deepest selection nesting.
    pub depth: usize,
    /// Most fields a query may select in total (fragments expanded).
    pub complexity: usize,
    /// Most aliases in one query.
    pub aliases: usize,
    /// Largest query text, bytes.
    pub query_bytes: usize,
    /// Largest `first`/`last`.
    pub page_max: u64,
    /// Whether introspection is allowed.
    pub introspection: bool,
    /// Deepest nesting inside `__schema`/`__type`.
    pub introspection_depth: usize,
    /// Most fields inside `__schema`/`__type` (fragments expanded).
    pub introspection_fields: usize,
    /// Most values a query may resolve: fields weighted by the lists they sit in.
    pub cost: u64,
    /// Items a `many` reference field yields without `first`.
    pub reference_first: u64,
    /// Largest `first` of a `many` reference field.
    pub reference_first_max: u64,
    /// `search`: most words in one query.
    pub search_words: usize,
    /// `search`: longest query, characters.
    pub search_query_chars: usize,
    /// Whether plain pages are answered without the executor's per-field resolution
    /// (`graphql::direct`).
    pub direct_pages: bool,
}

impl Default for GraphqlLimits {
    fn default() -> Self {
        GraphqlLimits {
            depth: 12,
            complexity: 1_000,
            aliases: 30,
            query_bytes: 32 * 1024,
            page_max: 100,
            introspection: true,
            introspection_depth: 16,
            introspection_fields: 500,
            cost: 50_000,
            reference_first: 20,
            reference_first_max: 100,
            search_words: 10,
            search_query_chars: 200,
            direct_pages: true,
        }
    }
}

/// An entry as a GraphQL value: which copy, in which locale.
#[derive(Debug, Clone)]
pub struct EntryView {
    /// Shared: a list's entries are held by its connection and by each node resolved from it.
    pub entry: Arc<Entry>,
    pub locale: String,
}

struct ConnectionView {
    entries: Vec<(Arc<Entry>, Cursor)>,
    has_next_page: bool,
    has_previous_page: bool,
    locale: String,
    entry_type: String,
    args: PageArgs,
    stage: Stage,
}

struct EdgeView {
    cursor: String,
    node: EntryView,
}

pub(crate) struct PageInfoView {
    pub(crate) has_next_page: bool,
    pub(crate) has_previous_page: bool,
    pub(crate) start_cursor: Option<String>,
    pub(crate) end_cursor: Option<String>,
}

const SYSTEM_SORT_FIELDS: [&str; 5] = ["id", "slug", "createdAt", "updatedAt", "publishedAt"];

fn json_to_value(v: &Json) -> Value {
    Value::from_json(v.clone()).unwrap_or(Value::Null)
}

fn entry_view<'a>(ctx: &'a ResolverContext<'_>) -> async_graphql::Result<&'a EntryView> {
    ctx.parent_value.try_downcast_ref::<EntryView>()
}

fn system_field(name: &'static str, ty: TypeRef, get: fn(&EntryView) -> Value) -> Field {
    Field::new(name, ty, move |ctx| {
        super::ready(|| {
            let view = entry_view(&ctx)?;
            let rc = ctx.data::<RequestCtx>()?;
            Ok(Some(FieldValue::value(system_value(rc, view, name, get))))
        })
    })
}

/// A system field's value for this request.
pub(super) fn system_value(
    rc: &RequestCtx,
    view: &EntryView,
    name: &str,
    get: fn(&EntryView) -> Value,
) -> Value {
    // Account ids are internal: only readers of drafts (the tenant's own staff) see them.
    if matches!(name, "createdBy" | "updatedBy")
        && rc
            .authorize(&view.entry.entry_type, Action::ReadDrafts)
            .is_err()
    {
        return Value::Null;
    }
    get(view)
}

fn opt_string(s: &Option<String>) -> Value {
    s.clone().map(Value::from).unwrap_or(Value::Null)
}

/// The system fields of every entry: name, type and how to read it. The `Entry` interface and
/// every content type's object are both built from this one table.
pub(super) type SystemField = (&'static str, fn() -> TypeRef, fn(&EntryView) -> Value);

pub(super) const SYSTEM_FIELDS: [SystemField; 11] = [
    (
        "id",
        || TypeRef::named_nn(TypeRef::ID),
        |v| Value::from(v.entry.id.clone()),
    ),
    (
        "slug",
        || TypeRef::named_nn(TypeRef::STRING),
        |v| Value::from(v.entry.slug.clone()),
    ),
    (
        "status",
        || TypeRef::named_nn("Status"),
        |v| Value::Enum(Name::new(v.entry.status.as_str())),
    ),
    (
        "version",
        || TypeRef::named_nn(TypeRef::INT),
        |v| Value::from(v.entry.version),
    ),
    (
        "locale",
        || TypeRef::named_nn(TypeRef::STRING),
        |v| Value::from(v.locale.clone()),
    ),
    (
        "availableLocales",
        || TypeRef::named_nn_list_nn(TypeRef::STRING),
        |v| {
            Value::List(
                v.entry
                    .available_locales
                    .iter()
                    .cloned()
                    .map(Value::from)
                    .collect(),
            )
        },
    ),
    (
        "createdAt",
        || TypeRef::named_nn("DateTime"),
        |v| Value::from(to_rfc3339(v.entry.created_at)),
    ),
    (
        "updatedAt",
        || TypeRef::named_nn("DateTime"),
        |v| Value::from(to_rfc3339(v.entry.updated_at)),
    ),
    (
        "publishedAt",
        || TypeRef::named("DateTime"),
        |v| {
            v.entry
                .published_at
                .map(|t| Value::from(to_rfc3339(t)))
                .unwrap_or(Value::Null)
        },
    ),
    (
        "createdBy",
        || TypeRef::named(TypeRef::STRING),
        |v| opt_string(&v.entry.created_by),
    ),
    (
        "updatedBy",
        || TypeRef::named(TypeRef::STRING),
        |v| opt_string(&v.entry.updated_by),
    ),
];

fn system_fields(obj: Object) -> Object {
    SYSTEM_FIELDS.iter().fold(obj, |obj, (name, ty, get)| {
        obj.field(system_field(name, ty(), *get))
    })
}

fn entry_interface() -> Interface {
    SYSTEM_FIELDS.iter().fold(
        Interface::new("Entry").description("System fields every entry has, whatever its type."),
        |iface, (name, ty, _)| iface.field(InterfaceField::new(*name, ty())),
    )
}

/// The scalar GraphQL type of a field kind (references excluded).
fn scalar_of(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Integer => TypeRef::INT,
        FieldKind::Float => TypeRef::FLOAT,
        FieldKind::Boolean => TypeRef::BOOLEAN,
        FieldKind::Date => "Date",
        FieldKind::DateTime => "DateTime",
        FieldKind::Json => "JSON",
        FieldKind::Geo => "Geo",
        FieldKind::Reference { .. } | FieldKind::Media => TypeRef::ID,
        _ => TypeRef::STRING,
    }
}

/// The GraphQL enum of an enum field (`ArticleCategoryEnum`), when every value is a valid
/// GraphQL name (values such as Arabic words stay `String`, checked by the content layer).
fn enum_name(type_name: &str, f: &FieldDef) -> Option<String> {
    let FieldKind::Enum(values) = &f.kind else {
        return None;
    };
    let valid = |v: &str| {
        let mut c = v.chars();
        c.next()
            .is_some_and(|first| first == '_' || first.is_ascii_alphabetic())
            && c.all(|ch| ch == '_' || ch.is_ascii_alphanumeric())
            && !matches!(v, "true" | "false" | "null")
    };
    values
        .iter()
        .all(|v| valid(v))
        .then(|| format!("{}{}Enum", pascal(type_name), pascal(&f.name)))
}

/// Whether a GraphQL value is plain JSON (enum literals and binary values are not).
fn is_json(v: &Value) -> bool {
    match v {
        Value::Null | Value::Number(_) | Value::String(_) | Value::Boolean(_) => true,
        Value::List(items) => items.iter().all(is_json),
        Value::Object(map) => map.values().all(is_json),
        Value::Enum(_) | Value::Binary(_) => false,
    }
}

/// A filter input: one field per operator, typed by the field's type `ty`.
fn filter(name: &str, ty: &str, ops: &[&str]) -> InputObject {
    let mut input = InputObject::new(name);
    for op in ops {
        let t = match *op {
            "in" | "notIn" => TypeRef::named_nn_list(ty),
            "isNull" => TypeRef::named(TypeRef::BOOLEAN),
            "contains" | "startsWith" => TypeRef::named(TypeRef::STRING),
            _ => TypeRef::named(ty),
        };
        input = input.field(InputValue::new(*op, t));
    }
    input
}

/// The enum types of a content type's enum fields, with a filter input for each.
fn enum_types(ct: &ContentType) -> (Vec<Enum>, Vec<InputObject>) {
    let mut enums = Vec::new();
    let mut filters = Vec::new();
    for f in &ct.fields {
        if let (Some(name), FieldKind::Enum(values)) = (enum_name(&ct.name, f), &f.kind) {
            let e = values.iter().fold(Enum::new(name.clone()), |e, v| {
                e.item(EnumItem::new(v.clone()))
            });
            enums.push(e.description(format!("The values of `{}.{}`.", ct.name, f.name)));
            filters.push(filter(&format!("{name}Filter"), &name, operators(&f.kind)));
        }
    }
    (enums, filters)
}

fn output_type(type_name: &str, f: &FieldDef) -> TypeRef {
    let base = match &f.kind {
        FieldKind::Reference { to } => pascal(to),
        FieldKind::Media => "Media".to_owned(),
        FieldKind::Enum(_) => enum_name(type_name, f).unwrap_or_else(|| TypeRef::STRING.into()),
        k => scalar_of(k).to_owned(),
    };
    if f.many {
        TypeRef::named_nn_list_nn(base)
    } else {
        TypeRef::named(base)
    }
}

fn input_type(type_name: &str, f: &FieldDef) -> TypeRef {
    let base = match &f.kind {
        FieldKind::Geo => "GeoInput".to_owned(),
        FieldKind::Reference { .. } => TypeRef::ID.to_owned(),
        FieldKind::Enum(_) => enum_name(type_name, f).unwrap_or_else(|| TypeRef::STRING.into()),
        k => scalar_of(k).to_owned(),
    };
    if f.many {
        TypeRef::named_nn_list(base)
    } else {
        TypeRef::named(base)
    }
}

fn filter_type(type_name: &str, f: &FieldDef) -> String {
    match &f.kind {
        FieldKind::Integer => "IntFilter".into(),
        FieldKind::Float => "FloatFilter".into(),
        FieldKind::Boolean => "BooleanFilter".into(),
        FieldKind::Date => "DateFilter".into(),
        FieldKind::DateTime => "DateTimeFilter".into(),
        FieldKind::Reference { .. } => "IdFilter".into(),
        FieldKind::Enum(_) => {
            enum_name(type_name, f).map_or_else(|| "EnumFilter".into(), |n| format!("{n}Filter"))
        }
        _ => "StringFilter".into(),
    }
}

/// Whether a field yields a list of entries or media that its `first` argument bounds.
fn paged_list(f: &FieldDef) -> bool {
    f.many && matches!(f.kind, FieldKind::Reference { .. } | FieldKind::Media)
}

/// What a resolver answers for a field: nothing, a value, or a list of values.
pub(super) enum Plain {
    Null,
    One(Value),
    Many(Vec<Value>),
}

/// The answer for a field that is neither a reference nor media: its stored value in the
/// view's locale (a `many` field without one is an empty list).
pub(super) fn plain(view: &EntryView, def: &FieldDef, default_locale: &str) -> Plain {
    let value = view
        .entry
        .data
        .get(&def.name)
        .and_then(|v| localized_value(def, v, &view.locale, default_locale));
    // A stored value the enum no longer lists reads as null rather than failing.
    let value = match (&def.kind, value) {
        (FieldKind::Enum(values), Some(Json::String(s))) if !values.contains(s) => None,
        (_, v) => v,
    };
    match (value, def.many) {
        (Some(Json::Array(items)), true) => Plain::Many(items.iter().map(json_to_value).collect()),
        (_, true) => Plain::Many(Vec::new()),
        (Some(v), false) => Plain::One(json_to_value(v)),
        (None, false) => Plain::Null,
    }
}

/// A field that is neither a reference nor media: its value in the entry's document, in the
/// view's locale.
fn plain_value<'a>(
    ctx: &ResolverContext<'a>,
    def: &FieldDef,
) -> async_graphql::Result<Option<FieldValue<'a>>> {
    let view = entry_view(ctx)?;
    let rc = ctx.data::<RequestCtx>()?;
    Ok(match plain(view, def, rc.tenant.default_locale()) {
        Plain::Many(items) => Some(FieldValue::list(
            items.into_iter().map(FieldValue::value).collect::<Vec<_>>(),
        )),
        Plain::One(v) => Some(FieldValue::value(v)),
        Plain::Null => None,
    })
}

fn content_field(type_name: &str, f: &FieldDef, limits: &GraphqlLimits) -> Field {
    let def = Arc::new(f.clone());
    let (first_default, first_max) = (limits.reference_first, limits.reference_first_max);
    let mut field =
        Field::new(f.name.clone(), output_type(type_name, f), move |ctx| {
            // A value of the entry's own document is at hand: answered without a future.
            if !matches!(def.kind, FieldKind::Reference { .. } | FieldKind::Media) {
                return super::ready(|| plain_value(&ctx, &def));
            }
            let def = def.clone();
            FieldFuture::new(async move {
                let view = entry_view(&ctx)?;
                let rc = ctx.data::<RequestCtx>()?;
                let value = view.entry.data.get(&def.name).and_then(|v| {
                    localized_value(&def, v, &view.locale, rc.tenant.default_locale())
                });
                // A reference or media list yields its first items only (`first`), so that
                // nested lists cannot multiply an answer beyond what the cost check counted.
                let first = if paged_list(&def) {
                    let n = arg_u64(&ctx, "first")?.unwrap_or(first_default);
                    if n > first_max {
                        return Err(super::with_fields(
                            coded(
                                ErrorCode::QueryTooComplex,
                                format!("`first` is at most {first_max}"),
                            ),
                            &[crate::FieldError::new(
                                "first",
                                "max",
                                format!("at most {first_max}"),
                            )],
                        ));
                    }
                    usize::try_from(n).unwrap_or(usize::MAX)
                } else {
                    usize::MAX
                };
                if let FieldKind::Reference { to } = &def.kind {
                    let published = view.entry.stage == Stage::Published;
                    // The target type goes through the same permission check as a direct query
                    // (a tenant may narrow a role on it).
                    let owner = rc.authorize_read(to, view.entry.stage)?;
                    let ids: Vec<String> = match value {
                        Some(Json::String(id)) => vec![id.clone()],
                        Some(Json::Array(ids)) => ids
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .take(first)
                            .collect(),
                        _ => Vec::new(),
                    };
                    let keys: Vec<EntryKey> = ids
                        .iter()
                        .map(|id| EntryKey {
                            published,
                            id: id.clone(),
                        })
                        .collect();
                    let found = rc
                        .loader
                        .load_many(keys.iter().cloned())
                        .await
                        .map_err(|e| {
                            content_error(Arc::try_unwrap(e).unwrap_or_else(|e| {
                                crate::content::ContentError::NotFound(e.to_string())
                            }))
                        })?;
                    let views: Vec<FieldValue> = keys
                        .iter()
                        .filter_map(|k| found.get(k))
                        .filter(|e| owner.is_none() || e.created_by == owner)
                        .map(|e| {
                            FieldValue::owned_any(EntryView {
                                entry: Arc::new(e.clone()),
                                locale: view.locale.clone(),
                            })
                        })
                        .collect();
                    return Ok(if def.many {
                        Some(FieldValue::list(views))
                    } else {
                        views.into_iter().next()
                    });
                }
                if def.kind == FieldKind::Media {
                    let ids: Vec<String> = match value {
                        Some(Json::String(id)) => vec![id.clone()],
                        Some(Json::Array(ids)) => ids
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .take(first)
                            .collect(),
                        _ => Vec::new(),
                    };
                    let found =
                        rc.media.load_many(ids.iter().cloned()).await.map_err(|e| {
                            async_graphql::Error::new(format!("loading media: {e}"))
                        })?;
                    let views: Vec<FieldValue> = ids
                        .iter()
                        .filter_map(|id| found.get(id))
                        .map(|a| {
                            FieldValue::owned_any(MediaView {
                                asset: a.clone(),
                                locale: view.locale.clone(),
                            })
                        })
                        .collect();
                    return Ok(if def.many {
                        Some(FieldValue::list(views))
                    } else {
                        views.into_iter().next()
                    });
                }
                Ok(None)
            })
        });
    if f.localized {
        field = field.description(
            "Localized: the value in the requested locale, else in the tenant's default locale.",
        );
    }
    if paged_list(f) {
        field = field.argument(InputValue::new("first", TypeRef::named(TypeRef::INT)));
    }
    field
}

/// The list fields of a tenant's schema with the items each yields without `first`, for the
/// cost check (`checks::GatedSchema`).
fn list_fields(model: &TenantModel, limits: &GraphqlLimits) -> super::checks::ListFields {
    let mut lists = super::checks::ListFields::new();
    for ct in &model.types {
        lists.insert(ct.plural.clone(), crate::content::entries::PAGE_DEFAULT);
        for f in ct.fields.iter().filter(|f| paged_list(f)) {
            lists.insert(f.name.clone(), limits.reference_first);
        }
    }
    lists.insert("search".into(), 10);
    lists
}

/// An asset of the media library as a `media` field shows it.
pub struct MediaView {
    pub asset: crate::store::media::AssetRow,
    pub locale: String,
}

fn media_type() -> Object {
    let plain =
        |name: &str, ty: TypeRef, get: fn(&crate::store::media::AssetRow) -> Option<Value>| {
            Field::new(name, ty, move |ctx| {
                super::ready(|| {
                    let v = ctx.parent_value.try_downcast_ref::<MediaView>()?;
                    Ok(get(&v.asset).map(FieldValue::value))
                })
            })
        };
    let localized = |name: &'static str, column: fn(&crate::store::media::AssetRow) -> &str| {
        Field::new(name, TypeRef::named(TypeRef::STRING), move |ctx| {
            super::ready(|| {
                let v = ctx.parent_value.try_downcast_ref::<MediaView>()?;
                let rc = ctx.data::<RequestCtx>()?;
                let map: serde_json::Map<String, Json> =
                    serde_json::from_str(column(&v.asset)).unwrap_or_default();
                let text = map
                    .get(&v.locale)
                    .or_else(|| map.get(rc.tenant.default_locale()))
                    .and_then(Json::as_str)
                    .map(|s| FieldValue::value(Value::from(s.to_owned())));
                Ok(text)
            })
        })
        .description("In the requested locale, else in the tenant's default locale")
    };
    Object::new("Media")
        .description("A file of the media library")
        .field(plain("id", TypeRef::named_nn(TypeRef::ID), |a| Some(Value::from(a.id.clone()))))
        .field(plain("fileName", TypeRef::named_nn(TypeRef::STRING), |a| Some(Value::from(a.file_name.clone()))))
        .field(plain("mime", TypeRef::named_nn(TypeRef::STRING), |a| Some(Value::from(a.mime.clone()))))
        .field(plain("size", TypeRef::named_nn(TypeRef::FLOAT), |a| Some(Value::from(a.size as f64))))
        .field(plain("width", TypeRef::named(TypeRef::INT), |a| a.width.map(Value::from)))
        .field(plain("height", TypeRef::named(TypeRef::INT), |a| a.height.map(Value::from)))
        .field(localized("alt", |a| &a.alt))
        .field(localized("caption", |a| &a.caption))
        .field(
            Field::new("url", TypeRef::named_nn(TypeRef::STRING), |ctx| {
                FieldFuture::new(async move {
                    let v = ctx.parent_value.try_downcast_ref::<MediaView>()?;
                    let rc = ctx.data::<RequestCtx>()?;
                    let arg_u32 = |name: &str| -> Result<Option<u32>, async_graphql::Error> {
                        match ctx.args.get(name) {
                            None => Ok(None),
                            Some(a) => Ok(Some(u32::try_from(a.i64()?).map_err(|_| {
                                async_graphql::Error::new(format!("`{name}` must be positive"))
                            })?)),
                        }
                    };
                    let raw = crate::media::transform::RawParams {
                        w: arg_u32("width")?,
                        h: arg_u32("height")?,
                        fit: ctx.args.get("fit").map(|f| f.enum_name().map(str::to_lowercase)).transpose()?,
                        format: ctx.args.get("format").map(|f| f.enum_name().map(str::to_lowercase)).transpose()?,
                        q: arg_u32("quality")?.map(|q| u8::try_from(q).unwrap_or(u8::MAX)),
                    };
                    let mut url = crate::http::admin::media::asset_url(rc.tenant.slug(), &v.asset.id, &v.asset.file_name);
                    if !raw.is_empty() && crate::media::detect::is_raster(&v.asset.mime) {
                        let params = raw
                            .check(&rc.media_config, None, &v.asset.mime)
                            .map_err(|f| content_error(crate::content::ContentError::Invalid(f)))?;
                        url.push('?');
                        url.push_str(&if raw.format.as_deref() == Some("auto") {
                            params.query_as("auto")
                        } else {
                            params.query()
                        });
                    }
                    Ok(Some(FieldValue::value(Value::from(url))))
                })
            })
            .description("Where the file is served; with arguments, an image variant (bounded by the server's limits; ignored for files that are not raster images)")
            .argument(InputValue::new("width", TypeRef::named(TypeRef::INT)))
            .argument(InputValue::new("height", TypeRef::named(TypeRef::INT)))
            .argument(InputValue::new("fit", TypeRef::named("MediaFit")))
            .argument(InputValue::new("format", TypeRef::named("MediaFormat")))
            .argument(InputValue::new("quality", TypeRef::named(TypeRef::INT))),
        )
}

fn shared_types(
    builder: async_graphql::dynamic::SchemaBuilder,
) -> async_graphql::dynamic::SchemaBuilder {
    let page_info = |name: &'static str, ty: TypeRef, get: fn(&PageInfoView) -> Value| {
        Field::new(name, ty, move |ctx| {
            super::ready(|| {
                Ok(Some(FieldValue::value(get(ctx
                    .parent_value
                    .try_downcast_ref::<PageInfoView>(
                )?))))
            })
        })
    };
    let geo = |name: &'static str| {
        Field::new(name, TypeRef::named_nn(TypeRef::FLOAT), move |ctx| {
            super::ready(|| {
                let v = ctx.parent_value.as_value().and_then(|v| match v {
                    Value::Object(m) => m.get(name).cloned(),
                    _ => None,
                });
                Ok(v.map(FieldValue::value))
            })
        })
    };
    builder
        // Scalars are checked as scalars, so a bad date is refused where it is written (the
        // argument or variable), before anything executes.
        .register(
            Scalar::new("DateTime")
                .description("RFC 3339 date-time, e.g. 2017-07-06T10:00:00Z")
                .validator(|v| {
                    matches!(v, Value::String(s) if crate::time::parse_rfc3339(s).is_some())
                }),
        )
        .register(
            Scalar::new("Date")
                .description("Calendar date, YYYY-MM-DD")
                .validator(|v| {
                    matches!(v, Value::String(s) if s.len() == 10
                        && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok())
                }),
        )
        .register(
            Scalar::new("JSON")
                .description("Any JSON value")
                .validator(is_json),
        )
        .register(
            Enum::new("Status")
                .item(EnumItem::new("DRAFT"))
                .item(EnumItem::new("PUBLISHED")),
        )
        .register(
            Enum::new("SortDirection")
                .item(EnumItem::new("ASC"))
                .item(EnumItem::new("DESC")),
        )
        .register(Object::new("Geo").field(geo("lat")).field(geo("lng")))
        .register(media_type())
        .register(
            Enum::new("MediaFit")
                .description("How a variant fits its box: COVER crops to fill it, CONTAIN fits inside it, INSIDE fits inside it without enlarging")
                .item(EnumItem::new("COVER"))
                .item(EnumItem::new("CONTAIN"))
                .item(EnumItem::new("INSIDE")),
        )
        .register(
            Enum::new("MediaFormat")
                .description("Encoding of a variant; AUTO picks WebP when the browser accepts it")
                .item(EnumItem::new("WEBP"))
                .item(EnumItem::new("JPEG"))
                .item(EnumItem::new("PNG"))
                .item(EnumItem::new("AUTO")),
        )
        .register(
            InputObject::new("GeoInput")
                .field(InputValue::new("lat", TypeRef::named_nn(TypeRef::FLOAT)))
                .field(InputValue::new("lng", TypeRef::named_nn(TypeRef::FLOAT))),
        )
        .register(
            Object::new("PageInfo")
                .field(page_info(
                    "hasNextPage",
                    TypeRef::named_nn(TypeRef::BOOLEAN),
                    |p| Value::from(p.has_next_page),
                ))
                .field(page_info(
                    "hasPreviousPage",
                    TypeRef::named_nn(TypeRef::BOOLEAN),
                    |p| Value::from(p.has_previous_page),
                ))
                .field(page_info(
                    "startCursor",
                    TypeRef::named(TypeRef::STRING),
                    |p| opt_string(&p.start_cursor),
                ))
                .field(page_info(
                    "endCursor",
                    TypeRef::named(TypeRef::STRING),
                    |p| opt_string(&p.end_cursor),
                )),
        )
        .register(filter(
            "StringFilter",
            TypeRef::STRING,
            operators(&FieldKind::String),
        ))
        .register(filter(
            "EnumFilter",
            TypeRef::STRING,
            operators(&FieldKind::Enum(Vec::new())),
        ))
        .register(filter(
            "IntFilter",
            TypeRef::INT,
            operators(&FieldKind::Integer),
        ))
        .register(filter(
            "FloatFilter",
            TypeRef::FLOAT,
            operators(&FieldKind::Float),
        ))
        .register(filter("DateFilter", "Date", operators(&FieldKind::Date)))
        .register(filter(
            "DateTimeFilter",
            "DateTime",
            operators(&FieldKind::DateTime),
        ))
        .register(filter(
            "BooleanFilter",
            TypeRef::BOOLEAN,
            operators(&FieldKind::Boolean),
        ))
        .register(filter(
            "IdFilter",
            TypeRef::ID,
            operators(&FieldKind::Reference { to: String::new() }),
        ))
        .register(entry_interface())
}

pub(super) fn arg_json(
    ctx: &ResolverContext<'_>,
    name: &str,
) -> async_graphql::Result<Option<Json>> {
    map_json(ctx.args.as_index_map(), name)
}

/// A field's arguments, by name (defaults included).
pub(super) type Args = async_graphql::indexmap::IndexMap<Name, Value>;

/// An argument as JSON (null reads as absent).
fn map_json(args: &Args, name: &str) -> async_graphql::Result<Option<Json>> {
    match args.get(name) {
        Some(v) => Ok(Some(v.clone().into_json()?)).map(|v| v.filter(|j: &Json| !j.is_null())),
        None => Ok(None),
    }
}

fn map_string(args: &Args, name: &str) -> async_graphql::Result<Option<String>> {
    Ok(map_json(args, name)?.and_then(|v| v.as_str().map(str::to_owned)))
}

pub(super) fn arg_string(
    ctx: &ResolverContext<'_>,
    name: &str,
) -> async_graphql::Result<Option<String>> {
    Ok(arg_json(ctx, name)?.and_then(|v| v.as_str().map(str::to_owned)))
}

fn arg_u64(ctx: &ResolverContext<'_>, name: &str) -> async_graphql::Result<Option<u64>> {
    map_u64(ctx.args.as_index_map(), name)
}

fn map_u64(args: &Args, name: &str) -> async_graphql::Result<Option<u64>> {
    match map_json(args, name)? {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            coded(
                ErrorCode::BadUserInput,
                format!("`{name}` must be a non-negative integer"),
            )
        }),
    }
}

pub(super) fn stage_arg(ctx: &ResolverContext<'_>) -> async_graphql::Result<Stage> {
    map_stage(ctx.args.as_index_map())
}

fn map_stage(args: &Args) -> async_graphql::Result<Stage> {
    Ok(match map_string(args, "status")?.as_deref() {
        Some("DRAFT") => Stage::Draft,
        _ => Stage::Published,
    })
}

fn locale_of(rc: &RequestCtx, requested: Option<&str>) -> String {
    rc.tenant.resolve_locale(requested).to_owned()
}

fn type_objects(ct: &ContentType, names: &TypeNames, limits: &GraphqlLimits) -> Vec<Object> {
    let mut obj = system_fields(Object::new(names.object.clone()).implement("Entry"));
    for f in &ct.fields {
        obj = obj.field(content_field(&ct.name, f, limits));
    }
    if let Some(d) = ct
        .display_name
        .get("fr")
        .or_else(|| ct.display_name.values().next())
    {
        obj = obj.description(d.clone());
    }
    let node_type = names.object.clone();
    let edge = Object::new(names.edge.clone())
        .field(Field::new(
            "cursor",
            TypeRef::named_nn(TypeRef::STRING),
            |ctx| {
                super::ready(|| {
                    Ok(Some(FieldValue::value(
                        ctx.parent_value
                            .try_downcast_ref::<EdgeView>()?
                            .cursor
                            .clone(),
                    )))
                })
            },
        ))
        .field(Field::new(
            "node",
            TypeRef::named_nn(node_type.clone()),
            |ctx| {
                super::ready(|| {
                    Ok(Some(FieldValue::owned_any(
                        ctx.parent_value
                            .try_downcast_ref::<EdgeView>()?
                            .node
                            .clone(),
                    )))
                })
            },
        ));
    let conn = Object::new(names.connection.clone())
        .field(Field::new(
            "edges",
            TypeRef::named_nn_list_nn(names.edge.clone()),
            |ctx| {
                super::ready(|| {
                    let c = ctx.parent_value.try_downcast_ref::<ConnectionView>()?;
                    Ok(Some(FieldValue::list(
                        c.entries
                            .iter()
                            .map(|(e, cursor)| {
                                FieldValue::owned_any(EdgeView {
                                    cursor: cursor.encode(),
                                    node: EntryView {
                                        entry: e.clone(),
                                        locale: c.locale.clone(),
                                    },
                                })
                            })
                            .collect::<Vec<_>>(),
                    )))
                })
            },
        ))
        .field(Field::new(
            "nodes",
            TypeRef::named_nn_list_nn(node_type),
            |ctx| {
                super::ready(|| {
                    let c = ctx.parent_value.try_downcast_ref::<ConnectionView>()?;
                    Ok(Some(FieldValue::list(
                        c.entries
                            .iter()
                            .map(|(e, _)| {
                                FieldValue::owned_any(EntryView {
                                    entry: e.clone(),
                                    locale: c.locale.clone(),
                                })
                            })
                            .collect::<Vec<_>>(),
                    )))
                })
            },
        ))
        .field(Field::new(
            "pageInfo",
            TypeRef::named_nn("PageInfo"),
            |ctx| {
                super::ready(|| {
                    let c = ctx.parent_value.try_downcast_ref::<ConnectionView>()?;
                    Ok(Some(FieldValue::owned_any(PageInfoView {
                        has_next_page: c.has_next_page,
                        has_previous_page: c.has_previous_page,
                        start_cursor: c.entries.first().map(|e| e.1.encode()),
                        end_cursor: c.entries.last().map(|e| e.1.encode()),
                    })))
                })
            },
        ))
        .field(Field::new(
            "totalCount",
            TypeRef::named_nn(TypeRef::INT),
            |ctx| {
                FieldFuture::new(async move {
                    let c = ctx.parent_value.try_downcast_ref::<ConnectionView>()?;
                    let rc = ctx.data::<RequestCtx>()?;
                    let n = rc
                        .content
                        .count(&rc.tenant, &c.entry_type, &c.args, c.stage)
                        .await
                        .map_err(content_error)?;
                    Ok(Some(FieldValue::value(Value::from(n))))
                })
            },
        ));
    vec![obj, edge, conn]
}

fn type_inputs(ct: &ContentType, names: &TypeNames) -> (Vec<InputObject>, Enum) {
    let mut wh = InputObject::new(names.where_input.clone())
        .field(InputValue::new("id", TypeRef::named("IdFilter")))
        .field(InputValue::new("slug", TypeRef::named("StringFilter")))
        .field(InputValue::new(
            "createdAt",
            TypeRef::named("DateTimeFilter"),
        ))
        .field(InputValue::new(
            "updatedAt",
            TypeRef::named("DateTimeFilter"),
        ))
        .field(InputValue::new(
            "publishedAt",
            TypeRef::named("DateTimeFilter"),
        ));
    for f in ct
        .fields
        .iter()
        .filter(|f| f.filterable || matches!(f.kind, FieldKind::Reference { .. }))
    {
        wh = wh.field(InputValue::new(
            f.name.clone(),
            TypeRef::named(filter_type(&ct.name, f)),
        ));
    }
    wh = wh
        .field(InputValue::new(
            "AND",
            TypeRef::named_nn_list(names.where_input.clone()),
        ))
        .field(InputValue::new(
            "OR",
            TypeRef::named_nn_list(names.where_input.clone()),
        ))
        .field(InputValue::new(
            "NOT",
            TypeRef::named(names.where_input.clone()),
        ));
    let mut sort = Enum::new(names.sort_field.clone());
    for s in SYSTEM_SORT_FIELDS {
        sort = sort.item(EnumItem::new(s));
    }
    for f in ct.fields.iter().filter(|f| f.sortable) {
        sort = sort.item(EnumItem::new(f.name.clone()));
    }
    let order = InputObject::new(names.order_by.clone())
        .field(InputValue::new(
            "field",
            TypeRef::named_nn(names.sort_field.clone()),
        ))
        .field(
            InputValue::new("direction", TypeRef::named("SortDirection"))
                .default_value(Value::Enum(Name::new("ASC"))),
        );
    let mut create = InputObject::new(names.create_input.clone())
        .field(InputValue::new("slug", TypeRef::named(TypeRef::STRING)));
    let mut update = InputObject::new(names.update_input.clone())
        .field(InputValue::new("slug", TypeRef::named(TypeRef::STRING)));
    for f in &ct.fields {
        create = create.field(InputValue::new(f.name.clone(), input_type(&ct.name, f)));
        update = update.field(InputValue::new(f.name.clone(), input_type(&ct.name, f)));
    }
    (vec![wh, order, create, update], sort)
}

fn single_query(ct: &ContentType, names: &TypeNames) -> Field {
    let ty = ct.name.clone();
    Field::new(
        names.single.clone(),
        TypeRef::named(names.object.clone()),
        move |ctx| {
            let ty = ty.clone();
            FieldFuture::new(async move {
                let rc = ctx.data::<RequestCtx>()?;
                let stage = stage_arg(&ctx)?;
                let owner = rc.authorize_read(&ty, stage)?;
                let lookup = match (arg_string(&ctx, "id")?, arg_string(&ctx, "slug")?) {
                    (Some(id), None) => Lookup::Id(id),
                    (None, Some(slug)) => Lookup::Slug(slug),
                    _ => {
                        return Err(coded(
                            ErrorCode::BadUserInput,
                            "give exactly one of `id` or `slug`",
                        ));
                    }
                };
                let locale = locale_of(rc, arg_string(&ctx, "locale")?.as_deref());
                let entry = rc
                    .content
                    .get(&rc.tenant, &ty, &lookup, stage)
                    .await
                    .map_err(content_error)?
                    // Another author's draft is not there for this reader.
                    .filter(|e| owner.is_none() || e.created_by == owner);
                Ok(entry.map(|entry| {
                    FieldValue::owned_any(EntryView {
                        entry: Arc::new(entry),
                        locale,
                    })
                }))
            })
        },
    )
    .argument(InputValue::new("id", TypeRef::named(TypeRef::ID)))
    .argument(InputValue::new("slug", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("locale", TypeRef::named(TypeRef::STRING)))
    .argument(
        InputValue::new("status", TypeRef::named("Status"))
            .default_value(Value::Enum(Name::new("PUBLISHED"))),
    )
}

fn list_query(ct: &ContentType, names: &TypeNames, limits: &GraphqlLimits) -> Field {
    let ty = ct.name.clone();
    let page_max = limits.page_max;
    let fields: Arc<[String]> = ct.fields.iter().map(|f| f.name.clone()).collect();
    Field::new(
        names.list.clone(),
        TypeRef::named_nn(names.connection.clone()),
        move |ctx| {
            let ty = ty.clone();
            // Only the fields the query selects are decoded from each stored document (each
            // content field resolves from the field of the same name, and nothing else reads
            // a listed entry's data).
            let look = ctx.look_ahead();
            let (nodes, edges) = (look.field("nodes"), look.field("edges").field("node"));
            let selected: Vec<String> = fields
                .iter()
                .filter(|f| nodes.field(f).exists() || edges.field(f).exists())
                .cloned()
                .collect();
            let without_page_info = !look.field("pageInfo").exists();
            FieldFuture::new(async move {
                let rc = ctx.data::<RequestCtx>()?;
                let PageQuery {
                    args,
                    stage,
                    locale,
                } = page_query(
                    rc,
                    &ty,
                    ctx.args.as_index_map(),
                    page_max,
                    without_page_info,
                )?;
                let page = rc
                    .content
                    .list_fields(&rc.tenant, &ty, &args, stage, Some(&selected))
                    .await
                    .map_err(content_error)?;
                Ok(Some(FieldValue::owned_any(ConnectionView {
                    entries: page
                        .entries
                        .into_iter()
                        .map(|(e, c)| (Arc::new(e), c))
                        .collect(),
                    has_next_page: page.has_next_page,
                    has_previous_page: page.has_previous_page,
                    locale,
                    entry_type: ty,
                    args,
                    stage,
                })))
            })
        },
    )
    .argument(InputValue::new(
        "where",
        TypeRef::named(names.where_input.clone()),
    ))
    .argument(InputValue::new(
        "orderBy",
        TypeRef::named_nn_list(names.order_by.clone()),
    ))
    // No default for `first`: with one, `last` alone could never be told from `first` + `last`.
    .argument(InputValue::new("first", TypeRef::named(TypeRef::INT)))
    .argument(InputValue::new("after", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("last", TypeRef::named(TypeRef::INT)))
    .argument(InputValue::new("before", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("locale", TypeRef::named(TypeRef::STRING)))
    .argument(
        InputValue::new("status", TypeRef::named("Status"))
            .default_value(Value::Enum(Name::new(LIST_STATUS_DEFAULT))),
    )
}

/// The default of a list field's `status` argument.
pub(super) const LIST_STATUS_DEFAULT: &str = "PUBLISHED";

/// A list field's page as its arguments ask for it, read and checked: the executor's resolver
/// and `direct` both start here.
pub(super) struct PageQuery {
    pub args: PageArgs,
    pub stage: Stage,
    pub locale: String,
}

pub(super) fn page_query(
    rc: &RequestCtx,
    ty: &str,
    args: &Args,
    page_max: u64,
    without_page_info: bool,
) -> async_graphql::Result<PageQuery> {
    let stage = map_stage(args)?;
    let owner = rc.authorize_read(ty, stage)?;
    let locale = locale_of(rc, map_string(args, "locale")?.as_deref());
    let mut order_by = Vec::new();
    if let Some(Json::Array(items)) = map_json(args, "orderBy")? {
        for item in items {
            let field = item
                .get("field")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned();
            let desc = item.get("direction").and_then(Json::as_str) == Some("DESC");
            order_by.push((field, desc));
        }
    }
    let first = map_u64(args, "first")?;
    let last = map_u64(args, "last")?;
    for (name, n) in [("first", first), ("last", last)] {
        if n.is_some_and(|n| n > page_max) {
            return Err(super::with_fields(
                coded(
                    ErrorCode::BadUserInput,
                    format!("`{name}` is at most {page_max}"),
                ),
                &[crate::FieldError::new(
                    name,
                    "max",
                    format!("at most {page_max}"),
                )],
            ));
        }
    }
    let page = PageArgs {
        filter: map_json(args, "where")?,
        order_by,
        first,
        after: map_string(args, "after")?,
        last,
        before: map_string(args, "before")?,
        locale: Some(locale.clone()),
        owner,
        without_page_info,
    };
    Ok(PageQuery {
        args: page,
        stage,
        locale,
    })
}

/// What a create or update takes besides its data (single and batch mutations alike).
pub(super) struct WriteArgs {
    /// The locale the write names exactly: an unknown one is refused by the content layer
    /// (falling back, as reads do, would overwrite the default locale's values).
    write_locale: String,
    /// The locale the answer is read in.
    pub read_locale: String,
    /// The publication asked for (`publish`, `publishedAt`).
    pub publish: Option<Publication>,
}

impl WriteArgs {
    pub fn read(ctx: &ResolverContext<'_>, rc: &RequestCtx) -> async_graphql::Result<Self> {
        let requested = arg_string(ctx, "locale")?;
        let read_locale = locale_of(rc, requested.as_deref());
        Ok(WriteArgs {
            write_locale: requested.unwrap_or_else(|| read_locale.clone()),
            read_locale,
            publish: publication(ctx)?,
        })
    }

    /// The content layer's input for one `data` value: its fields, with the slug taken apart.
    pub fn input(&self, data: Option<&Json>) -> EntryInput {
        let mut data = match data {
            Some(Json::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let slug = match data.remove("slug") {
            Some(Json::String(s)) => Some(s),
            _ => None,
        };
        EntryInput {
            data,
            locale: Some(self.write_locale.clone()),
            slug,
            publish: self.publish,
        }
    }
}

fn mutations(ct: &ContentType, names: &TypeNames) -> Vec<Field> {
    let object = || TypeRef::named_nn(names.object.clone());
    let ty = ct.name.clone();
    let t = ty.clone();
    let create = Field::new(names.create.clone(), object(), move |ctx| {
        let ty = t.clone();
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            rc.authorize(&ty, Action::Create)?;
            let args = WriteArgs::read(&ctx, rc)?;
            if args.publish.is_some() {
                rc.authorize(&ty, Action::Publish)?;
            }
            let input = args.input(arg_json(&ctx, "data")?.as_ref());
            let actor = rc.principal.actor();
            let entry = rc
                .content
                .create(&rc.tenant, &ty, input, actor.as_deref())
                .await
                .map_err(content_error)?;
            Ok(Some(FieldValue::owned_any(EntryView {
                entry: Arc::new(entry),
                locale: args.read_locale,
            })))
        })
    })
    .argument(InputValue::new(
        "data",
        TypeRef::named_nn(names.create_input.clone()),
    ))
    .argument(InputValue::new("locale", TypeRef::named(TypeRef::STRING)))
    .argument(publish_arg())
    .argument(published_at_arg());
    let t = ty.clone();
    let update = Field::new(names.update.clone(), object(), move |ctx| {
        let ty = t.clone();
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            let id = arg_string(&ctx, "id")?.unwrap_or_default();
            rc.authorize_entry(&ty, Action::Update, &id).await?;
            let args = WriteArgs::read(&ctx, rc)?;
            if args.publish.is_some() {
                rc.authorize_entry(&ty, Action::Publish, &id).await?;
            }
            let input = args.input(arg_json(&ctx, "data")?.as_ref());
            let expected = arg_json(&ctx, "expectedVersion")?.and_then(|v| v.as_i64());
            let actor = rc.principal.actor();
            let entry = rc
                .content
                .update(&rc.tenant, &ty, &id, input, expected, actor.as_deref())
                .await
                .map_err(content_error)?;
            Ok(Some(FieldValue::owned_any(EntryView {
                entry: Arc::new(entry),
                locale: args.read_locale,
            })))
        })
    })
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
    .argument(InputValue::new(
        "data",
        TypeRef::named_nn(names.update_input.clone()),
    ))
    .argument(InputValue::new("locale", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new(
        "expectedVersion",
        TypeRef::named(TypeRef::INT),
    ))
    .argument(publish_arg())
    .argument(published_at_arg());
    let t = ty.clone();
    let delete = Field::new(
        names.delete.clone(),
        TypeRef::named_nn(TypeRef::ID),
        move |ctx| {
            let ty = t.clone();
            FieldFuture::new(async move {
                let rc = ctx.data::<RequestCtx>()?;
                let id = arg_string(&ctx, "id")?.unwrap_or_default();
                rc.authorize_entry(&ty, Action::Delete, &id).await?;
                let actor = rc.principal.actor();
                rc.content
                    .delete(&rc.tenant, &ty, &id, actor.as_deref())
                    .await
                    .map_err(content_error)?;
                Ok(Some(FieldValue::value(Value::from(id))))
            })
        },
    )
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)));
    let state_change = |name: String, publish: bool| {
        let ty = ty.clone();
        Field::new(name, object(), move |ctx| {
            let ty = ty.clone();
            FieldFuture::new(async move {
                let rc = ctx.data::<RequestCtx>()?;
                let id = arg_string(&ctx, "id")?.unwrap_or_default();
                rc.authorize_entry(&ty, Action::Publish, &id).await?;
                let actor = rc.principal.actor();
                let entry = if publish {
                    let at = published_at(&ctx)?;
                    rc.content
                        .publish_at(&rc.tenant, &ty, &id, at, actor.as_deref())
                        .await
                } else {
                    rc.content
                        .unpublish(&rc.tenant, &ty, &id, actor.as_deref())
                        .await
                }
                .map_err(content_error)?;
                let locale = rc.tenant.default_locale().to_owned();
                Ok(Some(FieldValue::owned_any(EntryView {
                    entry: Arc::new(entry),
                    locale,
                })))
            })
        })
        .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
    };
    vec![
        create,
        update,
        delete,
        state_change(names.publish.clone(), true).argument(published_at_arg()),
        state_change(names.unpublish.clone(), false),
    ]
}

/// `publish: Boolean`: publish the saved draft in the same request (needs `publish`).
fn publish_arg() -> InputValue {
    InputValue::new("publish", TypeRef::named(TypeRef::BOOLEAN))
}

/// `publishedAt: DateTime`: the publication date readers see (not in the future; now when
/// absent); on create and update only with `publish: true`.
fn published_at_arg() -> InputValue {
    InputValue::new("publishedAt", TypeRef::named("DateTime"))
}

/// The publication a create or update asks for (`publish`, `publishedAt`).
fn publication(ctx: &ResolverContext<'_>) -> async_graphql::Result<Option<Publication>> {
    let publish = arg_json(ctx, "publish")?
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let at = published_at(ctx)?;
    Publication::requested(publish, at).map_err(content_error)
}

fn published_at(ctx: &ResolverContext<'_>) -> async_graphql::Result<Option<i64>> {
    arg_string(ctx, "publishedAt")?
        .map(|s| Publication::parse_at(&s).map_err(content_error))
        .transpose()
}

fn event_field(
    name: &'static str,
    ty: TypeRef,
    get: fn(&crate::store::outbox::Event) -> Value,
) -> Field {
    Field::new(name, ty, move |ctx| {
        FieldFuture::new(async move {
            Ok(Some(FieldValue::value(get(ctx
                .parent_value
                .try_downcast_ref::<crate::store::outbox::Event>(
            )?))))
        })
    })
}

fn payload_str(e: &crate::store::outbox::Event, key: &str) -> Value {
    e.payload
        .get(key)
        .and_then(Json::as_str)
        .map(|s| Value::from(s.to_owned()))
        .unwrap_or(Value::Null)
}

fn entry_event_type() -> Object {
    Object::new("EntryEvent")
        .description("A change to an entry, in commit order per tenant.")
        .field(event_field("seq", TypeRef::named_nn(TypeRef::INT), |e| {
            Value::from(e.tenant_seq)
        }))
        .field(event_field(
            "kind",
            TypeRef::named_nn(TypeRef::STRING),
            |e| Value::from(e.kind.clone()),
        ))
        .field(event_field(
            "type",
            TypeRef::named_nn(TypeRef::STRING),
            |e| Value::from(e.entry_type.clone().unwrap_or_default()),
        ))
        .field(event_field("id", TypeRef::named_nn(TypeRef::ID), |e| {
            Value::from(e.entry_id.clone().unwrap_or_default())
        }))
        .field(event_field("slug", TypeRef::named(TypeRef::STRING), |e| {
            payload_str(e, "slug")
        }))
        .field(event_field("status", TypeRef::named("Status"), |e| match e
            .payload
            .get("status")
            .and_then(Json::as_str)
        {
            Some(s @ ("DRAFT" | "PUBLISHED")) => Value::Enum(Name::new(s)),
            _ => Value::Null,
        }))
        .field(event_field("version", TypeRef::named(TypeRef::INT), |e| {
            e.payload
                .get("version")
                .and_then(Json::as_i64)
                .map(Value::from)
                .unwrap_or(Value::Null)
        }))
}

/// A subscription's state: its place in the tenant's feed, its place on the connection, and
/// when to check its credential again.
struct Follow {
    subscription: super::feed::Subscription,
    _slot: ConnectionSlot,
    ticker: tokio::time::Interval,
    recheck: Option<super::Recheck>,
    /// An error frame was sent: the stream ends.
    done: bool,
}

/// A place among a connection's subscriptions, freed when the stream ends.
struct ConnectionSlot(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether a subscriber sees an event: the permission check of its type (and, for a reader
/// of its own drafts only, that the entry is its own), and the types it asked for.
async fn wanted(
    event: &crate::store::outbox::Event,
    tenant: &crate::tenancy::TenantCtx,
    content: &crate::content::Content,
    principal: &super::Principal,
    anonymous_read: bool,
    types: Option<&[String]>,
) -> bool {
    let Some(entry_type) = event.entry_type.as_deref() else {
        return false;
    };
    if !event.kind.starts_with("entry.")
        || types.is_some_and(|ts| !ts.iter().any(|t| t == entry_type))
    {
        return false;
    }
    let action = if matches!(
        event.kind.as_str(),
        "entry.published" | "entry.unpublished" | "entry.deleted"
    ) {
        Action::Read
    } else {
        Action::ReadDrafts
    };
    let Ok(scope) = crate::access::check_content(
        anonymous_read,
        tenant.narrowing(),
        principal,
        entry_type,
        action,
    ) else {
        return false;
    };
    match (scope.owner(principal), event.entry_id.as_deref()) {
        (None, _) => true,
        (Some(owner), Some(id)) => content
            .get(
                tenant,
                entry_type,
                &crate::content::Lookup::Id(id.to_owned()),
                Stage::Draft,
            )
            .await
            .ok()
            .flatten()
            .is_some_and(|e| e.created_by.as_deref() == Some(owner.as_str())),
        (Some(_), None) => false,
    }
}

fn entry_changed() -> SubscriptionField {
    SubscriptionField::new("entryChanged", TypeRef::named_nn("EntryEvent"), |ctx| {
        SubscriptionFieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            let types: Option<Vec<String>> = match arg_json(&ctx, "types")? {
                Some(Json::Array(items)) => Some(items.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()),
                _ => None,
            };
            // Refuse at once what would never yield an event.
            for t in types.iter().flatten() {
                rc.authorize(t, Action::Read)?;
            }
            if types.is_none() && matches!(rc.principal, super::Principal::Anonymous) && !rc.anonymous_read {
                rc.authorize("*", Action::Read)?;
            }
            // Each event goes through the permission check of its type: readers of published
            // content see only what changes published content, authors only their own drafts.
            let (principal, anonymous_read) = (rc.principal.clone(), rc.anonymous_read);
            let tenant = rc.tenant.clone();
            let content = rc.content.clone();
            let feed = rc.feed.clone().ok_or_else(|| coded(ErrorCode::BadUserInput, "subscriptions are served over /graphql/ws"))?;
            let limits = rc.subscription_limits;
            let open = rc.subscriptions.clone();
            if open.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= limits.per_connection {
                open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                return Err(coded(ErrorCode::RateLimited, format!("at most {} subscriptions per connection", limits.per_connection)));
            }
            let slot = ConnectionSlot(open);
            let subscription = feed.subscribe(&tenant).await.map_err(|e| match e {
                super::feed::FeedError::Full(_) => coded(ErrorCode::RateLimited, e.to_string()),
                super::feed::FeedError::Db(e) => content_error(e.into()),
            })?;
            let mut ticker = tokio::time::interval(limits.recheck);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let state = Follow { subscription, _slot: slot, ticker, recheck: rc.recheck.clone(), done: false };
            let stream = futures::stream::unfold(state, move |mut st| {
                let (tenant, content, types, principal) = (tenant.clone(), content.clone(), types.clone(), principal.clone());
                async move {
                    if st.done {
                        return None;
                    }
                    loop {
                        tokio::select! {
                            received = st.subscription.events.recv() => match received {
                                Ok(event) => {
                                    if wanted(&event, &tenant, &content, &principal, anonymous_read, types.as_deref()).await {
                                        return Some((Ok(FieldValue::owned_any((*event).clone())), st));
                                    }
                                }
                                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                                    st.done = true;
                                    let e = coded(ErrorCode::RateLimited, format!("the subscription fell {n} events behind; subscribe again"));
                                    return Some((Err(e), st));
                                }
                                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                            },
                            _ = st.ticker.tick(), if st.recheck.is_some() => {
                                if let Some(check) = &st.recheck
                                    && let Err(why) = check().await
                                {
                                    st.done = true;
                                    return Some((Err(coded(ErrorCode::Unauthenticated, why)), st));
                                }
                            }
                        }
                    }
                }
            });
            Ok(stream)
        })
    })
    .argument(InputValue::new("types", TypeRef::named_nn_list(TypeRef::STRING)))
    .description("Entry changes of this tenant from now on (created, updated, published, unpublished, deleted); published-content readers get publish, unpublish and delete events only.")
}

/// Builds the schema of one tenant, behind the checks of its limits.
pub fn build_schema(
    model: &TenantModel,
    limits: &GraphqlLimits,
) -> Result<super::checks::GatedSchema, SchemaError> {
    let has_types = !model.types.is_empty();
    let mut builder = Schema::build(
        "Query",
        has_types.then_some("Mutation"),
        Some("Subscription"),
    );
    builder = shared_types(builder)
        .register(entry_event_type())
        .register(Subscription::new("Subscription").field(entry_changed()));
    let mut query = Object::new("Query")
        .field(
            Field::new(
                "locales",
                TypeRef::named_nn_list_nn(TypeRef::STRING),
                |ctx| {
                    FieldFuture::new(async move {
                        let rc = ctx.data::<RequestCtx>()?;
                        Ok(Some(FieldValue::list(
                            rc.tenant
                                .locales()
                                .iter()
                                .map(|l| FieldValue::value(Value::from(l.clone())))
                                .collect::<Vec<_>>(),
                        )))
                    })
                },
            )
            .description("The tenant's locales, the default first."),
        )
        .field(super::widgets::widget_field())
        .field(super::widgets::widgets_field());
    for ty in super::widgets::types() {
        builder = builder.register(ty);
    }
    if has_types {
        for o in super::aggregate::shared_types() {
            builder = builder.register(o);
        }
        for o in super::batch::shared_types() {
            builder = builder.register(o);
        }
        let (objects, inputs) = super::search::types(model);
        for o in objects {
            builder = builder.register(o);
        }
        for i in inputs {
            builder = builder.register(i);
        }
        query = query.field(super::search::search_field(limits));
        let (action, objects) = super::schedule::types();
        builder = builder.register(action);
        for o in objects {
            builder = builder.register(o);
        }
        query = query.field(super::schedule::query_field(limits.page_max));
    }
    let mut mutation = Object::new("Mutation");
    for ct in &model.types {
        let names = TypeNames::new(&ct.name, &ct.plural);
        for obj in type_objects(ct, &names, limits) {
            let obj = if obj.type_name() == names.object {
                obj.field(super::schedule::entry_field(&ct.name))
            } else {
                obj
            };
            builder = builder.register(obj);
        }
        let (enums, filters) = enum_types(ct);
        for e in enums {
            builder = builder.register(e);
        }
        for f in filters {
            builder = builder.register(f);
        }
        let (inputs, sort) = type_inputs(ct, &names);
        for input in inputs {
            builder = builder.register(input);
        }
        builder = builder.register(sort);
        let group_fields = super::aggregate::group_field_enum(ct, &names);
        let groupable = group_fields.is_some();
        if let Some(e) = group_fields {
            builder = builder.register(e);
        }
        query = query
            .field(single_query(ct, &names))
            .field(list_query(ct, &names, limits))
            .field(super::aggregate::aggregate_field(ct, &names, groupable));
        for m in mutations(ct, &names) {
            mutation = mutation.field(m);
        }
        let (result, update) = super::batch::types(&names);
        builder = builder.register(result).register(update);
        for m in super::batch::mutations(ct, &names) {
            mutation = mutation.field(m);
        }
        mutation = mutation.field(super::schedule::mutation_field(
            &ct.name,
            names.schedule.clone(),
        ));
    }
    builder = builder.register(query);
    if has_types {
        builder = builder.register(mutation);
    }
    // The limits proper are checked before execution (`checks::GatedSchema`, for every
    // transport); this is a safety net deep enough for the standard introspection query.
    builder = builder.limit_depth(limits.depth.max(limits.introspection_depth) + 2);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    Ok(super::checks::GatedSchema::new(
        builder.finish()?,
        limits.clone(),
        list_fields(model, limits),
        super::direct::Direct::new(model, limits),
    ))
}
