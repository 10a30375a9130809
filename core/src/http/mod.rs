//! The HTTP surface: `app(state)` assembles routes and layers without binding; `serve` binds
//! and runs with graceful shutdown.

pub mod admin;
pub mod admin_ui;
pub mod assets;
pub mod context;
pub mod cookie;
pub mod error;
pub mod graphiql;
pub mod graphql;
pub mod media;
pub mod metrics;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::content::Content;
use crate::store::{Db, db};

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub content: Content,
    pub graphql: crate::graphql::registry::SchemaRegistry,
    pub tenants: crate::tenancy::TenantCache,
    pub login_limiter: crate::auth::LoginLimiter,
    /// The fixed facts of API tokens checked here (`auth::KnownTokens`).
    pub known_tokens: crate::auth::KnownTokens,
    pub graphql_cache: crate::graphql::cache::ResponseCache,
    /// The plugin host; `None` only when its engine could not start (logged at start).
    pub plugins: Option<crate::plugins::PluginHost>,
    /// Search: the embedded index under the data directory, or Meilisearch.
    pub search: crate::search::Search,
    pub metrics: Arc<metrics::Metrics>,
    pub webhooks: crate::webhooks::Webhooks,
    pub media: crate::media::Media,
    /// The outbox as a live feed for this node's subscriptions.
    pub feed: crate::graphql::feed::Feed,
    /// Refusals in the audit log, aggregated and bounded.
    pub refusals: crate::audit::Refusals,
    /// `config.media`, shared with every GraphQL request rather than copied into each.
    pub media_config: Arc<crate::config::MediaConfig>,
}

impl AppState {
    /// Fails only when the search backend or the webhook client cannot be set up (a directory
    /// or URL unusable, an `allow_private` entry that is not a network).
    pub fn new(config: Arc<Config>, db: Db) -> anyhow::Result<Self> {
        let reads = crate::store::Reads::for_config(&config, db.clone());
        let content = Content::new(db.clone(), &config.limits).with_reads(reads);
        let graphql = crate::graphql::registry::SchemaRegistry::new(
            config.graphql_limits(),
            config.limits.graphql_document_cache_bytes,
        );
        let login_limiter = crate::auth::LoginLimiter::new(&config.auth);
        let known_tokens = crate::auth::KnownTokens::new(config.auth.known_tokens);
        let graphql_cache = crate::graphql::cache::ResponseCache::new(
            config.limits.graphql_cache_bytes,
            config.limits.graphql_cache_entry_bytes,
        );
        let plugins = match crate::plugins::PluginHost::new(
            &config.plugins,
            &config.data_dir.join("plugin-cache"),
            db.clone(),
            content.clone(),
        ) {
            Ok(host) => Some(host),
            Err(e) => {
                tracing::error!(error = %e, "the plugin host could not start; widgets are unavailable");
                None
            }
        };
        let content = match &plugins {
            Some(host) => content.with_hooks(host.clone()),
            None => content,
        };
        let search = crate::search::Search::from_config(&config)?;
        let webhooks = crate::webhooks::Webhooks::new(content.clone(), &config.webhooks)?;
        let media =
            crate::media::Media::new(db.clone(), content.clone(), &config.media, &config.data_dir)?;
        let feed = crate::graphql::feed::Feed::new(
            db.clone(),
            Duration::from_millis(250),
            config.limits.subscriptions_per_tenant,
        );
        crate::auth::set_password_concurrency(config.auth.password_concurrency);
        crate::graphql::checks::set_introspection_concurrency(
            config.limits.graphql_introspection_concurrency,
        );
        let refusals = crate::audit::Refusals::new(
            db.clone(),
            Duration::from_secs(config.auth.refusal_window_secs.max(1)),
            config.auth.refusals_per_minute,
        );
        Ok(AppState {
            refusals,
            feed,
            media_config: Arc::new(config.media.clone()),
            config,
            db,
            content,
            graphql,
            tenants: Default::default(),
            login_limiter,
            known_tokens,
            graphql_cache,
            plugins,
            search,
            metrics: Arc::default(),
            webhooks,
            media,
        })
    }
}

pub fn app(state: AppState) -> Router {
    let (admin_routes, _) = admin::split();
    let admin_routes = admin_routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admin::audit_refusals,
        ))
        .route_layer(axum::middleware::from_fn(cookie::credentials));
    let document = std::sync::Arc::new(admin::openapi_json());
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::endpoint))
        .route(
            "/admin/api/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json((*document).clone()) }
            }),
        )
        .merge(graphql::router())
        .merge(media::router())
        .merge(admin_routes)
        .merge(admin_ui::router())
        // Per route (inside the router, so the matched path is known).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(
            tower::ServiceBuilder::new()
                // Credentials never reach logs, whatever the log level.
                .layer(
                    tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new([
                        axum::http::header::AUTHORIZATION,
                        axum::http::header::COOKIE,
                    ]),
                )
                .layer(TraceLayer::new_for_http())
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    body_limit,
                ))
                // `body_limit` is the one limit; axum's default (2 MB) would cut uploads short.
                .layer(axum::extract::DefaultBodyLimit::disable())
                .layer(CatchPanicLayer::new())
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    deadline,
                )),
        )
        .with_state(state)
}

