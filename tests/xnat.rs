//! Delivery to XNAT through the real `deposit` binary against the XNAT-compatible test server
//! (tests/xnat_server): several studies committed and verified with the server's files identical
//! to the outbox; re-send duplicates nothing; 500/503 bursts, dropped connections, responses
//! slower than the client's timeout and session expiry are survived; a project without write
//! access and a wrong password are refused plainly, with nothing sent and no secret shown.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use deposit::archive::xnat::{url::XnatUrl, XnatArchive};
use deposit::archive::{md5_hex, Destination, Item, Piece, StudyLabels};
use deposit_xnat_server::{files_under, Config, Faults, Project, Server};
use serde_json::Value;

const SECRET: &str = "wonderland";

use support::cli::Run;

fn deposit(tmp: &Path, args: &[&str], password: Option<&str>) -> Run {
    support::cli::deposit_isolated(tmp, args, password)
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

fn md5_counts(files: &[PathBuf]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in files {
        let b = std::fs::read(f).expect("read");
        *m.entry(md5_hex(&b)).or_default() += 1;
    }
    m
}

fn outbox(tmp: &Path) -> Vec<PathBuf> {
    files_under(&tmp.join("home/outbox"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect()
}

fn dest(server: &Server, extra: &str) -> String {
    format!(
        "xnat+http://alice@127.0.0.1:{}?project=TRIAL{extra}",
        server.port()
    )
}

/// Pieces in the queue (all jobs).
fn pieces(tmp: &Path) -> usize {
    let q = deposit(tmp, &["queue", "list", "--json"], None);
    let jobs = q.json.unwrap_or_else(|| panic!("{}", q.all));
    jobs["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|j| j["studies"].as_array().cloned().unwrap_or_default())
        .map(|s| s["pieces"].as_u64().unwrap_or(0) as usize)
        .sum()
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(u64::MAX)
}

fn imports(server: &Server) -> usize {
    server
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/services/import"))
        .count()
}

/// Sends the corpus and checks: exit 0, everything sent or quarantined, all verified, the
/// archive on the server's disk holds exactly the outbox bytes once each.
fn send_and_check(tmp: &Path, server: &Server, to: &str, instances: u64) -> Value {
    let incoming = tmp.join("incoming").display().to_string();
    let r = deposit(
        tmp,
        &["send", &incoming, "--to", to, "--json"],
        Some(SECRET),
    );
    let s = r
        .json
        .clone()
        .unwrap_or_else(|| panic!("no JSON: {}", r.all));
    assert_eq!(r.code, 0, "{s} {}", r.all);
    assert_eq!(n(&s, "failed"), 0, "{s}");
    let delivered = n(&s, "sent") + n(&s, "already_present");
    assert_eq!(delivered + n(&s, "quarantined"), instances, "{s}");
    assert_eq!(n(&s, "verified"), delivered, "{s}");
    let archived = server.archive_files();
    assert_eq!(archived.len() as u64, delivered, "one file per instance");
    let on_server = md5_counts(&archived);
    assert!(on_server.values().all(|c| *c == 1), "no duplicate bytes");
    assert_eq!(
        on_server,
        md5_counts(&outbox(tmp)),
        "server files = outbox bytes"
    );
    assert!(server.prearchive_files().is_empty(), "nothing left behind");
    assert!(!r.all.contains(SECRET), "secret in output");
    assert!(!r.all.contains("DEBUG"), "debug logs by default: {}", r.all);
    s
}

fn no_secret_in_home(tmp: &Path) {
    for f in files_under(&tmp.join("home")) {
        let b = std::fs::read(&f).expect("read");
        assert!(
            !b.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "secret stored in {}",
            f.display()
        );
    }
}

#[test]
fn several_studies_committed_verified_and_resend_duplicates_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, instances) = corpus(tmp.path(), 3);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    let to = dest(&server, "");
    let s = send_and_check(tmp.path(), &server, &to, instances);
    assert!(n(&s, "sent") > 0);
    assert_eq!(s["destination"], to.as_str());

    // CSRF was on: every state-changing request got through, none was refused
    assert!(
        server.seen().iter().all(|x| x.status != 403),
        "CSRF refusals"
    );
    // the queue shows the archive URI in the audit record
    let q = deposit(tmp.path(), &["queue", "list", "--json"], None);
    let jobs = q.json.unwrap_or_else(|| panic!("{}", q.all));
    for st in jobs["jobs"][0]["studies"].as_array().expect("studies") {
        assert_eq!(st["state"], "verified", "{st}");
        let uri = st["audit"]["uri"].as_str().unwrap_or_default();
        assert!(uri.starts_with("/data/archive/projects/TRIAL/"), "{st}");
    }

    // again: nothing uploaded, nothing duplicated
    let before = imports(&server);
    let again = send_and_check(tmp.path(), &server, &to, instances);
    assert_eq!(n(&again, "sent"), 0, "{again}");
    assert_eq!(n(&again, "already_present"), n(&s, "sent"), "{again}");
    assert_eq!(imports(&server), before, "no import on re-send");
    no_secret_in_home(tmp.path());
}

#[test]
fn prearchive_only_project_with_netrc_credentials_and_no_csrf() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, instances) = corpus(tmp.path(), 2);
    let cfg = Config {
        csrf: false,
        projects: vec![Project {
            id: "TRIAL".into(),
            writers: vec!["alice".into()],
            auto_archive: false,
        }],
        ..Default::default()
    };
    let server = Server::start(&tmp.path().join("xnat"), cfg).expect("server");
    std::fs::write(
        tmp.path().join(".netrc"),
        format!("machine 127.0.0.1 login alice password {SECRET}\n"),
    )
    .expect("netrc");
    let incoming = tmp.path().join("incoming").display().to_string();
    let to = format!("xnat+http://127.0.0.1:{}?project=TRIAL", server.port());
    let r = deposit(
        tmp.path(),
        &["send", &incoming, "--to", &to, "--json"],
        None,
    );
    let s = r.json.unwrap_or_else(|| panic!("{}", r.all));
    assert_eq!(r.code, 0, "{s} {}", r.all);
    assert_eq!(n(&s, "sent") + n(&s, "quarantined"), instances, "{s}");
    assert_eq!(n(&s, "verified"), n(&s, "sent"), "{s}");
    // committed into the prearchive (200), verified there
    assert!(server.archive_files().is_empty());
    assert_eq!(server.prearchive_files().len() as u64, n(&s, "sent"));
    assert!(server
        .prearchive_sessions()
        .iter()
        .all(|(_, _, _, st)| st == "READY"));
}

