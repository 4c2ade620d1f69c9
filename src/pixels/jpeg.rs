//! JPEG frames dicom-pixeldata's JPEG adapter (jpeg-decoder 0.3) gets wrong or refuses, decoded
//! here frame by frame from the object's fragments:
//! * 12-bit JPEG extended (process 4, 1.2.840.10008.1.2.4.51): refused by jpeg-decoder;
//!   decoded with the pure-Rust libjpeg-turbo port;
//! * 8-bit colour streams that say nothing of their colour space (no JFIF/Adobe marker,
//!   component ids not 1-2-3) in an object whose Photometric Interpretation is RGB: DICOM
//!   says they hold RGB, jpeg-decoder would convert them from YCbCr; decoded untransformed.

use std::panic::{catch_unwind, AssertUnwindSafe};

use dicom_core::{value::Value, Tag};
use dicom_object::{FileDicomObject, InMemDicomObject};

use super::image::Image;
use super::PixelError;

/// JPEG Baseline (Process 1).
pub const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
/// JPEG Extended (Process 2 & 4).
pub const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

/// The encapsulated stream, all fragments joined.
fn stream(obj: &InMemDicomObject) -> Option<Vec<u8>> {
    match obj.get(PIXEL_DATA)?.value() {
        Value::PixelSequence(seq) => Some(seq.fragments().iter().flatten().copied().collect()),
        _ => None,
    }
}

/// What the markers before the first scan say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// Sample precision of the frame.
    pub precision: u8,
    /// Component identifiers of the frame.
    pub components: Vec<u8>,
    /// A JFIF APP0 marker is present (YCbCr).
    pub jfif: bool,
    /// The Adobe APP14 transform flag, if present.
    pub adobe_transform: Option<u8>,
}

/// Reads the markers up to the first scan of a JPEG stream.
pub fn header(jpeg: &[u8]) -> Option<Header> {
    let mut h = Header::default();
    let mut sof = false;
    let mut i = 0;
    while i + 4 <= jpeg.len() {
        if jpeg[i] != 0xFF {
            i += 1;
            continue;
        }
        let m = jpeg[i + 1];
        if matches!(m, 0xD8 | 0x01 | 0xD0..=0xD7) {
            i += 2;
            continue;
        }
        if m == 0xFF {
            i += 1;
            continue;
        }
        if m == 0xDA || m == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        let body = jpeg.get(i + 4..i + 2 + len)?;
        match m {
            0xC0..=0xCF if m != 0xC4 && m != 0xC8 && m != 0xCC => {
                h.precision = *body.first()?;
                let n = usize::from(*body.get(5)?);
                h.components = (0..n)
                    .filter_map(|k| body.get(6 + 3 * k).copied())
                    .collect();
                sof = true;
            }
            0xE0 if body.starts_with(b"JFIF\0") => h.jfif = true,
            0xEE if body.starts_with(b"Adobe") => h.adobe_transform = body.get(11).copied(),
            _ => {}
        }
        i += 2 + len;
    }
    sof.then_some(h)
}

/// Sample precision of the first SOF marker of a JPEG stream.
pub fn precision(jpeg: &[u8]) -> Option<u8> {
    header(jpeg).map(|h| h.precision)
}

/// The JPEG streams of the frames: each runs from an SOI marker to the next EOI. (0xFF 0xD9
/// cannot occur inside entropy-coded data, where 0xFF is always stuffed or a restart marker.)
fn split_frames(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(s) = data[i..].windows(2).position(|w| w == [0xFF, 0xD8]) {
        let start = i + s;
        match data[start + 2..].windows(2).position(|w| w == [0xFF, 0xD9]) {
            Some(e) => {
                let end = start + 2 + e + 2;
                out.push(&data[start..end]);
                i = end;
            }
            None => {
                out.push(&data[start..]);
                break;
            }
        }
    }
    out
}

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
        .unwrap_or_default()
}

fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    obj.get(tag).and_then(|e| e.to_int::<i64>().ok())
}

/// How a stream must be decoded here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Twelve,
    RgbAsStored,
}

