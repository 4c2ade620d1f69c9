//! Deposit's CTP engine against the real CTP: the five stock scripts of
//! tests/data/ctp/real run through Deposit's pipeline on the 72 inputs CTP processed, each output
//! dumped in the golden files' DICOM JSON model and compared element by element with what the
//! real CTP DicomAnonymizer wrote. Equal, except the named allowances of [`ALLOWED`] (the same
//! entries as docs/ctp-differences.md) and objects Deposit holds for a stated reason; what CTP
//! quarantined Deposit must hold too.

use crate::support::{self, dicom_json};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value as J};
use sha2::{Digest, Sha256};

use deposit::deid::ctp::{Env, MemoryIntegers, Now};
use deposit::deid::{Keys, LookupTable, Profile};
use deposit::pipeline::{Input, Pipeline, PixelPolicy};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ctp/real")
}

/// (id, script file, uses the lookup table).
const SCRIPTS: [(&str, &str, bool); 5] = [
    ("S1", "S1_basic.script", false),
    ("S2", "S2_tcia.script", true),
    ("S3", "S3_basic_longmod.script", false),
    ("S4", "S4_basic_ptchar.script", false),
    ("S5", "S5_ctpdefault.script", false),
];

/// CTP's run: 2026-12-03, 07:23 UTC (the golden files' `@date()`/`@time()`).
const RUN_CLOCK: Now = Now {
    year: 2026,
    month: 12,
    day: 3,
    hour: 7,
    minute: 23,
    second: 0,
};

/// Top-level elements `@date()` / `@time()` rewrote with the run's clock, per script.
fn clock_elements(script: &str) -> &'static [&'static str] {
    const BASIC: &[&str] = &[
        "00080012", "00080020", "00080021", "00080022", "00080023", "00181012", "00181200",
        "0018700C", "00321000", "00321040", "00321050", "30060008", "00080030", "00080031",
        "00080032", "00080033",
    ];
    const LONGMOD: &[&str] = &[
        "00080012", "00181012", "00181200", "0018700C", "00321000", "00321040", "00321050",
        "30060008",
    ];
    match script {
        "S1" | "S4" => BASIC,
        "S3" => LONGMOD,
        _ => &[],
    }
}

/// Where an allowed difference is.
#[derive(Debug)]
enum At {
    /// File meta elements with these keys.
    Meta(&'static [&'static str]),
    /// Top-level data set elements with these keys.
    Top(&'static [&'static str]),
    /// Every data set element (with [`At::Only`]: every element of those inputs).
    Any,
    /// Top-level elements of the run clock ([`clock_elements`]): compared by format, not time.
    Clock,
    /// Objects Deposit holds with this quarantine code where CTP wrote them.
    Held(&'static str),
    /// Floating point values (FL, FD) equal but for their last bits (FL: equal as 32-bit floats).
    FloatLastBits,
    /// Text values equal once each value's trailing spaces are stripped.
    PaddingInsideValues,
    /// A value Deposit's dump reads as bytes (UN, OW) whose text is CTP's value.
    SameBytes,
    /// Code Meaning (0008,0104) of code items of these coding schemes, at any depth.
    CodeMeaning(&'static [&'static str]),
    /// Only for these inputs.
    Only(&'static [&'static str], &'static At),
    /// Any of these.
    AnyOf(&'static [At]),
    /// An element CTP wrote as UN that Deposit wrote with its dictionary VR.
    DecodedUn,
    /// An input CTP quarantined that Deposit writes.
    Written,
}

/// One deliberate difference from the real CTP.
struct Allowance {
    /// Also the first column of docs/ctp-differences.md.
    id: &'static str,
    at: At,
    why: &'static str,
}

