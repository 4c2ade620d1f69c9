//! Instances stored by the DICOM receiver and their forwarding state, per original study.
//!
//! `forward` is a persisted state: `none` (kept, no forwarding configured when it arrived),
//! `pending` (waiting for its study's quiet period), `forwarding` (handed to send; a restart
//! puts these back to `pending` — re-sending is idempotent), `queued` (in queue job `job_ref`,
//! which delivers it) or `failed` (send refused it for good; `detail` says why, without PHI).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{path_from_bytes, path_to_bytes, sql, CatalogError};

/// Records one received instance (upsert by SOP Instance UID: a duplicate keeps one row).
#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &Connection,
    sop_uid: &str,
    study_uid: &str,
    path: &Path,
    calling_ae: &str,
    called_ae: &str,
    now: i64,
    forward: bool,
) -> Result<(), CatalogError> {
    conn.prepare_cached(
        "INSERT INTO received(sop_uid,study_uid,path,calling_ae,received_at,forward,called_ae)
         VALUES (?1,?2,?3,?4,?5,?6,?7)
         ON CONFLICT(sop_uid) DO UPDATE SET study_uid=excluded.study_uid, path=excluded.path,
           calling_ae=excluded.calling_ae, called_ae=excluded.called_ae,
           received_at=excluded.received_at,
           forward=CASE WHEN received.forward='none' THEN excluded.forward ELSE received.forward END",
    )
    .and_then(|mut s| {
        s.execute(params![
            sop_uid,
            study_uid,
            path_to_bytes(path),
            calling_ae,
            now,
            if forward { "pending" } else { "none" },
            Some(called_ae).filter(|a| !a.is_empty())
        ])
    })
    .map_err(sql("record received instance"))?;
    Ok(())
}

/// Quarantine reason code of a SOP Instance UID received with two different data sets.
pub const UID_CONFLICT: &str = "uid_conflict";

/// Records that another data set arrived at `path` under `sop_uid`, whose first copy is at
/// `earlier`: both copies are quarantined as `uid_conflict` (the first one once), and the
/// first copy, if still waiting to be forwarded, is no longer forwarded (`failed`, detail
/// `uid_conflict`). Nothing is replaced: the received row keeps pointing at the first copy.
pub fn record_conflict(
    conn: &Connection,
    sop_uid: &str,
    earlier: &Path,
    path: &Path,
    now: i64,
) -> Result<(), CatalogError> {
    let reason = format!(
        "two different data sets arrived under SOP Instance UID {}; both copies are kept",
        crate::logging::escape(sop_uid)
    );
    let mut add = conn
        .prepare_cached(
            "INSERT INTO quarantine (source_path, stored_path, sop_uid, code, reason,
                 profile_name, profile_sha, created_at)
             SELECT ?1, NULL, ?2, ?3, ?4, '', '', ?5
             WHERE NOT EXISTS (SELECT 1 FROM quarantine WHERE source_path = ?1 AND code = ?3)",
        )
        .map_err(sql("quarantine a UID conflict"))?;
    for p in [earlier, path] {
        add.execute(params![
            path_to_bytes(p),
            sop_uid,
            UID_CONFLICT,
            reason,
            now
        ])
        .map_err(sql("quarantine a UID conflict"))?;
    }
    conn.prepare_cached(
        "UPDATE received SET forward='failed', detail=?2 WHERE sop_uid=?1 AND forward='pending'",
    )
    .and_then(|mut s| s.execute(params![sop_uid, UID_CONFLICT]))
    .map_err(sql("hold a UID conflict"))?;
    Ok(())
}

/// Paths of every received instance already recorded (including the copies quarantined as
/// UID conflicts).
pub fn known_paths(conn: &Connection) -> Result<HashSet<PathBuf>, CatalogError> {
    let mut stmt = conn
        .prepare(
            "SELECT path FROM received
             UNION SELECT source_path FROM quarantine WHERE code = 'uid_conflict'",
        )
        .map_err(sql("list received"))?;
    let rows = stmt
        .query_map([], |r| Ok(path_from_bytes(r.get(0)?)))
        .map_err(sql("list received"))?;
    rows.collect::<Result<_, _>>().map_err(sql("list received"))
}

/// After a restart: instances that were being forwarded go back to waiting.
pub fn recover(conn: &Connection) -> Result<usize, CatalogError> {
    conn.execute(
        "UPDATE received SET forward='pending' WHERE forward='forwarding'",
        [],
    )
    .map_err(sql("recover forwarding"))
}

