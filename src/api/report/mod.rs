//! Readable records: the audit record of a delivered study in words with local times
//! ([`audit`]), and the report per study and period for a data-protection officer or a steering
//! committee — studies sent, totals, profile in force, approvals, review sign-offs, quarantine
//! decisions, verification results — as one printable HTML file ([`html`]) or CSV tables
//! ([`csv`]), with no identity in it: only the pseudonymous labels the archive got, counts,
//! codes, hashes and times.

pub mod approvals;
pub mod audit;
pub mod csv;
pub mod html;
pub mod time;

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Session;
use crate::catalog::quarantine::QuarantineDecision;
use crate::config::Config;
use crate::error::ApiError;
use crate::queue::store::JobView;
pub use approvals::Approval;
pub use audit::{AuditSummary, SummaryRow};
pub use time::Zone;

/// The file format of a report.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// One self-contained, printable HTML file.
    #[default]
    Html,
    /// Two RFC 4180 tables: deliveries (with a totals row) and quarantine decisions.
    Csv,
}

/// What a report covers.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// Only this configured study (`[studies.NAME]`); all when absent.
    #[serde(default)]
    pub study: Option<String>,
    /// First day (`YYYY-MM-DD`, local), inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, local), inclusive.
    #[serde(default)]
    pub to: Option<String>,
    /// HTML or CSV.
    #[serde(default)]
    pub format: ReportFormat,
    /// Minutes east of UTC for local times (the browser's); absent: the machine's time zone.
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
}

/// One file of a report.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFile {
    /// A file name to save it under (no identity: study name and period).
    pub name: String,
    /// Its media type.
    pub mime: String,
    /// The contents.
    pub text: String,
}

/// The days a report covers, as Unix times: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    /// First instant.
    pub from: Option<i64>,
    /// First instant after.
    pub to: Option<i64>,
}

impl Period {
    /// The local days `from`..=`to` (`YYYY-MM-DD`) in `zone`.
    pub fn days(from: Option<&str>, to: Option<&str>, zone: &Zone) -> Result<Period, ApiError> {
        let from = from.map(|d| zone.day_start(d)).transpose()?;
        let to = to
            .map(|d| -> Result<i64, ApiError> {
                let next = time::parse_date(d)? + 1;
                let (y, m, dd) = crate::calendar::civil_from_days(next);
                zone.day_start(&format!("{y:04}-{m:02}-{dd:02}"))
            })
            .transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if t <= f {
                return Err(ApiError::usage(
                    "report.period",
                    "the period ends before it starts: --to must be the same day as --from or later",
                ));
            }
        }
        Ok(Period { from, to })
    }

    /// Whether the instant `t` is inside.
    pub fn contains(&self, t: i64) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e)
    }
}

/// One delivered (or cancelled) study of a job, from its audit record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Job id.
    pub job: i64,
    /// The configured study it belongs to, when one matches (by project label, else destination).
    pub study: Option<String>,
    /// Project label at the archive.
    pub project: String,
    /// Subject label (pseudonym).
    pub subject: String,
    /// Session label.
    pub session: String,
    /// Destination, without secrets.
    pub destination: String,
    /// verified, failed or cancelled.
    pub outcome: String,
    /// Files in the study (cancelled: files that had been sent).
    pub files: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Profile name.
    pub profile: String,
    /// Its SHA-256.
    pub profile_sha256: String,
    /// When queued.
    pub queued_at: Option<i64>,
    /// When the archive had it.
    pub delivered_at: Option<i64>,
    /// When checked (or cancelled).
    pub verified_at: Option<i64>,
    /// Verification method, in words.
    pub method: String,
    /// Objects the check found as sent.
    pub matched: u64,
    /// Objects it expected.
    pub expected: u64,
}

impl Delivery {
    /// When it counts for a period: checked, cancelled or delivered, else queued.
    pub fn at(&self) -> Option<i64> {
        self.verified_at.or(self.delivered_at).or(self.queued_at)
    }
}

