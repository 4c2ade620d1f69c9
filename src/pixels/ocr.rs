//! Burned-in text detection with Tesseract OCR (libtesseract through the `tesseract` crate,
//! cargo feature `ocr`; else the `tesseract` program, [`program`]): proposes regions (bounding boxes, confidence) where a rendered frame
//! shows text. The recognised text itself never leaves this module — it may be a patient's
//! name — only where it is and how sure the engine is.

use serde::Serialize;

use super::render::Rendered;
use super::PixelError;

/// Tesseract confidence (0–100) a word of four or more letters/digits needs to count as text.
pub const MIN_CONFIDENCE: f32 = 50.0;
/// ... a word of two or three.
pub const MIN_CONFIDENCE_SHORT: f32 = 85.0;

/// A proposed text region in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
    /// Mean word confidence of the line, 0–100.
    pub confidence: f32,
    /// Characters recognised (not the characters themselves).
    pub chars: u32,
}

impl Region {
    /// Whether this region overlaps the end-exclusive box (x0, y0, x1, y1).
    pub fn overlaps(&self, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> bool {
        self.x < x1 && x0 < self.x + self.w && self.y < y1 && y0 < self.y + self.h
    }
}

/// Words of lower confidence count only when long (speckle reads as short junk words).
pub const MIN_CONFIDENCE_LONG: f32 = 10.0;

/// One word of Tesseract's TSV output.
#[derive(Debug, Clone, PartialEq)]
struct Word {
    line: (u32, u32, u32),
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    conf: f32,
    alnum: u32,
    chars: u32,
}

impl Word {
    /// Looks like text: short words (2–3 letters or digits) read with high confidence, longer
    /// ones with fair confidence, and long ones read at all (unusual fonts — pixel fonts,
    /// condensed vendor fonts — score low; anatomy and speckle read as short junk).
    fn is_text(&self) -> bool {
        (self.alnum >= 2 && self.conf >= MIN_CONFIDENCE_SHORT)
            || (self.alnum >= 4 && self.conf >= MIN_CONFIDENCE)
            || (self.alnum >= 5 && self.conf >= MIN_CONFIDENCE_LONG)
    }
}

/// Parses Tesseract's TSV: level 5 rows are words.
fn words(tsv: &str) -> Vec<Word> {
    let mut out = Vec::new();
    for line in tsv.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 12 || f[0] != "5" {
            continue;
        }
        let n = |i: usize| f[i].trim().parse::<u32>().ok();
        let (Some(block), Some(par), Some(ln), Some(x), Some(y), Some(w), Some(h)) =
            (n(2), n(3), n(4), n(6), n(7), n(8), n(9))
        else {
            continue;
        };
        let alnum = f[11].chars().filter(|c| c.is_alphanumeric()).count() as u32;
        if alnum == 0 || w == 0 || h == 0 {
            continue;
        }
        out.push(Word {
            line: (block, par, ln),
            x,
            y,
            w,
            h,
            conf: f[10].trim().parse().unwrap_or(-1.0),
            alnum,
            chars: f[11].trim().chars().count() as u32,
        });
    }
    out
}

/// One region per text line holding at least one word that looks like text; it spans every
/// word of the line (a name read badly between two good words is still covered). Scaled back
/// by `scale`.
fn regions(words: &[Word], scale: u32, width: u32, height: u32) -> Vec<Region> {
    type Line = (u32, u32, u32);
    let mut lines: Vec<(Line, Vec<&Word>)> = Vec::new();
    for w in words {
        match lines.iter_mut().find(|(k, _)| *k == w.line) {
            Some((_, v)) => v.push(w),
            None => lines.push((w.line, vec![w])),
        }
    }
    let scale = scale.max(1);
    lines
        .into_iter()
        .filter(|(_, ws)| ws.iter().any(|w| w.is_text()))
        .map(|(_, ws)| {
            let x0 = ws.iter().map(|w| w.x).min().unwrap_or(0) / scale;
            let y0 = ws.iter().map(|w| w.y).min().unwrap_or(0) / scale;
            let x1 = ws
                .iter()
                .map(|w| w.x + w.w)
                .max()
                .unwrap_or(0)
                .div_ceil(scale);
            let y1 = ws
                .iter()
                .map(|w| w.y + w.h)
                .max()
                .unwrap_or(0)
                .div_ceil(scale);
            // a pixel of margin: glyph edges are soft after upscaling
            let (x0, y0) = (x0.saturating_sub(1), y0.saturating_sub(1));
            let (x1, y1) = ((x1 + 1).min(width), (y1 + 1).min(height));
            let good: Vec<&&Word> = ws.iter().filter(|w| w.is_text()).collect();
            Region {
                x: x0,
                y: y0,
                w: x1.saturating_sub(x0),
                h: y1.saturating_sub(y0),
                confidence: good.iter().map(|w| w.conf).sum::<f32>() / good.len().max(1) as f32,
                chars: ws.iter().map(|w| w.chars).sum(),
            }
        })
        .filter(|r| r.w > 0 && r.h > 0)
        .collect()
}

