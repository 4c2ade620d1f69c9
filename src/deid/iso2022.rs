//! Text in ISO 2022 code extensions (Specific Character Set with several terms, e.g.
//! `\ISO 2022 IR 87`): decoded to Unicode before de-identification, so rules and hashes see the
//! names as written and kept text is written correctly (as UTF-8, declared ISO_IR 192).
//!
//! The DICOM reader decodes with the first term only, so such values arrive with each byte as
//! one Latin-1 character; this module takes those bytes back and decodes them segment by segment
//! at the escape sequences (PS3.5 6.1.2.5), the designations reset at the start of each value
//! and of each person-name component group.

use dicom_core::header::Header as _;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::InMemDicomObject;

const CHARSET: Tag = Tag(0x0008, 0x0005);
const ESC: u8 = 0x1B;

/// A set designated into G0 (7-bit bytes) or G1 (bytes with the high bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    Ascii,
    /// JIS X 0201 Romaji (ISO 2022 IR 13, G0): ASCII but for two symbols, read as ASCII.
    Romaji,
    /// JIS X 0201 Katakana (ISO 2022 IR 13, G1).
    Katakana,
    /// JIS X 0208 (ISO 2022 IR 87, G0, two bytes).
    Jis0208,
    /// A single-byte G1 set or a two-byte G1 set decoded by this DICOM term's codec.
    G1(&'static str),
}

/// The sets the escape sequence at the start of `b` designates: (G0 or G1, the set, its length).
fn escape(b: &[u8]) -> Option<(bool, Set, usize)> {
    let g1 = |term| Some((false, Set::G1(term), 3));
    match b {
        [ESC, b'(', b'B', ..] => Some((true, Set::Ascii, 3)),
        [ESC, b'(', b'J', ..] => Some((true, Set::Romaji, 3)),
        [ESC, b')', b'I', ..] => Some((false, Set::Katakana, 3)),
        [ESC, b'$', b'B', ..] => Some((true, Set::Jis0208, 3)),
        [ESC, b'$', b')', b'C', ..] => Some((false, Set::G1("ISO_IR 149"), 4)),
        [ESC, b'$', b')', b'A', ..] => Some((false, Set::G1("GB2312"), 4)),
        [ESC, b'-', b'A', ..] => g1("ISO_IR 100"),
        [ESC, b'-', b'B', ..] => g1("ISO_IR 101"),
        [ESC, b'-', b'C', ..] => g1("ISO_IR 109"),
        [ESC, b'-', b'D', ..] => g1("ISO_IR 110"),
        [ESC, b'-', b'L', ..] => g1("ISO_IR 144"),
        [ESC, b'-', b'G', ..] => g1("ISO_IR 127"),
        [ESC, b'-', b'F', ..] => g1("ISO_IR 126"),
        [ESC, b'-', b'H', ..] => g1("ISO_IR 138"),
        [ESC, b'-', b'T', ..] => g1("ISO_IR 166"),
        _ => None,
    }
}

/// The initial G0 and G1 sets of a Specific Character Set's first term.
fn initial(first: &str) -> Option<(Set, Option<Set>)> {
    Some(match first {
        "" | "ISO 2022 IR 6" => (Set::Ascii, None),
        "ISO 2022 IR 13" => (Set::Romaji, Some(Set::Katakana)),
        "ISO 2022 IR 100" => (Set::Ascii, Some(Set::G1("ISO_IR 100"))),
        "ISO 2022 IR 101" => (Set::Ascii, Some(Set::G1("ISO_IR 101"))),
        "ISO 2022 IR 109" => (Set::Ascii, Some(Set::G1("ISO_IR 109"))),
        "ISO 2022 IR 110" => (Set::Ascii, Some(Set::G1("ISO_IR 110"))),
        "ISO 2022 IR 126" => (Set::Ascii, Some(Set::G1("ISO_IR 126"))),
        "ISO 2022 IR 127" => (Set::Ascii, Some(Set::G1("ISO_IR 127"))),
        "ISO 2022 IR 138" => (Set::Ascii, Some(Set::G1("ISO_IR 138"))),
        "ISO 2022 IR 144" => (Set::Ascii, Some(Set::G1("ISO_IR 144"))),
        "ISO 2022 IR 148" => (Set::Ascii, Some(Set::G1("ISO_IR 148"))),
        "ISO 2022 IR 166" => (Set::Ascii, Some(Set::G1("ISO_IR 166"))),
        "ISO 2022 IR 149" => (Set::Ascii, Some(Set::G1("ISO_IR 149"))),
        "ISO 2022 IR 58" => (Set::Ascii, Some(Set::G1("GB2312"))),
        _ => return None,
    })
}

fn codec(term: &str) -> Option<SpecificCharacterSet> {
    SpecificCharacterSet::from_code(term)
}

