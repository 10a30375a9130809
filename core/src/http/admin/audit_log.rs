//! `/audit`: tenant admins read the audit log, newest first.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppQuery, AppState, page_size};
use crate::access::{self, Admin};
use crate::audit::{self, AuditEntry};
use crate::http::context::AdminContext;
use crate::http::error::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub first: Option<u64>,
    /// The `nextCursor` of the previous page.
    pub after: Option<String>,
    /// Only actions starting with this, e.g. `auth.` or `entry.published`.
    pub action: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// The tenant's audit log: every write and security event.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditParams),
    responses((status = 200, description = "Events, newest first", body = AuditPage)))]
async fn list_audit(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppQuery(q): AppQuery<AuditParams>,
) -> Result<AppJson<AuditPage>, ApiError> {
    access::check_admin(&ctx.principal, Admin::Audit)?;
    let size = page_size(q.first, state.config.limits.page_size_max)?;
    let mut items = audit::list(
        &state.db,
        &ctx.tenant,
        q.after.as_deref(),
        q.action.as_deref(),
        size + 1,
    )
    .await?;
    let more = items.len() as u64 > size;
    items.truncate(size as usize);
    let next_cursor = if more {
        items.last().map(|e| e.id.clone())
    } else {
        None
    };
    Ok(AppJson(AuditPage { items, next_cursor }))
}
