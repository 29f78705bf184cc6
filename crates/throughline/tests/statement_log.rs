//! What the statement events say (issue 18): SQL and a parameter count by default, the
//! bound values when asked for, and a warning for statements above the slow threshold.
//! One test in this binary: the subscriber and the settings are process-wide.
#![allow(clippy::unwrap_used, missing_docs)]

use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;
use throughline::prelude::*;
use throughline::statement_log;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Debug, Clone, Model)]
struct Secret {
    id: Option<i64>,
    token: String,
}

/// Every `throughline::sql*` event, as `target level field=value ...`.
static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Record_(String);

impl Visit for Record_ {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

struct Collect;

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("throughline::sql")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut line = Record_(format!("{} {}", metadata.target(), metadata.level()));
        event.record(&mut line);
        EVENTS.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn take_events() -> Vec<String> {
    std::mem::take(&mut *EVENTS.lock().unwrap())
}

#[test]
fn events_carry_values_when_asked_and_warn_when_slow() {
    tracing::subscriber::set_global_default(Collect).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let mut registry = Registry::new();
        registry.register(Secret::meta());
        throughline::create_tables(&db, &registry).await.unwrap();
        take_events();

        // By default: the SQL and the number of parameters, not their values; no warning.
        assert_eq!(
            statement_log::slow_statement_threshold(),
            Some(Duration::from_secs(1))
        );
        Secret {
            id: None,
            token: "hunter2".into(),
        }
        .create(&db)
        .await
        .unwrap();
        let events = take_events();
        assert!(!events.is_empty());
        assert!(
            events
                .iter()
                .all(|e| e.starts_with("throughline::sql DEBUG")),
            "{events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| e.contains("INSERT") && e.contains("params=1")),
            "{events:?}"
        );
        assert!(!events.iter().any(|e| e.contains("hunter2")), "{events:?}");

        // Asked for: the values; every statement above a zero threshold is a warning.
        statement_log::log_bound_values(true);
        statement_log::warn_slow_statements(Some(Duration::ZERO));
        Secret::objects()
            .filter(Secret::TOKEN.eq("hunter2"))
            .count(&db)
            .await
            .unwrap();
        let events = take_events();
        assert!(
            events
                .iter()
                .any(|e| e.starts_with("throughline::sql DEBUG") && e.contains("hunter2")),
            "{events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| e.starts_with("throughline::sql::slow WARN") && e.contains("SELECT")),
            "{events:?}"
        );

        // A statement that fails is an event too (and, above the threshold, a warning).
        let err = throughline::raw::rows(&db, "SELECT * FROM no_such_table", vec![]).await;
        assert!(err.is_err());
        let events = take_events();
        assert!(
            events
                .iter()
                .any(|e| e.starts_with("throughline::sql DEBUG")
                    && e.contains("statement failed")
                    && e.contains("no_such_table")),
            "{events:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| e.starts_with("throughline::sql::slow WARN") && e.contains("failed")),
            "{events:?}"
        );

        // Off again.
        statement_log::log_bound_values(false);
        statement_log::warn_slow_statements(None);
        assert_eq!(statement_log::slow_statement_threshold(), None);
        Secret::objects().count(&db).await.unwrap();
        let events = take_events();
        assert!(!events.iter().any(|e| e.contains("WARN")), "{events:?}");
    });
}
