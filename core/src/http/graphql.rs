//! `/graphql` over HTTP, following the GraphQL-over-HTTP spec: POST with JSON, GET for queries
//! (a mutation over GET is 405), `application/graphql-response+json` when the client accepts it
//! (request errors are then 4xx), plain `application/json` for legacy clients (always 200 once
//! the request is well-formed), GraphiQL for a browser GET.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::context::resolve;
use super::error::ApiError;
use crate::error::ErrorCode;
use async_graphql::parser::types::{ExecutableDocument, OperationType};

use crate::graphql::RequestCtx;
use crate::graphql::cache::{Key, Uncached};
use crate::graphql::documents::Checked;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .route("/graphql/ws", get(websocket))
        .route(
            "/graphql/assets/{digest}/{name}",
            get(super::graphiql::asset),
        )
}

/// Subscriptions over graphql-transport-ws (and the older graphql-ws). The tenant and token are
/// resolved from the upgrade request's headers, exactly as for queries.
async fn websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    protocol: async_graphql_axum::GraphQLProtocol,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    let ctx = match resolve(&state, &headers).await {
        Ok(ctx) => ctx,
        Err(e) => return e.into_response(),
    };
    let schema = match state.graphql.get(&state.content, &ctx.tenant).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = ?e, "building the GraphQL schema");
            return ApiError::new(ErrorCode::Internal, "internal error").into_response();
        }
    };
    let anonymous_read = ctx.tenant.anonymous_read();
    // The credential is checked again while subscriptions run: a revoked token, an ended
    // session or a disabled user ends them within `limits.subscription_recheck_ms`.
    let recheck: Option<crate::graphql::Recheck> = bearer(&headers).map(|secret| {
        let (reads, expected) = (state.content.reads().clone(), ctx.principal.clone());
        let check: crate::graphql::Recheck = std::sync::Arc::new(move || {
            let (reads, secret, expected) = (reads.clone(), secret.clone(), expected.clone());
            Box::pin(async move {
                match crate::auth::authenticate(&reads, &secret).await {
                    Ok(Some(who)) if who.principal == expected => Ok(()),
                    Ok(_) => Err(
                        "the credential was revoked, has expired or its user is disabled"
                            .to_owned(),
                    ),
                    // The database is briefly unreachable: the next check decides.
                    Err(e) => {
                        tracing::warn!(error = %e, "re-checking a subscription's credential");
                        Ok(())
                    }
                }
            })
        });
        check
    });
    let mut request_ctx = RequestCtx::new(
        ctx.tenant,
        ctx.principal,
        state.content.clone(),
        anonymous_read,
    );
    request_ctx.feed = Some(state.feed.clone());
    request_ctx.recheck = recheck;
    request_ctx.subscription_limits = crate::graphql::SubscriptionLimits {
        per_connection: state.config.limits.subscriptions_per_connection,
        recheck: std::time::Duration::from_millis(
            state.config.limits.subscription_recheck_ms.max(1),
        ),
    };
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let mut data = async_graphql::Data::default();
            data.insert(request_ctx);
            async_graphql_axum::GraphQLWebSocket::new(socket, (*schema).clone(), protocol)
                .with_data(data)
                .serve()
                .await;
        })
}

/// The secret of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let secret = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(secret.trim().to_owned())
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type of the answer, from the Accept header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    GraphqlResponse,
    Json,
}

fn negotiate(headers: &HeaderMap) -> Result<Media, Box<Response>> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Media::Json);
    };
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    if types.contains(&GRAPHQL_RESPONSE) {
        Ok(Media::GraphqlResponse)
    } else if types
        .iter()
        .any(|t| *t == JSON || *t == "application/*" || *t == "*/*")
    {
        Ok(Media::Json)
    } else {
        let refusal = (
            StatusCode::NOT_ACCEPTABLE,
            format!("accepts {GRAPHQL_RESPONSE} or {JSON}"),
        );
        Err(Box::new(refusal.into_response()))
    }
}

