//! Hostile input through every command: each case of the generated corpus (support::hostile)
//! ends in a reason code and an exit status — never a signal, never a hang (a child process
//! with a 60 s deadline) — and a good file beside the hostile ones is still processed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::hostile;

type R = Result<(), Box<dyn std::error::Error>>;

/// The 1 MB → 1 GiB deflate bomb.
const BOMB_MIB: u32 = 1024;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `deposit ARGS` with a deadline: killed and failed after 60 s; failed on a signal.
fn run(home: &Path, args: &[&str]) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", home)
        .env("DEPOSIT_CONFIG", home.join("no-config.toml"))
        .env("DEPOSIT_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run deposit");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("deposit {args:?} hung (killed after 60 s)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let Some(code) = out.status.code() else {
        panic!(
            "deposit {args:?} died by a signal: {:?}\n{stderr}",
            out.status
        );
    };
    assert!(!stderr.contains("panicked"), "deposit {args:?}: {stderr}");
    Out {
        code,
        stdout,
        stderr,
    }
}

/// A good instance written by the synthetic corpus generator, copied into `dir`.
fn good_file(dir: &Path) -> PathBuf {
    let corpus = tempfile::tempdir().expect("tmp");
    let cfg = deposit_synth::Config {
        patients: 1,
        ct_slices: 1,
        rows: 16,
        cols: 16,
        ..Default::default()
    };
    let m = deposit_synth::generate(corpus.path(), &cfg).expect("synth");
    let src = m
        .files
        .iter()
        .map(|f| corpus.path().join(&f.path))
        .find(|p| p.extension().is_some_and(|x| x == "dcm"))
        .expect("a synthetic instance");
    let p = dir.join("good.dcm");
    std::fs::copy(src, &p).expect("copy");
    p
}

/// The words of a reason's sentence (what `inspect` and `deid` print) for a code.
fn sentence_fragment(code: &str) -> &'static str {
    match code {
        "too_deep" => "nested deeper",
        "truncated" => "truncated",
        "inflation_limit" => "deflate bomb",
        "not_regular_file" => "not a regular file",
        "corrupt" => "could not be parsed",
        _ => "cannot be read",
    }
}

