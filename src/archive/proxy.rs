//! HTTP proxies: which proxy, if any, an HTTP destination is reached through, and with which
//! credentials.
//!
//! The choice, in order: `[network] proxy` of `deposit.toml` (`"none"` forces direct
//! connections; `[network] no_proxy` lists hosts reached directly), else the environment
//! (`HTTPS_PROXY` for https destinations, `HTTP_PROXY` for http ones, `NO_PROXY`; lower-case
//! too), else the OS's proxy settings where the OS has them (Windows, macOS; on Linux the
//! environment is the system setting). The environment is read by the front door
//! ([`ProxyEnv::from_lookup`]) and handed down in a [`Network`]; nothing here reads it.
//!
//! A proxy URL is `http(s)://[USER@]host[:port]`; a password in it is refused. The proxy's
//! secret comes from `DEPOSIT_PROXY_PASSWORD` (through [`ProxyEnv`]) or the OS keyring (stored
//! by `deposit proxy login`, [`store_secret`]). Each destination gets its [`ProxyRoute`] once,
//! when it is opened; the HTTP client is then built for exactly that route (reqwest's own reading
//! of the environment and the system is switched off), so what a connection test reports is
//! what delivery uses.

use std::fmt;

use thiserror::Error;

use super::credentials;
use super::http::HttpError;
use crate::error::{Classify, ErrorClass};

/// The `[network] proxy` value that forces direct connections.
pub const NONE: &str = "none";
/// The environment variable holding the proxy's password (read by the front door).
pub const PASSWORD_ENV: &str = "DEPOSIT_PROXY_PASSWORD";

/// Where the proxy in use was chosen.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxySource {
    /// `[network] proxy` in `deposit.toml`.
    Config,
    /// `HTTPS_PROXY` / `HTTP_PROXY`.
    Environment,
    /// The OS's proxy settings.
    System,
}

impl fmt::Display for ProxySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxySource::Config => "config",
            ProxySource::Environment => "environment",
            ProxySource::System => "system",
        })
    }
}

/// Proxy failures: a proxy setting that cannot be used.
#[derive(Debug, Error)]
pub enum ProxyError {
    /// The proxy URL is not `http(s)://[USER@]host[:port]`, or holds a password.
    #[error("the proxy setting from the {origin} is not usable: {detail}")]
    BadProxy {
        /// Where it came from.
        origin: ProxySource,
        /// What is wrong (never the password).
        detail: String,
    },
}

impl Classify for ProxyError {
    fn code(&self) -> &'static str {
        "proxy.bad_setting"
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// The proxy part of the environment, as the front door read it (empty values are unset).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// `HTTPS_PROXY` / `https_proxy`.
    pub https_proxy: Option<String>,
    /// `HTTP_PROXY` / `http_proxy`.
    pub http_proxy: Option<String>,
    /// `NO_PROXY` / `no_proxy`.
    pub no_proxy: Option<String>,
    /// `DEPOSIT_PROXY_PASSWORD`.
    pub password: Option<String>,
}

impl fmt::Debug for ProxyEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyEnv")
            .field("https_proxy", &self.https_proxy.as_deref().map(redact))
            .field("http_proxy", &self.http_proxy.as_deref().map(redact))
            .field("no_proxy", &self.no_proxy)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

impl ProxyEnv {
    /// Reads the proxy variables through `get` (the front door passes `std::env::var`): the
    /// upper-case name first, then the lower-case one.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| get(n).filter(|v| !v.trim().is_empty()))
                .map(|v| v.trim().to_string())
        };
        ProxyEnv {
            https_proxy: first(&["HTTPS_PROXY", "https_proxy"]),
            http_proxy: first(&["HTTP_PROXY", "http_proxy"]),
            no_proxy: first(&["NO_PROXY", "no_proxy"]),
            password: get(PASSWORD_ENV).filter(|v| !v.is_empty()),
        }
    }
}

