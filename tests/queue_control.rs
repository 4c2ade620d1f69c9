//! Queue control through the real binary against the XNAT-compatible test server: a running
//! send is paused by `deposit queue pause` from another process (pieces in flight finish, no new
//! one starts, the job shows `paused`) and `queue resume` finishes it exactly once; `queue retry`
//! re-delivers a failed study; `queue cancel` stops a running send, keeps an audit record per
//! study and removes the unsent pieces from the outbox; bad selections are usage errors.

use crate::support::cli::outbox;
use deposit::archive::md5_hex;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deposit_xnat_server::{Config, Faults, Server};
use serde_json::Value;

const SECRET: &str = "wonderland";

fn cmd(tmp: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deposit"));
    c.args(args)
        .env("DEPOSIT_HOME", tmp.join("home"))
        .env("HOME", tmp)
        .env("DEPOSIT_PASSWORD", SECRET)
        .env_remove("NETRC");
    c
}

fn deposit(tmp: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = cmd(tmp, args).output().expect("run deposit");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        format!("{stdout}\n{stderr}"),
    )
}

fn corpus(tmp: &Path) -> (PathBuf, u64) {
    let dir = tmp.join("incoming");
    let cfg = deposit_synth::Config {
        patients: 3,
        ct_slices: 4,
        rows: 64,
        cols: 64,
        ..Default::default()
    };
    let m = deposit_synth::generate(&dir, &cfg).expect("corpus");
    (dir, m.counts.instances)
}

fn imports(server: &Server) -> usize {
    server
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/services/import"))
        .count()
}

fn md5s(files: &[PathBuf]) -> Vec<String> {
    let mut v: Vec<String> = files
        .iter()
        .map(|f| md5_hex(&std::fs::read(f).expect("read")))
        .collect();
    v.sort();
    v
}

