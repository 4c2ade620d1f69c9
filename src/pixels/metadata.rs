//! Metadata inside compressed frames, removed without re-encoding: JPEG `COM` and `APPn`
//! segments (EXIF, XMP, ICC, vendor blocks) except JFIF `APP0` and Adobe `APP14`, JPEG 2000
//! `COM` marker segments (main and tile-part headers) and the metadata boxes of a JP2 file.
//!
//! Marker segments are walked by their lengths, entropy-coded data by its byte stuffing, JPEG
//! 2000 tile-parts by `Psot` and JP2 boxes by their lengths; every read is bounded by the
//! frame. The image data is copied byte for byte. A frame that cannot be walked is an error:
//! the caller holds the object, it never passes it on unexamined. [`regions`] lists what
//! remains outside the entropy-coded data, for searches of identity.

use std::borrow::Cow;
use std::ops::Range;

use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::InMemDicomObject;

const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);
const EXTENDED_OFFSET_TABLE: Tag = Tag(0x7FE0, 0x0001);
const EXTENDED_OFFSET_TABLE_LENGTHS: Tag = Tag(0x7FE0, 0x0002);

/// The JP2 signature box.
const JP2_SIGNATURE: [u8; 12] = [0, 0, 0, 12, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];

/// The codec family of a transfer syntax whose frames this module cleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// JPEG (baseline, extended, lossless, the retired processes) and JPEG-LS: one marker syntax.
    Jpeg,
    /// JPEG 2000 and High-Throughput JPEG 2000 (codestreams or JP2 files).
    Jpeg2000,
}

/// The family of `transfer_syntax`, when its frames carry marker segments this module
/// cleans; `None` for native, RLE, video and other encapsulated syntaxes.
pub fn codec(transfer_syntax: &str) -> Option<Codec> {
    let ts = transfer_syntax.trim_end_matches(['\0', ' ']);
    let last = ts
        .strip_prefix("1.2.840.10008.1.2.4.")?
        .parse::<u32>()
        .ok()?;
    match last {
        50..=66 | 70 | 80 | 81 => Some(Codec::Jpeg),
        90..=93 | 201..=203 => Some(Codec::Jpeg2000),
        _ => None,
    }
}

/// A frame that cannot be walked (offsets within the frame; no image or header value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frame {frame}: {what} (byte {at})")]
pub struct MetadataError {
    /// The frame (0-based).
    pub frame: usize,
    /// What is wrong.
    pub what: &'static str,
    /// Where, in bytes from the start of the frame.
    pub at: usize,
}

/// One piece of metadata removed from a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The frame (0-based).
    pub frame: usize,
    /// What it was, e.g. `COM segment`, `APP1 segment`, `JP2 'xml ' box`.
    pub what: String,
    /// Its size in bytes (marker or box header included).
    pub bytes: usize,
}

impl Removal {
    /// A sentence for a decision, e.g. `frame 0: COM segment removed (37 bytes)`.
    pub fn sentence(&self) -> String {
        format!(
            "frame {}: {} removed ({} bytes)",
            self.frame, self.what, self.bytes
        )
    }
}

/// One frame after cleaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned<'a> {
    /// The frame without its metadata (the input itself when nothing was removed).
    pub bytes: Cow<'a, [u8]>,
    /// What was removed.
    pub removals: Vec<Removal>,
}

/// What a walk of one image found.
#[derive(Default)]
struct Walk {
    /// The image without its metadata.
    out: Vec<u8>,
    /// (what, bytes) removed.
    removed: Vec<(String, usize)>,
    /// Header regions kept, in input offsets.
    regions: Vec<(String, Range<usize>)>,
}

