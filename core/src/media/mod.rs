//! The media library: per-tenant assets (files with localized metadata), their bytes in
//! [`storage`] (content-addressed, one object per tenant and content), MIME types from the
//! bytes ([`detect`]), image variants computed on request ([`transform`]), and quotas.
//!
//! Uploads stream: bytes go to a temporary object while they are hashed and counted, and the
//! upload stops as soon as it passes the file or tenant limit (the temporary object is
//! removed). The asset row is written in the tenant's write transaction, which re-checks the
//! tenant's quota, so that concurrent uploads cannot overshoot it together. Bytes are removed
//! when the last asset naming them is deleted; [`Media::sweep`] removes what a crash left
//! behind (temporary objects, bytes no asset names).

pub mod detect;
pub mod storage;
pub mod transfer;
pub mod transform;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::{ObjectStoreExt, WriteMultipart};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::MediaConfig;
use crate::content::Content;
use crate::content::model::FieldKind;
use crate::error::FieldError;
use crate::store::media::{self as repo, AssetRow, ListFilter};
use crate::store::{self, Db};
use crate::tenancy::TenantCtx;
use crate::time::now_ms;
pub use storage::Storage;
use transform::{Params, TransformError};

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("invalid input: {}", crate::error::describe_fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(String),
    /// Entries use the asset.
    #[error("{message}")]
    InUse {
        message: String,
        fields: Vec<FieldError>,
    },
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    #[error("media storage: {0}")]
    Storage(#[from] object_store::Error),
    #[error("the upload failed: {0}")]
    Body(String),
    #[error("{0}")]
    Content(#[from] crate::content::ContentError),
}

impl MediaError {
    fn invalid(path: &str, rule: &str, message: impl Into<String>) -> Self {
        MediaError::Invalid(vec![FieldError::new(path, rule, message)])
    }
}

/// Metadata given with an upload or a change (a part left out is kept when changing).
#[derive(Debug, Clone, Default)]
pub struct AssetMeta {
    pub file_name: Option<String>,
    /// Locale → text.
    pub alt: Option<Map<String, Value>>,
    pub caption: Option<Map<String, Value>>,
    pub folder: Option<String>,
    pub tags: Option<Vec<String>>,
    pub is_public: Option<bool>,
    /// Only when moving a tenant (`zellige import`): the asset keeps its id, author and times.
    pub restore: Option<Restore>,
}

/// What an imported asset keeps from its source.
#[derive(Debug, Clone)]
pub struct Restore {
    pub id: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The content hash the export recorded: the bytes must match it.
    pub sha256: String,
}

/// The limits that apply to one tenant: the configuration's, narrowed by the tenant's
/// `media` setting.
#[derive(Debug, Clone)]
pub struct Quota {
    pub max_file_bytes: u64,
    pub tenant_bytes: u64,
    pub allowed_types: Vec<String>,
}

/// A stored variant.
#[derive(Debug, Clone)]
pub struct Variant {
    pub path: object_store::path::Path,
    pub mime: &'static str,
    pub size: u64,
}

#[derive(Clone)]
pub struct Media {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    content: Content,
    config: MediaConfig,
    storage: Storage,
    /// Transforms running at once on this node.
    permits: tokio::sync::Semaphore,
    /// Variants computed on this node since start (single flight shows in it).
    computed: std::sync::atomic::AtomicU64,
    /// Variants known to be stored; concurrent requests for the same one compute it once.
    variants: moka::future::Cache<String, Arc<Variant>>,
    /// Asset rows read by `GET /media/…`, for a second (a change made on this node drops its
    /// row at once; other nodes follow within the second).
    served: moka::future::Cache<(String, String), Arc<AssetRow>>,
    /// Assets known to be servable to anyone (used by a published entry), for a second.
    visibility: moka::future::Cache<(String, String), bool>,
}

/// Longest file name kept.
const NAME_CHARS: usize = 200;
/// Most tags per asset, and characters per tag, folder, alt or caption.
const TAGS: usize = 30;
const TAG_CHARS: usize = 60;
const FOLDER_CHARS: usize = 200;
const TEXT_CHARS: usize = 2_000;
/// Parts of a streamed upload to object storage.
const PART_BYTES: usize = 8 * 1024 * 1024;

impl Media {
    pub fn new(
        db: Db,
        content: Content,
        config: &MediaConfig,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let storage = Storage::from_config(config, data_dir)?;
        let workers = if config.transform_workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
        } else {
            config.transform_workers
        };
        Ok(Media {
            inner: Arc::new(Inner {
                db,
                content,
                config: config.clone(),
                storage,
                permits: tokio::sync::Semaphore::new(workers),
                computed: Default::default(),
                variants: moka::future::Cache::builder().max_capacity(100_000).build(),
                served: moka::future::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(1))
                    .build(),
                visibility: moka::future::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(1))
                    .build(),
            }),
        })
    }

    pub fn config(&self) -> &MediaConfig {
        &self.inner.config
    }

    /// How many variants this node has computed since start.
    pub fn variants_computed(&self) -> u64 {
        self.inner
            .computed
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The tenant's limits.
    pub fn quota(&self, ctx: &TenantCtx) -> Quota {
        let c = &self.inner.config;
        let t = ctx.media_limits();
        Quota {
            max_file_bytes: t
                .max_file_bytes
                .map_or(c.max_file_bytes, |v| v.min(c.max_file_bytes)),
            tenant_bytes: t
                .max_bytes
                .map_or(c.tenant_bytes, |v| v.min(c.tenant_bytes)),
            allowed_types: match &t.allowed_types {
                Some(list) => list
                    .iter()
                    .filter(|m| detect::allowed(m, &c.allowed_types) || c.allowed_types.contains(m))
                    .cloned()
                    .collect(),
                None => c.allowed_types.clone(),
            },
        }
    }

    /// Stores an upload: streamed to storage while hashed, counted and typed; stopped as soon
    /// as it passes a limit or shows a type the tenant does not accept.
    pub async fn upload<S, E>(
        &self,
        ctx: &TenantCtx,
        actor: Option<&str>,
        meta: AssetMeta,
        mut body: S,
    ) -> Result<AssetRow, MediaError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let file_name = clean_file_name(meta.file_name.as_deref().unwrap_or(""))?;
        let checked = self.check_meta(ctx, &meta)?;
        let quota = self.quota(ctx);
        let stored = repo::stored_bytes(&self.inner.db, ctx.id()).await?;
        let room = quota
            .tenant_bytes
            .saturating_sub(u64::try_from(stored).unwrap_or(0));
        let limit = quota.max_file_bytes.min(room);
        let tenant_full = || {
            MediaError::invalid(
                "file",
                "tenantBytes",
                format!(
                    "the tenant's media library is limited to {} bytes and {} are left",
                    quota.tenant_bytes, room
                ),
            )
        };
        let over = |size: u64| {
            if size > quota.max_file_bytes {
                MediaError::invalid(
                    "file",
                    "maxFileBytes",
                    format!("files are at most {} bytes", quota.max_file_bytes),
                )
            } else {
                tenant_full()
            }
        };
        let store = self.inner.storage.store().clone();
        let tmp = Storage::upload(ctx.id());
        let upload = store.put_multipart(&tmp).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(detect::SNIFF_BYTES);
        let mut mime: Option<String> = None;
        let outcome: Result<(), MediaError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| MediaError::Body(e.to_string()))?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(over(size));
                }
                if mime.is_none() {
                    let take = (detect::SNIFF_BYTES - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                    if head.len() >= detect::SNIFF_BYTES {
                        mime = Some(self.accept_type(&head, &quota)?);
                    }
                }
                hasher.update(&chunk);
                writer.wait_for_capacity(4).await?;
                writer.put(chunk);
            }
            if mime.is_none() {
                if size == 0 {
                    return Err(MediaError::invalid("file", "required", "the file is empty"));
                }
                mime = Some(self.accept_type(&head, &quota)?);
            }
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "aborting a refused upload");
            }
            let _ = self.inner.storage.remove(&tmp).await;
            return Err(e);
        }
        writer.finish().await?;
        let sha256 = hex(&hasher.finalize());
        let mime = mime.unwrap_or_else(|| "application/octet-stream".into());
        let dims = if detect::is_raster(&mime) {
            match transform::dimensions(&head, &self.inner.config) {
                Ok(d) => Some(d),
                Err(e @ TransformError::TooLarge { .. }) => {
                    let _ = self.inner.storage.remove(&tmp).await;
                    return Err(MediaError::invalid("file", "pixels", e.to_string()));
                }
                // The header lies beyond the first bytes: dimensions stay unknown.
                Err(_) => None,
            }
        } else {
            None
        };
        let original = Storage::original(ctx.id(), &sha256);
        // Same bytes already stored for this tenant: keep one copy.
        store.rename(&tmp, &original).await?;
        let now = now_ms();
        if let Some(r) = &checked.restore
            && r.sha256 != sha256
        {
            self.remove_if_unused(ctx, &sha256).await;
            return Err(MediaError::invalid(
                "file",
                "sha256",
                format!(
                    "the bytes of asset `{}` do not match their recorded hash",
                    r.id
                ),
            ));
        }
        let row = AssetRow {
            id: checked
                .restore
                .as_ref()
                .map_or_else(|| uuid::Uuid::now_v7().to_string(), |r| r.id.clone()),
            tenant_id: ctx.id().to_owned(),
            sha256,
            file_name,
            mime,
            size: i64::try_from(size).unwrap_or(i64::MAX),
            width: dims.and_then(|d| i32::try_from(d.0).ok()),
            height: dims.and_then(|d| i32::try_from(d.1).ok()),
            alt: Value::Object(checked.alt.unwrap_or_default()).to_string(),
            caption: Value::Object(checked.caption.unwrap_or_default()).to_string(),
            folder: checked.folder.unwrap_or_default(),
            tags: serde_json::to_string(&checked.tags.unwrap_or_default())
                .unwrap_or_else(|_| "[]".into()),
            is_public: checked.is_public.unwrap_or(false),
            created_by: match &checked.restore {
                Some(r) => r.created_by.clone(),
                None => actor.map(str::to_owned),
            },
            created_at: checked.restore.as_ref().map_or(now, |r| r.created_at),
            updated_at: checked.restore.as_ref().map_or(now, |r| r.updated_at),
        };
        let (txn, _) = store::begin_tenant_write(&self.inner.db, ctx.id()).await?;
        // Re-checked under the tenant's write lock: concurrent uploads cannot overshoot it.
        let shared = repo::sharing(&txn, ctx.id(), &row.sha256).await? > 0;
        let stored_now = u64::try_from(repo::stored_bytes(&txn, ctx.id()).await?).unwrap_or(0);
        if !shared && stored_now + size > quota.tenant_bytes {
            drop(txn);
            self.remove_if_unused(ctx, &row.sha256).await;
            return Err(tenant_full());
        }
        repo::insert(&txn, &row).await?;
        audit(
            &txn,
            ctx,
            actor,
            "media.uploaded",
            &row.id,
            serde_json::json!({"fileName": row.file_name, "mime": row.mime, "size": row.size}),
        )
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    /// Stores bytes already in memory (the demo, small imports).
    pub async fn upload_bytes(
        &self,
        ctx: &TenantCtx,
        actor: Option<&str>,
        meta: AssetMeta,
        bytes: Bytes,
    ) -> Result<AssetRow, MediaError> {
        let body = futures::stream::iter([Ok::<_, std::convert::Infallible>(bytes)]);
        self.upload(ctx, actor, meta, body).await
    }

    /// Every asset of the tenant, oldest first, in pages (for export).
    pub async fn all(&self, ctx: &TenantCtx) -> Result<Vec<AssetRow>, MediaError> {
        let mut out = Vec::new();
        let mut filter = ListFilter::default();
        loop {
            let page = repo::list(&self.inner.db, ctx.id(), &filter, 500).await?;
            let Some(last) = page.last() else { break };
            filter.before_id = Some(last.id.clone());
            out.extend(page);
        }
        out.reverse();
        Ok(out)
    }

    fn accept_type(&self, head: &[u8], quota: &Quota) -> Result<String, MediaError> {
        let mime = detect::mime_of(head);
        if detect::allowed(&mime, &quota.allowed_types) {
            Ok(mime)
        } else {
            Err(MediaError::invalid(
                "file",
                "type",
                format!(
                    "the content is {mime}, which this tenant does not accept (accepted: {})",
                    quota.allowed_types.join(", ")
                ),
            ))
        }
    }

    fn check_meta(&self, ctx: &TenantCtx, meta: &AssetMeta) -> Result<AssetMeta, MediaError> {
        let mut errors = Vec::new();
        let texts = |name: &str, v: &Option<Map<String, Value>>, errors: &mut Vec<FieldError>| {
            if let Some(map) = v {
                for (locale, text) in map {
                    let path = format!("{name}.{locale}");
                    if !ctx.locales().contains(locale) {
                        errors.push(FieldError::new(
                            path,
                            "locale",
                            format!(
                                "`{locale}` is not a locale of this tenant ({})",
                                ctx.locales().join(", ")
                            ),
                        ));
                    } else if !text.is_string() {
                        errors.push(FieldError::new(path, "type", "expected a string"));
                    } else if text
                        .as_str()
                        .is_some_and(|t| t.chars().count() > TEXT_CHARS)
                    {
                        errors.push(FieldError::new(
                            path,
                            "maxLength",
                            format!("at most {TEXT_CHARS} characters"),
                        ));
                    }
                }
            }
        };
        texts("alt", &meta.alt, &mut errors);
        texts("caption", &meta.caption, &mut errors);
        if let Some(folder) = &meta.folder
            && (folder.chars().count() > FOLDER_CHARS || folder.chars().any(char::is_control))
        {
            errors.push(FieldError::new(
                "folder",
                "format",
                format!("at most {FOLDER_CHARS} characters, no control characters"),
            ));
        }
        if let Some(tags) = &meta.tags {
            if tags.len() > TAGS {
                errors.push(FieldError::new(
                    "tags",
                    "maxItems",
                    format!("at most {TAGS} tags"),
                ));
            }
            for (i, t) in tags.iter().enumerate() {
                if t.trim().is_empty()
                    || t.chars().count() > TAG_CHARS
                    || t.chars().any(char::is_control)
                {
                    errors.push(FieldError::new(
                        format!("tags[{i}]"),
                        "format",
                        format!("1 to {TAG_CHARS} characters, no control characters"),
                    ));
                }
            }
        }
        if let Some(r) = &meta.restore
            && uuid::Uuid::parse_str(&r.id).is_err()
        {
            errors.push(FieldError::new("id", "format", "a UUID"));
        }
        if let Some(name) = &meta.file_name
            && let Err(MediaError::Invalid(e)) = clean_file_name(name)
        {
            errors.extend(e);
        }
        if !errors.is_empty() {
            return Err(MediaError::Invalid(errors));
        }
        let mut out = meta.clone();
        // Empty texts are absent texts.
        for map in [&mut out.alt, &mut out.caption].into_iter().flatten() {
            map.retain(|_, v| v.as_str().is_some_and(|s| !s.trim().is_empty()));
        }
        out.folder = out.folder.map(|f| f.trim().to_owned());
        out.tags = out.tags.map(|t| {
            let mut t: Vec<String> = t.into_iter().map(|s| s.trim().to_owned()).collect();
            t.dedup();
            t
        });
        Ok(out)
    }

    pub async fn get(&self, ctx: &TenantCtx, id: &str) -> Result<AssetRow, MediaError> {
        repo::get(&self.inner.db, ctx.id(), id)
            .await?
            .ok_or_else(|| MediaError::NotFound(format!("asset `{id}`")))
    }

    /// An asset for serving its bytes: read at most a second ago (see `Inner::served`).
    pub async fn get_for_serving(
        &self,
        ctx: &TenantCtx,
        id: &str,
    ) -> Result<Arc<AssetRow>, MediaError> {
        let key = (ctx.id().to_owned(), id.to_owned());
        if let Some(row) = self.inner.served.get(&key).await {
            return Ok(row);
        }
        let row = Arc::new(self.get(ctx, id).await?);
        self.inner.served.insert(key, row.clone()).await;
        Ok(row)
    }

    pub async fn get_many(
        &self,
        ctx: &TenantCtx,
        ids: &[String],
    ) -> Result<Vec<AssetRow>, MediaError> {
        Ok(repo::get_many(&self.inner.db, ctx.id(), ids).await?)
    }

    pub async fn list(
        &self,
        ctx: &TenantCtx,
        filter: &ListFilter,
        first: u64,
    ) -> Result<(Vec<AssetRow>, bool), MediaError> {
        let mut rows = repo::list(&self.inner.db, ctx.id(), filter, first + 1).await?;
        let more = rows.len() as u64 > first;
        rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
        Ok((rows, more))
    }

    /// Changes metadata.
    pub async fn update(
        &self,
        ctx: &TenantCtx,
        id: &str,
        meta: AssetMeta,
        actor: Option<&str>,
    ) -> Result<AssetRow, MediaError> {
        let checked = self.check_meta(ctx, &meta)?;
        let (txn, _) = store::begin_tenant_write(&self.inner.db, ctx.id()).await?;
        let mut row = repo::get(&txn, ctx.id(), id)
            .await?
            .ok_or_else(|| MediaError::NotFound(format!("asset `{id}`")))?;
        if let Some(n) = &meta.file_name {
            row.file_name = clean_file_name(n)?;
        }
        if let Some(alt) = checked.alt {
            row.alt = Value::Object(alt).to_string();
        }
        if let Some(caption) = checked.caption {
            row.caption = Value::Object(caption).to_string();
        }
        if let Some(folder) = checked.folder {
            row.folder = folder;
        }
        if let Some(tags) = checked.tags {
            row.tags = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
        }
        if let Some(p) = checked.is_public {
            row.is_public = p;
        }
        row.updated_at = now_ms();
        repo::update_meta(&txn, &row).await?;
        audit(&txn, ctx, actor, "media.updated", id, serde_json::json!({})).await?;
        txn.commit().await?;
        self.forget(ctx, id).await;
        Ok(row)
    }

    /// Drops what this node remembers of an asset.
    async fn forget(&self, ctx: &TenantCtx, id: &str) {
        let key = (ctx.id().to_owned(), id.to_owned());
        self.inner.visibility.invalidate(&key).await;
        self.inner.served.invalidate(&key).await;
    }

    /// The (type, field) pairs of the tenant's media fields.
    async fn media_fields(&self, ctx: &TenantCtx) -> Result<Vec<(String, String)>, MediaError> {
        let model = self.inner.content.model(ctx).await?;
        Ok(model
            .types
            .iter()
            .flat_map(|t| {
                t.fields
                    .iter()
                    .filter(|f| f.kind == FieldKind::Media)
                    .map(|f| (t.name.clone(), f.name.clone()))
            })
            .collect())
    }

    /// Entries (id, type, published) that use the asset.
    pub async fn referring(
        &self,
        ctx: &TenantCtx,
        id: &str,
    ) -> Result<Vec<(String, String, bool)>, MediaError> {
        let fields = self.media_fields(ctx).await?;
        Ok(repo::referring(&self.inner.db, ctx.id(), &fields, id)
            .await?
            .into_iter()
            .map(|(e, t, stage)| (e, t, stage == 1))
            .collect())
    }

    /// Deletes an asset, refused while entries use it unless `force`; its bytes and variants
    /// go when no other asset names them.
    pub async fn delete(
        &self,
        ctx: &TenantCtx,
        id: &str,
        force: bool,
        actor: Option<&str>,
    ) -> Result<(), MediaError> {
        let fields = self.media_fields(ctx).await?;
        let (txn, _) = store::begin_tenant_write(&self.inner.db, ctx.id()).await?;
        let row = repo::get(&txn, ctx.id(), id)
            .await?
            .ok_or_else(|| MediaError::NotFound(format!("asset `{id}`")))?;
        if !force {
            let users = repo::referring(&txn, ctx.id(), &fields, id).await?;
            if !users.is_empty() {
                let mut names: Vec<String> =
                    users.iter().map(|(e, t, _)| format!("{t} {e}")).collect();
                names.sort();
                names.dedup();
                return Err(MediaError::InUse {
                    message: format!(
                        "asset `{id}` is used by {} entr{} ({}); remove it from them first, or delete with force",
                        names.len(),
                        if names.len() == 1 { "y" } else { "ies" },
                        names.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                    ),
                    fields: names
                        .into_iter()
                        .map(|n| FieldError::new("id", "inUse", n))
                        .collect(),
                });
            }
        }
        repo::delete(&txn, ctx.id(), id).await?;
        let last = repo::sharing(&txn, ctx.id(), &row.sha256).await? == 0;
        let variants = if last {
            repo::take_variants(&txn, ctx.id(), &row.sha256).await?
        } else {
            Vec::new()
        };
        audit(
            &txn,
            ctx,
            actor,
            "media.deleted",
            id,
            serde_json::json!({"fileName": row.file_name, "forced": force}),
        )
        .await?;
        txn.commit().await?;
        self.forget(ctx, id).await;
        if last {
            // After the commit: a crash here leaves bytes no asset names, which the sweep removes.
            for params in variants {
                let path = Storage::variant(ctx.id(), &row.sha256, &digest(&params));
                self.inner.variants.invalidate(path.as_ref()).await;
                if let Err(e) = self.inner.storage.remove(&path).await {
                    tracing::warn!(error = %e, "removing a variant");
                }
            }
            if let Err(e) = self
                .inner
                .storage
                .remove(&Storage::original(ctx.id(), &row.sha256))
                .await
            {
                tracing::warn!(error = %e, "removing media bytes");
            }
        }
        Ok(())
    }

    async fn remove_if_unused(&self, ctx: &TenantCtx, sha256: &str) {
        match repo::sharing(&self.inner.db, ctx.id(), sha256).await {
            Ok(0) => {
                let _ = self
                    .inner
                    .storage
                    .remove(&Storage::original(ctx.id(), sha256))
                    .await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "checking media bytes"),
        }
    }

    /// Whether anyone may fetch the asset: marked public, or used by a published entry.
    pub async fn is_visible(&self, ctx: &TenantCtx, asset: &AssetRow) -> Result<bool, MediaError> {
        if asset.is_public {
            return Ok(true);
        }
        let key = (ctx.id().to_owned(), asset.id.clone());
        if let Some(v) = self.inner.visibility.get(&key).await {
            return Ok(v);
        }
        let visible = self
            .referring(ctx, &asset.id)
            .await?
            .iter()
            .any(|(_, _, published)| *published);
        // Only "visible" is remembered: an asset published a moment ago is served at once;
        // one unpublished a moment ago stays served for at most the cache's second.
        if visible {
            self.inner.visibility.insert(key, visible).await;
        }
        Ok(visible)
    }

    /// The stored variant for `params`, computed now if it is not stored yet (once, however
    /// many requests ask for it at the same time), on the bounded transform pool.
    pub async fn variant(
        &self,
        ctx: &TenantCtx,
        asset: &AssetRow,
        params: &Params,
    ) -> Result<Arc<Variant>, MediaError> {
        let canonical = params.canonical();
        let path = Storage::variant(ctx.id(), &asset.sha256, &digest(&canonical));
        let key = path.as_ref().to_owned();
        let this = self.clone();
        let tenant = ctx.id().to_owned();
        let sha = asset.sha256.clone();
        let params = *params;
        self.inner
            .variants
            .try_get_with(key, async move {
                let store = this.inner.storage.store();
                if let Ok(meta) = store.head(&path).await {
                    return Ok(Arc::new(Variant {
                        path,
                        mime: params.format.mime(),
                        size: meta.size,
                    }));
                }
                let bytes = store
                    .get(&Storage::original(&tenant, &sha))
                    .await?
                    .bytes()
                    .await?;
                let _permit = this
                    .inner
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| MediaError::Body("the transform pool is closed".into()))?;
                this.inner
                    .computed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let config = this.inner.config.clone();
                let out = tokio::task::spawn_blocking(move || {
                    transform::render(&bytes, &params, &config)
                })
                .await
                .map_err(|e| MediaError::Body(format!("transform task: {e}")))?
                .map_err(|e| MediaError::invalid("file", "decode", e.to_string()))?;
                let size = out.len() as u64;
                store.put(&path, out.into()).await?;
                repo::add_variant(
                    &this.inner.db,
                    &tenant,
                    &sha,
                    &canonical,
                    params.format.mime(),
                    i64::try_from(size).unwrap_or(0),
                    now_ms(),
                )
                .await?;
                Ok::<_, MediaError>(Arc::new(Variant {
                    path,
                    mime: params.format.mime(),
                    size,
                }))
            })
            .await
            .map_err(|e: Arc<MediaError>| match Arc::try_unwrap(e) {
                Ok(e) => e,
                Err(shared) => match &*shared {
                    MediaError::Invalid(f) => MediaError::Invalid(f.clone()),
                    MediaError::NotFound(w) => MediaError::NotFound(w.clone()),
                    other => MediaError::Body(other.to_string()),
                },
            })
    }

    /// Removes what a crash left behind in a tenant's storage: temporary uploads and bytes or
    /// variants no asset names, older than `grace` (so that uploads in flight are spared).
    pub async fn sweep(&self, ctx: &TenantCtx, grace: Duration) -> Result<usize, MediaError> {
        let keep: std::collections::HashSet<String> = repo::all_hashes(&self.inner.db, ctx.id())
            .await?
            .into_iter()
            .collect();
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(grace).unwrap_or_default();
        let store = self.inner.storage.store();
        let mut listing = store.list(Some(&Storage::tenant_root(ctx.id())));
        let mut doomed = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if meta.last_modified > cutoff {
                continue;
            }
            let parts: Vec<&str> = meta.location.as_ref().split('/').collect();
            let orphan = match parts.as_slice() {
                [_, _, "tmp", _] => true,
                [_, _, "o", _, sha] => !keep.contains(*sha),
                [_, _, "v", sha, _] => !keep.contains(*sha),
                _ => false,
            };
            if orphan {
                doomed.push(meta.location);
            }
        }
        for path in &doomed {
            self.inner.variants.invalidate(path.as_ref()).await;
            self.inner.storage.remove(path).await?;
        }
        Ok(doomed.len())
    }
}

