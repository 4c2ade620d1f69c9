//! Profile change check before approval: runs an OLD and a NEW set of de-identification
//! settings (profile, UID root, lookup table, masks, site key) through the one pipeline, in
//! memory, over a sample of files, and reports attribute by attribute what NEW keeps, removes
//! or changes differently from OLD (kinds of change and whether values are equal — never the
//! values), which files one holds and the other passes, and whether linkage with what was
//! already delivered is kept (same pseudonyms, UIDs and date shifts). Nothing is written and
//! nothing is sent.

pub mod approve;
pub mod flatten;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::deid::{load_lookup, pixel_policy, ProfileId};
use super::resolve::Resolved;
use super::Session;
use crate::deid::{self, Keys, Profile};
use crate::error::ApiError;
use crate::intake::walk::{walk, Found};
use crate::pipeline::{Input, Outcome, Pipeline};
use flatten::{attributes, Attr, Attrs};

/// What to compare, as a front door asks for it. Paths are as the person gave them.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CompareRequest {
    /// The profile in force: `approved` (the study's approved one), a shipped name or a file
    /// (profile or CTP script).
    pub old: String,
    /// The profile proposed (same forms; `approved` too).
    pub new: String,
    /// Files or folders of sample DICOM data.
    pub sample: Vec<String>,
    /// Compare at most this many files per series (a deterministic pick); `None`: every file.
    pub per_series: Option<u32>,
    /// Seed of the per-series pick (default 0).
    pub seed: Option<u64>,
    /// UID root for NEW (default: OLD's, the study's).
    pub new_uid_root: Option<String>,
    /// Lookup table for NEW (default: OLD's, the study's).
    pub new_lookup: Option<String>,
    /// Pixel-mask library for NEW (default: OLD's, the study's).
    pub new_masks: Option<String>,
    /// A site key file (32 bytes, as `site.key`) for NEW (default: this data home's).
    pub new_site_key: Option<String>,
}

/// One attribute that NEW treats differently from OLD, over the sample.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AttributeDiff {
    /// Tag path (`(0008,1115)/(0020,000E)` for nested; items merged).
    pub path: String,
    /// The last tag, `(gggg,eeee)`.
    pub tag: String,
    /// Keywords along the path.
    pub keyword: String,
    /// What OLD does with it: kept, removed, emptied, added, remapped (UID), shifted (date),
    /// hashed (pseudonym), replaced, absent.
    pub old: String,
    /// What NEW does with it (same words).
    pub new: String,
    /// Whether both outputs hold equal values (`None`: one of them has none).
    pub values_equal: Option<bool>,
    /// Files where this difference occurs.
    pub files: u64,
}

/// Files one side holds (or leaves out) and the other passes.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HoldDiff {
    /// OLD's outcome: `passes`, `held: CODE`, `left out`, `not a patient object`.
    pub old: String,
    /// NEW's outcome.
    pub new: String,
    /// Files.
    pub files: u64,
}

/// Whether the same inputs keep the same pseudonyms, UIDs and date shifts.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Linkage {
    /// `kept` or `broken`.
    pub verdict: String,
    /// The verdict in words (counts only, no values).
    pub message: String,
    /// Inputs both sides prepared (what the check covers).
    pub checked: u64,
    /// Of those, inputs whose study was found among the delivered studies (compared with the
    /// delivery's record; the others with OLD's output).
    pub delivered_inputs: u64,
    /// Subjects whose pseudonym (subject label, Patient ID) would change.
    pub subjects: u64,
    /// Studies whose Study Instance UID would change.
    pub studies: u64,
    /// Series whose Series Instance UID would change.
    pub series: u64,
    /// Files whose SOP Instance UID would change.
    pub instances: u64,
    /// Subjects whose date shift would change.
    pub date_shifts: u64,
    /// Delivered studies affected by any of these.
    pub delivered_studies: u64,
    /// Which linking attributes change (keywords).
    pub attributes: Vec<String>,
}

impl Linkage {
    /// Whether the change breaks linkage.
    pub fn broken(&self) -> bool {
        self.verdict == "broken"
    }
}

