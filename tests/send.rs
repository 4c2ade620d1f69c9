//! The thin path end to end through the real `deposit` binary: a synthetic study folder with
//! identity canaries → `deposit send --to folder:` → de-identified, delivered, committed and
//! verified in the folder archive; nothing identifying in the archive's bytes or names;
//! burned-in-risk images quarantined, not delivered; a second send delivers nothing twice.

use crate::support;

use support::cli::{dcm_files, deposit};

use std::path::Path;

#[test]
fn synthetic_studies_reach_the_folder_archive_verified_and_clean() {
    let tmp = tempfile::tempdir().expect("tmp");
    let corpus = tmp.path().join("incoming");
    let home = tmp.path().join("home");
    let archive = tmp.path().join("archive");
    let cfg = deposit_synth::Config {
        patients: 3,
        ct_slices: 4,
        rows: 64,
        cols: 64,
        ..Default::default()
    };
    let manifest = deposit_synth::generate(&corpus, &cfg).expect("generate corpus");
    let dest = format!("folder:{}", archive.display());
    let corpus_arg = corpus.display().to_string();

    let (code, s, stderr) = deposit(&home, &["send", &corpus_arg, "--to", &dest, "--json"]);
    for key in [
        "sent",
        "already_present",
        "quarantined",
        "failed",
        "verified",
        "destination",
    ] {
        assert!(s.get(key).is_some(), "send JSON lacks '{key}': {s}");
    }
    assert_eq!(code, 0, "exit status; json {s}; stderr {stderr}");
    let n = |k: &str| s[k].as_u64().unwrap_or(u64::MAX);
    assert_eq!(n("failed"), 0, "{s}");
    assert!(
        n("quarantined") >= 1,
        "burned-in ultrasound must be held: {s}"
    );
    assert_eq!(
        n("sent") + n("quarantined"),
        manifest.counts.instances,
        "every instance is delivered or quarantined: {s}"
    );
    assert_eq!(n("verified"), n("sent"), "{s}");
    let delivered = dcm_files(&archive);
    assert_eq!(delivered.len() as u64, n("sent"));

    // nothing identifying in the archive: bytes, file names, folder names
    let canaries: Vec<&str> = manifest
        .canaries
        .iter()
        .filter(|c| c.kind != "pixels")
        .map(|c| c.canary.as_str())
        .collect();
    assert!(canaries.len() > 10, "the corpus plants canaries");
    support::canary::assert_no_leaks(&archive, &canaries);

    // the quarantine says why, in words, for each held image
    let (code, q, _) = deposit(&home, &["quarantine", "list", "--json"]);
    assert_eq!(code, 0);
    let text = q.to_string();
    assert!(text.contains("needs_pixel_review"), "{text}");

    // the queue shows the verified studies with their audit record
    let (_, jobs, _) = deposit(&home, &["queue", "list", "--json"]);
    let studies = jobs["jobs"][0]["studies"].as_array().expect("studies");
    assert!(!studies.is_empty());
    for st in studies {
        assert_eq!(st["state"], "verified", "{st}");
        assert!(st["audit"]["uri"].as_str().is_some(), "{st}");
    }

    // sending again delivers nothing twice
    let (code, again, _) = deposit(&home, &["send", &corpus_arg, "--to", &dest, "--json"]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["sent"].as_u64(), Some(0), "{again}");
    assert_eq!(
        again["already_present"].as_u64(),
        Some(n("sent")),
        "{again}"
    );
    assert_eq!(dcm_files(&archive), delivered, "same files, no duplicates");
}

#[test]
fn unknown_destination_is_a_usage_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("in");
    std::fs::create_dir(&src).expect("mkdir");
    let (code, v, _) = deposit(
        &tmp.path().join("home"),
        &[
            "send",
            &src.display().to_string(),
            "--to",
            "ftp://nowhere",
            "--json",
        ],
    );
    assert_eq!(code, 2, "{v}");
    assert_eq!(v["error"]["code"], "archive.bad_destination");
}

