//! Prints the results: one table per target (throughline against hand-written code), W8's
//! throughput and errors, the scaling table (time per item at each N), the SQL throughline
//! ran, and a JSON file for the Django comparison script (`benches/django/bench.py`).

use crate::concurrency::Errors;
use crate::runner::{Measured, Workload};
use std::fmt::Write as _;
use std::time::Duration;

/// Formats a duration with three significant digits, in the unit that fits.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 0.001 {
        let ms = s * 1e3;
        if ms >= 100.0 {
            format!("{ms:.0} ms")
        } else if ms >= 10.0 {
            format!("{ms:.1} ms")
        } else {
            format!("{ms:.2} ms")
        }
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

fn ratio(a: Duration, b: Option<Duration>) -> String {
    match b {
        Some(b) if !b.is_zero() => format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64()),
        _ => "-".to_owned(),
    }
}

fn statements((count, transaction): (f64, bool)) -> String {
    let count = if count.fract() == 0.0 {
        format!("{count:.0}")
    } else {
        format!("{count:.2}")
    };
    if transaction {
        format!("{count} +tx")
    } else {
        count
    }
}

/// Renders rows as an aligned text table (first column left-aligned, others right).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i == 0 {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            } else {
                text.push_str("  ");
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.iter().map(|h| (*h).to_owned()).collect(), &mut out);
    line(widths.iter().map(|w| "-".repeat(*w)).collect(), &mut out);
    for row in rows {
        line(row.clone(), &mut out);
    }
    out
}

/// The table of one target: throughline against the hand-written sides.
pub fn comparison(results: &[Measured]) -> String {
    let header = [
        "workload",
        "throughline",
        "(min–max)",
        "hand async",
        "ratio",
        "hand sync",
        "TL/sync",
        "TL stmts",
        "hand stmts",
    ];
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|m| {
            vec![
                format!(
                    "{} {} (N={})",
                    m.workload.id(),
                    m.workload.title(),
                    m.workload.items(m.n)
                ),
                fmt_duration(m.orm),
                format!(
                    "{}–{}",
                    fmt_duration(m.orm_range.0),
                    fmt_duration(m.orm_range.1)
                ),
                m.hand.map(fmt_duration).unwrap_or_else(|| "-".into()),
                ratio(m.orm, m.hand),
                m.hand_sync.map(fmt_duration).unwrap_or_else(|| "-".into()),
                ratio(m.orm, m.hand_sync),
                statements(m.orm_statements),
                m.hand_statements
                    .map(statements)
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(&header, &rows)
}

fn errors_text(errors: &Errors) -> String {
    if errors.count == 0 {
        return "0".to_owned();
    }
    format!("{} (first: {})", errors.count, errors.samples.join("; "))
}

/// W8's lines under a target's table: each side's throughput (operations per second of
/// the median batch), their ratio against the goal (throughline ≥ 0.9× the hand-written
/// throughput), and the errors each side met over all runs; `FAILED` when any.
pub fn concurrency(results: &[Measured]) -> String {
    let mut out = String::new();
    for m in results
        .iter()
        .filter(|m| m.workload == Workload::Concurrency)
    {
        let operations = m.workload.items(m.n) as f64;
        let rate = |d: Duration| operations / d.as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "W8 on {}: {} operations a batch ({} tasks × {} adds, each followed by a read)",
            m.target,
            m.workload.items(m.n),
            crate::fixture::W8_TASKS,
            crate::fixture::W8_ADDS
        );
        let _ = write!(
            out,
            "  throughput: throughline {:.0} ops/s (batch {})",
            rate(m.orm),
            fmt_duration(m.orm)
        );
        match m.hand {
            Some(hand) if !hand.is_zero() => {
                let _ = writeln!(
                    out,
                    ", hand-written {:.0} ops/s (batch {}): throughline / hand-written {:.2}× (goal ≥ 0.90×)",
                    rate(hand),
                    fmt_duration(hand),
                    hand.as_secs_f64() / m.orm.as_secs_f64().max(1e-9)
                );
            }
            _ => out.push('\n'),
        }
        let _ = writeln!(
            out,
            "  errors over all runs, warm-up included: throughline {}{}",
            errors_text(&m.orm_errors),
            m.hand_errors
                .as_ref()
                .map(|e| format!(", hand-written {}", errors_text(e)))
                .unwrap_or_default()
        );
        if m.failed() {
            let _ = writeln!(out, "  FAILED: operations failed (see the errors above)");
        }
    }
    out
}

/// The scaling table: time per item at each N.
pub fn scaling(results: &[Measured]) -> String {
    let header = [
        "workload",
        "target",
        "N",
        "throughline",
        "per item",
        "hand async",
        "per item",
        "ratio",
        "TL stmts",
    ];
    let per_item = |d: Duration, items: usize| {
        format!("{:.2} µs", d.as_secs_f64() * 1e6 / items.max(1) as f64)
    };
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|m| {
            let items = m.workload.items(m.n);
            vec![
                format!("{} {}", m.workload.id(), m.workload.title()),
                m.target.clone(),
                m.n.to_string(),
                fmt_duration(m.orm),
                per_item(m.orm, items),
                m.hand.map(fmt_duration).unwrap_or_else(|| "-".into()),
                m.hand
                    .map(|h| per_item(h, items))
                    .unwrap_or_else(|| "-".into()),
                ratio(m.orm, m.hand),
                statements(m.orm_statements),
            ]
        })
        .collect();
    table(&header, &rows)
}

fn shorten(stmt: &str) -> String {
    let chars = stmt.chars().count();
    if chars > 240 {
        let head: String = stmt.chars().take(200).collect();
        let tail: String = stmt.chars().skip(chars - 30).collect();
        format!("{head} … {tail}   [{chars} chars]")
    } else {
        stmt.to_owned()
    }
}

