//! The `deposit` command line: raw arguments → api calls → output and exit status.
//!
//! Exit status: 0 every input handled or set aside with a reason; 1 some item
//! failed with an error; 2 bad usage, configuration or profile.

mod archive;
pub mod args;
mod compare;
mod deid;
mod destination;
mod login;
mod preview;
mod progress;
mod proxy;
mod quarantine;
mod queue;
mod receive;
mod report;
mod scan;
mod send;
mod serve;
mod service;
pub mod settings;

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::error::ApiError;
use args::{Cli, Command};

/// Exit status: everything handled.
pub const EXIT_OK: u8 = 0;
/// Exit status: some item failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: bad usage, configuration or profile.
pub const EXIT_USAGE: u8 = 2;

/// Runs the command line and returns the exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    let (verbose, log_file) = match &cli.command {
        Command::Receive { .. } => receive::logging(cli.common.verbose, "receive"),
        // a service logs into its data home's logs/ (it has no console)
        Command::Service {
            action: args::ServiceAction::Run { home, which, .. },
        } => {
            service::prepare_run(home);
            receive::logging(cli.common.verbose, which.log_name())
        }
        _ => (cli.common.verbose, None),
    };
    crate::logging::init(verbose, cli.common.quiet, log_file);
    let json = cli.common.json;
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report_error(&e, json);
            ExitCode::from(if e.usage { EXIT_USAGE } else { EXIT_FAILED })
        }
    }
}

/// Prints an error: one JSON object on stdout with --json, else a line on stderr.
fn report_error(e: &ApiError, json: bool) {
    use std::io::Write as _;
    let on_stdout = json && {
        let mut out = std::io::stdout().lock();
        let v = json!({"error": {"code": e.code, "message": e.message, "class": e.class}});
        writeln!(out, "{v}").and_then(|()| out.flush()).is_ok()
    };
    if !on_stdout {
        // a message may carry a file name or a peer's string: no control character reaches the
        // terminal
        eprintln!("deposit: error: {}", crate::logging::escape(&e.message));
    }
}

fn run(mut cli: Cli) -> Result<u8, ApiError> {
    settings::resolve(&mut cli.common, &cli.command)?;
    match cli.command {
        Command::Scan { paths, threads } => scan::run(&cli.common, &paths, threads),
        Command::Send {
            paths,
            to: _,
            delivery,
            resources,
            scan_quality,
        } => send::run(&cli.common, &paths, &delivery, &resources, &scan_quality),
        Command::Queue {
            action,
            id,
            delivery,
        } => queue::run(&cli.common, action.as_deref(), id.as_deref(), &delivery),
        Command::Login { dest } => login::run(&cli.common, &dest),
        Command::Destination {
            action,
            name,
            yes,
            sha256,
        } => destination::run(&cli.common, &action, &name, yes, sha256.as_deref()),
        Command::Proxy { action } => proxy::run(&cli.common, action.as_deref()),
        Command::TestConnection { dest } => proxy::test_connection(&cli.common, &dest),
        Command::Deid { paths, out, check } => {
            deid::run(&cli.common, &paths, out.as_deref(), check)
        }
        Command::Preview {
            file,
            out,
            frame,
            no_mask,
        } => preview::run(&cli.common, &file, &out, frame, no_mask),
        Command::Inspect { file, sample, seed } => match sample {
            Some(n) => deid::sample(&cli.common, &file, n, seed),
            None => deid::inspect(&cli.common, &file),
        },
        Command::Profile {
            action,
            name,
            new,
            check,
        } => match action.as_deref() {
            Some("compare") => compare::compare(&cli.common, name, new, &check),
            Some("approve") if name.is_some() => compare::approve(&cli.common, name, &check),
            Some("approvals") => compare::approvals(&cli.common),
            _ => deid::profile(&cli.common, action.as_deref(), name.as_deref()),
        },
        Command::Quarantine {
            action,
            id,
            to,
            out,
        } => quarantine::run(&cli.common, action.as_deref(), id.as_deref(), to, out),
        Command::Archive { action } => archive::run(&cli.common, action),
        Command::Fetch {
            subject,
            session,
            scans,
            from,
            out,
        } => archive::fetch(&cli.common, subject, session, scans, from, out),
        Command::Serve { bind, port, ui } => serve::run(&cli.common, &bind, port, ui),
        Command::Service { action } => service::run(action),
        Command::Receive { flags } => receive::run(&cli.common, flags),
        Command::Report {
            from,
            to,
            format,
            out,
            utc_offset,
        } => report::run(&cli.common, from, to, format, out.as_deref(), utc_offset),
    }
}

/// Prints one JSON object on stdout.
pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> Result<(), ApiError> {
    let s = serde_json::to_string(v)
        .map_err(|e| ApiError::permanent("cli.json", format!("cannot encode the output: {e}")))?;
    // (not println!: a full disk or a closed pipe must be an error, not a panic)
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{s}")
        .and_then(|()| out.flush())
        .map_err(|e| {
            ApiError::transient(
                "cli.stdout",
                format!("cannot write the result to standard output: {e}"),
            )
        })
}
