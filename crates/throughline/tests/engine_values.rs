//! The engine alone (issue 14's proof): SPEC §3's reference results, the policies, the
//! outcomes and the hooks, run through `throughline::engine` with a `Registry`, model and
//! relation names, and values only. No call below names a model type: code such as the
//! admin, which has only the registry, gets the same rows and outcomes as the typed API
//! (whose own tests, in m2m.rs and hooks.rs, assert the same reference results; the last
//! test here runs one sequence both ways on twin databases and compares the tables).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::models::{self, CourseStudentsReverse as _};
use common::with_tables;
use std::sync::{Arc, Mutex};
use throughline::engine::{self, AddOutcome, OnExisting, Relation, Values, crud, read, row_values};
use throughline::prelude::*;
use throughline::{Error, FieldPath, Filter, HookPoint, Lookup, Value};

backend_tests!(
    reference_1_to_4_through_the_engine,
    reference_5_and_the_wider_link_key_through_the_engine,
    policies_outcomes_and_create_through_the_engine,
    hooks_through_the_engine,
    bad_input_through_the_engine_changes_nothing,
    short_rows_and_wrong_key_types_are_errors_not_panics,
    an_empty_update_still_touches_auto_now,
    the_engine_and_the_typed_api_write_the_same_rows,
);

/// A database and the registry: everything the engine needs.
struct Untyped {
    db: Database,
    registry: Registry,
}

impl Untyped {
    async fn new(db: Database) -> Untyped {
        let registry = with_tables(&db).await;
        Untyped { db, registry }
    }

    fn meta(&self, model: &str) -> &'static throughline::ModelMeta {
        self.registry.get(model).unwrap()
    }

    /// Creates a row from values by field name; returns its key.
    async fn create(&self, model: &str, given: &[(&str, Value)]) -> Value {
        let meta = self.meta(model);
        let row = crud::create(&self.db, meta, given).await.unwrap();
        row[meta.field_index(&meta.pk().name).unwrap()].clone()
    }

    async fn student(&self, name: &str) -> Value {
        let email = format!("{name}@example.com");
        self.create("Student", &[("name", name.into()), ("email", email.into())])
            .await
    }

    fn relation(&self, model: &str, accessor: &str) -> Relation {
        Relation::find(&self.registry, model, accessor).unwrap()
    }

    fn grade(&self, relation: &Relation, grade: &str) -> Values {
        relation.values([("grade", Value::from(grade))]).unwrap()
    }

    /// (student, grade) of every enrollment of `course`, sorted by student key.
    async fn grades(&self, course: &Value) -> Vec<(Value, String)> {
        let meta = self.meta("Enrollment");
        let filter = Filter::cond(FieldPath::local("course"), Lookup::Exact(course.clone()));
        let (student, grade) = (
            meta.field_index("student").unwrap(),
            meta.field_index("grade").unwrap(),
        );
        let mut out: Vec<(Value, String)> = read::rows(&self.db, meta, filter)
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row[student].clone(), row[grade].display()))
            .collect();
        out.sort_by_key(|(s, _)| s.as_i64());
        out
    }

    async fn count(&self, model: &str) -> usize {
        read::rows(&self.db, self.meta(model), Filter::All)
            .await
            .unwrap()
            .len()
    }
}

/// The value of `field` in a through row returned by the engine.
fn field(meta: &throughline::ModelMeta, row: &[Value], field: &str) -> Value {
    row[meta.field_index(field).unwrap()].clone()
}

fn graded(list: &[(&Value, &str)]) -> Vec<(Value, String)> {
    list.iter()
        .map(|(k, g)| ((*k).clone(), (*g).to_owned()))
        .collect()
}

