//! `deposit serve [--bind ADDR] [--port N] [--ui DIR]`: the web UI for headless monitoring,
//! until SIGINT/SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::args::Common;
use super::EXIT_OK;
use crate::error::ApiError;
use crate::web::{self, WebOptions, WebServer};

/// Where the built UI is: the flag, `DEPOSIT_UI_DIR`, the installed copy, or `./ui/dist`.
fn ui_dir(flag: Option<PathBuf>) -> PathBuf {
    if let Some(d) = flag {
        return d;
    }
    if let Some(d) = std::env::var_os("DEPOSIT_UI_DIR") {
        return PathBuf::from(d);
    }
    let mut candidates = vec![PathBuf::from("/usr/share/deposit/ui")];
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.push(exe_dir.join("../share/deposit/ui"));
        // the Windows installation: ui\ beside deposit.exe
        candidates.push(exe_dir.join("ui"));
        candidates.push(exe_dir.join("../../ui/dist"));
    }
    candidates.push(PathBuf::from("ui/dist"));
    candidates
        .into_iter()
        .find(|d| d.join("index.html").is_file())
        .unwrap_or_else(|| PathBuf::from("ui/dist"))
}

/// The folders the web UI may use: `[web] roots`, else the service account's home folder
/// (`HOME`; with neither, the data home alone).
fn roots(configured: &[PathBuf]) -> Vec<PathBuf> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect()
}

pub fn run(common: &Common, bind: &str, port: u16, ui: Option<PathBuf>) -> Result<u8, ApiError> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| {
            ApiError::permanent("web.signal", format!("cannot watch for stop signals: {e}"))
        })?;
    }
    run_until(common, bind, port, ui, &stop)
}

/// Serves until `stop` is set (a signal, or the Windows service manager's stop).
pub fn run_until(
    common: &Common,
    bind: &str,
    port: u16,
    ui: Option<PathBuf>,
    stop: &AtomicBool,
) -> Result<u8, ApiError> {
    let home = common.resolved.prepare_home()?;
    let (password, file) = web::password(&home).map_err(|e| match e {
        // a password someone chose and must change: their mistake, as a usage error
        web::WebError::WeakPassword { .. } => ApiError::usage_err(e),
        e => ApiError::from(e),
    })?;
    let server = WebServer::start(WebOptions {
        addr: format!("{bind}:{port}"),
        ui: ui_dir(ui),
        password,
        settings: common.resolved.overrides.clone(),
        home,
        deadlines: web::Deadlines::default(),
        public_names: common.resolved.config.web.public_names.clone(),
        secure_cookie: common.resolved.config.web.secure_cookie,
        roots: roots(&common.resolved.config.web.roots),
    })
    .map_err(ApiError::usage_err)?;
    if !common.quiet {
        let where_pw = match &file {
            Some(f) => format!("the password is in {}", f.display()),
            None => "the password is DEPOSIT_WEB_PASSWORD".into(),
        };
        eprintln!("deposit: web UI on http://{} — {where_pw}", server.addr);
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    server.stop();
    Ok(EXIT_OK)
}
