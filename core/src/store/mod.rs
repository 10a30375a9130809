//! The store: every SQL statement Zellige runs, on SQLite and PostgreSQL.
//!
//! Tenant content is data, not tables: entries are JSON documents in `entry_docs` (one row per
//! stage: draft and published), and the values of filterable, sortable, unique and reference
//! fields are copied into `entry_fields`, one row per value with an order-preserving text
//! encoding, under a single composite index `(tenant_id, type, stage, field, locale, v,
//! entry_id)`. A filter is an `entry_id IN (index range)` and a sort is an ordered scan of that
//! same index, so both use an index on both databases without per-type DDL; adding or changing a
//! content type never runs `ALTER TABLE`. Expression indexes on a JSON column were the
//! alternative: they need DDL per field and tenant and differ between the two databases.
//!
//! Repositories are plain functions over `&impl ConnectionTrait` (a pool or a transaction).
//! Every tenant-scoped function takes a [`TenantCtx`](crate::tenancy::TenantCtx) and narrows its
//! query by it; the SQL is written with [`sql::Sql`], which binds every value. Queries are
//! written as SQL rather than through sea-orm entities because they are built from tenant data
//! (dynamic filters, sorts and index rows); sea-orm provides the pools, transactions, value
//! binding and migrations.

pub mod audit;
pub mod content_types;
pub mod db;
pub mod dialect;
pub mod entries;
pub mod media;
pub mod outbox;
mod pg_reads;
pub mod plugins;
pub mod reads;
pub mod schedules;
pub mod sessions;
pub mod sql;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement, TransactionTrait,
};
use tokio::sync::OwnedMutexGuard;

pub use reads::Reads;
pub use sea_orm::DatabaseConnection as Db;

/// A write transaction. On SQLite it also holds this process's writer gate for the database
/// file: writers queue on an async mutex in arrival order and start the moment the previous one
/// ends, instead of retrying `BEGIN IMMEDIATE` in SQLite's busy handler, which sleeps up to
/// 100 ms between tries (the p99 of 8 concurrent creates was a second). Other processes (a CLI
/// import) still meet the busy timeout.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }
    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }
    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }
    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }
    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
}

/// The writer gate of a SQLite database file, shared by every pool of this process on it.
fn writer_gate(db: &DatabaseConnection) -> Arc<tokio::sync::Mutex<()>> {
    static GATES: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Mutex::default);
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut gates = GATES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    gates.entry(file).or_default().clone()
}

/// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`)
/// after this process's earlier writers (see [`WriteTxn`]), so concurrent writers queue instead
/// of failing on a stale snapshot.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions};

    if db.get_database_backend() == DbBackend::Sqlite {
        let gate = writer_gate(db).lock_owned().await;
        let txn = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        Ok(WriteTxn {
            txn,
            _gate: Some(gate),
        })
    } else {
        Ok(WriteTxn {
            txn: db.begin().await?,
            _gate: None,
        })
    }
}

/// Starts a write transaction that holds the tenant's write lock; returns it with the schema
/// version current under the lock (see [`tenants::lock_for_write`]).
pub async fn begin_tenant_write(
    db: &DatabaseConnection,
    tenant_id: &str,
) -> Result<(WriteTxn, i64), DbErr> {
    let txn = begin_write(db).await?;
    let version = tenants::lock_for_write(&txn, tenant_id).await?;
    Ok((txn, version))
}

/// Starts a write transaction holding the platform-wide lock (see [`dialect::lock_platform`]).
pub async fn begin_platform_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    let txn = begin_write(db).await?;
    dialect::lock_platform(&txn).await?;
    Ok(txn)
}

/// Whether a database error is a unique-constraint violation (mapped to `CONFLICT`), told by its
/// code rather than its message, which a server may print in any language: SQLSTATE `23505` on
/// PostgreSQL; `SQLITE_CONSTRAINT_UNIQUE` (2067) or `SQLITE_CONSTRAINT_PRIMARYKEY` (1555) on SQLite.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    ) || matches!(writer::sqlite_code(err), Some(2067 | 1555))
}
