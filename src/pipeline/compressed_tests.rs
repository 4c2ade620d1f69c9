//! Tests of what the pipeline does with compressed frames (metadata removed on every path),
//! encapsulated documents (held, or left out by the profile) and bytes after the data set.

use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;

use super::*;

const CANARY: &[u8] = b"CANARY^Leaky 19450704";

/// The parts joined.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn pipeline() -> Pipeline {
    let profile = Profile::load("ps3.15-basic").expect("profile");
    Pipeline::new(profile, Keys::new([7; 32]), None, PixelPolicy::default())
}

fn ctp_pipeline(dir: &Path) -> Pipeline {
    // the stock basic script (a script keeping most of the header would be held by the
    // residual-identity gate before the pixels could be looked at)
    let path = dir.join("basic.script");
    let text = include_str!("../../tests/data/ctp/scripts/DICOM-PS3.15-Basic.script");
    std::fs::write(&path, text).expect("script");
    let profile = Profile::from_ctp_script(text, &path)
        .expect("script profile")
        .with_ctp_env(crate::deid::ctp::Env {
            now: Some(crate::deid::ctp::Now::from_unix(1_700_000_000, 0)),
            integers: None,
        });
    Pipeline::new(profile, Keys::new([7; 32]), None, PixelPolicy::default())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn encode(obj: &dicom_object::DefaultDicomObject) -> Vec<u8> {
    let mut out = Vec::new();
    obj.write_all(&mut out).expect("encode");
    out
}

/// The repository's JPEG lossless CT with a COM and an EXIF APP1 carrying the canary.
fn jpeg_with_canary() -> Vec<u8> {
    let seed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/deid_bytes/ct-jpeg-lossless.dcm");
    let mut obj = intake::open_full(&seed).expect("seed");
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
    let seg = |m: u8, body: &[u8]| {
        let mut s = vec![0xFF, m];
        s.extend_from_slice(&u16::try_from(body.len() + 2).expect("short").to_be_bytes());
        s.extend_from_slice(body);
        s
    };
    let extra = [
        seg(0xFE, CANARY),
        seg(0xE1, &[b"Exif\0\0".as_slice(), CANARY].concat()),
    ]
    .concat();
    let mut dirty = cat(&[&frame[..2], &extra, &frame[2..]]);
    if dirty.len() % 2 == 1 {
        dirty.push(0);
    }
    obj.put(DataElement::new(
        PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), vec![dirty])),
    ));
    let bytes = encode(&obj);
    assert!(contains(&bytes, CANARY));
    bytes
}

fn prepared_bytes(out: Outcome) -> Vec<u8> {
    match out {
        Outcome::Prepared(o) => o.into_prepared().expect("encodes").bytes,
        Outcome::Held(h) => panic!("held: {}", h.quarantine.reason),
        _ => panic!("left out"),
    }
}

#[test]
fn compressed_frames_that_cannot_be_checked_are_held() {
    // the same frames declared as MPEG-4 video, whose SEI user data Deposit cannot walk
    let mut obj = intake::open_bytes(&jpeg_with_canary()).expect("open");
    obj.meta_mut().transfer_syntax = "1.2.840.10008.1.2.4.102".into();
    obj.meta_mut().update_information_group_length();
    let bytes = encode(&obj);
    match pipeline().run(Input::Bytes(&bytes)) {
        Outcome::Held(h) => assert!(
            h.quarantine.reason.contains("cannot check"),
            "{}",
            h.quarantine.reason
        ),
        _ => panic!("video frames passed unchecked"),
    }
}

#[test]
fn jpeg_metadata_is_removed_on_every_path() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bytes = jpeg_with_canary();
    let file = tmp.path().join("in.dcm");
    std::fs::write(&file, &bytes).expect("write");
    let p = pipeline();
    let ctp = ctp_pipeline(tmp.path());
    let outputs = [
        prepared_bytes(p.run(Input::FilePassingPixels(&file))),
        prepared_bytes(p.run(Input::File(&file))),
        prepared_bytes(p.run(Input::Bytes(&bytes))),
        prepared_bytes(ctp.run(Input::FilePassingPixels(&file))),
        p.prepare(Input::File(&file)).expect("prepared").bytes,
    ];
    for (n, o) in outputs.iter().enumerate() {
        assert!(
            !contains(o, CANARY),
            "path {n}: the canary reached the output"
        );
        // still the same image: the output decodes
        let obj = intake::open_bytes(o).expect("readable");
        crate::pixels::decode(&obj, None).expect("decodes");
    }
    let seen = p.inspect(Input::FilePassingPixels(&file)).expect("inspect");
    let removed: Vec<&str> = seen
        .decisions
        .iter()
        .filter(|d| d.path == "(7FE0,0010)")
        .map(|d| d.rule.as_str())
        .collect();
    assert_eq!(
        removed,
        vec![
            format!("frame 0: COM segment removed ({} bytes)", CANARY.len() + 4).as_str(),
            format!(
                "frame 0: APP1 segment removed ({} bytes)",
                CANARY.len() + 10
            )
            .as_str(),
        ]
    );
}