fn respond(media: Media, status: StatusCode, body: &serde_json::Value) -> Response {
    respond_bytes(
        media,
        status,
        Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
    )
}

fn respond_bytes(media: Media, status: StatusCode, body: Bytes) -> Response {
    let (status, ct) = match media {
        Media::GraphqlResponse => (status, GRAPHQL_RESPONSE),
        // Legacy clients get 200 for anything that reached GraphQL.
        Media::Json => (
            if status.is_server_error() {
                status
            } else {
                StatusCode::OK
            },
            "application/json; charset=utf-8",
        ),
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    response
}

fn request_error(media: Media, status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": ErrorCode::BadUserInput.as_str() } }] });
    let mut r = respond(media, status, &body);
    if media == Media::Json {
        *r.status_mut() = status;
    }
    r
}

#[derive(Debug, Deserialize)]
struct Params {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// A well-formed GraphQL request.
struct GqlRequest {
    query: String,
    operation_name: Option<String>,
    variables: serde_json::Value,
}

async fn get_graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if params.query.is_none() && wants_html {
        return super::graphiql::page();
    }
    let media = match negotiate(&headers) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let Some(query) = params.query else {
        return request_error(media, StatusCode::BAD_REQUEST, "missing `query` parameter");
    };
    let variables = match params
        .variables
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        None => serde_json::Value::Null,
        Some(Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Null))) => v,
        Some(_) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                "`variables` must be a JSON object",
            );
        }
    };
    if let Some(Err(_)) = params
        .extensions
        .as_deref()
        .map(serde_json::from_str::<serde_json::Map<String, serde_json::Value>>)
    {
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            "`extensions` must be a JSON object",
        );
    }
    let checked = state.graphql.check(&query);
    // Mutations only over POST.
    if let Ok(Some(doc)) = &checked
        && operation_type(doc, params.operation_name.as_deref()) == Some(OperationType::Mutation)
    {
        let mut r = request_error(media, StatusCode::METHOD_NOT_ALLOWED, "mutations need POST");
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    // On the heap: the execution's future is large, and axum's layers move the handler's
    // future several times before it first runs (about 1.5% of a request's CPU).
    Box::pin(execute(
        state,
        headers,
        media,
        checked,
        GqlRequest {
            query,
            operation_name: params.operation_name,
            variables,
        },
    ))
    .await
}

async fn post_graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let media = match negotiate(&headers) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let body = match body {
        Ok(b) => b,
        // A body without Content-Length cut at the limit while reading.
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return super::too_large("/graphql", None, state.config.limits.request_body_bytes);
        }
        Err(e) => return request_error(media, e.status(), &e.body_text()),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != JSON && mime != "application/graphql+json" {
        let mut r = request_error(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/json",
        );
        *r.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return r;
    }
    let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_slice::<serde_json::Value>(&body)
    else {
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        );
    };
    let query = match obj.remove("query") {
        Some(serde_json::Value::String(q)) => q,
        _ => return request_error(media, StatusCode::BAD_REQUEST, "`query` must be a string"),
    };
    let operation_name = match obj.remove("operationName") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                "`operationName` must be a string",
            );
        }
    };
    let variables = match obj.remove("variables") {
        None | Some(serde_json::Value::Null) => serde_json::Value::Null,
        Some(v @ serde_json::Value::Object(_)) => v,
        Some(_) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                "`variables` must be an object",
            );
        }
    };
    match obj.remove("extensions") {
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::Object(_)) => {}
        Some(_) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                "`extensions` must be an object",
            );
        }
    }
    let checked = state.graphql.check(&query);
    // On the heap: the execution's future is large, and axum's layers move the handler's
    // future several times before it first runs (about 1.5% of a request's CPU).
    Box::pin(execute(
        state,
        headers,
        media,
        checked,
        GqlRequest {
            query,
            operation_name,
            variables,
        },
    ))
    .await
}

fn api_error(media: Media, e: &ApiError) -> Response {
    let mut r = respond(media, e.status(), &e.graphql_body());
    // Tenant and credential errors are transport-level: the status holds for both media types.
    *r.status_mut() = e.status();
    r
}

