//! Credentials from the OS keyring, for real: a private D-Bus session (`dbus-run-session`) with
//! gnome-keyring's Secret Service unlocked by a test password; `deposit login DEST` checks the
//! secret against the destination and stores it; `deposit send` then finds it with no
//! `DEPOSIT_PASSWORD` and no `~/.netrc` (XNAT and CTP HTTP). A refused secret is not stored. The
//! secret appears in no output and no file of the data home. Needs dbus-run-session and
//! gnome-keyring-daemon (required when DEPOSIT_REQUIRE_PEERS=1).

use std::path::{Path, PathBuf};
use std::process::Command;

use deposit_xnat_server::{files_under, Config, CtpConfig, CtpReceiver, Server};
use serde_json::Value;

const SECRET: &str = "wonderland";

pub(crate) fn peer(name: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/bin")])
            .any(|d| d.join(name).is_file())
    });
    if !found {
        if std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("peer program '{name}' is required (DEPOSIT_REQUIRE_PEERS=1) but missing");
        }
        eprintln!("SKIPPED: peer program '{name}' not installed");
    }
    found
}

/// Runs `script` (sh) inside a fresh D-Bus session with an unlocked gnome-keyring (the proxy
/// tests use it too).
pub(crate) fn in_keyring_session(tmp: &Path, script: &str) -> (i32, String) {
    let full = format!(
        "set -u\nexport HOME='{home}' XDG_RUNTIME_DIR='{home}/run'\nmkdir -p \"$XDG_RUNTIME_DIR\"\n\
         eval \"$(printf '%s' 'keyring-test-pw' | gnome-keyring-daemon --unlock --components=secrets)\" >/dev/null\n\
         {script}\n",
        home = tmp.display()
    );
    std::fs::write(tmp.join("script.sh"), full).expect("script");
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", &tmp.join("script.sh").display().to_string()])
        .env_remove("DEPOSIT_PASSWORD")
        .env_remove("NETRC")
        .env("DEPOSIT_HOME", tmp.join("home"))
        .env("DEPOSIT", env!("CARGO_BIN_EXE_deposit"))
        .output()
        .expect("dbus-run-session");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn json(tmp: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(tmp.join(name)).unwrap_or_default();
    serde_json::from_str(text.trim()).unwrap_or(Value::Null)
}

#[test]
fn login_stores_the_secret_in_the_keyring_and_send_uses_it() {
    if !peer("dbus-run-session") || !peer("gnome-keyring-daemon") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let corpus = t.join("incoming");
    let cfg = deposit_synth::Config {
        patients: 1,
        ct_slices: 3,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    deposit_synth::generate(&corpus, &cfg).expect("corpus");
    let server = Server::start(&t.join("xnat"), Config::default()).expect("xnat");
    let ctp = CtpReceiver::start(
        &t.join("central"),
        CtpConfig {
            users: vec![("site1".into(), "ctp-Secret-3".into())],
            ..Default::default()
        },
    )
    .expect("ctp");
    let xnat = format!(
        "xnat+http://alice@127.0.0.1:{}?project=TRIAL",
        server.port()
    );
    let central = format!("ctp+http://site1@127.0.0.1:{}", ctp.port());
    let script = format!(
        r#"
printf 'not-it\n' | "$DEPOSIT" login '{xnat}' --json > '{t}/bad.json' 2> '{t}/bad.err'
echo "bad=$?" > '{t}/codes'
"$DEPOSIT" send '{c}' --to '{xnat}' --json --offline-wait 0 > '{t}/nosecret.json' 2> '{t}/nosecret.err'
echo "nosecret=$?" >> '{t}/codes'
printf '{SECRET}\n' | "$DEPOSIT" login '{xnat}' --json > '{t}/login.json' 2> '{t}/login.err'
echo "login=$?" >> '{t}/codes'
printf 'ctp-Secret-3\n' | "$DEPOSIT" login '{central}' --json > '{t}/login2.json' 2> '{t}/login2.err'
echo "login2=$?" >> '{t}/codes'
"$DEPOSIT" send '{c}' --to '{xnat}' --json > '{t}/send.json' 2> '{t}/send.err'
echo "send=$?" >> '{t}/codes'
"$DEPOSIT" send '{c}' --to '{central}' --json > '{t}/send2.json' 2> '{t}/send2.err'
echo "send2=$?" >> '{t}/codes'
"#,
        t = t.display(),
        c = corpus.display()
    );
    let (code, all) = in_keyring_session(t, &script);
    assert_eq!(code, 0, "{all}");
    let codes = std::fs::read_to_string(t.join("codes")).expect("codes");
    let errs: String = ["bad", "nosecret", "login", "login2", "send", "send2"]
        .iter()
        .map(|n| std::fs::read_to_string(t.join(format!("{n}.err"))).unwrap_or_default())
        .collect();
    assert!(codes.contains("bad=1"), "{codes}\n{errs}");
    assert!(
        json(t, "bad.json")["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("login refused"),
        "{errs}"
    );
    // the refused secret was not stored: no secret anywhere yet
    assert!(codes.contains("nosecret=2"), "{codes}\n{errs}");
    let e = json(t, "nosecret.json");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("store it with `deposit login "),
        "{e}"
    );
    assert!(codes.contains("login=0"), "{codes}\n{errs}");
    let l = json(t, "login.json");
    assert_eq!(l["stored"], true, "{l}");
    assert_eq!(l["checked"], true, "{l}");
    assert_eq!(l["account"], format!("alice@127.0.0.1:{}", server.port()));
    assert!(codes.contains("login2=0"), "{codes}\n{errs}");
    assert!(codes.contains("send=0"), "{codes}\n{errs}");
    assert!(codes.contains("send2=0"), "{codes}\n{errs}");
    for f in ["send.json", "send2.json"] {
        let s = json(t, f);
        assert!(s["sent"].as_u64().unwrap_or(0) > 0, "{f}: {s}");
        assert_eq!(s["verified"], s["sent"], "{f}: {s}");
    }
    assert!(!server.archive_files().is_empty());
    assert!(!ctp.files().is_empty());
    // the secret is in no output, no file of the data home, and not in clear in the keyring
    let outputs: String = std::fs::read_dir(t)
        .expect("dir")
        .flatten()
        .filter(|e| e.path().is_file() && e.file_name() != "script.sh")
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    for secret in [SECRET, "ctp-Secret-3"] {
        assert!(!outputs.contains(secret), "secret in output");
        for f in files_under(&t.join("home"))
            .into_iter()
            .chain(files_under(&t.join(".local/share/keyrings")))
        {
            let b = std::fs::read(&f).expect("read");
            assert!(
                !b.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "secret in {}",
                f.display()
            );
        }
    }
    assert!(
        t.join(".local/share/keyrings/login.keyring").is_file(),
        "stored in gnome-keyring's login keyring"
    );
}
