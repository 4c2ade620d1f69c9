//! Decoded pixel data in native form (any transfer syntax dicom-pixeldata decodes), sample
//! access, and rectangle masking of every frame and every sample.

use std::panic::{catch_unwind, AssertUnwindSafe};

use dicom_core::{value::Value, Tag};
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_pixeldata::{PixelDecoder, PlanarConfiguration};

use super::library::Rect;
use super::PixelError;

const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// Native pixel data: frames one after another, little-endian samples.
#[derive(Debug, Clone)]
pub struct Image {
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub cols: u32,
    /// Frames held in `data`.
    pub frames: u32,
    /// Samples per pixel.
    pub samples: u16,
    /// Bits allocated per sample (1-bit data is expanded to 8).
    pub bits_allocated: u16,
    /// Bits stored per sample.
    pub bits_stored: u16,
    /// Pixel representation 1 (two's complement).
    pub signed: bool,
    /// Photometric interpretation of `data` (RGB after a colour-converting decoder).
    pub photometric: String,
    /// Planar configuration 1 (colour-by-plane).
    pub planar: bool,
    /// The samples.
    pub data: Vec<u8>,
    /// The source was encapsulated (compressed) pixel data.
    pub was_encapsulated: bool,
    /// The source was 1-bit data (expanded here; cannot be written back).
    pub one_bit: bool,
}

/// Whether the object's pixel data is encapsulated (compressed).
pub fn is_encapsulated(obj: &InMemDicomObject) -> bool {
    obj.get(PIXEL_DATA)
        .is_some_and(|e| matches!(e.value(), Value::PixelSequence(_)))
}

fn header_frames(obj: &InMemDicomObject) -> u32 {
    obj.get(Tag(0x0028, 0x0008))
        .and_then(|e| e.to_int::<i64>().ok())
        .filter(|n| *n > 0)
        .map(|n| n.min(u32::MAX as i64) as u32)
        .unwrap_or(1)
}

/// Why RLE pixel data must not reach a decoder: a damaged segment header makes decoders
/// allocate its claimed segment count (found by fuzzing: 5 GB from a 30 KB file). Checked for
/// every decode — preview, masking and text detection alike.
fn rle_header_problem(obj: &FileDicomObject<InMemDicomObject>) -> Option<&'static str> {
    const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
    if obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']) != RLE_LOSSLESS {
        return None;
    }
    let e = obj.get(PIXEL_DATA)?;
    let frags = match e.value() {
        dicom_core::value::Value::PixelSequence(p) => p.fragments(),
        _ => return Some("pixel data not encapsulated"),
    };
    for f in frags.iter() {
        let Some(n) = f
            .get(0..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        else {
            return Some("a fragment is shorter than its header");
        };
        if n > 15 || f.len() < 64 {
            return Some("a fragment's header is damaged");
        }
    }
    None
}

