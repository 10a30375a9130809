//! `/content-types`: read the tenant's content types; admins create, change (with the
//! data-loss guard) and delete them. Definitions follow `schema/content-type.schema.json`,
//! which the OpenAPI document embeds as `ContentTypeDefinition`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppPath, AppQuery, AppState, actor};
use crate::access::{self, Action, Admin};
use crate::content::types::ChangeOptions;
use crate::http::context::AdminContext;
use crate::http::error::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_types, create_type))
        .routes(routes!(get_type, update_type, delete_type))
}

/// A change to a content type.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TypeChange {
    /// The new definition; its `name` must stay the same.
    #[schema(value_type = Object)]
    pub definition: Value,
    /// Renamed fields: new name → old name. Values move to the new name.
    #[serde(default)]
    pub renames: BTreeMap<String, String>,
    /// Apply even when stored values would be dropped (otherwise refused with `dataLoss`).
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ForceParam {
    /// Delete even when entries exist (they are deleted too).
    #[serde(default)]
    pub force: Option<bool>,
}

/// The content types the caller may read.
#[utoipa::path(get, path = "/content-types", tag = "content-types",
    responses((status = 200, description = "Definitions", body = ref("#/components/schemas/ContentTypeList"))))]
async fn list_types(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
) -> Result<AppJson<Vec<Value>>, ApiError> {
    let types = state.content.types(&ctx.tenant).await?;
    let readable: Vec<Value> = types
        .iter()
        .filter(|t| {
            access::check_content(
                ctx.tenant.anonymous_read(),
                ctx.tenant.narrowing(),
                &ctx.principal,
                &t.name,
                Action::Read,
            )
            .is_ok()
        })
        .map(|t| t.to_json())
        .collect();
    if readable.is_empty() && !types.is_empty() {
        // Nothing readable: say why rather than answer an empty list.
        access::check_content(
            ctx.tenant.anonymous_read(),
            ctx.tenant.narrowing(),
            &ctx.principal,
            &types[0].name,
            Action::Read,
        )?;
    }
    Ok(AppJson(readable))
}

/// Add a content type (tenant admins).
#[utoipa::path(post, path = "/content-types", tag = "content-types",
    request_body = ref("#/components/schemas/ContentTypeDefinition"),
    responses((status = 201, description = "Created", body = ref("#/components/schemas/ContentTypeDefinition"))))]
async fn create_type(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppJson(definition): AppJson<Value>,
) -> Result<(StatusCode, AppJson<Value>), ApiError> {
    access::check_admin(&ctx.principal, Admin::ContentTypes)?;
    let ct = state
        .content
        .create_type(&ctx.tenant, definition, Some(&actor(&ctx)))
        .await?;
    Ok((StatusCode::CREATED, AppJson(ct.to_json())))
}

/// One content type.
#[utoipa::path(get, path = "/content-types/{name}", tag = "content-types",
    params(("name" = String, Path, description = "The content type's name")),
    responses((status = 200, description = "The definition", body = ref("#/components/schemas/ContentTypeDefinition"))))]
async fn get_type(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(name): AppPath<String>,
) -> Result<AppJson<Value>, ApiError> {
    let model = state.content.model(&ctx.tenant).await?;
    let ct = model.get(&name).map_err(|_| {
        ApiError::new(
            crate::ErrorCode::NotFound,
            format!(
                "content type `{}` not found",
                name.chars().take(100).collect::<String>()
            ),
        )
    })?;
    access::check_content(
        ctx.tenant.anonymous_read(),
        ctx.tenant.narrowing(),
        &ctx.principal,
        &ct.name,
        Action::Read,
    )?;
    Ok(AppJson(ct.to_json()))
}

/// Change a content type, migrating stored entries. A change that would drop stored values is
/// refused (`CONFLICT`, rule `dataLoss`, naming the fields) unless `force` is set.
#[utoipa::path(put, path = "/content-types/{name}", tag = "content-types",
    params(("name" = String, Path, description = "The content type's name")),
    request_body = TypeChange,
    responses((status = 200, description = "Changed", body = ref("#/components/schemas/ContentTypeDefinition"))))]
async fn update_type(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(name): AppPath<String>,
    AppJson(change): AppJson<TypeChange>,
) -> Result<AppJson<Value>, ApiError> {
    access::check_admin(&ctx.principal, Admin::ContentTypes)?;
    let options = ChangeOptions {
        force: change.force,
        renames: change.renames,
    };
    let ct = state
        .content
        .update_type(
            &ctx.tenant,
            &name,
            change.definition,
            &options,
            Some(&actor(&ctx)),
        )
        .await?;
    Ok(AppJson(ct.to_json()))
}

/// Delete a content type. Refused while entries exist unless `force`, and while another type
/// references it.
#[utoipa::path(delete, path = "/content-types/{name}", tag = "content-types",
    params(("name" = String, Path, description = "The content type's name"), ForceParam),
    responses((status = 204, description = "Deleted")))]
async fn delete_type(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(name): AppPath<String>,
    AppQuery(q): AppQuery<ForceParam>,
) -> Result<StatusCode, ApiError> {
    access::check_admin(&ctx.principal, Admin::ContentTypes)?;
    state
        .content
        .delete_type(
            &ctx.tenant,
            &name,
            q.force.unwrap_or(false),
            Some(&actor(&ctx)),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