#[test]
fn error_bursts_and_dropped_connections_are_retried_to_completion() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, instances) = corpus(tmp.path(), 2);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    server.set_faults(Faults {
        import_statuses: vec![503, 500, 400, 503],
        drop_imports: 2,
        drop_after: 2000,
        busy_commits: 1,
        ..Default::default()
    });
    send_and_check(tmp.path(), &server, &dest(&server, ""), instances);
    let seen = server.seen();
    assert_eq!(seen.iter().filter(|s| s.status == 0).count(), 2, "drops");
    assert_eq!(
        imports(&server),
        pieces(tmp.path()) + 6,
        "each fault cost one retry"
    );
    assert!(seen.iter().any(|s| s.status == 503) && seen.iter().any(|s| s.status == 409));
}

#[test]
fn a_repeated_400_fails_the_study_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus(tmp.path(), 1);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    server.set_faults(Faults {
        import_statuses: vec![400, 400],
        ..Default::default()
    });
    let r = deposit(
        tmp.path(),
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &dest(&server, ""),
            "--json",
        ],
        Some(SECRET),
    );
    let s = r.json.unwrap_or_else(|| panic!("{}", r.all));
    assert_eq!(r.code, 1, "{s}");
    assert!(n(&s, "failed") > 0, "{s}");
    assert!(s["problems"].to_string().contains("HTTP 400"), "{s}");
}

