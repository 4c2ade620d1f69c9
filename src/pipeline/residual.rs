//! The residual-identity gate: after de-identification, the identifying values of the source
//! object are searched for in everything the output carries, and an output that still holds
//! one is held as `residual_identity`, naming where (never what).
//!
//! The values ("needles") come from the source: names and their parts at any depth, IDs,
//! accession number, dates in common spellings, addresses, telephone numbers, institution,
//! department and station, and the source UIDs that are not DICOM's own. A value the approved
//! configuration deliberately keeps is not a needle: dates under the full-dates option, UIDs
//! under the UIDs option, device and institution names under their options, and in a CTP
//! script every element the script keeps with `@keep()`.
//!
//! The search covers the file meta and every element of the output at any depth, private and
//! UN included: text values decoded (so every character set the object uses is covered, case
//! insensitively), binary values (OB, OW, UN) as bytes in UTF-8, Latin-1, UTF-16 (both orders)
//! and the object's own character set, and the marker segments and boxes of compressed Pixel
//! Data frames. Sample arrays (pixel, overlay, waveform, LUT data, numeric VRs) are not text:
//! burned-in text is the pixel gate's work. An Encapsulated Document still present is a hit,
//! as its content cannot be proven clean here.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTable, InMemDicomObject};

use crate::deid::ctp::names::is_text_vr;
use crate::deid::{tag_text, DeidOption, Profile};

/// How deep the search walks into sequences (the reader already caps nesting lower).
const MAX_DEPTH: u32 = 128;
/// At most this many placements are named in a reason.
const NAMED: usize = 5;

/// What kind of identifying value was found (named in reasons; never the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A person's name (the patient's or another person's), whole.
    Name,
    /// A part of a person's name.
    NamePart,
    /// The patient ID, other IDs, admission or accession number.
    Identifier,
    /// A date of the patient or the study, in one of its spellings.
    Date,
    /// An address or a part of one.
    Address,
    /// A telephone number.
    Telephone,
    /// Institution, department or station name.
    Institution,
    /// A UID of the source object.
    Uid,
    /// An Encapsulated Document, whose content cannot be checked here.
    Document,
    /// A part the search could not check (nested too deep, or the search itself failed).
    Unchecked,
}

impl Kind {
    fn phrase(self) -> &'static str {
        match self {
            Kind::Name => "a person's name",
            Kind::NamePart => "part of a person's name",
            Kind::Identifier => "an identifier of the patient or study",
            Kind::Date => "a date of the patient or study",
            Kind::Address => "an address",
            Kind::Telephone => "a telephone number",
            Kind::Institution => "an institution, department or station name",
            Kind::Uid => "a UID of the source object",
            Kind::Document => "an encapsulated document",
            Kind::Unchecked => "a part that could not be checked",
        }
    }
}

/// One identifying value found in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// What it is.
    pub kind: Kind,
    /// Where: an element path such as `(0040,A730)[0].(0040,A160)`, or a byte region such
    /// as `(7FE0,0010) fragment 0: COM`.
    pub placement: String,
}

/// What the approved configuration deliberately keeps (those values are not searched for).
#[derive(Debug, Clone, Default)]
pub struct Retained {
    /// Dates kept unmodified.
    pub dates: bool,
    /// Source UIDs kept.
    pub uids: bool,
    /// Station and device names kept.
    pub device: bool,
    /// Institution names and addresses kept.
    pub institution: bool,
    /// Elements a CTP script keeps explicitly: their values are not searched for.
    pub tags: HashSet<Tag>,
}

impl Retained {
    /// What `profile` keeps: its options, or a CTP script's explicit `@keep()` rules.
    pub fn of(profile: &Profile) -> Retained {
        let has = |o: DeidOption| profile.options.contains(&o);
        let mut r = Retained {
            dates: has(DeidOption::RetainLongitudinalFullDates),
            uids: has(DeidOption::RetainUids),
            device: has(DeidOption::RetainDeviceIdentity),
            institution: has(DeidOption::RetainInstitutionIdentity),
            tags: HashSet::new(),
        };
        if let Some(engine) = &profile.ctp {
            let script = &engine.script;
            r.tags = script
                .by_tag
                .iter()
                .filter(|(_, &i)| {
                    script
                        .rules
                        .get(i)
                        .is_some_and(|rule| rule.text.trim() == "@keep()")
                })
                .map(|(t, _)| *t)
                .collect();
        }
        r
    }
}

/// One value searched for.
#[derive(Debug, Clone)]
struct Needle {
    kind: Kind,
    /// Lower case.
    text: String,
    /// Must stand alone: no letter or digit right before or after it.
    whole_word: bool,
}

/// The identifying values of one source object, ready to search an output.
#[derive(Debug)]
pub struct Needles {
    needles: Vec<Needle>,
    /// Source UIDs: looked up whole in UI values, searched in other text and in bytes.
    uids: HashSet<String>,
    /// Those of them that are not digits and dots only (malformed): searched as substrings.
    odd_uids: Vec<String>,
    /// Over the lower-case needle texts (decoded text values).
    text: Option<std::sync::Arc<AhoCorasick>>,
    /// The object's character set (for the needles' byte forms).
    charset: Option<SpecificCharacterSet>,
    /// Over the needles' byte forms (binary values). Built on first use, forms included:
    /// most outputs have no binary value to search.
    bytes: std::sync::OnceLock<ByteSearch>,
}

