//! Owns [`SelectQuery`], the untyped query a queryset lowers to, and its rendering:
//! joins for relation paths (with Django's rule that the multi-valued joins of one
//! `filter` call are shared by its conditions and not by other calls), NULL-aware negation,
//! per-backend text lookups, projections (rows, columns, count, exists).

use crate::dialect::{Dialect, Tree};
use crate::expression::{
    Aggregate, AggregateFunction, ArithOp, Expression, Function, Related, RelatedRead,
};
use crate::filter::{CompareOp, Comparison, Condition, Filter, Lookup};
use crate::path::{FieldPath, Hop};
use crate::render::{Statement, build, to_sea};
use sea_query::{Alias, Asterisk, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use std::collections::HashMap;
use throughline_core::{Backend, Error, FieldMeta, ModelMeta, Result, Value};

/// One `filter` or `exclude` call: its conditions share the multi-valued joins.
#[derive(Debug, Clone)]
pub struct FilterGroup {
    /// The conditions.
    pub filter: Filter,
    /// Whether the call was `exclude` (rows matching are removed).
    pub exclude: bool,
    /// Whether this call shares the multi-valued joins of the previous one (Django's
    /// "sticky" filter: a relation manager's own condition and the caller's next `filter`
    /// apply to the same through row).
    pub join_with_previous: bool,
}

impl FilterGroup {
    /// A `filter` call.
    pub fn filter(filter: Filter) -> FilterGroup {
        FilterGroup {
            filter,
            exclude: false,
            join_with_previous: false,
        }
    }
}

/// The join scope of each filter call: its own, or its predecessor's when sticky.
pub(crate) fn group_scopes(groups: &[FilterGroup]) -> Vec<usize> {
    let mut scopes: Vec<usize> = Vec::with_capacity(groups.len());
    for (index, group) in groups.iter().enumerate() {
        let scope = match (group.join_with_previous, scopes.last()) {
            (true, Some(previous)) => *previous,
            _ => index + 1,
        };
        scopes.push(scope);
    }
    scopes
}

/// One ORDER BY term.
///
/// ```
/// use throughline_query::{FieldPath, OrderBy};
/// let term = OrderBy::desc(FieldPath::local("age"));
/// assert!(term.descending);
/// assert_eq!(term.path().map(|p| p.field.as_str()), Some("age"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// What is ordered by: a field (possibly across foreign keys) or any expression, an
    /// aggregate included.
    pub expression: Expression,
    /// Descending when true.
    pub descending: bool,
}

impl OrderBy {
    /// Ascending on a field.
    ///
    /// ```
    /// use throughline_query::{FieldPath, OrderBy};
    /// let term = OrderBy::asc(FieldPath::local("name"));
    /// assert!(!term.descending);
    /// assert_eq!(term, OrderBy::named("name"));
    /// ```
    pub fn asc(path: FieldPath) -> OrderBy {
        OrderBy {
            expression: Expression::Field(path),
            descending: false,
        }
    }

    /// Descending on a field.
    ///
    /// ```
    /// use throughline_query::{FieldPath, OrderBy};
    /// let term = OrderBy::desc(FieldPath::local("age"));
    /// assert!(term.descending);
    /// assert_eq!(term, OrderBy::named("-age"));
    /// ```
    pub fn desc(path: FieldPath) -> OrderBy {
        OrderBy {
            expression: Expression::Field(path),
            descending: true,
        }
    }

    /// The term a model's `ordering` entry names: a field of the model, `-` for
    /// descending.
    ///
    /// ```
    /// let term = throughline_query::OrderBy::named("-age");
    /// assert!(term.descending);
    /// ```
    pub fn named(entry: &str) -> OrderBy {
        let path = FieldPath::local(entry.trim_start_matches('-'));
        if entry.starts_with('-') {
            OrderBy::desc(path)
        } else {
            OrderBy::asc(path)
        }
    }

    /// The field ordered by, when the term is a plain field.
    ///
    /// ```
    /// use throughline_query::{Expression, FieldPath, OrderBy};
    /// assert_eq!(OrderBy::asc(FieldPath::local("name")).path(), Some(&FieldPath::local("name")));
    /// let by_count = OrderBy { expression: Expression::count_rows(), descending: true };
    /// assert_eq!(by_count.path(), None); // an expression, not a field
    /// ```
    pub fn path(&self) -> Option<&FieldPath> {
        match &self.expression {
            Expression::Field(path) => Some(path),
            _ => None,
        }
    }
}

/// A computed value added to each row (Django's `annotate`).
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// The value.
    pub expression: Expression,
    /// How many `filter`/`exclude` calls came before the `annotate` call: an aggregate
    /// across a multi-valued relation reads the related rows those calls' joins kept, and
    /// not those of later calls (Django's rule: `filter` then `annotate` counts the
    /// matching related rows only).
    pub after_groups: usize,
}

/// What a select returns.
#[derive(Debug, Clone, Default)]
pub enum Projection {
    /// Every field of the model, then every field of each `select_related` model.
    #[default]
    Rows,
    /// The listed fields (Django's `values`).
    Columns(Vec<FieldPath>),
    /// `COUNT(*)` of the rows.
    Count,
    /// Whether any row matches (`SELECT 1 ... LIMIT 1`).
    Exists,
    /// The primary keys only.
    Keys,
    /// The listed expressions (Django's `values(...).annotate(...)` and `aggregate`):
    /// when one holds an aggregate, the rows are grouped by the others, and by nothing
    /// (one row) when every one is an aggregate.
    Expressions(Vec<Expression>),
}

/// What a locking read (`FOR UPDATE`) does when a row it reads is locked by another
/// transaction (Django's `select_for_update(nowait=..., skip_locked=...)`).
///
/// ```
/// assert_eq!(throughline_query::LockWait::default(), throughline_query::LockWait::Wait);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LockWait {
    /// Waits for the lock (the default).
    #[default]
    Wait,
    /// Fails at once (`NOWAIT`).
    NoWait,
    /// Leaves the locked rows out (`SKIP LOCKED`).
    SkipLocked,
}

