//! DICOMweb STOW-RS destination: multipart/related batches, per-instance failures from the response.
//!
//! `dicomweb+http(s)://host:port/base`: each piece is one `POST {base}/studies` with
//! `multipart/related; type="application/dicom"`; the DICOM JSON answer's Failed SOP Sequence
//! (0008,1198) and Referenced SOP Sequence (0008,1199) give the per-instance outcome (also on a
//! 409 with partial failures). Verification lists the study with QIDO-RS
//! (`GET {base}/studies/{StudyUID}/instances`) and compares SOP Instance UIDs: DICOMweb exposes
//! neither sizes nor digests, so the check is presence by UID, not byte identity.

pub mod stow;

use std::collections::BTreeSet;
use std::time::Duration;

use super::http::{self, Client, Method, Reply};
use super::proxy::ProxyRoute;
use dicom_dictionary_std::tags;

use super::{
    Ack, Acks, ArchiveError, Destination, Item, Piece, Receipt, StudyLabels, Verification,
};
use stow::Failure;

/// A DICOMweb origin server.
pub struct DicomWeb {
    base: String,
    client: Client,
}

impl std::fmt::Debug for DicomWeb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DicomWeb")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// UIDs read from an outbox file's header.
fn header_uids(item: &Item) -> Result<(String, String), ArchiveError> {
    let bad = |detail: String| ArchiveError::ReadOutbox {
        path: item.path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, detail),
    };
    let obj = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(&item.path)
        .map_err(|e| bad(e.to_string()))?;
    let get = |tag| -> Result<String, ArchiveError> {
        obj.get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad(format!("no {tag}")))
    };
    Ok((get(tags::STUDY_INSTANCE_UID)?, get(tags::SOP_INSTANCE_UID)?))
}

/// A parsed `dicomweb+http(s)://host[:port]/base` destination (no user part: refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DicomWebUrl {
    /// The service base URL (`http(s)://host[:port]/base`, no trailing slash).
    pub base: String,
    /// TLS trust (from the configured destination; not part of the URL).
    pub trust: super::tls::Trust,
}

impl DicomWebUrl {
    /// Parses `dicomweb+http(s)://host[:port]/base`.
    pub fn parse(dest: &str) -> Result<Self, ArchiveError> {
        let bad = || ArchiveError::BadDestination(super::redact(dest));
        let url = dest.strip_prefix("dicomweb+").ok_or_else(bad)?;
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(bad)?;
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() || host.contains('@') || rest.contains(['?', '#']) {
            return Err(bad());
        }
        Ok(DicomWebUrl {
            base: url.trim_end_matches('/').to_string(),
            trust: Default::default(),
        })
    }

    /// The destination string again.
    pub fn describe(&self) -> String {
        format!("dicomweb+{}", self.base)
    }

    /// `http` or `https`, and the host (without port).
    pub fn scheme_host(&self) -> (&str, &str) {
        let (scheme, rest) = self.base.split_once("://").unwrap_or(("", &self.base));
        let authority = rest.split('/').next().unwrap_or("");
        let host = if authority.starts_with('[') {
            authority.split_inclusive(']').next().unwrap_or(authority)
        } else {
            authority.split(':').next().unwrap_or(authority)
        };
        (scheme, host)
    }
}

impl DicomWeb {
    /// Parses `dicomweb+http(s)://host[:port]/base`.
    pub fn parse(dest: &str) -> Result<Self, ArchiveError> {
        Self::new(DicomWebUrl::parse(dest)?, &ProxyRoute::direct())
    }

    /// A STOW-RS client for a parsed destination, reached as `route` says.
    pub fn new(url: DicomWebUrl, route: &ProxyRoute) -> Result<Self, ArchiveError> {
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .trust(&url.trust)
            .proxy(route)
            .build()
            .map_err(|e| e.into_archive(url.describe()))?;
        Ok(DicomWeb {
            base: url.base,
            client,
        })
    }

    fn unreachable(&self, detail: impl Into<String>) -> ArchiveError {
        ArchiveError::Unreachable {
            destination: self.describe(),
            detail: detail.into(),
        }
    }

