//! CTP element naming: keywords, `[gggg,eeee]`, `(gggg,eeee)`, `ggggeeee`, private
//! `gggg[Creator]ee`, `this`, `root:` and `Seq::Elem` paths, and reading values by name.

use std::collections::HashMap;

use dicom_core::dictionary::DataDictionary;
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_core::Tag;
use dicom_object::mem::InMemElement;
use dicom_object::InMemDicomObject;

/// An element a rule or argument names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A fixed tag.
    Tag(Tag),
    /// A private element by creator: odd group, creator string, offset in the block.
    Private {
        /// Odd group.
        group: u16,
        /// Private creator (compared trimmed, case-insensitively).
        creator: String,
        /// Element offset within the block (`ee`).
        offset: u8,
    },
}

impl Target {
    /// True for odd groups.
    pub fn is_private(&self) -> bool {
        match self {
            Target::Tag(t) => t.group() % 2 == 1,
            Target::Private { .. } => true,
        }
    }

    /// "(gggg,eeee)" or "gggg[Creator]ee" (creator strings are not PHI).
    pub fn label(&self) -> String {
        match self {
            Target::Tag(t) => format!("({:04X},{:04X})", t.group(), t.element()),
            Target::Private {
                group,
                creator,
                offset,
            } => format!("{group:04X}[{creator}]{offset:02X}"),
        }
    }

    /// The tag this names in `ds` (private: the block reserved by the creator), if any.
    pub fn resolve(&self, ds: &InMemDicomObject) -> Option<Tag> {
        match self {
            Target::Tag(t) => Some(*t),
            Target::Private {
                group,
                creator,
                offset,
            } => block_of(ds, *group, creator)
                .map(|b| Tag(*group, (u16::from(b) << 8) | u16::from(*offset))),
        }
    }
}

/// The block number (0x10..=0xFF) reserved by `creator` in `group`.
pub fn block_of(ds: &InMemDicomObject, group: u16, creator: &str) -> Option<u8> {
    (0x10u16..=0xFF).find_map(|b| {
        let e = ds.get(Tag(group, b))?;
        let s = e.value().to_str().ok()?;
        s.trim_matches(['\0', ' '])
            .eq_ignore_ascii_case(creator.trim())
            .then_some(b as u8)
    })
}

/// The creator of the block holding private element `tag`, if any.
pub fn creator_of(ds: &InMemDicomObject, tag: Tag) -> Option<String> {
    if tag.group() % 2 == 0 || tag.element() < 0x1000 {
        return None;
    }
    let e = ds.get(Tag(tag.group(), tag.element() >> 8))?;
    Some(
        e.value()
            .to_str()
            .ok()?
            .trim_matches(['\0', ' '])
            .to_string(),
    )
}

fn hex16(s: &str) -> Option<u16> {
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u16::from_str_radix(s, 16).ok())
        .flatten()
}

/// Parses one element name (no `this`, `root:` or `::`): the tag forms, the private creator
/// form, or a dictionary keyword.
pub fn parse_target(s: &str) -> Option<Target> {
    let s = s.trim();
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(Target::Tag(Tag(hex16(&s[..4])?, hex16(&s[4..])?)));
    }
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            let (g, e) = inner.split_once(',')?;
            return Some(Target::Tag(Tag(hex16(g.trim())?, hex16(e.trim())?)));
        }
    }
    if let (Some(open), true) = (s.find('['), s.ends_with(|c: char| c.is_ascii_hexdigit())) {
        let close = s.rfind(']')?;
        let group = hex16(&s[..open])?;
        let off = &s[close + 1..];
        if group % 2 == 1 && off.len() == 2 && close > open {
            return Some(Target::Private {
                group,
                creator: s[open + 1..close].trim().to_string(),
                offset: u8::from_str_radix(off, 16).ok()?,
            });
        }
        return None;
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()) {
        if let Some(e) = dicom_dictionary_std::StandardDataDictionary.by_name(s) {
            return Some(Target::Tag(e.tag.inner()));
        }
    }
    None
}

/// A parsed element reference as used in function arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElemRef {
    /// `root:` prefix: read from the top-level dataset.
    pub root: bool,
    /// `this` (the element being processed) when empty; else the path `Seq::Seq::Elem`.
    pub path: Vec<Target>,
}

/// Parses an element reference; `names` are the script's private local names.
pub fn parse_ref(s: &str, names: &HashMap<String, Target>) -> Option<ElemRef> {
    let s = s.trim();
    let (root, s) = match s.strip_prefix("root:") {
        Some(r) => (true, r.trim()),
        None => (false, s),
    };
    if s.eq_ignore_ascii_case("this") {
        return Some(ElemRef { root, path: vec![] });
    }
    let mut path = Vec::new();
    for part in s.split("::") {
        let t = parse_target(part).or_else(|| names.get(part.trim()).cloned())?;
        path.push(t);
    }
    Some(ElemRef { root, path })
}

/// Where values are read from while a rule runs.
pub struct Reader<'a> {
    /// Top-level (original) dataset.
    pub root: &'a InMemDicomObject,
    /// The (original) dataset of the current level.
    pub ds: &'a InMemDicomObject,
    /// The element being processed.
    pub this: Tag,
}

impl Reader<'_> {
    /// The element `r` names, if present.
    pub fn element(&self, r: &ElemRef) -> Option<&InMemElement> {
        let mut ds = if r.root { self.root } else { self.ds };
        if r.path.is_empty() {
            return ds.get(self.this);
        }
        let last = r.path.len() - 1;
        for (i, t) in r.path.iter().enumerate() {
            let tag = t.resolve(ds)?;
            let e = ds.get(tag)?;
            if i == last {
                return Some(e);
            }
            match e.value() {
                Value::Sequence(s) => ds = s.items().first()?,
                _ => return None,
            }
        }
        None
    }
}

