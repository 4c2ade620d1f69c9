//! `send`: de-identify files into the content-addressed outbox, queue them by study, deliver,
//! commit and verify. Resumable: a re-run finds the job's state in the catalog.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::archive::{self, Item, Level, Quality, Resource, StudyLabels};
use crate::error::{ApiError, ErrorClass};
use crate::queue::{self, runner, store};

pub use crate::pipeline::Prepared;
use crate::pipeline::{sink::to_outbox, Input, Pipeline};

/// Why a file was not prepared.
#[derive(Debug, Clone)]
pub enum NotPrepared {
    /// Not provably safe: to be set aside in the quarantine.
    Quarantined {
        /// The original SOP Instance UID, when it could be read (local record only).
        sop: Option<String>,
        /// Why.
        quarantine: crate::deid::Quarantine,
    },
    /// An error (unreadable file…), in words without PHI.
    Failed(String),
}

/// Records a quarantined input (path, original SOP UID, why) on the calling thread.
pub type HoldFn<'a> =
    dyn FnMut(&Path, Option<&str>, &crate::deid::Quarantine) -> Result<(), String> + 'a;

/// The JSON summary of `deposit send` (a contract: docs/architecture.md).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SendSummary {
    /// Files newly stored by the destination.
    pub sent: u64,
    /// Files the destination already held identically.
    pub already_present: u64,
    /// Files set aside in the quarantine.
    pub quarantined: u64,
    /// Files that failed.
    pub failed: u64,
    /// Files verified in the archive.
    pub verified: u64,
    /// The destination (no credentials).
    pub destination: String,
    /// Studies still waiting for the destination (resume with `deposit queue run`).
    pub waiting: u64,
    /// Studies left because the job was paused (resume with `deposit queue resume`).
    pub paused: u64,
    /// Studies stopped because the job was cancelled.
    pub cancelled: u64,
    /// Times the destination went offline and the send waited for it.
    pub offline_periods: u64,
    /// The queue job.
    pub job: i64,
    /// Problems, in words (no PHI).
    pub problems: Vec<String>,
}

/// Session label for a study: derived from the new Study UID only.
pub fn session_label(subject: &str, new_study_uid: &str) -> String {
    let digits: String = new_study_uid.chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(10)..];
    format!("{subject}_{tail}")
}

/// Prepares every file, queues the job and runs it to the end (no waiting for an offline
/// destination: the job is left queued, as `queue run` resumes it).
#[allow(clippy::too_many_arguments)]
pub fn send(
    conn: &rusqlite::Connection,
    outbox: &Path,
    files: &[PathBuf],
    dest: &dyn archive::Destination,
    project: &str,
    profile: (&str, &str),
    prepare: &(dyn Fn(&Path) -> Result<Prepared, NotPrepared> + Sync),
    hold: &mut HoldFn<'_>,
    policy: &runner::RetryPolicy,
    now: &dyn Fn() -> i64,
    mut progress: impl FnMut(u64, u64),
) -> Result<SendSummary, ApiError> {
    let run = runner::RunOptions {
        retry: policy.clone(),
        offline_wait: Some(std::time::Duration::ZERO),
        ..Default::default()
    };
    send_with(
        conn,
        outbox,
        files,
        dest,
        project,
        profile,
        prepare,
        hold,
        &run,
        &Extras::default(),
        now,
        |p| progress(p.done, p.total),
    )
}

/// Progress of a send: both halves (preparing, then delivering) in one count.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct SendProgress {
    /// Steps done.
    pub done: u64,
    /// Steps in all (two per file).
    pub total: u64,
    /// What delivery is doing (sending, offline, paused, cancelled).
    pub status: runner::RunStatus,
    /// While offline: seconds until the next probe.
    pub retry_in_secs: u64,
}

impl SendProgress {
    /// A line for people ("offline — will resume when online" while offline).
    pub fn message(&self) -> &'static str {
        runner::RunProgress {
            status: self.status,
            ..Default::default()
        }
        .message()
    }
}

/// A non-DICOM file to deliver as a resource: `LEVEL[:SCAN]:LABEL=PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSpec {
    /// project, subject, session or scan.
    pub level: Level,
    /// The scan label, for the scan level.
    pub scan: Option<String>,
    /// Resource label (e.g. `NIFTI`, `DOCS`).
    pub label: String,
    /// The file.
    pub path: PathBuf,
}

