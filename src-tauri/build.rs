//! Builds the web UI (ui/ → ui/dist, embedded by `generate_context!`) and then the Tauri context,
//! so a plain `cargo build -p deposit-app` gives a self-contained app without tauri-cli.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    build_ui();
    tauri_build::build();
}

fn build_ui() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let ui = manifest.join("..").join("ui");
    for input in [
        "src",
        "index.html",
        "public",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={}", ui.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=NPM");
    println!("cargo:rerun-if-env-changed=DEPOSIT_SKIP_UI_BUILD");
    if std::env::var_os("DEPOSIT_SKIP_UI_BUILD").is_some() && ui.join("dist/index.html").exists() {
        println!("cargo:warning=DEPOSIT_SKIP_UI_BUILD set: using the existing ui/dist");
        return;
    }
    let npm = std::env::var("NPM").unwrap_or_else(|_| "npm".into());
    if Command::new(&npm).arg("--version").output().is_err() {
        fail(&format!(
            "`{npm}` was not found. The desktop app embeds the web UI, which is built with npm \
             (Node.js 20 or newer). Install Node.js/npm (Debian: apt-get install nodejs npm) or set \
             NPM to its path, then build again."
        ));
    }
    if !ui.join("node_modules").exists() {
        run(&npm, &["ci", "--no-audit", "--no-fund"], &ui);
    }
    run(&npm, &["run", "build"], &ui);
}

fn run(npm: &str, args: &[&str], dir: &Path) {
    let status = Command::new(npm)
        .args(args)
        .current_dir(dir)
        // Build-script stdout is read by cargo as directives: send npm's chatter to stderr.
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!(
            "`{npm} {}` in {} failed ({s}); see its output above",
            args.join(" "),
            dir.display()
        )),
        Err(e) => fail(&format!("cannot run `{npm} {}`: {e}", args.join(" "))),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
