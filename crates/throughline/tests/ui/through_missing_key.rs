use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Student {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, Model)]
struct Teacher {
    id: Option<i64>,
    name: String,
}

// Enrollment has keys to Student and Teacher, none to Course.
#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "students", to = Student, through = Enrollment))]
struct Course {
    id: Option<i64>,
    title: String,
}

#[derive(Debug, Clone, Model)]
struct Enrollment {
    id: Option<i64>,
    #[throughline(related_name = "enrollments")]
    student: ForeignKey<Student>,
    #[throughline(related_name = "enrollments")]
    teacher: ForeignKey<Teacher>,
    grade: String,
}

fn main() {}
