//! Mask libraries: rules (a header signature + rectangles), loaded from Deposit's TOML format or
//! a CTP DicomPixelAnonymizer script (recognised by content); the first matching rule wins.

use std::path::Path;

use dicom_core::Tag;
use serde::Deserialize;

use super::expr::{self, Expr};
use super::PixelError;

/// A rectangle in image pixels. Negative `x`/`y` count from the right/bottom edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Rect {
    /// Left edge (negative: from the right edge).
    pub x: i64,
    /// Top edge (negative: from the bottom edge).
    pub y: i64,
    /// Width.
    pub w: i64,
    /// Height.
    pub h: i64,
}

impl Rect {
    /// The rectangle clipped to a `cols` x `rows` image as (x0, y0, x1, y1), end-exclusive;
    /// `None` when nothing of it is inside.
    pub fn resolve(&self, cols: u32, rows: u32) -> Option<(u32, u32, u32, u32)> {
        let (cols, rows) = (i64::from(cols), i64::from(rows));
        let x = if self.x < 0 { cols + self.x } else { self.x };
        let y = if self.y < 0 { rows + self.y } else { self.y };
        let (x0, y0) = (x.max(0), y.max(0));
        let (x1, y1) = (
            x.saturating_add(self.w).min(cols),
            y.saturating_add(self.h).min(rows),
        );
        (x1 > x0 && y1 > y0).then_some((x0 as u32, y0 as u32, x1 as u32, y1 as u32))
    }
}

/// One rule: when the signature matches, every region is masked.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name (Deposit format) or `FILE:LINE` of the signature (CTP scripts).
    pub name: String,
    /// The signature; `None` when it did not parse (CTP: a broken signature never matches).
    signature: Option<Expr>,
    /// Exact header matches (Deposit format), all of which must hold.
    exact: Vec<(Tag, String)>,
    /// The regions.
    pub regions: Vec<Rect>,
}

/// A loaded mask library.
#[derive(Debug, Clone, Default)]
pub struct MaskLibrary {
    /// Rules in file order.
    pub rules: Vec<Rule>,
    /// Load warnings (skipped regions, broken signatures), without header values.
    pub warnings: Vec<String>,
    /// `deposit` or `ctp`.
    pub format: &'static str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositFile {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    rule: Vec<DepositRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositRule {
    name: String,
    regions: Vec<[i64; 4]>,
    #[serde(default, rename = "match")]
    matches: toml::Table,
    #[serde(default, rename = "where")]
    where_: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    author: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    created: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    created_by: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    created_at: Option<String>,
}

impl Rule {
    /// Whether the signature holds for these header values.
    pub fn matches(&self, value: &dyn Fn(Tag) -> String) -> bool {
        let exact_ok = self.exact.iter().all(|(tag, want)| {
            let v = value(*tag).to_lowercase();
            v == *want || v.split('\\').any(|part| part.trim() == want)
        });
        exact_ok
            && match &self.signature {
                Some(e) => expr::eval(e, value),
                None => true,
            }
    }
}

