//! Owns the hand-off to sea-query: [`Statement`] (SQL text plus parameters in throughline's
//! own [`Value`]), and value conversion both ways. Which sea-query builder renders a tree is
//! the [`Dialect`]'s business.

use crate::dialect::{Dialect, SchemaTree, Tree};
use std::sync::Arc;
use throughline_core::Value;

/// SQL text and its bound parameters, ready for a driver.
///
/// ```
/// let s = throughline_query::Statement::new("SELECT 1", vec![]);
/// assert_eq!(&*s.sql, "SELECT 1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL, with the backend's placeholders (`?` or `$n`); shared, so a statement
    /// whose text was rendered before (a one-row insert of a known shape) reuses it
    /// without a copy.
    pub sql: Arc<str>,
    /// The parameters, in placeholder order.
    pub params: Vec<Value>,
}

impl Statement {
    /// A statement from parts.
    ///
    /// ```
    /// let s = throughline_query::Statement::new("SELECT ?", vec![1i64.into()]);
    /// assert_eq!(s.params.len(), 1);
    /// ```
    pub fn new(sql: impl Into<Arc<str>>, params: Vec<Value>) -> Statement {
        Statement {
            sql: sql.into(),
            params,
        }
    }
}

/// Renders a sea-query statement tree with `dialect`.
pub(crate) fn build(tree: Tree<'_>, dialect: &dyn Dialect) -> Statement {
    let (sql, values) = dialect.render(tree);
    Statement {
        sql: sql.into(),
        params: values.0.into_iter().map(from_sea).collect(),
    }
}

/// Renders a sea-query schema statement (DDL) with `dialect`.
pub(crate) fn build_schema(tree: SchemaTree<'_>, dialect: &dyn Dialect) -> String {
    dialect.render_schema(tree)
}

/// A throughline value as a sea-query value, to be placed in a statement tree.
pub(crate) fn to_sea(value: &Value) -> sea_query::Value {
    use sea_query::Value as S;
    match value {
        Value::Null => S::String(None),
        Value::Bool(v) => S::Bool(Some(*v)),
        Value::I16(v) => S::SmallInt(Some(*v)),
        Value::I32(v) => S::Int(Some(*v)),
        Value::I64(v) => S::BigInt(Some(*v)),
        Value::F64(v) => S::Double(Some(*v)),
        Value::String(v) => S::String(Some(v.clone())),
        Value::Bytes(v) => S::Bytes(Some(v.clone())),
        Value::Date(v) => S::ChronoDate(Some(*v)),
        Value::DateTime(v) => S::ChronoDateTimeUtc(Some(*v)),
        Value::Json(v) => S::Json(Some(Box::new(v.clone()))),
        Value::Uuid(v) => S::Uuid(Some(*v)),
        Value::Decimal(v) => S::Decimal(Some(*v)),
        // The element type is the driver's business: it binds the list to the parameter's
        // declared array type.
        Value::List(items) => S::Array(
            sea_query::ArrayType::String,
            Some(Box::new(items.iter().map(to_sea).collect())),
        ),
    }
}

/// A sea-query value collected from a rendered statement, back as a throughline value.
/// Only the variants [`to_sea`] produces can occur; any other is bound as NULL.
fn from_sea(value: sea_query::Value) -> Value {
    use sea_query::Value as S;
    match value {
        S::Bool(v) => v.into(),
        S::SmallInt(v) => v.into(),
        S::Int(v) => v.into(),
        S::BigInt(v) => v.into(),
        S::Double(v) => v.into(),
        S::String(v) => v.into(),
        S::Bytes(v) => v.into(),
        S::ChronoDate(v) => v.into(),
        S::ChronoDateTimeUtc(v) => v.into(),
        S::Json(v) => v.map(|j| *j).into(),
        S::Uuid(v) => v.into(),
        S::Decimal(v) => v.into(),
        S::Array(_, items) => Value::List(
            items
                .map(|b| (*b).into_iter().map(from_sea).collect())
                .unwrap_or_default(),
        ),
        // LIMIT and OFFSET arrive as unsigned integers.
        S::TinyInt(v) => v.map(i16::from).into(),
        S::TinyUnsigned(v) => v.map(i16::from).into(),
        S::SmallUnsigned(v) => v.map(i32::from).into(),
        S::Unsigned(v) => v.map(i64::from).into(),
        S::BigUnsigned(v) => v.map(|n| i64::try_from(n).unwrap_or(i64::MAX)).into(),
        _ => Value::Null,
    }
}
