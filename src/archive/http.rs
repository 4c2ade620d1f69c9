//! The one HTTP transport of the HTTP destinations (XNAT, CTP HTTP, DICOMweb): reqwest's blocking
//! client over rustls (the `ring` provider) with the platform's certificate verifier.
//!
//! One client construction ([`ClientBuilder`]: timeouts, user agent, the destination's TLS
//! trust ([`super::tls`]), no redirects — a 3xx is answered to the caller as is), one classification of failures and statuses (transient:
//! connection refused or reset, timeouts, 408, 425, 429, 5xx; permanent: other 4xx and a TLS
//! connection refused over its certificate), one error type ([`HttpError`]). Error texts never
//! carry the request URL (a query may hold a session token) nor a header value.
//!
//! Proxies: the client is built for one [`ProxyRoute`] (direct or through one proxy, see
//! `archive::proxy`, which also tells a proxy's own refusals apart): a proxy that refuses its
//! credentials (to a CONNECT or to a plain-http request) is a permanent
//! [`HttpError::ProxyRefused`]; a proxy that cannot be reached is a transient connection failure.
//!
//! The callers are synchronous. A call made on a thread that runs an async runtime (the desktop
//! shell's commands) is moved to a scoped thread of its own, where reqwest's blocking client may
//! wait.

use std::error::Error as _;
use std::io::{Read, Write};
use std::sync::{Arc, Once};
use std::time::Duration;

use thiserror::Error;

use super::proxy::ProxyRoute;
use super::throttle::{Throttle, Throttled};
use super::tls::Trust;
use super::ArchiveError;
use crate::error::{Classify, ErrorClass};

/// How long connecting may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a whole request may take by default (a piece is ≤ 8 MB).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest answer read by default (a listing of a large study is a few MB).
pub const DEFAULT_BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// Transport failures, classified.
#[derive(Debug, Error)]
pub enum HttpError {
    /// The client could not be built (TLS set-up).
    #[error("cannot set up the HTTP client: {detail}")]
    Client {
        /// What failed.
        detail: String,
    },
    /// The request could not be formed (a URL the client does not accept).
    #[error("{what}: the request could not be formed: {detail}")]
    Request {
        /// The step (`login`, `import`, …).
        what: String,
        /// What failed.
        detail: String,
    },
    /// The server's certificate was not accepted: waiting will not help.
    #[error("{what}: {detail}")]
    TlsRefused {
        /// The step.
        what: String,
        /// The TLS stack's reason and what to do ([`super::tls::explain`]).
        detail: String,
    },
    /// No answer within the timeout.
    #[error("{what}: no answer in time")]
    Timeout {
        /// The step.
        what: String,
    },
    /// The connection failed (refused, reset, name not resolved) or the answer broke off.
    #[error("{what}: {detail}")]
    Connection {
        /// The step.
        what: String,
        /// What failed.
        detail: String,
    },
    /// The proxy refused the credentials or asked for some (HTTP 407): waiting will not help.
    #[error("{what}: {detail}")]
    ProxyRefused {
        /// The step.
        what: String,
        /// Which proxy and what to do (never the secret).
        detail: String,
    },
}

impl Classify for HttpError {
    fn code(&self) -> &'static str {
        match self {
            HttpError::Client { .. } => "http.client",
            HttpError::Request { .. } => "http.request",
            HttpError::TlsRefused { .. } => "http.tls_refused",
            HttpError::Timeout { .. } => "http.timeout",
            HttpError::Connection { .. } => "http.connection",
            HttpError::ProxyRefused { .. } => "http.proxy_refused",
        }
    }
    fn class(&self) -> ErrorClass {
        match self {
            HttpError::Timeout { .. } | HttpError::Connection { .. } => ErrorClass::Transient,
            _ => ErrorClass::Permanent,
        }
    }
}

impl HttpError {
    /// The failure as a destination error: unreachable (retry later), a TLS refusal or rejected
    /// (for good).
    pub fn into_archive(self, destination: String) -> ArchiveError {
        let detail = self.to_string();
        if let HttpError::TlsRefused { .. } = self {
            return ArchiveError::TlsRefused {
                destination,
                detail,
            };
        }
        match self.class() {
            ErrorClass::Transient => ArchiveError::Unreachable {
                destination,
                detail,
            },
            ErrorClass::Permanent => ArchiveError::Rejected {
                destination,
                detail,
            },
        }
    }
}

/// Statuses worth retrying: 408, 425, 429 and 5xx. Other 4xx are final.
pub fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429) || status >= 500
}

