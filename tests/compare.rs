//! The profile change check through the real `deposit` binary: `profile compare` for an option
//! (retained vs shifted dates), a CTP script against its edited copy, a new UID root; after a
//! real delivery to the folder archive the linkage check compares with what was delivered (the
//! audit record's study UID and date shift), and `profile approve` refuses a change that breaks
//! linkage unless it is acknowledged, and records the acknowledgement.

use crate::support;

use serde_json::Value;
use support::cli::deposit;

use std::path::Path;

fn profile_file(dir: &Path, name: &str, options: &[&str]) -> String {
    let p = dir.join(format!("{name}.toml"));
    let opts: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
    std::fs::write(
        &p,
        format!(
            "name = \"{name}\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\noptions = [{}]\n",
            opts.join(", ")
        ),
    )
    .expect("profile file");
    p.display().to_string()
}

fn attribute<'a>(r: &'a Value, keyword: &str) -> Option<&'a Value> {
    r["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["keyword"] == keyword)
}

#[test]
fn profile_changes_are_shown_and_linkage_breaks_need_an_acknowledgement() {
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let corpus = t.join("incoming");
    let home = t.join("home");
    let archive = t.join("archive");
    let cfg = deposit_synth::Config {
        patients: 2,
        ct_slices: 2,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    let manifest = deposit_synth::generate(&corpus, &cfg).expect("generate corpus");
    let sample = corpus.display().to_string();
    let config = t.join("deposit.toml");
    std::fs::write(&config, "[studies.trial]\nproject = \"TRIAL\"\n").expect("config");
    let config = config.display().to_string();
    let retain = profile_file(t, "retain-dates", &["retain_longitudinal_full_dates"]);
    let shifted = profile_file(t, "shifted-dates", &["retain_longitudinal_modified_dates"]);
    let shifted_devices = profile_file(
        t,
        "shifted-dates-devices",
        &[
            "retain_longitudinal_modified_dates",
            "retain_device_identity",
        ],
    );

    // 1. an option: retained dates vs shifted dates — dates change, so does the date shift
    let (code, r, err) = deposit(
        &home,
        &[
            "profile", "compare", &retain, &shifted, "--sample", &sample, "--json",
        ],
    );
    assert_eq!(code, 1, "differences: exit 1; {r} {err}");
    assert_eq!(r["same"], false);
    let date = attribute(&r, "StudyDate").expect("StudyDate differs");
    assert_eq!(
        (&date["old"], &date["new"]),
        (&"kept".into(), &"shifted".into()),
        "{date}"
    );
    assert_eq!(r["linkage"]["verdict"], "broken", "{r}");
    assert!(r["linkage"]["date_shifts"].as_u64() >= Some(1), "{r}");
    assert_eq!(r["linkage"]["studies"], 0, "{r}");
    // never a value: no canary of the corpus appears in the report
    let text = r.to_string();
    for c in manifest.canaries.iter().filter(|c| c.kind != "pixels") {
        assert!(
            !text.contains(c.canary.as_str()),
            "{} leaked into the report",
            c.canary
        );
    }
    // the same profile twice: the same output, exit 0, and the table says so
    let (code, r, _) = deposit(
        &home,
        &[
            "profile", "compare", &shifted, &shifted, "--sample", &sample, "--json",
        ],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["same"], true);
    assert_eq!(r["linkage"]["verdict"], "kept");
    assert!(r["files"].as_u64() > Some(2), "{r}");

    // 2. a CTP script against its edited copy (another UID root): new UIDs, linkage broken
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ctp/scripts/DICOM-PS3.15-Basic.script");
    let text = std::fs::read_to_string(&script).expect("script");
    let edited = text.replace(
        "<p t=\"UIDROOT\">1.3.6.1.4.1.14519.5.2.1.9999.9999</p>",
        "<p t=\"UIDROOT\">1.2.826.0.1.3680043.10.4242</p>",
    );
    assert_ne!(text, edited, "the script's UID root is edited");
    let copy = t.join("edited.script");
    std::fs::write(&copy, edited).expect("copy");
    let (code, r, err) = deposit(
        &home,
        &[
            "profile",
            "compare",
            &script.display().to_string(),
            &copy.display().to_string(),
            "--sample",
            &sample,
            "--per-series",
            "1",
            "--json",
        ],
    );
    assert_eq!(code, 1, "{r} {err}");
    let uid = attribute(&r, "SOPInstanceUID").expect("SOP UIDs differ");
    assert_eq!(uid["values_equal"], false, "{uid}");
    assert_eq!(r["linkage"]["verdict"], "broken");
    assert!(r["linkage"]["studies"].as_u64() >= Some(1), "{r}");
    assert_eq!(r["linkage"]["subjects"], 0, "{r}");

    // 3. approve a profile for the study (first approval: no check), deliver under it
    let (code, a, err) = deposit(
        &home,
        &[
            "--config",
            &config,
            "profile",
            "approve",
            &shifted,
            "--study",
            "trial",
            "--approver",
            "Dr First",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{a} {err}");
    assert_eq!(a["record"]["linkage"], "first");
    // the JSON keeps the shape of an approval (study, profile, sha256, approved_at, config)
    for k in ["study", "profile", "sha256", "approved_at", "config"] {
        assert!(a[k].is_string(), "{k}: {a}");
    }
    let dest = format!("folder:{}", archive.display());
    let (code, s, err) = deposit(
        &home,
        &[
            "--config", &config, "send", &sample, "--to", &dest, "--study", "trial", "--json",
        ],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert!(s["verified"].as_u64() > Some(0), "{s}");
    // the audit record carries what linkage is checked against
    let (_, jobs, _) = deposit(&home, &["queue", "list", "--json"]);
    let studies = jobs["jobs"][0]["studies"].as_array().expect("studies");
    for st in studies {
        let audit = &st["audit"];
        assert!(
            audit["study_uid"].as_str().is_some_and(|u| !u.is_empty()),
            "{audit}"
        );
        assert!(
            audit["date_shift_days"].as_i64().is_some(),
            "shifted dates: {audit}"
        );
    }

    // 4. a new UID root, checked against the delivery
    let (code, r, err) = deposit(
        &home,
        &[
            "--config",
            &config,
            "profile",
            "compare",
            "approved",
            "approved",
            "--study",
            "trial",
            "--new-uid-root",
            "1.2.826.0.1.3680043.10.4242",
            "--sample",
            &sample,
            "--json",
        ],
    );
    assert_eq!(code, 1, "{r} {err}");
    assert_eq!(r["linkage"]["verdict"], "broken");
    assert!(r["linkage"]["delivered_inputs"].as_u64() > Some(0), "{r}");
    assert_eq!(
        r["linkage"]["delivered_studies"].as_u64(),
        Some(studies.len() as u64),
        "every delivered study would get new UIDs: {r}"
    );
    assert!(
        r["settings"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("UID root")),
        "{r}"
    );
    // the approved profile with itself: linkage kept, checked against the delivery
    let (code, r, _) = deposit(
        &home,
        &[
            "--config",
            &config,
            "profile",
            "compare",
            "approved",
            &shifted_devices,
            "--study",
            "trial",
            "--sample",
            &sample,
            "--json",
        ],
    );
    assert_eq!(r["linkage"]["verdict"], "kept", "{r}");
    assert!(r["linkage"]["delivered_inputs"].as_u64() > Some(0), "{r}");
    assert!(code == 0 || code == 1);

    // 5. approve: a change after deliveries needs a sample …
    let approve = |extra: &[&str]| {
        let mut args = vec![
            "--config", &config, "profile", "approve", "--study", "trial", "--json",
        ];
        args.extend_from_slice(extra);
        deposit(&home, &args)
    };
    let (code, e, _) = approve(&[&retain]);
    assert_eq!(code, 2, "{e}");
    assert_eq!(e["error"]["code"], "profile.linkage_unchecked", "{e}");
    // … is refused when it breaks linkage (retained dates: other date shifts) …
    let (code, e, _) = approve(&[&retain, "--sample", &sample]);
    assert_eq!(code, 2, "{e}");
    assert_eq!(e["error"]["code"], "profile.linkage_break", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("new date shifts")),
        "{e}"
    );
    let pinned = std::fs::read_to_string(&config).expect("config");
    assert!(
        pinned.contains("shifted-dates.toml"),
        "still the old approval: {pinned}"
    );
    // … an acknowledgement needs who gives it …
    let (code, e, _) = approve(&[
        &retain,
        "--sample",
        &sample,
        "--ack-linkage-break",
        "dates needed",
    ]);
    assert_eq!(
        (code, &e["error"]["code"]),
        (2, &"profile.approver_missing".into()),
        "{e}"
    );
    // … and with it the change is approved and the acknowledgement recorded
    let (code, a, err) = approve(&[
        &retain,
        "--sample",
        &sample,
        "--approver",
        "Dr Second",
        "--ack-linkage-break",
        "full dates agreed with the ethics board",
    ]);
    assert_eq!(code, 0, "{a} {err}");
    assert_eq!(a["record"]["linkage"], "broken");
    assert_eq!(
        a["record"]["acknowledged"],
        "full dates agreed with the ethics board"
    );
    let pinned = std::fs::read_to_string(&config).expect("config");
    assert!(pinned.contains("retain-dates.toml"), "{pinned}");
    let (code, list, _) = deposit(
        &home,
        &[
            "--config",
            &config,
            "profile",
            "approvals",
            "--study",
            "trial",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let list = list.as_array().expect("records");
    assert_eq!(list.len(), 2, "{list:?}");
    let last = &list[0];
    assert_eq!(last["approver"], "Dr Second");
    assert_eq!(last["linkage"], "broken");
    assert!(
        last["previous"]
            .as_str()
            .is_some_and(|p| p.ends_with("shifted-dates.toml")),
        "{last}"
    );
    let counts: Value =
        serde_json::from_str(last["counts"].as_str().expect("counts")).expect("json");
    assert!(counts["date_shifts"].as_u64() >= Some(1), "{counts}");
    assert_eq!(list[1]["linkage"], "first");
}

#[test]
fn on_the_real_sample_corpus_the_same_settings_are_the_same_and_a_new_site_key_is_not() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let sample = support::samples().join("pydicom/test_files");
    assert!(
        sample.is_dir(),
        "sample corpus: tests/data/fetch-samples.sh"
    );
    let sample = sample.display().to_string();
    // every kind of file the corpus holds (compressed, multi-frame, SR, RT, broken), twice
    // through two pipelines: deterministic, so nothing differs
    let (code, r, err) = deposit(
        &home,
        &[
            "profile",
            "compare",
            "research-longitudinal",
            "research-longitudinal",
            "--sample",
            &sample,
            "--per-series",
            "1",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{r} {err}");
    assert!(r["files"].as_u64() > Some(20), "{r}");
    assert_eq!(r["linkage"]["verdict"], "kept");
    // another site key: every subject gets a new pseudonym, every study new UIDs
    let key = tmp.path().join("other.key");
    std::fs::write(&key, [9u8; 32]).expect("key");
    let (code, r, err) = deposit(
        &home,
        &[
            "profile",
            "compare",
            "research-longitudinal",
            "research-longitudinal",
            "--new-site-key",
            &key.display().to_string(),
            "--sample",
            &sample,
            "--per-series",
            "1",
            "--json",
        ],
    );
    assert_eq!(code, 1, "{r} {err}");
    let l = &r["linkage"];
    assert_eq!(l["verdict"], "broken");
    assert!(l["subjects"].as_u64() > Some(5), "{l}");
    assert!(l["studies"].as_u64() > Some(5), "{l}");
    assert!(
        l["date_shifts"].as_u64() > Some(0),
        "the shift is keyed: {l}"
    );
    assert_eq!(r["settings"][0], "site key: another key");
    // a key file of the wrong size is refused
    std::fs::write(&key, [9u8; 31]).expect("key");
    let (code, e, _) = deposit(
        &home,
        &[
            "profile",
            "compare",
            "ps3.15-basic",
            "ps3.15-basic",
            "--new-site-key",
            &key.display().to_string(),
            "--sample",
            &sample,
            "--json",
        ],
    );
    assert_eq!(
        (code, &e["error"]["code"]),
        (2, &"compare.site_key".into()),
        "{e}"
    );
}
