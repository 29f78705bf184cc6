//! Test support for the admin: seed 002's school and seed 000's topics as models, a
//! database per test on each backend (throughline's own test harness), and an HTTP client
//! that keeps cookies and sends requests to the admin's router without a socket.
#![allow(dead_code, missing_docs)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use throughline::prelude::*;
use throughline_admin::{AdminConfig, ModelAdmin};
use tower::ServiceExt;

/// An enrollment's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, throughline::Choices)]
pub enum Status {
    #[default]
    Active,
    Completed,
    Dropped,
}

#[derive(Debug, Clone, Model)]
#[throughline(ordering("name"), display("name"), app = "school")]
pub struct Student {
    pub id: Option<i64>,
    #[throughline(max_length = 100)]
    pub name: String,
    #[throughline(max_length = 200, unique)]
    pub email: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(ordering("title"), display("title"), app = "school")]
#[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
#[throughline(many_to_many(name = "tags", to = Tag, related_name = "courses"))]
pub struct Course {
    pub id: Option<i64>,
    #[throughline(max_length = 200)]
    pub title: String,
    pub active: bool,
}

#[derive(Debug, Clone, Model)]
#[throughline(
    app = "school",
    unique(name = "unique_student_course", fields("student", "course"))
)]
pub struct Enrollment {
    pub id: Option<i64>,
    #[throughline(related_name = "enrollments")]
    pub student: ForeignKey<Student>,
    #[throughline(related_name = "enrollments")]
    pub course: ForeignKey<Course>,
    #[throughline(auto_now_add)]
    pub enrolled_at: DateTime<Utc>,
    #[throughline(max_length = 2, blank)]
    pub grade: String,
    pub status: Status,
}

#[derive(Debug, Clone, Model)]
#[throughline(display("name"), app = "topics")]
#[throughline(many_to_many(name = "systems", to = System, through = TopicSystem, related_name = "topics"))]
pub struct Topic {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(display("name"), app = "topics")]
pub struct System {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(display("name"), app = "topics")]
pub struct Service {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(app = "topics")]
pub struct TopicSystem {
    pub id: Option<i64>,
    #[throughline(related_name = "+")]
    pub topic: ForeignKey<Topic>,
    #[throughline(related_name = "+")]
    pub system: ForeignKey<System>,
    #[throughline(related_name = "+")]
    pub service: ForeignKey<Service>,
}

#[derive(Debug, Clone, Model)]
#[throughline(display("name"), app = "library")]
pub struct Author {
    pub id: Option<i64>,
    pub name: String,
}

/// A book: its author cannot be deleted while it exists; its editor may be (the book
/// keeps no editor).
#[derive(Debug, Clone, Model)]
#[throughline(display("title"), app = "library")]
pub struct Book {
    pub id: Option<i64>,
    pub title: String,
    #[throughline(on_delete = "protect", related_name = "books")]
    pub author: ForeignKey<Author>,
    #[throughline(on_delete = "set_null", related_name = "edited_books")]
    pub editor: Option<ForeignKey<Author>>,
}

#[derive(Debug, Clone, Model)]
#[throughline(ordering("name"), display("name"), app = "school")]
pub struct Tag {
    pub id: Option<i64>,
    #[throughline(max_length = 50, unique)]
    pub name: String,
}

/// Django's `to_field` test models: the through model's keys refer to `Car.make` and
/// `Driver.name`, and a sale's to the make.
#[derive(Debug, Clone, Model)]
#[throughline(display("make"), app = "garage")]
#[throughline(many_to_many(name = "drivers", to = Driver, through = CarDriver, related_name = "cars"))]
pub struct Car {
    pub id: Option<i64>,
    #[throughline(max_length = 20, unique)]
    pub make: Option<String>,
}

#[derive(Debug, Clone, Model)]
#[throughline(display("name"), app = "garage")]
pub struct Driver {
    pub id: Option<i64>,
    #[throughline(max_length = 20, unique)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Model)]
#[throughline(
    app = "garage",
    unique(name = "car_driver_pair", fields("car", "driver"))
)]
pub struct CarDriver {
    pub id: Option<i64>,
    #[throughline(to_field = "make", related_name = "car_drivers")]
    pub car: ForeignKey<Car>,
    #[throughline(to_field = "name", related_name = "car_drivers")]
    pub driver: ForeignKey<Driver>,
    #[throughline(max_length = 10, blank)]
    pub role: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(app = "garage")]
