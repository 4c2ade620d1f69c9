//! `deposit deid`, `deposit inspect`, `deposit profile` and `deposit quarantine`.

use crate::logging::escape;
use std::path::{Path, PathBuf};

use super::args::Common;
use super::progress::Bar;
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::deid::{self as api_deid, DeidOptions};
use crate::error::ApiError;

fn bad_usage(message: String) -> ApiError {
    ApiError::usage("cli.usage", message)
}

/// `deposit deid PATH... --out DIR`.
pub fn run(
    common: &Common,
    paths: &[PathBuf],
    out: Option<&Path>,
    check: bool,
) -> Result<u8, ApiError> {
    if check {
        return preflight(common, paths);
    }
    let Some(out) = out else {
        return Err(bad_usage("give --out DIR (or --check)".into()));
    };
    let mut session = common.resolved.open_session()?;
    let bar = Bar::new(!common.json && !common.quiet, "files");
    let opts = DeidOptions {
        profile: common.resolved.profile.clone(),
        lookup: common.resolved.lookup.clone(),
        threads: 0,
        masks: common.resolved.masks.clone(),
        detect_text: common.detect_text,
    };
    let summary = session.deid(paths, out, &opts, |d, t| bar.set(d, t))?;
    bar.finish();
    if common.json {
        print_json(&summary)?;
    } else if !common.quiet {
        println!(
            "{} written, {} quarantined, {} failed{} — profile {} ({})",
            summary.written,
            summary.quarantined,
            summary.failed,
            if summary.skipped > 0 {
                format!(", {} skipped (DICOMDIR)", summary.skipped)
            } else {
                String::new()
            },
            summary.profile.name,
            &summary.profile.sha256[..12.min(summary.profile.sha256.len())]
        );
        for q in &summary.quarantine {
            println!(
                "  quarantined #{} {}: {} [{}]",
                q.id,
                escape(&q.path),
                escape(&q.reason),
                q.code
            );
        }
        for f in &summary.failures {
            println!("  failed {}: {}", escape(&f.path), escape(&f.reason));
        }
        for d in &summary.duplicates {
            println!("  duplicate {}: {}", escape(&d.path), escape(&d.reason));
        }
        for d in &summary.left_out {
            println!("  left out {}: {}", escape(&d.path), escape(&d.reason));
        }
    }
    Ok(if summary.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// `deposit inspect PATH --sample N [--seed S]`: N instances per series, for review.
pub fn sample(common: &Common, path: &Path, n: u32, seed: u64) -> Result<u8, ApiError> {
    let mut session = common.resolved.open_session()?;
    let opts = crate::api::review::SampleOptions {
        per_series: n,
        seed,
    };
    let s = session.sample(&[path.to_path_buf()], &opts)?;
    if common.json {
        print_json(&s)?;
    } else if !common.quiet {
        println!(
            "{} instances picked ({} per series, seed {}) from {} series, {} instances:",
            s.instances.len(),
            s.per_series,
            s.seed,
            s.series,
            s.population
        );
        for i in &s.instances {
            println!(
                "  #{:<7} {:<4} {}",
                i.instance_id,
                escape(&i.modality),
                escape(&i.path)
            );
        }
        println!("Inspect each with `deposit inspect FILE`; record the sign-off in the app.");
    }
    Ok(EXIT_OK)
}

/// `deposit inspect FILE`.
pub fn inspect(common: &Common, file: &Path) -> Result<u8, ApiError> {
    let session = common.resolved.open_session()?;
    let r = session.inspect(
        file,
        common.resolved.profile.as_deref(),
        common.resolved.lookup.as_deref(),
    )?;
    if common.json {
        print_json(&r)?;
        return Ok(EXIT_OK);
    }
    println!(
        "profile {} ({}){}",
        r.profile.name,
        &r.profile.sha256[..12.min(r.profile.sha256.len())],
        match r.approved {
            Some(true) => " — the study's approved profile",
            Some(false) =>
                " — NOT the study's approved profile (preview only: deid and send refuse it)",
            None => "",
        }
    );
    match (&r.output_path, &r.quarantine) {
        (Some(p), _) => println!("output: {p}"),
        (_, Some(q)) => println!(
            "QUARANTINE [{}]: {} (tag table below is a preview)",
            q.code, q.reason
        ),
        _ => {}
    }
    println!(
        "{:<34} {:<28} {:<3} {:<26} {:<26} rule",
        "tag", "name", "act", "before", "after"
    );
    for d in &r.decisions {
        let cut = |s: &Option<String>| {
            let s = s.clone().unwrap_or_else(|| "-".into());
            if s.chars().count() > 26 {
                format!("{}…", s.chars().take(25).collect::<String>())
            } else {
                s
            }
        };
        let after = if d.action == crate::api::dto::Action::X {
            Some("(removed)".into())
        } else {
            d.after.clone()
        };
        println!(
            "{:<34} {:<28} {:<3} {:<26} {:<26} {}",
            d.path,
            d.name,
            d.action.letter(),
            cut(&d.before),
            cut(&after),
            d.rule
        );
    }
    Ok(EXIT_OK)
}

/// `deposit profile [list|show NAME|check FILE|approve NAME|FILE]`.
pub fn profile(common: &Common, action: Option<&str>, name: Option<&str>) -> Result<u8, ApiError> {
    let mark = |p: &api_deid::ProfileInfo| {
        if p.approved_for.is_empty() {
            String::new()
        } else {
            format!("  [approved: {}]", p.approved_for.join(", "))
        }
    };
    match (action.unwrap_or("list"), name) {
        ("list", _) => {
            // (approved profile files and CTP scripts are listed beside the shipped ones)
            let all = common.resolved.profiles()?;
            if common.json {
                print_json(&all)?;
            } else {
                for p in all {
                    println!(
                        "{:<24} {}  {}{}",
                        p.name,
                        &p.sha256[..12.min(p.sha256.len())],
                        p.description,
                        mark(&p)
                    );
                }
            }
        }
        ("show" | "check", n) => {
            let n = match (n, &common.resolved.approval) {
                (Some(n), _) => n.to_string(),
                (None, Some(a)) => a.profile.clone(),
                (None, None) => {
                    return Err(bad_usage(
                        "name a profile: deposit profile show NAME".into(),
                    ))
                }
            };
            let p = common.resolved.profile_info(&n)?;
            if common.json {
                print_json(&p)?;
            } else {
                println!(
                    "name:    {}{}\nsha256:  {}\nedition: PS3.15 {} Table E.1-1",
                    p.name,
                    mark(&p),
                    p.sha256,
                    p.edition
                );
                if !p.description.is_empty() {
                    println!("about:   {}", p.description);
                }
                println!("options: 113100 Basic Application Confidentiality Profile");
                for (name, code, meaning) in &p.options {
                    println!("         {code} {meaning} ({name})");
                }
                let counts: Vec<String> =
                    p.actions.iter().map(|(a, n)| format!("{a}={n}")).collect();
                println!("actions: {}", counts.join(" "));
            }
        }
        ("approve", None) => {
            return Err(bad_usage(
                "name the profile to approve: deposit profile approve NAME|FILE [--study S]".into(),
            ))
        }
        (other, _) => {
            return Err(bad_usage(format!(
                "'deposit profile {other}' is not a profile action (list, show, check, compare, approve, approvals)"
            )))
        }
    }
    Ok(EXIT_OK)
}

/// `deposit quarantine [list|show ID]`.
pub fn quarantine(common: &Common, action: Option<&str>, id: Option<&str>) -> Result<u8, ApiError> {
    let session = common.resolved.open_session()?;
    match (action.unwrap_or("list"), id) {
        ("list", _) => {
            let rows = session.quarantine_list()?;
            if common.json {
                print_json(&rows)?;
            } else {
                for r in rows {
                    println!(
                        "#{:<5} {:<8} {:<20} {}  ({})",
                        r.id, r.state, r.code, r.reason, r.source_path
                    );
                }
            }
        }
        ("show", Some(id)) => {
            let id: i64 = id
                .parse()
                .map_err(|_| bad_usage(format!("'{id}' is not a quarantine id")))?;
            let r = session.quarantine_show(id)?;
            if common.json {
                print_json(&r)?;
            } else {
                println!(
                    "id:       {}\nstate:    {}\ncode:     {}\nreason:   {}",
                    r.id, r.state, r.code, r.reason
                );
                println!(
                    "source:   {}\nstored:   {}",
                    r.source_path,
                    r.stored_path.as_deref().unwrap_or("-")
                );
                println!("sop uid:  {}", r.sop_uid.as_deref().unwrap_or("-"));
                if let Some(k) = &r.missing_key {
                    println!("missing lookup key: {k}");
                }
                println!(
                    "profile:  {} ({})",
                    r.profile_name,
                    &r.profile_sha[..12.min(r.profile_sha.len())]
                );
            }
        }
        ("show", None) => return Err(bad_usage("name an item: deposit quarantine show ID".into())),
        (other, _) => {
            return Err(bad_usage(format!(
                "'deposit quarantine {other}' is not a quarantine action (list, show, release, discard)"
            )))
        }
    }
    Ok(EXIT_OK)
}

/// `deposit deid --check PATH...`: before anything is de-identified, every patient ID the
/// lookup table lacks (shown here, on this machine, for the coordinator to fix the table).
fn preflight(common: &Common, paths: &[PathBuf]) -> Result<u8, ApiError> {
    let Some(lookup) = common.resolved.lookup.as_deref() else {
        return Err(bad_usage(
            "'deposit deid --check' checks a lookup table: give --lookup FILE".into(),
        ));
    };
    let mut session = common.resolved.open_session()?;
    let report = session.preflight(paths, lookup)?;
    if common.json {
        print_json(&report)?;
    } else if !common.quiet {
        if report.missing.is_empty() {
            println!(
                "All {} patients are in the lookup table: ready to de-identify.",
                report.patients
            );
        } else {
            println!(
                "{} of {} patients are missing from the lookup table (add them before sending):",
                report.missing.len(),
                report.patients
            );
            for m in &report.missing {
                println!(
                    "  {}  ({} studies, {} instances; lacks {})",
                    m.patient_id,
                    m.studies,
                    m.instances,
                    m.missing.join(" and ")
                );
            }
        }
    }
    Ok(if report.missing.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
