//! The admin REST API under `/admin/api/v1` (SPEC §4), described by the OpenAPI 3.1 document
//! served at `/admin/api/openapi.json` and kept in `admin-spec/openapi.json`.
//!
//! Routes and document come from one source: each handler carries its `#[utoipa::path]`, and
//! `utoipa_axum` registers the route and its description together, so neither can exist
//! without the other. Error answers are added to every operation in one place ([`ErrorDocs`]).
//!
//! Handlers only translate: they take the request context, call `access` for the permission
//! check, then `auth`, `tenancy` or `content`, and map errors through `ApiError`.

mod audit_log;
mod auth;
mod content_types;
mod entries;
pub(crate) mod media;
mod plugins;
mod search;
mod settings;
mod tenants;
mod tokens;
mod users;
mod webhooks;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, Response, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::context::RequestContext;
use super::error::ApiError;
use crate::error::ErrorCode;

/// Where the admin API is mounted.
pub const BASE: &str = "/admin/api/v1";

/// The admin routes with their OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(base_document())
        .merge(auth::router())
        .merge(tenants::router())
        .merge(content_types::router())
        .merge(entries::router())
        .merge(users::router())
        .merge(tokens::router())
        .merge(settings::router())
        .merge(audit_log::router())
        .merge(plugins::router())
        .merge(search::router())
        .merge(webhooks::router())
        .merge(media::router())
}

/// The admin API's OpenAPI document, as served and as kept in `admin-spec/`.
pub fn openapi() -> OpenApi {
    let (_, doc) = OpenApiRouter::<AppState>::new()
        .nest(BASE, router())
        .split_for_parts();
    finish(doc)
}

/// Splits the router into the axum router (mounted under [`BASE`]) and its document.
pub fn split() -> (axum::Router<AppState>, OpenApi) {
    let (router, doc) = OpenApiRouter::<AppState>::new()
        .nest(BASE, router())
        .split_for_parts();
    (router, finish(doc))
}

fn base_document() -> OpenApi {
    use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder};
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Zellige admin API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Manage a tenant's content, content types, users, API tokens, settings and \
                     audit log; operators manage tenants.\n\n\
                     Authenticate with `Authorization: Bearer TOKEN`: an API token (`zlg_…`) or a \
                     session token from `POST /auth/login` (`zls_…`). The tenant is the \
                     credential's; `X-Tenant: SLUG` or a tenant domain as `Host` selects it for \
                     login. Errors are `{code, message, fields}` with the codes shared with \
                     GraphQL's `extensions.code`.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(
                        HttpBuilder::new()
                            .scheme(HttpAuthScheme::Bearer)
                            .description(Some("An API token (zlg_…) or a session token (zls_…)"))
                            .build(),
                    ),
                )
                .build(),
        ))
        .security(Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]))
        .build()
}

/// The error answers operations may give (which ones each can: [`documents`]):
/// `(status, description, JSON body?)`. 408 and 413 come from the layers, without a body.
const ERRORS: [(&str, &str, bool); 9] = [
    (
        "400",
        "BAD_USER_INPUT (with `fields`) or UNKNOWN_TENANT",
        true,
    ),
    (
        "401",
        "UNAUTHENTICATED: no, unknown, revoked or expired credential",
        true,
    ),
    (
        "403",
        "FORBIDDEN: the credential may not do this, or belongs to another tenant",
        true,
    ),
    ("404", "NOT_FOUND", true),
    (
        "408",
        "The request took longer than the configured timeout",
        false,
    ),
    (
        "409",
        "CONFLICT: a stale `expectedVersion`, a duplicate, or a refused data loss",
        true,
    ),
    (
        "413",
        "The request body is larger than the configured limit",
        false,
    ),
    ("429", "RATE_LIMITED, with `Retry-After`", true),
    (
        "500",
        "INTERNAL: nothing is leaked; the log has the details",
        true,
    ),
];

/// Creations that can meet an existing name, e-mail, slug or version (409) without an id in
/// their path.
const CREATIONS_THAT_CONFLICT: [&str; 5] = [
    "/content-types",
    "/users",
    "/tenants",
    "/plugins",
    "/webhooks",
];

/// Whether an operation can answer `status`: every operation can be refused (400, 401, 403),
/// run out of time (408), get too large a body (413) or fail (500); only operations that name
/// something in their path (and the search, which names a type) can find nothing (404); only
/// writes that can meet another writer's data conflict (409); only login is rate limited
/// (429).
fn documents(path: &str, method: &str, status: &str) -> bool {
    let path = path.strip_prefix(BASE).unwrap_or(path);
    let names = path.contains('{') || path == "/search";
    match status {
        "404" => names,
        "409" => method != "get" && (path.contains('{') || CREATIONS_THAT_CONFLICT.contains(&path)),
        "429" => path == "/auth/login",
        _ => true,
    }
}

/// Adds to each operation the error answers it can give (as shared `components/responses`),
/// and the `ErrorBody` schema.
fn finish(mut doc: OpenApi) -> OpenApi {
    use utoipa::PartialSchema;
    use utoipa::openapi::{ContentBuilder, Ref};

    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ]
        .into_iter()
        .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
        {
            for (status, _, _) in ERRORS.iter().filter(|(s, _, _)| documents(path, method, s)) {
                op.responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| {
                        RefOr::Ref(Ref::new(format!("#/components/responses/E{status}")))
                    });
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    for (status, description, has_body) in ERRORS {
        let mut response = ResponseBuilder::new().description(description);
        if has_body {
            response = response.content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            );
        }
        let response: Response = response.build();
        components
            .responses
            .insert(format!("E{status}"), RefOr::T(response));
    }
    let schemas = [
        (
            "ErrorBody",
            <super::error::ErrorBody as PartialSchema>::schema(),
        ),
        ("ErrorCode", <ErrorCode as PartialSchema>::schema()),
        (
            "FieldError",
            <crate::error::FieldError as PartialSchema>::schema(),
        ),
        (
            "DataLoss",
            <crate::error::DataLoss as PartialSchema>::schema(),
        ),
    ];
    for (name, schema) in schemas {
        components.schemas.insert(name.to_owned(), schema);
    }
    doc
}

