//! Browsing what was catalogued: studies with their burned-in-risk badges, a study's instances,
//! and sending a selection of studies (what the window's studies screen needs).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::send::{SendOptions, SendProgress, SendSummary};
use super::Session;
use crate::catalog::{InstanceRow, StudyRow};
use crate::deid::risk::{risk_from_values, HeaderValues};
use crate::error::ApiError;

/// A catalogued study with what may stop it from leaving as it is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StudyOverview {
    /// The study (original identity: local display only).
    pub study: StudyRow,
    /// Instances whose pixels may carry burned-in identity (they need a mask rule or review).
    pub at_risk: i64,
    /// Why, in words, for the first kind of risky instance found.
    pub risk: Option<String>,
}

fn catalog_err(e: &crate::catalog::CatalogError) -> ApiError {
    ApiError::from_err(e, false)
}

impl Session {
    /// Every catalogued study with its burned-in-risk count, newest first.
    pub fn study_overview(&self) -> Result<Vec<StudyOverview>, ApiError> {
        let studies = self.catalog.studies().map_err(|e| catalog_err(&e))?;
        let mut risk: BTreeMap<i64, (i64, Option<String>)> = BTreeMap::new();
        for s in self.catalog.risk_signals().map_err(|e| catalog_err(&e))? {
            if !s.has_pixels {
                continue;
            }
            let why = risk_from_values(&HeaderValues {
                burned_in: &s.burned_in,
                modality: &s.modality,
                sop_class_uid: &s.sop_class_uid,
                image_type: &s.image_type,
            });
            if let Some(why) = why {
                let entry = risk.entry(s.study).or_default();
                entry.0 += s.instances;
                entry.1.get_or_insert(why);
            }
        }
        Ok(studies
            .into_iter()
            .map(|study| {
                let (at_risk, why) = risk.remove(&study.id).unwrap_or_default();
                StudyOverview {
                    study,
                    at_risk,
                    risk: why,
                }
            })
            .collect())
    }

    /// The instances of one study (by its original Study Instance UID), in series order.
    pub fn study_instances(&self, study_uid: &str) -> Result<Vec<InstanceRow>, ApiError> {
        self.catalog
            .study_instances(study_uid)
            .map_err(|e| catalog_err(&e))
    }

    /// The file holding a catalogued instance.
    pub fn instance_file(&self, instance: i64) -> Result<PathBuf, ApiError> {
        self.catalog
            .instance_file(instance)
            .map_err(|e| catalog_err(&e))?
            .ok_or_else(|| {
                ApiError::usage(
                    "catalog.no_instance",
                    format!("instance {instance} is not in the catalog (scan its folder again)"),
                )
            })
    }

    /// De-identifies and delivers the catalogued studies with these original Study UIDs.
    pub fn send_studies(
        &mut self,
        study_uids: &[String],
        dest: &crate::archive::DestinationSpec,
        opts: &SendOptions,
        progress: impl FnMut(SendProgress),
    ) -> Result<SendSummary, ApiError> {
        if study_uids.is_empty() {
            return Err(ApiError::usage(
                "send.nothing_selected",
                "choose at least one study to send",
            ));
        }
        let mut files = Vec::new();
        for uid in study_uids {
            let found = self.catalog.study_files(uid).map_err(|e| catalog_err(&e))?;
            if found.is_empty() {
                return Err(ApiError::usage(
                    "send.unknown_study",
                    "a selected study is no longer in the catalog; scan its folder again",
                ));
            }
            files.extend(found);
        }
        self.send_files(&files, dest, opts, progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_instance(dir: &std::path::Path, name: &str, modality: &str, study: &str) {
        use dicom_core::{DataElement, PrimitiveValue, VR};
        use dicom_dictionary_std::tags;
        use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
        let sop = format!("{study}.1.{}", name.len());
        let mut ds = InMemDicomObject::new_empty();
        let put = |ds: &mut InMemDicomObject, t, vr, v: &str| {
            ds.put(DataElement::new(t, vr, PrimitiveValue::from(v)))
        };
        put(
            &mut ds,
            tags::SOP_CLASS_UID,
            VR::UI,
            "1.2.840.10008.5.1.4.1.1.7",
        );
        put(&mut ds, tags::SOP_INSTANCE_UID, VR::UI, &sop);
        put(&mut ds, tags::STUDY_INSTANCE_UID, VR::UI, study);
        put(
            &mut ds,
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &format!("{study}.1"),
        );
        put(&mut ds, tags::PATIENT_ID, VR::LO, "P1");
        put(&mut ds, tags::MODALITY, VR::CS, modality);
        ds.put(DataElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(2u16),
        ));
        ds.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            PrimitiveValue::from(2u16),
        ));
        ds.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U8(vec![0u8; 8].into()),
        ));
        let obj = ds
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax("1.2.840.10008.1.2.1")
                    .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                    .media_storage_sop_instance_uid(&sop),
            )
            .expect("meta");
        obj.write_to_file(dir.join(name)).expect("write");
    }

    #[test]
    fn risky_studies_are_counted_and_explained() {
        let home = tempfile::tempdir().expect("tempdir");
        let src = tempfile::tempdir().expect("tempdir");
        write_instance(src.path(), "a.dcm", "US", "1.2.9.1");
        write_instance(src.path(), "bb.dcm", "US", "1.2.9.1");
        write_instance(src.path(), "ccc.dcm", "CT", "1.2.9.2");
        let mut s = Session::open(home.path()).expect("open");
        s.scan(&[src.path().to_path_buf()], &Default::default(), |_| {})
            .expect("scan");
        let rows = s.study_overview().expect("overview");
        assert_eq!(rows.len(), 2);
        let us = rows
            .iter()
            .find(|r| r.study.study_uid == "1.2.9.1")
            .expect("us");
        assert_eq!(us.at_risk, 2);
        assert!(
            us.risk.as_deref().is_some_and(|r| r.contains("US")),
            "{us:?}"
        );
        // the SOP class is Secondary Capture in both, so the CT one is at risk for that reason
        let ct = rows
            .iter()
            .find(|r| r.study.study_uid == "1.2.9.2")
            .expect("ct");
        assert_eq!(ct.at_risk, 1);
        assert!(ct
            .risk
            .as_deref()
            .is_some_and(|r| r.contains("secondary capture")));
        let inst = s.study_instances("1.2.9.1").expect("instances");
        assert_eq!(inst.len(), 2);
        assert_eq!(inst[0].modality, "US");
        let file = s.instance_file(inst[0].id).expect("file");
        assert!(file.exists());
        assert_eq!(
            s.instance_file(9999).expect_err("no such").code,
            "catalog.no_instance"
        );
    }

    #[test]
    fn sending_nothing_or_an_unknown_study_is_a_usage_error() {
        let home = tempfile::tempdir().expect("tempdir");
        let mut s = Session::open(home.path()).expect("open");
        let folder = crate::archive::DestinationSpec::Folder(None);
        let e = s
            .send_studies(&[], &folder, &SendOptions::default(), |_| {})
            .expect_err("empty");
        assert_eq!(e.code, "send.nothing_selected");
        let e = s
            .send_studies(&["1.2.3".into()], &folder, &SendOptions::default(), |_| {})
            .expect_err("unknown");
        assert_eq!(e.code, "send.unknown_study");
    }
}
