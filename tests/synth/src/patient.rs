//! Fake patients: every identifying value is a canary token that names its own placement.

use std::collections::{BTreeMap, HashSet};

use crate::manifest::{Canary, DatePlacement};
use crate::rng::{fnv1a, Rng};

/// Hands out canary tokens `CANARY-<CODE>-<4 hex>`, unique within a corpus, and records them.
#[derive(Debug, Default)]
pub struct CanaryBook {
    seed: u64,
    seen: HashSet<String>,
    /// Every canary handed out, in order.
    pub list: Vec<Canary>,
    /// Every identifying date handed out.
    pub dates: Vec<DatePlacement>,
}

/// Where a canary goes (static description).
pub struct Place {
    /// Short code in the token (2–3 upper-case letters).
    pub code: &'static str,
    /// Attribute path.
    pub placement: &'static str,
    /// Tag path.
    pub tag: &'static str,
    /// Which files: `all` or a modality.
    pub scope: &'static str,
    /// `header`, `file-meta`, `private`, `sr-content`.
    pub kind: &'static str,
}

impl CanaryBook {
    /// A book for a corpus generated from `seed`.
    pub fn new(seed: u64) -> Self {
        CanaryBook {
            seed,
            ..Default::default()
        }
    }

    /// A fresh token for `place` of `patient`; `wrap` builds the whole value around it.
    pub fn issue(
        &mut self,
        patient: usize,
        place: &Place,
        wrap: impl Fn(&str) -> String,
    ) -> String {
        let mut n = 0u64;
        let token = loop {
            let label = format!("{patient}/{}/{n}", place.placement);
            let h = Rng::derive(self.seed, &label).next_u64() ^ fnv1a(place.code.as_bytes());
            let t = format!("CANARY-{}-{:04X}", place.code, h & 0xFFFF);
            if self.seen.insert(t.clone()) {
                break t;
            }
            n += 1;
        };
        let value = wrap(&token);
        self.list.push(Canary {
            canary: token,
            value: value.clone(),
            placement: place.placement.into(),
            tag: place.tag.into(),
            patient,
            scope: place.scope.into(),
            kind: place.kind.into(),
        });
        value
    }

    /// A date `YYYYMMDD` in `years`, recorded as identifying.
    pub fn date(
        &mut self,
        rng: &mut Rng,
        patient: usize,
        placement: &str,
        years: (u64, u64),
    ) -> String {
        let v = format!(
            "{:04}{:02}{:02}",
            rng.range(years.0, years.1),
            rng.range(1, 12),
            rng.range(1, 28)
        );
        self.dates.push(DatePlacement {
            value: v.clone(),
            placement: placement.into(),
            patient,
        });
        v
    }
}

macro_rules! place {
    ($code:literal, $placement:literal, $tag:literal, $scope:literal, $kind:literal) => {
        Place {
            code: $code,
            placement: $placement,
            tag: $tag,
            scope: $scope,
            kind: $kind,
        }
    };
}