/// Grey, dark-text-on-light, upscaled copy of a frame for the engine, and the scale used.
/// Small images are enlarged (Tesseract reads glyphs of 20–40 pixels best; burned-in
/// annotations are often 8–15).
fn prepare(r: &Rendered) -> (Vec<u8>, u32, u32, u32) {
    let n = r.width as usize * r.height as usize;
    let grey: Vec<u8> = if r.channels == 3 {
        r.pixels
            .chunks_exact(3)
            .map(|p| {
                // the brightest channel: coloured annotation text (yellow, green) stays bright
                p[0].max(p[1]).max(p[2])
            })
            .collect()
    } else {
        r.pixels.clone()
    };
    let mean = grey.iter().map(|&v| u64::from(v)).sum::<u64>() / n.max(1) as u64;
    let invert = mean < 128;
    let big = r.width.max(r.height);
    let scale: u32 = if big <= 800 { 2 } else { 1 };
    let (w, h) = (r.width * scale, r.height * scale);
    let (sw, sh) = (r.width as usize, r.height as usize);
    let at = |x: usize, y: usize| f64::from(grey[y.min(sh - 1) * sw + x.min(sw - 1)]);
    let mut out = Vec::with_capacity(w as usize * h as usize);
    for y in 0..h {
        // bilinear: blocky bitmap fonts read far better smoothed than as big square pixels
        let fy = ((f64::from(y) + 0.5) / f64::from(scale) - 0.5).max(0.0);
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        for x in 0..w {
            let fx = ((f64::from(x) + 0.5) / f64::from(scale) - 0.5).max(0.0);
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let v = (at(x0, y0) * (1.0 - tx) + at(x0 + 1, y0) * tx) * (1.0 - ty)
                + (at(x0, y0 + 1) * (1.0 - tx) + at(x0 + 1, y0 + 1) * tx) * ty;
            let v = v.round().clamp(0.0, 255.0) as u8;
            out.push(if invert { 255 - v } else { v });
        }
    }
    (out, w, h, scale)
}

/// Whether text detection works in this build and on this machine (the `ocr` feature and
/// Tesseract's English data); the error says what is missing.
pub fn available() -> Result<(), PixelError> {
    engine::with(|t| Ok((t, ())))
}

/// Text regions in a rendered frame (grey or RGB).
pub fn detect(r: &Rendered) -> Result<Vec<Region>, PixelError> {
    detect_by(r, engine::tsv)
}

/// [`detect`] through the Tesseract program ([`program`]) whatever this build's engine is.
pub fn detect_with_program(r: &Rendered) -> Result<Vec<Region>, PixelError> {
    detect_by(r, program::tsv)
}

fn detect_by(
    r: &Rendered,
    tsv: impl FnOnce(&[u8], u32, u32) -> Result<String, PixelError>,
) -> Result<Vec<Region>, PixelError> {
    if r.width == 0 || r.height == 0 {
        return Ok(Vec::new());
    }
    let (img, w, h, scale) = prepare(r);
    let tsv = tsv(&img, w, h)?;
    Ok(regions(&words(&tsv), scale, r.width, r.height))
}

#[cfg(feature = "ocr")]
mod engine {
    use std::cell::RefCell;

    use tesseract::{PageSegMode, Tesseract};

    use super::PixelError;

