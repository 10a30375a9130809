//! The search indexer: an outbox consumer (`search`) in a background task. Each pass reads every
//! tenant's events after its position, turns them into index changes (`entry.published` →
//! replace the entry's documents; `entry.unpublished`, `entry.deleted` → remove them;
//! `content_type.changed` → index the type again) and applies them in one commit, then moves the
//! position. Content writes never wait for it: a failure (index unavailable) leaves the position
//! where it was, and the next pass retries with a growing pause, so the index catches up by
//! itself. A tenant whose index is missing is rebuilt from the database.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
use tokio_util::sync::CancellationToken;

use super::{IndexOp, Search, SearchDoc, SearchError, documents};
use crate::content::{Content, Lookup};
use crate::store::entries::Stage;
use crate::store::outbox;
use crate::tenancy::{self, TenantCtx};

/// The consumer of a shared index; a node-local one adds `@<node id>`.
pub const CONSUMER: &str = "search";
/// Events one pass applies per tenant.
const BATCH: u64 = 500;
/// Entries read per page when rebuilding.
const PAGE: u64 = 500;

/// Runs passes every `interval` until `shutdown`; after failures, waits up to a minute.
pub async fn run(
    search: Search,
    content: Content,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut backoff: HashMap<String, (Instant, u32)> = HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
        let tenants = match tenancy::list(content.db()).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "search indexer: listing tenants");
                continue;
            }
        };
        for tenant in tenants {
            if let Some((until, _)) = backoff.get(tenant.id())
                && Instant::now() < *until
            {
                continue;
            }
            match pass(&search, &content, &tenant).await {
                Ok(_) => {
                    backoff.remove(tenant.id());
                }
                Err(e) => {
                    let failures = backoff.get(tenant.id()).map_or(0, |(_, n)| *n) + 1;
                    let pause = Duration::from_millis((250u64 << failures.min(8)).min(60_000));
                    tracing::warn!(tenant = tenant.slug(), error = %e, retry_in_ms = pause.as_millis() as u64, "search indexer failed; will retry");
                    backoff.insert(tenant.id().to_owned(), (Instant::now() + pause, failures));
                }
            }
        }
        search.backend().release_idle().await;
    }
}

/// Brings one tenant's index up to its outbox; returns how many events were applied. With a
/// shared backend (Meilisearch) on PostgreSQL, the tenant's consumer row is held for the pass
/// (`FOR UPDATE SKIP LOCKED`), so one node applies a batch and the others skip the tenant.
pub async fn pass(
    search: &Search,
    content: &Content,
    tenant: &TenantCtx,
) -> Result<usize, SearchError> {
    let db = content.db();
    if search.backend().shared() && db.get_database_backend() == DbBackend::Postgres {
        let txn = db.begin().await?;
        let applied = tenant_pass(search, content, &txn, tenant).await?;
        txn.commit().await?;
        Ok(applied)
    } else {
        tenant_pass(search, content, db, tenant).await
    }
}

async fn tenant_pass(
    search: &Search,
    content: &Content,
    conn: &impl ConnectionTrait,
    tenant: &TenantCtx,
) -> Result<usize, SearchError> {
    let consumer = search.consumer();
    let Some(position) = outbox::claim(conn, consumer, tenant).await? else {
        return Ok(0); // another node is applying this tenant's batch
    };
    let (oldest, latest) = outbox::bounds(conn, tenant).await?;
    // Below the oldest kept event (retention pruned what this index never saw): rebuild.
    let missed = position > 0 && position + 1 < oldest;
    if latest > 0 && (position == 0 || missed || !search.backend().healthy(tenant.id()).await?) {
        // Tell `zellige reindex` (which may have asked for this) that an indexer has it.
        outbox::touch(conn, consumer, tenant, crate::time::now_ms()).await?;
        rebuild(search, content, tenant, |_| {}).await?;
        outbox::acknowledge(conn, consumer, tenant, latest, crate::time::now_ms()).await?;
        search.set_applied(tenant.id(), latest);
        return Ok(0);
    }
    let events = outbox::read(conn, tenant, position, BATCH).await?;
    let Some(last) = events.last().map(|e| e.tenant_seq) else {
        search.set_applied(tenant.id(), position);
        return Ok(0);
    };
    let mut ops = Vec::new();
    for event in &events {
        let (Some(ty), id) = (&event.entry_type, &event.entry_id) else {
            continue;
        };
        match (event.kind.as_str(), id) {
            ("entry.published", Some(id)) => {
                ops.push(match entry_docs(content, tenant, ty, id).await? {
                    Some(docs) => IndexOp::Upsert {
                        entry_id: id.clone(),
                        docs,
                    },
                    None => IndexOp::Delete {
                        entry_id: id.clone(),
                    },
                });
            }
            ("entry.unpublished" | "entry.deleted", Some(id)) => {
                ops.push(IndexOp::Delete {
                    entry_id: id.clone(),
                });
            }
            ("content_type.changed", _) => {
                ops.push(IndexOp::DeleteType {
                    entry_type: ty.clone(),
                });
                let mut after: Option<String> = None;
                loop {
                    let page = content
                        .scan_published(tenant, Some(ty), after.as_deref(), PAGE)
                        .await
                        .map_err(|e| SearchError::Unavailable(e.to_string()))?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.id.clone());
                    let Ok(model) = content.model(tenant).await else {
                        break;
                    };
                    let Ok(ct) = model.get(ty) else { break };
                    for e in &page {
                        ops.push(IndexOp::Upsert {
                            entry_id: e.id.clone(),
                            docs: documents(e, ct, tenant),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    search.backend().apply(tenant.id(), ops).await?;
    outbox::acknowledge(conn, consumer, tenant, last, crate::time::now_ms()).await?;
    search.set_applied(tenant.id(), last);
    Ok(events.len())
}

/// The documents of one published entry, or `None` when it is no longer published.
async fn entry_docs(
    content: &Content,
    tenant: &TenantCtx,
    entry_type: &str,
    id: &str,
) -> Result<Option<Vec<SearchDoc>>, SearchError> {
    let Ok(model) = content.model(tenant).await else {
        return Ok(None);
    };
    let Ok(ct) = model.get(entry_type) else {
        return Ok(None);
    };
    let entry = content
        .get(
            tenant,
            entry_type,
            &Lookup::Id(id.to_owned()),
            Stage::Published,
        )
        .await
        .map_err(|e| SearchError::Unavailable(e.to_string()))?;
    Ok(entry.map(|e| documents(&e, ct, tenant)))
}

/// Rebuilds a tenant's index from the database in one commit; `progress` gets the number of
/// entries read so far. Returns the number of entries indexed.
pub async fn rebuild(
    search: &Search,
    content: &Content,
    tenant: &TenantCtx,
    mut progress: impl FnMut(u64),
) -> Result<u64, SearchError> {
    let model = content
        .model(tenant)
        .await
        .map_err(|e| SearchError::Unavailable(e.to_string()))?;
    let mut docs = Vec::new();
    let mut n = 0u64;
    for ct in &model.types {
        let mut after: Option<String> = None;
        loop {
            let page = content
                .scan_published(tenant, Some(&ct.name), after.as_deref(), PAGE)
                .await
                .map_err(|e| SearchError::Unavailable(e.to_string()))?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            for e in &page {
                docs.extend(documents(e, ct, tenant));
            }
            n += page.len() as u64;
            progress(n);
        }
    }
    search.backend().rebuild(tenant.id(), docs).await?;
    Ok(n)
}
