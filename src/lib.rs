//! Deposit: de-identify DICOM images and deliver them, resumably, to research archives.
//!
//! # Start here
//!
//! Data flows one way: [`intake`] → [`catalog`] → [`pipeline`] ([`deid`] + [`pixels`] +
//! identity gates, one input at a time) → [`queue`] → [`archive`]; [`receive`] feeds intake.
//! [`api`] is the one surface that the CLI ([`cli`]), the headless service ([`web`]) and the
//! desktop shell call; nothing else is meant to be called from outside. The module map and the
//! layer rules (enforced by `tests/layers.rs`) are in docs/architecture.md.
//!
//! Errors: each module has its own error enum implementing [`error::Classify`] (a stable code and
//! a permanent/transient class); at the api boundary they become [`error::ApiError`].
//!
//! The data home ([`home`]) holds the catalog, quarantine, outbox, embedded archive, logs and the
//! site key.

pub mod api;
pub mod archive;
pub mod calendar;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod ctp_expr;
pub mod deid;
pub mod dimse;
pub mod durable;
pub mod error;
pub mod home;
pub mod implementation;
pub mod intake;
pub mod logging;
pub mod pipeline;
pub mod pixels;
pub mod platform;
pub mod queue;
pub mod receive;
pub mod units;
pub mod web;
