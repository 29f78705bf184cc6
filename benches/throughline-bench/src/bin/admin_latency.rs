//! `admin-latency`: the web admin's latency over the loopback, beside Django's admin on
//! the same data (issue 15). Two pages: the enrollments' change list (page 1 of 10,000
//! rows; student and course columns read through joins) and a course's change page with
//! its 50 enrollments inline. Each is requested sequentially after a warm-up, over a new
//! connection each time (as a browser's first visit), logged in; the table shows the
//! median and 90th percentile, and with `--django` Django's and the ratio.
//!
//! ```text
//! cargo run --release -p throughline-bench --bin admin-latency -- [--requests 50] [--django]
//! ```
//!
//! `--django` runs `python3 benches/django/admin_site.py` (Django 5.2 with its admin,
//! `runserver`, DEBUG off) on its own SQLite file with the same rows. Both databases are
//! SQLite files in WAL mode at synchronous=FULL, in a temporary folder.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use throughline::prelude::*;
use throughline_admin::{AdminConfig, ModelAdmin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ROWS: usize = 10_000;
const PER_COURSE: usize = 50;
const USER: &str = "bench";
const PASSWORD: &str = "bench-password";

/// An enrollment's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, throughline::Choices)]
enum Status {
    #[default]
    Active,
    Completed,
    Dropped,
}

#[derive(Debug, Clone, Model)]
#[throughline(app = "bench", display("name"), ordering("name"))]
struct Student {
    id: Option<i64>,
    #[throughline(max_length = 100)]
    name: String,
    #[throughline(max_length = 200, unique)]
    email: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(app = "bench", display("title"), ordering("title"))]
#[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
struct Course {
    id: Option<i64>,
    #[throughline(max_length = 200)]
    title: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(
    app = "bench",
    unique(name = "unique_student_course", fields("student", "course"))
)]
struct Enrollment {
    id: Option<i64>,
    #[throughline(related_name = "enrollments")]
    student: ForeignKey<Student>,
    #[throughline(related_name = "enrollments")]
    course: ForeignKey<Course>,
    #[throughline(auto_now_add)]
    enrolled_at: chrono::DateTime<chrono::Utc>,
    #[throughline(max_length = 2, blank)]
    grade: String,
    status: Status,
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(Student::meta())
        .register(Course::meta())
        .register(Enrollment::meta());
    registry
}

/// The same settings as the Django side's `ModelAdmin`s.
fn config() -> AdminConfig {
    AdminConfig::default()
        .model(
            "Enrollment",
            ModelAdmin::default()
                .list_display(["student", "course", "grade", "status", "enrolled_at"])
                .list_filter(["status", "enrolled_at"])
                .search_fields(["grade"]),
        )
        .model("Course", ModelAdmin::default().list_display(["title"]))
        .model(
            "Student",
            ModelAdmin::default()
                .list_display(["name", "email"])
                .search_fields(["name", "email"]),
        )
}

/// One HTTP/1.1 response.
struct Reply {
    status: u16,
    cookies: Vec<(String, String)>,
    body: String,
}

/// Sends one request on a new connection (`Connection: close`) and reads the response.
async fn request(
    port: u16,
    method: &str,
    path: &str,
    cookies: &[(String, String)],
    form: Option<&str>,
) -> Result<Reply, BoxError> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if !cookies.is_empty() {
        let pairs: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        head.push_str(&format!("Cookie: {}\r\n", pairs.join("; ")));
    }
    if let Some(body) = form {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nReferer: http://127.0.0.1:{port}{path}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if let Some(body) = form {
        stream.write_all(body.as_bytes()).await?;
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (headers, body) = text
        .split_once("\r\n\r\n")
        .ok_or("a response without headers")?;
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("a response without a status")?;
    let cookies = headers
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            if !name.eq_ignore_ascii_case("set-cookie") {
                return None;
            }
            let pair = value.trim().split(';').next()?;
            let (k, v) = pair.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect();
    // A chunked body is measured whole; its chunk sizes do not matter for the checks.
    Ok(Reply {
        status,
        cookies,
        body: body.to_owned(),
    })
}

/// The value of the first `name="{field}" value="..."` input.
fn hidden(body: &str, field: &str) -> Result<String, BoxError> {
    let marker = format!("name=\"{field}\" value=\"");
    let start = body
        .find(&marker)
        .ok_or_else(|| format!("no {field} field"))?
        + marker.len();
    let end = body[start..].find('"').ok_or("an unterminated value")? + start;
    Ok(body[start..end].to_owned())
}

fn merge(cookies: &mut Vec<(String, String)>, new: Vec<(String, String)>) {
    for (k, v) in new {
        cookies.retain(|(name, _)| *name != k);
        cookies.push((k, v));
    }
}

/// Logs in through a login form (`token_field` is the form's CSRF field); returns the
/// session's cookies.
async fn login(port: u16, token_field: &str) -> Result<Vec<(String, String)>, BoxError> {
    let form = request(port, "GET", "/admin/login/", &[], None).await?;
    let mut cookies = form.cookies.clone();
    let token = hidden(&form.body, token_field)?;
    let body =
        format!("{token_field}={token}&username={USER}&password={PASSWORD}&next=%2Fadmin%2F");
    let reply = request(port, "POST", "/admin/login/", &cookies, Some(&body)).await?;
    if reply.status != 302 && reply.status != 303 {
        return Err(format!("login failed with {}: {}", reply.status, reply.body).into());
    }
    merge(&mut cookies, reply.cookies);
    Ok(cookies)
}

/// Median and 90th percentile of `requests` GETs of `path`, after 5 warm-ups; checks the
/// page with `check`.
async fn measure(
    port: u16,
    cookies: &[(String, String)],
    path: &str,
    requests: usize,
    check: impl Fn(&str) -> bool,
) -> Result<(Duration, Duration, usize), BoxError> {
    let mut size = 0;
    for _ in 0..5 {
        let reply = request(port, "GET", path, cookies, None).await?;
        if reply.status != 200 || !check(&reply.body) {
            return Err(format!("{path} answered {} with an unexpected page", reply.status).into());
        }
        size = reply.body.len();
    }
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let reply = request(port, "GET", path, cookies, None).await?;
        times.push(started.elapsed());
        if reply.status != 200 {
            return Err(format!("{path} answered {}", reply.status).into());
        }
    }
    times.sort();
    let p90 = times[(times.len() * 9 / 10).min(times.len() - 1)];
    Ok((times[times.len() / 2], p90, size))
}

