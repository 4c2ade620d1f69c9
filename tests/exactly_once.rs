//! Exactly-once delivery to a central CTP, against the stand-in in tests/xnat_server (src/ctp.rs)
//! that behaves as the real CTP was observed to: one request per connection closed without
//! `Connection: close`, storage after `OK` (asynchronous), duplicates kept as `UID[1]`, ….
//!
//! - 20 repeated deliveries of a 200-object corpus at concurrency 1, 2 and 4 (the queue and the
//!   CTP destination in this process, a fresh receiver and data home each time): stored files =
//!   distinct objects = 200 every time; and the same through the `deposit` binary once per
//!   concurrency;
//! - the same folder sent twice: the second run reports `already_present: 200` and posts nothing;
//! - the receiver (a separate process) ending abruptly (`abort`, as `kill -9`) half way through a
//!   send, and started again: 0 duplicates;
//! - `deposit` killed (`kill -9`) at about half way and `queue run` again: at most the objects in
//!   flight at that moment are sent again (measured and printed).

use crate::support;
use crate::support::cli::n;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deposit::archive::ctp::{CtpHttp, CtpUrl};
use deposit::archive::proxy::ProxyRoute;
use deposit::archive::{md5_hex, Item, StudyLabels};
use deposit::catalog::Catalog;
use deposit::queue::runner::{run_job, RetryPolicy, RunOptions};
use deposit::queue::store::QueueStore;
use deposit_xnat_server::{ctp, CtpConfig, CtpReceiver};
use serde_json::Value;

const OBJECTS: usize = 200;
const SECRET: &str = "central-Secret-9";

/// A bulk corpus of `OBJECTS` small CT files in 4 studies.
fn corpus(tmp: &Path) -> PathBuf {
    let dir = tmp.join("incoming");
    deposit_synth::generate_bulk_studies(&dir, OBJECTS, 7, 64, 64, 50).expect("corpus");
    dir
}

fn dcm_files(dir: &Path) -> Vec<PathBuf> {
    support::cli::dcm_files(dir)
}

fn receiver(root: &Path) -> CtpReceiver {
    CtpReceiver::start(
        root,
        CtpConfig {
            users: vec![("site1".into(), SECRET.into())],
            ..Default::default()
        },
    )
    .expect("receiver")
}

/// Every stored UID once, and `expected` of them.
fn assert_once(copies: &BTreeMap<String, usize>, expected: usize, what: &str) {
    let dups: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "{what}: duplicates stored: {dups:?}");
    assert_eq!(copies.len(), expected, "{what}: distinct objects stored");
}

/// The corpus as queue items, in pieces as `deposit send` makes them (one study per 50).
fn items(dir: &Path) -> Vec<(String, Item)> {
    dcm_files(dir)
        .into_iter()
        .map(|p| {
            let obj = dicom_object::open_file(&p).expect("dicom");
            let get = |t| {
                obj.element(t)
                    .expect("uid")
                    .to_str()
                    .expect("text")
                    .trim_end_matches('\0')
                    .to_string()
            };
            let study = get(dicom_dictionary_std::tags::STUDY_INSTANCE_UID);
            let sop = get(dicom_dictionary_std::tags::SOP_INSTANCE_UID);
            let bytes = std::fs::read(&p).expect("read");
            let item = Item {
                path: p,
                scan: "1".into(),
                name: format!("{sop}.dcm"),
                size: bytes.len() as u64,
                md5: md5_hex(&bytes),
            };
            (study, item)
        })
        .collect()
}

/// Queues `items` as one job in a fresh catalog and delivers it to `r` at `concurrency`.
fn deliver_in_process(tmp: &Path, r: &CtpReceiver, items: &[(String, Item)], concurrency: usize) {
    let cat = Catalog::open(&tmp.join("catalog.sqlite")).expect("catalog");
    let q = QueueStore::open(cat.conn()).expect("queue");
    let url = format!("ctp+http://site1@127.0.0.1:{}", r.port());
    let job = q.create_job(&url, ("basic", "abc"), 1).expect("job");
    let mut by_study: BTreeMap<&str, Vec<Item>> = BTreeMap::new();
    for (s, i) in items {
        by_study.entry(s).or_default().push(i.clone());
    }
    for (n, (study, its)) in by_study.into_iter().enumerate() {
        let labels = StudyLabels {
            project: "P".into(),
            subject: format!("DEP-{n}"),
            session: format!("S{n}"),
        };
        let sid = q.add_study(job, study, &labels, 1).expect("study");
        for (seq, piece) in deposit::queue::split_pieces(its, |i| i.size)
            .into_iter()
            .enumerate()
        {
            q.add_piece(sid, seq as i64, &piece, 1).expect("piece");
        }
    }
    let parsed = CtpUrl::parse(&url).expect("ctp").expect("valid");
    let dest = CtpHttp::with_credentials(
        parsed,
        Some(("site1".into(), SECRET.into())),
        &ProxyRoute::direct(),
    )
    .expect("open");
    let opts = RunOptions {
        concurrency,
        retry: RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(50),
            max: Duration::from_millis(200),
        },
        offline_wait: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    let report = run_job(&q, job, &dest, &opts, &|| 2, |_| {}).expect("run");
    assert_eq!(
        (report.sent, report.verified, report.failed),
        (OBJECTS as u64, OBJECTS as u64, 0),
        "{report:?}"
    );
}

