//! The quarantine store: hold an input the pipeline set aside (record and private copy), list
//! and show items, release one (the pipeline runs again, e.g. after the lookup table got its
//! missing entry) or discard it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::send::{prepare, send, NotPrepared, SendSummary};
use super::unix_now;
use crate::archive::DestinationSpec;
use crate::catalog::quarantine::{NewQuarantine, QuarantineRow};
use crate::deid::{Profile, Quarantine};
use crate::error::ApiError;

/// Where a released item goes.
#[derive(Debug, Clone, Default)]
pub struct ReleaseOptions {
    /// Profile (default: the strict PS3.15 basic profile).
    pub profile: Option<String>,
    /// Lookup table.
    pub lookup: Option<PathBuf>,
    /// Deliver to this destination.
    pub to: Option<DestinationSpec>,
    /// Or write into this folder.
    pub out: Option<PathBuf>,
    /// Project label at the destination (default `DEPOSIT`).
    pub project: Option<String>,
    /// Pixel-mask library.
    pub masks: Option<PathBuf>,
}

impl ReleaseOptions {
    /// Release to `destination` (see [`super::Session::destination`] for a name or URL), as the
    /// window and the web UI do (empty profile and lookup strings mean "none").
    pub fn deliver(
        destination: DestinationSpec,
        profile: Option<String>,
        lookup: Option<String>,
    ) -> Self {
        ReleaseOptions {
            to: Some(destination),
            profile: profile.filter(|p| !p.is_empty()),
            lookup: lookup.filter(|p| !p.is_empty()).map(Into::into),
            ..ReleaseOptions::default()
        }
    }
}

/// What a release did.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReleaseReport {
    /// The item.
    pub id: i64,
    /// True when the item passed and was delivered or written.
    pub released: bool,
    /// When still held: the (new) reason code.
    pub code: Option<String>,
    /// When still held: the (new) reason, in words.
    pub reason: Option<String>,
    /// The delivery, when sent to a destination.
    pub delivery: Option<SendSummary>,
    /// The file written, when released into a folder (new identifiers only).
    pub written: Option<String>,
}

impl super::Session {
    /// Runs a held item through the pipeline again; delivers or writes it when it now passes,
    /// else records the new reason and keeps holding it.
    pub fn quarantine_release(
        &mut self,
        id: i64,
        opts: &ReleaseOptions,
    ) -> Result<ReleaseReport, ApiError> {
        if opts.to.is_none() && opts.out.is_none() {
            return Err(ApiError::usage(
                "quarantine.release_target",
                "say where the released item goes: --to DEST or --out DIR",
            ));
        }
        let row = self.quarantine_show(id)?;
        if row.state != "held" {
            return Err(ApiError::usage(
                "quarantine.not_held",
                format!("quarantine item {id} is already {}", row.state),
            ));
        }
        let file = PathBuf::from(row.stored_path.as_deref().unwrap_or(&row.source_path));
        let pipeline = self.pipeline(
            opts.profile.as_deref(),
            opts.lookup.as_deref(),
            opts.masks.as_deref(),
            false,
        )?;
        let profile = pipeline.profile();
        let cat = |e: crate::catalog::CatalogError| ApiError::from_err(&e, false);
        let prepared = match prepare(&pipeline, &file) {
            Ok(p) => p,
            Err(NotPrepared::Failed(why)) => {
                return Err(ApiError::permanent("quarantine.release", why))
            }
            Err(NotPrepared::Quarantined { quarantine: q, .. }) => {
                self.catalog
                    .set_quarantine_state(
                        id,
                        "held",
                        q.code.as_str(),
                        &q.reason,
                        q.missing_key.as_deref(),
                        unix_now(),
                    )
                    .map_err(cat)?;
                return Ok(ReleaseReport {
                    id,
                    released: false,
                    code: Some(q.code.as_str().into()),
                    reason: Some(q.reason),
                    delivery: None,
                    written: None,
                });
            }
        };
        let mut report = ReleaseReport {
            id,
            released: true,
            code: None,
            reason: None,
            delivery: None,
            written: None,
        };
        if let Some(out) = &opts.out {
            crate::pipeline::sink::write_one(out, &prepared.relative_path, &prepared.bytes)
                .map_err(|e| ApiError::transient("quarantine.write", e.to_string()))?;
            report.written = Some(prepared.relative_path.display().to_string());
        }
        if let Some(dest) = &opts.to {
            let destination = dest
                .open(&self.home.dir("archive"), &self.network)
                .map_err(ApiError::usage_err)?;
            let project = opts.project.clone().unwrap_or_else(|| "DEPOSIT".into());
            let ready = prepared.clone();
            let once = move |_: &std::path::Path| -> Result<_, NotPrepared> { Ok(ready.clone()) };
            let summary = send(
                self.catalog.conn(),
                &self.home.dir("outbox"),
                std::slice::from_ref(&file),
                destination.as_ref(),
                &project,
                (&profile.name, &profile.sha256),
                &once,
                &mut |_, _, _| Ok(()),
                &crate::queue::runner::RetryPolicy::default(),
                &super::unix_now,
                |_, _| {},
            )?;
            report.released = summary.failed == 0 && summary.waiting == 0;
            report.delivery = Some(summary);
        }
        if report.released {
            self.catalog
                .set_quarantine_state(id, "released", &row.code, &row.reason, None, unix_now())
                .map_err(cat)?;
        }
        Ok(report)
    }

