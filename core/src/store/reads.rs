//! Where the request path's read-only statements run.
//!
//! sqlx drives each SQLite connection from a thread of its own and hands every statement and
//! every row across a channel. On the uncached read path those hand-offs (futex wake-ups,
//! context switches, rescheduling interrupts) cost more CPU than SQLite's own work: about a
//! fifth of the server's time under 16 clients, measured with `perf` (bench/README.md). A SQLite
//! file is therefore also read through a small pool of connections used synchronously on the
//! calling thread: a statement of the read path takes tens of microseconds on pages in memory,
//! less than one hand-off. WAL lets these readers run beside the writer; each statement sees
//! the last committed state, as a statement on the pool does. Reads inside a write transaction
//! keep using that transaction. PostgreSQL reads go through connections of their own that
//! skip the pool's round trips around each statement (`store::pg_reads`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::Value as Cell;
use sea_orm::sqlx::{self, postgres::PgRow};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, RuntimeErr, TryGetable, Value};

use super::Db;
use super::pg_reads::PgReads;
use super::sql::Sql;
use super::writer::{SqliteWriter, Txn};

/// The main pool plus, for a SQLite file, the synchronous readers, or, for PostgreSQL, the
/// read connections.
#[derive(Clone, Debug)]
pub struct Reads {
    db: Db,
    readers: Readers,
    /// The request's credential check, carried by its first read that can (PostgreSQL).
    check: Option<Arc<super::tokens::CredentialCheck>>,
}

/// Where reads (and, for SQLite, entry writes) run besides the pool.
#[derive(Clone, Debug)]
enum Readers {
    Pool,
    Sqlite {
        reads: Arc<SqliteReads>,
        writer: Arc<SqliteWriter>,
    },
    Postgres(Arc<PgReads>),
}

impl Reads {
    /// Reads through the main pool only (PostgreSQL, tools, tests of the store).
    pub fn pool(db: Db) -> Self {
        Reads {
            db,
            readers: Readers::Pool,
            check: None,
        }
    }

    /// Reads a SQLite file through up to `idle_max` idle connections of its own, each with a
    /// page cache of `cache_kib`, and writes entries through a connection of its own.
    pub fn sqlite(
        db: Db,
        path: &Path,
        idle_max: usize,
        cache_kib: u32,
        busy_timeout: Duration,
    ) -> Self {
        let readers = SqliteReads {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            idle_max: idle_max.max(1),
            cache_kib,
        };
        readers.warm(WARM.min(readers.idle_max));
        Reads {
            db,
            readers: Readers::Sqlite {
                reads: Arc::new(readers),
                writer: Arc::new(SqliteWriter::new(path, busy_timeout, cache_kib)),
            },
            check: None,
        }
    }

