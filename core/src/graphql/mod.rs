//! GraphQL (SPEC §6): a schema per tenant, generated from its content types with
//! `async_graphql::dynamic`, cached per schema version, executed by the HTTP handler.
//!
//! Resolvers reach content only through the content service, with the tenant and principal of
//! the request (attached as request data, never schema data).

pub mod aggregate;
mod batch;
pub mod builder;
pub mod cache;
pub mod checks;
mod direct;
pub mod documents;
pub mod feed;
pub mod loader;
pub mod names;
pub mod order;
pub mod parse;
pub mod registry;
pub mod schedule;
pub mod search;
pub mod widgets;

use async_graphql::ErrorExtensions;

use crate::access::{self, Action};
use crate::content::{Content, ContentError};
use crate::error::{ErrorCode, FieldError};
use crate::store::entries::Stage;
use crate::tenancy::TenantCtx;

pub use crate::access::Principal;

/// Per-request data every resolver reads.
pub struct RequestCtx {
    pub tenant: TenantCtx,
    pub principal: Principal,
    pub content: Content,
    pub loader: async_graphql::dataloader::DataLoader<loader::EntryLoader>,
    pub media: async_graphql::dataloader::DataLoader<loader::MediaLoader>,
    /// Whether the tenant lets anonymous clients read published content.
    pub anonymous_read: bool,
    /// The plugin host, for `widget` and `widgets`.
    pub plugins: Option<crate::plugins::PluginHost>,
    /// The search service, for `search`.
    pub search: Option<crate::search::Search>,
    /// Bounds of image transforms, for `Media.url(…)`.
    pub media_config: std::sync::Arc<crate::config::MediaConfig>,
    /// The tenant's outbox sequence read with the request (keys widget answers that read
    /// entries), when known.
    pub event_seq: Option<i64>,
    /// Set by resolvers whose answer must not enter the response cache (widgets, which carry
    /// their own lifetime).
    pub uncacheable: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Set when the answer was built by `direct` rather than the executor (for the metrics).
    pub direct: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Subscriptions: the node's outbox feed, set on WebSocket connections.
    pub feed: Option<feed::Feed>,
    /// Subscriptions: checks that the connection's credential still holds (not revoked,
    /// expired or disabled); run every `subscriptions.recheck`.
    pub recheck: Option<Recheck>,
    /// Subscriptions open on this connection, and the limits that apply to them.
    pub subscriptions: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub subscription_limits: SubscriptionLimits,
}

/// Re-authenticates a connection's credential: `Err` with the reason once it no longer holds.
pub type Recheck = std::sync::Arc<
    dyn Fn() -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync,
>;

/// Bounds of subscriptions on one connection.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionLimits {
    pub per_connection: usize,
    pub recheck: std::time::Duration,
}

impl Default for SubscriptionLimits {
    fn default() -> Self {
        SubscriptionLimits {
            per_connection: 16,
            recheck: std::time::Duration::from_secs(2),
        }
    }
}

impl RequestCtx {
    pub fn new(
        tenant: TenantCtx,
        principal: Principal,
        content: Content,
        anonymous_read: bool,
    ) -> Self {
        let loader = async_graphql::dataloader::DataLoader::new(
            loader::EntryLoader {
                tenant: tenant.clone(),
                content: content.clone(),
            },
            tokio::spawn,
        );
        let media = async_graphql::dataloader::DataLoader::new(
            loader::MediaLoader {
                tenant: tenant.clone(),
                content: content.clone(),
            },
            tokio::spawn,
        );
        RequestCtx {
            tenant,
            principal,
            content,
            loader,
            media,
            anonymous_read,
            plugins: None,
            search: None,
            media_config: Default::default(),
            event_seq: None,
            uncacheable: Default::default(),
            direct: Default::default(),
            feed: None,
            recheck: None,
            subscriptions: Default::default(),
            subscription_limits: Default::default(),
        }
    }

