//! The response cache for GraphQL queries.
//!
//! A query's answer depends on the tenant's data, its schema, its settings, who asks (what
//! they may read) and the request itself. The key holds all of these; the data part is the
//! tenant's outbox sequence, which every committed write advances inside its own transaction
//! (entries, imports, content types). The sequence is read from the database on every request
//! (with the token, in the same statement), so a write made through any node retires every
//! cached answer at once: there is no time-to-live and no cross-node message to lose. Only
//! queries without errors are kept; mutations and subscriptions never are.

use std::sync::Arc;

use axum::body::Bytes;

use crate::access::Principal;
use crate::tenancy::TenantCtx;

/// Everything a cached answer depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    tenant: String,
    schema_version: i64,
    settings: u64,
    event_seq: i64,
    /// What the principal may read: `anonymous`, a token kind, or a role.
    audience: &'static str,
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
                Principal::Anonymous => "anonymous",
                Principal::Token { kind, .. } => kind.as_str(),
                Principal::User { role, .. } => match role.as_str() {
                    "admin" => "role:admin",
                    "editor" => "role:editor",
                    "author" => "role:author",
                    _ => "role:viewer",
                },
                Principal::Operator { .. } => "operator",
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

/// Cached answer bodies, bounded by total size.
#[derive(Clone)]
pub struct ResponseCache {
    inner: Option<moka::sync::Cache<Key, Bytes>>,
    entry_max: usize,
}

impl ResponseCache {
    pub fn new(capacity_bytes: u64, entry_max: usize) -> Self {
        let inner = (capacity_bytes > 0).then(|| {
            moka::sync::Cache::builder()
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

    pub fn get(&self, key: &Key) -> Option<Bytes> {
        self.inner.as_ref()?.get(key)
    }

    pub fn put(&self, key: Key, body: Bytes) {
        if let Some(cache) = &self.inner
            && body.len() <= self.entry_max
        {
            cache.insert(key, body);
        }
    }
}
