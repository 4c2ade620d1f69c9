//! The headless web UI in a real browser: `deposit serve` serving the built ui/ (ui/dist), driven
//! in headless Chromium through chromedriver, as site IT would use it on a server install — log
//! in; type a server folder; scan; studies by patient; the tag diff; send to the folder archive
//! and see it verified; history with the audit record; the quarantine with its reason; log out.
//! Screenshots go to artifacts/screenshots/web-*.png.
//!
//! Peers: `chromium` and `chromedriver` (Debian: chromium, chromium-driver). Missing peers skip
//! the test, or fail it when DEPOSIT_REQUIRE_PEERS=1.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use support::*;

const PASSWORD: &str = "correct horse battery";

/// The `deposit` command line next to this test's binary (`cargo test --workspace` builds it);
/// built here when this package's tests run alone.
fn deposit_cli() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile folder");
    let cli = dir.join("deposit");
    if !cli.is_file() {
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let status = Command::new(cargo)
            .args(["build", "-p", "deposit", "--bin", "deposit"])
            .current_dir(repo())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cannot build the deposit CLI");
    }
    cli
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_in_headless_chromium() {
    let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver"))
    else {
        return missing(
            "chromium or chromedriver is not installed (apt-get install chromium chromium-driver)",
        );
    };
    let Some(samples) = samples() else {
        return missing("the sample corpus was not found (DEPOSIT_SAMPLES or tests/data/samples)");
    };
    let dist = repo().join("ui/dist");
    assert!(
        dist.join("index.html").is_file(),
        "ui/dist is built by this package's build script"
    );

    // The server's folder: a CT and an MR (a secondary image, so at burned-in risk).
    let input = tempfile::tempdir().expect("tempdir");
    for f in ["CT_small.dcm", "MR_small.dcm"] {
        std::fs::copy(
            samples.join("pydicom/test_files").join(f),
            input.path().join(f),
        )
        .expect("copy sample");
    }
    let home = tempfile::tempdir().expect("tempdir");
    // the web UI may scan only inside [web] roots
    std::fs::write(
        home.path().join("no-config.toml"),
        format!("[web]\nroots = [{:?}]\n", input.path()),
    )
    .expect("config");

    let mut serve = Command::new(deposit_cli())
        .args(["serve", "--port", "0", "--ui"])
        .arg(&dist)
        .env("DEPOSIT_HOME", home.path())
        .env("DEPOSIT_CONFIG", home.path().join("no-config.toml"))
        .env("DEPOSIT_WEB_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start deposit serve");
    let stderr = serve.stderr.take().expect("stderr");
    let _serve = Proc(serve, "deposit serve");
    let mut lines = BufReader::new(stderr).lines();
    let line = lines.next().expect("a line").expect("read stderr");
    std::thread::spawn(move || for _ in lines {});
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();

    let port = free_port();
    let _driver = Proc(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver"),
        "chromedriver",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().expect("browser profile");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", format!("--user-data-dir={}", profile.path().display())],
        }),
    );
    let c = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");

    // Log in: a wrong password is refused in words, the right one opens the app.
    c.goto(&base).await.expect("open the web UI");
    wait_for(&c, "[data-testid=screen-login]").await;
    let login_shot = shot(&c, "web-01-login").await;
    type_into(&c, "login-password", "wrong").await;
    click(&c, "login-submit").await;
    wait_text(&c, "[data-testid=login-error]", "").await;
    let pw = c
        .find(Locator::Css("[data-testid=login-password]"))
        .await
        .expect("password box");
    pw.clear().await.expect("clear");
    pw.send_keys(PASSWORD).await.expect("type password");
    click(&c, "login-submit").await;
    wait_for(&c, "[data-testid=screen-sources]").await;
    // a browser cannot pick or drop server folders: only a typed path
    assert_eq!(count(&c, "[data-testid=drop-zone]").await, 0);

    let folder = input.path().display().to_string();
    type_into(&c, "folder-path-input", &folder).await;
    click(&c, "add-folder-path").await;
    wait_count(&c, "[data-testid=source-item]", 1).await;
    click(&c, "start-scan").await;
    wait_for(&c, "[data-testid=screen-studies]").await;
    wait_count(&c, "[data-testid=patient-group]", 2).await;
    let names = texts(&c, "[data-testid=patient-name]").await;
    assert!(
        names.iter().any(|n| n == "CompressedSamples, CT1"),
        "{names:?}"
    );
    assert_eq!(
        texts(&c, "[data-testid=risk-badge]").await,
        vec!["1 image needs pixel review"]
    );
    let studies_shot = shot(&c, "web-02-studies").await;

    // The CT's tag diff.
    click_css(
        &c,
        "[data-testid=study-row][data-study-uid='1.3.6.1.4.1.5962.1.2.1.20040119072730.12322'] [data-testid=inspect-study]",
    )
    .await;
    wait_for(&c, "[data-testid=diff-row][data-tag='(0010,0010)']").await;
    wait_for(&c, "[data-testid=viewer-image]").await;
    let inspect_shot = shot(&c, "web-03-inspect").await;

    // Send to the folder archive: the CT verified, the MR set aside for pixel review.
    click(&c, "nav-send").await;
    click(&c, "send-start").await;
    wait_text(
        &c,
        "[data-testid=result-verified]",
        "1 file verified in the archive",
    )
    .await;
    assert!(texts(&c, "[data-testid=result-quarantined]").await[0].starts_with("1 file set aside"));
    let send_shot = shot(&c, "web-04-send-result").await;
    click(&c, "open-history").await;
    wait_count(&c, "[data-testid=history-study][data-state=verified]", 1).await;
    click(&c, "show-audit").await;
    wait_text(&c, "[data-testid=audit-record]", "verified").await;
    let history_shot = shot(&c, "web-05-history").await;
    click(&c, "nav-quarantine").await;
    wait_for(
        &c,
        "[data-testid=quarantine-item][data-code=needs_pixel_review]",
    )
    .await;
    let quarantine_shot = shot(&c, "web-06-quarantine").await;

    let archived = dcm_files(&home.path().join("archive"));
    assert_eq!(archived.len(), 1, "{archived:?}");
    let bytes = std::fs::read(&archived[0]).expect("read archived");
    assert!(!contains(&bytes, b"CompressedSamples"), "the name left");

    // Log out: the password is asked again, and the api refuses without it.
    click(&c, "logout").await;
    wait_for(&c, "[data-testid=screen-login]").await;
    c.goto(&base).await.expect("reload");
    wait_for(&c, "[data-testid=screen-login]").await;

    if std::env::var_os("DEPOSIT_UPDATE_SCREENSHOTS").is_some() {
        let docs = repo().join("docs/screenshots");
        std::fs::create_dir_all(&docs).expect("docs dir");
        for (shot, name) in [
            (&login_shot, "web-login"),
            (&studies_shot, "web-studies"),
            (&inspect_shot, "web-inspect"),
            (&send_shot, "web-send-result"),
            (&history_shot, "web-history"),
            (&quarantine_shot, "web-quarantine"),
        ] {
            std::fs::copy(shot, docs.join(format!("{name}.png"))).expect("copy");
        }
    }
    c.close().await.expect("close session");
}