/// The untyped form of a queryset.
///
/// ```
/// # use throughline_core::*;
/// # use throughline_query::*;
/// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
/// # let student: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Student", "student",
/// #     vec![id, FieldMeta::new("name", FieldType::String { max_length: Some(50) })])));
/// let mut q = SelectQuery::new(student);
/// q.filter(Filter::cond(FieldPath::local("name"), Lookup::Exact("alice".into())));
/// let stmt = q.render(Backend::Postgres).unwrap();
/// assert_eq!(&*stmt.sql, r#"SELECT "student"."id", "student"."name" FROM "student" WHERE "student"."name" = $1"#);
/// ```
#[derive(Debug, Clone)]
pub struct SelectQuery {
    /// The model queried.
    pub model: &'static ModelMeta,
    /// The `filter`/`exclude` calls, in order.
    pub groups: Vec<FilterGroup>,
    /// Explicit ordering; empty means the model's default ordering.
    pub order_by: Vec<OrderBy>,
    /// Forward relation chains loaded in the same query.
    pub select_related: Vec<Vec<Hop>>,
    /// LIMIT.
    pub limit: Option<u64>,
    /// OFFSET.
    pub offset: Option<u64>,
    /// SELECT DISTINCT.
    pub distinct: bool,
    /// What is returned.
    pub projection: Projection,
    /// `FOR UPDATE` row locks (PostgreSQL, MySQL/MariaDB).
    pub for_update: bool,
    /// What the locking read does with rows another transaction locked.
    pub lock_wait: LockWait,
    /// Computed values appended to each row after the model's (and `select_related`)
    /// columns, in order.
    pub annotations: Vec<Annotation>,
    /// The model's default ordering as terms, when it names a foreign key (which orders by
    /// the related model's own ordering, as Django); `None`: the names of
    /// `ModelMeta::ordering`, each a field of the model.
    pub default_ordering: Option<Vec<OrderBy>>,
    /// Only the rows whose key this query (of the same model) selects: how an aggregate
    /// reads a sliced, distinct or aggregate-filtered queryset (Django computes it over a
    /// subquery). Rendered `key IN (SELECT key FROM (<query>) AS kept)`, the derived table
    /// letting MySQL take a `LIMIT` inside `IN`.
    pub keys_of: Option<Box<SelectQuery>>,
}

