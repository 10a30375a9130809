//! `/media`: the tenant's media library (upload, list, read, change metadata, delete). The
//! bytes themselves are served at `GET /media/{tenant}/{id}/{name}` (see `http::media`).

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppPath, AppQuery, AppState, actor, page_size};
use crate::access::{self, MediaAction};
use crate::error::ErrorCode;
use crate::http::context::AdminContext;
use crate::http::error::ApiError;
use crate::media::{AssetMeta, MediaError};
use crate::store::media::{AssetRow, ListFilter};
use crate::time::to_rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_media, upload_media))
        .routes(routes!(get_media, update_media, delete_media))
}

impl From<MediaError> for ApiError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Invalid(fields) => ApiError::new(
                ErrorCode::BadUserInput,
                format!("invalid input: {}", crate::error::describe_fields(&fields)),
            )
            .with_fields(fields),
            MediaError::NotFound(what) => {
                ApiError::new(ErrorCode::NotFound, format!("{what} not found"))
            }
            MediaError::InUse { message, fields } => {
                ApiError::new(ErrorCode::Conflict, message).with_fields(fields)
            }
            MediaError::Body(m) => ApiError::new(
                ErrorCode::BadUserInput,
                format!("the upload could not be read: {m}"),
            ),
            MediaError::Content(c) => c.into(),
            other => ApiError::internal(&other),
        }
    }
}

/// An asset of the media library.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaBody {
    pub id: String,
    pub file_name: String,
    /// Detected from the bytes.
    pub mime: String,
    pub size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// Locale → text.
    #[schema(value_type = Object)]
    pub alt: Value,
    #[schema(value_type = Object)]
    pub caption: Value,
    pub folder: String,
    pub tags: Vec<String>,
    /// Served to anyone even when no published entry uses it.
    pub is_public: bool,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Where the bytes are served (`?w=…&format=…` asks for an image variant).
    pub url: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl MediaBody {
    pub fn of(a: AssetRow, tenant_slug: &str) -> Self {
        MediaBody {
            url: asset_url(tenant_slug, &a.id, &a.file_name),
            alt: serde_json::from_str(&a.alt).unwrap_or_else(|_| Value::Object(Map::new())),
            caption: serde_json::from_str(&a.caption).unwrap_or_else(|_| Value::Object(Map::new())),
            tags: serde_json::from_str(&a.tags).unwrap_or_default(),
            created_at: to_rfc3339(a.created_at),
            updated_at: to_rfc3339(a.updated_at),
            id: a.id,
            file_name: a.file_name,
            mime: a.mime,
            size: a.size,
            width: a.width,
            height: a.height,
            folder: a.folder,
            is_public: a.is_public,
            sha256: a.sha256,
            created_by: a.created_by,
        }
    }
}

/// `/media/{tenant}/{id}/{file name}`, the name percent-encoded.
pub fn asset_url(tenant_slug: &str, id: &str, file_name: &str) -> String {
    let name: String = url::form_urlencoded::byte_serialize(file_name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("/media/{tenant_slug}/{id}/{name}")
}

/// A page of assets, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaPage {
    pub items: Vec<MediaBody>,
    /// Pass as `after` for the next page; absent on the last.
    pub end_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1 to `limits.page_size_max` (default 20).
    pub first: Option<u64>,
    /// The `endCursor` of the previous page.
    pub after: Option<String>,
    /// A MIME type, or a family ending in `/` (`image/`).
    pub mime: Option<String>,
    pub folder: Option<String>,
    pub tag: Option<String>,
    /// Part of the file name (case-insensitive).
    pub name: Option<String>,
}

/// The tenant's assets, newest first, filtered.
#[utoipa::path(get, path = "/media", tag = "media", params(ListParams),
    responses((status = 200, description = "A page of assets", body = MediaPage)))]
async fn list_media(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<AppJson<MediaPage>, ApiError> {
    access::check_media(&ctx.principal, MediaAction::Read, None)?;
    let first = page_size(params.first, state.config.limits.page_size_max)?;
    let filter = ListFilter {
        mime: params.mime,
        folder: params.folder,
        tag: params.tag,
        name: params.name,
        before_id: params.after,
    };
    let (rows, more) = state.media.list(&ctx.tenant, &filter, first).await?;
    let end_cursor = if more {
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    Ok(AppJson(MediaPage {
        items: rows
            .into_iter()
            .map(|r| MediaBody::of(r, ctx.tenant.slug()))
            .collect(),
        end_cursor,
    }))
}

/// Metadata of an upload, in the query string (and, for `multipart/form-data`, as text parts
/// before the `file` part).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name (a raw body has none); only its last path segment is kept.
    pub file_name: Option<String>,
    /// JSON object locale → alternative text, e.g. `{"ar": "…", "fr": "…"}`.
    pub alt: Option<String>,
    /// JSON object locale → caption.
    pub caption: Option<String>,
    pub folder: Option<String>,
    /// Comma-separated.
    pub tags: Option<String>,
    pub is_public: Option<bool>,
}

fn text_map(field: &str, raw: Option<&str>) -> Result<Option<Map<String, Value>>, ApiError> {
    match raw {
        None => Ok(None),
        Some(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            _ => Err(ApiError::invalid(
                field,
                "type",
                "a JSON object: locale → text",
            )),
        },
    }
}

impl UploadParams {
    fn meta(&self) -> Result<AssetMeta, ApiError> {
        Ok(AssetMeta {
            file_name: self.file_name.clone(),
            alt: text_map("alt", self.alt.as_deref())?,
            caption: text_map("caption", self.caption.as_deref())?,
            folder: self.folder.clone(),
            tags: self.tags.as_ref().map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            is_public: self.is_public,
            restore: None,
        })
    }

    fn set(&mut self, name: &str, value: String) -> Result<(), ApiError> {
        match name {
            "fileName" => self.file_name = Some(value),
            "alt" => self.alt = Some(value),
            "caption" => self.caption = Some(value),
            "folder" => self.folder = Some(value),
            "tags" => self.tags = Some(value),
            "isPublic" => self.is_public = Some(value == "true"),
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown",
                    "parts are file, fileName, alt, caption, folder, tags and isPublic",
                ));
            }
        }
        Ok(())
    }
}

