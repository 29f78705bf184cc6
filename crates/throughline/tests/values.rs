//! Values round-trip or are refused (SPEC §7): UUID keys have one stored form on SQLite, so
//! relation writes see existing links; NaN, dates outside years 1–9999 and JSON nested
//! deeper than the reader accepts are validation errors on every backend, and nothing is
//! written.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use throughline::prelude::*;
use throughline::{Error, OnExisting, Registry};
use uuid::Uuid;

#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "members", to = Member, through = Membership, related_name = "clubs"))]
pub struct Club {
    #[throughline(primary_key)]
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Model)]
pub struct Member {
    #[throughline(primary_key)]
    pub id: Uuid,
    pub name: String,
}

/// No pair constraint (seed 000's shape): only throughline's own reads keep a pair unique.
#[derive(Debug, Clone, Model)]
pub struct Membership {
    pub id: Option<i64>,
    pub club: ForeignKey<Club>,
    pub member: ForeignKey<Member>,
    #[throughline(max_length = 10)]
    pub role: String,
}

#[derive(Debug, Clone, Model)]
pub struct Reading {
    pub id: Option<i64>,
    pub value: f64,
    pub maybe: Option<f64>,
    pub day: Option<NaiveDate>,
    pub at: Option<DateTime<Utc>>,
    pub doc: Option<serde_json::Value>,
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(Club::meta())
        .register(Member::meta())
        .register(Membership::meta())
        .register(Reading::meta());
    r
}

async fn tables(db: &Database) {
    throughline::create_tables(db, &registry()).await.unwrap();
}

fn role(r: &str) -> ClubMembersValues {
    ClubMembersValues { role: r.into() }
}

backend_tests!(
    uuid_keys_see_existing_links,
    nan_and_infinities_are_refused,
    dates_outside_years_1_to_9999_are_refused,
    json_deeper_than_the_reader_accepts_is_refused,
);

