//! Decimal fields (issue 17): exact on every backend (text compared as a number on SQLite,
//! `numeric` on PostgreSQL, `DECIMAL` on MySQL), read back at the field's decimal places,
//! validated against `max_digits`/`decimal_places` before any SQL, filtered, ordered,
//! aggregated and computed as numbers, and usable as through values.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use throughline::expr::{coalesce, when};
use throughline::migrations::{self, Migration};
use throughline::prelude::*;
use throughline::{Counting, Error, OnExisting, Registry, Value};

#[derive(Debug, Clone, PartialEq, Model, serde::Serialize, serde::Deserialize)]
pub struct Product {
    pub id: Option<i64>,
    #[throughline(max_length = 20)]
    pub name: String,
    #[throughline(max_digits = 8, decimal_places = 2)]
    pub price: Decimal,
    #[throughline(max_digits = 28, decimal_places = 10)]
    pub big: Decimal,
    #[throughline(max_digits = 5, decimal_places = 3)]
    pub discount: Option<Decimal>,
}

#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "items", to = Product, through = Line, related_name = "baskets"))]
pub struct Basket {
    pub id: Option<i64>,
    pub label: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "line_pair", fields("basket", "product")))]
pub struct Line {
    pub id: Option<i64>,
    pub basket: ForeignKey<Basket>,
    pub product: ForeignKey<Product>,
    #[throughline(max_digits = 6, decimal_places = 3)]
    pub weight: Decimal,
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(Product::meta())
        .register(Basket::meta())
        .register(Line::meta());
    r
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn product(name: &str, price: &str) -> Product {
    Product {
        id: None,
        name: name.into(),
        price: d(price),
        big: d("0"),
        discount: None,
    }
}

async fn stocked(db: &Database) {
    throughline::create_tables(db, &registry()).await.unwrap();
    for (name, price) in [
        ("pear", "9.5"),
        ("fig", "10"),
        ("melon", "100.00"),
        ("kiwi", "2.25"),
    ] {
        product(name, price).create(db).await.unwrap();
    }
}

async fn names(query: throughline::QuerySet<Product>, db: &Database) -> Vec<String> {
    query
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect()
}

backend_tests!(
    decimals_round_trip_exactly,
    out_of_range_decimals_are_refused_before_any_sql,
    decimals_filter_and_order_as_numbers,
    decimals_aggregate_as_decimals,
    computed_updates_keep_the_decimal_places,
    decimal_through_values_compare_by_value,
    decimal_migrations_check_the_rows_and_inspect_back,
);

async fn decimals_round_trip_exactly(db: Database) {
    throughline::create_tables(&db, &registry()).await.unwrap();
    // 28 significant digits: more than a float holds (15–17).
    let values = [
        "1234567890123456.7890123456",
        "-999999999999999999.9999999999",
        "0.0000000001",
        "0",
    ];
    for (i, big) in values.iter().enumerate() {
        let mut p = product(&format!("p{i}"), "12.5");
        p.big = d(big);
        p.discount = Some(d("0.1"));
        let saved = p.create(&db).await.unwrap();
        let read = Product::objects()
            .get(Product::ID.eq(saved.id), &db)
            .await
            .unwrap();
        assert_eq!(read.big, d(big), "{big}");
        // Read back at the field's decimal places, on every backend.
        assert_eq!(read.price.to_string(), "12.50");
        assert_eq!(read.discount.unwrap().to_string(), "0.100");
        assert_eq!(
            read.big.normalize().to_string(),
            d(big).normalize().to_string()
        );
    }
    // The exact value is what a filter finds.
    let found = Product::objects()
        .filter(Product::BIG.eq(d("1234567890123456.7890123456")))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(found, 1);
    // JSON: decimals as strings (rust_decimal's serde), so no float is involved.
    let read = Product::objects()
        .get(Product::NAME.eq("p0"), &db)
        .await
        .unwrap();
    let json = serde_json::to_string(&read).unwrap();
    assert!(
        json.contains(r#""big":"1234567890123456.7890123456""#),
        "{json}"
    );
    let back: Product = serde_json::from_str(&json).unwrap();
    assert_eq!(back, read);
}

async fn out_of_range_decimals_are_refused_before_any_sql(db: Database) {
    throughline::create_tables(&db, &registry()).await.unwrap();
    let counting = Counting::new(&db);
    for (price, reason) in [
        (
            "1234567",
            "1234567 has 7 digits before the point, at most 6 allowed (max_digits 8, decimal_places 2)",
        ),
        (
            "0.125",
            "0.125 has 3 digits after the point, at most 2 allowed",
        ),
        (
            "-1000000.5",
            "-1000000.5 has 7 digits before the point, at most 6 allowed (max_digits 8, decimal_places 2)",
        ),
    ] {
        let err = product("x", price).create(&counting).await.unwrap_err();
        match &err {
            Error::Validation {
                field, reason: r, ..
            } => {
                assert_eq!(field, "price");
                assert_eq!(r, reason);
            }
            other => panic!("{other:?}"),
        }
    }
    // Trailing zeros are not digits: 1.500 fits two places.
    product("ok", "1.500").create(&counting).await.unwrap();
    assert_eq!(
        counting.count(),
        1,
        "only the valid insert reached the database"
    );
    // An update is validated too.
    let err = Product::objects()
        .update(vec![Product::PRICE.set(d("99999999"))], &counting)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert_eq!(counting.count(), 1);
    let all = Product::objects().all(&db).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].price, d("1.5"));
}

