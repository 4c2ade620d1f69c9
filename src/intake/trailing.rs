//! Bytes after the end of a data set: where a data set ends when what follows its last
//! element cannot be an element of it (padding, garbage), so that the file is read without
//! those bytes. A data set cut short inside an element is not trimmed: it stays truncated.
//!
//! The walk uses dicom-rs's token reader (as the length guard does). A top-level element
//! whose tag does not ascend, or whose group a data set cannot hold (0000-0003, 0005-0007,
//! FFFD-FFFF), is not part of the data set: the data set ends where it starts. A new element header that cannot be read ends it
//! too. A plausible element that runs past the end of the file, or a file that ends inside a
//! sequence or inside an element's value, is truncation.

use super::guard::Counting;
use dicom_core::Tag;
use dicom_encoding::decode::basic::BasicDecoder;
use dicom_encoding::decode::BasicDecode;
use dicom_encoding::TransferSyntaxIndex;
use dicom_parser::dataset::read::{DataSetReaderOptions, ValueReadStrategy};
use dicom_parser::dataset::{DataSetReader, DataToken};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// Whether a top-level tag can follow `last` in a data set: it ascends, and its group is
/// not one a data set cannot hold (command, file meta, the odd groups PS3.5 forbids for
/// private data, item delimiters).
fn plausible(tag: Tag, last: Option<Tag>) -> bool {
    !matches!(
        tag.group(),
        0x0000..=0x0003 | 0x0005..=0x0007 | 0xFFFD..=0xFFFF
    ) && last.is_none_or(|l| tag > l)
}

/// Where the data set `ds` (the bytes after the file meta, not deflated) ends when bytes
/// that are not an element follow its last element: `Some(end)` with `end < ds.len()`.
/// `None`: the data set runs to the end, or it is cut short inside an element (truncated),
/// or the syntax is not one this walk reads.
pub fn dataset_end(ds: &[u8], ts_uid: &str) -> Option<usize> {
    let ts = TransferSyntaxRegistry.get(ts_uid.trim_end_matches(['\0', ' ']))?;
    if super::bounded::is_deflated(ts_uid) || !ts.can_decode_dataset() {
        return None;
    }
    let pos = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let src = Counting {
        rest: ds,
        pos: pos.clone(),
    };
    let opts = DataSetReaderOptions::default().value_read(ValueReadStrategy::Preserved);
    let mut tokens = DataSetReader::new_with_ts_options(src, ts, opts).ok()?;
    let size = ds.len() as u64;
    let mut depth = 0usize;
    let mut last: Option<Tag> = None;
    // a top-level element's value is still to come
    let mut in_value = false;
    loop {
        let before = pos.get();
        let tok = match tokens.next() {
            Some(Ok(t)) => t,
            // the reader stops (or fails) where a new top-level element would start: the
            // end of the data set, unless nothing follows or its tag is one that could
            // follow (a cut header)
            None | Some(Err(_)) if depth == 0 && !in_value && last.is_some() => {
                let rest = ds.get(before..).unwrap_or_default();
                let tag = BasicDecoder::new(ts.endianness()).decode_tag(rest).ok();
                if rest.is_empty() || tag.is_some_and(|t| plausible(t, last)) {
                    return None;
                }
                return Some(before);
            }
            None | Some(Err(_)) => return None,
        };
        match tok {
            DataToken::ElementHeader(h) if depth == 0 => {
                if !plausible(h.tag, last) {
                    return last.is_some().then_some(before);
                }
                last = Some(h.tag);
                match h.len.get() {
                    Some(len) if u64::from(len) > size.saturating_sub(pos.get() as u64) => {
                        return None
                    }
                    Some(0) => in_value = false,
                    // the pixel sequence start follows an undefined-length Pixel Data header
                    _ => in_value = true,
                }
            }
            DataToken::SequenceStart { tag, .. } if depth == 0 => {
                if !plausible(tag, last) {
                    return last.is_some().then_some(before);
                }
                last = Some(tag);
                in_value = false;
                depth += 1;
            }
            DataToken::SequenceStart { .. } => {
                depth += 1;
                if depth > super::bounded::MAX_DEPTH {
                    return None;
                }
            }
            DataToken::PixelSequenceStart => {
                in_value = false;
                depth += 1;
            }
            DataToken::SequenceEnd => depth = depth.saturating_sub(1),
            DataToken::PrimitiveValue(_) if depth == 0 => in_value = false,
            // nested: a length past the end is truncation (and is never read)
            DataToken::ElementHeader(h) if h.len.get().is_some_and(|l| u64::from(l) > size) => {
                return None
            }
            DataToken::ItemStart { len } if len.get().is_some_and(|l| u64::from(l) > size) => {
                return None
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

    /// The data set of a repository seed (after its file meta).
    fn seed() -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus/deid_bytes/ct-utf8.dcm");
        let bytes = std::fs::read(p).expect("seed");
        let (meta, _) =
            super::super::guard::scan_meta(&bytes[..], bytes.len() as u64, true).expect("meta");
        bytes[meta.dataset_offset as usize..].to_vec()
    }

    #[test]
    fn the_end_is_found_before_padding_and_garbage() {
        let ds = seed();
        assert_eq!(dataset_end(&ds, EXPLICIT_LE), None, "nothing follows");
        for tail in [
            &[0u8; 3][..],
            &[0u8; 40],
            b"\x01\x00\x02\x00garbage garbage",
            // a header of a group a data set cannot hold, claiming 4 GB
            &[
                0xFF, 0xFF, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ],
            // an element that does not ascend
            &[
                0x08, 0x00, 0x20, 0x00, b'D', b'A', 8, 0, b'2', b'0', b'2', b'4',
            ],
        ] {
            let d = [ds.as_slice(), tail].concat();
            assert_eq!(dataset_end(&d, EXPLICIT_LE), Some(ds.len()), "{tail:?}");
        }
    }

    #[test]
    fn a_cut_inside_an_element_is_not_trailing() {
        let ds = seed();
        for cut in [ds.len() - 1, ds.len() - 100, ds.len() / 2, 10, 3] {
            assert_eq!(dataset_end(&ds[..cut], EXPLICIT_LE), None, "cut at {cut}");
        }
        // an ascending element running past the end
        let mut d = ds.clone();
        d.extend_from_slice(&[0xFC, 0xFF, 0xFC, 0xFF, b'O', b'B', 0, 0, 0, 1, 0, 0, 1, 2]);
        assert_eq!(dataset_end(&d, EXPLICIT_LE), None);
        // deflated and unknown syntaxes are not walked
        assert_eq!(dataset_end(&ds, "1.2.840.10008.1.2.1.99"), None);
        assert_eq!(dataset_end(&ds, "1.2.3.4"), None);
    }
}
