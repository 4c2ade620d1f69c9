//! Requests of the web UI: login, the api commands, the event long-poll, and the UI's files.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response};

use super::auth::{self, Sessions};
use super::events::EventLog;
use super::WebOptions;
use crate::api::commands::{self, Call};
use crate::api::host::{Host, HostEvent};
use crate::api::resolve::Overrides;
use crate::error::ApiError;

/// Largest request body accepted by the api.
const MAX_BODY: u64 = 1 << 20;
/// How long an events request waits for something to happen.
const POLL: Duration = Duration::from_secs(20);

/// What the request handlers share: the web's own login, events and files, and the [`Host`]
/// that runs the commands (the same as the desktop app's).
pub struct State {
    sessions: Sessions,
    events: Arc<EventLog>,
    host: Arc<Host>,
    ui: PathBuf,
    password: String,
}

impl State {
    pub fn new(opts: &WebOptions) -> Self {
        let events = Arc::new(EventLog::default());
        let feed = events.clone();
        State {
            sessions: Sessions::default(),
            events,
            host: Arc::new(Host::new(
                Overrides {
                    home: Some(opts.home.clone()),
                    ..opts.settings.clone()
                },
                move |e: HostEvent| feed.push(e.name(), e),
            )),
            ui: opts.ui.clone(),
            password: opts.password.clone(),
        }
    }

    /// The host the commands run on (the background resumer holds it too).
    pub fn host(&self) -> &Arc<Host> {
        &self.host
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
        let e = ApiError::usage("web.forbidden", "requests must come from the Deposit page");
        let _ = req.respond(json_response(403, &result_body(Err(e))));
        return;
    }
    let mut body = Vec::new();
    if is_post {
        let read = req.as_reader().take(MAX_BODY + 1).read_to_end(&mut body);
        if read.is_err() || body.len() as u64 > MAX_BODY {
            let e = ApiError::usage("web.body", "the request body is too large or unreadable");
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
                let e = ApiError::usage("web.json", "the request body is not JSON");
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
        let e = ApiError::usage("web.login_required", "log in to see this Deposit");
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
            &result_body(Err(ApiError::usage("web.method", "use POST for commands"))),
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
        let e = ApiError::usage("web.bad_password", "that password is not right");
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
            &result_body(Err(ApiError::usage("web.random", "cannot start a session"))),
        ),
    }
}

/// The commands, with the same names, arguments and results as the desktop app's (one table,
/// `api::commands`).
fn dispatch(state: &State, command: &str, args: Value) -> Result<Value, ApiError> {
    match commands::call_json(&state.host, command, args) {
        Call::Done(r) => r,
        Call::Unknown => Err(ApiError::usage("web.unknown_command", "no such command")),
        Call::BadArgs(e) => Err(ApiError::usage(
            "web.args",
            format!("bad arguments for this command: {e}"),
        )),
        Call::Unencodable(e) => Err(ApiError::usage("web.json", format!("cannot encode: {e}"))),
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
