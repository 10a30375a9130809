//! The `entry_schedules` table: pending scheduled publishes and unpublishes.

use sea_orm::DbErr;

use super::reads::{Exec, Row};

use super::sql::Sql;

/// What a schedule does when it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScheduleAction {
    Publish,
    Unpublish,
}

impl ScheduleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleAction::Publish => "publish",
            ScheduleAction::Unpublish => "unpublish",
        }
    }

    fn parse(s: &str) -> Result<ScheduleAction, DbErr> {
        match s {
            "publish" => Ok(ScheduleAction::Publish),
            "unpublish" => Ok(ScheduleAction::Unpublish),
            other => Err(DbErr::Custom(format!("unknown schedule action `{other}`"))),
        }
    }
}

/// One pending schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRow {
    pub tenant_id: String,
    pub entry_id: String,
    pub entry_type: String,
    pub action: ScheduleAction,
    /// UTC milliseconds.
    pub due_at: i64,
    pub created_by: Option<String>,
    pub created_at: i64,
    /// Why it could not be carried out, when it could not.
    pub failure: Option<String>,
}

const COLUMNS: &str =
    "tenant_id, entry_id, entry_type, action, due_at, created_by, created_at, failure";

fn from_row(row: &Row) -> Result<ScheduleRow, DbErr> {
    let action: String = row.try_get("", "action")?;
    Ok(ScheduleRow {
        tenant_id: row.try_get("", "tenant_id")?,
        entry_id: row.try_get("", "entry_id")?,
        entry_type: row.try_get("", "entry_type")?,
        action: ScheduleAction::parse(&action)?,
        due_at: row.try_get("", "due_at")?,
        created_by: row.try_get("", "created_by")?,
        created_at: row.try_get("", "created_at")?,
        failure: row.try_get("", "failure")?,
    })
}

/// Sets (or replaces) the entry's schedule for `row.action`.
pub async fn upsert(conn: &impl Exec, row: &ScheduleRow) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("INSERT INTO entry_schedules (")
        .push(COLUMNS)
        .push(") VALUES (")
        .bind(row.tenant_id.clone())
        .push(", ")
        .bind(row.entry_id.clone())
        .push(", ")
        .bind(row.entry_type.clone())
        .push(", ")
        .bind(row.action.as_str().to_owned())
        .push(", ")
        .bind(row.due_at)
        .push(", ")
        .bind(row.created_by.clone())
        .push(", ")
        .bind(row.created_at)
        .push(", NULL) ON CONFLICT (tenant_id, entry_id, action) DO UPDATE SET due_at = excluded.due_at, entry_type = excluded.entry_type, created_by = excluded.created_by, created_at = excluded.created_at, failure = NULL");
    conn.exec(sql).await.map(|_| ())
}

/// Removes the entry's schedule for `action` (or every action with `None`); whether one was there.
pub async fn delete(
    conn: &impl Exec,
    tenant_id: &str,
    entry_id: &str,
    action: Option<ScheduleAction>,
) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("DELETE FROM entry_schedules WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND entry_id = ")
        .bind(entry_id.to_owned());
    if let Some(a) = action {
        sql.push(" AND action = ").bind(a.as_str().to_owned());
    }
    conn.exec(sql).await.map(|n| n > 0)
}

/// Marks a schedule that could not be carried out (it stops being due).
pub async fn fail(conn: &impl Exec, row: &ScheduleRow, why: &str) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("UPDATE entry_schedules SET failure = ")
        .bind(why.to_owned())
        .push(" WHERE tenant_id = ")
        .bind(row.tenant_id.clone())
        .push(" AND entry_id = ")
        .bind(row.entry_id.clone())
        .push(" AND action = ")
        .bind(row.action.as_str().to_owned())
        .push(" AND due_at = ")
        .bind(row.due_at);
    conn.exec(sql).await.map(|_| ())
}

/// The entry's pending schedules.
pub async fn for_entry(
    conn: &impl Exec,
    tenant_id: &str,
    entry_id: &str,
) -> Result<Vec<ScheduleRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM entry_schedules WHERE tenant_id = ")
        .bind(tenant_id.to_owned())
        .push(" AND entry_id = ")
        .bind(entry_id.to_owned())
        .push(" ORDER BY due_at");
    conn.rows(sql).await?.iter().map(from_row).collect()
}

/// The tenant's schedules, soonest first, optionally due before `until`.
pub async fn for_tenant(
    conn: &impl Exec,
    tenant_id: &str,
    until: Option<i64>,
    limit: u64,
) -> Result<Vec<ScheduleRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM entry_schedules WHERE tenant_id = ")
        .bind(tenant_id.to_owned());
    if let Some(u) = until {
        sql.push(" AND due_at < ").bind(u);
    }
    sql.push(" ORDER BY due_at, entry_id LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    conn.rows(sql).await?.iter().map(from_row).collect()
}

/// Schedules of every tenant due at `now` (not failed), soonest first.
pub async fn due(conn: &impl Exec, now: i64, limit: u64) -> Result<Vec<ScheduleRow>, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM entry_schedules WHERE due_at <= ")
        .bind(now)
        .push(" AND failure IS NULL ORDER BY due_at LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    conn.rows(sql).await?.iter().map(from_row).collect()
}

/// The schedule still pending as `row` describes it (same due time, not failed): read under
/// the tenant's write lock, it tells whether another node carried it out already.
pub async fn still_due(conn: &impl Exec, row: &ScheduleRow) -> Result<bool, DbErr> {
    let mut sql = Sql::new(conn.backend());
    sql.push("SELECT 1 AS one FROM entry_schedules WHERE tenant_id = ")
        .bind(row.tenant_id.clone())
        .push(" AND entry_id = ")
        .bind(row.entry_id.clone())
        .push(" AND action = ")
        .bind(row.action.as_str().to_owned())
        .push(" AND due_at = ")
        .bind(row.due_at)
        .push(" AND failure IS NULL");
    Ok(conn.row(sql).await?.is_some())
}
