//! Archive destinations behind one trait: XNAT, DICOM C-STORE, DICOMweb STOW-RS, CTP HTTP and the
//! embedded folder archive. A destination only receives bytes and answers; it knows nothing of
//! de-identification, intake or the queue.
//!
//! A study goes as [`Piece`]s (small groups of whole files), then one commit, then a
//! verification of what the archive holds against the local manifest of exactly the bytes sent.

pub mod browse;
pub mod credentials;
pub mod cstore;
pub mod ctp;
pub mod dicomweb;
pub mod folder;
pub mod http;
pub mod proxy;
pub mod spec;
pub mod throttle;
pub mod tls;
pub mod xnat;

use std::sync::Arc;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::{Classify, ErrorClass};

pub use spec::{ConnectionReport, DestinationSpec};

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

impl Item {
    /// The SOP Instance UID the file is named after (its name without `.dcm`).
    pub fn sop_uid(&self) -> &str {
        self.name.strip_suffix(".dcm").unwrap_or(&self.name)
    }
}

/// How the destination answered for one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Newly stored.
    Stored,
    /// The destination already held it.
    AlreadyPresent,
}

/// Where a destination reports each object's acknowledgement as it arrives (a CTP `OK`, a
/// C-STORE status, a STOW-RS per-instance result), so that a retry re-sends only what was not
/// acknowledged. [`Acks::ack`] returns once the acknowledgement is recorded durably; an error
/// there stops the piece.
pub trait Acks: Sync {
    /// Records that the destination acknowledged `item`.
    fn ack(&self, item: &Item, ack: Ack) -> Result<(), ArchiveError>;
}

/// Acknowledgements nobody records (a piece sent outside the queue).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAcks;

impl Acks for NoAcks {
    fn ack(&self, _item: &Item, _ack: Ack) -> Result<(), ArchiveError> {
        Ok(())
    }
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
    /// Reading the folder archive back failed.
    #[error("cannot read {path} in the archive: {source}")]
    ReadArchive {
        /// The file or folder in the archive.
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
    /// An acknowledgement could not be recorded (the data home's database failed).
    #[error("cannot record the delivery of {item}: {detail}")]
    Record {
        /// The object (its new SOP Instance UID).
        item: String,
        /// What failed.
        detail: String,
    },
    /// A destination that logs in names no user.
    #[error("no user name for {destination}: write it before the host (USER@{host}) or add a ~/.netrc entry for {host}")]
    NoUser {
        /// Destination, without credentials.
        destination: String,
        /// Its host.
        host: String,
    },
    /// No secret is stored for the destination's user.
    #[error("no password or token is stored for user '{user}' at {host} ({destination}): store it with `deposit login {destination}` (kept in the OS keyring) or from the window's destination settings; or set DEPOSIT_PASSWORD, or add a ~/.netrc entry for {host}")]
    NoSecret {
        /// Destination, without credentials.
        destination: String,
        /// The user name.
        user: String,
        /// Its host.
        host: String,
    },
    /// The destination URL is not understood.
    #[error("unknown destination '{0}': use folder:PATH, xnat+https://…, dicom://AE@host:port, dicomweb+http(s)://… or ctp+http(s)://…")]
    BadDestination(String),
    /// The TLS connection was refused, mostly over the server's certificate: waiting will not
    /// help, the destination's trust must change (the text says how).
    #[error("{destination}: {detail}")]
    TlsRefused {
        /// Destination, without credentials.
        destination: String,
        /// What was refused and what to do ([`tls::explain`]).
        detail: String,
    },
    /// Plain HTTP to a host other than this computer, not allowed for the destination.
    #[error(
        "{destination}: plain HTTP to another computer would send the studies and credentials \
         unencrypted; use https, or, if the network is trusted, set `allow_plain_http = true` \
         for this destination ([destinations.{name}]) in deposit.toml"
    )]
    PlainHttp {
        /// Destination, without credentials.
        destination: String,
        /// Its `[destinations]` name (`NAME` when it has none).
        name: String,
    },
    /// The proxy setting for an HTTP destination cannot be used (no secret in the text).
    #[error("{destination}: {source}")]
    BadProxy {
        /// The destination (no secret).
        destination: String,
        /// What is wrong with the proxy setting.
        source: proxy::ProxyError,
    },
}

impl Classify for ArchiveError {
    fn code(&self) -> &'static str {
        match self {
            ArchiveError::Unreachable { .. } => "archive.unreachable",
            ArchiveError::Rejected { .. } => "archive.rejected",
            ArchiveError::ReadOutbox { .. } => "archive.read_outbox",
            ArchiveError::ReadArchive { .. } => "archive.read_archive",
            ArchiveError::Write { .. } => "archive.write",
            ArchiveError::BadLabel { .. } => "archive.bad_label",
            ArchiveError::BadDestination(_) => "archive.bad_destination",
            ArchiveError::PlainHttp { .. } => "archive.plain_http",
            ArchiveError::TlsRefused { .. } => "archive.tls_refused",
            ArchiveError::Record { .. } => "archive.record",
            ArchiveError::NoUser { .. } => "archive.no_user",
            ArchiveError::NoSecret { .. } => "archive.no_secret",
            ArchiveError::BadProxy { source, .. } => source.code(),
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
    /// Delivers one piece, reporting each object to `acks` as the destination acknowledges it
    /// (destinations that answer for a whole piece at once report nothing there: the queue
    /// records the piece's objects when this returns). Re-sending identical bytes must be
    /// harmless where the destination can tell (listing, digest); where it cannot (CTP, C-STORE)
    /// the queue's delivery ledger keeps acknowledged objects from going out again.
    fn deliver(&self, piece: &Piece, acks: &dyn Acks) -> Result<Receipt, ArchiveError>;

    /// Delivers one piece without recording acknowledgements (tests, one-off sends).
    fn put(&self, piece: &Piece) -> Result<Receipt, ArchiveError> {
        self.deliver(piece, &NoAcks)
    }

    /// What identifies the archive behind this destination in the delivery ledger: the same
    /// storage reached with another user, timeout or calling AE is the same archive.
    fn identity(&self) -> String {
        self.describe()
    }

    /// Whether the destination itself tells, before storing anything again, that it already
    /// holds an object (the folder archive compares digests, XNAT lists the session first). When
    /// it cannot (CTP, C-STORE, STOW-RS), an object the ledger shows acknowledged by this archive
    /// in any earlier job is not sent again but counted as already present.
    fn listable(&self) -> bool {
        true
    }
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
