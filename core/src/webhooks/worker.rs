//! The two background tasks of webhooks: the fan-out (outbox consumer `webhooks`) and the
//! sender. See the module above for the guarantees.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::{Webhooks, event_name, matches, signing};
use crate::store::outbox;
use crate::store::webhooks::{self as repo, Attempt, DeliveryRow, DeliveryStatus, WebhookRow};
use crate::tenancy::{self, TenantCtx};
use crate::time::{now_ms, to_rfc3339};

pub const CONSUMER: &str = "webhooks";
/// Outbox events one fan-out pass reads per tenant.
const BATCH: u64 = 500;
/// Retry delays in multiples of `retry_base_ms` (5 s by default: 5 s, 30 s, 2 min, 10 min,
/// 30 min, 1 h, 2 h, 4 h, 8 h, 8 h — about a day in all).
const BACKOFF: [u64; 10] = [1, 6, 24, 120, 360, 720, 1_440, 2_880, 5_760, 5_760];
/// Bytes of a receiver's answer kept in the delivery log.
const KEPT_RESPONSE: usize = 1_024;

/// Runs the fan-out and the sender until `shutdown`.
pub async fn run(hooks: Webhooks, shutdown: CancellationToken) {
    let interval = Duration::from_millis(hooks.config().interval_ms.max(10));
    let fan = {
        let hooks = hooks.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(interval) => {}
                }
                if let Err(e) = fan_out(&hooks).await {
                    tracing::warn!(error = %e, "webhook fan-out failed; retrying");
                }
            }
        })
    };
    let sender = Sender::new(&hooks);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
        if let Err(e) = sender.pass(&hooks).await {
            tracing::warn!(error = %e, "webhook sender failed; retrying");
        }
    }
    fan.abort();
}

/// One fan-out pass over every tenant.
pub async fn fan_out(hooks: &Webhooks) -> Result<(), sea_orm::DbErr> {
    let db = hooks.content().db().clone();
    // One query says which tenants have events past the position: an idle pass opens no
    // transaction.
    let behind: HashSet<String> = outbox::backlogs(&db, CONSUMER)
        .await?
        .into_iter()
        .filter(|(_, latest, position)| latest > position)
        .map(|(slug, _, _)| slug)
        .collect();
    if behind.is_empty() {
        return Ok(());
    }
    for tenant in tenancy::list(&db)
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?
        .into_iter()
        .filter(|t| behind.contains(t.slug()))
    {
        // The position moves and the deliveries appear in one transaction; on PostgreSQL the
        // consumer row is held, so one node fans a tenant's batch out. A write from the start
        // (on SQLite `BEGIN IMMEDIATE`), since it writes after reading.
        let txn = crate::store::begin_write(&db).await?;
        let Some(position) = outbox::claim(&txn, CONSUMER, &tenant).await? else {
            continue;
        };
        let events = outbox::read(&txn, &tenant, position, BATCH).await?;
        let Some(last) = events.last().map(|e| e.tenant_seq) else {
            continue;
        };
        // Read after the events: an endpoint created before an event committed is then
        // visible (each statement sees what committed before it), so it gets that event.
        let endpoints: Vec<(WebhookRow, Vec<String>)> = repo::list(&txn, tenant.id())
            .await?
            .into_iter()
            .filter(|w| w.enabled)
            .map(|w| {
                let events = serde_json::from_str(&w.events).unwrap_or_default();
                (w, events)
            })
            .collect();
        if !endpoints.is_empty() {
            for event in &events {
                let Some(name) = event_name(&event.kind, event.entry_type.as_deref()) else {
                    continue;
                };
                let wanted: Vec<&WebhookRow> = endpoints
                    .iter()
                    .filter(|(w, pats)| {
                        event.tenant_seq > w.since_seq && pats.iter().any(|p| matches(p, &name))
                    })
                    .map(|(w, _)| w)
                    .collect();
                if wanted.is_empty() {
                    continue;
                }
                let payload = payload(hooks, &tenant, event, &name).await?;
                let now = now_ms();
                for w in wanted {
                    repo::enqueue(
                        &txn,
                        &DeliveryRow {
                            id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
                            webhook_id: w.id.clone(),
                            tenant_id: tenant.id().to_owned(),
                            tenant_seq: event.tenant_seq,
                            event: name.clone(),
                            entry_id: event.entry_id.clone(),
                            payload: payload.clone(),
                            status: DeliveryStatus::Pending,
                            attempts: 0,
                            next_attempt_at: now,
                            last_status: None,
                            last_duration_ms: None,
                            last_response: None,
                            last_error: None,
                            created_at: now,
                            delivered_at: None,
                        },
                    )
                    .await?;
                }
            }
        }
        outbox::acknowledge(&txn, CONSUMER, &tenant, last, now_ms()).await?;
        txn.commit().await?;
    }
    Ok(())
}