/// A proxy: `scheme://[user@]host:port` (never a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// `http` or `https` (how Deposit talks to the proxy).
    pub scheme: String,
    /// The user to authenticate as.
    pub user: Option<String>,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl ProxyUrl {
    /// Parses `http(s)://[USER@]host[:port][/]` (a bare `host:port` is `http://host:port`); a
    /// password in it is refused. The error text never holds the password.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (scheme, rest) = match s.split_once("://") {
            Some((sc, r)) => (sc.to_ascii_lowercase(), r),
            None => ("http".to_string(), s),
        };
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "'{scheme}://' proxies are not supported (http:// or https://)"
            ));
        }
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') || rest.contains('?') {
            return Err("a proxy URL has no path: http://[USER@]host:port".into());
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => {
                if u.contains(':') {
                    return Err(format!(
                        "the proxy URL holds a password: write only the user \
                         ({scheme}://USER@host:port) and store the password with \
                         'deposit proxy login' or set {PASSWORD_ENV}"
                    ));
                }
                if u.is_empty() {
                    return Err("empty user before '@'".into());
                }
                (Some(u.to_string()), h)
            }
            None => (None, rest),
        };
        let default_port = if scheme == "https" { 443 } else { 80 };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| "unclosed '[' in the proxy host".to_string())?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("bad proxy port '{p}'"))?,
                None if after.is_empty() => default_port,
                None => return Err("bad proxy host".into()),
            };
            (h.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| format!("bad proxy port '{p}'"))?,
                ),
                None => (hostport.to_string(), default_port),
            }
        };
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
        {
            return Err("bad proxy host".into());
        }
        if port == 0 {
            return Err("bad proxy port '0'".into());
        }
        Ok(ProxyUrl {
            scheme,
            user,
            host,
            port,
        })
    }

    /// `host:port` (IPv6 in brackets).
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `scheme://host:port` (no user): what the HTTP client connects to.
    pub fn endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.address())
    }
}

impl fmt::Display for ProxyUrl {
    /// `scheme://[user@]host:port`, reparseable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.user {
            Some(u) => write!(f, "{}://{}@{}", self.scheme, u, self.address()),
            None => write!(f, "{}://{}", self.scheme, self.address()),
        }
    }
}

/// A proxy URL as text without what may be a password (for debug output).
fn redact(s: &str) -> String {
    match s.rsplit_once('@') {
        Some((before, after)) => match before.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://…@{after}"),
            None => format!("…@{after}"),
        },
        None => s.to_string(),
    }
}

/// The proxy settings in force: the configuration's, the environment's (as the front door read
/// it) and whether to consult the OS. Resolved per destination by [`Network::route`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    /// `[network] proxy`: a proxy URL or `"none"`.
    pub proxy: Option<String>,
    /// `[network] no_proxy`: hosts reached directly (`host,.domain,10.0.0.0/8`).
    pub no_proxy: Option<String>,
    /// The environment's part.
    pub env: ProxyEnv,
    /// Do not consult the OS's proxy settings (tests; the OS is consulted by default).
    pub no_system: bool,
}

/// The proxy a [`Network`] chooses before any `no_proxy` rule: for the settings screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The proxy (`None`: direct).
    pub proxy: Option<ProxyUrl>,
    /// Where the choice came from (`None`: nothing set anywhere).
    pub source: Option<ProxySource>,
    /// The hosts reached directly.
    pub no_proxy: String,
}

/// How one destination is reached: directly or through a proxy (with its credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyRoute {
    /// The proxy (`None`: direct).
    pub proxy: Option<ProxyUrl>,
    /// Where the proxy setting came from (`None`: nothing set anywhere).
    pub source: Option<ProxySource>,
    secret: Option<String>,
}

impl fmt::Debug for ProxyRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyRoute")
            .field("proxy", &self.proxy)
            .field("source", &self.source)
            .field("secret", &self.secret.as_ref().map(|_| "…"))
            .finish()
    }
}

