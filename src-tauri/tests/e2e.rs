//! End to end: drives the real app binary through tauri-driver + WebKitWebDriver (under Xvfb when
//! there is no display): drop a folder of sample files onto the window, find studies, see them listed by patient
//! and the non-DICOM file listed with its reason; inspect the tag diff and the image; send to the
//! folder archive with a lookup table that lacks one patient; see one study verified in history
//! and the other in the quarantine; give that patient a pseudonym in the window (written into the
//! lookup table), which releases it. Then a named XNAT
//! destination (the XNAT-compatible test server) with its password checked and kept in a real
//! keyring, the same studies sent there and verified; the receiver taking an image from
//! storescu; a review sample signed off. Screenshots of each screen go to artifacts/screenshots/
//! (and to docs/screenshots/ with DEPOSIT_UPDATE_SCREENSHOTS=1).
//!
//! Peers: `tauri-driver` (PATH, ~/.cargo/bin or env TAURI_DRIVER), `WebKitWebDriver`,
//! `dbus-run-session` + `gnome-keyring-daemon`, dcmtk's `storescu`, and `Xvfb` when DISPLAY is
//! unset. Missing peers skip the test, or fail it when DEPOSIT_REQUIRE_PEERS=1.

mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deposit_xnat_server::{files_under, Config as XnatConfig, Server};
use fantoccini::key::Key;
use fantoccini::Locator;
use support::*;

const APP: &str = env!("CARGO_BIN_EXE_deposit-app");

