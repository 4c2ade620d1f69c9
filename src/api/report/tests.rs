//! Unit tests of the report: periods, deliveries from job listings, HTML escaping, CSV quoting.

use super::*;
use crate::archive::StudyLabels;
use crate::queue::state::State;
use crate::queue::store::StudyView;

// 2026-12-03T13:02:00Z
const T: i64 = 1_796_302_920;
const DAY: i64 = 86_400;

fn study(session: &str, audit: Option<Value>) -> StudyView {
    StudyView {
        labels: StudyLabels {
            project: "TRIAL".into(),
            subject: "DEP-1".into(),
            session: session.into(),
        },
        state: State::Verified,
        uri: None,
        files: 2,
        pieces_done: 1,
        pieces: 1,
        detail: None,
        audit,
        extras: Vec::new(),
    }
}

fn verified(at: i64, files: u64) -> Value {
    serde_json::json!({
        "destination": "folder:/archive",
        "profile": {"name": "ps3.15-basic", "sha256": "abc1230000000000000000000000000000000000000000000000000000000000"},
        "files": files, "bytes": files * 1000, "pieces": 1,
        "queued_at": at - 60, "delivered_at": at - 10, "verified_at": at,
        "verification": {"method": "listing", "expected": files, "matched": files, "result": "ok", "problems": []},
    })
}

fn jobs() -> Vec<JobView> {
    vec![JobView {
        id: 4,
        state: "done".into(),
        destination: "folder:/archive".into(),
        study: None,
        profile: serde_json::json!({"name": "ps3.15-basic", "sha256": "abc1230000000000000000000000000000000000000000000000000000000000"}),
        created_at: T - 3 * DAY,
        studies: vec![
            study("S-old", Some(verified(T - 2 * DAY, 3))),
            study("S-new", Some(verified(T, 5))),
            study(
                "S-cancel",
                Some(
                    serde_json::json!({"cancelled_at": T + 60, "files": 9, "files_sent": 4, "pieces": 3, "pieces_sent": 1}),
                ),
            ),
            study("S-pending", None),
        ],
    }]
}

fn cfg() -> Config {
    crate::config::parse(
        "[studies.trial]\nproject = \"TRIAL\"\nprofile = \"ps3.15-basic\"\nprofile_sha256 = \"abc1230000000000000000000000000000000000000000000000000000000000\"\napproved_at = \"2026-12-01T09:00:00Z\"\n\n[studies.other]\nproject = \"OTHER\"\n",
        Path::new("deposit.toml"),
    )
    .expect("config")
}

fn report(rows: Vec<Delivery>, study: Option<&str>) -> Report {
    let c = cfg();
    Report {
        generated_at: T,
        zone: Zone::Fixed(60),
        study: study.map(String::from),
        from: None,
        to: None,
        totals: totals(&rows),
        deliveries: rows,
        approvals: approvals::approvals(None, &c, study),
        signoffs: vec![SignoffRow {
            reviewer: "R. <Reviewer> & co".into(),
            at: T,
            instances: 6,
        }],
        quarantine: vec![QuarantineDecision {
            id: 1,
            code: "lookup_missing".into(),
            state: "released".into(),
            held_at: T - 100,
            decided_at: Some(T),
            profile_name: "ps3.15-basic".into(),
            profile_sha: "abc1230000000000000000000000000000000000000000000000000000000000".into(),
        }],
        quarantine_counts: Vec::new(),
    }
}

#[test]
fn deliveries_come_from_audit_records_and_belong_to_a_study() {
    let rows = deliveries(&jobs(), &cfg());
    let sessions: Vec<&str> = rows.iter().map(|d| d.session.as_str()).collect();
    // oldest first; a study without an audit record is not (yet) a delivery
    assert_eq!(sessions, ["S-old", "S-new", "S-cancel"]);
    assert!(rows.iter().all(|d| d.study.as_deref() == Some("trial")));
    let c = rows
        .iter()
        .find(|d| d.outcome == "cancelled")
        .expect("cancelled");
    assert_eq!(c.files, 4);
    let t = totals(&rows);
    assert_eq!(
        (t.studies, t.verified, t.cancelled, t.files, t.bytes),
        (3, 2, 1, 12, 8000)
    );
}

