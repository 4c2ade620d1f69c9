//! `deposit send PATH... --to DEST`: catalog, de-identify, queue, deliver, commit, verify.

use std::path::PathBuf;

use super::args::Common;
use super::progress::Bar;
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::send::SendOptions;
use crate::api::Session;
use crate::error::ApiError;

pub fn run(common: &Common, paths: &[PathBuf], to: &str) -> Result<u8, ApiError> {
    let mut session = Session::open_default()?;
    let bar = Bar::new(!common.json && !common.quiet, "steps");
    let opts = SendOptions {
        profile: common.profile.clone(),
        lookup: common.lookup.clone(),
        project: common.study.clone(),
        masks: common.masks.clone(),
        detect_text: common.detect_text,
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
