//! Review sampling and sign-off through the api (what the app calls): N instances per series
//! and per source folder, the same for the same seed; sign-offs stored in the catalog and
//! listed; bad input refused without recording anything. The CLI's `inspect --sample` too.

use crate::support;

use std::collections::BTreeMap;

use deposit::api::review::SampleOptions;
use deposit::api::Session;

#[test]
fn sample_is_per_series_and_seeded_and_signoffs_are_recorded() {
    let tmp = tempfile::tempdir().expect("tmp");
    let site_a = tmp.path().join("siteA");
    let site_b = tmp.path().join("siteB");
    let cfg = deposit_synth::Config {
        patients: 2,
        ct_slices: 6,
        rows: 16,
        cols: 16,
        ..Default::default()
    };
    deposit_synth::generate(&site_a, &cfg).expect("corpus a");
    deposit_synth::generate(&site_b, &deposit_synth::Config { seed: 2, ..cfg }).expect("corpus b");
    let mut s = Session::open(tmp.path().join("home")).expect("session");
    let roots = vec![site_a.clone(), site_b.clone()];
    let opts = SampleOptions {
        per_series: 2,
        seed: 11,
    };
    let a = s.sample(&roots, &opts).expect("sample");
    let again = s.sample(&roots, &opts).expect("again");
    assert_eq!(a, again, "same seed, same pick");
    let other = s
        .sample(&roots, &SampleOptions { seed: 12, ..opts })
        .expect("other");
    assert_ne!(a.instances, other.instances, "another seed, another pick");
    // At most 2 per (source, series); every series of both sites is represented.
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for i in &a.instances {
        *per.entry((i.source.clone(), i.series_uid.clone()))
            .or_default() += 1;
    }
    assert_eq!(per.len() as u64, a.series);
    assert!(per.values().all(|n| (1..=2).contains(n)));
    assert!(per.keys().any(|(src, _)| src.ends_with("siteA")));
    assert!(per.keys().any(|(src, _)| src.ends_with("siteB")));
    // A CT series of 6 slices gives exactly 2.
    assert!(per.values().any(|n| *n == 2));

    let ids: Vec<i64> = a.instances.iter().map(|i| i.instance_id).collect();
    let so = s
        .record_signoff(&ids, " Dr Reviewer ", "looked at every sampled image")
        .expect("signoff");
    assert_eq!(so.reviewer, "Dr Reviewer");
    let listed = s.signoffs().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, so.id);
    let mut want = ids.clone();
    want.sort_unstable();
    assert_eq!(listed[0].instance_ids, want);
    assert_eq!(listed[0].study, None, "no study in force");
    // made while a study is in force, the sign-off records it
    s.use_study(deposit::api::config::StudySettings {
        name: Some("heart".into()),
        ..Default::default()
    })
    .expect("study");
    let so2 = s
        .record_signoff(&ids[..1], "Dr Reviewer", "second look")
        .expect("signoff");
    assert_eq!(so2.study.as_deref(), Some("heart"));
    assert_eq!(
        s.signoffs().expect("list")[0].study.as_deref(),
        Some("heart")
    );
    // Refusals record nothing.
    assert_eq!(
        s.record_signoff(&ids, "  ", "x")
            .expect_err("no reviewer")
            .code,
        "review.reviewer"
    );
    assert_eq!(
        s.record_signoff(&[], "R", "x").expect_err("empty").code,
        "review.empty"
    );
    let e = s
        .record_signoff(&[ids[0], 999_999], "R", "x")
        .expect_err("unknown");
    assert_eq!(e.code, "review.unknown_instance");
    assert_eq!(s.signoffs().expect("list").len(), 2);
    drop(s);
    // Stored: a new session on the same home still lists it.
    let s = Session::open(tmp.path().join("home")).expect("reopen");
    assert_eq!(s.signoffs().expect("list").len(), 2);

    // The CLI prints the same sample.
    let (code, v, _) = support::cli::deposit(
        &tmp.path().join("home"),
        &[
            "inspect",
            site_a.to_str().expect("p"),
            "--sample",
            "2",
            "--seed",
            "11",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let cli_ids: Vec<i64> = v["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["instance_id"].as_i64())
        .collect();
    let from_a: Vec<i64> = a
        .instances
        .iter()
        .filter(|i| i.source.ends_with("siteA"))
        .map(|i| i.instance_id)
        .collect();
    assert_eq!(cli_ids, from_a);
}
