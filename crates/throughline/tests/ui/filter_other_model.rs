use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Student {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, Model)]
struct Course {
    id: Option<i64>,
    title: String,
}

fn main() {
    let _ = Student::objects().filter(Course::TITLE.eq("x"));
}
