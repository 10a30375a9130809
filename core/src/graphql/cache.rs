//! The response cache for GraphQL queries.
//!
//! A query's answer depends on the tenant's data, its schema, its settings, who asks (what
//! they may read) and the request itself. The key holds all of these; the data part is the
//! tenant's outbox sequence, which every committed write advances inside its own transaction
//! (entries, imports, content types). The sequence is read from the database on every request
//! (with the token, in the same statement), so a write made through any node retires every
//! cached answer at once: there is no time-to-live and no cross-node message to lose. Only
//! queries without errors are kept; mutations and subscriptions never are.
//!
//! Concurrent misses of one key run the query once and share its answer (single flight), so
//! the many readers of a page that was just published do not all query the database.

use std::sync::Arc;

use axum::body::Bytes;

use crate::access::{Principal, Role};
use crate::tenancy::TenantCtx;

/// Everything a cached answer depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    tenant: String,
    schema_version: i64,
    settings: u64,
    event_seq: i64,
    /// What the principal may read: `anonymous`, a token kind, or a role.
    /// Who the answer is for: a token kind or a role, and for authors the account itself (they
    /// read their own drafts only, so two authors' answers differ).
    audience: std::borrow::Cow<'static, str>,
    query: Arc<str>,
    variables: String,
    operation: Option<String>,
}

impl Key {
    pub fn new(
        tenant: &TenantCtx,
        event_seq: i64,
        principal: &Principal,
        query: Arc<str>,
        variables: &serde_json::Value,
        operation: Option<&str>,
    ) -> Self {
        Key {
            tenant: tenant.id().to_owned(),
            schema_version: tenant.schema_version(),
            settings: tenant.settings_digest(),
            event_seq,
            audience: match principal {
                Principal::Anonymous => "anonymous".into(),
                Principal::Token { kind, .. } => kind.as_str().into(),
                Principal::User { role, id, .. } => match role {
                    Role::Admin => "role:admin".into(),
                    Role::Editor => "role:editor".into(),
                    Role::Author => format!("role:author:{id}").into(),
                    Role::Viewer => "role:viewer".into(),
                },
                Principal::Operator { .. } => "operator".into(),
            },
            query,
            variables: variables.to_string(),
            operation: operation.map(str::to_owned),
        }
    }

    fn weight(&self) -> usize {
        self.tenant.len() + self.query.len() + self.variables.len() + 64
    }
}

/// An answer that is not kept (it has errors), shared with the requests that waited for it.
#[derive(Debug, Clone)]
pub struct Uncached {
    pub status: u16,
    pub body: Bytes,
}

/// Cached answer bodies, bounded by total size.
#[derive(Clone)]
pub struct ResponseCache {
    inner: Option<moka::future::Cache<Key, Bytes>>,
    entry_max: usize,
}

impl ResponseCache {
    pub fn new(capacity_bytes: u64, entry_max: usize) -> Self {
        let inner = (capacity_bytes > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|k: &Key, v: &Bytes| {
                    u32::try_from(k.weight() + v.len()).unwrap_or(u32::MAX)
                })
                .build()
        });
        ResponseCache { inner, entry_max }
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The cached answer for `key`, or the answer of `run`, which runs once however many
    /// requests wait for the same key. `run` gives `Ok` for an answer to keep, `Err` for one
    /// to hand out without keeping.
    pub async fn get_or_run(
        &self,
        key: Key,
        run: impl Future<Output = Result<Bytes, Uncached>>,
    ) -> Result<Bytes, Uncached> {
        let Some(cache) = &self.inner else {
            return run.await;
        };
        let entry_max = self.entry_max;
        let shared = cache
            .try_get_with(key, async move {
                match run.await {
                    Ok(body) if body.len() > entry_max => Err(Uncached { status: 200, body }),
                    other => other,
                }
            })
            .await;
        shared.map_err(|e| (*e).clone())
    }
}
