//! The receiver as the CLI, the service and the desktop app run it: start the DICOM SCP on the
//! data home, record what arrives in the catalog, forward quiet studies, report status, stop.
//!
//! [`start`] returns a [`ReceiverHandle`]; [`ReceiverHandle::status`] is a serialisable snapshot
//! (counts only, no identities); events arrive through the callback given to `start`;
//! [`ReceiverHandle::stop`] stops accepting, lets associations in flight finish (bounded),
//! and stops forwarding between studies.

pub mod control;
mod forward;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::send::SendOptions;
use crate::catalog::received::ReceivedStudy;
use crate::catalog::Catalog;
use crate::error::ApiError;
use crate::home::Home;
use crate::receive::service::{Service, ServiceConfig};
use crate::receive::{ReceiveError, ScpConfig, ScpEvent};

/// How to run the receiver (every field has a default; the CLI flags map one to one).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct ReceiverOptions {
    /// AE title to answer to (default `DEPOSIT`).
    pub aet: String,
    /// Address to listen on (default `0.0.0.0`: scanners and PACS are on the network).
    pub bind: String,
    /// TCP port (default 11112; 0 picks a free one, see the status).
    pub port: u16,
    /// Calling AE titles allowed to send (empty: any).
    pub allow: Vec<String>,
    /// Associations served at once (more are rejected as transient).
    pub max_associations: usize,
    /// Forward de-identified studies to this destination.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub forward: Option<crate::archive::DestinationSpec>,
    /// Seconds without a new instance before a study is forwarded.
    pub quiet_period_secs: u64,
    /// Profile name or file for forwarding (default: the strict basic profile).
    pub profile: Option<String>,
    /// Lookup table file for forwarding.
    pub lookup: Option<PathBuf>,
    /// Pixel-mask library for forwarding.
    pub masks: Option<PathBuf>,
    /// Project label at the destination.
    pub project: Option<String>,
    /// Seconds `stop` waits for associations in flight.
    pub drain_secs: u64,
    /// Seconds between attempts to resume deliveries left waiting for the destination.
    pub resume_every_secs: u64,
    /// How the forwarding destination is reached (proxies): given by the front door, never
    /// serialised.
    #[serde(skip)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub network: crate::archive::proxy::Network,
    /// Bounds against senders that hog the receiver: the command line's to set, never
    /// serialised (the window and the web server run with the defaults).
    #[serde(skip)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub limits: ReceiverLimits,
    /// Studies reached by their own AE title (`called_aet` in `[studies.NAME]`): what arrives
    /// under it is forwarded with that study's settings ([`routes`]); never serialised.
    #[serde(skip)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub routes: Vec<Route>,
}

/// A study the receiver routes to by the AE title a sender calls.
#[derive(Debug, Clone)]
pub struct Route {
    /// The AE title that routes to the study.
    pub aet: String,
    /// The study's settings (its name, approval and UID root) for the forwarding session.
    pub study: super::config::StudySettings,
    /// Where its studies go.
    pub dest: crate::archive::DestinationSpec,
    /// Profile, lookup table, masks, project label.
    pub send: SendOptions,
}

/// Routes are the same when they route the same AE title to the same study and destination.
impl PartialEq for Route {
    fn eq(&self, o: &Self) -> bool {
        self.aet == o.aet && self.study.name == o.study.name && self.dest == o.dest
    }
}

impl Eq for Route {}

/// The routes of the configuration's studies that name a `called_aet`, each resolved as that
/// study (its destination, approved profile, lookup table, masks and project label).
pub fn routes(o: &super::resolve::Overrides) -> Result<Vec<Route>, ApiError> {
    let cfg = super::resolve::load_config(o)?;
    let mut out = Vec::new();
    for (name, st) in &cfg.studies {
        let Some(aet) = st.called_aet.clone() else {
            continue;
        };
        let mut so = o.clone();
        so.study = Some(name.clone());
        so.study_required = true;
        let r = super::resolve::resolve(&so)?;
        let Some(dest) = r.destination.clone() else {
            return Err(ApiError::usage(
                "receive.route_destination",
                format!("study '{name}' is reached by AE title {aet} but names no destination"),
            ));
        };
        out.push(Route {
            study: super::config::StudySettings {
                name: Some(name.clone()),
                approval: r.approval.clone(),
                uid_root: r.uid_root.clone(),
            },
            dest: r.destination(&dest)?,
            send: SendOptions {
                profile: r
                    .approval
                    .as_ref()
                    .map(|a| a.profile.clone())
                    .or_else(|| r.profile.clone()),
                lookup: r.lookup.clone(),
                masks: r.masks.clone(),
                project: r.project.clone(),
                offline_wait: Some(Duration::ZERO),
                ..Default::default()
            },
            aet,
        });
    }
    Ok(out)
}

