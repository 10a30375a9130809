//! `/auth`: log in (rate-limited), log out, and who am I.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppState};
use crate::access::{self, Action, Principal, Role, Scope, TokenKind};
use crate::auth::{self, LoginRequest};
use crate::error::ErrorCode;
use crate::http::context::{Caller, ClientAddr, named_tenant};
use crate::http::cookie::{self, CookieSession};
use crate::http::error::ApiError;
use crate::tenancy::TenantCtx;
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
    /// For the admin UI: keep the session in an `HttpOnly` cookie instead of answering with
    /// its token; the answer carries `csrfToken`, to send as `X-CSRF-Token` on every
    /// state-changing request.
    #[serde(default)]
    pub cookie: bool,
}

/// A new session. The token is shown only here.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    /// Send as `Authorization: Bearer …` (absent for a cookie session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
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
    /// For a cookie session: send as `X-CSRF-Token` on state-changing requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    /// What the caller may do in its tenant, so a client shows only what will work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// The tenant's locales, default first (for editing localized fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locales: Option<Vec<String>>,
}

/// The caller's permissions in its tenant.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    /// Tenant administration (content types, users, tokens, settings, audit log, plugins).
    pub admin: bool,
    /// Per content type, each allowed action with its scope: `any` entry, or `own` (the
    /// entries the caller created).
    pub content: BTreeMap<String, BTreeMap<Action, Scope>>,
}

/// What the caller may do, from the same checks every request goes through.
fn permissions(principal: &Principal, tenant: &TenantCtx, types: &[String]) -> Permissions {
    let content = types
        .iter()
        .map(|t| {
            let allowed = Action::ALL
                .into_iter()
                .filter_map(|a| {
                    access::check_content(
                        tenant.anonymous_read(),
                        tenant.narrowing(),
                        principal,
                        t,
                        a,
                    )
                    .ok()
                    .map(|scope| (a, scope))
                })
                .collect();
            (t.clone(), allowed)
        })
        .collect();
    Permissions {
        admin: access::check_admin(principal, access::Admin::Users).is_ok(),
        content,
    }
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
        csrf_token: None,
        permissions: None,
        locales: None,
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
) -> Result<Response, ApiError> {
    let tenant = named_tenant(&state, &headers).await?;
    let ttl = state.config.auth.session_ttl_secs;
    let session = auth::login(
        &state.db,
        &state.login_limiter,
        &state.refusals,
        ttl,
        LoginRequest {
            tenant: tenant.as_ref(),
            email: &body.email,
            password: &body.password,
            client,
        },
    )
    .await?;
    let mut me = me_of(
        &session.principal,
        tenant.as_ref().map(|t| t.slug().to_owned()),
    );
    if !body.cookie {
        return Ok(AppJson(SessionBody {
            token: Some(session.token),
            expires_at: to_rfc3339(session.expires_at),
            me,
        })
        .into_response());
    }
    me.csrf_token = Some(cookie::csrf_token(&session.token));
    let set = cookie::set_cookie(&headers, Some(&session.token), ttl);
    let mut response = AppJson(SessionBody {
        token: None,
        expires_at: to_rfc3339(session.expires_at),
        me,
    })
    .into_response();
    response.headers_mut().insert(SET_COOKIE, set);
    Ok(response)
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
    headers: HeaderMap,
    Caller(who): Caller,
) -> Result<Response, ApiError> {
    let tenant = match &who.tenant_id {
        Some(id) => Some(state.tenants.by_id(&state.db, id).await?),
        None => None,
    };
    match who.principal {
        Principal::User { .. } | Principal::Operator { .. } => {
            auth::logout(&state.db, tenant.as_ref(), &who.principal, client).await?;
            // A cookie session's cookie goes with it.
            let clear = cookie::set_cookie(&headers, None, 0);
            Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear)]).into_response())
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
async fn me(
    State(state): State<AppState>,
    Caller(who): Caller,
    session: Option<Extension<CookieSession>>,
) -> Result<AppJson<Me>, ApiError> {
    if who.principal == Principal::Anonymous {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "send a credential: Authorization: Bearer …",
        ));
    }
    let tenant = match &who.tenant_id {
        Some(id) => Some(state.tenants.by_id(&state.db, id).await?),
        None => None,
    };
    let mut me = me_of(&who.principal, tenant.as_ref().map(|t| t.slug().to_owned()));
    me.csrf_token = session.map(|Extension(s)| s.csrf);
    if let Some(tenant) = &tenant {
        let model = state.content.model(tenant).await?;
        let types: Vec<String> = model.types.iter().map(|t| t.name.clone()).collect();
        me.permissions = Some(permissions(&who.principal, tenant, &types));
        let mut locales = vec![tenant.default_locale().to_owned()];
        locales.extend(
            tenant
                .locales()
                .iter()
                .filter(|l| l.as_str() != tenant.default_locale())
                .cloned(),
        );
        me.locales = Some(locales);
    }
    Ok(AppJson(me))
}
