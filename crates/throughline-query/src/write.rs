//! Owns the write statements: [`InsertQuery`] (multi-row, with conflict handling and
//! `RETURNING`), [`UpdateQuery`] and [`DeleteQuery`] (filtered like a select; a filter that
//! crosses a relation becomes `WHERE pk IN (SELECT ...)`, since neither backend joins in
//! UPDATE/DELETE the same way).

use crate::dialect::{Dialect, Tree};
use crate::expression::Expression;
use crate::render::{Statement, build, to_sea};
use crate::select::{FilterGroup, JoinPlanner, Projection, SelectQuery, group_scopes};
use crate::shape_cache;
use sea_query::{Alias, Expr, ExprTrait, Query};
use std::borrow::Cow;
use throughline_core::{Backend, Error, FieldType, ModelMeta, Result, Value};

/// A field's name in a statement: borrowed from a model's `'static` metadata (no allocation
/// per statement, the usual case) or owned.
///
/// ```
/// let name: throughline_query::FieldName = "email".into();
/// assert_eq!(name, "email");
/// ```
pub type FieldName = Cow<'static, str>;

/// What an insert does when a row conflicts with a unique constraint.
///
/// ```
/// use throughline_query::Conflict;
/// assert_eq!(Conflict::default(), Conflict::Error);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// Fail with an integrity error (the default).
    #[default]
    Error,
    /// Skip the conflicting rows (`ON CONFLICT DO NOTHING`).
    Ignore,
    /// Update the listed fields of the existing row from the new one
    /// (`ON CONFLICT (target) DO UPDATE SET field = excluded.field`).
    Update {
        /// The fields of the unique constraint that conflicts.
        target: Vec<FieldName>,
        /// The fields to overwrite.
        fields: Vec<FieldName>,
    },
}

/// A multi-row insert.
///
/// ```
/// # use throughline_core::*;
/// # use throughline_query::*;
/// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
/// # let m: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag",
/// #     vec![id, FieldMeta::new("name", FieldType::String { max_length: None })])));
/// let q = InsertQuery { model: m, fields: vec!["name".into()], rows: vec![vec!["a".into()], vec!["b".into()]],
///     conflict: Conflict::Ignore, returning: vec!["id".into()] };
/// let s = q.render(Backend::Sqlite).unwrap();
/// assert_eq!(&*s.sql, r#"INSERT INTO "tag" ("name") VALUES (?), (?) ON CONFLICT  DO NOTHING RETURNING "id""#);
/// ```
#[derive(Debug, Clone)]
pub struct InsertQuery {
    /// The model inserted into.
    pub model: &'static ModelMeta,
    /// The fields given, in the order of each row's values.
    pub fields: Vec<FieldName>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
    /// Conflict handling.
    pub conflict: Conflict,
    /// Fields returned for each inserted row.
    pub returning: Vec<FieldName>,
}

impl InsertQuery {
    /// Renders the insert for `backend`. A one-row insert reuses the text rendered for an
    /// earlier one of the same shape (model, fields, conflict handling, returned fields,
    /// value kinds), with its own values as parameters.
    pub fn render(&self, backend: Backend) -> Result<Statement> {
        self.clone().into_statement(backend)
    }

    /// [`render`](Self::render), moving the values into the statement's parameters instead
    /// of copying them.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::*;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let m: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag",
    /// #     vec![id, FieldMeta::new("name", FieldType::String { max_length: None })])));
    /// let q = InsertQuery { model: m, fields: vec!["name".into()], rows: vec![vec!["a".into()]],
    ///     conflict: Conflict::Error, returning: vec![] };
    /// let s = q.into_statement(Backend::Postgres).unwrap();
    /// assert_eq!(&*s.sql, r#"INSERT INTO "tag" ("name") VALUES ($1)"#);
    /// assert_eq!(s.params, vec![Value::from("a")]);
    /// ```
    pub fn into_statement(self, backend: Backend) -> Result<Statement> {
        let dialect = crate::dialect::of(backend)?;
        let Some(shape) = self.shape(dialect) else {
            return self.render_tree(dialect);
        };
        if let Some(sql) = shape_cache::get(&shape) {
            // A shape has exactly one row: its values are the parameters, in order.
            let params = self.rows.into_iter().next().unwrap_or_default();
            return Ok(Statement { sql, params });
        }
        let stmt = self.render_tree(dialect)?;
        if stmt.params.iter().eq(self.rows.iter().flatten()) {
            shape_cache::put(shape, &stmt.sql);
        }
        Ok(stmt)
    }