#[test]
fn lookup_preflight_lists_missing_patients_and_send_quarantines_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let corpus = tmp.path().join("incoming");
    let home = tmp.path().join("home");
    let cfg = deposit_synth::Config {
        patients: 3,
        ct_slices: 2,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    let manifest = deposit_synth::generate(&corpus, &cfg).expect("generate corpus");
    let ids: Vec<(usize, String)> = manifest
        .canaries
        .iter()
        .filter(|c| c.placement == "PatientID")
        .map(|c| (c.patient, c.value.clone()))
        .collect();
    assert_eq!(ids.len(), 3);
    // the table knows patient 0 only
    let table = tmp.path().join("lookup.csv");
    std::fs::write(
        &table,
        format!("original,pseudonym\n{},SUBJ-001\n", ids[0].1),
    )
    .expect("csv");
    let (corpus_arg, table_arg) = (corpus.display().to_string(), table.display().to_string());

    let (code, v, _) = deposit(
        &home,
        &[
            "deid",
            &corpus_arg,
            "--check",
            "--lookup",
            &table_arg,
            "--json",
        ],
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["patients"].as_u64(), Some(3), "{v}");
    let missing: Vec<&str> = v["missing"]
        .as_array()
        .expect("missing")
        .iter()
        .filter_map(|m| m["patient_id"].as_str())
        .collect();
    assert_eq!(missing, vec![ids[1].1.as_str(), ids[2].1.as_str()], "{v}");

    // sending with that table: patients 1 and 2 are held, patient 0 arrives as SUBJ-001
    let archive = tmp.path().join("archive");
    let dest = format!("folder:{}", archive.display());
    let (code, s, stderr) = deposit(
        &home,
        &[
            "send",
            &corpus_arg,
            "--to",
            &dest,
            "--lookup",
            &table_arg,
            "--json",
            "-vv",
        ],
    );
    assert_eq!(code, 0, "{s}");
    for (_, id) in &ids {
        assert!(
            !stderr.contains(id.as_str()),
            "a patient ID reached the log: {stderr}"
        );
        assert!(
            !s.to_string().contains(id.as_str()),
            "a patient ID in the summary: {s}"
        );
    }
    assert!(archive.join("DEPOSIT/SUBJ-001").is_dir(), "{s}");
    let subjects = std::fs::read_dir(archive.join("DEPOSIT"))
        .expect("project")
        .count();
    assert_eq!(subjects, 1, "only the patient in the table is delivered");
    let (_, q, _) = deposit(&home, &["quarantine", "list", "--json"]);
    assert!(q.to_string().contains("lookup_missing"), "{q}");
    // the local quarantine record names the missing key, so the coordinator can fix the table
    assert!(q.to_string().contains(&ids[1].1), "{q}");

    // the complete table passes the check
    std::fs::write(
        &table,
        format!(
            "original,pseudonym\n{},SUBJ-001\n{},SUBJ-002\n{},SUBJ-003\n",
            ids[0].1, ids[1].1, ids[2].1
        ),
    )
    .expect("csv");
    let (code, v, _) = deposit(
        &home,
        &[
            "deid",
            &corpus_arg,
            "--check",
            "--lookup",
            &table_arg,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["missing"].as_array().map(Vec::len), Some(0));

    // release one held item now that its patient is in the table: it is delivered
    let held = q.as_array().expect("rows");
    let item = held
        .iter()
        .find(|r| {
            r["code"] == "lookup_missing"
                && r["missing_key"] == format!("ptid/{}", ids[1].1).as_str()
        })
        .expect("a lookup_missing item for patient 1");
    let item_id = item["id"].as_i64().expect("id").to_string();
    let (code, r, _) = deposit(
        &home,
        &[
            "quarantine",
            "release",
            &item_id,
            "--to",
            &dest,
            "--lookup",
            &table_arg,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["released"], true, "{r}");
    assert_eq!(r["delivery"]["verified"].as_u64(), Some(1), "{r}");
    assert!(archive.join("DEPOSIT/SUBJ-002").is_dir());
    let (_, shown, _) = deposit(&home, &["quarantine", "show", &item_id, "--json"]);
    assert_eq!(shown["state"], "released", "{shown}");
    assert!(
        shown["missing_key"].is_null(),
        "the key is forgotten once resolved: {shown}"
    );

    // a burned-in image released without a mask rule is still held, with its reason
    let us = held
        .iter()
        .find(|r| r["code"] == "needs_pixel_review")
        .expect("a pixel review item");
    let us_id = us["id"].as_i64().expect("id").to_string();
    let (code, r, _) = deposit(
        &home,
        &["quarantine", "release", &us_id, "--to", &dest, "--json"],
    );
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["released"], false);
    assert_eq!(r["code"], "needs_pixel_review");
    // … and can be discarded: its stored copy goes
    let stored = us["stored_path"].as_str().expect("stored").to_string();
    let (code, _, _) = deposit(&home, &["quarantine", "discard", &us_id, "--json"]);
    assert_eq!(code, 0);
    assert!(!Path::new(&stored).exists());
    let (code, again, _) = deposit(&home, &["quarantine", "discard", &us_id, "--json"]);
    assert_eq!(code, 2, "discarding twice is a usage error: {again}");
}

/// Everything Deposit writes under the data home is owner-only (files 0600, folders 0700): the
/// outbox, the folder archive, the quarantine, the catalog, the site key.
#[cfg(unix)]
#[test]
fn the_data_home_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let corpus = tmp.path().join("incoming");
    let home = tmp.path().join("home");
    let cfg = deposit_synth::Config {
        patients: 2,
        ct_slices: 2,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    deposit_synth::generate(&corpus, &cfg).expect("generate corpus");
    let corpus_arg = corpus.display().to_string();
    // the data home's own folder archive
    let (code, s, stderr) = deposit(&home, &["send", &corpus_arg, "--to", "archive", "--json"]);
    assert_eq!(code, 0, "{s} {stderr}");
    assert!(s["verified"].as_u64().unwrap_or(0) > 0, "{s}");
    let mut seen = 0;
    let mut stack = vec![home.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_dir() {
                assert_eq!(mode, 0o700, "{}", p.display());
                stack.push(p);
            } else {
                assert_eq!(mode, 0o600, "{}", p.display());
                seen += 1;
            }
        }
    }
    assert!(seen > 10, "files checked: {seen}");
    for sub in ["outbox", "archive", "quarantine"] {
        assert!(home.join(sub).exists(), "{sub}");
    }
}