/// Runs a request whose query text went through `SchemaRegistry::check` (`checked`).
async fn execute(
    state: AppState,
    headers: HeaderMap,
    media: Media,
    checked: Checked,
    req: GqlRequest,
) -> Response {
    let doc = match checked {
        Ok(doc) => doc,
        Err(message) => {
            let e = ApiError::new(ErrorCode::QueryTooComplex, message);
            let mut r = respond(media, StatusCode::BAD_REQUEST, &e.graphql_body());
            if media == Media::GraphqlResponse {
                *r.status_mut() = StatusCode::BAD_REQUEST;
            }
            return r;
        }
    };
    let is_query = doc
        .as_ref()
        .and_then(|d| operation_type(d, req.operation_name.as_deref()))
        == Some(OperationType::Query);
    // Without the response cache nothing needs the token's answer before the query runs (the
    // cache's key holds the tenant's sequence read with it), so on PostgreSQL a query of a
    // token this node knows runs at once and its first read brings the check along.
    let deferred =
        if is_query && !state.graphql_cache.enabled() && state.content.reads().carries_checks() {
            super::context::resolve_deferred(&state, &headers).await
        } else {
            None
        };
    let (ctx, deferred) = match deferred {
        Some(Ok((ctx, deferred))) => (ctx, Some(deferred)),
        Some(Err(e)) => return api_error(media, &e),
        None => match resolve(&state, &headers).await {
            Ok(ctx) => (ctx, None),
            Err(e) => return api_error(media, &e),
        },
    };
    // Queries (not mutations) are answered from the response cache when nothing the answer
    // depends on has changed; see `graphql::cache`.
    let cache_key = match &doc {
        Some(doc)
            if state.graphql_cache.enabled()
                && operation_type(doc, req.operation_name.as_deref())
                    == Some(OperationType::Query) =>
        {
            let seq = match ctx.tenant_seq {
                Some(seq) => Some(seq),
                None => crate::store::tenants::event_seq(&state.db, ctx.tenant.id())
                    .await
                    .ok()
                    .flatten(),
            };
            seq.map(|seq| {
                Key::new(
                    &ctx.tenant,
                    seq,
                    &ctx.principal,
                    std::sync::Arc::from(req.query.as_str()),
                    &req.variables,
                    req.operation_name.as_deref(),
                )
            })
        }
        _ => None,
    };
    let operation = doc
        .as_ref()
        .and_then(|d| operation_type(d, req.operation_name.as_deref()))
        .map(|op| match op {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        });
    let content = match &deferred {
        Some(d) => state
            .content
            .clone()
            .with_reads(state.content.reads().with_check(d.check.clone())),
        None => state.content.clone(),
    };
    let run = run_query(state.clone(), ctx, content, doc, req);
    let (status, body) = match cache_key {
        Some(key) => match state.graphql_cache.get_or_run(key, run).await {
            Ok(body) => (StatusCode::OK, body),
            Err(Uncached { status, body }) => {
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body)
            }
        },
        None => match run.await {
            Ok(body) => (StatusCode::OK, body),
            Err(Uncached { status, body }) => {
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body)
            }
        },
    };
    if let Some(deferred) = &deferred {
        state
            .metrics
            .deferred_check(deferred.check.outcome().is_some());
        match state
            .known_tokens
            .settle(state.content.reads(), deferred)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                let e = ApiError::new(
                    ErrorCode::Unauthenticated,
                    "unknown, revoked or expired credential",
                );
                return api_error(media, &e);
            }
            Err(e) => {
                tracing::error!(error = ?e, "checking a credential");
                let e = ApiError::new(ErrorCode::Internal, "internal error");
                return api_error(media, &e);
            }
        }
    }
    let mut response = respond_bytes(media, status, body);
    if let Some(op) = operation {
        response
            .extensions_mut()
            .insert(super::metrics::GraphqlOperation(op));
    }
    response
}

