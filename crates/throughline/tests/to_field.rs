//! Foreign keys to a unique non-key field (Django's `to_field`, issue 17): Django's
//! `CarDriver` through model, whose keys refer to `Car.make` and `Driver.name`, written and
//! read from both sides; a plain foreign key with `to_field` (reverse reads, joins, `get`,
//! prefetch); NULL values there behaving as Django's (`ValueError` → a validation error,
//! nothing written; a reverse read of a NULL value is empty); the DDL, the migration state
//! and inspectdb.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use throughline::migrations::{self, ProjectState};
use throughline::prelude::*;
use throughline::{Error, Registry, Value};

#[derive(Debug, Clone, PartialEq, Model)]
#[throughline(many_to_many(name = "drivers", to = Driver, through = CarDriver, related_name = "cars"))]
pub struct Car {
    pub id: Option<i64>,
    #[throughline(max_length = 20, unique)]
    pub make: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Model)]
pub struct Driver {
    pub id: Option<i64>,
    #[throughline(max_length = 20, unique)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Model)]
#[throughline(unique(name = "car_driver_pair", fields("car", "driver")))]
pub struct CarDriver {
    pub id: Option<i64>,
    #[throughline(to_field = "make", related_name = "car_drivers")]
    pub car: ForeignKey<Car>,
    #[throughline(to_field = "name", related_name = "car_drivers")]
    pub driver: ForeignKey<Driver>,
    #[throughline(max_length = 10, default = "driver")]
    pub role: String,
    /// An extra key by an integer code (a wrong key would be another dealer's code).
    #[throughline(to_field = "code", related_name = "+")]
    pub dealer: Option<ForeignKey<Dealer>>,
}

#[derive(Debug, Clone, PartialEq, Model)]
pub struct Dealer {
    pub id: Option<i64>,
    #[throughline(unique)]
    pub code: i64,
}

/// A key whose `to_field` names the primary key itself.
#[derive(Debug, Clone, Model)]
pub struct Lease {
    pub id: Option<i64>,
    #[throughline(to_field = "id", related_name = "+")]
    pub car: Option<ForeignKey<Car>>,
}

/// A plain foreign key by make, optional, with `SET NULL`.
#[derive(Debug, Clone, Model, serde::Serialize, serde::Deserialize)]
pub struct Sale {
    pub id: Option<i64>,
    #[throughline(to_field = "make", related_name = "sales", on_delete = "set_null")]
    #[serde(with = "throughline::serde_to_field_option")]
    pub car: Option<ForeignKey<Car>>,
    pub amount: i64,
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(Car::meta())
        .register(Driver::meta())
        .register(Dealer::meta())
        .register(CarDriver::meta())
        .register(Sale::meta())
        .register(Lease::meta());
    r
}

async fn car(make: Option<&str>, db: &Database) -> Car {
    Car {
        id: None,
        make: make.map(Into::into),
    }
    .create(db)
    .await
    .unwrap()
}

async fn driver(name: Option<&str>, db: &Database) -> Driver {
    Driver {
        id: None,
        name: name.map(Into::into),
    }
    .create(db)
    .await
    .unwrap()
}

fn names(drivers: &[Driver]) -> Vec<&str> {
    drivers.iter().filter_map(|d| d.name.as_deref()).collect()
}

fn makes(cars: &[Car]) -> Vec<&str> {
    cars.iter().filter_map(|c| c.make.as_deref()).collect()
}

backend_tests!(
    through_keys_refer_to_unique_fields,
    relation_writes_link_by_the_referred_field,
    plain_foreign_keys_by_a_unique_field,
    null_referred_values_behave_as_django,
    to_field_in_ddl_migrations_and_inspectdb,
    hooked_deletes_follow_the_referred_field,
    instance_keys_store_the_referred_value,
    fixtures_round_trip_to_field_keys,
);

/// dumpdata writes a to_field key as the referred value (as Django); loaddata finds the
/// referred rows by it, in the files or in the database, and refuses a value no row has.
async fn fixtures_round_trip_to_field_keys(db: Database) {
    use throughline::fixtures::{self, Fixture};
    throughline::create_tables(&db, &registry()).await.unwrap();
    let toyota = car(Some("Toyota"), &db).await;
    let ryan = driver(Some("Ryan"), &db).await;
    toyota.drivers().add([&ryan], &db).await.unwrap();
    Sale {
        id: None,
        car: Some(ForeignKey::to(&toyota)),
        amount: 7,
    }
    .create(&db)
    .await
    .unwrap();
    let all = [
        "throughline.car",
        "throughline.driver",
        "throughline.cardriver",
        "throughline.sale",
    ];
    let dump = fixtures::dump(&db, &registry(), &all).await.unwrap();
    let json = dump.to_json(None);
    assert!(json.contains(r#""car": "Toyota""#), "{json}");
    // Everything deleted, then loaded back from the dump: the links are found by make.
    CarDriver::objects().delete(&db).await.unwrap();
    Sale::objects().delete(&db).await.unwrap();
    Car::objects().delete(&db).await.unwrap();
    Driver::objects().delete(&db).await.unwrap();
    let file = Fixture::new("dump.json", json.clone());
    fixtures::load(&db, &registry(), std::slice::from_ref(&file))
        .await
        .unwrap();
    assert_eq!(
        names_of(&toyota.drivers().all(&db).await.unwrap()),
        ["Ryan"]
    );
    assert_eq!(toyota.sales().unwrap().count(&db).await.unwrap(), 1);
    // A sale whose car is already in the database loads by its make alone.
    let sale_only = Fixture::new(
        "sale.json",
        r#"[{"model": "throughline.sale", "pk": 50, "fields": {"car": "Toyota", "amount": 1}}]"#
            .to_owned(),
    );
    let loaded = fixtures::load(&db, &registry(), &[sale_only]).await;
    // A make no car has is refused, naming it, and nothing is written.
    let bad = Fixture::new(
        "bad.json",
        r#"[{"model": "throughline.sale", "pk": 51, "fields": {"car": "Nope", "amount": 1}}]"#
            .to_owned(),
    );
    let err = fixtures::load(&db, &registry(), &[bad]).await.unwrap_err();
    assert!(err.to_string().contains("Nope"), "{err}");
    assert!(loaded.is_ok(), "{loaded:?}");
    assert_eq!(Sale::objects().count(&db).await.unwrap(), 2);
}

/// A key given as an instance stores the referred field's value wherever it is given: in
/// a filter, an update, a through value; a `to_field` naming the primary key stores it.
/// Dealer 2's code is dealer 1's primary key, so a key stored as a primary key would
/// silently name the other dealer.
async fn instance_keys_store_the_referred_value(db: Database) {
    throughline::create_tables(&db, &registry()).await.unwrap();
    let first = Dealer {
        id: None,
        code: 500,
    }
    .create(&db)
    .await
    .unwrap();
    let second = Dealer {
        id: None,
        code: first.id.unwrap(),
    }
    .create(&db)
    .await
    .unwrap();
    let toyota = car(Some("Toyota"), &db).await;
    let honda = car(Some("Honda"), &db).await;
    let ryan = driver(Some("Ryan"), &db).await;
    toyota
        .drivers()
        .add_with(
            [&ryan],
            CarDriversValues {
                role: None,
                dealer: Some(ForeignKey::to(&first)),
            },
            &db,
        )
        .await
        .unwrap();
    let link = CarDriver::objects().first(&db).await.unwrap().unwrap();
    assert_eq!(link.dealer.as_ref().unwrap().key(), &Value::I64(500));
    assert_eq!(link.dealer.as_ref().unwrap().get(&db).await.unwrap(), first);
    // Filters by instance compare the code.
    let of_first = CarDriver::objects()
        .filter(CarDriver::DEALER_ID.eq(&first))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(of_first, 1);
    let of_second = CarDriver::objects()
        .filter(CarDriver::DEALER_ID.is_in([&second]))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(of_second, 0);
    // An update by instance writes the make.
    Sale {
        id: None,
        car: Some(ForeignKey::to(&toyota)),
        amount: 1,
    }
    .create(&db)
    .await
    .unwrap();
    Sale::objects()
        .update(vec![Sale::CAR_ID.set(&honda)], &db)
        .await
        .unwrap();
    let sale = Sale::objects().first(&db).await.unwrap().unwrap();
    assert_eq!(sale.car.as_ref().unwrap().key(), &Value::from("Honda"));
    // values_list reads the key as the make, and its get loads the car by it.
    let keys = Sale::objects()
        .values_list(Sale::CAR_ID, &db)
        .await
        .unwrap();
    assert_eq!(keys[0].as_ref().unwrap().get(&db).await.unwrap(), honda);
    // serde writes the make and reads it back (with `serde_to_field_option`).
    let json = serde_json::to_value(&sale).unwrap();
    assert_eq!(json["car"], serde_json::json!("Honda"));
    let mut back: Sale = serde_json::from_value(json).unwrap();
    assert_eq!(back.car.as_ref().unwrap().key(), &Value::from("Honda"));
    back.id = None;
    let saved = back.create(&db).await.unwrap();
    assert_eq!(saved.car.unwrap().get(&db).await.unwrap(), honda);
    // A to_field naming the primary key stores the key.
    let lease = Lease {
        id: None,
        car: Some(ForeignKey::to(&toyota)),
    }
    .create(&db)
    .await
    .unwrap();
    let read = Lease::objects()
        .get(Lease::ID.eq(lease.id), &db)
        .await
        .unwrap();
    assert_eq!(read.car.unwrap().key(), &Value::from(toyota.id.unwrap()));
}

/// A delete of either side's rows with relation hooks finds the through rows by the
/// referred values (make, name), fires the hooks with them, and removes only those rows.
async fn hooked_deletes_follow_the_referred_field(db: Database) {
    use std::sync::{Arc, Mutex};
    use throughline::HookPoint;
    throughline::create_tables(&db, &registry()).await.unwrap();
    let toyota = car(Some("Toyota"), &db).await;
    let honda = car(Some("Honda"), &db).await;
    let ryan = driver(Some("Ryan"), &db).await;
    let sam = driver(Some("Sam"), &db).await;
    toyota.drivers().add([&ryan, &sam], &db).await.unwrap();
    honda.drivers().add([&ryan], &db).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    for point in [HookPoint::BeforeRemove, HookPoint::AfterRemove] {
        let log = Arc::clone(&seen);
        Car::DRIVERS_RELATION
            .on(&db, point, move |ctx| {
                let mut targets = ctx.change.targets.clone();
                targets.sort_by_key(Value::display);
                log.lock()
                    .unwrap()
                    .push((point, ctx.change.source.clone(), targets));
                Box::pin(async { Ok(()) })
            })
            .unwrap();
    }
    toyota.delete(&db).await.unwrap();
    let names = vec![Value::from("Ryan"), Value::from("Sam")];
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (
                HookPoint::BeforeRemove,
                Value::from("Toyota"),
                names.clone()
            ),
            (HookPoint::AfterRemove, Value::from("Toyota"), names),
        ]
    );
    // Honda's link is untouched; deleting a driver removes its links by name.
    assert_eq!(names_of(&honda.drivers().all(&db).await.unwrap()), ["Ryan"]);
    seen.lock().unwrap().clear();
    ryan.delete(&db).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(seen.lock().unwrap()[1].1, Value::from("Honda"));
    assert_eq!(CarDriver::objects().count(&db).await.unwrap(), 0);
}

fn names_of(drivers: &[Driver]) -> Vec<String> {
    drivers.iter().filter_map(|d| d.name.clone()).collect()
}

async fn through_keys_refer_to_unique_fields(db: Database) {
    assert!(registry().check().is_empty(), "{:?}", registry().check());
    throughline::create_tables(&db, &registry()).await.unwrap();
    let toyota = car(Some("Toyota"), &db).await;
    let bugatti = car(Some("Bugatti"), &db).await;
    let ryan = driver(Some("Ryan Briscoe"), &db).await;
    let outcome = toyota.drivers().add([&ryan], &db).await.unwrap();
    // The outcome reports the target by the value it is linked by.
    assert_eq!(outcome.linked, [Value::from("Ryan Briscoe")]);
    // The through row holds the make and the name, not the keys.
    let links = CarDriver::objects().all(&db).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].car.key(), &Value::from("Toyota"));
    assert_eq!(links[0].driver.key(), &Value::from("Ryan Briscoe"));
    assert_eq!(links[0].role, "driver");
    // Both directions read through the make and the name (Django's test_to_field and
    // test_to_field_reverse).
    assert_eq!(
        names(&toyota.drivers().all(&db).await.unwrap()),
        ["Ryan Briscoe"]
    );
    assert_eq!(makes(&ryan.cars().all(&db).await.unwrap()), ["Toyota"]);
    assert!(bugatti.drivers().all(&db).await.unwrap().is_empty());
    assert!(toyota.drivers().contains(&ryan, &db).await.unwrap());
    // The key's get reads the row by its make; select_related joins on it.
    assert_eq!(links[0].car.get(&db).await.unwrap(), toyota);
    let joined = CarDriver::objects()
        .select_related(CarDriver::CAR)
        .select_related(CarDriver::DRIVER)
        .all(&db)
        .await
        .unwrap();
    assert_eq!(joined[0].car.loaded(), Some(&toyota));
    assert_eq!(joined[0].driver.loaded(), Some(&ryan));
    // Filters across the relation and by instance join on the referred fields.
    let with_ryan = Car::objects()
        .filter(Car::DRIVERS.then(Driver::NAME).eq("Ryan Briscoe"))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(makes(&with_ryan), ["Toyota"]);
    let of_toyota = Driver::objects()
        .filter(Driver::CARS.eq(&toyota))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(of_toyota, 1);
    assert_eq!(
        CarDriver::objects()
            .filter(CarDriver::CAR.eq(&toyota))
            .count(&db)
            .await
            .unwrap(),
        1
    );
    // Reverse foreign keys of the through model, and prefetches from both sides.
    assert_eq!(toyota.car_drivers().unwrap().count(&db).await.unwrap(), 1);
    let cars = vec![toyota.clone(), bugatti.clone()];
    let prefetched = Car::DRIVERS_RELATION.prefetch(&cars, &db).await.unwrap();
    assert_eq!(prefetched.iter().map(Vec::len).collect::<Vec<_>>(), [1, 0]);
    assert_eq!(prefetched[0][0].driver.loaded(), Some(&ryan));
    let rows = Car::CAR_DRIVERS.prefetch(&cars, &db).await.unwrap();
    assert_eq!(rows.iter().map(Vec::len).collect::<Vec<_>>(), [1, 0]);
    let back = Driver::CARS_RELATION
        .prefetch(std::slice::from_ref(&ryan), &db)
        .await
        .unwrap();
    assert_eq!(back[0][0].car.loaded(), Some(&toyota));
    // A make that links rows cannot change under them: the database refuses it.
    let mut renamed = toyota.clone();
    renamed.make = Some("Lexus".into());
    let err = renamed.save(&db).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Integrity {
                kind: throughline::IntegrityKind::ForeignKey,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        Car::objects()
            .get(Car::ID.eq(toyota.id), &db)
            .await
            .unwrap(),
        toyota
    );
    // The delete preview (the admin's) follows the make to the through row and the sale.
    Sale {
        id: None,
        car: Some(ForeignKey::to(&toyota)),
        amount: 3,
    }
    .create(&db)
    .await
    .unwrap();
    let plan =
        throughline::engine::cascade::plan(&db, &registry(), Car::meta(), vec![toyota.pk_value()])
            .await
            .unwrap();
    assert_eq!(plan.deleted.len(), 1);
    assert_eq!(plan.deleted[0].model.name, "CarDriver");
    assert_eq!(plan.deleted[0].count, 1);
    assert_eq!(plan.set_null.len(), 1);
    assert_eq!(plan.set_null[0].count, 1);
    // Deleting the car deletes its through rows (cascade on the make).
    toyota.delete(&db).await.unwrap();
    assert_eq!(CarDriver::objects().count(&db).await.unwrap(), 0);
}

