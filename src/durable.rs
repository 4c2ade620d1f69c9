//! Replacing a file's contents durably: a temporary file beside it, fsync, rename, fsync of the
//! folder. A crash leaves the old contents or the new ones, never half of either; an existing
//! file keeps its permissions.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers the temporary files of this process, so that two writers of the same file (two
/// workers storing identical output in the outbox) never write into one temporary file.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Replaces (or creates) `path` with `bytes`. The parent folder must exist.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}-{n}.part", std::process::id()));
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if let Ok(meta) = fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn replaces_keeping_permissions_and_leaves_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("t.csv");
        replace(&f, b"one").expect("create");
        fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).expect("chmod");
        replace(&f, b"two").expect("replace");
        assert_eq!(fs::read(&f).expect("read"), b"two");
        assert_eq!(
            fs::metadata(&f).expect("meta").permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
        // a missing folder: an error, and nothing written
        assert!(replace(&dir.path().join("no/such/t.csv"), b"x").is_err());
    }

    /// Regression: two writers of the same file shared one temporary name, so one could
    /// truncate the temporary file the other had just renamed into place.
    #[test]
    fn concurrent_writers_of_one_file_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("same.dcm");
        let bytes = vec![7u8; 1 << 20];
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..5 {
                        replace(&f, &bytes).expect("replace");
                        assert_eq!(fs::read(&f).expect("read").len(), bytes.len());
                    }
                });
            }
        });
        assert_eq!(fs::read(&f).expect("read"), bytes);
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}
