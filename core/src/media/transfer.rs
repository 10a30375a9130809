//! Moving a tenant's media library with `zellige export`/`import`: a directory holding
//! `assets.jsonl` (one asset's metadata per line) and each distinct content once, named by its
//! SHA-256. Import keeps ids, authors and times, checks every file against its recorded hash,
//! and skips assets already present, so a run that was cut short is completed by running it
//! again.

use std::path::Path;

use futures::StreamExt;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use super::{AssetMeta, Media, MediaError, Restore, Storage};
use crate::tenancy::TenantCtx;
use crate::time::{parse_rfc3339, to_rfc3339};

/// One line of `assets.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetLine {
    pub id: String,
    pub file_name: String,
    pub mime: String,
    pub sha256: String,
    pub size: i64,
    #[serde(default)]
    pub width: Option<i32>,
    #[serde(default)]
    pub height: Option<i32>,
    #[serde(default)]
    pub alt: Map<String, Value>,
    #[serde(default)]
    pub caption: Map<String, Value>,
    #[serde(default)]
    pub folder: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub is_public: bool,
    #[serde(default)]
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Writes the tenant's assets into `dir`; returns how many.
pub async fn export(media: &Media, ctx: &TenantCtx, dir: &Path) -> anyhow::Result<usize> {
    let assets = media.all(ctx).await?;
    tokio::fs::create_dir_all(dir).await?;
    let mut lines = String::new();
    let store = media.storage().store().clone();
    for a in &assets {
        let line = AssetLine {
            id: a.id.clone(),
            file_name: a.file_name.clone(),
            mime: a.mime.clone(),
            sha256: a.sha256.clone(),
            size: a.size,
            width: a.width,
            height: a.height,
            alt: serde_json::from_str(&a.alt).unwrap_or_default(),
            caption: serde_json::from_str(&a.caption).unwrap_or_default(),
            folder: a.folder.clone(),
            tags: serde_json::from_str(&a.tags).unwrap_or_default(),
            is_public: a.is_public,
            created_by: a.created_by.clone(),
            created_at: to_rfc3339(a.created_at),
            updated_at: to_rfc3339(a.updated_at),
        };
        lines.push_str(&serde_json::to_string(&line)?);
        lines.push('\n');
        let target = dir.join(&a.sha256);
        if tokio::fs::try_exists(&target).await? {
            continue;
        }
        // Streamed, through a temporary name, so an interrupted export never leaves a short file
        // under the final one.
        let partial = dir.join(format!("{}.partial", a.sha256));
        let mut file = tokio::fs::File::create(&partial).await?;
        let mut body = store
            .get(&Storage::original(ctx.id(), &a.sha256))
            .await?
            .into_stream();
        while let Some(chunk) = body.next().await {
            file.write_all(&chunk?).await?;
        }
        file.flush().await?;
        tokio::fs::rename(&partial, &target).await?;
    }
    tokio::fs::write(dir.join("assets.jsonl"), lines).await?;
    Ok(assets.len())
}

/// Reads assets from `dir` into the tenant; returns (created, already present).
pub async fn import(media: &Media, ctx: &TenantCtx, dir: &Path) -> anyhow::Result<(usize, usize)> {
    let index = dir.join("assets.jsonl");
    let text = tokio::fs::read_to_string(&index)
        .await
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", index.display()))?;
    let (mut created, mut present) = (0, 0);
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let where_ = || format!("{}: line {}", index.display(), i + 1);
        let line: AssetLine =
            serde_json::from_str(raw).map_err(|e| anyhow::anyhow!("{}: {e}", where_()))?;
        match media.get(ctx, &line.id).await {
            Ok(_) => {
                present += 1;
                continue;
            }
            Err(MediaError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if line.sha256.len() != 64 || !line.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            anyhow::bail!("{}: sha256 is not a SHA-256", where_());
        }
        let file = tokio::fs::File::open(dir.join(&line.sha256))
            .await
            .map_err(|e| anyhow::anyhow!("{}: the file {}: {e}", where_(), line.sha256))?;
        let body = tokio_util::io::ReaderStream::new(file);
        let time = |s: &str| {
            parse_rfc3339(s).ok_or_else(|| anyhow::anyhow!("{}: `{s}` is not RFC 3339", where_()))
        };
        let meta = AssetMeta {
            file_name: Some(line.file_name.clone()),
            alt: Some(line.alt),
            caption: Some(line.caption),
            folder: Some(line.folder),
            tags: Some(line.tags),
            is_public: Some(line.is_public),
            restore: Some(Restore {
                id: line.id.clone(),
                created_by: line.created_by,
                created_at: time(&line.created_at)?,
                updated_at: time(&line.updated_at)?,
                sha256: line.sha256,
            }),
        };
        media
            .upload(ctx, Some("cli"), meta, body)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", where_()))?;
        created += 1;
    }
    Ok((created, present))
}
