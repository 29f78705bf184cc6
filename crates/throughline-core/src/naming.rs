//! Owns the naming rules shared by the macro and the core: default table names,
//! reverse accessor names.

/// `CourseTag` → `course_tag`.
///
/// ```
/// assert_eq!(throughline_core::naming::snake_case("CourseTag"), "course_tag");
/// assert_eq!(throughline_core::naming::snake_case("HTTPLog"), "httplog");
/// ```
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && chars[i - 1].is_lowercase();
            if prev_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// The default reverse accessor of a foreign key on `model`: `<model>_set`.
///
/// ```
/// assert_eq!(throughline_core::naming::default_related_name("Enrollment"), "enrollment_set");
/// ```
pub fn default_related_name(model: &str) -> String {
    format!("{}_set", snake_case(model))
}
