//! De-identification over whole corpora through the real binary:
//! - every shipped profile and the CTP PS3.15 basic script leave no canary of the synthetic
//!   corpus anywhere (file bytes incl. file meta, output paths, command output), and keep the
//!   pixel data and clinical attributes of every CT slice byte for byte;
//! - the clean structured content option cleans SR content instead of removing it;
//! - every deliberately broken file of the sample corpus is quarantined or skipped with a
//!   reason, and nothing panics.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_core::value::Value;
use dicom_core::Tag;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", home)
        .env("DEPOSIT_CONFIG", home.join("no-config.toml"))
        .output()
        .expect("run deposit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(s: &str) -> Json {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn open(p: &Path) -> InMemDicomObject {
    OpenFileOptions::new()
        .open_file(p)
        .unwrap_or_else(|e| panic!("{} reads back: {e}", p.display()))
        .into_inner()
}

fn value_text(ds: &InMemDicomObject, tag: Tag) -> Option<String> {
    ds.get(tag)
        .and_then(|e| e.value().to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
}

fn pixel_hash(ds: &InMemDicomObject) -> Option<String> {
    let e = ds.get(Tag(0x7FE0, 0x0010))?;
    let bytes = e.value().to_bytes().ok()?;
    Some(hex::encode(Sha256::digest(&bytes)))
}

/// Clinical attributes a research profile must not touch (Modality, geometry, acquisition,
/// rescale, pixel description).
const CLINICAL: &[(u16, u16)] = &[
    (0x0008, 0x0060), // Modality
    (0x0018, 0x0050), // Slice Thickness
    (0x0018, 0x0060), // KVP
    (0x0020, 0x0013), // Instance Number
    (0x0020, 0x0032), // Image Position (Patient)
    (0x0020, 0x0037), // Image Orientation (Patient)
    (0x0028, 0x0002), // Samples per Pixel
    (0x0028, 0x0004), // Photometric Interpretation
    (0x0028, 0x0010), // Rows
    (0x0028, 0x0011), // Columns
    (0x0028, 0x0030), // Pixel Spacing
    (0x0028, 0x0100), // Bits Allocated
    (0x0028, 0x0101), // Bits Stored
    (0x0028, 0x1050), // Window Center
    (0x0028, 0x1052), // Rescale Intercept
    (0x0028, 0x1053), // Rescale Slope
];

struct Corpus {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: PathBuf,
    manifest: deposit_synth::Manifest,
}

fn corpus() -> Corpus {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().to_path_buf();
    let dir = root.join("incoming");
    let cfg = deposit_synth::Config {
        patients: 3,
        ct_slices: 3,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    let manifest = deposit_synth::generate(&dir, &cfg).expect("generate corpus");
    // Only DICOM in the input folder.
    std::fs::rename(
        dir.join(deposit_synth::MANIFEST_NAME),
        root.join("manifest.json"),
    )
    .expect("move manifest");
    Corpus {
        _tmp: tmp,
        root,
        dir,
        manifest,
    }
}

fn ctp_basic_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ctp/scripts/DICOM-PS3.15-Basic.script")
}

/// Runs one profile over the corpus and checks everything; returns the output folder.
fn check_profile(c: &Corpus, profile: &str, label: &str) -> PathBuf {
    let out = c.root.join(format!("out-{label}"));
    let home = c.root.join(format!("home-{label}"));
    let (code, stdout, stderr) = run(
        &home,
        &[
            "deid",
            c.dir.to_str().expect("utf8"),
            "--out",
            out.to_str().expect("utf8"),
            "--profile",
            profile,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{label}: {stdout}\n{stderr}");
    let v = json(&stdout);
    assert_eq!(v["failed"], 0, "{label}: {v}");
    let written = v["written"].as_u64().unwrap_or(0);
    let quarantined = v["quarantined"].as_u64().unwrap_or(0);
    assert_eq!(
        written + quarantined + v["skipped"].as_u64().unwrap_or(0),
        c.manifest.files.len() as u64,
        "{label}: every input written, quarantined or skipped: {v}"
    );
    // Only burned-in-risk ultrasound is set aside (no mask library given here).
    for q in v["quarantine"].as_array().expect("list") {
        assert_eq!(q["code"], "needs_pixel_review", "{label}: {q}");
    }
    let canaries: Vec<&str> = c
        .manifest
        .canaries
        .iter()
        .map(|c| c.canary.as_str())
        .collect();
    let leaks = support::canary::find_leaks(&out, &canaries);
    assert!(leaks.is_empty(), "{label}: canaries left: {leaks:#?}");
    for canary in &canaries {
        assert!(
            !stdout.contains(canary) && !stderr.contains(canary),
            "{label}: {canary} in command output"
        );
    }
    // Every original UID is gone too (file meta included: the leak scan reads whole files).
    let uid_root = deposit_synth::UID_ROOT;
    assert!(
        support::canary::find_leaks(&out, &[uid_root, deposit_synth::IMPLEMENTATION_CLASS_UID])
            .is_empty(),
        "{label}: original UIDs left"
    );

    // Pixels and clinical attributes of every CT slice are unchanged.
    let mut inputs: BTreeMap<String, InMemDicomObject> = BTreeMap::new();
    for f in c.manifest.files.iter().filter(|f| f.modality == "CT") {
        let ds = open(&c.dir.join(&f.path));
        inputs.insert(pixel_hash(&ds).expect("input pixels"), ds);
    }
    let mut matched = 0;
    for f in support::cli::dcm_files(&out) {
        let ds = open(&f);
        if value_text(&ds, Tag(0x0008, 0x0060)).as_deref() != Some("CT") {
            continue;
        }
        let h = pixel_hash(&ds).expect("pixels kept");
        let input = inputs
            .get(&h)
            .unwrap_or_else(|| panic!("{label}: {} has pixels no input has", f.display()));
        for &(g, e) in CLINICAL {
            assert_eq!(
                value_text(&ds, Tag(g, e)),
                value_text(input, Tag(g, e)),
                "{label}: ({g:04X},{e:04X}) changed in {}",
                f.display()
            );
        }
        assert_eq!(value_text(&ds, Tag(0x0012, 0x0062)).as_deref(), Some("YES"));
        matched += 1;
    }
    assert_eq!(
        matched,
        inputs.len(),
        "{label}: every CT slice written once"
    );
    out
}

#[test]
fn every_shipped_profile_and_the_ctp_basic_script_leave_no_canary() {
    let c = corpus();
    for (name, _) in deposit::deid::profile::SHIPPED {
        check_profile(&c, name, name);
    }
    let script = ctp_basic_script();
    check_profile(&c, script.to_str().expect("utf8"), "ctp-basic");
}

fn sr_file(c: &Corpus) -> PathBuf {
    let f = c
        .manifest
        .files
        .iter()
        .find(|f| f.modality == "SR" && f.patient == 0)
        .expect("an SR");
    c.dir.join(&f.path)
}

fn canary(c: &Corpus, placement: &str) -> deposit_synth::Canary {
    c.manifest
        .canaries
        .iter()
        .find(|x| x.patient == 0 && x.placement == placement)
        .unwrap_or_else(|| panic!("no {placement} canary"))
        .clone()
}

/// Content items of the SR (depth-first), as (value type, element).
fn items(ds: &InMemDicomObject, out: &mut Vec<InMemDicomObject>) {
    if let Some(e) = ds.get(Tag(0x0040, 0xA730)) {
        if let Value::Sequence(s) = e.value() {
            for i in s.items() {
                out.push(i.clone());
                items(i, out);
            }
        }
    }
}

#[test]
fn clean_structured_content_cleans_sr_text_names_dates_and_uids() {
    let c = corpus();
    // Write the identity known from the same object into the SR's TEXT item, in the ways
    // reports spell it: the family name in words, the patient ID, the birth date in two forms.
    let src = sr_file(&c);
    let mut obj = OpenFileOptions::new().open_file(&src).expect("sr");
    let pid = canary(&c, "PatientID").canary;
    let name = canary(&c, "PatientName").canary;
    let observer = c
        .manifest
        .canaries
        .iter()
        .find(|x| x.patient == 0 && x.kind == "sr-content" && x.placement.contains("PersonName"))
        .map(|x| x.canary.clone());
    let birth = value_text(&obj, Tag(0x0010, 0x0030)).expect("birth date");
    let (y, m, d) = (&birth[0..4], &birth[4..6], &birth[6..8]);
    let text = format!(
        "Findings for {name} (ID {pid}), born {d}/{m}/{y}, i.e. {y}-{m}-{d}; read by {}. No acute abnormality.",
        observer.clone().unwrap_or_default()
    );
    let mut seq = obj
        .get(Tag(0x0040, 0xA730))
        .expect("content")
        .value()
        .items()
        .expect("items")
        .to_vec();
    for it in &mut seq {
        if value_text(it, Tag(0x0040, 0xA040)).as_deref() == Some("TEXT") {
            it.put(dicom_core::DataElement::new(
                Tag(0x0040, 0xA160),
                dicom_core::VR::UT,
                dicom_core::PrimitiveValue::from(text.as_str()),
            ));
        }
    }
    // A DATE and a UIDREF item as well.
    let uidref = format!("{}.424242", deposit_synth::UID_ROOT);
    seq.push(InMemDicomObject::from_element_iter([
        dicom_core::DataElement::new(
            Tag(0x0040, 0xA010),
            dicom_core::VR::CS,
            dicom_core::PrimitiveValue::from("CONTAINS"),
        ),
        dicom_core::DataElement::new(
            Tag(0x0040, 0xA040),
            dicom_core::VR::CS,
            dicom_core::PrimitiveValue::from("DATE"),
        ),
        dicom_core::DataElement::new(
            Tag(0x0040, 0xA121),
            dicom_core::VR::DA,
            dicom_core::PrimitiveValue::from("20200110"),
        ),
    ]));
    seq.push(InMemDicomObject::from_element_iter([
        dicom_core::DataElement::new(
            Tag(0x0040, 0xA010),
            dicom_core::VR::CS,
            dicom_core::PrimitiveValue::from("CONTAINS"),
        ),
        dicom_core::DataElement::new(
            Tag(0x0040, 0xA040),
            dicom_core::VR::CS,
            dicom_core::PrimitiveValue::from("UIDREF"),
        ),
        dicom_core::DataElement::new(
            Tag(0x0040, 0xA124),
            dicom_core::VR::UI,
            dicom_core::PrimitiveValue::from(uidref.as_str()),
        ),
    ]));
    obj.put(dicom_core::DataElement::new(
        Tag(0x0040, 0xA730),
        dicom_core::VR::SQ,
        Value::Sequence(dicom_core::value::DataSetSequence::new(
            seq,
            dicom_core::Length::UNDEFINED,
        )),
    ));
    let input = c.root.join("sr-in");
    std::fs::create_dir_all(&input).expect("mkdir");
    obj.write_to_file(input.join("sr.dcm")).expect("write sr");

    let profile = c.root.join("sr-clean.toml");
    std::fs::write(
        &profile,
        "name = \"sr-clean\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\noptions = [\"clean_structured_content\", \"retain_longitudinal_modified_dates\"]\n",
    )
    .expect("profile");
    for (label, prof) in [
        ("clean", profile.to_str().expect("p")),
        ("basic", "ps3.15-basic"),
    ] {
        let out = c.root.join(format!("sr-out-{label}"));
        let (code, stdout, stderr) = run(
            &c.root.join("home"),
            &[
                "deid",
                input.to_str().expect("p"),
                "--out",
                out.to_str().expect("p"),
                "--profile",
                prof,
                "--json",
            ],
        );
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert_eq!(json(&stdout)["written"], 1, "{stdout}");
        let mut known = vec![pid.as_str(), name.as_str(), uidref.as_str(), "20200110", y];
        if let Some(o) = &observer {
            known.push(o);
        }
        let date_forms = [
            format!("{d}/{m}/{y}"),
            format!("{y}-{m}-{d}"),
            birth.clone(),
        ];
        let mut all: Vec<&str> = known.clone();
        all.extend(date_forms.iter().map(String::as_str));
        all.retain(|s| s.len() > 4);
        let leaks = support::canary::find_leaks(&out, &all);
        assert!(leaks.is_empty(), "{label}: {leaks:#?}");
        let ds = open(&support::cli::dcm_files(&out)[0]);
        let mut its = Vec::new();
        items(&ds, &mut its);
        let by_type = |t: &str| {
            its.iter()
                .find(|i| value_text(i, Tag(0x0040, 0xA040)).as_deref() == Some(t))
                .unwrap_or_else(|| panic!("{label}: {t} item kept"))
        };
        let txt = value_text(by_type("TEXT"), Tag(0x0040, 0xA160)).expect("text value kept");
        let pname = value_text(by_type("PNAME"), Tag(0x0040, 0xA123)).expect("person name kept");
        assert!(!pname.is_empty());
        let uid = value_text(by_type("UIDREF"), Tag(0x0040, 0xA124)).expect("uid kept");
        assert!(uid.starts_with("2.25."), "{uid}");
        let date = value_text(by_type("DATE"), Tag(0x0040, 0xA121)).expect("date kept");
        if label == "clean" {
            // Cleaned, not removed: the clinical words stay.
            assert!(
                txt.contains("Findings for") && txt.contains("No acute abnormality."),
                "{txt}"
            );
            assert_eq!(date.len(), 8);
            assert_ne!(date, "20200110", "shifted");
            assert_ne!(date, "19000101", "shifted, not a dummy");
        } else {
            assert_eq!(txt, "ANONYMIZED", "basic: a dummy");
        }
    }
}

fn peers_required() -> bool {
    std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() == Ok("1")
}

/// The broken files named in shared/data/SAMPLES.md.
const BROKEN: &[&str] = &[
    "pydicom/test_files/ExplVR_BigEndNoMeta.dcm",
    "pydicom/test_files/ExplVR_LitEndNoMeta.dcm",
    "pydicom/test_files/JPEG-lossy.dcm",
    "pydicom/test_files/JPEG2000-embedded-sequence-delimiter.dcm",
    "pydicom/test_files/MR_truncated.dcm",
    "pydicom/test_files/badVR.dcm",
    "pydicom/test_files/meta_missing_tsyntax.dcm",
    "pydicom/test_files/no_meta.dcm",
    "pydicom/test_files/rtplan_truncated.dcm",
    "pydicom-data/bad_sequence.dcm",
    "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm",
];

#[test]
fn every_broken_sample_is_quarantined_or_skipped_with_a_reason_never_a_panic() {
    let samples = support::samples();
    let present: Vec<PathBuf> = BROKEN
        .iter()
        .map(|f| samples.join(f))
        .filter(|p| p.is_file())
        .collect();
    if present.len() != BROKEN.len() {
        assert!(
            !peers_required(),
            "sample corpus missing at {}",
            samples.display()
        );
        eprintln!("sample corpus missing: skipped (set DEPOSIT_REQUIRE_PEERS=1 to fail)");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("broken");
    std::fs::create_dir_all(&input).expect("mkdir");
    for (i, p) in present.iter().enumerate() {
        std::fs::copy(p, input.join(format!("{i:02}.dcm"))).expect("copy");
    }
    // With a mask rule that matches everything (so every pixel decoder runs too), and without.
    let masks = tmp.path().join("masks.txt");
    std::fs::write(&masks, "{ true. }\n(0,0,1,1)\n").expect("masks");
    for extra in [&[][..], &["--masks", masks.to_str().expect("p")][..]] {
        let out = tmp.path().join("out");
        let mut args = vec![
            "deid",
            input.to_str().expect("p"),
            "--out",
            out.to_str().expect("p"),
            "--json",
        ];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = run(&tmp.path().join("home"), &args);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(code == 0 || code == 1, "{code}: {stdout}{stderr}");
        let v = json(&stdout);
        let written = v["written"].as_u64().unwrap_or(0);
        let q = v["quarantined"].as_u64().unwrap_or(0);
        let skipped = v["skipped"].as_u64().unwrap_or(0);
        let failed = v["failed"].as_u64().unwrap_or(0);
        assert_eq!(
            failed, 0,
            "a broken input is a quarantine, not a failure: {v}"
        );
        assert_eq!(written + q + skipped, present.len() as u64, "{v}");
        for item in v["quarantine"].as_array().expect("list") {
            assert!(!item["code"].as_str().unwrap_or("").is_empty(), "{item}");
            assert!(item["reason"].as_str().unwrap_or("").len() > 10, "{item}");
        }
        // Whatever was written reads back as DICOM.
        for f in support::cli::dcm_files(&out) {
            open(&f);
        }
        std::fs::remove_dir_all(&out).ok();
    }
}

/// Outputs relative path → bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    support::cli::dcm_files(root)
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).expect("read");
            (p.strip_prefix(root).expect("rel").to_path_buf(), b)
        })
        .collect()
}

