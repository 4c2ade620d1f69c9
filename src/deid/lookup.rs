//! Lookup tables: original → pseudonym, from a CTP LookupTable properties file or a CSV.
//!
//! Properties: `keytype/ORIGINAL = PSEUDONYM` lines (`#`/`!` comments, `\` escapes for `:`, `=`
//! and spaces in keys). CSV: a header row, then `original,pseudonym` rows (key type `ptid`),
//! optionally with a third column `dateinc`.
//!
//! Date offsets: as CTP sites keep them for `@incrementdate(Date, PatientID, dateinc)`, a row
//! `dateinc/ORIGINAL = -1234` gives the days to add to that patient's dates. When a table has
//! any `dateinc` row, the shipped profiles take every patient's offset from it (a patient
//! without one is quarantined) instead of deriving it from the site key.
//! Values are PHI: they appear in no error message, only in the quarantine record of a miss.

use std::collections::HashMap;

use thiserror::Error;

use crate::error::{Classify, ErrorClass};

/// A parsed lookup table: (key type, original) → replacement.
#[derive(Debug, Clone, Default)]
pub struct LookupTable {
    entries: HashMap<(String, String), String>,
}

/// Failures reading a lookup table (line numbers only, never values).
#[derive(Debug, Error)]
pub enum LookupError {
    /// A line could not be understood.
    #[error(
        "lookup table line {line} is not `keytype/ORIGINAL = PSEUDONYM` or `original,pseudonym`"
    )]
    BadLine {
        /// 1-based line number.
        line: usize,
    },
    /// The table has no entries.
    #[error("the lookup table has no entries")]
    Empty,
}

impl Classify for LookupError {
    fn code(&self) -> &'static str {
        match self {
            LookupError::BadLine { .. } => "deid.lookup_bad_line",
            LookupError::Empty => "deid.lookup_empty",
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(n) => out.push(n),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Index of the first unescaped `=` or `:` (the properties key/value separator).
fn separator(line: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '=' | ':' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// Key type of per-patient date offsets (days to add, CTP's sign), keyed by original Patient ID.
pub const DATEINC: &str = "dateinc";

impl LookupTable {
    /// True when any entry has key type `kind`.
    pub fn has_kind(&self, kind: &str) -> bool {
        self.entries.keys().any(|(k, _)| k == kind)
    }

    /// Parses a table, recognising the CSV form by a first line with a comma and no `=`.
    pub fn parse(text: &str) -> Result<Self, LookupError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
            .unwrap_or("");
        let table = if first.contains(',') && !first.contains('=') {
            Self::parse_csv(text)?
        } else {
            Self::parse_properties(text)?
        };
        if table.entries.is_empty() {
            return Err(LookupError::Empty);
        }
        Ok(table)
    }

    fn parse_properties(text: &str) -> Result<Self, LookupError> {
        let mut entries = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let sep = separator(line).ok_or(LookupError::BadLine { line: i + 1 })?;
            let key = unescape(line[..sep].trim());
            let value = unescape(line[sep + 1..].trim());
            let (kind, original) = key
                .split_once('/')
                .ok_or(LookupError::BadLine { line: i + 1 })?;
            entries.insert((kind.to_string(), original.to_string()), value);
        }
        Ok(LookupTable { entries })
    }

    fn parse_csv(text: &str) -> Result<Self, LookupError> {
        let mut entries = HashMap::new();
        let clean = |s: &str| s.trim().trim_matches('"').to_string();
        let header: Vec<String> = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .split(',')
            .map(|h| clean(h).to_ascii_lowercase())
            .collect();
        // A third column holds date offsets when its header says so.
        let with_dateinc = match header.len() {
            2 => false,
            3 if header[2] == DATEINC => true,
            _ => return Err(LookupError::BadLine { line: 1 }),
        };
        let mut seen_header = false;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if !seen_header {
                seen_header = true;
                continue;
            }
            let cols: Vec<String> = line.split(',').map(clean).collect();
            match (cols.as_slice(), with_dateinc) {
                ([orig, pseudo], false) => {
                    entries.insert(("ptid".to_string(), orig.clone()), pseudo.clone());
                }
                ([orig, pseudo, inc], true) => {
                    entries.insert(("ptid".to_string(), orig.clone()), pseudo.clone());
                    if !inc.is_empty() {
                        entries.insert((DATEINC.to_string(), orig.clone()), inc.clone());
                    }
                }
                _ => return Err(LookupError::BadLine { line: i + 1 }),
            }
        }
        Ok(LookupTable { entries })
    }

    /// The replacement for `original` under key type `kind` (e.g. `ptid`).
    pub fn get(&self, kind: &str, original: &str) -> Option<&str> {
        self.entries
            .get(&(kind.to_string(), original.trim().to_string()))
            .map(String::as_str)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ctp_properties() {
        let t = LookupTable::parse("# comment\nptid/12345 = SUBJ-001\nptid/A\\=B: SUBJ-002\n")
            .expect("parse");
        assert_eq!(t.get("ptid", "12345"), Some("SUBJ-001"));
        assert_eq!(t.get("ptid", "A=B"), Some("SUBJ-002"));
        assert_eq!(t.get("ptid", "999"), None);
    }

    #[test]
    fn reads_csv_with_header() {
        let t = LookupTable::parse("original,pseudonym\n12345,SUBJ-001\n\"777\",SUBJ-002\n")
            .expect("parse");
        assert_eq!(t.get("ptid", "12345"), Some("SUBJ-001"));
        assert_eq!(t.get("ptid", "777"), Some("SUBJ-002"));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn csv_with_date_offsets() {
        let t =
            LookupTable::parse("original,pseudonym,dateinc\n12345,SUBJ-001,-400\n777,SUBJ-002,\n")
                .expect("parse");
        assert!(t.has_kind(DATEINC));
        assert_eq!(t.get(DATEINC, "12345"), Some("-400"));
        assert_eq!(t.get(DATEINC, "777"), None);
        assert_eq!(t.get("ptid", "777"), Some("SUBJ-002"));
        assert!(LookupTable::parse("a,b,c\n1,2,3\n").is_err());
        assert!(!LookupTable::parse("original,pseudonym\n1,2\n")
            .expect("p")
            .has_kind(DATEINC));
    }

    #[test]
    fn bad_lines_name_the_line_not_the_value() {
        let e = LookupTable::parse("ptid/1 = A\nSECRETVALUE\n").expect_err("bad");
        assert!(matches!(e, LookupError::BadLine { line: 2 }));
        assert!(!e.to_string().contains("SECRET"));
        assert!(matches!(
            LookupTable::parse("original,pseudonym\n"),
            Err(LookupError::Empty)
        ));
    }
}
