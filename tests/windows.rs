//! The Windows build (`installers/build-windows.sh`: deposit.exe and its installers, under
//! target/windows/) run under wine: the same corpus de-identified to the same bytes as the Linux
//! build, a scan through a DICOMDIR, delivery to the folder archive and to the XNAT test server,
//! a C-STORE receive from dcmtk's storescu, and the per-user installer installing, upgrading
//! and uninstalling without touching the data home. Needs wine and the build (made by
//! `installers/setup-debian.sh --test`); missing, the tests fail under DEPOSIT_REQUIRE_PEERS=1.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use deposit_xnat_server::{Config, Server};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require_peers() -> bool {
    std::env::var_os("DEPOSIT_REQUIRE_PEERS").is_some_and(|v| v == "1")
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The wine prefix of this test run, made once: wine's own start-up, then the test-only
/// `bcryptprimitives.dll` (Debian's wine 8 lacks `ProcessPrng`, which Rust programs call; every
/// Windows 10/11 has it) built from tests/windows/processprng.c into its system32.
fn prefix() -> Result<&'static Path, String> {
    static PREFIX: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PREFIX
        .get_or_init(|| {
            which("wine").ok_or("wine is not installed")?;
            let gcc = which("x86_64-w64-mingw32-gcc").ok_or("the mingw C compiler is missing")?;
            let prefix = root().join("target/windows/wine-prefix");
            let sys32 = prefix.join("drive_c/windows/system32");
            if !sys32.join("kernel32.dll").exists() {
                let out = Command::new("wine")
                    .args(["cmd", "/c", "exit"])
                    .env("WINEPREFIX", &prefix)
                    .env("WINEDEBUG", "-all")
                    .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
                    .output()
                    .map_err(|e| format!("wine: {e}"))?;
                if !sys32.join("kernel32.dll").exists() {
                    return Err(format!("wine could not make its prefix: {out:?}"));
                }
            }
            let shim = sys32.join("bcryptprimitives.dll");
            if !shim.exists() {
                let src = root().join("tests/windows");
                let out = Command::new(gcc)
                    .arg("-shared")
                    .arg("-O2")
                    .arg("-o")
                    .arg(&shim)
                    .arg(src.join("processprng.c"))
                    .arg(src.join("processprng.def"))
                    .arg("-ladvapi32")
                    .output()
                    .map_err(|e| format!("mingw gcc: {e}"))?;
                if !out.status.success() {
                    return Err(format!("the ProcessPrng shim does not build: {out:?}"));
                }
            }
            Ok(prefix)
        })
        .as_deref()
        .map_err(Clone::clone)
}

fn dist() -> PathBuf {
    root().join("target/windows/dist")
}

/// Wine and the Windows build are here; otherwise the test fails (peers required) or is
/// skipped with why.
fn ready() -> bool {
    let why = match prefix() {
        Err(e) => e,
        Ok(_) if !dist().join("deposit.exe").is_file() => {
            "target/windows/dist/deposit.exe is missing (installers/build-windows.sh)".into()
        }
        Ok(_) => return true,
    };
    assert!(!require_peers(), "the Windows tests cannot run: {why}");
    eprintln!("skipped: {why}");
    false
}

/// A Windows program under wine, with this test's data home and no configuration file.
fn wine(exe: &Path, home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("wine");
    c.arg(exe)
        .args(args)
        .env("WINEPREFIX", prefix().expect("prefix"))
        .env("WINEDEBUG", "-all")
        .env("DEPOSIT_HOME", home)
        .env("DEPOSIT_CONFIG", home.join("no-config.toml"))
        .env_remove("DEPOSIT_PASSWORD")
        .stdin(Stdio::null());
    c
}

fn json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn windows(home: &Path, args: &[&str]) -> (i32, Value) {
    let out = wine(&dist().join("deposit.exe"), home, args)
        .output()
        .expect("run wine");
    (out.status.code().unwrap_or(-1), json(&out))
}

/// The sorted `code`s of the list `key` of a JSON report (paths differ between the builds).
fn codes(v: &Value, key: &str) -> Vec<String> {
    let mut c: Vec<String> = v[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|q| q["code"].to_string())
        .collect();
    c.sort();
    c
}

