//! Owns the relation-hook registry a [`crate::Database`] carries ([`Hooks`]), what a hook
//! is told ([`LinkChange`], [`HookPoint`]) and the executor it runs its queries on
//! ([`HookExecutor`]: the operation's own connection, inside its transaction).
//!
//! Hooks belong to a database, not to the process: two databases (or two tests) have their
//! own, and a [`crate::Transaction`] or [`crate::Counting`] wrapper sees the hooks of the
//! database it came from. When hooks fire, and with which keys, is the engine's business
//! (`throughline-engine`'s `hooks` module); this module only holds them.

use crate::conn::{Access, BoxFuture, Conn, Op};
use crate::executor::Executor;
use std::future::Future;
use std::sync::{Arc, RwLock};
use throughline_core::{Backend, ModelMeta, Result, Value};

/// When a hook runs.
///
/// ```
/// assert_ne!(throughline_db::HookPoint::BeforeAdd, throughline_db::HookPoint::AfterAdd);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HookPoint {
    /// Before links are inserted (planned targets).
    BeforeAdd,
    /// After links were inserted (targets newly linked).
    AfterAdd,
    /// Before links are deleted (planned targets).
    BeforeRemove,
    /// After links were deleted (targets whose rows were deleted).
    AfterRemove,
    /// Before every link of a row is deleted (its linked targets).
    BeforeClear,
    /// After every link of a row was deleted (targets whose rows were deleted).
    AfterClear,
}

/// What a hook is told: which relation, which declaring row, which targets.
///
/// ```
/// use throughline_db::{HookPoint, LinkChange};
/// let change = LinkChange {
///     point: HookPoint::AfterAdd,
///     relation: "Course.students",
///     source: 1i64.into(),
///     targets: vec![2i64.into()],
/// };
/// assert_eq!(change.targets.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinkChange {
    /// When this runs.
    pub point: HookPoint,
    /// The relation, as declared: `Course.students`.
    pub relation: &'static str,
    /// The key of the declaring model's row: the value the through rows hold, which is the
    /// referred field's value for a key declared with `to_field` (a make, not an id).
    pub source: Value,
    /// The keys of the other side's rows, as the through rows hold them (as `source`; the
    /// values Django's `m2m_changed` gives in `pk_set`).
    pub targets: Vec<Value>,
}

/// A relation as hooks see it: its declared name, through model and the through model's
/// two keys, in the declared direction.
///
/// ```
/// use throughline_core::{FieldMeta, FieldType, ModelMeta};
/// use throughline_db::HookedRelation;
/// let through: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new(
///     "Enrollment",
///     "enrollment",
///     vec![FieldMeta::new("id", FieldType::AutoI64)],
/// )));
/// let relation = HookedRelation {
///     relation: "Course.students",
///     through,
///     source_field: "course",
///     target_field: "student",
///     source_model: "Course",
///     target_model: "Student",
/// };
/// assert_eq!(relation.through.name, "Enrollment");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HookedRelation {
    /// The relation's declared name, `Course.students` (the same from both sides).
    pub relation: &'static str,
    /// The through model.
    pub through: &'static ModelMeta,
    /// The through model's foreign key to the declaring model.
    pub source_field: &'static str,
    /// The through model's foreign key to the other model.
    pub target_field: &'static str,
    /// The declaring model's name.
    pub source_model: &'static str,
    /// The other model's name.
    pub target_model: &'static str,
}

/// A registered hook: given the change and an executor inside the operation's transaction;
/// an error it returns aborts the operation.
///
/// ```
/// # use std::sync::Arc;
/// # use throughline_core::{FieldMeta, FieldType, ModelMeta, Result};
/// # use throughline_db::*;
/// # fn main() -> Result<()> {
/// # let through: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![FieldMeta::new("id", FieldType::AutoI64)])));
/// # let relation = HookedRelation { relation: "Course.students", through, source_field: "course", target_field: "student", source_model: "Course", target_model: "Student" };
/// # fn hook<F>(f: F) -> HookFn where F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync + 'static { Arc::new(f) }
/// let refuse_empty: HookFn = hook(|ctx| Box::pin(async move {
///     if ctx.change.targets.is_empty() {
///         return Err(throughline_core::Error::validation("Enrollment", "student", "no target"));
///     }
///     Ok(())
/// }));
/// let hooks = Hooks::new();
/// hooks.register(relation, HookPoint::BeforeAdd, refuse_empty);
/// assert!(!hooks.is_empty());
/// # Ok(()) }
/// ```
pub type HookFn =
    Arc<dyn for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync>;

