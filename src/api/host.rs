//! What a long-running front door (the desktop window, `deposit serve`) holds between
//! commands: the session cache, the one-scan and one-send job slots, the receiver, the
//! background resumer and the feed of job events.
//!
//! Both front doors hold one [`Host`] and call it through the command table
//! ([`super::commands`]); they only turn its [`HostEvent`]s into their own events (Tauri events,
//! the web long-poll).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::fetch::{FetchProgress, FetchReport, FetchRequest};
use super::jobs::{self, OneAtATime, ScanUpdate, SendRequest, SendUpdate};
use super::reach::Reach;
use super::receive::control::{ReceiverControl, ReceiverRequest};
use super::resolve::{self, Overrides};
use super::Session;
use crate::error::ApiError;

/// An update of a running scan or send, as the front door passes it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// From a scan.
    Scan(ScanUpdate),
    /// From a send (started by a person or by the resumer).
    Send(SendUpdate),
}

impl HostEvent {
    /// The event's name as the web UI's long-poll names it (e.g. `send-progress`).
    pub fn name(&self) -> &'static str {
        match self {
            HostEvent::Scan(ScanUpdate::Progress(_)) => "scan-progress",
            HostEvent::Scan(ScanUpdate::Finished(_)) => "scan-finished",
            HostEvent::Scan(ScanUpdate::Failed(_)) => "scan-failed",
            HostEvent::Send(SendUpdate::Progress(_)) => "send-progress",
            HostEvent::Send(SendUpdate::Finished(_)) => "send-finished",
            HostEvent::Send(SendUpdate::Failed(_)) => "send-failed",
        }
    }
}

/// Serialises as the payload alone (the engine's job type), as both front doors send it.
impl Serialize for HostEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HostEvent::Scan(ScanUpdate::Progress(p)) => p.serialize(s),
            HostEvent::Scan(ScanUpdate::Finished(f)) => f.serialize(s),
            HostEvent::Scan(ScanUpdate::Failed(f)) => f.serialize(s),
            HostEvent::Send(SendUpdate::Progress(p)) => p.serialize(s),
            HostEvent::Send(SendUpdate::Finished(f)) => f.serialize(s),
            HostEvent::Send(SendUpdate::Failed(f)) => f.serialize(s),
        }
    }
}

/// The download a [`Host`] runs (one at a time), as the window polls it.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FetchStatus {
    /// `idle`, `running`, `done` or `failed`.
    pub state: String,
    /// Files and bytes so far.
    pub progress: FetchProgress,
    /// What the finished download did.
    pub report: Option<FetchReport>,
    /// Why it failed.
    pub error: Option<ApiError>,
}

/// Where a [`Host`] sends its events.
pub type EventFeed = Arc<dyn Fn(HostEvent) + Send + Sync>;

/// The state a long-running front door keeps; see the module docs.
pub struct Host {
    settings: Mutex<Overrides>,
    session: Mutex<Option<Session>>,
    scans: OneAtATime,
    sends: OneAtATime,
    fetches: OneAtATime,
    fetch: Arc<Mutex<FetchStatus>>,
    fetch_stop: Arc<AtomicBool>,
    receiver: ReceiverControl,
    events: EventFeed,
    reach: Option<Reach>,
}

/// Opens a session under `settings` (the one settings resolution, [`resolve`]), held to the
/// configured study. The one place a [`Host`] opens sessions: for quick commands and for every
/// scan, send and resume it starts.
pub fn open_session(settings: &Overrides) -> Result<Session, ApiError> {
    resolve::open_session(settings)
}

impl Host {
    /// A host working under `settings` (what the front door was told: configuration file,
    /// data home, …; read from the environment at the edge) sending job events to `events`.
    /// Nothing is opened yet.
    pub fn new(settings: Overrides, events: impl Fn(HostEvent) + Send + Sync + 'static) -> Self {
        Host {
            settings: Mutex::new(settings),
            session: Mutex::new(None),
            scans: OneAtATime::default(),
            sends: OneAtATime::default(),
            fetches: OneAtATime::default(),
            fetch: Arc::new(Mutex::new(FetchStatus::default())),
            fetch_stop: Arc::new(AtomicBool::new(false)),
            receiver: ReceiverControl::default(),
            events: Arc::new(events),
            reach: None,
        }
    }