fn tauri_driver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return Some(PathBuf::from(p));
    }
    on_path("tauri-driver").or_else(|| {
        let p = PathBuf::from(std::env::var_os("HOME")?).join(".cargo/bin/tauri-driver");
        p.is_file().then_some(p)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_in_inspect_send_verify_quarantine_release() {
    let Some(driver) = tauri_driver() else {
        return missing(
            "tauri-driver was not found (cargo install tauri-driver --version ^2 --locked)",
        );
    };
    if on_path("WebKitWebDriver").is_none() {
        return missing("WebKitWebDriver is not installed (apt-get install webkit2gtk-driver)");
    }
    let Some(samples) = samples() else {
        return missing("the sample corpus was not found (DEPOSIT_SAMPLES or tests/data/samples)");
    };
    let started = Instant::now();
    let mut xvfb = None;
    let display = match std::env::var("DISPLAY") {
        Ok(d) if !d.is_empty() => d,
        _ => match start_xvfb() {
            Ok((p, d)) => {
                xvfb = Some(p);
                d
            }
            Err(why) => return missing(&why),
        },
    };

    // The folder: three DICOM files from different patients (the MR is a secondary image, so
    // at burned-in risk), a synthetic ultrasound with the patient's name burned into its
    // pixels, and one text file.
    let input = tempfile::tempdir().expect("tempdir");
    for f in ["CT_small.dcm", "MR_small.dcm", "J2K_pixelrep_mismatch.dcm"] {
        std::fs::copy(
            samples.join("pydicom/test_files").join(f),
            input.path().join(f),
        )
        .expect("copy sample");
    }
    let synth = tempfile::tempdir().expect("tempdir");
    let cfg = deposit_synth::Config {
        patients: 1,
        ct_slices: 1,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    let manifest = deposit_synth::generate(synth.path(), &cfg).expect("synthetic corpus");
    let us = manifest
        .files
        .iter()
        .find(|f| !f.burned_in.is_empty())
        .expect("a burned-in ultrasound");
    std::fs::copy(synth.path().join(&us.path), input.path().join("us.dcm")).expect("copy us");
    let canary = |tag: &str| {
        manifest
            .canaries
            .iter()
            .find(|c| c.tag == tag && c.patient == us.patient)
            .map(|c| c.value.clone())
            .expect("canary")
    };
    let (us_id, us_name) = (canary("(0010,0020)"), canary("(0010,0010)"));
    std::fs::write(input.path().join("readme.txt"), "burned to CD on Monday\n").expect("write");
    let home = tempfile::tempdir().expect("tempdir");

    // The app runs in a private D-Bus session with gnome-keyring's Secret Service unlocked, as
    // on a desktop, so "Store password" in Settings keeps the XNAT secret in a real keyring.
    for peer in ["dbus-run-session", "gnome-keyring-daemon"] {
        if on_path(peer).is_none() {
            return missing(&format!(
                "{peer} is not installed (apt-get install dbus gnome-keyring)"
            ));
        }
    }
    let desktop = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(desktop.path().join("run")).expect("runtime dir");
    let ready_file = desktop.path().join("ready");
    let config = home.path().join("deposit.toml");
    let xnat = Server::start(&desktop.path().join("xnat"), XnatConfig::default()).expect("xnat");

    let port = free_port();
    let native = free_port();
    let session = format!(
        "eval \"$(printf %s e2e-keyring | gnome-keyring-daemon --unlock --components=secrets)\" >/dev/null; \
         exec '{}' --port {port} --native-port {native}",
        driver.display()
    );
    let driver = Proc(
        Command::new("dbus-run-session")
            .args(["--", "sh", "-c", &session])
            .process_group(0)
            .env("DISPLAY", &display)
            .env("HOME", desktop.path())
            .env("XDG_RUNTIME_DIR", desktop.path().join("run"))
            .env("DEPOSIT_HOME", home.path())
            .env("DEPOSIT_CONFIG", &config)
            .env("DEPOSIT_READY_FILE", &ready_file)
            .env_remove("DEPOSIT_PASSWORD")
            .env_remove("NETRC")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn tauri-driver"),
        "tauri-driver",
    );
    let c = app_session(port, Path::new(APP)).await;
    let session_up = started.elapsed();

    // The window reported its first frame (the figure start-up is measured by, see
    // benches/first-window.sh).
    let deadline = Instant::now() + WAIT;
    let first_window_ms = loop {
        let text = std::fs::read_to_string(&ready_file).unwrap_or_default();
        if let Some(ms) = text.split_whitespace().nth(1) {
            break ms.parse::<u64>().expect("start-up milliseconds");
        }
        assert!(
            Instant::now() < deadline,
            "the window never reported its first frame"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Sources: empty, then with the folder typed in.
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=screen-sources]"))
        .await
        .expect("sources screen");
    assert_eq!(c.title().await.expect("title"), "Deposit");
    wait_count(&c, "[data-testid=data-home] code", 1).await;
    let shown_home = texts(&c, "[data-testid=data-home] code").await;
    assert_eq!(shown_home, vec![home.path().display().to_string()]);
    shot(&c, "01-sources").await;

    // Drop the folder onto the window. A real XDND drag cannot be made under Xvfb, so the drop
    // arrives as the event Tauri raises for one (`tauri://drag-drop`), through the same listener.
    let folder = input.path().display().to_string();
    c.execute(
        "window.__TAURI_INTERNALS__.invoke('plugin:event|emit', {event: 'tauri://drag-drop', \
         payload: {paths: [arguments[0]], position: {x: 500, y: 300}}});",
        vec![serde_json::json!(folder)],
    )
    .await
    .expect("drop the folder");
    wait_count(&c, "[data-testid=source-item]", 1).await;
    assert_eq!(
        texts(&c, "[data-testid=source-item] code").await,
        vec![folder.clone()]
    );
    let sources_shot = shot(&c, "02-sources-folder-added").await;

    // Scan: the window switches to Studies when the engine reports it finished.
    c.find(Locator::Css("[data-testid=start-scan]"))
        .await
        .expect("scan button")
        .click()
        .await
        .expect("click scan");
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=screen-studies]"))
        .await
        .expect("studies screen");
    wait_count(&c, "[data-testid=patient-group]", 4).await;
    let names = texts(&c, "[data-testid=patient-name]").await;
    assert_eq!(names.len(), 4, "{names:?}");
    for want in [
        "CompressedSamples, CT1",
        "CompressedSamples, MR1",
        "JXD191021006",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    let rows = texts(&c, "[data-testid=study-row]").await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("MR")), "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("US")), "{rows:?}");

    wait_count(&c, "[data-testid=skipped-item]", 1).await;
    let skipped = texts(&c, "[data-testid=skipped-item]").await;
    assert!(skipped[0].contains("readme.txt"), "{skipped:?}");
    let reason = texts(&c, "[data-testid=skipped-reason]").await;
    assert!(reason[0].starts_with("not DICOM"), "{reason:?}");
    assert_eq!(
        count(&c, "[data-testid=risk-ok]").await,
        2,
        "the CTs: headers only"
    );
    assert_eq!(
        texts(&c, "[data-testid=risk-badge]").await,
        vec!["1 image needs pixel review"; 2],
        "the secondary MR and the ultrasound"
    );
    let studies_shot = shot(&c, "03-studies").await;

    // The keyboard works the list: ↓ marks the first study, Space leaves it out, Space again
    // takes it back.
    let chosen = "[data-testid=study-select]:checked";
    assert_eq!(count(&c, chosen).await, 4);
    let list = c
        .find(Locator::Css("[data-testid=studies-list]"))
        .await
        .expect("studies list");
    list.send_keys(&Key::Down.to_string())
        .await
        .expect("arrow down");
    list.send_keys(&Key::Space.to_string())
        .await
        .expect("space");
    wait_count(&c, chosen, 3).await;
    list.send_keys(&Key::Space.to_string())
        .await
        .expect("space again");
    wait_count(&c, chosen, 4).await;

    // Inspect: the CT's image and its tag diff, with the rule behind each change.
    click_css(
        &c,
        "[data-testid=study-row][data-study-uid='1.3.6.1.4.1.5962.1.2.1.20040119072730.12322'] [data-testid=inspect-study]",
    )
    .await;
    wait_for(&c, "[data-testid=screen-inspect]").await;
    wait_for(&c, "[data-testid=diff-row][data-tag='(0010,0010)']").await;
    let name_row = c
        .find(Locator::Css(
            "[data-testid=diff-row][data-tag='(0010,0010)']",
        ))
        .await
        .expect("patient name row")
        .text()
        .await
        .expect("text");
    assert!(name_row.contains("CompressedSamples^CT1"), "{name_row}");
    assert!(name_row.contains("PatientName"), "{name_row}");
    wait_for(&c, "[data-testid=viewer-image]").await;
    let info = texts(&c, "[data-testid=viewer-info]").await;
    assert!(info[0].starts_with("128×128"), "{info:?}");
    let inspect_shot = shot(&c, "04-inspect").await;

    // Mask the ultrasound: the detector finds the burned-in text, the radiologist covers it,
    // previews the masked frame and saves the rule (it applies to every frame that matches).
    click(&c, "nav-studies").await;
    click_css(
        &c,
        &format!(
            "[data-testid=study-row][data-study-uid='{}'] [data-testid=inspect-study]",
            us.study_instance_uid
        ),
    )
    .await;
    wait_for(&c, "[data-testid=viewer-image]").await;
    click(&c, "find-text").await;
    wait_for(&c, "[data-testid=accept-suggestions]").await;
    assert!(count(&c, "[data-testid=suggested-rect]").await >= 1);
    click(&c, "accept-suggestions").await;
    wait_for(&c, "[data-testid=mask-count]").await;
    click(&c, "mask-preview").await;
    wait_for(&c, "[data-testid=viewer-image][data-masked=yes]").await;
    type_into(&c, "mask-author", "E2E Radiologist").await;
    click(&c, "mask-save").await;
    wait_for(&c, "[data-testid=mask-saved]").await;
    let saved = texts(&c, "[data-testid=mask-saved]").await;
    assert!(saved[0].contains("1 image in 1 study"), "{saved:?}");
    let mask_shot = shot(&c, "05-mask").await;

    // Send with a lookup table that lacks the third patient: it is set aside, and so is the
    // MR (pixels not reviewed); the first CT is delivered and verified.
    let lookup = tempfile::NamedTempFile::new().expect("lookup file");
    std::fs::write(
        lookup.path(),
        format!("original,pseudonym\n1CT1,SUBJ01\n4MR1,SUBJ02\n{us_id},SUBJ04\n"),
    )
    .expect("write lookup");
    click(&c, "nav-send").await;
    wait_for(&c, "[data-testid=screen-send]").await;
    assert!(texts(&c, "[data-testid=send-chosen]").await[0].starts_with("4 studies, 4 images"));
    assert!(texts(&c, "[data-testid=send-risk-note]").await[0].starts_with("2 images may show"));
    type_into(&c, "lookup-path", &lookup.path().display().to_string()).await;
    // the Studies screen now badges the patient the table lacks
    click(&c, "nav-studies").await;
    wait_count(&c, "[data-testid=lookup-badge]", 1).await;
    let badged = c
        .execute(
            "return document.querySelector('[data-testid=lookup-badge]').closest('tr').textContent;",
            vec![],
        )
        .await
        .expect("badged row");
    assert!(
        badged.as_str().is_some_and(|t| t.contains("JXD191021006")),
        "{badged}"
    );
    click(&c, "nav-send").await;
    let send_form_shot = shot(&c, "06-send").await;
    click(&c, "send-start").await;
    wait_for(&c, "[data-testid=send-result]").await;
    assert_eq!(
        texts(&c, "[data-testid=result-verified]").await,
        vec!["2 files verified in the archive"],
        "the CT, and the ultrasound masked by the rule"
    );
    assert_eq!(
        texts(&c, "[data-testid=result-quarantined]").await[0],
        "2 files set aside see why"
    );
    let result_shot = shot(&c, "07-send-result").await;

    // History: the CT and the ultrasound verified, under their pseudonyms.
    click(&c, "open-history").await;
    wait_count(&c, "[data-testid=history-study][data-state=verified]", 2).await;
    let hist = texts(&c, "[data-testid=history-study]").await.join(" | ");
    assert!(hist.contains("SUBJ01") && hist.contains("SUBJ04"), "{hist}");
    click(&c, "show-audit").await;
    wait_for(&c, "[data-testid=audit-record]").await;
    // the record in words, with the local time's offset
    wait_text(&c, "[data-testid=audit-headline]", "verified:").await;
    let headline = c
        .find(Locator::Css("[data-testid=audit-headline]"))
        .await
        .expect("headline")
        .text()
        .await
        .expect("text");
    assert!(
        headline.starts_with("Sent ") && headline.contains("UTC"),
        "{headline}"
    );
    let history_shot = shot(&c, "08-history").await;

    // Quarantine: the MR for pixel review, the third CT for its missing lookup entry; add the
    // entry and release that one.
    click(&c, "nav-quarantine").await;
    wait_count(&c, "[data-testid=quarantine-item]", 2).await;
    assert_eq!(
        count(
            &c,
            "[data-testid=quarantine-item][data-code=needs_pixel_review]"
        )
        .await,
        1
    );
    // Choose the CT held for its missing lookup entry, give the patient a pseudonym in the
    // window (it goes into the lookup table) and so release it.
    click_css(
        &c,
        "[data-testid=quarantine-item][data-code=lookup_missing] [data-testid=quarantine-reason]",
    )
    .await;
    wait_text(&c, "[data-testid=quarantine-missing-key]", "JXD191021006").await;
    type_into(&c, "lookup-value", "SUBJ03").await;
    let quarantine_shot = shot(&c, "09-quarantine").await;
    click(&c, "lookup-add").await;
    wait_count(
        &c,
        "[data-testid=quarantine-done-item][data-state=released]",
        1,
    )
    .await;
    assert_eq!(
        count(&c, "[data-testid=quarantine-item]").await,
        1,
        "the MR stays"
    );
    let table = std::fs::read_to_string(lookup.path()).expect("lookup table");
    assert!(table.ends_with("\nJXD191021006,SUBJ03\n"), "{table}");

    // The folder archive holds the three, de-identified, under their pseudonyms only.
    let archived = dcm_files(&home.path().join("archive"));
    assert_eq!(archived.len(), 3, "{archived:?}");
    for f in &archived {
        let shown = f.display().to_string();
        assert!(
            ["SUBJ01", "SUBJ03", "SUBJ04"]
                .iter()
                .any(|s| shown.contains(s)),
            "{shown}"
        );
        let bytes = std::fs::read(f).expect("read archived");
        for canary in [
            &b"CompressedSamples"[..],
            b"1CT1",
            b"JXD191021006",
            us_id.as_bytes(),
            us_name.as_bytes(),
        ] {
            assert!(
                !contains(&bytes, canary),
                "{} leaks {:?}",
                shown,
                String::from_utf8_lossy(canary)
            );
        }
    }

    // The engine wrote the catalog into the DEPOSIT_HOME the app was given.
    assert!(
        std::fs::read_dir(home.path())
            .expect("home")
            .next()
            .is_some(),
        "the app used the given DEPOSIT_HOME"
    );

    // Settings: a named XNAT destination, its password checked and kept in the keyring, the
    // connection tested; then send the same studies there by its name.
    click(&c, "nav-settings").await;
    wait_for(&c, "[data-testid=new-destination-name]").await;
    type_into(&c, "new-destination-name", "central").await;
    let xnat_url = format!("xnat+http://alice@127.0.0.1:{}?project=TRIAL", xnat.port());
    type_into(&c, "new-destination-url", &xnat_url).await;
    click(&c, "new-destination-save").await;
    wait_for(&c, "[data-testid=destination][data-name=central]").await;
    click(&c, "destination-login").await;
    type_into(&c, "destination-secret", "wonderland").await;
    click(&c, "destination-secret-save").await;
    wait_text(
        &c,
        "[data-testid=destination-check]",
        "stored in the keyring",
    )
    .await;
    click(&c, "destination-test").await;
    wait_text(&c, "[data-testid=destination-check]", "Reachable").await;
    let written = std::fs::read_to_string(&config).expect("deposit.toml written");
    assert!(written.contains("[destinations.central]"), "{written}");
    assert!(!written.contains("wonderland"), "no secret in deposit.toml");
    let settings_shot = shot(&c, "10-settings").await;

    click(&c, "nav-send").await;
    click_css(&c, "[data-testid=dest-named][data-name=central]").await;
    assert_eq!(count(&c, "[data-testid=dest-url]").await, 0);
    let send_xnat_shot = shot(&c, "11-send-xnat").await;
    click(&c, "send-start").await;
    // the two CTs and the masked ultrasound; the MR stays set aside (the Send screen still
    // shows the first send's result until this one ends)
    wait_text(
        &c,
        "[data-testid=result-verified]",
        "3 files verified in the archive",
    )
    .await;
    let on_server: Vec<PathBuf> = xnat
        .archive_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    assert_eq!(on_server.len(), 3, "{on_server:?}");
    for f in files_under(&desktop.path().join("xnat")) {
        let shown = f.display().to_string();
        assert!(
            !shown.contains("CompressedSamples") && !shown.contains(&us_id),
            "{shown}"
        );
        let bytes = std::fs::read(&f).expect("read stored");
        for canary in [
            &b"CompressedSamples"[..],
            b"1CT1",
            b"JXD191021006",
            us_id.as_bytes(),
        ] {
            assert!(!contains(&bytes, canary), "{shown} leaks a canary");
        }
    }
    click(&c, "open-history").await;
    // the newest send is open: its three studies verified in XNAT
    wait_count(&c, "[data-testid=history-study][data-state=verified]", 3).await;
    assert!(
        count(&c, "[data-testid=history-toggle-studies]").await >= 1,
        "older sends listed"
    );

    // Archive: what XNAT holds now — the three sessions, a session's scans with their counts,
    // its QC status set from here, who is missing, and the session downloaded and checked.
    click(&c, "nav-archive").await;
    // (the only XNAT destination: chosen already)
    wait_text(&c, "[data-testid=archive-destination]", "central").await;
    wait_text(&c, "[data-testid=archive-summary]", "3 sessions").await;
    assert_eq!(count(&c, "[data-testid=archive-session]").await, 3);
    click_css(
        &c,
        "[data-testid=archive-session]:first-child [data-testid=archive-open]",
    )
    .await;
    wait_for(&c, "[data-testid=archive-scan]").await;
    let files = c
        .find(Locator::Css("[data-testid=archive-scan-files]"))
        .await
        .expect("scan files")
        .text()
        .await
        .expect("text");
    assert_eq!(files, "1", "one file per scan in these studies");
    c.find(Locator::Css("[data-testid=archive-scan-quality]"))
        .await
        .expect("QC select")
        .select_by_label("questionable")
        .await
        .expect("set QC");
    let title = c
        .find(Locator::Css("[data-testid=archive-session-card] h2"))
        .await
        .expect("card title")
        .text()
        .await
        .expect("text");
    let (subject, session) = title.split_once(" / ").expect("subject / session");
    let scans_dir = desktop
        .path()
        .join("xnat/archive/TRIAL")
        .join(subject.trim())
        .join(session.trim())
        .join("scans");
    let first_scan = std::fs::read_dir(&scans_dir)
        .expect("scans")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .min()
        .expect("a scan");
    let quality = || xnat.scan_quality("TRIAL", subject.trim(), session.trim(), &first_scan);
    let t0 = Instant::now();
    while quality() != "questionable" && t0.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        quality(),
        "questionable",
        "QC status set in XNAT from the window"
    );
    click(&c, "archive-gaps").await;
    wait_text(&c, "[data-testid=gaps-sessions]", "hold what was sent").await;
    let download = tempfile::tempdir().expect("tempdir");
    type_into(&c, "archive-folder", &download.path().display().to_string()).await;
    click(&c, "archive-download").await;
    wait_text(
        &c,
        "[data-testid=archive-download-done]",
        "checked against the archive",
    )
    .await;
    let got: Vec<PathBuf> = files_under(download.path())
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "dcm"))
        .collect();
    assert_eq!(got.len(), 1, "{got:?}");
    let archive_shot = shot(&c, "12a-archive").await;

    // Profile change: the shipped basic profile against the longitudinal one on the same
    // folder, in memory: what changes, attribute by attribute, and the linkage verdict.
    click(&c, "nav-profile-change").await;
    let old_box = c
        .find(Locator::Css("[data-testid=compare-old]"))
        .await
        .expect("old profile");
    old_box.clear().await.expect("clear");
    old_box.send_keys("ps3.15-basic").await.expect("type old");
    type_into(&c, "compare-new", "research-longitudinal").await;
    let sample_box = c
        .find(Locator::Css("[data-testid=compare-sample]"))
        .await
        .expect("sample");
    sample_box.clear().await.expect("clear sample");
    sample_box
        .send_keys(&input.path().display().to_string())
        .await
        .expect("type sample");
    click(&c, "compare-run").await;
    wait_text(&c, "[data-testid=compare-linkage]", "linkage").await;
    assert!(count(&c, "[data-testid=compare-attribute]").await > 0);
    let compare_text = c
        .find(Locator::Css("[data-testid=compare-report]"))
        .await
        .expect("report")
        .text()
        .await
        .expect("text");
    assert!(
        !compare_text.contains("CompressedSamples") && !compare_text.contains(&us_name),
        "no value in the comparison: {compare_text}"
    );
    let compare_shot = shot(&c, "12b-profile-change").await;

    // Receiver: listen, take an image from dcmtk's storescu, see it counted, stop.
    let Some(storescu) = on_path("storescu") else {
        return missing("storescu is not installed (apt-get install dcmtk)");
    };
    click(&c, "nav-receiver").await;
    let dicom_port = free_port();
    let port_box = c
        .find(Locator::Css("[data-testid=receiver-port-input]"))
        .await
        .expect("port input");
    port_box.clear().await.expect("clear port");
    port_box
        .send_keys(&dicom_port.to_string())
        .await
        .expect("type port");
    click(&c, "receiver-start").await;
    wait_for(&c, "[data-testid=receiver-running]").await;
    let stored = Command::new(storescu)
        .args(["-aec", "DEPOSIT", "127.0.0.1", &dicom_port.to_string()])
        .arg(samples.join("pydicom/test_files/CT_small.dcm"))
        .output()
        .expect("run storescu");
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    wait_text(&c, "[data-testid=receiver-counts]", "1 image received").await;
    let receiver_shot = shot(&c, "12-receiver").await;
    click(&c, "receiver-stop").await;
    wait_for(&c, "[data-testid=receiver-form]").await;

    // Review: a random sample of the folder, signed off.
    click(&c, "nav-review").await;
    click(&c, "sample-draw").await;
    wait_for(&c, "[data-testid=sample-item]").await;
    wait_for(&c, "[data-testid=sample-thumb]").await;
    type_into(&c, "signoff-reviewer", "E2E Coordinator").await;
    let review_shot = shot(&c, "13-review").await;
    click(&c, "signoff-save").await;
    wait_text(&c, "[data-testid=signoff]", "E2E Coordinator").await;

    let docs = repo().join("docs/screenshots");
    if std::env::var_os("DEPOSIT_UPDATE_SCREENSHOTS").is_some() {
        std::fs::create_dir_all(&docs).expect("docs dir");
        for (shot, name) in [
            (&sources_shot, "sources"),
            (&studies_shot, "studies"),
            (&inspect_shot, "inspect"),
            (&mask_shot, "mask"),
            (&send_form_shot, "send"),
            (&result_shot, "send-result"),
            (&history_shot, "history"),
            (&quarantine_shot, "quarantine"),
            (&settings_shot, "settings"),
            (&send_xnat_shot, "send-xnat"),
            (&receiver_shot, "receiver"),
            (&review_shot, "review"),
            (&archive_shot, "archive"),
            (&compare_shot, "profile-change"),
        ] {
            std::fs::copy(shot, docs.join(format!("{name}.png"))).expect("copy");
        }
    }

    c.close().await.expect("close session");
    drop(driver);
    drop(xvfb);
    eprintln!(
        "desktop E2E: first window {first_window_ms} ms after the app started, session up after {:.1} s, whole test {:.1} s",
        session_up.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
