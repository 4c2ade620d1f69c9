//! DIMSE messages the C-STORE SCU needs: C-ECHO-RQ and C-STORE-RQ command sets, reading the
//! response status, and what a status means for the queue (success, warning, transient, permanent).

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

/// Verification SOP Class (C-ECHO).
pub const VERIFICATION: &str = "1.2.840.10008.1.1";
/// Implicit VR Little Endian.
pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
/// Explicit VR Little Endian.
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
/// Deflated Explicit VR Little Endian.
pub const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";
/// Explicit VR Big Endian (retired).
pub const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// True for transfer syntaxes whose data can be re-encoded into another native syntax
/// without touching compressed pixel data.
pub fn is_native(ts: &str) -> bool {
    matches!(ts, IMPLICIT_LE | EXPLICIT_LE | DEFLATED_LE | EXPLICIT_BE)
}

fn uid(tag: dicom_core::Tag, v: &str) -> DataElement<InMemDicomObject> {
    // UIDs are padded to even length with NUL
    let mut s = v.to_string();
    if s.len() % 2 == 1 {
        s.push('\0');
    }
    DataElement::new(tag, VR::UI, PrimitiveValue::from(s))
}

fn us(tag: dicom_core::Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

fn encode(cmd: InMemDicomObject) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    cmd.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| format!("cannot encode a DIMSE command: {e}"))?;
    Ok(out)
}

/// The C-ECHO-RQ command set.
pub fn echo_rq(message_id: u16) -> Result<Vec<u8>, String> {
    encode(InMemDicomObject::command_from_element_iter([
        uid(tags::AFFECTED_SOP_CLASS_UID, VERIFICATION),
        us(tags::COMMAND_FIELD, 0x0030),
        us(tags::MESSAGE_ID, message_id),
        us(tags::COMMAND_DATA_SET_TYPE, 0x0101),
    ]))
}

/// The C-STORE-RQ command set (medium priority, a data set follows).
pub fn store_rq(message_id: u16, sop_class: &str, sop_instance: &str) -> Result<Vec<u8>, String> {
    encode(InMemDicomObject::command_from_element_iter([
        uid(tags::AFFECTED_SOP_CLASS_UID, sop_class),
        us(tags::COMMAND_FIELD, 0x0001),
        us(tags::MESSAGE_ID, message_id),
        us(tags::PRIORITY, 0x0000),
        us(tags::COMMAND_DATA_SET_TYPE, 0x0000),
        uid(tags::AFFECTED_SOP_INSTANCE_UID, sop_instance),
    ]))
}

/// The C-STORE-RSP command set (used by the test SCP).
#[cfg(test)]
pub fn store_rsp(responding_to: u16, sop_class: &str, status: u16) -> Result<Vec<u8>, String> {
    encode(InMemDicomObject::command_from_element_iter([
        uid(tags::AFFECTED_SOP_CLASS_UID, sop_class),
        us(tags::COMMAND_FIELD, 0x8001),
        us(tags::MESSAGE_ID_BEING_RESPONDED_TO, responding_to),
        us(tags::COMMAND_DATA_SET_TYPE, 0x0101),
        us(tags::STATUS, status),
    ]))
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

/// Reads a response command set (Implicit VR Little Endian).
pub fn read_response(bytes: &[u8]) -> Result<Response, String> {
    let obj = InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| format!("unreadable DIMSE response: {e}"))?;
    let get = |tag| -> Result<u16, String> {
        obj.get(tag)
            .and_then(|e| e.to_int::<u16>().ok())
            .ok_or_else(|| format!("DIMSE response without {tag}"))
    };
    Ok(Response {
        command_field: get(tags::COMMAND_FIELD)?,
        responding_to: get(tags::MESSAGE_ID_BEING_RESPONDED_TO).unwrap_or(0),
        status: get(tags::STATUS)?,
        has_dataset: get(tags::COMMAND_DATA_SET_TYPE).unwrap_or(0x0101) != 0x0101,
    })
}

/// Study Root Query/Retrieve Information Model - FIND.
pub const STUDY_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";

/// The C-FIND-RQ command set (a data set, the identifier, follows).
pub fn find_rq(message_id: u16) -> Result<Vec<u8>, String> {
    encode(InMemDicomObject::command_from_element_iter([
        uid(tags::AFFECTED_SOP_CLASS_UID, STUDY_ROOT_FIND),
        us(tags::COMMAND_FIELD, 0x0020),
        us(tags::MESSAGE_ID, message_id),
        us(tags::PRIORITY, 0x0000),
        us(tags::COMMAND_DATA_SET_TYPE, 0x0000),
    ]))
}

