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
    if !token.starts_with("zlg_") || token.len() > 200 {
        return Ok(None);
    }
    let Some((row, revs)) = tokens::find_by_hash(reads, &hash_token(token)).await? else {
        return Ok(None);
    };
    let now = now_ms();
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    let Some(kind) = TokenKind::parse(&row.kind) else {
        return Ok(None);
    };
    if row.last_used_at.is_none_or(|t| t < now - 60_000) {
        tokens::touch(reads.db(), &row.id, now).await?;
    }
    Ok(Some(TokenPrincipal {
        token_id: row.id,
        tenant_id: row.tenant_id,
        kind,
        tenant_seq: revs.seq,
        plugins_rev: revs.plugins,
    }))
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
