//! The command line's settings: flags and the environment become `api::resolve::Overrides`,
//! resolved once per command by the same function the window and the web UI use (flags win,
//! then the chosen study, then the top level of `deposit.toml`, then built-in defaults). A bad
//! configuration is exit status 2.

use super::args::{Command, Common};
use crate::api::resolve::{self, Overrides};
use crate::error::ApiError;

/// True for commands that act for one study (and so must know which).
fn needs_study(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Deid { .. }
            | Command::Send { .. }
            | Command::Inspect { .. }
            | Command::Quarantine { .. }
            | Command::Preview { .. }
    )
}

/// What the flags of `cmd` (and `DEPOSIT_CONFIG`, `DEPOSIT_HOME`) tell.
pub fn overrides(common: &Common, cmd: &Command) -> Overrides {
    Overrides {
        config: common.config.clone(),
        study: common.study.clone(),
        study_required: needs_study(cmd),
        profile: common.profile.clone(),
        lookup: common.lookup.clone(),
        masks: common.masks.clone(),
        uid_root: common.uid_root.clone(),
        destination: match cmd {
            Command::Send { to, .. } => to.clone(),
            _ => None,
        },
        ..Overrides::from_env()
    }
}

/// Resolves the settings of `cmd` into `common.resolved`.
pub fn resolve(common: &mut Common, cmd: &Command) -> Result<(), ApiError> {
    let r = resolve::resolve(&overrides(common, cmd))?;
    if let Some(root) = &common.uid_root {
        resolve::check_uid_root(root)
            .map_err(|m| ApiError::usage("cli.uid_root", format!("--uid-root {root}: {m}")))?;
    }
    common.resolved = r;
    Ok(())
}
