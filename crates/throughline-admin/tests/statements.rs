//! The admin's pages run a number of statements that does not grow with the rows shown:
//! a change list of 5 or 150 enrollments (two foreign-key columns, read through joins),
//! a course page with 2 or 50 inline enrollments. Statements are counted from the
//! `throughline::sql` tracing events, with this binary's one test alone in its process
//! so no other test's statements mix in.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../throughline/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use support::*;
use throughline::prelude::*;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

/// Counts the events of target `throughline::sql` (one per statement).
struct CountStatements;

impl Subscriber for CountStatements {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "throughline::sql"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() == "throughline::sql" {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// The statements `path` runs.
async fn statements_of(client: &mut Client, path: &str) -> usize {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let reply = client.get(path).await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.body);
    STATEMENTS.load(Ordering::SeqCst) - before
}

async fn enroll(db: &Database, course: &Course, from: usize, to: usize) {
    let students: Vec<Student> = (from..to)
        .map(|i| Student {
            id: None,
            name: format!("s{i}"),
            email: format!("s{i}@example.com"),
        })
        .collect();
    let students = Student::objects()
        .bulk_create(students, Conflict::Error, db)
        .await
        .unwrap();
    let values = CourseStudentsValues {
        grade: "A".into(),
        enrolled_at: None,
        status: None,
    };
    course
        .students()
        .add_with(&students, values, db)
        .await
        .unwrap();
}

async fn counts_do_not_grow(db: Database) {
    let mut client = logged_in(&db).await;
    let math = Course {
        id: None,
        title: "Math".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    enroll(&db, &math, 0, 2).await;
    let list = "/admin/school/enrollment/";
    let page = format!("/admin/school/course/{}/change/", math.id.unwrap());
    let (list_few, page_few) = (
        statements_of(&mut client, list).await,
        statements_of(&mut client, &page).await,
    );
    enroll(&db, &math, 2, 150).await;
    let (list_many, page_many) = (
        statements_of(&mut client, list).await,
        statements_of(&mut client, &page).await,
    );
    assert_eq!(list_few, list_many, "change list statements grow with rows");
    assert_eq!(
        page_few, page_many,
        "change page statements grow with inline rows"
    );
    // The session, the count and the page of rows (filters: status and dates need
    // none; the course filter reads the courses).
    assert!(list_many <= 5, "{list_many} statements for a change list");
}

#[test]
fn statement_counts_do_not_grow_with_rows() {
    tracing::subscriber::set_global_default(CountStatements).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        counts_do_not_grow(common::sqlite().await).await;
        if let Some(db) = common::postgres("admin_statements").await {
            counts_do_not_grow(db).await;
        }
    });
}