/// Every difference from the real CTP's output the test accepts, each with its reason. The
/// docs table (docs/ctp-differences.md) lists the same ids; anything not here fails the test.
const ALLOWED: &[Allowance] = &[
    Allowance {
        id: "writer-identity",
        at: At::Meta(&["00020000", "00020012", "00020013", "00020016"]),
        why: "the file meta names the writer: dcm4che's implementation UID and version in CTP's files, Deposit's in Deposit's (its group length follows); CTP drops the source AE title",
    },
    Allowance {
        id: "run-clock",
        at: At::Clock,
        why: "@date() and @time() write the clock of the run; Deposit is given CTP's run date, and times are compared to the minute",
    },
    Allowance {
        id: "deidentification-method",
        at: At::Top(&["00120062", "00120063"]),
        why: "Deposit marks every output Patient Identity Removed = YES and appends its profile's name and identity to De-identification Method, so an archive can tell which approved script made it",
    },
    Allowance {
        id: "float-last-bits",
        at: At::FloatLastBits,
        why: "CTP's writer changes some FL and FD values in their last bits (FL: the same 32-bit float, FD: within a few units in the last place); Deposit keeps the value as read",
    },
    Allowance {
        id: "padding-inside-values",
        at: At::PaddingInsideValues,
        why: "not a difference in the files: the test reads Deposit's output with dicom-rs, which strips the trailing spaces of each inner value of a multi-valued text element ('DERIVED \\PRIMARY'); the files keep them, and the reference dumper shows them",
    },
    Allowance {
        id: "implicit-vr-private-dictionary",
        at: At::SameBytes,
        why: "in implicit VR files the VR is not stored: the reference dump takes some private elements' VRs from pydicom's private dictionary, the Rust dump reads them as bytes; the bytes are CTP's value",
    },
    Allowance {
        id: "un-attributes-de-identified",
        at: At::AnyOf(&[At::Only(&["f033"], &At::Any), At::DecodedUn]),
        why: "CTP cannot apply its functions to attributes stored as UN and keeps them (names, IDs, dates, UIDs); Deposit reads public UN attributes by their dictionary VR and applies the script's rules to them",
    },
    Allowance {
        id: "un-uids-in-file-meta",
        at: At::Only(&["f033"], &At::Meta(&["00020002", "00020003"])),
        why: "CTP fills the file meta's SOP Class and Instance UIDs of an object whose UIDs are stored as UN with the bytes' hex numbers (31\\2E\\32…, an invalid UID); Deposit writes the UIDs",
    },
    Allowance {
        id: "empty-uid-not-hashed",
        at: At::Only(&["f032"], &At::Top(&["00080014"])),
        why: "CTP's @hashuid of an empty UID makes a UID out of nothing (the root and the hash of the empty string); Deposit removes the empty element",
    },
    Allowance {
        id: "nonstandard-dates-shifted",
        at: At::Only(&["f065"], &At::Top(&["00080020"])),
        why: "CTP's @incrementdate cannot read a date written YYYY-MM-DD (the old ACR-NEMA form) and keeps it unshifted; Deposit reads it and shifts it",
    },
    Allowance {
        id: "invalid-dates-emptied",
        at: At::Only(&["f070"], &At::Top(&["00080023"])),
        why: "CTP's @incrementdate reads an impossible date (20200230) leniently as the next valid day and shifts that; Deposit empties a date that is not one",
    },
    Allowance {
        id: "iso2022-written-as-utf8",
        at: At::Only(&["f049"], &At::Top(&["00080005"])),
        why: "text in ISO 2022 code extensions is decoded before the script runs and written as UTF-8 (ISO_IR 192); CTP writes the ISO 2022 bytes back under the original declaration. The text is the same",
    },
    Allowance {
        id: "local-code-meanings",
        at: At::CodeMeaning(&["99SGH", "SIEMENS_RIS", "99_OFFIS_DCMTK", "TEST"]),
        why: "the Code Meaning of a local coding scheme (99…, a RIS's own designator) is free text typed at the site and can name the institution ('CT chest - Springfield General'); Deposit writes the code value instead, CTP keeps the text. Published schemes (DCM, SCT, LN, SCPECG, RFC3066…) keep their meanings as in CTP",
    },
    Allowance {
        id: "needs-pixel-review",
        at: At::Held("needs_pixel_review"),
        why: "an image at burned-in risk by its header (ultrasound, secondary capture, Burned In Annotation YES…) is held until a mask rule clears its pixels; CTP's DicomAnonymizer never looks at pixels",
    },
    Allowance {
        id: "compressed-metadata-removed",
        at: At::Only(&["f014", "f020", "f030", "f035"], &At::Top(&["7FE00010"])),
        why: "COM and APPn segments other than JFIF APP0 and Adobe APP14 are removed from every JPEG frame (EXIF, XMP and comments can carry names and dates); the image data is byte-identical; CTP copies the frames as they are",
    },
    Allowance {
        id: "trailing-bytes-dropped",
        at: At::Only(&["f021"], &At::Written),
        why: "a file with bytes after the end of its data set (2.4 MB after brain_001's) is written without them and the count reported; CTP's anonymizer fails on it and quarantines it",
    },
    Allowance {
        id: "residual-identity",
        at: At::Held("residual_identity"),
        why: "an output in which the script keeps an identifying value of the source (a date, a name, a source UID in a sequence the script does not enter) is held until the script is fixed and approved again; CTP writes it",
    },
    Allowance {
        id: "encapsulated-document",
        at: At::Held("encapsulated_document"),
        why: "an object carrying an encapsulated document (PDF, CDA, STL, OBJ, MTL) is held: its content cannot be de-identified; CTP keeps it verbatim",
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// CTP wrote it, Deposit did not.
    Missing,
    /// Deposit wrote it, CTP did not.
    Added,
    /// Both wrote it, differently.
    Differs,
}

struct Diff {
    input: String,
    meta: bool,
    path: Vec<String>,
    kind: Kind,
    /// The coding scheme of the code item the element is in (CTP's).
    scheme: Option<String>,
    want: Option<J>,
    got: Option<J>,
}

#[derive(Default)]
struct Tally {
    compared: usize,
    equal: usize,
    allowed: usize,
    objects: usize,
    held_as_ctp: usize,
    held_allowed: BTreeMap<String, usize>,
    by_allowance: BTreeMap<&'static str, usize>,
}

fn matches(at: &At, script: &str, d: &Diff) -> bool {
    let key_in = |keys: &[&str], k: &str| keys.contains(&k);
    match at {
        At::Meta(keys) => d.meta && d.path.len() == 1 && key_in(keys, &d.path[0]),
        At::Top(keys) => !d.meta && d.path.len() == 1 && key_in(keys, &d.path[0]),
        At::Any => !d.meta,
        At::FloatLastBits => d.kind == Kind::Differs && floats_close(d),
        At::PaddingInsideValues => {
            let strip = |v: &Option<J>| {
                v.as_ref().map(|v| {
                    let mut v = v.clone();
                    if let Some(a) = v.get_mut("Value").and_then(J::as_array_mut) {
                        for x in a.iter_mut() {
                            if let Some(s) = x.as_str() {
                                *x = J::from(s.trim_end());
                            }
                        }
                    }
                    v
                })
            };
            d.kind == Kind::Differs && strip(&d.want) == strip(&d.got)
        }
        At::SameBytes => same_bytes(d),
        At::Clock => {
            !d.meta
                && d.path.len() == 1
                && clock_elements(script).contains(&d.path[0].as_str())
                && d.kind == Kind::Differs
                && same_format(d.want.as_ref(), d.got.as_ref())
        }
        At::CodeMeaning(schemes) => {
            !d.meta
                && d.path.last().map(String::as_str) == Some("00080104")
                && d.scheme.as_deref().is_some_and(|s| schemes.contains(&s))
        }
        At::Held(_) | At::Written => false,
        At::Only(inputs, inner) => {
            inputs.contains(&d.input.trim_end_matches(".dcm")) && matches(inner, script, d)
        }
        At::AnyOf(ats) => ats.iter().any(|a| matches(a, script, d)),
        At::DecodedUn => {
            !d.meta
                && d.kind == Kind::Differs
                && d.want.as_ref().is_some_and(|w| w["vr"] == "UN")
                && d.got.as_ref().is_some_and(|g| g["vr"] != "UN")
        }
    }
}

fn written_allowed(at: &At, input: &str) -> bool {
    match at {
        At::Written => true,
        At::Only(inputs, inner) => {
            inputs.contains(&input.trim_end_matches(".dcm")) && written_allowed(inner, input)
        }
        At::AnyOf(ats) => ats.iter().any(|a| written_allowed(a, input)),
        _ => false,
    }
}

fn floats_close(d: &Diff) -> bool {
    let (Some(w), Some(g)) = (&d.want, &d.got) else {
        return false;
    };
    let vr = w["vr"].as_str().unwrap_or("");
    if !matches!(vr, "FL" | "FD") || g["vr"] != w["vr"] {
        return false;
    }
    let nums = |v: &J| -> Vec<f64> {
        v["Value"]
            .as_array()
            .map(|a| a.iter().filter_map(J::as_f64).collect())
            .unwrap_or_default()
    };
    let (a, b) = (nums(w), nums(g));
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            if vr == "FL" {
                (*x as f32) == (*y as f32)
            } else {
                (x - y).abs() <= x.abs().max(y.abs()) * 4.0 * f64::EPSILON
            }
        })
}

