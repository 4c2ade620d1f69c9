//! Rendering one frame for display: rescale, VOI window/level (from the file or given),
//! MONOCHROME1 inversion, YBR and PALETTE COLOR to RGB; 8-bit output and PNG encoding.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;
use serde::Serialize;

use super::image::Image;
use super::PixelError;

/// A VOI window.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    /// Centre.
    pub center: f64,
    /// Width (> 0).
    pub width: f64,
}

/// A palette colour lookup table (one channel).
#[derive(Debug, Clone)]
struct Lut {
    first: i64,
    values: Vec<u8>,
}

/// How to turn stored values into display values.
#[derive(Debug, Clone)]
pub struct Look {
    /// Rescale slope.
    pub slope: f64,
    /// Rescale intercept.
    pub intercept: f64,
    /// Window from the file (first one), if any.
    pub file_window: Option<Window>,
    palette: Option<[Lut; 3]>,
}

/// An 8-bit rendered frame.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// 1 (grey) or 3 (RGB).
    pub channels: u8,
    /// Row-major pixels.
    pub pixels: Vec<u8>,
    /// The window applied (grey images).
    pub window: Option<Window>,
}

fn first_f64(ds: &InMemDicomObject, tag: Tag) -> Option<f64> {
    let e = ds.get(tag)?;
    let s = e.to_str().ok()?;
    s.split('\\').next()?.trim().parse().ok()
}

fn ints(ds: &InMemDicomObject, tag: Tag) -> Option<Vec<i64>> {
    let e = ds.get(tag)?;
    e.to_multi_int::<i64>().ok()
}

/// Expands segmented palette data (PS3.3 C.7.9.2): discrete (0) and linear (1) segments;
/// indirect segments (2) are not supported (`None`).
fn expand_segments(words: &[u16], entries: usize) -> Option<Vec<u16>> {
    let mut out: Vec<u16> = Vec::with_capacity(entries);
    let mut i = 0;
    while i + 1 < words.len() && out.len() < entries {
        let (op, n) = (words[i], usize::from(words[i + 1]));
        i += 2;
        match op {
            0 => {
                out.extend_from_slice(words.get(i..i + n)?);
                i += n;
            }
            1 => {
                let y0 = f64::from(*out.last()?);
                let y1 = f64::from(*words.get(i)?);
                i += 1;
                for k in 1..=n {
                    out.push((y0 + (y1 - y0) * k as f64 / n as f64).round() as u16);
                }
            }
            _ => return None,
        }
    }
    out.truncate(entries);
    (out.len() == entries).then_some(out)
}

fn lut(ds: &InMemDicomObject, channel: u16) -> Option<Lut> {
    let desc = ints(ds, Tag(0x0028, 0x1101 + channel))?;
    let [entries, first, bits] = desc.as_slice() else {
        return None;
    };
    let entries = if *entries == 0 {
        65536
    } else {
        *entries as usize
    };
    // First Mapped may be encoded as US or SS: treat values above 32767 as negative only
    // when the pixel data is signed is rare; keep it as written.
    let to8 = |w: u16| if *bits > 8 { (w >> 8) as u8 } else { w as u8 };
    if let Some(seg) = ds.get(Tag(0x0028, 0x1221 + channel)) {
        let bytes = seg.to_bytes().ok()?;
        let words: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let values = expand_segments(&words, entries)?;
        return Some(Lut {
            first: *first,
            values: values.into_iter().map(to8).collect(),
        });
    }
    let bytes = ds.get(Tag(0x0028, 0x1201 + channel))?.to_bytes().ok()?;
    let words: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let values: Vec<u8> = if words.len() >= entries {
        words[..entries].iter().map(|&w| to8(w)).collect()
    } else if bytes.len() >= entries {
        // 8-bit entries packed two per word
        bytes[..entries].to_vec()
    } else {
        return None;
    };
    Some(Lut {
        first: *first,
        values,
    })
}

