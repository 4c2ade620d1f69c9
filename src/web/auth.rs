//! Login for the web UI: one site password, random session tokens in an HttpOnly cookie.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
