//! Owns the page templates: minijinja (runtime templates, compiled into the binary with
//! `include_str!`), with HTML auto-escaping on for every template, so every value a page
//! shows is escaped unless a template says otherwise (none does).

use minijinja::{AutoEscape, Environment};

/// The templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("index.html", include_str!("../templates/index.html")),
    (
        "change_list.html",
        include_str!("../templates/change_list.html"),
    ),
    (
        "change_form.html",
        include_str!("../templates/change_form.html"),
    ),
    (
        "delete_confirmation.html",
        include_str!("../templates/delete_confirmation.html"),
    ),
    ("history.html", include_str!("../templates/history.html")),
    (
        "password_change.html",
        include_str!("../templates/password_change.html"),
    ),
];

/// The admin's stylesheet, served at `{prefix}/static/admin.css`.
pub const STYLESHEET: &str = include_str!("../templates/admin.css");

/// The environment holding every page template, HTML-escaping everything.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    #[test]
    fn everything_is_escaped() -> Result<(), minijinja::Error> {
        let env = super::environment()?;
        let html = env.render_str("{{ x }}", minijinja::context! { x => "<script>" })?;
        assert_eq!(html, "&lt;script&gt;");
        Ok(())
    }
}
