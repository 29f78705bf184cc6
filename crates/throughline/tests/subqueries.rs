//! Subqueries correlated by any field (Django's `OuterRef("field")` into another model's
//! queryset, issue 17): `Rel::on(inner, outer)` used in `exists`, `count` and `first`
//! subqueries, in filters across it and from one row; NULLs match nothing.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use throughline::prelude::*;
use throughline::{Registry, Rel};

#[derive(Debug, Clone, PartialEq, Model)]
pub struct Customer {
    pub id: Option<i64>,
    #[throughline(max_length = 50)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Model)]
pub struct Purchase {
    pub id: Option<i64>,
    #[throughline(max_length = 50)]
    pub email: Option<String>,
    pub amount: i64,
    pub paid: bool,
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(Customer::meta()).register(Purchase::meta());
    r
}

backend_tests!(subqueries_correlate_by_any_field);

async fn subqueries_correlate_by_any_field(db: Database) {
    throughline::create_tables(&db, &registry()).await.unwrap();
    for email in [Some("ann@x"), Some("bo@x"), Some("cy@x"), None] {
        Customer {
            id: None,
            email: email.map(Into::into),
        }
        .create(&db)
        .await
        .unwrap();
    }
    for (email, amount, paid) in [
        (Some("ann@x"), 10, true),
        (Some("ann@x"), 30, false),
        (Some("bo@x"), 5, false),
        (None, 99, true),
    ] {
        Purchase {
            id: None,
            email: email.map(Into::into),
            amount,
            paid,
        }
        .create(&db)
        .await
        .unwrap();
    }
    let purchases: Rel<Customer, Purchase> = Rel::on(Purchase::EMAIL, Customer::EMAIL).unwrap();
    // Exists: customers with a paid purchase (the NULL email matches no NULL purchase).
    let paid = purchases.related().filter(Purchase::PAID.eq(true)).exists();
    let emails = Customer::objects()
        .filter(paid.is_true())
        .values_list(Customer::EMAIL, &db)
        .await
        .unwrap();
    assert_eq!(emails, [Some("ann@x".to_owned())]);
    // Count and first, annotated per customer.
    let rows = Customer::objects()
        .order_by([Customer::ID.asc()])
        .annotate((
            purchases.related().count(),
            purchases
                .related()
                .order_by([Purchase::AMOUNT.desc()])
                .first(Purchase::AMOUNT),
        ))
        .all(&db)
        .await
        .unwrap();
    let seen: Vec<(Option<String>, i64, Option<i64>)> = rows
        .into_iter()
        .map(|(c, (n, top))| (c.email, n, top))
        .collect();
    assert_eq!(
        seen,
        [
            (Some("ann@x".into()), 2, Some(30)),
            (Some("bo@x".into()), 1, Some(5)),
            (Some("cy@x".into()), 0, None),
            (None, 0, None),
        ]
    );
    // Across it in a filter, and from one row.
    let big = Customer::objects()
        .filter(purchases.then(Purchase::AMOUNT).gte(20))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(big, 1);
    let ann = Customer::objects()
        .get(Customer::EMAIL.eq("ann@x"), &db)
        .await
        .unwrap();
    assert_eq!(purchases.of(&ann).unwrap().count(&db).await.unwrap(), 2);
    // A field reached across a relation is refused.
    let across = Rel::<Customer, Purchase>::on(Purchase::EMAIL, purchases.then(Purchase::EMAIL));
    assert!(across.is_err());
}
