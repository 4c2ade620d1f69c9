//! Applying a CTP script to one dataset, in CTP's order (docs/protocols.md, "Anonymizer scripts"): the insert pass,
//! the walk over the original elements with protected elements and global removals, result
//! directives, @process into sequence items, and the DeIdentificationMethodCodeSequence.
//! Rules read the untouched original; edits are collected and applied afterwards.

use std::collections::HashSet;

use dicom_core::dictionary::DataDictionary;
use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_object::mem::InMemElement;
use dicom_object::InMemDicomObject;

use super::eval::Ctx;
use super::names::{creator_of, text_of, Reader, Target};
use super::{Env, Rule, Script, Stop};
use crate::deid::action::Action;
use crate::deid::apply::{tag_text, value_summary};
use crate::deid::{Decision, LookupTable};

const CODE_SEQ: Tag = Tag(0x0012, 0x0064);
const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

/// Per-object state.
pub struct Runner<'a> {
    /// The script.
    pub script: &'a Script,
    /// Clock and integer store.
    pub env: &'a Env,
    /// Lookup table.
    pub lookup: Option<&'a LookupTable>,
    /// Record before/after values.
    pub record_values: bool,
    /// What was done.
    pub decisions: Vec<Decision>,
}

enum Edit {
    Remove(Tag),
    Put(InMemElement),
}

fn dict_vr(tag: Tag) -> Option<VR> {
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.vr.relaxed())
}

fn dict_name(tag: Tag) -> String {
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.alias.to_string())
        .unwrap_or_default()
}

fn is_overlay(t: Tag) -> bool {
    t.group() & 0xFF00 == 0x6000 && t.group() % 2 == 0
}

fn is_curve(t: Tag) -> bool {
    t.group() & 0xFF00 == 0x5000 && t.group() % 2 == 0
}

/// The primitive value for `values` in an element of `vr`; `Err` when the VR cannot hold text.
fn make_value(vr: VR, values: &[String]) -> Result<PrimitiveValue, String> {
    fn nums<T: std::str::FromStr>(v: &[String]) -> Result<Vec<T>, String> {
        v.iter()
            .map(|s| {
                s.trim()
                    .parse::<T>()
                    .map_err(|_| "a numeric element got a non-numeric value".to_string())
            })
            .collect()
    }
    use dicom_core::smallvec::SmallVec;
    Ok(match vr {
        VR::US => PrimitiveValue::U16(SmallVec::from_vec(nums(values)?)),
        VR::SS => PrimitiveValue::I16(SmallVec::from_vec(nums(values)?)),
        VR::UL => PrimitiveValue::U32(SmallVec::from_vec(nums(values)?)),
        VR::SL => PrimitiveValue::I32(SmallVec::from_vec(nums(values)?)),
        VR::UV => PrimitiveValue::U64(SmallVec::from_vec(nums(values)?)),
        VR::SV => PrimitiveValue::I64(SmallVec::from_vec(nums(values)?)),
        VR::FL => PrimitiveValue::F32(SmallVec::from_vec(nums(values)?)),
        VR::FD => PrimitiveValue::F64(SmallVec::from_vec(nums(values)?)),
        VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN | VR::AT | VR::SQ => {
            return Err(format!(
                "a text value cannot be written into a {vr:?} element"
            ))
        }
        _ => PrimitiveValue::Strs(values.iter().cloned().collect()),
    })
}

/// What `@empty()` writes: nothing, except one space in a Person Name (as CTP writes it).
fn empty_value(tag: Tag, vr: VR) -> InMemElement {
    if vr == VR::PN {
        DataElement::new(tag, vr, PrimitiveValue::from(" "))
    } else {
        DataElement::new(tag, vr, PrimitiveValue::Empty)
    }
}

fn empty_sq(tag: Tag) -> InMemElement {
    DataElement::new(
        tag,
        VR::SQ,
        Value::Sequence(DataSetSequence::new(
            Vec::<InMemDicomObject>::new(),
            Length::UNDEFINED,
        )),
    )
}

