//! The "no PHI left" check: no canary string may appear in any output file's bytes (ASCII
//! case-insensitive, and as UTF-16LE) nor in any output path. Reusable over any output folder
//! and any canary list (e.g. the synthetic canary corpus).
#![allow(dead_code)] // each test binary uses a part of it

use std::path::{Path, PathBuf};

/// One place a canary was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The file (or path) where it was found.
    pub path: PathBuf,
    /// The canary.
    pub canary: String,
    /// "bytes" or "path".
    pub place: &'static str,
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() || hay.len() < needle.len() {
        return false;
    }
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

fn files_under(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.push(p.clone());
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every leak of any canary under `root` (file contents and paths relative to `root`).
pub fn find_leaks(root: &Path, canaries: &[&str]) -> Vec<Leak> {
    let mut entries = Vec::new();
    files_under(root, &mut entries);
    let mut leaks = Vec::new();
    for p in entries {
        let rel = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .to_string_lossy()
            .to_string();
        for c in canaries {
            if contains_ci(rel.as_bytes(), c.as_bytes()) {
                leaks.push(Leak {
                    path: p.clone(),
                    canary: c.to_string(),
                    place: "path",
                });
            }
        }
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap_or_default();
            for c in canaries {
                if contains_ci(&bytes, c.as_bytes()) || contains_ci(&bytes, &utf16le(c)) {
                    leaks.push(Leak {
                        path: p.clone(),
                        canary: c.to_string(),
                        place: "bytes",
                    });
                }
            }
        }
    }
    leaks
}

/// Panics with every leak listed when any canary is found under `root`.
pub fn assert_no_leaks(root: &Path, canaries: &[&str]) {
    let leaks = find_leaks(root, canaries);
    assert!(
        leaks.is_empty(),
        "PHI canaries left in the output: {leaks:#?}"
    );
}
