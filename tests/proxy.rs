//! Delivery through a real HTTP proxy (Debian's tinyproxy on loopback, tests/support/tinyproxy)
//! by the real `deposit` binary: to the XNAT test server and the CTP stand-in (tests/xnat_server),
//! delivered with the proxy's log showing the traffic; the proxy chosen from `[network]` of
//! `deposit.toml`, else `HTTPS_PROXY`/`HTTP_PROXY` (with `NO_PROXY` honoured); the connection
//! test saying which proxy it used; the proxy killed mid-send → offline, resumed by the same
//! process once a proxy is back on the port, nothing sent twice; a proxy asking for credentials
//! (`BasicAuth`) → a permanent, quick, clear failure without the secret (to a plain-http request
//! and to a CONNECT), and delivery with the right password from `DEPOSIT_PROXY_PASSWORD` or the
//! OS keyring; an https destination reached through a CONNECT tunnel with TLS end to end (refused
//! when self-signed; delivered, once each, with the destination's internal `ca`).

use crate::support;
use crate::support::cli::{md5_counts, n, outbox};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deposit_xnat_server::{Config, CtpConfig, CtpReceiver, Faults, Server};
use serde_json::Value;
use support::cli::Run;
use support::tinyproxy::{self, Options, Tinyproxy};

const XNAT_SECRET: &str = "wonderland";
const CTP_SECRET: &str = "central-Secret-7";
const PROXY_SECRET: &str = "proxy-Secret-42";

/// Every proxy variable a test machine may have, cleared for the `deposit` runs.
const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "DEPOSIT_PROXY_PASSWORD",
];

fn command(tmp: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deposit"));
    cmd.args(args)
        .env("DEPOSIT_HOME", tmp.join("home"))
        .env("DEPOSIT_CONFIG", tmp.join("deposit.toml"))
        .env("HOME", tmp)
        .env_remove("NETRC")
        .env_remove("DEPOSIT_PASSWORD")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(tmp: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = command(tmp, args, env).output().expect("run deposit");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(stdout.trim()).ok(),
        all: format!("{stdout}\n{stderr}"),
    }
}

/// `[network]` of the test's deposit.toml (`no_proxy = ""`: loopback goes through the proxy).
fn configure(tmp: &Path, proxy: &str) {
    std::fs::write(
        tmp.join("deposit.toml"),
        format!("[network]\nproxy = \"{proxy}\"\nno_proxy = \"\"\n"),
    )
    .expect("write deposit.toml");
}

fn corpus(tmp: &Path, patients: usize) -> (PathBuf, u64) {
    let dir = tmp.join("incoming");
    let cfg = deposit_synth::Config {
        patients,
        ct_slices: 4,
        rows: 64,
        cols: 64,
        ..Default::default()
    };
    let m = deposit_synth::generate(&dir, &cfg).expect("generate corpus");
    (dir, m.counts.instances)
}

fn xnat_dest(server: &Server) -> String {
    format!(
        "xnat+http://alice@127.0.0.1:{}?project=TRIAL",
        server.port()
    )
}

fn ctp(tmp: &Path) -> CtpReceiver {
    CtpReceiver::start(
        &tmp.join("central"),
        CtpConfig {
            users: vec![("site1".into(), CTP_SECRET.into())],
            ..Default::default()
        },
    )
    .expect("ctp receiver")
}

fn ctp_dest(r: &CtpReceiver) -> String {
    format!("ctp+http://site1@127.0.0.1:{}/", r.port())
}

/// Everything delivered once, verified, the destination's files exactly the outbox.
fn check_delivered(tmp: &Path, s: &Value, instances: u64, on_server: &[PathBuf]) {
    assert_eq!(n(s, "failed"), 0, "{s}");
    let delivered = n(s, "sent") + n(s, "already_present");
    assert_eq!(delivered + n(s, "quarantined"), instances, "{s}");
    assert_eq!(n(s, "verified"), delivered, "{s}");
    let counts = md5_counts(on_server);
    assert!(counts.values().all(|c| *c == 1), "no duplicates");
    assert_eq!(counts, md5_counts(&outbox(tmp)), "destination = outbox");
}

