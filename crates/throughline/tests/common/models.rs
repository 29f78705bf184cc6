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
#[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
#[throughline(many_to_many(name = "tags", to = Tag, table = "course_tag", related_name = "courses"))]
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
#[throughline(ordering("name"))]
pub struct Tag {
    pub id: Option<i64>,
    #[throughline(max_length = 50, unique)]
    pub name: String,
}

// Seed 000: a topic linked to systems through a service, with no pair constraint.
#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "systems", to = System, through = TopicSystem, related_name = "topics"))]
#[throughline(many_to_many(name = "routes", to = System, through = Route, related_name = "routed_topics"))]
pub struct Topic {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
pub struct System {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
pub struct Service {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
pub struct TopicSystem {
    pub id: Option<i64>,
    #[throughline(related_name = "+")]
    pub topic: ForeignKey<Topic>,
    #[throughline(related_name = "+")]
    pub system: ForeignKey<System>,
    #[throughline(related_name = "+")]
    pub service: ForeignKey<Service>,
}

// Seed 000 with a wider link key: a link is (topic, system, service).
#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "unique_route", fields("topic", "system", "service")))]
pub struct Route {
    pub id: Option<i64>,
    #[throughline(related_name = "+")]
    pub topic: ForeignKey<Topic>,
    #[throughline(related_name = "+")]
    pub system: ForeignKey<System>,
    #[throughline(related_name = "+")]
    pub service: ForeignKey<Service>,
    #[throughline(default = 1)]
    pub priority: i32,
}

static TICKETS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);

/// A default function with a visible effect: each call returns a new number.
pub fn next_ticket() -> i64 {
    TICKETS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

// Self-referential: symmetrical friendships with a date, non-symmetrical follows, and a
// membership with a second key to the same model (through_fields).
#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "friends", to = Self, through = Friendship, through_fields("person", "friend")))]
#[throughline(many_to_many(name = "following", to = Self, symmetrical = false, related_name = "followers"))]
pub struct Person {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "unique_friendship", fields("person", "friend")))]
pub struct Friendship {
    pub id: Option<i64>,
    #[throughline(related_name = "+")]
    pub person: ForeignKey<Person>,
    #[throughline(related_name = "+")]
    pub friend: ForeignKey<Person>,
    pub befriended: chrono::NaiveDate,
}

#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "members", to = Person, through = Membership, through_fields("team", "member"), related_name = "teams"))]
pub struct Team {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "unique_membership", fields("team", "member")))]
pub struct Membership {
    pub id: Option<i64>,
    #[throughline(related_name = "+")]
    pub team: ForeignKey<Team>,
    #[throughline(related_name = "memberships")]
    pub member: ForeignKey<Person>,
    #[throughline(related_name = "invitations")]
    pub inviter: Option<ForeignKey<Person>>,
    #[throughline(max_length = 20, default = "member")]
    pub role: String,
    #[throughline(default_fn = next_ticket)]
    pub ticket: i64,
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
        .register(Country::meta())
        .register(Tag::meta())
        .register(Topic::meta())
        .register(System::meta())
        .register(Service::meta())
        .register(TopicSystem::meta())
        .register(Route::meta())
        .register(Person::meta())
        .register(Friendship::meta())
        .register(Team::meta())
        .register(Membership::meta());
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
