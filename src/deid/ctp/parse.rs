//! Loading CTP DicomAnonymizer scripts: the XML form (`<script>` with `<p>`, `<e>`, `<k>`, `<r>`)
//! and the legacy properties form (`param.`, `set.`, `keep.`, `remove.`), recognised by content.
//! Rule texts are parsed into call trees here, so a malformed rule fails at load time with its
//! line and tag.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::names::{parse_target, Target};
use super::{CtpError, Rule, Script};

/// One piece of a rule text: literal text or a function call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Literal text (escapes resolved).
    Text(String),
    /// `@name(args){clause}{clause}`.
    Call {
        /// Function name as written.
        name: String,
        /// Raw arguments (split on top-level commas, trimmed, quotes kept).
        args: Vec<String>,
        /// `{...}` clauses (for `@if`, `@select`, `@append`).
        clauses: Vec<Vec<Node>>,
        /// The call as written (for copying unknown functions through).
        raw: String,
    },
}

/// True when the text is the XML form (first non-blank character `<`).
pub fn is_xml(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
}

fn clause_count(name: &str) -> usize {
    match name {
        "if" | "select" => 2,
        "append" => 1,
        _ => 0,
    }
}

/// Parses a rule text into nodes. `Err` carries a sentence (without the rule's position).
pub fn parse_rule(text: &str) -> Result<Vec<Node>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let nodes = parse_seq(&chars, &mut pos, false)?;
    Ok(nodes)
}

fn push_text(nodes: &mut Vec<Node>, s: &str) {
    if let Some(Node::Text(t)) = nodes.last_mut() {
        t.push_str(s);
    } else if !s.is_empty() {
        nodes.push(Node::Text(s.to_string()));
    }
}

/// Parses until end of input (or, inside a clause, until the matching `}`).
fn parse_seq(c: &[char], pos: &mut usize, in_clause: bool) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    while *pos < c.len() {
        let ch = c[*pos];
        match ch {
            '\\' => {
                *pos += 1;
                if let Some(n) = c.get(*pos) {
                    push_text(&mut nodes, &n.to_string());
                    *pos += 1;
                }
            }
            '}' if in_clause => return Ok(nodes),
            '@' => {
                let start = *pos;
                let mut p = *pos + 1;
                while p < c.len() && (c[p].is_ascii_alphanumeric() || c[p] == '_') {
                    p += 1;
                }
                let name: String = c[start + 1..p].iter().collect();
                let wants_clauses = clause_count(&name);
                let has_parens = c.get(p) == Some(&'(');
                let has_brace = c.get(p) == Some(&'{') && wants_clauses > 0;
                if name.is_empty() || (!has_parens && !has_brace) {
                    // Not a call (e.g. an address or a bare parameter name): literal text.
                    push_text(&mut nodes, &c[start..p].iter().collect::<String>());
                    *pos = p;
                    continue;
                }
                let mut args = Vec::new();
                if has_parens {
                    let (inner, end) =
                        balanced(c, p).ok_or_else(|| format!("@{name}( has no matching ')'"))?;
                    args = split_args(&inner);
                    p = end;
                }
                let mut clauses = Vec::new();
                for _ in 0..wants_clauses {
                    if c.get(p) != Some(&'{') {
                        return Err(format!(
                            "@{name} needs {wants_clauses} {{...}} clause(s) after its arguments"
                        ));
                    }
                    let mut q = p + 1;
                    let body = parse_seq(c, &mut q, true)?;
                    if c.get(q) != Some(&'}') {
                        return Err(format!("a {{...}} clause of @{name} is not closed"));
                    }
                    clauses.push(body);
                    p = q + 1;
                }
                let raw: String = c[start..p].iter().collect();
                nodes.push(Node::Call {
                    name,
                    args,
                    clauses,
                    raw,
                });
                *pos = p;
            }
            _ => {
                push_text(&mut nodes, &ch.to_string());
                *pos += 1;
            }
        }
    }
    if in_clause {
        return Err("a {...} clause is not closed".into());
    }
    Ok(nodes)
}

