//! Requests of the web UI: login, the api commands, the event long-poll, and the UI's files.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response};

use super::auth::{self, Sessions};
use super::events::EventLog;
use super::WebOptions;
use crate::api::jobs::{self, OneAtATime, ScanUpdate, SendRequest, SendUpdate};
use crate::api::quarantine::ReleaseOptions;
use crate::api::queue::JobSelector;
use crate::api::receive::control::{ReceiverControl, ReceiverRequest};
use crate::api::resolve::{self, Overrides};
use crate::api::Session;
use crate::error::{ApiError, ErrorClass};

/// Largest request body accepted by the api.
const MAX_BODY: u64 = 1 << 20;
/// How long an events request waits for something to happen.
const POLL: Duration = Duration::from_secs(20);

/// What the request handlers share.
pub struct State {
    sessions: Sessions,
    events: Arc<EventLog>,
    session: Mutex<Option<Session>>,
    home: PathBuf,
    settings: Overrides,
    ui: PathBuf,
    password: String,
    scans: OneAtATime,
    sends: OneAtATime,
    receiver: ReceiverControl,
}

impl State {
    pub fn new(opts: &WebOptions) -> Self {
        State {
            sessions: Sessions::default(),
            events: Arc::new(EventLog::default()),
            session: Mutex::new(None),
            home: opts.home.clone(),
            settings: Overrides {
                home: Some(opts.home.clone()),
                ..opts.settings.clone()
            },
            ui: opts.ui.clone(),
            password: opts.password.clone(),
            scans: OneAtATime::default(),
            sends: OneAtATime::default(),
            receiver: ReceiverControl::default(),
        }
    }

    /// Drops the session so the next request opens one held to the changed configuration.
    fn reopen(&self) {
        if let Ok(mut slot) = self.session.lock() {
            *slot = None;
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Session) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let mut slot = self.session.lock().map_err(|_| {
            api_error(
                "web.state",
                "an earlier request failed badly; restart the service",
            )
        })?;
        let mut session = match slot.take() {
            Some(s) => s,
            None => resolve::open_session(&self.settings)?,
        };
        let out = f(&mut session);
        *slot = Some(session);
        out
    }
}

fn api_error(code: &str, message: &str) -> ApiError {
    ApiError {
        code: code.into(),
        message: message.into(),
        class: ErrorClass::Permanent,
        usage: true,
    }
}

fn header(name: &str, value: &str) -> Header {
    // names and values here are ASCII constants or hex tokens
    Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap_or_else(|_| {
        Header::from_bytes(&b"X-Invalid"[..], &b"1"[..]).expect("static header")
    })
}

fn json_response(status: u16, body: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(serde_json::to_vec(body).unwrap_or_default())
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json"))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
}

fn result_body(r: Result<Value, ApiError>) -> Value {
    match r {
        Ok(data) => json!({"status": "ok", "data": data}),
        Err(error) => json!({"status": "error", "error": error}),
    }
}

fn cookie_token(req: &Request) -> Option<String> {
    req.headers()
        .iter()
        .filter(|h| h.field.equiv("Cookie"))
        .find_map(|h| auth::token_from_cookie(h.value.as_str()).map(str::to_string))
}

fn has_header(req: &Request, name: &str, value: &str) -> bool {
    req.headers()
        .iter()
        .any(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name) && h.value.as_str() == value)
}

