//! Queue persistence: jobs, their studies and pieces, and every state change, in the queue's
//! tables ([`super::schema`]) of the data home's database, through [`QueueStore`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::state::State;
use super::QueueError;
use crate::archive::{Item, Quality, Resource, StudyLabels};

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
    /// When the state was last written (Unix seconds).
    pub state_at: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// The files.
    pub items: Vec<Item>,
}

/// A verified study, as the linkage check reads it.
#[derive(Debug, Clone)]
pub struct DeliveredStudy {
    /// De-identified Study Instance UID (the study key).
    pub study_uid: String,
    /// Subject label delivered.
    pub subject: String,
    /// SHA-256 of the job's profile.
    pub profile_sha256: String,
    /// The audit record.
    pub audit: Option<serde_json::Value>,
}

/// One job for listings: its studies with states, audit records and problems.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    /// Job id.
    pub id: i64,
    /// `active` (work left), `paused`, `cancelled` or `done` (every study final).
    pub state: String,
    /// Destination (no credentials).
    pub destination: String,
    /// The configured study it was sent for, if one was in force.
    pub study: Option<String>,
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
    /// The audit record once verified (or cancelled).
    pub audit: Option<serde_json::Value>,
    /// Resources and scan QC status to set once committed, with their states.
    pub extras: Vec<Extra>,
}

/// Something to do for a committed study besides its DICOM.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExtraSpec {
    /// A non-DICOM file to attach as a resource.
    Resource(Resource),
    /// A scan QC status to set.
    Quality {
        /// Scan label.
        scan: String,
        /// The status.
        quality: Quality,
    },
}

/// A stored extra and its state.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct Extra {
    /// Row id.
    pub id: i64,
    /// What to do.
    pub spec: ExtraSpec,
    /// State (prepared, sending, acknowledged, failed, cancelled).
    pub state: State,
    /// Where it is in the archive once done.
    pub uri: Option<String>,
    /// Last problem, in words.
    pub detail: Option<String>,
}

/// What a cancel did.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CancelReport {
    /// Studies stopped.
    pub studies: u64,
    /// Pieces that will not be sent.
    pub pieces: u64,
    /// Outbox files removed (not needed by any other job).
    pub outbox_files_removed: u64,
}

/// The queue's state in the data home's database: the one way to read and write jobs, their
/// studies, pieces and extras. It borrows the connection (the catalog's: the same file).
#[derive(Clone, Copy)]
pub struct QueueStore<'c> {
    c: &'c Connection,
}

impl<'c> QueueStore<'c> {
    /// The queue in the database `c`, its tables brought up to date first.
    pub fn open(c: &'c Connection) -> Result<Self, QueueError> {
        super::schema::ensure(c)?;
        Ok(QueueStore { c })
    }

    /// Creates a job.
    pub fn create_job(
        &self,
        destination: &str,
        profile: (&str, &str),
        now: i64,
    ) -> Result<i64, QueueError> {
        let c = self.c;
        c.execute(
            "INSERT INTO jobs(destination, profile_name, profile_sha256, created_at) VALUES (?1,?2,?3,?4)",
            params![destination, profile.0, profile.1, now],
        )
        .map_err(sql("create job"))?;
        Ok(c.last_insert_rowid())
    }

    /// Records the configured study a job is for (with the job, before anything is sent).
    pub fn set_job_study(&self, job: i64, study: &str) -> Result<(), QueueError> {
        self.c
            .execute(
                "INSERT OR REPLACE INTO job_study(job_ref, study) VALUES (?1, ?2)",
                params![job, study],
            )
            .map_err(sql("record the job's study"))?;
        Ok(())
    }