/// One review sign-off (who and when; the note, free text, stays out of reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignoffRow {
    /// Who reviewed, as typed.
    pub reviewer: String,
    /// When.
    pub at: i64,
    /// Instances signed off.
    pub instances: u64,
}

/// Quarantine decisions of one reason code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CodeCount {
    /// Reason code.
    pub code: String,
    /// Still held.
    pub held: u64,
    /// Released after a fix.
    pub released: u64,
    /// Discarded.
    pub discarded: u64,
}

/// Totals of the deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Studies in the report.
    pub studies: u64,
    /// Of them verified.
    pub verified: u64,
    /// Of them whose verification failed.
    pub failed: u64,
    /// Of them cancelled.
    pub cancelled: u64,
    /// Files.
    pub files: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Everything a report shows, gathered once and rendered as HTML or CSV.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When made.
    pub generated_at: i64,
    /// Local times in.
    #[serde(skip)]
    pub zone: Zone,
    /// The study asked for.
    pub study: Option<String>,
    /// The period asked for, as given.
    pub from: Option<String>,
    /// Last day asked for, as given.
    pub to: Option<String>,
    /// Delivered studies, oldest first.
    pub deliveries: Vec<Delivery>,
    /// Their totals.
    pub totals: Totals,
    /// Approvals of the studies.
    pub approvals: Vec<Approval>,
    /// Review sign-offs in the period, oldest first.
    pub signoffs: Vec<SignoffRow>,
    /// Quarantine decisions in the period (held, released or discarded in it), oldest first.
    pub quarantine: Vec<QuarantineDecision>,
    /// Them counted per code.
    pub quarantine_counts: Vec<CodeCount>,
}

/// The configured study a job study belongs to: the one with its project label, else (a study
/// without a project label) the one whose destination is the job's.
fn study_of(cfg: &Config, destination: &str, project: &str) -> Option<String> {
    let by_project = cfg
        .studies
        .iter()
        .find(|(_, s)| s.project.as_deref() == Some(project));
    let by_dest = || {
        cfg.studies.iter().find(|(_, s)| {
            s.project.is_none()
                && s.destination.as_deref().is_some_and(|d| {
                    let url = cfg.destination_url(d);
                    url == destination
                        || crate::archive::DestinationSpec::parse(&url)
                            .is_ok_and(|spec| spec.to_string() == destination)
                })
        })
    };
    by_project.or_else(by_dest).map(|(n, _)| n.clone())
}

