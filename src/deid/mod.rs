//! De-identification: dataset + profile + keys in, dataset + decisions out. Pure — no catalog,
//! queue or archive access; time, seeds and keys are passed in, never read inside.
//!
//! Profiles (PS3.15 Annex E basic with its options; CTP DicomAnonymizer scripts later), lookup
//! tables, deterministic UID remapping and date shifting, output hygiene, and the quarantine
//! decisions live here. Start with [`deidentify`].

pub mod action;
mod apply;
mod codes;
pub mod ctp;
pub mod dates;
pub mod hygiene;
pub mod iso2022;
pub mod keyed;
pub mod lookup;
pub mod profile;
pub mod risk;
pub mod scrub;
pub mod table;

use std::path::PathBuf;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::{FileMetaTable, InMemDicomObject};
use serde::Serialize;

pub use action::Action;
pub use apply::tag_text;
pub use keyed::Keys;
pub use lookup::{LookupError, LookupTable};
pub use profile::{DeidOption, Profile, ProfileError};

/// One element's fate: where it was, what was done and which rule said so.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Tag path, e.g. `(0008,1140)[0].(0008,1155)`.
    pub path: String,
    /// Dictionary keyword (empty for private or unknown tags).
    pub name: String,
    /// The action applied.
    pub action: Action,
    /// The rule behind it.
    pub rule: String,
    /// Value before (only when asked for, e.g. by `deposit inspect`; PHI — display locally only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Value after (only when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Why an object was set aside instead of de-identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineCode {
    /// The patient ID is not in the lookup table.
    LookupMissing,
    /// Pixels may carry burned-in identity and no mask rule applied.
    NeedsPixelReview,
    /// The file could not be read as DICOM.
    Unreadable,
    /// SOP Class or SOP Instance UID missing: no valid output can be made.
    MissingUid,
    /// A CTP script called @quarantine().
    CtpQuarantine,
    /// A CTP script called @skip() (CTP would pass the original on unmodified).
    CtpSkip,
    /// A CTP script failed or used an unsupported function.
    CtpError,
    /// The text detector still finds text after masking (a mask misses or cuts through it).
    ResidualPixelText,
    /// An identifying value of the source is still in the de-identified output.
    ResidualIdentity,
    /// The object carries an encapsulated document (PDF, CDA, STL, OBJ, MTL) whose content
    /// de-identification cannot clean.
    EncapsulatedDocument,
}

impl QuarantineCode {
    /// The stable code string.
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineCode::LookupMissing => "lookup_missing",
            QuarantineCode::NeedsPixelReview => "needs_pixel_review",
            QuarantineCode::Unreadable => "unreadable",
            QuarantineCode::MissingUid => "missing_uid",
            QuarantineCode::CtpQuarantine => "ctp_quarantine",
            QuarantineCode::CtpSkip => "ctp_skip",
            QuarantineCode::CtpError => "ctp_error",
            QuarantineCode::ResidualPixelText => "residual_pixel_text",
            QuarantineCode::ResidualIdentity => "residual_identity",
            QuarantineCode::EncapsulatedDocument => "encapsulated_document",
        }
    }
}

/// The decision to set an object aside. `reason` carries no PHI; `missing_key` (the original
/// value missing from the lookup table) is PHI and goes only to the local quarantine record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantine {
    /// Machine-readable code.
    pub code: QuarantineCode,
    /// Human sentence without identifying values.
    pub reason: String,
    /// The missing lookup key (local quarantine record only; never logged).
    pub missing_key: Option<String>,
}

/// What a de-identification records of its decisions; the output is the same in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Record {
    /// No decisions (a run that writes its output and keeps none): no paths, rule texts or
    /// records are made.
    Nothing,
    /// Each decision: where, what action, by which rule.
    #[default]
    Rules,
    /// Each decision with the values before and after it (`deposit inspect`).
    Values,
}

impl Record {
    /// Decisions are made.
    pub fn decisions(self) -> bool {
        self != Record::Nothing
    }

    /// Values are recorded in them.
    pub fn values(self) -> bool {
        self == Record::Values
    }
}

