//! `/entries/{type}`: generic entry CRUD for editors, with publish/unpublish, version history
//! and restore. Every call goes through the same permission check as GraphQL
//! (`access::check_content`, plus the authors' ownership rule in `auth::authorize_entry`).
//! Entries are shown in their stored shape: localized fields as objects keyed by locale.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppPath, AppQuery, AppState, actor, optional_body, page_size};
use crate::access::{self, Action};
use crate::auth;
use crate::content::{Entry, EntryInput, Lookup, PageArgs, Publication};
use crate::error::ErrorCode;
use crate::http::context::{AdminContext, RequestContext};
use crate::http::error::ApiError;
use crate::store::entries::Stage;
use crate::time::to_rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_entries, create_entry))
        .routes(routes!(get_entry, update_entry, delete_entry))
        .routes(routes!(publish_entry))
        .routes(routes!(unpublish_entry))
        .routes(routes!(list_versions))
        .routes(routes!(restore_version))
        .routes(routes!(get_schedule, set_schedule))
        .routes(routes!(list_schedule))
}

/// Which copy of an entry: the working `draft` or the `published` one.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StageParam {
    #[default]
    Draft,
    Published,
}

impl StageParam {
    fn stage(self) -> Stage {
        match self {
            StageParam::Draft => Stage::Draft,
            StageParam::Published => Stage::Published,
        }
    }
    fn action(self) -> Action {
        match self {
            StageParam::Draft => Action::ReadDrafts,
            StageParam::Published => Action::Read,
        }
    }
}

/// An entry in its stored shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryBody {
    pub id: String,
    #[serde(rename = "type")]
    pub entry_type: String,
    pub slug: String,
    /// `PUBLISHED` when a published copy exists (the draft may hold newer changes).
    pub status: String,
    /// `draft` or `published`: which copy this is.
    pub stage: String,
    pub version: i64,
    pub available_locales: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    /// Field values; localized fields are objects keyed by locale.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

impl From<Entry> for EntryBody {
    fn from(e: Entry) -> Self {
        EntryBody {
            id: e.id,
            entry_type: e.entry_type,
            slug: e.slug,
            status: e.status.as_str().to_owned(),
            stage: match e.stage {
                Stage::Draft => "draft",
                Stage::Published => "published",
            }
            .to_owned(),
            version: e.version,
            available_locales: e.available_locales,
            created_at: to_rfc3339(e.created_at),
            updated_at: to_rfc3339(e.updated_at),
            published_at: e.published_at.map(to_rfc3339),
            created_by: e.created_by,
            updated_by: e.updated_by,
            data: e.data,
        }
    }
}

/// One page of entries.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryPage {
    pub items: Vec<EntryBody>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    pub total_count: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `draft` (default) or `published`.
    #[param(inline)]
    pub status: Option<StageParam>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub first: Option<u64>,
    /// The `nextCursor` of the previous page.
    pub after: Option<String>,
    /// Comma-separated sortable fields, `-` for descending: `-startsAt,slug`.
    pub sort: Option<String>,
    /// A filter as JSON, the GraphQL `Where` shape: `{"city":{"eq":"مراكش"}}`.
    pub filter: Option<String>,
    /// Locale for localized sort values.
    pub locale: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StageParams {
    /// `draft` (default) or `published`.
    #[param(inline)]
    pub status: Option<StageParam>,
}

/// A new entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryCreate {
    /// Field values. With `locale`, localized fields are plain values for that locale;
    /// without, objects keyed by locale.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    /// Derived from the type's `slugFrom` field when absent (Arabic kept as Arabic).
    pub slug: Option<String>,
    pub locale: Option<String>,
    /// Publish in the same request (needs the `publish` permission).
    #[serde(default)]
    pub publish: bool,
    /// With `publish`: the publication date readers see (RFC 3339, not in the future);
    /// now when absent.
    #[serde(rename = "publishedAt")]
    pub published_at: Option<String>,
}

/// A change to an entry's draft: only the given fields change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EntryUpdate {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    pub slug: Option<String>,
    pub locale: Option<String>,
    /// Fails with `CONFLICT` when the entry is no longer at this version.
    pub expected_version: Option<i64>,
    /// Publish the saved draft in the same request (needs the `publish` permission).
    #[serde(default)]
    pub publish: bool,
    /// With `publish`: the publication date readers see (RFC 3339, not in the future);
    /// now when absent.
    pub published_at: Option<String>,
}

/// Options of a publish.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PublishBody {
    /// The publication date readers see (RFC 3339, not in the future); now when absent.
    pub published_at: Option<String>,
}

