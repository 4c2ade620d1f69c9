//! The quarantine table: objects set aside by de-identification, with a reason code, a
//! sentence for people and (for lookup misses) the missing key, kept on this machine only.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{path_from_bytes, path_to_bytes, sql, Catalog, CatalogError};

/// A new quarantine record.
#[derive(Debug, Clone)]
pub struct NewQuarantine<'a> {
    /// The input file.
    pub source_path: &'a Path,
    /// The copy in the data home's quarantine folder, once made.
    pub stored_path: Option<&'a Path>,
    /// Original SOP Instance UID, if it could be read.
    pub sop_uid: Option<&'a str>,
    /// Reason code, e.g. `lookup_missing`.
    pub code: &'a str,
    /// Sentence without PHI.
    pub reason: &'a str,
    /// The lookup key that was missing (PHI; local only).
    pub missing_key: Option<&'a str>,
    /// Profile name.
    pub profile_name: &'a str,
    /// Profile sha256.
    pub profile_sha: &'a str,
    /// Unix seconds.
    pub created_at: i64,
    /// The configured study in force, if any.
    pub study: Option<&'a str>,
}

/// A quarantine record as listed.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QuarantineRow {
    /// Id.
    pub id: i64,
    /// Input file.
    pub source_path: String,
    /// Copy in the data home.
    pub stored_path: Option<String>,
    /// Original SOP Instance UID (local display only).
    pub sop_uid: Option<String>,
    /// Reason code.
    pub code: String,
    /// Sentence.
    pub reason: String,
    /// Missing lookup key (local display only).
    pub missing_key: Option<String>,
    /// Profile name.
    pub profile_name: String,
    /// Profile sha256.
    pub profile_sha: String,
    /// Unix seconds.
    pub created_at: i64,
    /// held, released or discarded.
    pub state: String,
    /// The configured study it was de-identified for, if one was in force.
    pub study: Option<String>,
}

/// A quarantine record as the readable report shows it: its code and what became of it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QuarantineDecision {
    /// Record id.
    pub id: i64,
    /// Reason code (`QuarantineCode`).
    pub code: String,
    /// held, released or discarded.
    pub state: String,
    /// When it was set aside (Unix seconds).
    pub held_at: i64,
    /// When it was released or discarded (Unix seconds; unknown for older decisions).
    pub decided_at: Option<i64>,
    /// Profile name it was held under.
    pub profile_name: String,
    /// That profile's SHA-256.
    pub profile_sha: String,
}

