//! The layer rules of docs/architecture.md, enforced: every `crate::…` path in a module of
//! src/ (and every `deposit::…` path in the desktop shell) must name a module its layer may use.
//! A new top-level module must be given its place here (and in docs/architecture.md) before it
//! can be used; every source file must open with a `//!` line saying what it is for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which top-level modules each top-level module of src/ may name through `crate::`.
/// Keep in step with the table in docs/architecture.md.
fn rules() -> BTreeMap<&'static str, Vec<&'static str>> {
    // pure helpers with no DICOM flow in them, usable from anywhere
    const PURE: &[&str] = &["error", "units", "calendar", "implementation", "platform"];
    // plus the file system and the data home
    const FOUNDATION: &[&str] = &[
        "error",
        "units",
        "calendar",
        "implementation",
        "platform",
        "durable",
        "home",
        "logging",
    ];
    let with = |base: &[&'static str], more: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(more).copied().collect()
    };
    let mut r = BTreeMap::new();
    r.insert("error", vec![]);
    r.insert("units", vec!["error"]);
    r.insert("calendar", vec![]);
    r.insert("implementation", vec![]);
    r.insert("platform", vec![]);
    r.insert("durable", vec!["platform"]);
    r.insert("home", vec!["error", "durable", "platform"]);
    r.insert("logging", vec!["error", "durable", "home", "platform"]);
    // shared protocol and language plumbing
    r.insert("dimse", with(PURE, &[]));
    r.insert("ctp_expr", with(PURE, &[]));
    // settings: below everything that reads them
    r.insert("config", with(FOUNDATION, &["dimse", "deid"]));
    // the engine, in the order data flows
    r.insert("intake", with(FOUNDATION, &[]));
    r.insert("deid", with(PURE, &["ctp_expr"]));
    r.insert("pixels", with(FOUNDATION, &["ctp_expr", "intake"]));
    r.insert("catalog", with(FOUNDATION, &["intake", "deid"]));
    r.insert(
        "pipeline",
        with(FOUNDATION, &["intake", "catalog", "deid", "pixels"]),
    );
    r.insert("archive", with(FOUNDATION, &["dimse", "config"]));
    r.insert("queue", with(FOUNDATION, &["archive", "catalog"]));
    r.insert("receive", with(FOUNDATION, &["dimse", "intake", "catalog"]));
    // the one surface every front door calls: may use the whole engine
    r.insert(
        "api",
        with(
            FOUNDATION,
            &[
                "dimse", "ctp_expr", "config", "intake", "deid", "pixels", "catalog", "pipeline",
                "archive", "queue", "receive",
            ],
        ),
    );
    // front doors: they only wire
    r.insert("cli", with(PURE, &["logging", "api", "web"]));
    r.insert("web", with(PURE, &["logging", "api"]));
    // the crate root and the binary's entry point wire the front doors
    r.insert("lib", vec![]);
    r.insert("main", vec!["cli"]);
    r
}

/// What the desktop shell (src-tauri/src) may name through `deposit::`: the api, its errors, and
/// the api's command table (`deposit_commands!`, a macro, so exported at the crate root).
const SHELL_MAY_USE: &[&str] = &["api", "error", "deposit_commands"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of src/ belongs to (`src/api/send.rs` → `api`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// Strips `//` comments (line and doc) so prose mentioning a path does not count.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| {
        let code = match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        };
        (i + 1, code)
    })
}

/// Every `PREFIX::name` in the code of `text` (e.g. `crate::archive` → `archive`), with lines.
/// A grouped import `use crate::{a, b::c}` names each of its first segments.
fn named_modules(text: &str, prefix: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let needle = format!("{prefix}::");
    for (n, line) in code_lines(text) {
        let mut rest = line;
        while let Some(at) = rest.find(&needle) {
            // `foo_crate::` is not `crate::`
            let before = rest[..at].chars().last();
            let after = &rest[at + needle.len()..];
            rest = after;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = after.strip_prefix('{') {
                let body = group.split('}').next().unwrap_or("");
                for part in body.split(',') {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != "self" {
                        found.push((n, name));
                    }
                }
                continue;
            }
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((n, name));
            }
        }
    }
    found
}

/// A source file's text and the name it is shown by; what is wrong with the file itself (it
/// cannot be read, or does not open with a `//!` line) is added to `out`.
fn read_source(file: &Path, out: &mut Vec<String>) -> Option<(String, String)> {
    let shown = file
        .strip_prefix(root())
        .unwrap_or(file)
        .display()
        .to_string();
    let Ok(text) = std::fs::read_to_string(file) else {
        out.push(format!("{shown}: cannot be read"));
        return None;
    };
    if !text.trim_start().starts_with("//!") {
        out.push(format!(
            "{shown}: does not open with a `//!` line saying what it is for"
        ));
    }
    Some((shown, text))
}

