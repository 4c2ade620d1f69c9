//! DICOM C-STORE destination (SCU over dicom-ul): association negotiation, per-instance status.
//!
//! `dicom://CALLED_AE@host:port[?calling=AE]` (calling AE default `DEPOSIT`). One association
//! per piece; presentation contexts are proposed from the piece's files: each (SOP class, file
//! transfer syntax) pair, plus Explicit/Implicit VR Little Endian per SOP class as a fallback
//! (native files are re-encoded with dicom-object when only the fallback is accepted).
//!
//! Verification: when the peer offers Study Root C-FIND, the study's instances are listed at
//! IMAGE level (one query per series) and compared by SOP Instance UID with what was sent
//! (DIMSE exposes no sizes or digests). Storage-only peers (dcmtk `storescp`) answer no
//! queries: then the study is verified by the per-instance C-STORE statuses (every instance
//! the queue holds as acknowledged got a success or warning status), and the URI says which.

use std::collections::BTreeSet;
use std::io::{Cursor, Write};
use std::sync::Mutex;
use std::time::Duration;

use dicom_object::meta::FileMetaTable;
use dicom_object::InMemDicomObject;
use dicom_ul::association::Error as UlError;
use dicom_ul::pdu::{AssociationRJResult, PDataValue, PDataValueType};
use dicom_ul::{ClientAssociation, ClientAssociationOptions, Pdu};

use super::{
    Ack, Acks, ArchiveError, Destination, Item, Piece, Receipt, StudyLabels, Verification,
};
use crate::dimse::{self, valid_ae, Outcome};
use crate::error::{Classify, ErrorClass};

type Assoc = ClientAssociation<std::net::TcpStream>;

/// An association and the P-DATA values received but not consumed yet.
struct Link {
    assoc: Assoc,
    pending: std::collections::VecDeque<PDataValue>,
}

impl Link {
    fn new(assoc: Assoc) -> Self {
        Link {
            assoc,
            pending: Default::default(),
        }
    }
}

/// A C-STORE SCP reached over DICOM upper layer (no TLS).
#[derive(Debug)]
pub struct CStore {
    called: String,
    calling: String,
    host: String,
    port: u16,
    timeout: Duration,
    warnings: Mutex<Vec<String>>,
}

/// One file of a piece, ready to go.
struct Outgoing {
    sop_class: String,
    sop_instance: String,
    ts: String,
    bytes: Vec<u8>,
    /// Offset of the data set (after the file meta group).
    dataset_at: usize,
}