async fn uuid_keys_see_existing_links(db: Database) {
    tables(&db).await;
    let club = Club {
        id: Uuid::new_v4(),
        name: "chess".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let ann = Member {
        id: Uuid::new_v4(),
        name: "ann".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let bob = Member {
        id: Uuid::new_v4(),
        name: "bob".into(),
    }
    .create(&db)
    .await
    .unwrap();
    let first = club
        .members()
        .add_with([&ann], role("captain"), &db)
        .await
        .unwrap();
    assert_eq!(first.linked.len(), 1);
    // A repeated add sees the existing link and reports how it differs.
    let again = club
        .members()
        .add_with([&ann], role("player"), &db)
        .await
        .unwrap();
    assert!(again.linked.is_empty(), "{again:?}");
    assert_eq!(again.already_linked.len(), 1);
    assert_eq!(again.differing.len(), 1);
    assert_eq!(Membership::objects().count(&db).await.unwrap(), 1);
    // The policies see it too.
    let failed = club
        .members()
        .on_existing(OnExisting::Fail)
        .add_with([&ann], role("player"), &db)
        .await;
    assert!(
        matches!(failed, Err(Error::AlreadyLinked { .. })),
        "{failed:?}"
    );
    let updated = club
        .members()
        .on_existing(OnExisting::Update)
        .add_with([&ann], role("player"), &db)
        .await
        .unwrap();
    assert_eq!(updated.updated.len(), 1);
    // set() keeps ann's row and adds bob: two rows, not three.
    club.members()
        .set_with([&ann, &bob], role("new"), &db)
        .await
        .unwrap();
    let rows = Membership::objects().all(&db).await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let ann_row = rows
        .iter()
        .find(|m| m.member.key() == &ann.pk_value())
        .unwrap();
    assert_eq!(ann_row.role, "player");
    // Reads and removes find the rows by key.
    assert!(club.members().contains(&bob, &db).await.unwrap());
    assert_eq!(ann.clubs().all(&db).await.unwrap().len(), 1);
    let removed = club.members().remove([&ann], &db).await.unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(Membership::objects().count(&db).await.unwrap(), 1);
    let fetched = Member::objects()
        .get(Member::ID.eq(bob.id), &db)
        .await
        .unwrap();
    assert_eq!(fetched.id, bob.id);
    let prefetched = Club::MEMBERS_RELATION
        .prefetch(std::slice::from_ref(&club), &db)
        .await
        .unwrap();
    assert_eq!(prefetched[0].len(), 1);
    assert_eq!(prefetched[0][0].member.key(), &bob.pk_value());
    // Dynamic reads give the UUID, not SQLite's stored text.
    let dynamic = Membership::objects()
        .values(vec![throughline::FieldPath::local("member")], &db)
        .await
        .unwrap();
    assert_eq!(dynamic, vec![vec![throughline::Value::Uuid(bob.id)]]);
    let cleared = club.members().clear(&db).await.unwrap();
    assert_eq!(cleared.len(), 1);
    assert_eq!(Membership::objects().count(&db).await.unwrap(), 0);
}

fn reading(value: f64) -> Reading {
    Reading {
        id: None,
        value,
        maybe: None,
        day: None,
        at: None,
        doc: None,
    }
}

async fn nan_and_infinities_are_refused(db: Database) {
    tables(&db).await;
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let error = reading(bad).create(&db).await.unwrap_err();
        assert!(error.is_validation(), "{error:?}");
        assert!(error.to_string().contains("Reading.value"), "{error}");
        let mut r = reading(1.0);
        r.maybe = Some(bad);
        let error = r.create(&db).await.unwrap_err();
        assert!(error.to_string().contains("Reading.maybe"), "{error}");
    }
    assert_eq!(Reading::objects().count(&db).await.unwrap(), 0);
    let kept = reading(-0.5).create(&db).await.unwrap();
    let back = Reading::objects()
        .get(Reading::ID.eq(kept.id), &db)
        .await
        .unwrap();
    assert_eq!(back.value, -0.5);
    assert_eq!(back.maybe, None);
    // -0.0 is stored as 0.0 on every backend (SQLite cannot keep the sign of a whole REAL).
    let zero = reading(-0.0).create(&db).await.unwrap();
    let back = Reading::objects()
        .get(Reading::ID.eq(zero.id), &db)
        .await
        .unwrap();
    assert_eq!(back.value, 0.0);
    assert!(back.value.is_sign_positive());
}

async fn dates_outside_years_1_to_9999_are_refused(db: Database) {
    tables(&db).await;
    let mut late = reading(1.0);
    late.day = NaiveDate::from_ymd_opt(10000, 1, 1);
    let error = late.create(&db).await.unwrap_err();
    assert!(error.is_validation(), "{error:?}");
    assert!(error.to_string().contains("Reading.day"), "{error}");
    let mut early = reading(1.0);
    early.at = Some(Utc.with_ymd_and_hms(0, 12, 31, 0, 0, 0).unwrap());
    let error = early.create(&db).await.unwrap_err();
    assert!(error.to_string().contains("Reading.at"), "{error}");
    assert_eq!(Reading::objects().count(&db).await.unwrap(), 0);
    // The last day of year 9999 and the first of year 1 round-trip and compare in order.
    let mut last = reading(1.0);
    last.day = NaiveDate::from_ymd_opt(9999, 12, 31);
    last.at = Some(Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap());
    let last = last.create(&db).await.unwrap();
    let mut first = reading(2.0);
    first.day = NaiveDate::from_ymd_opt(1, 1, 1);
    first.at = Some(Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap());
    first.create(&db).await.unwrap();
    let after = Reading::objects()
        .filter(Reading::DAY.gt(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].day, last.day);
    assert_eq!(after[0].at, last.at);
}

fn nested(depth: usize) -> serde_json::Value {
    let mut value = serde_json::json!(1);
    for _ in 0..depth {
        value = serde_json::Value::Array(vec![value]);
    }
    value
}

async fn json_deeper_than_the_reader_accepts_is_refused(db: Database) {
    tables(&db).await;
    let mut deep = reading(1.0);
    deep.doc = Some(nested(200));
    let error = deep.create(&db).await.unwrap_err();
    assert!(error.is_validation(), "{error:?}");
    assert!(error.to_string().contains("Reading.doc"), "{error}");
    // The deepest document that is accepted is read back unchanged.
    let limit = throughline::JSON_MAX_DEPTH;
    let mut ok = reading(1.0);
    ok.doc = Some(nested(limit));
    ok.create(&db).await.unwrap();
    let mut over = reading(1.0);
    over.doc = Some(nested(limit + 1));
    assert!(over.create(&db).await.unwrap_err().is_validation());
    let all = Reading::objects().all(&db).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].doc, Some(nested(limit)));
}