/// The result of a profile change check.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CompareReport {
    /// The profile in force.
    pub old: ProfileId,
    /// The profile proposed.
    pub new: ProfileId,
    /// What else differs for NEW (UID root, lookup table, masks, site key), in words.
    pub settings: Vec<String>,
    /// Files compared.
    pub files: u64,
    /// Files found under the sample (before the per-series pick).
    pub found: u64,
    /// Paths under the sample that could not be read at all.
    pub unreadable: u64,
    /// Nothing differs.
    pub same: bool,
    /// Attributes treated differently, most files first.
    pub attributes: Vec<AttributeDiff>,
    /// Files one side holds and the other passes.
    pub holds: Vec<HoldDiff>,
    /// The linkage check.
    pub linkage: Linkage,
}

impl CompareReport {
    /// Counts for records and approvals (no paths, no values).
    pub fn counts(&self) -> serde_json::Value {
        serde_json::json!({
            "files": self.files,
            "attributes_different": self.attributes.len(),
            "files_held_differently": self.holds.iter().map(|h| h.files).sum::<u64>(),
            "linkage": self.linkage.verdict,
            "subjects": self.linkage.subjects,
            "studies": self.linkage.studies,
            "series": self.linkage.series,
            "instances": self.linkage.instances,
            "date_shifts": self.linkage.date_shifts,
            "delivered_studies": self.linkage.delivered_studies,
        })
    }
}

/// One side's settings, resolved.
struct Side {
    pipeline: Pipeline,
    id: ProfileId,
}

/// What one side made of one input.
enum Made {
    Out(Box<Out>),
    Other(String),
}

/// One prepared output, reduced to what the check compares.
struct Out {
    attrs: Attrs,
    subject: String,
    study: String,
    series: String,
    sop: String,
    shift: Option<i64>,
}

/// A delivered study, as the queue's records know it.
#[derive(Debug, Clone)]
struct Delivered {
    subject: String,
    /// The date shift in days from its audit record, when recorded.
    shift: Option<Option<i64>>,
}

/// What the linkage is compared with for one input.
struct Reference<'a> {
    subject: &'a str,
    study: &'a str,
    shift: Option<i64>,
    delivered: bool,
}

/// An attribute difference: path, OLD's kind, NEW's kind, whether the values are equal.
type DiffKey = (String, String, String, Option<bool>);
/// Its tag, keywords and how many files show it.
type DiffCount = (String, String, u64);

/// Everything counted over the sample (merged across workers).
#[derive(Default)]
struct Tally {
    attrs: BTreeMap<DiffKey, DiffCount>,
    holds: BTreeMap<(String, String), u64>,
    checked: u64,
    delivered_inputs: u64,
    subjects: BTreeSet<String>,
    studies: BTreeSet<String>,
    series: BTreeSet<String>,
    instances: u64,
    shifts: BTreeSet<String>,
    delivered: BTreeSet<String>,
    linking: BTreeSet<String>,
}

impl Tally {
    fn merge(mut self, o: Tally) -> Tally {
        for (k, (t, kw, n)) in o.attrs {
            self.attrs.entry(k).or_insert((t, kw, 0)).2 += n;
        }
        for (k, n) in o.holds {
            *self.holds.entry(k).or_insert(0) += n;
        }
        self.checked += o.checked;
        self.delivered_inputs += o.delivered_inputs;
        self.subjects.extend(o.subjects);
        self.studies.extend(o.studies);
        self.series.extend(o.series);
        self.instances += o.instances;
        self.shifts.extend(o.shifts);
        self.delivered.extend(o.delivered);
        self.linking.extend(o.linking);
        self
    }
}

const HASHED: [&str; 3] = ["(0010,0010)", "(0010,0020)", "(0010,1000)"];

/// Whether a date attribute holds the dummy value of action D (not a shifted date).
fn is_dummy(a: &Attr) -> bool {
    crate::deid::action::dummy_text(a.vr)
        .is_some_and(|d| a.digest == flatten::value_digest(d.as_bytes()))
}

/// What a profile did with one attribute, compared with the input.
fn kind(path: &str, orig: Option<&Attr>, out: Option<&Attr>) -> &'static str {
    use dicom_core::VR;
    match (orig, out) {
        (None, None) => "absent",
        (Some(_), None) => "removed",
        (None, Some(_)) => "added",
        (Some(o), Some(a)) if a.digest == o.digest => "kept",
        (Some(o), Some(a)) if a.empty && !o.empty => "emptied",
        (Some(_), Some(a)) => match a.vr {
            VR::UI => "remapped",
            VR::DA | VR::DT if is_dummy(a) => "replaced",
            VR::DA | VR::DT => "shifted",
            _ if HASHED.contains(&path) => "hashed",
            _ => "replaced",
        },
    }
}

