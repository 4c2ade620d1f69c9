//! Catalog schema and its migrations, applied in order and recorded in `PRAGMA user_version`.
//!
//! Never edit a released migration: append a new one. Tests open a catalog written by every
//! earlier version.
//!
//! The database file is shared with the queue, which owns its tables (`queue::schema`): the
//! steps that once created them here (2 and 5) are kept, empty, so that version numbers keep
//! their meaning.

/// The migrations, in order; index + 1 is the schema version they produce.
pub const MIGRATIONS: &[&str] = &[
    // 1: patients → studies → series → instances, the files they were read from, scans
    r#"
    CREATE TABLE patients (
        id           INTEGER PRIMARY KEY,
        patient_key  TEXT NOT NULL UNIQUE,
        patient_id   TEXT NOT NULL,
        patient_name TEXT NOT NULL,
        birth_date   TEXT NOT NULL,
        sex          TEXT NOT NULL
    );
    CREATE TABLE studies (
        id           INTEGER PRIMARY KEY,
        study_uid    TEXT NOT NULL UNIQUE,
        patient_ref  INTEGER NOT NULL REFERENCES patients(id),
        study_date   TEXT NOT NULL,
        study_time   TEXT NOT NULL,
        description  TEXT NOT NULL,
        accession    TEXT NOT NULL,
        study_id     TEXT NOT NULL
    );
    CREATE INDEX studies_patient ON studies(patient_ref);
    CREATE TABLE series (
        id           INTEGER PRIMARY KEY,
        series_uid   TEXT NOT NULL UNIQUE,
        study_ref    INTEGER NOT NULL REFERENCES studies(id),
        modality     TEXT NOT NULL,
        number       INTEGER,
        description  TEXT NOT NULL
    );
    CREATE INDEX series_study ON series(study_ref);
    CREATE TABLE instances (
        id              INTEGER PRIMARY KEY,
        sop_uid         TEXT NOT NULL UNIQUE,
        series_ref      INTEGER NOT NULL REFERENCES series(id),
        sop_class_uid   TEXT NOT NULL,
        transfer_syntax TEXT NOT NULL,
        instance_number INTEGER,
        rows            INTEGER,
        columns         INTEGER,
        frames          INTEGER,
        burned_in       TEXT NOT NULL,
        image_type      TEXT NOT NULL,
        manufacturer    TEXT NOT NULL,
        model           TEXT NOT NULL,
        institution     TEXT NOT NULL,
        charset         TEXT NOT NULL
    );
    CREATE INDEX instances_series ON instances(series_ref);
    CREATE TABLE scans (
        id          INTEGER PRIMARY KEY,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER
    );
    CREATE TABLE files (
        id           INTEGER PRIMARY KEY,
        path         BLOB NOT NULL UNIQUE,
        size         INTEGER NOT NULL,
        mtime_ns     INTEGER NOT NULL,
        instance_ref INTEGER REFERENCES instances(id),
        kind         TEXT NOT NULL CHECK (kind IN ('instance','dicomdir','skipped')),
        skip_code    TEXT,
        skip_reason  TEXT,
        failure      INTEGER NOT NULL DEFAULT 0,
        last_scan    INTEGER NOT NULL REFERENCES scans(id)
    );
    CREATE INDEX files_instance ON files(instance_ref);
    CREATE INDEX files_scan ON files(last_scan);
    "#,
    // 2: (the delivery queue's jobs, job_studies and pieces: created by `queue::schema`)
    "",
    // 3: quarantine — objects set aside by de-identification, with a reason code and sentence.
    // `missing_key` holds the original value missing from a lookup table (PHI, local only).
    r#"
    CREATE TABLE quarantine (
        id           INTEGER PRIMARY KEY,
        source_path  BLOB NOT NULL,
        stored_path  BLOB,
        sop_uid      TEXT,
        code         TEXT NOT NULL,
        reason       TEXT NOT NULL,
        missing_key  TEXT,
        profile_name TEXT NOT NULL,
        profile_sha  TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        state        TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held','released','discarded'))
    );
    CREATE INDEX quarantine_code ON quarantine(code);
    "#,
    // 4: ctp_integers — CTP @integer counters (original value → sequential number per key
    // type). `value` is an original (PHI, local only).
    r#"
    CREATE TABLE ctp_integers (
        key_type TEXT NOT NULL,
        value    TEXT NOT NULL,
        n        INTEGER NOT NULL,
        PRIMARY KEY (key_type, value)
    );
    "#,
    // 5: (the queue's study_extras and job_studies.committed_at: created by `queue::schema`)
    "",
    // 6: received — instances stored by the DICOM receiver (`deposit receive`) and where each
    // stands in forwarding. `study_uid` is the original Study Instance UID (local only).
    r#"
    CREATE TABLE received (
        id          INTEGER PRIMARY KEY,
        sop_uid     TEXT NOT NULL UNIQUE,
        study_uid   TEXT NOT NULL,
        path        BLOB NOT NULL,
        calling_ae  TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        forward     TEXT NOT NULL
                    CHECK (forward IN ('none','pending','forwarding','queued','failed')),
        job_ref     INTEGER,
        detail      TEXT
    );
    CREATE INDEX received_study ON received(study_uid);
    CREATE INDEX received_forward ON received(forward);
    "#,
    // 7: review sign-off — a coordinator's record that sampled instances were looked at.
    // `reviewer` and `note` are typed by staff (local only, never sent).
    r#"
    CREATE TABLE signoffs (
        id          INTEGER PRIMARY KEY,
        reviewer    TEXT NOT NULL,
        note        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE signoff_instances (
        signoff_ref  INTEGER NOT NULL REFERENCES signoffs(id),
        instance_ref INTEGER NOT NULL REFERENCES instances(id),
        sop_uid      TEXT NOT NULL,
        PRIMARY KEY (signoff_ref, instance_ref)
    );
    CREATE INDEX signoff_instances_instance ON signoff_instances(instance_ref);
    "#,
    // 8: when a quarantined object was released or discarded (for the readable report); NULL
    // while held and for decisions made before this column existed.
    r#"
    ALTER TABLE quarantine ADD COLUMN decided_at INTEGER;
    "#,
    // 9: profile approvals — every `profile approve` with who approved, the profile replaced,
    // the linkage check's verdict and counts, and the acknowledgement of a linkage break.
    // `approver` and `reason` are typed by staff (local only, never sent).
    r#"
    CREATE TABLE profile_approvals (
        id              INTEGER PRIMARY KEY,
        study           TEXT NOT NULL,
        profile         TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        previous        TEXT,
        previous_sha256 TEXT,
        approver        TEXT NOT NULL,
        approved_at     INTEGER NOT NULL,
        linkage         TEXT NOT NULL
                        CHECK (linkage IN ('first','unchanged','no_deliveries','kept','broken')),
        acknowledged    TEXT,
        counts          TEXT
    );
    CREATE INDEX profile_approvals_study ON profile_approvals(study);
    "#,
    // 10: the configured study a held object was de-identified for (the quarantine screen
    // filters by it); NULL for objects held without a study in force and before this column
    r#"
    ALTER TABLE quarantine ADD COLUMN study TEXT;
    "#,
    // 11: the configured study a review sign-off was made for (the Review screen filters by it)
    r#"
    ALTER TABLE signoffs ADD COLUMN study TEXT;
    "#,
    // 12: the AE title a received instance was sent to (a study's route, or the receiver's own):
    // the forwarder de-identifies and delivers it with that study's settings
    r#"
    ALTER TABLE received ADD COLUMN called_ae TEXT;
    "#,
];