/// Per-call inputs besides the dataset, profile and keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// Lookup table for pseudonymous patient IDs (key type `ptid`); a miss quarantines.
    pub lookup: Option<&'a LookupTable>,
    /// Set by the caller when a pixel mask rule was applied to this object (its name);
    /// without it, an image at burned-in risk is quarantined.
    pub mask_rule: Option<&'a str>,
    /// What is recorded besides the output.
    pub record: Record,
}

/// A de-identified object.
#[derive(Debug)]
pub struct Deidentified {
    /// The new dataset (pixel data included).
    pub dataset: InMemDicomObject,
    /// The regenerated file meta group.
    pub meta: FileMetaTable,
    /// What happened to each element.
    pub decisions: Vec<Decision>,
    /// Where to write it under the output folder (from new identifiers only).
    pub relative_path: PathBuf,
}

fn top_text(ds: &InMemDicomObject, tag: Tag) -> String {
    ds.get(tag)
        .and_then(|e| e.value().to_str().ok().map(|s| s.into_owned()))
        .unwrap_or_default()
        .trim_matches(['\0', ' '])
        .to_string()
}

const PATIENT_NAME: Tag = Tag(0x0010, 0x0010);
const PATIENT_ID: Tag = Tag(0x0010, 0x0020);

/// Days to move this patient's dates back. From the lookup table when it keeps date offsets
/// (`dateinc/<PatientID> = days to add`, CTP's convention; a patient without one is
/// quarantined), else from the site key. Only asked when the profile shifts dates.
fn date_offset(
    profile: &Profile,
    keys: &Keys,
    lookup: Option<&LookupTable>,
    original_id: &str,
) -> Result<i64, Quarantine> {
    let shifts = profile
        .options
        .contains(&DeidOption::RetainLongitudinalModifiedDates);
    let Some(table) = lookup.filter(|t| shifts && t.has_kind(lookup::DATEINC)) else {
        return Ok(keyed::date_offset_days(keys, original_id));
    };
    let Some(v) = table.get(lookup::DATEINC, original_id) else {
        return Err(Quarantine {
            code: QuarantineCode::LookupMissing,
            reason: "the patient ID has no date offset (dateinc) in the lookup table".into(),
            missing_key: Some(format!("{}/{}", lookup::DATEINC, original_id.trim())),
        });
    };
    match v.trim().trim_start_matches('+').parse::<i64>() {
        Ok(add) if add.abs() <= 36_525 => Ok(-add),
        _ => Err(Quarantine {
            code: QuarantineCode::LookupMissing,
            reason: "the lookup table's date offset (dateinc) for this patient is not a whole number of days within 100 years".into(),
            missing_key: Some(format!("{}/{}", lookup::DATEINC, original_id.trim())),
        }),
    }
}

const ENCAPSULATED_DOCUMENT: Tag = Tag(0x0042, 0x0011);
const SOP_CLASS_UID: Tag = Tag(0x0008, 0x0016);

/// What kind of encapsulated document the object carries, if any: by its SOP Class (PDF,
/// CDA, STL, OBJ, MTL) or, for any other class, by an Encapsulated Document element.
pub fn encapsulated_document(ds: &InMemDicomObject) -> Option<&'static str> {
    let kind = match top_text(ds, SOP_CLASS_UID).as_str() {
        "1.2.840.10008.5.1.4.1.1.104.1" => "PDF",
        "1.2.840.10008.5.1.4.1.1.104.2" => "CDA",
        "1.2.840.10008.5.1.4.1.1.104.3" => "STL",
        "1.2.840.10008.5.1.4.1.1.104.4" => "OBJ",
        "1.2.840.10008.5.1.4.1.1.104.5" => "MTL",
        _ if ds.get(ENCAPSULATED_DOCUMENT).is_some() => "document",
        _ => return None,
    };
    Some(kind)
}

/// The hold of an object carrying an encapsulated document (the profile's
/// `drop_encapsulated_documents` says it is left out rather than held).
fn document_hold(kind: &str, profile: &Profile) -> Quarantine {
    let reason = if profile.drop_encapsulated_documents {
        format!("an encapsulated {kind}: left out, as the profile drops encapsulated documents (drop_encapsulated_documents)")
    } else {
        format!(
            "an encapsulated {kind}: its content cannot be de-identified, so it is held for review"
        )
    };
    Quarantine {
        code: QuarantineCode::EncapsulatedDocument,
        reason,
        missing_key: None,
    }
}

