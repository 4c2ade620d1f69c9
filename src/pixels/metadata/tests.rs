//! Tests of metadata removal: real frames of the sample corpus with inserted COM/APPn
//! segments, J2K COM markers and JP2 boxes carrying a canary; garbage never panics.

use super::*;
use dicom_object::{DefaultDicomObject, OpenFileOptions};

const CANARY: &[u8] = b"CANARY^Leaky^Person 19450704";

/// The parts joined.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn samples() -> std::path::PathBuf {
    std::env::var_os("DEPOSIT_SAMPLES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/samples")
        })
}

fn open(rel: &str) -> DefaultDicomObject {
    let p = if rel.starts_with("fuzz/") {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    } else {
        samples().join(rel)
    };
    OpenFileOptions::new().open_file(&p).unwrap_or_else(|e| {
        panic!(
            "{} (sample corpus: tests/data/fetch-samples.sh): {e}",
            p.display()
        )
    })
}

fn ts(obj: &DefaultDicomObject) -> String {
    obj.meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string()
}

/// The single frame of a single-frame object, fragments joined.
fn frame_of(obj: &DefaultDicomObject) -> Vec<u8> {
    let e = obj.element(PIXEL_DATA).expect("pixel data");
    e.value()
        .fragments()
        .expect("encapsulated")
        .iter()
        .flatten()
        .copied()
        .collect()
}

/// The object with its pixel data replaced by one fragment.
fn with_frame(obj: &DefaultDicomObject, frame: Vec<u8>) -> DefaultDicomObject {
    let mut o = obj.clone();
    let mut frame = frame;
    if frame.len() % 2 == 1 {
        frame.push(0);
    }
    o.put(DataElement::new(
        PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), vec![frame])),
    ));
    o
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(body.len() + 2).expect("short").to_be_bytes());
    s.extend_from_slice(body);
    s
}

fn splice(d: &[u8], at: usize, what: &[u8]) -> Vec<u8> {
    cat(&[&d[..at], what, &d[at..]])
}

/// Offset of the first `FF m` marker at or after `from`.
fn find_marker(d: &[u8], from: usize, m: u8) -> usize {
    from + d[from..]
        .windows(2)
        .position(|w| w == [0xFF, m])
        .expect("marker")
}

/// A JPEG frame with a COM and two APP1 (EXIF, XMP) after SOI and a COM before SOS.
fn jpeg_with_metadata(frame: &[u8]) -> Vec<u8> {
    let exif = [b"Exif\0\0".as_slice(), CANARY].concat();
    let xmp = cat(&[
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>",
        CANARY,
        b"</x:xmpmeta>",
    ]);
    let head = [
        segment(0xFE, CANARY),
        segment(0xE1, &exif),
        segment(0xE1, &xmp),
    ]
    .concat();
    let d = splice(frame, 2, &head);
    let sos = find_marker(&d, 2, 0xDA);
    splice(&d, sos, &segment(0xFE, CANARY))
}

/// Decoded samples of `obj` (the project's decoder).
fn pixels(obj: &DefaultDicomObject) -> Vec<u8> {
    crate::pixels::decode(obj, None).expect("decodes").data
}

fn check_jpeg_sample(rel: &str) {
    let obj = open(rel);
    let original = frame_of(&obj);
    let dirty = jpeg_with_metadata(&original);
    assert!(contains(&dirty, CANARY));
    let before = clean_frame(0, &original).expect("original walks");
    let c = clean_frame(0, &dirty).expect("walks");
    assert!(!contains(&c.bytes, CANARY), "{rel}: canary left");
    assert_eq!(c.removals.len(), before.removals.len() + 4, "{rel}");
    // byte-exact: the dirty frame cleaned is the original cleaned
    assert_eq!(c.bytes, before.bytes, "{rel}");
    // and it decodes to the same pixels as the original
    let cleaned = with_frame(&obj, c.bytes.into_owned());
    assert_eq!(pixels(&cleaned), pixels(&obj), "{rel}");
    // nothing removed from a stream without metadata: the input itself
    let again = clean_frame(0, &before.bytes).expect("walks");
    assert!(again.removals.is_empty());
    assert!(matches!(again.bytes, Cow::Borrowed(_)));
}

