//! UN everywhere through the real `deposit deid`: public sequences stored as UN are decoded,
//! their references remapped like the objects they point at and their names removed, in the
//! default profile and under the stock CTP PS3.15 script; a real file written almost all as UN
//! comes out de-identified.

use crate::support;

use std::path::{Path, PathBuf};

use dicom_core::value::Value;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{InMemDicomObject, OpenFileOptions};

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const ROOT: &str = "1.2.826.0.1.3680043.9999";
const REF_IMAGE: Tag = Tag(0x0008, 0x1140);
const VERIFYING_OBSERVER: Tag = Tag(0x0040, 0xA073);
const SOP_INSTANCE: Tag = Tag(0x0008, 0x0018);
const REF_SOP_INSTANCE: Tag = Tag(0x0008, 0x1155);

/// Identity planted in the objects (the UID root covers every source UID).
const CANARIES: &[&str] = &[
    ROOT,
    "CNRYFAMILY",
    "CNRYPID",
    "CNRYOBSERVER",
    "CNRYOBSID",
    "19990102",
];

/// One implicit VR little endian element (the encoding a UN value holds), padded to even
/// length as DICOM requires (UIDs with NUL, text with a space).
fn implicit(group: u16, element: u16, value: &[u8]) -> Vec<u8> {
    let mut value = value.to_vec();
    if value.len() % 2 == 1 {
        value.push(if value.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
            0
        } else {
            b' '
        });
    }
    let value = &value[..];
    let mut v = Vec::new();
    v.extend_from_slice(&group.to_le_bytes());
    v.extend_from_slice(&element.to_le_bytes());
    v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    v.extend_from_slice(value);
    v
}

/// One defined-length item.
fn item(content: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFE, 0xFF, 0x00, 0xE0];
    v.extend_from_slice(&(content.len() as u32).to_le_bytes());
    v.extend_from_slice(content);
    v
}

fn el(g: u16, e: u16, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), vr, PrimitiveValue::from(v))
}

fn un(tag: Tag, value: Vec<u8>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::UN, PrimitiveValue::U8(value.into()))
}

/// A CT object of the canary patient.
fn ct(sop: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        el(0x0008, 0x0016, VR::UI, CT),
        el(0x0008, 0x0018, VR::UI, sop),
        el(0x0008, 0x0020, VR::DA, "19990102"),
        el(0x0008, 0x0060, VR::CS, "CT"),
        el(0x0010, 0x0010, VR::PN, "CNRYFAMILY^Given"),
        el(0x0010, 0x0020, VR::LO, "CNRYPID"),
        el(0x0020, 0x000D, VR::UI, &format!("{ROOT}.1")),
        el(0x0020, 0x000E, VR::UI, &format!("{ROOT}.2")),
        el(0x0020, 0x0013, VR::IS, "1"),
    ])
}

fn write(obj: InMemDicomObject, path: &Path) {
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
        .expect("meta")
        .write_to_file(path)
        .expect("write");
}

/// Two objects in `dir`: `a.dcm`, referenced by `b.dcm` through a Referenced Image Sequence
/// stored as UN; `b.dcm` also holds a Verifying Observer Sequence (name, ID, date) as UN.
fn write_inputs(dir: &Path) -> String {
    let a_sop = format!("{ROOT}.10");
    write(ct(&a_sop), &dir.join("a.dcm"));
    let mut refs = implicit(0x0008, 0x1150, format!("{CT}\0").as_bytes());
    refs.extend(implicit(0x0008, 0x1155, a_sop.as_bytes()));
    let mut observer = implicit(0x0040, 0xA030, b"19980203101010");
    observer.extend(implicit(0x0040, 0xA075, b"CNRYOBSERVER^Vera"));
    observer.extend(implicit(
        0x0040,
        0xA088,
        &item(&implicit(0x0008, 0x0100, b"CNRYOBSID ")),
    ));
    let mut b = ct(&format!("{ROOT}.11"));
    b.put(un(REF_IMAGE, item(&refs)));
    b.put(un(VERIFYING_OBSERVER, item(&observer)));
    write(b, &dir.join("b.dcm"));
    a_sop
}

