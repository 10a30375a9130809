//! Entry writes on a SQLite file, run on the calling thread.
//!
//! An entry write is about ten short statements under the tenant's lock (the lock row, checks,
//! the documents, index rows, a version, an outbox event, an audit row). Through sqlx each one
//! is a round trip to the connection's own thread, and under eight concurrent editors `perf`
//! found half the server's CPU in those hand-offs and the context switches around them, while
//! the write lock stayed held across every trip. Here the transaction runs on one connection
//! used synchronously by the task that holds this process's writer gate, so the lock is held
//! for SQLite's own work only. Other writes (content types, users, imports) keep using the pool;
//! both take the same gate, and other processes meet SQLite's busy timeout.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sea_orm::{DbBackend, DbErr, RuntimeErr};
use tokio::sync::OwnedMutexGuard;

use super::WriteTxn;
use super::reads::{Exec, Fetch, Row, blocking, prepare, run};
use super::sql::Sql;

/// The write connection of one SQLite file, opened on first use and kept between writes.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    path: PathBuf,
    busy_timeout: Duration,
    cache_kib: u32,
    idle: Mutex<Option<rusqlite::Connection>>,
}

impl SqliteWriter {
    pub(crate) fn new(path: &Path, busy_timeout: Duration, cache_kib: u32) -> Self {
        SqliteWriter {
            path: path.to_owned(),
            busy_timeout,
            cache_kib,
            idle: Mutex::new(None),
        }
    }

