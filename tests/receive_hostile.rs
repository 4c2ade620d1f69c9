//! The DICOM receiver against hostile peers on loopback, while real senders (dcmtk `storescu`,
//! `echoscu`) keep being served: connections trickling an association request or a data set
//! byte by byte (cut by their deadlines, never holding the slots of a well-behaved sender),
//! slots counted after the allow-list and per calling AE, a second data set under a SOP
//! Instance UID already acknowledged (kept beside the first, both quarantined as
//! `uid_conflict`; an identical re-send stays one copy), a data set shorter than it declares
//! (refused, nothing stored), and control characters in AE titles (escaped in the log).
//!
//! dcmtk missing: the tests fail when DEPOSIT_REQUIRE_PEERS=1, else they skip with a message.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_ul::pdu::{
    AssociationRQ, PDataValue, PDataValueType, PresentationContextProposed, UserVariableItem,
};
use dicom_ul::Pdu;

use crate::receive::{
    peer, run, spool_files, spooled, storescu, temp_files, text, wait_for, Receiver,
};

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const VERIFICATION: &str = "1.2.840.10008.1.1";

/// `n` small synthetic CT slices in a fresh folder (no manifest).
fn cts(dir: &Path, n: usize, seed: u64) -> Vec<PathBuf> {
    deposit_synth::generate_bulk(dir, n, seed, 64, 64).expect("synth");
    std::fs::remove_file(dir.join("manifest.json")).expect("rm manifest");
    crate::support::cli::dcm_files(dir)
}

fn sop_of(path: &Path) -> String {
    let obj = dicom_object::open_file(path).expect("open");
    obj.element(tags::SOP_INSTANCE_UID)
        .expect("sop")
        .to_str()
        .expect("str")
        .trim_end_matches(['\0', ' '])
        .to_string()
}

fn value_of(path: &Path, tag: dicom_core::Tag) -> String {
    let obj = dicom_object::open_file(path).expect("open");
    obj.element(tag)
        .expect("element")
        .to_str()
        .expect("str")
        .trim_end_matches(['\0', ' '])
        .to_string()
}

/// An encoded A-ASSOCIATE-RQ to DEPOSIT from `calling` (CT and verification).
fn rq_bytes(calling: &str) -> Vec<u8> {
    let rq = AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling.into(),
        called_ae_title: "DEPOSIT".into(),
        application_context_name: "1.2.840.10008.3.1.1.1".into(),
        presentation_contexts: vec![
            PresentationContextProposed {
                id: 1,
                abstract_syntax: CT.into(),
                transfer_syntaxes: vec![EXPLICIT_LE.into()],
            },
            PresentationContextProposed {
                id: 3,
                abstract_syntax: VERIFICATION.into(),
                transfer_syntaxes: vec![IMPLICIT_LE.into()],
            },
        ],
        user_variables: vec![UserVariableItem::MaxLength(65536)],
    };
    pdu_bytes(&Pdu::AssociationRQ(rq))
}

fn pdu_bytes(pdu: &Pdu) -> Vec<u8> {
    let mut out = Vec::new();
    dicom_ul::pdu::write_pdu(&mut out, pdu).expect("encode PDU");
    out
}

/// Reads one PDU (header and body) from a raw connection.
fn read_raw_pdu(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 6];
    s.read_exact(&mut head)?;
    let len = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok((head[0], body))
}

/// A C-STORE-RQ command set (Implicit VR LE) for `sop` of the CT class.
fn store_command(sop: &str) -> Vec<u8> {
    let cmd = dicom_object::InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(format!("{CT}\0")),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, PrimitiveValue::from(1u16)),
        DataElement::new(tags::MESSAGE_ID, VR::US, PrimitiveValue::from(1u16)),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(sop),
        ),
    ]);
    let mut bytes = Vec::new();
    cmd.write_dataset_with_ts(
        &mut bytes,
        &dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN.erased(),
    )
    .expect("encode");
    bytes
}

fn pdata(pc: u8, kind: PDataValueType, last: bool, data: Vec<u8>) -> Pdu {
    Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: pc,
            value_type: kind,
            is_last: last,
            data,
        }],
    }
}

fn echo(port: u16, calling: &str) -> bool {
    let Some(echo) = peer("echoscu") else {
        return true;
    };
    run(Command::new(echo).args([
        "-aet",
        calling,
        "-aec",
        "DEPOSIT",
        "127.0.0.1",
        &port.to_string(),
    ]))
    .status
    .success()
}

