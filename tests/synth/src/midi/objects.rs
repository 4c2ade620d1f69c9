//! The patients and objects of the hard corpus, and where each identity is placed.

use std::collections::BTreeMap;
use std::path::Path;

use dicom_core::value::{DataSetSequence, PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::codec;
use super::spec::{Expect, MidiObject, Needle, Retention};
use super::{delivered_everywhere, Gen, US_MASK};
use crate::font::{draw_text, Rect};
use crate::SynthError;

type Obj = InMemDicomObject;

/// Patients in the corpus.
pub const PATIENTS: usize = 8;
/// Manufacturer Model Name of the burned-in ultrasound (the mask library matches it).
pub const US_MODEL: &str = "SYNTH-US-BURN";

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const ENHANCED_CT: &str = "1.2.840.10008.5.1.4.1.1.2.1";
const MR: &str = "1.2.840.10008.5.1.4.1.1.4";
const US: &str = "1.2.840.10008.5.1.4.1.1.6.1";
const COMPREHENSIVE_SR: &str = "1.2.840.10008.5.1.4.1.1.88.33";
const GSPS: &str = "1.2.840.10008.5.1.4.1.1.11.1";
const PDF: &str = "1.2.840.10008.5.1.4.1.1.104.1";

/// One patient and every identifying value it carries.
pub struct Pat {
    /// Index.
    pub i: usize,
    /// Specific Character Set (backslash-separated values).
    pub charset: &'static str,
    family: &'static str,
    given: &'static str,
    /// ASCII spelling of the name (for burned-in text, PDF, JPEG/J2K comments).
    ascii: (&'static str, &'static str),
    /// Patient ID.
    pub id: String,
    /// The lookup table's pseudonym.
    pub pseudonym: String,
    other_id: String,
    other_seq_id: String,
    maiden: &'static str,
    kin: &'static str,
    street: &'static str,
    address: String,
    phone: String,
    institution: &'static str,
    inst_address: String,
    station: String,
    referring: (&'static str, &'static str),
    performing: (&'static str, &'static str),
    operator: (&'static str, &'static str),
    contrib_inst: &'static str,
    contrib_station: String,
    contrib_op: (&'static str, &'static str),
    contrib_phone: String,
    birth: String,
    req_proc_id: String,
}

const NAMES: [(&str, &str, &str, &str); PATIENTS] = [
    ("Müller", "Zoë", "Mueller", "Zoe"),
    ("Gonçalves", "José", "Goncalves", "Jose"),
    ("Yamada", "Tarou", "Yamada", "Tarou"),
    ("Okonkwo", "Chidinma", "Okonkwo", "Chidinma"),
    ("Lindqvist", "Astrid", "Lindqvist", "Astrid"),
    ("Abernathy", "Harriet", "Abernathy", "Harriet"),
    ("Castellanos", "Marisol", "Castellanos", "Marisol"),
    ("Przybylski", "Wojciech", "Przybylski", "Wojciech"),
];
const CHARSETS: [&str; PATIENTS] = [
    "ISO_IR 192",
    "ISO_IR 100",
    "\\ISO 2022 IR 87",
    "ISO_IR 192",
    "ISO_IR 100",
    "",
    "ISO_IR 192",
    "ISO_IR 100",
];
const MAIDEN: [&str; PATIENTS] = [
    "Brunnhuber",
    "Albuquerque",
    "Fujimori",
    "Onyekachi",
    "Tornqvist",
    "Fairweather",
    "Montenegro",
    "Szczepanik",
];
const KIN: [&str; PATIENTS] = [
    "Ottilie", "Benedita", "Hanako", "Ngozi", "Ingegerd", "Philippa", "Remedios", "Jadwiga",
];
const STREETS: [&str; PATIENTS] = [
    "Lindenstraße",
    "Rua das Flores",
    "Sakura-dori",
    "Adeola Odeku Street",
    "Storgatan",
    "Pemberley Lane",
    "Calle de Alcalá",
    "Ulica Mokotowska",
];
const INSTITUTIONS: [&str; PATIENTS] = [
    "Klinikum Rechts der Isar Süd",
    "Hospital São Bento",
    "Kanto Rosai Hospital",
    "Lagoon Hospital Ikoyi",
    "Sahlgrenska Östra",
    "St Aldhelm Infirmary",
    "Hospital La Paz Norte",
    "Szpital Bielanski",
];
const CONTRIB_INST: [&str; PATIENTS] = [
    "Radiologie am Domplatz",
    "Clinica Imagem Boavista",
    "Shinjuku Gazo Center",
    "Ikeja Imaging Hub",
    "Bildcentrum Lund",
    "Harrowgate Scan Suite",
    "Diagnostico Triana",
    "Centrum Obrazowania Praga",
];
const REFERRING: [(&str, &str); PATIENTS] = [
    ("Hartmannsberger", "Ingrid"),
    ("Vasconcelos", "Tiago"),
    ("Kobayashi", "Kenji"),
    ("Adeyemi", "Folake"),
    ("Sundqvist", "Nils"),
    ("Whitcombe", "Edmund"),
    ("Villalobos", "Lucia"),
    ("Wieczorek", "Tomasz"),
];
const PERFORMING: [(&str, &str); PATIENTS] = [
    ("Obermaier", "Lukas"),
    ("Magalhaes", "Ines"),
    ("Hayashi", "Yui"),
    ("Nwosu", "Emeka"),
    ("Bergstrom", "Karin"),
    ("Ashcombe", "Rupert"),
    ("Echeverria", "Pablo"),
    ("Kowalczyk", "Marta"),
];
const OPERATORS: [(&str, &str); PATIENTS] = [
    ("Brandstaetter", "Jonas"),
    ("Figueiredo", "Rita"),
    ("Nakamura", "Sora"),
    ("Ezeokoli", "Chioma"),
    ("Holmgren", "Elsa"),
    ("Pemberton", "Giles"),
    ("Quintanilla", "Rosa"),
    ("Zielinski", "Piotr"),
];
const CONTRIB_OPS: [(&str, &str); PATIENTS] = [
    ("Oberhuber", "Anna"),
    ("Carvalhal", "Joao"),
    ("Tsukamoto", "Ren"),
    ("Babatunde", "Tayo"),
    ("Wahlgren", "Sven"),
    ("Thistlethwaite", "Maud"),
    ("Barrionuevo", "Ana"),
    ("Grabowski", "Ewa"),
];

/// Patient `i` (0-based, below [`PATIENTS`]).
pub fn patient(i: usize) -> Pat {
    let k = i % PATIENTS;
    let n = |base: u64| base + 7919 * i as u64;
    let (family, given, af, ag) = NAMES[k];
    Pat {
        i,
        charset: CHARSETS[k],
        family,
        given,
        ascii: (af, ag),
        id: format!("MRN{}", n(4_402_117)),
        pseudonym: format!("SUBJ-{:03}", i + 1),
        other_id: format!("ALT{}", n(88_310_452)),
        other_seq_id: format!("EXT-{}", n(55_120_031)),
        maiden: MAIDEN[k],
        kin: KIN[k],
        street: STREETS[k],
        address: format!("{} {}, {} City", 12 + i, STREETS[k], 8001 + i),
        phone: format!("+41 44 {} {:04}", 255 + i, n(1234) % 10_000),
        institution: INSTITUTIONS[k],
        inst_address: format!("{} Hospital Road {}, Springfield", 100 + i, CONTRIB_INST[k]),
        station: format!("CTSTN{}", n(30_117)),
        referring: REFERRING[k],
        performing: PERFORMING[k],
        operator: OPERATORS[k],
        contrib_inst: CONTRIB_INST[k],
        contrib_station: format!("RWS{}", n(60_991)),
        contrib_op: CONTRIB_OPS[k],
        contrib_phone: format!("+46 46 17 {:05}", n(31_337) % 100_000),
        birth: format!("{}{:02}{:02}", 1941 + 5 * i, 1 + (i * 5) % 12, 3 + 3 * i),
        req_proc_id: format!("RP{}", n(700_301)),
    }
}

impl Pat {
    fn pn(&self) -> String {
        format!("{}^{}", self.family, self.given)
    }

    fn staff(p: (&str, &str)) -> String {
        format!("{}^{}", p.0, p.1)
    }
}

/// A study of a patient.
struct Study {
    uid: String,
    date: String,
    time: String,
    accession: String,
    label: &'static str,
}

struct Series {
    uid: String,
    number: u32,
    frame_of_reference: String,
}

fn s(o: &mut Obj, tag: Tag, vr: VR, v: &str) {
    o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn u16v(o: &mut Obj, tag: Tag, v: u16) {
    o.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
}

fn sq(o: &mut Obj, tag: Tag, items: Vec<Obj>) {
    o.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn raw(o: &mut Obj, tag: Tag, vr: VR, mut v: Vec<u8>) {
    if v.len() % 2 == 1 {
        v.push(if vr == VR::UN || vr == VR::OB {
            0
        } else {
            b' '
        });
    }
    o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn code(value: &str, scheme: &str, meaning: &str) -> Obj {
    let mut c = Obj::new_empty();
    s(&mut c, tags::CODE_VALUE, VR::SH, value);
    s(&mut c, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
    s(&mut c, tags::CODE_MEANING, VR::LO, meaning);
    c
}

/// Implicit VR little endian bytes of one element with a text value (for UN-encoded data).
fn implicit(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    if v.len() % 2 == 1 {
        v.push(if tag.1 == 0x1155 || tag.1 == 0x1150 {
            0
        } else {
            b' '
        });
    }
    let mut out = Vec::with_capacity(8 + v.len());
    out.extend_from_slice(&tag.0.to_le_bytes());
    out.extend_from_slice(&tag.1.to_le_bytes());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    out.extend(v);
    out
}

/// A sequence value in implicit VR little endian: each item (defined length) of the given
/// element bytes.
fn implicit_items(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for it in items {
        out.extend_from_slice(&0xFFFEu16.to_le_bytes());
        out.extend_from_slice(&0xE000u16.to_le_bytes());
        out.extend_from_slice(&(it.len() as u32).to_le_bytes());
        out.extend_from_slice(it);
    }
    out
}

/// The person name of the patient as written: text, or ISO 2022 IR 87 bytes.
fn pn_value(p: &Pat) -> (PrimitiveValue, Vec<Needle>) {
    if p.charset.contains("2022 IR 87") {
        // "Yamada^Tarou=山田^太郎" in ISO 2022 IR 87 (PS3.5 Annex H)
        let mut b = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B".to_vec();
        b.push(b' ');
        let mut needles = codec::needles("Yamada^Tarou");
        needles.push(Needle {
            encoding: "iso-2022-ir87".into(),
            hex: codec::hex(b"\x1b$B;3ED\x1b(B"),
        });
        needles.extend(
            codec::needles("山田")
                .into_iter()
                .filter(|n| n.encoding != "latin-1"),
        );
        (PrimitiveValue::from(b), needles)
    } else {
        (PrimitiveValue::from(p.pn()), codec::needles(&p.pn()))
    }
}

fn iso_date(d: &str) -> String {
    format!(
        "{}-{}-{}",
        d.get(..4).unwrap_or(""),
        d.get(4..6).unwrap_or(""),
        d.get(6..8).unwrap_or("")
    )
}

fn us_date(d: &str) -> String {
    format!(
        "{}/{}/{}",
        d.get(4..6).unwrap_or(""),
        d.get(6..8).unwrap_or(""),
        d.get(..4).unwrap_or("")
    )
}

fn eu_date(d: &str) -> String {
    format!(
        "{}.{}.{}",
        d.get(6..8).unwrap_or(""),
        d.get(4..6).unwrap_or(""),
        d.get(..4).unwrap_or("")
    )
}

/// The header every object of the patient carries, with its placements and checks.
#[allow(clippy::too_many_arguments)]
fn common(
    g: &mut Gen,
    id: usize,
    p: &Pat,
    st: &Study,
    se: &Series,
    sop_class: &str,
    sop: &str,
    modality: &str,
    instance: u32,
) -> Obj {
    let mut o = Obj::new_empty();
    if !p.charset.is_empty() {
        let cs: Vec<String> = p.charset.split('\\').map(String::from).collect();
        o.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::Strs(cs.into()),
        ));
    }
    let pi = p.i;
    s(&mut o, tags::SOP_CLASS_UID, VR::UI, sop_class);
    g.keep(id, "(0008,0016)", sop_class);
    s(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop);
    for t in [tags::STUDY_DATE, tags::SERIES_DATE, tags::CONTENT_DATE] {
        s(&mut o, t, VR::DA, &st.date);
    }
    g.place(
        id,
        &format!("p{pi}.date.study-{}", st.label),
        "date",
        "StudyDate, SeriesDate, ContentDate (0008,0020-0023)",
        &st.date,
    );
    for t in [tags::STUDY_TIME, tags::SERIES_TIME, tags::CONTENT_TIME] {
        s(&mut o, t, VR::TM, &st.time);
    }
    s(&mut o, tags::ACCESSION_NUMBER, VR::SH, &st.accession);
    g.place(
        id,
        &format!("p{pi}.accession.{}", st.label),
        "accession",
        "AccessionNumber (0008,0050)",
        &st.accession,
    );
    s(&mut o, tags::MODALITY, VR::CS, modality);
    g.keep(id, "(0008,0060)", modality);
    s(
        &mut o,
        tags::MANUFACTURER,
        VR::LO,
        "Deposit Synthetic Imaging",
    );
    s(&mut o, tags::INSTITUTION_NAME, VR::LO, p.institution);
    g.place(
        id,
        &format!("p{pi}.institution.name"),
        "institution",
        "InstitutionName (0008,0080)",
        p.institution,
    );
    s(&mut o, tags::INSTITUTION_ADDRESS, VR::ST, &p.inst_address);
    g.place(
        id,
        &format!("p{pi}.address.institution"),
        "address",
        "InstitutionAddress (0008,0081)",
        &p.inst_address,
    );
    s(
        &mut o,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        &Pat::staff(p.referring),
    );
    g.place(
        id,
        &format!("p{pi}.name.referring"),
        "name",
        "ReferringPhysicianName (0008,0090)",
        &Pat::staff(p.referring),
    );
    s(&mut o, tags::STATION_NAME, VR::SH, &p.station);
    g.place(
        id,
        &format!("p{pi}.station"),
        "station",
        "StationName (0008,1010)",
        &p.station,
    );
    s(
        &mut o,
        tags::STUDY_DESCRIPTION,
        VR::LO,
        "CT HEAD WITHOUT CONTRAST",
    );
    s(
        &mut o,
        tags::PERFORMING_PHYSICIAN_NAME,
        VR::PN,
        &Pat::staff(p.performing),
    );
    g.place(
        id,
        &format!("p{pi}.name.performing"),
        "name",
        "PerformingPhysicianName (0008,1050)",
        &Pat::staff(p.performing),
    );
    s(
        &mut o,
        tags::OPERATORS_NAME,
        VR::PN,
        &Pat::staff(p.operator),
    );
    g.place(
        id,
        &format!("p{pi}.name.operator"),
        "name",
        "OperatorsName (0008,1070)",
        &Pat::staff(p.operator),
    );
    s(&mut o, tags::MANUFACTURER_MODEL_NAME, VR::LO, "SYNTH-MIDI");

    let (pn, needles) = pn_value(p);
    o.put(DataElement::new(tags::PATIENT_NAME, VR::PN, pn));
    g.place_needles(
        id,
        &format!("p{pi}.name.patient"),
        "name",
        "PatientName (0010,0010)",
        needles,
    );
    s(&mut o, tags::PATIENT_ID, VR::LO, &p.id);
    g.place(
        id,
        &format!("p{pi}.id.patient"),
        "id",
        "PatientID (0010,0020)",
        &p.id,
    );
    s(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, &p.birth);
    g.place(
        id,
        &format!("p{pi}.date.birth"),
        "date",
        "PatientBirthDate (0010,0030)",
        &p.birth,
    );
    s(
        &mut o,
        tags::PATIENT_SEX,
        VR::CS,
        if pi % 2 == 0 { "F" } else { "M" },
    );
    s(&mut o, Tag(0x0010, 0x1000), VR::LO, &p.other_id);
    g.place(
        id,
        &format!("p{pi}.id.other"),
        "id",
        "OtherPatientIDs (0010,1000)",
        &p.other_id,
    );
    let mut oid = Obj::new_empty();
    s(&mut oid, tags::PATIENT_ID, VR::LO, &p.other_seq_id);
    s(&mut oid, tags::ISSUER_OF_PATIENT_ID, VR::LO, "SYNTH-OTHER");
    s(&mut oid, tags::TYPE_OF_PATIENT_ID, VR::CS, "TEXT");
    sq(&mut o, tags::OTHER_PATIENT_I_DS_SEQUENCE, vec![oid]);
    g.place(
        id,
        &format!("p{pi}.id.other-sequence"),
        "id",
        "OtherPatientIDsSequence (0010,1002)[0]/PatientID (0010,0020)",
        &p.other_seq_id,
    );
    s(&mut o, tags::PATIENT_ADDRESS, VR::LO, &p.address);
    g.place(
        id,
        &format!("p{pi}.address.patient"),
        "address",
        "PatientAddress (0010,1040) (street)",
        p.street,
    );
    s(&mut o, tags::PATIENT_TELEPHONE_NUMBERS, VR::SH, &p.phone);
    g.place(
        id,
        &format!("p{pi}.phone.patient"),
        "phone",
        "PatientTelephoneNumbers (0010,2154)",
        &p.phone,
    );
    let history = format!("Prior imaging {} at {}", eu_date(&st.date), p.contrib_inst);
    s(&mut o, tags::ADDITIONAL_PATIENT_HISTORY, VR::LT, &history);
    g.place(
        id,
        &format!("p{pi}.date.text-eu-{}", st.label),
        "date",
        "AdditionalPatientHistory (0010,21B0): date as DD.MM.YYYY",
        &eu_date(&st.date),
    );
    s(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, &st.uid);
    s(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, &se.uid);
    s(&mut o, tags::STUDY_ID, VR::SH, "1");
    s(&mut o, tags::SERIES_NUMBER, VR::IS, &se.number.to_string());
    g.keep(id, "(0020,0011)", &se.number.to_string());
    s(&mut o, tags::INSTANCE_NUMBER, VR::IS, &instance.to_string());
    let mut ra = Obj::new_empty();
    s(
        &mut ra,
        tags::REQUESTED_PROCEDURE_ID,
        VR::SH,
        &p.req_proc_id,
    );
    s(
        &mut ra,
        tags::REQUESTED_PROCEDURE_DESCRIPTION,
        VR::LO,
        "CT HEAD",
    );
    sq(&mut o, tags::REQUEST_ATTRIBUTES_SEQUENCE, vec![ra]);
    g.place(
        id,
        &format!("p{pi}.id.requested-procedure"),
        "id",
        "RequestAttributesSequence (0040,0275)[0]/RequestedProcedureID (0040,1001)",
        &p.req_proc_id,
    );
    g.place(
        id,
        &format!("p{pi}.uid.source"),
        "uid",
        "every source UID (SOP, Study, Series, Frame of Reference, references)",
        &format!("{}.{pi}.", super::MIDI_UID_ROOT),
    );
    for (kind, path, value) in [
        ("uid-consistent", "(0020,000D)", st.uid.as_str()),
        ("uid-consistent", "(0020,000E)", se.uid.as_str()),
        ("uid-consistent", "(0008,0018)", sop),
        ("pseudonym-consistent", "", ""),
        ("date-shift", "", ""),
    ] {
        g.check(Retention {
            kind: kind.into(),
            object: id,
            path: path.into(),
            value: value.into(),
            modes: if kind == "date-shift" {
                vec!["shifted".into()]
            } else {
                Vec::new()
            },
            ..Default::default()
        });
    }
    g.check(Retention {
        kind: "pseudonym-lookup".into(),
        object: id,
        modes: vec!["lookup".into()],
        ..Default::default()
    });
    o
}

fn image_pixel(
    o: &mut Obj,
    g: &mut Gen,
    id: usize,
    spp: u16,
    photometric: &str,
    dims: (u16, u16),
    bits: u16,
) {
    u16v(o, tags::SAMPLES_PER_PIXEL, spp);
    s(o, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, photometric);
    u16v(o, tags::ROWS, dims.0);
    u16v(o, tags::COLUMNS, dims.1);
    u16v(o, tags::BITS_ALLOCATED, bits);
    u16v(o, tags::BITS_STORED, bits);
    u16v(o, tags::HIGH_BIT, bits - 1);
    u16v(o, tags::PIXEL_REPRESENTATION, 0);
    if spp > 1 {
        u16v(o, tags::PLANAR_CONFIGURATION, 0);
    }
    g.keep(id, "(0028,0010)", &dims.0.to_string());
    g.keep(id, "(0028,0011)", &dims.1.to_string());
    g.keep(id, "(0028,0100)", &bits.to_string());
    g.keep(id, "(0028,0002)", &spp.to_string());
}

fn ct_clinical(o: &mut Obj, g: &mut Gen, id: usize, se: &Series, z: f64) {
    s(o, tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL");
    g.keep(id, "(0008,0008)", "ORIGINAL\\PRIMARY\\AXIAL");
    s(o, tags::KVP, VR::DS, "120");
    g.keep(id, "(0018,0060)", "120");
    s(o, tags::SLICE_THICKNESS, VR::DS, "2.5");
    g.keep(id, "(0018,0050)", "2.5");
    s(o, tags::PIXEL_SPACING, VR::DS, "0.5\\0.5");
    g.keep(id, "(0028,0030)", "0.5\\0.5");
    s(
        o,
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        &format!("-16\\-16\\{z}"),
    );
    g.keep(id, "(0020,0032)", &format!("-16\\-16\\{z}"));
    s(
        o,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        "1\\0\\0\\0\\1\\0",
    );
    s(o, tags::RESCALE_INTERCEPT, VR::DS, "-1024");
    g.keep(id, "(0028,1052)", "-1024");
    s(o, tags::RESCALE_SLOPE, VR::DS, "1");
    s(
        o,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &se.frame_of_reference,
    );
    g.check(Retention {
        kind: "uid-consistent".into(),
        object: id,
        path: "(0020,0052)".into(),
        value: se.frame_of_reference.clone(),
        ..Default::default()
    });
}

fn ct_pixels(rows: usize, cols: usize, seed: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * cols * 2);
    for y in 0..rows {
        for x in 0..cols {
            let v = (1024 + ((x * 7 + y * 13 + seed * 31) % 97) as u16) as i16 as u16;
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Placements on CT slices: free text, private blocks, UN-encoded elements, Contributing
/// Equipment.
fn ct_identity(o: &mut Obj, g: &mut Gen, id: usize, p: &Pat, st: &Study) {
    let pi = p.i;
    let (rf, rg) = p.referring;
    let comments = format!(
        "Seen by Dr {rg} {rf} on {}; pt {} {} ({})",
        iso_date(&st.date),
        p.given,
        p.family,
        us_date(&st.date)
    );
    s(o, tags::IMAGE_COMMENTS, VR::LT, &comments);
    g.place(
        id,
        &format!("p{pi}.name.free-text"),
        "name",
        "ImageComments (0020,4000): given and family name in prose",
        &format!("{} {}", p.given, p.family),
    );
    g.place(
        id,
        &format!("p{pi}.name.free-text-physician"),
        "name",
        "ImageComments (0020,4000): physician in prose",
        &format!("Dr {rg} {rf}"),
    );
    g.place(
        id,
        &format!("p{pi}.date.text-iso-{}", st.label),
        "date",
        "ImageComments (0020,4000): date as YYYY-MM-DD",
        &iso_date(&st.date),
    );
    g.place(
        id,
        &format!("p{pi}.date.text-us-{}", st.label),
        "date",
        "ImageComments (0020,4000): date as MM/DD/YYYY",
        &us_date(&st.date),
    );
    // private block with a name and a private sequence holding a PN
    s(o, Tag(0x0033, 0x0010), VR::LO, "DEPOSIT SYNTH HOSPITAL");
    let pv = format!("{}, {}", p.family, p.given);
    s(o, Tag(0x0033, 0x1001), VR::LO, &pv);
    g.place(
        id,
        &format!("p{pi}.name.private"),
        "name",
        "Private DEPOSIT SYNTH HOSPITAL (0033,1001) LO: \"Family, Given\"",
        &pv,
    );
    let mut item = Obj::new_empty();
    let kin_pn = format!("{}^{}", p.family, p.kin);
    s(&mut item, tags::PATIENT_NAME, VR::PN, &kin_pn);
    s(
        &mut item,
        Tag(0x0033, 0x0010),
        VR::LO,
        "DEPOSIT SYNTH HOSPITAL",
    );
    s(&mut item, Tag(0x0033, 0x1003), VR::LO, &p.other_id);
    sq(o, Tag(0x0033, 0x1002), vec![item]);
    g.place(
        id,
        &format!("p{pi}.name.private-sequence"),
        "name",
        "Private sequence (0033,1002)[0]/PatientName (0010,0010)",
        &kin_pn,
    );
    // UN-encoded public element: Other Patient Names (0010,1001)
    let maiden_pn = format!("{}^{}", p.maiden, p.given);
    let maiden_bytes = if p.charset == "ISO_IR 100" {
        codec::latin1(&maiden_pn).unwrap_or_else(|| maiden_pn.clone().into_bytes())
    } else {
        maiden_pn.clone().into_bytes()
    };
    raw(o, Tag(0x0010, 0x1001), VR::UN, maiden_bytes);
    g.place(
        id,
        &format!("p{pi}.name.un-public"),
        "name",
        "OtherPatientNames (0010,1001) stored as UN",
        p.maiden,
    );
    // UN-encoded private element and private sequence
    s(o, Tag(0x0035, 0x0010), VR::LO, "DEPOSIT SYNTH UN");
    let kin = format!("Next of kin: {} {}", p.kin, p.family);
    raw(o, Tag(0x0035, 0x1001), VR::UN, kin.clone().into_bytes());
    g.place(
        id,
        &format!("p{pi}.name.un-private"),
        "name",
        "Private DEPOSIT SYNTH UN (0035,1001) stored as UN",
        &format!("{} {}", p.kin, p.family),
    );
    let item = implicit(
        tags::PATIENT_NAME,
        format!("{}^{}", p.kin, p.maiden).as_bytes(),
    );
    raw(o, Tag(0x0035, 0x1002), VR::UN, implicit_items(&[item]));
    g.place(
        id,
        &format!("p{pi}.name.un-private-sequence"),
        "name",
        "Private sequence (0035,1002) stored as UN, item PatientName (0010,0010)",
        &format!("{}^{}", p.kin, p.maiden),
    );
    // Contributing Equipment Sequence
    let mut ce = Obj::new_empty();
    s(
        &mut ce,
        tags::MANUFACTURER,
        VR::LO,
        "Deposit Synthetic Workstations",
    );
    s(&mut ce, tags::INSTITUTION_NAME, VR::LO, p.contrib_inst);
    s(&mut ce, tags::STATION_NAME, VR::SH, &p.contrib_station);
    s(
        &mut ce,
        tags::OPERATORS_NAME,
        VR::PN,
        &Pat::staff(p.contrib_op),
    );
    s(
        &mut ce,
        tags::CONTRIBUTION_DESCRIPTION,
        VR::ST,
        &format!("Reformatted by {} {}", p.contrib_op.1, p.contrib_op.0),
    );
    let cdt = format!("{}{}", st.date, "113045");
    s(&mut ce, tags::CONTRIBUTION_DATE_TIME, VR::DT, &cdt);
    s(
        &mut ce,
        Tag(0x0071, 0x0010),
        VR::LO,
        "DEPOSIT SYNTH CONTRIB",
    );
    s(&mut ce, Tag(0x0071, 0x1001), VR::LO, &p.contrib_phone);
    sq(o, tags::CONTRIBUTING_EQUIPMENT_SEQUENCE, vec![ce]);
    let ce_loc = "ContributingEquipmentSequence (0018,A001)[0]/";
    g.place(
        id,
        &format!("p{pi}.institution.contributing"),
        "institution",
        &format!("{ce_loc}InstitutionName (0008,0080)"),
        p.contrib_inst,
    );
    g.place(
        id,
        &format!("p{pi}.station.contributing"),
        "station",
        &format!("{ce_loc}StationName (0008,1010)"),
        &p.contrib_station,
    );
    g.place(
        id,
        &format!("p{pi}.name.contributing-operator"),
        "name",
        &format!("{ce_loc}OperatorsName (0008,1070)"),
        &Pat::staff(p.contrib_op),
    );
    g.place(
        id,
        &format!("p{pi}.name.contributing-description"),
        "name",
        &format!("{ce_loc}ContributionDescription (0018,A003)"),
        &format!("{} {}", p.contrib_op.1, p.contrib_op.0),
    );
    g.place(
        id,
        &format!("p{pi}.date.contributing-datetime-{}", st.label),
        "date",
        &format!("{ce_loc}ContributionDateTime (0018,A002)"),
        &cdt,
    );
    g.place(
        id,
        &format!("p{pi}.phone.contributing-private"),
        "phone",
        &format!("{ce_loc}private (0071,1001) in the item"),
        &p.contrib_phone,
    );
}

/// One CT slice; `reference` adds a Referenced Image Sequence stored as UN pointing at it.
#[allow(clippy::too_many_arguments)]
fn ct_slice(
    g: &mut Gen,
    p: &Pat,
    st: &Study,
    se: &Series,
    k: usize,
    reference: Option<(usize, String)>,
    trailing: bool,
) -> Result<(usize, String), SynthError> {
    let id = g.next_id();
    let sop = g.uid(p.i);
    let inst = g.instance();
    let mut o = common(g, id, p, st, se, CT, &sop, "CT", inst);
    ct_clinical(&mut o, g, id, se, k as f64 * 2.5);
    ct_identity(&mut o, g, id, p, st);
    image_pixel(&mut o, g, id, 1, "MONOCHROME2", (32, 32), 16);
    let px = ct_pixels(32, 32, id);
    let sha = codec::sha256(&px);
    raw(&mut o, tags::PIXEL_DATA, VR::OW, px);
    let kind = if let Some((target, target_sop)) = &reference {
        let item = [
            implicit(tags::REFERENCED_SOP_CLASS_UID, CT.as_bytes()),
            implicit(tags::REFERENCED_SOP_INSTANCE_UID, target_sop.as_bytes()),
        ]
        .concat();
        raw(
            &mut o,
            tags::REFERENCED_IMAGE_SEQUENCE,
            VR::UN,
            implicit_items(&[item]),
        );
        g.reference(id, "(0008,1140)[0]/(0008,1155)", *target, "sop");
        "ct-un-ref"
    } else {
        "ct"
    };
    let kind = if trailing { "ct-trailing" } else { kind };
    g.check(Retention {
        kind: "pixels".into(),
        object: id,
        ..Default::default()
    });
    let trailer = format!(
        "\0\0\0\0\0\0\0\0TRAILER {} {} {}\0",
        p.given, p.family, p.phone
    );
    if trailing {
        g.place(
            id,
            &format!("p{}.name.trailing-bytes", p.i),
            "name",
            "bytes after the end of the data set",
            &format!("{} {} {}", p.given, p.family, p.phone),
        );
    }
    let path = format!("p{}/{}/s{}/{:03}.dcm", p.i, st.label, se.number, k);
    let obj = MidiObject {
        id,
        path,
        patient: p.i,
        kind: kind.into(),
        sop_class_uid: CT.into(),
        instance_number: inst,
        sop_instance_uid: sop.clone(),
        study_instance_uid: st.uid.clone(),
        series_instance_uid: se.uid.clone(),
        study_date: st.date.clone(),
        pixel_sha256: Some(sha),
        burned_in: Vec::new(),
        expect: delivered_everywhere(),
    };
    g.write(obj, o, EXPLICIT_LE, trailing.then_some(trailer.as_bytes()))?;
    Ok((id, sop))
}

/// The real compressed frame of a sample file and its image pixel description.
pub struct SampleFrame {
    /// The frame (fragments of frame 1 joined).
    pub frame: Vec<u8>,
    /// Transfer syntax UID.
    pub ts: String,
    /// Rows, Columns, Samples per Pixel, Bits Allocated, Bits Stored, Pixel Representation.
    pub dims: [u16; 6],
    /// Photometric Interpretation.
    pub photometric: String,
}

/// Reads the first frame of a single-frame encapsulated sample file.
pub fn sample_frames(path: &Path) -> Result<SampleFrame, SynthError> {
    let bad = |detail: String| SynthError::Dicom {
        path: path.to_path_buf(),
        detail,
    };
    let obj = dicom_object::open_file(path).map_err(|e| bad(e.to_string()))?;
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    let frag = match obj
        .element(tags::PIXEL_DATA)
        .map_err(|e| bad(e.to_string()))?
        .value()
    {
        // the sample's own comment markers out: the frame without them is the expected one
        Value::PixelSequence(seq) => super::codec::j2k_without_comments(&seq.fragments().concat()),
        _ => return Err(bad("pixel data is not encapsulated".into())),
    };
    let num = |t: Tag| -> Result<u16, SynthError> {
        obj.element(t)
            .ok()
            .and_then(|e| e.to_int::<u16>().ok())
            .ok_or_else(|| bad(format!("no {t}")))
    };
    let dims = [
        num(tags::ROWS)?,
        num(tags::COLUMNS)?,
        num(tags::SAMPLES_PER_PIXEL)?,
        num(tags::BITS_ALLOCATED)?,
        num(tags::BITS_STORED)?,
        num(tags::PIXEL_REPRESENTATION)?,
    ];
    let photometric = obj
        .element(tags::PHOTOMETRIC_INTERPRETATION)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().to_string())
        .ok_or_else(|| bad("no photometric interpretation".into()))?;
    Ok(SampleFrame {
        frame: frag,
        ts,
        dims,
        photometric,
    })
}

/// A compressed image (JPEG or J2K) carrying a real frame with metadata segments added.
fn compressed(
    g: &mut Gen,
    p: &Pat,
    st: &Study,
    sample: &SampleFrame,
    j2k: bool,
) -> Result<(), SynthError> {
    let id = g.next_id();
    let se = Series {
        uid: g.uid(p.i),
        number: if j2k { 7 } else { 6 },
        frame_of_reference: g.uid(p.i),
    };
    let sop = g.uid(p.i);
    let inst = g.instance();
    let (class, modality) = if j2k { (MR, "MR") } else { (CT, "CT") };
    let mut o = common(g, id, p, st, &se, class, &sop, modality, inst);
    let [rows, cols, spp, ba, bs, pr] = sample.dims;
    s(&mut o, tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL");
    g.keep(id, "(0008,0008)", "ORIGINAL\\PRIMARY\\AXIAL");
    s(&mut o, tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
    s(&mut o, tags::SLICE_THICKNESS, VR::DS, "5");
    g.keep(id, "(0018,0050)", "5");
    s(&mut o, tags::PIXEL_SPACING, VR::DS, "0.4\\0.4");
    g.keep(id, "(0028,0030)", "0.4\\0.4");
    u16v(&mut o, tags::SAMPLES_PER_PIXEL, spp);
    s(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        &sample.photometric,
    );
    u16v(&mut o, tags::ROWS, rows);
    u16v(&mut o, tags::COLUMNS, cols);
    u16v(&mut o, tags::BITS_ALLOCATED, ba);
    u16v(&mut o, tags::BITS_STORED, bs);
    u16v(&mut o, tags::HIGH_BIT, bs.saturating_sub(1));
    u16v(&mut o, tags::PIXEL_REPRESENTATION, pr);
    if spp > 1 {
        u16v(&mut o, tags::PLANAR_CONFIGURATION, 0);
    }
    g.keep(id, "(0028,0010)", &rows.to_string());
    g.keep(id, "(0028,0011)", &cols.to_string());
    s(
        &mut o,
        tags::LOSSY_IMAGE_COMPRESSION,
        VR::CS,
        if j2k { "00" } else { "01" },
    );
    let (af, ag) = p.ascii;
    let frame = if j2k {
        let c = format!("Acquired for {ag} {af} born {}", iso_date(&p.birth));
        g.place(
            id,
            &format!("p{}.pixel-metadata.j2k-com", p.i),
            "pixel-metadata",
            "JPEG 2000 codestream COM marker in Pixel Data frame 1",
            &format!("{ag} {af} born {}", iso_date(&p.birth)),
        );
        codec::j2k_insert(&sample.frame, &c)
    } else {
        let digits: String = p.id.chars().filter(char::is_ascii_digit).collect();
        let com = format!("Pat: {af}/{ag} #{digits}");
        let artist = format!("Dr. {} {}", p.referring.1, p.referring.0);
        let creator = format!("{} {} (operator)", p.operator.1, p.operator.0);
        g.place(
            id,
            &format!("p{}.pixel-metadata.jpeg-com", p.i),
            "pixel-metadata",
            "JPEG COM segment in Pixel Data frame 1",
            &format!("{af}/{ag} #{digits}"),
        );
        g.place(
            id,
            &format!("p{}.pixel-metadata.jpeg-exif", p.i),
            "pixel-metadata",
            "JPEG APP1 EXIF Artist in Pixel Data frame 1",
            &artist,
        );
        g.place(
            id,
            &format!("p{}.pixel-metadata.jpeg-xmp", p.i),
            "pixel-metadata",
            "JPEG APP1 XMP dc:creator in Pixel Data frame 1",
            &creator,
        );
        codec::jpeg_insert(
            &sample.frame,
            &com,
            &[codec::exif_artist(&artist), codec::xmp_creator(&creator)],
        )
    }
    .ok_or_else(|| SynthError::Config("sample frame is not a raw JPEG/J2K codestream".into()))?;
    let sha = codec::frames_sha256(std::slice::from_ref(&sample.frame));
    let mut frame = frame;
    if frame.len() % 2 == 1 {
        frame.push(0);
    }
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PixelFragmentSequence::new(Vec::<u32>::new(), vec![frame]),
    ));
    g.check(Retention {
        kind: "pixels".into(),
        object: id,
        ..Default::default()
    });
    let kind = if j2k { "j2k" } else { "jpeg" };
    let obj = MidiObject {
        id,
        path: format!("p{}/{}/{kind}.dcm", p.i, st.label),
        patient: p.i,
        kind: kind.into(),
        sop_class_uid: class.into(),
        instance_number: inst,
        sop_instance_uid: sop,
        study_instance_uid: st.uid.clone(),
        series_instance_uid: se.uid.clone(),
        study_date: st.date.clone(),
        pixel_sha256: Some(sha),
        burned_in: Vec::new(),
        expect: delivered_everywhere(),
    };
    g.write(obj, o, &sample.ts, None)
}

/// An ultrasound with the patient's name and ID burned into the top band.
fn us_burned(g: &mut Gen, p: &Pat, st: &Study) -> Result<(), SynthError> {
    let id = g.next_id();
    let se = Series {
        uid: g.uid(p.i),
        number: 5,
        frame_of_reference: String::new(),
    };
    let sop = g.uid(p.i);
    let inst = g.instance();
    let mut o = common(g, id, p, st, &se, US, &sop, "US", inst);
    s(&mut o, tags::MANUFACTURER_MODEL_NAME, VR::LO, US_MODEL);
    s(
        &mut o,
        tags::IMAGE_TYPE,
        VR::CS,
        "ORIGINAL\\PRIMARY\\ABDOMINAL",
    );
    g.keep(id, "(0008,0008)", "ORIGINAL\\PRIMARY\\ABDOMINAL");
    s(&mut o, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    let (rows, cols) = (240usize, 320usize);
    image_pixel(&mut o, g, id, 3, "RGB", (rows as u16, cols as u16), 8);
    let mut img = vec![0u8; rows * cols * 3];
    for y in rows / 4..rows {
        for x in 0..cols {
            let dx = x as i64 - cols as i64 / 2;
            if dx.unsigned_abs() as usize <= (y - rows / 4) / 2 + 10 {
                let v = (40 + (y * 150 / rows) + p.i) as u8;
                let at = (y * cols + x) * 3;
                if let Some(px) = img.get_mut(at..at + 3) {
                    px.copy_from_slice(&[v, v, v.saturating_add(10)]);
                }
            }
        }
    }
    let (af, ag) = p.ascii;
    let name = format!("{} {}", af.to_uppercase(), ag.to_uppercase());
    let r1 = draw_text(&mut img, cols, 3, &name, 6, 6, 2, 255);
    let r2 = draw_text(&mut img, cols, 3, &p.id, 6, 26, 2, 255);
    g.place_burned(id, &format!("p{}.burned-in.name", p.i), r1);
    g.place_burned(id, &format!("p{}.burned-in.id", p.i), r2);
    // outside the mask the pixels must be untouched
    let mut outside = img.clone();
    zero_rect(&mut outside, cols, 3, US_MASK);
    g.check(Retention {
        kind: "pixels-outside".into(),
        object: id,
        value: codec::sha256(&outside),
        rect: Some(US_MASK),
        ..Default::default()
    });
    raw(&mut o, tags::PIXEL_DATA, VR::OB, img);
    let mut expect = delivered_everywhere();
    for m in ["default", "lookup", "ctp", "shifted"] {
        expect.insert(m.into(), Expect::held("needs_pixel_review"));
    }
    let obj = MidiObject {
        id,
        path: format!("p{}/{}/us.dcm", p.i, st.label),
        patient: p.i,
        kind: "us-burned".into(),
        sop_class_uid: US.into(),
        instance_number: inst,
        sop_instance_uid: sop,
        study_instance_uid: st.uid.clone(),
        series_instance_uid: se.uid.clone(),
        study_date: st.date.clone(),
        pixel_sha256: None,
        burned_in: vec![r1, r2],
        expect,
    };
    g.write(obj, o, EXPLICIT_LE, None)
}

/// Sets the samples of `rect` to 0 in an interleaved 8-bit image.
pub fn zero_rect(img: &mut [u8], cols: usize, spp: usize, r: Rect) {
    let rows = img.len() / (cols * spp).max(1);
    for y in r.y..(r.y + r.h).min(rows) {
        for x in r.x..(r.x + r.w).min(cols) {
            let at = (y * cols + x) * spp;
            if let Some(px) = img.get_mut(at..at + spp) {
                px.fill(0);
            }
        }
    }
}

/// An Enhanced CT with per-frame functional groups carrying frame date-times.
fn enhanced_ct(g: &mut Gen, p: &Pat, st: &Study) -> Result<(), SynthError> {
    let id = g.next_id();
    let se = Series {
        uid: g.uid(p.i),
        number: 8,
        frame_of_reference: g.uid(p.i),
    };
    let sop = g.uid(p.i);
    let inst = g.instance();
    let mut o = common(g, id, p, st, &se, ENHANCED_CT, &sop, "CT", inst);
    s(
        &mut o,
        tags::IMAGE_TYPE,
        VR::CS,
        "ORIGINAL\\PRIMARY\\AXIAL\\NONE",
    );
    g.keep(id, "(0008,0008)", "ORIGINAL\\PRIMARY\\AXIAL\\NONE");
    s(
        &mut o,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &se.frame_of_reference,
    );
    s(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, "3");
    g.keep(id, "(0028,0008)", "3");
    let mut measures = Obj::new_empty();
    s(&mut measures, tags::PIXEL_SPACING, VR::DS, "0.7\\0.7");
    s(&mut measures, tags::SLICE_THICKNESS, VR::DS, "1.5");
    let mut shared = Obj::new_empty();
    sq(&mut shared, tags::PIXEL_MEASURES_SEQUENCE, vec![measures]);
    sq(
        &mut o,
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![shared],
    );
    g.keep(id, "(5200,9229)[0]/(0028,9110)[0]/(0028,0030)", "0.7\\0.7");
    g.keep(id, "(5200,9229)[0]/(0028,9110)[0]/(0018,0050)", "1.5");
    let mut frames = Vec::new();
    let mut needles = Vec::new();
    for f in 0..3u32 {
        let dt = format!("{}10150{f}.000000", st.date);
        needles.extend(codec::needles(&format!("{}10150{f}", st.date)));
        let mut content = Obj::new_empty();
        s(&mut content, tags::FRAME_ACQUISITION_DATE_TIME, VR::DT, &dt);
        s(&mut content, tags::FRAME_REFERENCE_DATE_TIME, VR::DT, &dt);
        o.put(DataElement::new(
            tags::ACQUISITION_DATE_TIME,
            VR::DT,
            PrimitiveValue::from(dt.as_str()),
        ));
        let mut pos = Obj::new_empty();
        s(
            &mut pos,
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &format!("-16\\-16\\{}", f * 2),
        );
        let mut item = Obj::new_empty();
        sq(&mut item, tags::FRAME_CONTENT_SEQUENCE, vec![content]);
        sq(&mut item, tags::PLANE_POSITION_SEQUENCE, vec![pos]);
        frames.push(item);
    }
    sq(&mut o, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, frames);
    g.place_needles(
        id,
        &format!("p{}.date.frame-datetime", p.i),
        "date",
        "PerFrameFunctionalGroupsSequence (5200,9230)[*]/FrameContentSequence (0020,9111)[0]/\
         FrameAcquisitionDateTime (0018,9074), FrameReferenceDateTime (0018,9151)",
        needles,
    );
    g.keep(
        id,
        "(5200,9230)[2]/(0020,9113)[0]/(0020,0032)",
        "-16\\-16\\4",
    );
    image_pixel(&mut o, g, id, 1, "MONOCHROME2", (16, 16), 16);
    let px: Vec<u8> = (0..3).flat_map(|f| ct_pixels(16, 16, 1000 + f)).collect();
    let sha = codec::sha256(&px);
    raw(&mut o, tags::PIXEL_DATA, VR::OW, px);
    g.check(Retention {
        kind: "pixels".into(),
        object: id,
        ..Default::default()
    });
    let obj = MidiObject {
        id,
        path: format!("p{}/{}/enhanced.dcm", p.i, st.label),
        patient: p.i,
        kind: "enhanced-ct".into(),
        sop_class_uid: ENHANCED_CT.into(),
        instance_number: inst,
        sop_instance_uid: sop,
        study_instance_uid: st.uid.clone(),
        series_instance_uid: se.uid.clone(),
        study_date: st.date.clone(),
        pixel_sha256: Some(sha),
        burned_in: Vec::new(),
        expect: delivered_everywhere(),
    };
    g.write(obj, o, EXPLICIT_LE, None)
}

/// A Comprehensive SR whose evidence and content point at the CT slices `refs`.
fn sr(
    g: &mut Gen,
    p: &Pat,
    st: &Study,
    ct_series: &Series,
    refs: &[(usize, String)],
) -> Result<(), SynthError> {
    let id = g.next_id();
    let se = Series {
        uid: g.uid(p.i),
        number: 20,
        frame_of_reference: String::new(),
    };
    let sop = g.uid(p.i);
    let inst = g.instance();
    let mut o = common(g, id, p, st, &se, COMPREHENSIVE_SR, &sop, "SR", inst);
    s(&mut o, tags::COMPLETION_FLAG, VR::CS, "COMPLETE");
    g.keep(id, "(0040,A491)", "COMPLETE");
    s(&mut o, tags::VERIFICATION_FLAG, VR::CS, "VERIFIED");
    s(&mut o, tags::VALUE_TYPE, VR::CS, "CONTAINER");
    s(&mut o, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    sq(
        &mut o,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code("18748-4", "LN", "Diagnostic Imaging Report")],
    );
    g.keep(
        id,
        "(0040,A043)[0]/(0008,0104)",
        "Diagnostic Imaging Report",
    );
    let mut verifier = Obj::new_empty();
    s(
        &mut verifier,
        tags::VERIFYING_OBSERVER_NAME,
        VR::PN,
        &Pat::staff(p.performing),
    );
    s(
        &mut verifier,
        tags::VERIFYING_ORGANIZATION,
        VR::LO,
        p.institution,
    );
    s(
        &mut verifier,
        tags::VERIFICATION_DATE_TIME,
        VR::DT,
        &format!("{}160000", st.date),
    );
    sq(
        &mut verifier,
        tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
        vec![],
    );
    sq(&mut o, tags::VERIFYING_OBSERVER_SEQUENCE, vec![verifier]);
    g.place(
        id,
        &format!("p{}.name.sr-verifier", p.i),
        "name",
        "VerifyingObserverSequence (0040,A073)[0]/VerifyingObserverName (0040,A075)",
        &Pat::staff(p.performing),
    );
    // evidence
    let sops: Vec<Obj> = refs
        .iter()
        .map(|(_, uid)| {
            let mut r = Obj::new_empty();
            s(&mut r, tags::REFERENCED_SOP_CLASS_UID, VR::UI, CT);
            s(&mut r, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid);
            r
        })
        .collect();
    let mut ser = Obj::new_empty();
    s(&mut ser, tags::SERIES_INSTANCE_UID, VR::UI, &ct_series.uid);
    sq(&mut ser, tags::REFERENCED_SOP_SEQUENCE, sops);
    let mut ev = Obj::new_empty();
    s(&mut ev, tags::STUDY_INSTANCE_UID, VR::UI, &st.uid);
    sq(&mut ev, tags::REFERENCED_SERIES_SEQUENCE, vec![ser]);
    sq(
        &mut o,
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        vec![ev],
    );
    if let Some((first, _)) = refs.first() {
        g.reference(id, "(0040,A375)[0]/(0020,000D)", *first, "study");
        g.reference(
            id,
            "(0040,A375)[0]/(0008,1115)[0]/(0020,000E)",
            *first,
            "series",
        );
    }
    for (k, (target, _)) in refs.iter().enumerate() {
        g.reference(
            id,
            &format!("(0040,A375)[0]/(0008,1115)[0]/(0008,1199)[{k}]/(0008,1155)"),
            *target,
            "sop",
        );
    }
    // content: text with the name, the observer, an image reference
    let mut text = Obj::new_empty();
    s(&mut text, tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS");
    s(&mut text, tags::VALUE_TYPE, VR::CS, "TEXT");
    sq(
        &mut text,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code("121071", "DCM", "Finding")],
    );
    let finding = format!(
        "{} {} (MRN {}) has no acute intracranial abnormality.",
        p.given, p.family, p.id
    );
    s(&mut text, tags::TEXT_VALUE, VR::UT, &finding);
    g.place(
        id,
        &format!("p{}.name.sr-text", p.i),
        "name",
        "ContentSequence (0040,A730)[0]/TextValue (0040,A160)",
        &format!("{} {} (MRN", p.given, p.family),
    );
    let mut obs = Obj::new_empty();
    s(&mut obs, tags::RELATIONSHIP_TYPE, VR::CS, "HAS OBS CONTEXT");
    s(&mut obs, tags::VALUE_TYPE, VR::CS, "PNAME");
    sq(
        &mut obs,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code("121008", "DCM", "Person Observer Name")],
    );
    s(
        &mut obs,
        tags::PERSON_NAME,
        VR::PN,
        &Pat::staff(p.referring),
    );
    g.place(
        id,
        &format!("p{}.name.sr-observer", p.i),
        "name",
        "ContentSequence (0040,A730)[1]/PersonName (0040,A123)",
        &Pat::staff(p.referring),
    );
    let mut img = Obj::new_empty();
    s(&mut img, tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS");
    s(&mut img, tags::VALUE_TYPE, VR::CS, "IMAGE");
    sq(
        &mut img,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code("121080", "DCM", "Best illustration of finding")],
    );
    if let Some((target, uid)) = refs.get(1) {
        let mut r = Obj::new_empty();
        s(&mut r, tags::REFERENCED_SOP_CLASS_UID, VR::UI, CT);
        s(&mut r, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid);
        sq(&mut img, tags::REFERENCED_SOP_SEQUENCE, vec![r]);
        g.reference(
            id,
            "(0040,A730)[2]/(0008,1199)[0]/(0008,1155)",
            *target,
            "sop",
        );
    }
    sq(&mut o, tags::CONTENT_SEQUENCE, vec![text, obs, img]);
    let obj = MidiObject {
        id,
        path: format!("p{}/{}/sr.dcm", p.i, st.label),
        patient: p.i,
        kind: "sr".into(),
        sop_class_uid: COMPREHENSIVE_SR.into(),
        instance_number: inst,
        sop_instance_uid: sop,
        study_instance_uid: st.uid.clone(),
        series_instance_uid: se.uid.clone(),
        study_date: st.date.clone(),
        pixel_sha256: None,
        burned_in: Vec::new(),
        expect: delivered_everywhere(),
    };
    g.write(obj, o, EXPLICIT_LE, None)
}

/// A GSPS whose Referenced Series/Image sequences point at the CT slices `refs`.
fn gsps(
    g: &mut Gen,
    p: &Pat,
    st: &Study,
    ct_series: &Series,
    refs: &[(usize, String)],
) -> Result<(), SynthError> {
    let id = g.next_id();
    let se = Series {
        uid: g.uid(p.i),
        number: 30,
        frame_of_reference: String::new(),
    };
    let sop = g.uid(p.i);
    let inst = g.instance();
    let mut o = common(g, id, p, st, &se, GSPS, &sop, "PR", inst);
    s(&mut o, tags::CONTENT_LABEL, VR::CS, "ANNOTATED");
    g.keep(id, "(0070,0080)", "ANNOTATED");
    s(&mut o, tags::CONTENT_DESCRIPTION, VR::LO, "Key findings");
    s(&mut o, tags::PRESENTATION_CREATION_DATE, VR::DA, &st.date);
    s(&mut o, tags::PRESENTATION_CREATION_TIME, VR::TM, "120000");
    s(
        &mut o,
        tags::CONTENT_CREATOR_NAME,
        VR::PN,
        &Pat::staff(p.operator),
    );
    g.place(
        id,
        &format!("p{}.name.gsps-creator", p.i),
        "name",
        "ContentCreatorName (0070,0084)",
        &Pat::staff(p.operator),
    );
    let imgs: Vec<Obj> = refs
        .iter()
        .map(|(_, uid)| {
            let mut r = Obj::new_empty();
            s(&mut r, tags::REFERENCED_SOP_CLASS_UID, VR::UI, CT);
            s(&mut r, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid);
            r
        })
        .collect();
    let mut ser = Obj::new_empty();
    s(&mut ser, tags::SERIES_INSTANCE_UID, VR::UI, &ct_series.uid);
    sq(&mut ser, tags::REFERENCED_IMAGE_SEQUENCE, imgs);
    sq(&mut o, tags::REFERENCED_SERIES_SEQUENCE, vec![ser]);
    if let Some((first, _)) = refs.first() {
        g.reference(id, "(0008,1115)[0]/(0020,000E)", *first, "series");
    }
    for (k, (target, _)) in refs.iter().enumerate() {
        g.reference(
            id,
            &format!("(0008,1115)[0]/(0008,1140)[{k}]/(0008,1155)"),
            *target,
            "sop",
        );
    }
    // a text annotation naming the patient
    let mut txt = Obj::new_empty();
    s(
        &mut txt,
        tags::UNFORMATTED_TEXT_VALUE,
        VR::ST,
        &format!("{} {} {}", p.family, p.given, eu_date(&p.birth)),
    );
    s(
        &mut txt,
        tags::ANCHOR_POINT_ANNOTATION_UNITS,
        VR::CS,
        "PIXEL",
    );
    let mut ann = Obj::new_empty();
    s(&mut ann, tags::GRAPHIC_LAYER, VR::CS, "LAYER1");
    sq(&mut ann, tags::TEXT_OBJECT_SEQUENCE, vec![txt]);
    sq(&mut o, tags::GRAPHIC_ANNOTATION_SEQUENCE, vec![ann]);
    g.place(
        id,
        &format!("p{}.name.gsps-text", p.i),
        "name",
        "GraphicAnnotationSequence (0070,0001)[0]/TextObjectSequence (0070,0008)[0]/\
         UnformattedTextValue (0070,0006)",
        &format!("{} {}", p.family, p.given),
    );
    g.place(
        id,
        &format!("p{}.date.gsps-text-birth", p.i),
        "date",
        "UnformattedTextValue (0070,0006): birth date as DD.MM.YYYY",
        &eu_date(&p.birth),
    );
    let obj = MidiObject {
        id,
        path: format!("p{}/{}/gsps.dcm", p.i, st.label),
        patient: p.i,
        kind: "gsps".into(),
        sop_class_uid: GSPS.into(),
        instance_number: inst,
        sop_instance_uid: sop,
        study_instance_uid: st.uid.clone(),
        series_instance_uid: se.uid.clone(),
        study_date: st.date.clone(),
        pixel_sha256: None,
        burned_in: Vec::new(),
        expect: delivered_everywhere(),
    };
    g.write(obj, o, EXPLICIT_LE, None)
}

/// An Encapsulated PDF with the name in the page text, /Author and /Title.
fn pdf(g: &mut Gen, p: &Pat, st: &Study) -> Result<(), SynthError> {
    let id = g.next_id();
    let se = Series {
        uid: g.uid(p.i),
        number: 40,
        frame_of_reference: String::new(),
    };
    let sop = g.uid(p.i);
    let inst = g.instance();
    let mut o = common(g, id, p, st, &se, PDF, &sop, "DOC", inst);
    let (af, ag) = p.ascii;
    let text = format!(
        "Referral letter for {ag} {af}, MRN {}, born {}",
        p.id,
        iso_date(&p.birth)
    );
    let author = format!("Dr {} {}", p.referring.1, p.referring.0);
    let title = format!("Referral {af} {}", p.id);
    let doc = codec::pdf(&text, &author, &title);
    g.place(
        id,
        &format!("p{}.document.pdf-text", p.i),
        "document",
        "Encapsulated PDF page text",
        &format!("{ag} {af}, MRN"),
    );
    g.place(
        id,
        &format!("p{}.document.pdf-author", p.i),
        "document",
        "Encapsulated PDF /Author",
        &author,
    );
    g.place(
        id,
        &format!("p{}.document.pdf-title", p.i),
        "document",
        "Encapsulated PDF /Title",
        &title,
    );
    s(&mut o, tags::CONVERSION_TYPE, VR::CS, "WSD");
    s(&mut o, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    s(&mut o, tags::DOCUMENT_TITLE, VR::ST, &title);
    s(
        &mut o,
        tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
        VR::LO,
        "application/pdf",
    );
    o.put(DataElement::new(
        tags::ENCAPSULATED_DOCUMENT_LENGTH,
        VR::UL,
        PrimitiveValue::from(doc.len() as u32),
    ));
    raw(&mut o, tags::ENCAPSULATED_DOCUMENT, VR::OB, doc);
    let expect: BTreeMap<String, Expect> = super::spec::MODES
        .iter()
        .chain(std::iter::once(&"shifted"))
        .map(|m| (m.to_string(), Expect::held("encapsulated_document")))
        .collect();
    let obj = MidiObject {
        id,
        path: format!("p{}/{}/pdf.dcm", p.i, st.label),
        patient: p.i,
        kind: "pdf".into(),
        sop_class_uid: PDF.into(),
        instance_number: inst,
        sop_instance_uid: sop,
        study_instance_uid: st.uid.clone(),
        series_instance_uid: se.uid.clone(),
        study_date: st.date.clone(),
        pixel_sha256: None,
        burned_in: Vec::new(),
        expect,
    };
    g.write(obj, o, EXPLICIT_LE, None)
}

/// Writes every object of patient `p`.
pub fn write_patient(
    g: &mut Gen,
    p: &Pat,
    jpeg: &SampleFrame,
    j2k: &SampleFrame,
) -> Result<(), SynthError> {
    let i = p.i;
    let date = format!("{}{:02}{:02}", 2016 + i % 7, 1 + (i * 7) % 12, 10 + i);
    let study = Study {
        uid: g.uid(i),
        date: date.clone(),
        time: format!("{:02}1500", 8 + i),
        accession: format!("ACC{}", 61_004_417 + 7919 * i),
        label: "current",
    };
    // CT series: slice 0 plain, slices 1-3 reference slice 0 through a UN-encoded sequence
    let ct = Series {
        uid: g.uid(i),
        number: 2,
        frame_of_reference: g.uid(i),
    };
    g.check(Retention {
        kind: "pseudonym-distinct".into(),
        object: g.next_id(),
        ..Default::default()
    });
    let mut refs = Vec::new();
    let first = ct_slice(g, p, &study, &ct, 0, None, false)?;
    refs.push(first.clone());
    for k in 1..4 {
        let trailing = k == 3 && (i == 3 || i == 6);
        refs.push(ct_slice(
            g,
            p,
            &study,
            &ct,
            k,
            Some(first.clone()),
            trailing,
        )?);
    }
    sr(g, p, &study, &ct, &refs)?;
    gsps(g, p, &study, &ct, &refs)?;
    if i < 4 {
        us_burned(g, p, &study)?;
    }
    if i % 3 == 0 {
        compressed(g, p, &study, jpeg, false)?;
    }
    if i % 3 == 1 {
        compressed(g, p, &study, j2k, true)?;
    }
    if i == 2 || i == 5 {
        enhanced_ct(g, p, &study)?;
    }
    if i == 3 || i == 4 {
        pdf(g, p, &study)?;
    }
    if i == 0 || i == 1 || i == 5 {
        let prior_date = format!(
            "{}{:02}{:02}",
            2015 + i % 7 - 1,
            1 + (i * 7 + 3) % 12,
            2 + i
        );
        let prior = Study {
            uid: g.uid(i),
            date: prior_date,
            time: "091000".into(),
            accession: format!("ACC{}", 51_772_003 + 7919 * i),
            label: "prior",
        };
        let se = Series {
            uid: g.uid(i),
            number: 2,
            frame_of_reference: g.uid(i),
        };
        for k in 0..2 {
            ct_slice(g, p, &prior, &se, k, None, false)?;
        }
    }
    Ok(())
}
