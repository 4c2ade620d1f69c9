//! `deposit login DEST`: reads the secret (hidden prompt on a terminal, else one line of stdin),
//! checks it against the destination and stores it in the OS keyring.

use std::io::{BufRead, IsTerminal};

use super::args::Common;
use super::send::usage;
use super::{print_json, EXIT_OK};
use crate::error::ApiError;

/// Reads a secret: a hidden prompt on a terminal, else one line of stdin.
pub(crate) fn read_secret(prompt: &str) -> Result<String, ApiError> {
    Ok(if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .map_err(|e| usage(format!("cannot read the secret: {e}")))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| usage(format!("cannot read the secret from stdin: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    })
}

pub fn run(common: &Common, dest: &str) -> Result<u8, ApiError> {
    let secret = read_secret("Secret (password or alias-token secret): ")?;
    let r = &common.resolved;
    let s = crate::api::login::login(&r.config, &r.network(), dest, &secret)?;
    if common.json {
        print_json(&s)?;
    } else if !common.quiet {
        println!(
            "Stored the secret of '{}' for {} in the OS keyring{}.",
            s.user,
            s.destination,
            if s.checked {
                " (checked with the destination)"
            } else {
                " (the destination could not be reached to check it)"
            }
        );
    }
    Ok(EXIT_OK)
}
