//! Receive: the DICOM C-STORE SCP (+ C-ECHO) that spools instances durably and feeds intake.
//!
//! [`Server::start`] accepts connections on a listener, one thread per connection. A connection
//! whose association is not negotiated yet is "pending": at most `max_pending` at once, each
//! with a whole-request deadline for its A-ASSOCIATE-RQ. Only an accepted association takes a
//! slot (at most `max_associations`, `max_per_ae` per calling AE title, checked after the
//! allow-list); past that it is rejected as transient "local limit exceeded". Every DIMSE
//! message must arrive within a deadline that grows with the bytes received (a minimum rate). Each received instance is
//! streamed into the [`spool::Spool`], fsync'd, renamed into place and handed to a
//! [`Recorder`] (the catalog writer of [`record`]); only when the recorder says it is
//! recorded does the sender get Success. [`Server::shutdown`] stops accepting and lets the
//! associations in flight finish, for a bounded time. [`service::Service`] runs all of it on a
//! data home.

pub mod complete;
pub mod record;
pub mod scp;
pub mod service;
pub mod spool;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use crate::dimse::valid_ae;
use crate::error::{Classify, ErrorClass};
use crate::intake::{FileStat, Header};

/// Failures starting the receiver.
#[derive(Debug, Error)]
pub enum ReceiveError {
    /// The port could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address asked for.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The spool folder could not be prepared.
    #[error("cannot prepare the receive spool at {path}: {source}")]
    Spool {
        /// The folder.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A bad AE title or option.
    #[error("{0}")]
    BadOption(String),
    /// A thread could not be started.
    #[error("cannot start the receiver: {0}")]
    Thread(String),
    /// The catalog could not be opened for recording.
    #[error("{0}")]
    Catalog(String),
}

impl Classify for ReceiveError {
    fn code(&self) -> &'static str {
        match self {
            ReceiveError::Listen { .. } => "receive.listen",
            ReceiveError::Spool { .. } => "receive.spool",
            ReceiveError::BadOption(_) => "receive.bad_option",
            ReceiveError::Thread(_) => "receive.thread",
            ReceiveError::Catalog(_) => "receive.catalog",
        }
    }
    fn class(&self) -> ErrorClass {
        match self {
            ReceiveError::Listen { source, .. }
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                ErrorClass::Transient
            }
            _ => ErrorClass::Permanent,
        }
    }
}

/// How the SCP behaves.
#[derive(Debug, Clone)]
pub struct ScpConfig {
    /// Our AE title (the called AE title must match it, or one of `routes`).
    pub aet: String,
    /// More AE titles answered to: those that route to a configured study.
    pub routes: Vec<String>,
    /// Calling AE titles allowed (empty: any).
    pub allow: Vec<String>,
    /// Associations served at once (only accepted associations count).
    pub max_associations: usize,
    /// Associations one calling AE title may hold at once.
    pub max_per_ae: usize,
    /// Connections whose association is not negotiated yet, at once (more wait in the
    /// listen backlog until one of these ends).
    pub max_pending: usize,
    /// Max PDU length we announce.
    pub max_pdu: u32,
    /// The whole A-ASSOCIATE-RQ must have arrived this long after the connection was taken.
    pub request_timeout: Duration,
    /// Time an association may stay silent before it is aborted.
    pub idle_timeout: Duration,
    /// Each DIMSE message (a C-STORE request and its data set) must arrive within this…
    pub data_set_timeout: Duration,
    /// …plus one second per this many bytes received (a sender keeping this rate is never cut).
    pub min_rate: u64,
}

impl Default for ScpConfig {
    fn default() -> Self {
        ScpConfig {
            aet: "DEPOSIT".into(),
            routes: Vec::new(),
            allow: Vec::new(),
            max_associations: 16,
            max_per_ae: 8,
            max_pending: 4,
            // dcmtk's largest; senders split data sets into PDUs of at most this size
            max_pdu: 128 * 1024,
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            data_set_timeout: Duration::from_secs(60),
            min_rate: 16 * 1024,
        }
    }
}