impl ProxyRoute {
    /// A direct connection with nothing configured.
    pub fn direct() -> Self {
        ProxyRoute {
            proxy: None,
            source: None,
            secret: None,
        }
    }

    /// "via proxy host:port (from: config)" or "direct".
    pub fn describe(&self) -> String {
        match (&self.proxy, self.source) {
            (Some(p), Some(s)) => format!("via proxy {} (from: {s})", p.address()),
            (Some(p), None) => format!("via proxy {}", p.address()),
            (None, _) => "direct".into(),
        }
    }

    /// The user and secret to give the proxy (the secret may be missing: the proxy then
    /// answers 407 and the error says how to store it).
    pub fn credentials(&self) -> Option<(&str, Option<&str>)> {
        let user = self.proxy.as_ref()?.user.as_deref()?;
        Some((user, self.secret.as_deref()))
    }

    /// What to do when this proxy refuses: the sentence after "the proxy at host:port …".
    pub fn refusal(&self) -> String {
        let Some(p) = &self.proxy else {
            return "a proxy asked for credentials (HTTP 407), but none is configured".into();
        };
        match (&p.user, &self.secret) {
            (Some(u), Some(_)) => format!(
                "the proxy at {} refused the credentials of '{u}' (HTTP 407): store the right \
                 proxy password with 'deposit proxy login' or set {PASSWORD_ENV}",
                p.address()
            ),
            (Some(u), None) => format!(
                "the proxy at {} asks for credentials (HTTP 407) and no password is stored for \
                 '{u}': store it with 'deposit proxy login' or set {PASSWORD_ENV}",
                p.address()
            ),
            (None, _) => format!(
                "the proxy at {} asks for credentials (HTTP 407): write the user in the proxy \
                 URL ({}://USER@{}) and store its password with 'deposit proxy login' or set \
                 {PASSWORD_ENV}",
                p.address(),
                p.scheme,
                p.address()
            ),
        }
    }
}

impl Network {
    /// The settings from the configuration's `[network]` values and the environment.
    pub fn new(proxy: Option<String>, no_proxy: Option<String>, env: ProxyEnv) -> Self {
        Network {
            proxy,
            no_proxy,
            env,
            no_system: false,
        }
    }

    /// The proxy chosen for destinations of the scheme (`https` or not), before `no_proxy`.
    pub fn choice(&self, https: bool) -> Result<Choice, ProxyError> {
        let bad = |origin| move |detail| ProxyError::BadProxy { origin, detail };
        let env_no = self.env.no_proxy.clone().unwrap_or_default();
        if let Some(p) = self.proxy.as_deref().map(str::trim) {
            let no_proxy = self.no_proxy.clone().unwrap_or(env_no);
            if p.eq_ignore_ascii_case(NONE) {
                return Ok(Choice {
                    proxy: None,
                    source: Some(ProxySource::Config),
                    no_proxy,
                });
            }
            return Ok(Choice {
                proxy: Some(ProxyUrl::parse(p).map_err(bad(ProxySource::Config))?),
                source: Some(ProxySource::Config),
                no_proxy,
            });
        }
        let from_env = if https {
            &self.env.https_proxy
        } else {
            &self.env.http_proxy
        };
        let no_proxy = self.no_proxy.clone().unwrap_or(env_no);
        if let Some(p) = from_env {
            return Ok(Choice {
                proxy: Some(ProxyUrl::parse(p).map_err(bad(ProxySource::Environment))?),
                source: Some(ProxySource::Environment),
                no_proxy,
            });
        }
        if !self.no_system {
            let probe = if https {
                "https://deposit.invalid/"
            } else {
                "http://deposit.invalid/"
            };
            if let Some(p) = system_proxy(probe) {
                return Ok(Choice {
                    proxy: Some(ProxyUrl::parse(&p).map_err(bad(ProxySource::System))?),
                    source: Some(ProxySource::System),
                    no_proxy,
                });
            }
        }
        Ok(Choice {
            proxy: None,
            source: None,
            no_proxy,
        })
    }

