//! HTTPS delivery through the real `deposit` binary to the CTP and XNAT stand-ins behind a TLS
//! front (tests/xnat_server, src/tls.rs), with certificates made at test time: trusted through a
//! destination's `ca` file (named, or by the same URL), `SSL_CERT_FILE` / `SSL_CERT_DIR`, the
//! machine's trust store (a test CA added with `update-ca-certificates`, as root), and a pinned
//! self-signed certificate (pinned with `deposit destination pin`); an unknown CA fails within
//! seconds, permanently, with what to do, and `queue retry` delivers once the `ca` is set.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use deposit_xnat_server::{CtpConfig, CtpReceiver, TestPki, TlsFront};
use serde_json::Value;

/// The CTP stand-in (no authentication) behind a TLS front with `cert`/`key`.
struct Site {
    receiver: CtpReceiver,
    front: TlsFront,
}

impl Site {
    fn start(root: &Path, cert: &str, key: &str) -> Site {
        let receiver = CtpReceiver::start(root, CtpConfig::default()).expect("receiver");
        let front = TlsFront::start(receiver.port(), cert, key).expect("tls front");
        Site { receiver, front }
    }

    fn url(&self) -> String {
        format!("ctp+https://127.0.0.1:{}", self.front.port())
    }
}

fn corpus(dir: &Path) -> PathBuf {
    let d = dir.join("incoming");
    let cfg = deposit_synth::Config {
        patients: 1,
        ct_slices: 3,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    deposit_synth::generate(&d, &cfg).expect("corpus");
    d
}

struct Out {
    code: i32,
    json: Value,
    all: String,
    took: Duration,
}

/// Runs `deposit ARGS` with its data home in `home`, nothing from the machine's configuration
/// or `SSL_CERT_*` unless given in `env`.
fn deposit(home: &Path, args: &[&str], env: &[(&str, &Path)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deposit"));
    cmd.args(args)
        .env("DEPOSIT_HOME", home)
        .env("DEPOSIT_CONFIG", home.join("no-config.toml"))
        .env("HOME", home)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env_remove("NETRC")
        .env_remove("DEPOSIT_PASSWORD")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd.output().expect("run deposit");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    Out {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(stdout.trim()).unwrap_or(Value::Null),
        all: format!("{stdout}\n{stderr}"),
        took: start.elapsed(),
    }
}

fn send(home: &Path, dir: &Path, to: &str, config: Option<&Path>, env: &[(&str, &Path)]) -> Out {
    let dir = dir.display().to_string();
    let cfg = config.map(|c| c.display().to_string());
    let mut args = vec!["send", dir.as_str(), "--to", to, "--json"];
    if let Some(c) = &cfg {
        args.extend(["--config", c.as_str()]);
    }
    deposit(home, &args, env)
}

/// Delivered: exit 0, every object sent and stored once.
fn assert_delivered(out: &Out, site: &Site, what: &str) {
    assert_eq!(out.code, 0, "{what}: {}", out.all);
    let sent = out.json["sent"].as_u64().unwrap_or(0);
    assert!(sent >= 3, "{what}: {}", out.json);
    assert_eq!(out.json["failed"].as_u64(), Some(0), "{what}: {}", out.json);
    assert_eq!(
        site.receiver.files().len() as u64,
        sent,
        "{what}: stored once each"
    );
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).expect("write");
    path.to_path_buf()
}

#[test]
fn https_through_a_ca_file_named_or_by_url_and_through_ssl_cert_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let pki = TestPki::new().expect("pki");
    let dir = corpus(t);
    std::fs::create_dir_all(t.join("conf")).expect("conf");
    let ca = write(&t.join("conf/site-ca.pem"), &pki.ca_cert);

    // `ca` of a named destination, relative to the configuration file
    let a = Site::start(&t.join("central-a"), &pki.server_cert, &pki.server_key);
    let cfg = write(
        &t.join("conf/deposit.toml"),
        &format!(
            "[destinations.central]\nurl = \"{}\"\nca = \"site-ca.pem\"\n",
            a.url()
        ),
    );
    let out = send(&t.join("home-a"), &dir, "central", Some(&cfg), &[]);
    assert_delivered(&out, &a, "ca, by name");

    // the same destination given by its URL: its `ca` still applies
    let b = Site::start(&t.join("central-b"), &pki.server_cert, &pki.server_key);
    let cfg_b = write(
        &t.join("conf/by-url.toml"),
        &format!(
            "[destinations.central]\nurl = \"{}\"\nca = \"site-ca.pem\"\n",
            b.url()
        ),
    );
    let out = send(&t.join("home-b"), &dir, &b.url(), Some(&cfg_b), &[]);
    assert_delivered(&out, &b, "ca, by URL");

    // no configuration: SSL_CERT_FILE names the CA, as for OpenSSL-based tools
    let c = Site::start(&t.join("central-c"), &pki.server_cert, &pki.server_key);
    let out = send(
        &t.join("home-c"),
        &dir,
        &c.url(),
        None,
        &[("SSL_CERT_FILE", &ca)],
    );
    assert_delivered(&out, &c, "SSL_CERT_FILE");
    // SSL_CERT_DIR too (a folder of PEM files)
    let d = Site::start(&t.join("central-d"), &pki.server_cert, &pki.server_key);
    let out = send(
        &t.join("home-d"),
        &dir,
        &d.url(),
        None,
        &[("SSL_CERT_DIR", &t.join("conf"))],
    );
    assert_delivered(&out, &d, "SSL_CERT_DIR");
}

