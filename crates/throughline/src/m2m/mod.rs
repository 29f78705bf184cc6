//! Owns many-to-many relations: [`ManyRelation`] (the relation, generated as a constant by
//! `#[throughline(many_to_many(...))]`), [`ManyRelated`] (the relation seen from one saved
//! instance: `course.students()`), the write operations and their outcomes (SPEC §3).
//!
//! Every write is one operation (one transaction, one hop to SQLite's thread) with a
//! constant number of statements, whatever the number of targets: lock the declaring
//! side's row(s) (PostgreSQL `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` serializes writers),
//! read the existing rows of the requested pairs, insert the missing ones
//! (`ON CONFLICT DO NOTHING RETURNING` when a pair constraint exists), and, with
//! [`OnExisting::Update`], update the differing ones. Deletes return the deleted through
//! rows in full.
//!
//! The writes themselves are the engine's ([`throughline_engine::Relation`]): this module
//! turns instances into keys and typed values into field values, and decodes the through
//! rows the engine returns straight into `Th`.
//!
//! ```
//! use throughline::prelude::*;
//! # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
//! #[derive(Debug, Clone, Model)]
//! #[throughline(many_to_many(name = "students", to = Student, related_name = "courses"))]
//! struct Course { id: Option<i64>, title: String }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! # let db = Database::connect("sqlite::memory:").await?;
//! # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta());
//! # throughline::create_tables(&db, &r).await?;
//! let math = Course { id: None, title: "math".into() }.create(&db).await?;
//! let ann = Student { id: None, name: "ann".into() }.create(&db).await?;
//! let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
//! let added = math.students().add([&ann, &bob], &db).await?;
//! assert_eq!(added.linked.len(), 2);
//! // The same relation from the other side (`related_name`).
//! assert!(bob.courses().contains(&math, &db).await?);
//! let out = math.students().set([&ann], &db).await?; // bob's link is deleted
//! assert_eq!((out.kept.len(), out.removed.len()), (1, 1));
//! assert_eq!(bob.courses().count(&db).await?, 0);
//! # Ok(()) }
//! ```

use crate::Model;
use crate::fields::Q;
use crate::group::{self, Runs};
use crate::hooks::{HookContext, HookPoint};
use crate::keys::{key_column, link_value, referred_value, saved_key};
use crate::queryset::QuerySet;
use crate::through::{AddWithoutValues, ThroughValues, ThroughValuesFor};
use crate::value_types::FieldValue;
use std::marker::PhantomData;
use throughline_core::{Error, ManyToManyMeta, Result, Value};
use throughline_db::{BoxFuture, Executor, Row};
use throughline_engine::{Items, Linking, Relation, RelationSpec, Values, no_values};
use throughline_query::{FieldPath, Filter, FilterGroup, Hop, Lookup};

pub use throughline_engine::{AddOutcome, Differing, FieldDiff, OnExisting, SetOutcome, SetPlan};

/// A many-to-many relation from `S` to `T` through `Th`, `P` naming its two keys: a typed
/// handle to the relation's one description, the [`ManyToManyMeta`] in the declaring
/// model's schema (its through model and keys are read from there, not copied). The
/// derive macro generates one per declared relation (and its reverse).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)]
/// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
/// # struct Post { id: Option<i64>, title: String }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
/// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
/// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
/// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
/// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
/// let tags = Post::TAGS_RELATION;
/// assert_eq!(tags.accessor, "tags");
/// tags.of(&post).add([&rust], &db).await?;
/// assert!(post.tags().contains(&rust, &db).await?);
/// # Ok(()) }
/// ```
pub struct ManyRelation<S, T, Th, P> {
    /// The relation's name for messages, `Model.accessor`.
    pub name: &'static str,
    /// The name of the relation as declared (the same for both directions).
    pub declared: &'static str,
    /// The accessor the declaring model declared it with (its [`ManyToManyMeta::name`]).
    pub accessor: &'static str,
    /// Whether `S` is the model that declared the relation (its rows are the ones locked).
    pub declared_on_source: bool,
    _types: Types<S, T, Th, P>,
}

/// The relation's types, held without owning values of them.
type Types<S, T, Th, P> = PhantomData<fn() -> (S, T, Th, P)>;

impl<S, T, Th, P> Clone for ManyRelation<S, T, Th, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, T, Th, P> Copy for ManyRelation<S, T, Th, P> {}

impl<S: Model, T: Model, Th: Model, P> ManyRelation<S, T, Th, P> {
    /// A handle to the relation the declaring model (`S` when `declared_on_source`, else
    /// `T`) declares as `accessor` (generated by the macro, as `Post::TAGS_RELATION`
    /// here; a handle made by hand from the same parts is the same relation).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::ManyRelation;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// fn rebuilt<S: Model, T: Model, Th: Model, P>(r: ManyRelation<S, T, Th, P>) -> ManyRelation<S, T, Th, P> {
    ///     ManyRelation::new(r.name, r.declared, r.accessor, r.declared_on_source)
    /// }
    /// let tags = rebuilt(Post::TAGS_RELATION);
    /// assert!(tags.declared_on_source);
    /// tags.of(&post).add([&rust], &db).await?;
    /// assert!(post.tags().contains(&rust, &db).await?);
    /// # Ok(()) }
    /// ```
    pub const fn new(
        name: &'static str,
        declared: &'static str,
        accessor: &'static str,
        declared_on_source: bool,
    ) -> Self {
        ManyRelation {
            name,
            declared,
            accessor,
            declared_on_source,
            _types: PhantomData,
        }
    }