impl SelectQuery {
    /// A query for every row of `model`.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::*;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let tag: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id])));
    /// let q = SelectQuery::new(tag);
    /// assert_eq!(&*q.render(Backend::Sqlite)?.sql, r#"SELECT "tag"."id" FROM "tag""#);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new(model: &'static ModelMeta) -> SelectQuery {
        SelectQuery {
            model,
            groups: Vec::new(),
            order_by: Vec::new(),
            select_related: Vec::new(),
            limit: None,
            offset: None,
            distinct: false,
            projection: Projection::Rows,
            for_update: false,
            lock_wait: LockWait::Wait,
            annotations: Vec::new(),
            default_ordering: None,
            keys_of: None,
        }
    }

    /// Adds an annotation, after the `filter` calls made so far.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::*;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let tag: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id])));
    /// let mut q = SelectQuery::new(tag);
    /// q.annotate(Expression::count_rows());
    /// let stmt = q.render(Backend::Sqlite).unwrap();
    /// assert_eq!(&*stmt.sql, r#"SELECT "tag"."id", COUNT(*) FROM "tag" GROUP BY "tag"."id""#);
    /// ```
    pub fn annotate(&mut self, expression: Expression) -> &mut Self {
        self.annotations.push(Annotation {
            expression,
            after_groups: self.groups.len(),
        });
        self
    }

    /// Whether the rows are grouped: an aggregate occurs in the annotations, a filter, the
    /// ordering or the projection.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::*;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let tag: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id])));
    /// let mut q = SelectQuery::new(tag);
    /// assert!(!q.is_grouped());
    /// q.annotate(Expression::count_rows());
    /// assert!(q.is_grouped());
    /// ```
    pub fn is_grouped(&self) -> bool {
        self.annotations
            .iter()
            .any(|a| a.expression.has_aggregate())
            || self.groups.iter().any(|g| g.filter.has_aggregate())
            || self.order_by.iter().any(|o| o.expression.has_aggregate())
            || matches!(&self.projection, Projection::Expressions(exprs) if exprs.iter().any(Expression::has_aggregate))
    }

    /// Adds a `filter` call.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::*;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let tag: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id])));
    /// let mut q = SelectQuery::new(tag);
    /// q.filter(Filter::cond(FieldPath::local("id"), Lookup::Gt(5i64.into())));
    /// let stmt = q.render(Backend::Sqlite)?;
    /// assert_eq!(&*stmt.sql, r#"SELECT "tag"."id" FROM "tag" WHERE "tag"."id" > ?"#);
    /// assert_eq!(stmt.params, [Value::I64(5)]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn filter(&mut self, filter: Filter) -> &mut Self {
        self.groups.push(FilterGroup::filter(filter));
        self
    }

    /// Adds an `exclude` call: the rows the filter does not match (NULL-aware, as Django:
    /// a row whose value is NULL is not excluded by a comparison).
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::*;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let tag: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id])));
    /// let mut q = SelectQuery::new(tag);
    /// q.exclude(Filter::cond(FieldPath::local("id"), Lookup::Exact(1i64.into())));
    /// let stmt = q.render(Backend::Sqlite)?;
    /// assert!(stmt.sql.contains("NOT"));
    /// assert_eq!(stmt.params, [Value::I64(1)]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn exclude(&mut self, filter: Filter) -> &mut Self {
        self.groups.push(FilterGroup {
            filter,
            exclude: true,
            join_with_previous: false,
        });
        self
    }

    /// Renders the query for `backend`.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # use throughline_query::*;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let tag: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Tag", "tag", vec![id])));
    /// let mut q = SelectQuery::new(tag);
    /// q.filter(Filter::cond(FieldPath::local("id"), Lookup::Exact(7i64.into())));
    /// assert!(q.render(Backend::Sqlite)?.sql.ends_with(r#""tag"."id" = ?"#));
    /// assert!(q.render(Backend::Postgres)?.sql.ends_with(r#""tag"."id" = $1"#));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn render(&self, backend: Backend) -> Result<Statement> {
        let dialect = crate::dialect::of(backend)?;
        Ok(build(Tree::Select(&self.to_sea(dialect)?), dialect))
    }

    /// The sea-query tree of this query.
    pub(crate) fn to_sea(&self, dialect: &'static dyn Dialect) -> Result<SelectStatement> {
        if matches!(self.projection, Projection::Count) && !self.annotations.is_empty() {
            // Counted over the rows `all()` reads, so that the two agree: an annotation
            // across a multi-valued relation multiplies the rows, one that is not an
            // aggregate splits the groups.
            let mut rows = self.clone();
            rows.projection = Projection::Rows;
            let mut outer = Query::select();
            outer
                .expr(Expr::col(Asterisk).count())
                .from_subquery(rows.build(dialect, true)?, Alias::new("counted"));
            return Ok(outer);
        }
        self.build(dialect, false)
    }

    /// The tree; `counting` names every column (`c1`, `c2`, ...: a derived table's
    /// columns must differ on MariaDB) and leaves the ordering out.
    fn build(&self, dialect: &'static dyn Dialect, counting: bool) -> Result<SelectStatement> {
        let grouped = self.is_grouped();
        if self.for_update {
            dialect.backend().require(
                dialect.capabilities().select_for_update,
                "SELECT ... FOR UPDATE",
            )?;
            if grouped {
                return Err(Error::invalid_query(
                    &self.model.name,
                    "select_for_update of a query with aggregates: a group is not a row that can be locked",
                ));
            }
        }
        let mut planner = JoinPlanner::new(dialect, self.model, &self.model.table, "t");
        planner.annotation_limits = self
            .annotations
            .iter()
            .map(|a| (a.expression.clone(), a.after_groups))
            .collect();
        let mut select = Query::select();
        let mut wheres = Vec::new();
        let mut havings = Vec::new();
        for (index, (group, scope)) in self
            .groups
            .iter()
            .zip(group_scopes(&self.groups))
            .enumerate()
        {
            // An aggregate in a condition reads the joins of the calls before it.
            planner.reuse_limit = index;
            let render = |planner: &mut JoinPlanner, filter: &Filter| -> Result<Expr> {
                let expr = planner.filter_expr(filter, scope, group.exclude)?;
                Ok(if group.exclude { expr.not() } else { expr })
            };
            if !group.filter.has_aggregate() {
                wheres.push(render(&mut planner, &group.filter)?);
                continue;
            }
            // The parts of an AND without aggregates stay row conditions (WHERE); the
            // others are group conditions (HAVING).
            let mut parts: Vec<&Filter> = Vec::new();
            if group.exclude {
                parts.push(&group.filter);
            } else {
                conjuncts(&group.filter, &mut parts);
            }
            for part in parts {
                let expr = render(&mut planner, part)?;
                if part.has_aggregate() {
                    havings.push(expr);
                } else {
                    wheres.push(expr);
                }
            }
        }
        planner.reuse_limit = usize::MAX;
        let root = planner.root_alias.clone();
        let root_key = Expr::col((Alias::new(&root), Alias::new(&self.model.pk().column)));
        // Grouped expressions are named by their position in the select list: the same
        // expression written twice would bind its constants twice (`$1` and `$4`), and
        // PostgreSQL would not see them as the same.
        let mut group_by: Vec<Expr> = Vec::new();
        let mut selected: Vec<(&Expression, usize)> = Vec::new();
        // The columns read, past which hidden ordering columns may be added (`None`: the
        // projection cannot take more columns).
        let mut width: Option<usize> = None;
        let mut columns = 0usize;
        match &self.projection {
            Projection::Rows => {
                for field in &self.model.fields {
                    push_column(
                        &mut select,
                        Expr::col((Alias::new(&root), Alias::new(&field.column))),
                        counting,
                        &mut columns,
                    );
                }
                group_by.push(root_key.clone());
                for chain in &self.select_related {
                    if chain.iter().any(|h| h.many) {
                        return Err(Error::invalid_query(
                            &self.model.name,
                            "select_related follows forward foreign keys only; use prefetch for reverse relations",
                        ));
                    }
                    let alias = planner.alias_for(chain, 0);
                    let target = chain.last().map_or(self.model, |h| h.to);
                    for field in &target.fields {
                        push_column(
                            &mut select,
                            Expr::col((Alias::new(&alias), Alias::new(&field.column))),
                            counting,
                            &mut columns,
                        );
                    }
                    group_by.push(Expr::col((
                        Alias::new(&alias),
                        Alias::new(&target.pk().column),
                    )));
                }
                let mut position = self.model.fields.len()
                    + self
                        .select_related
                        .iter()
                        .map(|chain| chain.last().map_or(0, |h| h.to.fields.len()))
                        .sum::<usize>();
                for annotation in &self.annotations {
                    planner.reuse_limit = annotation.after_groups;
                    let expr = planner.expression(&annotation.expression, 0)?;
                    position += 1;
                    selected.push((&annotation.expression, position));
                    if !annotation.expression.has_aggregate() {
                        group_by.push(Expr::cust(position.to_string()));
                    }
                    push_column(&mut select, expr, counting, &mut columns);
                }
                width = Some(position);
                planner.reuse_limit = usize::MAX;
            }
            Projection::Columns(paths) => {
                group_by.push(root_key.clone());
                for path in paths {
                    let (alias, field) = planner.column(path, 0)?;
                    let column = Expr::col((Alias::new(alias), Alias::new(&field.column)));
                    group_by.push(column.clone());
                    select.expr(column);
                }
                width = Some(paths.len());
            }
            Projection::Keys => {
                select.column((Alias::new(&root), Alias::new(&self.model.pk().column)));
                group_by.push(root_key.clone());
                width = Some(1);
            }
            Projection::Count => {
                if grouped {
                    select.expr(root_key.clone());
                    group_by.push(root_key.clone());
                } else {
                    select.expr(Expr::cust("1"));
                }
            }
            Projection::Exists => {
                select.expr(Expr::cust("1"));
                group_by.push(root_key.clone());
            }
            Projection::Expressions(exprs) => {
                for (index, expression) in exprs.iter().enumerate() {
                    // Read after the filter calls before its `annotate` (Grouped records
                    // them as annotations), else after every one.
                    planner.reuse_limit = self
                        .annotations
                        .iter()
                        .find(|a| &a.expression == expression)
                        .map_or(self.groups.len(), |a| a.after_groups);
                    let expr = planner.expression(expression, 0)?;
                    selected.push((expression, index + 1));
                    if !expression.has_aggregate() {
                        group_by.push(Expr::cust((index + 1).to_string()));
                    }
                    select.expr(expr);
                }
                width = Some(exprs.len());
                planner.reuse_limit = usize::MAX;
            }
        }
        // A grouped `values(...).annotate(...)` is not ordered by the model's default
        // ordering, which would split its groups (as Django since 3.1).
        let ordering = if counting {
            Vec::new()
        } else if grouped && matches!(self.projection, Projection::Expressions(_)) {
            self.order_by.clone()
        } else {
            self.effective_ordering()
        };
        let mut order_exprs = Vec::new();
        if !matches!(self.projection, Projection::Count | Projection::Exists) {
            for term in &ordering {
                let position = grouped
                    .then(|| selected.iter().find(|(e, _)| **e == term.expression))
                    .flatten();
                let expr = match position {
                    Some((_, position)) => Expr::cust(position.to_string()),
                    None => {
                        let expr = planner.expression(&term.expression, 0)?;
                        // PostgreSQL orders a grouped or DISTINCT query only by what it
                        // selects: a computed term, or one across a relation, is selected
                        // too (Django adds them alike).
                        // (The keys alone select no other field of the model.)
                        let keys_only = matches!(self.projection, Projection::Keys);
                        let hidden = !term.expression.has_aggregate()
                            && ((grouped && !matches!(term.expression, Expression::Field(_)))
                                || (self.distinct && (term.expression.has_hops() || keys_only)));
                        match width.as_mut() {
                            // A computed term is read as a last, hidden column and named
                            // by position: written again in GROUP BY it would bind its
                            // constants again, which PostgreSQL does not see as the same.
                            Some(width) if hidden => {
                                select.expr(expr);
                                *width += 1;
                                if grouped {
                                    group_by.push(Expr::cust(width.to_string()));
                                }
                                Expr::cust(width.to_string())
                            }
                            _ => {
                                // A field of the model itself depends on its key, which
                                // every projection but `Expressions` groups by already.
                                let by_key = !matches!(self.projection, Projection::Expressions(_))
                                    && matches!(&term.expression, Expression::Field(path) if path.hops.is_empty());
                                if grouped && !term.expression.has_aggregate() && !by_key {
                                    group_by.push(expr.clone());
                                }
                                expr
                            }
                        }
                    }
                };
                order_exprs.push((
                    expr,
                    if term.descending {
                        Order::Desc
                    } else {
                        Order::Asc
                    },
                ));
            }
        }
        if root == self.model.table {
            select.from(Alias::new(&self.model.table));
        } else {
            select.from_as(Alias::new(&self.model.table), Alias::new(&root));
        }
        planner.apply_joins(&mut select);
        for expr in wheres {
            select.and_where(expr);
        }
        if let Some(inner) = &self.keys_of {
            let mut keys = (**inner).clone();
            keys.projection = Projection::Keys;
            keys.for_update = false;
            keys.keys_of = None;
            let pk = &self.model.pk().column;
            let mut kept = Query::select();
            kept.column(Alias::new(pk))
                .from_subquery(keys.to_sea(dialect)?, Alias::new("kept"));
            select.and_where(Expr::col((Alias::new(&root), Alias::new(pk))).in_subquery(kept));
        }
        if grouped {
            // Grouping by the model's key groups by its row: PostgreSQL lets the row's other
            // columns be read (they depend on the key), SQLite and MariaDB allow it.
            // Each term once: SQLite compares every repeated term for every row.
            let mut unique: Vec<Expr> = Vec::with_capacity(group_by.len());
            for expr in group_by {
                if !unique.contains(&expr) {
                    unique.push(expr);
                }
            }
            select.add_group_by(unique);
            for expr in havings {
                select.and_having(expr);
            }
        }
        for (expr, order) in order_exprs {
            select.order_by_expr(expr, order);
        }
        if self.distinct {
            select.distinct();
        }
        if let Some(limit) = self.limit {
            select.limit(limit);
        }
        if let Some(offset) = self.offset {
            if self.limit.is_none()
                && let Some(limit) = dialect.limit_for_offset_alone()
            {
                select.limit(limit);
            }
            select.offset(offset);
        }
        if matches!(self.projection, Projection::Exists) {
            select.limit(1);
        }
        if self.for_update {
            let update = sea_query::LockType::Update;
            let behavior = match self.lock_wait {
                LockWait::Wait => None,
                LockWait::NoWait => Some(sea_query::LockBehavior::Nowait),
                LockWait::SkipLocked => Some(sea_query::LockBehavior::SkipLocked),
            };
            // Only the queried model's rows, where the backend can say so: not the rows
            // of joined tables (`select_related`, filters across relations), and not the
            // nullable side of an outer join, which PostgreSQL refuses to lock.
            if dialect.locks_named_tables() {
                let tables = [Alias::new(&root)];
                match behavior {
                    None => select.lock_with_tables(update, tables),
                    Some(behavior) => select.lock_with_tables_behavior(update, tables, behavior),
                };
            } else {
                match behavior {
                    None => select.lock(update),
                    Some(behavior) => select.lock_with_behavior(update, behavior),
                };
            }
        }
        if matches!(self.projection, Projection::Count) {
            let inner = select;
            let needs_subquery =
                grouped || self.distinct || self.limit.is_some() || self.offset.is_some();
            if needs_subquery {
                let mut inner = inner;
                if self.distinct && !grouped {
                    // DISTINCT must compare the model's rows, not the constant.
                    inner.clear_selects();
                    for field in &self.model.fields {
                        inner.column((Alias::new(&root), Alias::new(&field.column)));
                    }
                }
                let mut outer = Query::select();
                outer
                    .expr(Expr::col(Asterisk).count())
                    .from_subquery(inner, Alias::new("counted"));
                return Ok(outer);
            }
            let mut counted = inner;
            counted.clear_selects();
            counted.expr(Expr::col(Asterisk).count());
            return Ok(counted);
        }
        Ok(select)
    }

    /// The explicit ordering, or the model's default ordering.
    ///
    /// ```
    /// # use throughline_core::*;
    /// # let mut id = FieldMeta::new("id", FieldType::AutoI64); id.primary_key = true;
    /// # let mut m = ModelMeta::new("Tag", "tag", vec![id]);
    /// m.ordering = vec!["-id".into()];
    /// let m: &'static ModelMeta = Box::leak(Box::new(m));
    /// let q = throughline_query::SelectQuery::new(m);
    /// assert!(q.effective_ordering()[0].descending);
    /// ```
    pub fn effective_ordering(&self) -> Vec<OrderBy> {
        if !self.order_by.is_empty() {
            return self.order_by.clone();
        }
        if let Some(terms) = &self.default_ordering {
            return terms.clone();
        }
        self.model
            .ordering
            .iter()
            .map(|name| OrderBy::named(name))
            .collect()
    }
}

