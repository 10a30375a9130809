//! `/search`: full-text search over the tenant's published entries for the admin UI's lists,
//! through the same search service (and permission checks per type) as GraphQL `search`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppJson, AppQuery, AppState, page_size};
use crate::access::{self, Action};
use crate::error::ErrorCode;
use crate::http::context::AdminContext;
use crate::http::error::ApiError;
use crate::search::SearchRequest;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The words to find, as a reader types them (Arabic or French): at most
    /// `limits.search_query_chars` characters (200) and `limits.search_words` words (10).
    pub q: String,
    /// One content type; default: every type the caller may read.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub entry_type: Option<String>,
    /// The locale to search in; default: the tenant's default locale.
    pub locale: Option<String>,
    /// How many hits, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub first: Option<u64>,
}

/// One matching published entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitBody {
    pub id: String,
    #[serde(rename = "type")]
    pub entry_type: String,
    pub title: String,
    pub score: f32,
}

/// The best matches, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAnswer {
    pub total: u64,
    pub hits: Vec<SearchHitBody>,
}

/// Search the tenant's published entries.
#[utoipa::path(get, path = "/search", tag = "entries", params(SearchParams),
    responses((status = 200, description = "Matches, best first", body = SearchAnswer)))]
async fn search(
    State(state): State<AppState>,
    AdminContext(ctx): AdminContext,
    AppQuery(p): AppQuery<SearchParams>,
) -> Result<AppJson<SearchAnswer>, ApiError> {
    let limits = &state.config.limits;
    let (terms, prefix) =
        crate::search::bounded_query_terms(&p.q, limits.search_words, limits.search_query_chars)
            .map_err(|e| ApiError::invalid("q", e.rule, e.message))?;
    let limit = page_size(p.first, state.config.limits.page_size_max)?;
    let model = state.content.model(&ctx.tenant).await?;
    let readable = |name: &str| {
        access::check_content(
            ctx.tenant.anonymous_read(),
            ctx.tenant.narrowing(),
            &ctx.principal,
            name,
            Action::Read,
        )
    };
    let types = match &p.entry_type {
        Some(t) => {
            if model.get(t).is_err() {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!(
                        "content type `{}` not found",
                        t.chars().take(100).collect::<String>()
                    ),
                ));
            }
            readable(t)?;
            vec![t.clone()]
        }
        None => model
            .types
            .iter()
            .filter(|ct| readable(&ct.name).is_ok())
            .map(|ct| ct.name.clone())
            .collect(),
    };
    let locale = p
        .locale
        .filter(|l| ctx.tenant.locales().contains(l))
        .unwrap_or_else(|| ctx.tenant.default_locale().to_owned());
    if (terms.is_empty() && prefix.is_none()) || types.is_empty() {
        return Ok(AppJson(SearchAnswer {
            total: 0,
            hits: Vec::new(),
        }));
    }
    let results = state
        .search
        .backend()
        .search(
            ctx.tenant.id(),
            SearchRequest {
                terms,
                prefix,
                types,
                locale,
                filter: None,
                facets: Vec::new(),
                offset: 0,
                limit: usize::try_from(limit).unwrap_or(20),
            },
        )
        .await
        .map_err(|e| match e.code() {
            ErrorCode::Internal => {
                tracing::error!(error = %e, "admin search");
                ApiError::new(ErrorCode::Internal, "internal error")
            }
            code => ApiError::new(code, e.to_string()),
        })?;
    Ok(AppJson(SearchAnswer {
        total: results.total as u64,
        hits: results
            .hits
            .into_iter()
            .map(|h| SearchHitBody {
                id: h.entry_id,
                entry_type: h.entry_type,
                title: h.title,
                score: h.score,
            })
            .collect(),
    }))
}
