//! PostgreSQL connections of the request path's reads.
//!
//! The driver's pool (sqlx 0.9) pings a connection, a round trip, every time it takes one back:
//! a statement cut off by a dropped future may have left it mid-protocol. On the uncached read
//! path, where a request is two statements, those pings were half of the round trips to the
//! database (bench/README.md). These connections need no such check by construction: one goes
//! back to the idle list only from the code after its statement completed, so a connection whose
//! statement was cut off is dropped with the future, which closes it.
//!
//! A connection idle for `db.ping_idle_after_ms` is pinged before use, and a read that finds
//! its idle connection closed by the server (a restart, an idle timeout, an operator) runs once
//! more on a new one: reads are safe to repeat. The connections are read-only
//! (`default_transaction_read_only`) and at most `db.postgres_readers` are open.

use std::str::FromStr;
use std::sync::Mutex;
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
    options: PgConnectOptions,
    idle: Mutex<Vec<Idle>>,
    /// One permit per connection that may be open.
    permits: Semaphore,
    ping_after: Duration,
    acquire_timeout: Duration,
}

#[derive(Debug)]
struct Idle {
    conn: PgConnection,
    since: Instant,
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
        Ok(PgReads {
            options,
            idle: Mutex::new(Vec::new()),
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
        let (text, values) = sql.into_parts();
        let (mut conn, reused) = self.checkout().await?;
        // Kept for a second attempt only where one can happen.
        let again = reused.then(|| values.clone());
        match fetch(&mut conn, &text, values).await {
            Ok(rows) => {
                self.release(conn);
                Ok(rows)
            }
            Err(e) if reused && closed_by_server(&e) => {
                drop(conn);
                tracing::info!(error = %e, "an idle read connection was closed; reading on a new one");
                let mut conn = self.connect().await?;
                let rows = fetch(&mut conn, &text, again.unwrap_or_default())
                    .await
                    .map_err(query_err)?;
                self.release(conn);
                Ok(rows)
            }
            Err(e) => {
                // A statement the database refused leaves the connection ready for the next
                // one; anything else (I/O, protocol) leaves it in doubt.
                if matches!(e, sqlx::Error::Database(_)) && !closed_by_server(&e) {
                    self.release(conn);
                }
                Err(query_err(e))
            }
        }
    }

    /// An idle connection (pinged if it has been idle long), or a new one; and whether it was
    /// idle.
    async fn checkout(&self) -> Result<(PgConnection, bool), DbErr> {
        loop {
            let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let Some(Idle { mut conn, since }) = idle else {
                return Ok((self.connect().await?, false));
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

    async fn connect(&self) -> Result<PgConnection, DbErr> {
        tokio::time::timeout(
            self.acquire_timeout,
            PgConnection::connect_with(&self.options),
        )
        .await
        .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
        .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))
    }

    fn release(&self, conn: PgConnection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    /// Connections open and idle now.
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().map_or(0, |idle| idle.len())
    }
}

async fn fetch(
    conn: &mut PgConnection,
    text: &str,
    values: Vec<Value>,
) -> Result<Vec<Row>, sqlx::Error> {
    let rows = sqlx::query_with(sqlx::AssertSqlSafe(text), SqlxValues(Values(values)))
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Row::Orm(QueryResult::from(row)))
        .collect())
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
    async fn a_read_cut_off_closes_its_connection() {
        let Some(pg) = TestPg::new().await else {
            return;
        };
        let reads = pg.reads(2, Duration::from_secs(10));
        reads.rows(select(1)).await.expect("first read");
        assert_eq!(reads.idle_count(), 1);
        // The request is dropped while its statement runs: the connection does not come back.
        let cut = tokio::time::timeout(Duration::from_millis(100), reads.rows(sleep(5.0))).await;
        assert!(cut.is_err(), "the statement was still running");
        assert_eq!(reads.idle_count(), 0, "a connection in doubt is not reused");
        // The next read opens a new connection and gets its own answer, not the old one's.
        let rows = reads.rows(select(1)).await.expect("read after the cut");
        assert!(rows.is_empty());
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
}
