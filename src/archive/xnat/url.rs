//! Parses `xnat+https://[user@]host[:port][/context]?project=ID[&timeout=SECONDS][&heartbeat=SECONDS]`
//! destinations.

use std::time::Duration;

use crate::archive::{redact, ArchiveError};

/// A parsed XNAT destination (never holds a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XnatUrl {
    /// `https` or `http`.
    pub scheme: String,
    /// Host name or address (the `~/.netrc` machine).
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
    /// Context path such as `/xnat` (empty for the site root).
    pub context: String,
    /// User name from the URL, if given.
    pub user: Option<String>,
    /// XNAT project ID.
    pub project: String,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
    /// Session heartbeat interval (`heartbeat=SECONDS`; `0` turns it off; default 60 s).
    pub heartbeat: Option<Duration>,
    /// TLS trust (from the configured destination; not part of the URL).
    pub trust: crate::archive::tls::Trust,
}

impl XnatUrl {
    /// Parses a destination string; `None` when it is not an XNAT URL at all.
    pub fn parse(dest: &str) -> Option<Result<XnatUrl, ArchiveError>> {
        let (scheme, rest) = if let Some(r) = dest.strip_prefix("xnat+https://") {
            ("https", r)
        } else if let Some(r) = dest.strip_prefix("xnat+http://") {
            ("http", r)
        } else {
            return None;
        };
        Some(
            parse_rest(scheme, rest)
                .map_err(|why| ArchiveError::BadDestination(format!("{} ({why})", redact(dest)))),
        )
    }

    /// Site root URL (scheme, host, port, context), without user.
    pub fn base(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{p}{}", self.scheme, self.host, self.context),
            None => format!("{}://{}{}", self.scheme, self.host, self.context),
        }
    }

    /// The destination string again (user name kept, no secret), reopenable by `archive::open`.
    pub fn describe(&self) -> String {
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let host = match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        };
        let mut s = format!(
            "xnat+{}://{user}{host}{}?project={}",
            self.scheme, self.context, self.project
        );
        if let Some(t) = self.timeout {
            s.push_str(&format!("&timeout={}", t.as_secs()));
        }
        if let Some(h) = self.heartbeat {
            s.push_str(&format!("&heartbeat={}", h.as_secs()));
        }
        s
    }
}

fn parse_rest(scheme: &str, rest: &str) -> Result<XnatUrl, String> {
    let (path_part, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, context) = match path_part.find('/') {
        Some(i) => (&path_part[..i], path_part[i..].trim_end_matches('/')),
        None => (path_part, ""),
    };
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, _)) if u.contains(':') => {
            return Err("a secret in the URL is refused: use DEPOSIT_PASSWORD or ~/.netrc".into())
        }
        Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
        Some(_) => return Err("empty user name".into()),
        None => (None, authority),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h,
            Some(p.parse::<u16>().map_err(|_| format!("bad port '{p}'"))?),
        ),
        None => (hostport, None),
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let mut project = None;
    let mut timeout = None;
    let mut heartbeat = None;
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        match kv.split_once('=') {
            Some(("project", v)) => project = Some(v.to_string()),
            Some(("timeout", v)) => {
                let secs: u64 = v.parse().map_err(|_| format!("bad timeout '{v}'"))?;
                timeout = Some(Duration::from_secs(secs.max(1)));
            }
            Some(("heartbeat", v)) => {
                let secs: u64 = v.parse().map_err(|_| format!("bad heartbeat '{v}'"))?;
                heartbeat = Some(Duration::from_secs(secs));
            }
            _ => return Err(format!("unknown parameter '{kv}'")),
        }
    }
    let project = project.ok_or("missing ?project=ID")?;
    if project.is_empty()
        || !project
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("the project ID may hold only letters, digits, '_' and '-'".into());
    }
    Ok(XnatUrl {
        scheme: scheme.into(),
        host: host.into(),
        port,
        context: context.into(),
        user,
        project,
        timeout,
        heartbeat,
        trust: Default::default(),
    })
}

/// Percent-encodes a query value.
pub fn enc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> XnatUrl {
        XnatUrl::parse(s).expect("xnat url").expect("valid")
    }

    #[test]
    fn parses_every_part() {
        let u = ok("xnat+https://bob@xnat.example.org:8443/xnat/?project=P_1&timeout=5");
        assert_eq!(
            ok("xnat+http://h?project=A&heartbeat=0").heartbeat,
            Some(Duration::ZERO)
        );
        assert_eq!(u.base(), "https://xnat.example.org:8443/xnat");
        assert_eq!(u.user.as_deref(), Some("bob"));
        assert_eq!(u.project, "P_1");
        assert_eq!(u.timeout, Some(Duration::from_secs(5)));
        assert_eq!(
            u.describe(),
            "xnat+https://bob@xnat.example.org:8443/xnat?project=P_1&timeout=5"
        );
        assert_eq!(
            ok(&u.describe()),
            u,
            "describe() reopens to the same destination"
        );
        let u = ok("xnat+http://127.0.0.1:80?project=A");
        assert_eq!((u.base().as_str(), u.user), ("http://127.0.0.1:80", None));
    }

    #[test]
    fn refuses_bad_urls_without_echoing_secrets() {
        assert!(XnatUrl::parse("folder:/x").is_none());
        for bad in [
            "xnat+https://host",
            "xnat+https://host?project=",
            "xnat+https://host?project=a/b",
            "xnat+https://host:x?project=P",
            "xnat+https://?project=P",
            "xnat+https://host?project=P&colour=red",
        ] {
            assert!(XnatUrl::parse(bad).expect("xnat").is_err(), "{bad}");
        }
        let e = XnatUrl::parse("xnat+https://bob:hunter2@host?project=P")
            .expect("xnat")
            .expect_err("secret refused");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(enc("DEP-1_2.x"), "DEP-1_2.x");
        assert_eq!(enc("a b&c"), "a%20b%26c");
    }
}
