//! `deposit queue [list|run|pause|resume|retry|cancel] [ID|all]`: what is queued, sent and
//! verified; resume unfinished work; pause, retry and cancel jobs.

use super::args::{Common, Delivery};
use super::progress::Bar;
use super::send::{apply_delivery, usage};
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::dto::RunReport;
use crate::api::queue::{JobSelector, QueueChange};
use crate::api::send::SendOptions;
use crate::api::Session;
use crate::error::ApiError;

fn list(common: &Common, session: &Session) -> Result<u8, ApiError> {
    let jobs = session.queue_list()?;
    if common.json {
        print_json(&serde_json::json!({ "jobs": jobs }))?;
    } else if !common.quiet {
        if jobs.is_empty() {
            println!("The queue is empty.");
        }
        for j in &jobs {
            println!("job {} ({}) → {}", j.id, j.state, j.destination);
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

fn run_jobs(
    common: &Common,
    session: &Session,
    sel: JobSelector,
    delivery: &Delivery,
) -> Result<RunReport, ApiError> {
    let mut opts = SendOptions::default();
    apply_delivery(&mut opts, delivery, &common.resolved.config.delivery)?;
    let bar = Bar::new(!common.json && !common.quiet, "files");
    let r = session.queue_run_with(&opts.run_options(), sel, |p| {
        bar.set(p.done, p.total);
        bar.status(p.message());
    })?;
    bar.finish();
    Ok(r)
}

fn report_run(
    common: &Common,
    r: &RunReport,
    change: Option<&QueueChange>,
) -> Result<u8, ApiError> {
    if common.json {
        let mut v = serde_json::to_value(r).map_err(|e| usage(e.to_string()))?;
        if let (Some(ch), Some(obj)) = (change, v.as_object_mut()) {
            obj.insert("changed".into(), serde_json::json!(ch));
        }
        print_json(&v)?;
    } else if !common.quiet {
        println!(
            "{} sent, {} already present, {} verified, {} failed, {} waiting for the destination, {} paused",
            r.sent, r.already_present, r.verified, r.failed, r.waiting, r.paused
        );
        for p in &r.problems {
            println!("  {p}");
        }
    }
    Ok(if r.failed > 0 || r.waiting > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

fn report_change(common: &Common, what: &str, ch: &QueueChange) -> Result<u8, ApiError> {
    if common.json {
        print_json(ch)?;
    } else if !common.quiet {
        if ch.jobs.is_empty() {
            println!("No job was {what}.");
        } else {
            let ids: Vec<String> = ch.jobs.iter().map(i64::to_string).collect();
            println!("{what}: job {}", ids.join(", "));
        }
        if let Some(c) = &ch.cancel {
            println!(
                "{} studies stopped, {} pieces will not be sent, {} outbox files removed",
                c.studies, c.pieces, c.outbox_files_removed
            );
        }
    }
    Ok(EXIT_OK)
}

pub fn run(
    common: &Common,
    action: Option<&str>,
    id: Option<&str>,
    delivery: &Delivery,
) -> Result<u8, ApiError> {
    let session = common.resolved.open_home()?;
    let sel = match id {
        Some(t) => JobSelector::parse(t)?,
        None => JobSelector::All,
    };
    match action.unwrap_or("list") {
        "list" => list(common, &session),
        "run" => {
            let r = run_jobs(common, &session, sel, delivery)?;
            report_run(common, &r, None)
        }
        "pause" => {
            let ch = session.queue_pause(sel)?;
            report_change(common, "paused", &ch)
        }
        "resume" => {
            let ch = session.queue_resume(sel)?;
            let r = run_jobs(common, &session, sel, delivery)?;
            report_run(common, &r, Some(&ch))
        }
        "retry" => {
            let ch = session.queue_retry(sel)?;
            let r = run_jobs(common, &session, sel, delivery)?;
            report_run(common, &r, Some(&ch))
        }
        "cancel" => {
            if id.is_none() {
                return Err(usage(
                    "'deposit queue cancel' needs a job id, or 'all' to cancel every job".into(),
                ));
            }
            let ch = session.queue_cancel(sel)?;
            report_change(common, "cancelled", &ch)
        }
        other => Err(usage(format!(
            "'deposit queue {other}': use list, run, pause, resume, retry or cancel"
        ))),
    }
}
