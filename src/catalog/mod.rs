//! Catalog: the SQLite database in the data home that holds what was found and what happened to it.
//!
//! Patient → Study → Series → Instance, the files each instance was read from, and (in later
//! migrations) the queue and quarantine. WAL mode, owner-only file, schema migrations from
//! version 1. Original identities live here, on this machine, and nowhere else.

pub mod approvals;
mod browse;
pub mod ctp_integers;
pub mod quarantine;
pub mod received;
pub mod review;
mod scan_writer;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use thiserror::Error;

use crate::error::{Classify, ErrorClass};
pub use browse::{InstanceRow, RiskSignals};
pub use scan_writer::ScanWriter;

/// Catalog failures.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// The database could not be opened or created.
    #[error("cannot open the catalog at {path}: {source}")]
    Open {
        /// Database path.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer Deposit.
    #[error("the catalog at {path} has schema version {found}, newer than this Deposit ({supported}); upgrade Deposit")]
    TooNew {
        /// Database path.
        path: PathBuf,
        /// Version found.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A migration failed (the database is left at the previous version).
    #[error("cannot upgrade the catalog to schema version {version}: {source}")]
    Migrate {
        /// The version being applied.
        version: i64,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A query or write failed.
    #[error("catalog {step} failed: {source}")]
    Sql {
        /// What was being done.
        step: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database file could not be secured.
    #[error("cannot secure the catalog file {path}: {source}")]
    Permissions {
        /// Database path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Classify for CatalogError {
    fn code(&self) -> &'static str {
        match self {
            CatalogError::Open { .. } => "catalog.open",
            CatalogError::TooNew { .. } => "catalog.too_new",
            CatalogError::Migrate { .. } => "catalog.migrate",
            CatalogError::Sql { .. } => "catalog.sql",
            CatalogError::Permissions { .. } => "catalog.permissions",
        }
    }
    fn class(&self) -> ErrorClass {
        match self {
            CatalogError::Sql {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
            {
                ErrorClass::Transient
            }
            _ => ErrorClass::Permanent,
        }
    }
}

pub(crate) fn sql(step: &'static str) -> impl FnOnce(rusqlite::Error) -> CatalogError {
    move |source| CatalogError::Sql { step, source }
}

/// An open catalog connection.
pub struct Catalog {
    conn: Connection,
    path: PathBuf,
}

/// Counts of what one scan found (distinct UIDs, not files) and what it could not read.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScanSummary {
    /// Files visited (including skipped ones and DICOMDIRs).
    pub files: u64,
    /// Distinct SOP Instance UIDs.
    pub instances: u64,
    /// Distinct Study Instance UIDs.
    pub studies: u64,
    /// Distinct Series Instance UIDs.
    pub series: u64,
    /// Distinct patients.
    pub patients: u64,
    /// DICOMDIR files followed.
    pub dicomdirs: u64,
    /// Files read again because they were new or changed.
    pub read: u64,
    /// Files that were not catalogued, with why (in events, only the first few: the whole
    /// list is paged through [`Catalog::skipped_page`]).
    pub skipped: Vec<Skipped>,
    /// How many files were not catalogued (all of them, however many `skipped` lists).
    pub skipped_total: u64,
    /// How many of the skipped files are errors (unreadable, damaged) rather than not-DICOM.
    pub failed: u64,
    /// The scan's id in the catalog (not part of the JSON summary).
    #[serde(skip)]
    pub scan_id: i64,
}

/// A file that was not catalogued.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Skipped {
    /// The file.
    pub path: String,
    /// Plain-language reason.
    pub reason: String,
    /// Stable reason code.
    pub code: String,
}

/// A page of the files a scan did not catalogue.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SkippedPage {
    /// How many there are in all.
    pub total: u64,
    /// Where this page starts.
    pub offset: u64,
    /// The page, by path.
    pub items: Vec<Skipped>,
}

/// One study as listed for people (counts, modality, date).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StudyRow {
    /// Catalog id.
    pub id: i64,
    /// Study Instance UID (original).
    pub study_uid: String,
    /// Patient ID (original; local display only).
    pub patient_id: String,
    /// Patient name (original; local display only).
    pub patient_name: String,
    /// Study date.
    pub study_date: String,
    /// Study description.
    pub description: String,
    /// Modalities, `\`-joined.
    pub modalities: String,
    /// Number of series.
    pub series: i64,
    /// Number of instances.
    pub instances: i64,
}

