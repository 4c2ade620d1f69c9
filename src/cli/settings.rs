//! Fills command options from `deposit.toml`: flags win, then the chosen study, then the
//! top level of the file, then built-in defaults. A bad configuration is exit status 2.

use super::args::{Command, Common};
use crate::api::config::{self as api_config, Approval, StudySettings};
use crate::api::Session;
use crate::config::Config;
use crate::error::{ApiError, ErrorClass};

/// What the configuration adds to the flags.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The configuration read (empty when there is no file).
    pub config: Config,
    /// The study in force, if any.
    pub study: Option<String>,
    /// Its approved profile, if any.
    pub approval: Option<Approval>,
    /// Its destination (a name or URL), for `send` without `--to`.
    pub destination: Option<String>,
    /// Its project label.
    pub project: Option<String>,
}

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

/// Reads the configuration and fills `common` from its study.
pub fn resolve(common: &mut Common, cmd: &Command) -> Result<(), ApiError> {
    let cfg = api_config::load_config(common.config.as_deref())?;
    let study = if needs_study(cmd) {
        cfg.study(common.study.as_deref())
            .map_err(|e| ApiError::from_err(&e, true))?
    } else {
        // list/approve and the rest do not need one; a bad --study is still reported there.
        cfg.study(common.study.as_deref()).ok().flatten()
    };
    let mut r = Resolved::default();
    if let Some((name, s)) = study {
        r.study = Some(name.to_string());
        r.approval = api_config::approval(&cfg, Some(name))?;
        if r.approval.is_none() && common.profile.is_none() {
            common.profile = s.profile.clone();
        }
        if common.lookup.is_none() {
            common.lookup = s.lookup.clone();
        }
        if common.masks.is_none() {
            common.masks = s.masks.clone();
        }
        r.destination = s.destination.clone();
        r.project = s.project.clone();
    }
    if common.uid_root.is_none() {
        common.uid_root = cfg.uid_root_for(study.map(|(_, s)| s));
    } else if let Some(root) = &common.uid_root {
        crate::deid::keyed::check_uid_root(root).map_err(|m| ApiError {
            code: "cli.uid_root".into(),
            message: format!("--uid-root {root}: {m}"),
            class: ErrorClass::Permanent,
            usage: true,
        })?;
    }
    r.config = cfg;
    common.resolved = r;
    Ok(())
}

/// Opens the data home and holds the session to the study's approval and UID root.
pub fn open_session(common: &Common) -> Result<Session, ApiError> {
    let mut s = Session::open_default()?;
    s.use_study(StudySettings {
        approval: common.resolved.approval.clone(),
        uid_root: common.uid_root.clone(),
    })?;
    Ok(s)
}
