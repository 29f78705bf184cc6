//! Owns *how* each backend carries out a schema change: the [`SchemaEditor`] trait, one
//! implementation per backend ([`sqlite::SqliteEditor`], [`postgres::PostgresEditor`]),
//! and [`editor`], the one place in the crate that picks an implementation from a
//! [`Backend`].
//!
//! (and [`mysql::MysqlEditor`], for MySQL and MariaDB, whose DDL is not transactional).
//!
//! An [`Operation`](crate::Operation) says *what* changes (Django's migration operations);
//! the editor says how its backend spells it and which strategy it takes (Django's schema
//! editor): literals and placeholders, column types, whether a column is altered in place
//! or by rebuilding the table, the statements around a rebuild, what each kind of change
//! costs, the catalogue queries behind introspection. Nothing outside this module matches
//! on [`Backend`]: a new backend is a new file implementing [`SchemaEditor`] and one more
//! arm in [`editor`].
//!
//! Statements that are the same SQL everywhere the query crate's DDL renders them
//! (`CREATE TABLE`, `ADD COLUMN`, `CREATE INDEX`...) are provided methods delegating to
//! [`throughline_query::ddl`] for [`SchemaEditor::backend`]; a backend whose spelling
//! differs overrides them (MariaDB's `DROP INDEX name ON table`, for one).
//!
//! ```
//! use throughline_core::{Backend, Value};
//! let editor = throughline_migrate::editor::editor(Backend::Postgres)?;
//! assert_eq!(editor.literal(&Value::Bool(true)), "TRUE");
//! assert_eq!(editor.delete_table_sql("tag")?, r#"DROP TABLE "tag" CASCADE"#);
//! # Ok::<(), throughline_core::Error>(())
//! ```

pub mod mysql;
pub mod postgres;
pub mod sqlite;

use crate::introspect::TableInfo;
use crate::operations::Cost;
use crate::state::{FieldState, ModelState};
use throughline_core::{Backend, Error, FieldMeta, ModelMeta, Result, Value};
use throughline_db::{BoxFuture, Conn};
use throughline_query::ddl::{self, TargetOf};

/// The schema editor of `backend`: how migrations spell and carry out schema changes
/// there. A backend without one (a `Backend` variant added later) is
/// [`Error::NotSupported`].
///
/// ```
/// use throughline_core::Backend;
/// use throughline_migrate::editor::editor;
/// assert_eq!(editor(Backend::Sqlite)?.backend(), Backend::Sqlite);
/// assert!(editor(Backend::Sqlite)?.alters_column_by_rebuild());
/// assert!(!editor(Backend::Postgres)?.alters_column_by_rebuild());
/// # Ok::<(), throughline_core::Error>(())
/// ```
pub fn editor(backend: Backend) -> Result<&'static dyn SchemaEditor> {
    static SQLITE: sqlite::SqliteEditor = sqlite::SqliteEditor;
    static POSTGRES: postgres::PostgresEditor = postgres::PostgresEditor;
    static MYSQL: mysql::MysqlEditor = mysql::MysqlEditor;
    // The wildcard arm is unreachable while `Backend` has only these variants; it keeps
    // this match compiling once `Backend` is `#[non_exhaustive]` or gains one.
    #[allow(unreachable_patterns)]
    match backend {
        Backend::Sqlite => Ok(&SQLITE),
        Backend::Postgres => Ok(&POSTGRES),
        Backend::Mysql => Ok(&MYSQL),
        _ => Err(Error::NotSupported {
            backend: backend.name().into(),
            feature: "migrations (throughline has no schema editor for this backend)".into(),
        }),
    }
}

/// A connection setting that migrations change and the executor restores as it found it
/// afterwards, whether the migration succeeded or not (the setting belongs to the
/// connection, not to the transaction). See [`SchemaEditor::restored_setting`].
///
/// ```
/// use throughline_core::Backend;
/// let setting = throughline_migrate::editor::editor(Backend::Sqlite)?.restored_setting();
/// assert_eq!(setting.map(|s| s.read), Some("PRAGMA legacy_alter_table"));
/// # Ok::<(), throughline_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoredSetting {
    /// A query returning one row with one integer: non-zero when the setting is on.
    pub read: &'static str,
    /// The statement that turns it on.
    pub turn_on: &'static str,
    /// The statement that turns it off.
    pub turn_off: &'static str,
}

