//! Output hygiene: de-identification marks, character set, regenerated file meta and the
//! output path built only from new identifiers.

use std::path::PathBuf;

use dicom_core::header::Header as _;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_encoding::text::SpecificCharacterSet;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileMetaTable, InMemDicomObject};

use super::profile::{DeidOption, Profile, BASIC_PROFILE_CODE};

use crate::implementation::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME};

fn code_item(value: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(Tag(0x0008, 0x0100), VR::SH, PrimitiveValue::from(value)),
        DataElement::new(Tag(0x0008, 0x0102), VR::SH, PrimitiveValue::from("DCM")),
        DataElement::new(Tag(0x0008, 0x0104), VR::LO, PrimitiveValue::from(meaning)),
    ])
}

/// Sets Patient Identity Removed, De-identification Method (+ Code Sequence, CID 7050) and
/// Longitudinal Temporal Information Modified.
pub fn mark(ds: &mut InMemDicomObject, profile: &Profile) {
    ds.put(DataElement::new(
        Tag(0x0012, 0x0062),
        VR::CS,
        PrimitiveValue::from("YES"),
    ));
    let mut method = format!("Deposit {}", profile.label());
    method.truncate(64);
    ds.put(DataElement::new(
        Tag(0x0012, 0x0063),
        VR::LO,
        PrimitiveValue::from(method),
    ));
    let mut items = vec![code_item(BASIC_PROFILE_CODE.0, BASIC_PROFILE_CODE.1)];
    items.extend(
        profile
            .options
            .iter()
            .map(|o| code_item(o.code(), o.meaning())),
    );
    ds.put(DataElement::new(
        Tag(0x0012, 0x0064),
        VR::SQ,
        Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED)),
    ));
    let temporal = if profile
        .options
        .contains(&DeidOption::RetainLongitudinalFullDates)
    {
        "UNMODIFIED"
    } else if profile
        .options
        .contains(&DeidOption::RetainLongitudinalModifiedDates)
    {
        "MODIFIED"
    } else {
        "REMOVED"
    };
    ds.put(DataElement::new(
        Tag(0x0028, 0x0303),
        VR::CS,
        PrimitiveValue::from(temporal),
    ));
}

/// Keeps the character set when it can be written back as is; otherwise (code extensions,
/// several values, unknown terms) declares UTF-8, in which every decoded value can be written.
/// Returns true when the declaration changed.
pub fn settle_charset(ds: &mut InMemDicomObject) -> bool {
    let Some(e) = ds.get(Tag(0x0008, 0x0005)) else {
        return false;
    };
    let value = e
        .value()
        .to_str()
        .map(|s| s.into_owned())
        .unwrap_or_default();
    let terms: Vec<&str> = value
        .trim_matches(['\0', ' '])
        .split('\\')
        .map(|t| t.trim_matches(['\0', ' ']))
        .collect();
    // One term the writer knows is kept; code extensions (several terms) are not.
    let writable = match terms.as_slice() {
        [one] => one.is_empty() || SpecificCharacterSet::from_code(one).is_some(),
        _ => false,
    };
    if writable {
        return false;
    }
    ds.convert_to_utf8();
    true
}

/// Removes every group length element (gggg,0000) at any depth: they are retired, and values
/// copied from the input are wrong once elements are removed or changed. Returns how many went.
pub fn drop_group_lengths(ds: &mut InMemDicomObject) -> usize {
    let lengths: Vec<Tag> = ds
        .iter()
        .map(|e| e.tag())
        .filter(|t| t.element() == 0)
        .collect();
    let mut n = lengths.len();
    for t in lengths {
        ds.remove_element(t);
    }
    let seqs: Vec<Tag> = ds
        .iter()
        .filter(|e| matches!(e.value(), Value::Sequence(_)))
        .map(|e| e.tag())
        .collect();
    for t in seqs {
        let Some(elem) = ds.take(t) else { continue };
        let vr = elem.vr();
        let mut value = elem.into_value();
        if let Value::Sequence(seq) = &mut value {
            for item in seq.items_mut() {
                n += drop_group_lengths(item);
            }
        }
        ds.put(DataElement::new(t, vr, value));
    }
    n
}