fn safe_label(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

impl ResourceSpec {
    /// Parses `project:LABEL=PATH`, `subject:LABEL=PATH`, `session:LABEL=PATH` or
    /// `scan:SCAN:LABEL=PATH`.
    pub fn parse(text: &str) -> Result<ResourceSpec, String> {
        let usage = || {
            format!(
                "'{text}': write LEVEL[:SCAN]:LABEL=PATH, e.g. session:NIFTI=brain.nii.gz or                  scan:3:SNAPSHOTS=qc.png (LEVEL: project, subject, session, scan)"
            )
        };
        let (left, path) = text.split_once('=').ok_or_else(usage)?;
        let parts: Vec<&str> = left.split(':').collect();
        let (level, scan, label) = match parts.as_slice() {
            [l, label] => (Level::parse(l).ok_or_else(usage)?, None, *label),
            ["scan", scan, label] => (Level::Scan, Some(scan.to_string()), *label),
            _ => return Err(usage()),
        };
        if level == Level::Scan && scan.is_none() {
            return Err(usage());
        }
        if !safe_label(label) || scan.as_deref().is_some_and(|s| !safe_label(s)) {
            return Err(format!(
                "'{text}': labels may hold only letters, digits, '_', '-' and '.'"
            ));
        }
        if path.is_empty() {
            return Err(usage());
        }
        Ok(ResourceSpec {
            level,
            scan,
            label: label.to_string(),
            path: PathBuf::from(path),
        })
    }
}

/// A scan QC status to set: `SCAN=usable|questionable|unusable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualitySpec {
    /// Scan label.
    pub scan: String,
    /// The status.
    pub quality: Quality,
}

impl QualitySpec {
    /// Parses `SCAN=usable|questionable|unusable`.
    pub fn parse(text: &str) -> Result<QualitySpec, String> {
        let (scan, q) = text
            .split_once('=')
            .ok_or_else(|| format!("'{text}': write SCAN=usable|questionable|unusable"))?;
        let quality = Quality::parse(q).ok_or_else(|| {
            format!("'{text}': the QC status is usable, questionable or unusable")
        })?;
        if !safe_label(scan) {
            return Err(format!("'{text}': not a scan label"));
        }
        Ok(QualitySpec {
            scan: scan.to_string(),
            quality,
        })
    }
}

/// What goes with a send besides its files: resources, QC status, and the study it is for.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Non-DICOM files.
    pub resources: Vec<ResourceSpec>,
    /// Scan QC status.
    pub quality: Vec<QualitySpec>,
    /// The configured study in force (recorded with the job, for listings and reports).
    pub study: Option<String>,
}

