//! Engine tests: actions everywhere, UID consistency, dates, lookups and fail-closed paths.

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_object::InMemDicomObject;
use proptest::prelude::*;

use super::*;

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const TS: &str = "1.2.840.10008.1.2.1";

fn el(g: u16, e: u16, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), vr, PrimitiveValue::from(v))
}

fn seq(g: u16, e: u16, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(
        Tag(g, e),
        VR::SQ,
        Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED)),
    )
}

fn sample(patient: &str, sop: &str) -> InMemDicomObject {
    let referenced = InMemDicomObject::from_element_iter([
        el(0x0008, 0x1150, VR::UI, CT),
        el(0x0008, 0x1155, VR::UI, "1.2.3.4.5.6.7.1"),
        el(0x0010, 0x0010, VR::PN, "Nested^Canary"),
    ]);
    InMemDicomObject::from_element_iter([
        el(0x0008, 0x0016, VR::UI, CT),
        el(0x0008, 0x0018, VR::UI, sop),
        el(0x0008, 0x0020, VR::DA, "20240131"),
        el(0x0008, 0x0021, VR::DA, "20240201"),
        el(0x0008, 0x0060, VR::CS, "CT"),
        el(0x0008, 0x0080, VR::LO, "Canary General Hospital"),
        el(0x0008, 0x103E, VR::LO, &format!("Follow-up of {patient}")),
        el(0x0010, 0x0010, VR::PN, "Canary^Patient"),
        el(0x0010, 0x0020, VR::LO, patient),
        el(0x0010, 0x0030, VR::DA, "19500101"),
        el(0x0010, 0x1010, VR::AS, "074Y"),
        el(0x0018, 0x0050, VR::DS, "2.5"),
        el(0x0018, 0x9999, VR::PN, "Unlisted^Person"),
        el(0x0020, 0x000D, VR::UI, "1.2.3.4.5.6.7.100"),
        el(0x0020, 0x000E, VR::UI, "1.2.3.4.5.6.7.200"),
        el(0x0020, 0x0052, VR::UI, "1.2.3.4.5.6.7.300"),
        el(0x0020, 0x4000, VR::LT, "Canary comment"),
        el(0x0028, 0x0010, VR::US, "2"),
        seq(0x0008, 0x1140, vec![referenced]),
        el(0x0029, 0x0010, VR::LO, "SIEMENS CSA HEADER"),
        el(0x0029, 0x1010, VR::LO, "Canary private"),
        el(0x6000, 0x3000, VR::OW, ""),
        el(0x6000, 0x0010, VR::US, "2"),
        el(0x7053, 0x0010, VR::LO, "Philips PET Private Group"),
        el(0x7053, 0x1000, VR::DS, "0.0012"),
    ])
}

fn keys() -> Keys {
    Keys::new([42; 32])
}

fn run(
    ds: InMemDicomObject,
    profile: &Profile,
    ctx: Context<'_>,
) -> Result<Deidentified, Quarantine> {
    deidentify(ds, TS, profile, &keys(), ctx)
}

fn text(ds: &InMemDicomObject, tag: Tag) -> Option<String> {
    ds.get(tag).map(|e| {
        e.value()
            .to_str()
            .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            .unwrap_or_default()
    })
}

fn all_text(ds: &InMemDicomObject, out: &mut Vec<String>) {
    for e in ds.iter() {
        match e.value() {
            Value::Sequence(s) => s.items().iter().for_each(|i| all_text(i, out)),
            Value::Primitive(p) => out.push(p.to_str().into_owned()),
            Value::PixelSequence(_) => {}
        }
    }
}

