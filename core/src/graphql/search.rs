//! The `search` query field (SPEC §6, §8): full-text search over the tenant's published
//! entries through the search service, with filters (`SearchWhere`), facet counts, highlighted
//! snippets and cursor pages; `SearchHit.entry` resolves through the request's batched loader.
//! An answer is kept out of the response cache while the index is behind the tenant's outbox
//! (it would otherwise be cached under a sequence the index has not reached).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use async_graphql::Value;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputObject, InputValue, Object, TypeRef, ValueAccessor,
};
use base64::Engine as _;

use super::builder::{EntryView, PageInfoView};
use super::loader::EntryKey;
use super::names::TypeNames;
use super::{RequestCtx, coded};
use crate::access::Action;
use crate::content::TenantModel;
use crate::content::model::FieldKind;
use crate::error::ErrorCode;
use crate::search::{Hit, SearchFilter, SearchRequest, highlight};

/// Filterable text fields (string, enum) over every type, and the date fields the index keeps.
fn filter_fields(model: &TenantModel) -> (BTreeSet<String>, Vec<&'static str>) {
    let mut text = BTreeSet::new();
    for ct in &model.types {
        for f in &ct.fields {
            let text_kind = match f.kind {
                FieldKind::String => true,
                FieldKind::Enum(_) => !f.many,
                _ => false,
            };
            if f.filterable && text_kind {
                text.insert(f.name.clone());
            }
        }
    }
    let dates: Vec<&'static str> = crate::search::embedded::DATE_FIELDS.to_vec();
    (text, dates)
}

struct SearchView {
    total: usize,
    /// Each hit with its highlights; the hit's texts, read for highlighting, are dropped.
    hits: Vec<HitView>,
    facets: Vec<(String, Vec<(String, u64)>)>,
    page: PageInfoView,
}

struct HitView {
    hit: Hit,
    highlights: Vec<(String, String)>,
    locale: String,
}

