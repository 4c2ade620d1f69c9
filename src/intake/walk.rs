//! Recursive folder walk: every regular file under the roots, and a reason for everything else.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::reason::SkipReason;

/// One entry found by the walk.
#[derive(Debug)]
pub enum Found {
    /// A regular file to read.
    File(FileStat),
    /// Something that cannot be read, with why.
    Problem(PathBuf, SkipReason),
}

/// A regular file with the metadata used to detect changes between scans.
#[derive(Debug, Clone)]
pub struct FileStat {
    /// Absolute path.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: i64,
}

impl FileStat {
    /// Reads a file's size and mtime (following symlinks).
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let md = std::fs::metadata(path)?;
        Ok(FileStat {
            path: path.to_path_buf(),
            size: md.len(),
            mtime_ns: mtime_ns(&md),
        })
    }
}

fn mtime_ns(md: &std::fs::Metadata) -> i64 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Walks the roots (each a folder or a file), following symlinks and reporting loops.
/// Each real file is reported once even when reachable by several paths.
pub fn walk(roots: &[PathBuf]) -> Vec<Found> {
    let mut out = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for root in roots {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
        {
            match entry {
                Ok(e) => {
                    let ft = e.file_type();
                    if ft.is_dir() {
                        continue;
                    }
                    let path = e.path().to_path_buf();
                    if !ft.is_file() {
                        out.push(Found::Problem(path, SkipReason::NotRegularFile));
                        continue;
                    }
                    let canon = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                    if !seen.insert(canon) {
                        continue;
                    }
                    match e.metadata() {
                        Ok(md) => out.push(Found::File(FileStat {
                            path,
                            size: md.len(),
                            mtime_ns: mtime_ns(&md),
                        })),
                        Err(err) => out.push(Found::Problem(path, reason_of_walk_error(&err))),
                    }
                }
                Err(err) => {
                    let path = err
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    out.push(Found::Problem(path, reason_of_walk_error(&err)));
                }
            }
        }
    }
    out
}

fn reason_of_walk_error(err: &walkdir::Error) -> SkipReason {
    if err.loop_ancestor().is_some() {
        return SkipReason::SymlinkLoop;
    }
    match err.io_error() {
        Some(io) if io.kind() == std::io::ErrorKind::NotFound => SkipReason::BrokenSymlink,
        Some(io) => SkipReason::from_io(io),
        None => SkipReason::Unreadable {
            detail: "walk error".into(),
        },
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn symlink_loop_and_broken_link_get_reasons() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        std::fs::create_dir(&a).expect("mkdir");
        std::fs::write(a.join("f.bin"), b"x").expect("write");
        std::os::unix::fs::symlink(&a, a.join("loop")).expect("symlink");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), a.join("dangling")).expect("link");
        let found = walk(&[dir.path().to_path_buf()]);
        let reasons: Vec<_> = found
            .iter()
            .filter_map(|f| match f {
                Found::Problem(_, r) => Some(r.code()),
                _ => None,
            })
            .collect();
        assert!(reasons.contains(&"symlink_loop"), "{reasons:?}");
        assert!(reasons.contains(&"broken_symlink"), "{reasons:?}");
        let files = found.iter().filter(|f| matches!(f, Found::File(_))).count();
        assert_eq!(files, 1);
    }
}