impl Catalog {
    /// Opens (creating, securing and migrating as needed) the catalog at `path`.
    pub fn open(path: &Path) -> Result<Self, CatalogError> {
        let fresh = !path.exists();
        if fresh {
            create_owner_only(path).map_err(|source| CatalogError::Permissions {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| CatalogError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(sql("set busy timeout"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
        .map_err(sql("configure"))?;
        let mut cat = Catalog {
            conn,
            path: path.to_path_buf(),
        };
        cat.migrate()?;
        // WAL side files carry the same data: keep them owner-only too.
        for ext in ["sqlite-wal", "sqlite-shm"] {
            let side = path.with_extension(ext);
            if side.exists() {
                crate::home::set_mode(&side, 0o600).map_err(|source| {
                    CatalogError::Permissions {
                        path: side.clone(),
                        source,
                    }
                })?;
            }
        }
        Ok(cat)
    }

    /// The schema version this build writes.
    pub fn supported_version() -> i64 {
        schema::MIGRATIONS.len() as i64
    }

    /// The schema version of the open database.
    pub fn version(&self) -> Result<i64, CatalogError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql("read schema version"))
    }

    fn migrate(&mut self) -> Result<(), CatalogError> {
        let found = self.version()?;
        let supported = Self::supported_version();
        if found > supported {
            return Err(CatalogError::TooNew {
                path: self.path.clone(),
                found,
                supported,
            });
        }
        for (i, m) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = i as i64 + 1;
            let tx = self
                .conn
                .transaction()
                .map_err(|source| CatalogError::Migrate { version, source })?;
            tx.execute_batch(m)
                .and_then(|_| tx.pragma_update(None, "user_version", version))
                .and_then(|_| tx.commit())
                .map_err(|source| CatalogError::Migrate { version, source })?;
        }
        Ok(())
    }

    /// The underlying connection (for modules that own tables of their own).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Starts a scan and returns its writer.
    pub fn begin_scan(&mut self, now_unix: i64) -> Result<ScanWriter<'_>, CatalogError> {
        self.conn
            .execute("INSERT INTO scans(started_at) VALUES (?1)", [now_unix])
            .map_err(sql("start scan"))?;
        let id = self.conn.last_insert_rowid();
        ScanWriter::new(&mut self.conn, id)
    }

    /// Size and mtime of every catalogued file, to skip unchanged files on a re-scan.
    pub fn known_files(
        &self,
    ) -> Result<std::collections::HashMap<PathBuf, (u64, i64)>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, size, mtime_ns FROM files WHERE kind != 'skipped'")
            .map_err(sql("list files"))?;
        let rows = stmt
            .query_map([], |r| {
                let p: Vec<u8> = r.get(0)?;
                Ok((path_from_bytes(p), (r.get::<_, i64>(1)? as u64, r.get(2)?)))
            })
            .map_err(sql("list files"))?;
        rows.collect::<Result<_, _>>().map_err(sql("list files"))
    }