/// A LEFT JOIN planned for a relation path.
#[derive(Debug, Clone)]
struct Join {
    /// An inner join: every hop up to this one is a required forward key, so the joined row
    /// always exists and INNER is equivalent to LEFT (and gives the planner its freedom).
    inner: bool,
    table: String,
    alias: String,
    left_alias: String,
    left_column: String,
    right_column: String,
}

/// Identifies a planned join: the scope (0 = shared, else the filter call) and the chain of
/// `(table, from column, to column)` steps leading to it.
type JoinKey = (usize, Vec<(String, String, String)>);

/// Assigns table aliases to relation paths and renders conditions against them.
pub(crate) struct JoinPlanner {
    dialect: &'static dyn Dialect,
    model: &'static ModelMeta,
    pub(crate) root_alias: String,
    alias_prefix: String,
    joins: Vec<Join>,
    aliases: HashMap<JoinKey, String>,
    subqueries: usize,
    /// The filter calls whose multi-valued joins a field at the shared scope may reuse:
    /// those numbered up to this (all of them by default).
    reuse_limit: usize,
    /// The annotations' expressions and the number of filter calls before each: the same
    /// aggregate in `HAVING` or `ORDER BY` reads the same joins as its annotation.
    annotation_limits: Vec<(Expression, usize)>,
    /// Whether a negated condition across a multi-valued relation becomes a subquery over
    /// the root rows (a `filter`/`exclude`), or stays a test of the joined row (inside an
    /// aggregate's filter or a `CASE`, as Django's `split_subq=False`).
    split_many: bool,
}