/// The search over the needles' byte forms: pattern i belongs to `owner[i]`.
#[derive(Debug)]
struct ByteSearch {
    /// `None` with patterns: the automaton could not be built (nothing passes unchecked).
    ac: Option<AhoCorasick>,
    owner: Vec<(usize, Encoding)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// One byte per character (UTF-8, Latin-1, the object's own character set).
    Narrow,
    Utf16Le,
    Utf16Be,
}

// Where needles come from (top level unless said otherwise).
const PATIENT_NAME: Tag = Tag(0x0010, 0x0010);
const IDENTIFIERS: &[Tag] = &[
    Tag(0x0010, 0x0020), // Patient ID
    Tag(0x0010, 0x1000), // Other Patient IDs
    Tag(0x0010, 0x0021), // Issuer of Patient ID
    Tag(0x0008, 0x0050), // Accession Number
    Tag(0x0038, 0x0010), // Admission ID
    Tag(0x0010, 0x1090), // Medical Record Locator
    Tag(0x0040, 0x2016), // Placer Order Number / Imaging Service Request
    Tag(0x0040, 0x2017), // Filler Order Number / Imaging Service Request
    Tag(0x0040, 0x0009), // Scheduled Procedure Step ID
    Tag(0x0040, 0x0253), // Performed Procedure Step ID
    Tag(0x0020, 0x0010), // Study ID
];
const DATES: &[Tag] = &[
    Tag(0x0010, 0x0030), // Patient's Birth Date
    Tag(0x0008, 0x0020), // Study Date
    Tag(0x0008, 0x0021), // Series Date
    Tag(0x0008, 0x0022), // Acquisition Date
    Tag(0x0008, 0x0023), // Content Date
    Tag(0x0008, 0x0012), // Instance Creation Date
];
const ADDRESSES: &[Tag] = &[
    Tag(0x0010, 0x1040), // Patient's Address
    Tag(0x0008, 0x0081), // Institution Address
    Tag(0x0008, 0x0092), // Referring Physician's Address
];
const TELEPHONES: &[Tag] = &[
    Tag(0x0010, 0x2154), // Patient's Telephone Numbers
    Tag(0x0008, 0x0094), // Referring Physician's Telephone Numbers
];
const INSTITUTIONS: &[Tag] = &[
    Tag(0x0008, 0x0080), // Institution Name
    Tag(0x0008, 0x1040), // Institutional Department Name
];
const DEVICES: &[Tag] = &[
    Tag(0x0008, 0x1010), // Station Name
    Tag(0x0018, 0x1000), // Device Serial Number
];
/// The marks de-identification adds (constant text; never from the source).
const MARKS: &[Tag] = &[
    Tag(0x0012, 0x0062),
    Tag(0x0012, 0x0063),
    Tag(0x0012, 0x0064),
    Tag(0x0028, 0x0303),
];
/// UIDs that name a class, a scheme or a resource, not this patient's objects.
const NOT_INSTANCE_UIDS: &[Tag] = &[
    Tag(0x0008, 0x0016), // SOP Class UID
    Tag(0x0008, 0x001A), // Related General SOP Class UID
    Tag(0x0008, 0x0062), // SOP Classes in Study
    Tag(0x0008, 0x010C), // Coding Scheme UID
    Tag(0x0008, 0x010D), // Context Group Extension Creator UID
    Tag(0x0008, 0x0117), // Context UID
    Tag(0x0008, 0x0118), // Mapping Resource UID
    Tag(0x0008, 0x1150), // Referenced SOP Class UID
];
const MANUFACTURER: Tag = Tag(0x0008, 0x0070);
const ENCAPSULATED_DOCUMENT: Tag = Tag(0x0042, 0x0011);
const CHARSET: Tag = Tag(0x0008, 0x0005);

fn text_of(e: &InMemElement) -> Option<String> {
    match e.value() {
        Value::Primitive(p) if !matches!(p, PrimitiveValue::Empty) => {
            Some(p.to_str().trim_matches(['\0', ' ']).to_string())
        }
        _ => None,
    }
}