/// The publication a write asks for; asking to publish needs the `publish` permission.
fn publication(
    ctx: &RequestContext,
    entry_type: &str,
    publish: bool,
    published_at: Option<&str>,
) -> Result<Option<Publication>, ApiError> {
    let at = published_at.map(Publication::parse_at).transpose()?;
    let publication = Publication::requested(publish, at)?;
    if publication.is_some() {
        check(ctx, entry_type, Action::Publish)?;
    }
    Ok(publication)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RestoreBody {
    pub expected_version: Option<i64>,
}

/// One saved or published version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionBody {
    pub version: i64,
    /// `create`, `update`, `publish`, `unpublish`.
    pub action: String,
    pub status: String,
    pub slug: String,
    pub created_at: String,
    pub created_by: Option<String>,
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

async fn require_type(state: &AppState, ctx: &RequestContext, name: &str) -> Result<(), ApiError> {
    let model = state.content.model(&ctx.tenant).await?;
    model.get(name).map(|_| ()).map_err(|_| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "content type `{}` not found",
                name.chars().take(100).collect::<String>()
            ),
        )
    })
}

fn check(ctx: &RequestContext, entry_type: &str, action: Action) -> Result<(), ApiError> {
    read_owner(ctx, entry_type, action).map(|_| ())
}

/// The permission check for a read: `Some(account)` when the reader sees only the entries that
/// account created (an author's drafts).
fn read_owner(
    ctx: &RequestContext,
    entry_type: &str,
    action: Action,
) -> Result<Option<String>, ApiError> {
    access::check_content(
        ctx.tenant.anonymous_read(),
        ctx.tenant.narrowing(),
        &ctx.principal,
        entry_type,
        action,
    )
    .map(|scope| scope.owner(&ctx.principal))
    .map_err(Into::into)
}

async fn check_entry(
    state: &AppState,
    ctx: &RequestContext,
    entry_type: &str,
    action: Action,
    id: &str,
) -> Result<(), ApiError> {
    auth::authorize_entry(
        &state.content,
        &ctx.tenant,
        &ctx.principal,
        entry_type,
        action,
        id,
    )
    .await
    .map_err(Into::into)
}

fn parse_sort(sort: Option<&str>) -> Vec<(String, bool)> {
    sort.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('-') {
            Some(f) => (f.to_owned(), true),
            None => (s.trim_start_matches('+').to_owned(), false),
        })
        .collect()
}

/// List entries of a type: filtered, sorted, paginated.
#[utoipa::path(get, path = "/entries/{type}", tag = "entries",
    params(("type" = String, Path, description = "Content type name"), ListParams),
    responses((status = 200, description = "A page", body = EntryPage)))]
async fn list_entries(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(entry_type): AppPath<String>,
    AppQuery(q): AppQuery<ListParams>,
) -> Result<AppJson<EntryPage>, ApiError> {
    require_type(&state, &ctx, &entry_type).await?;
    let stage = q.status.unwrap_or_default();
    let owner = read_owner(&ctx, &entry_type, stage.action())?;
    let filter = match q.filter.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            serde_json::from_str::<Value>(text)
                .map_err(|e| ApiError::invalid("filter", "json", e.to_string()))?,
        ),
    };
    let args = PageArgs {
        filter,
        order_by: parse_sort(q.sort.as_deref()),
        first: Some(page_size(q.first, state.config.limits.page_size_max)?),
        after: q.after,
        last: None,
        before: None,
        locale: q.locale,
        owner,
        without_page_info: false,
    };
    let page = state
        .content
        .list(&ctx.tenant, &entry_type, &args, stage.stage())
        .await?;
    let total = state
        .content
        .count(&ctx.tenant, &entry_type, &args, stage.stage())
        .await?;
    let next_cursor = if page.has_next_page {
        page.entries.last().map(|(_, c)| c.encode())
    } else {
        None
    };
    Ok(AppJson(EntryPage {
        items: page
            .entries
            .into_iter()
            .map(|(e, _)| shown(&ctx, e))
            .collect(),
        next_cursor,
        total_count: total,
    }))
}

/// Create an entry (as a draft).
#[utoipa::path(post, path = "/entries/{type}", tag = "entries",
    params(("type" = String, Path, description = "Content type name")),
    request_body = EntryCreate,
    responses((status = 201, description = "Created", body = EntryBody)))]