/// Whether a request uploads a plugin component (a large body, compiled before the answer).
fn is_plugin_upload(req: &axum::extract::Request) -> bool {
    req.method() == axum::http::Method::POST
        && (req.uri().path() == "/admin/api/v1/plugins"
            || req.uri().path() == "/admin/api/v1/platform/plugins")
}

/// The request's time limit: `limits.request_timeout_ms`, except for plugin uploads, which
/// compile the component first (`plugins.install_timeout_ms`). Past it the answer is 408 and
/// the request's work is dropped.
async fn deadline(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let ms = if is_plugin_upload(&req) {
        state.config.plugins.install_timeout_ms
    } else {
        state.config.limits.request_timeout_ms
    };
    match tokio::time::timeout(Duration::from_millis(ms), next.run(req)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// The largest request body: `limits.request_body_bytes`, except for plugin uploads, which
/// carry a component (base64 in JSON) of up to `plugins.component_bytes`. Checked on
/// `Content-Length` and, for bodies without one, while reading (413 either way).
async fn body_limit(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let upload = is_plugin_upload(&req);
    let media =
        req.method() == axum::http::Method::POST && req.uri().path() == "/admin/api/v1/media";
    // Media uploads stream to storage and are cut at the tenant's limits by the media service,
    // which names the rule; this bound (the largest file plus room for a multipart envelope)
    // only stops what no tenant could store.
    let limit = if media {
        usize::try_from(state.config.media.max_file_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(1 << 20)
    } else if upload {
        state.config.plugins.component_bytes / 3 * 4 + 64 * 1024
    } else {
        state.config.limits.request_body_bytes
    }
    .max(state.config.limits.request_body_bytes);
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > limit) {
        return too_large(req.uri().path(), Some(n), limit);
    }
    let req = req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    next.run(req).await
}

/// The 413 answer, in the error shape of the API the request was for: a GraphQL error body on
/// `/graphql`, the admin API's error body elsewhere. `size` is the declared length, if any.
pub(crate) fn too_large(path: &str, size: Option<usize>, limit: usize) -> axum::response::Response {
    let message = match size {
        Some(n) => format!("the request body is {n} bytes; at most {limit} allowed"),
        None => format!("the request body is over {limit} bytes"),
    };
    let e = crate::http::error::ApiError::new(crate::error::ErrorCode::BadUserInput, message)
        .with_fields(vec![crate::error::FieldError::new(
            "body",
            "maxBytes",
            format!("at most {limit} bytes"),
        )]);
    let mut r = if path.starts_with("/graphql") {
        Json(e.graphql_body()).into_response()
    } else {
        e.into_response()
    };
    *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    r
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the database answers. Search is reported (backend, whether it answers, the
/// indexer's backlog per tenant) but does not make the node unready: content reads and writes
/// go on while search is down, and searches answer `SEARCH_UNAVAILABLE` meanwhile.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = db::ping(&state.db).await;
    let reachable = state.search.backend().reachable().await;
    let backlog: serde_json::Map<String, serde_json::Value> = if database {
        metrics::search_backlog(&state)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(slug, n)| (slug, n.into()))
            .collect()
    } else {
        Default::default()
    };
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = match (database, reachable) {
        (false, _) => "unavailable",
        (true, false) => "degraded",
        (true, true) => "ready",
    };
    (
        status,
        Json(serde_json::json!({
            "status": word,
            "database": database,
            "search": {
                "backend": state.search.backend().name(),
                "reachable": reachable,
                "backlog": backlog,
            },
        })),
    )
}

/// Runs the server on an already bound listener until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    // Background work that lives as long as the server: the search indexer, the scheduler of
    // publishes and unpublishes, webhook deliveries, the media sweep, retention, a new
    // database's first statistics, and the `after-publish` hook runner.
    let mut workers = vec![
        tokio::spawn(crate::search::worker::run(
            state.search.clone(),
            state.content.clone(),
            Duration::from_millis(state.config.search_interval_ms.max(10)),
            shutdown.clone(),
        )),
        tokio::spawn(crate::content::schedule::run(
            state.content.clone(),
            Duration::from_millis(state.config.schedule_interval_ms.max(10)),
            shutdown.clone(),
        )),
        tokio::spawn(crate::webhooks::worker::run(
            state.webhooks.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(crate::media::sweeper(
            state.media.clone(),
            Duration::from_secs(state.config.media.sweep_interval_secs.max(1)),
            shutdown.clone(),
        )),
        tokio::spawn(crate::retention::run(
            state.db.clone(),
            state.config.retention.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(crate::store::db::first_statistics(
            state.db.clone(),
            state.config.db.postgres_first_analyze_rows,
            shutdown.clone(),
        )),
    ];
    if let Some(host) = state.plugins.clone() {
        workers.push(tokio::spawn(crate::plugins::worker::run(
            host,
            Duration::from_millis(state.config.plugins.hooks_interval_ms.max(10)),
            shutdown.clone(),
        )));
    }
    let grace = Duration::from_millis(state.config.shutdown_grace_ms);
    // TCP_NODELAY: a streamed body (media files) goes out in several writes after the
    // headers; with Nagle's algorithm each keep-alive response then waited for the client's
    // delayed ACK (40 ms).
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
    });
    let served = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await;
    // The workers saw the same cancellation: each ends after the pass it is in, so that the
    // caller may close the database connections under none of them.
    if tokio::time::timeout(grace, futures::future::join_all(workers))
        .await
        .is_err()
    {
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "background workers still busy at shutdown"
        );
    }
    served
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
