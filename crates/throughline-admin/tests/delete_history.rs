//! The delete confirmation and the history over HTTP, on SQLite and PostgreSQL: what a
//! delete takes with it (through rows included), what PROTECT blocks (409, nothing
//! deleted), SET NULL listed, hooks firing, the history of an object (also once deleted).
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../throughline/tests/common/mod.rs"]
mod common;
mod support;

use axum::http::StatusCode;
use std::sync::{Arc, Mutex};
use support::*;
use throughline::HookPoint;
use throughline::prelude::*;
use throughline_admin::models::{AdminLog, LogAction};

backend_tests!(
    delete_lists_the_cascade_and_deletes_through_the_engine,
    protect_blocks_the_delete,
    delete_needs_permission_and_csrf,
    delete_needs_permission_for_the_cascade,
    history_lists_changes_newest_first,
);

async fn delete_lists_the_cascade_and_deletes_through_the_engine(db: Database) {
    let mut client = logged_in(&db).await;
    let alice = Student {
        id: None,
        name: "alice".into(),
        email: "a@example.com".into(),
    }
    .create(&db)
    .await
    .unwrap();
    for title in ["Math", "History"] {
        let course = Course {
            id: None,
            title: title.into(),
            active: true,
        }
        .create(&db)
        .await
        .unwrap();
        course
            .students()
            .add_with(
                [&alice],
                CourseStudentsValues {
                    grade: "A".into(),
                    enrolled_at: None,
                    status: None,
                },
                &db,
            )
            .await
            .unwrap();
    }
    let removed = Arc::new(Mutex::new(0usize));
    let seen = removed.clone();
    Course::STUDENTS_RELATION
        .on(&db, HookPoint::AfterRemove, move |ctx| {
            *seen.lock().unwrap() += ctx.change.targets.len();
            Box::pin(async move { Ok(()) })
        })
        .unwrap();
    let url = format!("/admin/school/student/{}/delete/", alice.id.unwrap());
    let page = client.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Are you sure you want to delete the student “alice”?"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<li>Students: 1</li>") && page.body.contains("<li>Enrollments: 2</li>"),
        "{}",
        page.body
    );
    let reply = client
        .post(&url, &[("csrf_token", &page.csrf()), ("post", "yes")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/admin/school/student/");
    assert_eq!(Student::objects().count(&db).await.unwrap(), 0);
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 0);
    assert_eq!(
        *removed.lock().unwrap(),
        2,
        "the relation's hooks fire for the cascade"
    );
    let list = client.get("/admin/school/student/").await;
    assert!(
        list.body
            .contains("The student “alice” was deleted successfully.")
    );
    let log = AdminLog::objects().all(&db).await.unwrap();
    assert_eq!(log[0].action, LogAction::Delete);
    assert_eq!(log[0].message, "Deleted, with 2 enrollments.");
    // Deleting it again: 404.
    assert_eq!(client.get(&url).await.status, StatusCode::NOT_FOUND);
}

