//! A destination as a typed spec: parsed once, by one parser, from a `[destinations]` name of
//! `deposit.toml` or a URL; displayed without any secret; opened once per operation (credentials
//! looked up once); and able to log in (store a checked secret) and test its connection.
//!
//! The URL forms:
//! - `folder:PATH` — the folder archive at PATH; `folder:`, `folder` or `archive` — the one in
//!   the data home;
//! - `xnat+http(s)://[USER@]host[:port][/context]?project=ID[&timeout=S][&heartbeat=S]`;
//! - `dicom://CALLED_AE@host:port[?calling=AE]` (C-STORE);
//! - `dicomweb+http(s)://host[:port]/base` (STOW-RS);
//! - `ctp+http(s)://[USER@]host:port[/path][?timeout=S]` (CTP HttpImportService).
//!
//! A URL never holds a secret (the parsers refuse one), so the displayed form is also the form
//! the queue stores and reopens.
//!
//! The TLS trust options of a configured destination ([`Trust`]: `ca`, `pin_sha256`,
//! `allow_plain_http`) travel with the spec but not in its URL: [`DestinationSpec::resolve`]
//! attaches those of the `[destinations]` entry with the same URL, whether it was given by name
//! or by URL (also when the queue reopens a stored job by its URL).

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::cstore::{CStore, CStoreUrl};
use super::ctp::{CtpHttp, CtpUrl};
use super::dicomweb::{DicomWeb, DicomWebUrl};
use super::folder::FolderArchive;
use super::proxy::{Network, ProxyRoute};
use super::tls::{Presented, Trust};
use super::xnat::{url::XnatUrl, XnatArchive};
use super::{credentials, redact, ArchiveError, Destination};
use crate::config::Config;
use crate::error::{Classify, ErrorClass};

/// Where studies go, with its validated parts (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum DestinationSpec {
    /// The folder archive: at a path, or (`None`) the one in the data home.
    Folder(Option<PathBuf>),
    /// An XNAT site and project.
    Xnat(XnatUrl),
    /// A DICOM C-STORE SCP.
    CStore(CStoreUrl),
    /// A DICOMweb STOW-RS origin server.
    DicomWeb(DicomWebUrl),
    /// A central CTP's HttpImportService.
    Ctp(CtpUrl),
}

impl DestinationSpec {
    /// Parses a destination URL (the forms in the module documentation).
    pub fn parse(dest: &str) -> Result<Self, ArchiveError> {
        if let Some(path) = dest.strip_prefix("folder:") {
            return Ok(DestinationSpec::Folder(
                (!path.is_empty()).then(|| PathBuf::from(path)),
            ));
        }
        if let Some(url) = XnatUrl::parse(dest) {
            return Ok(DestinationSpec::Xnat(url?));
        }
        if dest == "archive" || dest == "folder" {
            return Ok(DestinationSpec::Folder(None));
        }
        if dest.starts_with("dicom://") {
            return Ok(DestinationSpec::CStore(CStoreUrl::parse(dest)?));
        }
        if dest.starts_with("dicomweb+http://") || dest.starts_with("dicomweb+https://") {
            return Ok(DestinationSpec::DicomWeb(DicomWebUrl::parse(dest)?));
        }
        if let Some(url) = CtpUrl::parse(dest) {
            return Ok(DestinationSpec::Ctp(url?));
        }
        Err(ArchiveError::BadDestination(redact(dest)))
    }

    /// A destination as a person gives it: a `[destinations]` name of `config`, else a URL; with
    /// the trust options of the configured destination it is (by name, else by the same URL).
    pub fn resolve(dest: &str, config: &Config) -> Result<Self, ArchiveError> {
        let dest = dest.trim();
        let spec = Self::parse(&config.destination_url(dest))?;
        if let Some(d) = config.destinations.get(dest) {
            return Ok(spec.with_trust(Trust::from_config(dest, d)));
        }
        let url = spec.to_string();
        let same = |a: &str, b: &str| Self::parse(a).is_ok_and(|s| s.to_string() == b);
        Ok(match config.destination_by_url(&url, same) {
            Some((name, d)) => spec.with_trust(Trust::from_config(name, d)),
            None => spec,
        })
    }