type Step<T> = Result<T, (&'static str, usize)>;

fn u16_at(d: &[u8], i: usize) -> Step<usize> {
    match d.get(i..i.saturating_add(2)) {
        Some(&[a, b]) => Ok(usize::from(u16::from_be_bytes([a, b]))),
        _ => Err(("a marker segment runs past the end of the frame", i)),
    }
}

fn u32_at(d: &[u8], i: usize) -> Step<u32> {
    match d.get(i..i.saturating_add(4)) {
        Some(&[a, b, c, e]) => Ok(u32::from_be_bytes([a, b, c, e])),
        _ => Err(("a header runs past the end of the frame", i)),
    }
}

fn slice(d: &[u8], r: Range<usize>) -> Step<&[u8]> {
    let at = r.start;
    d.get(r)
        .ok_or(("a segment runs past the end of the frame", at))
}

fn jpeg_marker_name(m: u8) -> String {
    match m {
        0xE0..=0xEF => format!("APP{}", m - 0xE0),
        0xFE => "COM".into(),
        0xC4 => "DHT".into(),
        0xCC => "DAC".into(),
        0xC0..=0xCF => format!("SOF{}", m - 0xC0),
        0xDA => "SOS".into(),
        0xDB => "DQT".into(),
        0xDC => "DNL".into(),
        0xDD => "DRI".into(),
        0xDE => "DHP".into(),
        0xDF => "EXP".into(),
        0xF7 => "SOF55".into(),
        0xF8 => "LSE".into(),
        _ => format!("marker FF{m:02X}"),
    }
}

/// The end of entropy-coded data starting at `i`: the 0xFF of the next marker that is not a
/// restart marker. JPEG stuffs 0xFF with 0x00; JPEG-LS follows 0xFF with a byte below 0x80.
fn entropy_end(d: &[u8], mut i: usize, ls: bool) -> Step<usize> {
    loop {
        let Some(k) = d.get(i..).and_then(|r| r.iter().position(|&b| b == 0xFF)) else {
            return Err(("the frame ends inside entropy-coded data", d.len()));
        };
        let at = i + k;
        let Some(&n) = d.get(at + 1) else {
            return Err(("the frame ends inside entropy-coded data", d.len()));
        };
        let data = if ls { n < 0x80 } else { n == 0x00 };
        if data || (0xD0..=0xD7).contains(&n) {
            i = at + 2;
            continue;
        }
        return Ok(at);
    }
}

/// A JPEG or JPEG-LS stream from SOI to EOI; returns the offset after EOI.
fn walk_jpeg(d: &[u8], w: &mut Walk) -> Step<usize> {
    if !d.starts_with(&[0xFF, 0xD8]) {
        return Err(("no JPEG start-of-image marker", 0));
    }
    w.out.extend_from_slice(&[0xFF, 0xD8]);
    let mut ls = false;
    let mut i = 2;
    loop {
        let start = i;
        match d.get(i) {
            Some(0xFF) => {}
            Some(_) => return Err(("expected a JPEG marker", i)),
            None => return Err(("the frame ends before the end-of-image marker", i)),
        }
        // fill bytes before a marker
        let mut j = i + 1;
        while d.get(j) == Some(&0xFF) {
            j += 1;
        }
        let Some(&m) = d.get(j) else {
            return Err(("the frame ends before the end-of-image marker", j));
        };
        i = j + 1;
        match m {
            0x00 | 0xD8 => return Err(("an unexpected JPEG marker", j)),
            0xD9 => {
                w.out.extend_from_slice(slice(d, start..i)?);
                return Ok(i);
            }
            0xD0..=0xD7 | 0x01 => w.out.extend_from_slice(slice(d, start..i)?),
            _ => {
                let len = u16_at(d, i)?;
                if len < 2 {
                    return Err(("a JPEG marker segment shorter than its length field", i));
                }
                let end = i + len;
                let segment = slice(d, start..end)?;
                let body = slice(d, i + 2..end)?;
                let keep = match m {
                    0xE0 => body.starts_with(b"JFIF\0"),
                    0xEE => body.starts_with(b"Adobe"),
                    0xE1..=0xEF | 0xFE => false,
                    _ => true,
                };
                w.regions.push((jpeg_marker_name(m), start..end));
                if keep {
                    w.out.extend_from_slice(segment);
                } else {
                    w.removed
                        .push((format!("{} segment", jpeg_marker_name(m)), end - start));
                }
                ls |= m == 0xF7;
                i = end;
                if m == 0xDA {
                    let e = entropy_end(d, i, ls)?;
                    w.out.extend_from_slice(slice(d, i..e)?);
                    i = e;
                }
            }
        }
    }
}

fn j2k_marker_name(m: u8) -> String {
    match m {
        0x50 => "CAP".into(),
        0x51 => "SIZ".into(),
        0x52 => "COD".into(),
        0x53 => "COC".into(),
        0x55 => "TLM".into(),
        0x57 => "PLM".into(),
        0x58 => "PLT".into(),
        0x59 => "CPF".into(),
        0x5C => "QCD".into(),
        0x5D => "QCC".into(),
        0x5E => "RGN".into(),
        0x5F => "POC".into(),
        0x60 => "PPM".into(),
        0x61 => "PPT".into(),
        0x63 => "CRG".into(),
        0x64 => "COM".into(),
        0x90 => "SOT".into(),
        _ => format!("marker FF{m:02X}"),
    }
}

/// The marker code at `i` (the byte after 0xFF).
fn j2k_marker(d: &[u8], i: usize) -> Step<u8> {
    match d.get(i..i.saturating_add(2)) {
        Some(&[0xFF, m]) => Ok(m),
        Some(_) => Err(("expected a JPEG 2000 marker", i)),
        None => Err(("the codestream ends before its end marker", i)),
    }
}

/// One header marker segment at `i` (kept, or removed when COM); returns its end.
fn j2k_segment(
    d: &[u8],
    i: usize,
    limit: usize,
    label: &str,
    kept: &mut Vec<u8>,
    w: &mut Walk,
) -> Step<(usize, usize)> {
    let m = j2k_marker(d, i)?;
    let len = u16_at(d, i + 2)?;
    let end = i + 2 + len;
    if len < 2 || end > limit {
        return Err(("a JPEG 2000 marker segment runs past its header", i));
    }
    let segment = slice(d, i..end)?;
    w.regions
        .push((format!("{label}{}", j2k_marker_name(m)), i..end));
    if m == 0x64 {
        w.removed
            .push((format!("{label}COM marker segment"), segment.len()));
        return Ok((end, segment.len()));
    }
    kept.extend_from_slice(segment);
    Ok((end, 0))
}

/// A JPEG 2000 codestream from SOC to EOC; returns the offset after EOC.
fn walk_j2k(d: &[u8], w: &mut Walk) -> Step<usize> {
    if !d.starts_with(&[0xFF, 0x4F]) {
        return Err(("no JPEG 2000 start-of-codestream marker", 0));
    }
    w.out.extend_from_slice(&[0xFF, 0x4F]);
    let mut i = 2;
    let mut header = Vec::new();
    while j2k_marker(d, i)? != 0x90 {
        if j2k_marker(d, i)? == 0xD9 {
            return Err(("a codestream without tile-parts", i));
        }
        (i, _) = j2k_segment(d, i, d.len(), "", &mut header, w)?;
    }
    w.out.append(&mut header);
    let mut part = 0usize;
    loop {
        match j2k_marker(d, i)? {
            0xD9 => {
                w.out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(i + 2);
            }
            0x90 => {}
            _ => return Err(("expected a tile-part or the end of the codestream", i)),
        }
        if u16_at(d, i + 2)? != 10 {
            return Err(("a tile-part header of the wrong length", i));
        }
        let psot = u32_at(d, i + 6)?;
        let sot = slice(d, i..i + 12)?;
        let end = if psot == 0 {
            // the last tile-part runs to EOC (0xFF 0xD9 cannot occur in packet data)
            let from = i + 12;
            let rest = slice(d, from..d.len())?;
            from + rest
                .windows(2)
                .position(|p| p == [0xFF, 0xD9])
                .ok_or(("the codestream has no end marker", d.len()))?
        } else {
            i.checked_add(psot as usize)
                .filter(|&e| e <= d.len() && e >= i + 14)
                .ok_or(("a tile-part longer than the codestream", i))?
        };
        let label = format!("tile-part {part}: ");
        w.regions.push((format!("{label}SOT"), i..i + 12));
        let mut j = i + 12;
        let mut kept = Vec::new();
        let mut removed = 0usize;
        while j2k_marker(d, j)? != 0x93 {
            let (next, r) = j2k_segment(d, j, end, &label, &mut kept, w)?;
            j = next;
            removed += r;
        }
        if j + 2 > end {
            return Err(("a tile-part ends before its data", j));
        }
        w.out.extend_from_slice(slice(d, i..i + 6)?);
        let new_psot = if psot == 0 {
            0
        } else {
            u32::try_from(psot as usize - removed)
                .map_err(|_| ("a tile-part longer than the codestream", i))?
        };
        w.out.extend_from_slice(&new_psot.to_be_bytes());
        w.out.extend_from_slice(sot.get(10..12).unwrap_or_default());
        w.out.append(&mut kept);
        w.out.extend_from_slice(slice(d, j..end)?);
        i = end;
        part += 1;
    }
}

/// A box at `i`: (type, header length, end).
fn jp2_box(d: &[u8], i: usize, limit: usize) -> Step<([u8; 4], usize, usize)> {
    let lbox = u32_at(d, i)?;
    let kind: [u8; 4] = slice(d, i + 4..i + 8)?
        .try_into()
        .map_err(|_| ("a JP2 box header runs past the end", i))?;
    let (header, len) = match lbox {
        0 => (8, limit - i),
        1 => {
            let hi = u64::from(u32_at(d, i + 8)?);
            let lo = u64::from(u32_at(d, i + 12)?);
            let len = usize::try_from((hi << 32) | lo).unwrap_or(usize::MAX);
            (16, len)
        }
        n => (8, n as usize),
    };
    let end = i
        .checked_add(len)
        .filter(|&e| len >= header && e <= limit)
        .ok_or(("a JP2 box runs past the end of its container", i))?;
    Ok((kind, header, end))
}

fn box_name(kind: [u8; 4]) -> String {
    let s: String = kind
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    format!("JP2 '{s}' box")
}

/// Writes a box header for `content` bytes in the form (8 or 16 bytes) of the original.
fn box_header(out: &mut Vec<u8>, kind: [u8; 4], header: usize, content: usize) -> Step<()> {
    if header == 16 {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&kind);
        out.extend_from_slice(&((content + 16) as u64).to_be_bytes());
    } else {
        let len = u32::try_from(content + 8).map_err(|_| ("a JP2 box too long", 0))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&kind);
    }
    Ok(())
}