#[test]
fn a_damaged_compressed_frame_is_held_never_passed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let seed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/deid_bytes/ct-jpeg-lossless.dcm");
    let mut obj = intake::open_full(&seed).expect("seed");
    // a JPEG stream whose first segment claims more bytes than the frame has
    let frame = vec![0xFF, 0xD8, 0xFF, 0xFE, 0x7F, 0x00, b'x', b'y'];
    obj.put(DataElement::new(
        PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), vec![frame])),
    ));
    let file = tmp.path().join("bad.dcm");
    std::fs::write(&file, encode(&obj)).expect("write");
    match pipeline().run(Input::FilePassingPixels(&file)) {
        Outcome::Held(h) => {
            assert_eq!(h.quarantine.code, QuarantineCode::Unreadable);
            assert!(
                h.quarantine.reason.contains("embedded metadata"),
                "{}",
                h.quarantine.reason
            );
        }
        _ => panic!("a frame that cannot be walked must be held"),
    }
}

/// An Encapsulated PDF (or another class with an Encapsulated Document) as Part-10 bytes.
fn document(sop_class: &str) -> Vec<u8> {
    let mut ds = InMemDicomObject::new_empty();
    let mut put = |tag, vr, v: PrimitiveValue| ds.put(DataElement::new(tag, vr, v));
    put(tags::SOP_CLASS_UID, VR::UI, sop_class.into());
    put(tags::SOP_INSTANCE_UID, VR::UI, "2.25.9001".into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.9002".into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.9003".into());
    put(tags::PATIENT_ID, VR::LO, "P9".into());
    put(tags::MODALITY, VR::CS, "DOC".into());
    let pdf = cat(&[b"%PDF-1.4 /Author (", CANARY, b")\n"]);
    put(
        tags::ENCAPSULATED_DOCUMENT_LENGTH,
        VR::UL,
        PrimitiveValue::from(pdf.len() as u32),
    );
    put(
        tags::ENCAPSULATED_DOCUMENT,
        VR::OB,
        PrimitiveValue::from(pdf),
    );
    let obj = ds
        .with_meta(
            FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(sop_class)
                .media_storage_sop_instance_uid("2.25.9001")
                .transfer_syntax("1.2.840.10008.1.2.1"),
        )
        .expect("meta");
    encode(&obj)
}

#[test]
fn encapsulated_documents_are_held_in_every_mode_unless_the_profile_drops_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let pdf = document("1.2.840.10008.5.1.4.1.1.104.1");
    let cda = document("1.2.840.10008.5.1.4.1.1.104.2");
    // any class carrying an Encapsulated Document element
    let other = document("1.2.840.10008.5.1.4.1.1.7");
    for p in [pipeline(), ctp_pipeline(tmp.path())] {
        for (bytes, kind) in [(&pdf, "PDF"), (&cda, "CDA"), (&other, "document")] {
            match p.run(Input::Bytes(bytes)) {
                Outcome::Held(h) => {
                    assert_eq!(h.quarantine.code, QuarantineCode::EncapsulatedDocument);
                    assert_eq!(h.quarantine.code.as_str(), "encapsulated_document");
                    assert!(
                        h.quarantine.reason.contains(kind),
                        "{}",
                        h.quarantine.reason
                    );
                    assert!(!h.quarantine.reason.contains("CANARY"));
                }
                _ => panic!("an encapsulated {kind} must be held"),
            }
            let held = p.prepare(Input::Bytes(bytes)).expect_err("never prepared");
            assert_eq!(held.quarantine.code, QuarantineCode::EncapsulatedDocument);
        }
    }
    let text = "name = \"drop-docs\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\ndrop_encapsulated_documents = true\n";
    let dropping = Profile::from_text(text, "drop-docs").expect("profile");
    let plain = Profile::from_text(
        "name = \"drop-docs\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\n",
        "plain",
    )
    .expect("profile");
    assert!(dropping.drop_encapsulated_documents);
    assert_ne!(
        dropping.sha256, plain.sha256,
        "the option is part of the identity"
    );
    let p = Pipeline::new(dropping, Keys::new([7; 32]), None, PixelPolicy::default());
    match p.run(Input::Bytes(&pdf)) {
        Outcome::LeftOut(reason) => assert!(reason.contains("drop_encapsulated_documents")),
        _ => panic!("left out by the profile"),
    }
}

