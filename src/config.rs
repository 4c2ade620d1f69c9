//! The configuration file `deposit.toml`: studies, named destinations, receiver
//! and delivery settings. Plain typed values; flags given on the command line win over them.
//!
//! Where it is read from: `--config FILE`, else `DEPOSIT_CONFIG`, else `deposit.toml` in the OS
//! config folder (missing there = no configuration); front doors read the environment. Relative paths inside it are relative to
//! the file's folder. Every error names the file and the key; the file holds no PHI.
//!
//! ```toml
//! uid_root = "1.2.826.0.1.3680043.10.999"      # optional; default 2.25
//!
//! [studies.trial1]
//! destination = "central"                       # a [destinations] name or a URL
//! profile = "research-longitudinal"             # shipped name, profile file or CTP script
//! profile_sha256 = "…"                          # pinned by `deposit profile approve`
//! lookup = "trial1-lookup.csv"
//! masks = "masks.txt"
//! project = "TRIAL1"                            # archive project label
//! subject_label = "{pseudonym}"                 # placeholders: {pseudonym}
//! session_label = "{subject}_{study_uid_tail}"  # placeholders: {subject} {study_uid_tail}
//!
//! [destinations.central]
//! url = "xnat+https://xnat.example.org?project=TRIAL1"
//! ca = "hospital-ca.pem"                        # optional: extra trusted roots (PEM)
//! pin_sha256 = "AB:CD:…"                        # optional: trust exactly this server certificate
//! allow_plain_http = false                      # plain http:// beyond this computer needs true
//!
//! [receiver]
//! aet = "DEPOSIT"
//! port = 11112
//! forward = "central"
//! quiet_period = "30s"
//! allow_ae = ["CT_SCANNER"]                     # also bind, max_associations, max_per_ae,
//! max_associations = 16                         # max_pending, setup_timeout, data_set_timeout
//!
//! [delivery]
//! concurrency = 2
//! max_rate = "20MB/s"
//!
//! [network]
//! proxy = "http://alice@proxy.example.org:3128"  # or "none" (direct); password: `deposit proxy login`
//! no_proxy = "localhost,.hospital.local,10.0.0.0/8"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;
use toml::{Table, Value};

use crate::error::{Classify, ErrorClass};

/// Name of the file in the OS config folder.
pub const FILE_NAME: &str = "deposit.toml";
/// Environment variable naming the configuration file (below `--config`, above the default).
pub const ENV: &str = "DEPOSIT_CONFIG";

/// Configuration failures: always the file, and the key when there is one.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// An explicitly named file does not exist.
    #[error("the configuration file {path} does not exist")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// Not TOML.
    #[error("the configuration {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (line and column).
        message: String,
    },
    /// A key has a bad value, or is unknown.
    #[error("the configuration {path}, key `{key}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted key, e.g. `studies.trial1.lookup`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// `--study NAME` names no study.
    #[error("no study '{name}' in the configuration {path} (studies: {known})")]
    UnknownStudy {
        /// The file (or "(none)").
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
    /// Several studies and none chosen.
    #[error(
        "the configuration {path} has several studies ({known}): choose one with --study NAME"
    )]
    ChooseStudy {
        /// The file.
        path: PathBuf,
        /// The names there are.
        known: String,
    },
    /// No config folder and no file named.
    #[error("no configuration folder: give --config FILE or set DEPOSIT_CONFIG")]
    NoConfigDir,
    /// The file could not be written.
    #[error("cannot write the configuration {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

impl Classify for ConfigError {
    fn code(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "config.read",
            ConfigError::Missing { .. } => "config.missing",
            ConfigError::Syntax { .. } => "config.syntax",
            ConfigError::Invalid { .. } => "config.invalid",
            ConfigError::UnknownStudy { .. } => "config.unknown_study",
            ConfigError::ChooseStudy { .. } => "config.choose_study",
            ConfigError::NoConfigDir => "config.no_dir",
            ConfigError::Write { .. } => "config.write",
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// One research study: where its data goes and how it is de-identified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Study {
    /// Destination: a `[destinations]` name or a URL.
    pub destination: Option<String>,
    /// Profile: a shipped name, or a file path (made absolute).
    pub profile: Option<String>,
    /// SHA-256 of the approved profile's canonical form (set by `deposit profile approve`).
    pub profile_sha256: Option<String>,
    /// When it was approved (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub approved_at: Option<String>,
    /// Lookup table file (absolute).
    pub lookup: Option<PathBuf>,
    /// Pixel-mask library file (absolute).
    pub masks: Option<PathBuf>,
    /// UID root for this study (overrides the top-level one).
    pub uid_root: Option<String>,
    /// Project label at the archive.
    pub project: Option<String>,
    /// Subject label template (`{pseudonym}`).
    pub subject_label: Option<String>,
    /// Session label template (`{subject}`, `{study_uid_tail}`).
    pub session_label: Option<String>,
    /// The AE title a scanner or PACS calls to send to this study: the receiver answers to it
    /// too and forwards what arrives under it with this study's settings.
    pub called_aet: Option<String>,
}

/// A named destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// The destination URL (the forms in docs/architecture.md, "Contracts"; no secrets).
    pub url: String,
    /// `ca`: a PEM file of extra trusted roots for this destination (absolute).
    pub ca: Option<PathBuf>,
    /// `pin_sha256`: trust exactly the server certificate whose DER has this SHA-256.
    pub pin_sha256: Option<[u8; 32]>,
    /// `allow_plain_http`: plain HTTP to a host other than this computer is allowed.
    pub allow_plain_http: bool,
}