/// Prepares every file, queues the job (with its extras) and runs it with `run`'s settings.
#[allow(clippy::too_many_arguments)]
pub fn send_with(
    conn: &rusqlite::Connection,
    outbox: &Path,
    files: &[PathBuf],
    dest: &dyn archive::Destination,
    project: &str,
    profile: (&str, &str),
    prepare: &(dyn Fn(&Path) -> Result<Prepared, NotPrepared> + Sync),
    hold: &mut HoldFn<'_>,
    run: &runner::RunOptions,
    extras: &Extras,
    now: &dyn Fn() -> i64,
    mut on_progress: impl FnMut(SendProgress),
) -> Result<SendSummary, ApiError> {
    let mut progress = |done: u64, total: u64| {
        on_progress(SendProgress {
            done,
            total,
            ..Default::default()
        })
    };
    let qerr = |e: queue::QueueError| ApiError::from_err(&e, false);
    // offline-first: an unreachable destination still gets the job queued (it waits)
    match dest.check() {
        Err(e) if crate::error::Classify::class(&e) == ErrorClass::Transient => {
            tracing::warn!(
                code = crate::error::Classify::code(&e),
                "destination not reachable now; queueing"
            );
        }
        // an untrusted certificate: the job is queued and its studies fail with what to do, so
        // that `queue retry` delivers them once the destination's trust is set
        Err(e @ archive::ArchiveError::TlsRefused { .. }) => {
            tracing::warn!(code = crate::error::Classify::code(&e), "{e}");
        }
        Err(e) => return Err(ApiError::from_err(&e, false)),
        Ok(()) => {}
    }
    let mut summary = SendSummary {
        destination: dest.describe(),
        ..Default::default()
    };
    // 1. de-identify into the outbox in parallel (memory: one file per worker), grouped by
    //    new study; quarantine records are written here, on the calling thread
    type Ready = ((String, String), Item, Option<i64>);
    let mut by_study: BTreeMap<(String, String), Vec<Item>> = BTreeMap::new();
    // the date shift of each new study (its first file's), for the audit record
    let mut shifts: BTreeMap<String, Option<i64>> = BTreeMap::new();
    let total = files.len() as u64;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .map_err(|e| ApiError::permanent("send.threads", format!("cannot start workers: {e}")))?;
    let (tx, rx) = crossbeam_channel::bounded::<(PathBuf, Result<Ready, NotPrepared>)>(64);
    let mut done = 0u64;
    std::thread::scope(|sc| {
        sc.spawn(move || {
            pool.install(|| {
                use rayon::prelude::*;
                files.par_iter().for_each_with(tx, |tx, f| {
                    let r = prepare(f).and_then(|p| {
                        let (path, _) = to_outbox(outbox, &p.bytes).map_err(|e| {
                            NotPrepared::Failed(format!("cannot write the outbox: {e}"))
                        })?;
                        let item = Item {
                            path,
                            scan: p.scan,
                            name: format!("{}.dcm", p.sop_uid),
                            size: p.bytes.len() as u64,
                            md5: archive::md5_hex(&p.bytes),
                        };
                        Ok(((p.subject, p.study_uid), item, p.date_shift_days))
                    });
                    let _ = tx.send((f.clone(), r));
                })
            })
        });
        for (path, r) in rx.iter() {
            match r {
                Ok((key, item, shift)) => {
                    shifts.entry(key.1.clone()).or_insert(shift);
                    by_study.entry(key).or_default().push(item)
                }
                Err(NotPrepared::Quarantined { sop, quarantine }) => {
                    match hold(&path, sop.as_deref(), &quarantine) {
                        Ok(()) => summary.quarantined += 1,
                        Err(why) => {
                            summary.failed += 1;
                            summary.problems.push(format!("cannot quarantine: {why}"));
                        }
                    }
                }
                Err(NotPrepared::Failed(why)) => {
                    summary.failed += 1;
                    summary.problems.push(why);
                }
            }
            done += 1;
            progress(done, total * 2);
        }
    });
    // 2. queue: one job, a study per new Study UID, pieces of whole files, the extras
    let per_study = extras.quality.len()
        + extras
            .resources
            .iter()
            .filter(|r| matches!(r.level, Level::Session | Level::Scan))
            .count();
    if per_study > 0 && by_study.len() != 1 {
        return Err(ApiError::usage(
            "send.extras_ambiguous",
            format!(
                "session- and scan-level resources and scan QC status need a send of exactly one \
                 study ({} studies here); send the studies one at a time",
                by_study.len()
            ),
        ));
    }
    let subjects: std::collections::BTreeSet<&String> = by_study.keys().map(|(s, _)| s).collect();
    if extras.resources.iter().any(|r| r.level == Level::Subject) && subjects.len() != 1 {
        return Err(ApiError::usage(
            "send.extras_ambiguous",
            format!(
                "subject-level resources need a send of exactly one subject ({} here)",
                subjects.len()
            ),
        ));
    }
    let mut specs = Vec::new();
    for r in &extras.resources {
        let name = r
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !safe_label(&name) {
            return Err(ApiError::usage(
                "send.resource_name",
                format!(
                    "resource file '{}': its name becomes the archive file name and may hold only \
                     letters, digits, '_', '-' and '.'; rename it",
                    r.path.display()
                ),
            ));
        }
        let bytes = std::fs::read(&r.path).map_err(|e| {
            ApiError::usage(
                "send.resource_read",
                format!("cannot read the resource file {}: {e}", r.path.display()),
            )
        })?;
        let (path, _) = to_outbox(outbox, &bytes).map_err(|e| {
            ApiError::permanent("send.outbox", format!("cannot write the outbox: {e}"))
        })?;
        specs.push(store::ExtraSpec::Resource(Resource {
            level: r.level,
            scan: r.scan.clone(),
            label: r.label.clone(),
            name,
            path,
            size: bytes.len() as u64,
            md5: archive::md5_hex(&bytes),
        }));
    }
    specs.extend(extras.quality.iter().map(|q| store::ExtraSpec::Quality {
        scan: q.scan.clone(),
        quality: q.quality,
    }));
    if !specs.is_empty() && by_study.is_empty() {
        return Err(ApiError::permanent(
            "send.extras_without_study",
            "resources and QC status go with a study, and no study was prepared",
        ));
    }
    let q = store::QueueStore::open(conn).map_err(qerr)?;
    let job = q
        .create_job(&summary.destination, profile, now())
        .map_err(qerr)?;
    summary.job = job;
    if let Some(study) = extras.study.as_deref() {
        q.set_job_study(job, study).map_err(qerr)?;
    }
    let mut first = true;
    for ((subject, study_uid), mut items) in by_study {
        items.sort_by(|a, b| (&a.scan, &a.name).cmp(&(&b.scan, &b.name)));
        items.dedup_by(|a, b| a.name == b.name && a.scan == b.scan);
        let labels = StudyLabels {
            project: project.to_string(),
            session: session_label(&subject, &study_uid),
            subject,
        };
        let sid = q.add_study(job, &study_uid, &labels, now()).map_err(qerr)?;
        if let Some(shift) = shifts.get(&study_uid) {
            q.set_date_shift(sid, *shift).map_err(qerr)?;
        }
        for (seq, piece) in queue::split_pieces(items, |i| i.size)
            .into_iter()
            .enumerate()
        {
            q.add_piece(sid, seq as i64, &piece, now()).map_err(qerr)?;
        }
        if first {
            for spec in &specs {
                q.add_extra(sid, spec, now()).map_err(qerr)?;
            }
            first = false;
        }
    }
    // 3. deliver, commit, verify
    let r = runner::run_job(&q, job, dest, run, now, |p| {
        on_progress(SendProgress {
            done: total + p.done.min(total),
            total: total * 2,
            status: p.status,
            retry_in_secs: p.retry_in_secs,
        })
    })
    .map_err(qerr)?;
    summary.sent = r.sent;
    summary.already_present = r.already_present;
    summary.verified = r.verified;
    summary.failed += r.failed;
    summary.waiting = r.waiting;
    summary.paused = r.paused;
    summary.cancelled = r.cancelled;
    summary.offline_periods = r.offline_periods;
    summary.problems.extend(r.problems);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_resource_and_quality_specs() {
        let r = ResourceSpec::parse("scan:3:NIFTI=/x/brain.nii.gz").expect("scan");
        assert_eq!(
            (r.level, r.scan.as_deref(), r.label.as_str()),
            (Level::Scan, Some("3"), "NIFTI")
        );
        assert_eq!(r.path, PathBuf::from("/x/brain.nii.gz"));
        let r = ResourceSpec::parse("project:DOCS=a=b.pdf").expect("project");
        assert_eq!(
            (r.level, r.path),
            (Level::Project, PathBuf::from("a=b.pdf"))
        );
        for bad in [
            "scan:NIFTI=x",
            "study:A=x",
            "session:A",
            "session:a/b=x",
            "session:A=",
        ] {
            assert!(ResourceSpec::parse(bad).is_err(), "{bad}");
        }
        let q = QualitySpec::parse("4=Unusable").expect("q");
        assert_eq!((q.scan.as_str(), q.quality), ("4", Quality::Unusable));
        assert!(QualitySpec::parse("4=bad").is_err());
        assert!(QualitySpec::parse("4").is_err());
    }

    #[test]
    fn session_label_uses_new_uid_only() {
        assert_eq!(
            session_label("DEP-AB", "2.25.123456789012345"),
            "DEP-AB_6789012345"
        );
    }
}

