//! The commands of the window and the web UI, each defined once: its name, its arguments, its
//! result and its body (calling the front door's [`Host`] and its [`super::Session`]).
//!
//! The table is [`deposit_commands!`](crate::deposit_commands), a macro that hands every entry
//! to a macro of the caller's choosing. Expanded here it gives, per command, a module
//! `commands::<name>` with `Args` (what the web UI posts), `Output`
//! and `run(&Host, Args)`, plus [`call_json`], the web server's dispatch. The desktop shell
//! expands the same table into its Tauri commands, from which the TypeScript bindings are
//! generated.
//!
//! Adding a command: one entry in the table (its doc comment, name, arguments, result, body),
//! then regenerate the bindings (`DEPOSIT_UPDATE_BINDINGS=1 cargo test -p deposit-app --test
//! bindings`) and call `backend.<camelCaseName>(…)` from a screen; the desktop, the web server
//! and every transport of the UI pick it up from there.

use serde_json::Value;

use super::host::Host;

/// Every type the commands take or give, under one path (the table names them from here, so
/// front doors reach them through `api` only).
pub mod types {
    pub use crate::api::archive_view::{Gaps, SessionPage, SessionQuery};
    pub use crate::api::certificate::PinnedCertificate;
    pub use crate::api::compare::approve::{ApproveOutcome, ApproveRequest};
    pub use crate::api::compare::{CompareReport, CompareRequest};
    pub use crate::api::config::{Approval, StudyChoice, StudySetup};
    pub use crate::api::deid::{InspectReport, ProfileInfo};
    pub use crate::api::dto::{InstanceRow, StudyOverview};
    pub use crate::api::fetch::FetchRequest;
    pub use crate::api::host::FetchStatus;
    pub use crate::api::jobs::SendRequest;
    pub use crate::api::login::LoginSummary;
    pub use crate::api::masks::SiteRule;
    pub use crate::api::network::NetworkSettings;
    pub use crate::api::pixels::Preview;
    pub use crate::api::quarantine::{ReleaseOptions, ReleaseReport};
    pub use crate::api::queue::{JobSelector, QueueChange};
    pub use crate::api::receive::control::ReceiverRequest;
    pub use crate::api::receive::ReceiverStatus;
    pub use crate::api::report::{AuditSummary, ReportFile, ReportRequest};
    pub use crate::api::review::{Sample, SampleOptions, Signoff};
    pub use crate::api::settings::{Settings, SettingsChange};
    pub use crate::api::viewer::{DrawnMask, SavedMask};
    pub use crate::archive::browse::ScanRow;
    pub use crate::archive::spec::ConnectionReport;
    pub use crate::archive::tls::Presented;
    pub use crate::archive::Quality;
    pub use crate::catalog::approvals::ApprovalRecord;
    pub use crate::catalog::quarantine::QuarantineRow;
    pub use crate::catalog::SkippedPage;
    pub use crate::pixels::ocr::Region;
    pub use crate::pixels::Rect;
    pub use crate::queue::store::JobView;
}

