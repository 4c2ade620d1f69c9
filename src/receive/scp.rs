//! One association, from A-ASSOCIATE-RQ to release or abort: negotiation (called AE, calling-AE
//! allow-list, storage SOP classes, transfer syntaxes as proposed), then C-ECHO and C-STORE.
//!
//! PDUs are read with a hard length cap and decoded by dicom-ul's PDU codec; anything malformed
//! or out of order ends the association with an A-ABORT, never a panic. A C-STORE data set is
//! streamed into a spool temp file as it arrives and answered with Success only after the file
//! is fsync'd, renamed into place and recorded by the [`Recorder`]; any failure on the way is
//! answered with a failure status and leaves no file behind.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dicom_object::meta::FileMetaTableBuilder;
use dicom_ul::pdu::{
    AbortRQServiceProviderReason, AbortRQSource, AssociationAC, AssociationRJ, AssociationRJResult,
    AssociationRJServiceProviderASCEReason, AssociationRJServiceProviderPresentationReason,
    AssociationRJServiceUserReason, AssociationRJSource, AssociationRQ, PDataValue, PDataValueType,
    PresentationContextResult, PresentationContextResultReason, UserVariableItem, MAXIMUM_PDU_SIZE,
    PDU_HEADER_SIZE,
};
use dicom_ul::Pdu;

use super::complete::{self, Check};
use super::spool::{Commit, Incoming};
use super::{Pending, ScpEvent, Shared, Stored};
use crate::dimse::{self, status, Request};
use crate::intake::{FileStat, Read1};

/// DICOM application context name.
const APPLICATION_CONTEXT: &str = "1.2.840.10008.3.1.1.1";
/// Verification SOP class.
pub const VERIFICATION: &str = "1.2.840.10008.1.1";
/// Storage SOP classes share this root (images, SR, encapsulated PDF, RT, waveforms…).
const STORAGE_ROOT: &str = "1.2.840.10008.5.1.4.1.1.";
/// …except the CT/XA protocol definitions (not patient instances).
const NOT_STORED: &str = "1.2.840.10008.5.1.4.1.1.200.";
/// A command set longer than this is not a command.
const MAX_COMMAND: usize = 64 * 1024;

/// Transfer syntaxes accepted as proposed, stored as received (never transcoded).
pub const TRANSFER_SYNTAXES: &[&str] = &[
    "1.2.840.10008.1.2",       // Implicit VR Little Endian
    "1.2.840.10008.1.2.1",     // Explicit VR Little Endian
    "1.2.840.10008.1.2.1.99",  // Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.2",     // Explicit VR Big Endian (retired)
    "1.2.840.10008.1.2.4.50",  // JPEG Baseline
    "1.2.840.10008.1.2.4.51",  // JPEG Extended
    "1.2.840.10008.1.2.4.57",  // JPEG Lossless
    "1.2.840.10008.1.2.4.70",  // JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  // JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  // JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90",  // JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  // JPEG 2000
    "1.2.840.10008.1.2.4.92",  // JPEG 2000 Part 2 Lossless
    "1.2.840.10008.1.2.4.93",  // JPEG 2000 Part 2
    "1.2.840.10008.1.2.4.201", // HTJ2K Lossless
    "1.2.840.10008.1.2.4.202", // HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.4.203", // HTJ2K
    "1.2.840.10008.1.2.5",     // RLE Lossless
];

/// True for an abstract syntax this SCP accepts (verification and storage).
pub fn accepts_sop_class(uid: &str) -> bool {
    let uid = uid.trim_end_matches(['\0', ' ']);
    uid == VERIFICATION || (uid.starts_with(STORAGE_ROOT) && !uid.starts_with(NOT_STORED))
}

/// The first proposed transfer syntax this SCP accepts (the requestor's preference order).
pub fn choose_transfer_syntax(proposed: &[String]) -> Option<String> {
    proposed
        .iter()
        .map(|t| t.trim_end_matches(['\0', ' ']))
        .find(|t| TRANSFER_SYNTAXES.contains(t))
        .map(str::to_string)
}

