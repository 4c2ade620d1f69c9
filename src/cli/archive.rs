//! `deposit archive sessions|scans|qc|gaps` and `deposit fetch`: the coordinator's view of the
//! archive and downloads from it, printed for people or as JSON.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::args::{ArchiveAction, Common};
use super::progress::Bar;
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::archive_view::{Quality, ScanRow, SessionQuery};
use crate::api::fetch::FetchRequest;
use crate::api::{unix_now, Session};
use crate::error::ApiError;

/// The archive named, or the study's destination.
fn archive(common: &Common, from: Option<String>) -> Result<String, ApiError> {
    from.or_else(|| common.resolved.destination.clone())
        .ok_or_else(|| {
            ApiError::usage(
                "archive.no_destination",
                "name the archive with --from DEST (a configured destination or a URL); the \
                 study has no destination",
            )
        })
}

fn size(bytes: u64) -> String {
    let mb = bytes as f64 / 1_000_000.0;
    if mb >= 1000.0 {
        format!("{:.2} GB", mb / 1000.0)
    } else {
        format!("{mb:.1} MB")
    }
}

fn print_scans(common: &Common, scans: &[ScanRow]) -> Result<(), ApiError> {
    if common.json {
        return print_json(&serde_json::json!({ "scans": scans }));
    }
    if common.quiet {
        return Ok(());
    }
    println!(
        "{:<8} {:<26} {:>7} {:>10}  QC",
        "scan", "type", "files", "size"
    );
    for s in scans {
        println!(
            "{:<8} {:<26} {:>7} {:>10}  {}",
            s.id,
            s.kind,
            s.files,
            size(s.bytes),
            if s.quality.is_empty() {
                "—"
            } else {
                &s.quality
            }
        );
    }
    Ok(())
}

pub fn run(common: &Common, action: ArchiveAction) -> Result<u8, ApiError> {
    let session: Session = common.resolved.open_home()?;
    match action {
        ArchiveAction::Sessions {
            from,
            filter,
            page,
            per_page,
            refresh,
        } => {
            let dest = archive(common, from)?;
            let per_page = per_page.clamp(1, crate::api::archive_view::MAX_PAGE);
            let q = SessionQuery {
                filter,
                offset: page.saturating_sub(1).saturating_mul(per_page),
                limit: Some(per_page),
                refresh,
            };
            let p = session.archive_sessions(&dest, &q, unix_now())?;
            if common.json {
                print_json(&p)?;
            } else if !common.quiet {
                println!(
                    "{}: {} sessions of {} subjects (listed {}); {} match, page {} of {}",
                    p.archive,
                    p.sessions_total,
                    p.subjects_total,
                    crate::calendar::utc_stamp(p.listed_at),
                    p.matching,
                    page.max(1),
                    p.matching.div_ceil(per_page).max(1)
                );
                for r in &p.rows {
                    println!(
                        "  {:<20} {:<28} {:<12} {}",
                        r.subject, r.session, r.id, r.date
                    );
                }
            }
            Ok(EXIT_OK)
        }
        ArchiveAction::Scans {
            subject,
            session: label,
            from,
        } => {
            let dest = archive(common, from)?;
            let scans = session.archive_scans(&dest, &subject, &label)?;
            print_scans(common, &scans)?;
            Ok(EXIT_OK)
        }
        ArchiveAction::Qc {
            subject,
            session: label,
            scan,
            status,
            from,
        } => {
            let dest = archive(common, from)?;
            let q = Quality::parse(&status).ok_or_else(|| {
                ApiError::usage(
                    "archive.bad_quality",
                    format!("'{status}' is not a QC status: usable, questionable or unusable"),
                )
            })?;
            let scans = session.archive_set_quality(&dest, &subject, &label, &scan, q)?;
            if !common.json && !common.quiet {
                println!("scan {scan} of {subject}/{label} is now {}", q.as_str());
            }
            print_scans(common, &scans)?;
            Ok(EXIT_OK)
        }
        ArchiveAction::Gaps { from } => {
            let dest = archive(common, from)?;
            let g = session.archive_gaps(&dest, common.resolved.lookup.as_deref(), unix_now())?;
            if common.json {
                print_json(&g)?;
            } else if !common.quiet {
                println!("{}", g.archive);
                if g.expected_subjects == 0 {
                    println!("  no lookup table: expected subjects not known");
                } else {
                    println!(
                        "  subjects: {} expected, {} not in the archive yet",
                        g.expected_subjects,
                        g.missing_subjects.len()
                    );
                    for s in &g.missing_subjects {
                        println!("    missing: {s}");
                    }
                }
                println!(
                    "  delivered sessions checked: {}, differing: {}",
                    g.sessions_checked,
                    g.mismatches.len()
                );
                for m in &g.mismatches {
                    if m.missing {
                        println!(
                            "    {}/{}: delivered {} files, no longer in the archive",
                            m.subject, m.session, m.delivered
                        );
                    } else {
                        println!(
                            "    {}/{}: delivered {} files, the archive holds {}",
                            m.subject, m.session, m.delivered, m.present
                        );
                    }
                }
            }
            let clean = g.missing_subjects.is_empty() && g.mismatches.is_empty();
            Ok(if clean { EXIT_OK } else { EXIT_FAILED })
        }
    }
}

pub fn fetch(
    common: &Common,
    subject: String,
    session_label: Option<String>,
    scans: Vec<String>,
    from: Option<String>,
    out: PathBuf,
) -> Result<u8, ApiError> {
    let session: Session = common.resolved.open_home()?;
    let req = FetchRequest {
        destination: archive(common, from)?,
        subject,
        session: session_label,
        scans,
        folder: out.display().to_string(),
    };
    let bar = Bar::new(!common.json && !common.quiet, "files");
    let never = AtomicBool::new(false);
    let r = session.fetch(&req, &never, &|p| bar.set(p.files_done, p.files_total))?;
    bar.finish();
    if common.json {
        print_json(&r)?;
    } else if !common.quiet {
        println!(
            "{} files ({}) of {} session(s) in {}: {} downloaded, {} there already; {} checked \
             by MD5, the others by size",
            r.files,
            size(r.bytes),
            r.sessions,
            r.folder,
            r.downloaded,
            r.already_there,
            r.md5_checked
        );
        for f in &r.failed {
            eprintln!("  not downloaded: {f}");
        }
    }
    Ok(if r.failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
