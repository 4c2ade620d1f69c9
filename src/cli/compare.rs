//! `deposit profile compare OLD NEW --sample PATH`, `deposit profile approve NAME` (with the
//! linkage check and its acknowledgement) and `deposit profile approvals`: arguments to the
//! api, the report as a table or one JSON object.

use std::path::Path;

use super::args::{Common, ProfileCheck};
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::compare::approve::ApproveRequest;
use crate::api::compare::{CompareReport, CompareRequest};
use crate::api::unix_now;
use crate::error::ApiError;
use crate::logging::escape;

fn text(p: &Path) -> String {
    p.display().to_string()
}

/// `deposit profile compare OLD NEW --sample PATH…`: exit 0 when NEW changes nothing on the
/// sample, 1 when something differs (attributes, holds or linkage).
pub fn compare(
    common: &Common,
    old: Option<String>,
    new: Option<String>,
    check: &ProfileCheck,
) -> Result<u8, ApiError> {
    let (Some(old), Some(new)) = (old, new) else {
        return Err(ApiError::usage(
            "cli.usage",
            "name both profiles: deposit profile compare OLD NEW --sample PATH (OLD may be 'approved')",
        ));
    };
    if check.sample.is_empty() {
        return Err(ApiError::usage(
            "cli.usage",
            "give sample data to run both profiles on: --sample PATH",
        ));
    }
    if let Some(root) = &check.new_uid_root {
        crate::api::resolve::check_uid_root(root)
            .map_err(|m| ApiError::usage("cli.uid_root", format!("--new-uid-root {root}: {m}")))?;
    }
    let req = CompareRequest {
        old,
        new,
        sample: check.sample.iter().map(|p| text(p)).collect(),
        per_series: check.per_series,
        seed: check.seed,
        new_uid_root: check.new_uid_root.clone(),
        new_lookup: check.new_lookup.as_deref().map(text),
        new_masks: check.new_masks.as_deref().map(text),
        new_site_key: check.new_site_key.as_deref().map(text),
    };
    let report = common.resolved.profile_compare(&req, unix_now())?;
    if common.json {
        print_json(&report)?;
    } else if !common.quiet {
        print_report(&report);
    }
    Ok(if report.same { EXIT_OK } else { EXIT_FAILED })
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn print_report(r: &CompareReport) {
    println!(
        "OLD {} (sha256 {}…)\nNEW {} (sha256 {}…)",
        escape(&r.old.name),
        short(&r.old.sha256),
        escape(&r.new.name),
        short(&r.new.sha256)
    );
    for s in &r.settings {
        println!("NEW also changes {}", escape(s));
    }
    println!(
        "Sample: {} files compared ({} found, {} unreadable paths); nothing written, nothing sent.",
        r.files, r.found, r.unreadable
    );
    if r.attributes.is_empty() {
        println!("\nAttributes: NEW treats every attribute as OLD does.");
    } else {
        println!("\nAttributes NEW treats differently (values never shown):");
        println!(
            "  {:<28} {:<40} {:<10} {:<10} {:<8} {:>6}",
            "PATH", "KEYWORD", "OLD", "NEW", "VALUES", "FILES"
        );
        for a in &r.attributes {
            let values = match a.values_equal {
                Some(true) => "equal",
                Some(false) => "differ",
                None => "-",
            };
            println!(
                "  {:<28} {:<40} {:<10} {:<10} {:<8} {:>6}",
                a.path, a.keyword, a.old, a.new, values, a.files
            );
        }
    }
    if !r.holds.is_empty() {
        println!("\nFiles one holds and the other passes:");
        for h in &r.holds {
            println!("  OLD {:<28} NEW {:<28} {:>6} files", h.old, h.new, h.files);
        }
    }
    println!("\n{}", r.linkage.message);
    println!(
        "{}",
        if r.same {
            "Result: same (exit status 0)."
        } else {
            "Result: differences (exit status 1)."
        }
    );
}

/// `deposit profile approve NAME [--sample PATH --approver NAME --ack-linkage-break REASON]`.
pub fn approve(
    common: &Common,
    name: Option<String>,
    check: &ProfileCheck,
) -> Result<u8, ApiError> {
    let req = ApproveRequest {
        profile: name.unwrap_or_default(),
        approver: check.approver.clone(),
        sample: check.sample.iter().map(|p| text(p)).collect(),
        per_series: check.per_series,
        seed: check.seed,
        ack_linkage_break: check.ack_linkage_break.clone(),
    };
    let o = common.resolved.approve_checked(&req, unix_now())?;
    if common.json {
        print_json(&o)?;
    } else if !common.quiet {
        let a = &o.approval;
        println!(
            "Approved for study '{}': {} (sha256 {})\nRecorded in {}. From now on this study runs only this exact profile.",
            a.study, a.profile, a.sha256, a.config
        );
        if let Some(c) = &o.check {
            println!(
                "Linkage check on {} sample files: {}",
                c.files, c.linkage.message
            );
        }
        if let Some(reason) = &o.record.acknowledged {
            println!(
                "Linkage break acknowledged by {}: {} (recorded in the data home, approval #{})",
                escape(&o.record.approver),
                escape(reason),
                o.record.id
            );
        }
    }
    Ok(EXIT_OK)
}

/// `deposit profile approvals`: the recorded approvals of the study (every study when none).
pub fn approvals(common: &Common) -> Result<u8, ApiError> {
    let all = common.resolved.approval_records()?;
    if common.json {
        print_json(&all)?;
    } else if !common.quiet {
        for a in &all {
            println!(
                "#{} {} study '{}': {} (sha256 {}…) by {} — linkage {}{}",
                a.id,
                crate::calendar::utc_stamp(a.approved_at),
                escape(&a.study),
                escape(&a.profile),
                short(&a.sha256),
                if a.approver.is_empty() {
                    "(not given)".to_string()
                } else {
                    escape(&a.approver)
                },
                a.linkage,
                a.acknowledged
                    .as_deref()
                    .map(|r| format!(", acknowledged: {}", escape(r)))
                    .unwrap_or_default()
            );
        }
    }
    Ok(EXIT_OK)
}