#[test]
fn slow_response_is_retried_without_duplicating() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, instances) = corpus(tmp.path(), 1);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    server.set_faults(Faults {
        slow_imports: 1,
        slow_delay: Duration::from_secs(4),
        ..Default::default()
    });
    send_and_check(tmp.path(), &server, &dest(&server, "&timeout=1"), instances);
    assert_eq!(
        imports(&server),
        pieces(tmp.path()) + 1,
        "the timed-out piece was sent once more"
    );
}

#[test]
fn expired_session_answered_by_the_login_page_logs_in_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, instances) = corpus(tmp.path(), 2);
    let cfg = Config {
        login_page_on_expiry: true,
        ..Default::default()
    };
    let server = Server::start(&tmp.path().join("xnat"), cfg).expect("server");
    server.set_faults(Faults {
        expire_after_import: true,
        ..Default::default()
    });
    send_and_check(tmp.path(), &server, &dest(&server, ""), instances);
    let logins = server
        .seen()
        .iter()
        .filter(|s| s.path == "/data/JSESSION")
        .count();
    assert!(logins >= 2, "re-login after expiry ({logins})");
}

#[test]
fn expired_session_logs_in_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, instances) = corpus(tmp.path(), 2);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    server.set_faults(Faults {
        expire_after_import: true,
        ..Default::default()
    });
    send_and_check(tmp.path(), &server, &dest(&server, ""), instances);
    let seen = server.seen();
    let logins = seen.iter().filter(|s| s.path == "/data/JSESSION").count();
    assert!(logins >= 2, "re-login after expiry ({logins})");
    assert!(
        seen.iter().any(|s| s.status == 401),
        "the server did expire it"
    );
}

#[test]
fn project_without_write_access_is_refused_and_nothing_is_sent() {
    let tmp = tempfile::tempdir().expect("tmp");
    corpus(tmp.path(), 1);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    server.set_writer("TRIAL", "alice", false);
    let incoming = tmp.path().join("incoming").display().to_string();
    let r = deposit(
        tmp.path(),
        &["send", &incoming, "--to", &dest(&server, ""), "--json"],
        Some(SECRET),
    );
    assert_eq!(r.code, 1, "{}", r.all);
    assert!(
        r.all.contains("may not write to project 'TRIAL'"),
        "plain message: {}",
        r.all
    );
    assert_eq!(imports(&server), 0, "nothing sent");
    assert!(server.archive_files().is_empty() && server.prearchive_files().is_empty());
}

#[test]
fn wrong_password_is_permanent_and_never_shown() {
    let tmp = tempfile::tempdir().expect("tmp");
    corpus(tmp.path(), 1);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    let incoming = tmp.path().join("incoming").display().to_string();
    let bad = "not-the-Secret-42";
    let r = deposit(
        tmp.path(),
        &["send", &incoming, "--to", &dest(&server, ""), "-vvv"],
        Some(bad),
    );
    assert_eq!(r.code, 1, "{}", r.all);
    assert!(
        r.all.contains("login refused for user 'alice'"),
        "{}",
        r.all
    );
    assert!(!r.all.contains(bad), "password shown: {}", r.all);
    // even at the most verbose logging the HTTP client's wire trace stays off
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{bad}"))
    };
    assert!(!r.all.contains(&basic), "credentials shown: {}", r.all);
    // a wire dump shows 16 bytes per line, text in the last column: join those columns
    let dumped: String = r
        .all
        .lines()
        .filter(|l| l.contains("TRACE"))
        .map(|l| {
            let c: Vec<char> = l.chars().collect();
            c[c.len().saturating_sub(16)..].iter().collect::<String>()
        })
        .collect();
    assert!(
        !dumped.to_ascii_lowercase().contains("authorization"),
        "raw request headers logged"
    );
    assert_eq!(imports(&server), 0);
    let logins = server
        .seen()
        .iter()
        .filter(|s| s.path == "/data/JSESSION")
        .count();
    assert_eq!(logins, 1, "a refused login is not retried");
    for f in files_under(&tmp.path().join("home")) {
        let b = std::fs::read(&f).expect("read");
        assert!(
            !b.windows(bad.len()).any(|w| w == bad.as_bytes()),
            "{}",
            f.display()
        );
    }
}

