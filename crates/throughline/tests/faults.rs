//! All or nothing, whatever happens to the caller (SPEC §7): a hook that panics, a hook that
//! awaits a timer, a future dropped mid-operation (on the pool and inside a transaction) and
//! a dropped `begin()` leave nothing half-applied, and the connection is never handed on
//! inside a transaction it did not begin.
//!
//! The hooks of this file react to the names of the students they see, so that tests running
//! side by side (and both backends) do not step on each other: a `panic-add…` student makes
//! the after-add hook panic, a `panic-remove…` student the after-remove and after-clear
//! hooks, and a `sleepy…` student makes every hook await a tokio timer and a channel.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::models::*;
use common::with_tables;
use std::time::Duration;
use throughline::prelude::*;
use throughline::{Error, HookPoint, Value};

/// Registers the test's hooks on `db` (hooks belong to a database).
fn register(db: &Database) {
    {
        for point in [
            HookPoint::BeforeAdd,
            HookPoint::AfterAdd,
            HookPoint::BeforeRemove,
            HookPoint::AfterRemove,
            HookPoint::BeforeClear,
            HookPoint::AfterClear,
        ] {
            Course::STUDENTS_RELATION
                .on(db, point, move |ctx| {
                    Box::pin(async move {
                        let names = Student::objects()
                            .filter(
                                Student::ID
                                    .is_in(ctx.change.targets.iter().filter_map(Value::as_i64)),
                            )
                            .values_list(Student::NAME, ctx.exec)
                            .await?;
                        let has = |prefix: &str| names.iter().any(|n| n.starts_with(prefix));
                        if has("sleepy") {
                            // Ordinary async work: a timer and a channel fed by another task.
                            tokio::time::sleep(Duration::from_millis(2)).await;
                            let (send, receive) = tokio::sync::oneshot::channel();
                            tokio::spawn(async move {
                                tokio::time::sleep(Duration::from_millis(1)).await;
                                let _ = send.send(7u8);
                            });
                            assert_eq!(receive.await.unwrap(), 7);
                        }
                        if point == HookPoint::AfterAdd && has("panic-add") {
                            panic!("a hook panicked after adding");
                        }
                        if matches!(point, HookPoint::AfterRemove | HookPoint::AfterClear)
                            && has("panic-remove")
                        {
                            panic!("a hook panicked after removing");
                        }
                        Ok(())
                    })
                })
                .unwrap();
        }
        // A hook that runs a relation write through its executor and handles its error:
        // the failed write must leave nothing behind, and the outer write must commit.
        Course::TAGS_RELATION
            .on(db, HookPoint::AfterAdd, |ctx| {
                Box::pin(async move {
                    let Some(id) = ctx.change.source.as_i64() else {
                        return Ok(());
                    };
                    let course = Course::objects().get(Course::ID.eq(id), ctx.exec).await?;
                    if course.title != "nested" {
                        return Ok(());
                    }
                    let mut ghost = student("ghost");
                    ghost.id = Some(987_654);
                    let handled = course
                        .students()
                        .set_with([&ghost], grade("B"), ctx.exec)
                        .await;
                    assert!(handled.is_err(), "the nested set fails (no such student)");
                    Ok(())
                })
            })
            .unwrap();
    }
}

fn grade(g: &str) -> CourseStudentsValues {
    CourseStudentsValues {
        grade: g.into(),
        enrolled_at: None,
        status: None,
    }
}

fn course(title: &str) -> Course {
    Course {
        id: None,
        title: title.into(),
        open: true,
    }
}

/// The (student name, grade) rows of a course, sorted.
async fn rows(db: &Database, course: &Course) -> Vec<(String, String)> {
    let links = course
        .students()
        .links()
        .unwrap()
        .select_related(Enrollment::STUDENT)
        .all(db)
        .await
        .unwrap();
    let mut out: Vec<(String, String)> = links
        .iter()
        .map(|e| (e.student.loaded().unwrap().name.clone(), e.grade.clone()))
        .collect();
    out.sort();
    out
}

fn panicked(result: Result<impl std::fmt::Debug, Error>) {
    match result {
        Err(Error::Panicked { message }) => assert!(message.contains("hook panicked"), "{message}"),
        other => panic!("expected a panic turned into an error, got {other:?}"),
    }
}

