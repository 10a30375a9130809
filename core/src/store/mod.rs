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
pub mod plugins;
pub mod schedules;
pub mod sessions;
pub(crate) mod sql;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod webhooks;

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, TransactionTrait};

pub use sea_orm::DatabaseConnection as Db;

/// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
/// concurrent writers queue on the busy timeout instead of failing on a stale snapshot.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions};

    if db.get_database_backend() == DbBackend::Sqlite {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
    } else {
        db.begin().await
    }
}

/// Starts a write transaction that holds the tenant's write lock; returns it with the schema
/// version current under the lock (see [`tenants::lock_for_write`]).
pub async fn begin_tenant_write(
    db: &DatabaseConnection,
    tenant_id: &str,
) -> Result<(DatabaseTransaction, i64), DbErr> {
    let txn = begin_write(db).await?;
    let version = tenants::lock_for_write(&txn, tenant_id).await?;
    Ok((txn, version))
}

/// Starts a write transaction holding the platform-wide lock (see [`dialect::lock_platform`]).
pub async fn begin_platform_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
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
    )
}
