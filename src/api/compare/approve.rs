//! Approving a profile with the linkage check: a change of a study's approved profile after
//! deliveries is checked on a sample against what was delivered, refused when it breaks
//! linkage unless the break is acknowledged (who, why), and every approval is recorded in the
//! data home with the check's verdict and counts.

use serde::{Deserialize, Serialize};

use super::{CompareReport, CompareRequest};
use crate::api::config::Approval;
use crate::api::resolve::Resolved;
use crate::catalog::approvals::ApprovalRecord;
use crate::deid::Profile;
use crate::error::ApiError;

/// An approval as a front door asks for it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApproveRequest {
    /// The profile to approve (shipped name or file, CTP scripts included).
    pub profile: String,
    /// Who approves (recorded; required to acknowledge a linkage break).
    pub approver: Option<String>,
    /// Sample data for the linkage check (needed when the study has deliveries under the
    /// profile being replaced).
    pub sample: Vec<String>,
    /// At most this many files per series of the sample.
    pub per_series: Option<u32>,
    /// Seed of the per-series pick.
    pub seed: Option<u64>,
    /// The reason a linkage break is accepted; without it a break is refused.
    pub ack_linkage_break: Option<String>,
}

/// What an approval did.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApproveOutcome {
    /// The approval pinned in the configuration (its fields at the top level, so that
    /// `profile approve --json` keeps its shape).
    #[serde(flatten)]
    pub approval: Approval,
    /// The record kept in the data home.
    pub record: ApprovalRecord,
    /// The linkage check, when one ran.
    pub check: Option<CompareReport>,
}

impl Resolved {
    /// Approves `req.profile` for the study in force (see [`crate::api::resolve::approve`]),
    /// after the linkage check when it replaces an approved profile under which studies were
    /// delivered: a break is refused (`profile.linkage_break`) unless acknowledged with a reason
    /// and an approver. Every approval is recorded (`profile_approvals` in the data home).
    pub fn approve_checked(
        &self,
        req: &ApproveRequest,
        now: i64,
    ) -> Result<ApproveOutcome, ApiError> {
        let approver = req
            .approver
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        let ack = req
            .ack_linkage_break
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        if ack.is_some() && approver.is_none() {
            return Err(ApiError::usage(
                "profile.approver_missing",
                "acknowledging a linkage break needs who approves it: give --approver NAME",
            ));
        }
        if req.ack_linkage_break.is_some() && ack.is_none() {
            return Err(ApiError::usage(
                "profile.ack_reason_missing",
                "the acknowledgement of a linkage break needs a reason (--ack-linkage-break \"why\")",
            ));
        }
        let p = Profile::load(&req.profile).map_err(ApiError::usage_err)?;
        let session = self.open_home()?;
        let current = self.approval.as_ref();
        let mut check = None;
        let linkage = match current {
            None => "first",
            Some(c) if c.sha256 == p.sha256 => "unchanged",
            Some(c) => {
                // deliveries under the approved profile or any profile approved before it
                let mut approved: std::collections::BTreeSet<String> = session
                    .catalog
                    .approvals(Some(&c.study))?
                    .into_iter()
                    .map(|r| r.sha256)
                    .collect();
                approved.insert(c.sha256.clone());
                let q = crate::queue::store::QueueStore::open(session.catalog.conn())?;
                let delivered = q
                    .delivered_studies()?
                    .into_iter()
                    .filter(|d| approved.contains(&d.profile_sha256))
                    .count();
                if delivered == 0 {
                    "no_deliveries"
                } else if req.sample.is_empty() {
                    return Err(ApiError::usage(
                        "profile.linkage_unchecked",
                        format!(
                            "{delivered} studies were delivered under the approved profile of study '{}': give sample data (--sample PATH) so that the change can be checked for linkage with them before it is approved",
                            c.study
                        ),
                    ));
                } else {
                    let report = self.profile_compare(
                        &CompareRequest {
                            old: "approved".into(),
                            new: req.profile.clone(),
                            sample: req.sample.clone(),
                            per_series: req.per_series,
                            seed: req.seed,
                            ..CompareRequest::default()
                        },
                        now,
                    )?;
                    let broken = report.linkage.broken();
                    if broken && ack.is_none() {
                        return Err(ApiError::usage(
                            "profile.linkage_break",
                            format!(
                                "not approved: {}. If this is intended, approve again with --ack-linkage-break \"reason\" --approver NAME (it is recorded with the approval)",
                                report.linkage.message
                            ),
                        ));
                    }
                    check = Some(report);
                    if broken {
                        "broken"
                    } else {
                        "kept"
                    }
                }
            }
        };
        let study = self.study.clone().unwrap_or_else(|| "default".into());
        let mut record = ApprovalRecord {
            id: 0,
            study,
            profile: String::new(),
            sha256: p.sha256.clone(),
            previous: current.map(|c| c.profile.clone()),
            previous_sha256: current.map(|c| c.sha256.clone()),
            approver: approver.unwrap_or("").to_string(),
            approved_at: now,
            linkage: linkage.into(),
            // an acknowledgement is recorded only for a break it allowed
            acknowledged: ack.filter(|_| linkage == "broken").map(str::to_string),
            counts: check.as_ref().map(|c| c.counts().to_string()),
        };
        let approval = crate::api::resolve::approve(&self.overrides, &req.profile, now)?;
        record.study = approval.study.clone();
        record.profile = approval.profile.clone();
        record.id = session.catalog.add_approval(&record)?;
        Ok(ApproveOutcome {
            approval,
            record,
            check,
        })
    }