/// Decodes every frame (`frame: None`) or one frame of the object's pixel data. Never panics
/// on bad input: a decoder panic becomes [`PixelError::Decode`].
pub fn decode(
    obj: &FileDicomObject<InMemDicomObject>,
    frame: Option<u32>,
) -> Result<Image, PixelError> {
    let ts = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']);
    let original_pi = obj
        .get(Tag(0x0028, 0x0004))
        .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
        .unwrap_or_default();
    if obj.get(PIXEL_DATA).is_none() {
        return Err(PixelError::NoPixels);
    }
    let available = header_frames(obj);
    if let Some(f) = frame {
        if f >= available {
            return Err(PixelError::NoSuchFrame {
                frame: f,
                frames: available,
            });
        }
    }
    if let Some(why) = rle_header_problem(obj) {
        return Err(PixelError::Decode {
            transfer_syntax: ts.to_string(),
            why: format!("RLE {why}"),
        });
    }
    let encapsulated = is_encapsulated(obj);
    if let Some(img) = super::jpeg::decode(obj, frame) {
        return img;
    }
    if let Some(img) = super::rle::decode(obj, ts, frame) {
        return img;
    }
    // Native YBR_FULL_422 is decoded whole and cropped here (the library's frame crop assumes
    // unsubsampled frames); 1-bit frames are not byte-aligned: also whole.
    let bits_allocated = obj
        .get(Tag(0x0028, 0x0100))
        .and_then(|e| e.to_int::<u16>().ok());
    let crop_here = !encapsulated && (original_pi == "YBR_FULL_422" || bits_allocated == Some(1));
    let decoded = catch_unwind(AssertUnwindSafe(|| match frame {
        Some(f) if !crop_here => obj.decode_pixel_data_frame(f).map(|p| p.to_owned()),
        _ => obj.decode_pixel_data().map(|p| p.to_owned()),
    }));
    let px = match decoded {
        Ok(Ok(px)) => px,
        Ok(Err(e)) => {
            return Err(PixelError::Decode {
                transfer_syntax: ts.to_string(),
                why: e.to_string(),
            })
        }
        Err(_) => {
            return Err(PixelError::Decode {
                transfer_syntax: ts.to_string(),
                why: "the decoder failed on this pixel data".into(),
            })
        }
    };
    let one_bit = px.bits_allocated() == 1;
    let mut photometric = px.photometric_interpretation().to_string();
    // The RLE decoder does not convert colour: YBR stays YBR.
    if encapsulated && ts == RLE_LOSSLESS && original_pi.starts_with("YBR") {
        photometric = original_pi;
    }
    let img = Image {
        rows: px.rows(),
        cols: px.columns(),
        frames: px.number_of_frames(),
        samples: px.samples_per_pixel(),
        bits_allocated: if one_bit { 8 } else { px.bits_allocated() },
        // 1-bit data expands to 0/255 bytes: read as 1 stored bit (0/1, as stored)
        bits_stored: if one_bit { 1 } else { px.bits_stored() },
        signed: !one_bit
            && matches!(
                px.pixel_representation(),
                dicom_pixeldata::PixelRepresentation::Signed
            ),
        planar: px.samples_per_pixel() > 1
            && matches!(px.planar_configuration(), PlanarConfiguration::PixelFirst),
        photometric,
        data: px.into_data(),
        was_encapsulated: encapsulated,
        one_bit,
    };
    if img.rows == 0 || img.cols == 0 || !matches!(img.bits_allocated, 8 | 16 | 32) {
        return Err(PixelError::Unsupported(format!(
            "{} x {} pixels, {} bits allocated",
            img.cols, img.rows, img.bits_allocated
        )));
    }
    let mut img = img;
    if ts == EXPLICIT_BE && img.bits_allocated == 32 && !encapsulated {
        // the reader swapped the big-endian OW data word by word; put 32-bit halves in order
        for s in img.data.chunks_exact_mut(4) {
            s.swap(0, 2);
            s.swap(1, 3);
        }
    }
    if let (Some(f), true) = (frame, crop_here) {
        let len = img.frame_len();
        let start = (f as usize).saturating_mul(len);
        match img.data.get(start..start.saturating_add(len)) {
            Some(d) => img.data = d.to_vec(),
            None => {
                return Err(PixelError::Decode {
                    transfer_syntax: ts.to_string(),
                    why: format!("pixel data too short for frame {f}"),
                })
            }
        }
        img.frames = 1;
    }
    let need = img.frame_len().saturating_mul(img.frames as usize);
    if img.data.len() < need {
        return Err(PixelError::Decode {
            transfer_syntax: ts.to_string(),
            why: format!(
                "pixel data holds {} bytes, {} frames need {need}",
                img.data.len(),
                img.frames
            ),
        });
    }
    Ok(img)
}

impl Image {
    /// Bytes per sample.
    pub fn bytes_per_sample(&self) -> usize {
        usize::from(self.bits_allocated.div_ceil(8))
    }

    /// Whether the data is YBR_FULL_422 in native (subsampled) layout.
    pub fn is_422(&self) -> bool {
        self.samples == 3 && self.photometric == "YBR_FULL_422" && !self.planar
    }

    /// Bytes in one frame.
    pub fn frame_len(&self) -> usize {
        let px = self.rows as usize * self.cols as usize;
        if self.is_422() {
            // Y Y Cb Cr per pair of pixels
            return px.div_ceil(2) * 4 * self.bytes_per_sample();
        }
        px * usize::from(self.samples) * self.bytes_per_sample()
    }

    fn offset(&self, frame: u32, r: u32, c: u32, s: u16) -> usize {
        let bps = self.bytes_per_sample();
        let (rows, cols) = (self.rows as usize, self.cols as usize);
        let base = frame as usize * self.frame_len();
        let (r, c, s) = (r as usize, c as usize, usize::from(s));
        if self.is_422() {
            let idx = r * cols + c;
            let pair = idx / 2;
            let within = match s {
                0 => idx % 2,
                1 => 2,
                _ => 3,
            };
            return base + (pair * 4 + within) * bps;
        }
        let n = if self.planar {
            s * rows * cols + r * cols + c
        } else {
            (r * cols + c) * usize::from(self.samples) + s
        };
        base + n * bps
    }

    /// The stored value of one sample (sign-extended when signed, masked to the stored bits).
    pub fn sample(&self, frame: u32, r: u32, c: u32, s: u16) -> i64 {
        let o = self.offset(frame, r, c, s);
        let raw: u64 = match self.bytes_per_sample() {
            1 => u64::from(self.data[o]),
            2 => u64::from(u16::from_le_bytes([self.data[o], self.data[o + 1]])),
            _ => u64::from(u32::from_le_bytes([
                self.data[o],
                self.data[o + 1],
                self.data[o + 2],
                self.data[o + 3],
            ])),
        };
        let bits = u32::from(self.bits_stored.clamp(1, 32));
        let v = raw & ((1u64 << bits) - 1);
        if self.signed && v & (1u64 << (bits - 1)) != 0 {
            v as i64 - (1i64 << bits)
        } else {
            v as i64
        }
    }

