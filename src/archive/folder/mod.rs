//! The embedded folder archive in DEPOSIT_HOME/archive: XNAT-like project/subject/session/scans, written atomically.
//!
//! Layout: `ROOT/PROJECT/SUBJECT/SESSION/scans/SCAN/NAME`. Each file is written to a temporary
//! name in its folder, flushed to disk, then renamed, so a crash leaves either the whole file or
//! nothing. Re-delivering identical bytes is a no-op; a commit writes `SESSION/COMMITTED`.
//! Files are owner-only (0600) and folders created here 0700, as everywhere in the data home.

mod browse;

use std::fs;
use std::path::{Path, PathBuf};

use super::{
    md5_hex, Acks, ArchiveError, Destination, Item, Piece, Receipt, StudyLabels, Verification,
};

/// A folder archive rooted at a directory.
#[derive(Debug, Clone)]
pub struct FolderArchive {
    root: PathBuf,
}

impl FolderArchive {
    /// An archive at `root` (created on first delivery).
    pub fn new(root: PathBuf) -> Self {
        FolderArchive { root }
    }

    fn session_dir(&self, l: &StudyLabels) -> Result<PathBuf, ArchiveError> {
        let mut p = self.root.clone();
        for label in [&l.project, &l.subject, &l.session] {
            p.push(safe_name(label)?);
        }
        Ok(p)
    }

    fn file_path(&self, l: &StudyLabels, item: &Item) -> Result<PathBuf, ArchiveError> {
        Ok(self
            .session_dir(l)?
            .join("scans")
            .join(safe_name(&item.scan)?)
            .join(safe_name(&item.name)?))
    }
}

/// A label is used as one path component: no separators, no dot-names, printable.
pub(crate) fn safe_name(label: &str) -> Result<&str, ArchiveError> {
    let ok = !label.is_empty()
        && label.len() <= 128
        && label != "."
        && label != ".."
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(label)
    } else {
        Err(ArchiveError::BadLabel {
            label: label.chars().take(64).collect(),
        })
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ArchiveError> {
    let werr = |source| ArchiveError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        crate::durable::create_private_dirs(dir).map_err(werr)?;
    }
    // the folder archive holds whole studies: owner-only, like the rest of the data home
    crate::durable::replace_private(path, bytes).map_err(werr)
}

impl Destination for FolderArchive {
    fn describe(&self) -> String {
        format!("folder:{}", self.root.display())
    }

    fn check(&self) -> Result<(), ArchiveError> {
        crate::durable::create_private_dirs(&self.root).map_err(|source| ArchiveError::Write {
            path: self.root.clone(),
            source,
        })?;
        let probe = self.root.join(".deposit-write-check");
        write_atomically(&probe, b"ok")?;
        let _ = fs::remove_file(probe);
        Ok(())
    }

    fn deliver(&self, piece: &Piece, _acks: &dyn Acks) -> Result<Receipt, ArchiveError> {
        let mut r = Receipt {
            stored: 0,
            already_present: 0,
        };
        for item in &piece.items {
            let dest = self.file_path(&piece.labels, item)?;
            let bytes = fs::read(&item.path).map_err(|source| ArchiveError::ReadOutbox {
                path: item.path.clone(),
                source,
            })?;
            if let Ok(existing) = fs::read(&dest) {
                if existing.len() as u64 == item.size && md5_hex(&existing) == item.md5 {
                    r.already_present += 1;
                    continue;
                }
            }
            write_atomically(&dest, &bytes)?;
            r.stored += 1;
        }
        Ok(r)
    }

    fn commit(&self, labels: &StudyLabels) -> Result<String, ArchiveError> {
        let dir = self.session_dir(labels)?;
        write_atomically(&dir.join("COMMITTED"), b"committed\n")?;
        Ok(format!("file://{}", dir.display()))
    }

    fn verify(&self, labels: &StudyLabels, items: &[Item]) -> Result<Verification, ArchiveError> {
        let mut v = Verification {
            expected: items.len() as u64,
            matched: 0,
            problems: Vec::new(),
            uri: format!("file://{}", self.session_dir(labels)?.display()),
        };
        for item in items {
            let path = self.file_path(labels, item)?;
            match fs::read(&path) {
                Ok(b) if b.len() as u64 == item.size && md5_hex(&b) == item.md5 => v.matched += 1,
                Ok(_) => v
                    .problems
                    .push(format!("{}/{}: differs", item.scan, item.name)),
                Err(_) => v
                    .problems
                    .push(format!("{}/{}: missing", item.scan, item.name)),
            }
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(dir: &Path, name: &str, bytes: &[u8]) -> Item {
        let p = dir.join(name);
        fs::write(&p, bytes).expect("write");
        Item {
            path: p,
            scan: "1".into(),
            name: name.into(),
            size: bytes.len() as u64,
            md5: md5_hex(bytes),
        }
    }

    #[test]
    fn delivers_idempotently_and_verifies() {
        let out = tempfile::tempdir().expect("tmp");
        let src = tempfile::tempdir().expect("tmp");
        let a = FolderArchive::new(out.path().join("archive"));
        a.check().expect("check");
        let labels = StudyLabels {
            project: "P1".into(),
            subject: "DEP-ABC".into(),
            session: "S1".into(),
        };
        let items = vec![
            item(src.path(), "a.dcm", b"aaa"),
            item(src.path(), "b.dcm", b"bb"),
        ];
        let piece = Piece {
            labels: labels.clone(),
            items: items.clone(),
        };
        assert_eq!(a.put(&piece).expect("put").stored, 2);
        let again = a.put(&piece).expect("put again");
        assert_eq!((again.stored, again.already_present), (0, 2));
        a.commit(&labels).expect("commit");
        assert!(a.verify(&labels, &items).expect("verify").ok());
        fs::write(
            out.path().join("archive/P1/DEP-ABC/S1/scans/1/b.dcm"),
            b"tampered",
        )
        .expect("tamper");
        let v = a.verify(&labels, &items).expect("verify");
        assert!(!v.ok());
        assert_eq!(v.problems.len(), 1);
    }

    #[test]
    fn refuses_labels_that_escape() {
        let a = FolderArchive::new(PathBuf::from("/nonexistent"));
        let labels = StudyLabels {
            project: "..".into(),
            subject: "x".into(),
            session: "y".into(),
        };
        assert!(matches!(
            a.commit(&labels),
            Err(ArchiveError::BadLabel { .. })
        ));
    }
}