/// One registration.
struct Entry {
    relation: HookedRelation,
    point: HookPoint,
    hook: HookFn,
}

/// The hooks registered on one database. Cloning shares them (a [`crate::Database`]'s
/// clones, its transactions and wrappers all see the same registrations).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// use throughline_db::{Database, Executor};
/// let db = Database::connect("sqlite::memory:").await?;
/// assert!(db.hooks().is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Hooks {
    entries: Arc<RwLock<Vec<Entry>>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("registered", &self.read().len())
            .finish()
    }
}

/// The hooks of one relation, grouped by [`Hooks::matching`].
///
/// ```
/// # use std::sync::Arc;
/// # use throughline_core::{FieldMeta, FieldType, ModelMeta, Result};
/// # use throughline_db::*;
/// # fn main() -> Result<()> {
/// # let through: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![FieldMeta::new("id", FieldType::AutoI64)])));
/// # let relation = HookedRelation { relation: "Course.students", through, source_field: "course", target_field: "student", source_model: "Course", target_model: "Student" };
/// # fn hook<F>(f: F) -> HookFn where F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync + 'static { Arc::new(f) }
/// let hooks = Hooks::new();
/// hooks.register(relation, HookPoint::AfterAdd, hook(|_| Box::pin(async { Ok(()) })));
/// hooks.register(relation, HookPoint::AfterRemove, hook(|_| Box::pin(async { Ok(()) })));
/// let entries: Vec<hooks::RelationEntries> = hooks.matching(|r| r.through.name == "Enrollment");
/// let (hooked, list) = &entries[0];
/// assert_eq!(hooked.relation, "Course.students");
/// let points: Vec<HookPoint> = list.iter().map(|(point, _)| *point).collect();
/// assert_eq!(points, vec![HookPoint::AfterAdd, HookPoint::AfterRemove]);
/// # Ok(()) }
/// ```
pub type RelationEntries = (HookedRelation, Vec<(HookPoint, HookFn)>);