/// The JSON body of a delivery: `{type, timestamp, data}` (Standard Webhooks' shape), with the
/// published document for a publish (from the version history), or a link to the published
/// entry when it is over `payload_bytes`.
async fn payload(
    hooks: &Webhooks,
    tenant: &TenantCtx,
    event: &outbox::Event,
    name: &str,
) -> Result<String, sea_orm::DbErr> {
    let mut data = json!({
        "tenant": tenant.slug(),
        "event": name,
        "entryType": event.entry_type,
        "entryId": event.entry_id,
        "slug": event.payload.get("slug").cloned().unwrap_or(Value::Null),
        "version": event.payload.get("version").cloned().unwrap_or(Value::Null),
        "sequence": event.tenant_seq,
    });
    // The document as published by this event (its version in the history), so that a
    // later edit or unpublish does not change what this delivery says.
    let version = event.payload.get("version").and_then(Value::as_i64);
    if event.kind == "entry.published"
        && let (Some(ty), Some(id), Some(version)) = (&event.entry_type, &event.entry_id, version)
    {
        let row =
            crate::store::entries::get_version(hooks.content().db(), tenant, id, version).await?;
        let document = row.map(|v| {
            json!({
                "id": v.entry_id,
                "type": v.entry_type,
                "slug": v.slug,
                "version": v.version,
                "publishedAt": to_rfc3339(event.created_at),
                "data": v.data,
            })
        });
        if let Some(obj) = data.as_object_mut() {
            match document {
                Some(d) if d.to_string().len() <= hooks.config().payload_bytes => {
                    obj.insert("document".into(), d);
                }
                Some(_) => {
                    obj.insert(
                        "link".into(),
                        Value::from(format!("/admin/api/v1/entries/{ty}/{id}?status=published")),
                    );
                }
                // Deleted before it could be sent: the event is still told.
                None => {
                    obj.insert("document".into(), Value::Null);
                }
            }
        }
    }
    Ok(json!({
        "type": event.kind,
        "timestamp": to_rfc3339(event.created_at),
        "data": data,
    })
    .to_string())
}

/// The sender's state on this node: endpoints in flight and the concurrency bounds.
struct Sender {
    global: Arc<Semaphore>,
    per_tenant: usize,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
    in_flight: Arc<Mutex<HashSet<String>>>,
}

impl Sender {
    fn new(hooks: &Webhooks) -> Sender {
        Sender {
            global: Arc::new(Semaphore::new(hooks.config().concurrency.max(1))),
            per_tenant: hooks.config().per_tenant.max(1),
            tenants: Mutex::default(),
            in_flight: Arc::default(),
        }
    }

