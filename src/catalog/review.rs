//! Review sampling and sign-off records: which instances a scan found, per series and source,
//! and which of them a coordinator signed off.

use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{path_from_bytes, sql, Catalog, CatalogError};

/// An instance a scan found, with what sampling groups it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedInstance {
    /// Catalog instance id.
    pub id: i64,
    /// Original SOP Instance UID (local only).
    pub sop_uid: String,
    /// Original Series Instance UID (local only).
    pub series_uid: String,
    /// Modality.
    pub modality: String,
    /// The file (first path when copies exist).
    pub path: PathBuf,
}

/// A stored sign-off.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Signoff {
    /// Sign-off id.
    pub id: i64,
    /// Who reviewed (as typed; local only).
    pub reviewer: String,
    /// Their note (local only).
    pub note: String,
    /// When (Unix seconds).
    pub created_at: i64,
    /// The catalog instance ids signed off.
    pub instance_ids: Vec<i64>,
    /// The configured study in force when it was made, if any.
    pub study: Option<String>,
}

impl Catalog {
    /// Every instance seen by a scan, ordered by path.
    pub fn scan_instances(&self, scan: i64) -> Result<Vec<ScannedInstance>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT i.id, i.sop_uid, se.series_uid, se.modality, MIN(f.path)
                 FROM files f JOIN instances i ON i.id=f.instance_ref
                 JOIN series se ON se.id=i.series_ref
                 WHERE f.last_scan=?1 GROUP BY i.id ORDER BY MIN(f.path)",
            )
            .map_err(sql("list scanned instances for sampling"))?;
        let rows = stmt
            .query_map([scan], |r| {
                Ok(ScannedInstance {
                    id: r.get(0)?,
                    sop_uid: r.get(1)?,
                    series_uid: r.get(2)?,
                    modality: r.get(3)?,
                    path: path_from_bytes(r.get(4)?),
                })
            })
            .map_err(sql("list scanned instances for sampling"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("list scanned instances for sampling"))
    }

    /// The SOP Instance UID of a catalog instance, if it exists.
    pub fn instance_sop(&self, id: i64) -> Result<Option<String>, CatalogError> {
        self.conn
            .query_row("SELECT sop_uid FROM instances WHERE id=?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql("find an instance"))
    }

    /// Records a sign-off of `instances` (id, SOP UID) in one transaction; returns its id.
    pub fn add_signoff(
        &mut self,
        instances: &[(i64, String)],
        reviewer: &str,
        note: &str,
        now_unix: i64,
        study: Option<&str>,
    ) -> Result<i64, CatalogError> {
        let tx = self.conn.transaction().map_err(sql("begin a sign-off"))?;
        tx.execute(
            "INSERT INTO signoffs (reviewer, note, created_at, study) VALUES (?1, ?2, ?3, ?4)",
            params![reviewer, note, now_unix, study],
        )
        .map_err(sql("record a sign-off"))?;
        let id = tx.last_insert_rowid();
        for (inst, sop) in instances {
            tx.execute(
                "INSERT OR IGNORE INTO signoff_instances (signoff_ref, instance_ref, sop_uid)
                 VALUES (?1, ?2, ?3)",
                params![id, inst, sop],
            )
            .map_err(sql("record a signed-off instance"))?;
        }
        tx.commit().map_err(sql("commit a sign-off"))?;
        Ok(id)
    }

    /// Every sign-off, newest first.
    pub fn signoffs(&self) -> Result<Vec<Signoff>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, reviewer, note, created_at, study FROM signoffs ORDER BY id DESC")
            .map_err(sql("list sign-offs"))?;
        let mut out: Vec<Signoff> = stmt
            .query_map([], |r| {
                Ok(Signoff {
                    id: r.get(0)?,
                    reviewer: r.get(1)?,
                    note: r.get(2)?,
                    created_at: r.get(3)?,
                    instance_ids: Vec::new(),
                    study: r.get(4)?,
                })
            })
            .map_err(sql("list sign-offs"))?
            .collect::<Result<_, _>>()
            .map_err(sql("list sign-offs"))?;
        let mut inst = self
            .conn
            .prepare(
                "SELECT instance_ref FROM signoff_instances WHERE signoff_ref=?1 ORDER BY instance_ref",
            )
            .map_err(sql("list signed-off instances"))?;
        for s in &mut out {
            s.instance_ids = inst
                .query_map([s.id], |r| r.get(0))
                .map_err(sql("list signed-off instances"))?
                .collect::<Result<_, _>>()
                .map_err(sql("list signed-off instances"))?;
        }
        Ok(out)
    }
}
