//! De-identification operations: `deid` (files → output folder or quarantine), `inspect`,
//! profiles and the quarantine store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::{unix_now, Session};
use crate::deid::{self, Decision, Keys, LookupTable, Profile, Quarantine};
use crate::error::{ApiError, Classify};
use crate::intake::walk::{walk, Found};
use crate::pipeline::{sink, Input, Pipeline, PixelPolicy};

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
    /// Run the text detector on every image (see [`crate::pipeline::PixelPolicy`]).
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

/// What `deid` did (a contract, docs/architecture.md: written, quarantined, failed, profile).
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
    /// Inputs the profile leaves out (encapsulated documents under
    /// `drop_encapsulated_documents`), with why: neither written nor quarantined.
    pub left_out: Vec<Failure>,
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
    LeftOut(Failure),
}

fn usage<E: Classify + std::fmt::Display>(e: E) -> ApiError {
    ApiError::from_err(&e, true)
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
    let text = std::fs::read_to_string(path).map_err(|e| {
        ApiError::usage(
            "deid.lookup_read",
            format!("cannot read the lookup table {}: {e}", path.display()),
        )
    })?;
    LookupTable::parse(&text).map(Some).map_err(usage)
}

/// The pixel policy of a run: `--masks FILE` (if any) followed by the site library of `home`.
/// `detect_text` without a working detector is a usage error.
pub(crate) fn pixel_policy(
    home: &crate::home::Home,
    masks: Option<&Path>,
    detect_text: bool,
) -> Result<PixelPolicy, ApiError> {
    let masks = super::masks::run_and_site_masks(home, masks)?;
    PixelPolicy::new(masks, detect_text).map_err(usage)
}