fn same_bytes(d: &Diff) -> bool {
    use base64::Engine as _;
    let (Some(w), Some(g)) = (&d.want, &d.got) else {
        return false;
    };
    let Some(bytes) = g["InlineBinary"]
        .as_str()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
    else {
        return false;
    };
    let vr = w["vr"].as_str().unwrap_or("");
    let text = String::from_utf8_lossy(&bytes);
    dicom_json::text_json(vr, &text).as_ref() == Some(w)
}

fn held_allowed(at: &At, input: &str, code: &str) -> bool {
    match at {
        At::Held(c) => *c == code,
        At::Only(inputs, inner) => {
            inputs.contains(&input.trim_end_matches(".dcm")) && held_allowed(inner, input, code)
        }
        At::AnyOf(ats) => ats.iter().any(|a| held_allowed(a, input, code)),
        _ => false,
    }
}

/// Same VR; dates equal; times equal to the minute.
fn same_format(want: Option<&J>, got: Option<&J>) -> bool {
    let (Some(w), Some(g)) = (want, got) else {
        return false;
    };
    if w["vr"] != g["vr"] {
        return false;
    }
    let first = |v: &J| v["Value"][0].as_str().map(str::to_string);
    match (first(w), first(g)) {
        (Some(a), Some(b)) if w["vr"] == "TM" => a.get(..4) == b.get(..4) && a.len() == b.len(),
        (a, b) => a == b,
    }
}

