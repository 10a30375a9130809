//! API tokens and users (SPEC §4).
//!
//! Tokens are `zlg_` + 32 random bytes (base64url); only their SHA-256 is stored, which is
//! enough for high-entropy secrets (argon2 is for passwords, which are not). Passwords are
//! hashed with argon2id.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, FieldError};
use crate::store::{self, Db, tokens, users};
use crate::tenancy::TenantCtx;
use crate::time::now_ms;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Read published content.
    Public,
    /// Also read drafts.
    Preview,
    /// Write and publish content.
    Editor,
    /// Everything in its tenant.
    Admin,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Public => "public",
            TokenKind::Preview => "preview",
            TokenKind::Editor => "editor",
            TokenKind::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "public" => TokenKind::Public,
            "preview" => TokenKind::Preview,
            "editor" => TokenKind::Editor,
            "admin" => TokenKind::Admin,
            _ => return None,
        })
    }
    pub fn can_read_drafts(self) -> bool {
        !matches!(self, TokenKind::Public)
    }
    pub fn can_write(self) -> bool {
        matches!(self, TokenKind::Editor | TokenKind::Admin)
    }
}

/// User roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Editor,
    Author,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Author => "author",
            Role::Viewer => "viewer",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid input: {}", crate::error::describe_fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("already exists")]
    Exists,
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    #[error("password hashing failed")]
    Hash,
}

impl AuthError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Invalid(_) => ErrorCode::BadUserInput,
            AuthError::Exists => ErrorCode::Conflict,
            AuthError::Db(_) | AuthError::Hash => ErrorCode::Internal,
        }
    }
}

/// A freshly created token: the only time its secret exists outside the client.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: String,
    pub kind: TokenKind,
    pub secret: String,
    pub expires_at: Option<i64>,
}

/// The SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates an API token for the tenant and returns its secret, once.
pub async fn create_token(
    db: &Db,
    ctx: &TenantCtx,
    kind: TokenKind,
    name: &str,
    expires_at: Option<i64>,
) -> Result<NewToken, AuthError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("zlg_{}", URL_SAFE_NO_PAD.encode(bytes));
    let now = now_ms();
    if expires_at.is_some_and(|e| e <= now) {
        return Err(AuthError::Invalid(vec![FieldError::new(
            "expiresAt",
            "future",
            "the expiry must be in the future",
        )]));
    }
    let row = tokens::TokenRow {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: ctx.id().to_owned(),
        kind: kind.as_str().to_owned(),
        name: name.to_owned(),
        prefix: secret.chars().take(8).collect(),
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    tokens::insert(db, ctx, &row, &hash_token(&secret)).await?;
    Ok(NewToken {
        id: row.id,
        kind,
        secret,
        expires_at,
    })
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPrincipal {
    pub token_id: String,
    pub tenant_id: String,
    pub kind: TokenKind,
}

/// Checks a bearer token: known, not revoked, not expired.
pub async fn authenticate_token(db: &Db, token: &str) -> Result<Option<TokenPrincipal>, AuthError> {
    if !token.starts_with("zlg_") || token.len() > 200 {
        return Ok(None);
    }
    let Some(row) = tokens::find_by_hash(db, &hash_token(token)).await? else {
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
        tokens::touch(db, &row.id, now).await?;
    }
    Ok(Some(TokenPrincipal {
        token_id: row.id,
        tenant_id: row.tenant_id,
        kind,
    }))
}

/// Minimum password length.
pub const PASSWORD_MIN: usize = 10;

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|_| AuthError::Hash)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AuthError::Hash)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates a user of the tenant.
pub async fn create_user(
    db: &Db,
    ctx: &TenantCtx,
    email: &str,
    role: Role,
    password: &str,
) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let mut errors = Vec::new();
    if !email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace) {
        errors.push(FieldError::new(
            "email",
            "email",
            "not a valid e-mail address",
        ));
    }
    if password.chars().count() < PASSWORD_MIN {
        errors.push(FieldError::new(
            "password",
            "minLength",
            format!("at least {PASSWORD_MIN} characters"),
        ));
    }
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    if users::find_by_email(db, ctx, &email).await?.is_some() {
        return Err(AuthError::Exists);
    }
    let row = users::UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        role: role.as_str().to_owned(),
        password_hash: hash_password(password)?,
        created_at: now_ms(),
    };
    users::insert(db, ctx, &row).await.map_err(|e| {
        if store::is_unique_violation(&e) {
            AuthError::Exists
        } else {
            AuthError::Db(e)
        }
    })?;
    Ok(row.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("كلمة-سر-طويلة").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("كلمة-سر-طويلة", &h));
        assert!(!verify_password("wrong", &h));
    }

    #[test]
    fn token_hash_is_stable_hex() {
        assert_eq!(hash_token("zlg_x").len(), 64);
        assert_eq!(hash_token("zlg_x"), hash_token("zlg_x"));
    }
}
