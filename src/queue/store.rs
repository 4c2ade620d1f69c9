//! Queue persistence: jobs, their studies and pieces, and every state change, in the catalog.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::state::State;
use super::QueueError;
use crate::archive::{Item, StudyLabels};

fn sql(step: &'static str) -> impl FnOnce(rusqlite::Error) -> QueueError {
    move |source| QueueError::Store { step, source }
}

/// A study of a job, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct JobStudy {
    /// Row id.
    pub id: i64,
    /// Where it goes.
    pub labels: StudyLabels,
    /// Current state.
    pub state: State,
    /// Archive URI once committed.
    pub uri: Option<String>,
    /// Last problem, in words (no PHI).
    pub detail: Option<String>,
}

/// A piece, as stored.
#[derive(Debug, Clone)]
pub struct StoredPiece {
    /// Row id.
    pub id: i64,
    /// Current state.
    pub state: State,
    /// Attempts so far.
    pub attempts: i64,
    /// The files.
    pub items: Vec<Item>,
}

/// Creates a job.
pub fn create_job(
    c: &Connection,
    destination: &str,
    profile: (&str, &str),
    now: i64,
) -> Result<i64, QueueError> {
    c.execute(
        "INSERT INTO jobs(destination, profile_name, profile_sha256, created_at) VALUES (?1,?2,?3,?4)",
        params![destination, profile.0, profile.1, now],
    )
    .map_err(sql("create job"))?;
    Ok(c.last_insert_rowid())
}

/// Adds (or finds) a study of a job. `key` identifies the study locally (the new Study UID).
pub fn add_study(
    c: &Connection,
    job: i64,
    key: &str,
    labels: &StudyLabels,
    now: i64,
) -> Result<i64, QueueError> {
    c.query_row(
        "INSERT INTO job_studies(job_ref, study_key, project, subject, session, state, state_at)
         VALUES (?1,?2,?3,?4,?5,'prepared',?6)
         ON CONFLICT(job_ref, study_key) DO UPDATE SET state_at=state_at RETURNING id",
        params![
            job,
            key,
            labels.project,
            labels.subject,
            labels.session,
            now
        ],
        |r| r.get(0),
    )
    .map_err(sql("add study"))
}

/// Adds a prepared piece to a study.
pub fn add_piece(
    c: &Connection,
    study: i64,
    seq: i64,
    items: &[Item],
    now: i64,
) -> Result<i64, QueueError> {
    let json = serde_json::to_string(items).map_err(|e| QueueError::Corrupt {
        what: format!("piece manifest: {e}"),
    })?;
    c.execute(
        "INSERT INTO pieces(study_ref, seq, state, state_at, items) VALUES (?1,?2,'prepared',?3,?4)",
        params![study, seq, now, json],
    )
    .map_err(sql("add piece"))?;
    Ok(c.last_insert_rowid())
}

/// Moves a piece to a new state (checked against the state machine).
pub fn set_piece(
    c: &Connection,
    id: i64,
    to: State,
    detail: Option<&str>,
    now: i64,
) -> Result<(), QueueError> {
    let from: String = c
        .query_row("SELECT state FROM pieces WHERE id=?1", [id], |r| r.get(0))
        .map_err(sql("read piece"))?;
    let from = State::parse(&from).ok_or_else(|| QueueError::Corrupt {
        what: format!("piece {id} state '{from}'"),
    })?;
    if !from.can_become(to) {
        return Err(QueueError::Transition { from, to });
    }
    let bump = i64::from(to == State::Sending);
    c.execute(
        "UPDATE pieces SET state=?2, state_at=?3, detail=?4, attempts=attempts+?5 WHERE id=?1",
        params![id, to.as_str(), now, detail, bump],
    )
    .map_err(sql("set piece state"))?;
    Ok(())
}

/// Moves a study to a new state (checked), optionally recording the archive URI and audit.
pub fn set_study(
    c: &Connection,
    id: i64,
    to: State,
    uri: Option<&str>,
    detail: Option<&str>,
    audit: Option<&str>,
    now: i64,
) -> Result<(), QueueError> {
    let from: String = c
        .query_row("SELECT state FROM job_studies WHERE id=?1", [id], |r| {
            r.get(0)
        })
        .map_err(sql("read study"))?;
    let from = State::parse(&from).ok_or_else(|| QueueError::Corrupt {
        what: format!("study {id} state '{from}'"),
    })?;
    let ok = from.can_become(to) || (from == State::Prepared && to == State::Acknowledged);
    if !ok {
        return Err(QueueError::Transition { from, to });
    }
    c.execute(
        "UPDATE job_studies SET state=?2, state_at=?3, uri=COALESCE(?4, uri), detail=?5,
           audit=COALESCE(?6, audit) WHERE id=?1",
        params![id, to.as_str(), now, uri, detail, audit],
    )
    .map_err(sql("set study state"))?;
    Ok(())
}

