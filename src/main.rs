//! The `deposit` command: parse, run, map the outcome to an exit status (DESIGN.md §4).

fn main() -> std::process::ExitCode {
    deposit::cli::main()
}
