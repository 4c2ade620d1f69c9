//! The hard corpus (MIDI-B style): 8 patients, ~70 objects, identity placed in the places
//! de-identifiers miss (nested and private sequences, UN-encoded elements, Contributing
//! Equipment, JPEG COM/APP1 and J2K COM segments inside real compressed frames, an
//! encapsulated PDF, burned-in text, frame date-times, bytes after the data set, ISO 2022
//! IR 87 and IR 100 names), with the manifest ([`spec::MidiManifest`]) the scorer
//! ([`score`]) reads: placements, retention checks and the expected disposition per mode.

pub mod codec;
pub mod objects;
pub mod score;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

use crate::font::Rect;
use crate::SynthError;
use spec::{Expect, MidiManifest, MidiObject, MidiPatient, Needle, Placement, Retention};

/// Root of the hard corpus's source UIDs (`<root>.<patient>.<n>`).
pub const MIDI_UID_ROOT: &str = "1.3.6.1.4.1.99999.4711.8";
/// Folder of the DICOM files under the corpus folder.
pub const DICOM_DIR: &str = "dicom";
/// Lookup table (CSV `original,pseudonym`) for the patients' IDs.
pub const LOOKUP_FILE: &str = "lookup.csv";
/// Mask library (Deposit TOML) covering the burned-in text.
pub const MASKS_FILE: &str = "masks.toml";
/// The real JPEG baseline frame the JPEG objects carry (under the sample corpus).
pub const JPEG_SAMPLE: &str = "deid-data/humans/ctbrain1.dcm";
/// The real JPEG 2000 lossless frame the J2K objects carry (under the sample corpus).
pub const J2K_SAMPLE: &str = "pydicom/test_files/MR_small_jp2klossless.dcm";
/// The region the mask library blanks on the burned-in ultrasound (x, y, w, h).
pub const US_MASK: Rect = Rect {
    x: 0,
    y: 0,
    w: 320,
    h: 56,
};

/// The generator's state: the manifest being built and the counters.
pub struct Gen {
    out: PathBuf,
    /// The manifest so far.
    pub m: MidiManifest,
    index: BTreeMap<String, usize>,
    uid_n: u64,
    instance: u32,
}

impl Gen {
    fn new(out: &Path, seed: u64) -> Self {
        Gen {
            out: out.to_path_buf(),
            m: MidiManifest {
                generator: format!("deposit-synth {} midi", env!("CARGO_PKG_VERSION")),
                seed,
                marker:
                    "SOP Class UID + Instance Number (unique in the corpus), else Instance Number \
                         alone, else the pixel \
                         hash"
                        .into(),
                ..Default::default()
            },
            index: BTreeMap::new(),
            uid_n: 0,
            instance: 100,
        }
    }

    /// A new source UID of patient `p`.
    pub fn uid(&mut self, p: usize) -> String {
        self.uid_n += 1;
        format!("{MIDI_UID_ROOT}.{p}.{}", self.uid_n)
    }

    /// The next Instance Number (unique in the corpus: the marker).
    pub fn instance(&mut self) -> u32 {
        self.instance += 1;
        self.instance
    }

    /// Records that object `obj` carries `value` at placement `id`.
    pub fn place(&mut self, obj: usize, id: &str, category: &str, location: &str, value: &str) {
        self.place_needles(obj, id, category, location, codec::needles(value));
    }

    /// Like [`Gen::place`] with needles given.
    pub fn place_needles(
        &mut self,
        obj: usize,
        id: &str,
        category: &str,
        location: &str,
        needles: Vec<Needle>,
    ) {
        let at = match self.index.get(id) {
            Some(&i) => i,
            None => {
                self.m.placements.push(Placement {
                    id: id.into(),
                    category: category.into(),
                    location: location.into(),
                    objects: Vec::new(),
                    needles,
                    rect: None,
                });
                self.index.insert(id.into(), self.m.placements.len() - 1);
                self.m.placements.len() - 1
            }
        };
        if let Some(p) = self.m.placements.get_mut(at) {
            if !p.objects.contains(&obj) {
                p.objects.push(obj);
            }
        }
    }

    /// Burned-in text of object `obj` in `rect`.
    pub fn place_burned(&mut self, obj: usize, id: &str, rect: Rect) {
        self.m.placements.push(Placement {
            id: id.into(),
            category: "burned-in".into(),
            location: format!(
                "pixels x={} y={} w={} h={} (every frame)",
                rect.x, rect.y, rect.w, rect.h
            ),
            objects: vec![obj],
            needles: Vec::new(),
            rect: Some(rect),
        });
    }

    /// Adds a retention check.
    pub fn check(&mut self, r: Retention) {
        let id = format!("o{}.{}.{}", r.object, r.kind, self.m.checks.len());
        self.m.checks.push(Retention { id, ..r });
    }

