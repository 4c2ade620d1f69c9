//! The persisted states of studies and pieces in the delivery queue.

use serde::Serialize;

/// State of a piece or a study. Written before and after every side effect.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting to be de-identified.
    Queued,
    /// De-identified into the outbox; ready to send.
    Prepared,
    /// A request is (or was, when a crash interrupted it) in flight.
    Sending,
    /// The destination confirmed receipt.
    Acknowledged,
    /// The study was made final in the archive.
    Committed,
    /// The archive's holdings match the manifest.
    Verified,
    /// Gave up: a permanent error (see detail).
    Failed,
    /// Not sent: not provably safe (see the quarantine).
    Quarantined,
    /// Stopped by the user (`queue cancel`); unsent pieces were removed from the outbox.
    Cancelled,
}

impl State {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Prepared => "prepared",
            State::Sending => "sending",
            State::Acknowledged => "acknowledged",
            State::Committed => "committed",
            State::Verified => "verified",
            State::Failed => "failed",
            State::Quarantined => "quarantined",
            State::Cancelled => "cancelled",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "queued" => State::Queued,
            "prepared" => State::Prepared,
            "sending" => State::Sending,
            "acknowledged" => State::Acknowledged,
            "committed" => State::Committed,
            "verified" => State::Verified,
            "failed" => State::Failed,
            "quarantined" => State::Quarantined,
            "cancelled" => State::Cancelled,
            _ => return None,
        })
    }

    /// True when nothing more will happen without a person (retry, release).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            State::Verified | State::Failed | State::Quarantined | State::Cancelled
        )
    }

    /// Whether moving from `self` to `to` is allowed.
    pub fn can_become(self, to: State) -> bool {
        use State::*;
        match (self, to) {
            (a, b) if a == b => true,
            // the user may stop anything not yet delivered and verified
            (_, Cancelled) => !matches!(self, Verified | Quarantined),
            (_, Failed) | (_, Quarantined) => !self.is_final() || self == Failed,
            (Queued, Prepared) => true,
            (Prepared, Sending) => true,
            // a crash leaves `Sending`; the piece is sent again (idempotent)
            (Sending, Prepared) | (Sending, Acknowledged) => true,
            (Acknowledged, Committed) => true,
            (Committed, Verified) => true,
            // retry after a failure starts from the outbox again
            (Failed, Prepared) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [State; 9] = [
        State::Queued,
        State::Prepared,
        State::Sending,
        State::Acknowledged,
        State::Committed,
        State::Verified,
        State::Failed,
        State::Quarantined,
        State::Cancelled,
    ];

    #[test]
    fn round_trips() {
        for s in ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert_eq!(State::parse("bogus"), None);
    }

    proptest! {
        #[test]
        fn verified_is_reached_only_through_commit(path in proptest::collection::vec(0usize..9, 1..12)) {
            let mut cur = State::Queued;
            let mut committed = false;
            for i in path {
                let next = ALL[i];
                if cur.can_become(next) {
                    if next == State::Verified && cur != State::Verified {
                        prop_assert!(committed, "reached verified without commit");
                    }
                    if next == State::Committed { committed = true; }
                    cur = next;
                }
            }
        }

        #[test]
        fn cancelled_is_final_and_never_left(path in proptest::collection::vec(0usize..9, 1..12)) {
            let mut cur = State::Cancelled;
            for i in path {
                if cur.can_become(ALL[i]) { cur = ALL[i]; }
            }
            prop_assert_eq!(cur, State::Cancelled);
        }
    }
}