/// Every type and input the `search` field needs, for this tenant's model.
pub fn types(model: &TenantModel) -> (Vec<Object>, Vec<InputObject>) {
    let (text, dates) = filter_fields(model);
    let mut where_input = InputObject::new("SearchWhere")
        .description("Filters of a search: one input per filterable field of the searched types, combined with AND; `AND`/`OR` nest.")
        .field(InputValue::new("type", TypeRef::named("SearchStringFilter")));
    for name in &text {
        if name != "type" {
            where_input = where_input.field(InputValue::new(
                name.as_str(),
                TypeRef::named("SearchStringFilter"),
            ));
        }
    }
    for name in &dates {
        where_input = where_input.field(InputValue::new(*name, TypeRef::named("SearchDateFilter")));
    }
    where_input = where_input
        .field(InputValue::new(
            "AND",
            TypeRef::named_nn_list("SearchWhere"),
        ))
        .field(InputValue::new("OR", TypeRef::named_nn_list("SearchWhere")));
    let string_filter = InputObject::new("SearchStringFilter")
        .field(InputValue::new("eq", TypeRef::named(TypeRef::STRING)))
        .field(InputValue::new(
            "in",
            TypeRef::named_nn_list(TypeRef::STRING),
        ));
    let date_filter = InputObject::new("SearchDateFilter")
        .field(InputValue::new("gte", TypeRef::named("DateTime")))
        .field(InputValue::new("lt", TypeRef::named("DateTime")));

    let result = Object::new("SearchResult")
        .field(Field::new(
            "totalHits",
            TypeRef::named_nn(TypeRef::INT),
            |ctx| {
                super::ready(|| {
                    let v = ctx.parent_value.try_downcast_ref::<SearchView>()?;
                    Ok(Some(FieldValue::value(Value::from(v.total as u64))))
                })
            },
        ))
        .field(Field::new(
            "hits",
            TypeRef::named_nn_list_nn("SearchHit"),
            |ctx| {
                super::ready(|| {
                    let v = ctx.parent_value.try_downcast_ref::<SearchView>()?;
                    // Borrowed from the result: a hit is read, not copied, by its fields.
                    Ok(Some(FieldValue::list(
                        v.hits.iter().map(|h| FieldValue::borrowed_any(h)),
                    )))
                })
            },
        ))
        .field(Field::new(
            "facets",
            TypeRef::named_nn_list_nn("Facet"),
            |ctx| {
                super::ready(|| {
                    let v = ctx.parent_value.try_downcast_ref::<SearchView>()?;
                    Ok(Some(FieldValue::list(v.facets.iter().map(
                        |(field, values)| {
                            let mut m = async_graphql::indexmap::IndexMap::new();
                            m.insert(
                                async_graphql::Name::new("field"),
                                Value::from(field.clone()),
                            );
                            m.insert(
                                async_graphql::Name::new("values"),
                                Value::List(
                                    values
                                        .iter()
                                        .map(|(value, count)| {
                                            let mut fv = async_graphql::indexmap::IndexMap::new();
                                            fv.insert(
                                                async_graphql::Name::new("value"),
                                                Value::from(value.clone()),
                                            );
                                            fv.insert(
                                                async_graphql::Name::new("count"),
                                                Value::from(*count),
                                            );
                                            Value::Object(fv)
                                        })
                                        .collect(),
                                ),
                            );
                            FieldValue::value(Value::Object(m))
                        },
                    ))))
                })
            },
        ))
        .field(Field::new(
            "pageInfo",
            TypeRef::named_nn("PageInfo"),
            |ctx| {
                super::ready(|| {
                    let v = ctx.parent_value.try_downcast_ref::<SearchView>()?;
                    Ok(Some(FieldValue::borrowed_any(&v.page)))
                })
            },
        ));
    let hit_field = |name: &'static str, ty: TypeRef, get: fn(&HitView) -> Value| {
        Field::new(name, ty, move |ctx| {
            super::ready(|| {
                let h = ctx.parent_value.try_downcast_ref::<HitView>()?;
                Ok(Some(FieldValue::value(get(h))))
            })
        })
    };
    let hit = Object::new("SearchHit")
        .field(hit_field("id", TypeRef::named_nn(TypeRef::ID), |h| {
            Value::from(h.hit.entry_id.clone())
        }))
        .field(hit_field("type", TypeRef::named_nn(TypeRef::STRING), |h| {
            Value::from(h.hit.entry_type.clone())
        }))
        .field(hit_field("score", TypeRef::named(TypeRef::FLOAT), |h| {
            Value::from(f64::from(h.hit.score))
        }))
        .field(hit_field("title", TypeRef::named(TypeRef::STRING), |h| {
            Value::from(h.hit.title.clone())
        }))
        .field(Field::new(
            "highlights",
            TypeRef::named_nn_list_nn("Highlight"),
            |ctx| {
                super::ready(|| {
                    let h = ctx.parent_value.try_downcast_ref::<HitView>()?;
                    Ok(Some(FieldValue::list(h.highlights.iter().map(
                        |(field, snippet)| {
                            let mut m = async_graphql::indexmap::IndexMap::new();
                            m.insert(
                                async_graphql::Name::new("field"),
                                Value::from(field.clone()),
                            );
                            m.insert(
                                async_graphql::Name::new("snippet"),
                                Value::from(snippet.clone()),
                            );
                            FieldValue::value(Value::Object(m))
                        },
                    ))))
                })
            },
        ))
        .field(Field::new("entry", TypeRef::named("Entry"), |ctx| {
            FieldFuture::new(async move {
                let h = ctx.parent_value.try_downcast_ref::<HitView>()?;
                let rc = ctx.data::<RequestCtx>()?;
                let key = EntryKey {
                    published: true,
                    id: h.hit.entry_id.clone(),
                };
                let Some(entry) = rc
                    .loader
                    .load_one(key)
                    .await
                    .map_err(|e| coded(ErrorCode::Internal, e.to_string()))?
                else {
                    return Ok(None);
                };
                let model = rc
                    .content
                    .model(&rc.tenant)
                    .await
                    .map_err(super::content_error)?;
                let Ok(ct) = model.get(&entry.entry_type) else {
                    return Ok(None);
                };
                let object = TypeNames::new(&ct.name, &ct.plural).object;
                Ok(Some(
                    FieldValue::owned_any(EntryView {
                        entry: std::sync::Arc::new(entry),
                        locale: h.locale.clone(),
                    })
                    .with_type(object),
                ))
            })
        }));
    let highlight = Object::new("Highlight")
        .description(
            "A matched field: `snippet` is HTML-escaped text with the matched words in `<mark>`.",
        )
        .field(member("field", TypeRef::named_nn(TypeRef::STRING)))
        .field(member("snippet", TypeRef::named_nn(TypeRef::STRING)));
    let facet = Object::new("Facet")
        .field(member("field", TypeRef::named_nn(TypeRef::STRING)))
        .field(member("values", TypeRef::named_nn_list_nn("FacetValue")));
    let facet_value = Object::new("FacetValue")
        .field(member("value", TypeRef::named_nn(TypeRef::STRING)))
        .field(member("count", TypeRef::named_nn(TypeRef::INT)));
    (
        vec![result, hit, highlight, facet, facet_value],
        vec![where_input, string_filter, date_filter],
    )
}

