//! Relations to a model defined in another crate (`foreign_models::Author`): the reverse
//! accessors are generated as extension traits beside the referring models, so both
//! directions work across crates, and a glob import of the referring models' module brings
//! them in scope. Written once and run on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use foreign_models::Author;
use throughline::prelude::*;
use throughline::{Error, Registry};

/// The referring models, in their own module: the tests reach the reverse accessors
/// through `use shelf::*`, as an application does with its models module.
mod shelf {
    use foreign_models::Author;
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    #[throughline(ordering("title"))]
    pub struct Book {
        pub id: Option<i64>,
        #[throughline(related_name = "books")]
        pub author: ForeignKey<Author>,
        #[throughline(max_length = 100)]
        pub title: String,
    }

    /// An implicit many-to-many to the foreign model, with a reverse accessor.
    #[derive(Debug, Clone, Model)]
    #[throughline(many_to_many(name = "winners", to = Author, related_name = "prizes"))]
    pub struct Prize {
        pub id: Option<i64>,
        #[throughline(max_length = 100)]
        pub name: String,
    }
}

use shelf::*;

backend_tests!(
    foreign_key_to_a_model_of_another_crate,
    many_to_many_to_a_model_of_another_crate
);

async fn tables(db: &Database) {
    let mut registry = Registry::new();
    registry
        .register(Author::meta())
        .register(Book::meta())
        .register(Prize::meta())
        .register(PrizeWinners::meta());
    throughline::create_tables(db, &registry).await.unwrap();
}

/// A saved author of the other crate.
async fn author(db: &Database, name: &str) -> Author {
    Author {
        id: None,
        name: name.into(),
    }
    .create(db)
    .await
    .unwrap()
}

fn book(author: &Author, title: &str) -> Book {
    Book {
        id: None,
        author: ForeignKey::to(author),
        title: title.into(),
    }
}

async fn foreign_key_to_a_model_of_another_crate(db: Database) {
    tables(&db).await;
    let ann = author(&db, "ann").await;
    let bob = author(&db, "bob").await;
    for (author, title) in [(&ann, "one"), (&ann, "two"), (&bob, "three")] {
        book(author, title).create(&db).await.unwrap();
    }

    // Forward: across the key to the foreign model, lazily and joined.
    let of_ann = Book::objects()
        .filter(Book::AUTHOR.then(Author::NAME).eq("ann"))
        .select_related(Book::AUTHOR)
        .all(&db)
        .await
        .unwrap();
    let titles: Vec<&str> = of_ann.iter().map(|b| b.title.as_str()).collect();
    assert_eq!(titles, ["one", "two"]);
    assert_eq!(of_ann[0].author.loaded().unwrap().name, "ann");
    assert_eq!(of_ann[1].author.get(&db).await.unwrap().name, "ann");

    // Reverse: the accessor and its constant on the foreign model (trait BookAuthorReverse).
    assert_eq!(ann.books().unwrap().count(&db).await.unwrap(), 2);
    assert_eq!(
        bob.books().unwrap().all(&db).await.unwrap()[0].title,
        "three"
    );
    let with_three = Author::objects()
        .filter(Author::BOOKS.then(Book::TITLE).eq("three"))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(with_three.len(), 1);
    assert_eq!(with_three[0].name, "bob");
    let authors = Author::objects().all(&db).await.unwrap();
    let books = Author::BOOKS.prefetch(&authors, &db).await.unwrap();
    assert_eq!(books[0].len(), 2);
    assert_eq!(books[1][0].title, "three");
    // Through the trait by its name, as code that does not glob-import would.
    assert_eq!(
        <Author as BookAuthorReverse>::books(&ann)
            .unwrap()
            .count(&db)
            .await
            .unwrap(),
        2
    );

    // An unsaved foreign row is a typed error on the reverse side too.
    let ghost = Author {
        id: None,
        name: "ghost".into(),
    };
    assert!(matches!(ghost.books().unwrap_err(), Error::Unsaved { .. }));

    // The cascade crosses the crate boundary: deleting ann deletes her books.
    ann.delete(&db).await.unwrap();
    assert_eq!(Book::objects().count(&db).await.unwrap(), 1);
}

async fn many_to_many_to_a_model_of_another_crate(db: Database) {
    tables(&db).await;
    let ann = author(&db, "ann").await;
    let bob = author(&db, "bob").await;
    let gold = Prize {
        id: None,
        name: "gold".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let silver = Prize {
        id: None,
        name: "silver".into(),
    }
    .create(&db)
    .await
    .unwrap();
    gold.winners().add([&ann, &bob], &db).await.unwrap();
    silver.winners().add([&ann], &db).await.unwrap();

    // Forward, on the declaring model.
    let names: Vec<String> = gold
        .winners()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["ann", "bob"]);

    // Reverse, on the foreign model (trait PrizeWinnersReverse): read, filter and write.
    assert_eq!(ann.prizes().count(&db).await.unwrap(), 2);
    assert_eq!(bob.prizes().all(&db).await.unwrap()[0].name, "gold");
    let silver_winners = Author::objects()
        .filter(Author::PRIZES.then(Prize::NAME).eq("silver"))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(silver_winners.len(), 1);
    assert_eq!(silver_winners[0].name, "ann");
    bob.prizes().add([&silver], &db).await.unwrap();
    assert_eq!(silver.winners().count(&db).await.unwrap(), 2);
    ann.prizes().clear(&db).await.unwrap();
    assert_eq!(gold.winners().count(&db).await.unwrap(), 1);
    assert_eq!(
        Author::PRIZES_RELATION.of(&bob).count(&db).await.unwrap(),
        2
    );
}