#[test]
fn copying_pixel_bytes_gives_the_same_output_as_decoding_them() {
    // Without a mask library pixel data is copied as bytes; with one (matching nothing) every
    // file is decoded and encoded again. Both must give byte-identical files, for every
    // transfer syntax of the seeds (explicit/implicit LE, big endian, JPEG lossless, RLE).
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/deid_bytes");
    for e in std::fs::read_dir(&seeds).expect("seeds").flatten() {
        std::fs::copy(e.path(), input.join(e.file_name())).expect("copy");
    }
    // Two large slices (> 256 KB: their pixels are copied file to file, never read).
    deposit_synth::generate_bulk(&input.join("large"), 2, 5, 512, 512).expect("large slices");
    std::fs::remove_file(input.join("large").join(deposit_synth::MANIFEST_NAME)).expect("rm");
    let masks = tmp.path().join("masks.txt");
    std::fs::write(&masks, "{ Modality.equals(\"NONE\") }\n(0,0,1,1)\n").expect("masks");
    let mut outs = Vec::new();
    // Four of the seeds are the same CT instance in four transfer syntaxes: one output, the
    // first input's, whatever the timing (the copy path runs twice to see it does not change).
    let runs = [
        ("copy", vec![]),
        ("copy-again", vec![]),
        ("decode", vec!["--masks", masks.to_str().expect("p")]),
    ];
    for (label, extra) in runs {
        let out = tmp.path().join(label);
        let mut args = vec![
            "deid",
            input.to_str().expect("p"),
            "--out",
            out.to_str().expect("p"),
            "--json",
        ];
        args.extend(extra);
        let (code, stdout, stderr) = run(&tmp.path().join("home"), &args);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let v = json(&stdout);
        assert_eq!(v["written"], 5, "{stdout}");
        assert_eq!(
            v["duplicates"].as_array().map(Vec::len),
            Some(3),
            "{stdout}"
        );
        outs.push(tree(&out));
    }
    for other in &outs[1..] {
        assert_eq!(
            outs[0].keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>()
        );
        for (k, v) in &outs[0] {
            assert!(
                v == &other[k],
                "{} differs between runs, or between copied and decoded pixels",
                k.display()
            );
        }
    }
}

