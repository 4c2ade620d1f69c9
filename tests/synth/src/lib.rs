//! Deterministic synthetic DICOM studies whose identifying values are known canary strings.
//!
//! [`generate`] writes a small mixed corpus (CT series, burned-in ultrasound, ultrasound
//! multi-frame, Basic Text SR; UTF-8 and Latin-1 patients) and [`generate_bulk`] a large
//! CT-only corpus for benchmarks. Both write `manifest.json` beside the files and return the
//! [`Manifest`]: every canary and its placement, expected counts and burned-in rectangles.
//! The same seed always gives the same bytes: no clock, no OS randomness.

pub mod font;
pub mod iods;
pub mod manifest;
pub mod midi;
pub mod patient;
pub mod rng;

use std::path::{Path, PathBuf};

use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use thiserror::Error;

pub use font::Rect;
use iods::{SeriesCtx, StudyCtx};
pub use manifest::{BurnedText, Canary, Counts, FileEntry, Manifest};
use patient::{make_patient, CanaryBook, Patient};
use rng::Rng;

/// Root of every UID the fake hospital makes (a made-up private enterprise arc; dciodvfy rejects the 2.999 example arc).
pub const UID_ROOT: &str = "1.3.6.1.4.1.99999.4711.7";
/// The fake vendor's implementation class UID written into every file meta.
pub const IMPLEMENTATION_CLASS_UID: &str = "1.3.6.1.4.1.99999.8812.1.3";
/// Name of the manifest file written beside the corpus.
pub const MANIFEST_NAME: &str = "manifest.json";
/// Explicit VR Little Endian.
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// Errors of the generator.
#[derive(Debug, Error)]
pub enum SynthError {
    /// A file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// dicom-rs refused to build or write an object.
    #[error("cannot build DICOM {path}: {detail}")]
    Dicom {
        /// The path.
        path: PathBuf,
        /// The cause, in words.
        detail: String,
    },
    /// Bad configuration.
    #[error("bad configuration: {0}")]
    Config(String),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seed: same seed, same corpus.
    pub seed: u64,
    /// Patients (patient 0 is UTF-8 with two studies, patient 1 is Latin-1).
    pub patients: usize,
    /// Slices per CT series.
    pub ct_slices: usize,
    /// CT rows.
    pub rows: usize,
    /// CT columns.
    pub cols: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            patients: 3,
            ct_slices: 8,
            rows: 128,
            cols: 128,
        }
    }
}

/// Builds UIDs under [`UID_ROOT`], unique per seed.
struct Uids {
    seed: u64,
    n: u64,
}

impl Uids {
    fn next(&mut self, kind: u8) -> String {
        self.n += 1;
        format!("{UID_ROOT}.{}.{kind}.{}", self.seed, self.n)
    }
}

/// Accumulates files and counts while writing.
struct Writer<'a> {
    out: &'a Path,
    manifest: Manifest,
    study_no: usize,
}

