//! UN everywhere: elements stored with VR UN are decoded through the data dictionary right after the guarded read.
//!
//! Software that did not know an attribute writes it as UN (Unknown) in an explicit VR file:
//! its value is then the attribute's implicit VR little endian encoding, opaque to a reader.
//! Left so, a Referenced Image Sequence keeps the source UIDs and a name inside a sequence is
//! never seen by the de-identification rules. Every object opened for de-identification (or
//! for preview, masks and inspection) goes through [`decode`], so every mode — profile or CTP
//! script, files or received C-STOREs — sees the real attributes:
//!
//! - a **public** UN element whose tag the standard dictionary knows is read again, as the
//!   implicit VR little endian element it is, by dicom-rs's reader: it gets its dictionary VR;
//!   a sequence is parsed item by item, recursively;
//! - a **private** UN element whose value is a sequence of items is read as an implicit VR
//!   sequence (its content then follows the private rule, or is walked when an option keeps
//!   it); a private creator is read as the LO it always is; any other private UN value stays
//!   as it is;
//! - Specific Character Set (0008,0005) stored as UN is decoded first and used for the text
//!   of everything decoded, and for the text the reader had already read under the default
//!   repertoire (read as ISO 8859-1, so it is recovered without loss);
//! - a value too long for its real VR's 16-bit explicit length (a 100 KB Contour Data) stays
//!   UN, or the object could not be written;
//! - nesting is capped: the value is walked by the length guard before it is read, its
//!   sequence levels counted on top of the levels above it, against
//!   [`super::bounded::MAX_DEPTH`]; the bytes parsed per object are capped by the inflation
//!   budget's absolute cap. A value that does not parse, or exceeds a bound, stays UN — the
//!   de-identification rules then remove it (fail closed), never keep it verbatim.
//!
//! An undefined-length UN element is already read by dicom-rs as a sequence, but in the
//! file's own transfer syntax; in an explicit VR file its implicit VR items do not read, and
//! the file is held as unreadable rather than passed on.

use std::io::Read;

use dicom_core::dictionary::DataDictionary;
use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::mem::InMemElement;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::bounded;
use super::guard;

const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
const SPECIFIC_CHARACTER_SET: Tag = Tag(0x0008, 0x0005);
/// Item and sequence delimitation items (implicit VR little endian).
const SEQUENCE_END: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];

/// What [`decode`] did to one object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// UN elements given their real VR (sequences counted once, their content too).
    pub decoded: usize,
    /// UN elements left as UN (unknown tag, private non-sequence value, or not decodable).
    pub left: usize,
}

/// Decoding state of one object.
struct Decoder {
    charset: SpecificCharacterSet,
    /// Bytes the reader may still be given for this object.
    budget: u64,
    summary: Summary,
}

/// Decodes every UN element of `ds` that can be decoded (see the module's documentation).
/// Any input gives an object, never a panic; what cannot be decoded stays UN.
pub fn decode(ds: &mut InMemDicomObject) -> Summary {
    decode_within(ds, bounded::limits().cap)
}

/// [`decode`] with at most `budget` bytes handed to the reader.
fn decode_within(ds: &mut InMemDicomObject, budget: u64) -> Summary {
    if !has_un(ds, 0) {
        return Summary::default(); // the common case: nothing is touched
    }
    let mut d = Decoder {
        charset: SpecificCharacterSet::default(),
        budget,
        summary: Summary::default(),
    };
    if ds
        .get(SPECIFIC_CHARACTER_SET)
        .is_some_and(|e| e.vr() == VR::UN)
    {
        if let Some(e) = ds.take(SPECIFIC_CHARACTER_SET) {
            let e = d.element(e, 0);
            ds.put(e);
        }
        let cs = charset_of(ds);
        if cs != SpecificCharacterSet::default() {
            // the reader read every text value under the default repertoire (ISO 8859-1):
            // read them again under the one the object declares
            redecode_text(ds, &cs, 0);
        }
    }
    d.charset = charset_of(ds);
    d.dataset(ds, 0);
    d.summary
}