    /// How to reach `host:port` over `https` or plain http: the chosen proxy unless a
    /// `no_proxy` rule names the host; with the proxy's secret when it has a user.
    pub fn route(&self, https: bool, host: &str, port: u16) -> Result<ProxyRoute, ProxyError> {
        let scheme = if https { "https" } else { "http" };
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let uri: Option<http::Uri> = format!("{scheme}://{authority}/").parse().ok();
        let choice = self.choice(https)?;
        let proxy = match (choice.source, choice.proxy) {
            (Some(ProxySource::System), Some(_)) => {
                // the OS's rules (its bypass list included) decide per destination
                match uri.as_ref().and_then(|u| system_proxy(&u.to_string())) {
                    Some(p) => {
                        Some(ProxyUrl::parse(&p).map_err(|detail| ProxyError::BadProxy {
                            origin: ProxySource::System,
                            detail,
                        })?)
                    }
                    None => None,
                }
            }
            (_, Some(p)) => {
                let bypass = uri.as_ref().is_some_and(|u| {
                    hyper_util::client::proxy::matcher::Matcher::builder()
                        .all(p.endpoint())
                        .no(choice.no_proxy.as_str())
                        .build()
                        .intercept(u)
                        .is_none()
                });
                (!bypass).then_some(p)
            }
            (_, None) => None,
        };
        let secret =
            match proxy
                .as_ref()
                .and_then(|p| p.user.as_deref().map(|u| (p, u)))
            {
                Some((p, user)) => self.env.password.clone().or_else(|| {
                    credentials::from_keyring(user, &keyring_host(&p.host), Some(p.port))
                }),
                None => None,
            };
        Ok(ProxyRoute {
            proxy,
            source: choice.source,
            secret,
        })
    }
}

/// The keyring "host" a proxy's secret is stored under (apart from a destination on the same
/// host): `proxy/HOST`.
fn keyring_host(host: &str) -> String {
    format!("proxy/{host}")
}

/// The keyring account of a proxy user (`user@proxy/host:port`).
pub fn keyring_account(proxy: &ProxyUrl, user: &str) -> String {
    credentials::account(user, &keyring_host(&proxy.host), Some(proxy.port))
}

/// A proxy password stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The keyring account (`user@proxy/host:port`).
    pub account: String,
    /// The proxy accepted the password (false: it could not be asked).
    pub checked: bool,
}

/// Checks the password of the proxy's user with the proxy (a refused one is not stored) and
/// stores it in the OS keyring (`deposit proxy login`, Settings → Network).
pub fn store_secret(proxy: &ProxyUrl, secret: &str) -> Result<Stored, StoreError> {
    let user = proxy.user.as_deref().ok_or_else(|| StoreError::NoUser {
        proxy: proxy.address(),
        scheme: proxy.scheme.clone(),
    })?;
    if secret.is_empty() {
        return Err(StoreError::Empty);
    }
    let route = ProxyRoute {
        proxy: Some(proxy.clone()),
        source: None,
        secret: Some(secret.to_string()),
    };
    let checked = match ask_proxy(&route, "GET", "http://deposit-proxy-check.invalid/") {
        Some(401 | 407) => {
            return Err(StoreError::Refused {
                proxy: proxy.address(),
                user: user.to_string(),
            })
        }
        Some(_) => true,
        None => false,
    };
    credentials::store(user, &keyring_host(&proxy.host), Some(proxy.port), secret)
        .map_err(StoreError::Keyring)?;
    Ok(Stored {
        account: keyring_account(proxy, user),
        checked,
    })
}

/// Removes the stored password of the proxy's user (nothing stored is fine).
pub fn forget_secret(proxy: &ProxyUrl) -> Result<(), StoreError> {
    match proxy.user.as_deref() {
        Some(user) => credentials::forget(user, &keyring_host(&proxy.host), Some(proxy.port))
            .map_err(StoreError::Keyring),
        None => Ok(()),
    }
}

