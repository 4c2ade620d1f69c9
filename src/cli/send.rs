//! `deposit send PATH... --to DEST`: catalog, de-identify, queue, deliver, commit, verify.

use std::path::PathBuf;

use super::args::{Common, Delivery};
use super::progress::Bar;
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::send::{QualitySpec, ResourceSpec, SendOptions};
use crate::error::ApiError;

pub(crate) fn usage(message: String) -> ApiError {
    ApiError::usage("cli.usage", message)
}

/// Applies the delivery flags to send options (`conf`: `[delivery]` of deposit.toml, used where
/// a flag is absent).
pub(crate) fn apply_delivery(
    opts: &mut SendOptions,
    d: &Delivery,
    conf: &crate::api::dto::Delivery,
) -> Result<(), ApiError> {
    if d.max_rate.is_none() {
        opts.max_rate = conf.max_rate_bytes_per_sec;
    }
    if d.concurrency.is_none() {
        opts.concurrency = conf.concurrency.map(|n| n.max(1) as usize);
    }
    if let Some(n) = d.concurrency {
        if n == 0 {
            return Err(usage("--concurrency must be at least 1".into()));
        }
        opts.concurrency = Some(n);
    }
    if let Some(r) = d.max_rate {
        opts.max_rate = Some(r);
    }
    if let Some(w) = d.offline_wait {
        opts.offline_wait = w.0;
    }
    Ok(())
}

pub fn run(
    common: &Common,
    paths: &[PathBuf],
    delivery: &Delivery,
    resources: &[String],
    scan_quality: &[String],
) -> Result<u8, ApiError> {
    // --to, else the study's destination
    let dest = common.resolved.destination.clone().ok_or_else(|| {
            usage("give --to DEST (a URL or a configured destination), or a destination for the study in deposit.toml".into())
        })?;
    let to = &common.resolved.destination(&dest)?;
    let mut opts = SendOptions {
        profile: common.resolved.profile.clone(),
        lookup: common.resolved.lookup.clone(),
        project: common
            .resolved
            .project
            .clone()
            .or_else(|| common.study.clone()),
        masks: common.resolved.masks.clone(),
        detect_text: common.detect_text,
        ..Default::default()
    };
    apply_delivery(&mut opts, delivery, &common.resolved.config.delivery)?;
    for r in resources {
        opts.resources
            .push(ResourceSpec::parse(r).map_err(|e| usage(format!("--resource {e}")))?);
    }
    for q in scan_quality {
        opts.scan_quality
            .push(QualitySpec::parse(q).map_err(|e| usage(format!("--scan-quality {e}")))?);
    }
    let mut session = common.resolved.open_session()?;
    let bar = Bar::new(!common.json && !common.quiet, "steps");
    let s = session.send_with_events(paths, to, &opts, |p| {
        bar.set(p.done, p.total);
        bar.status(p.message());
    })?;
    bar.finish();
    if common.json {
        print_json(&s)?;
    } else if !common.quiet {
        println!(
            "{} sent, {} already there, {} verified, {} quarantined, {} failed → {}",
            s.sent, s.already_present, s.verified, s.quarantined, s.failed, s.destination
        );
        if s.waiting > 0 {
            println!(
                "{} studies are waiting for the destination; they resume with 'deposit queue run'",
                s.waiting
            );
        }
        if s.paused > 0 {
            println!(
                "job {} is paused ({} studies left); continue with 'deposit queue resume {}'",
                s.job, s.paused, s.job
            );
        }
        if s.cancelled > 0 {
            println!("job {} was cancelled", s.job);
        }
        if s.quarantined > 0 {
            println!("See what was set aside and why: deposit quarantine list");
        }
        for p in &s.problems {
            println!("  {p}");
        }
    }
    // not everything delivered (paused or cancelled) is not success either
    Ok(
        if s.failed > 0 || s.waiting > 0 || s.paused > 0 || s.cancelled > 0 {
            EXIT_FAILED
        } else {
            EXIT_OK
        },
    )
}