    /// The spec with these TLS trust options (HTTP destinations; others have none).
    pub fn with_trust(mut self, trust: Trust) -> Self {
        match &mut self {
            DestinationSpec::Xnat(u) => u.trust = trust,
            DestinationSpec::Ctp(u) => u.trust = trust,
            DestinationSpec::DicomWeb(u) => u.trust = trust,
            DestinationSpec::Folder(_) | DestinationSpec::CStore(_) => {}
        }
        self
    }

    /// The TLS trust options of an HTTP destination.
    pub fn trust(&self) -> Option<&Trust> {
        match self {
            DestinationSpec::Xnat(u) => Some(&u.trust),
            DestinationSpec::Ctp(u) => Some(&u.trust),
            DestinationSpec::DicomWeb(u) => Some(&u.trust),
            DestinationSpec::Folder(_) | DestinationSpec::CStore(_) => None,
        }
    }

    /// An HTTP destination's scheme, host and the URL a connection check may GET.
    fn http_origin(&self) -> Option<(&str, &str, String)> {
        match self {
            DestinationSpec::Xnat(u) => Some((u.scheme.as_str(), u.host.as_str(), u.base())),
            DestinationSpec::Ctp(u) => Some((u.scheme.as_str(), u.host.as_str(), u.endpoint())),
            DestinationSpec::DicomWeb(u) => {
                let (scheme, host) = u.scheme_host();
                Some((scheme, host, u.base.clone()))
            }
            DestinationSpec::Folder(_) | DestinationSpec::CStore(_) => None,
        }
    }

    /// Refuses plain HTTP beyond this computer unless the destination allows it.
    fn check_transport(&self) -> Result<(), ArchiveError> {
        match (self.http_origin(), self.trust()) {
            (Some((scheme, host, _)), Some(trust)) => {
                trust.check_plain_http(scheme, host, &self.to_string())
            }
            _ => Ok(()),
        }
    }

    /// The certificate an HTTPS destination's server presents (whatever its trust), and whether
    /// the destination's trust accepts it: what a person confirms before pinning it.
    pub fn certificate(&self, network: &Network) -> Result<Presented, ArchiveError> {
        let describe = self.to_string();
        let (Some((scheme, _, url)), Some(trust)) = (self.http_origin(), self.trust()) else {
            return Err(ArchiveError::Rejected {
                destination: describe,
                detail: "only an HTTPS destination has a certificate".into(),
            });
        };
        if scheme != "https" {
            return Err(ArchiveError::Rejected {
                destination: describe,
                detail: "plain HTTP: there is no certificate".into(),
            });
        }
        let route = self.route(network)?;
        super::tls::presented(&url, trust, &route).map_err(|e| e.into_archive(describe))
    }

    /// Opens the destination (reading the credentials of those that log in, once);
    /// `default_folder` is the data home's archive folder; HTTP destinations are reached
    /// directly or through the proxy `network` chooses for them.
    pub fn open(
        &self,
        default_folder: &Path,
        network: &Network,
    ) -> Result<Box<dyn Destination>, ArchiveError> {
        self.check_transport()?;
        let route = self.route(network)?;
        Ok(match self {
            DestinationSpec::Folder(root) => Box::new(FolderArchive::new(
                root.clone().unwrap_or_else(|| default_folder.to_path_buf()),
            )),
            DestinationSpec::Xnat(u) => Box::new(XnatArchive::open(u.clone(), &route)?),
            DestinationSpec::CStore(u) => Box::new(CStore::new(u.clone())),
            DestinationSpec::DicomWeb(u) => Box::new(DicomWeb::new(u.clone(), &route)?),
            DestinationSpec::Ctp(u) => Box::new(CtpHttp::open(u.clone(), &route)?),
        })
    }