/// An HTTP status that is not a success, classified (see [`transient_status`]).
pub fn status_class(status: u16) -> ErrorClass {
    if transient_status(status) {
        ErrorClass::Transient
    } else {
        ErrorClass::Permanent
    }
}

/// How a [`Client`] is built: timeouts, whose certificates are trusted ([`Trust`]) and which
/// proxy it goes through ([`ProxyRoute`]).
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    reuse: bool,
    trust: Trust,
    tls: Option<rustls::ClientConfig>,
    proxy: ProxyRoute,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            user_agent: "deposit".into(),
            reuse: true,
            trust: Trust::default(),
            tls: None,
            proxy: ProxyRoute::direct(),
        }
    }
}

impl ClientBuilder {
    /// How long connecting may take.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// How long a whole request (sending, waiting, reading the answer) may take.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Opens a new connection for every request and sends `Connection: close`, for servers
    /// that close each connection after one answer without saying so.
    pub fn one_request_per_connection(mut self) -> Self {
        self.reuse = false;
        self
    }

    /// Whose certificates are trusted (the destination's `ca`, `pin_sha256`; named in advice).
    pub fn trust(mut self, trust: &Trust) -> Self {
        self.trust = trust.clone();
        self
    }

    /// Uses this TLS configuration instead of the one [`Self::trust`] makes (the certificate
    /// check of [`super::tls::presented`]).
    pub(crate) fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Goes directly or through a proxy as `route` says (the default: directly; the
    /// environment and the OS's settings are never read by the client itself).
    pub fn proxy(mut self, route: &ProxyRoute) -> Self {
        self.proxy = route.clone();
        self
    }

    /// Builds the client.
    pub fn build(&self) -> Result<Client, HttpError> {
        install_crypto_provider();
        // A trust that cannot be set up fails the https requests only: a plain-http
        // destination does not need it (and the OS verifier may be what is missing).
        let mut tls_error = None;
        let tls = match &self.tls {
            Some(c) => c.clone(),
            None => self.trust.client_config().unwrap_or_else(|e| {
                tls_error = Some(Arc::<str>::from(e.to_string()));
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            }),
        };
        let b = reqwest::blocking::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(self.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(tls);
        let b = if self.reuse {
            b
        } else {
            let mut close = reqwest::header::HeaderMap::new();
            close.insert(
                reqwest::header::CONNECTION,
                reqwest::header::HeaderValue::from_static("close"),
            );
            b.pool_max_idle_per_host(0).default_headers(close)
        };
        let b =
            super::proxy::apply(b, &self.proxy).map_err(|detail| HttpError::Client { detail })?;
        let trust = Arc::new(self.trust.clone());
        let proxy = Arc::new(self.proxy.clone());
        off_runtime(move || b.build())
            .map(|inner| Client {
                inner,
                trust,
                proxy,
                tls_error,
            })
            .map_err(|e| HttpError::Client { detail: causes(&e) })
    }
}

/// Runs `f` here, or on a scoped thread when this thread runs an async runtime (where reqwest's
/// blocking client refuses to wait).
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// rustls with the `ring` provider for the whole process (reqwest uses the process default).
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // an error means a provider is installed already: that one is used
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client (cheap to clone: the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::blocking::Client,
    trust: Arc<Trust>,
    proxy: Arc<ProxyRoute>,
    /// Why TLS could not be set up (https requests fail with it).
    tls_error: Option<Arc<str>>,
}

/// A request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

impl Client {
    /// A client with the default options.
    pub fn new() -> Result<Client, HttpError> {
        ClientBuilder::default().build()
    }

    /// The default options, to change some.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Starts a request to `url`.
    pub fn request(&self, method: Method, url: &str) -> Request {
        let m = match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let parsed = reqwest::Url::parse(url).ok();
        let target = parsed.as_ref().and_then(|u| {
            let host = u.host_str()?.trim_matches(['[', ']']).to_string();
            Some((host, u.port_or_known_default()?))
        });
        let mut inner = self.inner.request(m, url);
        // A plain-http request through a proxy talks to the proxy itself, and proxies often
        // close the connection after one answer without saying so (tinyproxy does): such a
        // connection is never kept for the next request, which could otherwise be lost on it.
        // (An https request goes through a CONNECT tunnel, which stays open.)
        if self.proxy.proxy.is_some() && parsed.as_ref().is_some_and(|u| u.scheme() == "http") {
            inner = inner.header(reqwest::header::CONNECTION, "close");
        }
        Request {
            inner,
            limit: DEFAULT_BODY_LIMIT,
            trust: self.trust.clone(),
            proxy: self.proxy.clone(),
            target,
            idempotent: !matches!(method, Method::Post),
            tls_error: self
                .tls_error
                .clone()
                .filter(|_| parsed.as_ref().is_none_or(|u| u.scheme() != "http")),
        }
    }

    /// How this client reaches its server: "via proxy host:port (from: …)" or "direct".
    pub fn route(&self) -> &ProxyRoute {
        &self.proxy
    }
}

/// A request being put together.
#[derive(Debug)]
pub struct Request {
    inner: reqwest::blocking::RequestBuilder,
    limit: u64,
    trust: Arc<Trust>,
    proxy: Arc<ProxyRoute>,
    /// The server's host and port (for asking the proxy who refused).
    target: Option<(String, u16)>,
    /// GET, PUT, DELETE: safe to send again when a kept connection turned out to be closed.
    idempotent: bool,
    /// Why this (https) request cannot be sent: TLS could not be set up.
    tls_error: Option<Arc<str>>,
}

/// An answer: status and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body as text (invalid UTF-8 replaced).
    pub body: String,
}

impl Request {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner = self.inner.header(name, value);
        self
    }

