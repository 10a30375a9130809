//! Webhooks: per-tenant endpoints that receive content events, signed after the Standard
//! Webhooks specification ([`signing`]), at least once, in event order per endpoint.
//!
//! Two background tasks ([`worker`]): the fan-out, an outbox consumer (`webhooks`) that turns
//! each event into one delivery row per matching endpoint in the same transaction that moves
//! its position (none lost, none doubled), and the sender, which claims an endpoint's oldest
//! pending delivery with a lease (one node sends it), posts it and records the outcome, with
//! retries on a growing, jittered schedule for about a day. Endpoints are reached only at
//! public addresses ([`ssrf`]), with a timeout, no redirects and a cap on what is read back;
//! each endpoint has one delivery in flight and each tenant a bounded number, so a slow
//! receiver holds up nobody else.

pub mod signing;
pub mod ssrf;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::WebhooksConfig;
use crate::content::Content;
use crate::error::FieldError;
use crate::store::webhooks::{self as repo, WebhookRow};
use crate::tenancy::TenantCtx;
use crate::time::now_ms;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("invalid input: {}", crate::error::describe_fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    #[error("webhooks are not available: {0}")]
    Setup(String),
}

/// The actions an endpoint may ask for, after the content type (`article.published`).
const ACTIONS: [&str; 5] = ["created", "updated", "published", "unpublished", "deleted"];

/// The webhook event name of an outbox event: `<type>.<action>` for entries,
/// `content_type.changed` for a type change.
pub fn event_name(kind: &str, entry_type: Option<&str>) -> Option<String> {
    match (kind.strip_prefix("entry."), entry_type) {
        (Some(action), Some(ty)) if ACTIONS.contains(&action) => Some(format!("{ty}.{action}")),
        _ if kind == "content_type.changed" => Some(kind.to_owned()),
        _ => None,
    }
}

/// Whether a pattern (`*`, `article.*`, `*.published`, `article.published`,
/// `content_type.changed`) covers an event name.
pub fn matches(pattern: &str, event: &str) -> bool {
    if pattern == "*" || pattern == event {
        return true;
    }
    match (pattern.split_once('.'), event.split_once('.')) {
        (Some((pt, pa)), Some((et, ea))) => (pt == "*" || pt == et) && (pa == "*" || pa == ea),
        _ => false,
    }
}

fn valid_pattern(p: &str) -> bool {
    if p == "*" || p == "content_type.changed" {
        return true;
    }
    let Some((ty, action)) = p.split_once('.') else {
        return false;
    };
    let ty_ok = ty == "*"
        || (ty.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    ty_ok && (action == "*" || ACTIONS.contains(&action))
}

/// What a tenant admin sends to create or change an endpoint.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub events: Option<Vec<String>>,
}

/// The webhook service: endpoints, and the client that delivers to them.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    content: Content,
    config: WebhooksConfig,
    guard: ssrf::Guard,
    client: reqwest::Client,
}

impl Webhooks {
    pub fn new(content: Content, config: &WebhooksConfig) -> Result<Webhooks, WebhookError> {
        let guard = ssrf::Guard::new(&config.allow_private).map_err(WebhookError::Setup)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(config.timeout_ms.max(1)))
            .connect_timeout(Duration::from_millis(config.timeout_ms.max(1)))
            .no_proxy()
            .pool_max_idle_per_host(2)
            .dns_resolver(Arc::new(ssrf::GuardedResolver {
                guard: guard.clone(),
            }))
            .user_agent(concat!("Zellige-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookError::Setup(e.to_string()))?;
        Ok(Webhooks {
            inner: Arc::new(Inner {
                content,
                config: config.clone(),
                guard,
                client,
            }),
        })
    }

    pub fn content(&self) -> &Content {
        &self.inner.content
    }

    pub fn config(&self) -> &WebhooksConfig {
        &self.inner.config
    }

    fn db(&self) -> &crate::store::Db {
        self.inner.content.db()
    }

    /// Checks a URL: http or https, a host, and not an internal address written literally.
    fn check_url(&self, url: &str) -> Result<url::Url, WebhookError> {
        let bad =
            |message: String| WebhookError::Invalid(vec![FieldError::new("url", "url", message)]);
        if url.len() > 2_000 {
            return Err(bad("`url` has at most 2000 characters".into()));
        }
        let parsed = url::Url::parse(url).map_err(|e| bad(format!("`url` is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("`url` must be http or https".into()));
        }
        let ip = match parsed.host() {
            None => return Err(bad("`url` needs a host".into())),
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
        };
        if let Some(ip) = ip {
            self.inner
                .guard
                .check(ip)
                .map_err(|e| WebhookError::Invalid(vec![FieldError::new("url", "public", e)]))?;
        }
        Ok(parsed)
    }

    fn check_events(events: &[String]) -> Result<(), WebhookError> {
        if events.is_empty() {
            return Err(WebhookError::Invalid(vec![FieldError::new(
                "events",
                "required",
                "`events` lists at least one event, e.g. `article.published` or `*`",
            )]));
        }
        let bad: Vec<FieldError> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| !valid_pattern(e))
            .map(|(i, e)| {
                FieldError::new(
                    format!("events.{i}"),
                    "event",
                    format!("`{e}` is not `<type>.<created|updated|published|unpublished|deleted>`, `<type>.*`, `*.<action>`, `content_type.changed` or `*`"),
                )
            })
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(WebhookError::Invalid(bad))
        }
    }

    /// Creates an endpoint; the answer is the only time its secret is shown.
    pub async fn create(
        &self,
        ctx: &TenantCtx,
        input: WebhookInput,
        actor: &str,
    ) -> Result<WebhookRow, WebhookError> {
        let url = input.url.ok_or_else(|| {
            WebhookError::Invalid(vec![FieldError::new(
                "url",
                "required",
                "`url` is required",
            )])
        })?;
        self.check_url(&url)?;
        let events = input.events.unwrap_or_else(|| vec!["*".into()]);
        Self::check_events(&events)?;
        let now = now_ms();
        let row = WebhookRow {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: ctx.id().to_owned(),
            url,
            description: input.description.unwrap_or_default(),
            enabled: input.enabled.unwrap_or(true),
            events: serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()),
            secret: signing::new_secret(),
            previous_secret: None,
            previous_until: None,
            failing_since: None,
            since_seq: crate::store::tenants::event_seq(self.db(), ctx.id())
                .await?
                .unwrap_or(0),
            created_at: now,
            updated_at: now,
        };
        repo::insert(self.db(), &row).await?;
        self.audit(
            ctx,
            actor,
            "webhook.created",
            &row.id,
            json!({ "url": row.url }),
        )
        .await?;
        Ok(row)
    }