fn describe(m: &Made) -> String {
    match m {
        Made::Out(_) => "passes".into(),
        Made::Other(s) => s.clone(),
    }
}

impl Side {
    fn run(&self, bytes: &[u8]) -> Made {
        match self.pipeline.run(Input::Bytes(bytes)) {
            Outcome::NotPatientObject => Made::Other("not a patient object".into()),
            Outcome::LeftOut(_) => Made::Other("left out".into()),
            Outcome::Held(h) => Made::Other(format!("held: {}", h.quarantine.code.as_str())),
            Outcome::Prepared(o) => match o.into_prepared() {
                Err(h) => Made::Other(format!("held: {}", h.quarantine.code.as_str())),
                Ok(p) => match crate::intake::open_bytes(&p.bytes) {
                    Err(_) => Made::Other("held: unreadable".into()),
                    Ok(obj) => {
                        let series = p
                            .relative_path
                            .iter()
                            .nth(2)
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        let ds = obj.into_inner();
                        Made::Out(Box::new(Out {
                            shift: p.date_shift_days,
                            attrs: attributes(&ds),
                            subject: p.subject,
                            study: p.study_uid,
                            series,
                            sop: p.sop_uid,
                        }))
                    }
                },
            },
        }
    }
}

fn compare_one(
    path: &Path,
    old: &Side,
    new: &Side,
    delivered: &HashMap<String, Delivered>,
) -> Tally {
    let mut t = Tally::default();
    // a file that cannot be read at all is held by both alike: no difference
    let Ok(bytes) = crate::intake::bounded::read_regular(path) else {
        return t;
    };
    let (a, b) = (old.run(&bytes), new.run(&bytes));
    let (a, b) = match (a, b) {
        (Made::Out(a), Made::Out(b)) => (a, b),
        (a, b) => {
            let (da, db) = (describe(&a), describe(&b));
            if da != db {
                *t.holds.entry((da, db)).or_default() += 1;
            }
            return t;
        }
    };
    let orig = crate::intake::open_bytes(&bytes)
        .map(|o| attributes(&o))
        .unwrap_or_default();
    let paths: BTreeSet<&String> = orig
        .keys()
        .chain(a.attrs.keys())
        .chain(b.attrs.keys())
        .collect();
    for p in paths {
        let (o, x, y) = (orig.get(p), a.attrs.get(p), b.attrs.get(p));
        let (kx, ky) = (kind(p, o, x), kind(p, o, y));
        let equal = match (x, y) {
            (Some(x), Some(y)) => Some(x.digest == y.digest),
            _ => None,
        };
        if kx != ky || equal == Some(false) {
            let Some(any) = o.or(x).or(y) else { continue };
            t.attrs
                .entry((p.clone(), kx.into(), ky.into(), equal))
                .or_insert((any.tag.clone(), any.keyword.clone(), 0))
                .2 += 1;
        }
    }
    // linkage: with the delivery's record when this input's study was delivered, else OLD
    t.checked = 1;
    let found = delivered
        .get(&a.study)
        .map(|d| (a.study.as_str(), d))
        .or_else(|| delivered.get(&b.study).map(|d| (b.study.as_str(), d)));
    let r = match found {
        Some((study, d)) => Reference {
            subject: &d.subject,
            study,
            shift: d.shift.unwrap_or(a.shift),
            delivered: true,
        },
        None => Reference {
            subject: &a.subject,
            study: &a.study,
            shift: a.shift,
            delivered: false,
        },
    };
    if r.delivered {
        t.delivered_inputs = 1;
    }
    let mut broke = false;
    if b.subject != r.subject {
        t.subjects.insert(r.subject.to_string());
        t.linking.insert("PatientID (subject label)".into());
        broke = true;
    }
    if b.study != r.study {
        t.studies.insert(r.study.to_string());
        t.linking.insert("StudyInstanceUID".into());
        broke = true;
    }
    if b.series != a.series {
        t.series.insert(a.series.clone());
        t.linking.insert("SeriesInstanceUID".into());
        broke = true;
    }
    if b.sop != a.sop {
        t.instances = 1;
        t.linking.insert("SOPInstanceUID".into());
        broke = true;
    }
    // a date shift breaks linkage when both deliver dates and they moved differently (dates
    // that were not delivered before have nothing to stay consistent with)
    if matches!((b.shift, r.shift), (Some(x), Some(y)) if x != y) {
        t.shifts.insert(r.subject.to_string());
        t.linking.insert("date shift".into());
        broke = true;
    }
    if broke && r.delivered {
        t.delivered.insert(r.study.to_string());
    }
    t
}

