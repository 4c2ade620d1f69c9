//! The scorer: matches outputs (any folder layout, any file names) to the corpus's objects by
//! the marker (SOP Class UID + Instance Number, else the pixel hash), then runs every check:
//! each placement must be absent from each of its objects' output files (every encoding, any
//! element, any depth, segments inside pixel data, documents; burned-in text gone from the
//! pixels), every retention check must hold, and each object must be delivered or held as the
//! mode expects. Score = checks passed / all checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dicom_core::value::Value;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use dicom_object::InMemDicomObject;
use serde::{Deserialize, Serialize};

use super::codec::{frames_sha256, sha256, unhex};
use super::objects::zero_rect;
use super::spec::{Expect, MidiManifest, MidiObject, Placement, Retention};
use super::{read_midi_manifest, DICOM_DIR};
use crate::SynthError;

/// One leaked placement in one object's output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Leak {
    /// Placement id.
    pub placement: String,
    /// Category.
    pub category: String,
    /// Where it was placed.
    pub location: String,
    /// The object (index), or `None` for an output matched to no object.
    pub object: Option<usize>,
    /// The object's source path under `dicom/` (neutral), or the output file's name.
    pub file: String,
    /// How it was found: the encoding of the needle, or `pixels`.
    pub found: String,
}

/// One failed check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Failed {
    /// Check id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Object index.
    pub object: usize,
    /// Object kind (ct, sr, gsps, …).
    pub object_kind: String,
    /// Element path, if any.
    pub path: String,
    /// Why (never a value).
    pub why: String,
}

/// What an object held by the tool was held for (from the tool's own report).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Held {
    /// Input path as the tool reported it.
    pub path: String,
    /// Reason code.
    pub code: String,
}

/// The scorer's result for one output folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Mode whose expectations applied.
    pub mode: String,
    /// Objects in the corpus.
    pub objects: usize,
    /// Objects found in the output.
    pub delivered: usize,
    /// Output files matched to no object.
    pub unmatched: Vec<String>,
    /// Checks run.
    pub checks: u64,
    /// Checks passed.
    pub passed: u64,
    /// Removal checks (placement x object) run / passed.
    pub removal: (u64, u64),
    /// Retention and disposition checks run / passed.
    pub retention: (u64, u64),
    /// passed / checks, in percent.
    pub score: f64,
    /// Every leak.
    pub leaks: Vec<Leak>,
    /// Distinct leaked placements.
    pub leaked_placements: Vec<String>,
    /// Every failed retention or disposition check.
    pub failed: Vec<Failed>,
}

struct Out {
    file: PathBuf,
    /// The file's bytes, ASCII lower-cased (needles are searched case-insensitively).
    lower: Vec<u8>,
    obj: Option<InMemDicomObject>,
}

fn files_under(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 32 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, depth + 1, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

/// The element at `path`: `(gggg,eeee)[i]/(gggg,eeee)`, items 0-based.
pub fn at_path<'a>(obj: &'a InMemDicomObject, path: &str) -> Option<&'a InMemElement> {
    let mut cur = obj;
    let segs: Vec<&str> = path.split('/').collect();
    let (last, inner) = segs.split_last()?;
    for seg in inner {
        let (tag, idx) = parse_seg(seg)?;
        cur = cur.get(tag)?.items()?.get(idx)?;
    }
    let (tag, _) = parse_seg(last)?;
    cur.get(tag)
}

fn parse_seg(seg: &str) -> Option<(Tag, usize)> {
    let (t, rest) = seg.split_once(')')?;
    let t = t.strip_prefix('(')?;
    let (g, e) = t.split_once(',')?;
    let tag = Tag(
        u16::from_str_radix(g, 16).ok()?,
        u16::from_str_radix(e, 16).ok()?,
    );
    let idx = match rest.strip_prefix('[') {
        Some(r) => r.strip_suffix(']')?.parse().ok()?,
        None => 0,
    };
    Some((tag, idx))
}

fn text(obj: &InMemDicomObject, path: &str) -> Option<String> {
    let e = at_path(obj, path)?;
    let s = e.value().to_str().ok()?;
    Some(s.trim_matches(|c: char| c == '\0' || c == ' ').to_string())
}

