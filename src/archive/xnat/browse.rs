//! The XNAT archive read back through its REST listings: a project's subjects and experiments
//! (one request each, `format=json`), a session's scans with their QC field and its file
//! listing (sizes, MD5 digests, URIs), a file's bytes, and the scan QC field set through the
//! XML-path shortcut.

use std::collections::HashMap;
use std::io::Write;

use super::url::enc;
use super::{result_rows, text, XnatArchive};
use crate::archive::browse::{per_scan, Browse, RemoteFile, ScanRow, SessionRow};
use crate::archive::{ArchiveError, Destination, Quality, StudyLabels};

/// The scan ID and resource label of a file URI (`…/scans/ID/resources/LABEL/files/NAME`).
fn scan_and_resource(uri: &str) -> Option<(String, String)> {
    let (_, after) = uri.split_once("/scans/")?;
    let mut parts = after.split('/');
    let scan = parts.next()?.to_string();
    (parts.next()? == "resources").then_some(())?;
    let resource = parts.next()?.to_string();
    Some((scan, resource))
}

impl XnatArchive {
    fn session_path(&self, s: &SessionRow) -> String {
        format!(
            "/data/projects/{}/subjects/{}/experiments/{}",
            enc(&self.url.project),
            enc(&s.subject),
            enc(&s.session)
        )
    }

    fn listing(&self, path: &str, what: &str) -> Result<Vec<serde_json::Value>, ArchiveError> {
        let r = self.conn.call("GET", path, None, what)?;
        if r.status != 200 {
            return Err(self.conn.status_error(r.status, &r.body, what));
        }
        result_rows(&r.body)
            .ok_or_else(|| self.rejected(format!("{what}: not the XNAT ResultSet JSON")))
    }
}

impl Browse for XnatArchive {
    fn describe(&self) -> String {
        Destination::describe(self)
    }

    fn project(&self) -> Option<String> {
        Some(self.url.project.clone())
    }

    fn subjects(&self) -> Result<Vec<String>, ArchiveError> {
        let rows = self.listing(
            &format!(
                "/data/projects/{}/subjects?format=json&columns=ID,label",
                enc(&self.url.project)
            ),
            "subject listing",
        )?;
        Ok(rows.iter().map(|r| text(r, "label")).collect())
    }

    fn sessions(&self) -> Result<Vec<SessionRow>, ArchiveError> {
        let rows = self.listing(
            &format!(
                "/data/projects/{}/experiments?format=json\
                 &columns=ID,label,subject_ID,subject_label,xsiType,date,insert_date",
                enc(&self.url.project)
            ),
            "session listing",
        )?;
        // a site that does not give `subject_label` gives the subject's accession: its label
        // comes from the subject listing
        let need_labels = rows.iter().any(|r| text(r, "subject_label").is_empty());
        let by_id: HashMap<String, String> = if need_labels {
            self.listing(
                &format!(
                    "/data/projects/{}/subjects?format=json&columns=ID,label",
                    enc(&self.url.project)
                ),
                "subject listing",
            )?
            .iter()
            .map(|r| (text(r, "ID"), text(r, "label")))
            .collect()
        } else {
            HashMap::new()
        };
        Ok(rows
            .iter()
            .map(|r| {
                let mut subject = text(r, "subject_label");
                if subject.is_empty() {
                    subject = by_id
                        .get(&text(r, "subject_ID"))
                        .cloned()
                        .unwrap_or_default();
                }
                SessionRow {
                    project: self.url.project.clone(),
                    subject,
                    session: text(r, "label"),
                    id: text(r, "ID"),
                    kind: text(r, "xsiType"),
                    date: text(r, "date"),
                    inserted: text(r, "insert_date"),
                }
            })
            .collect())
    }

    fn scans(&self, s: &SessionRow) -> Result<Vec<ScanRow>, ArchiveError> {
        let rows = self.listing(
            &format!("{}/scans?format=json", self.session_path(s)),
            "scan listing",
        )?;
        let counts = per_scan(&self.files(s)?);
        Ok(rows
            .iter()
            .map(|r| {
                let id = text(r, "ID");
                let (files, bytes) = counts.get(&id).copied().unwrap_or_default();
                ScanRow {
                    kind: text(r, "xsiType"),
                    description: text(r, "series_description"),
                    quality: text(r, "quality"),
                    files,
                    bytes,
                    id,
                }
            })
            .collect())
    }

    fn files(&self, s: &SessionRow) -> Result<Vec<RemoteFile>, ArchiveError> {
        let rows = self.listing(
            &format!("{}/scans/ALL/files?format=json", self.session_path(s)),
            "file listing",
        )?;
        rows.iter()
            .map(|r| {
                let uri = text(r, "URI");
                // the URI names the resource by label or by its numeric ID: the label is the
                // row's `collection`
                let (scan, in_uri) = scan_and_resource(&uri).unwrap_or_default();
                let collection = text(r, "collection");
                let resource = if collection.is_empty() {
                    in_uri
                } else {
                    collection
                };
                let size = text(r, "Size");
                Ok(RemoteFile {
                    scan,
                    resource,
                    name: text(r, "Name"),
                    size: size.parse().map_err(|_| {
                        self.rejected(format!(
                            "file listing: a size that is not a number: {size:.20}"
                        ))
                    })?,
                    md5: text(r, "digest").to_ascii_lowercase(),
                    uri,
                })
            })
            .collect()
    }

    fn download(
        &self,
        file: &RemoteFile,
        sink: &mut (dyn Write + Send),
    ) -> Result<u64, ArchiveError> {
        // only the site's own API: a listing never sends the client elsewhere
        let path = file.uri.trim();
        if !(path.starts_with("/data/") || path.starts_with("/REST/")) || path.contains("..") {
            return Err(self.rejected(format!(
                "download: the listing gave a file address outside the site's API ({:.80})",
                crate::logging::escape(path)
            )));
        }
        let (status, n) = self.conn.get_to(path, sink, "download")?;
        if status != 200 {
            return Err(self.conn.status_error(status, "", "download"));
        }
        Ok(n)
    }

    fn set_quality(
        &self,
        s: &SessionRow,
        scan: &str,
        quality: Quality,
    ) -> Result<(), ArchiveError> {
        let labels = StudyLabels {
            project: s.project.clone(),
            subject: s.subject.clone(),
            session: s.session.clone(),
        };
        self.set_scan_quality(&labels, scan, quality)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scan_and_resource_from_a_file_uri() {
        assert_eq!(
            scan_and_resource("/data/experiments/E1/scans/3/resources/DICOM/files/a.dcm"),
            Some(("3".into(), "DICOM".into()))
        );
        assert_eq!(
            scan_and_resource("/data/experiments/E1/resources/X/files/a"),
            None
        );
    }
}
