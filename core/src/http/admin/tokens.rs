//! `/tokens`: tenant admins create (secret shown once), list and revoke API tokens.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppPath, AppState, actor};
use crate::access::{self, Admin, TokenKind};
use crate::auth::{self, TokenInfo};
use crate::http::context::AdminContext;
use crate::http::error::ApiError;
use crate::time::{parse_rfc3339, to_rfc3339};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewTokenBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: TokenKind,
    /// RFC 3339, in the future; absent: no expiry.
    pub expires_at: Option<String>,
}

/// A new token. `secret` is shown only in this answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub id: String,
    pub kind: TokenKind,
    pub secret: String,
    pub expires_at: Option<String>,
}

/// The tenant's API tokens (never their secrets).
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    responses((status = 200, description = "Tokens, newest first", body = Vec<TokenInfo>)))]
async fn list_tokens(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
) -> Result<AppJson<Vec<TokenInfo>>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Tokens)?;
    Ok(AppJson(auth::list_tokens(&state.db, &ctx.tenant).await?))
}

/// Create an API token.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = NewTokenBody,
    responses((status = 201, description = "Created; the secret is shown once", body = CreatedToken)))]
async fn create_token(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppJson(body): AppJson<NewTokenBody>,
) -> Result<(StatusCode, AppJson<CreatedToken>), ApiError> {
    access::check_admin(&ctx.principal, Admin::Tokens)?;
    let expires_at = match body.expires_at.as_deref() {
        None => None,
        Some(text) => Some(
            parse_rfc3339(text)
                .ok_or_else(|| ApiError::invalid("expiresAt", "format", "an RFC 3339 date-time"))?,
        ),
    };
    let token = auth::create_token(
        &state.db,
        &ctx.tenant,
        body.kind,
        &body.name,
        expires_at,
        &actor(&ctx),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        AppJson(CreatedToken {
            id: token.id,
            kind: token.kind,
            secret: token.secret,
            expires_at: token.expires_at.map(to_rfc3339),
        }),
    ))
}

/// Revoke a token: it is refused from the next request on.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 200, description = "Revoked", body = TokenInfo)))]
async fn revoke_token(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppPath(id): AppPath<String>,
) -> Result<AppJson<TokenInfo>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Tokens)?;
    Ok(AppJson(
        auth::revoke_token(&state.db, &ctx.tenant, &id, &actor(&ctx)).await?,
    ))
}