fn dciodvfy_errors(file: &Path) -> Option<std::collections::BTreeSet<String>> {
    let uid = regex::Regex::new(r"\b[0-9]+(\.[0-9]+)*\b").expect("regex");
    let out = Command::new("dciodvfy").arg(file).output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some(
        text.lines()
            .filter(|l| l.starts_with("Error"))
            // UIDs (and numbers) change by design: compare the finding, not the value it names.
            .map(|l| uid.replace_all(l.trim(), "<UID>").into_owned())
            .collect(),
    )
}

#[test]
fn dciodvfy_finds_no_new_errors_in_any_iod_under_any_profile() {
    if Command::new("dciodvfy").arg("-h").output().is_err() {
        assert!(
            !peers_required(),
            "dciodvfy (dicom3tools) is required but missing"
        );
        eprintln!("dciodvfy missing: skipped (set DEPOSIT_REQUIRE_PEERS=1 to fail)");
        return;
    }
    let c = corpus();
    // Synthetic CT and SR, and sample files of other IODs (SR, RT, CT, MR), when present.
    let mut inputs: Vec<PathBuf> = c
        .manifest
        .files
        .iter()
        .filter(|f| {
            f.patient == 1
                && (f.modality == "SR" || f.path.ends_with("00001.dcm") && f.modality == "CT")
        })
        .map(|f| c.dir.join(&f.path))
        .collect();
    let samples = support::samples();
    for s in [
        "pydicom/test_files/CT_small.dcm",
        "pydicom/test_files/test-SR.dcm",
        "pydicom/test_files/rtplan.dcm",
        "octave-dicom/rtstruct.dcm",
        "pydicom/test_files/rtdose.dcm",
        "dicomscope/reportki.dcm",
        "octave-dicom/CT-MONO2-16-ankle.dcm",
    ] {
        let p = samples.join(s);
        if p.is_file() {
            inputs.push(p);
        } else {
            assert!(!peers_required(), "sample {s} missing");
        }
    }
    let input_dir = c.root.join("iods");
    std::fs::create_dir_all(&input_dir).expect("mkdir");
    let mut before = BTreeMap::new();
    for (i, p) in inputs.iter().enumerate() {
        let dst = input_dir.join(format!("{i:02}.dcm"));
        std::fs::copy(p, &dst).expect("copy");
        let ds = open(&dst);
        let sop = value_text(&ds, Tag(0x0008, 0x0016)).unwrap_or_default();
        before.insert(
            i,
            (
                p.clone(),
                sop,
                dciodvfy_errors(&dst).expect("dciodvfy runs"),
            ),
        );
    }
    // Deposit's own profiles. (A CTP script is run faithfully, and the stock PS3.15 script
    // itself removes type 1C/2 attributes such as Verifying Observer Sequence: its output is
    // what CTP's would be, errors included.)
    let profiles: Vec<(String, String)> = deposit::deid::profile::SHIPPED
        .iter()
        .map(|(n, _)| (n.to_string(), n.to_string()))
        .collect();
    for (label, profile) in profiles {
        let out = c.root.join(format!("iod-out-{label}"));
        let (code, stdout, stderr) = run(
            &c.root.join("home-iod"),
            &[
                "deid",
                input_dir.to_str().expect("p"),
                "--out",
                out.to_str().expect("p"),
                "--profile",
                &profile,
                "--json",
            ],
        );
        assert_eq!(code, 0, "{label}: {stdout}{stderr}");
        let files = support::cli::dcm_files(&out);
        assert!(files.len() >= inputs.len() - 2, "{label}: {stdout}");
        for f in files {
            let ds = open(&f);
            let sop = value_text(&ds, Tag(0x0008, 0x0016)).unwrap_or_default();
            let after = dciodvfy_errors(&f).expect("dciodvfy runs");
            // The input of the same SOP class with the fewest errors not in `after` is its source
            // (outputs are renamed; the union of same-class inputs is the allowance).
            let allowed: std::collections::BTreeSet<String> = before
                .values()
                .filter(|(_, s, _)| *s == sop)
                .flat_map(|(_, _, e)| e.iter().cloned())
                .collect();
            let new: Vec<_> = after.difference(&allowed).collect();
            assert!(
                new.is_empty(),
                "{label}: {} ({sop}): new dciodvfy errors: {new:#?}",
                f.display()
            );
        }
    }
}

