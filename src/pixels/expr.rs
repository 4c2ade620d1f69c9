//! Pixel-mask signatures (`Manufacturer.containsIgnoreCase("GE") * Rows.equals("512")`): CTP
//! expressions ([`crate::ctp_expr`]) whose operands are header keywords or `[gggg,eeee]` tags,
//! resolved when parsed and read from header values.

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

/// A parsed signature.
pub type Expr = crate::ctp_expr::Expr<Field>;

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

/// An operand as written: `[gggg,eeee]`, or a keyword (letters, digits, `_`).
fn field(operand: String) -> Result<Field, String> {
    if let Some(inner) = operand.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or("unclosed [")?;
        return field_of(inner, true);
    }
    if operand
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return field_of(&operand, false);
    }
    Err(format!(
        "expected a keyword or [gggg,eeee], found '{operand}'"
    ))
}

/// Parses an expression; an error names what was wrong (no header values involved).
pub fn parse(src: &str) -> Result<Expr, String> {
    crate::ctp_expr::parse(src)
        .map_err(|e| e.to_string())?
        .try_map(&mut field)
}

/// Evaluates against `value(tag)` (the element's text, "" when missing).
pub fn eval(e: &Expr, value: &dyn Fn(Tag) -> String) -> bool {
    e.eval(&|f: &Field| match f {
        Field::Tag(t) => value(*t),
        Field::Unknown(_) => String::new(),
    })
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

    /// The language itself is tested in `ctp_expr`; here, what pixels adds: keywords and
    /// `[gggg,eeee]` resolved to tags, a missing element read as "", an unknown keyword
    /// matching nothing.
    #[test]
    fn names_resolve_to_the_elements_of_the_object() {
        let t = |s: &str| eval(&parse(s).expect("parses"), &ds);
        assert!(t(
            r#"Manufacturer.containsIgnoreCase("ge medical") * Rows.equals("512")"#
        ));
        assert!(t(r#"[0008,0060].equals("CT") * !Modality.equals("MR")"#));
        assert!(
            t(r#"SeriesDescription.equals("")"#),
            "missing reads as empty"
        );
        assert!(!t(r#"NoSuchKeyword.equals("x")"#));
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
