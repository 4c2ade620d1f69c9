//! A destination's server certificate as front ends handle it: the one its server presents
//! (fingerprint, and whether the destination's trust accepts it), for a person to confirm with the
//! archive's administrator, and pinning it (`pin_sha256` of the `[destinations.NAME]` table of
//! deposit.toml, written in place).

use std::path::Path;

use serde::Serialize;

use super::resolve::Overrides;
use crate::archive::tls::format_sha256;
pub use crate::archive::tls::Presented;
use crate::archive::DestinationSpec;
use crate::config;
use crate::error::ApiError;

/// A pin written into deposit.toml.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PinnedCertificate {
    /// The destination's name.
    pub destination: String,
    /// The pinned SHA-256, `AB:CD:…`.
    pub sha256: String,
    /// The configuration file written.
    pub config: String,
}

fn cfg_err(e: config::ConfigError) -> ApiError {
    ApiError::from_err(&e, true)
}

/// The certificate the server of `dest` (a `[destinations]` name or a URL) presents, whatever
/// its trust, and whether the destination's trust accepts it; asked through the proxy the
/// destination goes through (`o` names the configuration and carries the environment's proxy).
pub fn presented(o: &Overrides, dest: &str) -> Result<Presented, ApiError> {
    let cfg = config::load(o.config_file(), true).map_err(cfg_err)?;
    let network = o.network(&cfg);
    DestinationSpec::resolve(dest, &cfg)
        .and_then(|d| d.certificate(&network))
        .map_err(|e| ApiError::from_err(&e, false))
}

/// Pins `sha256` (`AB:CD:…` or 64 hex digits) for the destination `name` of deposit.toml:
/// from now on exactly the server certificate with this fingerprint is trusted.
pub fn pin(path: Option<&Path>, name: &str, sha256: &str) -> Result<PinnedCertificate, ApiError> {
    let cfg = config::load(path, true).map_err(cfg_err)?;
    if !cfg.destinations.contains_key(name) {
        return Err(ApiError::usage(
            "destination.unknown",
            format!("no destination '{name}' in the configuration: a pin belongs to a named destination ([destinations.NAME])"),
        ));
    }
    let digest = config::parse_sha256(sha256).ok_or_else(|| {
        ApiError::usage(
            "destination.bad_fingerprint",
            "expected a SHA-256 fingerprint: 64 hex digits, with or without colons",
        )
    })?;
    let file = cfg.path.clone().ok_or_else(|| {
        ApiError::usage(
            "settings.no_file",
            "there is no configuration file to write",
        )
    })?;
    let shown = format_sha256(&digest);
    let table = ["destinations", name];
    config::set_values(
        &file,
        &[(
            &table,
            "pin_sha256",
            Some(toml_edit::Value::from(shown.as_str())),
        )],
    )
    .map_err(cfg_err)?;
    Ok(PinnedCertificate {
        destination: name.to_string(),
        sha256: shown,
        config: file.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_written_for_a_named_destination_only() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("deposit.toml");
        std::fs::write(
            &file,
            "# site\n[destinations.central]\nurl = \"ctp+https://h:1443\"\n",
        )
        .expect("write");
        let hex = "ab".repeat(32);
        let p = pin(Some(&file), "central", &hex).expect("pinned");
        assert_eq!(p.sha256, ["AB"; 32].join(":"));
        let cfg = config::load(Some(&file), false).expect("reads back");
        assert_eq!(cfg.destinations["central"].pin_sha256, Some([0xab; 32]));
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(text.starts_with("# site\n"), "{text}");

        let e = pin(Some(&file), "elsewhere", &hex).expect_err("unknown");
        assert_eq!(e.code, "destination.unknown");
        let e = pin(Some(&file), "central", "ab:cd").expect_err("bad");
        assert_eq!(e.code, "destination.bad_fingerprint");
    }

    #[test]
    fn plain_http_has_no_certificate() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("deposit.toml");
        let o = Overrides {
            config: Some(file.clone()),
            ..Overrides::default()
        };
        let e = presented(&o, "ctp+http://127.0.0.1:9").expect_err("plain");
        assert!(e.message.contains("no certificate"), "{}", e.message);
    }
}
