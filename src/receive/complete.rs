//! Is a received data set as long as it says? A walk over the element headers of a spool file
//! (no values read, no recursion) that finds values, items or sequences declared longer than
//! the bytes that arrived — a C-STORE cut short must be refused, not acknowledged.
//!
//! Only what is certain is reported as [`Check::Truncated`]: a defined length running past the
//! end of the data set, or the data set ending inside an undefined-length sequence or item.
//! Anything this walk does not interpret (deflated data sets, undefined-length UN, odd
//! structures) is [`Check::Unknown`] and left to the reader.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::Path;

/// What the walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Every declared length fits in the bytes received.
    Complete,
    /// Some value, item or sequence is declared longer than what arrived.
    Truncated,
    /// Not checked (an encoding or structure this walk leaves to the reader).
    Unknown,
}

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQ_END: (u16, u16) = (0xFFFE, 0xE0DD);
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
/// Nested undefined-length levels followed at most (deeper: `Unknown`, the reader decides).
const MAX_LEVELS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The data set or an undefined-length item: elements until the item end.
    Elements,
    /// An undefined-length sequence: items until the sequence end.
    Items,
    /// Encapsulated pixel data: fragments until the sequence end.
    Fragments,
}

struct Walk<R> {
    r: R,
    pos: u64,
    len: u64,
    big: bool,
}

