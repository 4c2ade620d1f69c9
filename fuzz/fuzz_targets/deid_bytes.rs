//! Fuzz target: arbitrary bytes as a Part-10 file through intake's guarded read, pixel
//! masking and de-identification (`deposit::api::deid::fuzz_one`). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    deposit::api::deid::fuzz_one(data);
});
