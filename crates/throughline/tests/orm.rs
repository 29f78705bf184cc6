//! Behaviour of the core ORM, written once and run on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use chrono::{TimeZone, Utc};
use common::models::*;
use common::with_tables;
use throughline::prelude::*;
use throughline::{Error, IntegrityKind, Value};

backend_tests!(
    create_get_save_refresh_delete,
    lookups_and_combinations,
    ordering_slicing_counting,
    values_distinct_update_delete,
    bulk_create_conflicts,
    bulk_create_conflicts_on_every_unique_key,
    concurrent_bulk_create_ignore,
    trailing_spaces_are_significant,
    get_or_create_and_update_or_create,
    foreign_keys_forward_and_reverse,
    select_related_is_one_query,
    prefetch_is_two_queries,
    prefetch_gives_each_parents_rows_in_key_order,
    filters_across_relations,
    transactions_commit_rollback_nested,
    validation_before_sql,
    integrity_errors_are_typed,
    on_delete_actions,
    field_types_round_trip,
    explicit_primary_key,
    select_related_key_not_first,
);

async fn create_get_save_refresh_delete(db: Database) {
    with_tables(&db).await;
    let mut alice = student("alice").create(&db).await.unwrap();
    assert!(alice.id.is_some());
    let found = Student::objects()
        .get(Student::NAME.eq("alice"), &db)
        .await
        .unwrap();
    assert_eq!(found.id, alice.id);
    assert_eq!(found.email, "alice@example.com");

    alice.age = Some(21);
    alice.save(&db).await.unwrap();
    let mut copy = found.clone();
    copy.refresh(&db).await.unwrap();
    assert_eq!(copy.age, Some(21));

    let missing = Student::objects()
        .get(Student::NAME.eq("nobody"), &db)
        .await
        .unwrap_err();
    assert!(missing.is_does_not_exist(), "{missing}");
    student("alicia").create(&db).await.unwrap();
    let several = Student::objects()
        .get(Student::NAME.startswith("ali"), &db)
        .await
        .unwrap_err();
    assert!(
        matches!(several, Error::MultipleObjectsReturned { count: 2, .. }),
        "{several}"
    );

    assert_eq!(alice.delete(&db).await.unwrap(), 1);
    assert_eq!(Student::objects().count(&db).await.unwrap(), 1);
    let unsaved = student("ghost");
    assert!(matches!(
        unsaved.delete(&db).await.unwrap_err(),
        Error::Unsaved { .. }
    ));
}

async fn names(qs: throughline::QuerySet<Student>, db: &Database) -> Vec<String> {
    qs.order_by([Student::NAME.asc()])
        .values_list(Student::NAME, db)
        .await
        .unwrap()
}