#[test]
fn the_families_of_transfer_syntaxes() {
    for t in [
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70\0",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.81",
    ] {
        assert_eq!(codec(t), Some(Codec::Jpeg), "{t}");
    }
    for t in [
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    ] {
        assert_eq!(codec(t), Some(Codec::Jpeg2000), "{t}");
    }
    for t in [
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.100",
        "1.2.840.10008.1.2.4.501",
        "1.2.840.10008.1.2.4.5",
    ] {
        assert_eq!(codec(t), None, "{t}");
    }
}

#[test]
fn jpeg_baseline_com_and_app1_are_removed_and_the_image_is_unchanged() {
    check_jpeg_sample("pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm");
}

#[test]
fn jpeg_extended_12_bit_is_cleaned_losslessly() {
    check_jpeg_sample("pydicom/test_files/JPGExtended.dcm");
}

#[test]
fn jpeg_lossless_is_cleaned_losslessly() {
    check_jpeg_sample("fuzz/corpus/deid_bytes/ct-jpeg-lossless.dcm");
    check_jpeg_sample("pydicom/test_files/SC_rgb_jpeg_gdcm.dcm");
}

#[test]
fn jpeg_ls_is_cleaned_losslessly() {
    check_jpeg_sample("pydicom/test_files/MR_small_jpeg_ls_lossless.dcm");
    check_jpeg_sample("pydicom/test_files/SC_rgb_jls_lossy_line.dcm");
}

#[test]
fn jfif_and_adobe_segments_are_kept_and_listed_as_regions() {
    let obj = open("pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm");
    let f = frame_of(&obj);
    let c = clean_frame(0, &f).expect("walks");
    assert!(
        c.bytes.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]),
        "JFIF APP0 kept"
    );
    let r = regions(3, &c.bytes);
    let labels: Vec<&str> = r.iter().map(|(l, _)| l.as_str()).collect();
    assert!(labels.contains(&"frame 3: APP0"), "{labels:?}");
    assert!(labels.contains(&"frame 3: SOS"), "{labels:?}");
    assert!(labels.contains(&"frame 3: DQT"), "{labels:?}");
    // the APP0 region is what follows SOI
    let app0 = r.iter().find(|(l, _)| l == "frame 3: APP0").expect("APP0");
    assert_eq!(app0.1.start, 2);
    // regions never cover the entropy-coded data: they are far smaller than the frame
    let covered: usize = r.iter().map(|(_, x)| x.len()).sum();
    assert!(covered < c.bytes.len() / 2);
    // an Adobe APP14 stays, a JFXX APP0 (thumbnail) goes
    let adobe = segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01");
    let jfxx = segment(0xE0, b"JFXX\0\x10thumbnail");
    let d = splice(&f, 2, &[adobe.clone(), jfxx].concat());
    let c = clean_frame(0, &d).expect("walks");
    assert!(contains(&c.bytes, &adobe));
    assert_eq!(c.removals.len(), 1);
    assert_eq!(
        c.removals[0].sentence(),
        "frame 0: APP0 segment removed (19 bytes)"
    );
}

#[test]
fn metadata_in_regions_is_found_before_cleaning() {
    let obj = open("pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm");
    let dirty = jpeg_with_metadata(&frame_of(&obj));
    let r = regions(0, &dirty);
    let com = r.iter().filter(|(l, _)| l == "frame 0: COM").count();
    assert_eq!(com, 2);
    assert!(r
        .iter()
        .filter(|(l, _)| l == "frame 0: COM")
        .all(|(_, x)| contains(&dirty[x.clone()], CANARY)));
    assert_eq!(
        regions(1, b"garbage"),
        vec![("frame 1: unparsed".to_string(), 0..7)]
    );
}