    /// The relation's description in the declaring model's schema.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// # let _ = grade;
    /// let m2m = Course::STUDENTS_RELATION.declaration()?;
    /// assert_eq!((m2m.name.as_str(), m2m.through.as_str()), ("students", "Enrollment"));
    /// # Ok(()) }
    /// ```
    pub fn declaration(&self) -> Result<&'static ManyToManyMeta> {
        let declaring = if self.declared_on_source {
            S::meta()
        } else {
            T::meta()
        };
        declaring
            .many_to_many
            .iter()
            .find(|m| m.name == self.accessor)
            .ok_or_else(|| {
                Error::invalid_query(
                    &declaring.name,
                    format!("no many-to-many relation `{}`", self.accessor),
                )
            })
    }

    /// The through model's foreign keys to `S` and to `T`, from this side.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// # let _ = grade;
    /// assert_eq!(Course::STUDENTS_RELATION.key_fields()?, ("course", "student"));
    /// assert_eq!(Student::COURSES_RELATION.key_fields()?, ("student", "course"));
    /// # Ok(()) }
    /// ```
    pub fn key_fields(&self) -> Result<(&'static str, &'static str)> {
        Ok(self.keys_of(self.declaration()?))
    }

    /// [`ManyRelation::key_fields`] of the declaration `m2m`.
    fn keys_of(&self, m2m: &'static ManyToManyMeta) -> (&'static str, &'static str) {
        let (declaring, other) = (m2m.source_field.as_str(), m2m.target_field.as_str());
        if self.declared_on_source {
            (declaring, other)
        } else {
            (other, declaring)
        }
    }

    /// Registers an async hook on the relation in `exec`'s database (both directions,
    /// direct writes to the through model, and deletes of either side's rows; see
    /// [`crate::hooks`]). Hooks belong to the database: its clones, transactions and
    /// wrappers see them; another database does not. An error only if the handle names no
    /// declared relation (never for a generated one).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use std::sync::{Arc, Mutex};
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = Arc::clone(&seen);
    /// Post::TAGS_RELATION.on(&db, HookPoint::AfterAdd, move |ctx| {
    ///     log.lock().unwrap().push((ctx.change.source.clone(), ctx.change.targets.len()));
    ///     Box::pin(async { Ok(()) })
    /// })?;
    /// post.tags().add([&rust, &go], &db).await?;
    /// assert_eq!(*seen.lock().unwrap(), [(post.pk_value(), 2)]);
    /// # Ok(()) }
    /// ```
    pub fn on<F>(&self, exec: &impl Executor, point: HookPoint, hook: F) -> Result<()>
    where
        F: for<'a, 'c> Fn(&'a HookContext<'a, 'c>) -> BoxFuture<'a, Result<()>>
            + Send
            + Sync
            + 'static,
    {
        let relation = self.spec()?.hooked();
        exec.hooks()
            .register(relation, point, std::sync::Arc::new(hook));
        Ok(())
    }

    /// Removes every hook of the relation from `exec`'s database.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let calls = Arc::new(AtomicUsize::new(0));
    /// let seen = Arc::clone(&calls);
    /// Post::TAGS_RELATION.on(&db, HookPoint::AfterAdd, move |_ctx| {
    ///     seen.fetch_add(1, Ordering::SeqCst);
    ///     Box::pin(async { Ok(()) })
    /// })?;
    /// post.tags().add([&rust], &db).await?;
    /// Post::TAGS_RELATION.clear_hooks(&db);
    /// post.tags().add([&go], &db).await?;
    /// assert_eq!(calls.load(Ordering::SeqCst), 1);
    /// # Ok(()) }
    /// ```
    pub fn clear_hooks(&self, exec: &impl Executor) {
        exec.hooks().clear(self.declared);
    }

    /// The relation as the engine runs it, resolved against the through model.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// # let _ = grade;
    /// let relation = Course::STUDENTS_RELATION.engine()?;
    /// assert_eq!(relation.through.name, "Enrollment");
    /// assert_eq!(relation.source_field, "course");
    /// # Ok(()) }
    /// ```
    pub fn engine(&self) -> Result<Relation> {
        Relation::new(self.spec()?)
    }

    /// What the engine needs to resolve the relation, read from its declaration.
    fn spec(&self) -> Result<RelationSpec> {
        let m2m = self.declaration()?;
        let (source_field, target_field) = self.keys_of(m2m);
        Ok(RelationSpec {
            name: self.name,
            declared: self.declared,
            source: S::meta(),
            target: T::meta(),
            through: Th::meta(),
            source_field,
            target_field,
            // A symmetrical relation has no reverse side.
            symmetrical: m2m.symmetrical && self.declared_on_source,
            declared_on_source: self.declared_on_source,
        })
    }

    /// The relation seen from `source`.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// Post::TAGS_RELATION.of(&post).add([&rust, &go], &db).await?;
    /// // The same as `post.tags()`.
    /// assert_eq!(post.tags().count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub fn of(&self, source: &S) -> ManyRelated<S, T, Th, P> {
        ManyRelated {
            relation: *self,
            source: self.source_value(source),
            on_existing: OnExisting::Skip,
        }
    }

    /// The fields of `S` and `T` that the through model's two keys refer to: `None` for a
    /// primary key, the field's name for a key declared with `to_field`.
    fn referred(&self) -> (Option<&'static str>, Option<&'static str>) {
        let Ok((source, target)) = self.key_fields() else {
            return (None, None);
        };
        let to_field = |name: &str| {
            Th::meta()
                .field(name)
                .and_then(|f| f.foreign_key.as_ref())
                .and_then(|fk| fk.to_field.as_deref())
        };
        (to_field(source), to_field(target))
    }

    /// The value `source` is linked by: an unsaved source has none yet (NULL, refused
    /// when used); a NULL `to_field` value (the `Err`) cannot be used at all (as Django).
    fn source_value(&self, source: &S) -> std::result::Result<Value, &'static str> {
        let key = source.pk_value();
        match self.referred().0 {
            Some(field) if !key.is_null() => {
                let value = referred_value(source, Some(field));
                if value.is_null() {
                    Err(field)
                } else {
                    Ok(value)
                }
            }
            _ => Ok(key),
        }
    }

    /// The value a saved `target` is linked by (its key, or its `to_field` value).
    fn target_value(&self, target: &T) -> Result<Value> {
        link_value(target, self.referred().1, self.name)
    }

    /// The values saved `targets` are linked by, in order.
    fn target_values<'t>(&self, targets: impl IntoIterator<Item = &'t T>) -> Result<Vec<Value>> {
        let referred = self.referred().1;
        targets
            .into_iter()
            .map(|t| link_value(t, referred, self.name))
            .collect()
    }

    /// The values the targets with primary keys `keys` are linked by: the keys themselves,
    /// or (for a key declared with `to_field`) their field's values, read in one query. A
    /// key of no row is an `Integrity(ForeignKey)` error, as the database gives for a link
    /// by key (left out with `skip_missing`, for a remove).
    async fn values_of_keys(
        &self,
        keys: Vec<Value>,
        skip_missing: bool,
        exec: &impl Executor,
    ) -> Result<Vec<Value>> {
        let Some(field) = self.referred().1 else {
            return Ok(keys);
        };
        if keys.is_empty() {
            return Ok(keys);
        }
        let pk = &T::meta().pk().name;
        let rows = QuerySet::<T>::from_groups(vec![FilterGroup::filter(Filter::cond(
            FieldPath::local(pk),
            Lookup::In(keys.clone()),
        ))])
        // On the primary: the write that follows depends on it.
        .values_with(
            vec![FieldPath::local(pk), FieldPath::local(field)],
            throughline_db::Access::ReadPrimary,
            exec,
        )
        .await?;
        let found: std::collections::HashMap<throughline_core::Key, Value> = rows
            .into_iter()
            .filter_map(|mut row| {
                let value = row.pop()?;
                let key = row.pop()?;
                Some((throughline_core::Key::of(&key), value))
            })
            .collect();
        keys.iter()
            .filter(|key| !skip_missing || found.contains_key(&throughline_core::Key::of(key)))
            .map(|key| match found.get(&throughline_core::Key::of(key)) {
                None => Err(Error::Integrity {
                    kind: throughline_core::IntegrityKind::ForeignKey,
                    constraint: None,
                    model: Some(Th::MODEL_NAME.to_owned()),
                    message: format!("{} has no row with key {}", T::MODEL_NAME, key.display()),
                }),
                Some(value) if value.is_null() => Err(throughline_engine::null_reference(
                    T::meta(),
                    T::meta().field(field).unwrap_or_else(|| T::meta().pk()),
                    self.name,
                )),
                Some(value) => Ok(value.clone()),
            })
            .collect()
    }

    /// The hop from `T` to the through rows referring to it.
    fn target_to_through(&self) -> Result<Hop> {
        Hop::reverse(T::meta(), Th::meta(), self.key_fields()?.1)
    }

    /// The through rows of every source, each with its target loaded, in one query, aligned
    /// with `sources` (Django's `prefetch_related` of a many-to-many, with the through
    /// rows). Each source's rows are ordered by the through model's default ordering, else
    /// by its key.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// let art = Course { id: None, title: "art".into() }.create(&db).await?;
    /// math.students().add_with([&alice, &bob], grade("B"), &db).await?;
    /// art.students().add_with([&bob], grade("A"), &db).await?;
    /// let courses = vec![math, art];
    /// let links = Course::STUDENTS_RELATION.prefetch(&courses, &db).await?;
    /// assert_eq!(links.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    /// // Each through row comes with its student loaded.
    /// assert_eq!(links[1][0].student.loaded().map(|s| s.name.as_str()), Some("bob"));
    /// assert_eq!(links[1][0].grade, "A");
    /// # Ok(()) }
    /// ```
    pub async fn prefetch(&self, sources: &[S], exec: &impl Executor) -> Result<Vec<Vec<Th>>> {
        let referred = self.referred().0;
        let link_of = |source: &S| referred_value(source, referred);
        let keys: Vec<Value> = sources
            .iter()
            .map(link_of)
            .filter(|k| !k.is_null())
            .collect();
        if keys.is_empty() {
            return Ok(sources.iter().map(|_| Vec::new()).collect());
        }
        // Each source's rows are sorted here by an integer key rather than by the database:
        // PostgreSQL would sort every joined row before sending the first (a Sort over the
        // hash join, ~15 % of a 10,000-row prefetch), and SQLite needs a temporary B-tree
        // unless the source column has an index of its own (it does not when the pair's
        // unique constraint starts with it). Rows that arrive in order (SQLite reading the
        // source's own index) cost one check.
        let sort_here = group::sorted_here::<Th>();
        let column = key_column::<Th>(self.key_fields()?.0)?;
        let runs = self
            .links_query(Lookup::In(keys), !sort_here)?
            .fold(exec, Runs::default(), move |runs, link| {
                runs.push(link, |link| link.related_key(column));
                Ok(())
            })
            .await?;
        let mut groups = runs.into_groups(sources.iter().map(link_of));
        if sort_here {
            group::in_key_order(&mut groups);
        }
        Ok(groups)
    }

    /// Through rows whose source key matches `lookup`, with the target loaded; ordered by
    /// the through model's default ordering, else (if `ordered`) by source, then key.
    fn links_query(&self, lookup: Lookup, ordered: bool) -> Result<QuerySet<Th>> {
        let (source_field, target_field) = self.key_fields()?;
        let hop = Hop::forward(Th::meta(), target_field, T::meta())?;
        // Without a default ordering and unless the caller sorts: by source, then key.
        let mut order = Vec::new();
        if Th::meta().ordering.is_empty() && ordered {
            for field in [source_field, Th::meta().pk().name.as_str()] {
                order.push(throughline_query::OrderBy::asc(FieldPath::local(field)));
            }
        }
        let mut groups = vec![FilterGroup::filter(Filter::cond(
            FieldPath::local(source_field),
            lookup,
        ))];
        // The targets the target model's default filter hides are not seen (Django's
        // related manager reads the target's default manager).
        if let Some(visible) = T::default_filter() {
            groups.push(FilterGroup::filter(
                visible.prefixed(std::slice::from_ref(&hop)),
            ));
        }
        let qs = QuerySet::<Th>::from_groups(groups).select_related_hops(target_field, vec![hop]);
        Ok(if order.is_empty() {
            qs
        } else {
            qs.order_by(order)
        })
    }
}

