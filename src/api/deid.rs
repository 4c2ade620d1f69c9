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
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
    /// Inputs that are copies of an instance written from another input (same SOP Instance
    /// UID); not counted in `written`.
    pub duplicates: Vec<Failure>,
}

/// Before/after of one file.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The profile applied.
    pub profile: ProfileId,
    /// Whether it is the study's approved profile (`None`: the study has no approval).
    pub approved: Option<bool>,
    /// Where the output would go (relative to the output folder).
    pub output_path: Option<String>,
    /// Set when the real run would quarantine this file.
    pub quarantine: Option<InspectQuarantine>,
    /// Every element acted on, with the rule.
    pub decisions: Vec<Decision>,
}

/// Quarantine verdict shown by inspect (no missing key: that stays in the quarantine store).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct InspectQuarantine {
    /// Code.
    pub code: String,
    /// Sentence.
    pub reason: String,
}

/// A profile as listed.
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
    /// Studies for which exactly this profile (same SHA-256) is the approved one.
    pub approved_for: Vec<String>,
}

enum Outcome {
    /// Written to `target`; the input's index in the run (duplicates resolve by it).
    Written {
        target: PathBuf,
        index: usize,
        path: PathBuf,
    },
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

fn unreadable(path: &Path, sop: Option<String>, why: &crate::intake::SkipReason) -> Outcome {
    Outcome::Quarantined {
        path: path.to_path_buf(),
        sop,
        q: Quarantine {
            code: QuarantineCode::Unreadable,
            reason: format!("cannot be read as DICOM: {}", why.sentence()),
            missing_key: None,
        },
    }
}

/// Which input owns each output path. Two inputs with the same new path are the same
/// instance (same SOP Instance UID): the one listed first wins, whatever the timing, so the
/// output stays deterministic.
type Claims = std::sync::Mutex<std::collections::HashMap<PathBuf, usize>>;

#[allow(clippy::too_many_arguments)]
fn process(
    (index, path): (usize, &Path),
    out_dir: &Path,
    profile: &Profile,
    keys: &Keys,
    lookup: Option<&LookupTable>,
    policy: &PixelPolicy,
    claims: &Claims,
) -> Outcome {
    // One read of the whole file; the guarded parse (impossible element lengths are refused
    // before the reader allocates them) works on memory. When nothing can change the pixels
    // (no mask rule, no text detection, not a CTP script), Pixel Data is not decoded at all:
    // its bytes are copied from the input into the output of the same transfer syntax.
    use crate::intake::Pixels;
    let opened = if policy.masks.is_none() && !policy.detect_text && profile.ctp.is_none() {
        crate::intake::open_for_deid(path)
    } else {
        std::fs::read(path)
            .map_err(|e| crate::intake::SkipReason::from_io(&e))
            .and_then(|b| crate::intake::open_bytes(&b))
            .map(|o| (o, Pixels::InObject))
    };
    let (mut obj, pixels) = match opened {
        Ok(o) => o,
        Err(why) => return unreadable(path, None, &why),
    };
    let meta = obj.meta();
    let clean = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
    if clean(&meta.media_storage_sop_class_uid) == MEDIA_STORAGE_DIRECTORY {
        return Outcome::Skipped;
    }
    let mut ts = clean(&meta.transfer_syntax);
    let sop = Some(clean(&meta.media_storage_sop_instance_uid)).filter(|s| !s.is_empty());
    let masked = match apply_masks(&mut obj, policy) {
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
    let mut ds = obj.into_inner();
    if !matches!(pixels, Pixels::InObject) {
        // A stand-in, so that the engine sees an image (burned-in risk), removed below.
        ds.put(dicom_core::DataElement::new(
            PIXEL_DATA,
            dicom_core::VR::OB,
            dicom_core::PrimitiveValue::Empty,
        ));
    }
    match deid::deidentify(ds, &ts, profile, keys, ctx) {
        Err(q) => Outcome::Quarantined {
            path: path.to_path_buf(),
            sop,
            q,
        },
        Ok(mut d) => {
            let target = out_dir.join(&d.relative_path);
            let fail = |what: &str, e: &dyn std::fmt::Display| {
                Outcome::Failed(Failure {
                    path: path.display().to_string(),
                    reason: format!("cannot {what} {}: {e}", target.display()),
                })
            };
            // The stand-in goes; the real element's bytes follow the header unchanged.
            let pixels = match pixels {
                Pixels::InObject => Pixels::InObject,
                p if d.dataset.remove_element(PIXEL_DATA) => p,
                _ => Pixels::InObject,
            };
            let mut out = Vec::with_capacity(4096);
            if let Err(e) = d.dataset.with_exact_meta(d.meta).write_all(&mut out) {
                return fail("encode", &e);
            }
            // A temporary name of this input's own: duplicates never write into one file.
            let tmp = target.with_extension(format!("{index}.part"));
            // The folder is made on the first file that needs it (not asked for every file).
            let created = match std::fs::File::create(&tmp) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    match target.parent().map(std::fs::create_dir_all) {
                        Some(Err(e)) => return fail("create the folder for", &e),
                        _ => std::fs::File::create(&tmp),
                    }
                }
                other => other,
            };
            let written = created.and_then(|mut f| {
                use std::io::{Read as _, Seek as _, Write as _};
                f.write_all(&out)?;
                match pixels {
                    Pixels::InObject => {}
                    Pixels::InMemory { bytes, range } => {
                        f.write_all(bytes.get(range).unwrap_or_default())?
                    }
                    Pixels::InFile {
                        mut file,
                        offset,
                        len,
                    } => {
                        // File to file: the kernel copies (copy_file_range), no user buffer.
                        file.seek(std::io::SeekFrom::Start(offset))?;
                        let n = std::io::copy(&mut file.take(len), &mut f)?;
                        if n != len {
                            return Err(std::io::Error::other("the input shrank while being read"));
                        }
                    }
                }
                Ok(())
            });
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return fail("write", &e);
            }
            let Ok(mut owners) = claims.lock() else {
                let _ = std::fs::remove_file(&tmp);
                return fail("finish", &"a worker stopped");
            };
            if owners.get(&target).is_some_and(|&first| first < index) {
                let _ = std::fs::remove_file(&tmp);
            } else {
                if let Err(e) = std::fs::rename(&tmp, &target) {
                    return fail("finish", &e);
                }
                owners.insert(target.clone(), index);
            }
            Outcome::Written {
                target,
                index,
                path: path.to_path_buf(),
            }
        }
    }
}

