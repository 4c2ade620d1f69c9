//! Headless monitoring: the same web UI as the desktop window, served over HTTP (loopback by
//! default) behind a password, on the same `api` — so site IT can watch and work the queue,
//! the quarantine and the catalog of a server install from a browser.
//!
//! `POST /auth/login {password}` sets a session cookie (`/auth/logout` ends it); `POST
//! /api/<command>` (every command of the table, a destination's `login` too) with a JSON body
//! answers `{status:"ok",data}` or `{status:"error",error:{code,message,…}}` (the shape the
//! desktop bindings use); `GET /api/events?after=N` long-polls the events of scans and sends.
//! Everything else is a file of the built UI (`ui/dist`).

mod auth;
mod events;
mod guard;
mod http;
mod routes;
mod slots;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;

pub use auth::Sessions;
pub use events::EventLog;
pub use http::Deadlines;

use crate::error::{Classify, ErrorClass};

/// Web server failures.
#[derive(Debug, Error)]
pub enum WebError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {why}")]
    Bind {
        /// Address.
        addr: String,
        /// Why.
        why: String,
    },
    /// The built UI is missing.
    #[error("the web UI was not found in {0} (build it: cd ui && npm ci && npm run build, or pass --ui DIR)")]
    NoUi(PathBuf),
    /// The password set is too short.
    #[error(
        "the web password is too short: at least {min} characters (DEPOSIT_WEB_PASSWORD or {path})"
    )]
    WeakPassword {
        /// The minimum.
        min: usize,
        /// The password file.
        path: PathBuf,
    },
    /// The password file could not be read or written.
    #[error("cannot prepare the web password file {path}: {source}")]
    Password {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

impl Classify for WebError {
    fn code(&self) -> &'static str {
        match self {
            WebError::Bind { .. } => "web.bind",
            WebError::NoUi(_) => "web.no_ui",
            WebError::Password { .. } => "web.password",
            WebError::WeakPassword { .. } => "web.weak_password",
        }
    }

    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// What to serve, where.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// `host:port` to listen on.
    pub addr: String,
    /// The built UI (`index.html` and `assets/`).
    pub ui: PathBuf,
    /// The password people log in with.
    pub password: String,
    /// The data home.
    pub home: PathBuf,
    /// What the service was told (configuration file, study…): each session is opened from
    /// it, on [`Self::home`].
    pub settings: crate::api::resolve::Overrides,
    /// How long clients may take over their requests.
    pub deadlines: Deadlines,
    /// Host names the server is also reached by (`[web] public_name`), besides its address.
    pub public_names: Vec<String>,
    /// Mark the session cookie `Secure` (`[web] secure_cookie`).
    pub secure_cookie: bool,
    /// The folders users may scan and write `folder:` outputs or lookup tables into (the
    /// data home is always one of them).
    pub roots: Vec<PathBuf>,
}

/// Reads the password from `DEPOSIT_WEB_PASSWORD`, else from `web-password` in the data home,
/// creating that file (owner-only, random) on first use. Returns the password and where it is.
/// A password someone set must have at least [`auth::MIN_PASSWORD`] characters.
pub fn password(home: &Path) -> Result<(String, Option<PathBuf>), WebError> {
    let path = home.join("web-password");
    let weak = |p: &str| {
        (p.chars().count() < auth::MIN_PASSWORD).then(|| WebError::WeakPassword {
            min: auth::MIN_PASSWORD,
            path: path.clone(),
        })
    };
    if let Ok(p) = std::env::var("DEPOSIT_WEB_PASSWORD") {
        if !p.is_empty() {
            return match weak(&p) {
                Some(e) => Err(e),
                None => Ok((p, None)),
            };
        }
    }
    let err = |source| WebError::Password {
        path: path.clone(),
        source,
    };
    if let Ok(p) = std::fs::read_to_string(&path) {
        let p = p.trim().to_string();
        if !p.is_empty() {
            if let Some(e) = weak(&p) {
                return Err(e);
            }
            return Ok((p, Some(path)));
        }
    }
    let p = auth::random_token(18).map_err(err)?;
    write_owner_only(&path, &p).map_err(err)?;
    Ok((p, Some(path)))
}

