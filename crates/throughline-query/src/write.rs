//! Owns the write statements: [`InsertQuery`] (multi-row, with conflict handling and
//! `RETURNING`), [`UpdateQuery`] and [`DeleteQuery`] (filtered like a select; a filter that
//! crosses a relation becomes `WHERE pk IN (SELECT ...)`, since neither backend joins in
//! UPDATE/DELETE the same way).

use crate::render::{Statement, build, to_sea};
use crate::select::{FilterGroup, JoinPlanner, group_scopes};
use sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use throughline_core::{Backend, Error, ModelMeta, Result, Value};

/// What an insert does when a row conflicts with a unique constraint.
///
/// ```
/// use throughline_query::Conflict;
/// assert_eq!(Conflict::default(), Conflict::Error);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
        target: Vec<String>,
        /// The fields to overwrite.
        fields: Vec<String>,
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
/// assert_eq!(s.sql, r#"INSERT INTO "tag" ("name") VALUES (?), (?) ON CONFLICT  DO NOTHING RETURNING "id""#);
/// ```
#[derive(Debug, Clone)]
pub struct InsertQuery {
    /// The model inserted into.
    pub model: &'static ModelMeta,
    /// The fields given, in the order of each row's values.
    pub fields: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
    /// Conflict handling.
    pub conflict: Conflict,
    /// Fields returned for each inserted row.
    pub returning: Vec<String>,
}

impl InsertQuery {
    /// Renders the insert for `backend`.
    pub fn render(&self, backend: Backend) -> Result<Statement> {
        let caps = backend.capabilities();
        let model = self.model;
        let column = |name: &String| -> Result<Alias> {
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
                insert.on_conflict(OnConflict::new().do_nothing().to_owned());
            }
            Conflict::Update { target, fields } => {
                backend.require(
                    caps.on_conflict_do_update,
                    "INSERT ... ON CONFLICT DO UPDATE",
                )?;
                let target = target.iter().map(column).collect::<Result<Vec<_>>>()?;
                let fields = fields.iter().map(column).collect::<Result<Vec<_>>>()?;
                let mut on_conflict = OnConflict::columns(target);
                if fields.is_empty() {
                    on_conflict.do_nothing();
                } else {
                    on_conflict.update_columns(fields);
                }
                insert.on_conflict(on_conflict);
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
        }
        Ok(build(&insert, backend))
    }
}

/// A filtered `UPDATE`.
#[derive(Debug, Clone)]
pub struct UpdateQuery {
    /// The model updated.
    pub model: &'static ModelMeta,
    /// `field = value` assignments.
    pub set: Vec<(String, Value)>,
    /// The `filter`/`exclude` calls selecting the rows.
    pub groups: Vec<FilterGroup>,
}

impl UpdateQuery {
    /// Renders the update for `backend`.
    pub fn render(&self, backend: Backend) -> Result<Statement> {
        let model = self.model;
        let mut update = Query::update();
        update.table(Alias::new(&model.table));
        for (name, value) in &self.set {
            let field = model
                .field(name)
                .ok_or_else(|| Error::invalid_query(&model.name, format!("no field `{name}`")))?;
            update.value(Alias::new(&field.column), Expr::val(to_sea(value)));
        }
        if let Some(expr) = where_expr(model, &self.groups, backend)? {
            update.and_where(expr);
        }
        Ok(build(&update, backend))
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
        let model = self.model;
        let mut delete = Query::delete();
        delete.from_table(Alias::new(&model.table));
        if let Some(expr) = where_expr(model, &self.groups, backend)? {
            delete.and_where(expr);
        }
        if !self.returning.is_empty() {
            backend.require(
                backend.capabilities().delete_returning,
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
        }
        Ok(build(&delete, backend))
    }
}

/// The WHERE of an update or delete: the conditions on the bare table when they need no
/// join, otherwise `pk IN (SELECT pk FROM table ... joins ... WHERE ...)`.
fn where_expr(
    model: &'static ModelMeta,
    groups: &[FilterGroup],
    backend: Backend,
) -> Result<Option<Expr>> {
    if groups.is_empty() {
        return Ok(None);
    }
    let mut planner = JoinPlanner::new(backend, model, &model.table, "t");
    let mut combined: Option<Expr> = None;
    let scopes = group_scopes(groups);
    for (group, scope) in groups.iter().zip(&scopes) {
        let expr = planner.filter_expr(&group.filter, *scope, group.exclude)?;
        let expr = if group.exclude { expr.not() } else { expr };
        combined = Some(match combined {
            Some(acc) => acc.and(expr),
            None => expr,
        });
    }
    let Some(condition) = combined else {
        return Ok(None);
    };
    if !planner.has_joins() {
        return Ok(Some(condition));
    }
    let alias = "u0";
    let mut sub_planner = JoinPlanner::new(backend, model, alias, "u");
    let mut sub_condition: Option<Expr> = None;
    for (group, scope) in groups.iter().zip(&scopes) {
        let expr = sub_planner.filter_expr(&group.filter, *scope, group.exclude)?;
        let expr = if group.exclude { expr.not() } else { expr };
        sub_condition = Some(match sub_condition {
            Some(acc) => acc.and(expr),
            None => expr,
        });
    }
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