/// Starts a send paced by slow imports (one piece at a time) and waits for its first import.
fn start_send(tmp: &Path, dir: &Path, server: &Server) -> Child {
    let to = format!(
        "xnat+http://alice@127.0.0.1:{}?project=TRIAL",
        server.port()
    );
    let child = cmd(
        tmp,
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &to,
            "--json",
            "--concurrency",
            "1",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(300);
    while imports(server) < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn studies(tmp: &Path) -> Vec<Value> {
    let (_, q, all) = deposit(tmp, &["queue", "list", "--json"]);
    q["jobs"][0]["studies"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{all}"))
}

#[test]
fn pause_from_another_process_then_resume_finishes_exactly_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, instances) = corpus(tmp.path());
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    server.set_faults(Faults {
        slow_imports: 1000,
        slow_delay: Duration::from_millis(400),
        ..Default::default()
    });
    let child = start_send(tmp.path(), &dir, &server);
    let (code, p, all) = deposit(tmp.path(), &["queue", "pause", "1", "--json"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(p["jobs"], serde_json::json!([1]), "{p}");
    let out = child.wait_with_output().expect("wait");
    let s: Value = serde_json::from_slice(&out.stdout).expect("send json");
    assert_eq!(out.status.code(), Some(1), "not everything delivered: {s}");
    assert!(s["paused"].as_u64().unwrap_or(0) >= 1, "{s}");
    let sent_before = imports(&server);
    let (_, q, _) = deposit(tmp.path(), &["queue", "list", "--json"]);
    assert_eq!(q["jobs"][0]["state"], "paused", "{q}");
    // a plain run leaves a paused job alone
    let (code, r, all) = deposit(tmp.path(), &["queue", "run", "--json"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(r["sent"], 0, "{r}");
    assert!(r["paused"].as_u64().unwrap_or(0) >= 1, "{r}");
    assert_eq!(imports(&server), sent_before, "nothing sent while paused");

    let (code, r, all) = deposit(tmp.path(), &["queue", "resume", "1", "--json"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(r["changed"]["jobs"], serde_json::json!([1]), "{r}");
    assert_eq!(r["failed"], 0, "{r}");
    for st in studies(tmp.path()) {
        assert_eq!(st["state"], "verified", "{st}");
    }
    let archived = server.archive_files();
    assert_eq!(md5s(&archived), md5s(&outbox(tmp.path())), "exactly once");
    assert!(archived.len() as u64 <= instances);
}

#[test]
fn retry_redelivers_a_failed_study() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus(tmp.path());
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    // XNAT's 400 is retried once, then the study fails with the reason
    server.set_faults(Faults {
        import_statuses: vec![400, 400],
        ..Default::default()
    });
    let to = format!(
        "xnat+http://alice@127.0.0.1:{}?project=TRIAL",
        server.port()
    );
    let (code, s, all) = deposit(
        tmp.path(),
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &to,
            "--json",
            "--concurrency",
            "1",
        ],
    );
    assert_eq!(code, 1, "{all}");
    assert!(s["failed"].as_u64().unwrap_or(0) > 0, "{s}");
    assert!(studies(tmp.path()).iter().any(|st| st["state"] == "failed"));
    let (code, r, all) = deposit(tmp.path(), &["queue", "retry", "all", "--json"]);
    assert_eq!(code, 0, "{all}");
    assert!(r["changed"]["studies"].as_u64().unwrap_or(0) >= 1, "{r}");
    for st in studies(tmp.path()) {
        assert_eq!(st["state"], "verified", "{st}");
    }
    assert_eq!(
        md5s(&server.archive_files()),
        md5s(&outbox(tmp.path())),
        "everything, once"
    );
}

#[test]
fn cancel_stops_a_running_send_keeps_audit_and_cleans_the_outbox() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus(tmp.path());
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    server.set_faults(Faults {
        slow_imports: 1000,
        slow_delay: Duration::from_millis(400),
        ..Default::default()
    });
    let child = start_send(tmp.path(), &dir, &server);
    let outbox_before = outbox(tmp.path()).len();
    let (code, _, all) = deposit(tmp.path(), &["queue", "cancel"]);
    assert_eq!(code, 2, "cancel needs an id or 'all': {all}");
    let (code, c, all) = deposit(tmp.path(), &["queue", "cancel", "1", "--json"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(c["jobs"], serde_json::json!([1]), "{c}");
    let out = child.wait_with_output().expect("wait");
    let s: Value = serde_json::from_slice(&out.stdout).expect("send json");
    assert_eq!(out.status.code(), Some(1), "{s}");
    let after = imports(&server);
    let (_, q, _) = deposit(tmp.path(), &["queue", "list", "--json"]);
    assert_eq!(q["jobs"][0]["state"], "cancelled", "{q}");
    let mut cancelled = 0;
    for st in q["jobs"][0]["studies"].as_array().expect("studies") {
        if st["state"] == "cancelled" {
            cancelled += 1;
            let a = &st["audit"];
            assert!(a["cancelled_at"].as_i64().unwrap_or(0) > 0, "{a}");
            assert!(a["files"].as_u64().unwrap_or(0) > 0, "{a}");
        }
    }
    assert!(cancelled >= 1, "{q}");
    let removed = c["cancel"]["outbox_files_removed"].as_u64().unwrap_or(0);
    assert!(removed > 0, "{c}");
    assert_eq!(
        outbox(tmp.path()).len() as u64,
        outbox_before as u64 - removed
    );
    // nothing more is sent for it, by any command
    let (code, r, all) = deposit(tmp.path(), &["queue", "run", "--json"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(r["sent"], 0, "{r}");
    let (_, _, _) = deposit(tmp.path(), &["queue", "retry", "1", "--json"]);
    assert_eq!(imports(&server), after, "nothing sent after the cancel");
    let (code, _, all) = deposit(tmp.path(), &["queue", "pause", "42"]);
    assert_eq!(code, 2, "unknown job: {all}");
}