    /// Adds an attribute-kept check.
    pub fn keep(&mut self, obj: usize, path: &str, value: &str) {
        self.check(Retention {
            kind: "attribute".into(),
            object: obj,
            path: path.into(),
            value: value.into(),
            ..Default::default()
        });
    }

    /// Adds a reference check: the UID at `path` must be object `target`'s new `attr` UID.
    pub fn reference(&mut self, obj: usize, path: &str, target: usize, attr: &str) {
        self.check(Retention {
            kind: "reference".into(),
            object: obj,
            path: path.into(),
            target: Some(target),
            target_attr: attr.into(),
            ..Default::default()
        });
    }

    /// Reserves the next object id.
    pub fn next_id(&self) -> usize {
        self.m.objects.len()
    }

    /// Writes `ds` with transfer syntax `ts` as object `o` (its id must be [`Gen::next_id`]),
    /// with `trailing` bytes appended after the data set.
    pub fn write(
        &mut self,
        o: MidiObject,
        ds: InMemDicomObject,
        ts: &str,
        trailing: Option<&[u8]>,
    ) -> Result<(), SynthError> {
        let path = self.out.join(DICOM_DIR).join(&o.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| SynthError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax(ts)
            .implementation_class_uid(crate::IMPLEMENTATION_CLASS_UID)
            .implementation_version_name("SYNTH_MIDI_1");
        let file = ds.with_meta(meta).map_err(|e| SynthError::Dicom {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        file.write_to_file(&path).map_err(|e| SynthError::Dicom {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        if let Some(t) = trailing {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(|source| SynthError::Io {
                    path: path.clone(),
                    source,
                })?;
            f.write_all(t).map_err(|source| SynthError::Io {
                path: path.clone(),
                source,
            })?;
        }
        self.m.objects.push(o);
        Ok(())
    }

    fn write_text(&self, name: &str, text: &str) -> Result<(), SynthError> {
        let path = self.out.join(name);
        std::fs::write(&path, text).map_err(|source| SynthError::Io { path, source })
    }
}

/// The expected disposition in every mode: delivered everywhere.
pub fn delivered_everywhere() -> BTreeMap<String, Expect> {
    spec::MODES
        .iter()
        .chain(std::iter::once(&"shifted"))
        .map(|m| (m.to_string(), Expect::delivered()))
        .collect()
}

/// Writes the hard corpus under `out` (`dicom/`, the manifest, `lookup.csv`, `masks.toml`),
/// taking the real compressed frames from the sample corpus at `samples`.
pub fn generate_midi(out: &Path, seed: u64, samples: &Path) -> Result<MidiManifest, SynthError> {
    let jpeg = objects::sample_frames(&samples.join(JPEG_SAMPLE))?;
    let j2k = objects::sample_frames(&samples.join(J2K_SAMPLE))?;
    std::fs::create_dir_all(out.join(DICOM_DIR)).map_err(|source| SynthError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut g = Gen::new(out, seed);
    let mut lookup = String::from("original,pseudonym\n");
    for p in 0..objects::PATIENTS {
        let pat = objects::patient(p);
        lookup.push_str(&format!("{},{}\n", pat.id, pat.pseudonym));
        g.m.patients.push(MidiPatient {
            index: p,
            charset: pat.charset.replace('\\', "/"),
            lookup_pseudonym: pat.pseudonym.clone(),
        });
        objects::write_patient(&mut g, &pat, &jpeg, &j2k)?;
    }
    g.write_text(LOOKUP_FILE, &lookup)?;
    g.write_text(
        MASKS_FILE,
        &format!(
            "format = \"deposit-masks/1\"\n\n[[rule]]\nname = \"synth-midi-us-top-band\"\n\
             regions = [[{}, {}, {}, {}]]\nmatch = {{ Modality = \"US\", ManufacturerModelName = \
             \"{}\", Rows = 240, Columns = 320 }}\nnote = \"patient name and ID burned into the \
             top band\"\n",
            US_MASK.x,
            US_MASK.y,
            US_MASK.w,
            US_MASK.h,
            objects::US_MODEL
        ),
    )?;
    let path = out.join(spec::MIDI_MANIFEST);
    let json = serde_json::to_vec_pretty(&g.m).map_err(|e| SynthError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&path, json).map_err(|source| SynthError::Io { path, source })?;
    Ok(g.m)
}

/// Reads the manifest of a hard corpus.
pub fn read_midi_manifest(dir: &Path) -> Result<MidiManifest, SynthError> {
    let path = dir.join(spec::MIDI_MANIFEST);
    let bytes = std::fs::read(&path).map_err(|source| SynthError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| SynthError::Io {
        path,
        source: std::io::Error::other(e),
    })
}
