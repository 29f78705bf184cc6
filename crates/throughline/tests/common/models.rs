//! The models of the tests: seed 002's school (students, courses, enrollments with a
//! status choice and a grade), and a library for on-delete behaviour.
#![allow(dead_code, missing_docs)]

use chrono::{DateTime, Utc};
use throughline::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, throughline::Choices)]
pub enum Status {
    #[default]
    Active,
    Completed,
    Dropped,
}

#[derive(Debug, Clone, Model)]
#[throughline(ordering("name"))]
pub struct Student {
    pub id: Option<i64>,
    #[throughline(max_length = 100)]
    pub name: String,
    #[throughline(max_length = 200, unique)]
    pub email: String,
    pub age: Option<i32>,
}

#[derive(Debug, Clone, Model)]
pub struct Course {
    pub id: Option<i64>,
    #[throughline(max_length = 200)]
    pub title: String,
    #[throughline(default = true)]
    pub open: bool,
}

#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "unique_student_course", fields("student", "course")))]
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
pub struct Author {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
pub struct Book {
    pub id: Option<i64>,
    #[throughline(on_delete = "protect")]
    pub author: ForeignKey<Author>,
    #[throughline(on_delete = "set_null", related_name = "edited_books")]
    pub editor: Option<ForeignKey<Author>>,
    pub title: String,
    pub meta: serde_json::Value,
    pub code: uuid::Uuid,
    #[throughline(auto_now)]
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone, Model)]
pub struct Country {
    #[throughline(primary_key, max_length = 2)]
    pub code: String,
    pub name: String,
}

pub fn registry() -> throughline::Registry {
    let mut r = throughline::Registry::new();
    r.register(Student::meta())
        .register(Course::meta())
        .register(Enrollment::meta())
        .register(Author::meta())
        .register(Book::meta())
        .register(Country::meta());
    r
}

pub fn student(name: &str) -> Student {
    Student {
        id: None,
        name: name.to_owned(),
        email: format!("{name}@example.com"),
        age: None,
    }
}

pub fn enrollment(student: &Student, course: &Course, grade: &str) -> Enrollment {
    Enrollment {
        id: None,
        student: ForeignKey::to(student),
        course: ForeignKey::to(course),
        enrolled_at: Utc::now(),
        grade: grade.to_owned(),
        status: Status::Active,
    }
}