/// The writer is usable and commits: a transaction can start, and a row written through
/// the pool is there when read back.
async fn writer_is_clean(db: &Database, marker: &str) {
    let tx = db.begin().await.expect("a transaction can begin");
    tx.commit().await.unwrap();
    let created = course(marker).create(db).await.unwrap();
    let found = Course::objects()
        .filter(Course::TITLE.eq(marker))
        .all(db)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, created.id);
}

backend_tests!(
    a_panicking_hook_applies_nothing,
    a_panicking_hook_inside_a_transaction_applies_nothing,
    a_hook_may_await_timers_and_channels,
    a_set_dropped_inside_a_transaction_never_commits_half,
    a_set_dropped_on_the_pool_applies_all_or_nothing,
    every_write_dropped_inside_a_transaction_is_all_or_nothing,
    an_error_a_hook_handles_leaves_no_half_operation,
);

async fn an_error_a_hook_handles_leaves_no_half_operation(db: Database) {
    register(&db);
    with_tables(&db).await;
    let nested = course("nested").create(&db).await.unwrap();
    let bob = student("bob").create(&db).await.unwrap();
    nested
        .students()
        .add_with([&bob], grade("A"), &db)
        .await
        .unwrap();
    let tag = Tag {
        id: None,
        name: "t1".into(),
    }
    .create(&db)
    .await
    .unwrap();
    // The hook's set deletes bob's row, then fails on the missing student: its savepoint
    // undoes the delete, and the tag's link commits.
    nested.tags().add([&tag], &db).await.unwrap();
    assert_eq!(
        nested.tags().count(&db).await.unwrap(),
        1,
        "the add committed"
    );
    assert_eq!(
        rows(&db, &nested).await,
        vec![("bob".to_owned(), "A".to_owned())]
    );
}

async fn a_panicking_hook_applies_nothing(db: Database) {
    register(&db);
    with_tables(&db).await;
    let math = course("math").create(&db).await.unwrap();
    let alice = student("alice").create(&db).await.unwrap();
    let adder = student("panic-add-ann").create(&db).await.unwrap();
    let remover = student("panic-remove-rob").create(&db).await.unwrap();
    math.students()
        .add_with([&alice, &remover], grade("A"), &db)
        .await
        .unwrap();
    let before = rows(&db, &math).await;
    assert_eq!(before.len(), 2);

    panicked(math.students().add_with([&adder], grade("B"), &db).await);
    panicked(math.students().set_with([&adder], grade("B"), &db).await);
    panicked(math.students().remove([&remover], &db).await);
    panicked(math.students().clear(&db).await);
    panicked(math.students().set_with([&alice], grade("A"), &db).await);
    panicked(adder.courses().add_with([&math], grade("C"), &db).await);
    panicked(remover.delete(&db).await);
    assert_eq!(
        rows(&db, &math).await,
        before,
        "nothing of a panicked write"
    );
    assert_eq!(
        Student::objects()
            .filter(Student::NAME.eq("panic-remove-rob"))
            .count(&db)
            .await
            .unwrap(),
        1
    );
    writer_is_clean(&db, "after panics").await;
}

async fn a_panicking_hook_inside_a_transaction_applies_nothing(db: Database) {
    register(&db);
    with_tables(&db).await;
    let math = course("math").create(&db).await.unwrap();
    let alice = student("alice").create(&db).await.unwrap();
    let bob = student("bob").create(&db).await.unwrap();
    let adder = student("panic-add-ann").create(&db).await.unwrap();
    math.students()
        .add_with([&alice, &bob], grade("A"), &db)
        .await
        .unwrap();
    let before = rows(&db, &math).await;

    let tx = db.begin().await.unwrap();
    // The set deletes bob's row, then the hook panics after inserting ann's.
    panicked(
        math.students()
            .set_with([&alice, &adder], grade("B"), &tx)
            .await,
    );
    match tx.commit().await {
        // Rolled back to the operation's savepoint: the transaction commits without it.
        Ok(()) => {}
        Err(Error::TransactionAborted { .. }) => {}
        Err(other) => panic!("unexpected commit error {other}"),
    }
    assert_eq!(rows(&db, &math).await, before, "no half set committed");
    writer_is_clean(&db, "after a panic in a transaction").await;
}

async fn a_hook_may_await_timers_and_channels(db: Database) {
    register(&db);
    with_tables(&db).await;
    let math = course("math").create(&db).await.unwrap();
    let sleepy = student("sleepy-sam").create(&db).await.unwrap();
    let outcome = math
        .students()
        .add_with([&sleepy], grade("A"), &db)
        .await
        .unwrap();
    assert_eq!(outcome.linked.len(), 1);
    let tx = db.begin().await.unwrap();
    math.students().remove([&sleepy], &tx).await.unwrap();
    tx.commit().await.unwrap();
    assert!(rows(&db, &math).await.is_empty());
    writer_is_clean(&db, "after sleepy hooks").await;
}