async fn reference_1_to_4_through_the_engine(db: Database) {
    let u = Untyped::new(db).await;
    let db = &u.db;
    let enrollment = u.meta("Enrollment");
    let students = u.relation("Course", "students");
    let decode = row_values(enrollment);
    let (alice, bob, carol) = (
        u.student("alice").await,
        u.student("bob").await,
        u.student("carol").await,
    );

    // 1. add(alice, B+) then add(alice, A): one row, B+; the difference is reported.
    let math = u.create("Course", &[("title", "math".into())]).await;
    let to_math = students.from(math.clone());
    let first = to_math
        .add(vec![(alice.clone(), u.grade(&students, "B+"))], db)
        .await
        .unwrap();
    assert_eq!(first.linked, vec![alice.clone()]);
    let second = to_math
        .add(vec![(alice.clone(), u.grade(&students, "A"))], db)
        .await
        .unwrap();
    assert_eq!(u.grades(&math).await, graded(&[(&alice, "B+")]));
    assert!(second.linked.is_empty());
    assert_eq!(second.already_linked, vec![alice.clone()]);
    let diff = &second.differing[0].fields[0];
    assert_eq!(
        (diff.field.as_str(), &diff.stored, &diff.given),
        ("grade", &Value::from("B+"), &Value::from("A"))
    );

    // 2. then add(bob, C), set([alice, carol], F): alice B+ kept, carol F, bob's row
    // deleted and returned in full.
    to_math
        .add(vec![(bob.clone(), u.grade(&students, "C"))], db)
        .await
        .unwrap();
    let set = to_math
        .set(
            vec![alice.clone(), carol.clone()],
            u.grade(&students, "F"),
            false,
            decode,
            db,
        )
        .await
        .unwrap();
    assert_eq!(
        u.grades(&math).await,
        graded(&[(&alice, "B+"), (&carol, "F")])
    );
    assert_eq!(set.kept, vec![alice.clone()]);
    assert_eq!(set.added.linked, vec![carol.clone()]);
    assert_eq!(set.removed.len(), 1);
    assert_eq!(field(enrollment, &set.removed[0], "student"), bob);
    assert_eq!(
        field(enrollment, &set.removed[0], "grade"),
        Value::from("C")
    );

    // 3. then clear_and_set([alice, carol]) with the blank grade: both recreated, values
    // lost and returned.
    let cleared = to_math
        .set(
            vec![alice.clone(), carol.clone()],
            u.grade(&students, ""),
            true,
            decode,
            db,
        )
        .await
        .unwrap();
    assert_eq!(u.grades(&math).await, graded(&[(&alice, ""), (&carol, "")]));
    let mut lost: Vec<String> = cleared
        .removed
        .iter()
        .map(|r| field(enrollment, r, "grade").display())
        .collect();
    lost.sort();
    assert_eq!(lost, ["B+", "F"]);

    // 4. remove(alice): carol only; clear(): none. Both return what they deleted.
    let removed = to_math
        .remove(vec![alice.clone()], decode, db)
        .await
        .unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(field(enrollment, &removed[0], "student"), alice);
    assert_eq!(u.grades(&math).await, graded(&[(&carol, "")]));
    let all = to_math.clear(decode, db).await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(u.grades(&math).await.is_empty());

    // The reverse side, found by its related_name, writes the same rows.
    let courses = u.relation("Student", "courses");
    assert_eq!(courses.declared, "Course.students");
    let outcome = courses
        .from(bob.clone())
        .add(vec![(math.clone(), u.grade(&courses, "A"))], db)
        .await
        .unwrap();
    assert_eq!(outcome.linked, vec![math.clone()]);
    assert_eq!(u.grades(&math).await, graded(&[(&bob, "A")]));
}