#[test]
fn basic_profile_removes_identity_everywhere() {
    let p = Profile::basic().expect("basic");
    let out = run(
        sample("PID-CANARY", "1.2.3.4.5.6.7.9"),
        &p,
        Context::default(),
    )
    .expect("deid");
    let mut texts = Vec::new();
    all_text(&out.dataset, &mut texts);
    let joined = texts.join("|").to_lowercase();
    for canary in [
        "canary",
        "pid-canary",
        "1.2.3.4.5.6.7",
        "19500101",
        "20240131",
        "unlisted",
    ] {
        assert!(!joined.contains(canary), "{canary} left in {joined}");
    }
    let ds = &out.dataset;
    assert_eq!(text(ds, Tag(0x0018, 0x0050)).as_deref(), Some("2.5"));
    assert_eq!(text(ds, Tag(0x0008, 0x0060)).as_deref(), Some("CT"));
    assert_eq!(text(ds, Tag(0x0008, 0x0016)).as_deref(), Some(CT));
    assert_eq!(text(ds, Tag(0x0008, 0x0020)).as_deref(), Some("")); // Z
    assert!(ds.get(Tag(0x0008, 0x0021)).is_none()); // X
    assert!(ds.get(Tag(0x0010, 0x1010)).is_none()); // age X
    assert!(ds.get(Tag(0x0029, 0x1010)).is_none() && ds.get(Tag(0x0029, 0x0010)).is_none());
    assert!(ds.get(Tag(0x7053, 0x1000)).is_none());
    assert!(ds.get(Tag(0x6000, 0x3000)).is_none() && ds.get(Tag(0x6000, 0x0010)).is_none());
    assert_eq!(text(ds, Tag(0x0012, 0x0062)).as_deref(), Some("YES"));
    let id = text(ds, Tag(0x0010, 0x0020)).expect("pid");
    assert!(id.starts_with("DEP-"));
    assert_eq!(text(ds, Tag(0x0010, 0x0010)), Some(id.clone()));
    assert!(out.relative_path.starts_with(&id));
    assert_eq!(
        out.meta.implementation_class_uid.trim_end_matches('\0'),
        crate::implementation::IMPLEMENTATION_CLASS_UID
    );
    assert!(out.meta.source_application_entity_title.is_none());
    assert_eq!(
        out.meta
            .media_storage_sop_instance_uid
            .trim_end_matches('\0'),
        text(ds, Tag(0x0008, 0x0018)).expect("sop")
    );
    // Every decision names a rule.
    assert!(out.decisions.iter().all(|d| !d.rule.is_empty()));
    assert!(out
        .decisions
        .iter()
        .any(|d| d.path == "(0008,1140)[0].(0008,1155)" && d.action == Action::U));
}

#[test]
fn references_follow_remapped_uids_across_files() {
    let p = Profile::basic().expect("basic");
    let a = run(sample("P1", "1.2.3.4.5.6.7.1"), &p, Context::default()).expect("a");
    let b = run(sample("P1", "1.2.3.4.5.6.7.2"), &p, Context::default()).expect("b");
    // File a's SOP instance is what file b references inside Referenced Image Sequence.
    let sop_a = text(&a.dataset, Tag(0x0008, 0x0018)).expect("sop");
    let Some(Value::Sequence(s)) = b
        .dataset
        .get(Tag(0x0008, 0x1140))
        .map(|e| e.value().clone())
    else {
        panic!("sequence kept")
    };
    assert_eq!(text(&s.items()[0], Tag(0x0008, 0x1155)), Some(sop_a));
    assert_eq!(
        text(&s.items()[0], Tag(0x0008, 0x1150)).as_deref(),
        Some(CT)
    );
    assert_eq!(
        text(&s.items()[0], Tag(0x0010, 0x0010)).as_deref(),
        Some("")
    ); // Z inside items too
    for t in [
        Tag(0x0020, 0x000D),
        Tag(0x0020, 0x000E),
        Tag(0x0020, 0x0052),
    ] {
        assert_eq!(text(&a.dataset, t), text(&b.dataset, t));
    }
}

