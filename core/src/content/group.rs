//! Group commit: single entry writes of one tenant that arrive together share one transaction.
//!
//! Every entry write takes the tenant's lock, and its commit writes the pages it touched to the
//! log: under eight concurrent editors on SQLite, `perf` put a quarter of the server's CPU in
//! `COMMIT` alone (WAL frames and checkpoints), most of it pages every write touches (the tenant
//! row, the tails of the outbox, the audit log and the version table). Here a write joins its
//! tenant's queue; one task per tenant takes the lock, applies everything queued by then, each
//! in a savepoint of its own, in arrival order, and commits once (`bulk`: consecutive creates are checked together and
//! written with one statement per table). Each write keeps its own
//! result and its own checks (`expectedVersion`, unique values, slugs) against the writes
//! before it, exactly as if they had run one after another; one that fails is undone alone.
//! A write is answered only after the commit that holds it. On PostgreSQL a group of plain
//! creates is first tried as one statement with no transaction (`bulk`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::DbBackend;
use tokio::sync::oneshot;

use super::bulk::{Applied, Outcome, Write};
use super::entries::Prepared;
use super::{Content, ContentError};
use crate::tenancy::TenantCtx;

/// Queued writes per tenant.
#[derive(Default)]
pub(super) struct Groups {
    queues: Mutex<HashMap<String, Queue>>,
}

impl Groups {
    /// The queues; a panic elsewhere while they were locked leaves them consistent (every
    /// change is one push, drain or remove), so a poisoned lock is taken as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        self.queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// Whether a task is committing this tenant's queue; the flag and the queue change
    /// together under one lock, so no write is left queued without a task to commit it.
    leading: bool,
}

struct Pending {
    write: Write,
    reply: oneshot::Sender<Outcome>,
}

