//! Data set builders for each kind of instance (CT, US, US multi-frame, Basic Text SR).

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::font::{draw_text, Rect};
use crate::patient::Patient;
use crate::rng::Rng;

/// CT Image Storage.
pub const CT_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Ultrasound Image Storage.
pub const US_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.6.1";
/// Ultrasound Multi-frame Image Storage.
pub const US_MULTIFRAME: &str = "1.2.840.10008.5.1.4.1.1.3.1";
/// Basic Text SR Storage.
pub const BASIC_TEXT_SR: &str = "1.2.840.10008.5.1.4.1.1.88.11";

type Obj = InMemDicomObject;

fn s(obj: &mut Obj, tag: Tag, vr: VR, v: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn us(obj: &mut Obj, tag: Tag, v: u16) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
}

fn sq(obj: &mut Obj, tag: Tag, items: Vec<Obj>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn bytes(obj: &mut Obj, tag: Tag, vr: VR, v: Vec<u8>) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn code(value: &str, scheme: &str, meaning: &str) -> Obj {
    let mut c = Obj::new_empty();
    s(&mut c, tags::CODE_VALUE, VR::SH, value);
    s(&mut c, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
    s(&mut c, tags::CODE_MEANING, VR::LO, meaning);
    c
}

/// What every instance of a study shares.
pub struct StudyCtx<'a> {
    /// The patient.
    pub patient: &'a Patient,
    /// Study Instance UID.
    pub study_uid: String,
    /// A prior study's UID referenced from this one.
    pub referenced_study_uid: String,
    /// Study date.
    pub date: String,
    /// Study time.
    pub time: String,
}

/// What every instance of a series shares.
pub struct SeriesCtx {
    /// Series Instance UID.
    pub uid: String,
    /// Series Number.
    pub number: u32,
    /// Modality.
    pub modality: &'static str,
    /// Frame of Reference UID.
    pub frame_of_reference: String,
}

/// The modules every instance carries: SOP Common, Patient, General Study, Patient Study,
/// General Series, General Equipment, and the request/procedure sequences.
pub fn common(
    st: &StudyCtx,
    se: &SeriesCtx,
    sop_class: &str,
    sop_uid: &str,
    instance_number: u32,
) -> Obj {
    let p = st.patient;
    let mut o = Obj::new_empty();
    if !p.charset.is_empty() {
        s(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, p.charset);
    }
    s(&mut o, tags::SOP_CLASS_UID, VR::UI, sop_class);
    s(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop_uid);
    s(&mut o, tags::STUDY_DATE, VR::DA, &st.date);
    s(&mut o, tags::SERIES_DATE, VR::DA, &st.date);
    s(&mut o, tags::CONTENT_DATE, VR::DA, &st.date);
    s(&mut o, tags::STUDY_TIME, VR::TM, &st.time);
    s(&mut o, tags::SERIES_TIME, VR::TM, &st.time);
    s(&mut o, tags::CONTENT_TIME, VR::TM, &st.time);
    s(&mut o, tags::ACCESSION_NUMBER, VR::SH, p.v("accession"));
    s(&mut o, tags::MODALITY, VR::CS, se.modality);
    s(
        &mut o,
        tags::BODY_PART_EXAMINED,
        VR::CS,
        if se.modality == "CT" {
            "HEAD"
        } else {
            "ABDOMEN"
        },
    );
    s(
        &mut o,
        tags::MANUFACTURER,
        VR::LO,
        "Deposit Synthetic Imaging",
    );
    s(&mut o, tags::INSTITUTION_NAME, VR::LO, p.v("institution"));
    s(
        &mut o,
        tags::INSTITUTION_ADDRESS,
        VR::ST,
        p.v("inst_address"),
    );
    s(
        &mut o,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        p.v("referring"),
    );
    s(&mut o, tags::STATION_NAME, VR::SH, p.v("station"));
    s(&mut o, tags::STUDY_DESCRIPTION, VR::LO, p.v("study_desc"));
    s(&mut o, tags::SERIES_DESCRIPTION, VR::LO, p.v("series_desc"));
    s(
        &mut o,
        tags::PERFORMING_PHYSICIAN_NAME,
        VR::PN,
        p.v("performing"),
    );
    s(&mut o, tags::OPERATORS_NAME, VR::PN, p.v("operators"));
    s(&mut o, tags::MANUFACTURER_MODEL_NAME, VR::LO, "SYNTH-1");

    let mut rs = Obj::new_empty();
    s(
        &mut rs,
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        "1.2.840.10008.3.1.2.3.1",
    );
    s(
        &mut rs,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        &st.referenced_study_uid,
    );
    sq(&mut o, tags::REFERENCED_STUDY_SEQUENCE, vec![rs]);
    sq(
        &mut o,
        tags::PROCEDURE_CODE_SEQUENCE,
        vec![code("CTHEAD", "99SYNTH", p.v("proc_code"))],
    );

    s(&mut o, tags::PATIENT_NAME, VR::PN, p.v("name"));
    s(&mut o, tags::PATIENT_ID, VR::LO, p.v("id"));
    s(&mut o, tags::ISSUER_OF_PATIENT_ID, VR::LO, "SYNTH-HOSPITAL");
    s(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, &p.birth_date);
    s(&mut o, tags::PATIENT_SEX, VR::CS, p.sex);
    s(
        &mut o,
        Tag(0x0010, 0x1000), // OtherPatientIDs (retired, still common)
        VR::LO,
        p.v("other_ids"),
    );
    let mut oid = Obj::new_empty();
    s(&mut oid, tags::PATIENT_ID, VR::LO, p.v("other_ids_seq"));
    s(&mut oid, tags::ISSUER_OF_PATIENT_ID, VR::LO, "SYNTH-OTHER");
    s(&mut oid, tags::TYPE_OF_PATIENT_ID, VR::CS, "TEXT");
    sq(&mut o, tags::OTHER_PATIENT_I_DS_SEQUENCE, vec![oid]);
    s(&mut o, tags::PATIENT_ADDRESS, VR::LO, p.v("address"));
    s(
        &mut o,
        tags::PATIENT_TELEPHONE_NUMBERS,
        VR::SH,
        p.v("phone"),
    );
    s(
        &mut o,
        tags::ADDITIONAL_PATIENT_HISTORY,
        VR::LT,
        p.v("history"),
    );

    s(&mut o, tags::DEVICE_SERIAL_NUMBER, VR::LO, p.v("serial"));
    s(&mut o, tags::SOFTWARE_VERSIONS, VR::LO, "synth 0.1");

    s(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, &st.study_uid);
    s(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, &se.uid);
    s(&mut o, tags::STUDY_ID, VR::SH, p.v("study_id"));
    s(&mut o, tags::SERIES_NUMBER, VR::IS, &se.number.to_string());
    s(
        &mut o,
        tags::INSTANCE_NUMBER,
        VR::IS,
        &instance_number.to_string(),
    );

    let mut ra = Obj::new_empty();
    s(
        &mut ra,
        tags::REQUESTED_PROCEDURE_DESCRIPTION,
        VR::LO,
        p.v("req_desc"),
    );
    s(
        &mut ra,
        tags::SCHEDULED_PERFORMING_PHYSICIAN_NAME,
        VR::PN,
        p.v("req_name"),
    );
    s(
        &mut ra,
        tags::SCHEDULED_PROCEDURE_STEP_ID,
        VR::SH,
        p.v("req_sps_id"),
    );
    s(
        &mut ra,
        tags::REQUESTED_PROCEDURE_ID,
        VR::SH,
        p.v("req_proc_id"),
    );
    sq(&mut o, tags::REQUEST_ATTRIBUTES_SEQUENCE, vec![ra]);
    o
}

/// Adds the three private blocks (Siemens-like, GE-like, and the hospital's own with a
/// private sequence).
fn private_blocks(o: &mut Obj, p: &Patient) {
    // GE-like, group 0009
    s(o, Tag(0x0009, 0x0010), VR::LO, "GEMS_IDEN_01");
    s(o, Tag(0x0009, 0x1001), VR::LO, "GE_GENESIS_FF");
    s(o, Tag(0x0009, 0x1002), VR::SH, p.v("ge"));
    s(o, Tag(0x0009, 0x1004), VR::SH, "SYNTH LightSpeed");
    // Siemens-like, group 0029: CSA headers as opaque bytes with a canary inside
    s(o, Tag(0x0029, 0x0010), VR::LO, "SIEMENS CSA HEADER");
    s(o, Tag(0x0029, 0x1008), VR::CS, "IMAGE NUM 4");
    s(o, Tag(0x0029, 0x1009), VR::LO, "20100114");
    let mut blob = p.v("siemens").as_bytes().to_vec();
    if blob.len() % 2 == 1 {
        blob.push(b' ');
    }
    bytes(o, Tag(0x0029, 0x1010), VR::OB, blob);
    // the fake hospital's own block, group 0033: a canary and a private sequence
    s(o, Tag(0x0033, 0x0010), VR::LO, "DEPOSIT SYNTH HOSPITAL");
    s(o, Tag(0x0033, 0x1001), VR::LO, p.v("hosp_priv"));
    let mut item = Obj::new_empty();
    s(
        &mut item,
        tags::PATIENT_NAME,
        VR::PN,
        p.v("hosp_priv_sq_pn"),
    );
    s(
        &mut item,
        Tag(0x0033, 0x0010),
        VR::LO,
        "DEPOSIT SYNTH HOSPITAL",
    );
    s(&mut item, Tag(0x0033, 0x1003), VR::LO, p.v("hosp_priv_sq"));
    sq(o, Tag(0x0033, 0x1002), vec![item]);
}

/// A CT slice: int16 MONOCHROME2 with rescale, a round phantom, full identifying headers and
/// the three private blocks.
#[allow(clippy::too_many_arguments)]
pub fn ct_slice(
    st: &StudyCtx,
    se: &SeriesCtx,
    sop_uid: &str,
    index: u32,
    rows: usize,
    cols: usize,
    rng: &mut Rng,
) -> Obj {
    let p = st.patient;
    let mut o = common(st, se, CT_IMAGE, sop_uid, index + 1);
    s(&mut o, tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL");
    s(&mut o, tags::ACQUISITION_DATE, VR::DA, &st.date);
    s(&mut o, tags::ACQUISITION_TIME, VR::TM, &st.time);
    s(&mut o, tags::ACQUISITION_NUMBER, VR::IS, "1");
    s(&mut o, tags::IMAGE_COMMENTS, VR::LT, p.v("comments"));
    s(&mut o, tags::KVP, VR::DS, "120");
    s(&mut o, tags::SLICE_THICKNESS, VR::DS, "1.25");
    s(&mut o, tags::PATIENT_POSITION, VR::CS, "HFS");
    s(
        &mut o,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &se.frame_of_reference,
    );
    s(&mut o, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    let z = f64::from(index) * 1.25;
    s(
        &mut o,
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        &format!("-125\\-125\\{z}"),
    );
    s(
        &mut o,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        "1\\0\\0\\0\\1\\0",
    );
    s(&mut o, tags::SLICE_LOCATION, VR::DS, &format!("{z}"));
    let spacing = 250.0 / cols as f64;
    s(
        &mut o,
        tags::PIXEL_SPACING,
        VR::DS,
        &format!("{spacing:.6}\\{spacing:.6}"),
    );
    us(&mut o, tags::SAMPLES_PER_PIXEL, 1);
    s(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    us(&mut o, tags::ROWS, rows as u16);
    us(&mut o, tags::COLUMNS, cols as u16);
    us(&mut o, tags::BITS_ALLOCATED, 16);
    us(&mut o, tags::BITS_STORED, 16);
    us(&mut o, tags::HIGH_BIT, 15);
    us(&mut o, tags::PIXEL_REPRESENTATION, 1);
    s(&mut o, tags::RESCALE_INTERCEPT, VR::DS, "-1024");
    s(&mut o, tags::RESCALE_SLOPE, VR::DS, "1");
    s(&mut o, tags::RESCALE_TYPE, VR::LO, "HU");
    s(&mut o, tags::WINDOW_CENTER, VR::DS, "40");
    s(&mut o, tags::WINDOW_WIDTH, VR::DS, "400");
    private_blocks(&mut o, p);
    bytes(
        &mut o,
        tags::PIXEL_DATA,
        VR::OW,
        ct_pixels(rows, cols, index, rng),
    );
    o
}

/// A round water phantom in air with a little noise; stored values (HU + 1024), int16 LE.
fn ct_pixels(rows: usize, cols: usize, index: u32, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * cols * 2);
    let (cy, cx) = (rows as f64 / 2.0, cols as f64 / 2.0);
    let r = (rows.min(cols) as f64) * (0.38 + 0.02 * f64::from(index % 5));
    let mut bits = 0u64;
    for y in 0..rows {
        for x in 0..cols {
            if (x & 7) == 0 {
                bits = rng.next_u64();
            }
            let noise = ((bits >> ((x & 7) * 8)) & 0x1F) as i32 - 16;
            let (dy, dx) = (y as f64 - cy, x as f64 - cx);
            let hu: i32 = if dy * dy + dx * dx < r * r {
                if dy * dy + dx * dx < (r * 0.3) * (r * 0.3) {
                    60
                } else {
                    0
                }
            } else {
                -1000
            };
            let stored = (hu + 1024 + noise) as i16;
            out.extend_from_slice(&stored.to_le_bytes());
        }
    }
    out
}

/// An ultrasound image (RGB, 8-bit, BurnedInAnnotation YES) with the patient's name and ID
/// canaries burned into the pixels. Returns the object and the text rectangles.
pub fn us_burned(
    st: &StudyCtx,
    se: &SeriesCtx,
    sop_uid: &str,
    rows: usize,
    cols: usize,
) -> (Obj, Vec<(String, Rect)>) {
    let p = st.patient;
    let mut o = common(st, se, US_IMAGE, sop_uid, 1);
    s(
        &mut o,
        tags::IMAGE_TYPE,
        VR::CS,
        "ORIGINAL\\PRIMARY\\ABDOMINAL",
    );
    s(&mut o, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    s(&mut o, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    s(&mut o, tags::PATIENT_ORIENTATION, VR::CS, "");
    us(&mut o, tags::SAMPLES_PER_PIXEL, 3);
    s(&mut o, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB");
    us(&mut o, tags::PLANAR_CONFIGURATION, 0);
    us(&mut o, tags::ROWS, rows as u16);
    us(&mut o, tags::COLUMNS, cols as u16);
    us(&mut o, tags::BITS_ALLOCATED, 8);
    us(&mut o, tags::BITS_STORED, 8);
    us(&mut o, tags::HIGH_BIT, 7);
    us(&mut o, tags::PIXEL_REPRESENTATION, 0);
    let mut img = vec![0u8; rows * cols * 3];
    // a sector-like grey gradient in the middle
    for y in rows / 4..rows {
        for x in 0..cols {
            let dx = x as i64 - cols as i64 / 2;
            if dx.unsigned_abs() as usize <= (y - rows / 4) / 2 + 10 {
                let v = (40 + (y * 150 / rows)) as u8;
                let at = (y * cols + x) * 3;
                img[at..at + 3].copy_from_slice(&[v, v, v.saturating_add(10)]);
            }
        }
    }
    let mut texts = Vec::new();
    for (i, key) in ["name", "id"].iter().enumerate() {
        let t = p.token(key).to_string();
        let r = draw_text(&mut img, cols, 3, &t, 6, 6 + i * 20, 2, 255);
        texts.push((t, r));
    }
    bytes(&mut o, tags::PIXEL_DATA, VR::OB, img);
    (o, texts)
}

/// An ultrasound multi-frame cine (MONOCHROME2, 8-bit), no burned-in text.
pub fn us_multiframe(
    st: &StudyCtx,
    se: &SeriesCtx,
    sop_uid: &str,
    rows: usize,
    cols: usize,
    frames: usize,
) -> Obj {
    let mut o = common(st, se, US_MULTIFRAME, sop_uid, 1);
    s(
        &mut o,
        tags::IMAGE_TYPE,
        VR::CS,
        "ORIGINAL\\PRIMARY\\CARDIAC",
    );
    s(&mut o, tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
    s(&mut o, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    s(&mut o, tags::PATIENT_ORIENTATION, VR::CS, "");
    s(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, &frames.to_string());
    obj_at(&mut o, tags::FRAME_INCREMENT_POINTER, tags::FRAME_TIME);
    s(&mut o, tags::FRAME_TIME, VR::DS, "33.3");
    us(&mut o, tags::SAMPLES_PER_PIXEL, 1);
    s(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    us(&mut o, tags::ROWS, rows as u16);
    us(&mut o, tags::COLUMNS, cols as u16);
    us(&mut o, tags::BITS_ALLOCATED, 8);
    us(&mut o, tags::BITS_STORED, 8);
    us(&mut o, tags::HIGH_BIT, 7);
    us(&mut o, tags::PIXEL_REPRESENTATION, 0);
    let mut img = Vec::with_capacity(rows * cols * frames);
    for f in 0..frames {
        for y in 0..rows {
            for x in 0..cols {
                img.push(((x + y + f * 8) % 256) as u8);
            }
        }
    }
    bytes(&mut o, tags::PIXEL_DATA, VR::OB, img);
    o
}

fn obj_at(o: &mut Obj, tag: Tag, value: Tag) {
    o.put(DataElement::new(
        tag,
        VR::AT,
        PrimitiveValue::Tags(vec![value].into()),
    ));
}

/// A Basic Text SR: a finding with a canary in free text, an observer name and a verifier.
pub fn basic_text_sr(st: &StudyCtx, se: &SeriesCtx, sop_uid: &str) -> Obj {
    let p = st.patient;
    let mut o = common(st, se, BASIC_TEXT_SR, sop_uid, 1);
    sq(
        &mut o,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        vec![],
    );
    sq(&mut o, tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]);
    s(&mut o, tags::COMPLETION_FLAG, VR::CS, "COMPLETE");
    s(&mut o, tags::VERIFICATION_FLAG, VR::CS, "VERIFIED");
    let mut v = Obj::new_empty();
    s(
        &mut v,
        tags::VERIFYING_OBSERVER_NAME,
        VR::PN,
        p.v("sr_verifier"),
    );
    sq(
        &mut v,
        tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
        vec![],
    );
    s(&mut v, tags::VERIFYING_ORGANIZATION, VR::LO, p.v("sr_org"));
    s(
        &mut v,
        tags::VERIFICATION_DATE_TIME,
        VR::DT,
        &format!("{}{}", st.date, st.time),
    );
    sq(&mut o, tags::VERIFYING_OBSERVER_SEQUENCE, vec![v]);

    s(&mut o, tags::VALUE_TYPE, VR::CS, "CONTAINER");
    sq(
        &mut o,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code("11528-7", "LN", "Radiology Report")],
    );
    s(&mut o, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    let mut observer = Obj::new_empty();
    s(
        &mut observer,
        tags::RELATIONSHIP_TYPE,
        VR::CS,
        "HAS OBS CONTEXT",
    );
    s(&mut observer, tags::VALUE_TYPE, VR::CS, "PNAME");
    sq(
        &mut observer,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code("121008", "DCM", "Person Observer Name")],
    );
    s(&mut observer, tags::PERSON_NAME, VR::PN, p.v("sr_pname"));
    let mut finding = Obj::new_empty();
    s(&mut finding, tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS");
    s(&mut finding, tags::VALUE_TYPE, VR::CS, "TEXT");
    sq(
        &mut finding,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code("121071", "DCM", "Finding")],
    );
    s(&mut finding, tags::TEXT_VALUE, VR::UT, p.v("sr_text"));
    sq(&mut o, tags::CONTENT_SEQUENCE, vec![observer, finding]);
    o
}