fn num(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

/// The deliveries in `jobs` (studies with an audit record), oldest first.
pub fn deliveries(jobs: &[JobView], cfg: &Config) -> Vec<Delivery> {
    let mut out = Vec::new();
    for j in jobs {
        let (pname, psha) = (
            j.profile.get("name").and_then(Value::as_str).unwrap_or(""),
            j.profile
                .get("sha256")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        for s in &j.studies {
            let Some(a) = &s.audit else { continue };
            let l = &s.labels;
            let mut d = Delivery {
                job: j.id,
                // the study recorded with the job; for older jobs, the one its labels point at
                study: j
                    .study
                    .clone()
                    .or_else(|| study_of(cfg, &j.destination, &l.project)),
                project: l.project.clone(),
                subject: l.subject.clone(),
                session: l.session.clone(),
                destination: a
                    .get("destination")
                    .and_then(Value::as_str)
                    .unwrap_or(&j.destination)
                    .to_string(),
                profile: pname.to_string(),
                profile_sha256: psha.to_string(),
                queued_at: num(a, "queued_at")
                    .filter(|t| *t > 0)
                    .or(Some(j.created_at)),
                ..Delivery::default()
            };
            if a.get("cancelled_at").is_some() {
                d.outcome = "cancelled".into();
                d.files = a.get("files_sent").and_then(Value::as_u64).unwrap_or(0);
                d.verified_at = num(a, "cancelled_at");
                d.method = "cancelled before verification".into();
            } else {
                let v = a.get("verification").cloned().unwrap_or(Value::Null);
                d.outcome = match v.get("result").and_then(Value::as_str) {
                    Some("ok") => "verified",
                    _ => "failed",
                }
                .into();
                d.files = a.get("files").and_then(Value::as_u64).unwrap_or(0);
                d.bytes = a.get("bytes").and_then(Value::as_u64).unwrap_or(0);
                d.delivered_at = num(a, "delivered_at");
                d.verified_at = num(a, "verified_at");
                d.method = v
                    .get("method")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                d.matched = v.get("matched").and_then(Value::as_u64).unwrap_or(0);
                d.expected = v.get("expected").and_then(Value::as_u64).unwrap_or(d.files);
                if let Some(p) = a.get("profile") {
                    if let Some(n) = p.get("name").and_then(Value::as_str) {
                        d.profile = n.to_string();
                    }
                    if let Some(h) = p.get("sha256").and_then(Value::as_str) {
                        d.profile_sha256 = h.to_string();
                    }
                }
            }
            out.push(d);
        }
    }
    out.sort_by_key(|d| (d.at(), d.job));
    out
}

/// The totals of `rows`.
pub fn totals(rows: &[Delivery]) -> Totals {
    let mut t = Totals::default();
    for d in rows {
        t.studies += 1;
        t.files += d.files;
        t.bytes += d.bytes;
        match d.outcome.as_str() {
            "verified" => t.verified += 1,
            "cancelled" => t.cancelled += 1,
            _ => t.failed += 1,
        }
    }
    t
}

/// Quarantine decisions counted per code.
pub fn count_codes(rows: &[QuarantineDecision]) -> Vec<CodeCount> {
    let mut m: std::collections::BTreeMap<&str, CodeCount> = Default::default();
    for q in rows {
        let c = m.entry(q.code.as_str()).or_insert_with(|| CodeCount {
            code: q.code.clone(),
            ..CodeCount::default()
        });
        match q.state.as_str() {
            "released" => c.released += 1,
            "discarded" => c.discarded += 1,
            _ => c.held += 1,
        }
    }
    m.into_values().collect()
}

/// A file name for the report: `deposit-report[-STUDY][-FROM][-to-TO]` and the extension, with
/// only letters, digits, `-`, `_` and `.` kept from the study's name.
pub fn file_stem(req: &ReportRequest) -> String {
    let mut stem = "deposit-report".to_string();
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(64)
            .collect()
    };
    if let Some(s) = &req.study {
        stem.push('-');
        stem.push_str(&clean(s));
    }
    if let Some(f) = &req.from {
        stem.push('-');
        stem.push_str(&clean(f));
    }
    if let Some(t) = &req.to {
        stem.push_str("-to-");
        stem.push_str(&clean(t));
    }
    stem
}

/// Renders `report` in `format`: one HTML file, or the deliveries CSV and the quarantine CSV.
pub fn render(report: &Report, req: &ReportRequest) -> Vec<ReportFile> {
    let stem = file_stem(req);
    match req.format {
        ReportFormat::Html => vec![ReportFile {
            name: format!("{stem}.html"),
            mime: "text/html; charset=utf-8".into(),
            text: html::render(report),
        }],
        ReportFormat::Csv => vec![
            ReportFile {
                name: format!("{stem}.csv"),
                mime: "text/csv; charset=utf-8".into(),
                text: csv::deliveries(report),
            },
            ReportFile {
                name: format!("{stem}-quarantine.csv"),
                mime: "text/csv; charset=utf-8".into(),
                text: csv::quarantine(report),
            },
        ],
    }
}

/// The names of the files [`render`] makes when the first is saved as `path`: the second
/// (CSV's quarantine decisions) beside it as `STEM-quarantine.csv`.
pub fn sibling_paths(path: &Path, files: &[ReportFile]) -> Vec<std::path::PathBuf> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "deposit-report".into());
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if i == 0 {
                path.to_path_buf()
            } else {
                let suffix = f
                    .name
                    .rsplit_once("-quarantine")
                    .map(|(_, rest)| format!("-quarantine{rest}"))
                    .unwrap_or_else(|| format!("-{i}.csv"));
                path.with_file_name(format!("{stem}{suffix}"))
            }
        })
        .collect()
}