impl Content {
    /// Applies one prepared write in its tenant's next group commit.
    pub(super) async fn write_grouped(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        write: Prepared,
        actor: Option<&str>,
    ) -> Outcome {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            write: Write {
                ctx: ctx.clone(),
                entry_type: entry_type.to_owned(),
                write,
                actor: actor.map(str::to_owned),
            },
            reply,
        };
        let lead = {
            let mut queues = self.groups.lock();
            let queue = queues.entry(ctx.id().to_owned()).or_default();
            queue.pending.push(pending);
            !std::mem::replace(&mut queue.leading, true)
        };
        if lead {
            // A task of its own, so that a request that goes away does not strand the writes
            // queued behind it.
            let content = self.clone();
            let tenant = ctx.id().to_owned();
            tokio::spawn(async move { content.lead(tenant).await });
        }
        answer.await.unwrap_or_else(|_| {
            Err(ContentError::Db(sea_orm::DbErr::Custom(
                "the write was abandoned before its commit".into(),
            )))
        })
    }

    /// Commits the tenant's queue, group after group, until it is empty.
    async fn lead(self, tenant: String) {
        let mut unwinding = Unwinding {
            groups: self.groups.clone(),
            tenant: tenant.clone(),
            armed: true,
        };
        while let Some(ctx) = self.next_ctx(&tenant) {
            self.commit_group(&tenant, &ctx).await;
        }
        // `next_ctx` removed the empty queue under its lock; a write after that starts anew.
        unwinding.armed = false;
    }

    /// The context of the oldest queued write, or `None` (and the task resigns) when the queue
    /// is empty.
    fn next_ctx(&self, tenant: &str) -> Option<TenantCtx> {
        let mut queues = self.groups.lock();
        let queue = queues.get_mut(tenant)?;
        match queue.pending.first() {
            Some(first) => Some(first.write.ctx.clone()),
            None => {
                queues.remove(tenant);
                None
            }
        }
    }

    fn take_group(&self, tenant: &str) -> Vec<Pending> {
        let mut queues = self.groups.lock();
        let Some(queue) = queues.get_mut(tenant) else {
            return Vec::new();
        };
        let n = queue.pending.len().min(self.batch_max.max(1));
        queue.pending.drain(..n).collect()
    }

    async fn commit_group(&self, tenant: &str, ctx: &TenantCtx) {
        // PostgreSQL: a group of plain creates is first tried as one statement with no
        // transaction (`bulk`), so it is taken before any lock.
        let mut taken = None;
        if self.db.get_database_backend() == DbBackend::Postgres {
            let (writes, replies): (Vec<Write>, Vec<_>) = self
                .take_group(tenant)
                .into_iter()
                .map(|p| (p.write, p.reply))
                .unzip();
            if let Some(outcomes) = self.write_creates_at_once(&writes).await {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
                return;
            }
            taken = Some((writes, replies));
        }
        let (txn, model) = match self.begin_write(ctx).await {
            Ok(opened) => opened,
            Err(e) => {
                // Everything queued meanwhile shares the failure (the tenant is gone, the
                // database is unreachable).
                let replies = match taken {
                    Some((_, replies)) => replies,
                    None => self
                        .take_group(tenant)
                        .into_iter()
                        .map(|p| p.reply)
                        .collect(),
                };
                for reply in replies {
                    let _ = reply.send(Err(replicate(&e)));
                }
                return;
            }
        };
        // Otherwise taken once the lock is held: the writes that queued while it was awaited
        // join.
        let (writes, replies): (Vec<Write>, Vec<_>) = match taken {
            Some(taken) => taken,
            None => self
                .take_group(tenant)
                .into_iter()
                .map(|p| (p.write, p.reply))
                .unzip(),
        };
        let (txn, applied) = match self.apply_group(&txn, &model, writes).await {
            Ok(Applied::Retry(writes)) => {
                let _ = txn.rollback().await;
                match self.begin_write(ctx).await {
                    Ok((txn, model)) => {
                        let applied = self.apply_all(&txn, &model, writes).await;
                        (txn, applied)
                    }
                    Err(e) => {
                        for reply in replies {
                            let _ = reply.send(Err(replicate(&e)));
                        }
                        return;
                    }
                }
            }
            Ok(Applied::Done(outcomes)) => (txn, Ok(outcomes)),
            Err(e) => (txn, Err(e)),
        };
        let failed = match applied {
            Ok(outcomes) => match txn.commit().await {
                Ok(()) => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(outcome);
                    }
                    return;
                }
                Err(e) => e,
            },
            Err(e) => {
                // A statement failed outside any write's savepoint: the transaction is
                // unusable, and nothing in it will be committed.
                let _ = txn.rollback().await;
                e
            }
        };
        let e = ContentError::Db(failed);
        for reply in replies {
            let _ = reply.send(Err(replicate(&e)));
        }
    }
}

/// Ends the tenant's leadership if its task panics: the writes still queued are answered with
/// an error (their senders drop) and the next write starts a new task.
struct Unwinding {
    groups: Arc<Groups>,
    tenant: String,
    armed: bool,
}

impl Drop for Unwinding {
    fn drop(&mut self) {
        if self.armed {
            self.groups.lock().remove(&self.tenant);
        }
    }
}

/// The same error for each write of a group that failed as a whole.
fn replicate(e: &ContentError) -> ContentError {
    match e {
        ContentError::UnknownType(t) => ContentError::UnknownType(t.clone()),
        ContentError::Invalid(fields) => ContentError::Invalid(fields.clone()),
        ContentError::NotFound(what) => ContentError::NotFound(what.clone()),
        ContentError::Conflict { message, fields } => ContentError::Conflict {
            message: message.clone(),
            fields: fields.clone(),
        },
        ContentError::Plugin { code, message } => ContentError::Plugin {
            code: *code,
            message: message.clone(),
        },
        ContentError::Db(db) => ContentError::Db(sea_orm::DbErr::Custom(db.to_string())),
    }
}
