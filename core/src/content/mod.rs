//! Content: content types, entries, drafts and versions, validation, slugs and localisation
//! (SPEC §5). The service functions here are the only way HTTP, GraphQL and the CLI change or
//! read content; each takes a [`TenantCtx`](crate::tenancy::TenantCtx) and goes to the store.

pub mod entries;
pub mod filter;
pub mod model;
pub mod slug;
pub mod transfer;
pub mod types;
pub mod values;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::error::{ErrorCode, FieldError};
use crate::store::Db;
use crate::tenancy::TenantCtx;

pub use entries::{Entry, EntryInput, Lookup, Page, PageArgs, Status};
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
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
}

impl ContentError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ContentError::UnknownType(_) | ContentError::Invalid(_) => ErrorCode::BadUserInput,
            ContentError::NotFound(_) => ErrorCode::NotFound,
            ContentError::Conflict { .. } => ErrorCode::Conflict,
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
    limits: values::ValueLimits,
    page_max: u64,
    entry_bytes: usize,
    import_batch: usize,
    models: Arc<RwLock<HashMap<String, Arc<TenantModel>>>>,
}

impl Content {
    pub fn new(db: Db, limits: &crate::config::Limits) -> Self {
        Content {
            db,
            limits: values::ValueLimits {
                many_items: limits.many_items,
                ..Default::default()
            },
            page_max: limits.page_size_max,
            entry_bytes: limits.entry_bytes,
            import_batch: limits.import_batch.max(1),
            models: Arc::default(),
        }
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
        let defs = crate::store::content_types::list(&self.db, ctx).await?;
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
            schema_version: ctx.schema_version(),
            types,
        });
        if let Ok(mut models) = self.models.write() {
            models.insert(ctx.id().to_owned(), model.clone());
        }
        Ok(model)
    }

    fn forget(&self, ctx: &TenantCtx) {
        if let Ok(mut models) = self.models.write() {
            models.remove(ctx.id());
        }
    }
}