/// Why an association request is refused (before any presentation context is looked at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Protocol version without bit 0.
    ProtocolVersion,
    /// Not the DICOM application context.
    ApplicationContext,
    /// Called AE title is not ours.
    CalledAe,
    /// Calling AE title is not on the allow-list.
    CallingAe,
    /// Too many associations at once (transient).
    Busy,
    /// Too many associations from this calling AE title at once (transient).
    BusyAe,
    /// Shutting down (transient).
    Stopping,
}

impl Refusal {
    /// The A-ASSOCIATE-RJ that says so.
    pub fn rj(self) -> AssociationRJ {
        use AssociationRJSource::*;
        let (result, source) = match self {
            Refusal::ProtocolVersion => (
                AssociationRJResult::Permanent,
                ServiceProviderASCE(
                    AssociationRJServiceProviderASCEReason::ProtocolVersionNotSupported,
                ),
            ),
            Refusal::ApplicationContext => (
                AssociationRJResult::Permanent,
                ServiceUser(AssociationRJServiceUserReason::ApplicationContextNameNotSupported),
            ),
            Refusal::CalledAe => (
                AssociationRJResult::Permanent,
                ServiceUser(AssociationRJServiceUserReason::CalledAETitleNotRecognized),
            ),
            Refusal::CallingAe => (
                AssociationRJResult::Permanent,
                ServiceUser(AssociationRJServiceUserReason::CallingAETitleNotRecognized),
            ),
            Refusal::Busy | Refusal::BusyAe => (
                AssociationRJResult::Transient,
                ServiceProviderPresentation(
                    AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
                ),
            ),
            Refusal::Stopping => (
                AssociationRJResult::Transient,
                ServiceProviderPresentation(
                    AssociationRJServiceProviderPresentationReason::TemporaryCongestion,
                ),
            ),
        };
        AssociationRJ { result, source }
    }

    /// In words, for logs and events.
    pub fn sentence(self) -> &'static str {
        match self {
            Refusal::ProtocolVersion => "protocol version not supported",
            Refusal::ApplicationContext => "application context not supported",
            Refusal::CalledAe => "called AE title is not this receiver's",
            Refusal::CallingAe => "calling AE title is not on the allow-list",
            Refusal::Busy => "too many associations at once",
            Refusal::BusyAe => "too many associations from this AE title at once",
            Refusal::Stopping => "the receiver is shutting down",
        }
    }
}

/// A negotiated presentation context.
#[derive(Debug, Clone)]
pub struct Context {
    /// Abstract syntax (SOP class).
    pub abstract_syntax: String,
    /// The accepted transfer syntax.
    pub transfer_syntax: String,
}

/// Decides on an association request: the A-ASSOCIATE-AC and the accepted contexts, or why not.
pub fn negotiate(
    rq: &AssociationRQ,
    aet: &str,
    routes: &[String],
    allow: &[String],
    max_pdu: u32,
) -> Result<(AssociationAC, HashMap<u8, Context>), Refusal> {
    if rq.protocol_version & 1 == 0 {
        return Err(Refusal::ProtocolVersion);
    }
    if rq.application_context_name.trim_end_matches(['\0', ' ']) != APPLICATION_CONTEXT {
        return Err(Refusal::ApplicationContext);
    }
    let called = rq.called_ae_title.trim();
    if called != aet && !routes.iter().any(|r| r == called) {
        return Err(Refusal::CalledAe);
    }
    let calling = rq.calling_ae_title.trim();
    if !allow.is_empty() && !allow.iter().any(|a| a == calling) {
        return Err(Refusal::CallingAe);
    }
    let mut accepted = HashMap::new();
    let mut results = Vec::with_capacity(rq.presentation_contexts.len());
    for pc in &rq.presentation_contexts {
        let abs = pc.abstract_syntax.trim_end_matches(['\0', ' ']).to_string();
        let (reason, ts) = if !accepts_sop_class(&abs) {
            (
                PresentationContextResultReason::AbstractSyntaxNotSupported,
                None,
            )
        } else {
            match choose_transfer_syntax(&pc.transfer_syntaxes) {
                Some(ts) => (PresentationContextResultReason::Acceptance, Some(ts)),
                None => (
                    PresentationContextResultReason::TransferSyntaxesNotSupported,
                    None,
                ),
            }
        };
        if let Some(ts) = &ts {
            accepted.insert(
                pc.id,
                Context {
                    abstract_syntax: abs,
                    transfer_syntax: ts.clone(),
                },
            );
        }
        results.push(PresentationContextResult {
            id: pc.id,
            reason,
            transfer_syntax: ts.unwrap_or_else(|| "1.2.840.10008.1.2".into()),
        });
    }
    let ac = AssociationAC {
        protocol_version: 1,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        application_context_name: APPLICATION_CONTEXT.into(),
        presentation_contexts: results,
        user_variables: vec![
            UserVariableItem::MaxLength(max_pdu),
            UserVariableItem::ImplementationClassUID(
                crate::implementation::IMPLEMENTATION_CLASS_UID.into(),
            ),
            UserVariableItem::ImplementationVersionName(
                crate::implementation::IMPLEMENTATION_VERSION_NAME.into(),
            ),
        ],
    };
    Ok((ac, accepted))
}