/// A JP2 file: keeps the signature, `ftyp`, `jp2h` (its decoding boxes) and `jp2c` (its
/// codestream cleaned); removes every other box. Returns the offset after the last box of
/// this file (a second signature box starts the next frame).
fn walk_jp2(d: &[u8], w: &mut Walk) -> Step<usize> {
    if !d.starts_with(&JP2_SIGNATURE) {
        return Err(("no JP2 signature box", 0));
    }
    let mut i = 0;
    let mut first = true;
    while i < d.len() {
        // a second signature starts the next image; a type that is not text is padding or
        // data after the file (left to the caller)
        let kind_ok = d
            .get(i + 4..i + 8)
            .is_some_and(|t| t.iter().all(|&b| b.is_ascii_alphanumeric() || b == b' '));
        if !kind_ok || (!first && d.get(i + 4..i + 8) == Some(b"jP  ".as_slice())) {
            break;
        }
        first = false;
        let lbox = u32_at(d, i)?;
        let (kind, header, mut end) = jp2_box(d, i, d.len())?;
        match &kind {
            b"jP  " | b"ftyp" => {
                w.out.extend_from_slice(slice(d, i..end)?);
                w.regions.push((box_name(kind), i..end));
            }
            b"jp2h" => {
                let mut content = Vec::new();
                let mut j = i + header;
                while j < end {
                    let (child, _, child_end) = jp2_box(d, j, end)?;
                    let bytes = slice(d, j..child_end)?;
                    w.regions
                        .push((format!("jp2h {}", box_name(child)), j..child_end));
                    if matches!(
                        &child,
                        b"ihdr" | b"bpcc" | b"colr" | b"pclr" | b"cmap" | b"cdef" | b"res "
                    ) {
                        content.extend_from_slice(bytes);
                    } else {
                        w.removed
                            .push((format!("jp2h {}", box_name(child)), bytes.len()));
                    }
                    j = child_end;
                }
                box_header(&mut w.out, kind, header, content.len())?;
                w.out.append(&mut content);
            }
            b"jp2c" => {
                let body = slice(d, i + header..end)?;
                let mut inner = Walk::default();
                let used =
                    walk_j2k(body, &mut inner).map_err(|(what, at)| (what, at + i + header))?;
                if lbox == 0 {
                    // runs to the end of the file: here, to the end of the codestream
                    end = i + header + used;
                } else if body.get(used..).is_some_and(|r| r.iter().any(|&b| b != 0)) {
                    return Err((
                        "data after the codestream inside its box",
                        i + header + used,
                    ));
                }
                if lbox == 0 {
                    w.out.extend_from_slice(slice(d, i..i + 8)?);
                } else {
                    let content = inner.out.len() + body.len().saturating_sub(used);
                    box_header(&mut w.out, kind, header, content)?;
                }
                w.out.append(&mut inner.out);
                if lbox != 0 {
                    w.out
                        .extend_from_slice(body.get(used..).unwrap_or_default());
                }
                w.removed.append(&mut inner.removed);
                let base = i + header;
                w.regions.push(("JP2 'jp2c' box header".into(), i..base));
                w.regions.extend(
                    inner
                        .regions
                        .into_iter()
                        .map(|(l, r)| (l, r.start + base..r.end + base)),
                );
            }
            _ => {
                w.regions.push((box_name(kind), i..end));
                w.removed.push((box_name(kind), end - i));
            }
        }
        i = end;
        if lbox == 0 {
            break;
        }
    }
    Ok(i)
}