/// The command table: calls `$then!` with every command as
/// `/// doc  fn name(host, arg: Type, …) -> Output { body }` (the body sees `host: &Host` and
/// the arguments by value, and returns `Result<Output, ApiError>`). An argument may carry serde
/// attributes (for names the web UI also accepts). Types are spelled with `$crate` paths so the
/// expansion works in any crate.
#[macro_export]
macro_rules! deposit_commands {
    ($then:ident) => {
        $then! {
            /// Where the app keeps its data (`DEPOSIT_HOME` or the OS default), for display.
            fn data_home(host) -> String {
                Ok(host.home()?.display().to_string())
            }
            /// Every catalogued study with its burned-in-risk count (names are shown locally only).
            fn studies(host) -> Vec<$crate::api::commands::types::StudyOverview> {
                host.with(|s| s.study_overview())
            }
            /// The instances of one study, in series order.
            fn study_instances(host, study_uid: String) -> Vec<$crate::api::commands::types::InstanceRow> {
                host.with(|s| s.study_instances(&study_uid))
            }
            /// Before/after tag table of one instance under a profile (nothing is written).
            fn inspect(host, instance: i64, profile: Option<String>) -> $crate::api::commands::types::InspectReport {
                host.reach_profile(profile.as_deref())?;
                host.with(|s| s.inspect(&s.instance_file(instance)?, profile.as_deref(), None))
            }
            /// Renders one frame of an instance (window centre/width: the file's when not given).
            fn preview(
                host,
                instance: i64,
                frame: u32,
                center: Option<f64>,
                width: Option<f64>,
            ) -> $crate::api::commands::types::Preview {
                host.with(|s| s.preview_instance(instance, frame, center, width))
            }
            /// The shipped de-identification profiles, each marked with the studies that approved it.
            fn profiles(host) -> Vec<$crate::api::commands::types::ProfileInfo> {
                $crate::api::resolve::profiles(&host.settings())
            }
            /// The configured study, its approved profile and defaults.
            fn study_settings(host) -> $crate::api::commands::types::StudySetup {
                $crate::api::resolve::study_view(&host.settings())
            }
            /// Every study configured in deposit.toml (for the study picker).
            fn configured_studies(host) -> Vec<$crate::api::commands::types::StudyChoice> {
                $crate::api::resolve::configured_studies(&host.settings())
            }
            /// Works for the study `name` from now on (its destination, approved profile, lookup
            /// table, masks, project label); none: the only configured one.
            fn choose_study(host, name: Option<String>) -> $crate::api::commands::types::StudySetup {
                host.choose_study(name)
            }
            /// Approves a profile for the study (pins its name and SHA-256 in deposit.toml). A change
            /// after deliveries is refused here (`profile.linkage_unchecked`): it goes through
            /// `approve_profile_checked` with sample data.
            fn approve_profile(host, profile: String) -> $crate::api::commands::types::Approval {
                let request = $crate::api::commands::types::ApproveRequest {
                    profile,
                    ..Default::default()
                };
                $crate::api::compare::approve_for(host, &request, None).map(|o| o.approval)
            }
            /// Runs the profile in force (OLD) and a proposed one (NEW) on sample data in memory and
            /// reports what NEW does differently, attribute by attribute (no values), and whether
            /// linkage with the delivered studies is kept.
            fn profile_compare(
                host,
                request: $crate::api::commands::types::CompareRequest,
                study: Option<String>,
            ) -> $crate::api::commands::types::CompareReport {
                $crate::api::compare::compare_for(host, &request, study)
            }
            /// Approves a profile for the study after the linkage check (a change after deliveries
            /// needs a sample; a break needs an acknowledgement with a reason and an approver),
            /// and records the approval.
            fn approve_profile_checked(
                host,
                request: $crate::api::commands::types::ApproveRequest,
                study: Option<String>,
            ) -> $crate::api::commands::types::ApproveOutcome {
                $crate::api::compare::approve_for(host, &request, study)
            }
            /// The recorded profile approvals of the study, newest first.
            fn profile_approvals(host, study: Option<String>) -> Vec<$crate::api::commands::types::ApprovalRecord> {
                $crate::api::compare::approvals_for(host, study)
            }
            /// Text regions the detector finds on a frame that the drawn rectangles do not cover yet.
            fn suggest_regions(
                host,
                instance: i64,
                frame: u32,
                masked: Vec<$crate::api::commands::types::Rect>,
            ) -> Vec<$crate::api::commands::types::Region> {
                host.with(|s| s.suggest_regions_for(instance, frame, &masked))
            }
            /// A frame with the drawn rectangles filled, as it would leave.
            fn preview_masked(
                host,
                instance: i64,
                frame: u32,
                regions: Vec<$crate::api::commands::types::Rect>,
            ) -> $crate::api::commands::types::Preview {
                host.with(|s| s.preview_masked(instance, frame, &regions))
            }
            /// Saves drawn rectangles as a site rule for the image's scanner/size signature.
            fn save_mask(
                host,
                mask: $crate::api::commands::types::DrawnMask,
            ) -> $crate::api::commands::types::SavedMask {
                let now = $crate::calendar::utc_stamp($crate::api::unix_now());
                host.with(|s| s.save_drawn_mask(&mask, &now))
            }
            /// The site's mask rules.
            fn mask_rules(host) -> Vec<$crate::api::commands::types::SiteRule> {
                host.with(|s| s.mask_rules())
            }
            /// Every delivery job with its studies, states and audit records, newest first.
            fn history(host) -> Vec<$crate::api::commands::types::JobView> {
                host.with(|s| s.queue_list())
            }
            /// Every quarantine record.
            fn quarantine(host) -> Vec<$crate::api::commands::types::QuarantineRow> {
                host.with(|s| s.quarantine_list())
            }
            /// Runs a quarantined object through the pipeline again (e.g. after the lookup table got the
            /// missing entry) and delivers it to `destination` if it now passes.
            fn quarantine_release(
                host,
                id: i64,
                destination: String,
                profile: Option<String>,
                lookup: Option<String>,
            ) -> $crate::api::commands::types::ReleaseReport {
                host.reach_destination(&destination)?;
                host.reach_profile(profile.as_deref())?;
                if let Some(l) = lookup.as_deref().filter(|l| !l.trim().is_empty()) {
                    host.reach_path(l, "that lookup table")?;
                }
                host.with(|s| {
                    let opts = $crate::api::commands::types::ReleaseOptions::deliver(
                        s.destination(&destination)?,
                        profile,
                        lookup,
                    );
                    s.quarantine_release(id, &opts)
                })
            }
            /// Deletes a quarantined object's copy for good (the record stays, marked discarded).
            fn quarantine_discard(host, id: i64) -> () {
                host.with(|s| s.quarantine_discard(id))
            }
            /// Adds a held item's missing lookup entry (`keytype/ORIGINAL`, as the quarantine record has it)
            /// with `value` to the existing lookup table `file`, before releasing the item.
            fn add_lookup_entry(host, file: String, missing_key: String, value: String) -> () {
                host.reach_path(&file, "that lookup table")?;
                $crate::api::lookup::add_entry(::std::path::Path::new(&file), &missing_key, &value)
            }
            /// Which of `patient_ids` the lookup table `file` lacks (shown as a badge on their studies).
            fn lookup_gaps(host, file: String, patient_ids: Vec<String>) -> Vec<String> {
                host.reach_path(&file, "that lookup table")?;
                $crate::api::preflight::lookup_gaps(::std::path::Path::new(&file), &patient_ids)
            }
            /// Pauses one job, or every job: a running send starts no new piece.
            fn queue_pause(host, job: Option<i64>) -> $crate::api::commands::types::QueueChange {
                host.with(|s| {
                    s.queue_pause($crate::api::commands::types::JobSelector::from_id(job))
                })
            }
            /// Unpauses one job, or every job, and resumes the work at once.
            fn queue_resume(host, job: Option<i64>) -> $crate::api::commands::types::QueueChange {
                let change = host.with(|s| {
                    s.queue_resume($crate::api::commands::types::JobSelector::from_id(job))
                })?;
                host.resume();
                Ok(change)
            }
            /// Tries a job's failed studies again, at once.
            fn queue_retry(
                host,
                #[serde(alias = "id")]
                job: i64,
            ) -> $crate::api::commands::types::QueueChange {
                let change = host.with(|s| {
                    s.queue_retry($crate::api::commands::types::JobSelector::Job(job))
                })?;
                host.resume();
                Ok(change)
            }
            /// Cancels a job: nothing more is sent; what was delivered keeps its audit record.
            fn queue_cancel(
                host,
                #[serde(alias = "id")]
                job: i64,
            ) -> $crate::api::commands::types::QueueChange {
                host.with(|s| s.queue_cancel($crate::api::commands::types::JobSelector::Job(job)))
            }
            /// Picks `per_series` instances of every series under `paths` (deterministic from `seed`) for
            /// a coordinator to look at.
            fn review_sample(
                host,
                paths: Vec<String>,
                per_series: u32,
                seed: u32,
            ) -> $crate::api::commands::types::Sample {
                let roots: Vec<::std::path::PathBuf> = paths.into_iter().map(Into::into).collect();
                let opts = $crate::api::commands::types::SampleOptions {
                    per_series,
                    seed: u64::from(seed),
                };
                host.with(|s| s.sample(&roots, &opts))
            }
            /// Records that the reviewer looked at these instances and found them fit.
            fn record_signoff(
                host,
                instances: Vec<i64>,
                reviewer: String,
                note: String,
            ) -> $crate::api::commands::types::Signoff {
                host.with(|s| s.record_signoff(&instances, &reviewer, &note))
            }
            /// A page of an archive's sessions (XNAT or the folder archive), from the listing kept in
            /// the data home (listed first when there is none, or with `refresh`).
            fn archive_sessions(
                host,
                destination: String,
                query: $crate::api::commands::types::SessionQuery,
            ) -> $crate::api::commands::types::SessionPage {
                host.reach_destination(&destination)?;
                host.with(|s| s.archive_sessions(&destination, &query, $crate::api::unix_now()))
            }
            /// One archived session's scans: files, bytes, QC status (read from the archive now).
            fn archive_scans(
                host,
                destination: String,
                subject: String,
                session: String,
            ) -> Vec<$crate::api::commands::types::ScanRow> {
                host.reach_destination(&destination)?;
                host.with(|s| s.archive_scans(&destination, &subject, &session))
            }
            /// Sets a scan's QC status in the archive (XNAT) and returns the session's scans.
            fn archive_set_quality(
                host,
                destination: String,
                subject: String,
                session: String,
                scan: String,
                quality: $crate::api::commands::types::Quality,
            ) -> Vec<$crate::api::commands::types::ScanRow> {
                host.reach_destination(&destination)?;
                host.with(|s| s.archive_set_quality(&destination, &subject, &session, &scan, quality))
            }
            /// Expected vs present: the lookup table's subjects not in the archive, and delivered
            /// sessions whose file counts differ from the audit records.
            fn archive_gaps(
                host,
                destination: String,
                lookup: Option<String>,
            ) -> $crate::api::commands::types::Gaps {
                host.reach_destination(&destination)?;
                let lookup = lookup.filter(|l| !l.trim().is_empty());
                if let Some(l) = lookup.as_deref() {
                    host.reach_path(l, "that lookup table")?;
                }
                host.with(|s| {
                    s.archive_gaps(
                        &destination,
                        lookup.as_deref().map(::std::path::Path::new),
                        $crate::api::unix_now(),
                    )
                })
            }
            /// Starts downloading a subject, a session or scans into a folder (checked, resumable);
            /// `fetch_status` tells how it goes.
            fn fetch_start(host, request: $crate::api::commands::types::FetchRequest) -> () {
                host.start_fetch(request)
            }
            /// The download's state: progress, and what it did once finished.
            fn fetch_status(host) -> $crate::api::commands::types::FetchStatus {
                Ok(host.fetch_status())
            }
            /// Stops the download (what is done stays done; starting it again finishes it).
            fn fetch_stop(host) -> () {
                host.stop_fetch();
                Ok(())
            }
            /// Every sign-off, newest first.
            fn signoffs(host) -> Vec<$crate::api::commands::types::Signoff> {
                host.with(|s| s.signoffs())
            }
            /// A job study's audit record (as `history` gives it) in words, with times at
            /// `utc_offset_minutes` east of UTC (the reader's; absent: this machine's time zone).
            fn audit_summary(
                host,
                audit: ::serde_json::Value,
                utc_offset_minutes: Option<i32>,
            ) -> $crate::api::commands::types::AuditSummary {
                let _ = host;
                $crate::api::report::describe_audit(&audit, utc_offset_minutes)
            }
            /// The readable report of a study (or all) over a period: one HTML file, or the
            /// deliveries CSV and the quarantine decisions CSV; no identity in it.
            fn report(
                host,
                request: $crate::api::commands::types::ReportRequest,
            ) -> Vec<$crate::api::commands::types::ReportFile> {
                host.with(|s| s.report_files(&request, $crate::api::unix_now()))
            }
            /// Writes the report at `path` (CSV: the quarantine decisions beside it); the files
            /// written.
            fn save_report(
                host,
                request: $crate::api::commands::types::ReportRequest,
                path: String,
            ) -> Vec<String> {
                let p = ::std::path::Path::new(&path);
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    host.reach_path(&dir.to_string_lossy(), "that folder")?;
                }
                host.with(|s| s.save_report(&request, p, $crate::api::unix_now()))
            }
            /// The settings kept in deposit.toml.
            fn settings(host) -> $crate::api::commands::types::Settings {
                let _ = host;
                $crate::api::settings::settings(host.settings().config_file())
            }
            /// Changes a setting (checked first); the new settings.
            fn change_settings(
                host,
                change: $crate::api::commands::types::SettingsChange,
            ) -> $crate::api::commands::types::Settings {
                let settings = $crate::api::settings::change(host.settings().config_file(), &change);
                host.reopen();
                settings
            }
            /// Checks that a destination answers (and, for XNAT, that the user may write to the project).
            fn test_destination(host, destination: String) -> $crate::api::commands::types::ConnectionReport {
                host.reach_destination(&destination)?;
                $crate::api::settings::test_destination(&host.settings(), &destination, &host.home()?)
            }
            /// The certificate a destination's server presents (SHA-256, trusted or not), for a
            /// person to confirm with the archive's administrator before pinning it.
            fn destination_certificate(host, destination: String) -> $crate::api::commands::types::Presented {
                host.reach_destination(&destination)?;
                $crate::api::certificate::presented(&host.settings(), &destination)
            }
            /// Trusts exactly the certificate with this SHA-256 for a named destination
            /// (`pin_sha256` in deposit.toml).
            fn destination_pin(host, name: String, sha256: String) -> $crate::api::commands::types::PinnedCertificate {
                let pinned = $crate::api::certificate::pin(host.settings().config_file(), &name, &sha256);
                host.reopen();
                pinned
            }
            /// Checks a secret with the destination and stores it in the OS keyring.
            fn login(host, destination: String, secret: String) -> $crate::api::commands::types::LoginSummary {
                host.reach_destination(&destination)?;
                $crate::api::settings::login(&host.settings(), &destination, &secret)
            }
            /// The proxy HTTP destinations go through and where that choice came from (Settings → Network).
            fn network_settings(host) -> $crate::api::commands::types::NetworkSettings {
                $crate::api::network::network_settings(&host.settings())
            }
            /// Sets or clears `[network] proxy` and `no_proxy` (empty clears) and stores the proxy password
            /// in the OS keyring when one is given; the new network settings.
            fn set_network_proxy(
                host,
                proxy: Option<String>,
                no_proxy: Option<String>,
                password: Option<String>,
            ) -> $crate::api::commands::types::NetworkSettings {
                let settings = $crate::api::network::set_network_proxy(&host.settings(), proxy, no_proxy, password);
                host.reopen();
                settings
            }
            /// Starts the DICOM receiver (C-STORE + C-ECHO) on this computer.
            fn receiver_start(
                host,
                request: $crate::api::commands::types::ReceiverRequest,
            ) -> $crate::api::commands::types::ReceiverStatus {
                host.reach_receiver(&request)?;
                host.receiver().start(&$crate::api::resolve::resolve(&host.settings())?, request)
            }
            /// The receiver's status (none when stopped).
            fn receiver_status(host) -> Option<$crate::api::commands::types::ReceiverStatus> {
                host.receiver().status()
            }
            /// Stops the receiver after the associations in flight.
            fn receiver_stop(host) -> Option<$crate::api::commands::types::ReceiverStatus> {
                host.receiver().stop()
            }
            /// The files the latest scan did not read, `limit` (at most 1,000) from `offset`, by path,
            /// with how many there are (the scan-finished event lists only the first few).
            fn scan_skipped(host, offset: u32, limit: u32) -> $crate::api::commands::types::SkippedPage {
                host.with(|s| s.scan_skipped(offset.into(), limit.into()))
            }
            /// Starts reading `paths` in the background and returns at once; progress, the result or the
            /// failure arrive as `ScanProgress`, `ScanFinished` and `ScanFailed` events.
            fn start_scan(host, paths: Vec<String>) -> () {
                host.start_scan(paths)
            }
            /// Starts de-identifying and delivering the chosen studies and returns at once; progress and
            /// the result arrive as `SendProgress`, `SendFinished` and `SendFailed` events.
            fn start_send(host, request: $crate::api::commands::types::SendRequest) -> () {
                host.start_send(request)
            }
        }
    };
}

