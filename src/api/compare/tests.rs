//! Tests of the profile change check: kinds of change, date shifts, the attribute and hold
//! tallies, and the linkage verdict against OLD and against delivered records.

use std::collections::HashMap;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;

use super::*;
use crate::pipeline::PixelPolicy;

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";

fn instance(sop: &str, patient: &str) -> Vec<u8> {
    let mut ds = InMemDicomObject::new_empty();
    let mut put = |tag, vr, v: &str| ds.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    put(tags::SOP_CLASS_UID, VR::UI, CT);
    put(tags::SOP_INSTANCE_UID, VR::UI, sop);
    put(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.8881");
    put(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.8882");
    put(tags::PATIENT_ID, VR::LO, patient);
    put(tags::PATIENT_NAME, VR::PN, "DOE^JANE");
    put(tags::PATIENT_SEX, VR::CS, "F");
    put(tags::STUDY_DATE, VR::DA, "20200315");
    put(tags::MODALITY, VR::CS, "CT");
    put(tags::SERIES_NUMBER, VR::IS, "3");
    let obj = ds
        .with_meta(
            FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(CT)
                .media_storage_sop_instance_uid(sop)
                .transfer_syntax("1.2.840.10008.1.2.1"),
        )
        .expect("meta");
    let mut bytes = Vec::new();
    obj.write_all(&mut bytes).expect("encode");
    bytes
}

fn side(profile: Profile, keys: Keys) -> Side {
    let id = ProfileId {
        name: profile.name.clone(),
        sha256: profile.sha256.clone(),
    };
    Side {
        pipeline: Pipeline::new(profile, keys, None, PixelPolicy::default()),
        id,
    }
}

fn shipped(name: &str) -> Profile {
    Profile::load(name).expect("profile")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn run(
    old: &Side,
    new: &Side,
    files: &[PathBuf],
    delivered: &HashMap<String, Delivered>,
) -> CompareReport {
    let t = files
        .iter()
        .map(|f| compare_one(f, old, new, delivered))
        .fold(Tally::default(), Tally::merge);
    report(
        old.id.clone(),
        new.id.clone(),
        Vec::new(),
        files,
        files.len() as u64,
        0,
        t,
    )
}

#[test]
fn the_same_settings_differ_in_nothing() {
    let d = tempfile::tempdir().expect("tmp");
    let f = write(d.path(), "a.dcm", &instance("2.25.1", "P1"));
    let a = side(shipped("ps3.15-basic"), Keys::new([7; 32]));
    let b = side(shipped("ps3.15-basic"), Keys::new([7; 32]));
    let r = run(&a, &b, &[f], &HashMap::new());
    assert!(r.same, "{r:?}");
    assert_eq!(r.linkage.verdict, "kept");
    assert_eq!(r.linkage.checked, 1);
}

#[test]
fn an_option_shows_as_kinds_of_change_and_keeps_linkage_of_identifiers() {
    let d = tempfile::tempdir().expect("tmp");
    let files = [
        write(d.path(), "a.dcm", &instance("2.25.1", "P1")),
        write(d.path(), "b.dcm", &instance("2.25.2", "P1")),
    ];
    let a = side(shipped("ps3.15-basic"), Keys::new([7; 32]));
    let b = side(shipped("research-longitudinal"), Keys::new([7; 32]));
    let r = run(&a, &b, &files, &HashMap::new());
    assert!(!r.same);
    let sex = r
        .attributes
        .iter()
        .find(|x| x.keyword == "PatientSex")
        .expect("sex differs");
    assert_eq!(
        (sex.old.as_str(), sex.new.as_str(), sex.files),
        ("emptied", "kept", 2)
    );
    let date = r
        .attributes
        .iter()
        .find(|x| x.keyword == "StudyDate")
        .expect("date differs");
    assert_eq!(date.new, "shifted");
    // no value is ever part of the report
    let json = serde_json::to_string(&r).expect("json");
    for v in ["DOE", "P1", "20200315", "2.25.8881"] {
        assert!(!json.contains(v), "{v} in {json}");
    }
    // dates emptied under basic, shifted under the option: nothing delivered to be
    // consistent with, so linkage is kept
    assert_eq!(r.linkage.verdict, "kept", "{:?}", r.linkage);
}

#[test]
fn retained_dates_versus_shifted_dates_break_linkage_by_date_shift() {
    let d = tempfile::tempdir().expect("tmp");
    let files = [
        write(d.path(), "a.dcm", &instance("2.25.1", "P1")),
        write(d.path(), "b.dcm", &instance("2.25.2", "P2")),
    ];
    let retain = write(
        d.path(),
        "retain.toml",
        b"name = \"retain-dates\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\noptions = [\"retain_longitudinal_full_dates\"]\n",
    );
    let a = side(
        Profile::load(&retain.display().to_string()).expect("retain"),
        Keys::new([7; 32]),
    );
    let b = side(shipped("research-longitudinal"), Keys::new([7; 32]));
    let r = run(&a, &b, &files, &HashMap::new());
    assert_eq!(r.linkage.verdict, "broken");
    assert_eq!(r.linkage.attributes, ["date shift"]);
    assert_eq!(r.linkage.date_shifts, 2, "two subjects");
    assert_eq!((r.linkage.subjects, r.linkage.studies), (0, 0));
    let date = r
        .attributes
        .iter()
        .find(|x| x.keyword == "StudyDate")
        .expect("date differs");
    assert_eq!((date.old.as_str(), date.new.as_str()), ("kept", "shifted"));
}

#[test]
fn a_new_uid_root_or_site_key_breaks_linkage_and_counts_entities_once() {
    let d = tempfile::tempdir().expect("tmp");
    let files = [
        write(d.path(), "a.dcm", &instance("2.25.1", "P1")),
        write(d.path(), "b.dcm", &instance("2.25.2", "P1")),
    ];
    let a = side(shipped("ps3.15-basic"), Keys::new([7; 32]));
    let rooted = side(
        shipped("ps3.15-basic"),
        Keys::with_root([7; 32], "1.2.826.0.1.3680043.10.999").expect("root"),
    );
    let r = run(&a, &rooted, &files, &HashMap::new());
    assert_eq!(r.linkage.verdict, "broken");
    assert_eq!(
        (r.linkage.studies, r.linkage.series, r.linkage.instances),
        (1, 1, 2)
    );
    assert_eq!(
        r.linkage.subjects, 0,
        "the pseudonym does not depend on the UID root"
    );
    assert!(
        r.linkage.message.starts_with("linkage broken: 0 subjects"),
        "{}",
        r.linkage.message
    );
    let uid = r
        .attributes
        .iter()
        .find(|x| x.keyword == "StudyInstanceUID")
        .expect("uid");
    assert_eq!(
        (uid.old.as_str(), uid.new.as_str(), uid.values_equal),
        ("remapped", "remapped", Some(false))
    );
    let rekeyed = side(shipped("ps3.15-basic"), Keys::new([8; 32]));
    let r = run(&a, &rekeyed, &files, &HashMap::new());
    assert_eq!((r.linkage.subjects, r.linkage.studies), (1, 1));
}

#[test]
fn delivered_records_are_the_reference_when_an_input_was_delivered() {
    let d = tempfile::tempdir().expect("tmp");
    let bytes = instance("2.25.1", "P1");
    let f = write(d.path(), "a.dcm", &bytes);
    let a = side(shipped("research-longitudinal"), Keys::new([7; 32]));
    let b = side(shipped("research-longitudinal"), Keys::new([7; 32]));
    let Ok(p) = a.pipeline.prepare(Input::Bytes(&bytes)) else {
        panic!("prepared")
    };
    // the delivery recorded another date shift than the one this input gets now
    let delivered = HashMap::from([(
        p.study_uid.clone(),
        Delivered {
            subject: p.subject.clone(),
            shift: Some(Some(-1)),
        },
    )]);
    let r = run(&a, &b, std::slice::from_ref(&f), &delivered);
    assert_eq!(r.linkage.delivered_inputs, 1);
    assert_eq!(r.linkage.date_shifts, 1, "{:?}", r.linkage);
    assert_eq!(r.linkage.delivered_studies, 1);
    // a record without a date shift: compared with OLD's
    let delivered = HashMap::from([(
        p.study_uid.clone(),
        Delivered {
            subject: p.subject,
            shift: None,
        },
    )]);
    let r = run(&a, &b, &[f], &delivered);
    assert_eq!(r.linkage.verdict, "kept", "{:?}", r.linkage);
    assert_eq!(r.linkage.delivered_inputs, 1);
}

#[test]
fn files_one_side_holds_are_counted_by_code() {
    let d = tempfile::tempdir().expect("tmp");
    let f = write(d.path(), "a.dcm", &instance("2.25.1", "P1"));
    let bad = write(d.path(), "b.dcm", b"not dicom at all");
    let a = side(shipped("ps3.15-basic"), Keys::new([7; 32]));
    // a lookup table without this patient: NEW holds the file
    let lookup = crate::deid::LookupTable::parse("ptid/OTHER = X\n").expect("lookup");
    let b = Side {
        pipeline: Pipeline::new(
            shipped("ps3.15-basic"),
            Keys::new([7; 32]),
            Some(lookup),
            PixelPolicy::default(),
        ),
        id: a.id.clone(),
    };
    let r = run(&a, &b, &[f, bad], &HashMap::new());
    assert_eq!(
        r.holds,
        vec![HoldDiff {
            old: "passes".into(),
            new: "held: lookup_missing".into(),
            files: 1
        }],
        "the unreadable file is held by both alike: no difference"
    );
    assert!(!r.same);
}

#[test]
fn kinds_and_date_shifts() {
    let attr = |vr, digest: u8, empty| flatten::Attr {
        tag: "(0010,0020)".into(),
        keyword: "PatientID".into(),
        vr,
        digest: [digest; 32],
        empty,
    };
    let o = attr(VR::LO, 1, false);
    assert_eq!(kind("(0010,0020)", Some(&o), None), "removed");
    assert_eq!(
        kind("(0010,0020)", Some(&o), Some(&attr(VR::LO, 1, false))),
        "kept"
    );
    assert_eq!(
        kind("(0010,0020)", Some(&o), Some(&attr(VR::LO, 2, true))),
        "emptied"
    );
    assert_eq!(
        kind("(0010,0020)", Some(&o), Some(&attr(VR::LO, 2, false))),
        "hashed"
    );
    assert_eq!(
        kind("(0008,103E)", Some(&o), Some(&attr(VR::LO, 2, false))),
        "replaced"
    );
    assert_eq!(kind("(0012,0062)", None, Some(&o)), "added");
    let ds = |v: &str| {
        InMemDicomObject::from_element_iter([DataElement::new(
            tags::STUDY_DATE,
            VR::DA,
            PrimitiveValue::from(v),
        )])
    };
    assert_eq!(
        crate::pipeline::date_shift(&ds("20200315"), &ds("20200305")),
        Some(-10)
    );
    assert_eq!(
        crate::pipeline::date_shift(&ds("20200301"), &ds("20190301")),
        Some(-366)
    );
    assert_eq!(crate::pipeline::date_shift(&ds("20200315"), &ds("")), None);
    assert_eq!(
        crate::pipeline::date_shift(&ds("2020031"), &ds("20200315")),
        None
    );
    // the dummy date of action D is no shift
    assert_eq!(
        crate::pipeline::date_shift(&ds("20200315"), &ds("19000101")),
        None
    );
    let dummy = flatten::Attr {
        vr: VR::DA,
        digest: flatten::value_digest(b"19000101"),
        ..attr(VR::DA, 0, false)
    };
    assert_eq!(kind("(0008,0023)", Some(&o), Some(&dummy)), "replaced");
    assert_eq!(
        kind("(0008,0023)", Some(&o), Some(&attr(VR::DA, 3, false))),
        "shifted"
    );
}

#[test]
fn the_per_series_pick_is_deterministic_and_bounded() {
    let d = tempfile::tempdir().expect("tmp");
    for i in 0..5 {
        write(
            d.path(),
            &format!("{i}.dcm"),
            &instance(&format!("2.25.{i}"), "P1"),
        );
    }
    let roots = [d.path().to_path_buf()];
    let (all, found, _) = sample_files(&roots, None, 0).expect("all");
    assert_eq!((all.len(), found), (5, 5));
    let (a, _, _) = sample_files(&roots, Some(2), 1).expect("pick");
    let (b, _, _) = sample_files(&roots, Some(2), 1).expect("pick");
    assert_eq!(a.len(), 2);
    assert_eq!(a, b, "same seed, same pick");
    let picks: std::collections::BTreeSet<Vec<PathBuf>> = (0..8)
        .map(|s| sample_files(&roots, Some(2), s).expect("pick").0)
        .collect();
    assert!(picks.len() > 1, "another seed, another pick");
}