/// A parsed `dicom://CALLED_AE@host:port[?calling=AE]` destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CStoreUrl {
    /// The peer's AE title.
    pub called: String,
    /// Our AE title (default `DEPOSIT`).
    pub calling: String,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl CStoreUrl {
    /// Parses `dicom://CALLED_AE@host:port[?calling=AE]`.
    pub fn parse(dest: &str) -> Result<Self, ArchiveError> {
        let bad = || ArchiveError::BadDestination(dest.chars().take(200).collect());
        let rest = dest.strip_prefix("dicom://").ok_or_else(bad)?;
        let (addr, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let (called, hostport) = addr.split_once('@').ok_or_else(bad)?;
        let (host, port) = hostport.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.trim_end_matches('/').parse().map_err(|_| bad())?;
        let mut calling = "DEPOSIT".to_string();
        for kv in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            match kv.split_once('=') {
                Some(("calling", v)) => calling = v.to_string(),
                _ => return Err(bad()),
            }
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if !valid_ae(called) || !valid_ae(&calling) || host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(CStoreUrl {
            called: called.to_string(),
            calling,
            host: host.to_string(),
            port,
        })
    }

    /// The destination string again: `deposit queue run` reopens the destination from it.
    pub fn describe(&self) -> String {
        let calling = if self.calling == "DEPOSIT" {
            String::new()
        } else {
            format!("?calling={}", self.calling)
        };
        format!(
            "dicom://{}@{}:{}{calling}",
            self.called, self.host, self.port
        )
    }
}

impl CStore {
    /// Parses `dicom://CALLED_AE@host:port[?calling=AE]`.
    pub fn parse(dest: &str) -> Result<Self, ArchiveError> {
        CStoreUrl::parse(dest).map(Self::new)
    }

    /// A C-STORE SCU for a parsed destination.
    pub fn new(url: CStoreUrl) -> Self {
        CStore {
            called: url.called,
            calling: url.calling,
            host: url.host,
            port: url.port,
            timeout: Duration::from_secs(60),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// Per-instance warnings received so far (status and new SOP Instance UID only).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
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

    /// Classifies an upper-layer error: network trouble and transient rejections are retried.
    fn ul_error(&self, e: UlError) -> ArchiveError {
        match &e {
            UlError::Rejected { association_rj, .. } => {
                let detail = format!("association rejected: {}", association_rj.source);
                if association_rj.result == AssociationRJResult::Transient {
                    self.unreachable(detail)
                } else {
                    self.rejected(detail)
                }
            }
            UlError::NoAcceptedPresentationContexts { .. } => self.rejected(
                "no presentation context accepted (SOP class or transfer syntax not supported)",
            ),
            UlError::MissingAbstractSyntax { .. }
            | UlError::ProtocolVersionMismatch { .. }
            | UlError::SendTooLongPdu { .. } => self.rejected(e.to_string()),
            _ => {
                let mut detail = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    detail.push_str(": ");
                    detail.push_str(&s.to_string());
                    src = s.source();
                }
                self.unreachable(detail)
            }
        }
    }

    fn options<'a>(&'a self) -> ClientAssociationOptions<'a> {
        ClientAssociationOptions::new()
            .calling_ae_title(self.calling.as_str())
            .called_ae_title(self.called.as_str())
            .connection_timeout(Duration::from_secs(10))
            .read_timeout(self.timeout)
            .write_timeout(self.timeout)
    }

    fn establish(&self, opts: ClientAssociationOptions<'_>) -> Result<Assoc, ArchiveError> {
        opts.establish((self.host.as_str(), self.port))
            .map_err(|e| self.ul_error(e))
    }

    /// Sends one command (and optionally a data set) and waits for its response command.
    fn exchange(
        &self,
        link: &mut Link,
        pc: u8,
        command: Vec<u8>,
        dataset: Option<&[u8]>,
    ) -> Result<dimse::Response, ArchiveError> {
        link.assoc
            .send(&Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: pc,
                    value_type: PDataValueType::Command,
                    is_last: true,
                    data: command,
                }],
            })
            .map_err(|e| self.ul_error(e))?;
        if let Some(data) = dataset {
            let mut w = link.assoc.send_pdata(pc);
            w.write_all(data)
                .and_then(|_| w.finish())
                .map_err(|e| self.unreachable(format!("sending a data set: {e}")))?;
        }
        self.receive_command(link)
    }

    /// The next P-DATA value from the peer (PDUs may carry several).
    fn next_pdv(&self, link: &mut Link) -> Result<PDataValue, ArchiveError> {
        loop {
            if let Some(v) = link.pending.pop_front() {
                return Ok(v);
            }
            match link.assoc.receive().map_err(|e| self.ul_error(e))? {
                Pdu::PData { data } => link.pending.extend(data),
                Pdu::AbortRQ { .. } => {
                    return Err(self.unreachable("the peer aborted the association"))
                }
                other => {
                    return Err(self.unreachable(format!(
                        "unexpected PDU from the peer: {}",
                        other.short_description()
                    )))
                }
            }
        }
    }

    fn receive_fragments(
        &self,
        link: &mut Link,
        kind: PDataValueType,
    ) -> Result<Vec<u8>, ArchiveError> {
        let mut out = Vec::new();
        loop {
            let v = self.next_pdv(link)?;
            if v.value_type != kind {
                return Err(self.unreachable("DIMSE message fragments out of order"));
            }
            out.extend_from_slice(&v.data);
            if v.is_last {
                return Ok(out);
            }
        }
    }

    fn receive_command(&self, link: &mut Link) -> Result<dimse::Response, ArchiveError> {
        let cmd = self.receive_fragments(link, PDataValueType::Command)?;
        dimse::read_response(&cmd).map_err(|e| self.rejected(e))
    }

    fn receive_data(&self, link: &mut Link) -> Result<Vec<u8>, ArchiveError> {
        self.receive_fragments(link, PDataValueType::Data)
    }

    fn read_outgoing(item: &Item) -> Result<Outgoing, ArchiveError> {
        let bytes = std::fs::read(&item.path).map_err(|source| ArchiveError::ReadOutbox {
            path: item.path.clone(),
            source,
        })?;
        let not_dicom = || ArchiveError::ReadOutbox {
            path: item.path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a DICOM Part-10 file",
            ),
        };
        let after_preamble = bytes.get(128..).ok_or_else(not_dicom)?;
        let mut cur = Cursor::new(after_preamble);
        let meta = FileMetaTable::from_reader(&mut cur).map_err(|_| not_dicom())?;
        let dataset_at = 128 + usize::try_from(cur.position()).map_err(|_| not_dicom())?;
        Ok(Outgoing {
            sop_class: meta.media_storage_sop_class_uid().to_string(),
            sop_instance: meta.media_storage_sop_instance_uid().to_string(),
            ts: meta.transfer_syntax().to_string(),
            bytes,
            dataset_at,
        })
    }

    /// Presentation contexts for a set of files: exact pairs first, then native fallbacks.
    fn proposals(files: &[Outgoing]) -> Vec<(String, Vec<String>)> {
        let exact: BTreeSet<(&str, &str)> = files
            .iter()
            .map(|f| (f.sop_class.as_str(), f.ts.as_str()))
            .collect();
        let classes: BTreeSet<&str> = files.iter().map(|f| f.sop_class.as_str()).collect();
        let mut out: Vec<(String, Vec<String>)> = exact
            .into_iter()
            .map(|(c, t)| (c.to_string(), vec![t.to_string()]))
            .collect();
        for c in classes {
            out.push((
                c.to_string(),
                vec![
                    dimse::EXPLICIT_LE.to_string(),
                    dimse::IMPLICIT_LE.to_string(),
                ],
            ));
        }
        out
    }

    /// The presentation context and the data set bytes to send for one file.
    fn encode_for(&self, assoc: &Assoc, f: &Outgoing) -> Result<(u8, Vec<u8>), ArchiveError> {
        let clean = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
        let accepted: Vec<(u8, String)> = assoc
            .presentation_contexts()
            .iter()
            .filter(|pc| clean(&pc.abstract_syntax) == f.sop_class)
            .map(|pc| (pc.id, clean(&pc.transfer_syntax)))
            .collect();
        let data = &f.bytes[f.dataset_at..];
        if let Some((id, _)) = accepted.iter().find(|(_, ts)| *ts == f.ts) {
            return Ok((*id, data.to_vec()));
        }
        let fallback = accepted
            .iter()
            .find(|(_, ts)| ts == dimse::EXPLICIT_LE || ts == dimse::IMPLICIT_LE);
        match fallback {
            Some((id, ts)) if dimse::is_native(&f.ts) => {
                let reg = dicom_transfer_syntax_registry::TransferSyntaxRegistry;
                use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
                let (Some(from), Some(to)) = (reg.get(&f.ts), reg.get(ts)) else {
                    return Err(self.rejected(format!("transfer syntax {} unknown", f.ts)));
                };
                let obj = InMemDicomObject::read_dataset_with_ts(data, from).map_err(|e| {
                    self.rejected(format!("instance {}: cannot re-encode: {e}", f.sop_instance))
                })?;
                let mut out = Vec::with_capacity(data.len());
                obj.write_dataset_with_ts(&mut out, to).map_err(|e| {
                    self.rejected(format!("instance {}: cannot re-encode: {e}", f.sop_instance))
                })?;
                Ok((*id, out))
            }
            _ => Err(self.rejected(format!(
                "instance {}: the peer accepted no presentation context for SOP class {} in transfer syntax {}",
                f.sop_instance, f.sop_class, f.ts
            ))),
        }
    }

    /// Stores each file, reporting each success or warning status to `acks` as it arrives.
    fn store_all(
        &self,
        link: &mut Link,
        items: &[Item],
        files: &[Outgoing],
        acks: &dyn Acks,
    ) -> Result<u64, ArchiveError> {
        let mut stored = 0;
        for (i, (item, f)) in items.iter().zip(files).enumerate() {
            let (pc, data) = self.encode_for(&link.assoc, f)?;
            let id = (i % 0xFFFF) as u16 + 1;
            let cmd =
                dimse::store_rq(id, &f.sop_class, &f.sop_instance).map_err(|e| self.rejected(e))?;
            let r = self
                .exchange(link, pc, cmd, Some(&data))
                .map_err(|e| in_flight(e, &f.sop_instance))?;
            if r.command_field != 0x8001 {
                return Err(self.rejected(format!(
                    "instance {}: unexpected response command 0x{:04X}",
                    f.sop_instance, r.command_field
                )));
            }
            let what = format!("instance {}: {}", f.sop_instance, dimse::describe(r.status));
            match dimse::outcome(r.status) {
                Outcome::Success => {
                    acks.ack(item, Ack::Stored)?;
                    stored += 1;
                }
                Outcome::Warning => {
                    tracing::warn!(destination = %self.describe(), "{what}");
                    if let Ok(mut w) = self.warnings.lock() {
                        w.push(what);
                    }
                    acks.ack(item, Ack::Stored)?;
                    stored += 1;
                }
                Outcome::Transient => return Err(self.unreachable(what)),
                Outcome::Permanent => return Err(self.rejected(what)),
            }
        }
        Ok(stored)
    }
}

