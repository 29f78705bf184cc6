use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Car {
    id: Option<i64>,
    #[throughline(unique)]
    make: String,
}

#[derive(Debug, Clone, Model)]
struct Sale {
    id: Option<i64>,
    #[throughline(to_field = "maker")]
    car: ForeignKey<Car>,
}

fn main() {}
