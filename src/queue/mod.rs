//! Queue: persistent, crash-safe, offline-first delivery of de-identified studies in small
//! idempotent pieces, with an explicit state machine per job, study and piece in the catalog.
