//! Per-instance acknowledgements against a real Orthanc, with a relay (tests/support/relay.rs)
//! between Deposit and Orthanc that cuts every open connection once in the middle of a piece.
//! Orthanc's Lua `ReceivedInstanceFilter` counts every instance it receives (a re-send of one it
//! holds included); its REST API shows what it holds.
//!
//! - C-STORE, associations cut mid-data: only instances without a success status go again — at
//!   most the one in flight per association;
//! - C-STORE, a response lost and the peer refusing connections for a while (retries run out,
//!   the run waits offline and resumes): exactly the one instance in flight goes again;
//! - STOW-RS, the connection cut mid-request: the piece in flight is not acknowledged and goes
//!   again, the pieces acknowledged before are not re-sent;
//! - STOW-RS, the answer lost: the whole piece goes again (one request is one acknowledgement
//!   unit); Orthanc answers a re-sent instance it holds as stored, and Deposit counts each once.
//!
//! - `deposit` killed (`kill -9`) mid-send and `queue run`, and Orthanc restarted mid-send: at
//!   most the instances in flight (one per association) go again.
//!
//! Each test prints its figures. Orthanc missing: fails when DEPOSIT_REQUIRE_PEERS=1, else skips.

use crate::support;
use crate::support::cli::n;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::orthanc::{free_port, peer, Orthanc, ORTHANC_AE};
use support::relay::{Relay, Trigger};

/// Instances in the corpus: two studies of 60, one piece each (pieces of a study go in
/// parallel, studies one after the other).
const INSTANCES: usize = 120;
const PER_STUDY: usize = 60;

/// The corpus and its size in bytes.
fn corpus(tmp: &Path) -> (PathBuf, u64) {
    corpus_of(tmp, INSTANCES, PER_STUDY)
}

fn corpus_of(tmp: &Path, files: usize, per_study: usize) -> (PathBuf, u64) {
    let dir = tmp.join("incoming");
    deposit_synth::generate_bulk_studies(&dir, files, 23, 64, 64, per_study).expect("corpus");
    let bytes = support::cli::dcm_files(&dir)
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    (dir, bytes)
}

/// What a send through the relay gave.
struct Sent {
    summary: Value,
    /// Instances Orthanc had received when the relay cut.
    at_cut: usize,
}

/// Starts `deposit ARGS` with its data home in `tmp`.
fn spawn_deposit(tmp: &Path, args: &[&str]) -> Child {
    let home = tmp.join("home");
    Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", &home)
        .env("DEPOSIT_CONFIG", home.join("no-config.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run deposit")
}

/// Waits for `child` (calling `watch` every few milliseconds meanwhile, killing it after two
/// minutes); returns its JSON summary once it ended with status 0.
fn finish(child: Child, mut watch: impl FnMut()) -> Value {
    let pid = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output());
    let deadline = Instant::now() + Duration::from_secs(120);
    while !waiter.is_finished() {
        watch();
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = waiter.join().expect("waiter").expect("deposit output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or(Value::Null)
}

/// The arguments of `deposit send DIR --to DEST --json --concurrency N`.
fn send_args<'a>(dir: &'a str, dest: &'a str, concurrency: &'a str) -> [&'a str; 7] {
    [
        "send",
        dir,
        "--to",
        dest,
        "--json",
        "--concurrency",
        concurrency,
    ]
}

/// Runs `deposit send` to `dest` and watches the relay meanwhile.
fn send(tmp: &Path, dir: &Path, dest: &str, concurrency: &str, relay: &Relay, o: &Orthanc) -> Sent {
    let d = dir.display().to_string();
    let child = spawn_deposit(tmp, &send_args(&d, dest, concurrency));
    let mut at_cut = None;
    let summary = finish(child, || {
        if at_cut.is_none() && relay.cut().is_some() {
            at_cut = Some(o.received().len());
        }
    });
    Sent {
        summary,
        at_cut: at_cut.expect("the relay cut during the send"),
    }
}

/// How often Orthanc received each SOP Instance UID.
fn counts(received: &[String]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for u in received {
        *m.entry(u.as_str()).or_insert(0) += 1;
    }
    m
}

/// Every instance delivered and stored once; returns (received in all, re-sent).
fn check_once(s: &Sent, o: &Orthanc) -> (usize, usize) {
    check_n(s, o, INSTANCES)
}

fn check_n(s: &Sent, o: &Orthanc, expected: usize) -> (usize, usize) {
    let v = &s.summary;
    assert_eq!(
        (n(v, "sent") + n(v, "already_present"), n(v, "verified")),
        (expected as u64, expected as u64),
        "{v}"
    );
    assert_eq!((n(v, "failed"), n(v, "waiting")), (0, 0), "{v}");
    assert!(
        v["problems"].as_array().is_some_and(|p| p.is_empty()),
        "a resolved cut is no problem at the end: {v}"
    );
    let stored = o.stored_uids();
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(stored.len(), expected, "Orthanc holds each instance once");
    assert_eq!(distinct.len(), expected);
    let received = o.received();
    let c = counts(&received);
    assert_eq!(c.len(), expected, "instances received");
    assert!(
        c.keys().all(|u| distinct.contains(&u.to_string())),
        "received = stored"
    );
    (received.len(), received.len() - expected)
}

fn start_orthanc(tmp: &Path) -> Option<Orthanc> {
    let bin = peer("Orthanc")?;
    Some(Orthanc::start(
        &bin,
        &tmp.join("orthanc"),
        free_port(),
        free_port(),
    ))
}

#[test]
fn cstore_cut_mid_piece_resends_only_unacknowledged_instances() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(o) = start_orthanc(tmp.path()) else {
        return;
    };
    // one study of 200: two pieces of 100, both in flight at concurrency 2
    let total = 200;
    let (dir, bytes) = corpus_of(tmp.path(), total, total);
    let relay = Relay::start(o.dicom);
    relay.arm(Trigger::ClientBytes(bytes * 2 / 5), Duration::ZERO);
    let dest = format!("dicom://{ORTHANC_AE}@127.0.0.1:{}", relay.port());
    let s = send(tmp.path(), &dir, &dest, "2", &relay, &o);
    let cut = relay.cut().expect("cut");
    let (received, resent) = check_n(&s, &o, total);
    println!(
        "C-STORE, {} association(s) cut mid-data after {} of {total} instances: {received} \
         received in all, {resent} re-sent, {total} stored once ({} connections)",
        cut.open,
        s.at_cut,
        relay.accepted()
    );
    assert_eq!(n(&s.summary, "sent"), total as u64, "{}", s.summary);
    assert!(
        s.at_cut > 0 && s.at_cut < total,
        "cut mid-send: {}",
        s.at_cut
    );
    assert!(cut.open >= 2, "both pieces were in flight: {}", cut.open);
    assert!(
        resent <= 2,
        "at most one instance in flight per association (2): {resent} re-sent"
    );
}