fn deid(input: &Path, out: &Path, profile: Option<&Path>) -> serde_json::Value {
    let home = out.with_extension("home");
    let mut args = vec![
        "deid",
        input.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
        "--json",
    ];
    if let Some(p) = profile {
        args.extend(["--profile", p.to_str().expect("utf8")]);
    }
    let (code, v, stderr) = support::cli::deposit(&home, &args);
    assert_eq!(code, 0, "{v} {stderr}");
    v
}

fn items(ds: &InMemDicomObject, tag: Tag) -> Vec<InMemDicomObject> {
    match ds.get(tag).map(|e| e.value()) {
        Some(Value::Sequence(s)) => s.items().to_vec(),
        _ => Vec::new(),
    }
}

fn text(ds: &InMemDicomObject, tag: Tag) -> String {
    ds.get(tag)
        .and_then(|e| e.value().to_str().ok().map(|s| s.into_owned()))
        .unwrap_or_default()
        .trim_end_matches(['\0', ' '])
        .to_string()
}

fn read(p: &PathBuf) -> InMemDicomObject {
    OpenFileOptions::new()
        .open_file(p)
        .expect("output reads back")
        .into_inner()
}

/// Runs both objects through `deid` and checks the reference and the names.
fn check(profile: Option<&Path>, canaries: &[&str]) -> InMemDicomObject {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    let source_a = write_inputs(&input);
    let out = tmp.path().join("out");
    let v = deid(&input, &out, profile);
    assert_eq!(v["written"], 2, "{v}");
    support::canary::assert_no_leaks(&out, canaries);
    let objs: Vec<InMemDicomObject> = support::cli::dcm_files(&out).iter().map(read).collect();
    let (b, a): (Vec<_>, Vec<_>) = objs.into_iter().partition(|o| o.get(REF_IMAGE).is_some());
    let (Some(a), Some(b)) = (a.first(), b.first()) else {
        panic!("both objects, one of them referencing");
    };
    assert_eq!(b.get(REF_IMAGE).map(|e| e.vr()), Some(VR::SQ));
    let refs = items(b, REF_IMAGE);
    assert_eq!(refs.len(), 1);
    let new_a = text(a, SOP_INSTANCE);
    assert!(!new_a.is_empty() && new_a != source_a);
    // the reference points at the referenced object under its new UID
    assert_eq!(text(&refs[0], REF_SOP_INSTANCE), new_a);
    assert_eq!(text(&refs[0], Tag(0x0008, 0x1150)), CT);
    b.clone()
}

#[test]
fn un_sequences_are_decoded_remapped_and_cleaned_by_the_default_profile() {
    let mut canaries = CANARIES.to_vec();
    canaries.push("19980203"); // the verification date inside the UN sequence
    let b = check(None, &canaries);
    // the observer's item is there, its name replaced (basic profile: D)
    let observer = items(&b, VERIFYING_OBSERVER);
    assert_eq!(observer.len(), 1);
    assert_eq!(
        observer[0].get(Tag(0x0040, 0xA075)).map(|e| e.vr()),
        Some(VR::PN)
    );
    assert_eq!(text(&observer[0], Tag(0x0040, 0xA075)), "ANONYMIZED");
}