/// Bounds against senders that hog the receiver (each has a default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverLimits {
    /// Associations one calling AE title may hold at once (default 8).
    pub max_per_ae: usize,
    /// Connections not yet negotiated at once (default 4; more wait in the listen backlog).
    pub max_pending: usize,
    /// Seconds from connection to a complete A-ASSOCIATE-RQ (default 10).
    pub setup_timeout_secs: u64,
    /// Seconds for each DIMSE message (a C-STORE and its data set), plus one second per
    /// `min_rate` bytes received (default 60).
    pub data_set_timeout_secs: u64,
    /// Bytes per second a sender keeping up is never cut at (default 16 KiB/s).
    pub min_rate: u64,
    /// Seconds an association may stay silent (default 120).
    pub idle_timeout_secs: u64,
}

impl ReceiverLimits {
    /// The limits `[receiver]` of deposit.toml sets, the defaults for the rest.
    pub fn from_config(conf: &crate::config::Receiver) -> ReceiverLimits {
        let d = ReceiverLimits::default();
        ReceiverLimits {
            max_per_ae: conf.max_per_ae.unwrap_or(d.max_per_ae),
            max_pending: conf.max_pending.unwrap_or(d.max_pending),
            setup_timeout_secs: conf.setup_timeout_secs.unwrap_or(d.setup_timeout_secs),
            data_set_timeout_secs: conf
                .data_set_timeout_secs
                .unwrap_or(d.data_set_timeout_secs),
            ..d
        }
    }
}

impl Default for ReceiverLimits {
    fn default() -> Self {
        let d = ScpConfig::default();
        ReceiverLimits {
            max_per_ae: d.max_per_ae,
            max_pending: d.max_pending,
            setup_timeout_secs: d.request_timeout.as_secs(),
            data_set_timeout_secs: d.data_set_timeout.as_secs(),
            min_rate: d.min_rate,
            idle_timeout_secs: d.idle_timeout.as_secs(),
        }
    }
}

impl Default for ReceiverOptions {
    fn default() -> Self {
        ReceiverOptions {
            aet: "DEPOSIT".into(),
            bind: "0.0.0.0".into(),
            port: 11112,
            allow: Vec::new(),
            max_associations: 16,
            forward: None,
            quiet_period_secs: 60,
            profile: None,
            lookup: None,
            masks: None,
            project: None,
            drain_secs: 30,
            resume_every_secs: 60,
            network: Default::default(),
            limits: Default::default(),
            routes: Vec::new(),
        }
    }
}

/// What the receiver reports as it works (no identities: AE titles, addresses, counts, codes).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReceiverEvent {
    /// Listening.
    Listening {
        /// AE title.
        aet: String,
        /// Address and port.
        address: String,
    },
    /// An association was accepted.
    AssociationOpened {
        /// Association number (this run).
        association: u64,
        /// Sender's AE title.
        calling_ae: String,
        /// Sender's IP address.
        peer: String,
    },
    /// An association request was rejected.
    AssociationRejected {
        /// Sender's AE title.
        calling_ae: String,
        /// Sender's IP address.
        peer: String,
        /// Why.
        reason: String,
    },
    /// An association ended.
    AssociationClosed {
        /// Association number.
        association: u64,
        /// Instances stored on it.
        stored: u64,
        /// Instances refused on it.
        failed: u64,
        /// How it ended.
        end: String,
    },
    /// An instance is on disk and in the catalog (Success was answered).
    InstanceStored {
        /// Association number.
        association: u64,
        /// It was already there (sent again).
        duplicate: bool,
    },
    /// An instance was refused with a failure status.
    InstanceFailed {
        /// Association number.
        association: u64,
        /// DIMSE status sent.
        status: u16,
        /// Why.
        reason: String,
    },
    /// A quiet study is being de-identified and queued.
    ForwardStarted {
        /// Catalog study id.
        study: Option<i64>,
        /// Instances in this forward.
        instances: u64,
    },
    /// A study was forwarded (see the queue job).
    Forwarded {
        /// Catalog study id.
        study: Option<i64>,
        /// Instances in this forward.
        instances: u64,
        /// Queue job.
        job: i64,
        /// Newly stored by the destination.
        sent: u64,
        /// Already there.
        already_present: u64,
        /// Set aside in the quarantine.
        quarantined: u64,
        /// Failed.
        failed: u64,
        /// Studies waiting for the destination.
        waiting: u64,
    },
    /// Forwarding a study failed.
    ForwardFailed {
        /// Catalog study id.
        study: Option<i64>,
        /// Instances concerned.
        instances: u64,
        /// Error code.
        code: String,
        /// Error sentence.
        message: String,
    },
}

