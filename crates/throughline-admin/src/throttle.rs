//! Owns the login limiter: failed logins per (user name, address) in a sliding minute,
//! kept in memory (one admin process; a restart forgets). Past the limit, attempts are
//! refused with 429 before the password is checked.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed login attempts by user name and address.
///
/// ```
/// let t = throughline_admin::throttle::Throttle::new(2);
/// assert!(t.allowed("bob", "10.0.0.1"));
/// t.failed("bob", "10.0.0.1");
/// t.failed("bob", "10.0.0.1");
/// assert!(!t.allowed("bob", "10.0.0.1"));
/// assert!(t.allowed("bob", "10.0.0.2"));
/// ```
pub struct Throttle {
    limit: u32,
    failures: Mutex<HashMap<(String, String), VecDeque<Instant>>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl Throttle {
    /// A limiter allowing `limit` failures a minute per user name and address.
    pub fn new(limit: u32) -> Throttle {
        Throttle {
            limit,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether another attempt for `user` from `address` may be checked now.
    pub fn allowed(&self, user: &str, address: &str) -> bool {
        let Ok(mut failures) = self.failures.lock() else {
            return false;
        };
        let key = (user.to_owned(), address.to_owned());
        let Some(times) = failures.get_mut(&key) else {
            return true;
        };
        let now = Instant::now();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            times.pop_front();
        }
        if times.is_empty() {
            failures.remove(&key);
            return true;
        }
        times.len() < self.limit as usize
    }

    /// Records a failed attempt.
    pub fn failed(&self, user: &str, address: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            // Bounded memory: forget the oldest entries past 100,000 keys.
            if failures.len() > 100_000 {
                failures.clear();
            }
            failures
                .entry((user.to_owned(), address.to_owned()))
                .or_default()
                .push_back(Instant::now());
        }
    }

    /// Forgets the failures of `user` from `address` (after a successful login).
    pub fn succeeded(&self, user: &str, address: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&(user.to_owned(), address.to_owned()));
        }
    }
}
