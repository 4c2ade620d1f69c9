//! Runs a scan on its own thread so the window never waits, and turns its progress into events.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use deposit::api::dto::ApiError;
use deposit::api::Session;
use deposit::intake::ScanOptions;
use tauri::AppHandle;
use tauri_specta::Event;

use crate::busy::OneAtATime;
use crate::events::{ScanFailed, ScanFinished, ScanProgress};

/// Progress events are sent at most this often (plus one at the end).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What a scan reports while and after it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanUpdate {
    /// Still running.
    Progress(ScanProgress),
    /// Done.
    Finished(ScanFinished),
    /// Could not run or stopped early.
    Failed(ScanFailed),
}

/// The one scan that may run at a time.
#[derive(Default)]
pub struct ScanJobs {
    slot: OneAtATime,
}

impl ScanJobs {
    /// Starts scanning `paths` in the data home on a new thread, sending events to `app`.
    pub fn start(&self, app: AppHandle, paths: Vec<String>) -> Result<(), ApiError> {
        self.slot.spawn("a scan", "scan", move || {
            run(Session::open_default, &paths, |u| emit(&app, u));
        })
    }
}

fn emit(app: &AppHandle, update: ScanUpdate) {
    // A closed window cannot be told anything; the catalog still records the scan.
    let _ = match update {
        ScanUpdate::Progress(p) => p.emit(app),
        ScanUpdate::Finished(f) => f.emit(app),
        ScanUpdate::Failed(f) => f.emit(app),
    };
}

/// Opens a session with `open`, scans `paths` and reports through `report` (throttled progress,
/// then exactly one `Finished` or `Failed`).
pub fn run(
    open: impl FnOnce() -> Result<Session, ApiError>,
    paths: &[String],
    mut report: impl FnMut(ScanUpdate),
) {
    let started = Instant::now();
    let elapsed_ms = |s: Instant| u64::try_from(s.elapsed().as_millis()).unwrap_or(u64::MAX);
    let roots: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let mut last_sent: Option<Instant> = None;
    let mut last = ScanProgress {
        done: 0,
        total: 0,
        bytes: 0,
        elapsed_ms: 0,
    };
    let result = open().and_then(|mut session| {
        session.scan(&roots, &ScanOptions::default(), |p| {
            last = ScanProgress {
                done: p.done,
                total: p.total,
                bytes: p.bytes,
                elapsed_ms: elapsed_ms(started),
            };
            if last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                last_sent = Some(Instant::now());
                report(ScanUpdate::Progress(last));
            }
        })
    });
    match result {
        Ok(summary) => {
            report(ScanUpdate::Progress(ScanProgress {
                elapsed_ms: elapsed_ms(started),
                ..last
            }));
            report(ScanUpdate::Finished(ScanFinished {
                summary,
                elapsed_ms: elapsed_ms(started),
            }));
        }
        Err(error) => report(ScanUpdate::Failed(ScanFailed { error })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(home: &std::path::Path, paths: &[String]) -> Vec<ScanUpdate> {
        let mut got = Vec::new();
        let root = home.to_path_buf();
        run(|| Session::open(root), paths, |u| got.push(u));
        got
    }

    #[test]
    fn a_folder_with_a_text_file_finishes_with_it_skipped() {
        let home = tempfile::tempdir().expect("tempdir");
        let src = tempfile::tempdir().expect("tempdir");
        std::fs::write(src.path().join("notes.txt"), b"not an image").expect("write");
        let got = collect(home.path(), &[src.path().display().to_string()]);
        let Some(ScanUpdate::Finished(done)) = got.last() else {
            panic!("expected Finished last, got {got:?}");
        };
        assert_eq!(done.summary.files, 1);
        assert_eq!(done.summary.skipped.len(), 1);
        assert_eq!(done.summary.skipped[0].code, "not_dicom");
        let progress = got
            .iter()
            .filter(|u| matches!(u, ScanUpdate::Progress(_)))
            .count();
        assert!(progress >= 1, "a final progress event is always sent");
    }

    #[test]
    fn a_missing_folder_fails_with_a_code() {
        let home = tempfile::tempdir().expect("tempdir");
        let got = collect(home.path(), &["/definitely/not/here".into()]);
        assert_eq!(got.len(), 1, "{got:?}");
        let ScanUpdate::Failed(f) = &got[0] else {
            panic!("expected Failed, got {got:?}");
        };
        assert_eq!(f.error.code, "intake.not_found");
    }
}
