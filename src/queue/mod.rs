//! Queue: persistent, crash-safe, offline-first delivery of de-identified studies in small
//! idempotent pieces, with an explicit state machine per study and piece, kept in tables of its
//! own ([`schema`]) in the data home's database and read and written only through
//! [`store::QueueStore`].
//!
//! Each piece's state is written before (`sending`) and after (`acknowledged`) its request, so a
//! crash at any point leaves a state from which [`store::QueueStore::recover`] and
//! [`runner::run_job`] finish the job without sending anything acknowledged again.

pub mod runner;
pub mod schema;
pub mod state;
pub mod store;

use thiserror::Error;

use crate::error::{Classify, ErrorClass};
pub use state::State;

/// At most this many instances in one piece.
pub const PIECE_MAX_ITEMS: usize = 100;
/// At most this many bytes in one piece (a single larger file goes alone).
pub const PIECE_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// Queue failures.
#[derive(Debug, Error)]
pub enum QueueError {
    /// Reading or writing queue state failed.
    #[error("queue {step} failed: {source}")]
    Store {
        /// What was being done.
        step: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// Stored queue state could not be understood.
    #[error("queue state is damaged: {what}")]
    Corrupt {
        /// What was wrong.
        what: String,
    },
    /// A state change the state machine forbids (a defect).
    #[error("queue state cannot go from {from:?} to {to:?}")]
    Transition {
        /// Current state.
        from: State,
        /// Requested state.
        to: State,
    },
}

impl Classify for QueueError {
    fn code(&self) -> &'static str {
        match self {
            QueueError::Store { .. } => "queue.store",
            QueueError::Corrupt { .. } => "queue.corrupt",
            QueueError::Transition { .. } => "queue.transition",
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// Splits items into pieces of at most [`PIECE_MAX_ITEMS`] files and about [`PIECE_MAX_BYTES`].
pub fn split_pieces<T>(items: Vec<T>, size: impl Fn(&T) -> u64) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut cur: Vec<T> = Vec::new();
    let mut bytes = 0u64;
    for it in items {
        let s = size(&it);
        if !cur.is_empty() && (cur.len() >= PIECE_MAX_ITEMS || bytes + s > PIECE_MAX_BYTES) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += s;
        cur.push(it);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_respect_both_limits() {
        let p = split_pieces((0..250).collect::<Vec<u64>>(), |_| 1000);
        assert_eq!(
            p.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![100, 100, 50]
        );
        let p = split_pieces(vec![5u64 << 20, 5 << 20, 1 << 20], |s| *s);
        assert_eq!(p.len(), 2);
        let p = split_pieces(vec![20u64 << 20], |s| *s);
        assert_eq!(p.len(), 1, "a large file goes alone, whole");
    }
}