const PIXEL_DATA: dicom_core::Tag = dicom_core::Tag(0x7FE0, 0x0010);

impl Session {
    /// The profile for a run: [`resolve_profile`], plus, for a CTP script, the @integer store
    /// backed by the catalog (a connection of its own, usable from every worker).
    pub fn run_profile(&self, name: Option<&str>) -> Result<Profile, ApiError> {
        let p = self.preview_profile(name)?;
        if let Some(pin) = &self.study.approval {
            if p.sha256 != pin.sha256 {
                return Err(super::config::not_approved(&p, pin, name));
            }
        }
        Ok(p)
    }

    /// Like [`Session::run_profile`] but without holding it to the study's approval (for
    /// previews such as `inspect`, which report whether the profile is the approved one).
    pub fn preview_profile(&self, name: Option<&str>) -> Result<Profile, ApiError> {
        let pinned = self.study.approval.as_ref().map(|a| a.profile.as_str());
        let p = resolve_profile(name.or(pinned))?;
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
        let key = self
            .home
            .site_key()
            .map_err(|e| ApiError::from_err(&e, false))?;
        match &self.study.uid_root {
            None => Ok(Keys::new(key)),
            Some(r) => Keys::with_root(key, r).map_err(|m| ApiError {
                code: "config.uid_root".into(),
                message: format!("the UID root '{r}' is not usable: {m}"),
                class: ErrorClass::Permanent,
                usage: true,
            }),
        }
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
        let policy = PixelPolicy::load(&self.home, opts.masks.as_deref(), opts.detect_text)?;
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
            duplicates: Vec::new(),
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
        let claims = Claims::default();
        let mut written: Vec<(PathBuf, usize, PathBuf)> = Vec::new();
        let mut done = 0u64;
        std::thread::scope(|s| {
            let (profile, keys, lookup, files) = (&profile, &keys, lookup.as_ref(), &files);
            let policy = &policy;
            let claims = &claims;
            s.spawn(move || {
                pool.install(|| {
                    files
                        .par_iter()
                        .enumerate()
                        .for_each_with(tx, |tx, (i, f)| {
                            let _ = tx.send(process(
                                (i, f),
                                out_dir,
                                profile,
                                keys,
                                lookup,
                                policy,
                                claims,
                            ));
                        })
                })
            });
            for outcome in rx.iter() {
                done += 1;
                match outcome {
                    Outcome::Written {
                        target,
                        index,
                        path,
                    } => written.push((target, index, path)),
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
        // One output per new path; inputs that are copies of an instance already written
        // (same SOP Instance UID) are reported, not counted twice.
        written.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let mut kept: Option<(&PathBuf, &PathBuf)> = None;
        for (target, _, path) in &written {
            match kept {
                Some((t, first)) if t == target => summary.duplicates.push(Failure {
                    path: path.display().to_string(),
                    reason: format!(
                        "same instance (SOP Instance UID) as {}, whose output was kept",
                        first.display()
                    ),
                }),
                _ => {
                    kept = Some((target, path));
                    summary.written += 1;
                }
            }
        }
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
        let profile = self.preview_profile(profile)?;
        let approved = self
            .study
            .approval
            .as_ref()
            .map(|a| a.sha256 == profile.sha256);
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
                    approved,
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
            approved,
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
        approved_for: Vec::new(),
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

/// The fuzzing entry point (fuzz/ and tests/fuzz_replay.rs): `data` as a Part-10 file through
/// the guarded read, pixel masking (a rule that matches every image, so decoders run) and
/// de-identification with a shipped profile chosen by the first byte, then written back to
/// bytes. Returns whether an output was produced. Must never panic, whatever `data` is.
pub fn fuzz_one(data: &[u8]) -> bool {
    use std::sync::OnceLock;
    static SETUP: OnceLock<Option<(Vec<Profile>, PixelPolicy)>> = OnceLock::new();
    let Some((profiles, policy)) = SETUP.get_or_init(|| {
        let profiles = deid::profile::SHIPPED
            .iter()
            .filter_map(|(n, _)| Profile::load(n).ok())
            .collect::<Vec<_>>();
        let masks = MaskLibrary::parse("{ true. }\n(0,0,4,4)\n", "fuzz").ok()?;
        // no text detector: fuzzing exercises the decoders and masking, not Tesseract
        let policy = PixelPolicy {
            masks: Some(masks),
            detect_text: false,
            ocr: false,
        };
        Some((profiles, policy))
    }) else {
        return false;
    };
    let keys = Keys::new([7; 32]);
    let Ok(mut obj) = crate::intake::open_bytes(data) else {
        return false;
    };
    let pick = data.get(200).copied().unwrap_or(0) as usize;
    let Some(profile) = profiles.get(pick % profiles.len().max(1)) else {
        return false;
    };
    let mut ts = obj
        .meta()
        .transfer_syntax
        .trim_end_matches(['\0', ' '])
        .to_string();
    let masked = if pick % 2 == 0 {
        match apply_masks(&mut obj, policy) {
            Ok(m) => m,
            Err(_) => return false,
        }
    } else {
        None
    };
    if let Some(m) = &masked {
        ts = m.transfer_syntax.clone();
    }
    let ctx = Context {
        lookup: None,
        mask_rule: masked.as_ref().map(|m| m.rule.as_str()),
        record_values: pick % 3 == 0,
    };
    match deid::deidentify(obj.into_inner(), &ts, profile, &keys, ctx) {
        Ok(d) => {
            let mut out = Vec::new();
            d.dataset
                .with_exact_meta(d.meta)
                .write_all(&mut out)
                .is_ok()
        }
        Err(_) => false,
    }
}
