//! The `deposit` command: parse, run, map the outcome to an exit status (docs/architecture.md, "Contracts").

/// mimalloc: many small allocations per object are cheaper than with the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    deposit::cli::main()
}
