//! Owns reading an existing database's catalogue ([`read_schema`]) with the project's own
//! drivers — SQLite's pragmas, PostgreSQL's `pg_catalog` — into [`TableInfo`]s: columns,
//! primary key, foreign keys with their on-delete action, unique constraints and indexes
//! with the database's own names (SQLite's inline `UNIQUE` has none: its index is
//! `sqlite_autoindex_...`, which SQL cannot name).
//!
//! Written by hand because sea-schema's discovery pulls in sqlx, whose SQLite library
//! conflicts with rusqlite's. Names are bound parameters in every catalogue query (SQLite's
//! table-valued `pragma_*` functions, PostgreSQL's `$1`), never spliced into the SQL.

use throughline_core::{Backend, Result, Value};
use throughline_db::{Access, Conn, Database, Decode, Executor, op};
use throughline_query::Statement;

/// A column as the database declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// The declared type, lower case (`integer`, `varchar(100)`, `timestamp with time zone`).
    pub sql_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Whether the column is (part of) the primary key.
    pub primary_key: bool,
    /// Whether the database generates it (auto-increment / identity / serial).
    pub auto: bool,
}

/// A foreign key of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyInfo {
    /// The referring column.
    pub column: String,
    /// The referred table.
    pub table: String,
    /// The referred column.
    pub to_column: String,
    /// `CASCADE`, `RESTRICT`, `SET NULL`, `NO ACTION`, ...
    pub on_delete: String,
}

/// A table's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// The table name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnInfo>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKeyInfo>,
    /// Unique constraints and unique indexes, the primary key excluded.
    pub uniques: Vec<IndexInfo>,
    /// The other indexes (plain column lists; partial and expression indexes are left out).
    pub indexes: Vec<IndexInfo>,
}

/// A unique constraint or an index over columns.
///
/// ```
/// let unique = throughline_migrate::IndexInfo {
///     name: Some("person_email_key".into()),
///     columns: vec!["email".into()],
/// };
/// assert_eq!(unique.columns, ["email"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// Its name in the database, or `None` when the database generated one that SQL cannot
    /// name (SQLite's `sqlite_autoindex_*` of an inline `UNIQUE`).
    pub name: Option<String>,
    /// The columns, in order.
    pub columns: Vec<String>,
}

impl TableInfo {
    /// The primary-key columns.
    pub fn primary_key(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The foreign key of `column`, if any.
    pub fn foreign_key(&self, column: &str) -> Option<&ForeignKeyInfo> {
        self.foreign_keys.iter().find(|f| f.column == column)
    }
}

async fn rows(
    conn: &mut dyn Conn,
    sql: &str,
    params: Vec<Value>,
    width: usize,
) -> Result<Vec<Vec<Value>>> {
    let stmt = Statement::new(sql, params);
    let mut out = Vec::new();
    conn.query(&stmt, &mut |row| {
        out.push(
            (0..width)
                .map(|i| <Value as Decode>::decode(row, i))
                .collect::<Result<Vec<_>>>()?,
        );
        Ok(())
    })
    .await?;
    Ok(out)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.display(),
    }
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or({
        if matches!(value, Value::Bool(true)) {
            1
        } else {
            0
        }
    })
}

/// Reads every user table of the database (SQLite: the main database; PostgreSQL: the
/// schemas on the search path), skipping throughline's migration record.
pub async fn read_schema(db: &Database) -> Result<Vec<TableInfo>> {
    let mut tables = db
        .run(
            Access::Read,
            op(|conn| {
                Box::pin(async move {
                    match conn.backend() {
                        Backend::Sqlite => read_sqlite(conn).await,
                        Backend::Postgres => read_postgres(conn).await,
                    }
                })
            }),
        )
        .await?;
    // Foreign keys in column order (SQLite lists them last declared first).
    for table in &mut tables {
        let position = |column: &str| {
            table
                .columns
                .iter()
                .position(|c| c.name == column)
                .unwrap_or(usize::MAX)
        };
        let mut keys = std::mem::take(&mut table.foreign_keys);
        keys.sort_by_key(|k| position(&k.column));
        table.foreign_keys = keys;
    }
    Ok(tables)
}

