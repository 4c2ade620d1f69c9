//! Read-only queries for browsing the catalog: a study's instances and the header values that
//! decide burned-in risk, per study.

use std::path::PathBuf;

use rusqlite::params;
use serde::Serialize;

use super::{path_from_bytes, sql, Catalog, CatalogError};

/// One instance of a study, as listed for inspection and viewing (local display only).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InstanceRow {
    /// Catalog id of the instance.
    pub id: i64,
    /// Series number (when the file has one).
    pub series_number: Option<i64>,
    /// Series description.
    pub series_description: String,
    /// Modality of the series.
    pub modality: String,
    /// Instance number (when the file has one).
    pub instance_number: Option<i64>,
    /// SOP Class UID.
    pub sop_class_uid: String,
    /// Transfer syntax UID.
    pub transfer_syntax: String,
    /// Rows (none for objects without pixels).
    pub rows: Option<i64>,
    /// Columns.
    pub columns: Option<i64>,
    /// Frames.
    pub frames: Option<i64>,
    /// The file that holds it.
    pub path: String,
}

/// Header values that decide burned-in risk, with how many instances of a study share them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskSignals {
    /// Catalog id of the study.
    pub study: i64,
    /// Whether the instances have pixel data (rows recorded).
    pub has_pixels: bool,
    /// Burned In Annotation.
    pub burned_in: String,
    /// Modality.
    pub modality: String,
    /// SOP Class UID.
    pub sop_class_uid: String,
    /// Image Type, `\`-joined.
    pub image_type: String,
    /// Instances sharing these values.
    pub instances: i64,
}

impl Catalog {
    /// The instances of a study, by series then instance number.
    pub fn study_instances(&self, study_uid: &str) -> Result<Vec<InstanceRow>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.id, se.number, se.description, se.modality, i.instance_number,
                        i.sop_class_uid, i.transfer_syntax, i.rows, i.columns, i.frames,
                        (SELECT MIN(f.path) FROM files f WHERE f.instance_ref = i.id)
                 FROM instances i JOIN series se ON se.id = i.series_ref
                 JOIN studies st ON st.id = se.study_ref
                 WHERE st.study_uid = ?1
                 ORDER BY se.number IS NULL, se.number, se.id, i.instance_number IS NULL,
                          i.instance_number, i.id",
            )
            .map_err(sql("list study instances"))?;
        let rows = stmt
            .query_map(params![study_uid], |r| {
                let path: Option<Vec<u8>> = r.get(10)?;
                Ok(InstanceRow {
                    id: r.get(0)?,
                    series_number: r.get(1)?,
                    series_description: r.get(2)?,
                    modality: r.get(3)?,
                    instance_number: r.get(4)?,
                    sop_class_uid: r.get(5)?,
                    transfer_syntax: r.get(6)?,
                    rows: r.get(7)?,
                    columns: r.get(8)?,
                    frames: r.get(9)?,
                    path: path
                        .map(|b| path_from_bytes(b).display().to_string())
                        .unwrap_or_default(),
                })
            })
            .map_err(sql("list study instances"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("list study instances"))
    }

    /// The file of one instance.
    pub fn instance_file(&self, instance: i64) -> Result<Option<PathBuf>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT MIN(path) FROM files WHERE instance_ref = ?1")
            .map_err(sql("find instance file"))?;
        let path: Option<Vec<u8>> = stmt
            .query_row(params![instance], |r| r.get(0))
            .map_err(sql("find instance file"))?;
        Ok(path.map(path_from_bytes))
    }

    /// Distinct risk-relevant header values per study, with instance counts.
    pub fn risk_signals(&self) -> Result<Vec<RiskSignals>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT se.study_ref, i.rows IS NOT NULL, i.burned_in, se.modality,
                        i.sop_class_uid, i.image_type, COUNT(*)
                 FROM instances i JOIN series se ON se.id = i.series_ref
                 GROUP BY 1, 2, 3, 4, 5, 6",
            )
            .map_err(sql("read risk signals"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RiskSignals {
                    study: r.get(0)?,
                    has_pixels: r.get(1)?,
                    burned_in: r.get(2)?,
                    modality: r.get(3)?,
                    sop_class_uid: r.get(4)?,
                    image_type: r.get(5)?,
                    instances: r.get(6)?,
                })
            })
            .map_err(sql("read risk signals"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("read risk signals"))
    }
}