    /// The readers the configuration asks for: synchronous SQLite readers and entry writer for
    /// a SQLite file (unless `db.sqlite_readers` is 0), read connections for PostgreSQL
    /// (unless `db.postgres_readers` is 0), the pool otherwise.
    pub fn for_config(config: &crate::config::Config, db: Db) -> Self {
        match config.database() {
            crate::config::DatabaseTarget::Postgres(url) if config.db.postgres_readers > 0 => {
                match PgReads::new(
                    &url,
                    config.db.postgres_readers,
                    Duration::from_millis(config.db.ping_idle_after_ms),
                    Duration::from_millis(config.db.acquire_timeout_ms),
                ) {
                    Ok(pg) => Reads {
                        db,
                        readers: Readers::Postgres(Arc::new(pg)),
                        check: None,
                    },
                    // The pool connected with the same URL, so this is not expected; the
                    // pool still serves.
                    Err(e) => {
                        tracing::warn!(error = %e, "PostgreSQL read connections: reading through the pool");
                        Reads::pool(db)
                    }
                }
            }
            crate::config::DatabaseTarget::Sqlite(path) if config.db.sqlite_readers > 0 => {
                Reads::sqlite(
                    db,
                    &path,
                    config.db.sqlite_readers,
                    config.db.sqlite_reader_cache_kib,
                    Duration::from_millis(config.db.sqlite_busy_timeout_ms),
                )
            }
            _ => Reads::pool(db),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Opens up to `n` read connections ahead of the first requests (PostgreSQL); how many.
    pub async fn warm(&self, n: usize) -> Result<usize, sea_orm::DbErr> {
        match &self.readers {
            Readers::Postgres(pg) => pg.warm(n).await,
            _ => Ok(0),
        }
    }

    /// Ends idle read connections as a client leaves (PostgreSQL), for a stopping node.
    pub async fn close(&self) {
        if let Readers::Postgres(pg) = &self.readers {
            pg.close().await;
        }
    }

    /// Whether a credential check can travel with reads here ([`Self::with_check`]): on
    /// PostgreSQL's read connections, where it saves a round trip. In process (SQLite) a check
    /// of its own costs as little.
    pub fn carries_checks(&self) -> bool {
        matches!(self.readers, Readers::Postgres(_))
    }

    /// The same reads, with `check` carried by the first statement that can take it.
    pub fn with_check(&self, check: Arc<super::tokens::CredentialCheck>) -> Self {
        Reads {
            db: self.db.clone(),
            readers: self.readers.clone(),
            check: Some(check),
        }
    }

    /// Starts a write transaction for the entry path: on the SQLite writer when there is one
    /// (see [`super::writer`]), on the pool otherwise. Either way after this process's earlier
    /// writers.
    pub async fn begin_write(&self) -> Result<Txn, DbErr> {
        match &self.readers {
            Readers::Sqlite { writer, .. } => {
                let gate = super::writer_gate(&self.db).lock_owned().await;
                Ok(Txn::Sqlite(writer.begin(gate)?))
            }
            Readers::Pool | Readers::Postgres(_) => {
                Ok(Txn::Pool(super::begin_write(&self.db).await?))
            }
        }
    }
}

/// A source of rows: a pool, a transaction, or [`Reads`].
#[async_trait::async_trait]
pub trait Fetch: Sync {
    fn backend(&self) -> DbBackend;
    async fn rows(&self, sql: Sql) -> Result<Vec<Row>, DbErr>;

    async fn row(&self, sql: Sql) -> Result<Option<Row>, DbErr> {
        Ok(self.rows(sql).await?.into_iter().next())
    }

    /// A statement that may read many rows (counts, groups over a large filter).
    async fn rows_scanning(&self, sql: Sql) -> Result<Vec<Row>, DbErr> {
        self.rows(sql).await
    }
}

#[async_trait::async_trait]
impl<C: ConnectionTrait + Sync> Fetch for C {
    fn backend(&self) -> DbBackend {
        self.get_database_backend()
    }

    async fn rows(&self, sql: Sql) -> Result<Vec<Row>, DbErr> {
        Ok(self
            .query_all_raw(sql.build())
            .await?
            .into_iter()
            .map(Row::Orm)
            .collect())
    }

    async fn row(&self, sql: Sql) -> Result<Option<Row>, DbErr> {
        Ok(self.query_one_raw(sql.build()).await?.map(Row::Orm))
    }
}

/// Where a write's statements run: a pool, a transaction, or the SQLite writer
/// ([`super::writer::Txn`]).
#[async_trait::async_trait]
pub trait Exec: Fetch {
    /// Runs a statement and returns the number of rows it changed.
    async fn exec(&self, sql: Sql) -> Result<u64, DbErr>;
}

#[async_trait::async_trait]
impl<C: ConnectionTrait + Sync> Exec for C {
    async fn exec(&self, sql: Sql) -> Result<u64, DbErr> {
        Ok(self.execute_raw(sql.build()).await?.rows_affected())
    }
}

#[async_trait::async_trait]
impl Fetch for Reads {
    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    async fn rows(&self, sql: Sql) -> Result<Vec<Row>, DbErr> {
        match &self.readers {
            Readers::Sqlite { reads, .. } => reads.query(&sql),
            Readers::Postgres(pg) => match &self.check {
                Some(check) => {
                    let mut sql = sql;
                    if !check.board(&mut sql) {
                        return pg.rows(sql).await;
                    }
                    let rows = pg.rows(sql).await;
                    check.settle(rows.as_ref().ok().and_then(|r| r.first()));
                    rows
                }
                None => pg.rows(sql).await,
            },
            Readers::Pool => self.db.rows(sql).await,
        }
    }

    /// On a multi-threaded runtime, the worker's other tasks move to another thread while a
    /// long statement runs, so it does not hold up the requests queued behind it.
    async fn rows_scanning(&self, sql: Sql) -> Result<Vec<Row>, DbErr> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match &self.readers {
            Readers::Sqlite { reads, .. }
                if Handle::try_current()
                    .is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread) =>
            {
                tokio::task::block_in_place(|| reads.query(&sql))
            }
            _ => self.rows(sql).await,
        }
    }
}

