//! An XNAT-compatible test server for Deposit's tests: a real HTTP server on 127.0.0.1 that
//! reproduces the behaviour described in docs/protocols.md ("XNAT") — JSESSION login, optional
//! CSRF, the DICOM-zip import handler with the merge rule and re-send overwrite, the silent
//! project fallback, the quiet timer (off with `prevent_auto_commit=true`), commit codes and
//! file listings with MD5 digests — and stores what it receives on disk. Faults are switchable
//! per test: connection dropped mid-body, 500/503 bursts, responses slower than the client's
//! timeout (the import still completes), session expiry.

pub mod ctp;
pub mod http;
pub mod tls;
mod xnat;
mod zipstream;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use ctp::{CtpConfig, CtpFaults, CtpReceiver};
pub use tls::{TestPki, TlsFront};
pub use xnat::State;

/// A listening socket served by a thread, which can be stopped (the port then refuses
/// connections, as when the network goes away) and started again on the same port.
pub(crate) struct Listening {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
    addr: SocketAddr,
}

type Handler = Arc<dyn Fn(TcpStream) + Send + Sync>;

impl Listening {
    pub(crate) fn start(port: u16, handler: Handler) -> std::io::Result<Listening> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let h = handler.clone();
                std::thread::spawn(move || h(stream));
            }
        });
        Ok(Listening {
            stop,
            handle: Some(handle),
            addr,
        })
    }

    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A project on the server.
#[derive(Debug, Clone)]
pub struct Project {
    /// Project ID.
    pub id: String,
    /// Users with member (write) access.
    pub writers: Vec<String>,
    /// Commit archives (`301`) instead of leaving the session in the prearchive (`200`).
    pub auto_archive: bool,
}

/// Server set-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// (user, secret) pairs; alias tokens are just more pairs.
    pub users: Vec<(String, String)>,
    /// Projects.
    pub projects: Vec<Project>,
    /// Cookie-authenticated POST/PUT/DELETE must carry `XNAT_CSRF`.
    pub csrf: bool,
    /// Answer requests with an unknown session cookie with the HTML login page and `200`
    /// (as XNAT does for browsers) instead of `401`.
    pub login_page_on_expiry: bool,
    /// Quiet period after which a session without `prevent_auto_commit` is built and, if its
    /// project auto-archives, archived.
    pub quiet: Duration,
    /// Sessions expire after this long without a request (XNAT's session timeout, 15 min by
    /// default there); `None`: never.
    pub session_ttl: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            users: vec![("alice".into(), "wonderland".into())],
            projects: vec![Project {
                id: "TRIAL".into(),
                writers: vec!["alice".into()],
                auto_archive: true,
            }],
            csrf: true,
            login_page_on_expiry: false,
            quiet: Duration::from_secs(3600),
            session_ttl: None,
        }
    }
}

/// Faults, consumed as requests arrive. `imports` means `POST /data/services/import`.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Statuses to answer the next imports with, in order (e.g. a 503 burst), without importing.
    pub import_statuses: Vec<u16>,
    /// Drop the connection of the next N imports after reading `drop_after` body bytes.
    pub drop_imports: u32,
    /// Body bytes read before dropping.
    pub drop_after: usize,
    /// Delay the response of the next N imports by `slow_delay` (the import itself completes).
    pub slow_imports: u32,
    /// How long slow responses take.
    pub slow_delay: Duration,
    /// Answer the next N commits with `409` "session document locked".
    pub busy_commits: u32,
    /// Expire every session after the next successful import (the next request gets `401`).
    pub expire_after_import: bool,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path (no query).
    pub path: String,
    /// Status answered (0 when the connection was dropped).
    pub status: u16,
    /// Body bytes received.
    pub bytes: usize,
}

/// A running server.
pub struct Server {
    addr: std::net::SocketAddr,
    root: PathBuf,
    state: Arc<Mutex<State>>,
    listening: Mutex<Option<Listening>>,
}

impl Server {
    /// Starts a server storing under `root`, on an ephemeral loopback port.
    pub fn start(root: &Path, config: Config) -> std::io::Result<Server> {
        Self::start_on(root, config, 0)
    }

    /// Starts a server on a given port (0 = ephemeral).
    pub fn start_on(root: &Path, config: Config, port: u16) -> std::io::Result<Server> {
        std::fs::create_dir_all(root)?;
        let state = Arc::new(Mutex::new(State::new(root.to_path_buf(), config)));
        let l = Listening::start(port, Self::handler(&state))?;
        Ok(Server {
            addr: l.addr,
            root: root.to_path_buf(),
            state,
            listening: Mutex::new(Some(l)),
        })
    }

    fn handler(state: &Arc<Mutex<State>>) -> Handler {
        let shared = state.clone();
        Arc::new(move |stream| xnat::serve(stream, &shared))
    }

    /// Stops listening: new connections are refused (the site went offline). What it stored
    /// and its sessions stay.
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
                self.addr.port(),
                Self::handler(&self.state),
            )?);
        }
        Ok(())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the faults for the coming requests.
    pub fn set_faults(&self, f: Faults) {
        self.lock().faults = f;
    }

    /// Expires every session: the next cookie request gets `401`.
    pub fn expire_sessions(&self) {
        self.lock().sessions.clear();
    }

    /// Adds `subjects` × `per_subject` sessions without files to `project`'s listings.
    pub fn list_only(&self, project: &str, subjects: usize, per_subject: usize) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .list_only(project, subjects, per_subject);
    }

    /// Gives or takes a user's write access to a project.
    pub fn set_writer(&self, project: &str, user: &str, write: bool) {
        self.lock().set_writer(project, user, write);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Files stored in the archive (under `root/archive`).
    pub fn archive_files(&self) -> Vec<PathBuf> {
        files_under(&self.root.join("archive"))
    }

    /// Files waiting in the prearchive (under `root/prearchive`).
    pub fn prearchive_files(&self) -> Vec<PathBuf> {
        files_under(&self.root.join("prearchive"))
    }

    /// A scan's QC status as the server holds it (`usable` when never set).
    pub fn scan_quality(&self, project: &str, subject: &str, session: &str, scan: &str) -> String {
        self.lock().quality_of(project, subject, session, scan)
    }

    /// Prearchive sessions: (project, timestamp, folder, status).
    pub fn prearchive_sessions(&self) -> Vec<(String, String, String, String)> {
        self.lock()
            .prearc
            .iter()
            .map(|s| {
                (
                    s.project.clone(),
                    s.timestamp.clone(),
                    s.folder.clone(),
                    s.status.clone(),
                )
            })
            .collect()
    }
}

/// Every regular file under a directory, sorted.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
