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
    /// The entry to add is there already.
    #[error("the lookup table already has an entry of key type '{kind}' for this value")]
    Exists {
        /// Key type.
        kind: String,
    },
    /// The entry to add cannot be written (why, without the value).
    #[error("this lookup table entry cannot be added: {why}")]
    BadEntry {
        /// Why.
        why: &'static str,
    },
}

impl Classify for LookupError {
    fn code(&self) -> &'static str {
        match self {
            LookupError::BadLine { .. } => "deid.lookup_bad_line",
            LookupError::Empty => "deid.lookup_empty",
            LookupError::Exists { .. } => "deid.lookup_exists",
            LookupError::BadEntry { .. } => "deid.lookup_bad_entry",
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

/// Escapes a properties key (`=`, `:`, spaces, `#`, `!` and backslashes).
fn escape_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '=' | ':' | ' ' | '#' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// True when the table's first meaningful line makes it a CSV table (as [`LookupTable::parse`]).
fn is_csv(text: &str) -> bool {
    let first = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .unwrap_or("");
    first.contains(',') && !first.contains('=')
}

/// `text` (a lookup table, possibly empty) with one more entry, `kind/original → value`, written
/// in the table's own form: a `kind/ORIGINAL = VALUE` line, or in a CSV table a row (`ptid`) or
/// the third column of the patient's row (`dateinc`). Everything else in the text is kept as it
/// was. Refuses an entry that is already there, a value with a line break, a CSV value with a
/// comma or quote, and a date offset that is not a whole number of days within 100 years.
pub fn with_entry(
    text: &str,
    kind: &str,
    original: &str,
    value: &str,
) -> Result<String, LookupError> {
    let bad = |why| Err(LookupError::BadEntry { why });
    let (original, value) = (original.trim(), value.trim());
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return bad("the key type must be a word such as ptid");
    }
    if original.is_empty() || value.is_empty() {
        return bad("both the original and the replacement are needed");
    }
    if [original, value].iter().any(|v| v.contains(['\n', '\r'])) {
        return bad("a value cannot contain a line break");
    }
    if kind == DATEINC
        && !value
            .trim_start_matches('+')
            .parse::<i64>()
            .is_ok_and(|d| d.abs() <= 36_525)
    {
        return bad("a date offset is a whole number of days within 100 years, such as -120");
    }
    let table = match LookupTable::parse(text) {
        Ok(t) => t,
        Err(LookupError::Empty) => LookupTable::default(),
        Err(e) => return Err(e),
    };
    if table.get(kind, original).is_some() {
        return Err(LookupError::Exists { kind: kind.into() });
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !is_csv(text) {
        out.push_str(&format!(
            "{}/{} = {value}\n",
            escape_key(kind),
            escape_key(original)
        ));
        return Ok(out);
    }
    if [original, value].iter().any(|v| v.contains([',', '"'])) {
        return bad("a CSV lookup table cannot hold a value with a comma or a quote");
    }
    let with_dateinc = table.has_kind(DATEINC)
        || text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .is_some_and(|h| {
                h.to_ascii_lowercase()
                    .replace([' ', '"'], "")
                    .ends_with(",dateinc")
            });
    match kind {
        "ptid" if with_dateinc => out.push_str(&format!("{original},{value},\n")),
        "ptid" => out.push_str(&format!("{original},{value}\n")),
        DATEINC if with_dateinc => {
            // the patient's row gets its third column
            let clean = |s: &str| s.trim().trim_matches('"').to_string();
            let mut found = false;
            let mut header = true;
            let lines: Vec<String> = text
                .lines()
                .map(|line| {
                    let cols: Vec<String> = line.split(',').map(clean).collect();
                    let is_header = header && !line.trim().is_empty();
                    header &= !is_header;
                    if !is_header
                        && !found
                        && cols.len() == 3
                        && cols[0] == original
                        && cols[2].is_empty()
                    {
                        found = true;
                        format!("{},{},{value}", cols[0], cols[1])
                    } else {
                        line.to_string()
                    }
                })
                .collect();
            if !found {
                return bad(
                    "the patient has no row in this CSV lookup table: add the pseudonym first",
                );
            }
            out = lines.join("\n") + "\n";
        }
        _ => return bad(
            "a CSV lookup table holds patient IDs and date offsets only; use a properties table",
        ),
    }
    Ok(out)
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
        let table = if is_csv(text) {
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

    /// Every replacement of key type `kind` (e.g. the `ptid` pseudonyms), in no order.
    pub fn replacements<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |((k, _), _)| k == kind)
            .map(|(_, v)| v.as_str())
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
    fn adds_entries_in_the_tables_own_form() {
        // properties: a line, keys escaped, the rest kept
        let t = with_entry("# site table\nptid/1 = A", "ptid", "X=Y 2", "SUBJ-9").expect("add");
        assert_eq!(t, "# site table\nptid/1 = A\nptid/X\\=Y\\ 2 = SUBJ-9\n");
        assert_eq!(
            LookupTable::parse(&t).expect("p").get("ptid", "X=Y 2"),
            Some("SUBJ-9")
        );
        let t = with_entry(&t, DATEINC, "1", "-30").expect("dateinc");
        assert_eq!(
            LookupTable::parse(&t).expect("p").get(DATEINC, "1"),
            Some("-30")
        );
        // an empty or new file becomes a properties table
        assert_eq!(
            with_entry("", "acc", "A1", "B1").expect("new"),
            "acc/A1 = B1\n"
        );
        // CSV: a row; with a dateinc column, a row with an empty offset, then the offset
        let t = with_entry("original,pseudonym\n1,S1\n", "ptid", "2", "S2").expect("csv");
        assert_eq!(t, "original,pseudonym\n1,S1\n2,S2\n");
        let t =
            with_entry("original,pseudonym,dateinc\n1,S1,-3\n", "ptid", "2", "S2").expect("csv3");
        assert_eq!(t, "original,pseudonym,dateinc\n1,S1,-3\n2,S2,\n");
        let t = with_entry(&t, DATEINC, "2", "+12").expect("offset");
        assert_eq!(t, "original,pseudonym,dateinc\n1,S1,-3\n2,S2,+12\n");
        assert_eq!(
            LookupTable::parse(&t).expect("p").get(DATEINC, "2"),
            Some("+12")
        );
    }

    #[test]
    fn refuses_entries_that_cannot_be_written_without_naming_values() {
        let csv = "original,pseudonym\n1,S1\n";
        let e = with_entry(csv, "ptid", "1", "OTHER").expect_err("exists");
        assert!(matches!(e, LookupError::Exists { .. }));
        for (kind, orig, value) in [
            ("ptid", "2", "SEC,RET"),
            ("ptid", "2", "SECRET\nptid/3"),
            ("ptid", "", "S"),
            ("acc", "2", "S"),
            (DATEINC, "1", "3"),
            ("pt id", "2", "S"),
        ] {
            let e = with_entry(csv, kind, orig, value).expect_err(value);
            assert!(!e.to_string().contains("SEC"), "{e}");
        }
        assert!(with_entry("ptid/1 = A\n", DATEINC, "1", "9999999").is_err());
        assert!(with_entry("ptid/1 = A\n", DATEINC, "1", "ten").is_err());
        let three = "original,pseudonym,dateinc\n1,S1,\n";
        assert!(
            with_entry(three, DATEINC, "7", "5").is_err(),
            "no row for the patient"
        );
        // a damaged table is not appended to
        assert!(matches!(
            with_entry("ptid/1 = A\nGARBAGE\n", "ptid", "2", "B"),
            Err(LookupError::BadLine { line: 2 })
        ));
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
