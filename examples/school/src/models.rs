//! The school's models (seed 002): students, courses, and enrollments — a through-shaped
//! model with two foreign keys and extra fields (when, grade, status). The many-to-many
//! accessor `course.students()` arrives with the next issue; today the enrollment rows are
//! written and read directly.

use chrono::{DateTime, Utc};
use throughline::prelude::*;

/// An enrollment's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, throughline::Choices)]
pub enum Status {
    /// Taking the course.
    #[default]
    Active,
    /// Finished it.
    Completed,
    /// Left it.
    Dropped,
}

/// A student.
#[derive(Debug, Clone, Model)]
#[throughline(ordering("name"))]
pub struct Student {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Full name.
    #[throughline(max_length = 200)]
    pub name: String,
    /// Unique e-mail address.
    #[throughline(max_length = 254, unique)]
    pub email: String,
}

/// A course.
#[derive(Debug, Clone, Model)]
#[throughline(ordering("title"))]
pub struct Course {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Title.
    #[throughline(max_length = 200)]
    pub title: String,
}

/// A student's enrollment in a course, with its own data.
#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "unique_student_course", fields("student", "course")))]
pub struct Enrollment {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Who.
    #[throughline(related_name = "enrollments")]
    pub student: ForeignKey<Student>,
    /// In what.
    #[throughline(related_name = "enrollments")]
    pub course: ForeignKey<Course>,
    /// When, set on creation.
    #[throughline(auto_now_add)]
    pub enrolled_at: DateTime<Utc>,
    /// Grade so far (may be blank).
    #[throughline(max_length = 2, blank)]
    pub grade: String,
    /// State.
    pub status: Status,
}

/// The application's models.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(Student::meta())
        .register(Course::meta())
        .register(Enrollment::meta());
    registry
}
