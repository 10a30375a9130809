//! PostgreSQL connections of the request path's reads.
//!
//! The driver's pool (sqlx 0.9) pings a connection, a round trip, every time it takes one back:
//! a statement cut off by a dropped future may have left it mid-protocol. On the uncached read
//! path, where a request is two statements, those pings were half of the round trips to the
//! database (bench/README.md). Here a connection whose statement completed goes straight back
//! to the idle list; only one whose statement was cut off (its request dropped, say by a client
//! that went away) is finished in the background, by that ping, before it is used again, or
//! closed if that takes longer than `db.acquire_timeout_ms`.
//!
//! A connection idle for `db.ping_idle_after_ms` is pinged before use, and a read that finds
//! its idle connection closed by the server (a restart, an idle timeout, an operator) runs once
//! more on a new one: reads are safe to repeat. The connections are read-only
//! (`default_transaction_read_only`); at most `db.postgres_readers` run statements at once, and
//! as many of each of the two kinds below may stay open idle.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sea_query::Values;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, Connection};
use sea_orm::{ConnAcquireErr, DbErr, QueryResult, RuntimeErr, Value};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Semaphore;

use super::reads::Row;
use super::sql::Sql;

/// Read-only connections to one PostgreSQL database.
#[derive(Debug)]
pub(crate) struct PgReads {
    /// Connect options of each [`Planning`] kind.
    options: [PgConnectOptions; 2],
    idle: Arc<IdleLists>,
    /// One permit per statement that may run at once.
    permits: Semaphore,
    ping_after: Duration,
    acquire_timeout: Duration,
}

/// How a connection's statements are planned. PostgreSQL's own choice (`plan_cache_mode =
/// auto`) kept planning pages anew on every execution (a generic plan's estimate for a range
/// with a limit looks worse than it is), at two to three times the cost of running them
/// (bench/README.md); statements planned by their shape ([`Sql::plan_by_shape`]) go to
/// connections that reuse one generic plan.
#[derive(Debug, Clone, Copy)]
enum Planning {
    WithValues = 0,
    ByShape = 1,
}

/// The idle connections of each [`Planning`] kind, shared with the background tasks that
/// finish cut-off statements.
#[derive(Debug)]
struct IdleLists {
    lists: Mutex<[Vec<Idle>; 2]>,
    /// Kept idle, both kinds together; more are closed when they come back (those that finished
    /// a cut-off statement in the background do so outside a permit). With the permits, at most
    /// this many read connections are open but for a moment.
    max: usize,
    /// How long a cut-off statement may take to finish before its connection is closed.
    finish_within: Duration,
}

#[derive(Debug)]
struct Idle {
    conn: PgConnection,
    since: Instant,
}

impl IdleLists {
    fn pop(&self, kind: Planning) -> Option<Idle> {
        self.lists
            .lock()
            .ok()
            .and_then(|mut lists| lists[kind as usize].pop())
    }

    /// Keeps a connection that came back, at most `max` of both kinds together: when full, the
    /// longest idle of the other kind makes room (so that neither kind is starved of idle
    /// connections by the other), or, with none, this one is closed.
    fn push(&self, kind: Planning, conn: PgConnection) {
        let Ok(mut lists) = self.lists.lock() else {
            return;
        };
        let mut evicted = None;
        if lists[0].len() + lists[1].len() >= self.max {
            let other = &mut lists[1 - kind as usize];
            if other.is_empty() {
                return;
            }
            evicted = Some(other.remove(0));
        }
        lists[kind as usize].push(Idle {
            conn,
            since: Instant::now(),
        });
        drop(lists);
        drop(evicted);
    }
}

/// The name these connections carry in `pg_stat_activity`.
pub(crate) const APPLICATION_NAME: &str = "zellige-reads";

