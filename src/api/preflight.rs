//! Pre-flight of a lookup table against a folder: which patients would be quarantined.

use std::path::{Path, PathBuf};

use serde::Serialize;

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

impl super::Session {
    /// Catalogs `paths` and lists every patient whose ID `lookup` (key type `ptid`) lacks.
    pub fn preflight(&mut self, paths: &[PathBuf], lookup: &Path) -> Result<Preflight, ApiError> {
        let table = super::deid::load_lookup(Some(lookup))?;
        let scan = self.scan(paths, &crate::intake::ScanOptions::default(), |_| {})?;
        let patients = self
            .catalog
            .scan_patients(scan.scan_id)
            .map_err(|e| ApiError::from_err(&e, false))?;
        let dates = table
            .as_ref()
            .is_some_and(|t| t.has_kind(crate::deid::lookup::DATEINC));
        let missing = patients
            .iter()
            .filter_map(|(id, studies, instances)| {
                let lacks = |kind: &str| table.as_ref().is_none_or(|t| t.get(kind, id).is_none());
                let mut what = Vec::new();
                if lacks("ptid") {
                    what.push("ptid".to_string());
                }
                if dates && lacks(crate::deid::lookup::DATEINC) {
                    what.push(crate::deid::lookup::DATEINC.to_string());
                }
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
