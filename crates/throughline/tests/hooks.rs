//! Relation hooks fire for every write that changes links: through the relation manager
//! from both sides, direct writes to the through model (single and bulk), and deletes of
//! either side's rows; inside the operation's transaction, with an executor on it.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::models::*;
use common::with_tables;
use std::sync::Mutex;
use throughline::prelude::*;
use throughline::{Backend, Error, HookPoint, Value};

/// Every event seen: the backend it ran on, the point, the source key, the target keys,
/// and the number of enrollments the hook read inside the transaction.
type Seen = (Backend, HookPoint, Value, Vec<Value>, u64);

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
/// Registers the test's hooks on `db` (hooks belong to a database).
fn register(db: &Database) {
    {
        for point in [
            HookPoint::BeforeAdd,
            HookPoint::AfterAdd,
            HookPoint::BeforeRemove,
            HookPoint::AfterRemove,
            HookPoint::AfterClear,
        ] {
            Course::STUDENTS_RELATION
                .on(db, point, move |ctx| {
                    Box::pin(async move {
                        // The hook reads inside the operation's transaction.
                        let rows = Enrollment::objects().count(ctx.exec).await?;
                        let seen = (
                            ctx.exec.backend(),
                            ctx.change.point,
                            ctx.change.source.clone(),
                            ctx.change.targets.clone(),
                            rows,
                        );
                        SEEN.lock().unwrap().push(seen);
                        Ok(())
                    })
                })
                .unwrap();
        }
        // A hook that refuses: nobody named "blocked" may join a team.
        Team::MEMBERS_RELATION
            .on(db, HookPoint::BeforeAdd, |ctx| {
                Box::pin(async move {
                    let names = Person::objects()
                        .filter(
                            Person::ID.is_in(ctx.change.targets.iter().filter_map(Value::as_i64)),
                        )
                        .values_list(Person::NAME, ctx.exec)
                        .await?;
                    if names.iter().any(|n| n == "blocked") {
                        return Err(Error::validation(
                            "Membership",
                            "member",
                            "blocked by a hook",
                        ));
                    }
                    Ok(())
                })
            })
            .unwrap();
    }
}

/// The events seen on `backend` since the last call, as (point, source, targets, rows).
fn take(backend: Backend) -> Vec<(HookPoint, Value, Vec<Value>, u64)> {
    let mut seen = SEEN.lock().unwrap();
    let (mine, others): (Vec<Seen>, Vec<Seen>) = seen.drain(..).partition(|s| s.0 == backend);
    *seen = others;
    mine.into_iter()
        .map(|(_, p, s, t, n)| (p, s, t, n))
        .collect()
}

fn grade(g: &str) -> CourseStudentsValues {
    CourseStudentsValues {
        grade: g.into(),
        enrolled_at: None,
        status: None,
    }
}

backend_tests!(
    hooks_fire_for_every_link_change,
    a_failing_hook_aborts_the_write
);

async fn hooks_fire_for_every_link_change(db: Database) {
    register(&db);
    with_tables(&db).await;
    let backend = db.backend();
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
    let carol = student("carol").create(&db).await.unwrap();
    let (m, a) = (math.pk_value(), art.pk_value());
    let key = |s: &Student| s.pk_value();
    take(backend);

    // Through the manager: before sees the planned ids (0 rows yet), after the linked ones.
    math.students()
        .add_with([&alice, &bob], grade("A"), &db)
        .await
        .unwrap();
    assert_eq!(
        take(backend),
        vec![
            (
                HookPoint::BeforeAdd,
                m.clone(),
                vec![key(&alice), key(&bob)],
                0
            ),
            (
                HookPoint::AfterAdd,
                m.clone(),
                vec![key(&alice), key(&bob)],
                2
            ),
        ]
    );
    // Nothing changes: nothing fires.
    math.students()
        .add_with([&alice], grade("B"), &db)
        .await
        .unwrap();
    assert!(take(backend).is_empty());
    // From the reverse side: reported in the declared direction (the course's row).
    alice
        .courses()
        .add_with([&art], grade("B"), &db)
        .await
        .unwrap();
    let events = take(backend);
    assert_eq!(events.last().unwrap().0, HookPoint::AfterAdd);
    assert_eq!(
        (events[1].1.clone(), events[1].2.clone()),
        (a.clone(), vec![key(&alice)])
    );
    // Direct writes to the through model fire too.
    enrollment(&carol, &math, "C").create(&db).await.unwrap();
    assert_eq!(
        take(backend).last().unwrap().clone(),
        (HookPoint::AfterAdd, m.clone(), vec![key(&carol)], 4)
    );
    Enrollment::objects()
        .bulk_create(
            vec![enrollment(&carol, &art, "C"), enrollment(&bob, &art, "B")],
            Conflict::Error,
            &db,
        )
        .await
        .unwrap();
    let events = take(backend);
    assert_eq!(
        events.last().unwrap().clone(),
        (
            HookPoint::AfterAdd,
            a.clone(),
            vec![key(&carol), key(&bob)],
            6
        )
    );
    // Removing through the manager.
    math.students().remove([&bob], &db).await.unwrap();
    assert_eq!(
        take(backend),
        vec![
            (HookPoint::BeforeRemove, m.clone(), vec![key(&bob)], 6),
            (HookPoint::AfterRemove, m.clone(), vec![key(&bob)], 5),
        ]
    );
    // A queryset delete of through rows.
    Enrollment::objects()
        .filter(Enrollment::STUDENT_ID.eq(&carol) & Enrollment::COURSE_ID.eq(&math))
        .delete(&db)
        .await
        .unwrap();
    assert_eq!(
        take(backend).last().unwrap().clone(),
        (HookPoint::AfterRemove, m.clone(), vec![key(&carol)], 4)
    );
    // Deleting a student: its through rows are deleted explicitly first, firing the hooks
    // once per course, instead of vanishing by cascade.
    alice.delete(&db).await.unwrap();
    let mut after: Vec<(Value, Vec<Value>)> = take(backend)
        .into_iter()
        .filter(|e| e.0 == HookPoint::AfterRemove)
        .map(|e| (e.1, e.2))
        .collect();
    after.sort_by_key(|e| e.0.display());
    let mut expected = vec![
        (m.clone(), vec![key(&alice)]),
        (a.clone(), vec![key(&alice)]),
    ];
    expected.sort_by_key(|e| e.0.display());
    assert_eq!(after, expected);
    // clear fires the clear hooks with what was deleted.
    art.students().clear(&db).await.unwrap();
    let events = take(backend);
    let cleared = events
        .iter()
        .find(|e| e.0 == HookPoint::AfterClear)
        .unwrap();
    let mut targets = cleared.2.clone();
    targets.sort_by_key(Value::display);
    let mut expected = vec![key(&bob), key(&carol)];
    expected.sort_by_key(Value::display);
    assert_eq!((cleared.1.clone(), targets), (a.clone(), expected));
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 0);
}

async fn a_failing_hook_aborts_the_write(db: Database) {
    register(&db);
    with_tables(&db).await;
    let team = Team {
        id: None,
        name: "core".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let ok = Person {
        id: None,
        name: "ok".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let blocked = Person {
        id: None,
        name: "blocked".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let err = team.members().add([&ok, &blocked], &db).await.unwrap_err();
    assert!(err.to_string().contains("blocked by a hook"), "{err}");
    assert_eq!(
        Membership::objects().count(&db).await.unwrap(),
        0,
        "nothing was written"
    );
    team.members().add([&ok], &db).await.unwrap();
    assert_eq!(Membership::objects().count(&db).await.unwrap(), 1);
}
