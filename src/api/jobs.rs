//! Long work for interactive front ends (the desktop window, the headless web UI): scans and
//! sends run on their own thread, one of each kind at a time, and report throttled progress and
//! exactly one end (finished or failed) through a callback the front end turns into events.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::send::{SendOptions, SendSummary};
use super::Session;
use crate::catalog::ScanSummary;
use crate::error::ApiError;
use crate::intake::ScanOptions;
pub use crate::queue::runner::RunStatus;

/// Progress is reported at most this often (plus at phase changes and at the end).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// How far a running scan has got.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
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

/// How many skipped files a scan-finished event lists (`skipped_total` counts them all).
pub const SKIPPED_EXAMPLES: usize = 50;

/// A scan ended; the catalog now holds what it found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScanFinished {
    /// Counts and the first [`SKIPPED_EXAMPLES`] files that were not catalogued, with reasons.
    pub summary: ScanSummary,
    /// Milliseconds the scan took.
    pub elapsed_ms: u64,
}

/// Long work could not run or stopped early.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobFailed {
    /// What went wrong, as `{code, message}`.
    pub error: ApiError,
}

/// What a running send is doing now.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SendPhase {
    /// De-identifying into the outbox (nothing has left the computer yet).
    Deidentifying,
    /// Delivering, committing and verifying.
    Delivering,
}

/// How far a running send has got.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SendProgress {
    /// The current phase.
    pub phase: SendPhase,
    /// Files handled in this phase.
    pub done: u64,
    /// Files to handle in this phase.
    pub total: u64,
    /// Milliseconds since the send started.
    pub elapsed_ms: u64,
    /// Milliseconds since this phase started (rate and ETA are per phase).
    pub phase_ms: u64,
    /// What delivery is doing: sending, offline (will resume when online), paused, cancelled.
    pub status: RunStatus,
    /// While offline: seconds until the next reachability probe.
    pub retry_in_secs: u64,
}

/// A send ended: what was delivered and verified, what waits for the destination, what was
/// set aside.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SendFinished {
    /// The engine's summary (the same as `deposit send --json`).
    pub summary: SendSummary,
    /// Milliseconds the send took.
    pub elapsed_ms: u64,
    /// True when this was queued work resumed by itself (after a restart or coming online).
    pub resumed: bool,
}

/// What a front end asks to send.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SendRequest {
    /// Original Study Instance UIDs of the catalogued studies to send.
    pub study_uids: Vec<String>,
    /// Destination (`folder:` is the embedded folder archive; URLs as on the command line).
    pub destination: String,
    /// Profile name or file (none: the default profile).
    pub profile: Option<String>,
    /// Lookup table file (none: pseudonyms from the site key).
    pub lookup: Option<String>,
}

/// What a scan reports while and after it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanUpdate {
    /// Still running.
    Progress(ScanProgress),
    /// Done.
    Finished(ScanFinished),
    /// Could not run or stopped early.
    Failed(JobFailed),
}

/// What a send reports while and after it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendUpdate {
    /// Still running.
    Progress(SendProgress),
    /// Done.
    Finished(SendFinished),
    /// Could not run or stopped early.
    Failed(JobFailed),
}

/// A kind of long work of which only one may run at a time.
#[derive(Default)]
pub struct OneAtATime {
    running: Arc<AtomicBool>,
}

/// Held while the work runs; dropping it frees the slot.
pub struct Claim(Arc<AtomicBool>);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl OneAtATime {
    /// Marks the work as running, or says (naming `what`) that it already is.
    pub fn claim(&self, what: &str) -> Result<Claim, ApiError> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(ApiError::transient(
                "app.busy",
                format!("{what} is already running; wait for it to finish"),
            ));
        }
        Ok(Claim(self.running.clone()))
    }

    /// Whether the work is running now.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Runs `work` on a new named thread while holding the claim.
    pub fn spawn(
        &self,
        what: &str,
        thread: &str,
        work: impl FnOnce() + Send + 'static,
    ) -> Result<(), ApiError> {
        let claim = self.claim(what)?;
        std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || {
                let _claim = claim;
                work();
            })
            .map(|_| ())
            .map_err(|e| ApiError::transient("app.thread", format!("cannot start {what}: {e}")))
    }
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Opens a session with `open`, scans `paths` and reports through `report` (throttled
/// progress, then exactly one `Finished` or `Failed`).
pub fn scan(
    open: impl FnOnce() -> Result<Session, ApiError>,
    paths: &[String],
    mut report: impl FnMut(ScanUpdate),
) {
    let started = Instant::now();
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
                elapsed_ms: ms(started),
            };
            if last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                last_sent = Some(Instant::now());
                report(ScanUpdate::Progress(last));
            }
        })
    });
    match result {
        Ok(mut summary) => {
            // an event stays small however many files were skipped: the first few are examples,
            // the rest are paged (`scan_skipped`)
            summary.skipped.truncate(SKIPPED_EXAMPLES);
            report(ScanUpdate::Progress(ScanProgress {
                elapsed_ms: ms(started),
                ..last
            }));
            report(ScanUpdate::Finished(ScanFinished {
                summary,
                elapsed_ms: ms(started),
            }));
        }
        Err(error) => report(ScanUpdate::Failed(JobFailed { error })),
    }
}