/// Runs a request against the tenant's schema: `Ok` with the body of an answer without errors
/// (which may be cached), `Err` with status and body otherwise.
async fn run_query(
    state: AppState,
    ctx: super::context::RequestContext,
    content: crate::content::Content,
    doc: Option<Arc<ExecutableDocument>>,
    req: GqlRequest,
) -> Result<Bytes, Uncached> {
    let uncached = |status: StatusCode, body: &serde_json::Value| Uncached {
        status: status.as_u16(),
        body: Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
    };
    let schema = match state.graphql.get(&state.content, &ctx.tenant).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = ?e, tenant = ctx.tenant.slug(), "building the GraphQL schema");
            let e = ApiError::new(ErrorCode::Internal, "internal error");
            return Err(uncached(e.status(), &e.graphql_body()));
        }
    };
    let anonymous_read = ctx.tenant.anonymous_read();
    let mut rc = RequestCtx::new(ctx.tenant, ctx.principal, content, anonymous_read);
    rc.plugins = state.plugins.clone();
    rc.search = Some(state.search.clone());
    rc.media_config = state.media_config.clone();
    rc.event_seq = ctx.tenant_seq;
    let uncacheable = rc.uncacheable.clone();
    let direct = rc.direct.clone();
    let mut request = async_graphql::Request::new(req.query)
        .variables(async_graphql::Variables::from_json(req.variables))
        .data(rc);
    if let Some(op) = &req.operation_name {
        request = request.operation_name(op.clone());
    }
    // The executor collects a selection's fields as they complete; the answer follows the
    // selection (see `graphql::order`), which needs the document after execution.
    if let Some(doc) = &doc {
        request.set_parsed_query(ExecutableDocument::clone(doc));
    }
    let mut response = async_graphql::Executor::execute(&*schema, request).await;
    state
        .metrics
        .graphql_answer(direct.load(std::sync::atomic::Ordering::Relaxed));
    if let Some(doc) = &doc {
        crate::graphql::order::by_selection(doc, req.operation_name.as_deref(), &mut response.data);
    }
    // Every error carries a code. Resolver errors already have one; the executor's own (parse,
    // validation, limits) do not, and when only those are present nothing executed: a request
    // error, answered with 400 under the GraphQL-over-HTTP media type.
    // Nothing executed when every error comes from before execution: the executor's own
    // (parse, validation; they carry no code) or the cost gate's (`checks::GatedSchema`).
    let before_execution = |e: &async_graphql::ServerError| {
        e.path.is_empty()
            && e.extensions.as_ref().is_none_or(|x| {
                x.get("code").is_none_or(|c| {
                    *c == async_graphql::Value::from(ErrorCode::QueryTooComplex.as_str())
                })
            })
    };
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(before_execution);
    for err in &mut response.errors {
        let has_code = err
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if !has_code {
            let code = if err.message.contains("too deep") || err.message.contains("too complex") {
                ErrorCode::QueryTooComplex
            } else if err.path.is_empty() {
                ErrorCode::BadUserInput
            } else {
                ErrorCode::Internal
            };
            if code == ErrorCode::Internal {
                tracing::error!(message = %err.message, "GraphQL resolver error without a code");
                err.message = "internal error".into();
            }
            err.extensions
                .get_or_insert_with(Default::default)
                .set("code", code.as_str());
        }
    }
    if response.errors.is_empty() && !uncacheable.load(std::sync::atomic::Ordering::Relaxed) {
        // The common answer is written straight from the executor's value.
        return Ok(Bytes::from(
            serde_json::to_vec(&response).unwrap_or_default(),
        ));
    }
    let mut body = serde_json::to_value(&response).unwrap_or_default();
    if request_error && let Some(obj) = body.as_object_mut() {
        // Nothing executed: no `data` entry at all.
        obj.remove("data");
    }
    let status = if request_error && !response.errors.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Err(uncached(status, &body))
}

/// The type of the operation a request runs (`None` when the name does not pick one).
fn operation_type(doc: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    crate::graphql::order::operation(doc, name).map(|op| op.ty)
}
