//! A stand-in for a central RSNA CTP (HttpImportService → DirectoryStorageService, CTP's
//! defaults) for Deposit's tests, behaving as the real one was observed to (docs/protocols.md,
//! "Central CTP"):
//!
//! - **one request per connection**: it answers, then closes the socket *without* a
//!   `Connection: close` header (a client that pools connections finds out only on its next
//!   request);
//! - accepts only `POST` with a Content-Type containing `application/x-mirc`, answering `200`
//!   with the body `OK`; wrong method or type → `404`;
//! - with users configured: wrong or missing credentials, or a user without the import role →
//!   `401` (`WWW-Authenticate: Basic realm="HttpImportService"`);
//! - recomputes the MD5 when a `Digest` header is present (hex without leading zeros) and answers
//!   `404` on a mismatch;
//! - **asynchronous storage**: an accepted object is written to the import queue (a folder beside
//!   the storage, `ROOT-queue`) *before* `OK`, and reaches storage afterwards, from a storage
//!   thread — so an object answered `OK` survives a kill and is stored after a restart;
//! - **duplicates are kept**: storage is by UIDs, `ROOT/STUDY/SERIES/SOP.dcm`, and a second copy
//!   of the same SOP Instance UID is stored beside the first as `SOP[1].dcm`, `SOP[2].dcm` …
//!   ([`copies`] counts them per UID).
//!
//! Faults: status bursts, dropped connections mid-body, `200` without `OK`, bodies damaged in
//! transit (digest mismatch), slow answers, and the process ending abruptly mid-send.

use std::io::BufReader;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use md5::Digest;

use crate::http::{self, Response};
use crate::{Listening, Seen};

/// Receiver set-up.
#[derive(Debug, Clone, Default)]
pub struct CtpConfig {
    /// (user, secret) pairs with the import role; empty: no authentication.
    pub users: Vec<(String, String)>,
    /// (user, secret) pairs that authenticate but lack the import role (answered `401`).
    pub users_without_role: Vec<(String, String)>,
}

/// Faults, consumed as objects arrive.
#[derive(Debug, Clone, Default)]
pub struct CtpFaults {
    /// Statuses to answer the next objects with, without storing them.
    pub statuses: Vec<u16>,
    /// Drop the connection of the next N objects after `drop_after` body bytes.
    pub drop: u32,
    /// Body bytes read before dropping.
    pub drop_after: usize,
    /// Answer the next N objects `200` with the body `ERROR` (not stored).
    pub not_ok: u32,
    /// Damage the next N bodies "in transit" (one byte flipped): the digest check fails.
    pub corrupt: u32,
    /// Answer the next N objects only after `slow_delay` (stored anyway).
    pub slow: u32,
    /// How long slow answers take.
    pub slow_delay: Duration,
    /// Ends the process abruptly (`abort`, as `kill -9` would) when an object arrives after this
    /// many were answered `OK`: the arriving object is not imported, and no object is left
    /// imported without its answer written.
    pub crash_after: Option<u64>,
}

/// Held (shared) from importing an object until its answer is written; a crash takes it
/// exclusively, so it never lands between the two.
static ANSWERING: std::sync::RwLock<()> = std::sync::RwLock::new(());

struct CtpState {
    config: CtpConfig,
    faults: CtpFaults,
    seen: Vec<Seen>,
    /// Objects answered `OK`.
    accepted: u64,
}

/// A running receiver.
pub struct CtpReceiver {
    port: u16,
    root: PathBuf,
    state: Arc<Mutex<CtpState>>,
    listening: Mutex<Option<Listening>>,
    storage: Storage,
}

/// The import queue and the storage thread that empties it into the storage folder.
#[derive(Clone)]
struct Storage {
    queue: PathBuf,
    tx: std::sync::mpsc::Sender<PathBuf>,
    /// Objects queued and not yet stored.
    pending: Arc<(Mutex<u64>, std::sync::Condvar)>,
}

impl Storage {
    /// Starts the storage thread; objects left in the queue (a kill after `OK`) go first.
    fn start(root: &Path) -> std::io::Result<Storage> {
        let queue = queue_dir(root);
        std::fs::create_dir_all(&queue)?;
        let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
        let pending = Arc::new((Mutex::new(0u64), std::sync::Condvar::new()));
        let st = Storage {
            queue: queue.clone(),
            tx,
            pending: pending.clone(),
        };
        let mut left: Vec<PathBuf> = std::fs::read_dir(&queue)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "obj"))
            .collect();
        left.sort();
        for p in left {
            st.enqueue(p);
        }
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            for p in rx {
                if let Ok(bytes) = std::fs::read(&p) {
                    if store_copy(&root, &bytes).is_ok() {
                        let _ = std::fs::remove_file(&p);
                    }
                }
                let (n, cv) = &*pending;
                let mut g = n.lock().unwrap_or_else(|e| e.into_inner());
                *g = g.saturating_sub(1);
                cv.notify_all();
            }
        });
        Ok(st)
    }

    fn enqueue(&self, p: PathBuf) {
        let (n, _) = &*self.pending;
        *n.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let _ = self.tx.send(p);
    }

    /// Writes an accepted object into the import queue (durably enough for a kill: renamed
    /// into place before `OK` is answered).
    fn accept(&self, bytes: &[u8]) -> std::io::Result<()> {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!("{stamp:024}-{}-{n:08}", std::process::id());
        let tmp = self.queue.join(format!("{name}.part"));
        let dst = self.queue.join(format!("{name}.obj"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &dst)?;
        self.enqueue(dst);
        Ok(())
    }

    /// Waits until every accepted object is in storage (or `limit` passes); true when it is.
    fn settle(&self, limit: Duration) -> bool {
        let (n, cv) = &*self.pending;
        let g = n.lock().unwrap_or_else(|e| e.into_inner());
        let (g, _) = cv
            .wait_timeout_while(g, limit, |p| *p > 0)
            .unwrap_or_else(|e| e.into_inner());
        *g == 0
    }
}

