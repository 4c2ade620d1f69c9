//! Delivers a job: every prepared piece, then commit, then verification, persisting each step.
//!
//! Transient destination errors are retried with exponential backoff and jitter; when the
//! retries run out the piece stays `prepared` and the job reports that it is waiting for the
//! destination (it resumes on the next run). Permanent errors fail the study with the reason.

use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;

use super::state::State;
use super::store;
use super::QueueError;
use crate::archive::{ArchiveError, Destination};
use crate::error::{Classify, ErrorClass};

/// How a run retries transient failures.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request before giving up for this run.
    pub attempts: u32,
    /// First delay; doubles each time.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
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
    /// Problems, in words (no PHI).
    pub problems: Vec<String>,
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
                jitter ^= jitter << 13;
                jitter ^= jitter >> 7;
                jitter ^= jitter << 17;
                let extra = delay.mul_f64((jitter % 500) as f64 / 1000.0);
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

/// Runs one job to the end (or until the destination is unreachable).
pub fn run_job(
    c: &Connection,
    job: i64,
    dest: &dyn Destination,
    policy: &RetryPolicy,
    now: &dyn Fn() -> i64,
    mut progress: impl FnMut(RunProgress),
) -> Result<RunReport, QueueError> {
    let mut report = RunReport::default();
    let studies = store::studies(c, job)?;
    let mut prog = RunProgress::default();
    let mut all = Vec::new();
    for s in &studies {
        let pieces = store::pieces(c, s.id)?;
        prog.total += pieces.iter().map(|p| p.items.len() as u64).sum::<u64>();
        all.push((s, pieces));
    }
    progress(prog);
    'studies: for (study, pieces) in all {
        let files: u64 = pieces.iter().map(|p| p.items.len() as u64).sum();
        if study.state.is_final() {
            prog.done += files;
            progress(prog);
            continue;
        }
        for piece in &pieces {
            if piece.state != State::Prepared && piece.state != State::Sending {
                prog.done += piece.items.len() as u64;
                continue;
            }
            if piece.state == State::Prepared {
                store::set_piece(c, piece.id, State::Sending, None, now())?;
            }
            let sent = with_retry(policy, piece.id as u64, || {
                dest.put(&crate::archive::Piece {
                    labels: study.labels.clone(),
                    items: piece.items.clone(),
                })
            });
            match sent {
                Ok(r) => {
                    store::set_piece(c, piece.id, State::Acknowledged, None, now())?;
                    report.sent += r.stored;
                    report.already_present += r.already_present;
                }
                Err(e) if e.class() == ErrorClass::Transient => {
                    store::set_piece(c, piece.id, State::Prepared, Some(&e.to_string()), now())?;
                    report.waiting += 1;
                    report.problems.push(format!(
                        "{}: waiting for the destination: {e}",
                        study.labels.session
                    ));
                    continue 'studies;
                }
                Err(e) => {
                    store::set_piece(c, piece.id, State::Failed, Some(&e.to_string()), now())?;
                    store::set_study(
                        c,
                        study.id,
                        State::Failed,
                        None,
                        Some(&e.to_string()),
                        None,
                        now(),
                    )?;
                    report.failed += files;
                    report
                        .problems
                        .push(format!("{}: {e}", study.labels.session));
                    continue 'studies;
                }
            }
            prog.done += piece.items.len() as u64;
            prog.bytes += piece.items.iter().map(|i| i.size).sum::<u64>();
            progress(prog);
        }
        let items: Vec<_> = pieces.iter().flat_map(|p| p.items.clone()).collect();
        if study.state != State::Committed {
            store::set_study(c, study.id, State::Acknowledged, None, None, None, now())?;
            match with_retry(policy, study.id as u64, || dest.commit(&study.labels)) {
                Ok(uri) => {
                    store::set_study(c, study.id, State::Committed, Some(&uri), None, None, now())?
                }
                Err(e) => {
                    let transient = e.class() == ErrorClass::Transient;
                    report
                        .problems
                        .push(format!("{}: commit: {e}", study.labels.session));
                    if transient {
                        report.waiting += 1;
                    } else {
                        store::set_study(
                            c,
                            study.id,
                            State::Failed,
                            None,
                            Some(&e.to_string()),
                            None,
                            now(),
                        )?;
                        report.failed += files;
                    }
                    continue;
                }
            }
        }
        match with_retry(policy, study.id as u64, || {
            dest.verify(&study.labels, &items)
        }) {
            Ok(v) if v.ok() => {
                let audit = serde_json::json!({
                    "destination": dest.describe(),
                    "files": v.expected,
                    "bytes": items.iter().map(|i| i.size).sum::<u64>(),
                    "uri": v.uri,
                    "verified_at": now(),
                })
                .to_string();
                store::set_study(
                    c,
                    study.id,
                    State::Verified,
                    Some(&v.uri),
                    None,
                    Some(&audit),
                    now(),
                )?;
                report.verified += v.matched;
            }
            Ok(v) => {
                let detail = format!("verification failed: {}", v.problems.join("; "));
                store::set_study(c, study.id, State::Failed, None, Some(&detail), None, now())?;
                report.failed += files;
                report
                    .problems
                    .push(format!("{}: {detail}", study.labels.session));
            }
            Err(e) => {
                report
                    .problems
                    .push(format!("{}: verify: {e}", study.labels.session));
                report.waiting += 1;
            }
        }
    }
    Ok(report)
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
        let c = cat.conn();
        let job = store::create_job(c, "folder:x", ("basic", "abc"), 1).expect("job");
        let study = store::add_study(c, job, "2.25.1", &labels, 1).expect("study");
        for (seq, chunk) in items.chunks(2).enumerate() {
            store::add_piece(c, study, seq as i64, chunk, 1).expect("piece");
        }
        (d, cat, job, study, items, labels)
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
        }
    }

    #[test]
    fn interrupted_piece_is_resent_and_nothing_acknowledged_is_sent_again() {
        let (d, cat, job, study, items, labels) = setup(5);
        let c = cat.conn();
        let dest = FolderArchive::new(d.path().join("archive"));
        // first piece acknowledged before the "crash"; second was in flight
        let ps = store::pieces(c, study).expect("pieces");
        store::set_piece(c, ps[0].id, State::Sending, None, 2).expect("s");
        dest.put(&Piece {
            labels: labels.clone(),
            items: ps[0].items.clone(),
        })
        .expect("put");
        store::set_piece(c, ps[0].id, State::Acknowledged, None, 3).expect("a");
        store::set_piece(c, ps[1].id, State::Sending, None, 4).expect("s");
        assert_eq!(store::recover(c, 5).expect("recover"), 1);
        let r = run_job(c, job, &dest, &fast(), &|| 6, |_| {}).expect("run");
        assert_eq!(r.sent, 3, "only the 3 files not acknowledged are sent");
        assert_eq!(r.verified, 5);
        let s = &store::studies(c, job).expect("studies")[0];
        assert_eq!(s.state, State::Verified);
        assert!(dest.verify(&labels, &items).expect("verify").ok());
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
        fn put(&self, p: &Piece) -> Result<Receipt, ArchiveError> {
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

    #[test]
    fn offline_destination_waits_then_resumes() {
        let (d, cat, job, _study, _items, _labels) = setup(4);
        let c = cat.conn();
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
}
