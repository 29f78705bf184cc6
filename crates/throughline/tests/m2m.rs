//! Many-to-many relations with through models (SPEC §3), on SQLite and PostgreSQL: every
//! numbered reference result measured on Django 5.2, and the "beyond" guarantees.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use chrono::NaiveDate;
use common::models::*;
use common::with_tables;
use throughline::prelude::*;
use throughline::{Error, OnExisting, Value};

backend_tests!(
    reference_1_add_twice_keeps_first_values_and_reports_difference,
    reference_2_set_keeps_rows_that_stay,
    reference_3_clear_and_set_recreates_rows,
    reference_4_remove_and_clear,
    reference_5_topic_system_without_pair_constraint,
    reference_6_filters_across_the_relation,
    policies_update_and_fail,
    add_each_gives_each_target_its_values,
    add_each_splits_rows_under_the_bind_limit,
    set_dry_run_writes_nothing,
    create_links_a_new_target,
    reverse_side_reads_and_writes,
    implicit_relation_with_named_table,
    symmetrical_friendships_write_both_directions,
    non_symmetrical_self_relation,
    through_fields_pick_the_keys,
    reads_count_contains_links_order,
    prefetch_relation_with_through_rows,
    prefetch_orders_each_sources_rows_by_key,
    unsaved_source_or_target_is_a_typed_error,
    bulk_add_is_a_constant_number_of_statements,
    wider_link_key_links_a_pair_through_each_service,
    default_function_is_evaluated_once_per_call,
    keys_of_a_narrower_legacy_column,
);

