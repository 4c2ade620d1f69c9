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
        let missing = patients
            .iter()
            .filter(|(id, _, _)| table.as_ref().is_none_or(|t| t.get("ptid", id).is_none()))
            .map(|(id, studies, instances)| MissingPatient {
                patient_id: id.clone(),
                studies: *studies,
                instances: *instances,
            })
            .collect();
        Ok(Preflight {
            patients: patients.len() as u64,
            missing,
        })
    }
}
