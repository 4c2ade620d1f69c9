//! The coordinator's view of the archive and downloads from it, through the real `deposit`
//! binary against the XNAT-compatible test server (tests/xnat_server) and the folder archive:
//! sessions listed and paged, a session's scans with counts and QC status, QC set, expected vs
//! present (lookup-table subjects missing, a delivered session whose files were removed), and a
//! download checked against the listing that resumes after a kill without fetching again what
//! was done.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use deposit_xnat_server::{files_under, Config, Server};
use support::cli::Run;

const SECRET: &str = "wonderland";

fn deposit(tmp: &Path, args: &[&str]) -> Run {
    support::cli::deposit_isolated(tmp, args, Some(SECRET))
}

fn ok(r: &Run) -> &serde_json::Value {
    assert_eq!(r.code, 0, "{}", r.all);
    r.json
        .as_ref()
        .unwrap_or_else(|| panic!("no JSON: {}", r.all))
}

/// A corpus of `patients` (4 CT slices each) and a lookup table naming them and one patient
/// more, who has sent nothing yet.
fn corpus_and_lookup(tmp: &Path, patients: usize) -> (PathBuf, PathBuf) {
    let dir = tmp.join("incoming");
    let cfg = deposit_synth::Config {
        patients,
        ct_slices: 4,
        rows: 64,
        cols: 64,
        ..Default::default()
    };
    let m = deposit_synth::generate(&dir, &cfg).expect("generate corpus");
    let mut table = String::from("original,pseudonym\n");
    for c in m.canaries.iter().filter(|c| c.placement == "PatientID") {
        table.push_str(&format!("{},SUBJ-{:03}\n", c.value, c.patient));
    }
    table.push_str("NOT-SENT-YET,SUBJ-999\n");
    let lookup = tmp.join("lookup.csv");
    std::fs::write(&lookup, table).expect("lookup");
    (dir, lookup)
}

fn dest(server: &Server) -> String {
    format!(
        "xnat+http://alice@127.0.0.1:{}?project=TRIAL",
        server.port()
    )
}

