//! Replacing a file's contents durably: a temporary file beside it, fsync, rename, fsync of the
//! folder. A crash leaves the old contents or the new ones, never half of either; an existing
//! file keeps its permissions, and [`replace_private`] makes it owner-only (the data home's
//! files), as [`create_private_dirs`] does for folders.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};

/// The files being replaced by this process right now. Writers of the same file (two workers
/// storing identical output in the outbox) take turns, so that they never share the temporary
/// file; its name stays fixed, so the one a crash leaves behind is simply overwritten by the
/// next write of that file.
static WRITING: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
static WRITTEN: Condvar = Condvar::new();

/// This process's turn at replacing one file, released when dropped.
struct Turn(PathBuf);

impl Turn {
    fn take(path: &Path) -> Turn {
        let mut writing = WRITING.lock().unwrap_or_else(PoisonError::into_inner);
        while writing.as_ref().is_some_and(|w| w.contains(path)) {
            writing = WRITTEN
                .wait(writing)
                .unwrap_or_else(PoisonError::into_inner);
        }
        writing
            .get_or_insert_with(HashSet::new)
            .insert(path.to_path_buf());
        Turn(path.to_path_buf())
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut writing = WRITING.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(w) = writing.as_mut() {
            w.remove(&self.0);
        }
        WRITTEN.notify_all();
    }
}

/// Replaces (or creates) `path` with `bytes`. The parent folder must exist.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_with(path, bytes, false)
}

/// [`replace`] for a file only its owner may read or write (mode 0600 on Unix; on Windows the
/// data home's folder ACL applies).
pub fn replace_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_with(path, bytes, true)
}

/// Creates `path` and its missing parents, owner-only (mode 0700 on Unix) where this creates
/// them; folders that exist are left as they are.
pub fn create_private_dirs(path: &Path) -> std::io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    #[cfg(not(unix))]
    let existed = path.is_dir();
    b.create(path)?;
    // elsewhere the new folder gets an owner-only ACL, inherited by what is made in it
    #[cfg(not(unix))]
    if !existed {
        crate::platform::restrict_to_owner(path)?;
    }
    Ok(())
}

/// Creates (truncating) the temporary file, owner-only when `private`.
fn create_temp(tmp: &Path, private: bool) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    o.open(tmp)
}

fn replace_with(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.part"));
    let _turn = Turn::take(path);
    let written = (|| {
        let mut f = create_temp(&tmp, private)?;
        if private {
            // a temporary file a crash left behind keeps its old mode when reopened
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(fs::Permissions::from_mode(0o600))?;
            }
        } else if let Ok(meta) = fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        crate::platform::replace_file(&tmp, path)
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
    fn private_files_and_folders_are_owner_only_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().expect("tmp");
        let dir = d.path().join("a/b");
        create_private_dirs(&dir).expect("dirs");
        let f = dir.join("x.dcm");
        // a world-readable file, and a leftover temporary file, become owner-only
        fs::write(&f, b"old").expect("old");
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::write(dir.join(".x.dcm.part"), b"left").expect("leftover");
        fs::set_permissions(dir.join(".x.dcm.part"), fs::Permissions::from_mode(0o666))
            .expect("chmod");
        replace_private(&f, b"new").expect("replace");
        assert_eq!(fs::read(&f).expect("read"), b"new");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&d.path().join("a")), 0o700);
    }

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

    /// Regression: two writers of the same file shared one temporary file, so one could
    /// truncate it after the other had renamed it into place.
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

    /// The temporary file a crash left behind is overwritten by the next write, not kept.
    #[test]
    fn a_leftover_temporary_file_is_reused() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("a.dcm");
        fs::write(dir.path().join(".a.dcm.part"), b"half").expect("leftover");
        replace(&f, b"whole").expect("replace");
        assert_eq!(fs::read(&f).expect("read"), b"whole");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}