#[test]
fn modified_dates_keep_intervals_and_clean_descriptors_cut_identity() {
    let p = Profile::load("research-longitudinal").expect("profile");
    let out = run(sample("PID77", "1.2.3.9"), &p, Context::default()).expect("deid");
    let ds = &out.dataset;
    let study = text(ds, Tag(0x0008, 0x0020)).expect("study date");
    let series = text(ds, Tag(0x0008, 0x0021)).expect("series date");
    let day = |s: &str| {
        crate::calendar::days_from_civil(
            s[0..4].parse().expect("y"),
            s[4..6].parse().expect("m"),
            s[6..8].parse().expect("d"),
        )
    };
    assert_ne!(study, "20240131");
    assert_eq!(day(&series) - day(&study), 1);
    let off = keyed::date_offset_days(&keys(), "PID77");
    assert_eq!(day("20240131") - day(&study), off);
    assert_eq!(text(ds, Tag(0x0010, 0x1010)).as_deref(), Some("074Y")); // characteristics kept
    assert_eq!(
        text(ds, Tag(0x0008, 0x103E)).as_deref(),
        Some("Follow-up of")
    );
    assert_eq!(text(ds, Tag(0x0028, 0x0303)).as_deref(), Some("MODIFIED"));
    let Some(Value::Sequence(codes)) = ds.get(Tag(0x0012, 0x0064)).map(|e| e.value().clone())
    else {
        panic!("code sequence")
    };
    let values: Vec<String> = codes
        .items()
        .iter()
        .filter_map(|i| text(i, Tag(0x0008, 0x0100)))
        .collect();
    assert_eq!(values, ["113100", "113108", "113107", "113105"]);
}

#[test]
fn safe_private_allow_list_keeps_only_listed_elements() {
    let text_p = "name = \"pet\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\noptions = [\"retain_safe_private\"]\n";
    let p = Profile::from_text(text_p, "t").expect("profile");
    let out = run(sample("P", "1.2.3.9"), &p, Context::default()).expect("deid");
    assert_eq!(
        text(&out.dataset, Tag(0x7053, 0x1000)).as_deref(),
        Some("0.0012")
    );
    assert!(out.dataset.get(Tag(0x7053, 0x0010)).is_some());
    assert!(out.dataset.get(Tag(0x0029, 0x1010)).is_none());
    assert!(out.dataset.get(Tag(0x0029, 0x0010)).is_none());
}

#[test]
fn lookup_miss_quarantines_and_names_the_key_only_in_the_record() {
    let p = Profile::basic().expect("basic");
    let table = LookupTable::parse("ptid/OTHER = SUBJ-1\n").expect("table");
    let q = run(
        sample("SECRET-ID", "1.2.3"),
        &p,
        Context {
            lookup: Some(&table),
            ..Context::default()
        },
    )
    .expect_err("quarantined");
    assert_eq!(q.code, QuarantineCode::LookupMissing);
    assert_eq!(q.missing_key.as_deref(), Some("ptid/SECRET-ID"));
    assert!(!q.reason.contains("SECRET"));
    let table = LookupTable::parse("ptid/SECRET-ID = SUBJ-1\n").expect("table");
    let out = run(
        sample("SECRET-ID", "1.2.3"),
        &p,
        Context {
            lookup: Some(&table),
            ..Context::default()
        },
    )
    .expect("hit");
    assert_eq!(
        text(&out.dataset, Tag(0x0010, 0x0020)).as_deref(),
        Some("SUBJ-1")
    );
    assert!(out.relative_path.starts_with("SUBJ-1"));
}

#[test]
fn burned_in_risk_quarantines_unless_a_mask_rule_applied() {
    let p = Profile::basic().expect("basic");
    let mut ds = sample("P", "1.2.3");
    ds.put(el(0x0008, 0x0060, VR::CS, "US"));
    ds.put(DataElement::new(
        Tag(0x7FE0, 0x0010),
        VR::OB,
        PrimitiveValue::U8(vec![1, 2, 3, 4].into()),
    ));
    let q = run(ds.clone(), &p, Context::default()).expect_err("quarantined");
    assert_eq!(q.code, QuarantineCode::NeedsPixelReview);
    let ok = run(
        ds,
        &p,
        Context {
            mask_rule: Some("us-top-bar"),
            ..Context::default()
        },
    )
    .expect("masked");
    assert!(ok.decisions.iter().any(|d| d.rule.contains("us-top-bar")));
}