/// An element's value as CTP reads it: text, multiple values joined by `\`, trailing padding
/// trimmed; sequences and binary values read as "".
pub fn text_of(e: &InMemElement) -> String {
    use dicom_core::VR;
    match e.value() {
        Value::Primitive(p) => match e.vr() {
            // UN-encoded attributes whose dictionary VR is text are read as text.
            VR::UN if dictionary_vr(e.tag()).is_some_and(is_text_vr) => {
                String::from_utf8_lossy(&p.to_bytes())
                    .trim_matches(['\0', ' '])
                    .to_string()
            }
            VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN => String::new(),
            VR::PN => person_name(&p.to_str()),
            _ => p.to_str().trim_matches(['\0', ' ']).to_string(),
        },
        _ => String::new(),
    }
}

/// A Person Name as CTP's DICOM library reads it: each value without padding, each component
/// group without its trailing empty components (`Doe^John^^^` reads `Doe^John`), trailing empty
/// groups dropped. Rules (`@hash`, `@hashname`, conditions) see this form, so a pseudonym made by
/// Deposit is the one CTP makes.
pub fn person_name(s: &str) -> String {
    s.trim_matches(['\0', ' '])
        .split('\\')
        .map(|value| {
            let groups: Vec<&str> = value
                .trim_matches(['\0', ' '])
                .split('=')
                .map(|g| g.trim_end_matches(['^', ' ']))
                .collect();
            let keep = groups
                .iter()
                .rposition(|g| !g.is_empty())
                .map_or(0, |i| i + 1);
            groups.get(..keep).unwrap_or_default().join("=")
        })
        .collect::<Vec<_>>()
        .join("\\")
}

/// The standard dictionary's VR for a public tag.
pub fn dictionary_vr(tag: Tag) -> Option<dicom_core::VR> {
    if tag.group() % 2 == 1 {
        return None;
    }
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.vr.relaxed())
}

/// VRs whose values are character strings.
pub fn is_text_vr(vr: dicom_core::VR) -> bool {
    use dicom_core::VR;
    matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::ST
            | VR::TM
            | VR::UC
            | VR::UI
            | VR::UR
            | VR::UT
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};

    #[test]
    fn person_names_read_without_trailing_empty_components() {
        assert_eq!(person_name("Doe^John^^^ "), "Doe^John");
        assert_eq!(person_name("A^B^C^"), "A^B^C");
        assert_eq!(
            person_name("Yamada^Tarou=山田^太郎^="),
            "Yamada^Tarou=山田^太郎"
        );
        assert_eq!(person_name("A^^B"), "A^^B", "inner empty components stay");
        assert_eq!(person_name("A^\\B^^"), "A\\B");
        assert_eq!(person_name("^^^"), "");
        let e = DataElement::new(Tag(0x0010, 0x0010), VR::PN, PrimitiveValue::from("A^B^C^"));
        assert_eq!(text_of(&e), "A^B^C");
    }

    #[test]
    fn all_name_forms() {
        let pid = Some(Target::Tag(Tag(0x0010, 0x0020)));
        assert_eq!(parse_target("PatientID"), pid);
        assert_eq!(parse_target("[0010,0020]"), pid);
        assert_eq!(parse_target("(0010,0020)"), pid);
        assert_eq!(parse_target("00100020"), pid);
        assert_eq!(
            parse_target("0009[GEMS_IDEN_01]04"),
            Some(Target::Private {
                group: 9,
                creator: "GEMS_IDEN_01".into(),
                offset: 4
            })
        );
        assert_eq!(
            parse_target("0008[X]04"),
            None,
            "private form needs an odd group"
        );
        assert_eq!(parse_target("NotAKeyword"), None);
        let names = HashMap::from([("ProjectName".to_string(), Target::Tag(Tag(0x13, 0x1010)))]);
        assert_eq!(
            parse_ref(
                "root:ReferencedImageSequence::ReferencedSOPInstanceUID",
                &names
            )
            .map(|r| (r.root, r.path.len())),
            Some((true, 2))
        );
        assert_eq!(parse_ref("this", &names).map(|r| r.path.len()), Some(0));
        assert!(parse_ref("ProjectName", &names).is_some());
    }

    #[test]
    fn reads_private_by_creator_and_sequence_paths() {
        let item = InMemDicomObject::from_element_iter([DataElement::new(
            Tag(0x0008, 0x1155),
            VR::UI,
            PrimitiveValue::from("1.2.3"),
        )]);
        let ds = InMemDicomObject::from_element_iter([
            DataElement::new(Tag(0x0009, 0x0011), VR::LO, PrimitiveValue::from("ACME ")),
            DataElement::new(Tag(0x0009, 0x1102), VR::LO, PrimitiveValue::from("v")),
            DataElement::new(
                Tag(0x0008, 0x1140),
                VR::SQ,
                Value::Sequence(dicom_core::value::DataSetSequence::from(vec![item])),
            ),
        ]);
        let r = Reader {
            root: &ds,
            ds: &ds,
            this: Tag(0x0009, 0x1102),
        };
        let names = HashMap::new();
        let get = |s: &str| {
            parse_ref(s, &names)
                .and_then(|x| r.element(&x).map(text_of))
                .unwrap_or_default()
        };
        assert_eq!(get("0009[acme]02"), "v");
        assert_eq!(get("this"), "v");
        assert_eq!(
            get("ReferencedImageSequence::ReferencedSOPInstanceUID"),
            "1.2.3"
        );
        assert_eq!(
            creator_of(&ds, Tag(0x0009, 0x1102)).as_deref(),
            Some("ACME")
        );
    }
}