impl Hooks {
    /// An empty registry.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use throughline_core::{FieldMeta, FieldType, ModelMeta, Result};
    /// # use throughline_db::*;
    /// # fn main() -> Result<()> {
    /// # let through: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![FieldMeta::new("id", FieldType::AutoI64)])));
    /// # let relation = HookedRelation { relation: "Course.students", through, source_field: "course", target_field: "student", source_model: "Course", target_model: "Student" };
    /// # fn hook<F>(f: F) -> HookFn where F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync + 'static { Arc::new(f) }
    /// let hooks = Hooks::new();
    /// assert!(hooks.is_empty());
    /// // Clones share the registrations.
    /// let shared = hooks.clone();
    /// shared.register(relation, HookPoint::AfterAdd, hook(|_| Box::pin(async { Ok(()) })));
    /// assert!(!hooks.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn new() -> Hooks {
        Hooks::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Entry>> {
        // A hook never runs while the lock is held, so a poisoned lock holds whole entries.
        match self.entries.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Entry>> {
        match self.entries.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Registers `hook` at `point` on `relation`. The typed shell's
    /// `ManyRelation::on(&db, point, hook)` calls this.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use throughline_core::{FieldMeta, FieldType, ModelMeta, Result};
    /// # use throughline_db::*;
    /// # fn main() -> Result<()> {
    /// # let through: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![FieldMeta::new("id", FieldType::AutoI64)])));
    /// # let relation = HookedRelation { relation: "Course.students", through, source_field: "course", target_field: "student", source_model: "Course", target_model: "Student" };
    /// # fn hook<F>(f: F) -> HookFn where F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync + 'static { Arc::new(f) }
    /// let hooks = Hooks::new();
    /// hooks.register(relation, HookPoint::BeforeAdd, hook(|_| Box::pin(async { Ok(()) })));
    /// hooks.register(relation, HookPoint::AfterAdd, hook(|_| Box::pin(async { Ok(()) })));
    /// let entries = hooks.matching(|_| true);
    /// assert_eq!((entries.len(), entries[0].1.len()), (1, 2));
    /// # Ok(()) }
    /// ```
    pub fn register(&self, relation: HookedRelation, point: HookPoint, hook: HookFn) {
        self.write().push(Entry {
            relation,
            point,
            hook,
        });
    }

    /// Removes every hook of the relation declared as `relation` (`Course.students`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use throughline_core::{FieldMeta, FieldType, ModelMeta, Result};
    /// # use throughline_db::*;
    /// # fn main() -> Result<()> {
    /// # let through: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![FieldMeta::new("id", FieldType::AutoI64)])));
    /// # let relation = HookedRelation { relation: "Course.students", through, source_field: "course", target_field: "student", source_model: "Course", target_model: "Student" };
    /// # fn hook<F>(f: F) -> HookFn where F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync + 'static { Arc::new(f) }
    /// let hooks = Hooks::new();
    /// hooks.register(relation, HookPoint::AfterAdd, hook(|_| Box::pin(async { Ok(()) })));
    /// hooks.clear("Course.teachers");
    /// assert!(!hooks.is_empty());
    /// hooks.clear("Course.students");
    /// assert!(hooks.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn clear(&self, relation: &str) {
        self.write().retain(|e| e.relation.relation != relation);
    }

    /// Whether no hook is registered.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use throughline_core::{FieldMeta, FieldType, ModelMeta, Result};
    /// # use throughline_db::*;
    /// # fn main() -> Result<()> {
    /// # let through: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![FieldMeta::new("id", FieldType::AutoI64)])));
    /// # let relation = HookedRelation { relation: "Course.students", through, source_field: "course", target_field: "student", source_model: "Course", target_model: "Student" };
    /// # fn hook<F>(f: F) -> HookFn where F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync + 'static { Arc::new(f) }
    /// let hooks = Hooks::new();
    /// assert!(hooks.is_empty());
    /// hooks.register(relation, HookPoint::AfterAdd, hook(|_| Box::pin(async { Ok(()) })));
    /// assert!(!hooks.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The relations matching `pick` that have hooks, each with its hooks in registration
    /// order.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use throughline_core::{FieldMeta, FieldType, ModelMeta, Result};
    /// # use throughline_db::*;
    /// # fn main() -> Result<()> {
    /// # let through: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![FieldMeta::new("id", FieldType::AutoI64)])));
    /// # let relation = HookedRelation { relation: "Course.students", through, source_field: "course", target_field: "student", source_model: "Course", target_model: "Student" };
    /// # fn hook<F>(f: F) -> HookFn where F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync + 'static { Arc::new(f) }
    /// let hooks = Hooks::new();
    /// hooks.register(relation, HookPoint::AfterAdd, hook(|_| Box::pin(async { Ok(()) })));
    /// assert_eq!(hooks.matching(|r| r.target_model == "Student").len(), 1);
    /// assert!(hooks.matching(|r| r.through.name == "Membership").is_empty());
    /// # Ok(()) }
    /// ```
    pub fn matching(&self, pick: impl Fn(&HookedRelation) -> bool) -> Vec<RelationEntries> {
        let entries = self.read();
        let mut out: Vec<RelationEntries> = Vec::new();
        for entry in entries.iter().filter(|e| pick(&e.relation)) {
            match out
                .iter_mut()
                .find(|(r, _)| r.relation == entry.relation.relation)
            {
                Some((_, list)) => list.push((entry.point, entry.hook.clone())),
                None => out.push((entry.relation, vec![(entry.point, entry.hook.clone())])),
            }
        }
        out
    }

    /// Whether any registration matches `pick`, without collecting the hooks.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use throughline_core::{FieldMeta, FieldType, ModelMeta, Result};
    /// # use throughline_db::*;
    /// # fn main() -> Result<()> {
    /// # let through: &'static ModelMeta = Box::leak(Box::new(ModelMeta::new("Enrollment", "enrollment", vec![FieldMeta::new("id", FieldType::AutoI64)])));
    /// # let relation = HookedRelation { relation: "Course.students", through, source_field: "course", target_field: "student", source_model: "Course", target_model: "Student" };
    /// # fn hook<F>(f: F) -> HookFn where F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync + 'static { Arc::new(f) }
    /// let hooks = Hooks::new();
    /// hooks.register(relation, HookPoint::AfterAdd, hook(|_| Box::pin(async { Ok(()) })));
    /// assert!(hooks.any(|r| r.source_model == "Course"));
    /// assert!(!hooks.any(|r| r.source_model == "Student"));
    /// # Ok(()) }
    /// ```
    pub fn any(&self, pick: impl Fn(&HookedRelation) -> bool) -> bool {
        self.read().iter().any(|e| pick(&e.relation))
    }
}

/// The executor a hook runs its queries on: the operation's own connection, inside its
/// transaction. Each operation run through it gets a savepoint (always on PostgreSQL, where
/// a failed statement aborts the transaction; on SQLite for multi-statement operations), so
/// an error the hook handles leaves the operation's transaction usable and whole.
///
/// ```
/// # use throughline_db::*;
/// # use throughline_query::Statement;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = Database::connect("sqlite::memory:").await?;
/// let logged = db.run(Access::Atomic, op(|conn: &mut dyn Conn| Box::pin(async move {
///     conn.batch("CREATE TABLE log (n INTEGER)").await?;
///     // What a hook's queries run on: the operation's connection, in its transaction.
///     let exec = HookExecutor::new(&mut *conn, Hooks::new());
///     exec.run(Access::Atomic, op(|conn: &mut dyn Conn| Box::pin(async move {
///         conn.batch("INSERT INTO log VALUES (1)").await
///     }))).await?;
///     drop(exec);
///     conn.execute(&Statement::new("DELETE FROM log", vec![])).await
/// }))).await?;
/// assert_eq!(logged, 1);
/// # Ok(()) }
/// ```
pub struct HookExecutor<'c> {
    conn: tokio::sync::Mutex<&'c mut dyn Conn>,
    backend: Backend,
    hooks: Hooks,
}