#[test]
fn data_rerouted_to_another_project_is_an_error_not_a_success() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus(tmp.path(), 1);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    let file = files_under(&dir)
        .into_iter()
        .find(|p| {
            std::fs::read(p)
                .map(|b| b.len() > 132 && &b[128..132] == b"DICM")
                .unwrap_or(false)
        })
        .expect("a DICOM file");
    let bytes = std::fs::read(&file).expect("read");
    let url = XnatUrl::parse(&dest(&server, ""))
        .expect("xnat")
        .expect("valid");
    let x = XnatArchive::with_credentials(
        url,
        "alice".into(),
        SECRET.into(),
        &deposit::archive::proxy::ProxyRoute::direct(),
    )
    .expect("client");
    x.check().expect("alice may write");
    // access taken away after the check: XNAT files the data elsewhere, silently; the client
    // must not call that done
    server.set_writer("TRIAL", "alice", false);
    let piece = Piece {
        labels: StudyLabels {
            project: "TRIAL".into(),
            subject: "DEP-1".into(),
            session: "DEP-1_1".into(),
        },
        items: vec![Item {
            path: file,
            scan: "1".into(),
            name: "x.dcm".into(),
            size: bytes.len() as u64,
            md5: md5_hex(&bytes),
        }],
    };
    let e = x.put(&piece).expect_err("misrouted");
    assert!(e.to_string().contains("Unassigned"), "{e}");
    assert_eq!(server.prearchive_sessions()[0].0, "Unassigned");
}

/// The CLI is killed (SIGKILL) at several points of a multi-study send, then `deposit queue run`
/// finishes: the archive ends with exactly the outbox's instances, none missing, none twice.
#[test]
fn killed_send_resumes_with_queue_run_exactly_once() {
    enum Point {
        Imports(usize),
        Commit,
    }
    for point in [Point::Imports(1), Point::Imports(3), Point::Commit] {
        let tmp = tempfile::tempdir().expect("tmp");
        let (dir, instances) = corpus(tmp.path(), 3);
        let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
        // slow imports keep a request in flight when the kill comes
        server.set_faults(Faults {
            slow_imports: 1000,
            slow_delay: Duration::from_millis(150),
            ..Default::default()
        });
        let to = dest(&server, "");
        let mut child = Command::new(env!("CARGO_BIN_EXE_deposit"))
            .args(["send", &dir.display().to_string(), "--to", &to, "--json"])
            .env("DEPOSIT_HOME", tmp.path().join("home"))
            .env("HOME", tmp.path())
            .env("DEPOSIT_PASSWORD", SECRET)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn deposit");
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let seen = server.seen();
            let hit = match point {
                Point::Imports(k) => {
                    seen.iter()
                        .filter(|s| s.path.ends_with("/services/import"))
                        .count()
                        >= k
                }
                Point::Commit => seen
                    .iter()
                    .any(|s| s.method == "POST" && s.path.starts_with("/data/prearchive/")),
            };
            if hit || std::time::Instant::now() > deadline {
                break;
            }
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let status = child.wait().expect("wait");
        assert!(
            status.code().is_none(),
            "killed mid-way, not finished: {status}"
        );

        let r = deposit(tmp.path(), &["queue", "run", "--json"], Some(SECRET));
        assert_eq!(r.code, 0, "{}", r.all);
        let archived = server.archive_files();
        let on_server = md5_counts(&archived);
        assert!(on_server.values().all(|c| *c == 1), "duplicates after kill");
        assert_eq!(
            on_server,
            md5_counts(&outbox(tmp.path())),
            "exactly the outbox"
        );
        assert!(
            server.prearchive_files().is_empty(),
            "left in the prearchive"
        );
        let delivered = archived.len() as u64;
        assert!(
            delivered > 0 && delivered < instances,
            "{delivered} of {instances}"
        );
        let q = deposit(tmp.path(), &["queue", "list", "--json"], None);
        let jobs = q.json.unwrap_or_else(|| panic!("{}", q.all));
        for st in jobs["jobs"][0]["studies"].as_array().expect("studies") {
            assert_eq!(st["state"], "verified", "{st}");
        }
    }
}