fn compare(
    want: &Map<String, J>,
    got: &Map<String, J>,
    path: &mut Vec<String>,
    proto: &Diff,
    tally: &mut Tally,
    diffs: &mut Vec<Diff>,
) {
    let keys: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    for key in keys {
        path.push(key.clone());
        let (w, g) = (want.get(key), got.get(key));
        let items = |v: Option<&J>| -> Option<Vec<Map<String, J>>> {
            let v = v?;
            (v["vr"] == "SQ").then(|| {
                v["Value"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|i| i.as_object().cloned()).collect())
                    .unwrap_or_default()
            })
        };
        match (items(w), items(g)) {
            (Some(wi), Some(gi)) if wi.len() == gi.len() && !wi.is_empty() => {
                for (i, (a, b)) in wi.iter().zip(gi.iter()).enumerate() {
                    path.push(i.to_string());
                    compare(a, b, path, proto, tally, diffs);
                    path.pop();
                }
            }
            _ => {
                tally.compared += 1;
                if w == g {
                    tally.equal += 1;
                } else {
                    diffs.push(Diff {
                        input: proto.input.clone(),
                        meta: proto.meta,
                        path: path.clone(),
                        kind: match (w, g) {
                            (Some(_), None) => Kind::Missing,
                            (None, Some(_)) => Kind::Added,
                            _ => Kind::Differs,
                        },
                        scheme: want
                            .get("00080102")
                            .and_then(|s| s["Value"][0].as_str())
                            .map(str::to_string),
                        want: w.cloned(),
                        got: g.cloned(),
                    });
                }
            }
        }
        path.pop();
    }
}

struct Row {
    name: String,
    source: String,
    sha256: String,
}

