//! One settings resolution for every front door (the CLI, the window, `deposit serve`): what a
//! front door was told ([`Overrides`]) becomes the settings in force ([`Resolved`]) — what it was
//! told wins, then the configured study of `deposit.toml`, then the file's top level, then the
//! built-in defaults — and a study's approved profile is pinned. Sessions are opened from a
//! [`Resolved`]; environment variables are read only by front doors, through
//! [`Overrides::from_env`].

use std::path::{Path, PathBuf};

use super::config::{approval, approvals, mark_approved, Approval, StudySettings, StudySetup};
use super::deid::ProfileInfo;
use super::Session;
use crate::archive::proxy::{Network, ProxyEnv};
use crate::archive::DestinationSpec;
use crate::config::{self, Config};
use crate::error::ApiError;
use crate::home::Home;

/// The environment variable naming the data home.
pub const HOME_ENV: &str = "DEPOSIT_HOME";
/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = config::ENV;

/// What a front door was told (flags, the environment, a request): every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// A configuration file named explicitly (`--config`): it must exist.
    pub config: Option<PathBuf>,
    /// The configuration file when none is named (`DEPOSIT_CONFIG`): a missing one is an empty
    /// configuration (that approving a profile creates). `None`: `deposit.toml` in the OS
    /// config folder.
    pub default_config: Option<PathBuf>,
    /// The data home (`DEPOSIT_HOME`); `None`: the OS data folder.
    pub home: Option<PathBuf>,
    /// The study to work for; `None`: the only configured one.
    pub study: Option<String>,
    /// The work is for one study: an unknown study, or several configured and none named, is an
    /// error (otherwise no study is in force then).
    pub study_required: bool,
    /// De-identification profile (shipped name, file or CTP script).
    pub profile: Option<String>,
    /// Lookup table.
    pub lookup: Option<PathBuf>,
    /// Pixel-mask library.
    pub masks: Option<PathBuf>,
    /// UID root for new UIDs.
    pub uid_root: Option<String>,
    /// Destination (a `[destinations]` name or a URL).
    pub destination: Option<String>,
    /// The proxy variables of the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`,
    /// `DEPOSIT_PROXY_PASSWORD`).
    pub proxy_env: ProxyEnv,
}

impl Overrides {
    /// The environment's part: `DEPOSIT_CONFIG`, `DEPOSIT_HOME` (empty = unset) and the proxy
    /// variables. The only place they are read; front doors call it once, at their start.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Overrides {
            default_config: var(CONFIG_ENV),
            home: var(HOME_ENV),
            proxy_env: ProxyEnv::from_lookup(|name| std::env::var(name).ok()),
            ..Overrides::default()
        }
    }

    /// The proxy settings in force with the configuration `config`: its `[network]` table, then
    /// the environment's proxy variables, then the OS's settings.
    pub fn network(&self, config: &Config) -> Network {
        Network::new(
            config.network.proxy.clone(),
            config.network.no_proxy.clone(),
            self.proxy_env.clone(),
        )
    }

    /// The configuration file to read and write (`None`: the OS default).
    pub fn config_file(&self) -> Option<&Path> {
        self.config.as_deref().or(self.default_config.as_deref())
    }
}

/// The settings in force: what the front door was told, filled in from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// What it was resolved from.
    pub overrides: Overrides,
    /// The configuration read (empty when there is no file).
    pub config: Config,
    /// The data home (`None`: the OS data folder).
    pub home: Option<PathBuf>,
    /// The study in force, if any.
    pub study: Option<String>,
    /// Its approved profile, if any (the default, and the only one allowed).
    pub approval: Option<Approval>,
    /// The profile asked for, else the study's when none is approved.
    pub profile: Option<String>,
    /// Lookup table: asked for, else the study's.
    pub lookup: Option<PathBuf>,
    /// Pixel-mask library: asked for, else the study's.
    pub masks: Option<PathBuf>,
    /// UID root: asked for, else the study's, else the file's top-level one.
    pub uid_root: Option<String>,
    /// Destination (name or URL): asked for, else the study's.
    pub destination: Option<String>,
    /// The study's project label.
    pub project: Option<String>,
}

fn cfg_err(e: config::ConfigError) -> ApiError {
    ApiError::from_err(&e, true)
}

fn destination(cfg: &Config, dest: &str) -> Result<DestinationSpec, ApiError> {
    DestinationSpec::resolve(dest, cfg).map_err(ApiError::usage_err)
}