    /// Opens the destination to read back what it holds (XNAT and the folder archive; the
    /// others cannot list their holdings that way).
    pub fn open_browse(
        &self,
        default_folder: &Path,
        network: &Network,
    ) -> Result<Box<dyn super::browse::Browse>, ArchiveError> {
        self.check_transport()?;
        let route = self.route(network)?;
        Ok(match self {
            DestinationSpec::Folder(root) => Box::new(FolderArchive::new(
                root.clone().unwrap_or_else(|| default_folder.to_path_buf()),
            )),
            DestinationSpec::Xnat(u) => Box::new(XnatArchive::open(u.clone(), &route)?),
            _ => {
                return Err(ArchiveError::Rejected {
                    destination: self.to_string(),
                    detail: "only an XNAT destination or a folder archive can be browsed and \
                             downloaded from"
                        .into(),
                })
            }
        })
    }

    /// How the destination is reached: for HTTP destinations, the proxy `network` chooses for
    /// its scheme and host (or direct); every other destination directly. A proxy setting that
    /// cannot be used is [`ArchiveError::BadProxy`].
    pub fn route(&self, network: &Network) -> Result<ProxyRoute, ArchiveError> {
        let (https, host, port) = match self {
            DestinationSpec::Xnat(u) => {
                let https = u.scheme == "https";
                (
                    https,
                    u.host.clone(),
                    u.port.unwrap_or(if https { 443 } else { 80 }),
                )
            }
            DestinationSpec::Ctp(u) => (u.scheme == "https", u.host.clone(), u.port),
            DestinationSpec::DicomWeb(u) => {
                // not understood here: never silently around a proxy the network requires
                let Ok(uri) = u.base.parse::<http::Uri>() else {
                    return Err(ArchiveError::BadDestination(self.to_string()));
                };
                let https = uri.scheme_str() == Some("https");
                let host = uri
                    .host()
                    .unwrap_or_default()
                    .trim_matches(['[', ']'])
                    .to_string();
                (
                    https,
                    host,
                    uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
                )
            }
            DestinationSpec::Folder(_) | DestinationSpec::CStore(_) => {
                return Ok(ProxyRoute::direct())
            }
        };
        network
            .route(https, &host, port)
            .map_err(|source| ArchiveError::BadProxy {
                destination: self.to_string(),
                source,
            })
    }

    /// The connection test: opens the destination and checks it answers (and, for XNAT, that
    /// the user may write to the project); says what answered, how (which proxy) and which
    /// trust path was used. Failing to open it (a missing user or secret) is
    /// [`ArchiveError::NoUser`] or [`ArchiveError::NoSecret`].
    pub fn test_connection(
        &self,
        default_folder: &Path,
        network: &Network,
    ) -> Result<ConnectionReport, ArchiveError> {
        let route = self.route(network)?;
        let d = self.open(default_folder, network)?;
        d.check()?;
        let tls = matches!(self.http_origin(), Some(("https", _, _)));
        Ok(ConnectionReport {
            description: d.describe(),
            proxy: route.describe(),
            trust: self.trust().filter(|_| tls).map(Trust::describe),
        })
    }