/// Names the instance an association broke on: it has no status, so it goes again (the ones
/// before it are acknowledged).
fn in_flight(e: ArchiveError, sop_instance: &str) -> ArchiveError {
    match e {
        ArchiveError::Unreachable {
            destination,
            detail,
        } => ArchiveError::Unreachable {
            destination,
            detail: format!(
                "no status for instance {sop_instance} (it will be sent again): {detail}"
            ),
        },
        other => other,
    }
}

impl Destination for CStore {
    fn describe(&self) -> String {
        // re-parseable: `deposit queue run` reopens the destination from this string
        CStoreUrl {
            called: self.called.clone(),
            calling: self.calling.clone(),
            host: self.host.clone(),
            port: self.port,
        }
        .describe()
    }

    fn identity(&self) -> String {
        // the calling AE names us, not the archive
        format!("dicom://{}@{}:{}", self.called, self.host, self.port)
    }

    fn listable(&self) -> bool {
        // C-FIND is optional (storage-only peers answer none): the ledger is what remembers
        false
    }

    fn check(&self) -> Result<(), ArchiveError> {
        let mut link = Link::new(
            self.establish(
                self.options()
                    .with_presentation_context(dimse::VERIFICATION, vec![dimse::IMPLICIT_LE]),
            )?,
        );
        let pc = link
            .assoc
            .presentation_contexts()
            .first()
            .map(|p| p.id)
            .ok_or_else(|| self.rejected("verification (C-ECHO) not accepted"))?;
        let cmd = dimse::echo_rq(1).map_err(|e| self.rejected(e))?;
        let r = self.exchange(&mut link, pc, cmd, None);
        let _ = link.assoc.release();
        match r?.status {
            0x0000 => Ok(()),
            s => Err(self.rejected(format!("C-ECHO answered {}", dimse::describe(s)))),
        }
    }