/// A study whose quiet period is over, with the instances still to forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Original Study Instance UID (local only).
    pub study_uid: String,
    /// Row ids of its pending instances.
    pub ids: Vec<i64>,
    /// Their spool files.
    pub paths: Vec<PathBuf>,
    /// The AE title they were sent to (a study's route), when one was recorded.
    pub called_ae: Option<String>,
}

/// Studies with pending instances and nothing received for them since `cutoff` (unix s).
pub fn due(conn: &Connection, cutoff: i64) -> Result<Vec<Due>, CatalogError> {
    let studies: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT study_uid FROM received GROUP BY study_uid
                 HAVING SUM(forward='pending') > 0 AND MAX(received_at) <= ?1
                 ORDER BY MAX(received_at)",
            )
            .map_err(sql("list quiet studies"))?;
        let rows = stmt
            .query_map([cutoff], |r| r.get(0))
            .map_err(sql("list quiet studies"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql("list quiet studies"))?
    };
    let mut out = Vec::with_capacity(studies.len());
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, path, called_ae FROM received WHERE study_uid=?1 AND forward='pending'
             ORDER BY id",
        )
        .map_err(sql("list pending instances"))?;
    for study_uid in studies {
        let rows: Vec<(i64, Vec<u8>, Option<String>)> = stmt
            .query_map([&study_uid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|it| it.collect())
            .map_err(sql("list pending instances"))?;
        // a study sent under several AE titles goes where its first instance was sent
        let called_ae = rows.iter().find_map(|(_, _, a)| a.clone());
        let (ids, paths) = rows
            .into_iter()
            .map(|(id, p, _)| (id, path_from_bytes(p)))
            .unzip();
        out.push(Due {
            study_uid,
            ids,
            paths,
            called_ae,
        });
    }
    Ok(out)
}

/// Sets the forwarding state of these rows (one transaction).
pub fn mark(
    conn: &Connection,
    ids: &[i64],
    state: &str,
    job: Option<i64>,
    detail: Option<&str>,
) -> Result<(), CatalogError> {
    let tx = conn
        .unchecked_transaction()
        .map_err(sql("begin forward state"))?;
    {
        let mut stmt = tx
            .prepare_cached(
                "UPDATE received SET forward=?2, job_ref=COALESCE(?3, job_ref), detail=?4 WHERE id=?1",
            )
            .map_err(sql("set forward state"))?;
        for id in ids {
            stmt.execute(params![id, state, job, detail])
                .map_err(sql("set forward state"))?;
        }
    }
    tx.commit().map_err(sql("commit forward state"))
}

/// One received study as the receiver status shows it: counts only, no identities.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReceivedStudy {
    /// The study's catalog id (look it up locally for details), when catalogued.
    pub study: Option<i64>,
    /// Instances received.
    pub instances: u64,
    /// Waiting for the quiet period (or for a destination to be configured: `kept`).
    pub pending: u64,
    /// Being de-identified and sent now.
    pub forwarding: u64,
    /// Handed to the delivery queue.
    pub queued: u64,
    /// Refused by send (see the log / `deposit queue list`).
    pub failed: u64,
    /// Kept only (received while no forwarding was configured).
    pub kept: u64,
    /// Last receipt (unix seconds).
    pub last_received_at: i64,
    /// The latest queue job holding some of its instances.
    pub job: Option<i64>,
}

