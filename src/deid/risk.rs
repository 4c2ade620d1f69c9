//! Burned-in text risk: which images may carry identity in their pixels and so must not leave
//! without pixel review or a mask rule (fail closed; masking itself lives in `pixels`).

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);
const FLOAT_PIXEL_DATA: Tag = Tag(0x7FE0, 0x0008);
const DOUBLE_PIXEL_DATA: Tag = Tag(0x7FE0, 0x0009);

/// Modalities whose images routinely carry burned-in text (or faces, for XC photographs).
const RISKY_MODALITIES: &[&str] = &["US", "SC", "OT", "XC"];

/// Secondary Capture SOP classes (single- and multi-frame).
const SECONDARY_CAPTURE: &[&str] = &[
    "1.2.840.10008.5.1.4.1.1.7",
    "1.2.840.10008.5.1.4.1.1.7.1",
    "1.2.840.10008.5.1.4.1.1.7.2",
    "1.2.840.10008.5.1.4.1.1.7.3",
    "1.2.840.10008.5.1.4.1.1.7.4",
];

fn text(ds: &InMemDicomObject, tag: Tag) -> String {
    ds.get(tag)
        .and_then(|e| e.value().to_str().ok().map(|s| s.into_owned()))
        .unwrap_or_default()
        .trim_matches(['\0', ' '])
        .to_ascii_uppercase()
}

/// Why this object's pixels may hold burned-in identity, or `None` when nothing suggests it.
/// Objects without pixel data are never at risk here.
pub fn burned_in_risk(ds: &InMemDicomObject) -> Option<String> {
    if ds.get(PIXEL_DATA).is_none()
        && ds.get(FLOAT_PIXEL_DATA).is_none()
        && ds.get(DOUBLE_PIXEL_DATA).is_none()
    {
        return None;
    }
    risk_from_values(&HeaderValues {
        burned_in: &text(ds, Tag(0x0028, 0x0301)),
        modality: &text(ds, Tag(0x0008, 0x0060)),
        sop_class_uid: &text(ds, Tag(0x0008, 0x0016)),
        image_type: &text(ds, Tag(0x0008, 0x0008)),
    })
}

/// The header values of an image that decide its burned-in risk (as stored in the catalog).
#[derive(Debug, Clone, Copy)]
pub struct HeaderValues<'a> {
    /// Burned In Annotation (0028,0301).
    pub burned_in: &'a str,
    /// Modality (0008,0060).
    pub modality: &'a str,
    /// SOP Class UID (0008,0016).
    pub sop_class_uid: &'a str,
    /// Image Type (0008,0008), `\`-joined.
    pub image_type: &'a str,
}

/// Why an image with these header values may hold burned-in identity, or `None`. The same rule
/// as [`burned_in_risk`], for callers that only have the values (e.g. the catalog's studies list).
pub fn risk_from_values(v: &HeaderValues<'_>) -> Option<String> {
    let norm = |s: &str| s.trim_matches(['\0', ' ']).to_ascii_uppercase();
    if norm(v.burned_in) == "YES" {
        return Some("Burned In Annotation is YES".into());
    }
    let modality = norm(v.modality);
    if RISKY_MODALITIES.contains(&modality.as_str()) {
        return Some(format!(
            "modality {modality} images often carry burned-in text"
        ));
    }
    let sop_class = norm(v.sop_class_uid);
    if SECONDARY_CAPTURE.contains(&sop_class.as_str()) {
        return Some("secondary capture images often carry burned-in text".into());
    }
    let image_type = norm(v.image_type);
    if image_type
        .split('\\')
        .any(|v| v.trim() == "SECONDARY" || v.contains("SCREEN") || v.trim() == "CAPTURE")
    {
        return Some("Image Type marks a secondary or screen capture image".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};

    fn image(extra: Vec<(Tag, VR, &str)>) -> InMemDicomObject {
        let mut ds = InMemDicomObject::from_element_iter([DataElement::new(
            PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U8(vec![0u8; 4].into()),
        )]);
        for (t, vr, v) in extra {
            ds.put(DataElement::new(t, vr, PrimitiveValue::from(v)));
        }
        ds
    }

    #[test]
    fn flags_each_risk() {
        let ct = (Tag(0x0008, 0x0060), VR::CS, "CT");
        assert_eq!(burned_in_risk(&image(vec![ct])), None);
        assert!(burned_in_risk(&image(vec![ct, (Tag(0x0028, 0x0301), VR::CS, "YES")])).is_some());
        assert!(burned_in_risk(&image(vec![(Tag(0x0008, 0x0060), VR::CS, "US")])).is_some());
        assert!(burned_in_risk(&image(vec![
            ct,
            (Tag(0x0008, 0x0016), VR::UI, "1.2.840.10008.5.1.4.1.1.7")
        ]))
        .is_some());
        assert!(burned_in_risk(&image(vec![
            ct,
            (Tag(0x0008, 0x0008), VR::CS, "DERIVED\\SECONDARY")
        ]))
        .is_some());
        // No pixels, no risk (e.g. a structured report with modality OT).
        let sr = InMemDicomObject::from_element_iter([DataElement::new(
            Tag(0x0008, 0x0060),
            VR::CS,
            PrimitiveValue::from("OT"),
        )]);
        assert_eq!(burned_in_risk(&sr), None);
    }
}