impl JoinPlanner {
    pub(crate) fn new(
        dialect: &'static dyn Dialect,
        model: &'static ModelMeta,
        root_alias: &str,
        alias_prefix: &str,
    ) -> JoinPlanner {
        JoinPlanner {
            dialect,
            model,
            root_alias: root_alias.to_owned(),
            alias_prefix: alias_prefix.to_owned(),
            joins: Vec::new(),
            aliases: HashMap::new(),
            subqueries: 0,
            reuse_limit: usize::MAX,
            annotation_limits: Vec::new(),
            split_many: true,
        }
    }

    /// Adds the planned joins to `select`.
    pub(crate) fn apply_joins(&self, select: &mut SelectStatement) {
        for join in &self.joins {
            select.join_as(
                if join.inner {
                    JoinType::InnerJoin
                } else {
                    JoinType::LeftJoin
                },
                Alias::new(&join.table),
                Alias::new(&join.alias),
                Expr::col((Alias::new(&join.left_alias), Alias::new(&join.left_column)))
                    .equals((Alias::new(&join.alias), Alias::new(&join.right_column))),
            );
        }
    }

    /// Whether any join was planned (update/delete then need a subquery).
    pub(crate) fn has_joins(&self) -> bool {
        !self.joins.is_empty()
    }

    /// The alias of the model reached by `hops`, planning joins as needed. Joins after a
    /// multi-valued hop belong to `scope` (one per filter call); others are shared.
    fn alias_for(&mut self, hops: &[Hop], scope: usize) -> String {
        let mut alias = self.root_alias.clone();
        let mut key = Vec::new();
        let mut many = false;
        let mut required = true;
        for hop in hops {
            many |= hop.many;
            required &= !hop.optional && !hop.many;
            key.push((
                hop.to.table.clone(),
                hop.from_column.clone(),
                hop.to_column.clone(),
            ));
            let map_key = (if many { scope } else { 0 }, key.clone());
            // Ordering, `values` and aggregates (scope 0) reuse the join of the latest
            // filter call (up to the reuse limit) that crossed the same multi-valued
            // relation, as Django does.
            if many && scope == 0 {
                let limit = self.reuse_limit;
                let reused = self
                    .aliases
                    .iter()
                    .filter(|((s, chain), _)| *chain == key && *s >= 1 && *s <= limit)
                    .max_by_key(|((s, _), _)| *s)
                    .map(|(_, a)| a.clone());
                if let Some(existing) = reused {
                    alias = existing;
                    continue;
                }
            }
            if let Some(existing) = self.aliases.get(&map_key) {
                alias = existing.clone();
                continue;
            }
            let next = format!("{}{}", self.alias_prefix, self.joins.len() + 1);
            self.joins.push(Join {
                inner: required,
                table: hop.to.table.clone(),
                alias: next.clone(),
                left_alias: alias,
                left_column: hop.from_column.clone(),
                right_column: hop.to_column.clone(),
            });
            self.aliases.insert(map_key, next.clone());
            alias = next;
        }
        alias
    }

    /// The alias and field metadata for a path.
    fn column(&mut self, path: &FieldPath, scope: usize) -> Result<(String, &'static FieldMeta)> {
        let model = path.hops.last().map_or(self.model, |h| h.to);
        let field = model.field(&path.field).ok_or_else(|| {
            Error::invalid_query(&model.name, format!("no field `{}`", path.field))
        })?;
        Ok((self.alias_for(&path.hops, scope), field))
    }

    /// Renders a filter tree. `negated` tells whether an odd number of NOTs encloses it,
    /// so that conditions on columns that may be NULL stay NULL-aware (as Django).
    pub(crate) fn filter_expr(
        &mut self,
        filter: &Filter,
        scope: usize,
        negated: bool,
    ) -> Result<Expr> {
        Ok(match filter {
            Filter::All => Expr::cust("1 = 1"),
            Filter::Cond(cond) => self.condition_expr(cond, scope, negated)?,
            Filter::And(parts) => {
                let mut exprs = parts
                    .iter()
                    .map(|p| self.filter_expr(p, scope, negated))
                    .collect::<Result<Vec<_>>>()?
                    .into_iter();
                let first = exprs.next().unwrap_or_else(|| Expr::cust("1 = 1"));
                exprs.fold(first, |acc, e| acc.and(e))
            }
            Filter::Or(parts) => {
                let mut exprs = parts
                    .iter()
                    .map(|p| self.filter_expr(p, scope, negated))
                    .collect::<Result<Vec<_>>>()?
                    .into_iter();
                let first = exprs.next().unwrap_or_else(|| Expr::cust("1 = 0"));
                exprs.fold(first, |acc, e| acc.or(e))
            }
            Filter::Not(inner) => self.filter_expr(inner, scope, !negated)?.not(),
            Filter::Compare(comparison) => self.compare_expr(comparison, scope, negated)?,
        })
    }

    /// Renders a condition on the joined row itself: negations across a multi-valued
    /// relation test that row, not every related row (an aggregate's filter, a `CASE`).
    fn row_condition(&mut self, filter: &Filter, scope: usize) -> Result<Expr> {
        let saved = self.split_many;
        self.split_many = false;
        let rendered = self.filter_expr(filter, scope, false);
        self.split_many = saved;
        rendered
    }

    /// Renders a comparison of two expressions. Under negation a field that may be NULL
    /// must not be NULL, so that `exclude` keeps the rows where the comparison is unknown
    /// (as it does for a lookup on a nullable field); other expressions are not guarded
    /// (as Django: `exclude(total__gt=40)` drops a NULL total). Negated across a
    /// multi-valued relation, it removes every row with a matching related row.
    fn compare_expr(
        &mut self,
        comparison: &Comparison,
        scope: usize,
        negated: bool,
    ) -> Result<Expr> {
        if negated
            && self.split_many
            && (many_field(&comparison.left) || many_field(&comparison.right))
        {
            return self.many_subquery(&Filter::Compare(Box::new(comparison.clone())));
        }
        let left = self.expression(&comparison.left, scope)?;
        let right = self.expression(&comparison.right, scope)?;
        let compared = match comparison.op {
            CompareOp::Eq => left.clone().eq(right.clone()),
            CompareOp::Lt => left.clone().lt(right.clone()),
            CompareOp::Lte => left.clone().lte(right.clone()),
            CompareOp::Gt => left.clone().gt(right.clone()),
            CompareOp::Gte => left.clone().gte(right.clone()),
        };
        if !negated {
            return Ok(compared);
        }
        let mut guarded = compared;
        for (side, expr) in [(&comparison.right, right), (&comparison.left, left)] {
            if let Expression::Field(path) = side
                && self.may_be_null(path)
            {
                guarded = expr.is_not_null().and(guarded);
            }
        }
        Ok(guarded)
    }

