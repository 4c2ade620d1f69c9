//! Login for the web UI: one site password (at least [`MIN_PASSWORD`] characters), random
//! session tokens in an HttpOnly cookie, and failed logins slowed down per client address and
//! overall ([`Throttle`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest web password accepted.
pub const MIN_PASSWORD: usize = 12;

/// Failed logins a client address has before it must wait.
const FREE_TRIES: u32 = 3;
/// The longest wait for one address (the wait doubles with every failure after the free ones).
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failed logins from all addresses together within [`GLOBAL_WINDOW`] before every login
/// waits for the window to pass.
const GLOBAL_FAILURES: usize = 30;
/// See [`GLOBAL_FAILURES`].
const GLOBAL_WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most (the oldest are forgotten first).
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Strikes {
    failures: u32,
    until: Option<Instant>,
    last: Instant,
}

/// Failed logins, per client address (exponential backoff) and overall (a window).
#[derive(Default)]
pub struct Throttle {
    per_address: Mutex<HashMap<IpAddr, Strikes>>,
    recent: Mutex<VecDeque<Instant>>,
}

impl Throttle {
    /// `Err(wait)` when `ip` (or everyone) must wait before trying again.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        if let Ok(mut recent) = self.recent.lock() {
            while recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= GLOBAL_WINDOW)
            {
                recent.pop_front();
            }
            if recent.len() >= GLOBAL_FAILURES {
                let oldest = recent.front().copied().unwrap_or(now);
                return Err(GLOBAL_WINDOW.saturating_sub(now.duration_since(oldest)));
            }
        }
        let Ok(per) = self.per_address.lock() else {
            return Err(Duration::from_secs(1));
        };
        match per.get(&ip).and_then(|s| s.until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed login from `ip`; returns how long it must now wait (zero: not yet).
    pub fn failed(&self, ip: IpAddr) -> Duration {
        let now = Instant::now();
        if let Ok(mut recent) = self.recent.lock() {
            recent.push_back(now);
            while recent.len() > GLOBAL_FAILURES {
                recent.pop_front();
            }
        }
        let Ok(mut per) = self.per_address.lock() else {
            return Duration::ZERO;
        };
        if per.len() >= MAX_ADDRESSES && !per.contains_key(&ip) {
            if let Some(oldest) = per.iter().min_by_key(|(_, s)| s.last).map(|(k, _)| *k) {
                per.remove(&oldest);
            }
        }
        let s = per.entry(ip).or_insert(Strikes {
            failures: 0,
            until: None,
            last: now,
        });
        s.failures = s.failures.saturating_add(1);
        s.last = now;
        if s.failures <= FREE_TRIES {
            return Duration::ZERO;
        }
        let doublings = (s.failures - FREE_TRIES - 1).min(20);
        let wait = Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
        s.until = Some(now + wait);
        wait
    }

    /// A login from `ip` succeeded: its failures are forgotten.
    pub fn succeeded(&self, ip: IpAddr) {
        if let Ok(mut per) = self.per_address.lock() {
            per.remove(&ip);
        }
    }
}

/// Cookie that carries the session token.
pub const COOKIE: &str = "deposit_session";

/// Sessions expire after this long without use.
const IDLE: Duration = Duration::from_secs(12 * 3600);

/// A random token of `bytes` bytes, hex-encoded.
pub fn random_token(bytes: usize) -> std::io::Result<String> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(b))
}

/// Equal without leaking where they differ through timing.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Logged-in sessions.
#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    /// Starts a session; returns its token.
    pub fn open(&self) -> std::io::Result<String> {
        let token = random_token(24)?;
        if let Ok(mut live) = self.live.lock() {
            live.retain(|_, t| t.elapsed() < IDLE);
            live.insert(token.clone(), Instant::now());
        }
        Ok(token)
    }

    /// Whether `token` is a live session (and marks it used).
    pub fn check(&self, token: &str) -> bool {
        let Ok(mut live) = self.live.lock() else {
            return false;
        };
        match live.get_mut(token) {
            Some(t) if t.elapsed() < IDLE => {
                *t = Instant::now();
                true
            }
            _ => false,
        }
    }

    /// Ends a session.
    pub fn close(&self, token: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(token);
        }
    }
}

/// The session token in a `Cookie` header, if any.
pub fn token_from_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_per_address_and_overall() {
        let t = Throttle::default();
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        for _ in 0..FREE_TRIES {
            assert!(t.check(a).is_ok());
            assert_eq!(t.failed(a), Duration::ZERO);
        }
        assert_eq!(t.failed(a), Duration::from_secs(1));
        assert!(t.check(a).is_err());
        assert!(t.check(b).is_ok(), "another address is not held back");
        assert_eq!(t.failed(a), Duration::from_secs(2));
        assert_eq!(t.failed(a), Duration::from_secs(4));
        t.succeeded(a);
        assert!(t.check(a).is_ok());
        // many addresses together: everyone waits
        for i in 0..GLOBAL_FAILURES {
            t.failed(IpAddr::from([10, 1, (i / 256) as u8, (i % 256) as u8]));
        }
        assert!(t.check("10.9.9.9".parse().expect("ip")).is_err());
    }

    #[test]
    fn sessions_open_check_and_close() {
        let s = Sessions::default();
        let t = s.open().expect("token");
        assert_eq!(t.len(), 48);
        assert!(s.check(&t));
        assert!(!s.check("nope"));
        s.close(&t);
        assert!(!s.check(&t));
    }

    #[test]
    fn compares_and_parses() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert_eq!(
            token_from_cookie("a=1; deposit_session=xyz; b=2"),
            Some("xyz")
        );
        assert_eq!(token_from_cookie("a=1"), None);
    }
}