/// Walks one image (a JPEG/JPEG-LS stream, a JPEG 2000 codestream or a JP2 file, told apart
/// by their first bytes) at the start of `d`.
fn walk(d: &[u8]) -> Step<(Walk, usize)> {
    let mut w = Walk::default();
    let end = if d.starts_with(&[0xFF, 0xD8]) {
        walk_jpeg(d, &mut w)?
    } else if d.starts_with(&[0xFF, 0x4F]) {
        walk_j2k(d, &mut w)?
    } else if d.starts_with(&JP2_SIGNATURE) {
        walk_jp2(d, &mut w)?
    } else {
        return Err(("not a JPEG, JPEG-LS or JPEG 2000 image", 0));
    };
    Ok((w, end))
}

/// Removes the metadata of one frame (all its fragments joined). Padding after the end of
/// the image (0x00 or 0xFF bytes) is kept; anything else there is removed.
pub fn clean_frame(frame_index: usize, frame: &[u8]) -> Result<Cleaned<'_>, MetadataError> {
    let fail = |(what, at): (&'static str, usize)| MetadataError {
        frame: frame_index,
        what,
        at,
    };
    let (mut w, end) = walk(frame).map_err(fail)?;
    let trailing = frame.get(end..).unwrap_or_default();
    if trailing.iter().any(|&b| b != 0 && b != 0xFF) {
        w.removed
            .push(("data after the end of the image".into(), trailing.len()));
    } else {
        w.out.extend_from_slice(trailing);
    }
    let removals: Vec<Removal> = w
        .removed
        .into_iter()
        .map(|(what, bytes)| Removal {
            frame: frame_index,
            what,
            bytes,
        })
        .collect();
    Ok(Cleaned {
        bytes: if removals.is_empty() {
            Cow::Borrowed(frame)
        } else {
            Cow::Owned(w.out)
        },
        removals,
    })
}