fn send(tmp: &Path, dir: &Path, to: &str, env: &[(&str, &str)]) -> Run {
    run(
        tmp,
        &["send", &dir.display().to_string(), "--to", to, "--json"],
        env,
    )
}

#[test]
fn xnat_and_ctp_are_delivered_through_the_configured_proxy() {
    let Some(program) = tinyproxy::find() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let proxy = Tinyproxy::start(&program, &t.join("proxy"), &Options::default());
    configure(t, &proxy.url());
    let (dir, instances) = corpus(t, 2);

    let server = Server::start(&t.join("xnat"), Config::default()).expect("xnat server");
    let to = xnat_dest(&server);
    let target = format!("127.0.0.1:{}", server.port());
    let test = run(
        t,
        &["test-connection", &to, "--json"],
        &[("DEPOSIT_PASSWORD", XNAT_SECRET)],
    );
    let r = test.json.clone().unwrap_or_else(|| panic!("{}", test.all));
    assert_eq!(test.code, 0, "{}", test.all);
    assert_eq!(
        r["proxy"],
        format!("via proxy 127.0.0.1:{} (from: config)", proxy.port()),
        "{r}"
    );
    assert!(proxy.requests_to(&target) > 0, "{:?}", proxy.requests());
    let out = send(t, &dir, &to, &[("DEPOSIT_PASSWORD", XNAT_SECRET)]);
    let s = out.json.clone().unwrap_or_else(|| panic!("{}", out.all));
    assert_eq!(out.code, 0, "{s} {}", out.all);
    check_delivered(t, &s, instances, &server.archive_files());
    let through = proxy.requests_to(&target);
    let served = server.seen().len();
    assert!(
        through >= served && served > 0,
        "every request the server saw went through the proxy: {through} < {served}"
    );

    let t2 = tempfile::tempdir().expect("tmp2");
    let t2 = t2.path();
    configure(t2, &proxy.url());
    let (dir2, instances2) = corpus(t2, 2);
    let r = ctp(t2);
    let target = format!("127.0.0.1:{}", r.port());
    let out = send(
        t2,
        &dir2,
        &ctp_dest(&r),
        &[("DEPOSIT_PASSWORD", CTP_SECRET)],
    );
    let s = out.json.clone().unwrap_or_else(|| panic!("{}", out.all));
    assert_eq!(out.code, 0, "{s} {}", out.all);
    check_delivered(t2, &s, instances2, &r.files());
    let posts_through = proxy
        .requests()
        .iter()
        .filter(|q| q.starts_with("POST") && q.contains(&target))
        .count();
    let posts = r.seen().iter().filter(|x| x.method == "POST").count();
    assert!(
        posts > 0 && posts_through >= posts,
        "{posts_through} < {posts}"
    );
}