    /// What decides a one-row insert's text: backend, model, fields, conflict handling,
    /// returned fields and the kind of each value; `None` for other inserts. The model is
    /// identified by the address of its `'static` metadata and fields by name (a shape is
    /// only cached after rendering it succeeded, which checked the names; names are
    /// length-prefixed, so a key names exactly the fields that rendering checked), so no
    /// field is looked up.
    fn shape(&self, dialect: &dyn Dialect) -> Option<Vec<u8>> {
        let [row] = self.rows.as_slice() else {
            return None;
        };
        let mut key = Vec::with_capacity(128);
        // Each list and each name prefixed with its length: no name can read as two.
        let names = |key: &mut Vec<u8>, names: &[FieldName]| {
            key.extend_from_slice(&names.len().to_le_bytes());
            for name in names {
                key.extend_from_slice(&name.len().to_le_bytes());
                key.extend_from_slice(name.as_bytes());
            }
        };
        key.push(dialect.shape_tag());
        let address = std::ptr::from_ref(self.model) as usize;
        key.extend_from_slice(&address.to_le_bytes());
        names(&mut key, &self.fields);
        match &self.conflict {
            Conflict::Error => key.push(b'E'),
            Conflict::Ignore => key.push(b'I'),
            Conflict::Update { target, fields } => {
                key.push(b'U');
                names(&mut key, target);
                names(&mut key, fields);
            }
        }
        names(&mut key, &self.returning);
        for value in row {
            key.extend_from_slice(value.kind_name().as_bytes());
            key.push(b',');
        }
        Some(key)
    }

    /// Renders the insert through sea-query.
    fn render_tree(&self, dialect: &dyn Dialect) -> Result<Statement> {
        let backend = dialect.backend();
        let caps = dialect.capabilities();
        let model = self.model;
        let column = |name: &FieldName| -> Result<Alias> {
            model
                .field(name)
                .map(|f| Alias::new(&f.column))
                .ok_or_else(|| Error::invalid_query(&model.name, format!("no field `{name}`")))
        };
        let mut insert = Query::insert();
        insert.into_table(Alias::new(&model.table));
        let columns = self.fields.iter().map(column).collect::<Result<Vec<_>>>()?;
        if columns.is_empty() {
            if self.rows.len() > 1 {
                return Err(Error::invalid_query(
                    &model.name,
                    "a multi-row insert needs at least one column",
                ));
            }
            insert.or_default_values();
        } else {
            insert.columns(columns);
            for row in &self.rows {
                if row.len() != self.fields.len() {
                    return Err(Error::invalid_query(
                        &model.name,
                        format!(
                            "row has {} values for {} fields",
                            row.len(),
                            self.fields.len()
                        ),
                    ));
                }
                insert
                    .values(row.iter().map(|v| Expr::val(to_sea(v))))
                    .map_err(|e| Error::invalid_query(&model.name, e.to_string()))?;
            }
        }
        match &self.conflict {
            Conflict::Error => {}
            Conflict::Ignore => {
                backend.require(
                    caps.on_conflict_do_nothing,
                    "INSERT ... ON CONFLICT DO NOTHING",
                )?;
                dialect.on_conflict(&mut insert, Vec::new(), Vec::new());
            }
            Conflict::Update { target, fields } => {
                backend.require(
                    caps.on_conflict_do_update,
                    "INSERT ... ON CONFLICT DO UPDATE",
                )?;
                let target = target.iter().map(column).collect::<Result<Vec<_>>>()?;
                let fields = fields.iter().map(column).collect::<Result<Vec<_>>>()?;
                dialect.on_conflict(&mut insert, target, fields);
            }
        }
        if !self.returning.is_empty() {
            backend.require(caps.insert_returning, "INSERT ... RETURNING")?;
            let returning = self
                .returning
                .iter()
                .map(column)
                .collect::<Result<Vec<_>>>()?;
            insert.returning(Query::returning().columns(returning));
            if !dialect.builder_renders_returning() {
                let names: Vec<&str> = self
                    .returning
                    .iter()
                    .filter_map(|name| model.field(name).map(|f| f.column.as_str()))
                    .collect();
                let mut stmt = build(Tree::Insert(&insert), dialect);
                stmt.sql = format!("{}{}", stmt.sql, returning_clause(&names)).into();
                return Ok(stmt);
            }
        }
        Ok(build(Tree::Insert(&insert), dialect))
    }
}

