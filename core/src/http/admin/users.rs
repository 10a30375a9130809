//! `/users`: tenant admins manage the tenant's user accounts.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppPath, AppState, actor};
use crate::access::{self, Admin, Role};
use crate::auth::{self, NewUser, UserChange, UserInfo};
use crate::http::context::AdminContext;
use crate::http::error::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub email: String,
    pub role: Role,
    /// At least 10 characters.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

/// A change to a user; absent properties stay as they are. A new password, disabling or
/// deleting ends the user's sessions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChangeBody {
    pub role: Option<Role>,
    #[schema(min_length = 10, max_length = 1024)]
    pub password: Option<String>,
    pub disabled: Option<bool>,
}

/// The tenant's users.
#[utoipa::path(get, path = "/users", tag = "users",
    responses((status = 200, description = "Users by e-mail", body = Vec<UserInfo>)))]
async fn list_users(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
) -> Result<AppJson<Vec<UserInfo>>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Users)?;
    Ok(AppJson(auth::list_users(&state.db, &ctx.tenant).await?))
}

/// Create a user.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUserBody,
    responses((status = 201, description = "Created", body = UserInfo)))]
async fn create_user(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppJson(body): AppJson<NewUserBody>,
) -> Result<(StatusCode, AppJson<UserInfo>), ApiError> {
    access::check_admin(&ctx.principal, Admin::Users)?;
    let user = auth::create_user(
        &state.db,
        &ctx.tenant,
        NewUser {
            email: body.email,
            role: body.role,
            password: body.password,
        },
        &actor(&ctx),
    )
    .await?;
    Ok((StatusCode::CREATED, AppJson(user)))
}

/// One user.
#[utoipa::path(get, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The user", body = UserInfo)))]
async fn get_user(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<UserInfo>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Users)?;
    Ok(AppJson(auth::get_user(&state.db, &ctx.tenant, &id).await?))
}

/// Change a user's role, password or disabled flag.
#[utoipa::path(patch, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = UserChangeBody,
    responses((status = 200, description = "Changed", body = UserInfo)))]
async fn update_user(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<UserChangeBody>,
) -> Result<AppJson<UserInfo>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Users)?;
    let user = auth::update_user(
        &state.db,
        &ctx.tenant,
        &id,
        UserChange {
            role: body.role,
            password: body.password,
            disabled: body.disabled,
        },
        &actor(&ctx),
    )
    .await?;
    Ok(AppJson(user))
}

/// Delete a user.
#[utoipa::path(delete, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Deleted")))]
async fn delete_user(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    access::check_admin(&ctx.principal, Admin::Users)?;
    auth::delete_user(&state.db, &ctx.tenant, &id, &actor(&ctx)).await?;
    Ok(StatusCode::NO_CONTENT)
}
