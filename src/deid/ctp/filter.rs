//! CTP filter expressions (DicomFilter, `dicomScript`, pixel-anonymizer signatures) read against
//! a data set: the language is [`crate::ctp_expr`]'s; here its operands are CTP element
//! references, read from the data set's top level. Missing elements read as "".

use dicom_object::InMemDicomObject;

use super::names::{parse_ref, text_of, Reader};
use super::CtpError;
use crate::ctp_expr::{self, Expr};

/// A parsed filter expression; its operands are CTP element references, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(pub Expr<String>);

impl Filter {
    /// Parses a filter script; an empty script is `true.`.
    pub fn parse(text: &str) -> Result<Filter, CtpError> {
        if ctp_expr::is_blank(text) {
            return Ok(Filter(Expr::Const(true)));
        }
        ctp_expr::parse(text)
            .map(Filter)
            .map_err(|e| CtpError::Syntax {
                line: e.line,
                message: format!("filter expression: {}", e.message),
            })
    }

    /// Evaluates against a dataset (top level; missing elements read as "").
    pub fn matches(&self, ds: &InMemDicomObject) -> bool {
        let reader = Reader {
            root: ds,
            ds,
            this: dicom_core::Tag(0xFFFF, 0xFFFF),
        };
        self.0.eval(&|element: &String| {
            parse_ref(element, &Default::default())
                .and_then(|r| reader.element(&r).map(text_of))
                .unwrap_or_default()
        })
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