#[test]
fn a_pinned_self_signed_certificate_is_trusted_after_deposit_destination_pin() {
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let pki = TestPki::new().expect("pki");
    let dir = corpus(t);
    let site = Site::start(
        &t.join("central"),
        &pki.self_signed_cert,
        &pki.self_signed_key,
    );
    let cfg = write(
        &t.join("deposit.toml"),
        &format!(
            "# the central CTP\n[destinations.central]\nurl = \"{}\"\n",
            site.url()
        ),
    );
    let home = t.join("home");
    let cfg_s = cfg.display().to_string();

    // the fingerprint, shown; nothing saved without --yes
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(pki.self_signed_cert.as_bytes())
        .map(|d: rustls::pki_types::CertificateDer<'_>| d.to_vec())
        .expect("der");
    let want = deposit::archive::tls::format_sha256(&deposit::archive::tls::cert_sha256(&der));
    let shown = deposit(
        &home,
        &[
            "destination",
            "fingerprint",
            "central",
            "--config",
            &cfg_s,
            "--json",
        ],
        &[],
    );
    assert_eq!(shown.code, 0, "{}", shown.all);
    assert_eq!(shown.json["sha256"], want.as_str(), "{}", shown.json);
    assert_eq!(shown.json["trusted"], false, "{}", shown.json);

    let pinned = deposit(
        &home,
        &[
            "destination",
            "pin",
            "central",
            "--yes",
            "--config",
            &cfg_s,
            "--json",
        ],
        &[],
    );
    assert_eq!(pinned.code, 0, "{}", pinned.all);
    let text = std::fs::read_to_string(&cfg).expect("config");
    assert!(text.contains(&format!("pin_sha256 = \"{want}\"")), "{text}");
    assert!(text.contains("# the central CTP"), "comments kept: {text}");

    let out = send(&home, &dir, "central", Some(&cfg), &[]);
    assert_delivered(&out, &site, "pinned");
}

#[test]
fn an_unknown_ca_fails_in_seconds_with_advice_and_queue_retry_delivers_once_trusted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let pki = TestPki::new().expect("pki");
    let dir = corpus(t);
    let site = Site::start(&t.join("central"), &pki.server_cert, &pki.server_key);
    let home = t.join("home");
    let cfg = write(
        &t.join("deposit.toml"),
        &format!("[destinations.central]\nurl = \"{}\"\n", site.url()),
    );
    // the default offline wait is forever: a certificate refusal must not wait
    let out = send(&home, &dir, "central", Some(&cfg), &[]);
    assert!(out.took < Duration::from_secs(15), "took {:?}", out.took);
    assert_ne!(out.code, 0, "{}", out.all);
    assert!(out.all.contains("issuer unknown"), "{}", out.all);
    assert!(out.all.contains("ca = "), "{}", out.all);
    assert!(
        out.all.contains("deposit destination pin central"),
        "{}",
        out.all
    );
    assert!(site.receiver.files().is_empty());
    assert!(
        site.receiver.seen().is_empty(),
        "nothing reached the server"
    );
    let cfg_s = cfg.display().to_string();
    let q = deposit(&home, &["queue", "list", "--json", "--config", &cfg_s], &[]);
    let studies = &q.json["jobs"][0]["studies"];
    let studies = studies
        .as_array()
        .unwrap_or_else(|| panic!("a queued job: {}", q.json));
    assert!(!studies.is_empty());
    for st in studies {
        assert_eq!(st["state"], "failed", "{st}");
        assert!(
            st.to_string().contains("issuer unknown"),
            "the advice is kept with the study: {st}"
        );
    }

    // trust the CA for this destination; the stored job (by URL) gets it
    write(&t.join("ca.pem"), &pki.ca_cert);
    write(
        &cfg,
        &format!(
            "[destinations.central]\nurl = \"{}\"\nca = \"ca.pem\"\n",
            site.url()
        ),
    );
    let r = deposit(
        &home,
        &["queue", "retry", "all", "--json", "--config", &cfg_s],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.all);
    assert_eq!(r.json["failed"].as_u64(), Some(0), "{}", r.json);
    let q = deposit(&home, &["queue", "list", "--json", "--config", &cfg_s], &[]);
    for st in q.json["jobs"][0]["studies"].as_array().expect("studies") {
        assert_eq!(st["state"], "verified", "{st}");
    }
    assert_eq!(
        site.receiver.files().len(),
        studies.len() * 3,
        "each object stored once"
    );
}

