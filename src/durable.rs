//! Replacing a file's contents durably: a temporary file beside it, fsync, rename, fsync of the
//! folder. A crash leaves the old contents or the new ones, never half of either; an existing
//! file keeps its permissions.

use std::fs;
use std::io::Write;
use std::path::Path;

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
    let tmp = dir.join(format!(".{name}.part"));
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
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
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_keeping_permissions_and_leaves_no_temporary_file() {
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
}
