//! Whose TLS certificates a destination trusts ([`Trust`]): the platform verifier (the OS trust
//! store; on Linux also what `SSL_CERT_FILE` / `SSL_CERT_DIR` name), plus a destination's `ca`
//! file of extra roots, or exactly one pinned server certificate (`pin_sha256`); the refusal of
//! plain HTTP beyond this computer; the fingerprint a server presents; and what to do when a
//! certificate is refused.
//!
//! On Linux the platform verifier reads the system store, or only what `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` name when either is set. OpenSSL keeps its default bundle beside a variable
//! that replaces only the file or only the directory, so when exactly one of them is set the
//! system bundle is added as extra roots: Deposit then trusts what `curl` and `openssl` trust.
//!
//! A pin trusts exactly one certificate, by the SHA-256 of its DER: the handshake signature is
//! still checked against its key, its issuer, dates and host name are not (a self-signed central
//! CTP's certificate often names no host, or another one).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::http::{Client, HttpError, Method};
use super::ArchiveError;

/// A destination's TLS trust and transport options (from its `[destinations.NAME]` table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// The `[destinations]` name these options came from (named in advice), if any.
    pub name: Option<String>,
    /// A PEM file of extra trusted roots (absolute).
    pub ca: Option<PathBuf>,
    /// Trust exactly the server certificate whose DER has this SHA-256.
    pub pin_sha256: Option<[u8; 32]>,
    /// Plain HTTP to a host other than this computer is allowed.
    pub allow_plain_http: bool,
}

/// The trust options could not be put in place.
#[derive(Debug, Error)]
pub enum TrustError {
    /// The `ca` file could not be read or holds no certificate.
    #[error("the CA file {path} (`ca` of the destination): {detail}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The verifier could not be built (no usable trust store).
    #[error("cannot set up certificate verification: {0}")]
    Verifier(String),
}

impl Trust {
    /// The trust options of a `[destinations.NAME]` table.
    pub fn from_config(name: &str, d: &crate::config::Destination) -> Trust {
        Trust {
            name: Some(name.to_string()),
            ca: d.ca.clone(),
            pin_sha256: d.pin_sha256,
            allow_plain_http: d.allow_plain_http,
        }
    }

    /// The options as a `[destinations.NAME]` table with `url` (the inverse of
    /// [`Self::from_config`]); `None` for options that came from no named destination.
    pub fn to_config(&self, url: &str) -> Option<(String, crate::config::Destination)> {
        let name = self.name.clone()?;
        Some((
            name,
            crate::config::Destination {
                url: url.to_string(),
                ca: self.ca.clone(),
                pin_sha256: self.pin_sha256,
                allow_plain_http: self.allow_plain_http,
            },
        ))
    }

    /// Which trust path is used, in words: `system trust store`, `system trust store + ca file
    /// X`, `pinned certificate (SHA-256 …)`.
    pub fn describe(&self) -> String {
        if let Some(pin) = &self.pin_sha256 {
            return format!("pinned certificate (SHA-256 {})", format_sha256(pin));
        }
        let mut s = String::from("system trust store");
        for (var, value) in ssl_cert_env() {
            s.push_str(&format!(" + {var}={value}"));
        }
        if let Some(ca) = &self.ca {
            s.push_str(&format!(" + ca file {}", ca.display()));
        }
        s
    }

    /// Refuses plain HTTP to a host other than this computer unless `allow_plain_http` is set.
    pub fn check_plain_http(
        &self,
        scheme: &str,
        host: &str,
        destination: &str,
    ) -> Result<(), ArchiveError> {
        if scheme != "http" || self.allow_plain_http || is_loopback(host) {
            return Ok(());
        }
        Err(ArchiveError::PlainHttp {
            destination: destination.to_string(),
            name: self.name.clone().unwrap_or_else(|| "NAME".into()),
        })
    }

    /// The rustls client configuration for this trust.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, TrustError> {
        config_with(self.verifier()?)
    }

    fn verifier(&self) -> Result<Arc<dyn ServerCertVerifier>, TrustError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        if let Some(pin) = self.pin_sha256 {
            return Ok(Arc::new(Pinned {
                sha256: pin,
                algs: provider.signature_verification_algorithms,
            }));
        }
        let mut extra = env_extra_roots();
        if let Some(ca) = &self.ca {
            extra.extend(pem_certs(ca)?);
        }
        let v = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
            .map_err(|e| TrustError::Verifier(e.to_string()))?;
        Ok(Arc::new(v))
    }
}

