//! What an archive holds, read back: its subjects, sessions, scans and files, a file's bytes,
//! and a scan's QC status — for the coordinator's archive view and for downloads. Implemented
//! by the XNAT destination (its REST listings) and the folder archive (its folders).

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::{ArchiveError, Quality};

/// One session (XNAT experiment) as the archive lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionRow {
    /// The project.
    pub project: String,
    /// Subject label.
    pub subject: String,
    /// Session label.
    pub session: String,
    /// The archive's own identifier (XNAT accession `XNAT_E…`; the folder archive: the path
    /// under its root).
    pub id: String,
    /// Session type (`xnat:ctSessionData`, …; empty when the archive does not say).
    pub kind: String,
    /// Session date as the archive gives it (may be empty).
    pub date: String,
    /// When the archive took it in (may be empty).
    pub inserted: String,
}

/// One scan of a session, with what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScanRow {
    /// Scan ID.
    pub id: String,
    /// Scan type (`xnat:ctScanData`, …).
    pub kind: String,
    /// Series description (may be empty).
    pub description: String,
    /// QC status (`usable`, `questionable`, `unusable`; empty when none is set).
    pub quality: String,
    /// Files in the scan.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// A file the archive holds, with what a download is checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemoteFile {
    /// The scan it belongs to.
    pub scan: String,
    /// The scan's resource holding it (`DICOM`, …).
    pub resource: String,
    /// File name (one path segment).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// MD5, lower-case hex (empty when the archive keeps none).
    pub md5: String,
    /// Where the archive serves it (an XNAT URI under `/data`, or a path).
    pub uri: String,
}

/// Reading an archive back.
pub trait Browse: Send + Sync {
    /// The archive, for messages (no secrets).
    fn describe(&self) -> String;
    /// The project listed (XNAT: the destination's project; folder archive: all of them).
    fn project(&self) -> Option<String>;
    /// Subject labels.
    fn subjects(&self) -> Result<Vec<String>, ArchiveError>;
    /// Every session, in one listing.
    fn sessions(&self) -> Result<Vec<SessionRow>, ArchiveError>;
    /// The scans of one session with their file counts, sizes and QC status.
    fn scans(&self, session: &SessionRow) -> Result<Vec<ScanRow>, ArchiveError>;
    /// The files of one session (every scan's DICOM).
    fn files(&self, session: &SessionRow) -> Result<Vec<RemoteFile>, ArchiveError>;
    /// Streams one file's bytes into `sink`; the bytes written.
    fn download(
        &self,
        file: &RemoteFile,
        sink: &mut (dyn Write + Send),
    ) -> Result<u64, ArchiveError>;
    /// Sets a scan's QC status and checks the archive shows it.
    fn set_quality(
        &self,
        session: &SessionRow,
        scan: &str,
        quality: Quality,
    ) -> Result<(), ArchiveError>;
}

/// Adds up a file listing per scan: (files, bytes) by scan ID.
pub fn per_scan(files: &[RemoteFile]) -> std::collections::BTreeMap<String, (u64, u64)> {
    let mut m = std::collections::BTreeMap::new();
    for f in files {
        let e: &mut (u64, u64) = m.entry(f.scan.clone()).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(f.size);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_up_files_per_scan() {
        let f = |scan: &str, size| RemoteFile {
            scan: scan.into(),
            resource: "DICOM".into(),
            name: "x".into(),
            size,
            md5: String::new(),
            uri: String::new(),
        };
        let m = per_scan(&[f("1", 10), f("2", 5), f("1", 7)]);
        assert_eq!(m.get("1"), Some(&(2, 17)));
        assert_eq!(m.get("2"), Some(&(1, 5)));
    }
}