/// Deadlines from 50 µs to 5 ms, spaced geometrically, then one long enough to finish.
fn deadlines() -> Vec<Duration> {
    let mut out = Vec::new();
    let mut micros = 50.0f64;
    while micros <= 5000.0 {
        out.push(Duration::from_micros(micros as u64));
        micros *= 1.25;
    }
    out.push(Duration::from_secs(5));
    out
}

async fn linked_names(db: &Database, course: &Course) -> Vec<String> {
    rows(db, course).await.into_iter().map(|(n, _)| n).collect()
}

/// `count` students, every `every`-th (from `first`) sleepy: their hooks await, so that
/// deadlines fall mid-operation.
async fn students_some_sleepy(
    db: &Database,
    count: usize,
    every: usize,
    first: usize,
) -> Vec<Student> {
    let mut students = Vec::new();
    for i in 0..count {
        let name = if i % every == first {
            format!("sleepy-{i:02}")
        } else {
            format!("s{i:02}")
        };
        students.push(student(&name).create(db).await.unwrap());
    }
    students
}

/// The names of `set`, sorted.
fn sorted_names(set: &[&Student]) -> Vec<String> {
    let mut names: Vec<String> = set.iter().map(|s| s.name.clone()).collect();
    names.sort();
    names
}

async fn a_set_dropped_inside_a_transaction_never_commits_half(db: Database) {
    register(&db);
    with_tables(&db).await;
    let math = course("math").create(&db).await.unwrap();
    let students = students_some_sleepy(&db, 12, 4, 0).await;
    let old: Vec<&Student> = students[..6].iter().collect();
    let new: Vec<&Student> = students[4..].iter().collect();
    let (old_names, new_names) = (sorted_names(&old), sorted_names(&new));
    let (mut applied, mut aborted) = (0, 0);
    for deadline in deadlines() {
        math.students()
            .set_with(old.iter().copied(), grade("A"), &db)
            .await
            .unwrap();
        let tx = db.begin().await.unwrap();
        let result = tokio::time::timeout(
            deadline,
            math.students()
                .set_with(new.iter().copied(), grade("B"), &tx),
        )
        .await;
        let committed = tx.commit().await;
        let now = linked_names(&db, &math).await;
        match (&result, &committed) {
            (Ok(Ok(_)), Ok(())) => assert_eq!(now, new_names, "{deadline:?}"),
            (_, Ok(())) => assert!(
                now == old_names || now == new_names,
                "{deadline:?}: half a set committed: {now:?}"
            ),
            (Err(_), Err(Error::TransactionAborted { .. })) => {
                assert_eq!(now, old_names, "{deadline:?}: an aborted transaction wrote");
            }
            other => panic!("{deadline:?}: unexpected {other:?}"),
        }
        if now == new_names {
            applied += 1;
        } else if committed.is_err() {
            aborted += 1;
        }
    }
    // The sweep covers both ends: some sets finish, and (on PostgreSQL, where a dropped
    // future stops the operation mid-way) some are cut off and abort the transaction.
    assert!(applied > 0, "no set finished");
    if db.backend() == throughline::Backend::Postgres {
        assert!(aborted > 0, "no deadline fell inside an operation");
    }
    writer_is_clean(&db, "after the sweep").await;
}

async fn a_set_dropped_on_the_pool_applies_all_or_nothing(db: Database) {
    register(&db);
    with_tables(&db).await;
    let math = course("math").create(&db).await.unwrap();
    let students = students_some_sleepy(&db, 12, 4, 1).await;
    let old: Vec<&Student> = students[..6].iter().collect();
    let new: Vec<&Student> = students[4..].iter().collect();
    let (old_names, new_names) = (sorted_names(&old), sorted_names(&new));
    for deadline in deadlines() {
        math.students()
            .set_with(old.iter().copied(), grade("A"), &db)
            .await
            .unwrap();
        let _ = tokio::time::timeout(
            deadline,
            math.students()
                .set_with(new.iter().copied(), grade("B"), &db),
        )
        .await;
        // A SQLite job runs to its end after its future is dropped: wait for the writer.
        db.begin().await.unwrap().rollback().await.unwrap();
        let now = linked_names(&db, &math).await;
        assert!(
            now == old_names || now == new_names,
            "{deadline:?}: half a set applied: {now:?}"
        );
    }
    writer_is_clean(&db, "after the pool sweep").await;
}

