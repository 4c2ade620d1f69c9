//! The report as CSV (RFC 4180: comma-separated, CRLF line ends, a header row, fields with a
//! comma, quote, CR or LF quoted and quotes doubled). Two tables, each its own file:
//!
//! - deliveries: one row per delivered study (`record` = `delivery`) and a last `total` row; a
//!   study's approval (pinned SHA-256, when, and every other approval key as `key=value; …`)
//!   is repeated on its rows, so each row stands alone in a spreadsheet;
//! - quarantine decisions: one row per quarantine record (code, decision, times, profile).
//!
//! Times are ISO 8601 with the local offset (`2026-12-03T14:02:00+01:00`), sizes in bytes.
//! A field starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` so a spreadsheet does
//! not run it as a formula.

use super::Report;

/// One field, quoted when RFC 4180 needs it.
pub fn field(text: &str) -> String {
    let guarded;
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{text}");
        guarded.as_str()
    } else {
        text
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One record with its CRLF.
pub fn record<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The columns of the deliveries table.
pub const DELIVERY_COLUMNS: &[&str] = &[
    "record",
    "job",
    "study",
    "project",
    "subject",
    "session",
    "destination",
    "outcome",
    "files",
    "bytes",
    "profile",
    "profile_sha256",
    "queued_at",
    "delivered_at",
    "verified_at",
    "verification_method",
    "matched",
    "expected",
    "approved_profile_sha256",
    "approved_at",
    "approval",
];

/// The columns of the quarantine table.
pub const QUARANTINE_COLUMNS: &[&str] = &[
    "item",
    "code",
    "held_at",
    "decision",
    "decided_at",
    "profile",
    "profile_sha256",
];

/// The deliveries table.
pub fn deliveries(r: &Report) -> String {
    let mut out = record(DELIVERY_COLUMNS);
    let t = |x: Option<i64>| x.map(|x| r.zone.iso(x)).unwrap_or_default();
    for d in &r.deliveries {
        let approval = d
            .study
            .as_deref()
            .and_then(|s| r.approvals.iter().find(|a| a.study == s));
        let pinned = approval.and_then(|a| a.get("profile_sha256")).unwrap_or("");
        let approved_at = approval.and_then(|a| a.get("approved_at")).unwrap_or("");
        let others = approval
            .map(|a| {
                a.fields
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "profile_sha256" | "approved_at"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        out.push_str(&record(&[
            "delivery".to_string(),
            d.job.to_string(),
            d.study.clone().unwrap_or_default(),
            d.project.clone(),
            d.subject.clone(),
            d.session.clone(),
            d.destination.clone(),
            d.outcome.clone(),
            d.files.to_string(),
            d.bytes.to_string(),
            d.profile.clone(),
            d.profile_sha256.clone(),
            t(d.queued_at),
            t(d.delivered_at),
            t(d.verified_at),
            d.method.clone(),
            d.matched.to_string(),
            d.expected.to_string(),
            pinned.to_string(),
            approved_at.to_string(),
            others,
        ]));
    }
    let tot = &r.totals;
    let mut total = vec![String::new(); DELIVERY_COLUMNS.len()];
    let mut set = |col: &str, v: String| {
        if let Some(i) = DELIVERY_COLUMNS.iter().position(|c| *c == col) {
            if let Some(slot) = total.get_mut(i) {
                *slot = v;
            }
        }
    };
    set("record", "total".into());
    set("study", r.study.clone().unwrap_or_default());
    set(
        "outcome",
        format!(
            "{} studies: {} verified, {} failed, {} cancelled",
            tot.studies, tot.verified, tot.failed, tot.cancelled
        ),
    );
    set("files", tot.files.to_string());
    set("bytes", tot.bytes.to_string());
    out.push_str(&record(&total));
    out
}

/// The quarantine decisions table.
pub fn quarantine(r: &Report) -> String {
    let mut out = record(QUARANTINE_COLUMNS);
    for q in &r.quarantine {
        out.push_str(&record(&[
            q.id.to_string(),
            q.code.clone(),
            r.zone.iso(q.held_at),
            q.state.clone(),
            q.decided_at.map(|x| r.zone.iso(x)).unwrap_or_default(),
            q.profile_name.clone(),
            q.profile_sha.clone(),
        ]));
    }
    out
}