impl From<ScpEvent> for ReceiverEvent {
    fn from(e: ScpEvent) -> Self {
        match e {
            ScpEvent::Opened {
                association,
                calling_ae,
                peer,
            } => ReceiverEvent::AssociationOpened {
                association,
                calling_ae,
                peer,
            },
            ScpEvent::Rejected {
                calling_ae,
                peer,
                reason,
            } => ReceiverEvent::AssociationRejected {
                calling_ae,
                peer,
                reason,
            },
            ScpEvent::Failed {
                association,
                status,
                reason,
            } => ReceiverEvent::InstanceFailed {
                association,
                status,
                reason,
            },
            ScpEvent::Closed {
                association,
                stored,
                failed,
                end,
            } => ReceiverEvent::AssociationClosed {
                association,
                stored,
                failed,
                end,
            },
        }
    }
}

/// A snapshot of the receiver.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReceiverStatus {
    /// AE title.
    pub aet: String,
    /// Address listened on.
    pub address: String,
    /// Port listened on.
    pub port: u16,
    /// Accepting associations.
    pub running: bool,
    /// Associations being served now.
    pub associations: u64,
    /// Associations accepted since start.
    pub associations_total: u64,
    /// Instances stored since start (Success answered).
    pub instances_received: u64,
    /// Instances refused since start (failure status answered).
    pub instances_failed: u64,
    /// Forwarding destination (no credentials), if any.
    pub forward: Option<String>,
    /// Quiet period in seconds.
    pub quiet_period_secs: u64,
    /// Received studies, most recent first (at most 200).
    pub studies: Vec<ReceivedStudy>,
}

/// A running receiver.
pub struct ReceiverHandle {
    service: Service,
    opts: ReceiverOptions,
    forward_label: Option<String>,
    stop_forward: Arc<AtomicBool>,
    /// Signals when the forwarder thread has ended.
    forwarder: Mutex<Option<crossbeam_channel::Receiver<()>>>,
    port: u16,
    address: String,
}

