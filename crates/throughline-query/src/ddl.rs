//! Owns the DDL of a model for `create_tables` (migrations come later and will reuse it):
//! `CREATE TABLE` with column types per backend, the primary key, foreign keys with their
//! on-delete action, named unique constraints, and indexes.

use crate::render::build_schema;
use sea_query::{Alias, ColumnDef, ForeignKey, ForeignKeyAction, Index, Table};
use throughline_core::{
    Backend, Error, FieldMeta, FieldType, ModelMeta, OnDelete, Registry, Result,
};

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
    let target_of = |name: &str| {
        registry
            .get(name)
            .map(|m| (m.table.clone(), m.pk().column.clone()))
    };
    create_table_with(model, &target_of, backend)
}

/// The table and key column of a model, by name (how DDL finds a foreign key's target).
pub type TargetOf<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

/// [`create_table`] with foreign-key targets found by `target_of` (the migration state's
/// models rather than a registry's).
pub fn create_table_with(
    model: &ModelMeta,
    target_of: TargetOf<'_>,
    backend: Backend,
) -> Result<Vec<String>> {
    let mut table = Table::create();
    table.table(Alias::new(&model.table)).if_not_exists();
    for field in &model.fields {
        table.col(column_def(field, backend));
        if let Some(fk) = &field.foreign_key {
            let (target_table, target_pk) = target_of(&fk.to).ok_or_else(|| {
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
                    .name(format!("{}_{}_fkey", model.table, field.column))
                    .from(Alias::new(&model.table), Alias::new(&field.column))
                    .to(Alias::new(&target_table), Alias::new(&target_pk))
                    .on_delete(on_delete_action(fk.on_delete)),
            );
        }
    }
    for constraint in &model.unique_constraints {
        let mut index = Index::create();
        index.name(&constraint.name).unique();
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
    let mut out = vec![build_schema(&table, backend)];
    for field in model.own_indexes() {
        out.push(create_own_index(model, field, backend));
    }
    for index in &model.indexes {
        let mut columns = Vec::new();
        for name in &index.fields {
            let field = model.field(name).ok_or_else(|| {
                Error::invalid_query(&model.name, format!("index names unknown field `{name}`"))
            })?;
            columns.push(field.column.clone());
        }
        out.push(create_index(
            &model.table,
            &index.name,
            &columns,
            false,
            backend,
        ));
    }
    Ok(out)
}

/// The statement that drops `model`'s table if it exists.
///
/// ```
/// # use throughline_core::*;
/// # let m = ModelMeta::new("Tag", "tag", vec![]);
/// assert_eq!(throughline_query::drop_table(&m, Backend::Postgres), r#"DROP TABLE IF EXISTS "tag" CASCADE"#);
/// ```
pub fn drop_table(model: &ModelMeta, backend: Backend) -> String {
    let mut drop = Table::drop();
    drop.table(Alias::new(&model.table)).if_exists();
    if backend == Backend::Postgres {
        drop.cascade();
    }
    build_schema(&drop, backend)
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

fn column_def(field: &FieldMeta, backend: Backend) -> ColumnDef {
    let mut def = ColumnDef::new(Alias::new(&field.column));
    match (field.ty, backend) {
        (FieldType::AutoI64, Backend::Sqlite) => {
            def.integer();
        }
        (FieldType::AutoI64, Backend::Postgres) => {
            def.big_integer();
        }
        (FieldType::I16, _) => {
            def.small_integer();
        }
        (FieldType::I32, _) => {
            def.integer();
        }
        (FieldType::I64, _) => {
            def.big_integer();
        }
        (FieldType::F64, _) => {
            def.double();
        }
        (FieldType::Bool, _) => {
            def.boolean();
        }
        (
            FieldType::String {
                max_length: Some(n),
            },
            _,
        ) => {
            def.string_len(n);
        }
        (FieldType::String { max_length: None }, _) => {
            def.text();
        }
        (FieldType::Date, _) => {
            def.date();
        }
        (FieldType::DateTime, Backend::Sqlite) => {
            def.custom(Alias::new("datetime"));
        }
        (FieldType::DateTime, Backend::Postgres) => {
            def.timestamp_with_time_zone();
        }
        (FieldType::Json, Backend::Sqlite) => {
            def.text();
        }
        (FieldType::Json, Backend::Postgres) => {
            def.json_binary();
        }
        (FieldType::Uuid, Backend::Sqlite) => {
            def.char_len(32);
        }
        (FieldType::Uuid, Backend::Postgres) => {
            def.uuid();
        }
        (FieldType::Bytes, _) => {
            def.binary();
        }
    }
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
    } else if field.unique {
        def.unique_key();
    }
    def
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
    let mut def = column_def(field, backend);
    if let Some(value) = default {
        def.default(crate::render::to_sea(value));
    }
    if let Some(fk) = &field.foreign_key {
        let (table, pk) = target_of(&fk.to).ok_or_else(|| {
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
            "REFERENCES \"{table}\" (\"{pk}\") ON DELETE {action}"
        ));
    }
    let mut alter = Table::alter();
    alter.table(Alias::new(&model.table)).add_column(&mut def);
    let mut out = vec![build_schema(&alter, backend)];
    if model.has_own_index(field) {
        out.push(create_own_index(model, field, backend));
    }
    Ok(out)
}

/// The statement that drops column `column` of `table`.
///
/// ```
/// let sql = throughline_query::ddl::drop_column("tag", "note", throughline_core::Backend::Postgres);
/// assert_eq!(sql, r#"ALTER TABLE "tag" DROP COLUMN "note""#);
/// ```
pub fn drop_column(table: &str, column: &str, backend: Backend) -> String {
    let mut alter = Table::alter();
    alter
        .table(Alias::new(table))
        .drop_column(Alias::new(column));
    build_schema(&alter, backend)
}

/// The statement that renames a table.
///
/// ```
/// let sql = throughline_query::ddl::rename_table("a", "b", throughline_core::Backend::Sqlite);
/// assert_eq!(sql, r#"ALTER TABLE "a" RENAME TO "b""#);
/// ```
pub fn rename_table(from: &str, to: &str, backend: Backend) -> String {
    let mut rename = Table::rename();
    rename.table(Alias::new(from), Alias::new(to));
    build_schema(&rename, backend)
}

/// The statement that creates an index (unique or not) if it does not exist.
///
/// ```
/// let sql = throughline_query::ddl::create_index("t", "t_a_idx", &["a".into()], false, throughline_core::Backend::Sqlite);
/// assert_eq!(sql, r#"CREATE INDEX IF NOT EXISTS "t_a_idx" ON "t" ("a")"#);
/// ```
pub fn create_index(
    table: &str,
    name: &str,
    columns: &[String],
    unique: bool,
    backend: Backend,
) -> String {
    let mut index = Index::create();
    index.if_not_exists().name(name).table(Alias::new(table));
    if unique {
        index.unique();
    }
    for column in columns {
        index.col(Alias::new(column));
    }
    build_schema(&index, backend)
}

/// The statement that creates `field`'s own index ([`ModelMeta::own_indexes`]).
///
/// ```
/// # use throughline_core::*;
/// let m = ModelMeta::new("Book", "book", vec![FieldMeta::new("author", FieldType::I64)]);
/// let sql = throughline_query::ddl::create_own_index(&m, &m.fields[0], Backend::Sqlite);
/// assert_eq!(sql, r#"CREATE INDEX IF NOT EXISTS "book_author_idx" ON "book" ("author")"#);
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
pub fn drop_own_index(model: &ModelMeta, field: &FieldMeta, backend: Backend) -> String {
    let mut drop = Index::drop();
    drop.name(model.own_index_name(field)).if_exists();
    build_schema(&drop, backend)
}

/// The statement that drops an index.
///
/// ```
/// let sql = throughline_query::ddl::drop_index("t_a_idx", throughline_core::Backend::Postgres);
/// assert_eq!(sql, r#"DROP INDEX "t_a_idx""#);
/// ```
pub fn drop_index(name: &str, backend: Backend) -> String {
    let mut drop = Index::drop();
    drop.name(name);
    build_schema(&drop, backend)
}
