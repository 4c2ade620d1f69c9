//! The readable report through the real binary: a generated corpus sent to the folder archive
//! under an approved profile, two patients held for the lookup table (one discarded), a review
//! sign-off; then `deposit report` as HTML and CSV holds the deliveries, totals, approval,
//! sign-off and quarantine decisions — and none of the corpus's identifying values.

use std::path::Path;
use std::process::Command;

use deposit::api::review::SampleOptions;
use deposit::api::Session;
use serde_json::Value;

fn run(home: &Path, config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", home)
        .env("DEPOSIT_CONFIG", config)
        .output()
        .expect("run deposit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(s: &str) -> Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn report_holds_deliveries_approvals_signoffs_and_quarantine_and_no_identity() {
    let tmp = tempfile::tempdir().expect("tmp");
    let corpus = tmp.path().join("incoming");
    let home = tmp.path().join("home");
    let archive = tmp.path().join("archive");
    let config = tmp.path().join("etc/deposit.toml");
    let manifest = deposit_synth::generate(
        &corpus,
        &deposit_synth::Config {
            patients: 3,
            ct_slices: 2,
            rows: 32,
            cols: 32,
            ..Default::default()
        },
    )
    .expect("corpus");
    let pid0 = manifest
        .canaries
        .iter()
        .find(|c| c.placement == "PatientID" && c.patient == 0)
        .map(|c| c.value.clone())
        .expect("patient 0's ID");
    let lookup = tmp.path().join("etc/lookup.csv");
    std::fs::create_dir_all(lookup.parent().expect("dir")).expect("mkdir");
    std::fs::write(&lookup, format!("original,pseudonym\n{pid0},SUBJ-001\n")).expect("lookup");
    std::fs::write(
        &config,
        format!(
            "[studies.trial]\ndestination = \"folder:{}\"\nproject = \"TRIAL\"\nlookup = \"{}\"\n",
            archive.display(),
            lookup.display()
        ),
    )
    .expect("config");

    // approve, send (patients 1 and 2 held: not in the lookup table), discard one held item
    let (code, out, err) = run(
        &home,
        &config,
        &["profile", "approve", "research-longitudinal", "--json"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let corpus_arg = corpus.display().to_string();
    let (code, out, err) = run(&home, &config, &["send", &corpus_arg, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let sent = json(&out);
    let quarantined = sent["quarantined"].as_u64().expect("quarantined");
    assert!(quarantined >= 2, "{sent}");
    let (_, out, _) = run(&home, &config, &["quarantine", "list", "--json"]);
    let items = json(&out);
    let first = items
        .as_array()
        .and_then(|a| a.first())
        .and_then(|q| q["id"].as_i64())
        .unwrap_or_else(|| panic!("a quarantine item: {items}"));
    let (code, out, err) = run(
        &home,
        &config,
        &["quarantine", "discard", &first.to_string(), "--json"],
    );
    assert_eq!(code, 0, "{out}{err}");

    // a review sign-off (through the api: the window records it); its note stays local
    let note = format!("checked {pid0}'s images");
    {
        let mut s = Session::open(&home).expect("session");
        let sample = s
            .sample(
                std::slice::from_ref(&corpus),
                &SampleOptions {
                    per_series: 1,
                    seed: 3,
                },
            )
            .expect("sample");
        let ids: Vec<i64> = sample.instances.iter().map(|i| i.instance_id).collect();
        s.record_signoff(&ids, "Dr Reviewer", &note)
            .expect("sign-off");
    }

    let cfg_text = std::fs::read_to_string(&config).expect("config");
    let pinned = cfg_text
        .lines()
        .find_map(|l| l.strip_prefix("profile_sha256 = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("pinned sha");

    // HTML and CSV files
    let html_path = tmp.path().join("out/report.html");
    std::fs::create_dir_all(html_path.parent().expect("dir")).expect("mkdir");
    let html_arg = html_path.display().to_string();
    let (code, out, err) = run(
        &home,
        &config,
        &[
            "report",
            "--study",
            "trial",
            "--out",
            &html_arg,
            "--utc-offset",
            "60",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let html = std::fs::read_to_string(&html_path).expect("html");
    let csv_path = tmp.path().join("out/report.csv");
    let csv_arg = csv_path.display().to_string();
    let (code, out, err) = run(
        &home,
        &config,
        &["report", "--format", "csv", "--out", &csv_arg, "--json"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        json(&out)["written"].as_array().map(Vec::len),
        Some(2),
        "{out}"
    );
    let csv = std::fs::read_to_string(&csv_path).expect("csv");
    let qcsv = std::fs::read_to_string(tmp.path().join("out/report-quarantine.csv"))
        .expect("quarantine csv");

    // what was delivered: patient 0's studies, as SUBJ-001 in TRIAL, verified
    let rows: Vec<&str> = csv
        .split("\r\n")
        .filter(|l| l.starts_with("delivery,"))
        .collect();
    assert!(!rows.is_empty(), "{csv}");
    let studies = rows.len();
    assert!(
        rows.iter().all(|r| r.contains(",trial,TRIAL,SUBJ-001,")),
        "{csv}"
    );
    assert!(rows.iter().all(|r| r.contains(",verified,")), "{csv}");
    assert!(
        rows.iter().all(|r| r.contains(&pinned)),
        "approval on each row: {csv}"
    );
    let files: u64 = sent["sent"].as_u64().expect("sent");
    let total = csv
        .split("\r\n")
        .find(|l| l.starts_with("total,"))
        .expect("total row");
    assert!(
        total.contains(&format!("{studies} studies: {studies} verified")),
        "{total}"
    );
    assert!(total.contains(&format!(",{files},")), "{total} vs {sent}");
    assert!(
        html.contains(&format!("data-total=\"studies\">{studies}<")),
        "{html}"
    );
    assert!(
        html.contains(&format!("data-total=\"files\">{files}<")),
        "{html}"
    );
    assert!(html.contains("SUBJ-001") && html.contains("TRIAL"));
    assert!(
        html.contains("(UTC+01:00)"),
        "local times at the offset given"
    );
    // the approval, the sign-off and the quarantine decisions
    assert!(html.contains("research-longitudinal") && html.contains(&pinned));
    assert!(html.contains("Approved at (UTC)"));
    assert!(html.contains("Dr Reviewer"));
    assert!(html.contains("lookup_missing") && html.contains("discarded"));
    assert!(!html.to_ascii_lowercase().contains("<script"));
    let qrows: Vec<&str> = qcsv
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(qrows.len() as u64, quarantined, "{qcsv}");
    assert_eq!(
        qrows.iter().filter(|r| r.contains(",discarded,")).count(),
        1,
        "{qcsv}"
    );
    assert!(
        qrows.iter().any(|r| r.contains(",lookup_missing,")),
        "{qcsv}"
    );
    assert!(
        qrows.iter().all(|r| r.contains(&pinned)),
        "the profile held under: {qcsv}"
    );

    // a period without sends has none; a bad date is bad usage
    let (code, out, _) = run(
        &home,
        &config,
        &["report", "--format", "csv", "--to", "2000-01-01"],
    );
    assert_eq!(code, 0);
    assert!(
        !out.contains("delivery,") && out.contains("total,"),
        "{out}"
    );
    let (code, _, err) = run(&home, &config, &["report", "--from", "2026-02-30"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&home, &config, &["report", "--study", "nope"]);
    assert_eq!(code, 2, "{err}");

    // the window's words for a real audit record (as `history` gives it), at a fixed offset
    let (_, out, _) = run(&home, &config, &["queue", "list", "--json"]);
    let listed = json(&out);
    let audit = &listed["jobs"][0]["studies"][0]["audit"];
    let summary = deposit::api::report::describe_audit(audit, Some(-300)).expect("summary");
    assert_eq!(summary.outcome, "verified", "{audit}");
    assert!(
        summary.headline.starts_with("Sent ") && summary.headline.contains("as subject SUBJ-001"),
        "{}",
        summary.headline
    );
    assert!(
        summary.headline.contains("(UTC-05:00); verified: "),
        "{}",
        summary.headline
    );
    assert!(summary
        .rows
        .iter()
        .any(|r| r.label == "Profile" && r.text.contains("research-longitudinal")));
    let words = format!("{} {:?}", summary.headline, summary.rows);

    // no identity: no canary, identifying date, original UID, source path or local note
    let all = format!("{html}\n{csv}\n{qcsv}\n{words}");
    let mut secrets: Vec<String> = Vec::new();
    for c in &manifest.canaries {
        secrets.push(c.canary.clone());
        secrets.push(c.value.clone());
    }
    for d in &manifest.dates {
        secrets.push(d.value.clone());
        if let (Some(y), Some(m), Some(dd)) =
            (d.value.get(..4), d.value.get(4..6), d.value.get(6..8))
        {
            secrets.push(format!("{y}-{m}-{dd}"));
        }
    }
    for f in &manifest.files {
        secrets.push(f.sop_instance_uid.clone());
        secrets.push(f.study_instance_uid.clone());
        secrets.push(f.series_instance_uid.clone());
        secrets.push(f.path.clone());
    }
    secrets.push(manifest.uid_root.clone());
    secrets.push(corpus_arg.clone());
    secrets.push(note);
    assert!(
        secrets.len() > 50,
        "the corpus's identifying values: {}",
        secrets.len()
    );
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        assert!(
            !all.contains(s.as_str()),
            "an identifying value in the report: {s}"
        );
    }
}
