//! CTP script compatibility: every stock CTP script (tests/data/ctp/scripts) loads and runs on
//! real sample files with results pinned by golden texts — every element removed, added or
//! changed, per (script, sample) — that only `DEPOSIT_BLESS=1` rewrites;
//! the CTP PS3.15 basic script leaves no canary of the synthetic corpus through `deposit deid`;
//! a malformed script is a profile error (exit 2); `inspect` works with a script profile.

use crate::support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_core::VR;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use sha2::{Digest, Sha256};

use deposit::deid::ctp::filter::Filter;
use deposit::deid::ctp::pixel::PixelScript;
use deposit::deid::ctp::{self, Env, MemoryIntegers, Now};
use deposit::deid::{Context, Keys, LookupTable, Profile};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ctp")
}

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn short_hash(b: &[u8]) -> String {
    hex::encode(&Sha256::digest(b)[..6])
}

/// The changes from `before` to `after`, one line per element path: `- path` removed,
/// `+ path VR value` added, `~ path VR value` changed (unchanged elements are not listed).
fn changes(before: &InMemDicomObject, after: &InMemDicomObject, out: &mut String) {
    let (mut a, mut b) = (String::new(), String::new());
    dump(before, "", &mut a);
    dump(after, "", &mut b);
    let split = |s: &str| -> std::collections::BTreeMap<String, String> {
        s.lines()
            .filter_map(|l| {
                l.split_once(' ')
                    .map(|(p, v)| (p.to_string(), v.to_string()))
            })
            .collect()
    };
    let (a, b) = (split(&a), split(&b));
    let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
    paths.sort();
    paths.dedup();
    for p in paths {
        match (a.get(p), b.get(p)) {
            (Some(_), None) => {
                let _ = writeln!(out, "- {p}");
            }
            (None, Some(v)) => {
                let _ = writeln!(out, "+ {p} {v}");
            }
            (Some(x), Some(v)) if x != v => {
                let _ = writeln!(out, "~ {p} {v}");
            }
            _ => {}
        }
    }
}

/// One line per element, recursively: `path VR value` (long or binary values as hashes).
fn dump(ds: &InMemDicomObject, prefix: &str, out: &mut String) {
    for e in ds.iter() {
        let t = e.tag();
        let path = format!("{prefix}({:04X},{:04X})", t.group(), t.element());
        match e.value() {
            Value::Sequence(s) => {
                let _ = writeln!(out, "{path} SQ <{} item(s)>", s.items().len());
                for (i, item) in s.items().iter().enumerate() {
                    dump(item, &format!("{path}[{i}]."), out);
                }
            }
            Value::PixelSequence(p) => {
                let _ = writeln!(
                    out,
                    "{path} {:?} <{} fragment(s)>",
                    e.vr(),
                    p.fragments().len()
                );
            }
            Value::Primitive(p) => {
                let binary = matches!(
                    e.vr(),
                    VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN
                );
                let shown = if binary {
                    let bytes = p.to_bytes();
                    format!("<{} bytes #{}>", bytes.len(), short_hash(&bytes))
                } else {
                    let s = p.to_str();
                    let s = s.trim_end_matches(['\0', ' ']);
                    if s.chars().count() <= 64 && !s.chars().any(char::is_control) {
                        format!("\"{s}\"")
                    } else {
                        format!(
                            "<{} chars #{}>",
                            s.chars().count(),
                            short_hash(s.as_bytes())
                        )
                    }
                };
                let _ = writeln!(out, "{path} {:?} {shown}", e.vr());
            }
        }
    }
}

fn golden_check(name: &str, got: &str) {
    let path = data().join("golden").join(format!("{name}.txt"));
    if std::env::var("DEPOSIT_BLESS").as_deref() == Ok("1") {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).expect("golden folder");
        }
        std::fs::write(&path, got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no golden {} — run DEPOSIT_BLESS=1 cargo test --test integration ctp:: and review it",
            path.display()
        )
    });
    if want != got {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .filter(|(a, b)| a != b)
            .take(8)
            .map(|(a, b)| format!("- {a}\n+ {b}"))
            .collect();
        panic!(
            "{name}: result differs from {} (lines {} vs {}):\n{}",
            path.display(),
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}

fn samples() -> Vec<(String, InMemDicomObject, String)> {
    sorted_files(&data().join("samples"))
        .into_iter()
        .map(|p| {
            let obj = OpenFileOptions::new().open_file(&p).expect("sample reads");
            let ts = obj
                .meta()
                .transfer_syntax
                .trim_end_matches('\0')
                .to_string();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, obj.into_inner(), ts)
        })
        .collect()
}