/// Removes the test CA from the machine's store again, whatever happens.
struct MachineCa(PathBuf);

impl Drop for MachineCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = Command::new("update-ca-certificates")
            .arg("--fresh")
            .output();
    }
}

#[test]
fn https_through_a_ca_added_to_the_machine_trust_store() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let tool = Path::new("/usr/sbin/update-ca-certificates").exists()
        || Path::new("/usr/bin/update-ca-certificates").exists();
    if !root || !tool {
        assert!(
            std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() != Ok("1"),
            "adding a CA to the machine's trust store needs root and update-ca-certificates"
        );
        eprintln!("not root or no update-ca-certificates: skipped (DEPOSIT_REQUIRE_PEERS=1 fails)");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let pki = TestPki::new().expect("pki");
    let dir = corpus(t);
    let site = Site::start(&t.join("central"), &pki.server_cert, &pki.server_key);
    let home = t.join("home");

    // not trusted before
    let before = send(&home, &dir, &site.url(), None, &[]);
    assert_ne!(before.code, 0, "{}", before.all);
    assert!(before.all.contains("issuer unknown"), "{}", before.all);

    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).expect("random");
    let installed = PathBuf::from(format!(
        "/usr/local/share/ca-certificates/deposit-test-{}.crt",
        hex::encode(tag)
    ));
    std::fs::create_dir_all("/usr/local/share/ca-certificates").expect("ca folder");
    std::fs::write(&installed, &pki.ca_cert).expect("install CA");
    let guard = MachineCa(installed);
    let up = Command::new("update-ca-certificates")
        .output()
        .expect("update-ca-certificates");
    assert!(up.status.success(), "{up:?}");

    let home2 = t.join("home2");
    let out = send(&home2, &dir, &site.url(), None, &[]);
    assert_delivered(&out, &site, "machine trust store");
    drop(guard);
}

#[test]
fn https_to_the_xnat_stand_in_through_a_ca_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let pki = TestPki::new().expect("pki");
    let dir = corpus(t);
    let xnat =
        deposit_xnat_server::Server::start(&t.join("xnat"), deposit_xnat_server::Config::default())
            .expect("xnat");
    let front = TlsFront::start(xnat.port(), &pki.server_cert, &pki.server_key).expect("front");
    write(&t.join("ca.pem"), &pki.ca_cert);
    let url = format!(
        "xnat+https://alice@localhost:{}?project=TRIAL",
        front.port()
    );
    let cfg = write(
        &t.join("deposit.toml"),
        &format!("[destinations.central]\nurl = \"{url}\"\nca = \"ca.pem\"\n"),
    );
    let password = Path::new("wonderland");
    let out = send(
        &t.join("home"),
        &dir,
        "central",
        Some(&cfg),
        &[("DEPOSIT_PASSWORD", password)],
    );
    assert_eq!(out.code, 0, "{}", out.all);
    let verified = out.json["verified"].as_u64().unwrap_or(0);
    assert!(verified >= 1, "{}", out.json);
    assert_eq!(
        xnat.archive_files()
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
            .count() as u64,
        out.json["sent"].as_u64().unwrap_or(u64::MAX),
        "{}",
        out.json
    );

    // the certificate check says which trust path it used
    let shown = deposit(
        &t.join("home"),
        &[
            "destination",
            "fingerprint",
            "central",
            "--config",
            &cfg.display().to_string(),
            "--json",
        ],
        &[],
    );
    assert_eq!(shown.json["trusted"], true, "{}", shown.all);
    assert!(
        shown.json["trust"]
            .as_str()
            .is_some_and(|s| s.starts_with("system trust store") && s.ends_with("ca.pem")),
        "{}",
        shown.json
    );
}