/// (relative path, MD5) of every file under `dir`, sorted.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
                let bytes = std::fs::read(&p).expect("read");
                out.push((rel, deposit::archive::md5_hex(&bytes)));
            }
        }
    }
    out.sort();
    out
}

/// A small synthetic corpus (64x64 CT slices) in `dir`; how many instances.
fn corpus(dir: &Path, patients: usize) -> u64 {
    let cfg = deposit_synth::Config {
        patients,
        ct_slices: 3,
        rows: 64,
        cols: 64,
        ..Default::default()
    };
    deposit_synth::generate(dir, &cfg)
        .expect("generate corpus")
        .counts
        .instances
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Two data homes with the same site key: the Linux build's and the Windows build's.
fn twin_homes(tmp: &Path) -> (PathBuf, PathBuf) {
    let (linux, win) = (tmp.join("home-linux"), tmp.join("home-windows"));
    // a run over an empty folder makes the data home and its site key
    let empty = tmp.join("empty");
    std::fs::create_dir_all(&empty).expect("empty");
    let (code, _, err) = support::cli::deposit(
        &linux,
        &[
            "deid",
            &empty.display().to_string(),
            "--out",
            &tmp.join("nothing").display().to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    std::fs::create_dir_all(&win).expect("home");
    std::fs::copy(linux.join("site.key"), win.join("site.key")).expect("site key");
    (linux, win)
}

#[test]
fn the_sample_corpus_is_de_identified_to_the_same_bytes_as_on_linux() {
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (lh, wh) = twin_homes(tmp.path());
    // the corpus under a folder whose name is not ASCII (sites name folders after patients'
    // and wards' names), reached through a symbolic link
    let samples = tmp.path().join("Grünwald ß 影像");
    std::os::unix::fs::symlink(support::samples(), &samples).expect("link");
    let s = samples.display().to_string();
    let (out_l, out_w) = (tmp.path().join("out-linux"), tmp.path().join("out-windows"));
    let (code, l, err) = support::cli::deposit(
        &lh,
        &["deid", &s, "--out", &out_l.display().to_string(), "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, w) = windows(
        &wh,
        &["deid", &s, "--out", &out_w.display().to_string(), "--json"],
    );
    assert_eq!(code, 0, "{w}");
    for k in ["written", "quarantined", "failed", "skipped"] {
        assert_eq!(l[k], w[k], "{k}: linux {l} windows {w}");
    }
    assert_eq!(codes(&l, "quarantine"), codes(&w, "quarantine"));
    let (tl, tw) = (tree(&out_l), tree(&out_w));
    assert!(tl.len() > 100, "{} outputs", tl.len());
    assert_eq!(tl, tw, "the outputs differ");
    // the Windows paths in the report are Windows paths (drive Z: is wine's view of /)
    let first = w["quarantine"][0]["path"].as_str().unwrap_or_default();
    assert!(first.starts_with("Z:\\"), "{first}");
}

#[test]
fn a_unc_share_and_a_path_beyond_260_characters_work_like_any_folder() {
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (lh, wh) = twin_homes(tmp.path());
    // \\SERVER\SHARE: wine reaches a share through dosdevices/unc/SERVER/SHARE
    let share = tmp.path().join("share");
    let server = format!("deposit-test-{}", std::process::id());
    let unc = prefix()
        .expect("prefix")
        .join("dosdevices/unc")
        .join(&server);
    std::fs::create_dir_all(&unc).expect("unc");
    let link = unc.join("dicom");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&share, &link).expect("share link");
    // a study nested past the old 260-character limit, and one more on the share's surface
    // holding an image that is quarantined (its path is reported)
    let mut long_rel = PathBuf::new();
    for i in 0..6 {
        long_rel.push(format!("Radiology department export folder number {i:02}"));
    }
    let long = share.join(&long_rel).join("study");
    corpus(&long, 1);
    let short = share.join("study");
    std::fs::create_dir_all(&short).expect("short");
    std::fs::copy(
        support::samples().join("pynetdicom/SCImageStorage_Deflated.dcm"),
        short.join("capture.dcm"),
    )
    .expect("sample");
    let unc_path = |rel: &Path| {
        let mut s = format!(r"\\{server}\dicom");
        for c in rel.components() {
            s.push('\\');
            s.push_str(&c.as_os_str().to_string_lossy());
        }
        s
    };
    let long_unc = unc_path(&long_rel.join("study"));
    assert!(long_unc.len() > 260, "{} characters", long_unc.len());

    let (out_l, out_w) = (tmp.path().join("out-linux"), long_rel.join("out-windows"));
    let (code, l, err) = support::cli::deposit(
        &lh,
        &[
            "deid",
            &long.display().to_string(),
            "--out",
            &out_l.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, w) = windows(
        &wh,
        &["deid", &long_unc, "--out", &unc_path(&out_w), "--json"],
    );
    assert_eq!(code, 0, "{w}");
    assert!(w["written"].as_u64().unwrap_or(0) > 0, "{w}");
    for k in ["written", "quarantined", "failed", "skipped"] {
        assert_eq!(l[k], w[k], "{k}: linux {l} windows {w}");
    }
    assert_eq!(codes(&l, "quarantine"), codes(&w, "quarantine"));
    assert_eq!(
        tree(&out_l),
        tree(&share.join(&out_w)),
        "the outputs differ"
    );

    // on the share's surface: the reported path is the share's, as users type it, not a
    // resolved form (wine resolves a share to its drive path, `\\?\Z:\…`; Windows to
    // `\\?\UNC\…`, which platform::canonicalize shortens where the walk needs canonical paths)
    let (code, w) = windows(
        &wh,
        &[
            "deid",
            &unc_path(Path::new("study")),
            "--out",
            &unc_path(Path::new("out-short")),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{w}");
    let path = w["quarantine"][0]["path"].as_str().unwrap_or_default();
    assert_eq!(path, format!(r"\\{server}\dicom\study\capture.dcm"), "{w}");
    let _ = std::fs::remove_file(&link);
    let _ = std::fs::remove_dir(&unc);
}

#[test]
fn a_scan_through_a_dicomdir_counts_what_linux_counts() {
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (lh, wh) = twin_homes(tmp.path());
    let dir = support::samples().join("pydicom/test_files/dicomdirtests");
    let d = dir.display().to_string();
    // (one damaged DICOMDIR there makes both exit with 1)
    let (code_l, l, _) = support::cli::deposit(&lh, &["scan", &d, "--json"]);
    let (code_w, w) = windows(&wh, &["scan", &d, "--json"]);
    assert_eq!(code_l, code_w, "linux {l}\nwindows {w}");
    for k in [
        "files",
        "instances",
        "studies",
        "series",
        "patients",
        "dicomdirs",
    ] {
        assert_eq!(l[k], w[k], "{k}: linux {l}\nwindows {w}");
    }
    assert_eq!(codes(&l, "skipped"), codes(&w, "skipped"));
    assert!(w["instances"].as_u64().unwrap_or(0) > 0, "{w}");
    // scanning again changes nothing
    let (_, again) = windows(&wh, &["scan", &d, "--json"]);
    assert_eq!(again["instances"], w["instances"], "{again}");
}

#[test]
fn delivery_to_the_folder_archive_and_to_xnat_happens_once() {
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let dir = t.join("corpus");
    corpus(&dir, 2);
    let c = dir.display().to_string();
    let home = t.join("home");

    // the folder archive: delivered and verified, then already present
    let archive = t.join("archive");
    let to = format!("folder:{}", archive.display());
    let (code, s) = windows(&home, &["send", &c, "--to", &to, "--json"]);
    assert_eq!(code, 0, "{s}");
    let sent = s["sent"].as_u64().unwrap_or(0);
    assert!(sent > 0 && s["failed"] == 0, "{s}");
    assert_eq!(s["verified"], s["sent"], "{s}");
    let (code, again) = windows(&home, &["send", &c, "--to", &to, "--json"]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["sent"], 0, "{again}");
    assert_eq!(again["already_present"].as_u64(), Some(sent), "{again}");

    // the XNAT test server on loopback
    let server = Server::start(&t.join("xnat"), Config::default()).expect("xnat server");
    let to = format!(
        "xnat+http://alice@127.0.0.1:{}?project=TRIAL",
        server.port()
    );
    // the secret goes to the Windows Credential Manager (`deposit login`, read from stdin)
    let mut login = wine(
        &dist().join("deposit.exe"),
        &t.join("home-x"),
        &["login", &to, "--json"],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("wine");
    {
        use std::io::Write as _;
        let mut input = login.stdin.take().expect("stdin");
        input.write_all(b"wonderland\n").expect("secret");
    }
    let out = login.wait_with_output().expect("login");
    let l = json(&out);
    assert_eq!(l["stored"], true, "{l}");
    assert_eq!(l["checked"], true, "{l}");
    let out = wine(
        &dist().join("deposit.exe"),
        &t.join("home-x"),
        &["send", &c, "--to", &to, "--json"],
    )
    .output()
    .expect("wine");
    let s = json(&out);
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    assert_eq!(s["verified"], s["sent"], "{s}");
    assert_eq!(
        server.archive_files().len() as u64,
        s["sent"].as_u64().unwrap_or(0),
        "{s}"
    );
}

fn md5_counts(files: &[PathBuf]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for f in files {
        let b = std::fs::read(f).expect("read");
        *m.entry(deposit::archive::md5_hex(&b)).or_default() += 1;
    }
    m
}

#[test]
fn a_send_killed_mid_way_resumes_with_queue_run_exactly_once() {
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let dir = t.join("corpus");
    let instances = corpus(&dir, 3);
    let server = Server::start(&t.join("xnat"), Config::default()).expect("xnat server");
    // slow imports keep a request in flight when the kill comes
    server.set_faults(deposit_xnat_server::Faults {
        slow_imports: 1000,
        slow_delay: Duration::from_millis(150),
        ..Default::default()
    });
    let to = format!(
        "xnat+http://alice@127.0.0.1:{}?project=TRIAL",
        server.port()
    );
    let home = t.join("home");
    let mut child = wine(
        &dist().join("deposit.exe"),
        &home,
        &["send", &dir.display().to_string(), "--to", &to, "--json"],
    )
    .env("DEPOSIT_PASSWORD", "wonderland")
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("wine");
    let deadline = Instant::now() + Duration::from_secs(120);
    while server
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/services/import"))
        .count()
        < 1
    {
        assert!(Instant::now() < deadline, "no import came");
        assert!(child.try_wait().expect("wait").is_none(), "finished early");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let status = child.wait().expect("wait");
    assert!(status.code().is_none(), "killed mid-way: {status}");

    let out = wine(
        &dist().join("deposit.exe"),
        &home,
        &["queue", "run", "--json"],
    )
    .env("DEPOSIT_PASSWORD", "wonderland")
    .output()
    .expect("wine");
    assert_eq!(out.status.code(), Some(0), "{}", json(&out));
    let archived = server.archive_files();
    let on_server = md5_counts(&archived);
    assert!(
        on_server.values().all(|c| *c == 1),
        "duplicates after the kill"
    );
    let outbox: Vec<PathBuf> = deposit_xnat_server::files_under(&home.join("outbox"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    assert_eq!(on_server, md5_counts(&outbox), "exactly the outbox");
    // (what was de-identified and queued before the kill; the rest was never prepared)
    let delivered = archived.len() as u64;
    assert!(
        delivered > 0 && delivered <= instances,
        "{delivered} of {instances}"
    );
}

#[test]
fn storescu_stores_into_the_windows_receiver() {
    if !ready() {
        return;
    }
    let Some(storescu) = which("storescu") else {
        assert!(!require_peers(), "storescu (dcmtk) is missing");
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let dir = t.join("corpus");
    corpus(&dir, 1);
    let files = support::cli::dcm_files(&dir);
    let port = free_port();
    let home = t.join("home");
    let mut receiver = wine(
        &dist().join("deposit.exe"),
        &home,
        &[
            "receive",
            "--aet",
            "DEPOSIT",
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("receiver");
    // wait until it listens
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the receiver did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    let sent = Command::new(storescu)
        .args(["-aec", "DEPOSIT", "127.0.0.1", &port.to_string()])
        .args(&files)
        .output()
        .expect("storescu");
    let _ = receiver.kill();
    let _ = receiver.wait();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    // every instance spooled as received (incoming/ab/<sha256 of its UID>.dcm)
    let spooled = support::cli::dcm_files(&home.join("incoming"));
    assert_eq!(spooled.len(), files.len(), "{spooled:?}");
}

/// The user's folders inside the wine prefix (`%LOCALAPPDATA%`, `%APPDATA%`).
fn user_dir(prefix: &Path, sub: &str) -> Option<PathBuf> {
    std::fs::read_dir(prefix.join("drive_c/users"))
        .ok()?
        .flatten()
        .map(|e| e.path().join(sub))
        .find(|p| p.is_dir())
}

fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn the_per_user_installer_installs_upgrades_and_uninstalls_keeping_the_data_home() {
    if !ready() {
        return;
    }
    let setup = std::fs::read_dir(root().join("target/windows"))
        .expect("target/windows")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("-setup.exe"))
        });
    let Some(setup) = setup else {
        panic!("no per-user installer in target/windows (installers/build-windows.sh)");
    };
    // a prefix of its own: installing must not disturb the other tests' programs
    let tmp = tempfile::tempdir().expect("tmp");
    let own = tmp.path().join("prefix");
    copy_dir(prefix().expect("prefix"), &own);
    let run = |exe: &Path, args: &[&str], home: Option<&Path>| -> Output {
        let mut c = Command::new("wine");
        c.arg(exe)
            .args(args)
            .env("WINEPREFIX", &own)
            .env("WINEDEBUG", "-all")
            .env_remove("DEPOSIT_HOME")
            .env_remove("DEPOSIT_CONFIG")
            .stdin(Stdio::null());
        if let Some(h) = home {
            c.env("DEPOSIT_HOME", h);
        }
        c.output().expect("wine")
    };
    let out = run(&setup, &["/S"], None);
    assert!(out.status.success(), "{out:?}");
    let programs = user_dir(&own, "AppData/Local/Programs/Deposit").expect("installed per user");
    let exe = programs.join("deposit.exe");
    assert!(exe.is_file() && programs.join("uninstall.exe").is_file());
    let menu = user_dir(
        &own,
        "AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Deposit",
    )
    .expect("Start menu folder");
    assert!(menu.join("Deposit command line.lnk").is_file());
    assert!(
        menu.join("Deposit.lnk").is_file(),
        "no Start-menu entry for the window"
    );
    assert!(programs.join("deposit-app.exe").is_file());
    assert!(programs.join("WebView2Loader.dll").is_file());

    // the installed program works, with its data home in %LOCALAPPDATA%\Deposit
    let dir = tmp.path().join("corpus");
    corpus(&dir, 1);
    let out_dir = tmp.path().join("out");
    let out = run(
        &exe,
        &[
            "deid",
            &dir.display().to_string(),
            "--out",
            &out_dir.display().to_string(),
            "--json",
        ],
        None,
    );
    let s = json(&out);
    assert!(s["written"].as_u64().unwrap_or(0) > 0, "{s}");
    let data = user_dir(&own, "AppData/Local/Deposit").expect("data home");
    let key = std::fs::read(data.join("site.key")).expect("site key");

    // upgrade in place: the same folder, the data home untouched
    let out = run(&setup, &["/S"], None);
    assert!(out.status.success(), "{out:?}");
    assert!(exe.is_file());
    assert_eq!(std::fs::read(data.join("site.key")).expect("key"), key);

    // the machine-wide variant installs into Program Files (wine's user is an administrator)
    let all = setup.with_file_name(
        setup
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .replace("-setup.exe", "-setup-allusers.exe"),
    );
    let out = run(&all, &["/S"], None);
    assert!(out.status.success(), "{out:?}");
    let machine = own.join("drive_c/Program Files/Deposit");
    assert!(
        machine.join("deposit.exe").is_file(),
        "not in Program Files"
    );
    let out = run(&machine.join("deposit.exe"), &["--version"], None);
    assert!(out.status.success(), "{out:?}");

    // uninstall (silent): the program goes, the data home stays
    let out = run(&programs.join("uninstall.exe"), &["/S"], None);
    assert!(out.status.success(), "{out:?}");
    wait_for("the uninstaller", || !exe.exists());
    assert_eq!(std::fs::read(data.join("site.key")).expect("key kept"), key);
    assert!(!menu.join("Deposit command line.lnk").exists());
    assert!(!menu.join("Deposit.lnk").exists());
    assert!(!programs.join("deposit-app.exe").exists());
}

/// Xvfb on a free display, stopped when dropped.
struct Display(std::process::Child, String);

impl Display {
    fn start() -> Display {
        let xvfb = which("Xvfb").expect("Xvfb is not installed (apt-get install xvfb)");
        let n = (420..700)
            .find(|n| {
                !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                    && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            })
            .expect("a free X display number");
        let child = Command::new(xvfb)
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let display = Display(child, format!(":{n}"));
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        wait_for("Xvfb", || socket.exists());
        display
    }

    /// The titles of the top-level windows on this display (xwininfo's tree).
    fn titles(&self) -> String {
        Command::new("xwininfo")
            .args(["-root", "-tree", "-display", &self.1])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The title of the app's message when the WebView2 runtime is missing (src-tauri's startup).
const NO_WEBVIEW2_TITLE: &str = "Deposit cannot open its window";

#[test]
fn the_desktop_app_says_the_webview2_runtime_is_missing_instead_of_crashing() {
    if !ready() {
        return;
    }
    let app = dist().join("deposit-app.exe");
    assert!(
        app.is_file(),
        "{} is missing (installers/build-windows.sh)",
        app.display()
    );
    assert!(dist().join("WebView2Loader.dll").is_file());
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    // a prefix of its own: wine's desktop process takes the display of the first program that
    // needs one, and keeps it for the prefix's life
    let own = tmp.path().join("prefix");
    copy_dir(prefix().expect("prefix"), &own);
    let stop_wine = || {
        let _ = Command::new("wineserver")
            .arg("-k")
            .env("WINEPREFIX", &own)
            .status();
    };

    // without a desktop (no display) the message goes to standard error, and the app exits
    // with its own code instead of a panic
    let out = wine(&app, &home, &[])
        .env("WINEPREFIX", &own)
        .env_remove("DISPLAY")
        .output()
        .expect("run wine");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains(NO_WEBVIEW2_TITLE), "{err}");
    assert!(err.contains("Microsoft Edge WebView2 Runtime"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    stop_wine();

    // on a desktop it shows the message in a window and waits for the user (no crash)
    let display = Display::start();
    let mut shown = wine(&app, &home, &[])
        .env("WINEPREFIX", &own)
        .env("DISPLAY", &display.1)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run wine");
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut titles = String::new();
    while Instant::now() < deadline && !titles.contains(NO_WEBVIEW2_TITLE) {
        if let Ok(Some(status)) = shown.try_wait() {
            panic!("the app ended ({status}) instead of showing its message");
        }
        std::thread::sleep(Duration::from_millis(500));
        titles = display.titles();
    }
    let still_running = shown.try_wait().ok().flatten().is_none();
    let _ = shown.kill();
    let _ = shown.wait();
    stop_wine();
    assert!(
        titles.contains(NO_WEBVIEW2_TITLE),
        "windows on the display:\n{titles}"
    );
    assert!(
        still_running,
        "the app did not wait for the user to read its message"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(status.success());
}

/// A wine prefix of the test's own, kept running (`wineserver -p`: services live as long as
/// the wineserver) and shut down when dropped.
struct OwnPrefix {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl OwnPrefix {
    fn new() -> OwnPrefix {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("prefix");
        copy_dir(prefix().expect("prefix"), &dir);
        let p = OwnPrefix { dir, _tmp: tmp };
        p.boot();
        p
    }

    /// Starts a persistent wineserver and wine's system processes (the service manager starts
    /// the automatic services), with no inherited output: they stay, and would hold the pipes
    /// of whoever started them open.
    fn boot(&self) {
        self.server(&["-p"]);
        let _ = Command::new("wine")
            .args(["cmd", "/c", "exit"])
            .env("WINEPREFIX", &self.dir)
            .env("WINEDEBUG", "-all")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn server(&self, args: &[&str]) {
        // (no inherited output: the persistent server would hold the test's pipes open)
        let _ = Command::new("wineserver")
            .args(args)
            .env("WINEPREFIX", &self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn deposit(&self, args: &[&str]) -> Output {
        Command::new("wine")
            .arg(dist().join("deposit.exe"))
            .args(args)
            .env("WINEPREFIX", &self.dir)
            .env("WINEDEBUG", "-all")
            .env_remove("DEPOSIT_HOME")
            .env_remove("DEPOSIT_CONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("wine")
    }

    fn service_processes(&self) -> usize {
        let out = Command::new("ps").arg("axww").output().expect("ps");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("deposit.exe service run"))
            .count()
    }
}

impl Drop for OwnPrefix {
    fn drop(&mut self) {
        self.server(&["-k"]);
    }
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn the_receiver_runs_as_a_windows_service_starts_at_boot_and_stops_cleanly() {
    if !ready() {
        return;
    }
    let Some(storescu) = which("storescu") else {
        assert!(!require_peers(), "storescu (dcmtk) is missing");
        return;
    };
    let p = OwnPrefix::new();
    let port = free_port();
    let ps = port.to_string();
    let ok = |out: &Output| {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    // arguments that are not the receiver's are refused at install, not at the next boot
    let bad = p.deposit(&["service", "install", "receive", "--", "--no-such-flag"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    ok(&p.deposit(&[
        "service",
        "install",
        "receive",
        "--",
        "--aet",
        "DEPOSIT",
        "--port",
        &ps,
        "--bind",
        "127.0.0.1",
    ]));
    ok(&p.deposit(&["service", "start", "receive"]));
    wait_for("the service to listen", || listening(port));

    let dir = p.dir.join("corpus");
    corpus(&dir, 1);
    let files = support::cli::dcm_files(&dir);
    let sent = Command::new(&storescu)
        .args(["-aec", "DEPOSIT", "127.0.0.1", &ps])
        .args(&files)
        .output()
        .expect("storescu");
    assert!(sent.status.success(), "{sent:?}");
    // the service's data home is %ProgramData%\Deposit
    let home = p.dir.join("drive_c/ProgramData/Deposit");
    let spooled = support::cli::dcm_files(&home.join("incoming"));
    assert_eq!(spooled.len(), files.len());

    // stopping ends the process cleanly, and says so in its log under the data home
    ok(&p.deposit(&["service", "stop", "receive"]));
    wait_for("the service process to end", || p.service_processes() == 0);
    assert!(!listening(port));
    let log = std::fs::read_to_string(home.join("logs/receive.log")).expect("log");
    assert!(
        log.contains(&format!("receiver stopped received={}", files.len())),
        "{log}"
    );
    assert!(log.contains("service stopped"), "{log}");

    // at the next boot (a new wineserver starts the automatic services) it runs again
    p.server(&["-k"]);
    p.boot();
    wait_for("the service to start at boot", || listening(port));
    ok(&p.deposit(&["service", "uninstall", "receive"]));
    wait_for("the service process to end", || p.service_processes() == 0);
    let gone = p.deposit(&["service", "start", "receive"]);
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");

    // the web UI as a service: serves, stops cleanly, logs into its own log
    let web = free_port();
    let ws = web.to_string();
    ok(&p.deposit(&[
        "service",
        "install",
        "web",
        "--",
        "--bind",
        "127.0.0.1",
        "--port",
        &ws,
    ]));
    ok(&p.deposit(&["service", "start", "web"]));
    wait_for("the web UI service to listen", || listening(web));
    ok(&p.deposit(&["service", "stop", "web"]));
    wait_for("the service process to end", || p.service_processes() == 0);
    assert!(!listening(web));
    let log = std::fs::read_to_string(home.join("logs/web.log")).expect("web log");
    assert!(log.contains("service stopped"), "{log}");
    ok(&p.deposit(&["service", "uninstall", "web"]));
}