/// The inflation budget `[intake]` asks for (the defaults where it says nothing).
fn intake_limits(i: &config::Intake) -> crate::intake::bounded::Limits {
    let d = crate::intake::bounded::Limits::default();
    crate::intake::bounded::Limits {
        ratio: i.inflation_ratio.unwrap_or(d.ratio),
        floor: d.floor,
        cap: i
            .inflation_cap_mb
            .map_or(d.cap, |mb| mb.saturating_mul(1024 * 1024)),
    }
}

/// Sets the process's inflation budget from `[intake]`.
fn configure_intake(i: &config::Intake) {
    crate::intake::bounded::configure(intake_limits(i));
}

/// Reads the configuration `o` points at (a named file must exist).
pub fn load_config(o: &Overrides) -> Result<Config, ApiError> {
    match (&o.config, &o.default_config) {
        (Some(p), _) => config::load(Some(p), false),
        (None, Some(p)) => config::load_or_empty(p),
        (None, None) => config::load(None, false),
    }
    .map_err(cfg_err)
}

/// The one settings resolution: reads the configuration and fills in what `o` leaves open
/// from its study (the one named, else the only one), pinning the study's approved profile.
/// Front doors check their own argument syntax; a UID root is checked when a session is held
/// to it.
pub fn resolve(o: &Overrides) -> Result<Resolved, ApiError> {
    let cfg = load_config(o)?;
    configure_intake(&cfg.intake);
    let study = if o.study_required {
        cfg.study(o.study.as_deref()).map_err(cfg_err)?
    } else {
        cfg.study(o.study.as_deref()).ok().flatten()
    };
    let mut r = Resolved {
        overrides: o.clone(),
        home: o.home.clone(),
        profile: o.profile.clone(),
        lookup: o.lookup.clone(),
        masks: o.masks.clone(),
        destination: o.destination.clone(),
        ..Resolved::default()
    };
    if let Some((name, s)) = study {
        r.study = Some(name.to_string());
        r.approval = approval(&cfg, Some(name))?;
        if r.approval.is_none() && r.profile.is_none() {
            r.profile = s.profile.clone();
        }
        if r.lookup.is_none() {
            r.lookup = s.lookup.clone();
        }
        if r.masks.is_none() {
            r.masks = s.masks.clone();
        }
        if r.destination.is_none() {
            r.destination = s.destination.clone();
        }
        r.project = s.project.clone();
    }
    r.uid_root = o
        .uid_root
        .clone()
        .or_else(|| cfg.uid_root_for(study.map(|(_, s)| s)));
    r.config = cfg;
    Ok(r)
}

/// Opens a session held to the settings `o` resolves to: what the window and the web UI do
/// for every operation.
pub fn open_session(o: &Overrides) -> Result<Session, ApiError> {
    resolve(o)?.open_session()
}

impl Resolved {
    /// The data home folder (what was asked for, else the OS data folder).
    pub fn home_root(&self) -> Result<PathBuf, ApiError> {
        Home::resolve(self.home.as_deref()).map_err(ApiError::usage_err)
    }

    /// Creates the data home if needed and returns its folder (for a front door that opens
    /// sessions later, e.g. `deposit serve`).
    pub fn prepare_home(&self) -> Result<PathBuf, ApiError> {
        let home = Home::open(self.home_root()?).map_err(ApiError::usage_err)?;
        Ok(home.root().to_path_buf())
    }

    /// Opens the data home and its catalog, not held to the study (catalog and queue work).
    pub fn open_home(&self) -> Result<Session, ApiError> {
        let mut s = Session::open(self.home_root()?)?;
        s.settings = self.config.clone();
        s.network = self.network();
        Ok(s)
    }

    /// The proxy settings in force (see [`Overrides::network`]).
    pub fn network(&self) -> Network {
        self.overrides.network(&self.config)
    }

    /// Opens the data home held to the study: its approved profile becomes the default and
    /// the only one allowed, its UID root is used for new UIDs.
    pub fn open_session(&self) -> Result<Session, ApiError> {
        let mut s = self.open_home()?;
        s.use_study(StudySettings {
            name: self.study.clone(),
            approval: self.approval.clone(),
            uid_root: self.uid_root.clone(),
        })?;
        Ok(s)
    }

