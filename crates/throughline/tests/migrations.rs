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
    existing_table_is_refused_by_name,
    fake_initial_verifies_the_existing_shape,
    narrowing_changes_check_the_rows_first,
    hostile_index_name_in_a_migration_file,
    hostile_names_in_models,
    malformed_migration_files_are_refused,
    rebuild_keeps_triggers_and_user_indexes,
    changed_column_keeps_its_data,
    renamed_foreign_key_keeps_its_links,
    nullable_field_keeps_its_nulls,
    narrowing_checks_see_the_rows_changed,
    narrowing_without_a_former_check,
    rebuild_keeps_views_and_triggers_of_other_tables,
    remove_constraint_drops_what_is_there_or_fails,
    foreign_key_fields_renamed_added_and_removed,
    foreign_key_to_a_string_key,
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
        // The index MySQL adds by itself to back a foreign key carries the constraint's
        // name (`..._fkey`): left out, as it is no index of throughline's.
        Backend::Mysql => format!(
            "SELECT CONCAT(index_name, '/', count(*)) FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = '{table}' AND non_unique = 1 \
             AND index_name NOT LIKE '%\\_fkey' GROUP BY index_name ORDER BY 1"
        ),
        _ => format!(
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
    if db.backend() == Backend::Mysql {
        return stopped_half_way_resumes(&db, &dir, err).await;
    }
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

/// MySQL/MariaDB commit each statement of a migration on its own: the failed migration's
/// first operation (the delete) stays in effect, the error and `showmigrations` say exactly
/// so, and once the cause is fixed `migrate` resumes at the failed operation (the delete
/// does not run again: a row written meanwhile is kept).
async fn stopped_half_way_resumes(db: &Database, dir: &std::path::Path, err: throughline::Error) {
    use migrations::MigrationState;
    let text = err.to_string();
    assert!(
        text.contains("operations 1 to 1 of 2 are in effect") && text.contains("no_such_table"),
        "{text}"
    );
    assert_eq!(v1::Tag::objects().count(db).await.unwrap(), 0, "committed");
    let files = migrations::load(dir).unwrap();
    let status = migrations::status_detail(db, &files).await.unwrap();
    assert_eq!(status[0].1, MigrationState::Applied);
    assert!(
        matches!(
            &status[1].1,
            MigrationState::Partial {
                operations: 1,
                of: 2,
                statements: 0,
                backwards: false,
                ..
            }
        ),
        "{status:?}"
    );
    assert!(
        status[1]
            .1
            .to_string()
            .starts_with("partially applied: 1 of 2")
    );
    v1::Tag {
        id: None,
        name: "meanwhile".into(),
    }
    .create(db)
    .await
    .unwrap();
    db.execute_batch(r#"CREATE TABLE "no_such_table" ("x" integer)"#)
        .await
        .unwrap();
    let steps = migrations::migrate(db, &files, None).await.unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].name, "0002_broken");
    assert_eq!(
        v1::Tag::objects().count(db).await.unwrap(),
        1,
        "not deleted again"
    );
    assert_eq!(
        migrations::status(db, &files).await.unwrap(),
        vec![
            ("0001_initial".to_owned(), true),
            ("0002_broken".to_owned(), true)
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

// ---------------------------------------------------------------------------------------
// Migrations refuse rather than guess (SPEC §7): existing tables, narrowing changes,
// hostile identifiers, malformed files, triggers across SQLite rebuilds.
// ---------------------------------------------------------------------------------------

/// A migration from its JSON form.
fn migration(value: serde_json::Value) -> Migration {
    serde_json::from_value(value).unwrap()
}

/// The first column of every row of `sql`, as text.
async fn column_of(db: &Database, sql: &str, params: Vec<throughline::Value>) -> Vec<String> {
    let sql = sql.to_owned();
    db.run(
        throughline_db::Access::Read,
        throughline_db::op(move |conn| {
            Box::pin(async move {
                let mut out = Vec::new();
                let stmt = throughline_query::Statement::new(sql, params);
                conn.query(&stmt, &mut |row| {
                    let value: throughline::Value = row.get(0)?;
                    out.push(match value {
                        throughline::Value::String(s) => s,
                        other => other.display(),
                    });
                    Ok(())
                })
                .await?;
                Ok(out)
            })
        }),
    )
    .await
    .unwrap()
}

/// `?1` on SQLite, `$1` on PostgreSQL, `?` on MySQL.
fn param(db: &Database) -> &'static str {
    match db.backend() {
        Backend::Sqlite => "?1",
        Backend::Mysql => "?",
        _ => "$1",
    }
}

/// The columns of `table`, in order (the name bound as a parameter).
async fn columns(db: &Database, table: &str) -> Vec<String> {
    let sql = match db.backend() {
        Backend::Sqlite => format!(
            "SELECT name FROM pragma_table_info({}) ORDER BY cid",
            param(db)
        ),
        Backend::Mysql => format!(
            "SELECT column_name FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND BINARY table_name = {} ORDER BY ordinal_position",
            param(db)
        ),
        _ => format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = {} ORDER BY ordinal_position",
            param(db)
        ),
    };
    column_of(db, &sql, vec![table.into()]).await
}

/// The names of the indexes called exactly `name`.
async fn indexes_named(db: &Database, name: &str) -> Vec<String> {
    let sql = match db.backend() {
        Backend::Sqlite => format!(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name = {}",
            param(db)
        ),
        Backend::Mysql => format!(
            "SELECT DISTINCT index_name FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND BINARY index_name = {}",
            param(db)
        ),
        _ => format!(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'i' AND n.nspname = current_schema() AND c.relname = {}",
            param(db)
        ),
    };
    column_of(db, &sql, vec![name.into()]).await
}

fn student_initial() -> Migration {
    migration(serde_json::json!({
        "name": "0001_initial",
        "operations": [{"op": "create_model", "model": {"name": "Student", "table": "student", "fields": [
            {"name": "id", "column": "id", "type": "auto", "primary_key": true},
            {"name": "name", "column": "name", "type": "string(50)"},
            {"name": "email", "column": "email", "type": "string(100)", "unique": true}
        ]}}]
    }))
}

fn student_email_index() -> Migration {
    migration(serde_json::json!({
        "name": "0002_student_note",
        "dependencies": ["0001_initial"],
        "operations": [{"op": "add_field", "model": "Student",
            "field": {"name": "note", "column": "note", "type": "string", "nullable": true}}]
    }))
}

/// Item 4: an initial migration over an existing `student(id, foo)` used to "apply" with
/// `CREATE TABLE IF NOT EXISTS`, leaving the wrong table. Now it fails naming the table and
/// changes nothing.
async fn existing_table_is_refused_by_name(db: Database) {
    db.execute_batch(
        r#"CREATE TABLE "student" ("id" integer NOT NULL PRIMARY KEY, "foo" integer)"#,
    )
    .await
    .unwrap();
    let files = vec![student_initial()];
    let sql = migrations::sql(&files, "0001_initial", db.backend(), false).unwrap();
    assert!(sql.iter().all(|s| !s.contains("IF NOT EXISTS")), "{sql:#?}");
    let err = migrations::migrate(&db, &files, None).await.unwrap_err();
    assert!(err.is_migration(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("\"student\" already exists"), "{text}");
    assert!(text.contains("0001_initial"), "{text}");
    assert!(text.contains("fake_initial"), "{text}");
    assert_eq!(columns(&db, "student").await, ["id", "foo"]);
    let status = migrations::status(&db, &files).await.unwrap();
    assert_eq!(status, vec![("0001_initial".to_owned(), false)]);
}

/// Item 4: `fake_initial` records the initial migration over existing tables only after
/// introspection confirmed their shape; otherwise it refuses, listing the differences.
async fn fake_initial_verifies_the_existing_shape(db: Database) {
    let files = vec![student_initial(), student_email_index()];
    let fake = migrations::MigrateOptions::default().fake_initial(true);
    // A table of another shape: name nullable, email missing, foo extra.
    let wrong = match db.backend() {
        Backend::Sqlite => {
            r#"CREATE TABLE "student" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NULL, "foo" integer)"#
        }
        Backend::Mysql => {
            r#"CREATE TABLE "student" ("id" bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, "name" varchar(50) NULL, "foo" integer)"#
        }
        _ => {
            r#"CREATE TABLE "student" ("id" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "name" varchar(50) NULL, "foo" integer)"#
        }
    };
    db.execute_batch(wrong).await.unwrap();
    let err = migrations::migrate_with(&db, &files, None, &fake)
        .await
        .unwrap_err();
    assert!(err.is_migration(), "{err:?}");
    let text = err.to_string();
    for expected in [
        r#""student"."name": NULL, the migration has NOT NULL"#,
        r#""student": column "email" is missing"#,
        r#""student": column "foo" is not in the migration"#,
        r#""student": no unique constraint on ("email")"#,
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }
    assert_eq!(
        migrations::status(&db, &files).await.unwrap(),
        vec![
            ("0001_initial".to_owned(), false),
            ("0002_student_note".to_owned(), false)
        ]
    );
    // The table exactly as the migration creates it: recorded without running, and the
    // next migration runs as usual.
    db.execute_batch(r#"DROP TABLE "student""#).await.unwrap();
    for statement in migrations::sql(&files, "0001_initial", db.backend(), false).unwrap() {
        db.execute_batch(&statement).await.unwrap();
    }
    db.execute_batch(
        r#"INSERT INTO "student" ("name", "email") VALUES ('Ann', 'ann@example.com')"#,
    )
    .await
    .unwrap();
    let steps = migrations::migrate_with(&db, &files, None, &fake)
        .await
        .unwrap();
    assert_eq!(steps.len(), 2);
    assert!(steps[0].faked && !steps[1].faked, "{steps:?}");
    assert_eq!(
        columns(&db, "student").await,
        ["id", "name", "email", "note"]
    );
    assert_eq!(
        column_of(&db, r#"SELECT "name" FROM "student""#, vec![]).await,
        ["Ann"]
    );
    // Without any existing table, fake_initial runs the migration normally.
    migrations::migrate(&db, &files, Some("zero"))
        .await
        .unwrap();
    let steps = migrations::migrate_with(&db, &files, None, &fake)
        .await
        .unwrap();
    assert!(steps.iter().all(|s| !s.faked), "{steps:?}");
}

fn tag_initial(name_type: &str) -> Migration {
    migration(serde_json::json!({
        "name": "0001_initial",
        "operations": [{"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [
            {"name": "id", "column": "id", "type": "auto", "primary_key": true},
            {"name": "name", "column": "name", "type": name_type, "nullable": true},
            {"name": "weight", "column": "weight", "type": "i64", "nullable": true}
        ]}}]
    }))
}

fn alter(name: &str, field: serde_json::Value) -> Migration {
    migration(serde_json::json!({
        "name": name,
        "dependencies": ["0001_initial"],
        "operations": [{"op": "alter_field", "model": "Tag", "field": field}]
    }))
}

/// Item 5: a narrowing alter_field checks the rows first, inside the migration's
/// transaction: any row that does not fit refuses it with the count and example keys, and
/// nothing changes (PostgreSQL used to truncate 'long' to 'lon').
async fn narrowing_changes_check_the_rows_first(db: Database) {
    let initial = tag_initial("string(50)");
    migrations::migrate(&db, std::slice::from_ref(&initial), None)
        .await
        .unwrap();
    db.execute_batch(
        r#"INSERT INTO "tag" ("name", "weight") VALUES ('long', 1), ('ab', 40000), ('longer', NULL), (NULL, 2), ('12', 3)"#,
    )
    .await
    .unwrap();
    let names = || {
        column_of(
            &db,
            r#"SELECT COALESCE("name", '-') FROM "tag" ORDER BY "id""#,
            vec![],
        )
    };
    let before = names().await;
    let refused = |name: &str, field: serde_json::Value| {
        let files = vec![initial.clone(), alter(name, field)];
        let db = db.clone();
        async move {
            let err = migrations::migrate(&db, &files, None).await.unwrap_err();
            assert!(err.is_migration(), "{err:?}");
            let status = migrations::status(&db, &files).await.unwrap();
            assert!(!status[1].1, "not recorded");
            err.to_string()
        }
    };
    // A shorter string: rows 1 and 3 are longer than 3 characters.
    let text = refused(
        "0002_short",
        serde_json::json!({"name": "name", "column": "name", "type": "string(3)", "nullable": true}),
    )
    .await;
    assert!(text.contains("2 row(s)"), "{text}");
    assert!(text.contains("longer than 3 characters"), "{text}");
    assert!(text.contains("id 1, 3"), "{text}");
    assert!(text.contains("0002_short"), "{text}");
    assert_eq!(names().await, before, "nothing truncated");
    // A smaller integer type: 40000 does not fit an i16.
    let text = refused(
        "0002_small",
        serde_json::json!({"name": "weight", "column": "weight", "type": "i16", "nullable": true}),
    )
    .await;
    assert!(text.contains("1 row(s)") && text.contains("id 2"), "{text}");
    // A string becoming a number: 'long', 'ab', 'longer' are not integers.
    let text = refused(
        "0002_number",
        serde_json::json!({"name": "name", "column": "name", "type": "i32", "nullable": true}),
    )
    .await;
    assert!(
        text.contains("3 row(s)") && text.contains("id 1, 2, 3"),
        "{text}"
    );
    // NOT NULL without a backfill: row 4 is NULL.
    let text = refused(
        "0002_required",
        serde_json::json!({"name": "name", "column": "name", "type": "string(50)"}),
    )
    .await;
    assert!(text.contains("1 row(s)") && text.contains("id 4"), "{text}");
    assert_eq!(names().await, before);
    // Once the rows fit, the same change applies.
    db.execute_batch(r#"UPDATE "tag" SET "name" = 'abc' WHERE length("name") > 3"#)
        .await
        .unwrap();
    let files = vec![
        initial.clone(),
        alter(
            "0002_short",
            serde_json::json!({"name": "name", "column": "name", "type": "string(3)", "nullable": true}),
        ),
    ];
    migrations::migrate(&db, &files, None).await.unwrap();
    assert_eq!(names().await, ["abc", "ab", "abc", "-", "12"]);
    // Backwards is checked too: undoing a widening is a narrowing.
    let mut files = files;
    files.push(migration(serde_json::json!({
        "name": "0003_wider",
        "dependencies": ["0002_short"],
        "operations": [{"op": "alter_field", "model": "Tag",
            "field": {"name": "name", "column": "name", "type": "string(10)", "nullable": true}}]
    })));
    migrations::migrate(&db, &files, None).await.unwrap();
    db.execute_batch(r#"INSERT INTO "tag" ("name") VALUES ('sevench')"#)
        .await
        .unwrap();
    let err = migrations::migrate(&db, &files, Some("0002_short"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        err.is_migration() && text.contains("1 row(s)") && text.contains("id 6"),
        "{text}"
    );
    assert!(
        migrations::status(&db, &files).await.unwrap()[2].1,
        "still applied"
    );
    assert_eq!(names().await, ["abc", "ab", "abc", "-", "12", "sevench"]);
}

const HOSTILE_INDEX: &str = r#"x" ON "victim" ("name"); DROP TABLE "victim"; CREATE INDEX "y"#;
const HOSTILE_TABLE: &str = "we\"ird; t\\able é";

/// Item 9: an index name from a migration file that tried to inject SQL is one quoted
/// identifier: the index gets exactly that name and `victim` survives; a table whose name
/// has a quote gets its foreign key and derived index; everything undoes backwards.
async fn hostile_index_name_in_a_migration_file(db: Database) {
    let files = vec![
        migration(serde_json::json!({
            "name": "0001_initial",
            "operations": [
                {"op": "create_model", "model": {"name": "Victim", "table": "victim", "fields": [
                    {"name": "id", "column": "id", "type": "auto", "primary_key": true},
                    {"name": "name", "column": "name", "type": "string(50)"}
                ]}},
                {"op": "create_model", "model": {"name": "Weird", "table": HOSTILE_TABLE, "fields": [
                    {"name": "id", "column": "id", "type": "auto", "primary_key": true},
                    {"name": "victim", "column": "vic\"tim; --", "type": "i64",
                     "foreign_key": {"to": "Victim", "on_delete": "cascade"}},
                    {"name": "label", "column": "la bel\\", "type": "string(20)", "nullable": true}
                ]}}
            ]
        })),
        migration(serde_json::json!({
            "name": "0002_index",
            "dependencies": ["0001_initial"],
            "operations": [{"op": "add_index", "model": "Victim",
                "index": {"name": HOSTILE_INDEX, "fields": ["name"]}}]
        })),
        migration(serde_json::json!({
            "name": "0003_alter",
            "dependencies": ["0002_index"],
            "operations": [{"op": "alter_field", "model": "Weird",
                "field": {"name": "label", "column": "la bel\\", "type": "string(40)", "nullable": true}}]
        })),
    ];
    migrations::migrate(&db, &files, None).await.unwrap();
    assert_eq!(indexes_named(&db, HOSTILE_INDEX).await, [HOSTILE_INDEX]);
    let own = format!("{HOSTILE_TABLE}_vic\"tim; --_idx");
    assert_eq!(indexes_named(&db, &own).await, std::slice::from_ref(&own));
    db.execute_batch(r#"INSERT INTO "victim" ("name") VALUES ('v')"#)
        .await
        .unwrap();
    let weird = throughline_query::ddl::quote(HOSTILE_TABLE);
    db.execute_batch(&format!(
        r#"INSERT INTO {weird} ("vic""tim; --", "la bel\") VALUES (1, 'x')"#
    ))
    .await
    .unwrap();
    assert_eq!(
        column_of(&db, r#"SELECT "name" FROM "victim""#, vec![]).await,
        ["v"],
        "victim survived"
    );
    assert_eq!(
        columns(&db, HOSTILE_TABLE).await,
        ["id", "vic\"tim; --", "la bel\\"]
    );
    // Backwards: the hostile index is dropped by its exact name, the tables go.
    migrations::migrate(&db, &files, Some("0001_initial"))
        .await
        .unwrap();
    assert!(indexes_named(&db, HOSTILE_INDEX).await.is_empty());
    assert_eq!(columns(&db, "victim").await, ["id", "name"]);
    migrations::migrate(&db, &files, Some("zero"))
        .await
        .unwrap();
    assert!(columns(&db, HOSTILE_TABLE).await.is_empty());
}

mod hostile {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    #[throughline(table = "own\"er; DROP TABLE victim")]
    pub struct Owner {
        pub id: Option<i64>,
        #[throughline(max_length = 20)]
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    #[throughline(
        table = "th\"ing é",
        unique(name = "a\"b", fields("label", "owner")),
        index(name = "i\"x; DROP TABLE victim; --", fields("label"))
    )]
    pub struct Thing {
        pub id: Option<i64>,
        #[throughline(column = "la\"bel\\")]
        pub label: String,
        #[throughline(related_name = "+")]
        pub owner: ForeignKey<Owner>,
    }

    pub fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(Owner::meta()).register(Thing::meta());
        r
    }
}

/// Item 9: a model's hostile table, column, constraint and index names (`unique(name =
/// "a\"b")` used to break `create_tables`) work through `create_tables`, through a
/// generated migration, and through the ORM.
async fn hostile_names_in_models(db: Database) {
    db.execute_batch(r#"CREATE TABLE "victim" ("id" integer PRIMARY KEY)"#)
        .await
        .unwrap();
    let registry = hostile::registry();
    let use_models = |db: Database| async move {
        let owner = hostile::Owner {
            id: None,
            name: "o".into(),
        }
        .create(&db)
        .await
        .unwrap();
        hostile::Thing {
            id: None,
            label: "l".into(),
            owner: ForeignKey::new(owner.id.unwrap()),
        }
        .create(&db)
        .await
        .unwrap();
        assert_eq!(hostile::Thing::objects().count(&db).await.unwrap(), 1);
        assert_eq!(
            indexes_named(&db, "i\"x; DROP TABLE victim; --")
                .await
                .len(),
            1
        );
        assert_eq!(columns(&db, "victim").await, ["id"], "victim survived");
    };
    throughline::create_tables(&db, &registry).await.unwrap();
    use_models(db.clone()).await;
    throughline::drop_tables(&db, &registry).await.unwrap();
    // The same models through a generated migration.
    let dir = temp_dir(&format!("hostile-models-{:?}", db.backend()));
    make(&dir, &registry, &Hints::default()).unwrap();
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    use_models(db.clone()).await;
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), Some("zero"))
        .await
        .unwrap();
    assert_eq!(columns(&db, "victim").await, ["id"]);
    let _ = std::fs::remove_dir_all(dir);
}

/// Item 11: malformed migration files that used to be accepted are refused with the file,
/// the operation and the reason, by `load` and by `migrate`, and nothing is created.
async fn malformed_migration_files_are_refused(db: Database) {
    let id = serde_json::json!({"name": "id", "column": "id", "type": "auto", "primary_key": true});
    let cases = [
        (
            "default longer than max_length",
            vec![
                serde_json::json!({"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [
                    id.clone(),
                    {"name": "code", "column": "code", "type": "string(3)", "default": {"value": "toolong"}}
                ]}}),
            ],
            "longer than its max_length 3",
            "Create model Tag (table tag)",
        ),
        (
            "backfill longer than max_length",
            vec![
                serde_json::json!({"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [id.clone()]}}),
                serde_json::json!({"op": "add_field", "model": "Tag", "backfill": "toolong",
                    "field": {"name": "code", "column": "code", "type": "string(3)"}}),
            ],
            "longer than its max_length 3",
            "Add field Tag.code",
        ),
        (
            "no primary key",
            vec![
                serde_json::json!({"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [
                    {"name": "name", "column": "name", "type": "string"}
                ]}}),
            ],
            "no primary key",
            "Create model Tag (table tag)",
        ),
        (
            "every field removed",
            vec![
                serde_json::json!({"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [id.clone()]}}),
                serde_json::json!({"op": "remove_field", "model": "Tag", "field": "id"}),
            ],
            "no fields",
            "Remove field Tag.id",
        ),
    ];
    for (case, operations, reason, operation) in cases {
        let dir = temp_dir(&format!("malformed-{:?}", db.backend()));
        let bad = migration(serde_json::json!({"name": "0001_initial", "operations": operations}));
        migrations::write(&dir, &bad).unwrap();
        let err = migrations::load(&dir).unwrap_err();
        let throughline::Error::Migration(problem) = &err else {
            panic!("{case}: {err:?}");
        };
        assert!(
            problem
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("0001_initial.json")),
            "{case}: {problem:?}"
        );
        assert_eq!(problem.operation.as_deref(), Some(operation), "{case}");
        assert!(problem.reason.contains(reason), "{case}: {problem:?}");
        let err = migrations::migrate(&db, &[bad], None).await.unwrap_err();
        assert!(
            err.is_migration() && err.to_string().contains(reason),
            "{case}: {err}"
        );
        assert!(
            columns(&db, "tag").await.is_empty(),
            "{case}: nothing created"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Item 11: SQLite rebuilds a table to alter a column, which drops its triggers (and the
/// indexes throughline does not manage): they are read before and recreated after.
async fn rebuild_keeps_triggers_and_user_indexes(db: Database) {
    let initial = tag_initial("string(50)");
    migrations::migrate(&db, std::slice::from_ref(&initial), None)
        .await
        .unwrap();
    let trigger = match db.backend() {
        Backend::Sqlite => {
            r#"CREATE TABLE "tag_log" ("name" text);
               CREATE TRIGGER "tag_audit" AFTER INSERT ON "tag" BEGIN INSERT INTO "tag_log" VALUES (NEW."name"); END;
               CREATE INDEX "tag_by_weight" ON "tag" ("weight")"#
        }
        Backend::Mysql => {
            r#"CREATE TABLE "tag_log" ("name" text);
               CREATE TRIGGER "tag_audit" AFTER INSERT ON "tag" FOR EACH ROW INSERT INTO "tag_log" VALUES (NEW."name");
               CREATE INDEX "tag_by_weight" ON "tag" ("weight")"#
        }
        _ => {
            r#"CREATE TABLE "tag_log" ("name" text);
               CREATE FUNCTION "tag_audit_fn"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO "tag_log" VALUES (NEW."name"); RETURN NEW; END $$;
               CREATE TRIGGER "tag_audit" AFTER INSERT ON "tag" FOR EACH ROW EXECUTE FUNCTION "tag_audit_fn"();
               CREATE INDEX "tag_by_weight" ON "tag" ("weight")"#
        }
    };
    db.execute_batch(trigger).await.unwrap();
    let files = vec![
        initial,
        alter(
            "0002_wider",
            serde_json::json!({"name": "name", "column": "name", "type": "string(80)", "nullable": true}),
        ),
    ];
    if db.backend() == Backend::Sqlite {
        let sql = migrations::sql(&files, "0002_wider", Backend::Sqlite, false).unwrap();
        assert!(
            sql.iter().any(|s| s.contains("\"tag__new\"")),
            "a rebuild: {sql:#?}"
        );
    }
    migrations::migrate(&db, &files, None).await.unwrap();
    db.execute_batch(r#"INSERT INTO "tag" ("name") VALUES ('after')"#)
        .await
        .unwrap();
    assert_eq!(
        column_of(&db, r#"SELECT "name" FROM "tag_log""#, vec![]).await,
        ["after"],
        "the trigger survived the rebuild"
    );
    assert_eq!(indexes_named(&db, "tag_by_weight").await, ["tag_by_weight"]);
    // Backwards (another rebuild), the trigger still fires.
    migrations::migrate(&db, &files, Some("0001_initial"))
        .await
        .unwrap();
    db.execute_batch(r#"INSERT INTO "tag" ("name") VALUES ('back')"#)
        .await
        .unwrap();
    assert_eq!(
        column_of(
            &db,
            r#"SELECT "name" FROM "tag_log" ORDER BY "name""#,
            vec![]
        )
        .await,
        ["after", "back"]
    );
}

// ---------------------------------------------------------------------------------------
// Review fixes: column changes, fills, locks, row checks, views, literals, constraints.
// ---------------------------------------------------------------------------------------

/// Runs `sql` inside `tx` (another connection's transaction on PostgreSQL; on SQLite the
/// writer, held until the transaction ends).
async fn batch_in(tx: &throughline::Transaction<'static>, sql: &str) {
    let sql = sql.to_owned();
    tx.run(
        throughline_db::Access::WriteOne,
        throughline_db::op(move |conn| Box::pin(async move { conn.batch(&sql).await })),
    )
    .await
    .unwrap();
}

fn tag_label_initial() -> Migration {
    migration(serde_json::json!({
        "name": "0001_initial",
        "operations": [{"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [
            {"name": "id", "column": "id", "type": "auto", "primary_key": true},
            {"name": "label", "column": "label", "type": "string(50)", "nullable": true, "unique": true}
        ]}}]
    }))
}

/// Review item 1: an alter_field that changes a field's column moves the column with its
/// data (SQLite's rebuild copied by column name and left the new column NULL; PostgreSQL
/// emitted nothing), and back.
async fn changed_column_keeps_its_data(db: Database) {
    let files = vec![
        tag_label_initial(),
        alter(
            "0002_label2",
            serde_json::json!({"name": "label", "column": "label2", "type": "string(50)", "nullable": true, "unique": true}),
        ),
        migration(serde_json::json!({
            "name": "0003_not_unique",
            "dependencies": ["0002_label2"],
            "operations": [{"op": "alter_field", "model": "Tag", "field":
                {"name": "label", "column": "label2", "type": "string(50)", "nullable": true}}]
        })),
    ];
    migrations::migrate(&db, &files[..1], None).await.unwrap();
    db.execute_batch(r#"INSERT INTO "tag" ("label") VALUES ('keep'), (NULL)"#)
        .await
        .unwrap();
    migrations::migrate(&db, &files[..2], None).await.unwrap();
    assert_eq!(columns(&db, "tag").await, ["id", "label2"]);
    let duplicate = r#"INSERT INTO "tag" ("label2") VALUES ('keep')"#;
    assert!(db.execute_batch(duplicate).await.is_err(), "still unique");
    assert_eq!(
        column_of(
            &db,
            r#"SELECT COALESCE("label2", '-') FROM "tag" ORDER BY "id""#,
            vec![]
        )
        .await,
        ["keep", "-"]
    );
    // The unique constraint was renamed with its column: dropping it finds it.
    migrations::migrate(&db, &files, None).await.unwrap();
    migrations::migrate(&db, &files, Some("0002_label2"))
        .await
        .unwrap();
    migrations::migrate(&db, &files, Some("0001_initial"))
        .await
        .unwrap();
    assert_eq!(columns(&db, "tag").await, ["id", "label"]);
    assert_eq!(
        column_of(
            &db,
            r#"SELECT COALESCE("label", '-') FROM "tag" ORDER BY "id""#,
            vec![]
        )
        .await,
        ["keep", "-"]
    );
}

fn library_initial() -> Migration {
    migration(serde_json::json!({
        "name": "0001_initial",
        "operations": [
            {"op": "create_model", "model": {"name": "Author", "table": "author", "fields": [
                {"name": "id", "column": "id", "type": "auto", "primary_key": true},
                {"name": "name", "column": "name", "type": "string(50)"}
            ]}},
            {"op": "create_model", "model": {"name": "Book", "table": "book", "fields": [
                {"name": "id", "column": "id", "type": "auto", "primary_key": true},
                {"name": "title", "column": "title", "type": "string(50)"},
                {"name": "author", "column": "author_id", "type": "i64",
                 "foreign_key": {"to": "Author", "on_delete": "cascade"}}
            ]}}
        ]
    }))
}

/// `title:author key` of every book, in key order.
async fn book_links(db: &Database, column: &str) -> Vec<String> {
    let key = as_text(db, &throughline_query::ddl::quote(column));
    let sql = format!(
        r#"SELECT {} FROM "book" ORDER BY "id""#,
        concat(db, &[r#""title""#, "':'", &key])
    );
    column_of(db, &sql, vec![]).await
}

/// The SQL joining `parts` as text (`||`, or `CONCAT` on MySQL, where `||` means OR).
fn concat(db: &Database, parts: &[&str]) -> String {
    match db.backend() {
        Backend::Mysql => format!("CONCAT({})", parts.join(", ")),
        _ => parts.join(" || "),
    }
}

/// `expression` cast to text.
fn as_text(db: &Database, expression: &str) -> String {
    match db.backend() {
        Backend::Mysql => format!("CAST({expression} AS CHAR)"),
        _ => format!("CAST({expression} AS TEXT)"),
    }
}

/// Review item 1: renaming a foreign key `author` → `writer` (the rename question answered
/// yes) is one rename_field that moves the derived column `author_id` → `writer_id` with
/// every link, on both backends, and back; so is the rename_field + alter_field pair that
/// makemigrations used to write, which wiped the links on SQLite.
async fn renamed_foreign_key_keeps_its_links(db: Database) {
    let initial = library_initial();
    migrations::migrate(&db, std::slice::from_ref(&initial), None)
        .await
        .unwrap();
    db.execute_batch(
        r#"INSERT INTO "author" ("name") VALUES ('Ann'), ('Bob');
           INSERT INTO "book" ("title", "author_id") VALUES ('A', 1), ('B', 2), ('C', 1)"#,
    )
    .await
    .unwrap();
    let from = migrations::replay(std::slice::from_ref(&initial)).unwrap();
    let mut to = from.clone();
    let book = to.models.get_mut("Book").unwrap();
    let field = book.fields.iter_mut().find(|f| f.name == "author").unwrap();
    field.name = "writer".into();
    field.column = "writer_id".into();
    let hints = Hints {
        field_renames: vec![("Book".into(), "author".into(), "writer".into())],
        ..Hints::default()
    };
    let detection = migrations::detect(&from, &to, &hints);
    assert!(
        detection.refused.is_empty() && detection.questions.is_empty(),
        "{detection:?}"
    );
    assert!(
        matches!(
            detection.operations.as_slice(),
            [Operation::RenameField { .. }]
        ),
        "one rename_field: {:#?}",
        detection.operations
    );
    let renamed = Migration {
        name: "0002_writer".into(),
        dependencies: vec!["0001_initial".into()],
        operations: detection.operations,
    };
    let files = vec![initial.clone(), renamed];
    migrations::migrate(&db, &files, None).await.unwrap();
    assert_eq!(columns(&db, "book").await, ["id", "title", "writer_id"]);
    assert_eq!(book_links(&db, "writer_id").await, ["A:1", "B:2", "C:1"]);
    assert_eq!(
        indexes_named(&db, "book_writer_id_idx").await,
        ["book_writer_id_idx"]
    );
    assert!(indexes_named(&db, "book_author_id_idx").await.is_empty());
    // Still a foreign key.
    assert!(
        db.execute_batch(r#"INSERT INTO "book" ("title", "writer_id") VALUES ('X', 99)"#)
            .await
            .is_err()
    );
    migrations::migrate(&db, &files, Some("0001_initial"))
        .await
        .unwrap();
    assert_eq!(columns(&db, "book").await, ["id", "title", "author_id"]);
    assert_eq!(book_links(&db, "author_id").await, ["A:1", "B:2", "C:1"]);
    // The pair an earlier makemigrations wrote for the same rename.
    let pair = migration(serde_json::json!({
        "name": "0002_writer_pair",
        "dependencies": ["0001_initial"],
        "operations": [
            {"op": "rename_field", "model": "Book", "from": "author", "to": "writer"},
            {"op": "alter_field", "model": "Book", "field": {"name": "writer", "column": "writer_id",
             "type": "i64", "foreign_key": {"to": "Author", "on_delete": "cascade"}}}
        ]
    }));
    let files = vec![initial, pair];
    migrations::migrate(&db, &files, None).await.unwrap();
    assert_eq!(columns(&db, "book").await, ["id", "title", "writer_id"]);
    assert_eq!(book_links(&db, "writer_id").await, ["A:1", "B:2", "C:1"]);
}

/// Review item 2: altering a field that stays nullable keeps its NULLs (SQLite's rebuild
/// wrote the default into them, and now() into an auto_now field's); only a field that
/// becomes NOT NULL gets its NULL rows filled.
async fn nullable_field_keeps_its_nulls(db: Database) {
    let initial = migration(serde_json::json!({
        "name": "0001_initial",
        "operations": [{"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [
            {"name": "id", "column": "id", "type": "auto", "primary_key": true},
            {"name": "note", "column": "note", "type": "string(50)", "nullable": true, "default": {"value": "x"}},
            {"name": "seen", "column": "seen", "type": "datetime", "nullable": true, "default": "auto_now"}
        ]}}]
    }));
    let wider = migration(serde_json::json!({
        "name": "0002_wider",
        "dependencies": ["0001_initial"],
        "operations": [
            {"op": "alter_field", "model": "Tag", "field": {"name": "note", "column": "note",
             "type": "string(80)", "nullable": true, "default": {"value": "x"}}},
            {"op": "alter_field", "model": "Tag", "field": {"name": "seen", "column": "seen",
             "type": "datetime", "nullable": true, "index": true, "default": "auto_now"}}
        ]
    }));
    let required = migration(serde_json::json!({
        "name": "0003_required",
        "dependencies": ["0002_wider"],
        "operations": [
            {"op": "alter_field", "model": "Tag", "field": {"name": "note", "column": "note",
             "type": "string(80)", "default": {"value": "x"}}}
        ]
    }));
    let files = vec![initial, wider, required];
    migrations::migrate(&db, &files[..1], None).await.unwrap();
    db.execute_batch(r#"INSERT INTO "tag" ("note", "seen") VALUES (NULL, NULL), ('kept', NULL)"#)
        .await
        .unwrap();
    let sql = format!(
        r#"SELECT {} FROM "tag" ORDER BY "id""#,
        concat(
            &db,
            &[
                r#"COALESCE("note", '-')"#,
                "'/'",
                r#"CASE WHEN "seen" IS NULL THEN '-' ELSE 'set' END"#
            ]
        )
    );
    let rows = || column_of(&db, &sql, vec![]);
    migrations::migrate(&db, &files[..2], None).await.unwrap();
    assert_eq!(rows().await, ["-/-", "kept/-"], "NULLs kept");
    // Backwards (another rebuild on SQLite) too.
    migrations::migrate(&db, &files, Some("0001_initial"))
        .await
        .unwrap();
    assert_eq!(rows().await, ["-/-", "kept/-"], "NULLs kept backwards");
    // Becoming NOT NULL fills them with the default.
    migrations::migrate(&db, &files, None).await.unwrap();
    assert_eq!(rows().await, ["x/-", "kept/-"]);
}

fn measure_initial() -> Migration {
    migration(serde_json::json!({
        "name": "0001_initial",
        "operations": [{"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [
            {"name": "id", "column": "id", "type": "auto", "primary_key": true},
            {"name": "ratio", "column": "ratio", "type": "f64", "nullable": true},
            {"name": "data", "column": "data", "type": "json", "nullable": true},
            {"name": "big", "column": "big", "type": "i64", "nullable": true},
            {"name": "flag", "column": "flag", "type": "i32", "nullable": true},
            {"name": "at", "column": "at", "type": "datetime", "nullable": true}
        ]}}]
    }))
}

/// Review item 3: a row written while a narrowing change is being checked cannot slip past
/// the checks (PostgreSQL checked, then waited for the writer's lock and rounded its 2.5 to
/// 2 with `::bigint`): the table is locked before the checks. And the SQL that sqlmigrate
/// prints, run by hand without the checks, fails rather than round or truncate.
async fn narrowing_checks_see_the_rows_changed(db: Database) {
    let initial = measure_initial();
    let to_int = alter(
        "0002_int",
        serde_json::json!({"name": "ratio", "column": "ratio", "type": "i64", "nullable": true}),
    );
    migrations::migrate(&db, std::slice::from_ref(&initial), None)
        .await
        .unwrap();
    db.execute_batch(r#"INSERT INTO "tag" ("ratio") VALUES (1.0), (2.0)"#)
        .await
        .unwrap();
    // Another writer's row, not committed yet when the migration starts.
    let tx = db.begin().await.unwrap();
    batch_in(&tx, r#"INSERT INTO "tag" ("ratio") VALUES (2.5)"#).await;
    let files = vec![initial.clone(), to_int];
    let migrating = tokio::spawn({
        let (db, files) = (db.clone(), files.clone());
        async move { migrations::migrate(&db, &files, None).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    tx.commit().await.unwrap();
    let err = migrating.await.unwrap().unwrap_err();
    let text = err.to_string();
    assert!(err.is_migration(), "{err:?}");
    assert!(
        text.contains("not a whole number") && text.contains("id 3"),
        "{text}"
    );
    let halves = r#"SELECT count(*) FROM "tag" WHERE "ratio" = 2.5"#;
    assert_eq!(column_of(&db, halves, vec![]).await, ["1"]);
    if db.backend() == Backend::Postgres {
        db.execute_batch(r#"UPDATE "tag" SET "data" = '"longer than three"', "flag" = 5"#)
            .await
            .unwrap();
        for (name, field) in [
            (
                "0002_int",
                serde_json::json!({"name": "ratio", "column": "ratio", "type": "i64", "nullable": true}),
            ),
            (
                "0002_short",
                serde_json::json!({"name": "data", "column": "data", "type": "string(3)", "nullable": true}),
            ),
            (
                "0002_flag",
                serde_json::json!({"name": "flag", "column": "flag", "type": "bool", "nullable": true}),
            ),
        ] {
            let files = vec![initial.clone(), alter(name, field)];
            let sql = migrations::sql(&files, name, Backend::Postgres, false).unwrap();
            assert!(sql[0].starts_with("LOCK TABLE"), "{sql:#?}");
            let by_hand = sql[1..].join(";\n");
            assert!(db.execute_batch(&by_hand).await.is_err(), "{by_hand}");
        }
        assert_eq!(column_of(&db, halves, vec![]).await, ["1"]);
        assert_eq!(
            column_of(&db, r#"SELECT DISTINCT "data"::text FROM "tag""#, vec![]).await,
            [r#""longer than three""#]
        );
        assert_eq!(
            column_of(&db, r#"SELECT DISTINCT "flag" FROM "tag""#, vec![]).await,
            ["5"]
        );
    }
}

/// Review item 4: narrowing changes that had no row check. A 64-bit integer becoming a
/// float is refused when a value is beyond 2^53 (it would lose precision), an integer
/// becoming a boolean when a value is neither 0 nor 1 (PostgreSQL made 5 true); a
/// datetime becoming a date (which drops the time) is refused outright.
async fn narrowing_without_a_former_check(db: Database) {
    let initial = measure_initial();
    migrations::migrate(&db, std::slice::from_ref(&initial), None)
        .await
        .unwrap();
    db.execute_batch(
        r#"INSERT INTO "tag" ("big", "flag") VALUES (9007199254740993, 5), (-3, 0), (NULL, NULL)"#,
    )
    .await
    .unwrap();
    let refused = |name: &str, field: serde_json::Value| {
        let files = vec![initial.clone(), alter(name, field)];
        let db = db.clone();
        async move {
            let err = migrations::migrate(&db, &files, None).await.unwrap_err();
            assert!(err.is_migration(), "{err:?}");
            assert!(!migrations::status(&db, &files).await.unwrap()[1].1);
            err.to_string()
        }
    };
    let to_float =
        serde_json::json!({"name": "big", "column": "big", "type": "f64", "nullable": true});
    let text = refused("0002_float", to_float.clone()).await;
    assert!(
        text.contains("1 row(s)") && text.contains("id 1") && text.contains("2^53"),
        "{text}"
    );
    let to_bool =
        serde_json::json!({"name": "flag", "column": "flag", "type": "bool", "nullable": true});
    let text = refused("0002_bool", to_bool.clone()).await;
    assert!(
        text.contains("1 row(s)") && text.contains("id 1") && text.contains("neither 0 nor 1"),
        "{text}"
    );
    let text = refused(
        "0002_date",
        serde_json::json!({"name": "at", "column": "at", "type": "date", "nullable": true}),
    )
    .await;
    assert!(text.contains("time of day"), "{text}");
    assert_eq!(
        column_of(
            &db,
            &format!(
                r#"SELECT {} FROM "tag" WHERE "id" = 1"#,
                concat(
                    &db,
                    &[&as_text(&db, r#""big""#), "'/'", &as_text(&db, r#""flag""#)]
                )
            ),
            vec![]
        )
        .await,
        ["9007199254740993/5"]
    );
    // Once every row fits, both apply, exactly.
    db.execute_batch(r#"UPDATE "tag" SET "big" = 9007199254740992, "flag" = 1 WHERE "id" = 1"#)
        .await
        .unwrap();
    let mut files = vec![initial.clone(), alter("0002_float", to_float)];
    files.push(migration(serde_json::json!({
        "name": "0003_bool",
        "dependencies": ["0002_float"],
        "operations": [{"op": "alter_field", "model": "Tag", "field": to_bool}]
    })));
    migrations::migrate(&db, &files, None).await.unwrap();
    assert_eq!(
        column_of(
            &db,
            r#"SELECT "big" FROM "tag" WHERE "big" IS NOT NULL ORDER BY "id""#,
            vec![]
        )
        .await,
        ["9007199254740992", "-3"]
    );
    assert_eq!(
        column_of(
            &db,
            r#"SELECT "flag" FROM "tag" WHERE "flag" IS NOT NULL ORDER BY "id""#,
            vec![]
        )
        .await,
        match db.backend() {
            Backend::Sqlite => ["1", "0"],
            _ => ["true", "false"],
        }
    );
}

/// Review item 5: a SQLite rebuild of a table that a view, or a trigger on another table,
/// refers to used to fail at the rename ("error in view ...: no such table: main.tag"):
/// it runs with `legacy_alter_table`, restored afterwards (after a failure too), and the
/// view and the trigger work afterwards.
async fn rebuild_keeps_views_and_triggers_of_other_tables(db: Database) {
    let initial = tag_initial("string(50)");
    migrations::migrate(&db, std::slice::from_ref(&initial), None)
        .await
        .unwrap();
    let objects = match db.backend() {
        Backend::Sqlite => {
            r#"CREATE VIEW "tag_weights" AS SELECT "id", "weight" FROM "tag";
               CREATE TABLE "feed" ("x" integer);
               CREATE TRIGGER "feed_to_tag" AFTER INSERT ON "feed" BEGIN INSERT INTO "tag" ("weight") VALUES (NEW."x"); END"#
        }
        Backend::Mysql => {
            r#"CREATE VIEW "tag_weights" AS SELECT "id", "weight" FROM "tag";
               CREATE TABLE "feed" ("x" integer);
               CREATE TRIGGER "feed_to_tag" AFTER INSERT ON "feed" FOR EACH ROW INSERT INTO "tag" ("weight") VALUES (NEW."x")"#
        }
        _ => {
            r#"CREATE VIEW "tag_weights" AS SELECT "id", "weight" FROM "tag";
               CREATE TABLE "feed" ("x" integer);
               CREATE FUNCTION "feed_fn"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO "tag" ("weight") VALUES (NEW."x"); RETURN NEW; END $$;
               CREATE TRIGGER "feed_to_tag" AFTER INSERT ON "feed" FOR EACH ROW EXECUTE FUNCTION "feed_fn"()"#
        }
    };
    db.execute_batch(objects).await.unwrap();
    db.execute_batch(r#"INSERT INTO "tag" ("name", "weight") VALUES ('a', 1)"#)
        .await
        .unwrap();
    let files = vec![
        initial,
        alter(
            "0002_wider",
            serde_json::json!({"name": "name", "column": "name", "type": "string(80)", "nullable": true}),
        ),
    ];
    let weights = || {
        column_of(
            &db,
            r#"SELECT "weight" FROM "tag_weights" ORDER BY "id""#,
            vec![],
        )
    };
    migrations::migrate(&db, &files, None).await.unwrap();
    db.execute_batch(r#"INSERT INTO "feed" ("x") VALUES (2)"#)
        .await
        .unwrap();
    assert_eq!(weights().await, ["1", "2"]);
    migrations::migrate(&db, &files, Some("0001_initial"))
        .await
        .unwrap();
    db.execute_batch(r#"INSERT INTO "feed" ("x") VALUES (3)"#)
        .await
        .unwrap();
    assert_eq!(weights().await, ["1", "2", "3"]);
    if db.backend() == Backend::Sqlite {
        let legacy = || column_of(&db, "PRAGMA legacy_alter_table", vec![]);
        assert_eq!(legacy().await, ["0"], "restored");
        // A rebuild that fails half-way (its temporary table is taken) restores it too.
        db.execute_batch(r#"CREATE TABLE "tag__new" ("x" integer)"#)
            .await
            .unwrap();
        assert!(migrations::migrate(&db, &files, None).await.is_err());
        assert_eq!(legacy().await, ["0"], "restored after a failure");
        assert_eq!(weights().await, ["1", "2", "3"]);
    }
}

/// A string that breaks out of a literal that only doubles its quotes when backslashes
/// escape (PostgreSQL with `standard_conforming_strings=off`).
const TRICKY: &str =
    "it's a \\'; DROP TABLE victim; -- \\\\ back\\slash \\n \"q\" \t\u{1a}\r\n end";

/// Review item 6: backfill values are written exactly whatever the session's settings:
/// strings with quotes and backslashes (under `standard_conforming_strings=off` a backfill
/// `\'; DROP TABLE victim; --` used to inject), and datetimes (written without an offset,
/// they were shifted by the session's `TimeZone`).
async fn backfills_round_trip_exactly(db: Database) {
    let initial = tag_initial("string(100)");
    let json = serde_json::json!({"k": "a\"b\\c'd"});
    let backfilled = migration(serde_json::json!({
        "name": "0002_backfilled",
        "dependencies": ["0001_initial"],
        "operations": [
            {"op": "add_field", "model": "Tag", "backfill": TRICKY,
             "field": {"name": "note", "column": "note", "type": "string", "nullable": true}},
            {"op": "add_field", "model": "Tag", "backfill": TRICKY,
             "field": {"name": "required", "column": "required", "type": "string"}},
            {"op": "add_field", "model": "Tag", "backfill": json,
             "field": {"name": "data", "column": "data", "type": "json", "nullable": true}},
            {"op": "add_field", "model": "Tag", "backfill": "2024-01-02T03:04:05Z",
             "field": {"name": "at", "column": "at", "type": "datetime", "nullable": true}},
            {"op": "add_field", "model": "Tag", "backfill": "2024-01-02T03:04:05Z",
             "field": {"name": "at2", "column": "at2", "type": "datetime"}},
            {"op": "alter_field", "model": "Tag", "backfill": TRICKY,
             "field": {"name": "name", "column": "name", "type": "string(100)"}}
        ]
    }));
    migrations::migrate(&db, std::slice::from_ref(&initial), None)
        .await
        .unwrap();
    db.execute_batch(
        r#"CREATE TABLE "victim" ("x" integer); INSERT INTO "tag" ("name", "weight") VALUES (NULL, 1)"#,
    )
    .await
    .unwrap();
    migrations::migrate(&db, &[initial, backfilled], None)
        .await
        .unwrap();
    assert_eq!(
        column_of(&db, r#"SELECT count(*) FROM "victim""#, vec![]).await,
        ["0"]
    );
    for column in ["note", "required", "name"] {
        let sql = format!(r#"SELECT "{column}" FROM "tag""#);
        assert_eq!(column_of(&db, &sql, vec![]).await, [TRICKY], "{column}");
    }
    let data = column_of(&db, r#"SELECT "data" FROM "tag""#, vec![]).await;
    let read: serde_json::Value = serde_json::from_str(&data[0]).unwrap();
    assert_eq!(read, json);
    for column in ["at", "at2"] {
        let sql = format!(r#"SELECT "{column}" FROM "tag""#);
        assert_eq!(
            column_of(&db, &sql, vec![]).await,
            ["2024-01-02 03:04:05.000000"],
            "{column}"
        );
    }
}

mod backfills_round_trip_exactly {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::backfills_round_trip_exactly(crate::common::sqlite().await).await;
    }

    /// On connections whose session shifts datetimes without an offset and reads
    /// backslashes in plain literals as escapes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let settings = "-c TimeZone=America/New_York -c standard_conforming_strings=off";
        if let Some(db) = crate::common::postgres_with_settings(
            concat!(module_path!(), "::backfills_round_trip_exactly"),
            Default::default(),
            settings,
        )
        .await
        {
            super::backfills_round_trip_exactly(db).await;
        }
    }
}

/// A constraint name with quotes, a backslash and the dollar quote of a `DO` block.
const HOSTILE_UNIQUE: &str = r#"tag_bc" $throughline$ '; --"#;

/// Review item 7: PostgreSQL's remove_constraint ran `DROP CONSTRAINT IF EXISTS ...; DROP
/// INDEX IF EXISTS ...`, which silently did nothing when the constraint was not there. It
/// drops the table constraint (created with the table) or the unique index (created by
/// add_constraint) it finds, and fails the migration when there is neither; a name the
/// state does not know is refused on both backends.
async fn remove_constraint_drops_what_is_there_or_fails(db: Database) {
    let initial = migration(serde_json::json!({
        "name": "0001_initial",
        "operations": [{"op": "create_model", "model": {"name": "Tag", "table": "tag", "fields": [
            {"name": "id", "column": "id", "type": "auto", "primary_key": true},
            {"name": "a", "column": "a", "type": "i64"},
            {"name": "b", "column": "b", "type": "i64"},
            {"name": "c", "column": "c", "type": "i64"}
        ], "unique_constraints": [{"name": "tag_ab", "fields": ["a", "b"]}]}}]
    }));
    let added = migration(serde_json::json!({
        "name": "0002_bc",
        "dependencies": ["0001_initial"],
        "operations": [{"op": "add_constraint", "model": "Tag",
            "constraint": {"name": HOSTILE_UNIQUE, "fields": ["b", "c"]}}]
    }));
    let removed = migration(serde_json::json!({
        "name": "0003_removed",
        "dependencies": ["0002_bc"],
        "operations": [
            {"op": "remove_constraint", "model": "Tag", "name": "tag_ab"},
            {"op": "remove_constraint", "model": "Tag", "name": HOSTILE_UNIQUE}
        ]
    }));
    let files = vec![initial, added, removed];
    migrations::migrate(&db, &files[..2], None).await.unwrap();
    db.execute_batch(r#"INSERT INTO "tag" ("a", "b", "c") VALUES (1, 1, 1)"#)
        .await
        .unwrap();
    let duplicate = r#"INSERT INTO "tag" ("a", "b", "c") VALUES (1, 1, 1)"#;
    assert!(db.execute_batch(duplicate).await.is_err());
    if db.backend() == Backend::Postgres {
        // The second one dropped by hand: removing it is an error, and nothing changes.
        let hostile = throughline_query::ddl::quote(HOSTILE_UNIQUE);
        db.execute_batch(&format!("DROP INDEX {hostile}"))
            .await
            .unwrap();
        let err = migrations::migrate(&db, &files, None).await.unwrap_err();
        let text = err.to_string();
        assert!(
            err.is_migration()
                && text.contains("0003_removed")
                && text.contains("no unique constraint"),
            "{text}"
        );
        assert!(!migrations::status(&db, &files).await.unwrap()[2].1);
        assert!(db.execute_batch(duplicate).await.is_err(), "tag_ab kept");
        db.execute_batch(&format!(
            r#"CREATE UNIQUE INDEX {hostile} ON "tag" ("b", "c")"#
        ))
        .await
        .unwrap();
    }
    migrations::migrate(&db, &files, None).await.unwrap();
    db.execute_batch(duplicate).await.unwrap();
    // A name the state does not know.
    let mut unknown = files.clone();
    unknown.push(migration(serde_json::json!({
        "name": "0004_unknown",
        "dependencies": ["0003_removed"],
        "operations": [{"op": "remove_constraint", "model": "Tag", "name": "tag_nope"}]
    })));
    let err = migrations::migrate(&db, &unknown, None).await.unwrap_err();
    assert!(
        err.is_migration() && err.to_string().contains("no unique constraint tag_nope"),
        "{err}"
    );
}

/// MySQL/MariaDB only (their DDL is not transactional; the other backends roll a failed
/// migration back whole): a migration stopped half-way is undone from where it stopped
/// when migrating back; an operation stopped between two of its statements is refused
/// backwards (it can only be finished) and finished forwards from the failed statement;
/// a migration cancelled mid-statement leaves the migration lock free and its progress
/// recorded.
mod stopped_migrations {
    use super::*;
    use migrations::MigrationState;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        if let Some(db) = common::mysql("migrations::stopped_migrations").await {
            reversed_then_finished(&db).await;
            cancelled_leaves_the_lock_free(&db).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resumed_narrowing_checks_again_mysql() {
        if let Some(db) = common::mysql("migrations::stopped_migrations::narrowing").await {
            resumed_narrowing_checks_again(&db).await;
            edited_file_and_irreversible_tail(&db).await;
        }
    }

    /// Progress as another run left it.
    async fn progress(db: &Database, name: &str, operations: i64, statements: i64) {
        db.execute_batch(&format!(
            "INSERT INTO \"throughline_migration_progress\" (\"name\", \"operations\", \"statements\", \"backwards\") VALUES ('{name}', {operations}, {statements}, 0)"
        ))
        .await
        .unwrap();
    }

    /// A narrowing change stopped after its first statement (the backfill) takes its lock
    /// and checks the rows again when resumed: a 2.5 written meanwhile refuses it rather
    /// than being rounded by `MODIFY`.
    async fn resumed_narrowing_checks_again(db: &Database) {
        let initial = measure_initial();
        migrations::migrate(db, std::slice::from_ref(&initial), None)
            .await
            .unwrap();
        let to_int = migration(serde_json::json!({
            "name": "0002_int",
            "dependencies": ["0001_initial"],
            "operations": [{"op": "alter_field", "model": "Tag", "backfill": 0,
                "field": {"name": "ratio", "column": "ratio", "type": "i64"}}]
        }));
        let files = vec![initial, to_int];
        let sql = migrations::sql(&files, "0002_int", Backend::Mysql, false).unwrap();
        assert!(
            sql[0].starts_with("LOCK TABLES") && sql.len() == 4,
            "{sql:#?}"
        );
        // The backfill ran, then the run stopped; a fractional value arrived since.
        progress(db, "0002_int", 0, 1).await;
        db.execute_batch(r#"INSERT INTO "tag" ("ratio") VALUES (2.5)"#)
            .await
            .unwrap();
        let err = migrations::migrate(db, &files, None).await.unwrap_err();
        assert!(err.to_string().contains("not a whole number"), "{err}");
        let halves = r#"SELECT count(*) FROM "tag" WHERE "ratio" = 2.5"#;
        assert_eq!(column_of(db, halves, vec![]).await, ["1"], "not rounded");
        // The lock went with the failed run: the table takes writes again.
        db.execute_batch(r#"UPDATE "tag" SET "ratio" = 3"#)
            .await
            .unwrap();
        migrations::migrate(db, &files, None).await.unwrap();
        assert_eq!(
            migrations::status(db, &files).await.unwrap()[1],
            ("0002_int".to_owned(), true)
        );
        migrations::migrate(db, &files, Some("zero")).await.unwrap();
    }

    /// Progress that does not match the file (edited after the stop) is an error naming
    /// it, not a panic; a migration stopped before its irreversible last operation is
    /// undone over the operations in effect.
    async fn edited_file_and_irreversible_tail(db: &Database) {
        let initial = tag_initial("string(50)");
        migrations::migrate(db, std::slice::from_ref(&initial), None)
            .await
            .unwrap();
        let tail = migration(serde_json::json!({
            "name": "0002_tail",
            "dependencies": ["0001_initial"],
            "operations": [
                {"op": "add_field", "model": "Tag",
                 "field": {"name": "note", "column": "note", "type": "string(20)", "nullable": true}},
                {"op": "run_sql", "sql": ["INSERT INTO \"missing_c\" VALUES (1)"]}
            ]
        }));
        let files = vec![initial.clone(), tail];
        assert!(migrations::migrate(db, &files, None).await.is_err());
        assert_eq!(columns(db, "tag").await, ["id", "name", "weight", "note"]);
        let steps = migrations::migrate(db, &files, Some("0001_initial"))
            .await
            .unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(columns(db, "tag").await, ["id", "name", "weight"]);

        let edited = migration(serde_json::json!({
            "name": "0002_edited",
            "dependencies": ["0001_initial"],
            "operations": [{"op": "run_sql", "sql": ["SELECT 1"], "reverse_sql": []}]
        }));
        progress(db, "0002_edited", 5, 0).await;
        let files = vec![initial, edited];
        for target in [None, Some("0001_initial")] {
            let err = migrations::migrate(db, &files, target).await.unwrap_err();
            assert!(err.to_string().contains("does not match its file"), "{err}");
        }
    }

    async fn reversed_then_finished(db: &Database) {
        let initial = tag_initial("string(50)");
        // Its second operation fails: the first (a new table) stays in effect.
        let notes = migration(serde_json::json!({
            "name": "0002_notes",
            "dependencies": ["0001_initial"],
            "operations": [
                {"op": "create_model", "model": {"name": "Note", "table": "note", "fields": [
                    {"name": "id", "column": "id", "type": "auto", "primary_key": true}]}},
                {"op": "run_sql", "sql": ["INSERT INTO \"missing_a\" VALUES (1)"], "reverse_sql": []}
            ]
        }));
        let files = vec![initial, notes];
        assert!(migrations::migrate(db, &files, None).await.is_err());
        assert_eq!(columns(db, "note").await, ["id"]);
        let status = migrations::status_detail(db, &files).await.unwrap();
        assert!(
            matches!(
                &status[1].1,
                MigrationState::Partial {
                    operations: 1,
                    of: 2,
                    ..
                }
            ),
            "{status:?}"
        );
        // Migrating back undoes what is in effect: the table goes, nothing is recorded.
        let steps = migrations::migrate(db, &files, Some("0001_initial"))
            .await
            .unwrap();
        assert_eq!(steps.len(), 1);
        assert!(!steps[0].forwards);
        assert!(columns(db, "note").await.is_empty());
        assert_eq!(
            migrations::status_detail(db, &files).await.unwrap()[1].1,
            MigrationState::Pending
        );

        // One operation of two statements stopped after the first.
        let half = migration(serde_json::json!({
            "name": "0002_notes",
            "dependencies": ["0001_initial"],
            "operations": [
                {"op": "run_sql",
                 "sql": ["CREATE TABLE \"made\" (\"x\" integer)", "INSERT INTO \"missing_b\" VALUES (1)"],
                 "reverse_sql": ["DROP TABLE \"made\""]}
            ]
        }));
        let files = vec![files[0].clone(), half];
        let err = migrations::migrate(db, &files, None).await.unwrap_err();
        assert!(
            err.to_string().contains("statement 2 of 2 failed")
                && err.to_string().contains("1 statement(s) of this one ran"),
            "{err}"
        );
        let status = migrations::status_detail(db, &files).await.unwrap();
        assert!(
            matches!(
                &status[1].1,
                MigrationState::Partial {
                    operations: 0,
                    statements: 1,
                    backwards: false,
                    ..
                }
            ),
            "{status:?}"
        );
        assert!(
            status[1]
                .1
                .to_string()
                .contains("stopped after 1 of its statements")
        );
        let refused = migrations::migrate(db, &files, Some("0001_initial"))
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("stopped half-way"),
            "{refused}"
        );
        assert_eq!(columns(db, "made").await, ["x"], "nothing undone");
        // Fixed, it finishes from the failed statement (`made` is not created again).
        db.execute_batch(r#"CREATE TABLE "missing_b" ("x" integer)"#)
            .await
            .unwrap();
        let steps = migrations::migrate(db, &files, None).await.unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(
            column_of(db, r#"SELECT "x" FROM "missing_b""#, vec![]).await,
            ["1"]
        );
        assert_eq!(
            migrations::status(db, &files).await.unwrap()[1],
            ("0002_notes".to_owned(), true)
        );
        // And back to zero, in full.
        migrations::migrate(db, &files, Some("zero")).await.unwrap();
        assert!(columns(db, "made").await.is_empty());
        assert!(columns(db, "tag").await.is_empty());
    }

    async fn cancelled_leaves_the_lock_free(db: &Database) {
        let initial = tag_initial("string(50)");
        let slow = migration(serde_json::json!({
            "name": "0002_slow",
            "dependencies": ["0001_initial"],
            "operations": [
                {"op": "run_sql", "sql": ["CREATE TABLE \"first\" (\"x\" integer)"], "reverse_sql": ["DROP TABLE \"first\""]},
                {"op": "run_sql", "sql": ["SELECT SLEEP(3)"], "reverse_sql": []}
            ]
        }));
        let files = vec![initial, slow];
        let cut = tokio::time::timeout(
            std::time::Duration::from_millis(800),
            migrations::migrate(db, &files, None),
        )
        .await;
        assert!(cut.is_err(), "cut off while sleeping");
        // The lock went with the closed connection: another migration gets it at once.
        let steps = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            migrations::migrate(db, &files, None),
        )
        .await
        .expect("the migration lock is free")
        .unwrap();
        assert_eq!(
            steps.len(),
            1,
            "resumed at the cut-off operation: {steps:?}"
        );
        assert_eq!(columns(db, "first").await, ["x"]);
        migrations::migrate(db, &files, Some("zero")).await.unwrap();
    }
}

/// A foreign key renamed (its column and table with it) and then removed; one added later,
/// made unique, made plain again and removed; all of it undone. On MySQL a foreign key is
/// dropped by its constraint's name before its column (a renamed column keeps its
/// constraint's former name), and a foreign key must never lack an index.
async fn foreign_key_fields_renamed_added_and_removed(db: Database) {
    let initial = library_initial();
    let step = |name: &str, previous: &str, operations: serde_json::Value| {
        migration(serde_json::json!({
            "name": name, "dependencies": [previous], "operations": operations
        }))
    };
    let editor = |unique: bool| {
        serde_json::json!({"name": "editor", "column": "editor_id", "type": "i64",
            "nullable": true, "unique": unique,
            "foreign_key": {"to": "Author", "on_delete": "set_null"}})
    };
    let files = vec![
        initial,
        step(
            "0002_rename",
            "0001_initial",
            serde_json::json!([
                {"op": "rename_field", "model": "Book", "from": "author", "to": "writer"},
                {"op": "alter_model_table", "model": "Book", "table": "volume"}
            ]),
        ),
        step(
            "0003_remove",
            "0002_rename",
            serde_json::json!([
                {"op": "remove_field", "model": "Book", "field": "writer"}
            ]),
        ),
        step(
            "0004_editor",
            "0003_remove",
            serde_json::json!([
                {"op": "add_field", "model": "Book", "field": editor(false)}
            ]),
        ),
        step(
            "0005_unique",
            "0004_editor",
            serde_json::json!([
                {"op": "alter_field", "model": "Book", "field": editor(true)}
            ]),
        ),
        step(
            "0006_plain",
            "0005_unique",
            serde_json::json!([
                {"op": "alter_field", "model": "Book", "field": editor(false)}
            ]),
        ),
        step(
            "0007_drop",
            "0006_plain",
            serde_json::json!([
                {"op": "remove_field", "model": "Book", "field": "editor"}
            ]),
        ),
    ];
    migrations::migrate(&db, &files, Some("0006_plain"))
        .await
        .unwrap();
    assert_eq!(columns(&db, "volume").await, ["id", "title", "editor_id"]);
    db.execute_batch(r#"INSERT INTO "author" ("name") VALUES ('Ann')"#)
        .await
        .unwrap();
    db.execute_batch(r#"INSERT INTO "volume" ("title", "editor_id") VALUES ('A', 1), ('B', 1)"#)
        .await
        .unwrap();
    let dangling = db
        .execute_batch(r#"INSERT INTO "volume" ("title", "editor_id") VALUES ('C', 99)"#)
        .await;
    assert!(dangling.is_err(), "the foreign key holds");
    db.execute_batch(r#"DELETE FROM "volume""#).await.unwrap();
    migrations::migrate(&db, &files, None).await.unwrap();
    assert_eq!(columns(&db, "volume").await, ["id", "title"]);
    // Back over the editor's steps, every one undone.
    migrations::migrate(&db, &files, Some("0003_remove"))
        .await
        .unwrap();
    assert_eq!(columns(&db, "volume").await, ["id", "title"]);
    assert_eq!(
        migrations::status(&db, &files)
            .await
            .unwrap()
            .iter()
            .filter(|(_, applied)| *applied)
            .count(),
        3
    );
}

/// A string primary key with a `max_length`, and a foreign key to it: the referring column
/// takes the key's type (MySQL refuses a `longtext` column referring to a `varchar(5)`
/// key), created by a migration and used by the ORM.
mod coded {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    pub struct Region {
        #[throughline(primary_key, max_length = 5)]
        pub code: String,
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Town {
        pub id: Option<i64>,
        pub name: String,
        #[throughline(related_name = "towns")]
        pub region: ForeignKey<Region>,
    }

    pub fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(Region::meta()).register(Town::meta());
        r
    }
}

async fn foreign_key_to_a_string_key(db: Database) {
    let dir = temp_dir(&format!("coded-{:?}", db.backend()));
    make(&dir, &coded::registry(), &Hints::default()).unwrap();
    migrations::migrate(&db, &migrations::load(&dir).unwrap(), None)
        .await
        .unwrap();
    let north = coded::Region {
        code: "NORTH".into(),
        name: "North".into(),
    }
    .create(&db)
    .await
    .unwrap();
    coded::Town {
        id: None,
        name: "Alnwick".into(),
        region: ForeignKey::to(&north),
    }
    .create(&db)
    .await
    .unwrap();
    let towns = coded::Town::objects()
        .filter(coded::Town::REGION_ID.eq(&north))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(towns.len(), 1);
    // Nothing left to migrate: the state from the models equals the migrated one.
    assert!(make(&dir, &coded::registry(), &Hints::default()).is_none());
    let _ = std::fs::remove_dir_all(dir);
}
