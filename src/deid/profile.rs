//! Profiles: the Table E.1-1 base plus named options (overlays), compiled to per-tag rules.
//!
//! A profile file (`kind = "profile"`) names its base table, its options and, with the retain
//! safe private option, its private allow-list. Its identity is its name plus the SHA-256 of a
//! canonical text of the compiled rules, so two files that compile to the same rules share an
//! identity and any change to a rule changes it.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::action::Action;
use super::table::{parse_tag, Table, TagPattern, SHIPPED_TABLE};
use crate::error::{Classify, ErrorClass};

/// Bumped when the engine's reading of a profile changes, so identities change with it.
pub const SEMANTICS: &str = "deposit-annex-e/2";

/// The PS3.15 Annex E options (columns of Table E.1-1), with their CID 7050 codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeidOption {
    /// Retain Safe Private Option (113111).
    RetainSafePrivate,
    /// Retain UIDs Option (113110).
    RetainUids,
    /// Retain Device Identity Option (113109).
    RetainDeviceIdentity,
    /// Retain Institution Identity Option (113112).
    RetainInstitutionIdentity,
    /// Retain Patient Characteristics Option (113108).
    RetainPatientCharacteristics,
    /// Retain Longitudinal Temporal Information with Full Dates Option (113106).
    RetainLongitudinalFullDates,
    /// Retain Longitudinal Temporal Information with Modified Dates Option (113107).
    RetainLongitudinalModifiedDates,
    /// Clean Descriptors Option (113105).
    CleanDescriptors,
    /// Clean Structured Content Option (113104).
    CleanStructuredContent,
    /// Clean Graphics Option (113103).
    CleanGraphics,
}

impl DeidOption {
    /// Every option, in the table's column order.
    pub const ALL: [DeidOption; 10] = [
        DeidOption::RetainSafePrivate,
        DeidOption::RetainUids,
        DeidOption::RetainDeviceIdentity,
        DeidOption::RetainInstitutionIdentity,
        DeidOption::RetainPatientCharacteristics,
        DeidOption::RetainLongitudinalFullDates,
        DeidOption::RetainLongitudinalModifiedDates,
        DeidOption::CleanDescriptors,
        DeidOption::CleanStructuredContent,
        DeidOption::CleanGraphics,
    ];

    /// CID 7050 code value (scheme DCM).
    pub fn code(self) -> &'static str {
        match self {
            DeidOption::RetainSafePrivate => "113111",
            DeidOption::RetainUids => "113110",
            DeidOption::RetainDeviceIdentity => "113109",
            DeidOption::RetainInstitutionIdentity => "113112",
            DeidOption::RetainPatientCharacteristics => "113108",
            DeidOption::RetainLongitudinalFullDates => "113106",
            DeidOption::RetainLongitudinalModifiedDates => "113107",
            DeidOption::CleanDescriptors => "113105",
            DeidOption::CleanStructuredContent => "113104",
            DeidOption::CleanGraphics => "113103",
        }
    }

    /// CID 7050 code meaning.
    pub fn meaning(self) -> &'static str {
        match self {
            DeidOption::RetainSafePrivate => "Retain Safe Private Option",
            DeidOption::RetainUids => "Retain UIDs Option",
            DeidOption::RetainDeviceIdentity => "Retain Device Identity Option",
            DeidOption::RetainInstitutionIdentity => "Retain Institution Identity Option",
            DeidOption::RetainPatientCharacteristics => "Retain Patient Characteristics Option",
            DeidOption::RetainLongitudinalFullDates => {
                "Retain Longitudinal Temporal Information Full Dates Option"
            }
            DeidOption::RetainLongitudinalModifiedDates => {
                "Retain Longitudinal Temporal Information Modified Dates Option"
            }
            DeidOption::CleanDescriptors => "Clean Descriptors Option",
            DeidOption::CleanStructuredContent => "Clean Structured Content Option",
            DeidOption::CleanGraphics => "Clean Graphics Option",
        }
    }

    /// The snake_case name used in files.
    pub fn name(self) -> &'static str {
        match self {
            DeidOption::RetainSafePrivate => "retain_safe_private",
            DeidOption::RetainUids => "retain_uids",
            DeidOption::RetainDeviceIdentity => "retain_device_identity",
            DeidOption::RetainInstitutionIdentity => "retain_institution_identity",
            DeidOption::RetainPatientCharacteristics => "retain_patient_characteristics",
            DeidOption::RetainLongitudinalFullDates => "retain_longitudinal_full_dates",
            DeidOption::RetainLongitudinalModifiedDates => "retain_longitudinal_modified_dates",
            DeidOption::CleanDescriptors => "clean_descriptors",
            DeidOption::CleanStructuredContent => "clean_structured_content",
            DeidOption::CleanGraphics => "clean_graphics",
        }
    }
}