#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        return; // not Linux
    }
    let c = corpus();
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args([
            "deid",
            c.dir.to_str().expect("p"),
            "--out",
            c.root.join("o").to_str().expect("p"),
            "--json",
        ])
        .env("DEPOSIT_HOME", c.root.join("home"))
        .env("DEPOSIT_CONFIG", c.root.join("none.toml"))
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open(full)
                .expect("/dev/full"),
        )
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("standard output"), "{stderr}");
}

#[test]
fn a_damaged_rle_header_is_held_before_the_decoder_allocates() {
    // Found by cargo-fuzz: the RLE decoder allocates the header's segment count (at most 15 in
    // the standard) before checking it; 0xFFFFFFF0 would cost 16 GB.
    let tmp = tempfile::tempdir().expect("tmp");
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/deid_bytes/us-rle.dcm");
    let mut obj = OpenFileOptions::new().open_file(&seed).expect("seed");
    let pixels = obj.get(Tag(0x7FE0, 0x0010)).expect("pixels").clone();
    let Value::PixelSequence(seq) = pixels.value() else {
        panic!("encapsulated")
    };
    let mut frags: Vec<Vec<u8>> = seq.fragments().iter().map(|f| f.to_vec()).collect();
    frags[0][0..4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let offsets = seq.offset_table().to_vec();
    obj.put(dicom_core::DataElement::new(
        Tag(0x7FE0, 0x0010),
        dicom_core::VR::OB,
        Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            offsets, frags,
        )),
    ));
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    obj.write_to_file(input.join("bad-rle.dcm")).expect("write");
    let masks = tmp.path().join("masks.txt");
    std::fs::write(&masks, "{ true. }\n(0,0,4,4)\n").expect("masks");
    let (code, stdout, stderr) = run(
        &tmp.path().join("home"),
        &[
            "deid",
            input.to_str().expect("p"),
            "--out",
            tmp.path().join("o").to_str().expect("p"),
            "--masks",
            masks.to_str().expect("p"),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let v = json(&stdout);
    assert_eq!(v["quarantine"][0]["code"], "needs_pixel_review", "{v}");
    assert!(
        v["quarantine"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("RLE"),
        "{v}"
    );
    // the same check guards every decode: preview refuses it with a clear error too
    let (code, stdout, stderr) = run(
        &tmp.path().join("home"),
        &[
            "preview",
            input.join("bad-rle.dcm").to_str().expect("p"),
            "--out",
            tmp.path().join("p.png").to_str().expect("p"),
        ],
    );
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("RLE"), "{stderr}");
}