    /// The body.
    pub fn body(mut self, bytes: Vec<u8>) -> Self {
        self.inner = self.inner.body(bytes);
        self
    }

    /// The body, drawn through a bandwidth cap when there is one.
    pub fn metered_body(mut self, bytes: Vec<u8>, throttle: Option<Arc<Throttle>>) -> Self {
        if throttle.is_none() {
            return self.body(bytes);
        }
        let len = bytes.len() as u64;
        let reader = Throttled::new(std::io::Cursor::new(bytes), throttle);
        self.inner = self.inner.body(reqwest::blocking::Body::sized(reader, len));
        self
    }

    /// The largest answer read (a larger one is an error).
    pub fn body_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// Sends the request and reads the answer; `what` names the step in errors.
    pub fn send(self, what: &str) -> Result<Reply, HttpError> {
        let (status, bytes) = self.send_bytes(what)?;
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// [`Self::send`] for an answer that is not text: the status and the body's bytes.
    pub fn send_bytes(self, what: &str) -> Result<(u16, Vec<u8>), HttpError> {
        off_runtime(move || self.send_here(what))
    }

    /// Sends the request and streams a successful (2xx) answer's body into `sink` without
    /// holding it in memory (downloads); the status, and the bytes written. Any other answer
    /// is read like [`Self::send_bytes`] and returned with nothing written.
    pub fn send_to(
        self,
        what: &str,
        sink: &mut (dyn Write + Send),
    ) -> Result<(u16, u64), HttpError> {
        off_runtime(move || {
            let what_s = what.to_string();
            let trust = self.trust.clone();
            let limit = self.limit;
            let resp = self.response(what)?;
            let status = resp.status().as_u16();
            let mut resp = resp;
            if !(200..300).contains(&status) {
                let mut skip = Vec::new();
                let _ = (&mut resp).take(limit).read_to_end(&mut skip);
                return Ok((status, 0));
            }
            let n = std::io::copy(&mut resp, sink).map_err(|e| {
                match e.get_ref().and_then(|i| i.downcast_ref()) {
                    Some(re) => classify(re, &what_s, &trust),
                    None => HttpError::Connection {
                        what: what_s.clone(),
                        detail: format!("the answer broke off: {e}"),
                    },
                }
            })?;
            Ok((status, n))
        })
    }

    fn send_here(self, what: &str) -> Result<(u16, Vec<u8>), HttpError> {
        let (trust, limit) = (self.trust.clone(), self.limit);
        let resp = self.response(what)?;
        let status = resp.status().as_u16();
        let mut bytes = Vec::new();
        resp.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| match e.get_ref().and_then(|i| i.downcast_ref()) {
                Some(re) => classify(re, what, &trust),
                None => HttpError::Connection {
                    what: what.to_string(),
                    detail: format!("the answer broke off: {e}"),
                },
            })?;
        if bytes.len() as u64 > limit {
            return Err(HttpError::Connection {
                what: what.to_string(),
                detail: format!("the answer is larger than {limit} bytes"),
            });
        }
        Ok((status, bytes))
    }