/// CID 7050 code of the Basic Application Confidentiality Profile.
pub const BASIC_PROFILE_CODE: (&str, &str) =
    ("113100", "Basic Application Confidentiality Profile");

/// Profile loading and compiling failures (names and paths only).
#[derive(Debug, Error)]
pub enum ProfileError {
    /// Neither a shipped profile name nor a readable file.
    #[error("no shipped profile is called '{name}' and no such file exists (try `deposit profile list`)")]
    Unknown {
        /// What was asked for.
        name: String,
    },
    /// The file could not be read.
    #[error("cannot read the profile {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid profile.
    #[error("the profile {what} is not valid: {message}")]
    Invalid {
        /// Name or path.
        what: String,
        /// What is wrong.
        message: String,
    },
}

impl Classify for ProfileError {
    fn code(&self) -> &'static str {
        match self {
            ProfileError::Unknown { .. } => "deid.profile_unknown",
            ProfileError::Read { .. } => "deid.profile_read",
            ProfileError::Invalid { .. } => "deid.profile_invalid",
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// A private element allowed through by the retain safe private option.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SafePrivate {
    /// Odd group, 4 hex digits.
    pub group: String,
    /// Private creator string (compared trimmed).
    pub creator: String,
    /// Element offset within the creator's block, 2 hex digits.
    pub element: String,
    /// What it holds (documentation).
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
struct SafePrivateFile {
    element: Vec<SafePrivate>,
}

/// The shipped private allow-list (vendor PET SUV factors and the like).
pub const SHIPPED_SAFE_PRIVATE: &str = include_str!("../../profiles/safe-private.toml");

/// A profile definition file (`kind = "profile"`).
#[derive(Debug, Deserialize)]
struct ProfileFile {
    name: String,
    kind: String,
    base: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    options: Vec<DeidOption>,
    /// Inline allow-list; when absent and retain_safe_private is on, the shipped list is used.
    #[serde(default)]
    safe_private: Option<Vec<SafePrivate>>,
    /// Objects carrying an encapsulated document are left out instead of held.
    #[serde(default)]
    drop_encapsulated_documents: bool,
}

/// The shipped profiles: (name, file text).
pub const SHIPPED: &[(&str, &str)] = &[
    ("ps3.15-basic", SHIPPED_TABLE),
    (
        "research-longitudinal",
        include_str!("../../profiles/research-longitudinal.toml"),
    ),
];

/// The shipped PS3.15 table, parsed once per process, when `text` is its text (else `None`).
fn shipped_table(text: &str) -> Option<&'static Table> {
    static PARSED: std::sync::OnceLock<Option<Table>> = std::sync::OnceLock::new();
    if text != SHIPPED_TABLE {
        return None;
    }
    PARSED
        .get_or_init(|| Table::parse(SHIPPED_TABLE).ok())
        .as_ref()
}

/// Where a rule came from, for decisions and `deposit inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The action.
    pub action: Action,
    /// The table row's attribute name.
    pub row: String,
    /// The option that set the action, if not the basic profile.
    pub by: Option<DeidOption>,
}

