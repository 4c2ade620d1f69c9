//! The site's mask library (`DEPOSIT_HOME/masks/site.toml`, Deposit format): rules drawn in
//! the GUI are saved here with who and when, listed, deleted, counted against the catalog,
//! previewed on a file, exported as a CTP DicomPixelAnonymizer script, and applied
//! automatically by deid, send and quarantine release (after any `--masks` library).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_core::Tag;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::home::Home;
use crate::pixels::{self, MaskLibrary, PreviewInfo, Rect};

/// Header elements a saved rule's signature is built from (keyword, tag): device identity and
/// image geometry — never patient, study or institution values.
pub const SIGNATURE: &[(&str, Tag)] = &[
    ("Manufacturer", Tag(0x0008, 0x0070)),
    ("ManufacturerModelName", Tag(0x0008, 0x1090)),
    ("Modality", Tag(0x0008, 0x0060)),
    ("SOPClassUID", Tag(0x0008, 0x0016)),
    ("ImageType", Tag(0x0008, 0x0008)),
    ("Rows", Tag(0x0028, 0x0010)),
    ("Columns", Tag(0x0028, 0x0011)),
];

/// A rule of the site library as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SiteRule {
    /// Unique name (reported in decisions and previews).
    pub name: String,
    /// Rectangles `[x, y, w, h]` (negative x/y from the right/bottom edge).
    pub regions: Vec<[i64; 4]>,
    /// Exact header matches (keyword → value), all of which must hold.
    #[serde(rename = "match")]
    pub matches: BTreeMap<String, String>,
    /// Free note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who drew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// When (as given by the caller, e.g. RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SiteFile {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    rule: Vec<SiteRule>,
}

/// A rule to save, as the GUI draws it.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewMaskRule {
    /// The instance the rule was drawn on: its header gives the signature.
    pub file: PathBuf,
    /// The rectangles.
    pub regions: Vec<Rect>,
    /// Name (default: built from modality, model and size).
    pub name: Option<String>,
    /// Free note.
    pub note: Option<String>,
    /// Who drew it.
    pub created_by: String,
    /// When (passed in; the engine never reads the clock for this).
    pub created_at: String,
}

/// How much of the catalog a rule matches (counts only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleMatches {
    /// Instances.
    pub instances: u64,
    /// Series.
    pub series: u64,
    /// Studies.
    pub studies: u64,
    /// True when the rule reads elements the catalog does not keep (read as ""): the counts
    /// may then be too low.
    pub approximate: bool,
}

fn io(path: &Path, e: impl std::fmt::Display) -> ApiError {
    ApiError::permanent(
        "masks.site_io",
        format!("site mask library {}: {e}", path.display()),
    )
}

/// Where the site library lives.
pub fn site_path(home: &Home) -> PathBuf {
    home.dir("masks").join("site.toml")
}

fn read_site(home: &Home) -> Result<SiteFile, ApiError> {
    let path = site_path(home);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| io(&path, e.message().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SiteFile::default()),
        Err(e) => Err(io(&path, e)),
    }
}

fn write_site(home: &Home, f: &SiteFile) -> Result<(), ApiError> {
    let path = site_path(home);
    let text = toml::to_string(&SiteFile {
        format: Some("deposit-masks/1".into()),
        rule: f.rule.clone(),
    })
    .map_err(|e| io(&path, e))?;
    // the file must stay loadable as a mask library
    if !f.rule.is_empty() {
        MaskLibrary::parse(&text, "site.toml").map_err(|e| io(&path, e))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(&path, e))?;
    }
    crate::durable::replace(&path, text.as_bytes()).map_err(|e| io(&path, e))
}

/// The site library as a mask library, `None` when it has no rules.
pub fn load_site(home: &Home) -> Result<Option<MaskLibrary>, ApiError> {
    let f = read_site(home)?;
    if f.rule.is_empty() {
        return Ok(None);
    }
    let path = site_path(home);
    MaskLibrary::load(&path).map(Some).map_err(ApiError::from)
}

/// Loads a pixel-mask library file (Deposit format or CTP DicomPixelAnonymizer script).
pub(crate) fn load_masks(path: Option<&Path>) -> Result<Option<MaskLibrary>, ApiError> {
    let Some(path) = path else { return Ok(None) };
    let lib = MaskLibrary::load(path).map_err(ApiError::usage_err)?;
    for w in &lib.warnings {
        tracing::warn!("mask library {}: {w}", path.display());
    }
    Ok(Some(lib))
}