/// Every canary placement, by key.
pub const PLACES: &[(&str, Place)] = &[
    (
        "name",
        place!("PN", "PatientName", "(0010,0010)", "all", "header"),
    ),
    (
        "id",
        place!("ID", "PatientID", "(0010,0020)", "all", "header"),
    ),
    (
        "other_ids",
        place!("OI", "OtherPatientIDs", "(0010,1000)", "all", "header"),
    ),
    (
        "other_ids_seq",
        place!(
            "OQ",
            "OtherPatientIDsSequence/PatientID",
            "(0010,1002)/(0010,0020)",
            "all",
            "header"
        ),
    ),
    (
        "address",
        place!("PA", "PatientAddress", "(0010,1040)", "all", "header"),
    ),
    (
        "phone",
        place!(
            "PT",
            "PatientTelephoneNumbers",
            "(0010,2154)",
            "all",
            "header"
        ),
    ),
    (
        "history",
        place!(
            "AH",
            "AdditionalPatientHistory",
            "(0010,21B0)",
            "all",
            "header"
        ),
    ),
    (
        "accession",
        place!("AN", "AccessionNumber", "(0008,0050)", "all", "header"),
    ),
    (
        "study_id",
        place!("SI", "StudyID", "(0020,0010)", "all", "header"),
    ),
    (
        "study_desc",
        place!("SD", "StudyDescription", "(0008,1030)", "all", "header"),
    ),
    (
        "series_desc",
        place!("SE", "SeriesDescription", "(0008,103E)", "all", "header"),
    ),
    (
        "institution",
        place!("IN", "InstitutionName", "(0008,0080)", "all", "header"),
    ),
    (
        "inst_address",
        place!("IA", "InstitutionAddress", "(0008,0081)", "all", "header"),
    ),
    (
        "referring",
        place!(
            "RP",
            "ReferringPhysicianName",
            "(0008,0090)",
            "all",
            "header"
        ),
    ),
    (
        "performing",
        place!(
            "PP",
            "PerformingPhysicianName",
            "(0008,1050)",
            "all",
            "header"
        ),
    ),
    (
        "operators",
        place!("OP", "OperatorsName", "(0008,1070)", "all", "header"),
    ),
    (
        "station",
        place!("SN", "StationName", "(0008,1010)", "all", "header"),
    ),
    (
        "serial",
        place!("DS", "DeviceSerialNumber", "(0018,1000)", "all", "header"),
    ),
    (
        "comments",
        place!("IC", "ImageComments", "(0020,4000)", "CT", "header"),
    ),
    (
        "req_proc_id",
        place!(
            "RQ",
            "RequestAttributesSequence/RequestedProcedureID",
            "(0040,0275)/(0040,1001)",
            "all",
            "header"
        ),
    ),
    (
        "req_sps_id",
        place!(
            "SP",
            "RequestAttributesSequence/ScheduledProcedureStepID",
            "(0040,0275)/(0040,0009)",
            "all",
            "header"
        ),
    ),
    (
        "req_desc",
        place!(
            "RD",
            "RequestAttributesSequence/RequestedProcedureDescription",
            "(0040,0275)/(0032,1060)",
            "all",
            "header"
        ),
    ),
    (
        "req_name",
        place!(
            "RN",
            "RequestAttributesSequence/ScheduledPerformingPhysicianName",
            "(0040,0275)/(0040,0006)",
            "all",
            "header"
        ),
    ),
    (
        "proc_code",
        place!(
            "PC",
            "ProcedureCodeSequence/CodeMeaning",
            "(0008,1032)/(0008,0104)",
            "all",
            "header"
        ),
    ),
    (
        "siemens",
        place!(
            "CS",
            "Private SIEMENS CSA HEADER/CSA Image Header Info",
            "(0029,1010)",
            "CT",
            "private"
        ),
    ),
    (
        "ge",
        place!(
            "GE",
            "Private GEMS_IDEN_01/Suite Id",
            "(0009,1002)",
            "CT",
            "private"
        ),
    ),
    (
        "hosp_priv",
        place!(
            "PV",
            "Private DEPOSIT SYNTH HOSPITAL/Site Note",
            "(0033,1001)",
            "CT",
            "private"
        ),
    ),
    (
        "hosp_priv_sq",
        place!(
            "PQ",
            "Private DEPOSIT SYNTH HOSPITAL/Site Sequence/Site Code",
            "(0033,1002)/(0033,1003)",
            "CT",
            "private"
        ),
    ),
    (
        "hosp_priv_sq_pn",
        place!(
            "PS",
            "Private DEPOSIT SYNTH HOSPITAL/Site Sequence/PatientName",
            "(0033,1002)/(0010,0010)",
            "CT",
            "private"
        ),
    ),
    (
        "source_ae",
        place!(
            "AE",
            "FileMeta/SourceApplicationEntityTitle",
            "(0002,0016)",
            "all",
            "file-meta"
        ),
    ),
    (
        "impl_version",
        place!(
            "IV",
            "FileMeta/ImplementationVersionName",
            "(0002,0013)",
            "all",
            "file-meta"
        ),
    ),
    (
        "sr_text",
        place!(
            "SRT",
            "ContentSequence/TextValue",
            "(0040,A730)/(0040,A160)",
            "SR",
            "sr-content"
        ),
    ),
    (
        "sr_pname",
        place!(
            "SRP",
            "ContentSequence/PersonName",
            "(0040,A730)/(0040,A123)",
            "SR",
            "sr-content"
        ),
    ),
    (
        "sr_verifier",
        place!(
            "SRV",
            "VerifyingObserverSequence/VerifyingObserverName",
            "(0040,A073)/(0040,A075)",
            "SR",
            "header"
        ),
    ),
    (
        "sr_org",
        place!(
            "SRO",
            "VerifyingObserverSequence/VerifyingOrganization",
            "(0040,A073)/(0040,A027)",
            "SR",
            "header"
        ),
    ),
];

