//! `deposit preview FILE --out PNG [--frame N] [--no-mask]`.

use std::path::Path;

use super::args::Common;
use super::{print_json, EXIT_OK};
use crate::api::pixels::{preview_to_file, PreviewOptions};
use crate::error::ApiError;

pub fn run(
    common: &Common,
    file: &Path,
    out: &Path,
    frame: u32,
    no_mask: bool,
) -> Result<u8, ApiError> {
    let opts = PreviewOptions {
        frame,
        masks: common.resolved.masks.clone(),
        no_mask,
        window: None,
    };
    let info = preview_to_file(&common.resolved.open_home()?, file, out, &opts)?;
    if common.json {
        print_json(&info)?;
    } else if !common.quiet {
        println!(
            "frame {} of {} ({} x {}, {}) → {}{}",
            info.frame + 1,
            info.frames,
            info.columns,
            info.rows,
            info.photometric,
            out.display(),
            match &info.mask_rule {
                Some(r) => format!(" — masked by rule '{r}'"),
                None => String::new(),
            }
        );
    }
    Ok(EXIT_OK)
}
