//! The XNAT HTTP conversation: JSESSION login with Basic credentials, the CSRF token when the
//! site asks for one, one re-login on 401, and XNAT's reading of status codes (over the shared
//! transport, [`crate::archive::http`]). Nothing secret reaches a log, an error or a URL we print.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use crate::archive::http::{self, Client, Method};
use crate::archive::throttle::Throttle;
use crate::archive::ArchiveError;

pub use crate::archive::http::{Reply, DEFAULT_TIMEOUT};

#[derive(Default)]
struct Auth {
    jsession: Option<String>,
    csrf: Option<String>,
}

/// A logged-in (lazily) conversation with one XNAT site.
pub struct Conn {
    client: Client,
    base: String,
    user: String,
    secret: String,
    name: String,
    auth: Mutex<Auth>,
    throttle: Mutex<Option<Arc<Throttle>>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("base", &self.base)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// A conversation with the site at `base` (scheme://host[:port][/context]).
    pub fn new(
        base: String,
        user: String,
        secret: String,
        name: String,
        timeout: Duration,
        trust: &crate::archive::tls::Trust,
        route: &crate::archive::proxy::ProxyRoute,
    ) -> Result<Self, ArchiveError> {
        let client = Client::builder()
            .timeout(timeout)
            .trust(trust)
            .proxy(route)
            .build()
            .map_err(|e| e.into_archive(name.clone()))?;
        Ok(Conn {
            client,
            base,
            user,
            secret,
            name,
            auth: Mutex::new(Auth::default()),
            throttle: Mutex::new(None),
        })
    }

    /// Meters every request body through `t` from now on.
    pub fn set_throttle(&self, t: Arc<Throttle>) {
        *self.throttle.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
    }

    /// Keeps the session alive (`GET /data/JSESSION`, as xnatpy does); logs in again when the
    /// site says the session expired. Failures are ignored: the next real call reports them.
    pub fn heartbeat(&self) {
        let id = self
            .auth
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .jsession
            .clone();
        let Some(id) = id else { return };
        match self.raw(
            "GET",
            "/data/JSESSION",
            None,
            ("Cookie", &format!("JSESSIONID={id}")),
            "heartbeat",
        ) {
            Ok(r) if r.status == 401 || looks_like_login_page(&r.body) => {
                tracing::info!("XNAT session expired; logging in again (heartbeat)");
                self.auth.lock().unwrap_or_else(|p| p.into_inner()).jsession = None;
                let _ = self.login();
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(code = crate::error::Classify::code(&e), "heartbeat failed"),
        }
    }

    /// The login name (not secret).
    pub fn user(&self) -> &str {
        &self.user
    }

    fn unreachable(&self, detail: String) -> ArchiveError {
        ArchiveError::Unreachable {
            destination: self.name.clone(),
            detail,
        }
    }

    fn rejected(&self, detail: String) -> ArchiveError {
        ArchiveError::Rejected {
            destination: self.name.clone(),
            detail,
        }
    }

    fn raw(
        &self,
        method: &str,
        path_query: &str,
        body: Option<(&str, &[u8])>,
        header: (&str, &str),
        what: &str,
    ) -> Result<Reply, ArchiveError> {
        let url = format!("{}{path_query}", self.base);
        let throttle = self
            .throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let m = match method {
            "GET" => Method::Get,
            "DELETE" => Method::Delete,
            "PUT" => Method::Put,
            _ => Method::Post,
        };
        let mut req = self.client.request(m, &url).header(header.0, header.1);
        if matches!(m, Method::Put | Method::Post) {
            let (ct, bytes) = body.unwrap_or(("text/plain", &[]));
            req = req
                .header("Content-Type", ct)
                .metered_body(bytes.to_vec(), throttle);
        }
        req.send(what)
            .map_err(|e| e.into_archive(self.name.clone()))
    }

    /// Logs in (`POST /data/JSESSION` with Basic credentials) and fetches the CSRF token.
    pub fn login(&self) -> Result<(), ArchiveError> {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.secret));
        let r = self.raw(
            "POST",
            "/data/JSESSION",
            None,
            ("Authorization", &format!("Basic {basic}")),
            "login",
        )?;
        match r.status {
            200 | 201 => {}
            401 | 403 => {
                return Err(self.rejected(format!(
                    "login refused for user '{}' (HTTP {}): check the user name and the secret \
                     (DEPOSIT_PASSWORD or ~/.netrc; an alias token works as user/secret)",
                    self.user, r.status
                )))
            }
            s => return Err(self.status_error(s, &r.body, "login")),
        }
        let id = r.body.trim().to_string();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(
                self.rejected("login answered without a session id (is this an XNAT site?)".into())
            );
        }
        // CSRF token: served in the site's start page as `var csrfToken = '…';`
        let page = self.raw(
            "GET",
            "/",
            None,
            ("Cookie", &format!("JSESSIONID={id}")),
            "csrf token",
        )?;
        let csrf = csrf_token(&page.body);
        let mut a = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        a.jsession = Some(id);
        a.csrf = csrf;
        Ok(())
    }

    /// Maps a non-success status to an error: 409 (XNAT busy with the session) and the shared
    /// transient statuses (408, 425, 429, 5xx) wait, other 4xx are final.
    pub fn status_error(&self, status: u16, body: &str, what: &str) -> ArchiveError {
        let text = short_text(body);
        let detail = if text.is_empty() {
            format!("{what}: HTTP {status}")
        } else {
            format!("{what}: HTTP {status}: {text}")
        };
        if is_transient(status) {
            self.unreachable(detail)
        } else {
            self.rejected(detail)
        }
    }

    /// One request with the session cookie (logging in first if needed, once more on 401).
    /// State-changing requests carry `XNAT_CSRF` when the site gave a token.
    pub fn call(
        &self,
        method: &str,
        path_query: &str,
        body: Option<(&str, &[u8])>,
        what: &str,
    ) -> Result<Reply, ArchiveError> {
        for attempt in 0..2 {
            let (id, csrf) = {
                let a = self.auth.lock().unwrap_or_else(|p| p.into_inner());
                (a.jsession.clone(), a.csrf.clone())
            };
            let Some(id) = id else {
                self.login()?;
                continue;
            };
            let mut pq = path_query.to_string();
            if method != "GET" {
                if let Some(t) = csrf {
                    pq.push(if pq.contains('?') { '&' } else { '?' });
                    pq.push_str("XNAT_CSRF=");
                    pq.push_str(&super::url::enc(&t));
                }
            }
            let r = self.raw(
                method,
                &pq,
                body,
                ("Cookie", &format!("JSESSIONID={id}")),
                what,
            )?;
            // an expired session may get the login page with 200 instead of 401 (as browsers do)
            let login_page = r.status == 200 && looks_like_login_page(&r.body);
            let r = if login_page {
                Reply {
                    status: 401,
                    body: String::new(),
                }
            } else {
                r
            };
            if r.status == 401 && attempt == 0 {
                tracing::info!("XNAT session no longer valid; logging in again");
                self.auth.lock().unwrap_or_else(|p| p.into_inner()).jsession = None;
                self.login()?;
                continue;
            }
            if r.status == 401 {
                return Err(self.rejected(format!(
                    "{what}: the credentials of user '{}' are no longer accepted (HTTP 401 after a fresh login)",
                    self.user
                )));
            }
            return Ok(r);
        }
        // two rounds were used by logins only: one more round after a fresh login
        Err(self.rejected(format!("{what}: could not keep an XNAT session open")))
    }
}