/// True when a password for the proxy's user is in the OS keyring.
pub fn secret_stored(proxy: &ProxyUrl) -> bool {
    proxy.user.as_deref().is_some_and(|u| {
        credentials::from_keyring(u, &keyring_host(&proxy.host), Some(proxy.port)).is_some()
    })
}

/// Storing a proxy password failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The proxy URL names no user.
    #[error(
        "the proxy {proxy} names no user: write it in the proxy URL ({scheme}://USER@{proxy})"
    )]
    NoUser {
        /// `host:port`.
        proxy: String,
        /// Its scheme.
        scheme: String,
    },
    /// An empty password.
    #[error("an empty password was given")]
    Empty,
    /// The proxy refused the password (nothing stored).
    #[error("the proxy at {proxy} refused the password of '{user}' (nothing stored)")]
    Refused {
        /// `host:port`.
        proxy: String,
        /// The user.
        user: String,
    },
    /// The OS keyring failed.
    #[error(transparent)]
    Keyring(credentials::CredentialError),
}

impl Classify for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::NoUser { .. } | StoreError::Empty => "proxy.usage",
            StoreError::Refused { .. } => "proxy.refused",
            StoreError::Keyring(e) => e.code(),
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// The OS's proxy for `uri` (Windows registry, macOS SystemConfiguration), if any.
#[cfg(any(windows, target_os = "macos"))]
fn system_proxy(uri: &str) -> Option<String> {
    let uri: http::Uri = uri.parse().ok()?;
    // (hyper-util consults the environment first; the front door found it empty of a proxy
    // for this scheme, or the configuration or the environment would have been chosen)
    let m = hyper_util::client::proxy::matcher::Matcher::from_system();
    m.intercept(&uri).map(|i| i.uri().to_string())
}

/// The OS's proxy: on Linux and other Unixes the environment is the system setting, read by the
/// front door, so there is nothing more.
#[cfg(not(any(windows, target_os = "macos")))]
fn system_proxy(_uri: &str) -> Option<String> {
    None
}

/// Sets reqwest up for exactly `route`: its own reading of the environment and the OS is off,
/// and the proxy (with basic credentials) is added when there is one.
pub(crate) fn apply(
    b: reqwest::blocking::ClientBuilder,
    route: &ProxyRoute,
) -> Result<reqwest::blocking::ClientBuilder, String> {
    let b = b.no_proxy();
    let Some(p) = &route.proxy else {
        return Ok(b);
    };
    let mut proxy = reqwest::Proxy::all(p.endpoint())
        .map_err(|_| format!("the proxy {} cannot be used", p.address()))?;
    if let Some((user, Some(secret))) = route.credentials() {
        proxy = proxy.basic_auth(user, secret);
    }
    Ok(b.proxy(proxy))
}

