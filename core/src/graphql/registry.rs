//! Built schemas, per tenant, keyed by the tenant's schema version. A request that sees a newer
//! version than the cached one rebuilds (other tenants are untouched); since the version lives
//! in the database row every node converges without a restart.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::builder::{GraphqlLimits, build_schema};
use super::checks::GatedSchema;
use super::documents::{Checked, Documents};
use crate::content::{Content, ContentError};
use crate::tenancy::TenantCtx;

/// tenant id → (schema version, schema).
type Schemas = HashMap<String, (i64, Arc<GatedSchema>)>;

#[derive(Clone)]
pub struct SchemaRegistry {
    schemas: Arc<RwLock<Schemas>>,
    /// One build at a time: a burst of first requests (after a start or a type change) builds
    /// a tenant's schema once instead of once per request.
    building: Arc<tokio::sync::Mutex<()>>,
    limits: GraphqlLimits,
    /// Query texts parsed and checked against `limits`.
    documents: Documents,
}

impl SchemaRegistry {
    /// `document_cache_bytes`: see `graphql::documents`.
    pub fn new(limits: GraphqlLimits, document_cache_bytes: u64) -> Self {
        SchemaRegistry {
            schemas: Arc::default(),
            building: Arc::default(),
            limits,
            documents: Documents::new(document_cache_bytes),
        }
    }

    fn cached(&self, ctx: &TenantCtx) -> Option<Arc<GatedSchema>> {
        let map = self.schemas.read().ok()?;
        let (version, schema) = map.get(ctx.id())?;
        (*version >= ctx.schema_version()).then(|| schema.clone())
    }

    /// A query text parsed and checked against the limits (`checks::check`), parsed once while
    /// its document stays cached.
    pub fn check(&self, query: &str) -> Checked {
        self.documents.check(query, &self.limits)
    }

    /// The tenant's schema at its current version.
    pub async fn get(
        &self,
        content: &Content,
        ctx: &TenantCtx,
    ) -> Result<Arc<GatedSchema>, ContentError> {
        if let Some(schema) = self.cached(ctx) {
            return Ok(schema);
        }
        let _building = self.building.lock().await;
        if let Some(schema) = self.cached(ctx) {
            return Ok(schema);
        }
        let model = content.model(ctx).await?;
        let schema = Arc::new(build_schema(&model, &self.limits).map_err(|e| {
            sea_orm::DbErr::Custom(format!("schema of tenant {}: {e}", ctx.slug()))
        })?);
        if let Ok(mut map) = self.schemas.write() {
            map.insert(ctx.id().to_owned(), (ctx.schema_version(), schema.clone()));
        }
        Ok(schema)
    }
}