/// ` RETURNING "a", "b"`, for a dialect whose builder drops the clause (identifiers in
/// ANSI quotes, which such a backend's connections accept).
fn returning_clause(columns: &[&str]) -> String {
    let names: Vec<String> = columns
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    format!(" RETURNING {}", names.join(", "))
}

/// A filtered `UPDATE`.
#[derive(Debug, Clone)]
pub struct UpdateQuery {
    /// The model updated.
    pub model: &'static ModelMeta,
    /// `field = value` assignments.
    pub set: Vec<(String, Value)>,
    /// `field = expression` assignments, computed from the row's own fields (Django's
    /// `update(price=F("price") * 1.1)`).
    pub computed: Vec<(String, Expression)>,
    /// The `filter`/`exclude` calls selecting the rows.
    pub groups: Vec<FilterGroup>,
}

impl UpdateQuery {
    /// Renders the update for `backend`.
    pub fn render(&self, backend: Backend) -> Result<Statement> {
        let dialect = crate::dialect::of(backend)?;
        let model = self.model;
        let mut update = Query::update();
        update.table(Alias::new(&model.table));
        for (name, value) in &self.set {
            let field = model
                .field(name)
                .ok_or_else(|| Error::invalid_query(&model.name, format!("no field `{name}`")))?;
            update.value(Alias::new(&field.column), Expr::val(to_sea(value)));
        }
        for (name, expression) in &self.computed {
            let field = model
                .field(name)
                .ok_or_else(|| Error::invalid_query(&model.name, format!("no field `{name}`")))?;
            if expression.has_hops() || expression.has_aggregate() {
                return Err(Error::invalid_query(
                    &model.name,
                    format!(
                        "the value assigned to `{name}` reads fields of the row itself only: not across a relation, not an aggregate"
                    ),
                ));
            }
            // SQLite computes in floating point: a computed decimal is exact only within a
            // float's 15 significant digits.
            if let FieldType::Decimal { max_digits, .. } = field.ty
                && max_digits > 15
                && backend == Backend::Sqlite
            {
                return Err(Error::invalid_query(
                    &model.name,
                    format!(
                        "a computed value for `{name}` ({max_digits} digits): SQLite computes in floating point, exact to 15 digits only; assign values instead"
                    ),
                ));
            }
            let mut planner = JoinPlanner::new(dialect, model, &model.table, "t");
            let value = planner.expression(expression, 0)?;
            update.value(
                Alias::new(&field.column),
                dialect.stored_value(field.ty, value),
            );
        }
        if let Some(expr) = where_expr(model, &self.groups, dialect)? {
            update.and_where(expr);
        }
        let mut stmt = build(Tree::Update(&update), dialect);
        stmt.sql = dialect.change_statement(stmt.sql.to_string()).into();
        Ok(stmt)
    }
}

/// A filtered `DELETE`, optionally returning columns of the deleted rows.
#[derive(Debug, Clone)]
pub struct DeleteQuery {
    /// The model deleted from.
    pub model: &'static ModelMeta,
    /// The `filter`/`exclude` calls selecting the rows.
    pub groups: Vec<FilterGroup>,
    /// Fields returned for each deleted row.
    pub returning: Vec<String>,
}