#[test]
fn every_stock_script_loads_runs_and_matches_its_golden() {
    let lookup = LookupTable::parse(
        &std::fs::read_to_string(data().join("lookup.properties")).expect("lookup"),
    )
    .expect("lookup parses");
    let keys = Keys::new([7; 32]);
    let samples = samples();
    assert_eq!(samples.len(), 4);
    let scripts = sorted_files(&data().join("scripts"));
    assert_eq!(scripts.len(), 20, "all stock scripts are present");
    let mut ran = 0;
    for script in scripts {
        let stem = script
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&script).expect("script text");
        let mut out = String::new();
        if ctp::looks_like_script(&text) {
            let profile = Profile::load(script.to_str().expect("utf8"))
                .unwrap_or_else(|e| panic!("{stem} does not load: {e}"))
                .with_ctp_env(Env {
                    now: Some(Now::from_unix(1_700_000_000, 0)),
                    integers: Some(Arc::new(MemoryIntegers::default())),
                });
            assert!(profile.ctp.is_some(), "{stem} routes to the CTP engine");
            assert_eq!(profile.name, stem);
            let _ = writeln!(out, "profile {} {}", profile.name, profile.sha256);
            for (name, ds, ts) in &samples {
                let _ = writeln!(out, "== {name}");
                let ctx = Context {
                    lookup: Some(&lookup),
                    // Pin the script's own results, not the burned-in-risk hold.
                    mask_rule: Some("golden test"),
                    record: deposit::deid::Record::Rules,
                };
                match deposit::deid::deidentify(ds.clone(), ts, &profile, &keys, ctx) {
                    Ok(d) => {
                        let _ = writeln!(out, "output {}", d.relative_path.display());
                        changes(ds, &d.dataset, &mut out);
                    }
                    Err(q) => {
                        let _ = writeln!(out, "quarantine {}: {}", q.code.as_str(), q.reason);
                    }
                }
            }
        } else if text.contains('{') {
            let p = PixelScript::parse(&text).unwrap_or_else(|e| panic!("{stem}: {e}"));
            assert!(p.signatures.len() > 5, "{stem} has signatures");
            let _ = writeln!(
                out,
                "pixel script: {} signatures, {} regions, {} skipped",
                p.signatures.len(),
                p.signatures.iter().map(|s| s.regions.len()).sum::<usize>(),
                p.skipped.len()
            );
            for (name, ds, _) in &samples {
                let m = p.first_match(ds).map(|s| s.line);
                let _ = writeln!(out, "== {name}: first matching signature at line {m:?}");
            }
        } else {
            let f = Filter::parse(&text).unwrap_or_else(|e| panic!("{stem}: {e}"));
            for (name, ds, _) in &samples {
                let _ = writeln!(out, "== {name}: filter matches = {}", f.matches(ds));
            }
        }
        golden_check(&stem, &out);
        ran += 1;
    }
    assert_eq!(ran, 20);
}

