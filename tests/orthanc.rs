//! Delivery to real DICOM peers started by the test on loopback: Orthanc (C-STORE SCP and the
//! DICOMweb plugin's STOW-RS/QIDO-RS) and dcmtk's `storescp`. Contents are checked through
//! Orthanc's REST API and the files it hands back (no canary may survive), re-sends must not
//! duplicate, and a destination that is down leaves the job waiting until `deposit queue run`.
//!
//! Peers missing: the tests fail when DEPOSIT_REQUIRE_PEERS=1, else they skip with a message.

use crate::support;
use crate::support::cli::n;

use support::cli::deposit;
use support::orthanc::{free_port, peer, Orthanc, ORTHANC_AE};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Corpus {
    dir: PathBuf,
    instances: u64,
    canaries: Vec<String>,
}

fn corpus(root: &Path, patients: usize) -> Corpus {
    let dir = root.join("incoming");
    let cfg = deposit_synth::Config {
        patients,
        ct_slices: 3,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    let m = deposit_synth::generate(&dir, &cfg).expect("generate corpus");
    Corpus {
        dir,
        instances: m.counts.instances,
        canaries: m
            .canaries
            .iter()
            .filter(|c| c.kind != "pixels")
            .map(|c| c.canary.clone())
            .collect(),
    }
}

/// The audit URIs of the studies in the queue.
fn audit_uris(home: &Path) -> Vec<String> {
    let (_, jobs, _) = deposit(home, &["queue", "list", "--json"]);
    let mut out = Vec::new();
    for j in jobs["jobs"].as_array().into_iter().flatten() {
        for st in j["studies"].as_array().into_iter().flatten() {
            out.push(st["audit"]["uri"].as_str().unwrap_or("").to_string());
        }
    }
    out
}

/// Sends the corpus, checks the summary, Orthanc's holdings and the bytes it gives back.
fn send_and_check(
    tmp: &Path,
    home: &Path,
    c: &Corpus,
    o: &Orthanc,
    dest: &str,
    label: &str,
) -> (Vec<String>, Value) {
    let (code, s, stderr) = deposit(
        home,
        &["send", &c.dir.display().to_string(), "--to", dest, "--json"],
    );
    assert_eq!(code, 0, "{label}: json {s}; stderr {stderr}");
    assert_eq!(n(&s, "failed"), 0, "{s}");
    assert_eq!(n(&s, "waiting"), 0, "{s}");
    assert!(
        n(&s, "quarantined") >= 1,
        "burned-in ultrasound is held: {s}"
    );
    let delivered = n(&s, "sent") + n(&s, "already_present");
    assert_eq!(delivered + n(&s, "quarantined"), c.instances, "{s}");
    assert_eq!(n(&s, "verified"), delivered, "{s}");
    let back = tmp.join(format!("back-{label}"));
    let uids = o.download_all(&back);
    assert_eq!(
        uids.len() as u64,
        delivered,
        "Orthanc holds each instance once"
    );
    let canaries: Vec<&str> = c.canaries.iter().map(String::as_str).collect();
    assert!(canaries.len() > 10);
    support::canary::assert_no_leaks(&back, &canaries);
    (uids, s)
}

#[test]
fn cstore_to_orthanc_delivers_clean_instances_once() {
    let Some(bin) = peer("Orthanc") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let c = corpus(tmp.path(), 2);
    let o = Orthanc::start(&bin, &tmp.path().join("orthanc"), free_port(), free_port());
    let home = tmp.path().join("home");
    let dest = format!("dicom://{ORTHANC_AE}@127.0.0.1:{}", o.dicom);
    let (first, _) = send_and_check(tmp.path(), &home, &c, &o, &dest, "cstore-1");
    let received = o.received().len();
    assert_eq!(received, first.len(), "one C-STORE per instance");
    // sending again: the delivery ledger knows what this archive acknowledged (C-STORE cannot
    // be listed before sending), so nothing goes out and all is already present
    let (again, s) = send_and_check(tmp.path(), &home, &c, &o, &dest, "cstore-2");
    assert_eq!(first, again);
    assert_eq!(
        (n(&s, "sent"), n(&s, "already_present")),
        (0, first.len() as u64),
        "{s}"
    );
    assert_eq!(o.received().len(), received, "Orthanc received nothing new");
    let uris = audit_uris(&home);
    assert!(!uris.is_empty());
    for u in &uris {
        assert!(u.ends_with("(verified by C-FIND)"), "{u}");
    }

    // a called AE the peer does not recognise: refused for good, nothing queued as waiting
    let wrong = format!("dicom://NOT_ORTHANC@127.0.0.1:{}", o.dicom);
    let (code, v, _) = deposit(
        &home,
        &[
            "send",
            &c.dir.display().to_string(),
            "--to",
            &wrong,
            "--json",
        ],
    );
    assert_ne!(code, 0, "{v}");
    assert_eq!(v["error"]["code"], "archive.rejected", "{v}");
    assert_eq!(v["error"]["class"], "permanent", "{v}");
}

#[test]
fn stow_rs_to_orthanc_delivers_clean_instances_once() {
    let Some(bin) = peer("Orthanc") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let c = corpus(tmp.path(), 2);
    let o = Orthanc::start(&bin, &tmp.path().join("orthanc"), free_port(), free_port());
    let home = tmp.path().join("home");
    let dest = format!("dicomweb+http://127.0.0.1:{}/dicom-web", o.http);
    let (first, _) = send_and_check(tmp.path(), &home, &c, &o, &dest, "stow-1");
    assert_eq!(
        o.received().len(),
        first.len(),
        "one STOW-RS part per instance"
    );
    // the same folder again: the ledger knows what this server acknowledged, nothing is posted
    let before = o.received().len();
    let (again, s) = send_and_check(tmp.path(), &home, &c, &o, &dest, "stow-2");
    assert_eq!(first, again);
    assert_eq!(
        (n(&s, "sent"), n(&s, "already_present")),
        (0, first.len() as u64),
        "{s}"
    );
    assert_eq!(o.received().len(), before, "nothing posted again");
}

#[test]
fn destination_down_waits_then_queue_run_completes() {
    let Some(bin) = peer("Orthanc") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let c = corpus(tmp.path(), 1);
    let (http, dicom) = (free_port(), free_port());
    let home = tmp.path().join("home");
    let dest = format!("dicom://{ORTHANC_AE}@127.0.0.1:{dicom}");
    // `--offline-wait 0`: leave the job queued instead of waiting for the peer (the default)
    let (code, s, stderr) = deposit(
        &home,
        &[
            "send",
            &c.dir.display().to_string(),
            "--to",
            &dest,
            "--json",
            "--offline-wait",
            "0",
        ],
    );
    assert_eq!(code, 1, "{s}; {stderr}");
    assert!(n(&s, "waiting") > 0, "{s}");
    assert_eq!((n(&s, "sent"), n(&s, "failed")), (0, 0), "{s}");

    let o = Orthanc::start(&bin, &tmp.path().join("orthanc"), http, dicom);
    let (code, r, stderr) = deposit(&home, &["queue", "run", "--json"]);
    assert_eq!(code, 0, "{r}; {stderr}");
    assert_eq!(n(&r, "waiting"), 0, "{r}");
    let expected = c.instances - n(&s, "quarantined");
    assert_eq!(n(&r, "sent"), expected, "{r}");
    assert_eq!(n(&r, "verified"), expected, "{r}");
    assert_eq!(o.instance_ids().len() as u64, expected);
    assert_eq!(
        o.received().len() as u64,
        expected,
        "each instance sent once"
    );
}

#[test]
fn cstore_to_dcmtk_storescp() {
    let Some(bin) = peer("storescp") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let c = corpus(tmp.path(), 1);
    let out = tmp.path().join("scp");
    std::fs::create_dir_all(&out).expect("mkdir");
    let port = free_port();
    let mut scp = Command::new(bin)
        .args(["-aet", "STORESCP", "+xa", "-od"])
        .arg(&out)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start storescp");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "storescp did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let home = tmp.path().join("home");
    let dest = format!("dicom://STORESCP@127.0.0.1:{port}?calling=DEPOSIT");
    let (code, s, stderr) = deposit(
        &home,
        &[
            "send",
            &c.dir.display().to_string(),
            "--to",
            &dest,
            "--json",
        ],
    );
    let _ = scp.kill();
    let _ = scp.wait();
    assert_eq!(code, 0, "{s}; {stderr}");
    let received = std::fs::read_dir(&out).expect("read").count() as u64;
    assert_eq!(received, n(&s, "sent"), "{s}");
    assert_eq!(n(&s, "verified"), n(&s, "sent"), "{s}");
    assert_eq!(n(&s, "sent") + n(&s, "quarantined"), c.instances, "{s}");
    let canaries: Vec<&str> = c.canaries.iter().map(String::as_str).collect();
    support::canary::assert_no_leaks(&out, &canaries);
    // storescp answers no queries: verification falls back to the C-STORE statuses
    for u in audit_uris(&home) {
        assert!(
            u.ends_with("(verified by per-instance C-STORE status)"),
            "{u}"
        );
    }
}