async fn reference_5_and_the_wider_link_key_through_the_engine(db: Database) {
    let u = Untyped::new(db).await;
    let db = &u.db;
    let t1 = u.create("Topic", &[("name", "t1".into())]).await;
    let s1 = u.create("System", &[("name", "s1".into())]).await;
    let svc1 = u.create("Service", &[("name", "svc1".into())]).await;
    let svc2 = u.create("Service", &[("name", "svc2".into())]).await;
    let systems = u.relation("Topic", "systems");
    let via = |svc: &Value| systems.values([("service", svc.clone())]).unwrap();
    let from_t1 = systems.from(t1.clone());
    let decode = row_values(u.meta("TopicSystem"));

    // No pair constraint: the second add is a reported no-op (as Django: one row).
    from_t1
        .add(vec![(s1.clone(), via(&svc1))], db)
        .await
        .unwrap();
    let second = from_t1
        .add(vec![(s1.clone(), via(&svc2))], db)
        .await
        .unwrap();
    assert_eq!(u.count("TopicSystem").await, 1);
    assert_eq!(second.already_linked, vec![s1.clone()]);
    assert_eq!(second.differing[0].fields[0].field, "service");
    // A direct write to the through model creates a second row; remove deletes both.
    u.create(
        "TopicSystem",
        &[
            ("topic", t1.clone()),
            ("system", s1.clone()),
            ("service", svc2.clone()),
        ],
    )
    .await;
    assert_eq!(u.count("TopicSystem").await, 2);
    let only_svc2 = Filter::cond(FieldPath::local("service"), Lookup::Exact(svc2.clone()));
    let one = from_t1
        .remove_where(s1.clone(), only_svc2, decode, db)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(u.count("TopicSystem").await, 1);
    let removed = from_t1.remove(vec![s1.clone()], decode, db).await.unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(u.count("TopicSystem").await, 0);

    // A wider link key (topic, system, service): a second service is a second link.
    let routes = u.relation("Topic", "routes");
    let via = |svc: &Value| routes.values([("service", svc.clone())]).unwrap();
    let from_t1 = routes.from(t1.clone());
    let a = from_t1
        .add(vec![(s1.clone(), via(&svc1))], db)
        .await
        .unwrap();
    let b = from_t1
        .add(vec![(s1.clone(), via(&svc2))], db)
        .await
        .unwrap();
    let again = from_t1
        .add(vec![(s1.clone(), via(&svc2))], db)
        .await
        .unwrap();
    assert_eq!((a.linked.len(), b.linked.len()), (1, 1));
    assert_eq!(again.already_linked, vec![s1.clone()]);
    assert_eq!(u.count("Route").await, 2);
    // The link key's other fields must be given.
    let missing = from_t1
        .add(vec![(s1.clone(), Values::from(vec![]))], db)
        .await;
    assert!(
        matches!(missing, Err(Error::Validation { .. })),
        "{missing:?}"
    );
}

async fn policies_outcomes_and_create_through_the_engine(db: Database) {
    let u = Untyped::new(db).await;
    let db = &u.db;
    let students = u.relation("Course", "students");
    let enrollment = u.meta("Enrollment");
    let (alice, bob) = (u.student("alice").await, u.student("bob").await);
    let math = u.create("Course", &[("title", "math".into())]).await;
    let to_math = students.from(math.clone());
    to_math
        .add(vec![(alice.clone(), u.grade(&students, "B"))], db)
        .await
        .unwrap();

    // Fail: an already-linked pair is an error and nothing is written.
    let refused = to_math
        .clone()
        .on_existing(OnExisting::Fail)
        .add(
            vec![
                (bob.clone(), u.grade(&students, "C")),
                (alice.clone(), u.grade(&students, "A")),
            ],
            db,
        )
        .await;
    assert!(
        matches!(refused, Err(Error::AlreadyLinked { .. })),
        "{refused:?}"
    );
    assert_eq!(u.grades(&math).await, graded(&[(&alice, "B")]));

    // Update: the given fields are written into the differing rows, and reported.
    let updated = to_math
        .clone()
        .on_existing(OnExisting::Update)
        .add(vec![(alice.clone(), u.grade(&students, "A"))], db)
        .await
        .unwrap();
    assert_eq!(updated.updated, vec![alice.clone()]);
    assert_eq!(u.grades(&math).await, graded(&[(&alice, "A")]));

    // add_each: each target its own values, one call; the defaults fill the rest.
    let carol = u.student("carol").await;
    let each = to_math
        .add(
            vec![
                (bob.clone(), u.grade(&students, "C")),
                (carol.clone(), u.grade(&students, "D")),
            ],
            db,
        )
        .await
        .unwrap();
    assert_eq!(each.linked, vec![bob.clone(), carol.clone()]);
    assert_eq!(
        u.grades(&math).await,
        graded(&[(&alice, "A"), (&bob, "C"), (&carol, "D")])
    );
    let rows = read::rows(db, enrollment, Filter::All).await.unwrap();
    assert!(
        rows.iter()
            .all(|r| field(enrollment, r, "status") == Value::from("active"))
    );

    // plan_set: the plan, nothing written.
    let plan = to_math
        .plan_set(vec![alice.clone()], row_values(enrollment), db)
        .await
        .unwrap();
    assert_eq!(plan.keep, vec![alice.clone()]);
    assert!(plan.add.is_empty());
    assert_eq!(plan.remove.len(), 2);
    assert_eq!(u.grades(&math).await.len(), 3);

    // create: a new target row and its link, in one transaction.
    let dave_row = engine::defaults::new_row(
        u.meta("Student"),
        &[
            ("name", "dave".into()),
            ("email", "dave@example.com".into()),
        ],
    )
    .unwrap();
    let (dave, outcome) = to_math
        .create(dave_row, u.grade(&students, "B"), db)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        AddOutcome {
            linked: vec![dave.clone()],
            ..AddOutcome::default()
        }
    );
    assert_eq!(u.grades(&math).await.len(), 4);
}