/// Idle read connections to one SQLite file.
#[derive(Debug)]
pub(crate) struct SqliteReads {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    idle_max: usize,
    cache_kib: u32,
}

/// Readers opened up front, so that the first requests (and the first plugin calls, which run
/// under a deadline) do not pay for opening a connection and reading the schema.
const WARM: usize = 2;

impl SqliteReads {
    fn warm(&self, n: usize) {
        let opened: Vec<_> = (0..n)
            .filter_map(|_| {
                let conn = self.open().ok()?;
                conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| {
                    r.get::<_, i64>(0)
                })
                .ok()?;
                Some(conn)
            })
            .collect();
        if let Ok(mut idle) = self.idle.lock() {
            idle.extend(opened);
        }
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Writes through this connection are refused by SQLite itself.
        conn.execute_batch(&format!(
            "PRAGMA query_only = 1; PRAGMA cache_size = -{}; PRAGMA temp_store = memory;",
            self.cache_kib
        ))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn query(&self, sql: &Sql) -> Result<Vec<Row>, DbErr> {
        let conn = match self.idle.lock().map(|mut idle| idle.pop()) {
            Ok(Some(conn)) => conn,
            _ => self.open().map_err(db_err)?,
        };
        let out = run(&conn, sql.sql(), sql.values()).map_err(db_err);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.idle_max
        {
            idle.push(conn);
        }
        out
    }
}

/// Runs `f` in place; on a multi-threaded runtime, after handing this worker's other tasks to
/// another thread, so that a long statement does not hold up the requests queued behind it.
pub(super) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread) {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// Prepares (from the connection's cache) and binds a statement.
pub(super) fn prepare<'c>(
    conn: &'c rusqlite::Connection,
    text: &str,
    values: &[Value],
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(text)?;
    for (i, v) in values.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, to_cell(v)?)?;
    }
    Ok(stmt)
}

pub(super) fn run(
    conn: &rusqlite::Connection,
    text: &str,
    values: &[Value],
) -> rusqlite::Result<Vec<Row>> {
    let mut stmt = prepare(conn, text, values)?;
    let columns: Arc<[String]> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let n = columns.len();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(n);
        for i in 0..n {
            cells.push(owned(row.get_ref(i)?)?);
        }
        out.push(Row::Sqlite(SqliteRow {
            columns: columns.clone(),
            cells,
        }));
    }
    Ok(out)
}

fn owned(v: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<Cell> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Integer(i),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(t) => Cell::Text(
            std::str::from_utf8(t)
                .map_err(|e| rusqlite::Error::Utf8Error(0, e))?
                .to_owned(),
        ),
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
    })
}

fn to_cell(v: &Value) -> rusqlite::Result<Cell> {
    let unsupported =
        || rusqlite::Error::ToSqlConversionFailure(format!("unsupported parameter {v:?}").into());
    Ok(match v {
        Value::Bool(b) => b.map_or(Cell::Null, |b| Cell::Integer(b.into())),
        Value::TinyInt(i) => i.map_or(Cell::Null, |i| Cell::Integer(i.into())),
        Value::SmallInt(i) => i.map_or(Cell::Null, |i| Cell::Integer(i.into())),
        Value::Int(i) => i.map_or(Cell::Null, |i| Cell::Integer(i.into())),
        Value::BigInt(i) => i.map_or(Cell::Null, Cell::Integer),
        Value::TinyUnsigned(i) => i.map_or(Cell::Null, |i| Cell::Integer(i.into())),
        Value::SmallUnsigned(i) => i.map_or(Cell::Null, |i| Cell::Integer(i.into())),
        Value::Unsigned(i) => i.map_or(Cell::Null, |i| Cell::Integer(i.into())),
        Value::BigUnsigned(i) => match i {
            None => Cell::Null,
            Some(i) => Cell::Integer(i64::try_from(*i).map_err(|_| unsupported())?),
        },
        Value::Float(f) => f.map_or(Cell::Null, |f| Cell::Real(f.into())),
        Value::Double(f) => f.map_or(Cell::Null, Cell::Real),
        Value::String(s) => s.as_ref().map_or(Cell::Null, |s| Cell::Text(s.clone())),
        Value::Char(c) => c.map_or(Cell::Null, |c| Cell::Text(c.to_string())),
        Value::Bytes(b) => b.as_ref().map_or(Cell::Null, |b| Cell::Blob(b.clone())),
        _ => return Err(unsupported()),
    })
}