/// A many-to-many relation seen from one instance (`course.students()`): reads and writes
/// of its links. An unsaved source makes every operation fail with [`Error::Unsaved`].
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)]
/// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
/// # struct Post { id: Option<i64>, title: String }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
/// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
/// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
/// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
/// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
/// let tags = post.tags();
/// tags.add([&rust, &go], &db).await?;
/// assert_eq!(tags.count(&db).await?, 2);
/// tags.remove([&go], &db).await?;
/// assert_eq!(tags.all(&db).await?.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["rust"]);
/// // An unsaved source cannot have links.
/// let draft = Post { id: None, title: "draft".into() };
/// assert!(matches!(draft.tags().count(&db).await, Err(throughline::Error::Unsaved { .. })));
/// # Ok(()) }
/// ```
pub struct ManyRelated<S, T, Th, P> {
    relation: ManyRelation<S, T, Th, P>,
    /// The value the source is linked by (its key, or its `to_field` value), or the
    /// `to_field` whose value is NULL (the source cannot use the relation).
    source: std::result::Result<Value, &'static str>,
    on_existing: OnExisting,
}

impl<S: Model, T: Model, Th: Model, P> ManyRelated<S, T, Th, P> {
    /// The policy for pairs that are already linked (default: skip, as Django).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_with([&alice], grade("B"), &db).await?;
    /// // By default an existing link is left alone (and reported).
    /// let out = math.students().add_with([&alice], grade("A"), &db).await?;
    /// assert_eq!(out.already_linked.len(), 1);
    /// math.students().on_existing(OnExisting::Update).add_with([&alice], grade("A"), &db).await?;
    /// let link = Enrollment::objects().get(Enrollment::STUDENT.eq(&alice), &db).await?;
    /// assert_eq!(link.grade, "A");
    /// let refused = math.students().on_existing(OnExisting::Fail).add_with([&alice], grade("C"), &db).await;
    /// assert!(refused.is_err());
    /// # Ok(()) }
    /// ```
    pub fn on_existing(mut self, policy: OnExisting) -> Self {
        self.on_existing = policy;
        self
    }

