//! Coded entries from local coding schemes: their meanings are site free text, so they go.
//!
//! A code item (CodeValue + CodingSchemeDesignator) from a published scheme (PS3.16 Table 8-1:
//! DCM, SCT, LN, SCPECG, RFC3066…) has a published meaning and is kept, as CTP keeps it. A local
//! scheme (`99…`, a RIS's own designator, anything unknown) carries a meaning typed at the site,
//! which can name people or places (`CT chest - Springfield General`); the meaning is replaced by
//! the code value (CodeMeaning is type 1, so it cannot simply disappear). CTP keeps those
//! meanings; Deposit deliberately does not (docs/ctp-differences.md).

use dicom_core::header::Header as _;
use dicom_core::value::Value;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::InMemDicomObject;

use super::{Action, Decision};

const CODE_VALUE: Tag = Tag(0x0008, 0x0100);
const CODING_SCHEME_DESIGNATOR: Tag = Tag(0x0008, 0x0102);
const CODE_MEANING: Tag = Tag(0x0008, 0x0104);

/// Coding schemes whose meanings are published (PS3.16 Table 8-1).
const STANDARD_SCHEMES: &[&str] = &[
    "DCM",
    "SCT",
    "SRT",
    "LN",
    "UCUM",
    "FMA",
    "RADLEX",
    "NCIt",
    "NCIT",
    "ACR",
    "UMLS",
    "I10",
    "I9C",
    "I10P",
    "ICD10",
    "ICD11",
    "MDC",
    "NICIP",
    "CPT4",
    "C4",
    "C5",
    "HPC",
    "BARI",
    "ISO639_1",
    "ISO639_2",
    "ISO3166_1",
    "RFC5646",
    "SNM3",
    "99SDM",
    "DCMUID",
    "ITIS_TSN",
    "PUBCHEM_CID",
    "MSH",
    "NEU",
    "ACR_RADLEX",
    "SNOMED",
    "SCPECG",
    "RFC3066",
    "I9",
    "CD2",
    "MDNS",
    "NCDR",
    "NYUMCCG",
    "UPC",
    "POS",
    "IBSI",
    "HGNC",
    "MGI",
    "NCBI",
    "RRID",
    "CAS",
    "ATC",
    "WHOATC",
    "GMDN",
    "RXNORM",
    "NDC",
    "ICDO3",
    "ISO_OID",
    "IEEE",
    "ASTM-sigpurpose",
    "SNM",
    "UBERON",
    "PATO",
    "CHEBI",
    "GO",
    "ENSEMBL",
    "SO",
    "DC",
    "CPT",
];

fn text(item: &InMemDicomObject, tag: Tag) -> Option<String> {
    item.get(tag)
        .and_then(|e| e.value().to_str().ok())
        .map(|s| s.trim_matches(['\0', ' ']).to_string())
}

/// Replaces local-scheme code meanings everywhere in `ds` (recursively).
pub fn clean_local_codes(ds: &mut InMemDicomObject, decisions: &mut Vec<Decision>, path: &str) {
    if let (Some(scheme), Some(code), Some(meaning)) = (
        text(ds, CODING_SCHEME_DESIGNATOR),
        text(ds, CODE_VALUE),
        text(ds, CODE_MEANING),
    ) {
        let standard = STANDARD_SCHEMES
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&scheme));
        if !standard && meaning != code {
            ds.put(DataElement::new(
                CODE_MEANING,
                VR::LO,
                PrimitiveValue::from(code.as_str()),
            ));
            decisions.push(Decision {
                path: format!("{path}(0008,0104)"),
                name: "CodeMeaning".into(),
                action: Action::C,
                rule:
                    "meaning of a local coding scheme (site free text) replaced by its code value"
                        .into(),
                before: None,
                after: None,
            });
        }
    }
    let seq_tags: Vec<Tag> = ds
        .iter()
        .filter(|e| matches!(e.value(), Value::Sequence(_)))
        .map(|e| e.tag())
        .collect();
    for tag in seq_tags {
        let Some(elem) = ds.take(tag) else { continue };
        let vr = elem.vr();
        let mut value = elem.into_value();
        if let Value::Sequence(seq) = &mut value {
            for (i, item) in seq.items_mut().iter_mut().enumerate() {
                let p = format!("{path}({:04X},{:04X})[{i}].", tag.group(), tag.element());
                clean_local_codes(item, decisions, &p);
            }
        }
        ds.put(DataElement::new(tag, vr, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::DataSetSequence;
    use dicom_core::Length;

    fn code_item(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            DataElement::new(CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
            DataElement::new(
                CODING_SCHEME_DESIGNATOR,
                VR::SH,
                PrimitiveValue::from(scheme),
            ),
            DataElement::new(CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
        ])
    }

    #[test]
    fn local_meanings_go_standard_ones_stay() {
        let mut ds = InMemDicomObject::from_element_iter([DataElement::new(
            Tag(0x0008, 0x1032),
            VR::SQ,
            Value::Sequence(DataSetSequence::new(
                vec![
                    code_item("CTHEAD", "99LOCAL", "Head CT for Dr Smith"),
                    code_item("113100", "DCM", "Basic Application Confidentiality Profile"),
                    code_item("5.6.3-9-1", "SCPECG", "Lead I (Einthoven)"),
                    code_item("de", "RFC3066", "German"),
                    code_item("SGH0101", "SIEMENS_RIS", "CT BRAIN WO IVCON"),
                ],
                Length::UNDEFINED,
            )),
        )]);
        let mut d = Vec::new();
        clean_local_codes(&mut ds, &mut d, "");
        let items = ds
            .get(Tag(0x0008, 0x1032))
            .and_then(|e| e.items())
            .expect("items");
        assert_eq!(text(&items[0], CODE_MEANING).as_deref(), Some("CTHEAD"));
        assert_eq!(
            text(&items[1], CODE_MEANING).as_deref(),
            Some("Basic Application Confidentiality Profile")
        );
        assert_eq!(
            text(&items[2], CODE_MEANING).as_deref(),
            Some("Lead I (Einthoven)"),
            "published scheme (SCP-ECG lead names)"
        );
        assert_eq!(text(&items[3], CODE_MEANING).as_deref(), Some("German"));
        assert_eq!(
            text(&items[4], CODE_MEANING).as_deref(),
            Some("SGH0101"),
            "a RIS's own scheme is local"
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].path, "(0008,1032)[0].(0008,0104)");
    }
}
