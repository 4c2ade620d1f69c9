//! CTP HTTP destination (`ctp+http(s)://[user@]host:port[/path]`): what a site's client CTP
//! (HttpExportService) sends to a central CTP's HttpImportService, so a site can replace its
//! client CTP while the central CTP stays (docs/protocols.md, "Central CTP").
//!
//! One POST per object, `Content-Type: application/x-mirc`, a `Digest` header with the MD5 of
//! the bytes (hex without leading zeros, as CTP prints it; the receiver recomputes it and
//! answers `404` on a mismatch so the sender retries), Basic credentials plus CTP's legacy
//! `RSNA: user:pass` header when a user is set. Success is only a response body of exactly `OK`.
//! Status mapping: `404` (CTP's "retry" answer), `409`, the shared transient statuses (`408`,
//! `425`, `429`, `5xx`), a `200` without `OK` and connection failures are transient; `401`/`403`
//! and other `4xx` are permanent.
//!
//! CTP has no commit and no listing: the receiver verifies every object's MD5 before it answers
//! `OK`, so a study whose pieces were all acknowledged is verified by that per-object check (the
//! audit record says so). TLS certificates are verified (unlike CTP's own client).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use super::http::{self, Client, Method};
use super::proxy::ProxyRoute;
use super::throttle::Throttle;
use super::{
    credentials, redact, Ack, Acks, ArchiveError, Destination, Item, Piece, Receipt, StudyLabels,
    Verification,
};

/// A parsed `ctp+http(s)://[user@]host:port[/path][?timeout=SECONDS]` destination (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtpUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// Host.
    pub host: String,
    /// Port (mandatory in CTP).
    pub port: u16,
    /// Path (may be empty).
    pub path: String,
    /// User, if given.
    pub user: Option<String>,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
    /// TLS trust (from the configured destination; not part of the URL).
    pub trust: super::tls::Trust,
}

impl CtpUrl {
    /// Parses a destination; `None` when it is not a CTP URL at all.
    pub fn parse(dest: &str) -> Option<Result<CtpUrl, ArchiveError>> {
        let (scheme, rest) = if let Some(r) = dest.strip_prefix("ctp+https://") {
            ("https", r)
        } else if let Some(r) = dest.strip_prefix("ctp+http://") {
            ("http", r)
        } else {
            return None;
        };
        Some(
            parse_rest(scheme, rest)
                .map_err(|why| ArchiveError::BadDestination(format!("{} ({why})", redact(dest)))),
        )
    }

    /// The URL objects are POSTed to.
    pub fn endpoint(&self) -> String {
        format!("{}://{}:{}{}", self.scheme, self.host, self.port, self.path)
    }

    /// The destination string again (user kept, no secret).
    pub fn describe(&self) -> String {
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let mut s = format!(
            "ctp+{}://{user}{}:{}{}",
            self.scheme, self.host, self.port, self.path
        );
        if let Some(t) = self.timeout {
            s.push_str(&format!("?timeout={}", t.as_secs()));
        }
        s
    }
}

fn parse_rest(scheme: &str, rest: &str) -> Result<CtpUrl, String> {
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match main.find('/') {
        Some(i) => (&main[..i], main[i..].trim_end_matches('/')),
        None => (main, ""),
    };
    let (user, hostport) =
        match authority.rsplit_once('@') {
            Some((u, _)) if u.contains(':') => return Err(
                "a secret in the URL is refused: use DEPOSIT_PASSWORD, ~/.netrc or 'deposit login'"
                    .into(),
            ),
            Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
            Some(_) => return Err("empty user name".into()),
            None => (None, authority),
        };
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or("the port is mandatory (host:port), as in CTP")?;
    let port: u16 = port.parse().map_err(|_| format!("bad port '{port}'"))?;
    if host.is_empty() {
        return Err("no host".into());
    }
    let mut timeout = None;
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        match kv.split_once('=') {
            Some(("timeout", v)) => {
                let secs: u64 = v.parse().map_err(|_| format!("bad timeout '{v}'"))?;
                timeout = Some(Duration::from_secs(secs.max(1)));
            }
            _ => return Err(format!("unknown parameter '{kv}'")),
        }
    }
    Ok(CtpUrl {
        scheme: scheme.into(),
        host: host.into(),
        port,
        path: path.into(),
        user,
        timeout,
        trust: Default::default(),
    })
}

