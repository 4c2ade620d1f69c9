//! `deposit report [--study NAME] [--from DATE] [--to DATE] [--format html|csv] [--out FILE]`:
//! the readable report of what was sent, approved, reviewed and set aside.

use std::path::Path;

use super::args::{Common, ReportFormat};
use super::{print_json, EXIT_OK};
use crate::api::report::{self, ReportRequest};
use crate::api::unix_now;
use crate::error::ApiError;

/// Runs `deposit report`.
pub fn run(
    common: &Common,
    from: Option<String>,
    to: Option<String>,
    format: ReportFormat,
    out: Option<&Path>,
    utc_offset: Option<i32>,
) -> Result<u8, ApiError> {
    let req = ReportRequest {
        study: common.study.clone(),
        from,
        to,
        format: match format {
            ReportFormat::Html => report::ReportFormat::Html,
            ReportFormat::Csv => report::ReportFormat::Csv,
        },
        utc_offset_minutes: utc_offset,
    };
    let session = common.resolved.open_home()?;
    match out {
        Some(path) => {
            let written = session.save_report(&req, path, unix_now())?;
            if common.json {
                print_json(&serde_json::json!({ "written": written }))?;
            } else if !common.quiet {
                for w in &written {
                    println!("wrote {w}");
                }
            }
        }
        None => {
            let files = session.report_files(&req, unix_now())?;
            let text = files
                .iter()
                .map(|f| f.text.as_str())
                .collect::<Vec<_>>()
                .join("\r\n");
            if common.json {
                print_json(&serde_json::json!({ "files": files }))?;
            } else {
                use std::io::Write as _;
                let mut o = std::io::stdout().lock();
                o.write_all(text.as_bytes())
                    .and_then(|()| o.flush())
                    .map_err(|e| {
                        ApiError::transient(
                            "cli.stdout",
                            format!("cannot write the report to standard output: {e}"),
                        )
                    })?;
            }
        }
    }
    Ok(EXIT_OK)
}
