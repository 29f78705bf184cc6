//! Owns the compile-time side of through models: the traits the derive macro implements so
//! that `add()` without values does not compile when an extra field of the through model
//! has no default (SPEC §8.1), the typed values of `add_with`, and the check that a
//! relation's two foreign keys exist on its through model.
//!
//! A relation's two keys are identified at the type level by [`FieldKey`], a hash of the
//! foreign-key field's name, so the check is per key pair (TopicSystem's third key is an
//! extra field of the (topic, system) pair).
//!
//! ```
//! use throughline::prelude::*;
//! # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
//! #[derive(Debug, Clone, Model)]
//! #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
//! struct Course { id: Option<i64>, title: String }
//!
//! #[derive(Debug, Clone, Model)]
//! struct Enrollment {
//!     id: Option<i64>,
//!     course: ForeignKey<Course>,
//!     student: ForeignKey<Student>,
//!     grade: String,         // required: `add` does not compile, `add_with` takes it
//!     note: Option<String>,  // has a default (NULL)
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
//! # let db = Database::connect("sqlite::memory:").await?;
//! # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
//! # throughline::create_tables(&db, &r).await?;
//! let math = Course { id: None, title: "math".into() }.create(&db).await?;
//! let ann = Student { id: None, name: "ann".into() }.create(&db).await?;
//! // The generated values struct of the relation: the required field, the optional one.
//! let values = CourseStudentsValues { grade: "A".into(), note: None };
//! math.students().add_with([&ann], values, &db).await?;
//! let link = Enrollment::objects().get(Enrollment::STUDENT.eq(&ann), &db).await?;
//! assert_eq!((link.grade.as_str(), link.note), ("A", None));
//! # Ok(()) }
//! ```

use crate::Model;
use crate::foreign_key::ForeignKey;
use crate::value_types::FieldValue;
use chrono::{DateTime, NaiveDate, Utc};
use std::marker::PhantomData;
use throughline_core::Value;

/// A foreign-key field of a through model, named at the type level by the FNV-1a hash of
/// its name ([`field_key`]).
///
/// Compiler messages about a relation's keys show it with the hash:
/// `FieldKey<1585764864008969528>` is the key named `course`.
///
/// ```
/// use throughline::through::{FieldKey, field_key};
/// assert_eq!(field_key("course"), 1585764864008969528);
/// let _course: FieldKey<1585764864008969528> = FieldKey::<{ field_key("course") }>;
/// ```
pub struct FieldKey<const H: u64>;

/// The FNV-1a hash naming a field in [`FieldKey`].
///
/// ```
/// assert_ne!(throughline::through::field_key("course"), throughline::through::field_key("student"));
/// ```
pub const fn field_key(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// A field type that has a default when a through row is created without a value for it:
/// `Option<T>` (NULL) and a choices enum with a `#[default]` variant. A field with
/// `default`, `default_fn`, `auto_now_add` or `auto_now` has one whatever its type.
///
/// ```
/// use throughline::through::HasDefault;
/// fn fillable<T: HasDefault>() {}
/// fillable::<Option<String>>(); // NULL when not given
/// // fillable::<String>() does not compile: a String has no default.
/// ```
#[diagnostic::on_unimplemented(
    message = "the through field type `{Self}` has no default, so `add()` cannot fill it",
    label = "`add()` needs a default for every extra field of the through model",
    note = "use `add_with(targets, values)` to give the values, or give the field a default: #[throughline(default = ...)], an `Option<_>` type, or a `#[default]` choice"
)]
pub trait HasDefault {}

impl<T> HasDefault for Option<T> {}