/// CID 7050 meanings for the codes CTP writes.
fn code_meaning(code: &str) -> Option<&'static str> {
    Some(match code {
        "113100" => "Basic Application Confidentiality Profile",
        "113101" => "Clean Pixel Data Option",
        "113102" => "Clean Recognizable Visual Features Option",
        "113103" => "Clean Graphics Option",
        "113104" => "Clean Structured Content Option",
        "113105" => "Clean Descriptors Option",
        "113106" => "Retain Longitudinal Temporal Information Full Dates Option",
        "113107" => "Retain Longitudinal Temporal Information Modified Dates Option",
        "113108" => "Retain Patient Characteristics Option",
        "113109" => "Retain Device Identity Option",
        "113110" => "Retain UIDs Option",
        "113111" => "Retain Safe Private Option",
        "113112" => "Retain Institution Identity Option",
        _ => return None,
    })
}

fn code_item(code: &str) -> InMemDicomObject {
    let (scheme, meaning) = match code_meaning(code) {
        Some(m) => ("DCM", m),
        None => ("UNKNOWN", "UNKNOWN"),
    };
    InMemDicomObject::from_element_iter([
        DataElement::new(Tag(0x0008, 0x0100), VR::SH, PrimitiveValue::from(code)),
        DataElement::new(Tag(0x0008, 0x0102), VR::SH, PrimitiveValue::from(scheme)),
        DataElement::new(Tag(0x0008, 0x0104), VR::LO, PrimitiveValue::from(meaning)),
    ])
}