/// `[receiver]`: the DICOM C-STORE SCP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receiver {
    /// AE title to answer to (1–16 characters, no backslash).
    pub aet: Option<String>,
    /// TCP port.
    pub port: Option<u16>,
    /// Forward de-identified studies here (destination name or URL).
    pub forward: Option<String>,
    /// Seconds without new instances after which a study counts as complete.
    pub quiet_period_secs: Option<u64>,
    /// Address to listen on.
    pub bind: Option<String>,
    /// Calling AE titles allowed to send (empty: anyone).
    pub allow_ae: Vec<String>,
    /// Associations served at once.
    pub max_associations: Option<usize>,
    /// Associations one calling AE title may hold at once.
    pub max_per_ae: Option<usize>,
    /// Connections not yet negotiated at once.
    pub max_pending: Option<usize>,
    /// Seconds from connection to a complete association request.
    pub setup_timeout_secs: Option<u64>,
    /// Seconds for each C-STORE and its data set (plus a second per 16 KiB received).
    pub data_set_timeout_secs: Option<u64>,
}

/// `[intake]`: the inflation budget of Deflated data sets (bounds against deflate bombs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intake {
    /// Inflated bytes allowed per deflated byte of a Deflated data set.
    pub inflation_ratio: Option<u64>,
    /// Largest inflated data set, in MiB.
    pub inflation_cap_mb: Option<u64>,
}

/// `[delivery]`: how sends use the network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Parallel uploads.
    pub concurrency: Option<u32>,
    /// Upper bound on the upload rate, bytes per second.
    pub max_rate_bytes_per_sec: Option<u64>,
}

/// `[network]`: how HTTP destinations are reached (proxies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    /// `http(s)://[USER@]host:port` (never a password), or `"none"` for direct connections;
    /// unset: the environment's or the OS's proxy.
    pub proxy: Option<String>,
    /// Hosts, domains (`.example.org`) and networks (`10.0.0.0/8`) reached directly,
    /// comma-separated; unset: the environment's `NO_PROXY`.
    pub no_proxy: Option<String>,
}

/// `[web]`: what `deposit serve` answers and what its users may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Web {
    /// Host names (no port) the server is reached by besides its own address, e.g. the name of
    /// a reverse proxy in front of it (`public_name = "deposit.example.org"` or a list).
    pub public_names: Vec<String>,
    /// Mark the session cookie `Secure` (the server is reached over HTTPS through a proxy).
    pub secure_cookie: bool,
    /// Folders the web UI may scan and write `folder:` outputs into; empty: see `web::reach`.
    pub roots: Vec<PathBuf>,
}

/// A parsed configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The file it came from (also where `profile approve` writes); `None` when there is none.
    pub path: Option<PathBuf>,
    /// Top-level UID root.
    pub uid_root: Option<String>,
    /// Studies by name.
    pub studies: BTreeMap<String, Study>,
    /// Named destinations.
    pub destinations: BTreeMap<String, Destination>,
    /// Receiver settings.
    pub receiver: Receiver,
    /// Delivery settings.
    pub delivery: Delivery,
    /// `[intake]`: the bounds of reading hostile input.
    pub intake: Intake,
    /// Network settings (proxies).
    pub network: Network,
    /// The web server's settings.
    pub web: Web,
}

/// Where the configuration is: `explicit` (a file named on the command line, or by the
/// environment at the front door), else `deposit.toml` in the OS config folder. The flag is true
/// for an explicit file. This module reads no environment variable: front doors do, into
/// `api::resolve::Overrides`.
pub fn locate(explicit: Option<&Path>) -> Result<(PathBuf, bool), ConfigError> {
    if let Some(p) = explicit {
        return Ok((p.to_path_buf(), true));
    }
    crate::platform::config_dir()
        .map(|d| (d.join(FILE_NAME), false))
        .ok_or(ConfigError::NoConfigDir)
}

/// Loads the configuration found by [`locate`]. A missing file is an empty configuration
/// (with its path, so approval can create it), except an explicit file, unless `create_ok`.
pub fn load(explicit: Option<&Path>, create_ok: bool) -> Result<Config, ConfigError> {
    let (path, named) = locate(explicit)?;
    read(path, named && !create_ok)
}

/// Loads the configuration at `path`, a missing file being an empty configuration (with its
/// path, so approval can create it): the file `DEPOSIT_CONFIG` names.
pub fn load_or_empty(path: &Path) -> Result<Config, ConfigError> {
    read(path.to_path_buf(), false)
}

