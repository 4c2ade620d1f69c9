//! Runs sends on their own thread (one at a time) and turns their progress into events; also
//! resumes queued work by itself: at start-up and whenever the destination may be back.

use std::time::{Duration, Instant};

use deposit::api::dto::ApiError;
use deposit::api::send::{SendOptions, SendSummary};
use deposit::api::Session;
use serde::Deserialize;
use tauri::AppHandle;
use tauri_specta::Event;

use crate::busy::OneAtATime;
use crate::events::{SendFailed, SendFinished, SendPhase, SendProgress};
use crate::scan_job::PROGRESS_EVERY;

/// What the window asks to send.
#[derive(Debug, Clone, Deserialize, specta::Type)]
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

/// What a send reports while and after it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendUpdate {
    /// Still running.
    Progress(SendProgress),
    /// Done.
    Finished(SendFinished),
    /// Could not run or stopped early.
    Failed(SendFailed),
}

/// The one send (or resume) that may run at a time.
#[derive(Default)]
pub struct SendJobs {
    slot: OneAtATime,
}

fn emit(app: &AppHandle, update: SendUpdate) {
    // A closed window cannot be told anything; the queue in the catalog still has it all.
    let _ = match update {
        SendUpdate::Progress(p) => p.emit(app),
        SendUpdate::Finished(f) => f.emit(app),
        SendUpdate::Failed(f) => f.emit(app),
    };
}

impl SendJobs {
    /// Starts sending on a new thread; progress and the result arrive as events.
    pub fn start(&self, app: AppHandle, request: SendRequest) -> Result<(), ApiError> {
        self.slot.spawn("a send", "send", move || {
            run(Session::open_default, &request, |u| emit(&app, u));
        })
    }

    /// Resumes queued work unless a send is running (then there is nothing to do: the running
    /// send's destination is reachable, and the next tick comes soon).
    pub fn resume(&self, app: AppHandle) {
        if self.slot.is_running() {
            return;
        }
        let _ = self.slot.spawn("a send", "resume", move || {
            resume(Session::open_default, |u| emit(&app, u));
        });
    }
}

/// Turns the api's `(done, total)` (which counts both halves: preparing, then delivering) into
/// throttled per-phase progress events.
struct Throttle {
    started: Instant,
    phase_started: Instant,
    phase: SendPhase,
    last_sent: Option<Instant>,
    last: Option<SendProgress>,
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Throttle {
    fn new(phase: SendPhase) -> Self {
        let now = Instant::now();
        Throttle {
            started: now,
            phase_started: now,
            phase,
            last_sent: None,
            last: None,
        }
    }

    fn update(&mut self, phase: SendPhase, done: u64, total: u64) -> Option<SendProgress> {
        let changed = phase != self.phase;
        if changed {
            self.phase = phase;
            self.phase_started = Instant::now();
        }
        let p = SendProgress {
            phase,
            done,
            total,
            elapsed_ms: ms(self.started),
            phase_ms: ms(self.phase_started),
        };
        self.last = Some(p);
        if changed || self.last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
            self.last_sent = Some(Instant::now());
            return Some(p);
        }
        None
    }
}

/// Splits the send api's combined count into phases.
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
pub fn run(
    open: impl FnOnce() -> Result<Session, ApiError>,
    request: &SendRequest,
    mut report: impl FnMut(SendUpdate),
) {
    let mut throttle = Throttle::new(SendPhase::Deidentifying);
    let opts = SendOptions {
        profile: request.profile.clone().filter(|p| !p.is_empty()),
        lookup: request
            .lookup
            .clone()
            .filter(|p| !p.is_empty())
            .map(Into::into),
        ..SendOptions::default()
    };
    let result = open().and_then(|mut session| {
        session.send_studies(&request.study_uids, &request.destination, &opts, |d, t| {
            let (phase, done, total) = phase_of(d, t);
            if let Some(p) = throttle.update(phase, done, total) {
                report(SendUpdate::Progress(p));
            }
        })
    });
    finish(result, throttle, false, report);
}

/// Resumes every queued job with work left, reporting like [`run`].
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
            if let Some(p) = throttle.update(SendPhase::Delivering, p.done, p.total) {
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
        Err(error) => report(SendUpdate::Failed(SendFailed { error })),
    }
}

/// How often the app looks for queued work to resume (the destination may be back).
pub fn resume_every() -> Duration {
    std::env::var("DEPOSIT_RESUME_EVERY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(60), Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(t.update(SendPhase::Deidentifying, 1, 10).is_some(), "first");
        assert!(
            t.update(SendPhase::Deidentifying, 2, 10).is_none(),
            "throttled"
        );
        let p = t
            .update(SendPhase::Delivering, 0, 10)
            .expect("phase change");
        assert_eq!(p.phase, SendPhase::Delivering);
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
        run(|| Session::open(root), &req, |u| got.push(u));
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