    /// Adds (or finds) a study of a job. `key` identifies the study locally (the new Study UID).
    pub fn add_study(
        &self,
        job: i64,
        key: &str,
        labels: &StudyLabels,
        now: i64,
    ) -> Result<i64, QueueError> {
        let c = self.c;
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

    /// Records the date shift a study's files got (`None`: no date kept to measure it on).
    pub fn set_date_shift(&self, study: i64, days: Option<i64>) -> Result<(), QueueError> {
        self.c
            .execute(
                "INSERT INTO study_linkage(study_ref, date_shift_days) VALUES (?1, ?2)
                 ON CONFLICT(study_ref) DO UPDATE SET date_shift_days=excluded.date_shift_days",
                params![study, days],
            )
            .map_err(sql("record the date shift"))?;
        Ok(())
    }

    /// A study's key (its de-identified Study Instance UID) and, when recorded, its date shift
    /// (`Some(None)`: recorded as "no date kept").
    pub fn linkage(&self, study: i64) -> Result<(String, Option<Option<i64>>), QueueError> {
        let key: String = self
            .c
            .query_row(
                "SELECT study_key FROM job_studies WHERE id=?1",
                [study],
                |r| r.get(0),
            )
            .map_err(sql("read the study key"))?;
        let shift: Option<Option<i64>> = self
            .c
            .query_row(
                "SELECT date_shift_days FROM study_linkage WHERE study_ref=?1",
                [study],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read the date shift"))?;
        Ok((key, shift))
    }

    /// Adds a prepared piece to a study.
    pub fn add_piece(
        &self,
        study: i64,
        seq: i64,
        items: &[Item],
        now: i64,
    ) -> Result<i64, QueueError> {
        let c = self.c;
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
        &self,
        id: i64,
        to: State,
        detail: Option<&str>,
        now: i64,
    ) -> Result<(), QueueError> {
        let c = self.c;
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
        &self,
        id: i64,
        to: State,
        uri: Option<&str>,
        detail: Option<&str>,
        audit: Option<&str>,
        now: i64,
    ) -> Result<(), QueueError> {
        let c = self.c;
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
    pub fn studies(&self, job: i64) -> Result<Vec<JobStudy>, QueueError> {
        let c = self.c;
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
    pub fn pieces(&self, study: i64) -> Result<Vec<StoredPiece>, QueueError> {
        let c = self.c;
        let mut st = c
            .prepare(
                "SELECT id, state, attempts, items, state_at FROM pieces WHERE study_ref=?1 ORDER BY seq",
            )
            .map_err(sql("list pieces"))?;
        let rows = st
            .query_map([study], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(sql("list pieces"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, state, attempts, items, state_at) = row.map_err(sql("list pieces"))?;
            let state = State::parse(&state).ok_or_else(|| QueueError::Corrupt {
                what: format!("piece {id} state '{state}'"),
            })?;
            let items: Vec<Item> =
                serde_json::from_str(&items).map_err(|e| QueueError::Corrupt {
                    what: format!("piece {id} manifest: {e}"),
                })?;
            out.push(StoredPiece {
                id,
                state,
                state_at,
                attempts,
                items,
            });
        }
        Ok(out)
    }

    /// Records that `destination` acknowledged `item` (sent by piece `piece`); `stored` is false
    /// when the destination said it already held it. Recording twice keeps the first.
    pub fn record_delivery(
        &self,
        destination: &str,
        item: &Item,
        piece: i64,
        stored: bool,
        now: i64,
    ) -> Result<(), QueueError> {
        self.c
            .prepare_cached(
                "INSERT OR IGNORE INTO deliveries(destination, sop_uid, md5, piece_ref, stored, at)
                 VALUES (?1,?2,?3,?4,?5,?6)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    destination,
                    item.sop_uid(),
                    item.md5,
                    piece,
                    stored,
                    now
                ])
            })
            .map_err(sql("record a delivery"))?;
        Ok(())
    }

    /// The piece whose sending `destination` acknowledged exactly this object (same UID, same
    /// bytes), if it did.
    pub fn delivered_by(&self, destination: &str, item: &Item) -> Result<Option<i64>, QueueError> {
        self.c
            .prepare_cached(
                "SELECT piece_ref FROM deliveries WHERE destination=?1 AND sop_uid=?2 AND md5=?3",
            )
            .and_then(|mut st| {
                st.query_row(params![destination, item.sop_uid(), item.md5], |r| r.get(0))
                    .optional()
            })
            .map_err(sql("read the delivery ledger"))
    }

    /// After a restart: pieces left `sending` by a crash go back to `prepared`; their objects
    /// the ledger holds as acknowledged are not sent again, the rest are. Returns how many.
    pub fn recover(&self, now: i64) -> Result<usize, QueueError> {
        let c = self.c;
        c.execute(
            "UPDATE pieces SET state='prepared', state_at=?1, detail='interrupted: will be sent again'
             WHERE state='sending'",
            [now],
        )
        .map_err(sql("recover"))
    }

    /// Jobs with work left that are not paused, oldest first.
    pub fn open_jobs(&self) -> Result<Vec<(i64, String)>, QueueError> {
        let c = self.c;
        let mut st = c
            .prepare(
                "SELECT DISTINCT j.id, j.destination FROM jobs j JOIN job_studies s ON s.job_ref=j.id
                 WHERE j.cancelled=0 AND j.paused=0
                   AND s.state NOT IN ('verified','failed','quarantined','cancelled') ORDER BY j.id",
            )
            .map_err(sql("list jobs"))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql("list jobs"))?;
        rows.collect::<Result<_, _>>().map_err(sql("list jobs"))
    }

    /// A job's destination, if the job exists.
    pub fn job_destination(&self, job: i64) -> Result<Option<String>, QueueError> {
        let c = self.c;
        c.query_row("SELECT destination FROM jobs WHERE id=?1", [job], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql("read job"))
    }

    /// Every verified study of every job, oldest first: its de-identified Study Instance UID
    /// (the study key), subject label, the job's profile SHA-256 and its audit record (the
    /// linkage check compares a proposed profile with these).
    pub fn delivered_studies(&self) -> Result<Vec<DeliveredStudy>, QueueError> {
        let mut st = self
            .c
            .prepare(
                "SELECT s.study_key, s.subject, j.profile_sha256, s.audit
                 FROM job_studies s JOIN jobs j ON s.job_ref=j.id
                 WHERE s.state='verified' ORDER BY s.id",
            )
            .map_err(sql("list delivered studies"))?;
        let rows = st
            .query_map([], |r| {
                Ok(DeliveredStudy {
                    study_uid: r.get(0)?,
                    subject: r.get(1)?,
                    profile_sha256: r.get(2)?,
                    audit: r
                        .get::<_, Option<String>>(3)?
                        .and_then(|a| serde_json::from_str(&a).ok()),
                })
            })
            .map_err(sql("list delivered studies"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql("list delivered studies"))?;
        Ok(rows)
    }

    /// Every job, newest first.
    pub fn list_jobs(&self) -> Result<Vec<JobView>, QueueError> {
        let c = self.c;
        let mut st = c
            .prepare(
                "SELECT j.id, j.destination, j.profile_name, j.profile_sha256, j.created_at,
                        j.paused, j.cancelled, s.study
                 FROM jobs j LEFT JOIN job_study s ON s.job_ref=j.id ORDER BY j.id DESC",
            )
            .map_err(sql("list jobs"))?;
        let jobs = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)? != 0,
                    r.get::<_, i64>(6)? != 0,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .map_err(sql("list jobs"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql("list jobs"))?;
        let mut out = Vec::new();
        for (id, destination, pname, psha, created_at, paused, cancelled, study) in jobs {
            let mut views = Vec::new();
            for s in self.studies(id)? {
                let ps = self.pieces(s.id)?;
                let audit: Option<String> = c
                    .query_row("SELECT audit FROM job_studies WHERE id=?1", [s.id], |r| {
                        r.get(0)
                    })
                    .map_err(sql("read audit"))?;
                views.push(StudyView {
                    files: ps.iter().map(|p| p.items.len() as u64).sum(),
                    pieces_done: ps.iter().filter(|p| p.state == State::Acknowledged).count()
                        as u64,
                    pieces: ps.len() as u64,
                    labels: s.labels,
                    state: s.state,
                    uri: s.uri,
                    detail: s.detail,
                    audit: audit.and_then(|a| serde_json::from_str(&a).ok()),
                    extras: self.extras(s.id)?,
                });
            }
            let state = if cancelled {
                "cancelled"
            } else if views.iter().all(|s| s.state.is_final()) {
                "done"
            } else if paused {
                "paused"
            } else {
                "active"
            };
            out.push(JobView {
                id,
                state: state.into(),
                destination,
                study,
                profile: serde_json::json!({"name": pname, "sha256": psha}),
                created_at,
                studies: views,
            });
        }
        Ok(out)
    }

    /// Adds an extra to a study.
    pub fn add_extra(&self, study: i64, spec: &ExtraSpec, now: i64) -> Result<i64, QueueError> {
        let c = self.c;
        let kind = match spec {
            ExtraSpec::Resource(_) => "resource",
            ExtraSpec::Quality { .. } => "quality",
        };
        let json = serde_json::to_string(spec).map_err(|e| QueueError::Corrupt {
            what: format!("extra: {e}"),
        })?;
        c.execute(
            "INSERT INTO study_extras(study_ref, kind, spec, state, state_at) VALUES (?1,?2,?3,'prepared',?4)",
            params![study, kind, json, now],
        )
        .map_err(sql("add extra"))?;
        Ok(c.last_insert_rowid())
    }

    /// The extras of a study, in order.
    pub fn extras(&self, study: i64) -> Result<Vec<Extra>, QueueError> {
        let c = self.c;
        let mut st = c
            .prepare(
                "SELECT id, spec, state, uri, detail FROM study_extras WHERE study_ref=?1 ORDER BY id",
            )
            .map_err(sql("list extras"))?;
        let rows = st
            .query_map([study], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(sql("list extras"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, spec, state, uri, detail) = row.map_err(sql("list extras"))?;
            let spec = serde_json::from_str(&spec).map_err(|e| QueueError::Corrupt {
                what: format!("extra {id}: {e}"),
            })?;
            let state = State::parse(&state).ok_or_else(|| QueueError::Corrupt {
                what: format!("extra {id} state '{state}'"),
            })?;
            out.push(Extra {
                id,
                spec,
                state,
                uri,
                detail,
            });
        }
        Ok(out)
    }

    /// Records an extra's state (and URI once done).
    pub fn set_extra(
        &self,
        id: i64,
        to: State,
        uri: Option<&str>,
        detail: Option<&str>,
        now: i64,
    ) -> Result<(), QueueError> {
        let c = self.c;
        c.execute(
            "UPDATE study_extras SET state=?2, state_at=?3, uri=COALESCE(?4, uri), detail=?5 WHERE id=?1",
            params![id, to.as_str(), now, uri, detail],
        )
        .map_err(sql("set extra state"))?;
        Ok(())
    }

    /// Records when a study was committed.
    pub fn set_committed_at(&self, study: i64, now: i64) -> Result<(), QueueError> {
        let c = self.c;
        c.execute(
            "UPDATE job_studies SET committed_at=?2 WHERE id=?1",
            params![study, now],
        )
        .map_err(sql("set committed_at"))?;
        Ok(())
    }

    /// When a study was committed, if recorded.
    pub fn committed_at(&self, study: i64) -> Result<Option<i64>, QueueError> {
        let c = self.c;
        c.query_row(
            "SELECT committed_at FROM job_studies WHERE id=?1",
            [study],
            |r| r.get(0),
        )
        .map_err(sql("read committed_at"))
    }

    /// A job's profile (name, sha256) and creation time.
    pub fn job_info(&self, job: i64) -> Result<Option<(String, String, i64)>, QueueError> {
        let c = self.c;
        c.query_row(
            "SELECT profile_name, profile_sha256, created_at FROM jobs WHERE id=?1",
            [job],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(sql("read job"))
    }

    /// A job's pause and cancel flags.
    pub fn job_flags(&self, job: i64) -> Result<(bool, bool), QueueError> {
        let c = self.c;
        c.query_row(
            "SELECT paused, cancelled FROM jobs WHERE id=?1",
            [job],
            |r| Ok((r.get::<_, i64>(0)? != 0, r.get::<_, i64>(1)? != 0)),
        )
        .optional()
        .map_err(sql("read job flags"))
        .map(|f| f.unwrap_or((false, false)))
    }

    /// The job ids a selection names: one job (checked to exist) or every job (`None`).
    pub fn select_jobs(&self, job: Option<i64>) -> Result<Vec<i64>, QueueError> {
        let c = self.c;
        let mut st = c
            .prepare("SELECT id FROM jobs WHERE ?1 IS NULL OR id=?1 ORDER BY id")
            .map_err(sql("select jobs"))?;
        let rows = st
            .query_map([job], |r| r.get(0))
            .map_err(sql("select jobs"))?;
        rows.collect::<Result<_, _>>().map_err(sql("select jobs"))
    }

    /// Pauses or resumes a job (a cancelled one stays cancelled). Returns whether it changed.
    pub fn set_paused(&self, job: i64, paused: bool) -> Result<bool, QueueError> {
        let c = self.c;
        let n = c
            .execute(
                "UPDATE jobs SET paused=?2 WHERE id=?1 AND cancelled=0 AND paused<>?2",
                params![job, i64::from(paused)],
            )
            .map_err(sql("pause job"))?;
        Ok(n > 0)
    }

    /// Moves a job's failed studies (and their failed pieces and extras) back to `prepared`, so the
    /// next run tries them again. Returns the number of studies.
    pub fn retry_job(&self, job: i64, now: i64) -> Result<u64, QueueError> {
        if self.job_flags(job)?.1 {
            return Ok(0);
        }
        let mut n = 0;
        for s in self.studies(job)? {
            if s.state != State::Failed {
                continue;
            }
            for p in self.pieces(s.id)? {
                if p.state == State::Failed {
                    self.set_piece(p.id, State::Prepared, Some("retry asked"), now)?;
                }
            }
            for x in self.extras(s.id)? {
                if x.state == State::Failed {
                    self.set_extra(x.id, State::Prepared, None, Some("retry asked"), now)?;
                }
            }
            self.set_study(s.id, State::Prepared, None, Some("retry asked"), None, now)?;
            n += 1;
        }
        Ok(n)
    }

    /// Cancels a job: unsent pieces and unfinished studies become `cancelled` (each study keeps an
    /// audit record of what had been delivered), and outbox files that no other job still needs
    /// are removed. Verified studies stay verified.
    pub fn cancel_job(
        &self,
        job: i64,
        outbox: &Path,
        now: i64,
    ) -> Result<CancelReport, QueueError> {
        let c = self.c;
        let mut rep = CancelReport::default();
        c.execute("UPDATE jobs SET cancelled=1, paused=0 WHERE id=?1", [job])
            .map_err(sql("cancel job"))?;
        let mut unsent: Vec<PathBuf> = Vec::new();
        for s in self.studies(job)? {
            if matches!(
                s.state,
                State::Verified | State::Quarantined | State::Cancelled
            ) {
                continue;
            }
            let ps = self.pieces(s.id)?;
            let mut sent_files = 0u64;
            let mut sent_pieces = 0u64;
            for p in &ps {
                if matches!(p.state, State::Acknowledged) {
                    sent_files += p.items.len() as u64;
                    sent_pieces += 1;
                } else if p.state.can_become(State::Cancelled) && p.state != State::Cancelled {
                    self.set_piece(p.id, State::Cancelled, Some("cancelled"), now)?;
                    unsent.extend(p.items.iter().map(|i| i.path.clone()));
                    rep.pieces += 1;
                }
            }
            for x in self.extras(s.id)? {
                if x.state != State::Acknowledged {
                    self.set_extra(x.id, State::Cancelled, None, Some("cancelled"), now)?;
                    if let ExtraSpec::Resource(r) = &x.spec {
                        unsent.push(r.path.clone());
                    }
                }
            }
            let audit = serde_json::json!({
                "cancelled_at": now,
                "state_before": s.state,
                "pieces": ps.len(),
                "pieces_sent": sent_pieces,
                "files": ps.iter().map(|p| p.items.len() as u64).sum::<u64>(),
                "files_sent": sent_files,
                "uri": s.uri,
            })
            .to_string();
            self.set_study(
                s.id,
                State::Cancelled,
                None,
                Some("cancelled by the user"),
                Some(&audit),
                now,
            )?;
            rep.studies += 1;
        }
        // outbox files still needed by a job that may send them
        let mut needed: HashSet<PathBuf> = HashSet::new();
        let mut st = c
            .prepare(
                "SELECT p.items FROM pieces p JOIN job_studies s ON p.study_ref=s.id
                 JOIN jobs j ON s.job_ref=j.id
                 WHERE j.cancelled=0 AND p.state IN ('queued','prepared','sending','failed')",
            )
            .map_err(sql("outbox references"))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql("outbox references"))?;
        for row in rows {
            let items: Vec<Item> = serde_json::from_str(&row.map_err(sql("outbox references"))?)
                .map_err(|e| QueueError::Corrupt {
                    what: format!("piece manifest: {e}"),
                })?;
            needed.extend(items.into_iter().map(|i| i.path));
        }
        let mut st = c
            .prepare(
                "SELECT x.spec FROM study_extras x JOIN job_studies s ON x.study_ref=s.id
                 JOIN jobs j ON s.job_ref=j.id
                 WHERE j.cancelled=0 AND x.state IN ('prepared','sending','failed')",
            )
            .map_err(sql("outbox references"))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql("outbox references"))?;
        for row in rows {
            if let Ok(ExtraSpec::Resource(r)) =
                serde_json::from_str::<ExtraSpec>(&row.map_err(sql("outbox references"))?)
            {
                needed.insert(r.path);
            }
        }
        unsent.sort();
        unsent.dedup();
        for p in unsent {
            if p.starts_with(outbox) && !needed.contains(&p) && std::fs::remove_file(&p).is_ok() {
                rep.outbox_files_removed += 1;
            }
        }
        Ok(rep)
    }
}