/// The files of a sample: every DICOM file under `roots`, or at most `per_series` of each
/// series, picked by a hash of the seed and the SOP Instance UID (so the pick depends neither
/// on paths nor on file order). Returns the files, how many were found and how many paths
/// could not be read.
pub fn sample_files(
    roots: &[PathBuf],
    per_series: Option<u32>,
    seed: u64,
) -> Result<(Vec<PathBuf>, u64, u64), ApiError> {
    use sha2::Digest;
    let roots = crate::intake::check_roots(roots).map_err(ApiError::usage_err)?;
    let mut files = Vec::new();
    let mut unreadable = 0u64;
    for f in walk(&roots) {
        match f {
            Found::File(s, _) => files.push(s.path),
            Found::Problem(..) => unreadable += 1,
        }
    }
    files.sort();
    let found = files.len() as u64;
    let Some(n) = per_series else {
        return Ok((files, found, unreadable));
    };
    let mut by_series: BTreeMap<String, Vec<([u8; 32], PathBuf)>> = BTreeMap::new();
    for p in files {
        let (series, sop) = match crate::intake::read_header(&p) {
            Ok(crate::intake::header::Read1::Instance(h)) => {
                (h.series_instance_uid.clone(), h.sop_instance_uid.clone())
            }
            Ok(_) => continue,
            // unreadable files form their own group, so that holds still show
            Err(_) => (String::new(), p.display().to_string()),
        };
        let rank: [u8; 32] = sha2::Sha256::new()
            .chain_update(seed.to_be_bytes())
            .chain_update(sop.as_bytes())
            .finalize()
            .into();
        by_series.entry(series).or_default().push((rank, p));
    }
    let mut picked = Vec::new();
    for (_, mut members) in by_series {
        members.sort();
        picked.extend(members.into_iter().take(n as usize).map(|(_, p)| p));
    }
    picked.sort();
    Ok((picked, found, unreadable))
}

fn read_site_key(path: &Path) -> Result<[u8; 32], ApiError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ApiError::usage(
            "compare.site_key",
            format!("cannot read the site key {}: {e}", path.display()),
        )
    })?;
    bytes.try_into().map_err(|_| {
        ApiError::usage(
            "compare.site_key",
            format!(
                "{} is not a site key (32 bytes, as site.key in a data home)",
                path.display()
            ),
        )
    })
}

fn keys(key: [u8; 32], root: Option<&str>) -> Result<Keys, ApiError> {
    match root {
        None => Ok(Keys::new(key)),
        Some(r) => Keys::with_root(key, r).map_err(|m| {
            ApiError::usage(
                "config.uid_root",
                format!("the UID root '{r}' is not usable: {m}"),
            )
        }),
    }
}

/// A profile by name for the check: the clock given (both sides share it), no @integer store
/// (that would write to the catalog; scripts using @integer are held on both sides alike).
fn load_profile(name: &str, now: i64) -> Result<Profile, ApiError> {
    let p = Profile::load(name).map_err(ApiError::usage_err)?;
    Ok(p.with_ctp_env(deid::ctp::Env {
        now: Some(deid::ctp::Now::from_unix(now, 0)),
        integers: None,
    }))
}

impl Resolved {
    /// The profile a request names: `approved` is the study's approved profile.
    fn compare_profile(&self, asked: &str) -> Result<String, ApiError> {
        if asked != "approved" {
            return Ok(asked.to_string());
        }
        match &self.approval {
            Some(a) => Ok(a.profile.clone()),
            None => Err(ApiError::usage(
                "compare.no_approval",
                match &self.study {
                    Some(s) => format!("study '{s}' has no approved profile to compare with; name the profile instead of 'approved'"),
                    None => "no study is configured, so there is no approved profile; name the profile instead of 'approved' (or give --study)".into(),
                },
            )),
        }
    }