/// An extra field of a through model, for the compile-time check of `add()`: `N` is a
/// marker named `<Model>__<field>`, `T` the field's type.
///
/// The derive generates the markers beside the model (hidden from its docs), and
/// compiler messages about `add()` name the field through them
/// (`ThroughField<Enrollment__grade, String>`):
///
/// ```
/// use throughline::prelude::*;
/// use throughline::through::{FieldHasDefault, ThroughField};
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)] struct Course { id: Option<i64>, title: String }
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment {
///     id: Option<i64>,
///     student: ForeignKey<Student>,
///     course: ForeignKey<Course>,
///     grade: String,
///     note: Option<String>,
/// }
/// fn fillable<F: FieldHasDefault>() {}
/// fillable::<ThroughField<Enrollment__note, Option<String>>>(); // `note` may be left out
/// ```
pub struct ThroughField<N, T>(PhantomData<(N, T)>);

/// Implemented when the extra field `N` of type `T` has a default.
///
/// `add()` on a relation requires it of every extra field of the through model without a
/// `default` attribute: an `Option` field passes, a `String` field does not.
///
/// ```
/// use throughline::prelude::*;
/// use throughline::through::{FieldHasDefault, ThroughField};
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)] struct Course { id: Option<i64>, title: String }
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment {
///     id: Option<i64>,
///     student: ForeignKey<Student>,
///     course: ForeignKey<Course>,
///     grade: String,
///     note: Option<String>,
/// }
/// fn fillable<F: FieldHasDefault>() {}
/// fillable::<ThroughField<Enrollment__note, Option<String>>>();
/// ```
///
/// ```compile_fail,E0277
/// # use throughline::prelude::*;
/// # use throughline::through::{FieldHasDefault, ThroughField};
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)] struct Course { id: Option<i64>, title: String }
/// # #[derive(Debug, Clone, Model)]
/// # struct Enrollment { id: Option<i64>, student: ForeignKey<Student>, course: ForeignKey<Course>, grade: String }
/// # fn fillable<F: FieldHasDefault>() {}
/// // error: the through field type `String` has no default, so `add()` cannot fill it
/// fillable::<ThroughField<Enrollment__grade, String>>();
/// ```
#[diagnostic::on_unimplemented(
    message = "the through field `{Self}` has no default, so `add()` cannot fill it",
    note = "use `add_with(targets, values)` to give the values, or give the field a default"
)]
pub trait FieldHasDefault {}

impl<N, T: HasDefault> FieldHasDefault for ThroughField<N, T> {}

/// Implemented by a through model for the key pair `P` when every other field has a
/// default, so that rows can be created from the two keys alone.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)]
/// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
/// # struct Course { id: Option<i64>, title: String }
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment {
///     id: Option<i64>,
///     student: ForeignKey<Student>,
///     course: ForeignKey<Course>,
///     grade: Option<String>,
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
/// # let ann = Student { id: None, name: "ann".into() }.create(&db).await?;
/// // `grade` is optional (NULL by default): `add` compiles.
/// math.students().add([&ann], &db).await?;
/// let link = Enrollment::objects().first(&db).await?.unwrap();
/// assert_eq!(link.grade, None);
/// # Ok(()) }
/// ```
///
/// With a required `grade`, `add` does not compile (use `add_with`):
///
/// ```compile_fail,E0277
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)]
/// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
/// # struct Course { id: Option<i64>, title: String }
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment {
///     id: Option<i64>,
///     student: ForeignKey<Student>,
///     course: ForeignKey<Course>,
///     grade: String,
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
/// # let ann = Student { id: None, name: "ann".into() }.create(&db).await?;
/// math.students().add([&ann], &db).await?;
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "`add()` cannot fill every extra field of the through model `{Self}`",
    label = "some extra field of `{Self}` has no default",
    note = "use `add_with(targets, values)` and give the values of the fields without a default"
)]
pub trait AddWithoutValues<P> {}

