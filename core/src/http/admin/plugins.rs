//! Plugins over the admin API: operators install platform plugins (`/platform/plugins`), which
//! every tenant is offered; tenant admins list what their tenant can use, upload private
//! plugins only their tenant sees, and enable, configure and grant capabilities
//! (`/plugins/{id}/setup`).

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppPath, AppState, actor, optional_body};
use crate::access::{self, Admin};
use crate::error::ErrorCode;
use crate::http::context::{AdminContext, Caller};
use crate::http::error::ApiError;
use crate::plugins::registry::{self, EnableInput, PluginInfo, Scope};
use crate::plugins::{PluginError, PluginHost};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_platform_plugins, install_platform_plugin))
        .routes(routes!(list_plugins, install_private_plugin))
        .routes(routes!(get_plugin))
        .routes(routes!(set_up_plugin))
        .routes(routes!(preview_widget))
}

impl From<PluginError> for ApiError {
    fn from(e: PluginError) -> Self {
        let code = e.code();
        if code == ErrorCode::Internal {
            return ApiError::internal(&e);
        }
        let message = match &e {
            PluginError::Invalid(fields) => {
                format!("invalid input: {}", crate::error::describe_fields(fields))
            }
            other => other.to_string(),
        };
        ApiError::new(code, message).with_fields(e.fields().to_vec())
    }
}

/// A plugin to install: its manifest and its component.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstallBody {
    /// The text of `plugin.toml`.
    #[schema(min_length = 1)]
    pub manifest: String,
    /// The `wasm32-wasip2` component, base64-encoded (standard alphabet, padded).
    #[schema(min_length = 1, content_encoding = "base64")]
    pub component: String,
}

/// A tenant's setup of a plugin; absent parts keep their current value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetupBody {
    /// Enable (true) or disable (false) the plugin for this tenant.
    pub enabled: bool,
    /// A version installed for this plugin; default: the current one, else the latest.
    pub version: Option<String>,
    /// The configuration object, checked against the plugin's schema; default `{}`.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    /// Capabilities granted (`log`, `entries`, `kv`, `now`), each one the plugin asks for.
    pub grants: Option<Vec<String>>,
    pub limits: Option<crate::plugins::registry::TenantLimits>,
}

fn host(state: &AppState) -> Result<&PluginHost, ApiError> {
    state
        .plugins
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::PluginError, "the plugin host is not running"))
}

fn decode(body: &InstallBody) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(body.component.trim())
        .map_err(|_| ApiError::invalid("component", "base64", "standard base64 of the .wasm file"))
}

/// Platform plugins (operators).
#[utoipa::path(get, path = "/platform/plugins", tag = "plugins",
    responses((status = 200, description = "Platform plugins by id", body = Vec<PluginInfo>)))]
async fn list_platform_plugins(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<AppJson<Vec<PluginInfo>>, ApiError> {
    access::check_operator(&who.principal)?;
    Ok(AppJson(registry::list(host(&state)?, None).await?))
}

/// Install a platform plugin (or a new version of one), offered to every tenant.
#[utoipa::path(post, path = "/platform/plugins", tag = "plugins", request_body = InstallBody,
    responses((status = 201, description = "Installed", body = PluginInfo)))]
async fn install_platform_plugin(
    State(state): State<AppState>,
    Caller(who): Caller,
    AppJson(body): AppJson<InstallBody>,
) -> Result<(StatusCode, AppJson<PluginInfo>), ApiError> {
    access::check_operator(&who.principal)?;
    let wasm = decode(&body)?;
    let info = registry::install(
        host(&state)?,
        Scope::Platform,
        wasm,
        &body.manifest,
        &who.principal.audit_actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, AppJson(info)))
}

/// The plugins this tenant can use (platform and its own), with its setup of each.
#[utoipa::path(get, path = "/plugins", tag = "plugins",
    responses((status = 200, description = "Plugins by id", body = Vec<PluginInfo>)))]
async fn list_plugins(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
) -> Result<AppJson<Vec<PluginInfo>>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Plugins)?;
    Ok(AppJson(
        registry::list(host(&state)?, Some(&ctx.tenant)).await?,
    ))
}