    thread_local! {
        /// One engine per thread: loading the language data costs ~0.1 s.
        static ENGINE: RefCell<Option<Tesseract>> = const { RefCell::new(None) };
    }

    fn err(what: &str, e: impl std::fmt::Display) -> PixelError {
        PixelError::Ocr(format!("{what}: {e}"))
    }

    fn new_engine() -> Result<Tesseract, PixelError> {
        let mut t = Tesseract::new(None, Some("eng")).map_err(|e| {
            err(
                "Tesseract cannot start with English data (install tesseract-ocr-eng)",
                e,
            )
        })?;
        t.set_page_seg_mode(PageSegMode::PsmSparseText);
        // no resolution in DICOM frames; a fixed one keeps Tesseract from guessing (and warning)
        t.set_variable("user_defined_dpi", "300")
            .map_err(|e| err("Tesseract setting", e))
    }

    /// Runs `f` with this thread's engine (created on first use).
    pub(super) fn with<T>(
        f: impl FnOnce(Tesseract) -> Result<(Tesseract, T), PixelError>,
    ) -> Result<T, PixelError> {
        ENGINE.with(|cell| {
            let t = match cell.borrow_mut().take() {
                Some(t) => t,
                None => new_engine()?,
            };
            let (t, v) = f(t)?;
            *cell.borrow_mut() = Some(t);
            Ok(v)
        })
    }

    pub(super) fn tsv(img: &[u8], w: u32, h: u32) -> Result<String, PixelError> {
        let (wi, hi) = (
            i32::try_from(w).map_err(|e| err("image too large", e))?,
            i32::try_from(h).map_err(|e| err("image too large", e))?,
        );
        with(|t| {
            let mut t = t
                .set_frame(img, wi, hi, 1, wi)
                .map_err(|e| err("Tesseract image", e))?
                .recognize()
                .map_err(|e| err("Tesseract recognition", e))?;
            let tsv = t.get_tsv_text(0).map_err(|e| err("Tesseract output", e))?;
            Ok((t, tsv))
        })
    }
}

#[cfg(not(feature = "ocr"))]
mod engine {
    use super::PixelError;

    pub(super) fn with<T>(
        f: impl FnOnce(()) -> Result<((), T), PixelError>,
    ) -> Result<T, PixelError> {
        super::program::find()?;
        f(()).map(|((), v)| v)
    }

    pub(super) fn tsv(img: &[u8], w: u32, h: u32) -> Result<String, PixelError> {
        super::program::tsv(img, w, h)
    }
}

/// Tesseract as a program (`tesseract`, found on the PATH or where its Windows installers put
/// it): the engine of builds without the library binding (the Windows build). The frame goes
/// to it through a pipe, never through a file, and its answer is the same TSV.
pub mod program {
    use std::io::{Read, Write};
    use std::path::PathBuf;
    use std::process::{Command, Stdio};
    use std::sync::OnceLock;

    use super::PixelError;

    /// How long one frame may take (Tesseract needs 0.1–2 s).
    const DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

    /// What to do when no Tesseract is found, for the quarantine's reason.
    pub const HOW_TO_INSTALL: &str = "install Tesseract OCR with its English data (Windows: the \
        installer from the UB Mannheim build of Tesseract, into its default folder or onto the \
        PATH; Debian: apt install tesseract-ocr tesseract-ocr-eng)";

    fn candidates() -> Vec<PathBuf> {
        let mut c = vec![PathBuf::from("tesseract")];
        if cfg!(windows) {
            for base in [r"C:\Program Files", r"C:\Program Files (x86)"] {
                c.push(
                    PathBuf::from(base)
                        .join("Tesseract-OCR")
                        .join("tesseract.exe"),
                );
            }
            if let Some(d) = directories::BaseDirs::new() {
                c.push(
                    d.data_local_dir()
                        .join("Programs")
                        .join("Tesseract-OCR")
                        .join("tesseract.exe"),
                );
            }
        }
        c
    }