    fn rejected(&self, detail: impl Into<String>) -> ArchiveError {
        ArchiveError::Rejected {
            destination: self.describe(),
            detail: detail.into(),
        }
    }

    /// A non-success HTTP status as an error: 408/425/429/5xx wait, other 4xx are final.
    fn status_error(&self, status: u16, what: &str) -> ArchiveError {
        let detail = format!("{what}: HTTP {status}");
        if http::transient_status(status) {
            self.unreachable(detail)
        } else {
            self.rejected(detail)
        }
    }

    fn get_json(&self, path: &str, what: &str) -> Result<Reply, ArchiveError> {
        self.client
            .request(Method::Get, &format!("{}{path}", self.base))
            .header("Accept", "application/dicom+json")
            .send(what)
            .map_err(|e| e.into_archive(self.describe()))
    }
}

impl Destination for DicomWeb {
    fn describe(&self) -> String {
        format!("dicomweb+{}", self.base)
    }

    fn check(&self) -> Result<(), ArchiveError> {
        // a cheap QIDO-RS query that every origin server answers
        let r = self.get_json("/studies?limit=1", "reachability probe")?;
        match r.status {
            200 | 204 => Ok(()),
            s => Err(self.status_error(s, "reachability probe")),
        }
    }

    fn listable(&self) -> bool {
        // QIDO-RS reads a study back only to verify it; a STOW-RS post of an instance the
        // server holds stores it again (or overwrites, or refuses: servers differ)
        false
    }

    fn deliver(&self, piece: &Piece, acks: &dyn Acks) -> Result<Receipt, ArchiveError> {
        let mut parts = Vec::with_capacity(piece.items.len());
        // SOP Instance UID (from the header) → the item
        let mut sent = std::collections::BTreeMap::new();
        for item in &piece.items {
            let bytes = std::fs::read(&item.path).map_err(|source| ArchiveError::ReadOutbox {
                path: item.path.clone(),
                source,
            })?;
            sent.insert(header_uids(item)?.1, item);
            parts.push(bytes);
        }
        if parts.is_empty() {
            return Ok(Receipt {
                stored: 0,
                already_present: 0,
            });
        }
        let mut seed = [0u8; 12];
        getrandom::fill(&mut seed).map_err(|e| self.rejected(format!("no randomness: {e}")))?;
        let boundary = format!("deposit-{}", hex::encode(seed));
        let body = stow::multipart(&boundary, &parts);
        let what = "STOW-RS";
        let reply = self
            .client
            .request(Method::Post, &format!("{}/studies", self.base))
            .header(
                "Content-Type",
                &format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
            )
            .header("Accept", "application/dicom+json")
            .body(body)
            .send(what)
            .map_err(|e| e.into_archive(self.describe()))?;
        if !matches!(reply.status, 200 | 202 | 409) {
            return Err(self.status_error(reply.status, what));
        }
        let answer = stow::parse_response(&reply.body);
        let answer = match answer {
            Some(a) => a,
            None if reply.status == 200 => {
                // no body to read: the server says all were stored
                for item in &piece.items {
                    acks.ack(item, Ack::Stored)?;
                }
                return Ok(Receipt {
                    stored: parts.len() as u64,
                    already_present: 0,
                });
            }
            None => {
                return Err(self.rejected(format!(
                    "{what}: HTTP {} without a readable DICOM JSON answer",
                    reply.status
                )))
            }
        };
        let mut receipt = Receipt {
            stored: 0,
            already_present: 0,
        };
        let mut transient = Vec::new();
        let mut permanent = Vec::new();
        // each instance the answer accounts for is recorded before any failure is reported, so
        // that a retry sends only the others
        for f in &answer.failed {
            match stow::classify(f.reason) {
                Failure::AlreadyPresent => {
                    if let Some(item) = sent.get(&f.sop_instance) {
                        acks.ack(item, Ack::AlreadyPresent)?;
                    }
                    receipt.already_present += 1;
                }
                Failure::Transient => transient.push(describe_failure(f)),
                Failure::Permanent => permanent.push(describe_failure(f)),
            }
        }
        for r in &answer.referenced {
            if let Some(w) = r.warning {
                tracing::warn!(
                    destination = %self.describe(),
                    "instance {}: stored with warning 0x{w:04X}",
                    r.sop_instance
                );
            }
            if let Some(item) = sent.get(&r.sop_instance) {
                acks.ack(item, Ack::Stored)?;
                receipt.stored += 1;
            }
        }
        if !permanent.is_empty() {
            return Err(self.rejected(format!("{what}: {}", permanent.join("; "))));
        }
        if !transient.is_empty() {
            return Err(self.unreachable(format!("{what}: {}", transient.join("; "))));
        }
        let answered = receipt.stored + receipt.already_present;
        if answered < sent.len() as u64 {
            return Err(self.unreachable(format!(
                "{what}: {} of {} instances were not acknowledged",
                sent.len() as u64 - answered,
                sent.len()
            )));
        }
        Ok(receipt)
    }