    /// Logs in: checks `secret` with the destination (a destination that cannot be reached now
    /// is not a refusal; it is reached as `network` says) and stores it in the OS keyring,
    /// where [`Self::open`] finds it.
    pub fn login(&self, secret: &str, network: &Network) -> Result<Login, LoginError> {
        if secret.is_empty() {
            return Err(LoginError::EmptySecret);
        }
        self.check_transport().map_err(LoginError::Refused)?;
        let describe = self.to_string();
        let (url_user, host, port) = match self {
            DestinationSpec::Xnat(u) => (u.user.as_deref(), u.host.as_str(), u.port),
            DestinationSpec::Ctp(u) => (u.user.as_deref(), u.host.as_str(), Some(u.port)),
            _ => return Err(LoginError::NoLogin(describe)),
        };
        let user = credentials::user(url_user, host).ok_or_else(|| LoginError::NoUser {
            destination: describe.clone(),
            host: host.to_string(),
        })?;
        let route = self.route(network).map_err(LoginError::Refused)?;
        let d: Box<dyn Destination> = match self {
            DestinationSpec::Ctp(u) => Box::new(
                CtpHttp::with_credentials(
                    u.clone(),
                    Some((user.clone(), secret.to_string())),
                    &route,
                )
                .map_err(LoginError::Refused)?,
            ),
            DestinationSpec::Xnat(u) => Box::new(
                XnatArchive::with_credentials(u.clone(), user.clone(), secret.to_string(), &route)
                    .map_err(LoginError::Refused)?,
            ),
            _ => return Err(LoginError::NoLogin(describe)),
        };
        let checked = match d.check() {
            Ok(()) => true,
            Err(e) if e.class() == ErrorClass::Transient => {
                tracing::warn!(
                    code = e.code(),
                    "the destination could not be reached to check the secret; storing it anyway"
                );
                false
            }
            Err(e) => return Err(LoginError::Refused(e)),
        };
        credentials::store(&user, host, port, secret).map_err(LoginError::Keyring)?;
        Ok(Login {
            destination: describe,
            account: credentials::account(&user, host, port),
            user,
            checked,
        })
    }
}

impl fmt::Display for DestinationSpec {
    /// The destination URL without any secret (there is none to hide), reparseable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestinationSpec::Folder(Some(p)) => write!(f, "folder:{}", p.display()),
            DestinationSpec::Folder(None) => f.write_str("folder:"),
            DestinationSpec::Xnat(u) => f.write_str(&u.describe()),
            DestinationSpec::CStore(u) => f.write_str(&u.describe()),
            DestinationSpec::DicomWeb(u) => f.write_str(&u.describe()),
            DestinationSpec::Ctp(u) => f.write_str(&u.describe()),
        }
    }
}

impl From<DestinationSpec> for String {
    fn from(d: DestinationSpec) -> String {
        d.to_string()
    }
}

impl TryFrom<String> for DestinationSpec {
    type Error = ArchiveError;
    fn try_from(s: String) -> Result<Self, ArchiveError> {
        DestinationSpec::parse(&s)
    }
}

impl std::str::FromStr for DestinationSpec {
    type Err = ArchiveError;
    fn from_str(s: &str) -> Result<Self, ArchiveError> {
        DestinationSpec::parse(s)
    }
}

/// What a connection test found.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionReport {
    /// The destination reached (no secret).
    pub description: String,
    /// How: "via proxy host:port (from: config|environment|system)" or "direct".
    pub proxy: String,
    /// The TLS trust path used ([`Trust::describe`]); `None` without TLS.
    pub trust: Option<String>,
}

impl fmt::Display for ConnectionReport {
    /// The destination, the route, and the trust path when there is TLS.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.description, self.proxy)?;
        if let Some(t) = &self.trust {
            write!(f, "; TLS: {t}")?;
        }
        f.write_str(")")
    }
}

/// What a login did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The destination (no secret).
    pub destination: String,
    /// The user the secret belongs to.
    pub user: String,
    /// The keyring entry (`user@host[:port]`).
    pub account: String,
    /// The destination accepted the credentials (false: it could not be reached to check).
    pub checked: bool,
}

/// Login failures.
#[derive(Debug, Error)]
pub enum LoginError {
    /// No secret.
    #[error("an empty secret was given")]
    EmptySecret,
    /// The destination takes no user and secret.
    #[error(
        "'{0}': login is for destinations that take a user and secret (xnat+http(s)://USER@… \
         or ctp+http(s)://USER@…)"
    )]
    NoLogin(String),
    /// No user in the URL nor in `~/.netrc`.
    #[error("{destination}: no user; write it before the host (USER@{host}) or in ~/.netrc")]
    NoUser {
        /// The destination (no secret).
        destination: String,
        /// Its host.
        host: String,
    },
    /// The destination refused the credentials.
    #[error(transparent)]
    Refused(ArchiveError),
    /// The OS keyring could not store the secret.
    #[error(transparent)]
    Keyring(credentials::CredentialError),
}

