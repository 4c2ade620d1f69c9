//! Tests of the per-file pipeline: outcomes, the memory and folder sinks, inspect.

use dicom_core::header::Header as _;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;

use super::*;

/// A small CT instance without pixels, as Part-10 bytes.
fn instance(sop: &str, sop_class: &str, patient_name: &str) -> Vec<u8> {
    let mut ds = InMemDicomObject::new_empty();
    let mut put = |tag, vr, v: &str| ds.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    put(tags::SOP_CLASS_UID, VR::UI, sop_class);
    put(tags::SOP_INSTANCE_UID, VR::UI, sop);
    put(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.8881");
    put(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.8882");
    put(tags::PATIENT_ID, VR::LO, "P1");
    put(tags::PATIENT_NAME, VR::PN, patient_name);
    put(tags::MODALITY, VR::CS, "CT");
    put(tags::SERIES_NUMBER, VR::IS, "3");
    let obj = ds
        .with_meta(
            FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(sop_class)
                .media_storage_sop_instance_uid(sop)
                .transfer_syntax("1.2.840.10008.1.2.1"),
        )
        .expect("meta");
    let mut bytes = Vec::new();
    obj.write_all(&mut bytes).expect("encode");
    bytes
}

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";

fn pipeline() -> Pipeline {
    let profile = Profile::load("ps3.15-basic").expect("profile");
    Pipeline::new(profile, Keys::new([7; 32]), None, PixelPolicy::default())
}

#[test]
fn prepares_into_memory_with_new_identifiers_only() {
    let p = pipeline();
    let bytes = instance("2.25.8883", CT, "DOE^JANE");
    let prepared = p.prepare(Input::Bytes(&bytes)).expect("prepared");
    assert_eq!(prepared.scan, "3");
    assert_ne!(prepared.sop_uid, "2.25.8883");
    assert_ne!(prepared.study_uid, "2.25.8881");
    assert_eq!(prepared.relative_path.components().count(), 4);
    assert!(!String::from_utf8_lossy(&prepared.bytes).contains("DOE^JANE"));
    let again = crate::intake::open_bytes(&prepared.bytes).expect("readable output");
    assert_eq!(
        again.meta().media_storage_sop_instance_uid(),
        prepared.sop_uid
    );
    // the same input the same way twice: the same output (keys passed in, no clock read)
    let twice = p.prepare(Input::Bytes(&bytes)).expect("prepared");
    assert_eq!(twice.bytes, prepared.bytes);
}

#[test]
fn unreadable_input_is_held_and_a_dicomdir_is_left_out() {
    let p = pipeline();
    match p.run(Input::Bytes(b"not DICOM at all")) {
        Outcome::Held(h) => {
            assert_eq!(h.quarantine.code, QuarantineCode::Unreadable);
            assert!(h.sop.is_none());
        }
        _ => panic!("garbage must be held"),
    }
    let dir = instance("2.25.8884", MEDIA_STORAGE_DIRECTORY, "DOE^JANE");
    assert!(matches!(
        p.run(Input::Bytes(&dir)),
        Outcome::NotPatientObject
    ));
}

#[test]
fn inspect_records_values_and_writes_nothing() {
    let p = pipeline();
    let bytes = instance("2.25.8885", CT, "DOE^JANE");
    let seen = p.inspect(Input::Bytes(&bytes)).expect("inspect");
    assert!(seen.held.is_none());
    assert!(seen.relative_path.is_some());
    let name = seen
        .decisions
        .iter()
        .find(|d| d.name == "PatientName")
        .expect("patient name acted on");
    assert_eq!(name.before.as_deref(), Some("DOE^JANE"));
    assert!(p.inspect(Input::Bytes(b"nope")).is_err());
}

#[test]
fn the_folder_keeps_the_first_listed_copy_of_an_instance() {
    let d = tempfile::tempdir().expect("tmp");
    let p = pipeline();
    let folder = sink::Folder::new(d.path());
    // two inputs of one instance (same SOP Instance UID), finished out of order
    let first = instance("2.25.8886", CT, "DOE^JANE");
    let second = instance("2.25.8886", CT, "DOE^JOHN");
    let out = |b: &[u8]| match p.run(Input::Bytes(b)) {
        Outcome::Prepared(o) => o,
        _ => panic!("prepared"),
    };
    let from_first = p.prepare(Input::Bytes(&first)).expect("prepared").bytes;
    let t1 = folder.write(out(&second), 1).expect("second");
    let t0 = folder.write(out(&first), 0).expect("first");
    assert_eq!(t0, t1);
    assert_eq!(std::fs::read(&t0).expect("read"), from_first);
    let t2 = folder.write(out(&second), 2).expect("a later copy");
    assert_eq!(t2, t0);
    assert_eq!(std::fs::read(&t0).expect("read"), from_first);
    let parts = walkdir(d.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "part"))
        .count();
    assert_eq!(parts, 0, "no temporary file left");
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("ls").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `instance` with a View Code Sequence (0054,0220) appended: one item of defined length
/// holding two odd-length values (as some writers leave them).
fn instance_with_defined_length_item() -> Vec<u8> {
    let mut bytes = instance("2.25.8890", CT, "DOE^JANE");
    let mut item = Vec::new();
    for (element, value) in [(0x0100u16, b"ABC"), (0x0102, b"DCM")] {
        item.extend_from_slice(&0x0008u16.to_le_bytes());
        item.extend_from_slice(&element.to_le_bytes());
        item.extend_from_slice(b"SH");
        item.extend_from_slice(&(value.len() as u16).to_le_bytes());
        item.extend_from_slice(value);
    }
    let mut seq = vec![0xFE, 0xFF, 0x00, 0xE0];
    seq.extend_from_slice(&(item.len() as u32).to_le_bytes());
    seq.extend_from_slice(&item);
    bytes.extend_from_slice(&[0x54, 0x00, 0x20, 0x02, b'S', b'Q', 0, 0]);
    bytes.extend_from_slice(&(seq.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&seq);
    bytes
}

#[test]
fn an_unchanged_item_of_defined_length_is_written_valid() {
    let bytes = instance_with_defined_length_item();
    let source = crate::intake::open_bytes(&bytes).expect("the input reads");
    assert!(source.element(Tag(0x0054, 0x0220)).is_ok());
    let out = pipeline().prepare(Input::Bytes(&bytes)).expect("prepared");
    let again = crate::intake::open_bytes(&out.bytes).expect("the output reads");
    let seq = again.element(Tag(0x0054, 0x0220)).expect("kept");
    let items = seq.items().expect("a sequence");
    assert_eq!(items.len(), 1);
    let value = items[0]
        .element(Tag(0x0008, 0x0100))
        .expect("code value")
        .to_str()
        .expect("text");
    assert_eq!(value.trim_end(), "ABC");
    // nothing after the sequence was swallowed by a stale length
    assert_eq!(
        again.into_inner().iter().last().map(|e| e.tag()),
        Some(Tag(0x0054, 0x0220))
    );
}

#[test]
fn recording_decisions_does_not_change_the_output() {
    for bytes in [
        instance("2.25.8891", CT, "DOE^JANE"),
        instance_with_defined_length_item(),
    ] {
        let plain = pipeline().prepare(Input::Bytes(&bytes)).expect("prepared");
        let recorded = pipeline()
            .recording_values(true)
            .prepare(Input::Bytes(&bytes))
            .expect("prepared");
        assert_eq!(plain.bytes, recorded.bytes);
    }
}
