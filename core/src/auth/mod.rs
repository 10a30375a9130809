//! Authentication and account management (SPEC §4): API tokens, users and operators, login
//! sessions, login throttling, and the entry-level permission check.
//!
//! Tokens (`zlg_…`) and session tokens (`zls_…`) are 32 random bytes, base64url; only their
//! SHA-256 is stored, which is enough for high-entropy secrets (argon2 is for passwords, which
//! are not). Passwords are hashed with argon2id. Who may do what is decided in `access`; this
//! module adds what needs the database (the author's ownership of an entry).

mod limiter;
mod passwords;
mod sessions;
mod tokens;
mod users;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::access::{self, Action, Denied, Principal, Scope};
pub use crate::access::{Role, TokenKind};
use crate::content::Content;
use crate::content::entries::Lookup;
use crate::error::{ErrorCode, FieldError};
use crate::store::entries::Stage;
use crate::tenancy::TenantCtx;
pub use limiter::LoginLimiter;
pub use passwords::{
    PASSWORD_MIN, hash_password, set_concurrency as set_password_concurrency, verify_password,
};
pub use sessions::{LoginRequest, NewSession, authenticate_session, login, logout};
pub use tokens::{
    Deferred, KnownTokens, NewToken, TokenInfo, TokenPrincipal, authenticate_token, create_token,
    list_tokens, revoke_token,
};
pub use users::{
    NewUser, PreparedUser, UserChange, UserInfo, create_operator, create_user, delete_user,
    get_user, insert_user, list_users, prepare_user, update_user,
};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid input: {}", crate::error::describe_fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("already exists")]
    Exists,
    #[error("{0} not found")]
    NotFound(String),
    #[error("wrong e-mail or password")]
    BadCredentials,
    #[error("too many login attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    #[error("content error")]
    Content(#[from] crate::content::ContentError),
    #[error("password hashing failed")]
    Hash,
}

impl AuthError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Invalid(_) => ErrorCode::BadUserInput,
            AuthError::Exists => ErrorCode::Conflict,
            AuthError::NotFound(_) => ErrorCode::NotFound,
            AuthError::BadCredentials => ErrorCode::Unauthenticated,
            AuthError::RateLimited { .. } => ErrorCode::RateLimited,
            AuthError::Denied(d) => d.code,
            AuthError::Content(e) => e.code(),
            AuthError::Db(_) | AuthError::Hash => ErrorCode::Internal,
        }
    }
    pub fn fields(&self) -> &[FieldError] {
        match self {
            AuthError::Invalid(f) => f,
            AuthError::Content(e) => e.fields(),
            _ => &[],
        }
    }
}

/// A fresh secret with the given prefix: 32 random bytes, base64url.
fn new_secret(prefix: &str) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who presented a bearer credential, and the tenant it belongs to (`None` for operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub principal: Principal,
    pub tenant_id: Option<String>,
    /// The tenant's outbox sequence, when the check read it on the way (API tokens).
    pub tenant_seq: Option<i64>,
    /// The tenant's plugin setup revision, read with the sequence.
    pub plugins_rev: Option<i64>,
}

/// Checks a bearer credential of either kind: an API token or a session token. `None` when it
/// is unknown, revoked, expired, or its account is disabled.
pub async fn authenticate(
    reads: &crate::store::Reads,
    bearer: &str,
) -> Result<Option<Authenticated>, AuthError> {
    authenticate_keeping(reads, bearer, None).await
}

/// [`authenticate`], keeping a valid API token's fixed facts in `known`.
pub async fn authenticate_keeping(
    reads: &crate::store::Reads,
    bearer: &str,
    known: Option<&KnownTokens>,
) -> Result<Option<Authenticated>, AuthError> {
    if bearer.starts_with(sessions::PREFIX) {
        return sessions::authenticate_session(reads.db(), bearer).await;
    }
    let principal = match known {
        Some(known) => known.authenticate(reads, bearer).await?,
        None => tokens::authenticate_token(reads, bearer).await?,
    };
    Ok(principal.map(|p| Authenticated {
        principal: Principal::Token {
            id: p.token_id,
            kind: p.kind,
        },
        tenant_id: Some(p.tenant_id),
        tenant_seq: Some(p.tenant_seq),
        plugins_rev: Some(p.plugins_rev),
    }))
}

/// The permission check for one existing entry: `access::check_content`, plus, for a grant
/// limited to own entries (authors), that the principal created it. An entry that does not
/// exist is `NOT_FOUND` only for principals allowed to act at all.
pub async fn authorize_entry(
    content: &Content,
    ctx: &TenantCtx,
    principal: &Principal,
    entry_type: &str,
    action: Action,
    id: &str,
) -> Result<(), AuthError> {
    let scope = access::check_content(
        ctx.anonymous_read(),
        ctx.narrowing(),
        principal,
        entry_type,
        action,
    )?;
    if scope == Scope::Own {
        let entry = content
            .get(ctx, entry_type, &Lookup::Id(id.to_owned()), Stage::Draft)
            .await?
            .ok_or_else(|| AuthError::NotFound(format!("{entry_type} {id}")))?;
        if entry.created_by != principal.actor() {
            return Err(AuthError::Denied(Denied {
                code: ErrorCode::Forbidden,
                message: format!("authors may only `{}` their own entries", action.as_str()),
            }));
        }
    }
    Ok(())
}
