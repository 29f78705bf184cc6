//! Owns the DDL of a model: `CREATE TABLE` with column types per backend, the primary key,
//! foreign keys with their on-delete action, named unique constraints, and indexes. Two
//! flavours: [`create_table`] for `create_tables` (idempotent, `IF NOT EXISTS`) and
//! [`create_table_with`] for migrations (plain `CREATE`: an existing table or index is an
//! error, never silently kept — SPEC §7).
//!
//! Every identifier is quoted with [`quote`] (double quotes, inner quotes doubled), derived
//! names (`<table>_<column>_fkey`, `<table>_<column>_idx`) included. sea-query 1.0 quotes
//! table and column names properly but writes index, constraint and foreign-key *names*
//! between quotes without doubling the quotes inside them, so those names are handed to it
//! already escaped (`sea_name`), and `CREATE INDEX` / `DROP INDEX` are written here by
//! hand; the tests below render hostile names on both backends.

use crate::dialect::{Dialect, SchemaTree};
use crate::render::build_schema;
use sea_query::{Alias, ColumnDef, ForeignKey, ForeignKeyAction, Index, Table};
use throughline_core::{
    Backend, Error, FieldMeta, ForeignKeyMeta, ModelMeta, OnDelete, Registry, Result,
};

/// An identifier quoted for SQL (both backends): between double quotes, with the double
/// quotes inside doubled, so that any name — with quotes, semicolons, backslashes, spaces
/// or any unicode — is one identifier and nothing else.
///
/// ```
/// assert_eq!(throughline_query::ddl::quote("tag"), r#""tag""#);
/// assert_eq!(throughline_query::ddl::quote(r#"a"; DROP TABLE "t"#), r#""a""; DROP TABLE ""t""#);
/// ```
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A name for one of sea-query's name slots (index, constraint and foreign-key names),
/// which it writes between quotes without escaping: the inner quotes doubled beforehand.
fn sea_name(name: &str) -> String {
    name.replace('"', "\"\"")
}

/// The statements that create `model`'s table and indexes (idempotent: `IF NOT EXISTS`).
/// Foreign keys refer to their target's table as found in `registry`.
///
/// ```
/// # use throughline_core::*;
/// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
/// # let m: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id])));
/// let mut registry = Registry::new();
/// registry.register(m);
/// let sql = throughline_query::create_table(m, &registry, Backend::Sqlite).unwrap();
/// assert_eq!(sql[0], r#"CREATE TABLE IF NOT EXISTS "tag" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT )"#);
/// ```
pub fn create_table(
    model: &ModelMeta,
    registry: &Registry,
    backend: Backend,
) -> Result<Vec<String>> {
    let target_of = |fk: &ForeignKeyMeta| {
        registry
            .get(&fk.to)
            .map(|m| (m.table.clone(), fk.referenced(m).column.clone()))
    };
    let key_type_of = |fk: &ForeignKeyMeta| {
        registry
            .get(&fk.to)
            .map(|m| fk.referenced(m).ty.as_reference())
    };
    create_table_sql(model, &target_of, Some(&key_type_of), backend, true)
}

/// The table and referred column of a foreign key (how DDL finds a foreign key's target:
/// its `to_field`'s column, else the target's primary key).
pub type TargetOf<'a> = &'a dyn Fn(&ForeignKeyMeta) -> Option<(String, String)>;

/// The statements that create `model`'s table and indexes as a migration does: plain
/// `CREATE TABLE` and `CREATE INDEX`, so an existing table or index is an error rather than
/// silently kept. Foreign-key targets are found by `target_of` (the migration state's
/// models rather than a registry's).
///
/// ```
/// # use throughline_core::*;
/// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
/// let m = ModelMeta::new("Tag", "tag", vec![id]);
/// let sql = throughline_query::create_table_with(&m, &|_| None, Backend::Sqlite).unwrap();
/// assert_eq!(sql[0], r#"CREATE TABLE "tag" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT )"#);
/// ```
pub fn create_table_with(
    model: &ModelMeta,
    target_of: TargetOf<'_>,
    backend: Backend,
) -> Result<Vec<String>> {
    create_table_sql(model, target_of, None, backend, false)
}

