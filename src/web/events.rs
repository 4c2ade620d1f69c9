//! Events of scans and sends for the web UI: a numbered log that browsers long-poll.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;

/// Events kept for late pollers.
const KEEP: usize = 512;

/// One event: its number, its name (as the desktop app names it) and its payload.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Increasing from 1.
    pub seq: u64,
    /// e.g. `send-progress`.
    pub name: &'static str,
    /// The payload (the engine's job types, as JSON).
    pub payload: serde_json::Value,
}

/// The log.
#[derive(Default)]
pub struct EventLog {
    inner: Mutex<(u64, VecDeque<Event>)>,
    ready: Condvar,
}

impl EventLog {
    /// Appends an event and wakes the pollers.
    pub fn push(&self, name: &'static str, payload: impl Serialize) {
        let payload = serde_json::to_value(payload).unwrap_or(serde_json::Value::Null);
        if let Ok(mut g) = self.inner.lock() {
            g.0 += 1;
            let seq = g.0;
            g.1.push_back(Event { seq, name, payload });
            while g.1.len() > KEEP {
                g.1.pop_front();
            }
        }
        self.ready.notify_all();
    }

    /// Events after `after`, waiting up to `wait` for the first one.
    pub fn since(&self, after: u64, wait: Duration) -> Vec<Event> {
        let Ok(g) = self.inner.lock() else {
            return Vec::new();
        };
        let (g, _) = match self.ready.wait_timeout_while(g, wait, |g| g.0 <= after) {
            Ok(x) => x,
            Err(_) => return Vec::new(),
        };
        g.1.iter().filter(|e| e.seq > after).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pollers_get_what_came_after() {
        let log = std::sync::Arc::new(EventLog::default());
        assert!(log.since(0, Duration::from_millis(10)).is_empty());
        log.push("a", 1);
        log.push("b", 2);
        let got = log.since(1, Duration::from_millis(10));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "b");
        let l2 = log.clone();
        let waiter = std::thread::spawn(move || l2.since(2, Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(50));
        log.push("c", 3);
        let got = waiter.join().expect("join");
        assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3]);
    }
}
