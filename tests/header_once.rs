//! A large file's header is checked and built in one pass over its first bytes: the object is
//! the one the DICOM reader builds from the whole file, less its Pixel Data, on every real
//! sample file that takes that path.

use deposit::intake::{open_bytes, open_for_deid, Pixels};
use dicom_core::header::{HasLength as _, Header as _};
use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::support;

/// Where two data sets differ: elements, VRs, value lengths as read, values, items (an
/// undefined length equals another here, which `==` on lengths does not say).
fn difference(a: &InMemDicomObject, b: &InMemDicomObject, at: &str) -> Option<String> {
    let (ta, tb): (Vec<_>, Vec<_>) = (a.tags().collect(), b.tags().collect());
    if ta != tb {
        return Some(format!("{at}: elements {ta:?} vs {tb:?}"));
    }
    for (x, y) in a.iter().zip(b.iter()) {
        let here = format!("{at}{:?}", x.tag());
        if x.vr() != y.vr() || !x.length().inner_eq(y.length()) {
            return Some(format!(
                "{here}: header {:?} vs {:?}",
                x.header(),
                y.header()
            ));
        }
        match (x.value(), y.value()) {
            (Value::Sequence(s), Value::Sequence(t)) => {
                if s.items().len() != t.items().len() || !s.length().inner_eq(t.length()) {
                    return Some(format!("{here}: sequence length or items differ"));
                }
                for (i, (p, q)) in s.items().iter().zip(t.items()).enumerate() {
                    if let Some(d) = difference(p, q, &format!("{here}[{i}].")) {
                        return Some(d);
                    }
                }
            }
            (Value::Primitive(p), Value::Primitive(q)) if p == q => {}
            _ => return Some(format!("{here}: values differ")),
        }
    }
    None
}

#[test]
fn the_one_pass_header_is_the_readers_object_on_every_sample() {
    let root = support::samples();
    assert!(
        root.is_dir(),
        "no sample corpus at {} (tests/data/fetch-samples.sh)",
        root.display()
    );
    let mut compared = 0;
    let mut nested = 0;
    for entry in walkdir::WalkDir::new(&root).into_iter().flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let Ok((object, Pixels::InFile { .. }, _)) = open_for_deid(path) else {
            continue;
        };
        let bytes = std::fs::read(path).expect("read");
        let mut whole = open_bytes(&bytes).expect("the whole file reads too");
        assert!(whole.remove_element(tags::PIXEL_DATA), "{}", path.display());
        let (m1, m2) = (object.meta(), whole.meta());
        assert_eq!(
            (
                m1.media_storage_sop_class_uid(),
                m1.media_storage_sop_instance_uid(),
                m1.transfer_syntax()
            ),
            (
                m2.media_storage_sop_class_uid(),
                m2.media_storage_sop_instance_uid(),
                m2.transfer_syntax()
            ),
            "{}",
            path.display()
        );
        let (a, b) = (object.into_inner(), whole.into_inner());
        if let Some(d) = difference(&a, &b, "") {
            panic!("{}: {d}", path.display());
        }
        if a.iter().any(|e| matches!(e.value(), Value::Sequence(_))) {
            nested += 1;
        }
        compared += 1;
    }
    // the corpus has dozens of such files: a walk that found none proves nothing
    assert!(compared >= 20, "only {compared} files compared");
    assert!(nested >= 5, "only {nested} with sequences");
}
