//! The commands the window may call: each one forwards to the engine's `deposit::api`.

use deposit::api::config::{Approval, StudySetup};
use deposit::api::deid::{InspectReport, ProfileInfo};
use deposit::api::dto::{ApiError, InstanceRow, StudyOverview};
use deposit::api::login::LoginSummary;
use deposit::api::masks::SiteRule;
use deposit::api::pixels::Preview;
use deposit::api::quarantine::{ReleaseOptions, ReleaseReport};
use deposit::api::queue::{JobSelector, QueueChange};
use deposit::api::receive::control::{ReceiverControl, ReceiverRequest};
use deposit::api::receive::ReceiverStatus;
use deposit::api::resolve;
use deposit::api::review::{Sample, SampleOptions, Signoff};
use deposit::api::settings::{Settings, SettingsChange};
use deposit::api::viewer::{DrawnMask, SavedMask};
use deposit::api::Session;
use deposit::catalog::quarantine::QuarantineRow;
use deposit::pixels::ocr::Region;
use deposit::pixels::Rect;
use deposit::queue::store::JobView;
use tauri::{AppHandle, State};

use crate::scan_job::ScanJobs;
use crate::send_job::SendJobs;
use crate::state::{settings_told, AppState};
use deposit::api::jobs::SendRequest;

/// The window's first frame is on screen (the UI calls this once, after its first paint): logs
/// how long start-up took and, when `DEPOSIT_READY_FILE` is set, writes the moment there as
/// Unix milliseconds (benches/first-window.sh times launches with it). Returns the start-up time
/// in milliseconds.
#[tauri::command]
#[specta::specta]
pub fn window_shown(started: State<'_, crate::state::Started>) -> u64 {
    started.shown()
}

/// Where the app keeps its data (`DEPOSIT_HOME` or the OS default), for display.
#[tauri::command]
#[specta::specta]
pub async fn data_home(state: State<'_, AppState>) -> Result<String, ApiError> {
    state.with(|s| Ok(s.home().root().display().to_string()))
}

/// Every catalogued study with its burned-in-risk count (names are shown locally only).
#[tauri::command]
#[specta::specta]
pub async fn studies(state: State<'_, AppState>) -> Result<Vec<StudyOverview>, ApiError> {
    state.with(Session::study_overview)
}

/// The instances of one study, in series order.
#[tauri::command]
#[specta::specta]
pub async fn study_instances(
    state: State<'_, AppState>,
    study_uid: String,
) -> Result<Vec<InstanceRow>, ApiError> {
    state.with(|s| s.study_instances(&study_uid))
}

/// Before/after tag table of one instance under a profile (nothing is written).
#[tauri::command]
#[specta::specta]
pub async fn inspect(
    state: State<'_, AppState>,
    instance: i64,
    profile: Option<String>,
) -> Result<InspectReport, ApiError> {
    state.with(|s| s.inspect(&s.instance_file(instance)?, profile.as_deref(), None))
}

/// Renders one frame of an instance (window centre/width: the file's when not given).
#[tauri::command]
#[specta::specta]
pub async fn preview(
    state: State<'_, AppState>,
    instance: i64,
    frame: u32,
    center: Option<f64>,
    width: Option<f64>,
) -> Result<Preview, ApiError> {
    state.with(|s| s.preview_instance(instance, frame, center, width))
}

/// The shipped de-identification profiles, each marked with the studies that approved it.
#[tauri::command]
#[specta::specta]
pub async fn profiles() -> Result<Vec<ProfileInfo>, ApiError> {
    resolve::profiles(&settings_told())
}

/// The configured study, its approved profile and defaults.
#[tauri::command]
#[specta::specta]
pub async fn study_settings() -> Result<StudySetup, ApiError> {
    resolve::study_view(&settings_told())
}

/// Approves a profile for the study (pins its name and SHA-256 in deposit.toml).
#[tauri::command]
#[specta::specta]
pub async fn approve_profile(
    state: State<'_, AppState>,
    profile: String,
) -> Result<Approval, ApiError> {
    let approval = resolve::approve(&settings_told(), &profile, deposit::api::unix_now())?;
    state.reopen();
    Ok(approval)
}

/// Text regions the detector finds on a frame that the drawn rectangles do not cover yet.
#[tauri::command]
#[specta::specta]
pub async fn suggest_regions(
    state: State<'_, AppState>,
    instance: i64,
    frame: u32,
    masked: Vec<Rect>,
) -> Result<Vec<Region>, ApiError> {
    state.with(|s| s.suggest_regions_for(instance, frame, &masked))
}