#[test]
fn cstore_lost_response_and_peer_away_resends_the_one_instance_in_flight() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(o) = start_orthanc(tmp.path()) else {
        return;
    };
    let (dir, bytes) = corpus(tmp.path());
    let relay = Relay::start(o.dicom);
    // Orthanc stores the instance, its C-STORE response is lost, and new associations are
    // refused for longer than the retries last: the run waits offline, then resumes
    relay.arm(Trigger::Response(bytes / 3), Duration::from_secs(7));
    let dest = format!("dicom://{ORTHANC_AE}@127.0.0.1:{}", relay.port());
    let s = send(tmp.path(), &dir, &dest, "1", &relay, &o);
    let cut = relay.cut().expect("cut");
    let (received, resent) = check_once(&s, &o);
    println!(
        "C-STORE, response lost after {} of {INSTANCES} instances, then {} association(s) \
         refused: {received} received in all, {resent} re-sent, offline periods {}",
        s.at_cut,
        relay.refused(),
        n(&s.summary, "offline_periods")
    );
    assert!(cut.open >= 1, "cut mid-piece");
    assert!(
        s.at_cut > 0 && s.at_cut < PER_STUDY,
        "the response lost in the first piece: {}",
        s.at_cut
    );
    assert!(relay.refused() >= 1, "the peer was away for a while");
    assert!(n(&s.summary, "offline_periods") >= 1, "{}", s.summary);
    assert_eq!(
        resent, 1,
        "exactly the instance whose response was lost goes again"
    );
}

#[test]
fn stow_rs_cut_mid_request_resends_only_the_piece_in_flight() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(o) = start_orthanc(tmp.path()) else {
        return;
    };
    let (dir, bytes) = corpus(tmp.path());
    let relay = Relay::start(o.http);
    // one piece after the other: the first is acknowledged, the second cut mid-request
    relay.arm(Trigger::ClientBytes(bytes * 7 / 10), Duration::ZERO);
    let dest = format!("dicomweb+http://127.0.0.1:{}/dicom-web", relay.port());
    let s = send(tmp.path(), &dir, &dest, "1", &relay, &o);
    let (received, resent) = check_once(&s, &o);
    let log = o.received();
    let first_piece: BTreeSet<&String> = log.iter().take(PER_STUDY).collect();
    let again: Vec<&str> = counts(&log)
        .into_iter()
        .filter(|(_, k)| *k > 1)
        .map(|(u, _)| u)
        .collect();
    println!(
        "STOW-RS, request cut mid-body after {} of {INSTANCES} instances received: {received} \
         received in all, {resent} re-sent (of the {PER_STUDY} of the piece in flight)",
        s.at_cut
    );
    assert!(
        s.at_cut >= PER_STUDY && s.at_cut < INSTANCES,
        "the first piece done, the second cut: {}",
        s.at_cut
    );
    assert!(resent <= PER_STUDY, "{resent}");
    assert!(
        again.iter().all(|u| !first_piece.contains(&u.to_string())),
        "an acknowledged piece was sent again"
    );
}

