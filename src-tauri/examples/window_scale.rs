//! Benchmark driver (benches/window.sh): the real desktop app over a data home whose catalog is
//! already large, driven through tauri-driver + WebKitWebDriver under Xvfb, timing what a person
//! waits for — the studies counted in the step list after launch, the Studies screen drawn, a
//! jump to the end of the list drawn, and an Inspect of the first study (tag diff on screen) —
//! and counting the page's DOM nodes (a virtualised list keeps them to a screenful).
//!
//! `cargo run --release -p deposit-app --example window_scale -- --app target/release/deposit-app
//!  --home DIR [--runs N]`

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::Value;
use support::*;

/// Runs `script` (which gets `done(value)` and `until(selector, test)`) in the page and
/// returns what it passed to `done`.
async fn in_page(c: &Client, script: &str) -> Value {
    let full = format!(
        "const done = arguments[arguments.length - 1];\n\
         const until = (sel, ok) => new Promise((res) => {{\n\
           const tick = () => {{ const el = document.querySelector(sel);\n\
             if (el && (!ok || ok(el))) requestAnimationFrame(() => requestAnimationFrame(() => res(el)));\n\
             else requestAnimationFrame(tick); }};\n\
           tick(); }});\n\
         {script}"
    );
    c.execute_async(&full, vec![])
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut app = None;
    let mut home = None;
    let mut runs = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--app" => app = args.next().map(PathBuf::from),
            "--home" => home = args.next().map(PathBuf::from),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(3),
            other => panic!("unknown argument {other}"),
        }
    }
    let app = app.expect("--app PATH");
    let home = home.expect("--home DIR");
    let driver = on_path("tauri-driver")
        .or_else(|| {
            let p = PathBuf::from(std::env::var_os("HOME")?).join(".cargo/bin/tauri-driver");
            p.is_file().then_some(p)
        })
        .expect("tauri-driver");
    let (_xvfb, display) = start_xvfb().expect("Xvfb");
    let mut listed = Vec::new();
    let mut studies = Vec::new();
    let mut to_end = Vec::new();
    let mut inspect = Vec::new();
    let mut nodes = 0;
    let mut count_text = String::new();
    for run in 1..=runs {
        let port = free_port();
        let native = free_port();
        let _driver = Proc(
            Command::new(&driver)
                .args([
                    "--port",
                    &port.to_string(),
                    "--native-port",
                    &native.to_string(),
                ])
                .env("DISPLAY", &display)
                .env("DEPOSIT_HOME", &home)
                .env("DEPOSIT_CONFIG", home.join("none.toml"))
                .env("DEPOSIT_RESUME_EVERY_SECS", "3600")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("tauri-driver"),
            "tauri-driver",
        );
        let t0 = Instant::now();
        let c = app_session(port, &app).await;
        // the step list counts the catalog's studies once the first call returns
        loop {
            let t = texts(&c, "[data-testid=nav-studies-count]").await;
            if t.first().is_some_and(|s| s.contains("stud")) {
                count_text = t[0].clone();
                break;
            }
            assert!(t0.elapsed() < WAIT * 4, "the studies were never counted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        listed.push(t0.elapsed().as_secs_f64());

        let ms = in_page(
            &c,
            "const t = performance.now();\n\
             document.querySelector('[data-testid=nav-studies]').click();\n\
             until('[data-testid=study-row]').then(() => done(performance.now() - t));",
        )
        .await;
        studies.push(ms.as_f64().unwrap_or(f64::NAN) / 1000.0);

        let ms = in_page(
            &c,
            "const list = document.querySelector('[data-testid=studies-list]');\n\
             const rows = Number(list.querySelector('table').getAttribute('aria-rowcount'));\n\
             const t = performance.now();\n\
             list.scrollTop = list.scrollHeight;\n\
             until('[data-testid=studies-list] tbody tr:nth-last-child(1)', () => {\n\
               const r = [...list.querySelectorAll('tr[aria-rowindex]')].pop();\n\
               return r && Number(r.getAttribute('aria-rowindex')) === rows; })\n\
             .then(() => done(performance.now() - t));",
        )
        .await;
        to_end.push(ms.as_f64().unwrap_or(f64::NAN) / 1000.0);
        nodes = in_page(&c, "done(document.getElementsByTagName('*').length);")
            .await
            .as_u64()
            .unwrap_or(0);

        let ms = in_page(
            &c,
            "const list = document.querySelector('[data-testid=studies-list]');\n\
             list.scrollTop = 0;\n\
             until('[data-testid=inspect-study]').then((b) => {\n\
               const t = performance.now(); b.click();\n\
               until('[data-testid=diff-row]').then(() => done(performance.now() - t)); });",
        )
        .await;
        inspect.push(ms.as_f64().unwrap_or(f64::NAN) / 1000.0);
        let _ = c.find(Locator::Css("[data-testid=screen-inspect]")).await;
        c.close().await.expect("close");
        eprintln!(
            "run {run}: counted {:.2} s, Studies drawn {:.3} s, end of list {:.3} s, Inspect {:.3} s, {nodes} DOM nodes",
            listed[run - 1],
            studies[run - 1],
            to_end[run - 1],
            inspect[run - 1]
        );
    }
    println!("catalog: {count_text}");
    println!(
        "studies counted in the step list after launch (median of {runs}): {:.2} s",
        median(listed)
    );
    println!(
        "Studies screen drawn after the click: {:.3} s",
        median(studies)
    );
    println!(
        "jump to the end of the list, drawn: {:.3} s",
        median(to_end)
    );
    println!(
        "Inspect of the first study, tag diff drawn: {:.3} s",
        median(inspect)
    );
    println!("DOM nodes on the page with the list at its end: {nodes}");
}