/// A frame with the drawn rectangles filled, as it would leave.
#[tauri::command]
#[specta::specta]
pub async fn preview_masked(
    state: State<'_, AppState>,
    instance: i64,
    frame: u32,
    regions: Vec<Rect>,
) -> Result<Preview, ApiError> {
    state.with(|s| s.preview_masked(instance, frame, &regions))
}

/// Saves drawn rectangles as a site rule for the image's scanner/size signature.
#[tauri::command]
#[specta::specta]
pub async fn save_mask(state: State<'_, AppState>, mask: DrawnMask) -> Result<SavedMask, ApiError> {
    let now = deposit::config::utc_stamp(deposit::api::unix_now());
    state.with(|s| s.save_drawn_mask(&mask, &now))
}

/// The site's mask rules.
#[tauri::command]
#[specta::specta]
pub async fn mask_rules(state: State<'_, AppState>) -> Result<Vec<SiteRule>, ApiError> {
    state.with(Session::mask_rules)
}

/// Every delivery job with its studies, states and audit records, newest first.
#[tauri::command]
#[specta::specta]
pub async fn history(state: State<'_, AppState>) -> Result<Vec<JobView>, ApiError> {
    state.with(Session::queue_list)
}

/// Every quarantine record.
#[tauri::command]
#[specta::specta]
pub async fn quarantine(state: State<'_, AppState>) -> Result<Vec<QuarantineRow>, ApiError> {
    state.with(Session::quarantine_list)
}

/// Runs a quarantined object through the pipeline again (e.g. after the lookup table got the
/// missing entry) and delivers it to `destination` if it now passes.
#[tauri::command]
#[specta::specta]
pub async fn quarantine_release(
    state: State<'_, AppState>,
    id: i64,
    destination: String,
    profile: Option<String>,
    lookup: Option<String>,
) -> Result<ReleaseReport, ApiError> {
    state.with_mut(|s| {
        let opts = ReleaseOptions::deliver(s.destination(&destination)?, profile, lookup);
        s.quarantine_release(id, &opts)
    })
}

/// Adds a held item's missing lookup entry (`keytype/ORIGINAL`, as the quarantine record has it)
/// with `value` to the existing lookup table `file`, before releasing the item.
#[tauri::command]
#[specta::specta]
pub async fn add_lookup_entry(
    file: String,
    missing_key: String,
    value: String,
) -> Result<(), ApiError> {
    deposit::api::lookup::add_entry(std::path::Path::new(&file), &missing_key, &value)
}

/// Which of `patient_ids` the lookup table `file` lacks (shown as a badge on their studies).
#[tauri::command]
#[specta::specta]
pub async fn lookup_gaps(file: String, patient_ids: Vec<String>) -> Result<Vec<String>, ApiError> {
    deposit::api::preflight::lookup_gaps(std::path::Path::new(&file), &patient_ids)
}

/// Deletes a quarantined object's copy for good (the record stays, marked discarded).
#[tauri::command]
#[specta::specta]
pub async fn quarantine_discard(state: State<'_, AppState>, id: i64) -> Result<(), ApiError> {
    state.with_mut(|s| s.quarantine_discard(id))
}

/// Starts reading `paths` in the background and returns at once; progress, the result or the
/// failure arrive as `ScanProgress`, `ScanFinished` and `ScanFailed` events.
#[tauri::command]
#[specta::specta]
pub fn start_scan(
    app: AppHandle,
    jobs: State<'_, ScanJobs>,
    paths: Vec<String>,
) -> Result<(), ApiError> {
    jobs.start(app, paths)
}

/// Starts de-identifying and delivering the chosen studies and returns at once; progress and
/// the result arrive as `SendProgress`, `SendFinished` and `SendFailed` events.
#[tauri::command]
#[specta::specta]
pub fn start_send(
    app: AppHandle,
    jobs: State<'_, SendJobs>,
    request: SendRequest,
) -> Result<(), ApiError> {
    jobs.start(app, request)
}

/// Pauses one job, or every job: a running send starts no new piece.
#[tauri::command]
#[specta::specta]
pub async fn queue_pause(
    state: State<'_, AppState>,
    job: Option<i64>,
) -> Result<QueueChange, ApiError> {
    state.with(|s| s.queue_pause(JobSelector::from_id(job)))
}

/// Unpauses one job, or every job, and resumes the work at once.
#[tauri::command]
#[specta::specta]
pub async fn queue_resume(
    app: AppHandle,
    state: State<'_, AppState>,
    jobs: State<'_, SendJobs>,
    job: Option<i64>,
) -> Result<QueueChange, ApiError> {
    let change = state.with(|s| s.queue_resume(JobSelector::from_id(job)))?;
    jobs.resume(app);
    Ok(change)
}

