//! The site mask library end to end: a rule drawn on an instance is saved with who/when,
//! listed, counted against the catalog, previewed, exported as a CTP DicomPixelAnonymizer
//! script that both CTP loaders re-read identically, applied automatically by deid (after any
//! `--masks` library: first match wins), and deleted.

use crate::support;

use std::path::{Path, PathBuf};

use deposit::api::masks::{preview_candidate, NewMaskRule};
use deposit::api::Session;
use deposit::intake::ScanOptions;
use deposit::pixels::{self, MaskLibrary, Rect};
use support::cli::{dcm_files, deposit};

fn synth_us(dir: &Path) -> (PathBuf, deposit_synth::FileEntry) {
    support::burned::burned_us(dir)
}

fn text_rect(e: &deposit_synth::FileEntry) -> Rect {
    let (x, y, w, h) = support::burned::text_box(e);
    Rect {
        x: x as i64,
        y: y as i64,
        w: w as i64,
        h: h as i64,
    }
}

#[test]
fn site_rules_save_count_preview_export_apply_and_delete() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let (incoming, e) = synth_us(tmp.path());
    let us = incoming.join("us.dcm");
    let mut session = Session::open(&home).expect("session");
    session
        .scan(
            &[tmp.path().join("corpus")],
            &ScanOptions::default(),
            |_| {},
        )
        .expect("scan");

    // save: signature from the header, rectangles, who and when
    let rect = text_rect(&e);
    let req = NewMaskRule {
        file: us.clone(),
        regions: vec![
            rect,
            Rect {
                x: -40,
                y: -20,
                w: 40,
                h: 20,
            },
        ],
        name: None,
        note: Some("synthetic top-left text".into()),
        created_by: "tester".into(),
        created_at: "2026-11-25T10:00:00Z".into(),
    };
    let rule = session.save_mask_rule(&req).expect("saves");
    assert_eq!(rule.matches["Modality"], "US");
    assert_eq!(rule.matches["Rows"], e.rows.to_string());
    assert_eq!(rule.matches["Columns"], e.cols.to_string());
    for k in [
        "Manufacturer",
        "ManufacturerModelName",
        "SOPClassUID",
        "ImageType",
    ] {
        assert!(rule.matches.contains_key(k), "{k}");
    }
    assert_eq!(rule.created_by.as_deref(), Some("tester"));
    assert_eq!(rule.created_at.as_deref(), Some("2026-11-25T10:00:00Z"));
    assert_eq!(session.mask_rules().expect("list"), vec![rule.clone()]);
    // the same signature again, or an empty rectangle, is refused
    let dup = session.save_mask_rule(&req).expect_err("duplicate");
    assert_eq!(dup.code, "masks.duplicate_signature");
    let bad = NewMaskRule {
        regions: vec![Rect {
            x: 0,
            y: 0,
            w: 0,
            h: 5,
        }],
        ..req.clone()
    };
    assert_eq!(
        session.save_mask_rule(&bad).expect_err("bad").code,
        "masks.bad_regions"
    );

    // counts against the catalog (one synthetic burned-in US in one series of one study)
    let m = session.mask_rule_matches(&rule.name).expect("matches");
    assert_eq!((m.instances, m.series, m.studies), (1, 1, 1), "{m:?}");
    assert!(!m.approximate);

    // preview with a candidate rule: the text box is black, the frame is otherwise unchanged
    let (png, info) = preview_candidate(&us, 0, &[rect]).expect("preview");
    assert_eq!(info.mask_rule.as_deref(), Some("candidate"));
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let fi = reader.next_frame(&mut buf).expect("frame");
    let (w, ch) = (fi.width as usize, 3usize);
    for y in rect.y..rect.y + rect.h {
        for x in rect.x..rect.x + rect.w {
            let at = (y as usize * w + x as usize) * ch;
            assert_eq!(&buf[at..at + 3], &[0, 0, 0], "masked at {x},{y}");
        }
    }
    let (plain, _) = preview_candidate(
        &us,
        0,
        &[Rect {
            x: 0,
            y: 0,
            w: 1,
            h: 1,
        }],
    )
    .expect("p");
    assert_ne!(plain.len(), 0);

    // export as CTP and re-read with both CTP loaders: same regions, same matches
    let script = session.export_mask_rules(&[]).expect("export");
    let site = MaskLibrary::load(&deposit::api::masks::site_path(session.home())).expect("site");
    let ctp = MaskLibrary::parse(&script, "export.script").expect("reloads");
    assert_eq!(ctp.format, "ctp");
    assert!(ctp.warnings.is_empty(), "{:?}\n{script}", ctp.warnings);
    assert_eq!(ctp.rules.len(), site.rules.len());
    for (a, b) in site.rules.iter().zip(&ctp.rules) {
        assert_eq!(a.regions, b.regions, "{script}");
    }
    let engine = deposit::deid::ctp::pixel::PixelScript::parse(&script).expect("CTP engine loads");
    assert!(engine.skipped.is_empty());
    let mut probes: Vec<PathBuf> = dcm_files(&tmp.path().join("corpus"));
    let samples = support::samples();
    probes.extend(
        [
            "deid-data/ultrasounds/GREYSCALE_IMAGE.dcm",
            "pydicom-data/US1_UNCR.dcm",
            "pydicom/test_files/CT_small.dcm",
        ]
        .iter()
        .map(|f| samples.join(f))
        .filter(|p| p.exists()),
    );
    let mut matched = 0;
    for p in &probes {
        let obj = pixels::open(p).expect("open");
        let want = pixels::apply::find_rule(&site, &obj).map(|r| r.regions.clone());
        let got = pixels::apply::find_rule(&ctp, &obj).map(|r| r.regions.clone());
        assert_eq!(got, want, "{}", p.display());
        let eng = engine.first_match(&obj).map(|s| {
            s.regions
                .iter()
                .map(|g| Rect {
                    x: g.x,
                    y: g.y,
                    w: g.w,
                    h: g.h + 1,
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(eng, want, "CTP engine on {}", p.display());
        matched += usize::from(want.is_some());
    }
    assert_eq!(matched, 1, "exactly the synthetic US matches");
    assert!(session
        .export_mask_rules(&["nope".into()])
        .is_err_and(|e| e.code == "masks.no_such_rule"));

    // the site library applies in deid without --masks
    let inc = incoming.display().to_string();
    let out = tmp.path().join("out");
    let (code, s, err) = deposit(
        &home,
        &["deid", &inc, "--out", &out.display().to_string(), "--json"],
    );
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["written"], 1, "{s}");
    let written = dcm_files(&out);
    let texts: Vec<&str> = e.burned_in.iter().map(|b| b.text.as_str()).collect();
    support::canary::assert_no_leaks(&out, &texts);
    let img = pixels::decode(&pixels::open(&written[0]).expect("open"), None).expect("decode");
    for s in 0..3 {
        assert_eq!(img.sample(0, rect.y as u32, rect.x as u32, s), 0);
    }
    // preview: --masks first, then the site library (first match wins)
    let png = tmp.path().join("p.png");
    let (_, j, _) = deposit(
        &home,
        &[
            "preview",
            &us.display().to_string(),
            "--out",
            &png.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(j["mask_rule"], rule.name.as_str(), "{j}");
    let first = tmp.path().join("first.toml");
    std::fs::write(
        &first,
        "[[rule]]\nname = \"run-rule\"\nregions = [[0, 0, 10, 10]]\nmatch = { Modality = \"US\" }\n",
    )
    .expect("write");
    let (_, j, _) = deposit(
        &home,
        &[
            "preview",
            &us.display().to_string(),
            "--out",
            &png.display().to_string(),
            "--masks",
            &first.display().to_string(),
            "--json",
        ],
    );
    assert_eq!(j["mask_rule"], "run-rule", "{j}");

    // delete: the image is held again
    assert!(session.delete_mask_rule(&rule.name).expect("delete"));
    assert!(!session.delete_mask_rule(&rule.name).expect("delete again"));
    assert!(session.mask_rules().expect("list").is_empty());
    let out2 = tmp.path().join("out2");
    let (_, s, _) = deposit(
        &home,
        &["deid", &inc, "--out", &out2.display().to_string(), "--json"],
    );
    assert_eq!(s["quarantined"], 1, "{s}");
}
