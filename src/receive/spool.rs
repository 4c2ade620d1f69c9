//! The intake spool: received instances written to a temp file, fsync'd, renamed atomically into
//! a name derived from a hash of the SOP Instance UID (no PHI), and the folder fsync'd.
//!
//! Layout under the spool root (`DEPOSIT_HOME/incoming`): `tmp/` holds instances being received
//! (emptied at start: anything there was never acknowledged), `ab/abcdef….dcm` holds the
//! instances, where the name is the SHA-256 of the SOP Instance UID — the same instance sent
//! twice lands on the same path.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use dicom_object::meta::FileMetaTable;
use sha2::Digest;

/// The spool folder.
#[derive(Debug)]
pub struct Spool {
    root: PathBuf,
    tmp: PathBuf,
    seq: AtomicU64,
    /// Sub-folders known to exist (created and fsync'd once).
    made: Mutex<HashSet<String>>,
}

fn private_dir(p: &Path) -> io::Result<()> {
    fs::create_dir_all(p)?;
    crate::home::set_mode(p, 0o700)
}

/// fsyncs a folder so that a rename or a new entry in it survives a power loss.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// The spool name of an instance: SHA-256 of its SOP Instance UID, in hex.
pub fn instance_key(sop_instance_uid: &str) -> String {
    hex::encode(sha2::Sha256::digest(
        sop_instance_uid.trim_end_matches(['\0', ' ']).as_bytes(),
    ))
}

impl Spool {
    /// Opens (creating owner-only) the spool at `root` and empties its `tmp/`.
    pub fn open(root: &Path) -> io::Result<Spool> {
        private_dir(root)?;
        let tmp = root.join("tmp");
        private_dir(&tmp)?;
        for e in fs::read_dir(&tmp)?.flatten() {
            let _ = fs::remove_file(e.path());
        }
        Ok(Spool {
            root: root.to_path_buf(),
            tmp,
            seq: AtomicU64::new(0),
            made: Mutex::new(HashSet::new()),
        })
    }

    /// The spool folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where an instance with this SOP Instance UID is kept.
    pub fn final_path(&self, sop_instance_uid: &str) -> PathBuf {
        let key = instance_key(sop_instance_uid);
        self.root.join(&key[..2]).join(format!("{key}.dcm"))
    }

    /// Starts a temp file: preamble, `DICM` and the file meta group.
    pub fn begin(&self, meta: &FileMetaTable) -> io::Result<Incoming> {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let path = self.tmp.join(format!("{}-{n}.part", std::process::id()));
        let file = create_private_file(&path)?;
        let mut inc = Incoming {
            temp: Temp(Some(path)),
            out: BufWriter::with_capacity(256 * 1024, file),
            bytes: 0,
        };
        inc.out.write_all(&[0u8; 128])?;
        inc.out.write_all(b"DICM")?;
        meta.write(&mut inc.out)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        Ok(inc)
    }

    /// Moves a finished temp file to its final name atomically and fsyncs the folder.
    /// Returns the final path and whether an instance was already there (a duplicate).
    pub fn commit(&self, done: Finished, sop_instance_uid: &str) -> io::Result<(PathBuf, bool)> {
        let dest = self.final_path(sop_instance_uid);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        let sub = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let known = self.made.lock().map(|m| m.contains(&sub)).unwrap_or(false);
        if !known {
            if !dir.is_dir() {
                private_dir(&dir)?;
                sync_dir(&self.root)?;
            }
            if let Ok(mut m) = self.made.lock() {
                m.insert(sub);
            }
        }
        let existed = dest.exists();
        let mut temp = done.temp;
        let from = temp.0.take().ok_or_else(|| io::Error::other("temp gone"))?;
        if let Err(e) = fs::rename(&from, &dest) {
            let _ = fs::remove_file(&from);
            return Err(e);
        }
        sync_dir(&dir)?;
        Ok((dest, existed))
    }

