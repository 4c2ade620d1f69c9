//! `deposit send PATH... --to DEST`: catalog, de-identify, queue, deliver, commit, verify.

use std::path::PathBuf;

use super::args::Common;
use super::progress::Bar;
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::send::SendOptions;
use crate::error::ApiError;

pub fn run(common: &Common, paths: &[PathBuf], to: Option<&str>) -> Result<u8, ApiError> {
    let dest = to
        .map(str::to_string)
        .or_else(|| common.resolved.destination.clone())
        .ok_or_else(|| ApiError {
            code: "cli.usage".into(),
            message: "give --to DEST (a URL or a configured destination), or a destination for the study in deposit.toml".into(),
            class: crate::error::ErrorClass::Permanent,
            usage: true,
        })?;
    let to = common.resolved.config.destination_url(&dest);
    let to = to.as_str();
    let mut session = super::settings::open_session(common)?;
    let bar = Bar::new(!common.json && !common.quiet, "steps");
    let opts = SendOptions {
        profile: common.profile.clone(),
        lookup: common.lookup.clone(),
        project: common
            .resolved
            .project
            .clone()
            .or_else(|| common.study.clone()),
        masks: common.masks.clone(),
        ..Default::default()
    };
    let s = session.send(paths, to, &opts, |done, total| bar.set(done, total))?;
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
        if s.quarantined > 0 {
            println!("See what was set aside and why: deposit quarantine list");
        }
        for p in &s.problems {
            println!("  {p}");
        }
    }
    Ok(if s.failed > 0 || s.waiting > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