/// The test double itself follows the documented protocol (docs/protocols.md, "XNAT").
#[test]
fn test_server_follows_the_documented_protocol() {
    use base64::Engine;
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus(tmp.path(), 1);
    let cfg = Config {
        quiet: Duration::from_millis(300),
        ..Default::default()
    };
    let server = Server::start(&tmp.path().join("xnat"), cfg).expect("server");
    let base = server.url();
    use deposit::archive::http::{Client, Method};
    let agent = Client::new().expect("client");
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{SECRET}"))
    );
    let r = agent
        .request(Method::Post, &format!("{base}/data/JSESSION"))
        .header("Authorization", &basic)
        .body(Vec::new())
        .send("login")
        .expect("login");
    assert_eq!(r.status, 200);
    let id = r.body;
    assert_eq!(id.len(), 32, "bare 32-hex id");
    let cookie = format!("JSESSIONID={id}");
    let page = agent
        .request(Method::Get, &format!("{base}/"))
        .header("Cookie", &cookie)
        .send("page")
        .expect("page")
        .body;
    let csrf = deposit::archive::xnat::http::csrf_token(&page).expect("token");

    // a zip of two instances of one study
    let files: Vec<PathBuf> = files_under(&dir)
        .into_iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|b| b.len() > 132 && &b[128..132] == b"DICM")
                .unwrap_or(false)
        })
        .collect();
    let items: Vec<Item> = files
        .iter()
        .take(2)
        .enumerate()
        .map(|(i, p)| {
            let b = std::fs::read(p).expect("read");
            Item {
                path: p.clone(),
                scan: "1".into(),
                name: format!("{i}.dcm"),
                size: b.len() as u64,
                md5: md5_hex(&b),
            }
        })
        .collect();
    let zip = deposit::archive::xnat::zip_piece(&items).expect("zip");
    let import = |label: &str, token: Option<&str>, prevent: bool| {
        let mut q = format!(
            "{base}/data/services/import?import-handler=DICOM-zip&PROJECT_ID=TRIAL&SUBJECT_ID=S1&EXPT_LABEL={label}&prevent_auto_commit={prevent}"
        );
        if let Some(t) = token {
            q.push_str(&format!("&XNAT_CSRF={t}"));
        }
        let r = agent
            .request(Method::Post, &q)
            .header("Cookie", &cookie)
            .header("Content-Type", "application/zip")
            .body(zip.clone())
            .send("import")
            .expect("import");
        (r.status, r.body)
    };
    assert_eq!(
        import("E1", None, true).0,
        403,
        "CSRF required with a cookie"
    );
    let (st, uri) = import("E1", Some(&csrf), true);
    assert_eq!(st, 200);
    assert!(uri.starts_with("/data/prearchive/projects/TRIAL/") && uri.ends_with("/E1\r\n"));
    let n_files = server.prearchive_files().len();
    assert!(n_files >= 1);
    // same project + study + label → same session, files overwritten not duplicated
    assert_eq!(import("E1", Some(&csrf), true), (200, uri.clone()));
    assert_eq!(server.prearchive_files().len(), n_files);
    // another label → another session; without prevent_auto_commit the quiet timer archives it
    let (_, other) = import("E2", Some(&csrf), false);
    assert_ne!(other, uri);
    std::thread::sleep(Duration::from_millis(400));
    let _ = agent
        .request(Method::Get, &format!("{base}/data/auth"))
        .header("Cookie", &cookie)
        .send("auth");
    assert_eq!(
        server.prearchive_sessions().len(),
        1,
        "E2 auto-archived, E1 held"
    );
    // commit: 409 while busy, then 301 with the archive URI
    server.set_faults(Faults {
        busy_commits: 1,
        ..Default::default()
    });
    let commit = || {
        let r = agent
            .request(
                Method::Post,
                &format!("{base}{}?action=commit&XNAT_CSRF={csrf}", uri.trim()),
            )
            .header("Cookie", &cookie)
            .body(Vec::new())
            .send("commit")
            .expect("commit");
        (r.status, r.body)
    };
    assert_eq!(commit().0, 409);
    assert_eq!(
        commit(),
        (
            301,
            "/data/archive/projects/TRIAL/subjects/S1/experiments/E1".to_string()
        )
    );
    let listing: Value = serde_json::from_str(
        &agent
            .request(
                Method::Get,
                &format!(
                    "{base}/data/archive/projects/TRIAL/subjects/S1/experiments/E1/scans/ALL/files?format=json"
                ),
            )
            .header("Cookie", &cookie)
            .send("list")
            .expect("list")
            .body,
    )
    .expect("json");
    let rows = listing["ResultSet"]["Result"].as_array().expect("rows");
    assert_eq!(rows.len(), n_files);
    for row in rows {
        assert_eq!(row["digest"].as_str().map(str::len), Some(32), "{row}");
        assert!(row["Size"].as_str().is_some(), "sizes are strings: {row}");
    }
    // wrong secret → 401
    let r = agent
        .request(Method::Post, &format!("{base}/data/JSESSION"))
        .header(
            "Authorization",
            &format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("alice:nope")
            ),
        )
        .body(Vec::new())
        .send("login")
        .expect("login");
    assert_eq!(r.status, 401);
}