/// Options of a send.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// Profile name or file (default: the strict PS3.15 basic profile).
    pub profile: Option<String>,
    /// Lookup table file.
    pub lookup: Option<PathBuf>,
    /// Project label at the destination (default `DEPOSIT`).
    pub project: Option<String>,
    /// Retry policy for transient destination errors.
    pub retry: runner::RetryPolicy,
    /// Pixel-mask library (Deposit format or CTP DicomPixelAnonymizer script); the site
    /// library applies after it.
    pub masks: Option<PathBuf>,
    /// Pieces in flight at once (`None`: the default, 2).
    pub concurrency: Option<usize>,
    /// Bandwidth cap for uploads, bytes per second.
    pub max_rate: Option<u64>,
    /// How long to wait for an offline destination before leaving the job queued (`None`:
    /// until it returns — the default; `Some(0)`: do not wait).
    pub offline_wait: Option<std::time::Duration>,
    /// Non-DICOM resources to attach (XNAT).
    pub resources: Vec<ResourceSpec>,
    /// Scan QC status to set (XNAT).
    pub scan_quality: Vec<QualitySpec>,
    /// Run the text detector on every image (see [`crate::pipeline::PixelPolicy`]).
    pub detect_text: bool,
}

impl SendOptions {
    /// The delivery settings of these options.
    pub fn run_options(&self) -> runner::RunOptions {
        let d = runner::RunOptions::default();
        runner::RunOptions {
            retry: self.retry.clone(),
            concurrency: self.concurrency.unwrap_or(d.concurrency).max(1),
            max_rate: self.max_rate,
            offline_wait: self.offline_wait,
            ..d
        }
    }
}

