// The property test's body, included once per key type by `m2m_properties.rs` (a module
// with `Course`, `Student`, `Enrollment`, `CourseStudentsValues`, `new_course`,
// `new_student`, `tables` and `KEYS` in scope).

const COURSES: usize = 2;
const STUDENTS: usize = 4;
const GRADES: &[&str] = &["A", "B", "C", ""];

/// One write on the relation; course and student indices are into the rows created up
/// front.
#[derive(Debug, Clone)]
enum Op {
    /// `course.students().add_with(students, grade)`.
    Add {
        course: usize,
        students: Vec<usize>,
        grade: &'static str,
    },
    /// `course.students().on_existing(OnExisting::Update).add_with(students, grade)`.
    AddUpdate {
        course: usize,
        students: Vec<usize>,
        grade: &'static str,
    },
    /// `course.students().add_each(items)`.
    AddEach {
        course: usize,
        items: Vec<(usize, &'static str)>,
    },
    /// `course.students().set_with(students, grade)`.
    Set {
        course: usize,
        students: Vec<usize>,
        grade: &'static str,
    },
    /// `course.students().clear_and_set_with(students, grade)`.
    ClearAndSet {
        course: usize,
        students: Vec<usize>,
        grade: &'static str,
    },
    /// `course.students().plan_set(students)`: a dry run, which must match the model and
    /// write nothing.
    PlanSet { course: usize, students: Vec<usize> },
    /// `course.students().remove(students)`.
    Remove { course: usize, students: Vec<usize> },
    /// `course.students().clear()`.
    Clear { course: usize },
    /// `student.courses().add_with(courses, grade)`.
    RevAdd {
        student: usize,
        courses: Vec<usize>,
        grade: &'static str,
    },
    /// `student.courses().set_with(courses, grade)`.
    RevSet {
        student: usize,
        courses: Vec<usize>,
        grade: &'static str,
    },
    /// `student.courses().remove(courses)`.
    RevRemove { student: usize, courses: Vec<usize> },
    /// `student.courses().clear()`.
    RevClear { student: usize },
}

fn grade() -> impl Strategy<Value = &'static str> {
    prop::sample::select(GRADES)
}

/// Up to 4 targets, duplicates allowed (the manager keeps the first occurrence).
fn students() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..STUDENTS, 0..5)
}

fn courses() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..COURSES, 0..4)
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..COURSES;
    let s = 0..STUDENTS;
    prop_oneof![
        3 => (c.clone(), students(), grade())
            .prop_map(|(course, students, grade)| Op::Add { course, students, grade }),
        2 => (c.clone(), students(), grade())
            .prop_map(|(course, students, grade)| Op::AddUpdate { course, students, grade }),
        2 => (c.clone(), prop::collection::vec((0..STUDENTS, grade()), 0..5))
            .prop_map(|(course, items)| Op::AddEach { course, items }),
        2 => (c.clone(), students(), grade())
            .prop_map(|(course, students, grade)| Op::Set { course, students, grade }),
        1 => (c.clone(), students(), grade())
            .prop_map(|(course, students, grade)| Op::ClearAndSet { course, students, grade }),
        1 => (c.clone(), students())
            .prop_map(|(course, students)| Op::PlanSet { course, students }),
        2 => (c.clone(), students())
            .prop_map(|(course, students)| Op::Remove { course, students }),
        1 => c.prop_map(|course| Op::Clear { course }),
        2 => (s.clone(), courses(), grade())
            .prop_map(|(student, courses, grade)| Op::RevAdd { student, courses, grade }),
        2 => (s.clone(), courses(), grade())
            .prop_map(|(student, courses, grade)| Op::RevSet { student, courses, grade }),
        1 => (s.clone(), courses())
            .prop_map(|(student, courses)| Op::RevRemove { student, courses }),
        1 => s.prop_map(|student| Op::RevClear { student }),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..25)
}

/// Which side of the relation an operation is called from.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// `course.students()`: source is a course, targets are students.
    Forward,
    /// `student.courses()`: source is a student, targets are courses.
    Reverse,
}

impl Side {
    /// The (course, student) pair of a (source, target) pair.
    fn pair(self, source: usize, target: usize) -> (usize, usize) {
        match self {
            Side::Forward => (source, target),
            Side::Reverse => (target, source),
        }
    }