impl Look {
    /// Reads rescale, window and palette from the header.
    pub fn from_dataset(ds: &InMemDicomObject) -> Look {
        let width = first_f64(ds, Tag(0x0028, 0x1051));
        let center = first_f64(ds, Tag(0x0028, 0x1050));
        let palette = match (lut(ds, 0), lut(ds, 1), lut(ds, 2)) {
            (Some(r), Some(g), Some(b)) => Some([r, g, b]),
            _ => None,
        };
        Look {
            slope: first_f64(ds, Tag(0x0028, 0x1053))
                .filter(|s| *s != 0.0)
                .unwrap_or(1.0),
            intercept: first_f64(ds, Tag(0x0028, 0x1052)).unwrap_or(0.0),
            file_window: match (center, width) {
                (Some(center), Some(width)) if width > 0.0 => Some(Window { center, width }),
                _ => None,
            },
            palette,
        }
    }
}

fn clamp8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn ybr_to_rgb(y: f64, cb: f64, cr: f64, half: f64, scale: f64) -> [u8; 3] {
    let (cb, cr) = (cb - half, cr - half);
    [
        clamp8((y + 1.402 * cr) * scale),
        clamp8((y - 0.344136 * cb - 0.714136 * cr) * scale),
        clamp8((y + 1.772 * cb) * scale),
    ]
}

/// Linear VOI (PS3.3 C.11.2.1.2.1) to 0..=255.
fn voi(x: f64, w: Window) -> u8 {
    let (c, width) = (w.center - 0.5, (w.width - 1.0).max(1.0));
    if x <= c - width / 2.0 {
        0
    } else if x > c + width / 2.0 {
        255
    } else {
        clamp8(((x - c) / width + 0.5) * 255.0)
    }
}

/// Renders frame `frame` of `img` (`window` overrides the file's; else min–max of the frame).
pub fn render(
    img: &Image,
    frame: u32,
    look: &Look,
    window: Option<Window>,
) -> Result<Rendered, PixelError> {
    if frame >= img.frames {
        return Err(PixelError::NoSuchFrame {
            frame,
            frames: img.frames,
        });
    }
    let (w, h) = (img.cols, img.rows);
    let n = w as usize * h as usize;
    let pi = img.photometric.as_str();
    let colour_scale = if img.bits_stored > 8 {
        1.0 / f64::from(1u32 << (img.bits_stored - 8).min(24))
    } else {
        1.0
    };
    if img.samples == 3 {
        let mut out = Vec::with_capacity(n * 3);
        let half = f64::from(1u32 << (img.bits_stored.clamp(1, 31) - 1));
        for r in 0..h {
            for c in 0..w {
                let s = |k| img.sample(frame, r, c, k) as f64;
                if pi.starts_with("YBR") {
                    out.extend(ybr_to_rgb(s(0), s(1), s(2), half, colour_scale));
                } else {
                    out.extend([0, 1, 2].map(|k| clamp8(s(k) * colour_scale)));
                }
            }
        }
        return Ok(Rendered {
            width: w,
            height: h,
            channels: 3,
            pixels: out,
            window: None,
        });
    }
    if img.samples != 1 {
        return Err(PixelError::Unsupported(format!(
            "{} samples per pixel",
            img.samples
        )));
    }
    if pi == "PALETTE COLOR" {
        let Some(pal) = &look.palette else {
            return Err(PixelError::Unsupported(
                "PALETTE COLOR without a usable (non-segmented) colour table".into(),
            ));
        };
        let mut out = Vec::with_capacity(n * 3);
        for r in 0..h {
            for c in 0..w {
                let v = img.sample(frame, r, c, 0);
                out.extend(pal.each_ref().map(|l| {
                    let i = (v - l.first).clamp(0, l.values.len() as i64 - 1);
                    l.values.get(i as usize).copied().unwrap_or(0)
                }));
            }
        }
        return Ok(Rendered {
            width: w,
            height: h,
            channels: 3,
            pixels: out,
            window: None,
        });
    }
    let mut values = Vec::with_capacity(n);
    for r in 0..h {
        for c in 0..w {
            values.push(img.sample(frame, r, c, 0) as f64 * look.slope + look.intercept);
        }
    }
    let win = window.or(look.file_window).unwrap_or_else(|| {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Window {
            center: (lo + hi + 1.0) / 2.0,
            width: (hi - lo + 1.0).max(2.0),
        }
    });
    let invert = pi == "MONOCHROME1";
    let pixels = values
        .iter()
        .map(|&v| {
            let g = voi(v, win);
            if invert {
                255 - g
            } else {
                g
            }
        })
        .collect();
    Ok(Rendered {
        width: w,
        height: h,
        channels: 1,
        pixels,
        window: Some(win),
    })
}

