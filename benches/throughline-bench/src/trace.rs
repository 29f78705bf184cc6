//! Per-statement timings of throughline's own calls (`--sql`), read from the `tracing`
//! event its drivers emit for every statement (target `throughline::sql`: SQL, elapsed
//! microseconds, rows). A minimal global subscriber records them while [`capture`] is on,
//! so the report can split a call's time into time in the database driver and time in the
//! ORM around it (statement building, hops, decoding outside the row callback).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One statement as the driver reported it.
#[derive(Debug, Clone, Default)]
pub struct Traced {
    /// Its SQL.
    pub sql: String,
    /// Microseconds spent in the driver (execution and the row callback).
    pub elapsed_us: u64,
    /// Rows returned or affected.
    pub rows: u64,
}

static ON: AtomicBool = AtomicBool::new(false);
static LOG: Mutex<Vec<Traced>> = Mutex::new(Vec::new());
static NEXT_SPAN: AtomicU64 = AtomicU64::new(1);

struct Recorder;

impl Visit for Traced {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "sql" {
            self.sql = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "sql" {
            self.sql = value.to_owned();
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "elapsed_us" => self.elapsed_us = value,
            "rows" => self.rows = value,
            _ => {}
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "throughline::sql" && ON.load(Ordering::Relaxed)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(NEXT_SPAN.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        if !ON.load(Ordering::Relaxed) {
            return;
        }
        let mut traced = Traced::default();
        event.record(&mut traced);
        match LOG.lock() {
            Ok(mut log) => log.push(traced),
            Err(poisoned) => poisoned.into_inner().push(traced),
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}

    fn register_callsite(
        &self,
        metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if metadata.target() == "throughline::sql" {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::DEBUG)
    }
}

/// Installs the recorder (once, at start-up).
pub fn install() {
    let _ = tracing::subscriber::set_global_default(Recorder);
}

/// Starts or stops recording; starting clears what was recorded.
pub fn capture(on: bool) {
    if on {
        match LOG.lock() {
            Ok(mut log) => log.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }
    ON.store(on, Ordering::Relaxed);
}

/// What was recorded since [`capture`] was turned on.
pub fn take() -> Vec<Traced> {
    match LOG.lock() {
        Ok(mut log) => std::mem::take(&mut *log),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    }
}