    /// The source of a (course, student) pair.
    fn source_of(self, pair: (usize, usize)) -> usize {
        match self {
            Side::Forward => pair.0,
            Side::Reverse => pair.1,
        }
    }
}

/// (course, student) -> grade.
type Links = BTreeMap<(usize, usize), String>;

/// A deleted row: (course, student, grade).
type Row = (usize, usize, String);

/// What the model says an add does, in target indices (order given, first occurrence).
#[derive(Debug, Default, PartialEq)]
struct ExpectedAdd {
    linked: Vec<usize>,
    already_linked: Vec<usize>,
    /// Already-linked targets whose stored grade differs from the given one.
    differing: Vec<usize>,
    updated: Vec<usize>,
}

/// The in-memory model of the Enrollment table.
#[derive(Debug, Default)]
struct Mirror {
    links: Links,
}

fn first_occurrences<T: Clone>(items: &[(usize, T)]) -> Vec<(usize, T)> {
    let mut seen = HashSet::new();
    items
        .iter()
        .filter(|(k, _)| seen.insert(*k))
        .cloned()
        .collect()
}

fn dedupe(keys: &[usize]) -> Vec<usize> {
    let mut seen = HashSet::new();
    keys.iter().copied().filter(|k| seen.insert(*k)).collect()
}

impl Mirror {
    fn add(
        &mut self,
        side: Side,
        source: usize,
        items: &[(usize, &str)],
        update: bool,
    ) -> ExpectedAdd {
        let mut out = ExpectedAdd::default();
        for (target, grade) in first_occurrences(items) {
            let pair = side.pair(source, target);
            match self.links.get_mut(&pair) {
                None => {
                    out.linked.push(target);
                    self.links.insert(pair, grade.to_owned());
                }
                Some(stored) => {
                    out.already_linked.push(target);
                    if stored != grade {
                        out.differing.push(target);
                        if update {
                            out.updated.push(target);
                            grade.clone_into(stored);
                        }
                    }
                }
            }
        }
        out
    }

    fn targets_of(&self, side: Side, source: usize) -> Vec<usize> {
        self.links
            .keys()
            .filter(|p| side.source_of(**p) == source)
            .map(|&(c, s)| match side {
                Side::Forward => s,
                Side::Reverse => c,
            })
            .collect()
    }

    /// Deletes the rows of `source` whose target is in `targets` (all when `None`).
    fn delete(&mut self, side: Side, source: usize, targets: Option<&[usize]>) -> Vec<Row> {
        let doomed: Vec<(usize, usize)> = self
            .links
            .keys()
            .copied()
            .filter(|p| side.source_of(*p) == source)
            .filter(|&(c, s)| {
                let target = match side {
                    Side::Forward => s,
                    Side::Reverse => c,
                };
                targets.is_none_or(|t| t.contains(&target))
            })
            .collect();
        let mut out: Vec<Row> = doomed
            .into_iter()
            .map(|p| (p.0, p.1, self.links.remove(&p).unwrap()))
            .collect();
        out.sort();
        out
    }

    /// (kept, to add, removed rows) of a set, without writing.
    fn plan_set(&self, side: Side, source: usize, wanted: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let existing = self.targets_of(side, source);
        let (kept, add) = dedupe(wanted)
            .into_iter()
            .partition(|t| existing.contains(t));
        (kept, add)
    }

    /// (kept, linked, removed rows).
    fn set(
        &mut self,
        side: Side,
        source: usize,
        wanted: &[usize],
        grade: &str,
    ) -> (Vec<usize>, Vec<usize>, Vec<Row>) {
        let (kept, add) = self.plan_set(side, source, wanted);
        let existing = self.targets_of(side, source);
        let drop: Vec<usize> = existing
            .into_iter()
            .filter(|t| !wanted.contains(t))
            .collect();
        let removed = self.delete(side, source, Some(&drop));
        let items: Vec<(usize, &str)> = add.iter().map(|t| (*t, grade)).collect();
        let added = self.add(side, source, &items, false);
        assert!(
            added.already_linked.is_empty(),
            "model: set adds new pairs only"
        );
        (kept, added.linked, removed)
    }