/// Decodes the object when it needs this module (see the module text); `None` when it does
/// not (dicom-pixeldata decodes it).
pub fn decode(
    obj: &FileDicomObject<InMemDicomObject>,
    frame: Option<u32>,
) -> Option<Result<Image, PixelError>> {
    let ts = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']);
    if ts != JPEG_EXTENDED && ts != JPEG_BASELINE {
        return None;
    }
    let data = stream(obj)?;
    let h = header(&data)?;
    let route = if h.precision == 12 {
        Route::Twelve
    } else if h.precision == 8
        && h.components.len() == 3
        && text(obj, Tag(0x0028, 0x0004)) == "RGB"
        && !h.jfif
        && h.adobe_transform.is_none_or(|t| t == 0)
        && h.components != [1, 2, 3]
    {
        Route::RgbAsStored
    } else {
        return None;
    };
    let fail = |why: String| PixelError::Decode {
        transfer_syntax: ts.to_string(),
        why,
    };
    let frames = split_frames(&data);
    let wanted: Vec<usize> = match frame {
        Some(f) => vec![f as usize],
        None => (0..frames.len()).collect(),
    };
    let mut out = Vec::new();
    let (mut rows, mut cols, mut comps) = (0, 0, 0);
    for f in wanted {
        let Some(jpeg) = frames.get(f) else {
            return Some(Err(fail(format!(
                "frame {f} not found in the JPEG stream ({} frames)",
                frames.len()
            ))));
        };
        let decoded = catch_unwind(AssertUnwindSafe(|| decode_frame(jpeg, route)));
        let (h, w, c, samples) = match decoded {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Some(Err(fail(e))),
            Err(_) => return Some(Err(fail("the JPEG decoder failed".into()))),
        };
        if out.is_empty() {
            (rows, cols, comps) = (h, w, c);
        } else if (rows, cols, comps) != (h, w, c) {
            return Some(Err(fail("frames differ in size".into())));
        }
        out.extend_from_slice(&samples);
    }
    let (Ok(rows), Ok(cols), Ok(samples)) = (
        u32::try_from(rows),
        u32::try_from(cols),
        u16::try_from(comps),
    ) else {
        return Some(Err(fail("impossible image size".into())));
    };
    let header_rows = int(obj, Tag(0x0028, 0x0010));
    let header_cols = int(obj, Tag(0x0028, 0x0011));
    if header_rows != Some(i64::from(rows)) || header_cols != Some(i64::from(cols)) {
        return Some(Err(fail(
            "the JPEG frame size differs from Rows/Columns".into(),
        )));
    }
    let photometric = if samples == 3 {
        "RGB".to_string()
    } else {
        text(obj, Tag(0x0028, 0x0004))
    };
    let (bits_allocated, bits_stored) = match route {
        Route::Twelve => (
            16,
            int(obj, Tag(0x0028, 0x0101))
                .and_then(|b| u16::try_from(b).ok())
                .filter(|b| (1..=12).contains(b))
                .unwrap_or(12),
        ),
        Route::RgbAsStored => (8, 8),
    };
    let frame_bytes =
        rows as usize * cols as usize * usize::from(samples) * usize::from(bits_allocated / 8);
    Some(Ok(Image {
        rows,
        cols,
        frames: (out.len() / frame_bytes.max(1)) as u32,
        samples,
        bits_allocated,
        bits_stored,
        // the JPEG processes code unsigned samples; a signed Pixel Representation is read as stored
        signed: int(obj, Tag(0x0028, 0x0103)) == Some(1),
        photometric,
        planar: false,
        data: out,
        was_encapsulated: true,
        one_bit: false,
    }))
}

/// One frame: (rows, columns, components, little-endian samples).
fn decode_frame(jpeg: &[u8], route: Route) -> Result<(usize, usize, usize, Vec<u8>), String> {
    match route {
        Route::Twelve => {
            let img = libjpeg_turbo_rs::decompress_12bit(jpeg)
                .map_err(|e| format!("12-bit JPEG: {e}"))?;
            let mut out = Vec::with_capacity(img.data.len() * 2);
            for v in img.data {
                out.extend_from_slice(&(v.clamp(0, 4095) as u16).to_le_bytes());
            }
            Ok((img.height, img.width, img.num_components, out))
        }
        Route::RgbAsStored => {
            let mut d = jpeg_decoder::Decoder::new(jpeg);
            d.set_color_transform(jpeg_decoder::ColorTransform::RGB);
            let px = d.decode().map_err(|e| format!("JPEG: {e}"))?;
            let info = d.info().ok_or("JPEG: no frame header")?;
            Ok((usize::from(info.height), usize::from(info.width), 3, px))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_precision_and_splits_frames() {
        // SOI, APP0 (len 4), SOF1 (precision 12), EOI, then a second tiny stream
        let one = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC1, 0x00, 0x0B, 12, 0, 1, 0, 1,
            1, 1, 0x11, 0, 0xFF, 0xD9,
        ];
        assert_eq!(precision(&one), Some(12));
        let two: Vec<u8> = [&one[..], &[0, 0], &one[..]].concat();
        let f = split_frames(&two);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0], &one[..]);
        assert_eq!(f[1], &one[..]);
        assert_eq!(precision(&[0xFF, 0xD8, 0xFF, 0xD9]), None);
    }
}
