//! STOW-RS wire format: the multipart/related request body, and the DICOM JSON answers
//! (STOW response sequences, QIDO-RS instance listings) reduced to what the queue needs.

use std::collections::BTreeSet;

use serde_json::Value;

/// Builds a `multipart/related` body of whole Part-10 files.
pub fn multipart(boundary: &str, parts: &[Vec<u8>]) -> Vec<u8> {
    let size: usize = parts.iter().map(|p| p.len() + boundary.len() + 64).sum();
    let mut body = Vec::with_capacity(size + boundary.len() + 8);
    for p in parts {
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(b"\r\nContent-Type: application/dicom\r\n\r\n");
        body.extend_from_slice(p);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--");
    body.extend_from_slice(boundary.as_bytes());
    body.extend_from_slice(b"--\r\n");
    body
}

/// An instance the server refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// (0008,1155)
    pub sop_instance: String,
    /// (0008,1197) Failure Reason.
    pub reason: Option<u16>,
}

/// An instance the server stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referenced {
    /// (0008,1155)
    pub sop_instance: String,
    /// (0008,1196) Warning Reason, when stored with a warning.
    pub warning: Option<u16>,
}

/// The STOW-RS answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// Failed SOP Sequence (0008,1198).
    pub failed: Vec<Failed>,
    /// Referenced SOP Sequence (0008,1199).
    pub referenced: Vec<Referenced>,
}

/// What a failure reason means for the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 0x0111 duplicate SOP instance: the server already holds it.
    AlreadyPresent,
    /// Out of resources: retry later.
    Transient,
    /// Refused for good.
    Permanent,
}

/// Classifies a Failure Reason (PS3.18 §10.5.3, PS3.4 Annex B).
pub fn classify(reason: Option<u16>) -> Failure {
    match reason {
        Some(0x0111) => Failure::AlreadyPresent,
        Some(0xA700..=0xA7FF) | Some(0x0213) => Failure::Transient,
        _ => Failure::Permanent,
    }
}

fn first_str(item: &Value, tag: &str) -> Option<String> {
    item.get(tag)?
        .get("Value")?
        .get(0)?
        .as_str()
        .map(str::to_string)
}

fn first_u16(item: &Value, tag: &str) -> Option<u16> {
    let v = item.get(tag)?.get("Value")?.get(0)?;
    v.as_u64()
        .and_then(|n| u16::try_from(n).ok())
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn sequence<'a>(root: &'a Value, tag: &str) -> impl Iterator<Item = &'a Value> {
    root.get(tag)
        .and_then(|s| s.get("Value"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Reads a STOW-RS DICOM JSON answer (an object, or an array holding one).
pub fn parse_response(body: &str) -> Option<Answer> {
    let v: Value = serde_json::from_str(body).ok()?;
    let root = match &v {
        Value::Array(a) => a.first()?.clone(),
        Value::Object(_) => v,
        _ => return None,
    };
    let failed = sequence(&root, "00081198")
        .filter_map(|i| {
            Some(Failed {
                sop_instance: first_str(i, "00081155")?,
                reason: first_u16(i, "00081197"),
            })
        })
        .collect();
    let referenced = sequence(&root, "00081199")
        .filter_map(|i| {
            Some(Referenced {
                sop_instance: first_str(i, "00081155")?,
                warning: first_u16(i, "00081196"),
            })
        })
        .collect();
    Some(Answer { failed, referenced })
}

/// SOP Instance UIDs (0008,0018) of a QIDO-RS instance listing.
pub fn listed_instances(body: &str) -> Option<BTreeSet<String>> {
    let v: Value = serde_json::from_str(body).ok()?;
    Some(
        v.as_array()?
            .iter()
            .filter_map(|i| first_str(i, "00080018"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_frames_every_part() {
        let body = multipart("B", &[b"one".to_vec(), b"two".to_vec()]);
        let text = String::from_utf8(body).expect("utf8");
        assert_eq!(
            text,
            "--B\r\nContent-Type: application/dicom\r\n\r\none\r\n\
             --B\r\nContent-Type: application/dicom\r\n\r\ntwo\r\n--B--\r\n"
        );
    }

    #[test]
    fn partial_failure_answer_is_read() {
        let body = r#"{
          "00081190": {"vr": "UR", "Value": ["http://x/studies/1.2"]},
          "00081198": {"vr": "SQ", "Value": [
            {"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
             "00081155": {"vr": "UI", "Value": ["2.25.9"]},
             "00081197": {"vr": "US", "Value": [43264]}},
            {"00081155": {"vr": "UI", "Value": ["2.25.10"]},
             "00081197": {"vr": "US", "Value": [272]}}]},
          "00081199": {"vr": "SQ", "Value": [
            {"00081155": {"vr": "UI", "Value": ["2.25.8"]},
             "00081196": {"vr": "US", "Value": [45056]}}]}
        }"#;
        let a = parse_response(body).expect("parse");
        assert_eq!(a.failed.len(), 2);
        assert_eq!(a.failed[0].reason, Some(0xA900));
        assert_eq!(classify(a.failed[0].reason), Failure::Permanent);
        assert_eq!(classify(a.failed[1].reason), Failure::Permanent);
        assert_eq!(classify(Some(0xA700)), Failure::Transient);
        assert_eq!(classify(Some(0x0111)), Failure::AlreadyPresent);
        assert_eq!(
            a.referenced,
            vec![Referenced {
                sop_instance: "2.25.8".into(),
                warning: Some(0xB000)
            }]
        );
        assert!(parse_response("not json").is_none());
    }

    #[test]
    fn listing_yields_sop_uids() {
        let body = r#"[{"00080018": {"vr": "UI", "Value": ["2.25.1"]}},
                       {"00080018": {"vr": "UI", "Value": ["2.25.2"]}}, {}]"#;
        let l = listed_instances(body).expect("list");
        assert_eq!(l.len(), 2);
        assert!(l.contains("2.25.2"));
    }
}