    fn source_key(&self) -> Result<Value> {
        match &self.source {
            Err(field) => Err(throughline_engine::null_reference(
                S::meta(),
                S::meta().field(field).unwrap_or_else(|| S::meta().pk()),
                self.relation.name,
            )),
            Ok(source) if source.is_null() => Err(Error::Unsaved {
                model: S::MODEL_NAME.to_owned(),
                action: format!("using relation {}", self.relation.name),
            }),
            Ok(source) => Ok(source.clone()),
        }
    }

    /// The targets, as a queryset (filter, order, count... on target and through fields).
    /// The first `filter` applies to the same through row as the relation's own condition
    /// (as Django), so `filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A+"))` reads
    /// the grade of this course's enrollment.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_with([&alice, &bob], grade("B"), &db).await?;
    /// let names = math.students().query()?
    ///     .order_by([Student::NAME.desc()])
    ///     .values_list(Student::NAME, &db)
    ///     .await?;
    /// assert_eq!(names, ["bob", "alice"]);
    /// # Ok(()) }
    /// ```
    pub fn query(&self) -> Result<QuerySet<T>> {
        Ok(
            QuerySet::from_groups(vec![FilterGroup::filter(self.linked_to_source()?)])
                .make_sticky(),
        )
    }

    /// The condition on `T` of being linked to this source (through the through model).
    fn linked_to_source(&self) -> Result<Filter> {
        let hop = self.relation.target_to_through()?;
        let path = FieldPath {
            hops: vec![hop],
            field: self.relation.key_fields()?.0.to_owned(),
        };
        Ok(Filter::cond(path, Lookup::Exact(self.source_key()?)))
    }

    /// Every target (a pair with two through rows yields its target twice, as Django; use
    /// `query()?.distinct()` for one each).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// post.tags().add([&rust, &web], &db).await?;
    /// let mut names: Vec<String> = post.tags().all(&db).await?.into_iter().map(|t| t.name).collect();
    /// names.sort();
    /// assert_eq!(names, ["rust", "web"]);
    /// # Ok(()) }
    /// ```
    pub async fn all(&self, exec: &impl Executor) -> Result<Vec<T>> {
        self.query()?.all(exec).await
    }

    /// The targets matching `q` (on target fields, or through fields reached from the
    /// target; conditions apply to this relation's through row).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_with([&alice], grade("A"), &db).await?;
    /// math.students().add_with([&bob], grade("C"), &db).await?;
    /// // A condition on this course's enrollment of each student.
    /// let top = math.students()
    ///     .filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A"))?
    ///     .all(&db)
    ///     .await?;
    /// assert_eq!(top.len(), 1);
    /// assert_eq!(top[0].name, "alice");
    /// # Ok(()) }
    /// ```
    pub fn filter(&self, q: Q<T>) -> Result<QuerySet<T>> {
        Ok(self.query()?.filter(q))
    }

    /// The number of links (through rows).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// assert_eq!(post.tags().count(&db).await?, 0);
    /// post.tags().add([&rust, &go, &web], &db).await?;
    /// assert_eq!(post.tags().count(&db).await?, 3);
    /// # Ok(()) }
    /// ```
    pub async fn count(&self, exec: &impl Executor) -> Result<u64> {
        self.query()?.count(exec).await
    }

    /// Whether any target is linked.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// assert!(!post.tags().exists(&db).await?);
    /// post.tags().add([&go], &db).await?;
    /// assert!(post.tags().exists(&db).await?);
    /// # Ok(()) }
    /// ```
    pub async fn exists(&self, exec: &impl Executor) -> Result<bool> {
        self.query()?.exists(exec).await
    }

    /// Whether `target` is linked.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// post.tags().add([&rust], &db).await?;
    /// assert!(post.tags().contains(&rust, &db).await?);
    /// assert!(!post.tags().contains(&go, &db).await?);
    /// # Ok(()) }
    /// ```
    pub async fn contains(&self, target: &T, exec: &impl Executor) -> Result<bool> {
        let key = saved_key(target)?;
        let pk = FieldPath::local(&T::meta().pk().name);
        let mut qs = self.query()?;
        qs = qs.filter(Q::new(Filter::cond(pk, Lookup::Exact(key))));
        qs.exists(exec).await
    }

