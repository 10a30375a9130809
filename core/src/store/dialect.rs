//! SQL that differs between SQLite and PostgreSQL, one function per operation.

use sea_orm::DbBackend;

/// `FOR UPDATE` row lock on PostgreSQL; SQLite's write transaction already holds the database lock.
pub fn for_update(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " FOR UPDATE",
        _ => "",
    }
}

/// Takes the platform-wide write lock until the transaction ends, for the few checks that span
/// tenants (a domain belongs to one tenant only). SQLite's write transaction already holds the
/// database lock; PostgreSQL takes a transaction-scoped advisory lock.
pub async fn lock_platform(conn: &impl sea_orm::ConnectionTrait) -> Result<(), sea_orm::DbErr> {
    if conn.get_database_backend() == DbBackend::Postgres {
        // An arbitrary constant of Zellige's own: "zlg" in ASCII.
        conn.execute_unprepared("SELECT pg_advisory_xact_lock(7957607)")
            .await?;
    }
    Ok(())
}

/// Case-insensitive substring test on an index value (`LIKE` folds ASCII case on SQLite;
/// PostgreSQL needs `ILIKE`). The pattern's wildcards are escaped by the caller.
pub fn contains_op(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " ILIKE ",
        _ => " LIKE ",
    }
}

/// The query-plan prefix.
pub fn explain(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "EXPLAIN ",
        _ => "EXPLAIN QUERY PLAN ",
    }
}