/// Whether any element of `ds`, at any depth, is UN.
fn has_un(ds: &InMemDicomObject, depth: usize) -> bool {
    depth <= bounded::MAX_DEPTH
        && ds.iter().any(|e| match e.value() {
            Value::Sequence(s) => s.items().iter().any(|i| has_un(i, depth + 1)),
            _ => e.vr() == VR::UN,
        })
}

/// The object's declared character set (its first value; the default when absent or not
/// supported).
fn charset_of(ds: &InMemDicomObject) -> SpecificCharacterSet {
    ds.get(SPECIFIC_CHARACTER_SET)
        .filter(|e| e.vr() == VR::CS)
        .and_then(|e| e.value().to_str().ok().map(|s| s.into_owned()))
        .and_then(|s| {
            let first = s.split('\\').next().unwrap_or_default().trim().to_string();
            SpecificCharacterSet::from_code(&first)
        })
        .unwrap_or_default()
}

/// Text VRs the reader decodes with the declared character set.
fn uses_charset(vr: VR) -> bool {
    matches!(
        vr,
        VR::PN | VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC
    )
}

/// Reads again, under `cs`, every text value read under the default repertoire.
fn redecode_text(ds: &mut InMemDicomObject, cs: &SpecificCharacterSet, depth: usize) {
    if depth > bounded::MAX_DEPTH {
        return;
    }
    let tags: Vec<Tag> = ds.tags().collect();
    for tag in tags {
        let Some(e) = ds.take(tag) else { continue };
        let vr = e.vr();
        let e = match e.into_value() {
            Value::Sequence(mut seq) => {
                for item in seq.items_mut() {
                    redecode_text(item, cs, depth + 1);
                }
                DataElement::new(tag, vr, Value::Sequence(seq))
            }
            Value::Primitive(p) if uses_charset(vr) => {
                let s = p.to_str();
                let parts: Vec<String> = s.split('\\').map(|v| reread(v, cs)).collect();
                DataElement::new(tag, vr, PrimitiveValue::from(parts.join("\\")))
            }
            v => DataElement::new(tag, vr, v),
        };
        ds.put(e);
    }
}

/// `s` as read under ISO 8859-1, read again under `cs` (unchanged when it cannot be).
fn reread(s: &str, cs: &SpecificCharacterSet) -> String {
    let bytes: Option<Vec<u8>> = s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
    bytes
        .and_then(|b| cs.decode(&b).ok())
        .unwrap_or_else(|| s.to_string())
}

/// Whether `e` has a VR whose explicit VR length field is 16 bits and a value too long for
/// it (a 100 KB Contour Data is why its writer chose UN): such a value stays UN, or the
/// object could not be written.
fn too_long(e: &InMemElement) -> bool {
    let short = matches!(
        e.vr(),
        VR::AE
            | VR::AS
            | VR::AT
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::FL
            | VR::FD
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::SL
            | VR::SS
            | VR::ST
            | VR::TM
            | VR::UI
            | VR::UL
            | VR::US
    );
    short
        && match e.value() {
            Value::Primitive(p) => p.calculate_byte_len() > 0xFFFE,
            _ => false,
        }
}

/// The implicit VR little endian header of `tag` with `len`.
fn implicit_header(tag: Tag, len: u32) -> [u8; 8] {
    let mut h = [0u8; 8];
    h[..2].copy_from_slice(&tag.group().to_le_bytes());
    h[2..4].copy_from_slice(&tag.element().to_le_bytes());
    h[4..].copy_from_slice(&len.to_le_bytes());
    h
}

impl Decoder {
    fn dataset(&mut self, ds: &mut InMemDicomObject, depth: usize) {
        if depth > bounded::MAX_DEPTH {
            return;
        }
        let tags: Vec<Tag> = ds.tags().collect();
        for tag in tags {
            let Some(e) = ds.take(tag) else { continue };
            let e = self.element(e, depth);
            ds.put(e);
        }
    }

