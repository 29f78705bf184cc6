//! The example's models: seed 002's school (students, courses, and enrollments — a through
//! model with extra fields: when, grade, status) and seed 000's topics linked to systems
//! through a service (a through model with a third key and no pair constraint).

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
#[throughline(ordering("name"), display("name"))]
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

/// A course; its students are linked through enrollments.
#[derive(Debug, Clone, Model)]
#[throughline(ordering("title"), display("title"))]
#[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
pub struct Course {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Title.
    #[throughline(max_length = 200)]
    pub title: String,
    /// The course's fee: an exact decimal, two places.
    #[throughline(max_digits = 8, decimal_places = 2)]
    pub fee: Decimal,
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

/// A chat topic (seed 000), linked to systems through the service that connects them.
#[derive(Debug, Clone, Model)]
#[throughline(display("name"))]
#[throughline(many_to_many(name = "systems", to = System, through = TopicSystem, related_name = "topics"))]
pub struct Topic {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Name.
    pub name: String,
}

/// A system.
#[derive(Debug, Clone, Model)]
#[throughline(display("name"))]
pub struct System {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Name.
    pub name: String,
}

/// A service of the catalogue.
#[derive(Debug, Clone, Model)]
#[throughline(display("name"))]
pub struct Service {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Name.
    pub name: String,
}

/// The link of a topic and a system, through a service; no unique pair, on purpose.
#[derive(Debug, Clone, Model)]
pub struct TopicSystem {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The topic.
    #[throughline(related_name = "+")]
    pub topic: ForeignKey<Topic>,
    /// The system.
    #[throughline(related_name = "+")]
    pub system: ForeignKey<System>,
    /// The service connecting them.
    #[throughline(related_name = "+")]
    pub service: ForeignKey<Service>,
}

/// The application's models.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(Student::meta())
        .register(Course::meta())
        .register(Enrollment::meta())
        .register(Topic::meta())
        .register(System::meta())
        .register(Service::meta())
        .register(TopicSystem::meta());
    registry
}
