//! Opening the database (SQLite file with WAL under the data dir, or a PostgreSQL pool) and
//! applying migrations.

use std::time::Duration;

use anyhow::Context;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, SqlxSqliteConnector};
use zellige_migrations::{Migrator, MigratorTrait};

use crate::config::{Config, DatabaseTarget};

/// Opens the configured database. SQLite: WAL, `synchronous=NORMAL` (a committed transaction
/// survives a process kill), foreign keys on, a busy timeout for concurrent writers.
/// PostgreSQL: a pool whose sessions reuse one generic plan per prepared statement
/// ([`GENERIC_PLANS`]).
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    match config.database() {
        DatabaseTarget::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating data directory {}", dir.display()))?;
            }
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_millis(config.db.sqlite_busy_timeout_ms))
                .pragma("cache_size", "-32000")
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(config.db.max_connections.max(1))
                .min_connections(config.db.min_connections)
                .acquire_timeout(Duration::from_millis(config.db.acquire_timeout_ms))
                .idle_timeout(millis_or_never(config.db.idle_timeout_ms))
                .max_lifetime(millis_or_never(config.db.max_lifetime_ms))
                .connect_with(options)
                .await
                .with_context(|| format!("opening SQLite database {}", path.display()))?;
            Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
        }
        DatabaseTarget::Postgres(url) => {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(config.db.max_connections.max(1))
                .min_connections(config.db.min_connections)
                .acquire_timeout(Duration::from_millis(config.db.acquire_timeout_ms))
                .idle_timeout(millis_or_never(config.db.idle_timeout_ms))
                .max_lifetime(millis_or_never(config.db.max_lifetime_ms))
                .test_before_acquire_if_idle_for(Duration::from_millis(
                    config.db.ping_idle_after_ms,
                ))
                .sqlx_logging(false)
                .map_sqlx_postgres_opts(|pg| pg.options([GENERIC_PLANS]));
            Database::connect(options)
                .await
                .context("connecting to PostgreSQL")
        }
    }
}

/// The pool's sessions plan each prepared statement once (`plan_cache_mode`), as the read
/// connections do for statements planned by their shape (`pg_reads`). Left to choose
/// (`auto`), PostgreSQL planned the statement that writes a group of creates anew on two
/// executions in three under a create load, at 0.44 ms a time against 0.84 ms to run it: the
/// generic plan of an `UNNEST` over bound arrays is estimated at the default hundred rows a
/// function returns, and so looks dearer than a plan for the four rows at hand. This pool
/// runs writes and reads by key (lookups, a tenant's rows in key order for the admin lists and
/// the workers), whose plans do not depend on the values; the content pages, whose plans do,
/// run on their own connections (`pg_reads`).
const GENERIC_PLANS: (&str, &str) = ("plan_cache_mode", "force_generic_plan");

/// A duration setting in milliseconds, 0 meaning none.
fn millis_or_never(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// Opens up to `n` of the PostgreSQL pool's connections ahead of the first requests; how many
/// (SQLite: none). The pool opens them on demand, and the background workers, which bunch up
/// under load, then opened several at once: requests stalled for up to a second while they did
/// (bench/README.md). They stay while in use, up to the pool's idle timeout.
pub async fn warm(db: &DatabaseConnection, n: usize) -> Result<usize, sea_orm::DbErr> {
    if n == 0 || db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(0);
    }
    let pool = db.get_postgres_connection_pool();
    let n = n.min(pool.options().get_max_connections() as usize);
    let held = futures::future::join_all((0..n).map(|_| pool.acquire())).await;
    let opened = held.iter().filter(|c| c.is_ok()).count();
    match held.into_iter().find_map(Result::err) {
        Some(e) if opened == 0 => Err(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(
            e.into(),
        ))),
        _ => Ok(opened),
    }
}

/// The tables whose plans follow their statistics: content and what every write appends to.
const PLANNED_TABLES: [&str; 5] = [
    "entry_docs",
    "entry_fields",
    "entry_versions",
    "outbox",
    "audit_log",
];

/// How often [`first_statistics`] looks at tables never analyzed.
const FIRST_STATISTICS_EVERY: Duration = Duration::from_secs(2);

