//! The `sessions` table: login sessions of tenant users and operators. Only a SHA-256 of the
//! session token is stored.

use sea_orm::{ConnectionTrait, DbErr};

use super::sql::Sql;

/// Whose session it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    User,
    Operator,
}

impl Subject {
    fn as_str(self) -> &'static str {
        match self {
            Subject::User => "user",
            Subject::Operator => "operator",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub subject: Subject,
    pub user_id: String,
    /// `None` for operators.
    pub tenant_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    row: &SessionRow,
    hash: &str,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO sessions (id, hash, subject, user_id, tenant_id, created_at, expires_at) VALUES (")
        .bind(row.id.clone()).push(", ")
        .bind(hash.to_owned()).push(", ")
        .bind(row.subject.as_str()).push(", ")
        .bind(row.user_id.clone()).push(", ")
        .bind(row.tenant_id.clone()).push(", ")
        .bind(row.created_at).push(", ")
        .bind(row.expires_at).push(")");
    sql.execute(conn).await.map(|_| ())
}

/// A live session with the current state of its account, read in one statement so that a
/// disabled account or a changed role takes effect on the next request.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub session: SessionRow,
    /// The user's role now (`None` for operators).
    pub role: Option<String>,
}

pub async fn find_live(
    conn: &impl ConnectionTrait,
    hash: &str,
    now: i64,
) -> Result<Option<LiveSession>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    // `NOT disabled` reads the same on both databases (SQLite stores booleans as 0/1).
    sql.push(
        "SELECT s.id, s.subject, s.user_id, s.tenant_id, s.created_at, s.expires_at, u.role \
         FROM sessions s \
         LEFT JOIN users u ON s.subject = 'user' AND u.id = s.user_id \
           AND u.tenant_id = s.tenant_id AND NOT u.disabled \
         LEFT JOIN operators o ON s.subject = 'operator' AND o.id = s.user_id AND NOT o.disabled",
    )
    .push(" WHERE s.hash = ")
    .bind(hash.to_owned())
    .push(" AND s.revoked_at IS NULL AND s.expires_at > ")
    .bind(now)
    .push(" AND (u.id IS NOT NULL OR o.id IS NOT NULL)");
    let Some(row) = sql.fetch_one(conn).await? else {
        return Ok(None);
    };
    let subject: String = row.try_get("", "subject")?;
    Ok(Some(LiveSession {
        session: SessionRow {
            id: row.try_get("", "id")?,
            subject: if subject == "operator" {
                Subject::Operator
            } else {
                Subject::User
            },
            user_id: row.try_get("", "user_id")?,
            tenant_id: row.try_get("", "tenant_id")?,
            created_at: row.try_get("", "created_at")?,
            expires_at: row.try_get("", "expires_at")?,
        },
        role: row.try_get("", "role")?,
    }))
}

/// Ends one session.
pub async fn revoke(conn: &impl ConnectionTrait, id: &str, now: i64) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE sessions SET revoked_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id.to_owned())
        .push(" AND revoked_at IS NULL");
    Ok(sql.execute(conn).await? > 0)
}

/// Ends every session of a tenant user (password change, deletion).
pub async fn revoke_user(
    conn: &impl ConnectionTrait,
    tenant_id: &str,
    user_id: &str,
    now: i64,
) -> Result<u64, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE sessions SET revoked_at = ")
        .bind(now)
        .push(" WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND user_id = ")
        .bind(user_id.to_owned())
        .push(" AND revoked_at IS NULL");
    sql.execute(conn).await
}
