//! Review by random sample: pick N instances per series (per source folder) deterministically
//! from a seed, so a coordinator can look at them before a send, and record the sign-off in
//! the catalog.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{unix_now, Session};
use crate::catalog::review::ScannedInstance;
pub use crate::catalog::review::Signoff;
use crate::error::ApiError;

/// What to sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleOptions {
    /// Instances to pick in each series (all of a smaller series).
    pub per_series: u32,
    /// Seed: the same seed over the same files picks the same instances.
    pub seed: u64,
}

/// One picked instance (original identifiers: for local review only).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SampledInstance {
    /// Catalog instance id (what a sign-off names).
    pub instance_id: i64,
    /// The source folder (the PATH given) it was found under.
    pub source: String,
    /// Original Series Instance UID.
    pub series_uid: String,
    /// Modality.
    pub modality: String,
    /// Original SOP Instance UID.
    pub sop_uid: String,
    /// The file.
    pub path: String,
}

/// A sample.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Sample {
    /// The seed used.
    pub seed: u64,
    /// Instances per series asked for.
    pub per_series: u32,
    /// Series (per source) sampled from.
    pub series: u64,
    /// Instances found in all.
    pub population: u64,
    /// The picks, grouped by source and series.
    pub instances: Vec<SampledInstance>,
}

/// The draw order of an instance for a seed: a hash of seed and SOP UID, so the pick does not
/// depend on file order or paths, and a different seed gives an independent pick.
fn rank(seed: u64, sop_uid: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"deposit-sample\0")
        .chain_update(seed.to_be_bytes())
        .chain_update(sop_uid.as_bytes())
        .finalize()
        .into()
}

fn source_of<'a>(roots: &'a [PathBuf], p: &Path) -> &'a Path {
    roots
        .iter()
        .filter(|r| p.starts_with(r))
        .max_by_key(|r| r.as_os_str().len())
        .map(PathBuf::as_path)
        .unwrap_or(Path::new(""))
}

/// Picks `per_series` instances of each (source, series) group, ranked by [`rank`].
pub fn pick(roots: &[PathBuf], instances: Vec<ScannedInstance>, opts: &SampleOptions) -> Sample {
    let population = instances.len() as u64;
    let mut groups: BTreeMap<(PathBuf, String), Vec<ScannedInstance>> = BTreeMap::new();
    for i in instances {
        let src = source_of(roots, &i.path).to_path_buf();
        groups
            .entry((src, i.series_uid.clone()))
            .or_default()
            .push(i);
    }
    let mut out = Vec::new();
    for ((src, _), mut members) in groups.iter_mut().map(|(k, v)| (k, std::mem::take(v))) {
        members.sort_by_cached_key(|m| (rank(opts.seed, &m.sop_uid), m.id));
        members.truncate(opts.per_series as usize);
        members.sort_by(|a, b| a.path.cmp(&b.path));
        out.extend(members.into_iter().map(|m| SampledInstance {
            instance_id: m.id,
            source: src.display().to_string(),
            series_uid: m.series_uid,
            modality: m.modality,
            sop_uid: m.sop_uid,
            path: m.path.display().to_string(),
        }));
    }
    Sample {
        seed: opts.seed,
        per_series: opts.per_series,
        series: groups.len() as u64,
        population,
        instances: out,
    }
}

impl Session {
    /// Catalogs `paths` and picks `opts.per_series` instances of every series under each of
    /// them, deterministically from `opts.seed`.
    pub fn sample(&mut self, paths: &[PathBuf], opts: &SampleOptions) -> Result<Sample, ApiError> {
        if opts.per_series == 0 {
            return Err(ApiError::usage(
                "review.sample_size",
                "a sample needs at least 1 instance per series",
            ));
        }
        let roots = crate::intake::check_roots(paths).map_err(ApiError::usage_err)?;
        let scan = self.scan(paths, &crate::intake::ScanOptions::default(), |_| {})?;
        let instances = self.catalog.scan_instances(scan.scan_id)?;
        Ok(pick(&roots, instances, opts))
    }

    /// Records that `reviewer` looked at the instances (catalog ids, e.g. from a sample) and
    /// found them fit, with a note. Unknown ids are refused; nothing is recorded then.
    pub fn record_signoff(
        &mut self,
        instance_ids: &[i64],
        reviewer: &str,
        note: &str,
    ) -> Result<Signoff, ApiError> {
        let reviewer = reviewer.trim();
        if reviewer.is_empty() {
            return Err(ApiError::usage(
                "review.reviewer",
                "a sign-off needs the reviewer's name",
            ));
        }
        if instance_ids.is_empty() {
            return Err(ApiError::usage(
                "review.empty",
                "a sign-off needs at least one instance",
            ));
        }
        let mut found = Vec::with_capacity(instance_ids.len());
        for &id in instance_ids {
            match self.catalog.instance_sop(id)? {
                Some(sop) => found.push((id, sop)),
                None => {
                    return Err(ApiError::usage(
                        "review.unknown_instance",
                        format!("no instance {id} in the catalog"),
                    ))
                }
            }
        }
        let now = unix_now();
        let study = self.study.name.clone();
        let id = self
            .catalog
            .add_signoff(&found, reviewer, note, now, study.as_deref())?;
        let mut ids: Vec<i64> = found.iter().map(|(i, _)| *i).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(Signoff {
            id,
            reviewer: reviewer.to_string(),
            note: note.to_string(),
            created_at: now,
            instance_ids: ids,
            study,
        })
    }

    /// Every sign-off, newest first.
    pub fn signoffs(&self) -> Result<Vec<Signoff>, ApiError> {
        self.catalog.signoffs().map_err(ApiError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(id: i64, series: &str, dir: &str) -> ScannedInstance {
        ScannedInstance {
            id,
            sop_uid: format!("1.2.3.{id}"),
            series_uid: series.into(),
            modality: "CT".into(),
            path: PathBuf::from(format!("/data/{dir}/{id}.dcm")),
        }
    }

    fn population() -> Vec<ScannedInstance> {
        let mut v = Vec::new();
        for id in 0..30 {
            v.push(inst(id, "1.9.1", "siteA"));
        }
        for id in 30..33 {
            v.push(inst(id, "1.9.2", "siteA"));
        }
        // The same series UID under another source folder is sampled on its own.
        for id in 33..43 {
            v.push(inst(id, "1.9.1", "siteB"));
        }
        v
    }

    fn roots() -> Vec<PathBuf> {
        vec![PathBuf::from("/data/siteA"), PathBuf::from("/data/siteB")]
    }

    #[test]
    fn picks_n_per_series_and_source_deterministically() {
        let o = SampleOptions {
            per_series: 5,
            seed: 7,
        };
        let a = pick(&roots(), population(), &o);
        assert_eq!(a.series, 3);
        assert_eq!(a.population, 43);
        assert_eq!(a.instances.len(), 5 + 3 + 5);
        let mut shuffled = population();
        shuffled.reverse();
        assert_eq!(
            pick(&roots(), shuffled, &o),
            a,
            "file order does not matter"
        );
        let b = pick(&roots(), population(), &SampleOptions { seed: 8, ..o });
        assert_ne!(
            a.instances
                .iter()
                .map(|i| i.instance_id)
                .collect::<Vec<_>>(),
            b.instances
                .iter()
                .map(|i| i.instance_id)
                .collect::<Vec<_>>(),
            "another seed, another pick"
        );
        let site_b = a
            .instances
            .iter()
            .filter(|i| i.source == "/data/siteB")
            .count();
        assert_eq!(site_b, 5);
    }
}