    /// The recorded approvals of the study in force (every study when none), newest first.
    pub fn approval_records(&self) -> Result<Vec<ApprovalRecord>, ApiError> {
        let session = self.open_home()?;
        Ok(session.catalog.approvals(self.study.as_deref())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::resolve::{resolve, Overrides};

    fn resolved(dir: &std::path::Path) -> Resolved {
        resolve(&Overrides {
            default_config: Some(dir.join("deposit.toml")),
            home: Some(dir.join("home")),
            study: Some("t".into()),
            ..Overrides::default()
        })
        .expect("resolve")
    }

    fn approve(dir: &std::path::Path, req: &ApproveRequest) -> Result<ApproveOutcome, ApiError> {
        resolved(dir).approve_checked(req, 100)
    }

    fn asking(profile: &str) -> ApproveRequest {
        ApproveRequest {
            profile: profile.into(),
            approver: Some("Dr A".into()),
            ..ApproveRequest::default()
        }
    }

    #[test]
    fn approvals_are_recorded_and_a_change_after_deliveries_needs_the_check() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::write(d.path().join("deposit.toml"), "[studies.t]\n").expect("config");
        let first = approve(d.path(), &asking("ps3.15-basic")).expect("first");
        assert_eq!(first.record.linkage, "first");
        assert_eq!(first.approval.study, "t");
        let again = approve(d.path(), &asking("ps3.15-basic")).expect("again");
        assert_eq!(again.record.linkage, "unchanged");
        let changed = approve(d.path(), &asking("research-longitudinal")).expect("no deliveries");
        assert_eq!(changed.record.linkage, "no_deliveries");
        assert_eq!(changed.record.previous.as_deref(), Some("ps3.15-basic"));
        // a study delivered under the profile approved before the current one
        let session = resolved(d.path()).open_home().expect("home");
        let q = crate::queue::store::QueueStore::open(session.catalog.conn()).expect("queue");
        let job = q
            .create_job("folder:/x", ("ps3.15-basic", &first.approval.sha256), 1)
            .expect("job");
        let labels = crate::archive::StudyLabels {
            project: "P".into(),
            subject: "S".into(),
            session: "S_1".into(),
        };
        let sid = q.add_study(job, "2.25.1", &labels, 1).expect("study");
        session
            .catalog
            .conn()
            .execute("UPDATE job_studies SET state='verified' WHERE id=?1", [sid])
            .expect("verified");
        let e = approve(d.path(), &asking("ps3.15-basic")).expect_err("unchecked");
        assert_eq!(e.code, "profile.linkage_unchecked");
        let e = approve(
            d.path(),
            &ApproveRequest {
                approver: None,
                ack_linkage_break: Some("agreed".into()),
                ..asking("ps3.15-basic")
            },
        )
        .expect_err("who");
        assert_eq!(e.code, "profile.approver_missing");
        let e = approve(
            d.path(),
            &ApproveRequest {
                ack_linkage_break: Some("  ".into()),
                ..asking("ps3.15-basic")
            },
        )
        .expect_err("why");
        assert_eq!(e.code, "profile.ack_reason_missing");
        // nothing changed by the refusals
        let records = resolved(d.path()).approval_records().expect("records");
        assert_eq!(
            records
                .iter()
                .map(|r| r.linkage.as_str())
                .collect::<Vec<_>>(),
            ["no_deliveries", "unchanged", "first"]
        );
        assert_eq!(
            resolved(d.path()).approval.expect("pin").profile,
            "research-longitudinal"
        );
    }
}