/// From `c[open] == '('`, the text inside the matching `)` and the index after it. Quotes,
/// brackets and nested parentheses are respected; `\` escapes the next character.
fn balanced(c: &[char], open: usize) -> Option<(String, usize)> {
    let mut depth = 0i32;
    let mut quote = false;
    let mut i = open;
    while i < c.len() {
        let ch = c[i];
        if ch == '\\' {
            i += 2;
            continue;
        }
        if quote {
            if ch == '"' {
                quote = false;
            }
        } else {
            match ch {
                '"' => quote = true,
                '(' | '[' => depth += 1,
                ')' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        if ch != ')' {
                            return None;
                        }
                        return Some((c[open + 1..i].iter().collect(), i + 1));
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Splits an argument list on commas outside quotes, brackets and parentheses.
pub fn split_args(s: &str) -> Vec<String> {
    if s.trim().is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quote, mut esc) = (0i32, false, false);
    for ch in s.chars() {
        if esc {
            cur.push(ch);
            esc = false;
            continue;
        }
        match ch {
            '\\' => {
                cur.push(ch);
                esc = true;
            }
            '"' => {
                quote = !quote;
                cur.push(ch);
            }
            '(' | '[' if !quote => {
                depth += 1;
                cur.push(ch);
            }
            ')' | ']' if !quote => {
                depth -= 1;
                cur.push(ch);
            }
            ',' if !quote && depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(ch),
        }
    }
    out.push(cur.trim().to_string());
    out
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

fn attrs(tag: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq]
            .trim()
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or("");
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let body = &after[1..];
        let Some(end) = body.find(q) else { break };
        out.insert(name.to_string(), decode_entities(&body[..end]));
        rest = &body[end + 1..];
    }
    out
}

fn unknown_calls(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        if let Node::Call { name, clauses, .. } = n {
            if !super::eval::FUNCTIONS.contains(&name.as_str()) {
                out.push(name.clone());
            }
            for c in clauses {
                unknown_calls(c, out);
            }
        }
    }
}

#[derive(Default)]
struct Builder {
    params: BTreeMap<String, String>,
    rules: Vec<Rule>,
    keep_groups: BTreeSet<u16>,
    keep_safe_private: bool,
    remove_private: bool,
    remove_unspecified: bool,
    remove_curves: bool,
    remove_overlays: bool,
    warnings: Vec<String>,
}

impl Builder {
    fn rule(&mut self, t: &str, n: &str, text: &str, line: usize) -> Result<(), CtpError> {
        let target = parse_target(t).ok_or_else(|| CtpError::Syntax {
            line,
            message: format!(
                "'{t}' is not an element tag (ggggeeee, [gggg,eeee] or gggg[Creator]ee)"
            ),
        })?;
        let nodes = parse_rule(text).map_err(|m| CtpError::Syntax {
            line,
            message: format!("the rule for {}: {m}", target.label()),
        })?;
        let mut unknown = Vec::new();
        unknown_calls(&nodes, &mut unknown);
        for u in unknown {
            self.warnings.push(format!(
                "line {line}: the rule for {} calls @{u}, which is not a CTP function; it is copied through as literal text (as CTP does)",
                target.label()
            ));
        }
        // A later rule for the same element replaces an earlier one, as in CTP's map.
        self.rules.retain(|r| r.target != target);
        self.rules.push(Rule {
            target,
            name: n.to_string(),
            text: text.to_string(),
            nodes,
            line,
        });
        Ok(())
    }

    fn keep(&mut self, t: &str, line: usize) -> Result<(), CtpError> {
        let t = t.trim();
        if t.eq_ignore_ascii_case("safeprivateelements") {
            self.keep_safe_private = true;
            return Ok(());
        }
        let g = t.strip_prefix("group").unwrap_or(t);
        let g = u16::from_str_radix(g, 16)
            .ok()
            .filter(|_| g.len() == 4)
            .ok_or_else(|| CtpError::Syntax {
                line,
                message: format!("keep '{t}' is neither a group (gggg) nor safeprivateelements"),
            })?;
        self.keep_groups.insert(g);
        Ok(())
    }

    fn remove(&mut self, t: &str, line: usize) -> Result<(), CtpError> {
        match t.trim().to_ascii_lowercase().as_str() {
            "privategroups" => self.remove_private = true,
            "unspecifiedelements" => self.remove_unspecified = true,
            "curves" => self.remove_curves = true,
            "overlays" => self.remove_overlays = true,
            other => {
                return Err(CtpError::Syntax {
                    line,
                    message: format!("unknown global removal '{other}' (privategroups, unspecifiedelements, curves or overlays)"),
                })
            }
        }
        Ok(())
    }

    fn finish(self) -> Script {
        let by_tag = self
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r.target {
                Target::Tag(t) => Some((t, i)),
                Target::Private { .. } => None,
            })
            .collect();
        let private_names = self
            .rules
            .iter()
            .filter(|r| r.target.is_private() && !r.name.trim().is_empty())
            .map(|r| (r.name.trim().to_string(), r.target.clone()))
            .collect();
        Script {
            params: self.params,
            rules: self.rules,
            keep_groups: self.keep_groups,
            keep_safe_private: self.keep_safe_private,
            remove_private: self.remove_private,
            remove_unspecified: self.remove_unspecified,
            remove_curves: self.remove_curves,
            remove_overlays: self.remove_overlays,
            private_names,
            by_tag,
            warnings: self.warnings,
        }
    }
}

