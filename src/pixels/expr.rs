//! CTP signature expressions (`Manufacturer.containsIgnoreCase("GE") * Rows.equals("512")`):
//! parsing and evaluation against header values, as CTP's DicomFilter language defines them.

use dicom_core::Tag;
use dicom_dictionary_std::StandardDataDictionary;

/// Where an operand's value comes from: a tag (missing elements read as "").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A resolved tag.
    Tag(Tag),
    /// A keyword no dictionary knows: always reads as "".
    Unknown(String),
}

/// A comparison method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exact equality.
    Equals,
    /// Equality ignoring ASCII case.
    EqualsIgnoreCase,
    /// Whole-value regular expression.
    Matches,
    /// Substring.
    Contains,
    /// Substring ignoring case.
    ContainsIgnoreCase,
    /// Prefix.
    StartsWith,
    /// Prefix ignoring case.
    StartsWithIgnoreCase,
    /// Suffix.
    EndsWith,
    /// Suffix ignoring case.
    EndsWithIgnoreCase,
    /// Numeric less-than (parse failure: false).
    IsLessThan,
    /// Numeric greater-than (parse failure: false).
    IsGreaterThan,
}

impl Method {
    fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "equals" => Method::Equals,
            "equalsIgnoreCase" => Method::EqualsIgnoreCase,
            "matches" => Method::Matches,
            "contains" => Method::Contains,
            "containsIgnoreCase" => Method::ContainsIgnoreCase,
            "startsWith" => Method::StartsWith,
            "startsWithIgnoreCase" => Method::StartsWithIgnoreCase,
            "endsWith" => Method::EndsWith,
            "endsWithIgnoreCase" => Method::EndsWithIgnoreCase,
            "isLessThan" => Method::IsLessThan,
            "isGreaterThan" => Method::IsGreaterThan,
            _ => return None,
        })
    }
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// `true.` / `false.`
    Const(bool),
    /// `Field.method("literal")`.
    Test {
        /// The element.
        field: Field,
        /// The method.
        method: Method,
        /// The literal.
        literal: String,
        /// Compiled regex for `matches` (None when the pattern is invalid: never matches).
        regex: Option<regex::Regex>,
    },
    /// `!e`
    Not(Box<Expr>),
    /// `a * b`
    And(Box<Expr>, Box<Expr>),
    /// `a + b`
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Not,
    And,
    Or,
    Open,
    Close,
    Dot,
    Word(String),
    Bracket(String),
    Str(String),
}

fn tokens(src: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '!' => (out.push(Tok::Not), i += 1).1,
            '*' => (out.push(Tok::And), i += 1).1,
            '+' => (out.push(Tok::Or), i += 1).1,
            '(' => (out.push(Tok::Open), i += 1).1,
            ')' => (out.push(Tok::Close), i += 1).1,
            '.' => (out.push(Tok::Dot), i += 1).1,
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .ok_or("unclosed [")?;
                out.push(Tok::Bracket(chars[i + 1..i + end].iter().collect()));
                i += end + 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unclosed string".into()),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(out)
}

fn field_of(name: &str, bracket: bool) -> Result<Field, String> {
    let hex: String = name
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '(' | ')'))
        .collect();
    if (bracket || name.contains(','))
        && hex.len() == 8
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        let g = u16::from_str_radix(&hex[..4], 16).map_err(|e| e.to_string())?;
        let e = u16::from_str_radix(&hex[4..], 16).map_err(|e| e.to_string())?;
        return Ok(Field::Tag(Tag(g, e)));
    }
    if bracket {
        return Err(format!("bad tag [{name}]"));
    }
    use dicom_core::dictionary::DataDictionary;
    Ok(match StandardDataDictionary.by_name(name) {
        Some(entry) => Field::Tag(entry.tag.inner()),
        None => Field::Unknown(name.to_string()),
    })
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            other => Err(format!("expected {t:?}, found {other:?}")),
        }
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Not) => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Tok::Open) => {
                let e = self.or()?;
                self.expect(Tok::Close)?;
                Ok(e)
            }
            Some(Tok::Word(w))
                if (w == "true" || w == "false") && self.peek() == Some(&Tok::Dot) =>
            {
                self.pos += 1;
                Ok(Expr::Const(w == "true"))
            }
            Some(Tok::Word(w)) => self.test(field_of(&w, false)?),
            Some(Tok::Bracket(b)) => self.test(field_of(&b, true)?),
            other => Err(format!("expected an operand, found {other:?}")),
        }
    }
    fn test(&mut self, field: Field) -> Result<Expr, String> {
        self.expect(Tok::Dot)?;
        let method = match self.next() {
            Some(Tok::Word(m)) => Method::parse(&m).ok_or(format!("unknown method '{m}'"))?,
            other => return Err(format!("expected a method, found {other:?}")),
        };
        self.expect(Tok::Open)?;
        let literal = match self.next() {
            Some(Tok::Str(s)) => s,
            other => return Err(format!("expected a string literal, found {other:?}")),
        };
        self.expect(Tok::Close)?;
        let regex = (method == Method::Matches)
            .then(|| regex::Regex::new(&format!("^(?s:{literal})$")).ok())
            .flatten();
        Ok(Expr::Test {
            field,
            method,
            literal,
            regex,
        })
    }
}