/// The type of the column a foreign key refers to (for a foreign key's column where the
/// backend needs the referring column to match it exactly).
type KeyTypeOf<'a> = &'a dyn Fn(&ForeignKeyMeta) -> Option<throughline_core::FieldType>;

fn create_table_sql(
    model: &ModelMeta,
    target_of: TargetOf<'_>,
    key_type_of: Option<KeyTypeOf<'_>>,
    backend: Backend,
    if_not_exists: bool,
) -> Result<Vec<String>> {
    let mut table = Table::create();
    table.table(Alias::new(&model.table));
    if if_not_exists {
        table.if_not_exists();
    }
    let dialect = crate::dialect::of(backend)?;
    dialect.table_options(&mut table);
    for field in &model.fields {
        // MySQL refuses a foreign key whose column type differs from the key's (a `text`
        // column referring to a `varchar(5)` key): the column takes the key's type there.
        let key_type = field
            .foreign_key
            .as_ref()
            .filter(|_| dialect.foreign_keys_take_key_type())
            .and_then(|fk| key_type_of.and_then(|of| of(fk)));
        let mut declared = field.clone();
        if let Some(ty) = key_type {
            declared.ty = ty;
        }
        table.col(column_def(&declared, dialect));
        if let Some(fk) = &field.foreign_key {
            let (target_table, target_pk) = target_of(fk).ok_or_else(|| {
                Error::invalid_query(
                    &model.name,
                    format!(
                        "foreign key `{}` refers to unregistered model {}",
                        field.name, fk.to
                    ),
                )
            })?;
            table.foreign_key(
                ForeignKey::create()
                    .name(sea_name(&format!("{}_{}_fkey", model.table, field.column)))
                    .from(Alias::new(&model.table), Alias::new(&field.column))
                    .to(Alias::new(&target_table), Alias::new(&target_pk))
                    .on_delete(on_delete_action(fk.on_delete)),
            );
        }
    }
    if dialect.names_unique_columns() {
        // The name other backends give a column's own unique constraint, so that errors
        // name it alike.
        for field in model.fields.iter().filter(|f| f.unique && !f.primary_key) {
            let mut index = Index::create();
            index
                .name(sea_name(&throughline_core::schema::single_unique_name(
                    &model.table,
                    &field.column,
                    false,
                )))
                .unique()
                .col(Alias::new(&field.column));
            table.index(&mut index);
        }
    }
    for constraint in &model.unique_constraints {
        let mut index = Index::create();
        index.name(sea_name(&constraint.name)).unique();
        for name in &constraint.fields {
            let field = model.field(name).ok_or_else(|| {
                Error::invalid_query(
                    &model.name,
                    format!("unique constraint names unknown field `{name}`"),
                )
            })?;
            index.col(Alias::new(&field.column));
        }
        table.index(&mut index);
    }
    let mut out = vec![build_schema(SchemaTree::Create(&table), dialect)];
    for field in model.own_indexes() {
        out.push(index_sql(
            &model.table,
            &model.own_index_name(field),
            std::slice::from_ref(&field.column),
            false,
            if_not_exists,
        ));
    }
    for index in &model.indexes {
        let mut columns = Vec::new();
        for name in &index.fields {
            let field = model.field(name).ok_or_else(|| {
                Error::invalid_query(&model.name, format!("index names unknown field `{name}`"))
            })?;
            columns.push(field.column.clone());
        }
        out.push(index_sql(
            &model.table,
            &index.name,
            &columns,
            false,
            if_not_exists,
        ));
    }
    Ok(out)
}