async fn protect_blocks_the_delete(db: Database) {
    let mut client = logged_in(&db).await;
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
    Book {
        id: None,
        title: "<i>Dune</i>".into(),
        author: ForeignKey::to(&ann),
        editor: Some(ForeignKey::to(&ed)),
    }
    .create(&db)
    .await
    .unwrap();
    let url = format!("/admin/library/author/{}/delete/", ann.id.unwrap());
    let page = client.get(&url).await;
    assert!(page.body.contains("Cannot delete author"), "{}", page.body);
    assert!(
        page.body.contains(&format!("Book: {}", esc("<i>Dune</i>"))),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Yes, I"));
    let session_csrf = client.session_csrf().await;
    let reply = client.post(&url, &[("csrf_token", &session_csrf)]).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(Author::objects().count(&db).await.unwrap(), 2);
    assert_eq!(Book::objects().count(&db).await.unwrap(), 1);
    // The editor may go: the book keeps no editor.
    let url = format!("/admin/library/author/{}/delete/", ed.id.unwrap());
    let page = client.get(&url).await;
    assert!(
        page.body.contains("Emptied, not deleted") && page.body.contains("Books (editor): 1"),
        "{}",
        page.body
    );
    let reply = client.post(&url, &[("csrf_token", &page.csrf())]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let book = Book::objects().first(&db).await.unwrap().unwrap();
    assert!(book.editor.is_none());
}

async fn delete_needs_permission_and_csrf(db: Database) {
    let router = site(&db).await;
    let alice = Student {
        id: None,
        name: "alice".into(),
        email: "a@example.com".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let url = format!("/admin/school/student/{}/delete/", alice.id.unwrap());
    let mut admin = Client::new(router.clone());
    admin.login("admin", PASSWORD).await;
    assert_eq!(
        admin.post(&url, &[("post", "yes")]).await.status,
        StatusCode::FORBIDDEN
    );
    clerk(&db, "Student", throughline_admin::auth::Action::Change).await;
    let mut client = Client::new(router);
    client.login("clerk", PASSWORD).await;
    assert_eq!(client.get(&url).await.status, StatusCode::FORBIDDEN);
    let csrf = client.session_csrf().await;
    assert_eq!(
        client.post(&url, &[("csrf_token", &csrf)]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(Student::objects().count(&db).await.unwrap(), 1);
}

async fn history_lists_changes_newest_first(db: Database) {
    let mut client = logged_in(&db).await;
    let csrf = client.session_csrf().await;
    let reply = client
        .post(
            "/admin/school/student/add/",
            &[
                ("csrf_token", &csrf),
                ("name", "alice"),
                ("email", "a@example.com"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let alice = Student::objects().first(&db).await.unwrap().unwrap();
    let change = format!("/admin/school/student/{}/change/", alice.id.unwrap());
    client
        .post(
            &change,
            &[
                ("csrf_token", &csrf),
                ("name", "alice"),
                ("email", "alice@example.com"),
            ],
        )
        .await;
    let history = format!("/admin/school/student/{}/history/", alice.id.unwrap());
    let page = client.get(&history).await;
    assert_eq!(page.status, StatusCode::OK);
    let changed = page.body.find("Changed email.").expect("the change");
    let added = page.body.find("Added.").expect("the add");
    assert!(changed < added, "newest first");
    assert!(page.body.contains("<td>admin</td>"));
    // Deleted, the object keeps its history.
    let delete = format!("/admin/school/student/{}/delete/", alice.id.unwrap());
    client.post(&delete, &[("csrf_token", &csrf)]).await;
    let page = client.get(&history).await;
    assert!(
        page.body.contains("Deleted.") && page.body.contains("Change history: alice"),
        "{}",
        page.body
    );
    // No history; not a key.
    let page = client.get("/admin/school/student/4242/history/").await;
    assert!(page.body.contains("doesn't have a change history"));
    assert_eq!(
        client.get("/admin/school/student/x/history/").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn delete_needs_permission_for_the_cascade(db: Database) {
    let router = site(&db).await;
    let alice = Student {
        id: None,
        name: "alice".into(),
        email: "a@example.com".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let math = Course {
        id: None,
        title: "Math".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    math.students()
        .add_with(
            [&alice],
            CourseStudentsValues {
                grade: "A".into(),
                enrolled_at: None,
                status: None,
            },
            &db,
        )
        .await
        .unwrap();
    let clerk = clerk(&db, "Student", throughline_admin::auth::Action::Delete).await;
    let mut client = Client::new(router);
    client.login("clerk", PASSWORD).await;
    let url = format!("/admin/school/student/{}/delete/", alice.id.unwrap());
    let page = client.get(&url).await;
    assert!(
        page.body.contains("doesn't have permission to delete")
            && page.body.contains("<li>enrollments</li>"),
        "{}",
        page.body
    );
    let csrf = client.session_csrf().await;
    assert_eq!(
        client.post(&url, &[("csrf_token", &csrf)]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 1);
    // A course's plain relation to tags needs no permission of its own.
    let tag = Tag {
        id: None,
        name: "intro".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let history = Course {
        id: None,
        title: "History".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    history.tags().add([&tag], &db).await.unwrap();
    grant(
        &db,
        &clerk,
        "Course",
        throughline_admin::auth::Action::Delete,
    )
    .await;
    let url = format!("/admin/school/course/{}/delete/", history.id.unwrap());
    let page = client.get(&url).await;
    assert!(page.body.contains("Are you sure"), "{}", page.body);
    assert_eq!(
        client.post(&url, &[("csrf_token", &csrf)]).await.status,
        StatusCode::SEE_OTHER
    );
}
