//! The per-file pipeline: one input (a file, or bytes already read) through the guarded read,
//! the pixel gate (masks, burned-in risk, text detection) and de-identification, to an
//! [`Outcome`]: prepared for a sink, or held for the quarantine. Every path that makes
//! de-identified output runs it: `deid`, `inspect`, `send`, the receiver's forwarding,
//! quarantine release and the fuzz target.
//!
//! A [`Pipeline`] is built once per run from what the caller resolved (profile, keys, lookup
//! table, pixel policy); it reads no clock, seed or key of its own.

pub mod gate;
pub mod residual;
pub mod sink;

use std::path::{Path, PathBuf};

use dicom_object::DefaultDicomObject;

use crate::deid::{self, Context, Decision, Deidentified, Keys, LookupTable, Profile};
use crate::deid::{Quarantine, QuarantineCode, Record};
use crate::intake::{self, Pixels, SkipReason};
use crate::pixels;

pub use gate::{GateError, PixelPolicy};

const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";
const PIXEL_DATA: dicom_core::Tag = dicom_core::Tag(0x7FE0, 0x0010);
/// Transfer syntaxes of compressed frames (JPEG, JPEG 2000, video, JPEG XL …); RLE is apart.
const ENCAPSULATED_FAMILY: &str = "1.2.840.10008.1.2.4.";

/// The per-file pipeline of one run.
pub struct Pipeline {
    profile: Profile,
    keys: Keys,
    lookup: Option<LookupTable>,
    pixels: PixelPolicy,
    /// What runs record besides their output (`inspect` always records values).
    record: Record,
    /// What the profile deliberately keeps (not searched for by the residual gate).
    retained: residual::Retained,
}

/// One input.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A file, read whole into memory.
    File(&'a Path),
    /// A file whose Pixel Data is not decoded when nothing can change the pixels (no mask
    /// rule, no text detection, not a CTP script): its bytes are copied from the input into
    /// the output by the sink.
    FilePassingPixels(&'a Path),
    /// A Part-10 file already read.
    Bytes(&'a [u8]),
}

/// An input set aside: the quarantine decision, and the original SOP Instance UID when it
/// could be read (for the local quarantine record only).
#[derive(Debug, Clone)]
pub struct Held {
    /// The original SOP Instance UID.
    pub sop: Option<String>,
    /// Why.
    pub quarantine: Quarantine,
}

/// What became of one input.
pub enum Outcome {
    /// De-identified, ready for a sink.
    Prepared(Output),
    /// Not provably safe: to be set aside in the quarantine.
    Held(Held),
    /// Not a patient object (a DICOMDIR): left out.
    NotPatientObject,
    /// Left out by the profile (an encapsulated document under
    /// `drop_encapsulated_documents`), with why: neither delivered nor held.
    LeftOut(String),
}

/// A de-identified object not yet written; Pixel Data passed through undecoded, if any,
/// follows the header when a sink writes it.
pub struct Output {
    deidentified: Box<Deidentified>,
    pixels: Pixels,
    sop: Option<String>,
    date_shift_days: Option<i64>,
}

/// One file de-identified into memory, as the queue needs it (new identifiers only).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The de-identified bytes.
    pub bytes: Vec<u8>,
    /// Pseudonymous subject (patient) label.
    pub subject: String,
    /// New Study Instance UID.
    pub study_uid: String,
    /// Scan label (from the series number or the new Series UID).
    pub scan: String,
    /// New SOP Instance UID.
    pub sop_uid: String,
    /// Where `deid --out` puts it (new identifiers only).
    pub relative_path: PathBuf,
    /// Days the dates moved (output − input, of the first of Study, Series, Acquisition and
    /// Content Date both hold); `None` when the output keeps no such date. Recorded in the
    /// audit record so that a later profile change can be checked for linkage.
    pub date_shift_days: Option<i64>,
}

/// Before/after of one input (`inspect`): every decision with its values.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// Where the output would go (relative to an output folder); `None` when held.
    pub relative_path: Option<PathBuf>,
    /// Set when the input would be held.
    pub held: Option<Quarantine>,
    /// Every element acted on. When held: the decisions as if the pixels were cleared and
    /// without the lookup table, so the tag table can still be reviewed.
    pub decisions: Vec<Decision>,
}

fn clean(s: &str) -> String {
    s.trim_end_matches(['\0', ' ']).to_string()
}