impl DeleteQuery {
    /// Renders the delete for `backend`.
    pub fn render(&self, backend: Backend) -> Result<Statement> {
        let dialect = crate::dialect::of(backend)?;
        let model = self.model;
        let mut delete = Query::delete();
        delete.from_table(Alias::new(&model.table));
        if let Some(expr) = where_expr(model, &self.groups, dialect)? {
            delete.and_where(expr);
        }
        if !self.returning.is_empty() {
            backend.require(
                dialect.capabilities().delete_returning,
                "DELETE ... RETURNING",
            )?;
            let mut columns = Vec::new();
            for name in &self.returning {
                let field = model.field(name).ok_or_else(|| {
                    Error::invalid_query(&model.name, format!("no field `{name}`"))
                })?;
                columns.push(Alias::new(&field.column));
            }
            delete.returning(Query::returning().columns(columns));
            if !dialect.builder_renders_returning() {
                let names: Vec<&str> = self
                    .returning
                    .iter()
                    .filter_map(|name| model.field(name).map(|f| f.column.as_str()))
                    .collect();
                let mut stmt = build(Tree::Delete(&delete), dialect);
                let sql = format!("{}{}", stmt.sql, returning_clause(&names));
                stmt.sql = dialect.change_statement(sql).into();
                return Ok(stmt);
            }
        }
        let mut stmt = build(Tree::Delete(&delete), dialect);
        stmt.sql = dialect.change_statement(stmt.sql.to_string()).into();
        Ok(stmt)
    }
}

/// The WHERE of an update or delete: the conditions on the bare table when they need no
/// join, otherwise `pk IN (SELECT pk FROM table ... joins ... WHERE ...)`.
fn where_expr(
    model: &'static ModelMeta,
    groups: &[FilterGroup],
    dialect: &'static dyn Dialect,
) -> Result<Option<Expr>> {
    if groups.iter().any(|g| g.filter.has_aggregate()) {
        // Conditions on aggregates select the keys of the groups they keep.
        let mut keys = SelectQuery::new(model);
        keys.groups = groups.to_vec();
        keys.projection = Projection::Keys;
        let pk = &model.pk().column;
        return Ok(Some(
            Expr::col((Alias::new(&model.table), Alias::new(pk)))
                .in_subquery(keys.to_sea(dialect)?),
        ));
    }
    let scopes = group_scopes(groups);
    let mut planner = JoinPlanner::new(dialect, model, &model.table, "t");
    let Some(condition) = combine(&mut planner, groups, &scopes)? else {
        return Ok(None);
    };
    if !planner.has_joins() {
        return Ok(Some(condition));
    }
    // The same conditions, rendered again against an aliased copy of the table.
    let alias = "u0";
    let mut sub_planner = JoinPlanner::new(dialect, model, alias, "u");
    let sub_condition = combine(&mut sub_planner, groups, &scopes)?;
    let pk = &model.pk().column;
    let mut select = Query::select();
    select
        .column((Alias::new(alias), Alias::new(pk)))
        .from_as(Alias::new(&model.table), Alias::new(alias));
    sub_planner.apply_joins(&mut select);
    if let Some(expr) = sub_condition {
        select.and_where(expr);
    }
    Ok(Some(
        Expr::col((Alias::new(&model.table), Alias::new(pk))).in_subquery(select),
    ))
}

/// The `filter`/`exclude` calls ANDed together, rendered with `planner`.
fn combine(
    planner: &mut JoinPlanner,
    groups: &[FilterGroup],
    scopes: &[usize],
) -> Result<Option<Expr>> {
    let mut combined: Option<Expr> = None;
    for (group, scope) in groups.iter().zip(scopes) {
        let expr = planner.filter_expr(&group.filter, *scope, group.exclude)?;
        let expr = if group.exclude { expr.not() } else { expr };
        combined = Some(match combined {
            Some(acc) => acc.and(expr),
            None => expr,
        });
    }
    Ok(combined)
}

