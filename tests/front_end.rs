//! The configured study as the window and the web UI see it: approving a profile pins it, and
//! sessions opened for the study then default to it and refuse any other. (Its own test binary:
//! it sets DEPOSIT_CONFIG and DEPOSIT_HOME for the whole process.)

use deposit::api::config::{approve_for_study, open_for_study, study_view};

#[test]
fn approving_pins_the_profile_and_the_session_then_refuses_another() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = dir.path().join("deposit.toml");
    let home = dir.path().join("home");
    // env vars are process-wide: this binary has this one test
    std::env::set_var("DEPOSIT_CONFIG", &cfg);
    std::env::set_var("DEPOSIT_HOME", &home);
    let before = study_view().expect("view");
    assert!(before.study.is_none() && before.approval.is_none());
    let a = approve_for_study("ps3.15-basic", 1_764_000_000).expect("approve");
    assert_eq!(a.study, "default");
    let view = study_view().expect("view");
    assert_eq!(view.study.as_deref(), Some("default"));
    assert_eq!(
        view.approval.as_ref().map(|a| a.sha256.clone()),
        Some(a.sha256.clone())
    );
    let s = open_for_study().expect("session");
    assert_eq!(
        s.run_profile(None).expect("pinned default").sha256,
        a.sha256,
        "the approved profile is the default"
    );
    let e = s
        .run_profile(Some("research-longitudinal"))
        .expect_err("another profile needs re-approval");
    assert_eq!(e.code, "profile.not_approved");
    std::env::remove_var("DEPOSIT_CONFIG");
    std::env::remove_var("DEPOSIT_HOME");
}