    fn deliver(&self, piece: &Piece, acks: &dyn Acks) -> Result<Receipt, ArchiveError> {
        let files = piece
            .items
            .iter()
            .map(Self::read_outgoing)
            .collect::<Result<Vec<_>, _>>()?;
        if files.is_empty() {
            return Ok(Receipt {
                stored: 0,
                already_present: 0,
            });
        }
        let proposals = Self::proposals(&files);
        if proposals.len() > 128 {
            return Err(self.rejected("a piece needs more than 128 presentation contexts"));
        }
        let mut opts = self.options();
        for (class, tss) in &proposals {
            opts = opts.with_presentation_context(
                class.as_str(),
                tss.iter().map(String::as_str).collect(),
            );
        }
        let mut link = Link::new(self.establish(opts)?);
        match self.store_all(&mut link, &piece.items, &files, acks) {
            Ok(stored) => {
                // every instance has its status: a release the peer does not answer (the
                // connection broke after the last response) changes nothing that was stored
                if let Err(e) = link.assoc.release() {
                    tracing::info!(
                        destination = %self.describe(),
                        "association release not confirmed after all statuses: {}",
                        self.ul_error(e)
                    );
                }
                Ok(Receipt {
                    stored,
                    already_present: 0,
                })
            }
            Err(e) => {
                let _ = link.assoc.abort();
                Err(e)
            }
        }
    }

