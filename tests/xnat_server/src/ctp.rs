//! A CTP HttpImportService-compatible receiver for Deposit's tests (docs/protocols.md,
//! "Central CTP"): accepts only `POST` with a Content-Type containing
//! `application/x-mirc`; with users configured, asks for Basic credentials (`401` +
//! `WWW-Authenticate: Basic realm="HttpImportService"`); reads `Content-Length` or chunked
//! bodies; recomputes the MD5 when a `Digest` header is present (CTP's form: hex without leading
//! zeros) and answers `404` on a mismatch so the sender retries; stores the object and answers
//! `200` with the body `OK`. Wrong method or type → `404`.
//!
//! Objects are stored as CTP's storage would, by UIDs: `root/STUDY/SERIES/SOP.dcm` (a re-sent
//! object overwrites itself). Faults: status bursts, dropped connections mid-body, `200` without
//! `OK`, bodies damaged in transit (digest mismatch), slow answers.

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
}

struct CtpState {
    root: PathBuf,
    config: CtpConfig,
    faults: CtpFaults,
    seen: Vec<Seen>,
}

/// A running receiver.
pub struct CtpReceiver {
    port: u16,
    root: PathBuf,
    state: Arc<Mutex<CtpState>>,
    listening: Mutex<Option<Listening>>,
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
            root: root.to_path_buf(),
            config,
            faults: CtpFaults::default(),
            seen: Vec::new(),
        }));
        let l = Listening::start(port, Self::handler(&state))?;
        Ok(CtpReceiver {
            port: l.addr.port(),
            root: root.to_path_buf(),
            state,
            listening: Mutex::new(Some(l)),
        })
    }

    fn handler(state: &Arc<Mutex<CtpState>>) -> crate::Handler {
        let shared = state.clone();
        Arc::new(move |stream| serve(stream, &shared))
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

    /// Files stored.
    pub fn files(&self) -> Vec<PathBuf> {
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
            *g = Some(Listening::start(self.port, Self::handler(&self.state))?);
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
        f.slow -= 1;
        return Fault::Slow(f.slow_delay);
    }
    Fault::None
}

fn serve(stream: TcpStream, state: &Mutex<CtpState>) {
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
    let users = lock(state).config.users.clone();
    if !users.is_empty() {
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
            let _ = http::write(&mut stream, &resp);
            return;
        }
    }
    let mirc = req
        .header("content-type")
        .is_some_and(|t| t.contains("application/x-mirc"));
    if req.method != "POST" || !mirc {
        let _ = http::read_body(&mut r, &mut req, None);
        log(&req, 404);
        let _ = http::write(&mut stream, &Response::text(404, "text/plain", ""));
        return;
    }
    let fault = take_fault(&mut lock(state));
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
            store(&lock(state).root.clone(), &req)
        }
    };
    log(&req, resp.status);
    if let Fault::Slow(d) = fault {
        std::thread::sleep(d);
    }
    let _ = http::write(&mut stream, &resp);
}

/// Checks the digest and stores the object by its UIDs.
fn store(root: &Path, req: &http::Request) -> Response {
    if let Some(d) = req.header("digest") {
        if !d.trim().eq_ignore_ascii_case(&ctp_md5(&req.body)) {
            // CTP answers 404 so that the sender retries
            return Response::text(404, "text/plain", "");
        }
    }
    if req.body.is_empty() {
        return Response::text(404, "text/plain", "");
    }
    let path = match crate::xnat::dicom_ids(&req.body) {
        Some((study, series, sop)) => root.join(study).join(series).join(format!("{sop}.dcm")),
        None => root
            .join("other")
            .join(format!("{}.bin", hex::encode(md5::Md5::digest(&req.body)))),
    };
    let tmp = path.with_extension("part");
    let ok = path
        .parent()
        .map(std::fs::create_dir_all)
        .unwrap_or(Ok(()))
        .and_then(|_| std::fs::write(&tmp, &req.body))
        .and_then(|_| std::fs::rename(&tmp, &path));
    match ok {
        Ok(()) => Response::text(200, "text/plain", "OK"),
        Err(_) => Response::text(500, "text/plain", "cannot store"),
    }
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