/// The header regions of one frame outside the entropy-coded data (every marker segment and
/// JP2 box, metadata included: on a cleaned frame, what remains), each with a placement label
/// such as `frame 3: APP0` or `frame 0: tile-part 1: PLT`, in offsets of `frame`; data after
/// the end of the image is a region too. A frame that cannot be walked is one region,
/// `frame N: unparsed`, the whole frame.
pub fn regions(frame_index: usize, frame: &[u8]) -> Vec<(String, Range<usize>)> {
    match walk(frame) {
        Ok((w, end)) => {
            let mut out: Vec<(String, Range<usize>)> = w
                .regions
                .into_iter()
                .map(|(l, r)| (format!("frame {frame_index}: {l}"), r))
                .collect();
            if end < frame.len() {
                out.push((
                    format!("frame {frame_index}: after the end of the image"),
                    end..frame.len(),
                ));
            }
            out
        }
        Err(_) => vec![(format!("frame {frame_index}: unparsed"), 0..frame.len())],
    }
}

/// A cleaned pixel fragment sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    /// Offsets of the frames' first fragment items (the Basic Offset Table's meaning).
    pub offsets: Vec<u64>,
    /// Each frame's length in bytes (its fragments' values).
    pub lengths: Vec<u64>,
    /// The fragments: unchanged frames keep theirs, a cleaned frame is one fragment.
    pub fragments: Vec<Vec<u8>>,
    /// What was removed.
    pub removals: Vec<Removal>,
}