/// How one backend carries out the schema changes of migrations: its literals, types and
/// statements, and the decisions that differ between backends (rebuild a table or alter
/// it in place, what a change costs). Object safe: [`editor`] hands out
/// `&'static dyn SchemaEditor`.
///
/// Methods named `..._sql` return statements (or a query) and never touch a database;
/// every identifier in them is quoted with [`ddl::quote`]. The provided methods render
/// through [`throughline_query::ddl`] for [`SchemaEditor::backend`].
///
/// ```
/// use throughline_core::{Backend, Value};
/// use throughline_migrate::editor::{SchemaEditor, editor};
/// fn backfill(editor: &dyn SchemaEditor, value: &Value) -> String {
///     format!("UPDATE \"tag\" SET \"name\" = {}", editor.literal(value))
/// }
/// let sqlite = editor(Backend::Sqlite)?;
/// assert_eq!(backfill(sqlite, &Value::from("it's")), r#"UPDATE "tag" SET "name" = 'it''s'"#);
/// # Ok::<(), throughline_core::Error>(())
/// ```
pub trait SchemaEditor: Send + Sync {
    /// The backend this editor writes for (and renders the query crate's DDL for).
    fn backend(&self) -> Backend;

    // ----- Values ------------------------------------------------------------------------

    /// `value` as an SQL literal (migrations run as plain SQL so that `sqlmigrate` prints
    /// exactly what runs), read back exactly whatever the session's settings.
    fn literal(&self, value: &Value) -> String;

    /// `text` as a string literal, read back exactly whatever the session's settings.
    fn text_literal(&self, text: &str) -> String;

    /// `value` in the form the backend stores it, for literals in DDL (a temporary
    /// default, a backfill): SQLite stores datetimes, dates and UUIDs as text.
    fn storage_form(&self, value: Value) -> Value;

    /// The placeholder of the `n`-th (from 1) bound parameter of a statement.
    fn placeholder(&self, n: usize) -> String;

    // ----- Types -------------------------------------------------------------------------

    /// The SQL type of `field`'s column as the backend's catalogue reports it once created
    /// (what [`crate::shape`] compares with [`TableInfo`]'s `sql_type`).
    fn catalogue_type(&self, field: &FieldMeta) -> Result<String>;

    /// The definition (after the column name) of an auto-incrementing primary key, as the
    /// migration record's `id` column has it.
    fn auto_key_definition(&self) -> &'static str;

    /// The type of a timestamp column, as the migration record's `applied_at` has it.
    fn timestamp_type(&self) -> &'static str;