    /// (linked, removed rows).
    fn clear_and_set(
        &mut self,
        side: Side,
        source: usize,
        wanted: &[usize],
        grade: &str,
    ) -> (Vec<usize>, Vec<Row>) {
        let removed = self.delete(side, source, None);
        let items: Vec<(usize, &str)> = wanted.iter().map(|t| (*t, grade)).collect();
        let added = self.add(side, source, &items, false);
        (added.linked, removed)
    }
}

/// The rows created up front, and the way back from keys to indices (keys by their
/// Debug form, so that a key read back in another form than it was written — a UUID as
/// text — is an unknown key and fails the case).
struct World {
    courses: Vec<Course>,
    students: Vec<Student>,
    course_index: HashMap<String, usize>,
    student_index: HashMap<String, usize>,
}

impl World {
    async fn create(db: &Database) -> World {
        tables(db).await;
        let mut courses = Vec::new();
        for i in 0..COURSES {
            courses.push(new_course(i).create(db).await.unwrap());
        }
        let mut students = Vec::new();
        for i in 0..STUDENTS {
            students.push(new_student(i).create(db).await.unwrap());
        }
        let course_index = courses
            .iter()
            .enumerate()
            .map(|(i, c)| (Self::key(&c.pk_value()), i))
            .collect();
        let student_index = students
            .iter()
            .enumerate()
            .map(|(i, s)| (Self::key(&s.pk_value()), i))
            .collect();
        World {
            courses,
            students,
            course_index,
            student_index,
        }
    }

    fn key(value: &Value) -> String {
        format!("{value:?}")
    }

    fn course_of(&self, value: &Value) -> Result<usize, TestCaseError> {
        let key = Self::key(value);
        self.course_index
            .get(&key)
            .copied()
            .ok_or_else(|| TestCaseError::fail(format!("unknown course key {key}")))
    }

    fn student_of(&self, value: &Value) -> Result<usize, TestCaseError> {
        let key = Self::key(value);
        self.student_index
            .get(&key)
            .copied()
            .ok_or_else(|| TestCaseError::fail(format!("unknown student key {key}")))
    }

    /// Target keys of an outcome, as indices of the targets of `side`.
    fn targets(&self, side: Side, values: &[Value]) -> Result<Vec<usize>, TestCaseError> {
        values
            .iter()
            .map(|v| match side {
                Side::Forward => self.student_of(v),
                Side::Reverse => self.course_of(v),
            })
            .collect()
    }

    fn row(&self, e: &Enrollment) -> Result<Row, TestCaseError> {
        Ok((
            self.course_of(e.course.key())?,
            self.student_of(e.student.key())?,
            e.grade.clone(),
        ))
    }

    fn rows(&self, list: &[Enrollment]) -> Result<Vec<Row>, TestCaseError> {
        let mut out = list
            .iter()
            .map(|e| self.row(e))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort();
        Ok(out)
    }

    fn courses(&self, idx: &[usize]) -> Vec<&Course> {
        idx.iter().map(|&i| &self.courses[i]).collect()
    }

    fn students(&self, idx: &[usize]) -> Vec<&Student> {
        idx.iter().map(|&i| &self.students[i]).collect()
    }

    /// Every Enrollment row, as the model's map (failing on a duplicated pair).
    async fn stored(&self, db: &Database) -> Result<Links, TestCaseError> {
        let all = Enrollment::objects().all(db).await.map_err(fail)?;
        let mut links = Links::new();
        for (c, s, g) in self.rows(&all)? {
            if let Some(old) = links.insert((c, s), g.clone()) {
                return Err(TestCaseError::fail(format!(
                    "two Enrollment rows for (course{c}, s{s}): grades {old:?} and {g:?}"
                )));
            }
        }
        Ok(links)
    }
}

fn fail(e: throughline::Error) -> TestCaseError {
    TestCaseError::fail(format!("database error: {e}"))
}

fn values(grade: &str) -> CourseStudentsValues {
    CourseStudentsValues {
        grade: grade.into(),
        enrolled_at: None,
        status: None,
    }
}