fn uid_of(ds: &InMemDicomObject, tag: Tag) -> Option<String> {
    let e = ds.get(tag)?;
    // a UID stored as UN is its bytes (not a list of numbers)
    let text = match (e.vr(), e.value()) {
        (VR::UN, Value::Primitive(p)) => String::from_utf8_lossy(&p.to_bytes()).into_owned(),
        _ => e.value().to_str().ok()?.into_owned(),
    };
    let s = text.trim_matches(['\0', ' ']).to_string();
    (!s.is_empty()).then_some(s)
}

/// A file meta group rebuilt from the de-identified dataset: same transfer syntax, our
/// implementation identity, no source/sending/receiving AE titles, no private information.
pub fn file_meta(ds: &InMemDicomObject, transfer_syntax: &str) -> Option<FileMetaTable> {
    FileMetaTableBuilder::new()
        .transfer_syntax(transfer_syntax)
        .media_storage_sop_class_uid(uid_of(ds, Tag(0x0008, 0x0016))?)
        .media_storage_sop_instance_uid(uid_of(ds, Tag(0x0008, 0x0018))?)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .build()
        .ok()
}

fn path_part(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => "_".into(),
        _ => cleaned,
    }
}

/// `<patient pseudonym>/<study uid>/<series uid>/<sop uid>.dcm`, from the new dataset only.
pub fn output_path(ds: &InMemDicomObject, pseudonym: &str) -> PathBuf {
    let uid = |t| uid_of(ds, t).unwrap_or_else(|| "unknown".into());
    let mut p = PathBuf::from(path_part(pseudonym));
    p.push(path_part(&uid(Tag(0x0020, 0x000D))));
    p.push(path_part(&uid(Tag(0x0020, 0x000E))));
    p.push(format!("{}.dcm", path_part(&uid(Tag(0x0008, 0x0018)))));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_kept_when_writable_else_utf8() {
        let mut ds = InMemDicomObject::from_element_iter([DataElement::new(
            Tag(0x0008, 0x0005),
            VR::CS,
            PrimitiveValue::from("ISO_IR 100"),
        )]);
        assert!(!settle_charset(&mut ds));
        ds.put(DataElement::new(
            Tag(0x0008, 0x0005),
            VR::CS,
            PrimitiveValue::from("\\ISO 2022 IR 87"),
        ));
        assert!(settle_charset(&mut ds));
        let v = ds
            .get(Tag(0x0008, 0x0005))
            .and_then(|e| e.value().to_str().ok().map(|s| s.into_owned()));
        assert_eq!(v.as_deref(), Some("ISO_IR 192"));
    }

    #[test]
    fn group_lengths_go_at_every_depth() {
        let gl = |g: u16| DataElement::new(Tag(g, 0), VR::UL, PrimitiveValue::from(999u32));
        let item = InMemDicomObject::from_element_iter([
            gl(0x0008),
            DataElement::new(Tag(0x0008, 0x1155), VR::UI, PrimitiveValue::from("1.2.3")),
        ]);
        let mut ds = InMemDicomObject::from_element_iter([
            gl(0x0008),
            gl(0x0010),
            DataElement::new(Tag(0x0010, 0x0020), VR::LO, PrimitiveValue::from("X")),
            DataElement::new(
                Tag(0x0008, 0x1140),
                VR::SQ,
                Value::Sequence(DataSetSequence::new(vec![item], Length::UNDEFINED)),
            ),
        ]);
        assert_eq!(drop_group_lengths(&mut ds), 3);
        assert!(ds.get(Tag(0x0008, 0)).is_none() && ds.get(Tag(0x0010, 0)).is_none());
        assert!(ds.get(Tag(0x0010, 0x0020)).is_some());
        let Some(Value::Sequence(s)) = ds.get(Tag(0x0008, 0x1140)).map(|e| e.value()) else {
            panic!("sequence kept");
        };
        assert!(s.items()[0].get(Tag(0x0008, 0)).is_none());
        assert!(s.items()[0].get(Tag(0x0008, 0x1155)).is_some());
    }

    #[test]
    fn output_path_cannot_escape() {
        let ds = InMemDicomObject::new_empty();
        let p = output_path(&ds, "../x/y");
        assert_eq!(p, PathBuf::from(".._x_y/unknown/unknown/unknown.dcm"));
    }
}
