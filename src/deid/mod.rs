//! De-identification: dataset + profile + keys in, dataset + decisions out. Pure — no catalog,
//! queue or archive access; time, seeds and keys are passed in, never read inside.
//!
//! Profiles (PS3.15 Annex E basic with its options, CTP DicomAnonymizer scripts), lookup tables,
//! deterministic UID remapping and date shifting, output hygiene, and the quarantine decisions
//! live here. Asks `pixels` for burned-in risk and masks.
