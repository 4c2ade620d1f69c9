//! Fails when ui/src/lib/backend/errorCodes.ts differs from the error codes in the engine's
//! source. Regenerate with `DEPOSIT_UPDATE_BINDINGS=1 cargo test -p deposit-app --test error_codes`.
//!
//! The codes are read from the root crate's `src/` by position, never by the look of a string:
//! - `ErrorCode`: the string literals of every `fn code(&self)` body in an `impl Classify for …`
//!   (a literal, a `match` whose arms are literals, or a delegation `e.code()`), and the first
//!   argument of every `ApiError::new` / `permanent` / `transient` / `usage` call;
//! - `HoldCode`: the literals of `QuarantineCode::as_str` (the reasons a file is held).
//!
//! Anything else in those positions (a code passed in a variable, a `fn code` body of another
//! shape, an `ApiError { … }` struct literal outside `src/error.rs`) fails the test, so a new
//! way of making a code cannot slip past the union. `#[cfg(test)]` items are skipped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where the generated file lives, from the desktop crate's manifest directory.
const OUT: &str = "../ui/src/lib/backend/errorCodes.ts";

/// The constructors whose first argument is a code.
const CONSTRUCTORS: [&str; 4] = ["new", "permanent", "transient", "usage"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(String),
    /// Numbers, char literals, lifetimes.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

impl Token {
    fn is_ident(&self, s: &str) -> bool {
        matches!(&self.tok, Tok::Ident(i) if i == s)
    }
    fn is_punct(&self, s: &str) -> bool {
        matches!(&self.tok, Tok::Punct(p) if p == s)
    }
    fn text(&self) -> String {
        match &self.tok {
            Tok::Ident(s) | Tok::Punct(s) => s.clone(),
            Tok::Str(s) => format!("{s:?}"),
            Tok::Other => "…".into(),
        }
    }
}

/// Splits Rust source into tokens: comments dropped, strings (plain, byte, raw) as one token.
fn lex(src: &str) -> Result<Vec<Token>, String> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        let start_line = line;
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= c.len() {
                    return Err(format!("line {start_line}: unterminated comment"));
                }
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            let (s, next, lines) = plain_string(&c, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                line: start_line,
            });
            line += lines;
            i = next;
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                // an escaped char literal: up to the closing quote
                let mut k = i + 3;
                while k < c.len() && c[k] != '\'' {
                    k += 1;
                }
                i = k + 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // a lifetime
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
            out.push(Token {
                tok: Tok::Other,
                line: start_line,
            });
        } else if ch.is_alphabetic() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[s..i].iter().collect();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && (at(i) == '"' || (at(i) == '#' && matches!(at(i + 1), '"' | '#'))) {
                let mut hashes = 0;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                i += 1; // the opening quote
                let body = i;
                loop {
                    if i >= c.len() {
                        return Err(format!("line {start_line}: unterminated raw string"));
                    }
                    if c[i] == '"' && (1..=hashes).all(|h| at(i + h) == '#') {
                        break;
                    }
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                let s: String = c[body..i].iter().collect();
                i += 1 + hashes;
                out.push(Token {
                    tok: Tok::Str(s),
                    line: start_line,
                });
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                let (s, next, lines) = plain_string(&c, i)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    line: start_line,
                });
                line += lines;
                i = next;
            } else if word == "r" && at(i) == '#' {
                // a raw identifier, r#type
                let s = i + 1;
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Ident(c[s..i].iter().collect()),
                    line: start_line,
                });
            } else {
                out.push(Token {
                    tok: Tok::Ident(word),
                    line: start_line,
                });
            }
        } else if ch.is_ascii_digit() {
            while i < c.len()
                && (c[i].is_alphanumeric()
                    || c[i] == '_'
                    || (c[i] == '.' && at(i + 1).is_ascii_digit()))
            {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Other,
                line: start_line,
            });
        } else {
            let two: String = [ch, at(i + 1)].iter().collect();
            let p = if matches!(two.as_str(), "::" | "=>" | "->" | "..") {
                i += 2;
                two
            } else {
                i += 1;
                ch.to_string()
            };
            out.push(Token {
                tok: Tok::Punct(p),
                line: start_line,
            });
        }
    }
    Ok(out)
}