#[test]
fn stow_rs_lost_answer_resends_the_piece_and_counts_each_instance_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(o) = start_orthanc(tmp.path()) else {
        return;
    };
    let (dir, bytes) = corpus(tmp.path());
    let relay = Relay::start(o.http);
    // the first piece's request arrives whole, Orthanc stores it, and its answer is lost
    relay.arm(Trigger::Response(bytes / 4), Duration::ZERO);
    let dest = format!("dicomweb+http://127.0.0.1:{}/dicom-web", relay.port());
    let s = send(tmp.path(), &dir, &dest, "1", &relay, &o);
    let (received, resent) = check_once(&s, &o);
    println!(
        "STOW-RS, answer to a {PER_STUDY}-instance piece lost: {received} received in all, \
         {resent} re-sent; Deposit counted sent {} + already present {}",
        n(&s.summary, "sent"),
        n(&s.summary, "already_present")
    );
    assert_eq!(s.at_cut, PER_STUDY, "the first piece was stored whole");
    assert_eq!(
        resent, PER_STUDY,
        "the whole unacknowledged piece goes again"
    );
    // Orthanc answers an instance it already holds as stored (Referenced SOP Sequence, no
    // warning): it was stored by this run, so it counts as sent, once
    assert_eq!(n(&s.summary, "sent"), INSTANCES as u64, "{}", s.summary);
}

/// Waits until Orthanc has received `n` instances.
fn wait_received(o: &Orthanc, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while o.received().len() < n {
        assert!(Instant::now() < deadline, "Orthanc received too little");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Stored once each, counted from Orthanc's store events: (received in all, re-sent).
fn stored_once(o: &Orthanc, expected: usize) -> (usize, usize) {
    assert_eq!(o.stored_uids().len(), expected, "Orthanc holds each once");
    let received = o.received();
    assert_eq!(counts(&received).len(), expected, "instances received");
    (received.len(), received.len() - expected)
}

#[test]
fn deposit_killed_mid_cstore_resends_at_most_the_instances_in_flight() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(o) = start_orthanc(tmp.path()) else {
        return;
    };
    let total = 200;
    let (dir, _) = corpus_of(tmp.path(), total, total);
    let dest = format!("dicom://{ORTHANC_AE}@127.0.0.1:{}", o.dicom);
    let d = dir.display().to_string();
    let concurrency = 2;
    let mut child = spawn_deposit(tmp.path(), &send_args(&d, &dest, "2"));
    wait_received(&o, total / 2);
    child.kill().expect("kill -9 deposit");
    let _ = child.wait();
    let at_kill = o.received().len();
    let r = finish(
        spawn_deposit(tmp.path(), &["queue", "run", "--json"]),
        || {},
    );
    assert_eq!((n(&r, "failed"), n(&r, "waiting")), (0, 0), "{r}");
    let (received, resent) = stored_once(&o, total);
    println!(
        "C-STORE, deposit killed (-9) after {at_kill} of {total} instances received \
         (concurrency {concurrency}), then `queue run`: {received} received in all, {resent} \
         re-sent; the run sent {} more",
        n(&r, "sent")
    );
    assert!(
        resent <= concurrency,
        "more than the instances in flight went again: {resent}"
    );
}

#[test]
fn orthanc_restarted_mid_cstore_resends_at_most_the_instances_in_flight() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(bin) = peer("Orthanc") else {
        return;
    };
    let (http, dicom) = (free_port(), free_port());
    let odir = tmp.path().join("orthanc");
    let mut o = Some(Orthanc::start(&bin, &odir, http, dicom));
    let total = 200;
    let (dir, _) = corpus_of(tmp.path(), total, total);
    let dest = format!("dicom://{ORTHANC_AE}@127.0.0.1:{dicom}");
    let d = dir.display().to_string();
    let child = spawn_deposit(tmp.path(), &send_args(&d, &dest, "2"));
    let mut at_stop = None;
    let s = finish(child, || {
        if at_stop.is_some() {
            return;
        }
        let Some(running) = &o else { return };
        if running.received().len() >= total / 2 {
            // stopped (SIGTERM) mid-send, away for a moment, then started on the same storage
            at_stop = Some(running.received().len());
            o = None;
            std::thread::sleep(Duration::from_secs(1));
            o = Some(Orthanc::start(&bin, &odir, http, dicom));
        }
    });
    let o = o.expect("running");
    let at_stop = at_stop.expect("Orthanc was restarted during the send");
    assert_eq!(n(&s, "verified"), total as u64, "{s}");
    assert!(n(&s, "offline_periods") <= 1, "{s}");
    let (received, resent) = stored_once(&o, total);
    println!(
        "C-STORE, Orthanc restarted after {at_stop} of {total} instances received \
         (concurrency 2): {received} received in all, {resent} re-sent, offline periods {}",
        n(&s, "offline_periods")
    );
    assert!(
        resent <= 2,
        "more than the instances in flight went again: {resent}"
    );
}