/// A hook event: point, source, targets.
type Event = (HookPoint, Value, Vec<Value>);

async fn hooks_through_the_engine(db: Database) {
    let u = Untyped::new(db).await;
    let db = &u.db;
    let students = u.relation("Course", "students");
    let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
    for point in [
        HookPoint::BeforeAdd,
        HookPoint::AfterAdd,
        HookPoint::AfterRemove,
    ] {
        let seen = seen.clone();
        students.on(db.hooks(), point, move |ctx| {
            let seen = seen.clone();
            Box::pin(async move {
                let change = &ctx.change;
                seen.lock().unwrap().push((
                    change.point,
                    change.source.clone(),
                    change.targets.clone(),
                ));
                Ok(())
            })
        });
    }
    // A refusing hook, registered from the reverse side: the relation is the same.
    u.relation("Student", "courses")
        .on(db.hooks(), HookPoint::BeforeAdd, |ctx| {
            Box::pin(async move {
                if ctx.change.targets.contains(&Value::I64(3)) {
                    return Err(Error::validation("Enrollment", "student", "refused"));
                }
                Ok(())
            })
        });
    let (alice, bob, carol) = (
        u.student("alice").await,
        u.student("bob").await,
        u.student("carol").await,
    );
    assert_eq!(carol, Value::I64(3));
    let math = u.create("Course", &[("title", "math".into())]).await;
    let to_math = students.from(math.clone());
    to_math
        .add(vec![(alice.clone(), u.grade(&students, "A"))], db)
        .await
        .unwrap();
    let refused = to_math
        .add(vec![(carol.clone(), u.grade(&students, "A"))], db)
        .await;
    assert!(
        matches!(refused, Err(Error::Validation { .. })),
        "{refused:?}"
    );
    // A delete of a source row (through the engine's crud) fires the remove hooks.
    to_math
        .add(vec![(bob.clone(), u.grade(&students, "B"))], db)
        .await
        .unwrap();
    crud::delete(db, u.meta("Student"), bob.clone())
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (HookPoint::BeforeAdd, math.clone(), vec![alice.clone()]),
            (HookPoint::AfterAdd, math.clone(), vec![alice.clone()]),
            (HookPoint::BeforeAdd, math.clone(), vec![carol.clone()]),
            (HookPoint::BeforeAdd, math.clone(), vec![bob.clone()]),
            (HookPoint::AfterAdd, math.clone(), vec![bob.clone()]),
            (HookPoint::AfterRemove, math.clone(), vec![bob.clone()]),
        ]
    );
    assert_eq!(u.grades(&math).await, graded(&[(&alice, "A")]));
    // Hooks belong to this database: another one has none.
    let other = common::sqlite().await;
    assert!(other.hooks().is_empty());
    assert!(!db.hooks().is_empty());
}

