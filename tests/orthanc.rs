//! Delivery to real DICOM peers started by the test on loopback: Orthanc (C-STORE SCP and the
//! DICOMweb plugin's STOW-RS/QIDO-RS) and dcmtk's `storescp`. Contents are checked through
//! Orthanc's REST API and the files it hands back (no canary may survive), re-sends must not
//! duplicate, and a destination that is down leaves the job waiting until `deposit queue run`.
//!
//! Peers missing: the tests fail when DEPOSIT_REQUIRE_PEERS=1, else they skip with a message.

use crate::support;

use support::cli::deposit;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn peer(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("peer program '{name}' is required (DEPOSIT_REQUIRE_PEERS=1) but missing");
        }
        eprintln!("SKIPPED: peer program '{name}' not installed");
    }
    found
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn get_bytes(url: &str) -> (u16, Vec<u8>) {
    let client = deposit::archive::http::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    client
        .request(deposit::archive::http::Method::Get, url)
        .body_limit(256 * 1024 * 1024)
        .send_bytes("GET")
        .unwrap_or((0, Vec::new()))
}

fn get_json(url: &str) -> Value {
    let (status, body) = get_bytes(url);
    assert_eq!(status, 200, "GET {url}");
    serde_json::from_slice(&body).expect("json")
}

/// An Orthanc started on loopback with its own storage, killed (and reaped) on drop.
struct Orthanc {
    child: Child,
    http: u16,
    dicom: u16,
}

const ORTHANC_AE: &str = "ORTHANC";

fn orthanc_config(dir: &Path, http: u16, dicom: u16) -> PathBuf {
    let db = dir.join("db");
    std::fs::create_dir_all(&db).expect("mkdir db");
    let cfg = serde_json::json!({
        "Name": "deposit-test",
        "StorageDirectory": db,
        "IndexDirectory": db,
        "HttpPort": http,
        "DicomPort": dicom,
        "DicomAet": ORTHANC_AE,
        "DicomCheckCalledAet": true,
        "RemoteAccessAllowed": false,
        "AuthenticationEnabled": false,
        "DicomAlwaysAllowEcho": false,
        "DicomAlwaysAllowStore": false,
        "DicomCheckModalityHost": true,
        "DicomModalities": {
            "deposit": ["DEPOSIT", "127.0.0.1", 11112],
            "storescu": ["STORESCU", "127.0.0.1", 11113]
        },
        "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
        "DicomWeb": {
            "Enable": true, "Root": "/dicom-web/", "EnableWado": true,
            "WadoRoot": "/wado", "Host": format!("127.0.0.1:{http}"), "Ssl": false
        },
        "StorageCompression": false,
        "HttpDescribeErrors": true
    });
    let path = dir.join("orthanc.json");
    std::fs::write(&path, cfg.to_string()).expect("write config");
    path
}

