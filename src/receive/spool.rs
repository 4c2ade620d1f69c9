//! The intake spool: received instances written to a temp file, fsync'd, renamed atomically into
//! a name derived from a hash of the SOP Instance UID (no PHI), and the folder fsync'd.
//!
//! Layout under the spool root (`DEPOSIT_HOME/incoming`): `tmp/` holds instances being received
//! (emptied at start: anything there was never acknowledged), `ab/abcdef….dcm` holds the
//! instances, where the name is the SHA-256 of the SOP Instance UID. The same instance sent
//! twice (the same data set bytes) keeps the first file; ANOTHER data set under a SOP Instance
//! UID already held never replaces it: it is kept beside it as `ab/abcdef….2.dcm` (`.3`, …)
//! and the commit says so ([`Commit::Conflict`]).

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
    /// Held while a commit looks for earlier copies and renames (one at a time).
    committing: Mutex<()>,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commit {
    /// A new instance, at this path.
    New(PathBuf),
    /// The same data set was already there, at this path (left untouched; the new copy is gone).
    Same(PathBuf),
    /// Another data set was already there under this SOP Instance UID: the new one is kept
    /// beside it.
    Conflict {
        /// The new copy.
        path: PathBuf,
        /// The copy that was there first.
        earlier: PathBuf,
    },
}

impl Commit {
    /// Where the instance just received is (or, for `Same`, the identical one kept).
    pub fn path(&self) -> &Path {
        match self {
            Commit::New(p) | Commit::Same(p) | Commit::Conflict { path: p, .. } => p,
        }
    }
}

/// Variants kept for one SOP Instance UID at most (`.2.dcm` … ): past that, a commit fails.
const MAX_VARIANTS: u32 = 1000;

/// The SHA-256 of the data set of a spool file (what follows its file meta group), or None
/// when it is not laid out as this spool writes files.
fn dataset_digest(path: &Path) -> Option<[u8; 32]> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path).ok()?;
    let mut head = [0u8; 144];
    f.read_exact(&mut head).ok()?;
    // preamble, DICM, then (0002,0000) UL 4 <group length>
    if &head[128..132] != b"DICM" || head[132..138] != [2, 0, 0, 0, b'U', b'L'] {
        return None;
    }
    let group = u32::from_le_bytes([head[140], head[141], head[142], head[143]]);
    f.seek(SeekFrom::Start(144 + u64::from(group))).ok()?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(h.finalize().into())
}

fn private_dir(p: &Path) -> io::Result<()> {
    fs::create_dir_all(p)?;
    crate::home::set_mode(p, 0o700)
}

