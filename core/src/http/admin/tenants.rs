//! `/tenants`: platform operators create, list, read and delete tenants.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppPath, AppState};
use crate::access::{self, Role};
use crate::audit;
use crate::auth;
use crate::http::context::{Caller, ClientAddr};
use crate::http::error::ApiError;
use crate::tenancy::{self, NewTenant, TenantCtx};
use crate::time::to_rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, delete_tenant))
}

/// A tenant (one chamber).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantBody {
    pub slug: String,
    pub name: String,
    /// The first is the default locale.
    pub locales: Vec<String>,
    pub domains: Vec<String>,
    pub anonymous_read: bool,
    pub created_at: String,
}

impl From<&TenantCtx> for TenantBody {
    fn from(t: &TenantCtx) -> Self {
        TenantBody {
            slug: t.slug().to_owned(),
            name: t.name().to_owned(),
            locales: t.locales().to_vec(),
            domains: t.domains().to_vec(),
            anonymous_read: t.anonymous_read(),
            created_at: to_rfc3339(t.created_at()),
        }
    }
}

/// The first admin of a new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstAdmin {
    pub email: String,
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantBody {
    /// Lowercase ASCII letters, digits and inner dashes.
    #[schema(pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Default `["ar", "fr"]`; the first is the default locale.
    #[serde(default)]
    pub locales: Option<Vec<String>>,
    #[serde(default)]
    pub domains: Option<Vec<String>>,
    /// Creates this user with the `admin` role in the new tenant.
    #[serde(default)]
    pub admin: Option<FirstAdmin>,
}

/// All tenants.
#[utoipa::path(get, path = "/tenants", tag = "tenants",
    responses((status = 200, description = "Tenants by slug", body = Vec<TenantBody>)))]
async fn list_tenants(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<AppJson<Vec<TenantBody>>, ApiError> {
    access::check_operator(&who.principal)?;
    let tenants = tenancy::list(&state.db).await?;
    Ok(AppJson(tenants.iter().map(TenantBody::from).collect()))
}

/// Create a tenant with the built-in content types, and optionally its first admin.
#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = NewTenantBody,
    responses((status = 201, description = "Created", body = TenantBody)))]
async fn create_tenant(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(client): ClientAddr,
    AppJson(body): AppJson<NewTenantBody>,
) -> Result<(StatusCode, AppJson<TenantBody>), ApiError> {
    access::check_operator(&who.principal)?;
    let actor = who.principal.audit_actor();
    // The first admin is checked and its password hashed before the transaction opens; the
    // tenant, the admin and the audit rows then commit together or not at all.
    let admin = match body.admin {
        Some(admin) => Some(
            auth::prepare_user(auth::NewUser {
                email: admin.email,
                role: Role::Admin,
                password: admin.password,
            })
            .await
            .map_err(|e| prefix_fields(e.into(), "admin"))?,
        ),
        None => None,
    };
    let txn = crate::store::begin_platform_write(&state.db).await?;
    let ctx = tenancy::create_in(
        &txn,
        NewTenant {
            slug: body.slug,
            name: body.name,
            locales: body
                .locales
                .unwrap_or_else(|| vec!["ar".to_owned(), "fr".to_owned()]),
            domains: body.domains.unwrap_or_default(),
        },
        &state.config.platform_hosts,
    )
    .await?;
    if let Some(admin) = admin {
        auth::insert_user(&txn, &ctx, admin, &actor)
            .await
            .map_err(|e| prefix_fields(e.into(), "admin"))?;
    }
    audit::record(
        &txn,
        audit::Event::new(None, &actor, "tenant.created")
            .target(format!("tenant/{}", ctx.slug()))
            .client(client),
    )
    .await?;
    txn.commit().await?;
    let ctx = tenancy::by_slug(&state.db, ctx.slug()).await?;
    Ok((StatusCode::CREATED, AppJson(TenantBody::from(&ctx))))
}

fn prefix_fields(mut e: ApiError, prefix: &str) -> ApiError {
    for f in &mut e.fields {
        f.path = format!("{prefix}.{}", f.path);
    }
    e
}

/// One tenant.
#[utoipa::path(get, path = "/tenants/{slug}", tag = "tenants",
    params(("slug" = String, Path, description = "The tenant's slug")),
    responses((status = 200, description = "The tenant", body = TenantBody)))]
async fn get_tenant(
    State(state): State<AppState>,
    Caller(who): Caller,
    AppPath(slug): AppPath<String>,
) -> Result<AppJson<TenantBody>, ApiError> {
    access::check_operator(&who.principal)?;
    let ctx = tenancy::by_slug(&state.db, &slug).await?;
    Ok(AppJson(TenantBody::from(&ctx)))
}

/// Delete a tenant and all its data.
#[utoipa::path(delete, path = "/tenants/{slug}", tag = "tenants",
    params(("slug" = String, Path, description = "The tenant's slug")),
    responses((status = 204, description = "Deleted")))]
async fn delete_tenant(
    State(state): State<AppState>,
    Caller(who): Caller,
    ClientAddr(client): ClientAddr,
    AppPath(slug): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    access::check_operator(&who.principal)?;
    tenancy::delete(&state.db, &slug).await?;
    audit::record(
        &state.db,
        audit::Event::new(None, &who.principal.audit_actor(), "tenant.deleted")
            .target(format!("tenant/{slug}"))
            .client(client),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
