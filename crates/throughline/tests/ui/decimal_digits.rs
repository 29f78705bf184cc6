use throughline::prelude::*;

// A decimal field needs its digits, as Django's DecimalField.
#[derive(Debug, Clone, Model)]
pub struct Invoice {
    pub id: Option<i64>,
    pub total: Decimal,
}

// Digits apply to decimal fields only.
#[derive(Debug, Clone, Model)]
pub struct Counter {
    pub id: Option<i64>,
    #[throughline(max_digits = 5, decimal_places = 2)]
    pub hits: i32,
}

// rust_decimal holds 28 digits.
#[derive(Debug, Clone, Model)]
pub struct Ledger {
    pub id: Option<i64>,
    #[throughline(max_digits = 30, decimal_places = 2)]
    pub balance: Decimal,
}

fn main() {}