    /// The first Tesseract that runs and has English data (looked for once per process).
    pub fn find() -> Result<PathBuf, PixelError> {
        static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        FOUND
            .get_or_init(|| {
                for p in candidates() {
                    let langs = Command::new(&p)
                        .arg("--list-langs")
                        .stdin(Stdio::null())
                        .stderr(Stdio::null())
                        .output();
                    if let Ok(out) = langs {
                        if String::from_utf8_lossy(&out.stdout)
                            .lines()
                            .any(|l| l.trim() == "eng")
                        {
                            return Ok(p);
                        }
                    }
                }
                Err(format!(
                    "no Tesseract OCR with English data was found: {HOW_TO_INSTALL}"
                ))
            })
            .clone()
            .map_err(PixelError::Ocr)
    }

    /// Tesseract's TSV for an 8-bit grey image of `w` x `h` pixels (sparse text, 300 dpi, as
    /// the library engine is set up).
    pub fn tsv(img: &[u8], w: u32, h: u32) -> Result<String, PixelError> {
        let err = |what: &str, e: &dyn std::fmt::Display| PixelError::Ocr(format!("{what}: {e}"));
        let program = find()?;
        let mut child = Command::new(program)
            .args([
                "stdin", "stdout", "-l", "eng", "--psm", "11", "--dpi", "300", "tsv",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err("Tesseract cannot start", &e))?;
        // the image as PGM (binary grey): written from a thread while the answer is read
        let mut pgm = format!("P5\n{w} {h}\n255\n").into_bytes();
        pgm.extend_from_slice(img);
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| PixelError::Ocr("Tesseract has no input pipe".into()))?;
        let writer = std::thread::spawn(move || stdin.write_all(&pgm));
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| PixelError::Ocr("Tesseract has no output pipe".into()))?;
        let reader = std::thread::spawn(move || {
            let mut out = String::new();
            stdout.read_to_string(&mut out).map(|_| out)
        });
        // a program that hangs is stopped: the image is then held for review, never passed
        let deadline = std::time::Instant::now() + DEADLINE;
        let status = loop {
            match child.try_wait().map_err(|e| err("Tesseract", &e))? {
                Some(st) => break st,
                None if std::time::Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(PixelError::Ocr(format!(
                        "Tesseract gave no answer within {} s",
                        DEADLINE.as_secs()
                    )));
                }
                None => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        };
        let wrote = writer
            .join()
            .map_err(|_| PixelError::Ocr("Tesseract input failed".into()))?;
        let out = reader
            .join()
            .map_err(|_| PixelError::Ocr("Tesseract output failed".into()))?
            .map_err(|e| err("Tesseract output", &e))?;
        wrote.map_err(|e| err("Tesseract input", &e))?;
        if !status.success() {
            return Err(PixelError::Ocr(format!("Tesseract failed ({status})")));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
1\t1\t0\t0\t0\t0\t0\t0\t600\t300\t-1\t\n\
5\t1\t1\t1\t1\t1\t30\t30\t60\t24\t91.5\tJOHN\n\
5\t1\t1\t1\t1\t2\t100\t30\t90\t24\t88.5\tSMITH\n\
5\t1\t1\t1\t2\t1\t30\t90\t9\t24\t95\tX\n\
5\t1\t2\t1\t1\t1\t300\t200\t60\t24\t5\tnoise\n";

    #[test]
    fn words_join_into_lines_and_scale_back() {
        let w = words(TSV);
        assert_eq!(w.len(), 4);
        let r = regions(&w, 3, 200, 100);
        assert_eq!(
            r.len(),
            1,
            "lines of one-letter or low-confidence words dropped: {r:?}"
        );
        assert_eq!((r[0].x, r[0].y, r[0].w, r[0].h), (9, 9, 56, 10));
        assert_eq!(r[0].confidence, 90.0);
        assert_eq!(r[0].chars, 9);
        assert!(r[0].overlaps((0, 0, 10, 10)));
        assert!(!r[0].overlaps((70, 0, 80, 100)));
    }

    #[test]
    fn prepare_inverts_dark_frames_and_upscales_small_ones() {
        let r = Rendered {
            width: 2,
            height: 1,
            channels: 3,
            pixels: vec![0, 0, 0, 255, 255, 0],
            window: None,
        };
        let (img, w, h, s) = prepare(&r);
        assert_eq!((w, h, s), (4, 2, 2));
        // inverted (the frame is dark), bilinear between the two pixels
        assert_eq!(&img[..4], &[255, 191, 64, 0]);
    }
}
