//! Typed events the app sends to the window while long work runs (exported to TypeScript).

use deposit::api::dto::{ApiError, ScanSummary};
use serde::Serialize;

/// How far a running scan has got. Sent at most every [`crate::scan_job::PROGRESS_EVERY`].
#[derive(Debug, Clone, Copy, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
pub struct ScanProgress {
    /// Files handled so far.
    pub done: u64,
    /// Files to handle in total (grows while folders are still being listed).
    pub total: u64,
    /// Bytes of the files handled so far.
    pub bytes: u64,
    /// Milliseconds since the scan started (the window derives rate and ETA from it).
    pub elapsed_ms: u64,
}

/// A scan ended; the catalog now holds what it found.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
pub struct ScanFinished {
    /// Counts and the files that were not catalogued, with reasons.
    pub summary: ScanSummary,
    /// Milliseconds the scan took.
    pub elapsed_ms: u64,
}

/// A scan could not run or stopped early.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
pub struct ScanFailed {
    /// What went wrong, as `{code, message}`.
    pub error: ApiError,
}

/// What a running send is doing now.
#[derive(Debug, Clone, Copy, Serialize, specta::Type, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SendPhase {
    /// De-identifying into the outbox (nothing has left the computer yet).
    Deidentifying,
    /// Delivering, committing and verifying.
    Delivering,
}

/// How far a running send has got. Sent at most every [`crate::scan_job::PROGRESS_EVERY`].
#[derive(Debug, Clone, Copy, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
pub struct SendProgress {
    /// The current phase.
    pub phase: SendPhase,
    /// Files handled in this phase.
    pub done: u64,
    /// Files to handle in this phase.
    pub total: u64,
    /// Milliseconds since the send started (the window derives rate and ETA from it).
    pub elapsed_ms: u64,
    /// Milliseconds since this phase started.
    pub phase_ms: u64,
}

/// A send ended: what was delivered and verified, what waits for the destination, what was
/// set aside.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
pub struct SendFinished {
    /// The engine's summary (the same as `deposit send --json`).
    pub summary: deposit::api::send::SendSummary,
    /// Milliseconds the send took.
    pub elapsed_ms: u64,
    /// True when this was queued work resumed by the app (after a restart or coming online).
    pub resumed: bool,
}

/// A send could not run or stopped early.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
pub struct SendFailed {
    /// What went wrong, as `{code, message}`.
    pub error: ApiError,
}