/// A `"…"` string starting at `i`: its raw text, the index after it and the newlines in it.
fn plain_string(c: &[char], i: usize) -> Result<(String, usize, usize), String> {
    let mut k = i + 1;
    let mut lines = 0;
    while k < c.len() && c[k] != '"' {
        if c[k] == '\\' {
            k += 1;
        }
        if c.get(k) == Some(&'\n') {
            lines += 1;
        }
        k += 1;
    }
    if k >= c.len() {
        return Err("unterminated string".into());
    }
    Ok((c[i + 1..k].iter().collect(), k + 1, lines))
}

/// The index of the token closing the bracket opened at `open`.
fn closing(t: &[Token], open: usize) -> Result<usize, String> {
    let mut depth = 0i32;
    for (k, tok) in t.iter().enumerate().skip(open) {
        match &tok.tok {
            Tok::Punct(p) if matches!(p.as_str(), "{" | "(" | "[") => depth += 1,
            Tok::Punct(p) if matches!(p.as_str(), "}" | ")" | "]") => {
                depth -= 1;
                if depth == 0 {
                    return Ok(k);
                }
            }
            _ => {}
        }
    }
    Err(format!("line {}: unbalanced bracket", t[open].line))
}

/// The tokens without `#[cfg(test)]` items; `mod name;` declarations under `#[cfg(test)]` are
/// returned by name, so their files are skipped too.
fn without_tests(t: Vec<Token>) -> Result<(Vec<Token>, Vec<String>), String> {
    let pattern = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = Vec::with_capacity(t.len());
    let mut test_mods = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let is_cfg_test = pattern
            .iter()
            .enumerate()
            .all(|(k, p)| t.get(i + k).is_some_and(|x| x.text() == *p));
        if !is_cfg_test {
            out.push(t[i].clone());
            i += 1;
            continue;
        }
        i += pattern.len();
        // further attributes, then the item up to its `;` or its closing brace
        while i < t.len() && t[i].is_punct("#") {
            i = closing(&t, i + 1)? + 1;
        }
        if t.get(i).is_some_and(|x| x.is_ident("mod"))
            && t.get(i + 2).is_some_and(|x| x.is_punct(";"))
        {
            if let Some(Tok::Ident(name)) = t.get(i + 1).map(|x| x.tok.clone()) {
                test_mods.push(name);
            }
        }
        while i < t.len() {
            if t[i].is_punct(";") {
                i += 1;
                break;
            }
            if t[i].is_punct("{") || t[i].is_punct("(") || t[i].is_punct("[") {
                let end = closing(&t, i)?;
                let was_brace = t[i].is_punct("{");
                i = end + 1;
                if was_brace {
                    break;
                }
            } else {
                i += 1;
            }
        }
    }
    Ok((out, test_mods))
}

/// What a `fn code`-like body returns: its literals, and whether it delegates to another error's
/// code somewhere.
#[derive(Debug, Default, PartialEq, Eq)]
struct Returns {
    literals: Vec<String>,
    delegates: bool,
}

/// Reads an expression made only of string literals, `match` arms, blocks and `x.code()`
/// delegations; anything else is an error naming what could not be read.
fn read_expr(t: &[Token]) -> Result<Returns, String> {
    let shown = || t.iter().map(Token::text).collect::<Vec<_>>().join(" ");
    let line = t.first().map_or(0, |x| x.line);
    if t.is_empty() {
        return Err("an empty expression".into());
    }
    if t[0].is_punct("{") && closing(t, 0)? == t.len() - 1 {
        return read_expr(&t[1..t.len() - 1]);
    }
    if let [Token {
        tok: Tok::Str(s), ..
    }] = t
    {
        return Ok(Returns {
            literals: vec![s.clone()],
            delegates: false,
        });
    }
    if t[0].is_ident("match") {
        let open = (1..t.len())
            .find(|&k| t[k].is_punct("{"))
            .ok_or_else(|| format!("line {line}: a match without arms"))?;
        if closing(t, open)? != t.len() - 1 {
            return Err(format!("line {line}: cannot read `{}`", shown()));
        }
        return read_arms(&t[open + 1..t.len() - 1]);
    }
    // `e.code()`, `self.0.code()`, `(*e).code()` …: a delegation to a classified error
    let n = t.len();
    if n >= 4
        && t[n - 4].is_punct(".")
        && t[n - 3].is_ident("code")
        && t[n - 2].is_punct("(")
        && t[n - 1].is_punct(")")
        && t[..n - 4].iter().all(|x| match &x.tok {
            Tok::Ident(_) | Tok::Other => true,
            Tok::Punct(p) => matches!(p.as_str(), "." | "*" | "&" | "(" | ")"),
            Tok::Str(_) => false,
        })
    {
        return Ok(Returns {
            literals: vec![],
            delegates: true,
        });
    }
    Err(format!("line {line}: cannot read `{}`", shown()))
}

