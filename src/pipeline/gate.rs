//! The pipeline's pixel and identity gate, run before de-identification: mask by the first
//! matching rule (run library, then the site library), decide burned-in risk, and run the text
//! detector where it pays (see [`PixelPolicy`]); what it cannot clear is held.

use dicom_object::{FileDicomObject, InMemDicomObject};
use thiserror::Error;

use crate::deid::{risk, Quarantine, QuarantineCode};
use crate::error::{Classify, ErrorClass};
use crate::pixels::{self, ocr, MaskLibrary, Masked};

/// How pixels are handled in a run.
///
/// When the text detector (Tesseract) runs — it costs 0.1–2 s a frame, so not on every image:
/// * an image **at burned-in risk** by its header with **no mask rule**: it is quarantined
///   anyway, without running the detector (that would cost seconds per image for a verdict
///   already taken); the reviewer gets the regions from `suggest_regions` ("Find text" in the
///   window) when drawing the mask;
/// * an image **masked by a rule** that is at risk (or any image with `detect_text`): the
///   masked frame is re-checked, and text found overlapping a masked region (the mask cuts
///   through text) or anywhere else on the image quarantines it as `residual_pixel_text`;
/// * with `detect_text` (CLI `--detect-text`) also **every other image**: text found makes it
///   at risk, so without a rule it is quarantined as `needs_pixel_review`.
///
/// Only frame 0 of a multi-frame image is read by the detector (annotations of cine loops are
/// the same on every frame; masks always cover every frame).
#[derive(Debug, Clone, Default)]
pub struct PixelPolicy {
    /// The rules, in order: the run's `--masks` library first, then the site library.
    pub masks: Option<MaskLibrary>,
    /// Run the detector on images not at risk by their header too.
    pub detect_text: bool,
    /// Whether the detector works here (checked once when the policy is built).
    pub ocr: bool,
    /// Why the detector does not work here, when rules need it: masked images at risk are
    /// then held with this reason (how to install it), never passed unchecked.
    pub ocr_missing: Option<String>,
}

impl PixelPolicy {
    /// The policy of a run with these rules (the run's library followed by the site library,
    /// as the caller chained them). `detect_text` without a working detector is an error.
    pub fn new(masks: Option<MaskLibrary>, detect_text: bool) -> Result<PixelPolicy, GateError> {
        // the detector only re-checks masked images or looks at every image (detect_text):
        // without rules and without detect_text it never runs, so do not start it
        let mut ocr_missing = None;
        let ocr = if masks.is_none() && !detect_text {
            false
        } else {
            match ocr::available() {
                Ok(()) => true,
                Err(e) if detect_text => return Err(GateError::OcrUnavailable(e.to_string())),
                Err(e) => {
                    tracing::warn!("masked images at risk are held: no text detector: {e}");
                    ocr_missing = Some(e.to_string());
                    false
                }
            }
        };
        Ok(PixelPolicy {
            masks,
            detect_text,
            ocr,
            ocr_missing,
        })
    }

    /// Whether nothing can change the pixels under this policy (no rule, no text detection).
    pub fn leaves_pixels(&self) -> bool {
        self.masks.is_none() && !self.detect_text
    }
}

/// Failures building a [`PixelPolicy`].
#[derive(Debug, Error)]
pub enum GateError {
    /// Text detection was asked for and the detector does not work here.
    #[error("--detect-text needs the text detector: {0}")]
    OcrUnavailable(String),
}

impl Classify for GateError {
    fn code(&self) -> &'static str {
        match self {
            GateError::OcrUnavailable(_) => "pixels.ocr_unavailable",
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

fn review(reason: String) -> Quarantine {
    Quarantine {
        code: QuarantineCode::NeedsPixelReview,
        reason,
        missing_key: None,
    }
}

/// Text regions on frame 0 as the detector sees it (after masking, when masked).
fn detect(obj: &FileDicomObject<InMemDicomObject>) -> Result<Vec<ocr::Region>, pixels::PixelError> {
    let img = pixels::decode(obj, Some(0))?;
    let look = pixels::Look::from_dataset(obj);
    let rendered = pixels::render::render(&img, 0, &look, None)?;
    ocr::detect(&rendered)
}

fn regions_phrase(n: usize) -> String {
    match n {
        0 => "the text detector found no text".into(),
        1 => "the text detector found 1 text region".into(),
        n => format!("the text detector found {n} text regions"),
    }
}

/// Masks `obj` when a rule matches and applies the policy. `Ok(Some)`: masked by that rule;
/// `Ok(None)`: untouched (de-identification still quarantines an at-risk image without a
/// rule); `Err`: set aside, with the reason.
pub fn gate(
    obj: &mut FileDicomObject<InMemDicomObject>,
    policy: &PixelPolicy,
) -> Result<Option<Masked>, Quarantine> {
    let at_risk = risk::burned_in_risk(obj);
    let masked = match &policy.masks {
        Some(lib) => pixels::mask_object(obj, lib).map_err(|e| {
            review(format!(
                "needs pixel review: a mask rule applies but masking failed ({e})"
            ))
        })?,
        None => None,
    };
    if !policy.ocr {
        // a masked image at risk must be re-checked for text left outside the mask: without a
        // detector it cannot be, so it waits for review (never passes unchecked)
        if let (Some(m), Some(_), Some(why)) = (&masked, &at_risk, &policy.ocr_missing) {
            return Err(review(format!(
                "needs pixel review: masked by rule '{}' but it cannot be re-checked for text here ({why})",
                m.rule
            )));
        }
        return Ok(masked);
    }
    match (&masked, at_risk) {
        (None, Some(why)) => Err(review(format!(
            "needs pixel review: {why}, and no mask rule applies"
        ))),
        (None, None) if policy.detect_text => {
            if !pixels::has_pixels(obj) {
                return Ok(None);
            }
            match detect(obj) {
                Ok(r) if r.is_empty() => Ok(None),
                Ok(r) => Err(review(format!(
                    "needs pixel review: {}, and no mask rule applies",
                    regions_phrase(r.len())
                ))),
                Err(e) => Err(review(format!(
                    "needs pixel review: text detection was asked for but the pixels cannot be read ({})",
                    e.code()
                ))),
            }
        }
        (None, None) => Ok(None),
        (Some(m), risk) if risk.is_some() || policy.detect_text => {
            let found = detect(obj).map_err(|e| {
                review(format!(
                    "needs pixel review: masked by rule '{}' but the result cannot be re-checked for text ({})",
                    m.rule,
                    e.code()
                ))
            })?;
            let (rows, cols) = pixels::size(obj);
            let inside = found
                .iter()
                .filter(|r| {
                    m.regions
                        .iter()
                        .filter_map(|g| g.resolve(cols, rows))
                        .any(|b| r.overlaps(b))
                })
                .count();
            if inside > 0 {
                return Err(residual(format!(
                    "text still detected at {inside} masked region edge(s) after masking by rule '{}': the mask does not cover it",
                    m.rule
                )));
            }
            if !found.is_empty() {
                return Err(residual(format!(
                    "{} outside the masks of rule '{}'",
                    match found.len() {
                        1 => "1 text region remains".to_string(),
                        n => format!("{n} text regions remain"),
                    },
                    m.rule
                )));
            }
            Ok(masked)
        }
        (Some(_), _) => Ok(masked),
    }
}

fn residual(reason: String) -> Quarantine {
    Quarantine {
        code: QuarantineCode::ResidualPixelText,
        reason,
        missing_key: None,
    }
}
