//! The `after-publish` hook runner: an outbox consumer (`plugins`) in a background task. Each
//! pass reads every tenant's events after its position, calls `after-publish` of the tenant's
//! plugins that declare the hook for each `entry.published` event, and moves the position on.
//! At least once: the position moves only past events whose calls succeeded (or that failed
//! `MAX_ATTEMPTS` times, which is logged); with several nodes on PostgreSQL, the consumer row is
//! claimed with `FOR UPDATE SKIP LOCKED`, so one node handles a tenant's batch at a time.

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
use tokio_util::sync::CancellationToken;

use super::manifest::Hook;
use super::{PluginError, PluginHost, registry};
use crate::content::Lookup;
use crate::store::entries::Stage;
use crate::store::outbox;
use crate::tenancy::{self, TenantCtx};

pub const CONSUMER: &str = "plugins";
/// Events one pass reads per tenant.
const BATCH: u64 = 100;
/// Calls of one hook for one event before it is given up (and logged).
const MAX_ATTEMPTS: u32 = 8;

/// Runs passes every `interval` until `shutdown`.
pub async fn run(host: PluginHost, interval: Duration, shutdown: CancellationToken) {
    let mut attempts: HashMap<(String, i64), u32> = HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
        if let Err(e) = pass(&host, &mut attempts).await {
            tracing::warn!(error = %e, "after-publish pass failed; retrying");
        }
    }
}

/// One pass over every tenant.
pub async fn pass(
    host: &PluginHost,
    attempts: &mut HashMap<(String, i64), u32>,
) -> Result<(), PluginError> {
    let db = host.db().clone();
    for tenant in tenancy::list(&db)
        .await
        .map_err(|e| PluginError::Engine(e.to_string()))?
    {
        if db.get_database_backend() == DbBackend::Postgres {
            let txn = db.begin().await?;
            tenant_pass(host, &txn, &tenant, attempts).await?;
            txn.commit().await?;
        } else {
            // One node on SQLite: no claim needed, and no long read transaction to upgrade.
            tenant_pass(host, &db, &tenant, attempts).await?;
        }
    }
    Ok(())
}

/// One tenant's batch, on `conn` (a transaction holding the consumer row on PostgreSQL).
async fn tenant_pass(
    host: &PluginHost,
    conn: &impl ConnectionTrait,
    tenant: &TenantCtx,
    attempts: &mut HashMap<(String, i64), u32>,
) -> Result<(), PluginError> {
    let Some(position) = outbox::claim(conn, CONSUMER, tenant).await? else {
        return Ok(()); // another node has it
    };
    let events = outbox::read(conn, tenant, position, BATCH).await?;
    if events.is_empty() {
        return Ok(());
    }
    // Looked up after the events: a plugin enabled before an event committed is then seen,
    // so it gets that event.
    let hooked: Vec<registry::Enabled> = registry::enabled_all(host, tenant)
        .await?
        .into_iter()
        .filter(|s| s.manifest.hooks.contains(&Hook::AfterPublish))
        .collect();
    let mut done = position;
    'events: for event in &events {
        if event.kind == "entry.published"
            && !hooked.is_empty()
            && let (Some(ty), Some(id)) = (&event.entry_type, &event.entry_id)
        {
            if let Some(entry) = published_entry(host, tenant, ty, id).await? {
                for setup in &hooked {
                    if let Err(e) = host.after_publish(tenant, setup, entry.clone()).await {
                        let n = attempts
                            .entry((tenant.id().to_owned(), event.tenant_seq))
                            .or_insert(0);
                        *n += 1;
                        if *n < MAX_ATTEMPTS {
                            tracing::warn!(tenant = tenant.slug(), plugin = %setup.plugin_id, seq = event.tenant_seq, attempt = *n, error = %e, "after-publish failed; will retry");
                            break 'events;
                        }
                        tracing::error!(tenant = tenant.slug(), plugin = %setup.plugin_id, seq = event.tenant_seq, error = %e, "after-publish failed {MAX_ATTEMPTS} times; giving up on this event");
                    }
                }
            }
            attempts.remove(&(tenant.id().to_owned(), event.tenant_seq));
        }
        done = event.tenant_seq;
    }
    if done > position {
        outbox::acknowledge(conn, CONSUMER, tenant, done, crate::time::now_ms()).await?;
    }
    Ok(())
}

async fn published_entry(
    host: &PluginHost,
    tenant: &TenantCtx,
    entry_type: &str,
    id: &str,
) -> Result<Option<super::bindings::WitEntry>, PluginError> {
    let content = host.content();
    let to_err = |e: crate::content::ContentError| PluginError::Engine(e.to_string());
    let Ok(model) = content.model(tenant).await else {
        return Ok(None);
    };
    let Ok(ct) = model.get(entry_type) else {
        return Ok(None);
    };
    let Some(entry) = content
        .get(
            tenant,
            entry_type,
            &Lookup::Id(id.to_owned()),
            Stage::Published,
        )
        .await
        .map_err(to_err)?
    else {
        return Ok(None);
    };
    let locale = tenant.default_locale();
    let mut data = entry.to_localized_json(ct, locale, locale);
    if let Some(obj) = data.as_object_mut() {
        obj.remove("createdBy");
        obj.remove("updatedBy");
    }
    Ok(Some(super::bindings::WitEntry {
        id: entry.id,
        entry_type: entry.entry_type,
        slug: entry.slug,
        locale: locale.to_owned(),
        published_at: entry.published_at.map(crate::time::to_rfc3339),
        data_json: data.to_string(),
    }))
}