#[test]
fn the_environment_proxy_is_used_and_no_proxy_honoured() {
    let Some(program) = tinyproxy::find() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let proxy = Tinyproxy::start(&program, &t.join("proxy"), &Options::default());
    let r = ctp(t);
    let to = ctp_dest(&r);
    let target = format!("127.0.0.1:{}", r.port());
    let url = proxy.url();
    let via_env = [
        ("DEPOSIT_PASSWORD", CTP_SECRET),
        ("HTTP_PROXY", url.as_str()),
        ("NO_PROXY", ""),
    ];
    let test = run(t, &["test-connection", &to, "--json"], &via_env);
    let j = test.json.clone().unwrap_or_else(|| panic!("{}", test.all));
    assert_eq!(test.code, 0, "{}", test.all);
    assert_eq!(
        j["proxy"],
        format!("via proxy 127.0.0.1:{} (from: environment)", proxy.port()),
        "{j}"
    );
    let before = proxy.requests_to(&target);
    assert!(before > 0, "{:?}", proxy.requests());
    let (dir, instances) = corpus(t, 1);
    let out = send(t, &dir, &to, &via_env);
    let s = out.json.clone().unwrap_or_else(|| panic!("{}", out.all));
    assert_eq!(out.code, 0, "{s} {}", out.all);
    check_delivered(t, &s, instances, &r.files());
    let after_send = proxy.requests_to(&target);
    assert!(after_send > before, "the send went through the proxy");

    // lower-case names too; NO_PROXY naming the host: direct
    let bypass = [
        ("DEPOSIT_PASSWORD", CTP_SECRET),
        ("http_proxy", url.as_str()),
        ("no_proxy", "localhost,127.0.0.1"),
    ];
    let test = run(t, &["test-connection", &to, "--json"], &bypass);
    let j = test.json.clone().unwrap_or_else(|| panic!("{}", test.all));
    assert_eq!((test.code, j["proxy"].as_str()), (0, Some("direct")), "{j}");
    assert_eq!(
        proxy.requests_to(&target),
        after_send,
        "NO_PROXY: not through the proxy"
    );

    // HTTPS_PROXY is for https destinations only: a plain-http one goes direct
    let https_only = [
        ("DEPOSIT_PASSWORD", CTP_SECRET),
        ("HTTPS_PROXY", url.as_str()),
    ];
    let test = run(t, &["test-connection", &to, "--json"], &https_only);
    let j = test.json.clone().unwrap_or_else(|| panic!("{}", test.all));
    assert_eq!(j["proxy"], "direct", "{j}");

    // the configuration wins: proxy = "none" is direct whatever the environment says
    std::fs::write(t.join("deposit.toml"), "[network]\nproxy = \"none\"\n").expect("config");
    let test = run(t, &["test-connection", &to, "--json"], &via_env);
    let j = test.json.clone().unwrap_or_else(|| panic!("{}", test.all));
    assert_eq!((test.code, j["proxy"].as_str()), (0, Some("direct")), "{j}");
    assert_eq!(proxy.requests_to(&target), after_send);

    // and `deposit proxy` says what is in force and where it came from
    let show = run(t, &["proxy", "--json"], &via_env);
    let j = show.json.clone().unwrap_or_else(|| panic!("{}", show.all));
    assert_eq!(j["source"], "config", "{j}");
    assert!(j["in_use"].is_null(), "{j}");
    std::fs::remove_file(t.join("deposit.toml")).expect("rm config");
    let show = run(t, &["proxy", "--json"], &via_env);
    let j = show.json.clone().unwrap_or_else(|| panic!("{}", show.all));
    assert_eq!(j["source"], "environment", "{j}");
    assert_eq!(j["in_use_http"], url, "{j}");
}

