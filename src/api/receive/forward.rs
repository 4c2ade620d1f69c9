//! Forwarding of received studies: once a study has been quiet for the quiet period, its
//! pending instances go through `Session::send` (de-identify, queue, deliver, commit, verify) —
//! the same engine as `deposit send`. States are written before and after each send; studies
//! left waiting for an unreachable destination are resumed with the queue runner.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::send::SendOptions;
use crate::api::Session;
use crate::catalog::received;
use crate::error::ErrorClass;

use super::ReceiverEvent;

/// How long a study waits before another try after a transient send error.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// What the forwarder needs.
pub struct Plan {
    /// The data home.
    pub home: PathBuf,
    /// Destination of what arrives under the receiver's own AE title (none: it is kept, not
    /// forwarded).
    pub dest: Option<crate::archive::DestinationSpec>,
    /// Studies reached by their own AE title, by that title.
    pub routes: HashMap<String, super::Route>,
    /// Profile, lookup, masks, project, retry policy.
    pub send: SendOptions,
    /// Quiet period.
    pub quiet: Duration,
    /// How often studies left waiting for the destination are resumed.
    pub resume_every: Duration,
    /// How the destination is reached (proxies).
    pub network: crate::archive::proxy::Network,
}

/// Runs until `stop` is set (checked between studies and every half second).
pub fn run(plan: Plan, stop: Arc<AtomicBool>, events: Arc<dyn Fn(ReceiverEvent) + Send + Sync>) {
    let mut session = match Session::open(&plan.home) {
        Ok(mut s) => {
            s.network = plan.network.clone();
            s
        }
        Err(e) => {
            tracing::error!(code = %e.code, "forwarding disabled: {}", e.message);
            events(ReceiverEvent::ForwardFailed {
                study: None,
                instances: 0,
                code: e.code,
                message: e.message,
            });
            return;
        }
    };
    // studies left waiting are resumed by the queue, which reopens the destination by its URL
    if let Some(d) = &plan.dest {
        session.keep_trust_of(d);
    }
    for r in plan.routes.values() {
        session.keep_trust_of(&r.dest);
    }
    match received::recover(session.catalog.conn()) {
        Ok(n) if n > 0 => tracing::info!(instances = n, "resuming interrupted forwards"),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot recover interrupted forwards: {e}"),
    }
    let mut not_before: HashMap<String, Instant> = HashMap::new();
    let mut waiting = false;
    let mut last_resume = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(500));
        let cutoff = super::super::unix_now() - plan.quiet.as_secs() as i64;
        let due = match received::due(session.catalog.conn(), cutoff) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("cannot list studies to forward: {e}");
                continue;
            }
        };
        for d in due {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            if not_before
                .get(&d.study_uid)
                .is_some_and(|t| Instant::now() < *t)
            {
                continue;
            }
            not_before.remove(&d.study_uid);
            waiting |= forward_one(&mut session, &plan, &d, &events, &mut not_before);
        }
        if waiting && last_resume.elapsed() >= plan.resume_every && !stop.load(Ordering::SeqCst) {
            last_resume = Instant::now();
            match session.queue_run(&plan.send.retry, |_| {}) {
                Ok(r) => {
                    waiting = r.waiting > 0;
                    tracing::info!(
                        sent = r.sent,
                        waiting = r.waiting,
                        failed = r.failed,
                        "resumed waiting deliveries"
                    );
                }
                Err(e) => {
                    tracing::warn!(code = %e.code, "resuming deliveries failed: {}", e.message)
                }
            }
        }
    }
}

/// Forwards one quiet study; true when the destination left it waiting.
fn forward_one(
    session: &mut Session,
    plan: &Plan,
    d: &received::Due,
    events: &Arc<dyn Fn(ReceiverEvent) + Send + Sync>,
    not_before: &mut HashMap<String, Instant>,
) -> bool {
    let study = session.catalog.study_id(&d.study_uid).ok().flatten();
    let n = d.ids.len() as u64;
    let conn_mark = |s: &Session, state: &str, job: Option<i64>, detail: Option<&str>| {
        if let Err(e) = received::mark(s.catalog.conn(), &d.ids, state, job, detail) {
            tracing::warn!("cannot record the forwarding state: {e}");
        }
    };
    // the study's route (the AE title it was sent to), else the receiver's own destination
    let route = d.called_ae.as_ref().and_then(|a| plan.routes.get(a));
    let (dest, send, settings) = match (route, &plan.dest) {
        (Some(r), _) => (&r.dest, &r.send, r.study.clone()),
        (None, Some(dest)) => (dest, &plan.send, Default::default()),
        (None, None) => {
            // received under the receiver's own title with no forwarding of its own: kept
            conn_mark(session, "none", None, None);
            return false;
        }
    };
    if let Err(e) = session.use_study(settings) {
        conn_mark(session, "failed", None, Some(&e.message));
        return false;
    }
    conn_mark(session, "forwarding", None, None);
    tracing::info!(study = ?study, instances = n, "forwarding a quiet study");
    events(ReceiverEvent::ForwardStarted {
        study,
        instances: n,
    });
    match session.send(&d.paths, dest, send, |_, _| {}) {
        Ok(s) => {
            conn_mark(session, "queued", Some(s.job), None);
            tracing::info!(
                study = ?study,
                job = s.job,
                sent = s.sent,
                already_present = s.already_present,
                quarantined = s.quarantined,
                failed = s.failed,
                waiting = s.waiting,
                "study forwarded"
            );
            for p in &s.problems {
                tracing::warn!(study = ?study, "forward problem: {p}");
            }
            events(ReceiverEvent::Forwarded {
                study,
                instances: n,
                job: s.job,
                sent: s.sent,
                already_present: s.already_present,
                quarantined: s.quarantined,
                failed: s.failed,
                waiting: s.waiting,
            });
            s.waiting > 0
        }
        Err(e) => {
            let transient = e.class == ErrorClass::Transient;
            conn_mark(
                session,
                if transient { "pending" } else { "failed" },
                None,
                Some(&e.code),
            );
            if transient {
                not_before.insert(d.study_uid.clone(), Instant::now() + RETRY_AFTER);
            }
            tracing::warn!(study = ?study, code = %e.code, "forwarding failed: {}", e.message);
            events(ReceiverEvent::ForwardFailed {
                study,
                instances: n,
                code: e.code,
                message: e.message,
            });
            false
        }
    }
}