fn read(path: PathBuf, must_exist: bool) -> Result<Config, ConfigError> {
    if !path.exists() {
        if must_exist {
            return Err(ConfigError::Missing { path });
        }
        return Ok(Config {
            path: Some(path),
            ..Config::default()
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    parse(&text, &path)
}

struct Ctx<'a> {
    path: &'a Path,
    dir: PathBuf,
}

impl Ctx<'_> {
    fn bad(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn table<'v>(&self, v: &'v Value, key: &str) -> Result<&'v Table, ConfigError> {
        v.as_table()
            .ok_or_else(|| self.bad(key, "expected a table"))
    }

    fn string(&self, v: &Value, key: &str) -> Result<String, ConfigError> {
        match v.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Some(_) => Err(self.bad(key, "must not be empty")),
            None => Err(self.bad(key, "expected a string")),
        }
    }

    fn file(&self, v: &Value, key: &str) -> Result<PathBuf, ConfigError> {
        let s = self.string(v, key)?;
        let p = PathBuf::from(&s);
        Ok(if p.is_absolute() { p } else { self.dir.join(p) })
    }

    fn unknown(&self, t: &Table, prefix: &str, known: &[&str]) -> Result<(), ConfigError> {
        match t.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(self.bad(
                &format!("{prefix}{k}"),
                format!("unknown key (known here: {})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

/// Checks a UID root: digits and dots, no empty or zero-padded component, and short enough to
/// leave at least 20 digits for the keyed number within DICOM's 64 characters.
pub fn check_uid_root(root: &str) -> Result<(), String> {
    crate::deid::keyed::check_uid_root(root)
}

fn check_template(t: &str, allowed: &[&str]) -> Result<(), String> {
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('}') else {
            return Err("has a `{` without `}`".into());
        };
        let name = &after[..j];
        if !allowed.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} (allowed: {})",
                allowed
                    .iter()
                    .map(|a| format!("{{{a}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        rest = &after[j + 1..];
    }
    if !t.contains('{') {
        return Err(
            "must use at least one placeholder, or every subject would get the same label".into(),
        );
    }
    Ok(())
}

/// Seconds: an integer, or text such as `"30s"`, `"2m"` ([`crate::units::parse_seconds`]).
fn seconds(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_integer() {
        return u64::try_from(n).ok();
    }
    crate::units::parse_seconds(v.as_str()?).ok()
}

/// Bytes per second: a positive integer, or text such as `"500KB/s"`, `"20MB/s"`, `"1GiB/s"`
/// ([`crate::units::parse_rate`]).
fn rate(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_integer() {
        return u64::try_from(n).ok().filter(|n| *n > 0);
    }
    crate::units::parse_rate(v.as_str()?).ok()
}

/// One `[destinations.NAME]` table: its URL and its TLS trust options.
fn parse_destination(cx: &Ctx<'_>, name: &str, d: &Value) -> Result<Destination, ConfigError> {
    let key = format!("destinations.{name}");
    let t = cx.table(d, &key)?;
    cx.unknown(
        t,
        &format!("{key}."),
        &["url", "ca", "pin_sha256", "allow_plain_http"],
    )?;
    let url = t
        .get("url")
        .ok_or_else(|| cx.bad(&format!("{key}.url"), "missing"))
        .and_then(|u| cx.string(u, &format!("{key}.url")))?;
    if url.contains('@')
        && url
            .split("://")
            .nth(1)
            .is_some_and(|r| r.split('@').next().is_some_and(|u| u.contains(':')))
    {
        return Err(cx.bad(
            &format!("{key}.url"),
            "holds a password: credentials never go in the configuration (use DEPOSIT_PASSWORD, ~/.netrc or `deposit login`)",
        ));
    }
    let mut dest = Destination {
        url,
        ..Destination::default()
    };
    if let Some(v) = t.get("ca") {
        dest.ca = Some(cx.file(v, &format!("{key}.ca"))?);
    }
    if let Some(v) = t.get("pin_sha256") {
        let k = format!("{key}.pin_sha256");
        let s = cx.string(v, &k)?;
        dest.pin_sha256 = Some(parse_sha256(&s).ok_or_else(|| {
            cx.bad(
                &k,
                "expected a SHA-256 fingerprint: 64 hex digits, with or without colons \
                 (see it with `deposit destination pin NAME`)",
            )
        })?);
    }
    if let Some(v) = t.get("allow_plain_http") {
        dest.allow_plain_http = v
            .as_bool()
            .ok_or_else(|| cx.bad(&format!("{key}.allow_plain_http"), "expected true or false"))?;
    }
    Ok(dest)
}

/// A SHA-256 fingerprint as people write it: 64 hex digits, in pairs separated by colons (or
/// spaces) or not, either case.
pub fn parse_sha256(s: &str) -> Option<[u8; 32]> {
    let hex: String = s
        .trim()
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(&hex, &mut out).ok()?;
    Some(out)
}

/// Parses configuration text; `path` is named in errors and anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let root: Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim().replace('\n', " "),
    })?;
    let cx = Ctx {
        path,
        dir: path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    cx.unknown(
        &root,
        "",
        &[
            "uid_root",
            "studies",
            "destinations",
            "receiver",
            "delivery",
            "network",
            "web",
            "intake",
        ],
    )?;
    let mut cfg = Config {
        path: Some(path.to_path_buf()),
        ..Config::default()
    };
    if let Some(v) = root.get("uid_root") {
        let r = cx.string(v, "uid_root")?;
        check_uid_root(&r).map_err(|m| cx.bad("uid_root", m))?;
        cfg.uid_root = Some(r);
    }
    if let Some(v) = root.get("destinations") {
        for (name, d) in cx.table(v, "destinations")? {
            let dest = parse_destination(&cx, name, d)?;
            cfg.destinations.insert(name.clone(), dest);
        }
    }
    if let Some(v) = root.get("studies") {
        for (name, s) in cx.table(v, "studies")? {
            let key = format!("studies.{name}");
            let t = cx.table(s, &key)?;
            cx.unknown(
                t,
                &format!("{key}."),
                &[
                    "destination",
                    "profile",
                    "profile_sha256",
                    "approved_at",
                    "lookup",
                    "masks",
                    "uid_root",
                    "project",
                    "subject_label",
                    "session_label",
                    "called_aet",
                ],
            )?;
            let k = |f: &str| format!("{key}.{f}");
            let mut st = Study::default();
            for (f, v) in t {
                match f.as_str() {
                    "destination" => st.destination = Some(cx.string(v, &k(f))?),
                    "profile" => {
                        let p = cx.string(v, &k(f))?;
                        let shipped = crate::deid::profile::SHIPPED.iter().any(|(n, _)| *n == p);
                        st.profile = Some(if shipped {
                            p
                        } else {
                            cx.file(v, &k(f))?.display().to_string()
                        });
                    }
                    "profile_sha256" => {
                        let h = cx.string(v, &k(f))?.to_ascii_lowercase();
                        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return Err(cx.bad(
                                &k(f),
                                "expected 64 hex digits (set it with `deposit profile approve`)",
                            ));
                        }
                        st.profile_sha256 = Some(h);
                    }
                    "approved_at" => st.approved_at = Some(cx.string(v, &k(f))?),
                    "lookup" => st.lookup = Some(cx.file(v, &k(f))?),
                    "masks" => st.masks = Some(cx.file(v, &k(f))?),
                    "uid_root" => {
                        let r = cx.string(v, &k(f))?;
                        check_uid_root(&r).map_err(|m| cx.bad(&k(f), m))?;
                        st.uid_root = Some(r);
                    }
                    "project" => st.project = Some(cx.string(v, &k(f))?),
                    "subject_label" => {
                        let s = cx.string(v, &k(f))?;
                        check_template(&s, &["pseudonym"]).map_err(|m| cx.bad(&k(f), m))?;
                        st.subject_label = Some(s);
                    }
                    "session_label" => {
                        let s = cx.string(v, &k(f))?;
                        check_template(&s, &["subject", "study_uid_tail"])
                            .map_err(|m| cx.bad(&k(f), m))?;
                        st.session_label = Some(s);
                    }
                    "called_aet" => {
                        let a = cx.string(v, &k(f))?;
                        if !crate::dimse::valid_ae(&a) {
                            return Err(cx.bad(
                                &k(f),
                                "an AE title is 1-16 ASCII characters without backslash",
                            ));
                        }
                        st.called_aet = Some(a.trim().to_string());
                    }
                    _ => {}
                }
            }
            if st.profile_sha256.is_some() && st.profile.is_none() {
                return Err(cx.bad(
                    &k("profile"),
                    "missing: profile_sha256 pins a profile, name it",
                ));
            }
            if let Some(d) = &st.destination {
                if !d.contains(':') && !cfg.destinations.contains_key(d) {
                    return Err(cx.bad(
                        &k("destination"),
                        format!("'{d}' is neither a URL nor a [destinations] name"),
                    ));
                }
            }
            cfg.studies.insert(name.clone(), st);
        }
    }
    if let Some(v) = root.get("receiver") {
        let t = cx.table(v, "receiver")?;
        cx.unknown(
            t,
            "receiver.",
            &[
                "aet",
                "port",
                "forward",
                "quiet_period",
                "bind",
                "allow_ae",
                "max_associations",
                "max_per_ae",
                "max_pending",
                "setup_timeout",
                "data_set_timeout",
            ],
        )?;
        let known: Vec<String> = cfg.destinations.keys().cloned().collect();
        let r = &mut cfg.receiver;
        if let Some(v) = t.get("aet") {
            let a = cx.string(v, "receiver.aet")?;
            if !crate::dimse::valid_ae(&a) {
                return Err(cx.bad(
                    "receiver.aet",
                    "an AE title is 1-16 ASCII characters without backslash",
                ));
            }
            r.aet = Some(a);
        }
        if let Some(v) = t.get("port") {
            r.port = Some(
                v.as_integer()
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| cx.bad("receiver.port", "expected a port number 1-65535"))?,
            );
        }
        if let Some(v) = t.get("forward") {
            let d = cx.string(v, "receiver.forward")?;
            // the same rule as a study's destination: a URL or a [destinations] name
            if !d.contains(':') && !known.contains(&d) {
                return Err(cx.bad(
                    "receiver.forward",
                    format!("'{d}' is neither a URL nor a [destinations] name"),
                ));
            }
            r.forward = Some(d);
        }
        if let Some(v) = t.get("quiet_period") {
            r.quiet_period_secs = Some(seconds(v).ok_or_else(|| {
                cx.bad(
                    "receiver.quiet_period",
                    "expected seconds: 30, \"30s\" or \"2m\"",
                )
            })?);
        }
        if let Some(v) = t.get("bind") {
            r.bind = Some(cx.string(v, "receiver.bind")?);
        }
        if let Some(v) = t.get("allow_ae") {
            let list = v
                .as_array()
                .ok_or_else(|| cx.bad("receiver.allow_ae", "expected a list of AE titles"))?;
            for a in list {
                let a = a
                    .as_str()
                    .filter(|a| crate::dimse::valid_ae(a))
                    .ok_or_else(|| {
                        cx.bad(
                            "receiver.allow_ae",
                            "an AE title is 1-16 ASCII characters without backslash",
                        )
                    })?;
                r.allow_ae.push(a.trim().to_string());
            }
        }
        let count = |key: &str| -> Result<Option<usize>, ConfigError> {
            t.get(key)
                .map(|v| {
                    v.as_integer()
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|n| (1..=1024).contains(n))
                        .ok_or_else(|| cx.bad(&format!("receiver.{key}"), "expected 1-1024"))
                })
                .transpose()
        };
        r.max_associations = count("max_associations")?;
        r.max_per_ae = count("max_per_ae")?;
        r.max_pending = count("max_pending")?;
        let secs = |key: &str| -> Result<Option<u64>, ConfigError> {
            t.get(key)
                .map(|v| {
                    seconds(v)
                        .filter(|n| (1..=86_400).contains(n))
                        .ok_or_else(|| {
                            cx.bad(
                                &format!("receiver.{key}"),
                                "expected seconds (1 to a day): 30, \"30s\" or \"2m\"",
                            )
                        })
                })
                .transpose()
        };
        r.setup_timeout_secs = secs("setup_timeout")?;
        r.data_set_timeout_secs = secs("data_set_timeout")?;
    }
    if let Some(v) = root.get("delivery") {
        let t = cx.table(v, "delivery")?;
        cx.unknown(t, "delivery.", &["concurrency", "max_rate"])?;
        if let Some(v) = t.get("concurrency") {
            cfg.delivery.concurrency = Some(
                v.as_integer()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (1..=64).contains(n))
                    .ok_or_else(|| cx.bad("delivery.concurrency", "expected 1-64"))?,
            );
        }
        if let Some(v) = t.get("max_rate") {
            cfg.delivery.max_rate_bytes_per_sec = Some(rate(v).ok_or_else(|| {
                cx.bad(
                    "delivery.max_rate",
                    "expected bytes per second, or e.g. \"500KB/s\", \"20MB/s\", \"1GiB/s\"",
                )
            })?);
        }
    }
    if let Some(v) = root.get("intake") {
        let t = cx.table(v, "intake")?;
        cx.unknown(t, "intake.", &["inflation_ratio", "inflation_cap_mb"])?;
        let int = |k: &str, lo: u64, hi: u64| -> Result<Option<u64>, ConfigError> {
            t.get(k)
                .map(|v| {
                    v.as_integer()
                        .and_then(|n| u64::try_from(n).ok())
                        .filter(|n| (lo..=hi).contains(n))
                        .ok_or_else(|| {
                            cx.bad(&format!("intake.{k}"), format!("expected {lo}-{hi}"))
                        })
                })
                .transpose()
        };
        cfg.intake.inflation_ratio = int("inflation_ratio", 10, 100_000)?;
        cfg.intake.inflation_cap_mb = int("inflation_cap_mb", 64, 65_536)?;
    }
    if let Some(v) = root.get("network") {
        cfg.network = network(&cx, v)?;
    }
    if let Some(v) = root.get("web") {
        cfg.web = web(&cx, v)?;
    }
    Ok(cfg)
}

