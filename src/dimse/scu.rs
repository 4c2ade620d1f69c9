//! The requests the C-STORE SCU sends (C-ECHO, C-STORE, C-FIND with its IMAGE-level identifier)
//! and what it reads from a C-FIND match.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::command::{
    command, decode, encode, trimmed, uid, us, C_ECHO_RQ, C_FIND_RQ, C_STORE_RQ, NO_DATASET,
    WITH_DATASET,
};
use super::{STUDY_ROOT_FIND, VERIFICATION};

/// Priority: medium.
const MEDIUM: u16 = 0x0000;

/// The C-ECHO-RQ command set.
pub fn echo_rq(message_id: u16) -> Result<Vec<u8>, String> {
    command([
        uid(tags::AFFECTED_SOP_CLASS_UID, VERIFICATION),
        us(tags::COMMAND_FIELD, C_ECHO_RQ),
        us(tags::MESSAGE_ID, message_id),
        us(tags::COMMAND_DATA_SET_TYPE, NO_DATASET),
    ])
}

/// The C-STORE-RQ command set (medium priority, a data set follows).
pub fn store_rq(message_id: u16, sop_class: &str, sop_instance: &str) -> Result<Vec<u8>, String> {
    command([
        uid(tags::AFFECTED_SOP_CLASS_UID, sop_class),
        us(tags::COMMAND_FIELD, C_STORE_RQ),
        us(tags::MESSAGE_ID, message_id),
        us(tags::PRIORITY, MEDIUM),
        us(tags::COMMAND_DATA_SET_TYPE, WITH_DATASET),
        uid(tags::AFFECTED_SOP_INSTANCE_UID, sop_instance),
    ])
}

/// The C-FIND-RQ command set (a data set, the identifier, follows).
pub fn find_rq(message_id: u16) -> Result<Vec<u8>, String> {
    command([
        uid(tags::AFFECTED_SOP_CLASS_UID, STUDY_ROOT_FIND),
        us(tags::COMMAND_FIELD, C_FIND_RQ),
        us(tags::MESSAGE_ID, message_id),
        us(tags::PRIORITY, MEDIUM),
        us(tags::COMMAND_DATA_SET_TYPE, WITH_DATASET),
    ])
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
    Some(trimmed(&decode(bytes)?, tags::SOP_INSTANCE_UID)).filter(|s| !s.is_empty())
}

/// The C-STORE-RSP command set (used by the test SCP).
#[cfg(test)]
pub fn store_rsp(responding_to: u16, sop_class: &str, status: u16) -> Result<Vec<u8>, String> {
    command([
        uid(tags::AFFECTED_SOP_CLASS_UID, sop_class),
        us(
            tags::COMMAND_FIELD,
            C_STORE_RQ | super::command::RESPONSE_BIT,
        ),
        us(tags::MESSAGE_ID_BEING_RESPONDED_TO, responding_to),
        us(tags::COMMAND_DATA_SET_TYPE, NO_DATASET),
        us(tags::STATUS, status),
    ])
}

/// The Message ID of a request command (used by the test SCP).
#[cfg(test)]
pub fn read_response_any(bytes: &[u8]) -> u16 {
    decode(bytes)
        .and_then(|o| super::command::get_u16(&o, tags::MESSAGE_ID))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dimse::command::get_u16;

    #[test]
    fn store_request_round_trips_through_the_parser() {
        let bytes = store_rq(7, "1.2.840.10008.5.1.4.1.1.2", "2.25.1").expect("encode");
        let obj = decode(&bytes).expect("decode");
        assert_eq!(get_u16(&obj, tags::COMMAND_FIELD), Some(1));
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
    fn the_scp_reads_what_the_scu_sends() {
        let req =
            crate::dimse::read_request(&store_rq(3, "1.2.3", "2.25.9").expect("rq")).expect("read");
        assert_eq!(
            (req.command_field, req.message_id, req.has_dataset),
            (C_STORE_RQ, 3, true)
        );
        assert_eq!(
            (req.sop_class.as_str(), req.sop_instance.as_str()),
            ("1.2.3", "2.25.9")
        );
        let echo = crate::dimse::read_request(&echo_rq(4).expect("rq")).expect("read");
        assert_eq!((echo.command_field, echo.has_dataset), (C_ECHO_RQ, false));
        let find = crate::dimse::read_request(&find_rq(5).expect("rq")).expect("read");
        assert_eq!((find.command_field, find.has_dataset), (C_FIND_RQ, true));
    }

    #[test]
    fn a_find_match_yields_its_instance() {
        let q = image_query("2.25.1", "2.25.2").expect("query");
        assert_eq!(found_instance(&q), None, "the query's key is empty");
        let mut m = InMemDicomObject::new_empty();
        m.put(uid(tags::SOP_INSTANCE_UID, "2.25.345"));
        assert_eq!(
            found_instance(&encode(m).expect("enc")).as_deref(),
            Some("2.25.345")
        );
        assert_eq!(found_instance(b"\x01"), None);
    }
}
