//! `deposit proxy [show|login]` (the proxy in use and where it came from; storing the proxy
//! password in the OS keyring) and `deposit test-connection DEST` (does the destination answer,
//! and was it reached directly or through which proxy).

use super::args::Common;
use super::login::read_secret;
use super::send::usage;
use super::{print_json, EXIT_OK};
use crate::error::ApiError;

pub fn run(common: &Common, action: Option<&str>) -> Result<u8, ApiError> {
    let o = &common.resolved.overrides;
    match action.unwrap_or("show") {
        "show" => {
            let s = crate::api::network::network_settings(o)?;
            if common.json {
                print_json(&s)?;
            } else if !common.quiet {
                if let Some(p) = &s.problem {
                    println!("{p}");
                    return Ok(EXIT_OK);
                }
                match &s.in_use {
                    Some(p) => println!("Proxy: {p} (from: {})", s.source),
                    None if s.source == "none" => println!("Proxy: none (direct connections)"),
                    None => println!("Proxy: none, direct connections (from: {})", s.source),
                }
                if let Some(p) = &s.in_use_http {
                    println!("Proxy for plain-http destinations: {p}");
                }
                if !s.bypass.is_empty() {
                    println!("Reached directly: {}", s.bypass);
                }
                if let Some(u) = &s.user {
                    println!("Proxy user: {u} (password: {})", s.password);
                }
            }
            Ok(EXIT_OK)
        }
        "login" => {
            let secret = read_secret("Proxy password: ")?;
            let s = crate::api::network::store_proxy_password(o, &secret)?;
            if common.json {
                print_json(&s)?;
            } else if !common.quiet {
                println!(
                    "Stored the proxy password for {} in the OS keyring{}.",
                    s.account,
                    if s.checked {
                        " (checked with the proxy)"
                    } else {
                        " (the proxy could not be reached to check it)"
                    }
                );
            }
            Ok(EXIT_OK)
        }
        other => Err(usage(format!(
            "unknown proxy action '{other}' (show, login)"
        ))),
    }
}

pub fn test_connection(common: &Common, dest: &str) -> Result<u8, ApiError> {
    let home = common.resolved.prepare_home()?;
    let r = crate::api::settings::test_destination(&common.resolved.overrides, dest, &home)?;
    if common.json {
        print_json(&r)?;
    } else if !common.quiet {
        println!("Reachable: {} ({})", r.description, r.proxy);
    }
    Ok(EXIT_OK)
}
