//! Delivers a job: every prepared piece (several in flight), then commit, the study's extras
//! (resources, scan QC status), then verification, persisting each step.
//!
//! Transient destination errors are retried with exponential backoff and jitter. When the
//! retries run out the destination is taken to be offline: the run keeps probing it cheaply
//! (exponential backoff with jitter, capped at [`RunOptions::probe_max`]) and resumes by itself
//! when it answers again, reporting "offline — will resume when online" meanwhile. It gives up
//! (the job stays queued, `waiting`) only after [`RunOptions::offline_wait`], if one is set.
//! Permanent errors fail the study with the reason.
//!
//! Pause and cancel are read from the catalog before every new piece, so another process (the
//! CLI, the app) can pause or cancel a running job: pieces in flight finish, no new one starts.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::state::State;
use super::store::{ExtraSpec, JobStudy, QueueStore, StoredPiece};
use super::QueueError;
use crate::archive::throttle::Throttle;
use crate::archive::{Ack, Acks, ArchiveError, Destination, Item, Piece, Receipt};
use crate::error::{Classify, ErrorClass};

/// How a run retries transient failures.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request before the destination is taken to be offline.
    pub attempts: u32,
    /// First delay; doubles each time.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // ≈ 3.5–5 s of retries for hiccups (5xx bursts, a dropped connection); longer outages
        // are waited out by probing (see `RunOptions::offline_wait`)
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// Delivery settings (flags `--concurrency`, `--max-rate`, `--offline-wait`).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Retries of one request.
    pub retry: RetryPolicy,
    /// Pieces in flight at once per destination (at least 1).
    pub concurrency: usize,
    /// Bandwidth cap for upload bodies, bytes per second (`None`: no cap).
    pub max_rate: Option<u64>,
    /// How long to keep waiting for an offline destination before leaving the job queued
    /// (`None`: until it returns; `Some(0)`: do not wait). Counted on the monotonic clock, so a
    /// sleeping laptop does not use it up.
    pub offline_wait: Option<Duration>,
    /// Longest gap between two reachability probes while offline.
    pub probe_max: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            retry: RetryPolicy::default(),
            concurrency: 2,
            max_rate: None,
            offline_wait: None,
            probe_max: Duration::from_secs(60),
        }
    }
}

/// What a run did, counted in files (instances).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RunReport {
    /// Files newly stored by the destination.
    pub sent: u64,
    /// Files the destination already held identically.
    pub already_present: u64,
    /// Files in studies that failed.
    pub failed: u64,
    /// Files verified present and identical in the archive.
    pub verified: u64,
    /// Studies left waiting for the destination (offline); the next run resumes them.
    pub waiting: u64,
    /// Studies left because their job is paused.
    pub paused: u64,
    /// Studies stopped because their job was cancelled.
    pub cancelled: u64,
    /// Times the destination went offline during the run (and was waited for).
    pub offline_periods: u64,
    /// Problems, in words (no PHI).
    pub problems: Vec<String>,
}

/// What a run is doing now.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Delivering.
    #[default]
    Sending,
    /// The destination is unreachable: probing, will resume when online.
    Offline,
    /// The job was paused.
    Paused,
    /// The job was cancelled.
    Cancelled,
}

/// Progress of a run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RunProgress {
    /// Files handled.
    pub done: u64,
    /// Files in the job.
    pub total: u64,
    /// Bytes handled.
    pub bytes: u64,
    /// What the run is doing.
    pub status: RunStatus,
    /// While offline: seconds until the next probe.
    pub retry_in_secs: u64,
}

