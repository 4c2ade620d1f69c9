//! The synthetic ultrasound with burned-in text, for the pixel and mask tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The burned-in ultrasound of a one-patient synthetic corpus, alone in `dir`.
pub fn burned_us(dir: &Path) -> (PathBuf, deposit_synth::FileEntry) {
    let corpus = dir.join("corpus");
    let cfg = deposit_synth::Config {
        patients: 1,
        ct_slices: 1,
        rows: 32,
        cols: 32,
        ..Default::default()
    };
    let m = deposit_synth::generate(&corpus, &cfg).expect("generate corpus");
    let e = m
        .files
        .iter()
        .find(|f| !f.burned_in.is_empty())
        .expect("the corpus has a burned-in ultrasound")
        .clone();
    let incoming = dir.join("incoming");
    std::fs::create_dir_all(&incoming).expect("mkdir");
    let path = incoming.join("us.dcm");
    std::fs::copy(corpus.join(&e.path), &path).expect("copy");
    (incoming, e)
}

/// The union rectangle of the burned-in text: (x, y, w, h).
pub fn text_box(e: &deposit_synth::FileEntry) -> (usize, usize, usize, usize) {
    let x0 = e.burned_in.iter().map(|b| b.rect.x).min().unwrap_or(0);
    let y0 = e.burned_in.iter().map(|b| b.rect.y).min().unwrap_or(0);
    let x1 = e
        .burned_in
        .iter()
        .map(|b| b.rect.x + b.rect.w)
        .max()
        .unwrap_or(0);
    let y1 = e
        .burned_in
        .iter()
        .map(|b| b.rect.y + b.rect.h)
        .max()
        .unwrap_or(0);
    (x0, y0, x1 - x0, y1 - y0)
}
