//! Credentials for XNAT: the user from the URL or `~/.netrc`, the secret from `DEPOSIT_PASSWORD`
//! or `~/.netrc` (the file XNAT's own clients read). Alias tokens work as user/secret pairs.

use std::path::PathBuf;

/// One `machine` (or `default`) entry of a netrc file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    /// `login` value.
    pub login: Option<String>,
    /// `password` value.
    pub password: Option<String>,
}

/// Finds the entry for `host` (else the `default` entry) in netrc text.
pub fn lookup(text: &str, host: &str) -> Option<Entry> {
    let mut tokens = text.split_whitespace();
    let mut found: Option<Entry> = None;
    let mut default: Option<Entry> = None;
    // which entry the following login/password tokens belong to
    enum Target {
        None,
        Host,
        Default,
    }
    let mut target = Target::None;
    while let Some(t) = tokens.next() {
        match t {
            "machine" => {
                let m = tokens.next().unwrap_or_default();
                target = if m == host && found.is_none() {
                    found = Some(Entry::default());
                    Target::Host
                } else {
                    Target::None
                };
            }
            "default" => {
                default = Some(Entry::default());
                target = Target::Default;
            }
            "login" | "password" | "account" | "macdef" => {
                let v = tokens.next().map(str::to_string);
                let entry = match target {
                    Target::Host => found.as_mut(),
                    Target::Default => default.as_mut(),
                    Target::None => None,
                };
                if let Some(e) = entry {
                    match t {
                        "login" => e.login = v,
                        "password" => e.password = v,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    found.or(default)
}

/// The netrc file: `$NETRC`, else `~/.netrc`.
pub fn path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NETRC") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".netrc"))
}

/// The entry for `host` in the user's netrc file, if any.
pub fn for_host(host: &str) -> Option<Entry> {
    let text = std::fs::read_to_string(path()?).ok()?;
    lookup(&text, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_machine_then_default() {
        let t = "machine a.org login al password p1\n\
                 machine b.org\n  login bo\n  password p2\n\
                 default login anon password x";
        let e = lookup(t, "b.org").expect("b");
        assert_eq!(
            (e.login.as_deref(), e.password.as_deref()),
            (Some("bo"), Some("p2"))
        );
        assert_eq!(
            lookup(t, "c.org").and_then(|e| e.login).as_deref(),
            Some("anon")
        );
        assert_eq!(lookup("machine a login b", "z"), None);
    }
}
