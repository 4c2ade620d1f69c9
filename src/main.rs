//! The `deposit` command: parse, run, map the outcome to an exit status (docs/architecture.md, "Contracts").

fn main() -> std::process::ExitCode {
    deposit::cli::main()
}
