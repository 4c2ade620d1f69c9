//! The dataset walk: every element, at every sequence depth, gets exactly one action and a
//! recorded reason.
//!
//! Elements the table lists follow the compiled profile. Elements it does not list follow
//! fixed defaults that fail closed: person names, free text, dates and unknown-VR values are
//! removed, UIDs remapped, group lengths dropped, anything else kept (clinical attributes).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_object::mem::InMemElement;
use dicom_object::InMemDicomObject;

use super::action::{dummy_text, Action};
use super::dates::{shift_da_value, shift_dt_value};
use super::keyed::{remap_uid, Keys};
use super::profile::{DeidOption, Profile};
use super::scrub::Scrubber;
use super::{Decision, Record};

/// Why an element got its action: a table row (maybe via an option) or a default.
#[derive(Debug, Clone)]
struct Plan {
    action: Action,
    /// (a table row's text is made only when decisions are recorded)
    rule: Cow<'static, str>,
}

/// Content Sequence (0040,A730): the tree of a structured report.
const CONTENT_SEQUENCE: Tag = Tag(0x0040, 0xA730);
/// Text Value (0040,A160) of a TEXT content item.
const TEXT_VALUE: Tag = Tag(0x0040, 0xA160);
/// Rule text of a cleaned SR text value.
const CLEAN_SR_TEXT: &str =
    "Table E.1-1 clean_structured_content: Content Sequence — text value cleaned of every identifying value found in the same object";

/// State of one walk over one dataset.
pub struct Walk<'a> {
    pub profile: &'a Profile,
    pub keys: &'a Keys,
    pub date_offset_days: i64,
    pub scrub: &'a Scrubber,
    /// What is recorded in `decisions`.
    pub record: Record,
    pub decisions: Vec<Decision>,
    /// How deep inside a Content Sequence the walk is (0: not inside).
    pub content_depth: u32,
}

fn tag_u32(t: Tag) -> u32 {
    (u32::from(t.group()) << 16) | u32::from(t.element())
}

/// "(gggg,eeee)".
pub fn tag_text(t: Tag) -> String {
    // (by hand: paths are made for every element the walks name)
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(11);
    s.push('(');
    for (i, n) in [t.group(), t.element()].into_iter().enumerate() {
        if i == 1 {
            s.push(',');
        }
        for shift in [12u16, 8, 4, 0] {
            s.push(char::from(HEX[usize::from((n >> shift) & 0xF)]));
        }
    }
    s.push(')');
    s
}

fn is_free_text(vr: VR) -> bool {
    matches!(vr, VR::LT | VR::ST | VR::UT | VR::UC)
}

fn is_text(vr: VR) -> bool {
    matches!(
        vr,
        VR::PN | VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::AE | VR::CS | VR::UR
    )
}

/// A short printable form of a value for decisions (truncated; binary values summarised).
pub fn value_summary(e: &InMemElement) -> String {
    match e.value() {
        Value::Sequence(s) => format!("<{} item(s)>", s.items().len()),
        Value::PixelSequence(p) => format!("<{} fragment(s)>", p.fragments().len()),
        Value::Primitive(p) => match e.vr() {
            VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN => {
                format!("<{} bytes>", p.calculate_byte_len())
            }
            _ => {
                let s = p.to_str();
                let s = s.trim_end_matches(['\0', ' ']);
                if s.chars().count() > 64 {
                    format!("{}…", s.chars().take(64).collect::<String>())
                } else {
                    s.to_string()
                }
            }
        },
    }
}

fn dict_vr(tag: Tag) -> Option<VR> {
    use dicom_core::dictionary::DataDictionary;
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.vr.relaxed())
}

fn is_numeric_vr(vr: VR) -> bool {
    matches!(
        vr,
        VR::DS
            | VR::IS
            | VR::US
            | VR::SS
            | VR::UL
            | VR::SL
            | VR::UV
            | VR::SV
            | VR::FL
            | VR::FD
            | VR::OF
            | VR::OD
            | VR::OL
            | VR::OV
            | VR::AT
    )
}

/// Whether a value still stored as UN may be kept: a public attribute the dictionary says is a
/// number (it cannot hold a name), or a private element kept by the safe-private allow-list.
fn un_keepable(tag: Tag, action: Action) -> bool {
    if tag.group() % 2 == 1 {
        action == Action::K
    } else {
        action == Action::K && dict_vr(tag).is_some_and(is_numeric_vr)
    }
}

fn dict_name(tag: Tag) -> String {
    use dicom_core::dictionary::DataDictionary;
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.alias.to_string())
        .unwrap_or_default()
}

