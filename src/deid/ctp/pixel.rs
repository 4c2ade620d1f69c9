//! CTP DicomPixelAnonymizer scripts (docs/protocols.md, "Pixel anonymizer scripts"): signatures `{ filter }` each followed by regions
//! `(x, y, w, h)`. Loading and matching only (first match wins); masking is the pixels module's.

use dicom_object::InMemDicomObject;

use super::filter::Filter;
use super::CtpError;

/// One region: top-left and size in pixels (negative x/y count from the right/bottom).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Left (negative: from the right edge).
    pub x: i64,
    /// Top (negative: from the bottom edge).
    pub y: i64,
    /// Width.
    pub w: i64,
    /// Height.
    pub h: i64,
}

/// A signature and its regions.
#[derive(Debug, Clone)]
pub struct Signature {
    /// Line of the opening `{`.
    pub line: usize,
    /// The filter text (for logs: it names attributes, not values of a dataset).
    pub text: String,
    /// The parsed filter.
    pub filter: Filter,
    /// Regions to mask.
    pub regions: Vec<Region>,
}

/// A pixel anonymizer script.
#[derive(Debug, Clone, Default)]
pub struct PixelScript {
    /// Signatures in file order.
    pub signatures: Vec<Signature>,
    /// Parenthesised texts that were not regions (line numbers), skipped as CTP does.
    pub skipped: Vec<usize>,
}

impl PixelScript {
    /// Parses the free-text format.
    pub fn parse(text: &str) -> Result<PixelScript, CtpError> {
        let mut out = PixelScript::default();
        let line_at = |i: usize| text[..i].matches('\n').count() + 1;
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let Some(off) = rest.find(['{', '(']) else {
                break;
            };
            let at = i + off;
            if text[at..].starts_with('{') {
                let end = text[at..].find('}').ok_or(CtpError::Syntax {
                    line: line_at(at),
                    message: "a signature '{' is not closed".into(),
                })?;
                let body = &text[at + 1..at + end];
                let filter = Filter::parse(body).map_err(|e| match e {
                    CtpError::Syntax { line, message } => CtpError::Syntax {
                        line: line_at(at) + line - 1,
                        message,
                    },
                })?;
                out.signatures.push(Signature {
                    line: line_at(at),
                    text: body.trim().to_string(),
                    filter,
                    regions: Vec::new(),
                });
                i = at + end + 1;
            } else {
                let Some(end) = text[at..].find(')') else {
                    out.skipped.push(line_at(at));
                    break;
                };
                let nums: Vec<Option<i64>> = text[at + 1..at + end]
                    .split(',')
                    .map(|n| n.trim().parse().ok())
                    .collect();
                match (nums.as_slice(), out.signatures.last_mut()) {
                    ([Some(x), Some(y), Some(w), Some(h)], Some(sig)) => sig.regions.push(Region {
                        x: *x,
                        y: *y,
                        w: *w,
                        h: *h,
                    }),
                    _ => out.skipped.push(line_at(at)),
                }
                i = at + end + 1;
            }
        }
        Ok(out)
    }

    /// The first signature matching `ds`.
    pub fn first_match(&self, ds: &InMemDicomObject) -> Option<&Signature> {
        self.signatures.iter().find(|s| s.filter.matches(ds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_regions_and_skips() {
        let s = PixelScript::parse(
            "Heading (a note)\n{ Modality.equals(\"US\") }\n (0,0,10,20) (-5, 1, 2, 3)\n{ true. }\n(1,2)\n",
        )
        .expect("parse");
        assert_eq!(s.signatures.len(), 2);
        assert_eq!(s.signatures[0].regions.len(), 2);
        assert_eq!(s.signatures[0].regions[1].x, -5);
        assert_eq!(s.skipped.len(), 2);
        let ds = InMemDicomObject::new_empty();
        assert_eq!(s.first_match(&ds).map(|m| m.line), Some(4));
        assert!(PixelScript::parse("{ Modality.equals(\"US\") ").is_err());
    }
}
