use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Author {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, Model)]
struct Book {
    id: Option<i64>,
    #[throughline(on_delete = "set_null")]
    author: ForeignKey<Author>,
}

fn main() {}
