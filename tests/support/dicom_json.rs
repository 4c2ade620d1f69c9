//! A DICOM Part-10 object as the DICOM JSON model of the real-CTP golden outputs
//! (tests/data/ctp/real/README.md): VRs as stored, text decoded and split, numbers as JSON
//! numbers, small binary values inline, bulk values as SHA-256 of their raw bytes.

use base64::Engine as _;
use dicom_core::dictionary::DataDictionary;
use dicom_core::header::Header;
use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use serde_json::{json, Map, Value as J};
use sha2::{Digest, Sha256};

const BULK_LIMIT: usize = 1024;
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

fn text_vr(vr: VR) -> bool {
    use VR::*;
    matches!(
        vr,
        AE | AS | CS | DA | DS | DT | IS | LO | LT | PN | SH | ST | TM | UC | UI | UR | UT
    )
}

fn always_bulk(t: Tag) -> bool {
    matches!(
        (t.group(), t.element()),
        (0x7FE0, 0x0010) | (0x7FE0, 0x0008) | (0x7FE0, 0x0009)
    ) || (t.group() & 0xFF00 == 0x6000 && t.group() % 2 == 0 && t.element() == 0x3000)
}

/// The raw bytes of a primitive value as a file of this byte order stores it.
fn raw_bytes(v: &PrimitiveValue, big: bool) -> Vec<u8> {
    macro_rules! each {
        ($vals:expr) => {
            $vals
                .iter()
                .flat_map(|x| {
                    if big {
                        x.to_be_bytes().to_vec()
                    } else {
                        x.to_le_bytes().to_vec()
                    }
                })
                .collect()
        };
    }
    match v {
        PrimitiveValue::Empty => Vec::new(),
        PrimitiveValue::U8(b) => b.to_vec(),
        PrimitiveValue::U16(x) => each!(x),
        PrimitiveValue::I16(x) => each!(x),
        PrimitiveValue::U32(x) => each!(x),
        PrimitiveValue::I32(x) => each!(x),
        PrimitiveValue::U64(x) => each!(x),
        PrimitiveValue::I64(x) => each!(x),
        PrimitiveValue::F32(x) => each!(x),
        PrimitiveValue::F64(x) => each!(x),
        PrimitiveValue::Tags(ts) => ts
            .iter()
            .flat_map(|t| {
                let (g, e) = (t.group(), t.element());
                if big {
                    [g.to_be_bytes(), e.to_be_bytes()].concat()
                } else {
                    [g.to_le_bytes(), e.to_le_bytes()].concat()
                }
            })
            .collect(),
        other => other.to_bytes().to_vec(),
    }
}

fn bulk(vr: VR, raw: &[u8]) -> J {
    json!({"vr": vr.to_string(), "BulkSHA256": hex::encode(Sha256::digest(raw)), "Length": raw.len()})
}

/// Encapsulated Pixel Data as stored: every item with its header, no sequence delimiter.
fn fragments_raw(p: &PixelFragmentSequence<Vec<u8>>) -> Vec<u8> {
    fn item(out: &mut Vec<u8>, body: &[u8]) {
        out.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
    }
    let mut out = Vec::new();
    let table: Vec<u8> = p
        .offset_table()
        .iter()
        .flat_map(|o| o.to_le_bytes())
        .collect();
    item(&mut out, &table);
    for f in p.fragments() {
        item(&mut out, f);
    }
    out
}

fn number(vr: VR, s: &str) -> J {
    let s = s.trim();
    if s.is_empty() {
        return J::Null;
    }
    match vr {
        VR::IS => s
            .parse::<i64>()
            .map(J::from)
            .or_else(|_| s.parse::<f64>().map(|f| J::from(f as i64)))
            .unwrap_or(J::Null),
        _ => s
            .parse::<f64>()
            .ok()
            .and_then(|f| serde_json::Number::from_f64(f).map(J::Number))
            .unwrap_or(J::Null),
    }
}

fn person(v: &str) -> J {
    let mut m = Map::new();
    let groups: Vec<&str> = v.split('=').collect();
    for (g, key) in groups.iter().zip(["Alphabetic", "Ideographic", "Phonetic"]) {
        m.insert(key.into(), J::from(*g));
    }
    J::Object(m)
}

fn text_values(vr: VR, s: &str) -> Option<Vec<J>> {
    let s = if matches!(vr, VR::DS | VR::IS) {
        s.trim_matches(['\0', ' '])
    } else {
        s.trim_end_matches(['\0', ' '])
    };
    if s.is_empty() {
        return None;
    }
    let single = matches!(vr, VR::LT | VR::ST | VR::UT | VR::UR);
    let parts: Vec<&str> = if single {
        vec![s]
    } else {
        s.split('\\').collect()
    };
    Some(
        parts
            .into_iter()
            .map(|p| match vr {
                VR::PN => person(p),
                VR::IS | VR::DS => number(vr, p),
                VR::AE => J::from(p.trim()),
                _ => J::from(p),
            })
            .collect(),
    )
}