#[test]
fn sessions_scans_qc_and_expected_vs_present_on_xnat() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    let (dir, lookup) = corpus_and_lookup(tmp.path(), 2);
    let (d, l) = (dest(&server), lookup.display().to_string());
    let sent = deposit(
        tmp.path(),
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &d,
            "--lookup",
            &l,
            "--json",
        ],
    );
    ok(&sent);
    // what was delivered: sessions per subject folder in the archive
    let archive = tmp.path().join("xnat/archive/TRIAL");
    let delivered: usize = std::fs::read_dir(&archive)
        .expect("archive")
        .flatten()
        .map(|s| std::fs::read_dir(s.path()).map(|d| d.count()).unwrap_or(0))
        .sum();
    assert!(delivered >= 2, "{delivered} sessions delivered");
    // a large project besides: paging is a local query over the kept listing
    server.list_only("TRIAL", 40, 3);

    let page = deposit(
        tmp.path(),
        &[
            "archive",
            "sessions",
            "--from",
            &d,
            "--per-page",
            "25",
            "--json",
        ],
    );
    let p = ok(&page);
    assert_eq!(p["sessions_total"], 120 + delivered, "{p}");
    assert_eq!(p["subjects_total"], 42, "{p}");
    assert_eq!(p["rows"].as_array().map(Vec::len), Some(25));
    let filtered = deposit(
        tmp.path(),
        &[
            "archive", "sessions", "--from", &d, "--filter", "subj-00", "--json",
        ],
    );
    let f = ok(&filtered);
    assert_eq!(f["matching"], delivered, "{f}");
    let rows = f["rows"].as_array().cloned().unwrap_or_default();
    let subject = rows[0]["subject"].as_str().expect("subject").to_string();
    let session = rows[0]["session"].as_str().expect("session").to_string();
    assert!(subject.starts_with("SUBJ-00"), "{f}");
    assert!(rows[0]["id"]
        .as_str()
        .is_some_and(|i| i.starts_with("XNAT_E")));
    // page 2 of the same listing, without asking the archive again
    let before = server.seen().len();
    let p2 = deposit(
        tmp.path(),
        &[
            "archive",
            "sessions",
            "--from",
            &d,
            "--per-page",
            "25",
            "--page",
            "5",
            "--json",
        ],
    );
    assert_eq!(
        ok(&p2)["rows"].as_array().map(Vec::len),
        Some(120 + delivered - 100)
    );
    assert!(
        !server.seen()[before..]
            .iter()
            .any(|s| s.path.ends_with("/experiments")),
        "a page of the kept listing lists the archive again"
    );

    // the session's scans: files, bytes and QC status; set QC and see it
    let scans = deposit(
        tmp.path(),
        &[
            "archive", "scans", &subject, &session, "--from", &d, "--json",
        ],
    );
    let s = ok(&scans)["scans"].as_array().cloned().unwrap_or_default();
    assert!(!s.is_empty(), "{}", scans.all);
    assert!(s[0]["files"].as_u64().unwrap_or(0) >= 1, "{}", scans.all);
    assert!(
        s[0]["bytes"].as_u64().unwrap_or(0) > 64 * 64,
        "{}",
        scans.all
    );
    assert!(
        s[0]["kind"]
            .as_str()
            .is_some_and(|k| k.starts_with("xnat:")),
        "{}",
        scans.all
    );
    let scan = s[0]["id"].as_str().expect("scan id").to_string();
    let qc = deposit(
        tmp.path(),
        &[
            "archive", "qc", &subject, &session, &scan, "unusable", "--from", &d, "--json",
        ],
    );
    assert_eq!(ok(&qc)["scans"][0]["quality"], "unusable");
    assert_eq!(
        server.scan_quality("TRIAL", &subject, &session, &scan),
        "unusable"
    );
    let bad = deposit(
        tmp.path(),
        &[
            "archive", "qc", &subject, &session, &scan, "great", "--from", &d,
        ],
    );
    assert_eq!(bad.code, 2, "{}", bad.all);

    // expected vs present: the lookup table's third subject has sent nothing; all delivered
    // sessions hold what the audit says
    let gaps = deposit(
        tmp.path(),
        &["archive", "gaps", "--from", &d, "--lookup", &l, "--json"],
    );
    assert_eq!(gaps.code, 1, "{}", gaps.all);
    let g = gaps.json.clone().expect("json");
    assert_eq!(g["expected_subjects"], 3, "{g}");
    assert_eq!(
        g["missing_subjects"],
        serde_json::json!(["SUBJ-999"]),
        "{g}"
    );
    assert_eq!(g["sessions_checked"], delivered, "{g}");
    assert_eq!(g["mismatches"].as_array().map(Vec::len), Some(0), "{g}");
    // a file removed at the archive shows as a difference with the audit
    let victim = files_under(&archive.join(&subject).join(&session))
        .into_iter()
        .find(|f| f.extension().is_some_and(|e| e == "dcm"))
        .expect("an archived file");
    let delivered_files = files_under(&archive.join(&subject).join(&session))
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "dcm"))
        .count();
    std::fs::remove_file(victim).expect("remove");
    let gaps = deposit(
        tmp.path(),
        &["archive", "gaps", "--from", &d, "--lookup", &l, "--json"],
    );
    let g = gaps.json.clone().expect("json");
    assert_eq!(
        g["mismatches"],
        serde_json::json!([{"subject": subject, "session": session, "delivered": delivered_files,
            "present": delivered_files - 1, "missing": false}]),
        "{g}"
    );
    // nothing identifying in what the coordinator sees: pseudonyms and new labels only
    for r in [&page, &filtered, &scans, &gaps] {
        assert!(!r.all.contains("NOT-SENT-YET"), "{}", r.all);
    }
}

