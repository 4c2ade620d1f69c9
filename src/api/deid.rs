//! De-identification operations: `deid` (files → output folder or quarantine), `inspect`,
//! profiles and the quarantine store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::{unix_now, Session};
use crate::catalog::quarantine::{NewQuarantine, QuarantineRow};
use crate::deid::{
    self, Context, Decision, Keys, LookupTable, Profile, Quarantine, QuarantineCode,
};
use crate::error::{ApiError, Classify, ErrorClass};
use crate::intake::walk::{walk, Found};
use crate::pixels::MaskLibrary;

use super::pixelgate::PixelPolicy;

/// Options of a de-identification run.
#[derive(Debug, Clone, Default)]
pub struct DeidOptions {
    /// Shipped profile name or profile file (default: the strict PS3.15 basic profile).
    pub profile: Option<String>,
    /// Lookup table file.
    pub lookup: Option<PathBuf>,
    /// Worker threads (0: rayon's default).
    pub threads: usize,
    /// Pixel-mask library (Deposit format or CTP DicomPixelAnonymizer script); the site
    /// library applies after it.
    pub masks: Option<PathBuf>,
    /// Run the text detector on every image (see [`super::pixelgate::PixelPolicy`]).
    pub detect_text: bool,
}

/// A profile's identity as reported in JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProfileId {
    /// Name.
    pub name: String,
    /// SHA-256 of the canonical form.
    pub sha256: String,
}

/// An input that failed with an error (not a quarantine).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    /// Input path.
    pub path: String,
    /// What went wrong (no PHI).
    pub reason: String,
}

/// An input set aside.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Quarantined {
    /// Quarantine id.
    pub id: i64,
    /// Input path.
    pub path: String,
    /// Reason code.
    pub code: String,
    /// Reason sentence.
    pub reason: String,
}

/// What `deid` did (DESIGN.md §4: written, quarantined, failed, profile).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeidSummary {
    /// Files written under the output folder.
    pub written: u64,
    /// Inputs quarantined.
    pub quarantined: u64,
    /// Inputs that failed with an error.
    pub failed: u64,
    /// Inputs that are not patient objects (DICOMDIR) and were left out.
    pub skipped: u64,
    /// The profile applied.
    pub profile: ProfileId,
    /// Each quarantined input.
    pub quarantine: Vec<Quarantined>,
    /// Each failed input.
    pub failures: Vec<Failure>,
}

/// Before/after of one file.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The profile applied.
    pub profile: ProfileId,
    /// Where the output would go (relative to the output folder).
    pub output_path: Option<String>,
    /// Set when the real run would quarantine this file.
    pub quarantine: Option<InspectQuarantine>,
    /// Every element acted on, with the rule.
    pub decisions: Vec<Decision>,
}

/// Quarantine verdict shown by inspect (no missing key: that stays in the quarantine store).
#[derive(Debug, Clone, Serialize)]
pub struct InspectQuarantine {
    /// Code.
    pub code: String,
    /// Sentence.
    pub reason: String,
}

/// A profile as listed.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileInfo {
    /// Name.
    pub name: String,
    /// SHA-256 of its canonical form.
    pub sha256: String,
    /// Description.
    pub description: String,
    /// Standard edition of its table.
    pub edition: String,
    /// Options with their CID 7050 codes: (name, code, meaning).
    pub options: Vec<(String, String, String)>,
    /// How many listed attributes get each action.
    pub actions: BTreeMap<String, usize>,
}

enum Outcome {
    Written,
    Quarantined {
        path: PathBuf,
        sop: Option<String>,
        q: Quarantine,
    },
    Failed(Failure),
    Skipped,
}

fn usage<E: Classify + std::fmt::Display>(e: E) -> ApiError {
    ApiError::from_err(&e, true)
}

fn internal(code: &str, message: String) -> ApiError {
    ApiError {
        code: code.into(),
        message,
        class: ErrorClass::Permanent,
        usage: false,
    }
}

/// Loads the profile named by the options (default: strict basic). A CTP script profile gets
/// its clock here (for @date/@time: read once per run, UTC) but no @integer store: scripts
/// using @integer quarantine unless the profile comes from [`Session::run_profile`].
pub fn resolve_profile(name: Option<&str>) -> Result<Profile, ApiError> {
    let p = Profile::load(name.unwrap_or("ps3.15-basic")).map_err(usage)?;
    Ok(p.with_ctp_env(deid::ctp::Env {
        now: Some(deid::ctp::Now::from_unix(unix_now(), 0)),
        integers: None,
    }))
}

