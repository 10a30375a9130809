//! `/auth`: log in (rate-limited), log out, and who am I.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppState};
use crate::access::{Principal, Role, TokenKind};
use crate::auth::{self, LoginRequest};
use crate::error::ErrorCode;
use crate::http::context::{Caller, ClientAddr, named_tenant};
use crate::http::error::ApiError;
use crate::time::to_rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The account's e-mail address.
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

/// A new session. The token is shown only here.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    /// Send as `Authorization: Bearer …`.
    pub token: String,
    pub expires_at: String,
    pub me: Me,
}

/// Who the credential belongs to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// `anonymous`, `token`, `user` or `operator`.
    pub kind: String,
    pub id: Option<String>,
    /// For users.
    pub role: Option<Role>,
    /// For API tokens.
    pub token_kind: Option<TokenKind>,
    /// The credential's tenant (none for operators).
    pub tenant: Option<String>,
}

fn me_of(principal: &Principal, tenant: Option<String>) -> Me {
    let (id, role, token_kind) = match principal {
        Principal::Anonymous => (None, None, None),
        Principal::Token { id, kind } => (Some(id.clone()), None, Some(*kind)),
        Principal::User { id, role, .. } => (Some(id.clone()), Some(*role), None),
        Principal::Operator { id, .. } => (Some(id.clone()), None, None),
    };
    Me {
        kind: principal.kind().to_owned(),
        id,
        role,
        token_kind,
        tenant,
    }
}

/// Log in with e-mail and password. With `X-Tenant` (or a tenant's domain as `Host`) this is a
/// login of that tenant's user; without, of a platform operator. Attempts are limited per
/// account and per client address (429 with `Retry-After`).
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    security(()),
    request_body = Credentials,
    responses((status = 200, description = "Logged in", body = SessionBody)),
)]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    AppJson(body): AppJson<Credentials>,
) -> Result<AppJson<SessionBody>, ApiError> {
    let tenant = named_tenant(&state, &headers).await?;
    let session = auth::login(
        &state.db,
        &state.login_limiter,
        &state.refusals,
        state.config.auth.session_ttl_secs,
        LoginRequest {
            tenant: tenant.as_ref(),
            email: &body.email,
            password: &body.password,
            client,
        },
    )
    .await?;
    Ok(AppJson(SessionBody {
        token: session.token,
        expires_at: to_rfc3339(session.expires_at),
        me: me_of(
            &session.principal,
            tenant.as_ref().map(|t| t.slug().to_owned()),
        ),
    }))
}

/// End the session this request is made with.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    responses((status = 204, description = "Logged out")),
)]
async fn logout(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Caller(who): Caller,
) -> Result<StatusCode, ApiError> {
    let tenant = match &who.tenant_id {
        Some(id) => Some(state.tenants.by_id(&state.db, id).await?),
        None => None,
    };
    match who.principal {
        Principal::User { .. } | Principal::Operator { .. } => {
            auth::logout(&state.db, tenant.as_ref(), &who.principal, client).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        Principal::Anonymous => Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "log out needs a session token",
        )),
        Principal::Token { .. } => Err(ApiError::new(
            ErrorCode::BadUserInput,
            "API tokens are revoked, not logged out: DELETE /tokens/{id}",
        )),
    }
}

/// The principal of the request's credential.
#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    responses((status = 200, description = "The caller", body = Me)),
)]
async fn me(State(state): State<AppState>, Caller(who): Caller) -> Result<AppJson<Me>, ApiError> {
    if who.principal == Principal::Anonymous {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "send a credential: Authorization: Bearer …",
        ));
    }
    let tenant = match &who.tenant_id {
        Some(id) => Some(state.tenants.by_id(&state.db, id).await?.slug().to_owned()),
        None => None,
    };
    Ok(AppJson(me_of(&who.principal, tenant)))
}