    fn put(&mut self, frame: u32, r: u32, c: u32, s: u16, v: i64) {
        let o = self.offset(frame, r, c, s);
        let bytes = (v as u64).to_le_bytes();
        let n = self.bytes_per_sample();
        self.data[o..o + n].copy_from_slice(&bytes[..n]);
    }

    /// The value a masked sample gets: black for MONOCHROME2/RGB/PALETTE (the lowest stored
    /// value), white-as-black for MONOCHROME1 (the highest), Y=0 and Cb=Cr=mid for YBR.
    pub fn fill_value(&self, s: u16) -> i64 {
        let bits = u32::from(self.bits_stored.clamp(1, 32));
        let (lo, hi) = if self.signed {
            (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
        } else {
            (0, (1i64 << bits) - 1)
        };
        if self.photometric == "MONOCHROME1" {
            hi
        } else if self.photometric.starts_with("YBR") && s > 0 {
            1i64 << (bits - 1)
        } else {
            lo
        }
    }

    /// Fills every region in every frame and every sample. Returns the samples written.
    pub fn mask(&mut self, regions: &[Rect]) -> u64 {
        let mut n = 0u64;
        for rect in regions {
            let Some((mut x0, y0, mut x1, y1)) = rect.resolve(self.cols, self.rows) else {
                continue;
            };
            if self.is_422() {
                // chroma is shared by pixel pairs: widen to whole pairs
                x0 -= x0 % 2;
                x1 = (x1 + x1 % 2).min(self.cols);
            }
            for f in 0..self.frames {
                for r in y0..y1 {
                    for c in x0..x1 {
                        for s in 0..self.samples {
                            let v = self.fill_value(s);
                            self.put(f, r, c, s, v);
                            n += 1;
                        }
                    }
                }
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(samples: u16, bits: u16, signed: bool, pi: &str, planar: bool) -> Image {
        let mut i = Image {
            rows: 4,
            cols: 6,
            frames: 2,
            samples,
            bits_allocated: bits,
            bits_stored: if bits == 16 { 12 } else { bits },
            signed,
            photometric: pi.into(),
            planar,
            data: Vec::new(),
            was_encapsulated: false,
            one_bit: false,
        };
        i.data = (0..i.frame_len() * 2).map(|b| (b % 7 + 1) as u8).collect();
        i
    }

    fn check(mut i: Image) {
        let before = i.clone();
        let rect = Rect {
            x: -3,
            y: 1,
            w: 2,
            h: 2,
        };
        i.mask(&[rect]);
        for f in 0..2 {
            for r in 0..4 {
                for c in 0..6 {
                    for s in 0..i.samples {
                        let inside = (1..3).contains(&r) && (3..5).contains(&c);
                        if inside {
                            assert_eq!(
                                i.sample(f, r, c, s),
                                i.fill_value(s),
                                "{} f{f} r{r} c{c}",
                                i.photometric
                            );
                        } else {
                            assert_eq!(i.sample(f, r, c, s), before.sample(f, r, c, s));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn masks_every_frame_and_sample_only_inside() {
        check(img(1, 8, false, "MONOCHROME2", false));
        check(img(1, 16, true, "MONOCHROME2", false));
        check(img(1, 16, false, "MONOCHROME1", false));
        check(img(3, 8, false, "RGB", false));
        check(img(3, 8, false, "RGB", true));
        check(img(3, 8, false, "YBR_FULL", true));
    }

    #[test]
    fn fill_values_per_photometric() {
        assert_eq!(img(1, 16, true, "MONOCHROME2", false).fill_value(0), -2048);
        assert_eq!(img(1, 16, false, "MONOCHROME1", false).fill_value(0), 4095);
        assert_eq!(img(3, 8, false, "YBR_FULL", false).fill_value(0), 0);
        assert_eq!(img(3, 8, false, "YBR_FULL", false).fill_value(2), 128);
    }

    #[test]
    fn signed_samples_read_back_sign_extended() {
        let mut i = img(1, 16, true, "MONOCHROME2", false);
        i.put(0, 0, 0, 0, -5);
        assert_eq!(i.sample(0, 0, 0, 0), -5);
        // bits above the stored 12 are ignored
        i.data[0..2].copy_from_slice(&0xF005u16.to_le_bytes());
        assert_eq!(i.sample(0, 0, 0, 0), 5);
    }

    #[test]
    fn ybr_422_masks_whole_pairs() {
        let mut i = img(3, 8, false, "YBR_FULL_422", false);
        i.mask(&[Rect {
            x: 1,
            y: 0,
            w: 1,
            h: 1,
        }]);
        assert_eq!(&i.data[0..4], &[0, 0, 128, 128]);
        assert_ne!(i.data[4], 0);
    }
}
