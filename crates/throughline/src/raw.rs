//! Owns hand-written SQL with bound parameters: [`rows`] (plain rows of values),
//! [`execute`] (a statement that writes, with its count of rows) and [`instances`] (rows
//! as model instances, behind [`Model::raw`]), on the pool or inside a
//! transaction, on every backend.
//!
//! Placeholders are the backend's own: `?` on SQLite and MySQL/MariaDB, `$1`, `$2`... on
//! PostgreSQL (Django writes `%s` everywhere; throughline does not rewrite the SQL, so a `?`
//! inside a string literal is never taken for a parameter). Values are bound, never spliced
//! into the text. Identifiers in the SQL are the caller's to quote.
//!
//! ```
//! use throughline::prelude::*;
//! use throughline::{Value, raw};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! let db = Database::connect("sqlite::memory:").await?;
//! raw::execute(&db, "CREATE TABLE city (name TEXT, people INTEGER)", vec![]).await?;
//! let inserted = raw::execute(
//!     &db,
//!     "INSERT INTO city VALUES (?, ?), (?, ?)", // SQLite's placeholders
//!     vec!["Oslo".into(), Value::I64(700_000), "Bergen".into(), Value::I64(290_000)],
//! )
//! .await?;
//! assert_eq!(inserted, 2);
//! let rows = raw::rows(&db, "SELECT name FROM city WHERE people > ?", vec![Value::I64(500_000)]).await?;
//! assert_eq!(rows, [[Value::from("Oslo")]]);
//! # Ok(()) }
//! ```

use crate::Model;
use throughline_core::{Result, Value};
use throughline_db::{Access, Decode, Executor, op};
use throughline_query::Statement;

/// The rows of a query that reads, each as its columns' values (as the driver decodes
/// them: integers as `I64`, text as `String`...). On the pool it may run on a read-only
/// connection (SQLite's readers): a statement that writes goes through [`execute`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// use throughline::{Database, Value};
/// let db = Database::connect("sqlite::memory:").await?;
/// let rows = throughline::raw::rows(&db, "SELECT ? + 1, 'two'", vec![Value::I64(1)]).await?;
/// assert_eq!(rows, vec![vec![Value::I64(2), Value::from("two")]]);
/// # Ok(()) }
/// ```
pub async fn rows(
    exec: &impl Executor,
    sql: impl Into<String>,
    params: Vec<Value>,
) -> Result<Vec<Vec<Value>>> {
    let stmt = Statement::new(sql.into(), params);
    exec.run(
        Access::Read,
        op(move |conn| {
            Box::pin(async move {
                let mut out = Vec::new();
                conn.query(&stmt, &mut |row| {
                    out.push(
                        (0..row.len())
                            .map(|i| <Value as Decode>::decode(row, i))
                            .collect::<Result<Vec<_>>>()?,
                    );
                    Ok(())
                })
                .await?;
                Ok(out)
            })
        }),
    )
    .await
}

/// Runs a statement that writes (`INSERT`, `UPDATE`, `DELETE`, DDL) and returns the number
/// of rows it changed; inside a transaction, it is part of it (except DDL on MySQL and
/// MariaDB, which commits the transaction there: run it outside one).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// use throughline::{Database, Value};
/// let db = Database::connect("sqlite::memory:").await?;
/// throughline::raw::execute(&db, "CREATE TABLE t (x integer)", vec![]).await?;
/// let n = throughline::raw::execute(&db, "INSERT INTO t VALUES (?), (?)", vec![1i64.into(), 2i64.into()]).await?;
/// assert_eq!(n, 2);
/// # Ok(()) }
/// ```
pub async fn execute(
    exec: &impl Executor,
    sql: impl Into<String>,
    params: Vec<Value>,
) -> Result<u64> {
    let stmt = Statement::new(sql.into(), params);
    exec.run(
        Access::WriteOne,
        op(move |conn| Box::pin(async move { conn.execute(&stmt).await })),
    )
    .await
}

/// Instances of `M` from a query that reads: its result columns are matched to `M`'s
/// fields *by column name*, so their order does not matter and extra columns are ignored;
/// a field without a column is an [`Error::InvalidQuery`](throughline_core::Error) naming
/// it. The query runs as written (not wrapped), so its `ORDER BY` holds. See
/// [`Model::raw`].
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String, age: i32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # for (name, age) in [("alice", 20), ("bob", 31), ("carol", 25)] {
/// #     Student { id: None, name: name.into(), age }.create(&db).await?;
/// # }
/// // Students: alice (20), bob (31), carol (25).
/// let students: Vec<Student> = throughline::raw::instances(
///     &db,
///     "SELECT age, name, id FROM student WHERE age > ? ORDER BY age",
///     vec![21_i32.into()],
/// )
/// .await?;
/// let names: Vec<&str> = students.iter().map(|s| s.name.as_str()).collect();
/// assert_eq!(names, ["carol", "bob"]);
/// # Ok(()) }
/// ```
pub async fn instances<M: Model>(
    exec: &impl Executor,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<M>> {
    let stmt = Statement::new(sql.to_owned(), params);
    exec.run(
        Access::Read,
        op(move |conn| {
            Box::pin(async move {
                let mut out = Vec::new();
                let mut columns: Option<Vec<usize>> = None;
                conn.query(&stmt, &mut |row| {
                    if columns.is_none() {
                        columns = Some(column_positions::<M>(&row.column_names())?);
                    }
                    let positions = columns.as_deref().unwrap_or_default();
                    out.push(M::from_row_mapped(row, positions)?);
                    Ok(())
                })
                .await?;
                Ok(out)
            })
        }),
    )
    .await
}

/// For each field of `M`, the position of the column named as its column in `names`.
fn column_positions<M: Model>(names: &[String]) -> Result<Vec<usize>> {
    M::meta()
        .fields
        .iter()
        .map(|field| {
            names
                .iter()
                .position(|name| *name == field.column)
                .ok_or_else(|| {
                    throughline_core::Error::invalid_query(
                        M::MODEL_NAME,
                        format!(
                            "the query has no column `{}` for the field {}.{} (columns: {})",
                            field.column,
                            M::MODEL_NAME,
                            field.name,
                            names.join(", ")
                        ),
                    )
                })
        })
        .collect()
}