    fn commit(&self, _labels: &StudyLabels) -> Result<String, ArchiveError> {
        // STOW-RS has no commit step: stored instances are final.
        Ok(self.describe())
    }

    fn verify(&self, _labels: &StudyLabels, items: &[Item]) -> Result<Verification, ArchiveError> {
        let mut by_study: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for item in items {
            let (study, sop) = header_uids(item)?;
            by_study.entry(study).or_default().push(sop);
        }
        let mut v = Verification {
            expected: items.len() as u64,
            matched: 0,
            problems: Vec::new(),
            uri: String::new(),
        };
        for (study, sops) in by_study {
            let what = "QIDO-RS listing";
            let r = self.get_json(&format!("/studies/{study}/instances"), what)?;
            let listed: BTreeSet<String> = match r.status {
                200 => stow::listed_instances(&r.body)
                    .ok_or_else(|| self.rejected(format!("{what}: not DICOM JSON")))?,
                204 | 404 => BTreeSet::new(),
                s => return Err(self.status_error(s, what)),
            };
            for sop in sops {
                if listed.contains(&sop) {
                    v.matched += 1;
                } else {
                    v.problems.push(format!("{sop}: missing"));
                }
            }
            v.uri = format!("{}/studies/{study}", self.base);
        }
        Ok(v)
    }
}

