//! `/settings`: the tenant's name, domains, anonymous reads and per-type role narrowing.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppState, actor};
use crate::access::{self, Admin};
use crate::audit;
use crate::http::context::{AdminContext, ClientAddr};
use crate::http::error::ApiError;
use crate::tenancy::{self, SettingsChange, TenantCtx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, update_settings))
}

/// A tenant's settings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsBody {
    pub slug: String,
    pub name: String,
    pub locales: Vec<String>,
    pub default_locale: String,
    pub domains: Vec<String>,
    /// Whether clients without a credential may read published content.
    pub anonymous_read: bool,
    /// Role narrowing per content type: `{"author": {"event": ["read", "read-drafts"]}}`.
    #[schema(value_type = Object)]
    pub permissions: Value,
    /// The tenant's media quotas (within the server's own limits).
    pub media: crate::tenancy::MediaLimits,
    /// The version retention in force: the tenant's own, or the server's.
    pub versions: crate::tenancy::VersionPolicy,
}

/// A change to the settings; absent properties stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SettingsPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// The whole new locale list; locales can be added, not removed (their stored values would
    /// be lost), so every current locale must stay listed.
    #[schema(max_items = 20)]
    pub locales: Option<Vec<String>>,
    #[schema(max_items = 20)]
    pub domains: Option<Vec<String>>,
    pub anonymous_read: Option<bool>,
    /// Role → content type → allowed actions (`read`, `read-drafts`, `create`, `update`,
    /// `delete`, `publish`); narrows a role, never widens it. `{}` removes every rule.
    #[schema(value_type = Option<Object>)]
    pub permissions: Option<Value>,
    /// Media quotas `{maxBytes, maxFileBytes, allowedTypes}`; they narrow the server's
    /// limits, never widen them. `null` removes them.
    #[schema(value_type = Option<crate::tenancy::MediaLimits>)]
    pub media: Option<Value>,
    /// Version retention `{keep, days}`: every entry keeps its newest `keep` versions and
    /// those younger than `days` (the published one and the draft's always). `null` returns
    /// to the server's policy.
    #[schema(value_type = Option<crate::tenancy::VersionPolicy>)]
    pub versions: Option<Value>,
}

async fn body_of(state: &AppState, ctx: &TenantCtx) -> Result<SettingsBody, ApiError> {
    let row = crate::store::tenants::find_by_id(&state.db, ctx.id())
        .await?
        .ok_or_else(|| ApiError::new(crate::ErrorCode::NotFound, "tenant not found"))?;
    Ok(SettingsBody {
        slug: ctx.slug().to_owned(),
        name: row.name,
        locales: row.locales,
        default_locale: row.default_locale,
        domains: row.domains,
        anonymous_read: row
            .settings
            .get("anonymousRead")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        permissions: row
            .settings
            .get("permissions")
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default())),
        media: ctx.media_limits().clone(),
        versions: row
            .settings
            .get("versions")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or(crate::tenancy::VersionPolicy {
                keep: state.config.retention.versions_keep,
                days: state.config.retention.versions_days,
            }),
    })
}

/// The tenant's settings.
#[utoipa::path(get, path = "/settings", tag = "settings",
    responses((status = 200, description = "Settings", body = SettingsBody)))]
async fn get_settings(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
) -> Result<AppJson<SettingsBody>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Settings)?;
    Ok(AppJson(body_of(&state, &ctx.tenant).await?))
}

/// Change the tenant's settings. Takes effect on every node within a second.
#[utoipa::path(patch, path = "/settings", tag = "settings", request_body = SettingsPatch,
    responses((status = 200, description = "Settings after the change", body = SettingsBody)))]
async fn update_settings(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    ClientAddr(client): ClientAddr,
    AppJson(patch): AppJson<SettingsPatch>,
) -> Result<AppJson<SettingsBody>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Settings)?;
    let known: Vec<String> = state
        .content
        .types(&ctx.tenant)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let detail = serde_json::json!({
        "name": patch.name, "locales": patch.locales, "domains": patch.domains,
        "anonymousRead": patch.anonymous_read, "permissions": patch.permissions,
        "media": patch.media, "versions": patch.versions,
    });
    let media = match patch.media {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => Some(Some(serde_json::from_value(v).map_err(|e| {
            ApiError::new(
                crate::ErrorCode::BadUserInput,
                format!("invalid input: media: {e}"),
            )
            .with_fields(vec![crate::error::FieldError::new(
                "media",
                "type",
                e.to_string(),
            )])
        })?)),
    };
    let versions = match patch.versions {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => Some(Some(serde_json::from_value(v).map_err(|e| {
            ApiError::invalid("versions", "type", format!("{{keep, days}}: {e}"))
        })?)),
    };
    let who = actor(&ctx);
    let updated = tenancy::update_settings(
        &state.db,
        &ctx.tenant,
        SettingsChange {
            name: patch.name,
            locales: patch.locales,
            domains: patch.domains,
            anonymous_read: patch.anonymous_read,
            permissions: patch.permissions,
            media,
            versions,
        },
        &known,
        &state.config.platform_hosts,
        audit::Event::new(Some(&ctx.tenant), &who, "settings.updated")
            .target(format!("tenant/{}", ctx.tenant.slug()))
            .detail(detail)
            .client(client),
    )
    .await?;
    state.tenants.forget();
    Ok(AppJson(body_of(&state, &updated).await?))
}