/// The MD5 digest as CTP's `Digest` header carries it: lower-case hex without leading zeros
/// (`BigInteger(1, hash).toString(16)`).
pub fn ctp_digest(md5_hex: &str) -> String {
    let t = md5_hex.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.to_ascii_lowercase()
    }
}

/// A central CTP's HttpImportService.
pub struct CtpHttp {
    url: CtpUrl,
    client: Client,
    /// `Authorization` and `RSNA` header values when a user is set.
    auth: Option<(String, String)>,
    throttle: Mutex<Option<Arc<Throttle>>>,
}

impl std::fmt::Debug for CtpHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtpHttp")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl CtpHttp {
    /// Opens a destination, reading credentials when a user is named (URL or `~/.netrc`).
    /// Reached as `route` says (directly or through a proxy).
    pub fn open(url: CtpUrl, route: &ProxyRoute) -> Result<Self, ArchiveError> {
        let creds = match credentials::user(url.user.as_deref(), &url.host) {
            Some(u) => Some(credentials::resolve(
                Some(&u),
                &url.host,
                Some(url.port),
                &url.describe(),
            )?),
            None => None,
        };
        Self::with_credentials(url, creds.map(|c| (c.user, c.secret)), route)
    }

    /// A destination with explicit credentials (or none).
    pub fn with_credentials(
        url: CtpUrl,
        creds: Option<(String, String)>,
        route: &ProxyRoute,
    ) -> Result<Self, ArchiveError> {
        // CTP answers one request per connection and closes it without saying so
        // (`Connection: close` is not sent): a pooled connection would be found dead only
        // after the next object went out on it
        let client = Client::builder()
            .timeout(url.timeout.unwrap_or(http::DEFAULT_TIMEOUT))
            .one_request_per_connection()
            .trust(&url.trust)
            .proxy(route)
            .build()
            .map_err(|e| e.into_archive(url.describe()))?;
        let auth = creds.map(|(u, s)| {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{s}"));
            (format!("Basic {basic}"), format!("{u}:{s}"))
        });
        Ok(CtpHttp {
            url,
            client,
            auth,
            throttle: Mutex::new(None),
        })
    }

    fn unreachable(&self, detail: String) -> ArchiveError {
        ArchiveError::Unreachable {
            destination: self.describe(),
            detail,
        }
    }

    fn rejected(&self, detail: String) -> ArchiveError {
        ArchiveError::Rejected {
            destination: self.describe(),
            detail,
        }
    }

    /// Posts one object; `Ok` only when the receiver answered `OK`.
    fn post(&self, item: &Item) -> Result<(), ArchiveError> {
        let bytes = std::fs::read(&item.path).map_err(|source| ArchiveError::ReadOutbox {
            path: item.path.clone(),
            source,
        })?;
        // the Digest is the manifest's MD5: the receiver checks the bytes against it before it
        // answers OK, so a changed outbox file is never stored (it answers 404; see below)
        let md5 = item.md5.clone();
        let throttle = self
            .throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut req = self
            .client
            .request(Method::Post, &self.url.endpoint())
            .header("Content-Type", "application/x-mirc")
            .header("Digest", &ctp_digest(&md5));
        if let Some((basic, rsna)) = &self.auth {
            req = req.header("Authorization", basic).header("RSNA", rsna);
        }
        let what = "object upload";
        let reply = req
            .metered_body(bytes, throttle)
            .body_limit(64 * 1024)
            .send(what)
            .map_err(|e| e.into_archive(self.describe()))?;
        let status = reply.status;
        let said = reply.body.trim();
        match status {
            200 if said == "OK" => Ok(()),
            200 => Err(self.unreachable(format!(
                "{what}: the receiver answered without OK ({}); will retry",
                said.chars().take(80).collect::<String>()
            ))),
            404 => {
                // a digest mismatch: damaged in transit (retry), or the outbox file is not what
                // was queued (never send it)
                let now = std::fs::read(&item.path).map(|b| super::md5_hex(&b));
                if now.as_deref().ok() != Some(item.md5.as_str()) {
                    return Err(ArchiveError::ReadOutbox {
                        path: item.path.clone(),
                        source: std::io::Error::other(
                            "the outbox file changed since it was queued",
                        ),
                    });
                }
                Err(self.unreachable(format!(
                    "{what}: the receiver asked for a retry (HTTP 404: digest mismatch or not accepted now)"
                )))
            }
            401 | 403 => Err(self.rejected(format!(
                "{what}: credentials refused (HTTP {status}); check the user and secret (DEPOSIT_PASSWORD, ~/.netrc or 'deposit login') and the user's import role"
            ))),
            s if s == 409 || http::transient_status(s) => {
                Err(self.unreachable(format!("{what}: HTTP {s}")))
            }
            s => Err(self.rejected(format!("{what}: HTTP {s}"))),
        }
    }
}