async fn decimals_filter_and_order_as_numbers(db: Database) {
    stocked(&db).await;
    // As numbers, not as text ("10" < "9.5" as text).
    let ordered = names(Product::objects().order_by([Product::PRICE.asc()]), &db).await;
    assert_eq!(ordered, ["kiwi", "pear", "fig", "melon"]);
    let ordered = names(Product::objects().order_by([Product::PRICE.desc()]), &db).await;
    assert_eq!(ordered, ["melon", "fig", "pear", "kiwi"]);
    let above = names(
        Product::objects()
            .filter(Product::PRICE.gt(d("9.99")))
            .order_by([Product::NAME.asc()]),
        &db,
    )
    .await;
    assert_eq!(above, ["fig", "melon"]);
    // 10 is 10.00 whatever its scale.
    let ten = names(
        Product::objects().filter(Product::PRICE.eq(d("10.000"))),
        &db,
    )
    .await;
    assert_eq!(ten, ["fig"]);
    let listed = names(
        Product::objects()
            .filter(Product::PRICE.is_in([d("2.250"), d("100")]))
            .order_by([Product::NAME.asc()]),
        &db,
    )
    .await;
    assert_eq!(listed, ["kiwi", "melon"]);
    let between = names(
        Product::objects()
            .filter(Product::PRICE.range(d("2.26"), d("10")))
            .order_by([Product::PRICE.asc()]),
        &db,
    )
    .await;
    assert_eq!(between, ["pear", "fig"]);
    // A decimal computed by COALESCE or CASE compares and orders as a number too.
    let price_or_discount = coalesce(Product::DISCOUNT, Product::PRICE);
    let ordered = names(Product::objects().order_by([price_or_discount.asc()]), &db).await;
    assert_eq!(ordered, ["kiwi", "pear", "fig", "melon"]);
    let above = names(
        Product::objects()
            .filter(price_or_discount.gt(d("9.99")))
            .order_by([Product::NAME.asc()]),
        &db,
    )
    .await;
    assert_eq!(above, ["fig", "melon"]);
    let fig_first = when(Product::NAME.eq("fig"), d("1000")).otherwise(Product::PRICE);
    let ordered = names(Product::objects().order_by([fig_first.desc()]), &db).await;
    assert_eq!(ordered, ["fig", "melon", "pear", "kiwi"]);
    let cheapest = Product::objects()
        .order_by([Product::PRICE.asc()])
        .first(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cheapest.price.to_string(), "2.25");
}

