//! Owns [`Dialect`]: everything that differs between the SQL of two backends, declared
//! once per backend — its capabilities, how a statement tree is rendered, the forms of a
//! list parameter (`IN`), of an insert of one row per array element, of pattern matches,
//! an `OFFSET` without `LIMIT`, typed parameters in hand-written SQL, and the column types
//! of DDL. The statement builders (`select`, `write`, `ddl`) ask the dialect and never
//! match on the backend themselves.
//!
//! A backend without array parameters (MariaDB) answers `None` to
//! [`Dialect::array_rows`] and expands lists in [`Dialect::in_list`]; one without
//! `ON CONFLICT (target)` or `UPDATE ... RETURNING` says so in its [`Capabilities`] and
//! writes its own upsert form ([`Dialect::on_conflict`]); the engine, which reads
//! capabilities rather than backends, takes the other path.
//!
//! ```
//! use throughline_core::{Backend, FieldType};
//! let sqlite = throughline_query::dialect::of(Backend::Sqlite)?;
//! let postgres = throughline_query::dialect::of(Backend::Postgres)?;
//! assert_eq!(sqlite.param(1, FieldType::I64), "?");
//! assert_eq!(postgres.param(1, FieldType::I64), "$1::bigint");
//! assert!(!sqlite.capabilities().select_for_update);
//! # Ok::<(), throughline_core::Error>(())
//! ```

mod mysql;
mod postgres;
pub mod sqlite;

pub use mysql::Mysql;
pub use postgres::Postgres;
pub use sqlite::Sqlite;

use sea_query::{
    Alias, ColumnDef, DeleteStatement, Expr, InsertStatement, OnConflict, SelectStatement,
    TableAlterStatement, TableCreateStatement, TableDropStatement, TableRenameStatement,
    UpdateStatement, Values,
};
use throughline_core::{Backend, Capabilities, Error, FieldType, Result, Value};