#[test]
fn missing_sop_uid_quarantines() {
    let p = Profile::basic().expect("basic");
    let mut ds = sample("P", "1.2.3");
    ds.remove_element(Tag(0x0008, 0x0018));
    assert_eq!(
        run(ds, &p, Context::default()).expect_err("q").code,
        QuarantineCode::MissingUid
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Same input, profile and key → same output; UIDs consistent between the dataset,
    /// the references and the file meta.
    #[test]
    fn deterministic_and_consistent(pid in "[A-Z0-9]{1,12}", n in 1u32..100000) {
        let p = Profile::basic().expect("basic");
        let sop = format!("1.2.3.4.{n}");
        let a = run(sample(&pid, &sop), &p, Context::default()).expect("a");
        let b = run(sample(&pid, &sop), &p, Context::default()).expect("b");
        let mut ba = Vec::new();
        let mut bb = Vec::new();
        a.dataset.write_dataset_with_ts(&mut ba, &dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN.erased()).expect("write a");
        b.dataset.write_dataset_with_ts(&mut bb, &dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN.erased()).expect("write b");
        prop_assert_eq!(ba, bb);
        prop_assert_eq!(&a.relative_path, &b.relative_path);
        let new_sop = text(&a.dataset, Tag(0x0008, 0x0018)).expect("sop");
        prop_assert_eq!(new_sop.clone(), keyed::remap_uid(&keys(), &sop));
        prop_assert_eq!(a.meta.media_storage_sop_instance_uid.trim_end_matches('\0'), new_sop.as_str());
    }
}

#[test]
fn modified_dates_take_the_offset_from_a_lookup_table_that_keeps_them() {
    let p = Profile::load("research-longitudinal").expect("profile");
    let table =
        LookupTable::parse("ptid/PID-1 = SUBJ-1\ndateinc/PID-1 = -31\nptid/PID-2 = SUBJ-2\n")
            .expect("table");
    let ctx = Context {
        lookup: Some(&table),
        ..Default::default()
    };
    let out = run(sample("PID-1", "1.2.3.4.5.6.7.9"), &p, ctx).expect("deid");
    // 2024-01-31 + (-31 days) = 2023-12-31; the interval to the series date stays one day.
    assert_eq!(
        text(&out.dataset, Tag(0x0008, 0x0020)).as_deref(),
        Some("20231231")
    );
    assert_eq!(
        text(&out.dataset, Tag(0x0008, 0x0021)).as_deref(),
        Some("20240101")
    );
    assert_eq!(
        text(&out.dataset, Tag(0x0010, 0x0020)).as_deref(),
        Some("SUBJ-1")
    );
    // A table with offsets but none for this patient: quarantined, key type named.
    let q = run(sample("PID-2", "1.2.3.4.5.6.7.9"), &p, ctx).expect_err("quarantined");
    assert_eq!(q.code, QuarantineCode::LookupMissing);
    assert_eq!(q.missing_key.as_deref(), Some("dateinc/PID-2"));
    assert!(!q.reason.contains("PID-2"));
    // Without offsets in the table the site key gives the offset (as before).
    let plain = LookupTable::parse("ptid/PID-2 = SUBJ-2\n").expect("table");
    let ctx = Context {
        lookup: Some(&plain),
        ..Default::default()
    };
    let out = run(sample("PID-2", "1.2.3.4.5.6.7.9"), &p, ctx).expect("deid");
    let want = dates::shift_da_value("20240131", keyed::date_offset_days(&keys(), "PID-2"));
    assert_eq!(text(&out.dataset, Tag(0x0008, 0x0020)), want);
}

fn uid_at(ds: &InMemDicomObject, path: &[(u16, u16)]) -> Option<String> {
    let (last, seqs) = path.split_last()?;
    let mut cur = ds.clone();
    for &(g, e) in seqs {
        cur = cur.get(Tag(g, e))?.items()?.first()?.clone();
    }
    text(&cur, Tag(last.0, last.1))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Across files, profiles and runs, under any valid UID root: a reference to another
    /// file's SOP Instance UID lands on that file's new UID, shared UIDs (study, frame of
    /// reference) stay shared, and every new UID is valid (digits and dots, at most 64).
    #[test]
    fn references_stay_consistent_under_any_root(
        root in "[12](\\.[1-9][0-9]{0,6}){1,5}",
        a in 1u32..1_000_000,
        b in 1u32..1_000_000,
    ) {
        prop_assume!(a != b && keyed::check_uid_root(&root).is_ok());
        let keys = Keys::with_root([9; 32], &root).expect("root");
        let sop_a = format!("1.2.3.4.{a}");
        let sop_b = format!("1.2.3.4.{b}");
        // File B refers to file A (its Referenced Image Sequence names A's SOP UID).
        let file_a = sample("PID-X", &sop_a);
        let mut file_b = sample("PID-X", &sop_b);
        file_b.put(seq(0x0008, 0x1140, vec![InMemDicomObject::from_element_iter([
            el(0x0008, 0x1150, VR::UI, CT),
            el(0x0008, 0x1155, VR::UI, &sop_a),
        ])]));
        for name in ["ps3.15-basic", "research-longitudinal"] {
            let p = Profile::load(name).expect("profile");
            let da = deidentify(file_a.clone(), TS, &p, &keys, Context::default()).expect("a");
            let db = deidentify(file_b.clone(), TS, &p, &keys, Context::default()).expect("b");
            let new_a = text(&da.dataset, Tag(0x0008, 0x0018)).expect("sop a");
            prop_assert_eq!(uid_at(&db.dataset, &[(0x0008, 0x1140), (0x0008, 0x1155)]), Some(new_a.clone()));
            for shared in [(0x0020, 0x000D), (0x0020, 0x0052)] {
                prop_assert_eq!(uid_at(&da.dataset, &[shared]), uid_at(&db.dataset, &[shared]));
            }
            for ds in [&da.dataset, &db.dataset] {
                for t in [(0x0008, 0x0018), (0x0020, 0x000D), (0x0020, 0x000E), (0x0020, 0x0052)] {
                    let u = uid_at(ds, &[t]).expect("uid");
                    prop_assert!(u.len() <= 64, "{}", u);
                    prop_assert!(u.starts_with(&format!("{root}.")), "{}", u);
                    prop_assert!(u.bytes().all(|c| c.is_ascii_digit() || c == b'.'));
                }
            }
            // The same key and root in another run: the same UID.
            let again = deidentify(file_a.clone(), TS, &p, &keys.clone(), Context::default()).expect("again");
            prop_assert_eq!(text(&again.dataset, Tag(0x0008, 0x0018)), Some(new_a));
        }
    }
}

fn un_el(g: u16, e: u16, v: &[u8]) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), VR::UN, PrimitiveValue::U8(v.to_vec().into()))
}

