//! The attributes of one data set as the profile change check compares them: every element by
//! its tag path (items of a sequence merged under one path, `(0008,1115)/(0020,000E)`), with a
//! digest of its values — never the values themselves — and whether they are all empty.

use std::collections::BTreeMap;

use dicom_core::dictionary::DataDictionary;
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_object::InMemDicomObject;
use sha2::{Digest, Sha256};

/// Nesting beyond this is not walked (intake already refuses more than 64 levels).
const MAX_DEPTH: usize = 64;

/// One attribute path of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// The last tag of the path, "(gggg,eeee)".
    pub tag: String,
    /// Dictionary keywords along the path, '/'-joined (tag text where there is none).
    pub keyword: String,
    /// Value representation of the last element.
    pub vr: VR,
    /// SHA-256 over every value at this path, in order (items merged).
    pub digest: [u8; 32],
    /// Every value at this path is empty.
    pub empty: bool,
}

/// Attributes by path.
pub type Attrs = BTreeMap<String, Attr>;

struct Acc {
    tag: String,
    keyword: String,
    vr: VR,
    hash: Sha256,
    empty: bool,
}

fn tag_text(t: Tag) -> String {
    format!("({:04X},{:04X})", t.group(), t.element())
}

fn keyword(t: Tag) -> String {
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(t)
        .map(|e| e.alias.to_string())
        .unwrap_or_else(|| tag_text(t))
}

/// The digest [`Attr::digest`] has for one value `bytes` (padding already trimmed).
pub fn value_digest(bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
    h.finalize().into()
}

/// The attributes of `ds` (file meta excluded: it is regenerated on every output).
pub fn attributes(ds: &InMemDicomObject) -> Attrs {
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    walk(ds, "", "", 0, &mut acc);
    acc.into_iter()
        .map(|(path, a)| {
            (
                path,
                Attr {
                    tag: a.tag,
                    keyword: a.keyword,
                    vr: a.vr,
                    digest: a.hash.finalize().into(),
                    empty: a.empty,
                },
            )
        })
        .collect()
}

fn walk(
    ds: &InMemDicomObject,
    prefix: &str,
    kw_prefix: &str,
    depth: usize,
    acc: &mut BTreeMap<String, Acc>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for e in ds.iter() {
        let tag = e.header().tag;
        let path = format!("{prefix}{}", tag_text(tag));
        let kw = format!("{kw_prefix}{}", keyword(tag));
        let a = acc.entry(path.clone()).or_insert_with(|| Acc {
            tag: tag_text(tag),
            keyword: kw.clone(),
            vr: e.vr(),
            hash: Sha256::new(),
            empty: true,
        });
        match e.value() {
            Value::Primitive(p) => {
                let bytes = p.to_bytes();
                // text values compare without their padding
                let trimmed: &[u8] = match e.vr() {
                    VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN => &bytes,
                    _ => {
                        let end = bytes
                            .iter()
                            .rposition(|b| *b != 0 && *b != b' ')
                            .map_or(0, |i| i + 1);
                        bytes.get(..end).unwrap_or_default()
                    }
                };
                a.empty &= trimmed.is_empty();
                a.hash.update((trimmed.len() as u64).to_le_bytes());
                a.hash.update(trimmed);
            }
            Value::PixelSequence(ps) => {
                for f in ps.fragments() {
                    a.empty &= f.is_empty();
                    a.hash.update((f.len() as u64).to_le_bytes());
                    a.hash.update(f);
                }
            }
            Value::Sequence(s) => {
                a.empty &= s.items().is_empty();
                a.hash.update((s.items().len() as u64).to_le_bytes());
                let inner = format!("{path}/");
                let inner_kw = format!("{kw}/");
                for item in s.items() {
                    walk(item, &inner, &inner_kw, depth + 1, acc);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue};
    use dicom_dictionary_std::tags;

    fn item(uid: &str) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([DataElement::new(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(uid),
        )])
    }

    #[test]
    fn nested_items_merge_under_one_path_and_padding_does_not_count() {
        let ds = InMemDicomObject::from_element_iter([
            DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from("ABC ")),
            DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from("")),
            DataElement::new(
                tags::REFERENCED_IMAGE_SEQUENCE,
                VR::SQ,
                dicom_core::value::DataSetSequence::from(vec![item("1.2"), item("1.3")]),
            ),
        ]);
        let a = attributes(&ds);
        assert_eq!(a.len(), 4, "{:?}", a.keys().collect::<Vec<_>>());
        let nested = a.get("(0008,1140)/(0008,1155)").expect("nested path");
        assert_eq!(
            nested.keyword,
            "ReferencedImageSequence/ReferencedSOPInstanceUID"
        );
        assert!(a.get("(0010,0010)").expect("name").empty);
        let padded = InMemDicomObject::from_element_iter([DataElement::new(
            tags::PATIENT_ID,
            VR::LO,
            PrimitiveValue::from("ABC"),
        )]);
        assert_eq!(
            attributes(&padded).get("(0010,0020)").map(|x| x.digest),
            a.get("(0010,0020)").map(|x| x.digest)
        );
        let other = InMemDicomObject::from_element_iter([DataElement::new(
            tags::REFERENCED_IMAGE_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![item("1.3"), item("1.2")]),
        )]);
        assert_ne!(
            attributes(&other)
                .get("(0008,1140)/(0008,1155)")
                .map(|x| x.digest),
            Some(nested.digest),
            "order of items counts"
        );
    }
}
