//! The embedded folder archive in DEPOSIT_HOME/archive: XNAT-like project/subject/session/scans, written atomically.
