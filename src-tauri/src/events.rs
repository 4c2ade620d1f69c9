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