/// The arms of a match: `pattern => expr,` or `pattern => { … }`.
fn read_arms(t: &[Token]) -> Result<Returns, String> {
    let mut all = Returns::default();
    let mut i = 0;
    while i < t.len() {
        // the pattern, up to `=>` outside brackets
        let mut k = i;
        while k < t.len() && !t[k].is_punct("=>") {
            if t[k].is_punct("{") || t[k].is_punct("(") || t[k].is_punct("[") {
                k = closing(t, k)?;
            }
            k += 1;
        }
        if k >= t.len() {
            return Err(format!("line {}: a match arm without `=>`", t[i].line));
        }
        let start = k + 1;
        let mut end = start;
        if t.get(start).is_some_and(|x| x.is_punct("{")) {
            end = closing(t, start)? + 1;
        } else {
            while end < t.len() && !t[end].is_punct(",") {
                if t[end].is_punct("{") || t[end].is_punct("(") || t[end].is_punct("[") {
                    end = closing(t, end)?;
                }
                end += 1;
            }
        }
        let arm = read_expr(&t[start..end])?;
        all.literals.extend(arm.literals);
        all.delegates |= arm.delegates;
        i = end;
        if t.get(i).is_some_and(|x| x.is_punct(",")) {
            i += 1;
        }
    }
    Ok(all)
}

/// The body (between its braces) of `fn name(<params>)` inside `t`, where `params` are the
/// parameter tokens, e.g. `["&", "self"]`.
fn fn_bodies<'a>(t: &'a [Token], name: &str, params: &[&str]) -> Result<Vec<&'a [Token]>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < t.len() {
        if t[i].is_ident("fn") && t[i + 1].is_ident(name) && t[i + 2].is_punct("(") {
            let close = closing(t, i + 2)?;
            let got: Vec<String> = t[i + 3..close].iter().map(Token::text).collect();
            if got != params {
                return Err(format!(
                    "line {}: fn {name}({}) where fn {name}({}) was expected",
                    t[i].line,
                    got.join(" "),
                    params.join(" ")
                ));
            }
            let open = (close..t.len())
                .find(|&k| t[k].is_punct("{"))
                .ok_or_else(|| format!("line {}: fn {name} without a body", t[i].line))?;
            let end = closing(t, open)?;
            out.push(&t[open + 1..end]);
            i = end;
        }
        i += 1;
    }
    Ok(out)
}

/// The bodies of the `impl … {` blocks of `t` whose header (the tokens between `impl` and `{`)
/// satisfies `header`.
fn impl_blocks(t: &[Token], header: impl Fn(&[Token]) -> bool) -> Result<Vec<&[Token]>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i].is_ident("impl") {
            if let Some(open) = (i..t.len()).find(|&k| t[k].is_punct("{") || t[k].is_punct(";")) {
                if t[open].is_punct("{") {
                    let end = closing(t, open)?;
                    if header(&t[i + 1..open]) {
                        out.push(&t[open + 1..end]);
                    }
                }
            }
        }
        i += 1;
    }
    Ok(out)
}

/// What one file contributes.
#[derive(Debug, Default)]
struct Found {
    errors: BTreeSet<String>,
    holds: BTreeSet<String>,
    /// Whether the file has `impl QuarantineCode` with `fn as_str(self)`.
    has_hold_codes: bool,
}

