//! The coordinator's view of an archive: its sessions listed once and kept in the data home
//! (`archive-view.sqlite`) so that paging and filtering a project of 50,000 sessions is a local
//! query; a session's scans with file counts, sizes and QC status read live; QC status set; and
//! "expected vs present": subjects of the study's lookup table not in the archive yet, and
//! sessions whose file counts differ from what the audit records say was delivered.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::Session;
use crate::archive::browse::Browse;
pub use crate::archive::browse::{ScanRow, SessionRow};
pub use crate::archive::Quality;
use crate::error::ApiError;

/// Sessions per page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 50;
/// The largest page served.
pub const MAX_PAGE: u32 = 1000;

/// What a page of the session listing is asked for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionQuery {
    /// Only sessions whose subject or session label contains this text (case-insensitive).
    #[serde(default)]
    pub filter: Option<String>,
    /// Rows to skip.
    #[serde(default)]
    pub offset: u32,
    /// Rows to return (default 50, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// List the archive again instead of using the kept listing.
    #[serde(default)]
    pub refresh: bool,
}

/// One page of an archive's sessions.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionPage {
    /// The archive (no secrets).
    pub archive: String,
    /// When the listing was read from the archive (Unix seconds).
    pub listed_at: i64,
    /// Sessions in the archive.
    pub sessions_total: u32,
    /// Subjects in the archive.
    pub subjects_total: u32,
    /// Sessions matching the filter.
    pub matching: u32,
    /// This page.
    pub rows: Vec<SessionRow>,
}

/// A session delivered by Deposit whose archive copy does not hold what was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CountMismatch {
    /// Subject label.
    pub subject: String,
    /// Session label.
    pub session: String,
    /// Files the audit record says were delivered and verified.
    pub delivered: u64,
    /// Files the archive holds now (0 when the session is gone).
    pub present: u64,
    /// The session is no longer listed at all.
    pub missing: bool,
}

/// Expected vs present.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Gaps {
    /// The archive (no secrets).
    pub archive: String,
    /// Subjects the study's lookup table expects (its pseudonyms); 0 without a lookup table.
    pub expected_subjects: u32,
    /// Those not in the archive yet (pseudonyms only).
    pub missing_subjects: Vec<String>,
    /// Delivered sessions checked against the archive.
    pub sessions_checked: u32,
    /// Those whose file counts differ.
    pub mismatches: Vec<CountMismatch>,
}

fn cache_err(e: rusqlite::Error) -> ApiError {
    ApiError::transient(
        "archive_view.cache",
        format!("the kept archive listing cannot be read or written: {e}"),
    )
}

/// The kept listings, in the data home.
struct Cache {
    conn: Connection,
}