impl Catalog {
    /// Records a quarantined object; returns its id.
    pub fn add_quarantine(&self, q: &NewQuarantine<'_>) -> Result<i64, CatalogError> {
        self.conn
            .execute(
                "INSERT INTO quarantine (source_path, stored_path, sop_uid, code, reason, missing_key,
                     profile_name, profile_sha, created_at, study)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    path_to_bytes(q.source_path),
                    q.stored_path.map(path_to_bytes),
                    q.sop_uid,
                    q.code,
                    q.reason,
                    q.missing_key,
                    q.profile_name,
                    q.profile_sha,
                    q.created_at,
                    q.study
                ],
            )
            .map_err(sql("record quarantine"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Sets where the stored copy of a record lives.
    pub fn set_quarantine_copy(&self, id: i64, stored: &Path) -> Result<(), CatalogError> {
        self.conn
            .execute(
                "UPDATE quarantine SET stored_path = ?1 WHERE id = ?2",
                params![path_to_bytes(stored), id],
            )
            .map_err(sql("update quarantine"))?;
        Ok(())
    }

    /// Records a new state (`released`, `discarded`) or, when still held, a new reason; a
    /// decision keeps when it was first made (`now_unix`).
    pub fn set_quarantine_state(
        &self,
        id: i64,
        state: &str,
        code: &str,
        reason: &str,
        missing_key: Option<&str>,
        now_unix: i64,
    ) -> Result<(), CatalogError> {
        self.conn
            .execute(
                "UPDATE quarantine SET state = ?2, code = ?3, reason = ?4, missing_key = ?5,
                     decided_at = CASE WHEN ?2 = 'held' THEN decided_at
                                       ELSE COALESCE(decided_at, ?6) END
                 WHERE id = ?1",
                params![id, state, code, reason, missing_key, now_unix],
            )
            .map_err(sql("update quarantine"))?;
        Ok(())
    }

    fn quarantine_rows(&self, filter: Option<i64>) -> Result<Vec<QuarantineRow>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, source_path, stored_path, sop_uid, code, reason, missing_key,
                        profile_name, profile_sha, created_at, state, study
                 FROM quarantine WHERE (?1 IS NULL OR id = ?1) ORDER BY id",
            )
            .map_err(sql("list quarantine"))?;
        let rows = stmt
            .query_map(params![filter], |r| {
                let p = |b: Vec<u8>| path_from_bytes(b).display().to_string();
                Ok(QuarantineRow {
                    id: r.get(0)?,
                    source_path: p(r.get(1)?),
                    stored_path: r.get::<_, Option<Vec<u8>>>(2)?.map(p),
                    sop_uid: r.get(3)?,
                    code: r.get(4)?,
                    reason: r.get(5)?,
                    missing_key: r.get(6)?,
                    profile_name: r.get(7)?,
                    profile_sha: r.get(8)?,
                    created_at: r.get(9)?,
                    state: r.get(10)?,
                    study: r.get(11)?,
                })
            })
            .map_err(sql("list quarantine"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("list quarantine"))
    }

    /// Every quarantine record, oldest first.
    pub fn quarantine_list(&self) -> Result<Vec<QuarantineRow>, CatalogError> {
        self.quarantine_rows(None)
    }

    /// One quarantine record.
    pub fn quarantine_get(&self, id: i64) -> Result<Option<QuarantineRow>, CatalogError> {
        Ok(self.quarantine_rows(Some(id))?.into_iter().next())
    }

    /// Every quarantine decision without anything identifying (no paths, UIDs, keys or
    /// sentences), oldest first: for the readable report.
    pub fn quarantine_decisions(&self) -> Result<Vec<QuarantineDecision>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, code, state, created_at, decided_at, profile_name, profile_sha
                 FROM quarantine ORDER BY id",
            )
            .map_err(sql("list quarantine decisions"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(QuarantineDecision {
                    id: r.get(0)?,
                    code: r.get(1)?,
                    state: r.get(2)?,
                    held_at: r.get(3)?,
                    decided_at: r.get(4)?,
                    profile_name: r.get(5)?,
                    profile_sha: r.get(6)?,
                })
            })
            .map_err(sql("list quarantine decisions"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("list quarantine decisions"))
    }

    /// Source path of a record (for release later).
    pub fn quarantine_source(&self, id: i64) -> Result<Option<PathBuf>, CatalogError> {
        self.conn
            .query_row(
                "SELECT source_path FROM quarantine WHERE id = ?1",
                params![id],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map(|o| o.map(path_from_bytes))
            .map_err(sql("read quarantine"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let d = tempfile::tempdir().expect("tempdir");
        let c = Catalog::open(&d.path().join("c.sqlite")).expect("open");
        let id = c
            .add_quarantine(&NewQuarantine {
                source_path: Path::new("/in/a.dcm"),
                stored_path: None,
                sop_uid: Some("1.2.3"),
                code: "lookup_missing",
                reason: "the patient ID is missing from the lookup table",
                missing_key: Some("12345"),
                profile_name: "ps3.15-basic",
                profile_sha: "abc",
                created_at: 7,
                study: Some("heart"),
            })
            .expect("add");
        c.set_quarantine_copy(id, Path::new("/home/q/1.dcm"))
            .expect("copy");
        let row = c.quarantine_get(id).expect("get").expect("row");
        assert_eq!(row.code, "lookup_missing");
        assert_eq!(row.missing_key.as_deref(), Some("12345"));
        assert_eq!(row.stored_path.as_deref(), Some("/home/q/1.dcm"));
        assert_eq!(row.state, "held");
        assert_eq!(row.study.as_deref(), Some("heart"));
        assert_eq!(c.quarantine_list().expect("list").len(), 1);
        assert_eq!(
            c.quarantine_source(id).expect("src"),
            Some(PathBuf::from("/in/a.dcm"))
        );
    }
}