/// One input of a `deid` run through the pipeline into the output folder.
fn process((index, path): (usize, &Path), pipeline: &Pipeline, out: &sink::Folder) -> Outcome {
    match pipeline.run(Input::FilePassingPixels(path)) {
        crate::pipeline::Outcome::NotPatientObject => Outcome::Skipped,
        crate::pipeline::Outcome::LeftOut(reason) => Outcome::LeftOut(Failure {
            path: path.display().to_string(),
            reason,
        }),
        crate::pipeline::Outcome::Held(h) => Outcome::Quarantined {
            path: path.to_path_buf(),
            sop: h.sop,
            q: h.quarantine,
        },
        crate::pipeline::Outcome::Prepared(output) => match out.write(output, index) {
            Ok(target) => Outcome::Written {
                target,
                index,
                path: path.to_path_buf(),
            },
            Err(e) => Outcome::Failed(Failure {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        },
    }
}

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
        let catalog = crate::catalog::Catalog::open(&self.home.catalog_path())?;
        Ok(p.with_ctp_env(deid::ctp::Env {
            now: Some(deid::ctp::Now::from_unix(unix_now(), 0)),
            integers: Some(std::sync::Arc::new(
                crate::catalog::ctp_integers::CatalogIntegers::new(catalog),
            )),
        }))
    }

    pub(crate) fn keys(&self) -> Result<Keys, ApiError> {
        let key = self.home.site_key()?;
        match &self.study.uid_root {
            None => Ok(Keys::new(key)),
            Some(r) => Keys::with_root(key, r).map_err(|m| {
                ApiError::usage(
                    "config.uid_root",
                    format!("the UID root '{r}' is not usable: {m}"),
                )
            }),
        }
    }

    /// The pipeline of a run under the profile `profile` names (the study's approved one by
    /// default, [`Self::run_profile`]): the lookup table, the pixel policy (`masks`, then
    /// the site library) and the keys of this data home and study.
    pub(crate) fn pipeline(
        &self,
        profile: Option<&str>,
        lookup: Option<&Path>,
        masks: Option<&Path>,
        detect_text: bool,
    ) -> Result<Pipeline, ApiError> {
        let profile = self.run_profile(profile)?;
        let lookup = load_lookup(lookup)?;
        let pixels = pixel_policy(&self.home, masks, detect_text)?;
        let keys = self.keys()?;
        Ok(Pipeline::new(profile, keys, lookup, pixels))
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
        let pipeline = self.pipeline(
            opts.profile.as_deref(),
            opts.lookup.as_deref(),
            opts.masks.as_deref(),
            opts.detect_text,
        )?;
        let profile = pipeline.profile();
        let roots = crate::intake::check_roots(paths).map_err(usage)?;
        std::fs::create_dir_all(out_dir).map_err(|e| {
            ApiError::usage(
                "deid.out_dir",
                format!("cannot create the output folder {}: {e}", out_dir.display()),
            )
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
            left_out: Vec::new(),
        };
        let mut files = Vec::new();
        for f in walk(&roots) {
            match f {
                Found::File(s, _) => files.push(s.path),
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
            .map_err(|e| {
                ApiError::permanent("deid.threads", format!("cannot start workers: {e}"))
            })?;
        let (tx, rx) = crossbeam_channel::bounded::<Outcome>(64);
        let folder = sink::Folder::new(out_dir);
        let mut written: Vec<(PathBuf, usize, PathBuf)> = Vec::new();
        let mut done = 0u64;
        std::thread::scope(|s| {
            let (pipeline, folder, files) = (&pipeline, &folder, &files);
            s.spawn(move || {
                pool.install(|| {
                    files
                        .par_iter()
                        .enumerate()
                        .for_each_with(tx, |tx, (i, f)| {
                            let _ = tx.send(process((i, f), pipeline, folder));
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
                    Outcome::LeftOut(f) => summary.left_out.push(f),
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
        let id = ProfileId {
            name: profile.name.clone(),
            sha256: profile.sha256.clone(),
        };
        // no pixel policy: the verdict is the header's (an image at risk shows as held)
        let pipeline = Pipeline::new(profile, keys, lookup, PixelPolicy::default());
        let seen = pipeline.inspect(Input::File(file)).map_err(|why| {
            ApiError::usage(
                "deid.unreadable",
                format!(
                    "{} cannot be read as DICOM: {}",
                    file.display(),
                    why.sentence()
                ),
            )
        })?;
        Ok(InspectReport {
            profile: id,
            approved,
            output_path: seen.relative_path.map(|p| p.display().to_string()),
            quarantine: seen.held.map(|q| InspectQuarantine {
                code: q.code.as_str().into(),
                reason: q.reason,
            }),
            decisions: seen.decisions,
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
/// the production pipeline into memory ([`Pipeline::prepare`]: guarded read, pixel gate with a
/// rule that matches every image so decoders run, de-identification, encoding) with a shipped
/// profile chosen by the byte at offset 200 (which also picks masking and recorded values).
/// Returns whether an output was produced. Must never panic, whatever `data` is.
pub fn fuzz_one(data: &[u8]) -> bool {
    use std::sync::OnceLock;
    // for each shipped profile: [masked, recording values] for every pick % 6
    static SETUP: OnceLock<Option<Vec<[Pipeline; 6]>>> = OnceLock::new();
    let Some(pipelines) = SETUP.get_or_init(|| {
        let masks = crate::pixels::MaskLibrary::parse("{ true. }\n(0,0,4,4)\n", "fuzz").ok()?;
        // no text detector: fuzzing exercises the decoders and masking, not Tesseract
        let masked = PixelPolicy {
            masks: Some(masks),
            detect_text: false,
            ocr: false,
            ocr_missing: None,
        };
        let profiles = deid::profile::SHIPPED
            .iter()
            .filter_map(|(n, _)| Profile::load(n).ok());
        Some(
            profiles
                .map(|p| {
                    std::array::from_fn(|pick| {
                        let pixels = if pick % 2 == 0 {
                            masked.clone()
                        } else {
                            PixelPolicy::default()
                        };
                        Pipeline::new(p.clone(), Keys::new([7; 32]), None, pixels)
                            .recording_values(pick % 3 == 0)
                    })
                })
                .collect(),
        )
    }) else {
        return false;
    };
    let pick = data.get(200).copied().unwrap_or(0) as usize;
    let Some(set) = pipelines.get(pick % pipelines.len().max(1)) else {
        return false;
    };
    set[pick % 6].prepare(Input::Bytes(data)).is_ok()
}

/// The `received_bytes` fuzz target (fuzz/) and its stable replay: `data[0]` picks the shape
/// of the rest — 0: a whole file as received; 1: the data set of a Deflated Explicit VR Little
/// Endian file (deflated here, so mutations reach what is inflated); 2: a raw data set without
/// file meta — which is written to `scratch` and read as the receiver reads what it stored
/// ([`crate::intake::read_header`], also the path of `scan`), then, unless raw, run through
/// [`fuzz_one`]. Must never panic, abort or allocate without bound, whatever `data` is.
pub fn fuzz_received(data: &[u8], scratch: &std::path::Path) {
    use std::io::Write as _;
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let bytes = match shape % 3 {
        1 => {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            if e.write_all(rest).is_err() {
                return;
            }
            let Ok(deflated) = e.finish() else { return };
            let ts = b"1.2.840.10008.1.2.1.99\0";
            let mut v = vec![0u8; 128];
            v.extend_from_slice(b"DICM");
            v.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
            v.extend_from_slice(&(8 + ts.len() as u32).to_le_bytes());
            v.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
            v.extend_from_slice(&(ts.len() as u16).to_le_bytes());
            v.extend_from_slice(ts);
            v.extend_from_slice(&deflated);
            v
        }
        _ => rest.to_vec(),
    };
    if std::fs::write(scratch, &bytes).is_ok() {
        let _ = crate::intake::read_header(scratch);
    }
    if shape % 3 != 2 {
        fuzz_one(&bytes);
    }
}