/// Decodes text written in ISO 2022 code extensions ([`iso2022`]) before any rule reads it, so
/// names are hashed and kept as written (and written as UTF-8); a value that cannot be decoded
/// holds the object rather than pass escape bytes on under another character set.
pub(crate) fn decode_code_extensions(
    ds: &mut InMemDicomObject,
    decisions: &mut Vec<Decision>,
) -> Result<(), Quarantine> {
    match iso2022::decode(ds) {
        Ok(false) => Ok(()),
        Ok(true) => {
            decisions.push(Decision {
                path: "(0008,0005)".into(),
                name: "SpecificCharacterSet".into(),
                action: Action::C,
                rule: "text in ISO 2022 code extensions decoded; written as UTF-8 (ISO_IR 192)"
                    .into(),
                before: None,
                after: None,
            });
            Ok(())
        }
        Err((tag, why)) => Err(Quarantine {
            code: QuarantineCode::Unreadable,
            reason: format!(
                "the text of {} cannot be decoded from its ISO 2022 character sets: {why}",
                apply::tag_text(tag)
            ),
            missing_key: None,
        }),
    }
}

/// De-identifies one object with `profile` and `keys`. `transfer_syntax` is the file's.
/// An object carrying an encapsulated document is never de-identified: it is held (or, by
/// the profile's option, left out) in every mode.
pub fn deidentify(
    mut ds: InMemDicomObject,
    transfer_syntax: &str,
    profile: &Profile,
    keys: &Keys,
    ctx: Context<'_>,
) -> Result<Deidentified, Quarantine> {
    if let Some(kind) = encapsulated_document(&ds) {
        return Err(document_hold(kind, profile));
    }
    if let Some(engine) = &profile.ctp {
        return ctp::deidentify(ds, transfer_syntax, profile, engine, keys, ctx);
    }
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
    decode_code_extensions(&mut ds, &mut decisions)?;
    let original_id = top_text(&ds, PATIENT_ID);
    let (pseudonym, pseudo_rule) = match ctx.lookup {
        Some(table) => match table.get("ptid", &original_id) {
            Some(p) => (p.to_string(), "lookup table (ptid)"),
            None => {
                return Err(Quarantine {
                    code: QuarantineCode::LookupMissing,
                    reason: "the patient ID is missing from the lookup table".into(),
                    missing_key: Some(format!("ptid/{}", original_id.trim())),
                })
            }
        },
        None => (
            keyed::pseudonym(keys, &original_id),
            "pseudonym from the site key",
        ),
    };
    let date_offset_days = date_offset(profile, keys, ctx.lookup, &original_id)?;
    let scrubber = scrub::Scrubber::from_dataset(&ds);
    let mut walk = apply::Walk {
        profile,
        keys,
        date_offset_days,
        scrub: &scrubber,
        record: ctx.record,
        decisions,
        content_depth: 0,
    };
    let before_name = ctx.record.values().then(|| top_text(&ds, PATIENT_NAME));
    let before_id = ctx.record.values().then(|| original_id.clone());
    walk.dataset(&mut ds, "");
    let mut decisions = walk.decisions;
    codes::clean_local_codes(&mut ds, &mut decisions, "");
    for (tag, before) in [(PATIENT_ID, before_id), (PATIENT_NAME, before_name)] {
        let vr = if tag == PATIENT_ID { VR::LO } else { VR::PN };
        ds.put(DataElement::new(
            tag,
            vr,
            PrimitiveValue::from(pseudonym.as_str()),
        ));
        if !ctx.record.decisions() {
            continue;
        }
        let path = apply::tag_text(tag);
        decisions.retain(|d| d.path != path);
        decisions.push(Decision {
            path,
            name: if tag == PATIENT_ID {
                "PatientID"
            } else {
                "PatientName"
            }
            .into(),
            action: Action::D,
            rule: pseudo_rule.into(),
            before,
            after: ctx.record.values().then(|| pseudonym.clone()),
        });
    }
    hygiene::mark(&mut ds, profile);
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
    let relative_path = hygiene::output_path(&ds, &pseudonym);
    Ok(Deidentified {
        dataset: ds,
        meta,
        decisions,
        relative_path,
    })
}

#[cfg(test)]
mod tests;