/// What a proxy answers a request of its own, to tell who refused: the status line's code.
/// For a CONNECT, `target` is `host:port`; otherwise an absolute URL. Only plain-http proxies
/// are asked (an https proxy would need TLS here); `None` when the proxy cannot be asked.
fn ask_proxy(route: &ProxyRoute, method: &str, target: &str) -> Option<u16> {
    use base64::Engine;
    use std::io::{BufRead, BufReader, Write};
    use std::net::ToSocketAddrs;
    let p = route.proxy.as_ref().filter(|p| p.scheme == "http")?;
    let addr = (p.host.as_str(), p.port).to_socket_addrs().ok()?.next()?;
    let wait = std::time::Duration::from_secs(5);
    let mut sock = std::net::TcpStream::connect_timeout(&addr, wait).ok()?;
    sock.set_read_timeout(Some(wait)).ok()?;
    sock.set_write_timeout(Some(wait)).ok()?;
    let host = target
        .split("://")
        .nth(1)
        .unwrap_or(target)
        .split('/')
        .next()
        .unwrap_or(target);
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
    if let Some((user, Some(secret))) = route.credentials() {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
        head.push_str(&format!("Proxy-Authorization: Basic {basic}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    sock.write_all(head.as_bytes()).ok()?;
    let mut line = String::new();
    // a status line, not whatever a hostile proxy keeps sending
    BufReader::new(std::io::Read::take(sock, 8192))
        .read_line(&mut line)
        .ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A CONNECT the proxy answered with something else than 200 or 407 (reqwest says only
/// "unsuccessful"): asks the proxy again for the status and classifies it — `Some(true)`: the
/// proxy refused the credentials (401/407, some proxies answer 401); `Some(false)`: the proxy
/// refuses that connection for good (403, 405); `None`: a passing failure (or unknown).
pub(crate) fn connect_refusal(route: &ProxyRoute, host: &str, port: u16) -> Option<bool> {
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    match ask_proxy(route, "CONNECT", &target)? {
        401 | 407 => Some(true),
        403 | 405 => Some(false),
        _ => None,
    }
}

/// A 401 answered to a plain-http request sent through the proxy: true when it was the proxy
/// refusing its credentials (some proxies answer 401 instead of 407), told by asking the proxy
/// for a host that cannot exist: only the proxy itself can answer that with 401 or 407.
pub(crate) fn refused_by_proxy(route: &ProxyRoute) -> bool {
    matches!(
        ask_proxy(route, "GET", "http://deposit-proxy-check.invalid/"),
        Some(401 | 407)
    )
}

/// A failed request through the proxy, told apart (`e` as the transport classified it): a
/// CONNECT refused with 407 (reqwest's causes say "proxy authorization required") or with
/// another status ("unsuccessful": the proxy is asked again, 401 counting as refused credentials,
/// 403/405 as a port it never allows) is a permanent [`HttpError::ProxyRefused`]; a connection
/// that never reached the proxy (every TCP connection goes to it) is said so, still transient.
pub(crate) fn failure(
    e: HttpError,
    route: &ProxyRoute,
    target: Option<&(String, u16)>,
) -> HttpError {
    let (Some(p), HttpError::Connection { what, detail }) = (&route.proxy, &e) else {
        return e;
    };
    let refused = |detail| HttpError::ProxyRefused {
        what: what.clone(),
        detail,
    };
    if detail.contains("proxy authorization required") {
        return refused(route.refusal());
    }
    if detail.contains("tunnel error: unsuccessful") {
        return match target.and_then(|(host, port)| connect_refusal(route, host, *port)) {
            Some(true) => refused(route.refusal()),
            Some(false) => refused(format!(
                "the proxy at {} refuses connections to port {} (HTTP 403): ask its \
                 administrators to allow it",
                p.address(),
                target.map(|t| t.1).unwrap_or_default()
            )),
            None => e,
        };
    }
    if detail.contains("tcp connect error") || detail.contains("dns error") {
        return HttpError::Connection {
            what: what.clone(),
            detail: format!("the proxy at {} cannot be reached: {detail}", p.address()),
        };
    }
    e
}

/// An answer that is the proxy's own refusal: 407, or a 401 when credentials were given to the
/// proxy and it says (asked again) that it refuses them — some proxies answer 401.
pub(crate) fn refusal(status: u16, what: &str, route: &ProxyRoute) -> Option<HttpError> {
    let gave_credentials = matches!(route.credentials(), Some((_, Some(_))));
    let refused = status == 407 || (status == 401 && gave_credentials && refused_by_proxy(route));
    refused.then(|| HttpError::ProxyRefused {
        what: what.to_string(),
        detail: route.refusal(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::http::{Client, Method};
    use std::io::{BufRead, BufReader, Write};

    fn env(pairs: &[(&str, &str)]) -> ProxyEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyEnv::from_lookup(|n| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    }

    fn net(proxy: Option<&str>, no_proxy: Option<&str>, e: ProxyEnv) -> Network {
        Network {
            no_system: true,
            ..Network::new(proxy.map(Into::into), no_proxy.map(Into::into), e)
        }
    }

    #[test]
    fn parses_proxy_urls_and_refuses_passwords() {
        let p = ProxyUrl::parse("http://alice@proxy.example.org:3128/").expect("url");
        assert_eq!(
            (
                p.scheme.as_str(),
                p.user.as_deref(),
                p.host.as_str(),
                p.port
            ),
            ("http", Some("alice"), "proxy.example.org", 3128)
        );
        assert_eq!(p.to_string(), "http://alice@proxy.example.org:3128");
        assert_eq!(p.endpoint(), "http://proxy.example.org:3128");
        let bare = ProxyUrl::parse("10.0.0.1:8080").expect("bare");
        assert_eq!(bare.endpoint(), "http://10.0.0.1:8080");
        assert_eq!(
            ProxyUrl::parse("http://[::1]:3128").expect("v6").address(),
            "[::1]:3128"
        );
        assert_eq!(ProxyUrl::parse("https://p").expect("default").port, 443);
        let e = ProxyUrl::parse("http://alice:hunter2@p:3128").expect_err("password");
        assert!(!e.contains("hunter2") && e.contains("password"), "{e}");
        for bad in [
            "socks5://p:1080",
            "http://p:x",
            "http://p:3128/path",
            "http://:1",
        ] {
            assert!(ProxyUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_configuration_wins_over_the_environment() {
        let e = env(&[("HTTPS_PROXY", "http://envproxy:1"), ("NO_PROXY", "")]);
        let n = net(Some("http://cfg:3128"), None, e.clone());
        let r = n.route(true, "xnat.example.org", 443).expect("route");
        assert_eq!(r.describe(), "via proxy cfg:3128 (from: config)");
        let n = net(Some("none"), None, e.clone());
        let r = n.route(true, "xnat.example.org", 443).expect("route");
        assert_eq!(
            (r.describe().as_str(), r.source),
            ("direct", Some(ProxySource::Config))
        );
        let n = net(None, None, e);
        let r = n.route(true, "xnat.example.org", 443).expect("route");
        assert_eq!(r.describe(), "via proxy envproxy:1 (from: environment)");
        let r = n.route(false, "xnat.example.org", 80).expect("route");
        assert_eq!(r.describe(), "direct", "HTTPS_PROXY is for https only");
        let r = net(None, None, ProxyEnv::default())
            .route(true, "h", 1)
            .expect("route");
        assert_eq!((r.proxy, r.source), (None, None));
    }

    #[test]
    fn no_proxy_names_hosts_domains_and_networks() {
        let n = net(
            Some("http://cfg:3128"),
            Some("direct.example.org,.internal,10.0.0.0/8"),
            ProxyEnv::default(),
        );
        for direct in ["direct.example.org", "a.internal", "10.1.2.3"] {
            assert!(
                n.route(true, direct, 443).expect(direct).proxy.is_none(),
                "{direct}"
            );
        }
        for proxied in ["example.org", "11.0.0.1", "127.0.0.1", "localhost"] {
            assert!(
                n.route(true, proxied, 443).expect(proxied).proxy.is_some(),
                "{proxied}"
            );
        }
        let e = env(&[("https_proxy", "http://p:1"), ("no_proxy", "127.0.0.1")]);
        let n = net(None, None, e);
        assert!(n.route(true, "127.0.0.1", 8443).expect("r").proxy.is_none());
        // the configuration's list replaces the environment's
        let e = env(&[("NO_PROXY", "127.0.0.1")]);
        let n = net(Some("http://p:1"), Some(""), e);
        assert!(n.route(true, "127.0.0.1", 8443).expect("r").proxy.is_some());
    }

    #[test]
    fn a_bad_setting_names_its_source_not_its_password() {
        let e = env(&[("HTTPS_PROXY", "http://u:hunter2@p:1")]);
        let err = net(None, None, e)
            .route(true, "h", 1)
            .expect_err("password");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("environment"), "{err}");
        assert_eq!(err.class(), ErrorClass::Permanent);
        let dbg = format!("{:?}", env(&[("HTTPS_PROXY", "http://u:hunter2@p:1")]));
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }

    #[test]
    fn the_secret_comes_from_the_environment_and_is_never_shown() {
        let e = env(&[(PASSWORD_ENV, "hunter2")]);
        let r = net(Some("http://alice@p:3128"), None, e)
            .route(true, "h", 443)
            .expect("route");
        assert_eq!(r.credentials(), Some(("alice", Some("hunter2"))));
        assert!(!format!("{r:?}").contains("hunter2"));
        assert!(!r.refusal().contains("hunter2"));
        assert!(r.refusal().contains("p:3128") && r.refusal().contains("407"));
    }

    /// A proxy on loopback that answers every request (a CONNECT or an absolute-form GET)
    /// with `status`; returns its route (with a user and secret) and what it was asked.
    fn answering_proxy(status: &str) -> (ProxyRoute, std::sync::mpsc::Receiver<String>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let (tx, rx) = std::sync::mpsc::channel();
        let status = status.to_string();
        std::thread::spawn(move || {
            for sock in l.incoming().flatten() {
                let mut r = BufReader::new(sock.try_clone().expect("clone"));
                let mut line = String::new();
                let _ = r.read_line(&mut line);
                let _ = tx.send(line.trim().to_string());
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let mut w = sock;
                let _ = write!(w, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let net = Network {
            no_system: true,
            ..Network::new(
                Some(format!("http://carol@127.0.0.1:{port}")),
                Some(String::new()),
                ProxyEnv::from_lookup(|n| {
                    (n == "DEPOSIT_PROXY_PASSWORD").then(|| "hunter2".to_string())
                }),
            )
        };
        (net.route(true, "server.invalid", 443).expect("route"), rx)
    }

    #[test]
    fn a_proxy_asking_for_credentials_is_a_permanent_clear_refusal() {
        for (status, url) in [
            (
                "407 Proxy Authentication Required",
                "http://server.invalid/x",
            ),
            (
                "407 Proxy Authentication Required",
                "https://server.invalid/x",
            ),
            ("401 Unauthorized", "https://server.invalid/x"),
        ] {
            let (route, asked) = answering_proxy(status);
            let c = Client::builder().proxy(&route).build().expect("client");
            assert!(c.route().describe().starts_with("via proxy 127.0.0.1:"));
            let e = c
                .request(Method::Get, url)
                .send("probe")
                .expect_err("refused");
            assert!(
                matches!(e, HttpError::ProxyRefused { .. }),
                "{status} {url}: {e:?}"
            );
            assert_eq!(e.class(), ErrorClass::Permanent);
            let text = e.to_string();
            assert!(
                text.contains("407") && text.contains("deposit proxy login"),
                "{text}"
            );
            assert!(!text.contains("hunter2"), "{text}");
            let first = asked.recv().expect("asked");
            assert!(
                first.contains("server.invalid"),
                "through the proxy: {first}"
            );
        }
    }

    #[test]
    fn a_proxy_that_cannot_be_reached_is_transient() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        let net = Network {
            no_system: true,
            ..Network::new(
                Some(format!("http://127.0.0.1:{port}")),
                None,
                Default::default(),
            )
        };
        for (https, url) in [
            (true, "https://server.invalid/"),
            (false, "http://server.invalid/"),
        ] {
            let route = net.route(https, "server.invalid", 443).expect("route");
            let e = Client::builder()
                .proxy(&route)
                .build()
                .expect("client")
                .request(Method::Get, url)
                .send("probe")
                .expect_err("no proxy");
            assert_eq!(e.class(), ErrorClass::Transient, "{url}: {e}");
            assert!(
                e.to_string().contains("the proxy at 127.0.0.1:"),
                "{url}: {e}"
            );
        }
    }
}