    /// A destination as a person gave it (a `[destinations]` name or a URL), parsed.
    pub fn destination(&self, dest: &str) -> Result<DestinationSpec, ApiError> {
        destination(&self.config, dest)
    }

    /// The configured study as front ends show it: its approval and defaults (destination as
    /// a URL).
    pub fn study_view(&self) -> StudySetup {
        let config = self.config.path.as_ref().map(|p| p.display().to_string());
        let Some(study) = &self.study else {
            return StudySetup {
                config,
                ..StudySetup::default()
            };
        };
        let s = self.config.studies.get(study);
        StudySetup {
            study: Some(study.clone()),
            approval: self.approval.clone(),
            destination: s
                .and_then(|s| s.destination.as_deref())
                .map(|d| self.config.destination_url(d)),
            lookup: s.and_then(|s| s.lookup.as_ref().map(|p| p.display().to_string())),
            config,
        }
    }

    /// The shipped profiles, and every approved profile file (or CTP script) beside them,
    /// each marked with the studies that approved exactly it (same SHA-256).
    pub fn profiles(&self) -> Result<Vec<ProfileInfo>, ApiError> {
        let approvals = approvals(&self.config);
        let mut all = super::deid::profiles()?;
        for a in &approvals {
            if !all.iter().any(|p| p.sha256 == a.sha256) {
                if let Ok(p) = super::deid::profile(&a.profile) {
                    all.push(p);
                }
            }
        }
        mark_approved(&mut all, &approvals);
        Ok(all)
    }

    /// One profile (shipped name or file), marked with the studies that approved it.
    pub fn profile_info(&self, name: &str) -> Result<ProfileInfo, ApiError> {
        let mut one = [super::deid::profile(name)?];
        mark_approved(&mut one, &approvals(&self.config));
        let [p] = one;
        Ok(p)
    }
}

/// Checks a UID root given by a person (the reason when it is not usable).
pub fn check_uid_root(root: &str) -> Result<(), String> {
    crate::deid::keyed::check_uid_root(root)
}

/// The configured study as front ends show it (the only configured one, or none).
pub fn study_view(o: &Overrides) -> Result<StudySetup, ApiError> {
    Ok(resolve(o)?.study_view())
}

/// Every study the configuration names, for the window's study picker.
pub fn configured_studies(o: &Overrides) -> Result<Vec<super::config::StudyChoice>, ApiError> {
    let cfg = load_config(o)?;
    Ok(cfg
        .studies
        .iter()
        .map(|(name, s)| super::config::StudyChoice {
            name: name.clone(),
            destination: s.destination.as_deref().map(|d| cfg.destination_url(d)),
            project: s.project.clone(),
            approved_profile: s.profile_sha256.as_ref().and(s.profile.clone()),
            lookup: s.lookup.as_ref().map(|p| p.display().to_string()),
        })
        .collect())
}

/// The profiles as `deposit profile list` and the windows list them (see
/// [`Resolved::profiles`]).
pub fn profiles(o: &Overrides) -> Result<Vec<ProfileInfo>, ApiError> {
    resolve(o)?.profiles()
}

/// Approves `profile` for the study `o` names (else the only configured one, else
/// "default"), pinning its name and SHA-256 in the configuration file (created if needed).
pub fn approve(o: &Overrides, profile: &str, now_unix: i64) -> Result<Approval, ApiError> {
    super::config::approve(o.config_file(), o.study.as_deref(), profile, now_unix)
}

impl Session {
    /// The configuration the session was opened with.
    pub fn config(&self) -> &Config {
        &self.settings
    }

    /// A destination as a person gave it (a `[destinations]` name of the session's
    /// configuration, or a URL), parsed.
    pub fn destination(&self, dest: &str) -> Result<DestinationSpec, ApiError> {
        destination(&self.settings, dest)
    }

