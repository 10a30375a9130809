//! A small SQL text builder with bound parameters: it renders `?` for SQLite and `$n` for
//! PostgreSQL, so repository code writes one query for both and never formats a value into SQL.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

use super::reads::Exec;

pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
    shape_plan: bool,
    carrier: bool,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::with_capacity(256),
            values: Vec::new(),
            shape_plan: false,
            carrier: false,
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

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Marks a statement whose best plan follows from its text alone, whatever its values (one
    /// index range read in order, say): PostgreSQL may then plan it once and reuse that plan
    /// instead of planning it again for every execution (`store::pg_reads`).
    pub fn plan_by_shape(&mut self) -> &mut Self {
        self.shape_plan = true;
        self
    }

    pub fn is_planned_by_shape(&self) -> bool {
        self.shape_plan
    }

    /// Marks a plain `SELECT` of content (an entry, a page) that may carry a request's credential
    /// check as one more column (`store::reads::CredentialCheck`): what it returns is read by
    /// column name, so a column more changes nothing.
    pub fn may_carry_check(&mut self) -> &mut Self {
        self.carrier = true;
        self
    }

    pub fn may_carry(&self) -> bool {
        self.carrier
    }

    /// Adds `expr AS alias` as the first column of a statement marked with
    /// [`Self::may_carry_check`], `value` bound where `expr` says `{}`. PostgreSQL only: its
    /// placeholders are numbered, so a value bound last may be used first. `false` (and nothing
    /// changed) otherwise.
    pub fn lead_column(&mut self, expr: &str, value: impl Into<Value>, alias: &str) -> bool {
        const SELECT: &str = "SELECT ";
        if !self.carrier
            || self.backend != DbBackend::Postgres
            || !self.text.starts_with(SELECT)
            || self.text[SELECT.len()..].starts_with("DISTINCT")
        {
            return false;
        }
        self.values.push(value.into());
        let column = expr.replace("{}", &format!("${}", self.values.len()));
        self.text
            .insert_str(SELECT.len(), &format!("{column} AS {alias}, "));
        true
    }

    /// The text and the values, for a driver of its own (`store::pg_reads`).
    pub fn into_parts(self) -> (String, Vec<Value>) {
        (self.text, self.values)
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
    conn: &impl Exec,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<(), DbErr> {
    if conn.backend() == DbBackend::Postgres
        && rows.len() > 1
        && let Some(groups) = by_nulls(columns.len(), rows.iter())
    {
        for (nulls, group) in groups {
            insert_unnest(conn, table, columns, &nulls, &group).await?;
        }
        return Ok(());
    }
    let per_stmt = (MAX_PARAMS / columns.len()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = Sql::new(conn.backend());
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
        conn.exec(sql).await?;
    }
    Ok(())
}

/// The rows one table receives, for [`insert_all`].
pub(crate) struct Rows {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Value>>,
}

/// Inserts rows into several tables. On PostgreSQL in one statement, each table's rows in a
/// data-modifying `WITH` of their own (`UNNEST`, as below; such a `WITH` runs exactly once
/// whether or not the main query reads it): the documents, index rows, versions and audit rows
/// of a group's creates cost one round trip under the tenant's lock instead of four. SQLite
/// runs in process, so there it is [`insert_rows`] per table.
pub(crate) async fn insert_all(conn: &impl Exec, parts: Vec<Rows>) -> Result<(), DbErr> {
    let parts = parts.into_iter().filter(|p| !p.rows.is_empty());
    if conn.backend() != DbBackend::Postgres {
        for p in parts {
            insert_rows(conn, p.table, p.columns, p.rows).await?;
        }
        return Ok(());
    }
    let mut sql = Sql::new(DbBackend::Postgres);
    let (ctes, apart) = push_insert_ctes(&mut sql, parts.collect());
    if ctes > 0 {
        sql.push(" SELECT 1");
        conn.exec(sql).await?;
    }
    insert_apart(conn, apart).await
}

/// PostgreSQL: appends `WITH i0 AS (INSERT …), i1 AS (…)` for the parts [`insert_unnest`] can
/// write; returns how many were appended and the parts left for [`insert_apart`].
pub(crate) fn push_insert_ctes(sql: &mut Sql, parts: Vec<Rows>) -> (usize, Vec<Rows>) {
    push_insert_ctes_after(sql, parts, None)
}

/// [`push_insert_ctes`] after a `WITH gate AS (…)` the caller has appended: each insert reads
/// its rows joined with `gate`'s, so it writes nothing when `gate` returns no row, and only
/// after `gate` has run (see `outbox::insert_gated`).
pub(crate) fn push_insert_ctes_after(
    sql: &mut Sql,
    parts: Vec<Rows>,
    gate: Option<&str>,
) -> (usize, Vec<Rows>) {
    let mut ctes = 0;
    let mut apart = Vec::new();
    for p in parts.into_iter().filter(|p| !p.rows.is_empty()) {
        let Some(groups) = by_nulls(p.columns.len(), p.rows.iter()) else {
            apart.push(p);
            continue;
        };
        for (nulls, group) in groups {
            sql.push(if ctes == 0 && gate.is_none() {
                "WITH "
            } else {
                ", "
            })
            .push(&format!("i{ctes} AS ("));
            push_insert_unnest(sql, p.table, p.columns, &nulls, &group, gate);
            sql.push(")");
            ctes += 1;
        }
    }
    (ctes, apart)
}

/// The parts [`push_insert_ctes`] left, a statement per table.
pub(crate) async fn insert_apart(conn: &impl Exec, apart: Vec<Rows>) -> Result<(), DbErr> {
    for p in apart {
        insert_rows(conn, p.table, p.columns, p.rows).await?;
    }
    Ok(())
}

/// PostgreSQL: inserts rows as one typed array per column (`UNNEST`), so the statement stays
/// short and is parsed and planned once whatever the number of rows (several times faster than
/// multi-row `VALUES` for an import's index rows and versions). The driver binds arrays without
/// NULL elements only, so the columns that are NULL in every row of the group (`nulls`) are
/// written as NULL literals instead.
async fn insert_unnest(
    conn: &impl Exec,
    table: &str,
    columns: &[&str],
    nulls: &[bool],
    rows: &[&Vec<Value>],
) -> Result<(), DbErr> {
    let mut sql = Sql::new(DbBackend::Postgres);
    push_insert_unnest(&mut sql, table, columns, nulls, rows, None);
    conn.exec(sql).await?;
    Ok(())
}

/// The `INSERT … SELECT … FROM UNNEST(…)` of [`insert_unnest`], appended to `sql`.
fn push_insert_unnest(
    sql: &mut Sql,
    table: &str,
    columns: &[&str],
    nulls: &[bool],
    rows: &[&Vec<Value>],
    gate: Option<&str>,
) {
    use sea_orm::sea_query::ArrayType;
    sql.push("INSERT INTO ")
        .push(table)
        .push(" (")
        .push(&columns.join(", "))
        .push(") SELECT ");
    let mut arrays = Vec::new();
    for (col, name) in columns.iter().enumerate() {
        if col > 0 {
            sql.push(", ");
        }
        if nulls[col] {
            sql.push("NULL");
        } else {
            sql.push("u.").push(name);
            arrays.push(col);
        }
    }
    sql.push(" FROM ");
    if let Some(gate) = gate {
        sql.push(gate).push(", ");
    }
    sql.push("UNNEST(");
    for (i, &col) in arrays.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        let (ty, cast) = match rows.first().and_then(|r| r.get(col)) {
            Some(Value::BigInt(_)) => (ArrayType::BigInt, "bigint[]"),
            Some(Value::Int(_)) => (ArrayType::Int, "int[]"),
            Some(Value::SmallInt(_)) => (ArrayType::SmallInt, "smallint[]"),
            Some(Value::Bool(_)) => (ArrayType::Bool, "boolean[]"),
            _ => (ArrayType::String, "text[]"),
        };
        let items: Vec<Value> = rows.iter().filter_map(|r| r.get(col).cloned()).collect();
        sql.bind(Value::Array(ty, Some(Box::new(items))))
            .push("::")
            .push(cast);
    }
    sql.push(") AS u(");
    sql.push(
        &arrays
            .iter()
            .map(|&c| columns[c])
            .collect::<Vec<_>>()
            .join(", "),
    );
    sql.push(")");
}

/// The rows grouped by which columns are NULL, when every column holds values of one
/// array-capable type; `None` otherwise (then the rows go as `VALUES`).
#[allow(clippy::type_complexity)]
fn by_nulls<'a>(
    width: usize,
    rows: impl Iterator<Item = &'a Vec<Value>>,
) -> Option<Vec<(Vec<bool>, Vec<&'a Vec<Value>>)>> {
    let mut groups: Vec<(Vec<bool>, Vec<&'a Vec<Value>>)> = Vec::new();
    let mut kinds: Vec<Option<std::mem::Discriminant<Value>>> = vec![None; width];
    for row in rows {
        if row.len() != width {
            return None;
        }
        let mut nulls = Vec::with_capacity(width);
        for (col, v) in row.iter().enumerate() {
            if !matches!(
                v,
                Value::String(_)
                    | Value::BigInt(_)
                    | Value::Int(_)
                    | Value::SmallInt(_)
                    | Value::Bool(_)
            ) {
                return None;
            }
            let kind = std::mem::discriminant(v);
            if *kinds[col].get_or_insert(kind) != kind {
                return None;
            }
            nulls.push(!v.is_some());
        }
        match groups.iter_mut().find(|(n, _)| *n == nulls) {
            Some((_, group)) => group.push(row),
            None => groups.push((nulls, vec![row])),
        }
    }
    Some(groups)
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

    #[test]
    fn a_lead_column_binds_after_the_rest_and_only_where_marked() {
        let page = |backend| {
            let mut sql = Sql::new(backend);
            sql.push("SELECT d.a FROM t d WHERE d.b = ")
                .bind("x")
                .push(" LIMIT ")
                .bind(20i64);
            sql
        };
        let mut unmarked = page(DbBackend::Postgres);
        assert!(!unmarked.lead_column("f({})", "h", "c"));
        assert_eq!(unmarked.param_count(), 2);
        let mut pg = page(DbBackend::Postgres);
        pg.may_carry_check();
        assert!(pg.lead_column("f({})", "h", "c"));
        assert_eq!(
            pg.sql(),
            "SELECT f($3) AS c, d.a FROM t d WHERE d.b = $1 LIMIT $2"
        );
        assert_eq!(pg.values()[2], Value::from("h"));
        // `?` placeholders are positional: nothing may go before the others.
        let mut lite = page(DbBackend::Sqlite);
        lite.may_carry_check();
        assert!(!lite.lead_column("f({})", "h", "c"));
        let mut distinct = Sql::new(DbBackend::Postgres);
        distinct.push("SELECT DISTINCT a FROM t").may_carry_check();
        assert!(!distinct.lead_column("f({})", "h", "c"));
        assert_eq!(distinct.sql(), "SELECT DISTINCT a FROM t");
    }

    #[test]
    fn rows_group_by_their_null_columns() {
        let row = |a: Option<&str>, n: i64| vec![Value::from(a.map(str::to_owned)), Value::from(n)];
        let rows = [row(Some("x"), 1), row(None, 2), row(Some("y"), 3)];
        let groups = by_nulls(2, rows.iter()).expect("groups");
        let shape: Vec<(Vec<bool>, usize)> =
            groups.iter().map(|(n, g)| (n.clone(), g.len())).collect();
        assert_eq!(shape, [(vec![false, false], 2), (vec![true, false], 1)]);
        // A column of mixed kinds, or one arrays cannot carry, goes as VALUES.
        let mixed = [
            row(Some("x"), 1),
            vec![Value::from(1i64), Value::from(2i64)],
        ];
        assert!(by_nulls(2, mixed.iter()).is_none());
        let json = [vec![Value::from(serde_json::json!({})), Value::from(1i64)]];
        assert!(by_nulls(2, json.iter()).is_none());
    }
}