/// Tries a job's failed studies again, at once.
#[tauri::command]
#[specta::specta]
pub async fn queue_retry(
    app: AppHandle,
    state: State<'_, AppState>,
    jobs: State<'_, SendJobs>,
    job: i64,
) -> Result<QueueChange, ApiError> {
    let change = state.with(|s| s.queue_retry(JobSelector::Job(job)))?;
    jobs.resume(app);
    Ok(change)
}

/// Cancels a job: nothing more is sent; what was delivered keeps its audit record.
#[tauri::command]
#[specta::specta]
pub async fn queue_cancel(state: State<'_, AppState>, job: i64) -> Result<QueueChange, ApiError> {
    state.with(|s| s.queue_cancel(JobSelector::Job(job)))
}

/// Starts the DICOM receiver (C-STORE + C-ECHO) on this computer.
#[tauri::command]
#[specta::specta]
pub async fn receiver_start(
    receiver: State<'_, ReceiverControl>,
    request: ReceiverRequest,
) -> Result<ReceiverStatus, ApiError> {
    receiver.start(&resolve::resolve(&settings_told())?, request)
}

/// The receiver's status (none when stopped).
#[tauri::command]
#[specta::specta]
pub async fn receiver_status(
    receiver: State<'_, ReceiverControl>,
) -> Result<Option<ReceiverStatus>, ApiError> {
    receiver.status()
}

/// Stops the receiver after the associations in flight.
#[tauri::command]
#[specta::specta]
pub async fn receiver_stop(
    receiver: State<'_, ReceiverControl>,
) -> Result<Option<ReceiverStatus>, ApiError> {
    receiver.stop()
}

/// The settings kept in deposit.toml.
#[tauri::command]
#[specta::specta]
pub async fn settings() -> Result<Settings, ApiError> {
    deposit::api::settings::settings(settings_told().config_file())
}

/// Changes a setting (checked first); the new settings.
#[tauri::command]
#[specta::specta]
pub async fn change_settings(
    state: State<'_, AppState>,
    change: SettingsChange,
) -> Result<Settings, ApiError> {
    let s = deposit::api::settings::change(settings_told().config_file(), &change)?;
    state.reopen();
    Ok(s)
}

/// Checks that a destination answers (and, for XNAT, that the user may write to the project).
#[tauri::command]
#[specta::specta]
pub async fn test_destination(
    state: State<'_, AppState>,
    destination: String,
) -> Result<String, ApiError> {
    let home = state.with(|s| Ok(s.home().root().to_path_buf()))?;
    tauri::async_runtime::spawn_blocking(move || {
        deposit::api::settings::test_destination(settings_told().config_file(), &destination, &home)
    })
    .await
    .map_err(|e| ApiError {
        code: "app.thread".into(),
        message: format!("the connection test stopped: {e}"),
        class: deposit::error::ErrorClass::Transient,
        usage: false,
    })?
}

/// Checks a secret with the destination and stores it in the OS keyring.
#[tauri::command]
#[specta::specta]
pub async fn login(destination: String, secret: String) -> Result<LoginSummary, ApiError> {
    deposit::api::settings::login(settings_told().config_file(), &destination, &secret)
}

/// Picks `per_series` instances of every series under `paths` (deterministic from `seed`) for
/// a coordinator to look at.
#[tauri::command]
#[specta::specta]
pub async fn review_sample(
    state: State<'_, AppState>,
    paths: Vec<String>,
    per_series: u32,
    seed: u32,
) -> Result<Sample, ApiError> {
    let roots: Vec<std::path::PathBuf> = paths.into_iter().map(Into::into).collect();
    let opts = SampleOptions {
        per_series,
        seed: u64::from(seed),
    };
    state.with_mut(|s| s.sample(&roots, &opts))
}

/// Records that the reviewer looked at these instances and found them fit.
#[tauri::command]
#[specta::specta]
pub async fn record_signoff(
    state: State<'_, AppState>,
    instances: Vec<i64>,
    reviewer: String,
    note: String,
) -> Result<Signoff, ApiError> {
    state.with_mut(|s| s.record_signoff(&instances, &reviewer, &note))
}

/// Every sign-off, newest first.
#[tauri::command]
#[specta::specta]
pub async fn signoffs(state: State<'_, AppState>) -> Result<Vec<Signoff>, ApiError> {
    state.with(Session::signoffs)
}
