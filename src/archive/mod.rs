//! Archive destinations behind one trait: XNAT, DICOM C-STORE, DICOMweb STOW-RS, CTP HTTP and the
//! embedded folder archive. A destination only receives bytes and answers; it knows nothing of
//! de-identification, intake or the queue.
//!
//! A study goes as [`Piece`]s (small groups of whole files), then one commit, then a
//! verification of what the archive holds against the local manifest of exactly the bytes sent.

pub mod credentials;
pub mod cstore;
pub mod ctp;
pub mod dicomweb;
pub mod folder;
pub mod http;
pub mod spec;
pub mod throttle;
pub mod xnat;

use std::sync::Arc;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::{Classify, ErrorClass};

pub use spec::DestinationSpec;

/// Where a study lands: labels that never carry original identity (pseudonyms and new UIDs).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyLabels {
    /// Project (XNAT project ID; a folder name in the folder archive).
    pub project: String,
    /// Subject label (the pseudonymous patient ID).
    pub subject: String,
    /// Session label (derived from the new Study Instance UID).
    pub session: String,
}

/// One de-identified file to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The de-identified bytes on disk (in the outbox).
    pub path: PathBuf,
    /// Scan (series) label inside the session.
    pub scan: String,
    /// File name inside the scan (from the new SOP Instance UID).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// MD5 of the bytes, lower-case hex.
    pub md5: String,
}

/// A group of whole files delivered in one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Piece {
    /// Where it goes.
    pub labels: StudyLabels,
    /// The files.
    pub items: Vec<Item>,
}

/// What a destination says about a delivered piece.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Files newly stored.
    pub stored: u64,
    /// Files the archive already held with identical bytes.
    pub already_present: u64,
}

/// Where a non-DICOM resource is attached in the archive (XNAT's levels).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The project.
    Project,
    /// The study's subject.
    Subject,
    /// The study's session (experiment).
    Session,
    /// One scan of the session.
    Scan,
}

impl Level {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Project => "project",
            Level::Subject => "subject",
            Level::Session => "session",
            Level::Scan => "scan",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "project" => Level::Project,
            "subject" => Level::Subject,
            "session" => Level::Session,
            "scan" => Level::Scan,
            _ => return None,
        })
    }
}

/// A non-DICOM file (NIfTI, document, derived data) delivered as a resource of a study.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Where it is attached.
    pub level: Level,
    /// The scan, for [`Level::Scan`].
    pub scan: Option<String>,
    /// Resource (folder) label, e.g. `NIFTI`.
    pub label: String,
    /// File name inside the resource.
    pub name: String,
    /// The bytes on disk (a copy in the outbox).
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// MD5 of the bytes, lower-case hex.
    pub md5: String,
}

/// Scan quality (QC) labels, XNAT's default set.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Fit for analysis.
    Usable,
    /// Doubtful.
    Questionable,
    /// Not fit for analysis.
    Unusable,
}

impl Quality {
    /// XNAT's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Usable => "usable",
            Quality::Questionable => "questionable",
            Quality::Unusable => "unusable",
        }
    }

    /// Parses XNAT's spelling.
    pub fn parse(s: &str) -> Option<Quality> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "usable" => Quality::Usable,
            "questionable" => Quality::Questionable,
            "unusable" => Quality::Unusable,
            _ => return None,
        })
    }
}

/// Outcome of comparing the archive's holdings with the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Files expected.
    pub expected: u64,
    /// Files present with the expected size and digest.
    pub matched: u64,
    /// Names of files missing or different (new identifiers only).
    pub problems: Vec<String>,
    /// Where the study is in the archive.
    pub uri: String,
}

impl Verification {
    /// True when every expected file is present and identical.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.matched == self.expected
    }
}