fn skipped(v: &Value) -> Vec<(String, String)> {
    v["skipped"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap_or("").to_string(),
                s["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn scan_gives_every_hostile_file_a_reason_and_catalogs_the_good_one() -> R {
    let dir = tempfile::tempdir()?;
    let cases = hostile::write_cases(dir.path(), BOMB_MIB);
    let pipe = dir.path().join("pipe.dcm");
    hostile::fifo(&pipe);
    good_file(dir.path());
    let home = tempfile::tempdir()?;
    let out = run(
        home.path(),
        &["scan", "--json", dir.path().to_str().ok_or("utf8")?],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let v: Value = serde_json::from_str(out.stdout.trim())?;
    let sk = skipped(&v);
    let code_of = |p: &Path| {
        sk.iter()
            .find(|(s, _)| Path::new(s) == p)
            .map(|(_, c)| c.clone())
    };
    for (path, codes) in &cases {
        let got = code_of(path);
        assert!(
            got.as_deref().is_some_and(|c| codes.contains(&c)),
            "{}: {got:?}, expected one of {codes:?}; all: {sk:?}",
            path.display()
        );
    }
    assert_eq!(
        code_of(&pipe).as_deref(),
        Some("not_regular_file"),
        "{sk:?}"
    );
    assert_eq!(v["instances"], 1, "the good file is catalogued: {v}");
    Ok(())
}

#[test]
fn a_dicomdir_record_naming_a_fifo_is_skipped_not_waited_for() -> R {
    let dir = tempfile::tempdir()?;
    hostile::fifo(&dir.path().join("IMG1"));
    let dicomdir = hostile::dicomdir_to(dir.path(), "IMG1");
    let home = tempfile::tempdir()?;
    let out = run(
        home.path(),
        &["scan", "--json", dicomdir.to_str().ok_or("utf8")?],
    );
    let v: Value = serde_json::from_str(out.stdout.trim())?;
    let sk = skipped(&v);
    assert!(
        sk.iter()
            .any(|(p, c)| p.ends_with("IMG1") && c == "not_regular_file"),
        "{sk:?}\n{}",
        out.stderr
    );
    assert_eq!(out.code, 1, "{v}");
    Ok(())
}

#[test]
fn deid_holds_every_hostile_file_and_writes_the_good_one() -> R {
    let dir = tempfile::tempdir()?;
    let cases = hostile::write_cases(dir.path(), BOMB_MIB);
    good_file(dir.path());
    let outdir = tempfile::tempdir()?;
    let home = tempfile::tempdir()?;
    let out = run(
        home.path(),
        &[
            "deid",
            dir.path().to_str().ok_or("utf8")?,
            "--out",
            outdir.path().to_str().ok_or("utf8")?,
            "--json",
        ],
    );
    // set aside with a reason is exit 0 (README: exit status)
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let v: Value = serde_json::from_str(out.stdout.trim())?;
    assert_eq!(v["written"], 1, "the good file is written: {v}");
    let held = v["quarantine"].as_array().cloned().unwrap_or_default();
    assert_eq!(held.len(), cases.len(), "{v}");
    for (path, codes) in &cases {
        let entry = held
            .iter()
            .find(|q| q["path"].as_str().is_some_and(|p| Path::new(p) == path))
            .ok_or_else(|| format!("{} not held: {v}", path.display()))?;
        let reason = entry["reason"].as_str().unwrap_or("");
        // raw data sets are not Part-10 files: deid refuses them by their missing file meta
        let raw = path.extension().is_none();
        assert!(
            raw || codes.iter().any(|c| reason.contains(sentence_fragment(c))),
            "{}: {reason}",
            path.display()
        );
    }
    Ok(())
}

#[test]
fn inspect_and_preview_end_with_a_reason_for_every_hostile_file() -> R {
    let dir = tempfile::tempdir()?;
    let mut cases = hostile::write_cases(dir.path(), BOMB_MIB);
    let pipe = dir.path().join("pipe.dcm");
    hostile::fifo(&pipe);
    cases.push((pipe, &["not_regular_file"]));
    cases.push((PathBuf::from("/dev/zero"), &["not_regular_file"]));
    let home = tempfile::tempdir()?;
    let png = dir.path().join("out.png");
    for (path, codes) in &cases {
        // raw data sets without file meta are not Part-10 files: inspect/preview refuse them
        // by layout; the hostile content is covered by scan
        let raw = path.extension().is_none() && !path.starts_with("/dev");
        let p = path.to_str().ok_or("utf8")?;
        let out = run(home.path(), &["inspect", p, "--json"]);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert_ne!(out.code, 0, "inspect {p}: {all}");
        if !raw {
            assert!(
                codes.iter().any(|c| all.contains(sentence_fragment(c))),
                "inspect {p}: {codes:?}: {all}"
            );
        }
        let out = run(
            home.path(),
            &["preview", p, "--out", png.to_str().ok_or("utf8")?],
        );
        let all = format!("{}{}", out.stdout, out.stderr);
        assert_ne!(out.code, 0, "preview {p}: {all}");
        if !raw {
            assert!(
                codes.iter().any(|c| all.contains(c)),
                "preview {p}: {codes:?}: {all}"
            );
        }
    }
    Ok(())
}

/// The receiver's data-set path (`read_header` on the spooled Part-10 file), in process: a
/// C-STORE-sized (~40 KB) data set nested 2,000 levels is refused as `too_deep` on an ordinary
/// test thread, and a deflated one claiming 4 GB as `truncated`.
#[test]
fn the_receivers_reader_refuses_deep_and_lying_data_sets() -> R {
    use deposit::intake::{read_header, SkipReason};
    let dir = tempfile::tempdir()?;
    let id = "2.25.4242777";
    let ds = hostile::deep_dataset(hostile::Enc::ImplicitLe, 1_300, id);
    assert!(ds.len() < 48 * 1024, "{}", ds.len());
    let p = dir.path().join("deep.dcm");
    std::fs::write(&p, hostile::part10(hostile::IMPLICIT_LE, id, &ds))?;
    assert_eq!(read_header(&p).err(), Some(SkipReason::TooDeep));
    let ds = hostile::false_length_dataset(hostile::Enc::ExplicitLe, 0xFFFF_FFF0, 8, id);
    std::fs::write(
        &p,
        hostile::part10(hostile::DEFLATED, id, &hostile::deflate(&ds)),
    )?;
    assert_eq!(read_header(&p).err(), Some(SkipReason::Truncated));
    // within the cap, deflated, read whole
    let ds = hostile::deep_dataset(hostile::Enc::ExplicitLe, 8, id);
    std::fs::write(
        &p,
        hostile::part10(hostile::DEFLATED, id, &hostile::deflate(&ds)),
    )?;
    match read_header(&p) {
        Ok(deposit::intake::Read1::Instance(h)) => assert_eq!(h.sop_instance_uid, id),
        other => panic!("{other:?}"),
    }
    Ok(())
}

/// Not a test: writes the hostile corpus (and a good file, a FIFO and a DICOMDIR whose record is
/// a FIFO) into `$DEPOSIT_HOSTILE_OUT` for `benches/hostile.sh`.
#[test]
#[ignore = "writes the corpus for benches/hostile.sh"]
fn write_corpus_for_the_benchmark() {
    let Some(out) = std::env::var_os("DEPOSIT_HOSTILE_OUT").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&out).expect("mkdir");
    hostile::write_cases(&out, BOMB_MIB);
    hostile::fifo(&out.join("pipe.dcm"));
    let media = out.join("media");
    std::fs::create_dir_all(&media).expect("mkdir");
    hostile::fifo(&media.join("IMG1"));
    hostile::dicomdir_to(&media, "IMG1");
    good_file(&out);
}

/// `deposit receive` on a free loopback port (stderr drained); killed on drop.
struct Receiver {
    child: std::process::Child,
    port: u16,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Receiver {
    fn start(home: &Path) -> Receiver {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_deposit"))
            .args([
                "receive",
                "--aet",
                "DEPOSIT",
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
            ])
            .arg("--json")
            .env("DEPOSIT_HOME", home)
            .env("DEPOSIT_CONFIG", home.join("no-config.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start deposit receive");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().expect("stderr");
        let buf = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
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
        let port = rx.recv_timeout(Duration::from_secs(60)).unwrap_or(0);
        assert_ne!(port, 0, "deposit receive did not start");
        Receiver { child, port, log }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One C-STORE nested 2,500 levels (80 KB; about 2,000 aborted `deposit receive` before the
/// cap) sent by dcmtk's storescu: refused with a failure status, the receiver stays up and
/// stores the next, good instance.
#[test]
fn the_receiver_refuses_a_deeply_nested_c_store_and_keeps_serving() -> R {
    let Some(scu) = ["/usr/bin/storescu", "/usr/local/bin/storescu"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
    else {
        assert!(
            std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() != Ok("1"),
            "storescu is required"
        );
        eprintln!("SKIPPED: storescu not installed");
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let id = "2.25.4242888";
    let deep = dir.path().join("deep.dcm");
    let ds = hostile::deep_dataset(hostile::Enc::ImplicitLe, hostile::DEEP, id);
    std::fs::write(&deep, hostile::part10(hostile::IMPLICIT_LE, id, &ds))?;
    let good = good_file(dir.path());
    let home = tempfile::tempdir()?;
    let mut rx = Receiver::start(home.path());
    let port = rx.port;
    let send = |file: &Path| {
        let out = Command::new(scu)
            .args([
                "-v",
                "-aet",
                "HOSTILE",
                "-aec",
                "DEPOSIT",
                "-to",
                "30",
                "127.0.0.1",
            ])
            .arg(port.to_string())
            .arg(file)
            .output()
            .expect("storescu");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let refused = send(&deep);
    assert!(
        rx.alive(),
        "the receiver died: {}",
        rx.log.lock().map(|l| l.clone()).unwrap_or_default()
    );
    assert!(
        refused.contains("Store Response (Error: CannotUnderstand)"),
        "{refused}"
    );
    let stored = send(&good);
    assert!(rx.alive());
    assert!(stored.contains("Store Response (Success)"), "{stored}");
    let spooled: Vec<_> = walkdir_files(&home.path().join("incoming"));
    assert!(!spooled.is_empty(), "the good instance is stored");
    let log = rx.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(
        !log.contains("panicked") && !log.contains("overflow"),
        "{log}"
    );
    Ok(())
}

fn walkdir_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The bounded inflation reads a real deflated instance exactly as the plain one: the good
/// synthetic file's data set deflated under a Deflated Explicit VR Little Endian meta group.
#[test]
fn a_legitimate_deflated_instance_reads_like_its_plain_twin() -> R {
    use dicom_dictionary_std::tags;
    let dir = tempfile::tempdir()?;
    let plain = std::fs::read(good_file(dir.path()))?;
    let group_len = u32::from_le_bytes(plain[140..144].try_into()?) as usize;
    let dataset = &plain[144 + group_len..];
    let a = deposit::intake::open_bytes(&plain).map_err(|e| e.sentence())?;
    let sop = a
        .element(tags::SOP_INSTANCE_UID)?
        .to_str()?
        .trim_end_matches('\0')
        .to_string();
    let deflated = hostile::part10(hostile::DEFLATED, &sop, &hostile::deflate(dataset));
    let b = deposit::intake::open_bytes(&deflated).map_err(|e| e.sentence())?;
    assert_eq!(b.meta().transfer_syntax(), hostile::DEFLATED);
    for tag in [
        tags::SOP_INSTANCE_UID,
        tags::STUDY_INSTANCE_UID,
        tags::ROWS,
        tags::PIXEL_DATA,
    ] {
        assert_eq!(
            a.element(tag)?.to_bytes()?,
            b.element(tag)?.to_bytes()?,
            "{tag}"
        );
    }
    let p = dir.path().join("deflated.dcm");
    std::fs::write(&p, &deflated)?;
    match deposit::intake::read_header(&p) {
        Ok(deposit::intake::Read1::Instance(h)) => {
            assert_eq!(h.sop_instance_uid, sop);
            assert_eq!(h.transfer_syntax, hostile::DEFLATED);
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}