/// `xnat+https` verifies certificates: a site with a self-signed certificate is refused at once,
/// for good, with a message that says what to do, and nothing is sent.
#[test]
fn untrusted_certificate_is_refused() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
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
    let (cfg, count) = (config.clone(), handshakes.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let Ok(conn) = rustls::ServerConnection::new(cfg.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut buf = [0u8; 1024];
            // the client must abort the handshake; nothing readable ever arrives
            let _ = std::io::Read::read(&mut tls, &mut buf);
        }
    });
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus(tmp.path(), 1);
    let to = format!("xnat+https://alice@127.0.0.1:{port}?project=TRIAL");
    let started = std::time::Instant::now();
    let r = deposit(
        tmp.path(),
        &["send", &dir.display().to_string(), "--to", &to, "--json"],
        Some(SECRET),
    );
    // the job is queued and its studies fail at once with what to do (not left waiting as
    // "offline"): `queue retry` delivers them once the destination's trust is set
    assert_eq!(r.code, 1, "{}", r.all);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let s = r.json.clone().unwrap_or_else(|| panic!("{}", r.all));
    assert_eq!(s["sent"], 0, "{s}");
    assert_eq!(s["waiting"], 0, "{s}");
    let studies = s["problems"].as_array().map_or(0, Vec::len);
    assert!(studies >= 1 && s["failed"].as_u64() > Some(0), "{s}");
    assert!(
        r.all.contains("a CA certificate used as the server's own")
            && r.all.contains("deposit destination pin"),
        "a message that says what to do: {}",
        r.all
    );
    assert!(!r.all.contains(SECRET));
    // the probe, then one refused handshake per study: nothing retried
    let n = handshakes.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        n <= 1 + studies,
        "refused at once, not retried: {n} handshakes"
    );
}

/// No secret anywhere: a configuration error (exit 2) that says where secrets come from.
#[test]
fn missing_secret_is_a_configuration_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus(tmp.path(), 1);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    let r = deposit(
        tmp.path(),
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &dest(&server, ""),
        ],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.all);
    assert!(
        r.all
            .contains("no password or token is stored for user 'alice'")
            && r.all.contains("deposit login")
            && r.all.contains("DEPOSIT_PASSWORD")
            && !r.all.contains("unknown destination"),
        "{}",
        r.all
    );
    assert!(server.seen().is_empty(), "nothing asked of the server");
}

