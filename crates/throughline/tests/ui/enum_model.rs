use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
enum Shape {
    Circle,
    Square,
}

fn main() {}