/// One instance written and fsync'd into the spool, to be recorded.
#[derive(Debug)]
pub struct Stored {
    /// Its file in the spool (size and mtime as written).
    pub stat: FileStat,
    /// Its header (identities stay on this machine).
    pub header: Box<Header>,
    /// The same SOP Instance UID was already in the spool with the same data set.
    pub duplicate: bool,
    /// The same SOP Instance UID was already in the spool with ANOTHER data set: the copy kept
    /// before (this one is kept beside it; both are quarantined as `uid_conflict`).
    pub conflict: Option<std::path::PathBuf>,
    /// The sender's AE title.
    pub calling_ae: String,
    /// The AE title the sender called (ours, or a study's route).
    pub called_ae: String,
    /// The association it came on.
    pub association: u64,
}

/// Records stored instances (in the catalog). Success is answered only after `record` is Ok.
pub trait Recorder: Send + Sync {
    /// Records one instance durably; the error in words (no PHI).
    fn record(&self, s: Stored) -> Result<(), String>;
}

/// What the SCP reports as it works (no PHI: AE titles, addresses, counts, statuses).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScpEvent {
    /// An association was accepted.
    Opened {
        /// Association number (this run).
        association: u64,
        /// The sender's AE title.
        calling_ae: String,
        /// The sender's IP address.
        peer: String,
    },
    /// An association request was rejected.
    Rejected {
        /// The sender's AE title.
        calling_ae: String,
        /// The sender's IP address.
        peer: String,
        /// Why, in words.
        reason: String,
    },
    /// An instance was refused with a failure status.
    Failed {
        /// Association number.
        association: u64,
        /// The DIMSE status sent.
        status: u16,
        /// Why, in words.
        reason: String,
    },
    /// An association ended.
    Closed {
        /// Association number.
        association: u64,
        /// Instances stored on it.
        stored: u64,
        /// Instances refused on it.
        failed: u64,
        /// How it ended, in words.
        end: String,
    },
}

/// Callback for SCP events.
pub type EventFn = dyn Fn(ScpEvent) + Send + Sync;

/// State shared by the accept loop and the association threads.
pub(crate) struct Shared {
    cfg: ScpConfig,
    spool: Arc<spool::Spool>,
    recorder: Arc<dyn Recorder>,
    events: Arc<EventFn>,
    stopping: AtomicBool,
    active: AtomicUsize,
    pending: AtomicUsize,
    per_ae: Mutex<HashMap<String, usize>>,
    stored: AtomicU64,
    failed: AtomicU64,
    associations: AtomicU64,
}

/// An accepted association's slot: freed (the active count and its calling AE's count go
/// down) when the association thread ends, even by a panic.
pub(crate) struct Slot {
    sh: Arc<Shared>,
    ae: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.sh.per_ae.lock() {
            if let Some(n) = m.get_mut(&self.ae) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.ae);
                }
            }
        }
        self.sh.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection whose association is not negotiated yet: counted in the pending budget until
/// it is accepted, rejected or dropped.
pub(crate) struct Pending(Option<Arc<Shared>>);

impl Pending {
    /// Leaves the pending budget (once).
    pub(crate) fn done(&mut self) {
        if let Some(sh) = self.0.take() {
            sh.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.done();
    }
}

impl Shared {
    /// Takes a slot for an association from `ae` (allow-list already checked), or says why not.
    pub(crate) fn take_slot(self: &Arc<Self>, ae: &str) -> Result<Slot, scp::Refusal> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(scp::Refusal::Stopping);
        }
        let mut m = self.per_ae.lock().map_err(|_| scp::Refusal::Busy)?;
        if self.active.load(Ordering::SeqCst) >= self.cfg.max_associations {
            return Err(scp::Refusal::Busy);
        }
        let n = m.entry(ae.to_string()).or_insert(0);
        if *n >= self.cfg.max_per_ae {
            return Err(scp::Refusal::BusyAe);
        }
        *n += 1;
        self.active.fetch_add(1, Ordering::SeqCst);
        Ok(Slot {
            sh: self.clone(),
            ae: ae.to_string(),
        })
    }
}

