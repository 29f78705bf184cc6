//! The blog part of the example (seed 004): articles and tags, whose plain many-to-many
//! relation became a through model that records who tagged an article and when. Its schema
//! is managed by the migrations in `examples/school/migrations/` (see `bin/manage.rs`).

use chrono::{DateTime, Utc};
use throughline::prelude::*;

/// An article.
#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "tags", to = Tag, through = ArticleTag, related_name = "articles"))]
pub struct Article {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Title.
    pub title: String,
}

/// A tag.
#[derive(Debug, Clone, Model)]
pub struct Tag {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// Name.
    #[throughline(max_length = 50)]
    pub name: String,
}

/// The tagging of an article: once the implicit junction table `article_tag`, now a model
/// on the same table with two new fields.
#[derive(Debug, Clone, Model)]
#[throughline(
    table = "article_tag",
    unique(name = "article_tag_article_tag_uniq", fields("article", "tag"))
)]
pub struct ArticleTag {
    /// Auto-increment key.
    pub id: Option<i64>,
    /// The article.
    #[throughline(related_name = "+")]
    pub article: ForeignKey<Article>,
    /// The tag.
    #[throughline(related_name = "+")]
    pub tag: ForeignKey<Tag>,
    /// Who tagged it (unknown for the tags that predate the field).
    #[throughline(max_length = 100)]
    pub tagged_by: Option<String>,
    /// When (the migration's time for the tags that predate the field).
    #[throughline(auto_now_add)]
    pub tagged_at: DateTime<Utc>,
}

/// The blog's models.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(Article::meta())
        .register(Tag::meta())
        .register(ArticleTag::meta());
    registry
}

/// The blog's migrations, compiled into the binary (so `manage migrate` works from any
/// directory, and a deployed binary needs no folder beside it).
pub static MIGRATIONS: throughline::migrations::EmbeddedMigrations =
    throughline::embed_migrations!("migrations");

/// The folder of the blog's migrations (where `makemigrations` writes).
pub fn migrations_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
}
