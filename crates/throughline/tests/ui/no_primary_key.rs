use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Tag {
    name: String,
}

fn main() {}
