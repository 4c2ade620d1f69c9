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
    // a path of its own ("/auth/login"), else a command
    let url = if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/api/{path}")
    };
    let mut req = agent().post(url);
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
    let input = tempfile::tempdir().expect("input");
    std::fs::write(
        home.path().join("no-config.toml"),
        format!("[web]\nroots = [{:?}]\n", input.path()),
    )
    .expect("config");
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
        "/auth/login",
        &json!({"password": "correct horse"}),
        None,
        false,
    );
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "web.forbidden");
    let (status, body, cookie) = post(
        &s.base,
        "/auth/login",
        &json!({"password": "wrong"}),
        None,
        true,
    );
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "web.bad_password");
    assert!(cookie.is_none());
    let (status, _, cookie) = post(
        &s.base,
        "/auth/login",
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
    assert_eq!(body["data"]["proxy"], "direct", "{body}");
    // Settings → Network: [network] written to deposit.toml, the choice said with its source
    let (_, body, _) = post(&s.base, "network_settings", &json!({}), c, true);
    assert_eq!(body["status"], "ok", "{body}");
    let proxy = json!({"proxy": "http://carol@proxy.example.org:3128", "no_proxy": ".local", "password": null});
    let (_, body, _) = post(&s.base, "set_network_proxy", &proxy, c, true);
    assert_eq!(body["data"]["source"], "config", "{body}");
    assert_eq!(
        body["data"]["in_use"], "http://carol@proxy.example.org:3128",
        "{body}"
    );
    assert_eq!(body["data"]["password"], "missing", "{body}");
    let written = std::fs::read_to_string(home.path().join("no-config.toml")).expect("config");
    assert!(
        written.contains("[network]") && written.contains("proxy.example.org"),
        "{written}"
    );

    // /api/login is the command that logs in to a destination, not the web password
    let (status, body, set) = post(
        &s.base,
        "login",
        &json!({"destination": "nowhere", "secret": "x"}),
        c,
        true,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert_ne!(body["error"]["code"], "web.bad_password", "{body}");
    assert!(set.is_none());

    // log out: the cookie is dead
    let (status, _, _) = post(&s.base, "/auth/logout", &json!({}), c, true);
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
        .env("DEPOSIT_WEB_PASSWORD", "long enough password")
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
    assert!(file.is_file(), "{}", file.display());
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

/// Sends `raw` on a fresh connection and reads the answer until the server closes it.
fn raw(base: &str, raw: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(raw.as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn logged_in(s: &Serve) -> String {
    let (status, _, cookie) = post(
        &s.base,
        "/auth/login",
        &json!({"password": "correct horse"}),
        None,
        true,
    );
    assert_eq!(status, 200);
    cookie
        .expect("cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_string()
}

fn tiny_ui() -> tempfile::TempDir {
    let ui = tempfile::tempdir().expect("ui");
    std::fs::write(ui.path().join("index.html"), "<!doctype html>").expect("ui");
    ui
}

#[test]
fn stalled_bodies_and_long_polls_do_not_stall_the_server() {
    use std::io::Write;
    let home = tempfile::tempdir().expect("home");
    let ui = tiny_ui();
    let s = start(home.path(), ui.path());
    let cookie = logged_in(&s);
    let addr = s.base.trim_start_matches("http://").to_string();

    // 8 sockets that announce a body and never send it, 4 that never finish their headers
    let mut hostile = Vec::new();
    for _ in 0..8 {
        let mut c = std::net::TcpStream::connect(&addr).expect("connect");
        c.write_all(
            format!(
                "POST /api/studies HTTP/1.1\r\nHost: {addr}\r\nX-Deposit: 1\r\nCookie: {cookie}\r\nContent-Length: 1000\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .expect("write");
        hostile.push(c);
    }
    for _ in 0..4 {
        let mut c = std::net::TcpStream::connect(&addr).expect("connect");
        c.write_all(b"GET / HTTP/1.1\r\nHost: x").expect("write");
        hostile.push(c);
    }
    // 12 open long-polls (more than the server lets wait at once)
    let mut polls = Vec::new();
    for _ in 0..12 {
        let (base, cookie) = (s.base.clone(), cookie.clone());
        polls.push(std::thread::spawn(move || {
            let t = Instant::now();
            let (status, _) = get(&base, "/api/events?after=1000000", Some(&cookie));
            (status, t.elapsed())
        }));
    }
    std::thread::sleep(Duration::from_millis(500));

    // a normal request still answers at once
    let t = Instant::now();
    let (status, body, _) = post(&s.base, "data_home", &json!({}), Some(&cookie), true);
    assert_eq!(status, 200, "{body}");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(get(&s.base, "/", None).0, 200);

    // polls beyond the cap are told to come back at once, the rest wait
    let answers: Vec<(u16, Duration)> =
        polls.into_iter().map(|p| p.join().expect("poll")).collect();
    let busy = answers.iter().filter(|(st, _)| *st == 503).count();
    assert!(busy >= 4, "{answers:?}");
    assert!(answers
        .iter()
        .all(|(st, d)| *st == 200 || d < &Duration::from_secs(3)));

    // the stalled bodies are cut off by the body deadline (10 s): 408, connection closed
    for c in hostile.iter_mut().take(8) {
        use std::io::Read;
        c.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut out = String::new();
        let _ = c.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 408"), "{out:?}");
    }
    drop(hostile);

    // more connections than the cap: the excess is answered 503 and closed at once
    let mut held = Vec::new();
    for _ in 0..70 {
        held.push(std::net::TcpStream::connect(&addr).expect("connect"));
    }
    std::thread::sleep(Duration::from_millis(300));
    let answer = raw(&s.base, &format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n"));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let answer = raw(&s.base, &format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[test]
fn a_scan_with_many_skipped_files_keeps_events_small_and_pages_the_rest() {
    let home = tempfile::tempdir().expect("home");
    let ui = tiny_ui();
    let input = tempfile::tempdir().expect("input");
    std::fs::write(
        home.path().join("no-config.toml"),
        format!("[web]\nroots = [{:?}]\n", input.path()),
    )
    .expect("config");
    let long = "x".repeat(150);
    for i in 0..3000 {
        std::fs::write(input.path().join(format!("{long}-{i:05}.txt")), "not DICOM").expect("file");
    }
    let s = start(home.path(), ui.path());
    let cookie = logged_in(&s);
    let c = Some(cookie.as_str());
    let (_, body, _) = post(
        &s.base,
        "start_scan",
        &json!({"paths": [input.path()]}),
        c,
        true,
    );
    assert_eq!(body["status"], "ok", "{body}");
    // every events answer stays small; the finished event counts all and lists a few
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut after = 0u64;
    let mut finished = None;
    while finished.is_none() && Instant::now() < deadline {
        let (status, text) = get(&s.base, &format!("/api/events?after={after}"), c);
        assert_eq!(status, 200, "{text}");
        assert!(
            text.len() < 64 * 1024,
            "an events answer of {} bytes",
            text.len()
        );
        let events: Vec<Value> = serde_json::from_str(&text).expect("events");
        for e in events {
            after = after.max(e["seq"].as_u64().expect("seq"));
            if e["name"] == "scan-finished" {
                finished = Some(e["payload"].clone());
            }
        }
    }
    let done = finished.expect("scan-finished");
    assert_eq!(done["summary"]["skipped_total"], 3000, "{done}");
    assert!(done["summary"]["skipped"].as_array().expect("list").len() <= 50);
    // the whole list, a page at a time
    let (_, body, _) = post(
        &s.base,
        "scan_skipped",
        &json!({"offset": 2990, "limit": 100}),
        c,
        true,
    );
    assert_eq!(body["data"]["total"], 3000, "{body}");
    let items = body["data"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 10);
    assert!(items[9]["path"]
        .as_str()
        .expect("path")
        .ends_with("-02999.txt"));
    assert_eq!(items[0]["code"], "not_dicom");
    let (_, body, _) = post(
        &s.base,
        "scan_skipped",
        &json!({"offset": 0, "limit": 100000}),
        c,
        true,
    );
    assert_eq!(
        body["data"]["items"].as_array().expect("items").len(),
        1000,
        "pages are capped"
    );
}

#[test]
fn host_and_origin_are_checked() {
    let home = tempfile::tempdir().expect("home");
    std::fs::write(
        home.path().join("no-config.toml"),
        "[web]\npublic_name = \"deposit.example.org\"\n",
    )
    .expect("config");
    let ui = tiny_ui();
    let s = start(home.path(), ui.path());
    let cookie = logged_in(&s);
    let addr = s.base.trim_start_matches("http://").to_string();
    let port = addr.rsplit_once(':').expect("port").1.to_string();
    let call = |host: &str, extra: &str| {
        raw(
            &s.base,
            &format!(
                "POST /api/data_home HTTP/1.1\r\nHost: {host}\r\nX-Deposit: 1\r\nCookie: {cookie}\r\n{extra}Content-Length: 2\r\n\r\n{{}}"
            ),
        )
    };
    // DNS rebinding: a page of evil.example whose name now points here
    for bad in [
        format!("evil.example:{port}"),
        "127.0.0.1.evil.example".to_string(),
    ] {
        let answer = call(&bad, "");
        assert!(answer.starts_with("HTTP/1.1 421"), "{bad}: {answer}");
        assert!(answer.contains("web.host"), "{answer}");
        assert!(!answer.contains(&home.path().display().to_string()));
    }
    let answer = raw(&s.base, "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
    let answer = raw(&s.base, "GET / HTTP/1.0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 421"), "no Host: {answer}");
    // our own names
    for good in [
        addr.clone(),
        format!("localhost:{port}"),
        "deposit.example.org".to_string(),
    ] {
        let answer = call(&good, "");
        assert!(answer.starts_with("HTTP/1.1 200"), "{good}: {answer}");
    }
    // a browser's post from another page is refused even with the cookie
    for extra in [
        "Origin: http://evil.example\r\n".to_string(),
        "Origin: null\r\n".to_string(),
        format!("Origin: http://localhost:{port}\r\n"),
        "Sec-Fetch-Site: cross-site\r\n".to_string(),
    ] {
        let answer = call(&addr, &extra);
        assert!(answer.starts_with("HTTP/1.1 403"), "{extra}: {answer}");
        assert!(answer.contains("web.origin"), "{answer}");
    }
    let answer = call(
        &addr,
        &format!("Origin: http://{addr}\r\nSec-Fetch-Site: same-origin\r\n"),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn logins_are_slowed_down_and_passwords_are_long() {
    // a short password is refused at the start
    let home = tempfile::tempdir().expect("home");
    let ui = tiny_ui();
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(["serve", "--port", "0", "--ui"])
        .arg(ui.path())
        .env("DEPOSIT_HOME", home.path())
        .env("DEPOSIT_WEB_PASSWORD", "short")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 12 characters"), "{err}");
    assert!(!err.contains("short\n"), "{err}");
    std::fs::write(home.path().join("web-password"), "tooshort\n").expect("file");
    let err = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(["serve", "--port", "0", "--ui"])
        .arg(ui.path())
        .env("DEPOSIT_HOME", home.path())
        .env_remove("DEPOSIT_WEB_PASSWORD")
        .output()
        .expect("run");
    assert_eq!(err.status.code(), Some(2));

    let home = tempfile::tempdir().expect("home");
    let s = start(home.path(), ui.path());
    let try_login = |password: &str, extra: &str| {
        let body = json!({ "password": password }).to_string();
        raw(
            &s.base,
            &format!(
                "POST /auth/login HTTP/1.1\r\nHost: {}\r\nX-Deposit: 1\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                s.base.trim_start_matches("http://"),
                body.len()
            ),
        )
    };
    // three free tries, then the wait doubles: even the right password waits
    for _ in 0..4 {
        let answer = try_login("wrong wrong wrong", "");
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }
    let answer = try_login("correct horse", "");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    assert!(answer.contains("web.too_many_logins"), "{answer}");
    std::thread::sleep(Duration::from_millis(1100));
    let answer = try_login("wrong wrong wrong", "");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let answer = try_login("correct horse", "");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("Retry-After: 2"), "{answer}");
    std::thread::sleep(Duration::from_millis(2100));
    // behind a TLS proxy on this computer the cookie is Secure; without, it is not
    let answer = try_login("correct horse", "X-Forwarded-Proto: https\r\n");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| l.starts_with("Set-Cookie:"))
        .expect("cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    let answer = try_login("correct horse", "");
    let cookie = answer
        .lines()
        .find(|l| l.starts_with("Set-Cookie:"))
        .expect("cookie");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[test]
fn secure_cookie_from_the_configuration() {
    let home = tempfile::tempdir().expect("home");
    std::fs::write(
        home.path().join("no-config.toml"),
        "[web]\nsecure_cookie = true\n",
    )
    .expect("config");
    let ui = tiny_ui();
    let s = start(home.path(), ui.path());
    let (status, _, cookie) = post(
        &s.base,
        "/auth/login",
        &json!({"password": "correct horse"}),
        None,
        true,
    );
    assert_eq!(status, 200);
    assert!(cookie.expect("cookie").contains("; Secure"));
}

#[test]
fn the_web_reaches_only_its_roots() {
    let home = tempfile::tempdir().expect("home");
    let root = tempfile::tempdir().expect("root");
    let elsewhere = tempfile::tempdir().expect("elsewhere");
    std::fs::write(
        home.path().join("no-config.toml"),
        format!(
            "[web]\nroots = [{:?}]\n\n[destinations.pacs]\nurl = \"dicom://PACS@127.0.0.1:1\"\n",
            root.path()
        ),
    )
    .expect("config");
    let ui = tiny_ui();
    let s = start(home.path(), ui.path());
    let cookie = logged_in(&s);
    let c = Some(cookie.as_str());
    let refused = |command: &str, args: Value, code: &str| {
        let (status, body, _) = post(&s.base, command, &args, c, true);
        assert_eq!(status, 200);
        assert_eq!(body["error"]["code"], code, "{command}: {body}");
    };
    let out = "reach.outside_roots";
    // scanning: inside a root yes, elsewhere (and by a way out of the root) no
    refused("start_scan", json!({"paths": [elsewhere.path()]}), out);
    refused("start_scan", json!({"paths": ["/etc"]}), out);
    let up = format!("{}/../..", root.path().display());
    refused("start_scan", json!({"paths": [up]}), out);
    #[cfg(unix)]
    {
        let link = root.path().join("link");
        std::os::unix::fs::symlink(elsewhere.path(), &link).expect("symlink");
        refused("start_scan", json!({"paths": [link]}), out);
    }
    let (_, body, _) = post(
        &s.base,
        "start_scan",
        &json!({"paths": [root.path()]}),
        c,
        true,
    );
    assert_eq!(body["status"], "ok", "{body}");
    // outputs and lookup tables
    let victim = elsewhere.path().join("victim.csv");
    std::fs::write(&victim, "").expect("victim");
    let folder_out = format!("folder:{}", elsewhere.path().display());
    let send = |dest: &str, lookup: Option<String>| json!({"request": {"study_uids": ["1.2.3"], "destination": dest, "profile": null, "lookup": lookup}});
    refused("start_send", send(&folder_out, None), out);
    // … nor by saving it as a named destination first
    let save = json!({"change": {"kind": "save_destination", "name": "away", "url": folder_out}});
    let (_, body, _) = post(&s.base, "change_settings", &save, c, true);
    assert_eq!(body["status"], "ok", "{body}");
    refused("start_send", send("away", None), out);
    refused(
        "start_send",
        send("folder:", Some(victim.display().to_string())),
        out,
    );
    refused(
        "add_lookup_entry",
        json!({"file": victim, "missing_key": "ptid/X", "value": "Y"}),
        out,
    );
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "");
    refused(
        "lookup_gaps",
        json!({"file": "/etc/passwd", "patient_ids": ["root"]}),
        out,
    );
    // profile files (read, hashed, shown) and quarantine releases too
    refused(
        "inspect",
        json!({"instance": 1, "profile": "/etc/passwd"}),
        out,
    );
    refused(
        "approve_profile",
        json!({"profile": "/etc/shadow.toml"}),
        out,
    );
    refused(
        "quarantine_release",
        json!({"id": 1, "destination": folder_out, "profile": null, "lookup": null}),
        out,
    );
    refused(
        "quarantine_release",
        json!({"id": 1, "destination": "folder:", "profile": null, "lookup": victim}),
        out,
    );
    // connection tests and logins: configured destinations only (no URL probing)
    let not_configured = "reach.destination_not_configured";
    refused(
        "test_destination",
        json!({"destination": "dicomweb+http://169.254.169.254:80/x"}),
        not_configured,
    );
    refused(
        "destination_certificate",
        json!({"destination": "https://internal.example:8443/xnat/p"}),
        not_configured,
    );
    refused(
        "login",
        json!({"destination": "https://internal.example/xnat/p", "secret": "s"}),
        not_configured,
    );
    let (_, body, _) = post(
        &s.base,
        "test_destination",
        &json!({"destination": "pacs"}),
        c,
        true,
    );
    assert_ne!(body["error"]["code"], not_configured, "{body}");
    // the receiver listens on every interface: from here only with an allow-list, and
    // forwarding only where the web may reach
    refused(
        "receiver_start",
        json!({"request": {"aet": "DEPOSIT", "port": 0, "forward": null, "profile": null, "lookup": null}}),
        "reach.receiver_allow",
    );
    refused(
        "receiver_start",
        json!({"request": {"aet": "DEPOSIT", "port": 0, "forward": null, "profile": null, "lookup": null, "allow": [" "]}}),
        "reach.receiver_allow",
    );
    refused(
        "receiver_start",
        json!({"request": {"aet": "DEPOSIT", "port": 0, "forward": "dicom://X@10.1.1.1:104", "profile": null, "lookup": null, "allow": ["CT1"]}}),
        "reach.destination_not_configured",
    );
    let (_, body, _) = post(
        &s.base,
        "receiver_start",
        &json!({"request": {"aet": "DEPOSIT", "port": 0, "forward": null, "profile": null, "lookup": null, "allow": ["CT1"]}}),
        c,
        true,
    );
    assert_eq!(body["status"], "ok", "{body}");
    let (_, body, _) = post(&s.base, "receiver_stop", &json!({}), c, true);
    assert_eq!(body["status"], "ok", "{body}");
}