fn inputs() -> Vec<Row> {
    let text = std::fs::read_to_string(data().join("inputs.tsv")).expect("inputs.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "inputs.tsv row: {l}");
            Row {
                name: f[0].to_string(),
                source: f[1].to_string(),
                sha256: f[5].to_string(),
            }
        })
        .collect()
}

fn require_inputs() -> bool {
    std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() == Ok("1")
}

/// The input file, checked against its SHA-256; `None` when the sample corpus lacks it.
fn locate(row: &Row) -> Option<PathBuf> {
    let path = match row.source.strip_prefix("inputs/") {
        Some(name) => data().join("inputs").join(name),
        None => support::samples().join(&row.source),
    };
    if !path.is_file() {
        return None;
    }
    let bytes = std::fs::read(&path).expect("read input");
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        row.sha256,
        "{} ({}) is not the file CTP read",
        row.name,
        path.display()
    );
    Some(path)
}

fn pipeline(script: &str, lookup: bool) -> Pipeline {
    let path = data().join("scripts").join(script);
    let profile = Profile::load(path.to_str().expect("utf8"))
        .unwrap_or_else(|e| panic!("{script} does not load: {e}"))
        .with_ctp_env(Env {
            now: Some(RUN_CLOCK),
            integers: Some(Arc::new(MemoryIntegers::default())),
        });
    let lookup = lookup.then(|| {
        LookupTable::parse(
            &std::fs::read_to_string(data().join("scripts/S2_lookup.properties")).expect("lookup"),
        )
        .expect("lookup parses")
    });
    Pipeline::new(profile, Keys::new([7; 32]), lookup, PixelPolicy::default())
}

fn expected(script: &str, name: &str) -> J {
    let p = data()
        .join("expected")
        .join(script)
        .join(name.replace(".dcm", ".json"));
    serde_json::from_str(&std::fs::read_to_string(&p).expect("expected file")).expect("json")
}

