//! DIMSE command sets: the elements they are built from, encoding, and reading a request (what
//! the SCP needs) or a response (what the SCU needs) back.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

/// C-STORE-RQ command field.
pub const C_STORE_RQ: u16 = 0x0001;
/// C-FIND-RQ command field.
pub const C_FIND_RQ: u16 = 0x0020;
/// C-ECHO-RQ command field.
pub const C_ECHO_RQ: u16 = 0x0030;
/// C-CANCEL-RQ command field (no response).
pub const C_CANCEL_RQ: u16 = 0x0FFF;
/// A response's command field is its request's with this bit set.
pub const RESPONSE_BIT: u16 = 0x8000;
/// Command Data Set Type: no data set follows.
pub const NO_DATASET: u16 = 0x0101;
/// Command Data Set Type: a data set follows (any value but [`NO_DATASET`]; this is the one sent).
pub const WITH_DATASET: u16 = 0x0000;

/// A UI element, padded to even length with NUL.
pub fn uid(tag: Tag, v: &str) -> DataElement<InMemDicomObject> {
    let mut s = v.to_string();
    if s.len() % 2 == 1 {
        s.push('\0');
    }
    DataElement::new(tag, VR::UI, PrimitiveValue::from(s))
}

/// A US element.
pub fn us(tag: Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

/// Encodes a data set (a command set, or a C-FIND identifier) in Implicit VR Little Endian.
pub fn encode(obj: InMemDicomObject) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| format!("cannot encode a DIMSE command: {e}"))?;
    Ok(out)
}

/// A command set from its elements (the group length is computed), encoded.
pub fn command(
    elems: impl IntoIterator<Item = DataElement<InMemDicomObject>>,
) -> Result<Vec<u8>, String> {
    encode(InMemDicomObject::command_from_element_iter(elems))
}

/// Deepest sequence nesting accepted in a command set or identifier from a peer: dicom-rs
/// builds objects recursively, so deeper input is refused before it is built.
pub const MAX_DEPTH: usize = 64;

/// Whether a peer's Implicit VR Little Endian data set can be built safely: walked with
/// dicom-rs's token reader (a state machine, no recursion), every element header's claimed
/// length fits in the bytes and sequences nest no deeper than [`MAX_DEPTH`]. Checked on each
/// header before its value is read, so nothing is allocated for an impossible length.
pub fn bounded(bytes: &[u8]) -> bool {
    use dicom_parser::dataset::read::{DataSetReaderOptions, ValueReadStrategy};
    use dicom_parser::dataset::{DataSetReader, DataToken};
    let ts = IMPLICIT_VR_LITTLE_ENDIAN.erased();
    let opts = DataSetReaderOptions::default().value_read(ValueReadStrategy::Preserved);
    let Ok(tokens) = DataSetReader::new_with_ts_options(bytes, &ts, opts) else {
        return false;
    };
    let size = bytes.len() as u64;
    let mut depth = 0usize;
    for tok in tokens {
        let Ok(tok) = tok else {
            return true; // a parse problem, not a bound: the reader reports it
        };
        let claimed = match tok {
            DataToken::ElementHeader(h) => h.len.get(),
            DataToken::ItemStart { len } => len.get(),
            DataToken::SequenceStart { .. } => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return false;
                }
                None
            }
            DataToken::SequenceEnd => {
                depth = depth.saturating_sub(1);
                None
            }
            _ => None,
        };
        if claimed.is_some_and(|len| u64::from(len) > size) {
            return false;
        }
    }
    true
}

/// Decodes an Implicit VR Little Endian data set (a command set or an identifier); `None` when
/// it cannot be read or is not [`bounded`].
pub fn decode(bytes: &[u8]) -> Option<InMemDicomObject> {
    if !bounded(bytes) {
        return None;
    }
    InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased()).ok()
}

/// An element's value as `u16`, if present and numeric.
pub fn get_u16(obj: &InMemDicomObject, tag: Tag) -> Option<u16> {
    obj.get(tag).and_then(|e| e.to_int::<u16>().ok())
}

/// An element's text without trailing NUL and space padding; empty when absent.
pub fn trimmed(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

/// A request command as far as the SCP needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// (0000,0100)
    pub command_field: u16,
    /// (0000,0110)
    pub message_id: u16,
    /// (0000,0002), trimmed; empty when absent.
    pub sop_class: String,
    /// (0000,1000), trimmed; empty when absent.
    pub sop_instance: String,
    /// A data set follows the command.
    pub has_dataset: bool,
}

