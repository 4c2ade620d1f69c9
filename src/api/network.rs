//! Network settings as front ends show and edit them: the proxy in force for HTTP destinations
//! and where it came from (the configuration's `[network]`, the environment, the OS, or none),
//! setting or clearing `[network] proxy` / `no_proxy` in `deposit.toml`, and the proxy password
//! in the OS keyring (`deposit proxy login`, Settings → Network). The password is never shown,
//! logged or written to the file.

use serde::Serialize;

use super::resolve::Overrides;
use crate::archive::proxy::{self, Network, ProxySource, ProxyUrl};
use crate::config;
use crate::error::{ApiError, Classify};

/// What Settings → Network shows.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NetworkSettings {
    /// The configuration file.
    pub config: Option<String>,
    /// `[network] proxy` as written (a URL or `none`), if set.
    pub proxy: Option<String>,
    /// `[network] no_proxy` as written, if set.
    pub no_proxy: Option<String>,
    /// The proxy HTTPS destinations go through (`http://[USER@]host:port`); `None`: direct.
    pub in_use: Option<String>,
    /// The proxy plain-HTTP destinations go through, when it differs from `in_use`.
    pub in_use_http: Option<String>,
    /// Where the choice came from: `config`, `environment`, `system` or `none`.
    pub source: String,
    /// Hosts reached directly (the list in force).
    pub bypass: String,
    /// The proxy's user, if it has one.
    pub user: Option<String>,
    /// Its password: `keyring`, `environment` (DEPOSIT_PROXY_PASSWORD), `missing`, or
    /// `not_needed` (no user).
    pub password: String,
    /// Why the proxy setting cannot be used, if it cannot.
    pub problem: Option<String>,
}

fn cfg_err(e: config::ConfigError) -> ApiError {
    ApiError::from_err(&e, true)
}

/// The network settings in force for the configuration and environment of `o`.
pub fn network_settings(o: &Overrides) -> Result<NetworkSettings, ApiError> {
    let cfg = config::load(o.config_file(), true).map_err(cfg_err)?;
    Ok(describe(
        &o.network(&cfg),
        cfg.path.as_ref().map(|p| p.display().to_string()),
    ))
}

/// The settings screen's view of `net`.
pub fn describe(net: &Network, config: Option<String>) -> NetworkSettings {
    let mut s = NetworkSettings {
        config,
        proxy: net.proxy.clone(),
        no_proxy: net.no_proxy.clone(),
        source: "none".into(),
        password: "not_needed".into(),
        ..NetworkSettings::default()
    };
    let https = match net.choice(true) {
        Ok(c) => c,
        Err(e) => {
            s.problem = Some(e.to_string());
            return s;
        }
    };
    let http = net.choice(false).ok().and_then(|c| c.proxy);
    s.source = https
        .source
        .map(|src| src.to_string())
        .unwrap_or_else(|| "none".into());
    s.bypass = https.no_proxy.clone();
    s.in_use = https.proxy.as_ref().map(ToString::to_string);
    let http_s = http.as_ref().map(ToString::to_string);
    if http_s != s.in_use {
        s.in_use_http = http_s;
        if s.source == "none" && http.is_some() {
            s.source = ProxySource::Environment.to_string();
        }
    }
    if let Some(p) = https.proxy.as_ref().or(http.as_ref()) {
        if let Some(u) = &p.user {
            s.user = Some(u.clone());
            s.password = if net.env.password.is_some() {
                "environment"
            } else if proxy::secret_stored(p) {
                "keyring"
            } else {
                "missing"
            }
            .into();
        }
    }
    s
}

