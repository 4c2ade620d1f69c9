//! The approvals section of a report: for each configured study, what its `[studies.NAME]`
//! table of `deposit.toml` records about the approval in force — the pinned profile, its
//! SHA-256, when — and every other approval key present (an approver, a linkage
//! acknowledgement, …) as it is written, so new approval fields show without changing this.

use serde::Serialize;

use crate::config::Config;

/// The approval of one study, as recorded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Approval {
    /// The study's name in `deposit.toml`.
    pub study: String,
    /// `(key, value)` in the file's words: the pin first, then any other approval key.
    pub fields: Vec<(String, String)>,
}

impl Approval {
    /// A recorded field's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether anything about an approval is recorded.
    pub fn approved(&self) -> bool {
        self.get("profile_sha256").is_some() || self.get("approved_at").is_some()
    }
}

/// Keys of a study table that are its settings, not its approval.
const SETTINGS: &[&str] = &[
    "destination",
    "lookup",
    "masks",
    "uid_root",
    "project",
    "subject_label",
    "session_label",
    "called_aet",
];

/// The pin's keys, shown first in this order.
const PIN: &[&str] = &["profile", "profile_sha256", "approved_at"];

/// A value in one line: strings as written, arrays joined, tables flattened by the caller.
fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Datetime(d) => Some(d.to_string()),
        toml::Value::Array(a) => Some(
            a.iter()
                .map(|x| scalar(x).unwrap_or_else(|| "…".into()))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        toml::Value::Table(_) => None,
    }
}

/// `key` and its value, a table's keys as `key.sub` (two levels: approvals are shallow).
fn flatten(prefix: &str, v: &toml::Value, depth: u8, out: &mut Vec<(String, String)>) {
    match (v, scalar(v)) {
        (_, Some(s)) => out.push((prefix.to_string(), s)),
        (toml::Value::Table(t), None) if depth < 2 => {
            for (k, x) in t {
                flatten(&format!("{prefix}.{k}"), x, depth + 1, out);
            }
        }
        _ => out.push((prefix.to_string(), "…".into())),
    }
}

/// The approvals of the configured studies (only `only` when given): from the file's text when
/// there is one (every key), else from the parsed configuration (the pin).
pub fn approvals(config_text: Option<&str>, cfg: &Config, only: Option<&str>) -> Vec<Approval> {
    let raw: Option<toml::Table> = config_text.and_then(|t| t.parse().ok());
    let raw_studies = raw
        .as_ref()
        .and_then(|r| r.get("studies"))
        .and_then(toml::Value::as_table);
    let mut out = Vec::new();
    for (name, study) in &cfg.studies {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let mut fields = Vec::new();
        match raw_studies
            .and_then(|s| s.get(name))
            .and_then(toml::Value::as_table)
        {
            Some(t) => {
                for k in PIN {
                    if let Some(v) = t.get(*k) {
                        flatten(k, v, 0, &mut fields);
                    }
                }
                for (k, v) in t {
                    if !PIN.contains(&k.as_str()) && !SETTINGS.contains(&k.as_str()) {
                        flatten(k, v, 0, &mut fields);
                    }
                }
            }
            None => {
                for (k, v) in [
                    ("profile", &study.profile),
                    ("profile_sha256", &study.profile_sha256),
                    ("approved_at", &study.approved_at),
                ] {
                    if let Some(v) = v {
                        fields.push((k.to_string(), v.clone()));
                    }
                }
            }
        }
        out.push(Approval {
            study: name.clone(),
            fields,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const TEXT: &str = r#"
[studies.trial]
destination = "folder:/x"
project = "TRIAL"
profile = "ps3.15-basic"
profile_sha256 = "aa11000000000000000000000000000000000000000000000000000000000000"
approved_at = "2026-12-01T09:00:00Z"
approver = "Dr Coordinator"

[studies.trial.linkage]
acknowledged = true
reason = "new UID root"

[studies.other]
project = "OTHER"
"#;

    #[test]
    fn the_pin_comes_first_and_new_approval_keys_show_as_written() {
        // the parsed configuration knows only the keys of its version; the text has them all
        let known = TEXT
            .lines()
            .filter(|l| !l.starts_with("approver") && !l.starts_with("acknowledged"))
            .filter(|l| !l.starts_with("reason") && !l.contains(".linkage]"))
            .collect::<Vec<_>>()
            .join("\n");
        let cfg = crate::config::parse(&known, Path::new("deposit.toml")).expect("config");
        let all = approvals(Some(TEXT), &cfg, None);
        assert_eq!(all.len(), 2);
        let other = all.iter().find(|a| a.study == "other").expect("other");
        assert!(!other.approved());
        assert!(other.fields.is_empty());
        let t = all.iter().find(|a| a.study == "trial").expect("trial");
        assert!(t.approved());
        let keys: Vec<&str> = t.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "profile",
                "profile_sha256",
                "approved_at",
                "approver",
                "linkage.acknowledged",
                "linkage.reason"
            ]
        );
        assert_eq!(t.get("approver"), Some("Dr Coordinator"));
        assert_eq!(t.get("linkage.acknowledged"), Some("true"));
        // settings are not approvals
        assert!(t.get("destination").is_none() && t.get("project").is_none());
        assert_eq!(approvals(Some(TEXT), &cfg, Some("trial")).len(), 1);
    }
}
