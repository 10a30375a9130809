//! Content: content types, entries, drafts and versions, validation, slugs and localisation
//! (SPEC §5). The service functions here are the only way HTTP, GraphQL and the CLI change or
//! read content; each takes a [`TenantCtx`](crate::tenancy::TenantCtx) and goes to the store.

mod bulk;
mod compound;
pub mod entries;
pub mod filter;
mod group;
mod migrate;
pub mod model;
pub mod schedule;
pub mod slug;
pub mod transfer;
pub mod types;
pub mod values;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::error::{ErrorCode, FieldError};
use crate::store::Db;
use crate::tenancy::TenantCtx;

pub use entries::{
    BatchWrite, Cursor, Entry, EntryInput, Lookup, Page, PageArgs, Publication, Status,
};
pub use model::ContentType;

/// Errors of the content layer.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("unknown content type `{0}`")]
    UnknownType(String),
    #[error("invalid input: {}", crate::error::describe_fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        fields: Vec<FieldError>,
    },
    /// A plugin hook failed (`PLUGIN_ERROR`, `PLUGIN_TIMEOUT`, `PLUGIN_LIMIT`).
    #[error("{message}")]
    Plugin { code: ErrorCode, message: String },
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
}

impl ContentError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ContentError::UnknownType(_) | ContentError::Invalid(_) => ErrorCode::BadUserInput,
            ContentError::NotFound(_) => ErrorCode::NotFound,
            ContentError::Conflict { .. } => ErrorCode::Conflict,
            ContentError::Plugin { code, .. } => *code,
            ContentError::Db(_) => ErrorCode::Internal,
        }
    }

    /// The field-level details, if any.
    pub fn fields(&self) -> &[FieldError] {
        match self {
            ContentError::Invalid(f) | ContentError::Conflict { fields: f, .. } => f,
            _ => &[],
        }
    }

    pub(crate) fn invalid(path: &str, rule: &str, message: impl Into<String>) -> Self {
        ContentError::Invalid(vec![FieldError::new(path, rule, message)])
    }
}

/// Plugin failures as content errors: a hook's refusal is the entry's `BAD_USER_INPUT`.
fn plugin_error(e: crate::plugins::PluginError) -> ContentError {
    match e {
        crate::plugins::PluginError::Invalid(f) => ContentError::Invalid(f),
        crate::plugins::PluginError::Db(e) => ContentError::Db(e),
        other => ContentError::Plugin {
            code: other.code(),
            message: other.to_string(),
        },
    }
}

/// A tenant's content model: its locales and content types, as of one schema version.
#[derive(Debug)]
pub struct TenantModel {
    pub schema_version: i64,
    pub types: Vec<ContentType>,
}

impl TenantModel {
    pub fn get(&self, name: &str) -> Result<&ContentType, ContentError> {
        self.types
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ContentError::UnknownType(name.to_owned()))
    }
}

/// The content service: a database handle, the value limits and a cache of tenant models keyed
/// by schema version (a tenant whose version moved on is reloaded on its next request).
#[derive(Clone)]
pub struct Content {
    db: Db,
    /// Where reads outside write transactions run (`store::reads`).
    reads: crate::store::Reads,
    limits: values::ValueLimits,
    page_max: u64,
    entry_bytes: usize,
    import_batch: usize,
    batch_max: usize,
    models: Arc<RwLock<HashMap<String, Arc<TenantModel>>>>,
    /// Runs the tenant's `before-save` plugin hooks; absent where no plugin host runs (CLI
    /// imports, tests of the store).
    hooks: Option<crate::plugins::PluginHost>,
    /// Single entry writes waiting for their tenant's next group commit (`group`).
    groups: Arc<group::Groups>,
}

impl Content {
    pub fn new(db: Db, limits: &crate::config::Limits) -> Self {
        Content {
            reads: crate::store::Reads::pool(db.clone()),
            db,
            limits: values::ValueLimits {
                many_items: limits.many_items,
                ..Default::default()
            },
            page_max: limits.page_size_max,
            entry_bytes: limits.entry_bytes,
            import_batch: limits.import_batch.max(1),
            batch_max: limits.write_batch_max,
            models: Arc::default(),
            hooks: None,
            groups: Arc::default(),
        }
    }