/// Upload a private plugin: only this tenant sees it.
#[utoipa::path(post, path = "/plugins", tag = "plugins", request_body = InstallBody,
    responses((status = 201, description = "Installed", body = PluginInfo)))]
async fn install_private_plugin(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppJson(body): AppJson<InstallBody>,
) -> Result<(StatusCode, AppJson<PluginInfo>), ApiError> {
    access::check_admin(&ctx.principal, Admin::Plugins)?;
    let wasm = decode(&body)?;
    let info = registry::install(
        host(&state)?,
        Scope::Tenant(&ctx.tenant),
        wasm,
        &body.manifest,
        &actor(&ctx),
    )
    .await?;
    Ok((StatusCode::CREATED, AppJson(info)))
}

/// One plugin, with this tenant's setup.
#[utoipa::path(get, path = "/plugins/{id}", tag = "plugins",
    params(("id" = String, Path, description = "Plugin id")),
    responses((status = 200, description = "The plugin", body = PluginInfo)))]
async fn get_plugin(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<PluginInfo>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Plugins)?;
    registry::info(host(&state)?, Some(&ctx.tenant), &id)
        .await?
        .map(AppJson)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("plugin `{id}` not found")))
}

/// Enable or disable a plugin for this tenant, with its version, configuration (checked
/// against the plugin's schema), capability grants and narrowed limits.
#[utoipa::path(put, path = "/plugins/{id}/setup", tag = "plugins", request_body = SetupBody,
    params(("id" = String, Path, description = "Plugin id")),
    responses((status = 200, description = "The plugin with the new setup", body = PluginInfo)))]
async fn set_up_plugin(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<SetupBody>,
) -> Result<AppJson<PluginInfo>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Plugins)?;
    let host = host(&state)?;
    let actor = actor(&ctx);
    let info = if body.enabled {
        let setup = EnableInput {
            version: body.version,
            config: body.config,
            grants: body.grants,
            limits: body.limits,
        };
        registry::enable(host, &ctx.tenant, &id, setup, &actor).await?
    } else {
        registry::disable(host, &ctx.tenant, &id, &actor).await?
    };
    Ok(AppJson(info))
}

/// What a widget preview renders with.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// The widget's props (checked against its props schema); default `{}`.
    #[schema(value_type = Option<Object>)]
    pub props: Option<serde_json::Value>,
    /// The language to render in; default: the tenant's default locale.
    pub locale: Option<String>,
}

/// A rendered widget, as a site would get it over GraphQL.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewOutput {
    /// The widget's HTML, sanitized by the host.
    pub html: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub cache_seconds: u32,
}

/// Render a widget of a plugin this tenant enabled, with its current configuration: the admin
/// UI's live preview.
#[utoipa::path(post, path = "/plugins/{id}/widgets/{name}/preview", tag = "plugins",
    request_body(content = Option<PreviewBody>, description = "Optional `props` and `locale`"),
    params(("id" = String, Path, description = "Plugin id"),
           ("name" = String, Path, description = "Widget name")),
    responses((status = 200, description = "The rendered widget", body = PreviewOutput)))]
async fn preview_widget(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath((id, name)): AppPath<(String, String)>,
    body: axum::body::Bytes,
) -> Result<AppJson<PreviewOutput>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Plugins)?;
    let body: PreviewBody = optional_body(&body)?;
    let locale = body
        .locale
        .filter(|l| ctx.tenant.locales().contains(l))
        .unwrap_or_else(|| ctx.tenant.default_locale().to_owned());
    let out = host(&state)?
        .render(
            &ctx.tenant,
            None,
            &id,
            &name,
            body.props.unwrap_or_else(|| serde_json::json!({})),
            &locale,
        )
        .await
        .map_err(|e| match e {
            // Nothing to preview: the tenant has no such enabled plugin (GraphQL answers
            // FORBIDDEN to a site asking for it; here it is simply not there).
            PluginError::Forbidden(message) => ApiError::new(ErrorCode::NotFound, message),
            e => e.into(),
        })?;
    Ok(AppJson(PreviewOutput {
        html: out.html.clone(),
        data: out.data.clone(),
        cache_seconds: out.cache_seconds,
    }))
}