impl MaskLibrary {
    /// Reads a library file (format recognised by content).
    pub fn load(path: &Path) -> Result<MaskLibrary, PixelError> {
        let text = std::fs::read_to_string(path).map_err(|e| PixelError::MaskFile {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        let label = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "masks".into());
        Self::parse(&text, &label).map_err(|why| PixelError::MaskFile {
            path: path.display().to_string(),
            why,
        })
    }

    /// Parses library text; `label` names CTP rules (`label:LINE`).
    pub fn parse(text: &str, label: &str) -> Result<MaskLibrary, String> {
        match toml::from_str::<DepositFile>(text) {
            Ok(f) => Self::from_deposit(f),
            Err(toml_err) => {
                if text.contains('{') && text.contains('}') {
                    Self::from_ctp(text, label)
                } else {
                    Err(format!(
                        "neither a Deposit mask library nor a CTP DicomPixelAnonymizer script: {}",
                        toml_err.message()
                    ))
                }
            }
        }
    }

    fn from_deposit(f: DepositFile) -> Result<MaskLibrary, String> {
        if let Some(fmt) = &f.format {
            if fmt != "deposit-masks/1" {
                return Err(format!("unknown format '{fmt}' (expected deposit-masks/1)"));
            }
        }
        if f.rule.is_empty() {
            return Err("no [[rule]] in the mask library".into());
        }
        let mut rules = Vec::new();
        for r in f.rule {
            let mut exact = Vec::new();
            for (key, v) in &r.matches {
                let tag = match expr::parse(&format!("{key}.equals(\"\")")) {
                    Ok(Expr::Test {
                        operand: expr::Field::Tag(t),
                        ..
                    }) => t,
                    _ => return Err(format!("rule '{}': unknown match key '{key}'", r.name)),
                };
                let want = match v {
                    toml::Value::String(s) => s.trim().to_lowercase(),
                    toml::Value::Integer(i) => i.to_string(),
                    _ => {
                        return Err(format!(
                            "rule '{}': match value of '{key}' must be text or a number",
                            r.name
                        ))
                    }
                };
                exact.push((tag, want));
            }
            let signature = match &r.where_ {
                Some(src) => {
                    Some(expr::parse(src).map_err(|e| format!("rule '{}': where: {e}", r.name))?)
                }
                None => None,
            };
            if exact.is_empty() && signature.is_none() {
                return Err(format!(
                    "rule '{}' has neither match nor where (it would match every image)",
                    r.name
                ));
            }
            let regions: Vec<Rect> = r
                .regions
                .iter()
                .map(|&[x, y, w, h]| Rect { x, y, w, h })
                .collect();
            if regions.is_empty() || regions.iter().any(|g| g.w <= 0 || g.h <= 0) {
                return Err(format!(
                    "rule '{}': regions must be non-empty [x, y, w, h] with w, h > 0",
                    r.name
                ));
            }
            rules.push(Rule {
                name: r.name,
                signature,
                exact,
                regions,
            });
        }
        Ok(MaskLibrary {
            rules,
            warnings: Vec::new(),
            format: "deposit",
        })
    }

    fn from_ctp(text: &str, label: &str) -> Result<MaskLibrary, String> {
        let mut lib = MaskLibrary {
            format: "ctp",
            ..Default::default()
        };
        let line_of = |pos: usize| text[..pos].matches('\n').count() + 1;
        let mut pos = 0;
        while let Some(open) = text[pos..].find('{').map(|i| pos + i) {
            let close = text[open..]
                .find('}')
                .map(|i| open + i)
                .ok_or_else(|| format!("unclosed '{{' at line {}", line_of(open)))?;
            let src = &text[open + 1..close];
            let end = text[close..]
                .find('{')
                .map(|i| close + i)
                .unwrap_or(text.len());
            let name = format!("{label}:{}", line_of(open));
            let signature = match expr::parse(src) {
                Ok(e) => Some(e),
                Err(e) => {
                    lib.warnings.push(format!(
                        "{name}: signature does not parse ({e}); never matches"
                    ));
                    None
                }
            };
            let mut regions = Vec::new();
            let mut rest = &text[close + 1..end];
            while let Some(a) = rest.find('(') {
                let Some(b) = rest[a..].find(')').map(|i| a + i) else {
                    break;
                };
                let nums: Vec<Option<i64>> = rest[a + 1..b]
                    .split(',')
                    .map(|s| s.trim().parse::<i64>().ok())
                    .collect();
                match nums.as_slice() {
                    // h = 0 is one row in CTP (y..=y+h)
                    [Some(x), Some(y), Some(w), Some(h)] if *w > 0 && *h >= 0 => {
                        // CTP covers rows y..=y+h (one extra row): kept for compatibility.
                        regions.push(Rect {
                            x: *x,
                            y: *y,
                            w: *w,
                            h: *h + 1,
                        })
                    }
                    _ => lib.warnings.push(format!(
                        "{name}: parenthesised text is not a region; skipped"
                    )),
                }
                rest = &rest[b + 1..];
            }
            lib.rules.push(Rule {
                name,
                signature: Some(signature.unwrap_or(Expr::Const(false))),
                exact: Vec::new(),
                regions,
            });
            pos = end;
        }
        if lib.rules.is_empty() {
            return Err("no { signature } found in the CTP script".into());
        }
        Ok(lib)
    }

    /// This library's rules followed by `next`'s (first match still wins).
    pub fn chain(mut self, next: MaskLibrary) -> MaskLibrary {
        self.rules.extend(next.rules);
        self.warnings.extend(next.warnings);
        self
    }

    /// The first rule whose signature holds, if any.
    pub fn find(&self, value: &dyn Fn(Tag) -> String) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(tag: Tag) -> String {
        match tag {
            Tag(0x0008, 0x0070) => "ACME Medical".into(),
            Tag(0x0028, 0x0010) => "480".into(),
            Tag(0x0008, 0x0008) => "DERIVED\\PRIMARY\\SCREEN SAVE".into(),
            _ => String::new(),
        }
    }

    #[test]
    fn deposit_format_matches_first_rule() {
        let lib = MaskLibrary::parse(
            r#"
format = "deposit-masks/1"
[[rule]]
name = "other"
regions = [[0, 0, 10, 10]]
match = { Manufacturer = "Other" }
[[rule]]
name = "acme-480"
regions = [[0, 0, 640, 40], [-100, -20, 100, 20]]
match = { Manufacturer = "acme medical", Rows = 480, ImageType = "SCREEN SAVE" }
[[rule]]
name = "acme-any"
regions = [[0, 0, 1, 1]]
where = 'Manufacturer.startsWith("ACME")'
"#,
            "t",
        )
        .expect("loads");
        assert_eq!(lib.format, "deposit");
        let r = lib.find(&hdr).expect("a rule matches");
        assert_eq!(r.name, "acme-480");
        assert_eq!(
            r.regions[1],
            Rect {
                x: -100,
                y: -20,
                w: 100,
                h: 20
            }
        );
    }

    #[test]
    fn deposit_format_refuses_catch_all_and_bad_keys() {
        let no_sig = "[[rule]]\nname = \"a\"\nregions = [[0,0,1,1]]\n";
        assert!(MaskLibrary::parse(no_sig, "t").is_err());
        let bad_key =
            "[[rule]]\nname = \"a\"\nregions = [[0,0,1,1]]\nmatch = { NotAKeyword = \"x\" }\n";
        assert!(MaskLibrary::parse(bad_key, "t").is_err());
        let bad_region = "[[rule]]\nname = \"a\"\nregions = [[0,0,0,1]]\nmatch = { Rows = 1 }\n";
        assert!(MaskLibrary::parse(bad_region, "t").is_err());
    }

    #[test]
    fn ctp_script_regions_and_warnings() {
        let lib = MaskLibrary::parse(
            "Heading (not a region)\n { Manufacturer.equals(\"X\") }\n (0,0,10,10)\n\
             Vendor (notes)\n { Manufacturer.containsIgnoreCase(\"acme\") * Rows.equals(\"480\") }\n\
             (0,0,640,40) (-100,-20,100,20)\n { broken( }\n (1,1,1,1)\n",
            "s.script",
        )
        .expect("loads");
        assert_eq!(lib.format, "ctp");
        assert_eq!(lib.rules.len(), 3);
        let r = lib.find(&hdr).expect("matches");
        assert_eq!(r.name, "s.script:5");
        assert_eq!(
            r.regions,
            vec![
                Rect {
                    x: 0,
                    y: 0,
                    w: 640,
                    h: 41
                },
                Rect {
                    x: -100,
                    y: -20,
                    w: 100,
                    h: 21
                }
            ]
        );
        assert_eq!(lib.warnings.len(), 2, "{:?}", lib.warnings);
    }

    #[test]
    fn rects_resolve_and_clip() {
        let r = |x, y, w, h| Rect { x, y, w, h };
        assert_eq!(r(0, 0, 10, 5).resolve(100, 50), Some((0, 0, 10, 5)));
        assert_eq!(r(-10, -5, 10, 5).resolve(100, 50), Some((90, 45, 100, 50)));
        assert_eq!(r(95, 0, 10, 5).resolve(100, 50), Some((95, 0, 100, 5)));
        assert_eq!(r(200, 0, 10, 5).resolve(100, 50), None);
        assert_eq!(r(-200, 0, 150, 5).resolve(100, 50), Some((0, 0, 50, 5)));
        assert_eq!(r(-300, 0, 150, 5).resolve(100, 50), None);
    }
}