#[test]
fn a_value_left_as_un_is_never_kept_verbatim() {
    // What intake could not decode reaches the engine as UN: whatever the rule for its tag
    // (K, C or U here), its opaque bytes do not stay; a number and an allow-listed private
    // element do.
    let text_p = "name = \"pet\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\noptions = [\"retain_safe_private\", \"retain_device_identity\", \"clean_descriptors\"]\n";
    let p = Profile::from_text(text_p, "t").expect("profile");
    let mut ds = sample("P", "1.2.3.9");
    for e in [
        un_el(
            0x0008,
            0x1140,
            b"\xFE\xFF\x00\xE0\x10\x00\x00\x00Canary^Patient",
        ),
        un_el(0x0020, 0x000D, b"1.2.3.4.5.6.7.100\0"),
        un_el(0x0008, 0x103E, b"Canary^Patient"),
        un_el(0x0018, 0x1000, b"Canary^Patient"),
        un_el(0x0028, 0x0011, &2u16.to_le_bytes()),
        un_el(0x7053, 0x1000, b"0.0012"),
    ] {
        ds.put(e);
    }
    let out = run(ds, &p, Context::default()).expect("deid");
    assert!(out.dataset.get(Tag(0x0008, 0x1140)).is_none());
    for t in [
        Tag(0x0020, 0x000D),
        Tag(0x0008, 0x103E),
        Tag(0x0018, 0x1000),
    ] {
        assert!(out.dataset.get(t).is_none(), "{t} kept");
        let d = out
            .decisions
            .iter()
            .find(|d| d.path == apply::tag_text(t))
            .expect("decision");
        assert_eq!(d.action, Action::X, "{t}");
        assert!(d.rule.contains("stored as UN"), "{}", d.rule);
    }
    assert!(out.dataset.get(Tag(0x0028, 0x0011)).is_some());
    assert!(out.dataset.get(Tag(0x7053, 0x1000)).is_some());
    let mut texts = Vec::new();
    all_text(&out.dataset, &mut texts);
    assert!(!texts.iter().any(|t| t.contains("Canary")), "{texts:?}");
}