/// Starts the receiver on the data home at `home`.
pub fn start(
    home: impl Into<PathBuf>,
    opts: ReceiverOptions,
    on_event: impl Fn(ReceiverEvent) + Send + Sync + 'static,
) -> Result<ReceiverHandle, ApiError> {
    let home = Home::open(home).map_err(ApiError::usage_err)?;
    let on_event: Arc<dyn Fn(ReceiverEvent) + Send + Sync> = Arc::new(on_event);
    if !crate::dimse::valid_ae(&opts.aet) {
        return Err(ApiError::usage(
            "receive.bad_option",
            "the AE title must be 1 to 16 printable characters without a backslash",
        ));
    }
    // the catalog (migrated) and, with forwarding, the destination and profile: checked now so
    // that a bad configuration stops the service at start, not at the first study
    let catalog_path = home.catalog_path();
    let forward_label = match &opts.forward {
        Some(dest) => {
            let d = dest
                .open(&home.dir("archive"), &opts.network)
                .map_err(ApiError::usage_err)?;
            let session = super::Session::open(home.root())?;
            session.run_profile(opts.profile.as_deref())?;
            super::deid::load_lookup(opts.lookup.as_deref())?;
            super::masks::load_masks(opts.masks.as_deref())?;
            Some(d.describe())
        }
        None => {
            Catalog::open(&catalog_path)?;
            None
        }
    };
    for r in &opts.routes {
        if !crate::dimse::valid_ae(&r.aet) {
            return Err(ApiError::usage(
                "receive.bad_option",
                "a study's called_aet must be 1 to 16 printable characters without a backslash",
            ));
        }
        r.dest
            .open(&home.dir("archive"), &opts.network)
            .map_err(ApiError::usage_err)?;
        let mut session = super::Session::open(home.root())?;
        session.use_study(r.study.clone())?;
        session.run_profile(r.send.profile.as_deref())?;
        super::deid::load_lookup(r.send.lookup.as_deref())?;
        super::masks::load_masks(r.send.masks.as_deref())?;
    }
    let forwarding = opts.forward.is_some() || !opts.routes.is_empty();
    let (stored, scp_event) = (on_event.clone(), on_event.clone());
    let cfg = ServiceConfig {
        scp: ScpConfig {
            aet: opts.aet.trim().to_string(),
            routes: opts.routes.iter().map(|r| r.aet.clone()).collect(),
            allow: opts.allow.iter().map(|a| a.trim().to_string()).collect(),
            max_associations: opts.max_associations,
            max_per_ae: opts.limits.max_per_ae,
            max_pending: opts.limits.max_pending,
            request_timeout: Duration::from_secs(opts.limits.setup_timeout_secs.max(1)),
            data_set_timeout: Duration::from_secs(opts.limits.data_set_timeout_secs.max(1)),
            min_rate: opts.limits.min_rate,
            idle_timeout: Duration::from_secs(opts.limits.idle_timeout_secs.max(1)),
            ..Default::default()
        },
        addr: format!("{}:{}", opts.bind, opts.port),
        forward: forwarding,
    };
    let service = Service::start(
        &home,
        cfg,
        Box::new(move |association, duplicate| {
            stored(ReceiverEvent::InstanceStored {
                association,
                duplicate,
            })
        }),
        Arc::new(move |e: ScpEvent| scp_event(e.into())),
        super::unix_now,
    )
    .map_err(|e| {
        // a port in use, a bad option: the caller's to change; the spool or catalog: not
        let usage = matches!(
            e,
            ReceiveError::Listen { .. } | ReceiveError::BadOption(_) | ReceiveError::Thread(_)
        );
        ApiError::from_err(&e, usage)
    })?;
    let local = service.local_addr();
    tracing::info!(aet = %opts.aet, address = %local, forward = ?forward_label, "receiver listening");
    on_event(ReceiverEvent::Listening {
        aet: opts.aet.clone(),
        address: local.to_string(),
    });

    let stop_forward = Arc::new(AtomicBool::new(false));
    let forwarder = match forwarding {
        true => {
            let plan = forward::Plan {
                home: home.root().to_path_buf(),
                dest: opts.forward.clone(),
                routes: opts
                    .routes
                    .iter()
                    .map(|r| (r.aet.clone(), r.clone()))
                    .collect(),
                send: SendOptions {
                    profile: opts.profile.clone(),
                    lookup: opts.lookup.clone(),
                    masks: opts.masks.clone(),
                    project: opts.project.clone(),
                    // a destination that is down must not hold up the other studies: leave
                    // the study queued; the resume loop delivers it once the destination is back
                    offline_wait: Some(Duration::ZERO),
                    ..Default::default()
                },
                quiet: Duration::from_secs(opts.quiet_period_secs),
                resume_every: Duration::from_secs(opts.resume_every_secs.max(1)),
                network: opts.network.clone(),
            };
            let (stop, ev) = (stop_forward.clone(), on_event.clone());
            let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
            std::thread::Builder::new()
                .name("deposit-receive-forward".into())
                .spawn(move || {
                    forward::run(plan, stop, ev);
                    let _ = done_tx.send(());
                })
                .map_err(|e| ApiError::permanent("receive.thread", e.to_string()))?;
            Some(done_rx)
        }
        false => None,
    };
    Ok(ReceiverHandle {
        port: local.port(),
        address: local.to_string(),
        service,
        opts,
        forward_label,
        stop_forward,
        forwarder: Mutex::new(forwarder),
    })
}

impl ReceiverHandle {
    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A snapshot: counters and received studies (counts only).
    pub fn status(&self) -> ReceiverStatus {
        let c = self.service.counters();
        ReceiverStatus {
            aet: self.opts.aet.clone(),
            address: self.address.clone(),
            port: self.port,
            running: c.running,
            associations: c.active,
            associations_total: c.associations,
            instances_received: c.stored,
            instances_failed: c.failed,
            forward: self.forward_label.clone(),
            quiet_period_secs: self.opts.quiet_period_secs,
            studies: self.service.studies(200),
        }
    }

