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
//! (`default_transaction_read_only`); at most `db.postgres_readers` are open (a connection
//! finishing a cut-off statement aside) and run statements at once, each in either of the two
//! planning modes below. A read that finds none idle takes whichever comes first: one coming
//! back, or a new one, opened in the background while fewer are open.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sea_query::Values;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, Connection};
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, Value};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};

use super::reads::Row;
use super::sql::Sql;

/// Read-only connections to one PostgreSQL database.
#[derive(Debug)]
pub(crate) struct PgReads {
    /// Connect options of each [`Planning`] mode.
    options: [PgConnectOptions; 2],
    idle: Arc<IdleList>,
    /// One permit per statement that may run at once.
    permits: Semaphore,
    ping_after: Duration,
    acquire_timeout: Duration,
}

/// How a connection's statements are planned. PostgreSQL's own choice (`plan_cache_mode =
/// auto`) kept planning pages anew on every execution (a generic plan's estimate for a range
/// with a limit looks worse than it is), at two to three times the cost of running them
/// (bench/README.md); statements planned by their shape ([`Sql::plan_by_shape`]) run where
/// one generic plan is reused.
///
/// The mode is a setting of the connection's session, not of the connection: an idle
/// connection in the other mode is switched with one `SET` (a round trip) rather than a new
/// connection opened. Opening one costs a process on the server and an authentication
/// exchange, which on a busy machine took 0.3–1 s; with connections kept per mode, a request
/// whose mode had no idle connection waited that long while the other mode's sat idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Planning {
    WithValues = 0,
    ByShape = 1,
}

impl Planning {
    fn of(sql: &Sql) -> Planning {
        if sql.is_planned_by_shape() {
            Planning::ByShape
        } else {
            Planning::WithValues
        }
    }

    /// The value of `plan_cache_mode` in this mode.
    fn setting(self) -> &'static str {
        match self {
            Planning::WithValues => "auto",
            Planning::ByShape => "force_generic_plan",
        }
    }

    /// The statement that switches a session to this mode (one of two fixed values).
    fn set(self) -> sqlx::AssertSqlSafe<String> {
        sqlx::AssertSqlSafe(format!("SET plan_cache_mode = {}", self.setting()))
    }
}

/// An open read connection and its place among the `db.postgres_readers` that may be open.
#[derive(Debug)]
struct Conn {
    pg: PgConnection,
    slot: OwnedSemaphorePermit,
}

/// The idle connections, shared with the background tasks that open connections and finish
/// cut-off statements.
#[derive(Debug)]
struct IdleList {
    conns: Mutex<Vec<Idle>>,
    /// Told of every connection that comes back, for reads waiting on one.
    returned: Notify,
    /// One per connection open or being opened, `db.postgres_readers` in all. A connection
    /// finishing a cut-off statement in the background gives its own up meanwhile (new reads
    /// need not wait for it) and is closed if none is free when it is done.
    slots: Arc<Semaphore>,
    /// How long a cut-off statement may take to finish before its connection is closed.
    finish_within: Duration,
}

#[derive(Debug)]
struct Idle {
    conn: Conn,
    mode: Planning,
    since: Instant,
}

impl IdleList {
    /// The connection returned last in `mode` (the one most likely still warm), else the one
    /// returned last in the other mode.
    fn pop(&self, mode: Planning) -> Option<Idle> {
        let mut conns = self.conns.lock().ok()?;
        let at = conns
            .iter()
            .rposition(|idle| idle.mode == mode)
            .or_else(|| conns.len().checked_sub(1))?;
        Some(conns.remove(at))
    }

    fn push(&self, mode: Planning, conn: Conn) {
        let Ok(mut conns) = self.conns.lock() else {
            return;
        };
        conns.push(Idle {
            conn,
            mode,
            since: Instant::now(),
        });
        drop(conns);
        self.returned.notify_one();
    }
}

async fn connect(options: &PgConnectOptions, timeout: Duration) -> Result<PgConnection, DbErr> {
    tokio::time::timeout(timeout, PgConnection::connect_with(options))
        .await
        .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
        .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))
}

