//! Scheduled publishing: `publishAt` and `unpublishAt` on an entry, and the background task
//! that carries them out.
//!
//! A due schedule is carried out inside one write transaction of its tenant: under the
//! tenant's write lock the row is read again ([`schedules::still_due`]), the entry is published
//! or unpublished exactly as by hand (same outbox event, so search, plugins' `after-publish`
//! and subscriptions follow; same version history and audit rows, in the name of who
//! scheduled it), and the row is deleted. Two nodes that both see a schedule due serialize on
//! the lock, and the second finds the row gone, so a schedule fires once. Schedules due while
//! no server ran are carried out at the next start, oldest first. A schedule that cannot be
//! carried out (the draft broke a rule added since) is kept with its failure and audited; it
//! does not fire again until it is set anew.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Content, ContentError};
use crate::error::FieldError;
use crate::store::schedules::{self, ScheduleAction, ScheduleRow};
use crate::tenancy::{self, TenantCtx};
use crate::time::now_ms;

/// Due schedules read per pass.
const BATCH: u64 = 100;

/// A change to an entry's schedule: for each action, `None` keeps it, `Some(None)` clears it,
/// `Some(Some(t))` sets it to `t` (UTC milliseconds, in the future).
#[derive(Debug, Clone, Default)]
pub struct ScheduleChange {
    pub publish_at: Option<Option<i64>>,
    pub unpublish_at: Option<Option<i64>>,
}

/// An entry's pending schedule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntrySchedule {
    pub publish: Option<ScheduleRow>,
    pub unpublish: Option<ScheduleRow>,
}

impl EntrySchedule {
    fn from_rows(rows: Vec<ScheduleRow>) -> EntrySchedule {
        let mut s = EntrySchedule::default();
        for r in rows {
            match r.action {
                ScheduleAction::Publish => s.publish = Some(r),
                ScheduleAction::Unpublish => s.unpublish = Some(r),
            }
        }
        s
    }
}