/// The IMAGE-level identifier listing one series' SOP Instance UIDs (Implicit VR LE).
pub fn image_query(study: &str, series: &str) -> Result<Vec<u8>, String> {
    let mut q = InMemDicomObject::new_empty();
    q.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from("IMAGE "),
    ));
    q.put(uid(tags::STUDY_INSTANCE_UID, study));
    q.put(uid(tags::SERIES_INSTANCE_UID, series));
    q.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::Empty,
    ));
    encode(q)
}

/// The SOP Instance UID in a C-FIND response identifier.
pub fn found_instance(bytes: &[u8]) -> Option<String> {
    let obj =
        InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased()).ok()?;
    let v = obj.get(tags::SOP_INSTANCE_UID)?.to_str().ok()?;
    Some(v.trim_end_matches(['\0', ' ']).to_string()).filter(|s| !s.is_empty())
}

/// The Message ID of a request command (used by the test SCP).
#[cfg(test)]
pub fn read_response_any(bytes: &[u8]) -> u16 {
    InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .ok()
        .and_then(|o| o.get(tags::MESSAGE_ID).and_then(|e| e.to_int::<u16>().ok()))
        .unwrap_or(0)
}

/// What a C-STORE status means (PS3.4 B.2.3, PS3.7 C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored.
    Success,
    /// Stored, with a warning (coercion, elements discarded, data set does not match).
    Warning,
    /// Refused for now (out of resources): retry later.
    Transient,
    /// Refused for good (cannot understand, data set does not match the SOP class, …).
    Permanent,
}

/// Classifies a C-STORE response status.
pub fn outcome(status: u16) -> Outcome {
    match status {
        0x0000 => Outcome::Success,
        0x0001 | 0xB000..=0xBFFF => Outcome::Warning,
        // out of resources; 0x0213 resource limitation
        0xA700..=0xA7FF | 0x0213 => Outcome::Transient,
        _ => Outcome::Permanent,
    }
}

/// A short description of a status, for problems and logs.
pub fn describe(status: u16) -> String {
    let what = match status {
        0x0000 => "success",
        0x0001 => "warning",
        0xB000 => "coercion of data elements",
        0xB006 => "elements discarded",
        0xB007 => "data set does not match SOP class (stored anyway)",
        0xA700..=0xA7FF => "out of resources",
        0xA900..=0xA9FF => "data set does not match SOP class",
        0xC000..=0xCFFF => "cannot understand",
        0x0122 => "SOP class not supported",
        0x0124 => "not authorized",
        0x0110 => "processing failure",
        0x0211 => "unrecognized operation",
        0x0213 => "resource limitation",
        _ => "failure",
    };
    format!("status 0x{status:04X} ({what})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(outcome(0x0000), Outcome::Success);
        for w in [0xB000, 0xB006, 0xB007, 0x0001] {
            assert_eq!(outcome(w), Outcome::Warning, "{w:04X}");
        }
        assert_eq!(outcome(0xA700), Outcome::Transient);
        assert_eq!(outcome(0xA7FF), Outcome::Transient);
        for p in [0xA900, 0xA9FF, 0xC000, 0xC123, 0x0122, 0x0110] {
            assert_eq!(outcome(p), Outcome::Permanent, "{p:04X}");
        }
        assert!(describe(0xA900).contains("does not match"));
    }

    #[test]
    fn store_request_round_trips_through_the_parser() {
        let bytes = store_rq(7, "1.2.840.10008.5.1.4.1.1.2", "2.25.1").expect("encode");
        let obj =
            InMemDicomObject::read_dataset_with_ts(&bytes[..], &IMPLICIT_VR_LITTLE_ENDIAN.erased())
                .expect("decode");
        let field = obj
            .get(tags::COMMAND_FIELD)
            .and_then(|e| e.to_int::<u16>().ok());
        assert_eq!(field, Some(1));
        let len = obj
            .get(tags::COMMAND_GROUP_LENGTH)
            .and_then(|e| e.to_int::<u32>().ok())
            .expect("group length");
        // group length counts every byte after the group length element itself (12 bytes)
        assert_eq!(len as usize, bytes.len() - 12);
        let iuid = obj
            .get(tags::AFFECTED_SOP_INSTANCE_UID)
            .and_then(|e| e.to_str().ok())
            .expect("uid");
        assert_eq!(iuid.trim_end_matches('\0'), "2.25.1");
    }

    #[test]
    fn response_status_is_read() {
        let bytes = encode(InMemDicomObject::command_from_element_iter([
            uid(tags::AFFECTED_SOP_CLASS_UID, "1.2.3"),
            us(tags::COMMAND_FIELD, 0x8001),
            us(tags::MESSAGE_ID_BEING_RESPONDED_TO, 7),
            us(tags::COMMAND_DATA_SET_TYPE, 0x0101),
            us(tags::STATUS, 0xB007),
        ]))
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
}
