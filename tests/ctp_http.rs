//! Delivery to a central CTP's HttpImportService (`ctp+http://…`) through the real `deposit`
//! binary, against the CTP-compatible receiver in tests/xnat_server (src/ctp.rs): several studies
//! delivered and verified (the receiver's files are exactly the outbox bytes, once each, with no
//! identity canary), status bursts / dropped connections / non-`OK` answers / bodies damaged in
//! transit (digest mismatch → 404 → retry) recovered, refused credentials permanent and never
//! shown, the receiver going offline mid-send waited out by the same process, and the audit
//! record complete.

use crate::support;
use crate::support::cli::{md5_counts, n, outbox};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deposit_xnat_server::{CtpConfig, CtpFaults, CtpReceiver};
use serde_json::Value;

const SECRET: &str = "central-Secret-7";

use support::cli::Run;

fn deposit(tmp: &Path, args: &[&str], password: Option<&str>) -> Run {
    support::cli::deposit_isolated(tmp, args, password)
}

fn corpus(tmp: &Path, patients: usize) -> (PathBuf, deposit_synth::Manifest) {
    let dir = tmp.join("incoming");
    let cfg = deposit_synth::Config {
        patients,
        ct_slices: 4,
        rows: 64,
        cols: 64,
        ..Default::default()
    };
    let m = deposit_synth::generate(&dir, &cfg).expect("generate corpus");
    (dir, m)
}

fn receiver(tmp: &Path) -> CtpReceiver {
    CtpReceiver::start(
        &tmp.join("central"),
        CtpConfig {
            users: vec![("site1".into(), SECRET.into())],
            ..Default::default()
        },
    )
    .expect("receiver")
}

fn dest(r: &CtpReceiver) -> String {
    format!("ctp+http://site1@127.0.0.1:{}/", r.port())
}

fn posts(r: &CtpReceiver) -> usize {
    r.seen().iter().filter(|s| s.method == "POST").count()
}

/// The receiver holds exactly the outbox bytes, once each, and no canary.
fn check_delivered(tmp: &Path, r: &CtpReceiver, m: &deposit_synth::Manifest, s: &Value) {
    let delivered = n(s, "sent") + n(s, "already_present");
    assert_eq!(delivered + n(s, "quarantined"), m.counts.instances, "{s}");
    assert_eq!(n(s, "verified"), delivered, "{s}");
    let got = r.files();
    assert_eq!(got.len() as u64, delivered, "one file per instance");
    let on_receiver = md5_counts(&got);
    assert!(on_receiver.values().all(|c| *c == 1), "no duplicates");
    assert_eq!(on_receiver, md5_counts(&outbox(tmp)), "receiver = outbox");
    let canaries: Vec<&str> = m.canaries.iter().map(|c| c.canary.as_str()).collect();
    assert!(canaries.len() > 10);
    support::canary::assert_no_leaks(&tmp.join("central"), &canaries);
}

#[test]
fn several_studies_delivered_verified_with_a_complete_audit() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, m) = corpus(tmp.path(), 3);
    let r = receiver(tmp.path());
    let to = dest(&r);
    let out = deposit(
        tmp.path(),
        &["send", &dir.display().to_string(), "--to", &to, "--json"],
        Some(SECRET),
    );
    let s = out.json.clone().unwrap_or_else(|| panic!("{}", out.all));
    assert_eq!(out.code, 0, "{s} {}", out.all);
    assert!(n(&s, "sent") > 0, "{s}");
    check_delivered(tmp.path(), &r, &m, &s);
    // one POST per object, every one with the CTP headers the receiver insists on
    assert_eq!(posts(&r) as u64, n(&s, "sent"));
    assert!(r
        .seen()
        .iter()
        .all(|x| x.method != "POST" || x.status == 200));
    assert!(!out.all.contains(SECRET));

    let q = deposit(tmp.path(), &["queue", "list", "--json"], None);
    let jobs = q.json.unwrap_or_else(|| panic!("{}", q.all));
    let job = &jobs["jobs"][0];
    assert_eq!(job["state"], "done", "{job}");
    let studies = job["studies"].as_array().expect("studies");
    assert!(studies.len() >= 3, "several studies: {job}");
    for st in studies {
        assert_eq!(st["state"], "verified", "{st}");
        let a = &st["audit"];
        assert_eq!(a["destination"], to.trim_end_matches('/'), "{a}");
        assert_eq!(a["profile"]["name"], job["profile"]["name"], "{a}");
        assert_eq!(
            a["profile"]["sha256"].as_str().map(str::len),
            Some(64),
            "{a}"
        );
        assert!(a["files"].as_u64().unwrap_or(0) > 0 && a["bytes"].as_u64().unwrap_or(0) > 0);
        for k in ["queued_at", "delivered_at", "committed_at", "verified_at"] {
            assert!(a[k].as_i64().unwrap_or(0) > 0, "{k}: {a}");
        }
        assert_eq!(a["verification"]["result"], "ok", "{a}");
        assert!(
            a["verification"]["method"]
                .as_str()
                .unwrap_or_default()
                .contains("Digest"),
            "{a}"
        );
    }
    // a second send (bandwidth-capped) re-sends identical bytes; the receiver overwrites,
    // nothing doubles
    let again = deposit(
        tmp.path(),
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &to,
            "--json",
            "--max-rate",
            "20MB/s",
        ],
        Some(SECRET),
    );
    let s2 = again.json.unwrap_or_else(|| panic!("{}", again.all));
    assert_eq!(again.code, 0, "{s2}");
    assert_eq!(r.files().len() as u64, n(&s, "sent"));
    let bad = deposit(
        tmp.path(),
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &to,
            "--max-rate",
            "fast",
        ],
        Some(SECRET),
    );
    assert_eq!(bad.code, 2, "{}", bad.all);
}

