//! `deposit quarantine [list|show ID|release ID|discard ID]`.

use std::path::PathBuf;

use super::args::Common;
use super::{print_json, EXIT_FAILED, EXIT_OK};
use crate::api::quarantine::ReleaseOptions;
use crate::error::ApiError;

fn usage(message: String) -> ApiError {
    ApiError::usage("cli.usage", message)
}

fn parse_id(action: &str, id: Option<&str>) -> Result<i64, ApiError> {
    let id = id.ok_or_else(|| usage(format!("name an item: deposit quarantine {action} ID")))?;
    id.parse()
        .map_err(|_| usage(format!("'{id}' is not a quarantine id")))
}

pub fn run(
    common: &Common,
    action: Option<&str>,
    id: Option<&str>,
    to: Option<String>,
    out: Option<PathBuf>,
) -> Result<u8, ApiError> {
    match action.unwrap_or("list") {
        "release" => {
            let id = parse_id("release", id)?;
            let mut session = common.resolved.open_session()?;
            let opts = ReleaseOptions {
                profile: common.resolved.profile.clone(),
                lookup: common.resolved.lookup.clone(),
                to: to.map(|t| common.resolved.destination(&t)).transpose()?,
                out,
                project: common
                    .resolved
                    .project
                    .clone()
                    .or_else(|| common.study.clone()),
                masks: common.resolved.masks.clone(),
            };
            let r = session.quarantine_release(id, &opts)?;
            if common.json {
                print_json(&r)?;
            } else if !common.quiet {
                if r.released {
                    println!("Item {id} passed and was released.");
                } else {
                    println!(
                        "Item {id} is still held: {}",
                        r.reason.as_deref().unwrap_or("see deposit quarantine show")
                    );
                }
            }
            Ok(if r.released { EXIT_OK } else { EXIT_FAILED })
        }
        "discard" => {
            let id = parse_id("discard", id)?;
            let mut session = common.resolved.open_session()?;
            session.quarantine_discard(id)?;
            if common.json {
                print_json(&serde_json::json!({"id": id, "discarded": true}))?;
            } else if !common.quiet {
                println!("Item {id} discarded; its stored copy is deleted.");
            }
            Ok(EXIT_OK)
        }
        other => super::deid::quarantine(common, Some(other), id),
    }
}
