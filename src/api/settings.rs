//! Settings as front ends edit them: named destinations (with a connection test and a keyring
//! login), the study's default destination and lookup table, the receiver and delivery sections
//! — all kept in `deposit.toml`, written in place (every other line kept).

use std::path::Path;

use serde::Serialize;

use super::resolve::Overrides;
use crate::archive::spec::ConnectionReport;
use crate::archive::{ArchiveError, DestinationSpec};
use crate::config::{self, Config};
use crate::error::ApiError;

/// A named destination.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NamedDestination {
    /// Name (used as `--to NAME` and in `[studies]`).
    pub name: String,
    /// URL (never a password).
    pub url: String,
}

/// Everything the settings screen shows.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Settings {
    /// The configuration file.
    pub config: Option<String>,
    /// The study settings apply to (the only one; "default" when there is none yet).
    pub study: String,
    /// Its destination (a name or URL).
    pub study_destination: Option<String>,
    /// Its lookup table.
    pub study_lookup: Option<String>,
    /// Named destinations.
    pub destinations: Vec<NamedDestination>,
    /// Receiver AE title.
    pub receiver_aet: Option<String>,
    /// Receiver port.
    pub receiver_port: Option<u16>,
    /// Receiver forwarding destination.
    pub receiver_forward: Option<String>,
    /// Receiver quiet period, seconds.
    pub receiver_quiet_secs: Option<u64>,
    /// Pieces in flight.
    pub concurrency: Option<u32>,
    /// Bandwidth cap, bytes per second.
    pub max_rate_bytes_per_sec: Option<u64>,
}

/// A settings change.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SettingsChange {
    /// Adds or replaces a named destination.
    SaveDestination {
        /// Name: letters, digits, `-`, `_`.
        name: String,
        /// URL as on the command line.
        url: String,
    },
    /// Removes a named destination.
    RemoveDestination {
        /// Name.
        name: String,
    },
    /// The study's default destination and lookup table (empty: none).
    Study {
        /// Destination name or URL.
        destination: String,
        /// Lookup table file.
        lookup: String,
    },
    /// The receiver section (empty/0: the default).
    Receiver {
        /// AE title.
        aet: String,
        /// Port.
        port: u16,
        /// Forwarding destination (name or URL).
        forward: String,
        /// Quiet period, seconds.
        quiet_secs: u64,
    },
    /// The delivery section (0 / empty: the default).
    Delivery {
        /// Pieces in flight (1–64).
        concurrency: u32,
        /// Bandwidth cap, e.g. `20MB/s`.
        max_rate: String,
    },
}

fn cfg_err(e: config::ConfigError) -> ApiError {
    ApiError::from_err(&e, true)
}

fn study_name(cfg: &Config) -> String {
    match cfg.study(None) {
        Ok(Some((name, _))) => name.to_string(),
        _ => "default".into(),
    }
}

/// The settings of the configuration at `path` (front doors pass
/// [`super::resolve::Overrides::config_file`]; `None`: the OS default).
pub fn settings(path: Option<&Path>) -> Result<Settings, ApiError> {
    let cfg = config::load(path, true).map_err(cfg_err)?;
    let study = study_name(&cfg);
    let s = cfg.studies.get(&study);
    Ok(Settings {
        config: cfg.path.as_ref().map(|p| p.display().to_string()),
        study_destination: s.and_then(|s| s.destination.clone()),
        study_lookup: s.and_then(|s| s.lookup.as_ref().map(|p| p.display().to_string())),
        study,
        destinations: cfg
            .destinations
            .iter()
            .map(|(name, d)| NamedDestination {
                name: name.clone(),
                url: d.url.clone(),
            })
            .collect(),
        receiver_aet: cfg.receiver.aet.clone(),
        receiver_port: cfg.receiver.port,
        receiver_forward: cfg.receiver.forward.clone(),
        receiver_quiet_secs: cfg.receiver.quiet_period_secs,
        concurrency: cfg.delivery.concurrency,
        max_rate_bytes_per_sec: cfg.delivery.max_rate_bytes_per_sec,
    })
}

fn text(v: &str) -> Option<toml_edit::Value> {
    let v = v.trim();
    (!v.is_empty()).then(|| toml_edit::Value::from(v))
}