/// Groups fragments into frames: by the offset table when there is one (offsets of fragment
/// items from the first), else by walking the images (a frame ends in the fragment where its
/// image ends).
fn frames(offsets: &[u64], fragments: &[Vec<u8>]) -> Result<Vec<Range<usize>>, MetadataError> {
    let mut starts = Vec::with_capacity(fragments.len());
    let mut at = 0u64;
    for f in fragments {
        starts.push(at);
        at += 8 + f.len() as u64;
    }
    let bad = |frame, what| MetadataError { frame, what, at: 0 };
    if !offsets.is_empty() {
        let mut first: Vec<usize> = Vec::with_capacity(offsets.len());
        for (n, o) in offsets.iter().enumerate() {
            let k = starts
                .binary_search(o)
                .map_err(|_| bad(n, "the offset table does not point at a fragment"))?;
            if first.last().is_some_and(|&p| p >= k) || (n == 0 && k != 0) {
                return Err(bad(n, "the offset table is not in order"));
            }
            first.push(k);
        }
        let mut out = Vec::with_capacity(first.len());
        for (n, &k) in first.iter().enumerate() {
            out.push(k..first.get(n + 1).copied().unwrap_or(fragments.len()));
        }
        return Ok(out);
    }
    let all: Vec<u8> = fragments.iter().flatten().copied().collect();
    let mut data_starts = Vec::with_capacity(fragments.len());
    let mut s = 0usize;
    for f in fragments {
        data_starts.push(s);
        s += f.len();
    }
    let mut out = Vec::new();
    let mut k = 0;
    while k < fragments.len() {
        let n = out.len();
        let begin = data_starts.get(k).copied().unwrap_or(all.len());
        let (_, used) = walk(all.get(begin..).unwrap_or_default())
            .map_err(|(what, at)| MetadataError { frame: n, what, at })?;
        let end = begin + used;
        // the last fragment that starts before the image ends
        let mut j = k;
        while data_starts.get(j + 1).is_some_and(|&s| s < end) {
            j += 1;
        }
        out.push(k..j + 1);
        k = j + 1;
    }
    Ok(out)
}

