use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Country {
    id: Option<i64>,
    #[throughline(maxlength = 3)]
    code: String,
}

fn main() {}
