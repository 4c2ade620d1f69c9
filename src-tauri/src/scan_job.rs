//! Runs scans (the engine's `api::jobs::scan`) on their own thread and emits their updates.

use deposit::api::dto::ApiError;
use deposit::api::jobs::{self, OneAtATime, ScanUpdate};
use tauri::AppHandle;
use tauri_specta::Event;

use crate::events::{ScanFailedEvent, ScanFinishedEvent, ScanProgressEvent};

/// The one scan that may run at a time.
#[derive(Default)]
pub struct ScanJobs {
    slot: OneAtATime,
}

impl ScanJobs {
    /// Starts scanning `paths` in the data home on a new thread, sending events to `app`.
    pub fn start(&self, app: AppHandle, paths: Vec<String>) -> Result<(), ApiError> {
        self.slot.spawn("a scan", "scan", move || {
            jobs::scan(crate::state::open_session, &paths, |u| emit(&app, u));
        })
    }
}

fn emit(app: &AppHandle, update: ScanUpdate) {
    // A closed window cannot be told anything; the catalog still records the scan.
    let _ = match update {
        ScanUpdate::Progress(p) => ScanProgressEvent(p).emit(app),
        ScanUpdate::Finished(f) => ScanFinishedEvent(f).emit(app),
        ScanUpdate::Failed(f) => ScanFailedEvent(f).emit(app),
    };
}