/// One fake patient: character set, and every identifying value by placement key.
#[derive(Debug, Clone)]
pub struct Patient {
    /// 0-based index.
    pub index: usize,
    /// Specific Character Set (`ISO_IR 192`, `ISO_IR 100`, or empty for ASCII).
    pub charset: &'static str,
    /// Values by placement key (see [`PLACES`]).
    pub values: BTreeMap<&'static str, String>,
    /// The bare tokens by placement key.
    pub tokens: BTreeMap<&'static str, String>,
    /// Birth date.
    pub birth_date: String,
    /// Sex.
    pub sex: &'static str,
}

impl Patient {
    /// The value for a placement key (empty if unknown: a generator defect, caught by tests).
    pub fn v(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }

    /// The bare canary token for a placement key.
    pub fn token(&self, key: &str) -> &str {
        self.tokens.get(key).map_or("", String::as_str)
    }
}

/// Makes patient `index`: patient 0 is UTF-8 (ISO_IR 192) with non-ASCII names, patient 1
/// is Latin-1 (ISO_IR 100), the rest use UTF-8 with ASCII names.
pub fn make_patient(book: &mut CanaryBook, seed: u64, index: usize) -> Patient {
    let mut rng = Rng::derive(seed, &format!("patient/{index}"));
    let (charset, given, doctor, street): (&'static str, &str, &str, &str) = match index {
        0 => ("ISO_IR 192", "Zoë^Müller", "Søren^Dvořák", "Straße"),
        1 => (
            "ISO_IR 100",
            "José^Gonçalves",
            "Françoise^Bézier",
            "Rua São João",
        ),
        _ => ("ISO_IR 192", "JANE", "JOHN", "Main Street"),
    };
    let mut values = BTreeMap::new();
    let mut tokens = BTreeMap::new();
    let before = book.list.len();
    for (key, place) in PLACES {
        let v = match *key {
            "name" | "hosp_priv_sq_pn" | "req_name" | "sr_pname" => {
                book.issue(index, place, |t| format!("{t}^{given}"))
            }
            "referring" | "performing" | "operators" | "sr_verifier" => {
                book.issue(index, place, |t| format!("{t}^{doctor}"))
            }
            "address" => book.issue(index, place, |t| format!("12 {street} {t} 8001 Zürich")),
            "inst_address" => book.issue(index, place, |t| {
                format!("1 Hospital Way, {t}, Springfield")
            }),
            "institution" => book.issue(index, place, |t| format!("{t} General Hospital")),
            "study_desc" => book.issue(index, place, |t| format!("CT HEAD {t}")),
            "series_desc" => book.issue(index, place, |t| format!("Series of {t}")),
            "history" | "comments" | "req_desc" => book.issue(index, place, |t| {
                format!("Note about patient: {t} (follow-up)")
            }),
            "proc_code" => book.issue(index, place, |t| format!("CT of head for {t}")),
            "sr_text" => book.issue(index, place, |t| {
                format!("Findings for {t}: no acute abnormality. Compared with prior.")
            }),
            "siemens" => book.issue(index, place, |t| format!("SV10 CSA PatientRef={t} ")),
            _ => book.issue(index, place, |t| t.to_string()),
        };
        values.insert(*key, v);
        tokens.insert(*key, book.list[book.list.len() - 1].canary.clone());
    }
    debug_assert_eq!(book.list.len() - before, PLACES.len());
    let birth_date = book.date(&mut rng, index, "PatientBirthDate", (1931, 1990));
    let sex = if index % 2 == 0 { "F" } else { "M" };
    Patient {
        index,
        charset,
        values,
        tokens,
        birth_date,
        sex,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_fit_short_vrs() {
        let mut book = CanaryBook::new(42);
        for i in 0..50 {
            make_patient(&mut book, 42, i);
        }
        let mut seen = HashSet::new();
        for c in &book.list {
            assert!(seen.insert(c.canary.clone()), "duplicate {}", c.canary);
            assert!(c.canary.len() <= 16, "{} too long for SH/AE", c.canary);
            assert!(c.value.contains(&c.canary));
        }
    }

    #[test]
    fn same_seed_same_canaries() {
        let mut a = CanaryBook::new(1);
        let mut b = CanaryBook::new(1);
        let pa = make_patient(&mut a, 1, 0);
        let pb = make_patient(&mut b, 1, 0);
        assert_eq!(pa.values, pb.values);
        assert_eq!(pa.birth_date, pb.birth_date);
    }
}