/// Whether a table (or view) called `name` exists where a migration would create it
/// (SQLite: the main database; PostgreSQL: the current schema), the name bound as a
/// parameter.
///
/// ```
/// # use throughline_db::{Access, Executor, op};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// db.execute_batch(r#"CREATE TABLE "we""ird" ("id" integer)"#).await?;
/// let found = db.run(Access::Read, op(|conn| Box::pin(async move {
///     throughline_migrate::introspect::table_exists(conn, "we\"ird").await
/// }))).await?;
/// assert!(found);
/// # Ok(()) }
/// ```
pub async fn table_exists(conn: &mut dyn Conn, name: &str) -> Result<bool> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1"
        }
        Backend::Postgres => {
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relname = $1"
        }
    };
    let found = rows(conn, sql, vec![Value::from(name)], 1).await?;
    Ok(found.first().is_some_and(|row| int(&row[0]) > 0))
}

/// Reads the tables called `names` inside the caller's transaction (a name not found is
/// left out), as [`read_schema`] reads them all.
///
/// ```
/// # use throughline_db::{Access, Executor, op};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = throughline_db::Database::connect("sqlite::memory:").await?;
/// db.execute_batch(r#"CREATE TABLE "tag" ("id" integer NOT NULL PRIMARY KEY)"#).await?;
/// let tables = db.run(Access::Read, op(|conn| Box::pin(async move {
///     throughline_migrate::introspect::read_tables(conn, &["tag".to_owned()]).await
/// }))).await?;
/// assert_eq!(tables[0].primary_key(), ["id"]);
/// # Ok(()) }
/// ```
pub async fn read_tables(conn: &mut dyn Conn, names: &[String]) -> Result<Vec<TableInfo>> {
    let tables = match conn.backend() {
        Backend::Sqlite => read_sqlite(conn).await?,
        Backend::Postgres => read_postgres(conn).await?,
    };
    Ok(tables
        .into_iter()
        .filter(|t| names.contains(&t.name))
        .collect())
}

async fn read_sqlite(conn: &mut dyn Conn) -> Result<Vec<TableInfo>> {
    let names = rows(
        conn,
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'throughline_migrations' AND name <> 'django_migrations' ORDER BY name",
        Vec::new(),
        2,
    )
    .await?;
    let mut tables = Vec::new();
    for row in names {
        let name = text(&row[0]);
        let create_sql = text(&row[1]).to_lowercase();
        let relation = Value::from(name.clone());
        let info = rows(
            conn,
            "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)",
            vec![relation.clone()],
            6,
        )
        .await?;
        let pk_count = info.iter().filter(|c| int(&c[5]) > 0).count();
        let columns: Vec<ColumnInfo> = info
            .iter()
            .map(|c| {
                let sql_type = text(&c[2]).to_lowercase();
                let primary_key = int(&c[5]) > 0;
                ColumnInfo {
                    name: text(&c[1]),
                    auto: primary_key && pk_count == 1 && sql_type == "integer",
                    nullable: int(&c[3]) == 0 && !primary_key,
                    primary_key,
                    sql_type,
                }
            })
            .collect();
        let _ = create_sql;
        let fks = rows(
            conn,
            "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1)",
            vec![relation.clone()],
            7,
        )
        .await?;
        let foreign_keys = fks
            .iter()
            .map(|f| ForeignKeyInfo {
                column: text(&f[3]),
                table: text(&f[2]),
                to_column: text(&f[4]),
                on_delete: text(&f[6]).to_uppercase(),
            })
            .collect();
        let indexes = rows(
            conn,
            "SELECT seq, name, \"unique\", origin, partial FROM pragma_index_list(?1)",
            vec![relation],
            5,
        )
        .await?;
        let mut uniques = Vec::new();
        let mut plain = Vec::new();
        // index_list: seq, name, unique, origin (c: CREATE INDEX, u: UNIQUE, pk), partial.
        for index in indexes
            .iter()
            .filter(|i| text(&i[3]) != "pk" && int(&i[4]) == 0)
        {
            let index_name = text(&index[1]);
            let cols = rows(
                conn,
                "SELECT seqno, cid, name FROM pragma_index_info(?1) ORDER BY seqno",
                vec![Value::from(index_name.clone())],
                3,
            )
            .await?;
            // An expression index has a column without a name.
            if cols.iter().any(|c| matches!(c[2], Value::Null)) {
                continue;
            }
            let info = IndexInfo {
                name: (!index_name.starts_with("sqlite_autoindex_")).then_some(index_name),
                columns: cols.iter().map(|c| text(&c[2])).collect(),
            };
            if int(&index[2]) == 1 {
                uniques.push(info);
            } else {
                plain.push(info);
            }
        }
        // index_list lists the newest first.
        uniques.reverse();
        plain.reverse();
        tables.push(TableInfo {
            name,
            columns,
            foreign_keys,
            uniques,
            indexes: plain,
        });
    }
    Ok(tables)
}