/// Ends a connection the way a client leaves (a Terminate message) in the background, so that
/// it does not show as a connection reset in the server's log.
fn end(conn: PgConnection) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
        });
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
            idle: Arc::new(IdleList {
                conns: Mutex::new(Vec::new()),
                returned: Notify::new(),
                slots: Arc::new(Semaphore::new(max.max(1))),
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
        let kind = Planning::of(&sql);
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
                let Some(slot) = lease.close() else {
                    return Err(query_err(e));
                };
                tracing::info!(error = %e, "an idle read connection was closed; reading on a new one");
                let pg = connect(&self.options[kind as usize], self.acquire_timeout).await?;
                let mut lease = self.lease(kind, Conn { pg, slot });
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

    /// Opens up to `n` connections (as many as are free of the bound), in the mode of most
    /// request reads, ahead of the first requests; how many. An error only when none opened.
    pub(crate) async fn warm(&self, n: usize) -> Result<usize, DbErr> {
        let mode = Planning::ByShape;
        let options = &self.options[mode as usize];
        let opening: Vec<_> = (0..n)
            .map_while(|_| self.idle.slots.clone().try_acquire_owned().ok())
            .map(|slot| async move {
                let pg = connect(options, self.acquire_timeout).await?;
                Ok::<_, DbErr>(Conn { pg, slot })
            })
            .collect();
        let (mut opened, mut failed) = (0, None);
        for conn in futures::future::join_all(opening).await {
            match conn {
                Ok(conn) => {
                    self.idle.push(mode, conn);
                    opened += 1;
                }
                Err(e) => failed = Some(e),
            }
        }
        match failed {
            Some(e) if opened == 0 => Err(e),
            _ => Ok(opened),
        }
    }

    /// Ends the idle connections the way a client leaves (a Terminate message), for a node
    /// that stops after its last request: dropped, each would show in the server's log as a
    /// connection reset. A read after this opens new connections.
    pub(crate) async fn close(&self) {
        let idle: Vec<Idle> = match self.idle.conns.lock() {
            Ok(mut conns) => std::mem::take(&mut *conns),
            Err(_) => Vec::new(),
        };
        let closing = idle.into_iter().map(|Idle { conn, .. }| async move {
            // A server that does not answer is not waited for.
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.pg.close()).await;
        });
        futures::future::join_all(closing).await;
    }

    fn lease(&self, kind: Planning, conn: Conn) -> Lease {
        Lease {
            idle: self.idle.clone(),
            kind,
            conn: Some(conn),
        }
    }

    /// An idle connection in `mode` (pinged if it has been idle long), one in the other mode
    /// switched to it, or, with none idle, whichever comes first of a connection coming back
    /// and a new one (while fewer than `db.postgres_readers` are open); and whether it was
    /// idle.
    ///
    /// Opening a connection takes a process on the server and an authentication exchange:
    /// under load it took 0.3–1 s, while a busy connection comes back within a statement's
    /// time. A connection opened for a read that went on without it is kept idle.
    async fn checkout(&self, mode: Planning) -> Result<(Conn, bool), DbErr> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let mut opening = None;
        loop {
            // Listening before looking: a connection coming back in between is not missed.
            let returned = self.idle.returned.notified();
            if let Some(Idle {
                mut conn,
                mode: was,
                since,
            }) = self.idle.pop(mode)
            {
                let ready = if was != mode {
                    // The `SET` is a round trip as the ping is.
                    sqlx::raw_sql(mode.set())
                        .execute(&mut conn.pg)
                        .await
                        .is_ok()
                } else {
                    since.elapsed() < self.ping_after || conn.pg.ping().await.is_ok()
                };
                if ready {
                    return Ok((conn, true));
                }
                // Closed while idle: dropped here, the next one is tried.
                continue;
            }
            if opening.is_none()
                && let Ok(slot) = self.idle.slots.clone().try_acquire_owned()
            {
                opening = Some(self.open(mode, slot));
            }
            match opening.as_mut() {
                Some(new) => tokio::select! {
                    opened = new => {
                        return match opened {
                            Ok(opened) => opened.map(|conn| (conn, false)),
                            Err(_) => Err(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)),
                        };
                    }
                    () = returned => {}
                },
                // All open: one comes back, or one is closed and its slot is taken (looked for
                // again every few milliseconds).
                None => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
                    }
                    let wait =
                        deadline.min(tokio::time::Instant::now() + Duration::from_millis(20));
                    let _ = tokio::time::timeout_at(wait, returned).await;
                }
            }
        }
    }

    /// Opens a connection in the background: to the read that asked for it, or, when that read
    /// went on with one that came back first, to the idle list.
    fn open(
        &self,
        mode: Planning,
        slot: OwnedSemaphorePermit,
    ) -> oneshot::Receiver<Result<Conn, DbErr>> {
        let (tx, rx) = oneshot::channel();
        let options = self.options[mode as usize].clone();
        let (idle, timeout) = (self.idle.clone(), self.acquire_timeout);
        tracing::debug!(mode = mode.setting(), "opening a read connection");
        tokio::spawn(async move {
            let opened = connect(&options, timeout).await.map(|pg| Conn { pg, slot });
            if let Err(Ok(conn)) = tx.send(opened) {
                idle.push(mode, conn);
            }
        });
        rx
    }

    /// Connections open and idle now.
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.conns.lock().map_or(0, |conns| conns.len())
    }
}

