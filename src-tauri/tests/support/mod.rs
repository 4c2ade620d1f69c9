//! What the window tests share: finding peers, child processes that stop with the test,
//! Xvfb, loopback ports, and WebDriver steps a person would take (click, type, wait, look).
#![allow(dead_code)] // each test binary uses its own subset

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// How long a step may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("src-tauri has a parent")
        .to_path_buf()
}

/// Skips (or fails, when peers are required) with a reason.
pub fn missing(why: &str) {
    if std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("DEPOSIT_REQUIRE_PEERS=1 but {why}");
    }
    eprintln!("skipping this window test: {why}");
}

/// `name` on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The sample corpus (tests/data/fetch-samples.sh), or `DEPOSIT_SAMPLES`.
pub fn samples() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DEPOSIT_SAMPLES").map(PathBuf::from),
        Some(repo().join("tests/data/samples")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("pydicom/test_files/CT_small.dcm").is_file())
}

/// A child process that is stopped (SIGTERM, then SIGKILL) and reaped when dropped; a child
/// started as the leader of its own process group (`process_group(0)`) is stopped with its group.
pub struct Proc(pub Child, pub &'static str);

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.1);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display number.
pub fn start_xvfb() -> Result<(Proc, String), String> {
    let xvfb = on_path("Xvfb").ok_or("Xvfb is not installed (apt-get install xvfb)")?;
    let n = (90..400)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .ok_or("no free X display number")?;
    let child = Command::new(xvfb)
        .args([
            &format!(":{n}"),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start Xvfb: {e}"))?;
    let proc = Proc(child, "Xvfb");
    let socket = format!("/tmp/.X11-unix/X{n}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Path::new(&socket).exists() {
        if Instant::now() > deadline {
            return Err("Xvfb did not come up in 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((proc, format!(":{n}")))
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// How many elements match `css` now.
pub async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css))
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

/// Waits until exactly `want` elements match `css`.
pub async fn wait_count(c: &Client, css: &str, want: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let n = count(c, css).await;
        if n == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for {want} × {css}, have {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of every element matching `css`.
pub async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for el in c.find_all(Locator::Css(css)).await.expect("find") {
        out.push(el.text().await.expect("text"));
    }
    out
}

/// Clicks the element with this `data-testid`.
pub async fn click(c: &Client, testid: &str) {
    click_css(c, &format!("[data-testid={testid}]")).await;
}

/// Clicks the element matching `css` once it exists, scrolled into view first.
pub async fn click_css(c: &Client, css: &str) {
    let el = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    // as a person would: bring it into view first (long screens scroll)
    let arg = serde_json::to_value(&el).expect("element as JSON");
    let _ = c
        .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
        .await;
    el.click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e:?}"));
}

/// Waits until an element matches `css`.
pub async fn wait_for(c: &Client, css: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waited {WAIT:?} for {css}: {e}"));
}

/// Waits until at least `want` elements match `css`.
pub async fn wait_at_least(c: &Client, css: &str, want: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let n = count(c, css).await;
        if n >= want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for at least {want} × {css}, have {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until some element matching `css` contains `want` in its text.
pub async fn wait_text(c: &Client, css: &str, want: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = texts(c, css).await;
        if now.iter().any(|t| t.contains(want)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for {css} to say {want:?}; it says {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Types into the element with this `data-testid`.
pub async fn type_into(c: &Client, testid: &str, text: &str) {
    c.find(Locator::Css(&format!("[data-testid={testid}]")))
        .await
        .unwrap_or_else(|e| panic!("no {testid}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("cannot type into {testid}: {e}"));
}

/// Every `.dcm` file under `dir`.
pub fn dcm_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(dcm_files(&p));
        } else if p.extension().is_some_and(|x| x == "dcm") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A screenshot into artifacts/screenshots/NAME.png; returns its path.
pub async fn shot(c: &Client, name: &str) -> PathBuf {
    // WebKit's snapshot can lag the DOM by a frame or two: let the window paint first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dir = repo().join("artifacts/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, c.screenshot().await.expect("screenshot")).expect("write screenshot");
    path
}

/// Waits for tauri-driver on `port`, then opens a WebDriver session that starts `app`.
/// tauri-driver listens before WebKitWebDriver behind it does: on a busy machine the first
/// attempts can be cut off, so this retries for a while.
pub async fn app_session(port: u16, app: &Path) -> Client {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tauri-driver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app }),
    );
    let deadline = Instant::now() + WAIT;
    loop {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                eprintln!("WebDriver session not up yet ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("no WebDriver session after {WAIT:?}: {e}"),
        }
    }
}