    fn commit(&self, _labels: &StudyLabels) -> Result<String, ArchiveError> {
        // C-STORE has no commit step: each instance is final once acknowledged.
        Ok(format!(
            "dicom://{}@{}:{}",
            self.called, self.host, self.port
        ))
    }

    fn verify(&self, _labels: &StudyLabels, items: &[Item]) -> Result<Verification, ArchiveError> {
        let target = format!("dicom://{}@{}:{}", self.called, self.host, self.port);
        match self.find_instances(items)? {
            Some(found) => {
                let mut v = Verification {
                    expected: items.len() as u64,
                    matched: 0,
                    problems: Vec::new(),
                    uri: format!("{target} (verified by C-FIND)"),
                };
                for item in items {
                    let sop = item.name.trim_end_matches(".dcm");
                    if found.contains(sop) {
                        v.matched += 1;
                    } else {
                        v.problems.push(format!("{sop}: missing"));
                    }
                }
                Ok(v)
            }
            // A storage-only peer: the queue calls verify only once every piece of the study
            // is persisted as acknowledged, i.e. each instance got a success/warning status.
            None => Ok(Verification {
                expected: items.len() as u64,
                matched: items.len() as u64,
                problems: Vec::new(),
                uri: format!("{target} (verified by per-instance C-STORE status)"),
            }),
        }
    }
}