    /// The same service, reading through `reads` outside write transactions.
    pub fn with_reads(mut self, reads: crate::store::Reads) -> Self {
        self.reads = reads;
        self
    }

    pub fn reads(&self) -> &crate::store::Reads {
        &self.reads
    }

    /// The same service, running the tenant's `before-save` plugin hooks on every create and
    /// update (before the write transaction opens).
    pub fn with_hooks(mut self, host: crate::plugins::PluginHost) -> Self {
        self.hooks = Some(host);
        self
    }

    /// The tenant's `before-save` plugins, looked up once per write; `None` when there are
    /// none (or no plugin host), so a write without hooks does no extra work.
    pub(crate) async fn before_save_plugins(
        &self,
        ctx: &TenantCtx,
    ) -> Result<Option<Vec<crate::plugins::registry::Enabled>>, ContentError> {
        let Some(host) = &self.hooks else {
            return Ok(None);
        };
        let hooked = host.before_save_plugins(ctx).await.map_err(plugin_error)?;
        Ok((!hooked.is_empty()).then_some(hooked))
    }

    /// Passes an entry's data through `hooked` (from [`Self::before_save_plugins`]).
    pub(crate) async fn before_save(
        &self,
        ctx: &TenantCtx,
        hooked: Vec<crate::plugins::registry::Enabled>,
        entry_type: &str,
        id: Option<&str>,
        data: serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, ContentError> {
        let Some(host) = &self.hooks else {
            return Ok(data);
        };
        host.before_save(ctx, hooked, entry_type, id, data)
            .await
            .map_err(plugin_error)
    }

    /// Entries per import transaction.
    pub fn import_batch_size(&self) -> usize {
        self.import_batch
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The tenant's content model, from the cache when its schema version is current.
    pub async fn model(&self, ctx: &TenantCtx) -> Result<Arc<TenantModel>, ContentError> {
        if let Ok(models) = self.models.read()
            && let Some(m) = models.get(ctx.id())
            && m.schema_version >= ctx.schema_version()
        {
            return Ok(m.clone());
        }
        self.load_model(&self.db, ctx, ctx.schema_version()).await
    }

    /// Reads the tenant's content types and caches them as the model of `version`.
    async fn load_model(
        &self,
        conn: &impl crate::store::reads::Exec,
        ctx: &TenantCtx,
        version: i64,
    ) -> Result<Arc<TenantModel>, ContentError> {
        let defs = crate::store::content_types::list(conn, ctx).await?;
        let mut types = Vec::with_capacity(defs.len());
        for def in defs {
            let ct = ContentType::from_json(def).map_err(|e| {
                sea_orm::DbErr::Custom(format!(
                    "stored content type is invalid: {}",
                    crate::error::describe_fields(&e)
                ))
            })?;
            types.push(ct);
        }
        let model = Arc::new(TenantModel {
            schema_version: version,
            types,
        });
        if let Ok(mut models) = self.models.write() {
            let newer = models
                .get(ctx.id())
                .is_some_and(|m| m.schema_version > version);
            if !newer {
                models.insert(ctx.id().to_owned(), model.clone());
            }
        }
        Ok(model)
    }

    /// Opens a write transaction holding the tenant's write lock, with the tenant's model as of
    /// that lock. A content-type change committed after the caller's context was read is seen
    /// here, so no entry is validated against one model and stored under another, and no type
    /// change interleaves with an entry write.
    pub(crate) async fn begin_write(
        &self,
        ctx: &TenantCtx,
    ) -> Result<(crate::store::writer::Txn, Arc<TenantModel>), ContentError> {
        let cached = self.model(ctx).await?;
        let txn = self.reads.begin_write().await?;
        let version = crate::store::tenants::lock_for_write(&txn, ctx.id()).await?;
        if cached.schema_version == version {
            return Ok((txn, cached));
        }
        let model = self.load_model(&txn, ctx, version).await?;
        Ok((txn, model))
    }

    fn forget(&self, ctx: &TenantCtx) {
        if let Ok(mut models) = self.models.write() {
            models.remove(ctx.id());
        }
    }
}
