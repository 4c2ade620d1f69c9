//! Entry point of the Deposit desktop app binary; everything lives in the library (`deposit_app`).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    deposit_app::run();
}
