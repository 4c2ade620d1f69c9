//! Profile approval for every front door: pin an approved profile (name + SHA-256) to a study
//! in `deposit.toml`, read the current approval, and hold a session to its study's approval and
//! UID root. Which study and file: `super::resolve`.

use std::path::Path;

use serde::Serialize;

use super::Session;
use crate::config::{self, Config, Pin};
use crate::deid::Profile;
use crate::error::ApiError;

/// A study's approved profile.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Approval {
    /// The study.
    pub study: String,
    /// Shipped profile name or absolute file path.
    pub profile: String,
    /// SHA-256 of the approved canonical form.
    pub sha256: String,
    /// When (UTC).
    pub approved_at: String,
    /// The configuration file it is recorded in.
    pub config: String,
}

fn cfg_err(e: config::ConfigError) -> ApiError {
    ApiError::from_err(&e, true)
}

/// The study an approval goes to: the one named, else the only one, else "default" when the
/// file has none.
fn approval_study(cfg: &Config, study: Option<&str>) -> Result<String, ApiError> {
    match cfg.study(study).map_err(cfg_err)? {
        Some((name, _)) => Ok(name.to_string()),
        None => Ok(study.unwrap_or("default").to_string()),
    }
}

/// How a profile is named in the configuration: a shipped name as is, a file as an absolute path.
fn pinned_name(name_or_file: &str) -> String {
    if crate::deid::profile::SHIPPED
        .iter()
        .any(|(n, _)| *n == name_or_file)
    {
        return name_or_file.to_string();
    }
    crate::platform::canonicalize(std::path::Path::new(name_or_file))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| name_or_file.to_string())
}

/// Approves a profile for a study: pins its name and SHA-256 into the configuration file
/// (created if needed; every other line kept). From then on the study runs only this profile.
pub fn approve(
    config_path: Option<&Path>,
    study: Option<&str>,
    profile: &str,
    now_unix: i64,
) -> Result<Approval, ApiError> {
    let cfg = config::load(config_path, true).map_err(cfg_err)?;
    let study = approval_study(&cfg, study)?;
    let p = Profile::load(profile).map_err(ApiError::usage_err)?;
    let path = cfg
        .path
        .clone()
        .ok_or_else(|| cfg_err(config::ConfigError::NoConfigDir))?;
    let pin = Pin {
        profile: pinned_name(profile),
        sha256: p.sha256.clone(),
        approved_at: crate::calendar::utc_stamp(now_unix),
    };
    config::write_pin(&path, &study, &pin).map_err(cfg_err)?;
    Ok(Approval {
        study,
        profile: pin.profile,
        sha256: pin.sha256,
        approved_at: pin.approved_at,
        config: path.display().to_string(),
    })
}

/// The approval in force for a study (the one named, or the only one), if any.
pub fn approval(cfg: &Config, study: Option<&str>) -> Result<Option<Approval>, ApiError> {
    let Some((name, s)) = cfg.study(study).map_err(cfg_err)? else {
        return Ok(None);
    };
    Ok(match (&s.profile, &s.profile_sha256) {
        (Some(p), Some(h)) => Some(Approval {
            study: name.to_string(),
            profile: p.clone(),
            sha256: h.clone(),
            approved_at: s.approved_at.clone().unwrap_or_default(),
            config: cfg
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        }),
        _ => None,
    })
}

/// Every approval in the configuration (one per study that has one).
pub fn approvals(cfg: &Config) -> Vec<Approval> {
    cfg.studies
        .keys()
        .filter_map(|n| approval(cfg, Some(n)).ok().flatten())
        .collect()
}

/// The refusal for a profile that is not the study's approved one. `asked` is what the caller
/// named (`None`: the pinned profile itself was loaded, so its content changed).
pub fn not_approved(p: &Profile, pin: &Approval, asked: Option<&str>) -> ApiError {
    let short = |h: &str| h.chars().take(12).collect::<String>();
    let same = asked.is_none_or(|a| pinned_name(a) == pin.profile);
    let message = if same {
        format!(
            "the profile '{}' has changed since it was approved for study '{}' (approved sha256 {}…, now {}…): it needs re-approval — review it, then run `deposit profile approve {} --study {}`",
            p.name, pin.study, short(&pin.sha256), short(&p.sha256), pin.profile, pin.study
        )
    } else {
        format!(
            "the profile '{}' (sha256 {}…) is not the one approved for study '{}' ('{}', sha256 {}…): it needs re-approval — review it, then run `deposit profile approve NAME|FILE --study {}`",
            p.name, short(&p.sha256), pin.study, pin.profile, short(&pin.sha256), pin.study
        )
    };
    ApiError::usage("profile.not_approved", message)
}

/// What a session takes from its study.
#[derive(Debug, Clone, Default)]
pub struct StudySettings {
    /// The configured study's name, when one is in force.
    pub name: Option<String>,
    /// The approval in force: the default profile, and the only one allowed.
    pub approval: Option<Approval>,
    /// UID root for new UIDs (checked); `None` = 2.25.
    pub uid_root: Option<String>,
}

impl Session {
    /// Holds this session to a study: its approved profile becomes the default and the only
    /// one de-identification accepts; its UID root is used for new UIDs.
    pub fn use_study(&mut self, s: StudySettings) -> Result<(), ApiError> {
        if let Some(r) = &s.uid_root {
            crate::deid::keyed::check_uid_root(r).map_err(|m| {
                ApiError::usage(
                    "config.uid_root",
                    format!("the UID root '{r}' is not usable: {m}"),
                )
            })?;
        }
        self.study = s;
        Ok(())
    }

    /// The study settings in force.
    pub fn study_settings(&self) -> &StudySettings {
        &self.study
    }
}

/// Marks each profile with the studies that approved exactly it (same SHA-256).
pub fn mark_approved(infos: &mut [super::deid::ProfileInfo], approvals: &[Approval]) {
    for i in infos {
        i.approved_for = approvals
            .iter()
            .filter(|a| a.sha256 == i.sha256)
            .map(|a| a.study.clone())
            .collect();
    }
}

/// One configured study, as the window's study picker lists it (no identity: names, labels,
/// URLs without secrets).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StudyChoice {
    /// The study's name in deposit.toml.
    pub name: String,
    /// Its destination (a URL, resolved from `[destinations]`).
    pub destination: Option<String>,
    /// Its project label at the archive.
    pub project: Option<String>,
    /// The profile it approved, if any.
    pub approved_profile: Option<String>,
    /// Its lookup table.
    pub lookup: Option<String>,
}

/// The configured study as front ends show it: its approval and defaults.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StudySetup {
    /// The study in force (the only one configured, or none).
    pub study: Option<String>,
    /// Its approved profile (the default, and the only one allowed), if any.
    pub approval: Option<Approval>,
    /// Its destination (a URL, resolved from `[destinations]`).
    pub destination: Option<String>,
    /// Its lookup table.
    pub lookup: Option<String>,
    /// The configuration file (where approvals are written).
    pub config: Option<String>,
}
