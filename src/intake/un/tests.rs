//! Unit tests of UN decoding: sequences with nested UN, text, dates and UIDs, values that do not decode, bombs.

use super::*;
use dicom_core::smallvec::smallvec;

/// One implicit VR little endian element.
fn imp(group: u16, element: u16, value: &[u8]) -> Vec<u8> {
    let mut v = implicit_header(Tag(group, element), value.len() as u32).to_vec();
    v.extend_from_slice(value);
    v
}

/// One defined-length item holding `content`.
fn item(content: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFE, 0xFF, 0x00, 0xE0];
    v.extend_from_slice(&(content.len() as u32).to_le_bytes());
    v.extend_from_slice(content);
    v
}

fn un(tag: Tag, value: Vec<u8>) -> InMemElement {
    DataElement::new(tag, VR::UN, PrimitiveValue::U8(value.into()))
}

fn text(ds: &InMemDicomObject, tag: Tag) -> String {
    ds.get(tag)
        .and_then(|e| e.value().to_str().ok().map(|s| s.into_owned()))
        .unwrap_or_default()
        .trim_end_matches(['\0', ' '])
        .to_string()
}

fn items(ds: &InMemDicomObject, tag: Tag) -> Vec<InMemDicomObject> {
    match ds.get(tag).map(|e| e.value()) {
        Some(Value::Sequence(s)) => s.items().to_vec(),
        _ => Vec::new(),
    }
}

const REF_IMAGE: Tag = Tag(0x0008, 0x1140);
const REF_SOP_CLASS: Tag = Tag(0x0008, 0x1150);
const REF_SOP_INSTANCE: Tag = Tag(0x0008, 0x1155);
const PATIENT_NAME: Tag = Tag(0x0010, 0x0010);

#[test]
fn a_un_sequence_is_read_with_its_items_and_the_un_nested_inside() {
    // Referenced Image Sequence as UN: one item with two UIDs, a private creator and a private
    // sequence (itself a UN in implicit VR) holding a name.
    let private_seq = item(&imp(0x0010, 0x0010, b"Doe^Jane"));
    let mut content = imp(0x0008, 0x1150, b"1.2.840.10008.5.1.4.1.1.2\0");
    content.extend(imp(0x0008, 0x1155, b"1.2.3.4.5.6\0"));
    content.extend(imp(0x0009, 0x0010, b"ACME"));
    content.extend(imp(0x0009, 0x1001, &private_seq));
    let mut ds = InMemDicomObject::new_empty();
    ds.put(un(REF_IMAGE, item(&content)));
    // and a real sequence whose item holds a UN name
    let mut inner = InMemDicomObject::new_empty();
    inner.put(un(PATIENT_NAME, b"Roe^Richard".to_vec()));
    ds.put(DataElement::new(
        Tag(0x0008, 0x1115),
        VR::SQ,
        Value::Sequence(DataSetSequence::new(vec![inner], Length::UNDEFINED)),
    ));

    let s = decode(&mut ds);
    assert_eq!(
        s,
        Summary {
            decoded: 3,
            left: 0
        }
    );
    assert_eq!(ds.get(REF_IMAGE).map(|e| e.vr()), Some(VR::SQ));
    let refs = items(&ds, REF_IMAGE);
    assert_eq!(refs.len(), 1);
    assert_eq!(text(&refs[0], REF_SOP_INSTANCE), "1.2.3.4.5.6");
    assert_eq!(refs[0].get(REF_SOP_INSTANCE).map(|e| e.vr()), Some(VR::UI));
    assert_eq!(text(&refs[0], REF_SOP_CLASS), "1.2.840.10008.5.1.4.1.1.2");
    // the private sequence: decoded as implicit VR, its content read with real VRs
    let private = items(&refs[0], Tag(0x0009, 0x1001));
    assert_eq!(private.len(), 1);
    assert_eq!(private[0].get(PATIENT_NAME).map(|e| e.vr()), Some(VR::PN));
    assert_eq!(text(&private[0], PATIENT_NAME), "Doe^Jane");
    let nested = items(&ds, Tag(0x0008, 0x1115));
    assert_eq!(nested[0].get(PATIENT_NAME).map(|e| e.vr()), Some(VR::PN));
    assert_eq!(text(&nested[0], PATIENT_NAME), "Roe^Richard");
}