/// Answers one request.
pub fn handle(state: &State, mut req: Request) {
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let path = path.to_string();
    let query = query.to_string();
    if !path.starts_with("/api/") {
        let _ = serve_file(state, req, &path);
        return;
    }
    let is_post = *req.method() == Method::Post;
    // JSON only, from our own page: a custom header cannot be sent cross-site without CORS
    if is_post && !has_header(&req, "X-Deposit", "1") {
        let e = api_error("web.forbidden", "requests must come from the Deposit page");
        let _ = req.respond(json_response(403, &result_body(Err(e))));
        return;
    }
    let mut body = Vec::new();
    if is_post {
        let read = req.as_reader().take(MAX_BODY + 1).read_to_end(&mut body);
        if read.is_err() || body.len() as u64 > MAX_BODY {
            let e = api_error("web.body", "the request body is too large or unreadable");
            let _ = req.respond(json_response(413, &result_body(Err(e))));
            return;
        }
    }
    let args: Value = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => {
                let e = api_error("web.json", "the request body is not JSON");
                let _ = req.respond(json_response(400, &result_body(Err(e))));
                return;
            }
        }
    };
    if path == "/api/login" && is_post {
        let _ = req.respond(login(state, &args));
        return;
    }
    let token = cookie_token(&req);
    let logged_in = token.as_deref().is_some_and(|t| state.sessions.check(t));
    if !logged_in {
        let e = api_error("web.login_required", "log in to see this Deposit");
        let _ = req.respond(json_response(401, &result_body(Err(e))));
        return;
    }
    let response = match (path.as_str(), is_post) {
        ("/api/logout", true) => {
            if let Some(t) = token {
                state.sessions.close(&t);
            }
            json_response(200, &result_body(Ok(Value::Null))).with_header(header(
                "Set-Cookie",
                &format!(
                    "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
                    auth::COOKIE
                ),
            ))
        }
        ("/api/events", false) => {
            let after = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "after")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let events = state.events.since(after, POLL);
            json_response(200, &serde_json::to_value(events).unwrap_or(Value::Null))
        }
        (p, true) => {
            let command = p.trim_start_matches("/api/");
            json_response(200, &result_body(dispatch(state, command, args)))
        }
        _ => json_response(
            405,
            &result_body(Err(api_error("web.method", "use POST for commands"))),
        ),
    };
    let _ = req.respond(response);
}

fn login(state: &State, args: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let given = args.get("password").and_then(Value::as_str).unwrap_or("");
    if !auth::same(given, &state.password) {
        // slow down guessing
        std::thread::sleep(Duration::from_millis(800));
        tracing::warn!("web UI: a login failed");
        let e = api_error("web.bad_password", "that password is not right");
        return json_response(401, &result_body(Err(e)));
    }
    match state.sessions.open() {
        Ok(token) => json_response(200, &result_body(Ok(Value::Null))).with_header(header(
            "Set-Cookie",
            &format!(
                "{}={token}; Path=/; HttpOnly; SameSite=Strict",
                auth::COOKIE
            ),
        )),
        Err(_) => json_response(
            500,
            &result_body(Err(api_error("web.random", "cannot start a session"))),
        ),
    }
}

fn args<T: DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v)
        .map_err(|e| api_error("web.args", &format!("bad arguments for this command: {e}")))
}

fn to_json<T: serde::Serialize>(r: Result<T, ApiError>) -> Result<Value, ApiError> {
    r.and_then(|v| {
        serde_json::to_value(v).map_err(|e| api_error("web.json", &format!("cannot encode: {e}")))
    })
}

#[derive(Deserialize)]
struct StudyArgs {
    study_uid: String,
}

#[derive(Deserialize)]
struct InspectArgs {
    instance: i64,
    profile: Option<String>,
}

#[derive(Deserialize)]
struct PreviewArgs {
    instance: i64,
    frame: u32,
    center: Option<f64>,
    width: Option<f64>,
}

#[derive(Deserialize)]
struct ReleaseArgs {
    id: i64,
    destination: String,
    profile: Option<String>,
    lookup: Option<String>,
}

#[derive(Deserialize)]
struct LookupEntryArgs {
    file: String,
    missing_key: String,
    value: String,
}

#[derive(Deserialize)]
struct LookupGapsArgs {
    file: String,
    patient_ids: Vec<String>,
}

#[derive(Deserialize)]
struct IdArgs {
    id: i64,
}

#[derive(Deserialize)]
struct SampleArgs {
    paths: Vec<String>,
    per_series: u32,
    seed: u32,
}

#[derive(Deserialize)]
struct SignoffArgs {
    instances: Vec<i64>,
    reviewer: String,
    note: String,
}

#[derive(Deserialize)]
struct ChangeArgs {
    change: crate::api::settings::SettingsChange,
}

#[derive(Deserialize)]
struct DestArgs {
    destination: String,
}

#[derive(Deserialize)]
struct LoginArgs {
    destination: String,
    secret: String,
}

#[derive(Deserialize)]
struct ProfileArgs {
    profile: String,
}

#[derive(Deserialize)]
struct RegionsArgs {
    instance: i64,
    frame: u32,
    masked: Vec<crate::pixels::Rect>,
}

#[derive(Deserialize)]
struct MaskedPreviewArgs {
    instance: i64,
    frame: u32,
    regions: Vec<crate::pixels::Rect>,
}

#[derive(Deserialize)]
struct SaveMaskArgs {
    mask: crate::api::viewer::DrawnMask,
}