    /// The same host, its users confined to `reach` (`deposit serve`).
    pub fn confine(mut self, reach: Reach) -> Self {
        self.reach = Some(reach);
        self
    }

    /// `Ok` when this host's users may use `path` (always, unless confined).
    pub fn reach_path(&self, path: &str, what: &str) -> Result<(), ApiError> {
        match &self.reach {
            Some(r) => r.path(path, what).map(|_| ()),
            None => Ok(()),
        }
    }

    /// `Ok` when this host's users may use destination `dest` (always, unless confined).
    pub fn reach_destination(&self, dest: &str) -> Result<(), ApiError> {
        match &self.reach {
            Some(r) => r.destination(dest, &resolve::resolve(&self.settings())?),
            None => Ok(()),
        }
    }

    /// `Ok` when this host's users may use profile `profile`: a shipped profile's name always; a
    /// profile file (a path, or a name ending `.toml`/`.script`/`.xml`) only inside the roots.
    pub fn reach_profile(&self, profile: Option<&str>) -> Result<(), ApiError> {
        let Some(p) = profile.map(str::trim).filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let file_like = p.contains(['/', '\\'])
            || [".toml", ".script", ".xml"]
                .iter()
                .any(|ext| p.to_ascii_lowercase().ends_with(ext));
        if file_like {
            self.reach_path(p, "that profile file")
        } else {
            Ok(())
        }
    }

