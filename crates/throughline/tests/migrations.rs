//! Migrations on SQLite and PostgreSQL: seed 004 end to end (an implicit many-to-many
//! becoming an explicit through model on the same table, then gaining fields, with every
//! existing row kept), SQLite rebuilds that do not cascade, atomic failure, history checks,
//! backwards migration.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::PathBuf;
use throughline::migrations::{self, Hints, Migration, Operation, ProjectState};
use throughline::prelude::*;
use throughline::{Backend, Registry};

/// Version 1: articles and tags with a plain (implicit) relation on table `article_tag`.
mod v1 {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    #[throughline(many_to_many(name = "tags", to = Tag, table = "article_tag", related_name = "articles"))]
    pub struct Article {
        pub id: Option<i64>,
        pub title: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Tag {
        pub id: Option<i64>,
        #[throughline(max_length = 50)]
        pub name: String,
    }

    pub fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(Article::meta()).register(Tag::meta());
        r
    }
}

/// Version 2: the same relation through an explicit model on the same table.
mod v2 {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    #[throughline(many_to_many(name = "tags", to = Tag, through = ArticleTag, related_name = "articles"))]
    pub struct Article {
        pub id: Option<i64>,
        pub title: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Tag {
        pub id: Option<i64>,
        #[throughline(max_length = 50)]
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(
        table = "article_tag",
        unique(name = "article_tag_article_tag_uniq", fields("article", "tag"))
    )]
    pub struct ArticleTag {
        pub id: Option<i64>,
        #[throughline(related_name = "+")]
        pub article: ForeignKey<Article>,
        #[throughline(related_name = "+")]
        pub tag: ForeignKey<Tag>,
    }

    pub fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(Article::meta())
            .register(Tag::meta())
            .register(ArticleTag::meta());
        r
    }
}

/// Version 3: the through model records who tagged and when.
mod v3 {
    use chrono::{DateTime, Utc};
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    #[throughline(many_to_many(name = "tags", to = Tag, through = ArticleTag, related_name = "articles"))]
    pub struct Article {
        pub id: Option<i64>,
        pub title: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Tag {
        pub id: Option<i64>,
        #[throughline(max_length = 80)]
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(
        table = "article_tag",
        unique(name = "article_tag_article_tag_uniq", fields("article", "tag"))
    )]
    pub struct ArticleTag {
        pub id: Option<i64>,
        #[throughline(related_name = "+")]
        pub article: ForeignKey<Article>,
        #[throughline(related_name = "+")]
        pub tag: ForeignKey<Tag>,
        #[throughline(max_length = 100)]
        pub tagged_by: Option<String>,
        #[throughline(auto_now_add)]
        pub tagged_at: DateTime<Utc>,
    }

    pub fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(Article::meta())
            .register(Tag::meta())
            .register(ArticleTag::meta());
        r
    }
}

/// Version 2 with the junction table renamed to `article_tagging`.
mod v2_renamed {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    #[throughline(many_to_many(name = "tags", to = Tag, through = Tagging, related_name = "articles"))]
    pub struct Article {
        pub id: Option<i64>,
        pub title: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Tag {
        pub id: Option<i64>,
        #[throughline(max_length = 50)]
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(
        table = "article_tagging",
        unique(name = "article_tag_article_tag_uniq", fields("article", "tag"))
    )]
    pub struct Tagging {
        pub id: Option<i64>,
        #[throughline(related_name = "+")]
        pub article: ForeignKey<Article>,
        #[throughline(related_name = "+")]
        pub tag: ForeignKey<Tag>,
    }

    pub fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(Article::meta())
            .register(Tag::meta())
            .register(Tagging::meta());
        r
    }
}

