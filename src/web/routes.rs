//! Requests of the web UI: login, the api commands, the event long-poll, and the UI's files.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::auth::{self, Sessions, Throttle};
use super::events::EventLog;
use super::guard::Names;
use super::http::{Deadlines, Request, Response};
use super::slots::Slots;
use super::{WebOptions, LONG_POLLS, WORKERS};
use crate::api::commands::{self, Call};
use crate::api::host::{Host, HostEvent};
use crate::api::reach::Reach;
use crate::api::resolve::Overrides;
use crate::error::ApiError;

/// Largest request body accepted by the api.
pub const MAX_BODY: usize = 1 << 20;
/// How long a command waits for a free worker before the answer is 503.
const WORKER_WAIT: Duration = Duration::from_secs(30);
/// How long an events request waits for something to happen.
const POLL: Duration = Duration::from_secs(20);

/// What the request handlers share: the web's own login, events and files, and the [`Host`]
/// that runs the commands (the same as the desktop app's).
pub struct State {
    sessions: Sessions,
    throttle: Throttle,
    secure_cookie: bool,
    events: Arc<EventLog>,
    host: Arc<Host>,
    ui: PathBuf,
    password: String,
    workers: Arc<Slots>,
    polls: Arc<Slots>,
    deadlines: Deadlines,
    names: Names,
}

impl State {
    pub fn new(opts: &WebOptions, bound: SocketAddr) -> Self {
        let events = Arc::new(EventLog::default());
        let feed = events.clone();
        State {
            sessions: Sessions::default(),
            throttle: Throttle::default(),
            secure_cookie: opts.secure_cookie,
            events,
            host: Arc::new(
                Host::new(
                    Overrides {
                        home: Some(opts.home.clone()),
                        ..opts.settings.clone()
                    },
                    move |e: HostEvent| feed.push(e.name(), e),
                )
                .confine(Reach::new(
                    opts.roots
                        .iter()
                        .cloned()
                        .chain(std::iter::once(opts.home.clone())),
                )),
            ),
            ui: opts.ui.clone(),
            password: opts.password.clone(),
            workers: Slots::new(WORKERS),
            polls: Slots::new(LONG_POLLS),
            deadlines: opts.deadlines,
            names: Names {
                bound,
                public: opts
                    .public_names
                    .iter()
                    .map(|n| n.to_ascii_lowercase())
                    .collect(),
            },
        }
    }

    /// The host the commands run on (the background resumer holds it too).
    pub fn host(&self) -> &Arc<Host> {
        &self.host
    }

    /// How long clients may take over their requests.
    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::new(status, serde_json::to_vec(body).unwrap_or_default())
        .with_header("Content-Type", "application/json")
        .with_header("Cache-Control", "no-store")
        .with_header("X-Content-Type-Options", "nosniff")
}

fn result_body(r: Result<Value, ApiError>) -> Value {
    match r {
        Ok(data) => json!({"status": "ok", "data": data}),
        Err(error) => json!({"status": "error", "error": error}),
    }
}

fn error_response(status: u16, error: ApiError) -> Response {
    json_response(status, &result_body(Err(error)))
}

fn cookie_token(req: &Request) -> Option<String> {
    req.headers_named("cookie")
        .find_map(|h| auth::token_from_cookie(h).map(str::to_string))
}

