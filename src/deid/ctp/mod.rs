//! CTP DicomAnonymizer script compatibility: load a site's approved CTP script (XML or
//! properties form) and execute it faithfully — except that where CTP would pass the original
//! through (`@skip()`) or quietly continue, Deposit quarantines and says why.
//!
//! Pure like the rest of `deid`: the clock and the `@integer` store come in through [`Env`], the
//! lookup table through the engine's [`Context`](super::Context).

pub mod eval;
pub mod filter;
pub mod names;
pub mod parse;
pub mod pixel;
pub mod run;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::InMemDicomObject;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::{
    hygiene, keyed, risk, Action, Context, Decision, Deidentified, Keys, Profile, Quarantine,
    QuarantineCode,
};
use crate::error::{Classify, ErrorClass};
use names::Target;
use parse::Node;

/// Bumped when Deposit's reading of CTP scripts changes (part of a script profile's identity).
pub const SEMANTICS: &str = "deposit-ctp/2";

/// A script that cannot be loaded (position and rule only; scripts carry no PHI, but values
/// are still never quoted beyond the tag and a short reason).
#[derive(Debug, Error)]
pub enum CtpError {
    /// Malformed script text.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl Classify for CtpError {
    fn code(&self) -> &'static str {
        "deid.ctp_script_invalid"
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// One enabled element rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The element it applies to.
    pub target: Target,
    /// The `n` attribute (keyword or local name).
    pub name: String,
    /// The rule text as written.
    pub text: String,
    /// The parsed rule.
    pub nodes: Vec<Node>,
    /// Line in the script file.
    pub line: usize,
}

/// A loaded anonymizer script.
#[derive(Debug, Clone)]
pub struct Script {
    /// `<p>` / `param.` values.
    pub params: BTreeMap<String, String>,
    /// Enabled element rules (one per element; a later one replaces an earlier one).
    pub rules: Vec<Rule>,
    /// `<k t="gggg">` groups protected from the global removals.
    pub keep_groups: BTreeSet<u16>,
    /// `<k t="safeprivateelements">`.
    pub keep_safe_private: bool,
    /// `<r t="privategroups">`.
    pub remove_private: bool,
    /// `<r t="unspecifiedelements">`.
    pub remove_unspecified: bool,
    /// `<r t="curves">`.
    pub remove_curves: bool,
    /// `<r t="overlays">`.
    pub remove_overlays: bool,
    /// Local names of private rules (`n` attribute) → element.
    pub private_names: HashMap<String, Target>,
    /// Index of `rules` by fixed tag.
    pub by_tag: HashMap<Tag, usize>,
    /// Load-time notes (unknown functions that will be copied through as literal text), with
    /// their lines; shown by tools, never containing dataset values.
    pub warnings: Vec<String>,
}

impl Script {
    /// Parses either form, recognised by content (first non-blank character `<` → XML).
    pub fn parse(text: &str) -> Result<Script, CtpError> {
        if parse::is_xml(text) {
            parse::parse_xml(text)
        } else {
            parse::parse_properties(text)
        }
    }

    /// The canonical form the identity is computed from: enabled content only, sorted, so
    /// comments, layout and disabled rules do not change it.
    pub fn canonical(&self) -> String {
        let mut s = format!("semantics {SEMANTICS}\n");
        for (k, v) in &self.params {
            s.push_str(&format!("param {k}={v}\n"));
        }
        let mut rules: Vec<(String, &str)> = self
            .rules
            .iter()
            .map(|r| (r.target.label(), r.text.as_str()))
            .collect();
        rules.sort();
        for (t, text) in rules {
            s.push_str(&format!("set {t}={text}\n"));
        }
        for g in &self.keep_groups {
            s.push_str(&format!("keep {g:04x}\n"));
        }
        for (on, what) in [
            (self.keep_safe_private, "keep safeprivateelements"),
            (self.remove_private, "remove privategroups"),
            (self.remove_unspecified, "remove unspecifiedelements"),
            (self.remove_curves, "remove curves"),
            (self.remove_overlays, "remove overlays"),
        ] {
            if on {
                s.push_str(what);
                s.push('\n');
            }
        }
        s
    }

    /// Hex SHA-256 of [`Script::canonical`].
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }
}

/// True when `text` is a CTP anonymizer script rather than a Deposit TOML profile: XML (first
/// non-blank character `<`), or properties lines (`set.`, `param.`, `keep.`, `remove.`) and no
/// TOML `kind`.
pub fn looks_like_script(text: &str) -> bool {
    if parse::is_xml(text) {
        return true;
    }
    let key = |l: &str| {
        let l = l.trim_start_matches('#').trim();
        ["set.", "param.", "keep.", "remove."]
            .iter()
            .any(|p| l.starts_with(p))
    };
    text.lines().any(key) && !text.lines().any(|l| l.trim_start().starts_with("kind"))
}