/// The import queue of a storage folder.
pub fn queue_dir(root: &Path) -> PathBuf {
    let mut name = root
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push("-queue");
    root.with_file_name(name)
}

/// Copies stored per SOP Instance UID (objects that are not DICOM count under their MD5), read
/// from a storage folder (also one a stand-in in another process writes).
pub fn copies(root: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for f in crate::files_under(root) {
        let Some(name) = f.file_stem().and_then(|n| n.to_str()) else {
            continue;
        };
        let uid = name.split('[').next().unwrap_or(name);
        *out.entry(uid.to_string()).or_insert(0) += 1;
    }
    out
}

/// Objects still in the import queue of a storage folder.
pub fn queued(root: &Path) -> usize {
    std::fs::read_dir(queue_dir(root))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "obj"))
                .count()
        })
        .unwrap_or(0)
}

fn lock(m: &Mutex<CtpState>) -> MutexGuard<'_, CtpState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// MD5 as CTP prints it: `BigInteger(1, hash).toString(16)`.
pub fn ctp_md5(bytes: &[u8]) -> String {
    let hex = hex::encode(md5::Md5::digest(bytes));
    let t = hex.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.to_string()
    }
}

impl CtpReceiver {
    /// Starts a receiver storing under `root`, on an ephemeral loopback port.
    pub fn start(root: &Path, config: CtpConfig) -> std::io::Result<CtpReceiver> {
        Self::start_on(root, config, 0)
    }

    /// Starts a receiver on a given port (0 = ephemeral).
    pub fn start_on(root: &Path, config: CtpConfig, port: u16) -> std::io::Result<CtpReceiver> {
        std::fs::create_dir_all(root)?;
        let state = Arc::new(Mutex::new(CtpState {
            config,
            faults: CtpFaults::default(),
            seen: Vec::new(),
            accepted: 0,
        }));
        let storage = Storage::start(root)?;
        let l = Listening::start(port, Self::handler(&state, &storage))?;
        Ok(CtpReceiver {
            port: l.addr.port(),
            root: root.to_path_buf(),
            state,
            listening: Mutex::new(Some(l)),
            storage,
        })
    }

    fn handler(state: &Arc<Mutex<CtpState>>, storage: &Storage) -> crate::Handler {
        let shared = state.clone();
        let storage = storage.clone();
        Arc::new(move |stream| serve(stream, &shared, &storage))
    }

    /// Objects answered `OK` so far.
    pub fn accepted(&self) -> u64 {
        lock(&self.state).accepted
    }

    /// Waits (up to 30 s) until every object answered `OK` has reached storage.
    pub fn settle(&self) -> bool {
        self.storage.settle(Duration::from_secs(30))
    }

    /// Copies stored per SOP Instance UID, once storage has caught up.
    pub fn copies(&self) -> std::collections::BTreeMap<String, usize> {
        self.settle();
        copies(&self.root)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sets the faults for the coming objects.
    pub fn set_faults(&self, f: CtpFaults) {
        lock(&self.state).faults = f;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.state).seen.clone()
    }

    /// Files stored, once storage has caught up.
    pub fn files(&self) -> Vec<PathBuf> {
        self.settle();
        crate::files_under(&self.root)
    }

    /// Stops listening (connections refused).
    pub fn go_offline(&self) {
        let l = self
            .listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(mut l) = l {
            l.stop();
        }
    }

    /// Listens again on the same port.
    pub fn go_online(&self) -> std::io::Result<()> {
        let mut g = self.listening.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(Listening::start(
                self.port,
                Self::handler(&self.state, &self.storage),
            )?);
        }
        Ok(())
    }
}

enum Fault {
    None,
    Status(u16),
    Drop(usize),
    NotOk,
    Corrupt,
    Slow(Duration),
}

fn take_fault(st: &mut CtpState) -> Fault {
    let f = &mut st.faults;
    if !f.statuses.is_empty() {
        return Fault::Status(f.statuses.remove(0));
    }
    if f.drop > 0 {
        f.drop -= 1;
        return Fault::Drop(f.drop_after);
    }
    if f.not_ok > 0 {
        f.not_ok -= 1;
        return Fault::NotOk;
    }
    if f.corrupt > 0 {
        f.corrupt -= 1;
        return Fault::Corrupt;
    }
    if f.slow > 0 {
        f.slow = f.slow.saturating_sub(1);
        return Fault::Slow(f.slow_delay);
    }
    Fault::None
}

