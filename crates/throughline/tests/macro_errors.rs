//! Compile-fail tests of the derive macros and of the typed query API: each case under
//! `tests/ui` makes one mistake, and its `.stderr` holds the error the compiler reports.
#![allow(clippy::unwrap_used, missing_docs)]

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