#[test]
fn un_text_dates_uids_and_numbers_get_their_dictionary_vr() {
    let mut ds = InMemDicomObject::new_empty();
    ds.put(un(PATIENT_NAME, b"Doe^John".to_vec()));
    ds.put(un(Tag(0x0008, 0x0020), b"20200131".to_vec()));
    ds.put(un(Tag(0x0020, 0x000D), b"1.2.3.44\0".to_vec()));
    ds.put(un(Tag(0x0028, 0x0010), 512u16.to_le_bytes().to_vec()));
    let s = decode(&mut ds);
    assert_eq!(s.decoded, 4);
    let vr = |t: Tag| ds.get(t).map(|e| e.vr());
    assert_eq!(vr(PATIENT_NAME), Some(VR::PN));
    assert_eq!(vr(Tag(0x0008, 0x0020)), Some(VR::DA));
    assert_eq!(vr(Tag(0x0020, 0x000D)), Some(VR::UI));
    assert_eq!(vr(Tag(0x0028, 0x0010)), Some(VR::US));
    assert_eq!(text(&ds, PATIENT_NAME), "Doe^John");
    assert_eq!(text(&ds, Tag(0x0008, 0x0020)), "20200131");
    assert_eq!(text(&ds, Tag(0x0020, 0x000D)), "1.2.3.44");
    assert_eq!(
        ds.get(Tag(0x0028, 0x0010))
            .and_then(|e| e.to_int::<u16>().ok()),
        Some(512)
    );
}

#[test]
fn a_un_character_set_is_decoded_and_used_for_text() {
    let name = "Müller^Zoë";
    let mut ds = InMemDicomObject::new_empty();
    ds.put(un(Tag(0x0008, 0x0005), b"ISO_IR 192".to_vec()));
    // what the reader made of UTF-8 bytes under the default repertoire (ISO 8859-1)
    let as_read: String = name.bytes().map(char::from).collect();
    ds.put(DataElement::new(
        PATIENT_NAME,
        VR::PN,
        PrimitiveValue::from(as_read),
    ));
    ds.put(un(Tag(0x0010, 0x1001), name.as_bytes().to_vec()));
    decode(&mut ds);
    assert_eq!(ds.get(Tag(0x0008, 0x0005)).map(|e| e.vr()), Some(VR::CS));
    assert_eq!(text(&ds, Tag(0x0008, 0x0005)), "ISO_IR 192");
    assert_eq!(text(&ds, PATIENT_NAME), name);
    assert_eq!(text(&ds, Tag(0x0010, 0x1001)), name);
}

#[test]
fn what_does_not_decode_stays_un() {
    use dicom_core::dictionary::DataDictionary as _;
    let unknown = Tag(0x0032, 0x9998);
    assert!(StandardDataDictionary.by_tag(unknown).is_none());
    let mut ds = InMemDicomObject::new_empty();
    // an item claiming more bytes than the value holds
    let mut bad = vec![0xFE, 0xFF, 0x00, 0xE0, 0xF0, 0xFF, 0xFF, 0x7F];
    bad.extend_from_slice(b"Doe^John");
    ds.put(un(REF_IMAGE, bad.clone()));
    // not items at all
    ds.put(un(Tag(0x0008, 0x1111), b"Doe^John".to_vec()));
    ds.put(un(unknown, b"Doe^John".to_vec()));
    // a private value that is not a sequence, and a private creator
    ds.put(un(Tag(0x0009, 0x0010), b"ACME".to_vec()));
    ds.put(un(Tag(0x0009, 0x1002), b"Doe^John".to_vec()));
    let s = decode(&mut ds);
    // (the creator is read as LO)
    assert_eq!(
        s,
        Summary {
            decoded: 1,
            left: 4
        }
    );
    assert_eq!(ds.get(Tag(0x0009, 0x0010)).map(|e| e.vr()), Some(VR::LO));
    assert_eq!(text(&ds, Tag(0x0009, 0x0010)), "ACME");
    for t in [REF_IMAGE, Tag(0x0008, 0x1111), unknown, Tag(0x0009, 0x1002)] {
        assert_eq!(ds.get(t).map(|e| e.vr()), Some(VR::UN), "{t}");
    }
    assert_eq!(
        ds.get(REF_IMAGE)
            .and_then(|e| e.value().to_bytes().ok().map(|b| b.into_owned())),
        Some(bad)
    );
}

