//! `deposit scan PATH...`: catalog the DICOM under the paths and summarise.

use std::path::PathBuf;

use super::args::Common;
use super::progress::Bar;
use super::{EXIT_FAILED, EXIT_OK};
use crate::api::dto::ScanOptions;
use crate::error::ApiError;

pub fn run(common: &Common, paths: &[PathBuf], threads: usize) -> Result<u8, ApiError> {
    let mut session = common.resolved.open_home()?;
    let bar = Bar::new(!common.json && !common.quiet, "files");
    let summary = session.scan(paths, &ScanOptions { threads }, |p| {
        bar.set(p.done, p.total)
    })?;
    bar.finish();
    if common.json {
        let v = serde_json::to_string(&summary).map_err(|e| {
            ApiError::permanent("cli.json", format!("cannot encode the summary: {e}"))
        })?;
        println!("{v}");
    } else if !common.quiet {
        println!(
            "{} files: {} instances in {} series, {} studies, {} patients{}",
            summary.files,
            summary.instances,
            summary.series,
            summary.studies,
            summary.patients,
            if summary.dicomdirs > 0 {
                format!(" ({} DICOMDIR followed)", summary.dicomdirs)
            } else {
                String::new()
            }
        );
        if !summary.skipped.is_empty() {
            println!(
                "{} files not catalogued ({} with errors):",
                summary.skipped.len(),
                summary.failed
            );
            for s in &summary.skipped {
                println!(
                    "  {}: {}",
                    crate::logging::escape(&s.path),
                    crate::logging::escape(&s.reason)
                );
            }
        }
    }
    Ok(if summary.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