/// Parses the XML form.
pub fn parse_xml(text: &str) -> Result<Script, CtpError> {
    let mut b = Builder::default();
    let mut i = 0;
    let bytes = text.as_bytes();
    let mut saw_root = false;
    let mut closed_root = false;
    while let Some(off) = text[i..].find('<') {
        let start = i + off;
        let line = line_of(text, start);
        let rest = &text[start..];
        if rest.starts_with("<!--") {
            let end = rest.find("-->").ok_or(CtpError::Syntax {
                line,
                message: "a comment <!-- is not closed".into(),
            })?;
            i = start + end + 3;
            continue;
        }
        if rest.starts_with("<?") {
            let end = rest.find("?>").ok_or(CtpError::Syntax {
                line,
                message: "an <? declaration is not closed".into(),
            })?;
            i = start + end + 2;
            continue;
        }
        let gt = rest.find('>').ok_or(CtpError::Syntax {
            line,
            message: "a tag is not closed with '>'".into(),
        })?;
        let inner = &rest[1..gt];
        let name: String = inner.chars().take_while(|c| !c.is_whitespace()).collect();
        let name = match name.strip_suffix('/') {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => name,
        };
        i = start + gt + 1;
        match name.as_str() {
            "script" => {
                saw_root = true;
                continue;
            }
            "/script" => {
                closed_root = true;
                continue;
            }
            "p" | "e" | "k" | "r" => {}
            other => {
                return Err(CtpError::Syntax {
                    line,
                    message: format!(
                        "unexpected element <{other}> (expected <p>, <e>, <k> or <r>)"
                    ),
                })
            }
        }
        if !saw_root {
            return Err(CtpError::Syntax {
                line,
                message: format!("<{name}> outside <script>"),
            });
        }
        let a = attrs(inner.get(name.len()..).unwrap_or(""));
        let body = if inner.ends_with('/') {
            String::new()
        } else {
            let close = format!("</{name}>");
            let end = text[i..].find(&close).ok_or_else(|| CtpError::Syntax {
                line,
                message: format!("<{name}> is not closed with {close}"),
            })?;
            let body = decode_entities(&text[i..i + end]);
            i += end + close.len();
            body
        };
        let _ = bytes;
        let enabled = a
            .get("en")
            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("F"));
        let t = a.get("t").cloned().unwrap_or_default();
        match name.as_str() {
            "p" => {
                if t.trim().is_empty() {
                    return Err(CtpError::Syntax {
                        line,
                        message: "<p> without a t= parameter name".into(),
                    });
                }
                b.params
                    .insert(t.trim().to_string(), body.trim().to_string());
            }
            _ if !enabled => {}
            "e" => {
                let n = a.get("n").cloned().unwrap_or_default();
                b.rule(&t, &n, body.trim(), line)?;
            }
            "k" => b.keep(&t, line)?,
            _ => b.remove(&t, line)?,
        }
    }
    if !saw_root {
        return Err(CtpError::Syntax {
            line: 1,
            message: "no <script> root element".into(),
        });
    }
    if !closed_root {
        return Err(CtpError::Syntax {
            line: line_of(text, text.len()),
            message: "<script> is not closed with </script>".into(),
        });
    }
    Ok(b.finish())
}