/// `[web]`: `public_name` (a string or a list of host names), `secure_cookie` (a boolean),
/// `roots` (a list of folders, relative to the file's folder).
fn web(cx: &Ctx<'_>, v: &Value) -> Result<Web, ConfigError> {
    let t = cx.table(v, "web")?;
    cx.unknown(t, "web.", &["public_name", "secure_cookie", "roots"])?;
    let mut w = Web::default();
    if let Some(v) = t.get("public_name") {
        let names = match v {
            Value::Array(a) => a
                .iter()
                .map(|n| cx.string(n, "web.public_name"))
                .collect::<Result<Vec<_>, _>>()?,
            _ => vec![cx.string(v, "web.public_name")?],
        };
        for n in names {
            let n = n.trim().to_ascii_lowercase();
            if n.is_empty() || n.contains(['/', ':', ' ']) {
                return Err(cx.bad(
                    "web.public_name",
                    "expected host names without scheme or port, e.g. \"deposit.example.org\"",
                ));
            }
            w.public_names.push(n);
        }
    }
    if let Some(v) = t.get("secure_cookie") {
        w.secure_cookie = v
            .as_bool()
            .ok_or_else(|| cx.bad("web.secure_cookie", "expected true or false"))?;
    }
    if let Some(v) = t.get("roots") {
        let a = v
            .as_array()
            .ok_or_else(|| cx.bad("web.roots", "expected a list of folders"))?;
        for r in a {
            w.roots.push(cx.file(r, "web.roots")?);
        }
    }
    Ok(w)
}