    /// The one permission check (`access::check_content`) for an action on a type.
    pub fn authorize(&self, entry_type: &str, action: Action) -> Result<(), async_graphql::Error> {
        access::check_content(
            self.anonymous_read,
            self.tenant.narrowing(),
            &self.principal,
            entry_type,
            action,
        )
        .map(|_| ())
        .map_err(|d| coded(d.code, d.message))
    }

    /// Reading a stage of a type: drafts need `read-drafts`. `Some(account)` when the reader
    /// may see only the entries that account created (an author's drafts).
    pub fn authorize_read(
        &self,
        entry_type: &str,
        stage: Stage,
    ) -> Result<Option<String>, async_graphql::Error> {
        let action = match stage {
            Stage::Draft => Action::ReadDrafts,
            Stage::Published => Action::Read,
        };
        access::check_content(
            self.anonymous_read,
            self.tenant.narrowing(),
            &self.principal,
            entry_type,
            action,
        )
        .map(|scope| scope.owner(&self.principal))
        .map_err(|d| coded(d.code, d.message))
    }

    /// An action on one existing entry, with the authors' ownership rule.
    pub async fn authorize_entry(
        &self,
        entry_type: &str,
        action: Action,
        id: &str,
    ) -> Result<(), async_graphql::Error> {
        crate::auth::authorize_entry(
            &self.content,
            &self.tenant,
            &self.principal,
            entry_type,
            action,
            id,
        )
        .await
        .map_err(auth_error)
    }
}

/// The conversion from auth errors to GraphQL errors.
pub fn auth_error(e: crate::auth::AuthError) -> async_graphql::Error {
    match e {
        crate::auth::AuthError::Content(e) => content_error(e),
        e if e.code() == ErrorCode::Internal => {
            tracing::error!(error = ?e, "internal error in a GraphQL resolver");
            coded(ErrorCode::Internal, "internal error")
        }
        e => with_fields(coded(e.code(), e.to_string()), e.fields()),
    }
}

/// A GraphQL error with `extensions.code`.
pub fn coded(code: ErrorCode, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}

/// Field-level details as `extensions.fields`.
/// A resolver's answer computed without waiting: a value is handed over as is, and only an
/// error takes the boxed future that async-graphql's executor reads errors from (most fields
/// of a read are values of the entry at hand, and a boxed future each cost allocations).
pub(crate) fn ready<'a>(
    answer: impl FnOnce() -> async_graphql::Result<Option<async_graphql::dynamic::FieldValue<'a>>>,
) -> async_graphql::dynamic::FieldFuture<'a> {
    match answer() {
        Ok(value) => async_graphql::dynamic::FieldFuture::Value(value),
        Err(e) => async_graphql::dynamic::FieldFuture::new(async move {
            Err::<Option<async_graphql::dynamic::FieldValue<'a>>, _>(e)
        }),
    }
}

pub(crate) fn with_fields(
    err: async_graphql::Error,
    fields: &[FieldError],
) -> async_graphql::Error {
    if fields.is_empty() {
        return err;
    }
    // The same shape as the admin API's `fields` (with `loss` on a `dataLoss` refusal).
    let list = serde_json::to_value(fields)
        .ok()
        .and_then(|v| async_graphql::Value::from_json(v).ok())
        .unwrap_or(async_graphql::Value::Null);
    err.extend_with(|_, e| e.set("fields", list.clone()))
}

/// The one conversion from content errors to GraphQL errors.
pub fn content_error(e: ContentError) -> async_graphql::Error {
    let code = e.code();
    if code == ErrorCode::Internal {
        tracing::error!(error = ?e, "internal error in a GraphQL resolver");
        return coded(code, "internal error");
    }
    let message = match &e {
        ContentError::Invalid(fields) => {
            format!("invalid input: {}", crate::error::describe_fields(fields))
        }
        other => other.to_string(),
    };
    with_fields(coded(code, message), e.fields())
}
