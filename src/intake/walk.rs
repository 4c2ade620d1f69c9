//! Recursive folder walk: every regular file under the roots, and a reason for everything else.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::reason::SkipReason;

/// One entry found by the walk.
#[derive(Debug)]
pub enum Found {
    /// A regular file to read, and its canonical path (symlinks resolved).
    File(FileStat, PathBuf),
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

/// Canonical paths of files, resolving each folder once: a file that is not itself a symlink
/// is its canonical folder joined with its name (resolving every file's path component by
/// component cost a system call per component per file).
#[derive(Default)]
pub(crate) struct Canonical {
    folders: HashMap<PathBuf, PathBuf>,
}

impl Canonical {
    /// The canonical path of `path`; `is_symlink`: the entry itself is a symbolic link. A path
    /// that cannot be resolved is itself.
    pub(crate) fn of(&mut self, path: &Path, is_symlink: bool) -> PathBuf {
        let resolve =
            |p: &Path| crate::platform::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        match (is_symlink, path.parent(), path.file_name()) {
            (false, Some(dir), Some(name)) if !dir.as_os_str().is_empty() => {
                if let Some(c) = self.folders.get(dir) {
                    return c.join(name);
                }
                let c = resolve(dir);
                let file = c.join(name);
                self.folders.insert(dir.to_path_buf(), c);
                file
            }
            _ => resolve(path),
        }
    }
}

/// Walks the roots (each a folder or a file), following symlinks and reporting loops.
/// Each real file is reported once even when reachable by several paths.
pub fn walk(roots: &[PathBuf]) -> Vec<Found> {
    let mut out = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut canonical = Canonical::default();
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
                    let canon = canonical.of(&path, e.path_is_symlink());
                    if !seen.insert(canon.clone()) {
                        continue;
                    }
                    match e.metadata() {
                        Ok(md) => out.push(Found::File(
                            FileStat {
                                path,
                                size: md.len(),
                                mtime_ns: mtime_ns(&md),
                            },
                            canon,
                        )),
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
        let files = found
            .iter()
            .filter(|f| matches!(f, Found::File(..)))
            .count();
        assert_eq!(files, 1);
    }

    #[test]
    fn a_file_reached_by_several_paths_is_reported_once_with_its_real_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real");
        std::fs::create_dir(&real).expect("mkdir");
        std::fs::write(real.join("f.dcm"), b"x").expect("write");
        std::fs::write(real.join("g.dcm"), b"y").expect("write");
        // a linked folder and a linked file, both reaching files already walked
        std::os::unix::fs::symlink(&real, dir.path().join("via-folder")).expect("symlink");
        std::os::unix::fs::symlink(real.join("g.dcm"), dir.path().join("z-link.dcm"))
            .expect("symlink");
        let found = walk(&[dir.path().to_path_buf()]);
        let mut canon: Vec<PathBuf> = found
            .iter()
            .filter_map(|f| match f {
                Found::File(_, c) => Some(c.clone()),
                Found::Problem(..) => None,
            })
            .collect();
        canon.sort();
        let want: Vec<PathBuf> = ["f.dcm", "g.dcm"]
            .iter()
            .map(|n| std::fs::canonicalize(real.join(n)).expect("canonical"))
            .collect();
        assert_eq!(canon, want);
    }
}