/// `[network]`: the proxy is `"none"` or an http(s) URL without a password (checked in full
/// when a destination is opened).
fn network(cx: &Ctx<'_>, v: &Value) -> Result<Network, ConfigError> {
    let t = cx.table(v, "network")?;
    cx.unknown(t, "network.", &["proxy", "no_proxy"])?;
    let mut n = Network::default();
    if let Some(v) = t.get("proxy") {
        let p = cx.string(v, "network.proxy")?;
        let (scheme, rest) = p.split_once("://").unwrap_or(("http", p.as_str()));
        if !p.eq_ignore_ascii_case("none") {
            if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
                return Err(cx.bad(
                    "network.proxy",
                    "expected \"none\" or http(s)://[USER@]host:port",
                ));
            }
            if rest
                .rsplit_once('@')
                .is_some_and(|(user, _)| user.contains(':'))
            {
                return Err(cx.bad(
                    "network.proxy",
                    "holds a password: credentials never go in the configuration (use \
                     DEPOSIT_PROXY_PASSWORD or `deposit proxy login`)",
                ));
            }
        }
        n.proxy = Some(p);
    }
    if let Some(v) = t.get("no_proxy") {
        n.no_proxy = Some(
            v.as_str()
                .ok_or_else(|| cx.bad("network.no_proxy", "expected a string"))?
                .trim()
                .to_string(),
        );
    }
    Ok(n)
}

