//! DIMSE commands the SCP reads (C-STORE-RQ, C-ECHO-RQ, anything else) and the responses it writes.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

/// C-STORE-RQ command field.
pub const C_STORE_RQ: u16 = 0x0001;
/// C-ECHO-RQ command field.
pub const C_ECHO_RQ: u16 = 0x0030;
/// C-CANCEL-RQ command field (no response).
pub const C_CANCEL_RQ: u16 = 0x0FFF;
/// Command Data Set Type: no data set follows.
const NO_DATASET: u16 = 0x0101;

/// Statuses the SCP answers with (PS3.4 B.2.3, PS3.7 C).
pub mod status {
    /// Success.
    pub const SUCCESS: u16 = 0x0000;
    /// Refused: out of resources (disk full, write or catalog failure).
    pub const OUT_OF_RESOURCES: u16 = 0xA700;
    /// Error: data set does not match SOP class (or the command's SOP Instance UID).
    pub const DATASET_MISMATCH: u16 = 0xA900;
    /// Error: cannot understand (the data set cannot be read as DICOM).
    pub const CANNOT_UNDERSTAND: u16 = 0xC000;
    /// Unrecognized operation (a command this SCP does not perform).
    pub const UNRECOGNIZED_OPERATION: u16 = 0x0211;
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

fn trimmed(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

/// Reads a request command set (always Implicit VR Little Endian).
pub fn read_request(bytes: &[u8]) -> Result<Request, String> {
    let obj = InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|_| "unreadable DIMSE command".to_string())?;
    let field = obj
        .get(tags::COMMAND_FIELD)
        .and_then(|e| e.to_int::<u16>().ok())
        .ok_or("DIMSE command without a command field")?;
    let message_id = obj
        .get(tags::MESSAGE_ID)
        .and_then(|e| e.to_int::<u16>().ok())
        .unwrap_or(0);
    let has_dataset = obj
        .get(tags::COMMAND_DATA_SET_TYPE)
        .and_then(|e| e.to_int::<u16>().ok())
        .is_some_and(|t| t != NO_DATASET);
    Ok(Request {
        command_field: field,
        message_id,
        sop_class: trimmed(&obj, tags::AFFECTED_SOP_CLASS_UID),
        sop_instance: trimmed(&obj, tags::AFFECTED_SOP_INSTANCE_UID),
        has_dataset,
    })
}

fn uid(tag: dicom_core::Tag, v: &str) -> DataElement<InMemDicomObject> {
    let mut s = v.to_string();
    if s.len() % 2 == 1 {
        s.push('\0');
    }
    DataElement::new(tag, VR::UI, PrimitiveValue::from(s))
}

fn us(tag: dicom_core::Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

/// The response command set to `req` with `status` (and a short comment on failures; the
/// comment must carry no PHI).
pub fn response(req: &Request, status: u16, comment: Option<&str>) -> Result<Vec<u8>, String> {
    let mut elems = vec![
        us(tags::COMMAND_FIELD, req.command_field | 0x8000),
        us(tags::MESSAGE_ID_BEING_RESPONDED_TO, req.message_id),
        us(tags::COMMAND_DATA_SET_TYPE, NO_DATASET),
        us(tags::STATUS, status),
    ];
    if !req.sop_class.is_empty() {
        elems.push(uid(tags::AFFECTED_SOP_CLASS_UID, &req.sop_class));
    }
    if !req.sop_instance.is_empty() {
        elems.push(uid(tags::AFFECTED_SOP_INSTANCE_UID, &req.sop_instance));
    }
    if let Some(c) = comment.filter(|_| status != status::SUCCESS) {
        // Error Comment is LO: at most 64 characters, even length
        let mut c: String = c.chars().filter(|c| c.is_ascii()).take(64).collect();
        if c.len() % 2 == 1 {
            c.push(' ');
        }
        elems.push(DataElement::new(
            tags::ERROR_COMMENT,
            VR::LO,
            PrimitiveValue::from(c),
        ));
    }
    let cmd = InMemDicomObject::command_from_element_iter(elems);
    let mut out = Vec::new();
    cmd.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| format!("cannot encode a DIMSE response: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(field: u16, with_data: bool) -> Vec<u8> {
        let cmd = InMemDicomObject::command_from_element_iter([
            uid(tags::AFFECTED_SOP_CLASS_UID, "1.2.840.10008.5.1.4.1.1.2"),
            us(tags::COMMAND_FIELD, field),
            us(tags::MESSAGE_ID, 9),
            us(
                tags::COMMAND_DATA_SET_TYPE,
                if with_data { 0x0000 } else { NO_DATASET },
            ),
            uid(tags::AFFECTED_SOP_INSTANCE_UID, "2.25.12345"),
        ]);
        let mut out = Vec::new();
        cmd.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
            .expect("encode");
        out
    }

    #[test]
    fn store_request_is_read_and_answered() {
        let req = read_request(&request(C_STORE_RQ, true)).expect("read");
        assert_eq!(req.command_field, C_STORE_RQ);
        assert_eq!(req.message_id, 9);
        assert_eq!(req.sop_instance, "2.25.12345");
        assert!(req.has_dataset);
        let rsp = response(&req, status::OUT_OF_RESOURCES, Some("disk full")).expect("rsp");
        let obj =
            InMemDicomObject::read_dataset_with_ts(&rsp[..], &IMPLICIT_VR_LITTLE_ENDIAN.erased())
                .expect("decode");
        let get = |t| obj.get(t).and_then(|e| e.to_int::<u16>().ok());
        assert_eq!(get(tags::COMMAND_FIELD), Some(0x8001));
        assert_eq!(get(tags::MESSAGE_ID_BEING_RESPONDED_TO), Some(9));
        assert_eq!(get(tags::STATUS), Some(0xA700));
        assert_eq!(get(tags::COMMAND_DATA_SET_TYPE), Some(NO_DATASET));
        let len = obj
            .get(tags::COMMAND_GROUP_LENGTH)
            .and_then(|e| e.to_int::<u32>().ok())
            .expect("group length");
        assert_eq!(len as usize, rsp.len() - 12);
    }

    #[test]
    fn echo_has_no_dataset_and_garbage_is_an_error() {
        let req = read_request(&request(C_ECHO_RQ, false)).expect("read");
        assert!(!req.has_dataset);
        assert!(read_request(b"\x01\x02\x03").is_err());
        assert!(read_request(&[]).is_err());
    }
}
