//! The report as one self-contained, printable HTML file: inline CSS, no scripts, no external
//! resources, every text escaped. It prints to PDF from any browser ("Save as PDF").

use std::fmt::Write;

use super::audit::{files_words, short_sha};
use super::time::bytes_words;
use super::{Approval, Report};

/// `text` with `& < > " '` as character references (for element text and attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f24;margin:2em auto;max-width:70em;padding:0 1em}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .4em;border-bottom:1px solid #ccd;padding-bottom:.2em}
p.meta{color:#556;margin:.2em 0}
table{border-collapse:collapse;width:100%;margin:.4em 0 1em;font-size:.92em}
th,td{border:1px solid #ccd;padding:.25em .45em;text-align:left;vertical-align:top}
th{background:#eef1f5}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,Consolas,monospace;font-size:.95em;word-break:break-all}
.ok{color:#116329}.bad{color:#a40e26;font-weight:600}.muted{color:#667}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}tr{break-inside:avoid}th{background:#eee!important;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
";

fn when(r: &Report, t: Option<i64>) -> String {
    t.map(|t| escape(&r.zone.words(t)))
        .unwrap_or_else(|| "—".into())
}

/// The approvals section: one table per study with each recorded field (the pin first, then
/// whatever else the approval records: approver, linkage acknowledgement, …).
pub fn approvals_section(out: &mut String, approvals: &[Approval]) {
    let _ = writeln!(out, "<h2>Approvals</h2>");
    if approvals.is_empty() {
        let _ = writeln!(out, "<p class=\"muted\">No study is configured.</p>");
        return;
    }
    for a in approvals {
        let _ = writeln!(out, "<h3>Study <code>{}</code></h3>", escape(&a.study));
        if !a.approved() {
            let _ = writeln!(
                out,
                "<p class=\"bad\">No approved profile is recorded for this study.</p>"
            );
        }
        if a.fields.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<table class=\"approval\"><tbody>");
        for (k, v) in &a.fields {
            let label = match k.as_str() {
                "profile" => "Approved profile".to_string(),
                "profile_sha256" => "Its SHA-256".to_string(),
                "approved_at" => "Approved at (UTC)".to_string(),
                other => other.replace('_', " "),
            };
            let _ = writeln!(
                out,
                "<tr><th scope=\"row\">{}</th><td><code>{}</code></td></tr>",
                escape(&label),
                escape(v)
            );
        }
        let _ = writeln!(out, "</tbody></table>");
    }
}

/// The whole report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let scope = match &r.study {
        Some(s) => format!("study {s}"),
        None => "all studies".into(),
    };
    let period = match (&r.from, &r.to) {
        (None, None) => "all time".to_string(),
        (Some(f), None) => format!("from {f}"),
        (None, Some(t)) => format!("up to {t}"),
        (Some(f), Some(t)) => format!("{f} to {t}"),
    };
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Deposit report: {}</title><style>{STYLE}</style></head><body>\n",
        escape(&scope)
    );
    let _ = writeln!(o, "<h1>Deposit delivery report</h1>");
    let _ = writeln!(
        o,
        "<p class=\"meta\">{} · {} · made {} · local times as shown. Subjects and sessions are the \
         pseudonymous labels the archive received; this report holds no patient's identity.</p>",
        escape(&scope),
        escape(&period),
        when(r, Some(r.generated_at))
    );

    // totals
    let t = &r.totals;
    let _ = writeln!(o, "<h2>Totals</h2>");
    let _ = writeln!(
        o,
        "<table class=\"totals\"><tbody>\
         <tr><th scope=\"row\">Studies sent</th><td class=\"n\" data-total=\"studies\">{}</td></tr>\
         <tr><th scope=\"row\">Verified</th><td class=\"n\">{}</td></tr>\
         <tr><th scope=\"row\">Verification failed</th><td class=\"n\">{}</td></tr>\
         <tr><th scope=\"row\">Cancelled</th><td class=\"n\">{}</td></tr>\
         <tr><th scope=\"row\">Files</th><td class=\"n\" data-total=\"files\">{}</td></tr>\
         <tr><th scope=\"row\">Bytes</th><td class=\"n\" data-total=\"bytes\">{} ({})</td></tr>\
         </tbody></table>",
        t.studies,
        t.verified,
        t.failed,
        t.cancelled,
        t.files,
        t.bytes,
        escape(&bytes_words(t.bytes))
    );

    // deliveries
    let _ = writeln!(o, "<h2>Studies sent</h2>");
    if r.deliveries.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"muted\">Nothing was delivered in this period.</p>"
        );
    } else {
        let _ = writeln!(
            o,
            "<table class=\"deliveries\"><thead><tr><th>Send</th><th>Study</th><th>Subject</th>\
             <th>Session</th><th>Destination</th><th class=\"n\">Files</th><th class=\"n\">Size</th>\
             <th>Queued</th><th>Delivered</th><th>Checked</th><th>Verification</th><th>Profile</th>\
             </tr></thead><tbody>"
        );
        for d in &r.deliveries {
            let check = match d.outcome.as_str() {
                "verified" => format!(
                    "<span class=\"ok\">ok</span>: {} of {} matched<br><span class=\"muted\">{}</span>",
                    d.matched,
                    d.expected,
                    escape(&d.method)
                ),
                "cancelled" => "<span class=\"muted\">cancelled</span>".to_string(),
                _ => format!(
                    "<span class=\"bad\">failed</span>: {} of {} matched<br><span class=\"muted\">{}</span>",
                    d.matched,
                    d.expected,
                    escape(&d.method)
                ),
            };
            let _ = writeln!(
                o,
                "<tr data-outcome=\"{}\"><td class=\"n\">{}</td><td>{}</td><td><code>{}</code></td>\
                 <td><code>{}</code></td><td><code>{}</code></td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{check}</td>\
                 <td>{} <code title=\"{}\">{}</code></td></tr>",
                escape(&d.outcome),
                d.job,
                d.study.as_deref().map(escape).unwrap_or_else(|| "—".into()),
                escape(&d.project_subject()),
                escape(&d.session),
                escape(&d.destination),
                d.files,
                escape(&bytes_words(d.bytes)),
                when(r, d.queued_at),
                when(r, d.delivered_at),
                when(r, d.verified_at),
                escape(&d.profile),
                escape(&d.profile_sha256),
                escape(&short_sha(&d.profile_sha256)),
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }

    // profiles in force
    let mut profiles: Vec<(&str, &str)> = r
        .deliveries
        .iter()
        .map(|d| (d.profile.as_str(), d.profile_sha256.as_str()))
        .collect();
    profiles.sort_unstable();
    profiles.dedup();
    let _ = writeln!(o, "<h2>Profiles in force</h2>");
    if profiles.is_empty() {
        let _ = writeln!(o, "<p class=\"muted\">No delivery in this period.</p>");
    } else {
        let _ = writeln!(
            o,
            "<table class=\"profiles\"><thead><tr><th>Profile</th><th>SHA-256</th><th class=\"n\">Studies</th></tr></thead><tbody>"
        );
        for (name, sha) in profiles {
            let n = r
                .deliveries
                .iter()
                .filter(|d| d.profile == name && d.profile_sha256 == sha)
                .count();
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"n\">{n}</td></tr>",
                escape(name),
                escape(sha)
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }

    approvals_section(&mut o, &r.approvals);

    // review sign-offs
    let _ = writeln!(o, "<h2>Review sign-offs</h2>");
    if r.study.is_some() {
        let _ = writeln!(
            o,
            "<p class=\"meta\">Sign-offs and quarantine decisions are kept per computer, not per \
             study: these cover every study in the period.</p>"
        );
    }
    if r.signoffs.is_empty() {
        let _ = writeln!(o, "<p class=\"muted\">No sign-off in this period.</p>");
    } else {
        let _ = writeln!(
            o,
            "<table class=\"signoffs\"><thead><tr><th>When</th><th>Reviewer</th><th class=\"n\">Images looked at</th></tr></thead><tbody>"
        );
        for s in &r.signoffs {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                when(r, Some(s.at)),
                escape(&s.reviewer),
                s.instances
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }

    // quarantine
    let _ = writeln!(o, "<h2>Quarantine decisions</h2>");
    if r.quarantine.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"muted\">Nothing was set aside in this period.</p>"
        );
    } else {
        let _ = writeln!(
            o,
            "<table class=\"quarantine-counts\"><thead><tr><th>Reason code</th><th class=\"n\">Held</th>\
             <th class=\"n\">Released</th><th class=\"n\">Discarded</th></tr></thead><tbody>"
        );
        for c in &r.quarantine_counts {
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(&c.code),
                c.held,
                c.released,
                c.discarded
            );
        }
        let _ = writeln!(o, "</tbody></table>");
        let _ = writeln!(
            o,
            "<table class=\"quarantine\"><thead><tr><th class=\"n\">Item</th><th>Reason code</th>\
             <th>Set aside</th><th>Decision</th><th>Decided</th><th>Profile</th></tr></thead><tbody>"
        );
        for q in &r.quarantine {
            let _ = writeln!(
                o,
                "<tr><td class=\"n\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{} <code title=\"{}\">{}</code></td></tr>",
                q.id,
                escape(&q.code),
                when(r, Some(q.held_at)),
                escape(&q.state),
                when(r, q.decided_at),
                escape(&q.profile_name),
                escape(&q.profile_sha),
                escape(&short_sha(&q.profile_sha))
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }
    let _ = writeln!(
        o,
        "<p class=\"meta\">{} in {} studies. Made by Deposit {}.</p>",
        escape(&files_words(t.files)),
        t.studies,
        env!("CARGO_PKG_VERSION")
    );
    o.push_str("</body></html>\n");
    o
}

impl super::Delivery {
    /// "project / subject" for the subject column.
    fn project_subject(&self) -> String {
        format!("{} / {}", self.project, self.subject)
    }
}
