//! The configured study as the window and the web UI see it: approving a profile pins it, and
//! sessions opened for the study then default to it and refuse any other. The configuration
//! file and the data home are given explicitly, as front doors pass what they were told.

use deposit::api::resolve::{approve, open_session, profiles, study_view, Overrides};

#[test]
fn approving_pins_the_profile_and_the_session_then_refuses_another() {
    let dir = tempfile::tempdir().expect("dir");
    let told = Overrides {
        default_config: Some(dir.path().join("deposit.toml")),
        home: Some(dir.path().join("home")),
        ..Overrides::default()
    };
    let before = study_view(&told).expect("view");
    assert!(before.study.is_none() && before.approval.is_none());
    let a = approve(&told, "ps3.15-basic", 1_764_000_000).expect("approve");
    assert_eq!(a.study, "default");
    let view = study_view(&told).expect("view");
    assert_eq!(view.study.as_deref(), Some("default"));
    assert_eq!(
        view.approval.as_ref().map(|a| a.sha256.clone()),
        Some(a.sha256.clone())
    );
    let s = open_session(&told).expect("session");
    assert_eq!(s.home().root(), dir.path().join("home"));
    assert_eq!(
        s.run_profile(None).expect("pinned default").sha256,
        a.sha256,
        "the approved profile is the default"
    );
    let e = s
        .run_profile(Some("research-longitudinal"))
        .expect_err("another profile needs re-approval");
    assert_eq!(e.code, "profile.not_approved");
}

#[test]
fn the_profiles_list_marks_approved_files_as_the_command_line_does() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("mine.toml");
    std::fs::write(
        &file,
        "name = \"site\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\noptions = [\"retain_patient_characteristics\"]\n",
    )
    .expect("write");
    let told = Overrides {
        default_config: Some(dir.path().join("deposit.toml")),
        home: Some(dir.path().join("home")),
        ..Overrides::default()
    };
    approve(&told, file.to_str().expect("utf8"), 1_764_000_000).expect("approve");
    let all = profiles(&told).expect("profiles");
    let approved: Vec<_> = all.iter().filter(|p| !p.approved_for.is_empty()).collect();
    assert_eq!(approved.len(), 1, "{all:?}");
    assert_eq!(
        approved[0].name, "site",
        "the approved file is listed beside the shipped ones"
    );
    assert_eq!(approved[0].approved_for, ["default"]);
}