/// The statement that drops `model`'s table if it exists.
///
/// ```
/// # use throughline_core::*;
/// # let m = ModelMeta::new("Tag", "tag", vec![]);
/// assert_eq!(throughline_query::drop_table(&m, Backend::Postgres).unwrap(), r#"DROP TABLE IF EXISTS "tag" CASCADE"#);
/// ```
pub fn drop_table(model: &ModelMeta, backend: Backend) -> Result<String> {
    let dialect = crate::dialect::of(backend)?;
    let mut drop = Table::drop();
    drop.table(Alias::new(&model.table)).if_exists();
    if dialect.drop_table_cascades() {
        drop.cascade();
    }
    Ok(build_schema(SchemaTree::Drop(&drop), dialect))
}

fn on_delete_action(on_delete: OnDelete) -> ForeignKeyAction {
    match on_delete {
        OnDelete::Cascade => ForeignKeyAction::Cascade,
        // PROTECT never lets a referred row go; RESTRICT (as Django's) lets it go when the
        // referring rows are deleted by the same statement's cascade: NO ACTION does that.
        OnDelete::Protect => ForeignKeyAction::Restrict,
        OnDelete::Restrict | OnDelete::DoNothing => ForeignKeyAction::NoAction,
        OnDelete::SetNull => ForeignKeyAction::SetNull,
    }
}

fn column_def(field: &FieldMeta, dialect: &dyn Dialect) -> ColumnDef {
    let mut def = ColumnDef::new(Alias::new(&field.column));
    dialect.column_type(field.ty, &mut def);
    if field.nullable {
        def.null();
    } else {
        def.not_null();
    }
    if field.primary_key {
        def.primary_key();
        if field.is_auto() {
            def.auto_increment();
        }
    } else if field.unique && !dialect.names_unique_columns() {
        def.unique_key();
    }
    def
}

/// The SQL type `field`'s column is declared with on `backend` (what `CREATE TABLE`
/// writes after the column name, without nullability or key clauses).
///
/// ```
/// # use throughline_core::*;
/// let f = FieldMeta::new("name", FieldType::String { max_length: Some(50) });
/// assert_eq!(throughline_query::ddl::column_type(&f, Backend::Postgres).unwrap(), "varchar(50)");
/// ```
pub fn column_type(field: &FieldMeta, backend: Backend) -> Result<String> {
    let dialect = crate::dialect::of(backend)?;
    let mut plain = field.clone();
    // A one-letter name, so that what follows it is found whatever the backend's quotes
    // (MySQL's builder writes backticks).
    plain.column = "c".to_owned();
    plain.nullable = true;
    plain.primary_key = false;
    plain.unique = false;
    let mut def = column_def(&plain, dialect);
    let mut alter = Table::alter();
    alter.table(Alias::new("t")).add_column(&mut def);
    let sql = build_schema(SchemaTree::Alter(&alter), dialect);
    let rest = sql
        .split_once("ADD COLUMN ")
        .and_then(|(_, rest)| rest.get(4..))
        .ok_or_else(|| Error::invalid_query(&field.name, format!("no column type in `{sql}`")))?;
    Ok(rest
        .strip_suffix(" NULL")
        .unwrap_or(rest)
        .trim()
        .to_lowercase())
}