#[test]
fn faults_are_retried_to_completion() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, m) = corpus(tmp.path(), 2);
    let r = receiver(tmp.path());
    r.set_faults(CtpFaults {
        statuses: vec![404, 503, 500],
        drop: 2,
        drop_after: 1500,
        not_ok: 1,
        corrupt: 2,
        ..Default::default()
    });
    let out = deposit(
        tmp.path(),
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &dest(&r),
            "--json",
            "--concurrency",
            "1",
        ],
        Some(SECRET),
    );
    let s = out.json.clone().unwrap_or_else(|| panic!("{}", out.all));
    assert_eq!(out.code, 0, "{s} {}", out.all);
    check_delivered(tmp.path(), &r, &m, &s);
    let seen = r.seen();
    assert_eq!(seen.iter().filter(|x| x.status == 0).count(), 2, "drops");
    assert!(
        seen.iter().any(|x| x.status == 404),
        "digest mismatches answered 404"
    );
    // every fault cost exactly one more POST of a whole object (a piece re-sends its objects
    // from the failed one on: count only what the faults forced, per object)
    assert!(posts(&r) as u64 >= n(&s, "sent") + 8, "{} posts", posts(&r));
}

#[test]
fn refused_credentials_are_permanent_and_never_shown() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus(tmp.path(), 1);
    let r = receiver(tmp.path());
    let bad = "wrong-Secret-99";
    let out = deposit(
        tmp.path(),
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &dest(&r),
            "--json",
        ],
        Some(bad),
    );
    assert_eq!(out.code, 1, "{}", out.all);
    let e = out.json.clone().unwrap_or_else(|| panic!("{}", out.all));
    assert_eq!(e["error"]["class"], "permanent", "{e}");
    assert!(out.all.contains("credentials refused"), "{}", out.all);
    assert!(!out.all.contains(bad));
    assert_eq!(posts(&r), 0, "nothing sent");
    assert_eq!(r.seen().len(), 1, "one probe, not retried");
    assert!(r.files().is_empty());
}

#[test]
fn receiver_offline_mid_send_is_waited_out_by_the_same_process() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, m) = corpus(tmp.path(), 3);
    let r = receiver(tmp.path());
    // slow answers keep the send going long enough to take the receiver away mid-way
    r.set_faults(CtpFaults {
        slow: 10_000,
        slow_delay: Duration::from_millis(100),
        ..Default::default()
    });
    let stderr_path = tmp.path().join("stderr.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args([
            "send",
            &dir.display().to_string(),
            "--to",
            &dest(&r),
            "--json",
            "--concurrency",
            "1",
        ])
        .env("DEPOSIT_HOME", tmp.path().join("home"))
        .env("HOME", tmp.path())
        .env("DEPOSIT_PASSWORD", SECRET)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(300);
    while posts(&r) < 3 && Instant::now() < deadline {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished too early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    r.go_offline();
    // longer than the retries of one request: the send must go into its offline wait
    std::thread::sleep(Duration::from_secs(9));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the send gave up while the receiver was away"
    );
    r.go_online().expect("back online");
    let out = child.wait_with_output().expect("wait");
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let s: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(out.status.code(), Some(0), "{s}\n{stderr}");
    assert!(
        stderr.contains("offline — will resume when online"),
        "{stderr}"
    );
    assert!(n(&s, "offline_periods") >= 1, "{s}");
    check_delivered(tmp.path(), &r, &m, &s);
}