async fn relation_writes_link_by_the_referred_field(db: Database) {
    throughline::create_tables(&db, &registry()).await.unwrap();
    let toyota = car(Some("Toyota"), &db).await;
    let ryan = driver(Some("Ryan"), &db).await;
    let sam = driver(Some("Sam"), &db).await;
    let kim = driver(Some("Kim"), &db).await;
    toyota.drivers().add([&ryan, &sam], &db).await.unwrap();
    // Re-adding reports the pair as already linked, by name.
    let again = toyota.drivers().add([&ryan], &db).await.unwrap();
    assert_eq!(again.already_linked, [Value::from("Ryan")]);
    // set keeps sam, removes ryan (returned in full), adds kim.
    let set = toyota.drivers().set([&sam, &kim], &db).await.unwrap();
    assert_eq!(set.kept, [Value::from("Sam")]);
    assert_eq!(set.added.linked, [Value::from("Kim")]);
    assert_eq!(set.removed.len(), 1);
    assert_eq!(set.removed[0].driver.key(), &Value::from("Ryan"));
    // From the other side (Django's test_to_field_clear_reverse).
    let removed = sam.cars().remove([&toyota], &db).await.unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(names(&toyota.drivers().all(&db).await.unwrap()), ["Kim"]);
    // By primary key: the keys are read as names in the same call; a key of no row is a
    // foreign-key error and nothing is written.
    let by_key = toyota
        .drivers()
        .add_keys([ryan.id.unwrap()], &db)
        .await
        .unwrap();
    assert_eq!(by_key.linked, [Value::from("Ryan")]);
    let missing = toyota
        .drivers()
        .add_keys([ryan.id.unwrap(), 9_999], &db)
        .await;
    assert!(
        matches!(
            missing,
            Err(Error::Integrity {
                kind: throughline::IntegrityKind::ForeignKey,
                ..
            })
        ),
        "{missing:?}"
    );
    let removed = toyota
        .drivers()
        .remove_keys([kim.id.unwrap(), 9_999], &db)
        .await
        .unwrap();
    assert_eq!(removed.len(), 1);
    let set = toyota
        .drivers()
        .set_keys([sam.id.unwrap()], &db)
        .await
        .unwrap();
    assert_eq!(set.added.linked, [Value::from("Sam")]);
    assert_eq!(names(&toyota.drivers().all(&db).await.unwrap()), ["Sam"]);
    // get_or_create and create link the new driver by its name.
    let (zoe, created) = toyota
        .drivers()
        .get_or_create(
            Driver::NAME.eq("Zoe"),
            Driver {
                id: None,
                name: Some("Zoe".into()),
            },
            &db,
        )
        .await
        .unwrap();
    assert!(created);
    let (again, created) = toyota
        .drivers()
        .get_or_create(
            Driver::NAME.eq("Zoe"),
            Driver {
                id: None,
                name: Some("Zoe".into()),
            },
            &db,
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, zoe);
    let (ann, _) = toyota
        .drivers()
        .create(
            Driver {
                id: None,
                name: Some("Ann".into()),
            },
            &db,
        )
        .await
        .unwrap();
    assert!(ann.id.is_some());
    let mut linked = names(&toyota.drivers().all(&db).await.unwrap())
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    linked.sort();
    assert_eq!(linked, ["Ann", "Sam", "Zoe"]);
    toyota.drivers().clear(&db).await.unwrap();
    assert_eq!(CarDriver::objects().count(&db).await.unwrap(), 0);
    // A through row written directly takes the make and the name from the instances.
    let link = CarDriver {
        id: None,
        car: ForeignKey::to(&toyota),
        driver: ForeignKey::to(&ryan),
        role: "owner".into(),
        dealer: None,
    }
    .create(&db)
    .await
    .unwrap();
    assert_eq!(link.car.key(), &Value::from("Toyota"));
    assert_eq!(link.driver.key(), &Value::from("Ryan"));
    // Or from the values themselves.
    CarDriver {
        id: None,
        car: ForeignKey::new("Toyota"),
        driver: ForeignKey::new("Sam"),
        role: "owner".into(),
        dealer: None,
    }
    .create(&db)
    .await
    .unwrap();
    assert_eq!(names(&toyota.drivers().all(&db).await.unwrap()).len(), 2);
}

