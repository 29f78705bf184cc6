//! Owns the expansion snapshots of `#[derive(Model)]`: each test parses a model as a user
//! writes it, runs the derive's `expand` on it, and compares the pretty-printed output with
//! the snapshot in `src/snapshots/` (review a change with `cargo insta review`, or accept it
//! with `INSTA_UPDATE=always`). The compiled behaviour of the same code is tested in the
//! `throughline` crate; these show what the macro writes.

#![allow(clippy::unwrap_used)]

use syn::DeriveInput;

/// The derive's output for `input`, formatted as a file.
fn expand(input: DeriveInput) -> String {
    let tokens = crate::model::expand(&input).unwrap();
    let file: syn::File = syn::parse2(tokens).unwrap();
    prettyplease::unparse(&file)
}

#[test]
fn plain_model() {
    let input = syn::parse_quote! {
        #[derive(Debug, Clone, Model)]
        #[throughline(ordering("name"))]
        pub struct Student {
            pub id: Option<i64>,
            #[throughline(max_length = 100)]
            pub name: String,
            #[throughline(max_length = 200, unique)]
            pub email: String,
            pub age: Option<i32>,
        }
    };
    insta::assert_snapshot!(expand(input));
}

#[test]
fn through_model_with_unique_pair_and_defaults() {
    let input = syn::parse_quote! {
        #[derive(Debug, Clone, Model)]
        #[throughline(unique(name = "unique_student_course", fields("student", "course")))]
        pub struct Enrollment {
            pub id: Option<i64>,
            #[throughline(related_name = "enrollments")]
            pub student: ForeignKey<Student>,
            #[throughline(related_name = "enrollments", on_delete = "protect")]
            pub course: ForeignKey<Course>,
            #[throughline(auto_now_add)]
            pub enrolled_at: DateTime<Utc>,
            #[throughline(max_length = 2, default = "")]
            pub grade: String,
            pub status: Status,
        }
    };
    insta::assert_snapshot!(expand(input));
}

#[test]
fn many_to_many_through_a_model() {
    let input = syn::parse_quote! {
        #[derive(Debug, Clone, Model)]
        #[throughline(many_to_many(name = "students", to = Student, through = Enrollment, related_name = "courses"))]
        pub struct Course {
            pub id: Option<i64>,
            pub title: String,
        }
    };
    insta::assert_snapshot!(expand(input));
}

#[test]
fn self_referential_many_to_many() {
    let input = syn::parse_quote! {
        #[derive(Debug, Clone, Model)]
        #[throughline(many_to_many(name = "friends", to = Self))]
        #[throughline(many_to_many(name = "follows", to = Person, symmetrical = false, related_name = "followers"))]
        pub struct Person {
            pub id: Option<i64>,
            pub name: String,
        }
    };
    insta::assert_snapshot!(expand(input));
}
