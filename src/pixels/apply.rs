//! Masking an object for output: find the library's rule for its header, decode, mask every
//! frame, and write the pixels back uncompressed (explicit VR little endian) — never the
//! original compressed stream, never lossily re-encoded.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::{FileDicomObject, InMemDicomObject};

use super::image::{decode, Image};
use super::library::{MaskLibrary, Rule};
use super::PixelError;

/// Explicit VR Little Endian.
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// What masking did to an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    /// The rule applied.
    pub rule: String,
    /// The transfer syntax the object must now be written in.
    pub transfer_syntax: String,
    /// Samples overwritten (all frames, all samples).
    pub samples_masked: u64,
    /// The rule's regions.
    pub regions: Vec<super::Rect>,
}

/// Reads a header value as text for signatures: top-level elements, file meta for group 0002,
/// "" when missing; multi-valued elements joined with `\`.
pub fn header_value(obj: &FileDicomObject<InMemDicomObject>, tag: Tag) -> String {
    let clean = |s: &str| s.trim_matches(['\0', ' ']).to_string();
    if tag.group() == 0x0002 {
        let m = obj.meta();
        return clean(match tag.element() {
            0x0002 => m.media_storage_sop_class_uid(),
            0x0003 => m.media_storage_sop_instance_uid(),
            0x0010 => m.transfer_syntax(),
            0x0012 => &m.implementation_class_uid,
            0x0013 => m.implementation_version_name.as_deref().unwrap_or(""),
            0x0016 => m.source_application_entity_title.as_deref().unwrap_or(""),
            _ => "",
        });
    }
    obj.get(tag)
        .and_then(|e| e.to_str().ok().map(|s| clean(&s)))
        .unwrap_or_default()
}

/// The rule of `lib` that applies to this object, if any.
pub fn find_rule<'a>(
    lib: &'a MaskLibrary,
    obj: &FileDicomObject<InMemDicomObject>,
) -> Option<&'a Rule> {
    lib.find(&|t| header_value(obj, t))
}

fn put(obj: &mut FileDicomObject<InMemDicomObject>, tag: Tag, vr: VR, v: PrimitiveValue) {
    obj.put(DataElement::new(tag, vr, v));
}

/// Writes `img` back as the object's native pixel data with matching image attributes.
fn write_back(obj: &mut FileDicomObject<InMemDicomObject>, img: Image) {
    let mut data = img.data;
    if img.bits_allocated > 8 {
        if data.len() % 2 == 1 {
            data.push(0);
        }
        let words: Vec<u16> = data
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        put(
            obj,
            Tag(0x7FE0, 0x0010),
            VR::OW,
            PrimitiveValue::U16(words.into()),
        );
    } else {
        if data.len() % 2 == 1 {
            data.push(0);
        }
        put(
            obj,
            Tag(0x7FE0, 0x0010),
            VR::OB,
            PrimitiveValue::U8(data.into()),
        );
    }
    if img.was_encapsulated {
        put(
            obj,
            Tag(0x0028, 0x0004),
            VR::CS,
            PrimitiveValue::from(img.photometric.as_str()),
        );
        if img.samples > 1 {
            put(obj, Tag(0x0028, 0x0006), VR::US, PrimitiveValue::from(0u16));
        }
        // offset tables describe the old compressed stream
        obj.remove_element(Tag(0x7FE0, 0x0001));
        obj.remove_element(Tag(0x7FE0, 0x0002));
    }
}

/// Masks `obj` by the first matching rule of `lib`. `Ok(None)`: no rule applies (nothing
/// changed). On success the pixel data is native, every region of every frame is filled and
/// BurnedInAnnotation is NO; the caller writes the object in [`Masked::transfer_syntax`].
pub fn mask_object(
    obj: &mut FileDicomObject<InMemDicomObject>,
    lib: &MaskLibrary,
) -> Result<Option<Masked>, PixelError> {
    let Some(rule) = find_rule(lib, obj) else {
        return Ok(None);
    };
    let rule_name = rule.name.clone();
    let regions = rule.regions.clone();
    if obj.get(Tag(0x7FE0, 0x0008)).is_some() || obj.get(Tag(0x7FE0, 0x0009)).is_some() {
        return Err(PixelError::Unsupported(
            "float pixel data cannot be masked".into(),
        ));
    }
    let mut img = decode(obj, None)?;
    if img.one_bit {
        return Err(PixelError::Unsupported(
            "1-bit pixel data cannot be masked".into(),
        ));
    }
    let samples_masked = img.mask(&regions);
    write_back(obj, img);
    // the pixel data is native now: the object must say so (re-checks decode it again)
    obj.update_meta(|m| m.transfer_syntax = EXPLICIT_LE.to_string());
    put(obj, Tag(0x0028, 0x0301), VR::CS, PrimitiveValue::from("NO"));
    Ok(Some(Masked {
        rule: rule_name,
        transfer_syntax: EXPLICIT_LE.into(),
        samples_masked,
        regions,
    }))
}