/// PostgreSQL: gives each of [`PLANNED_TABLES`] its first statistics as soon as it holds `rows`
/// rows, then ends (at once on a database that has them, and on SQLite). The pool's sessions
/// keep one plan per statement ([`GENERIC_PLANS`]), and a plan made on tables never analyzed
/// chooses among indexes of equal estimated cost: on PostgreSQL 15 the check of a group's new
/// slugs read every document of the tenant through `ix_entry_docs_published`, a create load on
/// a new database ran at half speed, until autovacuum's first `ANALYZE` (up to a minute, its
/// nap). An `ANALYZE` invalidates the plans made before it. Taken on a few dozen rows, the
/// statistics make a scan of the table the cheaper probe, and that plan then stays while the
/// table grows: `rows` (a thousand by default) is where an index probe wins. `rows` 0: left to
/// autovacuum.
pub async fn first_statistics(
    db: DatabaseConnection,
    rows: u64,
    shutdown: tokio_util::sync::CancellationToken,
) {
    if rows == 0 || db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    // Analyzed once each: a role that does not own a table has its `ANALYZE` skipped (with a
    // warning), and is not asked again on every pass.
    let mut tried = std::collections::HashSet::new();
    loop {
        match analyze_young(&db, rows, &mut tried).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "first statistics of the content tables"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(FIRST_STATISTICS_EVERY) => {}
        }
    }
}

/// Analyzes the tables never analyzed (and not `tried` before) that hold at least `rows` rows;
/// how many tables are left to wait for. One statement when there is nothing to do, since it
/// runs every few seconds for as long as a table is small: the row counts are the statistics
/// collector's (`n_live_tup`, as autovacuum's own thresholds), which lag by a second or so.
async fn analyze_young(
    db: &DatabaseConnection,
    rows: u64,
    tried: &mut std::collections::HashSet<&'static str>,
) -> Result<usize, sea_orm::DbErr> {
    // `reltuples` is -1 until a table's first `ANALYZE` or `VACUUM` (PostgreSQL 14 and later).
    let young = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT t.name, s.n_live_tup >= $2 AS ready FROM unnest($1::text[]) AS t(name) \
             JOIN pg_class c ON c.oid = to_regclass(t.name) \
             JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.reltuples < 0",
            [
                PLANNED_TABLES.map(str::to_owned).to_vec().into(),
                (rows as i64).into(),
            ],
        ))
        .await?;
    let mut left = 0;
    for row in young {
        let name: String = row.try_get("", "name")?;
        // Only the names above reach the statement's text.
        let Some(&table) = PLANNED_TABLES.iter().find(|t| **t == name) else {
            continue;
        };
        if tried.contains(table) {
            continue;
        }
        if !row.try_get::<bool>("", "ready")? {
            left += 1;
            continue;
        }
        tried.insert(table);
        db.execute_unprepared(&format!("ANALYZE {table}")).await?;
        tracing::info!(table, "first statistics taken");
    }
    Ok(left)
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("applying migrations")
}

/// Readiness probe: one round trip.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// Lets SQLite refresh planner statistics where they are stale (cheap; PostgreSQL's autovacuum
/// does this by itself).
pub async fn optimize(db: &DatabaseConnection) {
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite
        && let Err(e) = db.execute_unprepared("PRAGMA optimize=0x10002").await
    {
        tracing::warn!(error = %e, "PRAGMA optimize failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pool_keeps_connections_as_configured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.db.idle_timeout_ms = 0;
        config.db.max_lifetime_ms = 90_000;
        let db = connect(&config).await.expect("connect");
        let options = db.get_sqlite_connection_pool().options().clone();
        assert_eq!(
            options.get_idle_timeout(),
            None,
            "0: never closed for idling"
        );
        assert_eq!(options.get_max_lifetime(), Some(Duration::from_secs(90)));

        let defaults = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let db = connect(&defaults).await.expect("connect");
        let options = db.get_sqlite_connection_pool().options().clone();
        assert_eq!(options.get_idle_timeout(), Some(Duration::from_secs(600)));
        assert_eq!(options.get_max_lifetime(), Some(Duration::from_secs(1_800)));
    }
}