    /// Whether the field a path reaches may read NULL (a nullable field, or a relation
    /// that may have no row).
    fn may_be_null(&self, path: &FieldPath) -> bool {
        let model = path.hops.last().map_or(self.model, |h| h.to);
        path.hops.iter().any(|h| h.optional) || model.field(&path.field).is_none_or(|f| f.nullable)
    }

    /// Renders an expression; its fields join at `scope` (aggregates at the shared scope,
    /// reusing the filter joins the reuse limit allows).
    pub(crate) fn expression(&mut self, expression: &Expression, scope: usize) -> Result<Expr> {
        let rendered = self.expression_as_is(expression, scope)?;
        // A decimal computed by a function or a CASE is compared and ordered as a number
        // (on SQLite, where only decimal columns carry the decimal collation).
        Ok(
            if matches!(expression, Expression::Function(..) | Expression::Case(..))
                && self.is_decimal(expression)
            {
                self.dialect.decimal_expression(rendered)
            } else {
                rendered
            },
        )
    }

    /// Whether `expression` is a date and time (a `DateTime` field or constant), rather
    /// than a date.
    fn is_datetime(&self, expression: &Expression) -> bool {
        match expression {
            Expression::Field(path) => {
                let model = path.hops.last().map_or(self.model, |h| h.to);
                model
                    .field(&path.field)
                    .is_some_and(|f| f.ty == throughline_core::FieldType::DateTime)
            }
            Expression::Value(value) => matches!(value, Value::DateTime(_)),
            Expression::Function(Function::Coalesce, args) => {
                args.iter().any(|arg| self.is_datetime(arg))
            }
            _ => true,
        }
    }

    /// Whether `expression` is a decimal: a decimal field, a decimal constant, or a
    /// `COALESCE`/`CASE` giving one.
    fn is_decimal(&self, expression: &Expression) -> bool {
        match expression {
            Expression::Field(path) => {
                let model = path.hops.last().map_or(self.model, |h| h.to);
                model
                    .field(&path.field)
                    .is_some_and(|f| matches!(f.ty, throughline_core::FieldType::Decimal { .. }))
            }
            Expression::Value(value) => matches!(value, Value::Decimal(_)),
            Expression::Function(Function::Coalesce, args) => {
                args.iter().any(|arg| self.is_decimal(arg))
            }
            Expression::Case(whens, default) => {
                self.is_decimal(default) || whens.iter().any(|(_, value)| self.is_decimal(value))
            }
            _ => false,
        }
    }

    fn expression_as_is(&mut self, expression: &Expression, scope: usize) -> Result<Expr> {
        Ok(match expression {
            Expression::Field(path) => {
                let (alias, field) = self.column(path, scope)?;
                Expr::col((Alias::new(alias), Alias::new(&field.column)))
            }
            Expression::Value(Value::Null) => Expr::cust("NULL"),
            Expression::Value(value) => self.constant(value),
            Expression::Arith(left, op, right) => {
                let left = self.expression(left, scope)?;
                let right = self.expression(right, scope)?;
                match op {
                    ArithOp::Add => left.add(right),
                    ArithOp::Sub => left.sub(right),
                    ArithOp::Mul => left.mul(right),
                    ArithOp::Div => left.div(right),
                    ArithOp::IntDiv => {
                        self.custom(self.dialect.integer_division(), vec![left, right])
                    }
                }
            }
            Expression::Function(function, args) => {
                let sources = args;
                let args = args
                    .iter()
                    .map(|arg| self.expression(arg, scope))
                    .collect::<Result<Vec<_>>>()?;
                let name = match function {
                    Function::Coalesce => "COALESCE",
                    Function::Lower => "LOWER",
                    Function::Upper => "UPPER",
                    Function::Extract(part) => {
                        let [arg] = args.as_slice() else {
                            return Err(Error::invalid_query(
                                &self.model.name,
                                format!("{part:?} takes one argument, not {}", args.len()),
                            ));
                        };
                        let datetime = sources.first().is_some_and(|a| self.is_datetime(a));
                        let template = self.dialect.date_part(*part, datetime);
                        return Ok(self.custom(&template, vec![arg.clone()]));
                    }
                };
                if args.is_empty() || (*function != Function::Coalesce && args.len() != 1) {
                    return Err(Error::invalid_query(
                        &self.model.name,
                        format!(
                            "{name} takes {} argument(s), not {}",
                            if *function == Function::Coalesce {
                                "one or more"
                            } else {
                                "one"
                            },
                            args.len()
                        ),
                    ));
                }
                let placeholders: Vec<String> = (1..=args.len()).map(|i| format!("${i}")).collect();
                self.custom(&format!("{name}({})", placeholders.join(", ")), args)
            }
            Expression::Case(whens, default) => {
                if let Some(path) = simple_case_operand(whens) {
                    // `CASE x WHEN a THEN .. WHEN b THEN ..`: SQLite reads `x` once, not
                    // once per branch (the same rows: `=` matches, NULL matches nothing).
                    let mut args = vec![self.expression(&Expression::Field(path.clone()), scope)?];
                    let mut template = String::from("(CASE $1");
                    for (filter, value) in whens {
                        if let Filter::Cond(cond) = filter
                            && let Lookup::Exact(compared) = &cond.lookup
                        {
                            args.push(self.constant(compared));
                            template.push_str(&format!(
                                " WHEN ${} THEN ${}",
                                args.len(),
                                args.len() + 1
                            ));
                            args.push(self.expression(value, scope)?);
                        }
                    }
                    args.push(self.expression(default, scope)?);
                    template.push_str(&format!(" ELSE ${} END)", args.len()));
                    return Ok(self.custom(&template, args));
                }
                let default = self.expression(default, scope)?;
                let mut case: Option<sea_query::CaseStatement> = None;
                for (filter, value) in whens {
                    let condition = self.row_condition(filter, scope)?;
                    let value = self.expression(value, scope)?;
                    case = Some(match case {
                        None => Expr::case(condition, value),
                        Some(case) => case.case(condition, value),
                    });
                }
                match case {
                    None => default,
                    Some(case) => case.finally(default).into(),
                }
            }
            Expression::Cast(inner, ty) => {
                let inner = self.expression(inner, scope)?;
                match self.dialect.cast_type(*ty) {
                    Some(name) => self.custom(&format!("CAST($1 AS {name})"), vec![inner]),
                    None => inner,
                }
            }
            Expression::Related(related) => self.related(related)?,
            Expression::Aggregate(aggregate) => {
                let saved = self.reuse_limit;
                if let Some((_, limit)) = self
                    .annotation_limits
                    .iter()
                    .find(|(e, _)| contains(e, expression))
                {
                    self.reuse_limit = *limit;
                }
                let rendered = self.aggregate(aggregate);
                self.reuse_limit = saved;
                rendered?
            }
        })
    }