impl Config {
    fn where_(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(|| PathBuf::from("(none)"))
    }

    fn names(&self) -> String {
        if self.studies.is_empty() {
            "none".into()
        } else {
            self.studies.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }

    /// The study `name`, or the only one when no name is given. `Ok(None)`: no studies and
    /// none asked for.
    pub fn study(&self, name: Option<&str>) -> Result<Option<(&str, &Study)>, ConfigError> {
        match name {
            Some(n) => self
                .studies
                .get_key_value(n)
                .map(|(k, s)| Some((k.as_str(), s)))
                .ok_or_else(|| ConfigError::UnknownStudy {
                    path: self.where_(),
                    name: n.to_string(),
                    known: self.names(),
                }),
            None => match self.studies.len() {
                0 => Ok(None),
                1 => Ok(self.studies.iter().next().map(|(k, s)| (k.as_str(), s))),
                _ => Err(ConfigError::ChooseStudy {
                    path: self.where_(),
                    known: self.names(),
                }),
            },
        }
    }

    /// A destination as given (name or URL) → its URL.
    pub fn destination_url(&self, dest: &str) -> String {
        self.destinations
            .get(dest)
            .map(|d| d.url.clone())
            .unwrap_or_else(|| dest.to_string())
    }

    /// The named destination whose URL is `url` (the same text, or the same text once both
    /// are normalised by `same`), with its name.
    pub fn destination_by_url(
        &self,
        url: &str,
        same: impl Fn(&str, &str) -> bool,
    ) -> Option<(&str, &Destination)> {
        let url = url.trim();
        self.destinations
            .iter()
            .find(|(_, d)| d.url == url)
            .or_else(|| self.destinations.iter().find(|(_, d)| same(&d.url, url)))
            .map(|(n, d)| (n.as_str(), d))
    }

    /// The UID root for a study: the study's, else the top-level one.
    pub fn uid_root_for(&self, study: Option<&Study>) -> Option<String> {
        study
            .and_then(|s| s.uid_root.clone())
            .or_else(|| self.uid_root.clone())
    }
}

/// A pinned approval, as written into `[studies.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Shipped profile name or absolute file path.
    pub profile: String,
    /// SHA-256 of its canonical form.
    pub sha256: String,
    /// When (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub approved_at: String,
}

/// Writes `pin` into `[studies.STUDY]` of the file at `path` (created if missing), keeping
/// every other key, comment and table of the file as it was.
pub fn write_pin(path: &Path, study: &str, pin: &Pin) -> Result<(), ConfigError> {
    let table = ["studies", study];
    let v = |s: &str| Some(toml_edit::Value::from(s));
    set_values(
        path,
        &[
            (&table, "profile", v(&pin.profile)),
            (&table, "profile_sha256", v(&pin.sha256)),
            (&table, "approved_at", v(&pin.approved_at)),
        ],
    )
}

/// One edit: in the table at the path (e.g. `["destinations", "central"]`), set `key` to the
/// value, or remove it when `None`.
pub type Edit<'a> = (&'a [&'a str], &'a str, Option<toml_edit::Value>);