/// The statements that add `field` to `model`'s table (and its index): a foreign key is
/// declared inline (`REFERENCES`), which both backends accept in `ADD COLUMN`.
///
/// ```
/// # use throughline_core::*;
/// let m = ModelMeta::new("Tag", "tag", vec![]);
/// let mut f = FieldMeta::new("note", FieldType::String { max_length: None });
/// f.nullable = true;
/// let sql = throughline_query::ddl::add_column(&m, &f, &|_| None, None, Backend::Sqlite).unwrap();
/// assert_eq!(sql[0], r#"ALTER TABLE "tag" ADD COLUMN "note" text NULL"#);
/// ```
pub fn add_column(
    model: &ModelMeta,
    field: &FieldMeta,
    target_of: TargetOf<'_>,
    default: Option<&throughline_core::Value>,
    backend: Backend,
) -> Result<Vec<String>> {
    let dialect = crate::dialect::of(backend)?;
    let mut def = column_def(field, dialect);
    if let Some(value) = default {
        def.default(crate::render::to_sea(value));
    }
    if let Some(fk) = &field.foreign_key {
        let (table, pk) = target_of(fk).ok_or_else(|| {
            Error::invalid_query(
                &model.name,
                format!(
                    "foreign key `{}` refers to unknown model {}",
                    field.name, fk.to
                ),
            )
        })?;
        let action = match on_delete_action(fk.on_delete) {
            ForeignKeyAction::Cascade => "CASCADE",
            ForeignKeyAction::Restrict => "RESTRICT",
            ForeignKeyAction::SetNull => "SET NULL",
            _ => "NO ACTION",
        };
        def.extra(format!(
            "REFERENCES {} ({}) ON DELETE {action}",
            quote(&table),
            quote(&pk)
        ));
    }
    let mut alter = Table::alter();
    alter.table(Alias::new(&model.table)).add_column(&mut def);
    let mut out = vec![build_schema(SchemaTree::Alter(&alter), dialect)];
    if model.has_own_index(field) {
        out.push(create_own_index(model, field, backend));
    }
    Ok(out)
}

/// The statement that drops column `column` of `table`.
///
/// ```
/// let sql = throughline_query::ddl::drop_column("tag", "note", throughline_core::Backend::Postgres).unwrap();
/// assert_eq!(sql, r#"ALTER TABLE "tag" DROP COLUMN "note""#);
/// ```
pub fn drop_column(table: &str, column: &str, backend: Backend) -> Result<String> {
    let dialect = crate::dialect::of(backend)?;
    let mut alter = Table::alter();
    alter
        .table(Alias::new(table))
        .drop_column(Alias::new(column));
    Ok(build_schema(SchemaTree::Alter(&alter), dialect))
}

/// The statement that renames a table.
///
/// ```
/// let sql = throughline_query::ddl::rename_table("a", "b", throughline_core::Backend::Sqlite).unwrap();
/// assert_eq!(sql, r#"ALTER TABLE "a" RENAME TO "b""#);
/// ```
pub fn rename_table(from: &str, to: &str, backend: Backend) -> Result<String> {
    let dialect = crate::dialect::of(backend)?;
    let mut rename = Table::rename();
    rename.table(Alias::new(from), Alias::new(to));
    Ok(build_schema(SchemaTree::Rename(&rename), dialect))
}

/// The statement that creates an index (unique or not), as migrations do: plain
/// `CREATE INDEX`, so an index of that name already there is an error.
///
/// ```
/// let sql = throughline_query::ddl::create_index("t", "t_a_idx", &["a".into()], false, throughline_core::Backend::Sqlite);
/// assert_eq!(sql, r#"CREATE INDEX "t_a_idx" ON "t" ("a")"#);
/// ```
pub fn create_index(
    table: &str,
    name: &str,
    columns: &[String],
    unique: bool,
    _backend: Backend,
) -> String {
    index_sql(table, name, columns, unique, false)
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] "name" ON "table" ("a", ...)`, every name quoted.
fn index_sql(
    table: &str,
    name: &str,
    columns: &[String],
    unique: bool,
    if_not_exists: bool,
) -> String {
    let columns: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    format!(
        "CREATE {}INDEX {}{} ON {} ({})",
        if unique { "UNIQUE " } else { "" },
        if if_not_exists { "IF NOT EXISTS " } else { "" },
        quote(name),
        quote(table),
        columns.join(", ")
    )
}

/// The statement that creates `field`'s own index ([`ModelMeta::own_indexes`]), as
/// migrations do (plain `CREATE INDEX`).
///
/// ```
/// # use throughline_core::*;
/// let m = ModelMeta::new("Book", "book", vec![FieldMeta::new("author", FieldType::I64)]);
/// let sql = throughline_query::ddl::create_own_index(&m, &m.fields[0], Backend::Sqlite);
/// assert_eq!(sql, r#"CREATE INDEX "book_author_idx" ON "book" ("author")"#);
/// ```
pub fn create_own_index(model: &ModelMeta, field: &FieldMeta, backend: Backend) -> String {
    create_index(
        &model.table,
        &model.own_index_name(field),
        std::slice::from_ref(&field.column),
        false,
        backend,
    )
}