/// The violations of the rules in the tree at `src` (and the shell at `shell`), one per line.
fn violations(src: &Path, shell: &Path) -> Vec<String> {
    let rules = rules();
    let mut out = Vec::new();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let known: BTreeSet<&str> = rules.keys().copied().collect();
    for file in &files {
        let module = module_of(src, file);
        let Some((shown, text)) = read_source(file, &mut out) else {
            continue;
        };
        let Some(allowed) = rules.get(module.as_str()) else {
            out.push(format!(
                "{shown}: module `{module}` has no place in the layer rules (tests/layers.rs, docs/architecture.md)"
            ));
            continue;
        };
        for (line, used) in named_modules(&text, "crate") {
            if used == module {
                continue;
            }
            if !known.contains(used.as_str()) {
                // an item of the crate root (e.g. a re-export in lib.rs): not a module
                continue;
            }
            if !allowed.contains(&used.as_str()) {
                out.push(format!(
                    "{shown}:{line}: `{module}` may not use `{used}` (see docs/architecture.md)"
                ));
            }
        }
    }
    let mut shell_files = Vec::new();
    rust_files(shell, &mut shell_files);
    shell_files.sort();
    for file in &shell_files {
        let Some((shown, text)) = read_source(file, &mut out) else {
            continue;
        };
        for (line, used) in named_modules(&text, "deposit") {
            if !SHELL_MAY_USE.contains(&used.as_str()) {
                out.push(format!(
                    "{shown}:{line}: the desktop shell may not use `deposit::{used}`: only the api"
                ));
            }
        }
    }
    out
}

#[test]
fn every_module_keeps_to_its_layer() {
    let v = violations(&root().join("src"), &root().join("src-tauri/src"));
    assert!(
        v.is_empty(),
        "{} layer rule violations:\n{}",
        v.len(),
        v.join("\n")
    );
}

#[test]
fn every_module_of_src_has_a_place_in_the_rules() {
    let rules = rules();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&root().join("src"), f))
        .collect();
    let missing: Vec<&String> = modules
        .iter()
        .filter(|m| !rules.contains_key(m.as_str()))
        .collect();
    assert!(missing.is_empty(), "modules without a layer: {missing:?}");
}

/// `unsafe_code` is denied for the workspace; only the Win32 calls of `platform` opt out.
#[test]
fn only_the_platform_module_may_allow_unsafe_code() {
    let mut files = Vec::new();
    for d in ["src", "src-tauri/src", "tests"] {
        rust_files(&root().join(d), &mut files);
    }
    let allowed = root().join("src/platform.rs");
    let this = root().join("tests/layers.rs");
    let opting_out: Vec<String> = files
        .iter()
        .filter(|f| **f != allowed && **f != this)
        .filter(|f| {
            std::fs::read_to_string(f)
                .is_ok_and(|t| code_lines(&t).any(|(_, l)| l.contains("allow(unsafe_code)")))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        opting_out.is_empty(),
        "allow(unsafe_code) in {opting_out:?}"
    );
}

/// The checker itself: a forbidden import in a scratch tree is caught, with file and line;
/// an allowed one, a comment and another crate's `crate::`-looking name are not.
#[test]
fn a_forbidden_import_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    let shell = dir.path().join("shell");
    std::fs::create_dir_all(src.join("deid")).expect("mkdir");
    std::fs::create_dir_all(src.join("archive")).expect("mkdir");
    std::fs::create_dir_all(&shell).expect("mkdir");
    std::fs::write(
        src.join("deid/mod.rs"),
        "//! pure\nuse crate::error::Classify;\n// crate::api is only a comment\nuse crate::{error, queue::store};\n",
    )
    .expect("write");
    std::fs::write(
        src.join("archive/mod.rs"),
        "//! destinations\nfn f() { my_crate::api::x(); crate::api::send(); }\n",
    )
    .expect("write");
    std::fs::write(src.join("nowhere.rs"), "fn f() {}\n").expect("write");
    std::fs::write(
        shell.join("commands.rs"),
        "//! shell\nuse deposit::api::Session;\nuse deposit::queue::store::JobView;\n",
    )
    .expect("write");
    let v = violations(&src, &shell);
    let text = v.join("\n");
    assert!(
        text.contains("deid/mod.rs:4: `deid` may not use `queue`"),
        "{text}"
    );
    assert!(
        text.contains("archive/mod.rs:2: `archive` may not use `api`"),
        "{text}"
    );
    assert!(
        text.contains("nowhere.rs: does not open with a `//!` line"),
        "{text}"
    );
    assert!(text.contains("module `nowhere` has no place"), "{text}");
    assert!(
        text.contains("commands.rs:3: the desktop shell may not use `deposit::queue`"),
        "{text}"
    );
    assert_eq!(v.len(), 5, "{text}");
}
