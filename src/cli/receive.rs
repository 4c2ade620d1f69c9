//! `deposit receive`: runs the DICOM receiver until SIGTERM or SIGINT (or, as a Windows
//! service, the service manager's stop), then stops gracefully.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::args::Common;
use super::{print_json, EXIT_OK};
use crate::api::receive::{self, ReceiverOptions};
use crate::error::ApiError;

/// The receiver's flags.
pub use super::args::ReceiveFlags as Flags;

/// Log settings for `receive`: one level more than other commands (associations and forwards
/// are info) and the log file in the data home beside stderr (the journal).
pub fn logging(verbose: u8, name: &str) -> (u8, Option<crate::logging::RotatingLog>) {
    // (set up before the settings are resolved: the data home is the environment's)
    let home = crate::api::resolve::Overrides::from_env().home;
    (
        verbose.saturating_add(1),
        receive::default_log(home.as_deref(), name),
    )
}

pub fn run(common: &Common, f: Flags) -> Result<u8, ApiError> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // a second signal while stopping ends the process at once
        signal_hook::flag::register_conditional_shutdown(sig, 1, stop.clone())
            .and_then(|_| signal_hook::flag::register(sig, stop.clone()))
            .map_err(|e| {
                ApiError::permanent(
                    "receive.signals",
                    format!("cannot install signal handlers: {e}"),
                )
            })?;
    }
    run_until(common, f, &stop)
}

/// Runs the receiver until `stop` is set (a signal, or the Windows service manager's stop),
/// then stops it gracefully: associations in flight finish.
pub fn run_until(common: &Common, f: Flags, stop: &AtomicBool) -> Result<u8, ApiError> {
    let defaults = ReceiverOptions::default();
    let limits = defaults.limits.clone();
    // flags win, then `[receiver]` in deposit.toml, then the defaults
    let r = &common.resolved;
    let conf = &r.config.receiver;
    let forward = f
        .forward
        .or_else(|| conf.forward.clone())
        .map(|d| r.destination(&d))
        .transpose()?;
    let opts = ReceiverOptions {
        aet: f.aet.or_else(|| conf.aet.clone()).unwrap_or(defaults.aet),
        bind: f
            .bind
            .or_else(|| conf.bind.clone())
            .unwrap_or(defaults.bind),
        port: f.port.or(conf.port).unwrap_or(defaults.port),
        allow: if f.allow_ae.is_empty() {
            conf.allow_ae.clone()
        } else {
            f.allow_ae
        },
        max_associations: f
            .max_associations
            .or(conf.max_associations)
            .unwrap_or(defaults.max_associations),
        forward,
        quiet_period_secs: f
            .quiet_period
            .or(conf.quiet_period_secs)
            .unwrap_or(defaults.quiet_period_secs),
        profile: r.profile.clone(),
        lookup: r.lookup.clone(),
        masks: r.masks.clone(),
        project: common.study.clone(),
        resume_every_secs: f.resume_every,
        network: r.network(),
        routes: crate::api::receive::routes(&r.overrides)?,
        limits: receive::ReceiverLimits {
            max_per_ae: f
                .max_per_ae
                .or(conf.max_per_ae)
                .unwrap_or(limits.max_per_ae),
            max_pending: f
                .max_pending
                .or(conf.max_pending)
                .unwrap_or(limits.max_pending),
            setup_timeout_secs: f
                .setup_timeout
                .or(conf.setup_timeout_secs)
                .unwrap_or(limits.setup_timeout_secs),
            data_set_timeout_secs: f
                .data_set_timeout
                .or(conf.data_set_timeout_secs)
                .unwrap_or(limits.data_set_timeout_secs),
            ..limits.clone()
        },
        ..defaults
    };
    let handle = receive::start_default(r.home.as_deref(), opts, |_| {})?;
    let st = handle.status();
    if !common.quiet {
        eprintln!(
            "deposit: receiving as {} on {}{}; stop with Ctrl-C",
            st.aet,
            st.address,
            st.forward
                .as_deref()
                .map(|d| format!(", forwarding to {d}"))
                .unwrap_or_default()
        );
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
    }
    if !common.quiet {
        eprintln!("deposit: stopping (associations in flight may finish)");
    }
    let end = handle.stop();
    if common.json {
        print_json(&end)?;
    } else if !common.quiet {
        println!(
            "{} instances received, {} refused, {} associations",
            end.instances_received, end.instances_failed, end.associations_total
        );
    }
    Ok(EXIT_OK)
}