/// Turns counts into throttled per-phase progress.
struct Throttle {
    started: Instant,
    phase_started: Instant,
    phase: SendPhase,
    status: RunStatus,
    last_sent: Option<Instant>,
    last: Option<SendProgress>,
}

impl Throttle {
    fn new(phase: SendPhase) -> Self {
        let now = Instant::now();
        Throttle {
            started: now,
            phase_started: now,
            phase,
            status: RunStatus::Sending,
            last_sent: None,
            last: None,
        }
    }

    fn update(
        &mut self,
        phase: SendPhase,
        done: u64,
        total: u64,
        status: RunStatus,
        retry_in_secs: u64,
    ) -> Option<SendProgress> {
        let mut changed = status != self.status;
        self.status = status;
        if phase != self.phase {
            changed = true;
            self.phase = phase;
            self.phase_started = Instant::now();
        }
        let p = SendProgress {
            phase,
            done,
            total,
            elapsed_ms: ms(self.started),
            phase_ms: ms(self.phase_started),
            status,
            retry_in_secs,
        };
        self.last = Some(p);
        if changed || self.last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
            self.last_sent = Some(Instant::now());
            return Some(p);
        }
        None
    }
}

/// Splits the send api's combined count (preparing, then delivering) into phases.
fn phase_of(done: u64, total: u64) -> (SendPhase, u64, u64) {
    let half = total / 2;
    if done < half || half == 0 {
        (SendPhase::Deidentifying, done, half)
    } else {
        (SendPhase::Delivering, done - half, half)
    }
}

/// Opens a session with `open`, sends `request` and reports through `report` (throttled
/// progress, then exactly one `Finished` or `Failed`).
pub fn send(
    open: impl FnOnce() -> Result<Session, ApiError>,
    request: &SendRequest,
    mut report: impl FnMut(SendUpdate),
) {
    let mut throttle = Throttle::new(SendPhase::Deidentifying);
    let result = open().and_then(|mut session| {
        // `[delivery]` of the session's deposit.toml: pieces in flight and the bandwidth cap;
        // `[destinations]`: the window offers configured destinations by name
        let delivery = session.config().delivery.clone();
        let destination = session.destination(&request.destination)?;
        let opts = SendOptions {
            concurrency: delivery.concurrency.map(|n| n.max(1) as usize),
            max_rate: delivery.max_rate_bytes_per_sec,
            profile: request.profile.clone().filter(|p| !p.is_empty()),
            lookup: request
                .lookup
                .clone()
                .filter(|p| !p.is_empty())
                .map(Into::into),
            ..SendOptions::default()
        };
        session.send_studies(&request.study_uids, &destination, &opts, |s| {
            let (phase, done, total) = phase_of(s.done, s.total);
            if let Some(p) = throttle.update(phase, done, total, s.status, s.retry_in_secs) {
                report(SendUpdate::Progress(p));
            }
        })
    });
    finish(result, throttle, false, report);
}

/// Resumes every queued job with work left, reporting like [`send`]; reports nothing when the
/// queue is empty.
pub fn resume(
    open: impl FnOnce() -> Result<Session, ApiError>,
    mut report: impl FnMut(SendUpdate),
) {
    let mut throttle = Throttle::new(SendPhase::Delivering);
    let result = open().and_then(|session| {
        if session.queue_pending()? == 0 {
            return Ok(None);
        }
        let r = session.queue_run(&Default::default(), |p| {
            if let Some(p) = throttle.update(
                SendPhase::Delivering,
                p.done,
                p.total,
                p.status,
                p.retry_in_secs,
            ) {
                report(SendUpdate::Progress(p));
            }
        })?;
        Ok(Some(SendSummary {
            sent: r.sent,
            already_present: r.already_present,
            failed: r.failed,
            verified: r.verified,
            waiting: r.waiting,
            problems: r.problems,
            destination: "queued work".into(),
            ..SendSummary::default()
        }))
    });
    match result {
        Ok(None) => {}
        Ok(Some(summary)) => finish(Ok(summary), throttle, true, report),
        Err(e) => finish(Err(e), throttle, true, report),
    }
}

fn finish(
    result: Result<SendSummary, ApiError>,
    throttle: Throttle,
    resumed: bool,
    mut report: impl FnMut(SendUpdate),
) {
    match result {
        Ok(summary) => {
            if let Some(last) = throttle.last {
                report(SendUpdate::Progress(SendProgress {
                    elapsed_ms: ms(throttle.started),
                    ..last
                }));
            }
            report(SendUpdate::Finished(SendFinished {
                summary,
                elapsed_ms: ms(throttle.started),
                resumed,
            }));
        }
        Err(error) => report(SendUpdate::Failed(JobFailed { error })),
    }
}