/// The pixel hash as the manifest computes it: native bytes, or trimmed frames.
fn pixel_hash(obj: &InMemDicomObject) -> Option<String> {
    let e = obj.get(tags::PIXEL_DATA)?;
    match e.value() {
        Value::PixelSequence(seq) => Some(frames_sha256(&[seq.fragments().concat()])),
        Value::Primitive(p) => Some(sha256(&p.to_bytes())),
        Value::Sequence(_) => None,
    }
}

fn native_pixels(obj: &InMemDicomObject) -> Option<Vec<u8>> {
    match obj.get(tags::PIXEL_DATA)?.value() {
        Value::Primitive(p) => Some(p.to_bytes().into_owned()),
        _ => None,
    }
}

fn uint(obj: &InMemDicomObject, tag: Tag) -> Option<usize> {
    obj.get(tag)?.to_int::<u32>().ok().map(|v| v as usize)
}

fn find_ci(hay_lower: &[u8], needle: &[u8]) -> bool {
    let n: Vec<u8> = needle.iter().map(u8::to_ascii_lowercase).collect();
    let Some((&first, rest)) = n.split_first() else {
        return false;
    };
    if hay_lower.len() < n.len() {
        return false;
    }
    let last_start = hay_lower.len() - n.len();
    let mut i = 0;
    while i <= last_start {
        match hay_lower
            .get(i..=last_start)
            .and_then(|h| h.iter().position(|&b| b == first))
        {
            Some(off) => {
                let at = i + off;
                if hay_lower.get(at + 1..at + n.len()) == Some(rest) {
                    return true;
                }
                i = at + 1;
            }
            None => return false,
        }
    }
    false
}

/// The needle encodings found in `out` for placement `p` (empty if none).
fn search(p: &Placement, out: &Out) -> Option<String> {
    for n in &p.needles {
        let Some(b) = unhex(&n.hex) else { continue };
        if b.len() >= 4 && find_ci(&out.lower, &b) {
            return Some(n.encoding.clone());
        }
    }
    None
}

