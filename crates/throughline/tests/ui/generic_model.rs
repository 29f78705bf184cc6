use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Wrapper<T> {
    id: Option<i64>,
    value: T,
}

fn main() {}