/// Received studies, most recent first (at most `limit`).
pub fn studies(conn: &Connection, limit: i64) -> Result<Vec<ReceivedStudy>, CatalogError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT (SELECT s.id FROM studies s WHERE s.study_uid=r.study_uid), COUNT(*),
               SUM(forward='pending'), SUM(forward='forwarding'), SUM(forward='queued'),
               SUM(forward='failed'), SUM(forward='none'), MAX(received_at), MAX(job_ref)
             FROM received r GROUP BY study_uid ORDER BY MAX(received_at) DESC, MIN(id) LIMIT ?1",
        )
        .map_err(sql("list received studies"))?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok(ReceivedStudy {
                study: r.get(0)?,
                instances: r.get::<_, i64>(1)? as u64,
                pending: r.get::<_, i64>(2)? as u64,
                forwarding: r.get::<_, i64>(3)? as u64,
                queued: r.get::<_, i64>(4)? as u64,
                failed: r.get::<_, i64>(5)? as u64,
                kept: r.get::<_, i64>(6)? as u64,
                last_received_at: r.get(7)?,
                job: r.get(8)?,
            })
        })
        .map_err(sql("list received studies"))?;
    rows.collect::<Result<_, _>>()
        .map_err(sql("list received studies"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn duplicates_keep_one_row_and_quiet_studies_come_due() {
        let d = tempfile::tempdir().expect("tmp");
        let cat = Catalog::open(&d.path().join("c.sqlite")).expect("open");
        let c = cat.conn();
        record(
            c,
            "1.1",
            "9.9",
            Path::new("/s/a.dcm"),
            "CT",
            "DEPOSIT",
            100,
            true,
        )
        .expect("rec");
        record(
            c,
            "1.2",
            "9.9",
            Path::new("/s/b.dcm"),
            "CT",
            "DEPOSIT",
            105,
            true,
        )
        .expect("rec");
        record(
            c,
            "1.1",
            "9.9",
            Path::new("/s/a.dcm"),
            "CT",
            "DEPOSIT",
            106,
            true,
        )
        .expect("dup");
        record(
            c,
            "2.1",
            "8.8",
            Path::new("/s/c.dcm"),
            "MR",
            "DEPOSIT",
            100,
            false,
        )
        .expect("rec");
        assert!(
            due(c, 105).expect("due").is_empty(),
            "study 9.9 is not quiet yet"
        );
        let ready = due(c, 106).expect("due");
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].study_uid, "9.9");
        assert_eq!(ready[0].ids.len(), 2, "the duplicate did not add a row");
        mark(c, &ready[0].ids, "forwarding", None, None).expect("mark");
        assert!(due(c, 1000).expect("due").is_empty());
        assert_eq!(recover(c).expect("recover"), 2);
        mark(c, &ready[0].ids, "queued", Some(7), None).expect("mark");
        // a new instance for a forwarded study: only it comes due
        record(
            c,
            "1.3",
            "9.9",
            Path::new("/s/d.dcm"),
            "CT",
            "DEPOSIT",
            200,
            true,
        )
        .expect("rec");
        let again = due(c, 200).expect("due");
        assert_eq!(again[0].paths, vec![PathBuf::from("/s/d.dcm")]);
        // a re-sent instance that was already queued stays queued
        record(
            c,
            "1.1",
            "9.9",
            Path::new("/s/a.dcm"),
            "CT",
            "DEPOSIT",
            201,
            true,
        )
        .expect("dup");
        assert_eq!(due(c, 300).expect("due")[0].ids.len(), 1);
        let st = studies(c, 10).expect("studies");
        assert_eq!(st.len(), 2);
        assert_eq!((st[0].instances, st[0].queued, st[0].pending), (3, 2, 1));
        assert_eq!(st[0].job, Some(7));
        assert_eq!(st[1].kept, 1);
        assert_eq!(known_paths(c).expect("paths").len(), 4);
    }

    #[test]
    fn a_uid_conflict_quarantines_both_copies_once_and_replaces_nothing() {
        let d = tempfile::tempdir().expect("tmp");
        let cat = Catalog::open(&d.path().join("c.sqlite")).expect("open");
        let c = cat.conn();
        record(
            c,
            "1.1",
            "9.9",
            Path::new("/s/a.dcm"),
            "CT",
            "DEPOSIT",
            100,
            true,
        )
        .expect("rec");
        record_conflict(
            c,
            "1.1",
            Path::new("/s/a.dcm"),
            Path::new("/s/a.2.dcm"),
            101,
        )
        .expect("conflict");
        record_conflict(
            c,
            "1.1",
            Path::new("/s/a.dcm"),
            Path::new("/s/a.3.dcm"),
            102,
        )
        .expect("conflict");
        let q = cat.quarantine_list().expect("list");
        let paths: Vec<_> = q.iter().map(|r| r.source_path.as_str()).collect();
        assert_eq!(paths, ["/s/a.dcm", "/s/a.2.dcm", "/s/a.3.dcm"]);
        assert!(q
            .iter()
            .all(|r| r.code == UID_CONFLICT && r.reason.contains("1.1")));
        assert!(due(c, 1000).expect("due").is_empty(), "not forwarded");
        let st = studies(c, 10).expect("studies");
        assert_eq!((st[0].instances, st[0].failed), (1, 1));
        assert_eq!(known_paths(c).expect("paths").len(), 3);
    }
}