#[derive(Deserialize)]
struct ReceiverArgs {
    request: ReceiverRequest,
}

#[derive(Deserialize)]
struct JobArgs {
    job: Option<i64>,
}

#[derive(Deserialize)]
struct ScanArgs {
    paths: Vec<String>,
}

#[derive(Deserialize)]
struct SendArgs {
    request: SendRequest,
}

/// The commands, with the same names and results as the desktop app's.
fn dispatch(state: &State, command: &str, a: Value) -> Result<Value, ApiError> {
    match command {
        "data_home" => Ok(Value::String(state.home.display().to_string())),
        "studies" => to_json(state.with(|s| s.study_overview())),
        "study_instances" => {
            let a: StudyArgs = args(a)?;
            to_json(state.with(|s| s.study_instances(&a.study_uid)))
        }
        "inspect" => {
            let a: InspectArgs = args(a)?;
            to_json(
                state
                    .with(|s| s.inspect(&s.instance_file(a.instance)?, a.profile.as_deref(), None)),
            )
        }
        "preview" => {
            let a: PreviewArgs = args(a)?;
            to_json(state.with(|s| s.preview_instance(a.instance, a.frame, a.center, a.width)))
        }
        "profiles" => to_json(resolve::profiles(&state.settings)),
        "study_settings" => to_json(resolve::study_view(&state.settings)),
        "approve_profile" => {
            let a: ProfileArgs = args(a)?;
            let r = resolve::approve(&state.settings, &a.profile, crate::api::unix_now());
            state.reopen();
            to_json(r)
        }
        "suggest_regions" => {
            let a: RegionsArgs = args(a)?;
            to_json(state.with(|s| s.suggest_regions_for(a.instance, a.frame, &a.masked)))
        }
        "preview_masked" => {
            let a: MaskedPreviewArgs = args(a)?;
            to_json(state.with(|s| s.preview_masked(a.instance, a.frame, &a.regions)))
        }
        "save_mask" => {
            let a: SaveMaskArgs = args(a)?;
            let stamp = crate::config::utc_stamp(crate::api::unix_now());
            to_json(state.with(|s| s.save_drawn_mask(&a.mask, &stamp)))
        }
        "mask_rules" => to_json(state.with(|s| s.mask_rules())),
        "history" => to_json(state.with(|s| s.queue_list())),
        "quarantine" => to_json(state.with(|s| s.quarantine_list())),
        "quarantine_release" => {
            let a: ReleaseArgs = args(a)?;
            to_json(state.with(|s| {
                let opts =
                    ReleaseOptions::deliver(s.destination(&a.destination)?, a.profile, a.lookup);
                s.quarantine_release(a.id, &opts)
            }))
        }
        "add_lookup_entry" => {
            let a: LookupEntryArgs = args(a)?;
            to_json(crate::api::lookup::add_entry(
                std::path::Path::new(&a.file),
                &a.missing_key,
                &a.value,
            ))
        }
        "lookup_gaps" => {
            let a: LookupGapsArgs = args(a)?;
            to_json(crate::api::preflight::lookup_gaps(
                std::path::Path::new(&a.file),
                &a.patient_ids,
            ))
        }
        "quarantine_discard" => {
            let a: IdArgs = args(a)?;
            to_json(state.with(|s| s.quarantine_discard(a.id)))
        }
        "queue_pause" => {
            let a: JobArgs = args(a)?;
            to_json(state.with(|s| s.queue_pause(JobSelector::from_id(a.job))))
        }
        "queue_resume" => {
            let a: JobArgs = args(a)?;
            let change = state.with(|s| s.queue_resume(JobSelector::from_id(a.job)));
            kick_resume(state);
            to_json(change)
        }
        "queue_retry" => {
            let a: IdArgs = args(a)?;
            let change = state.with(|s| s.queue_retry(JobSelector::Job(a.id)));
            kick_resume(state);
            to_json(change)
        }
        "queue_cancel" => {
            let a: IdArgs = args(a)?;
            to_json(state.with(|s| s.queue_cancel(JobSelector::Job(a.id))))
        }
        "review_sample" => {
            let a: SampleArgs = args(a)?;
            let roots: Vec<std::path::PathBuf> = a.paths.into_iter().map(Into::into).collect();
            let opts = crate::api::review::SampleOptions {
                per_series: a.per_series,
                seed: u64::from(a.seed),
            };
            to_json(state.with(|s| s.sample(&roots, &opts)))
        }
        "record_signoff" => {
            let a: SignoffArgs = args(a)?;
            to_json(state.with(|s| s.record_signoff(&a.instances, &a.reviewer, &a.note)))
        }
        "signoffs" => to_json(state.with(|s| s.signoffs())),
        "settings" => to_json(crate::api::settings::settings(state.settings.config_file())),
        "change_settings" => {
            let a: ChangeArgs = args(a)?;
            let r = crate::api::settings::change(state.settings.config_file(), &a.change);
            state.reopen();
            to_json(r)
        }
        "test_destination" => {
            let a: DestArgs = args(a)?;
            to_json(crate::api::settings::test_destination(
                state.settings.config_file(),
                &a.destination,
                &state.home,
            ))
        }
        "login" => {
            let a: LoginArgs = args(a)?;
            to_json(crate::api::settings::login(
                state.settings.config_file(),
                &a.destination,
                &a.secret,
            ))
        }
        "receiver_start" => {
            let a: ReceiverArgs = args(a)?;
            to_json(
                resolve::resolve(&state.settings).and_then(|r| state.receiver.start(&r, a.request)),
            )
        }
        "receiver_status" => to_json(state.receiver.status()),
        "receiver_stop" => to_json(state.receiver.stop()),
        "start_scan" => {
            let a: ScanArgs = args(a)?;
            let (events, home) = (state.events.clone(), state.home.clone());
            state.scans.spawn("a scan", "web-scan", move || {
                jobs::scan(
                    || Session::open(home),
                    &a.paths,
                    |u| match u {
                        ScanUpdate::Progress(p) => events.push("scan-progress", p),
                        ScanUpdate::Finished(f) => events.push("scan-finished", f),
                        ScanUpdate::Failed(f) => events.push("scan-failed", f),
                    },
                );
            })?;
            Ok(Value::Null)
        }
        "start_send" => {
            let a: SendArgs = args(a)?;
            let (events, settings) = (state.events.clone(), state.settings.clone());
            state.sends.spawn("a send", "web-send", move || {
                jobs::send(
                    || resolve::open_session(&settings),
                    &a.request,
                    |u| push_send(&events, u),
                );
            })?;
            Ok(Value::Null)
        }
        _ => Err(api_error("web.unknown_command", "no such command")),
    }
}

