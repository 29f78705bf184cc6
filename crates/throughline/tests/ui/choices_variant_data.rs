use throughline::prelude::*;

#[derive(Debug, Clone, Choices)]
enum Status {
    Active,
    Dropped(String),
}

fn main() {}