/// A small CT instance as Part-10 bytes (no pixels).
fn instance() -> Vec<u8> {
    let mut ds = InMemDicomObject::new_empty();
    let mut put = |tag, vr, v: &str| ds.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    put(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2");
    put(tags::SOP_INSTANCE_UID, VR::UI, "2.25.9101");
    put(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.9102");
    put(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.9103");
    put(tags::PATIENT_ID, VR::LO, "P1");
    put(tags::MODALITY, VR::CS, "CT");
    put(tags::STUDY_DESCRIPTION, VR::LO, "HEAD");
    let obj = ds
        .with_meta(
            FileMetaTableBuilder::new()
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
                .media_storage_sop_instance_uid("2.25.9101")
                .transfer_syntax("1.2.840.10008.1.2.1"),
        )
        .expect("meta");
    encode(&obj)
}

#[test]
fn bytes_after_the_data_set_are_left_out_and_reported() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = pipeline();
    let clean = p
        .prepare(Input::Bytes(&instance()))
        .expect("prepared")
        .bytes;
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/deid_bytes/ct-utf8.dcm");
    let native = std::fs::read(seed).expect("seed");
    let tails: [&[u8]; 3] = [
        &[0u8; 64],
        &cat(&[b"\x01\x00\x02\x00garbage ", CANARY]),
        &[
            0xFF, 0xFF, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3,
        ],
    ];
    for (n, tail) in tails.iter().enumerate() {
        let bytes = cat(&[&instance(), tail]);
        let out = p
            .prepare(Input::Bytes(&bytes))
            .unwrap_or_else(|h| panic!("tail {n} held: {}", h.quarantine.reason));
        assert_eq!(out.bytes, clean, "tail {n}: written without the bytes");
        let seen = p.inspect(Input::Bytes(&bytes)).expect("inspect");
        let note = seen
            .decisions
            .iter()
            .find(|d| d.name == "TrailingBytes")
            .unwrap_or_else(|| panic!("tail {n}: reported"));
        assert_eq!(
            note.rule,
            format!(
                "{} bytes after the end of the data set (not an element) left out",
                tail.len()
            )
        );
        // after native pixel data read from a file (the pass-through path) too
        let file = tmp.path().join(format!("t{n}.dcm"));
        std::fs::write(&file, cat(&[&native, tail])).expect("write");
        let o = prepared_bytes(p.run(Input::FilePassingPixels(&file)));
        assert!(!contains(&o, CANARY));
        let plain = prepared_bytes(p.run(Input::Bytes(&native)));
        assert_eq!(o, plain, "tail {n} after pixels");
    }
}

#[test]
fn a_data_set_cut_inside_an_element_is_still_held() {
    let p = pipeline();
    let whole = instance();
    // cut inside the last element's value (10 bytes), and inside its header
    for cut in [whole.len() - 2, whole.len() - 9, whole.len() - 12] {
        match p.run(Input::Bytes(&whole[..cut])) {
            Outcome::Held(h) => assert_eq!(h.quarantine.code, QuarantineCode::Unreadable),
            _ => panic!("a cut at {cut} of {} must be held", whole.len()),
        }
    }
    // an ascending element claiming more bytes than the file has: truncated, not trailing
    let mut cut = whole.clone();
    cut.extend_from_slice(&[
        0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0x00, 0x01, 0, 0, b'x',
    ]);
    assert!(matches!(p.run(Input::Bytes(&cut)), Outcome::Held(_)));
    assert!(intake::open_bytes_trimmed(&cut).is_err());
}