fn db_err(e: rusqlite::Error) -> DbErr {
    DbErr::Query(RuntimeErr::Internal(format!("sqlite read: {e}")))
}

/// One result row, from any path.
pub enum Row {
    Orm(QueryResult),
    Sqlite(SqliteRow),
    /// A row of a PostgreSQL read connection, decoded straight from the driver's row: the
    /// pool's wrapper formats each column name and copies each text on every access.
    Pg(PgRow),
}

pub struct SqliteRow {
    columns: Arc<[String]>,
    cells: Vec<Cell>,
}

impl Row {
    /// Where a column is: a statement's run of columns is then read by position from there,
    /// one lookup by name instead of one per column (a PostgreSQL row hashes the name each
    /// time; and a statement may lead with a column of its own, see `Sql::lead_column`).
    pub fn position(&self, col: &str) -> Result<usize, DbErr> {
        let found = match self {
            Row::Orm(row) => row.column_names().iter().position(|c| c == col),
            Row::Pg(row) => {
                use sqlx::Row as _;
                row.columns().iter().position(|c| {
                    use sqlx::Column as _;
                    c.name() == col
                })
            }
            Row::Sqlite(row) => row.columns.iter().position(|c| c == col),
        };
        found.ok_or_else(|| DbErr::Type(format!("no column {col}")))
    }

    /// A column by position.
    pub fn try_get_at<T: FromCell>(&self, i: usize) -> Result<T, DbErr> {
        self.cell_at(i, &i)
    }

    /// A text column by position, borrowed where the row holds it (see [`Self::text`]).
    pub fn text_at(&self, i: usize) -> Result<std::borrow::Cow<'_, str>, DbErr> {
        self.text_cell_at(i, &i)
    }

    /// A column by name (the first argument, a table prefix, is kept for the call shape of
    /// `QueryResult::try_get`).
    pub fn try_get<T: FromCell>(&self, pre: &str, col: &str) -> Result<T, DbErr> {
        match self {
            Row::Orm(row) => row.try_get(pre, col),
            _ => self.cell_at(self.position(col)?, &col),
        }
    }

    /// A text column, borrowed where the row already holds it: a document's JSON is decoded
    /// from the row rather than from a copy of it.
    pub fn text(&self, col: &str) -> Result<std::borrow::Cow<'_, str>, DbErr> {
        match self {
            Row::Orm(row) => row.try_get::<String>("", col).map(std::borrow::Cow::Owned),
            _ => self.text_cell_at(self.position(col)?, &col),
        }
    }

    /// Column `i` (`name` says which in errors).
    fn cell_at<T: FromCell>(&self, i: usize, name: &dyn std::fmt::Display) -> Result<T, DbErr> {
        match self {
            Row::Orm(row) => row.try_get_by_index(i),
            Row::Pg(row) => {
                use sqlx::Row as _;
                row.try_get(i)
                    .map_err(|e| DbErr::Type(format!("column {name}: {e}")))
            }
            Row::Sqlite(row) => {
                let cell = row
                    .cells
                    .get(i)
                    .ok_or_else(|| DbErr::Type(format!("no column {name}")))?;
                T::from_cell(cell)
                    .ok_or_else(|| DbErr::Type(format!("column {name}: unexpected {cell:?}")))
            }
        }
    }

    /// Text column `i`, borrowed where the row holds it.
    fn text_cell_at(
        &self,
        i: usize,
        name: &dyn std::fmt::Display,
    ) -> Result<std::borrow::Cow<'_, str>, DbErr> {
        match self {
            Row::Orm(row) => row
                .try_get_by_index::<String>(i)
                .map(std::borrow::Cow::Owned),
            Row::Pg(row) => {
                use sqlx::Row as _;
                row.try_get::<&str, _>(i)
                    .map(std::borrow::Cow::Borrowed)
                    .map_err(|e| DbErr::Type(format!("column {name}: {e}")))
            }
            Row::Sqlite(row) => match row.cells.get(i) {
                Some(Cell::Text(s)) => Ok(std::borrow::Cow::Borrowed(s)),
                cell => Err(DbErr::Type(format!("column {name}: unexpected {cell:?}"))),
            },
        }
    }
}

/// A Rust type a SQLite value converts to, beside its sea-orm and PostgreSQL conversions.
pub trait FromCell:
    TryGetable + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Sized
{
    fn from_cell(cell: &Cell) -> Option<Self>;
}