#[test]
fn twenty_deliveries_at_each_concurrency_store_each_object_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = corpus(tmp.path());
    let items = items(&dir);
    assert_eq!(items.len(), OBJECTS);
    for concurrency in [1, 2, 4] {
        for round in 0..20 {
            let t = tmp.path().join(format!("c{concurrency}-r{round}"));
            let r = receiver(&t.join("central"));
            deliver_in_process(&t, &r, &items, concurrency);
            assert_eq!(r.accepted(), OBJECTS as u64, "posts answered OK");
            assert_once(
                &r.copies(),
                OBJECTS,
                &format!("concurrency {concurrency}, round {round}"),
            );
            std::fs::remove_dir_all(&t).expect("clean");
        }
    }
}

fn send(tmp: &Path, dir: &Path, to: &str, concurrency: &str) -> (i32, Value, String) {
    let run = support::cli::deposit_isolated(
        tmp,
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            to,
            "--json",
            "--concurrency",
            concurrency,
        ],
        Some(SECRET),
    );
    (run.code, run.json.unwrap_or(Value::Null), run.all)
}

#[test]
fn sends_store_each_object_once_and_the_same_folder_again_is_already_present() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = corpus(tmp.path());
    for concurrency in ["1", "2", "4"] {
        let t = tmp.path().join(format!("c{concurrency}"));
        let r = receiver(&t.join("central"));
        let to = format!("ctp+http://site1@127.0.0.1:{}", r.port());
        let (code, s, all) = send(&t, &dir, &to, concurrency);
        assert_eq!(code, 0, "{all}");
        assert_eq!(
            (n(&s, "sent"), n(&s, "verified")),
            (OBJECTS as u64, OBJECTS as u64),
            "{s}"
        );
        assert!(
            s["problems"].as_array().is_some_and(|p| p.is_empty()),
            "{s}"
        );
        assert_once(&r.copies(), OBJECTS, &format!("concurrency {concurrency}"));
        if concurrency == "2" {
            // the same folder again, to a destination that cannot be listed
            let before = r.accepted();
            let (code, s, all) = send(&t, &dir, &to, concurrency);
            assert_eq!(code, 0, "{all}");
            assert_eq!(
                (n(&s, "sent"), n(&s, "already_present")),
                (0, OBJECTS as u64),
                "{s}"
            );
            assert_eq!(r.accepted(), before, "nothing posted again");
            assert_once(&r.copies(), OBJECTS, "sent twice");
        }
    }
}

/// Runs a receiver until killed when this test binary is started by [`spawn_receiver`] (the
/// environment names its folder, port and stats file); does nothing otherwise.
#[test]
#[ignore = "started as a separate process by the tests of this module"]
fn receiver_process() {
    let (Ok(root), Ok(port), Ok(stats)) = (
        std::env::var("DEPOSIT_TEST_CTP_ROOT"),
        std::env::var("DEPOSIT_TEST_CTP_PORT"),
        std::env::var("DEPOSIT_TEST_CTP_STATS"),
    ) else {
        return;
    };
    let r = CtpReceiver::start_on(
        Path::new(&root),
        CtpConfig::default(),
        port.parse().expect("port"),
    )
    .expect("receiver");
    r.set_faults(deposit_xnat_server::CtpFaults {
        // slow enough that a kill lands mid-send
        slow: u32::MAX,
        slow_delay: Duration::from_millis(10),
        crash_after: std::env::var("DEPOSIT_TEST_CTP_CRASH_AFTER")
            .ok()
            .and_then(|v| v.parse().ok()),
        ..Default::default()
    });
    loop {
        let text = format!("{{\"uploads\":{}}}", r.accepted());
        let tmp = PathBuf::from(format!("{stats}.tmp"));
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, &stats);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The stand-in in a process of its own (this test binary running [`receiver_process`]), so
/// that it can be killed for real; `crash_after`: it ends itself abruptly then.
fn spawn_receiver(root: &Path, port: u16, stats: &Path, crash_after: Option<u64>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--exact",
        "exactly_once::receiver_process",
        "--ignored",
        "--nocapture",
    ])
    .env("DEPOSIT_TEST_CTP_ROOT", root)
    .env("DEPOSIT_TEST_CTP_PORT", port.to_string())
    .env("DEPOSIT_TEST_CTP_STATS", stats)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(n) = crash_after {
        cmd.env("DEPOSIT_TEST_CTP_CRASH_AFTER", n.to_string());
    }
    let _ = std::fs::remove_file(stats);
    cmd.spawn().expect("spawn receiver")
}

/// Objects accepted so far by the receiver process, from its stats file.
fn uploads(stats: &Path) -> u64 {
    std::fs::read_to_string(stats)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["uploads"].as_u64())
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