/// The stock CTP PS3.15 basic script, but with the two sequences processed instead of removed
/// (as a study keeping references would write it): the decoded reference is hashed like the
/// SOP Instance UID it points at. (The basic script removes both sequences; the verification
/// date-time, which no rule of the script names, is kept by CTP's rules, UN or not.)
#[test]
fn un_sequences_are_decoded_remapped_and_cleaned_under_a_ctp_script() {
    let basic = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/ctp/scripts/DICOM-PS3.15-Basic.script"),
    )
    .expect("script");
    let mut processed = basic.clone();
    for (tag, name) in [
        ("00081140", "RefImageSeq"),
        ("0040a073", "VerifyingObserverSequence"),
    ] {
        let remove = format!(r#"t="{tag}" n="{name}">@remove()<"#);
        assert!(processed.contains(&remove), "{tag}");
        processed = processed.replace(&remove, &format!(r#"t="{tag}" n="{name}">@process()<"#));
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let script = tmp.path().join("processed.script");
    std::fs::write(&script, processed).expect("script");
    let b = check(Some(&script), CANARIES);
    let observer = items(&b, VERIFYING_OBSERVER);
    assert_eq!(observer.len(), 1);
    assert_eq!(text(&observer[0], Tag(0x0040, 0xA075)), "");
    assert!(observer[0].get(Tag(0x0040, 0xA088)).is_none());
}

#[test]
fn un_sequences_are_removed_by_the_stock_ctp_basic_script() {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    write_inputs(&input);
    let out = tmp.path().join("out");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ctp/scripts/DICOM-PS3.15-Basic.script");
    let v = deid(&input, &out, Some(&script));
    assert_eq!(v["written"], 2, "{v}");
    let mut canaries = CANARIES.to_vec();
    canaries.push("19980203");
    support::canary::assert_no_leaks(&out, &canaries);
    for f in support::cli::dcm_files(&out) {
        let ds = read(&f);
        assert!(ds.get(REF_IMAGE).is_none() && ds.get(VERIFYING_OBSERVER).is_none());
    }
}

/// The real-world case: an RT Dose whose elements are almost all UN in an explicit VR file
/// (pydicom's rtdose_rle.dcm): names, IDs, UIDs, station and dates stored as UN, and a
/// Referenced RT Plan Sequence as UN.
#[test]
fn a_file_written_almost_all_as_un_comes_out_de_identified() {
    let sample = support::samples().join("pydicom/test_files/rtdose_rle.dcm");
    if !sample.is_file() {
        eprintln!("note: no sample corpus (tests/data/fetch-samples.sh); skipped");
        return;
    }
    let identity = [
        "Lastname",
        "Firstname",
        "id11111",
        "Computer001",
        "1.9.999.999.99.9.9999.9999",
        "1.2.999.999.99.9.9999.8888",
        "1.2.777.777.77.7.7777.7777",
        "2.22.222.2.222222.2.22222222222222222222",
        "20030903",
        "20030805",
    ];
    let stock = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ctp/scripts/DICOM-PS3.15-Basic.script");
    let tmp = tempfile::tempdir().expect("tmp");
    // The stock script does not enter the Referenced RT Plan Sequence: the source UID in it
    // would pass, so the residual-identity gate holds the object and names the place…
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    std::fs::copy(&sample, input.join("rtdose.dcm")).expect("copy");
    let v = deid(&input, &tmp.path().join("held"), Some(&stock));
    assert_eq!(v["written"], 0, "{v}");
    assert_eq!(v["quarantine"][0]["code"], "residual_identity", "{v}");
    let reason = v["quarantine"][0]["reason"].as_str().unwrap_or("");
    assert!(reason.contains("(300C,0002)[0].(0008,1155)"), "{reason}");
    // …and the script fixed the way the reason says (the sequence processed) delivers it.
    let fixed = tmp.path().join("fixed.script");
    let stock_text = std::fs::read_to_string(&stock).expect("stock script");
    let rule = r#"<e en="T" t="00081155" n="RefSOPInstanceUID">@hashuid(@UIDROOT,this)</e>"#;
    assert!(stock_text.contains(rule));
    std::fs::write(
        &fixed,
        stock_text.replace(
            rule,
            &format!("{rule}\n <e en=\"T\" t=\"300C0002\" n=\"RefRTPlanSeq\">@process()</e>"),
        ),
    )
    .expect("fixed script");
    for profile in [None, Some(fixed.as_path())] {
        let tmp = tempfile::tempdir().expect("tmp");
        let input = tmp.path().join("in");
        std::fs::create_dir_all(&input).expect("mkdir");
        std::fs::copy(&sample, input.join("rtdose.dcm")).expect("copy");
        let out = tmp.path().join("out");
        let v = deid(&input, &out, profile);
        assert_eq!(v["written"], 1, "{profile:?}: {v}");
        support::canary::assert_no_leaks(&out, &identity);
        let files = support::cli::dcm_files(&out);
        let ds = read(&files[0]);
        // decoded, not dropped: the attributes are there with their real VRs
        for (tag, vr) in [
            (Tag(0x0020, 0x000D), VR::UI),
            (Tag(0x0008, 0x0060), VR::CS),
            (Tag(0x3004, 0x000E), VR::DS),
            (Tag(0x300C, 0x0002), VR::SQ),
        ] {
            assert_eq!(ds.get(tag).map(|e| e.vr()), Some(vr), "{profile:?} {tag}");
        }
        assert_eq!(text(&ds, Tag(0x0008, 0x0060)), "RTDOSE");
    }
}