async fn bad_input_through_the_engine_changes_nothing(db: Database) {
    let u = Untyped::new(db).await;
    let db = &u.db;
    let students = u.relation("Course", "students");
    let alice = u.student("alice").await;
    let math = u.create("Course", &[("title", "math".into())]).await;
    // Unknown names: a model, an accessor, a field of the through model, a field of a row.
    assert!(Relation::find(&u.registry, "Nope", "students").is_err());
    assert!(Relation::find(&u.registry, "Course", "nope").is_err());
    assert!(students.values([("nope", Value::from(1))]).is_err());
    let unknown = crud::create(db, u.meta("Course"), &[("nope", Value::from(1))]).await;
    assert!(
        matches!(unknown, Err(Error::InvalidQuery { .. })),
        "{unknown:?}"
    );
    // A required field missing, a value too long: validation errors before any SQL.
    let missing = crud::create(db, u.meta("Student"), &[("name", "x".into())]).await;
    assert!(
        matches!(missing, Err(Error::Validation { .. })),
        "{missing:?}"
    );
    let long = students
        .from(math.clone())
        .add(vec![(alice.clone(), u.grade(&students, "ABC"))], db)
        .await;
    assert!(matches!(long, Err(Error::Validation { .. })), "{long:?}");
    // An unsaved source (a NULL key).
    let unsaved = students
        .from(Value::Null)
        .add(vec![(alice.clone(), u.grade(&students, "A"))], db)
        .await;
    assert!(matches!(unsaved, Err(Error::Unsaved { .. })), "{unsaved:?}");
    // A target that does not exist: the database refuses, nothing is left behind.
    let ghost = students
        .from(math.clone())
        .add(
            vec![
                (alice.clone(), u.grade(&students, "A")),
                (Value::I64(999), u.grade(&students, "A")),
            ],
            db,
        )
        .await;
    assert!(ghost.is_err(), "{ghost:?}");
    assert!(u.grades(&math).await.is_empty());
    assert_eq!(u.count("Student").await, 1);
}

/// One sequence of writes through the typed API on one database and through the engine
/// on a twin: the tables hold the same rows (timestamps aside).
async fn the_engine_and_the_typed_api_write_the_same_rows(db: Database) {
    let twin = match db.backend() {
        throughline::Backend::Postgres => {
            common::postgres("engine_values::typed_twin").await.unwrap()
        }
        _ => common::sqlite().await,
    };
    // The typed API.
    with_tables(&twin).await;
    let typed_math = models::Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&twin)
    .await
    .unwrap();
    let mut typed_students = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        typed_students.push(models::student(name).create(&twin).await.unwrap());
    }
    let grade = |g: &str| models::CourseStudentsValues {
        grade: g.into(),
        enrolled_at: None,
        status: None,
    };
    let [a, b, c, d] = &typed_students[..] else {
        unreachable!()
    };
    let rel = typed_math.students();
    rel.add_with([a, b], grade("B+"), &twin).await.unwrap();
    rel.add_with([a], grade("A"), &twin).await.unwrap();
    typed_math
        .students()
        .on_existing(OnExisting::Update)
        .add_with([b], grade("C"), &twin)
        .await
        .unwrap();
    rel.set_with([a, c], grade("F"), &twin).await.unwrap();
    rel.add_each([(d, grade("D")), (b, grade("E"))], &twin)
        .await
        .unwrap();
    rel.remove([c], &twin).await.unwrap();
    d.courses()
        .add_with([&typed_math], grade("X"), &twin)
        .await
        .unwrap();

    // The engine, with names and values.
    let u = Untyped::new(db).await;
    let db = &u.db;
    let math = u.create("Course", &[("title", "math".into())]).await;
    let mut keys = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        keys.push(u.student(name).await);
    }
    let [a, b, c, d] = &keys[..] else {
        unreachable!()
    };
    let students = u.relation("Course", "students");
    let g = |v: &str| u.grade(&students, v);
    let rel = students.from(math.clone());
    let decode = row_values(u.meta("Enrollment"));
    rel.add(vec![(a.clone(), g("B+")), (b.clone(), g("B+"))], db)
        .await
        .unwrap();
    rel.add(vec![(a.clone(), g("A"))], db).await.unwrap();
    rel.clone()
        .on_existing(OnExisting::Update)
        .add(vec![(b.clone(), g("C"))], db)
        .await
        .unwrap();
    rel.set(vec![a.clone(), c.clone()], g("F"), false, decode, db)
        .await
        .unwrap();
    rel.add(vec![(d.clone(), g("D")), (b.clone(), g("E"))], db)
        .await
        .unwrap();
    rel.remove(vec![c.clone()], decode, db).await.unwrap();
    u.relation("Student", "courses")
        .from(d.clone())
        .add(vec![(math.clone(), g("X"))], db)
        .await
        .unwrap();

    // The same rows: every column but the timestamp.
    let meta = u.meta("Enrollment");
    let without_time = |rows: Vec<Vec<Value>>| -> Vec<Vec<Value>> {
        let at = meta.field_index("enrolled_at").unwrap();
        rows.into_iter()
            .map(|mut r| {
                r.remove(at);
                r
            })
            .collect()
    };
    let engine_rows = without_time(read::rows(db, meta, Filter::All).await.unwrap());
    let typed_rows = without_time(read::rows(&twin, meta, Filter::All).await.unwrap());
    assert_eq!(engine_rows, typed_rows);
    assert_eq!(engine_rows.len(), 3);
}

