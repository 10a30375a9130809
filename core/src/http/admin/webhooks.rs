//! `/webhooks`: a tenant's webhook endpoints (tenant admins), their delivery log and manual
//! redelivery. The signing secret is shown when an endpoint is created and when it is rotated,
//! never again.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppPath, AppQuery, AppState, actor, page_size};
use crate::access::{self, Admin};
use crate::error::ErrorCode;
use crate::http::context::AdminContext;
use crate::http::error::ApiError;
use crate::store::webhooks::{DeliveryRow, WebhookRow};
use crate::time::to_rfc3339;
use crate::webhooks::{WebhookError, WebhookInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Invalid(fields) => ApiError::new(
                ErrorCode::BadUserInput,
                format!("invalid input: {}", crate::error::describe_fields(&fields)),
            )
            .with_fields(fields),
            WebhookError::NotFound(what) => {
                ApiError::new(ErrorCode::NotFound, format!("{what} not found"))
            }
            other => ApiError::internal(&other),
        }
    }
}

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBody {
    pub id: String,
    pub url: String,
    pub description: String,
    pub enabled: bool,
    /// Event patterns: `article.published`, `article.*`, `*.deleted`, `content_type.changed`, `*`.
    pub events: Vec<String>,
    /// Failing since (every attempt since then failed); the endpoint is disabled after
    /// `webhooks.disable_after_hours`.
    pub failing_since: Option<String>,
    /// Only when created or rotated: the `whsec_…` signing secret (Standard Webhooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// While a rotation overlaps: until when the previous secret also signs.
    pub previous_secret_valid_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl WebhookBody {
    fn of(w: WebhookRow, show_secret: bool) -> Self {
        let now = crate::time::now_ms();
        WebhookBody {
            events: serde_json::from_str(&w.events).unwrap_or_default(),
            secret: show_secret.then_some(w.secret),
            previous_secret_valid_until: w
                .previous_until
                .filter(|u| *u > now && w.previous_secret.is_some())
                .map(to_rfc3339),
            failing_since: w.failing_since.map(to_rfc3339),
            created_at: to_rfc3339(w.created_at),
            updated_at: to_rfc3339(w.updated_at),
            id: w.id,
            url: w.url,
            description: w.description,
            enabled: w.enabled,
        }
    }
}

/// Create or change an endpoint (a field left out is kept when changing).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookInputBody {
    /// `https://…` (or `http://`); it must resolve to a public address.
    pub url: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    /// Default `["*"]`.
    pub events: Option<Vec<String>>,
}

impl From<WebhookInputBody> for WebhookInput {
    fn from(b: WebhookInputBody) -> Self {
        WebhookInput {
            url: b.url,
            description: b.description,
            enabled: b.enabled,
            events: b.events,
        }
    }
}

/// One delivery and its last attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryBody {
    /// The `webhook-id` header.
    pub id: String,
    pub event: String,
    pub entry_id: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub last_status: Option<i32>,
    pub last_duration_ms: Option<i64>,
    /// The first KiB of the receiver's last answer.
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

impl From<DeliveryRow> for DeliveryBody {
    fn from(d: DeliveryRow) -> Self {
        let pending = d.status == crate::store::webhooks::DeliveryStatus::Pending;
        DeliveryBody {
            status: d.status.as_str().to_owned(),
            next_attempt_at: pending.then(|| to_rfc3339(d.next_attempt_at)),
            created_at: to_rfc3339(d.created_at),
            delivered_at: d.delivered_at.map(to_rfc3339),
            id: d.id,
            event: d.event,
            entry_id: d.entry_id,
            attempts: d.attempts,
            last_status: d.last_status,
            last_duration_ms: d.last_duration_ms,
            last_response: d.last_response,
            last_error: d.last_error,
        }
    }
}

/// The tenant's webhook endpoints.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, description = "Endpoints", body = Vec<WebhookBody>)))]
async fn list_webhooks(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
) -> Result<AppJson<Vec<WebhookBody>>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Webhooks)?;
    let rows = state.webhooks.list(&ctx.tenant).await?;
    Ok(AppJson(
        rows.into_iter()
            .map(|w| WebhookBody::of(w, false))
            .collect(),
    ))
}

/// Add an endpoint; the answer holds its signing secret (shown this once).
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = WebhookInputBody,
    responses((status = 201, description = "Created, with its secret", body = WebhookBody)))]
async fn create_webhook(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppJson(body): AppJson<WebhookInputBody>,
) -> Result<(StatusCode, AppJson<WebhookBody>), ApiError> {
    access::check_admin(&ctx.principal, Admin::Webhooks)?;
    let row = state
        .webhooks
        .create(&ctx.tenant, body.into(), &actor(&ctx))
        .await?;
    Ok((StatusCode::CREATED, AppJson(WebhookBody::of(row, true))))
}

/// One endpoint.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "The endpoint", body = WebhookBody)))]
async fn get_webhook(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<WebhookBody>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Webhooks)?;
    let row = state.webhooks.get(&ctx.tenant, &id).await?;
    Ok(AppJson(WebhookBody::of(row, false)))
}

/// Change an endpoint (URL, description, events; `enabled: true` re-enables a disabled one).
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", request_body = WebhookInputBody,
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "The endpoint", body = WebhookBody)))]
async fn update_webhook(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<WebhookInputBody>,
) -> Result<AppJson<WebhookBody>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Webhooks)?;
    let row = state
        .webhooks
        .update(&ctx.tenant, &id, body.into(), &actor(&ctx))
        .await?;
    Ok(AppJson(WebhookBody::of(row, false)))
}

/// Remove an endpoint and its deliveries.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted")))]
async fn delete_webhook(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    access::check_admin(&ctx.principal, Admin::Webhooks)?;
    state
        .webhooks
        .delete(&ctx.tenant, &id, &actor(&ctx))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret (shown this once); the previous one keeps signing beside it for
/// `webhooks.secret_overlap_hours`.
#[utoipa::path(post, path = "/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "The endpoint with its new secret", body = WebhookBody)))]
async fn rotate_secret(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<WebhookBody>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Webhooks)?;
    let row = state
        .webhooks
        .rotate_secret(&ctx.tenant, &id, &actor(&ctx))
        .await?;
    Ok(AppJson(WebhookBody::of(row, true)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// At most this many, newest first, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub first: Option<u64>,
}

/// The endpoint's delivery log, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), DeliveryParams),
    responses((status = 200, description = "Deliveries", body = Vec<DeliveryBody>)))]
async fn list_deliveries(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
    AppQuery(params): AppQuery<DeliveryParams>,
) -> Result<AppJson<Vec<DeliveryBody>>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Webhooks)?;
    let first = page_size(params.first, state.config.limits.page_size_max)?;
    let rows = state.webhooks.deliveries(&ctx.tenant, &id, first).await?;
    Ok(AppJson(rows.into_iter().map(Into::into).collect()))
}

/// Send a delivery again (same `webhook-id`).
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"),
           ("delivery" = String, Path, description = "Delivery id")),
    responses((status = 202, description = "Queued")))]
async fn redeliver(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((id, delivery)): AppPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    access::check_admin(&ctx.principal, Admin::Webhooks)?;
    state
        .webhooks
        .redeliver(&ctx.tenant, &id, &delivery, &actor(&ctx))
        .await?;
    Ok(StatusCode::ACCEPTED)
}