impl Cache {
    fn open(path: PathBuf) -> Result<Cache, ApiError> {
        let fresh = !path.exists();
        let conn = Connection::open(&path).map_err(cache_err)?;
        if fresh {
            // the data home is owner-only; so is what is kept in it
            let _ = crate::home::set_mode(&path, 0o600);
        }
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(cache_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS listing (
                archive TEXT PRIMARY KEY, listed_at INTEGER NOT NULL,
                sessions INTEGER NOT NULL, subjects INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS sessions (
                archive TEXT NOT NULL, project TEXT NOT NULL, subject TEXT NOT NULL,
                session TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, date TEXT NOT NULL,
                inserted TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS sessions_by_label ON sessions (archive, subject, session);
             CREATE TABLE IF NOT EXISTS subjects (archive TEXT NOT NULL, label TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS subjects_by_label ON subjects (archive, label);",
        )
        .map_err(cache_err)?;
        Ok(Cache { conn })
    }

    fn listed(&self, archive: &str) -> Result<Option<(i64, u32, u32)>, ApiError> {
        self.conn
            .query_row(
                "SELECT listed_at, sessions, subjects FROM listing WHERE archive=?1",
                [archive],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(cache_err)
    }

    fn store(
        &mut self,
        archive: &str,
        now: i64,
        sessions: &[SessionRow],
        subjects: &BTreeSet<String>,
    ) -> Result<(), ApiError> {
        let tx = self.conn.transaction().map_err(cache_err)?;
        tx.execute("DELETE FROM sessions WHERE archive=?1", [archive])
            .map_err(cache_err)?;
        tx.execute("DELETE FROM subjects WHERE archive=?1", [archive])
            .map_err(cache_err)?;
        {
            let mut ins = tx
                .prepare(
                    "INSERT INTO sessions (archive, project, subject, session, id, kind, date,
                     inserted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(cache_err)?;
            for s in sessions {
                ins.execute(params![
                    archive, s.project, s.subject, s.session, s.id, s.kind, s.date, s.inserted
                ])
                .map_err(cache_err)?;
            }
            let mut sub = tx
                .prepare("INSERT INTO subjects (archive, label) VALUES (?1, ?2)")
                .map_err(cache_err)?;
            for s in subjects {
                sub.execute(params![archive, s]).map_err(cache_err)?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO listing (archive, listed_at, sessions, subjects)
             VALUES (?1, ?2, ?3, ?4)",
            params![archive, now, sessions.len() as i64, subjects.len() as i64],
        )
        .map_err(cache_err)?;
        tx.commit().map_err(cache_err)
    }

    fn page(
        &self,
        archive: &str,
        filter: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(u32, Vec<SessionRow>), ApiError> {
        let like = format!(
            "%{}%",
            filter
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let cond = "archive=?1 AND (?2='%%' OR subject LIKE ?2 ESCAPE '\\' \
                    OR session LIKE ?2 ESCAPE '\\')";
        let matching: u32 = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM sessions WHERE {cond}"),
                params![archive, like],
                |r| r.get(0),
            )
            .map_err(cache_err)?;
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT project, subject, session, id, kind, date, inserted FROM sessions
                 WHERE {cond} ORDER BY subject, session LIMIT ?3 OFFSET ?4"
            ))
            .map_err(cache_err)?;
        let rows = st
            .query_map(params![archive, like, limit, offset], |r| {
                Ok(SessionRow {
                    project: r.get(0)?,
                    subject: r.get(1)?,
                    session: r.get(2)?,
                    id: r.get(3)?,
                    kind: r.get(4)?,
                    date: r.get(5)?,
                    inserted: r.get(6)?,
                })
            })
            .map_err(cache_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(cache_err)?;
        Ok((matching, rows))
    }

    fn session(
        &self,
        archive: &str,
        subject: &str,
        session: &str,
    ) -> Result<Option<SessionRow>, ApiError> {
        self.conn
            .query_row(
                "SELECT project, subject, session, id, kind, date, inserted FROM sessions
                 WHERE archive=?1 AND subject=?2 AND session=?3",
                params![archive, subject, session],
                |r| {
                    Ok(SessionRow {
                        project: r.get(0)?,
                        subject: r.get(1)?,
                        session: r.get(2)?,
                        id: r.get(3)?,
                        kind: r.get(4)?,
                        date: r.get(5)?,
                        inserted: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(cache_err)
    }

    fn of_subject(&self, archive: &str, subject: &str) -> Result<Vec<SessionRow>, ApiError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT project, subject, session, id, kind, date, inserted FROM sessions
                 WHERE archive=?1 AND subject=?2 ORDER BY session",
            )
            .map_err(cache_err)?;
        let rows = st
            .query_map(params![archive, subject], |r| {
                Ok(SessionRow {
                    project: r.get(0)?,
                    subject: r.get(1)?,
                    session: r.get(2)?,
                    id: r.get(3)?,
                    kind: r.get(4)?,
                    date: r.get(5)?,
                    inserted: r.get(6)?,
                })
            })
            .map_err(cache_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(cache_err)?;
        Ok(rows)
    }

    fn subjects(&self, archive: &str) -> Result<BTreeSet<String>, ApiError> {
        let mut st = self
            .conn
            .prepare("SELECT label FROM subjects WHERE archive=?1")
            .map_err(cache_err)?;
        let v = st
            .query_map([archive], |r| r.get(0))
            .map_err(cache_err)?
            .collect::<Result<BTreeSet<String>, _>>()
            .map_err(cache_err)?;
        Ok(v)
    }
}

impl Session {
    /// Opens `dest` (a configured name or a URL) to read it back.
    pub fn archive_browse(&self, dest: &str) -> Result<Box<dyn Browse>, ApiError> {
        let spec = self.destination(dest)?;
        Ok(spec.open_browse(&self.home.dir("archive"), &self.network)?)
    }

    fn archive_cache(&self) -> Result<Cache, ApiError> {
        Cache::open(self.home.root().join("archive-view.sqlite"))
    }

    /// Lists the archive again (sessions and subjects, one request each for XNAT) and keeps
    /// the listing; returns the archive's name.
    fn archive_relist(&self, b: &dyn Browse, now: i64) -> Result<(), ApiError> {
        let sessions = b.sessions()?;
        let mut subjects: BTreeSet<String> = b.subjects()?.into_iter().collect();
        subjects.extend(sessions.iter().map(|s| s.subject.clone()));
        self.archive_cache()?
            .store(&b.describe(), now, &sessions, &subjects)
    }

    /// A page of the archive's sessions, from the kept listing (listed first when there is
    /// none, or when asked to refresh).
    pub fn archive_sessions(
        &self,
        dest: &str,
        q: &SessionQuery,
        now: i64,
    ) -> Result<SessionPage, ApiError> {
        let b = self.archive_browse(dest)?;
        let archive = b.describe();
        let cache = self.archive_cache()?;
        if q.refresh || cache.listed(&archive)?.is_none() {
            self.archive_relist(b.as_ref(), now)?;
        }
        let (listed_at, sessions_total, subjects_total) =
            cache.listed(&archive)?.unwrap_or((now, 0, 0));
        let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let filter = q.filter.as_deref().unwrap_or("").trim();
        let (matching, rows) = cache.page(&archive, filter, q.offset, limit)?;
        Ok(SessionPage {
            archive,
            listed_at,
            sessions_total,
            subjects_total,
            matching,
            rows,
        })
    }

    /// The session `subject`/`session` as the kept listing has it (or as labels alone).
    fn archive_session_row(
        &self,
        b: &dyn Browse,
        subject: &str,
        session: &str,
    ) -> Result<SessionRow, ApiError> {
        let kept = self
            .archive_cache()?
            .session(&b.describe(), subject, session)?;
        Ok(kept.unwrap_or_else(|| SessionRow {
            project: b.project().unwrap_or_default(),
            subject: subject.to_string(),
            session: session.to_string(),
            id: String::new(),
            kind: String::new(),
            date: String::new(),
            inserted: String::new(),
        }))
    }

    /// The sessions of `subject`, from the kept listing; the archive is listed again when
    /// there is none, or when the kept one lacks the subject or the session `want` (sent
    /// since).
    pub(crate) fn archive_subject_sessions(
        &self,
        b: &dyn Browse,
        subject: &str,
        want: Option<&str>,
        now: i64,
    ) -> Result<Vec<SessionRow>, ApiError> {
        let archive = b.describe();
        let cache = self.archive_cache()?;
        if cache.listed(&archive)?.is_some() {
            let kept = cache.of_subject(&archive, subject)?;
            if !kept.is_empty() && want.is_none_or(|w| kept.iter().any(|s| s.session == w)) {
                return Ok(kept);
            }
        }
        self.archive_relist(b, now)?;
        cache.of_subject(&archive, subject)
    }

    /// One session's scans with file counts, sizes and QC status, read from the archive now.
    pub fn archive_scans(
        &self,
        dest: &str,
        subject: &str,
        session: &str,
    ) -> Result<Vec<ScanRow>, ApiError> {
        let b = self.archive_browse(dest)?;
        let row = self.archive_session_row(b.as_ref(), subject, session)?;
        Ok(b.scans(&row)?)
    }

    /// Sets a scan's QC status in the archive (checked there) and returns the session's scans.
    pub fn archive_set_quality(
        &self,
        dest: &str,
        subject: &str,
        session: &str,
        scan: &str,
        quality: Quality,
    ) -> Result<Vec<ScanRow>, ApiError> {
        let b = self.archive_browse(dest)?;
        let row = self.archive_session_row(b.as_ref(), subject, session)?;
        b.set_quality(&row, scan, quality)?;
        Ok(b.scans(&row)?)
    }

    /// Expected vs present: the study's lookup-table (`lookup`) pseudonyms not in the archive,
    /// and the sessions Deposit delivered there whose file counts differ now.
    pub fn archive_gaps(
        &self,
        dest: &str,
        lookup: Option<&std::path::Path>,
        now: i64,
    ) -> Result<Gaps, ApiError> {
        let b = self.archive_browse(dest)?;
        let archive = b.describe();
        let cache = self.archive_cache()?;
        // "who is missing" is asked of the archive as it is now: listed again (one request
        // each for subjects and sessions), which also refreshes the pages
        self.archive_relist(b.as_ref(), now)?;
        let present = cache.subjects(&archive)?;
        let expected = expected_subjects(lookup)?;
        let missing_subjects: Vec<String> = expected
            .iter()
            .filter(|s| !present.contains(*s))
            .cloned()
            .collect();
        // what the audit says was delivered to this archive: the latest verified record per
        // session
        let spec = self.destination(dest)?;
        let names = [spec.to_string(), archive.clone()];
        let mut delivered: HashMap<(String, String), u64> = HashMap::new();
        for job in self.queue_list()? {
            if !names.contains(&job.destination) {
                continue;
            }
            for st in job.studies {
                if st.state != crate::queue::state::State::Verified {
                    continue;
                }
                let files = st
                    .audit
                    .as_ref()
                    .and_then(|a| a.get("files"))
                    .and_then(|f| f.as_u64())
                    .unwrap_or(st.files);
                delivered
                    .entry((st.labels.subject.clone(), st.labels.session.clone()))
                    .or_insert(files);
            }
        }
        let mut checked: Vec<((String, String), u64)> = delivered.into_iter().collect();
        checked.sort();
        let results = parallel_counts(b.as_ref(), &cache, &archive, &checked)?;
        let mismatches = checked
            .iter()
            .zip(results)
            .filter_map(|(((subject, session), delivered), present)| {
                let (present, missing) = match present {
                    Some(n) => (n, false),
                    None => (0, true),
                };
                (present != *delivered).then(|| CountMismatch {
                    subject: subject.clone(),
                    session: session.clone(),
                    delivered: *delivered,
                    present,
                    missing,
                })
            })
            .collect();
        Ok(Gaps {
            archive,
            expected_subjects: u32::try_from(expected.len()).unwrap_or(u32::MAX),
            missing_subjects,
            sessions_checked: u32::try_from(checked.len()).unwrap_or(u32::MAX),
            mismatches,
        })
    }
}

/// The subject labels a lookup table expects (its Patient ID pseudonyms).
fn expected_subjects(lookup: Option<&std::path::Path>) -> Result<BTreeSet<String>, ApiError> {
    let Some(table) = super::deid::load_lookup(lookup)? else {
        return Ok(BTreeSet::new());
    };
    Ok(table
        .replacements("ptid")
        .map(str::to_string)
        .collect::<BTreeSet<_>>())
}

/// The archive's file counts of `sessions` (`None`: the session is not there), read four at a
/// time.
fn parallel_counts(
    b: &dyn Browse,
    cache: &Cache,
    archive: &str,
    sessions: &[((String, String), u64)],
) -> Result<Vec<Option<u64>>, ApiError> {
    let rows: Vec<Option<SessionRow>> = sessions
        .iter()
        .map(|((subject, session), _)| cache.session(archive, subject, session))
        .collect::<Result<_, _>>()?;
    let mut out: Vec<Option<u64>> = vec![None; rows.len()];
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for _ in 0..4 {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(row) = rows.get(i) else { break };
                let r = match row {
                    Some(row) => b.files(row).map(|f| Some(f.len() as u64)),
                    None => Ok(None),
                };
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((i, r));
            });
        }
    });
    for (i, r) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        if let Some(slot) = out.get_mut(i) {
            *slot = r?;
        }
    }
    Ok(out)
}
