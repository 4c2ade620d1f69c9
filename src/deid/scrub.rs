//! Cleaning of text kept by a C action (clean descriptors and similar options): every
//! identifying value found in the object's own header is cut out of the text.
//!
//! This catches a patient's name, IDs, dates, accession number or institution repeated inside
//! a description. Identity that appears nowhere else in the header cannot be caught that way,
//! so short descriptors ([`Scrubber::clean_descriptor`]) then keep only words of a shipped
//! vocabulary (profiles/descriptor-words.txt), numbers and measurements: fail closed. Free
//! text of SR content items keeps its words ([`Scrubber::clean`]): the limit is documented.

use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_object::InMemDicomObject;

/// Identifying values of one object, ready to be cut out of free text.
#[derive(Debug, Default, Clone)]
pub struct Scrubber {
    needles: Vec<String>,
}

/// Top-level attributes whose values are identifying wherever they are repeated.
const SOURCES: &[(u16, u16)] = &[
    (0x0010, 0x0020), // Patient ID
    (0x0010, 0x1000), // Other Patient IDs
    (0x0010, 0x1001), // Other Patient Names
    (0x0010, 0x1005), // Patient's Birth Name
    (0x0010, 0x1060), // Mother's Birth Name
    (0x0010, 0x0030), // Patient's Birth Date
    (0x0010, 0x1040), // Patient's Address
    (0x0010, 0x2154), // Telephone Numbers
    (0x0008, 0x0050), // Accession Number
    (0x0008, 0x0080), // Institution Name
    (0x0008, 0x0081), // Institution Address
    (0x0008, 0x1040), // Institutional Department Name
    (0x0008, 0x1010), // Station Name
    (0x0020, 0x0010), // Study ID
    (0x0038, 0x0010), // Admission ID
    (0x0008, 0x0020), // Study Date
    (0x0008, 0x0021), // Series Date
    (0x0008, 0x0022), // Acquisition Date
    (0x0008, 0x0023), // Content Date
];

/// The common spellings of a DICOM date (`YYYYMMDD`): ISO, European, American and EXIF
/// (`YYYY:MM:DD`). Used wherever a date is looked for in text (here, and the pipeline's
/// residual-identity gate).
pub fn date_forms(d: &str) -> Vec<String> {
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return vec![];
    }
    let (y, m, dd) = (&d[0..4], &d[4..6], &d[6..8]);
    // (joined by hand: this runs for every date of every object)
    let join = |a: &str, sep: char, b: &str, c: &str| {
        let mut s = String::with_capacity(10);
        s.push_str(a);
        s.push(sep);
        s.push_str(b);
        s.push(sep);
        s.push_str(c);
        s
    };
    vec![
        d.to_string(),
        join(y, '-', m, dd),
        join(y, '/', m, dd),
        join(y, '.', m, dd),
        join(y, ':', m, dd),
        join(dd, '/', m, y),
        join(dd, '.', m, y),
        join(dd, '-', m, y),
        join(m, '/', dd, y),
    ]
}

/// Every person name in the sequences of `ds`, at any depth (observers, operators, SR PNAME
/// items), for [`Scrubber::from_dataset`].
fn nested_names(ds: &InMemDicomObject, depth: u32, out: &mut Vec<String>) {
    for e in ds.iter() {
        if let dicom_core::value::Value::Sequence(seq) = e.value() {
            for item in seq.items() {
                for n in item.iter().filter(|n| n.vr() == VR::PN) {
                    if let Ok(s) = n.value().to_str() {
                        out.push(s.into_owned());
                    }
                }
                if depth < 16 {
                    nested_names(item, depth + 1, out);
                }
            }
        }
    }
}

fn name_parts(v: &str, out: &mut Vec<String>) {
    out.extend(
        v.split(['^', '=', ' ', ','])
            .map(str::trim)
            .filter(|t| t.chars().count() >= 3)
            .map(str::to_string),
    );
}

/// The shipped descriptor vocabulary (see the file's header).
pub const DESCRIPTOR_WORDS: &str = include_str!("../../profiles/descriptor-words.txt");

/// The shipped descriptor vocabulary, lower case.
pub fn vocabulary() -> &'static std::collections::HashSet<String> {
    static WORDS: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        DESCRIPTOR_WORDS
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .flat_map(str::split_whitespace)
            .map(str::to_ascii_lowercase)
            .collect()
    })
}

/// Units a number may carry in a descriptor (5mm, 120kV, 3D, 2.5s).
const UNITS: &[&str] = &[
    "mm", "cm", "m", "ml", "kv", "kvp", "mas", "ma", "s", "ms", "sec", "min", "h", "d", "x", "t",
    "mci", "mbq", "mg", "kg", "hz", "deg",
];

/// True when one alphanumeric piece of a descriptor word may stay.
fn piece_ok(piece: &str) -> bool {
    let lower = piece.to_ascii_lowercase();
    if vocabulary().contains(&lower) {
        return true;
    }
    let digits = lower.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        let rest = &lower[digits..];
        // A plain number, or a number with a unit.
        return rest.is_empty() || UNITS.contains(&rest);
    }
    // One letter and a number: T1, T12, L4, C7.
    let b = lower.as_bytes();
    b.len() >= 2
        && b.len() <= 3
        && b[0].is_ascii_alphabetic()
        && b[1..].iter().all(u8::is_ascii_digit)
}