/// Version 4: `tagged_by` becomes required.
mod v4 {
    use chrono::{DateTime, Utc};
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    #[throughline(many_to_many(name = "tags", to = Tag, through = ArticleTag, related_name = "articles"))]
    pub struct Article {
        pub id: Option<i64>,
        pub title: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Tag {
        pub id: Option<i64>,
        #[throughline(max_length = 80)]
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(
        table = "article_tag",
        unique(name = "article_tag_article_tag_uniq", fields("article", "tag"))
    )]
    pub struct ArticleTag {
        pub id: Option<i64>,
        #[throughline(related_name = "+")]
        pub article: ForeignKey<Article>,
        #[throughline(related_name = "+")]
        pub tag: ForeignKey<Tag>,
        #[throughline(max_length = 100)]
        pub tagged_by: String,
        #[throughline(auto_now_add)]
        pub tagged_at: DateTime<Utc>,
    }

    pub fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(Article::meta())
            .register(Tag::meta())
            .register(ArticleTag::meta());
        r
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("throughline-mig-{}-{}", std::process::id(), name));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs makemigrations for `registry` against the files in `dir`; returns the new migration.
fn make(dir: &std::path::Path, registry: &Registry, hints: &Hints) -> Option<Migration> {
    let existing = migrations::load(dir).unwrap();
    let from = migrations::replay(&existing).unwrap();
    let to = ProjectState::from_registry(registry);
    let detection = migrations::detect(&from, &to, hints);
    assert!(detection.refused.is_empty(), "{:?}", detection.refused);
    if detection.operations.is_empty() {
        return None;
    }
    let migration = Migration {
        name: migrations::next_name(&existing, &detection.operations, None),
        dependencies: existing
            .last()
            .map(|m| vec![m.name.clone()])
            .unwrap_or_default(),
        operations: detection.operations,
    };
    migrations::write(dir, &migration).unwrap();
    Some(migration)
}

backend_tests!(
    seed_004_implicit_to_explicit_through_keeps_every_row,
    failed_migration_leaves_the_previous_state,
    history_and_files_must_agree,
    junction_switch_with_a_renamed_table_keeps_rows,
    field_made_required_is_backfilled,
    foreign_key_index_follows_covering_constraints,
);

async fn seed_data_v1(db: &Database) {
    let post = v1::Article {
        id: None,
        title: "Rust".into(),
    }
    .create(db)
    .await
    .unwrap();
    let mut tags = Vec::new();
    for name in ["async", "orm"] {
        tags.push(
            v1::Tag {
                id: None,
                name: name.into(),
            }
            .create(db)
            .await
            .unwrap(),
        );
    }
    post.tags().add(&tags, db).await.unwrap();
}

/// `table`'s non-unique indexes as `name/number of columns`, sorted.
async fn index_names(db: &Database, table: &str) -> Vec<String> {
    let sql = match db.backend() {
        Backend::Sqlite => format!(
            "SELECT l.name || '/' || (SELECT count(*) FROM pragma_index_info(l.name)) \
             FROM pragma_index_list('{table}') l WHERE l.\"unique\" = 0 ORDER BY 1"
        ),
        Backend::Postgres => format!(
            "SELECT c.relname::text || '/' || i.indnatts FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = '{table}'::regclass AND NOT i.indisunique ORDER BY 1"
        ),
    };
    db.run(
        throughline_db::Access::Read,
        throughline_db::op(move |conn| {
            Box::pin(async move {
                let mut names = Vec::new();
                let stmt = throughline_query::Statement::new(sql, vec![]);
                conn.query(&stmt, &mut |row| {
                    names.push(row.get::<String>(0)?);
                    Ok(())
                })
                .await?;
                Ok(names)
            })
        }),
    )
    .await
    .unwrap()
}

/// A foreign key gets an index of its own only while no unique constraint or index starts
/// with its column: created with the table, dropped when a covering constraint or index is
/// added, created again when it goes, and all of it undone backwards.
async fn foreign_key_index_follows_covering_constraints(db: Database) {
    let dir = temp_dir(&format!("fk-index-{:?}", db.backend()));
    make(&dir, &v2::registry(), &Hints::default()).unwrap();
    let first = migrations::load(&dir).unwrap()[0].name.clone();
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    let pair = "article_tag_article_tag_uniq";
    let own = |names: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        all.sort();
        all
    };
    // The pair constraint starts with `article`: only `tag` has its own index.
    assert_eq!(
        index_names(&db, "article_tag").await,
        own(&["article_tag_tag_id_idx/1"])
    );
    let steps = [
        (
            "0002_drop_pair",
            Operation::RemoveConstraint {
                model: "ArticleTag".into(),
                name: pair.into(),
            },
            own(&["article_tag_article_id_idx/1", "article_tag_tag_id_idx/1"]),
        ),
        (
            "0003_tag_first",
            Operation::AddIndex {
                model: "ArticleTag".into(),
                index: throughline::migrations::state::ConstraintState {
                    name: "article_tag_by_tag".into(),
                    fields: vec!["tag".into(), "article".into()],
                },
            },
            own(&["article_tag_article_id_idx/1", "article_tag_by_tag/2"]),
        ),
        (
            "0004_pair_again",
            Operation::AddConstraint {
                model: "ArticleTag".into(),
                constraint: throughline::migrations::state::ConstraintState {
                    name: pair.into(),
                    fields: vec!["article".into(), "tag".into()],
                },
            },
            own(&["article_tag_by_tag/2"]),
        ),
        (
            "0005_drop_by_tag",
            Operation::RemoveIndex {
                model: "ArticleTag".into(),
                name: "article_tag_by_tag".into(),
            },
            own(&["article_tag_tag_id_idx/1"]),
        ),
        (
            // A declared index that takes the name of the key's own index it covers.
            "0006_same_name",
            Operation::AddIndex {
                model: "ArticleTag".into(),
                index: throughline::migrations::state::ConstraintState {
                    name: "article_tag_tag_id_idx".into(),
                    fields: vec!["tag".into(), "article".into()],
                },
            },
            own(&["article_tag_tag_id_idx/2"]),
        ),
    ];
    let mut previous = first.clone();
    let mut expected = Vec::new();
    for (name, operation, indexes) in steps {
        let migration = Migration {
            name: name.into(),
            dependencies: vec![previous.clone()],
            operations: vec![operation],
        };
        migrations::write(&dir, &migration).unwrap();
        migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
            .await
            .unwrap();
        assert_eq!(
            index_names(&db, "article_tag").await,
            indexes,
            "after {name}"
        );
        expected.push((previous, index_names(&db, "article_tag").await));
        previous = name.to_owned();
    }
    // Backwards, one migration at a time: each step restores the indexes before it.
    let mut before = vec![own(&["article_tag_tag_id_idx/1"])];
    before.extend(expected.iter().map(|(_, names)| names.clone()));
    for (index, (target, _)) in expected.iter().enumerate().rev() {
        migrations::migrate(&db, &migrations::load(&dir).unwrap(), Some(target))
            .await
            .unwrap();
        assert_eq!(
            index_names(&db, "article_tag").await,
            before[index],
            "back to {target}"
        );
    }
    // The relation still works on the final schema.
    seed_data_v2(&db).await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn seed_data_v2(db: &Database) {
    let post = v2::Article {
        id: None,
        title: "Rust".into(),
    }
    .create(db)
    .await
    .unwrap();
    let tag = v2::Tag {
        id: None,
        name: "orm".into(),
    }
    .create(db)
    .await
    .unwrap();
    post.tags()
        .add(std::slice::from_ref(&tag), db)
        .await
        .unwrap();
    assert_eq!(post.tags().all(db).await.unwrap().len(), 1);
}

async fn junction_switch_with_a_renamed_table_keeps_rows(db: Database) {
    let dir = temp_dir(&format!("renamed-{:?}", db.backend()));
    make(&dir, &v1::registry(), &Hints::default()).unwrap();
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    seed_data_v1(&db).await;
    let switch = make(&dir, &v2_renamed::registry(), &Hints::default()).unwrap();
    assert!(
        switch.operations.iter().any(
            |o| matches!(o, Operation::AlterModelTable { table, .. } if table == "article_tagging")
        ),
        "{:#?}",
        switch.operations
    );
    assert!(!switch.operations.iter().any(|o| matches!(
        o,
        Operation::CreateModel { .. } | Operation::DeleteModel { .. }
    )));
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(v2_renamed::Tagging::objects().count(&db).await.unwrap(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

async fn field_made_required_is_backfilled(db: Database) {
    let dir = temp_dir(&format!("required-{:?}", db.backend()));
    make(&dir, &v1::registry(), &Hints::default()).unwrap();
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    seed_data_v1(&db).await;
    make(&dir, &v3::registry(), &Hints::default()).unwrap();
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    // Without a value for the NULL rows, the change is refused, not guessed.
    let existing = migrations::load(&dir).unwrap();
    let refused = migrations::detect(
        &migrations::replay(&existing).unwrap(),
        &ProjectState::from_registry(&v4::registry()),
        &Hints::default(),
    );
    assert!(
        refused
            .refused
            .iter()
            .any(|r| r.contains("tagged_by") && r.contains("backfill")),
        "{:?}",
        refused.refused
    );
    let mut hints = Hints::default();
    hints.backfill.insert(
        ("ArticleTag".into(), "tagged_by".into()),
        serde_json::json!("import"),
    );
    make(&dir, &v4::registry(), &hints).unwrap();
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    let who = v4::ArticleTag::objects()
        .values_list(v4::ArticleTag::TAGGED_BY, &db)
        .await
        .unwrap();
    assert_eq!(who, ["import", "import"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrate_applies_each_migration_once_postgres() {
    let Some(db) = common::postgres("migrations_concurrent").await else {
        return;
    };
    let dir = temp_dir("concurrent-pg");
    make(&dir, &v1::registry(), &Hints::default()).unwrap();
    make(&dir, &v3::registry(), &Hints::default()).unwrap();
    let files = migrations::load(&dir).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (db, files) = (db.clone(), files.clone());
        tasks.push(tokio::spawn(async move {
            migrations::migrate(&db, &files, None).await
        }));
    }
    let mut applied = 0;
    for task in tasks {
        applied += task.await.unwrap().unwrap().len();
    }
    assert_eq!(
        applied, 2,
        "each migration applied exactly once across the processes"
    );
    let status = migrations::status(&db, &files).await.unwrap();
    assert!(status.iter().all(|(_, done)| *done));
    let _ = std::fs::remove_dir_all(dir);
}

async fn seed_004_implicit_to_explicit_through_keeps_every_row(db: Database) {
    let dir = temp_dir(&format!("seed004-{:?}", db.backend()));
    // 0001: the initial schema with a plain relation.
    let initial = make(&dir, &v1::registry(), &Hints::default()).unwrap();
    assert_eq!(initial.name, "0001_initial");
    let steps = migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(steps.len(), 1);
    let post = v1::Article {
        id: None,
        title: "Rust".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let other = v1::Article {
        id: None,
        title: "SQL".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let mut tags = Vec::new();
    for name in ["async", "orm", "db"] {
        tags.push(
            v1::Tag {
                id: None,
                name: name.into(),
            }
            .create(&db)
            .await
            .unwrap(),
        );
    }
    post.tags().add(&tags, &db).await.unwrap();
    other.tags().add([&tags[2]], &db).await.unwrap();
    assert_eq!(v1::ArticleTags::objects().count(&db).await.unwrap(), 4);

    // 0002: the switch to an explicit through model on the same table: state only.
    let switch = make(&dir, &v2::registry(), &Hints::default()).unwrap();
    let sql = migrations::sql(
        &migrations::load(&dir).unwrap(),
        &switch.name,
        db.backend(),
        false,
    )
    .unwrap();
    assert!(
        sql.is_empty(),
        "the switch touches no table: {sql:?} {:#?}",
        switch.operations
    );
    assert!(
        matches!(&switch.operations[0], Operation::StateOnly { .. }),
        "{:#?}",
        switch.operations
    );
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    let post2 = v2::Article::objects()
        .get(v2::Article::TITLE.eq("Rust"), &db)
        .await
        .unwrap();
    assert_eq!(
        post2.tags().count(&db).await.unwrap(),
        3,
        "every link is still there"
    );
    assert_eq!(v2::ArticleTag::objects().count(&db).await.unwrap(), 4);

    // 0003: fields added to the through model (and a wider tag name): existing rows kept.
    let fields = make(&dir, &v3::registry(), &Hints::default()).unwrap();
    let added: Vec<String> = fields
        .operations
        .iter()
        .filter_map(|o| match o {
            Operation::AddField { field, .. } => Some(field.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(added, ["tagged_by", "tagged_at"]);
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    let links = v3::ArticleTag::objects().all(&db).await.unwrap();
    assert_eq!(
        links.len(),
        4,
        "no link lost by the table rebuild or the new columns"
    );
    assert!(links.iter().all(|l| l.tagged_by.is_none()));
    let post3 = v3::Article::objects()
        .get(v3::Article::TITLE.eq("Rust"), &db)
        .await
        .unwrap();
    let tagged = post3
        .tags()
        .add_with(
            [&v3::Tag {
                id: None,
                name: "a-much-longer-tag-name-than-fifty-characters-would-allow-before".into(),
            }
            .create(&db)
            .await
            .unwrap()],
            v3::ArticleTagsValues {
                tagged_by: Some("ann".into()),
                tagged_at: None,
            },
            &db,
        )
        .await
        .unwrap();
    assert_eq!(tagged.linked.len(), 1);
    // Nothing more to do.
    assert!(make(&dir, &v3::registry(), &Hints::default()).is_none());
    let status = migrations::status(&db, &migrations::load(&dir).unwrap())
        .await
        .unwrap();
    assert!(status.iter().all(|(_, applied)| *applied));

    // Backwards to 0002: the new columns go, the links stay.
    v3::ArticleTag::objects()
        .filter(v3::ArticleTag::TAGGED_BY.eq(Some("ann".to_owned())))
        .delete(&db)
        .await
        .unwrap();
    v3::Tag::objects()
        .filter(v3::Tag::NAME.startswith("a-much"))
        .delete(&db)
        .await
        .unwrap();
    let back = migrations::migrate(&db, &migrations::load(&dir).unwrap(), Some(&switch.name))
        .await
        .unwrap();
    assert_eq!(back.len(), 1);
    assert!(!back[0].forwards);
    assert_eq!(v2::ArticleTag::objects().count(&db).await.unwrap(), 4);
    // Forwards again, then all the way back: the round trip ends with no table.
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(v3::ArticleTag::objects().count(&db).await.unwrap(), 4);
    let all_back = migrations::migrate(&db, &migrations::load(&dir).unwrap(), Some("zero"))
        .await
        .unwrap();
    assert_eq!(all_back.len(), 3);
    assert!(
        v1::Article::objects().count(&db).await.is_err(),
        "the tables are gone"
    );
    let _ = std::fs::remove_dir_all(dir);
}

async fn failed_migration_leaves_the_previous_state(db: Database) {
    let dir = temp_dir(&format!("fail-{:?}", db.backend()));
    make(&dir, &v1::registry(), &Hints::default()).unwrap();
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    v1::Tag {
        id: None,
        name: "kept".into(),
    }
    .create(&db)
    .await
    .unwrap();
    // A migration whose last operation fails.
    let existing = migrations::load(&dir).unwrap();
    let broken = Migration {
        name: "0002_broken".into(),
        dependencies: vec![existing[0].name.clone()],
        operations: vec![
            Operation::RunSql {
                sql: vec!["DELETE FROM \"tag\"".into()],
                reverse_sql: None,
            },
            Operation::RunSql {
                sql: vec!["SELECT * FROM \"no_such_table\"".into()],
                reverse_sql: None,
            },
        ],
    };
    migrations::write(&dir, &broken).unwrap();
    let err = migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("0002_broken"), "{err}");
    assert_eq!(
        v1::Tag::objects().count(&db).await.unwrap(),
        1,
        "the delete was rolled back"
    );
    let status = migrations::status(&db, &migrations::load(&dir).unwrap())
        .await
        .unwrap();
    assert_eq!(
        status,
        vec![
            ("0001_initial".to_owned(), true),
            ("0002_broken".to_owned(), false)
        ]
    );
    let _ = std::fs::remove_dir_all(dir);
}

async fn history_and_files_must_agree(db: Database) {
    let dir = temp_dir(&format!("history-{:?}", db.backend()));
    make(&dir, &v1::registry(), &Hints::default()).unwrap();
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    db.execute_batch("INSERT INTO throughline_migrations (name, applied_at) VALUES ('0007_ghost', '2025-01-01 00:00:00')")
        .await
        .unwrap();
    let err = migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("0007_ghost"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rebuild_of_a_parent_table_does_not_cascade() {
    let (db, dir) = common::sqlite_file("rebuild").await;
    let mig = temp_dir("rebuild-files");
    make(&mig, &v2::registry(), &Hints::default()).unwrap();
    migrations::migrate(&db, &migrations::load(&mig).unwrap(), None)
        .await
        .unwrap();
    let post = v2::Article {
        id: None,
        title: "t".into(),
    }
    .create(&db)
    .await
    .unwrap();
    for name in ["a", "b", "c"] {
        let tag = v2::Tag {
            id: None,
            name: name.into(),
        }
        .create(&db)
        .await
        .unwrap();
        post.tags().add([&tag], &db).await.unwrap();
    }
    // Tag.name 50 -> 80 characters: SQLite rebuilds the parent table `tag`, whose rows the
    // three links refer to with ON DELETE CASCADE.
    let hints = Hints {
        allow_drop: false,
        ..Hints::default()
    };
    let change = make(&mig, &v3::registry(), &hints).unwrap();
    let sql = migrations::sql(
        &migrations::load(&mig).unwrap(),
        &change.name,
        Backend::Sqlite,
        false,
    )
    .unwrap();
    assert!(sql.iter().any(|s| s.contains("\"tag__new\"")), "{sql:#?}");
    migrations::migrate(&db, &migrations::load(&mig).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(
        v3::ArticleTag::objects().count(&db).await.unwrap(),
        3,
        "the children survived the rebuild"
    );
    let _ = std::fs::remove_dir_all(mig);
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn autodetector_refuses_drops_and_required_fields_without_values() {
    let from = ProjectState::from_registry(&v3::registry());
    let to = ProjectState::from_registry(&v1::registry());
    let detection = migrations::detect(&from, &to, &Hints::default());
    assert!(
        detection.refused.iter().any(|r| r.contains("--allow-drop")),
        "{:?}",
        detection.refused
    );
    assert!(!detection.operations.iter().any(|o| matches!(
        o,
        Operation::DeleteModel { .. } | Operation::RemoveField { .. }
    )));
    let allowed = migrations::detect(
        &from,
        &to,
        &Hints {
            allow_drop: true,
            ..Hints::default()
        },
    );
    assert!(
        allowed
            .operations
            .iter()
            .any(|o| matches!(o, Operation::RemoveField { .. })),
        "{:#?}",
        allowed.operations
    );
}

#[test]
#[ignore = "writes the example application's migration files; run by hand"]
fn write_example_history() {
    let dir = PathBuf::from(std::env::var("EXAMPLE_MIGRATIONS").unwrap());
    make(&dir, &v1::registry(), &Hints::default()).unwrap();
    let switch = Hints::default();
    let existing = migrations::load(&dir).unwrap();
    let from = migrations::replay(&existing).unwrap();
    let detection = migrations::detect(
        &from,
        &ProjectState::from_registry(&v2::registry()),
        &switch,
    );
    migrations::write(
        &dir,
        &Migration {
            name: migrations::next_name(
                &existing,
                &detection.operations,
                Some("article_tag_through"),
            ),
            dependencies: vec![existing[0].name.clone()],
            operations: detection.operations,
        },
    )
    .unwrap();
    let existing = migrations::load(&dir).unwrap();
    let from = migrations::replay(&existing).unwrap();
    let detection = migrations::detect(
        &from,
        &ProjectState::from_registry(&v3::registry()),
        &Hints::default(),
    );
    migrations::write(
        &dir,
        &Migration {
            name: migrations::next_name(
                &existing,
                &detection.operations,
                Some("tagged_by_tagged_at"),
            ),
            dependencies: vec![existing[1].name.clone()],
            operations: detection.operations,
        },
    )
    .unwrap();
}

#[test]
fn autodetector_orders_new_models_and_follows_hints() {
    let empty = ProjectState::default();
    let detection = migrations::detect(
        &empty,
        &ProjectState::from_registry(&v3::registry()),
        &Hints::default(),
    );
    let created: Vec<String> = detection
        .operations
        .iter()
        .filter_map(|o| match o {
            Operation::CreateModel { model } => Some(model.name.clone()),
            _ => None,
        })
        .collect();
    // Referred models come before the through model that refers to them.
    let through = created.iter().position(|n| n == "ArticleTag").unwrap();
    assert!(created.iter().position(|n| n == "Article").unwrap() < through);
    assert!(created.iter().position(|n| n == "Tag").unwrap() < through);
    // A field rename by hint, instead of a remove and an add.
    let from = ProjectState::from_registry(&v3::registry());
    let mut to = from.clone();
    let field = to
        .models
        .get_mut("Article")
        .unwrap()
        .fields
        .iter_mut()
        .find(|f| f.name == "title")
        .unwrap();
    field.name = "headline".into();
    field.column = "headline".into();
    let hints = Hints {
        field_renames: vec![("Article".into(), "title".into(), "headline".into())],
        ..Hints::default()
    };
    let detection = migrations::detect(&from, &to, &hints);
    assert!(
        matches!(detection.operations.as_slice(), [Operation::RenameField { from, to, .. }] if from == "title" && to == "headline"),
        "{:#?}",
        detection.operations
    );
    // An index added and removed.
    let mut indexed = from.clone();
    indexed
        .models
        .get_mut("Article")
        .unwrap()
        .indexes
        .push(migrations::state::ConstraintState {
            name: "article_title_idx2".into(),
            fields: vec!["title".into()],
        });
    let added = migrations::detect(&from, &indexed, &Hints::default());
    assert!(
        matches!(added.operations.as_slice(), [Operation::AddIndex { .. }]),
        "{:#?}",
        added.operations
    );
    let removed = migrations::detect(&indexed, &from, &Hints::default());
    assert!(
        matches!(
            removed.operations.as_slice(),
            [Operation::RemoveIndex { .. }]
        ),
        "{:#?}",
        removed.operations
    );
}

#[test]
fn example_migrations_sql_snapshots() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/school/migrations");
    let files = migrations::load(&dir).unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let mut text = String::new();
        for migration in &files {
            text.push_str(&format!("-- {}\n", migration.name));
            for statement in migrations::sql(&files, &migration.name, backend, false).unwrap() {
                text.push_str(&statement);
                text.push_str(";\n");
            }
        }
        // The time of the backfill default differs at each run.
        let text: String = text
            .lines()
            .map(|l| {
                if l.contains("DEFAULT '") {
                    l.split("DEFAULT '").next().unwrap_or(l).to_owned() + "DEFAULT '<now>';"
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        insta::assert_snapshot!(
            format!("example_migrations__{:?}", backend).to_lowercase(),
            text
        );
    }
}
