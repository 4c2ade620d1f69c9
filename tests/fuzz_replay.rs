//! The fuzz target's entry point (`deposit::api::deid::fuzz_one`, see fuzz/) on stable: the
//! seed corpus as is, every seed cut short at many lengths and with bytes flipped, and
//! proptest-generated inputs (arbitrary bytes behind a valid preamble, and random mutations
//! of the seeds). A panic anywhere fails the test.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use deposit::api::deid::fuzz_one;

fn seeds() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/deid_bytes");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).expect("seed");
            (p, b)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_seed_goes_through_and_most_are_written() {
    let s = seeds();
    assert!(s.len() >= 8, "seed corpus present");
    let written = s.iter().filter(|(_, b)| fuzz_one(b)).count();
    // Every seed is a valid file; the ones at burned-in risk may be masked or set aside.
    assert!(written >= s.len() / 2, "{written} of {} written", s.len());
}

#[test]
fn truncated_and_bit_flipped_seeds_never_panic() {
    for (path, bytes) in seeds() {
        let n = bytes.len();
        // Cuts through the first 1 KB (meta and header), then through the rest.
        let cuts = (0..n.min(1024)).step_by(3).chain((1024..n).step_by(509));
        for cut in cuts {
            fuzz_one(&bytes[..cut]);
        }
        // Flips: densely in the header, sparsely in the pixels.
        let mut b = bytes.clone();
        let spots = (0..n.min(2048)).step_by(5).chain((2048..n).step_by(1021));
        for (k, i) in spots.enumerate() {
            let old = b[i];
            b[i] = old ^ [0xFF, 0x80, 0x01][k % 3];
            fuzz_one(&b);
            b[i] = old;
        }
        let _ = path;
    }
}

fn preamble() -> Vec<u8> {
    let mut v = vec![0u8; 128];
    v.extend_from_slice(b"DICM");
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut b = preamble();
        b.extend_from_slice(&tail);
        fuzz_one(&b);
        fuzz_one(&tail);
    }

    #[test]
    fn mutated_seeds_never_panic(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16),
        cut in any::<usize>(),
    ) {
        let s = seeds();
        let mut b = s[which % s.len()].1.clone();
        for (at, byte) in edits {
            let i = at % b.len();
            b[i] = byte;
        }
        fuzz_one(&b);
        let c = cut % (b.len() + 1);
        fuzz_one(&b[..c]);
    }
}

/// The `received_bytes` target's seeds (whole, deflated, raw; deep nesting and a 4 GB claim
/// inside a deflated data set among them), as is, cut short and with bytes flipped.
#[test]
fn received_seeds_cut_and_flipped_never_panic_or_abort() {
    use deposit::api::deid::fuzz_received;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/received_bytes");
    let tmp = tempfile::tempdir().expect("tmp");
    let scratch = tmp.path().join("received");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .expect("received_bytes seeds")
        .flatten()
        .map(|e| e.path())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 5);
    for p in seeds {
        let bytes = std::fs::read(&p).expect("seed");
        fuzz_received(&bytes, &scratch);
        let n = bytes.len();
        for cut in (1..n.min(512)).step_by(7).chain((512..n).step_by(2039)) {
            fuzz_received(&bytes[..cut], &scratch);
        }
        let mut b = bytes.clone();
        for i in (1..n.min(1024)).step_by(11) {
            let old = b[i];
            b[i] ^= 0x5A;
            fuzz_received(&b, &scratch);
            b[i] = old;
        }
    }
}