fn config_with(v: Arc<dyn ServerCertVerifier>) -> Result<rustls::ClientConfig, TrustError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TrustError::Verifier(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(v)
        .with_no_client_auth())
}

/// True for this computer: `localhost`, 127.0.0.0/8 and `::1` (bracketed or not).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A SHA-256 as `AB:CD:…` (the form browsers and `openssl x509 -fingerprint` show).
pub fn format_sha256(d: &[u8; 32]) -> String {
    d.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SHA-256 of a certificate's DER.
pub fn cert_sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The certificates of a PEM file (other blocks are skipped); none is an error.
fn pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let bad = |detail: String| TrustError::CaFile {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM file: {e}")))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// `SSL_CERT_FILE` / `SSL_CERT_DIR` as set (Linux and other Unix but macOS: what the verifier
/// reads).
fn ssl_cert_env() -> Vec<(&'static str, String)> {
    if !cfg!(all(
        unix,
        not(target_os = "android"),
        not(target_vendor = "apple")
    )) {
        return Vec::new();
    }
    ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .into_iter()
        .filter_map(|v| {
            std::env::var_os(v)
                .filter(|x| !x.is_empty())
                .map(|x| (v, x.to_string_lossy().into_owned()))
        })
        .collect()
}

/// The system's CA bundle files, by distribution (the first present is read).
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
];

/// Roots to add to what the platform verifier reads: the system bundle when exactly one of
/// `SSL_CERT_FILE` / `SSL_CERT_DIR` is set (as OpenSSL keeps its default for the other).
fn env_extra_roots() -> Vec<CertificateDer<'static>> {
    let env = ssl_cert_env();
    if let Some((_, file)) = env.iter().find(|(v, _)| *v == "SSL_CERT_FILE") {
        if pem_certs(Path::new(file)).is_err() {
            tracing::warn!(
                file = %file,
                "SSL_CERT_FILE names no readable PEM certificate file; it adds no trusted root"
            );
        }
    }
    if env.len() != 1 {
        return Vec::new();
    }
    SYSTEM_BUNDLES
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .and_then(|p| pem_certs(p).ok())
        .unwrap_or_default()
}

/// Trusts exactly one certificate (by SHA-256), checking the handshake signature with its key.
#[derive(Debug)]
struct Pinned {
    sha256: [u8; 32],
    algs: WebPkiSupportedAlgorithms,
}

/// The server presented another certificate than the pinned one.
#[derive(Debug, Error)]
#[error("the server's certificate (SHA-256 {presented}) is not the pinned one")]
pub struct PinMismatch {
    /// The presented certificate's fingerprint (`AB:CD:…`).
    pub presented: String,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = cert_sha256(end_entity);
        if got == self.sha256 {
            return Ok(ServerCertVerified::assertion());
        }
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(PinMismatch {
                presented: format_sha256(&got),
            })),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// What a certificate refusal means and what to do, for a destination with `trust`.
pub fn explain(e: &rustls::Error, trust: &Trust) -> String {
    let name = trust.name.as_deref().unwrap_or("NAME");
    let pin = format!("`deposit destination pin {name}`");
    let table = match &trust.name {
        Some(n) => format!("for this destination ([destinations.{n}]) in deposit.toml"),
        None => "for this destination in deposit.toml (give it a name: [destinations.NAME] \
                 with its url)"
            .to_string(),
    };
    let rustls::Error::InvalidCertificate(c) = e else {
        return format!("the TLS connection was refused: {e}");
    };
    match c {
        CertificateError::Other(o) if o.0.downcast_ref::<PinMismatch>().is_some() => format!(
            "{o} (`pin_sha256` {table}). If the archive's administrator confirms that the \
             server's certificate was replaced, pin the new one: {pin}"
        ),
        // a self-signed certificate made as a CA (a common keytool/openssl recipe): webpki
        // refuses a CA certificate as the server's own, whoever trusts it
        CertificateError::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => format!(
            "the server's certificate is not trusted (a CA certificate used as the server's own, \
             as self-signed certificates often are). Pin it for this destination: {pin} \
             (`pin_sha256` {table}), or have the server use a certificate its CA issued"
        ),
        CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
            "the server's certificate is not trusted (issuer unknown). If this server uses an \
             internal CA, set `ca = \"…pem\"` {table} (or add the CA to the system's trust \
             store); for a self-signed server, pin its certificate: {pin}"
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "the server's certificate is not valid for this host name ({e}): use the host \
                 name the certificate names in the destination URL, or pin the certificate: \
                 {pin}"
            )
        }
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => format!(
            "the server's certificate is out of its validity period ({e}): check this \
             computer's clock, else the archive's administrator must renew it"
        ),
        _ => format!(
            "the server's certificate was refused ({e}). If this server uses an internal CA, \
             set `ca = \"…pem\"` {table}; for a self-signed server, pin its certificate: {pin}"
        ),
    }
}