async fn lookups_and_combinations(db: Database) {
    with_tables(&db).await;
    for (name, age) in [
        ("alice", Some(20)),
        ("Bob", Some(31)),
        ("carol", None),
        ("dave_x", Some(25)),
        ("al%ce", Some(40)),
    ] {
        Student {
            age,
            ..student(name)
        }
        .create(&db)
        .await
        .unwrap();
    }
    let all = || Student::objects();
    assert_eq!(
        names(all().filter(Student::AGE.eq(None)), &db).await,
        ["carol"]
    );
    assert_eq!(
        names(all().filter(Student::AGE.ne(20)), &db).await,
        ["Bob", "al%ce", "carol", "dave_x"]
    );
    assert_eq!(
        names(all().exclude(Student::AGE.eq(20)), &db).await,
        ["Bob", "al%ce", "carol", "dave_x"]
    );
    assert_eq!(
        names(all().filter(Student::AGE.lt(25)), &db).await,
        ["alice"]
    );
    assert_eq!(
        names(all().filter(Student::AGE.lte(25)), &db).await,
        ["alice", "dave_x"]
    );
    assert_eq!(
        names(all().filter(Student::AGE.gt(30)), &db).await,
        ["Bob", "al%ce"]
    );
    assert_eq!(
        names(all().filter(Student::AGE.gte(31)), &db).await,
        ["Bob", "al%ce"]
    );
    assert_eq!(
        names(all().filter(Student::AGE.range(20, 25)), &db).await,
        ["alice", "dave_x"]
    );
    assert_eq!(
        names(all().filter(Student::AGE.is_in([20, 31])), &db).await,
        ["Bob", "alice"]
    );
    assert!(
        names(all().filter(Student::AGE.is_in(Vec::<i32>::new())), &db)
            .await
            .is_empty()
    );
    assert_eq!(
        names(all().filter(Student::AGE.is_null(true)), &db).await,
        ["carol"]
    );
    assert_eq!(
        all()
            .filter(Student::AGE.is_null(false))
            .count(&db)
            .await
            .unwrap(),
        4
    );
    // Case-sensitive text lookups, and ASCII-folding i-lookups, on both backends.
    assert_eq!(
        names(all().filter(Student::NAME.contains("o")), &db).await,
        ["Bob", "carol"]
    );
    assert_eq!(
        names(all().filter(Student::NAME.contains("B")), &db).await,
        ["Bob"]
    );
    assert_eq!(
        names(all().filter(Student::NAME.icontains("B")), &db).await,
        ["Bob"]
    );
    assert_eq!(
        names(all().filter(Student::NAME.startswith("b")), &db).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(all().filter(Student::NAME.istartswith("b")), &db).await,
        ["Bob"]
    );
    assert_eq!(
        names(all().filter(Student::NAME.endswith("E")), &db).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(all().filter(Student::NAME.iendswith("E")), &db).await,
        ["al%ce", "alice"]
    );
    assert_eq!(
        names(all().filter(Student::NAME.iexact("BOB")), &db).await,
        ["Bob"]
    );
    // Wildcards in the searched text are literal.
    assert_eq!(
        names(all().filter(Student::NAME.contains("%")), &db).await,
        ["al%ce"]
    );
    assert_eq!(
        names(all().filter(Student::NAME.icontains("_")), &db).await,
        ["dave_x"]
    );
    // AND / OR / NOT.
    let q = (Student::AGE.gt(20) & Student::NAME.contains("a")) | Student::NAME.eq("Bob");
    assert_eq!(
        names(all().filter(q), &db).await,
        ["Bob", "al%ce", "dave_x"]
    );
    assert_eq!(
        names(all().filter(!Student::NAME.contains("a")), &db).await,
        ["Bob"]
    );
    // NOT on a nullable field keeps NULL rows (as Django's exclude).
    assert_eq!(
        names(all().filter(!Student::AGE.gt(22)), &db).await,
        ["alice", "carol"]
    );
}

async fn ordering_slicing_counting(db: Database) {
    with_tables(&db).await;
    for (name, age) in [("b", 2), ("a", 2), ("c", 1), ("d", 3)] {
        Student {
            age: Some(age),
            ..student(name)
        }
        .create(&db)
        .await
        .unwrap();
    }
    // Default ordering (Meta.ordering = name).
    assert_eq!(
        Student::objects()
            .values_list(Student::NAME, &db)
            .await
            .unwrap(),
        ["a", "b", "c", "d"]
    );
    let ordered = Student::objects().order_by([Student::AGE.desc(), Student::NAME.asc()]);
    assert_eq!(
        ordered.values_list(Student::NAME, &db).await.unwrap(),
        ["d", "a", "b", "c"]
    );
    assert_eq!(
        ordered
            .clone()
            .limit(2)
            .values_list(Student::NAME, &db)
            .await
            .unwrap(),
        ["d", "a"]
    );
    assert_eq!(
        ordered
            .clone()
            .offset(3)
            .values_list(Student::NAME, &db)
            .await
            .unwrap(),
        ["c"]
    );
    assert_eq!(
        ordered.clone().limit(2).offset(1).count(&db).await.unwrap(),
        2
    );
    assert_eq!(ordered.first(&db).await.unwrap().unwrap().name, "d");
    assert!(
        Student::objects()
            .filter(Student::NAME.eq("z"))
            .first(&db)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        Student::objects()
            .filter(Student::AGE.eq(3))
            .exists(&db)
            .await
            .unwrap()
    );
    assert!(
        !Student::objects()
            .filter(Student::AGE.eq(9))
            .exists(&db)
            .await
            .unwrap()
    );
    assert_eq!(
        Student::objects()
            .filter(Student::AGE.eq(2))
            .count(&db)
            .await
            .unwrap(),
        2
    );
}