fn unreadable(sentence: String) -> Quarantine {
    Quarantine {
        code: QuarantineCode::Unreadable,
        reason: sentence,
        missing_key: None,
    }
}

fn unreadable_input(why: &SkipReason) -> Held {
    Held {
        sop: None,
        quarantine: unreadable(format!("cannot be read as DICOM: {}", why.sentence())),
    }
}

/// What a refused encoding is held as.
fn not_encodable() -> Quarantine {
    unreadable(
        "cannot be read as a DICOM Part-10 file (damaged, truncated or not DICOM)".to_string(),
    )
}

impl Pipeline {
    /// The pipeline of a run.
    pub fn new(
        profile: Profile,
        keys: Keys,
        lookup: Option<LookupTable>,
        pixels: PixelPolicy,
    ) -> Self {
        Pipeline {
            retained: residual::Retained::of(&profile),
            profile,
            keys,
            lookup,
            pixels,
            record: Record::Nothing,
        }
    }

    /// Records before/after values in the decisions (slower; `inspect` always does).
    pub fn recording_values(mut self, on: bool) -> Self {
        self.record = if on { Record::Values } else { Record::Nothing };
        self
    }

    /// The profile applied.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Whether Pixel Data can pass through undecoded.
    fn passes_pixels(&self) -> bool {
        self.pixels.leaves_pixels() && self.profile.ctp.is_none()
    }

    /// The object, its pixels when they pass as bytes, and how many bytes after the end of
    /// its data set were left out.
    fn open(&self, input: Input<'_>) -> Result<(DefaultDicomObject, Pixels, usize), SkipReason> {
        let whole =
            |bytes: &[u8]| intake::open_bytes_trimmed(bytes).map(|(o, n)| (o, Pixels::InObject, n));
        match input {
            Input::FilePassingPixels(path) if self.passes_pixels() => {
                let (obj, px, dropped) = intake::open_for_deid(path)?;
                let (obj, px) = compressed(path, obj, px)?;
                Ok((obj, px, dropped))
            }
            Input::File(path) | Input::FilePassingPixels(path) => {
                intake::bounded::read_regular(path).and_then(|b| whole(&b))
            }
            Input::Bytes(bytes) => whole(bytes),
        }
    }

    /// Runs one input: read (guarded), pixel gate, de-identification. A DICOMDIR is left out.
    pub fn run(&self, input: Input<'_>) -> Outcome {
        let (obj, pixels, dropped) = match self.open(input) {
            Ok(o) => o,
            Err(why) => return Outcome::Held(unreadable_input(&why)),
        };
        if clean(&obj.meta().media_storage_sop_class_uid) == MEDIA_STORAGE_DIRECTORY {
            return Outcome::NotPatientObject;
        }
        match self.clear(obj, pixels, dropped, self.record) {
            Ok(out) => Outcome::Prepared(out),
            Err(held)
                if held.quarantine.code == QuarantineCode::EncapsulatedDocument
                    && self.profile.drop_encapsulated_documents =>
            {
                Outcome::LeftOut(held.quarantine.reason)
            }
            Err(held) => Outcome::Held(held),
        }
    }

    /// Runs one input into memory (the sink of `send`, quarantine release and the fuzz
    /// target). Every input is taken as a patient object (the catalog hands over instances
    /// only).
    pub fn prepare(&self, input: Input<'_>) -> Result<Prepared, Held> {
        let (obj, pixels, dropped) = self.open(input).map_err(|why| unreadable_input(&why))?;
        self.clear(obj, pixels, dropped, self.record)?
            .into_prepared()
    }

    /// Before/after of one input, nothing written. `Err`: it cannot be read as DICOM.
    pub fn inspect(&self, input: Input<'_>) -> Result<Inspection, SkipReason> {
        let (obj, pixels, dropped) = self.open(input)?;
        let original = obj.clone();
        let held = match self.clear(obj, pixels, dropped, Record::Values) {
            Ok(out) => {
                return Ok(Inspection {
                    relative_path: Some(out.deidentified.relative_path),
                    held: None,
                    decisions: out.deidentified.decisions,
                })
            }
            Err(h) => h.quarantine,
        };
        // Show the tag table anyway: as if the pixels were cleared and without the lookup.
        let ts = clean(&original.meta().transfer_syntax);
        let preview = Context {
            lookup: None,
            mask_rule: Some("inspect preview: pixels NOT reviewed"),
            record: Record::Values,
        };
        let d = deid::deidentify(
            original.into_inner(),
            &ts,
            &self.profile,
            &self.keys,
            preview,
        );
        Ok(Inspection {
            relative_path: None,
            held: Some(held),
            decisions: d.map(|d| d.decisions).unwrap_or_default(),
        })
    }

