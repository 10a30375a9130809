//! API tokens: created (secret shown once), listed (metadata only), revoked, and checked on
//! every request, so that revocation and expiry take effect at once.

use serde::Serialize;

use super::{AuthError, hash_token, new_secret};
use crate::access::TokenKind;
use crate::audit;
use crate::error::FieldError;
use crate::store::{self, Db, tokens};
use crate::tenancy::TenantCtx;
use crate::time::{now_ms, to_rfc3339};

/// A freshly created token: the only time its secret exists outside the client.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: String,
    pub kind: TokenKind,
    pub secret: String,
    pub expires_at: Option<i64>,
}

/// A token as listed: never the secret or its hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub kind: TokenKind,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

impl From<tokens::TokenRow> for TokenInfo {
    fn from(r: tokens::TokenRow) -> Self {
        TokenInfo {
            kind: TokenKind::parse(&r.kind).unwrap_or(TokenKind::Public),
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            created_at: to_rfc3339(r.created_at),
            expires_at: r.expires_at.map(to_rfc3339),
            revoked_at: r.revoked_at.map(to_rfc3339),
            last_used_at: r.last_used_at.map(to_rfc3339),
        }
    }
}

/// Creates an API token for the tenant and returns its secret, once.
pub async fn create_token(
    db: &Db,
    ctx: &TenantCtx,
    kind: TokenKind,
    name: &str,
    expires_at: Option<i64>,
    actor: &str,
) -> Result<NewToken, AuthError> {
    let now = now_ms();
    let mut errors = Vec::new();
    if expires_at.is_some_and(|e| e <= now) {
        errors.push(FieldError::new(
            "expiresAt",
            "future",
            "the expiry must be in the future",
        ));
    }
    if name.trim().is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "length", "1 to 200 characters"));
    }
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    let secret = new_secret("zlg_");
    let row = tokens::TokenRow {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: ctx.id().to_owned(),
        kind: kind.as_str().to_owned(),
        name: name.trim().to_owned(),
        prefix: secret.chars().take(8).collect(),
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    let txn = store::begin_write(db).await?;
    tokens::insert(&txn, ctx, &row, &hash_token(&secret)).await?;
    audit::record(
        &txn,
        audit::Event::new(Some(ctx), actor, "token.created")
            .target(format!("token/{}", row.id))
            .detail(serde_json::json!({ "kind": kind.as_str(), "name": row.name })),
    )
    .await?;
    txn.commit().await?;
    Ok(NewToken {
        id: row.id,
        kind,
        secret,
        expires_at,
    })
}

pub async fn list_tokens(db: &Db, ctx: &TenantCtx) -> Result<Vec<TokenInfo>, AuthError> {
    Ok(tokens::list(db, ctx)
        .await?
        .into_iter()
        .map(TokenInfo::from)
        .collect())
}

/// Revokes a token of the tenant; it is refused from the next request on.
pub async fn revoke_token(
    db: &Db,
    ctx: &TenantCtx,
    id: &str,
    actor: &str,
) -> Result<TokenInfo, AuthError> {
    let txn = store::begin_write(db).await?;
    // Revoking twice is harmless: only the first is recorded.
    if tokens::revoke(&txn, ctx, id, now_ms()).await? {
        audit::record(
            &txn,
            audit::Event::new(Some(ctx), actor, "token.revoked").target(format!("token/{id}")),
        )
        .await?;
    }
    let row = tokens::find(&txn, ctx, id)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("token {id}")))?;
    txn.commit().await?;
    Ok(row.into())
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPrincipal {
    pub token_id: String,
    pub tenant_id: String,
    pub kind: TokenKind,
    /// The tenant's outbox sequence when the token was checked.
    pub tenant_seq: i64,
    /// The tenant's plugin setup revision when the token was checked.
    pub plugins_rev: i64,
}

/// Checks an API token: known, not revoked, not expired. Records its use (at most once a minute).
pub async fn authenticate_token(
    reads: &crate::store::Reads,
    token: &str,
) -> Result<Option<TokenPrincipal>, AuthError> {
    Ok(check_token(reads, token, None)
        .await?
        .map(|(principal, _)| principal))
}

/// [`authenticate_token`], and what `known` keeps of a valid token.
async fn check_token(
    reads: &crate::store::Reads,
    token: &str,
    known: Option<&KnownTokens>,
) -> Result<Option<(TokenPrincipal, Known)>, AuthError> {
    if !token.starts_with("zlg_") || token.len() > 200 {
        return Ok(None);
    }
    let hash = hash_token(token);
    let Some((row, revs)) = tokens::find_by_hash(reads, &hash).await? else {
        return Ok(None);
    };
    let now = now_ms();
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    let Some(kind) = TokenKind::parse(&row.kind) else {
        return Ok(None);
    };
    let mut last_used = row.last_used_at;
    if last_used.is_none_or(|t| t < now - TOUCH_EVERY_MS) {
        touch_soon(reads.db(), &row.id, now);
        last_used = Some(now);
    }
    let facts = Known {
        token_id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        kind,
        expires_at: row.expires_at,
        last_used: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(last_used.unwrap_or(now))),
    };
    if let Some(known) = known {
        known.remember(hash, facts.clone());
    }
    Ok(Some((
        TokenPrincipal {
            token_id: row.id,
            tenant_id: row.tenant_id,
            kind,
            tenant_seq: revs.seq,
            plugins_rev: revs.plugins,
        },
        facts,
    )))
}