    /// Every quarantine record.
    pub fn quarantine_list(&self) -> Result<Vec<QuarantineRow>, ApiError> {
        self.catalog.quarantine_list().map_err(ApiError::from)
    }

    /// One quarantine record.
    pub fn quarantine_show(&self, id: i64) -> Result<QuarantineRow, ApiError> {
        self.catalog.quarantine_get(id)?.ok_or_else(|| {
            ApiError::usage("quarantine.not_found", format!("no quarantine item {id}"))
        })
    }

    /// Records a quarantined input and copies it into the data home's quarantine folder.
    pub(crate) fn hold(
        &self,
        path: &Path,
        sop: Option<&str>,
        q: &Quarantine,
        profile: &Profile,
    ) -> Result<i64, ApiError> {
        let id = self.catalog.add_quarantine(&NewQuarantine {
            source_path: path,
            stored_path: None,
            sop_uid: sop,
            code: q.code.as_str(),
            reason: &q.reason,
            missing_key: q.missing_key.as_deref(),
            profile_name: &profile.name,
            profile_sha: &profile.sha256,
            created_at: unix_now(),
            study: self.study.name.as_deref(),
        })?;
        let stored = self.home.dir("quarantine").join(format!("{id}.dcm"));
        // regular files only, as everywhere input is read (a FIFO would block the copy)
        let bytes = crate::intake::bounded::read_regular(path).map_err(|why| {
            ApiError::permanent(
                "deid.quarantine_copy",
                format!("cannot read {}: {}", path.display(), why.sentence()),
            )
        })?;
        crate::home::write_private_file(&stored, &bytes)?;
        self.catalog.set_quarantine_copy(id, &stored)?;
        Ok(id)
    }

    /// Discards a held item: the record stays (as `discarded`), the stored copy is deleted.
    pub fn quarantine_discard(&mut self, id: i64) -> Result<(), ApiError> {
        let row = self.quarantine_show(id)?;
        if row.state != "held" {
            return Err(ApiError::usage(
                "quarantine.not_held",
                format!("quarantine item {id} is already {}", row.state),
            ));
        }
        self.catalog.set_quarantine_state(
            id,
            "discarded",
            &row.code,
            &row.reason,
            None,
            unix_now(),
        )?;
        if let Some(stored) = &row.stored_path {
            let _ = std::fs::remove_file(stored);
        }
        Ok(())
    }
}
