use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Student {
    id: Option<i64>,
    #[throughline(related_name = "students")]
    name: String,
}

fn main() {}
