//! Length guard: refuses a file before parsing when an element claims more bytes than the file has.
//!
//! The DICOM reader allocates (and zero-fills) an element's claimed length before reading it, so
//! a damaged 4 KB file claiming a 4 GB value costs seconds and gigabytes per reader thread. This
//! pass walks the element headers with dicom-rs's own decoders (file meta: explicit VR little
//! endian; data set: the token reader, values kept as the reader keeps them, so both walk the
//! same elements) and stops at the first impossible length, so the allocation never happens.
//! Anything else odd is left for the real parse to report.
//!
//! The same walk caps nesting: dicom-rs builds objects recursively (one stack frame set per
//! sequence level), while the token reader walked here is a state machine, so a data set nested
//! deeper than [`super::bounded::MAX_DEPTH`] is refused as `too_deep` before any recursion.
//! Deflated data sets are inflated (under a budget) by [`super::bounded`] and walked after.

use std::io::{BufRead, BufReader, Read};

use dicom_core::header::{DataElementHeader, HasLength, Header as _};
use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_encoding::decode::explicit_le::ExplicitVRLittleEndianDecoder;
use dicom_encoding::decode::Decode;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::mem::InMemElement;
use dicom_object::InMemDicomObject;
use dicom_parser::dataset::read::{DataSetReaderOptions, ValueReadStrategy};
use dicom_parser::dataset::{DataSetReader, DataToken};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::reason::SkipReason;

const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);
const TRANSFER_SYNTAX_UID: Tag = Tag(0x0002, 0x0010);

/// What the file meta group says, and where the data set starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaInfo {
    /// Transfer syntax UID, if the meta group has one.
    pub ts_uid: Option<String>,
    /// Byte offset of the first data set element.
    pub dataset_offset: u64,
}

/// Walks a Part-10 file's meta group (`preamble`: whether 128 bytes + `DICM` come first),
/// refusing impossible lengths.
pub fn scan_meta<R: Read>(
    source: R,
    file_size: u64,
    preamble: bool,
) -> Result<(MetaInfo, BufReader<R>), SkipReason> {
    let mut r = BufReader::new(source);
    let mut offset = 0u64;
    if preamble {
        skip(&mut r, 132)?;
        offset = 132;
    }
    let dec = ExplicitVRLittleEndianDecoder::default();
    let mut ts_uid = None;
    loop {
        let group = match r.fill_buf() {
            Ok(b) if b.len() >= 2 => u16::from_le_bytes([b[0], b[1]]),
            Ok(_) => break, // file ends within or right after the meta group
            Err(e) => return Err(SkipReason::from_io(&e)),
        };
        if group != 0x0002 {
            break;
        }
        let (hdr, n) = dec
            .decode_header(&mut r)
            .map_err(|_| SkipReason::BadFileMeta)?;
        let len = hdr.length().get().ok_or(SkipReason::BadFileMeta)?;
        if u64::from(len) > file_size {
            return Err(SkipReason::Truncated);
        }
        offset += n as u64 + u64::from(len);
        if hdr.tag() == TRANSFER_SYNTAX_UID && len <= 64 {
            let mut v = vec![0u8; len as usize];
            r.read_exact(&mut v).map_err(|e| SkipReason::from_io(&e))?;
            ts_uid = Some(
                String::from_utf8_lossy(&v)
                    .trim_end_matches(['\0', ' '])
                    .to_string(),
            );
        } else {
            skip(&mut r, u64::from(len))?;
        }
    }
    Ok((
        MetaInfo {
            ts_uid,
            dataset_offset: offset,
        },
        r,
    ))
}

/// Checks a whole Part-10 file: its meta group, then its data set. Returns the meta info.
pub fn check_part10<R: Read>(
    source: R,
    file_size: u64,
    preamble: bool,
    header_only: bool,
) -> Result<MetaInfo, SkipReason> {
    let (meta, r) = scan_meta(source, file_size, preamble)?;
    if let Some(uid) = &meta.ts_uid {
        check_dataset(r, uid, file_size, header_only)?;
    }
    Ok(meta)
}

