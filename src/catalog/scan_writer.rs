//! Writes one scan's outcomes into the catalog in batched transactions, upserting the hierarchy.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};

use super::{path_to_bytes, sql, CatalogError};
use crate::intake::{Event, Header, Outcome};

const BATCH: usize = 500;

/// Records the events of one scan; call [`ScanWriter::finish`] at the end.
pub struct ScanWriter<'c> {
    conn: &'c mut Connection,
    scan: i64,
    pending: usize,
    in_tx: bool,
    /// Files read (not unchanged) so far.
    pub read: u64,
}

impl<'c> ScanWriter<'c> {
    pub(super) fn new(conn: &'c mut Connection, scan: i64) -> Result<Self, CatalogError> {
        Ok(ScanWriter {
            conn,
            scan,
            pending: 0,
            in_tx: false,
            read: 0,
        })
    }

    /// This scan's id.
    pub fn scan_id(&self) -> i64 {
        self.scan
    }

    /// Records one file's outcome.
    pub fn record(&mut self, ev: &Event) -> Result<(), CatalogError> {
        if !self.in_tx {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(sql("begin"))?;
            self.in_tx = true;
        }
        let path = path_to_bytes(&ev.file.path);
        let size = ev.file.size as i64;
        match &ev.outcome {
            Outcome::Unchanged => {
                self.conn
                    .prepare_cached("UPDATE files SET last_scan=?2 WHERE path=?1")
                    .and_then(|mut s| s.execute(params![path, self.scan]))
                    .map_err(sql("mark unchanged"))?;
            }
            Outcome::Instance(h) => {
                self.read += 1;
                let inst = self.upsert_instance(h)?;
                self.upsert_file(
                    &path,
                    size,
                    ev.file.mtime_ns,
                    Some(inst),
                    "instance",
                    None,
                    false,
                )?;
            }
            Outcome::Dicomdir { .. } => {
                self.read += 1;
                self.upsert_file(&path, size, ev.file.mtime_ns, None, "dicomdir", None, false)?;
            }
            Outcome::Skipped(reason) => {
                self.read += 1;
                self.upsert_file(
                    &path,
                    size,
                    ev.file.mtime_ns,
                    None,
                    "skipped",
                    Some((reason.code(), reason.sentence())),
                    reason.is_failure(),
                )?;
            }
        }
        self.pending += 1;
        if self.pending >= BATCH {
            self.commit()?;
        }
        Ok(())
    }

    /// Commits what was recorded so far (the receiver commits before it acknowledges).
    pub fn flush(&mut self) -> Result<(), CatalogError> {
        self.commit()
    }

    /// Rolls back what was recorded since the last commit (after a failed write).
    pub fn abandon(&mut self) {
        if self.in_tx {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.in_tx = false;
        }
        self.pending = 0;
    }

    /// The connection, to write more rows inside the open transaction (committed by `flush`).
    pub fn conn(&self) -> &Connection {
        self.conn
    }

    fn commit(&mut self) -> Result<(), CatalogError> {
        if self.in_tx {
            self.conn.execute_batch("COMMIT").map_err(sql("commit"))?;
            self.in_tx = false;
        }
        self.pending = 0;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn upsert_file(
        &mut self,
        path: &[u8],
        size: i64,
        mtime_ns: i64,
        instance: Option<i64>,
        kind: &str,
        skip: Option<(&str, String)>,
        failure: bool,
    ) -> Result<(), CatalogError> {
        let (code, reason) = match skip {
            Some((c, r)) => (Some(c), Some(r)),
            None => (None, None),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO files(path,size,mtime_ns,instance_ref,kind,skip_code,skip_reason,failure,last_scan)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)
                 ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns,
                   instance_ref=excluded.instance_ref, kind=excluded.kind, skip_code=excluded.skip_code,
                   skip_reason=excluded.skip_reason, failure=excluded.failure, last_scan=excluded.last_scan",
            )
            .and_then(|mut s| {
                s.execute(params![
                    path, size, mtime_ns, instance, kind, code, reason, failure, self.scan
                ])
            })
            .map_err(sql("record file"))?;
        Ok(())
    }