/// Whether any lit (255) sample of the burned-in rectangle survives.
fn burned_left(p: &Placement, out: &Out) -> Result<bool, &'static str> {
    let Some(r) = p.rect else { return Ok(false) };
    let obj = out.obj.as_ref().ok_or("output unreadable")?;
    let px = native_pixels(obj).ok_or("pixels not native")?;
    let cols = uint(obj, tags::COLUMNS).ok_or("no Columns")?;
    let spp = uint(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1).max(1);
    let frames = uint(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let rows = uint(obj, tags::ROWS).ok_or("no Rows")?;
    let frame_len = rows * cols * spp;
    for f in 0..frames {
        for y in r.y..(r.y + r.h).min(rows) {
            for x in r.x..(r.x + r.w).min(cols) {
                let at = f * frame_len + (y * cols + x) * spp;
                if px
                    .get(at..at + spp)
                    .is_some_and(|s| s.iter().all(|&v| v == 255))
                {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

fn days(d: &str) -> Option<i64> {
    let y: i64 = d.get(..4)?.parse().ok()?;
    let m: i64 = d.get(4..6)?.parse().ok()?;
    let day: i64 = d.get(6..8)?.parse().ok()?;
    // days from civil (H. Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Scores the output folder `output` against the corpus at `corpus` under `mode`'s
/// expectations. `held` (the tool's quarantine report, if it has one) lets held objects be
/// checked for their reason code.
pub fn score(
    corpus: &Path,
    output: &Path,
    mode: &str,
    held: Option<&[Held]>,
) -> Result<Report, SynthError> {
    let m = read_midi_manifest(corpus)?;
    let mut files = Vec::new();
    files_under(output, 0, &mut files);
    let outs: Vec<Out> = files
        .into_iter()
        .filter_map(|file| {
            let bytes = std::fs::read(&file).ok()?;
            let lower = bytes.iter().map(u8::to_ascii_lowercase).collect();
            let obj = dicom_object::OpenFileOptions::new()
                .open_file(&file)
                .ok()
                .map(|o| o.into_inner());
            Some(Out { file, lower, obj })
        })
        .collect();
    Ok(score_outputs(&m, &outs, output, mode, held))
}

fn marker_of(o: &MidiObject) -> (String, u32) {
    (o.sop_class_uid.clone(), o.instance_number)
}

fn score_outputs(
    m: &MidiManifest,
    outs: &[Out],
    output: &Path,
    mode: &str,
    held: Option<&[Held]>,
) -> Report {
    // match outputs to objects
    let by_marker: BTreeMap<(String, u32), usize> =
        m.objects.iter().map(|o| (marker_of(o), o.id)).collect();
    let by_instance: BTreeMap<u32, usize> = m
        .objects
        .iter()
        .map(|o| (o.instance_number, o.id))
        .collect();
    let by_pixels: BTreeMap<&str, usize> = m
        .objects
        .iter()
        .filter_map(|o| o.pixel_sha256.as_deref().map(|h| (h, o.id)))
        .collect();
    let mut matched: BTreeMap<usize, usize> = BTreeMap::new();
    let mut unmatched = Vec::new();
    for (k, out) in outs.iter().enumerate() {
        let found = out.obj.as_ref().and_then(|obj| {
            let class = text(obj, "(0008,0016)").unwrap_or_default();
            let inst = text(obj, "(0020,0013)").and_then(|s| s.parse::<u32>().ok());
            // the marker; else the Instance Number alone (unique in the corpus, for a tool that
            // drops the SOP Class UID); else the pixels
            inst.and_then(|i| {
                by_marker
                    .get(&(class, i))
                    .or_else(|| by_instance.get(&i))
                    .copied()
            })
            .or_else(|| pixel_hash(obj).and_then(|h| by_pixels.get(h.as_str()).copied()))
        });
        match found {
            Some(id) if !matched.contains_key(&id) => {
                matched.insert(id, k);
            }
            _ => unmatched.push(k),
        }
    }
    let out_of = |id: usize| matched.get(&id).and_then(|&k| outs.get(k));
    let expect = |o: &MidiObject| {
        o.expect
            .get(mode)
            .cloned()
            .unwrap_or_else(Expect::delivered)
    };
    let rel = |p: &Path| p.strip_prefix(output).unwrap_or(p).display().to_string();

    let mut r = Report {
        mode: mode.into(),
        objects: m.objects.len(),
        delivered: matched.len(),
        unmatched: unmatched
            .iter()
            .filter_map(|&k| outs.get(k))
            .map(|o| rel(&o.file))
            .collect(),
        ..Default::default()
    };

    // removal
    let mut leaked_objects: BTreeSet<usize> = BTreeSet::new();
    for p in &m.placements {
        for &oid in &p.objects {
            r.removal.0 += 1;
            let Some(o) = m.objects.get(oid) else {
                continue;
            };
            let Some(out) = out_of(oid) else {
                r.removal.1 += 1;
                continue;
            };
            let found = if p.rect.is_some() {
                match burned_left(p, out) {
                    Ok(true) => Some("pixels".to_string()),
                    Ok(false) => None,
                    Err(why) => Some(format!("pixels ({why})")),
                }
            } else {
                search(p, out)
            };
            match found {
                Some(enc) => {
                    leaked_objects.insert(oid);
                    r.leaks.push(Leak {
                        placement: p.id.clone(),
                        category: p.category.clone(),
                        location: p.location.clone(),
                        object: Some(oid),
                        file: o.path.clone(),
                        found: enc,
                    });
                }
                None => r.removal.1 += 1,
            }
        }
    }
    // outputs matched to no object carry no identity either
    for &k in &unmatched {
        let Some(out) = outs.get(k) else { continue };
        r.removal.0 += 1;
        let mut clean = true;
        for p in m.placements.iter().filter(|p| p.rect.is_none()) {
            if let Some(enc) = search(p, out) {
                clean = false;
                r.leaks.push(Leak {
                    placement: p.id.clone(),
                    category: p.category.clone(),
                    location: p.location.clone(),
                    object: None,
                    file: rel(&out.file),
                    found: enc,
                });
            }
        }
        r.removal.1 += u64::from(clean);
    }

    // disposition
    let fail = |r: &mut Report, c: &Retention, o: &MidiObject, why: &str| {
        r.failed.push(Failed {
            id: c.id.clone(),
            kind: c.kind.clone(),
            object: o.id,
            object_kind: o.kind.clone(),
            path: c.path.clone(),
            why: why.into(),
        });
    };
    for o in &m.objects {
        r.retention.0 += 1;
        let e = expect(o);
        let c = Retention {
            id: format!("o{}.disposition", o.id),
            kind: "disposition".into(),
            object: o.id,
            ..Default::default()
        };
        let out = out_of(o.id);
        let why = if e.is_delivered() {
            out.is_none().then_some("not delivered".to_string())
        } else if out.is_some() {
            if leaked_objects.contains(&o.id) {
                Some("delivered with identity, expected held".to_string())
            } else {
                // a tool that holds objects (it reports them) must hold this one
                held.map(|_| {
                    format!(
                        "delivered, expected held as {}",
                        e.reason.clone().unwrap_or_default()
                    )
                })
            }
        } else if let Some(h) = held {
            let code = h
                .iter()
                .find(|h| Path::new(&h.path).ends_with(Path::new(DICOM_DIR).join(&o.path)))
                .map(|h| h.code.clone());
            match code {
                Some(c) if Some(&c) == e.reason.as_ref() => None,
                Some(c) => Some(format!(
                    "held as {c}, expected {}",
                    e.reason.clone().unwrap_or_default()
                )),
                None => Some("not reported as held".to_string()),
            }
        } else {
            None
        };
        match why {
            Some(w) => fail(&mut r, &c, o, &w),
            None => r.retention.1 += 1,
        }
    }

    // group values for the consistency checks
    let patient_of = |oid: usize| m.objects.get(oid).map(|o| o.patient);
    let mut uid_map: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut pseud: BTreeMap<usize, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut ids: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut offsets: BTreeMap<usize, BTreeMap<i64, usize>> = BTreeMap::new();
    for c in &m.checks {
        let Some(out) = out_of(c.object) else {
            continue;
        };
        let Some(obj) = out.obj.as_ref() else {
            continue;
        };
        match c.kind.as_str() {
            "uid-consistent" => {
                if let Some(v) = text(obj, &c.path) {
                    uid_map
                        .entry((c.path.clone(), c.value.clone()))
                        .or_default()
                        .insert(v);
                }
            }
            "pseudonym-consistent" => {
                let id = text(obj, "(0010,0020)").unwrap_or_default();
                let name = text(obj, "(0010,0010)").unwrap_or_default();
                if let Some(p) = patient_of(c.object) {
                    ids.entry(p).or_default().insert(id.clone());
                    pseud.entry(p).or_default().insert((id, name));
                }
            }
            "date-shift" => {
                let (Some(o), Some(d)) = (m.objects.get(c.object), text(obj, "(0008,0020)")) else {
                    continue;
                };
                if let (Some(a), Some(b)) = (days(&o.study_date), days(&d)) {
                    *offsets
                        .entry(o.patient)
                        .or_default()
                        .entry(b - a)
                        .or_default() += 1;
                }
            }
            _ => {}
        }
    }

    for c in &m.checks {
        if !c.modes.is_empty() && !c.modes.iter().any(|x| x == mode) {
            continue;
        }
        let Some(o) = m.objects.get(c.object) else {
            continue;
        };
        r.retention.0 += 1;
        let e = expect(o);
        let out = out_of(o.id);
        let why: Option<String> = match (out, e.is_delivered()) {
            (None, false) => None,
            (None, true) => Some("object not delivered".into()),
            (Some(out), _) => match out.obj.as_ref() {
                None => Some("output is not readable DICOM".into()),
                Some(obj) => check_one(c, o, obj, m, &out_of, &uid_map, &pseud, &ids, &offsets),
            },
        };
        match why {
            Some(w) => fail(&mut r, c, o, &w),
            None => r.retention.1 += 1,
        }
    }

    r.checks = r.removal.0 + r.retention.0;
    r.passed = r.removal.1 + r.retention.1;
    r.score = if r.checks == 0 {
        0.0
    } else {
        100.0 * r.passed as f64 / r.checks as f64
    };
    let mut lp: Vec<String> = r.leaks.iter().map(|l| l.placement.clone()).collect();
    lp.sort();
    lp.dedup();
    r.leaked_placements = lp;
    r
}

#[allow(clippy::too_many_arguments)]
fn check_one<'a>(
    c: &Retention,
    o: &MidiObject,
    obj: &InMemDicomObject,
    m: &MidiManifest,
    out_of: &dyn Fn(usize) -> Option<&'a Out>,
    uid_map: &BTreeMap<(String, String), BTreeSet<String>>,
    pseud: &BTreeMap<usize, BTreeSet<(String, String)>>,
    ids: &BTreeMap<usize, BTreeSet<String>>,
    offsets: &BTreeMap<usize, BTreeMap<i64, usize>>,
) -> Option<String> {
    match c.kind.as_str() {
        "attribute" => match text(obj, &c.path) {
            None => Some("missing".into()),
            Some(v) if v != c.value => Some("changed".into()),
            Some(_) => None,
        },
        "pixels" => match (pixel_hash(obj), &o.pixel_sha256) {
            (Some(a), Some(b)) if &a == b => None,
            (None, _) => Some("no pixel data".into()),
            _ => Some("pixel data changed".into()),
        },
        "pixels-outside" => {
            let (Some(mut px), Some(cols), Some(rect)) =
                (native_pixels(obj), uint(obj, tags::COLUMNS), c.rect)
            else {
                return Some("pixels not native".into());
            };
            let spp = uint(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1).max(1);
            zero_rect(&mut px, cols, spp, rect);
            (sha256(&px) != c.value).then(|| "pixels outside the text region changed".into())
        }
        "reference" => {
            let target = c.target.and_then(|t| m.objects.get(t))?;
            let Some(tobj) = out_of(target.id).and_then(|t| t.obj.as_ref()) else {
                return Some("referenced object not delivered".into());
            };
            let attr = match c.target_attr.as_str() {
                "study" => "(0020,000D)",
                "series" => "(0020,000E)",
                _ => "(0008,0018)",
            };
            match (text(obj, &c.path), text(tobj, attr)) {
                (None, _) => Some("reference missing (or not decodable)".into()),
                (Some(a), Some(b)) if a == b => None,
                _ => Some("reference does not resolve to the output object".into()),
            }
        }
        "uid-consistent" => {
            let v = text(obj, &c.path);
            let set = uid_map.get(&(c.path.clone(), c.value.clone()));
            match v {
                None => Some("UID missing".into()),
                Some(v) if v == c.value => Some("source UID kept".into()),
                Some(_) if set.is_some_and(|s| s.len() > 1) => {
                    Some("same source UID mapped to different UIDs".into())
                }
                Some(_) => None,
            }
        }
        "pseudonym-consistent" => pseud
            .get(&o.patient)
            .is_some_and(|s| s.len() > 1)
            .then(|| "patient has more than one Patient ID/Name in the output".into()),
        "pseudonym-distinct" => {
            let mine = text(obj, "(0010,0020)").unwrap_or_default();
            let clash = ids
                .iter()
                .any(|(p, set)| *p != o.patient && set.contains(&mine));
            (mine.is_empty() || clash)
                .then(|| "Patient ID empty or shared with another patient".into())
        }
        "pseudonym-lookup" => {
            let want = m
                .patients
                .get(o.patient)
                .map(|p| p.lookup_pseudonym.as_str());
            (text(obj, "(0010,0020)").as_deref() != want)
                .then(|| "Patient ID is not the lookup pseudonym".into())
        }
        "date-shift" => {
            let Some(d) = text(obj, "(0008,0020)").filter(|d| !d.is_empty()) else {
                return Some("Study Date removed".into());
            };
            let (Some(a), Some(b)) = (days(&o.study_date), days(&d)) else {
                return Some("Study Date unreadable".into());
            };
            let modal = offsets
                .get(&o.patient)
                .and_then(|h| h.iter().max_by_key(|(_, n)| **n).map(|(k, _)| *k));
            if b - a == 0 {
                Some("Study Date not shifted".into())
            } else if Some(b - a) != modal {
                Some("Study Date shifted by another offset than the patient's".into())
            } else {
                None
            }
        }
        other => Some(format!("unknown check kind {other}")),
    }
}

/// The held objects of a `deposit deid --json` report (its `quarantine` list: path, code).
pub fn held_from_report(path: &Path) -> Result<Vec<Held>, SynthError> {
    let bad = |e: String| SynthError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    let bytes = std::fs::read(path).map_err(|source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let list = v
        .get("quarantine")
        .and_then(|q| q.as_array())
        .ok_or_else(|| bad("no quarantine list".into()))?;
    Ok(list
        .iter()
        .filter_map(|q| {
            Some(Held {
                path: q.get("path")?.as_str()?.to_string(),
                code: q.get("code")?.as_str()?.to_string(),
            })
        })
        .collect())
}

/// The report as text: score, leaks (placement and location only), failed checks by kind.
pub fn render(r: &Report, tool: &str) -> String {
    let mut s = format!(
        "{tool} [{}]: {:.2} % ({} of {} checks; removal {}/{}, retention {}/{}), {} leaked \
         placements ({} leaks), {} of {} objects delivered, {} unmatched outputs\n",
        r.mode,
        r.score,
        r.passed,
        r.checks,
        r.removal.1,
        r.removal.0,
        r.retention.1,
        r.retention.0,
        r.leaked_placements.len(),
        r.leaks.len(),
        r.delivered,
        r.objects,
        r.unmatched.len()
    );
    let mut by_place: BTreeMap<&str, (usize, &Leak)> = BTreeMap::new();
    for l in &r.leaks {
        by_place.entry(&l.placement).or_insert((0, l)).0 += 1;
    }
    for (p, (n, l)) in by_place {
        s.push_str(&format!(
            "  LEAK {p} [{}] {} — {n} object(s), e.g. {} ({})\n",
            l.category, l.location, l.file, l.found
        ));
    }
    let mut by_kind: BTreeMap<(String, String, String), Vec<&Failed>> = BTreeMap::new();
    for f in &r.failed {
        by_kind
            .entry((f.kind.clone(), f.object_kind.clone(), f.why.clone()))
            .or_default()
            .push(f);
    }
    for ((kind, ok, why), v) in by_kind {
        let paths: BTreeSet<&str> = v.iter().map(|f| f.path.as_str()).collect();
        let paths: Vec<&str> = paths.into_iter().take(6).collect();
        s.push_str(&format!(
            "  FAIL {kind} on {ok}: {why} — {} check(s){}\n",
            v.len(),
            if paths.iter().all(|p| p.is_empty()) {
                String::new()
            } else {
                format!(" at {}", paths.join(", "))
            }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_with_and_without_items() {
        assert_eq!(parse_seg("(0008,1115)[2]"), Some((Tag(0x0008, 0x1115), 2)));
        assert_eq!(parse_seg("(0040,A375)"), Some((Tag(0x0040, 0xA375), 0)));
        assert_eq!(parse_seg("0040,A375"), None);
    }

    #[test]
    fn search_is_ascii_case_insensitive() {
        let hay: Vec<u8> = b"xx MUELLER^zoe yy"
            .iter()
            .map(u8::to_ascii_lowercase)
            .collect();
        assert!(find_ci(&hay, b"Mueller^Zoe"));
        assert!(!find_ci(&hay, b"Mueller^Zoey"));
        assert!(!find_ci(b"ab", b"abc"));
    }

    #[test]
    fn days_count_calendar_days() {
        assert_eq!(days("19700101"), Some(0));
        assert_eq!(
            days("20200301").zip(days("20200228")).map(|(a, b)| a - b),
            Some(2)
        );
        assert_eq!(days("2020"), None);
    }
}
