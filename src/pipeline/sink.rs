//! Where prepared output goes: a folder (`deposit deid --out`, quarantine release), the
//! content-addressed outbox (`send`), or memory ([`super::Output::into_prepared`]).

use std::collections::HashMap;
use std::io::{Read as _, Seek as _, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use thiserror::Error;

use super::Output;
use crate::error::{Classify, ErrorClass};
use crate::intake::Pixels;

/// A failure writing output; names the output file (new identifiers only), never the input.
#[derive(Debug, Error)]
#[error("cannot {what} {}: {source}", target.display())]
pub struct SinkError {
    /// The step: encode, create the folder for, write, finish.
    what: &'static str,
    /// The output file.
    target: PathBuf,
    /// The cause.
    source: std::io::Error,
}

impl Classify for SinkError {
    fn code(&self) -> &'static str {
        "pipeline.write"
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Transient
    }
}

/// Writes the pixel bytes that pass through undecoded after the header.
pub(super) fn append_pixels(out: &mut impl Write, pixels: Pixels) -> std::io::Result<()> {
    match pixels {
        Pixels::InObject => {}
        Pixels::InMemory { bytes, range } => out.write_all(bytes.get(range).unwrap_or_default())?,
        Pixels::InFile {
            mut file,
            offset,
            len,
        } => {
            // File to file: the kernel copies (copy_file_range), no user buffer.
            file.seek(std::io::SeekFrom::Start(offset))?;
            let n = std::io::copy(&mut file.take(len), out)?;
            if n != len {
                return Err(std::io::Error::other("the input shrank while being read"));
            }
        }
    }
    Ok(())
}

/// An output folder written by parallel workers. Two inputs with the same new path are the
/// same instance (same SOP Instance UID): the one listed first wins, whatever the timing, so
/// the output stays deterministic.
pub struct Folder {
    root: PathBuf,
    /// Which input owns each output path.
    claims: Mutex<HashMap<PathBuf, usize>>,
}

impl Folder {
    /// Output under `root` (which exists).
    pub fn new(root: &Path) -> Self {
        Folder {
            root: root.to_path_buf(),
            claims: Mutex::default(),
        }
    }

    /// Writes `output` as the run's input number `index`; returns the file it owns (shared
    /// with an earlier input of the same instance, whose copy is kept).
    pub fn write(&self, output: Output, index: usize) -> Result<PathBuf, SinkError> {
        let target = self.root.join(output.relative_path());
        let fail = |what: &'static str, source: std::io::Error| SinkError {
            what,
            target: target.clone(),
            source,
        };
        let (header, pixels) = output.encode().map_err(|e| fail("encode", e))?;
        // A temporary name of this input's own: duplicates never write into one file.
        let tmp = target.with_extension(format!("{index}.part"));
        // The folder is made on the first file that needs it (not asked for every file).
        let created = match std::fs::File::create(&tmp) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match target.parent().map(std::fs::create_dir_all) {
                    Some(Err(e)) => return Err(fail("create the folder for", e)),
                    _ => std::fs::File::create(&tmp),
                }
            }
            other => other,
        };
        let written = created.and_then(|mut f| {
            f.write_all(&header)?;
            append_pixels(&mut f, pixels)
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail("write", e));
        }
        let Ok(mut owners) = self.claims.lock() else {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail("finish", std::io::Error::other("a worker stopped")));
        };
        if owners.get(&target).is_some_and(|&first| first < index) {
            let _ = std::fs::remove_file(&tmp);
        } else {
            std::fs::rename(&tmp, &target).map_err(|e| fail("finish", e))?;
            owners.insert(target.clone(), index);
        }
        Ok(target)
    }
}

/// Writes one prepared file into `root` at its relative path, durably (quarantine release).
pub fn write_one(root: &Path, relative: &Path, bytes: &[u8]) -> Result<PathBuf, SinkError> {
    let target = root.join(relative);
    let fail = |what: &'static str, source: std::io::Error| SinkError {
        what,
        target: target.clone(),
        source,
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail("write", e))?;
    }
    crate::durable::replace(&target, bytes).map_err(|e| fail("write", e))?;
    Ok(target)
}

/// Writes bytes into the outbox under their SHA-256 (so identical output is stored once),
/// durably; returns the file and the digest.
pub fn to_outbox(outbox: &Path, bytes: &[u8]) -> std::io::Result<(PathBuf, String)> {
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let dir = outbox.join(&sha[..2]);
    crate::durable::create_private_dirs(&dir)?;
    let path = dir.join(format!("{sha}.dcm"));
    if !path.exists() {
        match crate::durable::replace_private(&path, bytes) {
            // another worker stored the same bytes at the same time
            Err(_) if path.exists() => {}
            other => other?,
        }
    }
    Ok((path, sha))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_stores_identical_bytes_once() {
        let d = tempfile::tempdir().expect("tmp");
        let (a, sha) = to_outbox(d.path(), b"abc").expect("first");
        let (b, _) = to_outbox(d.path(), b"abc").expect("again");
        assert_eq!(a, b);
        assert!(a.starts_with(d.path().join(&sha[..2])));
        assert_eq!(std::fs::read(&a).expect("read"), b"abc");
        let names: Vec<_> = std::fs::read_dir(d.path().join(&sha[..2]))
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }
}