async fn read_postgres(conn: &mut dyn Conn) -> Result<Vec<TableInfo>> {
    let names = rows(
        conn,
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname = ANY(current_schemas(false)) \
         AND c.relname NOT IN ('throughline_migrations', 'django_migrations') ORDER BY c.relname",
        Vec::new(),
        1,
    )
    .await?;
    let mut tables = Vec::new();
    for row in names {
        let name = text(&row[0]);
        let relation = Value::from(name.clone());
        let columns = rows(
            conn,
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, \
             COALESCE(a.attnum = ANY(i.indkey), false), \
             (a.attidentity <> '' OR COALESCE(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%') \
             FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = ANY(current_schemas(false)) \
             LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
             LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
             WHERE c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            vec![relation.clone()],
            5,
        )
        .await?;
        let columns = columns
            .iter()
            .map(|c| ColumnInfo {
                name: text(&c[0]),
                sql_type: text(&c[1]).to_lowercase(),
                nullable: matches!(c[2], Value::Bool(true)),
                primary_key: matches!(c[3], Value::Bool(true)),
                auto: matches!(c[4], Value::Bool(true)),
            })
            .collect();
        let fks = rows(
            conn,
            "SELECT a.attname::text, rc.relname::text, ra.attname::text, con.confdeltype::text \
             FROM pg_constraint con \
             JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = ANY(current_schemas(false)) \
             JOIN pg_class rc ON rc.oid = con.confrelid \
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1] \
             JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = con.confkey[1] \
             WHERE con.contype = 'f' AND c.relname = $1 AND array_length(con.conkey, 1) = 1 ORDER BY con.conname",
            vec![relation.clone()],
            4,
        )
        .await?;
        let foreign_keys = fks
            .iter()
            .map(|f| ForeignKeyInfo {
                column: text(&f[0]),
                table: text(&f[1]),
                to_column: text(&f[2]),
                on_delete: match text(&f[3]).as_str() {
                    "c" => "CASCADE",
                    "r" => "RESTRICT",
                    "n" => "SET NULL",
                    "d" => "SET DEFAULT",
                    _ => "NO ACTION",
                }
                .to_owned(),
            })
            .collect();
        let index_rows = rows(
            conn,
            "SELECT ic.relname::text, i.indisunique, array_to_string(ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord), chr(1)) \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = ANY(current_schemas(false)) \
             WHERE c.relname = $1 AND NOT i.indisprimary AND i.indpred IS NULL AND NOT (0 = ANY(i.indkey::int2[])) \
             ORDER BY ic.relname",
            vec![relation],
            3,
        )
        .await?;
        let mut uniques = Vec::new();
        let mut plain = Vec::new();
        for row in &index_rows {
            let info = IndexInfo {
                name: Some(text(&row[0])),
                columns: text(&row[2]).split('\u{1}').map(str::to_owned).collect(),
            };
            if matches!(row[1], Value::Bool(true)) {
                uniques.push(info);
            } else {
                plain.push(info);
            }
        }
        tables.push(TableInfo {
            name,
            columns,
            foreign_keys,
            uniques,
            indexes: plain,
        });
    }
    Ok(tables)
}