/// The certificate a server presented, and whether the destination's trust accepts it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Presented {
    /// SHA-256 of the server's (leaf) certificate, `AB:CD:…`.
    pub sha256: String,
    /// The destination's trust accepts it.
    pub trusted: bool,
    /// Why not, with what to do.
    pub problem: Option<String>,
    /// The trust path the check used ([`Trust::describe`]).
    pub trust: String,
}

/// A leaf certificate (DER) and what the destination's verifier said of it.
type Verdict = (Vec<u8>, Result<(), rustls::Error>);

/// Records the leaf certificate a server presents and what the real verifier said of it.
#[derive(Debug)]
struct Capture {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Mutex<Option<Verdict>>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let r = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some((
            end_entity.to_vec(),
            r.as_ref().map(|_| ()).map_err(Clone::clone),
        ));
        r
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Connects to `url` (an `https://` URL of the destination) and returns the certificate the
/// server presents, whatever its trust, and whether `trust` accepts it. An untrusted server is
/// never sent a request: the handshake stops at its certificate.
pub fn presented(
    url: &str,
    trust: &Trust,
    route: &super::proxy::ProxyRoute,
) -> Result<Presented, HttpError> {
    let capture = Arc::new(Capture {
        inner: trust.verifier().map_err(|e| HttpError::Client {
            detail: e.to_string(),
        })?,
        seen: Mutex::new(None),
    });
    let config = config_with(capture.clone()).map_err(|e| HttpError::Client {
        detail: e.to_string(),
    })?;
    let client: Client = Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(20))
        .trust(trust)
        .tls_config(config)
        .proxy(route)
        .build()?;
    let answer = client.request(Method::Get, url).send("certificate check");
    let seen = capture
        .seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    match seen {
        Some((der, verdict)) => Ok(Presented {
            sha256: format_sha256(&cert_sha256(&der)),
            trusted: verdict.is_ok(),
            problem: verdict.err().map(|e| explain(&e, trust)),
            trust: trust.describe(),
        }),
        None => Err(answer.err().unwrap_or_else(|| HttpError::Request {
            what: "certificate check".into(),
            detail: "the destination does not use TLS (https)".into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.5",
            "example.org",
            "localhost.example.org",
            "[::2]",
            "",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn plain_http_beyond_this_computer_needs_the_option() {
        let t = Trust {
            name: Some("central".into()),
            ..Trust::default()
        };
        let e = t
            .check_plain_http("http", "10.0.0.5", "ctp+http://10.0.0.5:1080")
            .expect_err("refused");
        let text = e.to_string();
        assert!(text.contains("allow_plain_http = true"), "{text}");
        assert!(text.contains("[destinations.central]"), "{text}");
        assert_eq!(crate::error::Classify::code(&e), "archive.plain_http");
        assert_eq!(
            crate::error::Classify::class(&e),
            crate::error::ErrorClass::Permanent
        );
        t.check_plain_http("https", "10.0.0.5", "x").expect("https");
        t.check_plain_http("http", "127.0.0.1", "x")
            .expect("loopback");
        let allowed = Trust {
            allow_plain_http: true,
            ..t
        };
        allowed
            .check_plain_http("http", "10.0.0.5", "x")
            .expect("allowed");
    }

    #[test]
    fn describes_the_trust_path() {
        let t = Trust {
            ca: Some("/etc/deposit/ca.pem".into()),
            ..Trust::default()
        };
        assert!(
            t.describe().starts_with("system trust store")
                && t.describe().ends_with(" + ca file /etc/deposit/ca.pem"),
            "{}",
            t.describe()
        );
        let p = Trust {
            pin_sha256: Some([0xab; 32]),
            ..t
        };
        assert_eq!(
            p.describe(),
            format!("pinned certificate (SHA-256 {})", ["AB"; 32].join(":"))
        );
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").expect("write");
        for ca in [dir.path().join("missing.pem"), empty] {
            let t = Trust {
                ca: Some(ca.clone()),
                ..Trust::default()
            };
            let e = t.client_config().expect_err("no roots");
            assert!(e.to_string().contains(&ca.display().to_string()), "{e}");
        }
    }

    /// A plain HTTP server answering every request `200 OK` (one per connection).
    fn ok_server() -> u16 {
        use std::io::{BufRead, BufReader, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                let mut r = BufReader::new(s.try_clone().expect("clone"));
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK");
            }
        });
        port
    }

    fn get(port: u16, trust: &Trust) -> Result<u16, HttpError> {
        Client::builder()
            .trust(trust)
            .build()
            .expect("client")
            .request(Method::Get, &format!("https://127.0.0.1:{port}/"))
            .send("probe")
            .map(|r| r.status)
    }

    #[test]
    fn a_ca_file_or_a_pin_is_trusted_and_nothing_else() {
        let pki = deposit_xnat_server::TestPki::new().expect("pki");
        let backend = ok_server();
        let by_ca =
            deposit_xnat_server::TlsFront::start(backend, &pki.server_cert, &pki.server_key)
                .expect("front");
        let own = deposit_xnat_server::TlsFront::start(
            backend,
            &pki.self_signed_cert,
            &pki.self_signed_key,
        )
        .expect("front");
        let dir = tempfile::tempdir().expect("dir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &pki.ca_cert).expect("ca");
        let named = Trust {
            name: Some("central".into()),
            ..Trust::default()
        };

        // unknown issuer: refused for good, with what to do
        let e = get(by_ca.port(), &named).expect_err("unknown CA");
        assert!(matches!(e, HttpError::TlsRefused { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("issuer unknown") && text.contains("ca = "),
            "{text}"
        );
        assert!(text.contains("deposit destination pin central"), "{text}");

        // the CA as the destination's `ca`
        let with_ca = Trust {
            ca: Some(ca.clone()),
            ..named.clone()
        };
        assert_eq!(get(by_ca.port(), &with_ca).expect("trusted by ca"), 200);
        // … which does not make a self-signed server trusted
        let e = get(own.port(), &with_ca).expect_err("self-signed");
        assert!(matches!(e, HttpError::TlsRefused { .. }), "{e:?}");

        // the self-signed server's certificate, as presented, then pinned
        let seen = presented(
            &format!("https://127.0.0.1:{}/", own.port()),
            &named,
            &super::super::proxy::ProxyRoute::direct(),
        )
        .expect("presented");
        let der = CertificateDer::from_pem_slice(pki.self_signed_cert.as_bytes()).expect("der");
        assert_eq!(seen.sha256, format_sha256(&cert_sha256(&der)));
        assert!(!seen.trusted);
        assert!(seen
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("issuer unknown")));
        let pinned = Trust {
            pin_sha256: crate::config::parse_sha256(&seen.sha256),
            ..named.clone()
        };
        assert_eq!(get(own.port(), &pinned).expect("pinned"), 200);
        let again = presented(
            &format!("https://127.0.0.1:{}/", own.port()),
            &pinned,
            &super::super::proxy::ProxyRoute::direct(),
        )
        .expect("presented");
        assert!(again.trusted && again.problem.is_none(), "{again:?}");
        assert!(again.trust.starts_with("pinned certificate"), "{again:?}");

        // a pin trusts exactly one certificate: not the CA-signed server's
        let e = get(by_ca.port(), &pinned).expect_err("other certificate");
        let text = e.to_string();
        assert!(text.contains("not the pinned one"), "{text}");
        assert_eq!(
            crate::error::Classify::class(&e),
            crate::error::ErrorClass::Permanent
        );

        // plain HTTP has no certificate to show
        let e = presented(
            &format!("http://127.0.0.1:{backend}/"),
            &named,
            &super::super::proxy::ProxyRoute::direct(),
        )
        .expect_err("plain");
        assert!(e.to_string().contains("does not use TLS"), "{e}");
    }

    #[test]
    fn advice_says_what_to_do() {
        let t = Trust {
            name: Some("central".into()),
            ..Trust::default()
        };
        let unknown = explain(
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            &t,
        );
        assert!(unknown.contains("issuer unknown"), "{unknown}");
        assert!(unknown.contains("ca = "), "{unknown}");
        assert!(
            unknown.contains("deposit destination pin central"),
            "{unknown}"
        );
        let mismatch = explain(
            &rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                Arc::new(PinMismatch {
                    presented: "AA:BB".into(),
                }),
            ))),
            &t,
        );
        assert!(mismatch.contains("not the pinned one"), "{mismatch}");
        assert!(mismatch.contains("AA:BB"), "{mismatch}");
        let anonymous = explain(
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            &Trust::default(),
        );
        assert!(anonymous.contains("[destinations.NAME]"), "{anonymous}");
    }
}
