//! Fuzz target: arbitrary bytes as a Part-10 file through intake's guarded read, pixel
//! masking and de-identification (`deposit::api::deid::fuzz_one`). A panic that escapes is a
//! bug. Deposit contains panics of the pixel decoders it uses (`catch_unwind` in
//! `pixels::image`), so the panic hook libfuzzer-sys installs (abort on any panic, even a
//! caught one) is replaced by the default one: an escaping panic still aborts, through
//! libfuzzer-sys's own `catch_unwind` around each input.
#![no_main]

use libfuzzer_sys::fuzz_target;

static HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        let _ = std::panic::take_hook();
    });
    deposit::api::deid::fuzz_one(data);
});