/// Applies `edits` in one write: tables are created as needed, an emptied named table is
/// removed, every other line is kept, and what is written must still read back (else nothing
/// changes). The file is replaced atomically.
pub fn set_values(path: &Path, edits: &[Edit<'_>]) -> Result<(), ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string().trim().replace('\n', " "),
            })?;
    let bad = |key: &str| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        message: "expected a table".into(),
    };
    for (table, key, value) in edits {
        let mut t: &mut dyn toml_edit::TableLike = doc.as_table_mut();
        for (n, name) in table.iter().enumerate() {
            let item = t.entry(name).or_insert_with(|| {
                let mut nt = toml_edit::Table::new();
                // a parent of named tables prints as [a.b] headers only
                nt.set_implicit(n + 1 < table.len());
                toml_edit::Item::Table(nt)
            });
            t = item
                .as_table_like_mut()
                .ok_or_else(|| bad(&table[..=n].join(".")))?;
        }
        match value {
            Some(v) => {
                t.insert(key, toml_edit::Item::Value(v.clone()));
            }
            None => {
                t.remove(key);
            }
        }
        if let (true, Some((last, parents))) = (t.is_empty(), table.split_last()) {
            if parents.is_empty() {
                continue;
            }
            // drop an emptied named table ([destinations.x] with nothing left)
            let mut p: &mut dyn toml_edit::TableLike = doc.as_table_mut();
            for name in parents {
                p = p
                    .get_mut(name)
                    .and_then(|i| i.as_table_like_mut())
                    .ok_or_else(|| bad(name))?;
            }
            p.remove(last);
        }
    }
    let out = doc.to_string();
    parse(&out, path)?;
    let wr = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(wr)?;
    }
    crate::durable::replace(path, out.as_bytes()).map_err(wr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("/etc/deposit/deposit.toml")
    }

    const FULL: &str = r#"
# site configuration
uid_root = "1.2.826.0.1.3680043.10.999"

[studies.trial1]
destination = "central"
profile = "research-longitudinal"
lookup = "t1.csv"
masks = "/opt/masks.txt"
project = "TRIAL1"
subject_label = "T1-{pseudonym}"
session_label = "{subject}_{study_uid_tail}"

[destinations.central]
url = "xnat+https://alice@xnat.example.org?project=TRIAL1"

[receiver]
aet = "DEPOSIT"
port = 11112
forward = "central"
quiet_period = "2m"
bind = "127.0.0.1"
allow_ae = ["CT_1", "PACS"]
max_associations = 8
max_per_ae = 2
setup_timeout = "5s"