/// A compiled profile: what the engine applies.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Standard edition of the base table.
    pub edition: String,
    /// Options in force.
    pub options: BTreeSet<DeidOption>,
    /// Hex SHA-256 of the canonical form.
    pub sha256: String,
    exact: HashMap<u32, Rule>,
    repeating: Vec<(u16, Option<u16>, Rule)>,
    private: Rule,
    safe_private: BTreeSet<(u16, String, u8)>,
    /// Set when the profile is a CTP DicomAnonymizer script: that engine runs instead.
    pub ctp: Option<super::ctp::Engine>,
    /// Objects carrying an encapsulated document (PDF, CDA, STL, OBJ, MTL) are left out and
    /// reported instead of held in the quarantine (profile file: `drop_encapsulated_documents`).
    pub drop_encapsulated_documents: bool,
}

fn invalid(what: &str, message: impl Into<String>) -> ProfileError {
    ProfileError::Invalid {
        what: what.to_string(),
        message: message.into(),
    }
}

/// The option action that wins when several options name the same row: keep beats clean.
fn overlay(row_action: Action, opts: &[(DeidOption, Action)]) -> (Action, Option<DeidOption>) {
    let mut best: Option<(DeidOption, Action)> = None;
    for &(o, a) in opts {
        best = match best {
            Some((_, Action::K)) => best,
            _ if a == Action::K => Some((o, a)),
            None => Some((o, a)),
            keep => keep,
        };
    }
    match best {
        Some((o, a)) => (a, Some(o)),
        None => (row_action, None),
    }
}

impl Profile {
    /// Compiles `table` with `options` into a profile called `name`.
    pub fn compile(
        name: &str,
        description: &str,
        table: &Table,
        options: &BTreeSet<DeidOption>,
        safe_private: &[SafePrivate],
    ) -> Result<Profile, ProfileError> {
        if options.contains(&DeidOption::RetainLongitudinalFullDates)
            && options.contains(&DeidOption::RetainLongitudinalModifiedDates)
        {
            return Err(invalid(
                name,
                "full dates and modified dates cannot both be retained",
            ));
        }
        let mut exact = HashMap::new();
        let mut repeating = Vec::new();
        let mut private = None;
        for row in &table.rows {
            let applicable: Vec<(DeidOption, Action)> = row
                .options
                .iter()
                .filter(|(o, _)| options.contains(o))
                .map(|(o, a)| (*o, *a))
                .collect();
            let (action, by) = overlay(row.action, &applicable);
            let rule = Rule {
                action,
                row: row.name.clone(),
                by,
            };
            match parse_tag(&row.tag) {
                Some(TagPattern::Exact(t)) => {
                    exact.insert(t, rule);
                }
                Some(TagPattern::Repeating { high, element }) => {
                    repeating.push((high, element, rule))
                }
                Some(TagPattern::Private) => private = Some(rule),
                None => return Err(invalid(name, format!("bad tag {}", row.tag))),
            }
        }
        let private = private.ok_or_else(|| invalid(name, "the table has no private row"))?;
        let mut allow = BTreeSet::new();
        if options.contains(&DeidOption::RetainSafePrivate) {
            for sp in safe_private {
                let g = u16::from_str_radix(&sp.group, 16)
                    .ok()
                    .filter(|g| g % 2 == 1)
                    .ok_or_else(|| invalid(name, format!("bad private group {}", sp.group)))?;
                let e = u8::from_str_radix(&sp.element, 16)
                    .map_err(|_| invalid(name, format!("bad private element {}", sp.element)))?;
                allow.insert((g, sp.creator.trim().to_string(), e));
            }
        }
        let mut p = Profile {
            name: name.to_string(),
            description: description.to_string(),
            edition: table.edition.clone(),
            options: options.clone(),
            sha256: String::new(),
            exact,
            repeating,
            private,
            safe_private: allow,
            ctp: None,
            drop_encapsulated_documents: false,
        };
        p.sha256 = hex::encode(Sha256::digest(p.canonical().as_bytes()));
        Ok(p)
    }