impl Orthanc {
    fn start(bin: &Path, dir: &Path, http: u16, dicom: u16) -> Orthanc {
        let cfg = orthanc_config(dir, http, dicom);
        let child = Command::new(bin)
            .arg(format!("--logdir={}", dir.display()))
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Orthanc");
        let mut o = Orthanc { child, http, dicom };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = get_bytes(&format!("http://127.0.0.1:{http}/plugins"));
            if status == 200 {
                let plugins = String::from_utf8_lossy(&body).to_string();
                assert!(
                    plugins.contains("dicom-web"),
                    "plugin not loaded: {plugins}"
                );
                break;
            }
            if let Ok(Some(st)) = o.child.try_wait() {
                panic!("Orthanc exited early ({st}); see {}", dir.display());
            }
            assert!(Instant::now() < deadline, "Orthanc did not come up");
            std::thread::sleep(Duration::from_millis(200));
        }
        // the DICOM port comes up with the HTTP one, but make sure
        while std::net::TcpStream::connect(("127.0.0.1", dicom)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Orthanc DICOM port did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        o
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http)
    }

    fn instance_ids(&self) -> Vec<String> {
        get_json(&self.url("/instances"))
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// Downloads every stored instance into `out`; returns their SOP Instance UIDs.
    fn download_all(&self, out: &Path) -> Vec<String> {
        std::fs::create_dir_all(out).expect("mkdir");
        let mut uids = Vec::new();
        for id in self.instance_ids() {
            let (status, bytes) = get_bytes(&self.url(&format!("/instances/{id}/file")));
            assert_eq!(status, 200);
            std::fs::write(out.join(format!("{id}.dcm")), &bytes).expect("write");
            let tags = get_json(&self.url(&format!("/instances/{id}/simplified-tags")));
            uids.push(tags["SOPInstanceUID"].as_str().unwrap_or("").to_string());
        }
        uids.sort();
        uids
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Corpus {
    dir: PathBuf,
    instances: u64,
    canaries: Vec<String>,
}

fn corpus(root: &Path, patients: usize) -> Corpus {
    let dir = root.join("incoming");
    let cfg = deposit_synth::Config {
        patients,
        ct_slices: 3,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    let m = deposit_synth::generate(&dir, &cfg).expect("generate corpus");
    Corpus {
        dir,
        instances: m.counts.instances,
        canaries: m
            .canaries
            .iter()
            .filter(|c| c.kind != "pixels")
            .map(|c| c.canary.clone())
            .collect(),
    }
}

/// The audit URIs of the studies in the queue.
fn audit_uris(home: &Path) -> Vec<String> {
    let (_, jobs, _) = deposit(home, &["queue", "list", "--json"]);
    let mut out = Vec::new();
    for j in jobs["jobs"].as_array().into_iter().flatten() {
        for st in j["studies"].as_array().into_iter().flatten() {
            out.push(st["audit"]["uri"].as_str().unwrap_or("").to_string());
        }
    }
    out
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(u64::MAX)
}

/// Sends the corpus, checks the summary, Orthanc's holdings and the bytes it gives back.
fn send_and_check(
    tmp: &Path,
    home: &Path,
    c: &Corpus,
    o: &Orthanc,
    dest: &str,
    label: &str,
) -> Vec<String> {
    let (code, s, stderr) = deposit(
        home,
        &["send", &c.dir.display().to_string(), "--to", dest, "--json"],
    );
    assert_eq!(code, 0, "{label}: json {s}; stderr {stderr}");
    assert_eq!(n(&s, "failed"), 0, "{s}");
    assert_eq!(n(&s, "waiting"), 0, "{s}");
    assert!(
        n(&s, "quarantined") >= 1,
        "burned-in ultrasound is held: {s}"
    );
    let delivered = n(&s, "sent") + n(&s, "already_present");
    assert_eq!(delivered + n(&s, "quarantined"), c.instances, "{s}");
    assert_eq!(n(&s, "verified"), delivered, "{s}");
    let back = tmp.join(format!("back-{label}"));
    let uids = o.download_all(&back);
    assert_eq!(
        uids.len() as u64,
        delivered,
        "Orthanc holds each instance once"
    );
    let canaries: Vec<&str> = c.canaries.iter().map(String::as_str).collect();
    assert!(canaries.len() > 10);
    support::canary::assert_no_leaks(&back, &canaries);
    uids
}

#[test]
fn cstore_to_orthanc_delivers_clean_instances_once() {
    let Some(bin) = peer("Orthanc") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let c = corpus(tmp.path(), 2);
    let o = Orthanc::start(&bin, &tmp.path().join("orthanc"), free_port(), free_port());
    let home = tmp.path().join("home");
    let dest = format!("dicom://{ORTHANC_AE}@127.0.0.1:{}", o.dicom);
    let first = send_and_check(tmp.path(), &home, &c, &o, &dest, "cstore-1");
    // sending again stores nothing new (same UIDs, same count)
    let again = send_and_check(tmp.path(), &home, &c, &o, &dest, "cstore-2");
    assert_eq!(first, again);
    let uris = audit_uris(&home);
    assert!(!uris.is_empty());
    for u in &uris {
        assert!(u.ends_with("(verified by C-FIND)"), "{u}");
    }

    // a called AE the peer does not recognise: refused for good, nothing queued as waiting
    let wrong = format!("dicom://NOT_ORTHANC@127.0.0.1:{}", o.dicom);
    let (code, v, _) = deposit(
        &home,
        &[
            "send",
            &c.dir.display().to_string(),
            "--to",
            &wrong,
            "--json",
        ],
    );
    assert_ne!(code, 0, "{v}");
    assert_eq!(v["error"]["code"], "archive.rejected", "{v}");
    assert_eq!(v["error"]["class"], "permanent", "{v}");
}

#[test]
fn stow_rs_to_orthanc_delivers_clean_instances_once() {
    let Some(bin) = peer("Orthanc") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let c = corpus(tmp.path(), 2);
    let o = Orthanc::start(&bin, &tmp.path().join("orthanc"), free_port(), free_port());
    let home = tmp.path().join("home");
    let dest = format!("dicomweb+http://127.0.0.1:{}/dicom-web", o.http);
    let first = send_and_check(tmp.path(), &home, &c, &o, &dest, "stow-1");
    let again = send_and_check(tmp.path(), &home, &c, &o, &dest, "stow-2");
    assert_eq!(first, again);
}

#[test]
fn destination_down_waits_then_queue_run_completes() {
    let Some(bin) = peer("Orthanc") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let c = corpus(tmp.path(), 1);
    let (http, dicom) = (free_port(), free_port());
    let home = tmp.path().join("home");
    let dest = format!("dicom://{ORTHANC_AE}@127.0.0.1:{dicom}");
    // `--offline-wait 0`: leave the job queued instead of waiting for the peer (the default)
    let (code, s, stderr) = deposit(
        &home,
        &[
            "send",
            &c.dir.display().to_string(),
            "--to",
            &dest,
            "--json",
            "--offline-wait",
            "0",
        ],
    );
    assert_eq!(code, 1, "{s}; {stderr}");
    assert!(n(&s, "waiting") > 0, "{s}");
    assert_eq!((n(&s, "sent"), n(&s, "failed")), (0, 0), "{s}");

    let o = Orthanc::start(&bin, &tmp.path().join("orthanc"), http, dicom);
    let (code, r, stderr) = deposit(&home, &["queue", "run", "--json"]);
    assert_eq!(code, 0, "{r}; {stderr}");
    assert_eq!(n(&r, "waiting"), 0, "{r}");
    let expected = c.instances - n(&s, "quarantined");
    assert_eq!(n(&r, "sent"), expected, "{r}");
    assert_eq!(n(&r, "verified"), expected, "{r}");
    assert_eq!(o.instance_ids().len() as u64, expected);
}

#[test]
fn cstore_to_dcmtk_storescp() {
    let Some(bin) = peer("storescp") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let c = corpus(tmp.path(), 1);
    let out = tmp.path().join("scp");
    std::fs::create_dir_all(&out).expect("mkdir");
    let port = free_port();
    let mut scp = Command::new(bin)
        .args(["-aet", "STORESCP", "+xa", "-od"])
        .arg(&out)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start storescp");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "storescp did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let home = tmp.path().join("home");
    let dest = format!("dicom://STORESCP@127.0.0.1:{port}?calling=DEPOSIT");
    let (code, s, stderr) = deposit(
        &home,
        &[
            "send",
            &c.dir.display().to_string(),
            "--to",
            &dest,
            "--json",
        ],
    );
    let _ = scp.kill();
    let _ = scp.wait();
    assert_eq!(code, 0, "{s}; {stderr}");
    let received = std::fs::read_dir(&out).expect("read").count() as u64;
    assert_eq!(received, n(&s, "sent"), "{s}");
    assert_eq!(n(&s, "verified"), n(&s, "sent"), "{s}");
    assert_eq!(n(&s, "sent") + n(&s, "quarantined"), c.instances, "{s}");
    let canaries: Vec<&str> = c.canaries.iter().map(String::as_str).collect();
    support::canary::assert_no_leaks(&out, &canaries);
    // storescp answers no queries: verification falls back to the C-STORE statuses
    for u in audit_uris(&home) {
        assert!(
            u.ends_with("(verified by per-instance C-STORE status)"),
            "{u}"
        );
    }
}