async fn values_distinct_update_delete(db: Database) {
    with_tables(&db).await;
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let alice = student("alice").create(&db).await.unwrap();
    let bob = student("bob").create(&db).await.unwrap();
    enrollment(&alice, &math, "A").create(&db).await.unwrap();
    enrollment(&bob, &math, "B").create(&db).await.unwrap();

    let rows = Student::objects()
        .values(vec![Student::NAME.path(), Student::EMAIL.path()], &db)
        .await
        .unwrap();
    assert_eq!(
        rows[0],
        vec![Value::from("alice"), Value::from("alice@example.com")]
    );

    // A join across a reverse relation yields one row per related row; distinct removes them.
    let joined = Course::objects().filter(
        Course::ENROLLMENTS
            .then(Enrollment::GRADE)
            .is_in(["A", "B"]),
    );
    assert_eq!(joined.count(&db).await.unwrap(), 2);
    assert_eq!(joined.clone().distinct().count(&db).await.unwrap(), 1);
    assert_eq!(joined.distinct().all(&db).await.unwrap().len(), 1);

    let changed = Enrollment::objects()
        .filter(Enrollment::STUDENT.then(Student::NAME).eq("bob"))
        .update(
            vec![
                Enrollment::GRADE.set("C"),
                Enrollment::STATUS.set(Status::Completed),
            ],
            &db,
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let bob_row = Enrollment::objects()
        .get(Enrollment::STUDENT_ID.eq(&bob), &db)
        .await
        .unwrap();
    assert_eq!(
        (bob_row.grade.as_str(), bob_row.status),
        ("C", Status::Completed)
    );

    let deleted = Enrollment::objects()
        .filter(Enrollment::GRADE.eq("A"))
        .delete(&db)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 1);
}