    /// `Ok` when this host's users may start the receiver so: always, unless confined; confined,
    /// only with an allow-list of calling AE titles (given, or `[receiver] allow_ae`) unless
    /// `[receiver] bind` is loopback, and a forwarding destination, profile and lookup table
    /// they may reach.
    pub fn reach_receiver(&self, request: &ReceiverRequest) -> Result<(), ApiError> {
        if self.reach.is_none() {
            return Ok(());
        }
        let conf = resolve::resolve(&self.settings())?.config.receiver;
        let loopback = conf.bind.as_deref().is_some_and(|b| {
            b.eq_ignore_ascii_case("localhost")
                || b.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        let listed =
            request.allow.iter().any(|a| !a.trim().is_empty()) || !conf.allow_ae.is_empty();
        if !loopback && !listed {
            return Err(ApiError::usage(
                "reach.receiver_allow",
                "from here the receiver starts only with the calling AE titles allowed to send \
                 (or [receiver] allow_ae in deposit.toml)",
            ));
        }
        if let Some(f) = request.forward.as_deref().filter(|f| !f.trim().is_empty()) {
            self.reach_destination(f)?;
        }
        self.reach_profile(request.profile.as_deref())?;
        if let Some(l) = request.lookup.as_deref().filter(|l| !l.trim().is_empty()) {
            self.reach_path(l, "that lookup table")?;
        }
        Ok(())
    }

    /// A host whose cached session is `session` (tests).
    pub fn with_session(
        session: Session,
        events: impl Fn(HostEvent) + Send + Sync + 'static,
    ) -> Self {
        let settings = Overrides {
            home: Some(session.home().root().to_path_buf()),
            ..Overrides::default()
        };
        let host = Host::new(settings, events);
        if let Ok(mut slot) = host.session.lock() {
            *slot = Some(session);
        }
        host
    }

    /// Runs `f` on the cached session, opening it first if needed. Calls are serialised, so
    /// the catalog is opened and migrated once.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut slot = self.session.lock().map_err(|_| {
            ApiError::permanent(
                "app.state",
                "an earlier command failed badly; restart Deposit",
            )
        })?;
        let mut session = match slot.take() {
            Some(s) => s,
            None => open_session(&self.settings())?,
        };
        let out = f(&mut session);
        *slot = Some(session);
        out
    }

    /// Drops the cached session so the next command opens one held to the changed
    /// configuration (e.g. a profile was approved).
    pub fn reopen(&self) {
        if let Ok(mut slot) = self.session.lock() {
            *slot = None;
        }
    }

    /// What this front door was told (the settings every session is resolved from).
    pub fn settings(&self) -> Overrides {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Works for the configured study `name` from now on (its destination, approved profile,
    /// lookup table, masks and project label), or for none (`None`: the only configured one);
    /// the study as the window shows it.
    pub fn choose_study(
        &self,
        name: Option<String>,
    ) -> Result<super::config::StudySetup, ApiError> {
        let mut next = self.settings();
        next.study = name.filter(|n| !n.trim().is_empty());
        if next.study.is_some() {
            // an unknown name is refused now, not at the next send
            let mut check = next.clone();
            check.study_required = true;
            resolve::resolve(&check)?;
        }
        let view = resolve::study_view(&next)?;
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = next;
        self.reopen();
        Ok(view)
    }

    /// The data home's folder: the one given, else the opened session's.
    pub fn home(&self) -> Result<PathBuf, ApiError> {
        match &self.settings().home {
            Some(h) => Ok(h.clone()),
            None => self.with(|s| Ok(s.home().root().to_path_buf())),
        }
    }

    /// The receiver of this front door.
    pub fn receiver(&self) -> &ReceiverControl {
        &self.receiver
    }

    /// Starts scanning `paths` on a new thread and returns at once; its updates go to the
    /// event feed. An error when a scan already runs.
    pub fn start_scan(&self, paths: Vec<String>) -> Result<(), ApiError> {
        for p in &paths {
            self.reach_path(p, "that folder")?;
        }
        let (settings, events) = (self.settings(), self.events.clone());
        self.scans.spawn("a scan", "scan", move || {
            jobs::scan(
                || open_session(&settings),
                &paths,
                |u| events(HostEvent::Scan(u)),
            );
        })
    }

    /// Starts de-identifying and delivering on a new thread and returns at once; its updates
    /// go to the event feed. An error when a send already runs.
    pub fn start_send(&self, request: SendRequest) -> Result<(), ApiError> {
        self.reach_destination(&request.destination)?;
        self.reach_profile(request.profile.as_deref())?;
        if let Some(l) = request.lookup.as_deref().filter(|l| !l.trim().is_empty()) {
            self.reach_path(l, "that lookup table")?;
        }
        let (settings, events) = (self.settings(), self.events.clone());
        self.sends.spawn("a send", "send", move || {
            jobs::send(
                || open_session(&settings),
                &request,
                |u| events(HostEvent::Send(u)),
            );
        })
    }

    /// Starts downloading from an archive on a new thread and returns at once; the window
    /// polls [`Self::fetch_status`]. An error when a download already runs.
    pub fn start_fetch(&self, request: FetchRequest) -> Result<(), ApiError> {
        self.reach_destination(&request.destination)?;
        self.reach_path(&request.folder, "that folder")?;
        let settings = self.settings();
        let (status, stop) = (self.fetch.clone(), self.fetch_stop.clone());
        let set = move |f: &dyn Fn(&mut FetchStatus)| {
            f(&mut status.lock().unwrap_or_else(|p| p.into_inner()))
        };
        let set2 = set.clone();
        self.fetches.spawn("a download", "fetch", move || {
            stop.store(false, Ordering::SeqCst);
            set(&|s| {
                *s = FetchStatus {
                    state: "running".into(),
                    ..FetchStatus::default()
                }
            });
            let result = open_session(&settings).and_then(|session| {
                session.fetch(&request, &stop, &|p| set2(&|s| s.progress = p.clone()))
            });
            set(&|s| match &result {
                Ok(r) => {
                    s.state = "done".into();
                    s.report = Some(r.clone());
                }
                Err(e) => {
                    s.state = "failed".into();
                    s.error = Some(e.clone());
                }
            });
        })
    }

    /// The download's state now.
    pub fn fetch_status(&self) -> FetchStatus {
        let mut s = self.fetch.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if s.state.is_empty() {
            s.state = "idle".into();
        }
        s
    }

    /// Asks the running download to stop (what is done stays done; starting it again
    /// finishes it).
    pub fn stop_fetch(&self) {
        self.fetch_stop.store(true, Ordering::SeqCst);
    }

    /// Resumes queued work on a new thread now, unless a send is running.
    pub fn resume(&self) {
        let (settings, events) = (self.settings(), self.events.clone());
        jobs::resume_in_background(
            &self.sends,
            move || open_session(&settings),
            move |u| events(HostEvent::Send(u)),
        );
    }

    /// Starts the background resumer: resumes queued deliveries now and then every
    /// [`jobs::resume_every`] (work queued while offline goes out by itself once the
    /// destination is back), until `stop` is set.
    pub fn spawn_resumer(
        self: &Arc<Self>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let host = self.clone();
        std::thread::Builder::new()
            .name("resumer".into())
            .spawn(move || {
                let every = jobs::resume_every();
                let tick = Duration::from_millis(200);
                while !stop.load(Ordering::SeqCst) {
                    host.resume();
                    let mut waited = Duration::ZERO;
                    while waited < every && !stop.load(Ordering::SeqCst) {
                        std::thread::sleep(tick);
                        waited += tick;
                    }
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_once_and_reuses_the_session() {
        let home = tempfile::tempdir().expect("tempdir");
        let host = Host::with_session(Session::open(home.path()).expect("open"), |_| {});
        assert_eq!(host.home().expect("home"), home.path());
        let root = host
            .with(|s| Ok(s.home().root().to_path_buf()))
            .expect("with");
        assert_eq!(root, home.path());
        assert!(host.with(|s| s.studies()).expect("studies").is_empty());
        assert!(
            host.session.lock().expect("lock").is_some(),
            "kept for the next command"
        );
        host.reopen();
        assert!(host.session.lock().expect("lock").is_none());
    }

    #[test]
    fn the_window_chooses_among_several_studies() {
        let d = tempfile::tempdir().expect("tempdir");
        let cfg = d.path().join("deposit.toml");
        std::fs::write(
            &cfg,
            "[studies.heart]\ndestination = \"folder:/srv/heart\"\nproject = \"HEART\"\n\n\
             [studies.brain]\ndestination = \"folder:/srv/brain\"\nproject = \"BRAIN\"\n",
        )
        .expect("config");
        let host = Host::new(
            Overrides {
                default_config: Some(cfg),
                home: Some(d.path().join("home")),
                ..Overrides::default()
            },
            |_| {},
        );
        let studies = resolve::configured_studies(&host.settings()).expect("studies");
        let names: Vec<&str> = studies.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["brain", "heart"]);
        assert_eq!(studies[1].project.as_deref(), Some("HEART"));
        // two studies and none chosen: none in force
        assert_eq!(
            resolve::study_view(&host.settings()).expect("view").study,
            None
        );
        let v = host.choose_study(Some("heart".into())).expect("choose");
        assert_eq!(v.study.as_deref(), Some("heart"));
        assert_eq!(v.destination.as_deref(), Some("folder:/srv/heart"));
        let r = resolve::resolve(&host.settings()).expect("resolve");
        assert_eq!(r.project.as_deref(), Some("HEART"));
        // an unknown study is refused and the choice stays
        let e = host
            .choose_study(Some("lungs".into()))
            .expect_err("unknown");
        assert_eq!(e.code, "config.unknown_study");
        assert_eq!(host.settings().study.as_deref(), Some("heart"));
        assert_eq!(host.choose_study(None).expect("none").study, None);
    }

    #[test]
    fn events_carry_the_web_names_and_bare_payloads() {
        let e = HostEvent::Scan(ScanUpdate::Failed(jobs::JobFailed {
            error: ApiError::permanent("x.y", "m"),
        }));
        assert_eq!(e.name(), "scan-failed");
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["error"]["code"], "x.y");
    }
}