/// [`check_part10`] (whole file, preamble) walking the data set the way dicom-object's reader
/// does (values preserved, not raw), so that both see the same elements: the reader and a
/// raw-value walk can part ways on damaged sequences (found by fuzzing: the raw walk ended
/// early and the reader went on to a 4 GB element). Lengths are still checked on each header
/// before its value is read.
pub fn check_part10_as_reader(source: &[u8], file_size: u64) -> Result<MetaInfo, SkipReason> {
    let (meta, r) = scan_meta(source, file_size, true)?;
    if let Some(uid) = &meta.ts_uid {
        check_dataset_with(
            r,
            uid,
            file_size,
            false,
            ValueReadStrategy::Preserved,
            super::bounded::MAX_DEPTH,
        )?;
    }
    Ok(meta)
}

/// Checks a data set (no file meta) encoded with transfer syntax `ts_uid`.
pub fn check_dataset<R: Read>(
    source: R,
    ts_uid: &str,
    file_size: u64,
    header_only: bool,
) -> Result<(), SkipReason> {
    // Walked as the reader walks (see check_part10_as_reader): the two must not part ways.
    check_dataset_with(
        source,
        ts_uid,
        file_size,
        header_only,
        ValueReadStrategy::Preserved,
        super::bounded::MAX_DEPTH,
    )
}

/// [`check_dataset`] of an element's value decoded on its own (a UN value read as implicit VR,
/// see [`super::un`]) found `depth_above` sequence levels deep: its nesting counts on top.
pub fn check_nested<R: Read>(
    source: R,
    ts_uid: &str,
    size: u64,
    depth_above: usize,
) -> Result<(), SkipReason> {
    let max_depth = super::bounded::MAX_DEPTH
        .checked_sub(depth_above)
        .ok_or(SkipReason::TooDeep)?;
    check_dataset_with(
        source,
        ts_uid,
        size,
        false,
        ValueReadStrategy::Preserved,
        max_depth,
    )
}

fn check_dataset_with<R: Read>(
    source: R,
    ts_uid: &str,
    file_size: u64,
    header_only: bool,
    strategy: ValueReadStrategy,
    max_depth: usize,
) -> Result<(), SkipReason> {
    let Some(ts) = TransferSyntaxRegistry.get(ts_uid) else {
        return Ok(()); // unknown syntax: the real reader reports it
    };
    if super::bounded::is_deflated(ts_uid) || !ts.can_decode_dataset() {
        return Ok(()); // inflated lengths are bounded by decompression; nothing to pre-check
    }
    let opts = DataSetReaderOptions::default().value_read(strategy);
    let Ok(tokens) = DataSetReader::new_with_ts_options(source, ts, opts) else {
        return Ok(());
    };
    let mut depth = 0usize;
    for tok in tokens {
        let Ok(tok) = tok else {
            return Ok(()); // a parse problem, not a length one: the real reader reports it
        };
        let claimed = match &tok {
            DataToken::ElementHeader(h) => {
                if header_only && depth == 0 && h.tag >= PIXEL_DATA {
                    return Ok(());
                }
                h.len.get()
            }
            DataToken::PixelSequenceStart if header_only && depth == 0 => return Ok(()),
            DataToken::ItemStart { len } => len.get(),
            DataToken::SequenceStart { .. } => {
                depth += 1;
                if depth > max_depth {
                    return Err(SkipReason::TooDeep);
                }
                None
            }
            DataToken::SequenceEnd => {
                depth = depth.saturating_sub(1);
                None
            }
            _ => None,
        };
        if claimed.is_some_and(|len| u64::from(len) > file_size) {
            return Err(SkipReason::Truncated);
        }
    }
    Ok(())
}

/// A reader over a byte slice that shares how far it has read.
pub(super) struct Counting<'a> {
    pub(super) rest: &'a [u8],
    pub(super) pos: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rest.read(buf)?;
        self.pos.set(self.pos.get() + n);
        Ok(n)
    }
}