/// The rules of a run: `--masks FILE` (if any) followed by the site library of `home`.
pub fn run_and_site_masks(
    home: &Home,
    masks: Option<&Path>,
) -> Result<Option<MaskLibrary>, ApiError> {
    let run = load_masks(masks)?;
    let site = load_site(home)?;
    Ok(match (run, site) {
        (Some(a), Some(b)) => Some(a.chain(b)),
        (a, b) => a.or(b),
    })
}

/// The signature values of an instance (device and geometry elements only).
pub fn signature_of(file: &Path) -> Result<BTreeMap<String, String>, ApiError> {
    let obj = crate::intake::open_full(file).map_err(|why| {
        ApiError::usage(
            "masks.unreadable",
            format!(
                "{} cannot be read as DICOM: {}",
                file.display(),
                why.sentence()
            ),
        )
    })?;
    if !pixels::has_pixels(&obj) {
        return Err(ApiError::usage(
            "masks.no_pixels",
            format!("{} has no pixel data to mask", file.display()),
        ));
    }
    Ok(SIGNATURE
        .iter()
        .map(|(k, t)| ((*k).to_string(), pixels::apply::header_value(&obj, *t)))
        .collect())
}

fn default_name(sig: &BTreeMap<String, String>, taken: &[SiteRule]) -> String {
    let part = |k: &str| {
        sig.get(k)
            .map(|v| {
                v.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            c.to_ascii_lowercase()
                        } else {
                            '-'
                        }
                    })
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    let mut base = format!(
        "{}-{}-{}x{}",
        part("Modality"),
        part("ManufacturerModelName"),
        part("Columns"),
        part("Rows")
    );
    while base.contains("--") {
        base = base.replace("--", "-");
    }
    let base = base.trim_matches('-').to_string();
    let mut name = base.clone();
    let mut n = 2;
    while taken.iter().any(|r| r.name == name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

fn check_regions(regions: &[Rect]) -> Result<(), ApiError> {
    if regions.is_empty() || regions.iter().any(|r| r.w <= 0 || r.h <= 0) {
        return Err(ApiError::usage(
            "masks.bad_regions",
            "a rule needs at least one rectangle with width and height above 0",
        ));
    }
    Ok(())
}

/// Escapes a literal for a CTP signature expression.
fn ctp_literal(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// One site rule as a CTP DicomPixelAnonymizer signature block. CTP covers rows y..=y+h,
/// so heights are written one less (our loader adds the row back).
pub fn ctp_block(rule: &SiteRule) -> Result<String, ApiError> {
    let mut tests = Vec::new();
    for (k, v) in &rule.matches {
        if v.contains(['{', '}', '\n']) {
            return Err(ApiError::usage(
                "masks.export",
                format!(
                    "rule '{}': the value of {k} cannot be written in a CTP script",
                    rule.name
                ),
            ));
        }
        tests.push(format!("{k}.equalsIgnoreCase(\"{}\")", ctp_literal(v)));
    }
    if tests.is_empty() {
        return Err(ApiError::usage(
            "masks.export",
            format!("rule '{}' has no signature", rule.name),
        ));
    }
    let regions: Vec<String> = rule
        .regions
        .iter()
        .map(|[x, y, w, h]| format!("({x},{y},{w},{})", h - 1))
        .collect();
    let who = match (&rule.created_by, &rule.created_at) {
        (Some(b), Some(a)) => format!(" ({b}, {a})"),
        (Some(b), None) => format!(" ({b})"),
        (None, Some(a)) => format!(" ({a})"),
        (None, None) => String::new(),
    };
    // the heading must not hold parentheses or braces: the loader reads text between blocks
    let heading: String = format!("Deposit rule {}{who}", rule.name)
        .chars()
        .map(|c| if "(){}".contains(c) { ' ' } else { c })
        .collect();
    Ok(format!(
        "{heading}\n  {{ {} }}\n  {}\n",
        tests.join("\n    * "),
        regions.join(" ")
    ))
}

/// Catalog value for a signature tag; `None` for elements the catalog does not keep.
fn catalog_value(row: &CatalogRow, tag: Tag) -> Option<String> {
    Some(match tag {
        Tag(0x0008, 0x0070) => row.manufacturer.clone(),
        Tag(0x0008, 0x1090) => row.model.clone(),
        Tag(0x0008, 0x0060) => row.modality.clone(),
        Tag(0x0008, 0x0016) | Tag(0x0002, 0x0002) => row.sop_class.clone(),
        Tag(0x0008, 0x0008) => row.image_type.clone(),
        Tag(0x0028, 0x0010) => row.rows.map(|v| v.to_string()).unwrap_or_default(),
        Tag(0x0028, 0x0011) => row.columns.map(|v| v.to_string()).unwrap_or_default(),
        Tag(0x0028, 0x0008) => row.frames.map(|v| v.to_string()).unwrap_or_default(),
        Tag(0x0028, 0x0301) => row.burned_in.clone(),
        Tag(0x0002, 0x0010) => row.transfer_syntax.clone(),
        _ => return None,
    })
}

struct CatalogRow {
    series: i64,
    study: i64,
    manufacturer: String,
    model: String,
    modality: String,
    sop_class: String,
    image_type: String,
    rows: Option<i64>,
    columns: Option<i64>,
    frames: Option<i64>,
    burned_in: String,
    transfer_syntax: String,
}

impl super::Session {
    /// The site library's rules, in order (first match wins).
    pub fn mask_rules(&self) -> Result<Vec<SiteRule>, ApiError> {
        Ok(read_site(&self.home)?.rule)
    }

    /// Saves a rule drawn on `req.file` into the site library (appended: earlier rules still
    /// win). Refused when a rule with the same name or the same signature exists.
    pub fn save_mask_rule(&self, req: &NewMaskRule) -> Result<SiteRule, ApiError> {
        check_regions(&req.regions)?;
        let sig = signature_of(&req.file)?;
        let mut f = read_site(&self.home)?;
        if let Some(same) = f.rule.iter().find(|r| r.matches == sig) {
            return Err(ApiError::usage(
                "masks.duplicate_signature",
                format!(
                    "rule '{}' already covers images like this one; delete it first to replace it",
                    same.name
                ),
            ));
        }
        let name = match &req.name {
            Some(n) if n.trim().is_empty() => {
                return Err(ApiError::usage("masks.bad_name", "the rule name is empty"))
            }
            Some(n) => n.trim().to_string(),
            None => default_name(&sig, &f.rule),
        };
        if f.rule.iter().any(|r| r.name == name) {
            return Err(ApiError::usage(
                "masks.duplicate_name",
                format!("a rule named '{name}' exists already"),
            ));
        }
        let rule = SiteRule {
            name,
            regions: req.regions.iter().map(|r| [r.x, r.y, r.w, r.h]).collect(),
            matches: sig,
            note: req.note.clone(),
            created_by: Some(req.created_by.clone()),
            created_at: Some(req.created_at.clone()),
        };
        f.rule.push(rule.clone());
        write_site(&self.home, &f)?;
        Ok(rule)
    }

    /// Deletes a rule; `false` when there was none of that name.
    pub fn delete_mask_rule(&self, name: &str) -> Result<bool, ApiError> {
        let mut f = read_site(&self.home)?;
        let before = f.rule.len();
        f.rule.retain(|r| r.name != name);
        if f.rule.len() == before {
            return Ok(false);
        }
        write_site(&self.home, &f)?;
        Ok(true)
    }

    /// How many catalogued instances, series and studies a site rule matches, when it is tried
    /// on its own (earlier rules are not considered).
    pub fn mask_rule_matches(&self, name: &str) -> Result<RuleMatches, ApiError> {
        let f = read_site(&self.home)?;
        let Some(rule) = f.rule.iter().find(|r| r.name == name) else {
            return Err(ApiError::usage(
                "masks.no_such_rule",
                format!("no rule named '{name}'"),
            ));
        };
        let text = toml::to_string(&SiteFile {
            format: None,
            rule: vec![rule.clone()],
        })
        .map_err(|e| io(&site_path(&self.home), e))?;
        let lib =
            MaskLibrary::parse(&text, "site.toml").map_err(|e| io(&site_path(&self.home), e))?;
        let cat = |e: rusqlite::Error| {
            ApiError::transient("catalog.query", format!("cannot read the catalog: {e}"))
        };
        let mut stmt = self
            .catalog
            .conn()
            .prepare(
                "SELECT s.id, s.study_ref, i.manufacturer, i.model, s.modality, i.sop_class_uid,
                        i.image_type, i.rows, i.columns, i.frames, i.burned_in, i.transfer_syntax
                 FROM instances i JOIN series s ON s.id = i.series_ref",
            )
            .map_err(cat)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(CatalogRow {
                    series: r.get(0)?,
                    study: r.get(1)?,
                    manufacturer: r.get(2)?,
                    model: r.get(3)?,
                    modality: r.get(4)?,
                    sop_class: r.get(5)?,
                    image_type: r.get(6)?,
                    rows: r.get(7)?,
                    columns: r.get(8)?,
                    frames: r.get(9)?,
                    burned_in: r.get(10)?,
                    transfer_syntax: r.get(11)?,
                })
            })
            .map_err(cat)?;
        let mut out = RuleMatches {
            instances: 0,
            series: 0,
            studies: 0,
            approximate: false,
        };
        let (mut series, mut studies) = (
            std::collections::BTreeSet::new(),
            std::collections::BTreeSet::new(),
        );
        let approximate = std::cell::Cell::new(false);
        for row in rows {
            let row = row.map_err(cat)?;
            let value = |t: Tag| {
                catalog_value(&row, t).unwrap_or_else(|| {
                    approximate.set(true);
                    String::new()
                })
            };
            if lib.find(&value).is_some() {
                out.instances += 1;
                series.insert(row.series);
                studies.insert(row.study);
            }
        }
        out.series = series.len() as u64;
        out.studies = studies.len() as u64;
        out.approximate = approximate.get();
        Ok(out)
    }

    /// The site library (or the named rules of it) as a CTP DicomPixelAnonymizer script.
    pub fn export_mask_rules(&self, names: &[String]) -> Result<String, ApiError> {
        let f = read_site(&self.home)?;
        for n in names {
            if !f.rule.iter().any(|r| &r.name == n) {
                return Err(ApiError::usage(
                    "masks.no_such_rule",
                    format!("no rule named '{n}'"),
                ));
            }
        }
        let mut out = String::from(
            "Exported from Deposit's site mask library: signatures in order, first match wins\n\n",
        );
        for r in f
            .rule
            .iter()
            .filter(|r| names.is_empty() || names.contains(&r.name))
        {
            out.push_str(&ctp_block(r)?);
            out.push('\n');
        }
        Ok(out)
    }
}

/// Renders frame `frame` of `file` masked by candidate `regions` (whatever its header), as PNG.
pub fn preview_candidate(
    file: &Path,
    frame: u32,
    regions: &[Rect],
) -> Result<(Vec<u8>, PreviewInfo), ApiError> {
    check_regions(regions)?;
    let (rendered, info) = pixels::preview_regions(file, frame, regions, None)?;
    let png = pixels::render::to_png(&rendered)?;
    Ok((png, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> SiteRule {
        SiteRule {
            name: "us-sono5-640x480".into(),
            regions: vec![[0, 0, 640, 48], [-160, -24, 160, 1]],
            matches: [
                ("Manufacturer", "ACME \"Medical\""),
                ("ImageType", "ORIGINAL\\PRIMARY"),
                ("Rows", "480"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            note: None,
            created_by: Some("j.smith".into()),
            created_at: Some("2026-11-25T10:00:00Z".into()),
        }
    }

    #[test]
    fn ctp_export_reloads_to_the_same_regions_and_signature() {
        let text = ctp_block(&rule()).expect("exports");
        let lib = MaskLibrary::parse(&text, "x").expect("reloads");
        assert_eq!(lib.format, "ctp");
        assert_eq!(lib.rules.len(), 1, "{text}");
        assert!(lib.warnings.is_empty(), "{:?}\n{text}", lib.warnings);
        assert_eq!(
            lib.rules[0].regions,
            vec![
                Rect {
                    x: 0,
                    y: 0,
                    w: 640,
                    h: 48
                },
                Rect {
                    x: -160,
                    y: -24,
                    w: 160,
                    h: 1
                }
            ]
        );
        let hdr = |t: Tag| match t {
            Tag(0x0008, 0x0070) => "acme \"medical\"".to_string(),
            Tag(0x0008, 0x0008) => "ORIGINAL\\PRIMARY".to_string(),
            Tag(0x0028, 0x0010) => "480".to_string(),
            _ => String::new(),
        };
        assert!(lib.find(&hdr).is_some());
        let other = |t: Tag| {
            if t == Tag(0x0028, 0x0010) {
                "481".into()
            } else {
                hdr(t)
            }
        };
        assert!(lib.find(&other).is_none());
    }

    #[test]
    fn default_names_are_unique_and_plain() {
        let sig: BTreeMap<String, String> = [
            ("Modality", "US"),
            ("ManufacturerModelName", "Sono 5 (v2)"),
            ("Columns", "640"),
            ("Rows", "480"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let a = default_name(&sig, &[]);
        assert_eq!(a, "us-sono-5-v2-640x480");
        let mut taken = rule();
        taken.name = a.clone();
        assert_eq!(default_name(&sig, &[taken]), "us-sono-5-v2-640x480-2");
    }
}