    /// The through rows of this source, each with its target loaded (Django's
    /// `Enrollment.objects.filter(course=c).select_related("student")`).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_with([&alice], grade("B+"), &db).await?;
    /// let links: Vec<Enrollment> = math.students().links()?.all(&db).await?;
    /// assert_eq!(links.len(), 1);
    /// assert_eq!(links[0].grade, "B+");
    /// assert_eq!(links[0].student.loaded().map(|s| s.name.as_str()), Some("alice"));
    /// # Ok(()) }
    /// ```
    pub fn links(&self) -> Result<QuerySet<Th>> {
        self.relation
            .links_query(Lookup::Exact(self.source_key()?), true)
    }

    /// The engine's writer for this source, with the policy set.
    fn linking(&self) -> Result<Linking> {
        Ok(self
            .relation
            .engine()?
            .from(self.source_key()?)
            .on_existing(self.on_existing))
    }

    /// Links `targets` (rows of pairs already linked are left alone and reported). Only
    /// compiles when every extra field of the through model has a default; otherwise use
    /// [`ManyRelated::add_with`].
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// let out = post.tags().add([&rust, &go], &db).await?;
    /// assert_eq!(out.linked.len(), 2);
    /// // A pair already linked is skipped and reported.
    /// let out = post.tags().add([&rust, &web], &db).await?;
    /// assert_eq!((out.linked.len(), out.already_linked.len()), (1, 1));
    /// assert_eq!(post.tags().count(&db).await?, 3);
    /// # Ok(()) }
    /// ```
    pub async fn add<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<AddOutcome>
    where
        Th: AddWithoutValues<P>,
    {
        self.write_add(self.items_of(targets, no_values())?, exec)
            .await
    }

    /// Links `targets` with `values` for their through rows (Django's `through_defaults`).
    /// The values are computed once, by the caller, and shared by every row of the call
    /// (both directions of a symmetrical relation included).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// let out = math.students().add_with([&alice, &bob], grade("B"), &db).await?;
    /// assert_eq!(out.linked.len(), 2);
    /// let grades = Enrollment::objects().values_list(Enrollment::GRADE, &db).await?;
    /// assert_eq!(grades, ["B", "B"]);
    /// // Reverse direction: the same values type, also named `StudentCoursesValues`.
    /// let art = Course { id: None, title: "art".into() }.create(&db).await?;
    /// alice.courses().add_with([&art], StudentCoursesValues { grade: "A".into() }, &db).await?;
    /// assert_eq!(art.students().count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn add_with<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<AddOutcome>
    where
        Th: ThroughValuesFor<P>,
    {
        self.write_add(self.items_of(targets, Values::from(values.passed()))?, exec)
            .await
    }

    /// Links each target with its own values, in one call (Django rejected per-target values,
    /// ticket #9475).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_each([(&alice, grade("A")), (&bob, grade("C"))], &db).await?;
    /// let grades = Enrollment::objects()
    ///     .order_by([Enrollment::GRADE.asc()])
    ///     .values_list(Enrollment::GRADE, &db)
    ///     .await?;
    /// assert_eq!(grades, ["A", "C"]);
    /// # Ok(()) }
    /// ```
    pub async fn add_each<'t>(
        &self,
        items: impl IntoIterator<Item = (&'t T, <Th as ThroughValuesFor<P>>::Values)>,
        exec: &impl Executor,
    ) -> Result<AddOutcome>
    where
        Th: ThroughValuesFor<P>,
    {
        let mut prepared = Vec::new();
        for (target, values) in items {
            prepared.push((
                self.relation.target_value(target)?,
                Values::from(values.passed()),
            ));
        }
        self.write_add(prepared, exec).await
    }