/// Wall-clock fields for @date/@time (local time, read by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Year.
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
    /// Day 1–31.
    pub day: u32,
    /// Hour 0–23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
}

impl Now {
    /// From seconds since the Unix epoch plus a UTC offset in seconds.
    pub fn from_unix(secs: i64, utc_offset_secs: i64) -> Now {
        let t = secs + utc_offset_secs;
        let days = t.div_euclid(86_400);
        let rem = t.rem_euclid(86_400);
        let (y, m, d) = crate::calendar::civil_from_days(days);
        Now {
            year: y as i32,
            month: m,
            day: d,
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
        }
    }
}

/// The persistent counter behind `@integer`: one sequence per key type, the same number for
/// the same value on every call and run.
pub trait IntegerStore: Send + Sync {
    /// The number for (`key_type`, `value`), assigning the next one (1, 2, …) if new.
    fn get_or_assign(&self, key_type: &str, value: &str) -> Result<u64, String>;
}

/// An in-memory [`IntegerStore`] (tests; a run that needs no persistence).
#[derive(Debug, Default)]
pub struct MemoryIntegers {
    map: Mutex<HashMap<(String, String), u64>>,
}

impl IntegerStore for MemoryIntegers {
    fn get_or_assign(&self, key_type: &str, value: &str) -> Result<u64, String> {
        let mut m = self.map.lock().map_err(|_| "store poisoned".to_string())?;
        let next = m.keys().filter(|(k, _)| k == key_type).count() as u64 + 1;
        Ok(*m
            .entry((key_type.to_string(), value.to_string()))
            .or_insert(next))
    }
}

/// What a script run needs from outside: the clock and the @integer store.
#[derive(Clone, Default)]
pub struct Env {
    /// Current local time (for @date/@time); without it those functions quarantine.
    pub now: Option<Now>,
    /// Store for @integer; without it @integer quarantines.
    pub integers: Option<Arc<dyn IntegerStore>>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("now", &self.now)
            .field("integers", &self.integers.is_some())
            .finish()
    }
}

/// A script bound to its runtime environment: what a CTP profile carries.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The script.
    pub script: Arc<Script>,
    /// Clock and store.
    pub env: Env,
}

/// Why a script stopped processing an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// `@quarantine()`.
    Quarantine {
        /// Rule (tag label).
        rule: String,
    },
    /// `@skip()` — CTP would pass the original on unmodified.
    Skip {
        /// Rule.
        rule: String,
    },
    /// `@lookup` (or a lookup-based function) found no entry.
    LookupMissing {
        /// Rule.
        rule: String,
        /// Key type.
        key_type: String,
        /// The missing key (PHI: quarantine record only).
        key: String,
    },
    /// A function Deposit does not execute.
    Unsupported {
        /// Rule.
        rule: String,
        /// Function name.
        function: String,
    },
    /// Any other failure.
    Error {
        /// Rule.
        rule: String,
        /// What went wrong (no values).
        message: String,
    },
}

impl Stop {
    /// The quarantine decision for this stop.
    pub fn quarantine(self) -> Quarantine {
        let q = |code, reason: String| Quarantine {
            code,
            reason,
            missing_key: None,
        };
        match self {
            Stop::Quarantine { rule } => q(
                QuarantineCode::CtpQuarantine,
                format!("the CTP script's rule for {rule} called @quarantine()"),
            ),
            Stop::Skip { rule } => q(
                QuarantineCode::CtpSkip,
                format!("the CTP script's rule for {rule} called @skip(): CTP would pass the original object on unmodified; Deposit holds it instead"),
            ),
            Stop::LookupMissing {
                rule,
                key_type,
                key,
            } => Quarantine {
                code: QuarantineCode::LookupMissing,
                reason: format!(
                    "the CTP script's rule for {rule} found no lookup table entry of key type '{key_type}'"
                ),
                missing_key: Some(format!("{key_type}/{key}")),
            },
            Stop::Unsupported { rule, function } => q(
                QuarantineCode::CtpError,
                format!("the CTP script's rule for {rule} uses @{function}, which Deposit does not support (unsupported function)"),
            ),
            Stop::Error { rule, message } => q(
                QuarantineCode::CtpError,
                format!("the CTP script's rule for {rule} failed: {message}"),
            ),
        }
    }
}