/// Answers without `Connection: close`, then closes: one request per connection.
fn answer(stream: &mut TcpStream, resp: &Response) {
    let _ = http::write_with(stream, resp, false);
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn serve(stream: TcpStream, state: &Mutex<CtpState>, storage: &Storage) {
    let Ok(read_side) = stream.try_clone() else {
        return;
    };
    let mut stream = stream;
    let mut r = BufReader::new(read_side);
    let Ok(mut req) = http::read_head(&mut r) else {
        return;
    };
    let log = |req: &http::Request, status: u16| {
        lock(state).seen.push(Seen {
            method: req.method.clone(),
            path: req.path.clone(),
            status,
            bytes: req.body.len(),
        })
    };
    // authentication first, as the service checks the user's import role before anything
    let (users, no_role) = {
        let st = lock(state);
        (
            st.config.users.clone(),
            st.config.users_without_role.clone(),
        )
    };
    if !users.is_empty() || !no_role.is_empty() {
        let ok = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|t| {
                t.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            })
            .is_some_and(|(u, p)| users.iter().any(|(cu, cp)| *cu == u && *cp == p));
        if !ok {
            let _ = http::read_body(&mut r, &mut req, None);
            log(&req, 401);
            let mut resp = Response::text(401, "text/plain", "");
            resp.headers.push((
                "WWW-Authenticate".into(),
                "Basic realm=\"HttpImportService\"".into(),
            ));
            answer(&mut stream, &resp);
            return;
        }
    }
    let mirc = req
        .header("content-type")
        .is_some_and(|t| t.contains("application/x-mirc"));
    if req.method != "POST" || !mirc {
        let _ = http::read_body(&mut r, &mut req, None);
        log(&req, 404);
        answer(&mut stream, &Response::text(404, "text/plain", ""));
        return;
    }
    let fault = take_fault(&mut lock(state));
    if let Fault::Slow(d) = fault {
        // a slow receiver: the object is taken in only after the delay
        std::thread::sleep(d);
    }
    let limit = match fault {
        Fault::Drop(n) => Some(n),
        _ => None,
    };
    let complete = http::read_body(&mut r, &mut req, limit).unwrap_or(false);
    if !complete {
        log(&req, 0);
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return;
    }
    let crash_at = {
        let st = lock(state);
        st.faults.crash_after.filter(|n| st.accepted >= *n)
    };
    if crash_at.is_some() {
        let _exclusive = ANSWERING.write();
        std::process::abort();
    }
    let _answering = ANSWERING.read();
    let resp = match fault {
        Fault::Status(s) => Response::text(s, "text/plain", "busy"),
        Fault::NotOk => Response::text(200, "text/plain", "ERROR"),
        _ => {
            if let Fault::Corrupt = fault {
                let mid = req.body.len() / 2;
                if let Some(b) = req.body.get_mut(mid) {
                    *b ^= 0xFF;
                }
            }
            import(storage, &req)
        }
    };
    if resp.status == 200 && resp.body == b"OK" {
        lock(state).accepted += 1;
    }
    log(&req, resp.status);
    answer(&mut stream, &resp);
}

/// Checks the digest and puts the object in the import queue.
fn import(storage: &Storage, req: &http::Request) -> Response {
    if let Some(d) = req.header("digest") {
        if !d.trim().eq_ignore_ascii_case(&ctp_md5(&req.body)) {
            // CTP answers 404 so that the sender retries
            return Response::text(404, "text/plain", "");
        }
    }
    if req.body.is_empty() {
        return Response::text(404, "text/plain", "");
    }
    match storage.accept(&req.body) {
        Ok(()) => Response::text(200, "text/plain", "OK"),
        Err(_) => Response::text(500, "text/plain", "cannot queue"),
    }
}

/// Stores an object by its UIDs, beside any earlier copy (`SOP[1].dcm`, …).
fn store_copy(root: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let (dir, stem, ext) = match crate::xnat::dicom_ids(bytes) {
        Some((study, series, sop)) => (root.join(study).join(series), sop, "dcm"),
        None => (
            root.join("other"),
            hex::encode(md5::Md5::digest(bytes)),
            "bin",
        ),
    };
    std::fs::create_dir_all(&dir)?;
    let mut path = dir.join(format!("{stem}.{ext}"));
    let mut n = 0;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{stem}[{n}].{ext}"));
    }
    let tmp = dir.join(format!(".{stem}.part"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_has_no_leading_zeros() {
        // find an input whose digest starts with 0 and compare
        let mut i = 0u32;
        loop {
            let b = i.to_le_bytes();
            let hex = hex::encode(md5::Md5::digest(b));
            if hex.starts_with('0') {
                assert_eq!(ctp_md5(&b), hex.trim_start_matches('0'));
                break;
            }
            i += 1;
        }
    }
}
