//! The catalog writer of the receiver: one thread that records stored instances the way a scan
//! does (hierarchy + file row) plus their `received` row, in group commits,
//! and answers each association thread only after its commit. A copy kept beside an earlier
//! one with the same SOP Instance UID is not catalogued over it: both are quarantined as
//! `uid_conflict`.

use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender};

use super::{Recorder, Stored};
use crate::catalog::{received, Catalog, CatalogError};
use crate::intake::{Event, Outcome};

/// Instances recorded per transaction at most.
const GROUP: usize = 256;

struct Request {
    stored: Stored,
    reply: Sender<Result<(), String>>,
}

/// The [`Recorder`] the SCP calls: sends to the writer thread and waits for its commit.
pub struct CatalogRecorder {
    tx: Sender<Request>,
}

impl Recorder for CatalogRecorder {
    fn record(&self, stored: Stored) -> Result<(), String> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.tx
            .send(Request { stored, reply })
            .map_err(|_| "the catalog writer has stopped".to_string())?;
        answer
            .recv()
            .map_err(|_| "the catalog writer has stopped".to_string())?
    }
}

/// Starts the writer thread on the catalog at `path`. `forward` says whether new instances
/// wait to be forwarded; `on_stored(association, duplicate)` runs after each commit; `now`
/// gives the time recorded (Unix seconds).
pub fn start(
    path: PathBuf,
    forward: bool,
    on_stored: Box<dyn Fn(u64, bool) + Send>,
    now: fn() -> i64,
) -> Result<(CatalogRecorder, std::thread::JoinHandle<()>), String> {
    let (tx, rx) = crossbeam_channel::unbounded::<Request>();
    // open here so that a catalog that cannot be opened is an error of start, not of a send
    let catalog = Catalog::open(&path).map_err(|e| e.to_string())?;
    let h = std::thread::Builder::new()
        .name("deposit-receive-catalog".into())
        .spawn(move || run(catalog, rx, forward, on_stored, now))
        .map_err(|e| e.to_string())?;
    Ok((CatalogRecorder { tx }, h))
}

fn run(
    mut catalog: Catalog,
    rx: Receiver<Request>,
    forward: bool,
    on_stored: Box<dyn Fn(u64, bool) + Send>,
    now: fn() -> i64,
) {
    // The instance itself is durable before this point (file and folder fsync'd). The commit is
    // WAL synchronous=NORMAL: it survives a crash of Deposit; an OS crash or power loss may roll
    // back the last commits, and then the start-up recovery (`service::recover_spool`) records every spool
    // file the catalog lacks. FULL would fsync the WAL on every commit (~35 % fewer instances/s
    // in benches/receive.sh) for a row that can be rebuilt from the file.
    if let Err(e) = catalog.conn().execute_batch("PRAGMA synchronous=NORMAL") {
        tracing::warn!("cannot set the catalog's commit mode: {e}");
    }
    let mut w = match catalog.begin_scan(now()) {
        Ok(w) => w,
        Err(e) => {
            let why = e.to_string();
            for r in rx.iter() {
                let _ = r.reply.send(Err(why.clone()));
            }
            return;
        }
    };
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let at = now();
        let mut result: Result<(), CatalogError> = Ok(());
        let mut replies = Vec::with_capacity(batch.len());
        for Request { stored, reply } in batch {
            replies.push((reply, stored.association, stored.duplicate));
            if result.is_err() {
                continue;
            }
            let Stored {
                stat,
                header,
                calling_ae,
                called_ae,
                conflict,
                ..
            } = stored;
            if let Some(earlier) = conflict {
                // kept beside the first copy, which stays the catalogued one
                result = received::record_conflict(
                    w.conn(),
                    &header.sop_instance_uid,
                    &earlier,
                    &stat.path,
                    at,
                );
                continue;
            }
            let (sop, study) = (
                header.sop_instance_uid.clone(),
                header.study_instance_uid.clone(),
            );
            let path = stat.path.clone();
            let ev = Event {
                file: stat,
                outcome: Outcome::Instance(header),
            };
            result = w.record(&ev).and_then(|_| {
                received::record(
                    w.conn(),
                    &sop,
                    &study,
                    &path,
                    &calling_ae,
                    &called_ae,
                    at,
                    forward,
                )
            });
        }
        if result.is_ok() {
            result = w.flush();
        }
        if result.is_err() {
            w.abandon();
        }
        let answer = result.map_err(|e| e.to_string());
        for (reply, association, duplicate) in replies {
            if answer.is_ok() {
                on_stored(association, duplicate);
            }
            let _ = reply.send(answer.clone());
        }
    }
    if let Err(e) = w.finish(&[], now()) {
        tracing::warn!("cannot close the receive scan in the catalog: {e}");
    }
}