    /// Renders a correlated subquery over the rows related to this planner's root row:
    /// rooted at the first hop's model (its column equal to the outer row's), the later
    /// hops joined inside, one join scope for its conditions.
    fn related(&mut self, related: &Related) -> Result<Expr> {
        let Some((first, rest)) = related.hops.split_first() else {
            return Err(Error::invalid_query(
                &self.model.name,
                "a related subquery needs a relation",
            ));
        };
        if first.from.table != self.model.table {
            return Err(Error::invalid_query(
                &self.model.name,
                format!(
                    "a related subquery starts from `{}`, not from this query's model",
                    first.from.name
                ),
            ));
        }
        self.subqueries += 1;
        let sub_root = format!("r{}", self.subqueries);
        let prefix = format!("{sub_root}_");
        let mut sub = JoinPlanner::new(self.dialect, first.to, &sub_root, &prefix);
        sub.subqueries = self.subqueries * 100;
        let correlation = Expr::col((Alias::new(&sub_root), Alias::new(&first.to_column)))
            .equals((Alias::new(&self.root_alias), Alias::new(&first.from_column)));
        let condition = sub.filter_expr(&related.filter.prefixed(rest), 1, false)?;
        let mut select = Query::select();
        match &related.read {
            RelatedRead::Exists => {
                select.expr(Expr::cust("1"));
            }
            RelatedRead::Count => {
                select.expr(Expr::col(Asterisk).count());
            }
            RelatedRead::First(value) => {
                let value = value.prefixed(rest);
                if value.has_aggregate() {
                    return Err(Error::invalid_query(
                        &self.model.name,
                        "the value read from the first related row cannot be an aggregate",
                    ));
                }
                select.expr(sub.expression(&value, 1)?);
                for term in &related.order_by {
                    let expr = sub.expression(&term.expression.prefixed(rest), 1)?;
                    select.order_by_expr(
                        expr,
                        if term.descending {
                            Order::Desc
                        } else {
                            Order::Asc
                        },
                    );
                }
                select.limit(1);
            }
        }
        select.from_as(Alias::new(&first.to.table), Alias::new(&sub_root));
        sub.apply_joins(&mut select);
        select.and_where(correlation);
        select.and_where(condition);
        Ok(match related.read {
            RelatedRead::Exists => Expr::exists(select),
            _ => Expr::SubQuery(None, Box::new(select.into())),
        })
    }

    /// Renders an aggregate: its argument and filter join at the shared scope.
    fn aggregate(&mut self, aggregate: &Aggregate) -> Result<Expr> {
        let name = &self.model.name;
        if aggregate
            .argument
            .as_ref()
            .is_some_and(Expression::has_aggregate)
            || aggregate.filter.as_ref().is_some_and(Filter::has_aggregate)
        {
            return Err(Error::invalid_query(
                name,
                "an aggregate cannot hold another aggregate",
            ));
        }
        let argument = match &aggregate.argument {
            Some(argument) => Some(self.expression(argument, 0)?),
            None if aggregate.function == AggregateFunction::Count => None,
            None => {
                return Err(Error::invalid_query(
                    name,
                    format!("{:?} needs an argument", aggregate.function),
                ));
            }
        };
        // A filtered aggregate reads NULL for the rows the filter leaves out (portable
        // form of PostgreSQL's `FILTER (WHERE ...)`).
        let argument = match &aggregate.filter {
            None => argument,
            Some(filter) => {
                let condition = self.row_condition(filter, 0)?;
                let value = argument.unwrap_or_else(|| Expr::cust("1"));
                Some(
                    Expr::case(condition, value)
                        .finally(Expr::cust("NULL"))
                        .into(),
                )
            }
        };
        Ok(match argument {
            Some(argument) => self.custom(&aggregate.template(true), vec![argument]),
            None => Expr::cust(aggregate.template(false)),
        })
    }

    /// A custom SQL template whose arguments are written `$1`, `$2`, ... in order: sea-query
    /// reads numbered placeholders on PostgreSQL and `?` on the other backends.
    fn custom(&self, template: &str, args: Vec<Expr>) -> Expr {
        if self.dialect.backend() == throughline_core::Backend::Postgres {
            return Expr::cust_with_exprs(template.to_owned(), args);
        }
        let mut sequential = String::with_capacity(template.len());
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                sequential.push('?');
            } else {
                sequential.push(c);
            }
        }
        Expr::cust_with_exprs(sequential, args)
    }

    /// A constant, typed where the backend cannot infer it.
    fn constant(&self, value: &Value) -> Expr {
        let param = Expr::val(to_sea(value));
        if self.dialect.types_expression_constants()
            && let Some(ty) = constant_type(value)
            && let Some(name) = self.dialect.cast_type(ty)
        {
            return self.custom(&format!("CAST($1 AS {name})"), vec![param]);
        }
        param
    }

    fn condition_expr(&mut self, cond: &Condition, scope: usize, negated: bool) -> Result<Expr> {
        if negated && self.split_many && cond.path.is_many() {
            return self.many_subquery(&Filter::Cond(Box::new(cond.clone())));
        }
        let (alias, field) = self.column(&cond.path, scope)?;
        let col = Expr::col((Alias::new(&alias), Alias::new(&field.column)));
        let expr = lookup_expr(self.dialect, col.clone(), &cond.lookup);
        let may_be_null = field.nullable || cond.path.hops.iter().any(|h| h.optional);
        let is_null_lookup = matches!(cond.lookup, Lookup::IsNull(_) | Lookup::Exact(Value::Null));
        if negated && may_be_null && !is_null_lookup {
            Ok(col.is_not_null().and(expr))
        } else {
            Ok(expr)
        }
    }

    /// A condition across a multi-valued relation under negation becomes
    /// `root.pk IN (SELECT ... WHERE cond)`, so that `exclude` removes every row with at
    /// least one matching related row (as Django), instead of testing one joined row.
    fn many_subquery(&mut self, filter: &Filter) -> Result<Expr> {
        self.subqueries += 1;
        let sub_root = format!("s{}", self.subqueries);
        let prefix = format!("{sub_root}_");
        let mut sub = JoinPlanner::new(self.dialect, self.model, &sub_root, &prefix);
        let expr = sub.filter_expr(filter, 1, false)?;
        let pk = &self.model.pk().column;
        let mut select = Query::select();
        select
            .column((Alias::new(&sub.root_alias), Alias::new(pk)))
            .from_as(Alias::new(&self.model.table), Alias::new(&sub.root_alias));
        sub.apply_joins(&mut select);
        select.and_where(expr);
        Ok(Expr::col((Alias::new(&self.root_alias), Alias::new(pk))).in_subquery(select))
    }
}