/// The typed values of `add_with` for the key pair `P`: a generated struct holding every
/// field of the through model except its key and the two relation keys. A field without a
/// default is required (its own type); a field with one is an `Option` (`None` keeps the
/// default and is not compared).
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)]
/// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
/// # struct Course { id: Option<i64>, title: String }
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment {
///     id: Option<i64>,
///     student: ForeignKey<Student>,
///     course: ForeignKey<Course>,
///     grade: String,
///     note: Option<String>,
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
/// # let ann = Student { id: None, name: "ann".into() }.create(&db).await?;
/// // The generated values struct: `grade` required, `note` optional.
/// let values = CourseStudentsValues { grade: "A".into(), note: None };
/// math.students().add_with([&ann], values, &db).await?;
/// assert_eq!(Enrollment::objects().first(&db).await?.unwrap().grade, "A");
/// # Ok(()) }
/// ```
pub trait ThroughValuesFor<P> {
    /// The values struct. A relation's alias (`CourseStudentsValues`) names it for the
    /// relation's key pair; either order of the pair gives the same struct.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::through::{FieldKey, ThroughValuesFor, field_key};
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// #[derive(Debug, Clone, Model)]
    /// #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// struct Course { id: Option<i64>, title: String }
    /// #[derive(Debug, Clone, Model)]
    /// struct Enrollment {
    ///     id: Option<i64>,
    ///     student: ForeignKey<Student>,
    ///     course: ForeignKey<Course>,
    ///     grade: String,
    /// }
    /// type CourseKey = FieldKey<{ field_key("course") }>;
    /// type StudentKey = FieldKey<{ field_key("student") }>;
    /// let values: <Enrollment as ThroughValuesFor<(CourseKey, StudentKey)>>::Values =
    ///     CourseStudentsValues { grade: "A".into() };
    /// let reverse: <Enrollment as ThroughValuesFor<(StudentKey, CourseKey)>>::Values = values;
    /// let also: StudentCoursesValues = reverse; // the alias from the other side
    /// assert_eq!(also.grade, "A");
    /// ```
    type Values: ThroughValues;
}

/// A values struct of `add_with`: the struct generated for each relation through a model
/// with extra fields (`CourseStudentsValues`), and [`NoValues`].
///
/// ```
/// use throughline::prelude::*;
/// use throughline::through::ThroughValues;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)]
/// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
/// # struct Course { id: Option<i64>, title: String }
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment {
///     id: Option<i64>,
///     student: ForeignKey<Student>,
///     course: ForeignKey<Course>,
///     grade: String,
///     note: Option<String>,
/// }
/// fn given<V: ThroughValues>(values: &V) -> Vec<&'static str> {
///     values.passed().into_iter().map(|(field, _)| field).collect()
/// }
/// let values = CourseStudentsValues { grade: "A".into(), note: Some("late".into()) };
/// assert_eq!(given(&values), ["grade", "note"]);
/// ```
pub trait ThroughValues: Clone + Send + Sync + 'static {
    /// The fields given, as `(field name, value)`.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
    /// # #[derive(Debug, Clone, Model)]
    /// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    /// # struct Course { id: Option<i64>, title: String }
    /// #[derive(Debug, Clone, Model)]
    /// struct Enrollment {
    ///     id: Option<i64>,
    ///     student: ForeignKey<Student>,
    ///     course: ForeignKey<Course>,
    ///     grade: String,
    ///     note: Option<String>,
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
    /// # let db = Database::connect("sqlite::memory:").await?;
    /// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
    /// # throughline::create_tables(&db, &r).await?;
    /// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
    /// # let ann = Student { id: None, name: "ann".into() }.create(&db).await?;
    /// use throughline::{Value, through::ThroughValues};
    /// # let _ = (&math, &ann);
    /// let values = CourseStudentsValues { grade: "A".into(), note: None };
    /// // `note: None` keeps the field's default and is not passed.
    /// assert_eq!(values.passed(), [("grade", Value::from("A"))]);
    /// # Ok(()) }
    /// ```
    fn passed(&self) -> Vec<(&'static str, Value)>;
}

/// Implemented when the through model has a foreign key named by `K` to model `T`.
///
/// The derive implements it for each foreign key of a model, and a relation declared
/// `through` a model requires it for the relation's two keys.
///
/// ```
/// use throughline::prelude::*;
/// use throughline::through::{FieldKey, HasForeignKey, field_key};
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)] struct Course { id: Option<i64>, title: String }
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment {
///     id: Option<i64>,
///     student: ForeignKey<Student>,
///     course: ForeignKey<Course>,
/// }
/// fn has_key<Th: HasForeignKey<K, T>, K, T>() {}
/// has_key::<Enrollment, FieldKey<{ field_key("course") }>, Course>();
/// ```
///
/// A through model without a key to the declaring model is refused ("the through model
/// `Enrollment` has no foreign key FieldKey<1585764864008969528> to `Course`"):
///
/// ```compile_fail,E0277
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)] struct Teacher { id: Option<i64>, name: String }
/// #[derive(Debug, Clone, Model)]
/// #[throughline(many_to_many(name = "students", to = Student, through = Enrollment))]
/// struct Course { id: Option<i64>, title: String }
///
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment {
///     id: Option<i64>,
///     student: ForeignKey<Student>,
///     teacher: ForeignKey<Teacher>, // no key to Course
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "the through model `{Self}` has no foreign key {K} to `{T}`",
    note = "name the through model's two foreign keys with through_fields(\"source_key\", \"target_key\"); without it they are the snake_case names of the two models"
)]
pub trait HasForeignKey<K, T> {}

