//! The queries users reach for besides filters (issue 17, first slice), on every backend:
//! `select_for_update` (in a transaction only; `NOWAIT` and `SKIP LOCKED` where rows are
//! locked), `last`, `earliest` and `latest`, `bulk_update`, and hand-written SQL
//! (`Model::raw`, `raw::rows`, `raw::execute`) with bound parameters.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::models::*;
use common::with_tables;
use throughline::prelude::*;
use throughline::{Backend, Error, LockWait, Value};

backend_tests!(
    select_for_update_needs_a_transaction_and_locks,
    last_earliest_latest,
    raw_sql_by_column_name,
    bulk_update_is_one_statement,
    filter_by_instance,
    locking_reads_of_every_shape,
    relation_writes_by_key,
    relation_get_or_create,
    ordering_follows_foreign_keys,
    default_filter_hides_rows,
    decode_errors_name_the_field,
    relation_update_or_create_locks_the_target,
);

/// The backend's placeholder for parameter `n`.
fn ph(db: &Database, n: usize) -> String {
    match db.backend() {
        Backend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

async fn students(db: &Database) -> Vec<Student> {
    let mut out = Vec::new();
    for (name, age) in [("alice", Some(20)), ("bob", Some(31)), ("carol", None)] {
        out.push(
            Student {
                age,
                ..student(name)
            }
            .create(db)
            .await
            .unwrap(),
        );
    }
    out
}

async fn select_for_update_needs_a_transaction_and_locks(db: Database) {
    with_tables(&db).await;
    let created = students(&db).await;
    let err = Student::objects()
        .select_for_update()
        .all(&db)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
    assert!(err.to_string().contains("transaction"), "{err}");

    // By key: InnoDB locks every row a locking read scans, and the key's index reads
    // only alice's.
    let tx = db.begin().await.unwrap();
    let alice = Student::objects()
        .select_for_update()
        .get(Student::ID.eq(created[0].id), &tx)
        .await
        .unwrap();
    assert_eq!(alice.age, Some(20));
    if db.backend() == Backend::Sqlite {
        // One writer at a time: nothing else to lock against.
        tx.commit().await.unwrap();
        return;
    }
    // Another transaction: NOWAIT fails on alice's locked row, SKIP LOCKED leaves it out.
    let other = db.begin().await.unwrap();
    let refused = Student::objects()
        .filter(Student::NAME.eq("alice"))
        .select_for_update_with(LockWait::NoWait)
        .all(&other)
        .await;
    assert!(refused.is_err(), "{refused:?}");
    other.rollback().await.unwrap();
    let other = db.begin().await.unwrap();
    let free: Vec<String> = Student::objects()
        .order_by([Student::NAME.asc()])
        .select_for_update_with(LockWait::SkipLocked)
        .all(&other)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(free, ["bob", "carol"]);
    other.rollback().await.unwrap();
    tx.commit().await.unwrap();
    // Once released, the row is there for the taking.
    let again = db.begin().await.unwrap();
    let rows = Student::objects()
        .select_for_update_with(LockWait::NoWait)
        .all(&again)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    again.commit().await.unwrap();
}

async fn last_earliest_latest(db: Database) {
    with_tables(&db).await;
    assert!(Student::objects().last(&db).await.unwrap().is_none());
    let err = Student::objects()
        .earliest(Student::AGE, &db)
        .await
        .unwrap_err();
    assert!(err.is_does_not_exist(), "{err}");
    students(&db).await;
    // The model's default ordering is by name: last is carol.
    let last = Student::objects().last(&db).await.unwrap().unwrap();
    assert_eq!(last.name, "carol");
    let oldest = Student::objects()
        .filter(Student::AGE.is_null(false))
        .latest(Student::AGE, &db)
        .await
        .unwrap();
    assert_eq!(oldest.name, "bob");
    let youngest = Student::objects()
        .filter(Student::AGE.is_null(false))
        .earliest(Student::AGE, &db)
        .await
        .unwrap();
    assert_eq!(youngest.name, "alice");
    let by_age_desc = Student::objects()
        .order_by([Student::NAME.desc()])
        .last(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_age_desc.name, "alice");
    // A model without a default ordering: the primary key's.
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    Course {
        id: None,
        title: "art".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let last_course = Course::objects().last(&db).await.unwrap().unwrap();
    assert_eq!(last_course.title, "art");
    assert_eq!(
        Course::objects().first(&db).await.unwrap().unwrap().id,
        math.id
    );
}

async fn raw_sql_by_column_name(db: Database) {
    with_tables(&db).await;
    students(&db).await;
    // Columns in another order, an extra one, a bound parameter.
    let sql = format!(
        r#"SELECT "age", 1 AS "extra", "email", "name", "id" FROM "student" WHERE "name" <> {} ORDER BY "name" DESC"#,
        ph(&db, 1)
    );
    // The query's own order holds (it is not wrapped in a derived table, whose ORDER BY
    // MariaDB drops).
    let found = Student::raw(&sql, vec![Value::from("bob")], &db)
        .await
        .unwrap();
    let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["carol", "alice"]);
    assert_eq!(found[1].age, Some(20));
    assert_eq!(found[0].age, None);
    // A hostile value stays a value.
    let none = Student::raw(&sql, vec![Value::from("x' OR '1'='1")], &db)
        .await
        .unwrap();
    assert_eq!(none.len(), 3);
    // A missing column is an error naming it, not a panic or a default.
    let missing = Student::raw(r#"SELECT "id", "name" FROM "student""#, vec![], &db)
        .await
        .unwrap_err();
    assert!(
        matches!(missing, Error::InvalidQuery { .. }) && missing.to_string().contains("email"),
        "{missing}"
    );
    // Plain rows, and a write inside a transaction that rolls back.
    let rows = throughline::raw::rows(
        &db,
        format!(
            r#"SELECT count(*) FROM "student" WHERE "age" > {}"#,
            ph(&db, 1)
        ),
        vec![Value::I64(19)],
    )
    .await
    .unwrap();
    assert_eq!(rows[0][0].as_i64(), Some(2));
    let tx = db.begin().await.unwrap();
    let changed = throughline::raw::execute(
        &tx,
        format!(
            r#"UPDATE "student" SET "age" = {} WHERE "age" IS NULL"#,
            ph(&db, 1)
        ),
        vec![Value::I64(40)],
    )
    .await
    .unwrap();
    assert_eq!(changed, 1);
    let inside = Student::raw(r#"SELECT * FROM "student" WHERE "age" = 40"#, vec![], &tx)
        .await
        .unwrap();
    assert_eq!(inside.len(), 1);
    tx.rollback().await.unwrap();
    let after = Student::objects()
        .filter(Student::AGE.is_null(true))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(after, 1, "rolled back");
}

async fn bulk_update_is_one_statement(db: Database) {
    with_tables(&db).await;
    let mut all = Student::objects()
        .bulk_create(
            (0..1200).map(|i| student(&format!("s{i:04}"))).collect(),
            Conflict::Error,
            &db,
        )
        .await
        .unwrap();
    for (i, s) in all.iter_mut().enumerate() {
        s.age = Some(i as i32);
        s.name = format!("renamed{i:04}");
    }
    let counting = throughline::Counting::new(db.clone());
    let matched = Student::objects()
        .bulk_update(&all, &[&Student::AGE, &Student::NAME], &counting)
        .await
        .unwrap();
    assert_eq!(
        matched, 1200,
        "one IN list, not an OR chain SQLite would refuse past 1,000"
    );
    assert_eq!(counting.count(), 1, "{:?}", counting.statements());
    let s150 = Student::objects()
        .get(Student::EMAIL.eq("s0150@example.com"), &db)
        .await
        .unwrap();
    assert_eq!((s150.name.as_str(), s150.age), ("renamed0150", Some(150)));
    // The same row twice: the first one wins (as Django).
    let twice = vec![
        Student {
            age: Some(1),
            ..all[0].clone()
        },
        Student {
            age: Some(2),
            ..all[0].clone()
        },
    ];
    Student::objects()
        .bulk_update(&twice, &[&Student::AGE], &db)
        .await
        .unwrap();
    let first = Student::objects()
        .get(Student::ID.eq(all[0].id), &db)
        .await
        .unwrap();
    assert_eq!(first.age, Some(1));
    // Bad input writes nothing: an unsaved instance, a value too long.
    let unsaved = vec![all[1].clone(), student("new")];
    let err = Student::objects()
        .bulk_update(&unsaved, &[&Student::AGE], &db)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsaved { .. }), "{err}");
    let long = vec![Student {
        name: "x".repeat(101),
        ..all[2].clone()
    }];
    let err = Student::objects()
        .bulk_update(&long, &[&Student::NAME], &db)
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    let unchanged = Student::objects()
        .get(Student::ID.eq(all[2].id), &db)
        .await
        .unwrap();
    assert_eq!(unchanged.name, "renamed0002");
    assert_eq!(
        Student::objects()
            .bulk_update(&[], &[&Student::AGE], &db)
            .await
            .unwrap(),
        0
    );
}

/// `Enrollment::COURSE.eq(&math)`, `Course::STUDENTS.eq(&alice)` and
/// `Student::COURSES.is_in(...)`: filters by related instances, across a foreign key, a
/// many-to-many and its reverse; an unsaved instance matches no row.
async fn filter_by_instance(db: Database) {
    with_tables(&db).await;
    let people = students(&db).await;
    let (alice, bob) = (&people[0], &people[1]);
    let mut courses = Vec::new();
    for title in ["math", "art", "music"] {
        courses.push(
            Course {
                id: None,
                title: title.into(),
                open: true,
            }
            .create(&db)
            .await
            .unwrap(),
        );
    }
    let (math, art, music) = (&courses[0], &courses[1], &courses[2]);
    for (s, c) in [(alice, math), (alice, art), (bob, art)] {
        enrollment(s, c, "A").create(&db).await.unwrap();
    }
    let in_math = Enrollment::objects()
        .filter(Enrollment::COURSE.eq(math))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(in_math, 1);
    let db_ref = &db;
    let titles = move |qs: throughline::QuerySet<Course>| async move {
        qs.order_by([Course::TITLE.asc()])
            .values_list(Course::TITLE, db_ref)
            .await
            .unwrap()
    };
    assert_eq!(
        titles(Course::objects().filter(Course::STUDENTS.eq(alice))).await,
        ["art", "math"]
    );
    let names = Student::objects()
        .filter(Student::COURSES.is_in([math, music]))
        .values_list(Student::NAME, &db)
        .await
        .unwrap();
    assert_eq!(names, ["alice"]);
    let unsaved = Course {
        id: None,
        title: "new".into(),
        open: true,
    };
    let none = Enrollment::objects()
        .filter(Enrollment::COURSE.eq(&unsaved))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(none, 0);
    assert_eq!(
        titles(Course::objects().exclude(Course::STUDENTS.eq(bob))).await,
        ["math", "music"]
    );
    let _ = art;
}

/// A locking read through every way a queryset reads (rows, count, exists, values), with
/// a filter across a many-to-many (an outer join PostgreSQL would refuse to lock without
/// `FOR UPDATE OF`) and by instance (compared on the foreign-key column, no join); the
/// reversing reads refuse a sliced queryset.
async fn locking_reads_of_every_shape(db: Database) {
    with_tables(&db).await;
    let people = students(&db).await;
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    enrollment(&people[0], &math, "A")
        .create(&db)
        .await
        .unwrap();
    let sql = Enrollment::objects()
        .filter(Enrollment::COURSE.eq(&math))
        .query()
        .render(db.backend())
        .unwrap();
    assert!(!sql.sql.contains("JOIN"), "{}", sql.sql);
    let tx = db.begin().await.unwrap();
    let locked = Course::objects()
        .filter(Course::STUDENTS.eq(&people[0]))
        .select_for_update();
    assert_eq!(locked.all(&tx).await.unwrap().len(), 1);
    assert_eq!(locked.count(&tx).await.unwrap(), 1);
    assert!(locked.exists(&tx).await.unwrap());
    assert_eq!(
        locked.values_list(Course::TITLE, &tx).await.unwrap(),
        ["math"]
    );
    let enrolled = Enrollment::objects()
        .filter(Enrollment::COURSE.eq(&math))
        .select_for_update()
        .all(&tx)
        .await
        .unwrap();
    assert_eq!(enrolled.len(), 1);
    tx.commit().await.unwrap();
    // Outside a transaction every shape is refused.
    assert!(locked.count(&db).await.is_err());
    assert!(locked.values_list(Course::TITLE, &db).await.is_err());
    // Reversing a slice is refused, as Django.
    let sliced = Student::objects().limit(2);
    assert!(matches!(
        sliced.last(&db).await,
        Err(Error::InvalidQuery { .. })
    ));
    assert!(sliced.latest(Student::AGE, &db).await.is_err());
}

/// On a SQLite file, reads go to read-only connections: hand-written SQL that writes
/// through `raw::rows` fails at once (it would race the writer for the lock), and
/// `raw::execute` writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_raw_rows_is_refused_on_a_sqlite_reader() {
    let path = std::env::temp_dir().join(format!("throughline-raw-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = Database::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    throughline::raw::execute(&db, "CREATE TABLE t (x integer)", vec![])
        .await
        .unwrap();
    let refused = throughline::raw::rows(&db, "INSERT INTO t VALUES (1) RETURNING x", vec![]).await;
    assert!(refused.is_err(), "{refused:?}");
    let written = throughline::raw::execute(&db, "INSERT INTO t VALUES (?)", vec![Value::I64(2)])
        .await
        .unwrap();
    assert_eq!(written, 1);
    let rows = throughline::raw::rows(&db, "SELECT x FROM t", vec![])
        .await
        .unwrap();
    assert_eq!(rows, vec![vec![Value::I64(2)]]);
    drop(db);
    let _ = std::fs::remove_file(&path);
}

/// `add_keys`, `set_keys`, `remove_keys` (Django's `add(3)`): the same outcomes as by
/// instance; a key of no row is a foreign-key error and nothing is written.
async fn relation_writes_by_key(db: Database) {
    with_tables(&db).await;
    let created = students(&db).await;
    let keys: Vec<i64> = created.iter().filter_map(|s| s.id).collect();
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let values = || CourseStudentsValues {
        grade: "B".into(),
        enrolled_at: None,
        status: None,
    };
    let outcome = math
        .students()
        .add_keys_with([keys[0], keys[1]], values(), &db)
        .await
        .unwrap();
    assert_eq!(outcome.linked.len(), 2);
    let again = math
        .students()
        .add_keys_with([keys[0]], values(), &db)
        .await
        .unwrap();
    assert_eq!(again.already_linked.len(), 1);

    // A key of no row: a typed error, and the valid key of the same call is not linked.
    let missing = keys.iter().max().unwrap() + 1000;
    let err = math
        .students()
        .add_keys_with([keys[2], missing], values(), &db)
        .await
        .unwrap_err();
    assert!(
        err.is_integrity(throughline::IntegrityKind::ForeignKey),
        "{err}"
    );
    assert_eq!(math.students().count(&db).await.unwrap(), 2);
    let err = math
        .students()
        .set_keys_with([keys[2], missing], values(), &db)
        .await
        .unwrap_err();
    assert!(
        err.is_integrity(throughline::IntegrityKind::ForeignKey),
        "{err}"
    );
    let names: Vec<String> = math
        .students()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["alice", "bob"], "the failed set changed nothing");

    let outcome = math
        .students()
        .set_keys_with([keys[1], keys[2]], values(), &db)
        .await
        .unwrap();
    assert_eq!(outcome.removed.len(), 1);
    let removed = math
        .students()
        .remove_keys([keys[1], missing], &db)
        .await
        .unwrap();
    assert_eq!(removed.len(), 1);
    let names: Vec<String> = math
        .students()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["carol"]);
}

/// `get_or_create_with` and `update_or_create_with` through a relation: only linked targets
/// are found (as Django's related manager), a new target is created and linked in one
/// transaction, and a failed link leaves no target behind.
async fn relation_get_or_create(db: Database) {
    with_tables(&db).await;
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let values = |g: &str| CourseStudentsValues {
        grade: g.into(),
        enrolled_at: None,
        status: None,
    };
    // An unlinked alice exists: the relation does not see her, so a new one is created
    // (the unique e-mail then refuses it, and nothing is left behind).
    student("alice").create(&db).await.unwrap();
    let err = math
        .students()
        .get_or_create_with(
            Student::NAME.eq("alice"),
            student("alice"),
            values("A"),
            &db,
        )
        .await
        .unwrap_err();
    assert!(
        err.is_integrity(throughline::IntegrityKind::Unique),
        "{err}"
    );
    assert_eq!(Student::objects().count(&db).await.unwrap(), 1);
    assert_eq!(math.students().count(&db).await.unwrap(), 0);

    let (bob, created) = math
        .students()
        .get_or_create_with(Student::NAME.eq("bob"), student("bob"), values("B"), &db)
        .await
        .unwrap();
    assert!(created && bob.id.is_some());
    let (again, created) = math
        .students()
        .get_or_create_with(Student::NAME.eq("bob"), student("bob"), values("C"), &db)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, bob.id);
    let grades: Vec<String> = Enrollment::objects()
        .values_list(Enrollment::GRADE, &db)
        .await
        .unwrap();
    assert_eq!(grades, ["B"], "the found link keeps its values");

    let (older, created) = math
        .students()
        .update_or_create_with(
            Student::NAME.eq("bob"),
            student("bob"),
            |s| s.age = Some(40),
            values("B"),
            &db,
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(older.age, Some(40));
    let stored = Student::objects()
        .get(Student::NAME.eq("bob"), &db)
        .await
        .unwrap();
    assert_eq!(stored.age, Some(40));
    // An update that does not validate writes nothing.
    let err = math
        .students()
        .update_or_create_with(
            Student::NAME.eq("bob"),
            student("bob"),
            |s| s.name = "x".repeat(500),
            values("B"),
            &db,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err}");
    let (carol, created) = math
        .students()
        .update_or_create_with(
            Student::NAME.eq("carol"),
            student("carol"),
            |s| s.age = Some(1),
            values("A"),
            &db,
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!(carol.age, None, "a created target is not updated");
    assert_eq!(math.students().count(&db).await.unwrap(), 2);
}

#[derive(Debug, Clone, Model)]
#[throughline(ordering("-name"))]
struct League {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(ordering("league", "name"))]
struct Club {
    id: Option<i64>,
    league: ForeignKey<League>,
    name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(ordering("club", "-number"))]
struct Player {
    id: Option<i64>,
    club: ForeignKey<Club>,
    number: i32,
}

/// A model ordered by its own parent: the cycle stops at the key.
#[derive(Debug, Clone, Model)]
#[throughline(ordering("parent"))]
struct Node {
    id: Option<i64>,
    parent: Option<ForeignKey<Node>>,
}

/// Django's rule: an ordering that names a foreign key orders by the related model's own
/// ordering (recursively), in the default ordering and in `order_by`.
async fn ordering_follows_foreign_keys(db: Database) {
    let mut registry = Registry::new();
    registry
        .register(League::meta())
        .register(Club::meta())
        .register(Player::meta())
        .register(Node::meta());
    throughline::create_tables(&db, &registry).await.unwrap();
    // Leagues created so that key order differs from name order.
    let mut leagues = Vec::new();
    for name in ["alpha", "zulu"] {
        leagues.push(
            League {
                id: None,
                name: name.into(),
            }
            .create(&db)
            .await
            .unwrap(),
        );
    }
    let mut clubs = Vec::new();
    for (league, name) in [(0, "b"), (1, "c"), (0, "a"), (1, "d")] {
        clubs.push(
            Club {
                id: None,
                league: ForeignKey::to(&leagues[league]),
                name: name.into(),
            }
            .create(&db)
            .await
            .unwrap(),
        );
    }
    for (club, number) in [(0, 1), (1, 2), (2, 3), (2, 4)] {
        Player {
            id: None,
            club: ForeignKey::to(&clubs[club]),
            number,
        }
        .create(&db)
        .await
        .unwrap();
    }
    // League "-name": zulu first; clubs by name within it.
    let names: Vec<String> = Club::objects().values_list(Club::NAME, &db).await.unwrap();
    assert_eq!(names, ["c", "d", "a", "b"]);
    // Players by club (by league, then club name), then number descending.
    let numbers: Vec<i32> = Player::objects()
        .values_list(Player::NUMBER, &db)
        .await
        .unwrap();
    assert_eq!(numbers, [2, 4, 3, 1]);
    let last = Player::objects().last(&db).await.unwrap().unwrap();
    assert_eq!(last.number, 1);
    // DISTINCT with that ordering: PostgreSQL needs the ordering's columns selected.
    let distinct = Player::objects().distinct();
    assert_eq!(distinct.all(&db).await.unwrap().len(), 4);
    let numbers: Vec<i32> = distinct.values_list(Player::NUMBER, &db).await.unwrap();
    assert_eq!(numbers, [2, 4, 3, 1]);
    // order_by a foreign key, reversed: each of the related ordering's terms flips.
    let numbers: Vec<i32> = Player::objects()
        .order_by(
            Player::CLUB
                .desc()
                .into_iter()
                .chain([Player::NUMBER.asc()]),
        )
        .values_list(Player::NUMBER, &db)
        .await
        .unwrap();
    assert_eq!(numbers, [1, 3, 4, 2]);
    // The cycle stops: the rows are read, ordered by the parent's key in the end.
    let root = Node {
        id: None,
        parent: None,
    }
    .create(&db)
    .await
    .unwrap();
    Node {
        id: None,
        parent: Some(ForeignKey::to(&root)),
    }
    .create(&db)
    .await
    .unwrap();
    assert_eq!(Node::objects().all(&db).await.unwrap().len(), 2);
}

#[derive(Debug, Clone, Model)]
#[throughline(default_filter = "live", ordering("title"))]
struct Article {
    id: Option<i64>,
    title: String,
    deleted: bool,
}

impl Article {
    fn live() -> Q<Article> {
        Article::DELETED.eq(false)
    }
}

#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "articles", to = Article, related_name = "shelves"))]
struct Shelf {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(default_filter = "shown")]
struct Remark {
    id: Option<i64>,
    #[throughline(related_name = "remarks")]
    article: ForeignKey<Article>,
    hidden: bool,
}

impl Remark {
    fn shown() -> Q<Remark> {
        Remark::HIDDEN.eq(false)
    }
}

/// A model-level default filter (Django's custom default manager): `objects()`, counts,
/// updates, deletes and reads through a relation apply it; `all_objects()` and a foreign
/// key's `get` (Django's base manager) do not.
async fn default_filter_hides_rows(db: Database) {
    let mut registry = Registry::new();
    registry
        .register(Article::meta())
        .register(Remark::meta())
        .register(Shelf::meta());
    throughline::create_tables(&db, &registry).await.unwrap();
    let mut articles = Vec::new();
    for (title, deleted) in [("a", false), ("b", true), ("c", false)] {
        articles.push(
            Article {
                id: None,
                title: title.into(),
                deleted,
            }
            .create(&db)
            .await
            .unwrap(),
        );
    }
    for (article, hidden) in [(0, false), (0, true), (1, false)] {
        Remark {
            id: None,
            article: ForeignKey::to(&articles[article]),
            hidden,
        }
        .create(&db)
        .await
        .unwrap();
    }
    let titles: Vec<String> = Article::objects()
        .values_list(Article::TITLE, &db)
        .await
        .unwrap();
    assert_eq!(titles, ["a", "c"]);
    assert_eq!(Article::all_objects().count(&db).await.unwrap(), 3);
    assert!(matches!(
        Article::objects().get(Article::TITLE.eq("b"), &db).await,
        Err(Error::DoesNotExist { .. })
    ));
    // Reads through a relation apply the related model's filter.
    assert_eq!(articles[0].remarks().unwrap().count(&db).await.unwrap(), 1);
    let remarks = Article::REMARKS.prefetch(&articles, &db).await.unwrap();
    let counts: Vec<usize> = remarks.iter().map(Vec::len).collect();
    assert_eq!(counts, [1, 1, 0]);
    // A foreign key's row is read without it (Django's base manager).
    let hidden = Remark::all_objects()
        .filter(Remark::HIDDEN.eq(true))
        .first(&db)
        .await
        .unwrap()
        .unwrap();
    let deleted_parent = Remark::objects()
        .filter(Remark::ARTICLE_ID.eq(&articles[1]))
        .first(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hidden.article.get(&db).await.unwrap().title, "a");
    assert_eq!(deleted_parent.article.get(&db).await.unwrap().title, "b");
    // A many-to-many relation to the model sees its visible rows; `set` keeps the links
    // of hidden ones (as Django's related manager), and `clear` refuses to delete them.
    let shelf = Shelf {
        id: None,
        name: "s".into(),
    }
    .create(&db)
    .await
    .unwrap();
    shelf.articles().add(&articles, &db).await.unwrap();
    let on_shelf = Article::all_objects().filter(Article::SHELVES.eq(&shelf));
    let linked = || on_shelf.count(&db);
    assert_eq!(shelf.articles().count(&db).await.unwrap(), 2);
    assert_eq!(linked().await.unwrap(), 3);
    let outcome = shelf.articles().set([&articles[0]], &db).await.unwrap();
    assert_eq!(outcome.removed.len(), 1, "only the visible c is unlinked");
    assert_eq!(outcome.kept.len(), 1);
    assert_eq!(linked().await.unwrap(), 2, "the hidden b keeps its link");
    let err = shelf.articles().clear(&db).await.unwrap_err();
    assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
    let err = shelf
        .articles()
        .clear_and_set([&articles[2]], &db)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
    assert_eq!(linked().await.unwrap(), 2, "nothing was deleted");
    // A hidden link added by another caller while a `set` waits for the lock is kept: the
    // hidden links are read inside the set's transaction.
    let late = Article {
        id: None,
        title: "d".into(),
        deleted: true,
    }
    .create(&db)
    .await
    .unwrap();
    let tx = db.begin().await.unwrap();
    shelf.articles().add([&late], &tx).await.unwrap();
    let waiting = {
        let (db, shelf, first) = (db.clone(), shelf.clone(), articles[0].clone());
        tokio::spawn(async move { shelf.articles().set([&first], &db).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx.commit().await.unwrap();
    let outcome = waiting.await.unwrap().unwrap();
    assert!(outcome.removed.is_empty(), "{:?}", outcome.removed);
    assert_eq!(linked().await.unwrap(), 3, "the hidden d keeps its link");
    // A prefetch and the links read only the visible targets' rows, as Django's related
    // manager (the target's default manager).
    let prefetched = Shelf::ARTICLES_RELATION
        .prefetch(std::slice::from_ref(&shelf), &db)
        .await
        .unwrap();
    assert_eq!(prefetched[0].len(), 1, "{:?}", prefetched[0]);
    assert_eq!(
        prefetched[0][0].article.loaded().map(|a| a.title.as_str()),
        Some("a")
    );
    assert_eq!(
        shelf.articles().links().unwrap().count(&db).await.unwrap(),
        1
    );

    // Writes through objects() touch the visible rows only.
    let n = Article::objects()
        .update(vec![Article::TITLE.set("x")], &db)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let n = Remark::objects().delete(&db).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(Remark::all_objects().count(&db).await.unwrap(), 1);
}

/// A value that does not fit its field names the model and the field, and the error's
/// `Debug` (what `main() -> Result` prints) is its message.
async fn decode_errors_name_the_field(db: Database) {
    with_tables(&db).await;
    let alice = student("alice").create(&db).await.unwrap();
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    enrollment(&alice, &math, "A").create(&db).await.unwrap();
    let err = Enrollment::raw(
        "SELECT id, student_id, course_id, enrolled_at, grade, 'bogus' AS status FROM enrollment",
        vec![],
        &db,
    )
    .await
    .unwrap_err();
    let message = format!("{err:?}");
    assert!(matches!(err, Error::Decode { .. }), "{message}");
    assert!(
        message.contains("Enrollment.status") && message.contains("bogus"),
        "{message}"
    );
    let err = Student::raw(
        "SELECT id, name, email, 'old' AS age FROM student",
        vec![],
        &db,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Student.age"), "{err}");
}

/// Two relations (two courses) updating the same linked student at once: the target is
/// read under a row lock, so no increment is lost.
async fn relation_update_or_create_locks_the_target(db: Database) {
    with_tables(&db).await;
    let bob = Student {
        age: Some(0),
        ..student("bob")
    }
    .create(&db)
    .await
    .unwrap();
    let values = || CourseStudentsValues {
        grade: "B".into(),
        enrolled_at: None,
        status: None,
    };
    let mut courses = Vec::new();
    for title in ["math", "art"] {
        let course = Course {
            id: None,
            title: title.into(),
            open: true,
        }
        .create(&db)
        .await
        .unwrap();
        course
            .students()
            .add_with([&bob], values(), &db)
            .await
            .unwrap();
        courses.push(course);
    }
    let bump = |course: Course, db: Database| async move {
        for _ in 0..10 {
            course
                .students()
                .update_or_create_with(
                    Student::NAME.eq("bob"),
                    student("bob"),
                    |s| s.age = Some(s.age.unwrap_or(0) + 1),
                    CourseStudentsValues {
                        grade: "B".into(),
                        enrolled_at: None,
                        status: None,
                    },
                    &db,
                )
                .await
                .unwrap();
        }
    };
    let art = courses.pop().unwrap();
    let math = courses.pop().unwrap();
    let (a, b) = tokio::join!(
        tokio::spawn(bump(math, db.clone())),
        tokio::spawn(bump(art, db.clone()))
    );
    a.unwrap();
    b.unwrap();
    let stored = Student::objects()
        .get(Student::NAME.eq("bob"), &db)
        .await
        .unwrap();
    assert_eq!(stored.age, Some(20));
}
