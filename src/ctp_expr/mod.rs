//! CTP's filter expression language (DicomFilter scripts, `dicomScript`, DicomPixelAnonymizer
//! signatures): `Element.method("literal")` operands and `true.`/`false.`, combined with `!`,
//! `*` (and), `+` (or) and parentheses; `//` comments.
//!
//! One parser and one set of comparison methods for the de-identification engine (whose
//! operands are CTP element references, read from a data set) and the pixel-mask libraries
//! (whose operands are header keywords or tags, read from header values). The language knows no
//! DICOM: an operand is kept as written, and each user resolves it ([`Expr::try_map`]) and reads
//! its value ([`Expr::eval`]). A missing value reads as "".

mod parse;

pub use parse::{is_blank, parse, ExprError};

/// The comparison methods, as Java's `String` methods behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exact equality.
    Equals,
    /// Equality ignoring case.
    EqualsIgnoreCase,
    /// Whole-value regular expression (`.` does not match a line break, as in Java).
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
    /// Numeric less-than (a value or literal that is not a number: false).
    IsLessThan,
    /// Numeric greater-than (a value or literal that is not a number: false).
    IsGreaterThan,
}

impl Method {
    /// The method a name in a script stands for.
    pub fn parse(name: &str) -> Option<Method> {
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

/// The compiled regular expression of a `matches` literal (whole value).
fn compile(method: Method, literal: &str) -> Option<regex::Regex> {
    (method == Method::Matches)
        .then(|| regex::Regex::new(&format!("^(?:{literal})$")).ok())
        .flatten()
}

/// A parsed expression over operands of type `O` (as written: `String`; resolved by its user).
#[derive(Debug, Clone)]
pub enum Expr<O> {
    /// `true.` / `false.`
    Const(bool),
    /// `!e`
    Not(Box<Expr<O>>),
    /// `a * b`
    And(Box<Expr<O>>, Box<Expr<O>>),
    /// `a + b`
    Or(Box<Expr<O>>, Box<Expr<O>>),
    /// `Operand.method("literal")`
    Test {
        /// What is read.
        operand: O,
        /// How it is compared.
        method: Method,
        /// With what.
        literal: String,
        /// The compiled pattern of `matches` (None for other methods, and for a pattern that
        /// does not compile: it never matches).
        regex: Option<regex::Regex>,
    },
}

impl<O: PartialEq> PartialEq for Expr<O> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Expr::Const(a), Expr::Const(b)) => a == b,
            (Expr::Not(a), Expr::Not(b)) => a == b,
            (Expr::And(a, b), Expr::And(c, d)) | (Expr::Or(a, b), Expr::Or(c, d)) => {
                a == c && b == d
            }
            (
                Expr::Test {
                    operand: o1,
                    method: m1,
                    literal: l1,
                    ..
                },
                Expr::Test {
                    operand: o2,
                    method: m2,
                    literal: l2,
                    ..
                },
            ) => o1 == o2 && m1 == m2 && l1 == l2, // the regex follows from method and literal
            _ => false,
        }
    }
}