#[test]
fn a_proxy_refusing_credentials_fails_permanently_quickly_and_clearly() {
    let Some(program) = tinyproxy::find() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let r = ctp(t);
    let mut proxy = Tinyproxy::start(
        &program,
        &t.join("proxy"),
        &Options {
            connect_ports: vec![r.port()],
            basic_auth: Some(("carol".into(), PROXY_SECRET.into())),
            ..Default::default()
        },
    );
    let address = format!("127.0.0.1:{}", proxy.port());
    configure(t, &format!("http://carol@{address}"));
    let (dir, instances) = corpus(t, 1);
    let to = ctp_dest(&r);
    let wrong = "wrong-Proxy-13";
    for (password, hint) in [(None, "no password is stored"), (Some(wrong), "refused")] {
        let mut env = vec![("DEPOSIT_PASSWORD", CTP_SECRET)];
        if let Some(p) = password {
            env.push(("DEPOSIT_PROXY_PASSWORD", p));
        }
        let started = Instant::now();
        let out = send(t, &dir, &to, &env);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "quick: {:?}",
            started.elapsed()
        );
        assert_ne!(out.code, 0, "{}", out.all);
        assert!(out.all.contains("permanent"), "{}", out.all);
        for needle in [address.as_str(), "407", "deposit proxy login", hint] {
            assert!(out.all.contains(needle), "{needle}: {}", out.all);
        }
        assert!(!out.all.contains(wrong) && !out.all.contains(CTP_SECRET));
        assert!(r.files().is_empty(), "nothing delivered");
        // a CONNECT (https destination) refused the same way, as the connection test says
        let https = format!("ctp+https://site1@127.0.0.1:{}/", r.port());
        let test = run(t, &["test-connection", &https, "--json"], &env);
        assert_ne!(test.code, 0, "{}", test.all);
        let e = test.json.clone().unwrap_or_else(|| panic!("{}", test.all));
        assert_eq!(e["error"]["class"], "permanent", "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap_or("").contains("407"),
            "{e}"
        );
        assert!(!test.all.contains(wrong));
    }
    let connects = proxy
        .requests()
        .iter()
        .filter(|q| q.starts_with("CONNECT"))
        .count();
    assert!(connects >= 2, "{:?}", proxy.requests());

    // the right password: delivered (the queue left by the refusals too)
    let out = send(
        t,
        &dir,
        &to,
        &[
            ("DEPOSIT_PASSWORD", CTP_SECRET),
            ("DEPOSIT_PROXY_PASSWORD", PROXY_SECRET),
        ],
    );
    let s = out.json.clone().unwrap_or_else(|| panic!("{}", out.all));
    assert_eq!(out.code, 0, "{s} {}", out.all);
    assert!(!out.all.contains(PROXY_SECRET));
    let counts = md5_counts(&r.files());
    assert!(counts.values().all(|c| *c == 1), "no duplicates");
    assert_eq!(counts.len() as u64 + n(&s, "quarantined"), instances, "{s}");
    proxy.stop();
}

/// The proxy goes away mid-send (connections refused) for longer than the retries of one
/// request, then a proxy is started again on the same port: the same `deposit send` waits,
/// resumes by itself, and nothing reaches the server twice.
#[test]
fn proxy_down_mid_send_goes_offline_and_resumes() {
    let Some(program) = tinyproxy::find() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let (dir, instances) = corpus(t, 3);
    let server = Server::start(&t.join("xnat"), Config::default()).expect("server");
    server.set_faults(Faults {
        slow_imports: 1000,
        slow_delay: Duration::from_millis(300),
        ..Default::default()
    });
    let mut proxy = Tinyproxy::start(&program, &t.join("proxy"), &Options::default());
    configure(t, &proxy.url());
    let stderr_path = t.join("stderr.txt");
    let mut child = command(
        t,
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &xnat_dest(&server),
            "--json",
            "--concurrency",
            "1",
        ],
        &[("DEPOSIT_PASSWORD", XNAT_SECRET)],
    )
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
    .spawn()
    .expect("spawn");
    let imports = |s: &Server| {
        s.seen()
            .iter()
            .filter(|x| x.path.ends_with("/services/import"))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while imports(&server) < 1 && Instant::now() < deadline {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished too early"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    proxy.stop();
    std::thread::sleep(Duration::from_secs(9));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the send gave up while the proxy was away"
    );
    proxy.restart();
    let out = child.wait_with_output().expect("wait");
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let s: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(out.status.code(), Some(0), "{s}\n{stderr}");
    assert!(
        stderr.contains("offline — will resume when online"),
        "{stderr}"
    );
    assert!(n(&s, "offline_periods") >= 1, "{s}");
    check_delivered(t, &s, instances, &server.archive_files());
    assert!(server.prearchive_files().is_empty());
}

