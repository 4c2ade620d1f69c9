//! The folder archive read back: its `PROJECT/SUBJECT/SESSION/scans/SCAN/NAME` folders as
//! sessions, scans and files (sizes from the file system; no digests kept, no QC status).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{safe_name, FolderArchive};
use crate::archive::browse::{per_scan, Browse, RemoteFile, ScanRow, SessionRow};
use crate::archive::{ArchiveError, Destination, Quality};

/// The sub-folders of `dir` whose names are labels, sorted (none when it does not exist).
fn folders(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| safe_name(n).is_ok())
        .collect();
    v.sort();
    v
}

impl FolderArchive {
    fn session_folder(&self, s: &SessionRow) -> Result<PathBuf, ArchiveError> {
        Ok(self
            .root
            .join(safe_name(&s.project)?)
            .join(safe_name(&s.subject)?)
            .join(safe_name(&s.session)?))
    }

    fn read_error(&self, path: &Path, source: std::io::Error) -> ArchiveError {
        ArchiveError::ReadArchive {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl Browse for FolderArchive {
    fn describe(&self) -> String {
        Destination::describe(self)
    }

    fn project(&self) -> Option<String> {
        None
    }

    fn subjects(&self) -> Result<Vec<String>, ArchiveError> {
        let mut v: Vec<String> = folders(&self.root)
            .iter()
            .flat_map(|p| folders(&self.root.join(p)))
            .collect();
        v.sort();
        v.dedup();
        Ok(v)
    }

    fn sessions(&self) -> Result<Vec<SessionRow>, ArchiveError> {
        let mut rows = Vec::new();
        for p in folders(&self.root) {
            for s in folders(&self.root.join(&p)) {
                for e in folders(&self.root.join(&p).join(&s)) {
                    rows.push(SessionRow {
                        id: format!("{p}/{s}/{e}"),
                        project: p.clone(),
                        subject: s.clone(),
                        session: e,
                        kind: String::new(),
                        date: String::new(),
                        inserted: String::new(),
                    });
                }
            }
        }
        Ok(rows)
    }

    fn scans(&self, s: &SessionRow) -> Result<Vec<ScanRow>, ArchiveError> {
        let counts = per_scan(&self.files(s)?);
        Ok(counts
            .into_iter()
            .map(|(id, (files, bytes))| ScanRow {
                id,
                kind: String::new(),
                description: String::new(),
                quality: String::new(),
                files,
                bytes,
            })
            .collect())
    }

    fn files(&self, s: &SessionRow) -> Result<Vec<RemoteFile>, ArchiveError> {
        let scans = self.session_folder(s)?.join("scans");
        let mut out = Vec::new();
        for scan in folders(&scans) {
            let dir = scans.join(&scan);
            let entries = fs::read_dir(&dir).map_err(|e| self.read_error(&dir, e))?;
            let mut files: Vec<RemoteFile> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_string();
                    // temporary files of a delivery in progress are not the archive's yet
                    (safe_name(&name).is_ok() && !name.starts_with('.')).then_some(())?;
                    Some(RemoteFile {
                        scan: scan.clone(),
                        resource: "DICOM".into(),
                        size: e.metadata().ok()?.len(),
                        md5: String::new(),
                        uri: dir.join(&name).display().to_string(),
                        name,
                    })
                })
                .collect();
            files.sort_by(|a, b| a.name.cmp(&b.name));
            out.extend(files);
        }
        Ok(out)
    }

    fn download(
        &self,
        file: &RemoteFile,
        sink: &mut (dyn Write + Send),
    ) -> Result<u64, ArchiveError> {
        // only a file this archive listed: under its root, no way out of it
        let path = PathBuf::from(&file.uri);
        let inside = path.starts_with(&self.root)
            && path
                .components()
                .all(|c| !matches!(c, std::path::Component::ParentDir));
        if !inside {
            return Err(ArchiveError::Rejected {
                destination: Destination::describe(self),
                detail: "download: not a file of this archive".into(),
            });
        }
        let mut f = fs::File::open(&path).map_err(|e| self.read_error(&path, e))?;
        std::io::copy(&mut f, sink).map_err(|e| self.read_error(&path, e))
    }

    fn set_quality(&self, _: &SessionRow, _: &str, _: Quality) -> Result<(), ArchiveError> {
        Err(ArchiveError::Rejected {
            destination: Destination::describe(self),
            detail: "the folder archive keeps no scan QC status; that needs XNAT".into(),
        })
    }
}