fn push_send(events: &EventLog, u: SendUpdate) {
    match u {
        SendUpdate::Progress(p) => events.push("send-progress", p),
        SendUpdate::Finished(f) => events.push("send-finished", f),
        SendUpdate::Failed(f) => events.push("send-failed", f),
    }
}

/// Resumes queued work now unless a send is running.
fn kick_resume(state: &State) {
    let (events, settings) = (state.events.clone(), state.settings.clone());
    jobs::resume_in_background(
        &state.sends,
        move || resolve::open_session(&settings),
        move |u| push_send(&events, u),
    );
}

/// Resumes queued deliveries now and then (as the desktop app does) until `stop`.
pub fn resume_loop(state: &State, stop: &AtomicBool) {
    let every = jobs::resume_every();
    while !stop.load(Ordering::SeqCst) {
        kick_resume(state);
        let mut waited = Duration::ZERO;
        while waited < every && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(200));
            waited += Duration::from_millis(200);
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// A file of the built UI; paths that try to leave it are refused.
fn serve_file(state: &State, req: Request, path: &str) -> std::io::Result<()> {
    if *req.method() != Method::Get && *req.method() != Method::Head {
        return req.respond(Response::from_string("method not allowed").with_status_code(405));
    }
    let rel = Path::new(path.trim_start_matches('/'));
    let safe = rel
        .components()
        .all(|c| matches!(c, Component::Normal(s) if !s.to_string_lossy().starts_with('.')));
    if !safe {
        return req.respond(Response::from_string("not found").with_status_code(404));
    }
    let mut file = state.ui.join(rel);
    if path == "/" || (!file.is_file() && rel.extension().is_none()) {
        file = state.ui.join("index.html");
    }
    match std::fs::read(&file) {
        Ok(bytes) => req.respond(
            Response::from_data(bytes)
                .with_header(header("Content-Type", content_type(&file)))
                .with_header(header("X-Content-Type-Options", "nosniff"))
                .with_header(header("X-Frame-Options", "DENY"))
                .with_header(header(
                    "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
                )),
        ),
        Err(_) => req.respond(Response::from_string("not found").with_status_code(404)),
    }
}