/// A connection while it runs one statement. Dropped before [`Lease::give_back`] or
/// [`Lease::close`] (the statement was cut off), it finishes the exchange in the background and
/// then goes back to the idle list.
struct Lease {
    idle: Arc<IdleList>,
    kind: Planning,
    conn: Option<Conn>,
}

impl Lease {
    async fn fetch(&mut self, text: &str, values: Vec<Value>) -> Result<Vec<Row>, sqlx::Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(sqlx::Error::PoolClosed);
        };
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(text), SqlxValues(Values(values)))
            .fetch_all(&mut conn.pg)
            .await?;
        Ok(rows.into_iter().map(Row::Pg).collect())
    }

    fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            self.idle.push(self.kind, conn);
        }
    }

    /// Closes the connection; its slot, for a new one.
    fn close(mut self) -> Option<OwnedSemaphorePermit> {
        self.conn.take().map(|Conn { pg, slot }| {
            drop(pg);
            slot
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(Conn { pg: mut conn, slot }) = self.conn.take() else {
            return;
        };
        drop(slot);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (idle, kind) = (self.idle.clone(), self.kind);
        // The ping waits for the rest of the cut-off statement's answer, then its own.
        runtime.spawn(async move {
            if let Ok(Ok(())) = tokio::time::timeout(idle.finish_within, conn.ping()).await {
                match idle.slots.clone().try_acquire_owned() {
                    Ok(slot) => idle.push(kind, Conn { pg: conn, slot }),
                    Err(_) => end(conn),
                }
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

        /// Backends connected to this database: the read connections' (`readers`) or the
        /// others' (the pool's).
        async fn backends(&self, readers: bool) -> i64 {
            let mut sql = Sql::new(DbBackend::Postgres);
            sql.push("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = ")
                .bind(self.name.clone())
                .push(if readers {
                    " AND application_name = "
                } else {
                    " AND application_name <> "
                })
                .bind(APPLICATION_NAME);
            let rows = self.pool.rows(sql).await.expect("pg_stat_activity");
            rows[0].try_get("", "n").expect("n")
        }

        /// Backends of the read connections to this database.
        async fn readers_open(&self) -> i64 {
            self.backends(true).await
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
        // One connection, switched from one mode to the other and back.
        assert_eq!(reads.idle_count(), 1);
        assert_eq!(pg.readers_open().await, 1);
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
    async fn a_read_prefers_an_idle_connection_in_its_mode_and_never_opens_one_while_any_is_idle() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let reads = std::sync::Arc::new(pg.reads(4, Duration::from_secs(10)));
        let mode_of = |rows: &[Row]| rows[0].try_get::<String>("", "m").expect("m");
        let mode = |by_shape: bool| {
            let mut sql = Sql::new(DbBackend::Postgres);
            sql.push("SELECT current_setting('plan_cache_mode') AS m, pg_backend_pid() AS pid");
            if by_shape {
                sql.plan_by_shape();
            }
            sql
        };
        let pid_of = |rows: &[Row]| rows[0].try_get::<i32>("", "pid").expect("pid");
        // Two connections open at once, one left in each mode.
        let (a, b) = tokio::join!(reads.rows(sleep(0.05)), async {
            let mut slow = sleep(0.05);
            slow.plan_by_shape();
            reads.rows(slow).await
        });
        a.expect("read");
        b.expect("read");
        assert_eq!(reads.idle_count(), 2);
        // Each mode finds its own connection, whichever came back last.
        let shaped = reads.rows(mode(true)).await.expect("read");
        assert_eq!(mode_of(&shaped), "force_generic_plan");
        let valued = reads.rows(mode(false)).await.expect("read");
        assert_eq!(mode_of(&valued), "auto");
        assert_ne!(pid_of(&shaped), pid_of(&valued));
        for _ in 0..3 {
            assert_eq!(
                pid_of(&reads.rows(mode(true)).await.expect("read")),
                pid_of(&shaped)
            );
            assert_eq!(
                pid_of(&reads.rows(mode(false)).await.expect("read")),
                pid_of(&valued)
            );
        }
        // Four reads of one mode at once: the idle connection of the other mode is switched
        // to it, and only two more are opened (four reads, four connections).
        let shaped_reads = (0..4).map(|_| {
            let reads = reads.clone();
            async move {
                let mut sql = mode(true);
                sql.push(" FROM pg_sleep(0.05)");
                reads.rows(sql).await
            }
        });
        for rows in futures::future::join_all(shaped_reads).await {
            assert_eq!(mode_of(&rows.expect("read")), "force_generic_plan");
        }
        assert_eq!(pg.readers_settle(4).await, 4);
        assert_eq!(reads.idle_count(), 4);
        // A switched connection still plans its own statements as asked: back to `auto`.
        let rows = reads.rows(mode(false)).await.expect("read");
        assert_eq!(mode_of(&rows), "auto");
        assert_eq!(pg.readers_open().await, 4, "no connection opened");
        pg.drop_database().await;
    }

    /// A TCP proxy to the test server that lets each new connection through only after
    /// `delay`, as a busy server's connection setup takes; the URL through it, and the count
    /// of connections it accepted.
    async fn slow_to_connect(
        url: &str,
        delay: Duration,
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = accepted.clone();
        let mut through = url::Url::parse(url).expect("url");
        let target = format!(
            "{}:{}",
            through.host_str().expect("host"),
            through.port().unwrap_or(5432)
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let target = target.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        through.set_host(Some("127.0.0.1")).expect("host");
        through.set_port(Some(port)).expect("port");
        (through.to_string(), accepted)
    }

    #[tokio::test]
    async fn a_read_takes_a_connection_coming_back_before_a_slow_new_one() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let (url, accepted) = slow_to_connect(&pg.url, Duration::from_millis(800)).await;
        let reads = std::sync::Arc::new(
            PgReads::new(&url, 4, Duration::from_secs(10), Duration::from_secs(10))
                .expect("options"),
        );
        reads.rows(select(1)).await.expect("first read");
        assert_eq!(reads.idle_count(), 1);
        // The one connection is busy for 200 ms; a read arriving meanwhile starts opening a
        // second (800 ms) and goes on with the first as soon as it comes back.
        let busy = tokio::spawn({
            let reads = reads.clone();
            async move { reads.rows(sleep(0.2)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        reads.rows(select(1)).await.expect("read");
        let waited = started.elapsed();
        busy.await.expect("join").expect("busy read");
        assert!(
            waited < Duration::from_millis(600),
            "waited {waited:?} for a connection"
        );
        // The connection opened for it is not lost: it joins the idle list when it is ready.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(reads.idle_count(), 2);
        assert_eq!(pg.readers_settle(2).await, 2);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn reads_waiting_on_slow_connections_open_no_more_than_the_bound() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let (url, accepted) = slow_to_connect(&pg.url, Duration::from_millis(300)).await;
        let reads = std::sync::Arc::new(
            PgReads::new(&url, 4, Duration::from_secs(10), Duration::from_secs(10))
                .expect("options"),
        );
        reads.rows(select(1)).await.expect("first read");
        // Sixteen clients reading at once and again: while the connections after the first are
        // being opened, reads keep finding none idle (the one open comes back and goes again).
        let clients = (0..16).map(|_| {
            let reads = reads.clone();
            async move {
                for _ in 0..20 {
                    reads.rows(select(1)).await.expect("read");
                }
            }
        });
        futures::future::join_all(clients).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            accepted.load(std::sync::atomic::Ordering::SeqCst) <= 4,
            "{} connections opened for at most 4",
            accepted.load(std::sync::atomic::Ordering::SeqCst)
        );
        assert!(pg.readers_open().await <= 4);
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn warming_opens_connections_ahead_within_the_bound() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let reads = pg.reads(4, Duration::from_secs(10));
        assert_eq!(
            reads.warm(6).await.expect("warm"),
            4,
            "no more than the bound"
        );
        assert_eq!(reads.idle_count(), 4);
        assert_eq!(pg.readers_open().await, 4);
        // Reads of both modes use them; none is opened.
        let mut by_shape = select(1);
        by_shape.plan_by_shape();
        reads.rows(by_shape).await.expect("read");
        reads.rows(select(1)).await.expect("read");
        assert_eq!(pg.readers_open().await, 4);
        assert_eq!(reads.warm(2).await.expect("warm"), 0, "all open already");
        // A server that refuses: the error, since none opened.
        let refused = PgReads::new(
            "postgres://nobody:wrong@127.0.0.1:1/none",
            2,
            Duration::from_secs(10),
            Duration::from_secs(2),
        )
        .expect("options");
        assert!(refused.warm(2).await.is_err());
        pg.drop_database().await;
    }

    #[tokio::test]
    async fn the_pool_is_opened_ahead_too() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        assert_eq!(crate::store::db::warm(&pg.pool, 3).await.expect("warm"), 3);
        let open = pg.backends(false).await;
        assert!(open >= 3, "{open} pool connections open");
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