fn short(v: &Option<J>) -> String {
    match v {
        None => "-".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 110 {
                format!("{}…", s.chars().take(110).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn describe(d: &Diff) -> String {
    let last = d.path.last().map(String::as_str).unwrap_or("");
    format!(
        "{} {}{} ({}) {:?}: CTP {} / Deposit {}",
        d.input,
        if d.meta { "meta:" } else { "" },
        d.path.join("/"),
        dicom_json::keyword(last),
        d.kind,
        short(&d.want),
        short(&d.got)
    )
}

#[test]
fn deposit_writes_what_the_real_ctp_wrote_except_the_documented_differences() {
    let rows = inputs();
    assert_eq!(rows.len(), 72);
    let mut located = Vec::new();
    let mut missing = Vec::new();
    for r in &rows {
        match locate(r) {
            Some(p) => located.push((r, p)),
            None => missing.push(r.source.clone()),
        }
    }
    if !missing.is_empty() {
        assert!(
            !require_inputs(),
            "{} inputs missing from the sample corpus ({}), required with DEPOSIT_REQUIRE_PEERS=1: {missing:?}",
            missing.len(),
            support::samples().display()
        );
        eprintln!(
            "note: {} of 72 inputs missing (tests/data/fetch-samples.sh or DEPOSIT_SAMPLES); compared the others",
            missing.len()
        );
    }
    let dump_to = std::env::var_os("DEPOSIT_CTP_REAL_OUT").map(PathBuf::from);
    let mut failures = Vec::new();
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut report = String::new();
    for (script, file, lookup) in SCRIPTS {
        let pipeline = pipeline(file, lookup);
        let mut tally = Tally::default();
        for (row, path) in &located {
            let want = expected(script, &row.name);
            let ctp_wrote = want["outcome"] == "written";
            let name = row.name.clone();
            match pipeline.prepare(Input::File(path)) {
                Err(held) => {
                    let code = held.quarantine.code.as_str();
                    if !ctp_wrote {
                        tally.held_as_ctp += 1;
                        continue;
                    }
                    match ALLOWED.iter().find(|a| held_allowed(&a.at, &name, code)) {
                        Some(a) => {
                            used.insert(a.id);
                            *tally.held_allowed.entry(code.to_string()).or_default() += 1;
                        }
                        None => failures.push(format!(
                            "{script} {name}: CTP wrote it, Deposit holds it as {code}: {}",
                            held.quarantine.reason
                        )),
                    }
                }
                Ok(prepared) => {
                    if !ctp_wrote {
                        match ALLOWED.iter().find(|a| written_allowed(&a.at, &name)) {
                            Some(a) => {
                                used.insert(a.id);
                            }
                            None => failures.push(format!(
                                "{script} {name}: CTP quarantined it ({}), Deposit wrote it",
                                want["where"]
                            )),
                        }
                        continue;
                    }
                    tally.objects += 1;
                    if let Some(dir) = &dump_to {
                        let d = dir.join(script);
                        std::fs::create_dir_all(&d).expect("dump dir");
                        std::fs::write(d.join(&name), &prepared.bytes).expect("dump");
                    }
                    let obj = match deposit::intake::open_bytes(&prepared.bytes) {
                        Ok(o) => o,
                        Err(e) => {
                            failures.push(format!(
                                "{script} {name}: Deposit's output cannot be read back: {}",
                                e.sentence()
                            ));
                            continue;
                        }
                    };
                    let got = dicom_json::dump(&obj);
                    if let Some(dir) = &dump_to {
                        let d = dir.join(script);
                        std::fs::write(
                            d.join(name.replace(".dcm", ".json")),
                            serde_json::to_string_pretty(&got).expect("json"),
                        )
                        .expect("dump");
                    }
                    let mut diffs = Vec::new();
                    for (section, meta) in [("file_meta", true), ("dataset", false)] {
                        let empty = Map::new();
                        let proto = Diff {
                            input: name.clone(),
                            meta,
                            path: Vec::new(),
                            kind: Kind::Differs,
                            scheme: None,
                            want: None,
                            got: None,
                        };
                        compare(
                            want[section].as_object().unwrap_or(&empty),
                            got[section].as_object().unwrap_or(&empty),
                            &mut Vec::new(),
                            &proto,
                            &mut tally,
                            &mut diffs,
                        );
                    }
                    for d in diffs {
                        match ALLOWED.iter().find(|a| matches(&a.at, script, &d)) {
                            Some(a) => {
                                used.insert(a.id);
                                tally.allowed += 1;
                                *tally.by_allowance.entry(a.id).or_default() += 1;
                            }
                            None => failures.push(format!("{script} {}", describe(&d))),
                        }
                    }
                }
            }
        }
        let pct = |n: usize| 100.0 * n as f64 / tally.compared.max(1) as f64;
        let _ = writeln!(
            report,
            "{script}: {}/{} elements equal ({:.2} %), {:.2} % with the {} allowed differences {:?}; {} objects compared, {} held as CTP held them, held for a stated reason: {:?}",
            tally.equal,
            tally.compared,
            pct(tally.equal),
            pct(tally.equal + tally.allowed),
            tally.allowed,
            tally.by_allowance,
            tally.objects,
            tally.held_as_ctp,
            tally.held_allowed
        );
    }
    eprintln!("agreement with the real CTP:\n{report}");
    let unused: Vec<&str> = ALLOWED
        .iter()
        .map(|a| a.id)
        .filter(|id| !used.contains(id))
        .collect();
    if !unused.is_empty() {
        eprintln!("allowances not needed by this corpus: {unused:?}");
    }
    assert!(
        failures.is_empty(),
        "{} undocumented differences from the real CTP:\n{}",
        failures.len(),
        failures
            .iter()
            .take(400)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_allowance_table_and_the_docs_table_list_the_same_differences() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ctp-differences.md"),
    )
    .expect("docs/ctp-differences.md");
    let in_doc: BTreeSet<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(id, _)| id.to_string()))
        .collect();
    let in_test: BTreeSet<String> = ALLOWED.iter().map(|a| a.id.to_string()).collect();
    assert_eq!(
        in_doc, in_test,
        "docs/ctp-differences.md and ALLOWED in tests/ctp_real.rs must list the same ids"
    );
    for a in ALLOWED {
        assert!(!a.why.is_empty(), "{} has a reason", a.id);
    }
}