/// Checks an add outcome against the model's expectation.
fn check_add(
    world: &World,
    side: Side,
    outcome: &throughline::AddOutcome,
    expected: &ExpectedAdd,
) -> Result<(), TestCaseError> {
    let differing: Vec<Value> = outcome.differing.iter().map(|d| d.target.clone()).collect();
    let got = ExpectedAdd {
        linked: world.targets(side, &outcome.linked)?,
        already_linked: world.targets(side, &outcome.already_linked)?,
        differing: world.targets(side, &differing)?,
        updated: world.targets(side, &outcome.updated)?,
    };
    prop_assert_eq!(
        &got,
        expected,
        "add outcome in target indices (left: the database's, right: the model's)"
    );
    for d in &outcome.differing {
        prop_assert_eq!(d.fields.len(), 1, "only the grade is given: {:?}", d);
        prop_assert_eq!(d.fields[0].field.as_str(), "grade");
    }
    Ok(())
}

/// Runs one operation on the database and on the model, and checks its outcome.
async fn step(
    db: &Database,
    world: &World,
    model: &mut Mirror,
    op: &Op,
) -> Result<(), TestCaseError> {
    use Side::{Forward, Reverse};
    match op {
        Op::Add {
            course,
            students,
            grade,
        }
        | Op::AddUpdate {
            course,
            students,
            grade,
        } => {
            let update = matches!(op, Op::AddUpdate { .. });
            let mut related = world.courses[*course].students();
            if update {
                related = related.on_existing(OnExisting::Update);
            }
            let outcome = related
                .add_with(world.students(students), values(grade), db)
                .await
                .map_err(fail)?;
            let items: Vec<(usize, &str)> = students.iter().map(|s| (*s, *grade)).collect();
            let expected = model.add(Forward, *course, &items, update);
            check_add(world, Forward, &outcome, &expected)?;
        }
        Op::AddEach { course, items } => {
            let outcome = world.courses[*course]
                .students()
                .add_each(
                    items
                        .iter()
                        .map(|(s, g)| (&world.students[*s], values(g)))
                        .collect::<Vec<_>>(),
                    db,
                )
                .await
                .map_err(fail)?;
            let expected = model.add(Forward, *course, items, false);
            check_add(world, Forward, &outcome, &expected)?;
        }
        Op::Set {
            course,
            students,
            grade,
        } => {
            let outcome = world.courses[*course]
                .students()
                .set_with(world.students(students), values(grade), db)
                .await
                .map_err(fail)?;
            let (kept, linked, removed) = model.set(Forward, *course, students, grade);
            prop_assert_eq!(world.targets(Forward, &outcome.kept)?, kept, "set: kept");
            check_add(
                world,
                Forward,
                &outcome.added,
                &ExpectedAdd {
                    linked,
                    ..ExpectedAdd::default()
                },
            )?;
            prop_assert_eq!(world.rows(&outcome.removed)?, removed, "set: removed rows");
        }
        Op::ClearAndSet {
            course,
            students,
            grade,
        } => {
            let outcome = world.courses[*course]
                .students()
                .clear_and_set_with(world.students(students), values(grade), db)
                .await
                .map_err(fail)?;
            let (linked, removed) = model.clear_and_set(Forward, *course, students, grade);
            prop_assert!(outcome.kept.is_empty(), "clear_and_set keeps nothing");
            check_add(
                world,
                Forward,
                &outcome.added,
                &ExpectedAdd {
                    linked,
                    ..ExpectedAdd::default()
                },
            )?;
            prop_assert_eq!(
                world.rows(&outcome.removed)?,
                removed,
                "clear_and_set: removed rows"
            );
        }
        Op::PlanSet { course, students } => {
            let plan = world.courses[*course]
                .students()
                .plan_set(world.students(students), db)
                .await
                .map_err(fail)?;
            let (keep, add) = model.plan_set(Forward, *course, students);
            prop_assert_eq!(world.targets(Forward, &plan.keep)?, keep, "plan_set: keep");
            prop_assert_eq!(world.targets(Forward, &plan.add)?, add, "plan_set: add");
            // What set would delete, computed on a copy of the model.
            let mut copy = Mirror {
                links: model.links.clone(),
            };
            let (_, _, removed) = copy.set(Forward, *course, students, "");
            prop_assert_eq!(world.rows(&plan.remove)?, removed, "plan_set: remove");
        }
        Op::Remove { course, students } => {
            let removed = world.courses[*course]
                .students()
                .remove(world.students(students), db)
                .await
                .map_err(fail)?;
            let expected = model.delete(Forward, *course, Some(students));
            prop_assert_eq!(world.rows(&removed)?, expected, "remove: removed rows");
        }
        Op::Clear { course } => {
            let removed = world.courses[*course]
                .students()
                .clear(db)
                .await
                .map_err(fail)?;
            let expected = model.delete(Forward, *course, None);
            prop_assert_eq!(world.rows(&removed)?, expected, "clear: removed rows");
        }
        Op::RevAdd {
            student,
            courses,
            grade,
        } => {
            let outcome = world.students[*student]
                .courses()
                .add_with(world.courses(courses), values(grade), db)
                .await
                .map_err(fail)?;
            let items: Vec<(usize, &str)> = courses.iter().map(|c| (*c, *grade)).collect();
            let expected = model.add(Reverse, *student, &items, false);
            check_add(world, Reverse, &outcome, &expected)?;
        }
        Op::RevSet {
            student,
            courses,
            grade,
        } => {
            let outcome = world.students[*student]
                .courses()
                .set_with(world.courses(courses), values(grade), db)
                .await
                .map_err(fail)?;
            let (kept, linked, removed) = model.set(Reverse, *student, courses, grade);
            prop_assert_eq!(world.targets(Reverse, &outcome.kept)?, kept, "set: kept");
            check_add(
                world,
                Reverse,
                &outcome.added,
                &ExpectedAdd {
                    linked,
                    ..ExpectedAdd::default()
                },
            )?;
            prop_assert_eq!(world.rows(&outcome.removed)?, removed, "set: removed rows");
        }
        Op::RevRemove { student, courses } => {
            let removed = world.students[*student]
                .courses()
                .remove(world.courses(courses), db)
                .await
                .map_err(fail)?;
            let expected = model.delete(Reverse, *student, Some(courses));
            prop_assert_eq!(world.rows(&removed)?, expected, "remove: removed rows");
        }
        Op::RevClear { student } => {
            let removed = world.students[*student]
                .courses()
                .clear(db)
                .await
                .map_err(fail)?;
            let expected = model.delete(Reverse, *student, None);
            prop_assert_eq!(world.rows(&removed)?, expected, "clear: removed rows");
        }
    }
    Ok(())
}