/// [`check_dataset`] for a data set held in memory (`ds`: the bytes after the file meta),
/// which also finds the top-level Pixel Data element: `Some(range)` of its bytes (header
/// included) in `ds` when it is the last top-level element, so it can be copied as is instead
/// of decoded and encoded again. Pixel values are not read (a defined length is checked
/// against what is left; an encapsulated sequence is walked item by item).
pub fn check_dataset_in_memory(
    ds: &[u8],
    ts_uid: &str,
) -> Result<Option<std::ops::Range<usize>>, SkipReason> {
    let Some(ts) = TransferSyntaxRegistry.get(ts_uid) else {
        return Ok(None);
    };
    if super::bounded::is_deflated(ts_uid) || !ts.can_decode_dataset() {
        return Ok(None);
    }
    let pos = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let src = Counting {
        rest: ds,
        pos: pos.clone(),
    };
    let opts = DataSetReaderOptions::default().value_read(ValueReadStrategy::Preserved);
    let Ok(mut tokens) = DataSetReader::new_with_ts_options(src, ts, opts) else {
        return Ok(None);
    };
    let size = ds.len() as u64;
    let mut depth = 0usize;
    let mut pixel_start: Option<usize> = None;
    loop {
        let before = pos.get();
        let Some(tok) = tokens.next() else {
            return Ok(None);
        };
        let Ok(tok) = tok else {
            return Ok(None); // a parse problem, not a length one: the real reader reports it
        };
        let claimed = match &tok {
            DataToken::ElementHeader(h) if depth == 0 && h.tag == PIXEL_DATA => {
                match h.len.get() {
                    Some(len) => {
                        let end = pos.get() as u64 + u64::from(len);
                        if end > size {
                            return Err(SkipReason::Truncated);
                        }
                        if end != size {
                            // Something follows the pixels: check it, but decode normally.
                            check_dataset_with(
                                &ds[end as usize..],
                                ts_uid,
                                size,
                                false,
                                ValueReadStrategy::Preserved,
                                super::bounded::MAX_DEPTH,
                            )?;
                            return Ok(None);
                        }
                        return Ok(Some(before..end as usize));
                    }
                    None => None,
                }
            }
            DataToken::PixelSequenceStart if depth == 0 => {
                // (the header token came just before; its start is found again below)
                pixel_start = Some(before);
                None
            }
            DataToken::ElementHeader(h) => h.len.get(),
            DataToken::ItemStart { len } => len.get(),
            DataToken::SequenceStart { .. } => {
                depth += 1;
                if depth > super::bounded::MAX_DEPTH {
                    return Err(SkipReason::TooDeep);
                }
                None
            }
            DataToken::SequenceEnd => {
                if depth == 0 && pixel_start.is_some() {
                    // End of the encapsulated pixel data.
                    let end = pos.get();
                    if end != ds.len() {
                        check_dataset_with(
                            &ds[end..],
                            ts_uid,
                            size,
                            false,
                            ValueReadStrategy::Preserved,
                            super::bounded::MAX_DEPTH,
                        )?;
                        return Ok(None);
                    }
                    return Ok(pixel_start.map(|s| s..end));
                }
                depth = depth.saturating_sub(1);
                None
            }
            _ => None,
        };
        if claimed.is_some_and(|len| u64::from(len) > size) {
            return Err(SkipReason::Truncated);
        }
    }
}

/// An element or an item being built from the tokens (the walk keeps its own stack: no
/// recursion, whatever the input).
enum Open {
    Item(Vec<InMemElement>),
    Sequence {
        tag: Tag,
        len: Length,
        items: Vec<InMemDicomObject>,
    },
}

