//! Owns [`SelectQuery`], the untyped query a queryset lowers to, and its rendering:
//! joins for relation paths (with Django's rule that the multi-valued joins of one
//! `filter` call are shared by its conditions and not by other calls), NULL-aware negation,
//! per-backend text lookups, projections (rows, columns, count, exists).

use crate::dialect::{Dialect, Tree};
use crate::filter::{Condition, Filter, Lookup};
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
#[derive(Debug, Clone)]
pub struct OrderBy {
    /// The field ordered by (possibly across foreign keys).
    pub path: FieldPath,
    /// Descending when true.
    pub descending: bool,
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
}

impl SelectQuery {
    /// A query for every row of `model`.
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
        }
    }

    /// Adds a `filter` call.
    pub fn filter(&mut self, filter: Filter) -> &mut Self {
        self.groups.push(FilterGroup::filter(filter));
        self
    }

    /// Adds an `exclude` call.
    pub fn exclude(&mut self, filter: Filter) -> &mut Self {
        self.groups.push(FilterGroup {
            filter,
            exclude: true,
            join_with_previous: false,
        });
        self
    }

    /// Renders the query for `backend`.
    pub fn render(&self, backend: Backend) -> Result<Statement> {
        let dialect = crate::dialect::of(backend)?;
        Ok(build(Tree::Select(&self.to_sea(dialect)?), dialect))
    }

    /// The sea-query tree of this query.
    pub(crate) fn to_sea(&self, dialect: &'static dyn Dialect) -> Result<SelectStatement> {
        if self.for_update {
            dialect.backend().require(
                dialect.capabilities().select_for_update,
                "SELECT ... FOR UPDATE",
            )?;
        }
        let mut planner = JoinPlanner::new(dialect, self.model, &self.model.table, "t");
        let mut select = Query::select();
        let mut wheres = Vec::new();
        for (group, scope) in self.groups.iter().zip(group_scopes(&self.groups)) {
            let expr = if group.exclude {
                planner.filter_expr(&group.filter, scope, true)?.not()
            } else {
                planner.filter_expr(&group.filter, scope, false)?
            };
            wheres.push(expr);
        }
        let root = planner.root_alias.clone();
        match &self.projection {
            Projection::Rows => {
                for field in &self.model.fields {
                    select.column((Alias::new(&root), Alias::new(&field.column)));
                }
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
                        select.column((Alias::new(&alias), Alias::new(&field.column)));
                    }
                }
            }
            Projection::Columns(paths) => {
                for path in paths {
                    let (alias, field) = planner.column(path, 0)?;
                    select.column((Alias::new(alias), Alias::new(&field.column)));
                }
            }
            Projection::Keys => {
                select.column((Alias::new(&root), Alias::new(&self.model.pk().column)));
            }
            Projection::Count | Projection::Exists => {
                select.expr(Expr::cust("1"));
            }
        }
        let ordering = self.effective_ordering();
        let mut order_exprs = Vec::new();
        if !matches!(self.projection, Projection::Count | Projection::Exists) {
            for term in &ordering {
                let (alias, field) = planner.column(&term.path, 0)?;
                order_exprs.push((
                    Expr::col((Alias::new(alias), Alias::new(&field.column))),
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
            let needs_subquery = self.distinct || self.limit.is_some() || self.offset.is_some();
            if needs_subquery {
                let mut inner = inner;
                if self.distinct {
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
        self.model
            .ordering
            .iter()
            .map(|name| OrderBy {
                path: FieldPath::local(name.trim_start_matches('-')),
                descending: name.starts_with('-'),
            })
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
            if let Some(existing) = self.aliases.get(&map_key) {
                alias = existing.clone();
                continue;
            }
            // Ordering and `values` (scope 0) reuse the join of the latest filter call
            // that crossed the same multi-valued relation, as Django does.
            if many && scope == 0 {
                let reused = self
                    .aliases
                    .iter()
                    .filter(|((_, chain), _)| *chain == key)
                    .max_by_key(|((s, _), _)| *s)
                    .map(|(_, a)| a.clone());
                if let Some(existing) = reused {
                    alias = existing;
                    continue;
                }
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
        })
    }

    fn condition_expr(&mut self, cond: &Condition, scope: usize, negated: bool) -> Result<Expr> {
        if negated && cond.path.is_many() {
            return self.many_subquery(cond);
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
    fn many_subquery(&mut self, cond: &Condition) -> Result<Expr> {
        self.subqueries += 1;
        let sub_root = format!("s{}", self.subqueries);
        let prefix = format!("{sub_root}_");
        let mut sub = JoinPlanner::new(self.dialect, self.model, &sub_root, &prefix);
        let expr = sub.condition_expr(cond, 1, false)?;
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