impl Runner<'_> {
    fn decide(
        &mut self,
        path: String,
        tag: Tag,
        action: Action,
        rule: String,
        before: Option<&InMemElement>,
        after: Option<&InMemElement>,
    ) {
        let rv = self.record_values;
        self.decisions.push(Decision {
            path,
            name: dict_name(tag),
            action,
            rule,
            before: if rv { before.map(value_summary) } else { None },
            after: if rv { after.map(value_summary) } else { None },
        });
    }

    fn rule_label(rule: &Rule) -> String {
        let mut text: String = rule.text.chars().take(80).collect();
        if rule.text.chars().count() > 80 {
            text.push('…');
        }
        format!(
            "CTP rule {} (line {}): {text}",
            rule.target.label(),
            rule.line
        )
    }

    fn ctx<'b>(
        &'b self,
        root: &'b InMemDicomObject,
        ds: &'b InMemDicomObject,
        this: Tag,
        in_item: bool,
        rule: &Rule,
    ) -> Ctx<'b> {
        Ctx {
            script: self.script,
            env: self.env,
            lookup: self.lookup,
            reader: Reader { root, ds, this },
            in_item,
            rule: rule.target.label(),
            notes: Vec::new(),
            depth: 0,
        }
    }

    /// Applies the script to `ds` (a top-level dataset when `root` is `None`).
    pub fn dataset(
        &mut self,
        ds: &mut InMemDicomObject,
        root: Option<&InMemDicomObject>,
        prefix: &str,
    ) -> Result<(), Stop> {
        let edits = {
            let orig: &InMemDicomObject = ds;
            let root = root.unwrap_or(orig);
            let in_item = !prefix.is_empty();
            // Elements are created at the top level only (not in every @process'ed item).
            let mut edits = if in_item {
                Vec::new()
            } else {
                self.insert_pass(orig, root, in_item, prefix)?
            };
            edits.extend(self.walk(orig, root, in_item, prefix)?);
            edits
        };
        for e in edits {
            match e {
                Edit::Remove(t) => {
                    ds.remove_element(t);
                }
                Edit::Put(e) => {
                    ds.put(e);
                }
            }
        }
        Ok(())
    }

    fn insert_pass(
        &mut self,
        orig: &InMemDicomObject,
        root: &InMemDicomObject,
        in_item: bool,
        prefix: &str,
    ) -> Result<Vec<Edit>, Stop> {
        let mut edits = Vec::new();
        let script = self.script;
        for rule in &script.rules {
            let tag = match &rule.target {
                Target::Tag(t) => Some(*t),
                Target::Private { .. } => rule.target.resolve(orig),
            };
            if tag == Some(CODE_SEQ) {
                if in_item {
                    continue;
                }
                edits.extend(self.code_sequence(orig, root, rule)?);
                continue;
            }
            if tag.is_some_and(|t| orig.get(t).is_some()) {
                continue;
            }
            let text = rule.text.trim_start();
            let inserting = text.starts_with("@always()") || text.contains("@require(");
            if !inserting {
                continue;
            }
            let probe = tag.unwrap_or(Tag(0xFFFF, 0xFFFF));
            let mut ctx = self.ctx(root, orig, probe, in_item, rule);
            let out = ctx.eval(&rule.nodes)?;
            let notes = ctx.notes;
            let out = out.trim().to_string();
            if out.contains("@remove()") || out == "@keep()" || out == "@process()" {
                continue;
            }
            // Where to create it: a private creator form needs a block.
            let (tag, creator_edit) = match (tag, &rule.target) {
                (Some(t), _) => (t, None),
                (
                    None,
                    Target::Private {
                        group,
                        creator,
                        offset,
                    },
                ) => {
                    let Some(block) =
                        (0x10u16..=0xFF).find(|b| orig.get(Tag(*group, *b)).is_none())
                    else {
                        continue;
                    };
                    let c = DataElement::new(
                        Tag(*group, block),
                        VR::LO,
                        PrimitiveValue::from(creator.as_str()),
                    );
                    (Tag(*group, (block << 8) | u16::from(*offset)), Some(c))
                }
                (None, Target::Tag(t)) => (*t, None),
            };
            let vr = if tag.group() % 2 == 1 {
                if (0x10..=0xFF).contains(&tag.element()) || out.chars().count() <= 64 {
                    VR::LO
                } else {
                    VR::LT
                }
            } else {
                dict_vr(tag).unwrap_or(VR::LO)
            };
            let elem = if vr == VR::SQ {
                // Only an empty sequence can be created (e.g. by @always()@require()).
                if out.starts_with("@empty()") || out.starts_with("@blank(") || out.is_empty() {
                    empty_sq(tag)
                } else {
                    continue;
                }
            } else if out.starts_with("@empty()") {
                empty_value(tag, vr)
            } else if let Some(n) = blank_len(&out) {
                DataElement::new(tag, vr, PrimitiveValue::from(" ".repeat(n)))
            } else {
                let values: Vec<String> = out.split('\\').map(str::to_string).collect();
                let v = make_value(vr, &values).map_err(|m| Stop::Error {
                    rule: rule.target.label(),
                    message: m,
                })?;
                DataElement::new(tag, vr, v)
            };
            let mut label = format!("{} — inserted (element was absent)", Self::rule_label(rule));
            for n in notes {
                label.push_str("; ");
                label.push_str(&n);
            }
            self.decide(
                format!("{prefix}{}", tag_text(tag)),
                tag,
                Action::D,
                label,
                None,
                Some(&elem),
            );
            if let Some(c) = creator_edit {
                edits.push(Edit::Put(c));
            }
            edits.push(Edit::Put(elem));
        }
        Ok(edits)
    }

    fn code_sequence(
        &mut self,
        orig: &InMemDicomObject,
        root: &InMemDicomObject,
        rule: &Rule,
    ) -> Result<Vec<Edit>, Stop> {
        let mut ctx = self.ctx(root, orig, CODE_SEQ, false, rule);
        let out = ctx.eval(&rule.nodes)?;
        let out = out.trim();
        let label = Self::rule_label(rule);
        let path = tag_text(CODE_SEQ);
        if out.contains("@remove()") {
            if orig.get(CODE_SEQ).is_some() {
                self.decide(path, CODE_SEQ, Action::X, label, orig.get(CODE_SEQ), None);
                return Ok(vec![Edit::Remove(CODE_SEQ)]);
            }
            return Ok(vec![]);
        }
        if out == "@keep()" || out.is_empty() {
            return Ok(vec![]);
        }
        let mut items: Vec<InMemDicomObject> = match orig.get(CODE_SEQ).map(|e| e.value()) {
            Some(Value::Sequence(s)) => s.items().to_vec(),
            _ => Vec::new(),
        };
        for code in out.split('/').map(str::trim).filter(|c| !c.is_empty()) {
            if code.eq_ignore_ascii_case("reset") {
                items.clear();
            } else {
                items.push(code_item(code));
            }
        }
        let elem = DataElement::new(
            CODE_SEQ,
            VR::SQ,
            Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED)),
        );
        self.decide(
            path,
            CODE_SEQ,
            Action::D,
            label,
            orig.get(CODE_SEQ),
            Some(&elem),
        );
        Ok(vec![Edit::Put(elem)])
    }

    fn protected(&self, ds: &InMemDicomObject, tag: Tag) -> bool {
        let s = self.script;
        let g = tag.group();
        if s.keep_groups.contains(&g)
            || matches!(g, 0x0002 | 0x0028 | 0x7FE0)
            || matches!(
                (g, tag.element()),
                (0x0008, 0x0016) | (0x0008, 0x0018) | (0x0020, 0x000D)
            )
        {
            return true;
        }
        if g % 2 == 1 && s.keep_safe_private {
            if (0x10..=0xFF).contains(&tag.element()) {
                return true;
            }
            if let Some(c) = creator_of(ds, tag) {
                if s.is_safe_private(g, &c, (tag.element() & 0xFF) as u8) {
                    return true;
                }
            }
        }
        (is_overlay(tag) && !s.remove_overlays) || (is_curve(tag) && !s.remove_curves)
    }

    fn walk(
        &mut self,
        orig: &InMemDicomObject,
        root: &InMemDicomObject,
        in_item: bool,
        prefix: &str,
    ) -> Result<Vec<Edit>, Stop> {
        let mut edits = Vec::new();
        let script = self.script;
        let mut done: HashSet<Tag> = HashSet::new();
        for elem in orig.iter() {
            let tag = elem.tag();
            if tag == CODE_SEQ && !in_item || !done.insert(tag) {
                continue;
            }
            let path = format!("{prefix}{}", tag_text(tag));
            let private = tag.group() % 2 == 1;
            let rule = script.rule_for(orig, tag);
            if tag > PIXEL_DATA {
                // CTP streams these: only private removal and @remove()/unspecified apply.
                let drop = if private {
                    script.remove_private && !self.protected(orig, tag)
                } else {
                    match rule {
                        Some(r) => r.text.contains("@remove()"),
                        None => script.remove_unspecified,
                    }
                };
                if drop {
                    let why = match rule {
                        Some(r) => Self::rule_label(r),
                        None if private => "CTP remove.privategroups".into(),
                        None => "CTP remove.unspecifiedelements".into(),
                    };
                    self.decide(path, tag, Action::X, why, Some(elem), None);
                    edits.push(Edit::Remove(tag));
                }
                continue;
            }
            let protected = self.protected(orig, tag);
            if private && rule.is_none() && script.remove_private && !protected {
                self.decide(
                    path,
                    tag,
                    Action::X,
                    "CTP remove.privategroups".into(),
                    Some(elem),
                    None,
                );
                edits.push(Edit::Remove(tag));
                continue;
            }
            if rule.is_none() && script.remove_unspecified && !protected {
                self.decide(
                    path,
                    tag,
                    Action::X,
                    "CTP remove.unspecifiedelements (no rule)".into(),
                    Some(elem),
                    None,
                );
                edits.push(Edit::Remove(tag));
                continue;
            }
            // CTP removes overlays for `remove.overlays`; `remove.curves` only lifts the curves'
            // protection from the other global removals (CTP writes them otherwise).
            if script.remove_overlays && is_overlay(tag) {
                self.decide(
                    path,
                    tag,
                    Action::X,
                    "CTP remove.overlays".into(),
                    Some(elem),
                    None,
                );
                edits.push(Edit::Remove(tag));
                continue;
            }
            let Some(rule) = rule else { continue };
            let mut ctx = self.ctx(root, orig, tag, in_item, rule);
            let out = ctx.eval(&rule.nodes)?;
            let notes = ctx.notes;
            let mut label = Self::rule_label(rule);
            for n in notes {
                label.push_str("; ");
                label.push_str(&n);
            }
            if let Some(e) = self.apply(elem, out.trim(), root, &path, label, rule)? {
                edits.push(e);
            }
        }
        Ok(edits)
    }

    /// Result handling (the second step of CTP's order) for an existing element.
    fn apply(
        &mut self,
        elem: &InMemElement,
        out: &str,
        root: &InMemDicomObject,
        path: &str,
        label: String,
        rule: &Rule,
    ) -> Result<Option<Edit>, Stop> {
        let tag = elem.tag();
        // A UN-encoded public attribute is written back with its dictionary VR.
        let vr = match elem.vr() {
            VR::UN => dict_vr(tag)
                .filter(|v| super::names::is_text_vr(*v))
                .unwrap_or(VR::UN),
            v => v,
        };
        if out.contains("@remove()") {
            self.decide(path.into(), tag, Action::X, label, Some(elem), None);
            return Ok(Some(Edit::Remove(tag)));
        }
        if out == "@keep()" {
            self.decide(path.into(), tag, Action::K, label, Some(elem), Some(elem));
            return Ok(None);
        }
        if out == "@process()" {
            let Value::Sequence(seq) = elem.value() else {
                self.decide(path.into(), tag, Action::K, label, Some(elem), Some(elem));
                return Ok(None);
            };
            let mut items = Vec::with_capacity(seq.items().len());
            for (i, item) in seq.items().iter().enumerate() {
                let mut it = item.clone();
                self.dataset(&mut it, Some(root), &format!("{path}[{i}]."))?;
                items.push(it);
            }
            let new = DataElement::new(
                tag,
                VR::SQ,
                Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED)),
            );
            self.decide(
                path.into(),
                tag,
                Action::K,
                format!("{label} (items processed)"),
                None,
                None,
            );
            return Ok(Some(Edit::Put(new)));
        }
        let new = if out.starts_with("@empty()") {
            if vr == VR::SQ {
                empty_sq(tag)
            } else {
                empty_value(tag, vr)
            }
        } else if let Some(n) = blank_len(out) {
            if vr == VR::SQ {
                empty_sq(tag)
            } else {
                DataElement::new(tag, vr, PrimitiveValue::from(" ".repeat(n)))
            }
        } else {
            let values: Vec<String> = out.split('\\').map(str::to_string).collect();
            let v = make_value(vr, &values).map_err(|m| Stop::Error {
                rule: rule.target.label(),
                message: m,
            })?;
            DataElement::new(tag, vr, v)
        };
        let action = if out.starts_with("@empty()") || out.starts_with("@blank(") {
            Action::Z
        } else if text_of(elem) == text_of(&new) {
            Action::K
        } else if vr == VR::UI {
            Action::U
        } else {
            Action::D
        };
        self.decide(path.into(), tag, action, label, Some(elem), Some(&new));
        Ok(Some(Edit::Put(new)))
    }
}