/// With several studies configured, a send records the study it was for (the window's study
/// picker and `--study` both end here): the queue listing and the report show it.
#[test]
fn a_send_records_the_study_it_was_for() {
    let tmp = tempfile::tempdir().expect("tmp");
    let corpus = tmp.path().join("incoming");
    let home = tmp.path().join("home");
    let cfg = deposit_synth::Config {
        patients: 1,
        ct_slices: 2,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    deposit_synth::generate(&corpus, &cfg).expect("generate corpus");
    let config = tmp.path().join("deposit.toml");
    let (heart, brain) = (tmp.path().join("heart"), tmp.path().join("brain"));
    std::fs::write(
        &config,
        format!(
            "[studies.heart]\ndestination = \"folder:{}\"\nproject = \"HEART\"\n\n\
             [studies.brain]\ndestination = \"folder:{}\"\nproject = \"BRAIN\"\n",
            heart.display(),
            brain.display()
        ),
    )
    .expect("config");
    let (c, corpus) = (config.display().to_string(), corpus.display().to_string());
    let (code, v, err) = deposit(
        &home,
        &[
            "send", &corpus, "--config", &c, "--study", "heart", "--json",
        ],
    );
    assert_eq!(code, 0, "{v} {err}");
    assert!(
        heart.join("HEART").is_dir(),
        "sent to the study's destination"
    );
    assert!(!brain.exists());
    let (_, q, _) = deposit(&home, &["queue", "list", "--config", &c, "--json"]);
    assert_eq!(q["jobs"][0]["study"], "heart", "{q}");
    // what a study's send holds is marked with the study too (the quarantine screen filters by it)
    let table = tmp.path().join("lookup.csv");
    std::fs::write(&table, "original,pseudonym\nSOMEONE-ELSE,SUBJ-1\n").expect("lookup");
    let t = table.display().to_string();
    let (_, v, err) = deposit(
        &home,
        &[
            "send", &corpus, "--config", &c, "--study", "brain", "--lookup", &t, "--json",
        ],
    );
    let (_, q, _) = deposit(
        &home,
        &[
            "quarantine",
            "list",
            "--config",
            &c,
            "--study",
            "brain",
            "--json",
        ],
    );
    let rows = q["items"]
        .as_array()
        .or_else(|| q.as_array())
        .cloned()
        .unwrap_or_default();
    assert!(!rows.is_empty(), "{q} after {v} {err}");
    // the first send (heart) held its ultrasound for pixel review; the second (brain) held
    // everything for the lookup table
    let of = |code: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r["code"] == code)
            .map(|r| r["study"].as_str().unwrap_or("none").to_string())
            .collect()
    };
    assert!(!of("lookup_missing").is_empty(), "{q}");
    assert!(of("lookup_missing").iter().all(|s| s == "brain"), "{q}");
    assert!(of("needs_pixel_review").iter().any(|s| s == "heart"), "{q}");
    // with two studies and none named, a send is refused (which study would it be?)
    let (code, v, _) = deposit(&home, &["send", &corpus, "--config", &c, "--json"]);
    assert_eq!(code, 2, "{v}");
}