/// A values-struct slot that may be left empty (`Option<_>`, which means "the field's
/// default"): a values struct whose slots all are gets `Default`, so
/// `add_with(targets, Values::default())` needs no field named. A required slot (a
/// `String` without a default) never is: no silent blank value.
///
/// ```
/// use throughline::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Student { id: Option<i64>, name: String }
/// # #[derive(Debug, Clone, Model)]
/// # #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
/// # struct Course { id: Option<i64>, title: String }
/// #[derive(Debug, Clone, Model)]
/// struct Enrollment {
///     id: Option<i64>,
///     student: ForeignKey<Student>,
///     course: ForeignKey<Course>,
///     grade: Option<String>,
///     note: Option<String>,
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline::Result<()> {
/// # let db = Database::connect("sqlite::memory:").await?;
/// # let mut r = Registry::new(); r.register(Student::meta()).register(Course::meta()).register(Enrollment::meta());
/// # throughline::create_tables(&db, &r).await?;
/// # let math = Course { id: None, title: "math".into() }.create(&db).await?;
/// # let ann = Student { id: None, name: "ann".into() }.create(&db).await?;
/// // Every slot is optional: the values struct has `Default`.
/// math.students().add_with([&ann], CourseStudentsValues::default(), &db).await?;
/// assert_eq!(math.students().count(&db).await?, 1);
/// # Ok(()) }
/// ```
pub trait OptionalSlot: Default {}

impl<T> OptionalSlot for Option<T> {}

/// How a field type appears in a values struct: required (`Slot = Self`) or optional
/// (`Slot = Option<Self>`), and how a slot becomes a passed value.
///
/// ```
/// use throughline::Value;
/// use throughline::through::ValueSlot;
/// assert_eq!(<String as ValueSlot>::passed(&"A".to_string()), Some(Value::from("A")));
/// assert_eq!(<Option<i32> as ValueSlot>::passed(&None), None);
/// assert_eq!(<Option<i32> as ValueSlot>::passed(&Some(3)), Some(Value::I32(3)));
/// ```
pub trait ValueSlot {
    /// The type of the field in the values struct.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::through::ValueSlot;
    /// #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Choices)]
    /// enum Status {
    ///     #[default]
    ///     Active,
    ///     Dropped,
    /// }
    /// // A field without a default is required: its slot is its own type.
    /// let grade: <String as ValueSlot>::Slot = String::from("A");
    /// // A choice with a `#[default]` is optional: `None` keeps the default.
    /// let status: <Status as ValueSlot>::Slot = None;
    /// assert_eq!(grade, "A");
    /// assert_eq!(status, None);
    /// ```
    type Slot: Clone + Send + Sync + 'static;
    /// The value passed, if any: `None` for an empty optional slot, which leaves the
    /// field to its default.
    ///
    /// ```
    /// use throughline::prelude::*;
    /// use throughline::Value;
    /// use throughline::through::ValueSlot;
    /// # #[derive(Debug, Clone, Model)] struct Course { id: Option<i64>, title: String }
    /// #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Choices)]
    /// enum Status {
    ///     #[default]
    ///     Active,
    ///     Dropped,
    /// }
    /// assert_eq!(<Status as ValueSlot>::passed(&None), None);
    /// assert_eq!(<Status as ValueSlot>::passed(&Some(Status::Dropped)), Some(Value::from("dropped")));
    /// // A foreign key passes the key it holds.
    /// let course: ForeignKey<Course> = ForeignKey::new(7_i64);
    /// assert_eq!(<ForeignKey<Course> as ValueSlot>::passed(&course), Some(Value::I64(7)));
    /// ```
    fn passed(slot: &Self::Slot) -> Option<Value>;
}

macro_rules! required_slot {
    ($($ty:ty),*) => {$(
        impl ValueSlot for $ty {
            type Slot = $ty;
            fn passed(slot: &Self::Slot) -> Option<Value> {
                Some(FieldValue::to_value(slot))
            }
        }
    )*};
}
required_slot!(
    i16,
    i32,
    i64,
    f64,
    bool,
    String,
    Vec<u8>,
    NaiveDate,
    DateTime<Utc>,
    serde_json::Value,
    uuid::Uuid,
    throughline_core::Decimal
);

impl<T: FieldValue> ValueSlot for Option<T> {
    type Slot = Option<T>;
    fn passed(slot: &Self::Slot) -> Option<Value> {
        slot.as_ref().map(FieldValue::to_value)
    }
}

impl<T: Model> ValueSlot for ForeignKey<T> {
    type Slot = ForeignKey<T>;
    fn passed(slot: &Self::Slot) -> Option<Value> {
        Some(slot.key().clone())
    }
}

/// The values of a relation without extra fields (or whose extras all take defaults).
///
/// ```
/// use throughline::through::{NoValues, ThroughValues};
/// assert!(NoValues.passed().is_empty());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoValues;

impl ThroughValues for NoValues {
    fn passed(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
}