/// `{"vr", "Value"}` of `text` read as an element of `vr` (`None`: not a text VR).
pub fn text_json(vr: &str, text: &str) -> Option<J> {
    let vr: VR = vr.parse().ok()?;
    if !text_vr(vr) {
        return None;
    }
    Some(match text_values(vr, text) {
        Some(values) => json!({"vr": vr.to_string(), "Value": values}),
        None => json!({"vr": vr.to_string()}),
    })
}

fn primitive(tag: Tag, vr: VR, v: &PrimitiveValue, big: bool) -> J {
    let raw = || raw_bytes(v, big);
    if always_bulk(tag) {
        return bulk(vr, &raw());
    }
    if text_vr(vr) {
        return match text_values(vr, &v.to_str()) {
            Some(values) => json!({"vr": vr.to_string(), "Value": values}),
            None => json!({"vr": vr.to_string()}),
        };
    }
    let bytes = raw();
    if bytes.len() > BULK_LIMIT {
        return bulk(vr, &bytes);
    }
    if bytes.is_empty() {
        return json!({"vr": vr.to_string()});
    }
    let values: Vec<J> = match (vr, v) {
        (VR::AT, PrimitiveValue::Tags(ts)) => ts
            .iter()
            .map(|t| J::from(format!("{:04X}{:04X}", t.group(), t.element())))
            .collect(),
        (VR::US | VR::SS | VR::UL | VR::SL | VR::UV | VR::SV, _) => match v {
            PrimitiveValue::U16(x) => x.iter().map(|n| J::from(*n)).collect(),
            PrimitiveValue::I16(x) => x.iter().map(|n| J::from(*n)).collect(),
            PrimitiveValue::U32(x) => x.iter().map(|n| J::from(*n)).collect(),
            PrimitiveValue::I32(x) => x.iter().map(|n| J::from(*n)).collect(),
            PrimitiveValue::U64(x) => x.iter().map(|n| J::from(*n)).collect(),
            PrimitiveValue::I64(x) => x.iter().map(|n| J::from(*n)).collect(),
            _ => return inline(vr, &bytes),
        },
        (VR::FL | VR::FD, _) => match v {
            PrimitiveValue::F32(x) => x.iter().map(|n| J::from(f64::from(*n))).collect(),
            PrimitiveValue::F64(x) => x.iter().map(|n| J::from(*n)).collect(),
            _ => return inline(vr, &bytes),
        },
        _ => return inline(vr, &bytes),
    };
    json!({"vr": vr.to_string(), "Value": values})
}

fn inline(vr: VR, bytes: &[u8]) -> J {
    json!({"vr": vr.to_string(), "InlineBinary": base64::engine::general_purpose::STANDARD.encode(bytes)})
}

fn dataset(ds: &InMemDicomObject, big: bool) -> J {
    let mut m = Map::new();
    for e in ds.iter() {
        let tag = e.tag();
        let key = format!("{:04X}{:04X}", tag.group(), tag.element());
        let vr = e.vr();
        let v = match e.value() {
            Value::Sequence(s) => {
                if s.items().is_empty() {
                    json!({"vr": "SQ"})
                } else {
                    let items: Vec<J> = s.items().iter().map(|i| dataset(i, big)).collect();
                    json!({"vr": "SQ", "Value": items})
                }
            }
            Value::PixelSequence(p) => bulk(vr, &fragments_raw(p)),
            Value::Primitive(p) => primitive(tag, vr, p, big),
        };
        m.insert(key, v);
    }
    J::Object(m)
}

/// `{"outcome": "written", "file_meta": …, "dataset": …}` for `obj`.
pub fn dump(obj: &DefaultDicomObject) -> J {
    let big = obj.meta().transfer_syntax().trim_end_matches('\0') == EXPLICIT_BE;
    let mut meta = Map::new();
    for e in obj.meta().to_element_iter() {
        let tag = e.tag();
        let key = format!("{:04X}{:04X}", tag.group(), tag.element());
        let v = match e.value() {
            Value::Primitive(p) => primitive(tag, e.vr(), p, false),
            _ => json!({"vr": e.vr().to_string()}),
        };
        meta.insert(key, v);
    }
    // The reader decodes with the first character set term only; text in ISO 2022 code
    // extensions is decoded as pydicom does, and the declared character set dumped as stored.
    let mut ds: InMemDicomObject = (**obj).clone();
    let declared = ds.get(Tag(0x0008, 0x0005)).cloned();
    if deposit::deid::iso2022::decode(&mut ds).unwrap_or(false) {
        if let Some(d) = declared {
            ds.put(d);
        }
    }
    json!({"outcome": "written", "file_meta": J::Object(meta), "dataset": dataset(&ds, big)})
}

/// The dictionary keyword of a `GGGGEEEE` key (for messages).
pub fn keyword(key: &str) -> String {
    let g = u16::from_str_radix(key.get(0..4).unwrap_or(""), 16).unwrap_or(0);
    let e = u16::from_str_radix(key.get(4..8).unwrap_or(""), 16).unwrap_or(0);
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(Tag(g, e))
        .map(|d| d.alias.to_string())
        .unwrap_or_default()
}