/// The relation writes other than `set`, each cut off by deadlines inside a transaction:
/// after `commit()`, the links are those before the write or those after all of it.
async fn every_write_dropped_inside_a_transaction_is_all_or_nothing(db: Database) {
    register(&db);
    with_tables(&db).await;
    let math = course("math").create(&db).await.unwrap();
    let students = students_some_sleepy(&db, 10, 3, 0).await;
    let old: Vec<&Student> = students[..5].iter().collect();
    let extra: Vec<&Student> = students[5..].iter().collect();
    let all: Vec<&Student> = students.iter().collect();
    let kept: Vec<&Student> = students[3..5].iter().collect();
    let cases: [(&str, Vec<String>); 3] = [
        ("add", sorted_names(&all)),
        ("remove", sorted_names(&kept)),
        ("clear", Vec::new()),
    ];
    let old_names = sorted_names(&old);
    for (write, after) in cases {
        for deadline in deadlines() {
            math.students()
                .set_with(old.iter().copied(), grade("A"), &db)
                .await
                .unwrap();
            let tx = db.begin().await.unwrap();
            let related = math.students();
            let cut = match write {
                "add" => tokio::time::timeout(deadline, async {
                    related
                        .add_with(extra.iter().copied(), grade("B"), &tx)
                        .await
                        .map(drop)
                })
                .await
                .is_err(),
                "remove" => tokio::time::timeout(deadline, async {
                    related
                        .remove(old[..3].iter().copied(), &tx)
                        .await
                        .map(drop)
                })
                .await
                .is_err(),
                _ => tokio::time::timeout(deadline, async { related.clear(&tx).await.map(drop) })
                    .await
                    .is_err(),
            };
            let committed = tx.commit().await;
            let now = linked_names(&db, &math).await;
            match &committed {
                Ok(()) => assert!(
                    now == old_names || now == after,
                    "{write} {deadline:?}: half applied: {now:?}"
                ),
                Err(Error::TransactionAborted { .. }) => {
                    assert!(cut, "{write}: aborted without being cut off");
                    assert_eq!(
                        now, old_names,
                        "{write} {deadline:?}: an aborted transaction wrote"
                    );
                }
                Err(other) => panic!("{write} {deadline:?}: unexpected {other}"),
            }
        }
    }
    writer_is_clean(&db, "after every write").await;
}

/// A file database, where "committed" can be checked from a second pool: after panicking
/// hooks and `begin()` futures dropped while their `BEGIN` was queued, a row created through
/// the pool is on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_writer_is_never_left_in_a_transaction() {
    let (db, dir) = common::sqlite_file("faults-writer").await;
    register(&db);
    with_tables(&db).await;
    let math = course("math").create(&db).await.unwrap();
    let adder = student("panic-add-ann").create(&db).await.unwrap();
    panicked(math.students().add_with([&adder], grade("B"), &db).await);
    for _ in 0..200 {
        let _ = tokio::time::timeout(Duration::ZERO, db.begin()).await;
    }
    let created = course("after").create(&db).await.unwrap();
    let url = format!("sqlite://{}?mode=rw", dir.join("test.db").display());
    let other = Database::connect(&url).await.unwrap();
    let seen = Course::objects()
        .filter(Course::TITLE.eq("after"))
        .all(&other)
        .await
        .unwrap();
    assert_eq!(seen.len(), 1, "a create after the faults was committed");
    assert_eq!(seen[0].id, created.id);
    writer_is_clean(&db, "file writer").await;
    drop(other);
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
}

/// With PostgreSQL down, `connect` fails at once and names the host, the port and the cause.
#[tokio::test]
async fn connect_names_the_server_and_the_cause() {
    // Port 1 on the loopback: nothing listens there.
    let error = Database::connect("postgres://postgres@127.0.0.1:1/test?pool_timeout_ms=2000")
        .await
        .expect_err("connect fails when the server is down");
    let text = error.to_string();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
    let missing = Database::connect("sqlite:///nonexistent-dir/x.db?mode=rw")
        .await
        .expect_err("a missing SQLite file without mode=rwc is an error");
    assert!(matches!(missing, Error::Connect { .. }), "{missing:?}");
    assert!(
        missing.to_string().contains("/nonexistent-dir/x.db"),
        "{missing}"
    );
}
