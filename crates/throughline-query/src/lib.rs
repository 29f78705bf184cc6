//! The untyped query layer of throughline: relation paths ([`Hop`], [`FieldPath`]), filters
//! ([`Filter`], [`Lookup`]), selects with joins ([`SelectQuery`]), writes ([`InsertQuery`],
//! [`UpdateQuery`], [`DeleteQuery`]) and DDL ([`create_table`]), rendered per backend with
//! sea-query into a [`Statement`] whose parameters are throughline [`Value`]s.
//!
//! sea-query renders; the semantics (join sharing, NULL-aware negation, case rules of
//! lookups, capability checks) live here.
//!
//! This is an internal crate: its API is re-exported by the `throughline` facade.
//!
//! [`Value`]: throughline_core::Value

pub mod ddl;
pub mod dialect;
pub mod expression;
pub mod filter;
pub mod path;
pub mod render;
pub mod select;
mod shape_cache;
pub mod write;

pub use ddl::{create_table, create_table_with, drop_table};
pub use dialect::Dialect;
pub use expression::{
    Aggregate, AggregateFunction, ArithOp, DatePart, Expression, Function, Related, RelatedRead,
};
pub use filter::{CompareOp, Comparison, Condition, Filter, Lookup};
pub use path::{FieldPath, Hop};
pub use render::Statement;
pub use select::{Annotation, FilterGroup, LockWait, OrderBy, Projection, SelectQuery};
pub use write::{ArrayInsert, Conflict, DeleteQuery, FieldName, InsertQuery, UpdateQuery};