/// Offline-first: the server goes away mid-send (connections refused) for longer than the
/// retries of one request, then comes back; the same `deposit send` process waits, says so,
/// resumes by itself and verifies everything.
#[test]
fn server_offline_mid_send_is_waited_out_by_the_same_process() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, instances) = corpus(tmp.path(), 3);
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    server.set_faults(Faults {
        slow_imports: 1000,
        slow_delay: Duration::from_millis(300),
        ..Default::default()
    });
    let stderr_path = tmp.path().join("stderr.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args([
            "send",
            &dir.display().to_string(),
            "--to",
            &dest(&server, ""),
            "--json",
            "--concurrency",
            "1",
        ])
        .env("DEPOSIT_HOME", tmp.path().join("home"))
        .env("HOME", tmp.path())
        .env("DEPOSIT_PASSWORD", SECRET)
        .env_remove("NETRC")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while imports(&server) < 1 && std::time::Instant::now() < deadline {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished too early"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    server.go_offline();
    std::thread::sleep(Duration::from_secs(9));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the send gave up while the server was away"
    );
    server.go_online().expect("back");
    let out = child.wait_with_output().expect("wait");
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let s: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(out.status.code(), Some(0), "{s}\n{stderr}");
    assert!(
        stderr.contains("offline — will resume when online"),
        "{stderr}"
    );
    assert!(stderr.contains("back online"), "{stderr}");
    assert!(n(&s, "offline_periods") >= 1, "{s}");
    assert_eq!(n(&s, "failed"), 0, "{s}");
    let delivered = n(&s, "sent") + n(&s, "already_present");
    assert_eq!(delivered + n(&s, "quarantined"), instances, "{s}");
    assert_eq!(n(&s, "verified"), delivered, "{s}");
    let on_server = md5_counts(&server.archive_files());
    assert!(on_server.values().all(|c| *c == 1), "no duplicates");
    assert_eq!(on_server, md5_counts(&outbox(tmp.path())));
    assert!(server.prearchive_files().is_empty());
}

/// A send whose requests are further apart than the site's session timeout: the heartbeat keeps
/// the session alive (one login, no 401); without it the session expires and is logged into
/// again.
#[test]
fn heartbeat_keeps_the_session_alive_through_long_requests() {
    for heartbeat in [1u64, 0] {
        let tmp = tempfile::tempdir().expect("tmp");
        let (_, instances) = corpus(tmp.path(), 1);
        let cfg = Config {
            session_ttl: Some(Duration::from_secs(3)),
            ..Default::default()
        };
        let server = Server::start(&tmp.path().join("xnat"), cfg).expect("server");
        server.set_faults(Faults {
            slow_imports: 2,
            slow_delay: Duration::from_secs(5),
            ..Default::default()
        });
        let to = dest(&server, &format!("&heartbeat={heartbeat}"));
        let incoming = tmp.path().join("incoming").display().to_string();
        let r = deposit(
            tmp.path(),
            &[
                "send",
                &incoming,
                "--to",
                &to,
                "--json",
                "--concurrency",
                "1",
            ],
            Some(SECRET),
        );
        let s = r.json.clone().unwrap_or_else(|| panic!("{}", r.all));
        assert_eq!(r.code, 0, "{s} {}", r.all);
        assert_eq!(n(&s, "sent") + n(&s, "quarantined"), instances, "{s}");
        let seen = server.seen();
        let logins = seen
            .iter()
            .filter(|x| x.method == "POST" && x.path == "/data/JSESSION")
            .count();
        let expired = seen.iter().filter(|x| x.status == 401).count();
        if heartbeat > 0 {
            assert_eq!((logins, expired), (1, 0), "heartbeat on");
            assert!(seen
                .iter()
                .any(|x| x.method == "GET" && x.path == "/data/JSESSION"));
        } else {
            assert!(
                logins >= 2 && expired >= 1,
                "control: {logins} logins, {expired} 401s"
            );
        }
    }
}

