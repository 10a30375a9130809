//! Prometheus metrics (`GET /metrics`, OpenMetrics text): request counts and latency
//! histograms per route, method, status and GraphQL operation type, and the outbox backlog of
//! the search indexer and the `after-publish` runner per tenant (read from the database at
//! scrape time, so every node reports the same numbers).
//!
//! The registry belongs to the application state, not to the process, so that several servers
//! in one process (the test suites) keep their counts apart.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;
use crate::store::outbox;

/// The GraphQL operation type of a response, set by the GraphQL handler as a response
/// extension so that the request metrics can be labelled with it.
#[derive(Debug, Clone, Copy)]
pub struct GraphqlOperation(pub &'static str);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
    /// `query`, `mutation`, `subscription` on GraphQL routes; empty elsewhere.
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    /// `carried` (with the request's first read) or `alone` (a statement of its own after it).
    how: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnswerLabels {
    /// `direct` (a plain page, `graphql::direct`) or `executor`.
    by: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BacklogLabels {
    consumer: String,
    tenant: String,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms … about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The application's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    backlog: Family<BacklogLabels, Gauge>,
    deferred_checks: Family<CheckLabels, Counter>,
    graphql_answers: Family<AnswerLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("zellige");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let backlog = Family::<BacklogLabels, Gauge>::default();
        let deferred_checks = Family::<CheckLabels, Counter>::default();
        let graphql_answers = Family::<AnswerLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (until the response head)",
            latency.clone(),
        );
        registry.register(
            "outbox_backlog_events",
            "Outbox events a consumer has not applied yet, per tenant",
            backlog.clone(),
        );
        registry.register(
            "deferred_token_checks",
            "Token checks of queries that ran before them (auth.known_tokens), by how they were answered",
            deferred_checks.clone(),
        );
        registry.register(
            "graphql_answers",
            "GraphQL answers over HTTP, by what built them: direct (a plain page) or the executor",
            graphql_answers.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            backlog,
            deferred_checks,
            graphql_answers,
        }
    }
}

impl Metrics {
    /// Counts a deferred token check: answered by the read that `carried` it, or alone.
    pub fn deferred_check(&self, carried: bool) {
        let how = if carried { "carried" } else { "alone" };
        self.deferred_checks
            .get_or_create(&CheckLabels { how })
            .inc();
    }

    /// Counts a GraphQL answer by what built it: `direct` (`graphql::direct`) or the executor.
    pub fn graphql_answer(&self, direct: bool) {
        let by = if direct { "direct" } else { "executor" };
        self.graphql_answers
            .get_or_create(&AnswerLabels { by })
            .inc();
    }

    fn observe(&self, labels: RequestLabels, seconds: f64) {
        self.latency.get_or_create(&labels).observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }
}

/// Counts and times every request; the route is the matched path (`/admin/api/v1/…/{id}`),
/// never the raw URI, so the label set stays bounded.
pub async fn track(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = matched.map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    let operation = response
        .extensions()
        .get::<GraphqlOperation>()
        .map_or("", |o| o.0)
        .to_owned();
    state.metrics.observe(
        RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
            operation,
        },
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Per tenant: (slug, events the search indexer has not applied). Used by `/readyz` too.
pub async fn search_backlog(state: &AppState) -> Result<Vec<(String, i64)>, sea_orm::DbErr> {
    Ok(outbox::backlogs(&state.db, state.search.consumer())
        .await?
        .into_iter()
        .map(|(slug, latest, position)| (slug, (latest - position).max(0)))
        .collect())
}

/// Compares digests byte by byte without stopping early, so the time taken says nothing about
/// how much of the token was right.
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// `GET /metrics`. When `metrics_token` is configured, only `Authorization: Bearer <token>`
/// reads it.
pub async fn endpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same_secret(g, token.expose())) {
            return (StatusCode::UNAUTHORIZED, "a metrics token is required\n").into_response();
        }
    }
    let metrics: &Arc<Metrics> = &state.metrics;
    metrics.backlog.clear();
    let consumers = [
        state.search.consumer().to_owned(),
        crate::plugins::worker::CONSUMER.to_owned(),
    ];
    for consumer in consumers {
        match outbox::backlogs(&state.db, &consumer).await {
            Ok(rows) => {
                for (slug, latest, position) in rows {
                    metrics
                        .backlog
                        .get_or_create(&BacklogLabels {
                            consumer: consumer.clone(),
                            tenant: slug,
                        })
                        .set((latest - position).max(0));
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics: reading the outbox backlog"),
        }
    }
    let mut body = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut body, &metrics.registry) {
        tracing::error!(error = %e, "encoding metrics");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