    /// Starts a task for every endpoint with a due delivery, within the bounds.
    async fn pass(&self, hooks: &Webhooks) -> Result<(), sea_orm::DbErr> {
        let now = now_ms();
        for (webhook_id, tenant_id) in repo::due_endpoints(hooks.content().db(), now, 1_000).await?
        {
            if self
                .in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(&webhook_id)
            {
                continue;
            }
            let tenant_sem = self
                .tenants
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(tenant_id.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
                .clone();
            let Ok(tenant_permit) = tenant_sem.try_acquire_owned() else {
                continue; // this tenant has its share in flight
            };
            let Ok(global_permit) = self.global.clone().try_acquire_owned() else {
                break;
            };
            self.in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(webhook_id.clone());
            let hooks = hooks.clone();
            let in_flight = self.in_flight.clone();
            tokio::spawn(async move {
                if let Err(e) = drain(&hooks, &tenant_id, &webhook_id).await {
                    tracing::warn!(webhook = %webhook_id, error = %e, "webhook delivery failed");
                }
                in_flight
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&webhook_id);
                drop((tenant_permit, global_permit));
            });
        }
        Ok(())
    }
}

/// Deliveries claimed at once per endpoint.
const CLAIM: u64 = 50;

/// Sends an endpoint's due deliveries in order, one at a time, until one is not due or fails.
async fn drain(hooks: &Webhooks, tenant_id: &str, webhook_id: &str) -> Result<(), sea_orm::DbErr> {
    let db = hooks.content().db();
    let lease = i64::try_from(hooks.config().timeout_ms)
        .unwrap_or(5_000)
        .saturating_mul(2)
        .saturating_add(5_000);
    for _ in 0..100 {
        let now = now_ms();
        let Some(mut endpoint) = repo::get(db, tenant_id, webhook_id).await? else {
            return Ok(());
        };
        if !endpoint.enabled {
            return Ok(());
        }
        // The batch is leased for one delivery's worth of time and the lease is renewed as
        // it goes, so a node that dies holds it up for one lease at most.
        let mut until = now + lease;
        let batch = repo::claim_batch(db, webhook_id, now, until, CLAIM).await?;
        if batch.is_empty() {
            return Ok(()); // nothing due, or another node has them
        }
        let ids: Vec<String> = batch.iter().map(|d| d.id.clone()).collect();
        for (i, delivery) in batch.iter().enumerate() {
            let rest = &ids[i + 1..];
            if until - now_ms() < lease / 2 {
                until = now_ms() + lease;
                repo::extend_lease(db, &ids[i..], until).await?;
            }
            let attempt = send(hooks, &endpoint, delivery).await;
            if let Err(e) = repo::record_attempt(db, &delivery.id, &attempt).await {
                // Sent but not recorded: it goes out again (at least once), at the next pass.
                let _ = repo::release(db, &delivery.id).await;
                release_all(db, rest).await;
                return Err(e);
            }
            let ok = attempt.status == DeliveryStatus::Delivered;
            if track_failures(hooks, db, tenant_id, &mut endpoint, ok, &attempt).await? {
                endpoint.updated_at = now_ms();
                repo::update(db, &endpoint).await?;
            }
            if !ok {
                // In order: what follows waits for this one's retry.
                release_all(db, rest).await;
                return Ok(());
            }
        }
    }
    Ok(())
}

async fn release_all(db: &crate::store::Db, ids: &[String]) {
    for id in ids {
        if let Err(e) = repo::release(db, id).await {
            tracing::warn!(delivery = %id, error = %e, "releasing a webhook delivery");
        }
    }
}

