//! The headless web UI's server (`deposit serve`): login, the guard against cross-site posts,
//! the UI's files (and nothing outside them), and a whole scan → send → history round over the
//! api, with events by long-poll — the same path the browser takes.

use crate::support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(home: &Path, ui: &Path) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(["serve", "--port", "0", "--ui"])
        .arg(ui)
        .env("DEPOSIT_HOME", home)
        .env("DEPOSIT_CONFIG", home.join("no-config.toml"))
        .env("DEPOSIT_WEB_PASSWORD", "correct horse")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start deposit serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let line = lines
        .next()
        .expect("a line on stderr")
        .expect("read stderr");
    // keep draining so the server never blocks on a full pipe
    std::thread::spawn(move || for _ in lines {});
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    assert!(line.contains("DEPOSIT_WEB_PASSWORD"), "{line}");
    assert!(
        !line.contains("correct horse"),
        "the password is never printed"
    );
    Serve { child, base: url }
}

fn agent() -> reqwest::blocking::Client {
    // reqwest takes the process's rustls provider (Deposit uses ring)
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// POSTs JSON with the page's header and the cookie; returns (status, body, Set-Cookie).
fn post(
    base: &str,
    path: &str,
    body: &Value,
    cookie: Option<&str>,
    page: bool,
) -> (u16, Value, Option<String>) {
    let mut req = agent().post(format!("{base}/api/{path}"));
    if page {
        req = req.header("X-Deposit", "1");
    }
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let r = req
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .expect("request");
    let status = r.status().as_u16();
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = r.text().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        set_cookie,
    )
}

fn get(base: &str, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut req = agent().get(format!("{base}{path}"));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let r = req.send().expect("request");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

/// Long-polls events until one named `want` arrives; returns its payload.
fn wait_event(base: &str, cookie: &str, after: &mut u64, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        let (status, text) = get(base, &format!("/api/events?after={after}"), Some(cookie));
        assert_eq!(status, 200, "{text}");
        let events: Vec<Value> = serde_json::from_str(&text).expect("events JSON");
        for e in events {
            *after = (*after).max(e["seq"].as_u64().expect("seq"));
            let name = e["name"].as_str().unwrap_or("");
            assert!(!name.ends_with("-failed"), "{name}: {}", e["payload"]);
            if name == want {
                return e["payload"].clone();
            }
        }
    }
    panic!("no {want} event in 180 s");
}

