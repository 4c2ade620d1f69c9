//! The receiver service on a data home: the SCP's accept loop wired to the spool and to the
//! catalog writer thread ([`super::record`]), recovery of spool files a crash left unrecorded,
//! counters, and a stop that lets associations in flight finish.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::record::{self, CatalogRecorder};
use super::spool::Spool;
use super::{ReceiveError, Recorder, ScpConfig, ScpEvent, Server};
use crate::catalog::received::{self, ReceivedStudy};
use crate::catalog::Catalog;
use crate::home::Home;

/// How to run the service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The SCP's settings (AE title, allowed callers, association bound).
    pub scp: ScpConfig,
    /// Address and port to listen on (`host:port`).
    pub addr: String,
    /// Whether new instances wait to be forwarded.
    pub forward: bool,
}

/// The service's counters since start (no identities).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Accepting associations.
    pub running: bool,
    /// Associations being served now.
    pub active: u64,
    /// Associations accepted since start.
    pub associations: u64,
    /// Instances stored (Success answered).
    pub stored: u64,
    /// Instances refused.
    pub failed: u64,
}

/// A running receiver service.
pub struct Service {
    server: Mutex<Option<Server>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    catalog_path: PathBuf,
    local: SocketAddr,
}

impl Service {
    /// Opens the spool (`incoming/` of `home`), starts the catalog writer, records what a
    /// crash left in the spool, then listens. `on_stored(association, duplicate)` runs after
    /// each instance is committed; `on_event` gets the SCP's events; `now` gives the time
    /// recorded in the catalog.
    pub fn start(
        home: &Home,
        cfg: ServiceConfig,
        on_stored: Box<dyn Fn(u64, bool) + Send>,
        on_event: Arc<dyn Fn(ScpEvent) + Send + Sync>,
        now: fn() -> i64,
    ) -> Result<Service, ReceiveError> {
        let catalog_path = home.catalog_path();
        let spool_dir = home.root().join("incoming");
        let spool = Arc::new(
            Spool::open(&spool_dir).map_err(|source| ReceiveError::Spool {
                path: spool_dir.clone(),
                source,
            })?,
        );
        let (recorder, writer) = record::start(catalog_path.clone(), cfg.forward, on_stored, now)
            .map_err(ReceiveError::Catalog)?;
        recover_spool(&spool, &catalog_path, &recorder);
        let listener = TcpListener::bind(&cfg.addr).map_err(|source| ReceiveError::Listen {
            addr: cfg.addr.clone(),
            source,
        })?;
        let server = Server::start(listener, cfg.scp, spool, Arc::new(recorder), on_event)?;
        Ok(Service {
            local: server.local_addr(),
            server: Mutex::new(Some(server)),
            writer: Mutex::new(Some(writer)),
            catalog_path,
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The counters now.
    pub fn counters(&self) -> Counters {
        match self.server.lock() {
            Ok(g) => match g.as_ref() {
                Some(s) => Counters {
                    running: s.running(),
                    active: s.active() as u64,
                    associations: s.associations(),
                    stored: s.stored(),
                    failed: s.failed(),
                },
                None => Counters::default(),
            },
            Err(_) => Counters::default(),
        }
    }

    /// Received studies, most recent first (at most `limit`; counts only).
    pub fn studies(&self, limit: i64) -> Vec<ReceivedStudy> {
        Catalog::open(&self.catalog_path)
            .and_then(|c| received::studies(c.conn(), limit))
            .unwrap_or_default()
    }

    /// Stops accepting; associations in flight finish for up to `drain`. Returns how many
    /// were still open.
    pub fn stop_accepting(&self, drain: Duration) -> usize {
        match self.server.lock() {
            Ok(mut g) => g.as_mut().map_or(0, |s| s.shutdown(drain)),
            Err(_) => 0,
        }
    }

    /// Drops the server (its last handle on the recorder: the catalog writer ends) and, with
    /// `join_writer`, waits for the writer's last commit.
    pub fn close(&self, join_writer: bool) {
        if let Ok(mut g) = self.server.lock() {
            g.take();
        }
        if join_writer {
            if let Some(h) = self.writer.lock().ok().and_then(|mut g| g.take()) {
                let _ = h.join();
            }
        }
    }
}

/// Records spool files that a crash left unrecorded (written, renamed, not yet committed).
fn recover_spool(spool: &Spool, catalog_path: &Path, rec: &CatalogRecorder) {
    let known = match Catalog::open(catalog_path).and_then(|c| received::known_paths(c.conn())) {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!("cannot check the spool against the catalog: {e}");
            return;
        }
    };
    let mut n = 0u64;
    for path in spool.files().into_iter().filter(|p| !known.contains(p)) {
        let header = match crate::intake::read_header(&path) {
            Ok(crate::intake::Read1::Instance(h)) => h,
            _ => continue,
        };
        let Ok(stat) = crate::intake::FileStat::of(&path) else {
            continue;
        };
        let stored = super::Stored {
            stat,
            header,
            duplicate: false,
            // a copy kept beside an earlier one (the crash came before its record)
            conflict: Spool::variant_base(&path),
            calling_ae: String::new(),
            called_ae: String::new(),
            association: 0,
        };
        if rec.record(stored).is_ok() {
            n += 1;
        }
    }
    if n > 0 {
        tracing::info!(
            instances = n,
            "recorded spool files left unrecorded by an earlier run"
        );
    }
}