/// An insert of one row per element of a key list, all other columns constant:
/// `INSERT INTO t (...) SELECT $1, v, $3 FROM unnest($2::bigint[]) AS u(v)` on PostgreSQL,
/// `... SELECT ?, value, ? FROM rarray(?) WHERE true ...` on SQLite. The SQL text and the
/// number of parameters do not depend on the number of rows (SPEC §8.2). Written by hand:
/// sea-query renders neither `unnest(...) AS u(v)` nor the `WHERE true` SQLite's parser
/// needs before `ON CONFLICT` in an `INSERT ... SELECT`.
///
/// ```
/// # use throughline_core::*;
/// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
/// # let m: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("E", "e", vec![id,
/// #     FieldMeta::new("s", FieldType::I64), FieldMeta::new("t", FieldType::I64), FieldMeta::new("g", FieldType::String { max_length: None })])));
/// let q = throughline_query::write::ArrayInsert {
///     model: m, varying: "t".into(), keys: vec![1i64.into(), 2i64.into()],
///     constants: vec![("s".into(), 7i64.into()), ("g".into(), "A".into())],
///     conflict: Some(vec!["s".into(), "t".into()]), returning: vec!["s".into(), "t".into()],
/// };
/// assert_eq!(&*q.render(Backend::Postgres).unwrap().sql,
///     r#"INSERT INTO "e" ("s", "t", "g") SELECT $1::bigint, u.v, $2::text FROM unnest($3::bigint[]) AS u(v) ON CONFLICT ("s", "t") DO NOTHING RETURNING "s", "t""#);
/// ```
#[derive(Debug, Clone)]
pub struct ArrayInsert {
    /// The model inserted into.
    pub model: &'static ModelMeta,
    /// The field taking each key of `keys`.
    pub varying: FieldName,
    /// One row per key.
    pub keys: Vec<Value>,
    /// The other fields, with the value every row gets.
    pub constants: Vec<(FieldName, Value)>,
    /// `ON CONFLICT (fields) DO NOTHING`, when given.
    pub conflict: Option<Vec<FieldName>>,
    /// Fields returned for each inserted row.
    pub returning: Vec<FieldName>,
}

impl ArrayInsert {
    /// Renders the insert for `backend`.
    pub fn render(&self, backend: Backend) -> Result<Statement> {
        self.clone().into_statement(backend)
    }