/// A statement tree for [`Dialect::render`].
///
/// ```
/// use sea_query::{Alias, Query};
/// use throughline_query::dialect::{Dialect, Sqlite, Tree};
/// let delete = Query::delete().from_table(Alias::new("t")).to_owned();
/// assert_eq!(Sqlite.render(Tree::Delete(&delete)).0, r#"DELETE FROM "t""#);
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Tree<'a> {
    /// A `SELECT`.
    Select(&'a SelectStatement),
    /// An `INSERT`.
    Insert(&'a InsertStatement),
    /// An `UPDATE`.
    Update(&'a UpdateStatement),
    /// A `DELETE`.
    Delete(&'a DeleteStatement),
}

/// A DDL tree for [`Dialect::render_schema`].
///
/// ```
/// use sea_query::{Alias, Table};
/// use throughline_query::dialect::{Dialect, Postgres, SchemaTree};
/// let rename = Table::rename().table(Alias::new("old"), Alias::new("new")).to_owned();
/// assert_eq!(Postgres.render_schema(SchemaTree::Rename(&rename)), r#"ALTER TABLE "old" RENAME TO "new""#);
/// ```
#[derive(Debug, Clone, Copy)]
pub enum SchemaTree<'a> {
    /// `CREATE TABLE`.
    Create(&'a TableCreateStatement),
    /// `ALTER TABLE`.
    Alter(&'a TableAlterStatement),
    /// `DROP TABLE`.
    Drop(&'a TableDropStatement),
    /// `ALTER TABLE ... RENAME TO`.
    Rename(&'a TableRenameStatement),
}

/// How an insert of one row per element of an array parameter reads its rows: the
/// expression of the element in the `SELECT` list, and the `FROM` source.
///
/// ```
/// use throughline_core::FieldType;
/// use throughline_query::dialect::{ArrayRows, Dialect, Postgres};
/// let rows = Postgres.array_rows(1, FieldType::I64).unwrap();
/// assert_eq!(rows, ArrayRows { element: "u.v".into(), source: "unnest($1::bigint[]) AS u(v)".into() });
/// let sql = format!("INSERT INTO t (x) SELECT {} FROM {}", rows.element, rows.source);
/// assert_eq!(sql, "INSERT INTO t (x) SELECT u.v FROM unnest($1::bigint[]) AS u(v)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayRows {
    /// The element, as the `SELECT` list names it (`u.v`, `value`).
    pub element: String,
    /// The row source, after `FROM` (`unnest($3::bigint[]) AS u(v)`, `rarray(?) WHERE true`).
    pub source: String,
}

/// The SQL of one backend. One `'static` value per backend ([`of`]); object safe.
///
/// ```
/// use throughline_core::Backend;
/// let postgres = throughline_query::dialect::of(Backend::Postgres).unwrap();
/// assert_eq!(postgres.backend(), Backend::Postgres);
/// assert_eq!(postgres.param(2, throughline_core::FieldType::I64), "$2::bigint");
/// assert!(postgres.capabilities().select_for_update);
/// ```
pub trait Dialect: Send + Sync + 'static {
    /// The backend this dialect speaks for.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert_eq!(Sqlite.backend(), throughline_core::Backend::Sqlite);
    /// assert_eq!(Mysql.backend(), throughline_core::Backend::Mysql);
    /// ```
    fn backend(&self) -> Backend;

    /// The statement forms the backend supports, and its bind-parameter limit.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert!(!Sqlite.capabilities().select_for_update);
    /// assert!(Postgres.capabilities().select_for_update);
    /// ```
    fn capabilities(&self) -> Capabilities;

    /// Renders a statement tree: SQL with the backend's placeholders, and the values.
    ///
    /// ```
    /// use sea_query::{Alias, Expr, ExprTrait, Query};
    /// use throughline_query::dialect::{Dialect, Postgres, Sqlite, Tree};
    /// let select = Query::select()
    ///     .column(Alias::new("x"))
    ///     .from(Alias::new("t"))
    ///     .and_where(Expr::col(Alias::new("x")).eq(1))
    ///     .to_owned();
    /// let (sql, values) = Sqlite.render(Tree::Select(&select));
    /// assert_eq!(sql, r#"SELECT "x" FROM "t" WHERE "x" = ?"#);
    /// assert_eq!(values.0.len(), 1);
    /// assert!(Postgres.render(Tree::Select(&select)).0.ends_with("$1"));
    /// ```
    fn render(&self, tree: Tree<'_>) -> (String, Values);

    /// Renders a DDL tree.
    ///
    /// ```
    /// use sea_query::{Alias, Table};
    /// use throughline_query::dialect::{Dialect, Mysql, SchemaTree, Sqlite};
    /// let drop = Table::drop().table(Alias::new("t")).to_owned();
    /// assert_eq!(Sqlite.render_schema(SchemaTree::Drop(&drop)), r#"DROP TABLE "t""#);
    /// assert_eq!(Mysql.render_schema(SchemaTree::Drop(&drop)), "DROP TABLE `t`");
    /// ```
    fn render_schema(&self, tree: SchemaTree<'_>) -> String;

    /// One byte that tells this dialect's rendered texts apart in the shape cache.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// let tags = [Sqlite.shape_tag(), Postgres.shape_tag(), Mysql.shape_tag()];
    /// assert!(tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2]);
    /// ```
    fn shape_tag(&self) -> u8;

    /// The `LIMIT` a query with an `OFFSET` and no limit needs (SQLite: a limit must come
    /// first), or `None` when `OFFSET` stands alone.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert_eq!(Sqlite.limit_for_offset_alone(), Some(i64::MAX as u64));
    /// assert_eq!(Postgres.limit_for_offset_alone(), None);
    /// ```
    fn limit_for_offset_alone(&self) -> Option<u64>;

    /// `col IN (values)`, the list bound as one parameter (an array, or a JSON document
    /// where the backend has no arrays): the statement text does not grow with the list.
    ///
    /// ```
    /// use sea_query::{Alias, Expr, Query};
    /// use throughline_query::dialect::{Dialect, Postgres, Sqlite, Tree};
    /// let ids = [1i64.into(), 2i64.into(), 3i64.into()];
    /// for (dialect, form) in [(&Sqlite as &dyn Dialect, "IN rarray(?)"), (&Postgres, "= ANY($1)")] {
    ///     let select = Query::select()
    ///         .column(Alias::new("x"))
    ///         .from(Alias::new("t"))
    ///         .and_where(dialect.in_list(Expr::col(Alias::new("x")), &ids))
    ///         .to_owned();
    ///     let (sql, values) = dialect.render(Tree::Select(&select));
    ///     assert!(sql.ends_with(form));
    ///     assert_eq!(values.0.len(), 1); // one parameter, whatever the list's length
    /// }
    /// ```
    fn in_list(&self, col: Expr, values: &[Value]) -> Expr;

    /// A case-sensitive pattern match of `col`, given the pattern as a `GLOB` (`*`, `?`)
    /// and as a `LIKE` with `\` escapes; the dialect picks the form it matches exactly.
    ///
    /// ```
    /// use sea_query::{Alias, Expr, Query};
    /// use throughline_query::dialect::{Dialect, Postgres, Sqlite, Tree};
    /// let sql = |dialect: &dyn Dialect| {
    ///     let matched = dialect.case_sensitive_match(Expr::col(Alias::new("x")), "ab*", "ab%");
    ///     let select = Query::select().column(Alias::new("x")).from(Alias::new("t")).and_where(matched).to_owned();
    ///     dialect.render(Tree::Select(&select)).0
    /// };
    /// assert!(sql(&Sqlite).ends_with(r#""x" GLOB ?"#)); // SQLite's LIKE ignores case
    /// assert!(sql(&Postgres).ends_with(r#""x" LIKE $1"#));
    /// ```
    fn case_sensitive_match(&self, col: Expr, glob: &str, like: &str) -> Expr;

    /// An ASCII-case-insensitive `LIKE` of `col` against `pattern` (already lowercase,
    /// `\` escapes): the same rule on every backend, whatever its collation.
    ///
    /// ```
    /// use sea_query::{Alias, Expr, Query};
    /// use throughline_query::dialect::{Dialect, Postgres, Sqlite, Tree};
    /// let sql = |dialect: &dyn Dialect| {
    ///     let matched = dialect.ascii_insensitive_match(Expr::col(Alias::new("x")), "ab%".into());
    ///     let select = Query::select().column(Alias::new("x")).from(Alias::new("t")).and_where(matched).to_owned();
    ///     dialect.render(Tree::Select(&select)).0
    /// };
    /// assert!(sql(&Sqlite).contains(r#""x" LIKE ?"#));
    /// assert!(sql(&Postgres).contains("translate(")); // folds A-Z only, as SQLite
    /// ```
    fn ascii_insensitive_match(&self, col: Expr, pattern: String) -> Expr;

    /// The `index`-th parameter (from 1) of hand-written SQL, typed as a field of type
    /// `ty` where the backend needs the type.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// use throughline_core::FieldType;
    /// assert_eq!(Sqlite.param(2, FieldType::I64), "?");
    /// assert_eq!(Postgres.param(2, FieldType::I64), "$2::bigint");
    /// ```
    fn param(&self, index: usize, ty: FieldType) -> String;

    /// How an insert reads one row per element of the array bound as parameter `index`
    /// (elements of type `ty`); `None` when the backend has no array parameters.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// use throughline_core::FieldType;
    /// let rows = Postgres.array_rows(3, FieldType::I64).unwrap();
    /// assert_eq!((rows.element.as_str(), rows.source.as_str()), ("u.v", "unnest($3::bigint[]) AS u(v)"));
    /// assert_eq!(Sqlite.array_rows(1, FieldType::I64).unwrap().source, "rarray(?) WHERE true");
    /// ```
    fn array_rows(&self, index: usize, ty: FieldType) -> Option<ArrayRows>;

    /// Declares `def`'s type for a field of type `ty`.
    ///
    /// ```
    /// use sea_query::{Alias, ColumnDef, Table};
    /// use throughline_core::FieldType;
    /// use throughline_query::dialect::{Dialect, Postgres, SchemaTree, Sqlite};
    /// let create = |dialect: &dyn Dialect| {
    ///     let mut column = ColumnDef::new(Alias::new("n"));
    ///     dialect.column_type(FieldType::I64, &mut column);
    ///     let table = Table::create().table(Alias::new("t")).col(column).to_owned();
    ///     dialect.render_schema(SchemaTree::Create(&table))
    /// };
    /// assert_eq!(create(&Sqlite), r#"CREATE TABLE "t" ( "n" integer )"#);
    /// assert_eq!(create(&Postgres), r#"CREATE TABLE "t" ( "n" bigint )"#);
    /// ```
    fn column_type(&self, ty: FieldType, def: &mut ColumnDef);

    /// Whether the statement builder renders `RETURNING` (sea-query's MySQL builder drops
    /// it: the caller appends it then).
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert!(Sqlite.builder_renders_returning());
    /// assert!(!Mysql.builder_renders_returning());
    /// ```
    fn builder_renders_returning(&self) -> bool {
        true
    }

    /// Whether a column's own unique constraint is declared as a named unique key (MySQL
    /// would otherwise name it after the column), with the name PostgreSQL gives it
    /// (`table_column_key`).
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert!(Mysql.names_unique_columns());
    /// assert!(!Postgres.names_unique_columns());
    /// ```
    fn names_unique_columns(&self) -> bool {
        false
    }

    /// Whether a foreign key's column must have exactly its key's type (MySQL refuses a
    /// `text` column referring to a `varchar` key); `create_tables` then declares it so.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert!(Mysql.foreign_keys_take_key_type());
    /// assert!(!Sqlite.foreign_keys_take_key_type());
    /// ```
    fn foreign_keys_take_key_type(&self) -> bool {
        false
    }

    /// Sets the backend's table options on a `CREATE TABLE` (MySQL's engine, character
    /// set and collation); none by default.
    ///
    /// ```
    /// use sea_query::{Alias, ColumnDef, Table};
    /// use throughline_query::dialect::{Dialect, Mysql, SchemaTree};
    /// let mut table = Table::create().table(Alias::new("t")).col(ColumnDef::new(Alias::new("n")).integer()).to_owned();
    /// Mysql.table_options(&mut table);
    /// assert!(Mysql.render_schema(SchemaTree::Create(&table)).contains("ENGINE=InnoDB"));
    /// ```
    fn table_options(&self, _table: &mut TableCreateStatement) {}

    /// Whether `DROP TABLE` should cascade to the objects that depend on the table
    /// (PostgreSQL's views and foreign keys; SQLite has no such clause).
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert!(Postgres.drop_table_cascades());
    /// assert!(!Sqlite.drop_table_cascades());
    /// ```
    fn drop_table_cascades(&self) -> bool;

    /// The upsert form: makes `insert` skip the rows that conflict on the unique
    /// constraint over `target` (any unique constraint when `target` is empty), or, with
    /// `update` columns, overwrite those columns of the existing row from the new one.
    /// The default is `ON CONFLICT [(target)] DO NOTHING | DO UPDATE SET ...` (SQLite,
    /// PostgreSQL); a backend with another form (MariaDB's `ON DUPLICATE KEY UPDATE`)
    /// overrides it.
    ///
    /// ```
    /// use sea_query::{Alias, Query};
    /// use throughline_query::dialect::{Dialect, Sqlite, Tree};
    /// let mut insert = Query::insert()
    ///     .into_table(Alias::new("t"))
    ///     .columns([Alias::new("x"), Alias::new("y")])
    ///     .values_panic([1.into(), 2.into()])
    ///     .to_owned();
    /// Sqlite.on_conflict(&mut insert, vec![Alias::new("x")], vec![Alias::new("y")]);
    /// let (sql, _) = Sqlite.render(Tree::Insert(&insert));
    /// assert!(sql.ends_with(r#"ON CONFLICT ("x") DO UPDATE SET "y" = "excluded"."y""#));
    /// ```
    fn on_conflict(&self, insert: &mut InsertStatement, target: Vec<Alias>, update: Vec<Alias>) {
        let mut on_conflict = if target.is_empty() {
            OnConflict::new()
        } else {
            OnConflict::columns(target)
        };
        if update.is_empty() {
            on_conflict.do_nothing();
        } else {
            on_conflict.update_columns(update);
        }
        insert.on_conflict(on_conflict);
    }

    /// The text of an `UPDATE` or `DELETE` as the backend should run it (unchanged by
    /// default). MariaDB's optimizer runs an `IN (SELECT ... FROM JSON_TABLE(...))` of a
    /// single-table update or delete once per row of the table (its `in_to_exists`
    /// strategy: 2.4 s to remove 10,000 links from a 10,000-row through table, growing
    /// with N²); that dialect turns the strategy off for the statement.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// let sql = "DELETE FROM t WHERE id IN (1)".to_owned();
    /// assert_eq!(Sqlite.change_statement(sql.clone()), sql);
    /// ```
    fn change_statement(&self, sql: String) -> String {
        sql
    }

    /// Whether a locking read can name the tables it locks (`FOR UPDATE OF t`), so that
    /// joined tables are not locked (PostgreSQL); false by default.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert!(Postgres.locks_named_tables());
    /// assert!(!Mysql.locks_named_tables());
    /// ```
    fn locks_named_tables(&self) -> bool {
        false
    }

    /// The type a computed value is converted to with `CAST(... AS name)`, for the types
    /// an aggregate is brought to (integer sums, floating-point means) and the constants
    /// of an expression whose type the backend cannot infer. `None`: no conversion.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// use throughline_core::FieldType;
    /// assert_eq!(Postgres.cast_type(FieldType::I64), Some("BIGINT"));
    /// assert_eq!(Sqlite.cast_type(FieldType::F64), Some("REAL"));
    /// assert_eq!(Mysql.cast_type(FieldType::I64), Some("SIGNED"));
    /// ```
    fn cast_type(&self, ty: FieldType) -> Option<&'static str>;

    /// A decimal computed by a function or a `CASE`, made to compare and order as a number
    /// (SQLite: the decimal collation, which only decimal columns carry by themselves).
    ///
    /// ```
    /// use sea_query::{Alias, Expr, ExprTrait, Query};
    /// use throughline_query::dialect::{Dialect, Sqlite, Tree};
    /// let ordered = Sqlite.decimal_expression(Expr::col(Alias::new("price")));
    /// let select = Query::select().column(Alias::new("x")).from(Alias::new("t")).and_where(ordered.eq(1)).to_owned();
    /// assert!(Sqlite.render(Tree::Select(&select)).0.contains("COLLATE throughline_decimal"));
    /// ```
    fn decimal_expression(&self, value: Expr) -> Expr {
        value
    }

    /// A computed value as it is stored in a column of type `ty` (`UPDATE ... SET c =
    /// expression`): as computed, unless the backend must bring it to the column's form.
    ///
    /// ```
    /// use sea_query::{Alias, Expr, Query};
    /// use throughline_core::FieldType;
    /// use throughline_query::dialect::{Dialect, Postgres, Tree};
    /// let value = Postgres.stored_value(FieldType::I64, Expr::col(Alias::new("n")));
    /// let update = Query::update().table(Alias::new("t")).value(Alias::new("m"), value).to_owned();
    /// assert_eq!(Postgres.render(Tree::Update(&update)).0, r#"UPDATE "t" SET "m" = "n""#);
    /// ```
    fn stored_value(&self, _ty: FieldType, value: Expr) -> Expr {
        value
    }

    /// The template of integer division of `$1` by `$2`, truncated toward zero.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert_eq!(Sqlite.integer_division(), "($1 / $2)");
    /// assert_eq!(Mysql.integer_division(), "($1 DIV $2)"); // MariaDB's `/` gives a decimal
    /// ```
    fn integer_division(&self) -> &'static str {
        "($1 / $2)"
    }

    /// The template reading `part` of `$1` as an integer, in UTC (`datetime`: `$1` is a
    /// date and time, else a date).
    ///
    /// ```
    /// use throughline_query::DatePart;
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert_eq!(Sqlite.date_part(DatePart::Year, true), "(CAST(strftime('%Y', $1) AS INTEGER))");
    /// assert_eq!(Mysql.date_part(DatePart::WeekDay, false), "DAYOFWEEK($1)");
    /// assert!(Postgres.date_part(DatePart::Month, true).contains("AT TIME ZONE 'UTC'"));
    /// ```
    fn date_part(&self, part: crate::DatePart, datetime: bool) -> String {
        let _ = datetime;
        let name = match part {
            crate::DatePart::Year => "YEAR",
            crate::DatePart::Month => "MONTH",
            crate::DatePart::Day => "DAY",
            crate::DatePart::WeekDay => return "DAYOFWEEK($1)".to_owned(),
            crate::DatePart::Hour => "HOUR",
            crate::DatePart::Minute => "MINUTE",
        };
        format!("EXTRACT({name} FROM $1)")
    }

    /// Whether the constants of a computed expression are written with their type
    /// (`CAST($1 AS BIGINT)`): PostgreSQL infers a parameter's type from its context and
    /// takes `CASE WHEN ... THEN $1` or `COALESCE(..., $1)` for text.
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert!(Postgres.types_expression_constants());
    /// assert!(!Sqlite.types_expression_constants());
    /// ```
    fn types_expression_constants(&self) -> bool {
        false
    }

    /// The statement that moves the auto-increment counter of `table`'s key `column` past
    /// the largest key in the table, after rows were inserted with explicit keys (a fixture
    /// load; Django's `sequence_reset_sql`), or `None` when the backend moves it by itself
    /// (SQLite's `AUTOINCREMENT` and InnoDB's counter follow explicit keys; PostgreSQL's
    /// sequence does not).
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Postgres, Sqlite};
    /// assert!(Sqlite.sequence_reset("tag", "id").is_none());
    /// let reset = Postgres.sequence_reset("tag", "id").unwrap();
    /// assert!(reset.sql.starts_with("SELECT setval(pg_get_serial_sequence($1, $2)"));
    /// ```
    fn sequence_reset(&self, _table: &str, _column: &str) -> Option<crate::Statement> {
        None
    }

    /// The clause ending hand-written `INSERT ... SELECT` SQL (an array insert) that skips
    /// the rows conflicting on the columns `target` (already quoted).
    ///
    /// ```
    /// use throughline_query::dialect::{Dialect, Mysql, Postgres, Sqlite};
    /// assert_eq!(Sqlite.skip_conflicts_sql(&[r#""a""#.into()]), r#" ON CONFLICT ("a") DO NOTHING"#);
    /// ```
    fn skip_conflicts_sql(&self, target: &[String]) -> String {
        format!(" ON CONFLICT ({}) DO NOTHING", target.join(", "))
    }
}

/// The dialect of `backend`: the one place that maps a backend to its SQL. A backend this
/// build knows no SQL for is [`Error::NotSupported`].
///
/// ```
/// let sqlite = throughline_query::dialect::of(throughline_core::Backend::Sqlite).unwrap();
/// assert_eq!(sqlite.limit_for_offset_alone(), Some(i64::MAX as u64));
/// ```
pub fn of(backend: Backend) -> Result<&'static dyn Dialect> {
    #[allow(unreachable_patterns)]
    match backend {
        Backend::Sqlite => Ok(&Sqlite),
        Backend::Postgres => Ok(&Postgres),
        Backend::Mysql => Ok(&Mysql),
        other => Err(Error::NotSupported {
            backend: other.name().to_owned(),
            feature: "SQL rendering (no dialect in this build)".to_owned(),
        }),
    }
}

/// The capabilities of `backend`'s dialect ([`Dialect::capabilities`]).
///
/// ```
/// let caps = throughline_query::dialect::capabilities(throughline_core::Backend::Sqlite).unwrap();
/// assert!(caps.insert_returning && !caps.select_for_update);
/// ```
pub fn capabilities(backend: Backend) -> Result<Capabilities> {
    Ok(of(backend)?.capabilities())
}

/// Runs `render` on a sea-query builder; each dialect's [`Dialect::render`] is this with its
/// builder.
pub(crate) fn render_with<B>(builder: B, tree: Tree<'_>) -> (String, Values)
where
    B: sea_query::QueryBuilder,
{
    match tree {
        Tree::Select(s) => s.build(builder),
        Tree::Insert(s) => s.build(builder),
        Tree::Update(s) => s.build(builder),
        Tree::Delete(s) => s.build(builder),
    }
}

/// [`render_with`] for DDL.
pub(crate) fn render_schema_with<B>(builder: B, tree: SchemaTree<'_>) -> String
where
    B: sea_query::SchemaBuilder,
{
    match tree {
        SchemaTree::Create(s) => s.build(builder),
        SchemaTree::Alter(s) => s.build(builder),
        SchemaTree::Drop(s) => s.build(builder),
        SchemaTree::Rename(s) => s.build(builder),
    }
}

/// The column types both backends share.
pub(crate) fn common_column_type(ty: FieldType, def: &mut ColumnDef) {
    match ty {
        FieldType::AutoI64 | FieldType::I64 => {
            def.big_integer();
        }
        FieldType::I16 => {
            def.small_integer();
        }
        FieldType::I32 => {
            def.integer();
        }
        FieldType::F64 => {
            def.double();
        }
        FieldType::Bool => {
            def.boolean();
        }
        FieldType::String {
            max_length: Some(n),
        } => {
            def.string_len(n);
        }
        FieldType::String { max_length: None } | FieldType::Json => {
            def.text();
        }
        FieldType::Date => {
            def.date();
        }
        FieldType::DateTime => {
            def.timestamp_with_time_zone();
        }
        FieldType::Uuid => {
            def.uuid();
        }
        FieldType::Bytes => {
            def.binary();
        }
        FieldType::Decimal {
            max_digits,
            decimal_places,
        } => {
            def.decimal_len(u32::from(max_digits), u32::from(decimal_places));
        }
    }
}