/// How a command called by name (the web server's dispatch) went.
#[derive(Debug)]
pub enum Call {
    /// It ran; its result as JSON, or its error.
    Done(Result<Value, crate::error::ApiError>),
    /// No command has that name.
    Unknown,
    /// The arguments do not fit the command (serde's reason).
    BadArgs(String),
    /// The result could not be encoded as JSON (serde's reason).
    Unencodable(String),
}

fn encode<T: serde::Serialize>(r: Result<T, crate::error::ApiError>) -> Call {
    match r {
        Ok(v) => match serde_json::to_value(v) {
            Ok(v) => Call::Done(Ok(v)),
            Err(e) => Call::Unencodable(e.to_string()),
        },
        Err(e) => Call::Done(Err(e)),
    }
}

/// Expands the table into one module per command and [`call_json`].
macro_rules! define_commands {
    ($(
        $(#[$meta:meta])*
        fn $name:ident($host:ident $(, $(#[$fattr:meta])* $arg:ident : $ty:ty)* $(,)?) -> $out:ty $body:block
    )*) => {
        $(
            $(#[$meta])*
            pub mod $name {
                #[allow(unused_imports)]
                use super::types::*;

                /// The command's arguments, named as the web UI posts them (the desktop shell
                /// takes them one by one, each a `specta::Type`, for its typed bindings).
                #[derive(Debug, serde::Deserialize)]
                pub struct Args {
                    $(
                        $(#[$fattr])*
                        #[allow(missing_docs)]
                        pub $arg: $ty,
                    )*
                }

                /// What the command answers.
                pub type Output = $out;

                /// Runs the command for the front door holding `host`.
                #[allow(clippy::unused_unit)]
                pub fn run(
                    $host: &$crate::api::host::Host,
                    args: Args,
                ) -> Result<Output, $crate::error::ApiError> {
                    let Args { $($arg,)* } = args;
                    $body
                }
            }
        )*

        /// Every command's name, in the table's order.
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Runs the command `name` with its arguments as a JSON object (the web server's
        /// dispatch; `null` counts as no arguments).
        pub fn call_json(host: &Host, name: &str, args: Value) -> Call {
            let args = if args.is_null() {
                Value::Object(Default::default())
            } else {
                args
            };
            match name {
                $(
                    stringify!($name) => match serde_json::from_value::<$name::Args>(args) {
                        Ok(a) => encode($name::run(host, a)),
                        Err(e) => Call::BadArgs(e.to_string()),
                    },
                )*
                _ => Call::Unknown,
            }
        }
    };
}

deposit_commands!(define_commands);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(home: &std::path::Path) -> Host {
        Host::with_session(super::super::Session::open(home).expect("open"), |_| {})
    }

    #[test]
    fn calls_by_name_with_json_arguments() {
        let home = tempfile::tempdir().expect("tempdir");
        let h = host(home.path());
        match call_json(&h, "data_home", json!({})) {
            Call::Done(Ok(v)) => assert_eq!(v, json!(home.path().display().to_string())),
            other => panic!("data_home: {other:?}"),
        }
        match call_json(&h, "studies", Value::Null) {
            Call::Done(Ok(v)) => assert_eq!(v, json!([])),
            other => panic!("studies: {other:?}"),
        }
        assert!(matches!(call_json(&h, "nope", json!({})), Call::Unknown));
        assert!(matches!(
            call_json(&h, "inspect", json!({"instance": "x"})),
            Call::BadArgs(_)
        ));
    }

    #[test]
    fn queue_commands_take_job_or_the_older_id() {
        let a: queue_retry::Args = serde_json::from_value(json!({"id": 7})).expect("id");
        assert_eq!(a.job, 7);
        let a: queue_cancel::Args = serde_json::from_value(json!({"job": 8})).expect("job");
        assert_eq!(a.job, 8);
    }

    #[test]
    fn names_are_unique() {
        let mut names = NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NAMES.len());
        assert!(NAMES.contains(&"start_send"));
    }
}