pub struct Sale {
    pub id: Option<i64>,
    #[throughline(to_field = "make", related_name = "sales")]
    pub car: ForeignKey<Car>,
    pub amount: i64,
}

pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(Student::meta())
        .register(Course::meta())
        .register(Enrollment::meta())
        .register(Tag::meta())
        .register(Topic::meta())
        .register(System::meta())
        .register(Service::meta())
        .register(TopicSystem::meta())
        .register(Author::meta())
        .register(Book::meta())
        .register(Car::meta())
        .register(Driver::meta())
        .register(CarDriver::meta())
        .register(Sale::meta());
    registry
}

/// The admin settings the tests use.
pub fn config() -> AdminConfig {
    AdminConfig::default()
        .model(
            "Enrollment",
            ModelAdmin::default()
                .list_display(["student", "course", "grade", "status", "enrolled_at"])
                .list_filter(["status", "course", "enrolled_at"])
                .search_fields(["grade"]),
        )
        .model(
            "Student",
            ModelAdmin::default()
                .list_display(["name", "email"])
                .search_fields(["name", "email"]),
        )
        .model(
            "Course",
            ModelAdmin::default()
                .list_display(["title", "active"])
                .list_filter(["active"]),
        )
}

/// The password every test user has.
pub const PASSWORD: &str = "correct horse battery";

/// The school's and the admin's tables, a superuser `admin`, and the admin's router.
pub async fn site(db: &Database) -> Router {
    throughline_admin::install(db).await.expect("admin tables");
    throughline::create_tables(db, &registry())
        .await
        .expect("school tables");
    throughline_admin::auth::create_user(
        db,
        "admin",
        PASSWORD,
        throughline_admin::auth::Role::Superuser,
    )
    .await
    .expect("superuser");
    throughline_admin::router(registry(), db.clone(), config()).expect("admin router")
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the first `name="csrf_token"` input.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker).expect("a csrf_token field") + marker.len();
        let end = self.body[start..].find('"').expect("end of the token") + start;
        self.body[start..end].to_owned()
    }
}

/// A browser without a socket: keeps cookies between requests.
#[derive(Clone)]
pub struct Client {
    pub router: Router,
    pub cookies: HashMap<String, String>,
}

impl Client {
    pub fn new(router: Router) -> Client {
        Client {
            router,
            cookies: HashMap::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let request = self
            .request("GET", path)
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(form).expect("form");
        let request = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(request).await
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut builder = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let cookie: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            builder = builder.header(header::COOKIE, cookie.join("; "));
        }
        builder
    }

    async fn send(&mut self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().expect("ascii cookie");
            let pair = text.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if text.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
        }
    }

    /// Logs in as `username`, asserting it worked.
    pub async fn login(&mut self, username: &str, password: &str) {
        let form = self.get("/admin/login/").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        let reply = self
            .post(
                "/admin/login/",
                &[
                    ("csrf_token", &csrf),
                    ("username", username),
                    ("password", password),
                    ("next", "/admin/"),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        assert_eq!(reply.location(), "/admin/");
        assert!(self.cookies.contains_key("tl_admin_session"));
    }

    /// The CSRF token of the session (read from the index page).
    pub async fn session_csrf(&mut self) -> String {
        self.get("/admin/").await.csrf()
    }
}

/// A staff user `clerk` (password [`PASSWORD`]) with the permission to `action` on
/// `model`.
pub async fn clerk(
    db: &Database,
    model: &str,
    action: throughline_admin::auth::Action,
) -> throughline_admin::models::AdminUser {
    let clerk = throughline_admin::auth::create_user(
        db,
        "clerk",
        PASSWORD,
        throughline_admin::auth::Role::Staff,
    )
    .await
    .expect("staff user");
    grant(db, &clerk, model, action).await;
    clerk
}

/// Grants `user` the permission to `action` on `model`.
pub async fn grant(
    db: &Database,
    user: &throughline_admin::models::AdminUser,
    model: &str,
    action: throughline_admin::auth::Action,
) {
    throughline_admin::auth::grant(db, user, model, action)
        .await
        .expect("grant");
}

/// A client logged in as the superuser.
pub async fn logged_in(db: &Database) -> Client {
    let mut client = Client::new(site(db).await);
    client.login("admin", PASSWORD).await;
    client
}

/// `text` as the templates escape it (minijinja's HTML escaping: `& < > " ' /`).
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}