    /// The pixel gate (before de-identification, so signatures see the original header),
    /// then de-identification.
    fn clear(
        &self,
        mut obj: DefaultDicomObject,
        pixels: Pixels,
        trailing: usize,
        record: Record,
    ) -> Result<Output, Held> {
        let meta = obj.meta();
        let mut ts = clean(&meta.transfer_syntax);
        let sop = Some(clean(&meta.media_storage_sop_instance_uid)).filter(|s| !s.is_empty());
        let hold = |quarantine: Quarantine| Held {
            sop: sop.clone(),
            quarantine,
        };
        // the identifying values of the source, for the residual gate after de-identification
        let needles = residual::Needles::collect(&obj, &self.retained);
        let days_in = first_dates(&obj);
        let masked = gate::gate(&mut obj, &self.pixels).map_err(hold)?;
        if let Some(m) = &masked {
            ts = m.transfer_syntax.clone();
        }
        // Compressed pixel data of a family whose frames Deposit cannot walk (MPEG-2/4, HEVC,
        // JPEG XL) may carry metadata (SEI user data, Exif/XML boxes) no one has checked.
        if ts.starts_with(ENCAPSULATED_FAMILY) && crate::pixels::metadata::codec(&ts).is_none() {
            return Err(hold(unreadable(format!(
                "the pixel data is compressed as {ts}, whose embedded metadata Deposit cannot check; held for review"
            ))));
        }
        let removed = crate::pixels::metadata::clean_object(&mut obj, &ts).map_err(|e| {
            hold(unreadable(format!(
                "the compressed pixel data cannot be checked for embedded metadata ({e})"
            )))
        })?;
        let ctx = Context {
            lookup: self.lookup.as_ref(),
            mask_rule: masked.as_ref().map(|m| m.rule.as_str()),
            record,
        };
        let mut ds = obj.into_inner();
        if !matches!(pixels, Pixels::InObject) {
            // A stand-in, so that the engine sees an image (burned-in risk), removed below.
            ds.put(dicom_core::DataElement::new(
                PIXEL_DATA,
                dicom_core::VR::OB,
                dicom_core::PrimitiveValue::Empty,
            ));
        }
        let mut d = deid::deidentify(ds, &ts, &self.profile, &self.keys, ctx).map_err(hold)?;
        d.decisions.extend(removed.iter().map(|r| Decision {
            path: "(7FE0,0010)".into(),
            name: "PixelData".into(),
            action: deid::Action::C,
            rule: r.sentence(),
            before: None,
            after: None,
        }));
        if trailing > 0 {
            d.decisions.push(Decision {
                path: "(end of data set)".into(),
                name: "TrailingBytes".into(),
                action: deid::Action::X,
                rule: format!(
                    "{trailing} bytes after the end of the data set (not an element) left out"
                ),
                before: None,
                after: None,
            });
        }
        let hits = needles.search(&d.meta, &d.dataset);
        if !hits.is_empty() {
            return Err(hold(Quarantine {
                code: QuarantineCode::ResidualIdentity,
                reason: residual::reason(&hits),
                missing_key: None,
            }));
        }
        // The stand-in goes; the real element's bytes follow the header unchanged.
        let pixels = match pixels {
            Pixels::InObject => Pixels::InObject,
            p if d.dataset.remove_element(PIXEL_DATA) => p,
            _ => Pixels::InObject,
        };
        let date_shift_days = shift(days_in, first_dates(&d.dataset));
        Ok(Output {
            deidentified: Box::new(d),
            pixels,
            sop,
            date_shift_days,
        })
    }
}

impl Output {
    /// Where it goes under an output folder (new identifiers only).
    pub fn relative_path(&self) -> &Path {
        &self.deidentified.relative_path
    }

    /// The encoded header (file meta and dataset) and the pixel bytes that follow it.
    fn encode(self) -> std::io::Result<(Vec<u8>, Pixels)> {
        let d = *self.deidentified;
        let mut out = Vec::with_capacity(4096);
        d.dataset
            .with_exact_meta(d.meta)
            .write_all(&mut out)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok((out, self.pixels))
    }