impl Writer<'_> {
    fn write(
        &mut self,
        rel: String,
        obj: InMemDicomObject,
        p: &Patient,
        entry: FileEntry,
    ) -> Result<(), SynthError> {
        let path = self.out.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| SynthError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax(EXPLICIT_VR_LE)
            .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
            .implementation_version_name(p.v("impl_version"))
            .source_application_entity_title(p.v("source_ae"));
        let file = obj.with_meta(meta).map_err(|e| SynthError::Dicom {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        file.write_to_file(&path).map_err(|e| SynthError::Dicom {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        self.manifest.files.push(FileEntry { path: rel, ..entry });
        Ok(())
    }
}

fn entry(
    p: &Patient,
    st: &StudyCtx,
    se: &SeriesCtx,
    sop_class: &str,
    sop_uid: &str,
    dims: (usize, usize, usize),
) -> FileEntry {
    FileEntry {
        path: String::new(),
        patient: p.index,
        modality: se.modality.into(),
        sop_class_uid: sop_class.into(),
        sop_instance_uid: sop_uid.into(),
        study_instance_uid: st.study_uid.clone(),
        series_instance_uid: se.uid.clone(),
        charset: p.charset.into(),
        rows: dims.0,
        cols: dims.1,
        frames: dims.2,
        burned_in: Vec::new(),
    }
}

fn series(uids: &mut Uids, number: u32, modality: &'static str) -> SeriesCtx {
    SeriesCtx {
        uid: uids.next(3),
        number,
        modality,
        frame_of_reference: uids.next(4),
    }
}

fn study<'p>(
    uids: &mut Uids,
    book: &mut CanaryBook,
    rng: &mut Rng,
    p: &'p Patient,
) -> StudyCtx<'p> {
    let date = book.date(rng, p.index, "StudyDate", (2015, 2023));
    let time = format!(
        "{:02}{:02}{:02}",
        rng.range(7, 18),
        rng.range(0, 59),
        rng.range(0, 59)
    );
    StudyCtx {
        patient: p,
        study_uid: uids.next(1),
        referenced_study_uid: uids.next(2),
        date,
        time,
    }
}

#[allow(clippy::too_many_arguments)]
fn write_ct_series(
    w: &mut Writer,
    uids: &mut Uids,
    rng: &mut Rng,
    st: &StudyCtx,
    number: u32,
    slices: usize,
    rows: usize,
    cols: usize,
) -> Result<(), SynthError> {
    let se = series(uids, number, "CT");
    for i in 0..slices {
        let sop = uids.next(5);
        let obj = iods::ct_slice(st, &se, &sop, i as u32, rows, cols, rng);
        let e = entry(st.patient, st, &se, iods::CT_IMAGE, &sop, (rows, cols, 1));
        let rel = format!(
            "study{:03}/series{:03}/{:05}.dcm",
            w.study_no,
            number,
            i + 1
        );
        w.write(rel, obj, st.patient, e)?;
    }
    Ok(())
}

/// Most patients one corpus can have: canary tokens carry 16 bits per placement, and each must be
/// unique, so past this the generator would search longer and longer for a free one.
pub const MAX_PATIENTS: usize = 50_000;

fn check(cfg: &Config) -> Result<(), SynthError> {
    if cfg.patients > MAX_PATIENTS {
        return Err(SynthError::Config(format!(
            "at most {MAX_PATIENTS} patients (canary tokens are 16-bit per placement)"
        )));
    }
    if cfg.rows == 0 || cfg.cols == 0 || cfg.rows > 4096 || cfg.cols > 4096 {
        return Err(SynthError::Config("rows and cols must be 1..=4096".into()));
    }
    if cfg.ct_slices == 0 {
        return Err(SynthError::Config("ct-slices must be at least 1".into()));
    }
    Ok(())
}

fn finish(w: Writer, book: CanaryBook) -> Result<Manifest, SynthError> {
    let mut m = w.manifest;
    m.canaries = book.list;
    m.dates = book.dates;
    let distinct = |f: fn(&FileEntry) -> &str| {
        m.files
            .iter()
            .map(f)
            .collect::<std::collections::HashSet<_>>()
            .len() as u64
    };
    m.counts = Counts {
        patients: m
            .files
            .iter()
            .map(|f| f.patient)
            .collect::<std::collections::HashSet<_>>()
            .len() as u64,
        studies: distinct(|f| &f.study_instance_uid),
        series: distinct(|f| &f.series_instance_uid),
        instances: distinct(|f| &f.sop_instance_uid),
        files: m.files.len() as u64,
    };
    let path = w.out.join(MANIFEST_NAME);
    let json = serde_json::to_vec_pretty(&m).map_err(|e| SynthError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&path, json).map_err(|source| SynthError::Io { path, source })?;
    Ok(m)
}

fn new_writer(out: &Path, seed: u64) -> Result<Writer<'_>, SynthError> {
    std::fs::create_dir_all(out).map_err(|source| SynthError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(Writer {
        out,
        manifest: Manifest {
            generator: format!("deposit-synth {}", env!("CARGO_PKG_VERSION")),
            seed,
            uid_root: UID_ROOT.into(),
            implementation_class_uid: IMPLEMENTATION_CLASS_UID.into(),
            ..Default::default()
        },
        study_no: 0,
    })
}

/// Writes the mixed corpus under `out` and returns its manifest (also written as
/// `manifest.json`). Per patient: one study with a CT series, a burned-in US image, a US
/// multi-frame cine and a Basic Text SR; patient 0 has a second (prior) CT-only study.
pub fn generate(out: &Path, cfg: &Config) -> Result<Manifest, SynthError> {
    check(cfg)?;
    let mut w = new_writer(out, cfg.seed)?;
    let mut book = CanaryBook::new(cfg.seed);
    let mut uids = Uids {
        seed: cfg.seed,
        n: 0,
    };
    let mut rng = Rng::derive(cfg.seed, "corpus");
    for pi in 0..cfg.patients {
        let p = make_patient(&mut book, cfg.seed, pi);
        let st = study(&mut uids, &mut book, &mut rng, &p);
        w.study_no += 1;
        write_ct_series(
            &mut w,
            &mut uids,
            &mut rng,
            &st,
            1,
            cfg.ct_slices,
            cfg.rows,
            cfg.cols,
        )?;

        let se = series(&mut uids, 2, "US");
        let sop = uids.next(5);
        let (rows, cols) = (240, 320);
        let (obj, texts) = iods::us_burned(&st, &se, &sop, rows, cols);
        let mut e = entry(&p, &st, &se, iods::US_IMAGE, &sop, (rows, cols, 1));
        e.burned_in = texts
            .into_iter()
            .map(|(text, rect)| BurnedText { text, rect })
            .collect();
        let rel = format!("study{:03}/series002/00001.dcm", w.study_no);
        w.write(rel, obj, &p, e)?;

        let se = series(&mut uids, 3, "US");
        let sop = uids.next(5);
        let (rows, cols, frames) = (64, 80, 6);
        let obj = iods::us_multiframe(&st, &se, &sop, rows, cols, frames);
        let e = entry(
            &p,
            &st,
            &se,
            iods::US_MULTIFRAME,
            &sop,
            (rows, cols, frames),
        );
        let rel = format!("study{:03}/series003/00001.dcm", w.study_no);
        w.write(rel, obj, &p, e)?;

        let se = series(&mut uids, 4, "SR");
        let sop = uids.next(5);
        let obj = iods::basic_text_sr(&st, &se, &sop);
        let e = entry(&p, &st, &se, iods::BASIC_TEXT_SR, &sop, (0, 0, 0));
        let rel = format!("study{:03}/series004/00001.dcm", w.study_no);
        w.write(rel, obj, &p, e)?;

        if pi == 0 {
            let prior = study(&mut uids, &mut book, &mut rng, &p);
            w.study_no += 1;
            let n = cfg.ct_slices.min(2);
            write_ct_series(
                &mut w, &mut uids, &mut rng, &prior, 1, n, cfg.rows, cfg.cols,
            )?;
        }
    }
    finish(w, book)
}

/// Files per study in the bulk corpus.
pub const BULK_SERIES_SIZE: usize = 200;

/// Writes a CT-only corpus of `files` slices (512x512 by default: ~530 KB each), one study
/// of up to [`BULK_SERIES_SIZE`] slices per patient, with the same identifying headers and
/// private blocks as the mixed corpus.
pub fn generate_bulk(
    out: &Path,
    files: usize,
    seed: u64,
    rows: usize,
    cols: usize,
) -> Result<Manifest, SynthError> {
    generate_bulk_studies(out, files, seed, rows, cols, BULK_SERIES_SIZE)
}

/// Like [`generate_bulk`], with up to `per_study` slices in each patient's one study (1 gives as
/// many studies as files: the widest catalog for the window's lists).
pub fn generate_bulk_studies(
    out: &Path,
    files: usize,
    seed: u64,
    rows: usize,
    cols: usize,
    per_study: usize,
) -> Result<Manifest, SynthError> {
    let per_study = per_study.max(1);
    if files.div_ceil(per_study) > MAX_PATIENTS {
        return Err(SynthError::Config(format!(
            "{files} files at {per_study} per study would need more than {MAX_PATIENTS} patients \
             (canary tokens are 16-bit per placement); use a larger --per-study"
        )));
    }
    check(&Config {
        seed,
        patients: 1,
        ct_slices: 1,
        rows,
        cols,
    })?;
    let mut w = new_writer(out, seed)?;
    let mut book = CanaryBook::new(seed);
    let mut uids = Uids { seed, n: 0 };
    let mut rng = Rng::derive(seed, "bulk");
    let mut left = files;
    let mut pi = 0;
    while left > 0 {
        let n = left.min(per_study);
        let p = make_patient(&mut book, seed, pi);
        let st = study(&mut uids, &mut book, &mut rng, &p);
        w.study_no += 1;
        write_ct_series(&mut w, &mut uids, &mut rng, &st, 1, n, rows, cols)?;
        left -= n;
        pi += 1;
    }
    finish(w, book)
}

/// Reads a manifest written by [`generate`] or [`generate_bulk`].
pub fn read_manifest(dir: &Path) -> Result<Manifest, SynthError> {
    let path = dir.join(MANIFEST_NAME);
    let bytes = std::fs::read(&path).map_err(|source| SynthError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| SynthError::Io {
        path,
        source: std::io::Error::other(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Config {
        Config {
            seed: 9,
            patients: 3,
            ct_slices: 3,
            rows: 32,
            cols: 48,
        }
    }

    #[test]
    fn every_canary_is_in_the_bytes_of_its_patients_files() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let m = generate(dir.path(), &small())?;
        assert_eq!(m.counts.files, 3 * (3 + 3) + 2);
        assert_eq!(m.counts.studies, 4);
        assert_eq!(m.counts.series, 3 * 4 + 1);
        assert_eq!(m.counts.patients, 3);
        let bytes: Vec<(usize, String, Vec<u8>)> = m
            .files
            .iter()
            .map(|f| {
                Ok((
                    f.patient,
                    f.modality.clone(),
                    std::fs::read(dir.path().join(&f.path))?,
                ))
            })
            .collect::<Result<_, std::io::Error>>()?;
        for c in &m.canaries {
            let hits = bytes
                .iter()
                .filter(|(p, modality, b)| {
                    *p == c.patient
                        && (c.scope == "all" || c.scope == *modality)
                        && b.windows(c.canary.len()).any(|w| w == c.canary.as_bytes())
                })
                .count();
            let expected = bytes
                .iter()
                .filter(|(p, modality, _)| {
                    *p == c.patient && (c.scope == "all" || c.scope == *modality)
                })
                .count();
            assert_eq!(
                hits, expected,
                "{} ({}) in {hits} of {expected} files",
                c.canary, c.placement
            );
            // and nowhere else
            let stray = bytes
                .iter()
                .filter(|(p, _, b)| {
                    *p != c.patient && b.windows(c.canary.len()).any(|w| w == c.canary.as_bytes())
                })
                .count();
            assert_eq!(stray, 0, "{} leaked into another patient's files", c.canary);
        }
        Ok(())
    }

    #[test]
    fn latin1_patient_is_encoded_in_latin1_and_utf8_patient_in_utf8(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let m = generate(dir.path(), &small())?;
        let first = |p: usize| {
            m.files
                .iter()
                .find(|f| f.patient == p)
                .map(|f| dir.path().join(&f.path))
        };
        let p0 = std::fs::read(first(0).ok_or("no file")?)?;
        let p1 = std::fs::read(first(1).ok_or("no file")?)?;
        let has = |b: &[u8], n: &[u8]| b.windows(n.len()).any(|w| w == n);
        assert!(has(&p0, "Zoë^Müller".as_bytes()));
        assert!(has(&p1, b"Jos\xe9^Gon\xe7alves"));
        let obj = dicom_object::open_file(first(1).ok_or("no file")?)?;
        let name = obj
            .element(dicom_dictionary_std::tags::PATIENT_NAME)?
            .to_str()?;
        assert!(name.ends_with("José^Gonçalves"), "{name}");
        Ok(())
    }

    #[test]
    fn burned_in_text_lies_inside_its_rectangle() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let m = generate(dir.path(), &small())?;
        let us = m
            .files
            .iter()
            .find(|f| !f.burned_in.is_empty())
            .ok_or("no burned-in file")?;
        let obj = dicom_object::open_file(dir.path().join(&us.path))?;
        let px = obj
            .element(dicom_dictionary_std::tags::PIXEL_DATA)?
            .to_bytes()?;
        let white = |x: usize, y: usize| px[(y * us.cols + x) * 3] == 255;
        for t in &us.burned_in {
            let r = t.rect;
            let inside = (r.y..r.y + r.h)
                .flat_map(|y| (r.x..r.x + r.w).map(move |x| (x, y)))
                .filter(|&(x, y)| white(x, y))
                .count();
            assert!(inside > 50, "text {} drawn", t.text);
        }
        let total = (0..us.rows)
            .flat_map(|y| (0..us.cols).map(move |x| (x, y)))
            .filter(|&(x, y)| white(x, y))
            .count();
        let in_any = (0..us.rows)
            .flat_map(|y| (0..us.cols).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                white(x, y)
                    && us.burned_in.iter().any(|t| {
                        x >= t.rect.x
                            && x < t.rect.x + t.rect.w
                            && y >= t.rect.y
                            && y < t.rect.y + t.rect.h
                    })
            })
            .count();
        assert_eq!(
            total, in_any,
            "every white pixel is inside a reported rectangle"
        );
        Ok(())
    }

    #[test]
    fn same_seed_same_bytes() -> Result<(), Box<dyn std::error::Error>> {
        let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
        let ma = generate(a.path(), &small())?;
        generate(b.path(), &small())?;
        for f in &ma.files {
            assert_eq!(
                std::fs::read(a.path().join(&f.path))?,
                std::fs::read(b.path().join(&f.path))?
            );
        }
        Ok(())
    }

    #[test]
    fn bulk_files_are_about_530_kb_at_512() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let m = generate_bulk(dir.path(), 3, 1, 512, 512)?;
        assert_eq!(m.counts.files, 3);
        let len = std::fs::metadata(dir.path().join(&m.files[0].path))?.len();
        assert!((520_000..560_000).contains(&len), "{len}");
        Ok(())
    }

    #[test]
    fn bulk_studies_of_one_file_each() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let m = generate_bulk_studies(dir.path(), 5, 1, 16, 16, 1)?;
        assert_eq!(
            (m.counts.files, m.counts.studies, m.counts.patients),
            (5, 5, 5)
        );
        let m = generate_bulk_studies(&dir.path().join("b"), 5, 1, 16, 16, 2)?;
        assert_eq!((m.counts.files, m.counts.studies), (5, 3));
        // more patients than canary tokens allow: refused at once, not searched for
        let e = generate_bulk_studies(&dir.path().join("c"), 100_000, 1, 16, 16, 1);
        assert!(matches!(e, Err(SynthError::Config(_))));
        Ok(())
    }
}