/// For a large file read only in part: walks the data set elements in `prefix` (the first
/// bytes of a data set of `total` bytes), checking every claimed length against `total` and
/// the nesting against [`super::bounded::MAX_DEPTH`], up to a top-level, defined-length Pixel
/// Data element that ends exactly at the end of the data set, and builds the data set before
/// it from the same tokens: the object the DICOM reader would build with `read_until(Pixel
/// Data)` (elements, values and sequence lengths as read; items carry no length, which the
/// writer never uses), in one pass, so the check and the build cannot part ways.
/// `Ok(Some((object, start)))`: `start` is where the Pixel Data header starts in the data set.
/// `Ok(None)`: anything else (the prefix ends first, pixel data encapsulated or followed by
/// more elements, a token the reader would treat otherwise, an element at or after Pixel
/// Data's tag before it) — read the whole file instead.
pub fn read_header_in_prefix(
    prefix: &[u8],
    total: u64,
    ts_uid: &str,
) -> Result<Option<(InMemDicomObject, u64)>, SkipReason> {
    let Some(ts) = TransferSyntaxRegistry.get(ts_uid) else {
        return Ok(None);
    };
    if super::bounded::is_deflated(ts_uid) || !ts.can_decode_dataset() {
        return Ok(None);
    }
    let pos = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let src = Counting {
        rest: prefix,
        pos: pos.clone(),
    };
    let opts = DataSetReaderOptions::default().value_read(ValueReadStrategy::Preserved);
    let Ok(mut tokens) = DataSetReader::new_with_ts_options(src, ts, opts) else {
        return Ok(None);
    };
    let mut depth = 0usize;
    let mut open = vec![Open::Item(Vec::new())];
    let mut header: Option<DataElementHeader> = None;
    loop {
        let before = pos.get();
        let Some(Ok(tok)) = tokens.next() else {
            return Ok(None); // end of the prefix, or a parse problem: the full path decides
        };
        let claimed = match &tok {
            DataToken::ElementHeader(h) if depth == 0 && h.tag >= PIXEL_DATA => {
                if h.tag != PIXEL_DATA {
                    return Ok(None);
                }
                let Some(len) = h.len.get() else {
                    return Ok(None);
                };
                let end = pos.get() as u64 + u64::from(len);
                if end > total {
                    return Err(SkipReason::Truncated);
                }
                if end != total || open.len() != 1 || header.is_some() {
                    return Ok(None);
                }
                let Some(Open::Item(elements)) = open.pop() else {
                    return Ok(None);
                };
                return Ok(Some((
                    InMemDicomObject::from_element_iter(elements),
                    before as u64,
                )));
            }
            DataToken::PixelSequenceStart => return Ok(None),
            DataToken::ElementHeader(h) => h.len.get(),
            DataToken::ItemStart { len } => len.get(),
            _ => None,
        };
        if claimed.is_some_and(|len| u64::from(len) > total) {
            return Err(SkipReason::Truncated);
        }
        let built = match tok {
            DataToken::ElementHeader(h) if header.is_none() => {
                header = Some(h);
                Some(())
            }
            DataToken::PrimitiveValue(v) => match (header.take(), open.last_mut()) {
                (Some(h), Some(Open::Item(elements))) => {
                    elements.push(DataElement::new_with_len(
                        h.tag,
                        h.vr,
                        h.len,
                        Value::Primitive(v),
                    ));
                    Some(())
                }
                _ => None,
            },
            DataToken::SequenceStart { tag, len } if header.is_none() => {
                depth += 1;
                if depth > super::bounded::MAX_DEPTH {
                    return Err(SkipReason::TooDeep);
                }
                if depth == 1 && tag >= PIXEL_DATA {
                    return Ok(None);
                }
                open.push(Open::Sequence {
                    tag,
                    len,
                    items: Vec::new(),
                });
                Some(())
            }
            DataToken::ItemStart { .. } if matches!(open.last(), Some(Open::Sequence { .. })) => {
                open.push(Open::Item(Vec::new()));
                Some(())
            }
            DataToken::ItemEnd if header.is_none() && open.len() > 1 => {
                match (open.pop(), open.last_mut()) {
                    (Some(Open::Item(elements)), Some(Open::Sequence { items, .. })) => {
                        items.push(InMemDicomObject::from_element_iter(elements));
                        Some(())
                    }
                    _ => None,
                }
            }
            DataToken::SequenceEnd if header.is_none() => {
                depth = depth.saturating_sub(1);
                match (open.pop(), open.last_mut()) {
                    (Some(Open::Sequence { tag, len, items }), Some(Open::Item(elements))) => {
                        elements.push(DataElement::new_with_len(
                            tag,
                            VR::SQ,
                            len,
                            Value::Sequence(DataSetSequence::new(items, len)),
                        ));
                        Some(())
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if built.is_none() {
            return Ok(None); // a token the reader would not build from: the full path decides
        }
    }
}

fn skip<R: Read>(r: &mut R, n: u64) -> Result<(), SkipReason> {
    let copied =
        std::io::copy(&mut r.take(n), &mut std::io::sink()).map_err(|e| SkipReason::from_io(&e))?;
    if copied < n {
        return Err(SkipReason::Truncated);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_then(dataset: &[u8]) -> Vec<u8> {
        let ts = b"1.2.840.10008.1.2.1\0";
        let mut v = vec![0u8; 128];
        v.extend_from_slice(b"DICM");
        v.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        v.extend_from_slice(&(ts.len() as u16).to_le_bytes());
        v.extend_from_slice(ts);
        v.extend_from_slice(dataset);
        v
    }

    #[test]
    fn refuses_a_length_larger_than_the_file() {
        // (0008,0016) with an OB-style 4-byte length of 0xFFFFFFF0
        let mut ds = vec![0x08, 0x00, 0x16, 0x00, b'U', b'N', 0, 0];
        ds.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        let file = meta_then(&ds);
        let r = check_part10(&file[..], file.len() as u64, true, true);
        assert_eq!(r.err(), Some(SkipReason::Truncated));
    }

    /// (0008,1115) SQ nested `depth` levels, undefined lengths, explicit VR little endian.
    fn nested(depth: usize) -> Vec<u8> {
        let mut ds = Vec::new();
        for _ in 0..depth {
            ds.extend_from_slice(&[
                0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ]);
            ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        for _ in 0..depth {
            ds.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
            ds.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        }
        ds
    }

    #[test]
    fn nesting_is_capped_before_the_reader_recurses() {
        let limit = crate::intake::bounded::MAX_DEPTH;
        let ok = meta_then(&nested(limit));
        assert!(check_part10(&ok[..], ok.len() as u64, true, false).is_ok());
        assert!(check_part10_as_reader(&ok, ok.len() as u64).is_ok());
        for depth in [limit + 1, 5_000] {
            let deep = meta_then(&nested(depth));
            let size = deep.len() as u64;
            assert_eq!(
                check_part10(&deep[..], size, true, true).err(),
                Some(SkipReason::TooDeep)
            );
            assert_eq!(
                check_part10_as_reader(&deep, size).err(),
                Some(SkipReason::TooDeep)
            );
            assert_eq!(
                check_dataset_in_memory(&deep[160..], "1.2.840.10008.1.2.1").err(),
                Some(SkipReason::TooDeep)
            );
            assert_eq!(
                read_header_in_prefix(&deep[160..], size, "1.2.840.10008.1.2.1").err(),
                Some(SkipReason::TooDeep)
            );
        }
    }

    #[test]
    fn the_header_before_the_pixels_is_built_from_a_prefix() {
        const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
        let mut ds = vec![0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'C', b'T'];
        let start = ds.len() as u64;
        ds.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
        ds.extend_from_slice(&1000u32.to_le_bytes());
        let total = ds.len() as u64 + 1000;
        ds.extend_from_slice(&[0u8; 10]); // the prefix holds only the first pixel bytes
        let (obj, at) = read_header_in_prefix(&ds, total, EXPLICIT_LE)
            .expect("checked")
            .expect("built");
        assert_eq!(at, start);
        assert_eq!(obj.tags().collect::<Vec<_>>(), [Tag(0x0008, 0x0060)]);
        // pixels that end before the data set does: something follows them, read it all
        assert!(read_header_in_prefix(&ds, total + 2, EXPLICIT_LE)
            .expect("checked")
            .is_none());
        // a length longer than the whole data set is refused before anything is allocated
        let mut bad = vec![0x08, 0x00, 0x16, 0x00, b'U', b'N', 0, 0];
        bad.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        assert_eq!(
            read_header_in_prefix(&bad, 4096, EXPLICIT_LE).err(),
            Some(SkipReason::Truncated)
        );
    }

    #[test]
    fn accepts_a_sane_file_and_reports_its_syntax() {
        let mut ds = vec![0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0];
        ds.extend_from_slice(b"CT");
        let file = meta_then(&ds);
        let r = check_part10(&file[..], file.len() as u64, true, true).expect("sane");
        assert_eq!(r.ts_uid.as_deref(), Some("1.2.840.10008.1.2.1"));
        assert_eq!(r.dataset_offset, 132 + 8 + 20);
    }

    #[test]
    fn refuses_a_meta_element_longer_than_the_file() {
        let mut v = vec![0u8; 128];
        v.extend_from_slice(b"DICM");
        v.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I', 0xFF, 0xFF]);
        let r = check_part10(&v[..], 10, true, true);
        assert_eq!(r.err(), Some(SkipReason::Truncated));
    }
}