/// JSON body extractor whose rejections look like every other error.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for AppJson<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Query-string extractor with the same error shape.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct AppQuery<T>(pub T);

/// Path extractor with the same error shape.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct AppPath<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let rule = match &r {
            JsonRejection::MissingJsonContentType(_) => "contentType",
            JsonRejection::JsonSyntaxError(_) => "json",
            JsonRejection::JsonDataError(_) => "schema",
            _ => "body",
        };
        ApiError::invalid("body", rule, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::invalid("query", "schema", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::invalid("path", "schema", r.body_text())
    }
}

/// Records refusals (403) of authenticated tenant requests in the audit log as
/// `access.denied`, with the method and path that were refused.
pub async fn audit_refusals(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let slot = super::context::ContextSlot::default();
    req.extensions_mut().insert(slot.clone());
    let what = format!("{} {}", req.method(), req.uri().path());
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(a)| a.ip().to_string());
    let response = next.run(req).await;
    if response.status() == axum::http::StatusCode::FORBIDDEN
        && let Some(ctx) = slot.take()
    {
        let actor = ctx.principal.audit_actor();
        let event = crate::audit::Event::new(Some(&ctx.tenant), &actor, "access.denied")
            .target(what)
            .client(client);
        state.refusals.record(event).await;
    }
    response
}

/// The actor a write is attributed to.
fn actor(ctx: &RequestContext) -> String {
    ctx.principal.audit_actor()
}

/// A JSON body that may be absent (empty or whitespace): then the defaults.
pub(super) fn optional_body<T: Default + serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::invalid("body", "schema", e.to_string()))
    }
}

/// `first` of a page: 1 to 100.
fn page_size(first: Option<u64>, max: u64) -> Result<u64, ApiError> {
    match first {
        None => Ok(crate::content::entries::PAGE_DEFAULT.min(max)),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(
            "first",
            "range",
            format!("between 1 and {max}"),
        )),
    }
}

/// The meta-schema of content types, embedded so the document and the server agree.
const CONTENT_TYPE_SCHEMA: &str = include_str!("../../../../schema/content-type.schema.json");

/// The document as JSON, with the content-type meta-schema added as `ContentTypeDefinition`
/// (its `$defs` become `ContentTypeDefinition_*` components) and `ContentTypeList`.
pub fn openapi_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(openapi()).unwrap_or_default();
    let Ok(mut meta) = serde_json::from_str::<serde_json::Value>(CONTENT_TYPE_SCHEMA) else {
        return doc;
    };
    let defs = meta
        .as_object_mut()
        .and_then(|m| {
            for key in ["$schema", "$id"] {
                m.remove(key);
            }
            m.remove("$defs")
        })
        .unwrap_or_default();
    let rewrite = |v: &serde_json::Value| -> serde_json::Value {
        let text = v.to_string().replace(
            "\"#/$defs/",
            "\"#/components/schemas/ContentTypeDefinition_",
        );
        serde_json::from_str(&text).unwrap_or_default()
    };
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(serde_json::Value::as_object_mut)
    {
        schemas.insert("ContentTypeDefinition".to_owned(), rewrite(&meta));
        if let Some(defs) = defs.as_object() {
            for (name, def) in defs {
                schemas.insert(format!("ContentTypeDefinition_{name}"), rewrite(def));
            }
        }
        schemas.insert(
            "ContentTypeList".to_owned(),
            serde_json::json!({
                "type": "array",
                "items": { "$ref": "#/components/schemas/ContentTypeDefinition" }
            }),
        );
    }
    add_links(&mut doc);
    doc
}

/// OpenAPI links from each creating operation to the operations on what it created, so that
/// clients (and stateful testers) can follow them.
fn add_links(doc: &mut serde_json::Value) {
    let entry = serde_json::json!({ "type": "$request.path.type", "id": "$response.body#/id" });
    let id = serde_json::json!({ "id": "$response.body#/id" });
    let name = serde_json::json!({ "name": "$response.body#/name" });
    let sets = [
        (
            "/admin/api/v1/entries/{type}",
            &[
                "get_entry",
                "update_entry",
                "delete_entry",
                "publish_entry",
                "unpublish_entry",
                "list_versions",
            ][..],
            &entry,
        ),
        (
            "/admin/api/v1/users",
            &["get_user", "update_user", "delete_user"],
            &id,
        ),
        ("/admin/api/v1/tokens", &["revoke_token"], &id),
        (
            "/admin/api/v1/content-types",
            &["get_type", "update_type", "delete_type"],
            &name,
        ),
    ];
    for (path, targets, parameters) in sets {
        let pointer = format!(
            "/paths/{}/post/responses/201",
            path.replace('~', "~0").replace('/', "~1")
        );
        if let Some(response) = doc
            .pointer_mut(&pointer)
            .and_then(serde_json::Value::as_object_mut)
        {
            let links: serde_json::Map<String, serde_json::Value> = targets
                .iter()
                .map(|op| {
                    (
                        (*op).to_owned(),
                        serde_json::json!({ "operationId": op, "parameters": parameters }),
                    )
                })
                .collect();
            response.insert("links".to_owned(), serde_json::Value::Object(links));
        }
    }
}