impl FromCell for String {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl FromCell for i64 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromCell for i32 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        i64::from_cell(cell).and_then(|i| i32::try_from(i).ok())
    }
}

impl FromCell for i16 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        i64::from_cell(cell).and_then(|i| i16::try_from(i).ok())
    }
}

impl FromCell for bool {
    fn from_cell(cell: &Cell) -> Option<Self> {
        i64::from_cell(cell).map(|i| i != 0)
    }
}

impl FromCell for f64 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Real(f) => Some(*f),
            Cell::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromCell for Vec<u8> {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Null => Some(None),
            _ => T::from_cell(cell).map(Some),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::Config;

    async fn file_db() -> (tempfile::TempDir, Config, Db) {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let db = super::super::db::connect(&config).await.expect("connect");
        db.execute_unprepared(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, i INTEGER, f REAL, b BLOB)",
        )
        .await
        .expect("create");
        (dir, config, db)
    }

    pub(in crate::store) fn select(backend: DbBackend, min: i64) -> Sql {
        let mut sql = Sql::new(backend);
        sql.push("SELECT id, s, i, f, b FROM t WHERE id >= ")
            .bind(min)
            .push(" ORDER BY id");
        sql
    }

    pub(in crate::store) type Decoded = (
        i64,
        Option<String>,
        Option<i64>,
        Option<f64>,
        Option<Vec<u8>>,
    );

    /// Row `n` of table `t`: Arabic text, large integers, fractions, bytes and NULLs.
    pub(in crate::store) fn insert(backend: DbBackend, n: i64) -> Sql {
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO t (id, s, i, f, b) VALUES (")
            .bind(n)
            .push(", ")
            .bind((n % 3 != 0).then(|| format!("مراكش-آسفي {n}")))
            .push(", ")
            .bind((n % 4 != 0).then_some(n * 1_000_000_007))
            .push(", ")
            .bind((n % 5 != 0).then_some(n as f64 / 3.0))
            .push(", ")
            .bind((n % 2 == 0).then(|| vec![0u8, 0xd8, n as u8]))
            .push(")");
        sql
    }

    pub(in crate::store) fn decode(rows: &[Row]) -> Vec<Decoded> {
        rows.iter()
            .map(|r| {
                (
                    r.try_get("", "id").expect("id"),
                    r.try_get("", "s").expect("s"),
                    r.try_get("", "i").expect("i"),
                    r.try_get("", "f").expect("f"),
                    r.try_get("", "b").expect("b"),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn readers_decode_as_the_pool_and_see_each_commit_at_once() {
        let (_dir, config, db) = file_db().await;
        let reads = Reads::for_config(&config, db.clone());
        assert!(
            matches!(reads.readers, Readers::Sqlite { .. }),
            "a SQLite file gets its own readers"
        );
        let backend = db.get_database_backend();
        for n in 1..=20_i64 {
            insert(backend, n).execute(&db).await.expect("insert");
            // Committed on the pool, visible to the next read on the calling thread.
            let seen = decode(&reads.rows(select(backend, n)).await.expect("read"));
            assert_eq!(seen.len(), 1, "row {n} seen right after its commit");
        }
        let by_pool = decode(&db.rows(select(backend, 1)).await.expect("pool"));
        let by_readers = decode(&reads.rows(select(backend, 1)).await.expect("readers"));
        assert_eq!(by_pool.len(), 20);
        assert_eq!(by_readers, by_pool);
        // A type the column does not hold is an error naming the column, not a panic.
        let rows = reads.rows(select(backend, 1)).await.expect("readers");
        let e = rows[0]
            .try_get::<i64>("", "s")
            .expect_err("text is not an integer");
        assert!(e.to_string().contains("column s"), "{e}");
    }

    #[tokio::test]
    async fn readers_cannot_write() {
        let (_dir, config, db) = file_db().await;
        let reads = Reads::for_config(&config, db.clone());
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("INSERT INTO t (id) VALUES (1) RETURNING id");
        assert!(reads.rows(sql).await.is_err(), "query_only refuses writes");
        let count = db
            .rows({
                let mut s = Sql::new(db.get_database_backend());
                s.push("SELECT COUNT(*) AS n FROM t");
                s
            })
            .await
            .expect("count");
        assert_eq!(count[0].try_get::<i64>("", "n").expect("n"), 0);
    }
}