/// Why reading a PDU failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFail {
    /// The peer closed the connection.
    Closed,
    /// Nothing arrived within the timeout.
    Timeout,
    /// The connection failed.
    Io,
    /// A PDU longer than the cap.
    TooLarge,
    /// Bytes that are not a PDU.
    Malformed,
}

/// Reads one PDU of at most `cap` bytes (after the 6-byte header) and decodes it.
pub fn read_pdu(r: &mut impl Read, cap: u32) -> Result<Pdu, ReadFail> {
    let io_fail = |e: io::Error| match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => ReadFail::Closed,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ReadFail::Timeout,
        _ => ReadFail::Io,
    };
    let mut head = [0u8; PDU_HEADER_SIZE as usize];
    r.read_exact(&mut head).map_err(io_fail)?;
    let len = u32::from_be_bytes([head[2], head[3], head[4], head[5]]);
    if len > cap {
        return Err(ReadFail::TooLarge);
    }
    let mut buf = vec![0u8; head.len() + len as usize];
    buf[..head.len()].copy_from_slice(&head);
    r.read_exact(&mut buf[head.len()..]).map_err(io_fail)?;
    // the codec is not ours: a defect in it must cost this association, never the receiver
    match catch_unwind(AssertUnwindSafe(|| {
        dicom_ul::pdu::read_pdu(&buf[..], MAXIMUM_PDU_SIZE, false)
    })) {
        Ok(Ok(Some(pdu))) => Ok(pdu),
        _ => Err(ReadFail::Malformed),
    }
}

/// Reads from a connection against a deadline for the whole request: each read waits at most
/// the idle time and never past the deadline, so a peer trickling bytes is cut when the
/// deadline passes, however often it sends.
struct Timed<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
    idle: Duration,
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left.min(self.idle)))?;
        let mut s = self.stream;
        s.read(buf)
    }
}

/// Reads one PDU that must be complete by `deadline`.
fn read_pdu_by(
    stream: &TcpStream,
    cap: u32,
    deadline: Instant,
    idle: Duration,
) -> Result<Pdu, ReadFail> {
    read_pdu(
        &mut Timed {
            stream,
            deadline,
            idle,
        },
        cap,
    )
}

/// Encodes and writes one PDU.
pub fn write_pdu(w: &mut impl Write, pdu: &Pdu) -> io::Result<()> {
    let mut buf = Vec::with_capacity(256);
    dicom_ul::pdu::write_pdu(&mut buf, pdu)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    w.write_all(&buf)
}