/// The field every branch of a `CASE` compares for equality with a constant (not NULL),
/// when there is one: the `CASE` can then be written in its simple form.
fn simple_case_operand(whens: &[(Filter, Expression)]) -> Option<&FieldPath> {
    let mut operand: Option<&FieldPath> = None;
    for (filter, _) in whens {
        let Filter::Cond(cond) = filter else {
            return None;
        };
        if !matches!(&cond.lookup, Lookup::Exact(v) if !v.is_null()) {
            return None;
        }
        match operand {
            None => operand = Some(&cond.path),
            Some(path) if *path == cond.path => {}
            Some(_) => return None,
        }
    }
    operand
}

/// Adds a column to the select list; named `c<n>` when counting over a derived table.
fn push_column(select: &mut SelectStatement, expr: Expr, counting: bool, columns: &mut usize) {
    *columns += 1;
    if counting {
        select.expr_as(expr, Alias::new(format!("c{columns}")));
    } else {
        select.expr(expr);
    }
}

/// Whether an expression reads a field across a multi-valued relation outside an
/// aggregate (whose rows it then compares one by one).
fn many_field(expression: &Expression) -> bool {
    match expression {
        Expression::Field(path) => path.is_many(),
        Expression::Value(_) | Expression::Aggregate(_) | Expression::Related(_) => false,
        Expression::Arith(left, _, right) => many_field(left) || many_field(right),
        Expression::Function(_, args) => args.iter().any(many_field),
        Expression::Case(whens, default) => {
            many_field(default) || whens.iter().any(|(_, v)| many_field(v))
        }
        Expression::Cast(inner, _) => many_field(inner),
    }
}

/// The conjuncts of a filter, nested `AND`s flattened.
fn conjuncts<'f>(filter: &'f Filter, out: &mut Vec<&'f Filter>) {
    match filter {
        Filter::And(parts) => {
            for part in parts {
                conjuncts(part, out);
            }
        }
        other => out.push(other),
    }
}

/// Whether `part` occurs in `whole`.
fn contains(whole: &Expression, part: &Expression) -> bool {
    if whole == part {
        return true;
    }
    match whole {
        Expression::Field(_) | Expression::Value(_) => false,
        Expression::Arith(left, _, right) => contains(left, part) || contains(right, part),
        Expression::Function(_, args) => args.iter().any(|a| contains(a, part)),
        Expression::Case(whens, default) => {
            contains(default, part) || whens.iter().any(|(_, v)| contains(v, part))
        }
        Expression::Cast(inner, _) => contains(inner, part),
        Expression::Aggregate(_) | Expression::Related(_) => false,
    }
}

/// The storage type of a constant, for typing it.
fn constant_type(value: &Value) -> Option<throughline_core::FieldType> {
    use throughline_core::FieldType;
    Some(match value {
        Value::Bool(_) => FieldType::Bool,
        Value::I16(_) => FieldType::I16,
        Value::I32(_) => FieldType::I32,
        Value::I64(_) => FieldType::I64,
        Value::F64(_) => FieldType::F64,
        Value::String(_) => FieldType::String { max_length: None },
        Value::Date(_) => FieldType::Date,
        Value::DateTime(_) => FieldType::DateTime,
        Value::Uuid(_) => FieldType::Uuid,
        Value::Bytes(_) => FieldType::Bytes,
        Value::Json(_) => FieldType::Json,
        Value::Decimal(d) => FieldType::Decimal {
            max_digits: throughline_core::schema::DECIMAL_MAX_DIGITS,
            decimal_places: Ord::min(d.scale(), 28) as u8,
        },
        Value::Null | Value::List(_) => return None,
    })
}

/// Renders one lookup on `col` in `dialect`.
fn lookup_expr(dialect: &dyn Dialect, col: Expr, lookup: &Lookup) -> Expr {
    let val = |v: &Value| Expr::val(to_sea(v));
    match lookup {
        Lookup::Exact(Value::Null) | Lookup::IsNull(true) => col.is_null(),
        Lookup::IsNull(false) => col.is_not_null(),
        Lookup::Exact(v) => col.eq(val(v)),
        Lookup::Lt(v) => col.lt(val(v)),
        Lookup::Lte(v) => col.lte(val(v)),
        Lookup::Gt(v) => col.gt(val(v)),
        Lookup::Gte(v) => col.gte(val(v)),
        Lookup::Range(low, high) => col.between(val(low), val(high)),
        Lookup::In(values) if values.is_empty() => Expr::cust("1 = 0"),
        Lookup::In(values) => dialect.in_list(col, values),
        Lookup::Contains(s) => dialect.case_sensitive_match(
            col,
            &format!("*{}*", escape_glob(s)),
            &format!("%{}%", escape_like(s)),
        ),
        Lookup::StartsWith(s) => dialect.case_sensitive_match(
            col,
            &format!("{}*", escape_glob(s)),
            &format!("{}%", escape_like(s)),
        ),
        Lookup::EndsWith(s) => dialect.case_sensitive_match(
            col,
            &format!("*{}", escape_glob(s)),
            &format!("%{}", escape_like(s)),
        ),
        Lookup::IExact(s) => ascii_insensitive(dialect, col, escape_like(s)),
        Lookup::IContains(s) => ascii_insensitive(dialect, col, format!("%{}%", escape_like(s))),
        Lookup::IStartsWith(s) => ascii_insensitive(dialect, col, format!("{}%", escape_like(s))),
        Lookup::IEndsWith(s) => ascii_insensitive(dialect, col, format!("%{}", escape_like(s))),
    }
}

/// ASCII-case-insensitive pattern match, the same rule on every backend.
fn ascii_insensitive(dialect: &dyn Dialect, col: Expr, pattern: String) -> Expr {
    dialect.ascii_insensitive_match(col, pattern.to_ascii_lowercase())
}

/// Escapes `%`, `_` and `\` for a `LIKE` pattern whose escape character is `\`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes `*`, `?` and `[` for a SQLite `GLOB` pattern.
fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            other => out.push(other),
        }
    }
    out
}
