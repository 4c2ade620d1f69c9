//! Error classification shared by every module: a stable machine code and a permanent/transient class.
//!
//! Each module defines its own `thiserror` enum carrying context (path, tag, UID — never PHI
//! values) and implements [`Classify`], so the queue knows what to retry and the UI and CLI
//! can branch on a code instead of parsing text.

use serde::Serialize;

/// Whether retrying the same step can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Retrying will fail the same way until something is changed (input, config, profile).
    Permanent,
    /// The step may succeed later (network down, server busy, disk momentarily full).
    Transient,
}

/// Implemented by every module error: a stable code and a retry class.
pub trait Classify {
    /// Stable, machine-readable code, e.g. `intake.not_found`.
    fn code(&self) -> &'static str;
    /// Permanent or transient.
    fn class(&self) -> ErrorClass;
}

/// An error as it crosses the api boundary (CLI, service, GUI): `{code, message, class}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ApiError {
    /// Stable code the UI branches on.
    pub code: String,
    /// Plain-language sentence for people; carries no PHI.
    pub message: String,
    /// Permanent or transient.
    pub class: ErrorClass,
    /// True when the cause is bad usage, configuration or profile (CLI exit status 2).
    pub usage: bool,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// Any classified module error crosses the api boundary as an [`ApiError`] with `?`; it is a
/// usage error (exit status 2) only where the caller says so with [`ApiError::usage_err`].
impl<E: Classify + std::fmt::Display> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::from_err(&e, false)
    }
}

impl ApiError {
    /// An error made at the api boundary itself (no module error behind it). `code` is a
    /// literal: the TypeScript union of codes (`ui/src/lib/backend/errorCodes.ts`) is generated
    /// from the first arguments of this constructor and its shorthands, and from the bodies of
    /// [`Classify::code`].
    pub fn new(
        code: &'static str,
        message: impl Into<String>,
        class: ErrorClass,
        usage: bool,
    ) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            class,
            usage,
        }
    }

    /// A permanent error that is not the caller's fault.
    pub fn permanent(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, message, ErrorClass::Permanent, false)
    }

    /// A transient error (retrying may succeed).
    pub fn transient(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, message, ErrorClass::Transient, false)
    }

    /// Bad usage, configuration or profile: permanent, CLI exit status 2.
    pub fn usage(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, message, ErrorClass::Permanent, true)
    }

    /// A classified module error caused by bad usage, configuration or profile (CLI exit
    /// status 2).
    pub fn usage_err<E: Classify + std::fmt::Display>(e: E) -> Self {
        ApiError::from_err(&e, true)
    }

    /// Builds an api error from any classified module error.
    pub fn from_err<E: Classify + std::fmt::Display>(e: &E, usage: bool) -> Self {
        Self {
            code: e.code().to_string(),
            message: e.to_string(),
            class: e.class(),
            usage,
        }
    }
}
