//! The hard corpus's manifest: objects with their expected disposition per mode, identity
//! placements (what to search for and where it was put) and retention checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::font::Rect;

/// Name of the manifest beside the `dicom/` folder of a hard corpus.
pub const MIDI_MANIFEST: &str = "midi-manifest.json";

/// The modes the manifest has expectations for.
pub const MODES: &[&str] = &["default", "masks", "lookup", "ctp"];

/// Everything the scorer needs to know about a hard corpus.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MidiManifest {
    /// Generator name and version.
    pub generator: String,
    /// Seed.
    pub seed: u64,
    /// How outputs are matched to objects.
    pub marker: String,
    /// Patients.
    pub patients: Vec<MidiPatient>,
    /// Objects (files under `dicom/`).
    pub objects: Vec<MidiObject>,
    /// Identity placements: each must be gone from every output of its objects.
    pub placements: Vec<Placement>,
    /// Retention checks: what must be kept, consistent or valid.
    pub checks: Vec<Retention>,
}

/// One patient.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MidiPatient {
    /// 0-based index.
    pub index: usize,
    /// Specific Character Set of the patient's objects.
    pub charset: String,
    /// The pseudonym the lookup table (`lookup.csv`) gives this patient's ID.
    pub lookup_pseudonym: String,
}

/// What should become of an object in one mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    /// `delivered` or `held`.
    pub disposition: String,
    /// The reason code when held (e.g. `needs_pixel_review`, `encapsulated_document`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Expect {
    /// Written to the output.
    pub fn delivered() -> Self {
        Expect {
            disposition: "delivered".into(),
            reason: None,
        }
    }

    /// Held with `reason`.
    pub fn held(reason: &str) -> Self {
        Expect {
            disposition: "held".into(),
            reason: Some(reason.into()),
        }
    }

    /// Whether the object is expected in the output.
    pub fn is_delivered(&self) -> bool {
        self.disposition == "delivered"
    }
}

/// One object of the corpus.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MidiObject {
    /// Index in [`MidiManifest::objects`].
    pub id: usize,
    /// Path under the corpus's `dicom/` folder.
    pub path: String,
    /// Patient index.
    pub patient: usize,
    /// What it is (`ct`, `ct-un-ref`, `us-burned`, `jpeg`, `j2k`, `enhanced-ct`, `sr`, `gsps`,
    /// `pdf`, `ct-trailing`).
    pub kind: String,
    /// SOP Class UID (kept by every de-identifier; half of the marker).
    pub sop_class_uid: String,
    /// Instance Number, unique in the corpus (the other half of the marker).
    pub instance_number: u32,
    /// Source SOP Instance UID.
    pub sop_instance_uid: String,
    /// Source Study Instance UID.
    pub study_instance_uid: String,
    /// Source Series Instance UID.
    pub series_instance_uid: String,
    /// Source Study Date (`YYYYMMDD`).
    pub study_date: String,
    /// SHA-256 of the pixel data as it must come out (native bytes, or encapsulated frames
    /// each cut after their last end-of-image marker, without the metadata segments added),
    /// if the object has pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_sha256: Option<String>,
    /// Text burned into the pixels: rectangles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub burned_in: Vec<Rect>,
    /// Expected disposition by mode.
    pub expect: BTreeMap<String, Expect>,
}

/// One search string, as bytes (hex) in one encoding.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Needle {
    /// `utf-8`, `latin-1`, `utf-16le`, `utf-16be`, `iso-2022-ir87`.
    pub encoding: String,
    /// The bytes, hex.
    pub hex: String,
}

/// One identity placement.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Placement {
    /// Unique id, e.g. `p0.name.pn`.
    pub id: String,
    /// MIDI-B category: `name`, `id`, `accession`, `date`, `address`, `phone`, `institution`,
    /// `station`, `uid`, `text`, `pixel-metadata`, `document`, `burned-in`.
    pub category: String,
    /// Where it is: attribute path, segment or byte region.
    pub location: String,
    /// The objects that carry it.
    pub objects: Vec<usize>,
    /// What to search for (any hit in an output of one of the objects is a leak). Empty for
    /// burned-in text, which is checked in the pixels.
    pub needles: Vec<Needle>,
    /// Burned-in text: the rectangle whose lit pixels (value 255) must all be gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rect: Option<Rect>,
}

/// One retention check.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Retention {
    /// Unique id.
    pub id: String,
    /// `attribute` (value at `path` equals `value`), `pixels` (hash equals the object's),
    /// `pixels-outside` (hash of the pixels with `rect` zeroed equals `value`), `reference`
    /// (UID at `path` equals the output UID `target_attr` of object `target`), `uid-consistent`
    /// (UID at `path` changed and equal across all outputs with the same source UID, `value`),
    /// `pseudonym-consistent` (Patient ID and Name equal across the patient's outputs),
    /// `pseudonym-distinct` (the patient's Patient ID differs from every other patient's),
    /// `pseudonym-lookup` (Patient ID equals the lookup table's pseudonym), `date-shift`
    /// (Study Date, when present, moved by the patient's one offset).
    pub kind: String,
    /// The object checked.
    pub object: usize,
    /// Element path, e.g. `(0008,1115)[0]/(0008,1140)[1]/(0008,1155)`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Expected value (attribute), hash (pixels-outside) or source UID (uid-consistent).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// The referenced object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<usize>,
    /// `sop`, `study` or `series`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_attr: String,
    /// The rectangle zeroed before hashing (pixels-outside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rect: Option<Rect>,
    /// Modes the check applies in (empty: every mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<String>,
}
