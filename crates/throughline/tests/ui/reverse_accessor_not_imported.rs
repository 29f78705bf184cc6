// The reverse accessor of `Book.author` is trait `BookAuthorReverse`, declared beside Book:
// importing Author and Book by name, without the trait or a glob, leaves it out of scope.
mod models {
    use throughline::prelude::*;

    #[derive(Debug, Clone, Model)]
    pub struct Author {
        pub id: Option<i64>,
        pub name: String,
    }

    #[derive(Debug, Clone, Model)]
    pub struct Book {
        pub id: Option<i64>,
        #[throughline(related_name = "books")]
        pub author: ForeignKey<Author>,
    }
}

use models::{Author, Book};

fn books(author: &Author) -> throughline::Result<throughline::QuerySet<Book>> {
    author.books()
}

fn main() {}