    /// [`ManyRelated::add`] by key, without loading or building the targets (Django's
    /// `add(3, 5)`). A key of the wrong type does not compile; a key of no row is an
    /// [`Error::Integrity`] of kind
    /// [`IntegrityKind::ForeignKey`](throughline_core::IntegrityKind::ForeignKey) and
    /// nothing is written.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// let key: i64 = rust.id.unwrap();
    /// let outcome = post.tags().add_keys([key], &db).await?;
    /// assert_eq!(outcome.linked.len(), 1);
    /// assert!(post.tags().add_keys([999], &db).await.is_err());
    /// assert_eq!(post.tags().count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn add_keys(
        &self,
        keys: impl IntoIterator<Item = T::Key>,
        exec: &impl Executor,
    ) -> Result<AddOutcome>
    where
        Th: AddWithoutValues<P>,
    {
        let values = no_values();
        let keys = keys.into_iter().map(|key| key.to_value()).collect();
        let items = self
            .relation
            .values_of_keys(keys, false, exec)
            .await?
            .into_iter()
            .map(|key| (key, values.clone()))
            .collect();
        self.write_add(items, exec).await
    }

    /// [`ManyRelated::add_with`] by key (see [`ManyRelated::add_keys`]).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// let keys: Vec<i64> = vec![alice.id.unwrap(), bob.id.unwrap()];
    /// let out = math.students().add_keys_with(keys, grade("B"), &db).await?;
    /// assert_eq!(out.linked.len(), 2);
    /// // A key of no row is an error, and nothing is written.
    /// assert!(math.students().add_keys_with([999], grade("B"), &db).await.is_err());
    /// assert_eq!(math.students().count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn add_keys_with(
        &self,
        keys: impl IntoIterator<Item = T::Key>,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<AddOutcome>
    where
        Th: ThroughValuesFor<P>,
    {
        let values = Values::from(values.passed());
        let keys = keys.into_iter().map(|key| key.to_value()).collect();
        let items = self
            .relation
            .values_of_keys(keys, false, exec)
            .await?
            .into_iter()
            .map(|key| (key, values.clone()))
            .collect();
        self.write_add(items, exec).await
    }

    /// Creates `target` and links it, in one transaction.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// let (tag, out) = post.tags().create(Tag { id: None, name: "async".into() }, &db).await?;
    /// assert!(tag.id.is_some());
    /// assert_eq!(out.linked.len(), 1);
    /// assert!(post.tags().contains(&tag, &db).await?);
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, target: T, exec: &impl Executor) -> Result<(T, AddOutcome)>
    where
        Th: AddWithoutValues<P>,
    {
        self.create_inner(target, no_values(), exec).await
    }

    /// Creates `target` and links it with `values`, in one transaction.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// let (carol, _) = math
    ///     .students()
    ///     .create_with(Student { id: None, name: "carol".into() }, grade("A"), &db)
    ///     .await?;
    /// let link = Enrollment::objects().get(Enrollment::STUDENT.eq(&carol), &db).await?;
    /// assert_eq!(link.grade, "A");
    /// # Ok(()) }
    /// ```
    pub async fn create_with(
        &self,
        target: T,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<(T, AddOutcome)>
    where
        Th: ThroughValuesFor<P>,
    {
        self.create_inner(target, Values::from(values.passed()), exec)
            .await
    }

    /// The linked target matching `q`, or `target` created and linked when none is
    /// linked, in one transaction (Django's `course.students.get_or_create(...)`): the
    /// flag says whether it was created. As Django, only linked targets are looked at: a
    /// matching row that is not linked is not found, and a new one is created. Only
    /// compiles when the through model needs no values; see
    /// [`ManyRelated::get_or_create_with`].
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// let rust = || Tag { id: None, name: "rust".into() };
    /// let (tag, created) = post.tags().get_or_create(Tag::NAME.eq("rust"), rust(), &db).await?;
    /// assert!(created);
    /// let (again, created) = post.tags().get_or_create(Tag::NAME.eq("rust"), rust(), &db).await?;
    /// assert!(!created);
    /// assert_eq!(again.id, tag.id);
    /// # Ok(()) }
    /// ```
    pub async fn get_or_create(&self, q: Q<T>, target: T, exec: &impl Executor) -> Result<(T, bool)>
    where
        Th: AddWithoutValues<P>,
    {
        self.find_or_create(q, target, no_values(), None, exec)
            .await
    }

    /// [`ManyRelated::get_or_create`] with `values` for the through row it inserts.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// let carol = || Student { id: None, name: "carol".into() };
    /// let (s, created) = math.students().get_or_create_with(Student::NAME.eq("carol"), carol(), grade("B"), &db).await?;
    /// assert!(created);
    /// let (again, created) = math.students().get_or_create_with(Student::NAME.eq("carol"), carol(), grade("B"), &db).await?;
    /// assert_eq!((again.id, created), (s.id, false));
    /// assert_eq!(math.students().count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn get_or_create_with(
        &self,
        q: Q<T>,
        target: T,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<(T, bool)>
    where
        Th: ThroughValuesFor<P>,
    {
        self.find_or_create(q, target, Values::from(values.passed()), None, exec)
            .await
    }

    /// The linked target matching `q` changed by `update` and saved, or `target` created
    /// and linked when none is linked, in one transaction (Django's related-manager
    /// `update_or_create`); the flag says whether it was created.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String, uses: i32 }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// let new = || Tag { id: None, name: "rust".into(), uses: 1 };
    /// post.tags().update_or_create(Tag::NAME.eq("rust"), new(), |t| t.uses += 1, &db).await?;
    /// let (tag, created) =
    ///     post.tags().update_or_create(Tag::NAME.eq("rust"), new(), |t| t.uses += 1, &db).await?;
    /// assert_eq!((tag.uses, created), (2, false));
    /// # Ok(()) }
    /// ```
    pub async fn update_or_create(
        &self,
        q: Q<T>,
        target: T,
        update: impl FnOnce(&mut T) + Send + 'static,
        exec: &impl Executor,
    ) -> Result<(T, bool)>
    where
        Th: AddWithoutValues<P>,
    {
        self.find_or_create(q, target, no_values(), Some(updater(update)), exec)
            .await
    }

    /// [`ManyRelated::update_or_create`] with `values` for the through row it inserts.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// let carol = || Student { id: None, name: "carol".into() };
    /// let rename = |s: &mut Student| s.name = "Carol".into();
    /// let (_, created) = math.students().update_or_create_with(Student::NAME.eq("carol"), carol(), rename, grade("B"), &db).await?;
    /// assert!(created);
    /// let (s, created) = math.students().update_or_create_with(Student::NAME.eq("carol"), carol(), rename, grade("B"), &db).await?;
    /// assert_eq!((s.name.as_str(), created), ("Carol", false));
    /// # Ok(()) }
    /// ```
    pub async fn update_or_create_with(
        &self,
        q: Q<T>,
        target: T,
        update: impl FnOnce(&mut T) + Send + 'static,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<(T, bool)>
    where
        Th: ThroughValuesFor<P>,
    {
        let values = Values::from(values.passed());
        self.find_or_create(q, target, values, Some(updater(update)), exec)
            .await
    }

    async fn find_or_create(
        &self,
        q: Q<T>,
        mut target: T,
        values: Values,
        update: Option<throughline_engine::UpdateFound<T>>,
        exec: &impl Executor,
    ) -> Result<(T, bool)> {
        // The found target is read under a row lock when it will be updated: two callers
        // changing it from its current values (`uses += 1`) must not both read the same.
        let mut find = self.filter(q)?.limit(2).query().clone();
        find.projection = throughline_query::Projection::Rows;
        find.for_update = update.is_some()
            && throughline_query::dialect::capabilities(exec.backend())?.select_for_update;
        let find = find.render(exec.backend())?;
        let linking = self.linking()?;
        target.before_save(true);
        let found = linking
            .get_or_create(
                find,
                |row| T::from_row(row, 0),
                target.to_values(),
                values,
                update,
                exec,
            )
            .await?;
        match found {
            throughline_engine::Found::Existing(existing) => Ok((existing, false)),
            throughline_engine::Found::Created(key, _) => {
                target.set_pk_value(key)?;
                Ok((target, true))
            }
        }
    }

    async fn create_inner(
        &self,
        mut target: T,
        values: Values,
        exec: &impl Executor,
    ) -> Result<(T, AddOutcome)> {
        let linking = self.linking()?;
        target.before_save(true);
        let (key, outcome) = linking.create(target.to_values(), values, exec).await?;
        target.set_pk_value(key)?;
        Ok((target, outcome))
    }

    /// The link values of saved `targets`, each with the call's `values` (shared, not
    /// copied).
    fn items_of<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        values: Values,
    ) -> Result<Items> {
        targets
            .into_iter()
            .map(|t| Ok((self.relation.target_value(t)?, values.clone())))
            .collect()
    }

    async fn write_add(&self, items: Items, exec: &impl Executor) -> Result<AddOutcome> {
        self.linking()?.add(items, exec).await
    }

    /// Makes the linked targets exactly `targets`: rows of pairs that stay are untouched
    /// (their values survive), the others are deleted and returned, new pairs inserted.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// post.tags().add([&rust, &go], &db).await?;
    /// let out = post.tags().set([&go, &web], &db).await?;
    /// assert_eq!(out.kept.len(), 1);          // go: its row untouched
    /// assert_eq!(out.added.linked.len(), 1);  // web
    /// assert_eq!(out.removed.len(), 1);       // rust's through row, returned in full
    /// assert!(!post.tags().contains(&rust, &db).await?);
    /// # Ok(()) }
    /// ```
    pub async fn set<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: AddWithoutValues<P>,
    {
        self.write_set(
            self.relation.target_values(targets)?,
            no_values(),
            false,
            exec,
        )
        .await
    }

    /// [`ManyRelated::set`] by key (see [`ManyRelated::add_keys`]): a key of no row is
    /// an error and nothing is written, not even the deletions.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// post.tags().add([&rust], &db).await?;
    /// let out = post.tags().set_keys([go.id.unwrap(), web.id.unwrap()], &db).await?;
    /// assert_eq!((out.added.linked.len(), out.removed.len()), (2, 1));
    /// // A key of no row writes nothing, not even the deletions.
    /// assert!(post.tags().set_keys([999], &db).await.is_err());
    /// assert_eq!(post.tags().count(&db).await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn set_keys(
        &self,
        keys: impl IntoIterator<Item = T::Key>,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: AddWithoutValues<P>,
    {
        let wanted = keys.into_iter().map(|key| key.to_value()).collect();
        let wanted = self.relation.values_of_keys(wanted, false, exec).await?;
        self.write_set(wanted, no_values(), false, exec).await
    }

    /// [`ManyRelated::set_with`] by key.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_with([&alice], grade("A"), &db).await?;
    /// let out = math.students().set_keys_with([bob.id.unwrap()], grade("C"), &db).await?;
    /// assert_eq!(out.removed[0].grade, "A");
    /// let grades = Enrollment::objects().values_list(Enrollment::GRADE, &db).await?;
    /// assert_eq!(grades, ["C"]);
    /// # Ok(()) }
    /// ```
    pub async fn set_keys_with(
        &self,
        keys: impl IntoIterator<Item = T::Key>,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: ThroughValuesFor<P>,
    {
        let wanted = keys.into_iter().map(|key| key.to_value()).collect();
        let wanted = self.relation.values_of_keys(wanted, false, exec).await?;
        self.write_set(wanted, Values::from(values.passed()), false, exec)
            .await
    }

    /// [`ManyRelated::set`], with values for the rows it inserts.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_with([&alice], grade("A"), &db).await?;
    /// let out = math.students().set_with([&alice, &bob], grade("C"), &db).await?;
    /// assert_eq!((out.kept.len(), out.added.linked.len()), (1, 1));
    /// // alice's row stays as it was.
    /// let alice_link = Enrollment::objects().get(Enrollment::STUDENT.eq(&alice), &db).await?;
    /// assert_eq!(alice_link.grade, "A");
    /// # Ok(()) }
    /// ```
    pub async fn set_with<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: ThroughValuesFor<P>,
    {
        self.write_set(
            self.relation.target_values(targets)?,
            Values::from(values.passed()),
            false,
            exec,
        )
        .await
    }

    /// Django's `set(objs, clear=True)`: deletes every link, then links `targets` anew, so
    /// the values of pairs that stay are reset (and returned among the deleted rows).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// post.tags().add([&rust, &go], &db).await?;
    /// let out = post.tags().clear_and_set([&go], &db).await?;
    /// // Every row was deleted, go's included, and go linked anew.
    /// assert_eq!((out.removed.len(), out.added.linked.len()), (2, 1));
    /// assert_eq!(post.tags().count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn clear_and_set<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: AddWithoutValues<P>,
    {
        self.write_set(
            self.relation.target_values(targets)?,
            no_values(),
            true,
            exec,
        )
        .await
    }

    /// [`ManyRelated::clear_and_set`] with values for the rows it inserts.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_with([&alice], grade("A"), &db).await?;
    /// let out = math.students().clear_and_set_with([&alice], grade("B"), &db).await?;
    /// assert_eq!(out.removed[0].grade, "A");
    /// let link = Enrollment::objects().get(Enrollment::STUDENT.eq(&alice), &db).await?;
    /// assert_eq!(link.grade, "B");
    /// # Ok(()) }
    /// ```
    pub async fn clear_and_set_with<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        values: <Th as ThroughValuesFor<P>>::Values,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>>
    where
        Th: ThroughValuesFor<P>,
    {
        self.write_set(
            self.relation.target_values(targets)?,
            Values::from(values.passed()),
            true,
            exec,
        )
        .await
    }

    /// What [`ManyRelated::set`] would do, without writing.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// post.tags().add([&rust, &go], &db).await?;
    /// let plan = post.tags().plan_set([&go, &web], &db).await?;
    /// assert_eq!((plan.keep.len(), plan.add.len(), plan.remove.len()), (1, 1, 1));
    /// // Nothing was written.
    /// assert!(post.tags().contains(&rust, &db).await?);
    /// # Ok(()) }
    /// ```
    pub async fn plan_set<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<SetPlan<Th>> {
        let linking = self.linking()?;
        linking
            .plan_set(self.relation.target_values(targets)?, decode::<Th>, exec)
            .await
    }

    async fn write_set(
        &self,
        wanted: Vec<Value>,
        values: Values,
        clear_first: bool,
        exec: &impl Executor,
    ) -> Result<SetOutcome<Th>> {
        // As Django's related manager, which sees only the targets the default filter
        // keeps: `set` leaves the links of hidden targets alone, read inside its
        // transaction.
        self.guarded(exec)?
            .set(wanted, values, clear_first, decode::<Th>, exec)
            .await
    }

    /// The engine's writer, protecting the links of targets the target model's default
    /// filter hides (none without one): `set` keeps them, `clear` refuses to delete them.
    fn guarded(&self, exec: &impl Executor) -> Result<Linking> {
        let linking = self.linking()?;
        let Some(visible) = T::default_filter() else {
            return Ok(linking);
        };
        let mut query = throughline_query::SelectQuery::new(T::meta());
        query.filter(self.linked_to_source()?);
        query.exclude(visible);
        query.projection = throughline_query::Projection::Columns(vec![FieldPath::local(
            self.relation.referred().1.unwrap_or(&T::meta().pk().name),
        )]);
        Ok(linking.keeping(query.render(exec.backend())?))
    }

    /// Unlinks `targets`: deletes every through row of each pair (several if the through
    /// model allows them) and returns them.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_with([&alice, &bob], grade("B"), &db).await?;
    /// let removed: Vec<Enrollment> = math.students().remove([&alice], &db).await?;
    /// assert_eq!(removed.len(), 1);
    /// assert_eq!(removed[0].grade, "B");
    /// assert_eq!(math.students().count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn remove<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t T>,
        exec: &impl Executor,
    ) -> Result<Vec<Th>> {
        let linking = self.linking()?;
        linking
            .remove(self.relation.target_values(targets)?, decode::<Th>, exec)
            .await
    }

    /// [`ManyRelated::remove`] by key: a key that is not linked (or of no row) removes
    /// nothing, as Django's `remove(pk)`.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// post.tags().add([&rust, &go], &db).await?;
    /// let removed = post.tags().remove_keys([rust.id.unwrap(), 999], &db).await?;
    /// assert_eq!(removed.len(), 1);
    /// assert_eq!(post.tags().count(&db).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn remove_keys(
        &self,
        keys: impl IntoIterator<Item = T::Key>,
        exec: &impl Executor,
    ) -> Result<Vec<Th>> {
        let linking = self.linking()?;
        let keys = keys.into_iter().map(|key| key.to_value()).collect();
        let keys = self.relation.values_of_keys(keys, true, exec).await?;
        linking.remove(keys, decode::<Th>, exec).await
    }

    /// Deletes only the through rows of `target` matching `q` (a wider link key: the
    /// TopicSystem row of one service) and returns them.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
    /// # struct Enrollment {
    /// #     id: Option<i64>,
    /// #     #[throughline(related_name = "enrollments")] student: ForeignKey<Student>,
    /// #     #[throughline(related_name = "enrollments")] course: ForeignKey<Course>,
    /// #     grade: String,
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let alice = Student { id: None, name: "alice".into() }.create(&db).await?;
    /// # let bob = Student { id: None, name: "bob".into() }.create(&db).await?;
    /// // Course math, students alice and bob, linked through `Enrollment` (with a `grade`).
    /// let grade = |g: &str| CourseStudentsValues { grade: g.into() };
    /// math.students().add_with([&alice], grade("F"), &db).await?;
    /// let kept = math.students().remove_where(&alice, Enrollment::GRADE.eq("A"), &db).await?;
    /// assert!(kept.is_empty());
    /// let removed = math.students().remove_where(&alice, Enrollment::GRADE.eq("F"), &db).await?;
    /// assert_eq!(removed.len(), 1);
    /// assert!(!math.students().exists(&db).await?);
    /// # Ok(()) }
    /// ```
    pub async fn remove_where(
        &self,
        target: &T,
        q: Q<Th>,
        exec: &impl Executor,
    ) -> Result<Vec<Th>> {
        let linking = self.linking()?;
        let key = self.relation.target_value(target)?;
        linking
            .remove_where(key, q.into_filter(), decode::<Th>, exec)
            .await
    }

    /// Unlinks every target and returns the deleted through rows. When the target model
    /// has a default filter and some linked targets are hidden by it, nothing is deleted
    /// and the call is an [`Error::InvalidQuery`] (Django's `clear` would leave those
    /// links; deleting them would lose them silently).
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Tag { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "tags", to = Tag, related_name = "posts"))]
    /// # struct Post { id: Option<i64>, title: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Tag::meta()).register(Post::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let post = Post { id: None, title: "hello".into() }.create(&db).await?;
    /// # let rust = Tag { id: None, name: "rust".into() }.create(&db).await?;
    /// # let go = Tag { id: None, name: "go".into() }.create(&db).await?;
    /// # let web = Tag { id: None, name: "web".into() }.create(&db).await?;
    /// // A post, and the tags rust, go and web (`Post` declares `many_to_many(name = "tags", to = Tag)`).
    /// post.tags().add([&rust, &go, &web], &db).await?;
    /// let removed = post.tags().clear(&db).await?;
    /// assert_eq!(removed.len(), 3);
    /// assert!(!post.tags().exists(&db).await?);
    /// // The tags themselves remain.
    /// assert_eq!(Tag::objects().count(&db).await?, 3);
    /// # Ok(()) }
    /// ```
    pub async fn clear(&self, exec: &impl Executor) -> Result<Vec<Th>> {
        self.guarded(exec)?.clear(decode::<Th>, exec).await
    }
}

/// The engine's form of an `update_or_create` change: apply it, refresh `auto_now`
/// fields, and hand back the row to write.
fn updater<T: Model>(
    update: impl FnOnce(&mut T) + Send + 'static,
) -> throughline_engine::UpdateFound<T> {
    Box::new(move |mut found: T| {
        update(&mut found);
        found.before_save(false);
        let row = found.to_values();
        Ok((found, row))
    })
}

/// Decodes a through row the engine returns straight into `Th`.
fn decode<Th: Model>(row: &Row<'_>) -> Result<Th> {
    Th::from_row(row, 0)
}
