//! Owns the login limiter: attempts per (user name, address) in a sliding minute, kept in
//! memory (one admin process; a restart forgets). Each attempt is counted *before* the
//! password is checked ([`Throttle::attempt`]), so parallel guesses cannot all slip in
//! while the first ones are being hashed; a successful login forgets the user's count.
//! Past the limit, attempts are refused with 429 before the password is checked.
//!
//! Without the client's address (an application that serves the router without
//! `into_make_service_with_connect_info`, or a proxy in front), every client shares one
//! address, and ten wrong passwords a minute lock the name for everyone for that minute:
//! serve with [`crate::serve`].

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Login attempts by user name and address.
///
/// ```
/// let t = throughline_admin::throttle::Throttle::new(2);
/// assert!(t.attempt("bob", "10.0.0.1"));
/// assert!(t.attempt("bob", "10.0.0.1"));
/// assert!(!t.attempt("bob", "10.0.0.1"));
/// assert!(t.attempt("bob", "10.0.0.2"));
/// t.succeeded("bob", "10.0.0.1");
/// assert!(t.attempt("bob", "10.0.0.1"));
/// ```
pub struct Throttle {
    limit: u32,
    attempts: Mutex<HashMap<(String, String), VecDeque<Instant>>>,
}

const WINDOW: Duration = Duration::from_secs(60);
/// Past this many (name, address) pairs, the expired ones are dropped.
const MAX_KEYS: usize = 100_000;

impl Throttle {
    /// A limiter allowing `limit` attempts a minute per user name and address.
    ///
    /// ```
    /// let t = throughline_admin::throttle::Throttle::new(1);
    /// assert!(t.attempt("ann", "::1") && !t.attempt("ann", "::1"));
    /// ```
    pub fn new(limit: u32) -> Throttle {
        Throttle {
            limit,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for `user` from `address` and says whether it may be checked
    /// (false: the limit was reached within the last minute).
    ///
    /// ```
    /// let t = throughline_admin::throttle::Throttle::new(0);
    /// assert!(!t.attempt("ann", "::1"));
    /// ```
    pub fn attempt(&self, user: &str, address: &str) -> bool {
        let Ok(mut attempts) = self.attempts.lock() else {
            return false;
        };
        let now = Instant::now();
        if attempts.len() > MAX_KEYS {
            attempts.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) <= WINDOW)
            });
        }
        let times = attempts
            .entry((user.to_owned(), address.to_owned()))
            .or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= self.limit as usize {
            return false;
        }
        times.push_back(now);
        true
    }

    /// Forgets the attempts of `user` from `address` (after a successful login).
    ///
    /// ```
    /// let t = throughline_admin::throttle::Throttle::new(1);
    /// t.attempt("ann", "::1");
    /// t.succeeded("ann", "::1");
    /// assert!(t.attempt("ann", "::1"));
    /// ```
    pub fn succeeded(&self, user: &str, address: &str) {
        if let Ok(mut attempts) = self.attempts.lock() {
            attempts.remove(&(user.to_owned(), address.to_owned()));
        }
    }
}
