//! The data home (`DEPOSIT_HOME`): where the catalog, quarantine, outbox, archive, logs and site key live.
//!
//! Everything is created owner-only (0700 folders, 0600 files): the catalog holds original
//! identities and the site key derives every pseudonym.

use std::fs;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::error::{Classify, ErrorClass};

/// Failures opening or preparing the data home.
#[derive(Debug, Error)]
pub enum HomeError {
    /// No `DEPOSIT_HOME` and no OS data directory could be determined.
    #[error("no data directory: set DEPOSIT_HOME to a folder Deposit may use")]
    NoDataDir,
    /// A folder or file of the data home could not be created or secured.
    #[error("cannot prepare the data home at {path}: {source}")]
    Prepare {
        /// The folder or file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The site key exists but is not 32 bytes.
    #[error("the site key at {path} is damaged (expected 32 bytes); restore it from backup")]
    BadKey {
        /// Path of the key file.
        path: PathBuf,
    },
}

impl Classify for HomeError {
    fn code(&self) -> &'static str {
        match self {
            HomeError::NoDataDir => "home.no_data_dir",
            HomeError::Prepare { .. } => "home.prepare",
            HomeError::BadKey { .. } => "home.bad_key",
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// An opened data home with its well-known sub-folders created.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

/// Sub-folders of the data home, created on open.
pub const SUBDIRS: [&str; 5] = ["quarantine", "outbox", "archive", "logs", "tmp"];

impl Home {
    /// Resolves the data home: `explicit` (what the front door was told, e.g. `DEPOSIT_HOME`)
    /// if given, else the OS data directory. This module reads no environment variable.
    pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf, HomeError> {
        if let Some(p) = explicit {
            return Ok(p.to_path_buf());
        }
        crate::platform::data_home().ok_or(HomeError::NoDataDir)
    }

    /// Opens (creating if needed) the data home at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, HomeError> {
        let root = root.into();
        create_private_dir(&root)?;
        for sub in SUBDIRS {
            create_private_dir(&root.join(sub))?;
        }
        Ok(Home { root })
    }

    /// The data home folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of the SQLite catalog.
    pub fn catalog_path(&self) -> PathBuf {
        self.root.join("catalog.sqlite")
    }

    /// A sub-folder by name (one of [`SUBDIRS`]).
    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The 32-byte site key, created from OS randomness on first use (owner-only).
    pub fn site_key(&self) -> Result<[u8; 32], HomeError> {
        let path = self.root.join("site.key");
        match fs::read(&path) {
            Ok(bytes) => bytes
                .try_into()
                .map_err(|_| HomeError::BadKey { path: path.clone() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| HomeError::Prepare {
                    path: path.clone(),
                    source: std::io::Error::other(e.to_string()),
                })?;
                write_private_file(&path, &key)?;
                Ok(key)
            }
            Err(source) => Err(HomeError::Prepare { path, source }),
        }
    }
}

fn create_private_dir(path: &Path) -> Result<(), HomeError> {
    let prep = |source| HomeError::Prepare {
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(path).map_err(prep)?;
    set_mode(path, 0o700).map_err(prep)
}

/// Writes `bytes` to `path` atomically (temp file + rename, fsync of the file and its folder)
/// with owner-only permissions.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), HomeError> {
    crate::durable::replace_private(path, bytes).map_err(|source| HomeError::Prepare {
        path: path.to_path_buf(),
        source,
    })
}

/// Sets Unix permission bits; elsewhere an owner-only `mode` (no group or other bits) makes
/// the path owner-only ([`crate::platform::restrict_to_owner`]: an ACL on Windows).
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        if mode & 0o077 == 0 {
            crate::platform::restrict_to_owner(path)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_owner_only_and_key_is_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home::open(dir.path().join("h")).expect("open");
        let k1 = home.site_key().expect("key");
        let k2 = home.site_key().expect("key again");
        assert_eq!(k1, k2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = fs::metadata(home.root())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(m & 0o777, 0o700);
            let m = fs::metadata(home.root().join("site.key"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(m & 0o777, 0o600);
        }
    }

    #[test]
    fn damaged_key_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home::open(dir.path()).expect("open");
        fs::write(home.root().join("site.key"), b"short").expect("write");
        assert!(matches!(home.site_key(), Err(HomeError::BadKey { .. })));
    }
}