/// Sweeps every tenant's storage each `interval` (first after one interval), sparing objects
/// younger than it, until `shutdown`.
pub async fn sweeper(
    media: Media,
    interval: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let tenants = match crate::tenancy::list(&media.inner.db).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "media sweep: listing tenants");
                continue;
            }
        };
        for tenant in tenants {
            match media.sweep(&tenant, interval).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tenant = tenant.slug(), removed = n, "media sweep"),
                Err(e) => tracing::warn!(tenant = tenant.slug(), error = %e, "media sweep"),
            }
        }
    }
}

async fn audit(
    txn: &sea_orm::DatabaseTransaction,
    ctx: &TenantCtx,
    actor: Option<&str>,
    action: &str,
    id: &str,
    detail: Value,
) -> Result<(), sea_orm::DbErr> {
    crate::audit::record(
        txn,
        crate::audit::Event::new(Some(ctx), actor.unwrap_or("anonymous"), action)
            .target(format!("media/{id}"))
            .detail(detail),
    )
    .await
}

/// The last path segment, without control characters, at most [`NAME_CHARS`] characters;
/// never a path (`../../etc/passwd` becomes `passwd`).
pub fn clean_file_name(raw: &str) -> Result<String, MediaError> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | '*' | '?' | ':'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    let cleaned = if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned
    };
    if cleaned.chars().count() > NAME_CHARS {
        return Err(MediaError::invalid(
            "fileName",
            "maxLength",
            format!("at most {NAME_CHARS} characters"),
        ));
    }
    Ok(cleaned)
}

/// The content address of some bytes: their SHA-256 in hex.
pub fn content_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The short digest that names a variant's object.
fn digest(canonical: &str) -> String {
    hex(&Sha256::digest(canonical.as_bytes())[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_never_become_paths() {
        assert_eq!(
            clean_file_name("../../etc/passwd").ok().as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_file_name("C:\\Users\\x\\صورة الحرفي.jpg")
                .ok()
                .as_deref(),
            Some("صورة الحرفي.jpg")
        );
        assert_eq!(clean_file_name("..").ok().as_deref(), Some("file"));
        assert_eq!(
            clean_file_name("a\u{0}b\n.png").ok().as_deref(),
            Some("ab.png")
        );
        assert!(clean_file_name(&"x".repeat(300)).is_err());
    }
}