/// Builds throughline's side and serves it; returns the port.
async fn throughline_side(dir: &std::path::Path) -> Result<u16, BoxError> {
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.join("throughline-admin.db").display()
    );
    let db = Database::connect(&url).await?;
    throughline::create_tables(&db, &registry()).await?;
    throughline_admin::install(&db).await?;
    let students: Vec<Student> = (0..ROWS)
        .map(|i| Student {
            id: None,
            name: format!("student {i:06}"),
            email: format!("student{i:06}@example.com"),
        })
        .collect();
    let students = Student::objects()
        .bulk_create(students, Conflict::Error, &db)
        .await?;
    let courses: Vec<Course> = (0..ROWS / PER_COURSE)
        .map(|i| Course {
            id: None,
            title: format!("course {i:04}"),
        })
        .collect();
    let courses = Course::objects()
        .bulk_create(courses, Conflict::Error, &db)
        .await?;
    let now = chrono::Utc::now();
    let enrollments: Vec<Enrollment> = students
        .iter()
        .enumerate()
        .map(|(i, s)| Enrollment {
            id: None,
            student: ForeignKey::to(s),
            course: ForeignKey::to(&courses[i / PER_COURSE]),
            enrolled_at: now,
            grade: "B".into(),
            status: Status::Active,
        })
        .collect();
    Enrollment::objects()
        .bulk_create(enrollments, Conflict::Error, &db)
        .await?;
    throughline_admin::auth::create_user(
        &db,
        USER,
        PASSWORD,
        throughline_admin::auth::Role::Superuser,
    )
    .await
    .map_err(|e| e.to_string())?;
    let router = throughline_admin::router(registry(), db, config())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(throughline_admin::serve(listener, router));
    Ok(port)
}