impl Destination for CtpHttp {
    fn describe(&self) -> String {
        self.url.describe()
    }

    fn check(&self) -> Result<(), ArchiveError> {
        // HttpImportService answers only POSTs of objects; any HTTP answer proves it is there,
        // and 401 proves the credentials are wrong
        let mut req = self.client.request(Method::Get, &self.url.endpoint());
        if let Some((basic, rsna)) = &self.auth {
            req = req.header("Authorization", basic).header("RSNA", rsna);
        }
        let reply = req
            .send("probe")
            .map_err(|e| e.into_archive(self.describe()))?;
        match reply.status {
            401 | 403 => Err(self.rejected(format!(
                "credentials refused (HTTP {}); check the user and secret",
                reply.status
            ))),
            _ => Ok(()),
        }
    }

    fn identity(&self) -> String {
        // the user and the timeout do not change which archive stores the objects
        format!("ctp+{}", self.url.endpoint())
    }

    fn listable(&self) -> bool {
        false
    }

    fn deliver(&self, piece: &Piece, acks: &dyn Acks) -> Result<Receipt, ArchiveError> {
        for item in &piece.items {
            self.post(item)?;
            acks.ack(item, Ack::Stored)?;
        }
        Ok(Receipt {
            stored: piece.items.len() as u64,
            already_present: 0,
        })
    }

    fn commit(&self, _labels: &StudyLabels) -> Result<String, ArchiveError> {
        Ok(self.describe())
    }

    fn verify(&self, _labels: &StudyLabels, items: &[Item]) -> Result<Verification, ArchiveError> {
        // every acknowledged object was answered `OK` after the receiver checked its MD5
        Ok(Verification {
            expected: items.len() as u64,
            matched: items.len() as u64,
            problems: Vec::new(),
            uri: self.describe(),
        })
    }

    fn limit_rate(&self, throttle: &Arc<Throttle>) -> bool {
        *self.throttle.lock().unwrap_or_else(|p| p.into_inner()) = Some(throttle.clone());
        true
    }

    fn verification_method(&self) -> &'static str {
        "per-object MD5 Digest checked by the receiver before it answered OK (CTP has no listing)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> CtpUrl {
        CtpUrl::parse(s).expect("ctp url").expect("valid")
    }

    #[test]
    fn parses_and_describes() {
        let u = ok("ctp+https://site1@central.example.org:1443/import?timeout=9");
        assert_eq!(u.endpoint(), "https://central.example.org:1443/import");
        assert_eq!(u.user.as_deref(), Some("site1"));
        assert_eq!(ok(&u.describe()), u);
        assert_eq!(
            ok("ctp+http://10.0.0.5:7777").endpoint(),
            "http://10.0.0.5:7777"
        );
        assert!(CtpUrl::parse("xnat+http://h?project=P").is_none());
        for bad in [
            "ctp+http://host",
            "ctp+http://:80",
            "ctp+http://h:x",
            "ctp+http://h:1?x=1",
        ] {
            assert!(CtpUrl::parse(bad).expect("ctp").is_err(), "{bad}");
        }
        let e = CtpUrl::parse("ctp+http://u:hunter2@h:1")
            .expect("ctp")
            .expect_err("secret");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn digest_drops_leading_zeros_like_ctp() {
        assert_eq!(ctp_digest("00a1b2"), "a1b2");
        assert_eq!(ctp_digest("ABC"), "abc");
        assert_eq!(ctp_digest("0000"), "0");
    }
}