impl From<crate::pipeline::Held> for NotPrepared {
    fn from(h: crate::pipeline::Held) -> Self {
        NotPrepared::Quarantined {
            sop: h.sop,
            quarantine: h.quarantine,
        }
    }
}

/// Reads and de-identifies one file into memory through the run's pipeline.
pub fn prepare(pipeline: &Pipeline, path: &Path) -> Result<Prepared, NotPrepared> {
    pipeline
        .prepare(Input::File(path))
        .map_err(NotPrepared::from)
}

impl super::Session {
    /// Catalogs `paths`, de-identifies every instance found, and delivers to `dest`.
    /// `progress(done, total)` covers both halves (preparing, then delivering).
    pub fn send(
        &mut self,
        paths: &[PathBuf],
        dest: &archive::DestinationSpec,
        opts: &SendOptions,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<SendSummary, ApiError> {
        self.send_with_events(paths, dest, opts, |p| progress(p.done, p.total))
    }

    /// [`Session::send`] with full progress: counts plus what delivery is doing (offline —
    /// will resume when online, paused, cancelled).
    pub fn send_with_events(
        &mut self,
        paths: &[PathBuf],
        dest: &archive::DestinationSpec,
        opts: &SendOptions,
        mut progress: impl FnMut(SendProgress),
    ) -> Result<SendSummary, ApiError> {
        // refuse bad options (a destination without credentials) before reading anything
        let destination = dest
            .open(&self.home.dir("archive"), &self.network)
            .map_err(ApiError::usage_err)?;
        self.run_profile(opts.profile.as_deref())?;
        let scan = self.scan(paths, &crate::intake::ScanOptions::default(), |_| {})?;
        let files = self.catalog.scan_instance_files(scan.scan_id)?;
        let mut summary = self.send_files_to(&files, destination.as_ref(), opts, &mut progress)?;
        summary.failed += scan.failed;
        let ignorable = ["not_dicom", "empty", "not_patient_object"];
        for s in scan
            .skipped
            .iter()
            .filter(|s| !ignorable.contains(&s.code.as_str()))
        {
            summary.problems.push(format!("{}: {}", s.path, s.reason));
        }
        Ok(summary)
    }

    /// De-identifies catalogued `files` and delivers them to `dest` (the second half of
    /// [`Self::send_with_events`]; the window sends the studies a person selected this way).
    pub fn send_files(
        &mut self,
        files: &[PathBuf],
        dest: &archive::DestinationSpec,
        opts: &SendOptions,
        progress: impl FnMut(SendProgress),
    ) -> Result<SendSummary, ApiError> {
        let destination = dest
            .open(&self.home.dir("archive"), &self.network)
            .map_err(ApiError::usage_err)?;
        self.send_files_to(files, destination.as_ref(), opts, progress)
    }

    /// [`Self::send_files`] to a destination already opened.
    fn send_files_to(
        &mut self,
        files: &[PathBuf],
        destination: &dyn archive::Destination,
        opts: &SendOptions,
        mut progress: impl FnMut(SendProgress),
    ) -> Result<SendSummary, ApiError> {
        let pipeline = self.pipeline(
            opts.profile.as_deref(),
            opts.lookup.as_deref(),
            opts.masks.as_deref(),
            opts.detect_text,
        )?;
        let profile = pipeline.profile();
        let prepare = |path: &Path| prepare(&pipeline, path);
        let mut hold = |path: &Path, sop: Option<&str>, q: &crate::deid::Quarantine| {
            self.hold(path, sop, q, profile)
                .map(|_| ())
                .map_err(|e| e.message)
        };
        let project = destination
            .project()
            .or_else(|| opts.project.clone())
            .unwrap_or_else(|| "DEPOSIT".into());
        let extras = Extras {
            resources: opts.resources.clone(),
            quality: opts.scan_quality.clone(),
            study: self.study.name.clone(),
        };
        send_with(
            self.catalog.conn(),
            &self.home.dir("outbox"),
            files,
            destination,
            &project,
            (&profile.name, &profile.sha256),
            &prepare,
            &mut hold,
            &opts.run_options(),
            &extras,
            &super::unix_now,
            &mut progress,
        )
    }
}
