//! Parts of dates and times (Django's `__year`, `__month`, `__day`, `__week_day`,
//! `__hour`, `__minute`, issue 17): the same integers on every backend, in UTC, in
//! filters, annotations and groups; NULL for a NULL value.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use chrono::NaiveDate;
use throughline::Registry;
use throughline::expr::{count_rows, day, hour, minute, month, week_day, year};
use throughline::prelude::*;

#[derive(Debug, Clone, PartialEq, Model)]
pub struct Event {
    pub id: Option<i64>,
    #[throughline(max_length = 20)]
    pub name: String,
    pub at: DateTime<Utc>,
    pub on: NaiveDate,
    pub maybe: Option<DateTime<Utc>>,
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(Event::meta());
    r
}

backend_tests!(date_parts_in_filters_annotations_and_groups);

async fn names(query: throughline::QuerySet<Event>, db: &Database) -> Vec<String> {
    query
        .order_by([Event::NAME.asc()])
        .values_list(Event::NAME, db)
        .await
        .unwrap()
}

async fn date_parts_in_filters_annotations_and_groups(db: Database) {
    throughline::create_tables(&db, &registry()).await.unwrap();
    let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
    for (name, when, maybe) in [
        // A Sunday, half an hour before the year ends.
        ("eve", "2023-12-31T23:30:00Z", None),
        // A Thursday.
        ("leap", "2024-02-29T08:45:00Z", Some("2025-01-01T00:00:00Z")),
        // A Sunday, just after midnight.
        ("bastille", "2024-07-14T00:05:00Z", None),
    ] {
        Event {
            id: None,
            name: name.into(),
            at: at(when),
            on: at(when).date_naive(),
            maybe: maybe.map(at),
        }
        .create(&db)
        .await
        .unwrap();
    }
    let all = || Event::objects();
    assert_eq!(
        names(all().filter(year(Event::AT).eq(2024)), &db).await,
        ["bastille", "leap"]
    );
    assert_eq!(
        names(all().filter(month(Event::ON).eq(2)), &db).await,
        ["leap"]
    );
    assert_eq!(
        names(all().filter(day(Event::AT).gte(29)), &db).await,
        ["eve", "leap"]
    );
    assert_eq!(
        names(all().filter(week_day(Event::AT).eq(1)), &db).await,
        ["bastille", "eve"]
    );
    assert_eq!(
        names(all().filter(week_day(Event::ON).eq(5)), &db).await,
        ["leap"]
    );
    assert_eq!(
        names(all().filter(hour(Event::AT).eq(23)), &db).await,
        ["eve"]
    );
    assert_eq!(
        names(all().filter(minute(Event::AT).eq(5)), &db).await,
        ["bastille"]
    );
    // An optional value's part is NULL when the value is.
    let rows = all()
        .order_by([Event::NAME.asc()])
        .annotate((year(Event::MAYBE), month(Event::AT)))
        .all(&db)
        .await
        .unwrap();
    let seen: Vec<(String, Option<i32>, i32)> =
        rows.into_iter().map(|(e, (y, m))| (e.name, y, m)).collect();
    assert_eq!(
        seen,
        [
            ("bastille".to_owned(), None, 7),
            ("eve".to_owned(), None, 12),
            ("leap".to_owned(), Some(2025), 2),
        ]
    );
    // Grouped by year.
    let mut per_year = all()
        .group_by(year(Event::AT))
        .annotate(count_rows())
        .all(&db)
        .await
        .unwrap();
    per_year.sort();
    assert_eq!(per_year, [(2023, 1), (2024, 2)]);
}