/// Encodes a rendered frame as PNG bytes.
pub fn to_png(r: &Rendered) -> Result<Vec<u8>, PixelError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, r.width, r.height);
        enc.set_color(if r.channels == 3 {
            png::ColorType::Rgb
        } else {
            png::ColorType::Grayscale
        });
        enc.set_depth(png::BitDepth::Eight);
        // previews are shown, not archived: fdeflate's fast mode is several times quicker
        enc.set_compression(png::Compression::Fast);
        let mut w = enc
            .write_header()
            .map_err(|e| PixelError::Png(e.to_string()))?;
        w.write_image_data(&r.pixels)
            .map_err(|e| PixelError::Png(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mono(pi: &str, data: Vec<u8>, bits: u16, signed: bool) -> Image {
        let n = data.len() / usize::from(bits / 8);
        Image {
            rows: 1,
            cols: n as u32,
            frames: 1,
            samples: 1,
            bits_allocated: bits,
            bits_stored: bits,
            signed,
            photometric: pi.into(),
            planar: false,
            data,
            was_encapsulated: false,
            one_bit: false,
        }
    }

    fn plain() -> Look {
        Look {
            slope: 1.0,
            intercept: 0.0,
            file_window: None,
            palette: None,
        }
    }

    #[test]
    fn min_max_window_spans_full_range_and_monochrome1_inverts() {
        let img = mono("MONOCHROME2", vec![10, 20, 30], 8, false);
        let r = render(&img, 0, &plain(), None).expect("renders");
        assert_eq!(r.pixels.first(), Some(&0));
        assert_eq!(r.pixels.last(), Some(&255));
        let img = mono("MONOCHROME1", vec![10, 20, 30], 8, false);
        let r = render(&img, 0, &plain(), None).expect("renders");
        assert_eq!(r.pixels.first(), Some(&255));
        assert_eq!(r.pixels.last(), Some(&0));
    }

    #[test]
    fn rescale_then_window() {
        // signed 16-bit: -1000 and 1000 HU with window 0/400 → black and white
        let data = [
            (-1000i16).to_le_bytes(),
            40i16.to_le_bytes(),
            1000i16.to_le_bytes(),
        ]
        .concat();
        let img = mono("MONOCHROME2", data, 16, true);
        let look = Look {
            slope: 1.0,
            intercept: 0.0,
            file_window: Some(Window {
                center: 40.0,
                width: 400.0,
            }),
            palette: None,
        };
        let r = render(&img, 0, &look, None).expect("renders");
        assert_eq!(r.pixels[0], 0);
        assert!((126..=129).contains(&r.pixels[1]), "{}", r.pixels[1]);
        assert_eq!(r.pixels[2], 255);
        // a given window wins over the file's
        let r = render(
            &img,
            0,
            &look,
            Some(Window {
                center: 2000.0,
                width: 10.0,
            }),
        )
        .expect("renders");
        assert_eq!(r.pixels, vec![0, 0, 0]);
    }

    #[test]
    fn segmented_palettes_expand() {
        // discrete 0, 10; linear to 40 over 3; discrete 40
        let w = [0, 2, 0, 10, 1, 3, 40, 0, 1, 40];
        assert_eq!(expand_segments(&w, 6), Some(vec![0, 10, 20, 30, 40, 40]));
        assert_eq!(expand_segments(&w, 7), None);
        assert_eq!(expand_segments(&[2, 1, 0, 0], 1), None);
    }

    #[test]
    fn png_round_trip_header() {
        let img = mono("MONOCHROME2", vec![1, 2, 3, 4], 8, false);
        let png = to_png(&render(&img, 0, &plain(), None).expect("renders")).expect("png");
        assert_eq!(&png[1..4], b"PNG");
        assert!(render(&img, 1, &plain(), None).is_err());
    }
}
