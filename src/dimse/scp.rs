//! The response command set the SCP answers a request with.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

use super::command::{command, uid, us, Request, NO_DATASET, RESPONSE_BIT};
use super::status;

/// Error Comment is LO: at most 64 characters.
const COMMENT_MAX: usize = 64;

/// The response command set to `req` with `status` (and a short comment on failures; the
/// comment must carry no PHI).
pub fn response(req: &Request, status: u16, comment: Option<&str>) -> Result<Vec<u8>, String> {
    let mut elems = vec![
        us(tags::COMMAND_FIELD, req.command_field | RESPONSE_BIT),
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
        // even length
        let mut c: String = c
            .chars()
            .filter(|c| c.is_ascii())
            .take(COMMENT_MAX)
            .collect();
        if c.len() % 2 == 1 {
            c.push(' ');
        }
        elems.push(DataElement::new(
            tags::ERROR_COMMENT,
            VR::LO,
            PrimitiveValue::from(c),
        ));
    }
    command(elems).map_err(|_| "cannot encode a DIMSE response".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dimse::command::{decode, get_u16, C_STORE_RQ};

    #[test]
    fn store_request_is_answered() {
        let req = Request {
            command_field: C_STORE_RQ,
            message_id: 9,
            sop_class: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance: "2.25.12345".into(),
            has_dataset: true,
        };
        let rsp = response(&req, status::OUT_OF_RESOURCES, Some("disk full")).expect("rsp");
        let obj = decode(&rsp).expect("decode");
        let get = |t| get_u16(&obj, t);
        assert_eq!(get(tags::COMMAND_FIELD), Some(0x8001));
        assert_eq!(get(tags::MESSAGE_ID_BEING_RESPONDED_TO), Some(9));
        assert_eq!(get(tags::STATUS), Some(0xA700));
        assert_eq!(get(tags::COMMAND_DATA_SET_TYPE), Some(NO_DATASET));
        let len = obj
            .get(tags::COMMAND_GROUP_LENGTH)
            .and_then(|e| e.to_int::<u32>().ok())
            .expect("group length");
        assert_eq!(len as usize, rsp.len() - 12);
        let r = crate::dimse::read_response(&rsp).expect("the SCU reads it");
        assert_eq!(
            (r.responding_to, r.status, r.has_dataset),
            (9, 0xA700, false)
        );
    }
}
