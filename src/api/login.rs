//! `deposit login DEST`: checks a secret against the destination and stores it in the OS
//! keyring, where XNAT and CTP destinations find it when neither `DEPOSIT_PASSWORD` nor
//! `~/.netrc` gives one. The secret is never printed, logged or written to the catalog.

use serde::Serialize;

use crate::archive::ctp::{CtpHttp, CtpUrl};
use crate::archive::xnat::{url::XnatUrl, XnatArchive};
use crate::archive::{credentials, Destination};
use crate::error::{ApiError, Classify, ErrorClass};

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

/// Builds the destination for a user (with the secret being checked).
type Checker<'a> = Box<dyn Fn(String) -> Box<dyn Destination> + 'a>;

fn usage(message: String) -> ApiError {
    ApiError {
        code: "login.usage".into(),
        message,
        class: ErrorClass::Permanent,
        usage: true,
    }
}

/// Checks `secret` against `dest` (an `xnat+…` or `ctp+…` URL with a user) and stores it in the
/// OS keyring.
pub fn login(dest: &str, secret: &str) -> Result<LoginSummary, ApiError> {
    if secret.is_empty() {
        return Err(usage("an empty secret was given".into()));
    }
    let (describe, url_user, host, port, checker): (
        String,
        Option<String>,
        String,
        Option<u16>,
        Checker<'_>,
    ) = if let Some(u) = XnatUrl::parse(dest) {
        let u = u.map_err(|e| ApiError::from_err(&e, true))?;
        let url = u.clone();
        (
            u.describe(),
            u.user.clone(),
            u.host.clone(),
            u.port,
            Box::new(move |user| {
                Box::new(XnatArchive::with_credentials(
                    url.clone(),
                    user,
                    secret.to_string(),
                )) as Box<dyn Destination>
            }),
        )
    } else if let Some(u) = CtpUrl::parse(dest) {
        let u = u.map_err(|e| ApiError::from_err(&e, true))?;
        let url = u.clone();
        (
            u.describe(),
            u.user.clone(),
            u.host.clone(),
            Some(u.port),
            Box::new(move |user| {
                Box::new(CtpHttp::with_credentials(
                    url.clone(),
                    Some((user, secret.to_string())),
                )) as Box<dyn Destination>
            }),
        )
    } else {
        return Err(usage(format!(
            "'{}': login is for destinations that take a user and secret (xnat+http(s)://USER@… \
             or ctp+http(s)://USER@…)",
            crate::archive::redact(dest)
        )));
    };
    let user = credentials::user(url_user.as_deref(), &host).ok_or_else(|| {
        usage(format!(
            "{describe}: no user; write it before the host (USER@{host}) or in ~/.netrc"
        ))
    })?;
    let checked = match checker(user.clone()).check() {
        Ok(()) => true,
        Err(e) if e.class() == ErrorClass::Transient => {
            tracing::warn!(
                code = e.code(),
                "the destination could not be reached to check the secret; storing it anyway"
            );
            false
        }
        Err(e) => return Err(ApiError::from_err(&e, false)),
    };
    credentials::store(&user, &host, port, secret).map_err(|e| ApiError::from_err(&e, false))?;
    Ok(LoginSummary {
        destination: describe,
        account: credentials::account(&user, &host, port),
        user,
        stored: true,
        checked,
    })
}