    pub async fn get(&self, ctx: &TenantCtx, id: &str) -> Result<WebhookRow, WebhookError> {
        repo::get(self.db(), ctx.id(), id)
            .await?
            .ok_or_else(|| WebhookError::NotFound(format!("webhook {id}")))
    }

    pub async fn list(&self, ctx: &TenantCtx) -> Result<Vec<WebhookRow>, WebhookError> {
        Ok(repo::list(self.db(), ctx.id()).await?)
    }

    /// Changes an endpoint; enabling it again clears its failure streak.
    pub async fn update(
        &self,
        ctx: &TenantCtx,
        id: &str,
        input: WebhookInput,
        actor: &str,
    ) -> Result<WebhookRow, WebhookError> {
        let mut row = self.get(ctx, id).await?;
        if let Some(url) = input.url {
            self.check_url(&url)?;
            row.url = url;
        }
        if let Some(events) = input.events {
            Self::check_events(&events)?;
            row.events = serde_json::to_string(&events).unwrap_or_else(|_| "[]".into());
        }
        if let Some(d) = input.description {
            row.description = d;
        }
        if let Some(e) = input.enabled {
            if e && !row.enabled {
                row.failing_since = None;
            }
            row.enabled = e;
        }
        row.updated_at = now_ms();
        repo::update(self.db(), &row).await?;
        self.audit(
            ctx,
            actor,
            "webhook.updated",
            id,
            json!({ "url": row.url, "enabled": row.enabled }),
        )
        .await?;
        Ok(row)
    }

    pub async fn delete(&self, ctx: &TenantCtx, id: &str, actor: &str) -> Result<(), WebhookError> {
        if !repo::delete(self.db(), ctx.id(), id).await? {
            return Err(WebhookError::NotFound(format!("webhook {id}")));
        }
        self.audit(ctx, actor, "webhook.deleted", id, json!({}))
            .await
    }

    /// A new secret; the old one keeps signing (beside the new) for the overlap period, so
    /// receivers can switch without missing a delivery.
    pub async fn rotate_secret(
        &self,
        ctx: &TenantCtx,
        id: &str,
        actor: &str,
    ) -> Result<WebhookRow, WebhookError> {
        let mut row = self.get(ctx, id).await?;
        let now = now_ms();
        let overlap = i64::try_from(self.inner.config.secret_overlap_hours)
            .unwrap_or(24)
            .saturating_mul(3_600_000);
        row.previous_secret = Some(std::mem::replace(&mut row.secret, signing::new_secret()));
        row.previous_until = Some(now.saturating_add(overlap));
        row.updated_at = now;
        repo::update(self.db(), &row).await?;
        self.audit(
            ctx,
            actor,
            "webhook.secret_rotated",
            id,
            json!({ "previousValidUntil": row.previous_until.map(crate::time::to_rfc3339) }),
        )
        .await?;
        Ok(row)
    }

    pub async fn deliveries(
        &self,
        ctx: &TenantCtx,
        id: &str,
        limit: u64,
    ) -> Result<Vec<repo::DeliveryRow>, WebhookError> {
        self.get(ctx, id).await?;
        Ok(repo::deliveries(self.db(), id, limit).await?)
    }

    /// Sends a delivery again (same message id, so a receiver that has it can tell).
    pub async fn redeliver(
        &self,
        ctx: &TenantCtx,
        id: &str,
        delivery: &str,
        actor: &str,
    ) -> Result<(), WebhookError> {
        self.get(ctx, id).await?;
        if !repo::redeliver(self.db(), id, delivery, now_ms()).await? {
            return Err(WebhookError::NotFound(format!("delivery {delivery}")));
        }
        self.audit(
            ctx,
            actor,
            "webhook.redelivered",
            id,
            json!({ "delivery": delivery }),
        )
        .await
    }

    async fn audit(
        &self,
        ctx: &TenantCtx,
        actor: &str,
        action: &str,
        id: &str,
        detail: Value,
    ) -> Result<(), WebhookError> {
        crate::audit::record(
            self.db(),
            crate::audit::Event::new(Some(ctx), actor, action)
                .target(format!("webhook/{id}"))
                .detail(detail),
        )
        .await?;
        Ok(())
    }
}
