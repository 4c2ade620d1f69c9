//! Pre-flight of a lookup table against a folder: which patients would be quarantined.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::deid::lookup::{LookupTable, DATEINC};
use crate::error::ApiError;

/// The result of `deposit deid --check`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Preflight {
    /// Distinct patients found.
    pub patients: u64,
    /// Patients whose ID the lookup table lacks (original IDs: shown locally only).
    pub missing: Vec<MissingPatient>,
}

/// A patient the lookup table lacks.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MissingPatient {
    /// Original Patient ID (PHI; this report stays on this machine).
    pub patient_id: String,
    /// Studies of this patient in the folder.
    pub studies: u64,
    /// Instances of this patient in the folder.
    pub instances: u64,
    /// What the table lacks for this patient: `ptid` (pseudonym) and/or `dateinc` (date
    /// offset, asked only of tables that keep date offsets).
    pub missing: Vec<String>,
}

/// What `table` lacks for patient `id`: `ptid`, and `dateinc` when the table keeps date offsets.
fn lacks(table: Option<&LookupTable>, id: &str) -> Vec<String> {
    let dates = table.is_some_and(|t| t.has_kind(DATEINC));
    let no = |kind: &str| table.is_none_or(|t| t.get(kind, id).is_none());
    let mut what = Vec::new();
    if no("ptid") {
        what.push("ptid".to_string());
    }
    if dates && no(DATEINC) {
        what.push(DATEINC.to_string());
    }
    what
}

/// Which of `patient_ids` the lookup table at `lookup` lacks (a pseudonym, or a date offset when
/// the table keeps them): the window badges their studies before anything is sent.
pub fn lookup_gaps(lookup: &Path, patient_ids: &[String]) -> Result<Vec<String>, ApiError> {
    let table = super::deid::load_lookup(Some(lookup))?;
    Ok(patient_ids
        .iter()
        .filter(|id| !lacks(table.as_ref(), id).is_empty())
        .cloned()
        .collect())
}

impl super::Session {
    /// Catalogs `paths` and lists every patient whose ID `lookup` (key type `ptid`) lacks.
    pub fn preflight(&mut self, paths: &[PathBuf], lookup: &Path) -> Result<Preflight, ApiError> {
        let table = super::deid::load_lookup(Some(lookup))?;
        let scan = self.scan(paths, &crate::intake::ScanOptions::default(), |_| {})?;
        let patients = self.catalog.scan_patients(scan.scan_id)?;
        let missing = patients
            .iter()
            .filter_map(|(id, studies, instances)| {
                let what = lacks(table.as_ref(), id);
                (!what.is_empty()).then(|| MissingPatient {
                    patient_id: id.clone(),
                    studies: *studies,
                    instances: *instances,
                    missing: what,
                })
            })
            .collect();
        Ok(Preflight {
            patients: patients.len() as u64,
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_patients_a_table_lacks() {
        let dir = tempfile::tempdir().expect("tmp");
        let csv = dir.path().join("l.csv");
        std::fs::write(&csv, "original,pseudonym\nA,S1\n").expect("write");
        let ids = ["A".to_string(), "B".to_string()];
        assert_eq!(
            lookup_gaps(&csv, &ids).expect("gaps"),
            vec!["B".to_string()]
        );
        // a table with date offsets also wants each patient's offset
        let props = dir.path().join("l.properties");
        std::fs::write(&props, "ptid/A = S1\nptid/B = S2\ndateinc/B = -3\n").expect("write");
        assert_eq!(
            lookup_gaps(&props, &ids).expect("gaps"),
            vec!["A".to_string()]
        );
        assert!(lookup_gaps(&dir.path().join("none.csv"), &ids).is_err());
    }
}
