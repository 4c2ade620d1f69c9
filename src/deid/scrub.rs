//! Cleaning of text kept by a C action (clean descriptors and similar options): every
//! identifying value found in the object's own header is cut out of the text.
//!
//! This catches a patient's name, IDs, dates, accession number or institution repeated inside
//! a description. It cannot catch identity that appears nowhere else in the header; that is
//! why the strict basic profile removes these attributes instead.

use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_object::InMemDicomObject;

/// Identifying values of one object, ready to be cut out of free text.
#[derive(Debug, Default, Clone)]
pub struct Scrubber {
    needles: Vec<String>,
}

/// Top-level attributes whose values are identifying wherever they are repeated.
const SOURCES: &[(u16, u16)] = &[
    (0x0010, 0x0020), // Patient ID
    (0x0010, 0x1000), // Other Patient IDs
    (0x0010, 0x1001), // Other Patient Names
    (0x0010, 0x1005), // Patient's Birth Name
    (0x0010, 0x1060), // Mother's Birth Name
    (0x0010, 0x0030), // Patient's Birth Date
    (0x0010, 0x1040), // Patient's Address
    (0x0010, 0x2154), // Telephone Numbers
    (0x0008, 0x0050), // Accession Number
    (0x0008, 0x0080), // Institution Name
    (0x0008, 0x0081), // Institution Address
    (0x0008, 0x1040), // Institutional Department Name
    (0x0008, 0x1010), // Station Name
    (0x0020, 0x0010), // Study ID
    (0x0038, 0x0010), // Admission ID
    (0x0008, 0x0020), // Study Date
    (0x0008, 0x0021), // Series Date
    (0x0008, 0x0022), // Acquisition Date
    (0x0008, 0x0023), // Content Date
];

fn date_forms(d: &str) -> Vec<String> {
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return vec![];
    }
    let (y, m, dd) = (&d[0..4], &d[4..6], &d[6..8]);
    vec![
        d.to_string(),
        format!("{y}-{m}-{dd}"),
        format!("{y}/{m}/{dd}"),
        format!("{y}.{m}.{dd}"),
        format!("{dd}/{m}/{y}"),
        format!("{dd}.{m}.{y}"),
        format!("{dd}-{m}-{y}"),
        format!("{m}/{dd}/{y}"),
    ]
}

impl Scrubber {
    /// Collects identifying values from the top level of `ds` (all person names included).
    pub fn from_dataset(ds: &InMemDicomObject) -> Self {
        let mut values: Vec<String> = Vec::new();
        for e in ds.iter() {
            let listed = SOURCES.contains(&(e.tag().group(), e.tag().element()));
            if !(listed || e.vr() == VR::PN) {
                continue;
            }
            let Ok(s) = e.value().to_str() else { continue };
            for v in s.split('\\') {
                let v = v.trim_matches(['\0', ' ']);
                if v.is_empty() {
                    continue;
                }
                if matches!(e.vr(), VR::DA | VR::DT) && v.len() >= 8 {
                    values.extend(date_forms(&v[..8]));
                    continue;
                }
                values.push(v.to_string());
                if e.vr() == VR::PN || e.tag() == Tag(0x0008, 0x0080) {
                    values.extend(
                        v.split(['^', '=', ' ', ','])
                            .map(str::trim)
                            .filter(|t| t.chars().count() >= 3)
                            .map(str::to_string),
                    );
                }
            }
        }
        values.retain(|v| v.chars().count() >= 3 || v.bytes().all(|b| b.is_ascii_digit()));
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Scrubber {
            needles: values.into_iter().map(|v| v.to_ascii_lowercase()).collect(),
        }
    }

    /// Returns `text` with every identifying value cut out (ASCII case-insensitive).
    pub fn clean(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if n.is_empty() {
                continue;
            }
            loop {
                let lower = out.to_ascii_lowercase();
                let Some(i) = lower.find(n.as_str()) else {
                    break;
                };
                out.replace_range(i..i + n.len(), "");
            }
        }
        let collapsed: Vec<&str> = out.split(' ').filter(|w| !w.is_empty()).collect();
        collapsed.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue};

    #[test]
    fn cuts_names_ids_and_dates_out_of_text() {
        let ds = InMemDicomObject::from_element_iter([
            DataElement::new(
                Tag(0x0010, 0x0010),
                VR::PN,
                PrimitiveValue::from("Doe^Johnathan"),
            ),
            DataElement::new(
                Tag(0x0010, 0x0020),
                VR::LO,
                PrimitiveValue::from("MRN12345"),
            ),
            DataElement::new(
                Tag(0x0008, 0x0020),
                VR::DA,
                PrimitiveValue::from("20240131"),
            ),
        ]);
        let s = Scrubber::from_dataset(&ds);
        let out = s.clean("CT head JOHNATHAN doe mrn12345 on 31/01/2024 and 2024-01-31");
        assert_eq!(out, "CT head on and");
        assert_eq!(s.clean("CHEST PA"), "CHEST PA");
    }
}