/// `levels` Referenced Image Sequences nested in implicit VR, undefined lengths.
fn nested(levels: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..levels {
        v.extend_from_slice(&[0x08, 0x00, 0x40, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
        v.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    for _ in 0..levels {
        v.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        v.extend_from_slice(&SEQUENCE_END);
    }
    v
}

/// A UN Referenced Image Sequence whose one item holds `levels` nested sequences.
fn un_nest(levels: usize) -> InMemElement {
    let mut content = vec![0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF];
    content.extend(nested(levels));
    content.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    un(REF_IMAGE, content)
}

#[test]
fn nesting_inside_un_counts_against_the_cap() {
    let cap = bounded::MAX_DEPTH;
    // the UN element itself is one level: cap - 1 more fit, at top level
    let mut ok = InMemDicomObject::new_empty();
    ok.put(un_nest(cap - 1));
    assert_eq!(decode(&mut ok).left, 0);
    assert_eq!(ok.get(REF_IMAGE).map(|e| e.vr()), Some(VR::SQ));
    for levels in [cap, 100_000] {
        let mut bomb = InMemDicomObject::new_empty();
        bomb.put(un_nest(levels));
        assert_eq!(
            decode(&mut bomb),
            Summary {
                decoded: 0,
                left: 1
            }
        );
        assert_eq!(bomb.get(REF_IMAGE).map(|e| e.vr()), Some(VR::UN));
    }
    // the levels above the UN element count too: two real sequences above leave cap - 3
    let wrap = |e: InMemElement| {
        let mut item = InMemDicomObject::new_empty();
        item.put(e);
        DataElement::new(
            Tag(0x0008, 0x1115),
            VR::SQ,
            Value::Sequence(DataSetSequence::new(vec![item], Length::UNDEFINED)),
        )
    };
    for (levels, decodes) in [(cap - 3, true), (cap - 2, false)] {
        let mut ds = InMemDicomObject::new_empty();
        ds.put(wrap(wrap(un_nest(levels))));
        assert_eq!(decode(&mut ds).decoded == 1, decodes, "{levels}");
    }
}

#[test]
fn the_bytes_read_are_budgeted() {
    let mut ds = InMemDicomObject::new_empty();
    ds.put(un(PATIENT_NAME, b"Doe^John".to_vec()));
    assert_eq!(decode_within(&mut ds, 8).left, 1);
    assert_eq!(decode_within(&mut ds, 16).decoded, 1);
}

#[test]
fn an_object_without_un_is_left_as_it_is() {
    let mut item = InMemDicomObject::new_empty();
    item.put(DataElement::new(
        REF_SOP_INSTANCE,
        VR::UI,
        PrimitiveValue::Strs(smallvec!["1.2.3".to_string()]),
    ));
    let mut ds = InMemDicomObject::new_empty();
    ds.put(DataElement::new(
        REF_IMAGE,
        VR::SQ,
        Value::Sequence(DataSetSequence::new(vec![item], Length(20))),
    ));
    let before = ds.clone();
    assert_eq!(decode(&mut ds), Summary::default());
    assert_eq!(ds, before);
    assert_eq!(ds.get(REF_IMAGE).map(|e| e.header().len), Some(Length(20)));
}

/// A Part-10 file (explicit VR little endian) of `ds`.
fn part10(ds: InMemDicomObject) -> Vec<u8> {
    let mut ds = ds;
    ds.put(DataElement::new(
        Tag(0x0008, 0x0016),
        VR::UI,
        PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.2"),
    ));
    ds.put(DataElement::new(
        Tag(0x0008, 0x0018),
        VR::UI,
        PrimitiveValue::from("1.2.3.4"),
    ));
    let obj = ds
        .with_meta(
            dicom_object::meta::FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"),
        )
        .expect("meta");
    let mut out = Vec::new();
    obj.write_all(&mut out).expect("write");
    out
}

#[test]
fn every_full_open_decodes() {
    let mut ds = InMemDicomObject::new_empty();
    let mut refs = imp(0x0008, 0x1150, b"1.2.840.10008.5.1.4.1.1.2\0");
    refs.extend(imp(0x0008, 0x1155, b"1.2.3.4.5.6\0"));
    ds.put(un(REF_IMAGE, item(&refs)));
    ds.put(un(PATIENT_NAME, b"Doe^John".to_vec()));
    let bytes = part10(ds);
    let opened = [
        super::super::open_bytes(&bytes).expect("open_bytes"),
        super::super::open_split(&bytes).expect("open_split").object,
    ];
    for obj in opened {
        assert_eq!(obj.get(PATIENT_NAME).map(|e| e.vr()), Some(VR::PN));
        let refs = items(&obj, REF_IMAGE);
        assert_eq!(text(&refs[0], REF_SOP_INSTANCE), "1.2.3.4.5.6");
    }
}

#[test]
fn an_undefined_length_un_in_an_explicit_file_is_not_passed_on() {
    // (0008,1140) UN, undefined length, implicit VR items: dicom-rs reads it as a sequence in
    // the file's explicit VR, which these items are not
    let mut refs = imp(0x0008, 0x1150, b"1.2.840.10008.5.1.4.1.1.2\0");
    refs.extend(imp(0x0010, 0x0010, b"Doe^John"));
    let mut value = vec![0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF];
    value.extend(refs);
    value.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    value.extend_from_slice(&SEQUENCE_END);
    let mut bytes = part10(InMemDicomObject::new_empty());
    bytes.extend_from_slice(&[
        0x08, 0x00, 0x40, 0x11, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    bytes.extend(value);
    // the implicit lengths read as explicit ones claim more than the file holds: held as
    // unreadable by the guard, before the reader allocates anything
    assert_eq!(
        super::super::open_bytes(&bytes).err(),
        Some(super::super::SkipReason::Truncated)
    );
}

#[test]
fn a_value_too_long_for_its_vr_stays_un() {
    // Contour Data (DS, 16-bit explicit length) of 70,000 bytes: why its writer chose UN
    let mut long = "1.5\\".repeat(17_500);
    long.truncate(69_999);
    long.push(' ');
    let contour = Tag(0x3006, 0x0050);
    let mut ds = InMemDicomObject::new_empty();
    ds.put(un(contour, long.clone().into_bytes()));
    // and inside a UN sequence, where it is read with the item
    ds.put(un(
        Tag(0x3006, 0x0040),
        item(&imp(0x3006, 0x0050, long.as_bytes())),
    ));
    let s = decode(&mut ds);
    assert_eq!(ds.get(contour).map(|e| e.vr()), Some(VR::UN));
    let inner = items(&ds, Tag(0x3006, 0x0040));
    assert_eq!(inner[0].get(contour).map(|e| e.vr()), Some(VR::UN));
    assert_eq!(
        inner[0]
            .get(contour)
            .and_then(|e| e.value().to_bytes().ok().map(|b| b.len())),
        Some(70_000)
    );
    assert_eq!(
        s,
        Summary {
            decoded: 1,
            left: 2
        }
    );
    // both can be written
    let mut out = Vec::new();
    ds.write_dataset_with_ts(
        &mut out,
        TransferSyntaxRegistry
            .get("1.2.840.10008.1.2.1")
            .expect("explicit"),
    )
    .expect("writes");
}