/// A field of a plain GraphQL object value (highlights and facets are built as values): the
/// member `name`, a list member as a list of values.
fn member(name: &'static str, ty: TypeRef) -> Field {
    Field::new(name, ty, move |ctx| {
        super::ready(|| {
            let value = match ctx.parent_value.as_value() {
                Some(Value::Object(m)) => m.get(name).cloned(),
                _ => None,
            };
            Ok(value.map(|v| match v {
                Value::List(items) => FieldValue::list(items.into_iter().map(FieldValue::value)),
                v => FieldValue::value(v),
            }))
        })
    })
}

fn bad(path: &str, message: impl Into<String>) -> async_graphql::Error {
    super::with_fields(
        coded(ErrorCode::BadUserInput, message.into()),
        &[crate::error::FieldError::new(path, "search", "see message")],
    )
}

/// A `query` over one of the search limits: `BAD_USER_INPUT` naming the rule.
fn over_limit(e: crate::search::OverLimit) -> async_graphql::Error {
    super::with_fields(
        coded(ErrorCode::BadUserInput, format!("`query`: {}", e.message)),
        &[crate::error::FieldError::new("query", e.rule, e.message)],
    )
}

/// `SearchWhere` → a filter of the search layer.
fn parse_where(
    v: &ValueAccessor<'_>,
    path: &str,
    depth: usize,
) -> async_graphql::Result<Option<SearchFilter>> {
    if depth > 8 {
        return Err(bad(path, "search filters nest at most 8 deep"));
    }
    let obj = v.object()?;
    let mut all = Vec::new();
    for (name, value) in obj.iter() {
        let name = name.as_str();
        let at = format!("{path}.{name}");
        match name {
            "AND" | "OR" => {
                let mut parts = Vec::new();
                for (i, item) in value.list()?.iter().enumerate() {
                    if let Some(f) = parse_where(&item, &format!("{at}[{i}]"), depth + 1)? {
                        parts.push(f);
                    }
                }
                all.push(if name == "AND" {
                    SearchFilter::And(parts)
                } else {
                    SearchFilter::Or(parts)
                });
            }
            _ if crate::search::embedded::DATE_FIELDS.contains(&name) => {
                let o = value.object()?;
                let bound = |k: &str| -> async_graphql::Result<Option<i64>> {
                    match o.get(k) {
                        Some(v) if !v.is_null() => crate::time::parse_rfc3339(v.string()?)
                            .map(Some)
                            .ok_or_else(|| bad(&format!("{at}.{k}"), "an RFC 3339 date-time")),
                        _ => Ok(None),
                    }
                };
                all.push(SearchFilter::DateRange {
                    field: name.to_owned(),
                    gte: bound("gte")?,
                    lt: bound("lt")?,
                });
            }
            _ => {
                let o = value.object()?;
                let mut values = Vec::new();
                if let Some(eq) = o.get("eq").filter(|v| !v.is_null()) {
                    values.push(eq.string()?.to_owned());
                }
                if let Some(list) = o.get("in").filter(|v| !v.is_null()) {
                    for item in list.list()?.iter() {
                        values.push(item.string()?.to_owned());
                    }
                }
                all.push(SearchFilter::AnyOf {
                    field: name.to_owned(),
                    values,
                });
            }
        }
    }
    Ok(match all.len() {
        0 => None,
        1 => all.pop(),
        _ => Some(SearchFilter::And(all)),
    })
}

