//! Owns what relation writes report and the policy for links that exist already:
//! [`OnExisting`], [`AddOutcome`] (with [`Differing`] and [`FieldDiff`]), [`SetOutcome`]
//! and [`SetPlan`]. Every relation write reports in full what it did (SPEC §3): nothing is
//! skipped or dropped without being listed.

use throughline_core::Value;

/// What `add_with` does with pairs that are already linked.
///
/// ```
/// assert_eq!(throughline_engine::OnExisting::default(), throughline_engine::OnExisting::Skip);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnExisting {
    /// Leave them as they are (as Django); the outcome lists them, and those whose stored
    /// values differ from the given ones.
    #[default]
    Skip,
    /// Write the given values into them (only the fields given).
    Update,
    /// Fail with [`throughline_core::Error::AlreadyLinked`] and write nothing.
    Fail,
}

/// One field whose stored value differs from the value given to `add_with`.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, row_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// # use throughline_engine::FieldDiff;
/// let math = students.from(Value::I64(1));
/// math.add(vec![(Value::I64(1), students.values([("grade", "A".into())])?)], &db).await?;
/// let again = math.add(vec![(Value::I64(1), students.values([("grade", "B".into())])?)], &db).await?;
/// let diff = FieldDiff { field: "grade".into(), stored: "A".into(), given: "B".into() };
/// assert_eq!(again.differing[0].fields, vec![diff]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    /// The through model's field.
    pub field: String,
    /// The value in the database.
    pub stored: Value,
    /// The value given.
    pub given: Value,
}

/// An already-linked target whose stored through values differ from the given ones.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, row_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// let math = students.from(Value::I64(1));
/// math.add(vec![(Value::I64(1), students.values([("grade", "A".into())])?)], &db).await?;
/// let again = math.add(vec![(Value::I64(1), students.values([("grade", "B".into())])?)], &db).await?;
/// assert_eq!(again.differing[0].target, Value::I64(1));
/// assert_eq!(again.differing[0].fields[0].stored, Value::from("A"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Differing {
    /// The target's key.
    pub target: Value,
    /// The fields that differ.
    pub fields: Vec<FieldDiff>,
}

/// What an `add` did.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, row_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// # use throughline_engine::AddOutcome;
/// let math = students.from(Value::I64(1));
/// math.add(vec![(Value::I64(1), no_values())], &db).await?;
/// let outcome = math.add(vec![(Value::I64(1), no_values()), (Value::I64(2), no_values())], &db).await?;
/// let expected = AddOutcome {
///     linked: vec![Value::I64(2)],
///     already_linked: vec![Value::I64(1)],
///     ..AddOutcome::default()
/// };
/// assert_eq!(outcome, expected);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddOutcome {
    /// Targets newly linked, in the order given.
    pub linked: Vec<Value>,
    /// Targets that were already linked (nothing was inserted for them).
    pub already_linked: Vec<Value>,
    /// Already-linked targets whose stored values differ from the given ones (only the
    /// fields given are compared).
    pub differing: Vec<Differing>,
    /// Already-linked targets whose values were updated ([`OnExisting::Update`]).
    pub updated: Vec<Value>,
}

/// What a `set` did.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, row_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// # use throughline_engine::{AddOutcome, SetOutcome};
/// let math = students.from(Value::I64(1));
/// math.add(vec![(Value::I64(1), no_values())], &db).await?;
/// let outcome = math.set(vec![Value::I64(2)], no_values(), false, row_values(students.through), &db).await?;
/// let added = AddOutcome { linked: vec![Value::I64(2)], ..AddOutcome::default() };
/// let removed = vec![vec![Value::I64(1), Value::I64(1), Value::I64(1), Value::from("")]];
/// assert_eq!(outcome, SetOutcome { kept: vec![], added, removed });
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SetOutcome<Th> {
    /// Targets that stayed linked; their through rows were not touched.
    pub kept: Vec<Value>,
    /// The add of the new targets.
    pub added: AddOutcome,
    /// The through rows deleted, in full.
    pub removed: Vec<Th>,
}

/// What a `set` would do (a dry run): nothing was written.
///
/// ```
/// # use throughline_core::Value;
/// # use throughline_engine::{doc_support, no_values, row_values, Relation};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> throughline_core::Result<()> {
/// let (db, school) = doc_support::seeded_school_db().await?;
/// let students = Relation::find(&school, "Course", "students")?;
/// # use throughline_engine::SetPlan;
/// let math = students.from(Value::I64(1));
/// math.add(vec![(Value::I64(1), no_values()), (Value::I64(2), no_values())], &db).await?;
/// let plan = math.plan_set(vec![Value::I64(2), Value::I64(3)], row_values(students.through), &db).await?;
/// let remove = vec![vec![Value::I64(1), Value::I64(1), Value::I64(1), Value::from("")]];
/// assert_eq!(plan, SetPlan { keep: vec![Value::I64(2)], add: vec![Value::I64(3)], remove });
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SetPlan<Th> {
    /// Targets that would stay linked.
    pub keep: Vec<Value>,
    /// Targets that would be linked.
    pub add: Vec<Value>,
    /// The through rows that would be deleted.
    pub remove: Vec<Th>,
}
