//! Credentials for destinations that log in (XNAT, CTP HTTP): the user from the URL or
//! `~/.netrc`; the secret from, in order, `DEPOSIT_PASSWORD`, `~/.netrc`, the OS keyring (stored
//! there by `deposit login DEST`; Secret Service over D-Bus on Linux). XNAT alias tokens are
//! used as user/secret pairs. A secret never reaches a log, an error, the catalog or a URL.

use thiserror::Error;

use super::xnat::netrc;
use super::ArchiveError;
use crate::error::{Classify, ErrorClass};

/// The keyring service name every Deposit secret is stored under.
pub const KEYRING_SERVICE: &str = "deposit";

/// Where a secret came from (never the secret itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The `DEPOSIT_PASSWORD` environment variable.
    Env,
    /// `~/.netrc` (or `$NETRC`).
    Netrc,
    /// The OS keyring.
    Keyring,
}

/// A user and secret for one site.
#[derive(Clone)]
pub struct Credentials {
    /// Login name (or alias token).
    pub user: String,
    /// Password (or alias token secret).
    pub secret: String,
    /// Where the secret came from.
    pub source: Source,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Keyring failures.
#[derive(Debug, Error)]
pub enum CredentialError {
    /// The OS keyring could not be used.
    #[error("the OS keyring is not available: {detail} (on Linux it needs a Secret Service such as gnome-keyring on the session D-Bus; DEPOSIT_PASSWORD or ~/.netrc work without it)")]
    Keyring {
        /// What failed (no secret in it).
        detail: String,
    },
}

impl Classify for CredentialError {
    fn code(&self) -> &'static str {
        "credentials.keyring"
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// The keyring account for a user on a site: `user@host[:port]`.
pub fn account(user: &str, host: &str, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{user}@{host}:{p}"),
        None => format!("{user}@{host}"),
    }
}

fn entry(user: &str, host: &str, port: Option<u16>) -> Result<keyring::Entry, CredentialError> {
    keyring::Entry::new(KEYRING_SERVICE, &account(user, host, port)).map_err(|e| {
        CredentialError::Keyring {
            detail: keyring_detail(&e),
        }
    })
}

/// A keyring error in words, without anything it may carry (it never holds the secret, but
/// stay on the safe side: only the kind is shown).
fn keyring_detail(e: &keyring::Error) -> String {
    match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            let text = inner.to_string();
            text.chars().take(200).collect()
        }
        keyring::Error::NoEntry => "no entry".into(),
        keyring::Error::BadEncoding(_) => "the stored secret is not text".into(),
        keyring::Error::TooLong(what, _) => format!("{what} is too long"),
        keyring::Error::Invalid(what, _) => format!("invalid {what}"),
        keyring::Error::Ambiguous(_) => "more than one entry matches".into(),
        _ => "unknown keyring error".into(),
    }
}

/// The secret stored by `deposit login` for `user` on `host[:port]`, if any. A keyring that
/// cannot be reached counts as "none" (logged at debug level).
pub fn from_keyring(user: &str, host: &str, port: Option<u16>) -> Option<String> {
    let e = entry(user, host, port).ok()?;
    match e.get_password() {
        Ok(s) if !s.is_empty() => Some(s),
        Ok(_) | Err(keyring::Error::NoEntry) => None,
        Err(err) => {
            tracing::debug!(detail = %keyring_detail(&err), "OS keyring not usable");
            None
        }
    }
}

/// Stores a secret in the OS keyring (`deposit login`).
pub fn store(
    user: &str,
    host: &str,
    port: Option<u16>,
    secret: &str,
) -> Result<(), CredentialError> {
    entry(user, host, port)?
        .set_password(secret)
        .map_err(|e| CredentialError::Keyring {
            detail: keyring_detail(&e),
        })
}

/// Removes a stored secret (a no-op when there is none).
pub fn forget(user: &str, host: &str, port: Option<u16>) -> Result<(), CredentialError> {
    match entry(user, host, port)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(CredentialError::Keyring {
            detail: keyring_detail(&e),
        }),
    }
}

/// The user for a site: the URL's user part, else the `~/.netrc` login.
pub fn user(url_user: Option<&str>, host: &str) -> Option<String> {
    url_user
        .map(str::to_string)
        .or_else(|| netrc::for_host(host).and_then(|e| e.login))
}

/// Resolves user and secret for a site (order: `DEPOSIT_PASSWORD`, `~/.netrc`, OS keyring).
/// `describe` names the destination in errors (no secret).
pub fn resolve(
    url_user: Option<&str>,
    host: &str,
    port: Option<u16>,
    describe: &str,
) -> Result<Credentials, ArchiveError> {
    let entry = netrc::for_host(host);
    let user = url_user
        .map(str::to_string)
        .or_else(|| entry.as_ref().and_then(|e| e.login.clone()))
        .ok_or_else(|| ArchiveError::NoUser {
            destination: describe.to_string(),
            host: host.to_string(),
        })?;
    if let Some(s) = std::env::var("DEPOSIT_PASSWORD")
        .ok()
        .filter(|s| !s.is_empty())
    {
        return Ok(Credentials {
            user,
            secret: s,
            source: Source::Env,
        });
    }
    let from_netrc = entry
        .filter(|e| e.login.as_deref().is_none_or(|l| l == user))
        .and_then(|e| e.password);
    if let Some(s) = from_netrc {
        return Ok(Credentials {
            user,
            secret: s,
            source: Source::Netrc,
        });
    }
    if let Some(s) = from_keyring(&user, host, port) {
        return Ok(Credentials {
            user,
            secret: s,
            source: Source::Keyring,
        });
    }
    Err(ArchiveError::NoSecret {
        destination: describe.to_string(),
        user,
        host: host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_name_user_and_site() {
        assert_eq!(account("bob", "x.org", None), "bob@x.org");
        assert_eq!(account("bob", "x.org", Some(8443)), "bob@x.org:8443");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credentials {
            user: "bob".into(),
            secret: "hunter2".into(),
            source: Source::Env,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