impl CStore {
    /// Lists the study's instances with C-FIND (Study Root, IMAGE level, one query per series).
    /// `None` when the peer offers no query service (storage-only SCPs).
    fn find_instances(&self, items: &[Item]) -> Result<Option<BTreeSet<String>>, ArchiveError> {
        let mut series = BTreeSet::new();
        for item in items {
            let obj = dicom_object::OpenFileOptions::new()
                .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
                .open_file(&item.path)
                .map_err(|e| ArchiveError::ReadOutbox {
                    path: item.path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
                })?;
            let get = |tag| {
                obj.get(tag)
                    .and_then(|e| e.to_str().ok())
                    .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
                    .unwrap_or_default()
            };
            series.insert((
                get(dicom_dictionary_std::tags::STUDY_INSTANCE_UID),
                get(dicom_dictionary_std::tags::SERIES_INSTANCE_UID),
            ));
        }
        match self.query_series(&series) {
            Ok(found) => Ok(found),
            Err(e) if e.class() == ErrorClass::Permanent => {
                // the peer refuses queries from us: fall back to the statuses
                tracing::info!(destination = %self.describe(), "C-FIND refused: {e}");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn query_series(
        &self,
        series: &BTreeSet<(String, String)>,
    ) -> Result<Option<BTreeSet<String>>, ArchiveError> {
        let opts = self
            .options()
            .with_presentation_context(dimse::STUDY_ROOT_FIND, vec![dimse::IMPLICIT_LE]);
        let mut link = match opts.establish((self.host.as_str(), self.port)) {
            Ok(a) => Link::new(a),
            Err(UlError::NoAcceptedPresentationContexts { .. }) => return Ok(None),
            Err(e) => return Err(self.ul_error(e)),
        };
        let Some(pc) = link.assoc.presentation_contexts().first().map(|p| p.id) else {
            let _ = link.assoc.abort();
            return Ok(None);
        };
        let mut found = BTreeSet::new();
        for (i, (study, ser)) in series.iter().enumerate() {
            let r = self.find_one(
                &mut link,
                pc,
                (i % 0xFFFF) as u16 + 1,
                study,
                ser,
                &mut found,
            );
            if let Err(e) = r {
                let _ = link.assoc.abort();
                return Err(e);
            }
        }
        let _ = link.assoc.release();
        Ok(Some(found))
    }

    fn find_one(
        &self,
        link: &mut Link,
        pc: u8,
        id: u16,
        study: &str,
        series: &str,
        found: &mut BTreeSet<String>,
    ) -> Result<(), ArchiveError> {
        let cmd = dimse::find_rq(id).map_err(|e| self.rejected(e))?;
        let query = dimse::image_query(study, series).map_err(|e| self.rejected(e))?;
        let mut rsp = self.exchange(link, pc, cmd, Some(&query))?;
        loop {
            if rsp.has_dataset {
                let data = self.receive_data(link)?;
                if let Some(uid) = dimse::found_instance(&data) {
                    found.insert(uid);
                }
            }
            match rsp.status {
                0xFF00 | 0xFF01 => rsp = self.receive_command(link)?,
                0x0000 => return Ok(()),
                s => return Err(self.rejected(format!("C-FIND answered {}", dimse::describe(s)))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_destination_urls() {
        let d = CStore::parse("dicom://ORTHANC@127.0.0.1:4242").expect("parse");
        assert_eq!(
            (
                d.called.as_str(),
                d.calling.as_str(),
                d.host.as_str(),
                d.port
            ),
            ("ORTHANC", "DEPOSIT", "127.0.0.1", 4242)
        );
        let d = CStore::parse("dicom://PACS@pacs.example:104?calling=SITE1").expect("parse");
        assert_eq!(d.calling, "SITE1");
        assert_eq!(d.describe(), "dicom://PACS@pacs.example:104?calling=SITE1");
        let again = CStore::parse(&d.describe()).expect("describe re-parses");
        assert_eq!(again.calling, "SITE1");
        for bad in [
            "dicom://127.0.0.1:104",
            "dicom://A@host",
            "dicom://A@host:x",
            "dicom://THIS_AE_IS_FAR_TOO_LONG@h:1",
            "dicom://A@h:1?foo=bar",
        ] {
            assert!(CStore::parse(bad).is_err(), "{bad}");
        }
    }

    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_ul::association::ServerAssociationOptions;

    const CT: &str = "1.2.840.10008.5.1.4.1.1.2";

    /// A Part-10 CT file in Explicit VR Little Endian.
    fn ct_file(dir: &std::path::Path, n: u32) -> Item {
        let uid = format!("2.25.{n}");
        let mut ds = InMemDicomObject::new_empty();
        for (tag, v) in [
            (tags::SOP_CLASS_UID, CT.to_string()),
            (tags::SOP_INSTANCE_UID, uid.clone()),
            (tags::STUDY_INSTANCE_UID, "2.25.100".to_string()),
        ] {
            ds.put(DataElement::new(tag, VR::UI, PrimitiveValue::from(v)));
        }
        ds.put(DataElement::new(
            tags::PATIENT_ID,
            VR::LO,
            PrimitiveValue::from("DEP-1"),
        ));
        let meta = dicom_object::meta::FileMetaTableBuilder::new()
            .transfer_syntax(dimse::EXPLICIT_LE)
            .media_storage_sop_class_uid(CT)
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

    /// A one-association SCP answering each C-STORE with the next status; returns the SOP
    /// Instance UIDs it could parse from the data sets, in the negotiated transfer syntax.
    fn fake_scp(
        ts: &'static str,
        statuses: Vec<u16>,
    ) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let h = std::thread::spawn(move || {
            let (sock, _) = l.accept().expect("accept");
            let mut a = ServerAssociationOptions::new()
                .accept_any()
                .promiscuous(true)
                .with_transfer_syntax(ts)
                .establish(sock)
                .expect("associate");
            let reg = dicom_transfer_syntax_registry::TransferSyntaxRegistry;
            use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
            let mut seen = Vec::new();
            let (mut cmd, mut data) = (Vec::new(), Vec::new());
            let mut statuses = statuses.into_iter();
            loop {
                match a.receive() {
                    Ok(Pdu::PData { data: pdvs }) => {
                        for v in pdvs {
                            let pc = v.presentation_context_id;
                            if v.value_type == PDataValueType::Command {
                                cmd.extend_from_slice(&v.data);
                                continue;
                            }
                            data.extend_from_slice(&v.data);
                            if !v.is_last {
                                continue;
                            }
                            let req = dimse::read_response_any(&cmd);
                            let neg = a
                                .presentation_contexts()
                                .iter()
                                .find(|p| p.id == pc)
                                .map(|p| p.transfer_syntax.trim_end_matches('\0').to_string())
                                .expect("pc");
                            let obj = InMemDicomObject::read_dataset_with_ts(
                                &data[..],
                                reg.get(&neg).expect("ts"),
                            )
                            .expect("data set parses in the negotiated syntax");
                            seen.push(
                                obj.get(tags::SOP_INSTANCE_UID)
                                    .and_then(|e| e.to_str().ok())
                                    .map(|s| s.trim_end_matches('\0').to_string())
                                    .unwrap_or_default(),
                            );
                            let rsp = dimse::store_rsp(req, CT, statuses.next().unwrap_or(0))
                                .expect("rsp");
                            a.send(&Pdu::PData {
                                data: vec![PDataValue {
                                    presentation_context_id: pc,
                                    value_type: PDataValueType::Command,
                                    is_last: true,
                                    data: rsp,
                                }],
                            })
                            .expect("send rsp");
                            cmd.clear();
                            data.clear();
                        }
                    }
                    Ok(Pdu::ReleaseRQ) => {
                        let _ = a.send(&Pdu::ReleaseRP);
                        break;
                    }
                    _ => break,
                }
            }
            seen
        });
        (port, h)
    }

    fn piece(dir: &std::path::Path, n: u32) -> Piece {
        Piece {
            labels: StudyLabels {
                project: "P".into(),
                subject: "S".into(),
                session: "E".into(),
            },
            items: (1..=n).map(|i| ct_file(dir, i)).collect(),
        }
    }

    #[test]
    fn statuses_from_the_peer_decide_the_outcome() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = piece(dir.path(), 2);

        let (port, scp) = fake_scp(dimse::EXPLICIT_LE, vec![0x0000, 0xB000]);
        let d = CStore::parse(&format!("dicom://SCP@127.0.0.1:{port}")).expect("parse");
        let r = d.put(&p).expect("success and warning are both stored");
        assert_eq!(r.stored, 2);
        assert_eq!(d.warnings().len(), 1, "{:?}", d.warnings());
        assert!(d.warnings()[0].contains("0xB000"));
        assert_eq!(scp.join().expect("scp"), vec!["2.25.1", "2.25.2"]);

        let (port, scp) = fake_scp(dimse::EXPLICIT_LE, vec![0x0000, 0xA700]);
        let d = CStore::parse(&format!("dicom://SCP@127.0.0.1:{port}")).expect("parse");
        let e = d.put(&p).expect_err("out of resources");
        assert_eq!(e.class(), ErrorClass::Transient, "{e}");
        let _ = scp.join();

        let (port, scp) = fake_scp(dimse::EXPLICIT_LE, vec![0xA900]);
        let d = CStore::parse(&format!("dicom://SCP@127.0.0.1:{port}")).expect("parse");
        let e = d.put(&p).expect_err("does not match SOP class");
        assert_eq!(e.class(), ErrorClass::Permanent, "{e}");
        assert!(e.to_string().contains("2.25.1"), "{e}");
        let _ = scp.join();
    }

    #[test]
    fn native_files_are_re_encoded_when_only_implicit_le_is_accepted() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = piece(dir.path(), 3);
        let (port, scp) = fake_scp(dimse::IMPLICIT_LE, vec![]);
        let d = CStore::parse(&format!("dicom://SCP@127.0.0.1:{port}")).expect("parse");
        assert_eq!(d.put(&p).expect("put").stored, 3);
        assert_eq!(scp.join().expect("scp"), vec!["2.25.1", "2.25.2", "2.25.3"]);
    }

    /// Where [`cutting_scp`] drops the connection.
    #[derive(Clone, Copy)]
    enum CutAt {
        /// On the first data fragment of the next instance (the sender is cut mid-data).
        MidData,
        /// After the whole next instance, without answering (the response is lost).
        BeforeResponse,
        /// On the release request, after answering every instance.
        Release,
    }

    /// A one-association SCP answering `answer` C-STOREs with success, then closing the
    /// connection at `at` without a release or an abort.
    fn cutting_scp(answer: usize, at: CutAt) -> (u16, std::thread::JoinHandle<usize>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let h = std::thread::spawn(move || {
            let (sock, _) = l.accept().expect("accept");
            let raw = sock.try_clone().expect("clone");
            let mut a = ServerAssociationOptions::new()
                .accept_any()
                .promiscuous(true)
                .with_transfer_syntax(dimse::EXPLICIT_LE)
                .establish(sock)
                .expect("associate");
            let mut cmd = Vec::new();
            let mut answered = 0;
            loop {
                let pdvs = match a.receive() {
                    Ok(Pdu::PData { data }) => data,
                    Ok(Pdu::ReleaseRQ) if matches!(at, CutAt::Release) => {
                        let _ = raw.shutdown(std::net::Shutdown::Both);
                        return answered;
                    }
                    Ok(Pdu::ReleaseRQ) => {
                        let _ = a.send(&Pdu::ReleaseRP);
                        return answered;
                    }
                    _ => return answered,
                };
                for v in pdvs {
                    if v.value_type == PDataValueType::Command {
                        cmd.extend_from_slice(&v.data);
                        continue;
                    }
                    let cut_here = answered == answer && !matches!(at, CutAt::Release);
                    if cut_here && matches!(at, CutAt::MidData) {
                        let _ = raw.shutdown(std::net::Shutdown::Both);
                        return answered;
                    }
                    if !v.is_last {
                        continue;
                    }
                    if cut_here {
                        let _ = raw.shutdown(std::net::Shutdown::Both);
                        return answered;
                    }
                    let rsp = dimse::store_rsp(dimse::read_response_any(&cmd), CT, 0).expect("rsp");
                    a.send(&Pdu::PData {
                        data: vec![PDataValue {
                            presentation_context_id: v.presentation_context_id,
                            value_type: PDataValueType::Command,
                            is_last: true,
                            data: rsp,
                        }],
                    })
                    .expect("send rsp");
                    answered += 1;
                    cmd.clear();
                }
            }
        });
        (port, h)
    }

    /// Acknowledgements received, by SOP Instance UID.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl Acks for Recorded {
        fn ack(&self, item: &Item, ack: Ack) -> Result<(), ArchiveError> {
            assert_eq!(ack, Ack::Stored);
            self.0
                .lock()
                .expect("lock")
                .push(item.sop_uid().to_string());
            Ok(())
        }
    }

    #[test]
    fn an_association_cut_mid_piece_is_transient_and_keeps_what_was_acknowledged() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = piece(dir.path(), 5);
        for at in [CutAt::MidData, CutAt::BeforeResponse] {
            let (port, scp) = cutting_scp(2, at);
            let d = CStore::parse(&format!("dicom://SCP@127.0.0.1:{port}")).expect("parse");
            let acks = Recorded::default();
            let started = std::time::Instant::now();
            let e = d.deliver(&p, &acks).expect_err("the connection was cut");
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no waiting for a timeout"
            );
            assert_eq!(scp.join().expect("scp"), 2);
            assert_eq!(e.class(), ErrorClass::Transient, "{e}");
            assert_eq!(e.code(), "archive.unreachable", "{e}");
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("dicom://SCP@127.0.0.1:{port} is not reachable")),
                "{text}"
            );
            assert!(
                text.contains("no status for instance 2.25.3"),
                "the instance in flight is named: {text}"
            );
            assert!(!text.contains("DEP-1"), "no header values: {text}");
            assert_eq!(
                *acks.0.lock().expect("lock"),
                vec!["2.25.1", "2.25.2"],
                "the instances answered before the cut stay acknowledged"
            );
            println!("{text}");
        }
    }

    #[test]
    fn a_release_left_unanswered_after_every_status_keeps_the_piece_delivered() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = piece(dir.path(), 3);
        let (port, scp) = cutting_scp(usize::MAX, CutAt::Release);
        let d = CStore::parse(&format!("dicom://SCP@127.0.0.1:{port}")).expect("parse");
        let acks = Recorded::default();
        let r = d.deliver(&p, &acks).expect("every instance has its status");
        assert_eq!(r.stored, 3);
        assert_eq!(scp.join().expect("scp"), 3);
        assert_eq!(acks.0.lock().expect("lock").len(), 3);
    }

    #[test]
    fn refused_connection_is_transient() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        let d = CStore::parse(&format!("dicom://X@127.0.0.1:{port}")).expect("parse");
        let e = d.check().expect_err("nobody listens");
        assert_eq!(e.class(), ErrorClass::Transient, "{e}");
    }
}
