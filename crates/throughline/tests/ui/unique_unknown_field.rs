use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "unique_name_code", fields("name", "code")))]
struct Country {
    id: Option<i64>,
    name: String,
}

fn main() {}
