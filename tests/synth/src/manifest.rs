//! The manifest written beside a generated corpus: every canary and where it was placed,
//! expected counts, and the burned-in text rectangles per file.

use serde::{Deserialize, Serialize};

use crate::font::Rect;

/// Everything a test needs to know about a generated corpus.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Generator name and version.
    pub generator: String,
    /// The seed the corpus was generated from.
    pub seed: u64,
    /// Expected counts (distinct UIDs; one instance per file).
    pub counts: Counts,
    /// Root of every UID the fake hospital made (a leak if it survives de-identification).
    pub uid_root: String,
    /// The fake vendor's implementation class UID in every file meta.
    pub implementation_class_uid: String,
    /// Every canary string and where it sits. Each (patient, placement) has its own canary.
    pub canaries: Vec<Canary>,
    /// Identifying dates (not unique strings, but listed so tests can check them).
    pub dates: Vec<DatePlacement>,
    /// Every file written, relative to the corpus folder.
    pub files: Vec<FileEntry>,
}

/// Expected counts of a corpus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Distinct patients.
    pub patients: u64,
    /// Distinct Study Instance UIDs.
    pub studies: u64,
    /// Distinct Series Instance UIDs.
    pub series: u64,
    /// Distinct SOP Instance UIDs.
    pub instances: u64,
    /// Files written (equal to instances: one instance per file).
    pub files: u64,
}

/// One canary: a distinctive ASCII token, the full value it sits in, and its placement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Canary {
    /// The token to grep for (ASCII, never occurs by accident), e.g. `CANARY-PN-7F3A`.
    pub canary: String,
    /// The whole value written (may add non-ASCII text around the token).
    pub value: String,
    /// Where: attribute path such as `RequestAttributesSequence/RequestedProcedureID`.
    pub placement: String,
    /// Tag path, e.g. `(0040,0275)/(0040,1001)`.
    pub tag: String,
    /// Patient index (0-based) whose files carry it.
    pub patient: usize,
    /// Which files carry it: `all` of the patient's files, or a modality such as `CT`, `SR`.
    pub scope: String,
    /// Where the bytes are: `header`, `file-meta`, `private`, `sr-content`, `pixels`.
    pub kind: String,
}

/// An identifying date and its placement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatePlacement {
    /// `YYYYMMDD`.
    pub value: String,
    /// Attribute keyword.
    pub placement: String,
    /// Patient index.
    pub patient: usize,
}

/// One file of the corpus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the corpus folder (neutral: `study001/series002/00001.dcm`).
    pub path: String,
    /// Patient index.
    pub patient: usize,
    /// Modality.
    pub modality: String,
    /// SOP Class UID.
    pub sop_class_uid: String,
    /// SOP Instance UID.
    pub sop_instance_uid: String,
    /// Study Instance UID.
    pub study_instance_uid: String,
    /// Series Instance UID.
    pub series_instance_uid: String,
    /// Specific Character Set written (empty for the default repertoire).
    pub charset: String,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Frames.
    pub frames: usize,
    /// Text burned into the pixels (every frame), with the rectangle it covers.
    pub burned_in: Vec<BurnedText>,
}

/// Text burned into pixels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BurnedText {
    /// The text drawn (a canary of the same patient).
    pub text: String,
    /// The rectangle that covers every lit pixel of it.
    pub rect: Rect,
}