pub(crate) fn load_lookup(path: Option<&Path>) -> Result<Option<LookupTable>, ApiError> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|e| ApiError {
        code: "deid.lookup_read".into(),
        message: format!("cannot read the lookup table {}: {e}", path.display()),
        class: ErrorClass::Permanent,
        usage: true,
    })?;
    LookupTable::parse(&text).map(Some).map_err(usage)
}

const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";

/// Loads the pixel-mask library named by the options, if any.
pub(crate) fn load_masks(path: Option<&Path>) -> Result<Option<MaskLibrary>, ApiError> {
    let Some(path) = path else { return Ok(None) };
    let lib = MaskLibrary::load(path).map_err(usage)?;
    for w in &lib.warnings {
        tracing::warn!("mask library {}: {w}", path.display());
    }
    Ok(Some(lib))
}

/// Masks the object's pixels when a rule matches and applies the run's pixel policy (before
/// de-identification, so signatures see the original header); see [`PixelPolicy`].
pub(crate) fn apply_masks(
    obj: &mut dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
    pixels: &PixelPolicy,
) -> Result<Option<crate::pixels::Masked>, Quarantine> {
    super::pixelgate::gate(obj, pixels)
}

fn process(
    path: &Path,
    out_dir: &Path,
    profile: &Profile,
    keys: &Keys,
    lookup: Option<&LookupTable>,
    pixels: &PixelPolicy,
) -> Outcome {
    // One guarded read (intake::open_full): impossible element lengths are refused before the
    // reader allocates them (a damaged 1 KB file can otherwise cost gigabytes per worker).
    let mut obj = match crate::intake::open_full(path) {
        Ok(o) => o,
        Err(why) => {
            return Outcome::Quarantined {
                path: path.to_path_buf(),
                sop: None,
                q: Quarantine {
                    code: QuarantineCode::Unreadable,
                    reason: format!("cannot be read as DICOM: {}", why.sentence()),
                    missing_key: None,
                },
            }
        }
    };
    let meta = obj.meta();
    let clean = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
    if clean(&meta.media_storage_sop_class_uid) == MEDIA_STORAGE_DIRECTORY {
        return Outcome::Skipped;
    }
    let mut ts = clean(&meta.transfer_syntax);
    let sop = Some(clean(&meta.media_storage_sop_instance_uid)).filter(|s| !s.is_empty());
    let masked = match apply_masks(&mut obj, pixels) {
        Ok(m) => m,
        Err(q) => {
            return Outcome::Quarantined {
                path: path.to_path_buf(),
                sop,
                q,
            }
        }
    };
    if let Some(m) = &masked {
        ts = m.transfer_syntax.clone();
    }
    let ctx = Context {
        lookup,
        mask_rule: masked.as_ref().map(|m| m.rule.as_str()),
        record_values: false,
    };
    match deid::deidentify(obj.into_inner(), &ts, profile, keys, ctx) {
        Err(q) => Outcome::Quarantined {
            path: path.to_path_buf(),
            sop,
            q,
        },
        Ok(d) => {
            let target = out_dir.join(&d.relative_path);
            let fail = |what: &str, e: &dyn std::fmt::Display| {
                Outcome::Failed(Failure {
                    path: path.display().to_string(),
                    reason: format!("cannot {what} {}: {e}", target.display()),
                })
            };
            if let Some(parent) = target.parent() {
                if let Err(e) = std::fs::create_dir_all(parent) {
                    return fail("create the folder for", &e);
                }
            }
            let tmp = target.with_extension("dcm.part");
            let file = d.dataset.with_exact_meta(d.meta);
            if let Err(e) = file.write_to_file(&tmp) {
                let _ = std::fs::remove_file(&tmp);
                return fail("write", &e);
            }
            if let Err(e) = std::fs::rename(&tmp, &target) {
                return fail("finish", &e);
            }
            Outcome::Written
        }
    }
}

impl Session {
    /// The profile for a run: [`resolve_profile`], plus, for a CTP script, the @integer store
    /// backed by the catalog (a connection of its own, usable from every worker).
    pub fn run_profile(&self, name: Option<&str>) -> Result<Profile, ApiError> {
        let p = resolve_profile(name)?;
        if p.ctp.is_none() {
            return Ok(p);
        }
        let catalog = crate::catalog::Catalog::open(&self.home.catalog_path())
            .map_err(|e| ApiError::from_err(&e, false))?;
        Ok(p.with_ctp_env(deid::ctp::Env {
            now: Some(deid::ctp::Now::from_unix(unix_now(), 0)),
            integers: Some(std::sync::Arc::new(
                crate::catalog::ctp_integers::CatalogIntegers::new(catalog),
            )),
        }))
    }