/// Non-DICOM resources at project, subject, session and scan level and a scan's QC status,
/// delivered with the study, checked on the server's disk and in its listings, recorded in
/// the audit; a second send is idempotent (overwrite=true).
#[test]
fn resources_and_scan_quality_go_with_the_study() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, _) = corpus(tmp.path(), 2);
    let study = dir.join("study001");
    let scan = std::fs::read_dir(&study)
        .expect("study dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| {
            n.strip_prefix("series")
                .map(|d| d.trim_start_matches('0').to_string())
        })
        .min()
        .expect("a series");
    let files = tmp.path().join("extras");
    std::fs::create_dir_all(&files).expect("dir");
    let mk = |name: &str, body: &[u8]| {
        let p = files.join(name);
        std::fs::write(&p, body).expect("write");
        p.display().to_string()
    };
    let protocol = mk("protocol.pdf", b"%PDF-1.4 protocol v2");
    let consent = mk("consent_log.txt", b"consent on file");
    let nifti = mk("brain.nii", &[7u8; 4096]);
    let snap = mk("snapshot.png", b"\x89PNG fake");
    let server = Server::start(&tmp.path().join("xnat"), Config::default()).expect("server");
    let to = dest(&server, "");
    let args = [
        "send".to_string(),
        study.display().to_string(),
        "--to".into(),
        to.clone(),
        "--json".into(),
        "--resource".into(),
        format!("project:DOCS={protocol}"),
        "--resource".into(),
        format!("subject:CONSENT={consent}"),
        "--resource".into(),
        format!("session:NIFTI={nifti}"),
        "--resource".into(),
        format!("scan:{scan}:QC={snap}"),
        "--scan-quality".into(),
        format!("{scan}=questionable"),
        // bodies (imports and resource PUTs) go through the bandwidth cap's metered reader
        "--max-rate".into(),
        "50MB/s".into(),
    ];
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = deposit(tmp.path(), &argv, Some(SECRET));
    let s = r.json.clone().unwrap_or_else(|| panic!("{}", r.all));
    assert_eq!(r.code, 0, "{s} {}", r.all);
    let q = deposit(tmp.path(), &["queue", "list", "--json"], None);
    let jobs = q.json.unwrap_or_else(|| panic!("{}", q.all));
    let st = &jobs["jobs"][0]["studies"][0];
    assert_eq!(st["state"], "verified", "{st}");
    let (subj, sess) = (
        st["labels"]["subject"].as_str().expect("subject"),
        st["labels"]["session"].as_str().expect("session"),
    );
    let root = tmp.path().join("xnat/archive/TRIAL");
    let expect = [
        (
            root.join("resources/DOCS/files/protocol.pdf"),
            &b"%PDF-1.4 protocol v2"[..],
        ),
        (
            root.join(subj)
                .join("resources/CONSENT/files/consent_log.txt"),
            b"consent on file",
        ),
        (
            root.join(subj)
                .join(sess)
                .join("resources/NIFTI/files/brain.nii"),
            &[7u8; 4096],
        ),
        (
            root.join(subj)
                .join(sess)
                .join("scans")
                .join(&scan)
                .join("resources/QC/files/snapshot.png"),
            b"\x89PNG fake",
        ),
    ];
    for (p, body) in &expect {
        assert_eq!(
            std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            *body
        );
    }
    assert_eq!(
        server.scan_quality("TRIAL", subj, sess, &scan),
        "questionable"
    );
    let audit = &st["audit"];
    assert_eq!(
        audit["resources"].as_array().map(Vec::len),
        Some(4),
        "{audit}"
    );
    assert!(audit["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|x| x["state"] == "acknowledged" && x["uri"].is_string()));
    assert_eq!(
        audit["scan_quality"][0]["quality"], "questionable",
        "{audit}"
    );
    // the same again: overwrite, no failure, nothing doubled
    let r = deposit(tmp.path(), &argv, Some(SECRET));
    assert_eq!(r.code, 0, "{}", r.all);
    assert_eq!(
        files_under(&root.join(subj).join(sess).join("resources")).len(),
        1
    );

    // session-level extras with a send of several studies are refused up front (exit 2)
    let r = deposit(
        tmp.path(),
        &[
            "send",
            &dir.display().to_string(),
            "--to",
            &to,
            "--resource",
            &format!("session:NIFTI={nifti}"),
        ],
        Some(SECRET),
    );
    assert_eq!(r.code, 2, "{}", r.all);
    assert!(r.all.contains("exactly one study"), "{}", r.all);
}