fn spawn_send(tmp: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", tmp.join("home"))
        .env("DEPOSIT_CONFIG", tmp.join("no-config.toml"))
        .env("HOME", tmp)
        .env_remove("NETRC")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn deposit")
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for a storage folder's import queue to be empty.
fn settled(root: &Path) {
    wait_for("the receiver's storage", Duration::from_secs(60), || {
        ctp::queued(root) == 0
    });
}

#[test]
fn the_receiver_killed_and_restarted_mid_send_stores_nothing_twice() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = corpus(tmp.path());
    let root = tmp.path().join("central");
    let stats = tmp.path().join("stats.json");
    let port = free_port();
    // the receiver ends abruptly half way, while objects are arriving
    let mut rx = spawn_receiver(&root, port, &stats, Some((OBJECTS / 2) as u64));
    wait_for("the receiver", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let to = format!("ctp+http://127.0.0.1:{port}");
    let d = dir.display().to_string();
    let mut send = spawn_send(
        tmp.path(),
        &["send", &d, "--to", &to, "--json", "--concurrency", "2"],
    );
    wait_for("the receiver to end", Duration::from_secs(300), || {
        rx.try_wait().ok().flatten().is_some()
    });
    assert!(
        send.try_wait().expect("poll").is_none(),
        "the send went on waiting"
    );
    let left = ctp::queued(&root);
    println!("receiver ended with {left} object(s) answered OK and not yet stored");
    std::thread::sleep(Duration::from_secs(2));
    let mut rx = spawn_receiver(&root, port, &stats, None);
    let out = send.wait_with_output().expect("send ends");
    let s: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{s}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(n(&s, "verified"), OBJECTS as u64, "{s}");
    settled(&root);
    rx.kill().expect("stop the receiver");
    let _ = rx.wait();
    assert_once(&ctp::copies(&root), OBJECTS, "receiver killed mid-send");
}

#[test]
fn deposit_killed_half_way_resends_at_most_what_was_in_flight() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = corpus(tmp.path());
    let root = tmp.path().join("central");
    let stats = tmp.path().join("stats.json");
    let port = free_port();
    let mut rx = spawn_receiver(&root, port, &stats, None);
    wait_for("the receiver", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let to = format!("ctp+http://127.0.0.1:{port}");
    let d = dir.display().to_string();
    let concurrency = 2u64;
    let mut send = spawn_send(
        tmp.path(),
        &["send", &d, "--to", &to, "--json", "--concurrency", "2"],
    );
    wait_for("half the objects", Duration::from_secs(300), || {
        uploads(&stats) >= (OBJECTS / 2) as u64
    });
    send.kill().expect("kill -9 deposit");
    let _ = send.wait();
    let at_kill = uploads(&stats);
    let resume = spawn_send(tmp.path(), &["queue", "run", "--json"]);
    let out = resume.wait_with_output().expect("resume ends");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    settled(&root);
    std::thread::sleep(Duration::from_millis(100));
    let total = uploads(&stats);
    rx.kill().expect("stop the receiver");
    let _ = rx.wait();
    let copies = ctp::copies(&root);
    let resent = total.saturating_sub(OBJECTS as u64);
    println!(
        "kill -9 of deposit after {at_kill} of {OBJECTS} objects (concurrency {concurrency}): \
         {resent} object(s) sent again, {} distinct stored",
        copies.len()
    );
    assert_eq!(copies.len(), OBJECTS, "every object arrived");
    assert!(
        resent <= concurrency,
        "more than the objects in flight were sent again: {resent}"
    );
    let extra: usize = copies.values().map(|n| n - 1).sum();
    assert_eq!(extra as u64, resent, "stored copies = objects sent again");
}

#[test]
fn an_outbox_file_changed_after_queueing_is_never_stored() {
    use deposit::archive::{Destination, Piece};
    use deposit::error::{Classify, ErrorClass};
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = corpus(tmp.path());
    let mut its = items(&dir);
    let (_, mut item) = its.swap_remove(0);
    // the file changes after its MD5 went into the manifest
    let changed = tmp.path().join("changed.dcm");
    let mut bytes = std::fs::read(&item.path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(&changed, &bytes).expect("write");
    item.path = changed;
    let r = receiver(&tmp.path().join("central"));
    let url = CtpUrl::parse(&format!("ctp+http://site1@127.0.0.1:{}", r.port()))
        .expect("ctp")
        .expect("valid");
    let dest = CtpHttp::with_credentials(
        url,
        Some(("site1".into(), SECRET.into())),
        &ProxyRoute::direct(),
    )
    .expect("open");
    let piece = Piece {
        labels: StudyLabels {
            project: "P".into(),
            subject: "DEP-1".into(),
            session: "S1".into(),
        },
        items: vec![item],
    };
    let e = dest.put(&piece).expect_err("refused");
    assert_eq!(e.class(), ErrorClass::Permanent, "{e}");
    assert!(e.to_string().contains("changed since it was queued"), "{e}");
    assert_eq!(r.accepted(), 0);
    assert!(r.copies().is_empty(), "nothing stored");
}
