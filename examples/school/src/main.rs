//! The throughline example application: a school on an embedded SQLite file, walking
//! through the core ORM — models, filters, relations in both directions, select_related,
//! prefetch, typed errors and transactions — and printing what happened as tables.

mod models;

use chrono::Utc;
use models::{Course, Enrollment, Status, Student, registry};
use throughline::prelude::*;
use throughline::{Error, FieldValue};

/// Prints a titled table with aligned columns.
fn table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("  | {} |", padded.join(" | "));
    };
    println!("\n== {title}");
    line(header.iter().map(|h| (*h).to_owned()).collect());
    println!(
        "  |{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        line(row.clone());
    }
    if rows.is_empty() {
        println!("  (no rows)");
    }
}

async fn enroll(
    db: &Database,
    student: &Student,
    course: &Course,
    grade: &str,
) -> throughline::Result<Enrollment> {
    Enrollment {
        id: None,
        student: ForeignKey::to(student),
        course: ForeignKey::to(course),
        enrolled_at: Utc::now(),
        grade: grade.to_owned(),
        status: Status::Active,
    }
    .create(db)
    .await
}

#[tokio::main]
async fn main() -> throughline::Result<()> {
    let dir = std::env::temp_dir().join("throughline-school");
    std::fs::create_dir_all(&dir).map_err(|e| Error::Config(e.to_string()))?;
    let path = dir.join("school.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let url = format!("sqlite://{}?mode=rwc", path.display());
    println!("throughline school example — database: {url}");
    let db = Database::connect(&url).await?;
    let registry = registry();
    for problem in registry.check() {
        println!("check: {problem}");
    }
    throughline::create_tables(&db, &registry).await?;

    let mut people = Vec::new();
    for name in ["alice", "bob", "carol"] {
        people.push(
            Student {
                id: None,
                name: name.to_owned(),
                email: format!("{name}@school.example"),
            }
            .create(&db)
            .await?,
        );
    }
    let math = Course {
        id: None,
        title: "Mathematics".into(),
    }
    .create(&db)
    .await?;
    let art = Course {
        id: None,
        title: "Art".into(),
    }
    .create(&db)
    .await?;
    let (alice, bob, carol) = (&people[0], &people[1], &people[2]);
    enroll(&db, alice, &math, "B+").await?;
    enroll(&db, bob, &math, "C").await?;
    enroll(&db, alice, &art, "A").await?;
    enroll(&db, carol, &art, "").await?;

    // select_related: every enrollment with its student and course, in one query.
    let counting = Counting::new(&db);
    let rows = Enrollment::objects()
        .select_related(Enrollment::STUDENT)
        .select_related(Enrollment::COURSE)
        .order_by([
            Enrollment::COURSE.then(Course::TITLE).asc(),
            Enrollment::STUDENT.then(Student::NAME).asc(),
        ])
        .all(&counting)
        .await?;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            vec![
                e.course
                    .loaded()
                    .map(|c| c.title.clone())
                    .unwrap_or_default(),
                e.student
                    .loaded()
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                if e.grade.is_empty() {
                    "(blank)".to_owned()
                } else {
                    e.grade.clone()
                },
                e.status.to_value().display(),
                e.enrolled_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    table(
        &format!(
            "Enrollments with student and course ({} query)",
            counting.count()
        ),
        &["course", "student", "grade", "status", "enrolled at"],
        &cells,
    );

    // Filters across the relation, both directions.
    let in_math = Student::objects()
        .filter(
            Student::ENROLLMENTS
                .join(Enrollment::COURSE)
                .then(Course::TITLE)
                .eq("Mathematics"),
        )
        .values_list(Student::NAME, &db)
        .await?;
    let with_a = Course::objects()
        .filter(Course::ENROLLMENTS.then(Enrollment::GRADE).eq("A"))
        .values_list(Course::TITLE, &db)
        .await?;
    let of_alice = Enrollment::objects()
        .filter(Enrollment::STUDENT.then(Student::NAME).eq("alice"))
        .count(&db)
        .await?;
    table(
        "Filters across the relation",
        &["question", "answer"],
        &[
            vec![
                "students enrolled in Mathematics".into(),
                in_math.join(", "),
            ],
            vec!["courses where someone has an A".into(), with_a.join(", ")],
            vec![
                "enrollments whose student is alice".into(),
                of_alice.to_string(),
            ],
        ],
    );

    // Prefetch: every course's enrollments in one extra query.
    let counting = Counting::new(&db);
    let courses = Course::objects().all(&counting).await?;
    let per_course = Course::ENROLLMENTS.prefetch(&courses, &counting).await?;
    let cells: Vec<Vec<String>> = courses
        .iter()
        .zip(&per_course)
        .map(|(c, es)| {
            vec![
                c.title.clone(),
                es.len().to_string(),
                es.iter()
                    .map(|e| e.grade.clone())
                    .filter(|g| !g.is_empty())
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    table(
        &format!("Prefetched enrollments ({} queries)", counting.count()),
        &["course", "enrollments", "grades"],
        &cells,
    );

    // Enrolling twice is refused by the pair constraint, with its name, and changes nothing.
    let outcome = match enroll(&db, alice, &math, "A").await {
        Err(e @ Error::Integrity { .. }) => format!(
            "refused: {} constraint `{}`",
            "unique",
            e.constraint().unwrap_or("?")
        ),
        Err(e) => format!("error: {e}"),
        Ok(_) => "inserted (unexpected)".to_owned(),
    };
    // A value that does not fit is refused before any SQL is sent.
    let too_long = match enroll(&db, bob, &art, "A+++").await {
        Err(e) => e.to_string(),
        Ok(_) => "inserted (unexpected)".to_owned(),
    };
    // A transaction dropped without commit leaves nothing behind.
    {
        let tx = db.begin().await?;
        Student {
            id: None,
            name: "dave".into(),
            email: "dave@school.example".into(),
        }
        .create(&tx)
        .await?;
    }
    let dave = Student::objects()
        .filter(Student::NAME.eq("dave"))
        .exists(&db)
        .await?;
    table(
        "What throughline refuses",
        &["attempt", "result"],
        &[
            vec!["enroll alice in Mathematics again".into(), outcome],
            vec!["grade \"A+++\" (max 2 characters)".into(), too_long],
            vec![
                "create dave in a dropped transaction".into(),
                format!("dave exists afterwards: {dave}"),
            ],
        ],
    );

    // Queryset update, then deleting a student cascades to the enrollments.
    let graded = Enrollment::objects()
        .filter(Enrollment::GRADE.eq(""))
        .update(
            vec![
                Enrollment::GRADE.set("I"),
                Enrollment::STATUS.set(Status::Completed),
            ],
            &db,
        )
        .await?;
    bob.delete(&db).await?;
    let left = Enrollment::objects().count(&db).await?;
    table(
        "Writes",
        &["operation", "result"],
        &[
            vec![
                "blank grades set to \"I\" (one UPDATE)".into(),
                format!("{graded} row(s)"),
            ],
            vec![
                "delete bob (ON DELETE CASCADE)".into(),
                format!("{left} enrollments left"),
            ],
        ],
    );
    println!(
        "\nThe many-to-many accessor (course.students().add(...)) comes with the next release."
    );
    Ok(())
}