async fn decimals_aggregate_as_decimals(db: Database) {
    stocked(&db).await;
    let (total, mean, low, high) = Product::objects()
        .aggregate(
            (
                Product::PRICE.sum(),
                Product::PRICE.avg(),
                Product::PRICE.min(),
                Product::PRICE.max(),
            ),
            &db,
        )
        .await
        .unwrap();
    assert_eq!(total, Some(d("121.75")));
    assert_eq!(mean, Some(d("30.4375")));
    assert_eq!(low, Some(d("2.25")));
    assert_eq!(high, Some(d("100")));
    // Not exact in binary: SQLite sums floats, read back at 15 significant digits.
    for (name, price) in [("a", "0.10"), ("b", "0.20")] {
        product(name, price).create(&db).await.unwrap();
    }
    let small = Product::objects()
        .filter(Product::NAME.is_in(["a", "b"]))
        .aggregate((Product::PRICE.sum(), Product::PRICE.avg()), &db)
        .await
        .unwrap();
    assert_eq!(small, (Some(d("0.3")), Some(d("0.15"))));
    let none = Product::objects()
        .filter(Product::NAME.eq("nothing"))
        .aggregate(Product::PRICE.sum(), &db)
        .await
        .unwrap();
    assert_eq!(none, None);
}

async fn computed_updates_keep_the_decimal_places(db: Database) {
    stocked(&db).await;
    // update(price = F(price) * 1.1): 2.25 * 1.1 = 2.475, stored at two places as 2.48.
    let changed = Product::objects()
        .filter(Product::NAME.eq("kiwi"))
        .update(
            vec![Product::PRICE.set_expr(Product::PRICE * d("1.1"))],
            &db,
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let kiwi = Product::objects()
        .get(Product::NAME.eq("kiwi"), &db)
        .await
        .unwrap();
    assert_eq!(kiwi.price.to_string(), "2.48");
    // The stored value is the one read: a filter on it finds the row.
    let found = Product::objects()
        .filter(Product::PRICE.eq(d("2.48")))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(found, 1);
    // 28 digits: exact on PostgreSQL and MySQL; refused on SQLite, which would compute
    // in floating point (15 digits), before any SQL.
    Product::objects()
        .filter(Product::NAME.eq("kiwi"))
        .update(
            vec![Product::BIG.set(d("1234567890123456.7890123456"))],
            &db,
        )
        .await
        .unwrap();
    let bigger = Product::objects()
        .filter(Product::NAME.eq("kiwi"))
        .update(vec![Product::BIG.set_expr(Product::BIG + d("1"))], &db)
        .await;
    let kiwi = Product::objects()
        .get(Product::NAME.eq("kiwi"), &db)
        .await
        .unwrap();
    match db.backend() {
        throughline::Backend::Sqlite => {
            assert!(
                matches!(bigger, Err(Error::InvalidQuery { .. })),
                "{bigger:?}"
            );
            assert_eq!(kiwi.big, d("1234567890123456.7890123456"));
        }
        _ => {
            assert_eq!(bigger.unwrap(), 1);
            assert_eq!(kiwi.big, d("1234567890123457.7890123456"));
        }
    }
}

async fn decimal_through_values_compare_by_value(db: Database) {
    throughline::create_tables(&db, &registry()).await.unwrap();
    let basket = Basket {
        id: None,
        label: "weekly".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let pear = product("pear", "9.5").create(&db).await.unwrap();
    let weight = |w: &str| BasketItemsValues { weight: d(w) };
    let first = basket
        .items()
        .add_with([&pear], weight("1.5"), &db)
        .await
        .unwrap();
    assert_eq!(first.linked.len(), 1);
    // 1.500 is the stored 1.500: the same value, not a difference.
    let again = basket
        .items()
        .add_with([&pear], weight("1.500"), &db)
        .await
        .unwrap();
    assert_eq!(again.already_linked.len(), 1);
    assert!(again.differing.is_empty(), "{again:?}");
    let heavier = basket
        .items()
        .on_existing(OnExisting::Update)
        .add_with([&pear], weight("2.25"), &db)
        .await
        .unwrap();
    assert_eq!(heavier.updated.len(), 1);
    let line = Line::objects()
        .get(Line::PRODUCT.eq(&pear), &db)
        .await
        .unwrap();
    assert_eq!(line.weight.to_string(), "2.250");
    let err = basket
        .items()
        .on_existing(OnExisting::Update)
        .add_with([&pear], weight("1000"), &db)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
}

fn migration(value: serde_json::Value) -> Migration {
    serde_json::from_value(value).unwrap()
}

async fn amounts(db: &Database) -> Vec<Value> {
    throughline::raw::rows(db, r#"SELECT "amount" FROM "price" ORDER BY "id""#, vec![])
        .await
        .unwrap()
        .into_iter()
        .map(|mut row| row.remove(0))
        .collect()
}

async fn decimal_migrations_check_the_rows_and_inspect_back(db: Database) {
    let initial = migration(serde_json::json!({
        "name": "0001_initial",
        "operations": [{"op": "create_model", "model": {"name": "Price", "table": "price", "fields": [
            {"name": "id", "column": "id", "type": "auto", "primary_key": true},
            {"name": "amount", "column": "amount", "type": "decimal(8,3)"}
        ]}}]
    }));
    let fewer_places = migration(serde_json::json!({
        "name": "0002_fewer_places",
        "operations": [{"op": "alter_field", "model": "Price",
            "field": {"name": "amount", "column": "amount", "type": "decimal(8,2)"}}]
    }));
    let files = vec![initial, fewer_places];
    migrations::migrate(&db, &files, Some("0001_initial"))
        .await
        .unwrap();
    for amount in ["12.345", "1.5"] {
        throughline::raw::execute(
            &db,
            match db.backend() {
                throughline::Backend::Postgres => r#"INSERT INTO "price" ("amount") VALUES ($1)"#,
                _ => r#"INSERT INTO "price" ("amount") VALUES (?)"#,
            },
            vec![Value::Decimal(d(amount))],
        )
        .await
        .unwrap();
    }
    // Two places would round 12.345 away: refused, naming the rows, and nothing changes.
    let err = migrations::migrate(&db, &files, None).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("1 row(s)"), "{text}");
    assert!(
        text.contains("not a number of at most 8 digits with at most 2 after the point"),
        "{text}"
    );
    assert_eq!(
        migrations::status(&db, &files).await.unwrap()[1],
        ("0002_fewer_places".to_owned(), false)
    );
    let kept: Vec<Decimal> = amounts(&db)
        .await
        .into_iter()
        .map(|v| {
            match v.coerce(throughline::FieldType::Decimal {
                max_digits: 8,
                decimal_places: 3,
            }) {
                Value::Decimal(d) => d,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(kept, [d("12.345"), d("1.5")]);
    // Once the row fits, the change applies and the values keep their numbers.
    throughline::raw::execute(
        &db,
        r#"UPDATE "price" SET "amount" = '12.34' WHERE "amount" > '12'"#,
        vec![],
    )
    .await
    .unwrap();
    migrations::migrate(&db, &files, None).await.unwrap();
    // inspectdb reads the column back as a decimal of its precision.
    let tables = migrations::read_schema(&db).await.unwrap();
    let code = migrations::generate(&tables).code;
    assert!(
        code.contains("#[throughline(max_digits = 8, decimal_places = 2)]\n    pub amount: throughline::Decimal,"),
        "{code}"
    );
    // fake_initial accepts the table exactly as the migration creates it.
    migrations::migrate(&db, &files, Some("zero"))
        .await
        .unwrap();
    for statement in migrations::sql(&files, "0001_initial", db.backend(), false).unwrap() {
        db.execute_batch(&statement).await.unwrap();
    }
    let fake = migrations::MigrateOptions::default().fake_initial(true);
    let steps = migrations::migrate_with(&db, &files, None, &fake)
        .await
        .unwrap();
    assert!(steps[0].faked && !steps[1].faked, "{steps:?}");
}
