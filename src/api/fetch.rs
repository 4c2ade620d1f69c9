//! Downloads from an archive (XNAT or the folder archive) into a folder: a session, a subject's
//! sessions or chosen scans, each file checked against the archive's listing (size, MD5) and
//! resumable — a file is written under a temporary name and renamed once checked, and a ledger
//! in the folder (`.deposit-fetch.log`) lists the files done, so a second run after a kill skips
//! them without reading them again.
//!
//! Layout: `FOLDER/SUBJECT/SESSION/scans/SCAN/resources/RESOURCE/NAME` (XNAT's own).

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use md5::Digest;
use serde::{Deserialize, Serialize};

use super::Session;
use crate::archive::browse::{Browse, RemoteFile, SessionRow};
use crate::error::{ApiError, ErrorClass};

/// The ledger of finished files, in the download folder.
pub const LEDGER: &str = ".deposit-fetch.log";
/// Downloads at once.
const WORKERS: usize = 4;
/// Attempts per file for transient failures.
const ATTEMPTS: u32 = 3;

/// What to download.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FetchRequest {
    /// The archive: a configured destination name or URL.
    pub destination: String,
    /// The subject label.
    pub subject: String,
    /// One session of the subject; none: every session of the subject.
    #[serde(default)]
    pub session: Option<String>,
    /// Only these scans (of the one session); empty: all.
    #[serde(default)]
    pub scans: Vec<String>,
    /// The folder to download into (created).
    pub folder: String,
}

/// Progress of a download.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FetchProgress {
    /// Files in the selection.
    pub files_total: u64,
    /// Their bytes.
    pub bytes_total: u64,
    /// Files done (downloaded and checked, or there already).
    pub files_done: u64,
    /// Bytes done.
    pub bytes_done: u64,
}

/// What a download did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FetchReport {
    /// The archive (no secrets).
    pub archive: String,
    /// The folder written into.
    pub folder: String,
    /// Sessions in the selection.
    pub sessions: u64,
    /// Files in the selection.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files downloaded now.
    pub downloaded: u64,
    /// Files that were there already, checked (a resumed download).
    pub already_there: u64,
    /// Files checked against an MD5 the archive listed (the others by size: the archive keeps
    /// no digest for them).
    pub md5_checked: u64,
    /// Files that could not be downloaded, with why (paths inside the folder).
    pub failed: Vec<String>,
}

/// One file to get: where it goes and what the archive says it is.
struct Task {
    rel: String,
    file: RemoteFile,
}

