//! `deposit queue [list|run]`: what is queued, sent and verified; resume unfinished work.

use super::args::Common;
use super::progress::Bar;
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::Session;
use crate::error::{ApiError, ErrorClass};
use crate::queue::runner::RetryPolicy;

pub fn run(common: &Common, action: Option<&str>) -> Result<u8, ApiError> {
    let session = Session::open_default()?;
    match action.unwrap_or("list") {
        "list" => {
            let jobs = session.queue_list()?;
            if common.json {
                print_json(&serde_json::json!({ "jobs": jobs }))?;
            } else if !common.quiet {
                if jobs.is_empty() {
                    println!("The queue is empty.");
                }
                for j in &jobs {
                    println!("job {} → {}", j.id, j.destination);
                    for s in &j.studies {
                        println!(
                            "  {}/{}/{}: {:?}, {} files, {}/{} pieces{}",
                            s.labels.project,
                            s.labels.subject,
                            s.labels.session,
                            s.state,
                            s.files,
                            s.pieces_done,
                            s.pieces,
                            s.detail
                                .as_deref()
                                .map(|d| format!(" — {d}"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            Ok(EXIT_OK)
        }
        "run" | "resume" => {
            let bar = Bar::new(!common.json && !common.quiet, "files");
            let r = session.queue_run(&RetryPolicy::default(), |p| bar.set(p.done, p.total))?;
            bar.finish();
            if common.json {
                print_json(&r)?;
            } else if !common.quiet {
                println!(
                    "{} sent, {} already present, {} verified, {} failed, {} waiting for the destination",
                    r.sent, r.already_present, r.verified, r.failed, r.waiting
                );
                for p in &r.problems {
                    println!("  {p}");
                }
            }
            Ok(if r.failed > 0 { EXIT_FAILED } else { EXIT_OK })
        }
        other => Err(ApiError {
            code: "cli.usage".into(),
            message: format!("'deposit queue {other}' is not available yet; use list or run"),
            class: ErrorClass::Permanent,
            usage: true,
        }),
    }
}
