//! What the users of a front door may reach on this computer. The desktop window reaches what
//! its user can; `deposit serve` confines its users to a few folders (`[web] roots` and the
//! data home): they scan only there, write `folder:` outputs only there, read and append to
//! lookup tables only there, test or log in to configured destinations only, and cannot start
//! the receiver (which from the web would have no allow-list of calling AE titles).

use std::path::{Component, Path, PathBuf};

use crate::error::ApiError;

/// The folders a confined front door may reach.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    roots: Vec<PathBuf>,
}

fn outside(what: &str) -> ApiError {
    ApiError::usage(
        "reach.outside_roots",
        format!("{what} is outside the folders this server may use ([web] roots)"),
    )
}

/// `p` with symbolic links resolved: the path itself if it exists, else its nearest existing
/// ancestor resolved with the rest appended (which may not go up).
fn resolved(p: &Path) -> Option<PathBuf> {
    if let Ok(c) = crate::platform::canonicalize(p) {
        return Some(c);
    }
    let mut rest = Vec::new();
    let mut cur = p;
    loop {
        // a part that exists but does not resolve is a dangling link: writing through it would
        // land wherever it points
        if cur.symlink_metadata().is_ok() {
            return None;
        }
        let name = cur.file_name()?;
        rest.push(name.to_os_string());
        cur = cur.parent()?;
        if let Ok(c) = crate::platform::canonicalize(cur) {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out
                .components()
                .all(|c| !matches!(c, Component::ParentDir))
                .then_some(out);
        }
    }
}

impl Reach {
    /// Confined to `roots` (each resolved; ones that do not exist are left out).
    pub fn new(roots: impl IntoIterator<Item = PathBuf>) -> Reach {
        Reach {
            roots: roots
                .into_iter()
                .filter_map(|r| crate::platform::canonicalize(&r).ok())
                .collect(),
        }
    }

    /// The folders reachable.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// `path` if it lies inside a root (after resolving links); `what` names it in the error.
    pub fn path(&self, path: &str, what: &str) -> Result<PathBuf, ApiError> {
        // checked exactly as it will be used: no trimming
        let p = Path::new(path);
        if path.trim() != path || !p.is_absolute() {
            return Err(outside(what));
        }
        let r = resolved(p).ok_or_else(|| outside(what))?;
        if self.roots.iter().any(|root| r.starts_with(root)) {
            Ok(p.to_path_buf())
        } else {
            Err(outside(what))
        }
    }

    /// Whether a destination may be used: the data home's folder archive, a `folder:` inside
    /// a root, or a destination configured by name in `deposit.toml` (no URL typed in).
    pub fn destination(
        &self,
        dest: &str,
        settings: &crate::api::resolve::Resolved,
    ) -> Result<(), ApiError> {
        let dest = dest.trim();
        // a configured folder archive is held to the roots too (settings can be saved from here)
        let url = settings.config.destination_url(dest);
        if let Some(p) = url.strip_prefix("folder:").filter(|p| !p.is_empty()) {
            return self.path(p, "that folder").map(|_| ());
        }
        if settings.config.destinations.contains_key(dest) {
            return Ok(());
        }
        if matches!(dest, "folder:" | "folder" | "archive") {
            return Ok(());
        }
        Err(ApiError::usage(
            "reach.destination_not_configured",
            "this server reaches only destinations configured in deposit.toml (by name)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_or_padded_path_inside_a_root_does_not_lead_out() {
        let root = tempfile::tempdir().expect("root");
        let outside = tempfile::tempdir().expect("outside");
        let link = root.path().join("drop");
        std::os::unix::fs::symlink(outside.path().join("not-yet"), &link).expect("link");
        let r = Reach::new([root.path().to_path_buf()]);
        let via = link.display().to_string();
        assert!(r.path(&via, "output").is_err(), "dangling link refused");
        assert!(r.path(&format!("{via}/x.csv"), "table").is_err());
        let fine = root.path().join("new.csv").display().to_string();
        assert!(r.path(&fine, "table").is_ok());
        assert!(
            r.path(&format!(" {fine}"), "table").is_err(),
            "checked as used"
        );
    }

    #[test]
    fn inside_and_outside() {
        let root = tempfile::tempdir().expect("root");
        let other = tempfile::tempdir().expect("other");
        let reach = Reach::new([root.path().to_path_buf()]);
        let inside = root.path().join("a/b.txt");
        assert!(reach.path(&inside.display().to_string(), "x").is_ok());
        assert!(reach
            .path(&other.path().display().to_string(), "x")
            .is_err());
        let up = format!("{}/../x", root.path().display());
        assert!(reach.path(&up, "x").is_err());
        assert!(reach.path("relative/path", "x").is_err());
        #[cfg(unix)]
        {
            let link = root.path().join("link");
            std::os::unix::fs::symlink(other.path(), &link).expect("link");
            let through = link.join("f");
            assert!(reach.path(&through.display().to_string(), "x").is_err());
        }
    }
}
