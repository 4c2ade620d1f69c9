//! Queue control for the CLI and the app: run, pause, resume, retry and cancel jobs, selected by
//! id or all at once. Pause and cancel are persisted in the catalog, so a run in another process
//! sees them before its next piece.

use serde::{Deserialize, Serialize};

use super::{unix_now, Session};
use crate::error::ApiError;
use crate::queue::runner::{self, RunOptions, RunProgress, RunReport};
use crate::queue::store::{CancelReport, QueueStore};
use crate::queue::QueueError;

/// Which jobs a queue action applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobSelector {
    /// Every job.
    All,
    /// One job by id.
    Job(i64),
}

impl JobSelector {
    /// Parses `all` or a job id.
    pub fn parse(text: &str) -> Result<JobSelector, ApiError> {
        if text.eq_ignore_ascii_case("all") {
            return Ok(JobSelector::All);
        }
        text.parse::<i64>()
            .map(JobSelector::Job)
            .map_err(|_| usage(format!("'{text}' is not a job id (a number, or 'all')")))
    }

    /// One job when given, else every job (what the window and the web UI pass).
    pub fn from_id(job: Option<i64>) -> JobSelector {
        job.map_or(JobSelector::All, JobSelector::Job)
    }

    fn id(self) -> Option<i64> {
        match self {
            JobSelector::All => None,
            JobSelector::Job(id) => Some(id),
        }
    }
}

/// What a queue action changed.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct QueueChange {
    /// The jobs it changed.
    pub jobs: Vec<i64>,
    /// Studies it changed (retry: studies set to be tried again).
    pub studies: u64,
    /// For cancel: pieces that will not be sent and outbox files removed.
    pub cancel: Option<CancelReport>,
}

fn usage(message: String) -> ApiError {
    ApiError::usage("queue.usage", message)
}

fn qerr(e: QueueError) -> ApiError {
    ApiError::from_err(&e, false)
}

impl Session {
    /// The queue in this session's catalog.
    fn queue(&self) -> Result<QueueStore<'_>, ApiError> {
        QueueStore::open(self.catalog.conn()).map_err(qerr)
    }

    fn selected(&self, q: &QueueStore<'_>, sel: JobSelector) -> Result<Vec<i64>, ApiError> {
        let jobs = q.select_jobs(sel.id()).map_err(qerr)?;
        if let (JobSelector::Job(id), true) = (sel, jobs.is_empty()) {
            return Err(usage(format!(
                "there is no job {id} (see 'deposit queue list')"
            )));
        }
        Ok(jobs)
    }

    /// Pauses jobs: a running run starts no new piece and leaves them `paused`.
    pub fn queue_pause(&self, sel: JobSelector) -> Result<QueueChange, ApiError> {
        let q = self.queue()?;
        let mut ch = QueueChange::default();
        for job in self.selected(&q, sel)? {
            if q.set_paused(job, true).map_err(qerr)? {
                ch.jobs.push(job);
            }
        }
        Ok(ch)
    }

    /// Unpauses jobs (the next run, or the one the CLI starts, continues them).
    pub fn queue_resume(&self, sel: JobSelector) -> Result<QueueChange, ApiError> {
        let q = self.queue()?;
        let mut ch = QueueChange::default();
        for job in self.selected(&q, sel)? {
            if q.set_paused(job, false).map_err(qerr)? {
                ch.jobs.push(job);
            }
        }
        Ok(ch)
    }

    /// Sets failed studies (and their failed pieces, resources, QC changes) to be tried again.
    pub fn queue_retry(&self, sel: JobSelector) -> Result<QueueChange, ApiError> {
        let q = self.queue()?;
        let mut ch = QueueChange::default();
        for job in self.selected(&q, sel)? {
            let n = q.retry_job(job, unix_now()).map_err(qerr)?;
            if n > 0 {
                ch.jobs.push(job);
                ch.studies += n;
            }
        }
        Ok(ch)
    }

    /// Cancels jobs: nothing more is sent, each unfinished study keeps an audit record of what
    /// was delivered, and outbox files of unsent pieces are removed (unless another job needs
    /// them). Verified studies stay verified.
    pub fn queue_cancel(&self, sel: JobSelector) -> Result<QueueChange, ApiError> {
        let mut ch = QueueChange::default();
        let mut total = CancelReport::default();
        let outbox = self.home.dir("outbox");
        let q = self.queue()?;
        for job in self.selected(&q, sel)? {
            if q.job_flags(job).map_err(qerr)?.1 {
                continue;
            }
            let r = q.cancel_job(job, &outbox, unix_now()).map_err(qerr)?;
            ch.jobs.push(job);
            ch.studies += r.studies;
            total.studies += r.studies;
            total.pieces += r.pieces;
            total.outbox_files_removed += r.outbox_files_removed;
        }
        ch.cancel = Some(total);
        Ok(ch)
    }

    /// Runs the selected jobs that have work left and are not paused, with `opts` (concurrency,
    /// bandwidth cap, how long to wait for an offline destination). Paused jobs are counted in
    /// the report, not run.
    pub fn queue_run_with(
        &self,
        opts: &RunOptions,
        sel: JobSelector,
        mut progress: impl FnMut(RunProgress),
    ) -> Result<RunReport, ApiError> {
        let c = &self.queue()?;
        c.recover(unix_now()).map_err(qerr)?;
        let wanted = self.selected(c, sel)?;
        let mut total = RunReport::default();
        for job in &wanted {
            let (paused, cancelled) = c.job_flags(*job).map_err(qerr)?;
            if paused && !cancelled {
                let open = c
                    .studies(*job)
                    .map_err(qerr)?
                    .iter()
                    .filter(|s| !s.state.is_final())
                    .count() as u64;
                total.paused += open;
            }
        }
        for (job, dest) in c.open_jobs().map_err(qerr)? {
            if !wanted.contains(&job) {
                continue;
            }
            // resolved, not only parsed: a configured destination's trust options apply
            let d = crate::archive::DestinationSpec::resolve(&dest, &self.settings)
                .and_then(|spec| spec.open(&self.home.dir("archive"), &self.network))
                .map_err(ApiError::usage_err)?;
            let r = runner::run_job(c, job, d.as_ref(), opts, &unix_now, &mut progress)
                .map_err(qerr)?;
            total.sent += r.sent;
            total.already_present += r.already_present;
            total.failed += r.failed;
            total.verified += r.verified;
            total.waiting += r.waiting;
            total.paused += r.paused;
            total.cancelled += r.cancelled;
            total.offline_periods += r.offline_periods;
            total.problems.extend(r.problems);
        }
        Ok(total)
    }
}
