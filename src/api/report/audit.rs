//! A delivered study's audit record in words with local times: a headline sentence and labelled
//! rows for the window's history, leaving out what could point at a person or a site's files
//! (resource file names, archive paths, verification problem texts stay in the raw record).

use serde::Serialize;
use serde_json::Value;

use super::time::{bytes_words, Zone};

/// The audit record of one study, for people.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditSummary {
    /// `verified`, `failed` (verification found a difference), `cancelled` or `unknown`.
    pub outcome: String,
    /// One sentence: what was sent where, when, and how it was checked.
    pub headline: String,
    /// Labelled details, in reading order.
    pub rows: Vec<SummaryRow>,
}

/// One labelled line of a summary.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SummaryRow {
    /// What the line is ("Sent", "Verified", "Profile" …).
    pub label: String,
    /// The words.
    pub text: String,
}

fn u(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

fn i(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// "128 files", "1 file".
pub fn files_words(n: u64) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}

/// The first 12 hex digits of a SHA-256 and an ellipsis (the whole one in reports and details).
pub fn short_sha(sha: &str) -> String {
    match sha.get(..12) {
        Some(head) if sha.len() > 12 => format!("{head}…"),
        _ => sha.to_string(),
    }
}

/// "«name» (SHA-256 abcdef012345…)".
fn profile_words(audit: &Value) -> Option<String> {
    let p = audit.get("profile")?;
    let name = s(p, "name").filter(|n| !n.is_empty())?;
    Some(match s(p, "sha256").filter(|h| !h.is_empty()) {
        Some(h) => format!("«{name}» (SHA-256 {})", short_sha(h)),
        None => format!("«{name}»"),
    })
}

/// "project P · subject S · session E" (the pseudonymous labels the archive got).
fn labels_words(audit: &Value) -> Option<String> {
    let l = audit.get("labels")?;
    Some(format!(
        "project {} · subject {} · session {}",
        s(l, "project").unwrap_or("?"),
        s(l, "subject").unwrap_or("?"),
        s(l, "session").unwrap_or("?")
    ))
}

/// The audit record `audit` of a job study in words, times in `zone`.
pub fn describe(audit: &Value, zone: &Zone) -> AuditSummary {
    if audit.get("cancelled_at").is_some() {
        return cancelled(audit, zone);
    }
    let Some(ver) = audit.get("verification") else {
        return AuditSummary {
            outcome: "unknown".into(),
            headline: "This record has no delivery in it (see the details).".into(),
            rows: Vec::new(),
        };
    };
    let files = u(audit, "files").unwrap_or(0);
    let bytes = u(audit, "bytes").unwrap_or(0);
    let dest = s(audit, "destination").unwrap_or("the destination");
    let ok = s(ver, "result") == Some("ok");
    let matched = u(ver, "matched").unwrap_or(0);
    let expected = u(ver, "expected").unwrap_or(files);
    let when = i(audit, "delivered_at").map(|t| zone.words(t));
    let l = audit.get("labels").cloned().unwrap_or(Value::Null);
    let mut headline = format!(
        "Sent {} ({}) to {dest} as subject {}, session {}",
        files_words(files),
        bytes_words(bytes),
        s(&l, "subject").unwrap_or("?"),
        s(&l, "session").unwrap_or("?"),
    );
    if let Some(w) = &when {
        headline.push_str(&format!(" on {w}"));
    }
    headline.push_str(&if ok {
        format!("; verified: {matched} of {expected} matched.")
    } else {
        format!("; verification FAILED: {matched} of {expected} matched.")
    });

    let mut rows = Vec::new();
    let mut row = |label: &str, text: String| {
        rows.push(SummaryRow {
            label: label.into(),
            text,
        })
    };
    let pieces = u(audit, "pieces").unwrap_or(0);
    row(
        "Sent",
        format!(
            "{} ({}) in {pieces} piece{}",
            files_words(files),
            bytes_words(bytes),
            if pieces == 1 { "" } else { "s" }
        ),
    );
    row("To", dest.to_string());
    if let Some(w) = labels_words(audit) {
        row("As", w);
    }
    for (label, key) in [
        ("Queued", "queued_at"),
        ("Delivered", "delivered_at"),
        ("Committed", "committed_at"),
        ("Verified", "verified_at"),
    ] {
        if let Some(t) = i(audit, key).filter(|t| *t > 0) {
            row(label, zone.words(t));
        }
    }
    let method = s(ver, "method").unwrap_or("");
    let problems = ver
        .get("problems")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut check = format!(
        "{}: {matched} of {expected} matched",
        if ok { "ok" } else { "failed" }
    );
    if !method.is_empty() {
        check.push_str(&format!(" ({method})"));
    }
    if problems > 0 {
        check.push_str(&format!(
            "; {problems} problem{} listed in the details",
            if problems == 1 { "" } else { "s" }
        ));
    }
    row("Check", check);
    if let Some(p) = profile_words(audit) {
        row("Profile", p);
    }
    if let Some(res) = audit.get("resources").and_then(Value::as_array) {
        if !res.is_empty() {
            let done = res
                .iter()
                .filter(|r| s(r, "state") == Some("acknowledged"))
                .count();
            let what: Vec<String> = res
                .iter()
                .map(|r| {
                    let level = s(r, "level").unwrap_or("?");
                    let label = s(r, "label").unwrap_or("?");
                    match s(r, "scan") {
                        Some(scan) => format!("{level} {scan} {label}"),
                        None => format!("{level} {label}"),
                    }
                })
                .collect();
            row(
                "Attached",
                format!("{} ({}), {done} delivered", res.len(), what.join(", ")),
            );
        }
    }
    if let Some(q) = audit.get("scan_quality").and_then(Value::as_array) {
        if !q.is_empty() {
            let what: Vec<String> = q
                .iter()
                .map(|x| {
                    format!(
                        "scan {}: {} ({})",
                        s(x, "scan").unwrap_or("?"),
                        s(x, "quality").unwrap_or("?"),
                        s(x, "state").unwrap_or("?")
                    )
                })
                .collect();
            row("Scan QC", what.join(", "));
        }
    }
    AuditSummary {
        outcome: if ok { "verified" } else { "failed" }.into(),
        headline,
        rows,
    }
}

fn cancelled(audit: &Value, zone: &Zone) -> AuditSummary {
    let files = u(audit, "files").unwrap_or(0);
    let sent = u(audit, "files_sent").unwrap_or(0);
    let pieces = u(audit, "pieces").unwrap_or(0);
    let pieces_sent = u(audit, "pieces_sent").unwrap_or(0);
    let when = i(audit, "cancelled_at").map(|t| zone.words(t));
    let before = s(audit, "state_before").unwrap_or("unknown");
    let headline = format!(
        "Cancelled{} while {before}: {sent} of {} had been sent.",
        when.as_deref()
            .map(|w| format!(" on {w}"))
            .unwrap_or_default(),
        files_words(files)
    );
    let mut rows = vec![SummaryRow {
        label: "Sent".into(),
        text: format!(
            "{sent} of {} in {pieces_sent} of {pieces} pieces",
            files_words(files)
        ),
    }];
    if let Some(w) = when {
        rows.push(SummaryRow {
            label: "Cancelled".into(),
            text: w,
        });
    }
    AuditSummary {
        outcome: "cancelled".into(),
        headline,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-03T13:02:00Z
    const T: i64 = 1_796_302_920;

    fn record(result: &str, matched: u64) -> Value {
        serde_json::json!({
            "destination": "xnat+https://xnat.example.org?project=P",
            "profile": {"name": "ps3.15-basic", "sha256": "abcdef0123456789abcdef"},
            "labels": {"project": "P", "subject": "DEP-7", "session": "DEP-7_MR1"},
            "files": 128, "bytes": 412_000_000u64, "pieces": 3,
            "resources": [{"level": "session", "scan": null, "label": "NIFTI",
                           "name": "jane-doe-brain.nii.gz", "bytes": 10, "md5": "x",
                           "uri": "/data/x", "state": "acknowledged"}],
            "scan_quality": [{"scan": "3", "quality": "usable", "state": "acknowledged"}],
            "queued_at": T - 600, "delivered_at": T, "committed_at": T + 10,
            "verified_at": T + 20, "uri": "/home/coordinator/archive/P/DEP-7/DEP-7_MR1",
            "verification": {"method": "archive listing compared with the manifest (count, sizes, MD5)",
                             "expected": 128, "matched": matched, "result": result,
                             "problems": ["missing /src/DOE^JANE/1.dcm"]},
        })
    }

    #[test]
    fn a_verified_record_reads_as_a_sentence_with_local_times() {
        let sum = describe(&record("ok", 128), &Zone::Fixed(60));
        assert_eq!(sum.outcome, "verified");
        assert_eq!(
            sum.headline,
            "Sent 128 files (412 MB) to xnat+https://xnat.example.org?project=P as subject DEP-7, \
             session DEP-7_MR1 on 3 Dec 2026 14:02 (UTC+01:00); verified: 128 of 128 matched."
        );
        let text = |l: &str| {
            sum.rows
                .iter()
                .find(|r| r.label == l)
                .map(|r| r.text.clone())
                .unwrap_or_default()
        };
        assert_eq!(text("Queued"), "3 Dec 2026 13:52 (UTC+01:00)");
        assert_eq!(text("Verified"), "3 Dec 2026 14:02 (UTC+01:00)");
        assert_eq!(text("Profile"), "«ps3.15-basic» (SHA-256 abcdef012345…)");
        assert!(text("Check").starts_with("ok: 128 of 128 matched (archive listing"));
        assert_eq!(text("Attached"), "1 (session NIFTI), 1 delivered");
        assert_eq!(text("Scan QC"), "scan 3: usable (acknowledged)");
    }

    #[test]
    fn names_paths_and_problem_texts_stay_out_of_the_words() {
        let sum = describe(&record("failed", 120), &Zone::Fixed(0));
        assert_eq!(sum.outcome, "failed");
        assert!(sum.headline.contains("verification FAILED: 120 of 128"));
        let all = format!("{} {:?}", sum.headline, sum.rows);
        for secret in ["jane-doe", "DOE^JANE", "/home/coordinator", "/src/"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        assert!(all.contains("1 problem listed in the details"));
    }

    #[test]
    fn cancelled_and_empty_records() {
        let c = serde_json::json!({"cancelled_at": T, "state_before": "sending", "pieces": 5,
            "pieces_sent": 2, "files": 128, "files_sent": 40, "uri": null});
        let sum = describe(&c, &Zone::Fixed(0));
        assert_eq!(sum.outcome, "cancelled");
        assert_eq!(
            sum.headline,
            "Cancelled on 3 Dec 2026 13:02 (UTC) while sending: 40 of 128 files had been sent."
        );
        assert_eq!(
            describe(&serde_json::json!({}), &Zone::Local).outcome,
            "unknown"
        );
        assert_eq!(short_sha("abc"), "abc");
    }
}
