//! `deposit deid` on compressed frames carrying metadata (JPEG COM/APP1, JPEG 2000 COM), an
//! encapsulated PDF and a file with bytes after its data set: the canary never reaches the
//! output, the PDF is held (or left out by the profile), the padded file is written.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};

const CANARY: &str = "CNRYJPEGCOMMENT";
const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

/// The parts joined.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn deposit(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", home)
        .output()
        .expect("run deposit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(body.len() + 2).expect("short").to_be_bytes());
    s.extend_from_slice(body);
    s
}

fn write(obj: &DefaultDicomObject, path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    obj.write_all(&mut bytes).expect("encode");
    std::fs::write(path, &bytes).expect("write");
    bytes
}

/// `rel` (sample corpus) with `dirty(frame)` as its single frame.
fn with_frame(rel: &str, dirty: impl Fn(&[u8]) -> Vec<u8>, out: &Path) {
    let src = support::samples().join(rel);
    let mut obj = OpenFileOptions::new()
        .open_file(&src)
        .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let frame: Vec<u8> = obj
        .element(PIXEL_DATA)
        .expect("pixels")
        .value()
        .fragments()
        .expect("encapsulated")
        .iter()
        .flatten()
        .copied()
        .collect();
    let mut d = dirty(&frame);
    if d.len() % 2 == 1 {
        d.push(0);
    }
    obj.put(DataElement::new(
        PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), vec![d])),
    ));
    // a CT, so that the header alone does not hold it for pixel review
    let ct = "1.2.840.10008.5.1.4.1.1.2";
    obj.put(DataElement::new(
        Tag(0x0008, 0x0060),
        VR::CS,
        PrimitiveValue::from("CT"),
    ));
    obj.put(DataElement::new(
        Tag(0x0008, 0x0016),
        VR::UI,
        PrimitiveValue::from(ct),
    ));
    obj.remove_element(Tag(0x0008, 0x0008));
    obj.update_meta(|m| m.media_storage_sop_class_uid = ct.to_string());
    let bytes = write(&obj, out);
    assert!(String::from_utf8_lossy(&bytes).contains(CANARY));
}

fn jpeg_dirty(frame: &[u8]) -> Vec<u8> {
    let exif = [b"Exif\0\0".as_slice(), CANARY.as_bytes()].concat();
    let xmp = cat(&[
        b"http://ns.adobe.com/xap/1.0/\0<dc:creator>",
        CANARY.as_bytes(),
        b"</dc:creator>",
    ]);
    let extra = [
        segment(0xFE, CANARY.as_bytes()),
        segment(0xE1, &exif),
        segment(0xE1, &xmp),
    ]
    .concat();
    cat(&[&frame[..2], &extra, &frame[2..]])
}

fn j2k_dirty(cs: &[u8]) -> Vec<u8> {
    let siz = 4 + usize::from(u16::from_be_bytes([cs[4], cs[5]]));
    let com = segment(0x64, &[&[0, 1][..], CANARY.as_bytes()].concat());
    cat(&[&cs[..siz], &com, &cs[siz..]])
}

fn pdf(out: &Path) {
    let class = "1.2.840.10008.5.1.4.1.1.104.1";
    let mut ds = InMemDicomObject::new_empty();
    let mut put = |g, e, vr, v: PrimitiveValue| ds.put(DataElement::new(Tag(g, e), vr, v));
    put(0x0008, 0x0016, VR::UI, class.into());
    put(0x0008, 0x0018, VR::UI, "2.25.7001".into());
    put(0x0008, 0x0060, VR::CS, "DOC".into());
    put(0x0010, 0x0020, VR::LO, "PID1".into());
    put(0x0020, 0x000D, VR::UI, "2.25.7002".into());
    put(0x0020, 0x000E, VR::UI, "2.25.7003".into());
    let doc = format!("%PDF-1.4 /Author ({CANARY})\n").into_bytes();
    put(0x0042, 0x0011, VR::OB, PrimitiveValue::from(doc));
    let obj = ds
        .with_meta(
            FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(class)
                .media_storage_sop_instance_uid("2.25.7001")
                .transfer_syntax("1.2.840.10008.1.2.1"),
        )
        .expect("meta");
    write(&obj, out);
}

fn inputs(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    with_frame(
        "pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm",
        jpeg_dirty,
        &input.join("jpeg.dcm"),
    );
    with_frame(
        "pydicom/test_files/MR_small_jpeg_ls_lossless.dcm",
        jpeg_dirty,
        &input.join("jpegls.dcm"),
    );
    with_frame(
        "pydicom/test_files/JPEG2000.dcm",
        j2k_dirty,
        &input.join("j2k.dcm"),
    );
    pdf(&input.join("doc.dcm"));
    // bytes after the end of the data set, carrying the canary
    let padded = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/deid_bytes/ct-utf8.dcm"),
    )
    .expect("seed");
    let tail = format!("\x01\x00\x09\x00{CANARY}");
    std::fs::write(
        input.join("padded.dcm"),
        [padded, tail.into_bytes()].concat(),
    )
    .expect("write");
    input
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn compressed_metadata_documents_and_trailing_bytes_through_deid() {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = inputs(tmp.path());
    let home = tmp.path().join("home");
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = deposit(
        &home,
        &[
            "deid",
            input.to_str().expect("utf8"),
            "--out",
            out.to_str().expect("utf8"),
            "--json",
        ],
    );
    assert_eq!(code, 0, "stderr: {stderr}");
    let v = json(&stdout);
    assert_eq!(v["written"], 4, "{v}");
    assert_eq!(v["quarantined"], 1, "{v}");
    assert_eq!(v["quarantine"][0]["code"], "encapsulated_document", "{v}");
    assert!(v["quarantine"][0]["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("doc.dcm")));
    support::canary::assert_no_leaks(&out, &[CANARY]);

    // the same with a profile that drops encapsulated documents: left out, not held
    let profile = tmp.path().join("drop.toml");
    std::fs::write(
        &profile,
        "name = \"drop-docs\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\ndrop_encapsulated_documents = true\n",
    )
    .expect("profile");
    let out2 = tmp.path().join("out2");
    let (code, stdout, stderr) = deposit(
        &home,
        &[
            "deid",
            input.to_str().expect("utf8"),
            "--out",
            out2.to_str().expect("utf8"),
            "--profile",
            profile.to_str().expect("utf8"),
            "--json",
        ],
    );
    assert_eq!(code, 0, "stderr: {stderr}");
    let v = json(&stdout);
    assert_eq!(v["written"], 4, "{v}");
    assert_eq!(v["quarantined"], 0, "{v}");
    assert_eq!(v["left_out"].as_array().map(Vec::len), Some(1), "{v}");
    support::canary::assert_no_leaks(&out2, &[CANARY]);
}