    /// Sends the request: the answer's head (its body not read yet), or the error classified.
    fn response(self, what: &str) -> Result<reqwest::blocking::Response, HttpError> {
        if let Some(e) = &self.tls_error {
            return Err(HttpError::Client {
                detail: format!("cannot set up TLS for {what}: {e}"),
            });
        }
        let (trust, proxy, target) = (self.trust.clone(), self.proxy, self.target);
        // A kept-alive connection the server closed just as it was reused fails the request
        // before any answer. An idempotent request is sent once more on a new connection (as
        // browsers and curl do); a POST is not (the caller's ledger decides about resending).
        let again = if self.idempotent {
            self.inner.try_clone()
        } else {
            None
        };
        let resp = match self.inner.send() {
            Err(e) if again.is_some() && closed_before_answer(&e) => {
                tracing::debug!(step = what, "kept connection was closed; sending again");
                again.map(|r| r.send()).unwrap_or(Err(e))
            }
            r => r,
        };
        let resp = resp.map_err(|e| {
            super::proxy::failure(classify(&e, what, &trust), &proxy, target.as_ref())
        })?;
        let status = resp.status().as_u16();
        if let Some(refused) = super::proxy::refusal(status, what, &proxy) {
            return Err(refused);
        }
        Ok(resp)
    }
}

/// Whether the connection closed before any answer came (a kept-alive connection closed by
/// the server or a proxy just as it was reused).
fn closed_before_answer(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// A reqwest failure, classified (the URL left out of the text; a certificate refusal with
/// what to do about it).
fn classify(e: &reqwest::Error, what: &str, trust: &Trust) -> HttpError {
    let what = what.to_string();
    // certificate refusals are for good; other TLS failures (alerts, a middlebox breaking the
    // handshake) are the network's and are retried
    if let Some(
        tls @ (rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::PeerIncompatible(_)),
    ) = rustls_error(e)
    {
        return HttpError::TlsRefused {
            what,
            detail: super::tls::explain(tls, trust),
        };
    }
    if e.is_timeout() {
        return HttpError::Timeout { what };
    }
    if e.is_builder() {
        return HttpError::Request {
            what,
            detail: causes(e),
        };
    }
    HttpError::Connection {
        what,
        detail: causes(e),
    }
}

/// The TLS stack's error somewhere in the causes, if any.
fn rustls_error(e: &reqwest::Error) -> Option<&rustls::Error> {
    e.source().and_then(rustls_in)
}

/// Looks through `e`, the errors an I/O error wraps (its `source` skips them) and the causes.
fn rustls_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(t) = e.downcast_ref::<rustls::Error>() {
        return Some(t);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if let Some(t) = rustls_in(inner) {
            return Some(t);
        }
    }
    e.source().and_then(rustls_in)
}

