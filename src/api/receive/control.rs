//! The receiver as front ends run it: at most one per process, started and stopped on request,
//! its status read at any time (the window's and the web UI's Receiver screen).

use std::sync::Mutex;

use serde::Deserialize;

use super::{ReceiverHandle, ReceiverOptions, ReceiverStatus};
use crate::error::ApiError;

/// What a person chooses when starting the receiver.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReceiverRequest {
    /// AE title scanners and PACS send to.
    pub aet: String,
    /// TCP port.
    pub port: u16,
    /// Forward de-identified studies here once quiet (none: only catalog them).
    pub forward: Option<String>,
    /// Profile for forwarding (none: the default).
    pub profile: Option<String>,
    /// Lookup table for forwarding.
    pub lookup: Option<String>,
    /// Calling AE titles allowed to send (empty: `[receiver] allow_ae`, else any; from
    /// `deposit serve` one of the two is required unless `[receiver] bind` is loopback).
    #[serde(default)]
    pub allow: Vec<String>,
}

/// The one receiver of a front end.
#[derive(Default)]
pub struct ReceiverControl {
    running: Mutex<Option<ReceiverHandle>>,
}

fn state_error() -> ApiError {
    ApiError::permanent(
        "receive.state",
        "the receiver's state is damaged; restart Deposit",
    )
}

impl ReceiverControl {
    /// Starts the receiver on the data home of `settings` (an error if one already runs);
    /// a forwarding destination may be one of its `[destinations]` names. The listening
    /// address, the allowed calling AE titles and the limits are `[receiver]`'s of deposit.toml.
    pub fn start(
        &self,
        settings: &crate::api::resolve::Resolved,
        req: ReceiverRequest,
    ) -> Result<ReceiverStatus, ApiError> {
        let home = settings.home_root()?;
        let mut slot = self.running.lock().map_err(|_| state_error())?;
        if slot.is_some() {
            return Err(ApiError::usage(
                "receive.running",
                "the receiver is already running; stop it first",
            ));
        }
        let empty = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
        // the address, allowed calling AE titles and limits of `[receiver]` hold here too
        let conf = &settings.config.receiver;
        let defaults = ReceiverOptions::default();
        // the calling AE titles the person gave, else `[receiver] allow_ae`
        let asked: Vec<String> = req
            .allow
            .iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        let opts = ReceiverOptions {
            bind: conf.bind.clone().unwrap_or(defaults.bind.clone()),
            allow: if asked.is_empty() {
                conf.allow_ae.clone()
            } else {
                asked
            },
            max_associations: conf.max_associations.unwrap_or(defaults.max_associations),
            limits: super::ReceiverLimits::from_config(conf),
            aet: req.aet.trim().to_string(),
            port: req.port,
            // the window offers destinations by their `[destinations]` name
            forward: empty(req.forward)
                .map(|d| settings.destination(&d))
                .transpose()?,
            profile: empty(req.profile),
            lookup: empty(req.lookup).map(Into::into),
            network: settings.network(),
            routes: super::routes(&settings.overrides)?,
            ..defaults
        };
        let handle = super::start(home, opts, |e| tracing::info!(event = ?e, "receiver"))?;
        let status = handle.status();
        *slot = Some(handle);
        Ok(status)
    }

    /// The running receiver's status, or `None` when it is stopped.
    pub fn status(&self) -> Result<Option<ReceiverStatus>, ApiError> {
        let slot = self.running.lock().map_err(|_| state_error())?;
        Ok(slot.as_ref().map(ReceiverHandle::status))
    }

    /// Stops the receiver (associations in flight finish first); its last status.
    pub fn stop(&self) -> Result<Option<ReceiverStatus>, ApiError> {
        let handle = self.running.lock().map_err(|_| state_error())?.take();
        Ok(handle.map(|h| h.stop()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(port: u16) -> ReceiverRequest {
        ReceiverRequest {
            aet: "DEPOSIT".into(),
            port,
            forward: Some(String::new()),
            profile: None,
            lookup: None,
            allow: Vec::new(),
        }
    }

    fn settings(home: &std::path::Path) -> crate::api::resolve::Resolved {
        crate::api::resolve::Resolved {
            home: Some(home.to_path_buf()),
            ..Default::default()
        }
    }

    #[test]
    fn the_configured_allow_list_and_address_hold_for_a_receiver_started_here() {
        let home = tempfile::tempdir().expect("home");
        let mut s = settings(home.path());
        s.config.receiver.allow_ae = vec!["GOOD".into()];
        s.config.receiver.bind = Some("127.0.0.1".into());
        let c = ReceiverControl::default();
        let st = c.start(&s, request(0)).expect("start");
        assert!(st.address.starts_with("127.0.0.1:"), "{}", st.address);
        let call = |ae: &str| {
            dicom_ul::ClientAssociationOptions::new()
                .calling_ae_title(ae)
                .called_ae_title("DEPOSIT")
                .with_presentation_context("1.2.840.10008.1.1", vec!["1.2.840.10008.1.2"])
                .establish(("127.0.0.1", st.port))
                .map(|a| {
                    let _ = a.release();
                })
                .is_ok()
        };
        assert!(call("GOOD"));
        assert!(!call("STRANGER"), "not on the configured allow-list");
        c.stop().expect("stop");
    }

    #[test]
    fn starts_once_reports_and_stops() {
        let home = tempfile::tempdir().expect("home");
        let c = ReceiverControl::default();
        assert!(c.status().expect("status").is_none());
        let st = c.start(&settings(home.path()), request(0)).expect("start");
        assert!(st.running);
        assert_eq!(st.aet, "DEPOSIT");
        assert_ne!(st.port, 0, "a free port was chosen");
        assert!(
            st.forward.is_none(),
            "an empty destination means no forwarding"
        );
        let again = c
            .start(&settings(home.path()), request(0))
            .expect_err("one receiver at a time");
        assert_eq!(again.code, "receive.running");
        let last = c.stop().expect("stop").expect("was running");
        assert!(!last.running);
        assert!(c.status().expect("status").is_none());
        assert!(c.stop().expect("stop again").is_none());
    }

    #[test]
    fn a_bad_ae_title_is_refused() {
        let home = tempfile::tempdir().expect("home");
        let c = ReceiverControl::default();
        let mut r = request(0);
        r.aet = "A\\B".into();
        assert_eq!(
            c.start(&settings(home.path()), r).expect_err("bad AE").code,
            "receive.bad_option"
        );
        assert!(c.status().expect("status").is_none());
    }
}
