//! The queue's tables (jobs → job_studies → pieces, and study_extras) in the data home's
//! database, and how they are brought up to date.
//!
//! The tables share one SQLite file with the catalog. They used to be created by the catalog's
//! migrations 2 and 5 (its `PRAGMA user_version` still counts those steps, now empty there); the
//! queue now creates them itself, when a [`QueueStore`](super::store::QueueStore) is opened.
//! Each step is applied at most once, in order, in one transaction, and is known to be done by
//! the table it creates, so a database at any earlier version — with or without the queue's
//! tables, from before or after this move — ends up with exactly the same tables and columns.
//!
//! Never edit a released step: append a new one (with its own check).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::QueueError;

/// One step of the queue's schema history.
pub struct Step {
    /// A table this step creates: when it exists, the step has been applied.
    pub creates: &'static str,
    /// The DDL.
    pub sql: &'static str,
}

/// The steps, in order.
pub const STEPS: &[Step] = &[
    // the delivery queue — jobs → studies → pieces, each with a persisted state
    // (was the catalog's migration 2)
    Step {
        creates: "jobs",
        sql: r#"
    CREATE TABLE jobs (
        id             INTEGER PRIMARY KEY,
        destination    TEXT NOT NULL,
        profile_name   TEXT NOT NULL,
        profile_sha256 TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        paused         INTEGER NOT NULL DEFAULT 0,
        cancelled      INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE job_studies (
        id          INTEGER PRIMARY KEY,
        job_ref     INTEGER NOT NULL REFERENCES jobs(id),
        study_key   TEXT NOT NULL,
        project     TEXT NOT NULL,
        subject     TEXT NOT NULL,
        session     TEXT NOT NULL,
        state       TEXT NOT NULL,
        state_at    INTEGER NOT NULL,
        uri         TEXT,
        detail      TEXT,
        audit       TEXT,
        UNIQUE(job_ref, study_key)
    );
    CREATE TABLE pieces (
        id          INTEGER PRIMARY KEY,
        study_ref   INTEGER NOT NULL REFERENCES job_studies(id),
        seq         INTEGER NOT NULL,
        state       TEXT NOT NULL,
        state_at    INTEGER NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        detail      TEXT,
        items       TEXT NOT NULL,
        UNIQUE(study_ref, seq)
    );
    "#,
    },
    // delivery extras — non-DICOM resources and scan QC status to set once a study is
    // committed (persisted so they survive restarts), and when each study was committed
    // (was the catalog's migration 5)
    Step {
        creates: "study_extras",
        sql: r#"
    CREATE TABLE study_extras (
        id          INTEGER PRIMARY KEY,
        study_ref   INTEGER NOT NULL REFERENCES job_studies(id),
        kind        TEXT NOT NULL CHECK (kind IN ('resource','quality')),
        spec        TEXT NOT NULL,
        state       TEXT NOT NULL,
        state_at    INTEGER NOT NULL,
        uri         TEXT,
        detail      TEXT
    );
    CREATE INDEX study_extras_study ON study_extras(study_ref);
    ALTER TABLE job_studies ADD COLUMN committed_at INTEGER;
    "#,
    },
    // the delivery ledger — every object a destination acknowledged (its identity, the new SOP
    // Instance UID, the MD5 of exactly the bytes sent), recorded as each acknowledgement
    // arrives: a retry sends only what is not here, and a destination that cannot be listed
    // is never sent an object it already acknowledged
    Step {
        creates: "deliveries",
        sql: r#"
    CREATE TABLE deliveries (
        destination TEXT NOT NULL,
        sop_uid     TEXT NOT NULL,
        md5         TEXT NOT NULL,
        piece_ref   INTEGER NOT NULL,
        stored      INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        PRIMARY KEY (destination, sop_uid, md5)
    ) WITHOUT ROWID;
    "#,
    },
    // what links a delivered study to later deliveries of the same subject: the date shift its
    // files got (NULL: no date kept to measure it on), for the audit record and the linkage
    // check of a profile change
    Step {
        creates: "study_linkage",
        sql: r#"
    CREATE TABLE study_linkage (
        study_ref       INTEGER PRIMARY KEY REFERENCES job_studies(id),
        date_shift_days INTEGER
    );
    "#,
    },
    // the configured study a job was sent for (`--study`, the window's study picker), written
    // with the job; jobs from before this step, or sent without a study, have none
    Step {
        creates: "job_study",
        sql: r#"
    CREATE TABLE job_study (
        job_ref INTEGER PRIMARY KEY REFERENCES jobs(id),
        study   TEXT NOT NULL
    );
    "#,
    },
];

fn has_table(c: &Connection, name: &str) -> Result<bool, rusqlite::Error> {
    c.query_row(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1",
        [name],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

/// Brings the queue's tables up to date: applies, in order, every step not applied yet. Safe
/// to call from several processes at once (each step is re-checked under a write lock).
pub fn ensure(c: &Connection) -> Result<(), QueueError> {
    let migrate = |source| QueueError::Store {
        step: "migrate the queue tables",
        source,
    };
    for step in STEPS {
        if has_table(c, step.creates).map_err(migrate)? {
            continue;
        }
        // `Connection::transaction` needs `&mut`: the store borrows the catalog's connection
        let tx = rusqlite::Transaction::new_unchecked(c, TransactionBehavior::Immediate)
            .map_err(migrate)?;
        if !has_table(&tx, step.creates).map_err(migrate)? {
            tx.execute_batch(step.sql).map_err(migrate)?;
        }
        tx.commit().map_err(migrate)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(c: &Connection, table: &str) -> Vec<String> {
        let mut st = c
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .expect("prepare");
        st.query_map([table], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn schema(c: &Connection) -> Vec<(String, Vec<String>)> {
        [
            "jobs",
            "job_studies",
            "pieces",
            "study_extras",
            "deliveries",
        ]
        .iter()
        .map(|t| (t.to_string(), columns(c, t)))
        .collect()
    }

    #[test]
    fn fresh_and_partly_migrated_databases_end_up_the_same() {
        let fresh = Connection::open_in_memory().expect("db");
        ensure(&fresh).expect("ensure");
        ensure(&fresh).expect("twice is a no-op");
        let expected = schema(&fresh);
        assert!(expected[1].1.ends_with(&["committed_at".to_string()]));
        // a database the catalog had taken to its version 2..4 (queue step 1 only)
        let old = Connection::open_in_memory().expect("db");
        old.execute_batch(STEPS[0].sql).expect("step 1");
        old.execute(
            "INSERT INTO jobs(destination, profile_name, profile_sha256, created_at)
             VALUES ('folder:x','basic','abc',1)",
            [],
        )
        .expect("a job");
        ensure(&old).expect("ensure");
        assert_eq!(schema(&old), expected);
        let jobs: i64 = old
            .query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))
            .expect("count");
        assert_eq!(jobs, 1, "existing rows are kept");
    }

    #[test]
    fn a_home_written_before_the_move_opens_unchanged() {
        // the catalog's old migrations 2 and 5 were these same steps
        let c = Connection::open_in_memory().expect("db");
        for s in STEPS {
            c.execute_batch(s.sql).expect("step");
        }
        let before = schema(&c);
        ensure(&c).expect("nothing to do");
        assert_eq!(schema(&c), before);
    }

    #[test]
    fn a_catalog_at_version_4_upgrades_with_its_queue() {
        // a data home as a build before the move left it at catalog version 4: the catalog's
        // steps 1, 3, 4 and the queue's first step (then the catalog's step 2), one job queued
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("catalog.sqlite");
        {
            let c = Connection::open(&path).expect("db");
            let m = crate::catalog::schema::MIGRATIONS;
            for sql in [m[0], STEPS[0].sql, m[2], m[3]] {
                c.execute_batch(sql).expect("old step");
            }
            c.pragma_update(None, "user_version", 4).expect("version");
            c.execute(
                "INSERT INTO jobs(destination, profile_name, profile_sha256, created_at)
                 VALUES ('folder:x','basic','abc',1)",
                [],
            )
            .expect("a job");
        }
        let cat = crate::catalog::Catalog::open(&path).expect("open");
        assert_eq!(
            cat.version().expect("v"),
            crate::catalog::Catalog::supported_version()
        );
        let q = super::super::store::QueueStore::open(cat.conn()).expect("queue");
        let jobs = q.list_jobs().expect("list");
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].destination, "folder:x");
        assert!(columns(cat.conn(), "job_studies").contains(&"committed_at".to_string()));
        assert!(q.extras(1).expect("extras").is_empty());
    }
}
