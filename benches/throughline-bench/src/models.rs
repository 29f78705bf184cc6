//! The benchmark's models: seed 002's school reduced to what SPEC §6 measures. A `Course`
//! has `students` through `Enrollment`, which carries a `grade` and a unique
//! (student, course) constraint. The grade has a default (`""`, as Django's blank
//! `CharField`), so W3 can use plain `add()`; W1 and W2 pass a grade with `add_with` and
//! `set_with`.

use throughline::prelude::*;

/// A student (the relation's target).
#[derive(Debug, Clone, Model)]
pub struct Student {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Full name.
    #[throughline(max_length = 100)]
    pub name: String,
    /// E-mail address.
    #[throughline(max_length = 200)]
    pub email: String,
}

/// A course (the relation's source).
#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
pub struct Course {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Title.
    #[throughline(max_length = 200)]
    pub title: String,
}

/// A student's enrollment in a course.
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
    /// The grade; blank by default.
    #[throughline(max_length = 2, default = "")]
    pub grade: String,
}

/// The registry of the three models.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(Student::meta())
        .register(Course::meta())
        .register(Enrollment::meta());
    registry
}

/// An unsaved student, numbered.
pub fn student(i: usize) -> Student {
    Student {
        id: None,
        name: format!("student {i:06}"),
        email: format!("student{i:06}@example.com"),
    }
}

/// An unsaved course.
pub fn course(title: &str) -> Course {
    Course {
        id: None,
        title: title.to_owned(),
    }
}