impl PgReads {
    /// Connections are opened on first use, up to `max`.
    pub(crate) fn new(
        url: &str,
        max: usize,
        ping_after: Duration,
        acquire_timeout: Duration,
    ) -> Result<Self, DbErr> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?
            .application_name(APPLICATION_NAME)
            .options([("default_transaction_read_only", "on")]);
        let generic = options
            .clone()
            .options([("plan_cache_mode", "force_generic_plan")]);
        Ok(PgReads {
            options: [options, generic],
            idle: Arc::new(IdleLists {
                lists: Mutex::new([Vec::new(), Vec::new()]),
                max: max.max(1),
                finish_within: acquire_timeout,
            }),
            permits: Semaphore::new(max.max(1)),
            ping_after,
            acquire_timeout,
        })
    }

    /// Runs a read-only statement.
    pub(crate) async fn rows(&self, sql: Sql) -> Result<Vec<Row>, DbErr> {
        let _permit = tokio::time::timeout(self.acquire_timeout, self.permits.acquire())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
        let kind = if sql.is_planned_by_shape() {
            Planning::ByShape
        } else {
            Planning::WithValues
        };
        let (text, values) = sql.into_parts();
        let (conn, reused) = self.checkout(kind).await?;
        // Kept for a second attempt only where one can happen.
        let again = reused.then(|| values.clone());
        let mut lease = self.lease(kind, conn);
        match lease.fetch(&text, values).await {
            Ok(rows) => {
                lease.give_back();
                Ok(rows)
            }
            Err(e) if reused && closed_by_server(&e) => {
                lease.close();
                tracing::info!(error = %e, "an idle read connection was closed; reading on a new one");
                let mut lease = self.lease(kind, self.connect(kind).await?);
                let rows = lease
                    .fetch(&text, again.unwrap_or_default())
                    .await
                    .map_err(query_err)?;
                lease.give_back();
                Ok(rows)
            }
            Err(e) => {
                // A statement the database refused leaves the connection ready for the next
                // one; anything else (I/O, protocol) leaves it in doubt.
                if matches!(e, sqlx::Error::Database(_)) && !closed_by_server(&e) {
                    lease.give_back();
                } else {
                    lease.close();
                }
                Err(query_err(e))
            }
        }
    }

    /// Ends the idle connections the way a client leaves (a Terminate message), for a node
    /// that stops after its last request: dropped, each would show in the server's log as a
    /// connection reset. A read after this opens new connections.
    pub(crate) async fn close(&self) {
        let idle: Vec<Idle> = match self.idle.lists.lock() {
            Ok(mut lists) => lists.iter_mut().flat_map(std::mem::take).collect(),
            Err(_) => Vec::new(),
        };
        let closing = idle.into_iter().map(|Idle { conn, .. }| async move {
            // A server that does not answer is not waited for.
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
        });
        futures::future::join_all(closing).await;
    }

    fn lease(&self, kind: Planning, conn: PgConnection) -> Lease {
        Lease {
            idle: self.idle.clone(),
            kind,
            conn: Some(conn),
        }
    }

    /// An idle connection (pinged if it has been idle long), or a new one; and whether it was
    /// idle.
    async fn checkout(&self, kind: Planning) -> Result<(PgConnection, bool), DbErr> {
        loop {
            let Some(Idle { mut conn, since }) = self.idle.pop(kind) else {
                return Ok((self.connect(kind).await?, false));
            };
            if since.elapsed() < self.ping_after {
                return Ok((conn, true));
            }
            if conn.ping().await.is_ok() {
                return Ok((conn, true));
            }
            // Closed while idle: dropped here, the next one is tried.
        }
    }

    async fn connect(&self, kind: Planning) -> Result<PgConnection, DbErr> {
        tokio::time::timeout(
            self.acquire_timeout,
            PgConnection::connect_with(&self.options[kind as usize]),
        )
        .await
        .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
        .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))
    }

    /// Connections open and idle now.
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle
            .lists
            .lock()
            .map_or(0, |lists| lists.iter().map(Vec::len).sum())
    }
}

/// A connection while it runs one statement. Dropped before [`Lease::give_back`] or
/// [`Lease::close`] (the statement was cut off), it finishes the exchange in the background and
/// then goes back to the idle list.
struct Lease {
    idle: Arc<IdleLists>,
    kind: Planning,
    conn: Option<PgConnection>,
}

