//! Fuzz target: arbitrary bytes as a data set the receiver stores and then reads — whole,
//! deflated or raw (`deposit::api::deid::fuzz_received`: `intake::read_header` on the stored
//! file, the path of the receiver and of `scan`, then de-identification). A panic, an abort
//! (stack overflow) or an allocation over the RSS limit is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

static HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        let _ = std::panic::take_hook();
    });
    let scratch =
        std::env::temp_dir().join(format!("deposit-fuzz-received-{}", std::process::id()));
    deposit::api::deid::fuzz_received(data, &scratch);
});