/// Reads the codes of one file's source (already without its `#[cfg(test)]` items).
fn read_file(t: &[Token], is_error_rs: bool) -> Result<Found, String> {
    let mut found = Found::default();
    // `fn code(&self)` in `impl Classify for …`
    let classify = |h: &[Token]| {
        h.windows(2)
            .any(|w| w[0].is_ident("Classify") && w[1].is_ident("for"))
    };
    for block in impl_blocks(t, classify)? {
        let bodies = fn_bodies(block, "code", &["&", "self"])?;
        if bodies.len() != 1 {
            let line = block.first().map_or(0, |x| x.line);
            return Err(format!(
                "line {line}: an impl Classify without one readable fn code(&self)"
            ));
        }
        found.errors.extend(read_expr(bodies[0])?.literals);
    }
    // `ApiError::new("code", …)` and the shorthands
    for (i, w) in t.windows(3).enumerate() {
        if w[0].is_ident("ApiError")
            && w[1].is_punct("::")
            && CONSTRUCTORS.iter().any(|c| w[2].is_ident(c))
        {
            match (t.get(i + 3), t.get(i + 4), t.get(i + 5)) {
                (
                    Some(open),
                    Some(Token {
                        tok: Tok::Str(code),
                        ..
                    }),
                    Some(comma),
                ) if open.is_punct("(") && comma.is_punct(",") => {
                    found.errors.insert(code.clone());
                }
                _ => {
                    return Err(format!(
                        "line {}: ApiError::{} without a string literal as its first argument",
                        w[0].line,
                        w[2].text()
                    ))
                }
            }
        }
    }
    // no `ApiError { code: … }` outside src/error.rs
    if !is_error_rs {
        for (i, w) in t.windows(4).enumerate() {
            let after_keyword = i > 0
                && ["struct", "enum", "union", "impl", "for"]
                    .iter()
                    .any(|k| t[i - 1].is_ident(k));
            if w[0].is_ident("ApiError")
                && w[1].is_punct("{")
                && matches!(w[2].tok, Tok::Ident(_))
                && (w[3].is_punct(":") || w[3].is_punct(",") || w[3].is_punct("}"))
                && !after_keyword
            {
                return Err(format!(
                    "line {}: an ApiError struct literal; build it with ApiError::new (or \
                     permanent, transient, usage) and a literal code",
                    w[0].line
                ));
            }
        }
    }
    // the hold reasons
    let quarantine_code = |h: &[Token]| h.len() == 1 && h[0].is_ident("QuarantineCode");
    for block in impl_blocks(t, quarantine_code)? {
        for body in fn_bodies(block, "as_str", &["self"])? {
            let r = read_expr(body)?;
            if r.delegates {
                return Err("QuarantineCode::as_str delegates; list its codes as literals".into());
            }
            found.holds.extend(r.literals);
            found.has_hold_codes = true;
        }
    }
    Ok(found)
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read source folder")
        .map(|e| e.expect("folder entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The error and hold codes of the crate whose `src` folder is `src`.
fn collect(src: &Path) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut texts = Vec::new();
    let (mut skip_files, mut skip_dirs) = (BTreeSet::new(), Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let tokens = lex(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        let (tokens, test_mods) =
            without_tests(tokens).map_err(|e| format!("{}: {e}", f.display()))?;
        // `mod tests;` in a/mod.rs or a.rs names a/tests.rs or a/tests/mod.rs
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let base = f.parent().unwrap_or(src);
        let dir = if matches!(stem, "mod" | "lib" | "main") {
            base.to_path_buf()
        } else {
            base.join(stem)
        };
        for m in test_mods {
            skip_files.insert(dir.join(format!("{m}.rs")));
            skip_dirs.push(dir.join(&m));
        }
        texts.push((f.clone(), tokens));
    }
    let (mut errors, mut holds) = (BTreeSet::new(), BTreeSet::new());
    let mut hold_files = 0;
    for (f, tokens) in texts {
        // a test module's file (a/tests.rs) or folder (a/tests/…)
        if skip_files.contains(&f) || skip_dirs.iter().any(|d| f.starts_with(d)) {
            continue;
        }
        let is_error_rs = f == src.join("error.rs");
        let found = read_file(&tokens, is_error_rs).map_err(|e| format!("{}: {e}", f.display()))?;
        errors.extend(found.errors);
        holds.extend(found.holds);
        hold_files += usize::from(found.has_hold_codes);
    }
    if hold_files != 1 {
        return Err(format!(
            "found QuarantineCode::as_str in {hold_files} files, expected 1"
        ));
    }
    for c in &errors {
        let ok = c.contains('.')
            && !c.starts_with('.')
            && !c.ends_with('.')
            && c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '.');
        if !ok {
            return Err(format!(
                "{c:?} is not an error code (area.name, lower case)"
            ));
        }
    }
    for c in &holds {
        if c.is_empty()
            || !c
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        {
            return Err(format!(
                "{c:?} is not a hold code (lower case, underscores)"
            ));
        }
    }
    Ok((errors, holds))
}

/// The TypeScript file.
fn render(errors: &BTreeSet<String>, holds: &BTreeSet<String>) -> String {
    let union = |set: &BTreeSet<String>| {
        set.iter()
            .map(|c| format!("\n  | {c:?}"))
            .collect::<String>()
    };
    let list = |set: &BTreeSet<String>| {
        set.iter()
            .map(|c| format!("  {c:?},\n"))
            .collect::<String>()
    };
    format!(
        "// Generated from the engine's source by src-tauri/tests/error_codes.rs; do not edit.\n\
         // Regenerate with `DEPOSIT_UPDATE_BINDINGS=1 cargo test -p deposit-app --test error_codes`.\n\
         \n\
         /** Every code an error from the engine can carry (`ApiError.code`). */\n\
         export type ErrorCode ={};\n\
         \n\
         export const ERROR_CODES: readonly ErrorCode[] = [\n{}];\n\
         \n\
         /** Every reason the engine holds a file in quarantine (`QuarantineRow.code`). */\n\
         export type HoldCode ={};\n\
         \n\
         export const HOLD_CODES: readonly HoldCode[] = [\n{}];\n",
        union(errors),
        list(errors),
        union(holds),
        list(holds)
    )
}

#[test]
fn checked_in_error_codes_are_current() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (errors, holds) = collect(&manifest.join("../src")).unwrap_or_else(|e| panic!("{e}"));
    // a few codes the UI branches on must be found
    for c in [
        "web.login_required",
        "intake.not_found",
        "app.busy",
        "deid.lookup_bad_entry",
    ] {
        assert!(errors.contains(c), "{c} not found");
    }
    assert!(holds.contains("lookup_missing"), "lookup_missing not found");
    let fresh = render(&errors, &holds);
    let checked_in = manifest.join(OUT);
    if std::env::var_os("DEPOSIT_UPDATE_BINDINGS").is_some() {
        std::fs::write(&checked_in, &fresh).expect("write error codes");
        return;
    }
    let old = std::fs::read_to_string(&checked_in).unwrap_or_default();
    let members = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("| "))
            .map(|c| c.trim_end_matches(';').trim_matches('"').to_string())
            .collect()
    };
    let (before, after) = (members(&old), members(&fresh));
    assert!(
        old == fresh,
        "{} is stale (new: {:?}; gone: {:?}); regenerate with DEPOSIT_UPDATE_BINDINGS=1 cargo test \
         -p deposit-app --test error_codes",
        checked_in.display(),
        after.difference(&before).collect::<Vec<_>>(),
        before.difference(&after).collect::<Vec<_>>(),
    );
}