/// The shipped safe-private allow-list as (group, CREATOR uppercased, offset).
pub fn safe_private() -> &'static HashSet<(u16, String, u8)> {
    static SET: OnceLock<HashSet<(u16, String, u8)>> = OnceLock::new();
    SET.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct F {
            element: Vec<super::profile::SafePrivate>,
        }
        toml::from_str::<F>(super::profile::SHIPPED_SAFE_PRIVATE)
            .map(|f| {
                f.element
                    .iter()
                    .filter_map(|e| {
                        Some((
                            u16::from_str_radix(&e.group, 16).ok()?,
                            e.creator.trim().to_ascii_uppercase(),
                            u8::from_str_radix(&e.element, 16).ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn text(ds: &InMemDicomObject, tag: Tag) -> String {
    ds.get(tag).map(names::text_of).unwrap_or_default()
}

/// De-identifies one object with a CTP script (the engine behind a CTP profile), then applies
/// Deposit's output hygiene. Fails closed: burned-in risk, @skip, @quarantine, lookup misses
/// and every script error quarantine.
pub fn deidentify(
    mut ds: InMemDicomObject,
    transfer_syntax: &str,
    profile: &Profile,
    engine: &Engine,
    keys: &Keys,
    ctx: Context<'_>,
) -> Result<Deidentified, Quarantine> {
    let mut decisions = Vec::new();
    if let Some(why) = risk::burned_in_risk(&ds) {
        match ctx.mask_rule {
            None => {
                return Err(Quarantine {
                    code: QuarantineCode::NeedsPixelReview,
                    reason: format!("needs pixel review: {why}, and no mask rule applies"),
                    missing_key: None,
                })
            }
            Some(rule) => decisions.push(Decision {
                path: "(7FE0,0010)".into(),
                name: "PixelData".into(),
                action: Action::C,
                rule: format!("burned-in risk ({why}); mask rule '{rule}' applied by the caller"),
                before: None,
                after: None,
            }),
        }
    }
    super::decode_code_extensions(&mut ds, &mut decisions)?;
    let original_id = text(&ds, Tag(0x0010, 0x0020));
    let mut runner = run::Runner {
        script: &engine.script,
        env: &engine.env,
        lookup: ctx.lookup,
        record_values: ctx.record.values(),
        decisions,
    };
    runner
        .dataset(&mut ds, None, "")
        .map_err(Stop::quarantine)?;
    let mut decisions = runner.decisions;
    // CTP's writer leaves group lengths out; kept ones would be wrong after the removals.
    if hygiene::drop_group_lengths(&mut ds) > 0 {
        decisions.push(Decision {
            path: "(gggg,0000)".into(),
            name: "GroupLength".into(),
            action: Action::X,
            rule: "group length elements dropped (retired; wrong after removals)".into(),
            before: None,
            after: None,
        });
    }
    // Deposit hygiene beyond CTP (fail closed): coded entries from local schemes carry site
    // free text in their meanings, which no stock CTP script touches; they become the code value.
    super::codes::clean_local_codes(&mut ds, &mut decisions, "");
    // CTP assumes and writes ISO_IR 100 when the dataset declares no character set.
    if ds.get(Tag(0x0008, 0x0005)).is_none() {
        ds.put(DataElement::new(
            Tag(0x0008, 0x0005),
            VR::CS,
            PrimitiveValue::from("ISO_IR 100"),
        ));
    }
    mark(&mut ds, profile);
    if hygiene::settle_charset(&mut ds) {
        decisions.push(Decision {
            path: "(0008,0005)".into(),
            name: "SpecificCharacterSet".into(),
            action: Action::C,
            rule: "character set not writable as declared; values written as UTF-8".into(),
            before: None,
            after: None,
        });
    }
    let meta = hygiene::file_meta(&ds, transfer_syntax).ok_or(Quarantine {
        code: QuarantineCode::MissingUid,
        reason: "SOP Class UID or SOP Instance UID is missing; no valid output can be made".into(),
        missing_key: None,
    })?;
    // Folder names come from new identifiers only: when the script kept (or emptied) the
    // patient ID, a keyed pseudonym names the folder instead.
    let new_id = text(&ds, Tag(0x0010, 0x0020));
    let folder = if new_id.is_empty() || new_id == original_id {
        keyed::pseudonym(keys, &original_id)
    } else {
        new_id
    };
    let relative_path = hygiene::output_path(&ds, &folder);
    Ok(Deidentified {
        dataset: ds,
        meta,
        decisions,
        relative_path,
    })
}

/// Patient Identity Removed and De-identification Method (appended to the script's own).
fn mark(ds: &mut InMemDicomObject, profile: &Profile) {
    ds.put(DataElement::new(
        Tag(0x0012, 0x0062),
        VR::CS,
        PrimitiveValue::from("YES"),
    ));
    let mut ours = format!("Deposit {}", profile.label());
    ours.truncate(64);
    let existing = text(ds, Tag(0x0012, 0x0063));
    let mut values: Vec<String> = existing
        .split('\\')
        .map(|v| v.trim().chars().take(64).collect::<String>())
        .filter(|v| !v.is_empty())
        .collect();
    values.push(ours);
    ds.put(DataElement::new(
        Tag(0x0012, 0x0063),
        VR::LO,
        PrimitiveValue::Strs(values.into_iter().collect()),
    ));
}

#[cfg(test)]
mod tests;