/// Resumes queued work on a new thread holding `slot` — unless a send holds it already (its
/// destination is reachable then, and the next tick comes soon).
pub fn resume_in_background(
    slot: &OneAtATime,
    open: impl FnOnce() -> Result<Session, ApiError> + Send + 'static,
    report: impl FnMut(SendUpdate) + Send + 'static,
) {
    if slot.is_running() {
        return;
    }
    let _ = slot.spawn("a send", "resume", move || resume(open, report));
}

/// How often front ends look for queued work to resume (the destination may be back):
/// `DEPOSIT_RESUME_EVERY_SECS`, default 60 s.
pub fn resume_every() -> Duration {
    std::env::var("DEPOSIT_RESUME_EVERY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(60), Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_updates(home: &std::path::Path, paths: &[String]) -> Vec<ScanUpdate> {
        let mut got = Vec::new();
        let root = home.to_path_buf();
        scan(|| Session::open(root), paths, |u| got.push(u));
        got
    }

    #[test]
    fn a_folder_with_a_text_file_finishes_with_it_skipped() {
        let home = tempfile::tempdir().expect("tempdir");
        let src = tempfile::tempdir().expect("tempdir");
        std::fs::write(src.path().join("notes.txt"), b"not an image").expect("write");
        let got = scan_updates(home.path(), &[src.path().display().to_string()]);
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
        let got = scan_updates(home.path(), &["/definitely/not/here".into()]);
        assert_eq!(got.len(), 1, "{got:?}");
        let ScanUpdate::Failed(f) = &got[0] else {
            panic!("expected Failed, got {got:?}");
        };
        assert_eq!(f.error.code, "intake.not_found");
    }

    #[test]
    fn only_one_runs_at_a_time() {
        let slot = OneAtATime::default();
        let first = slot.claim("a scan").expect("first claim");
        assert!(slot.is_running());
        let busy = slot.claim("a scan").err().expect("second claim is refused");
        assert_eq!(busy.code, "app.busy");
        assert!(busy.message.contains("a scan"));
        drop(first);
        assert!(!slot.is_running());
        assert!(
            slot.claim("a scan").is_ok(),
            "free again once the first ends"
        );
    }

    #[test]
    fn the_claim_is_freed_when_the_thread_ends() {
        let slot = OneAtATime::default();
        let (tx, rx) = std::sync::mpsc::channel();
        slot.spawn("a send", "test", move || {
            let _ = tx.send(());
        })
        .expect("spawn");
        rx.recv().expect("ran");
        for _ in 0..200 {
            if !slot.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("claim still held after the thread ended");
    }

    #[test]
    fn phases_split_the_combined_count() {
        assert_eq!(phase_of(0, 20), (SendPhase::Deidentifying, 0, 10));
        assert_eq!(phase_of(9, 20), (SendPhase::Deidentifying, 9, 10));
        assert_eq!(phase_of(10, 20), (SendPhase::Delivering, 0, 10));
        assert_eq!(phase_of(20, 20), (SendPhase::Delivering, 10, 10));
        assert_eq!(phase_of(0, 0), (SendPhase::Deidentifying, 0, 0));
    }

    #[test]
    fn a_phase_change_is_always_reported() {
        let mut t = Throttle::new(SendPhase::Deidentifying);
        let s = RunStatus::Sending;
        assert!(
            t.update(SendPhase::Deidentifying, 1, 10, s, 0).is_some(),
            "first"
        );
        assert!(
            t.update(SendPhase::Deidentifying, 2, 10, s, 0).is_none(),
            "throttled"
        );
        let p = t
            .update(SendPhase::Delivering, 0, 10, s, 0)
            .expect("phase change");
        assert_eq!(p.phase, SendPhase::Delivering);
        let p = t
            .update(SendPhase::Delivering, 0, 10, RunStatus::Offline, 8)
            .expect("going offline is always reported");
        assert_eq!((p.status, p.retry_in_secs), (RunStatus::Offline, 8));
    }

    #[test]
    fn sending_nothing_fails_with_a_code() {
        let home = tempfile::tempdir().expect("tempdir");
        let root = home.path().to_path_buf();
        let mut got = Vec::new();
        let req = SendRequest {
            study_uids: vec![],
            destination: "folder:".into(),
            profile: None,
            lookup: None,
        };
        send(|| Session::open(root), &req, |u| got.push(u));
        let [SendUpdate::Failed(f)] = got.as_slice() else {
            panic!("expected one Failed, got {got:?}");
        };
        assert_eq!(f.error.code, "send.nothing_selected");
    }

    #[test]
    fn resuming_an_empty_queue_reports_nothing() {
        let home = tempfile::tempdir().expect("tempdir");
        let root = home.path().to_path_buf();
        let mut got = Vec::new();
        resume(|| Session::open(root), |u| got.push(u));
        assert!(got.is_empty(), "{got:?}");
    }
}