    fn upsert_instance(&mut self, h: &Header) -> Result<i64, CatalogError> {
        let patient_key = if h.patient_id.is_empty() {
            format!("\u{1f}{}\u{1f}{}", h.patient_name, h.patient_birth_date)
        } else {
            h.patient_id.clone()
        };
        let c = &*self.conn;
        let patient: i64 = c
            .prepare_cached(
                "INSERT INTO patients(patient_key,patient_id,patient_name,birth_date,sex) VALUES (?1,?2,?3,?4,?5)
                 ON CONFLICT(patient_key) DO UPDATE SET patient_name=excluded.patient_name,
                   birth_date=excluded.birth_date, sex=excluded.sex
                 RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![patient_key, h.patient_id, h.patient_name, h.patient_birth_date, h.patient_sex],
                    |r| r.get(0),
                )
            })
            .map_err(sql("record patient"))?;
        let study: i64 = c
            .prepare_cached(
                "INSERT INTO studies(study_uid,patient_ref,study_date,study_time,description,accession,study_id)
                 VALUES (?1,?2,?3,?4,?5,?6,?7)
                 ON CONFLICT(study_uid) DO UPDATE SET patient_ref=excluded.patient_ref,
                   study_date=excluded.study_date, study_time=excluded.study_time,
                   description=excluded.description, accession=excluded.accession, study_id=excluded.study_id
                 RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        h.study_instance_uid,
                        patient,
                        h.study_date,
                        h.study_time,
                        h.study_description,
                        h.accession_number,
                        h.study_id
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(sql("record study"))?;
        let series: i64 = c
            .prepare_cached(
                "INSERT INTO series(series_uid,study_ref,modality,number,description) VALUES (?1,?2,?3,?4,?5)
                 ON CONFLICT(series_uid) DO UPDATE SET study_ref=excluded.study_ref, modality=excluded.modality,
                   number=excluded.number, description=excluded.description
                 RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        h.series_instance_uid,
                        study,
                        h.modality,
                        h.series_number,
                        h.series_description
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(sql("record series"))?;
        let inst: i64 = c
            .prepare_cached(
                "INSERT INTO instances(sop_uid,series_ref,sop_class_uid,transfer_syntax,instance_number,rows,columns,
                   frames,burned_in,image_type,manufacturer,model,institution,charset)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)
                 ON CONFLICT(sop_uid) DO UPDATE SET series_ref=excluded.series_ref, sop_class_uid=excluded.sop_class_uid,
                   transfer_syntax=excluded.transfer_syntax, instance_number=excluded.instance_number,
                   rows=excluded.rows, columns=excluded.columns, frames=excluded.frames, burned_in=excluded.burned_in,
                   image_type=excluded.image_type, manufacturer=excluded.manufacturer, model=excluded.model,
                   institution=excluded.institution, charset=excluded.charset
                 RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        h.sop_instance_uid,
                        series,
                        h.sop_class_uid,
                        h.transfer_syntax,
                        h.instance_number,
                        h.rows,
                        h.columns,
                        h.number_of_frames,
                        h.burned_in_annotation,
                        h.image_type,
                        h.manufacturer,
                        h.manufacturer_model_name,
                        h.institution_name,
                        h.specific_character_set
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(sql("record instance"))?;
        Ok(inst)
    }

    /// Commits, forgets files under the scanned folders that are gone from disk, drops
    /// hierarchy rows left without files, and closes the scan.
    pub fn finish(mut self, roots: &[PathBuf], now_unix: i64) -> Result<i64, CatalogError> {
        self.commit()?;
        let tx = self.conn.transaction().map_err(sql("begin prune"))?;
        for root in roots.iter().filter(|r| r.is_dir()) {
            let (lo, hi) = prefix_range(root);
            tx.execute(
                "DELETE FROM files WHERE path >= ?1 AND path < ?2 AND last_scan != ?3",
                params![lo, hi, self.scan],
            )
            .map_err(sql("forget vanished files"))?;
        }
        tx.execute_batch(
            "DELETE FROM instances WHERE id NOT IN (SELECT instance_ref FROM files WHERE instance_ref IS NOT NULL);
             DELETE FROM series WHERE id NOT IN (SELECT series_ref FROM instances);
             DELETE FROM studies WHERE id NOT IN (SELECT study_ref FROM series);
             DELETE FROM patients WHERE id NOT IN (SELECT patient_ref FROM studies);",
        )
        .map_err(sql("prune"))?;
        tx.execute(
            "UPDATE scans SET finished_at=?2 WHERE id=?1",
            params![self.scan, now_unix],
        )
        .map_err(sql("finish scan"))?;
        tx.commit().map_err(sql("commit prune"))?;
        Ok(self.scan)
    }
}

impl Drop for ScanWriter<'_> {
    fn drop(&mut self) {
        // An abandoned scan keeps what it recorded: everything written is consistent.
        if self.in_tx {
            let _ = self.conn.execute_batch("COMMIT");
        }
    }
}

/// Byte range of every path strictly under `root/`.
fn prefix_range(root: &Path) -> (Vec<u8>, Vec<u8>) {
    let mut lo = path_to_bytes(root);
    if lo.last() != Some(&b'/') {
        lo.push(b'/');
    }
    let mut hi = lo.clone();
    if let Some(last) = hi.last_mut() {
        *last += 1; // '/' + 1 = '0'
    }
    (lo, hi)
}