/// Django's admin, stopped when dropped.
struct Django(Child);

impl Drop for Django {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Django's side and waits for it (its data takes a few seconds to create).
async fn django_side(dir: &std::path::Path) -> Result<(Django, u16), BoxError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let child = Command::new("python3")
        .current_dir(&root)
        .arg("benches/django/admin_site.py")
        .arg("--db")
        .arg(dir.join("django-admin.db"))
        .arg("--port")
        .arg(port.to_string())
        .stdout(Stdio::null())
        // runserver logs every request on stderr.
        .stderr(Stdio::null())
        .spawn()?;
    let django = Django(child);
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok((django, port));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err("Django's admin did not start within 120 s".into())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn run(requests: usize, with_django: bool) -> Result<(), BoxError> {
    let dir =
        std::env::temp_dir().join(format!("throughline-admin-latency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    println!(
        "admin-latency: {ROWS} enrollments, {PER_COURSE} per course; {requests} sequential requests per page after 5 warm-ups, a new connection each"
    );
    let ours = throughline_side(&dir).await?;
    let ours_cookies = login(ours, "csrf_token").await?;
    let list = "/admin/bench/enrollment/";
    let change = "/admin/bench/course/1/change/";
    let ours_list = measure(ours, &ours_cookies, list, requests, |b| {
        b.matches("change&#x2f;\"").count() == 100
    })
    .await?;
    let ours_change = measure(ours, &ours_cookies, change, requests, |b| {
        b.contains("name=\"students-49-id\"")
    })
    .await?;
    let mut rows = vec![
        ("change list, page 1 of 10,000", ours_list, None),
        ("change page, 50 inline rows", ours_change, None),
    ];
    let _django = if with_django {
        let (django, port) = django_side(&dir).await?;
        let cookies = login(port, "csrfmiddlewaretoken").await?;
        let theirs_list = measure(port, &cookies, list, requests, |b| {
            b.contains("10000 enrollments")
        })
        .await?;
        let theirs_change = measure(port, &cookies, change, requests, |b| {
            b.contains("enrollments-49-id")
        })
        .await?;
        rows[0].2 = Some(theirs_list);
        rows[1].2 = Some(theirs_change);
        Some(django)
    } else {
        None
    };
    println!(
        "\n| page | throughline median | p90 | page size | Django median | p90 | page size | Django / throughline |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, (median, p90, size), theirs) in &rows {
        let (d_median, d_p90, d_size, ratio) = match theirs {
            Some((m, p, s)) => (
                ms(*m),
                ms(*p),
                format!("{} kB", s / 1000),
                format!("{:.1}×", m.as_secs_f64() / median.as_secs_f64()),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {name} | {} | {} | {} kB | {d_median} | {d_p90} | {d_size} | {ratio} |",
            ms(*median),
            ms(*p90),
            size / 1000
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn main() {
    let mut requests = 50;
    let mut with_django = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--requests" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => requests = n,
                _ => {
                    eprintln!("--requests needs a positive number");
                    std::process::exit(2);
                }
            },
            "--django" => with_django = true,
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: admin-latency [--requests N] [--django]"
                );
                std::process::exit(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            std::process::exit(1);
        }
    };
    if let Err(error) = runtime.block_on(run(requests, with_django)) {
        eprintln!("admin-latency failed: {error}");
        std::process::exit(1);
    }
}