    /// Into memory, with the labels the queue needs.
    pub fn into_prepared(self) -> Result<Prepared, Held> {
        let sop = self.sop.clone();
        let held = || Held {
            sop: sop.clone(),
            quarantine: not_encodable(),
        };
        let d = &self.deidentified;
        let parts: Vec<String> = d
            .relative_path
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let [subject, study_uid, series_uid, file] = parts.as_slice() else {
            return Err(held());
        };
        let scan = scan_label(&d.dataset, series_uid);
        let sop_uid = file.trim_end_matches(".dcm").to_string();
        let (subject, study_uid) = (subject.clone(), study_uid.clone());
        let relative_path = d.relative_path.clone();
        let date_shift_days = self.date_shift_days;
        let (mut bytes, pixels) = self.encode().map_err(|_| held())?;
        sink::append_pixels(&mut bytes, pixels).map_err(|_| held())?;
        Ok(Prepared {
            bytes,
            subject,
            study_uid,
            scan,
            sop_uid,
            relative_path,
            date_shift_days,
        })
    }
}

/// Compressed Pixel Data of a JPEG or JPEG 2000 family is read into the object (as fragments,
/// not decoded) so that its frames are cleaned of embedded metadata; only other pixel data
/// passes from input to output as bytes.
fn compressed(
    path: &Path,
    obj: DefaultDicomObject,
    px: Pixels,
) -> Result<(DefaultDicomObject, Pixels), SkipReason> {
    let ts = clean(&obj.meta().transfer_syntax);
    if matches!(px, Pixels::InObject) || pixels::metadata::codec(&ts).is_none() {
        return Ok((obj, px));
    }
    let obj = match px {
        Pixels::InMemory { bytes, .. } => intake::open_bytes(&bytes)?,
        _ => {
            intake::bounded::read_regular(path)
                .and_then(|b| intake::open_bytes_trimmed(&b))?
                .0
        }
    };
    Ok((obj, Pixels::InObject))
}

const DATES: [dicom_core::Tag; 4] = [
    dicom_dictionary_std::tags::STUDY_DATE,
    dicom_dictionary_std::tags::SERIES_DATE,
    dicom_dictionary_std::tags::ACQUISITION_DATE,
    dicom_dictionary_std::tags::CONTENT_DATE,
];

/// One DA value as a day number (`None` when absent or not a valid date).
fn day(ds: &dicom_object::InMemDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    let v = ds.get(tag)?.to_str().ok()?;
    let v = v.trim_matches(['\0', ' ']);
    // a dummy date (action D) is not a shifted one
    if v.len() != 8
        || !v.bytes().all(|b| b.is_ascii_digit())
        || Some(v) == crate::deid::action::dummy_text(dicom_core::VR::DA)
    {
        return None;
    }
    let (y, m, d) = (v.get(0..4)?, v.get(4..6)?, v.get(6..8)?);
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d == 0 || d > crate::calendar::days_in_month(y, m) {
        return None;
    }
    Some(crate::calendar::days_from_civil(y, m, d))
}

/// The day numbers of the dates a date shift is measured on.
fn first_dates(ds: &dicom_object::InMemDicomObject) -> [Option<i64>; 4] {
    DATES.map(|t| day(ds, t))
}

/// The shift (output − input) of the first date both hold.
fn shift(input: [Option<i64>; 4], output: [Option<i64>; 4]) -> Option<i64> {
    input
        .iter()
        .zip(output.iter())
        .find_map(|(i, o)| Some((*o)? - (*i)?))
}

/// The date shift in days between an input data set and its de-identified output (see
/// [`Prepared::date_shift_days`]).
pub fn date_shift(
    input: &dicom_object::InMemDicomObject,
    output: &dicom_object::InMemDicomObject,
) -> Option<i64> {
    shift(first_dates(input), first_dates(output))
}

/// Scan label inside a session: the series number, else digits of the new Series UID.
fn scan_label(ds: &dicom_object::InMemDicomObject, new_series_uid: &str) -> String {
    let number = ds
        .get(dicom_dictionary_std::tags::SERIES_NUMBER)
        .and_then(|e| e.to_int::<i64>().ok())
        .filter(|n| *n >= 0);
    match number {
        Some(n) => n.to_string(),
        None => {
            let digits: String = new_series_uid
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            digits[digits.len().saturating_sub(8)..].to_string()
        }
    }
}

#[cfg(test)]
mod compressed_tests;
#[cfg(test)]
mod tests;