/// A token's use is recorded at most this often.
const TOUCH_EVERY_MS: i64 = 60_000;

/// Records a token's use without holding up the request, at most one write per token at a
/// time: a burst of a token's first requests on a node otherwise queued on the token's row and
/// opened pool connections on the way (requests stalled for 0.5 s).
fn touch_soon(db: &Db, id: &str, now: i64) {
    static TOUCHING: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::LazyLock::new(Default::default);
    let Ok(mut touching) = TOUCHING.lock() else {
        return;
    };
    if !touching.insert(id.to_owned()) {
        return;
    }
    drop(touching);
    let (db, id) = (db.clone(), id.to_owned());
    tokio::spawn(async move {
        if let Err(e) = tokens::touch(&db, &id, now).await {
            tracing::warn!(error = %e, token = %id, "recording a token's use");
        }
        if let Ok(mut touching) = TOUCHING.lock() {
            touching.remove(&id);
        }
    });
}

/// What never changes about a token once it exists (its id, tenant, kind and expiry), and when
/// this node last recorded its use.
#[derive(Debug, Clone)]
struct Known {
    token_id: String,
    tenant_id: String,
    kind: TokenKind,
    expires_at: Option<i64>,
    last_used: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

/// The fixed facts of tokens this node has checked, by hash, so that a read-only request can
/// start before its token's check comes back: the check then travels with the request's first
/// read ([`tokens::CredentialCheck`]) instead of taking a round trip of its own before it.
/// Whether the token is still valid is never taken from here; only what cannot change is.
/// At most `max` entries: when full, it starts over.
#[derive(Debug, Clone)]
pub struct KnownTokens {
    map: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Known>>>,
    max: usize,
}

impl KnownTokens {
    pub fn new(max: usize) -> Self {
        KnownTokens {
            map: Default::default(),
            max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Known>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, hash: String, facts: Known) {
        if self.max == 0 {
            return;
        }
        let mut map = self.lock();
        if map.len() >= self.max && !map.contains_key(&hash) {
            map.clear();
        }
        map.insert(hash, facts);
    }

    fn forget(&self, hash: &str) {
        self.lock().remove(hash);
    }

    /// Checks `token` now ([`authenticate_token`]) and keeps its fixed facts.
    pub async fn authenticate(
        &self,
        reads: &crate::store::Reads,
        token: &str,
    ) -> Result<Option<TokenPrincipal>, AuthError> {
        Ok(check_token(reads, token, Some(self))
            .await?
            .map(|(principal, _)| principal))
    }

    /// A request of `token` that may run before its check: `None` unless this node knows the
    /// token and it has not expired. The caller runs the request with reads carrying
    /// [`Deferred::check`], then asks [`Self::settle`] before it answers.
    pub fn defer(&self, token: &str) -> Option<Deferred> {
        if !token.starts_with("zlg_") || token.len() > 200 {
            return None;
        }
        let hash = hash_token(token);
        let facts = self.lock().get(&hash).cloned()?;
        if facts.expires_at.is_some_and(|e| e <= now_ms()) {
            return None;
        }
        Some(Deferred {
            check: std::sync::Arc::new(tokens::CredentialCheck::new(hash.clone())),
            hash,
            facts,
        })
    }

    /// Whether the deferred credential held when the request read its data: from the read that
    /// carried the check, or, when none did, by checking it now. Records its use as
    /// [`authenticate_token`] does.
    pub async fn settle(
        &self,
        reads: &crate::store::Reads,
        deferred: &Deferred,
    ) -> Result<bool, AuthError> {
        let held = match deferred.check.outcome() {
            Some(state) => state == tokens::TokenState::Active,
            None => tokens::find_by_hash(reads, &deferred.hash)
                .await?
                .is_some_and(|(row, _)| row.revoked_at.is_none()),
        };
        if !held {
            self.forget(&deferred.hash);
            return Ok(false);
        }
        let now = now_ms();
        let last = deferred
            .facts
            .last_used
            .load(std::sync::atomic::Ordering::Relaxed);
        if last < now - TOUCH_EVERY_MS
            && deferred
                .facts
                .last_used
                .compare_exchange(
                    last,
                    now,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        {
            touch_soon(reads.db(), &deferred.facts.token_id, now);
        }
        Ok(true)
    }
}

/// A request running before its token's check (see [`KnownTokens::defer`]).
#[derive(Debug)]
pub struct Deferred {
    hash: String,
    facts: Known,
    /// To carry with the request's reads ([`crate::store::Reads::with_check`]).
    pub check: std::sync::Arc<tokens::CredentialCheck>,
}

impl Deferred {
    pub fn token_id(&self) -> &str {
        &self.facts.token_id
    }

    pub fn tenant_id(&self) -> &str {
        &self.facts.tenant_id
    }

    pub fn kind(&self) -> TokenKind {
        self.facts.kind
    }
}

#[cfg(test)]
mod tests {
    use super::super::hash_token;

    #[test]
    fn token_hash_is_stable_hex() {
        assert_eq!(hash_token("zlg_x").len(), 64);
        assert_eq!(hash_token("zlg_x"), hash_token("zlg_x"));
    }
}