/// Destination failures, classified for the queue.
#[derive(Debug, Error)]
pub enum ArchiveError {
    /// The destination cannot be reached now (network down, server away): retry later.
    #[error("{destination} is not reachable: {detail}")]
    Unreachable {
        /// Destination, without credentials.
        destination: String,
        /// What failed.
        detail: String,
    },
    /// The destination refused the data for good (permissions, bad request).
    #[error("{destination} refused the data: {detail}")]
    Rejected {
        /// Destination, without credentials.
        destination: String,
        /// What it said.
        detail: String,
    },
    /// A local file to send could not be read.
    #[error("cannot read the outbox file {path}: {source}")]
    ReadOutbox {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing into the destination failed (disk full, permissions).
    #[error("cannot write {path} in the archive: {source}")]
    Write {
        /// The file in the archive.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A label would escape its folder or is not usable as a name.
    #[error("label '{label}' is not usable as an archive name")]
    BadLabel {
        /// The (pseudonymous) label.
        label: String,
    },
    /// The destination URL is not understood.
    #[error("unknown destination '{0}': use folder:PATH, xnat+https://…, dicom://AE@host:port, dicomweb+http(s)://… or ctp+http(s)://…")]
    BadDestination(String),
}

impl Classify for ArchiveError {
    fn code(&self) -> &'static str {
        match self {
            ArchiveError::Unreachable { .. } => "archive.unreachable",
            ArchiveError::Rejected { .. } => "archive.rejected",
            ArchiveError::ReadOutbox { .. } => "archive.read_outbox",
            ArchiveError::Write { .. } => "archive.write",
            ArchiveError::BadLabel { .. } => "archive.bad_label",
            ArchiveError::BadDestination(_) => "archive.bad_destination",
        }
    }
    fn class(&self) -> ErrorClass {
        match self {
            ArchiveError::Unreachable { .. } | ArchiveError::Write { .. } => ErrorClass::Transient,
            _ => ErrorClass::Permanent,
        }
    }
}

/// A place studies are delivered to.
pub trait Destination: Send + Sync {
    /// Human-readable name without credentials (for progress, audit and errors).
    fn describe(&self) -> String;
    /// The project the destination itself names (XNAT's `?project=`), overriding the default.
    fn project(&self) -> Option<String> {
        None
    }
    /// Cheap check that the destination is reachable and writable.
    fn check(&self) -> Result<(), ArchiveError>;
    /// Delivers one piece; must be idempotent (re-sending identical bytes is harmless).
    fn put(&self, piece: &Piece) -> Result<Receipt, ArchiveError>;
    /// Makes a study's delivered pieces final; returns the archive URI.
    fn commit(&self, labels: &StudyLabels) -> Result<String, ArchiveError>;
    /// Compares the archive's holdings for a study with what was sent.
    fn verify(&self, labels: &StudyLabels, items: &[Item]) -> Result<Verification, ArchiveError>;

    /// Cheap reachability probe used while waiting for an offline destination to return.
    fn probe(&self) -> Result<(), ArchiveError> {
        self.check()
    }

    /// Takes the run's bandwidth cap for its upload bodies; `false` when the destination cannot
    /// meter its bodies (the queue then meters whole pieces).
    fn limit_rate(&self, _throttle: &Arc<throttle::Throttle>) -> bool {
        false
    }

    /// How `verify` checks delivery, in words (for the audit record).
    fn verification_method(&self) -> &'static str {
        "archive listing compared with the manifest (count, sizes, MD5)"
    }

    /// Uploads a non-DICOM resource of a committed study and checks it arrived (size, MD5);
    /// returns its URI.
    fn put_resource(&self, _labels: &StudyLabels, _res: &Resource) -> Result<String, ArchiveError> {
        Err(ArchiveError::Rejected {
            destination: self.describe(),
            detail: "this destination takes DICOM only; non-DICOM resources need XNAT".into(),
        })
    }

    /// Sets a scan's QC status in a committed study and checks the archive shows it.
    fn set_scan_quality(
        &self,
        _labels: &StudyLabels,
        _scan: &str,
        _quality: Quality,
    ) -> Result<(), ArchiveError> {
        Err(ArchiveError::Rejected {
            destination: self.describe(),
            detail: "this destination has no scan QC status; that needs XNAT".into(),
        })
    }
}

/// A destination string without any `user:password@` part.
pub fn redact(dest: &str) -> String {
    match (dest.find("://"), dest.find('@')) {
        (Some(s), Some(a)) if a > s => format!("{}{}", &dest[..s + 3], &dest[a + 1..]),
        _ => dest.to_string(),
    }
}

/// MD5 of a byte slice as lower-case hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact("xnat+https://bob:secret@host/x?project=P"),
            "xnat+https://host/x?project=P"
        );
        assert_eq!(redact("folder:/tmp/a@b"), "folder:/tmp/a@b");
    }
}