fn write_owner_only(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// How many connections are served at once; more are answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 64;
/// How many connections one client address may hold at once (loopback not counted).
pub const CONNECTIONS_PER_ADDRESS: usize = 16;
/// How many commands run at once (the worker pool).
pub const WORKERS: usize = 4;
/// How many event long-polls wait at once; more are answered 503 with `Retry-After`.
pub const LONG_POLLS: usize = 8;

/// A running web server.
pub struct WebServer {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// The address actually bound (the port is chosen by the OS when 0 was asked for).
    pub addr: std::net::SocketAddr,
}

impl WebServer {
    /// Starts serving on its own threads: one accepts, each connection (at most
    /// [`MAX_CONNECTIONS`]) is read on a thread of its own within deadlines, and its command runs
    /// when one of the [`WORKERS`] slots is free; long-polls wait outside the workers.
    pub fn start(opts: WebOptions) -> Result<WebServer, WebError> {
        if !opts.ui.join("index.html").is_file() {
            return Err(WebError::NoUi(opts.ui));
        }
        let bind_err = |why: String| WebError::Bind {
            addr: opts.addr.clone(),
            why,
        };
        let listener = TcpListener::bind(&opts.addr).map_err(|e| bind_err(e.to_string()))?;
        let addr = listener.local_addr().map_err(|e| bind_err(e.to_string()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| bind_err(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(routes::State::new(&opts, addr));
        let mut threads = Vec::new();
        let accept = {
            let (stop, state) = (stop.clone(), state.clone());
            std::thread::Builder::new()
                .name("web-accept".into())
                .spawn(move || accept_loop(&listener, &stop, &state))
                .map_err(|e| bind_err(e.to_string()))?
        };
        threads.push(accept);
        // queued deliveries resume by themselves, as in the desktop app
        if let Ok(t) = state.host().spawn_resumer(stop.clone()) {
            threads.push(t);
        }
        Ok(WebServer {
            stop,
            threads,
            addr,
        })
    }

    /// Stops accepting and joins the server's own threads (requests under way end within their
    /// deadlines).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, stop: &AtomicBool, state: &Arc<routes::State>) {
    let connections = slots::Slots::new(MAX_CONNECTIONS);
    let per_address = slots::PerAddress::new(CONNECTIONS_PER_ADDRESS);
    while !stop.load(Ordering::SeqCst) {
        let (mut stream, peer) = match listener.accept() {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(25));
                continue;
            }
            Err(_) => {
                std::thread::sleep(Duration::from_millis(25));
                continue;
            }
        };
        let start = Instant::now();
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_nodelay(true);
        let limits = state.deadlines();
        let permits = per_address
            .try_take(peer.ip())
            .and_then(|a| connections.try_take().map(|c| (a, c)));
        let Some(permit) = permits else {
            // answered here, briefly: the accept loop never waits on a client
            let busy = http::Response::new(503, b"busy".to_vec()).with_header("Retry-After", "2");
            let _ = stream.set_nonblocking(true);
            http::write_busy(&mut stream, &busy);
            continue;
        };
        let state = state.clone();
        let spawned = std::thread::Builder::new()
            .name("web-conn".into())
            .spawn(move || {
                let _permit = permit;
                serve_connection(&state, stream, peer, start, &limits);
            });
        if spawned.is_err() {
            tracing::warn!("web UI: cannot start a connection thread");
        }
    }
}

fn serve_connection(
    state: &routes::State,
    mut stream: TcpStream,
    peer: SocketAddr,
    start: Instant,
    limits: &http::Deadlines,
) {
    match http::read_request(&mut stream, peer, start, limits, routes::MAX_BODY) {
        Ok(req) => {
            let head_only = req.method == "HEAD";
            let response = routes::handle(state, &req);
            http::write_response(&mut stream, &response, head_only, limits);
        }
        Err(e) => {
            if let Some(status) = e.status() {
                let r = http::Response::new(status, Vec::new());
                http::write_response(&mut stream, &r, false, limits);
            }
        }
    }
}