fn deposit(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", home)
        .output()
        .expect("run deposit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn ctp_basic_script_leaves_no_canary_on_the_synthetic_corpus() {
    let tmp = tempfile::tempdir().expect("tmp");
    let corpus = tmp.path().join("incoming");
    let home = tmp.path().join("home");
    let out = tmp.path().join("out");
    let cfg = deposit_synth::Config {
        patients: 3,
        ct_slices: 3,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    let manifest = deposit_synth::generate(&corpus, &cfg).expect("generate corpus");
    let script = data().join("scripts/DICOM-PS3.15-Basic.script");
    let (code, stdout, stderr) = deposit(
        &home,
        &[
            "deid",
            corpus.to_str().expect("utf8"),
            "--out",
            out.to_str().expect("utf8"),
            "--profile",
            script.to_str().expect("utf8"),
            "--json",
        ],
    );
    assert_eq!(code, 0, "stdout {stdout}\nstderr {stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(v["profile"]["name"], "DICOM-PS3.15-Basic", "{v}");
    assert_eq!(v["failed"], 0, "{v}");
    assert!(v["written"].as_u64().unwrap_or(0) >= 3, "{v}");
    let canaries: Vec<&str> = manifest
        .canaries
        .iter()
        .map(|c| c.canary.as_str())
        .collect();
    assert!(canaries.len() > 10);
    support::canary::assert_no_leaks(&out, &canaries);
    for c in &canaries {
        assert!(!stdout.contains(c) && !stderr.contains(c), "{c} in output");
    }
    // Clinical attributes survive (group 0018/0028 kept by the script).
    let mut files = Vec::new();
    let mut stack = vec![out.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let ct = files
        .iter()
        .filter_map(|f| OpenFileOptions::new().open_file(f).ok())
        .find(|o| {
            o.element_by_name("Modality")
                .ok()
                .and_then(|e| e.to_str().ok().map(|s| s.trim() == "CT"))
                .unwrap_or(false)
        })
        .expect("a CT output");
    for kw in ["SliceThickness", "KVP", "Rows", "PixelSpacing", "PixelData"] {
        assert!(ct.element_by_name(kw).is_ok(), "{kw} kept");
    }
    let removed = ct
        .element_by_name("PatientIdentityRemoved")
        .ok()
        .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()));
    assert_eq!(removed.as_deref(), Some("YES"));
}

#[test]
fn malformed_script_is_a_profile_error_with_its_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bad = tmp.path().join("bad.script");
    std::fs::write(
        &bad,
        "<script>\n <e en=\"T\" t=\"00100010\" n=\"PatientName\">@hash(this,10</e>\n</script>\n",
    )
    .expect("write");
    let input = data().join("samples/CT_small.dcm");
    let (code, stdout, stderr) = deposit(
        &tmp.path().join("home"),
        &[
            "deid",
            input.to_str().expect("utf8"),
            "--out",
            tmp.path().join("out").to_str().expect("utf8"),
            "--profile",
            bad.to_str().expect("utf8"),
        ],
    );
    assert_eq!(code, 2, "stdout {stdout} stderr {stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn inspect_shows_the_ctp_rule_behind_each_change() {
    let tmp = tempfile::tempdir().expect("tmp");
    let script = data().join("scripts/DICOM-PS3.15-Basic.script");
    let input = data().join("samples/CT_small.dcm");
    let (code, stdout, stderr) = deposit(
        &tmp.path().join("home"),
        &[
            "inspect",
            input.to_str().expect("utf8"),
            "--profile",
            script.to_str().expect("utf8"),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    let decisions = v["decisions"].as_array().expect("decisions");
    let pid = decisions
        .iter()
        .find(|d| d["path"] == "(0010,0020)")
        .expect("PatientID decision");
    assert!(
        pid["rule"]
            .as_str()
            .unwrap_or("")
            .contains("CTP rule (0010,0020)"),
        "{pid}"
    );
    assert!(decisions.iter().any(|d| d["rule"]
        .as_str()
        .unwrap_or("")
        .contains("remove.privategroups")));
}

fn top_dirs(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn integer_numbers_persist_in_the_catalog_across_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    // the stock basic script with PatientID numbered (a script that kept everything else would
    // be held by the residual-identity gate)
    let basic = std::fs::read_to_string(data().join("scripts/DICOM-PS3.15-Basic.script"))
        .expect("basic script");
    let rule = "<e en=\"T\" t=\"00100020\" n=\"PatientID\">@hash(this, 64)</e>";
    assert!(basic.contains(rule));
    let script = tmp.path().join("numbered.script");
    std::fs::write(
        &script,
        basic.replace(
            rule,
            "<e en=\"T\" t=\"00100020\" n=\"PatientID\">@integer(this,ptid,4)</e>",
        ),
    )
    .expect("write");
    // a second patient: CT_small under another patient ID
    let mut other = OpenFileOptions::new()
        .open_file(data().join("samples/CT_small.dcm"))
        .expect("open CT_small");
    other.put(dicom_core::DataElement::new(
        dicom_core::Tag(0x0010, 0x0020),
        VR::LO,
        dicom_core::PrimitiveValue::from("OTHER-PATIENT-77"),
    ));
    let second = tmp.path().join("second");
    std::fs::create_dir_all(&second).expect("mkdir");
    other
        .write_to_file(second.join("CT_other.dcm"))
        .expect("write the second patient");
    let run = |sample: &str, out: &str| {
        let out = tmp.path().join(out);
        let input = if sample == "CT_other.dcm" {
            second.join(sample)
        } else {
            data().join("samples").join(sample)
        };
        let (code, stdout, stderr) = deposit(
            &home,
            &[
                "deid",
                input.to_str().expect("utf8"),
                "--out",
                out.to_str().expect("utf8"),
                "--profile",
                script.to_str().expect("utf8"),
                "--json",
            ],
        );
        assert_eq!(code, 0, "{stdout} {stderr}");
        let dirs = top_dirs(&out);
        assert!(!dirs.is_empty(), "nothing written: {stdout}");
        dirs
    };
    assert_eq!(run("CT_small.dcm", "a"), ["0001"]);
    assert_eq!(run("CT_other.dcm", "b"), ["0002"]);
    assert_eq!(
        run("CT_small.dcm", "c"),
        ["0001"],
        "same number in a later run"
    );
}
