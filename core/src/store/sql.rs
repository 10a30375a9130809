//! A small SQL text builder with bound parameters: it renders `?` for SQLite and `$n` for
//! PostgreSQL, so repository code writes one query for both and never formats a value into SQL.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

pub(crate) struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::with_capacity(256),
            values: Vec::new(),
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Appends SQL text (never user data).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.values.len().to_string());
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends `(?, ?, …)` bound to `values`.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.text.push('(');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self.text.push(')');
        self
    }

    #[cfg(test)]
    pub fn param_count(&self) -> usize {
        self.values.len()
    }

    pub fn sql(&self) -> &str {
        &self.text
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }

    pub async fn execute(self, conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
        Ok(conn.execute_raw(self.build()).await?.rows_affected())
    }

    pub async fn fetch_all(self, conn: &impl ConnectionTrait) -> Result<Vec<QueryResult>, DbErr> {
        conn.query_all_raw(self.build()).await
    }

    pub async fn fetch_one(
        self,
        conn: &impl ConnectionTrait,
    ) -> Result<Option<QueryResult>, DbErr> {
        conn.query_one_raw(self.build()).await
    }
}

/// Most parameters one statement may carry (SQLite allows 32766, PostgreSQL 65535).
const MAX_PARAMS: usize = 30_000;

/// Inserts many rows with multi-row `INSERT` statements, chunked under the parameter limit.
pub(crate) async fn insert_rows(
    conn: &impl ConnectionTrait,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<(), DbErr> {
    let per_stmt = (MAX_PARAMS / columns.len()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = Sql::new(conn.get_database_backend());
        sql.push("INSERT INTO ")
            .push(table)
            .push(" (")
            .push(&columns.join(", "))
            .push(") VALUES ");
        for (i, row) in rows.by_ref().take(per_stmt).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_list(row);
        }
        sql.execute(conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let mut pg = Sql::new(DbBackend::Postgres);
        pg.push("SELECT 1 WHERE a = ")
            .bind(1i64)
            .push(" AND b IN ")
            .bind_list(["x", "y"]);
        assert_eq!(pg.sql(), "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        let mut lite = Sql::new(DbBackend::Sqlite);
        lite.push("SELECT 1 WHERE a = ")
            .bind(1i64)
            .push(" AND b IN ")
            .bind_list(["x", "y"]);
        assert_eq!(lite.sql(), "SELECT 1 WHERE a = ? AND b IN (?, ?)");
        assert_eq!(lite.param_count(), 3);
    }
}