fn describe_failure(f: &stow::Failed) -> String {
    match f.reason {
        Some(r) => format!("instance {}: failure 0x{r:04X}", f.sop_instance),
        None => format!("instance {}: failed (no reason given)", f.sop_instance),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_destination_urls() {
        let d = DicomWeb::parse("dicomweb+http://127.0.0.1:8042/dicom-web/").expect("parse");
        assert_eq!(d.base, "http://127.0.0.1:8042/dicom-web");
        assert_eq!(d.describe(), "dicomweb+http://127.0.0.1:8042/dicom-web");
        assert!(DicomWeb::parse("dicomweb+https://pacs.example/wado").is_ok());
        for bad in [
            "dicomweb+ftp://x/y",
            "dicomweb+http:///y",
            "dicomweb+http://u:p@h/y",
        ] {
            assert!(DicomWeb::parse(bad).is_err(), "{bad}");
        }
    }

    use dicom_core::{DataElement, PrimitiveValue, VR};
    use std::io::{BufRead, BufReader, Read, Write};

    fn part10(dir: &std::path::Path, n: u32) -> Item {
        let uid = format!("2.25.{n}");
        let mut ds = dicom_object::InMemDicomObject::new_empty();
        for (tag, v) in [
            (tags::SOP_CLASS_UID, "1.2.840.10008.5.1.4.1.1.2".to_string()),
            (tags::SOP_INSTANCE_UID, uid.clone()),
            (tags::STUDY_INSTANCE_UID, "2.25.100".to_string()),
        ] {
            ds.put(DataElement::new(tag, VR::UI, PrimitiveValue::from(v)));
        }
        let meta = dicom_object::meta::FileMetaTableBuilder::new()
            .transfer_syntax("1.2.840.10008.1.2.1")
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
            .media_storage_sop_instance_uid(uid.as_str())
            .build()
            .expect("meta");
        let path = dir.join(format!("{n}.dcm"));
        ds.with_exact_meta(meta)
            .write_to_file(&path)
            .expect("write");
        Item {
            path,
            scan: "1".into(),
            name: format!("{uid}.dcm"),
            size: 0,
            md5: String::new(),
        }
    }

    /// Answers one HTTP request with `status` and `body`; returns the request's body.
    fn one_reply(status: u16, body: String) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let h = std::thread::spawn(move || {
            let (sock, _) = l.accept().expect("accept");
            let mut r = BufReader::new(sock.try_clone().expect("clone"));
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).expect("line");
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().expect("length");
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut req = vec![0; len];
            r.read_exact(&mut req).expect("body");
            let mut w = sock;
            write!(
                w,
                "HTTP/1.1 {status} X\r\nContent-Type: application/dicom+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .expect("reply");
            req
        });
        (port, h)
    }

    fn referenced(uid: &str) -> String {
        format!(r#"{{"00081155": {{"vr": "UI", "Value": ["{uid}"]}}}}"#)
    }

    fn failed(uid: &str, reason: u16) -> String {
        format!(
            r#"{{"00081155": {{"vr": "UI", "Value": ["{uid}"]}}, "00081197": {{"vr": "US", "Value": [{reason}]}}}}"#
        )
    }

    fn answer(refs: &[String], fails: &[String]) -> String {
        format!(
            r#"{{"00081198": {{"vr": "SQ", "Value": [{}]}}, "00081199": {{"vr": "SQ", "Value": [{}]}}}}"#,
            fails.join(","),
            refs.join(",")
        )
    }

    #[test]
    fn stow_answers_decide_the_outcome() {
        use crate::error::{Classify, ErrorClass};
        let dir = tempfile::tempdir().expect("tmp");
        let piece = Piece {
            labels: StudyLabels {
                project: "P".into(),
                subject: "S".into(),
                session: "E".into(),
            },
            items: vec![part10(dir.path(), 1), part10(dir.path(), 2)],
        };
        let put = |status: u16, body: String| {
            let (port, srv) = one_reply(status, body);
            let d = DicomWeb::parse(&format!("dicomweb+http://127.0.0.1:{port}/dw")).expect("p");
            let r = d.put(&piece);
            let req = srv.join().expect("server");
            (r, req)
        };
        let (ok, req) = put(
            200,
            answer(&[referenced("2.25.1"), referenced("2.25.2")], &[]),
        );
        assert_eq!(ok.expect("stored").stored, 2);
        let text = String::from_utf8_lossy(&req);
        assert_eq!(
            text.matches("Content-Type: application/dicom\r\n").count(),
            2
        );

        let (r, _) = put(
            202,
            answer(&[referenced("2.25.1")], &[failed("2.25.2", 0x0111)]),
        );
        let r = r.expect("duplicate counts as present");
        assert_eq!((r.stored, r.already_present), (1, 1));

        let (r, _) = put(
            409,
            answer(&[referenced("2.25.1")], &[failed("2.25.2", 0xA900)]),
        );
        let e = r.expect_err("partial failure");
        assert_eq!(e.class(), ErrorClass::Permanent, "{e}");
        assert!(e.to_string().contains("2.25.2"), "{e}");

        let (r, _) = put(
            409,
            answer(&[], &[failed("2.25.1", 0xA700), failed("2.25.2", 0xA700)]),
        );
        assert_eq!(r.expect_err("busy").class(), ErrorClass::Transient);

        let (r, _) = put(200, answer(&[referenced("2.25.1")], &[]));
        assert_eq!(
            r.expect_err("one unacknowledged").class(),
            ErrorClass::Transient
        );

        let (r, _) = put(503, String::new());
        assert_eq!(r.expect_err("503").class(), ErrorClass::Transient);
        let (r, _) = put(400, String::new());
        assert_eq!(r.expect_err("400").class(), ErrorClass::Permanent);
    }

    #[test]
    fn refused_connection_is_transient() {
        use crate::error::{Classify, ErrorClass};
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        let d = DicomWeb::parse(&format!("dicomweb+http://127.0.0.1:{port}/dw")).expect("parse");
        let e = d.check().expect_err("nobody listens");
        assert_eq!(e.class(), ErrorClass::Transient, "{e}");
    }
}