fn abort(stream: &mut TcpStream, reason: AbortRQServiceProviderReason) {
    let _ = write_pdu(
        stream,
        &Pdu::AbortRQ {
            source: AbortRQSource::ServiceProvider(reason),
        },
    );
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// A C-STORE whose data set is arriving.
struct Storing {
    pc: u8,
    req: Request,
    sink: Option<Incoming>,
    /// Set on the first failure; the rest of the data set is read and discarded.
    fail: Option<(u16, &'static str)>,
}

/// How an association ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The peer released it.
    Released,
    /// The peer aborted it.
    AbortedByPeer,
    /// This side aborted it (protocol error, malformed PDU, timeout).
    Aborted(&'static str),
    /// The connection dropped.
    Dropped,
}

/// Serves one connection to its end: reads the A-ASSOCIATE-RQ by the set-up deadline
/// (counted in the pending budget until then), checks it, takes a slot, then serves the
/// association.
pub(super) fn serve(mut stream: TcpStream, sh: &Arc<Shared>, mut pending: Pending, at: Instant) {
    let peer = stream
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(sh.cfg.idle_timeout));
    let cap = sh.cfg.max_pdu.saturating_mul(4).max(1 << 20);
    let setup = at + sh.cfg.request_timeout;
    let rq = match read_pdu_by(&stream, cap, setup, sh.cfg.request_timeout) {
        Ok(Pdu::AssociationRQ(rq)) => rq,
        Ok(_) => return abort(&mut stream, AbortRQServiceProviderReason::UnexpectedPdu),
        Err(ReadFail::Malformed | ReadFail::TooLarge) => {
            return abort(
                &mut stream,
                AbortRQServiceProviderReason::InvalidPduParameter,
            )
        }
        Err(ReadFail::Timeout) => {
            tracing::info!(peer = %peer, "connection closed: no complete association request within the set-up deadline");
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
        Err(_) => return,
    };
    // as received, for comparisons and the catalog; escaped for logs and events
    let calling_raw = rq.calling_ae_title.trim().to_string();
    let calling = crate::logging::escape(&calling_raw);
    // the allow-list and the called AE title are checked before a slot is taken
    let called = rq.called_ae_title.trim().to_string();
    let decided = negotiate(
        &rq,
        &sh.cfg.aet,
        &sh.cfg.routes,
        &sh.cfg.allow,
        sh.cfg.max_pdu,
    )
    .and_then(|x| sh.take_slot(&calling_raw).map(|slot| (x, slot)));
    pending.done();
    let ((ac, contexts), slot) = match decided {
        Ok(x) => x,
        Err(r) => {
            let _ = write_pdu(&mut stream, &Pdu::AssociationRJ(r.rj()));
            tracing::info!(calling_ae = %calling, peer = %peer, "association rejected: {}", r.sentence());
            (sh.events)(ScpEvent::Rejected {
                calling_ae: calling,
                peer,
                reason: r.sentence().into(),
            });
            let _ = stream.shutdown(std::net::Shutdown::Write);
            return;
        }
    };
    let id = sh.associations.fetch_add(1, Ordering::Relaxed) + 1;
    if write_pdu(&mut stream, &Pdu::AssociationAC(ac)).is_err() {
        return;
    }
    tracing::info!(association = id, calling_ae = %calling, peer = %peer, contexts = contexts.len(), "association accepted");
    (sh.events)(ScpEvent::Opened {
        association: id,
        calling_ae: calling.clone(),
        peer,
    });
    let mut a = Assoc {
        stream,
        sh,
        id,
        calling,
        calling_raw,
        called,
        seq: None,
        contexts,
        cmd: Vec::new(),
        cmd_pc: 0,
        storing: None,
        stored: 0,
        failed: 0,
    };
    let end = a.run(cap);
    tracing::info!(association = id, stored = a.stored, failed = a.failed, end = ?end, "association ended");
    (sh.events)(ScpEvent::Closed {
        association: id,
        stored: a.stored,
        failed: a.failed,
        end: match end {
            End::Released => "released".into(),
            End::AbortedByPeer => "aborted by the sender".into(),
            End::Aborted(why) => format!("aborted: {why}"),
            End::Dropped => "connection dropped".into(),
        },
    });
    drop(slot);
}

/// A DIMSE message being received: when its first fragment came and how many bytes so far.
struct Seq {
    start: Instant,
    bytes: u64,
}

struct Assoc<'s> {
    stream: TcpStream,
    sh: &'s Arc<Shared>,
    id: u64,
    /// The calling AE title, escaped (logs, events, catalog).
    calling: String,
    /// The calling AE title as received (the file meta, when it is a valid AE title).
    calling_raw: String,
    /// The AE title called (an accepted one: ours or a study's route).
    called: String,
    /// The message being received, if any.
    seq: Option<Seq>,
    contexts: HashMap<u8, Context>,
    cmd: Vec<u8>,
    cmd_pc: u8,
    storing: Option<Storing>,
    stored: u64,
    failed: u64,
}

impl Assoc<'_> {
    /// When the PDU being read must be complete: inside a message, its start plus the data
    /// set deadline plus one second per `min_rate` bytes received; between messages, the idle
    /// time plus the data set deadline.
    fn deadline(&self) -> Instant {
        let cfg = &self.sh.cfg;
        match &self.seq {
            Some(s) => {
                s.start + cfg.data_set_timeout + Duration::from_secs(s.bytes / cfg.min_rate.max(1))
            }
            None => Instant::now() + cfg.idle_timeout + cfg.data_set_timeout,
        }
    }

    fn run(&mut self, cap: u32) -> End {
        loop {
            let deadline = self.deadline();
            let idle = self.sh.cfg.idle_timeout;
            let pdu = match read_pdu_by(&self.stream, cap, deadline, idle) {
                Ok(p) => p,
                Err(ReadFail::Closed | ReadFail::Io) => return End::Dropped,
                Err(ReadFail::Timeout) => {
                    abort(
                        &mut self.stream,
                        AbortRQServiceProviderReason::ReasonNotSpecified,
                    );
                    if Instant::now() + Duration::from_millis(5) >= deadline {
                        return End::Aborted("the message did not arrive within its deadline");
                    }
                    return End::Aborted("nothing received within the timeout");
                }
                Err(ReadFail::TooLarge) => {
                    abort(
                        &mut self.stream,
                        AbortRQServiceProviderReason::InvalidPduParameter,
                    );
                    return End::Aborted("PDU longer than negotiated");
                }
                Err(ReadFail::Malformed) => {
                    abort(
                        &mut self.stream,
                        AbortRQServiceProviderReason::UnrecognizedPduParameter,
                    );
                    return End::Aborted("malformed PDU");
                }
            };
            match pdu {
                Pdu::PData { data } => {
                    for v in data {
                        if let Err(why) = self.pdv(v) {
                            abort(
                                &mut self.stream,
                                AbortRQServiceProviderReason::UnexpectedPduParameter,
                            );
                            return End::Aborted(why);
                        }
                    }
                }
                Pdu::ReleaseRQ => {
                    let _ = write_pdu(&mut self.stream, &Pdu::ReleaseRP);
                    let _ = self.stream.shutdown(std::net::Shutdown::Write);
                    return End::Released;
                }
                Pdu::AbortRQ { .. } => return End::AbortedByPeer,
                Pdu::Unknown { .. } => {
                    abort(
                        &mut self.stream,
                        AbortRQServiceProviderReason::UnrecognizedPdu,
                    );
                    return End::Aborted("unrecognized PDU");
                }
                _ => {
                    abort(
                        &mut self.stream,
                        AbortRQServiceProviderReason::UnexpectedPdu,
                    );
                    return End::Aborted("unexpected PDU");
                }
            }
        }
    }

    fn respond(
        &mut self,
        pc: u8,
        req: &Request,
        st: u16,
        comment: Option<&str>,
    ) -> Result<(), &'static str> {
        let data = dimse::response(req, st, comment).map_err(|_| "cannot encode a response")?;
        let pdu = Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: pc,
                value_type: PDataValueType::Command,
                is_last: true,
                data,
            }],
        };
        write_pdu(&mut self.stream, &pdu).map_err(|_| "cannot send a response")
    }

    /// One P-DATA value.
    fn pdv(&mut self, v: PDataValue) -> Result<(), &'static str> {
        if !self.contexts.contains_key(&v.presentation_context_id) {
            return Err("P-DATA on a presentation context that was not accepted");
        }
        let seq = self.seq.get_or_insert_with(|| Seq {
            start: Instant::now(),
            bytes: 0,
        });
        seq.bytes += v.data.len() as u64;
        match v.value_type {
            PDataValueType::Command => {
                if self.storing.is_some() {
                    return Err("a command arrived inside a data set");
                }
                if self.cmd.is_empty() {
                    self.cmd_pc = v.presentation_context_id;
                } else if self.cmd_pc != v.presentation_context_id {
                    return Err("command fragments on different presentation contexts");
                }
                if self.cmd.len() + v.data.len() > MAX_COMMAND {
                    return Err("command set too long");
                }
                self.cmd.extend_from_slice(&v.data);
                if v.is_last {
                    let bytes = std::mem::take(&mut self.cmd);
                    let req = dimse::read_request(&bytes).map_err(|_| "unreadable command")?;
                    self.command(self.cmd_pc, req)?;
                    if self.storing.is_none() {
                        // answered: the message is over
                        self.seq = None;
                    }
                }
                Ok(())
            }
            PDataValueType::Data => {
                let Some(st) = self.storing.as_mut() else {
                    return Err("a data set arrived without a command");
                };
                if st.pc != v.presentation_context_id {
                    return Err("data set fragments on another presentation context");
                }
                if let Some(sink) = st.sink.as_mut() {
                    if sink.write(&v.data).is_err() {
                        // dropping the sink deletes the temp file
                        st.sink = None;
                        st.fail
                            .get_or_insert((status::OUT_OF_RESOURCES, "cannot write to disk"));
                    }
                }
                if v.is_last {
                    if let Some(st) = self.storing.take() {
                        let pc = st.pc;
                        let req = st.req.clone();
                        let (code, comment) = self.complete(st);
                        if code == status::SUCCESS {
                            self.stored += 1;
                            self.sh.stored.fetch_add(1, Ordering::Relaxed);
                        } else {
                            self.failed += 1;
                            self.sh.failed.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(
                                association = self.id,
                                status = format!("0x{code:04X}"),
                                "instance refused: {comment}"
                            );
                            (self.sh.events)(ScpEvent::Failed {
                                association: self.id,
                                status: code,
                                reason: comment.into(),
                            });
                        }
                        self.respond(pc, &req, code, Some(comment))?;
                    }
                    self.seq = None;
                }
                Ok(())
            }
        }
    }

    fn command(&mut self, pc: u8, req: Request) -> Result<(), &'static str> {
        let ctx = self.contexts.get(&pc).cloned().ok_or("unknown context")?;
        match req.command_field {
            dimse::C_ECHO_RQ => self.respond(pc, &req, status::SUCCESS, None),
            dimse::C_CANCEL_RQ => Ok(()),
            dimse::C_STORE_RQ if req.has_dataset => {
                let mut st = Storing {
                    pc,
                    req,
                    sink: None,
                    fail: None,
                };
                if ctx.abstract_syntax == VERIFICATION {
                    st.fail = Some((0x0122, "SOP class not supported"));
                } else if st.req.sop_instance.is_empty() || st.req.sop_class.is_empty() {
                    st.fail = Some((status::CANNOT_UNDERSTAND, "no affected SOP instance"));
                } else {
                    let mut meta = FileMetaTableBuilder::new()
                        .media_storage_sop_class_uid(st.req.sop_class.as_str())
                        .media_storage_sop_instance_uid(st.req.sop_instance.as_str())
                        .transfer_syntax(ctx.transfer_syntax.as_str())
                        .implementation_class_uid(crate::implementation::IMPLEMENTATION_CLASS_UID)
                        .implementation_version_name(
                            crate::implementation::IMPLEMENTATION_VERSION_NAME,
                        );
                    // (only a valid AE title goes into the file)
                    if crate::dimse::valid_ae(&self.calling_raw) {
                        meta = meta.source_application_entity_title(self.calling_raw.as_str());
                    }
                    let meta = meta.build();
                    match meta.map(|m| self.sh.spool.begin(&m)) {
                        Ok(Ok(sink)) => st.sink = Some(sink),
                        Ok(Err(_)) => {
                            st.fail = Some((status::OUT_OF_RESOURCES, "cannot write to disk"))
                        }
                        Err(_) => {
                            st.fail = Some((status::CANNOT_UNDERSTAND, "bad SOP identifiers"))
                        }
                    }
                }
                self.storing = Some(st);
                Ok(())
            }
            dimse::C_STORE_RQ => self.respond(
                pc,
                &req,
                status::CANNOT_UNDERSTAND,
                Some("C-STORE without a data set"),
            ),
            _ if req.has_dataset => {
                // read the data set and answer "unrecognized operation" at its end
                self.storing = Some(Storing {
                    pc,
                    req,
                    sink: None,
                    fail: Some((status::UNRECOGNIZED_OPERATION, "operation not supported")),
                });
                Ok(())
            }
            _ => self.respond(
                pc,
                &req,
                status::UNRECOGNIZED_OPERATION,
                Some("operation not supported"),
            ),
        }
    }

    /// Finishes a C-STORE: fsync, read the header, rename, record. The status to answer.
    fn complete(&mut self, st: Storing) -> (u16, &'static str) {
        if let Some(f) = st.fail {
            return f;
        }
        let Some(sink) = st.sink else {
            return (status::OUT_OF_RESOURCES, "cannot write to disk");
        };
        let done = match sink.finish() {
            Ok(d) => d,
            Err(_) => return (status::OUT_OF_RESOURCES, "cannot write to disk"),
        };
        let ts = self
            .contexts
            .get(&st.pc)
            .map(|c| c.transfer_syntax.clone())
            .unwrap_or_default();
        match complete::check(done.path(), done.offset, &ts) {
            Ok(Check::Truncated) => {
                return (
                    status::CANNOT_UNDERSTAND,
                    "data set shorter than its declared lengths",
                )
            }
            Ok(_) => {}
            Err(_) => return (status::OUT_OF_RESOURCES, "cannot read back from disk"),
        }
        let header =
            match catch_unwind(AssertUnwindSafe(|| crate::intake::read_header(done.path()))) {
                Ok(Ok(Read1::Instance(h))) => h,
                Ok(Err(crate::intake::SkipReason::MissingUid { .. })) => {
                    return (
                        status::CANNOT_UNDERSTAND,
                        "no Study, Series or SOP Instance UID: cannot catalog",
                    )
                }
                _ => return (status::CANNOT_UNDERSTAND, "the data set cannot be read"),
            };
        if header.sop_instance_uid != st.req.sop_instance
            || header.sop_class_uid != st.req.sop_class
        {
            return (
                status::DATASET_MISMATCH,
                "data set does not match the command's SOP UIDs",
            );
        }
        let commit = match self.sh.spool.commit(done, &st.req.sop_instance) {
            Ok(x) => x,
            Err(_) => return (status::OUT_OF_RESOURCES, "cannot write to disk"),
        };
        // a file this commit created (removed again if it cannot be recorded)
        let created = match &commit {
            Commit::Same(_) => None,
            Commit::New(p) | Commit::Conflict { path: p, .. } => Some(p.clone()),
        };
        let path = commit.path().to_path_buf();
        let stat = match FileStat::of(&path) {
            Ok(s) => s,
            Err(_) => {
                if let Some(p) = &created {
                    self.sh.spool.remove(p);
                }
                return (status::OUT_OF_RESOURCES, "cannot write to disk");
            }
        };
        let conflict = match commit {
            Commit::Conflict { earlier, .. } => {
                tracing::warn!(
                    association = self.id,
                    sop_instance_uid = %crate::logging::escape(&st.req.sop_instance),
                    "another data set arrived under a SOP Instance UID already held: both copies are kept and quarantined (uid_conflict)"
                );
                Some(earlier)
            }
            _ => None,
        };
        let rec = Stored {
            stat,
            header,
            duplicate: created.is_none(),
            conflict,
            calling_ae: self.calling.clone(),
            called_ae: self.called.clone(),
            association: self.id,
        };
        match self.sh.recorder.record(rec) {
            Ok(()) => (status::SUCCESS, "stored"),
            Err(why) => {
                tracing::warn!(
                    association = self.id,
                    "cannot record a received instance: {why}"
                );
                if let Some(p) = &created {
                    self.sh.spool.remove(p);
                }
                (status::OUT_OF_RESOURCES, "cannot record the instance")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_ul::pdu::PresentationContextProposed;

    fn rq(called: &str, calling: &str, pcs: Vec<(&str, Vec<&str>)>) -> AssociationRQ {
        AssociationRQ {
            protocol_version: 1,
            calling_ae_title: calling.into(),
            called_ae_title: called.into(),
            application_context_name: APPLICATION_CONTEXT.into(),
            presentation_contexts: pcs
                .into_iter()
                .enumerate()
                .map(|(i, (a, ts))| PresentationContextProposed {
                    id: (i * 2 + 1) as u8,
                    abstract_syntax: a.into(),
                    transfer_syntaxes: ts.into_iter().map(String::from).collect(),
                })
                .collect(),
            user_variables: vec![],
        }
    }

    #[test]
    fn storage_classes_and_syntaxes_are_accepted_as_proposed() {
        let r = rq(
            "DEPOSIT",
            "CT1",
            vec![
                ("1.2.840.10008.5.1.4.1.1.2", vec!["1.2.840.10008.1.2.4.90"]),
                ("1.2.840.10008.5.1.4.1.1.104.1", vec!["1.2.840.10008.1.2.1"]),
                (
                    "1.2.840.10008.5.1.4.1.1.88.22",
                    vec!["9.9", "1.2.840.10008.1.2"],
                ),
                ("1.2.840.10008.1.1", vec!["1.2.840.10008.1.2"]),
                ("1.2.840.10008.5.1.4.1.2.2.1", vec!["1.2.840.10008.1.2"]),
                ("1.2.840.10008.5.1.4.1.1.4", vec!["1.2.3.4"]),
            ],
        );
        let (ac, ctx) = negotiate(&r, "DEPOSIT", &[], &[], 65536).expect("accepted");
        let reasons: Vec<_> = ac
            .presentation_contexts
            .iter()
            .map(|p| p.reason.clone())
            .collect();
        use PresentationContextResultReason::*;
        assert_eq!(
            reasons,
            vec![
                Acceptance,
                Acceptance,
                Acceptance,
                Acceptance,
                AbstractSyntaxNotSupported,
                TransferSyntaxesNotSupported
            ]
        );
        assert_eq!(ctx[&1].transfer_syntax, "1.2.840.10008.1.2.4.90");
        assert_eq!(ctx[&5].transfer_syntax, "1.2.840.10008.1.2");
        assert_eq!(ctx.len(), 4);
    }

    #[test]
    fn wrong_called_ae_and_unlisted_calling_ae_are_rejected() {
        let pcs = || vec![("1.2.840.10008.1.1", vec!["1.2.840.10008.1.2"])];
        assert_eq!(
            negotiate(&rq("OTHER", "CT1", pcs()), "DEPOSIT", &[], &[], 65536).err(),
            Some(Refusal::CalledAe)
        );
        let allow = vec!["CT1".to_string()];
        assert!(negotiate(&rq("DEPOSIT", "CT1", pcs()), "DEPOSIT", &[], &allow, 65536).is_ok());
        assert_eq!(
            negotiate(&rq("DEPOSIT", "MR9", pcs()), "DEPOSIT", &[], &allow, 65536).err(),
            Some(Refusal::CallingAe)
        );
        let mut bad = rq("DEPOSIT", "CT1", pcs());
        bad.protocol_version = 2;
        assert_eq!(
            negotiate(&bad, "DEPOSIT", &[], &[], 65536).err(),
            Some(Refusal::ProtocolVersion)
        );
        assert_eq!(Refusal::Busy.rj().result, AssociationRJResult::Transient);
        assert_eq!(
            Refusal::CallingAe.rj().result,
            AssociationRJResult::Permanent
        );
    }

    #[test]
    fn malformed_and_oversized_pdus_are_errors_not_panics() {
        // a P-DATA PDU whose item length runs past the PDU
        let mut bad = vec![0x04, 0, 0, 0, 0, 8];
        bad.extend_from_slice(&[0, 0, 0, 0x40, 1, 3, 0, 0]);
        assert_eq!(read_pdu(&mut &bad[..], 1 << 20), Err(ReadFail::Malformed));
        let huge = [0x04, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(read_pdu(&mut &huge[..], 1 << 20), Err(ReadFail::TooLarge));
        let short = [0x04, 0, 0, 0, 0, 10, 1, 2];
        assert_eq!(read_pdu(&mut &short[..], 1 << 20), Err(ReadFail::Closed));
        // random bytes never panic
        let mut x = 12345u64;
        for _ in 0..2000 {
            let mut v = [0u8; 6 + 40];
            for b in v.iter_mut() {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (x >> 33) as u8;
            }
            v[1] = 0;
            v[2..6].copy_from_slice(&40u32.to_be_bytes());
            let _ = read_pdu(&mut &v[..], 1 << 20);
        }
    }
}
