//! Retention: the outbox and the version history would otherwise grow forever.
//!
//! - The outbox keeps what some live consumer (search, webhooks, plugin hooks) has not passed,
//!   and every event younger than `retention.outbox_min_age_secs`. A consumer silent for more
//!   than `retention.consumer_stale_hours` (a node that left, with its node-local search
//!   index) no longer holds events back; if it comes back below the oldest kept event, its
//!   search index rebuilds instead of skipping what went.
//! - Each entry keeps its newest `keep` versions and those younger than `days` (the tenant's
//!   `versions` setting, else the server's), and always the version its published copy and its
//!   draft are at.
//!
//! Runs on every node every `retention.interval_secs`; the deletes are idempotent, so nodes
//! running it at once only repeat each other's work.

use std::time::Duration;

use sea_orm::DbErr;
use tokio_util::sync::CancellationToken;

use crate::config::RetentionConfig;
use crate::store::{Db, entries, outbox};
use crate::tenancy::{self, TenantCtx};

const DAY_MS: i64 = 86_400_000;

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub events: u64,
    pub versions: u64,
}

/// `n` units of `unit_ms` milliseconds, saturating (a huge configured value means "keep all").
fn ms(n: u64, unit_ms: i64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX).saturating_mul(unit_ms)
}

/// One tenant, as of `now` (ms).
pub async fn tenant(
    db: &Db,
    config: &RetentionConfig,
    ctx: &TenantCtx,
    now: i64,
) -> Result<Pruned, DbErr> {
    let mut pruned = Pruned::default();
    let fresh_since = now.saturating_sub(ms(config.consumer_stale_hours, 3_600_000));
    if let Some(passed) = outbox::passed_by_all(db, ctx, fresh_since).await? {
        let before = now.saturating_sub(ms(config.outbox_min_age_secs, 1_000));
        pruned.events = outbox::prune(db, ctx, passed, before).await?;
    }
    let (keep, days) = match ctx.version_policy() {
        Some(p) => (p.keep, p.days),
        None => (config.versions_keep, config.versions_days),
    };
    if days > 0 {
        pruned.versions = entries::prune_versions(
            db,
            ctx,
            keep.max(1),
            now.saturating_sub(ms(days.into(), DAY_MS)),
        )
        .await?;
    }
    Ok(pruned)
}

/// Every tenant, as of `now` (ms).
pub async fn run_once(db: &Db, config: &RetentionConfig, now: i64) -> Result<Pruned, DbErr> {
    let mut total = Pruned::default();
    let tenants = tenancy::list(db)
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    for ctx in tenants {
        let p = tenant(db, config, &ctx, now).await?;
        if p != Pruned::default() {
            tracing::info!(
                tenant = ctx.slug(),
                events = p.events,
                versions = p.versions,
                "retention"
            );
        }
        total.events += p.events;
        total.versions += p.versions;
    }
    Ok(total)
}

/// The background task of a server.
pub async fn run(db: Db, config: RetentionConfig, shutdown: CancellationToken) {
    if config.interval_secs == 0 {
        return;
    }
    let interval = Duration::from_secs(config.interval_secs);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        if let Err(e) = run_once(&db, &config, crate::time::now_ms()).await {
            tracing::warn!(error = %e, "retention pass failed; retried at the next interval");
        }
    }
}
