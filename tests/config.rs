//! deposit.toml through the real binary: studies fill in profile, lookup, UID root and
//! destination; `profile approve` pins name + SHA-256 and from then on any other profile, or
//! the pinned file edited, is refused with exit status 2; bad configuration is exit status 2
//! with the file and key named.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_object::OpenFileOptions;
use serde_json::Value;

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    config: PathBuf,
    corpus: PathBuf,
    manifest: deposit_synth::Manifest,
}

/// A small synthetic corpus of two patients (their ultrasound images are quarantined for
/// pixel review; CT and SR go through).
fn env() -> Env {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().to_path_buf();
    let corpus = root.join("incoming");
    let cfg = deposit_synth::Config {
        patients: 2,
        ct_slices: 2,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    let manifest = deposit_synth::generate(&corpus, &cfg).expect("generate corpus");
    Env {
        home: root.join("home"),
        config: root.join("etc/deposit.toml"),
        corpus,
        manifest,
        root,
        _tmp: tmp,
    }
}

fn run(e: &Env, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", &e.home)
        .env("DEPOSIT_CONFIG", &e.config)
        .output()
        .expect("run deposit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(s: &str) -> Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|err| panic!("not JSON ({err}): {s}"))
}

fn write_config(e: &Env, text: &str) {
    std::fs::create_dir_all(e.config.parent().expect("dir")).expect("mkdir");
    std::fs::write(&e.config, text).expect("config");
}

fn deid(e: &Env, out: &str, extra: &[&str]) -> (i32, String, String) {
    let out = e.root.join(out);
    let mut args = vec![
        "deid",
        e.corpus.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
        "--json",
    ];
    args.extend_from_slice(extra);
    run(e, &args)
}

fn text(path: &Path, kw: &str) -> String {
    OpenFileOptions::new()
        .open_file(path)
        .expect("output reads")
        .element_by_name(kw)
        .ok()
        .and_then(|el| {
            el.to_str()
                .ok()
                .map(|s| s.trim_end_matches('\0').trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
fn approval_pins_the_default_profile_and_refuses_any_other() {
    let e = env();
    write_config(&e, "# my site\n[studies.trial1]\nproject = \"T1\"\n");
    let (code, out, err) = run(
        &e,
        &["profile", "approve", "research-longitudinal", "--json"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let a = json(&out);
    assert_eq!(a["study"], "trial1");
    assert_eq!(a["profile"], "research-longitudinal");
    let sha = a["sha256"].as_str().expect("sha").to_string();
    assert_eq!(sha.len(), 64);
    let cfg = std::fs::read_to_string(&e.config).expect("config");
    assert!(
        cfg.starts_with("# my site"),
        "the rest of the file is kept: {cfg}"
    );
    assert!(
        cfg.contains(&sha) && cfg.contains("project = \"T1\""),
        "{cfg}"
    );

    // No --profile: the approved one is used.
    let (code, out, err) = deid(&e, "o1", &[]);
    assert_eq!(code, 0, "{out}{err}");
    let v = json(&out);
    assert_eq!(v["profile"]["name"], "research-longitudinal");
    assert_eq!(v["profile"]["sha256"], sha.as_str());
    assert!(v["written"].as_u64().unwrap_or(0) >= 5, "{v}");

    // Another profile is refused: exit 2, says it needs re-approval, writes nothing.
    let (code, out, _) = deid(&e, "o2", &["--profile", "ps3.15-basic"]);
    assert_eq!(code, 2, "{out}");
    let msg = json(&out)["error"]["message"]
        .as_str()
        .expect("msg")
        .to_string();
    assert!(
        msg.contains("re-approval") && msg.contains("trial1"),
        "{msg}"
    );
    assert!(support::cli::dcm_files(&e.root.join("o2")).is_empty());
    // The same name is accepted (same identity).
    let (code, _, err) = deid(&e, "o3", &["--profile", "research-longitudinal"]);
    assert_eq!(code, 0, "{err}");

    // list and show mark the approved one.
    let (code, out, _) = run(&e, &["profile", "list", "--json"]);
    assert_eq!(code, 0);
    let list = json(&out);
    let marked: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter(|p| p["approved_for"].as_array().is_some_and(|a| !a.is_empty()))
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(marked, ["research-longitudinal"]);
    let (_, out, _) = run(&e, &["profile", "list"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("research-longitudinal") && l.contains("[approved: trial1]")),
        "{out}"
    );
    let (_, out, _) = run(&e, &["profile", "show", "--json"]);
    assert_eq!(json(&out)["approved_for"][0], "trial1");

    // inspect previews another profile but says it is not the approved one.
    let file = support::cli::dcm_files(&e.corpus)[0].clone();
    let (code, out, _) = run(
        &e,
        &[
            "inspect",
            file.to_str().expect("p"),
            "--profile",
            "ps3.15-basic",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(json(&out)["approved"], false);
}

#[test]
fn an_edited_approved_profile_file_needs_re_approval() {
    let e = env();
    let profile = e.root.join("site-profile.toml");
    let body = "name = \"site\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\noptions = [\"retain_patient_characteristics\"]\n";
    std::fs::write(&profile, body).expect("profile");
    let p = profile.to_str().expect("p");
    let (code, out, err) = run(&e, &["profile", "approve", p, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let a = json(&out);
    assert_eq!(a["study"], "default", "a new file gets a default study");
    let (code, out, _) = deid(&e, "o1", &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["profile"]["name"], "site");

    std::fs::write(
        &profile,
        body.replace("retain_patient_characteristics", "retain_uids"),
    )
    .expect("edit");
    let (code, out, _) = deid(&e, "o2", &[]);
    assert_eq!(code, 2, "{out}");
    let msg = json(&out)["error"]["message"]
        .as_str()
        .expect("msg")
        .to_string();
    assert!(
        msg.contains("changed since it was approved") && msg.contains("re-approval"),
        "{msg}"
    );
    // Re-approving makes it usable again.
    let (code, _, _) = run(&e, &["profile", "approve", p, "--study", "default"]);
    assert_eq!(code, 0);
    let (code, out, _) = deid(&e, "o3", &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_study_supplies_lookup_uid_root_and_destination() {
    let e = env();
    let lookup = e.root.join("etc/lookup.csv");
    std::fs::create_dir_all(lookup.parent().expect("dir")).expect("mkdir");
    // Only the first patient is in the table: the others must be quarantined.
    let first = e.manifest.files[0].patient;
    let pid = e
        .manifest
        .canaries
        .iter()
        .find(|c| c.patient == first && c.placement == "PatientID")
        .map(|c| c.value.clone())
        .expect("patient id canary");
    std::fs::write(&lookup, format!("original,pseudonym\n{pid},SUBJ-001\n")).expect("lookup");
    let archive = e.root.join("archive");
    write_config(
        &e,
        &format!(
            "uid_root = \"1.2.826.0.1.3680043.10.999\"\n\n[studies.t]\nlookup = \"lookup.csv\"\ndestination = \"local\"\n\n[destinations.local]\nurl = \"folder:{}\"\n",
            archive.display()
        ),
    );
    let (code, out, err) = deid(&e, "o1", &[]);
    assert_eq!(code, 0, "{out}{err}");
    let v = json(&out);
    let files = support::cli::dcm_files(&e.root.join("o1"));
    assert_eq!(v["written"].as_u64(), Some(files.len() as u64));
    assert!(!files.is_empty());
    assert!(v["quarantined"].as_u64().unwrap_or(0) > 0, "{v}");
    for f in &files {
        let rel = f.strip_prefix(e.root.join("o1")).expect("rel");
        assert!(rel.starts_with("SUBJ-001"), "{}", rel.display());
        let sop = text(f, "SOPInstanceUID");
        assert!(sop.starts_with("1.2.826.0.1.3680043.10.999."), "{sop}");
        assert!(sop.len() <= 64);
        for kw in [
            "StudyInstanceUID",
            "SeriesInstanceUID",
            "FrameOfReferenceUID",
        ] {
            let u = text(f, kw);
            assert!(
                u.is_empty() || u.starts_with("1.2.826.0.1.3680043.10.999."),
                "{kw} {u}"
            );
        }
        let meta = OpenFileOptions::new().open_file(f).expect("open");
        assert_eq!(
            meta.meta()
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0'),
            sop
        );
    }
    // The flag wins over the configuration, and is checked.
    let (code, _, err) = deid(&e, "o2", &["--uid-root", "1.3.6.1.4.1.99999.77"]);
    assert_eq!(code, 0, "{err}");
    let f = &support::cli::dcm_files(&e.root.join("o2"))[0];
    assert!(text(f, "SOPInstanceUID").starts_with("1.3.6.1.4.1.99999.77."));
    let (code, out, _) = deid(&e, "o3", &["--uid-root", "2.25.x"]);
    assert_eq!(code, 2, "{out}");
    // send without --to goes to the study's named destination.
    let (code, out, err) = run(&e, &["send", e.corpus.to_str().expect("p"), "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let s = json(&out);
    assert!(s["sent"].as_u64().unwrap_or(0) > 0, "{s}");
    assert!(!support::cli::dcm_files(&archive).is_empty());
}

#[test]
fn bad_configuration_is_exit_2_naming_file_and_key() {
    let e = env();
    write_config(&e, "[studies.t]\nlookup = 42\n");
    let (code, out, _) = deid(&e, "o", &[]);
    assert_eq!(code, 2, "{out}");
    let msg = json(&out)["error"]["message"]
        .as_str()
        .expect("msg")
        .to_string();
    assert!(
        msg.contains("deposit.toml") && msg.contains("studies.t.lookup"),
        "{msg}"
    );

    write_config(&e, "[studies.a]\n[studies.b]\n");
    let (code, out, _) = deid(&e, "o", &[]);
    assert_eq!(code, 2, "{out}");
    assert!(json(&out)["error"]["message"]
        .as_str()
        .expect("m")
        .contains("--study"));
    let (code, out, _) = deid(&e, "o", &["--study", "b"]);
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = deid(&e, "o", &["--study", "nope"]);
    assert_eq!(code, 2);

    // --config naming a missing file is an error; DEPOSIT_CONFIG naming one is no configuration.
    let missing = e.root.join("nope.toml");
    let (code, out, _) = deid(&e, "o", &["--config", missing.to_str().expect("p")]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn date_offsets_from_the_lookup_table_are_checked_before_and_applied() {
    let e = env();
    let pid = |p: usize| {
        e.manifest
            .canaries
            .iter()
            .find(|c| c.patient == p && c.placement == "PatientID")
            .map(|c| c.value.clone())
            .expect("patient id")
    };
    let table = e.root.join("subjects.csv");
    // Patient 0 has a pseudonym and an offset; patient 1 only a pseudonym.
    std::fs::write(
        &table,
        format!(
            "original,pseudonym,dateinc\n{},SUBJ-1,-100\n{},SUBJ-2,\n",
            pid(0),
            pid(1)
        ),
    )
    .expect("table");
    let t = table.to_str().expect("p");
    let (code, out, _) = run(
        &e,
        &[
            "deid",
            e.corpus.to_str().expect("p"),
            "--check",
            "--lookup",
            t,
            "--json",
        ],
    );
    assert_eq!(code, 1, "a patient lacks something: {out}");
    let v = json(&out);
    let missing = v["missing"].as_array().expect("missing");
    assert_eq!(missing.len(), 1, "{v}");
    assert_eq!(missing[0]["patient_id"], pid(1).as_str());
    assert_eq!(missing[0]["missing"][0], "dateinc");

    let (code, out, _) = deid(
        &e,
        "o",
        &["--lookup", t, "--profile", "research-longitudinal"],
    );
    assert_eq!(code, 0, "{out}");
    let v = json(&out);
    let lookup_misses: Vec<&Value> = v["quarantine"]
        .as_array()
        .expect("q")
        .iter()
        .filter(|q| q["code"] == "lookup_missing")
        .collect();
    assert!(!lookup_misses.is_empty(), "patient 1 is held: {v}");
    assert!(!out.contains(&pid(1)), "the key stays out of the output");
    // Every patient-0 CT date moved back by exactly the table's 100 days.
    let days = |s: &str| {
        let (y, m, d) = (&s[0..4], &s[4..6], &s[6..8]);
        deposit::calendar::days_from_civil(
            y.parse().expect("y"),
            m.parse().expect("m"),
            d.parse().expect("d"),
        )
    };
    let originals: std::collections::BTreeSet<i64> = e
        .manifest
        .files
        .iter()
        .filter(|f| f.patient == 0 && f.modality == "CT")
        .map(|f| days(&text(&e.corpus.join(&f.path), "StudyDate")))
        .collect();
    let outputs: Vec<PathBuf> = support::cli::dcm_files(&e.root.join("o"))
        .into_iter()
        .filter(|f| text(f, "Modality") == "CT")
        .collect();
    assert!(!outputs.is_empty());
    for f in outputs {
        let shifted = days(&text(&f, "StudyDate"));
        assert!(
            originals.contains(&(shifted + 100)),
            "{originals:?} vs {shifted}"
        );
    }
}