async fn create_entry(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(entry_type): AppPath<String>,
    AppJson(body): AppJson<EntryCreate>,
) -> Result<(StatusCode, AppJson<EntryBody>), ApiError> {
    require_type(&state, &ctx, &entry_type).await?;
    check(&ctx, &entry_type, Action::Create)?;
    let publish = publication(
        &ctx,
        &entry_type,
        body.publish,
        body.published_at.as_deref(),
    )?;
    let entry = state
        .content
        .create(
            &ctx.tenant,
            &entry_type,
            EntryInput {
                data: body.data,
                locale: body.locale,
                slug: body.slug,
                publish,
            },
            Some(&actor(&ctx)),
        )
        .await?;
    Ok((StatusCode::CREATED, AppJson(entry.into())))
}

/// One entry, by id.
#[utoipa::path(get, path = "/entries/{type}/{id}", tag = "entries",
    params(("type" = String, Path, description = "Content type name"),
           ("id" = String, Path, description = "Entry id"), StageParams),
    responses((status = 200, description = "The entry", body = EntryBody)))]
async fn get_entry(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((entry_type, id)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<StageParams>,
) -> Result<AppJson<EntryBody>, ApiError> {
    require_type(&state, &ctx, &entry_type).await?;
    let stage = q.status.unwrap_or_default();
    let owner = read_owner(&ctx, &entry_type, stage.action())?;
    let entry = state
        .content
        .get(
            &ctx.tenant,
            &entry_type,
            &Lookup::Id(id.clone()),
            stage.stage(),
        )
        .await?
        // Another author's draft is not there for this reader.
        .filter(|e| owner.is_none() || e.created_by == owner)
        .ok_or_else(|| not_found(&entry_type, &id))?;
    Ok(AppJson(shown(&ctx, entry)))
}

/// An entry as a reader sees it: account ids are internal, shown only to readers of drafts.
fn shown(ctx: &RequestContext, entry: crate::content::Entry) -> EntryBody {
    let staff = check(ctx, &entry.entry_type, Action::ReadDrafts).is_ok();
    let mut body = EntryBody::from(entry);
    if !staff {
        body.created_by = None;
        body.updated_by = None;
    }
    body
}

fn not_found(entry_type: &str, id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "{entry_type} {} not found",
            id.chars().take(100).collect::<String>()
        ),
    )
}

/// Change an entry's draft (readers of published content keep the published copy).
#[utoipa::path(patch, path = "/entries/{type}/{id}", tag = "entries",
    params(("type" = String, Path, description = "Content type name"),
           ("id" = String, Path, description = "Entry id")),
    request_body = EntryUpdate,
    responses((status = 200, description = "The new draft", body = EntryBody)))]
async fn update_entry(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((entry_type, id)): AppPath<(String, String)>,
    AppJson(body): AppJson<EntryUpdate>,
) -> Result<AppJson<EntryBody>, ApiError> {
    require_type(&state, &ctx, &entry_type).await?;
    check_entry(&state, &ctx, &entry_type, Action::Update, &id).await?;
    let publish = publication(
        &ctx,
        &entry_type,
        body.publish,
        body.published_at.as_deref(),
    )?;
    let entry = state
        .content
        .update(
            &ctx.tenant,
            &entry_type,
            &id,
            EntryInput {
                data: body.data,
                locale: body.locale,
                slug: body.slug,
                publish,
            },
            body.expected_version,
            Some(&actor(&ctx)),
        )
        .await?;
    Ok(AppJson(entry.into()))
}

/// Delete an entry, both copies and its history.
#[utoipa::path(delete, path = "/entries/{type}/{id}", tag = "entries",
    params(("type" = String, Path, description = "Content type name"),
           ("id" = String, Path, description = "Entry id")),
    responses((status = 204, description = "Deleted")))]
