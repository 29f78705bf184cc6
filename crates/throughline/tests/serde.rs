//! serde (issue 18): seed 002's through model, with its two foreign keys, a datetime and a
//! choice, derives `Serialize`/`Deserialize`: a foreign key is its key, a choice its
//! stored value; a row read from each backend round-trips through JSON, and bad JSON is
//! a clear error.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use throughline::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, throughline::Choices)]
pub enum Status {
    #[default]
    Active,
    Completed,
}

#[derive(Debug, Clone, Model, Serialize, Deserialize)]
pub struct Student {
    pub id: Option<i64>,
    #[throughline(max_length = 100)]
    pub name: String,
}

#[derive(Debug, Clone, Model, Serialize, Deserialize)]
#[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
pub struct Course {
    pub id: Option<i64>,
    pub title: String,
}

#[derive(Debug, Clone, Model, Serialize, Deserialize)]
#[throughline(unique(name = "unique_student_course", fields("student", "course")))]
pub struct Enrollment {
    pub id: Option<i64>,
    #[throughline(related_name = "enrollments")]
    pub student: ForeignKey<Student>,
    #[throughline(related_name = "enrollments")]
    pub course: ForeignKey<Course>,
    pub enrolled_at: DateTime<Utc>,
    #[throughline(max_length = 2)]
    pub grade: String,
    pub status: Status,
}

backend_tests!(through_rows_round_trip_through_json);

async fn through_rows_round_trip_through_json(db: Database) {
    let mut registry = Registry::new();
    registry
        .register(Student::meta())
        .register(Course::meta())
        .register(Enrollment::meta());
    throughline::create_tables(&db, &registry).await.unwrap();
    let ann = Student {
        id: None,
        name: "Ann".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let math = Course {
        id: None,
        title: "Math".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let at = DateTime::parse_from_rfc3339("2025-06-11T14:30:00.123456Z")
        .unwrap()
        .with_timezone(&Utc);
    Enrollment {
        id: None,
        student: ForeignKey::to(&ann),
        course: ForeignKey::to(&math),
        enrolled_at: at,
        grade: "A".into(),
        status: Status::Completed,
    }
    .create(&db)
    .await
    .unwrap();
    let read = Enrollment::objects().first(&db).await.unwrap().unwrap();
    let json = serde_json::to_value(&read).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "id": read.id, "student": ann.id, "course": math.id,
            "enrolled_at": "2025-06-11T14:30:00.123456Z", "grade": "A", "status": "completed"
        })
    );
    let back: Enrollment = serde_json::from_value(json).unwrap();
    assert_eq!(back.student.key(), read.student.key());
    assert_eq!(back.course.key(), read.course.key());
    assert_eq!((back.enrolled_at, back.status), (at, Status::Completed));
    // A deserialized row saves like any other: a second enrollment of Ann, in another course.
    let art = Course {
        id: None,
        title: "Art".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let mut copy: Enrollment = serde_json::from_value(serde_json::json!({
        "id": null, "student": ann.id, "course": art.id,
        "enrolled_at": "2025-06-12T09:00:00Z", "grade": "B", "status": "active"
    }))
    .unwrap();
    copy.save(&db).await.unwrap();
    assert_eq!(art.students().count(&db).await.unwrap(), 1);
    // Bad input is an error naming what is wrong.
    let bad_choice = serde_json::from_value::<Enrollment>(serde_json::json!({
        "id": null, "student": 1, "course": 1,
        "enrolled_at": "2025-06-12T09:00:00Z", "grade": "B", "status": "lost"
    }))
    .unwrap_err();
    assert!(
        bad_choice.to_string().contains("not a choice"),
        "{bad_choice}"
    );
    let bad_key = serde_json::from_value::<Enrollment>(serde_json::json!({
        "id": null, "student": "one", "course": 1,
        "enrolled_at": "2025-06-12T09:00:00Z", "grade": "B", "status": "active"
    }))
    .unwrap_err();
    assert!(
        bad_key.to_string().contains("a key of Student"),
        "{bad_key}"
    );
}
