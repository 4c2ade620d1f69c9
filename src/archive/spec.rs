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

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::cstore::{CStore, CStoreUrl};
use super::ctp::{CtpHttp, CtpUrl};
use super::dicomweb::{DicomWeb, DicomWebUrl};
use super::folder::FolderArchive;
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

    /// A destination as a person gives it: a `[destinations]` name of `config`, else a URL.
    pub fn resolve(dest: &str, config: &Config) -> Result<Self, ArchiveError> {
        Self::parse(&config.destination_url(dest.trim()))
    }

    /// Opens the destination (reading the credentials of those that log in, once);
    /// `default_folder` is the data home's archive folder.
    pub fn open(&self, default_folder: &Path) -> Result<Box<dyn Destination>, ArchiveError> {
        Ok(match self {
            DestinationSpec::Folder(root) => Box::new(FolderArchive::new(
                root.clone().unwrap_or_else(|| default_folder.to_path_buf()),
            )),
            DestinationSpec::Xnat(u) => Box::new(XnatArchive::open(u.clone())?),
            DestinationSpec::CStore(u) => Box::new(CStore::new(u.clone())),
            DestinationSpec::DicomWeb(u) => Box::new(DicomWeb::new(u.clone())?),
            DestinationSpec::Ctp(u) => Box::new(CtpHttp::open(u.clone())?),
        })
    }

    /// The connection test: opens the destination and checks it answers (and, for XNAT, that
    /// the user may write to the project); returns its description. Failing to open it (a
    /// missing user or secret) is [`ArchiveError::BadDestination`].
    pub fn test_connection(&self, default_folder: &Path) -> Result<String, ArchiveError> {
        let d = self.open(default_folder)?;
        d.check()?;
        Ok(d.describe())
    }

    /// Logs in: checks `secret` with the destination (a destination that cannot be reached now
    /// is not a refusal) and stores it in the OS keyring, where [`Self::open`] finds it.
    pub fn login(&self, secret: &str) -> Result<Login, LoginError> {
        if secret.is_empty() {
            return Err(LoginError::EmptySecret);
        }
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
        let d: Box<dyn Destination> = match self {
            DestinationSpec::Ctp(u) => Box::new(
                CtpHttp::with_credentials(u.clone(), Some((user.clone(), secret.to_string())))
                    .map_err(LoginError::Refused)?,
            ),
            DestinationSpec::Xnat(u) => Box::new(
                XnatArchive::with_credentials(u.clone(), user.clone(), secret.to_string())
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
    fn login_is_for_destinations_with_a_user() {
        let e = DestinationSpec::Folder(None)
            .login("s")
            .expect_err("no login");
        assert!(e.is_usage() && e.code() == "login.usage", "{e}");
        let e = DestinationSpec::Folder(None).login("").expect_err("empty");
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
            .test_connection(dir.path())
            .expect("folder");
        assert!(d.starts_with("folder:"), "{d}");
    }
}