/// Cleans every frame of an encapsulated Pixel Data value. `offsets` is the Basic (or
/// Extended) Offset Table, empty when there is none. `Ok(None)`: nothing to remove (the
/// value stays as it is).
pub fn clean_fragments(
    offsets: &[u64],
    fragments: &[Vec<u8>],
) -> Result<Option<Sequence>, MetadataError> {
    let groups = frames(offsets, fragments)?;
    let mut removals = Vec::new();
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(fragments.len());
    let mut new_offsets = Vec::with_capacity(groups.len());
    let mut lengths = Vec::with_capacity(groups.len());
    let mut at = 0u64;
    for (n, g) in groups.into_iter().enumerate() {
        let parts = fragments.get(g).unwrap_or_default();
        let joined: Cow<'_, [u8]> = match parts {
            [one] => Cow::Borrowed(one.as_slice()),
            many => Cow::Owned(many.iter().flatten().copied().collect()),
        };
        let cleaned = clean_frame(n, &joined)?;
        new_offsets.push(at);
        if cleaned.removals.is_empty() {
            lengths.push(parts.iter().map(|p| p.len() as u64).sum());
            for p in parts {
                at += 8 + p.len() as u64;
                out.push(p.clone());
            }
        } else {
            let mut bytes = cleaned.bytes.into_owned();
            if bytes.len() % 2 == 1 {
                bytes.push(0);
            }
            at += 8 + bytes.len() as u64;
            lengths.push(bytes.len() as u64);
            out.push(bytes);
            removals.extend(cleaned.removals);
        }
    }
    if removals.is_empty() {
        return Ok(None);
    }
    Ok(Some(Sequence {
        offsets: new_offsets,
        lengths,
        fragments: out,
        removals,
    }))
}

fn eot_values(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<u64>> {
    let e = obj.get(tag)?;
    match e.value() {
        Value::Primitive(PrimitiveValue::U64(v)) => Some(v.to_vec()),
        Value::Primitive(p) => {
            let b = p.to_bytes();
            Some(
                b.chunks_exact(8)
                    .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Cleans the encapsulated Pixel Data of `obj` in place when `transfer_syntax` is of a JPEG
/// or JPEG 2000 family: metadata removed frame by frame, the offset tables rewritten when
/// lengths changed. Returns what was removed (nothing for other syntaxes or native data).
pub fn clean_object(
    obj: &mut InMemDicomObject,
    transfer_syntax: &str,
) -> Result<Vec<Removal>, MetadataError> {
    if codec(transfer_syntax).is_none() {
        return Ok(Vec::new());
    }
    let Some(Value::PixelSequence(seq)) = obj.get(PIXEL_DATA).map(|e| e.value()) else {
        return Ok(Vec::new());
    };
    let eot = eot_values(obj, EXTENDED_OFFSET_TABLE);
    let offsets: Vec<u64> = match (&eot, seq.offset_table()) {
        (_, bot) if !bot.is_empty() => bot.iter().map(|&o| u64::from(o)).collect(),
        (Some(e), _) => e.clone(),
        _ => Vec::new(),
    };
    let Some(cleaned) = clean_fragments(&offsets, seq.fragments())? else {
        return Ok(Vec::new());
    };
    let had_table = !offsets.is_empty();
    let bot: Vec<u32> = match cleaned
        .offsets
        .iter()
        .map(|&o| u32::try_from(o))
        .collect::<Result<Vec<u32>, _>>()
    {
        Ok(b) if had_table && eot.is_none() => b,
        _ => Vec::new(),
    };
    if eot.is_some() {
        obj.put(DataElement::new(
            EXTENDED_OFFSET_TABLE,
            VR::OV,
            PrimitiveValue::U64(cleaned.offsets.into()),
        ));
        obj.put(DataElement::new(
            EXTENDED_OFFSET_TABLE_LENGTHS,
            VR::OV,
            PrimitiveValue::U64(cleaned.lengths.into()),
        ));
    }
    obj.put(DataElement::new(
        PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(bot, cleaned.fragments)),
    ));
    Ok(cleaned.removals)
}

#[cfg(test)]
mod tests;