pub fn search_field(limits: &super::builder::GraphqlLimits) -> Field {
    let page_max = limits.page_max;
    let (max_words, max_chars) = (limits.search_words, limits.search_query_chars);
    Field::new("search", TypeRef::named_nn("SearchResult"), move |ctx| {
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            let search = rc
                .search
                .as_ref()
                .ok_or_else(|| coded(ErrorCode::SearchUnavailable, "search is not available on this server"))?;
            // Not cached under a sequence the index has not reached.
            if rc.event_seq.is_none_or(|seq| search.applied(rc.tenant.id()) < seq) {
                rc.uncacheable.store(true, Ordering::Relaxed);
            }
            let query = ctx.args.try_get("query")?.string()?.to_owned();
            let (terms, prefix) =
                crate::search::bounded_query_terms(&query, max_words, max_chars).map_err(over_limit)?;
            let model = rc.content.model(&rc.tenant).await.map_err(super::content_error)?;
            let requested: Option<Vec<String>> = match ctx.args.get("types") {
                Some(v) if !v.is_null() => Some(v.list()?.iter().map(|t| t.string().map(str::to_owned)).collect::<Result<_, _>>()?),
                _ => None,
            };
            let mut types = Vec::new();
            match requested {
                Some(list) => {
                    for (i, t) in list.iter().enumerate() {
                        if model.get(t).is_err() {
                            return Err(bad(&format!("types[{i}]"), format!("unknown content type `{t}`")));
                        }
                        rc.authorize(t, Action::Read)?;
                        types.push(t.clone());
                    }
                }
                None => {
                    for ct in &model.types {
                        if rc.authorize(&ct.name, Action::Read).is_ok() {
                            types.push(ct.name.clone());
                        }
                    }
                    if types.is_empty() {
                        // Nothing readable: the principal's refusal, as a direct query would give.
                        rc.authorize(model.types.first().map_or("entry", |c| c.name.as_str()), Action::Read)?;
                    }
                }
            }
            // Every type of the tenant is no filter at all: a union of every type's postings,
            // intersected with each match, cost more than the words themselves.
            if model.types.iter().all(|ct| types.contains(&ct.name)) {
                types.clear();
            }
            let locale = match ctx.args.get("locale") {
                Some(v) if !v.is_null() => {
                    let l = v.string()?.to_owned();
                    if rc.tenant.locales().contains(&l) { l } else { rc.tenant.default_locale().to_owned() }
                }
                _ => rc.tenant.default_locale().to_owned(),
            };
            let filter = match ctx.args.get("where") {
                Some(v) if !v.is_null() => parse_where(&v, "where", 0)?,
                _ => None,
            };
            let first = match ctx.args.get("first") {
                Some(v) if !v.is_null() => v.u64()?,
                _ => 10,
            };
            if first > page_max {
                return Err(coded(ErrorCode::QueryTooComplex, format!("`first` is at most {page_max}")));
            }
            let offset = match ctx.args.get("after") {
                Some(v) if !v.is_null() => base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(v.string()?)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.strip_prefix("s:").and_then(|n| n.parse::<usize>().ok()))
                    .ok_or_else(|| bad("after", "not a cursor of this search"))?,
                _ => 0,
            };
            let (text_fields, _) = filter_fields(&model);
            // Facet counts and highlights cost work per match and per hit: only when selected.
            let look = ctx.look_ahead();
            let mut facets = Vec::new();
            if look.field("facets").exists() {
                facets.push("type".to_owned());
                facets.extend(text_fields.into_iter().filter(|f| f != "tags" && f != "certifications"));
            }
            let with_highlights = look.field("hits").field("highlights").exists();
            let request = SearchRequest {
                terms: terms.clone(),
                prefix: prefix.clone(),
                types,
                locale: locale.clone(),
                filter,
                facets,
                offset,
                limit: usize::try_from(first).unwrap_or(10),
            };
            let results = search
                .backend()
                .search(rc.tenant.id(), request)
                .await
                .map_err(|e| match e.code() {
                    ErrorCode::Internal => coded(ErrorCode::Internal, "internal error"),
                    code => coded(code, e.to_string()),
                })?;
            let n = results.hits.len();
            let hits = results
                .hits
                .into_iter()
                .map(|mut h| {
                    let highlights = if with_highlights {
                        highlight::highlights(&terms, prefix.as_deref(), results.matching, &h.texts)
                    } else {
                        Vec::new()
                    };
                    h.texts = Vec::new();
                    HitView {
                        hit: h,
                        highlights,
                        locale: locale.clone(),
                    }
                })
                .collect();
            let cursor = |n: usize| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("s:{n}"));
            let page = PageInfoView {
                has_next_page: offset + n < results.total,
                has_previous_page: offset > 0,
                start_cursor: (n > 0).then(|| cursor(offset)),
                end_cursor: (n > 0).then(|| cursor(offset + n)),
            };
            Ok(Some(FieldValue::owned_any(SearchView {
                total: results.total,
                hits,
                facets: results.facets.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
                page,
            })))
        })
    })
    .argument(InputValue::new("query", TypeRef::named_nn(TypeRef::STRING)))
    .argument(InputValue::new("types", TypeRef::named_nn_list(TypeRef::STRING)))
    .argument(InputValue::new("locale", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("where", TypeRef::named("SearchWhere")))
    .argument(InputValue::new("first", TypeRef::named(TypeRef::INT)).default_value(10))
    .argument(InputValue::new("after", TypeRef::named(TypeRef::STRING)))
    .description("Full-text search of the tenant's published entries, Arabic-aware (diacritics, alef forms, ta marbuta, digits, the article and attached prefixes, plurals, one typo in longer words when the words as typed find fewer than ten entries, the last word as a prefix). Relevance order, newest first among equals.")
}
