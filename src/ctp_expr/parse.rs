//! The parser: text → [`Expr`] with operands as written. Whitespace and `//` comments may come
//! between any two tokens; an operand (an element name, keyword, tag or CTP element reference)
//! runs up to the `.` that starts its method, and may hold anything inside `[…]`.

use thiserror::Error;

use super::{compile, Expr, Method};

/// A syntax error: what is wrong and on which line (1-based) of the expression's text. The
/// message quotes the script, never a data set.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ExprError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

struct P {
    c: Vec<char>,
    i: usize,
}

impl P {
    fn err(&self, m: &str) -> ExprError {
        ExprError {
            line: self.c[..self.i.min(self.c.len())]
                .iter()
                .filter(|c| **c == '\n')
                .count()
                + 1,
            message: m.to_string(),
        }
    }

    /// Skips whitespace and `//` comments.
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

    fn or(&mut self) -> Result<Expr<String>, ExprError> {
        let mut l = self.and()?;
        while self.peek() == Some('+') {
            self.i += 1;
            l = Expr::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr<String>, ExprError> {
        let mut l = self.unary()?;
        while self.peek() == Some('*') {
            self.i += 1;
            l = Expr::And(Box::new(l), Box::new(self.unary()?));
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Expr<String>, ExprError> {
        match self.peek() {
            Some('!') => {
                self.i += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
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

    fn operand(&mut self) -> Result<Expr<String>, ExprError> {
        // the operand: up to the '.' that starts the method (brackets may hold anything)
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
        let operand: String = self.c[start..self.i].iter().collect();
        if operand.is_empty() || self.peek() != Some('.') {
            return Err(self.err("expected Element.method(\"literal\")"));
        }
        self.i += 1;
        if operand == "true" || operand == "false" {
            return Ok(Expr::Const(operand == "true"));
        }
        self.ws();
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
        Ok(Expr::Test {
            regex: compile(method, &literal),
            operand,
            method,
            literal,
        })
    }
}

/// True when `text` holds no expression (only whitespace and comments).
pub fn is_blank(text: &str) -> bool {
    let mut p = P {
        c: text.chars().collect(),
        i: 0,
    };
    p.peek().is_none()
}

/// Parses an expression (an empty one is an error: see [`is_blank`]).
pub fn parse(text: &str) -> Result<Expr<String>, ExprError> {
    let mut p = P {
        c: text.chars().collect(),
        i: 0,
    };
    if p.peek().is_none() {
        return Err(p.err("empty expression"));
    }
    // Parsing, evaluating and dropping an expression recurse once per operator level, so a
    // script with absurd nesting (or an endless `a + b + …` chain) is refused before it can
    // exhaust the stack.
    if operators(&p.c) > MAX_OPERATORS {
        return Err(ExprError {
            line: 1,
            message: format!("the expression has more than {MAX_OPERATORS} operators"),
        });
    }
    let e = p.or()?;
    if p.peek().is_some() {
        return Err(p.err("unexpected text after the expression"));
    }
    Ok(e)
}

/// Most operators (`!`, `*`, `+` and parentheses) one expression may have: far more than any
/// real CTP filter or signature, few enough that recursion stays shallow.
const MAX_OPERATORS: usize = 1_000;

/// The operators of an expression outside its quoted literals.
fn operators(c: &[char]) -> usize {
    let (mut n, mut quoted, mut escaped) = (0, false, false);
    for &ch in c {
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '!' | '*' | '+' | '(' if !quoted => n += 1,
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Regression: nesting or chaining without bound overflowed the stack (a crash, not an
    /// error); a long regular expression inside a literal is not counted.
    #[test]
    fn absurd_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}true.{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep).is_err());
        assert!(parse(&"!".repeat(100_000)).is_err());
        let chain = vec![r#"Modality.equals("CT")"#; 50_000].join(" + ");
        assert!(parse(&chain).is_err());
        let regex = format!(r#"SeriesDescription.matches("{}")"#, "(a+)*!".repeat(500));
        assert!(parse(&regex).is_ok());
        let nested = format!("{}true.{}", "(".repeat(300), ")".repeat(300));
        assert!(parse(&nested).is_ok());
    }

    fn test(operand: &str, method: Method, literal: &str) -> Expr<String> {
        Expr::Test {
            operand: operand.into(),
            method,
            literal: literal.into(),
            regex: compile(method, literal),
        }
    }

    #[test]
    fn operands_are_kept_as_written() {
        assert_eq!(
            parse(r#"[0009,"GEMS_IDEN_01",10].equals("x")"#),
            Ok(test(r#"[0009,"GEMS_IDEN_01",10]"#, Method::Equals, "x"))
        );
        assert_eq!(
            parse(r#"Seq::[0008,0100].startsWith("a\"b")"#),
            Ok(test("Seq::[0008,0100]", Method::StartsWith, "a\"b"))
        );
    }

    #[test]
    fn whitespace_and_comments_between_tokens() {
        let want = Expr::And(
            Box::new(Expr::Const(true)),
            Box::new(test("Rows", Method::Equals, "5")),
        );
        assert_eq!(parse("true. * Rows.equals(\"5\")"), Ok(want.clone()));
        assert_eq!(
            parse("true . // yes\n * Rows . equals ( \"5\" ) // rows\n"),
            Ok(want)
        );
        assert!(is_blank("  // only a comment\n\t"));
        assert!(!is_blank("true."));
    }

    #[test]
    fn errors_say_what_and_where() {
        for (bad, line, what) in [
            ("", 1, "empty expression"),
            ("Rows.equals(\"5\"", 1, "expected ')' after the literal"),
            ("Rows.frobnicate(\"5\")", 1, "unknown method 'frobnicate'"),
            ("Rows.equals(5)", 1, "expected a quoted literal"),
            (
                "Rows.equals(\"1\") Rows",
                1,
                "unexpected text after the expression",
            ),
            ("true.\n*\n(false.", 3, "missing ')'"),
            ("Rows.equals(\"x", 1, "unterminated literal"),
            ("Rows", 1, "expected Element.method(\"literal\")"),
            ("!", 1, "unexpected end"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!((e.line, e.message.as_str()), (line, what), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errs_never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s);
            let _ = is_blank(&s);
        }

        #[test]
        fn expressions_of_the_grammar_parse(
            ops in proptest::collection::vec(("[A-Za-z]{1,12}", 0usize..11, "[a-z0-9 ]{0,8}"), 1..5),
            joins in proptest::collection::vec(prop_oneof![Just(" * "), Just(" + "), Just(" * !")], 4),
        ) {
            const NAMES: [&str; 11] = ["equals", "equalsIgnoreCase", "matches", "contains",
                "containsIgnoreCase", "startsWith", "startsWithIgnoreCase", "endsWith",
                "endsWithIgnoreCase", "isLessThan", "isGreaterThan"];
            prop_assume!(ops.iter().all(|(o, _, _)| o != "true" && o != "false"));
            let mut text = String::new();
            for (i, (op, m, lit)) in ops.iter().enumerate() {
                if i > 0 {
                    text.push_str(joins[i - 1]);
                }
                text.push_str(&format!("{op}.{}(\"{lit}\")", NAMES[*m]));
            }
            prop_assert!(parse(&text).is_ok(), "{}", text);
        }
    }
}
