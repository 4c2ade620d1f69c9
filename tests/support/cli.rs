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
