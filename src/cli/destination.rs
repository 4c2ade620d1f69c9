//! `deposit destination fingerprint|pin NAME`: the certificate a destination's server presents
//! (SHA-256 fingerprint, and whether the destination trusts it), and pinning it in deposit.toml
//! once a person confirmed it (asked on the terminal, or `--yes`).

use std::io::{BufRead, IsTerminal, Write};

use super::args::Common;
use super::send::usage;
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::certificate;
use crate::error::ApiError;

pub fn run(
    common: &Common,
    action: &str,
    name: &str,
    yes: bool,
    sha256: Option<&str>,
) -> Result<u8, ApiError> {
    let file = common.resolved.overrides.config_file();
    match action {
        "fingerprint" => {
            let p = certificate::presented(&common.resolved.overrides, name)?;
            if common.json {
                print_json(&p)?;
            } else if !common.quiet {
                show(name, &p);
            }
            Ok(EXIT_OK)
        }
        "pin" => {
            let sha = match sha256 {
                Some(s) => s.to_string(),
                None => {
                    let p = certificate::presented(&common.resolved.overrides, name)?;
                    if !common.quiet {
                        // on stderr: stdout keeps the one JSON object of --json
                        show_to(&mut std::io::stderr(), name, &p);
                    }
                    p.sha256
                }
            };
            if !yes && !confirm(&sha)? {
                if !common.quiet {
                    eprintln!("Not pinned.");
                }
                return Ok(EXIT_FAILED);
            }
            let pinned = certificate::pin(file, name, &sha)?;
            if common.json {
                print_json(&pinned)?;
            } else if !common.quiet {
                println!(
                    "Pinned: '{}' now trusts exactly the certificate with SHA-256 {} ({}).",
                    pinned.destination, pinned.sha256, pinned.config
                );
            }
            Ok(EXIT_OK)
        }
        other => Err(usage(format!(
            "'deposit destination {other}': use fingerprint or pin"
        ))),
    }
}

fn show(name: &str, p: &certificate::Presented) {
    show_to(&mut std::io::stdout(), name, p);
}

fn show_to(out: &mut dyn Write, name: &str, p: &certificate::Presented) {
    let _ = writeln!(
        out,
        "The server of '{name}' presented a certificate with SHA-256\n  {}",
        p.sha256
    );
    let _ = match &p.problem {
        None => writeln!(out, "It is trusted ({}).", p.trust),
        Some(why) => writeln!(out, "It is not trusted ({}): {why}", p.trust),
    };
}

/// Asks on the terminal; without one, only `--yes` pins.
fn confirm(sha: &str) -> Result<bool, ApiError> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "pinning needs a confirmation: run it on a terminal, or add --yes once the archive's \
             administrator confirmed the fingerprint"
                .into(),
        ));
    }
    eprint!(
        "Only trust it if your archive's administrator confirms this fingerprint:\n  {sha}\n\
         Trust this certificate? [y/N] "
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}
