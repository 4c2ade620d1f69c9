//! HTTPS for the test servers: a TLS front (rustls, server side) on its own loopback port that
//! passes each connection's bytes to a plain server (the XNAT or CTP stand-in) and closes when
//! that server closes; and a test PKI made at run time (a CA, a server certificate it signs for
//! `localhost` and 127.0.0.1, and a self-signed server certificate). No key is ever stored in
//! the repository.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::Listening;

/// A TLS front to a plain server on loopback.
pub struct TlsFront {
    listening: Listening,
}

impl TlsFront {
    /// Serves TLS with `cert_pem` (the chain, leaf first) and `key_pem` on an ephemeral loopback
    /// port, passing the connections to `127.0.0.1:backend_port`.
    pub fn start(backend_port: u16, cert_pem: &str, key_pem: &str) -> std::io::Result<TlsFront> {
        Self::start_on(0, backend_port, cert_pem, key_pem)
    }

    /// [`Self::start`] on a given port (0 = ephemeral).
    pub fn start_on(
        port: u16,
        backend_port: u16,
        cert_pem: &str,
        key_pem: &str,
    ) -> std::io::Result<TlsFront> {
        let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| bad(format!("key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| bad(e.to_string()))?;
        let config = Arc::new(config);
        let listening = Listening::start(
            port,
            Arc::new(move |stream| {
                let _ = relay(stream, config.clone(), backend_port);
            }),
        )?;
        Ok(TlsFront { listening })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.listening.addr.port()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.listening.stop();
    }
}

fn waiting(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Passes one connection's bytes both ways until the backend closes (or the client goes).
fn relay(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    backend_port: u16,
) -> std::io::Result<()> {
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // the handshake first: a client that refuses the certificate never reaches the backend
    tls.sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    let mut backend = TcpStream::connect(("127.0.0.1", backend_port))?;
    let tick = Some(Duration::from_millis(2));
    tls.sock.set_read_timeout(tick)?;
    backend.set_read_timeout(tick)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut client_open = true;
    loop {
        if client_open {
            match tls.read(&mut buf) {
                Ok(0) => {
                    client_open = false;
                    let _ = backend.shutdown(std::net::Shutdown::Write);
                }
                Ok(n) => backend.write_all(&buf[..n])?,
                Err(e) if waiting(&e) => {}
                Err(_) => break,
            }
        }
        match backend.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                tls.write_all(&buf[..n])?;
                tls.flush()?;
            }
            Err(e) if waiting(&e) => {}
            Err(_) => break,
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(())
}

/// Certificates and keys made at run time, in PEM.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The test CA's certificate.
    pub ca_cert: String,
    /// A server certificate for `localhost` and 127.0.0.1, signed by the CA.
    pub server_cert: String,
    /// Its key.
    pub server_key: String,
    /// A self-signed server certificate (no host names).
    pub self_signed_cert: String,
    /// Its key.
    pub self_signed_key: String,
}

impl TestPki {
    /// A new CA and certificates (random keys).
    pub fn new() -> Result<TestPki, rcgen::Error> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Deposit test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);
        let server_key = KeyPair::generate()?;
        let mut server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?;
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &issuer)?;
        let own_key = KeyPair::generate()?;
        let mut own = CertificateParams::new(Vec::<String>::new())?;
        own.distinguished_name
            .push(DnType::CommonName, "central-ctp (self-signed)");
        let own_cert = own.self_signed(&own_key)?;
        Ok(TestPki {
            ca_cert: ca_cert.pem(),
            server_cert: server_cert.pem(),
            server_key: server_key.serialize_pem(),
            self_signed_cert: own_cert.pem(),
            self_signed_key: own_key.serialize_pem(),
        })
    }
}
