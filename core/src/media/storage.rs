//! Where media bytes live: a directory under the data directory (embedded default) or an
//! S3-compatible bucket, both through `object_store`. Keys are built only from the tenant id,
//! hex digests and a fresh UUID, never from anything a client sent, so no client path reaches
//! the filesystem or the bucket.
//!
//! Layout: `t/<tenant>/o/<sha[0..2]>/<sha>` for originals (content-addressed, one object per
//! tenant and content), `t/<tenant>/v/<sha>/<params digest>` for variants, `t/<tenant>/tmp/<uuid>`
//! for uploads in progress.

use std::sync::Arc;

use anyhow::Context;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::config::MediaConfig;

#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    kind: &'static str,
}

impl Storage {
    pub fn from_config(config: &MediaConfig, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        match &config.s3 {
            None => {
                let dir = data_dir.join("media");
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating media directory {}", dir.display()))?;
                let fs = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                    .with_context(|| format!("opening media directory {}", dir.display()))?;
                Ok(Storage {
                    store: Arc::new(fs),
                    kind: "local",
                })
            }
            Some(s3) => {
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region);
                if let Some(endpoint) = &s3.endpoint {
                    b = b
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let Some(key) = &s3.access_key_id {
                    b = b.with_access_key_id(key);
                }
                if let Some(secret) = &s3.secret_access_key {
                    b = b.with_secret_access_key(secret.expose());
                }
                let s3_store = b.build().context("configuring S3 media storage")?;
                let store: Arc<dyn ObjectStore> = if s3.prefix.is_empty() {
                    Arc::new(s3_store)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(
                        s3_store,
                        s3.prefix.as_str(),
                    ))
                };
                Ok(Storage { store, kind: "s3" })
            }
        }
    }

    /// `local` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub fn original(tenant_id: &str, sha256: &str) -> Path {
        let shard = sha256.get(..2).unwrap_or("00");
        Path::from(format!("t/{tenant_id}/o/{shard}/{sha256}"))
    }

    pub fn variant(tenant_id: &str, sha256: &str, params_digest: &str) -> Path {
        Path::from(format!("t/{tenant_id}/v/{sha256}/{params_digest}"))
    }

    pub fn variants_of(tenant_id: &str, sha256: &str) -> Path {
        Path::from(format!("t/{tenant_id}/v/{sha256}"))
    }

    pub fn upload(tenant_id: &str) -> Path {
        Path::from(format!("t/{tenant_id}/tmp/{}", uuid::Uuid::now_v7()))
    }

    pub fn tenant_root(tenant_id: &str) -> Path {
        Path::from(format!("t/{tenant_id}"))
    }

    /// Deletes an object; one that is already gone is not an error.
    pub async fn remove(&self, path: &Path) -> object_store::Result<()> {
        match self.store.delete(path).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    }
}