impl Walk<'_> {
    fn default_plan(&self, tag: Tag, vr: VR) -> Option<Plan> {
        let opts = &self.profile.options;
        let p = |action, rule: &'static str| {
            Some(Plan {
                action,
                rule: rule.into(),
            })
        };
        if tag.element() == 0 {
            return p(Action::X, "group length (obsolete, recomputed)");
        }
        if tag.group() == 0x0002 {
            return p(Action::X, "file meta element inside the dataset");
        }
        if tag == Tag(0x0008, 0x0005) {
            return None;
        }
        match vr {
            VR::PN => p(Action::X, "person name not in Table E.1-1 (removed)"),
            vr if is_free_text(vr) => p(Action::X, "free text not in Table E.1-1 (removed)"),
            VR::DA | VR::DT => {
                if opts.contains(&DeidOption::RetainLongitudinalFullDates) {
                    p(Action::K, "date not in Table E.1-1 (full dates option)")
                } else if opts.contains(&DeidOption::RetainLongitudinalModifiedDates) {
                    p(Action::C, "date not in Table E.1-1 (modified dates option)")
                } else {
                    p(Action::X, "date not in Table E.1-1 (removed)")
                }
            }
            VR::UI if opts.contains(&DeidOption::RetainUids) => None,
            VR::UI => p(
                Action::U,
                "UID not in Table E.1-1 (remapped unless a DICOM UID)",
            ),
            // A public attribute written as UN (e.g. by an implicit-to-explicit converter that
            // did not know it): kept only when the dictionary says it is a number or binary
            // (contour points, doses…), which cannot hold a name; anything else goes.
            VR::UN if tag.group() % 2 == 0 && dict_vr(tag).is_some_and(is_numeric_vr) => p(
                Action::K,
                "public attribute encoded as UN, numeric in the dictionary (kept)",
            ),
            VR::UN => p(
                Action::X,
                "value of unknown VR not in Table E.1-1 (removed)",
            ),
            _ => None,
        }
    }

    fn plan(&self, tag: Tag, vr: VR, creators: &HashMap<(u16, u8), String>) -> Option<Plan> {
        if tag.group() % 2 == 1 {
            let private = self.profile.private_rule();
            let el = tag.element();
            if (0x0010..=0x00FF).contains(&el) {
                // A creator is kept only when an allow-listed element of its block is kept.
                let keep = creators.get(&(tag.group(), el as u8)).is_some_and(|c| {
                    self.profile
                        .options
                        .contains(&DeidOption::RetainSafePrivate)
                        && (0..=255u8).any(|off| self.profile.is_safe_private(tag.group(), c, off))
                });
                return Some(Plan {
                    action: if keep {
                        Action::K
                    } else {
                        private.action.min(Action::X)
                    },
                    rule: if keep {
                        "private creator of an allow-listed element".into()
                    } else {
                        "Table E.1-1: Private Attributes".into()
                    },
                });
            }
            let block = (el >> 8) as u8;
            let safe = el >= 0x1000
                && creators.get(&(tag.group(), block)).is_some_and(|c| {
                    self.profile
                        .is_safe_private(tag.group(), c, (el & 0xFF) as u8)
                });
            return Some(if safe {
                Plan {
                    action: Action::K,
                    rule: "retain_safe_private: on the safe private allow-list".into(),
                }
            } else {
                Plan {
                    action: Action::X,
                    rule: "Table E.1-1: Private Attributes".into(),
                }
            });
        }
        if tag == TEXT_VALUE && self.content_depth > 0 {
            // A TEXT content item: Type 1 in its item, so it is replaced rather than removed —
            // by a dummy (basic: the Content Sequence is D), or cleaned with the option.
            return Some(
                if self
                    .profile
                    .options
                    .contains(&DeidOption::CleanStructuredContent)
                {
                    Plan {
                        action: Action::C,
                        rule: CLEAN_SR_TEXT.into(),
                    }
                } else {
                    Plan {
                        action: Action::D,
                        rule: "Table E.1-1 basic: Content Sequence (D) — text value replaced by a dummy".into(),
                    }
                },
            );
        }
        let high = tag.group() & 0xFF00;
        if high == 0x5000 || high == 0x6000 {
            // Curves and overlays go whole: the table lists only their data and comments, but
            // the rest of the group (origin, rows, labels, descriptions) describes the same
            // graphics and may carry text. Overlays cannot be cleaned, so clean graphics does
            // not keep them either.
            return Some(Plan {
                action: Action::X,
                rule: if high == 0x5000 {
                    "Table E.1-1 basic: Curve Data (whole 50xx group removed)".into()
                } else {
                    "Table E.1-1 basic: Overlay Data (whole 60xx group removed)".into()
                },
            });
        }
        if let Some(r) = self.profile.rule_for(tag_u32(tag)) {
            let rule = match r.by {
                _ if !self.record.decisions() => Cow::Borrowed(""),
                Some(o) => format!("Table E.1-1 {}: {}", o.name(), r.row).into(),
                None => format!("Table E.1-1 basic: {}", r.row).into(),
            };
            return Some(Plan {
                action: r.action,
                rule,
            });
        }
        self.default_plan(tag, vr)
    }

    /// Applies the profile to every element of `ds` (recursively); `prefix` is the path so far.
    pub fn dataset(&mut self, ds: &mut InMemDicomObject, prefix: &str) {
        let tags: Vec<Tag> = ds.tags().collect();
        let creators: HashMap<(u16, u8), String> = ds
            .iter()
            .filter(|e| e.tag().group() % 2 == 1 && (0x10..=0xFF).contains(&e.tag().element()))
            .filter_map(|e| {
                let s = e.value().to_str().ok()?;
                Some((
                    (e.tag().group(), e.tag().element() as u8),
                    s.trim().to_string(),
                ))
            })
            .collect();
        let mut kept_blocks: HashSet<(u16, u8)> = HashSet::new();
        let record = self.record.decisions();
        // (an element kept as it is stays where it is: items are written with undefined
        // lengths whatever length they were read with, so nothing needs to be put back)
        for tag in tags {
            let Some((vr, nested)) = ds
                .get(tag)
                .map(|e| (e.vr(), matches!(e.value(), Value::Sequence(_))))
            else {
                continue;
            };
            let plan = self.plan(tag, vr, &creators);
            if plan.is_none() && !nested {
                // kept as it is, where it is
                if tag.group() % 2 == 1 && tag.element() >= 0x1000 {
                    kept_blocks.insert((tag.group(), (tag.element() >> 8) as u8));
                }
                continue;
            }
            let Some(elem) = ds.take(tag) else { continue };
            // (the path text is made only where a decision or a sequence needs it)
            let path = || {
                if record {
                    format!("{prefix}{}", tag_text(tag))
                } else {
                    String::new()
                }
            };
            let out = match plan {
                None => self.keep(elem, &path()),
                Some(plan) => self.act(elem, &path(), plan),
            };
            if let Some(e) = out {
                if e.tag().group() % 2 == 1 && e.tag().element() >= 0x1000 {
                    kept_blocks.insert((e.tag().group(), (e.tag().element() >> 8) as u8));
                }
                ds.put(e);
            }
        }
        // Drop creators whose blocks ended up empty.
        let orphan: Vec<Tag> = ds
            .tags()
            .filter(|t| {
                t.group() % 2 == 1
                    && (0x10..=0xFF).contains(&t.element())
                    && !kept_blocks.contains(&(t.group(), t.element() as u8))
            })
            .collect();
        for t in orphan {
            ds.remove_element(t);
        }
    }

    /// Default keep: sequences are still walked.
    fn keep(&mut self, elem: InMemElement, path: &str) -> Option<InMemElement> {
        let tag = elem.tag();
        let vr = elem.vr();
        match elem.into_value() {
            Value::Sequence(seq) => Some(self.walk_sequence(tag, seq, path)),
            v => Some(DataElement::new(tag, vr, v)),
        }
    }

    fn walk_sequence(
        &mut self,
        tag: Tag,
        mut seq: DataSetSequence<InMemDicomObject>,
        path: &str,
    ) -> InMemElement {
        let content = tag == CONTENT_SEQUENCE;
        if content {
            self.content_depth += 1;
        }
        for (i, item) in seq.items_mut().iter_mut().enumerate() {
            if self.record.decisions() {
                self.dataset(item, &format!("{path}[{i}]."));
            } else {
                self.dataset(item, "");
            }
        }
        if content {
            self.content_depth -= 1;
        }
        let items = std::mem::take(seq.items_mut());
        DataElement::new(
            tag,
            VR::SQ,
            Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED)),
        )
    }

    fn record(
        &mut self,
        path: &str,
        tag: Tag,
        action: Action,
        rule: &str,
        before: Option<String>,
        after: Option<String>,
    ) {
        if !self.record.decisions() {
            return;
        }
        self.decisions.push(Decision {
            path: path.to_string(),
            name: dict_name(tag),
            action,
            rule: rule.to_string(),
            before: if self.record.values() { before } else { None },
            after: if self.record.values() { after } else { None },
        });
    }

    fn act(&mut self, elem: InMemElement, path: &str, plan: Plan) -> Option<InMemElement> {
        let tag = elem.tag();
        let vr = elem.vr();
        let before = self.record.values().then(|| value_summary(&elem));
        let mut action = plan.action;
        let mut rule = plan.rule;
        if vr == VR::UN
            && matches!(action, Action::K | Action::C | Action::U)
            && !un_keepable(tag, action)
        {
            // Intake decodes every UN it can; what is left is opaque to the rules (an unknown
            // tag, a damaged value, a bound reached), so it is never kept as it is.
            action = Action::X;
            rule = format!("{rule}; stored as UN and not decodable, removed").into();
        }
        let out: Option<InMemElement> = match (action, vr) {
            (Action::X, _) => None,
            (Action::Z, VR::SQ) => Some(DataElement::new(
                tag,
                VR::SQ,
                Value::Sequence(DataSetSequence::new(
                    Vec::<InMemDicomObject>::new(),
                    Length::UNDEFINED,
                )),
            )),
            (Action::Z, _) => Some(DataElement::new(tag, vr, PrimitiveValue::Empty)),
            (Action::K | Action::D | Action::C | Action::U, VR::SQ) => match elem.into_value() {
                Value::Sequence(seq) => Some(self.walk_sequence(tag, seq, path)),
                _ => None,
            },
            (Action::D, VR::UI) | (Action::U, VR::UI) => {
                let s = elem
                    .value()
                    .to_str()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                let new: Vec<String> = s
                    .split('\\')
                    .map(|u| remap_uid(self.keys, u.trim()))
                    .collect();
                Some(DataElement::new(
                    tag,
                    vr,
                    PrimitiveValue::from(new.join("\\")),
                ))
            }
            (Action::D, _) => match dummy_text(vr) {
                Some(d) => Some(DataElement::new(tag, vr, PrimitiveValue::from(d))),
                None => Some(DataElement::new(tag, vr, PrimitiveValue::Empty)),
            },
            (Action::C, VR::DA | VR::DT) => {
                let s = elem
                    .value()
                    .to_str()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                let shifted = if vr == VR::DA {
                    shift_da_value(&s, self.date_offset_days)
                } else {
                    shift_dt_value(&s, self.date_offset_days)
                };
                match shifted {
                    Some(v) => Some(DataElement::new(tag, vr, PrimitiveValue::from(v))),
                    None => {
                        action = Action::X;
                        rule = format!("{rule}; not a shiftable date, removed").into();
                        None
                    }
                }
            }
            // (the plan for a TEXT content item's value: cleaned under the option)
            (Action::C, vr) if is_free_text(vr) && tag == TEXT_VALUE && self.content_depth > 0 => {
                let s = elem
                    .value()
                    .to_str()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                Some(DataElement::new(
                    tag,
                    vr,
                    PrimitiveValue::from(self.scrub.clean(&s)),
                ))
            }
            (Action::C, vr) if is_free_text(vr) => {
                // Long free text cannot be shown clean by cutting known values out: remove it.
                action = Action::X;
                rule = format!("{rule}; free text cannot be proven clean, removed").into();
                None
            }
            (Action::C, vr) if is_text(vr) => {
                let s = elem
                    .value()
                    .to_str()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                let mut cleaned = self.scrub.clean_descriptor(&s);
                if cleaned.is_empty() && !s.trim_matches(['\0', ' ']).is_empty() {
                    // Nothing safe left: the value the basic profile's D would write (the
                    // attribute may be type 1, so it is not left empty).
                    cleaned = dummy_text(vr).unwrap_or_default().to_string();
                    rule = format!("{rule}; nothing left after cleaning, dummy value").into();
                }
                Some(DataElement::new(tag, vr, PrimitiveValue::from(cleaned)))
            }
            (Action::K | Action::C | Action::U, _) => Some(elem),
        };
        let after = match (&out, self.record.values()) {
            (Some(e), true) => Some(value_summary(e)),
            _ => None,
        };
        // Unchanged keeps by a rule are recorded too: inspect shows the rule behind every listed element.
        self.record(path, tag, action, &rule, before, after);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_text_is_the_usual_spelling() {
        for t in [
            Tag(0x0000, 0x0000),
            Tag(0x0010, 0x0010),
            Tag(0x7FE0, 0x0010),
            Tag(0xFFFE, 0xE00D),
            Tag(0x0029, 0x10AB),
        ] {
            assert_eq!(
                tag_text(t),
                format!("({:04X},{:04X})", t.group(), t.element())
            );
        }
    }
}