#[test]
fn login_guards_files_and_a_scan_send_round_trip() {
    let home = tempfile::tempdir().expect("home");
    let ui = tempfile::tempdir().expect("ui");
    std::fs::write(
        ui.path().join("index.html"),
        "<!doctype html><title>Deposit</title>",
    )
    .expect("ui");
    std::fs::create_dir(ui.path().join("assets")).expect("assets");
    std::fs::write(ui.path().join("assets/app.js"), "console.log(1)").expect("js");
    let secret = home.path().join("secret.txt");
    std::fs::write(&secret, "not for the web").expect("secret");
    let s = start(home.path(), ui.path());

    // files of the UI, and nothing outside it
    let (status, page) = get(&s.base, "/", None);
    assert_eq!(status, 200);
    assert!(page.contains("<title>Deposit</title>"));
    assert_eq!(get(&s.base, "/assets/app.js", None).0, 200);
    assert_eq!(
        get(&s.base, "/studies", None).0,
        200,
        "app routes get the page"
    );
    for bad in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/.hidden",
        "/assets/../../secret.txt",
    ] {
        let (status, body) = get(&s.base, bad, None);
        assert!(
            !body.contains("not for the web"),
            "{bad} leaked a file outside the UI"
        );
        assert!(status == 404 || status == 200, "{bad}: {status}");
    }

    // the api wants a login; a cross-site post (no X-Deposit header) is refused outright
    let (status, body, _) = post(&s.base, "studies", &json!({}), None, true);
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "web.login_required");
    let (status, body, _) = post(
        &s.base,
        "login",
        &json!({"password": "correct horse"}),
        None,
        false,
    );
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "web.forbidden");
    let (status, body, cookie) = post(&s.base, "login", &json!({"password": "wrong"}), None, true);
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "web.bad_password");
    assert!(cookie.is_none());
    let (status, _, cookie) = post(
        &s.base,
        "login",
        &json!({"password": "correct horse"}),
        None,
        true,
    );
    assert_eq!(status, 200);
    let cookie = cookie.expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().expect("name=value").to_string();
    let c = Some(cookie.as_str());

    let (_, body, _) = post(&s.base, "data_home", &json!({}), c, true);
    assert_eq!(body["data"], home.path().display().to_string());
    let (_, body, _) = post(&s.base, "nope", &json!({}), c, true);
    assert_eq!(body["error"]["code"], "web.unknown_command");
    let (_, body, _) = post(&s.base, "inspect", &json!({"instance": "x"}), c, true);
    assert_eq!(body["error"]["code"], "web.args");

    // scan two real samples, send them to the folder archive, see them verified
    let input = tempfile::tempdir().expect("input");
    let samples = support::samples().join("pydicom/test_files");
    for f in ["CT_small.dcm", "J2K_pixelrep_mismatch.dcm"] {
        std::fs::copy(samples.join(f), input.path().join(f)).expect("copy sample");
    }
    let mut after = 0;
    let (_, body, _) = post(
        &s.base,
        "start_scan",
        &json!({"paths": [input.path()]}),
        c,
        true,
    );
    assert_eq!(body["status"], "ok", "{body}");
    let done = wait_event(&s.base, &cookie, &mut after, "scan-finished");
    assert_eq!(done["summary"]["instances"], 2);
    let (_, body, _) = post(&s.base, "studies", &json!({}), c, true);
    let uids: Vec<Value> = body["data"]
        .as_array()
        .expect("studies")
        .iter()
        .map(|r| r["study"]["study_uid"].clone())
        .collect();
    assert_eq!(uids.len(), 2);
    let request =
        json!({"study_uids": uids, "destination": "folder:", "profile": null, "lookup": null});
    let (_, body, _) = post(&s.base, "start_send", &json!({"request": request}), c, true);
    assert_eq!(body["status"], "ok", "{body}");
    let sent = wait_event(&s.base, &cookie, &mut after, "send-finished");
    assert_eq!(sent["summary"]["verified"], 2, "{sent}");
    assert_eq!(sent["resumed"], false);
    let (_, body, _) = post(&s.base, "history", &json!({}), c, true);
    let states: Vec<&str> = body["data"][0]["studies"]
        .as_array()
        .expect("studies")
        .iter()
        .filter_map(|st| st["state"].as_str())
        .collect();
    assert_eq!(states, vec!["verified", "verified"]);
    let archive = home.path().join("archive");
    assert_eq!(support::cli::dcm_files(&archive).len(), 2);
    support::canary::assert_no_leaks(&archive, &["CompressedSamples", "1CT1", "JXD191021006"]);

    // settings go into deposit.toml (DEPOSIT_CONFIG here), checked first
    let change =
        json!({"change": {"kind": "save_destination", "name": "local", "url": "folder:/srv/x"}});
    let (_, body, _) = post(&s.base, "change_settings", &change, c, true);
    assert_eq!(body["data"]["destinations"][0]["name"], "local", "{body}");
    let bad = json!({"change": {"kind": "delivery", "concurrency": 2, "max_rate": "fast"}});
    let (_, body, _) = post(&s.base, "change_settings", &bad, c, true);
    assert_eq!(body["error"]["code"], "settings.max_rate", "{body}");
    let written = std::fs::read_to_string(home.path().join("no-config.toml")).expect("config");
    assert!(written.contains("[destinations.local]"), "{written}");
    let (_, body, _) = post(
        &s.base,
        "test_destination",
        &json!({"destination": "folder:"}),
        c,
        true,
    );
    assert_eq!(body["status"], "ok", "{body}");

    // log out: the cookie is dead
    let (status, _, _) = post(&s.base, "logout", &json!({}), c, true);
    assert_eq!(status, 200);
    let (status, _, _) = post(&s.base, "studies", &json!({}), c, true);
    assert_eq!(status, 401);
}

#[test]
fn a_missing_ui_is_a_clear_error() {
    let home = tempfile::tempdir().expect("home");
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(["serve", "--port", "0", "--ui"])
        .arg(home.path().join("nothing-here"))
        .env("DEPOSIT_HOME", home.path())
        .env("DEPOSIT_WEB_PASSWORD", "x")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("web UI was not found"), "{err}");
}

#[test]
fn the_generated_password_is_owner_only() {
    let home = tempfile::tempdir().expect("home");
    let (pw, file) = deposit::web::password(home.path()).expect("password");
    let file = file.expect("a file when no env var is set");
    assert!(pw.len() >= 24);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    let (again, _) = deposit::web::password(home.path()).expect("again");
    assert_eq!(pw, again, "stable across restarts");
}