/// Reads a request command set.
pub fn read_request(bytes: &[u8]) -> Result<Request, String> {
    let obj = decode(bytes).ok_or("unreadable DIMSE command")?;
    let field =
        get_u16(&obj, tags::COMMAND_FIELD).ok_or("DIMSE command without a command field")?;
    Ok(Request {
        command_field: field,
        message_id: get_u16(&obj, tags::MESSAGE_ID).unwrap_or(0),
        sop_class: trimmed(&obj, tags::AFFECTED_SOP_CLASS_UID),
        sop_instance: trimmed(&obj, tags::AFFECTED_SOP_INSTANCE_UID),
        has_dataset: get_u16(&obj, tags::COMMAND_DATA_SET_TYPE).is_some_and(|t| t != NO_DATASET),
    })
}

/// A response command: its command field, the request it answers and its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// (0000,0100)
    pub command_field: u16,
    /// (0000,0120) Message ID Being Responded To.
    pub responding_to: u16,
    /// (0000,0900)
    pub status: u16,
    /// A data set follows (Command Data Set Type other than 0x0101).
    pub has_dataset: bool,
}

/// Reads a response command set.
pub fn read_response(bytes: &[u8]) -> Result<Response, String> {
    if !bounded(bytes) {
        return Err("unreadable DIMSE response: nested too deep or longer than sent".into());
    }
    let obj = InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| format!("unreadable DIMSE response: {e}"))?;
    let get = |tag| -> Result<u16, String> {
        get_u16(&obj, tag).ok_or_else(|| format!("DIMSE response without {tag}"))
    };
    Ok(Response {
        command_field: get(tags::COMMAND_FIELD)?,
        responding_to: get(tags::MESSAGE_ID_BEING_RESPONDED_TO).unwrap_or(0),
        status: get(tags::STATUS)?,
        has_dataset: get(tags::COMMAND_DATA_SET_TYPE).unwrap_or(NO_DATASET) != NO_DATASET,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(field: u16, with_data: bool) -> Vec<u8> {
        command([
            uid(tags::AFFECTED_SOP_CLASS_UID, "1.2.840.10008.5.1.4.1.1.2"),
            us(tags::COMMAND_FIELD, field),
            us(tags::MESSAGE_ID, 9),
            us(
                tags::COMMAND_DATA_SET_TYPE,
                if with_data { WITH_DATASET } else { NO_DATASET },
            ),
            uid(tags::AFFECTED_SOP_INSTANCE_UID, "2.25.12345"),
        ])
        .expect("encode")
    }

    #[test]
    fn requests_are_read() {
        let req = read_request(&request(C_STORE_RQ, true)).expect("read");
        assert_eq!(req.command_field, C_STORE_RQ);
        assert_eq!(req.message_id, 9);
        assert_eq!(req.sop_class, "1.2.840.10008.5.1.4.1.1.2");
        assert_eq!(req.sop_instance, "2.25.12345");
        assert!(req.has_dataset);
        let echo = read_request(&request(C_ECHO_RQ, false)).expect("read");
        assert!(!echo.has_dataset);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b"\x01\x02\x03"[..], &[], &[0xFF; 64]] {
            assert!(read_request(bad).is_err());
            assert!(read_response(bad).is_err());
        }
    }

    #[test]
    fn response_status_is_read() {
        let bytes = command([
            uid(tags::AFFECTED_SOP_CLASS_UID, "1.2.3"),
            us(tags::COMMAND_FIELD, 0x8001),
            us(tags::MESSAGE_ID_BEING_RESPONDED_TO, 7),
            us(tags::COMMAND_DATA_SET_TYPE, NO_DATASET),
            us(tags::STATUS, 0xB007),
        ])
        .expect("encode");
        let r = read_response(&bytes).expect("read");
        assert_eq!(
            r,
            Response {
                command_field: 0x8001,
                responding_to: 7,
                status: 0xB007,
                has_dataset: false
            }
        );
    }

    #[test]
    fn a_command_set_nested_too_deep_or_claiming_too_much_is_not_built() {
        // (0008,1115) SQ nested 5,000 levels, implicit VR little endian
        let mut deep = Vec::new();
        for _ in 0..5_000 {
            deep.extend_from_slice(&[0x08, 0x00, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
            deep.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        assert!(!bounded(&deep));
        assert!(decode(&deep).is_none());
        assert!(read_request(&deep).is_err());
        assert!(read_response(&deep).is_err());
        // (0000,0002) claiming 4 GB
        let long = [0x00, 0x00, 0x02, 0x00, 0xF0, 0xFF, 0xFF, 0xFF, b'1', 0];
        assert!(!bounded(&long));
        assert!(decode(&long).is_none());
        assert!(bounded(&request(C_ECHO_RQ, false)));
    }
}