    /// What follows the column list of the `CREATE TABLE` of throughline's own tables (the
    /// migration record): the storage engine and character set where the backend has them
    /// (empty by default).
    fn table_options_sql(&self) -> &'static str {
        ""
    }

    /// Whether schema changes run inside a transaction that a failure rolls back (true by
    /// default). Where they do not (MySQL and MariaDB commit each DDL statement), the
    /// executor records every statement it completes, so that a migration stopped
    /// half-way is reported exactly and resumed or reversed from there.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// The number of characters of `expression`'s text form (an SQL expression), for the
    /// row checks of a change to a shorter string ([`crate::narrowing`]).
    fn char_length_sql(&self, expression: &str) -> String;

    // ----- Tables ------------------------------------------------------------------------

    /// The statements that create `model`'s table and its indexes as migrations do: plain
    /// `CREATE`, so an existing table or index is an error. Foreign keys refer to the
    /// tables `target_of` gives.
    fn create_table_sql(&self, model: &ModelMeta, target_of: TargetOf<'_>) -> Result<Vec<String>> {
        ddl::create_table_with(model, target_of, self.backend())
    }

    /// The statement that drops table `table` for `delete_model`: a table the migration
    /// expects and does not find is an error, never a silent success (no `IF EXISTS`);
    /// cascading where the backend's dialect drops dependent objects with the table.
    fn delete_table_sql(&self, table: &str) -> Result<String> {
        let cascade = throughline_query::dialect::of(self.backend())?.drop_table_cascades();
        Ok(format!(
            "DROP TABLE {}{}",
            ddl::quote(table),
            if cascade { " CASCADE" } else { "" }
        ))
    }

    /// The statement that renames table `from` to `to`.
    fn rename_table_sql(&self, from: &str, to: &str) -> Result<String> {
        ddl::rename_table(from, to, self.backend())
    }

    /// The statements that add `field` to `model`'s table (and its own index), filling
    /// the existing rows with `fill` through a temporary default when given (see
    /// [`SchemaEditor::drop_fill_default_sql`]).
    fn add_column_sql(
        &self,
        model: &ModelMeta,
        field: &FieldMeta,
        target_of: TargetOf<'_>,
        fill: Option<&Value>,
    ) -> Result<Vec<String>> {
        ddl::add_column(model, field, target_of, fill, self.backend())
    }

    /// The statement that drops the temporary default [`SchemaEditor::add_column_sql`]
    /// filled the existing rows with (throughline keeps defaults in the application, not
    /// the database), or `None` when the backend cannot drop a default in place and keeps
    /// it.
    fn drop_fill_default_sql(&self, table: &str, column: &str) -> Option<String>;

    /// The statement that drops column `column` of `table` in place (when
    /// [`SchemaEditor::drops_column_by_rebuild`] says the backend can).
    fn drop_column_sql(&self, table: &str, column: &str) -> Result<String> {
        ddl::drop_column(table, column, self.backend())
    }

    /// The statement that renames column `from` of `table` to `to`, with its data.
    fn rename_column_sql(&self, table: &str, from: &str, to: &str) -> String {
        format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            ddl::quote(table),
            ddl::quote(from),
            ddl::quote(to)
        )
    }

    /// The statement that drops the foreign-key constraint of column `field` of `table`
    /// before the column is dropped in place, where the backend refuses to drop a column a
    /// constraint uses (MySQL); `None` by default (the column's constraints go with it).
    fn drop_foreign_key_sql(&self, table: &str, field: &FieldState) -> Option<String> {
        let _ = (table, field);
        None
    }

    /// The statements that keep the name of a unique column's single-column unique
    /// constraint derived from the column when column `from` of `table` becomes `to`
    /// (later operations find it by that name); empty when the backend's constraint has no
    /// name of its own (SQLite's inline `UNIQUE`).
    fn rename_column_unique_sql(&self, table: &str, from: &str, to: &str) -> Vec<String>;

    /// Whether dropping `field`'s column takes a rebuild of the table (create the new one,
    /// copy the rows, drop the old one, rename) rather than an in-place `DROP COLUMN`.
    fn drops_column_by_rebuild(&self, field: &FieldState) -> bool;

    /// Whether any change to a column (`alter_field`) takes a rebuild of the table rather
    /// than [`SchemaEditor::alter_column_sql`].
    fn alters_column_by_rebuild(&self) -> bool;

    /// The statements that change column `previous` of `model`'s table into `field` in
    /// place (its type, nullability, uniqueness), once its name is already `field`'s (a
    /// renamed column is renamed first); `fill` is written into its NULL rows when it
    /// becomes NOT NULL. Asked only when [`SchemaEditor::alters_column_by_rebuild`] is
    /// false; a change the backend cannot make in place is [`Error::NotSupported`].
    fn alter_column_sql(
        &self,
        model: &ModelState,
        previous: &FieldState,
        field: &FieldState,
        fill: Option<&Value>,
    ) -> Result<Vec<String>>;

    /// The statement that keeps the rows of `table` from being written between the row
    /// checks of a narrowing change and the change itself, run before the checks; `None`
    /// when the migration already keeps every other writer out (SQLite's write lock).
    fn lock_for_row_checks_sql(&self, table: &str) -> Option<String>;

    /// The statement that releases the lock of
    /// [`SchemaEditor::lock_for_row_checks_sql`] after the change, where the lock outlives
    /// the statement that changes the table (MySQL's `LOCK TABLES`); `None` by default
    /// (the transaction's end releases it).
    fn unlock_after_row_checks_sql(&self) -> Option<String> {
        None
    }

    // ----- Indexes and constraints ---------------------------------------------------------

    /// The statement that creates index `name` (unique or not) on `columns` of `table`, as
    /// migrations do: an index of that name already there is an error.
    fn create_index_sql(
        &self,
        table: &str,
        name: &str,
        columns: &[String],
        unique: bool,
    ) -> String {
        ddl::create_index(table, name, columns, unique, self.backend())
    }

    /// The statement that drops index `name` of `table`.
    fn drop_index_sql(&self, table: &str, name: &str) -> String {
        let _ = table;
        ddl::drop_index(name, self.backend())
    }

    /// The one statement that drops index `name` of `table` and creates an index of the
    /// same name over `columns`, where the two must be one statement (MySQL refuses to
    /// drop, alone, the last index a foreign key can use); `None` by default (two
    /// statements do).
    fn replace_index_sql(
        &self,
        table: &str,
        name: &str,
        columns: &[String],
        unique: bool,
    ) -> Option<String> {
        let _ = (table, name, columns, unique);
        None
    }

    /// The statement that creates `field`'s own single-column index
    /// ([`ModelMeta::own_indexes`]).
    fn create_own_index_sql(&self, model: &ModelMeta, field: &FieldMeta) -> String {
        ddl::create_own_index(model, field, self.backend())
    }

    /// The statement that drops `field`'s own index if it exists (an older database may
    /// lack it, or have it under a former table name).
    fn drop_own_index_sql(&self, model: &ModelMeta, field: &FieldMeta) -> String {
        ddl::drop_own_index(model, field, self.backend())
    }

    /// The statements that give the own index of field `before` (of `old`) the name
    /// derived from field `after` (of `new`) once its column was renamed: renamed in place,
    /// or dropped and created again where indexes cannot be renamed.
    fn rename_own_index_sql(
        &self,
        old: &ModelMeta,
        before: &FieldMeta,
        new: &ModelMeta,
        after: &FieldMeta,
    ) -> Vec<String>;

    /// Whether dropping a named unique constraint (`remove_constraint`) takes a rebuild of
    /// the table rather than [`SchemaEditor::drop_unique_constraint_sql`].
    fn drops_unique_constraint_by_rebuild(&self) -> bool;

    /// The statements that drop the unique constraint (or unique index) `name` of `table`
    /// in place, failing the migration when there is none. Asked only when
    /// [`SchemaEditor::drops_unique_constraint_by_rebuild`] is false.
    fn drop_unique_constraint_sql(&self, table: &str, name: &str) -> Result<Vec<String>>;

    // ----- Costs -------------------------------------------------------------------------

    /// What dropping a column (`remove_field`) costs the running database.
    fn drop_column_cost(&self) -> Cost;

    /// What adding a NOT NULL foreign-key column costs without a backfill (the rows'
    /// references may be checked).
    fn add_not_null_foreign_key_cost(&self) -> Cost;

    // ----- Table rebuilds ------------------------------------------------------------------

    /// The statements run before a table rebuild's `CREATE TABLE` (none by default).
    fn before_rebuild_sql(&self) -> Vec<String> {
        Vec::new()
    }

    /// The statements run right after a table rebuild's rename, before its indexes are
    /// created (none by default).
    fn after_rebuild_sql(&self) -> Vec<String> {
        Vec::new()
    }

    /// The connection setting [`SchemaEditor::before_rebuild_sql`] changes, which the
    /// executor reads before a migration and restores after it, failed or not (`None` by
    /// default).
    fn restored_setting(&self) -> Option<RestoredSetting> {
        None
    }

    /// The query that reads the objects a table rebuild drops with the table and the
    /// executor recreates after it: rows of (kind, name, statement), `kind` being
    /// `trigger` or `index`, for the table bound as the first parameter. A backend that
    /// never rebuilds has none ([`Error::NotSupported`], the default).
    fn rebuild_kept_objects_sql(&self) -> Result<&'static str> {
        Err(self.unsupported("keeping a table's triggers and indexes across a rebuild"))
    }

    /// The query counting the objects of kind (first parameter) and name (second
    /// parameter) that exist, so that the executor recreates only those a rebuild
    /// dropped. A backend that never rebuilds has none ([`Error::NotSupported`], the
    /// default).
    fn object_exists_sql(&self) -> Result<&'static str> {
        Err(self.unsupported("keeping a table's triggers and indexes across a rebuild"))
    }

    // ----- Introspection -------------------------------------------------------------------

    /// The query counting the tables and views called like its first parameter where a
    /// migration would create one.
    fn table_exists_sql(&self) -> &'static str;

    /// Reads every user table of the database from the catalogue (throughline's and
    /// Django's migration records left out), foreign keys in any order.
    fn read_catalogue<'a>(
        &'a self,
        conn: &'a mut dyn Conn,
    ) -> BoxFuture<'a, Result<Vec<TableInfo>>>;

    // ----- Errors --------------------------------------------------------------------------

    /// The [`Error::NotSupported`] for `feature` on this backend.
    fn unsupported(&self, feature: &str) -> Error {
        Error::NotSupported {
            backend: self.backend().name().into(),
            feature: feature.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_read_back_exactly_whatever_the_session() -> Result<()> {
        let pg = editor(Backend::Postgres)?;
        assert_eq!(pg.literal(&Value::from(r"a'\b")), r"E'a''\\b'");
        assert_eq!(
            editor(Backend::Sqlite)?.literal(&Value::from(r"a'\b")),
            r"'a''\b'"
        );
        let t = chrono::DateTime::from_timestamp(1_704_164_645, 0).unwrap_or_default();
        assert_eq!(
            pg.literal(&Value::from(t)),
            "'2024-01-02 03:04:05.000000+00:00'"
        );
        Ok(())
    }

    #[test]
    fn each_backend_has_an_editor_for_itself() -> Result<()> {
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
            assert_eq!(editor(backend)?.backend(), backend);
        }
        Ok(())
    }
}