/// `deposit proxy login` stores the proxy password in the OS keyring (a private D-Bus session
/// with gnome-keyring, as in tests/keyring.rs); `deposit proxy` then says it is stored, and a
/// send through the BasicAuth proxy finds it with no `DEPOSIT_PROXY_PASSWORD`.
#[test]
fn the_proxy_password_comes_from_the_keyring() {
    if !crate::keyring::peer("dbus-run-session") || !crate::keyring::peer("gnome-keyring-daemon") {
        return;
    }
    let Some(program) = tinyproxy::find() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let r = ctp(t);
    let proxy = Tinyproxy::start(
        &program,
        &t.join("proxy"),
        &Options {
            basic_auth: Some(("carol".into(), PROXY_SECRET.into())),
            ..Default::default()
        },
    );
    configure(t, &format!("http://carol@127.0.0.1:{}", proxy.port()));
    let (dir, instances) = corpus(t, 1);
    let unset = PROXY_VARS.join(" ");
    let script = format!(
        r#"
unset {unset}
export DEPOSIT_CONFIG='{t}/deposit.toml'
printf 'not-it\n' | "$DEPOSIT" proxy login --json > '{t}/bad.json' 2> '{t}/bad.err'
echo "bad=$?" > '{t}/codes'
"$DEPOSIT" proxy --json > '{t}/before.json' 2> '{t}/before.err'
printf '{PROXY_SECRET}\n' | "$DEPOSIT" proxy login --json > '{t}/login.json' 2> '{t}/login.err'
echo "login=$?" >> '{t}/codes'
"$DEPOSIT" proxy --json > '{t}/show.json' 2> '{t}/show.err'
echo "show=$?" >> '{t}/codes'
DEPOSIT_PASSWORD='{CTP_SECRET}' "$DEPOSIT" send '{c}' --to '{to}' --json > '{t}/send.json' 2> '{t}/send.err'
echo "send=$?" >> '{t}/codes'
"#,
        t = t.display(),
        c = dir.display(),
        to = ctp_dest(&r),
    );
    let (code, all) = crate::keyring::in_keyring_session(t, &script);
    assert_eq!(code, 0, "{all}");
    let read = |n: &str| std::fs::read_to_string(t.join(n)).unwrap_or_default();
    let codes = read("codes");
    let errs = format!(
        "{}{}{}",
        read("login.err"),
        read("show.err"),
        read("send.err")
    );
    assert!(
        codes.contains("login=0") && codes.contains("show=0") && codes.contains("send=0"),
        "{codes}\n{errs}"
    );
    // a refused password is not stored
    assert!(codes.contains("bad=1"), "{codes}\n{}", read("bad.json"));
    let bad: Value = serde_json::from_str(read("bad.json").trim()).expect("bad json");
    assert_eq!(bad["error"]["code"], "proxy.refused", "{bad}");
    assert!(!read("bad.json").contains("not-it"));
    let before: Value = serde_json::from_str(read("before.json").trim()).expect("before json");
    assert_eq!(before["password"], "missing", "{before}");
    let login: Value = serde_json::from_str(read("login.json").trim()).expect("login json");
    assert_eq!(login["checked"], true, "{login}");
    assert_eq!(
        login["account"],
        format!("carol@proxy/127.0.0.1:{}", proxy.port()),
        "{login}"
    );
    let show: Value = serde_json::from_str(read("show.json").trim()).expect("show json");
    assert_eq!(show["password"], "keyring", "{show}");
    let s: Value = serde_json::from_str(read("send.json").trim()).expect("send json");
    check_delivered(t, &s, instances, &r.files());
    assert!(proxy.requests().iter().any(|q| q.starts_with("POST")));
    for f in [
        "login.json",
        "login.err",
        "show.json",
        "send.json",
        "send.err",
    ] {
        assert!(!read(f).contains(PROXY_SECRET), "{f}");
    }
}