impl<R: Read + Seek> Walk<R> {
    fn left(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }
    fn bytes<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        self.pos += N as u64;
        Ok(b)
    }
    fn u16(&mut self) -> io::Result<u16> {
        let b = self.bytes::<2>()?;
        Ok(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }
    fn u32(&mut self) -> io::Result<u32> {
        let b = self.bytes::<4>()?;
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    /// Skips a defined-length value: false when it runs past the end.
    fn skip(&mut self, n: u32) -> io::Result<bool> {
        if u64::from(n) > self.left() {
            return Ok(false);
        }
        self.r.seek_relative(i64::from(n))?;
        self.pos += u64::from(n);
        Ok(true)
    }
}

/// Checks the data set of `path` that starts at byte `offset`, in transfer syntax `ts`.
pub fn check(path: &Path, offset: u64, ts: &str) -> io::Result<Check> {
    let ts = ts.trim_end_matches(['\0', ' ']);
    if crate::intake::bounded::is_deflated(ts) {
        return Ok(Check::Unknown);
    }
    let f = File::open(path)?;
    let total = f.metadata()?.len();
    let mut r = BufReader::with_capacity(64 * 1024, f);
    r.seek(io::SeekFrom::Start(offset))?;
    let w = Walk {
        r,
        pos: 0,
        len: total.saturating_sub(offset),
        big: ts == crate::dimse::EXPLICIT_BE,
    };
    walk(w, ts != crate::dimse::IMPLICIT_LE)
}

fn walk<R: Read + Seek>(mut w: Walk<R>, explicit: bool) -> io::Result<Check> {
    let mut levels = vec![Level::Elements];
    loop {
        let Some(&level) = levels.last() else {
            // (the data set level never ends by a delimiter)
            return Ok(Check::Unknown);
        };
        if w.left() == 0 {
            return Ok(if levels.len() == 1 {
                Check::Complete
            } else {
                Check::Truncated
            });
        }
        if w.left() < 8 {
            return Ok(Check::Truncated);
        }
        let tag = (w.u16()?, w.u16()?);
        match level {
            Level::Items | Level::Fragments => {
                let len = w.u32()?;
                if tag == SEQ_END {
                    levels.pop();
                } else if tag != ITEM {
                    return Ok(Check::Unknown);
                } else if len == UNDEFINED {
                    if level == Level::Fragments {
                        return Ok(Check::Unknown);
                    }
                    levels.push(Level::Elements);
                } else if !w.skip(len)? {
                    return Ok(Check::Truncated);
                }
            }
            Level::Elements => {
                if tag.0 == 0xFFFE {
                    let _ = w.u32()?;
                    if tag == ITEM_END && levels.len() > 1 {
                        levels.pop();
                        continue;
                    }
                    return Ok(Check::Unknown);
                }
                let (vr, len) = if explicit {
                    let vr = w.bytes::<2>()?;
                    if !vr.iter().all(u8::is_ascii_uppercase) {
                        return Ok(Check::Unknown);
                    }
                    let long = matches!(
                        &vr,
                        b"OB"
                            | b"OD"
                            | b"OF"
                            | b"OL"
                            | b"OV"
                            | b"OW"
                            | b"SQ"
                            | b"UC"
                            | b"UN"
                            | b"UR"
                            | b"UT"
                            | b"SV"
                            | b"UV"
                    );
                    if long {
                        if w.left() < 6 {
                            return Ok(Check::Truncated);
                        }
                        let _ = w.u16()?;
                        (Some(vr), w.u32()?)
                    } else {
                        (Some(vr), u32::from(w.u16()?))
                    }
                } else {
                    (None, w.u32()?)
                };
                if len != UNDEFINED {
                    if !w.skip(len)? {
                        return Ok(Check::Truncated);
                    }
                    continue;
                }
                if levels.len() >= MAX_LEVELS {
                    return Ok(Check::Unknown);
                }
                match vr.as_ref().map(|v| &v[..]) {
                    Some(b"SQ") => levels.push(Level::Items),
                    Some(b"OB" | b"OW") if tag == PIXEL_DATA => levels.push(Level::Fragments),
                    // implicit VR: an undefined length is a sequence
                    None if tag != PIXEL_DATA => levels.push(Level::Items),
                    _ => return Ok(Check::Unknown),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn run(bytes: &[u8], explicit: bool) -> Check {
        let w = Walk {
            r: Cursor::new(bytes.to_vec()),
            pos: 0,
            len: bytes.len() as u64,
            big: false,
        };
        walk(w, explicit).expect("walk")
    }

    fn el(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&tag.0.to_le_bytes());
        v.extend_from_slice(&tag.1.to_le_bytes());
        v.extend_from_slice(vr);
        if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN") {
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            v.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn declared_lengths_past_the_end_are_truncation() {
        let mut ds = el((0x0008, 0x0060), b"CS", b"CT");
        ds.extend(el((0x7FE0, 0x0010), b"OW", &[0u8; 64]));
        assert_eq!(run(&ds, true), Check::Complete);
        // pixel data cut short
        assert_eq!(run(&ds[..ds.len() - 10], true), Check::Truncated);
        // a header cut in the middle
        assert_eq!(run(&ds[..12], true), Check::Truncated);
        // implicit VR
        let mut imp = Vec::new();
        imp.extend_from_slice(&[0x08, 0, 0x60, 0, 2, 0, 0, 0, b'C', b'T']);
        imp.extend_from_slice(&[0xE0, 0x7F, 0x10, 0, 0, 1, 0, 0]);
        imp.extend_from_slice(&[0u8; 100]);
        assert_eq!(run(&imp, false), Check::Truncated);
        imp.extend_from_slice(&[0u8; 156]);
        assert_eq!(run(&imp, false), Check::Complete);
    }

    #[test]
    fn undefined_lengths_are_followed_without_recursion() {
        // SQ (undefined) > item (undefined) > element, nested deep, then closed
        let open: Vec<u8> = [
            &[
                0x08u8, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ][..],
            &[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF][..],
        ]
        .concat();
        let close: Vec<u8> = [
            &[0xFEu8, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0][..],
            &[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0][..],
        ]
        .concat();
        let depth = 2000;
        let mut ds = open.repeat(depth);
        ds.extend(el((0x0008, 0x0060), b"CS", b"CT"));
        ds.extend(close.repeat(depth));
        assert_eq!(run(&ds, true), Check::Complete);
        // the data set ends inside the sequences
        assert_eq!(run(&ds[..ds.len() - 8], true), Check::Truncated);
        // encapsulated pixel data: fragments then the sequence end
        let mut px = vec![
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        px.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        px.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 16, 0, 0, 0]);
        px.extend_from_slice(&[0u8; 16]);
        let whole = [&px[..], &[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0][..]].concat();
        assert_eq!(run(&whole, true), Check::Complete);
        assert_eq!(run(&px[..px.len() - 4], true), Check::Truncated);
        // what is not understood is left to the reader
        let un = [
            0x09u8, 0x00, 0x10, 0x10, b'U', b'N', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        assert_eq!(run(&un, true), Check::Unknown);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..3000 {
            let mut v = vec![0u8; 8 + round % 120];
            for b in v.iter_mut() {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (x >> 33) as u8;
            }
            let _ = run(&v, round % 2 == 0);
        }
    }
}
