//! The request context: which tenant, who is asking. Resolved once per request in SPEC order —
//! the bearer token's tenant; the `X-Tenant` header; the `Host` among the tenant's domains —
//! and refused when they disagree.

use axum::http::HeaderMap;

use super::AppState;
use super::error::ApiError;
use crate::auth;
use crate::error::ErrorCode;
use crate::graphql::Principal;
use crate::tenancy::{self, TenantCtx};

/// Tenant and principal of one request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub tenant: TenantCtx,
    pub principal: Principal,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Resolves the request context from the headers.
pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<RequestContext, ApiError> {
    let db = &state.db;
    let internal = |e: &dyn std::fmt::Debug| {
        tracing::error!(error = ?e, "resolving the request context");
        ApiError::new(ErrorCode::Internal, "internal error")
    };
    let x_tenant = header(headers, "x-tenant");
    if let Some(authz) = header(headers, "authorization") {
        let Some(token) = authz
            .strip_prefix("Bearer ")
            .or_else(|| authz.strip_prefix("bearer "))
        else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "the Authorization header must be `Bearer <token>`",
            ));
        };
        let principal = auth::authenticate_token(db, token.trim())
            .await
            .map_err(|e| internal(&e))?;
        let Some(p) = principal else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "unknown, revoked or expired token",
            ));
        };
        let tenant = state
            .tenants
            .by_id(db, &p.tenant_id)
            .await
            .map_err(|e| internal(&e))?;
        if let Some(slug) = x_tenant
            && slug != tenant.slug()
        {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "the token does not belong to the tenant named by X-Tenant",
            ));
        }
        return Ok(RequestContext {
            tenant,
            principal: Principal::Token {
                id: p.token_id,
                kind: p.kind,
            },
        });
    }
    if let Some(slug) = x_tenant {
        return match state.tenants.by_slug(db, slug).await {
            Ok(tenant) => Ok(RequestContext {
                tenant,
                principal: Principal::Anonymous,
            }),
            Err(tenancy::TenancyError::Unknown(_)) => Err(ApiError::new(
                ErrorCode::UnknownTenant,
                format!("unknown tenant `{slug}`"),
            )),
            Err(e) => Err(internal(&e)),
        };
    }
    if let Some(host) = header(headers, "host") {
        let name = host
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        if let Some(tenant) = state
            .tenants
            .by_domain(db, &name.to_ascii_lowercase())
            .await
            .map_err(|e| internal(&e))?
        {
            return Ok(RequestContext {
                tenant,
                principal: Principal::Anonymous,
            });
        }
    }
    Err(ApiError::new(
        ErrorCode::UnknownTenant,
        "no tenant: send a token, an X-Tenant header, or use a tenant's domain",
    ))
}