impl LoginError {
    /// True when the person asked for something login cannot do (CLI exit status 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            LoginError::EmptySecret | LoginError::NoLogin(_) | LoginError::NoUser { .. }
        )
    }
}

impl Classify for LoginError {
    fn code(&self) -> &'static str {
        match self {
            LoginError::EmptySecret | LoginError::NoLogin(_) | LoginError::NoUser { .. } => {
                "login.usage"
            }
            LoginError::Refused(e) => e.code(),
            LoginError::Keyring(e) => e.code(),
        }
    }
    fn class(&self) -> ErrorClass {
        match self {
            LoginError::Refused(e) => e.class(),
            LoginError::Keyring(e) => e.class(),
            _ => ErrorClass::Permanent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_displays_it_again() {
        for url in [
            "folder:/tmp/a@b",
            "folder:",
            "xnat+https://bob@xnat.example.org:8443/xnat?project=P_1&timeout=5",
            "dicom://PACS@127.0.0.1:104?calling=ME",
            "dicomweb+http://127.0.0.1:8042/dicom-web",
            "ctp+https://site1@central.example.org:1443/import?timeout=9",
        ] {
            let d = DestinationSpec::parse(url).expect(url);
            assert_eq!(d.to_string(), url);
            assert_eq!(DestinationSpec::parse(&d.to_string()).expect("again"), d);
        }
        for default in ["archive", "folder"] {
            assert_eq!(
                DestinationSpec::parse(default).expect(default),
                DestinationSpec::Folder(None)
            );
        }
    }

    #[test]
    fn refuses_unknown_forms_and_secrets_without_echoing_them() {
        for bad in [
            "nowhere",
            "ftp://x",
            "xnat+https://bob:hunter2@h?project=P",
            "ctp+http://u:hunter2@h:1",
            "dicomweb+http://u:hunter2@h/y",
        ] {
            let e = DestinationSpec::parse(bad).expect_err(bad);
            assert_eq!(e.code(), "archive.bad_destination");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn names_resolve_through_the_configuration() {
        let cfg = crate::config::parse(
            "[destinations.central]\nurl = \"xnat+https://xnat.example.org?project=T1\"\n",
            Path::new("/x/deposit.toml"),
        )
        .expect("config");
        let d = DestinationSpec::resolve(" central ", &cfg).expect("named");
        assert!(matches!(&d, DestinationSpec::Xnat(u) if u.project == "T1"));
        assert_eq!(
            DestinationSpec::resolve("folder:/a", &cfg).expect("url"),
            DestinationSpec::Folder(Some("/a".into()))
        );
        let e = DestinationSpec::resolve("elsewhere", &cfg).expect_err("unknown name");
        assert_eq!(e.code(), "archive.bad_destination");
    }

    #[test]
    fn trust_options_follow_the_configured_destination_by_name_and_by_url() {
        let cfg = crate::config::parse(
            "[destinations.central]\nurl = \"ctp+https://central.example.org:1443\"\n\
             ca = \"ca.pem\"\n[destinations.lab]\nurl = \"ctp+http://10.0.0.5:1080/\"\n\
             allow_plain_http = true\n",
            Path::new("/x/deposit.toml"),
        )
        .expect("config");
        for given in ["central", "ctp+https://central.example.org:1443"] {
            let d = DestinationSpec::resolve(given, &cfg).expect(given);
            let t = d.trust().expect("http");
            assert_eq!(t.name.as_deref(), Some("central"), "{given}");
            assert_eq!(t.ca.as_deref(), Some(Path::new("/x/ca.pem")), "{given}");
            assert_eq!(d.to_string(), "ctp+https://central.example.org:1443");
        }
        // the same URL written differently (a trailing slash) is the same destination
        let lab = DestinationSpec::resolve("ctp+http://10.0.0.5:1080", &cfg).expect("lab");
        assert!(lab.trust().expect("http").allow_plain_http);
        let other = DestinationSpec::resolve("ctp+https://elsewhere:1443", &cfg).expect("url");
        assert_eq!(other.trust(), Some(&Trust::default()));
    }

    #[test]
    fn plain_http_to_another_computer_is_refused_unless_allowed() {
        let dir = tempfile::tempdir().expect("dir");
        let cfg = crate::config::parse(
            "[destinations.lab]\nurl = \"dicomweb+http://10.0.0.5:8042/dw\"\n\
             allow_plain_http = true\n",
            Path::new("/x/deposit.toml"),
        )
        .expect("config");
        for url in [
            "ctp+http://10.0.0.5:1080",
            "xnat+http://xnat.example.org?project=P",
            "dicomweb+http://[fe80::1]:8042/dw",
        ] {
            let d = DestinationSpec::resolve(url, &cfg).expect(url);
            let e = d.open(dir.path(), &Network::default()).err().expect(url);
            assert_eq!(e.code(), "archive.plain_http", "{url}");
            assert!(e.to_string().contains("allow_plain_http = true"), "{e}");
            let e = d
                .test_connection(dir.path(), &Network::default())
                .expect_err(url);
            assert_eq!(e.code(), "archive.plain_http", "{url}");
        }
        // loopback, and a destination that allows it, open (nothing is contacted yet)
        for url in [
            "ctp+http://127.0.0.1:1080",
            "ctp+http://localhost:1080",
            "dicomweb+http://[::1]:8042/dw",
            "lab",
        ] {
            let d = DestinationSpec::resolve(url, &cfg).expect(url);
            assert!(d.open(dir.path(), &Network::default()).is_ok(), "{url}");
        }
    }

    #[test]
    fn login_is_for_destinations_with_a_user() {
        let net = Network::default();
        let e = DestinationSpec::Folder(None)
            .login("s", &net)
            .expect_err("no login");
        assert!(e.is_usage() && e.code() == "login.usage", "{e}");
        let e = DestinationSpec::Folder(None)
            .login("", &net)
            .expect_err("empty");
        assert!(matches!(e, LoginError::EmptySecret));
    }

    #[test]
    fn serialises_as_its_url() {
        let d = DestinationSpec::parse("dicom://PACS@h:104").expect("parse");
        let j = serde_json::to_string(&d).expect("json");
        assert_eq!(j, "\"dicom://PACS@h:104\"");
        let back: DestinationSpec = serde_json::from_str(&j).expect("back");
        assert_eq!(back, d);
    }

    #[test]
    fn the_folder_archive_tests_its_connection() {
        let dir = tempfile::tempdir().expect("dir");
        let d = DestinationSpec::Folder(None)
            .test_connection(dir.path(), &Network::default())
            .expect("folder");
        assert!(d.description.starts_with("folder:"), "{d}");
        assert_eq!(d.proxy, "direct");
        assert_eq!(d.trust, None);
    }

    #[test]
    fn http_destinations_are_routed_by_scheme_and_host() {
        let net = Network {
            no_system: true,
            ..Network::new(
                Some("http://proxy.example.org:3128".into()),
                Some(".internal".into()),
                Default::default(),
            )
        };
        for (url, via) in [
            ("xnat+https://x.example.org?project=P", true),
            ("ctp+http://central.internal:1080", false),
            ("dicomweb+http://[::1]:8042/dicom-web", true),
            ("dicom://PACS@pacs.example.org:104", false),
        ] {
            let r = DestinationSpec::parse(url)
                .expect(url)
                .route(&net)
                .expect(url);
            assert_eq!(r.proxy.is_some(), via, "{url}: {r:?}");
        }
    }
}
