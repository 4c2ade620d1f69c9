//! Running the real `deposit` binary from integration tests, and walking what it wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[allow(dead_code)]
/// Runs `deposit ARGS` with `DEPOSIT_HOME=home`; returns (exit status, the one JSON object on
/// stdout, stderr). Panics when stdout is not exactly one JSON object.
pub fn deposit(home: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", home)
        // never the machine's own deposit.toml: tests bring their configuration with --config
        .env("DEPOSIT_CONFIG", home.join("no-config.toml"))
        .output()
        .expect("run deposit");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("stdout is not one JSON object ({e}): {stdout}\nstderr: {stderr}")
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// Every `.dcm` file under `root`, sorted.
#[allow(dead_code)]
pub fn dcm_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "dcm") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// What a run of `deposit` gave: exit status, its JSON (when stdout is one object), and
/// stdout + stderr for failure messages.
#[allow(dead_code)]
pub struct Run {
    pub code: i32,
    pub json: Option<Value>,
    pub all: String,
}

/// Runs `deposit ARGS` with everything a destination's secret could come from cleared — data
/// home and `HOME` under `tmp`, no `NETRC`, no session D-Bus (so no keyring), no machine
/// `deposit.toml` — and `DEPOSIT_PASSWORD` set only when `password` is given.
#[allow(dead_code)]
pub fn deposit_isolated(tmp: &Path, args: &[&str], password: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deposit"));
    cmd.args(args)
        .env("DEPOSIT_HOME", tmp.join("home"))
        .env("DEPOSIT_CONFIG", tmp.join("no-config.toml"))
        .env("HOME", tmp)
        .env_remove("NETRC")
        .env_remove("DEPOSIT_PASSWORD")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    if let Some(p) = password {
        cmd.env("DEPOSIT_PASSWORD", p);
    }
    let out = cmd.output().expect("run deposit");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(stdout.trim()).ok(),
        all: format!("{stdout}\n{stderr}"),
    }
}

/// How many times each MD5 occurs among `files` (to compare what an archive holds with what
/// was sent, copies counted).
#[allow(dead_code)]
pub fn md5_counts(files: &[PathBuf]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for f in files {
        let b = std::fs::read(f).expect("read");
        *m.entry(deposit::archive::md5_hex(&b)).or_default() += 1;
    }
    m
}

/// The de-identified files in the outbox of the data home `tmp/home`.
#[allow(dead_code)]
pub fn outbox(tmp: &Path) -> Vec<PathBuf> {
    deposit_xnat_server::files_under(&tmp.join("home/outbox"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect()
}

/// A count in a command's JSON answer (`u64::MAX` when missing, so that it never passes for 0).
#[allow(dead_code)]
pub fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(u64::MAX)
}
