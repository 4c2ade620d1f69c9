//! Tests of the CTP engine on datasets built in code: processing order, global removals,
//! directives, sequences, the code sequence, and each function's semantics.

use std::sync::Arc;

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_object::InMemDicomObject;

use super::eval::{hash_uid, md5_decimal};
use super::*;
use crate::deid::{Context, Keys, LookupTable, QuarantineCode};

const PID: Tag = Tag(0x0010, 0x0020);
const PNAME: Tag = Tag(0x0010, 0x0010);

fn el(t: Tag, vr: VR, v: &str) -> InMemElement {
    DataElement::new(t, vr, PrimitiveValue::from(v))
}

use dicom_object::mem::InMemElement;

fn sample() -> InMemDicomObject {
    let item = InMemDicomObject::from_element_iter([
        el(Tag(0x0008, 0x1150), VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        el(Tag(0x0008, 0x1155), VR::UI, "1.2.3.4.5.99"),
    ]);
    InMemDicomObject::from_element_iter([
        el(Tag(0x0008, 0x0016), VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        el(Tag(0x0008, 0x0018), VR::UI, "1.2.3.4.5.6"),
        el(Tag(0x0008, 0x0020), VR::DA, "20200301"),
        el(Tag(0x0008, 0x0060), VR::CS, "CT"),
        el(Tag(0x0008, 0x0080), VR::LO, "General Hospital"),
        el(PNAME, VR::PN, "Doe^Jane^Q"),
        el(PID, VR::LO, "12345"),
        el(Tag(0x0010, 0x1010), VR::AS, "047Y"),
        el(Tag(0x0018, 0x0050), VR::DS, "2.5"),
        el(Tag(0x0020, 0x000D), VR::UI, "1.2.3.4"),
        el(Tag(0x0020, 0x0010), VR::SH, "S1"),
        el(Tag(0x0028, 0x0010), VR::US, "2"),
        DataElement::new(Tag(0x0028, 0x0011), VR::US, PrimitiveValue::from(2u16)),
        el(Tag(0x0009, 0x0010), VR::LO, "ACME"),
        el(Tag(0x0009, 0x1001), VR::LO, "private secret"),
        el(Tag(0x7053, 0x0010), VR::LO, "Philips PET Private Group"),
        el(Tag(0x7053, 0x1000), VR::DS, "1.5"),
        el(Tag(0x6000, 0x0022), VR::LO, "overlay text"),
        DataElement::new(
            Tag(0x0008, 0x1140),
            VR::SQ,
            Value::Sequence(DataSetSequence::from(vec![item])),
        ),
    ])
}

fn env() -> Env {
    Env {
        now: Some(Now::from_unix(1_700_000_000, 0)),
        integers: Some(Arc::new(MemoryIntegers::default())),
    }
}

fn run_with(
    script: &str,
    ds: InMemDicomObject,
    lookup: Option<&LookupTable>,
) -> Result<Deidentified, Quarantine> {
    let s = Script::parse(script).expect("script parses");
    let profile = Profile::from_ctp_script(script, std::path::Path::new("t.script"))
        .expect("profile")
        .with_ctp_env(env());
    let engine = profile.ctp.clone().expect("ctp");
    assert_eq!(engine.script.rules.len(), s.rules.len());
    let ctx = Context {
        lookup,
        mask_rule: None,
        record: crate::deid::Record::Values,
    };
    super::deidentify(
        ds,
        "1.2.840.10008.1.2.1",
        &profile,
        &engine,
        &Keys::new([1; 32]),
        ctx,
    )
}

fn run(rules: &str) -> InMemDicomObject {
    let script = format!(
        "<script>\n<p t=\"UIDROOT\">1.2.9</p>\n<p t=\"DATEINC\">-10</p>\n{rules}\n</script>"
    );
    run_with(&script, sample(), None)
        .expect("not quarantined")
        .dataset
}

fn q(rules: &str, lookup: Option<&LookupTable>) -> Quarantine {
    let script = format!("<script>\n{rules}\n</script>");
    run_with(&script, sample(), lookup).expect_err("quarantined")
}

fn get(ds: &InMemDicomObject, t: Tag) -> Option<String> {
    ds.get(t).map(names::text_of)
}

fn e(t: &str, body: &str) -> String {
    format!("<e en=\"T\" t=\"{t}\">{body}</e>")
}

#[test]
fn global_removals_protection_and_keep_groups() {
    let ds = run(&[
        e("00100010", "@empty()"),
        "<r en=\"T\" t=\"privategroups\">r</r>".into(),
        "<r en=\"T\" t=\"unspecifiedelements\">r</r>".into(),
        "<r en=\"T\" t=\"overlays\">r</r>".into(),
        "<k en=\"T\" t=\"0018\">k</k>".into(),
    ]
    .join("\n"));
    assert_eq!(get(&ds, PNAME).as_deref(), Some(""), "rule ran");
    assert!(ds.get(PID).is_none(), "unspecified removed");
    assert!(ds.get(Tag(0x0008, 0x0080)).is_none());
    assert!(ds.get(Tag(0x0009, 0x1001)).is_none(), "private removed");
    assert!(ds.get(Tag(0x6000, 0x0022)).is_none(), "overlay removed");
    assert!(ds.get(Tag(0x0018, 0x0050)).is_some(), "keep group");
    for t in [
        Tag(0x0008, 0x0016),
        Tag(0x0008, 0x0018),
        Tag(0x0020, 0x000D),
        Tag(0x0028, 0x0011),
    ] {
        assert!(ds.get(t).is_some(), "{t} protected");
    }
    assert!(
        ds.get(Tag(0x0020, 0x0010)).is_none(),
        "group 0020 not kept here"
    );
}

#[test]
fn safe_private_elements_are_kept_with_their_creator() {
    let ds = run(&[
        "<r en=\"T\" t=\"privategroups\">r</r>",
        "<k en=\"T\" t=\"safeprivateelements\">k</k>",
    ]
    .join("\n"));
    assert_eq!(get(&ds, Tag(0x7053, 0x1000)).as_deref(), Some("1.5"));
    assert!(ds.get(Tag(0x7053, 0x0010)).is_some());
    assert!(ds.get(Tag(0x0009, 0x1001)).is_none());
}

#[test]
fn private_rules_by_creator_and_local_names() {
    let ds = run(&[
        e("0009[ACME]01", "@hash(this,6)"),
        "<r en=\"T\" t=\"privategroups\">r</r>".into(),
        "<e en=\"T\" t=\"00130010\" n=\"BlockOwner\">@always()CTP</e>".into(),
        "<e en=\"T\" t=\"00131010\" n=\"ProjectName\">@always()P-@param(@UIDROOT)</e>".into(),
        e("00204000", "@always()@value(ProjectName)"),
    ]
    .join("\n"));
    let want: String = md5_decimal("private secret").chars().take(6).collect();
    assert_eq!(get(&ds, Tag(0x0009, 0x1001)), Some(want));
    assert_eq!(get(&ds, Tag(0x0013, 0x0010)).as_deref(), Some("CTP"));
    assert_eq!(get(&ds, Tag(0x0013, 0x1010)).as_deref(), Some("P-1.2.9"));
    // Rules read the original: the inserted ProjectName does not exist there.
    assert_eq!(get(&ds, Tag(0x0020, 0x4000)).as_deref(), Some(""));
}

#[test]
fn hashuid_process_select_and_references() {
    let ds = run(&[
        e("00080018", "@hashuid(@UIDROOT,this)"),
        e("00081155", "@hashuid(@UIDROOT,this)"),
        e("00081140", "@process()"),
        e("0020000d", "@select{@keep()}{@hashuid(@UIDROOT,this)}"),
        e("00080080", "@select{top}{item}"),
    ]
    .join("\n"));
    assert_eq!(
        get(&ds, Tag(0x0008, 0x0018)),
        Some(hash_uid("1.2.9", "1.2.3.4.5.6"))
    );
    let Some(Value::Sequence(s)) = ds.get(Tag(0x0008, 0x1140)).map(|e| e.value().clone()) else {
        panic!("sequence kept")
    };
    assert_eq!(
        get(&s.items()[0], Tag(0x0008, 0x1155)),
        Some(hash_uid("1.2.9", "1.2.3.4.5.99"))
    );
    assert_eq!(get(&ds, Tag(0x0020, 0x000D)).as_deref(), Some("1.2.3.4"));
    assert_eq!(get(&ds, Tag(0x0008, 0x0080)).as_deref(), Some("top"));
}

#[test]
fn code_sequence_append_reset_and_marks() {
    let ds = run(&e("00120064", "113100/113107/999999"));
    let Some(Value::Sequence(s)) = ds.get(Tag(0x0012, 0x0064)).map(|e| e.value().clone()) else {
        panic!("code sequence")
    };
    let codes: Vec<String> = s
        .items()
        .iter()
        .filter_map(|i| get(i, Tag(0x0008, 0x0100)))
        .collect();
    assert_eq!(codes, ["113100", "113107", "999999"]);
    assert_eq!(
        get(&s.items()[2], Tag(0x0008, 0x0102)).as_deref(),
        Some("UNKNOWN")
    );
    assert_eq!(get(&ds, Tag(0x0012, 0x0062)).as_deref(), Some("YES"));
    let method = get(&ds, Tag(0x0012, 0x0063)).unwrap_or_default();
    assert!(method.starts_with("Deposit t "), "{method}");
    let ds = run(&[
        e("00120064", "113100"),
        e("00120063", "@always()@append{CTP}"),
    ]
    .join("\n"));
    let method = get(&ds, Tag(0x0012, 0x0063)).unwrap_or_default();
    assert!(method.starts_with("CTP\\Deposit t "), "{method}");
}

#[test]
fn directives_and_text_functions() {
    let ds = run(&[
        e("00100010", "@initials(this)"),
        e("00100020", "@param(@UIDROOT)-@hashptid(1000,this,8)"),
        e("00080080", "@truncate(this,-8)"),
        e("00080060", "@lowercase(this)"),
        e("00200010", "@blank(3)"),
        e("00101010", "@round(this,5)"),
        e("00080020", "@incrementdate(this,@DATEINC)"),
        e("00181030", "@always()@require(Modality,\"x\")"),
        e("00181000", "@always()@empty()"),
        e("00080090", "@always()@if(PatientID,equals,\"12345\"){yes}{no}"),
        e("00080081", "@always()@if(Modality,matches,\"C.\"){m}{n}@if(PatientID,greaterthan,\"999\"){g}{l}@if(StationName,isblank){b}{x}"),
        e("00081010", "@always()@contents(InstitutionName,\"[aeiou]\",\"*\")"),
        e("00321060", "@always()@pathelement(InstitutionName,-1)"),
        e("00400254", "@always()@date(-)T@time(:)"),
        e("0040a123", "@always()Name \\@ @unknownfn(a,b)"),
    ]
    .join("\n"));
    assert_eq!(get(&ds, PNAME).as_deref(), Some("JQD"));
    let h: String = md5_decimal("[1000]12345").chars().take(8).collect();
    assert_eq!(get(&ds, PID), Some(format!("1.2.9-{h}")));
    assert_eq!(get(&ds, Tag(0x0008, 0x0080)).as_deref(), Some("Hospital"));
    assert_eq!(get(&ds, Tag(0x0008, 0x0060)).as_deref(), Some("ct"));
    assert_eq!(
        ds.get(Tag(0x0020, 0x0010)).map(|e| match e.value() {
            Value::Primitive(PrimitiveValue::Str(s)) => s.len(),
            _ => 0,
        }),
        Some(3)
    );
    assert_eq!(get(&ds, Tag(0x0010, 0x1010)).as_deref(), Some("045Y"));
    assert_eq!(get(&ds, Tag(0x0008, 0x0020)).as_deref(), Some("20200220"));
    assert_eq!(get(&ds, Tag(0x0018, 0x1030)).as_deref(), Some("CT"));
    assert_eq!(get(&ds, Tag(0x0018, 0x1000)).as_deref(), Some(""));
    assert_eq!(get(&ds, Tag(0x0008, 0x0090)).as_deref(), Some("yes"));
    assert_eq!(get(&ds, Tag(0x0008, 0x0081)).as_deref(), Some("mgb"));
    assert_eq!(
        get(&ds, Tag(0x0008, 0x1010)).as_deref(),
        Some("G*n*r*l H*sp*t*l")
    );
    assert_eq!(
        get(&ds, Tag(0x0040, 0x0254)).as_deref(),
        Some("2023-11-14T22:13:20")
    );
    assert_eq!(
        get(&ds, Tag(0x0032, 0x1060)).as_deref(),
        Some("General Hospital")
    );
    assert_eq!(
        get(&ds, Tag(0x0040, 0xA123)).as_deref(),
        Some("Name @ @unknownfn(a,b)")
    );
}

#[test]
fn unknown_function_is_recorded_in_the_decisions() {
    let script = "<script>\n<e en=\"T\" t=\"00080060\">x@nosuch(1)</e>\n</script>";
    let d = run_with(script, sample(), None).expect("runs");
    let dec = d
        .decisions
        .iter()
        .find(|d| d.path == "(0008,0060)")
        .expect("decision");
    assert!(
        dec.rule.contains("unknown function @nosuch"),
        "{}",
        dec.rule
    );
}

#[test]
fn hashname_hash_missing_and_modifydate() {
    let ds = run(&[
        e("00100010", "@hashname(this,6,2)"),
        e("00080080", "@hash(OtherPatientIDs)"),
        e("00080020", "@modifydate(this,*,1,1)"),
    ]
    .join("\n"));
    let want: String = md5_decimal("DOEJANE").chars().take(6).collect();
    assert_eq!(get(&ds, PNAME), Some(want));
    assert!(
        ds.get(Tag(0x0008, 0x0080)).is_none(),
        "missing element → @remove()"
    );
    assert_eq!(get(&ds, Tag(0x0008, 0x0020)).as_deref(), Some("20200101"));
}

#[test]
fn hashdate_moves_back_by_the_patient_offset() {
    let ds = run(&e("00080020", "@hashdate(this,PatientID)"));
    let days = eval::hashdate_days("12345");
    assert_eq!(
        get(&ds, Tag(0x0008, 0x0020)),
        eval::increment_date("20200301", -days)
    );
}

#[test]
fn lookup_hits_indirection_actions_and_misses() {
    let t = LookupTable::parse(
        "ptid/12345 = @alias/X\nalias/X = SUBJ-9\nsite/CT = S1\nbase/12345 = 2/20/2020\n",
    )
    .expect("table");
    let script = format!(
        "<script>\n{}\n{}\n{}\n{}\n</script>",
        e("00100020", "@lookup(this,ptid)"),
        e("00080060", "@lookup(this,site)"),
        e("00080080", "@lookup(this,inst,default,\"ANON\")"),
        e("00080020", "@dateinterval(this,base,PatientID)"),
    );
    let d = run_with(&script, sample(), Some(&t)).expect("runs").dataset;
    assert_eq!(get(&d, PID).as_deref(), Some("SUBJ-9"));
    assert_eq!(get(&d, Tag(0x0008, 0x0060)).as_deref(), Some("S1"));
    assert_eq!(get(&d, Tag(0x0008, 0x0080)).as_deref(), Some("ANON"));
    assert_eq!(get(&d, Tag(0x0008, 0x0020)).as_deref(), Some("10"));
    let miss = q(&e("00100010", "@lookup(PatientID,other)"), Some(&t));
    assert_eq!(miss.code, QuarantineCode::LookupMissing);
    assert_eq!(miss.missing_key.as_deref(), Some("other/12345"));
    assert!(!miss.reason.contains("12345"), "{}", miss.reason);
    let no_table = q(&e("00100010", "@lookup(PatientID,ptid)"), None);
    assert_eq!(no_table.code, QuarantineCode::LookupMissing);
    for (action, want) in [
        ("keep", Some("Doe^Jane^Q")),
        ("remove", None),
        ("empty", Some("")),
    ] {
        let script = format!(
            "<script>{}</script>",
            e("00100010", &format!("@lookup(PatientID,other,{action})"))
        );
        let d = run_with(&script, sample(), Some(&t)).expect("runs").dataset;
        assert_eq!(get(&d, PNAME).as_deref(), want, "{action}");
    }
    let script = format!(
        "<script>{}</script>",
        e("00100020", "@lookup(this,other,ignore,\"[0-9]+\")")
    );
    let d = run_with(&script, sample(), Some(&t)).expect("runs").dataset;
    assert_eq!(get(&d, PID).as_deref(), Some("12345"));
}

#[test]
fn integer_numbers_values_in_order() {
    let script = format!(
        "<script>{}{}</script>",
        e("00100020", "@integer(this,ptid,4)"),
        e("00100010", "@integer(PatientID,ptid,4)")
    );
    let d = run_with(&script, sample(), None).expect("runs").dataset;
    assert_eq!(get(&d, PID).as_deref(), Some("0001"));
    assert_eq!(get(&d, PNAME).as_deref(), Some("0001"));
    let store = MemoryIntegers::default();
    assert_eq!(store.get_or_assign("k", "a"), Ok(1));
    assert_eq!(store.get_or_assign("k", "b"), Ok(2));
    assert_eq!(store.get_or_assign("k", "a"), Ok(1));
    assert_eq!(store.get_or_assign("j", "a"), Ok(1));
}

#[test]
fn skip_quarantine_unsupported_and_errors_fail_closed() {
    let s = q(&e("00080060", "@skip()"), None);
    assert_eq!(s.code, QuarantineCode::CtpSkip);
    assert!(s.reason.contains("@skip()") && s.reason.contains("(0008,0060)"));
    let s = q(
        &e(
            "00080060",
            "@if(Modality,contains,\"ct\"){@quarantine()}{@keep()}",
        ),
        None,
    );
    assert_eq!(s.code, QuarantineCode::CtpQuarantine);
    let s = q(&e("00100010", "@encrypt(this,\"key\")"), None);
    assert_eq!(s.code, QuarantineCode::CtpError);
    assert!(s.reason.contains("unsupported function"));
    let s = q(&e("00280011", "not a number"), None);
    assert_eq!(s.code, QuarantineCode::CtpError);
    let s = q(&e("00100010", "@hash(NotAnElement)"), None);
    assert_eq!(s.code, QuarantineCode::CtpError);
}

#[test]
fn date_without_a_clock_fails_closed() {
    let script = format!("<script>{}</script>", e("00080020", "@date()"));
    let profile = Profile::from_ctp_script(&script, std::path::Path::new("x.script")).expect("p");
    let engine = profile.ctp.clone().expect("ctp");
    let r = super::deidentify(
        sample(),
        "1.2.840.10008.1.2.1",
        &profile,
        &engine,
        &Keys::new([1; 32]),
        Context::default(),
    );
    assert_eq!(
        r.map(|_| ()).map_err(|q| q.code),
        Err(QuarantineCode::CtpError)
    );
}

#[test]
fn burned_in_risk_still_quarantines_and_folder_names_are_new_ids() {
    let mut ds = sample();
    ds.put(el(Tag(0x0028, 0x0301), VR::CS, "YES"));
    ds.put(DataElement::new(
        Tag(0x7FE0, 0x0010),
        VR::OW,
        PrimitiveValue::from(vec![0u8; 8]),
    ));
    let r = run_with("<script></script>", ds, None).expect_err("held");
    assert_eq!(r.code, QuarantineCode::NeedsPixelReview);
    // A script that keeps the patient ID: the folder is a keyed pseudonym, not the ID.
    let d = run_with("<script></script>", sample(), None).expect("runs");
    assert!(!d.relative_path.to_string_lossy().contains("12345"));
    assert_eq!(
        get(&d.dataset, PID).as_deref(),
        Some("12345"),
        "faithful: kept"
    );
}

#[test]
fn identity_ignores_layout_comments_and_disabled_rules() {
    let a = Script::parse("<script><e en=\"T\" t=\"00100010\">@empty()</e></script>").expect("a");
    let b = Script::parse(
        "<script>\n <!-- c -->\n <e en=\"F\" t=\"00100020\">@keep()</e>\n <e t=\"00100010\" n=\"x\">@empty()</e>\n</script>\n",
    )
    .expect("b");
    let c = Script::parse("set.[0010,0010]PatientName=@empty()\n").expect("c");
    assert_eq!(a.sha256(), b.sha256());
    assert_eq!(a.sha256(), c.sha256());
    let d = Script::parse("<script><e t=\"00100010\">@remove()</e></script>").expect("d");
    assert_ne!(a.sha256(), d.sha256());
    assert!(looks_like_script("<script/>"));
    assert!(looks_like_script("set.[0010,0010]x=@empty()"));
    assert!(!looks_like_script("name = \"x\"\nkind = \"profile\"\n"));
}

#[test]
fn un_encoded_text_attributes_are_read_and_written_as_text() {
    let mut ds = sample();
    ds.put(DataElement::new(
        Tag(0x0008, 0x0050),
        VR::UN,
        PrimitiveValue::from(b"ACC123".to_vec()),
    ));
    let d = run_with(
        &format!("<script>{}</script>", e("00080050", "@hash(this,6)")),
        ds,
        None,
    )
    .expect("runs")
    .dataset;
    let a = d.get(Tag(0x0008, 0x0050)).expect("accession");
    assert_eq!(a.vr(), VR::SH);
    let want: String = md5_decimal("ACC123").chars().take(6).collect();
    assert_eq!(names::text_of(a), want);
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary script text never panics the loader.
        #[test]
        fn loader_never_panics(text in "[<>a-z/=\"@(){}\\[\\],.0-9 \n\\\\-]{0,120}") {
            let _ = Script::parse(&text);
            let _ = Script::parse(&format!("<script><e t=\"00100010\">{text}</e></script>"));
            let _ = parse::parse_properties(&text);
            let _ = filter::Filter::parse(&text);
            let _ = pixel::PixelScript::parse(&text);
        }

        /// Arbitrary rule texts built from real functions and odd arguments either run or
        /// quarantine; they never panic.
        #[test]
        fn rules_never_panic(
            f in prop::sample::select(eval::FUNCTIONS.to_vec()),
            a in "(this|PatientID|StudyDate|PatientAge|[0-9-]{1,22}|\"[a-z.*+]{0,4}\"|@UIDROOT|X|[(]0010,0020[)]|0009\\[ACME\\]01)",
            b in "(-?[0-9]{1,20}|ptid|\"[a-z(]{0,3}\"|isblank|matches|greaterthan|this|\\*)",
            c in prop::sample::select(vec!["", ",3", ",-2", ",keep", ",default,\"x\"", ",ignore,\"(\"", ",UC"]),
        ) {
            let body = format!("@{f}({a},{b}{c}){{x}}{{y}}");
            let script = format!("<script>\n<p t=\"UIDROOT\">1.2</p>\n<e t=\"00100010\">{body}</e>\n<e t=\"00100020\">@always(){body}</e>\n</script>");
            if Script::parse(&script).is_ok() {
                let _ = run_with(&script, sample(), None);
            }
        }
    }
}

#[test]
fn incrementdate_takes_the_patients_offset_from_the_lookup_table() {
    // The way CTP sites keep per-patient offsets: `dateinc/<PatientID> = days to add`.
    let t = LookupTable::parse("dateinc/12345 = -400\n").expect("table");
    let script = format!(
        "<script>\n{}\n</script>",
        e("00080020", "@incrementdate(this,PatientID,dateinc)")
    );
    let d = run_with(&script, sample(), Some(&t)).expect("runs").dataset;
    assert_eq!(get(&d, Tag(0x0008, 0x0020)).as_deref(), Some("20190126"));
    let other = LookupTable::parse("dateinc/999 = -400\n").expect("table");
    let miss = run_with(&script, sample(), Some(&other)).expect_err("quarantined");
    assert_eq!(miss.code, QuarantineCode::LookupMissing);
    assert_eq!(miss.missing_key.as_deref(), Some("dateinc/12345"));
}

#[test]
fn curves_flag_only_lifts_protection_as_ctp_does() {
    let mut ds = sample();
    ds.put(el(Tag(0x5000, 0x0022), VR::LO, "curve label"));
    let with = |extra: &str| {
        let script = format!(
            "<script>\n<r en=\"T\" t=\"curves\">r</r>\n<r en=\"T\" t=\"overlays\">r</r>\n{extra}\n</script>"
        );
        run_with(&script, ds.clone(), None).expect("runs").dataset
    };
    let kept = with("");
    assert!(kept.get(Tag(0x5000, 0x0022)).is_some(), "CTP writes curves");
    assert!(kept.get(Tag(0x6000, 0x0022)).is_none(), "overlays removed");
    let unprotected = with("<r en=\"T\" t=\"unspecifiedelements\">r</r>");
    assert!(
        unprotected.get(Tag(0x5000, 0x0022)).is_none(),
        "no longer protected from the removal of unspecified elements"
    );
    let protected = run_with(
        "<script>\n<r en=\"T\" t=\"unspecifiedelements\">r</r>\n</script>",
        ds.clone(),
        None,
    )
    .expect("runs")
    .dataset;
    assert!(protected.get(Tag(0x5000, 0x0022)).is_some());
}

#[test]
fn empty_person_name_is_one_space_and_hash_ignores_trailing_components() {
    let mut ds = sample();
    ds.put(el(PNAME, VR::PN, "Doe^Jane^Q^^"));
    ds.put(el(Tag(0x0008, 0x0090), VR::PN, "Smith^A"));
    ds.put(DataElement::new(
        Tag(0x0010, 0x0000),
        VR::UL,
        PrimitiveValue::from(1234u32),
    ));
    let d = run_with(
        &format!(
            "<script>{}{}</script>",
            e("00100010", "@hash(this,10)"),
            e("00080090", "@empty()")
        ),
        ds,
        None,
    )
    .expect("runs")
    .dataset;
    let want: String = md5_decimal("Doe^Jane^Q").chars().take(10).collect();
    assert_eq!(get(&d, PNAME), Some(want), "hashed as CTP reads the name");
    let empty = d.get(Tag(0x0008, 0x0090)).expect("kept, emptied");
    assert_eq!(
        empty
            .value()
            .primitive()
            .map(|p| p.to_raw_str().into_owned()),
        Some(" ".to_string()),
        "one space, as CTP writes"
    );
    assert!(d.get(Tag(0x0010, 0x0000)).is_none(), "group length dropped");
}
