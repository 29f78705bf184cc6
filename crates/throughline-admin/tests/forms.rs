//! The add and change pages over HTTP, on SQLite and PostgreSQL: validation errors next
//! to their fields with nothing saved, the history entry of a save, a through model
//! edited inline (rows added, changed and deleted in one submit, hooks firing, the outcome
//! in words), seed 000's several rows per pair, and hostile form data refused.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../throughline/tests/common/mod.rs"]
mod common;
mod support;

use axum::http::StatusCode;
use std::sync::{Arc, Mutex};
use support::*;
use throughline::prelude::*;
use throughline::{HookPoint, Value};
use throughline_admin::models::AdminLog;

backend_tests!(
    add_shows_errors_and_saves_nothing_until_valid,
    change_saves_and_records_history,
    inline_enrollments_add_change_delete_in_one_submit,
    inline_reports_an_existing_link_in_words,
    inline_error_saves_nothing,
    inline_keeps_several_rows_per_pair,
    plain_many_to_many_is_a_multi_select,
    many_targets_are_typed_not_dropped,
    inline_writes_need_the_through_models_permissions,
    hostile_form_data_is_refused,
    view_only_users_cannot_post,
    to_field_keys_in_forms_and_inlines,
);

/// Keys to a unique field (`to_field`): selects offer the referred values, an inline links
/// by them, a form saves them, and read-only and list pages show the referred row.
async fn to_field_keys_in_forms_and_inlines(db: Database) {
    let mut client = logged_in(&db).await;
    let toyota = Car {
        id: None,
        make: Some("Toyota".into()),
    }
    .create(&db)
    .await
    .unwrap();
    let ryan = Driver {
        id: None,
        name: Some("Ryan".into()),
    }
    .create(&db)
    .await
    .unwrap();
    Driver {
        id: None,
        name: Some("Sam".into()),
    }
    .create(&db)
    .await
    .unwrap();
    toyota
        .drivers()
        .add_with(
            [&ryan],
            CarDriversValues {
                role: String::new(),
            },
            &db,
        )
        .await
        .unwrap();
    let url = format!("/admin/garage/car/{}/change/", toyota.id.unwrap());
    let page = client.get(&url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // The inline's stored row and its select name drivers by their names.
    assert!(
        page.body.contains("<option value=\"Ryan\" selected>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<option value=\"Sam\""), "{}", page.body);
    let link = CarDriver::objects().first(&db).await.unwrap().unwrap();
    let link_id = link.id.unwrap().to_string();
    let csrf = page.csrf();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("make", "Toyota"),
                ("drivers-TOTAL", "2"),
                ("drivers-0-id", &link_id),
                ("drivers-0-target", "Ryan"),
                ("drivers-0-role", "owner"),
                ("drivers-1-id", ""),
                ("drivers-1-target", "Sam"),
                ("drivers-1-role", ""),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let links = CarDriver::objects()
        .order_by([CarDriver::ID.asc()])
        .all(&db)
        .await
        .unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].role, "owner");
    assert_eq!(links[1].car.key(), &Value::from("Toyota"));
    assert_eq!(links[1].driver.key(), &Value::from("Sam"));
    // A sale's form offers the makes and saves one.
    let add = client.get("/admin/garage/sale/add/").await;
    assert!(
        add.body.contains("<option value=\"Toyota\""),
        "{}",
        add.body
    );
    let csrf = add.csrf();
    let saved = client
        .post(
            "/admin/garage/sale/add/",
            &[("csrf_token", &csrf), ("car", "Toyota"), ("amount", "12")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let sale = Sale::objects().first(&db).await.unwrap().unwrap();
    assert_eq!(sale.car.key(), &Value::from("Toyota"));
    // A make no car has is an error beside the field, and nothing is saved.
    let refused = client
        .post(
            "/admin/garage/sale/add/",
            &[("csrf_token", &csrf), ("car", "Nope"), ("amount", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
    assert!(
        refused.body.contains("Select a valid choice"),
        "{}",
        refused.body
    );
    assert_eq!(Sale::objects().count(&db).await.unwrap(), 1);
    // A car whose make is NULL saves with no drivers; a driver for it is refused beside
    // the make, and nothing is linked.
    let nameless = Car {
        id: None,
        make: None,
    }
    .create(&db)
    .await
    .unwrap();
    let url = format!("/admin/garage/car/{}/change/", nameless.id.unwrap());
    let page = client.get(&url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.csrf();
    let empty = client
        .post(
            &url,
            &[("csrf_token", &csrf), ("make", ""), ("drivers-TOTAL", "0")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::SEE_OTHER, "{}", empty.body);
    let linked = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("make", ""),
                ("drivers-TOTAL", "1"),
                ("drivers-0-id", ""),
                ("drivers-0-target", "Sam"),
                ("drivers-0-role", ""),
            ],
        )
        .await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    assert!(linked.body.contains("NULL"), "{}", linked.body);
    assert_eq!(CarDriver::objects().count(&db).await.unwrap(), 2);
    // The delete preview lists the car's through rows and its sale.
    let preview = client
        .get(&format!("/admin/garage/car/{}/delete/", toyota.id.unwrap()))
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("<li>Car drivers: 2</li>")
            && preview.body.contains("<li>Sales: 1</li>"),
        "{}",
        preview.body
    );
}

fn values(grade: &str) -> CourseStudentsValues {
    CourseStudentsValues {
        grade: grade.into(),
        enrolled_at: None,
        status: None,
    }
}

async fn student(db: &Database, name: &str) -> Student {
    Student {
        id: None,
        name: name.into(),
        email: format!("{name}@example.com"),
    }
    .create(db)
    .await
    .unwrap()
}

async fn add_shows_errors_and_saves_nothing_until_valid(db: Database) {
    let mut client = logged_in(&db).await;
    student(&db, "alice").await;
    let page = client.get("/admin/school/student/add/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"name\"") && page.body.contains("maxlength=\"100\""));
    let csrf = page.csrf();
    // Missing name, a taken email: errors beside the fields, the input kept, nothing saved.
    let reply = client
        .post(
            "/admin/school/student/add/",
            &[("csrf_token", &csrf), ("name", ""), ("email", "<b>x</b>")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.body.contains("This field is required."),
        "{}",
        reply.body
    );
    assert!(reply.body.contains(&esc("<b>x</b>")) && !reply.body.contains("<b>x</b>"));
    let reply = client
        .post(
            "/admin/school/student/add/",
            &[
                ("csrf_token", &csrf),
                ("name", "bob"),
                ("email", "alice@example.com"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .body
            .contains("Student with this email already exists."),
        "{}",
        reply.body
    );
    let over_long = "x".repeat(101);
    let reply = client
        .post(
            "/admin/school/student/add/",
            &[
                ("csrf_token", &csrf),
                ("name", &over_long),
                ("email", "b@example.com"),
            ],
        )
        .await;
    assert!(
        reply
            .body
            .contains("Ensure this value has at most 100 characters (it has 101).")
    );
    assert_eq!(Student::objects().count(&db).await.unwrap(), 1);
    assert_eq!(AdminLog::objects().count(&db).await.unwrap(), 0);
    // Valid: saved, logged, back to the list with a message.
    let reply = client
        .post(
            "/admin/school/student/add/",
            &[
                ("csrf_token", &csrf),
                ("name", "  bob "),
                ("email", "bob@example.com"),
                ("_save", "1"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), "/admin/school/student/");
    let list = client.get("/admin/school/student/").await;
    assert!(
        list.body
            .contains("The student “bob” was added successfully."),
        "{}",
        list.body
    );
    let bob = Student::objects()
        .get(Student::NAME.eq("bob"), &db)
        .await
        .unwrap();
    assert_eq!(bob.email, "bob@example.com");
    let log = AdminLog::objects().all(&db).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            log[0].model.as_str(),
            log[0].object_repr.as_str(),
            log[0].message.as_str()
        ),
        ("Student", "bob", "Added.")
    );
    assert_eq!(log[0].object_key, bob.id.unwrap().to_string());
}

async fn change_saves_and_records_history(db: Database) {
    let mut client = logged_in(&db).await;
    let alice = student(&db, "alice").await;
    let url = format!("/admin/school/student/{}/change/", alice.id.unwrap());
    let page = client.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("value=\"alice@example.com\""),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("name", "Alice"),
                ("email", "alice@example.com"),
                ("_continue", "1"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), url);
    let fresh = Student::objects()
        .get(Student::ID.eq(alice.id), &db)
        .await
        .unwrap();
    assert_eq!(fresh.name, "Alice");
    let log = AdminLog::objects().all(&db).await.unwrap();
    assert_eq!(log[0].message, "Changed name.");
    assert_eq!(log[0].action, throughline_admin::models::LogAction::Change);
    // The page of a missing row, a key that is not a number: 404.
    assert_eq!(
        client.get("/admin/school/student/999/change/").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.get("/admin/school/student/abc/change/").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client
            .post(
                "/admin/school/student/abc/change/",
                &[("csrf_token", &csrf)]
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// Records the relation hooks that fire for `Course.students`.
fn record_hooks(db: &Database) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    for point in [HookPoint::AfterAdd, HookPoint::AfterRemove] {
        let seen = seen.clone();
        Course::STUDENTS_RELATION
            .on(db, point, move |ctx| {
                let line = format!("{:?} {}", ctx.change.point, ctx.change.targets.len());
                seen.lock().unwrap().push(line);
                Box::pin(async move { Ok(()) })
            })
            .unwrap();
    }
    seen
}

async fn inline_enrollments_add_change_delete_in_one_submit(db: Database) {
    let mut client = logged_in(&db).await;
    let (alice, bob, carol, dave) = (
        student(&db, "alice").await,
        student(&db, "bob").await,
        student(&db, "carol").await,
        student(&db, "dave").await,
    );
    let math = Course {
        id: None,
        title: "Math".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    math.students()
        .add_with([&alice], values("B+"), &db)
        .await
        .unwrap();
    math.students()
        .add_with([&dave], values("C"), &db)
        .await
        .unwrap();
    let seen = record_hooks(&db);
    let url = format!("/admin/school/course/{}/change/", math.id.unwrap());
    let page = client.get(&url).await;
    assert!(
        page.body.contains("id=\"inline-students\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("name=\"students-TOTAL\" value=\"5\""),
        "{}",
        page.body
    );
    let rows = Enrollment::objects()
        .order_by([Enrollment::ID.asc()])
        .all(&db)
        .await
        .unwrap();
    let (alice_row, dave_row) = (
        rows[0].id.unwrap().to_string(),
        rows[1].id.unwrap().to_string(),
    );
    let (a, b, c, d) = (
        alice.id.unwrap().to_string(),
        bob.id.unwrap().to_string(),
        carol.id.unwrap().to_string(),
        dave.id.unwrap().to_string(),
    );
    let csrf = page.csrf();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "Math"),
                ("active", "on"),
                ("students-TOTAL", "5"),
                // alice: grade changed, status completed.
                ("students-0-id", &alice_row),
                ("students-0-target", &a),
                ("students-0-grade", "A"),
                ("students-0-status", "completed"),
                // dave: deleted.
                ("students-1-id", &dave_row),
                ("students-1-target", &d),
                ("students-1-grade", "C"),
                ("students-1-status", "active"),
                ("students-1-DELETE", "on"),
                // bob and carol: new.
                ("students-2-id", ""),
                ("students-2-target", &b),
                ("students-2-grade", "B"),
                ("students-2-status", "active"),
                ("students-3-id", ""),
                ("students-3-target", &c),
                ("students-3-grade", ""),
                ("students-3-status", "dropped"),
                // An empty extra row is skipped.
                ("students-4-id", ""),
                ("students-4-target", ""),
                ("students-4-grade", ""),
                ("students-4-status", "active"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let rows = Enrollment::objects()
        .select_related(Enrollment::STUDENT)
        .order_by([Enrollment::STUDENT.then(Student::NAME).asc()])
        .all(&db)
        .await
        .unwrap();
    let summary: Vec<(String, String, Status)> = rows
        .iter()
        .map(|e| {
            (
                e.student.loaded().unwrap().name.clone(),
                e.grade.clone(),
                e.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("alice".into(), "A".into(), Status::Completed),
            ("bob".into(), "B".into(), Status::Active),
            ("carol".into(), "".into(), Status::Dropped),
        ]
    );
    let hooks = seen.lock().unwrap().clone();
    assert!(hooks.contains(&"AfterRemove 1".to_owned()), "{hooks:?}");
    assert!(hooks.contains(&"AfterAdd 2".to_owned()), "{hooks:?}");
    let list = client.get("/admin/school/course/").await;
    assert!(
        list.body
            .contains("Enrollments: 2 linked; 1 changed; 1 removed."),
        "{}",
        list.body
    );
    let log = AdminLog::objects().all(&db).await.unwrap();
    assert_eq!(
        log[0].message,
        "No fields changed. Enrollments: 2 linked; 1 changed; 1 removed."
    );
}

async fn inline_reports_an_existing_link_in_words(db: Database) {
    let mut client = logged_in(&db).await;
    let bob = student(&db, "bob").await;
    let math = Course {
        id: None,
        title: "Math".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    math.students()
        .add_with([&bob], values("B+"), &db)
        .await
        .unwrap();
    let url = format!("/admin/school/course/{}/change/", math.id.unwrap());
    let csrf = client.get(&url).await.csrf();
    let row = Enrollment::objects().first(&db).await.unwrap().unwrap();
    let b = bob.id.unwrap().to_string();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "Math"),
                ("students-TOTAL", "2"),
                ("students-0-id", &row.id.unwrap().to_string()),
                ("students-0-target", &b),
                ("students-0-grade", "B+"),
                ("students-0-status", "active"),
                ("students-1-id", ""),
                ("students-1-target", &b),
                ("students-1-grade", "A"),
                ("students-1-status", "active"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let list = client.get("/admin/school/course/").await;
    assert!(
        list.body
            .contains("bob already linked, grade differs: stored B+, given A — kept"),
        "{}",
        list.body
    );
    let rows = Enrollment::objects().all(&db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].grade, "B+");
}

async fn inline_error_saves_nothing(db: Database) {
    let mut client = logged_in(&db).await;
    let alice = student(&db, "alice").await;
    let math = Course {
        id: None,
        title: "Math".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    let url = format!("/admin/school/course/{}/change/", math.id.unwrap());
    let csrf = client.get(&url).await.csrf();
    let a = alice.id.unwrap().to_string();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "Renamed"),
                ("students-TOTAL", "2"),
                ("students-0-id", ""),
                ("students-0-target", &a),
                ("students-0-grade", "A"),
                ("students-0-status", "graduated"),
                ("students-1-id", ""),
                ("students-1-target", "9999"),
                ("students-1-grade", "TOO LONG"),
                ("students-1-status", "active"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .body
            .contains("Select a valid choice. graduated is not one of the available choices."),
        "{}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains("Select a valid choice. That choice is not one of the available choices.")
    );
    assert!(
        reply
            .body
            .contains("Ensure this value has at most 2 characters (it has 8).")
    );
    assert_eq!(
        Course::objects()
            .get(Course::ID.eq(math.id), &db)
            .await
            .unwrap()
            .title,
        "Math"
    );
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 0);
    assert_eq!(AdminLog::objects().count(&db).await.unwrap(), 0);
}

async fn inline_keeps_several_rows_per_pair(db: Database) {
    let mut client = logged_in(&db).await;
    let topic = Topic {
        id: None,
        name: "billing".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let system = System {
        id: None,
        name: "erp".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let (chat, mail) = (
        Service {
            id: None,
            name: "chat".into(),
        }
        .create(&db)
        .await
        .unwrap(),
        Service {
            id: None,
            name: "mail".into(),
        }
        .create(&db)
        .await
        .unwrap(),
    );
    let url = format!("/admin/topics/topic/{}/change/", topic.id.unwrap());
    let page = client.get(&url).await;
    assert!(page.body.contains("id=\"inline-systems\""), "{}", page.body);
    let csrf = page.csrf();
    let s = system.id.unwrap().to_string();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("name", "billing"),
                ("systems-TOTAL", "2"),
                ("systems-0-id", ""),
                ("systems-0-target", &s),
                ("systems-0-service", &chat.id.unwrap().to_string()),
                ("systems-1-id", ""),
                ("systems-1-target", &s),
                ("systems-1-service", &mail.id.unwrap().to_string()),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let rows = TopicSystem::objects()
        .order_by([TopicSystem::ID.asc()])
        .all(&db)
        .await
        .unwrap();
    let services: Vec<Value> = rows.iter().map(|r| r.service.key().clone()).collect();
    assert_eq!(
        services,
        vec![Value::I64(chat.id.unwrap()), Value::I64(mail.id.unwrap())]
    );
    let list = client.get("/admin/topics/topic/").await;
    assert!(
        list.body.contains("Topic systems: 2 linked."),
        "{}",
        list.body
    );
    // Both rows of the one pair are shown, each with its service.
    let page = client.get(&url).await;
    assert!(
        page.body.contains("name=\"systems-TOTAL\" value=\"5\""),
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("name=\"systems-0-service\"").count(), 1);
}

async fn hostile_form_data_is_refused(db: Database) {
    let mut client = logged_in(&db).await;
    let alice = student(&db, "alice").await;
    let math = Course {
        id: None,
        title: "Math".into(),
        active: true,
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
    history
        .students()
        .add_with([&alice], values("A"), &db)
        .await
        .unwrap();
    let other_row = Enrollment::objects()
        .first(&db)
        .await
        .unwrap()
        .unwrap()
        .id
        .unwrap()
        .to_string();
    let url = format!("/admin/school/course/{}/change/", math.id.unwrap());
    let csrf = client.get(&url).await.csrf();
    // An unknown field.
    let reply = client
        .post(
            &url,
            &[("csrf_token", &csrf), ("title", "x"), ("is_admin", "1")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // Another course's through row.
    let a = alice.id.unwrap().to_string();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "x"),
                ("students-TOTAL", "1"),
                ("students-0-id", &other_row),
                ("students-0-target", &a),
                ("students-0-grade", "F"),
                ("students-0-status", "active"),
                ("students-0-DELETE", "on"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // A row count that is not a number.
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "x"),
                ("students-TOTAL", "many"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // No CSRF token.
    let reply = client.post(&url, &[("title", "x")]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // HTML and SQL in a value are text, shown escaped.
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "<script>x</script>'; DROP TABLE course; --"),
                ("_continue", "1"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let page = client.get(&url).await;
    assert!(!page.body.contains("<script>x</script>"));
    assert_eq!(Course::objects().count(&db).await.unwrap(), 2);
    // Nothing else changed.
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 1);
    assert_eq!(
        Enrollment::objects()
            .first(&db)
            .await
            .unwrap()
            .unwrap()
            .grade,
        "A"
    );
}

async fn view_only_users_cannot_post(db: Database) {
    let router = site(&db).await;
    clerk(&db, "Student", throughline_admin::auth::Action::View).await;
    let alice = student(&db, "alice").await;
    let mut client = Client::new(router);
    client.login("clerk", PASSWORD).await;
    let url = format!("/admin/school/student/{}/change/", alice.id.unwrap());
    let page = client.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("View student") && !page.body.contains("name=\"name\""),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("name", "mallory"),
                ("email", "m@example.com"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        client.get("/admin/school/student/add/").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        Student::objects()
            .get(Student::ID.eq(alice.id), &db)
            .await
            .unwrap()
            .name,
        "alice"
    );
}

async fn plain_many_to_many_is_a_multi_select(db: Database) {
    let mut client = logged_in(&db).await;
    let mut tags = Vec::new();
    for name in ["algebra", "intro", "<b>hard</b>"] {
        tags.push(
            Tag {
                id: None,
                name: name.into(),
            }
            .create(&db)
            .await
            .unwrap(),
        );
    }
    let key = |t: &Tag| t.id.unwrap().to_string();
    let math = Course {
        id: None,
        title: "Math".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    let url = format!("/admin/school/course/{}/change/", math.id.unwrap());
    let page = client.get(&url).await;
    assert!(
        page.body.contains("name=\"tags\" multiple"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&esc("<b>hard</b>")) && !page.body.contains("<b>hard</b>"));
    let csrf = page.csrf();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "Math"),
                ("tags", &key(&tags[0])),
                ("tags", &key(&tags[1])),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let linked = |db: Database| async move {
        let mut names: Vec<String> = Tag::objects()
            .filter(Tag::COURSES.then(Course::TITLE).eq("Math"))
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        linked(db.clone()).await,
        vec!["algebra".to_owned(), "intro".to_owned()]
    );
    assert!(
        client
            .get("/admin/school/course/")
            .await
            .body
            .contains("Tags: 2 linked.")
    );
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "Math"),
                ("tags", &key(&tags[1])),
                ("tags", &key(&tags[2])),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        client
            .get("/admin/school/course/")
            .await
            .body
            .contains("Tags: 1 linked; 1 removed.")
    );
    assert_eq!(
        linked(db.clone()).await,
        vec!["<b>hard</b>".to_owned(), "intro".to_owned()]
    );
    // A key that is no tag, a key that is not a key: an error beside the field, nothing changed.
    for bad in ["9999", "x"] {
        let reply = client
            .post(
                &url,
                &[("csrf_token", &csrf), ("title", "Renamed"), ("tags", bad)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            reply.body.contains("Select a valid choice."),
            "{}",
            reply.body
        );
    }
    assert_eq!(
        linked(db.clone()).await,
        vec!["<b>hard</b>".to_owned(), "intro".to_owned()]
    );
    assert_eq!(
        Course::objects().first(&db).await.unwrap().unwrap().title,
        "Math"
    );
    // Nothing selected unlinks everything.
    let reply = client
        .post(&url, &[("csrf_token", &csrf), ("title", "Math")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(linked(db.clone()).await.is_empty());
}

async fn many_targets_are_typed_not_dropped(db: Database) {
    let mut client = logged_in(&db).await;
    let tags: Vec<Tag> = (0..501)
        .map(|i| Tag {
            id: None,
            name: format!("tag {i:03}"),
        })
        .collect();
    let tags = Tag::objects()
        .bulk_create(tags, Conflict::Error, &db)
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
    math.tags().add([&tags[3], &tags[400]], &db).await.unwrap();
    let url = format!("/admin/school/course/{}/change/", math.id.unwrap());
    let page = client.get(&url).await;
    let typed = format!(
        "name=\"tags\" value=\"{}, {}\"",
        tags[3].id.unwrap(),
        tags[400].id.unwrap()
    );
    assert!(page.body.contains(&typed), "{}", page.body);
    let csrf = page.csrf();
    let sent = format!("{}, {}", tags[3].id.unwrap(), tags[400].id.unwrap());
    let reply = client
        .post(
            &url,
            &[("csrf_token", &csrf), ("title", "Math"), ("tags", &sent)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(math.tags().count(&db).await.unwrap(), 2);
    let sent = format!("{}", tags[5].id.unwrap());
    client
        .post(
            &url,
            &[("csrf_token", &csrf), ("title", "Math"), ("tags", &sent)],
        )
        .await;
    let linked = math.tags().all(&db).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].name, "tag 005");
}

async fn inline_writes_need_the_through_models_permissions(db: Database) {
    let router = site(&db).await;
    let clerk = clerk(&db, "Course", throughline_admin::auth::Action::Change).await;
    let alice = student(&db, "alice").await;
    let math = Course {
        id: None,
        title: "Math".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    math.students()
        .add_with([&alice], values("B"), &db)
        .await
        .unwrap();
    let row = Enrollment::objects().first(&db).await.unwrap().unwrap();
    let mut client = Client::new(router);
    client.login("clerk", PASSWORD).await;
    let url = format!("/admin/school/course/{}/change/", math.id.unwrap());
    let page = client.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("inline-students"),
        "no Enrollment permission, no inline"
    );
    let csrf = page.csrf();
    let a = alice.id.unwrap().to_string();
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "Math"),
                ("students-TOTAL", "1"),
                ("students-0-id", &row.id.unwrap().to_string()),
                ("students-0-target", &a),
                ("students-0-DELETE", "on"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    // With view and add but not delete: the inline shows, a delete is refused (403).
    grant(
        &db,
        &clerk,
        "Enrollment",
        throughline_admin::auth::Action::Add,
    )
    .await;
    grant(
        &db,
        &clerk,
        "Enrollment",
        throughline_admin::auth::Action::View,
    )
    .await;
    let page = client.get(&url).await;
    assert!(
        page.body.contains("inline-students") && !page.body.contains("students-0-DELETE"),
        "{}",
        page.body
    );
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "Math"),
                ("students-TOTAL", "1"),
                ("students-0-id", &row.id.unwrap().to_string()),
                ("students-0-target", &a),
                ("students-0-grade", "B"),
                ("students-0-status", "active"),
                ("students-0-DELETE", "on"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 1);
    // Changing a grade needs change.
    let reply = client
        .post(
            &url,
            &[
                ("csrf_token", &csrf),
                ("title", "Math"),
                ("students-TOTAL", "1"),
                ("students-0-id", &row.id.unwrap().to_string()),
                ("students-0-target", &a),
                ("students-0-grade", "F"),
                ("students-0-status", "active"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        Enrollment::objects()
            .first(&db)
            .await
            .unwrap()
            .unwrap()
            .grade,
        "B"
    );
    // A NUL character is a form error, never a database error.
    let reply = client
        .post(&url, &[("csrf_token", &csrf), ("title", "a\0b")])
        .await;
    assert!(
        reply.body.contains("Null characters are not allowed."),
        "{}",
        reply.body
    );
}