    /// The canonical text the identity is computed from: every rule, sorted, one per line.
    pub fn canonical(&self) -> String {
        if let Some(e) = &self.ctp {
            return e.script.canonical();
        }
        let mut s = format!(
            "semantics {SEMANTICS}\nname {}\nedition {}\n",
            self.name, self.edition
        );
        for o in &self.options {
            s.push_str(&format!("option {}\n", o.name()));
        }
        let mut tags: Vec<_> = self.exact.iter().collect();
        tags.sort_by_key(|(t, _)| **t);
        for (t, r) in tags {
            s.push_str(&format!("{t:08x} {}\n", r.action));
        }
        for (high, el, r) in &self.repeating {
            let el = el.map_or("xxxx".to_string(), |e| format!("{e:04x}"));
            s.push_str(&format!("{:02x}xx{el} {}\n", high >> 8, r.action));
        }
        s.push_str(&format!("private {}\n", self.private.action));
        if self.drop_encapsulated_documents {
            s.push_str("drop encapsulated-documents\n");
        }
        for (g, c, e) in &self.safe_private {
            s.push_str(&format!("safe {g:04x} {c} {e:02x}\n"));
        }
        if self.options.contains(&DeidOption::CleanDescriptors) {
            s.push_str(&format!(
                "descriptor-words {}\n",
                hex::encode(Sha256::digest(super::scrub::DESCRIPTOR_WORDS.as_bytes()))
            ));
        }
        s
    }

    /// Name + the first 12 hex digits of the identity, e.g. "ps3.15-basic 1a2b3c4d5e6f".
    pub fn label(&self) -> String {
        format!(
            "{} {}",
            self.name,
            &self.sha256[..12.min(self.sha256.len())]
        )
    }

    /// The rule for a public tag, if the table lists it (exactly or by repeating group).
    pub fn rule_for(&self, tag: u32) -> Option<&Rule> {
        if let Some(r) = self.exact.get(&tag) {
            return Some(r);
        }
        let (g, e) = ((tag >> 16) as u16, tag as u16);
        self.repeating
            .iter()
            .find(|(high, el, _)| g & 0xFF00 == *high && g % 2 == 0 && el.is_none_or(|x| x == e))
            .map(|(_, _, r)| r)
    }

    /// The rule for private attributes not on the allow-list.
    pub fn private_rule(&self) -> &Rule {
        &self.private
    }

    /// True when the private element (group, creator, offset) is on the allow-list in force.
    pub fn is_safe_private(&self, group: u16, creator: &str, offset: u8) -> bool {
        self.safe_private
            .contains(&(group, creator.trim().to_string(), offset))
    }

    /// Number of allow-listed private elements in force.
    pub fn safe_private_len(&self) -> usize {
        self.safe_private.len()
    }