    /// The same settings as the pool's connections (`store::db::connect`): foreign keys on,
    /// `synchronous=NORMAL` under WAL, so a commit survives a process kill.
    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(self.busy_timeout)?;
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
             PRAGMA cache_size = -{}; PRAGMA temp_store = memory;",
            self.cache_kib
        ))?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(conn)
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`) for the holder of the writer gate.
    pub(crate) fn begin(self: &Arc<Self>, gate: OwnedMutexGuard<()>) -> Result<SqliteTxn, DbErr> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.take());
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().map_err(db_err)?,
        };
        // Waits out another process's write (SQLite's busy timeout) off this worker.
        blocking(|| conn.execute_batch("BEGIN IMMEDIATE")).map_err(db_err)?;
        Ok(SqliteTxn {
            conn: Mutex::new(Some(conn)),
            writer: self.clone(),
            _gate: gate,
        })
    }

    fn give_back(&self, conn: rusqlite::Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            *idle = Some(conn);
        }
    }
}

/// An open transaction on the SQLite writer. Dropped without [`SqliteTxn::commit`], it rolls
/// back; the connection then goes back to the writer and the gate opens for the next writer.
pub struct SqliteTxn {
    conn: Mutex<Option<rusqlite::Connection>>,
    writer: Arc<SqliteWriter>,
    _gate: OwnedMutexGuard<()>,
}

impl SqliteTxn {
    fn conn(&self) -> Result<MutexGuard<'_, Option<rusqlite::Connection>>, DbErr> {
        self.conn
            .lock()
            .map_err(|_| DbErr::Custom("the SQLite writer's lock is poisoned".into()))
    }

    fn query(&self, sql: &Sql) -> Result<Vec<Row>, DbErr> {
        let guard = self.conn()?;
        let conn = guard.as_ref().ok_or_else(ended)?;
        run(conn, sql.sql(), sql.values()).map_err(db_err)
    }

    fn execute(&self, sql: &Sql) -> Result<u64, DbErr> {
        if sql.values().len() >= BULK_PARAMS {
            return blocking(|| self.execute_now(sql));
        }
        self.execute_now(sql)
    }

    fn execute_now(&self, sql: &Sql) -> Result<u64, DbErr> {
        let guard = self.conn()?;
        let conn = guard.as_ref().ok_or_else(ended)?;
        let mut stmt = prepare(conn, sql.sql(), sql.values()).map_err(db_err)?;
        let changed = stmt.raw_execute().map_err(db_err)?;
        Ok(changed as u64)
    }

    fn finish(&self, sql: &str) -> Result<(), DbErr> {
        let conn = self.conn()?.take().ok_or_else(ended)?;
        let result = conn.execute_batch(sql).map_err(db_err);
        if result.is_err() && !conn.is_autocommit() {
            // A failed COMMIT (SQLITE_BUSY, I/O) leaves the transaction open: end it here.
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.writer.give_back(conn);
        result
    }

    pub fn commit(self) -> Result<(), DbErr> {
        self.finish("COMMIT")
    }

    pub fn rollback(self) -> Result<(), DbErr> {
        self.finish("ROLLBACK")
    }
}

impl Drop for SqliteTxn {
    fn drop(&mut self) {
        let conn = self.conn.get_mut().ok().and_then(Option::take);
        if let Some(conn) = conn {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            self.writer.give_back(conn);
        }
    }
}

/// Statements with this many parameters (an import's multi-row inserts) take long enough that
/// the worker's other tasks should move to another thread meanwhile.
const BULK_PARAMS: usize = 1_000;

fn ended() -> DbErr {
    DbErr::Custom("the SQLite write transaction has ended".into())
}

/// The prefix of a SQLite error's text: the extended result code, so that a constraint
/// violation is told by its code (see [`super::is_unique_violation`]).
const CODE_PREFIX: &str = "sqlite error ";

fn db_err(e: rusqlite::Error) -> DbErr {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => DbErr::Exec(RuntimeErr::Internal(format!(
            "{CODE_PREFIX}{}: {e}",
            f.extended_code
        ))),
        _ => DbErr::Exec(RuntimeErr::Internal(format!("sqlite write: {e}"))),
    }
}

/// The extended result code of an error from the SQLite writer.
pub(crate) fn sqlite_code(err: &DbErr) -> Option<i32> {
    let DbErr::Exec(RuntimeErr::Internal(text)) = err else {
        return None;
    };
    let rest = text.strip_prefix(CODE_PREFIX)?;
    rest.split(':').next()?.parse().ok()
}

/// A write transaction of the entry path: on the SQLite writer for a SQLite file, a pool
/// transaction otherwise.
pub enum Txn {
    Pool(WriteTxn),
    Sqlite(SqliteTxn),
}

impl Txn {
    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            Txn::Pool(txn) => txn.commit().await,
            Txn::Sqlite(txn) => txn.commit(),
        }
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        match self {
            Txn::Pool(txn) => txn.rollback().await,
            Txn::Sqlite(txn) => txn.rollback(),
        }
    }
}

#[async_trait::async_trait]
impl Fetch for Txn {
    fn backend(&self) -> DbBackend {
        match self {
            Txn::Pool(txn) => txn.backend(),
            Txn::Sqlite(_) => DbBackend::Sqlite,
        }
    }

    async fn rows(&self, sql: Sql) -> Result<Vec<Row>, DbErr> {
        match self {
            Txn::Pool(txn) => txn.rows(sql).await,
            Txn::Sqlite(txn) => txn.query(&sql),
        }
    }
}

#[async_trait::async_trait]
impl Exec for Txn {
    async fn exec(&self, sql: Sql) -> Result<u64, DbErr> {
        match self {
            Txn::Pool(txn) => txn.exec(sql).await,
            Txn::Sqlite(txn) => txn.execute(&sql),
        }
    }
}

/// Runs `body` inside a savepoint of `conn`: kept when it succeeds, undone (and the
/// transaction left as before it) when it fails. The same SQL on both databases.
pub(crate) async fn savepoint<C, T, E, F>(conn: &C, body: F) -> Result<Result<T, E>, DbErr>
where
    C: Exec + ?Sized,
    F: std::future::Future<Output = Result<T, E>>,
{
    let stmt = |text: &str| {
        let mut sql = Sql::new(conn.backend());
        sql.push(text);
        sql
    };
    conn.exec(stmt("SAVEPOINT batch_item")).await?;
    let result = body.await;
    if result.is_err() {
        conn.exec(stmt("ROLLBACK TO SAVEPOINT batch_item")).await?;
    }
    conn.exec(stmt("RELEASE SAVEPOINT batch_item")).await?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::{Db, Reads};
    use sea_orm::ConnectionTrait;

    async fn file_db() -> (tempfile::TempDir, Reads, Db) {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let db = super::super::db::connect(&config).await.expect("connect");
        db.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT UNIQUE)")
            .await
            .expect("create");
        let reads = Reads::for_config(&config, db.clone());
        (dir, reads, db)
    }

    fn insert(id: i64, s: &str) -> Sql {
        let mut sql = Sql::new(DbBackend::Sqlite);
        sql.push("INSERT INTO t (id, s) VALUES (")
            .bind(id)
            .push(", ")
            .bind(s.to_owned())
            .push(")");
        sql
    }

    async fn count(db: &Db) -> i64 {
        let mut sql = Sql::new(DbBackend::Sqlite);
        sql.push("SELECT COUNT(*) AS n FROM t");
        let rows = db.rows(sql).await.expect("count");
        rows[0].try_get::<i64>("", "n").expect("n")
    }

    #[tokio::test]
    async fn commits_are_seen_by_the_pool_and_drops_roll_back() {
        let (_dir, reads, db) = file_db().await;
        let txn = reads.begin_write().await.expect("begin");
        assert!(
            matches!(txn, Txn::Sqlite(_)),
            "a SQLite file writes on its own writer"
        );
        assert_eq!(
            txn.exec(insert(1, "الدار البيضاء")).await.expect("insert"),
            1
        );
        // Inside the transaction its own write is visible; outside, not yet.
        let mut sql = Sql::new(DbBackend::Sqlite);
        sql.push("SELECT s FROM t WHERE id = 1");
        let rows = txn.rows(sql).await.expect("read own write");
        assert_eq!(
            rows[0].try_get::<String>("", "s").expect("s"),
            "الدار البيضاء"
        );
        assert_eq!(count(&db).await, 0);
        txn.commit().await.expect("commit");
        assert_eq!(count(&db).await, 1);

        // Dropped without a commit (an error returned with `?`): nothing stays.
        let txn = reads.begin_write().await.expect("begin");
        txn.exec(insert(2, "فاس")).await.expect("insert");
        drop(txn);
        assert_eq!(count(&db).await, 1);

        // The gate opened again and the connection went back: a pool writer gets in.
        let pool_txn = super::super::begin_write(&db).await.expect("pool begin");
        insert(3, "مكناس")
            .execute(&pool_txn)
            .await
            .expect("pool insert");
        pool_txn.commit().await.expect("pool commit");
        assert_eq!(count(&db).await, 2);
    }

    #[tokio::test]
    async fn a_unique_violation_is_told_by_its_code_and_a_savepoint_undoes_only_its_part() {
        let (_dir, reads, db) = file_db().await;
        let txn = reads.begin_write().await.expect("begin");
        txn.exec(insert(1, "طنجة")).await.expect("insert");
        let outcome = savepoint(&txn, async {
            txn.exec(insert(2, "تطوان")).await?;
            txn.exec(insert(3, "طنجة")).await
        })
        .await
        .expect("savepoint");
        let err = outcome.expect_err("a duplicate value is refused");
        assert!(super::super::is_unique_violation(&err), "{err}");
        assert_eq!(sqlite_code(&err), Some(2067));
        let kept = savepoint(&txn, async { txn.exec(insert(4, "وجدة")).await })
            .await
            .expect("savepoint");
        assert!(kept.is_ok());
        txn.commit().await.expect("commit");
        // Row 1 and row 4 stand; the failed savepoint took row 2 with it.
        let mut sql = Sql::new(DbBackend::Sqlite);
        sql.push("SELECT id FROM t ORDER BY id");
        let ids: Vec<i64> = db
            .rows(sql)
            .await
            .expect("ids")
            .iter()
            .map(|r| r.try_get("", "id").expect("id"))
            .collect();
        assert_eq!(ids, vec![1, 4]);
    }
}
