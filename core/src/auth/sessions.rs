//! Login sessions: `POST /admin/api/v1/auth/login` checks e-mail and password (argon2id, with
//! a decoy verification for unknown accounts so timing does not reveal which exist), under the
//! login limiter, and returns an opaque `zls_…` token stored only as a hash. Sessions expire,
//! end on logout, and end when the account is disabled, deleted or its password changes.

use super::limiter::LoginLimiter;
use super::passwords::{decoy_hash, verify_password_bounded};
use super::{AuthError, Authenticated, hash_token, new_secret};
use crate::access::{Principal, Role};
use crate::audit;
use crate::store::sessions::{self as repo, SessionRow, Subject};
use crate::store::users::{self, OperatorKey};
use crate::store::{self, Db};
use crate::tenancy::TenantCtx;
use crate::time::now_ms;

pub(crate) const PREFIX: &str = "zls_";

/// A login attempt. Without a tenant it is an operator login.
#[derive(Debug, Clone)]
pub struct LoginRequest<'a> {
    pub tenant: Option<&'a TenantCtx>,
    pub email: &'a str,
    pub password: &'a str,
    /// The client address, for throttling and the audit log.
    pub client: Option<String>,
}

/// A new session: the only time its token exists outside the client.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub session_id: String,
    pub expires_at: i64,
    pub principal: Principal,
}

/// Logs a user (or, without a tenant, an operator) in.
pub async fn login(
    db: &Db,
    limiter: &LoginLimiter,
    refusals: &audit::Refusals,
    ttl_secs: u64,
    req: LoginRequest<'_>,
) -> Result<NewSession, AuthError> {
    let email = req.email.trim().to_lowercase();
    let tenant_id = req.tenant.map(TenantCtx::id);
    let account = format!("{}/{email}", tenant_id.unwrap_or("-"));
    let failed = |reason: &'static str| audit::Event {
        tenant_id,
        actor: "anonymous",
        action: "auth.login_failed",
        target: "session".to_owned(),
        detail: serde_json::json!({ "email": email, "reason": reason }),
        client: req.client.clone(),
    };
    if let Err(wait) = limiter.check(&account, req.client.as_deref()) {
        refusals.record(failed("throttled")).await;
        return Err(AuthError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    if req.password.len() > super::passwords::PASSWORD_MAX_BYTES {
        refusals.record(failed("password")).await;
        return Err(AuthError::BadCredentials);
    }
    // (subject id, role, password hash, disabled); `None` when there is no such account.
    let account_row = match req.tenant {
        Some(ctx) => users::find_by_email(db, ctx, &email)
            .await?
            .map(|u| (u.id, Role::parse(&u.role), u.password_hash, u.disabled)),
        None => users::find_operator(db, OperatorKey::Email(&email))
            .await?
            .map(|o| (o.id, None, o.password_hash, o.disabled)),
    };
    let hash = account_row
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |a| a.2.clone());
    // argon2 is deliberately slow: off the async workers, a bounded number at once.
    let matches = verify_password_bounded(req.password, &hash).await;
    let Some((user_id, role, _, disabled)) = account_row.filter(|_| matches) else {
        refusals.record(failed("credentials")).await;
        return Err(AuthError::BadCredentials);
    };
    if disabled {
        refusals.record(failed("disabled")).await;
        return Err(AuthError::BadCredentials);
    }
    let token = new_secret(PREFIX);
    let now = now_ms();
    let row = SessionRow {
        id: uuid::Uuid::now_v7().to_string(),
        subject: if req.tenant.is_some() {
            Subject::User
        } else {
            Subject::Operator
        },
        user_id: user_id.clone(),
        tenant_id: tenant_id.map(str::to_owned),
        created_at: now,
        expires_at: now
            .saturating_add(i64::try_from(ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX)),
    };
    let principal = match (req.tenant, role) {
        (Some(_), Some(role)) => Principal::User {
            id: user_id.clone(),
            role,
            session: row.id.clone(),
        },
        (Some(_), None) => return Err(AuthError::BadCredentials),
        (None, _) => Principal::Operator {
            id: user_id.clone(),
            session: row.id.clone(),
        },
    };
    let txn = store::begin_write(db).await?;
    repo::insert(&txn, &row, &hash_token(&token)).await?;
    let actor = principal.audit_actor();
    audit::record(
        &txn,
        audit::Event {
            tenant_id,
            actor: &actor,
            action: "auth.login",
            target: format!("session/{}", row.id),
            detail: serde_json::json!({ "email": email }),
            client: req.client.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(NewSession {
        token,
        session_id: row.id,
        expires_at: row.expires_at,
        principal,
    })
}

/// Ends the session the request was made with.
pub async fn logout(
    db: &Db,
    tenant: Option<&TenantCtx>,
    principal: &Principal,
    client: Option<String>,
) -> Result<bool, AuthError> {
    let session = match principal {
        Principal::User { session, .. } | Principal::Operator { session, .. } => session,
        _ => return Ok(false),
    };
    let txn = store::begin_write(db).await?;
    let ended = repo::revoke(&txn, session, now_ms()).await?;
    let actor = principal.audit_actor();
    audit::record(
        &txn,
        audit::Event::new(tenant, &actor, "auth.logout")
            .target(format!("session/{session}"))
            .client(client),
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}

/// Checks a session token: known, live, and its account still active.
pub async fn authenticate_session(
    db: &Db,
    token: &str,
) -> Result<Option<Authenticated>, AuthError> {
    if token.len() > 200 {
        return Ok(None);
    }
    let Some(live) = repo::find_live(db, &hash_token(token), now_ms()).await? else {
        return Ok(None);
    };
    let s = live.session;
    Ok(match s.subject {
        Subject::Operator => Some(Authenticated {
            principal: Principal::Operator {
                id: s.user_id,
                session: s.id,
            },
            tenant_id: None,
            tenant_seq: None,
            plugins_rev: None,
        }),
        Subject::User => live
            .role
            .as_deref()
            .and_then(Role::parse)
            .map(|role| Authenticated {
                principal: Principal::User {
                    id: s.user_id,
                    role,
                    session: s.id,
                },
                tenant_id: s.tenant_id,
                tenant_seq: None,
                plugins_rev: None,
            }),
    })
}