/// The codestream with a COM after SIZ and one in the first tile-part header.
fn j2k_with_metadata(cs: &[u8]) -> Vec<u8> {
    let siz_len = usize::from(u16::from_be_bytes([cs[4], cs[5]]));
    let com = segment(0x64, &[&[0, 1][..], CANARY].concat());
    let d = splice(cs, 4 + siz_len, &com);
    let sot = find_marker(&d, 4 + siz_len + com.len(), 0x90);
    let mut d = splice(&d, sot + 12, &com);
    let psot = u32::from_be_bytes([d[sot + 6], d[sot + 7], d[sot + 8], d[sot + 9]]);
    if psot != 0 {
        let n = psot + u32::try_from(com.len()).expect("short");
        d[sot + 6..sot + 10].copy_from_slice(&n.to_be_bytes());
    }
    d
}

fn check_j2k_sample(rel: &str) {
    let obj = open(rel);
    let original = frame_of(&obj);
    let dirty = j2k_with_metadata(&original);
    let labels: Vec<String> = regions(0, &dirty).into_iter().map(|r| r.0).collect();
    assert!(labels.contains(&"frame 0: COM".to_string()), "{labels:?}");
    assert!(
        labels.contains(&"frame 0: tile-part 0: COM".to_string()),
        "{labels:?}"
    );
    let before = clean_frame(0, &original).expect("original walks");
    let c = clean_frame(0, &dirty).expect("walks");
    assert!(!contains(&c.bytes, CANARY), "{rel}");
    assert_eq!(c.removals.len(), before.removals.len() + 2, "{rel}");
    // (an encoder's own COM, "Created by OpenJPEG" and the like, goes too)
    let count = |r: &[Removal], what: &str| r.iter().filter(|x| x.what == what).count();
    assert_eq!(
        count(&c.removals, "COM marker segment"),
        count(&before.removals, "COM marker segment") + 1
    );
    assert_eq!(count(&c.removals, "tile-part 0: COM marker segment"), 1);
    assert_eq!(c.bytes, before.bytes, "{rel}");
    let cleaned = with_frame(&obj, c.bytes.into_owned());
    assert_eq!(pixels(&cleaned), pixels(&obj), "{rel}");
}

#[test]
fn j2k_com_markers_are_removed_from_main_and_tile_part_headers() {
    check_j2k_sample("pydicom/test_files/JPEG2000.dcm");
    check_j2k_sample("pydicom/test_files/examples_jpeg2k.dcm");
}

fn jp2_box_bytes(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
    let mut b = u32::try_from(content.len() + 8)
        .expect("short")
        .to_be_bytes()
        .to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(content);
    b
}

