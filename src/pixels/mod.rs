//! Pixels: decoding for preview, burned-in text masks by rule (Deposit libraries and CTP
//! DicomPixelAnonymizer scripts), applied to every frame and written back losslessly.
//! Start with [`preview`] (render one frame) and [`apply::mask_object`] (mask for output).

pub mod apply;
pub mod expr;
pub mod image;
pub mod jpeg;
pub mod library;
pub mod metadata;
pub mod ocr;
pub mod render;
pub mod rle;

use std::path::Path;

use crate::error::{Classify, ErrorClass};

pub use apply::{mask_object, Masked};
pub use image::{decode, Image};
pub use library::{MaskLibrary, Rect, Rule};
pub use render::{Look, Rendered, Window};

/// Pixel errors (paths, transfer syntax UIDs and counts only — never header values).
#[derive(Debug, thiserror::Error)]
pub enum PixelError {
    /// The object has no pixel data.
    #[error("the object has no pixel data")]
    NoPixels,
    /// The frame asked for does not exist.
    #[error("frame {frame} does not exist (the image has {frames})")]
    NoSuchFrame {
        /// Asked for (0-based).
        frame: u32,
        /// Available.
        frames: u32,
    },
    /// The decoder refused or failed.
    #[error("cannot decode the pixel data (transfer syntax {transfer_syntax}): {why}")]
    Decode {
        /// Transfer syntax UID.
        transfer_syntax: String,
        /// Decoder message.
        why: String,
    },
    /// A pixel layout Deposit does not handle.
    #[error("unsupported pixel data: {0}")]
    Unsupported(String),
    /// The mask library cannot be used.
    #[error("mask library {path}: {why}")]
    MaskFile {
        /// File.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The file cannot be read as DICOM.
    #[error("{path} cannot be read as a DICOM Part-10 file ({reason})")]
    Unreadable {
        /// File.
        path: String,
        /// Why, as an intake reason code (`truncated`, `too_deep`, `not_regular_file`, …).
        reason: &'static str,
    },
    /// PNG encoding or writing failed.
    #[error("cannot write the PNG: {0}")]
    Png(String),
    /// Text detection is unavailable or failed.
    #[error("text detection: {0}")]
    Ocr(String),
}

impl Classify for PixelError {
    fn code(&self) -> &'static str {
        match self {
            PixelError::NoPixels => "pixels.no_pixels",
            PixelError::NoSuchFrame { .. } => "pixels.no_such_frame",
            PixelError::Decode { .. } => "pixels.undecodable",
            PixelError::Unsupported(_) => "pixels.unsupported",
            PixelError::MaskFile { .. } => "pixels.mask_file",
            PixelError::Unreadable { .. } => "pixels.unreadable",
            PixelError::Png(_) => "pixels.png",
            PixelError::Ocr(_) => "pixels.ocr",
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// Whether the object has (integer, float or double) pixel data.
pub fn has_pixels(obj: &dicom_object::InMemDicomObject) -> bool {
    [0x0010, 0x0008, 0x0009]
        .iter()
        .any(|&e| obj.get(dicom_core::Tag(0x7FE0, e)).is_some())
}

/// Rows and Columns from the header (0 when missing).
pub fn size(obj: &dicom_object::InMemDicomObject) -> (u32, u32) {
    let get = |e| {
        obj.get(dicom_core::Tag(0x0028, e))
            .and_then(|v| v.to_int::<u32>().ok())
            .unwrap_or(0)
    };
    (get(0x0010), get(0x0011))
}

/// What `preview` rendered.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, serde::Serialize)]
pub struct PreviewInfo {
    /// Frame rendered (0-based).
    pub frame: u32,
    /// Frames in the object.
    pub frames: u32,
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub columns: u32,
    /// Photometric interpretation of the decoded data.
    pub photometric: String,
    /// Transfer syntax of the file.
    pub transfer_syntax: String,
    /// The mask rule applied, if any.
    pub mask_rule: Option<String>,
    /// The window used (grey images).
    pub window: Option<Window>,
}

/// Renders frame `frame` of the file to 8-bit pixels, masked by `masks` when given.
pub fn preview(
    path: &Path,
    frame: u32,
    masks: Option<&MaskLibrary>,
    window: Option<Window>,
) -> Result<(Rendered, PreviewInfo), PixelError> {
    preview_with(path, frame, window, |obj| {
        masks
            .and_then(|lib| apply::find_rule(lib, obj))
            .map(|r| (r.name.clone(), r.regions.clone()))
    })
}

/// Renders frame `frame` of the file masked by `regions` (a candidate rule, whatever the
/// header says).
pub fn preview_regions(
    path: &Path,
    frame: u32,
    regions: &[Rect],
    window: Option<Window>,
) -> Result<(Rendered, PreviewInfo), PixelError> {
    preview_with(path, frame, window, |_| {
        Some(("candidate".to_string(), regions.to_vec()))
    })
}

/// Opens a file for pixel work through intake's bounded reader: regular files only, the
/// Part-10 guard first (impossible lengths and too deep nesting are refused before the reader
/// allocates or recurses), deflated data sets inflated within their budget, then a full read.
pub fn open(path: &Path) -> Result<dicom_object::DefaultDicomObject, PixelError> {
    use crate::intake::{bounded, guard, SkipReason};
    let unreadable = |why: SkipReason| PixelError::Unreadable {
        path: path.display().to_string(),
        reason: why.code(),
    };
    let f = bounded::open_regular(path).map_err(unreadable)?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let meta = guard::check_part10(f, size, true, false).map_err(unreadable)?;
    if meta.ts_uid.as_deref().is_some_and(bounded::is_deflated) {
        return crate::intake::open_full(path).map_err(unreadable);
    }
    // the handle, not the path: what was checked regular is what is read
    let f = bounded::open_regular(path).map_err(unreadable)?;
    dicom_object::OpenFileOptions::new()
        .from_reader(f)
        .map_err(|_| unreadable(SkipReason::Corrupt))
}

fn preview_with(
    path: &Path,
    frame: u32,
    window: Option<Window>,
    rule: impl FnOnce(
        &dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
    ) -> Option<(String, Vec<Rect>)>,
) -> Result<(Rendered, PreviewInfo), PixelError> {
    let obj = open(path)?;
    let frames = obj
        .get(dicom_core::Tag(0x0028, 0x0008))
        .and_then(|e| e.to_int::<i64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1) as u32;
    let mut img = decode(&obj, Some(frame))?;
    let rule = rule(&obj);
    if let Some((_, regions)) = &rule {
        img.mask(regions);
    }
    let look = Look::from_dataset(&obj);
    let rendered = render::render(&img, 0, &look, window)?;
    let info = PreviewInfo {
        frame,
        frames,
        rows: img.rows,
        columns: img.cols,
        photometric: img.photometric.clone(),
        transfer_syntax: obj
            .meta()
            .transfer_syntax()
            .trim_end_matches(['\0', ' '])
            .to_string(),
        mask_rule: rule.map(|r| r.0),
        window: rendered.window,
    };
    Ok((rendered, info))
}

/// Text regions the detector proposes for frame `frame` of the file, for review; with
/// `masked`, on the frame as those rectangles would mask it (what text would remain).
pub fn suggest_regions(
    path: &Path,
    frame: u32,
    masked: &[Rect],
) -> Result<Vec<ocr::Region>, PixelError> {
    let obj = open(path)?;
    let mut img = decode(&obj, Some(frame))?;
    img.mask(masked);
    let look = Look::from_dataset(&obj);
    let rendered = render::render(&img, 0, &look, None)?;
    ocr::detect(&rendered)
}
