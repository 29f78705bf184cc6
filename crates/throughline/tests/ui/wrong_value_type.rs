use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Student {
    id: Option<i64>,
    name: String,
}

fn main() {
    let _ = Student::objects().filter(Student::NAME.eq(5));
}