async fn delete_entry(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((entry_type, id)): AppPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    require_type(&state, &ctx, &entry_type).await?;
    check_entry(&state, &ctx, &entry_type, Action::Delete, &id).await?;
    state
        .content
        .delete(&ctx.tenant, &entry_type, &id, Some(&actor(&ctx)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publish the current draft, as of now or of the given `publishedAt`.
#[utoipa::path(post, path = "/entries/{type}/{id}/publish", tag = "entries",
    params(("type" = String, Path, description = "Content type name"),
           ("id" = String, Path, description = "Entry id")),
    request_body(content = Option<PublishBody>, description = "Optional `publishedAt`"),
    responses((status = 200, description = "Published", body = EntryBody)))]
async fn publish_entry(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((entry_type, id)): AppPath<(String, String)>,
    body: axum::body::Bytes,
) -> Result<AppJson<EntryBody>, ApiError> {
    let body: PublishBody = optional_body(&body)?;
    let at = body
        .published_at
        .as_deref()
        .map(Publication::parse_at)
        .transpose()?;
    set_published(&state, &ctx, &entry_type, &id, Some(at)).await
}

/// Withdraw the published copy (the draft stays).
#[utoipa::path(post, path = "/entries/{type}/{id}/unpublish", tag = "entries",
    params(("type" = String, Path, description = "Content type name"),
           ("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "Unpublished", body = EntryBody)))]
async fn unpublish_entry(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((entry_type, id)): AppPath<(String, String)>,
) -> Result<AppJson<EntryBody>, ApiError> {
    set_published(&state, &ctx, &entry_type, &id, None).await
}

/// Publishes (`Some`, as of the given time or now) or unpublishes (`None`); both need
/// `publish`.
async fn set_published(
    state: &AppState,
    ctx: &RequestContext,
    entry_type: &str,
    id: &str,
    publish: Option<Option<i64>>,
) -> Result<AppJson<EntryBody>, ApiError> {
    require_type(state, ctx, entry_type).await?;
    check_entry(state, ctx, entry_type, Action::Publish, id).await?;
    let actor = actor(ctx);
    let entry = if let Some(at) = publish {
        state
            .content
            .publish_at(&ctx.tenant, entry_type, id, at, Some(&actor))
            .await?
    } else {
        state
            .content
            .unpublish(&ctx.tenant, entry_type, id, Some(&actor))
            .await?
    };
    Ok(AppJson(entry.into()))
}

/// The entry's saved and published versions, newest first.
#[utoipa::path(get, path = "/entries/{type}/{id}/versions", tag = "entries",
    params(("type" = String, Path, description = "Content type name"),
           ("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "Versions", body = Vec<VersionBody>)))]
async fn list_versions(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((entry_type, id)): AppPath<(String, String)>,
) -> Result<AppJson<Vec<VersionBody>>, ApiError> {
    require_type(&state, &ctx, &entry_type).await?;
    check_entry(&state, &ctx, &entry_type, Action::ReadDrafts, &id).await?;
    let versions = state
        .content
        .versions(&ctx.tenant, &entry_type, &id)
        .await?;
    Ok(AppJson(
        versions
            .into_iter()
            .map(|v| VersionBody {
                version: v.version,
                action: v.action,
                status: v.status,
                slug: v.slug,
                created_at: v.created_at,
                created_by: v.created_by,
                data: v.data,
            })
            .collect(),
    ))
}

/// Make an earlier version the current draft (recorded as a new version).
#[utoipa::path(post, path = "/entries/{type}/{id}/versions/{version}/restore", tag = "entries",
    params(("type" = String, Path, description = "Content type name"),
           ("id" = String, Path, description = "Entry id"),
           ("version" = i64, Path, description = "The version to restore")),
    request_body(content = Option<RestoreBody>, description = "Optional `expectedVersion`"),
    responses((status = 200, description = "The new draft", body = EntryBody)))]
async fn restore_version(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((entry_type, id, version)): AppPath<(String, String, i64)>,
    body: axum::body::Bytes,
) -> Result<AppJson<EntryBody>, ApiError> {
    require_type(&state, &ctx, &entry_type).await?;
    check_entry(&state, &ctx, &entry_type, Action::Update, &id).await?;
    let body: RestoreBody = optional_body(&body)?;
    let expected = body.expected_version;
    let entry = state
        .content
        .restore(
            &ctx.tenant,
            &entry_type,
            &id,
            version,
            expected,
            Some(&actor(&ctx)),
        )
        .await?;
    Ok(AppJson(entry.into()))
}

/// A scheduled publish or unpublish.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledChangeBody {
    pub entry_id: String,
    #[serde(rename = "type")]
    pub entry_type: String,
    /// `publish` or `unpublish`.
    pub action: String,
    /// When it happens (UTC).
    pub due_at: String,
    /// Who set it.
    pub scheduled_by: Option<String>,
    /// Why it could not be carried out, when it could not (it then waits to be set anew).
    pub failure: Option<String>,
}

impl From<crate::store::schedules::ScheduleRow> for ScheduledChangeBody {
    fn from(r: crate::store::schedules::ScheduleRow) -> Self {
        ScheduledChangeBody {
            entry_id: r.entry_id,
            entry_type: r.entry_type,
            action: r.action.as_str().to_owned(),
            due_at: to_rfc3339(r.due_at),
            scheduled_by: r.created_by,
            failure: r.failure,
        }
    }
}

/// An entry's pending schedule.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleBody {
    pub publish_at: Option<String>,
    pub unpublish_at: Option<String>,
    pub changes: Vec<ScheduledChangeBody>,
}

impl From<crate::content::schedule::EntrySchedule> for ScheduleBody {
    fn from(s: crate::content::schedule::EntrySchedule) -> Self {
        ScheduleBody {
            publish_at: s.publish.as_ref().map(|r| to_rfc3339(r.due_at)),
            unpublish_at: s.unpublish.as_ref().map(|r| to_rfc3339(r.due_at)),
            changes: s
                .publish
                .into_iter()
                .chain(s.unpublish)
                .map(Into::into)
                .collect(),
        }
    }
}

/// Present and `null` (clear) told apart from absent (keep).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// A change to an entry's schedule: a field left out keeps that part, `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleInput {
    /// RFC 3339, any offset, in the future; `null` clears.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub publish_at: Option<Option<String>>,
    /// RFC 3339, any offset, in the future and after `publishAt`; `null` clears.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub unpublish_at: Option<Option<String>>,
}