    /// Summary of a finished scan.
    pub fn scan_summary(&self, scan: i64) -> Result<ScanSummary, CatalogError> {
        let c = &self.conn;
        let one = |q: &str| -> Result<u64, CatalogError> {
            c.query_row(q, [scan], |r| r.get::<_, i64>(0))
                .map(|v| v as u64)
                .map_err(sql("summarise scan"))
        };
        let mut s = ScanSummary {
            files: one("SELECT COUNT(*) FROM files WHERE last_scan=?1")?,
            instances: one(
                "SELECT COUNT(DISTINCT instance_ref) FROM files WHERE last_scan=?1 AND instance_ref IS NOT NULL",
            )?,
            series: one(
                "SELECT COUNT(DISTINCT i.series_ref) FROM files f JOIN instances i ON i.id=f.instance_ref WHERE f.last_scan=?1",
            )?,
            studies: one(
                "SELECT COUNT(DISTINCT se.study_ref) FROM files f JOIN instances i ON i.id=f.instance_ref JOIN series se ON se.id=i.series_ref WHERE f.last_scan=?1",
            )?,
            patients: one(
                "SELECT COUNT(DISTINCT st.patient_ref) FROM files f JOIN instances i ON i.id=f.instance_ref JOIN series se ON se.id=i.series_ref JOIN studies st ON st.id=se.study_ref WHERE f.last_scan=?1",
            )?,
            dicomdirs: one("SELECT COUNT(*) FROM files WHERE last_scan=?1 AND kind='dicomdir'")?,
            failed: one("SELECT COUNT(*) FROM files WHERE last_scan=?1 AND kind='skipped' AND failure=1")?,
            read: 0,
            skipped: Vec::new(),
            skipped_total: one("SELECT COUNT(*) FROM files WHERE last_scan=?1 AND kind='skipped'")?,
            scan_id: scan,
        };
        let mut stmt = c
            .prepare("SELECT path, skip_reason, skip_code FROM files WHERE last_scan=?1 AND kind='skipped' ORDER BY path")
            .map_err(sql("list skipped"))?;
        let rows = stmt
            .query_map([scan], |r| {
                let p: Vec<u8> = r.get(0)?;
                Ok(Skipped {
                    path: path_from_bytes(p).display().to_string(),
                    reason: r.get(1)?,
                    code: r.get(2)?,
                })
            })
            .map_err(sql("list skipped"))?;
        s.skipped = rows
            .collect::<Result<_, _>>()
            .map_err(sql("list skipped"))?;
        Ok(s)
    }