    /// Stops: no new associations, associations in flight finish (up to the drain time), the
    /// forwarder stops after the study it is sending, the catalog writer closes. Returns the
    /// final status.
    pub fn stop(&self) -> ReceiverStatus {
        let left = self
            .service
            .stop_accepting(Duration::from_secs(self.opts.drain_secs));
        if left > 0 {
            tracing::warn!(
                associations = left,
                "stopping with associations still open (their instances were not acknowledged)"
            );
        }
        let status = self.status();
        self.stop_forward.store(true, Ordering::SeqCst);
        if let Some(done) = self.forwarder.lock().ok().and_then(|mut g| g.take()) {
            // a send in progress is resumable (its queue state is persisted): wait a bounded
            // time, then leave it; the next start puts its instances back to pending
            if done
                .recv_timeout(Duration::from_secs(self.opts.drain_secs.max(1)))
                .is_err()
            {
                tracing::warn!(
                    "stopping while a study is being forwarded; it resumes at the next start"
                );
            }
        }
        // the catalog writer ends; its last commit is awaited unless associations were cut
        self.service.close(left == 0);
        tracing::info!(
            received = status.instances_received,
            failed = status.instances_failed,
            "receiver stopped"
        );
        ReceiverStatus {
            running: false,
            ..status
        }
    }
}

/// Starts the receiver on the data home `home` (`None`: the OS data folder).
pub fn start_default(
    home: Option<&std::path::Path>,
    opts: ReceiverOptions,
    on_event: impl Fn(ReceiverEvent) + Send + Sync + 'static,
) -> Result<ReceiverHandle, ApiError> {
    let root = Home::resolve(home).map_err(ApiError::usage_err)?;
    start(root, opts, on_event)
}