/// fsyncs a folder so that a rename or a new entry in it survives a power loss.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    // Windows opens no folder as a file (access denied); NTFS makes a rename durable itself,
    // and failing here would refuse an instance whose rename already succeeded
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
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
            committing: Mutex::new(()),
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
        let mut head = Vec::with_capacity(512);
        head.extend_from_slice(&[0u8; 128]);
        head.extend_from_slice(b"DICM");
        meta.write(&mut head)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let mut inc = Incoming {
            temp: Temp(Some(path)),
            out: BufWriter::with_capacity(256 * 1024, file),
            bytes: 0,
            offset: head.len() as u64,
        };
        inc.out.write_all(&head)?;
        Ok(inc)
    }

    /// The variant `n` (2, 3, …) of the instance at `base` (`….dcm` → `….n.dcm`).
    fn variant(base: &Path, n: u32) -> PathBuf {
        base.with_extension(format!("{n}.dcm"))
    }

    /// For a variant kept beside an earlier copy (`….2.dcm`), the first copy's path.
    pub fn variant_base(path: &Path) -> Option<PathBuf> {
        let name = path.file_name()?.to_str()?;
        let stem = name.strip_suffix(".dcm")?;
        let (key, n) = stem.split_once('.')?;
        (n.parse::<u32>().is_ok() && key.len() == 64)
            .then(|| path.with_file_name(format!("{key}.dcm")))
    }

    /// Moves a finished temp file to its final name atomically and fsyncs the folder: a new
    /// instance; or, when an identical data set is already held under this SOP Instance UID,
    /// nothing moves (the temp file goes); or, when another data set is held under it, the new
    /// one is kept beside it (never replacing it).
    pub fn commit(&self, done: Finished, sop_instance_uid: &str) -> io::Result<Commit> {
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
        let _one = self
            .committing
            .lock()
            .map_err(|_| io::Error::other("spool lock poisoned"))?;
        let mut target = dest.clone();
        let mut n = 1;
        // hashed only when a copy is already there (the common case costs nothing)
        let mut mine: Option<Option<[u8; 32]>> = None;
        while target.exists() {
            let digest = *mine.get_or_insert_with(|| dataset_digest(done.path()));
            if digest.is_some() && dataset_digest(&target) == digest {
                // dropping `done` deletes the temp file
                return Ok(Commit::Same(target));
            }
            n += 1;
            if n > MAX_VARIANTS {
                return Err(io::Error::other("too many copies of one SOP Instance UID"));
            }
            target = Self::variant(&dest, n);
        }
        let mut temp = done.temp;
        let from = temp.0.take().ok_or_else(|| io::Error::other("temp gone"))?;
        // (no other commit runs now, and nothing else creates files here: `target` is free)
        if let Err(e) = fs::rename(&from, &target) {
            let _ = fs::remove_file(&from);
            return Err(e);
        }
        sync_dir(&dir)?;
        Ok(if target == dest {
            Commit::New(target)
        } else {
            Commit::Conflict {
                path: target,
                earlier: dest,
            }
        })
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
    /// Where the data set starts in the file.
    offset: u64,
}

/// A temp file written completely and fsync'd (deleted if dropped uncommitted).
#[derive(Debug)]
pub struct Finished {
    temp: Temp,
    /// Data set bytes written.
    pub bytes: u64,
    /// Where the data set starts in the file.
    pub offset: u64,
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
        let Incoming {
            temp,
            out,
            bytes,
            offset,
        } = self;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        Ok(Finished {
            temp,
            bytes,
            offset,
        })
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
        let c = spool.commit(done, "2.25.1").expect("commit");
        let Commit::New(p) = c else { panic!("{c:?}") };
        assert!(!p.to_string_lossy().contains("2.25.1"));
        assert_eq!(p, spool.final_path("2.25.1\0"));
        let bytes = fs::read(&p).expect("read");
        assert_eq!(&bytes[128..132], b"DICM");
        // the same instance again: the first file stays, no temp left
        let mut again = spool.begin(&meta()).expect("begin");
        again.write(b"\x08\x00\x60\x00CS\x02\x00CT").expect("write");
        let c = spool
            .commit(again.finish().expect("fin"), "2.25.1")
            .expect("commit");
        assert_eq!(c, Commit::Same(p.clone()));
        assert_eq!(spool.files(), vec![p.clone()]);
        assert_eq!(
            fs::read_dir(d.path().join("incoming/tmp"))
                .expect("ls")
                .count(),
            0
        );
        // another data set under the same UID: kept beside the first, which is untouched
        let mut other = spool.begin(&meta()).expect("begin");
        other.write(b"\x08\x00\x60\x00CS\x02\x00MR").expect("write");
        let c = spool
            .commit(other.finish().expect("fin"), "2.25.1")
            .expect("commit");
        let Commit::Conflict { path, earlier } = c else {
            panic!("{c:?}")
        };
        assert_eq!(earlier, p);
        assert_ne!(path, p);
        assert_eq!(Spool::variant_base(&path), Some(p.clone()));
        assert_eq!(Spool::variant_base(&p), None);
        assert_eq!(fs::read(&p).expect("read"), bytes);
        assert!(fs::read(&path).expect("read").ends_with(b"MR"));
        // and either one again is idempotent
        let mut mr = spool.begin(&meta()).expect("begin");
        mr.write(b"\x08\x00\x60\x00CS\x02\x00MR").expect("write");
        let c = spool
            .commit(mr.finish().expect("fin"), "2.25.1")
            .expect("commit");
        assert_eq!(c, Commit::Same(path.clone()));
        assert_eq!(spool.files().len(), 2);
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