    /// Compiles a profile or table file's text; `what` names it in errors.
    pub fn from_text(text: &str, what: &str) -> Result<Profile, ProfileError> {
        /// Only the `kind` of the file (the rest is skipped, not built into a value tree: the
        /// shipped table is 120 KB and every command starts by loading a profile).
        #[derive(Deserialize)]
        struct Head {
            kind: Option<String>,
        }
        let kind = if shipped_table(text).is_some() {
            Some("table".to_string())
        } else {
            let head: Head =
                toml::from_str(text).map_err(|e| invalid(what, e.message().to_string()))?;
            head.kind
        };
        match kind.as_deref() {
            Some("table") => {
                let parsed;
                let table = match shipped_table(text) {
                    Some(t) => t,
                    None => {
                        parsed = Table::parse(text)
                            .map_err(|e| invalid(what, e.message().to_string()))?;
                        &parsed
                    }
                };
                Profile::compile(
                    &table.name,
                    "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile",
                    table,
                    &BTreeSet::new(),
                    &[],
                )
            }
            Some("profile") => {
                let f: ProfileFile =
                    toml::from_str(text).map_err(|e| invalid(what, e.message().to_string()))?;
                if f.kind != "profile" {
                    return Err(invalid(what, "kind must be \"profile\""));
                }
                let base = SHIPPED
                    .iter()
                    .find(|(n, _)| *n == f.base)
                    .and_then(|(_, t)| shipped_table(t))
                    .ok_or_else(|| invalid(what, format!("unknown base table '{}'", f.base)))?;
                let safe = match f.safe_private {
                    Some(list) => list,
                    None => shipped_safe_private()?,
                };
                let options: BTreeSet<DeidOption> = f.options.into_iter().collect();
                let mut p = Profile::compile(&f.name, &f.description, base, &options, &safe)?;
                if f.drop_encapsulated_documents {
                    p.drop_encapsulated_documents = true;
                    p.sha256 = hex::encode(Sha256::digest(p.canonical().as_bytes()));
                }
                Ok(p)
            }
            _ => Err(invalid(
                what,
                "not a Deposit profile (kind = \"table\" or \"profile\")",
            )),
        }
    }

    /// A shipped profile by name, or a profile file by path.
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        if let Some((_, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::from_text(text, name_or_path);
        }
        let path = Path::new(name_or_path);
        if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            if super::ctp::looks_like_script(&text) {
                return Profile::from_ctp_script(&text, path);
            }
            return Profile::from_text(&text, &path.display().to_string());
        }
        Err(ProfileError::Unknown {
            name: name_or_path.to_string(),
        })
    }

    /// A CTP DicomAnonymizer script file as a profile: named by the file stem, identified by
    /// the SHA-256 of the script's canonical form. The runtime environment (clock, @integer
    /// store) is attached by the caller with [`Profile::with_ctp_env`].
    pub fn from_ctp_script(text: &str, path: &Path) -> Result<Profile, ProfileError> {
        let what = path.display().to_string();
        let script = super::ctp::Script::parse(text)
            .map_err(|e| invalid(&what, format!("CTP script {e}")))?;
        for w in &script.warnings {
            tracing::warn!(profile = %what, "{w}");
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ctp-script".into());
        Ok(Profile {
            name,
            description: "CTP DicomAnonymizer script".into(),
            edition: super::ctp::SEMANTICS.into(),
            options: BTreeSet::new(),
            sha256: script.sha256(),
            exact: HashMap::new(),
            repeating: Vec::new(),
            private: Rule {
                action: Action::X,
                row: "CTP script".into(),
                by: None,
            },
            safe_private: BTreeSet::new(),
            ctp: Some(super::ctp::Engine {
                script: std::sync::Arc::new(script),
                env: super::ctp::Env::default(),
            }),
            drop_encapsulated_documents: false,
        })
    }

    /// Attaches the clock and @integer store a CTP script profile runs with (no-op otherwise).
    pub fn with_ctp_env(mut self, env: super::ctp::Env) -> Profile {
        if let Some(e) = &mut self.ctp {
            e.env = env;
        }
        self
    }

    /// The strict default.
    pub fn basic() -> Result<Profile, ProfileError> {
        Profile::load("ps3.15-basic")
    }
}