impl Scrubber {
    /// [`Scrubber::clean`], then keeps only the words whose every alphanumeric piece is in the
    /// descriptor vocabulary, a number or a measurement; the rest are dropped.
    pub fn clean_descriptor(&self, text: &str) -> String {
        let cut = self.clean(text);
        let kept: Vec<&str> = cut
            .split(' ')
            .filter(|w| {
                let pieces: Vec<&str> = w
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|p| !p.is_empty())
                    .collect();
                let punct_only = pieces.is_empty();
                // Non-ASCII letters make a piece boundary above; a word with any is dropped.
                let ascii = w.is_ascii();
                !punct_only && ascii && pieces.iter().all(|p| piece_ok(p))
            })
            .collect();
        kept.join(" ")
    }

    /// Collects identifying values of `ds`: the listed top-level attributes, and every person
    /// name at any depth (with its parts).
    pub fn from_dataset(ds: &InMemDicomObject) -> Self {
        let mut values: Vec<String> = Vec::new();
        let mut nested = Vec::new();
        nested_names(ds, 0, &mut nested);
        for n in nested {
            for v in n.split('\\') {
                let v = v.trim_matches(['\0', ' ']);
                if !v.is_empty() {
                    values.push(v.to_string());
                    name_parts(v, &mut values);
                }
            }
        }
        for e in ds.iter() {
            let listed = SOURCES.contains(&(e.tag().group(), e.tag().element()));
            if !(listed || e.vr() == VR::PN) {
                continue;
            }
            let Ok(s) = e.value().to_str() else { continue };
            for v in s.split('\\') {
                let v = v.trim_matches(['\0', ' ']);
                if v.is_empty() {
                    continue;
                }
                if matches!(e.vr(), VR::DA | VR::DT) {
                    // (`get`: a damaged value may put a multi-byte character across byte 8)
                    if let Some(d) = v.get(..8) {
                        values.extend(date_forms(d));
                        continue;
                    }
                }
                values.push(v.to_string());
                if e.vr() == VR::PN || e.tag() == Tag(0x0008, 0x0080) {
                    name_parts(v, &mut values);
                }
            }
        }
        values.retain(|v| v.chars().count() >= 3 || v.bytes().all(|b| b.is_ascii_digit()));
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Scrubber {
            needles: values.into_iter().map(|v| v.to_ascii_lowercase()).collect(),
        }
    }

    /// Returns `text` with every identifying value cut out (ASCII case-insensitive).
    pub fn clean(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if n.is_empty() {
                continue;
            }
            loop {
                let lower = out.to_ascii_lowercase();
                let Some(i) = lower.find(n.as_str()) else {
                    break;
                };
                out.replace_range(i..i + n.len(), "");
            }
        }
        let collapsed: Vec<&str> = out.split(' ').filter(|w| !w.is_empty()).collect();
        collapsed.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue};

    #[test]
    fn a_date_is_spelled_nine_ways() {
        assert_eq!(
            date_forms("20240311"),
            [
                "20240311",
                "2024-03-11",
                "2024/03/11",
                "2024.03.11",
                "2024:03:11",
                "11/03/2024",
                "11.03.2024",
                "11-03-2024",
                "03/11/2024"
            ]
        );
        assert!(date_forms("2024031").is_empty());
        assert!(date_forms("2024031x").is_empty());
    }

    #[test]
    fn cuts_names_ids_and_dates_out_of_text() {
        let ds = InMemDicomObject::from_element_iter([
            DataElement::new(
                Tag(0x0010, 0x0010),
                VR::PN,
                PrimitiveValue::from("Doe^Johnathan"),
            ),
            DataElement::new(
                Tag(0x0010, 0x0020),
                VR::LO,
                PrimitiveValue::from("MRN12345"),
            ),
            DataElement::new(
                Tag(0x0008, 0x0020),
                VR::DA,
                PrimitiveValue::from("20240131"),
            ),
        ]);
        let s = Scrubber::from_dataset(&ds);
        let out = s.clean("CT head JOHNATHAN doe mrn12345 on 31/01/2024 and 2024-01-31");
        // Found by tests/fuzz_replay.rs: a damaged date with a multi-byte character at byte 8.
        let odd = InMemDicomObject::from_element_iter([DataElement::new(
            Tag(0x0010, 0x0030),
            VR::DA,
            PrimitiveValue::from("1935012\u{b5}"),
        )]);
        assert_eq!(Scrubber::from_dataset(&odd).clean("x"), "x");
        assert_eq!(out, "CT head on and");
        assert_eq!(s.clean("CHEST PA"), "CHEST PA");
        // Descriptors keep only vocabulary words, numbers and measurements.
        assert_eq!(
            s.clean_descriptor("CT HEAD w/o contrast 5mm JOHNATHAN Smith CANARY-SD-22CE T2 3D"),
            "CT HEAD w/o contrast 5mm T2 3D"
        );
        assert_eq!(
            s.clean_descriptor("Series of Müller MRN77 ab12"),
            "Series of"
        );
        assert_eq!(
            s.clean_descriptor("AX T1 FLAIR POST 2.5mm"),
            "AX T1 FLAIR POST 2.5mm"
        );
    }
}
