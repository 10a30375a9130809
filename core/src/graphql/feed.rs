//! The outbox as a live feed for subscriptions: one tailer per node reads each subscribed
//! tenant's new outbox events once per tick and fans them out to that tenant's subscribers, so
//! a thousand subscribers cost one query per tick, not a thousand. The outbox is in the
//! database, so events written through any node reach subscribers on every node.
//!
//! Limits: subscriptions per tenant on this node (`limits.subscriptions_per_tenant`) here;
//! per connection in the `entryChanged` resolver. A subscriber that falls more than the
//! channel's capacity behind is ended with an error rather than silently skipping events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::store::Db;
use crate::store::outbox::{self, Event};
use crate::tenancy::TenantCtx;

/// Events each subscriber may fall behind before it is ended.
const CAPACITY: usize = 1024;
/// Events read per tenant per tick.
const BATCH: u64 = 500;

#[derive(Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    poll: Duration,
    per_tenant: usize,
    tenants: Mutex<HashMap<String, TenantFeed>>,
    tailer: std::sync::Once,
}

struct TenantFeed {
    tenant: TenantCtx,
    tx: broadcast::Sender<Arc<Event>>,
    /// The last outbox sequence fanned out.
    pos: i64,
    subscribers: usize,
}

/// Why a subscription was not opened.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("this tenant has {0} open subscriptions on this server, the most allowed")]
    Full(usize),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// One subscriber's end of its tenant's feed; leaving it (drop) frees its place.
pub struct Subscription {
    pub events: broadcast::Receiver<Arc<Event>>,
    _place: Place,
}

struct Place {
    feed: Weak<Inner>,
    tenant: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(inner) = self.feed.upgrade() {
            let mut tenants = inner.lock();
            if let Some(t) = tenants.get_mut(&self.tenant) {
                t.subscribers = t.subscribers.saturating_sub(1);
                if t.subscribers == 0 {
                    tenants.remove(&self.tenant);
                }
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TenantFeed>> {
        self.tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Feed {
    pub fn new(db: Db, poll: Duration, per_tenant: usize) -> Feed {
        Feed {
            inner: Arc::new(Inner {
                db,
                poll,
                per_tenant,
                tenants: Mutex::default(),
                tailer: std::sync::Once::new(),
            }),
        }
    }

    /// Joins the tenant's feed: events committed from now on.
    pub async fn subscribe(&self, tenant: &TenantCtx) -> Result<Subscription, FeedError> {
        self.start_tailer();
        // A tenant's first subscriber sets where its feed starts.
        let joined = self.join(tenant, None)?;
        let events = match joined {
            Some(rx) => rx,
            None => {
                let start = outbox::latest(&self.inner.db, tenant).await?;
                match self.join(tenant, Some(start))? {
                    Some(rx) => rx,
                    None => return Err(FeedError::Full(self.inner.per_tenant)),
                }
            }
        };
        Ok(Subscription {
            events,
            _place: Place {
                feed: Arc::downgrade(&self.inner),
                tenant: tenant.id().to_owned(),
            },
        })
    }

    /// Takes a place in an existing feed, or creates it at `start`; `None` when there is no
    /// feed and no start.
    fn join(
        &self,
        tenant: &TenantCtx,
        start: Option<i64>,
    ) -> Result<Option<broadcast::Receiver<Arc<Event>>>, FeedError> {
        let mut tenants = self.inner.lock();
        let feed = match (tenants.get_mut(tenant.id()), start) {
            (Some(feed), _) => feed,
            (None, Some(pos)) => {
                let (tx, _) = broadcast::channel(CAPACITY);
                tenants.entry(tenant.id().to_owned()).or_insert(TenantFeed {
                    tenant: tenant.clone(),
                    tx,
                    pos,
                    subscribers: 0,
                })
            }
            (None, None) => return Ok(None),
        };
        if feed.subscribers >= self.inner.per_tenant {
            return Err(FeedError::Full(self.inner.per_tenant));
        }
        feed.subscribers += 1;
        Ok(Some(feed.tx.subscribe()))
    }

    fn start_tailer(&self) {
        let weak = Arc::downgrade(&self.inner);
        let poll = self.inner.poll;
        self.inner.tailer.call_once(|| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(poll).await;
                    let Some(inner) = weak.upgrade() else { return };
                    tail(&inner).await;
                }
            });
        });
    }

    /// Subscriptions open on this node for a tenant (metrics and tests).
    pub fn subscribers(&self, tenant: &TenantCtx) -> usize {
        self.inner
            .lock()
            .get(tenant.id())
            .map_or(0, |t| t.subscribers)
    }
}

/// One tick: every subscribed tenant's new events, in order, to its subscribers.
async fn tail(inner: &Inner) {
    let work: Vec<(TenantCtx, i64)> = inner
        .lock()
        .values()
        .map(|t| (t.tenant.clone(), t.pos))
        .collect();
    for (tenant, pos) in work {
        let events = match outbox::read(&inner.db, &tenant, pos, BATCH).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, tenant = tenant.slug(), "reading the outbox for subscribers");
                continue;
            }
        };
        let mut tenants = inner.lock();
        let Some(feed) = tenants.get_mut(tenant.id()) else {
            continue;
        };
        // Another tick may not have moved it meanwhile (one tailer), but be exact anyway.
        for event in events {
            if event.tenant_seq <= feed.pos {
                continue;
            }
            feed.pos = event.tenant_seq;
            // No receiver left is not an error: the place is freed on the next drop.
            let _ = feed.tx.send(Arc::new(event));
        }
    }
}
