//! Pixel operations for the CLI and GUI: render a frame to PNG, masks applied unless told not to.

use std::path::Path;

use crate::error::ApiError;
use crate::pixels::{self, PreviewInfo, Window};

/// What to render.
#[derive(Debug, Clone, Default)]
pub struct PreviewOptions {
    /// Frame (0-based).
    pub frame: u32,
    /// Mask library to apply (none: nothing is masked).
    pub masks: Option<std::path::PathBuf>,
    /// Do not apply masks even when a library is given.
    pub no_mask: bool,
    /// Window overriding the file's.
    pub window: Option<Window>,
}

/// Renders one frame as PNG bytes (masked by `opts.masks` only; [`super::Session::preview_png`]
/// also applies the site library).
pub fn preview_png(file: &Path, opts: &PreviewOptions) -> Result<(Vec<u8>, PreviewInfo), ApiError> {
    let masks = if opts.no_mask {
        None
    } else {
        super::masks::load_masks(opts.masks.as_deref())?
    };
    render_png(file, opts, masks.as_ref())
}

/// Text regions the detector proposes on frame `frame` of `file`, for the reviewer to turn
/// into a mask rule. Boxes and confidence only — never the text read.
pub fn suggest_regions(file: &Path, frame: u32) -> Result<Vec<pixels::ocr::Region>, ApiError> {
    suggest_regions_masked(file, frame, &[])
}

/// The text regions that would remain on frame `frame` of `file` once `masked` (the rectangles
/// drawn so far) are filled.
pub fn suggest_regions_masked(
    file: &Path,
    frame: u32,
    masked: &[pixels::Rect],
) -> Result<Vec<pixels::ocr::Region>, ApiError> {
    pixels::suggest_regions(file, frame, masked).map_err(|e| {
        let usage = matches!(
            e,
            pixels::PixelError::NoSuchFrame { .. } | pixels::PixelError::Unreadable { .. }
        );
        ApiError::from_err(&e, usage)
    })
}

impl super::Session {
    /// Renders one frame as PNG bytes, masked by `opts.masks` then the site library (first
    /// match wins) unless `opts.no_mask`.
    pub fn preview_png(
        &self,
        file: &Path,
        opts: &PreviewOptions,
    ) -> Result<(Vec<u8>, PreviewInfo), ApiError> {
        if opts.no_mask {
            return render_png(file, opts, None);
        }
        let masks = super::masks::run_and_site_masks(self.home(), opts.masks.as_deref())?;
        render_png(file, opts, masks.as_ref())
    }
}

fn render_png(
    file: &Path,
    opts: &PreviewOptions,
    masks: Option<&pixels::MaskLibrary>,
) -> Result<(Vec<u8>, PreviewInfo), ApiError> {
    let (rendered, info) = pixels::preview(file, opts.frame, masks, opts.window).map_err(|e| {
        let usage = matches!(
            e,
            pixels::PixelError::NoSuchFrame { .. } | pixels::PixelError::Unreadable { .. }
        );
        ApiError::from_err(&e, usage)
    })?;
    let png = pixels::render::to_png(&rendered)?;
    Ok((png, info))
}

/// Renders one frame into a PNG file, masked as [`super::Session::preview_png`] does.
pub fn preview_to_file(
    session: &super::Session,
    file: &Path,
    out: &Path,
    opts: &PreviewOptions,
) -> Result<PreviewInfo, ApiError> {
    let (png, info) = session.preview_png(file, opts)?;
    std::fs::write(out, png).map_err(|e| {
        ApiError::permanent(
            "pixels.png_write",
            format!("cannot write {}: {e}", out.display()),
        )
    })?;
    Ok(info)
}

/// PNG bytes as a `data:` URL (what a web view shows without touching the disk).
pub fn png_data_url(png: &[u8]) -> String {
    use base64::Engine;
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// A rendered frame for front ends: a PNG as a `data:` URL, and what was rendered.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Preview {
    /// `data:image/png;base64,…`
    pub png: String,
    /// Frame, size, window and mask actually used.
    pub info: PreviewInfo,
}

impl super::Session {
    /// Renders one frame of a catalogued instance (window centre/width: the file's when not
    /// both given).
    pub fn preview_instance(
        &self,
        instance: i64,
        frame: u32,
        center: Option<f64>,
        width: Option<f64>,
    ) -> Result<Preview, ApiError> {
        let file = self.instance_file(instance)?;
        let window = match (center, width) {
            (Some(center), Some(width)) if width > 0.0 => Some(Window { center, width }),
            _ => None,
        };
        let opts = PreviewOptions {
            frame,
            window,
            ..PreviewOptions::default()
        };
        let (png, info) = preview_png(&file, &opts)?;
        Ok(Preview {
            png: png_data_url(&png),
            info,
        })
    }
}