    /// Runs the profile change check of `req` on its sample (see the module's description).
    /// OLD uses the settings in force (the study's UID root, lookup table and masks, or what
    /// the front door was told); NEW the same unless the request changes them. `now` is the
    /// clock CTP scripts' @date/@time read (the same for both sides).
    pub fn profile_compare(
        &self,
        req: &CompareRequest,
        now: i64,
    ) -> Result<CompareReport, ApiError> {
        let session = self.open_home()?;
        let old_name = self.compare_profile(&req.old)?;
        let new_name = self.compare_profile(&req.new)?;
        let site = session.home.site_key()?;
        let new_site = match &req.new_site_key {
            Some(p) => read_site_key(Path::new(p))?,
            None => site,
        };
        let new_root = req.new_uid_root.as_deref().or(self.uid_root.as_deref());
        let new_lookup = req
            .new_lookup
            .as_deref()
            .map(Path::new)
            .or(self.lookup.as_deref());
        let new_masks = req
            .new_masks
            .as_deref()
            .map(Path::new)
            .or(self.masks.as_deref());
        let side = |name: &str,
                    key: [u8; 32],
                    root: Option<&str>,
                    lookup: Option<&Path>,
                    masks: Option<&Path>|
         -> Result<Side, ApiError> {
            let profile = load_profile(name, now)?;
            let id = ProfileId {
                name: profile.name.clone(),
                sha256: profile.sha256.clone(),
            };
            let pipeline = Pipeline::new(
                profile,
                keys(key, root)?,
                load_lookup(lookup)?,
                pixel_policy(&session.home, masks, false)?,
            );
            Ok(Side { pipeline, id })
        };
        let old = side(
            &old_name,
            site,
            self.uid_root.as_deref(),
            self.lookup.as_deref(),
            self.masks.as_deref(),
        )?;
        let new = side(&new_name, new_site, new_root, new_lookup, new_masks)?;
        let mut settings = Vec::new();
        if new_root != self.uid_root.as_deref() {
            settings.push(format!(
                "UID root: {} → {}",
                self.uid_root.as_deref().unwrap_or("2.25 (default)"),
                new_root.unwrap_or("2.25 (default)")
            ));
        }
        let shown = |p: Option<&Path>| p.map_or("none".to_string(), |p| p.display().to_string());
        if new_lookup != self.lookup.as_deref() {
            settings.push(format!(
                "lookup table: {} → {}",
                shown(self.lookup.as_deref()),
                shown(new_lookup)
            ));
        }
        if new_masks != self.masks.as_deref() {
            settings.push(format!(
                "masks: {} → {}",
                shown(self.masks.as_deref()),
                shown(new_masks)
            ));
        }
        if new_site != site {
            settings.push("site key: another key".into());
        }
        let delivered = session.delivered_studies()?;
        let roots: Vec<PathBuf> = req.sample.iter().map(PathBuf::from).collect();
        let (files, found, unreadable) =
            sample_files(&roots, req.per_series, req.seed.unwrap_or(0))?;
        let tally = files
            .par_iter()
            .map(|f| compare_one(f, &old, &new, &delivered))
            .reduce(Tally::default, Tally::merge);
        Ok(report(
            old.id, new.id, settings, &files, found, unreadable, tally,
        ))
    }
}