/// The endpoint's failure streak: cleared by a success; past `disable_after_hours` the
/// endpoint is disabled and the tenant's audit log says so. Whether the endpoint changed.
async fn track_failures(
    hooks: &Webhooks,
    db: &crate::store::Db,
    tenant_id: &str,
    endpoint: &mut WebhookRow,
    ok: bool,
    attempt: &Attempt,
) -> Result<bool, sea_orm::DbErr> {
    Ok(match (ok, endpoint.failing_since) {
        (true, Some(_)) => {
            endpoint.failing_since = None;
            true
        }
        (false, None) => {
            endpoint.failing_since = Some(attempt.at);
            true
        }
        (false, Some(since)) => {
            let limit = i64::try_from(hooks.config().disable_after_hours)
                .unwrap_or(72)
                .saturating_mul(3_600_000);
            if attempt.at - since > limit {
                endpoint.enabled = false;
                crate::audit::record(
                    db,
                    crate::audit::Event {
                        tenant_id: Some(tenant_id),
                        actor: "webhooks",
                        action: "webhook.disabled",
                        target: format!("webhook/{}", endpoint.id),
                        detail: json!({
                            "url": endpoint.url,
                            "failingSince": to_rfc3339(since),
                            "lastError": attempt.error,
                            "lastStatus": attempt.code,
                        }),
                        client: None,
                    },
                )
                .await?;
                tracing::warn!(webhook = %endpoint.id, url = %endpoint.url, "webhook endpoint disabled after failing for too long");
                true
            } else {
                false
            }
        }
        (true, None) => false,
    })
}

/// One attempt: the signed POST and what came of it.
async fn send(hooks: &Webhooks, endpoint: &WebhookRow, d: &DeliveryRow) -> Attempt {
    let now = now_ms();
    let ts = now / 1000;
    let mut secrets = vec![endpoint.secret.as_str()];
    if let (Some(prev), Some(until)) = (&endpoint.previous_secret, endpoint.previous_until)
        && until > now
    {
        secrets.push(prev);
    }
    let body = d.payload.as_bytes();
    let signature = signing::header(&secrets, &d.id, ts, body);
    let started = Instant::now();
    let outcome = async {
        // Literal addresses bypass the resolver: check them here.
        let url = url::Url::parse(&endpoint.url).map_err(|e| e.to_string())?;
        match url.host() {
            Some(url::Host::Ipv4(ip)) => hooks.inner.guard.check(ip.into())?,
            Some(url::Host::Ipv6(ip)) => hooks.inner.guard.check(ip.into())?,
            _ => {}
        }
        let mut resp = hooks
            .inner
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(d.payload.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let code = resp.status();
        let mut kept = Vec::new();
        let mut read = 0usize;
        while read < hooks.config().response_bytes {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    if kept.len() < KEPT_RESPONSE {
                        let room = KEPT_RESPONSE - kept.len();
                        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                }
                _ => break,
            }
        }
        Ok::<_, String>((code, String::from_utf8_lossy(&kept).into_owned()))
    }
    .await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let at = now_ms();
    let (code, response, error) = match outcome {
        Ok((code, text)) if code.is_success() => {
            return Attempt {
                status: DeliveryStatus::Delivered,
                next_attempt_at: d.next_attempt_at,
                code: Some(i32::from(code.as_u16())),
                duration_ms,
                response: Some(text),
                error: None,
                at,
            };
        }
        Ok((code, text)) => (
            Some(i32::from(code.as_u16())),
            Some(text),
            Some(format!("the receiver answered {code}")),
        ),
        Err(e) => (None, None, Some(e)),
    };
    let attempts = u32::try_from(d.attempts).unwrap_or(0) + 1;
    let last = attempts >= hooks.config().attempts.max(1);
    let next = if last {
        at
    } else {
        let step = BACKOFF[(attempts as usize - 1).min(BACKOFF.len() - 1)];
        let base = hooks.config().retry_base_ms.saturating_mul(step);
        // ±20% jitter, so retries of many deliveries do not arrive together.
        let jitter = rand::rng().random_range(0.8..1.2);
        at + (base as f64 * jitter) as i64
    };
    Attempt {
        status: if last {
            DeliveryStatus::Failed
        } else {
            DeliveryStatus::Pending
        },
        next_attempt_at: next,
        code,
        duration_ms,
        response,
        error,
        at,
    }
}

/// A transport error in a sentence, with its cause (the resolver's refusal, a timeout …).
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
