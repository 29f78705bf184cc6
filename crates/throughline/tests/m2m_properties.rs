//! Property test of the many-to-many relation manager (SPEC §3): random sequences of writes
//! on seed 002's Course.students through Enrollment, from both sides (`course.students()`
//! and `student.courses()`), checked after every step against an in-memory model of the
//! SPEC semantics, on SQLite and PostgreSQL.
//!
//! The model is a map (course, student) -> grade:
//! - `add`/`add_with`/`add_each` insert the missing pairs and keep the rows (and grades) of
//!   pairs already linked, unless `OnExisting::Update`, which overwrites their grade;
//! - `set` keeps the rows of pairs that stay, deletes the others and inserts the new ones
//!   with the given grade; `clear_and_set` recreates every row with the given grade;
//! - `remove` deletes the given pairs, `clear` every row of the source.
//!
//! The same sequences run on two schemas: seed 002's models with integer keys, and the same
//! models with UUID primary keys (stored as 32-hex text on SQLite, `uuid` on PostgreSQL), so
//! that every relation write is checked with keys that are not integers.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

/// Seed 002's models, integer keys.
mod integer_keys {
    use super::common;
    use super::common::models::{
        Course, CourseStudentsReverse, CourseStudentsValues, Enrollment, Student, student,
    };
    use proptest::prelude::*;
    use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
    use std::collections::{BTreeMap, HashMap, HashSet};
    use throughline::prelude::*;
    use throughline::{OnExisting, Value};

    const KEYS: &str = "int";

    fn new_course(i: usize) -> Course {
        Course {
            id: None,
            title: format!("course{i}"),
            open: true,
        }
    }

    fn new_student(i: usize) -> Student {
        student(&format!("s{i}"))
    }

    async fn tables(db: &Database) {
        common::with_tables(db).await;
    }

    include!("m2m_properties/body.rs");
}

/// The same models with UUID primary keys.
mod uuid_keys {
    use super::common;
    use super::common::models::Status;
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;
    use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
    use std::collections::{BTreeMap, HashMap, HashSet};
    use throughline::prelude::*;
    use throughline::{OnExisting, Value};
    use uuid::Uuid;

    const KEYS: &str = "uuid";

    #[derive(Debug, Clone, Model)]
    #[throughline(table = "ucourse")]
    #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
    pub struct Course {
        #[throughline(primary_key)]
        pub id: Uuid,
        pub title: String,
        pub open: bool,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(table = "ustudent")]
    pub struct Student {
        #[throughline(primary_key)]
        pub id: Uuid,
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(table = "uenrollment")]
    #[throughline(unique(name = "uenrollment_pair", fields("student", "course")))]
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

    fn new_course(i: usize) -> Course {
        Course {
            id: Uuid::new_v4(),
            title: format!("course{i}"),
            open: true,
        }
    }

    fn new_student(i: usize) -> Student {
        Student {
            id: Uuid::new_v4(),
            name: format!("s{i}"),
        }
    }

    async fn tables(db: &Database) {
        let mut registry = throughline::Registry::new();
        registry
            .register(Course::meta())
            .register(Student::meta())
            .register(Enrollment::meta());
        throughline::create_tables(db, &registry).await.unwrap();
    }

    include!("m2m_properties/body.rs");
}