fn num(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// Whether `value` passes `method` with `literal` (`regex`: the compiled `matches` pattern).
fn test(value: &str, method: Method, literal: &str, regex: Option<&regex::Regex>) -> bool {
    let (lv, ll) = (value.to_lowercase(), literal.to_lowercase());
    match method {
        Method::Equals => value == literal,
        Method::EqualsIgnoreCase => lv == ll,
        Method::Matches => regex.is_some_and(|r| r.is_match(value)),
        Method::Contains => value.contains(literal),
        Method::ContainsIgnoreCase => lv.contains(&ll),
        Method::StartsWith => value.starts_with(literal),
        Method::StartsWithIgnoreCase => lv.starts_with(&ll),
        Method::EndsWith => value.ends_with(literal),
        Method::EndsWithIgnoreCase => lv.ends_with(&ll),
        Method::IsLessThan => matches!((num(value), num(literal)), (Some(a), Some(b)) if a < b),
        Method::IsGreaterThan => {
            matches!((num(value), num(literal)), (Some(a), Some(b)) if a > b)
        }
    }
}

impl<O> Expr<O> {
    /// Evaluates with `value(operand)`: the operand's text ("" when missing).
    pub fn eval(&self, value: &dyn Fn(&O) -> String) -> bool {
        match self {
            Expr::Const(b) => *b,
            Expr::Not(e) => !e.eval(value),
            Expr::And(a, b) => a.eval(value) && b.eval(value),
            Expr::Or(a, b) => a.eval(value) || b.eval(value),
            Expr::Test {
                operand,
                method,
                literal,
                regex,
            } => test(&value(operand), *method, literal, regex.as_ref()),
        }
    }

    /// The same expression with every operand resolved by `f` (the first error stops it).
    pub fn try_map<P, E>(self, f: &mut impl FnMut(O) -> Result<P, E>) -> Result<Expr<P>, E> {
        Ok(match self {
            Expr::Const(b) => Expr::Const(b),
            Expr::Not(e) => Expr::Not(Box::new(e.try_map(f)?)),
            Expr::And(a, b) => Expr::And(Box::new(a.try_map(f)?), Box::new(b.try_map(f)?)),
            Expr::Or(a, b) => Expr::Or(Box::new(a.try_map(f)?), Box::new(b.try_map(f)?)),
            Expr::Test {
                operand,
                method,
                literal,
                regex,
            } => Expr::Test {
                operand: f(operand)?,
                method,
                literal,
                regex,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(op: &str) -> String {
        match op {
            "Manufacturer" => "GE MEDICAL SYSTEMS".into(),
            "Rows" => "512".into(),
            "Modality" | "[0008,0060]" => "CT".into(),
            "ImageComments" => "line one\nline two".into(),
            _ => String::new(),
        }
    }

    fn t(s: &str) -> bool {
        parse(s).expect("parses").eval(&|o: &String| value(o))
    }

    #[test]
    fn methods_operators_and_precedence() {
        assert!(t(
            r#"Manufacturer.containsIgnoreCase("ge medical") * Rows.equals("512")"#
        ));
        assert!(!t(r#"Manufacturer.equals("ge medical systems")"#));
        assert!(t(r#"Manufacturer.equalsIgnoreCase("ge medical systems")"#));
        assert!(t(r#"[0008,0060].equals("CT") * !Modality.equals("MR")"#));
        assert!(t(r#"Modality.equals("MR") + Rows.isGreaterThan("500")"#));
        assert!(!t(r#"Modality.equals("MR") + Rows.isLessThan("500")"#));
        assert!(!t(r#"Rows.isLessThan("abc")"#));
        assert!(t(
            r#"Manufacturer.startsWith("GE") * Manufacturer.endsWithIgnoreCase("systems")"#
        ));
        assert!(t(r#"Manufacturer.matches("GE.*S") // a comment"#));
        assert!(
            !t(r#"Manufacturer.matches("GE")"#),
            "matches is whole-value"
        );
        assert!(
            !t(r#"Manufacturer.matches("(")"#),
            "a broken pattern never matches"
        );
        assert!(t("false. + true. * true."));
        assert!(!t("(false. + true.) * false."));
        assert!(
            t(r#"SeriesDescription.equals("")"#),
            "missing reads as empty"
        );
    }

    #[test]
    fn matches_is_javas_dot_does_not_cross_lines() {
        assert!(!t(r#"ImageComments.matches("line.*two")"#));
        assert!(t("ImageComments.matches(\"line one\nline two\")"));
        assert!(t(r#"ImageComments.contains("two")"#));
    }

    #[test]
    fn operands_resolve_and_errors_stop_resolution() {
        let e = parse(r#"Rows.equals("4") * !Bad.equals("2")"#).expect("parses");
        let mut seen = Vec::new();
        let r: Result<Expr<usize>, String> = e.clone().try_map(&mut |o: String| {
            seen.push(o.clone());
            if o == "Bad" {
                Err(o)
            } else {
                Ok(o.len())
            }
        });
        assert_eq!(r.err().as_deref(), Some("Bad"));
        assert_eq!(seen, ["Rows", "Bad"]);
        let lens = e
            .try_map(&mut |o: String| Ok::<_, ()>(o.len()))
            .expect("maps");
        assert!(
            lens.eval(&|n: &usize| n.to_string()),
            "Rows: 4 letters; Bad: 3"
        );
    }
}
