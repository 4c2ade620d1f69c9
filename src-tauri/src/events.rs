//! Typed events the app sends to the window while long work runs (exported to TypeScript).
//! Each wraps the engine's payload from `deposit::api::jobs` unchanged.

use deposit::api::jobs;
use serde::Serialize;

/// How far a running scan has got.
#[derive(Debug, Clone, Copy, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
#[serde(transparent)]
pub struct ScanProgressEvent(pub jobs::ScanProgress);

/// A scan ended; the catalog now holds what it found.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
#[serde(transparent)]
pub struct ScanFinishedEvent(pub jobs::ScanFinished);

/// A scan could not run or stopped early.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
#[serde(transparent)]
pub struct ScanFailedEvent(pub jobs::JobFailed);

/// How far a running send has got.
#[derive(Debug, Clone, Copy, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
#[serde(transparent)]
pub struct SendProgressEvent(pub jobs::SendProgress);

/// A send ended.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
#[serde(transparent)]
pub struct SendFinishedEvent(pub jobs::SendFinished);

/// A send could not run or stopped early.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event, PartialEq, Eq)]
#[serde(transparent)]
pub struct SendFailedEvent(pub jobs::JobFailed);