/// The studies of a job.
pub fn studies(c: &Connection, job: i64) -> Result<Vec<JobStudy>, QueueError> {
    let mut st = c
        .prepare(
            "SELECT id, project, subject, session, state, uri, detail FROM job_studies
             WHERE job_ref=?1 ORDER BY id",
        )
        .map_err(sql("list studies"))?;
    let rows = st
        .query_map([job], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                StudyLabels {
                    project: r.get(1)?,
                    subject: r.get(2)?,
                    session: r.get(3)?,
                },
                r.get::<_, String>(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(sql("list studies"))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, labels, state, uri, detail) = row.map_err(sql("list studies"))?;
        let state = State::parse(&state).ok_or_else(|| QueueError::Corrupt {
            what: format!("study {id} state '{state}'"),
        })?;
        out.push(JobStudy {
            id,
            labels,
            state,
            uri,
            detail,
        });
    }
    Ok(out)
}

/// The pieces of a study, in order.
pub fn pieces(c: &Connection, study: i64) -> Result<Vec<StoredPiece>, QueueError> {
    let mut st = c
        .prepare("SELECT id, state, attempts, items FROM pieces WHERE study_ref=?1 ORDER BY seq")
        .map_err(sql("list pieces"))?;
    let rows = st
        .query_map([study], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sql("list pieces"))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, state, attempts, items) = row.map_err(sql("list pieces"))?;
        let state = State::parse(&state).ok_or_else(|| QueueError::Corrupt {
            what: format!("piece {id} state '{state}'"),
        })?;
        let items: Vec<Item> = serde_json::from_str(&items).map_err(|e| QueueError::Corrupt {
            what: format!("piece {id} manifest: {e}"),
        })?;
        out.push(StoredPiece {
            id,
            state,
            attempts,
            items,
        });
    }
    Ok(out)
}

/// After a restart: pieces left `sending` by a crash go back to `prepared` (they will be sent
/// again; delivery is idempotent). Returns how many.
pub fn recover(c: &Connection, now: i64) -> Result<usize, QueueError> {
    c.execute(
        "UPDATE pieces SET state='prepared', state_at=?1, detail='interrupted: will be sent again'
         WHERE state='sending'",
        [now],
    )
    .map_err(sql("recover"))
}

/// Jobs with work left, oldest first.
pub fn open_jobs(c: &Connection) -> Result<Vec<(i64, String)>, QueueError> {
    let mut st = c
        .prepare(
            "SELECT DISTINCT j.id, j.destination FROM jobs j JOIN job_studies s ON s.job_ref=j.id
             WHERE j.cancelled=0 AND s.state NOT IN ('verified','failed','quarantined') ORDER BY j.id",
        )
        .map_err(sql("list jobs"))?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql("list jobs"))?;
    rows.collect::<Result<_, _>>().map_err(sql("list jobs"))
}

/// A job's destination, if the job exists.
pub fn job_destination(c: &Connection, job: i64) -> Result<Option<String>, QueueError> {
    c.query_row("SELECT destination FROM jobs WHERE id=?1", [job], |r| {
        r.get(0)
    })
    .optional()
    .map_err(sql("read job"))
}

/// One job for listings: its studies with states, audit records and problems.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    /// Job id.
    pub id: i64,
    /// Destination (no credentials).
    pub destination: String,
    /// Profile name and sha256.
    pub profile: serde_json::Value,
    /// When created (Unix seconds).
    pub created_at: i64,
    /// Studies.
    pub studies: Vec<StudyView>,
}

/// One study of a job for listings.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct StudyView {
    /// Labels in the archive.
    pub labels: StudyLabels,
    /// State.
    pub state: State,
    /// Archive URI once committed.
    pub uri: Option<String>,
    /// Files in the study.
    pub files: u64,
    /// Pieces acknowledged / total.
    pub pieces_done: u64,
    /// Pieces in total.
    pub pieces: u64,
    /// Last problem, in words.
    pub detail: Option<String>,
    /// The audit record once verified.
    pub audit: Option<serde_json::Value>,
}

/// Every job, newest first.
pub fn list_jobs(c: &Connection) -> Result<Vec<JobView>, QueueError> {
    let mut st = c
        .prepare("SELECT id, destination, profile_name, profile_sha256, created_at FROM jobs ORDER BY id DESC")
        .map_err(sql("list jobs"))?;
    let jobs = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(sql("list jobs"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql("list jobs"))?;
    let mut out = Vec::new();
    for (id, destination, pname, psha, created_at) in jobs {
        let mut views = Vec::new();
        for s in studies(c, id)? {
            let ps = pieces(c, s.id)?;
            let audit: Option<String> = c
                .query_row("SELECT audit FROM job_studies WHERE id=?1", [s.id], |r| {
                    r.get(0)
                })
                .map_err(sql("read audit"))?;
            views.push(StudyView {
                files: ps.iter().map(|p| p.items.len() as u64).sum(),
                pieces_done: ps.iter().filter(|p| p.state == State::Acknowledged).count() as u64,
                pieces: ps.len() as u64,
                labels: s.labels,
                state: s.state,
                uri: s.uri,
                detail: s.detail,
                audit: audit.and_then(|a| serde_json::from_str(&a).ok()),
            });
        }
        out.push(JobView {
            id,
            destination,
            profile: serde_json::json!({"name": pname, "sha256": psha}),
            created_at,
            studies: views,
        });
    }
    Ok(out)
}
