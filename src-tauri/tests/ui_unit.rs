//! Runs the web UI's unit tests (vitest, against the mock backend) as part of `cargo test`, so
//! the README's one test command covers the front end too.

use std::path::Path;
use std::process::Command;

#[test]
fn ui_unit_tests_pass() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    let has_modules = ui.join("node_modules/.bin/vitest").exists();
    let npm = Command::new("npm").arg("--version").output().is_ok();
    if !has_modules || !npm {
        assert!(
            std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() != Ok("1"),
            "npm or ui/node_modules missing (run installers/setup-debian.sh)"
        );
        eprintln!("skipping the UI unit tests: npm or ui/node_modules missing");
        return;
    }
    let out = Command::new("npm")
        .args(["test", "--silent"])
        .current_dir(&ui)
        .env("CI", "true")
        .output()
        .expect("run npm test");
    assert!(
        out.status.success(),
        "vitest failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