    /// One element `depth` sequence levels deep: decoded if it is UN and can be; its items
    /// walked if it is (or became) a sequence.
    fn element(&mut self, e: InMemElement, depth: usize) -> InMemElement {
        let e = if e.vr() == VR::UN {
            match self.read_un(&e, depth).filter(|d| !too_long(d)) {
                Some(decoded) => {
                    self.summary.decoded += 1;
                    decoded
                }
                None => {
                    self.summary.left += 1;
                    e
                }
            }
        } else if too_long(&e) {
            // read inside a decoded sequence: written back as the UN it came as
            self.summary.left += 1;
            let bytes = e
                .value()
                .to_bytes()
                .map(|b| b.into_owned())
                .unwrap_or_default();
            DataElement::new(e.tag(), VR::UN, PrimitiveValue::U8(bytes.into()))
        } else {
            e
        };
        let tag = e.tag();
        let vr = e.vr();
        match e.into_value() {
            Value::Sequence(seq) => {
                let mut items = seq.into_items();
                for item in items.iter_mut() {
                    self.dataset(item, depth + 1);
                }
                // every item was rewritten (its length is undefined now): so is the sequence's
                let len = Length::UNDEFINED;
                DataElement::new(tag, vr, Value::Sequence(DataSetSequence::new(items, len)))
            }
            v => DataElement::new(tag, vr, v),
        }
    }

    /// A UN element read again as the implicit VR little endian element it is; `None` when it
    /// stays UN.
    fn read_un(&mut self, e: &InMemElement, depth: usize) -> Option<InMemElement> {
        let tag = e.tag();
        let Value::Primitive(p) = e.value() else {
            return None;
        };
        let bytes = p.to_bytes();
        let len = u32::try_from(bytes.len()).ok()?;
        let private = tag.group() % 2 == 1;
        if private && (0x0010..=0x00FF).contains(&tag.element()) {
            // a private creator is LO by definition
            let s = self.charset.decode(&bytes).ok()?;
            return Some(DataElement::new(tag, VR::LO, PrimitiveValue::from(s)));
        }
        if private {
            // only a sequence of items is read: anything else stays as it is
            if bytes.is_empty() {
                return None;
            }
        } else {
            let entry = StandardDataDictionary.by_tag(tag)?;
            if entry.vr.relaxed() == VR::UN {
                return None;
            }
        }
        // Public: the element as it is, with its length (the reader takes the dictionary's
        // VR). Private: an undefined-length element closed by a sequence delimiter, which the
        // reader takes as a sequence of implicit VR items.
        let (header, tail): ([u8; 8], &[u8]) = if private {
            (implicit_header(tag, u32::MAX), &SEQUENCE_END)
        } else {
            (implicit_header(tag, len), &[])
        };
        let size = 8 + u64::from(len) + tail.len() as u64;
        if size > self.budget {
            return None;
        }
        self.budget -= size;
        let source = || (&header[..]).chain(&bytes[..]).chain(tail);
        guard::check_nested(source(), IMPLICIT_VR_LE, size, depth).ok()?;
        let ts = TransferSyntaxRegistry.get(IMPLICIT_VR_LE)?;
        let mut obj =
            InMemDicomObject::read_dataset_with_ts_cs(source(), ts, self.charset.clone()).ok()?;
        let decoded = obj.take(tag)?;
        if obj.iter().next().is_some() || decoded.vr() == VR::UN {
            return None; // more than the one element, or still unknown
        }
        if private && !matches!(decoded.value(), Value::Sequence(_)) {
            return None;
        }
        let vr = decoded.vr();
        Some(match decoded.into_value() {
            // (its implicit VR lengths are not the output's: undefined, items walked after)
            Value::Sequence(s) => DataElement::new(
                tag,
                VR::SQ,
                Value::Sequence(DataSetSequence::new(s.into_items(), Length::UNDEFINED)),
            ),
            v => DataElement::new(tag, vr, v),
        })
    }
}

#[cfg(test)]
mod tests;