    /// Makes `dest`'s trust options (from its named destination) those of its URL in this
    /// session, so that jobs the queue reopens by URL get them (a session opened without the
    /// configuration, e.g. the receiver's forwarder).
    pub(crate) fn keep_trust_of(&mut self, dest: &DestinationSpec) {
        if let Some((name, d)) = dest.trust().and_then(|t| t.to_config(&dest.to_string())) {
            self.settings.destinations.entry(name).or_insert(d);
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_inflation_budget_comes_from_the_intake_table() {
        let cfg = config::parse(
            "[intake]\ninflation_ratio = 50\ninflation_cap_mb = 256\n",
            std::path::Path::new("/x/deposit.toml"),
        )
        .expect("config");
        let l = intake_limits(&cfg.intake);
        assert_eq!((l.ratio, l.cap), (50, 256 * 1024 * 1024));
        assert_eq!(
            intake_limits(&config::Intake::default()),
            crate::intake::bounded::Limits::default()
        );
        for bad in [
            "[intake]\ninflation_ratio = 1\n",
            "[intake]\ninflation_cap_mb = 1\n",
            "[intake]\nbomb = true\n",
        ] {
            assert!(
                config::parse(bad, std::path::Path::new("/x/deposit.toml")).is_err(),
                "{bad}"
            );
        }
    }

    use super::*;

    fn overrides(dir: &Path) -> Overrides {
        Overrides {
            default_config: Some(dir.join("deposit.toml")),
            home: Some(dir.join("home")),
            ..Overrides::default()
        }
    }

    #[test]
    fn a_session_without_the_configuration_keeps_a_destination_s_trust_for_its_url() {
        let dir = tempfile::tempdir().expect("dir");
        let cfg = config::parse(
            "[destinations.central]\nurl = \"ctp+https://central.example.org:1443\"\n\
             ca = \"ca.pem\"\n",
            &dir.path().join("deposit.toml"),
        )
        .expect("config");
        let spec = DestinationSpec::resolve("central", &cfg).expect("named");
        let mut s = Session::open(dir.path().join("home")).expect("session");
        let url = spec.to_string();
        let before = s.destination(&url).expect("url");
        assert_eq!(before.trust().and_then(|t| t.ca.clone()), None);
        s.keep_trust_of(&spec);
        let after = s.destination(&url).expect("url");
        assert_eq!(
            after.trust(),
            spec.trust(),
            "the queue reopens it with its ca"
        );
    }

    #[test]
    fn flags_win_then_the_study_then_the_top_level() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("deposit.toml"),
            "uid_root = \"1.2.3\"\n[studies.t]\nprofile = \"research-longitudinal\"\nlookup = \"l.csv\"\ndestination = \"d\"\nproject = \"P\"\n[destinations.d]\nurl = \"folder:/x\"\n",
        )
        .expect("write");
        let o = overrides(dir.path());
        let r = resolve(&o).expect("resolve");
        assert_eq!(r.study.as_deref(), Some("t"));
        assert_eq!(r.profile.as_deref(), Some("research-longitudinal"));
        assert_eq!(r.lookup, Some(dir.path().join("l.csv")));
        assert_eq!(r.uid_root.as_deref(), Some("1.2.3"));
        assert_eq!(r.project.as_deref(), Some("P"));
        assert_eq!(
            r.destination(r.destination.as_deref().expect("d"))
                .expect("parsed")
                .to_string(),
            "folder:/x"
        );
        let r = resolve(&Overrides {
            profile: Some("ps3.15-basic".into()),
            uid_root: Some("1.2.4".into()),
            destination: Some("folder:/y".into()),
            ..o.clone()
        })
        .expect("resolve");
        assert_eq!(r.profile.as_deref(), Some("ps3.15-basic"));
        assert_eq!(r.uid_root.as_deref(), Some("1.2.4"));
        assert_eq!(r.destination.as_deref(), Some("folder:/y"));
    }

    #[test]
    fn a_named_file_must_exist_the_default_one_need_not() {
        let dir = tempfile::tempdir().expect("dir");
        let o = overrides(dir.path());
        let r = resolve(&o).expect("no file: no configuration");
        assert!(r.study.is_none() && r.config.studies.is_empty());
        let e = resolve(&Overrides {
            config: Some(dir.path().join("missing.toml")),
            ..o
        })
        .expect_err("a named file is missing");
        assert_eq!(e.code, "config.missing");
    }

    #[test]
    fn a_required_study_must_be_known() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("deposit.toml"),
            "[studies.a]\n[studies.b]\n",
        )
        .expect("write");
        let o = overrides(dir.path());
        assert!(resolve(&o).expect("lenient").study.is_none());
        let strict = Overrides {
            study_required: true,
            ..o.clone()
        };
        assert!(resolve(&strict).is_err(), "several studies, none named");
        let named = Overrides {
            study: Some("b".into()),
            ..strict
        };
        assert_eq!(resolve(&named).expect("named").study.as_deref(), Some("b"));
    }
}