impl Session {
    /// Gathers the report asked for, made at `now` (Unix seconds).
    pub fn report(&self, req: &ReportRequest, now: i64) -> Result<Report, ApiError> {
        let zone = Zone::from_offset(req.utc_offset_minutes)?;
        let cfg = &self.settings;
        if let Some(s) = &req.study {
            if !cfg.studies.contains_key(s) {
                let known: Vec<&str> = cfg.studies.keys().map(String::as_str).collect();
                return Err(ApiError::usage(
                    "report.unknown_study",
                    if known.is_empty() {
                        format!("no study {s:?}: deposit.toml configures none")
                    } else {
                        format!(
                            "no study {s:?} in deposit.toml (it has: {})",
                            known.join(", ")
                        )
                    },
                ));
            }
        }
        let period = Period::days(req.from.as_deref(), req.to.as_deref(), &zone)?;
        let jobs = self.queue_list()?;
        let deliveries: Vec<Delivery> = deliveries(&jobs, cfg)
            .into_iter()
            .filter(|d| req.study.is_none() || d.study == req.study)
            .filter(|d| d.at().is_some_and(|t| period.contains(t)))
            .collect();
        let text = cfg
            .path
            .as_deref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        let approvals = approvals::approvals(text.as_deref(), cfg, req.study.as_deref());
        let signoffs = self
            .catalog
            .signoffs()?
            .into_iter()
            .rev()
            .filter(|s| period.contains(s.created_at))
            .map(|s| SignoffRow {
                reviewer: s.reviewer,
                at: s.created_at,
                instances: s.instance_ids.len() as u64,
            })
            .collect();
        let quarantine: Vec<QuarantineDecision> = self
            .catalog
            .quarantine_decisions()?
            .into_iter()
            .filter(|q| {
                period.contains(q.held_at) || q.decided_at.is_some_and(|t| period.contains(t))
            })
            .collect();
        Ok(Report {
            generated_at: now,
            zone,
            study: req.study.clone(),
            from: req.from.clone(),
            to: req.to.clone(),
            totals: totals(&deliveries),
            deliveries,
            approvals,
            signoffs,
            quarantine_counts: count_codes(&quarantine),
            quarantine,
        })
    }

    /// The report asked for, rendered into its file(s).
    pub fn report_files(&self, req: &ReportRequest, now: i64) -> Result<Vec<ReportFile>, ApiError> {
        Ok(render(&self.report(req, now)?, req))
    }

    /// Writes the report asked for at `path` (CSV's second table beside it); the paths written.
    pub fn save_report(
        &self,
        req: &ReportRequest,
        path: &Path,
        now: i64,
    ) -> Result<Vec<String>, ApiError> {
        let files = self.report_files(req, now)?;
        let paths = sibling_paths(path, &files);
        for (f, p) in files.iter().zip(&paths) {
            crate::durable::replace(p, f.text.as_bytes()).map_err(|e| {
                ApiError::permanent(
                    "report.write",
                    format!("cannot write the report to {}: {e}", p.display()),
                )
            })?;
        }
        Ok(paths.iter().map(|p| p.display().to_string()).collect())
    }
}

/// The audit record of a job study in words, times in the zone of `utc_offset_minutes` (the
/// browser's) or the machine's.
pub fn describe_audit(
    audit: &Value,
    utc_offset_minutes: Option<i32>,
) -> Result<AuditSummary, ApiError> {
    Ok(audit::describe(
        audit,
        &Zone::from_offset(utc_offset_minutes)?,
    ))
}

#[cfg(test)]
mod tests;