async fn plain_foreign_keys_by_a_unique_field(db: Database) {
    throughline::create_tables(&db, &registry()).await.unwrap();
    let toyota = car(Some("Toyota"), &db).await;
    let ford = car(Some("Ford"), &db).await;
    for (c, amount) in [(&toyota, 10), (&toyota, 20), (&ford, 5)] {
        Sale {
            id: None,
            car: Some(ForeignKey::to(c)),
            amount,
        }
        .create(&db)
        .await
        .unwrap();
    }
    let sales = Sale::objects()
        .order_by([Sale::AMOUNT.asc()])
        .all(&db)
        .await
        .unwrap();
    assert_eq!(sales[0].car.as_ref().unwrap().key(), &Value::from("Ford"));
    assert_eq!(sales[0].car.as_ref().unwrap().get(&db).await.unwrap(), ford);
    assert_eq!(toyota.sales().unwrap().count(&db).await.unwrap(), 2);
    let per_car = Car::SALES
        .prefetch(&[toyota.clone(), ford.clone()], &db)
        .await
        .unwrap();
    assert_eq!(per_car.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    let joined = Sale::objects()
        .select_related(Sale::CAR)
        .filter(Sale::CAR.then(Car::MAKE).eq("Toyota"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(joined, 2);
    // Filtering by the key's value compares the make.
    let by_value = Sale::objects()
        .filter(Sale::CAR_ID.eq(ForeignKey::new("Ford")))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(by_value, 1);
    // A key to a make no car has is refused by the database.
    let orphan = Sale {
        id: None,
        car: Some(ForeignKey::new("Nope")),
        amount: 1,
    }
    .create(&db)
    .await;
    assert!(orphan.is_err(), "{orphan:?}");
    // SET NULL on delete follows the make.
    ford.delete(&db).await.unwrap();
    let five = Sale::objects().get(Sale::AMOUNT.eq(5), &db).await.unwrap();
    assert!(five.car.is_none());
}

async fn null_referred_values_behave_as_django(db: Database) {
    throughline::create_tables(&db, &registry()).await.unwrap();
    let toyota = car(Some("Toyota"), &db).await;
    let nullcar = car(None, &db).await;
    let ryan = driver(Some("Ryan"), &db).await;
    let nulldriver = driver(None, &db).await;
    let is_null_make = |e: &Error, field: &str| matches!(e, Error::Validation { field: f, reason, .. } if f == field && reason.contains("NULL"));
    // A car whose make is NULL cannot use the relation at all
    // (test_m2m_relations_unusable_on_null_to_field).
    let read = nullcar.drivers().all(&db).await.unwrap_err();
    assert!(is_null_make(&read, "make"), "{read:?}");
    let add = nullcar.drivers().add([&ryan], &db).await.unwrap_err();
    assert!(is_null_make(&add, "make"), "{add:?}");
    assert!(nullcar.drivers().clear(&db).await.is_err());
    // Nor be added from the other side (test_add_null_reverse), nor a NULL-named driver
    // to a car (test_add_related_null).
    let reverse = ryan.cars().add([&nullcar], &db).await.unwrap_err();
    assert!(is_null_make(&reverse, "make"), "{reverse:?}");
    let related = toyota.drivers().add([&nulldriver], &db).await.unwrap_err();
    assert!(is_null_make(&related, "name"), "{related:?}");
    let reverse_null = nulldriver.cars().add([&toyota], &db).await.unwrap_err();
    assert!(is_null_make(&reverse_null, "name"), "{reverse_null:?}");
    assert_eq!(CarDriver::objects().count(&db).await.unwrap(), 0);
    // An unsaved car cannot either (test_m2m_relations_unusable_on_null_pk_obj).
    let unsaved = Car {
        id: None,
        make: Some("Ford".into()),
    };
    let err = unsaved.drivers().all(&db).await.unwrap_err();
    assert!(matches!(err, Error::Unsaved { .. }), "{err:?}");
    // A through row referring to a NULL make is refused before any SQL.
    let direct = CarDriver {
        id: None,
        car: ForeignKey::to(&nullcar),
        driver: ForeignKey::to(&ryan),
        role: "x".into(),
        dealer: None,
    }
    .create(&db)
    .await
    .unwrap_err();
    assert!(matches!(direct, Error::Validation { .. }), "{direct:?}");
    assert_eq!(CarDriver::objects().count(&db).await.unwrap(), 0);
    // The reverse foreign key of a NULL make reads no rows (Django's `none()`), even with
    // sales whose key is NULL.
    Sale {
        id: None,
        car: None,
        amount: 1,
    }
    .create(&db)
    .await
    .unwrap();
    assert_eq!(nullcar.sales().unwrap().count(&db).await.unwrap(), 0);
    // An optional key to a car whose make is NULL is stored NULL, as Django assigns.
    let sale = Sale {
        id: None,
        car: Some(ForeignKey::to(&nullcar)),
        amount: 2,
    }
    .create(&db)
    .await
    .unwrap();
    let read = Sale::objects()
        .get(Sale::ID.eq(sale.id), &db)
        .await
        .unwrap();
    assert!(read.car.is_none());
}

async fn to_field_in_ddl_migrations_and_inspectdb(db: Database) {
    // The migration state keeps to_field, so a migration creates the same keys.
    let state = ProjectState::from_registry(&registry());
    let json = serde_json::to_string(&state.models["CarDriver"]).unwrap();
    assert!(json.contains(r#""to_field":"make""#), "{json}");
    let plain = serde_json::to_string(&state.models["Sale"]).unwrap();
    assert!(plain.contains(r#""to_field":"make""#), "{plain}");
    // The key's column has the referred field's declared type (MySQL refuses a foreign key
    // from a TEXT column to a VARCHAR one).
    assert_eq!(
        CarDriver::meta().field("car").unwrap().ty,
        throughline::FieldType::String {
            max_length: Some(20)
        }
    );
    // A migration written by the autodetector creates the tables on every backend, and the
    // models write through them.
    let detection = migrations::detect(
        &ProjectState::default(),
        &state,
        &migrations::Hints::default(),
    );
    assert!(detection.is_complete(), "{:?}", detection.refused);
    let initial = migrations::Migration {
        name: "0001_initial".into(),
        dependencies: Vec::new(),
        operations: detection.operations,
    };
    let files = vec![initial];
    migrations::migrate(&db, &files, None).await.unwrap();
    let toyota = car(Some("Toyota"), &db).await;
    let ryan = driver(Some("Ryan"), &db).await;
    toyota.drivers().add([&ryan], &db).await.unwrap();
    assert_eq!(ryan.cars().count(&db).await.unwrap(), 1);
    // The schema is what the migration state says (fake_initial's check).
    migrations::migrate(&db, &files, Some("zero"))
        .await
        .unwrap();
    throughline::create_tables(&db, &registry()).await.unwrap();
    let fake = migrations::MigrateOptions::default().fake_initial(true);
    let steps = migrations::migrate_with(&db, &files, None, &fake)
        .await
        .unwrap();
    assert!(steps[0].faked, "{steps:?}");
    // A key that would start referring to another field is refused, not altered in place
    // (the stored ids would be read as makes).
    let mut by_key = state.clone();
    if let Some(sale) = by_key.models.get_mut("Sale")
        && let Some(car) = sale.fields.iter_mut().find(|f| f.name == "car")
        && let Some(fk) = car.foreign_key.as_mut()
    {
        fk.to_field = None;
    }
    let change = migrations::detect(&by_key, &state, &migrations::Hints::default());
    assert!(!change.is_complete());
    assert!(
        change.refused[0].contains("Sale.car would refer to make instead of its primary key"),
        "{:?}",
        change.refused
    );
    // Renaming the referred field carries the keys along (Django's RenameField), in the
    // state and in the database, both ways.
    let rename: migrations::Migration = serde_json::from_value(serde_json::json!({
        "name": "0002_rename_make",
        "dependencies": ["0001_initial"],
        "operations": [{"op": "rename_field", "model": "Car", "from": "make", "to": "brand"}]
    }))
    .unwrap();
    let files = vec![files[0].clone(), rename];
    let renamed = migrations::replay(&files).unwrap();
    let key = renamed.models["CarDriver"]
        .fields
        .iter()
        .find(|f| f.name == "car")
        .unwrap();
    assert_eq!(
        key.foreign_key.as_ref().unwrap().to_field.as_deref(),
        Some("brand")
    );
    migrations::migrate(&db, &files, None).await.unwrap();
    migrations::migrate(&db, &files, Some("0001_initial"))
        .await
        .unwrap();
    // Back at 0001: the models write through the make again.
    let toyota = car(Some("Toyota"), &db).await;
    let ryan = driver(Some("Ryan"), &db).await;
    toyota.drivers().add([&ryan], &db).await.unwrap();
    assert_eq!(ryan.cars().count(&db).await.unwrap(), 1);
    // inspectdb reads the keys back with their to_field.
    let tables = migrations::read_schema(&db).await.unwrap();
    let inspection = migrations::generate(&tables);
    let code = inspection.code;
    assert!(code.contains(r#"to_field = "make""#), "{code}");
    assert!(code.contains(r#"to_field = "name""#), "{code}");
    assert!(code.contains(r#"to_field = "code""#), "{code}");
    // A key to the primary key (Lease.car, to_field "id") reads back as a plain key.
    assert!(code.contains("pub car: Option<ForeignKey<Car>>"), "{code}");
}