fn report(
    old: ProfileId,
    new: ProfileId,
    settings: Vec<String>,
    files: &[PathBuf],
    found: u64,
    unreadable: u64,
    t: Tally,
) -> CompareReport {
    let mut attributes: Vec<AttributeDiff> = t
        .attrs
        .into_iter()
        .map(
            |((path, old, new, values_equal), (tag, keyword, files))| AttributeDiff {
                path,
                tag,
                keyword,
                old,
                new,
                values_equal,
                files,
            },
        )
        .collect();
    attributes.sort_by(|a, b| b.files.cmp(&a.files).then_with(|| a.path.cmp(&b.path)));
    let holds: Vec<HoldDiff> = t
        .holds
        .into_iter()
        .map(|((old, new), files)| HoldDiff { old, new, files })
        .collect();
    let mut linkage = Linkage {
        checked: t.checked,
        delivered_inputs: t.delivered_inputs,
        subjects: t.subjects.len() as u64,
        studies: t.studies.len() as u64,
        series: t.series.len() as u64,
        instances: t.instances,
        date_shifts: t.shifts.len() as u64,
        delivered_studies: t.delivered.len() as u64,
        attributes: t.linking.into_iter().collect(),
        ..Linkage::default()
    };
    if linkage.attributes.is_empty() {
        linkage.verdict = "kept".into();
        linkage.message = format!(
            "linkage kept: the {} inputs compared keep their pseudonyms, UIDs and date shifts ({} of them checked against delivered studies)",
            linkage.checked, linkage.delivered_inputs
        );
    } else {
        linkage.verdict = "broken".into();
        linkage.message = format!(
            "linkage broken: {} subjects would get new pseudonyms, {} studies new UIDs, {} new date shifts ({} series and {} instances get new UIDs; {} delivered studies affected; changing: {})",
            linkage.subjects,
            linkage.studies,
            linkage.date_shifts,
            linkage.series,
            linkage.instances,
            linkage.delivered_studies,
            linkage.attributes.join(", ")
        );
    }
    CompareReport {
        same: attributes.is_empty() && holds.is_empty() && !linkage.broken(),
        old,
        new,
        settings,
        files: files.len() as u64,
        found,
        unreadable,
        attributes,
        holds,
        linkage,
    }
}

impl Session {
    /// The verified studies of every delivery, by their de-identified Study Instance UID.
    fn delivered_studies(&self) -> Result<HashMap<String, Delivered>, ApiError> {
        let q = crate::queue::store::QueueStore::open(self.catalog.conn())?;
        Ok(q.delivered_studies()?
            .into_iter()
            .map(|d| {
                let shift = d
                    .audit
                    .as_ref()
                    .and_then(|a| a.get("date_shift_days").map(|v| v.as_i64()));
                (
                    d.study_uid,
                    Delivered {
                        subject: d.subject,
                        shift,
                    },
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;

/// The settings of `host` for `study` (the one in force when `None`).
fn resolved_for(host: &super::host::Host, study: Option<String>) -> Result<Resolved, ApiError> {
    let mut o = host.settings();
    if study.is_some() {
        o.study = study;
        o.study_required = true;
    }
    super::resolve::resolve(&o)
}

/// Checks what a request from the window or the web UI may reach (`[web] roots`).
fn reach_request(host: &super::host::Host, r: &CompareRequest) -> Result<(), ApiError> {
    for p in [&r.old, &r.new] {
        if p != "approved" {
            host.reach_profile(Some(p))?;
        }
    }
    for s in &r.sample {
        host.reach_path(s, "that sample")?;
    }
    for (p, what) in [
        (&r.new_lookup, "that lookup table"),
        (&r.new_masks, "that mask library"),
        (&r.new_site_key, "that site key"),
    ] {
        if let Some(p) = p {
            host.reach_path(p, what)?;
        }
    }
    Ok(())
}

/// `profile_compare` of the command table: [`Resolved::profile_compare`] for `study`.
pub fn compare_for(
    host: &super::host::Host,
    request: &CompareRequest,
    study: Option<String>,
) -> Result<CompareReport, ApiError> {
    reach_request(host, request)?;
    resolved_for(host, study)?.profile_compare(request, super::unix_now())
}

/// `approve_profile_checked` of the command table: [`Resolved::approve_checked`] for `study`;
/// the host's sessions are reopened under the new approval.
pub fn approve_for(
    host: &super::host::Host,
    request: &approve::ApproveRequest,
    study: Option<String>,
) -> Result<approve::ApproveOutcome, ApiError> {
    host.reach_profile(Some(&request.profile))?;
    for s in &request.sample {
        host.reach_path(s, "that sample")?;
    }
    let out = resolved_for(host, study)?.approve_checked(request, super::unix_now());
    host.reopen();
    out
}

/// `profile_approvals` of the command table.
pub fn approvals_for(
    host: &super::host::Host,
    study: Option<String>,
) -> Result<Vec<crate::catalog::approvals::ApprovalRecord>, ApiError> {
    resolved_for(host, study)?.approval_records()
}