fn shipped_safe_private() -> Result<Vec<SafePrivate>, ProfileError> {
    toml::from_str::<SafePrivateFile>(SHIPPED_SAFE_PRIVATE)
        .map(|f| f.element)
        .map_err(|e| invalid("safe-private.toml", e.message().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profiles_compile_with_stable_distinct_identities() {
        let mut seen = BTreeSet::new();
        for (name, _) in SHIPPED {
            let p = Profile::load(name).expect("compiles");
            assert_eq!(&p.name, name);
            assert_eq!(p.sha256.len(), 64);
            assert_eq!(p.sha256, Profile::load(name).expect("again").sha256);
            assert!(seen.insert(p.sha256.clone()));
        }
    }

    #[test]
    fn basic_rules_follow_the_table() {
        let p = Profile::basic().expect("basic");
        assert!(p.options.is_empty());
        let r = |t| p.rule_for(t).expect("listed").action;
        assert_eq!(r(0x0010_0010), Action::Z); // Patient's Name
        assert_eq!(r(0x0008_0018), Action::U); // SOP Instance UID
        assert_eq!(r(0x0008_0020), Action::Z); // Study Date
        assert_eq!(r(0x0008_0021), Action::X); // Series Date X/D -> X
        assert_eq!(r(0x0018_1000), Action::D); // Device Serial Number X/Z/D -> D (type 1 somewhere)
        assert_eq!(r(0x0008_1140), Action::U); // Referenced Image Sequence X/Z/U*
        assert_eq!(r(0x6002_3000), Action::X); // overlay data, repeating group
        assert_eq!(r(0x5010_0000), Action::X); // curves
        assert_eq!(p.rule_for(0x0028_0010), None); // Rows: not in the table
        assert_eq!(p.private_rule().action, Action::X);
    }

    #[test]
    fn options_overlay_the_base() {
        let p = Profile::load("research-longitudinal").expect("research");
        assert!(p
            .options
            .contains(&DeidOption::RetainLongitudinalModifiedDates));
        let date = p.rule_for(0x0008_0020).expect("study date");
        assert_eq!(
            (date.action, date.by),
            (Action::C, Some(DeidOption::RetainLongitudinalModifiedDates))
        );
        assert_eq!(p.rule_for(0x0010_1010).map(|r| r.action), Some(Action::K)); // age
        assert_eq!(p.rule_for(0x0008_103e).map(|r| r.action), Some(Action::C)); // series descr.
        assert_eq!(p.rule_for(0x0010_0010).map(|r| r.action), Some(Action::Z));
    }

    #[test]
    fn conflicting_date_options_are_refused_and_identity_tracks_rules() {
        let table = Table::parse(SHIPPED_TABLE).expect("table");
        let both: BTreeSet<_> = [
            DeidOption::RetainLongitudinalFullDates,
            DeidOption::RetainLongitudinalModifiedDates,
        ]
        .into();
        assert!(Profile::compile("x", "", &table, &both, &[]).is_err());
        let uids: BTreeSet<_> = [DeidOption::RetainUids].into();
        let a = Profile::compile("x", "", &table, &BTreeSet::new(), &[]).expect("a");
        let b = Profile::compile("x", "", &table, &uids, &[]).expect("b");
        assert_ne!(a.sha256, b.sha256);
        assert_eq!(b.rule_for(0x0008_0018).map(|r| r.action), Some(Action::K));
    }

    #[test]
    fn safe_private_allow_list_only_with_the_option() {
        let text = "name = \"sp\"\nkind = \"profile\"\nbase = \"ps3.15-basic\"\noptions = [\"retain_safe_private\"]\n";
        let p = Profile::from_text(text, "test").expect("compiles");
        assert!(p.safe_private_len() > 0);
        assert!(p.is_safe_private(0x7053, "Philips PET Private Group", 0x00));
        assert!(!p.is_safe_private(0x7053, "Other", 0x00));
        let basic = Profile::basic().expect("basic");
        assert!(!basic.is_safe_private(0x7053, "Philips PET Private Group", 0x00));
    }

    #[test]
    fn cid_7050_codes_are_distinct() {
        let codes: BTreeSet<_> = DeidOption::ALL.iter().map(|o| o.code()).collect();
        assert_eq!(codes.len(), 10);
        assert!(!codes.contains(BASIC_PROFILE_CODE.0));
    }
}
