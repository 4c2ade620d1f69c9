//! The record of profile approvals: who approved which profile for which study, the profile it
//! replaced, the linkage check's verdict and counts, and the acknowledgement of a linkage break
//! (readable later for reports).

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{sql, Catalog, CatalogError};

/// One recorded approval.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ApprovalRecord {
    /// Row id (0 before it is stored).
    pub id: i64,
    /// The study.
    pub study: String,
    /// Profile approved (shipped name or absolute file path).
    pub profile: String,
    /// Its SHA-256.
    pub sha256: String,
    /// The profile it replaced, if any.
    pub previous: Option<String>,
    /// Its SHA-256.
    pub previous_sha256: Option<String>,
    /// Who approved (as typed; local only).
    pub approver: String,
    /// When (Unix seconds).
    pub approved_at: i64,
    /// `first` (no profile before), `unchanged` (same SHA-256), `no_deliveries` (nothing
    /// delivered under the previous one), `kept` or `broken` (the linkage check's verdict).
    pub linkage: String,
    /// The reason given to acknowledge a linkage break (local only).
    pub acknowledged: Option<String>,
    /// The linkage check's counts (JSON; no values).
    pub counts: Option<String>,
}

impl Catalog {
    /// Records an approval; returns its id.
    pub fn add_approval(&self, a: &ApprovalRecord) -> Result<i64, CatalogError> {
        self.conn
            .execute(
                "INSERT INTO profile_approvals (study, profile, sha256, previous, previous_sha256,
                   approver, approved_at, linkage, acknowledged, counts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    a.study,
                    a.profile,
                    a.sha256,
                    a.previous,
                    a.previous_sha256,
                    a.approver,
                    a.approved_at,
                    a.linkage,
                    a.acknowledged,
                    a.counts
                ],
            )
            .map_err(sql("record an approval"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The approvals of `study` (every study when `None`), newest first.
    pub fn approvals(&self, study: Option<&str>) -> Result<Vec<ApprovalRecord>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, study, profile, sha256, previous, previous_sha256, approver,
                   approved_at, linkage, acknowledged, counts
                 FROM profile_approvals WHERE ?1 IS NULL OR study=?1 ORDER BY id DESC",
            )
            .map_err(sql("list approvals"))?;
        let rows = stmt
            .query_map([study], |r| {
                Ok(ApprovalRecord {
                    id: r.get(0)?,
                    study: r.get(1)?,
                    profile: r.get(2)?,
                    sha256: r.get(3)?,
                    previous: r.get(4)?,
                    previous_sha256: r.get(5)?,
                    approver: r.get(6)?,
                    approved_at: r.get(7)?,
                    linkage: r.get(8)?,
                    acknowledged: r.get(9)?,
                    counts: r.get(10)?,
                })
            })
            .map_err(sql("list approvals"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql("list approvals"))?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_read_back_newest_first_and_by_study() {
        let d = tempfile::tempdir().expect("tmp");
        let c = Catalog::open(&d.path().join("c.sqlite")).expect("catalog");
        let mut a = ApprovalRecord {
            id: 0,
            study: "trial".into(),
            profile: "ps3.15-basic".into(),
            sha256: "a".repeat(64),
            previous: None,
            previous_sha256: None,
            approver: "Dr Who".into(),
            approved_at: 10,
            linkage: "first".into(),
            acknowledged: None,
            counts: None,
        };
        let first = c.add_approval(&a).expect("add");
        a.linkage = "broken".into();
        a.acknowledged = Some("new UID root agreed with the archive".into());
        a.study = "other".into();
        let second = c.add_approval(&a).expect("add");
        assert!(second > first);
        let all = c.approvals(None).expect("all");
        assert_eq!(
            all.iter().map(|r| r.id).collect::<Vec<_>>(),
            [second, first]
        );
        let one = c.approvals(Some("trial")).expect("one");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].linkage, "first");
        let bad = ApprovalRecord {
            linkage: "maybe".into(),
            ..a
        };
        assert!(
            c.add_approval(&bad).is_err(),
            "the verdict is one of the listed words"
        );
    }
}