/// Applies a change to the configuration at `path` and returns the new settings. Values are
/// checked before anything is written (a URL with a password, a bad AE title, rate or name is
/// refused with the reason).
pub fn change(path: Option<&Path>, ch: &SettingsChange) -> Result<Settings, ApiError> {
    let cfg = config::load(path, true).map_err(cfg_err)?;
    let file = cfg.path.clone().ok_or_else(|| {
        ApiError::usage(
            "settings.no_file",
            "there is no configuration file to write",
        )
    })?;
    // every value of a change is written in one atomic edit of the file
    let set = |edits: &[config::Edit<'_>]| config::set_values(&file, edits).map_err(cfg_err);
    let study = study_name(&cfg);
    match ch {
        SettingsChange::SaveDestination { name, url } => {
            let ok_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok_name {
                return Err(ApiError::usage(
                    "settings.bad_name",
                    "a destination name uses letters, digits, '-' and '_' only",
                ));
            }
            // the form only (a secret comes later, from `login` or the environment); the
            // configuration's own check refuses a password in the URL
            let known = [
                "folder:",
                "xnat+http://",
                "xnat+https://",
                "dicom://",
                "dicomweb+http://",
                "dicomweb+https://",
                "ctp+http://",
                "ctp+https://",
            ];
            if !known.iter().any(|k| url.trim().starts_with(k)) {
                return Err(ApiError::usage(
                    "settings.bad_url",
                    "a destination is folder:PATH, xnat+https://…, dicom://AE@host:port, dicomweb+http(s)://… or ctp+http(s)://…",
                ));
            }
            set(&[(&["destinations", name], "url", text(url))])?;
        }
        SettingsChange::RemoveDestination { name } => {
            // with its TLS trust options: a table left without its url would not read back
            let t = ["destinations", name.as_str()];
            set(&[
                (&t, "url", None),
                (&t, "ca", None),
                (&t, "pin_sha256", None),
                (&t, "allow_plain_http", None),
            ])?;
        }
        SettingsChange::Study {
            destination,
            lookup,
        } => {
            let p = Path::new(lookup.trim());
            if !lookup.trim().is_empty() && !p.is_file() {
                return Err(ApiError::usage(
                    "settings.no_lookup",
                    format!("the lookup table {} does not exist", p.display()),
                ));
            }
            let table = ["studies", study.as_str()];
            set(&[
                (&table, "lookup", text(lookup)),
                (&table, "destination", text(destination)),
            ])?;
        }
        SettingsChange::Receiver {
            aet,
            port,
            forward,
            quiet_secs,
        } => {
            if !aet.trim().is_empty() && !crate::dimse::valid_ae(aet.trim()) {
                return Err(ApiError::usage(
                    "settings.bad_ae",
                    "the AE title must be 1 to 16 printable characters without a backslash",
                ));
            }
            let t: &[&str] = &["receiver"];
            set(&[
                (t, "aet", text(aet)),
                (
                    t,
                    "port",
                    (*port > 0).then(|| toml_edit::Value::from(i64::from(*port))),
                ),
                (t, "forward", text(forward)),
                (
                    t,
                    "quiet_period",
                    (*quiet_secs > 0)
                        .then(|| i64::try_from(*quiet_secs).ok())
                        .flatten()
                        .map(toml_edit::Value::from),
                ),
            ])?;
        }
        SettingsChange::Delivery {
            concurrency,
            max_rate,
        } => {
            if *concurrency > 64 {
                return Err(ApiError::usage(
                    "settings.concurrency",
                    "pieces in flight: 1 to 64",
                ));
            }
            if !max_rate.trim().is_empty() {
                crate::units::parse_rate(max_rate).map_err(|e| {
                    ApiError::usage("settings.max_rate", format!("bandwidth cap: {e}"))
                })?;
            }
            let t: &[&str] = &["delivery"];
            set(&[
                (
                    t,
                    "concurrency",
                    (*concurrency > 0).then(|| toml_edit::Value::from(i64::from(*concurrency))),
                ),
                (t, "max_rate", text(max_rate)),
            ])?;
        }
    }
    settings(Some(&file))
}

/// Checks that a destination (name or URL) answers and, for XNAT, that the user may write to
/// the project; says what it reached (no credentials), through which proxy and with which TLS
/// trust path. `o` names the configuration and carries the environment's proxy settings.
pub fn test_destination(
    o: &Overrides,
    dest: &str,
    home: &Path,
) -> Result<ConnectionReport, ApiError> {
    let cfg = config::load(o.config_file(), true).map_err(cfg_err)?;
    let network = o.network(&cfg);
    DestinationSpec::resolve(dest, &cfg)
        .and_then(|d| d.test_connection(&home.join("archive"), &network))
        .map_err(|e| {
            let usage = matches!(
                e,
                ArchiveError::BadDestination(_)
                    | ArchiveError::BadProxy { .. }
                    | ArchiveError::NoUser { .. }
                    | ArchiveError::NoSecret { .. }
                    | ArchiveError::PlainHttp { .. }
            );
            ApiError::from_err(&e, usage)
        })
}

/// Stores the secret for a destination (name or URL) in the OS keyring after checking it
/// (reaching the destination through the proxy in force).
pub fn login(
    o: &Overrides,
    dest: &str,
    secret: &str,
) -> Result<super::login::LoginSummary, ApiError> {
    let cfg = config::load(o.config_file(), true).map_err(cfg_err)?;
    super::login::login(&cfg, &o.network(&cfg), dest, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_written_kept_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("deposit.toml");
        std::fs::write(&file, "# our site\nuid_root = \"1.2.3\"\n").expect("write");
        let p = Some(file.as_path());
        let s = change(
            p,
            &SettingsChange::SaveDestination {
                name: "central".into(),
                url: "xnat+https://bob@xnat.example.org?project=P1".into(),
            },
        )
        .expect("save");
        assert_eq!(s.destinations.len(), 1);
        let s = change(
            p,
            &SettingsChange::Delivery {
                concurrency: 3,
                max_rate: "20MB/s".into(),
            },
        )
        .expect("delivery");
        assert_eq!(s.concurrency, Some(3));
        assert_eq!(s.max_rate_bytes_per_sec, Some(20_000_000));
        let s = change(
            p,
            &SettingsChange::Receiver {
                aet: "SITE_A".into(),
                port: 11113,
                forward: "central".into(),
                quiet_secs: 30,
            },
        )
        .expect("receiver");
        assert_eq!(s.receiver_aet.as_deref(), Some("SITE_A"));
        assert_eq!(s.receiver_quiet_secs, Some(30));
        let s = change(
            p,
            &SettingsChange::Study {
                destination: "central".into(),
                lookup: String::new(),
            },
        )
        .expect("study");
        assert_eq!(s.study, "default");
        assert_eq!(s.study_destination.as_deref(), Some("central"));
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(
            text.starts_with("# our site\nuid_root = \"1.2.3\""),
            "{text}"
        );
        // still used by the study and the receiver: refused, nothing changed
        let e = change(
            p,
            &SettingsChange::RemoveDestination {
                name: "central".into(),
            },
        )
        .expect_err("in use");
        assert_eq!(e.code, "config.invalid");
        change(
            p,
            &SettingsChange::Study {
                destination: "folder:/srv/archive".into(),
                lookup: String::new(),
            },
        )
        .expect("study to a URL");
        change(
            p,
            &SettingsChange::Receiver {
                aet: "SITE_A".into(),
                port: 11113,
                forward: String::new(),
                quiet_secs: 30,
            },
        )
        .expect("receiver without forwarding");
        let s = change(
            p,
            &SettingsChange::RemoveDestination {
                name: "central".into(),
            },
        )
        .expect("remove");
        assert!(s.destinations.is_empty());
        assert!(!std::fs::read_to_string(&file)
            .expect("read")
            .contains("[destinations.central]"));
    }

    #[test]
    fn bad_values_are_refused_before_writing() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("deposit.toml");
        let p = Some(file.as_path());
        let cases = [
            (
                SettingsChange::SaveDestination {
                    name: "a b".into(),
                    url: "folder:/x".into(),
                },
                "settings.bad_name",
            ),
            (
                SettingsChange::Receiver {
                    aet: "A\\\\B".into(),
                    port: 0,
                    forward: String::new(),
                    quiet_secs: 0,
                },
                "settings.bad_ae",
            ),
            (
                SettingsChange::Delivery {
                    concurrency: 2,
                    max_rate: "fast".into(),
                },
                "settings.max_rate",
            ),
            (
                SettingsChange::Study {
                    destination: String::new(),
                    lookup: "/no/such/table.csv".into(),
                },
                "settings.no_lookup",
            ),
        ];
        for (ch, code) in cases {
            assert_eq!(change(p, &ch).expect_err(code).code, code);
        }
        let e = change(
            p,
            &SettingsChange::SaveDestination {
                name: "x".into(),
                url: "xnat+https://bob:hunter2x@xnat.example.org?project=P".into(),
            },
        )
        .expect_err("a password in the URL");
        assert!(!e.message.contains("hunter2x"), "{}", e.message);
        assert!(!file.exists(), "nothing was written");
    }

    #[test]
    fn a_change_that_does_not_read_back_changes_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("deposit.toml");
        std::fs::write(&file, "[receiver]\naet = \"OLD\"\n").expect("write");
        // the AE title is fine, the forward names no destination: the whole change is refused
        let e = change(
            Some(file.as_path()),
            &SettingsChange::Receiver {
                aet: "NEW".into(),
                port: 104,
                forward: "nosuch".into(),
                quiet_secs: 10,
            },
        )
        .expect_err("unknown destination");
        assert_eq!(e.code, "config.invalid");
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            "[receiver]\naet = \"OLD\"\n"
        );
    }

    #[test]
    fn a_destination_is_removed_with_its_trust_options() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("deposit.toml");
        std::fs::write(
            &file,
            "[destinations.central]\nurl = \"ctp+https://h:1443\"\nca = \"ca.pem\"\n\
             pin_sha256 = \"{}\"\nallow_plain_http = true\n[destinations.other]\nurl = \"folder:\"\n"
                .replace("{}", &"ab".repeat(32)),
        )
        .expect("write");
        let s = change(
            Some(&file),
            &SettingsChange::RemoveDestination {
                name: "central".into(),
            },
        )
        .expect("removed");
        assert_eq!(s.destinations.len(), 1);
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(
            !text.contains("central") && !text.contains("pin_sha256"),
            "{text}"
        );
    }

    #[test]
    fn the_folder_archive_tests_reachable() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("deposit.toml");
        let o = Overrides {
            config: Some(file.clone()),
            ..Overrides::default()
        };
        let d = test_destination(&o, "folder:", dir.path()).expect("folder");
        assert!(d.description.starts_with("folder:"), "{d}");
        assert_eq!(d.proxy, "direct");
        assert_eq!(d.trust, None);
    }
}