    pub(crate) fn keys(&self) -> Result<Keys, ApiError> {
        self.home
            .site_key()
            .map(Keys::new)
            .map_err(|e| ApiError::from_err(&e, false))
    }

    /// De-identifies every file under `paths` into `out_dir`; quarantines what is not safe.
    /// `progress(done, total)` is called as files finish.
    pub fn deid(
        &mut self,
        paths: &[PathBuf],
        out_dir: &Path,
        opts: &DeidOptions,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<DeidSummary, ApiError> {
        let profile = self.run_profile(opts.profile.as_deref())?;
        let lookup = load_lookup(opts.lookup.as_deref())?;
        let pixels = PixelPolicy::load(&self.home, opts.masks.as_deref(), opts.detect_text)?;
        let keys = self.keys()?;
        let roots = crate::intake::check_roots(paths).map_err(usage)?;
        std::fs::create_dir_all(out_dir).map_err(|e| ApiError {
            code: "deid.out_dir".into(),
            message: format!("cannot create the output folder {}: {e}", out_dir.display()),
            class: ErrorClass::Permanent,
            usage: true,
        })?;
        let mut summary = DeidSummary {
            written: 0,
            quarantined: 0,
            failed: 0,
            skipped: 0,
            profile: ProfileId {
                name: profile.name.clone(),
                sha256: profile.sha256.clone(),
            },
            quarantine: Vec::new(),
            failures: Vec::new(),
        };
        let mut files = Vec::new();
        for f in walk(&roots) {
            match f {
                Found::File(s) => files.push(s.path),
                Found::Problem(p, why) => {
                    summary.failed += 1;
                    summary.failures.push(Failure {
                        path: p.display().to_string(),
                        reason: why.sentence(),
                    });
                }
            }
        }
        let total = files.len() as u64;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build()
            .map_err(|e| internal("deid.threads", format!("cannot start workers: {e}")))?;
        let (tx, rx) = crossbeam_channel::bounded::<Outcome>(64);
        let mut done = 0u64;
        std::thread::scope(|s| {
            let (profile, keys, lookup, files) = (&profile, &keys, lookup.as_ref(), &files);
            let pixels = &pixels;
            s.spawn(move || {
                pool.install(|| {
                    files.par_iter().for_each_with(tx, |tx, f| {
                        let _ = tx.send(process(f, out_dir, profile, keys, lookup, pixels));
                    })
                })
            });
            for outcome in rx.iter() {
                done += 1;
                match outcome {
                    Outcome::Written => summary.written += 1,
                    Outcome::Skipped => summary.skipped += 1,
                    Outcome::Failed(f) => {
                        summary.failed += 1;
                        summary.failures.push(f);
                    }
                    Outcome::Quarantined { path, sop, q } => {
                        match self.hold(&path, sop.as_deref(), &q, profile) {
                            Ok(id) => {
                                summary.quarantined += 1;
                                summary.quarantine.push(Quarantined {
                                    id,
                                    path: path.display().to_string(),
                                    code: q.code.as_str().into(),
                                    reason: q.reason.clone(),
                                });
                            }
                            Err(e) => {
                                // Never written to the output either way: count as failed.
                                summary.failed += 1;
                                summary.failures.push(Failure {
                                    path: path.display().to_string(),
                                    reason: format!("cannot quarantine: {}", e.message),
                                });
                            }
                        }
                    }
                }
                progress(done, total);
            }
        });
        Ok(summary)
    }

    /// Records a quarantined input and copies it into the data home's quarantine folder.
    pub(crate) fn hold(
        &self,
        path: &Path,
        sop: Option<&str>,
        q: &Quarantine,
        profile: &Profile,
    ) -> Result<i64, ApiError> {
        let id = self
            .catalog
            .add_quarantine(&NewQuarantine {
                source_path: path,
                stored_path: None,
                sop_uid: sop,
                code: q.code.as_str(),
                reason: &q.reason,
                missing_key: q.missing_key.as_deref(),
                profile_name: &profile.name,
                profile_sha: &profile.sha256,
                created_at: unix_now(),
            })
            .map_err(|e| ApiError::from_err(&e, false))?;
        let stored = self.home.dir("quarantine").join(format!("{id}.dcm"));
        let bytes = std::fs::read(path).map_err(|e| {
            internal(
                "deid.quarantine_copy",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        crate::home::write_private_file(&stored, &bytes)
            .map_err(|e| ApiError::from_err(&e, false))?;
        self.catalog
            .set_quarantine_copy(id, &stored)
            .map_err(|e| ApiError::from_err(&e, false))?;
        Ok(id)
    }

    /// Before/after of one file under a profile, without writing anything.
    pub fn inspect(
        &self,
        file: &Path,
        profile: Option<&str>,
        lookup: Option<&Path>,
    ) -> Result<InspectReport, ApiError> {
        let profile = self.run_profile(profile)?;
        let lookup = load_lookup(lookup)?;
        let keys = self.keys()?;
        let obj = crate::intake::open_full(file).map_err(|why| ApiError {
            code: "deid.unreadable".into(),
            message: format!(
                "{} cannot be read as DICOM: {}",
                file.display(),
                why.sentence()
            ),
            class: ErrorClass::Permanent,
            usage: true,
        })?;
        let ts = obj
            .meta()
            .transfer_syntax
            .trim_end_matches(['\0', ' '])
            .to_string();
        let ds = obj.into_inner();
        let id = ProfileId {
            name: profile.name.clone(),
            sha256: profile.sha256.clone(),
        };
        let ctx = Context {
            lookup: lookup.as_ref(),
            mask_rule: None,
            record_values: true,
        };
        let verdict = match deid::deidentify(ds.clone(), &ts, &profile, &keys, ctx) {
            Ok(d) => {
                return Ok(InspectReport {
                    profile: id,
                    output_path: Some(d.relative_path.display().to_string()),
                    quarantine: None,
                    decisions: d.decisions,
                })
            }
            Err(q) => q,
        };
        // Show the tag table anyway: as if the pixels were cleared and without the lookup.
        let preview = Context {
            lookup: None,
            mask_rule: Some("inspect preview: pixels NOT reviewed"),
            record_values: true,
        };
        let d = deid::deidentify(ds, &ts, &profile, &keys, preview).ok();
        Ok(InspectReport {
            profile: id,
            output_path: None,
            quarantine: Some(InspectQuarantine {
                code: verdict.code.as_str().into(),
                reason: verdict.reason,
            }),
            decisions: d.map(|d| d.decisions).unwrap_or_default(),
        })
    }

    /// Every quarantine record.
    pub fn quarantine_list(&self) -> Result<Vec<QuarantineRow>, ApiError> {
        self.catalog
            .quarantine_list()
            .map_err(|e| ApiError::from_err(&e, false))
    }

    /// One quarantine record.
    pub fn quarantine_show(&self, id: i64) -> Result<QuarantineRow, ApiError> {
        self.catalog
            .quarantine_get(id)
            .map_err(|e| ApiError::from_err(&e, false))?
            .ok_or_else(|| ApiError {
                code: "quarantine.not_found".into(),
                message: format!("no quarantine item {id}"),
                class: ErrorClass::Permanent,
                usage: true,
            })
    }
}

/// Describes a profile for `deposit profile list|show`.
pub fn profile_info(p: &Profile) -> ProfileInfo {
    let mut actions = BTreeMap::new();
    if let Some(e) = &p.ctp {
        // A CTP script: rules counted by the first function they call (`@remove`, `@hashuid`…).
        for r in &e.script.rules {
            let first = r.nodes.iter().find_map(|n| match n {
                deid::ctp::parse::Node::Call { name, .. } if name != "always" => {
                    Some(format!("@{name}"))
                }
                _ => None,
            });
            *actions
                .entry(first.unwrap_or_else(|| "literal".into()))
                .or_insert(0) += 1;
        }
    }
    for line in p.canonical().lines() {
        let mut parts = line.split(' ');
        if let (Some(tag), Some(a)) = (parts.next(), parts.next()) {
            if tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_hexdigit()) {
                *actions.entry(a.to_string()).or_insert(0) += 1;
            }
        }
    }
    ProfileInfo {
        name: p.name.clone(),
        sha256: p.sha256.clone(),
        description: p.description.clone(),
        edition: p.edition.clone(),
        options: p
            .options
            .iter()
            .map(|o| (o.name().into(), o.code().into(), o.meaning().into()))
            .collect(),
        actions,
    }
}

/// The shipped profiles.
pub fn profiles() -> Result<Vec<ProfileInfo>, ApiError> {
    deid::profile::SHIPPED
        .iter()
        .map(|(n, _)| Profile::load(n).map(|p| profile_info(&p)).map_err(usage))
        .collect()
}

/// One profile by name or file.
pub fn profile(name: &str) -> Result<ProfileInfo, ApiError> {
    Profile::load(name).map(|p| profile_info(&p)).map_err(usage)
}
