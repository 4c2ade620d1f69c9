//! Crash safety: `deposit send` is killed with SIGKILL at several points of a multi-study send,
//! then resumed; the archive ends with exactly the expected instances, none missing, none
//! duplicated, and every study verified.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn dcm_files(root: &Path) -> Vec<PathBuf> {
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
    out.sort();
    out
}

fn run_json(home: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_deposit"))
        .args(args)
        .env("DEPOSIT_HOME", home)
        .output()
        .expect("run deposit");
    let s = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(s.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {s}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn killed_sends_resume_to_exactly_the_expected_archive() {
    let tmp = tempfile::tempdir().expect("tmp");
    let corpus = tmp.path().join("incoming");
    let cfg = deposit_synth::Config {
        patients: 4,
        ct_slices: 30,
        rows: 128,
        cols: 128,
        ..Default::default()
    };
    deposit_synth::generate(&corpus, &cfg).expect("corpus");
    let corpus_arg = corpus.display().to_string();

    // the reference: one uninterrupted send into its own data home and archive
    let ref_home = tmp.path().join("ref-home");
    let ref_archive = tmp.path().join("ref-archive");
    let dest = format!("folder:{}", ref_archive.display());
    let r = run_json(&ref_home, &["send", &corpus_arg, "--to", &dest, "--json"]);
    assert_eq!(r["failed"].as_u64(), Some(0), "{r}");
    let expected: Vec<PathBuf> = dcm_files(&ref_archive)
        .into_iter()
        .filter_map(|p| p.strip_prefix(&ref_archive).ok().map(Path::to_path_buf))
        .collect();
    assert!(expected.len() > 100, "a multi-study corpus");

    // the same send, killed at several points, with the same site key
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::copy(ref_home.join("site.key"), home.join("site.key")).expect("same site key");
    let archive = tmp.path().join("archive");
    let dest = format!("folder:{}", archive.display());
    // deterministic "random" kill points (ms), spread over the whole send
    let mut interrupted = 0;
    for delay in [150u64, 400, 700, 1100, 1600] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_deposit"))
            .args(["send", &corpus_arg, "--to", &dest, "--quiet"])
            .env("DEPOSIT_HOME", &home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().ok().flatten().is_none() {
            interrupted += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    assert!(
        interrupted >= 3,
        "the kills must land mid-send ({interrupted} did)"
    );
    // resume whatever was queued, then send again (already delivered files are not re-sent)
    let q = run_json(&home, &["queue", "run", "--json"]);
    assert_eq!(q["failed"].as_u64(), Some(0), "{q}");
    let again = run_json(&home, &["send", &corpus_arg, "--to", &dest, "--json"]);
    assert_eq!(again["failed"].as_u64(), Some(0), "{again}");
    assert_eq!(again["waiting"].as_u64(), Some(0), "{again}");

    let got: Vec<PathBuf> = dcm_files(&archive)
        .into_iter()
        .filter_map(|p| p.strip_prefix(&archive).ok().map(Path::to_path_buf))
        .collect();
    let partial: Vec<&PathBuf> = got
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(partial.is_empty(), "no half-written files: {partial:?}");
    let got_dcm: Vec<PathBuf> = got
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "dcm"))
        .collect();
    let exp_dcm: Vec<PathBuf> = expected
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "dcm"))
        .collect();
    assert_eq!(got_dcm, exp_dcm, "exactly the expected instances");
    for p in &exp_dcm {
        assert_eq!(
            std::fs::read(archive.join(p)).expect("got"),
            std::fs::read(ref_archive.join(p)).expect("ref"),
            "byte-identical: {}",
            p.display()
        );
    }
    // every study of every job ends verified
    let jobs = run_json(&home, &["queue", "list", "--json"]);
    for job in jobs["jobs"].as_array().expect("jobs") {
        for st in job["studies"].as_array().expect("studies") {
            assert_eq!(st["state"], "verified", "{st}");
        }
    }
}