/// The causes of an error in words, outermost first, without repeats and without the URL.
fn causes(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    if parts.is_empty() {
        let kind = if e.is_connect() {
            "cannot connect"
        } else if e.is_body() || e.is_decode() {
            "the answer broke off"
        } else {
            "the request failed"
        };
        kind.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    #[test]
    fn classifies_statuses() {
        for s in [408, 425, 429, 500, 502, 503, 504] {
            assert!(transient_status(s), "{s}");
            assert_eq!(status_class(s), ErrorClass::Transient);
        }
        for s in [400, 401, 403, 404, 409, 413] {
            assert!(!transient_status(s), "{s}");
        }
    }

    #[test]
    fn refused_connection_is_transient_and_names_no_url() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        let c = Client::new().expect("client");
        let e = c
            .request(Method::Get, &format!("http://127.0.0.1:{port}/x?token=abc"))
            .send("probe")
            .expect_err("nobody listens");
        assert_eq!(e.class(), ErrorClass::Transient, "{e}");
        assert!(!e.to_string().contains("token=abc"), "{e}");
    }

    #[test]
    fn works_on_an_async_runtime_thread() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let e = rt.block_on(async {
            Client::new()
                .expect("client")
                .request(Method::Get, &format!("http://127.0.0.1:{port}/"))
                .send("probe")
                .expect_err("nobody listens")
        });
        assert_eq!(e.class(), ErrorClass::Transient, "{e}");
    }

    /// Reads one request head from `sock`.
    fn read_head(sock: &std::net::TcpStream) -> String {
        let mut r = BufReader::new(sock.try_clone().expect("clone"));
        let mut head = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).expect("line");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        head
    }

    /// Closes its first connection after reading the request, without an answer (a kept
    /// connection the server dropped), and answers `200 ok` on every later one.
    fn drops_the_first_connection() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for (n, sock) in l.incoming().enumerate() {
                let Ok(mut sock) = sock else { return };
                read_head(&sock);
                if n > 0 {
                    let _ = write!(
                        sock,
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    );
                }
            }
        });
        port
    }

    #[test]
    fn a_connection_closed_before_the_answer_is_retried_for_get_but_not_for_post() {
        let c = Client::new().expect("client");
        let port = drops_the_first_connection();
        let r = c
            .request(Method::Get, &format!("http://127.0.0.1:{port}/"))
            .send("probe")
            .expect("sent again on a new connection");
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        let port = drops_the_first_connection();
        let e = c
            .request(Method::Post, &format!("http://127.0.0.1:{port}/"))
            .body(b"x".to_vec())
            .send("import")
            .expect_err("a POST is not sent twice by the transport");
        assert_eq!(e.class(), ErrorClass::Transient, "{e}");
    }

    #[test]
    fn a_trust_that_cannot_be_set_up_fails_https_requests_only() {
        let trust = Trust {
            ca: Some(std::path::PathBuf::from("/nonexistent/hospital-ca.pem")),
            ..Trust::default()
        };
        let c = Client::builder().trust(&trust).build().expect("client");
        let port = drops_the_first_connection();
        let r = c
            .request(Method::Get, &format!("http://127.0.0.1:{port}/"))
            .send("probe")
            .expect("plain http needs no TLS");
        assert_eq!(r.status, 200);
        let e = c
            .request(Method::Get, "https://127.0.0.1:9/")
            .send("probe")
            .expect_err("https cannot be verified");
        assert_eq!(e.code(), "http.client", "{e}");
        assert!(e.to_string().contains("hospital-ca.pem"), "{e}");
    }

    #[test]
    fn plain_http_through_a_proxy_does_not_keep_the_connection() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let srv = std::thread::spawn(move || {
            let (mut sock, _) = l.accept().expect("accept");
            let head = read_head(&sock);
            let _ = write!(sock, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            head
        });
        let route = super::super::proxy::Network::new(
            Some(format!("http://127.0.0.1:{port}")),
            None,
            super::super::proxy::ProxyEnv::default(),
        )
        .route(false, "192.0.2.7", 8080)
        .expect("route");
        let c = Client::builder().proxy(&route).build().expect("client");
        let r = c
            .request(Method::Get, "http://192.0.2.7:8080/data")
            .send("probe")
            .expect("through the proxy");
        assert_eq!(r.status, 200);
        let head = srv.join().expect("proxy").to_ascii_lowercase();
        assert!(head.starts_with("get http://192.0.2.7:8080/data"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
    }

    /// Answers one request with a redirect; returns the request head.
    fn one_redirect() -> (u16, std::thread::JoinHandle<String>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let h = std::thread::spawn(move || {
            let (sock, _) = l.accept().expect("accept");
            let head = read_head(&sock);
            let mut w = sock;
            write!(
                w,
                "HTTP/1.1 301 Moved\r\nLocation: /elsewhere\r\nContent-Length: 4\r\nConnection: close\r\n\r\n/uri"
            )
            .expect("reply");
            head
        });
        (port, h)
    }

    #[test]
    fn redirects_are_answered_not_followed() {
        let (port, srv) = one_redirect();
        let r = Client::new()
            .expect("client")
            .request(Method::Post, &format!("http://127.0.0.1:{port}/commit"))
            .header("X-Test", "1")
            .body(Vec::new())
            .send("commit")
            .expect("answer");
        assert_eq!((r.status, r.body.as_str()), (301, "/uri"));
        let head = srv.join().expect("server").to_ascii_lowercase();
        assert!(head.contains("user-agent: deposit"), "{head}");
        assert!(head.contains("x-test: 1"), "{head}");
    }

    #[test]
    fn an_untrusted_certificate_is_a_permanent_refusal() {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = vec![CertificateDer::from_pem_slice(include_bytes!(
            "../../tests/data/tls/selfsigned.cert.pem"
        ))
        .expect("cert")];
        let key = PrivateKeyDer::from_pem_slice(include_bytes!(
            "../../tests/data/tls/selfsigned.key.pem"
        ))
        .expect("key");
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let config = std::sync::Arc::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut buf = [0u8; 1024];
                let _ = std::io::Read::read(&mut tls, &mut buf);
            }
        });
        let e = Client::new()
            .expect("client")
            .request(Method::Get, &format!("https://127.0.0.1:{port}/"))
            .send("probe")
            .expect_err("self-signed");
        assert!(matches!(e, HttpError::TlsRefused { .. }), "{e:?}");
        assert_eq!(e.class(), ErrorClass::Permanent);
        assert!(e.to_string().contains("certificate"), "{e}");
    }
}