fn blank_len(out: &str) -> Option<usize> {
    let rest = out.strip_prefix("@blank(")?;
    let n = rest.split(')').next()?.trim().parse::<usize>().ok()?;
    Some(n.min(55))
}

impl Script {
    /// The enabled rule for the element `tag` of `ds`: by exact tag, then by private creator.
    pub fn rule_for(&self, ds: &InMemDicomObject, tag: Tag) -> Option<&Rule> {
        if let Some(r) = self.by_tag.get(&tag).and_then(|i| self.rules.get(*i)) {
            return Some(r);
        }
        if tag.group() % 2 == 1 && tag.element() >= 0x1000 {
            let creator = creator_of(ds, tag)?;
            let off = (tag.element() & 0xFF) as u8;
            return self.rules.iter().find(|r| match &r.target {
                Target::Private {
                    group,
                    creator: c,
                    offset,
                } => *group == tag.group() && *offset == off && c.eq_ignore_ascii_case(&creator),
                _ => false,
            });
        }
        None
    }

    /// True when (group, creator, offset) is on the safe private allow-list.
    pub fn is_safe_private(&self, group: u16, creator: &str, offset: u8) -> bool {
        super::safe_private().contains(&(group, creator.trim().to_ascii_uppercase(), offset))
    }
}