#[test]
fn periods_are_local_days_inclusive() {
    let z = Zone::Fixed(60);
    // the day of T in UTC+01:00 is 2026-12-03, from 2026-12-02T23:00Z
    let p = Period::days(Some("2026-12-03"), Some("2026-12-03"), &z).expect("period");
    assert!(p.contains(T));
    assert!(p.contains(z.day_start("2026-12-03").expect("day")));
    assert!(!p.contains(z.day_start("2026-12-04").expect("day")));
    assert!(!p.contains(z.day_start("2026-12-03").expect("day") - 1));
    let rows: Vec<Delivery> = deliveries(&jobs(), &cfg())
        .into_iter()
        .filter(|d| d.at().is_some_and(|t| p.contains(t)))
        .collect();
    let sessions: Vec<&str> = rows.iter().map(|d| d.session.as_str()).collect();
    assert_eq!(sessions, ["S-new", "S-cancel"]);
    // open ends
    let all = Period::days(None, None, &z).expect("all");
    assert!(all.contains(i64::MIN) && all.contains(i64::MAX));
    let upto = Period::days(None, Some("2026-12-01"), &z).expect("upto");
    assert!(upto.contains(T - 2 * DAY - 3600 * 12) && !upto.contains(T));
    // backwards and bad dates
    assert_eq!(
        Period::days(Some("2026-12-04"), Some("2026-12-03"), &z)
            .expect_err("backwards")
            .code,
        "report.period"
    );
    assert_eq!(
        Period::days(Some("03/12/2026"), None, &z)
            .expect_err("bad")
            .code,
        "report.date"
    );
}

#[test]
fn html_escapes_everything_and_has_no_script() {
    let mut rows = deliveries(&jobs(), &cfg());
    if let Some(d) = rows.first_mut() {
        d.session = "<script>alert('x')</script>".into();
    }
    let r = report(rows, Some("trial"));
    let h = html::render(&r);
    assert!(!h.to_ascii_lowercase().contains("<script"), "{h}");
    assert!(h.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(h.contains("R. &lt;Reviewer&gt; &amp; co"));
    assert!(
        !h.contains("src=") && !h.contains("href="),
        "no external resources"
    );
    assert!(h.contains("3 Dec 2026 14:02 (UTC+01:00)"));
    assert!(h.contains("Approved at (UTC)") && h.contains("2026-12-01T09:00:00Z"));
    assert!(h.contains("lookup_missing"));
    assert!(h.contains("data-total=\"files\">12<"));
    assert_eq!(html::escape("a&b<c>\"'"), "a&amp;b&lt;c&gt;&quot;&#39;");
}

#[test]
fn csv_quotes_as_rfc_4180_and_guards_formulas() {
    assert_eq!(csv::field("plain"), "plain");
    assert_eq!(csv::field("a,b"), "\"a,b\"");
    assert_eq!(csv::field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv::field("two\nlines"), "\"two\nlines\"");
    assert_eq!(csv::field("=SUM(A1)"), "'=SUM(A1)");
    assert_eq!(csv::field("-1,2"), "\"'-1,2\"");
    assert_eq!(csv::record(&["a", "b,c"]), "a,\"b,c\"\r\n");

    let r = report(deliveries(&jobs(), &cfg()), Some("trial"));
    let text = csv::deliveries(&r);
    let lines: Vec<&str> = text.split("\r\n").collect();
    // header, 3 deliveries, total, and the empty string after the last CRLF
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(
        lines.first().copied(),
        Some(csv::DELIVERY_COLUMNS.join(",").as_str())
    );
    assert!(lines
        .iter()
        .all(|l| l.is_empty() || l.split(',').count() >= csv::DELIVERY_COLUMNS.len()));
    let new = lines.iter().find(|l| l.contains("S-new")).expect("row");
    assert!(new.starts_with("delivery,4,trial,TRIAL,DEP-1,S-new,folder:/archive,verified,5,5000,"));
    assert!(new.contains("2026-12-03T14:02:00+01:00"));
    assert!(new.contains(",abc1230000000000000000000000000000000000000000000000000000000000,2026-12-01T09:00:00Z,profile=ps3.15-basic"));
    let total = lines.get(4).copied().unwrap_or_default();
    assert!(total.starts_with("total,,trial,"), "{total}");
    assert!(total.contains(",12,8000,"), "{total}");

    let q = csv::quarantine(&r);
    assert_eq!(
        q,
        "item,code,held_at,decision,decided_at,profile,profile_sha256\r\n\
         1,lookup_missing,2026-12-03T14:00:20+01:00,released,2026-12-03T14:02:00+01:00,ps3.15-basic,abc1230000000000000000000000000000000000000000000000000000000000\r\n"
    );
}

#[test]
fn files_are_named_without_identity_and_csv_comes_in_two() {
    let req = ReportRequest {
        study: Some("trial/../x y".into()),
        from: Some("2026-12-01".into()),
        to: Some("2026-12-31".into()),
        format: ReportFormat::Csv,
        utc_offset_minutes: Some(0),
    };
    assert_eq!(
        file_stem(&req),
        "deposit-report-trial..xy-2026-12-01-to-2026-12-31"
    );
    let files = render(&report(Vec::new(), None), &req);
    assert_eq!(files.len(), 2);
    let paths = sibling_paths(Path::new("/tmp/out/r.csv"), &files);
    assert_eq!(
        paths,
        [
            std::path::PathBuf::from("/tmp/out/r.csv"),
            std::path::PathBuf::from("/tmp/out/r-quarantine.csv")
        ]
    );
    let counts = count_codes(&report(Vec::new(), None).quarantine);
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].held, counts[0].released), (0, 1));
}