    /// Removes an instance (its catalog record failed) and fsyncs its folder.
    pub fn remove(&self, path: &Path) {
        if fs::remove_file(path).is_ok() {
            if let Some(d) = path.parent() {
                let _ = sync_dir(d);
            }
        }
    }

    /// Every instance file in the spool (not the temp files).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for d in fs::read_dir(&self.root).into_iter().flatten().flatten() {
            let p = d.path();
            if !p.is_dir() || p == self.tmp {
                continue;
            }
            for f in fs::read_dir(&p).into_iter().flatten().flatten() {
                let f = f.path();
                if f.extension().is_some_and(|x| x == "dcm") {
                    out.push(f);
                }
            }
        }
        out.sort();
        out
    }
}

/// A temp file path that is deleted on drop unless taken.
#[derive(Debug)]
struct Temp(Option<PathBuf>);

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// An instance being received into a temp file (deleted if dropped unfinished).
#[derive(Debug)]
pub struct Incoming {
    temp: Temp,
    out: BufWriter<File>,
    bytes: u64,
}

/// A temp file written completely and fsync'd (deleted if dropped uncommitted).
#[derive(Debug)]
pub struct Finished {
    temp: Temp,
    /// Data set bytes written.
    pub bytes: u64,
}

impl Finished {
    /// The temp file (to read its header before committing).
    pub fn path(&self) -> &Path {
        self.temp.0.as_deref().unwrap_or(Path::new(""))
    }
}

impl Incoming {
    /// Appends data set bytes.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)?;
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Flushes and fsyncs the file.
    pub fn finish(self) -> io::Result<Finished> {
        let Incoming { temp, out, bytes } = self;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        Ok(Finished { temp, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_object::meta::FileMetaTableBuilder;

    fn meta() -> FileMetaTable {
        FileMetaTableBuilder::new()
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
            .media_storage_sop_instance_uid("2.25.1")
            .transfer_syntax("1.2.840.10008.1.2.1")
            .implementation_class_uid("2.25.2")
            .build()
            .expect("meta")
    }

    #[test]
    fn commit_is_atomic_named_by_hash_and_idempotent() {
        let d = tempfile::tempdir().expect("tmp");
        let spool = Spool::open(&d.path().join("incoming")).expect("open");
        let mut inc = spool.begin(&meta()).expect("begin");
        inc.write(b"\x08\x00\x60\x00CS\x02\x00CT").expect("write");
        let done = inc.finish().expect("finish");
        let (p, existed) = spool.commit(done, "2.25.1").expect("commit");
        assert!(!existed);
        assert!(!p.to_string_lossy().contains("2.25.1"));
        assert_eq!(p, spool.final_path("2.25.1\0"));
        let bytes = fs::read(&p).expect("read");
        assert_eq!(&bytes[128..132], b"DICM");
        // the same instance again: same path, marked as a duplicate, no temp left
        let again = spool.begin(&meta()).expect("begin").finish().expect("fin");
        let (p2, existed) = spool.commit(again, "2.25.1").expect("commit");
        assert_eq!(p, p2);
        assert!(existed);
        assert_eq!(spool.files(), vec![p]);
        assert_eq!(
            fs::read_dir(d.path().join("incoming/tmp"))
                .expect("ls")
                .count(),
            0
        );
    }

    #[test]
    fn abandoned_temp_files_disappear() {
        let d = tempfile::tempdir().expect("tmp");
        let spool = Spool::open(d.path()).expect("open");
        let mut inc = spool.begin(&meta()).expect("begin");
        inc.write(b"partial").expect("write");
        drop(inc);
        let done = spool
            .begin(&meta())
            .expect("begin")
            .finish()
            .expect("finish");
        drop(done);
        assert_eq!(fs::read_dir(d.path().join("tmp")).expect("ls").count(), 0);
        // leftovers from a crash are emptied on open
        fs::write(d.path().join("tmp/1-1.part"), b"x").expect("write");
        let _ = Spool::open(d.path()).expect("reopen");
        assert_eq!(fs::read_dir(d.path().join("tmp")).expect("ls").count(), 0);
    }
}
