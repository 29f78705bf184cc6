//! Owns the state every request shares ([`Site`]): the registry, the database, the
//! configuration, the templates and the login limiter; and how a model is found from a
//! URL (`/{app}/{model}/`) and named back into one.

use crate::config::AdminConfig;
use crate::throttle::Throttle;
use std::sync::Arc;
use throughline::{Database, ModelMeta, Registry};

/// What the handlers share; built once by [`crate::router`].
pub struct Site {
    /// The application's models (the admin's own are not listed).
    pub registry: Registry,
    /// The database the admin reads and writes.
    pub db: Database,
    /// The configuration.
    pub config: AdminConfig,
    /// The page templates.
    pub templates: minijinja::Environment<'static>,
    /// Failed logins per user name and address.
    pub throttle: Throttle,
}

/// The shared state, as handlers receive it.
pub type SiteRef = Arc<Site>;

/// The URL segment of a model's app: its `app` in lowercase, or `models` for a model
/// without one.
pub fn app_segment(meta: &ModelMeta) -> String {
    if meta.app.is_empty() {
        "models".to_owned()
    } else {
        meta.app.to_lowercase()
    }
}

/// The URL segment of a model: its name in lowercase (`TopicSystem` → `topicsystem`).
pub fn model_segment(meta: &ModelMeta) -> String {
    meta.name.to_lowercase()
}

impl Site {
    /// The registered model whose URL segments are `app` and `model`.
    pub fn find_model(&self, app: &str, model: &str) -> Option<&'static ModelMeta> {
        self.registry
            .models()
            .iter()
            .copied()
            .find(|m| app_segment(m) == app && model_segment(m) == model)
    }

    /// The URL of a model's change list.
    pub fn changelist_url(&self, meta: &ModelMeta) -> String {
        format!(
            "{}/{}/{}/",
            self.config.prefix,
            app_segment(meta),
            model_segment(meta)
        )
    }

    /// The URL of an object's page under its model (`change/`, `delete/`, `history/`).
    pub fn object_url(&self, meta: &ModelMeta, key: &str, page: &str) -> String {
        format!(
            "{}{}/{page}/",
            self.changelist_url(meta),
            crate::fields::url_encode(key)
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments() {
        let mut m = throughline::ModelMeta::new("TopicSystem", "topic_system", vec![]);
        assert_eq!(super::app_segment(&m), "models");
        assert_eq!(super::model_segment(&m), "topicsystem");
        m.app = "Topics".into();
        assert_eq!(super::app_segment(&m), "topics");
    }
}