async fn wider_link_key_links_a_pair_through_each_service(db: Database) {
    with_tables(&db).await;
    let t1 = Topic {
        id: None,
        name: "t1".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let s1 = System {
        id: None,
        name: "s1".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let svc1 = Service {
        id: None,
        name: "svc1".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let svc2 = Service {
        id: None,
        name: "svc2".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let via = |svc: &Service, priority: Option<i32>| TopicRoutesValues {
        service: ForeignKey::to(svc),
        priority,
    };
    let first = t1
        .routes()
        .add_with([&s1], via(&svc1, None), &db)
        .await
        .unwrap();
    let second = t1
        .routes()
        .add_with([&s1], via(&svc2, None), &db)
        .await
        .unwrap();
    // Beyond Django: the second service makes a second link instead of a silent no-op.
    assert_eq!((first.linked.len(), second.linked.len()), (1, 1));
    assert_eq!(Route::objects().count(&db).await.unwrap(), 2);
    // The same (pair, service) again is already linked; a different priority is reported.
    let again = t1
        .routes()
        .add_with([&s1], via(&svc1, Some(5)), &db)
        .await
        .unwrap();
    assert_eq!(again.already_linked, vec![s1.pk_value()]);
    assert_eq!(again.differing[0].fields[0].field, "priority");
    let updated = t1
        .routes()
        .on_existing(OnExisting::Update)
        .add_with([&s1], via(&svc1, Some(5)), &db)
        .await
        .unwrap();
    assert_eq!(updated.updated.len(), 1);
    let priorities = Route::objects()
        .order_by([Route::ID.asc()])
        .values_list(Route::PRIORITY, &db)
        .await
        .unwrap();
    assert_eq!(priorities, [5, 1], "only the svc1 row was updated");
    // remove_where deletes one service's row; remove every row of the pair.
    t1.routes()
        .remove_where(&s1, Route::SERVICE_ID.eq(&svc2), &db)
        .await
        .unwrap();
    assert_eq!(Route::objects().count(&db).await.unwrap(), 1);
}

async fn default_function_is_evaluated_once_per_call(db: Database) {
    with_tables(&db).await;
    let team = Team {
        id: None,
        name: "core".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let mut people = Vec::new();
    for name in ["a", "b", "c", "d"] {
        people.push(
            Person {
                id: None,
                name: name.into(),
            }
            .create(&db)
            .await
            .unwrap(),
        );
    }
    team.members()
        .add([&people[0], &people[1], &people[2]], &db)
        .await
        .unwrap();
    team.members().add([&people[3]], &db).await.unwrap();
    let tickets = Membership::objects()
        .order_by([Membership::ID.asc()])
        .values_list(Membership::TICKET, &db)
        .await
        .unwrap();
    // One evaluation per call, shared by the rows of the call (as Django's callable
    // through_defaults, #31046); the next call evaluates it again.
    assert_eq!(tickets[0], tickets[1]);
    assert_eq!(tickets[1], tickets[2]);
    assert_ne!(tickets[2], tickets[3]);
}

async fn setup(db: &Database) -> (Course, Student, Student, Student) {
    with_tables(db).await;
    let math = Course {
        id: None,
        title: "math".into(),
        open: true,
    }
    .create(db)
    .await
    .unwrap();
    let alice = student("alice").create(db).await.unwrap();
    let bob = student("bob").create(db).await.unwrap();
    let carol = student("carol").create(db).await.unwrap();
    (math, alice, bob, carol)
}

fn grade(g: &str) -> CourseStudentsValues {
    CourseStudentsValues {
        grade: g.into(),
        enrolled_at: None,
        status: None,
    }
}

/// (student name, grade) of every enrollment, sorted.
async fn rows(db: &Database) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Enrollment::objects()
        .select_related(Enrollment::STUDENT)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.student.loaded().unwrap().name.clone(), e.grade))
        .collect();
    out.sort();
    out
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn reference_1_add_twice_keeps_first_values_and_reports_difference(db: Database) {
    let (math, alice, ..) = setup(&db).await;
    let first = math
        .students()
        .add_with([&alice], grade("B+"), &db)
        .await
        .unwrap();
    assert_eq!(first.linked, vec![alice.pk_value()]);
    let second = math
        .students()
        .add_with([&alice], grade("A"), &db)
        .await
        .unwrap();
    // As Django: one row, grade B+. Beyond: the skipped pair and its difference are reported.
    assert_eq!(rows(&db).await, pairs(&[("alice", "B+")]));
    assert!(second.linked.is_empty());
    assert_eq!(second.already_linked, vec![alice.pk_value()]);
    assert_eq!(second.differing.len(), 1);
    let diff = &second.differing[0].fields[0];
    assert_eq!(
        (diff.field.as_str(), &diff.stored, &diff.given),
        ("grade", &Value::from("B+"), &Value::from("A"))
    );
}

async fn reference_2_set_keeps_rows_that_stay(db: Database) {
    let (math, alice, bob, carol) = setup(&db).await;
    math.students()
        .add_with([&alice], grade("B+"), &db)
        .await
        .unwrap();
    math.students()
        .add_with([&bob], grade("C"), &db)
        .await
        .unwrap();
    let outcome = math
        .students()
        .set_with([&alice, &carol], grade("F"), &db)
        .await
        .unwrap();
    assert_eq!(rows(&db).await, pairs(&[("alice", "B+"), ("carol", "F")]));
    assert_eq!(outcome.kept, vec![alice.pk_value()]);
    assert_eq!(outcome.added.linked, vec![carol.pk_value()]);
    // Beyond: the deleted row comes back in full.
    assert_eq!(outcome.removed.len(), 1);
    assert_eq!(outcome.removed[0].student.key(), &bob.pk_value());
    assert_eq!(outcome.removed[0].grade, "C");
}

async fn reference_3_clear_and_set_recreates_rows(db: Database) {
    let (math, alice, _bob, carol) = setup(&db).await;
    math.students()
        .add_with([&alice], grade("B+"), &db)
        .await
        .unwrap();
    math.students()
        .add_with([&carol], grade("F"), &db)
        .await
        .unwrap();
    // Django's set(clear=True) with the blank default grade: the values are lost, and
    // throughline returns the rows it deleted.
    let outcome = math
        .students()
        .clear_and_set_with([&alice, &carol], grade(""), &db)
        .await
        .unwrap();
    assert_eq!(rows(&db).await, pairs(&[("alice", ""), ("carol", "")]));
    let mut lost: Vec<String> = outcome.removed.iter().map(|e| e.grade.clone()).collect();
    lost.sort();
    assert_eq!(lost, ["B+", "F"]);
}

async fn reference_4_remove_and_clear(db: Database) {
    let (math, alice, _bob, carol) = setup(&db).await;
    math.students()
        .add_with([&alice, &carol], grade("B"), &db)
        .await
        .unwrap();
    let removed = math.students().remove([&alice], &db).await.unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(rows(&db).await, pairs(&[("carol", "B")]));
    let cleared = math.students().clear(&db).await.unwrap();
    assert_eq!(cleared.len(), 1);
    assert!(rows(&db).await.is_empty());
}

async fn reference_5_topic_system_without_pair_constraint(db: Database) {
    with_tables(&db).await;
    let t1 = Topic {
        id: None,
        name: "t1".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let s1 = System {
        id: None,
        name: "s1".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let svc1 = Service {
        id: None,
        name: "svc1".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let svc2 = Service {
        id: None,
        name: "svc2".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let via = |svc: &Service| TopicSystemsValues {
        service: ForeignKey::to(svc),
    };
    t1.systems().add_with([&s1], via(&svc1), &db).await.unwrap();
    let second = t1.systems().add_with([&s1], via(&svc2), &db).await.unwrap();
    // As Django: still one row (svc1). Beyond: the silent no-op of seed 000 is reported.
    assert_eq!(TopicSystem::objects().count(&db).await.unwrap(), 1);
    assert_eq!(second.already_linked, vec![s1.pk_value()]);
    assert_eq!(second.differing[0].fields[0].field, "service");
    // A direct write to the through model creates a second row for the pair.
    TopicSystem {
        id: None,
        topic: ForeignKey::to(&t1),
        system: ForeignKey::to(&s1),
        service: ForeignKey::to(&svc2),
    }
    .create(&db)
    .await
    .unwrap();
    assert_eq!(TopicSystem::objects().count(&db).await.unwrap(), 2);
    let systems = t1.systems().all(&db).await.unwrap();
    assert_eq!(
        systems.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["s1", "s1"]
    );
    assert_eq!(
        t1.systems()
            .query()
            .unwrap()
            .distinct()
            .count(&db)
            .await
            .unwrap(),
        1
    );
    // remove_where deletes only the matching row of the pair...
    let only_svc2 = t1
        .systems()
        .remove_where(&s1, TopicSystem::SERVICE_ID.eq(&svc2), &db)
        .await
        .unwrap();
    assert_eq!(only_svc2.len(), 1);
    assert_eq!(TopicSystem::objects().count(&db).await.unwrap(), 1);
    // ...while remove deletes every row of the pair (as Django).
    TopicSystem {
        id: None,
        topic: ForeignKey::to(&t1),
        system: ForeignKey::to(&s1),
        service: ForeignKey::to(&svc2),
    }
    .create(&db)
    .await
    .unwrap();
    let removed = t1.systems().remove([&s1], &db).await.unwrap();
    assert_eq!(removed.len(), 2);
    assert_eq!(TopicSystem::objects().count(&db).await.unwrap(), 0);
}

async fn reference_6_filters_across_the_relation(db: Database) {
    let (math, alice, bob, _carol) = setup(&db).await;
    let art = Course {
        id: None,
        title: "art".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    math.students()
        .add_with([&alice], grade("A+"), &db)
        .await
        .unwrap();
    math.students()
        .add_with([&bob], grade("B"), &db)
        .await
        .unwrap();
    art.students()
        .add_with([&bob], grade("A+"), &db)
        .await
        .unwrap();
    // math.students.filter(enrollment__grade="A+"): the grade of *this* course's enrollment.
    let top = math
        .students()
        .filter(Student::ENROLLMENTS.then(Enrollment::GRADE).eq("A+"))
        .unwrap()
        .values_list(Student::NAME, &db)
        .await
        .unwrap();
    assert_eq!(top, ["alice"]);
    // Course.filter(enrollment__student=alice).
    let of_alice = Course::objects()
        .filter(Course::ENROLLMENTS.then(Enrollment::STUDENT_ID).eq(&alice))
        .values_list(Course::TITLE, &db)
        .await
        .unwrap();
    assert_eq!(of_alice, ["math"]);
    // Across the many-to-many path itself, from both sides.
    let with_bob = Course::objects()
        .filter(Course::STUDENTS.then(Student::NAME).eq("bob"))
        .order_by([Course::TITLE.asc()])
        .values_list(Course::TITLE, &db)
        .await
        .unwrap();
    assert_eq!(with_bob, ["art", "math"]);
    let in_art = Student::objects()
        .filter(Student::COURSES.then(Course::TITLE).eq("art"))
        .values_list(Student::NAME, &db)
        .await
        .unwrap();
    assert_eq!(in_art, ["bob"]);
}

async fn policies_update_and_fail(db: Database) {
    let (math, alice, bob, _) = setup(&db).await;
    math.students()
        .add_with([&alice], grade("B+"), &db)
        .await
        .unwrap();
    let updated = math
        .students()
        .on_existing(OnExisting::Update)
        .add_with([&alice, &bob], grade("A"), &db)
        .await
        .unwrap();
    assert_eq!(updated.updated, vec![alice.pk_value()]);
    assert_eq!(updated.linked, vec![bob.pk_value()]);
    assert_eq!(rows(&db).await, pairs(&[("alice", "A"), ("bob", "A")]));
    let carol = student("carol2").create(&db).await.unwrap();
    let err = math
        .students()
        .on_existing(OnExisting::Fail)
        .add_with([&carol, &alice], grade("C"), &db)
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::AlreadyLinked { .. }), "{err}");
    // Nothing was written: carol is not linked.
    assert_eq!(math.students().count(&db).await.unwrap(), 2);
}

async fn add_each_gives_each_target_its_values(db: Database) {
    let (math, alice, bob, carol) = setup(&db).await;
    let outcome = math
        .students()
        .add_each(
            [
                (&alice, grade("A")),
                (&bob, grade("B")),
                (&carol, grade("C")),
            ],
            &db,
        )
        .await
        .unwrap();
    assert_eq!(outcome.linked.len(), 3);
    assert_eq!(
        rows(&db).await,
        pairs(&[("alice", "A"), ("bob", "B"), ("carol", "C")])
    );
}

/// Per-target values cannot share one array insert: the rows go in multi-row inserts, as
/// many as the backend's parameter limit needs, and every row keeps its own values.
async fn add_each_splits_rows_under_the_bind_limit(db: Database) {
    let (math, ..) = setup(&db).await;
    let n = 14_000;
    let students = Student::objects()
        .bulk_create(
            (0..n).map(|i| student(&format!("each{i:05}"))).collect(),
            Conflict::Error,
            &db,
        )
        .await
        .unwrap();
    let grades = ["A", "B", "C"];
    let counting = Counting::new(&db);
    let outcome = math
        .students()
        .add_each(
            students
                .iter()
                .enumerate()
                .map(|(i, s)| (s, grade(grades[i % 3]))),
            &counting,
        )
        .await
        .unwrap();
    assert_eq!(outcome.linked.len(), n);
    let columns = Enrollment::meta()
        .fields
        .iter()
        .filter(|f| !f.is_auto())
        .count();
    let per_statement = throughline::dialect::capabilities(db.backend())
        .unwrap()
        .max_bind_params
        / columns;
    let inserts = counting
        .statements()
        .iter()
        .filter(|sql| sql.starts_with("INSERT"))
        .count();
    assert_eq!(
        inserts,
        n.div_ceil(per_statement),
        "{per_statement} rows each"
    );
    assert!(
        inserts >= 2,
        "the test must split: {per_statement} rows each"
    );
    let mut stored: Vec<(i64, String)> = Enrollment::objects()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.student.key().as_i64().unwrap(), e.grade))
        .collect();
    stored.sort();
    let expected: Vec<(i64, String)> = students
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.unwrap(), grades[i % 3].to_owned()))
        .collect();
    assert_eq!(stored, expected);
}

async fn set_dry_run_writes_nothing(db: Database) {
    let (math, alice, bob, carol) = setup(&db).await;
    math.students()
        .add_with([&alice, &bob], grade("B"), &db)
        .await
        .unwrap();
    let plan = math
        .students()
        .plan_set([&alice, &carol], &db)
        .await
        .unwrap();
    assert_eq!(plan.keep, vec![alice.pk_value()]);
    assert_eq!(plan.add, vec![carol.pk_value()]);
    assert_eq!(plan.remove.len(), 1);
    assert_eq!(plan.remove[0].student.key(), &bob.pk_value());
    assert_eq!(rows(&db).await, pairs(&[("alice", "B"), ("bob", "B")]));
}

async fn create_links_a_new_target(db: Database) {
    let (math, ..) = setup(&db).await;
    let (dave, outcome) = math
        .students()
        .create_with(student("dave"), grade("A"), &db)
        .await
        .unwrap();
    assert!(dave.id.is_some());
    assert_eq!(outcome.linked, vec![dave.pk_value()]);
    assert_eq!(rows(&db).await, pairs(&[("dave", "A")]));
    // A failed link leaves no target behind (one transaction).
    let err = math
        .students()
        .create_with(student("erin"), grade("toolong"), &db)
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    assert!(
        !Student::objects()
            .filter(Student::NAME.eq("erin"))
            .exists(&db)
            .await
            .unwrap()
    );
}

async fn reverse_side_reads_and_writes(db: Database) {
    let (math, alice, ..) = setup(&db).await;
    let art = Course {
        id: None,
        title: "art".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    // From the student's side: the same through rows. Its values struct has a name of its
    // own, the forward one's type.
    let from_student: StudentCoursesValues = StudentCoursesValues {
        grade: "B".into(),
        ..grade("B")
    };
    alice
        .courses()
        .add_with([&math, &art], from_student, &db)
        .await
        .unwrap();
    let titles: Vec<String> = alice
        .courses()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.title)
        .collect();
    let mut titles = titles;
    titles.sort();
    assert_eq!(titles, ["art", "math"]);
    assert!(math.students().contains(&alice, &db).await.unwrap());
    let removed = alice.courses().remove([&art], &db).await.unwrap();
    assert_eq!(removed[0].course.key(), &art.pk_value());
    assert_eq!(math.students().count(&db).await.unwrap(), 1);
}

async fn implicit_relation_with_named_table(db: Database) {
    let (math, ..) = setup(&db).await;
    let rust = Tag {
        id: None,
        name: "rust".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let sql = Tag {
        id: None,
        name: "sql".into(),
    }
    .create(&db)
    .await
    .unwrap();
    // No extra fields: add without values compiles.
    let outcome = math.tags().add([&rust, &sql, &rust], &db).await.unwrap();
    assert_eq!(outcome.linked.len(), 2, "duplicates in the input collapse");
    let again = math.tags().add([&rust], &db).await.unwrap();
    assert_eq!(again.already_linked.len(), 1);
    assert_eq!(CourseTags::meta().table, "course_tag");
    assert_eq!(CourseTags::objects().count(&db).await.unwrap(), 2);
    let names = math
        .tags()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect::<Vec<_>>();
    assert_eq!(
        names,
        ["rust", "sql"],
        "ordered by the target's default ordering"
    );
    assert_eq!(rust.courses().count(&db).await.unwrap(), 1);
    let set = math.tags().set([&sql], &db).await.unwrap();
    assert_eq!(set.removed.len(), 1);
    // A pair constraint exists on the implicit table.
    let dup = CourseTags {
        id: None,
        course: ForeignKey::to(&math),
        tag: ForeignKey::to(&sql),
    }
    .create(&db)
    .await
    .unwrap_err();
    assert!(
        dup.is_integrity(throughline::IntegrityKind::Unique),
        "{dup}"
    );
}

async fn symmetrical_friendships_write_both_directions(db: Database) {
    with_tables(&db).await;
    let ann = Person {
        id: None,
        name: "ann".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let ben = Person {
        id: None,
        name: "ben".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let cat = Person {
        id: None,
        name: "cat".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let day = NaiveDate::from_ymd_opt(2025, 6, 11).unwrap();
    let later = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    ann.friends()
        .add_with([&ben], PersonFriendsValues { befriended: day }, &db)
        .await
        .unwrap();
    // Both directions, with the same date.
    assert_eq!(Friendship::objects().count(&db).await.unwrap(), 2);
    assert_eq!(ben.friends().all(&db).await.unwrap()[0].name, "ann");
    let dates = Friendship::objects()
        .values_list(Friendship::BEFRIENDED, &db)
        .await
        .unwrap();
    assert_eq!(dates, [day, day]);
    // set keeps the old row's date and adds the new friend both ways.
    ann.friends()
        .set_with([&ben, &cat], PersonFriendsValues { befriended: later }, &db)
        .await
        .unwrap();
    assert_eq!(Friendship::objects().count(&db).await.unwrap(), 4);
    let ben_row = Friendship::objects()
        .get(
            Friendship::PERSON_ID.eq(&ben) & Friendship::FRIEND_ID.eq(&ann),
            &db,
        )
        .await
        .unwrap();
    assert_eq!(ben_row.befriended, day);
    assert_eq!(cat.friends().all(&db).await.unwrap()[0].name, "ann");
    // remove deletes both directions.
    let removed = ann.friends().remove([&ben], &db).await.unwrap();
    assert_eq!(removed.len(), 2);
    assert!(ben.friends().all(&db).await.unwrap().is_empty());
    ann.friends().clear(&db).await.unwrap();
    assert_eq!(Friendship::objects().count(&db).await.unwrap(), 0);
}

async fn non_symmetrical_self_relation(db: Database) {
    with_tables(&db).await;
    let ann = Person {
        id: None,
        name: "ann".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let ben = Person {
        id: None,
        name: "ben".into(),
    }
    .create(&db)
    .await
    .unwrap();
    ann.following().add([&ben], &db).await.unwrap();
    assert_eq!(ann.following().all(&db).await.unwrap()[0].name, "ben");
    assert!(ben.following().all(&db).await.unwrap().is_empty());
    assert_eq!(ben.followers().all(&db).await.unwrap()[0].name, "ann");
    assert_eq!(PersonFollowing::objects().count(&db).await.unwrap(), 1);
}

async fn through_fields_pick_the_keys(db: Database) {
    with_tables(&db).await;
    let team = Team {
        id: None,
        name: "core".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let ann = Person {
        id: None,
        name: "ann".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let ben = Person {
        id: None,
        name: "ben".into(),
    }
    .create(&db)
    .await
    .unwrap();
    // inviter is an extra field (optional) and role has a default: add() compiles.
    team.members().add([&ann], &db).await.unwrap();
    team.members()
        .add_with(
            [&ben],
            // Every field may be left out: the values struct has `Default`.
            TeamMembersValues {
                inviter: Some(ForeignKey::to(&ann)),
                role: Some("lead".into()),
                ..TeamMembersValues::default()
            },
            &db,
        )
        .await
        .unwrap();
    let rows = team
        .members()
        .links()
        .unwrap()
        .order_by([Membership::ID.asc()])
        .all(&db)
        .await
        .unwrap();
    assert_eq!(rows[0].role, "member");
    assert!(rows[0].inviter.is_none());
    assert_eq!(rows[1].role, "lead");
    assert_eq!(rows[1].inviter.as_ref().unwrap().key(), &ann.pk_value());
    assert_eq!(
        rows[1].member.loaded().unwrap().name,
        "ben",
        "links() loads the target"
    );
    assert_eq!(ann.teams().all(&db).await.unwrap()[0].name, "core");
    assert_eq!(ann.invitations().unwrap().count(&db).await.unwrap(), 1);
}

async fn reads_count_contains_links_order(db: Database) {
    let (math, alice, bob, carol) = setup(&db).await;
    math.students()
        .add_with([&carol], grade("C"), &db)
        .await
        .unwrap();
    math.students()
        .add_with([&alice], grade("A"), &db)
        .await
        .unwrap();
    assert_eq!(math.students().count(&db).await.unwrap(), 2);
    assert!(math.students().exists(&db).await.unwrap());
    assert!(math.students().contains(&alice, &db).await.unwrap());
    assert!(!math.students().contains(&bob, &db).await.unwrap());
    // Ordered by a through field, from the target side.
    let by_grade = math
        .students()
        .query()
        .unwrap()
        .order_by([Student::ENROLLMENTS.then(Enrollment::GRADE).desc()])
        .values_list(Student::NAME, &db)
        .await
        .unwrap();
    assert_eq!(by_grade, ["carol", "alice"]);
    let links = math
        .students()
        .links()
        .unwrap()
        .order_by([Enrollment::GRADE.asc()])
        .all(&db)
        .await
        .unwrap();
    let shown: Vec<(&str, &str)> = links
        .iter()
        .map(|e| (e.student.loaded().unwrap().name.as_str(), e.grade.as_str()))
        .collect();
    assert_eq!(shown, [("alice", "A"), ("carol", "C")]);
}

async fn prefetch_relation_with_through_rows(db: Database) {
    let (math, alice, bob, _) = setup(&db).await;
    let art = Course {
        id: None,
        title: "art".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    let bio = Course {
        id: None,
        title: "bio".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    math.students()
        .add_with([&alice, &bob], grade("A"), &db)
        .await
        .unwrap();
    art.students()
        .add_with([&bob], grade("B"), &db)
        .await
        .unwrap();
    let counting = Counting::new(&db);
    let courses = Course::objects()
        .order_by([Course::TITLE.asc()])
        .all(&counting)
        .await
        .unwrap();
    let links = Course::STUDENTS_RELATION
        .prefetch(&courses, &counting)
        .await
        .unwrap();
    assert_eq!(counting.count(), 2, "{:?}", counting.statements());
    let _ = bio;
    let names: Vec<Vec<&str>> = links
        .iter()
        .map(|rows| {
            rows.iter()
                .map(|e| e.student.loaded().unwrap().name.as_str())
                .collect()
        })
        .collect();
    assert_eq!(names, vec![vec!["bob"], vec![], vec!["alice", "bob"]]);
}

async fn prefetch_orders_each_sources_rows_by_key(db: Database) {
    let (math, alice, bob, carol) = setup(&db).await;
    let art = Course {
        id: None,
        title: "art".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    for course in [&math, &art] {
        course
            .students()
            .add_with([&alice, &bob, &carol], grade("A"), &db)
            .await
            .unwrap();
    }
    // Updating alice's rows moves them to the end of the table on PostgreSQL: read in
    // physical order they would come last.
    let updated = Enrollment::objects()
        .filter(Enrollment::STUDENT_ID.eq(&alice))
        .update(vec![Enrollment::GRADE.set("B")], &db)
        .await
        .unwrap();
    assert_eq!(updated, 2);
    let links = Course::STUDENTS_RELATION
        .prefetch(&[art.clone(), math.clone()], &db)
        .await
        .unwrap();
    for rows in &links {
        let ids: Vec<i64> = rows.iter().map(|e| e.id.unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "each source's rows by key");
        let names: Vec<&str> = rows
            .iter()
            .map(|e| e.student.loaded().unwrap().name.as_str())
            .collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
        assert_eq!(rows[0].grade, "B");
    }
    assert!(links[0][0].course.key() == &art.pk_value());
}

async fn unsaved_source_or_target_is_a_typed_error(db: Database) {
    let (math, alice, ..) = setup(&db).await;
    let ghost_course = Course {
        id: None,
        title: "ghost".into(),
        open: true,
    };
    let err = ghost_course
        .students()
        .add_with([&alice], grade("A"), &db)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unsaved { model, .. } if model == "Course"),
        "{err}"
    );
    let ghost = student("ghost");
    let err = math
        .students()
        .add_with([&ghost], grade("A"), &db)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unsaved { model, .. } if model == "Student"),
        "{err}"
    );
    // A value that does not fit is refused before anything is written.
    let err = math
        .students()
        .add_with([&alice], grade("ABC"), &db)
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    assert_eq!(math.students().count(&db).await.unwrap(), 0);
}

async fn bulk_add_is_a_constant_number_of_statements(db: Database) {
    let (math, ..) = setup(&db).await;
    let students = Student::objects()
        .bulk_create(
            (0..10_000)
                .map(|i| student(&format!("bulk{i:05}")))
                .collect(),
            Conflict::Error,
            &db,
        )
        .await
        .unwrap();
    let counting = Counting::new(&db);
    let outcome = math
        .students()
        .add_with(&students, grade("B"), &counting)
        .await
        .unwrap();
    assert_eq!(outcome.linked.len(), 10_000);
    // Lock (PostgreSQL), read the existing pairs, one insert: the same three statements,
    // with the same SQL text, whatever the number of targets.
    let big = counting.statements();
    let capabilities = throughline::dialect::capabilities(db.backend()).unwrap();
    if capabilities.on_conflict_target {
        // The pair's unique constraint makes the insert idempotent: one autocommit
        // `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`, no lock, no transaction.
        assert_eq!(big.len(), 1, "{big:?}");
        assert_eq!(counting.transactions(), 0);
    } else {
        // Without `ON CONFLICT (target)` (MariaDB): lock the course, read the existing
        // pairs, insert from the id list, in one transaction.
        assert_eq!(big.len(), 3, "{big:?}");
        assert_eq!(counting.transactions(), 1);
    }
    let art = Course {
        id: None,
        title: "art".into(),
        open: true,
    }
    .create(&db)
    .await
    .unwrap();
    counting.reset();
    art.students()
        .add_with(&students[..3], grade("B"), &counting)
        .await
        .unwrap();
    assert_eq!(
        counting.statements(),
        big,
        "the SQL does not depend on the number of targets"
    );
    counting.reset();
    let again = math
        .students()
        .add_with(&students, grade("B"), &counting)
        .await
        .unwrap();
    assert_eq!(again.already_linked.len(), 10_000);
    assert!(counting.count() <= 2, "{:?}", counting.statements());
    assert_eq!(math.students().count(&db).await.unwrap(), 10_000);
    // Re-added with other values (W6): the skip policy reports every target as differing,
    // in the order given; the update policy writes them in one UPDATE.
    counting.reset();
    let differing = math
        .students()
        .add_with(&students, grade("C"), &counting)
        .await
        .unwrap();
    assert_eq!(differing.differing.len(), 10_000);
    let given: Vec<Value> = students.iter().map(|s| s.pk_value()).collect();
    let reported: Vec<Value> = differing
        .differing
        .iter()
        .map(|d| d.target.clone())
        .collect();
    assert_eq!(reported, given);
    assert!(counting.count() <= 2, "{:?}", counting.statements());
    counting.reset();
    let updated = math
        .students()
        .on_existing(OnExisting::Update)
        .add_with(&students, grade("C"), &counting)
        .await
        .unwrap();
    assert_eq!(updated.updated, given);
    let updates = counting
        .statements()
        .iter()
        .filter(|sql| sql.contains(r#"SET "grade""#) || sql.contains("SET `grade`"))
        .count();
    assert_eq!(updates, 1, "{:?}", counting.statements());
    assert!(counting.count() <= 4, "{:?}", counting.statements());
    let graded_c = math
        .students()
        .links()
        .unwrap()
        .filter(Enrollment::GRADE.eq("C"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(graded_c, 10_000);
    // A set reads, deletes and inserts: one transaction, statements independent of N.
    counting.reset();
    let outcome = math
        .students()
        .set_with(&students[1_000..], grade("B"), &counting)
        .await
        .unwrap();
    assert_eq!(outcome.removed.len(), 1_000);
    assert_eq!(counting.transactions(), 1);
    assert!(counting.count() <= 4, "{:?}", counting.statements());
}

/// 50 tasks add the same pair at once: one row, every call succeeds.
async fn concurrent_adds_of_one_pair(db: Database) {
    let (math, alice, ..) = setup(&db).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (db, math, alice) = (db.clone(), math.clone(), alice.clone());
        tasks.push(tokio::spawn(async move {
            math.students().add_with([&alice], grade("A"), &db).await
        }));
    }
    let mut linked = 0;
    for task in tasks {
        let outcome = task.await.unwrap().unwrap();
        linked += outcome.linked.len();
    }
    assert_eq!(linked, 1, "exactly one call linked the pair");
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 1);
}

/// 20 concurrent `set` calls with different lists leave exactly one of the lists.
async fn concurrent_sets_leave_one_list(db: Database) {
    let (math, ..) = setup(&db).await;
    let people = Student::objects()
        .bulk_create(
            (0..12).map(|i| student(&format!("p{i:02}"))).collect(),
            Conflict::Error,
            &db,
        )
        .await
        .unwrap();
    let lists: Vec<Vec<Student>> = (0..20)
        .map(|i| {
            people
                .iter()
                .enumerate()
                .filter(|(j, _)| (i + j) % 3 != 0 && (i * j) % 5 != 1)
                .map(|(_, s)| s.clone())
                .collect()
        })
        .collect();
    let mut tasks = Vec::new();
    for list in lists.clone() {
        let (db, math) = (db.clone(), math.clone());
        tasks.push(tokio::spawn(async move {
            math.students()
                .set_with(&list, grade("B"), &db)
                .await
                .map(|_| ())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut now: Vec<Value> = Enrollment::objects()
        .values_list(Enrollment::STUDENT_ID, &db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.key().clone())
        .collect();
    now.sort_by_key(Value::display);
    let matches_one = lists.iter().any(|list| {
        let mut keys: Vec<Value> = list.iter().map(|s| s.pk_value()).collect();
        keys.sort_by_key(Value::display);
        keys == now
    });
    assert!(
        matches_one,
        "the final links {now:?} are not one of the requested lists"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_of_one_pair_postgres() {
    if let Some(db) = common::postgres("m2m_concurrent_adds").await {
        concurrent_adds_of_one_pair(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sets_leave_one_list_postgres() {
    if let Some(db) = common::postgres("m2m_concurrent_sets").await {
        concurrent_sets_leave_one_list(db).await;
    }
}

/// 8 courses add the same 10 students at once (different sources, the same targets, an
/// empty through table: on InnoDB their locked reads share index gaps).
async fn concurrent_adds_from_many_sources(db: Database) {
    let (..) = setup(&db).await;
    let people = Student::objects()
        .bulk_create(
            (0..10).map(|i| student(&format!("q{i:02}"))).collect(),
            Conflict::Error,
            &db,
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (db, people) = (db.clone(), people.clone());
        tasks.push(tokio::spawn(async move {
            let course = Course {
                id: None,
                title: format!("c{i}"),
                open: true,
            }
            .create(&db)
            .await?;
            course.students().add_with(&people, grade("A"), &db).await
        }));
    }
    for task in tasks {
        let outcome = task.await.unwrap().unwrap();
        assert_eq!(outcome.linked.len(), 10);
    }
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_of_one_pair_mysql() {
    if let Some(db) = common::mysql("m2m_concurrent_adds").await {
        concurrent_adds_of_one_pair(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sets_leave_one_list_mysql() {
    if let Some(db) = common::mysql("m2m_concurrent_sets").await {
        concurrent_sets_leave_one_list(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_from_many_sources_mysql() {
    if let Some(db) = common::mysql("m2m_concurrent_sources").await {
        concurrent_adds_from_many_sources(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_from_many_sources_postgres() {
    if let Some(db) = common::postgres("m2m_concurrent_sources").await {
        concurrent_adds_from_many_sources(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_and_sets_on_a_sqlite_file() {
    let (db, dir) = common::sqlite_file("m2m_concurrent").await;
    concurrent_adds_of_one_pair(db.clone()).await;
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    let (db, dir) = common::sqlite_file("m2m_concurrent_sets").await;
    concurrent_sets_leave_one_list(db.clone()).await;
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
}

/// A through table made elsewhere (by Django, by hand) whose key columns are narrower than
/// the keys they refer to (`integer` against `bigint`, on PostgreSQL): the keys every write
/// reads back (an array insert's, a one-row insert's, per-row inserts', a set's) are read
/// at the declared width.
async fn keys_of_a_narrower_legacy_column(db: Database) {
    let (math, alice, bob, carol) = setup(&db).await;
    if db.backend() == throughline::Backend::Postgres {
        let meta = Enrollment::meta();
        for field in ["student", "course"] {
            let column = &meta.field(field).unwrap().column;
            db.execute_batch(&format!(
                "ALTER TABLE {} ALTER COLUMN {column} TYPE integer",
                meta.table
            ))
            .await
            .unwrap();
        }
    }
    let key = |s: &Student| s.pk_value();
    let bulk = math
        .students()
        .add_with([&alice, &bob], grade("A"), &db)
        .await
        .unwrap();
    assert_eq!(bulk.linked, [key(&alice), key(&bob)]);
    let again = math
        .students()
        .add_with([&alice, &carol], grade("A"), &db)
        .await
        .unwrap();
    assert_eq!(again.linked, [key(&carol)]);
    assert_eq!(again.already_linked, [key(&alice)]);
    let one = math.students().remove([&carol], &db).await.unwrap();
    assert_eq!(one.len(), 1);
    let single = math
        .students()
        .add_with([&carol], grade("A"), &db)
        .await
        .unwrap();
    assert_eq!(single.linked, [key(&carol)]);
    let set = math
        .students()
        .set_with([&bob, &carol], grade("B"), &db)
        .await
        .unwrap();
    assert_eq!(set.kept, [key(&bob), key(&carol)]);
    assert_eq!(set.removed.len(), 1);
    let each = math
        .students()
        .add_each([(&alice, grade("C")), (&bob, grade("D"))], &db)
        .await
        .unwrap();
    assert_eq!(each.linked, [key(&alice)]);
    assert_eq!(each.already_linked, [key(&bob)]);
    assert_eq!(
        rows(&db).await,
        pairs(&[("alice", "C"), ("bob", "A"), ("carol", "A")])
    );
}