/// A running SCP.
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts accepting associations on `listener`.
    pub fn start(
        listener: TcpListener,
        cfg: ScpConfig,
        spool: Arc<spool::Spool>,
        recorder: Arc<dyn Recorder>,
        events: Arc<EventFn>,
    ) -> Result<Server, ReceiveError> {
        if !valid_ae(&cfg.aet) {
            return Err(ReceiveError::BadOption(
                "the AE title must be 1 to 16 printable characters without a backslash".into(),
            ));
        }
        if let Some(bad) = cfg.allow.iter().find(|a| !valid_ae(a)) {
            return Err(ReceiveError::BadOption(format!(
                "allowed AE title '{}' is not valid (1 to 16 printable characters)",
                bad.chars().take(20).collect::<String>()
            )));
        }
        let addr = listener
            .local_addr()
            .map_err(|source| ReceiveError::Listen {
                addr: "?".into(),
                source,
            })?;
        let mut cfg = cfg;
        cfg.aet = cfg.aet.trim().to_string();
        cfg.max_associations = cfg.max_associations.max(1);
        cfg.max_per_ae = cfg.max_per_ae.max(1);
        cfg.max_pending = cfg.max_pending.max(1);
        cfg.min_rate = cfg.min_rate.max(1);
        cfg.max_pdu = cfg.max_pdu.clamp(
            dicom_ul::pdu::MINIMUM_PDU_SIZE,
            dicom_ul::pdu::MAXIMUM_PDU_SIZE,
        );
        let shared = Arc::new(Shared {
            cfg,
            spool,
            recorder,
            events,
            stopping: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
            per_ae: Mutex::new(HashMap::new()),
            stored: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            associations: AtomicU64::new(0),
        });
        let sh = shared.clone();
        let accept = std::thread::Builder::new()
            .name("deposit-receive-accept".into())
            .spawn(move || accept_loop(listener, sh))
            .map_err(|e| ReceiveError::Thread(e.to_string()))?;
        Ok(Server {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// The address actually listened on (the port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Associations being served now.
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Instances stored (Success answered) since start.
    pub fn stored(&self) -> u64 {
        self.shared.stored.load(Ordering::Relaxed)
    }

    /// Instances refused with a failure status since start.
    pub fn failed(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Associations accepted since start.
    pub fn associations(&self) -> u64 {
        self.shared.associations.load(Ordering::Relaxed)
    }

    /// True until shutdown begins.
    pub fn running(&self) -> bool {
        !self.shared.stopping.load(Ordering::SeqCst)
    }

    /// Stops accepting, then waits up to `drain` for the associations in flight to end.
    /// Returns how many were still running when the wait ended.
    pub fn shutdown(&mut self, drain: Duration) -> usize {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // wake the blocking accept with a connection of our own
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(2));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        let deadline = Instant::now() + drain;
        while self.active() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.active()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.shutdown(Duration::from_secs(0));
        }
    }
}

fn accept_loop(listener: TcpListener, sh: Arc<Shared>) {
    loop {
        // connections not negotiated yet have their own small budget; past it the next ones
        // wait in the listen backlog (each pending one ends by its set-up deadline)
        while sh.pending.load(Ordering::SeqCst) >= sh.cfg.max_pending
            && !sh.stopping.load(Ordering::SeqCst)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        if sh.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("accepting a connection failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if sh.stopping.load(Ordering::SeqCst) {
            break;
        }
        sh.pending.fetch_add(1, Ordering::SeqCst);
        let pending = Pending(Some(sh.clone()));
        let sh2 = sh.clone();
        let spawned = std::thread::Builder::new()
            .name("deposit-receive-conn".into())
            .spawn(move || scp::serve(stream, &sh2, pending, Instant::now()));
        if let Err(e) = spawned {
            tracing::warn!("cannot start an association thread: {e}");
        }
    }
}
