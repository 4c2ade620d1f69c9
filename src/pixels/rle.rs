//! DICOM RLE Lossless (PS3.5 Annex G) for the layouts dicom-pixeldata's RLE decoder refuses
//! (32 bits allocated): one fragment per frame, a 64-byte header of segment offsets, one
//! PackBits segment per byte plane, most significant byte first.

use dicom_core::{value::Value, Tag};
use dicom_object::InMemDicomObject;

use super::image::Image;
use super::PixelError;

/// RLE Lossless.
pub const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    obj.get(tag).and_then(|e| e.to_int::<i64>().ok())
}

/// PackBits-decodes `seg` into exactly `n` bytes.
fn unpack(seg: &[u8], n: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n && i < seg.len() {
        let h = seg[i] as i8;
        i += 1;
        if h >= 0 {
            let len = h as usize + 1;
            let lit = seg
                .get(i..i + len)
                .ok_or("literal run past the segment end")?;
            out.extend_from_slice(lit);
            i += len;
        } else if h != -128 {
            let len = (1 - h as isize) as usize;
            let b = *seg.get(i).ok_or("replicate run past the segment end")?;
            out.extend(std::iter::repeat_n(b, len));
            i += 1;
        }
    }
    if out.len() < n {
        return Err(format!("segment holds {} of {n} bytes", out.len()));
    }
    out.truncate(n);
    Ok(out)
}

/// Decodes one RLE frame into little-endian interleaved samples.
pub fn decode_frame(
    frag: &[u8],
    rows: usize,
    cols: usize,
    samples: usize,
    bytes: usize,
) -> Result<Vec<u8>, String> {
    let word = |k: usize| {
        frag.get(4 * k..4 * k + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("RLE header truncated")
    };
    let segments = word(0)?;
    if segments != samples * bytes || segments > 15 {
        return Err(format!(
            "{segments} RLE segments, {} expected",
            samples * bytes
        ));
    }
    let n = rows * cols;
    let mut out = vec![0u8; n * samples * bytes];
    for k in 0..segments {
        let start = word(k + 1)?;
        let end = if k + 1 < segments {
            word(k + 2)?
        } else {
            frag.len()
        };
        let seg = frag
            .get(start..end.max(start))
            .ok_or("RLE segment offset past the fragment")?;
        let plane = unpack(seg, n)?;
        let (s, byte_msb) = (k / bytes, k % bytes);
        let byte_le = bytes - 1 - byte_msb;
        for (p, v) in plane.into_iter().enumerate() {
            out[(p * samples + s) * bytes + byte_le] = v;
        }
    }
    Ok(out)
}

/// Decodes every frame (`None`) or one frame of an RLE object with 32 bits allocated; `None`
/// for anything else (dicom-pixeldata's decoder handles it).
pub fn decode(
    obj: &InMemDicomObject,
    ts: &str,
    frame: Option<u32>,
) -> Option<Result<Image, PixelError>> {
    if ts != RLE_LOSSLESS || int(obj, Tag(0x0028, 0x0100)) != Some(32) {
        return None;
    }
    let Value::PixelSequence(seq) = obj.get(Tag(0x7FE0, 0x0010))?.value() else {
        return None;
    };
    let fail = |why: String| PixelError::Decode {
        transfer_syntax: ts.to_string(),
        why,
    };
    let dims = (
        int(obj, Tag(0x0028, 0x0010)).and_then(|v| u32::try_from(v).ok()),
        int(obj, Tag(0x0028, 0x0011)).and_then(|v| u32::try_from(v).ok()),
        int(obj, Tag(0x0028, 0x0002)).and_then(|v| u16::try_from(v).ok()),
    );
    let (Some(rows), Some(cols), Some(samples)) = dims else {
        return Some(Err(fail(
            "Rows, Columns or Samples per Pixel missing".into(),
        )));
    };
    let frags = seq.fragments();
    let wanted: Vec<usize> = match frame {
        Some(f) => vec![f as usize],
        None => (0..frags.len()).collect(),
    };
    let mut data = Vec::new();
    for f in &wanted {
        let Some(frag) = frags.get(*f) else {
            return Some(Err(fail(format!("no fragment for frame {f}"))));
        };
        match decode_frame(frag, rows as usize, cols as usize, usize::from(samples), 4) {
            Ok(d) => data.extend(d),
            Err(e) => return Some(Err(fail(e))),
        }
    }
    let text = |t| {
        obj.get(t)
            .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
            .unwrap_or_default()
    };
    Some(Ok(Image {
        rows,
        cols,
        frames: wanted.len() as u32,
        samples,
        bits_allocated: 32,
        bits_stored: int(obj, Tag(0x0028, 0x0101))
            .and_then(|v| u16::try_from(v).ok())
            .filter(|b| (1..=32).contains(b))
            .unwrap_or(32),
        signed: int(obj, Tag(0x0028, 0x0103)) == Some(1),
        photometric: text(Tag(0x0028, 0x0004)),
        planar: false,
        data,
        was_encapsulated: true,
        one_bit: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_and_byte_planes() {
        assert_eq!(
            unpack(&[2, 1, 2, 3, 0xFE, 9, 0x80, 0], 6).expect("ok"),
            vec![1, 2, 3, 9, 9, 9]
        );
        assert!(unpack(&[5, 1], 6).is_err());
        // one 2x1 grey frame of 32-bit samples 0x01020304 and 0x0A0B0C0D
        let mut frag = vec![0u8; 64];
        frag[0] = 4;
        let segs: [[u8; 2]; 4] = [[1, 0x0A], [2, 0x0B], [3, 0x0C], [4, 0x0D]];
        for k in 0..segs.len() {
            let off = 64 + k * 3;
            frag[4 + 4 * k..8 + 4 * k].copy_from_slice(&(off as u32).to_le_bytes());
        }
        for s in segs {
            frag.extend([1, s[0], s[1]]);
        }
        let out = decode_frame(&frag, 1, 2, 1, 4).expect("decodes");
        assert_eq!(
            out,
            [0x01020304u32.to_le_bytes(), 0x0A0B0C0Du32.to_le_bytes()].concat()
        );
    }
}