/// Rows built from user data: a row shorter (or longer) than the model is an error before
/// any SQL, never a panic or a half-written row; a key of the wrong type (a UUID or an
/// integer key given as text) is a validation error, never a row later reads miss.
async fn short_rows_and_wrong_key_types_are_errors_not_panics(db: Database) {
    let u = Untyped::new(db).await;
    let db = &u.db;
    let course = u.meta("Course");
    for row in [vec![Value::Null], vec![Value::Null; 5]] {
        let insert = crud::insert(db, course, row.clone()).await;
        assert!(
            matches!(insert, Err(Error::InvalidQuery { .. })),
            "{insert:?}"
        );
        let save = crud::save(db, course, row.clone()).await;
        assert!(matches!(save, Err(Error::InvalidQuery { .. })), "{save:?}");
        let bulk = crud::bulk_insert(
            db,
            course,
            vec![row.clone()],
            throughline::Conflict::Error,
            row_values(course),
        )
        .await;
        assert!(matches!(bulk, Err(Error::InvalidQuery { .. })), "{bulk:?}");
    }
    let students = u.relation("Course", "students");
    let math = u.create("Course", &[("title", "math".into())]).await;
    let alice = u.student("alice").await;
    let short = students
        .from(math.clone())
        .create(vec![Value::Null], u.grade(&students, "A"), db)
        .await;
    assert!(
        matches!(short, Err(Error::InvalidQuery { .. })),
        "{short:?}"
    );
    // An integer key given as text, from either side.
    let as_text = Value::from(alice.display());
    let target = students
        .from(math.clone())
        .add(vec![(as_text.clone(), u.grade(&students, "A"))], db)
        .await;
    assert!(
        matches!(target, Err(Error::Validation { .. })),
        "{target:?}"
    );
    let source = students
        .from(Value::from(math.display()))
        .add(vec![(alice.clone(), u.grade(&students, "A"))], db)
        .await;
    assert!(
        matches!(source, Err(Error::Validation { .. })),
        "{source:?}"
    );
    let set = students
        .from(math.clone())
        .set(
            vec![as_text],
            u.grade(&students, "A"),
            false,
            row_values(u.meta("Enrollment")),
            db,
        )
        .await;
    assert!(matches!(set, Err(Error::Validation { .. })), "{set:?}");
    assert_eq!(u.count("Course").await, 1);
    assert!(u.grades(&math).await.is_empty());
}

/// `update` with no assignment refreshes the `auto_now` fields of the matching rows (as a
/// save does), through the typed API and the engine alike.
async fn an_empty_update_still_touches_auto_now(db: Database) {
    let u = Untyped::new(db).await;
    let db = &u.db;
    let author = u.create("Author", &[("name", "ann".into())]).await;
    let book = u.meta("Book");
    let old = chrono::DateTime::from_timestamp(946_684_800, 0).unwrap();
    let row = crud::create(
        db,
        book,
        &[
            ("author", author),
            ("title", "t".into()),
            ("meta", Value::Json(serde_json::json!({}))),
            ("code", Value::Uuid(uuid::Uuid::new_v4())),
            ("updated", Value::DateTime(old)),
        ],
    )
    .await
    .unwrap();
    assert_eq!(field(book, &row, "updated"), Value::DateTime(old));
    let touched = crud::update_where(db, book, Vec::new(), Vec::new())
        .await
        .unwrap();
    assert_eq!(touched, 1);
    let rows = read::rows(db, book, Filter::All).await.unwrap();
    assert_ne!(field(book, &rows[0], "updated"), Value::DateTime(old));
    let typed = models::Book::objects().update(vec![], db).await.unwrap();
    assert_eq!(typed, 1);
}