/// The statement that drops `field`'s own index if it exists (a database created before
/// the rule of [`ModelMeta::own_indexes`] may lack it, or have it under a former table
/// name).
///
/// ```
/// # use throughline_core::*;
/// let m = ModelMeta::new("Book", "book", vec![FieldMeta::new("author", FieldType::I64)]);
/// let sql = throughline_query::ddl::drop_own_index(&m, &m.fields[0], Backend::Postgres);
/// assert_eq!(sql, r#"DROP INDEX IF EXISTS "book_author_idx""#);
/// ```
pub fn drop_own_index(model: &ModelMeta, field: &FieldMeta, _backend: Backend) -> String {
    format!(
        "DROP INDEX IF EXISTS {}",
        quote(&model.own_index_name(field))
    )
}

/// The statement that drops an index.
///
/// ```
/// let sql = throughline_query::ddl::drop_index("t_a_idx", throughline_core::Backend::Postgres);
/// assert_eq!(sql, r#"DROP INDEX "t_a_idx""#);
/// ```
pub fn drop_index(name: &str, _backend: Backend) -> String {
    format!("DROP INDEX {}", quote(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use throughline_core::{FieldType, ForeignKeyMeta};

    const HOSTILE: &str = "x\" ON \"victim\" (\"name\"); DROP TABLE \"victim\"; --\\ é";

    fn hostile_model() -> ModelMeta {
        let mut id = FieldMeta::new("id", FieldType::AutoI64);
        id.primary_key = true;
        let mut parent = FieldMeta::new("parent", FieldType::I64);
        parent.column = format!("{HOSTILE}_id");
        parent.foreign_key = Some(ForeignKeyMeta {
            to: "Parent".into(),
            on_delete: OnDelete::Cascade,
            related_name: None,
            to_field: None,
        });
        let mut m = ModelMeta::new("M", HOSTILE, vec![id, parent]);
        m.unique_constraints = vec![throughline_core::UniqueConstraint {
            name: format!("{HOSTILE}_uniq"),
            fields: vec!["id".into(), "parent".into()],
        }];
        m
    }

    /// Every hostile name appears only quoted: removing the quoted forms leaves no quote.
    #[test]
    fn hostile_names_are_quoted_on_both_backends() {
        let m = hostile_model();
        let target = |_: &ForeignKeyMeta| Some((HOSTILE.to_owned(), "id".to_owned()));
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for if_not_exists in [false, true] {
                for sql in create_table_sql(&m, &target, None, backend, if_not_exists).unwrap() {
                    let mut rest = sql.clone();
                    for name in [
                        format!("{HOSTILE}_{HOSTILE}_id_fkey"),
                        format!("{HOSTILE}_{HOSTILE}_id_idx"),
                        format!("{HOSTILE}_uniq"),
                        format!("{HOSTILE}_id"),
                        HOSTILE.to_owned(),
                    ] {
                        rest = rest.replace(&quote(&name), "N");
                    }
                    assert!(!rest.contains("victim"), "{backend:?}: {sql}\n{rest}");
                }
            }
            let sql = create_index(HOSTILE, HOSTILE, &[HOSTILE.into()], true, backend);
            assert_eq!(
                sql.replace(&quote(HOSTILE), "N"),
                "CREATE UNIQUE INDEX N ON N (N)"
            );
            assert_eq!(
                drop_index(HOSTILE, backend).replace(&quote(HOSTILE), "N"),
                "DROP INDEX N"
            );
        }
    }
}