/// Parses an expression; an error names what was wrong (no header values involved).
pub fn parse(src: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: tokens(src)?,
        pos: 0,
    };
    if p.toks.is_empty() {
        return Err("empty expression".into());
    }
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {:?}", p.toks[p.pos]));
    }
    Ok(e)
}

fn num(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

impl Expr {
    /// Evaluates against `value(tag)` (the element's text, "" when missing).
    pub fn eval(&self, value: &dyn Fn(Tag) -> String) -> bool {
        match self {
            Expr::Const(b) => *b,
            Expr::Not(e) => !e.eval(value),
            Expr::And(a, b) => a.eval(value) && b.eval(value),
            Expr::Or(a, b) => a.eval(value) || b.eval(value),
            Expr::Test {
                field,
                method,
                literal,
                regex,
            } => {
                let v = match field {
                    Field::Tag(t) => value(*t),
                    Field::Unknown(_) => String::new(),
                };
                let (lv, ll) = (v.to_lowercase(), literal.to_lowercase());
                match method {
                    Method::Equals => v == *literal,
                    Method::EqualsIgnoreCase => lv == ll,
                    Method::Matches => regex.as_ref().is_some_and(|r| r.is_match(&v)),
                    Method::Contains => v.contains(literal.as_str()),
                    Method::ContainsIgnoreCase => lv.contains(&ll),
                    Method::StartsWith => v.starts_with(literal.as_str()),
                    Method::StartsWithIgnoreCase => lv.starts_with(&ll),
                    Method::EndsWith => v.ends_with(literal.as_str()),
                    Method::EndsWithIgnoreCase => lv.ends_with(&ll),
                    Method::IsLessThan => {
                        matches!((num(&v), num(literal)), (Some(a), Some(b)) if a < b)
                    }
                    Method::IsGreaterThan => {
                        matches!((num(&v), num(literal)), (Some(a), Some(b)) if a > b)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(tag: Tag) -> String {
        match tag {
            Tag(0x0008, 0x0070) => "GE MEDICAL SYSTEMS".into(),
            Tag(0x0028, 0x0010) => "512".into(),
            Tag(0x0008, 0x0060) => "CT".into(),
            _ => String::new(),
        }
    }

    #[test]
    fn evaluates_ctp_operators_and_methods() {
        let t = |s: &str| parse(s).expect("parses").eval(&ds);
        assert!(t(
            r#"Manufacturer.containsIgnoreCase("ge medical") * Rows.equals("512")"#
        ));
        assert!(!t(r#"Manufacturer.equals("ge medical systems")"#));
        assert!(t(r#"Manufacturer.equalsIgnoreCase("ge medical systems")"#));
        assert!(t(r#"[0008,0060].equals("CT") * !Modality.equals("MR")"#));
        assert!(t(r#"Modality.equals("MR") + Rows.isGreaterThan("500")"#));
        assert!(!t(r#"Modality.equals("MR") + Rows.isLessThan("500")"#));
        assert!(t(
            r#"( Modality.equals("MR") + Modality.equals("CT") ) * true."#
        ));
        assert!(t(r#"Manufacturer.matches("GE.*S") // a comment"#));
        assert!(!t(r#"Manufacturer.matches("GE")"#));
        assert!(
            t(r#"SeriesDescription.equals("")"#),
            "missing reads as empty"
        );
        assert!(!t(r#"NoSuchKeyword.equals("x")"#));
        assert!(!t(r#"Rows.isLessThan("abc")"#));
    }

    #[test]
    fn rejects_broken_expressions() {
        for bad in [
            "",
            "Rows.equals(\"5\"",
            "Rows.frobnicate(\"5\")",
            "Rows.equals(5)",
            "[zz,00].equals(\"\")",
            "Rows.equals(\"1\") Rows",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
