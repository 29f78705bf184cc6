//! Owns the names the macros derive from the user's names: `snake_case` table and field
//! names, `CamelCase` item names, the default reverse accessor, the generated reverse
//! trait's name, and the type-level [`key_type`] naming a foreign-key field.

use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::Ident;

/// `CourseTag` → `course_tag` (the same rule as throughline-core's).
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            if i > 0 && chars[i - 1].is_lowercase() {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// `course_tags` → `CourseTags`.
pub(crate) fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// The reverse accessor of a relation declared on `model_name` without a `related_name`:
/// `enrollment_set` (as Django).
pub(crate) fn default_reverse_accessor(model_name: &str) -> String {
    format!("{}_set", snake_case(model_name))
}

/// The extension trait carrying the reverse side of the relation `relation` (a foreign-key
/// field or a many-to-many name) declared on `model`: `Enrollment` + `student` →
/// `EnrollmentStudentReverse`, `Course` + `students` → `CourseStudentsReverse`.
pub(crate) fn reverse_trait(model: &Ident, relation: &str) -> Ident {
    format_ident!("{}{}Reverse", model, camel(relation))
}

/// The model generated for the implicit many-to-many `relation` of `model`:
/// `Course` + `tags` → `CourseTags`.
pub(crate) fn implicit_through(model: &Ident, relation: &str) -> Ident {
    format_ident!("{}{}", model, camel(relation))
}

/// FNV-1a, the same hash as `throughline::through::field_key`.
fn field_key(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The type naming the foreign-key field `field` of a through model:
/// `throughline::__private::FieldKey<hash>`.
pub(crate) fn key_type(field: &str) -> Tokens {
    let hash = field_key(field);
    quote!(::throughline::__private::FieldKey<#hash>)
}

/// The type naming a relation's pair of keys, `(source, target)`.
pub(crate) fn key_pair(source: &str, target: &str) -> Tokens {
    let a = key_type(source);
    let b = key_type(target);
    quote!((#a, #b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake_case("CourseTag"), "course_tag");
        assert_eq!(snake_case("HTTPLog"), "httplog");
        assert_eq!(camel("course_tags"), "CourseTags");
        assert_eq!(default_reverse_accessor("CourseTag"), "course_tag_set");
        let model = format_ident!("Enrollment");
        assert_eq!(
            reverse_trait(&model, "student").to_string(),
            "EnrollmentStudentReverse"
        );
        // The same hash as throughline::through::field_key (checked there by a doctest).
        assert_eq!(field_key(""), 0xcbf2_9ce4_8422_2325);
    }
}