/// A file being written: hashes and counts what passes, keeps the first write error.
struct Hashing {
    file: std::fs::File,
    md5: md5::Md5,
    n: u64,
    error: Option<std::io::Error>,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.write(buf) {
            Ok(k) => {
                self.md5.update(&buf[..k]);
                self.n += k as u64;
                Ok(k)
            }
            Err(e) => {
                let again = std::io::Error::new(e.kind(), e.to_string());
                self.error = Some(e);
                Err(again)
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// `FOLDER`-relative path of a file (every part a safe single name).
fn relative(s: &SessionRow, f: &RemoteFile) -> Result<String, String> {
    let parts = [
        s.subject.as_str(),
        s.session.as_str(),
        "scans",
        f.scan.as_str(),
        "resources",
        f.resource.as_str(),
        f.name.as_str(),
    ];
    for p in parts {
        crate::archive::folder::safe_name(p).map_err(|e| e.to_string())?;
        if crate::platform::unusable_on_windows(p) {
            return Err(format!("'{p}' is not usable as a file name on Windows"));
        }
    }
    Ok(parts.join("/"))
}

fn md5_of(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = md5::Md5::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// The ledger's entries: `REL\tSIZE\tMD5` lines.
fn read_ledger(folder: &Path) -> HashSet<(String, u64, String)> {
    let Ok(f) = std::fs::File::open(folder.join(LEDGER)) else {
        return HashSet::new();
    };
    std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| {
            let mut it = l.split('\t');
            let rel = it.next()?.to_string();
            let size = it.next()?.parse().ok()?;
            let md5 = it.next()?.to_string();
            Some((rel, size, md5))
        })
        .collect()
}

impl Session {
    /// Downloads the selection into its folder (see the module docs); `progress` is called as
    /// files finish; `stop` ends the download early (what is done stays done).
    pub fn fetch(
        &self,
        req: &FetchRequest,
        stop: &AtomicBool,
        progress: &(dyn Fn(&FetchProgress) + Sync),
    ) -> Result<FetchReport, ApiError> {
        let b = self.archive_browse(&req.destination)?;
        let folder = PathBuf::from(req.folder.trim());
        if req.folder.trim().is_empty() {
            return Err(ApiError::usage(
                "fetch.no_folder",
                "name a folder to download into",
            ));
        }
        crate::durable::create_private_dirs(&folder).map_err(|e| {
            ApiError::usage(
                "fetch.folder",
                format!("cannot create the folder {}: {e}", folder.display()),
            )
        })?;
        let sessions = self.fetch_sessions(b.as_ref(), req)?;
        let mut tasks = Vec::new();
        let mut report = FetchReport {
            archive: b.describe(),
            folder: folder.display().to_string(),
            sessions: sessions.len() as u64,
            ..FetchReport::default()
        };
        for s in &sessions {
            for f in b.files(s)? {
                if !req.scans.is_empty() && !req.scans.contains(&f.scan) {
                    continue;
                }
                match relative(s, &f) {
                    Ok(rel) => tasks.push(Task { rel, file: f }),
                    Err(why) => report.failed.push(format!("{}: {why}", f.scan)),
                }
            }
        }
        if tasks.is_empty() && report.failed.is_empty() {
            return Err(ApiError::usage(
                "fetch.nothing",
                "the archive lists no files for that selection",
            ));
        }
        report.files = tasks.len() as u64;
        report.bytes = tasks.iter().map(|t| t.file.size).sum();
        let ledger = read_ledger(&folder);
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(folder.join(LEDGER))
            .map_err(|e| {
                ApiError::usage(
                    "fetch.folder",
                    format!("cannot write in {}: {e}", folder.display()),
                )
            })?;
        // Files go to the ledger once their bytes are on disk: a thread of its own flushes each
        // finished file (fsync) and then writes its line, so the downloads never wait for the
        // disk. A file renamed but not in the ledger yet (a kill, a crash) is checked against
        // its digest by the next run.
        let (synced_tx, synced_rx) = crossbeam_channel::unbounded::<(PathBuf, String)>();
        let done_files = AtomicU64::new(0);
        let done_bytes = AtomicU64::new(0);
        let downloaded = AtomicU64::new(0);
        let already = AtomicU64::new(0);
        let md5_checked = AtomicU64::new(0);
        let failed = Mutex::new(Vec::new());
        let next = AtomicUsize::new(0);
        let totals = (report.files, report.bytes);
        let tick = |size: u64| {
            let f = done_files.fetch_add(1, Ordering::SeqCst) + 1;
            let by = done_bytes.fetch_add(size, Ordering::SeqCst) + size;
            progress(&FetchProgress {
                files_total: totals.0,
                bytes_total: totals.1,
                files_done: f,
                bytes_done: by,
            });
        };
        std::thread::scope(|sc| {
            sc.spawn(move || {
                for (path, line) in synced_rx.iter() {
                    if std::fs::File::open(&path)
                        .and_then(|f| f.sync_all())
                        .is_ok()
                    {
                        let _ = writeln!(log, "{line}");
                    }
                    if synced_rx.is_empty() {
                        let _ = log.flush();
                    }
                }
                let _ = log.flush();
            });
            let (next, tasks, folder, ledger, b) = (&next, &tasks, &folder, &ledger, &b);
            let (already, downloaded, md5_checked) = (&already, &downloaded, &md5_checked);
            let (failed, tick) = (&failed, &tick);
            for _ in 0..WORKERS {
                let synced = synced_tx.clone();
                sc.spawn(move || loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(t) = tasks.get(i) else { break };
                    let key = (t.rel.clone(), t.file.size, t.file.md5.clone());
                    let dest = folder.join(&t.rel);
                    if ledger.contains(&key)
                        && std::fs::metadata(&dest).is_ok_and(|m| m.len() == t.file.size)
                    {
                        already.fetch_add(1, Ordering::SeqCst);
                        if !t.file.md5.is_empty() {
                            md5_checked.fetch_add(1, Ordering::SeqCst);
                        }
                        tick(t.file.size);
                        continue;
                    }
                    match get_one(b.as_ref(), t, &dest) {
                        Ok(fresh) => {
                            if fresh {
                                downloaded.fetch_add(1, Ordering::SeqCst);
                            } else {
                                already.fetch_add(1, Ordering::SeqCst);
                            }
                            if !t.file.md5.is_empty() {
                                md5_checked.fetch_add(1, Ordering::SeqCst);
                            }
                            let line = format!("{}\t{}\t{}", key.0, key.1, key.2);
                            let _ = synced.send((dest, line));
                            tick(t.file.size);
                        }
                        Err(e) => failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(format!("{}: {}", t.rel, e.message)),
                    }
                });
            }
            // the workers hold the only senders now: the flusher ends after the last file
            drop(synced_tx);
        });
        report.downloaded = downloaded.into_inner();
        report.already_there = already.into_inner();
        report.md5_checked = md5_checked.into_inner();
        report
            .failed
            .extend(failed.into_inner().unwrap_or_else(|p| p.into_inner()));
        if stop.load(Ordering::SeqCst) {
            let left = report.files - report.downloaded - report.already_there;
            if left > 0 {
                report.failed.push(format!(
                    "stopped with {left} files left: run again to finish"
                ));
            }
        }
        report.failed.sort();
        Ok(report)
    }

    /// The sessions of a request: the one named, or every session of the subject.
    fn fetch_sessions(
        &self,
        b: &dyn Browse,
        req: &FetchRequest,
    ) -> Result<Vec<SessionRow>, ApiError> {
        let subject = req.subject.trim();
        if subject.is_empty() {
            return Err(ApiError::usage(
                "fetch.no_subject",
                "name the subject to download",
            ));
        }
        // the kept listing (one request for the whole project is what the Archive screen
        // already made), listed again when it lacks the subject
        let want = req.session.as_deref().map(str::trim);
        let all = self.archive_subject_sessions(b, subject, want, super::unix_now())?;
        let chosen: Vec<SessionRow> = all
            .into_iter()
            .filter(|s| req.session.as_deref().is_none_or(|e| s.session == e.trim()))
            .collect();
        if chosen.is_empty() {
            return Err(ApiError::usage(
                "fetch.not_in_archive",
                match &req.session {
                    Some(e) => format!("the archive has no session '{e}' of subject '{subject}'"),
                    None => format!("the archive has no session of subject '{subject}'"),
                },
            ));
        }
        if !req.scans.is_empty() && chosen.len() != 1 {
            return Err(ApiError::usage(
                "fetch.scans_need_session",
                "choosing scans needs one session: name it",
            ));
        }
        Ok(chosen)
    }
}

/// Gets one file to `dest` (checked against the listing): `Ok(true)` downloaded now,
/// `Ok(false)` it was there already, checked. Transient failures are tried again.
fn get_one(b: &dyn Browse, t: &Task, dest: &Path) -> Result<bool, ApiError> {
    // a file already there with the listed size and digest (a run killed before its ledger
    // line) is kept
    if !t.file.md5.is_empty()
        && std::fs::metadata(dest).is_ok_and(|m| m.len() == t.file.size)
        && md5_of(dest).is_ok_and(|m| m == t.file.md5)
    {
        return Ok(false);
    }
    let io = |what: &str, e: std::io::Error| {
        ApiError::permanent("fetch.write", format!("cannot {what}: {e}"))
    };
    if let Some(dir) = dest.parent() {
        crate::durable::create_private_dirs(dir).map_err(|e| io("create its folder", e))?;
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let part = dest.with_file_name(format!(".{name}.part"));
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(300 * u64::from(attempt)));
        }
        let file = std::fs::File::create(&part).map_err(|e| io("write", e))?;
        let mut sink = Hashing {
            file,
            md5: md5::Md5::new(),
            n: 0,
            error: None,
        };
        let got = b.download(&t.file, &mut sink);
        if let Some(e) = sink.error.take() {
            let _ = std::fs::remove_file(&part);
            return Err(io("write", e));
        }
        let err = match got {
            Err(e) => ApiError::from(e),
            Ok(_) if sink.n != t.file.size => ApiError::transient(
                "fetch.size",
                format!(
                    "the archive sent {} bytes where its listing says {}",
                    sink.n, t.file.size
                ),
            ),
            Ok(_) => {
                let md5 = hex::encode(sink.md5.finalize_reset());
                if !t.file.md5.is_empty() && md5 != t.file.md5 {
                    ApiError::transient(
                        "fetch.md5",
                        "the bytes do not match the MD5 digest the archive lists".to_string(),
                    )
                } else {
                    drop(sink);
                    crate::platform::replace_file(&part, dest).map_err(|e| io("rename", e))?;
                    return Ok(true);
                }
            }
        };
        let _ = std::fs::remove_file(&part);
        if err.class != ErrorClass::Transient {
            return Err(err);
        }
        last = Some(err);
    }
    Err(last.unwrap_or_else(|| {
        ApiError::transient("fetch.failed", "the download did not succeed".to_string())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> SessionRow {
        SessionRow {
            project: "P".into(),
            subject: "SUBJ1".into(),
            session: "SUBJ1_01".into(),
            id: "E1".into(),
            kind: String::new(),
            date: String::new(),
            inserted: String::new(),
        }
    }

    fn file(name: &str) -> RemoteFile {
        RemoteFile {
            scan: "3".into(),
            resource: "DICOM".into(),
            name: name.into(),
            size: 1,
            md5: String::new(),
            uri: String::new(),
        }
    }

    #[test]
    fn places_files_in_xnat_layout_and_refuses_names_that_escape() {
        assert_eq!(
            relative(&row(), &file("a.dcm")).as_deref(),
            Ok("SUBJ1/SUBJ1_01/scans/3/resources/DICOM/a.dcm")
        );
        for bad in [
            "../x", "..", "a/b", "a\\b", "", "CON", "nul.dcm", "com1.txt", "a.",
        ] {
            assert!(relative(&row(), &file(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_ledger_and_ignores_broken_lines() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::write(d.path().join(LEDGER), "a/b\t10\tabc\nbroken\nc\tx\t\n").expect("write");
        let l = read_ledger(d.path());
        assert_eq!(l.len(), 1);
        assert!(l.contains(&("a/b".to_string(), 10, "abc".to_string())));
    }
}
