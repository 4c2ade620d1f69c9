//! The one surface that the CLI, the headless service and the desktop shell call.
//!
//! Every operation is a function here taking plain inputs and returning DTOs or an
//! [`ApiError`] (`{code, message, class}`); long operations report through callbacks that the
//! callers bridge to progress bars or UI events.

pub mod archive_view;
pub mod certificate;
pub mod commands;
pub mod compare;
pub mod config;
pub mod deid;
pub mod dto;
pub mod fetch;
pub mod host;
pub mod jobs;
pub mod login;
pub mod lookup;
pub mod masks;
pub mod network;
pub mod pixels;
pub mod preflight;
pub mod quarantine;
pub mod queue;
pub mod reach;
pub mod receive;
pub mod report;
pub mod resolve;
pub mod review;
pub mod send;
pub mod settings;
pub mod studies;
pub mod viewer;

use std::path::PathBuf;

use crate::catalog::{Catalog, ScanSummary, StudyRow};
use crate::error::ApiError;
use crate::home::Home;
use crate::intake::{self, Progress, ScanOptions};

/// An opened data home and its catalog: what every operation works on.
pub struct Session {
    home: Home,
    catalog: Catalog,
    study: config::StudySettings,
    /// The configuration it was opened with (named destinations, delivery settings).
    settings: crate::config::Config,
    /// How HTTP destinations are reached (proxies), from the configuration and the environment.
    network: crate::archive::proxy::Network,
}

/// Shows a fatal start-up problem in the system's error box (Windows; a program without a
/// console has no other way to say it). Returns whether it could be shown.
pub fn show_error_box(title: &str, text: &str) -> bool {
    crate::platform::error_box(title, text)
}

/// Now, in Unix seconds (read at the edges: front ends and records, never inside deid).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Session {
    /// Opens the data home at `root` and its catalog.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, ApiError> {
        let home = Home::open(root).map_err(ApiError::usage_err)?;
        let catalog = Catalog::open(&home.catalog_path())?;
        Ok(Session {
            home,
            catalog,
            study: config::StudySettings::default(),
            settings: crate::config::Config::default(),
            network: crate::archive::proxy::Network::default(),
        })
    }

    /// The data home.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// Catalogs the DICOM under `paths`; `progress` is called as files are handled.
    pub fn scan(
        &mut self,
        paths: &[PathBuf],
        opts: &ScanOptions,
        mut progress: impl FnMut(Progress),
    ) -> Result<ScanSummary, ApiError> {
        let roots = intake::check_roots(paths).map_err(ApiError::usage_err)?;
        let known = self.catalog.known_files()?;
        let unchanged = |f: &intake::FileStat| {
            known
                .get(&f.path)
                .is_some_and(|&(size, mtime)| size == f.size && mtime == f.mtime_ns)
        };
        let mut writer = self.catalog.begin_scan(unix_now())?;
        let mut write_err = None;
        intake::scan(
            &roots,
            opts,
            &unchanged,
            |ev| {
                if write_err.is_none() {
                    if let Err(e) = writer.record(&ev) {
                        write_err = Some(e);
                    }
                }
            },
            &mut progress,
        )
        .map_err(ApiError::usage_err)?;
        if let Some(e) = write_err {
            return Err(e.into());
        }
        let read = writer.read;
        let scan = writer.finish(&roots, unix_now())?;
        let mut summary = self.catalog.scan_summary(scan)?;
        summary.read = read;
        Ok(summary)
    }

    /// Every catalogued study.
    pub fn studies(&self) -> Result<Vec<StudyRow>, ApiError> {
        self.catalog.studies().map_err(ApiError::from)
    }

    /// The files the latest scan did not catalogue, at most 1,000 from `offset`.
    pub fn scan_skipped(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<crate::catalog::SkippedPage, ApiError> {
        self.catalog
            .skipped_page(offset, limit.min(1000))
            .map_err(ApiError::from)
    }

    /// Every delivery job with its studies, states and audit records, newest first.
    pub fn queue_list(&self) -> Result<Vec<crate::queue::store::JobView>, ApiError> {
        crate::queue::store::QueueStore::open(self.catalog.conn())
            .and_then(|q| q.list_jobs())
            .map_err(ApiError::from)
    }

    /// How many delivery jobs still have work left (waiting, interrupted or not yet run).
    pub fn queue_pending(&self) -> Result<u64, ApiError> {
        crate::queue::store::QueueStore::open(self.catalog.conn())
            .and_then(|q| q.open_jobs())
            .map(|j| j.len() as u64)
            .map_err(ApiError::from)
    }

    /// Resumes every job with work left (after a crash, or once a destination is back),
    /// without waiting for an offline destination.
    pub fn queue_run(
        &self,
        policy: &crate::queue::runner::RetryPolicy,
        progress: impl FnMut(crate::queue::runner::RunProgress),
    ) -> Result<crate::queue::runner::RunReport, ApiError> {
        let opts = crate::queue::runner::RunOptions {
            retry: policy.clone(),
            offline_wait: Some(std::time::Duration::ZERO),
            ..Default::default()
        };
        self.queue_run_with(&opts, queue::JobSelector::All, progress)
    }
}
