//! Tenant users and platform operators: create, list, change (role, password, disabled),
//! delete. A password change, a disabling or a deletion ends the user's sessions; a tenant
//! always keeps at least one active admin.

use serde::Serialize;

use super::AuthError;
use super::passwords::{check_password, hash_password_bounded};
use crate::access::Role;
use crate::audit;
use crate::error::FieldError;
use crate::store::{self, Db, sessions, users};
use crate::tenancy::TenantCtx;
use crate::time::{now_ms, to_rfc3339};

/// What creating a user takes.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub role: Role,
    pub password: String,
}

/// A change to a user; `None` leaves a property as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub password: Option<String>,
    pub disabled: Option<bool>,
}

/// A user as the admin API shows it: never the password hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<users::UserRow> for UserInfo {
    fn from(r: users::UserRow) -> Self {
        UserInfo {
            role: Role::parse(&r.role).unwrap_or(Role::Viewer),
            id: r.id,
            email: r.email,
            disabled: r.disabled,
            created_at: to_rfc3339(r.created_at),
            updated_at: to_rfc3339(r.updated_at),
        }
    }
}

fn normalize_email(email: &str, errors: &mut Vec<FieldError>) -> String {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !valid {
        errors.push(FieldError::new(
            "email",
            "email",
            "not a valid e-mail address",
        ));
    }
    email
}

/// Creates a user of the tenant.
pub async fn create_user(
    db: &Db,
    ctx: &TenantCtx,
    new: NewUser,
    actor: &str,
) -> Result<UserInfo, AuthError> {
    let user = prepare_user(new).await?;
    let (txn, _) = store::begin_tenant_write(db, ctx.id()).await?;
    let info = insert_user(&txn, ctx, user, actor).await?;
    txn.commit().await?;
    Ok(info)
}

/// A new user checked and with its password hashed: ready to insert in a write transaction
/// (argon2 never runs while one is open).
pub struct PreparedUser(users::UserRow);

/// Checks a new user's e-mail address and password and hashes the password.
pub async fn prepare_user(new: NewUser) -> Result<PreparedUser, AuthError> {
    let mut errors = Vec::new();
    let email = normalize_email(&new.email, &mut errors);
    check_password(&new.password, &mut errors);
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    let now = now_ms();
    Ok(PreparedUser(users::UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        role: new.role.as_str().to_owned(),
        password_hash: hash_password_bounded(&new.password).await?,
        disabled: false,
        created_at: now,
        updated_at: now,
    }))
}

/// Inserts a prepared user, with its audit row, in the caller's write transaction.
pub async fn insert_user(
    txn: &sea_orm::DatabaseTransaction,
    ctx: &TenantCtx,
    user: PreparedUser,
    actor: &str,
) -> Result<UserInfo, AuthError> {
    let PreparedUser(row) = user;
    if users::find_by_email(txn, ctx, &row.email).await?.is_some() {
        return Err(AuthError::Exists);
    }
    users::insert(txn, ctx, &row).await.map_err(|e| {
        if store::is_unique_violation(&e) {
            AuthError::Exists
        } else {
            AuthError::Db(e)
        }
    })?;
    audit::record(
        txn,
        audit::Event::new(Some(ctx), actor, "user.created")
            .target(format!("user/{}", row.id))
            .detail(serde_json::json!({ "email": row.email, "role": row.role })),
    )
    .await?;
    Ok(row.into())
}

pub async fn list_users(db: &Db, ctx: &TenantCtx) -> Result<Vec<UserInfo>, AuthError> {
    Ok(users::list(db, ctx)
        .await?
        .into_iter()
        .map(UserInfo::from)
        .collect())
}

pub async fn get_user(db: &Db, ctx: &TenantCtx, id: &str) -> Result<UserInfo, AuthError> {
    users::find_by_id(db, ctx, id)
        .await?
        .map(UserInfo::from)
        .ok_or_else(|| AuthError::NotFound(format!("user {id}")))
}