/// A long-running command's log file `logs/NAME.log` in the data home `home` (`None`: the OS
/// data folder), 10 MB × 5 files: `receive` for the receiver, `web` for the web service.
pub fn default_log(
    home: Option<&std::path::Path>,
    name: &str,
) -> Option<crate::logging::RotatingLog> {
    let root = Home::resolve(home).ok()?;
    let home = Home::open(root).ok()?;
    let file = home.dir("logs").join(format!("{name}.log"));
    crate::logging::RotatingLog::open(&file, 10 << 20, 5).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{Destination, Item, Piece, StudyLabels};
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::meta::FileMetaTableBuilder;
    use dicom_object::InMemDicomObject;

    fn is_send_sync<T: Send + Sync>() {}

    /// A small CT instance written by dicom-object.
    fn instance(dir: &std::path::Path, n: u32) -> Item {
        let sop = format!("2.25.777{n}");
        let mut ds = InMemDicomObject::new_empty();
        let mut put = |tag, vr, v: &str| ds.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        put(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2");
        put(tags::SOP_INSTANCE_UID, VR::UI, &sop);
        put(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.7771");
        put(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.7772");
        put(tags::PATIENT_ID, VR::LO, "P1");
        put(tags::MODALITY, VR::CS, "CT");
        let obj = ds
            .with_meta(
                FileMetaTableBuilder::new()
                    .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
                    .media_storage_sop_instance_uid(sop.as_str())
                    .transfer_syntax("1.2.840.10008.1.2.1"),
            )
            .expect("meta");
        let path = dir.join(format!("{n}.dcm"));
        obj.write_to_file(&path).expect("write");
        let bytes = std::fs::read(&path).expect("read");
        Item {
            path,
            scan: "1".into(),
            name: format!("{sop}.dcm"),
            size: bytes.len() as u64,
            md5: crate::archive::md5_hex(&bytes),
        }
    }

    #[test]
    fn spool_files_the_catalog_lost_are_recorded_again_at_start() {
        let d = tempfile::tempdir().expect("tmp");
        let home = d.path().join("home");
        let opts = ReceiverOptions {
            bind: "127.0.0.1".into(),
            port: 0,
            ..Default::default()
        };
        let h = start(&home, opts.clone(), |_| {}).expect("start");
        let scu = crate::archive::cstore::CStore::parse(&format!(
            "dicom://DEPOSIT@127.0.0.1:{}",
            h.port()
        ))
        .expect("dest");
        let piece = Piece {
            labels: StudyLabels {
                project: "P".into(),
                subject: "S".into(),
                session: "E".into(),
            },
            items: (1..=2).map(|n| instance(d.path(), n)).collect(),
        };
        scu.put(&piece).expect("C-STORE");
        h.stop();
        // as if an OS crash had rolled back the last catalog commits
        let cat = Catalog::open(&home.join("catalog.sqlite")).expect("catalog");
        cat.conn()
            .execute_batch("DELETE FROM received; DELETE FROM files;")
            .expect("forget");
        drop(cat);
        let h = start(&home, opts, |_| {}).expect("restart");
        let st = h.status();
        assert_eq!(st.studies.len(), 1);
        assert_eq!(st.studies[0].instances, 2);
        h.stop();
    }

    #[test]
    fn a_copy_kept_beside_an_earlier_one_is_quarantined_again_after_a_crash() {
        let d = tempfile::tempdir().expect("tmp");
        let home = d.path().join("home");
        let opts = ReceiverOptions {
            bind: "127.0.0.1".into(),
            port: 0,
            ..Default::default()
        };
        let h = start(&home, opts.clone(), |_| {}).expect("start");
        let scu = crate::archive::cstore::CStore::parse(&format!(
            "dicom://DEPOSIT@127.0.0.1:{}",
            h.port()
        ))
        .expect("dest");
        let piece = Piece {
            labels: StudyLabels {
                project: "P".into(),
                subject: "S".into(),
                session: "E".into(),
            },
            items: vec![instance(d.path(), 1)],
        };
        scu.put(&piece).expect("C-STORE");
        h.stop();
        // a second copy renamed into place, its record lost in a crash
        let spool = crate::receive::spool::Spool::open(&home.join("incoming")).expect("spool");
        let first = spool.final_path("2.25.7771");
        let second = first.with_extension("2.dcm");
        std::fs::copy(&first, &second).expect("copy");
        let h = start(&home, opts, |_| {}).expect("restart");
        let st = h.status();
        h.stop();
        assert_eq!(st.studies.len(), 1);
        assert_eq!(
            st.studies[0].instances, 1,
            "the first copy stays the received one"
        );
        let cat = Catalog::open(&home.join("catalog.sqlite")).expect("catalog");
        let q = cat.quarantine_list().expect("list");
        let paths: Vec<_> = q.iter().map(|r| PathBuf::from(&r.source_path)).collect();
        assert_eq!(paths, vec![first, second]);
        assert!(q.iter().all(|r| r.code == "uid_conflict"));
    }

    #[test]
    fn the_handle_can_live_in_app_state() {
        is_send_sync::<ReceiverHandle>();
    }

    #[test]
    fn deposits_own_scu_stores_into_the_receiver() {
        let d = tempfile::tempdir().expect("tmp");
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        let opts = ReceiverOptions {
            bind: "127.0.0.1".into(),
            port: 0,
            ..Default::default()
        };
        let h = start(d.path().join("home"), opts, move |e| {
            if let Ok(mut v) = ev.lock() {
                v.push(e)
            }
        })
        .expect("start");
        assert_ne!(h.port(), 0);
        let url = |ae: &str| format!("dicom://{ae}@127.0.0.1:{}", h.port());
        let scu = crate::archive::cstore::CStore::parse(&url("DEPOSIT")).expect("dest");
        scu.check().expect("C-ECHO");
        assert!(crate::archive::cstore::CStore::parse(&url("NOT_US"))
            .expect("dest")
            .check()
            .is_err());
        let piece = Piece {
            labels: StudyLabels {
                project: "P".into(),
                subject: "S".into(),
                session: "E".into(),
            },
            items: (1..=3).map(|n| instance(d.path(), n)).collect(),
        };
        let r = scu.put(&piece).expect("C-STORE");
        assert_eq!(r.stored, 3);
        let st = h.status();
        assert!(st.running);
        assert_eq!(st.instances_received, 3);
        assert_eq!(st.studies.len(), 1);
        assert_eq!(st.studies[0].kept, 3);
        assert!(st.studies[0].study.is_some());
        let end = h.stop();
        assert!(!end.running);
        let seen = events.lock().map(|v| v.clone()).unwrap_or_default();
        let stored = seen
            .iter()
            .filter(|e| matches!(e, ReceiverEvent::InstanceStored { .. }))
            .count();
        assert_eq!(stored, 3);
        assert!(seen
            .iter()
            .any(|e| matches!(e, ReceiverEvent::AssociationRejected { .. })));
        // the JSON shape the GUI reads
        let v = serde_json::to_value(&end).expect("json");
        for k in ["aet", "port", "running", "instances_received", "studies"] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }
}
