//! The request context: which tenant, who is asking. Resolved once per request in SPEC order —
//! the bearer credential's tenant; the `X-Tenant` header; the `Host` among the tenant's
//! domains — and refused when they disagree.
//!
//! Handlers name what they need in their signature: [`RequestContext`] (a tenant is required),
//! [`Caller`] (credentials, no tenant: tenant management, login), [`ClientAddr`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::access::Principal;
use crate::auth;
use crate::error::ErrorCode;
use crate::tenancy::{self, TenantCtx};

/// Tenant and principal of one request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub tenant: TenantCtx,
    pub principal: Principal,
    /// The tenant's outbox sequence if authentication read it (see `auth::Authenticated`).
    pub tenant_seq: Option<i64>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn internal(e: &dyn std::fmt::Debug) -> ApiError {
    tracing::error!(error = ?e, "resolving the request context");
    ApiError::new(ErrorCode::Internal, "internal error")
}

/// The credential of the request, checked: `Anonymous` without an `Authorization` header,
/// 401 for a malformed header or an unknown, revoked or expired credential.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<auth::Authenticated, ApiError> {
    let Some(authz) = header(headers, "authorization") else {
        return Ok(auth::Authenticated {
            principal: Principal::Anonymous,
            tenant_id: None,
            tenant_seq: None,
            plugins_rev: None,
        });
    };
    let Some(token) = authz
        .strip_prefix("Bearer ")
        .or_else(|| authz.strip_prefix("bearer "))
    else {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "the Authorization header must be `Bearer <token>`",
        ));
    };
    auth::authenticate_keeping(
        state.content.reads(),
        token.trim(),
        Some(&state.known_tokens),
    )
    .await
    .map_err(|e| internal(&e))?
    .ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            "unknown, revoked or expired credential",
        )
    })
}

/// The tenant named by `X-Tenant` or served at `Host`, if any.
pub async fn named_tenant(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<TenantCtx>, ApiError> {
    let db = &state.db;
    if let Some(slug) = header(headers, "x-tenant") {
        return match state.tenants.by_slug(db, slug).await {
            Ok(tenant) => Ok(Some(tenant)),
            Err(tenancy::TenancyError::Unknown(_)) => Err(ApiError::new(
                ErrorCode::UnknownTenant,
                format!(
                    "unknown tenant `{}`",
                    slug.chars().take(100).collect::<String>()
                ),
            )),
            Err(e) => Err(internal(&e)),
        };
    }
    if let Some(host) = header(headers, "host") {
        let name = host
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        return state
            .tenants
            .by_domain(db, &name.to_ascii_lowercase())
            .await
            .map_err(|e| internal(&e));
    }
    Ok(None)
}

/// Resolves the request context from the headers.
pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<RequestContext, ApiError> {
    let who = authenticate(state, headers).await?;
    context_for(state, headers, who).await
}

/// The context of a read-only request whose API token this node knows, before the token is
/// checked: the check travels with the request's first read (`auth::KnownTokens::defer`), and
/// the caller must settle it before answering. `None` when the request needs the check first
/// (no token, a session, a token this node has not checked yet).
pub async fn resolve_deferred(
    state: &AppState,
    headers: &HeaderMap,
) -> Option<Result<(RequestContext, auth::Deferred), ApiError>> {
    if header(headers, "x-tenant").is_some() {
        // A mismatch is refused and audited only for a credential checked first.
        return None;
    }
    let authz = header(headers, "authorization")?;
    let token = authz
        .strip_prefix("Bearer ")
        .or_else(|| authz.strip_prefix("bearer "))?;
    let deferred = state.known_tokens.defer(token.trim())?;
    let who = auth::Authenticated {
        principal: Principal::Token {
            id: deferred.token_id().to_owned(),
            kind: deferred.kind(),
        },
        tenant_id: Some(deferred.tenant_id().to_owned()),
        tenant_seq: None,
        plugins_rev: None,
    };
    Some(
        context_for(state, headers, who)
            .await
            .map(|ctx| (ctx, deferred)),
    )
}

/// The request context of a checked credential.
async fn context_for(
    state: &AppState,
    headers: &HeaderMap,
    who: auth::Authenticated,
) -> Result<RequestContext, ApiError> {
    if let Some(tenant_id) = &who.tenant_id {
        let tenant = state
            .tenants
            .by_id(&state.db, tenant_id)
            .await
            .map_err(|e| internal(&e))?;
        if let Some(slug) = header(headers, "x-tenant")
            && slug != tenant.slug()
        {
            // A credential aimed at another tenant: a security event of its own tenant.
            let actor = who.principal.audit_actor();
            let event = crate::audit::Event::new(Some(&tenant), &actor, "access.denied").target(
                format!("X-Tenant {}", slug.chars().take(100).collect::<String>()),
            );
            state.refusals.record(event).await;
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "the credential does not belong to the tenant named by X-Tenant",
            ));
        }
        return Ok(RequestContext {
            tenant: tenant.with_plugins_rev(who.plugins_rev),
            principal: who.principal,
            tenant_seq: who.tenant_seq,
        });
    }
    match named_tenant(state, headers).await? {
        Some(tenant) => Ok(RequestContext {
            tenant,
            principal: who.principal,
            tenant_seq: None,
        }),
        None => Err(ApiError::new(
            ErrorCode::UnknownTenant,
            "no tenant: send a token, an X-Tenant header, or use a tenant's domain",
        )),
    }
}

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(ctx) = parts.extensions.get::<RequestContext>() {
            return Ok(ctx.clone());
        }
        let ctx = resolve(state, &parts.headers).await?;
        parts.extensions.insert(ctx.clone());
        if let Some(slot) = parts.extensions.get::<ContextSlot>() {
            slot.fill(&ctx);
        }
        Ok(ctx)
    }
}

/// A place for the request context that outlives the handler, so a middleware can see who
/// made a request after answering it (the audit of refusals).
#[derive(Debug, Clone, Default)]
pub struct ContextSlot(std::sync::Arc<std::sync::Mutex<Option<RequestContext>>>);

impl ContextSlot {
    fn fill(&self, ctx: &RequestContext) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(ctx.clone());
        }
    }
    pub fn take(&self) -> Option<RequestContext> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

/// The checked credential of a request that needs no tenant.
#[derive(Debug, Clone)]
pub struct Caller(pub auth::Authenticated);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Caller(authenticate(state, &parts.headers).await?))
    }
}

/// The client's address (the TCP peer), for throttling and the audit log.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
        ))
    }
}

/// The context of an admin API request: like [`RequestContext`], but a credential is required
/// (401 without one, before any tenant lookup). Anonymous reads are for content delivery over
/// GraphQL, not for the admin API.
#[derive(Debug, Clone)]
pub struct AdminContext(pub RequestContext);

impl FromRequestParts<AppState> for AdminContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if header(&parts.headers, "authorization").is_none() {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "the admin API needs a credential: Authorization: Bearer …",
            ));
        }
        Ok(AdminContext(
            RequestContext::from_request_parts(parts, state).await?,
        ))
    }
}