#[test]
fn jp2_metadata_boxes_go_and_the_codestream_is_cleaned() {
    // a real JP2 fragment: an xml and a uuid box before its codestream
    let obj = open("pydicom/test_files/GDCMJ2K_TextGBR.dcm");
    let original = frame_of(&obj);
    assert!(original.starts_with(&JP2_SIGNATURE));
    let mut i = 0;
    while &original[i + 4..i + 8] != b"jp2c" {
        i += usize::try_from(u32::from_be_bytes([
            original[i],
            original[i + 1],
            original[i + 2],
            original[i + 3],
        ]))
        .expect("len");
    }
    let xml = jp2_box_bytes(b"xml ", &cat(&[b"<name>", CANARY, b"</name>"]));
    let uuid = jp2_box_bytes(b"uuid", &[[7u8; 16].as_slice(), CANARY].concat());
    let dirty = splice(&original, i, &[xml, uuid].concat());
    let before = clean_frame(0, &original).expect("walks");
    let c = clean_frame(0, &dirty).expect("walks");
    assert!(!contains(&c.bytes, CANARY));
    let what: Vec<&str> = c.removals.iter().map(|r| r.what.as_str()).collect();
    assert!(
        what.contains(&"JP2 'xml ' box") && what.contains(&"JP2 'uuid' box"),
        "{what:?}"
    );
    assert_eq!(c.bytes, before.bytes);
    let cleaned = with_frame(&obj, c.bytes.into_owned());
    assert_eq!(pixels(&cleaned), pixels(&obj));

    // a JP2 file built around a codestream with COM markers: jp2c's length follows
    let cs = frame_of(&open("pydicom/test_files/JPEG2000.dcm"));
    let ihdr = jp2_box_bytes(b"ihdr", &[0u8; 14]);
    let colr = jp2_box_bytes(b"colr", &[1, 0, 0, 0, 0, 0, 17]);
    let note = jp2_box_bytes(b"uinf", CANARY);
    let jp2h = jp2_box_bytes(b"jp2h", &[ihdr.clone(), colr.clone(), note].concat());
    let ftyp = jp2_box_bytes(b"ftyp", b"jp2 \0\0\0\0jp2 ");
    let build = |h: &[u8], c: &[u8]| {
        cat(&[
            &JP2_SIGNATURE,
            &ftyp,
            h,
            &jp2_box_bytes(b"jp2c", c),
            &jp2_box_bytes(b"xml ", CANARY),
        ])
    };
    let dirty = build(&jp2h, &j2k_with_metadata(&cs));
    let c = clean_frame(0, &dirty).expect("walks");
    assert!(!contains(&c.bytes, CANARY));
    let clean_h = jp2_box_bytes(b"jp2h", &[ihdr, colr].concat());
    let clean_cs = clean_frame(0, &cs).expect("walks").bytes.into_owned();
    let expected = cat(&[
        &JP2_SIGNATURE,
        &ftyp,
        &clean_h,
        &jp2_box_bytes(b"jp2c", &clean_cs),
    ]);
    assert_eq!(c.bytes.as_ref(), expected.as_slice());
    let labels: Vec<String> = regions(0, &c.bytes).into_iter().map(|r| r.0).collect();
    assert!(
        labels.contains(&"frame 0: JP2 'ftyp' box".to_string()),
        "{labels:?}"
    );
    assert!(labels.contains(&"frame 0: SIZ".to_string()), "{labels:?}");
}

#[test]
fn frames_follow_the_offset_table_and_are_rewritten_with_it() {
    let obj = open("pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm");
    let f = frame_of(&obj);
    let dirty = jpeg_with_metadata(&f);
    // frame 0 in two fragments, frame 1 (dirty) in one, frame 2 in one
    let half = (f.len() / 2) & !1;
    let fragments = vec![
        f[..half].to_vec(),
        f[half..].to_vec(),
        dirty.clone(),
        f.clone(),
    ];
    let bot = [
        0u64,
        16 + f.len() as u64,
        24 + (f.len() + dirty.len()) as u64,
    ];
    let s = clean_fragments(&bot, &fragments)
        .expect("walks")
        .expect("changed");
    assert_eq!(s.fragments.len(), 4);
    assert_eq!(s.fragments[0], fragments[0]);
    assert_eq!(s.fragments[1], fragments[1]);
    assert!(!contains(&s.fragments[2], CANARY));
    assert_eq!(s.fragments[3], f);
    assert_eq!(
        s.offsets,
        vec![
            0,
            16 + f.len() as u64,
            24 + (f.len() + s.fragments[2].len()) as u64
        ]
    );
    assert!(s.removals.iter().all(|r| r.frame == 1));
    assert_eq!(s.removals.len(), 4);
    // without a table: frames found by walking, the same result
    let t = clean_fragments(&[], &fragments)
        .expect("walks")
        .expect("changed");
    assert_eq!(t.fragments, s.fragments);
    // a table that does not point at fragments
    let e = clean_fragments(&[0, 9], &fragments).expect_err("bad table");
    assert_eq!(e.frame, 1);
    // nothing to remove: None
    assert_eq!(clean_fragments(&[], &[f.clone(), f]).expect("walks"), None);
}

