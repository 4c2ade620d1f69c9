//! The commands the window may call: each one forwards to the engine's `deposit::api`.

use deposit::api::dto::{ApiError, StudyRow};
use deposit::api::Session;
use tauri::{AppHandle, State};

use crate::scan_job::ScanJobs;
use crate::state::AppState;

/// Where the app keeps its data (`DEPOSIT_HOME` or the OS default), for display.
#[tauri::command]
#[specta::specta]
pub async fn data_home(state: State<'_, AppState>) -> Result<String, ApiError> {
    state.with(|s| Ok(s.home().root().display().to_string()))
}

/// Every catalogued study (patient and study details are shown locally only).
#[tauri::command]
#[specta::specta]
pub async fn studies(state: State<'_, AppState>) -> Result<Vec<StudyRow>, ApiError> {
    state.with(Session::studies)
}

/// Starts reading `paths` in the background and returns at once; progress, the result or the
/// failure arrive as `ScanProgress`, `ScanFinished` and `ScanFailed` events.
#[tauri::command]
#[specta::specta]
pub fn start_scan(
    app: AppHandle,
    jobs: State<'_, ScanJobs>,
    paths: Vec<String>,
) -> Result<(), ApiError> {
    jobs.start(app, paths)
}