/// Parses the legacy properties form.
pub fn parse_properties(text: &str) -> Result<Script, CtpError> {
    let mut b = Builder::default();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let l = raw.trim_start_matches('\u{feff}').trim();
        if l.is_empty() || l.starts_with('!') {
            continue;
        }
        // `#` disables a set. line (and comments out anything else).
        if l.starts_with('#') {
            continue;
        }
        let (key, value) = match l.find(['=', ':']) {
            Some(p) if l[..p].starts_with("set.") || !l[..p].contains('[') => {
                (l[..p].trim(), l[p + 1..].trim())
            }
            _ => {
                // `set.[gggg,eeee]` keys contain no separator before the bracket closes.
                match l.find(']').and_then(|e| l[e..].find('=').map(|p| e + p)) {
                    Some(p) => (l[..p].trim(), l[p + 1..].trim()),
                    None => {
                        return Err(CtpError::Syntax {
                            line,
                            message: "expected key=value".into(),
                        })
                    }
                }
            }
        };
        if let Some(p) = key.strip_prefix("param.") {
            b.params.insert(p.to_string(), value.to_string());
        } else if let Some(s) = key.strip_prefix("set.") {
            // set.[gggg,eeee]Name=script or set.ggggeeee=script
            let (t, n) = match s.find(']') {
                Some(e) if s.starts_with('[') || s.starts_with('(') => (&s[..=e], &s[e + 1..]),
                _ => (s, ""),
            };
            // The key may hold ':' or '=' inside the script: take the value from the raw line.
            let v = raw
                .trim()
                .split_once('=')
                .map(|(_, v)| v.trim())
                .unwrap_or(value);
            b.rule(t, n, v, line)?;
        } else if let Some(k) = key.strip_prefix("keep.") {
            b.keep(k, line)?;
        } else if let Some(r) = key.strip_prefix("remove.") {
            b.remove(r, line)?;
        } else {
            return Err(CtpError::Syntax {
                line,
                message: format!(
                    "unknown key '{}' (expected param., set., keep. or remove.)",
                    key.chars().take(40).collect::<String>()
                ),
            });
        }
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(n: &Node) -> (&str, &[String], usize) {
        match n {
            Node::Call {
                name,
                args,
                clauses,
                ..
            } => (name, args, clauses.len()),
            Node::Text(_) => panic!("not a call"),
        }
    }

    #[test]
    fn rule_text_parses_calls_text_escapes_and_clauses() {
        let n = parse_rule(r#"A\@b@hash(this,"x,(y)",[0010,0020])tail"#).expect("parse");
        assert_eq!(n[0], Node::Text("A@b".into()));
        let (name, args, _) = call(&n[1]);
        assert_eq!(name, "hash");
        assert_eq!(args, &["this", "\"x,(y)\"", "[0010,0020]"]);
        assert_eq!(n[2], Node::Text("tail".into()));
        let n = parse_rule("@if(this,isblank){@remove()}{Removed \\} by CTP}").expect("if");
        let (_, args, clauses) = call(&n[0]);
        assert_eq!(args.len(), 2);
        assert_eq!(clauses, 2);
        let n = parse_rule("@select{@keep()}{x}").expect("select");
        assert_eq!(call(&n[0]).2, 2);
        let n = parse_rule("mail me@host").expect("literal");
        assert_eq!(n, vec![Node::Text("mail me@host".into())]);
    }

    #[test]
    fn malformed_rules_fail() {
        assert!(parse_rule("@hash(this").is_err());
        assert!(parse_rule("@if(this,isblank){a}").is_err());
        assert!(parse_rule("@if(this,isblank){a}{b").is_err());
    }

    #[test]
    fn xml_form_with_disabled_rules_and_comments() {
        let s = parse_xml(
            "<script>\n <p t=\"R\">1.2</p>\n <!-- <e en=\"T\" t=\"00100010\">x</e> -->\n <e en=\"F\" t=\"00100020\" n=\"PatientID\">@keep()</e>\n <e en=\"T\" t=\"00100010\" n=\"PatientName\">@empty()</e>\n <e t=\"0013[CTP]10\" n=\"ProjectName\">P</e>\n <k en=\"T\" t=\"0018\">k</k>\n <k t=\"safeprivateelements\">k</k>\n <r en=\"T\" t=\"privategroups\">r</r>\n <r en=\"F\" t=\"unspecifiedelements\">r</r>\n</script>",
        )
        .expect("parse");
        assert_eq!(s.params.get("R").map(String::as_str), Some("1.2"));
        assert_eq!(s.rules.len(), 2);
        assert!(s.keep_groups.contains(&0x0018) && s.keep_safe_private);
        assert!(s.remove_private && !s.remove_unspecified);
        assert!(s.private_names.contains_key("ProjectName"));
        assert!(s.warnings.is_empty());
        let w =
            parse_xml("<script>\n<e t=\"00100010\">@if(this,isblank){@nope()}{x}</e>\n</script>")
                .expect("parse");
        assert_eq!(w.warnings.len(), 1);
        assert!(w.warnings[0].contains("line 2") && w.warnings[0].contains("@nope"));
    }

    #[test]
    fn xml_errors_name_the_line() {
        let e =
            parse_xml("<script>\n<e t=\"00100010\">@hash(this</e>\n</script>").expect_err("bad");
        assert!(matches!(e, CtpError::Syntax { line: 2, .. }), "{e}");
        let e = parse_xml("<script>\n<e t=\"zz\">x</e>\n</script>").expect_err("bad tag");
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(parse_xml("<script>\n<e t=\"00100010\">x\n").is_err());
        assert!(parse_xml("<script>\n<q/>\n</script>").is_err());
    }

    #[test]
    fn properties_form() {
        let s = parse_properties(
            "param.UIDROOT=1.2.3\nset.[0010,0010]PatientName=@empty()\n#set.[0010,0020]PatientID=@keep()\nset.00080018=@hashuid(@UIDROOT,this)\nkeep.group0018=\nkeep.safeprivateelements=\nremove.privategroups=\nremove.unspecifiedelements=\n",
        )
        .expect("parse");
        assert_eq!(s.rules.len(), 2);
        assert_eq!(s.rules[0].name, "PatientName");
        assert_eq!(s.rules[1].text, "@hashuid(@UIDROOT,this)");
        assert!(s.keep_groups.contains(&0x0018));
        assert!(s.keep_safe_private && s.remove_private && s.remove_unspecified);
        assert!(parse_properties("bogus.x=1\n").is_err());
    }
}