#[test]
fn the_object_is_cleaned_in_place_with_its_offset_tables() {
    let mut obj = open("pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm");
    let f = frame_of(&obj);
    let dirty = jpeg_with_metadata(&f);
    let len = |v: &[u8]| 8 + v.len() as u32;
    obj.put(DataElement::new(
        PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(
            vec![0u32, len(&dirty)],
            vec![dirty.clone(), dirty],
        )),
    ));
    let t = ts(&obj);
    let removed = clean_object(&mut obj, &t).expect("cleans");
    assert_eq!(removed.len(), 8);
    assert_eq!(
        removed[0].sentence(),
        format!("frame 0: COM segment removed ({} bytes)", CANARY.len() + 4)
    );
    let e = obj.element(PIXEL_DATA).expect("pixel data");
    let bot = e.value().offset_table().expect("table").to_vec();
    let frags = e.value().fragments().expect("fragments");
    assert_eq!(bot, vec![0, len(&frags[0])]);
    assert!(frags
        .iter()
        .all(|g| !contains(g, CANARY) && g.len() % 2 == 0));
    // native pixel data and other syntaxes are left alone
    let mut native = open("fuzz/corpus/deid_bytes/ct-utf8.dcm");
    let t = ts(&native);
    assert_eq!(clean_object(&mut native, &t).expect("native"), Vec::new());
}

#[test]
fn a_damaged_frame_is_an_error() {
    let obj = open("pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm");
    let f = frame_of(&obj);
    let end = f.iter().rposition(|&b| b == 0xD9).expect("EOI") + 1;
    // cut anywhere before EOI: an error, never a pass
    for cut in [0, 1, 2, 3, 5, 20, end / 2, end - 2, end - 1] {
        assert!(clean_frame(0, &f[..cut]).is_err(), "cut at {cut}");
    }
    // a segment length pointing past the end
    let mut bad = f.clone();
    bad[4] = 0xFF;
    bad[5] = 0xF0;
    let e = clean_frame(2, &bad).expect_err("length past the end");
    assert_eq!(e.frame, 2);
    // a J2K tile-part longer than the codestream
    let cs = frame_of(&open("pydicom/test_files/JPEG2000.dcm"));
    let sot = find_marker(&cs, 2, 0x90);
    let mut bad = cs.clone();
    bad[sot + 6..sot + 10].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(clean_frame(0, &bad).is_err());
    for cut in [1, 3, sot, sot + 5, cs.len() / 2] {
        assert!(clean_frame(0, &cs[..cut]).is_err(), "j2k cut at {cut}");
    }
    // data after the end of the image is removed (zero or 0xFF padding kept)
    let mut tail = f[..end].to_vec();
    tail.extend_from_slice(b"\0\xFF");
    assert!(clean_frame(0, &tail).expect("walks").removals.is_empty());
    tail.extend_from_slice(CANARY);
    let c = clean_frame(0, &tail).expect("walks");
    assert_eq!(c.removals[0].what, "data after the end of the image");
    assert_eq!(c.bytes.as_ref(), &f[..end]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    #[test]
    fn garbage_never_panics(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        head in 0usize..3,
    ) {
        let prefix: &[u8] = match head {
            0 => &[0xFF, 0xD8],
            1 => &[0xFF, 0x4F],
            _ => &JP2_SIGNATURE,
        };
        let d = [prefix, &bytes].concat();
        let _ = clean_frame(0, &d);
        let _ = regions(0, &d);
        let _ = clean_fragments(&[], &[d.clone(), bytes.clone()]);
        let _ = clean_fragments(&[0, 8 + d.len() as u64], &[d, bytes]);
    }

    #[test]
    fn flipped_bytes_of_real_frames_never_panic(at in 0usize..4000, v in proptest::prelude::any::<u8>()) {
        for f in [jpeg_frame(), j2k_frame()] {
            let mut d = f.clone();
            let i = at % d.len();
            d[i] = v;
            if let Ok(c) = clean_frame(0, &d) {
                // what walks still starts like an image
                proptest::prop_assert!(c.bytes.len() >= 2);
            }
            let _ = regions(0, &d);
        }
    }
}

fn jpeg_frame() -> Vec<u8> {
    static F: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        jpeg_with_metadata(&frame_of(&open(
            "pydicom/test_files/MR_small_jpeg_ls_lossless.dcm",
        )))
    })
    .clone()
}

fn j2k_frame() -> Vec<u8> {
    static F: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    F.get_or_init(|| j2k_with_metadata(&frame_of(&open("pydicom/test_files/JPEG2000.dcm"))))
        .clone()
}