/// Values of a multi-valued text, trimmed, without empties.
fn values(e: &InMemElement) -> Vec<String> {
    match e.value() {
        Value::Primitive(p) => p
            .to_multi_str()
            .iter()
            .map(|s| s.trim_matches(['\0', ' ']).to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// A byte a UID is made of.
fn is_uid_byte(b: u8) -> bool {
    b.is_ascii_digit() || b == b'.'
}

/// A UID made of digits and dots only (as every valid one is).
fn is_uid_text(u: &str) -> bool {
    u.bytes().all(is_uid_byte)
}

/// True for a UID that belongs to DICOM itself (classes, transfer syntaxes, code schemes).
fn dicom_uid(uid: &str) -> bool {
    uid.starts_with("1.2.840.10008.")
}

/// Long enough to be searched without matching ordinary text by chance: three characters
/// with a letter, four digits or more otherwise.
fn searchable(s: &str) -> bool {
    let n = s.chars().count();
    if s.chars().any(char::is_alphabetic) {
        n >= 3
    } else {
        s.chars().filter(char::is_ascii_digit).count() >= 4
    }
}

/// Values that stand for no one: placeholders that test data and earlier anonymizers put in
/// names and institutions, and words such a placeholder is made of. Deposit's own dummy
/// values are among them, so they are never taken for the source's identity.
const PLACEHOLDERS: &[&str] = &[
    "anonymized",
    "anonymised",
    "anonymous",
    "anon",
    "removed",
    "unknown",
    "none",
    "null",
    "test",
    "here",
    "name",
    "patient",
    "deidentified",
    "de-identified",
    "redacted",
    "dummy",
    "xxx",
    "xxxx",
    "other",
    "first",
    "last",
    "middle",
    "mid",
    "pre",
    "prefix",
    "suffix",
    "family",
    "given",
    "research",
    "study",
    "subject",
    "volunteer",
    "demo",
    "sample",
];

/// Coded values (code value, scheme designator, scheme version): vocabulary like CS.
const CODED: &[Tag] = &[
    Tag(0x0008, 0x0100),
    Tag(0x0008, 0x0102),
    Tag(0x0008, 0x0103),
];

#[derive(Default)]
struct Collector {
    needles: Vec<Needle>,
    uids: HashSet<String>,
    /// Dates already spelled out (an object's dates are mostly one date).
    dates: Vec<String>,
}

impl Collector {
    fn add(&mut self, kind: Kind, raw: &str) {
        if kind == Kind::Uid {
            let uid = raw.trim_matches(['\0', ' ']);
            if searchable(uid) {
                self.uids.insert(uid.to_string());
            }
            return;
        }
        let raw = raw.trim_matches(['\0', ' ']);
        let text = if raw.is_ascii() {
            raw.to_ascii_lowercase()
        } else {
            raw.to_lowercase()
        };
        if !searchable(&text) || PLACEHOLDERS.contains(&text.as_str()) {
            return;
        }
        // a name part that is a descriptor word (a phantom's "Head") stays in descriptors
        if kind == Kind::NamePart && crate::deid::scrub::vocabulary().contains(&text) {
            return;
        }
        // (a few dozen needles: a scan costs less than hashing each)
        if self
            .needles
            .iter()
            .any(|n| n.kind == kind && n.text == text)
        {
            return;
        }
        self.needles.push(Needle {
            kind,
            whole_word: true,
            text,
        });
    }

    /// A person name: whole (each component group) and its parts.
    fn name(&mut self, pn: &str) {
        for group in pn.split('=') {
            let whole = group.trim_end_matches('^');
            self.add(Kind::Name, &whole.replace('^', " "));
            self.add(Kind::Name, whole);
            for part in group.split(['^', ' ', ',']) {
                self.add(Kind::NamePart, part.trim());
            }
        }
    }

    fn date(&mut self, d: &str) {
        // a DT value starts with its date
        let d = d.get(..8).unwrap_or("");
        if self.dates.iter().any(|seen| seen == d) {
            return;
        }
        self.dates.push(d.to_string());
        for f in crate::deid::scrub::date_forms(d) {
            self.add(Kind::Date, &f);
        }
    }

    fn telephone(&mut self, t: &str) {
        self.add(Kind::Telephone, t);
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 6 {
            self.add(Kind::Telephone, &digits);
        }
    }

    fn address(&mut self, a: &str) {
        self.add(Kind::Address, a);
        for part in a.split(['^', ',', '\n', '\r']) {
            let part = part.trim();
            if part.chars().count() >= 5 {
                self.add(Kind::Address, part);
            }
        }
    }
}

/// Person names and UIDs anywhere in the source (observers, operators, referenced objects).
fn walk_source(ds: &InMemDicomObject, depth: u32, retained: &Retained, out: &mut Collector) {
    for e in ds.iter() {
        let tag = e.tag();
        if retained.tags.contains(&tag) {
            continue;
        }
        match e.value() {
            Value::Sequence(seq) if depth < MAX_DEPTH => {
                for item in seq.items() {
                    walk_source(item, depth + 1, retained, out);
                }
            }
            Value::Primitive(_) => match e.vr() {
                VR::PN => {
                    for v in values(e) {
                        out.name(&v);
                    }
                }
                VR::UI if !retained.uids && !NOT_INSTANCE_UIDS.contains(&tag) => {
                    for v in values(e) {
                        if !dicom_uid(&v) {
                            out.add(Kind::Uid, &v);
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}

thread_local! {
    /// The last text automaton built on this thread, with the needles it was built for: the
    /// objects of one series share their names, IDs and dates (their UIDs are kept apart), so
    /// a worker builds it once per series rather than once per object.
    static LAST_TEXT: std::cell::RefCell<Option<(Vec<String>, std::sync::Arc<AhoCorasick>)>> =
        const { std::cell::RefCell::new(None) };
}

fn cached_text_automaton(
    needles: &[Needle],
    build: impl FnOnce() -> Option<std::sync::Arc<AhoCorasick>>,
) -> Option<std::sync::Arc<AhoCorasick>> {
    let same = |texts: &[String]| {
        texts.len() == needles.len() && texts.iter().zip(needles).all(|(t, n)| *t == n.text)
    };
    let hit = LAST_TEXT.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(texts, _)| same(texts))
            .map(|(_, ac)| ac.clone())
    });
    if hit.is_some() {
        return hit;
    }
    let ac = build()?;
    LAST_TEXT.with(|c| {
        *c.borrow_mut() = Some((needles.iter().map(|n| n.text.clone()).collect(), ac.clone()));
    });
    Some(ac)
}

impl Needles {
    /// The identifying values of `source`, less what `retained` keeps.
    pub fn collect(source: &InMemDicomObject, retained: &Retained) -> Needles {
        let mut c = Collector::default();
        let top = |tag: Tag| -> Vec<String> {
            if retained.tags.contains(&tag) {
                return Vec::new();
            }
            source.get(tag).map(values).unwrap_or_default()
        };
        for v in top(PATIENT_NAME) {
            c.name(&v);
        }
        for &t in IDENTIFIERS {
            for v in top(t) {
                c.add(Kind::Identifier, &v);
            }
        }
        if !retained.dates {
            for &t in DATES {
                for v in top(t) {
                    c.date(&v);
                }
            }
        }
        if !retained.institution {
            for &t in ADDRESSES {
                for v in top(t) {
                    c.address(&v);
                }
            }
            for &t in INSTITUTIONS {
                for v in top(t) {
                    c.add(Kind::Institution, &v);
                }
            }
        } else {
            // a patient's address is never the institution's
            for v in top(ADDRESSES[0]) {
                c.address(&v);
            }
        }
        for &t in TELEPHONES {
            for v in top(t) {
                c.telephone(&v);
            }
        }
        if !retained.device {
            for &t in DEVICES {
                for v in top(t) {
                    c.add(Kind::Institution, &v);
                }
            }
        }
        // an institution named as its scanner's maker (vendor test data) names no one: the
        // manufacturer is kept by every profile
        let makers: Vec<String> = source
            .get(MANUFACTURER)
            .map(values)
            .unwrap_or_default()
            .iter()
            .map(|m| m.to_lowercase())
            .collect();
        c.needles
            .retain(|n| !(n.kind == Kind::Institution && makers.contains(&n.text)));
        walk_source(source, 0, retained, &mut c);
        let charset = source
            .get(CHARSET)
            .and_then(text_of)
            .and_then(|s| SpecificCharacterSet::from_code(&s));
        Needles::build(c.needles, c.uids, charset)
    }

    fn build(
        needles: Vec<Needle>,
        uids: HashSet<String>,
        charset: Option<SpecificCharacterSet>,
    ) -> Needles {
        let builder = || {
            let mut b = AhoCorasickBuilder::new();
            // built per object and run over a few kilobytes: the automaton that is cheapest
            // to build (a DFA costs far more to build than it saves here)
            // (ASCII text is searched as it is; other text is lower-cased first)
            b.match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::NoncontiguousNFA))
                .ascii_case_insensitive(true);
            b
        };
        let text = (!needles.is_empty())
            .then(|| {
                cached_text_automaton(&needles, || {
                    builder()
                        .build(needles.iter().map(|n| n.text.as_str()))
                        .ok()
                        .map(std::sync::Arc::new)
                })
            })
            .flatten();
        let odd_uids = uids.iter().filter(|u| !is_uid_text(u)).cloned().collect();
        Needles {
            needles,
            uids,
            odd_uids,
            text,
            charset,
            bytes: std::sync::OnceLock::new(),
        }
    }

    /// Each needle in UTF-8, Latin-1 and the object's character set (when not ASCII), and in
    /// UTF-16 of both byte orders, each pattern once.
    fn byte_search(&self) -> &ByteSearch {
        self.bytes.get_or_init(|| {
            let mut patterns: Vec<Vec<u8>> = Vec::new();
            let mut owner = Vec::new();
            for (i, n) in self.needles.iter().enumerate() {
                let mut forms: Vec<(Vec<u8>, Encoding)> =
                    vec![(n.text.as_bytes().to_vec(), Encoding::Narrow)];
                if !n.text.is_ascii() {
                    if n.text.chars().all(|c| (c as u32) < 256) {
                        forms.push((n.text.chars().map(|c| c as u8).collect(), Encoding::Narrow));
                    }
                    if let Some(cs) = &self.charset {
                        if let Ok(b) = cs.encode(&n.text) {
                            forms.push((b, Encoding::Narrow));
                        }
                    }
                }
                forms.push((
                    n.text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
                    Encoding::Utf16Le,
                ));
                forms.push((
                    n.text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
                    Encoding::Utf16Be,
                ));
                for (bytes, enc) in forms {
                    if !patterns.contains(&bytes) {
                        patterns.push(bytes);
                        owner.push((i, enc));
                    }
                }
            }
            let ac = if patterns.is_empty() {
                None
            } else {
                let mut b = AhoCorasickBuilder::new();
                b.match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::NoncontiguousNFA))
                    .ascii_case_insensitive(true);
                b.build(&patterns).ok()
            };
            ByteSearch { ac, owner }
        })
    }

    /// Searches the file meta and the data set of an output; every hit, in order.
    pub fn search(&self, meta: &FileMetaTable, ds: &InMemDicomObject) -> Vec<Hit> {
        let mut hits = Vec::new();
        for e in meta.to_element_iter() {
            if let Value::Primitive(p) = e.value() {
                let tag = e.tag();
                self.in_text(&p.to_str(), e.vr(), &|| tag_text(tag), &mut hits);
            }
        }
        if self.text.is_none() && !self.needles.is_empty() {
            // the search could not be built: nothing is proven, so nothing passes
            hits.push(Hit {
                kind: Kind::Unchecked,
                placement: "the whole output (the search could not be prepared)".into(),
            });
        }
        self.in_dataset(ds, "", 0, &mut hits);
        hits
    }

    fn in_dataset(&self, ds: &InMemDicomObject, prefix: &str, depth: u32, hits: &mut Vec<Hit>) {
        for e in ds.iter() {
            let tag = e.tag();
            if prefix.is_empty() && MARKS.contains(&tag) {
                continue;
            }
            let path = || format!("{prefix}{}", tag_text(tag));
            if tag == ENCAPSULATED_DOCUMENT
                && e.value()
                    .primitive()
                    .is_none_or(|p| p.calculate_byte_len() != 0)
            {
                hits.push(Hit {
                    kind: Kind::Document,
                    placement: path(),
                });
                continue;
            }
            match e.value() {
                Value::Sequence(seq) => {
                    if depth >= MAX_DEPTH {
                        hits.push(Hit {
                            kind: Kind::Unchecked,
                            placement: format!("{}: nested too deep", path()),
                        });
                        continue;
                    }
                    for (i, item) in seq.items().iter().enumerate() {
                        self.in_dataset(item, &format!("{}[{i}].", path()), depth + 1, hits);
                    }
                }
                Value::PixelSequence(seq) => {
                    // Frames were cleaned of metadata before (an unwalkable frame is held
                    // there); a fragment that does not start a frame is entropy-coded data.
                    for (i, frag) in seq.fragments().iter().enumerate() {
                        for (label, range) in crate::pixels::metadata::regions(i, frag) {
                            if label.ends_with(": unparsed") {
                                continue;
                            }
                            if let Some(b) = frag.get(range) {
                                let at = || format!("{} fragment {i}: {label}", path());
                                self.in_bytes(b, &at, hits);
                            }
                        }
                    }
                }
                Value::Primitive(p) => {
                    if is_sample_array(tag) {
                        continue;
                    }
                    match e.vr() {
                        VR::OB | VR::OW | VR::UN => self.in_bytes(&p.to_bytes(), &path, hits),
                        vr if is_text_vr(vr) => {
                            let vr = if CODED.contains(&tag) { VR::CS } else { vr };
                            self.in_text(&p.to_str(), vr, &path, hits)
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn in_text(&self, value: &str, vr: VR, at: &dyn Fn() -> String, hits: &mut Vec<Hit>) {
        if vr == VR::UI {
            // only a whole UID counts in a UID (they are often built from dates and times)
            if value
                .split('\\')
                .any(|u| self.uids.contains(u.trim_matches(['\0', ' '])))
            {
                push(hits, Kind::Uid, &at());
            }
            return;
        }
        self.uids_in(value.as_bytes(), at, hits);
        let Some(ac) = &self.text else { return };
        // the needles are lower case and matched ignoring ASCII case
        let lower;
        let hay = if value.is_ascii() {
            value
        } else {
            lower = value.to_lowercase();
            lower.as_str()
        };
        for m in ac.find_overlapping_iter(hay) {
            let Some(n) = self.needles.get(m.pattern().as_usize()) else {
                continue;
            };
            // coded values are vocabulary: only whole values and whole names are looked for
            if vr == VR::CS && n.kind == Kind::NamePart {
                continue;
            }
            if stands_alone(hay.as_bytes(), m.start(), m.end(), n, 1) {
                push(hits, n.kind, &at());
            }
        }
    }

    /// Source UIDs inside a longer text or a binary value (not part of a longer UID).
    fn uids_in(&self, hay: &[u8], at: &dyn Fn() -> String, hits: &mut Vec<Hit>) {
        if hay.len() < 8 || self.uids.is_empty() || !hay.contains(&b'.') {
            return;
        }
        // A UID is digits and dots, so one that stands alone (no digit or dot right before
        // or after it) is a whole run of digits and dots: each run is looked up.
        let joins = |b: &u8| is_uid_byte(*b);
        let found = hay
            .split(|b| !joins(b))
            .filter(|run| run.len() >= 4)
            .any(|run| std::str::from_utf8(run).is_ok_and(|r| self.uids.contains(r)))
            // (a malformed source UID with other characters is searched for as it is)
            || self.odd_uids.iter().any(|uid| {
                    memchr::memmem::find_iter(hay, uid.as_bytes()).any(|i| {
                        !i.checked_sub(1).and_then(|j| hay.get(j)).is_some_and(joins)
                            && !hay.get(i + uid.len()).is_some_and(joins)
                    })
                });
        if found {
            push(hits, Kind::Uid, &at());
        }
    }

    fn in_bytes(&self, hay: &[u8], at: &dyn Fn() -> String, hits: &mut Vec<Hit>) {
        if hay.is_empty() {
            return;
        }
        self.uids_in(hay, at, hits);
        if self.needles.is_empty() {
            return;
        }
        let search = self.byte_search();
        let Some(ac) = &search.ac else {
            // patterns but no automaton: the value cannot be checked, so it does not pass
            push(hits, Kind::Unchecked, &at());
            return;
        };
        for m in ac.find_overlapping_iter(hay) {
            let Some(&(owner, enc)) = search.owner.get(m.pattern().as_usize()) else {
                continue;
            };
            let Some(n) = self.needles.get(owner) else {
                continue;
            };
            let unit = if enc == Encoding::Narrow { 1 } else { 2 };
            if stands_alone(hay, m.start(), m.end(), n, unit) {
                push(hits, n.kind, &at());
            }
        }
    }
}

fn push(hits: &mut Vec<Hit>, kind: Kind, path: &str) {
    if !hits.iter().any(|h| h.kind == kind && h.placement == path) {
        hits.push(Hit {
            kind,
            placement: path.to_string(),
        });
    }
}

/// True when the match is not part of a longer word.
fn stands_alone(hay: &[u8], start: usize, end: usize, n: &Needle, unit: usize) -> bool {
    if !n.whole_word {
        return true;
    }
    // `TOSHIBA_MEC` is one token
    let joins = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    // the ASCII byte of the neighbouring character (UTF-16: the low byte of its unit)
    let before = start
        .checked_sub(unit)
        .and_then(|i| hay.get(i..start))
        .and_then(|c| c.iter().copied().find(|&b| b != 0));
    let after = hay
        .get(end..end + unit)
        .and_then(|c| c.iter().copied().find(|&b| b != 0));
    // a date may go on with a time (DT values, EXIF date-times)
    let date_goes_on = n.kind == Kind::Date && after.is_some_and(|b| b.is_ascii_digit());
    !before.is_some_and(joins) && (date_goes_on || !after.is_some_and(joins))
}

/// Elements whose values are samples, not text: pixel, overlay, curve, waveform and LUT data.
fn is_sample_array(tag: Tag) -> bool {
    let (g, e) = (tag.group(), tag.element());
    matches!((g, e), (0x7FE0, 0x0008..=0x0010))
        || ((0x6000..=0x60FF).contains(&g) && e == 0x3000)
        || ((0x5000..=0x50FF).contains(&g) && e == 0x3000)
        || (g == 0x5400 && e == 0x1010)
        || (g == 0x0028 && matches!(e, 0x1201..=0x1204 | 0x1221..=0x1223 | 0x3006))
}

/// The sentence of a hold: what kinds were found where (at most a few placements named).
pub fn reason(hits: &[Hit]) -> String {
    let named: Vec<String> = hits
        .iter()
        .take(NAMED)
        .map(|h| format!("{} in {}", h.kind.phrase(), h.placement))
        .collect();
    let more = hits.len().saturating_sub(NAMED);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "identity of the source is still in the de-identified output: {}{tail}",
        named.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::DataSetSequence;
    use dicom_core::DataElement;

    fn el(tag: Tag, vr: VR, v: &str) -> InMemElement {
        DataElement::new(tag, vr, PrimitiveValue::from(v))
    }

    fn source() -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            el(Tag(0x0008, 0x0005), VR::CS, "ISO_IR 100"),
            el(Tag(0x0008, 0x0018), VR::UI, "1.2.3.4.5.6.7"),
            el(Tag(0x0008, 0x0020), VR::DA, "20040119"),
            el(Tag(0x0008, 0x0080), VR::LO, "Saint Elsewhere Hospital"),
            el(PATIENT_NAME, VR::PN, "Grünwald^Hildegard^^^"),
            el(Tag(0x0010, 0x0020), VR::LO, "PID-77381"),
            el(Tag(0x0010, 0x2154), VR::SH, "+41 (0)61 555 12 34"),
            DataElement::new(
                Tag(0x0008, 0x1070),
                VR::SQ,
                DataSetSequence::from(vec![InMemDicomObject::from_element_iter([el(
                    Tag(0x0008, 0x1070),
                    VR::PN,
                    "Operator^Olga",
                )])]),
            ),
        ])
    }

    fn output(extra: Vec<InMemElement>) -> InMemDicomObject {
        let mut ds = InMemDicomObject::from_element_iter([
            el(Tag(0x0008, 0x0018), VR::UI, "2.25.1234567"),
            el(PATIENT_NAME, VR::PN, "SUBJ01"),
            el(Tag(0x0010, 0x0020), VR::LO, "SUBJ01"),
            // Deposit's marks: constant text, not searched
            el(Tag(0x0012, 0x0063), VR::LO, "Deposit Hildegard"),
            el(Tag(0x0018, 0x0015), VR::CS, "HEAD"),
        ]);
        for e in extra {
            ds.put(e);
        }
        ds
    }

    fn meta() -> FileMetaTable {
        dicom_object::meta::FileMetaTableBuilder::new()
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("2.25.1234567")
            .transfer_syntax("1.2.840.10008.1.2.1")
            .build()
            .expect("meta")
    }

    fn hits(extra: Vec<InMemElement>) -> Vec<Hit> {
        Needles::collect(&source(), &Retained::default()).search(&meta(), &output(extra))
    }

    #[test]
    fn a_clean_output_has_no_hit() {
        assert_eq!(hits(vec![]), vec![]);
    }

    #[test]
    fn names_ids_dates_phones_and_uids_are_found_wherever_they_are() {
        let cases: Vec<(InMemElement, Kind)> = vec![
            (
                el(Tag(0x0008, 0x103E), VR::LO, "CT of hildegard"),
                Kind::NamePart,
            ),
            (
                el(Tag(0x0020, 0x4000), VR::LT, "seen 19.01.2004, ok"),
                Kind::Date,
            ),
            (
                el(Tag(0x0018, 0x9074), VR::DT, "20040119101500"),
                Kind::Date,
            ),
            (
                el(Tag(0x0020, 0x4000), VR::LT, "ref pid-77381"),
                Kind::Identifier,
            ),
            (
                el(Tag(0x0020, 0x4000), VR::LT, "call +41 (0)61 555 12 34."),
                Kind::Telephone,
            ),
            (
                el(Tag(0x0020, 0x4000), VR::LT, "tel:410615551234"),
                Kind::Telephone,
            ),
            (el(Tag(0x0008, 0x1155), VR::UI, "1.2.3.4.5.6.7"), Kind::Uid),
            (
                el(Tag(0x0020, 0x4000), VR::LT, "SAINT ELSEWHERE HOSPITAL"),
                Kind::Institution,
            ),
            (el(Tag(0x0009, 0x1001), VR::LO, "olga"), Kind::NamePart),
        ];
        for (e, kind) in cases {
            let tag = e.tag();
            let h = hits(vec![e]);
            assert!(
                h.iter()
                    .any(|h| h.kind == kind && h.placement == tag_text(tag)),
                "{kind:?} in {tag:?}: {h:?}"
            );
        }
    }

    #[test]
    fn words_containing_a_needle_and_longer_uids_are_not_hits() {
        let h = hits(vec![
            el(Tag(0x0008, 0x103E), VR::LO, "Hildegardine protocol"),
            el(Tag(0x0008, 0x1155), VR::UI, "1.2.3.4.5.6.78"),
            el(Tag(0x0020, 0x4000), VR::LT, "120040119 PID-773811"),
        ]);
        assert_eq!(h, vec![]);
    }

    #[test]
    fn text_is_searched_ignoring_case_in_any_script() {
        // ASCII text is matched as it is (ignoring ASCII case), other text lower-cased first
        for (text, kind) in [
            ("GRÜNWALD was here", Kind::NamePart),
            ("grünwald", Kind::NamePart),
            ("Dr. HILDEGARD", Kind::NamePart),
            ("Saint ELSEWHERE hospital", Kind::Institution),
        ] {
            let h = hits(vec![el(Tag(0x0020, 0x4000), VR::LT, text)]);
            assert!(
                h.iter().any(|h| h.kind == kind),
                "{kind:?} not found in an {}-byte text: {h:?}",
                text.len()
            );
        }
    }

    #[test]
    fn a_source_uid_inside_a_text_or_bytes_is_found_whole_only() {
        let found = |v: &str| {
            hits(vec![el(Tag(0x0020, 0x4000), VR::LT, v)])
                .iter()
                .any(|h| h.kind == Kind::Uid)
        };
        assert!(found("see 1.2.3.4.5.6.7, series 2"));
        assert!(found("uid=1.2.3.4.5.6.7"));
        assert!(!found("see 1.2.3.4.5.6.78 and 11.2.3.4.5.6.7"));
        assert!(!found("see 1.2.3.4.5.6.7.8"));
        let bytes = |v: &[u8]| {
            hits(vec![DataElement::new(
                Tag(0x0009, 0x1001),
                VR::OB,
                PrimitiveValue::from(v.to_vec()),
            )])
            .iter()
            .any(|h| h.kind == Kind::Uid)
        };
        assert!(bytes(b"\x00\x011.2.3.4.5.6.7\x00"));
        assert!(!bytes(b"\x001.2.3.4.5.6.70\x00"));
        // a source "UID" that is not digits and dots is still found as it is
        let src =
            InMemDicomObject::from_element_iter([el(Tag(0x0008, 0x0018), VR::UI, "1.2.ABC.99")]);
        let n = Needles::collect(&src, &Retained::default());
        let out = output(vec![el(Tag(0x0020, 0x4000), VR::LT, "was 1.2.ABC.99 once")]);
        assert!(n.search(&meta(), &out).iter().any(|h| h.kind == Kind::Uid));
    }

    #[test]
    fn an_institution_named_as_the_manufacturer_is_not_identity() {
        let src = InMemDicomObject::from_element_iter([
            el(Tag(0x0008, 0x0070), VR::LO, "TOSHIBA"),
            el(Tag(0x0008, 0x0080), VR::LO, "TOSHIBA"),
            el(Tag(0x0008, 0x1010), VR::SH, "ACME"),
        ]);
        let out = output(vec![
            el(Tag(0x0008, 0x0070), VR::LO, "TOSHIBA"),
            el(Tag(0x0008, 0x1090), VR::LO, "ACME_MEC"),
        ]);
        let n = Needles::collect(&src, &Retained::default());
        assert_eq!(n.search(&meta(), &out), vec![]);
    }

    #[test]
    fn a_date_inside_a_uid_is_not_a_hit() {
        assert_eq!(
            hits(vec![el(Tag(0x0008, 0x1155), VR::UI, "2.25.20040119.1")]),
            vec![]
        );
    }

    #[test]
    fn binary_values_are_searched_in_several_encodings() {
        let utf16: Vec<u8> = "x Grünwald y"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let latin1: Vec<u8> = "x Grünwald y".chars().map(|c| c as u8).collect();
        for bytes in [utf16, latin1, b"..GRUENWALD..HILDEGARD..".to_vec()] {
            let e = DataElement::new(Tag(0x0009, 0x1010), VR::OB, PrimitiveValue::from(bytes));
            assert!(!hits(vec![e]).is_empty());
        }
    }

    #[test]
    fn in_a_nested_sequence_the_path_is_named() {
        let item =
            InMemDicomObject::from_element_iter([el(Tag(0x0008, 0x0081), VR::ST, "olga street")]);
        let seq = DataElement::new(
            Tag(0x0018, 0xA001),
            VR::SQ,
            DataSetSequence::from(vec![item]),
        );
        let h = hits(vec![seq]);
        assert_eq!(h[0].placement, "(0018,A001)[0].(0008,0081)");
        let reason = reason(&h);
        assert!(reason.contains("(0018,A001)[0].(0008,0081)"), "{reason}");
        assert!(
            !reason.to_lowercase().contains("olga"),
            "no value in the reason: {reason}"
        );
    }

    #[test]
    fn jpeg_comments_in_compressed_pixel_data_are_found_and_the_scan_is_not() {
        let mut frame = vec![0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x0B];
        frame.extend_from_slice(b"Hildegard");
        frame.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02]);
        frame.extend_from_slice(b"OLGA-IN-ENTROPY-DATA");
        frame.extend_from_slice(&[0xFF, 0xD9]);
        let pixels = DataElement::new(
            Tag(0x7FE0, 0x0010),
            VR::OB,
            dicom_core::value::PixelFragmentSequence::new(vec![], vec![frame]),
        );
        let h = hits(vec![pixels]);
        assert_eq!(
            h,
            vec![Hit {
                kind: Kind::NamePart,
                placement: "(7FE0,0010) fragment 0: frame 0: COM".into()
            }]
        );
    }

    #[test]
    fn what_the_configuration_keeps_is_not_searched() {
        let kept = Retained {
            dates: true,
            uids: true,
            ..Retained::default()
        };
        let n = Needles::collect(&source(), &kept);
        let out = output(vec![
            el(Tag(0x0008, 0x0020), VR::DA, "20040119"),
            el(Tag(0x0008, 0x1155), VR::UI, "1.2.3.4.5.6.7"),
        ]);
        assert_eq!(n.search(&meta(), &out), vec![]);
        let ctp = Retained {
            tags: [PATIENT_NAME].into_iter().collect(),
            ..Retained::default()
        };
        let n = Needles::collect(&source(), &ctp);
        let out = output(vec![el(Tag(0x0010, 0x1001), VR::PN, "Grünwald^Hildegard")]);
        assert_eq!(n.search(&meta(), &out), vec![]);
    }

    #[test]
    fn placeholders_and_coded_values_are_not_taken_for_identity() {
        let src = InMemDicomObject::from_element_iter([
            el(PATIENT_NAME, VR::PN, "Anonymized^Test"),
            el(Tag(0x0008, 0x0080), VR::LO, "Here"),
            el(Tag(0x0008, 0x1070), VR::PN, "Kowalski^Ewa"),
        ]);
        let out = output(vec![
            el(Tag(0x0008, 0x0080), VR::LO, "ANONYMIZED"),
            el(Tag(0x0008, 0x1090), VR::LO, "Planning system name here"),
            el(Tag(0x0008, 0x0102), VR::SH, "KOWALSKI"),
        ]);
        let n = Needles::collect(&src, &Retained::default());
        assert_eq!(n.search(&meta(), &out), vec![]);
        let leak = output(vec![el(Tag(0x0008, 0x0104), VR::LO, "by Kowalski")]);
        assert_eq!(n.search(&meta(), &leak).len(), 1);
    }

    #[test]
    fn a_sequence_too_deep_to_check_does_not_pass() {
        let mut item = InMemDicomObject::from_element_iter([el(Tag(0x0008, 0x0100), VR::SH, "X")]);
        for _ in 0..=MAX_DEPTH {
            item = InMemDicomObject::from_element_iter([DataElement::new(
                Tag(0x0040, 0xA730),
                VR::SQ,
                DataSetSequence::from(vec![item]),
            )]);
        }
        let seq = item.take_element(Tag(0x0040, 0xA730)).expect("sequence");
        let h = hits(vec![seq]);
        assert!(h.iter().any(|h| h.kind == Kind::Unchecked), "{h:?}");
    }

    #[test]
    fn an_encapsulated_document_left_in_the_output_is_a_hit() {
        let doc = DataElement::new(
            ENCAPSULATED_DOCUMENT,
            VR::OB,
            PrimitiveValue::from(b"%PDF-1.4".to_vec()),
        );
        assert_eq!(hits(vec![doc])[0].kind, Kind::Document);
    }
}