/// Upload a file: the raw bytes as the body (any `Content-Type` but multipart), or
/// `multipart/form-data` with a `file` part. The type is detected from the bytes; files the
/// tenant does not accept, and uploads over its quota, are refused while streaming.
#[utoipa::path(post, path = "/media", tag = "media", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file's bytes (or multipart/form-data with a `file` part)"),
    responses((status = 201, description = "Stored", body = MediaBody)))]
async fn upload_media(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppQuery(mut params): AppQuery<UploadParams>,
    request: Request,
) -> Result<(StatusCode, AppJson<MediaBody>), ApiError> {
    access::check_media(&ctx.principal, MediaAction::Upload, None)?;
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let who = actor(&ctx);
    let row = if multipart {
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::invalid("body", "multipart", e.body_text()))?;
        let mut stored = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| ApiError::invalid("body", "multipart", e.body_text()))?
        {
            let name = field.name().unwrap_or("").to_owned();
            if name == "file" {
                if stored.is_some() {
                    return Err(ApiError::invalid("file", "single", "one file per upload"));
                }
                if params.file_name.is_none() {
                    params.file_name = field.file_name().map(str::to_owned);
                }
                let meta = params.meta()?;
                let body = field.map_err(|e| e.body_text());
                stored = Some(
                    state
                        .media
                        .upload(&ctx.tenant, Some(&who), meta, Box::pin(body))
                        .await?,
                );
            } else {
                let value = field
                    .text()
                    .await
                    .map_err(|e| ApiError::invalid(&name, "multipart", e.body_text()))?;
                params.set(&name, value)?;
            }
        }
        stored.ok_or_else(|| ApiError::invalid("file", "required", "a `file` part is needed"))?
    } else {
        let meta = params.meta()?;
        let body = request.into_body().into_data_stream();
        state
            .media
            .upload(&ctx.tenant, Some(&who), meta, body)
            .await?
    };
    Ok((
        StatusCode::CREATED,
        AppJson(MediaBody::of(row, ctx.tenant.slug())),
    ))
}

/// One asset.
#[utoipa::path(get, path = "/media/{id}", tag = "media",
    params(("id" = String, Path, description = "Asset id")),
    responses((status = 200, description = "The asset", body = MediaBody)))]
async fn get_media(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<MediaBody>, ApiError> {
    access::check_media(&ctx.principal, MediaAction::Read, None)?;
    let row = state.media.get(&ctx.tenant, &id).await?;
    Ok(AppJson(MediaBody::of(row, ctx.tenant.slug())))
}

/// A change of metadata; absent properties stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MediaPatch {
    pub file_name: Option<String>,
    /// Locale → text (replaces the whole map).
    #[schema(value_type = Option<Object>)]
    pub alt: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    pub caption: Option<Map<String, Value>>,
    pub folder: Option<String>,
    pub tags: Option<Vec<String>>,
    pub is_public: Option<bool>,
}

/// Change an asset's metadata (the bytes never change: upload a new asset instead).
#[utoipa::path(patch, path = "/media/{id}", tag = "media", request_body = MediaPatch,
    params(("id" = String, Path, description = "Asset id")),
    responses((status = 200, description = "The asset", body = MediaBody)))]
async fn update_media(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
    AppJson(patch): AppJson<MediaPatch>,
) -> Result<AppJson<MediaBody>, ApiError> {
    let current = state.media.get(&ctx.tenant, &id).await;
    let owner = current.as_ref().ok().and_then(|r| r.created_by.clone());
    access::check_media(&ctx.principal, MediaAction::Edit, owner.as_deref())?;
    current?;
    let meta = AssetMeta {
        file_name: patch.file_name,
        alt: patch.alt,
        caption: patch.caption,
        folder: patch.folder,
        tags: patch.tags,
        is_public: patch.is_public,
        restore: None,
    };
    let row = state
        .media
        .update(&ctx.tenant, &id, meta, Some(&actor(&ctx)))
        .await?;
    Ok(AppJson(MediaBody::of(row, ctx.tenant.slug())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Delete even while entries use the asset (their fields then point at nothing).
    pub force: Option<bool>,
}

/// Delete an asset; refused with `CONFLICT` naming the entries that use it, unless `force`.
#[utoipa::path(delete, path = "/media/{id}", tag = "media",
    params(("id" = String, Path, description = "Asset id"), DeleteParams),
    responses((status = 204, description = "Deleted")))]
async fn delete_media(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
    AppQuery(params): AppQuery<DeleteParams>,
) -> Result<StatusCode, ApiError> {
    let current = state.media.get(&ctx.tenant, &id).await;
    let owner = current.as_ref().ok().and_then(|r| r.created_by.clone());
    access::check_media(&ctx.principal, MediaAction::Delete, owner.as_deref())?;
    current?;
    state
        .media
        .delete(
            &ctx.tenant,
            &id,
            params.force.unwrap_or(false),
            Some(&actor(&ctx)),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