async fn bulk_create_conflicts(db: Database) {
    with_tables(&db).await;
    let created = Student::objects()
        .bulk_create(
            (0..500).map(|i| student(&format!("s{i:03}"))).collect(),
            Conflict::Error,
            &db,
        )
        .await
        .unwrap();
    assert_eq!(created.len(), 500);
    assert!(created.iter().all(|s| s.id.is_some()));

    // Error: nothing of the batch is written.
    let err = Student::objects()
        .bulk_create(vec![student("new"), student("s001")], Conflict::Error, &db)
        .await
        .unwrap_err();
    assert!(err.is_integrity(IntegrityKind::Unique), "{err}");
    assert_eq!(Student::objects().count(&db).await.unwrap(), 500);

    // Ignore: the conflicting row is skipped, the others written and returned.
    let written = Student::objects()
        .bulk_create(vec![student("new"), student("s001")], Conflict::Ignore, &db)
        .await
        .unwrap();
    assert_eq!(
        written.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
    assert_eq!(Student::objects().count(&db).await.unwrap(), 501);

    // Update listed columns of the existing row.
    let renamed = Student {
        name: "renamed".into(),
        ..student("s002")
    };
    let updated = Student::objects()
        .bulk_create(
            vec![renamed],
            Conflict::Update {
                target: vec!["email".into()],
                fields: vec!["name".into()],
            },
            &db,
        )
        .await
        .unwrap();
    assert_eq!(updated[0].name, "renamed");
    let row = Student::objects()
        .get(Student::EMAIL.eq("s002@example.com"), &db)
        .await
        .unwrap();
    assert_eq!(row.name, "renamed");
    assert_eq!(Student::objects().count(&db).await.unwrap(), 501);
}

/// `Conflict::Ignore` skips a row conflicting on any unique key — the primary key, a unique
/// field, a unique constraint — with an existing row or an earlier row of the batch, and
/// writes nothing to the existing row; a NULL never conflicts. `Conflict::Update` inserts
/// the new rows and updates the existing ones, returning both. The same on every backend
/// (MariaDB has no `ON CONFLICT`: there the rows are read under a lock first).
async fn bulk_create_conflicts_on_every_unique_key(db: Database) {
    with_tables(&db).await;
    let names = |students: &[Student]| {
        let mut names: Vec<String> = students.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names
    };
    let first = student("a").create(&db).await.unwrap();
    // Explicit keys: the first conflicts on the primary key, the second is new.
    let keyed = Student::objects()
        .bulk_create(
            vec![
                Student {
                    id: first.id,
                    ..student("a-again")
                },
                Student {
                    id: Some(100),
                    ..student("k")
                },
            ],
            Conflict::Ignore,
            &db,
        )
        .await
        .unwrap();
    assert_eq!(names(&keyed), ["k"]);
    // A unique field, against an existing row and within the batch (the first one wins).
    let written = Student::objects()
        .bulk_create(
            vec![
                Student {
                    email: "a@example.com".into(),
                    ..student("dup-of-a")
                },
                student("b"),
                Student {
                    email: "b@example.com".into(),
                    ..student("dup-of-b")
                },
                student("c"),
            ],
            Conflict::Ignore,
            &db,
        )
        .await
        .unwrap();
    assert_eq!(names(&written), ["b", "c"]);
    assert!(written.iter().all(|s| s.id.is_some()));
    let all = Student::objects().all(&db).await.unwrap();
    assert_eq!(names(&all), ["a", "b", "c", "k"]);

    // A unique constraint: the existing enrollment keeps its grade.
    let math = Course {
        id: None,
        title: "Math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let (a, b) = (&all[0], &all[1]);
    enrollment(a, &math, "A").create(&db).await.unwrap();
    let enrolled = Enrollment::objects()
        .bulk_create(
            vec![
                enrollment(a, &math, "F"),
                enrollment(b, &math, "B"),
                enrollment(b, &math, "C"),
            ],
            Conflict::Ignore,
            &db,
        )
        .await
        .unwrap();
    assert_eq!(
        enrolled
            .iter()
            .map(|e| e.grade.as_str())
            .collect::<Vec<_>>(),
        ["B"]
    );
    let grades = Enrollment::objects()
        .order_by([Enrollment::GRADE.asc()])
        .values_list(Enrollment::GRADE, &db)
        .await
        .unwrap();
    assert_eq!(grades, ["A", "B"]);

    // Update: new rows inserted, existing ones updated, both returned.
    let upserted = Student::objects()
        .bulk_create(
            vec![
                student("x"),
                Student {
                    age: Some(30),
                    ..student("c")
                },
                Student {
                    name: "renamed".into(),
                    ..student("b")
                },
            ],
            Conflict::Update {
                target: vec!["email".into()],
                fields: vec!["name".into(), "age".into()],
            },
            &db,
        )
        .await
        .unwrap();
    assert_eq!(names(&upserted), ["c", "renamed", "x"]);
    assert!(upserted.iter().all(|s| s.id.is_some()));
    let c = Student::objects()
        .get(Student::EMAIL.eq("c@example.com"), &db)
        .await
        .unwrap();
    assert_eq!((c.name.as_str(), c.age), ("c", Some(30)));
    assert_eq!(Student::objects().count(&db).await.unwrap(), 5);
    // Two rows updating the same row in one call are refused (SQLite lets the second win).
    if db.backend() != throughline::Backend::Sqlite {
        let twice = Student::objects()
            .bulk_create(
                vec![
                    student("c"),
                    Student {
                        name: "again".into(),
                        ..student("c")
                    },
                ],
                Conflict::Update {
                    target: vec!["email".into()],
                    fields: vec!["name".into()],
                },
                &db,
            )
            .await;
        assert!(twice.is_err(), "{twice:?}");
        let c = Student::objects()
            .get(Student::EMAIL.eq("c@example.com"), &db)
            .await
            .unwrap();
        assert_eq!(c.name, "c", "nothing written");
    }
}

/// Two processes skipping conflicts on the same rows at once: every row written once,
/// each call reports only the rows it wrote, and no call fails.
async fn concurrent_bulk_create_ignore(db: Database) {
    with_tables(&db).await;
    let mut tasks = Vec::new();
    for task in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut written = 0;
            for round in 0..5 {
                let batch = (0..20)
                    .map(|i| student(&format!("r{round}-s{}", (i + task * 5) % 30)))
                    .collect();
                written += Student::objects()
                    .bulk_create(batch, Conflict::Ignore, &db)
                    .await
                    .unwrap()
                    .len();
            }
            written
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    let count = Student::objects().count(&db).await.unwrap();
    assert_eq!(
        total as u64, count,
        "each row reported by the call that wrote it"
    );
    assert_eq!(count, 5 * 30);
}

/// `'a'` and `'a '` are different values for `=`, `IN` and unique constraints on every
/// backend (MariaDB's padding `utf8mb4_bin` would count them equal: tables there are
/// `utf8mb4_nopad_bin`).
async fn trailing_spaces_are_significant(db: Database) {
    with_tables(&db).await;
    student("t").create(&db).await.unwrap();
    Student {
        email: "t@example.com ".into(),
        ..student("t-padded")
    }
    .create(&db)
    .await
    .unwrap();
    let exact = Student::objects()
        .filter(Student::EMAIL.eq("t@example.com"))
        .values_list(Student::NAME, &db)
        .await
        .unwrap();
    assert_eq!(exact, ["t"]);
    let listed = Student::objects()
        .filter(Student::EMAIL.is_in(["t@example.com ".to_owned()]))
        .values_list(Student::NAME, &db)
        .await
        .unwrap();
    assert_eq!(listed, ["t-padded"]);
    let skipped = Student::objects()
        .bulk_create(
            vec![Student {
                email: "t@example.com ".into(),
                ..student("again")
            }],
            Conflict::Ignore,
            &db,
        )
        .await
        .unwrap();
    assert!(skipped.is_empty());
}

async fn get_or_create_and_update_or_create(db: Database) {
    with_tables(&db).await;
    let (first, created) = Student::objects()
        .get_or_create(
            Student::EMAIL.eq("a@x.org"),
            Student {
                email: "a@x.org".into(),
                ..student("a")
            },
            &db,
        )
        .await
        .unwrap();
    assert!(created);
    let (again, created) = Student::objects()
        .get_or_create(
            Student::EMAIL.eq("a@x.org"),
            Student {
                email: "a@x.org".into(),
                ..student("other")
            },
            &db,
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!((again.id, again.name.as_str()), (first.id, "a"));

    let (updated, created) = Student::objects()
        .update_or_create(
            Student::EMAIL.eq("a@x.org"),
            student("unused"),
            |s| s.age = Some(30),
            &db,
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(updated.age, Some(30));
    let (made, created) = Student::objects()
        .update_or_create(
            Student::EMAIL.eq("b@example.com"),
            student("b"),
            |s| s.age = Some(1),
            &db,
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!(made.age, None);
    assert_eq!(Student::objects().count(&db).await.unwrap(), 2);
}

async fn foreign_keys_forward_and_reverse(db: Database) {
    with_tables(&db).await;
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let alice = student("alice").create(&db).await.unwrap();
    let row = enrollment(&alice, &math, "A").create(&db).await.unwrap();
    // Lazy: one query.
    let counting = Counting::new(&db);
    assert_eq!(row.student.get(&counting).await.unwrap().name, "alice");
    assert_eq!(counting.count(), 1);
    // Reverse accessors with a related_name, from both parents.
    assert_eq!(alice.enrollments().unwrap().count(&db).await.unwrap(), 1);
    assert_eq!(
        math.enrollments().unwrap().all(&db).await.unwrap()[0].grade,
        "A"
    );
    // An unsaved parent is a typed error.
    assert!(matches!(
        student("x").enrollments().unwrap_err(),
        Error::Unsaved { .. }
    ));
    // A foreign key to an unsaved row is refused before any SQL.
    let err = enrollment(&student("ghost"), &math, "B")
        .create(&db)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsaved { .. }), "{err}");
}

async fn select_related_is_one_query(db: Database) {
    with_tables(&db).await;
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    for name in ["alice", "bob", "carol"] {
        let s = student(name).create(&db).await.unwrap();
        enrollment(&s, &math, "A").create(&db).await.unwrap();
    }
    let counting = Counting::new(&db);
    let rows = Enrollment::objects()
        .select_related(Enrollment::STUDENT)
        .select_related(Enrollment::COURSE)
        .order_by([Enrollment::STUDENT.then(Student::NAME).desc()])
        .all(&counting)
        .await
        .unwrap();
    assert_eq!(counting.count(), 1, "{:?}", counting.statements());
    let names: Vec<&str> = rows
        .iter()
        .map(|e| e.student.loaded().unwrap().name.as_str())
        .collect();
    assert_eq!(names, ["carol", "bob", "alice"]);
    assert_eq!(rows[0].course.loaded().unwrap().title, "math");
    // Reading the loaded row costs nothing.
    rows[0].student.get(&counting).await.unwrap();
    assert_eq!(counting.count(), 1);
    // The rows of a query are stored together: a key kept alone keeps its own row, and
    // shows only that row.
    let kept = rows[1].student.clone();
    drop(rows);
    assert_eq!(kept.loaded().unwrap().name, "bob");
    let shown = format!("{kept:?}");
    assert!(shown.contains("cached: Some(Student {"), "{shown}");
    assert!(shown.contains("bob") && !shown.contains("carol"), "{shown}");
}

/// Open courses with these titles, created in order.
async fn create_courses(db: &Database, titles: [&str; 3]) -> Vec<Course> {
    let mut courses = Vec::new();
    for title in titles {
        let course = Course {
            id: None,
            title: title.into(),
            open: true,
        };
        courses.push(course.create(db).await.unwrap());
    }
    courses
}

async fn prefetch_is_two_queries(db: Database) {
    with_tables(&db).await;
    let courses = create_courses(&db, ["art", "bio", "chem"]).await;
    for (i, name) in ["alice", "bob"].iter().enumerate() {
        let s = student(name).create(&db).await.unwrap();
        for course in &courses[..=i] {
            enrollment(&s, course, "B").create(&db).await.unwrap();
        }
    }
    let counting = Counting::new(&db);
    let courses = Course::objects()
        .order_by([Course::TITLE.asc()])
        .all(&counting)
        .await
        .unwrap();
    let enrollments = Course::ENROLLMENTS
        .prefetch(&courses, &counting)
        .await
        .unwrap();
    assert_eq!(counting.count(), 2);
    let sizes: Vec<usize> = enrollments.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 1, 0]);
}

/// Without a default ordering, each parent's rows come in key order, whatever order the
/// database reads them in (SQLite reads a student's enrollments through the unique
/// (student, course) index: in course order).
async fn prefetch_gives_each_parents_rows_in_key_order(db: Database) {
    with_tables(&db).await;
    let courses = create_courses(&db, ["art", "bio", "chem"]).await;
    let alice = student("alice").create(&db).await.unwrap();
    let bob = student("bob").create(&db).await.unwrap();
    let mut keys = Vec::new();
    for course in courses.iter().rev() {
        for s in [&alice, &bob] {
            let row = enrollment(s, course, "B").create(&db).await.unwrap();
            keys.push((s.id, row.id));
        }
    }
    let expected: Vec<Vec<Option<i64>>> = [&alice, &bob]
        .iter()
        .map(|s| {
            keys.iter()
                .filter(|(k, _)| *k == s.id)
                .map(|(_, e)| *e)
                .collect()
        })
        .collect();
    let students = [bob.clone(), alice.clone()];
    let got: Vec<Vec<Option<i64>>> = Student::ENROLLMENTS
        .prefetch(&students, &db)
        .await
        .unwrap()
        .iter()
        .map(|rows| rows.iter().map(|e| e.id).collect())
        .collect();
    assert_eq!(got, [expected[1].clone(), expected[0].clone()]);
}

async fn filters_across_relations(db: Database) {
    with_tables(&db).await;
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let art = Course {
        id: None,
        title: "art".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let alice = student("alice").create(&db).await.unwrap();
    let bob = student("bob").create(&db).await.unwrap();
    enrollment(&alice, &math, "A").create(&db).await.unwrap();
    enrollment(&alice, &art, "C").create(&db).await.unwrap();
    enrollment(&bob, &art, "A").create(&db).await.unwrap();

    // Forward: enrollments whose student's name is "alice".
    let of_alice =
        Enrollment::objects().filter(Enrollment::STUDENT.then(Student::NAME).eq("alice"));
    assert_eq!(of_alice.count(&db).await.unwrap(), 2);
    // Reverse: students with an enrollment whose grade is "A" (one row each here).
    let with_a = Student::objects().filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A"));
    assert_eq!(names(with_a, &db).await, ["alice", "bob"]);
    // Two hops: students enrolled in art.
    let in_art = Student::ENROLLMENTS
        .join(Enrollment::COURSE)
        .then(Course::TITLE);
    assert_eq!(
        names(Student::objects().filter(in_art.eq("art")), &db).await,
        ["alice", "bob"]
    );
    // One filter call: both conditions on the same enrollment (alice has A in math, C in art).
    let same_row = Student::objects()
        .filter(in_art.eq("art") & Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A"));
    assert_eq!(names(same_row, &db).await, ["bob"]);
    // Two filter calls: each may match a different enrollment (as Django).
    let separate = Student::objects()
        .filter(in_art.eq("art"))
        .filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A"));
    assert_eq!(names(separate, &db).await, ["alice", "bob"]);
    // Exclude across a multi-valued relation removes every student with such a row.
    let without_c =
        Student::objects().exclude(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("C"));
    assert_eq!(names(without_c, &db).await, ["bob"]);
    // is_null across a reverse relation: students with no enrollment.
    student("carol").create(&db).await.unwrap();
    let lonely = Student::objects().filter(Student::ENROLLMENTS.then(Enrollment::ID).is_null(true));
    assert_eq!(names(lonely, &db).await, ["carol"]);
    // Update and delete across a relation.
    let n = Enrollment::objects()
        .filter(Enrollment::COURSE.then(Course::TITLE).eq("art"))
        .update(vec![Enrollment::GRADE.set("B")], &db)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let n = Enrollment::objects()
        .filter(Enrollment::STUDENT.then(Student::NAME).eq("bob"))
        .delete(&db)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

async fn transactions_commit_rollback_nested(db: Database) {
    with_tables(&db).await;
    let tx = db.begin().await.unwrap();
    student("committed").create(&tx).await.unwrap();
    tx.commit().await.unwrap();

    let tx = db.begin().await.unwrap();
    student("rolled_back").create(&tx).await.unwrap();
    assert_eq!(Student::objects().count(&tx).await.unwrap(), 2);
    tx.rollback().await.unwrap();

    {
        let tx = db.begin().await.unwrap();
        student("dropped").create(&tx).await.unwrap();
        // Dropped without commit: rolled back.
    }

    let mut tx = db.begin().await.unwrap();
    student("outer").create(&tx).await.unwrap();
    {
        let inner = tx.transaction().await.unwrap();
        student("inner_rolled_back").create(&inner).await.unwrap();
        inner.rollback().await.unwrap();
    }
    {
        let inner = tx.transaction().await.unwrap();
        student("inner_dropped").create(&inner).await.unwrap();
    }
    {
        let inner = tx.transaction().await.unwrap();
        student("inner_kept").create(&inner).await.unwrap();
        inner.commit().await.unwrap();
    }
    // A failed operation inside the transaction does not poison it.
    let err = student("committed").create(&tx).await.unwrap_err();
    assert!(err.is_integrity(IntegrityKind::Unique), "{err}");
    student("after_error").create(&tx).await.unwrap();
    tx.commit().await.unwrap();

    let mut got = Student::objects()
        .values_list(Student::NAME, &db)
        .await
        .unwrap();
    got.sort();
    assert_eq!(got, ["after_error", "committed", "inner_kept", "outer"]);
}

async fn validation_before_sql(db: Database) {
    with_tables(&db).await;
    let counting = Counting::new(&db);
    let long = Student {
        name: "x".repeat(101),
        ..student("long")
    };
    let err = long.create(&counting).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for Student.name: 101 characters, at most 100 allowed"
    );
    let math = Course {
        id: None,
        title: "m".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let alice = student("alice").create(&db).await.unwrap();
    let bad = Enrollment {
        grade: "A+++".into(),
        ..enrollment(&alice, &math, "")
    };
    let err = bad.create(&counting).await.unwrap_err();
    assert!(
        matches!(&err, Error::Validation { model, field, .. } if model == "Enrollment" && field == "grade"),
        "{err}"
    );
    let err = Student::objects()
        .update(vec![Student::NAME.set("y".repeat(200))], &counting)
        .await
        .unwrap_err();
    assert!(err.is_validation());
    assert_eq!(counting.count(), 0, "no SQL was sent");
}

async fn integrity_errors_are_typed(db: Database) {
    with_tables(&db).await;
    let math = Course {
        id: None,
        title: "m".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let alice = student("alice").create(&db).await.unwrap();
    enrollment(&alice, &math, "A").create(&db).await.unwrap();
    let err = enrollment(&alice, &math, "B")
        .create(&db)
        .await
        .unwrap_err();
    assert!(err.is_integrity(IntegrityKind::Unique), "{err}");
    assert_eq!(err.constraint(), Some("unique_student_course"));
    let err = student("alice").create(&db).await.unwrap_err();
    assert_eq!(err.constraint(), Some("student_email_key"), "{err}");
    let dangling = Enrollment {
        student: ForeignKey::new(9999i64),
        ..enrollment(&alice, &math, "")
    };
    let err = dangling.create(&db).await.unwrap_err();
    assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
}

async fn on_delete_actions(db: Database) {
    with_tables(&db).await;
    let ann = Author {
        id: None,
        name: "ann".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let ed = Author {
        id: None,
        name: "ed".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let book = Book {
        id: None,
        author: ForeignKey::to(&ann),
        editor: Some(ForeignKey::to(&ed)),
        title: "t".into(),
        meta: serde_json::json!({}),
        code: uuid::Uuid::new_v4(),
        updated: Utc::now(),
    }
    .create(&db)
    .await
    .unwrap();
    // Protect: refused while a book refers to the author.
    let err = ann.delete(&db).await.unwrap_err();
    assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
    // Set null.
    ed.delete(&db).await.unwrap();
    let mut reloaded = book.clone();
    reloaded.refresh(&db).await.unwrap();
    assert!(reloaded.editor.is_none());
    // Cascade: deleting a student removes the enrollments.
    let math = Course {
        id: None,
        title: "m".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let alice = student("alice").create(&db).await.unwrap();
    enrollment(&alice, &math, "A").create(&db).await.unwrap();
    alice.delete(&db).await.unwrap();
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 0);
}

async fn field_types_round_trip(db: Database) {
    with_tables(&db).await;
    let ann = Author {
        id: None,
        name: "ann".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let code = uuid::Uuid::new_v4();
    let meta = serde_json::json!({"tags": ["a", "b"], "n": 1});
    let before = Utc::now();
    let book = Book {
        id: None,
        author: ForeignKey::to(&ann),
        editor: None,
        title: "Ünïcode ✓".into(),
        meta: meta.clone(),
        code,
        updated: Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap(),
    }
    .create(&db)
    .await
    .unwrap();
    assert!(
        book.updated >= before - chrono::Duration::seconds(1),
        "auto_now set on create"
    );
    let got = Book::objects().get(Book::CODE.eq(code), &db).await.unwrap();
    assert_eq!(got.meta, meta);
    assert_eq!(got.title, "Ünïcode ✓");
    assert_eq!(got.updated, book.updated, "microseconds kept");
    assert!(got.editor.is_none());
    let e = enrollment(
        &student("s").create(&db).await.unwrap(),
        &Course {
            id: None,
            title: "c".into(),
            open: false,
        }
        .create(&db)
        .await
        .unwrap(),
        "",
    );
    let e = e.create(&db).await.unwrap();
    let got = Enrollment::objects()
        .get(Enrollment::ID.eq(e.id), &db)
        .await
        .unwrap();
    assert_eq!(got.enrolled_at, e.enrolled_at);
    assert_eq!(got.status, Status::Active);
    let course = Course::objects()
        .get(Course::TITLE.eq("c"), &db)
        .await
        .unwrap();
    assert!(!course.open);
}

async fn explicit_primary_key(db: Database) {
    with_tables(&db).await;
    let mut fr = Country {
        code: "fr".into(),
        name: "France".into(),
    }
    .create(&db)
    .await
    .unwrap();
    fr.name = "République française".into();
    fr.save(&db).await.unwrap();
    // save() on a new explicit key inserts.
    let mut de = Country {
        code: "de".into(),
        name: "Germany".into(),
    };
    de.save(&db).await.unwrap();
    assert_eq!(Country::objects().count(&db).await.unwrap(), 2);
    let got = Country::objects()
        .get(Country::CODE.eq("fr"), &db)
        .await
        .unwrap();
    assert_eq!(got.name, "République française");
    let err = Country {
        code: "fr".into(),
        name: "dup".into(),
    }
    .create(&db)
    .await
    .unwrap_err();
    assert_eq!(err.constraint(), Some("country_pkey"), "{err}");
}

/// A region whose key is its second column and whose first column may be NULL.
#[derive(Debug, Clone, Model)]
struct Region {
    note: Option<String>,
    #[throughline(primary_key, max_length = 5)]
    code: String,
}

#[derive(Debug, Clone, Model)]
struct Town {
    id: Option<i64>,
    name: String,
    region: Option<ForeignKey<Region>>,
}

/// `select_related` over a nullable key tells a missing row (every column NULL) from a row
/// whose first column is NULL by the key's column, wherever the key sits.
async fn select_related_key_not_first(db: Database) {
    assert_eq!(<Region as Model>::PK_INDEX, 1);
    assert_eq!(<Town as Model>::PK_INDEX, 0);
    let mut registry = Registry::new();
    registry.register(Region::meta()).register(Town::meta());
    throughline::create_tables(&db, &registry).await.unwrap();
    let north = Region {
        note: None,
        code: "N".into(),
    }
    .create(&db)
    .await
    .unwrap();
    for (name, region) in [("Alnwick", Some(ForeignKey::to(&north))), ("Nowhere", None)] {
        Town {
            id: None,
            name: name.into(),
            region,
        }
        .create(&db)
        .await
        .unwrap();
    }
    let towns = Town::objects()
        .select_related(Town::REGION)
        .order_by([Town::NAME.asc()])
        .all(&db)
        .await
        .unwrap();
    let loaded: Vec<Option<String>> = towns
        .iter()
        .map(|t| {
            t.region
                .as_ref()
                .and_then(|r| r.loaded())
                .map(|r| r.code.clone())
        })
        .collect();
    assert_eq!(loaded, [Some("N".to_owned()), None]);
}