/// Decodes one run of bytes in one set.
fn decode_run(set: Set, bytes: &[u8], out: &mut String) -> Result<(), String> {
    if bytes.is_empty() {
        return Ok(());
    }
    let bad = |what: &str| format!("text in {what} cannot be decoded");
    match set {
        Set::Ascii | Set::Romaji => out.extend(bytes.iter().map(|b| char::from(*b & 0x7F))),
        Set::Katakana => {
            // half-width katakana are the same bytes in Shift_JIS (IR 13's DICOM codec)
            let s = codec("ISO_IR 13")
                .and_then(|c| c.decode(bytes).ok())
                .ok_or_else(|| bad("JIS X 0201"))?;
            out.push_str(&s);
        }
        Set::Jis0208 => {
            let mut wrapped = vec![ESC, b'$', b'B'];
            wrapped.extend_from_slice(bytes);
            wrapped.extend_from_slice(&[ESC, b'(', b'B']);
            let s = codec("ISO_IR 87")
                .and_then(|c| c.decode(&wrapped).ok())
                .ok_or_else(|| bad("JIS X 0208"))?;
            out.push_str(&s);
        }
        Set::G1(term) => {
            let s = codec(term)
                .and_then(|c| c.decode(bytes).ok())
                .ok_or_else(|| bad(term))?;
            out.push_str(&s);
        }
    }
    Ok(())
}

/// Decodes one value's bytes; `delimiters` reset the designations (PN: `^` and `=`).
fn decode_value(
    bytes: &[u8],
    start: (Set, Option<Set>),
    delimiters: &[u8],
) -> Result<String, String> {
    let (mut g0, mut g1) = start;
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    let mut run_start = 0;
    let mut run_set: Option<Set> = None;
    let flush =
        |out: &mut String, set: Option<Set>, from: usize, to: usize| -> Result<(), String> {
            match (set, bytes.get(from..to)) {
                (Some(s), Some(b)) => decode_run(s, b, out),
                _ => Ok(()),
            }
        };
    while let Some(&b) = bytes.get(i) {
        if b == ESC {
            flush(&mut out, run_set, run_start, i)?;
            let rest = bytes.get(i..).unwrap_or_default();
            let (is_g0, set, len) =
                escape(rest).ok_or_else(|| "an unknown escape sequence".to_string())?;
            if is_g0 {
                g0 = set;
            } else {
                g1 = Some(set);
            }
            i += len;
            run_start = i;
            run_set = None;
            continue;
        }
        // delimiters count in a one-byte G0 set only (in JIS X 0208 they are halves of characters)
        let delimiter = matches!(g0, Set::Ascii | Set::Romaji)
            && (delimiters.contains(&b) || matches!(b, b'\r' | b'\n' | b'\t' | 0x0C));
        let set = if delimiter {
            Set::Ascii
        } else if b >= 0x80 {
            g1.ok_or_else(|| "a byte above 0x7F with no G1 set designated".to_string())?
        } else {
            g0
        };
        if run_set != Some(set) {
            flush(&mut out, run_set, run_start, i)?;
            run_start = i;
            run_set = Some(set);
        }
        i += 1;
        if delimiter {
            flush(&mut out, run_set, run_start, i)?;
            run_start = i;
            run_set = None;
            (g0, g1) = start;
        }
    }
    flush(&mut out, run_set, run_start, bytes.len())?;
    Ok(out)
}

