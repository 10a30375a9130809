//! Batched reference loading: every reference resolved during one request goes through one
//! `DataLoader`, so a page of 100 entries with references costs one query per stage, not 100.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use crate::content::{Content, Entry};
use crate::store::entries::Stage;
use crate::tenancy::TenantCtx;

/// Key: which copy of which entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryKey {
    pub published: bool,
    pub id: String,
}

pub struct EntryLoader {
    pub tenant: TenantCtx,
    pub content: Content,
}

impl Loader<EntryKey> for EntryLoader {
    type Value = Entry;
    type Error = Arc<crate::content::ContentError>;

    async fn load(&self, keys: &[EntryKey]) -> Result<HashMap<EntryKey, Entry>, Self::Error> {
        let mut out = HashMap::new();
        for published in [true, false] {
            let ids: Vec<String> = keys
                .iter()
                .filter(|k| k.published == published)
                .map(|k| k.id.clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let stage = if published {
                Stage::Published
            } else {
                Stage::Draft
            };
            for e in self
                .content
                .get_many(&self.tenant, &ids, stage)
                .await
                .map_err(Arc::new)?
            {
                out.insert(
                    EntryKey {
                        published,
                        id: e.id.clone(),
                    },
                    e,
                );
            }
        }
        Ok(out)
    }
}

/// Batched media loading: the assets named by every `media` field resolved in one request,
/// in one query.
pub struct MediaLoader {
    pub tenant: TenantCtx,
    pub content: Content,
}

impl Loader<String> for MediaLoader {
    type Value = crate::store::media::AssetRow;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, crate::store::media::AssetRow>, Self::Error> {
        Ok(
            crate::store::media::get_many(self.content.db(), self.tenant.id(), keys)
                .await
                .map_err(Arc::new)?
                .into_iter()
                .map(|a| (a.id.clone(), a))
                .collect(),
        )
    }
}