/// Sends `bytes` one a second until the receiver closes the connection; how long that took
/// (None: still open after `give_up`).
fn trickle(port: u16, bytes: &[u8], fast: usize, give_up: Duration) -> Option<Duration> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let t0 = Instant::now();
    s.write_all(&bytes[..fast]).expect("first bytes");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut buf = [0u8; 256];
    // never the last byte: the request stays incomplete
    for b in &bytes[fast..bytes.len() - 1] {
        if s.write_all(&[*b]).is_err() {
            return Some(t0.elapsed());
        }
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until {
            match s.read(&mut buf) {
                Ok(0) => return Some(t0.elapsed()),
                // an A-ABORT: the end follows
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return Some(t0.elapsed()),
            }
        }
        if t0.elapsed() > give_up {
            return None;
        }
    }
    None
}

#[test]
fn two_tricklers_do_not_keep_a_well_behaved_sender_out() {
    let Some(scu) = peer("storescu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let files = cts(&tmp.path().join("ct"), 2, 21);
    let rx = Receiver::start(
        &home,
        &[
            "--max-associations",
            "2",
            "--allow-ae",
            "GOOD",
            "--setup-timeout",
            "4",
        ],
    );
    let t0 = Instant::now();
    let port = rx.port;
    // two connections trickling a (valid, allowed) association request, a byte a second
    let tricklers: Vec<_> = (0..2)
        .map(|_| {
            let rq = rq_bytes("GOOD");
            std::thread::spawn(move || trickle(port, &rq, 1, Duration::from_secs(40)))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    // while they trickle, a well-behaved sender stores both files
    let mut args = vec!["-v".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = storescu(&scu, port, "GOOD", &args);
    let sent_at = t0.elapsed();
    assert!(o.status.success(), "{}\n{}", text(&o), rx.log());
    assert_eq!(
        text(&o)
            .matches("Received Store Response (Success)")
            .count(),
        2,
        "{}",
        text(&o)
    );
    // the tricklers were cut by the set-up deadline, after the sender was done
    for t in tricklers {
        let cut = t
            .join()
            .expect("trickler")
            .expect("a trickler was never cut");
        assert!(
            cut >= Duration::from_secs(3) && cut < Duration::from_secs(12),
            "cut after {cut:?}"
        );
        assert!(
            sent_at < cut,
            "sent at {sent_at:?}, trickler cut at {cut:?}"
        );
    }
    assert!(echo(port, "GOOD"), "still serving: {}", rx.log());
    assert!(
        rx.log().contains("set-up deadline"),
        "the cut is logged: {}",
        rx.log()
    );
    let st = rx.stop();
    assert_eq!(st["instances_received"].as_u64(), Some(2), "{st}");
    assert_eq!(spool_files(&home).len(), 2);
}

#[test]
fn slots_are_taken_after_the_allow_list_and_bounded_per_calling_ae() {
    let Some(_) = peer("echoscu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let rx = Receiver::start(
        &home,
        &[
            "--max-associations",
            "2",
            "--max-per-ae",
            "1",
            "--allow-ae",
            "GOOD",
            "--allow-ae",
            "OTHER",
        ],
    );
    let hold = |ae: &str| {
        dicom_ul::ClientAssociationOptions::new()
            .calling_ae_title(ae)
            .called_ae_title("DEPOSIT")
            .with_presentation_context(VERIFICATION, vec![IMPLICIT_LE])
            .establish(("127.0.0.1", rx.port))
            .expect("association")
    };
    let good = hold("GOOD");
    // the same AE title again: over its own limit, while a slot is still free
    assert!(!echo(rx.port, "GOOD"));
    wait_for("the per-AE refusal", Duration::from_secs(20), || {
        rx.log()
            .contains("too many associations from this AE title")
    });
    // another allowed AE title takes the last slot
    let other = hold("OTHER");
    // every slot taken: a caller not on the list is refused as such, not as "busy"
    assert!(!echo(rx.port, "STRANGER"));
    wait_for("the allow-list refusal", Duration::from_secs(20), || {
        rx.log().contains("not on the allow-list")
    });
    assert!(
        !rx.log().contains("too many associations at once"),
        "{}",
        rx.log()
    );
    // slots free again when associations end
    other.release().expect("release");
    wait_for("OTHER's slot to free", Duration::from_secs(20), || {
        echo(rx.port, "OTHER")
    });
    good.release().expect("release");
    wait_for("GOOD's slot to free", Duration::from_secs(20), || {
        echo(rx.port, "GOOD")
    });
    let st = rx.stop();
    assert_eq!(st["associations_total"].as_u64(), Some(4), "{st}");
}

#[test]
fn a_data_set_trickled_is_cut_at_its_deadline_and_leaves_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let rx = Receiver::start(&home, &["--data-set-timeout", "3"]);
    let mut s = TcpStream::connect(("127.0.0.1", rx.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(&rq_bytes("SLOW")).expect("rq");
    let (kind, _) = read_raw_pdu(&mut s).expect("answer");
    assert_eq!(kind, 0x02, "A-ASSOCIATE-AC");
    // the C-STORE command at once, then a data set PDU a byte a second
    s.write_all(&pdu_bytes(&pdata(
        1,
        PDataValueType::Command,
        true,
        store_command("2.25.4242"),
    )))
    .expect("command");
    let data = pdu_bytes(&pdata(
        1,
        PDataValueType::Data,
        true,
        [
            &[0x08u8, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'C', b'T'][..],
            &[0u8; 90],
        ]
        .concat(),
    ));
    let t0 = Instant::now();
    let port = rx.port;
    let trickler = std::thread::spawn(move || {
        s.write_all(&data[..20]).expect("first bytes");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let mut buf = [0u8; 64];
        for b in &data[20..data.len() - 1] {
            if s.write_all(&[*b]).is_err() {
                return Some(t0.elapsed());
            }
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until {
                match s.read(&mut buf) {
                    Ok(0) => return Some(t0.elapsed()),
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return Some(t0.elapsed()),
                }
            }
            if t0.elapsed() > Duration::from_secs(40) {
                return None;
            }
        }
        None
    });
    // the receiver serves others meanwhile
    std::thread::sleep(Duration::from_millis(500));
    assert!(echo(port, "OTHER"), "{}", rx.log());
    let cut = trickler.join().expect("join").expect("never cut");
    assert!(cut < Duration::from_secs(12), "cut after {cut:?}");
    wait_for("the log line", Duration::from_secs(20), || {
        rx.log().contains("did not arrive within its deadline")
    });
    wait_for("the temp file to go", Duration::from_secs(20), || {
        temp_files(&home) == 0
    });
    assert!(spool_files(&home).is_empty());
    assert!(echo(port, "OTHER"), "{}", rx.log());
    let st = rx.stop();
    assert_eq!(st["instances_received"].as_u64(), Some(0), "{st}");
}

/// `quarantine` rows of the catalog: (source path, code, reason).
fn quarantine_rows(home: &Path) -> Vec<(PathBuf, String, String)> {
    let c = rusqlite::Connection::open(home.join("catalog.sqlite")).expect("catalog");
    let mut st = c
        .prepare("SELECT source_path, code, reason FROM quarantine ORDER BY id")
        .expect("select");
    let rows = st
        .query_map([], |r| {
            let p: Vec<u8> = r.get(0)?;
            Ok((
                PathBuf::from(String::from_utf8_lossy(&p).into_owned()),
                r.get(1)?,
                r.get(2)?,
            ))
        })
        .expect("rows");
    rows.map(|r| r.expect("row")).collect()
}

#[test]
fn another_data_set_under_an_acknowledged_sop_uid_is_kept_beside_it() {
    let Some(scu) = peer("storescu") else { return };
    let Some(dcmodify) = peer("dcmodify") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let a = cts(&tmp.path().join("ct"), 1, 31).remove(0);
    let sop = sop_of(&a);
    let pid = value_of(&a, tags::PATIENT_ID);
    // the same SOP Instance UID, another patient and study
    let b = tmp.path().join("b.dcm");
    std::fs::copy(&a, &b).expect("copy");
    let o = run(Command::new(&dcmodify)
        .args([
            "-nb",
            "-m",
            "(0010,0020)=OTHERPID77",
            "-m",
            "(0010,0010)=OTHER^NAME77",
            "-m",
            "(0020,000d)=2.25.987654321",
        ])
        .arg(&b));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(sop_of(&b), sop);
    let rx = Receiver::start(&home, &[]);
    let send = |f: &Path| {
        let o = storescu(&scu, rx.port, "MODALITY", &["-v", &f.display().to_string()]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains("Received Store Response (Success)"),
            "{}",
            text(&o)
        );
    };
    send(&a);
    let first = spooled(&home, &sop);
    let first_bytes = std::fs::read(&first).expect("first copy");
    // an identical re-send: Success, still one copy, nothing quarantined
    send(&a);
    assert_eq!(spool_files(&home), vec![first.clone()]);
    assert!(quarantine_rows(&home).is_empty());
    // another data set under the same UID: kept beside the first, which is untouched
    send(&b);
    let files = spool_files(&home);
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(std::fs::read(&first).expect("first"), first_bytes);
    let second = files
        .iter()
        .find(|f| **f != first)
        .expect("second copy")
        .clone();
    assert_eq!(value_of(&second, tags::PATIENT_ID), "OTHERPID77");
    // …and the pair is quarantined as uid_conflict, the reason naming the UID, not the patient
    let q = quarantine_rows(&home);
    let paths: Vec<_> = q.iter().map(|r| r.0.clone()).collect();
    assert_eq!(paths, vec![first.clone(), second.clone()], "{q:?}");
    for (_, code, reason) in &q {
        assert_eq!(code, "uid_conflict");
        assert!(reason.contains(&sop), "{reason}");
        assert!(!reason.contains(&pid) && !reason.contains("OTHERPID77"));
    }
    // the second copy again: idempotent as well
    send(&b);
    assert_eq!(spool_files(&home).len(), 2);
    assert_eq!(quarantine_rows(&home).len(), 2);
    let log = rx.log();
    assert!(log.contains("uid_conflict"), "{log}");
    for v in [pid.as_str(), "OTHERPID77", "OTHER^NAME77"] {
        assert!(!log.contains(v), "patient value in the log: {log}");
    }
    assert!(echo(rx.port, "MODALITY"));
    let st = rx.stop();
    assert_eq!(st["instances_received"].as_u64(), Some(4), "{st}");
}

#[test]
fn a_data_set_shorter_than_it_declares_is_refused_and_not_stored() {
    let Some(scu) = peer("storescu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let file = cts(&tmp.path().join("ct"), 1, 41).remove(0);
    let sop = sop_of(&file);
    let obj = dicom_object::open_file(&file).expect("open");
    let mut ds = Vec::new();
    obj.write_dataset_with_ts(
        &mut ds,
        &dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN.erased(),
    )
    .expect("encode");
    // Pixel Data cut short by 1000 bytes
    ds.truncate(ds.len() - 1000);
    let rx = Receiver::start(&home, &[]);
    let mut a = dicom_ul::ClientAssociationOptions::new()
        .calling_ae_title("CUTTER")
        .called_ae_title("DEPOSIT")
        .with_presentation_context(CT, vec![EXPLICIT_LE])
        .establish(("127.0.0.1", rx.port))
        .expect("association");
    let pc = a.presentation_contexts()[0].id;
    a.send(&pdata(
        pc,
        PDataValueType::Command,
        true,
        store_command(&sop),
    ))
    .expect("command");
    a.send(&pdata(pc, PDataValueType::Data, true, ds))
        .expect("data set");
    let status = match a.receive().expect("response") {
        Pdu::PData { data } => {
            let rsp = dicom_object::InMemDicomObject::read_dataset_with_ts(
                &data[0].data[..],
                &dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN.erased(),
            )
            .expect("response command");
            rsp.element(tags::STATUS)
                .expect("status")
                .to_int::<u16>()
                .expect("u16")
        }
        other => panic!("not a response: {other:?}"),
    };
    assert!(
        status == 0xC000 || status == 0xA900,
        "status 0x{status:04X}; {}",
        rx.log()
    );
    a.release().expect("release");
    assert!(spool_files(&home).is_empty());
    assert_eq!(temp_files(&home), 0);
    // the receiver goes on; the whole instance is then stored
    let o = storescu(&scu, rx.port, "MODALITY", &[&file.display().to_string()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(spool_files(&home), vec![spooled(&home, &sop)]);
    let st = rx.stop();
    assert_eq!(st["instances_received"].as_u64(), Some(1), "{st}");
    assert_eq!(st["instances_failed"].as_u64(), Some(1), "{st}");
}

#[test]
fn control_characters_in_ae_titles_are_escaped_in_the_log() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let rx = Receiver::start(&home, &[]);
    let evil = "EV\x1b[2JIL\nX";
    let mut s = TcpStream::connect(("127.0.0.1", rx.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(&rq_bytes(evil)).expect("rq");
    let (kind, _) = read_raw_pdu(&mut s).expect("answer");
    s.write_all(&pdu_bytes(&Pdu::ReleaseRQ)).expect("release");
    let _ = read_raw_pdu(&mut s);
    drop(s);
    wait_for("the association to end", Duration::from_secs(20), || {
        rx.log().contains("association ended")
    });
    let log = rx.log();
    assert_eq!(kind, 0x02, "accepted: {log}");
    assert!(log.contains("EV\\x1b[2JIL\\nX"), "{log}");
    assert!(!log.contains('\x1b'), "raw escape in the log: {log:?}");
    assert!(echo(rx.port, "NEXT"));
    rx.stop();
}

#[test]
fn the_allow_list_and_limits_of_deposit_toml_are_in_force() {
    let Some(_) = peer("echoscu") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let config = tmp.path().join("deposit.toml");
    std::fs::write(
        &config,
        "[receiver]\nbind = \"127.0.0.1\"\nallow_ae = [\"GOOD\"]\nmax_per_ae = 1\n\
         setup_timeout = \"2s\"\n",
    )
    .expect("config");
    let rx = Receiver::launch(&home, &["--port", "0", "--json"], &config);
    assert!(echo(rx.port, "GOOD"), "{}", rx.log());
    assert!(!echo(rx.port, "STRANGER"), "the configured allow-list");
    // the configured set-up deadline cuts a silent connection
    let mut s = TcpStream::connect(("127.0.0.1", rx.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let t0 = Instant::now();
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    rx.stop();
}