impl Conn {
    /// A GET whose successful answer streams into `sink` (a download), with the session
    /// cookie (logging in first if needed, once more on 401): the status and the bytes written
    /// (nothing is written for any other status).
    pub fn get_to(
        &self,
        path_query: &str,
        sink: &mut (dyn std::io::Write + Send),
        what: &str,
    ) -> Result<(u16, u64), ArchiveError> {
        for attempt in 0..3 {
            let id = self
                .auth
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .jsession
                .clone();
            let Some(id) = id else {
                self.login()?;
                continue;
            };
            let url = format!("{}{path_query}", self.base);
            let (status, n) = self
                .client
                .request(Method::Get, &url)
                .header("Cookie", &format!("JSESSIONID={id}"))
                .send_to(what, sink)
                .map_err(|e| e.into_archive(self.name.clone()))?;
            if status == 401 && attempt < 2 {
                tracing::info!("XNAT session no longer valid; logging in again");
                self.auth.lock().unwrap_or_else(|p| p.into_inner()).jsession = None;
                continue;
            }
            if status == 401 {
                return Err(self.rejected(format!(
                    "{what}: the credentials of user '{}' are no longer accepted",
                    self.user
                )));
            }
            return Ok((status, n));
        }
        Err(self.rejected(format!("{what}: could not keep an XNAT session open")))
    }
}

/// Statuses worth retrying with XNAT: the shared ones, and 409 (the session is busy).
pub fn is_transient(status: u16) -> bool {
    status == 409 || http::transient_status(status)
}

/// XNAT's login form (what xnatpy looks for: a form posting to `…/login`).
pub fn looks_like_login_page(body: &str) -> bool {
    let head: String = body
        .chars()
        .take(20_000)
        .collect::<String>()
        .to_ascii_lowercase();
    head.contains("<form") && head.contains("name=\"form1\"") && head.contains("/login")
}

/// The CSRF token in XNAT's start page, if any.
pub fn csrf_token(page: &str) -> Option<String> {
    let start = page.find("csrfToken")?;
    let rest = &page[start..];
    let open = rest.find('\'')?;
    let rest = &rest[open + 1..];
    let close = rest.find('\'')?;
    let t = &rest[..close];
    (!t.is_empty() && t.len() < 200).then(|| t.to_string())
}

/// The first line of an error body, without markup, bounded.
fn short_text(body: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if in_tag => {}
            '\n' | '\r' if !out.trim().is_empty() => break,
            _ => out.push(c),
        }
        if out.len() > 160 {
            out.push('…');
            break;
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_csrf_token() {
        let page = "<script>\n var csrfToken = 'ab-12cd';\n</script>";
        assert_eq!(csrf_token(page).as_deref(), Some("ab-12cd"));
        assert_eq!(csrf_token("<html>nothing</html>"), None);
    }

    #[test]
    fn recognises_the_login_page() {
        let page = r#"<html><form name="form1" method="post" action="/xnat/login">"#;
        assert!(looks_like_login_page(page));
        assert!(!looks_like_login_page(r#"{"ResultSet":{"Result":[]}}"#));
    }

    #[test]
    fn classifies_statuses() {
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert!(is_transient(s), "{s}");
        }
        for s in [400, 401, 403, 404, 413] {
            assert!(!is_transient(s), "{s}");
        }
    }

    #[test]
    fn error_text_is_short_and_plain() {
        assert_eq!(short_text("<h3>Bad thing</h3>\nmore"), "Bad thing");
        assert!(short_text(&"x".repeat(1000)).chars().count() < 170);
    }
}