async fn active_admins(
    conn: &impl sea_orm::ConnectionTrait,
    ctx: &TenantCtx,
) -> Result<usize, AuthError> {
    Ok(users::list(conn, ctx)
        .await?
        .iter()
        .filter(|u| u.role == Role::Admin.as_str() && !u.disabled)
        .count())
}

fn last_admin() -> AuthError {
    AuthError::Invalid(vec![FieldError::new(
        "role",
        "lastAdmin",
        "the tenant's last active admin cannot be demoted, disabled or deleted",
    )])
}

/// Changes a user's role, password or disabled flag.
pub async fn update_user(
    db: &Db,
    ctx: &TenantCtx,
    id: &str,
    change: UserChange,
    actor: &str,
) -> Result<UserInfo, AuthError> {
    let mut errors = Vec::new();
    if let Some(p) = &change.password {
        check_password(p, &mut errors);
    }
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    // Hashed before the write transaction opens: argon2 must not hold the tenant's write lock.
    let new_hash = match &change.password {
        Some(p) => Some(hash_password_bounded(p).await?),
        None => None,
    };
    let (txn, _) = store::begin_tenant_write(db, ctx.id()).await?;
    let mut row = users::find_by_id(&txn, ctx, id)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("user {id}")))?;
    let was_admin = row.role == Role::Admin.as_str() && !row.disabled;
    if let Some(role) = change.role {
        row.role = role.as_str().to_owned();
    }
    if let Some(d) = change.disabled {
        row.disabled = d;
    }
    if let Some(hash) = new_hash {
        row.password_hash = hash;
    }
    let still_admin = row.role == Role::Admin.as_str() && !row.disabled;
    if was_admin && !still_admin && active_admins(&txn, ctx).await? <= 1 {
        return Err(last_admin());
    }
    let now = now_ms();
    row.updated_at = now;
    users::update(&txn, ctx, &row).await?;
    if change.password.is_some() || change.disabled == Some(true) {
        sessions::revoke_user(&txn, ctx.id(), id, now).await?;
    }
    audit::record(
        &txn,
        audit::Event::new(Some(ctx), actor, "user.updated")
            .target(format!("user/{id}"))
            .detail(serde_json::json!({
                "role": change.role.map(Role::as_str),
                "disabled": change.disabled,
                "passwordChanged": change.password.is_some(),
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

/// Deletes a user and ends their sessions.
pub async fn delete_user(db: &Db, ctx: &TenantCtx, id: &str, actor: &str) -> Result<(), AuthError> {
    let (txn, _) = store::begin_tenant_write(db, ctx.id()).await?;
    let row = users::find_by_id(&txn, ctx, id)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("user {id}")))?;
    if row.role == Role::Admin.as_str() && !row.disabled && active_admins(&txn, ctx).await? <= 1 {
        return Err(last_admin());
    }
    users::delete(&txn, ctx, id).await?;
    sessions::revoke_user(&txn, ctx.id(), id, now_ms()).await?;
    audit::record(
        &txn,
        audit::Event::new(Some(ctx), actor, "user.deleted")
            .target(format!("user/{id}"))
            .detail(serde_json::json!({ "email": row.email })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Creates a platform operator (CLI only: operators are not created over HTTP).
pub async fn create_operator(db: &Db, email: &str, password: &str) -> Result<String, AuthError> {
    let mut errors = Vec::new();
    let email = normalize_email(email, &mut errors);
    check_password(password, &mut errors);
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    let row = users::OperatorRow {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        password_hash: hash_password_bounded(password).await?,
        disabled: false,
        created_at: now_ms(),
    };
    let txn = store::begin_write(db).await?;
    users::insert_operator(&txn, &row).await.map_err(|e| {
        if store::is_unique_violation(&e) {
            AuthError::Exists
        } else {
            AuthError::Db(e)
        }
    })?;
    audit::record(
        &txn,
        audit::Event::new(None, "cli", "operator.created")
            .target(format!("operator/{}", row.id))
            .detail(serde_json::json!({ "email": row.email })),
    )
    .await?;
    txn.commit().await?;
    Ok(row.id)
}
