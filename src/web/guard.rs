//! Which requests the server answers at all: the `Host` must name this server (its own address,
//! a loopback name when it listens on loopback, or a configured public name) so a page on
//! another site cannot reach it by DNS rebinding; a state-changing request from a browser must
//! come from this server's own page (`Origin` equal to the request's host, no cross-site
//! `Sec-Fetch-Site`). Clients that send no `Origin` (curl, scripts) are not browsers: they
//! still need the session cookie and the `X-Deposit` header.

use std::net::{IpAddr, SocketAddr};

/// Who the server is.
#[derive(Debug, Clone)]
pub struct Names {
    /// The address it listens on.
    pub bound: SocketAddr,
    /// Host names (lower case, no port) it is also reached by.
    pub public: Vec<String>,
}

/// The host name of a `Host` header or of an origin's authority, without the port; IPv6
/// literals keep their brackets off.
fn host_part(authority: &str) -> &str {
    let a = authority.trim();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split_once(']').map(|(h, _)| h).unwrap_or(rest);
    }
    a.rsplit_once(':').map(|(h, _)| h).unwrap_or(a)
}

impl Names {
    /// Whether `host` (a `Host` header) names this server.
    pub fn host_ok(&self, host: Option<&str>) -> bool {
        let Some(host) = host else {
            return false;
        };
        let name = host_part(host).to_ascii_lowercase();
        if name.is_empty() {
            return false;
        }
        if self.public.contains(&name) {
            return true;
        }
        let bound = self.bound.ip();
        match name.parse::<IpAddr>() {
            // an address cannot be rebound: any of ours
            Ok(ip) => {
                ip == bound || bound.is_unspecified() || (bound.is_loopback() && ip.is_loopback())
            }
            Err(_) => name == "localhost" && (bound.is_loopback() || bound.is_unspecified()),
        }
    }

    /// Whether a state-changing request may go ahead: no `Origin`, or exactly this request's
    /// own `http(s)://host`; and no `Sec-Fetch-Site` other than same-origin or none.
    pub fn origin_ok(
        &self,
        host: Option<&str>,
        origin: Option<&str>,
        fetch_site: Option<&str>,
    ) -> bool {
        if let Some(site) = fetch_site {
            if !matches!(site, "same-origin" | "none") {
                return false;
            }
        }
        let Some(origin) = origin else {
            return true;
        };
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        matches!(scheme, "http" | "https")
            && host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
            && self.host_ok(Some(authority))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(bound: &str) -> Names {
        Names {
            bound: bound.parse().expect("addr"),
            public: vec!["deposit.example.org".into()],
        }
    }

    #[test]
    fn hosts() {
        let lo = names("127.0.0.1:8080");
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "deposit.example.org",
            "Deposit.Example.org:443",
        ] {
            assert!(lo.host_ok(Some(ok)), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "10.0.0.1:8080",
            "",
            "127.0.0.1.evil.example",
            "deposit.example.org.evil",
        ] {
            assert!(!lo.host_ok(Some(bad)), "{bad}");
        }
        assert!(!lo.host_ok(None));
        let any = names("0.0.0.0:8080");
        assert!(any.host_ok(Some("10.0.0.1:8080")));
        assert!(!any.host_ok(Some("evil.example")));
        let one = names("10.0.0.1:8080");
        assert!(one.host_ok(Some("10.0.0.1:8080")));
        assert!(!one.host_ok(Some("localhost:8080")));
    }

    #[test]
    fn origins() {
        let n = names("127.0.0.1:8080");
        let h = Some("127.0.0.1:8080");
        assert!(n.origin_ok(h, None, None));
        assert!(n.origin_ok(h, Some("http://127.0.0.1:8080"), Some("same-origin")));
        assert!(!n.origin_ok(h, Some("http://evil.example"), None));
        assert!(!n.origin_ok(h, Some("http://127.0.0.1:9999"), None));
        assert!(!n.origin_ok(h, Some("null"), None));
        assert!(!n.origin_ok(h, None, Some("cross-site")));
        assert!(!n.origin_ok(h, None, Some("same-site")));
    }
}