/// One case: the operations in order, the whole table compared with the model after each.
async fn run_case(db: Database, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let world = World::create(&db).await;
    let mut model = Mirror::default();
    for (i, op) in ops.iter().enumerate() {
        step(&db, &world, &mut model, op)
            .await
            .map_err(|e| TestCaseError::fail(format!("step {i} {op:?}: {e}")))?;
        let stored = world.stored(&db).await?;
        if stored != model.links {
            return Err(TestCaseError::fail(format!(
                "after step {i} {op:?}: Enrollment rows {stored:?}, model {:?}",
                model.links
            )));
        }
    }
    Ok(())
}

mod properties {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn config() -> ProptestConfig {
        let default = ProptestConfig::default();
        ProptestConfig {
            // PROPTEST_CASES=N runs more (or fewer) cases.
            cases: if std::env::var_os("PROPTEST_CASES").is_some() {
                default.cases
            } else {
                24
            },
            // No regression files are written into the repository; a failure prints the
            // minimal sequence of operations.
            failure_persistence: None,
            max_shrink_iters: 1024,
            ..default
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn check(result: Result<(), proptest::test_runner::TestError<Vec<Op>>>) {
        if let Err(error) = result {
            panic!("{error}");
        }
    }

    #[test]
    fn sqlite() {
        let rt = runtime();
        let mut runner = TestRunner::new(config());
        check(runner.run(&ops(), |ops| {
            rt.block_on(async {
                let db = common::sqlite().await;
                run_case(db, ops).await
            })
        }));
    }

    #[test]
    fn postgres() {
        let rt = runtime();
        // Skipped (outside CI) when PostgreSQL is unreachable.
        if rt
            .block_on(common::postgres(&format!("m2m_prop_probe_{}", KEYS)))
            .is_none()
        {
            return;
        }
        let counter = AtomicUsize::new(0);
        let mut runner = TestRunner::new(config());
        check(runner.run(&ops(), |ops| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            rt.block_on(async {
                let db = common::postgres(&format!("m2m_prop_{}_{n}", KEYS))
                    .await
                    .ok_or_else(|| TestCaseError::fail("PostgreSQL became unreachable"))?;
                run_case(db, ops).await
            })
        }));
    }
}
