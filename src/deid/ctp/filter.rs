//! CTP filter expressions (DicomFilter, `dicomScript`, pixel-anonymizer signatures; §B.5):
//! `Element.method("literal")` operands and `true.`/`false.`, combined with `!`, `*` (and),
//! `+` (or) and parentheses; `//` comments. Missing elements read as "".

use dicom_object::InMemDicomObject;

use super::names::{parse_ref, text_of, Reader};
use super::CtpError;

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `true.` / `false.`
    Const(bool),
    /// `!x`
    Not(Box<Filter>),
    /// `a * b`
    And(Box<Filter>, Box<Filter>),
    /// `a + b`
    Or(Box<Filter>, Box<Filter>),
    /// `Element.method("literal")`
    Test {
        /// Element name as written.
        element: String,
        /// Method name.
        method: Method,
        /// The literal.
        literal: String,
    },
}

/// The comparison methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Method {
    Equals,
    EqualsIgnoreCase,
    Matches,
    Contains,
    ContainsIgnoreCase,
    StartsWith,
    StartsWithIgnoreCase,
    EndsWith,
    EndsWithIgnoreCase,
    IsLessThan,
    IsGreaterThan,
}

impl Method {
    fn parse(s: &str) -> Option<Method> {
        Some(match s {
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

struct P<'a> {
    c: Vec<char>,
    i: usize,
    text: &'a str,
}

impl P<'_> {
    fn line(&self) -> usize {
        self.c[..self.i.min(self.c.len())]
            .iter()
            .filter(|c| **c == '\n')
            .count()
            + 1
    }
    fn err(&self, m: &str) -> CtpError {
        let _ = self.text;
        CtpError::Syntax {
            line: self.line(),
            message: format!("filter expression: {m}"),
        }
    }
    fn ws(&mut self) {
        loop {
            while self.i < self.c.len() && self.c[self.i].is_whitespace() {
                self.i += 1;
            }
            if self.c.get(self.i) == Some(&'/') && self.c.get(self.i + 1) == Some(&'/') {
                while self.i < self.c.len() && self.c[self.i] != '\n' {
                    self.i += 1;
                }
            } else {
                return;
            }
        }
    }
    fn peek(&mut self) -> Option<char> {
        self.ws();
        self.c.get(self.i).copied()
    }
    fn or(&mut self) -> Result<Filter, CtpError> {
        let mut l = self.and()?;
        while self.peek() == Some('+') {
            self.i += 1;
            l = Filter::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Filter, CtpError> {
        let mut l = self.unary()?;
        while self.peek() == Some('*') {
            self.i += 1;
            l = Filter::And(Box::new(l), Box::new(self.unary()?));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Filter, CtpError> {
        match self.peek() {
            Some('!') => {
                self.i += 1;
                Ok(Filter::Not(Box::new(self.unary()?)))
            }
            Some('(') => {
                self.i += 1;
                let e = self.or()?;
                if self.peek() != Some(')') {
                    return Err(self.err("missing ')'"));
                }
                self.i += 1;
                Ok(e)
            }
            Some(_) => self.operand(),
            None => Err(self.err("unexpected end")),
        }
    }
    fn operand(&mut self) -> Result<Filter, CtpError> {
        let rest: String = self.c[self.i..].iter().take(6).collect();
        for (lit, v) in [("true.", true), ("false.", false)] {
            if rest.starts_with(lit) {
                self.i += lit.len();
                return Ok(Filter::Const(v));
            }
        }
        // Element name: up to the '.' that starts the method (brackets may hold anything).
        let start = self.i;
        let mut depth = 0;
        while self.i < self.c.len() {
            match self.c[self.i] {
                '(' if depth == 0 => break,
                '[' => depth += 1,
                ']' => depth -= 1,
                '.' if depth == 0 => break,
                c if c.is_whitespace() && depth == 0 => break,
                _ => {}
            }
            self.i += 1;
        }
        let element: String = self.c[start..self.i].iter().collect();
        if element.is_empty() || self.c.get(self.i) != Some(&'.') {
            return Err(self.err("expected Element.method(\"literal\")"));
        }
        self.i += 1;
        let ms = self.i;
        while self.i < self.c.len() && self.c[self.i].is_ascii_alphabetic() {
            self.i += 1;
        }
        let mname: String = self.c[ms..self.i].iter().collect();
        let method =
            Method::parse(&mname).ok_or_else(|| self.err(&format!("unknown method '{mname}'")))?;
        if self.peek() != Some('(') {
            return Err(self.err("expected '(' after the method"));
        }
        self.i += 1;
        if self.peek() != Some('"') {
            return Err(self.err("expected a quoted literal"));
        }
        self.i += 1;
        let mut literal = String::new();
        loop {
            match self.c.get(self.i) {
                None => return Err(self.err("unterminated literal")),
                Some('\\') => {
                    literal.extend(self.c.get(self.i + 1));
                    self.i += 2;
                }
                Some('"') => {
                    self.i += 1;
                    break;
                }
                Some(c) => {
                    literal.push(*c);
                    self.i += 1;
                }
            }
        }
        if self.peek() != Some(')') {
            return Err(self.err("expected ')' after the literal"));
        }
        self.i += 1;
        Ok(Filter::Test {
            element,
            method,
            literal,
        })
    }
}

impl Filter {
    /// Parses a filter script; an empty script is `true.`.
    pub fn parse(text: &str) -> Result<Filter, CtpError> {
        let mut p = P {
            c: text.chars().collect(),
            i: 0,
            text,
        };
        if p.peek().is_none() {
            return Ok(Filter::Const(true));
        }
        let f = p.or()?;
        if p.peek().is_some() {
            return Err(p.err("unexpected text after the expression"));
        }
        Ok(f)
    }

    /// Evaluates against a dataset (top level; missing elements read as "").
    pub fn matches(&self, ds: &InMemDicomObject) -> bool {
        match self {
            Filter::Const(b) => *b,
            Filter::Not(f) => !f.matches(ds),
            Filter::And(a, b) => a.matches(ds) && b.matches(ds),
            Filter::Or(a, b) => a.matches(ds) || b.matches(ds),
            Filter::Test {
                element,
                method,
                literal,
            } => {
                let reader = Reader {
                    root: ds,
                    ds,
                    this: dicom_core::Tag(0xFFFF, 0xFFFF),
                };
                let v = parse_ref(element, &Default::default())
                    .and_then(|r| reader.element(&r).map(text_of))
                    .unwrap_or_default();
                let (lv, ll) = (v.to_lowercase(), literal.to_lowercase());
                let num = |s: &str| s.trim().parse::<f64>().ok();
                match method {
                    Method::Equals => v == *literal,
                    Method::EqualsIgnoreCase => lv == ll,
                    Method::Matches => regex::Regex::new(&format!("^(?:{literal})$"))
                        .map(|r| r.is_match(&v))
                        .unwrap_or(false),
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
    use dicom_core::{DataElement, PrimitiveValue, Tag, VR};

    #[test]
    fn precedence_comments_and_methods() {
        let ds = InMemDicomObject::from_element_iter([
            DataElement::new(Tag(0x0008, 0x0060), VR::CS, PrimitiveValue::from("CT")),
            DataElement::new(Tag(0x0028, 0x0010), VR::US, PrimitiveValue::from(512u16)),
        ]);
        let t = |s: &str| Filter::parse(s).expect("parse").matches(&ds);
        assert!(t("Modality.equals(\"CT\")"));
        assert!(t("[0008,0060].equalsIgnoreCase(\"ct\") // comment\n"));
        assert!(t("!Modality.equals(\"MR\") * Rows.isGreaterThan(\"500\")"));
        assert!(t("false. + true. * true."));
        assert!(!t("(false. + true.) * false."));
        assert!(t("Manufacturer.equals(\"\")"), "missing reads as empty");
        assert!(t("Modality.matches(\"C.\")"));
        assert!(t(""));
        assert!(Filter::parse("Modality.bogus(\"x\")").is_err());
        assert!(Filter::parse("Modality.equals(\"x\"").is_err());
    }
}