[delivery]
concurrency = 3
max_rate = "20MB/s"
"#;

    #[test]
    fn reads_the_trust_options_of_a_destination() {
        let c = parse(
            "[destinations.c]\nurl = \"ctp+https://h:1443\"\nca = \"ca/site.pem\"\n\
             pin_sha256 = \"ab:CD:ef:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:01:02:03:04:05:06:07:08:09:0a:0b:0c\"\n\
             allow_plain_http = true\n",
            &p(),
        )
        .expect("parses");
        let d = &c.destinations["c"];
        assert_eq!(d.ca.as_deref(), Some(Path::new("/etc/deposit/ca/site.pem")));
        let pin = d.pin_sha256.expect("pin");
        assert_eq!((pin[0], pin[1], pin[31]), (0xab, 0xcd, 0x0c));
        assert!(d.allow_plain_http);
        let hex = "AB".repeat(32);
        assert_eq!(parse_sha256(&hex), Some([0xab; 32]));
        for bad in ["ab:cd", "zz".repeat(32).as_str(), ""] {
            assert_eq!(parse_sha256(bad), None, "{bad}");
        }
        for (text, key) in [
            ("pin_sha256 = \"ab:cd\"", "destinations.c.pin_sha256"),
            (
                "allow_plain_http = \"yes\"",
                "destinations.c.allow_plain_http",
            ),
            ("cafile = \"x.pem\"", "destinations.c.cafile"),
        ] {
            let e = parse(
                &format!("[destinations.c]\nurl = \"folder:\"\n{text}\n"),
                &p(),
            )
            .expect_err(text);
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn reads_every_section_with_paths_relative_to_the_file() {
        let c = parse(FULL, &p()).expect("parses");
        assert_eq!(c.uid_root.as_deref(), Some("1.2.826.0.1.3680043.10.999"));
        let (name, s) = c.study(None).expect("ok").expect("the only study");
        assert_eq!(name, "trial1");
        assert_eq!(s.lookup.as_deref(), Some(Path::new("/etc/deposit/t1.csv")));
        assert_eq!(s.masks.as_deref(), Some(Path::new("/opt/masks.txt")));
        assert_eq!(s.profile.as_deref(), Some("research-longitudinal"));
        assert_eq!(
            c.destination_url(s.destination.as_deref().expect("dest")),
            "xnat+https://alice@xnat.example.org?project=TRIAL1"
        );
        assert_eq!(c.destination_url("folder:/x"), "folder:/x");
        assert_eq!(c.receiver.port, Some(11112));
        assert_eq!(c.receiver.quiet_period_secs, Some(120));
        assert_eq!(c.receiver.allow_ae, ["CT_1", "PACS"]);
        assert_eq!(c.receiver.bind.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            (c.receiver.max_associations, c.receiver.max_per_ae),
            (Some(8), Some(2))
        );
        assert_eq!(c.receiver.max_pending, None);
        assert_eq!(c.receiver.setup_timeout_secs, Some(5));
        assert_eq!(c.delivery.concurrency, Some(3));
        assert_eq!(c.delivery.max_rate_bytes_per_sec, Some(20_000_000));
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let cases = [
            ("[studies.a]\nlokup = \"x\"\n", "studies.a.lokup"),
            ("uid_root = \"2.25.abc\"\n", "uid_root"),
            ("[studies.a]\nuid_root = \"1.02.3\"\n", "studies.a.uid_root"),
            ("[receiver]\nport = 70000\n", "receiver.port"),
            ("[receiver]\nallow_ae = [\"A\\\\B\"]\n", "receiver.allow_ae"),
            ("[receiver]\nmax_per_ae = 0\n", "receiver.max_per_ae"),
            ("[delivery]\nmax_rate = \"fast\"\n", "delivery.max_rate"),
            (
                "[studies.a]\ndestination = \"nowhere\"\n",
                "studies.a.destination",
            ),
            (
                "[studies.a]\nprofile_sha256 = \"00\"\nprofile = \"x\"\n",
                "studies.a.profile_sha256",
            ),
            (
                "[destinations.d]\nurl = \"xnat+https://u:secret@h\"\n",
                "destinations.d.url",
            ),
            (
                "[studies.a]\nsession_label = \"{name}\"\n",
                "studies.a.session_label",
            ),
        ];
        for (text, key) in cases {
            let e = parse(text, &p()).expect_err(text);
            let msg = e.to_string();
            assert!(msg.contains("/etc/deposit/deposit.toml"), "{msg}");
            assert!(msg.contains(&format!("`{key}`")), "{key}: {msg}");
            assert_eq!(e.code(), "config.invalid");
            assert!(!msg.contains("secret"), "{msg}");
        }
        let e = parse("[studies\n", &p()).expect_err("syntax");
        assert_eq!(e.code(), "config.syntax");
        assert!(e.to_string().contains("deposit.toml"));
    }

    #[test]
    fn study_choice() {
        let c = parse("[studies.a]\n[studies.b]\n", &p()).expect("parses");
        assert!(matches!(
            c.study(None),
            Err(ConfigError::ChooseStudy { .. })
        ));
        assert_eq!(c.study(Some("b")).expect("b").map(|s| s.0), Some("b"));
        assert!(matches!(
            c.study(Some("z")),
            Err(ConfigError::UnknownStudy { .. })
        ));
        assert_eq!(Config::default().study(None).expect("none"), None);
    }

    #[test]
    fn pin_is_written_back_keeping_the_rest_of_the_file() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("deposit.toml");
        std::fs::write(&path, FULL).expect("write");
        let pin = Pin {
            profile: "ps3.15-basic".into(),
            sha256: "ab".repeat(32),
            approved_at: crate::calendar::utc_stamp(0),
        };
        write_pin(&path, "trial1", &pin).expect("pin");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("# site configuration"));
        assert!(text.contains("max_rate = \"20MB/s\""));
        let c = parse(&text, &path).expect("parses");
        let s = &c.studies["trial1"];
        assert_eq!(s.profile.as_deref(), Some("ps3.15-basic"));
        assert_eq!(s.profile_sha256.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(s.approved_at.as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(s.project.as_deref(), Some("TRIAL1"));
        // A new file with a new study.
        let other = tmp.path().join("sub/new.toml");
        write_pin(&other, "default", &pin).expect("pin new");
        let c = parse(&std::fs::read_to_string(&other).expect("r"), &other).expect("p");
        assert!(c.studies.contains_key("default"));
    }

    #[test]
    fn rates_and_periods() {
        assert_eq!(rate(&Value::from("500KB/s")), Some(500_000));
        assert_eq!(rate(&Value::from("1MiB/s")), Some(1_048_576));
        assert_eq!(rate(&Value::from(1000)), Some(1000));
        assert_eq!(rate(&Value::from("0")), None);
        assert_eq!(seconds(&Value::from("30s")), Some(30));
        assert_eq!(seconds(&Value::from(5)), Some(5));
        assert_eq!(seconds(&Value::from("x")), None);
        assert_eq!(seconds(&Value::from("2h")), Some(7200));
        // what the settings screen accepts, the file reads back
        assert_eq!(rate(&Value::from("1.5M")), Some(1_500_000));
        assert_eq!(rate(&Value::from("10mbps")), Some(10_000_000));
        assert_eq!(seconds(&Value::from("99999999999999999d")), None);
        assert_eq!(
            crate::calendar::utc_stamp(86_400 + 3661),
            "1970-01-02T01:01:01Z"
        );
    }

    #[test]
    fn network_takes_a_proxy_without_a_password() {
        let p = Path::new("/x/deposit.toml");
        let c = parse(
            "[network]\nproxy = \"http://alice@proxy:3128\"\nno_proxy = \"\"\n",
            p,
        )
        .expect("network");
        assert_eq!(c.network.proxy.as_deref(), Some("http://alice@proxy:3128"));
        assert_eq!(c.network.no_proxy.as_deref(), Some(""));
        let c = parse("[network]\nproxy = \"none\"\n", p).expect("none");
        assert_eq!(c.network.proxy.as_deref(), Some("none"));
        let e = parse("[network]\nproxy = \"http://a:hunter2@p:1\"\n", p).expect_err("pw");
        assert!(!e.to_string().contains("hunter2") && e.to_string().contains("network.proxy"));
        assert!(parse("[network]\nproxy = \"socks5://p:1\"\n", p).is_err());
        assert!(parse("[network]\nport = 1\n", p).is_err());
    }
}