fn terms(ds: &InMemDicomObject) -> Vec<String> {
    ds.get(CHARSET)
        .and_then(|e| e.value().to_str().ok().map(|s| s.into_owned()))
        .map(|s| {
            s.split('\\')
                .map(|t| t.trim_matches(['\0', ' ']).to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `ds` declares ISO 2022 code extensions (which the reader does not decode).
pub fn uses_code_extensions(ds: &InMemDicomObject) -> bool {
    let t = terms(ds);
    t.len() > 1 && t.iter().any(|t| t.starts_with("ISO 2022"))
}

fn decodes_with_charset(vr: VR) -> bool {
    matches!(
        vr,
        VR::SH | VR::LO | VR::ST | VR::LT | VR::UC | VR::UT | VR::PN
    )
}

/// How the reader decoded the values: with the first term's codec (the default repertoire,
/// byte for byte, when it did not know the term).
fn reader_codec(first: &str) -> SpecificCharacterSet {
    SpecificCharacterSet::from_code(first).unwrap_or_default()
}

struct Decoder {
    start: (Set, Option<Set>),
    reader: SpecificCharacterSet,
}

impl Decoder {
    /// Decodes the values of one element (joined by `\` as they were stored).
    fn values(&self, vr: VR, joined: &str) -> Result<Vec<String>, String> {
        let bytes = self
            .reader
            .encode(joined)
            .map_err(|_| "a value cannot be taken back to its bytes".to_string())?;
        let single = matches!(vr, VR::ST | VR::LT | VR::UT);
        let delimiters: &[u8] = match vr {
            VR::PN => b"^=\\",
            _ if single => b"",
            _ => b"\\",
        };
        let text = decode_value(&bytes, self.start, delimiters)?;
        Ok(if single {
            vec![text]
        } else {
            text.split('\\').map(str::to_string).collect()
        })
    }
}

fn walk(ds: &mut InMemDicomObject, dec: &Decoder) -> Result<(), (Tag, String)> {
    let tags: Vec<Tag> = ds.iter().map(|e| e.tag()).collect();
    for tag in tags {
        let Some(elem) = ds.take(tag) else { continue };
        let vr = elem.vr();
        let value = match elem.into_value() {
            Value::Sequence(mut seq) => {
                for item in seq.items_mut() {
                    walk(item, dec)?;
                }
                Value::Sequence(seq)
            }
            Value::Primitive(p @ (PrimitiveValue::Strs(_) | PrimitiveValue::Str(_)))
                if decodes_with_charset(vr) =>
            {
                let values = dec.values(vr, &p.to_str()).map_err(|m| (tag, m))?;
                Value::Primitive(PrimitiveValue::Strs(values.into_iter().collect()))
            }
            other => other,
        };
        ds.put(DataElement::new(tag, vr, value));
    }
    Ok(())
}

/// Decodes every text value of `ds` (at any depth) from its ISO 2022 code extensions and
/// declares the result ISO_IR 192. `Ok(false)`: no code extensions, nothing changed. `Err`: the
/// tag whose value cannot be decoded (an unknown escape, a set Deposit does not decode) and why.
pub fn decode(ds: &mut InMemDicomObject) -> Result<bool, (Tag, String)> {
    if !uses_code_extensions(ds) {
        return Ok(false);
    }
    let t = terms(ds);
    let first = t.first().map(String::as_str).unwrap_or("");
    let start = initial(first).ok_or_else(|| {
        (
            CHARSET,
            "the first character set term is not an ISO 2022 set Deposit decodes".to_string(),
        )
    })?;
    walk(
        ds,
        &Decoder {
            start,
            reader: reader_codec(first),
        },
    )?;
    ds.put(DataElement::new(
        CHARSET,
        VR::CS,
        PrimitiveValue::from("ISO_IR 192"),
    ));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latin1(b: &[u8]) -> String {
        b.iter().map(|c| char::from(*c)).collect()
    }

    #[test]
    fn japanese_person_name_decodes_per_group() {
        // "Yamada^Tarou=山田^太郎=やまだ^たろう" as PS3.5 H.3.1 encodes it
        let mut raw = b"Yamada^Tarou=".to_vec();
        raw.extend_from_slice(b"\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=");
        raw.extend_from_slice(b"\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B");
        let mut ds = InMemDicomObject::from_element_iter([
            DataElement::new(CHARSET, VR::CS, PrimitiveValue::from("\\ISO 2022 IR 87")),
            DataElement::new(
                Tag(0x0010, 0x0010),
                VR::PN,
                PrimitiveValue::from(latin1(&raw)),
            ),
            DataElement::new(Tag(0x0010, 0x0020), VR::LO, PrimitiveValue::from("ID1")),
        ]);
        assert_eq!(decode(&mut ds), Ok(true));
        let name = ds
            .get(Tag(0x0010, 0x0010))
            .expect("name")
            .to_str()
            .expect("s");
        assert_eq!(name, "Yamada^Tarou=山田^太郎=やまだ^たろう");
        let cs = ds.get(CHARSET).expect("cs").to_str().expect("s");
        assert_eq!(cs, "ISO_IR 192");
        assert_eq!(
            ds.get(Tag(0x0010, 0x0020))
                .expect("id")
                .to_str()
                .expect("s"),
            "ID1"
        );
    }

    #[test]
    fn single_byte_extensions_and_katakana() {
        let start = initial("ISO 2022 IR 13").expect("known");
        // half-width katakana ｱ (0xB1) in G1, romaji in G0
        assert_eq!(decode_value(b"A\xb1", start, b"").as_deref(), Ok("Aｱ"));
        let start = initial("ISO 2022 IR 100").expect("known");
        assert_eq!(
            decode_value(b"M\xfcller\x1b-L\xbf", start, b"").as_deref(),
            Ok("MüllerП")
        );
    }

    #[test]
    fn unknown_escapes_and_single_terms_are_left_to_the_caller() {
        let mut ds = InMemDicomObject::from_element_iter([
            DataElement::new(CHARSET, VR::CS, PrimitiveValue::from("\\ISO 2022 IR 87")),
            DataElement::new(
                Tag(0x0010, 0x0010),
                VR::PN,
                PrimitiveValue::from(latin1(b"\x1b$(DAB")),
            ),
        ]);
        let err = decode(&mut ds).expect_err("IR 159 is not decoded");
        assert_eq!(err.0, Tag(0x0010, 0x0010));
        let mut plain = InMemDicomObject::from_element_iter([DataElement::new(
            CHARSET,
            VR::CS,
            PrimitiveValue::from("ISO_IR 100"),
        )]);
        assert_eq!(decode(&mut plain), Ok(false));
        assert!(decode_value(b"\xe9", initial("").expect("ascii"), b"").is_err());
    }
}