impl Content {
    /// Sets or clears an entry's scheduled publish and unpublish (authorization is the
    /// caller's: the roles that may publish the type). Audited in the actor's name.
    pub async fn schedule(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        change: ScheduleChange,
        actor: Option<&str>,
    ) -> Result<EntrySchedule, ContentError> {
        let now = now_ms();
        let mut errors = Vec::new();
        for (field, at) in [
            ("publishAt", change.publish_at),
            ("unpublishAt", change.unpublish_at),
        ] {
            if let Some(Some(t)) = at
                && t <= now
            {
                errors.push(FieldError::new(
                    field,
                    "future",
                    format!("`{field}` must be in the future"),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ContentError::Invalid(errors));
        }
        let (txn, model) = self.begin_write(ctx).await?;
        model.get(entry_type)?;
        if crate::store::entries::get_draft_for_update(&txn, ctx, entry_type, id)
            .await?
            .is_none()
        {
            return Err(ContentError::NotFound(format!("{entry_type} {id}")));
        }
        let current = EntrySchedule::from_rows(schedules::for_entry(&txn, ctx.id(), id).await?);
        let effective = |change: Option<Option<i64>>, current: &Option<ScheduleRow>| match change {
            Some(v) => v,
            None => current.as_ref().map(|r| r.due_at),
        };
        let (publish_at, unpublish_at) = (
            effective(change.publish_at, &current.publish),
            effective(change.unpublish_at, &current.unpublish),
        );
        if let (Some(p), Some(u)) = (publish_at, unpublish_at)
            && u <= p
        {
            return Err(ContentError::Invalid(vec![FieldError::new(
                "unpublishAt",
                "after",
                "`unpublishAt` must come after `publishAt`",
            )]));
        }
        for (action, at) in [
            (ScheduleAction::Publish, change.publish_at),
            (ScheduleAction::Unpublish, change.unpublish_at),
        ] {
            match at {
                None => {}
                Some(None) => {
                    schedules::delete(&txn, ctx.id(), id, Some(action)).await?;
                }
                Some(Some(due_at)) => {
                    schedules::upsert(
                        &txn,
                        &ScheduleRow {
                            tenant_id: ctx.id().to_owned(),
                            entry_id: id.to_owned(),
                            entry_type: entry_type.to_owned(),
                            action,
                            due_at,
                            created_by: actor.map(str::to_owned),
                            created_at: now,
                            failure: None,
                        },
                    )
                    .await?;
                }
            }
        }
        crate::audit::record(
            &txn,
            crate::audit::Event::new(Some(ctx), actor.unwrap_or("anonymous"), "entry.scheduled")
                .target(format!("{entry_type}/{id}"))
                .detail(serde_json::json!({
                    "publishAt": publish_at.map(crate::time::to_rfc3339),
                    "unpublishAt": unpublish_at.map(crate::time::to_rfc3339),
                })),
        )
        .await?;
        let out = EntrySchedule::from_rows(schedules::for_entry(&txn, ctx.id(), id).await?);
        txn.commit().await?;
        Ok(out)
    }

    /// An entry's pending schedule.
    pub async fn schedule_of(
        &self,
        ctx: &TenantCtx,
        id: &str,
    ) -> Result<EntrySchedule, ContentError> {
        Ok(EntrySchedule::from_rows(
            schedules::for_entry(self.db(), ctx.id(), id).await?,
        ))
    }

    /// The tenant's schedules, soonest first (optionally those due before `until`).
    pub async fn schedules(
        &self,
        ctx: &TenantCtx,
        until: Option<i64>,
        limit: u64,
    ) -> Result<Vec<ScheduleRow>, ContentError> {
        Ok(schedules::for_tenant(self.db(), ctx.id(), until, limit).await?)
    }

    /// Carries out one due schedule; `false` when another node already did (or it changed).
    pub async fn run_schedule(
        &self,
        ctx: &TenantCtx,
        row: &ScheduleRow,
    ) -> Result<bool, ContentError> {
        let (txn, model) = self.begin_write(ctx).await?;
        if !schedules::still_due(&txn, row).await? {
            return Ok(false);
        }
        let actor = row.created_by.as_deref();
        let done = match row.action {
            ScheduleAction::Publish => {
                self.publish_in(
                    &txn,
                    &model,
                    ctx,
                    &row.entry_type,
                    &row.entry_id,
                    None,
                    actor,
                )
                .await
            }
            ScheduleAction::Unpublish => {
                self.unpublish_in(&txn, &model, ctx, &row.entry_type, &row.entry_id, actor)
                    .await
            }
        };
        match done {
            Ok(_) => {
                schedules::delete(&txn, ctx.id(), &row.entry_id, Some(row.action)).await?;
                crate::audit::record(
                    &txn,
                    crate::audit::Event::new(Some(ctx), "scheduler", "entry.schedule_fired")
                        .target(format!("{}/{}", row.entry_type, row.entry_id))
                        .detail(serde_json::json!({
                            "action": row.action.as_str(),
                            "dueAt": crate::time::to_rfc3339(row.due_at),
                            "scheduledBy": row.created_by,
                        })),
                )
                .await?;
                txn.commit().await?;
                Ok(true)
            }
            Err(ContentError::Db(e)) => Err(ContentError::Db(e)),
            Err(e) => {
                // The entry cannot be published as it stands: keep the schedule, marked.
                drop(txn);
                let why = e.to_string();
                schedules::fail(self.db(), row, &why).await?;
                crate::audit::record(
                    self.db(),
                    crate::audit::Event::new(Some(ctx), "scheduler", "entry.schedule_failed")
                        .target(format!("{}/{}", row.entry_type, row.entry_id))
                        .detail(serde_json::json!({
                            "action": row.action.as_str(),
                            "dueAt": crate::time::to_rfc3339(row.due_at),
                            "scheduledBy": row.created_by,
                            "error": why,
                        })),
                )
                .await?;
                tracing::warn!(tenant = ctx.slug(), entry = %row.entry_id, action = row.action.as_str(), error = %e, "a scheduled change could not be carried out");
                Ok(false)
            }
        }
    }
}

/// One pass: carries out every schedule due now; returns how many fired.
pub async fn pass(content: &Content) -> Result<usize, ContentError> {
    let mut fired = 0;
    let due = schedules::due(content.db(), now_ms(), BATCH).await?;
    let mut tenants: std::collections::HashMap<String, TenantCtx> = Default::default();
    for row in due {
        let ctx = match tenants.get(&row.tenant_id) {
            Some(c) => c.clone(),
            None => match tenancy::by_id(content.db(), &row.tenant_id).await {
                Ok(c) => {
                    tenants.insert(row.tenant_id.clone(), c.clone());
                    c
                }
                Err(e) => {
                    tracing::warn!(tenant = %row.tenant_id, error = %e, "scheduler: tenant");
                    continue;
                }
            },
        };
        if content.run_schedule(&ctx, &row).await? {
            fired += 1;
        }
    }
    Ok(fired)
}

/// Runs passes every `interval` until `shutdown` (the first one an interval after start:
/// schedules due while no server ran fire then).
pub async fn run(content: Content, interval: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
        if let Err(e) = pass(&content).await {
            tracing::warn!(error = %e, "scheduler pass failed; retrying");
        }
    }
}
