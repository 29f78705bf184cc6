//! The admin over HTTP, on SQLite and PostgreSQL: login, sessions, CSRF, the login
//! limiter, the index and change lists (columns, search, filters, sorting, pages), escaped
//! output and the security headers. Requests go to the router in process (tower's
//! `oneshot`), cookies kept by the test client.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../throughline/tests/common/mod.rs"]
mod common;
mod support;

use axum::http::StatusCode;
use support::*;
use throughline::prelude::*;

backend_tests!(
    pages_need_a_login,
    login_checks_password_and_csrf,
    failed_logins_are_limited,
    parallel_guesses_are_limited_too,
    logout_needs_the_csrf_token,
    index_groups_models_by_app,
    change_list_escapes_and_links,
    change_list_pages_sorts_searches_filters,
    hostile_query_strings_are_refused,
    staff_permissions_are_checked,
    password_change,
);

async fn pages_need_a_login(db: Database) {
    let mut client = Client::new(site(&db).await);
    let reply = client.get("/admin/").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/admin/login/?next=%2Fadmin%2F");
    let reply = client.get("/admin/school/student/").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let reply = client.post("/admin/logout/", &[("csrf_token", "x")]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // A forged cookie is no session.
    client
        .cookies
        .insert("tl_admin_session".into(), "forged".into());
    assert_eq!(client.get("/admin/").await.status, StatusCode::SEE_OTHER);
    // The login page and the stylesheet are open.
    assert_eq!(client.get("/admin/login/").await.status, StatusCode::OK);
    assert_eq!(
        client.get("/admin/static/admin.css").await.status,
        StatusCode::OK
    );
}

async fn login_checks_password_and_csrf(db: Database) {
    let mut client = Client::new(site(&db).await);
    let form = client.get("/admin/login/").await;
    let csrf = form.csrf();
    let cookie = form
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // A wrong password: the form again, no session.
    let reply = client
        .post(
            "/admin/login/",
            &[
                ("csrf_token", &csrf),
                ("username", "admin"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .body
            .contains("Please enter the correct user name and password")
    );
    assert!(!client.cookies.contains_key("tl_admin_session"));
    // The right password without the CSRF token: 403.
    let reply = client
        .post(
            "/admin/login/",
            &[("username", "admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(!client.cookies.contains_key("tl_admin_session"));
    // A `next` outside the admin is ignored.
    let csrf = client.get("/admin/login/").await.csrf();
    let reply = client
        .post(
            "/admin/login/",
            &[
                ("csrf_token", &csrf),
                ("username", "admin"),
                ("password", PASSWORD),
                ("next", "//evil.example/admin/"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/admin/");
    let session = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tl_admin_session="))
        .unwrap_or("")
        .to_owned();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/admin"),
        "{session}"
    );
    assert_eq!(client.get("/admin/").await.status, StatusCode::OK);
    // The database holds the token's hash, never the token.
    let token = client.cookies["tl_admin_session"].clone();
    let stored = throughline_admin::models::AdminSession::objects()
        .all(&db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].token_hash, token);
    assert_eq!(
        stored[0].token_hash,
        throughline_admin::token::hashed(&token)
    );
}

async fn failed_logins_are_limited(db: Database) {
    let mut client = Client::new(site(&db).await);
    let mut csrf = client.get("/admin/login/").await.csrf();
    for _ in 0..10 {
        let reply = client
            .post(
                "/admin/login/",
                &[
                    ("csrf_token", &csrf),
                    ("username", "admin"),
                    ("password", "guess guess"),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        csrf = reply.csrf();
    }
    // The eleventh attempt in the minute is refused, even with the right password.
    let reply = client
        .post(
            "/admin/login/",
            &[
                ("csrf_token", &csrf),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!client.cookies.contains_key("tl_admin_session"));
}

async fn parallel_guesses_are_limited_too(db: Database) {
    let mut client = Client::new(site(&db).await);
    let csrf = client.get("/admin/login/").await.csrf();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let mut client = client.clone();
        let csrf = csrf.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(
                    "/admin/login/",
                    &[
                        ("csrf_token", &csrf),
                        ("username", "admin"),
                        ("password", "guess guess"),
                    ],
                )
                .await
                .status
        }));
    }
    let mut checked = 0;
    for task in tasks {
        if task.await.unwrap() == StatusCode::OK {
            checked += 1;
        }
    }
    assert_eq!(checked, 10, "only ten guesses a minute are checked");
}

async fn logout_needs_the_csrf_token(db: Database) {
    let mut client = logged_in(&db).await;
    let reply = client
        .post("/admin/logout/", &[("csrf_token", "wrong")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(client.get("/admin/").await.status, StatusCode::OK);
    let reply = client.post("/admin/logout/", &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let csrf = client.session_csrf().await;
    let reply = client
        .post("/admin/logout/", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(client.get("/admin/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        throughline_admin::models::AdminSession::objects()
            .count(&db)
            .await
            .unwrap(),
        0
    );
}

async fn index_groups_models_by_app(db: Database) {
    let mut client = logged_in(&db).await;
    let reply = client.get("/admin/").await;
    assert_eq!(reply.status, StatusCode::OK);
    for expected in [
        "<h2>School</h2>",
        "<h2>Topics</h2>",
        "href=\"&#x2f;admin&#x2f;school&#x2f;student&#x2f;\"",
        "Students",
        "Enrollments",
        "Topic systems",
    ] {
        assert!(
            reply.body.contains(expected),
            "{expected} missing from {}",
            reply.body
        );
    }
    let csp = reply
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert!(!reply.body.contains("<script"));
    assert_eq!(reply.headers.get("x-frame-options").unwrap(), "DENY");
}

async fn change_list_escapes_and_links(db: Database) {
    let mut client = logged_in(&db).await;
    let hostile = Student {
        id: None,
        name: "<script>alert(1)</script>".into(),
        email: "x@example.com\"><b>".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let reply = client.get("/admin/school/student/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.body.contains("<script>alert(1)</script>"));
    assert!(
        reply.body.contains(&esc("<script>alert(1)</script>")),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("\"><b>"));
    let link = format!("/admin/school/student/{}/change/", hostile.id.unwrap());
    assert!(reply.body.contains(&esc(&link)), "{}", reply.body);
    assert!(reply.body.contains("1 student"));
    // A foreign-key column shows the related row's display string.
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
            [&hostile],
            CourseStudentsValues {
                grade: "B+".into(),
                enrolled_at: None,
                status: None,
            },
            &db,
        )
        .await
        .unwrap();
    let reply = client.get("/admin/school/enrollment/").await;
    assert!(reply.body.contains("<td>Math</td>"), "{}", reply.body);
    assert!(reply.body.contains("<td>B+</td>"));
    assert!(reply.body.contains("<td>Active</td>"));
    // Unknown models are 404.
    assert_eq!(
        client.get("/admin/school/nothing/").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.get("/admin/admin/adminuser/").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn change_list_pages_sorts_searches_filters(db: Database) {
    let mut client = logged_in(&db).await;
    let students: Vec<Student> = (0..250)
        .map(|i| Student {
            id: None,
            name: format!("student {i:03}"),
            email: format!("s{i}@example.com"),
        })
        .collect();
    Student::objects()
        .bulk_create(students, Conflict::Error, &db)
        .await
        .unwrap();
    let page1 = client.get("/admin/school/student/").await;
    assert!(page1.body.contains("250 students"));
    assert_eq!(page1.body.matches("change&#x2f;\"").count(), 100);
    assert!(page1.body.contains(">student 000<") && !page1.body.contains(">student 100<"));
    let page3 = client.get("/admin/school/student/?p=3").await;
    assert_eq!(page3.body.matches("change&#x2f;\"").count(), 50);
    assert!(page3.body.contains(">student 249<"));
    assert_eq!(
        client.get("/admin/school/student/?p=4").await.status,
        StatusCode::NOT_FOUND
    );
    // Sorting by a column, descending.
    let sorted = client.get("/admin/school/student/?o=-name").await;
    let first = sorted.body.find(">student 249<").unwrap();
    let later = sorted.body.find(">student 200<").unwrap();
    assert!(first < later);
    // Search: every word somewhere, case-insensitively (024, 124, 224, 240 to 249).
    let found = client.get("/admin/school/student/?q=STUDENT+24").await;
    assert!(
        found.body.contains("13 students matching"),
        "{}",
        found.body
    );
    let found = client.get("/admin/school/student/?q=s7%40example").await;
    assert!(found.body.contains("1 student matching"));
    // Filters: a boolean, a choice, a foreign key.
    Course {
        id: None,
        title: "Old".into(),
        active: false,
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
    let active = client.get("/admin/school/course/?f.active=on").await;
    assert!(active.body.contains("1 course matching") && active.body.contains(">Math<"));
    let all = Student::objects().limit(3).all(&db).await.unwrap();
    math.students()
        .add_with(
            &all,
            CourseStudentsValues {
                grade: "A".into(),
                enrolled_at: None,
                status: None,
            },
            &db,
        )
        .await
        .unwrap();
    let by_course = client
        .get(&format!(
            "/admin/school/enrollment/?f.course={}",
            math.id.unwrap()
        ))
        .await;
    assert!(
        by_course.body.contains("3 enrollments matching"),
        "{}",
        by_course.body
    );
    let dropped = client
        .get("/admin/school/enrollment/?f.status=dropped")
        .await;
    assert!(
        dropped.body.contains("0 enrollments matching"),
        "{}",
        dropped.body
    );
    let today = client
        .get("/admin/school/enrollment/?f.enrolled_at=today")
        .await;
    assert!(today.body.contains("3 enrollments matching"));
}

async fn hostile_query_strings_are_refused(db: Database) {
    let mut client = logged_in(&db).await;
    Student {
        id: None,
        name: "alice".into(),
        email: "a@example.com".into(),
    }
    .create(&db)
    .await
    .unwrap();
    for (path, status) in [
        ("/admin/school/student/?p=abc", StatusCode::BAD_REQUEST),
        ("/admin/school/student/?p=0", StatusCode::BAD_REQUEST),
        ("/admin/school/student/?o=password", StatusCode::BAD_REQUEST),
        (
            "/admin/school/student/?f.name=alice",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/admin/school/enrollment/?f.course=1%20OR%201%3D1",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/admin/school/enrollment/?f.status=nope",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/admin/school/enrollment/?f.enrolled_at=yesterday",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        assert_eq!(client.get(path).await.status, status, "{path}");
    }
    // SQL in the search box is text to look for.
    let reply = client
        .get("/admin/school/student/?q=%27%3B%20DROP%20TABLE%20student%3B%20--")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("0 students matching"));
    assert_eq!(Student::objects().count(&db).await.unwrap(), 1);
}

async fn staff_permissions_are_checked(db: Database) {
    let router = site(&db).await;
    clerk(&db, "Student", throughline_admin::auth::Action::View).await;
    let mut client = Client::new(router);
    client.login("clerk", PASSWORD).await;
    let index = client.get("/admin/").await;
    assert!(index.body.contains(&esc("/admin/school/student/")));
    assert!(!index.body.contains(&esc("/admin/school/course/")));
    assert!(!index.body.contains(&esc("/admin/school/student/add/")));
    assert_eq!(
        client.get("/admin/school/student/").await.status,
        StatusCode::OK
    );
    assert_eq!(
        client.get("/admin/school/course/").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn password_change(db: Database) {
    let mut client = logged_in(&db).await;
    let csrf = client.session_csrf().await;
    let reply = client
        .post(
            "/admin/password_change/",
            &[
                ("csrf_token", &csrf),
                ("old_password", "not it"),
                ("new_password1", "a new passphrase"),
                ("new_password2", "a new passphrase"),
            ],
        )
        .await;
    assert!(
        reply
            .body
            .contains("Your old password was entered incorrectly")
    );
    let reply = client
        .post(
            "/admin/password_change/",
            &[
                ("csrf_token", &csrf),
                ("old_password", PASSWORD),
                ("new_password1", "short"),
                ("new_password2", "short"),
            ],
        )
        .await;
    assert!(reply.body.contains("too short"), "{}", reply.body);
    let reply = client
        .post(
            "/admin/password_change/",
            &[
                ("csrf_token", &csrf),
                ("old_password", PASSWORD),
                ("new_password1", "a new passphrase"),
                ("new_password2", "a new passphrase"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let index = client.get("/admin/").await;
    assert!(index.body.contains("Your password was changed."));
    let mut other = Client::new(client.router.clone());
    other.login("admin", "a new passphrase").await;
}
