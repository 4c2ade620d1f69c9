//! Headless monitoring: the same web UI as the desktop window, served over HTTP (loopback by
//! default) behind a password, on the same `api` — so site IT can watch and work the queue,
//! the quarantine and the catalog of a server install from a browser.
//!
//! `POST /api/login {password}` sets a session cookie; `POST /api/<command>` with a JSON body
//! answers `{status:"ok",data}` or `{status:"error",error:{code,message,…}}` (the shape the
//! desktop bindings use); `GET /api/events?after=N` long-polls the events of scans and sends.
//! Everything else is a file of the built UI (`ui/dist`).

mod auth;
mod events;
mod routes;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

pub use auth::Sessions;
pub use events::EventLog;

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
}

/// Reads the password from `DEPOSIT_WEB_PASSWORD`, else from `web-password` in the data home,
/// creating that file (owner-only, random) on first use. Returns the password and where it is.
pub fn password(home: &Path) -> Result<(String, Option<PathBuf>), WebError> {
    if let Ok(p) = std::env::var("DEPOSIT_WEB_PASSWORD") {
        if !p.is_empty() {
            return Ok((p, None));
        }
    }
    let path = home.join("web-password");
    let err = |source| WebError::Password {
        path: path.clone(),
        source,
    };
    if let Ok(p) = std::fs::read_to_string(&path) {
        let p = p.trim().to_string();
        if !p.is_empty() {
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

/// A running web server.
pub struct WebServer {
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// The address actually bound (the port is chosen by the OS when 0 was asked for).
    pub addr: std::net::SocketAddr,
}

impl WebServer {
    /// Starts serving on its own threads.
    pub fn start(opts: WebOptions) -> Result<WebServer, WebError> {
        if !opts.ui.join("index.html").is_file() {
            return Err(WebError::NoUi(opts.ui));
        }
        let server = tiny_http::Server::http(&opts.addr).map_err(|e| WebError::Bind {
            addr: opts.addr.clone(),
            why: e.to_string(),
        })?;
        let addr = server.server_addr().to_ip().ok_or_else(|| WebError::Bind {
            addr: opts.addr.clone(),
            why: "not an IP address".into(),
        })?;
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(routes::State::new(&opts));
        let mut threads = Vec::new();
        // a few workers: long-polls hold one each while they wait
        for n in 0..6 {
            let (server, stop, state) = (server.clone(), stop.clone(), state.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("web-{n}"))
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        match server.recv_timeout(Duration::from_millis(250)) {
                            Ok(Some(req)) => routes::handle(&state, req),
                            Ok(None) => {}
                            Err(_) => break,
                        }
                    }
                });
            if let Ok(t) = spawned {
                threads.push(t);
            }
        }
        // queued deliveries resume by themselves, as in the desktop app
        if let Ok(t) = state.host().spawn_resumer(stop.clone()) {
            threads.push(t);
        }
        Ok(WebServer {
            server,
            stop,
            threads,
            addr,
        })
    }

    /// Stops accepting, lets running requests end, and joins the threads.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