/// Sets (or, with `None` or an empty value, clears) `[network] proxy` and `no_proxy`, and stores
/// `password` (when given) in the OS keyring for the proxy's user; the new settings.
pub fn set_network_proxy(
    o: &Overrides,
    proxy: Option<String>,
    no_proxy: Option<String>,
    password: Option<String>,
) -> Result<NetworkSettings, ApiError> {
    let cfg = config::load(o.config_file(), true).map_err(cfg_err)?;
    let file = cfg.path.clone().ok_or_else(|| {
        ApiError::usage(
            "settings.no_file",
            "there is no configuration file to write",
        )
    })?;
    let proxy = proxy
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    let parsed = match proxy.as_deref() {
        Some(p) if !p.eq_ignore_ascii_case(proxy::NONE) => Some(
            ProxyUrl::parse(p)
                .map_err(|m| ApiError::usage("settings.proxy", format!("[network] proxy: {m}")))?,
        ),
        _ => None,
    };
    let no_proxy = no_proxy.map(|n| n.trim().to_string());
    let password = password.filter(|p| !p.is_empty());
    if password.is_some() && parsed.as_ref().and_then(|p| p.user.as_ref()).is_none() {
        return Err(ApiError::usage(
            "settings.proxy",
            "a proxy password needs a proxy with a user (http://USER@host:port)",
        ));
    }
    // the password first: a refused one changes nothing
    if let (Some(p), Some(secret)) = (&parsed, &password) {
        proxy::store_secret(p, secret).map_err(|e| ApiError::from_err(&e, false))?;
    }
    let t: &[&str] = &["network"];
    let v = |s: &Option<String>| s.as_deref().map(toml_edit::Value::from);
    config::set_values(
        &file,
        &[
            (t, "proxy", v(&proxy)),
            (t, "no_proxy", v(&no_proxy.filter(|n| !n.is_empty()))),
        ],
    )
    .map_err(cfg_err)?;
    network_settings(&Overrides {
        config: Some(file),
        ..o.clone()
    })
}

/// What storing the proxy password did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProxyLogin {
    /// The keyring entry (`user@proxy/host:port` under the service `deposit`).
    pub account: String,
    /// The password was stored.
    pub stored: bool,
    /// The proxy accepted it (false: the proxy could not be asked).
    pub checked: bool,
}

/// Checks the password of the proxy in force (the configuration's or the environment's, which
/// must name a user) with the proxy and stores it in the OS keyring.
pub fn store_proxy_password(o: &Overrides, secret: &str) -> Result<ProxyLogin, ApiError> {
    let cfg = config::load(o.config_file(), true).map_err(cfg_err)?;
    let net = o.network(&cfg);
    let choice = net.choice(true).map_err(|e| ApiError::from_err(&e, true))?;
    let http = net.choice(false).ok().and_then(|c| c.proxy);
    let p = choice.proxy.or(http).ok_or_else(|| {
        ApiError::usage(
            "proxy.usage",
            "no proxy is configured: set [network] proxy = \"http://USER@host:port\" in \
             deposit.toml (or HTTPS_PROXY) first",
        )
    })?;
    let s = proxy::store_secret(&p, secret)
        .map_err(|e| ApiError::from_err(&e, e.code() == "proxy.usage"))?;
    Ok(ProxyLogin {
        account: s.account,
        stored: true,
        checked: s.checked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_choice_and_where_it_came_from() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("deposit.toml");
        let o = Overrides {
            config: Some(file.clone()),
            proxy_env: proxy::ProxyEnv::from_lookup(|n| {
                (n == "HTTPS_PROXY").then(|| "http://envproxy:8080".to_string())
            }),
            ..Overrides::default()
        };
        let s = network_settings(&o).expect("settings");
        assert_eq!(s.source, "environment");
        assert_eq!(s.in_use.as_deref(), Some("http://envproxy:8080"));
        let s = set_network_proxy(
            &o,
            Some("http://alice@cfg:3128".into()),
            Some("localhost".into()),
            None,
        )
        .expect("set");
        assert_eq!(
            (s.source.as_str(), s.in_use.as_deref(), s.user.as_deref()),
            ("config", Some("http://alice@cfg:3128"), Some("alice"))
        );
        assert_eq!(s.bypass, "localhost");
        let text = std::fs::read_to_string(&file).expect("file");
        assert!(
            text.contains("[network]") && text.contains("cfg:3128"),
            "{text}"
        );
        let e = set_network_proxy(&o, Some("http://a:pw@p:1".into()), None, None)
            .expect_err("password in URL");
        assert!(!e.message.contains("pw@"), "{}", e.message);
        let e = set_network_proxy(&o, Some("http://p:1".into()), None, Some("x".into()))
            .expect_err("password without user");
        assert_eq!(e.code, "settings.proxy");
        let s = set_network_proxy(&o, None, None, None).expect("clear");
        assert_eq!(s.source, "environment");
        assert!(!std::fs::read_to_string(&file)
            .expect("file")
            .contains("proxy"));
    }
}