/// Answers one request.
pub fn handle(state: &State, req: &Request) -> Response {
    let path = req.path.as_str();
    let host = req.header("host");
    if !state.names.host_ok(host) {
        return error_response(
            421,
            ApiError::usage(
                "web.host",
                "this server is not reached by that name (add it to [web] public_name)",
            ),
        );
    }
    if req.method != "GET"
        && req.method != "HEAD"
        && !state
            .names
            .origin_ok(host, req.header("origin"), req.header("sec-fetch-site"))
    {
        return error_response(
            403,
            ApiError::usage("web.origin", "requests must come from the Deposit page"),
        );
    }
    if !path.starts_with("/api/") && !path.starts_with("/auth/") {
        return serve_file(state, req, path);
    }
    let is_post = req.method == "POST";
    // JSON only, from our own page: a custom header cannot be sent cross-site without CORS
    if is_post && req.header("x-deposit") != Some("1") {
        return error_response(
            403,
            ApiError::usage("web.forbidden", "requests must come from the Deposit page"),
        );
    }
    let args: Value = if req.body.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => {
                return error_response(
                    400,
                    ApiError::usage("web.json", "the request body is not JSON"),
                )
            }
        }
    };
    if path == "/auth/login" && is_post {
        return login(state, req, &args);
    }
    let token = cookie_token(req);
    let logged_in = token.as_deref().is_some_and(|t| state.sessions.check(t));
    if !logged_in {
        return error_response(
            401,
            ApiError::usage("web.login_required", "log in to see this Deposit"),
        );
    }
    match (path, is_post) {
        ("/auth/logout", true) => {
            if let Some(t) = token {
                state.sessions.close(&t);
            }
            json_response(200, &result_body(Ok(Value::Null))).with_header(
                "Set-Cookie",
                &format!(
                    "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
                    auth::COOKIE
                ),
            )
        }
        ("/api/events", false) => {
            let after = req
                .query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "after")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            // long-polls wait outside the command workers, a few at a time
            let Some(_poll) = state.polls.try_take() else {
                return error_response(
                    503,
                    ApiError::usage("web.busy", "too many event listeners; retry soon"),
                )
                .with_header("Retry-After", "3");
            };
            let events = state.events.since(after, POLL);
            json_response(200, &serde_json::to_value(events).unwrap_or(Value::Null))
        }
        (p, true) if p.starts_with("/api/") => {
            let command = p.trim_start_matches("/api/");
            let Some(_worker) = state.workers.take_within(WORKER_WAIT) else {
                return error_response(
                    503,
                    ApiError::usage("web.busy", "the server is busy; retry soon"),
                )
                .with_header("Retry-After", "2");
            };
            json_response(200, &result_body(dispatch(state, command, args)))
        }
        _ => error_response(405, ApiError::usage("web.method", "use POST for commands")),
    }
}

fn login(state: &State, req: &Request, args: &Value) -> Response {
    let ip = req.peer.ip();
    if let Err(wait) = state.throttle.check(ip) {
        // whole seconds, rounded up
        let secs = wait.as_millis().div_ceil(1000).max(1).to_string();
        return error_response(
            429,
            ApiError::usage(
                "web.too_many_logins",
                format!("too many failed logins; try again in {secs} s"),
            ),
        )
        .with_header("Retry-After", &secs);
    }
    let given = args.get("password").and_then(Value::as_str).unwrap_or("");
    if !auth::same(given, &state.password) {
        let wait = state.throttle.failed(ip);
        tracing::warn!(
            "web UI: a login failed (next try from that address in {} s)",
            wait.as_secs()
        );
        return error_response(
            401,
            ApiError::usage("web.bad_password", "that password is not right"),
        );
    }
    state.throttle.succeeded(ip);
    match state.sessions.open() {
        Ok(token) => json_response(200, &result_body(Ok(Value::Null))).with_header(
            "Set-Cookie",
            &format!(
                "{}={token}; Path=/; HttpOnly; SameSite=Strict{}",
                auth::COOKIE,
                if secure(state, req) { "; Secure" } else { "" }
            ),
        ),
        Err(_) => error_response(500, ApiError::usage("web.random", "cannot start a session")),
    }
}

/// Whether the cookie is `Secure`: `[web] secure_cookie`, or a proxy on this computer says the
/// browser came over HTTPS (`X-Forwarded-Proto: https`; the header is believed from loopback
/// only).
fn secure(state: &State, req: &Request) -> bool {
    state.secure_cookie
        || (req.peer.ip().is_loopback()
            && req
                .header("x-forwarded-proto")
                .is_some_and(|p| p.eq_ignore_ascii_case("https")))
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
fn serve_file(state: &State, req: &Request, path: &str) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        return Response::new(405, b"method not allowed".to_vec());
    }
    let rel = Path::new(path.trim_start_matches('/'));
    let safe = rel
        .components()
        .all(|c| matches!(c, Component::Normal(s) if !s.to_string_lossy().starts_with('.')));
    if !safe {
        return Response::new(404, b"not found".to_vec());
    }
    let mut file = state.ui.join(rel);
    if path == "/" || (!file.is_file() && rel.extension().is_none()) {
        file = state.ui.join("index.html");
    }
    if !file.is_file() {
        return Response::new(404, b"not found".to_vec());
    }
    match std::fs::read(&file) {
        Ok(bytes) => Response::new(200, bytes)
            .with_header("Content-Type", content_type(&file))
            .with_header("X-Content-Type-Options", "nosniff")
            .with_header("X-Frame-Options", "DENY")
            .with_header(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
            ),
        Err(_) => Response::new(404, b"not found".to_vec()),
    }
}