fn schedule_time(field: &str, v: Option<Option<String>>) -> Result<Option<Option<i64>>, ApiError> {
    match v {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(s)) => crate::time::parse_rfc3339(&s)
            .map(|t| Some(Some(t)))
            .ok_or_else(|| {
                ApiError::invalid(
                    field,
                    "datetime",
                    format!("`{field}` must be an RFC 3339 date-time"),
                )
            }),
    }
}

/// The entry's pending scheduled publish and unpublish.
#[utoipa::path(get, path = "/entries/{type}/{id}/schedule", tag = "entries",
    params(("type" = String, Path, description = "Content type name"),
           ("id" = String, Path, description = "Entry id")),
    responses((status = 200, description = "Schedule", body = ScheduleBody)))]
async fn get_schedule(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((entry_type, id)): AppPath<(String, String)>,
) -> Result<AppJson<ScheduleBody>, ApiError> {
    require_type(&state, &ctx, &entry_type).await?;
    check_entry(&state, &ctx, &entry_type, Action::ReadDrafts, &id).await?;
    let schedule = state.content.schedule_of(&ctx.tenant, &id).await?;
    Ok(AppJson(schedule.into()))
}

/// Set or clear when the entry is published and unpublished (roles that may publish).
#[utoipa::path(put, path = "/entries/{type}/{id}/schedule", tag = "entries",
    params(("type" = String, Path, description = "Content type name"),
           ("id" = String, Path, description = "Entry id")),
    request_body = ScheduleInput,
    responses((status = 200, description = "Schedule", body = ScheduleBody)))]
async fn set_schedule(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((entry_type, id)): AppPath<(String, String)>,
    AppJson(input): AppJson<ScheduleInput>,
) -> Result<AppJson<ScheduleBody>, ApiError> {
    require_type(&state, &ctx, &entry_type).await?;
    check_entry(&state, &ctx, &entry_type, Action::Publish, &id).await?;
    let change = crate::content::schedule::ScheduleChange {
        publish_at: schedule_time("publishAt", input.publish_at)?,
        unpublish_at: schedule_time("unpublishAt", input.unpublish_at)?,
    };
    let schedule = state
        .content
        .schedule(&ctx.tenant, &entry_type, &id, change, Some(&actor(&ctx)))
        .await?;
    Ok(AppJson(schedule.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScheduleParams {
    /// Only changes due before this time (RFC 3339).
    pub until: Option<String>,
    /// At most this many, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub first: Option<u64>,
}

/// The tenant's scheduled publishes and unpublishes, soonest first (of the types whose
/// drafts the caller may read).
#[utoipa::path(get, path = "/schedule", tag = "entries",
    params(ScheduleParams),
    responses((status = 200, description = "Scheduled changes", body = Vec<ScheduledChangeBody>)))]
async fn list_schedule(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppQuery(params): AppQuery<ScheduleParams>,
) -> Result<AppJson<Vec<ScheduledChangeBody>>, ApiError> {
    let first = page_size(params.first, state.config.limits.page_size_max)?;
    let until = schedule_time("until", params.until.map(Some))?.flatten();
    let rows = state.content.schedules(&ctx.tenant, until, first).await?;
    Ok(AppJson(
        rows.into_iter()
            .filter(|r| check(&ctx, &r.entry_type, Action::ReadDrafts).is_ok())
            .map(Into::into)
            .collect(),
    ))
}