#[test]
fn a_download_is_checked_and_resumes_after_a_kill_without_fetching_done_files_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    let dir = tmp.path().join("incoming");
    let cfg = deposit_synth::Config {
        patients: 1,
        ct_slices: 120,
        rows: 256,
        cols: 256,
        ..Default::default()
    };
    deposit_synth::generate(&dir, &cfg).expect("generate corpus");
    let d = dest(&server);
    let corpus = dir.display().to_string();
    ok(&deposit(
        tmp.path(),
        &["send", &corpus, "--to", &d, "--json"],
    ));
    let list = deposit(tmp.path(), &["archive", "sessions", "--from", &d, "--json"]);
    let row = ok(&list)["rows"][0].clone();
    let subject = row["subject"].as_str().expect("subject").to_string();
    let session = row["session"].as_str().expect("session").to_string();
    // every file of the subject's scans, as the archive lists them
    let archived: Vec<PathBuf> = files_under(&tmp.path().join("xnat/archive/TRIAL").join(&subject))
        .into_iter()
        .filter(|f| f.to_string_lossy().contains("/scans/"))
        .collect();
    let n = archived.len();
    assert!(n >= 120, "{n} archived");

    // kill the download once some files are done
    let out = tmp.path().join("download");
    let out_arg = out.display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args([
            "fetch", &subject, "--from", &d, "--out", &out_arg, "--quiet",
        ])
        .env("DEPOSIT_HOME", tmp.path().join("home"))
        .env("DEPOSIT_CONFIG", tmp.path().join("no-config.toml"))
        .env("HOME", tmp.path())
        .env("DEPOSIT_PASSWORD", SECRET)
        .spawn()
        .expect("fetch");
    let downloads = |server: &Server| {
        server
            .seen()
            .iter()
            .filter(|s| s.method == "GET" && s.path.contains("/resources/DICOM/files/"))
            .count()
    };
    let t0 = Instant::now();
    while downloads(&server) < 30 && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    let first = downloads(&server);
    assert!((30..n).contains(&first), "killed after {first} downloads");
    let ledger = std::fs::read_to_string(out.join(".deposit-fetch.log")).unwrap_or_default();
    let done = ledger.lines().count();
    assert!(done > 0 && done < n, "{done} files in the ledger");

    // the second run fetches only what was not done, and everything is the archive's bytes;
    // it takes the session from the kept listing instead of listing the project again
    let listed_before = server.seen().len();
    let again = deposit(
        tmp.path(),
        &["fetch", &subject, "--from", &d, "--out", &out_arg, "--json"],
    );
    let r = ok(&again);
    assert!(
        !server.seen()[listed_before..]
            .iter()
            .any(|s| s.path.ends_with("/experiments")),
        "the project was listed again for a download"
    );
    assert_eq!(r["files"], n, "{r}");
    assert_eq!(r["md5_checked"], n, "{r}");
    assert_eq!(r["failed"].as_array().map(Vec::len), Some(0), "{r}");
    let fetched_again = r["downloaded"].as_u64().unwrap_or(0);
    assert!(fetched_again <= (n - done) as u64, "{r} after {done} done");
    assert_eq!(
        r["already_there"].as_u64().unwrap_or(0) + fetched_again,
        n as u64,
        "{r}"
    );
    assert_eq!(downloads(&server) - first, fetched_again as usize);
    let got: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .filter(|f| !f.ends_with(".deposit-fetch.log"))
        .collect();
    assert_eq!(
        support::cli::md5_counts(&got),
        support::cli::md5_counts(&archived),
        "the download holds exactly the archive's files"
    );
    assert!(got
        .iter()
        .all(|f| f.strip_prefix(&out).is_ok_and(|r| r.starts_with(&subject))));

    // a scan the archive does not list: nothing to download, said plainly
    let d2 = tmp.path().join("d2").display().to_string();
    let third = deposit(
        tmp.path(),
        &[
            "fetch", &subject, &session, "--from", &d, "--out", &d2, "--scan", "999",
        ],
    );
    assert_eq!(third.code, 2, "{}", third.all);
    assert!(third.all.contains("lists no files"), "{}", third.all);
}

#[test]
fn the_folder_archive_is_browsed_and_downloaded_from_too() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus_and_lookup(tmp.path(), 1);
    let arch = tmp.path().join("arch");
    let d = format!("folder:{}", arch.display());
    ok(&deposit(
        tmp.path(),
        &["send", &dir.display().to_string(), "--to", &d, "--json"],
    ));
    let list = deposit(tmp.path(), &["archive", "sessions", "--from", &d, "--json"]);
    let p = ok(&list);
    let sessions = p["sessions_total"].as_u64().unwrap_or(0);
    assert!(sessions >= 1, "{p}");
    let row = p["rows"][0].clone();
    let (subject, session) = (
        row["subject"].as_str().expect("subject").to_string(),
        row["session"].as_str().expect("session").to_string(),
    );
    let scans = deposit(
        tmp.path(),
        &[
            "archive", "scans", &subject, &session, "--from", &d, "--json",
        ],
    );
    assert!(ok(&scans)["scans"][0]["files"].as_u64().unwrap_or(0) >= 1);
    let sent = files_under(&arch)
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "dcm"))
        .count();
    let out = tmp.path().join("dl");
    let r = deposit(
        tmp.path(),
        &[
            "fetch",
            &subject,
            "--from",
            &d,
            "--out",
            &out.display().to_string(),
            "--json",
        ],
    );
    let v = ok(&r);
    assert_eq!(v["files"], sent, "{v}");
    assert_eq!(v["downloaded"], sent, "{v}");
    let qc = deposit(
        tmp.path(),
        &[
            "archive", "qc", &subject, &session, "1", "usable", "--from", &d,
        ],
    );
    assert_eq!(qc.code, 1, "{}", qc.all);
    assert!(qc.all.contains("needs XNAT"), "{}", qc.all);
}