mod extractor {
    use super::*;

    fn read(src: &str) -> Result<Found, String> {
        let (t, _) = without_tests(lex(src)?)?;
        read_file(&t, false)
    }

    #[test]
    fn reads_literals_matches_and_delegations() {
        let f = read(
            r#"
            impl Classify for E {
                fn code(&self) -> &'static str {
                    match self {
                        E::A { .. } | E::B(_) => "m.a", // a "comment"
                        E::C => { "m.c" }
                        E::D(e) => e.code(),
                    }
                }
                fn class(&self) -> ErrorClass { ErrorClass::Permanent }
            }
            impl crate::error::Classify for F {
                fn code(&self) -> &'static str {
                    "f.one"
                }
            }
            fn g() -> Result<(), ApiError> {
                let _ = "deposit.toml";
                Err(ApiError::usage("g.usage", format!("{}", r"x")))
            }
            "#,
        )
        .expect("readable");
        let want: BTreeSet<String> = ["f.one", "g.usage", "m.a", "m.c"].map(String::from).into();
        assert_eq!(f.errors, want);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let body = "impl Classify for E { fn code(&self) -> &'static str { CODES[0] } }";
        assert!(read(body).is_err());
        let computed = r#"impl Classify for E { fn code(&self) -> &'static str {
            match self { E::A => if x { "a.b" } else { "a.c" } } } }"#;
        assert!(read(computed).is_err());
        assert!(read("fn f(c: &'static str) -> ApiError { ApiError::usage(c, \"m\") }").is_err());
        assert!(read("fn f() -> ApiError { ApiError { code: \"a.b\".into(), message: m, class: c, usage: false } }").is_err());
    }

    #[test]
    fn skips_test_items() {
        let f = read(
            r#"
            fn f() -> ApiError { ApiError::permanent("a.real", "m") }
            #[cfg(test)]
            mod tests {
                fn g() -> ApiError { ApiError::permanent("x.y", "m") }
            }
            "#,
        )
        .expect("readable");
        assert_eq!(f.errors, BTreeSet::from(["a.real".to_string()]));
    }
}