impl Lease {
    async fn fetch(&mut self, text: &str, values: Vec<Value>) -> Result<Vec<Row>, sqlx::Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(sqlx::Error::PoolClosed);
        };
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(text), SqlxValues(Values(values)))
            .fetch_all(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Row::Orm(QueryResult::from(row)))
            .collect())
    }

    fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            self.idle.push(self.kind, conn);
        }
    }

    fn close(mut self) {
        self.conn.take();
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (idle, kind) = (self.idle.clone(), self.kind);
        // The ping waits for the rest of the cut-off statement's answer, then its own.
        runtime.spawn(async move {
            if let Ok(Ok(())) = tokio::time::timeout(idle.finish_within, conn.ping()).await {
                idle.push(kind, conn);
            }
        });
    }
}

/// The server ended the connection: its socket is closed, or it said so (SQLSTATE 57P…,
/// operator intervention, e.g. `pg_terminate_backend` or a shutdown; class 08, connection
/// exception).
fn closed_by_server(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        _ => false,
    }
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::reads::Fetch;
    use crate::store::reads::tests::{self as reads_tests, decode};
    use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};

    /// A fresh database on `ZELLIGE_TEST_POSTGRES_URL`'s server with table `t`, and its URL.
    struct TestPg {
        admin: DatabaseConnection,
        name: String,
        url: String,
        pool: DatabaseConnection,
    }

    impl TestPg {
        async fn new() -> Option<TestPg> {
            let Some(admin_url) = std::env::var("ZELLIGE_TEST_POSTGRES_URL")
                .ok()
                .filter(|s| !s.is_empty())
            else {
                let require = std::env::var("ZELLIGE_TEST_REQUIRE_ALL")
                    .is_ok_and(|v| v == "1" || v == "true");
                assert!(
                    !require,
                    "ZELLIGE_TEST_REQUIRE_ALL is set and ZELLIGE_TEST_POSTGRES_URL is not"
                );
                println!(
                    "skipping PostgreSQL read connections: ZELLIGE_TEST_POSTGRES_URL is not set"
                );
                return None;
            };
            let admin = Database::connect(admin_url.clone()).await.expect("admin");
            let name = format!("zt_{}", uuid::Uuid::now_v7().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create database");
            let (base, _) = admin_url.rsplit_once('/').expect("a database path");
            let url = format!("{base}/{name}");
            let pool = Database::connect(url.clone()).await.expect("pool");
            pool.execute_unprepared(
                "CREATE TABLE t (id BIGINT PRIMARY KEY, s TEXT, i BIGINT, f DOUBLE PRECISION, b BYTEA)",
            )
            .await
            .expect("create table");
            Some(TestPg {
                admin,
                name,
                url,
                pool,
            })
        }

        fn reads(&self, max: usize, ping_after: Duration) -> PgReads {
            PgReads::new(&self.url, max, ping_after, Duration::from_millis(300)).expect("options")
        }

        /// Backends of the read connections to this database.
        async fn readers_open(&self) -> i64 {
            let mut sql = Sql::new(DbBackend::Postgres);
            sql.push("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = ")
                .bind(self.name.clone())
                .push(" AND application_name = ")
                .bind(APPLICATION_NAME);
            let rows = self.pool.rows(sql).await.expect("pg_stat_activity");
            rows[0].try_get("", "n").expect("n")
        }

        /// Waits (up to two seconds) until `n` read connections are open; the count then.
        async fn readers_settle(&self, n: i64) -> i64 {
            for _ in 0..100 {
                if self.readers_open().await == n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            self.readers_open().await
        }

        async fn drop_database(self) {
            self.pool.close().await.ok();
            self.admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .await
                .expect("drop database");
        }
    }

    fn select(min: i64) -> Sql {
        reads_tests::select(DbBackend::Postgres, min)
    }

    fn sleep(secs: f64) -> Sql {
        let mut sql = Sql::new(DbBackend::Postgres);
        sql.push("SELECT CAST(1 AS BIGINT) AS slept FROM pg_sleep(")
            .bind(secs)
            .push(")");
        sql
    }

    #[tokio::test]
    async fn reads_see_each_commit_and_decode_as_the_pool() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let reads = pg.reads(4, Duration::from_secs(10));
        for n in 1..=20_i64 {
            reads_tests::insert(DbBackend::Postgres, n)
                .execute(&pg.pool)
                .await
                .expect("insert");
            let seen = decode(&reads.rows(select(n)).await.expect("read"));
            assert_eq!(seen.len(), 1, "row {n} seen right after its commit");
        }
        let by_pool = decode(&pg.pool.rows(select(1)).await.expect("pool"));
        let by_readers = decode(&reads.rows(select(1)).await.expect("readers"));
        assert_eq!(by_pool.len(), 20);
        assert_eq!(by_readers, by_pool);
        // One connection served all of these reads, one after the other.
        assert_eq!(reads.idle_count(), 1);
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn statements_planned_by_shape_run_with_a_generic_plan() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let reads = pg.reads(2, Duration::from_secs(10));
        let mode = |by_shape: bool| {
            let mut sql = Sql::new(DbBackend::Postgres);
            sql.push("SELECT current_setting('plan_cache_mode') AS m, current_setting('transaction_read_only') AS ro");
            if by_shape {
                sql.plan_by_shape();
            }
            sql
        };
        for (by_shape, want) in [
            (false, "auto"),
            (true, "force_generic_plan"),
            (false, "auto"),
        ] {
            let rows = reads.rows(mode(by_shape)).await.expect("settings");
            assert_eq!(rows[0].try_get::<String>("", "m").expect("m"), want);
            assert_eq!(rows[0].try_get::<String>("", "ro").expect("ro"), "on");
        }
        // One idle connection of each kind, each reused.
        assert_eq!(reads.idle_count(), 2);
        assert_eq!(pg.readers_open().await, 2);
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn reads_cannot_write() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let reads = pg.reads(2, Duration::from_secs(10));
        let mut sql = Sql::new(DbBackend::Postgres);
        sql.push("INSERT INTO t (id) VALUES (1) RETURNING id");
        let Err(e) = reads.rows(sql).await else {
            panic!("a read-only connection wrote");
        };
        assert!(e.to_string().contains("read-only"), "{e}");
        // The refusal left the connection usable.
        assert_eq!(reads.idle_count(), 1);
        assert!(reads.rows(select(1)).await.expect("read").is_empty());
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn a_read_cut_off_is_finished_in_the_background_or_closed() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        // Connections finish a cut-off statement within 300 ms (`TestPg::reads`).
        let reads = pg.reads(2, Duration::from_secs(10));
        reads.rows(select(1)).await.expect("first read");
        assert_eq!(reads.idle_count(), 1);
        // A request dropped while its statement runs: the connection is not handed out until
        // that statement's answer is read to its end, then it is reused.
        let cut = tokio::time::timeout(Duration::from_millis(50), reads.rows(sleep(0.2))).await;
        assert!(cut.is_err(), "the statement was still running");
        assert_eq!(
            reads.idle_count(),
            0,
            "a connection in doubt is not handed out"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(reads.idle_count(), 1, "finished and back");
        assert_eq!(pg.readers_open().await, 1, "the same connection");
        // It answers its next statement, not the cut-off one.
        let rows = reads.rows(select(1)).await.expect("read after the cut");
        assert!(rows.is_empty());
        assert_eq!(pg.readers_open().await, 1);
        // A statement that runs on past the limit: its connection is closed instead.
        let cut = tokio::time::timeout(Duration::from_millis(50), reads.rows(sleep(5.0))).await;
        assert!(cut.is_err(), "the statement was still running");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(reads.idle_count(), 0, "closed");
        let rows = reads.rows(sleep(0.0)).await.expect("sleep");
        assert_eq!(rows[0].try_get::<i64>("", "slept").expect("slept"), 1);
        assert_eq!(reads.idle_count(), 1);
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn a_connection_the_server_ended_is_replaced() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        // Without the ping (the connection was idle briefly) the read fails on the closed
        // connection and runs again on a new one; with it (idle past the threshold) the ping
        // finds it closed first.
        for ping_after in [Duration::from_secs(3600), Duration::ZERO] {
            assert_eq!(pg.readers_settle(0).await, 0);
            let reads = pg.reads(2, ping_after);
            reads.rows(select(1)).await.expect("first read");
            let mut kill = Sql::new(DbBackend::Postgres);
            kill.push(
                "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = ",
            )
            .bind(pg.name.clone())
            .push(" AND application_name = ")
            .bind(APPLICATION_NAME);
            let killed: i64 = pg.pool.rows(kill).await.expect("terminate")[0]
                .try_get("", "n")
                .expect("n");
            assert_eq!(killed, 1, "{ping_after:?}");
            assert_eq!(pg.readers_settle(0).await, 0, "{ping_after:?}");
            let rows = reads.rows(select(1)).await.expect("read after the kill");
            assert!(rows.is_empty(), "{ping_after:?}");
            assert_eq!(reads.idle_count(), 1, "{ping_after:?}");
            assert_eq!(pg.readers_open().await, 1, "{ping_after:?}");
        }
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn at_most_the_configured_connections_are_open() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let reads = std::sync::Arc::new(
            PgReads::new(&pg.url, 2, Duration::from_secs(10), Duration::from_secs(10))
                .expect("options"),
        );
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let reads = reads.clone();
            tasks.push(tokio::spawn(async move { reads.rows(sleep(0.1)).await }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pg.readers_open().await, 2, "two open while six reads wait");
        for task in tasks {
            task.await.expect("join").expect("read");
        }
        assert_eq!(reads.idle_count(), 2);
        // Two reads cut off: their connections finish in the background, outside the bound,
        // while two new reads open two more. All four come back; two are kept.
        let mut cut = Vec::new();
        for _ in 0..2 {
            let reads = reads.clone();
            cut.push(tokio::spawn(async move {
                tokio::time::timeout(Duration::from_millis(50), reads.rows(sleep(1.0))).await
            }));
        }
        for task in cut {
            assert!(task.await.expect("join").is_err(), "cut off");
        }
        assert_eq!(reads.idle_count(), 0);
        let (a, b) = tokio::join!(reads.rows(sleep(0.05)), reads.rows(sleep(0.05)));
        a.expect("read");
        b.expect("read");
        assert_eq!(pg.readers_open().await, 4, "two busy finishing, two new");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(pg.readers_settle(2).await, 2, "the others closed");
        assert_eq!(reads.idle_count(), 2, "kept up to the bound");
        // A read that waits longer than the acquire timeout for a connection is refused.
        let short = std::sync::Arc::new(pg.reads(1, Duration::from_secs(10)));
        let long = tokio::spawn({
            let short = short.clone();
            async move { short.rows(sleep(1.0)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Err(e) = short.rows(select(1)).await else {
            panic!("no connection was free");
        };
        assert!(
            matches!(e, DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            "{e}"
        );
        long.await.expect("join").expect("the long read");
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn the_idle_bound_holds_for_both_kinds_together() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let reads = pg.reads(1, Duration::from_secs(10));
        let mut by_shape = select(1);
        by_shape.plan_by_shape();
        reads.rows(select(1)).await.expect("read");
        assert_eq!(reads.idle_count(), 1);
        // The other kind's connection takes the place of the one idle longest.
        reads.rows(by_shape).await.expect("read");
        assert_eq!(reads.idle_count(), 1);
        assert_eq!(pg.readers_settle(1).await, 1, "one open");
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn closing_ends_the_idle_connections() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let reads = std::sync::Arc::new(pg.reads(4, Duration::from_secs(10)));
        let (a, b, c) = tokio::join!(
            reads.rows(sleep(0.05)),
            reads.rows(sleep(0.05)),
            reads.rows(select(1))
        );
        for r in [a, b, c] {
            r.expect("read");
        }
        assert_eq!(reads.idle_count(), 3);
        assert_eq!(pg.readers_open().await, 3);
        reads.close().await;
        assert_eq!(reads.idle_count(), 0);
        assert_eq!(pg.readers_settle(0).await, 0, "ended on the server too");
        // Reads still work afterwards, on a new connection.
        reads.rows(select(1)).await.expect("read");
        assert_eq!(pg.readers_open().await, 1);
        pg.drop_database().await;
    }
}