    /// The files the latest scan did not catalogue, `limit` of them from `offset` (by path), with
    /// how many there are in all.
    pub fn skipped_page(&self, offset: u64, limit: u64) -> Result<SkippedPage, CatalogError> {
        let c = &self.conn;
        let scan: Option<i64> = c
            .query_row("SELECT MAX(id) FROM scans", [], |r| r.get(0))
            .map_err(sql("latest scan"))?;
        let Some(scan) = scan else {
            return Ok(SkippedPage::default());
        };
        let total: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM files WHERE last_scan=?1 AND kind='skipped'",
                [scan],
                |r| r.get(0),
            )
            .map_err(sql("count skipped"))?;
        let mut stmt = c
            .prepare("SELECT path, skip_reason, skip_code FROM files WHERE last_scan=?1 AND kind='skipped' ORDER BY path LIMIT ?2 OFFSET ?3")
            .map_err(sql("list skipped"))?;
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let items = stmt
            .query_map(rusqlite::params![scan, clamp(limit), clamp(offset)], |r| {
                let p: Vec<u8> = r.get(0)?;
                Ok(Skipped {
                    path: path_from_bytes(p).display().to_string(),
                    reason: r.get(1)?,
                    code: r.get(2)?,
                })
            })
            .map_err(sql("list skipped"))?
            .collect::<Result<_, _>>()
            .map_err(sql("list skipped"))?;
        Ok(SkippedPage {
            total: total.max(0) as u64,
            offset,
            items,
        })
    }

    /// One file per distinct instance seen by a scan (the first path when copies exist).
    pub fn scan_instance_files(&self, scan: i64) -> Result<Vec<PathBuf>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT MIN(path) FROM files WHERE last_scan=?1 AND instance_ref IS NOT NULL
                 GROUP BY instance_ref ORDER BY MIN(path)",
            )
            .map_err(sql("list scanned instances"))?;
        let rows = stmt
            .query_map([scan], |r| Ok(path_from_bytes(r.get(0)?)))
            .map_err(sql("list scanned instances"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("list scanned instances"))
    }

    /// Patients seen by a scan: (original patient ID, studies, instances). Local use only.
    pub fn scan_patients(&self, scan: i64) -> Result<Vec<(String, u64, u64)>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.patient_id, COUNT(DISTINCT st.id), COUNT(DISTINCT i.id)
                 FROM files f JOIN instances i ON i.id=f.instance_ref JOIN series se ON se.id=i.series_ref
                 JOIN studies st ON st.id=se.study_ref JOIN patients p ON p.id=st.patient_ref
                 WHERE f.last_scan=?1 GROUP BY p.id ORDER BY p.patient_id",
            )
            .map_err(sql("list scanned patients"))?;
        let rows = stmt
            .query_map([scan], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                ))
            })
            .map_err(sql("list scanned patients"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("list scanned patients"))
    }

    /// Every catalogued study, newest first.
    pub fn studies(&self) -> Result<Vec<StudyRow>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT st.id, st.study_uid, p.patient_id, p.patient_name, st.study_date, st.description,
                        (SELECT group_concat(DISTINCT se2.modality) FROM series se2 WHERE se2.study_ref = st.id),
                        (SELECT COUNT(*) FROM series se3 WHERE se3.study_ref = st.id),
                        (SELECT COUNT(*) FROM instances i JOIN series se4 ON se4.id = i.series_ref WHERE se4.study_ref = st.id)
                 FROM studies st JOIN patients p ON p.id = st.patient_ref
                 ORDER BY st.study_date DESC, st.id",
            )
            .map_err(sql("list studies"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StudyRow {
                    id: r.get(0)?,
                    study_uid: r.get(1)?,
                    patient_id: r.get(2)?,
                    patient_name: r.get(3)?,
                    study_date: r.get(4)?,
                    description: r.get(5)?,
                    modalities: r
                        .get::<_, Option<String>>(6)?
                        .unwrap_or_default()
                        .replace(',', "\\"),
                    series: r.get(7)?,
                    instances: r.get(8)?,
                })
            })
            .map_err(sql("list studies"))?;
        rows.collect::<Result<_, _>>().map_err(sql("list studies"))
    }

    /// Paths of the files holding each instance of a study (one file per instance).
    pub fn study_files(&self, study_uid: &str) -> Result<Vec<PathBuf>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT MIN(f.path) FROM files f JOIN instances i ON i.id=f.instance_ref
                 JOIN series se ON se.id=i.series_ref JOIN studies st ON st.id=se.study_ref
                 WHERE st.study_uid=?1 GROUP BY i.id ORDER BY i.id",
            )
            .map_err(sql("list study files"))?;
        let rows = stmt
            .query_map([study_uid], |r| Ok(path_from_bytes(r.get(0)?)))
            .map_err(sql("list study files"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("list study files"))
    }

    /// Looks a study up by UID.
    pub fn study_id(&self, study_uid: &str) -> Result<Option<i64>, CatalogError> {
        self.conn
            .query_row(
                "SELECT id FROM studies WHERE study_uid=?1",
                params![study_uid],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("find study"))
    }
}

fn create_owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map(|_| ())
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        crate::platform::restrict_to_owner(path)
    }
}

/// Paths are stored as their exact bytes so that any name survives
/// ([`crate::platform::path_to_bytes`]).
pub(crate) fn path_to_bytes(p: &Path) -> Vec<u8> {
    crate::platform::path_to_bytes(p)
}

pub(crate) fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    crate::platform::path_from_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_migrates_and_reopens() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("c.sqlite");
        {
            let c = Catalog::open(&p).expect("open");
            assert_eq!(c.version().expect("v"), Catalog::supported_version());
        }
        let c = Catalog::open(&p).expect("reopen");
        assert_eq!(c.version().expect("v"), Catalog::supported_version());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(m & 0o777, 0o600);
        }
    }

    #[test]
    fn refuses_a_newer_schema() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("c.sqlite");
        {
            let c = Catalog::open(&p).expect("open");
            c.conn()
                .pragma_update(None, "user_version", 999)
                .expect("set");
        }
        assert!(matches!(
            Catalog::open(&p),
            Err(CatalogError::TooNew { found: 999, .. })
        ));
    }
}