impl<'c> HookExecutor<'c> {
    /// An executor over `conn`, an operation's connection, whose nested writes see `hooks`.
    ///
    /// ```
    /// # use throughline_db::*;
    /// # use throughline_query::Statement;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let backend = db.run(Access::Read, op(|conn: &mut dyn Conn| Box::pin(async move {
    ///     let exec = HookExecutor::new(conn, Hooks::new());
    ///     assert!(exec.hooks().is_empty());
    ///     Ok(exec.backend())
    /// }))).await?;
    /// assert_eq!(backend, db.backend());
    /// # Ok(()) }
    /// ```
    pub fn new(conn: &'c mut dyn Conn, hooks: Hooks) -> HookExecutor<'c> {
        let backend = conn.backend();
        HookExecutor {
            conn: tokio::sync::Mutex::new(conn),
            backend,
            hooks,
        }
    }
}

// The trait requires `impl Future + Send`; an `async fn` would not promise `Send`.
#[allow(clippy::manual_async_fn)]
impl Executor for HookExecutor<'_> {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn hooks(&self) -> &Hooks {
        &self.hooks
    }

    fn in_transaction(&self) -> bool {
        true
    }

    fn run<T: Send + 'static>(
        &self,
        access: Access,
        op: Op<T>,
    ) -> impl Future<Output = Result<T>> + Send {
        async move {
            let mut conn = self.conn.lock().await;
            let conn: &mut dyn Conn = &mut **conn;
            let aborts = throughline_query::dialect::capabilities(self.backend)?
                .statement_error_aborts_transaction;
            let savepoint = aborts || matches!(access, Access::Atomic | Access::Schema);
            if !savepoint {
                return op(conn).await;
            }
            conn.batch("SAVEPOINT \"tl_hook\"").await?;
            let result = op(&mut *conn).await;
            conn.batch(&crate::transaction::end_savepoint(
                "\"tl_hook\"",
                result.is_ok(),
            ))
            .await?;
            result
        }
    }
}

/// A hook's argument: the change and an executor inside the operation's transaction.
///
/// ```
/// # use throughline_db::*;
/// # use throughline_core::{Error, Result, Value};
/// # fn hook<F>(f: F) -> HookFn where F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>> + Send + Sync + 'static { std::sync::Arc::new(f) }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let db = Database::connect("sqlite::memory:").await?;
/// let refuse_bob: HookFn = hook(|ctx| Box::pin(async move {
///     ctx.exec.run(Access::Read, op(|conn: &mut dyn Conn| Box::pin(conn.batch("SELECT 1")))).await?;
///     if ctx.change.targets.contains(&Value::I64(2)) {
///         return Err(Error::validation("Enrollment", "student", "not bob"));
///     }
///     Ok(())
/// }));
/// let (ada, bob) = db.run(Access::Atomic, op(move |conn: &mut dyn Conn| Box::pin(async move {
///     let exec = HookExecutor::new(conn, Hooks::new());
///     let change = |target: i64| LinkChange {
///         point: HookPoint::BeforeAdd,
///         relation: "Course.students",
///         source: Value::I64(1),
///         targets: vec![Value::I64(target)],
///     };
///     let ada = refuse_bob(&HookContext { change: change(1), exec: &exec }).await.is_ok();
///     let bob = refuse_bob(&HookContext { change: change(2), exec: &exec }).await.is_ok();
///     Ok((ada, bob))
/// }))).await?;
/// assert_eq!((ada, bob), (true, false));
/// # Ok(()) }
/// ```
pub struct HookContext<'a, 'c> {
    /// What changed (or is about to).
    pub change: LinkChange,
    /// Runs queries in the operation's transaction.
    pub exec: &'a HookExecutor<'c>,
}