    /// [`render`](Self::render), moving the keys into the statement's array parameter
    /// instead of copying them.
    pub fn into_statement(self, backend: Backend) -> Result<Statement> {
        let dialect = crate::dialect::of(backend)?;
        let model = self.model;
        let field = |name: &str| {
            model
                .field(name)
                .ok_or_else(|| Error::invalid_query(&model.name, format!("no field `{name}`")))
        };
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let varying = field(&self.varying)?;
        // The element's expression is known once the array's parameter number is.
        let element = dialect
            .array_rows(1, varying.ty)
            .ok_or_else(|| Error::NotSupported {
                backend: backend.name().to_owned(),
                feature: "array parameters (INSERT ... SELECT FROM an array)".to_owned(),
            })?
            .element;
        let mut columns = Vec::new();
        let mut selects = Vec::new();
        let mut params = Vec::new();
        for f in &model.fields {
            let given = self.constants.iter().find(|(n, _)| *n == f.name);
            if f.name == self.varying {
                columns.push(quote(&f.column));
                selects.push(element.clone());
            } else if let Some((_, value)) = given {
                columns.push(quote(&f.column));
                params.push(value.clone());
                selects.push(dialect.param(params.len(), f.ty));
            }
        }
        params.push(Value::List(self.keys));
        let source = dialect
            .array_rows(params.len(), varying.ty)
            .map(|rows| rows.source)
            .unwrap_or_default();
        let mut sql = format!(
            "INSERT INTO {} ({}) SELECT {} FROM {source}",
            quote(&model.table),
            columns.join(", "),
            selects.join(", ")
        );
        if let Some(target) = &self.conflict {
            let target = target
                .iter()
                .map(|n| field(n).map(|f| quote(&f.column)))
                .collect::<Result<Vec<_>>>()?;
            sql.push_str(&dialect.skip_conflicts_sql(&target));
        }
        if !self.returning.is_empty() {
            let returning = self
                .returning
                .iter()
                .map(|n| field(n).map(|f| quote(&f.column)))
                .collect::<Result<Vec<_>>>()?;
            sql.push_str(&format!(" RETURNING {}", returning.join(", ")));
        }
        Ok(Statement::new(sql, params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use throughline_core::{FieldMeta, FieldType};

    /// A model whose `name` field is stored in column `name_column`, leaked as a derived
    /// model's metadata is `'static`.
    fn tag_stored_in(name_column: &str) -> &'static ModelMeta {
        let mut id = FieldMeta::new("id", FieldType::AutoI64);
        id.primary_key = true;
        let mut name = FieldMeta::new("name", FieldType::String { max_length: None });
        name.column = name_column.into();
        let rank = FieldMeta::new("rank", FieldType::I64);
        Box::leak(Box::new(ModelMeta::new(
            "CachedTag",
            "cached_tag",
            vec![id, name, rank],
        )))
    }

    /// One model for every query of these tests, as a derived model has.
    fn tag() -> &'static ModelMeta {
        static TAG: std::sync::OnceLock<&'static ModelMeta> = std::sync::OnceLock::new();
        TAG.get_or_init(|| tag_stored_in("label"))
    }

    fn one_row(values: Vec<Value>, conflict: Conflict) -> InsertQuery {
        InsertQuery {
            model: tag(),
            fields: vec!["name".into(), "rank".into()],
            rows: vec![values],
            conflict,
            returning: vec!["id".into()],
        }
    }

    /// The first one-row insert of a shape is kept; two models on one table whose fields
    /// are stored in other columns do not share a text.
    #[test]
    fn shapes_are_kept_per_model() {
        let first = one_row(vec!["a".into(), 1i64.into()], Conflict::Ignore);
        let shape = first.shape(&crate::dialect::Postgres).unwrap();
        first.render(Backend::Postgres).unwrap();
        assert!(shape_cache::get(&shape).is_some_and(|sql| sql.contains(r#""label""#)));
        let other = InsertQuery {
            model: tag_stored_in("title"),
            ..one_row(vec!["b".into(), 2i64.into()], Conflict::Ignore)
        };
        let sql = other.into_statement(Backend::Postgres).unwrap().sql;
        assert!(
            sql.contains(r#""title""#) && !sql.contains("label"),
            "{sql}"
        );
    }

    /// A cached text is the text sea-query writes, and the parameters are each call's own.
    #[test]
    fn one_row_inserts_of_a_shape_share_their_text() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let first = one_row(vec!["a".into(), 1i64.into()], Conflict::Error);
            let second = one_row(vec!["b".into(), 2i64.into()], Conflict::Error);
            let rendered = first.render(backend).unwrap();
            let cached = second.render(backend).unwrap();
            assert_eq!(
                cached,
                second
                    .render_tree(crate::dialect::of(backend).unwrap())
                    .unwrap()
            );
            assert_eq!(rendered.sql, cached.sql);
            assert_eq!(cached.params, vec![Value::from("b"), Value::I64(2)]);
            // Another conflict handling, value kind or backend is another text.
            let ignore = one_row(vec!["c".into(), 3i64.into()], Conflict::Ignore);
            assert_eq!(
                ignore.render(backend).unwrap(),
                ignore
                    .render_tree(crate::dialect::of(backend).unwrap())
                    .unwrap()
            );
            assert_ne!(ignore.render(backend).unwrap().sql, cached.sql);
            let null = one_row(vec!["d".into(), Value::Null], Conflict::Error);
            assert_eq!(
                null.render(backend).unwrap(),
                null.render_tree(crate::dialect::of(backend).unwrap())
                    .unwrap()
            );
        }
        let sqlite = one_row(vec!["a".into(), 1i64.into()], Conflict::Error);
        assert_ne!(
            sqlite.render(Backend::Sqlite).unwrap().sql,
            sqlite.render(Backend::Postgres).unwrap().sql
        );
    }

    /// A cached shape is not reused for fields whose names, run together, spell the
    /// cached ones.
    #[test]
    fn names_cannot_alias_a_cached_shape() {
        let cached = one_row(vec!["a".into(), 1i64.into()], Conflict::Error);
        cached.render(Backend::Sqlite).unwrap();
        let mut joined = one_row(vec!["a".into(), 1i64.into()], Conflict::Error);
        joined.fields = vec!["name\u{1f}rank".into()];
        assert_ne!(
            joined.shape(&crate::dialect::Sqlite),
            cached.shape(&crate::dialect::Sqlite)
        );
        assert!(joined.render(Backend::Sqlite).is_err());
    }

    /// An unknown field is still reported, cached shape or not.
    #[test]
    fn an_unknown_field_is_an_error() {
        let mut query = one_row(vec!["a".into(), 1i64.into()], Conflict::Error);
        query.fields[1] = "missing".into();
        let error = query.render(Backend::Sqlite).unwrap_err();
        assert!(error.to_string().contains("missing"), "{error}");
    }
}
