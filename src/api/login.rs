//! `deposit login DEST`: checks a secret against the destination and stores it in the OS
//! keyring, where XNAT and CTP destinations find it when neither `DEPOSIT_PASSWORD` nor
//! `~/.netrc` gives one. The secret is never printed, logged or written to the catalog.

use serde::Serialize;

use crate::archive::proxy::Network;
use crate::archive::DestinationSpec;
use crate::config::Config;
use crate::error::ApiError;

/// What `login` did.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LoginSummary {
    /// The destination (no secret).
    pub destination: String,
    /// The user the secret belongs to.
    pub user: String,
    /// The keyring entry (`user@host[:port]` under the service `deposit`).
    pub account: String,
    /// The secret was stored.
    pub stored: bool,
    /// The destination accepted the credentials (false: it could not be reached to check).
    pub checked: bool,
}

/// Checks `secret` against `dest` (a `[destinations]` name of `config`, or an `xnat+…` or
/// `ctp+…` URL with a user) and stores it in the OS keyring; the destination is reached as
/// `network` says.
pub fn login(
    config: &Config,
    network: &Network,
    dest: &str,
    secret: &str,
) -> Result<LoginSummary, ApiError> {
    if secret.is_empty() {
        return Err(ApiError::usage("login.usage", "an empty secret was given"));
    }
    let spec = DestinationSpec::resolve(dest, config).map_err(ApiError::usage_err)?;
    let done = spec
        .login(secret, network)
        .map_err(|e| ApiError::from_err(&e, e.is_usage()))?;
    Ok(LoginSummary {
        destination: done.destination,
        user: done.user,
        account: done.account,
        stored: true,
        checked: done.checked,
    })
}