/// The SQL throughline ran for one call of each workload (long statements shortened),
/// with the driver's time per statement in the last measured call: the rest of the call's
/// time is spent in the ORM (building statements, transaction control, hops, decoding).
pub fn sql(results: &[Measured]) -> String {
    let mut out = String::new();
    for m in results {
        let _ = writeln!(
            out,
            "{} {} on {}:",
            m.workload.id(),
            m.workload.title(),
            m.target
        );
        for stmt in &m.orm_sql {
            let _ = writeln!(out, "    {}", shorten(stmt));
        }
        let Some((traced, total)) = &m.orm_trace else {
            continue;
        };
        if m.workload == Workload::Concurrency {
            out.push_str(&concurrent_trace(traced, *total));
        } else {
            out.push_str(&call_trace(m, traced, *total));
        }
        for (stmt, plan) in &m.orm_plans {
            let _ = writeln!(
                out,
                "  query plan of {}: {}",
                stmt.chars().take(60).collect::<String>(),
                plan.join("; ")
            );
        }
    }
    out
}

/// The trace of a call: its time, the part in the driver's statements, and each
/// statement's time averaged over the calls (W3 makes 1,000).
fn call_trace(m: &Measured, traced: &[crate::trace::Traced], total: Duration) -> String {
    let mut out = String::new();
    let calls = match m.workload {
        Workload::SingleAdds => m.workload.items(m.n).max(1),
        _ => 1,
    };
    let in_driver: u64 = traced.iter().map(|t| t.elapsed_us).sum();
    let _ = writeln!(
        out,
        "  last run: {} per call, of which {} in the driver's statements ({} statements traced):",
        fmt_duration(total / calls as u32),
        fmt_duration(Duration::from_micros(in_driver / calls as u64)),
        traced.len() / calls
    );
    let per_call = (traced.len() / calls).max(1);
    for (i, t) in traced.iter().take(per_call).enumerate() {
        let same: Vec<_> = traced.iter().skip(i).step_by(per_call).collect();
        let micros = same.iter().map(|t| t.elapsed_us).sum::<u64>() / same.len() as u64;
        let _ = writeln!(
            out,
            "    {:>9}  {:>6} rows  {}",
            fmt_duration(Duration::from_micros(micros)),
            t.rows,
            shorten(&t.sql).chars().take(110).collect::<String>()
        );
    }
    out
}

/// W8's trace: the batch's statements grouped by text, each with its number, its mean
/// time in the driver and its mean rows; and the driver's time summed over the tasks
/// against the tasks' time (tasks × the batch's wall time): the rest is waiting for a
/// connection (the pool, SQLite's writer) and the ORM's own work.
fn concurrent_trace(traced: &[crate::trace::Traced], total: Duration) -> String {
    let mut out = String::new();
    let mut groups: Vec<(String, u64, u64, u64)> = Vec::new();
    for t in traced {
        match groups.iter_mut().find(|g| g.0 == t.sql) {
            Some(group) => {
                group.1 += 1;
                group.2 += t.elapsed_us;
                group.3 += t.rows;
            }
            None => groups.push((t.sql.clone(), 1, t.elapsed_us, t.rows)),
        }
    }
    let in_driver: u64 = traced.iter().map(|t| t.elapsed_us).sum();
    let tasks_time = total.as_secs_f64() * crate::fixture::W8_TASKS as f64;
    let _ = writeln!(
        out,
        "  last run: batch {}, {} statements traced, {} in the driver summed over the tasks \
         ({:.1} % of {} tasks × the batch):",
        fmt_duration(total),
        traced.len(),
        fmt_duration(Duration::from_micros(in_driver)),
        in_driver as f64 / 1e6 / tasks_time.max(1e-9) * 100.0,
        crate::fixture::W8_TASKS
    );
    for (sql, count, micros, rows) in groups {
        let _ = writeln!(
            out,
            "    {count:>6} × {:>9}  {:>6.1} rows  {}",
            fmt_duration(Duration::from_micros(micros / count)),
            rows as f64 / count as f64,
            shorten(&sql).chars().take(100).collect::<String>()
        );
    }
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_seconds(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.9}", d.as_secs_f64()))
        .unwrap_or_else(|| "null".into())
}

/// Every result as JSON (an array of objects; times in seconds).
pub fn json(results: &[Measured], settings: &[(String, String)]) -> String {
    let mut out = String::from("{\n  \"targets\": {");
    for (i, (name, text)) in settings.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(
            out,
            "{sep}\n    {}: {}",
            json_string(name),
            json_string(text)
        );
    }
    out.push_str("\n  },\n  \"results\": [");
    for (i, m) in results.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(
            out,
            "{sep}\n    {{\"workload\": {}, \"title\": {}, \"target\": {}, \"n\": {}, \"items\": {}, \
             \"throughline_s\": {}, \"hand_s\": {}, \"hand_sync_s\": {}, \
             \"throughline_statements\": {}, \"throughline_transaction\": {}, \"hand_statements\": {}, \
             \"throughline_errors\": {}, \"hand_errors\": {}}}",
            json_string(m.workload.id()),
            json_string(m.workload.title()),
            json_string(&m.target),
            m.n,
            m.workload.items(m.n),
            json_seconds(Some(m.orm)),
            json_seconds(m.hand),
            json_seconds(m.hand_sync),
            m.orm_statements.0,
            m.orm_statements.1,
            m.hand_statements
                .map(|s| s.0.to_string())
                .unwrap_or_else(|| "null".into()),
            m.orm_errors.count,
            m.hand_errors
                .as_ref()
                .map(|e| e.count.to_string())
                .unwrap_or_else(|| "null".into()),
        );
    }
    out.push_str("\n  ]\n}\n");
    out
}
