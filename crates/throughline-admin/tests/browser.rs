//! The admin in a real browser: headless Chromium driven through chromedriver
//! (WebDriver, with fantoccini), against the admin served on a local port. A user logs
//! in, opens a course, adds two enrollments inline, changes one's status, saves, sees the
//! outcome message and the rows; then deletes a student and sees the cascade listed.
//! Screenshots of the change list and of the inline form are written to the folder in
//! `THROUGHLINE_SCREENSHOTS` when it is set (the ones in `docs/` come from here).
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs). Without them the test prints `SKIPPED` and passes, except under
//! `CI=true`, where it fails.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../throughline/tests/common/mod.rs"]
mod common;
mod support;

use fantoccini::{ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;
use throughline::prelude::*;

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver, or says why not.
fn start_driver() -> Result<(Driver, u16), String> {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start chromedriver: {e}"))?;
    let driver = Driver(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((driver, port));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("chromedriver did not start listening".into())
}

async fn browser(port: u16) -> fantoccini::Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
            "binary": "/usr/bin/chromium",
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session")
}

/// Serves the admin on a free local port; returns its base URL.
async fn serve(db: &Database) -> String {
    let router = site(db).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(throughline_admin::serve(listener, router));
    format!("http://{address}")
}

/// The element `css` matches, waiting (up to 10 s) for the page that has it to load.
async fn wait_for(client: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    match client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(error) => panic!(
            "{css} did not appear ({error}); the page: {}",
            client.source().await.unwrap_or_default()
        ),
    }
}

async fn screenshot(client: &fantoccini::Client, name: &str) {
    if let Ok(dir) = std::env::var("THROUGHLINE_SCREENSHOTS") {
        let png = client.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

async fn scenario(db: Database, port: u16) {
    let base = serve(&db).await;
    for name in ["alice", "bob", "carol"] {
        Student {
            id: None,
            name: name.into(),
            email: format!("{name}@school.example"),
        }
        .create(&db)
        .await
        .unwrap();
    }
    let math = Course {
        id: None,
        title: "Mathematics".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    Course {
        id: None,
        title: "History".into(),
        active: true,
    }
    .create(&db)
    .await
    .unwrap();
    let alice = Student::objects()
        .get(Student::NAME.eq("alice"), &db)
        .await
        .unwrap();
    math.students()
        .add_with(
            [&alice],
            CourseStudentsValues {
                grade: "B+".into(),
                enrolled_at: None,
                status: None,
            },
            &db,
        )
        .await
        .unwrap();

    let client = browser(port).await;
    // Log in.
    client.goto(&format!("{base}/admin/")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login/")
    );
    client
        .find(Locator::Id("id_username"))
        .await
        .unwrap()
        .send_keys("admin")
        .await
        .unwrap();
    client
        .find(Locator::Id("id_password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&client, "header form.inline").await;
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Site administration");

    // The enrollments' change list.
    client
        .goto(&format!("{base}/admin/school/enrollment/"))
        .await
        .unwrap();
    wait_for(&client, "#result_list").await;
    let rows = client
        .find_all(Locator::Css("#result_list tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    screenshot(&client, "admin-change-list.png").await;

    // Open the course, add bob and carol inline, change alice's status.
    client
        .goto(&format!("{base}/admin/school/course/"))
        .await
        .unwrap();
    client
        .find(Locator::LinkText("Mathematics"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&client, "select[name='students-0-status']").await;
    let select = |name: String| {
        let client = client.clone();
        async move {
            client
                .find(Locator::Css(&format!("select[name='{name}']")))
                .await
                .unwrap()
        }
    };
    select("students-0-status".into())
        .await
        .select_by_label("Completed")
        .await
        .unwrap();
    select("students-1-target".into())
        .await
        .select_by_label("bob")
        .await
        .unwrap();
    client
        .find(Locator::Css("input[name='students-1-grade']"))
        .await
        .unwrap()
        .send_keys("A")
        .await
        .unwrap();
    select("students-2-target".into())
        .await
        .select_by_label("carol")
        .await
        .unwrap();
    select("students-2-status".into())
        .await
        .select_by_label("Dropped")
        .await
        .unwrap();
    screenshot(&client, "admin-inline.png").await;
    client
        .find(Locator::Css("button[name='_continue']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    let message = wait_for(&client, ".message").await.text().await.unwrap();
    assert!(
        message.contains("Enrollments: 2 linked; 1 changed."),
        "{message}"
    );
    let grade = client
        .find(Locator::Css("input[name='students-1-grade']"))
        .await
        .unwrap();
    assert_eq!(grade.prop("value").await.unwrap().as_deref(), Some("A"));
    let status = select("students-0-status".into()).await;
    assert_eq!(
        status.prop("value").await.unwrap().as_deref(),
        Some("completed")
    );
    let stored = Enrollment::objects().count(&db).await.unwrap();
    assert_eq!(stored, 3);

    // Delete bob: the confirmation lists his enrollment.
    let bob = Student::objects()
        .get(Student::NAME.eq("bob"), &db)
        .await
        .unwrap();
    client
        .goto(&format!(
            "{base}/admin/school/student/{}/change/",
            bob.id.unwrap()
        ))
        .await
        .unwrap();
    wait_for(&client, "a.deletelink")
        .await
        .click()
        .await
        .unwrap();
    let summary = wait_for(&client, "ul.summary").await.text().await.unwrap();
    assert!(
        summary.contains("Students: 1") && summary.contains("Enrollments: 1"),
        "{summary}"
    );
    client
        .find(Locator::Css("button[name='post']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let message = wait_for(&client, ".message").await.text().await.unwrap();
    assert!(
        message.contains("The student “bob” was deleted successfully."),
        "{message}"
    );
    assert_eq!(Enrollment::objects().count(&db).await.unwrap(), 2);
    client.close().await.unwrap();
}

#[test]
fn a_user_edits_enrollments_inline_in_chromium() {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let (driver, port) = match start_driver() {
        Ok(started) => started,
        Err(why) if !in_ci => {
            eprintln!("SKIPPED (no browser: {why}): a_user_edits_enrollments_inline_in_chromium");
            return;
        }
        Err(why) => panic!("the browser test cannot run in CI: {why}"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        scenario(common::sqlite().await, port).await;
        if let Some(db) = common::postgres("admin_browser").await {
            scenario(db, port).await;
        }
    });
    drop(driver);
}