impl RunProgress {
    /// A line for people: "offline — will resume when online" while offline.
    pub fn message(&self) -> &'static str {
        match self.status {
            RunStatus::Sending => "sending",
            RunStatus::Offline => "offline — will resume when online",
            RunStatus::Paused => "paused",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn with_retry<T>(
    policy: &RetryPolicy,
    seed: u64,
    mut f: impl FnMut() -> Result<T, ArchiveError>,
) -> Result<T, ArchiveError> {
    let mut delay = policy.base;
    let mut jitter = seed | 1;
    let mut attempt = 1;
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if e.class() == ErrorClass::Transient && attempt < policy.attempts => {
                // xorshift jitter: up to +50 % of the delay, deterministic per piece
                let extra = delay.mul_f64((xorshift(&mut jitter) % 500) as f64 / 1000.0);
                tracing::info!(
                    code = e.code(),
                    attempt,
                    "transient delivery error; retrying"
                );
                std::thread::sleep((delay + extra).min(policy.max));
                delay = (delay * 2).min(policy.max);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How a step that needs the destination ended.
enum Step<T> {
    Done(T),
    Failed(ArchiveError),
    Waiting(ArchiveError),
    Stopped(RunStatus),
}

/// How waiting for an offline destination ended.
enum Wait {
    Online,
    GaveUp,
    Stopped(RunStatus),
    Failed(ArchiveError),
}

/// What a sending worker tells the run.
enum Msg {
    /// The destination acknowledged one object of a piece; the run records it in the ledger and
    /// answers (an error text when it could not) before the worker goes on.
    Ack(
        i64,
        Item,
        Ack,
        crossbeam_channel::Sender<Result<(), String>>,
    ),
    /// A piece is done: the objects given to the worker, the names of those acknowledged one by
    /// one, and the result.
    Done(
        i64,
        Vec<Item>,
        HashSet<String>,
        Result<Receipt, ArchiveError>,
    ),
}

/// A worker's [`Acks`]: each acknowledgement goes to the run, which records it; the worker
/// waits for that, so an object acknowledged is recorded before the next one is sent.
struct WorkerAcks {
    piece: i64,
    tx: crossbeam_channel::Sender<Msg>,
    acked: std::sync::Mutex<HashSet<String>>,
}

impl WorkerAcks {
    fn unacknowledged(&self, piece: &Piece) -> Piece {
        let acked = self.acked.lock().unwrap_or_else(|p| p.into_inner());
        Piece {
            labels: piece.labels.clone(),
            items: piece
                .items
                .iter()
                .filter(|i| !acked.contains(&i.name))
                .cloned()
                .collect(),
        }
    }

    fn into_acked(self) -> HashSet<String> {
        self.acked.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl Acks for WorkerAcks {
    fn ack(&self, item: &Item, ack: Ack) -> Result<(), ArchiveError> {
        let failed = |detail: String| ArchiveError::Record {
            item: item.sop_uid().to_string(),
            detail,
        };
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        self.tx
            .send(Msg::Ack(self.piece, item.clone(), ack, reply_tx))
            .map_err(|_| failed("the run has stopped".into()))?;
        match reply_rx.recv() {
            Ok(Ok(())) => {
                self.acked
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(item.name.clone());
                Ok(())
            }
            Ok(Err(detail)) => Err(failed(detail)),
            Err(_) => Err(failed("the run has stopped".into())),
        }
    }
}

/// How an object is counted in a run's report.
#[derive(Clone, Copy)]
enum Counted {
    /// Delivered by an earlier run (progress only).
    Earlier,
    /// Newly stored.
    Stored,
    /// The destination already held it.
    AlreadyPresent,
}

/// How a study's run ended.
enum Outcome {
    Verified,
    Failed,
    Waiting,
    Stopped(RunStatus),
}

struct Run<'a, P: FnMut(RunProgress)> {
    q: QueueStore<'a>,
    job: i64,
    dest: &'a dyn Destination,
    opts: &'a RunOptions,
    now: &'a dyn Fn() -> i64,
    progress: P,
    report: RunReport,
    prog: RunProgress,
    piece_throttle: Option<Arc<Throttle>>,
    gave_up: bool,
    rng: u64,
    /// The destination's identity in the delivery ledger.
    identity: String,
    /// Objects counted in this run (new SOP Instance UID, MD5).
    counted: HashSet<(String, String)>,
    /// The current study's transient problems: reported only if it ends up waiting.
    unresolved: Vec<String>,
}

/// Runs one job to the end (or until it is paused or cancelled, or the destination stays
/// offline longer than `opts.offline_wait`).
pub fn run_job(
    q: &QueueStore<'_>,
    job: i64,
    dest: &dyn Destination,
    opts: &RunOptions,
    now: &dyn Fn() -> i64,
    progress: impl FnMut(RunProgress),
) -> Result<RunReport, QueueError> {
    let piece_throttle = opts.max_rate.and_then(|rate| {
        let t = Throttle::new(rate);
        (!dest.limit_rate(&t)).then_some(t)
    });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(7);
    let mut run = Run {
        q: *q,
        job,
        dest,
        opts,
        now,
        progress,
        report: RunReport::default(),
        prog: RunProgress::default(),
        piece_throttle,
        gave_up: false,
        rng: seed | 1,
        identity: dest.identity(),
        counted: HashSet::new(),
        unresolved: Vec::new(),
    };
    run.run()?;
    Ok(run.report)
}

impl<P: FnMut(RunProgress)> Run<'_, P> {
    fn emit(&mut self, status: RunStatus, retry_in: u64) {
        self.prog.status = status;
        self.prog.retry_in_secs = retry_in;
        (self.progress)(self.prog);
    }

    /// Paused or cancelled (read from the catalog, so other processes can stop a run).
    fn stop_flag(&self) -> Result<Option<RunStatus>, QueueError> {
        Ok(match self.q.job_flags(self.job)? {
            (_, true) => Some(RunStatus::Cancelled),
            (true, _) => Some(RunStatus::Paused),
            _ => None,
        })
    }

    fn run(&mut self) -> Result<(), QueueError> {
        let studies = self.q.studies(self.job)?;
        let mut all = Vec::new();
        for s in studies {
            let pieces = self.q.pieces(s.id)?;
            self.prog.total += pieces.iter().map(|p| p.items.len() as u64).sum::<u64>();
            all.push((s, pieces));
        }
        self.emit(RunStatus::Sending, 0);
        let mut stopped: Option<RunStatus> = None;
        for (study, pieces) in all {
            let files: u64 = pieces.iter().map(|p| p.items.len() as u64).sum();
            if study.state.is_final() {
                self.prog.done += files;
                continue;
            }
            if stopped.is_none() {
                stopped = self.stop_flag()?;
            }
            match stopped {
                Some(RunStatus::Paused) => {
                    self.report.paused += 1;
                    continue;
                }
                Some(_) => {
                    self.report.cancelled += 1;
                    continue;
                }
                None => {}
            }
            if self.gave_up {
                self.report.waiting += 1;
                continue;
            }
            self.unresolved.clear();
            let outcome = self.run_study(&study, &pieces)?;
            if !matches!(outcome, Outcome::Verified | Outcome::Failed) {
                // what went wrong on the way and was overcome is not a problem of the run
                let notes = std::mem::take(&mut self.unresolved);
                self.report.problems.extend(notes);
            }
            match outcome {
                Outcome::Verified | Outcome::Failed => {}
                Outcome::Waiting => self.report.waiting += 1,
                Outcome::Stopped(s) => {
                    stopped = Some(s);
                    if s == RunStatus::Paused {
                        self.report.paused += 1;
                    } else {
                        self.report.cancelled += 1;
                    }
                }
            }
        }
        match stopped {
            Some(s) => self.emit(s, 0),
            None => self.emit(RunStatus::Sending, 0),
        }
        Ok(())
    }

    /// Probes an offline destination until it answers, the wait limit passes, or the job is
    /// paused or cancelled.
    fn wait_online(&mut self) -> Result<Wait, QueueError> {
        let start = Instant::now();
        let mut delay = Duration::from_secs(1).min(self.opts.probe_max);
        if self.opts.offline_wait.is_some_and(|w| w.is_zero()) {
            return Ok(Wait::GaveUp);
        }
        self.report.offline_periods += 1;
        tracing::warn!(
            destination = %self.dest.describe(),
            "offline — will resume when online"
        );
        loop {
            let mut sleep = delay + delay.mul_f64((xorshift(&mut self.rng) % 500) as f64 / 1000.0);
            sleep = sleep.min(self.opts.probe_max);
            if let Some(limit) = self.opts.offline_wait {
                let left = limit.saturating_sub(start.elapsed());
                if left.is_zero() {
                    tracing::warn!("the destination stayed offline; the job stays queued");
                    return Ok(Wait::GaveUp);
                }
                sleep = sleep.min(left);
            }
            self.emit(RunStatus::Offline, sleep.as_secs().max(1));
            let until = Instant::now() + sleep;
            let mut last_check = Instant::now();
            while Instant::now() < until {
                std::thread::sleep(Duration::from_millis(200).min(sleep));
                if last_check.elapsed() >= Duration::from_secs(1) {
                    last_check = Instant::now();
                    if let Some(s) = self.stop_flag()? {
                        return Ok(Wait::Stopped(s));
                    }
                }
            }
            match self.dest.probe() {
                Ok(()) => {
                    tracing::warn!(destination = %self.dest.describe(), "back online; resuming");
                    self.emit(RunStatus::Sending, 0);
                    return Ok(Wait::Online);
                }
                Err(e) if e.class() == ErrorClass::Transient => {
                    tracing::info!(code = e.code(), "still offline");
                    delay = (delay * 2).min(self.opts.probe_max);
                }
                Err(e) => return Ok(Wait::Failed(e)),
            }
        }
    }

    /// One request with retries, waiting through offline periods.
    fn step<T>(
        &mut self,
        seed: u64,
        f: impl Fn() -> Result<T, ArchiveError>,
    ) -> Result<Step<T>, QueueError> {
        loop {
            match with_retry(&self.opts.retry, seed, &f) {
                Ok(v) => return Ok(Step::Done(v)),
                Err(e) if e.class() == ErrorClass::Transient => match self.wait_online()? {
                    Wait::Online => continue,
                    Wait::GaveUp => {
                        self.gave_up = true;
                        return Ok(Step::Waiting(e));
                    }
                    Wait::Stopped(s) => return Ok(Step::Stopped(s)),
                    Wait::Failed(pe) => return Ok(Step::Failed(pe)),
                },
                Err(e) => return Ok(Step::Failed(e)),
            }
        }
    }

    /// Writes a study state; `false` when the study was cancelled meanwhile.
    fn set_study(
        &self,
        id: i64,
        to: State,
        uri: Option<&str>,
        detail: Option<&str>,
        audit: Option<&str>,
    ) -> Result<bool, QueueError> {
        match self.q.set_study(id, to, uri, detail, audit, (self.now)()) {
            Ok(()) => Ok(true),
            Err(QueueError::Transition {
                from: State::Cancelled,
                ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn fail_study(&mut self, study: &JobStudy, files: u64, e: &str) -> Result<Outcome, QueueError> {
        if !self.set_study(study.id, State::Failed, None, Some(e), None)? {
            return Ok(Outcome::Stopped(RunStatus::Cancelled));
        }
        self.report.failed += files;
        self.report
            .problems
            .push(format!("{}: {e}", study.labels.session));
        Ok(Outcome::Failed)
    }

    /// Writes a piece state; a piece cancelled meanwhile (by `queue cancel`) stays cancelled.
    /// A piece another process's restart recovery put back to `prepared` while it was in flight
    /// here is recorded as sent again, then acknowledged (it did arrive).
    fn set_piece(&self, id: i64, to: State, detail: Option<&str>) -> Result<bool, QueueError> {
        match self.q.set_piece(id, to, detail, (self.now)()) {
            Ok(()) => Ok(true),
            // cancelled meanwhile, or acknowledged by another process: leave it so
            Err(QueueError::Transition {
                from: State::Cancelled | State::Acknowledged,
                ..
            }) => Ok(false),
            Err(QueueError::Transition {
                from: State::Prepared,
                to: State::Acknowledged,
            }) => {
                self.q.set_piece(id, State::Sending, None, (self.now)())?;
                self.q.set_piece(id, to, detail, (self.now)())?;
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// Sends a study's unsent pieces, several at once.
    fn deliver_pieces(
        &mut self,
        study: &JobStudy,
        pieces: &[StoredPiece],
        files: u64,
    ) -> Result<Option<Outcome>, QueueError> {
        let mut pending: VecDeque<&StoredPiece> = VecDeque::new();
        for p in pieces {
            if p.state == State::Prepared || p.state == State::Sending {
                pending.push_back(p);
            } else {
                for item in &p.items {
                    self.count(item, Counted::Earlier);
                }
            }
        }
        if pending.is_empty() {
            return Ok(None);
        }
        let n = self.opts.concurrency.max(1);
        let dest = self.dest;
        let retry = self.opts.retry.clone();
        let (work_tx, work_rx) = crossbeam_channel::bounded::<(i64, Piece)>(0);
        let (done_tx, done_rx) = crossbeam_channel::unbounded::<Msg>();
        std::thread::scope(|sc| {
            for _ in 0..n {
                let (rx, tx, retry) = (work_rx.clone(), done_tx.clone(), retry.clone());
                sc.spawn(move || {
                    for (id, piece) in rx.iter() {
                        let acks = WorkerAcks {
                            piece: id,
                            tx: tx.clone(),
                            acked: std::sync::Mutex::new(HashSet::new()),
                        };
                        // a retry sends only what was not acknowledged by an earlier attempt
                        let r = with_retry(&retry, id as u64, || {
                            let left = acks.unacknowledged(&piece);
                            if left.items.is_empty() {
                                return Ok(Receipt {
                                    stored: 0,
                                    already_present: 0,
                                });
                            }
                            dest.deliver(&left, &acks)
                        });
                        let acked = acks.into_acked();
                        if tx.send(Msg::Done(id, piece.items, acked, r)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let r = self.pump(study, pieces, files, pending, n, &work_tx, &done_rx);
            // the workers end when the work channel closes, whatever happened
            drop(work_tx);
            r
        })
    }

    /// Counts an object once per run in the progress and the report.
    fn count(&mut self, item: &Item, how: Counted) {
        if !self
            .counted
            .insert((item.sop_uid().to_string(), item.md5.clone()))
        {
            return;
        }
        self.prog.done += 1;
        match how {
            Counted::Earlier => {}
            Counted::Stored => {
                self.report.sent += 1;
                self.prog.bytes += item.size;
            }
            Counted::AlreadyPresent => {
                self.report.already_present += 1;
                self.prog.bytes += item.size;
            }
        }
    }

    /// The objects of a piece still to send: those the ledger shows acknowledged by this piece
    /// (before a crash or an earlier attempt) or, for a destination that cannot be listed, by
    /// any earlier job are left out and counted.
    fn unsent(&mut self, p: &StoredPiece) -> Result<Vec<Item>, QueueError> {
        let mut left = Vec::with_capacity(p.items.len());
        for item in &p.items {
            match self.q.delivered_by(&self.identity, item)? {
                // acknowledged by an earlier attempt: counted then, or by a run before this one
                Some(piece) if piece == p.id => self.count(item, Counted::Earlier),
                Some(_) if !self.dest.listable() => self.count(item, Counted::AlreadyPresent),
                _ => left.push(item.clone()),
            }
        }
        Ok(left)
    }

    /// Records one acknowledgement in the ledger (before the worker sends the next object).
    fn record_ack(&mut self, piece: i64, item: &Item, ack: Ack) -> Result<(), QueueError> {
        self.q.record_delivery(
            &self.identity,
            item,
            piece,
            ack == Ack::Stored,
            (self.now)(),
        )?;
        self.count(
            item,
            match ack {
                Ack::Stored => Counted::Stored,
                Ack::AlreadyPresent => Counted::AlreadyPresent,
            },
        );
        (self.progress)(self.prog);
        Ok(())
    }

    /// Feeds pieces to the workers and records their acknowledgements and results.
    #[allow(clippy::too_many_arguments)]
    fn pump<'p>(
        &mut self,
        study: &JobStudy,
        pieces: &'p [StoredPiece],
        files: u64,
        mut pending: VecDeque<&'p StoredPiece>,
        n: usize,
        work_tx: &crossbeam_channel::Sender<(i64, Piece)>,
        done_rx: &crossbeam_channel::Receiver<Msg>,
    ) -> Result<Option<Outcome>, QueueError> {
        let mut inflight = 0usize;
        let mut outcome: Option<Outcome> = None;
        let mut need_wait = false;
        loop {
            while outcome.is_none() && !need_wait && inflight < n && !pending.is_empty() {
                if let Some(s) = self.stop_flag()? {
                    outcome = Some(Outcome::Stopped(s));
                    break;
                }
                let Some(p) = pending.pop_front() else { break };
                if !self.set_piece(p.id, State::Sending, None)? {
                    if self.q.job_flags(self.job)?.1 {
                        outcome = Some(Outcome::Stopped(RunStatus::Cancelled));
                        break;
                    }
                    // acknowledged by another process meanwhile: nothing to send
                    for item in &p.items {
                        self.count(item, Counted::Earlier);
                    }
                    continue;
                }
                let items = self.unsent(p)?;
                if items.is_empty() {
                    // every object is acknowledged already
                    self.set_piece(p.id, State::Acknowledged, None)?;
                    (self.progress)(self.prog);
                    continue;
                }
                if let Some(t) = &self.piece_throttle {
                    t.take(items.iter().map(|i| i.size).sum());
                }
                let piece = Piece {
                    labels: study.labels.clone(),
                    items,
                };
                if work_tx.send((p.id, piece)).is_err() {
                    break;
                }
                inflight += 1;
            }
            if inflight == 0 {
                if need_wait && outcome.is_none() {
                    need_wait = false;
                    match self.wait_online()? {
                        Wait::Online => continue,
                        Wait::GaveUp => {
                            self.gave_up = true;
                            outcome = Some(Outcome::Waiting);
                        }
                        Wait::Stopped(s) => outcome = Some(Outcome::Stopped(s)),
                        Wait::Failed(e) => {
                            outcome = Some(self.fail_study(study, files, &e.to_string())?);
                        }
                    }
                }
                return Ok(outcome);
            }
            let Ok(msg) = done_rx.recv() else {
                return Ok(outcome);
            };
            let (id, sent, acked, r) = match msg {
                Msg::Ack(piece, item, ack, reply) => {
                    let r = self.record_ack(piece, &item, ack);
                    let answer = r.as_ref().map(|_| ()).map_err(|e| e.to_string());
                    let _ = reply.send(answer);
                    r?;
                    continue;
                }
                Msg::Done(id, sent, acked, r) => (id, sent, acked, r),
            };
            inflight -= 1;
            let Some(p) = pieces.iter().find(|p| p.id == id) else {
                continue;
            };
            match r {
                Ok(receipt) => {
                    // objects the destination answered for as a whole piece (no acknowledgement
                    // of their own) are recorded now
                    let rest: Vec<&Item> =
                        sent.iter().filter(|i| !acked.contains(&i.name)).collect();
                    let whole_piece = acked.is_empty();
                    let mut already = if whole_piece {
                        receipt.already_present
                    } else {
                        0
                    };
                    for item in rest {
                        let ack = if already > 0 {
                            already -= 1;
                            Ack::AlreadyPresent
                        } else {
                            Ack::Stored
                        };
                        self.record_ack(id, item, ack)?;
                    }
                    self.set_piece(id, State::Acknowledged, None)?;
                    (self.progress)(self.prog);
                }
                Err(e) if e.class() == ErrorClass::Transient => {
                    self.set_piece(id, State::Prepared, Some(&e.to_string()))?;
                    pending.push_front(p);
                    if outcome.is_none() && !need_wait {
                        self.unresolved.push(format!(
                            "{}: waiting for the destination: {e}",
                            study.labels.session
                        ));
                        need_wait = true;
                    }
                }
                Err(e) => {
                    self.set_piece(id, State::Failed, Some(&e.to_string()))?;
                    if !matches!(outcome, Some(Outcome::Failed)) {
                        outcome = Some(self.fail_study(study, files, &e.to_string())?);
                    }
                }
            }
        }
    }

    fn run_study(
        &mut self,
        study: &JobStudy,
        pieces: &[StoredPiece],
    ) -> Result<Outcome, QueueError> {
        let files: u64 = pieces.iter().map(|p| p.items.len() as u64).sum();
        let dest = self.dest;
        let labels = study.labels.clone();
        if study.state != State::Committed {
            if let Some(o) = self.deliver_pieces(study, pieces, files)? {
                return Ok(o);
            }
            if !self.set_study(study.id, State::Acknowledged, None, None, None)? {
                return Ok(Outcome::Stopped(RunStatus::Cancelled));
            }
            match self.step(study.id as u64, || dest.commit(&labels))? {
                Step::Done(uri) => {
                    if !self.set_study(study.id, State::Committed, Some(&uri), None, None)? {
                        return Ok(Outcome::Stopped(RunStatus::Cancelled));
                    }
                    self.q.set_committed_at(study.id, (self.now)())?;
                }
                Step::Failed(e) => return self.fail_study(study, files, &format!("commit: {e}")),
                Step::Waiting(e) => {
                    self.report
                        .problems
                        .push(format!("{}: commit: {e}", study.labels.session));
                    return Ok(Outcome::Waiting);
                }
                Step::Stopped(s) => return Ok(Outcome::Stopped(s)),
            }
        } else {
            self.prog.done += files;
        }
        // resources and scan QC status, once the session exists
        for x in self.q.extras(study.id)? {
            if matches!(x.state, State::Acknowledged | State::Cancelled) {
                continue;
            }
            self.q
                .set_extra(x.id, State::Sending, None, None, (self.now)())?;
            let spec = x.spec.clone();
            let r = self.step(x.id as u64, || match &spec {
                ExtraSpec::Resource(res) => dest.put_resource(&labels, res).map(Some),
                ExtraSpec::Quality { scan, quality } => {
                    dest.set_scan_quality(&labels, scan, *quality).map(|_| None)
                }
            })?;
            match r {
                Step::Done(uri) => self.q.set_extra(
                    x.id,
                    State::Acknowledged,
                    uri.as_deref(),
                    None,
                    (self.now)(),
                )?,
                Step::Failed(e) => {
                    self.q.set_extra(
                        x.id,
                        State::Failed,
                        None,
                        Some(&e.to_string()),
                        (self.now)(),
                    )?;
                    return self.fail_study(study, files, &e.to_string());
                }
                Step::Waiting(e) => {
                    self.q.set_extra(
                        x.id,
                        State::Prepared,
                        None,
                        Some(&e.to_string()),
                        (self.now)(),
                    )?;
                    return Ok(Outcome::Waiting);
                }
                Step::Stopped(s) => {
                    self.q
                        .set_extra(x.id, State::Prepared, None, None, (self.now)())?;
                    return Ok(Outcome::Stopped(s));
                }
            }
        }
        let items: Vec<_> = pieces.iter().flat_map(|p| p.items.clone()).collect();
        let v = match self.step(study.id as u64, || dest.verify(&labels, &items))? {
            Step::Done(v) => v,
            Step::Failed(e) => return self.fail_study(study, files, &format!("verify: {e}")),
            Step::Waiting(e) => {
                self.report
                    .problems
                    .push(format!("{}: verify: {e}", study.labels.session));
                return Ok(Outcome::Waiting);
            }
            Step::Stopped(s) => return Ok(Outcome::Stopped(s)),
        };
        let audit = self.audit(study, pieces, &v)?;
        if v.ok() {
            if !self.set_study(study.id, State::Verified, Some(&v.uri), None, Some(&audit))? {
                return Ok(Outcome::Stopped(RunStatus::Cancelled));
            }
            self.report.verified += v.matched;
            Ok(Outcome::Verified)
        } else {
            let detail = format!("verification failed: {}", v.problems.join("; "));
            if !self.set_study(study.id, State::Failed, None, Some(&detail), Some(&audit))? {
                return Ok(Outcome::Stopped(RunStatus::Cancelled));
            }
            self.report.failed += files;
            self.report
                .problems
                .push(format!("{}: {detail}", study.labels.session));
            Ok(Outcome::Failed)
        }
    }

    /// The audit record of a study (a contract: docs/architecture.md, "Contracts").
    fn audit(
        &self,
        study: &JobStudy,
        pieces: &[StoredPiece],
        v: &crate::archive::Verification,
    ) -> Result<String, QueueError> {
        let (pname, psha, queued_at) = self.q.job_info(self.job)?.unwrap_or_default();
        let extras = self.q.extras(study.id)?;
        let resources: Vec<serde_json::Value> = extras
            .iter()
            .filter_map(|x| match &x.spec {
                ExtraSpec::Resource(r) => Some(serde_json::json!({
                    "level": r.level, "scan": r.scan, "label": r.label, "name": r.name,
                    "bytes": r.size, "md5": r.md5, "uri": x.uri, "state": x.state,
                })),
                _ => None,
            })
            .collect();
        let quality: Vec<serde_json::Value> = extras
            .iter()
            .filter_map(|x| match &x.spec {
                ExtraSpec::Quality { scan, quality } => Some(serde_json::json!({
                    "scan": scan, "quality": quality, "state": x.state,
                })),
                _ => None,
            })
            .collect();
        let now = (self.now)();
        let delivered_at = pieces
            .iter()
            .filter(|p| p.state == State::Acknowledged)
            .map(|p| p.state_at)
            .max();
        let (study_uid, shift) = self.q.linkage(study.id)?;
        let mut record = serde_json::json!({
            "destination": self.dest.describe(),
            "profile": {"name": pname, "sha256": psha},
            "labels": study.labels,
            "files": v.expected,
            "bytes": pieces.iter().flat_map(|p| p.items.iter()).map(|i| i.size).sum::<u64>(),
            "pieces": pieces.len(),
            "resources": resources,
            "scan_quality": quality,
            "queued_at": queued_at,
            "delivered_at": delivered_at.unwrap_or(now),
            "committed_at": self.q.committed_at(study.id)?,
            "verified_at": now,
            "uri": v.uri,
            "verification": {
                "method": self.dest.verification_method(),
                "expected": v.expected,
                "matched": v.matched,
                "result": if v.ok() { "ok" } else { "failed" },
                "problems": v.problems.iter().take(20).collect::<Vec<_>>(),
            },
            "study_uid": study_uid,
        });
        if let (Some(shift), Some(m)) = (shift, record.as_object_mut()) {
            m.insert("date_shift_days".into(), serde_json::json!(shift));
        }
        Ok(record.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::folder::FolderArchive;
    use crate::archive::{md5_hex, Item, Piece, Receipt, StudyLabels, Verification};
    use crate::catalog::Catalog;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn setup(n: usize) -> (tempfile::TempDir, Catalog, i64, i64, Vec<Item>, StudyLabels) {
        let d = tempfile::tempdir().expect("tmp");
        let cat = Catalog::open(&d.path().join("c.sqlite")).expect("catalog");
        let items: Vec<Item> = (0..n)
            .map(|i| {
                let bytes = format!("file {i}").into_bytes();
                let p = d.path().join(format!("{i}.dcm"));
                std::fs::write(&p, &bytes).expect("write");
                Item {
                    path: p,
                    scan: "1".into(),
                    name: format!("{i}.dcm"),
                    size: bytes.len() as u64,
                    md5: md5_hex(&bytes),
                }
            })
            .collect();
        let labels = StudyLabels {
            project: "P".into(),
            subject: "DEP-1".into(),
            session: "S".into(),
        };
        let c = &QueueStore::open(cat.conn()).expect("queue");
        let job = c.create_job("folder:x", ("basic", "abc"), 1).expect("job");
        let study = c.add_study(job, "2.25.1", &labels, 1).expect("study");
        for (seq, chunk) in items.chunks(2).enumerate() {
            c.add_piece(study, seq as i64, chunk, 1).expect("piece");
        }
        (d, cat, job, study, items, labels)
    }

    fn fast() -> RunOptions {
        RunOptions {
            retry: RetryPolicy {
                attempts: 3,
                base: Duration::from_millis(1),
                max: Duration::from_millis(2),
            },
            offline_wait: Some(Duration::ZERO),
            concurrency: 1,
            ..Default::default()
        }
    }

    #[test]
    fn interrupted_piece_is_resent_and_nothing_acknowledged_is_sent_again() {
        let (d, cat, job, study, items, labels) = setup(5);
        let c = &QueueStore::open(cat.conn()).expect("queue");
        let dest = FolderArchive::new(d.path().join("archive"));
        // first piece acknowledged before the "crash"; second was in flight
        let ps = c.pieces(study).expect("pieces");
        c.set_piece(ps[0].id, State::Sending, None, 2).expect("s");
        dest.put(&Piece {
            labels: labels.clone(),
            items: ps[0].items.clone(),
        })
        .expect("put");
        c.set_piece(ps[0].id, State::Acknowledged, None, 3)
            .expect("a");
        c.set_piece(ps[1].id, State::Sending, None, 4).expect("s");
        assert_eq!(c.recover(5).expect("recover"), 1);
        let r = run_job(c, job, &dest, &fast(), &|| 6, |_| {}).expect("run");
        assert_eq!(r.sent, 3, "only the 3 files not acknowledged are sent");
        assert_eq!(r.verified, 5);
        let s = &c.studies(job).expect("studies")[0];
        assert_eq!(s.state, State::Verified);
        assert!(dest.verify(&labels, &items).expect("verify").ok());
        // the audit record is complete (the runner writes it for every destination type)
        let view = &c.list_jobs().expect("list")[0].studies[0];
        let a = view.audit.as_ref().expect("audit");
        assert_eq!(
            a["profile"],
            serde_json::json!({"name": "basic", "sha256": "abc"})
        );
        assert_eq!(
            (a["files"].as_u64(), a["pieces"].as_u64()),
            (Some(5), Some(3))
        );
        assert_eq!(a["bytes"], items.iter().map(|i| i.size).sum::<u64>());
        assert_eq!(a["verification"]["result"], "ok");
        assert!(a["verification"]["method"].is_string());
        for k in [
            "queued_at",
            "delivered_at",
            "committed_at",
            "verified_at",
            "uri",
        ] {
            assert!(!a[k].is_null(), "{k}: {a}");
        }
        // what a later linkage check compares with: the de-identified study UID; no date shift
        // was recorded for this study, so none is claimed
        assert_eq!(a["study_uid"], "2.25.1");
        assert!(a.get("date_shift_days").is_none(), "{a}");
        // a second run does nothing
        let r2 = run_job(c, job, &dest, &fast(), &|| 7, |_| {}).expect("run again");
        assert_eq!((r2.sent, r2.already_present), (0, 0));
    }

    struct Flaky {
        inner: FolderArchive,
        failures_left: AtomicU32,
    }

    impl Destination for Flaky {
        fn describe(&self) -> String {
            "flaky".into()
        }
        fn check(&self) -> Result<(), ArchiveError> {
            Ok(())
        }
        fn deliver(&self, p: &Piece, _acks: &dyn Acks) -> Result<Receipt, ArchiveError> {
            if self.failures_left.load(Ordering::SeqCst) > 0 {
                self.failures_left.fetch_sub(1, Ordering::SeqCst);
                return Err(ArchiveError::Unreachable {
                    destination: "flaky".into(),
                    detail: "connection refused".into(),
                });
            }
            self.inner.put(p)
        }
        fn commit(&self, l: &StudyLabels) -> Result<String, ArchiveError> {
            self.inner.commit(l)
        }
        fn verify(&self, l: &StudyLabels, i: &[Item]) -> Result<Verification, ArchiveError> {
            self.inner.verify(l, i)
        }
    }

    /// Acknowledges each object as it "stores" it; cannot be listed (like CTP); breaks the
    /// connection once after `break_after` objects.
    struct PerObject {
        stored: std::sync::Mutex<Vec<String>>,
        break_after: AtomicU32,
    }

    impl Destination for PerObject {
        fn describe(&self) -> String {
            "per-object".into()
        }
        fn listable(&self) -> bool {
            false
        }
        fn check(&self) -> Result<(), ArchiveError> {
            Ok(())
        }
        fn deliver(&self, p: &Piece, acks: &dyn Acks) -> Result<Receipt, ArchiveError> {
            for item in &p.items {
                if self.break_after.load(Ordering::SeqCst) == 0 {
                    self.break_after.store(u32::MAX, Ordering::SeqCst);
                    return Err(ArchiveError::Unreachable {
                        destination: "per-object".into(),
                        detail: "peer disconnected".into(),
                    });
                }
                self.break_after.fetch_sub(1, Ordering::SeqCst);
                self.stored.lock().expect("lock").push(item.name.clone());
                acks.ack(item, Ack::Stored)?;
            }
            Ok(Receipt {
                stored: p.items.len() as u64,
                already_present: 0,
            })
        }
        fn commit(&self, _l: &StudyLabels) -> Result<String, ArchiveError> {
            Ok("per-object".into())
        }
        fn verify(&self, _l: &StudyLabels, i: &[Item]) -> Result<Verification, ArchiveError> {
            Ok(Verification {
                expected: i.len() as u64,
                matched: i.len() as u64,
                problems: Vec::new(),
                uri: "per-object".into(),
            })
        }
    }

    #[test]
    fn a_broken_connection_resends_only_what_was_not_acknowledged() {
        // pieces of 2; the connection breaks after the 3rd object (the 1st of piece 2)
        let (_d, cat, job, _study, _items, _labels) = setup(6);
        let c = &QueueStore::open(cat.conn()).expect("queue");
        let dest = PerObject {
            stored: Default::default(),
            break_after: AtomicU32::new(3),
        };
        let r = run_job(c, job, &dest, &fast(), &|| 2, |_| {}).expect("run");
        assert_eq!((r.sent, r.verified), (6, 6), "{r:?}");
        let mut stored = dest.stored.lock().expect("lock").clone();
        assert_eq!(stored.len(), 6, "no object twice: {stored:?}");
        stored.sort();
        stored.dedup();
        assert_eq!(stored.len(), 6);
        assert!(
            r.problems.is_empty(),
            "overcome problems are not reported: {r:?}"
        );
    }

    #[test]
    fn a_destination_without_listing_is_not_sent_what_it_acknowledged_before() {
        let (d, cat, job, _study, items, labels) = setup(4);
        let c = &QueueStore::open(cat.conn()).expect("queue");
        let dest = PerObject {
            stored: Default::default(),
            break_after: AtomicU32::new(u32::MAX),
        };
        let r = run_job(c, job, &dest, &fast(), &|| 2, |_| {}).expect("run");
        assert_eq!((r.sent, r.already_present), (4, 0), "{r:?}");
        // the same objects again in a new job (the same folder sent again); one object changed
        let mut again = items.clone();
        let changed = d.path().join("changed.dcm");
        std::fs::write(&changed, b"other bytes").expect("write");
        again[3].path = changed;
        again[3].md5 = md5_hex(b"other bytes");
        let job2 = c
            .create_job("per-object", ("basic", "abc"), 3)
            .expect("job");
        let study2 = c.add_study(job2, "2.25.1", &labels, 3).expect("study");
        c.add_piece(study2, 0, &again, 3).expect("piece");
        let r = run_job(c, job2, &dest, &fast(), &|| 4, |_| {}).expect("run");
        assert_eq!((r.sent, r.already_present, r.verified), (1, 3, 4), "{r:?}");
        assert_eq!(dest.stored.lock().expect("lock").len(), 5);
    }

    #[test]
    fn offline_destination_waits_then_resumes() {
        let (d, cat, job, _study, _items, _labels) = setup(4);
        let c = &QueueStore::open(cat.conn()).expect("queue");
        let dest = Flaky {
            inner: FolderArchive::new(d.path().join("archive")),
            failures_left: AtomicU32::new(3),
        };
        let r = run_job(c, job, &dest, &fast(), &|| 2, |_| {}).expect("run");
        assert_eq!(r.waiting, 1, "{r:?}");
        assert_eq!(r.sent, 0);
        // the destination comes back
        let r = run_job(c, job, &dest, &fast(), &|| 3, |_| {}).expect("run");
        assert_eq!((r.sent, r.verified, r.waiting), (4, 4, 0), "{r:?}");
    }

    #[test]
    fn offline_destination_is_probed_and_the_same_run_resumes() {
        let (d, cat, job, _study, _items, _labels) = setup(6);
        let c = &QueueStore::open(cat.conn()).expect("queue");
        let dest = Flaky {
            inner: FolderArchive::new(d.path().join("archive")),
            failures_left: AtomicU32::new(7),
        };
        let opts = RunOptions {
            offline_wait: None,
            probe_max: Duration::from_millis(5),
            concurrency: 2,
            ..fast()
        };
        let mut offline_seen = false;
        let r = run_job(c, job, &dest, &opts, &|| 2, |p| {
            offline_seen |= p.status == RunStatus::Offline;
        })
        .expect("run");
        assert_eq!((r.sent, r.verified, r.waiting), (6, 6, 0), "{r:?}");
        assert!(r.offline_periods >= 1 && offline_seen, "{r:?}");
    }

    #[test]
    fn a_paused_job_starts_no_piece_and_resumes_later() {
        let (d, cat, job, _study, _items, _labels) = setup(4);
        let c = &QueueStore::open(cat.conn()).expect("queue");
        let dest = FolderArchive::new(d.path().join("archive"));
        assert!(c.set_paused(job, true).expect("pause"));
        let r = run_job(c, job, &dest, &fast(), &|| 2, |_| {}).expect("run");
        assert_eq!((r.sent, r.paused), (0, 1), "{r:?}");
        assert_eq!(c.list_jobs().expect("list")[0].state, "paused");
        assert!(c.set_paused(job, false).expect("resume"));
        let r = run_job(c, job, &dest, &fast(), &|| 3, |_| {}).expect("run");
        assert_eq!((r.sent, r.verified, r.paused), (4, 4, 0), "{r:?}");
        assert_eq!(c.list_jobs().expect("list")[0].state, "done");
    }

    #[test]
    fn the_audit_record_carries_the_recorded_date_shift() {
        for (shift, expected) in [
            (Some(-42), serde_json::json!(-42)),
            (None, serde_json::Value::Null),
        ] {
            let (d, cat, job, study, _, _) = setup(2);
            let c = &QueueStore::open(cat.conn()).expect("queue");
            c.set_date_shift(study, shift).expect("shift");
            let dest = FolderArchive::new(d.path().join("archive"));
            run_job(c, job, &dest, &fast(), &|| 6, |_| {}).expect("run");
            let view = &c.list_jobs().expect("list")[0].studies[0];
            let a = view.audit.as_ref().expect("audit");
            assert_eq!(a.get("date_shift_days"), Some(&expected), "{a}");
            let delivered = c.delivered_studies().expect("delivered");
            assert_eq!(delivered.len(), 1);
            assert_eq!(delivered[0].study_uid, "2.25.1");
            assert_eq!(delivered[0].profile_sha256, "abc");
        }
    }

    #[test]
    fn cancel_keeps_an_audit_record_and_cleans_the_outbox() {
        let (d, cat, job, study, items, _labels) = setup(4);
        let c = &QueueStore::open(cat.conn()).expect("queue");
        let r = c.cancel_job(job, d.path(), 5).expect("cancel");
        assert_eq!(
            (r.studies, r.pieces, r.outbox_files_removed),
            (1, 2, 4),
            "{r:?}"
        );
        assert!(items.iter().all(|i| !i.path.exists()));
        let s = &c.list_jobs().expect("list")[0];
        assert_eq!(s.state, "cancelled");
        assert_eq!(s.studies[0].state, State::Cancelled);
        assert_eq!(s.studies[0].audit.as_ref().expect("audit")["files_sent"], 0);
        // nothing runs afterwards, and a retry does not revive it
        assert!(c.open_jobs().expect("open").is_empty());
        assert_eq!(c.retry_job(job, 6).expect("retry"), 0);
        assert_eq!(c.studies(job).expect("s")[0].id, study);
    }
}
