//! Entry point of the Deposit desktop app binary; everything lives in the library (`deposit_app`).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// mimalloc, as in the `deposit` binary: de-identification runs in this process too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    deposit_app::run();
}