/// An https destination through the proxy: a CONNECT tunnel (the proxy's log shows it) and TLS
/// end to end with the server itself, whose self-signed certificate is then refused for good,
/// at once, as without a proxy.
#[test]
fn https_goes_through_a_connect_tunnel_with_tls_end_to_end() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let Some(program) = tinyproxy::find() else {
        return;
    };
    let certs =
        vec![
            CertificateDer::from_pem_slice(include_bytes!("data/tls/selfsigned.cert.pem"))
                .expect("cert"),
        ];
    let key =
        PrivateKeyDer::from_pem_slice(include_bytes!("data/tls/selfsigned.key.pem")).expect("key");
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
    let handshakes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = handshakes.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut buf = [0u8; 1024];
            let _ = std::io::Read::read(&mut tls, &mut buf);
        }
    });
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let proxy = Tinyproxy::start(
        &program,
        &t.join("proxy"),
        &Options {
            connect_ports: vec![port],
            ..Default::default()
        },
    );
    configure(t, &proxy.url());
    let to = format!("ctp+https://site1@127.0.0.1:{port}/");
    let started = Instant::now();
    let r = run(
        t,
        &["test-connection", &to, "--json"],
        &[("DEPOSIT_PASSWORD", CTP_SECRET)],
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_ne!(r.code, 0, "{}", r.all);
    let e = r.json.clone().unwrap_or_else(|| panic!("{}", r.all));
    assert_eq!(e["error"]["class"], "permanent", "{e}");
    assert!(r.all.contains("certificate"), "{}", r.all);
    assert_eq!(
        proxy.requests_to(&format!("CONNECT 127.0.0.1:{port}")),
        1,
        "{:?}",
        proxy.requests()
    );
    assert_eq!(
        handshakes.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the server was reached through the tunnel, once"
    );
}

/// HTTPS to a central CTP with an internal CA, through the hospital's proxy: a CONNECT tunnel
/// (the proxy's log shows it), the destination's `ca` trusted end to end, every object stored
/// once; and the connection test names both the proxy and the trust path.
#[test]
fn https_with_an_internal_ca_is_delivered_through_a_connect_tunnel() {
    use deposit_xnat_server::{TestPki, TlsFront};
    let Some(program) = tinyproxy::find() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let pki = TestPki::new().expect("pki");
    let r = ctp(t);
    let front = TlsFront::start(r.port(), &pki.server_cert, &pki.server_key).expect("tls front");
    let proxy = Tinyproxy::start(
        &program,
        &t.join("proxy"),
        &Options {
            connect_ports: vec![front.port()],
            ..Options::default()
        },
    );
    let ca = t.join("internal-ca.pem");
    std::fs::write(&ca, &pki.ca_cert).expect("ca");
    std::fs::write(
        t.join("deposit.toml"),
        format!(
            "[network]\nproxy = \"{}\"\nno_proxy = \"\"\n\n[destinations.central]\n\
             url = \"ctp+https://site1@127.0.0.1:{}\"\nca = \"{}\"\n",
            proxy.url(),
            front.port(),
            ca.display()
        ),
    )
    .expect("deposit.toml");
    let test = run(
        t,
        &["test-connection", "central", "--json"],
        &[("DEPOSIT_PASSWORD", CTP_SECRET)],
    );
    let c = test.json.clone().unwrap_or_else(|| panic!("{}", test.all));
    assert_eq!(test.code, 0, "{}", test.all);
    assert_eq!(
        c["proxy"],
        format!("via proxy 127.0.0.1:{} (from: config)", proxy.port()),
        "{c}"
    );
    assert!(
        c["trust"].as_str().is_some_and(|s| s.contains("ca file")),
        "{c}"
    );
    let (dir, instances) = corpus(t, 1);
    let out = send(t, &dir, "central", &[("DEPOSIT_PASSWORD", CTP_SECRET)]);
    let s = out.json.clone().unwrap_or_else(|| panic!("{}", out.all));
    assert_eq!(out.code, 0, "{s} {}", out.all);
    check_delivered(t, &s, instances, &r.files());
    let target = format!("127.0.0.1:{}", front.port());
    let tunnels = proxy
        .requests()
        .iter()
        .filter(|q| q.starts_with("CONNECT") && q.contains(&target))
        .count();
    assert!(
        tunnels as u64 >= instances,
        "one tunnel per object (a connection each): {tunnels} < {instances}"
    );
}
