//! XNAT destination: login, CSRF, DICOM-zip import into the prearchive, commit and verification
//! (docs/protocols.md, "XNAT").
//!
//! A piece is one in-memory DICOM-zip POSTed to `/data/services/import` with fixed
//! project/subject/session labels and `prevent_auto_commit=true`; XNAT merges every piece of a
//! study into one prearchive session, and a re-sent file overwrites itself (same SOP UID, same
//! name), so pieces are idempotent. `commit` finds the study's prearchive session and commits it
//! (200 prearchived, 301 archived, 409 busy → retried); `verify` lists the files XNAT holds with
//! their MD5 digests and compares count, sizes and digests with the manifest.
//!
//! Restart safety without extra queue state: the prearchive URI returned by an import is kept in
//! memory for speed, and after a restart it is found again on the server
//! (`GET /data/prearchive/projects/P`, matched on subject and session label), since
//! the server is the authority on where the session is now
//! (it may have been rebuilt, or already archived by an earlier run that died before recording
//! it, in which case the archive URI is returned).
//!
//! Credentials ([`super::credentials`]): user from the URL or `~/.netrc`; secret from
//! `DEPOSIT_PASSWORD`, `~/.netrc` or the OS keyring (`deposit login DEST`).
//!
//! Session heartbeat: while the destination is open a thread calls `GET /data/JSESSION` every
//! `heartbeat` seconds (default 60, as XNAT's Desktop Client) so long sends and offline waits do
//! not lose the session; an expired session is logged into again.
//!
//! Non-DICOM resources are PUT as files of a resource at project, subject, session or scan
//! level (`…/resources/LABEL/files/NAME?overwrite=true&inbody=true`) and checked in the
//! resource's file listing (size, MD5); scan QC status is set with the field shortcut
//! `…/scans/ID?xsiType=T&T/quality=Q` and checked in the scans listing.

pub mod browse;
pub mod http;
pub mod netrc;
pub mod url;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use self::http::{Conn, DEFAULT_TIMEOUT};
use self::url::{enc, XnatUrl};
use super::proxy::ProxyRoute;
use super::throttle::Throttle;
use super::{
    Acks, ArchiveError, Destination, Item, Level, Piece, Quality, Receipt, Resource, StudyLabels,
    Verification,
};

/// Default session heartbeat interval.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60);

/// The heartbeat thread's handle.
#[derive(Debug)]
struct Heartbeat {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// A file as XNAT lists it: name, size, MD5 digest (lower-case hex).
pub type Listed = (String, u64, String);

/// An XNAT site and project to deliver to.
#[derive(Debug)]
pub struct XnatArchive {
    url: XnatUrl,
    conn: Arc<Conn>,
    /// Prearchive URI per session label, as returned by the import service.
    prearchive: Mutex<HashMap<String, String>>,
    /// (md5, size) already in the archive per session label, read once per run.
    archived: Mutex<HashMap<String, HashSet<(String, u64)>>>,
    /// The project write-access check passed in this run.
    checked: AtomicBool,
    heartbeat: Mutex<Option<Heartbeat>>,
}

impl Drop for XnatArchive {
    fn drop(&mut self) {
        let hb = self
            .heartbeat
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(mut hb) = hb {
            hb.stop.store(true, Ordering::SeqCst);
            if let Some(h) = hb.handle.take() {
                let _ = h.join();
            }
        }
    }
}

impl XnatArchive {
    /// Opens a destination from its parsed URL, reading the credentials; reached as `route`
    /// says (directly or through a proxy).
    pub fn open(url: XnatUrl, route: &ProxyRoute) -> Result<Self, ArchiveError> {
        let c =
            super::credentials::resolve(url.user.as_deref(), &url.host, url.port, &url.describe())?;
        Self::with_credentials(url, c.user, c.secret, route)
    }

    /// A destination with explicit credentials (a login being checked, tests).
    pub fn with_credentials(
        url: XnatUrl,
        user: String,
        secret: String,
        route: &ProxyRoute,
    ) -> Result<Self, ArchiveError> {
        let name = url.describe();
        let conn = Arc::new(Conn::new(
            url.base(),
            user,
            secret,
            name,
            url.timeout.unwrap_or(DEFAULT_TIMEOUT),
            &url.trust,
            route,
        )?);
        Ok(XnatArchive {
            url,
            conn,
            prearchive: Mutex::new(HashMap::new()),
            archived: Mutex::new(HashMap::new()),
            checked: AtomicBool::new(false),
            heartbeat: Mutex::new(None),
        })
    }

    /// Starts the session heartbeat once (after the first login).
    fn start_heartbeat(&self) {
        let every = self.url.heartbeat.unwrap_or(DEFAULT_HEARTBEAT);
        if every.is_zero() {
            return;
        }
        let mut hb = self.heartbeat.lock().unwrap_or_else(|p| p.into_inner());
        if hb.is_some() {
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (conn, flag) = (self.conn.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("xnat-heartbeat".into())
            .spawn(move || loop {
                let start = std::time::Instant::now();
                while start.elapsed() < every {
                    if flag.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                conn.heartbeat();
            })
            .ok();
        *hb = Some(Heartbeat { stop, handle });
    }

    /// `/data/projects/P[/subjects/S[/experiments/E[/scans/C]]]` for a resource's parent.
    fn parent_path(&self, l: &StudyLabels, level: Level, scan: Option<&str>) -> String {
        let p = format!("/data/projects/{}", enc(&self.url.project));
        let s = format!("{p}/subjects/{}", enc(&l.subject));
        let e = format!("{s}/experiments/{}", enc(&l.session));
        match level {
            Level::Project => p,
            Level::Subject => s,
            Level::Session => e,
            Level::Scan => format!("{e}/scans/{}", enc(scan.unwrap_or_default())),
        }
    }

    /// The session's scans as XNAT lists them: (ID, xsiType, quality).
    fn scans(&self, l: &StudyLabels) -> Result<Vec<(String, String, String)>, ArchiveError> {
        let path = format!(
            "{}/scans?format=json",
            self.parent_path(l, Level::Session, None)
        );
        let r = self.conn.call("GET", &path, None, "scan listing")?;
        if r.status == 404 {
            return Err(self.rejected(format!(
                "scan listing: session '{}' is not in the archive (a project that keeps sessions in \
                 the prearchive must archive them before QC status can be set)",
                l.session
            )));
        }
        if r.status != 200 {
            return Err(self.conn.status_error(r.status, &r.body, "scan listing"));
        }
        let rows = result_rows(&r.body)
            .ok_or_else(|| self.rejected("scan listing: not the XNAT ResultSet JSON".into()))?;
        Ok(rows
            .iter()
            .map(|row| (text(row, "ID"), text(row, "xsiType"), text(row, "quality")))
            .collect())
    }

    /// The project every study goes to.
    pub fn project(&self) -> &str {
        &self.url.project
    }

    fn rejected(&self, detail: String) -> ArchiveError {
        ArchiveError::Rejected {
            destination: self.describe(),
            detail,
        }
    }

    fn experiment_path(&self, l: &StudyLabels) -> String {
        format!(
            "/data/archive/projects/{}/subjects/{}/experiments/{}",
            enc(&self.url.project),
            enc(&l.subject),
            enc(&l.session)
        )
    }

    /// A URI XNAT returned must name our project; anything else is misrouted data.
    fn check_project(&self, uri: &str, what: &str) -> Result<(), ArchiveError> {
        if uri_project(uri) == Some(self.url.project.as_str()) {
            Ok(())
        } else {
            Err(self.rejected(format!(
                "{what}: XNAT filed the data at {uri}, not in project '{}' — it re-routes data it \
                 cannot put where asked; check the user's access to the project",
                self.url.project
            )))
        }
    }

    /// Files XNAT lists under `path` (a `…/files?format=json` listing): (name, size, digest).
    fn list_files(&self, path: &str) -> Result<Option<Vec<Listed>>, ArchiveError> {
        let r = self.conn.call("GET", path, None, "file listing")?;
        if r.status == 404 {
            return Ok(None);
        }
        if r.status != 200 {
            return Err(self.conn.status_error(r.status, &r.body, "file listing"));
        }
        let rows = result_rows(&r.body)
            .ok_or_else(|| self.rejected("file listing: not the XNAT ResultSet JSON".into()))?;
        Ok(Some(
            rows.iter()
                .map(|row| {
                    (
                        text(row, "Name"),
                        text(row, "Size").parse().unwrap_or(u64::MAX),
                        text(row, "digest").to_ascii_lowercase(),
                    )
                })
                .collect(),
        ))
    }

    fn archived_files(&self, l: &StudyLabels) -> Result<Option<Vec<Listed>>, ArchiveError> {
        self.list_files(&format!(
            "{}/scans/ALL/files?format=json",
            self.experiment_path(l)
        ))
    }

    /// The study's prearchive sessions (URIs with `/data`), oldest first.
    fn find_prearchive(&self, l: &StudyLabels) -> Result<Vec<String>, ArchiveError> {
        if let Some(u) = self
            .prearchive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&l.session)
        {
            return Ok(vec![u.clone()]);
        }
        let r = self.conn.call(
            "GET",
            &format!(
                "/data/prearchive/projects/{}?format=json",
                enc(&self.url.project)
            ),
            None,
            "prearchive listing",
        )?;
        if r.status == 404 {
            return Ok(Vec::new());
        }
        if r.status != 200 {
            return Err(self
                .conn
                .status_error(r.status, &r.body, "prearchive listing"));
        }
        let rows = result_rows(&r.body).ok_or_else(|| {
            self.rejected("prearchive listing: not the XNAT ResultSet JSON".into())
        })?;
        let mut found: Vec<(String, String)> = rows
            .iter()
            .filter(|row| {
                text(row, "project") == self.url.project
                    && text(row, "subject") == l.subject
                    && (text(row, "name") == l.session || text(row, "folderName") == l.session)
            })
            .map(|row| {
                let url = text(row, "url");
                let url = if url.starts_with("/data/") {
                    url
                } else {
                    format!("/data{url}")
                };
                (text(row, "timestamp"), url)
            })
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, u)| u).collect())
    }
}

/// The project segment of an XNAT URI (`/data/prearchive/projects/P/…`, `/data/archive/projects/P/…`).
pub fn uri_project(uri: &str) -> Option<&str> {
    let u = uri.trim();
    let u = u
        .strip_prefix("/data")
        .or_else(|| u.strip_prefix("/REST"))
        .unwrap_or(u);
    let rest = u
        .strip_prefix("/prearchive/projects/")
        .or_else(|| u.strip_prefix("/archive/projects/"))
        .or_else(|| u.strip_prefix("/projects/"))?;
    rest.split('/').next().filter(|p| !p.is_empty())
}

fn result_rows(body: &str) -> Option<Vec<Value>> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("ResultSet")?.get("Result")?.as_array().cloned()
}

/// A field of a ResultSet row as text (XNAT sends numbers as strings, sometimes as numbers).
fn text(row: &Value, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Zips a piece's files in memory (stored: DICOM pixel data rarely shrinks), one entry per file
/// under its scan label.
pub fn zip_piece(items: &[Item]) -> Result<Vec<u8>, ArchiveError> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    let zip_err = |e: String, path: &std::path::Path| ArchiveError::ReadOutbox {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    for item in items {
        let bytes = std::fs::read(&item.path).map_err(|source| ArchiveError::ReadOutbox {
            path: item.path.clone(),
            source,
        })?;
        w.start_file(format!("{}/{}", item.scan, item.name), opts)
            .map_err(|e| zip_err(e.to_string(), &item.path))?;
        w.write_all(&bytes)
            .map_err(|e| zip_err(e.to_string(), &item.path))?;
    }
    let out = w
        .finish()
        .map_err(|e| zip_err(e.to_string(), std::path::Path::new("<zip>")))?;
    Ok(out.into_inner())
}

impl Destination for XnatArchive {
    fn describe(&self) -> String {
        self.url.describe()
    }

    fn project(&self) -> Option<String> {
        Some(self.url.project.clone())
    }

    fn check(&self) -> Result<(), ArchiveError> {
        self.conn.login()?;
        self.start_heartbeat();
        // projects where the user may create subjects (what the XNAT Desktop Client asks)
        let r = self.conn.call(
            "GET",
            "/data/projects?permissions=edit&dataType=xnat:subjectData&format=json",
            None,
            "project access check",
        )?;
        if r.status != 200 {
            return Err(self
                .conn
                .status_error(r.status, &r.body, "project access check"));
        }
        let rows = result_rows(&r.body).ok_or_else(|| {
            self.rejected("project access check: not the XNAT ResultSet JSON".into())
        })?;
        if rows.iter().any(|row| text(row, "ID") == self.url.project) {
            self.checked.store(true, Ordering::SeqCst);
            Ok(())
        } else {
            Err(self.rejected(format!(
                "user '{}' may not write to project '{}' (or it does not exist); nothing was \
                 sent, because XNAT would silently file the data elsewhere — ask the project's \
                 owner for member access or check the project ID",
                self.conn.user(),
                self.url.project
            )))
        }
    }

    fn deliver(&self, piece: &Piece, _acks: &dyn Acks) -> Result<Receipt, ArchiveError> {
        // a resumed run (`queue run`) never called check(): do the write-access check once
        if !self.checked.load(Ordering::SeqCst) {
            self.check()?;
        }
        let l = &piece.labels;
        // already archived identically (an earlier run)? then there is nothing to send
        let known = {
            let cached = self
                .archived
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&l.session)
                .cloned();
            match cached {
                Some(k) => k,
                None => {
                    let k: HashSet<(String, u64)> = self
                        .archived_files(l)?
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(_, size, md5)| (md5, size))
                        .collect();
                    self.archived
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(l.session.clone(), k.clone());
                    k
                }
            }
        };
        if piece
            .items
            .iter()
            .all(|i| known.contains(&(i.md5.clone(), i.size)))
        {
            return Ok(Receipt {
                stored: 0,
                already_present: piece.items.len() as u64,
            });
        }
        let zip = zip_piece(&piece.items)?;
        let query = format!(
            "/data/services/import?import-handler=DICOM-zip&PROJECT_ID={}&SUBJECT_ID={}&EXPT_LABEL={}\
             &overwrite=append&prevent_anon=true&prevent_auto_commit=true&SOURCE=deposit&inbody=true",
            enc(&self.url.project),
            enc(&l.subject),
            enc(&l.session)
        );
        let mut r = self
            .conn
            .call("POST", &query, Some(("application/zip", &zip)), "import")?;
        if r.status == 400 && !r.body.contains("In-body File posts") {
            // XNAT reports its own storage or anonymization failures as 400 "unable to read
            // DICOM object" (docs/protocols.md, "XNAT"): retry once, then report
            tracing::info!("import answered 400; retrying once");
            std::thread::sleep(std::time::Duration::from_millis(500));
            r = self
                .conn
                .call("POST", &query, Some(("application/zip", &zip)), "import")?;
        }
        if r.status != 200 {
            return Err(self.conn.status_error(r.status, &r.body, "import"));
        }
        let uris: Vec<&str> = r
            .body
            .lines()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let Some(first) = uris.first() else {
            return Err(self.rejected(
                "import: XNAT accepted the upload but filed nothing (a series import filter or \
                 the site's anonymization rejected it)"
                    .into(),
            ));
        };
        for u in &uris {
            self.check_project(u, "import")?;
        }
        if uris.len() > 1 {
            return Err(self.rejected(format!(
                "import: one piece was split into {} sessions; expected one study per piece",
                uris.len()
            )));
        }
        if first.contains("/prearchive/") {
            self.prearchive
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(l.session.clone(), first.to_string());
        }
        Ok(Receipt {
            stored: piece.items.len() as u64,
            already_present: 0,
        })
    }

    fn commit(&self, l: &StudyLabels) -> Result<String, ArchiveError> {
        let sessions = self.find_prearchive(l)?;
        if sessions.is_empty() {
            // nothing waiting: archived by an earlier run (or every piece was already there)
            let r = self.conn.call(
                "GET",
                &format!("{}?format=json", self.experiment_path(l)),
                None,
                "commit",
            )?;
            return match r.status {
                200 => Ok(self.experiment_path(l)),
                404 => Err(self.rejected(format!(
                    "commit: session '{}' is neither in the prearchive nor in the archive",
                    l.session
                ))),
                s => Err(self.conn.status_error(s, &r.body, "commit")),
            };
        }
        let mut last = String::new();
        for s in sessions {
            let r = self.conn.call(
                "POST",
                &format!("{s}?action=commit&SOURCE=deposit"),
                None,
                "commit",
            )?;
            let uri = r
                .body
                .lines()
                .map(str::trim)
                .find(|x| !x.is_empty())
                .unwrap_or_default();
            match r.status {
                200 | 301 if !uri.is_empty() => {
                    self.check_project(uri, "commit")?;
                    last = uri.to_string();
                }
                200 | 301 => {
                    return Err(self.rejected("commit: XNAT answered without a URI".into()))
                }
                404 => {
                    // the session moved on (rebuilt or archived): look again next attempt
                    self.prearchive
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&l.session);
                    return Err(ArchiveError::Unreachable {
                        destination: self.describe(),
                        detail: "commit: the prearchive session moved; looking it up again".into(),
                    });
                }
                st => return Err(self.conn.status_error(st, &r.body, "commit")),
            }
        }
        self.prearchive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&l.session);
        Ok(last)
    }

    fn probe(&self) -> Result<(), ArchiveError> {
        // the cheapest call that needs a live site and valid credentials
        let r = self.conn.call("GET", "/data/auth", None, "probe")?;
        match r.status {
            200 => Ok(()),
            s => Err(self.conn.status_error(s, &r.body, "probe")),
        }
    }

    fn limit_rate(&self, throttle: &Arc<Throttle>) -> bool {
        self.conn.set_throttle(throttle.clone());
        true
    }

    fn put_resource(&self, l: &StudyLabels, res: &Resource) -> Result<String, ArchiveError> {
        let parent = self.parent_path(l, res.level, res.scan.as_deref());
        let bytes = std::fs::read(&res.path).map_err(|source| ArchiveError::ReadOutbox {
            path: res.path.clone(),
            source,
        })?;
        if super::md5_hex(&bytes) != res.md5 {
            return Err(ArchiveError::ReadOutbox {
                path: res.path.clone(),
                source: std::io::Error::other("the outbox file changed since it was queued"),
            });
        }
        let what = "resource upload";
        let r = self.conn.call(
            "PUT",
            &format!(
                "{parent}/resources/{}/files/{}?overwrite=true&inbody=true",
                enc(&res.label),
                enc(&res.name)
            ),
            Some(("application/octet-stream", &bytes)),
            what,
        )?;
        match r.status {
            200 | 201 => {}
            404 => {
                return Err(self.rejected(format!(
                    "{what}: XNAT has no {} to attach '{}' to (a session kept in the prearchive \
                     must be archived first)",
                    res.level.as_str(),
                    res.label
                )))
            }
            s => return Err(self.conn.status_error(s, &r.body, what)),
        }
        let listed = self
            .list_files(&format!(
                "{parent}/resources/{}/files?format=json",
                enc(&res.label)
            ))?
            .unwrap_or_default();
        match listed.iter().find(|(n, _, _)| *n == res.name) {
            Some((_, size, md5)) if *size == res.size && *md5 == res.md5 => Ok(format!(
                "{parent}/resources/{}/files/{}",
                res.label, res.name
            )),
            Some(_) => Err(self.rejected(format!(
                "{what}: XNAT lists {}/{} with another size or digest",
                res.label, res.name
            ))),
            None => Err(self.rejected(format!(
                "{what}: XNAT does not list {}/{} after the upload",
                res.label, res.name
            ))),
        }
    }

    fn set_scan_quality(
        &self,
        l: &StudyLabels,
        scan: &str,
        quality: Quality,
    ) -> Result<(), ArchiveError> {
        let what = "scan QC status";
        let scans = self.scans(l)?;
        let Some((_, xsi, _)) = scans.iter().find(|(id, _, _)| id == scan) else {
            return Err(self.rejected(format!(
                "{what}: session '{}' has no scan '{scan}'",
                l.session
            )));
        };
        let xsi = if xsi.is_empty() {
            "xnat:imageScanData".to_string()
        } else {
            xsi.clone()
        };
        let r = self.conn.call(
            "PUT",
            &format!(
                "{}?xsiType={}&{}={}",
                self.parent_path(l, Level::Scan, Some(scan)),
                enc(&xsi),
                enc(&format!("{xsi}/quality")),
                quality.as_str()
            ),
            None,
            what,
        )?;
        if !matches!(r.status, 200 | 201) {
            return Err(self.conn.status_error(r.status, &r.body, what));
        }
        let now = self.scans(l)?;
        match now.iter().find(|(id, _, _)| id == scan) {
            Some((_, _, q)) if q.eq_ignore_ascii_case(quality.as_str()) => Ok(()),
            _ => Err(self.rejected(format!(
                "{what}: XNAT does not show scan '{scan}' as {} after the change",
                quality.as_str()
            ))),
        }
    }

    fn verify(&self, l: &StudyLabels, items: &[Item]) -> Result<Verification, ArchiveError> {
        let (files, uri) = match self.archived_files(l)? {
            Some(f) => (f, self.experiment_path(l)),
            None => {
                // committed but kept in the prearchive (project without auto-archive)
                let sessions = self.find_prearchive(l)?;
                let Some(s) = sessions.last() else {
                    return Err(self.rejected(format!(
                        "verify: session '{}' is not in the archive nor the prearchive",
                        l.session
                    )));
                };
                let scans: std::collections::BTreeSet<&str> =
                    items.iter().map(|i| i.scan.as_str()).collect();
                let mut files = Vec::new();
                for scan in scans {
                    let listed = self.list_files(&format!(
                        "{s}/scans/{}/resources/DICOM/files?format=json",
                        enc(scan)
                    ))?;
                    files.extend(listed.unwrap_or_default());
                }
                (files, s.clone())
            }
        };
        Ok(compare(items, &files, uri))
    }
}

/// Compares the manifest with XNAT's listing (name, size, MD5): every item must be present with
/// its size and digest; the same bytes stored twice is reported as a duplicate.
pub fn compare(items: &[Item], files: &[Listed], uri: String) -> Verification {
    let mut by_digest: HashMap<(&str, u64), usize> = HashMap::new();
    for (_, size, md5) in files {
        *by_digest.entry((md5.as_str(), *size)).or_default() += 1;
    }
    let mut v = Verification {
        expected: items.len() as u64,
        matched: 0,
        problems: Vec::new(),
        uri,
    };
    if files.iter().any(|(_, _, d)| d.is_empty()) {
        v.problems.push(
            "XNAT lists files without a digest (checksums are off on the site; refresh the catalog \
             with options=checksum)"
                .into(),
        );
    }
    for item in items {
        match by_digest.get(&(item.md5.as_str(), item.size)) {
            Some(1) => v.matched += 1,
            Some(n) => v
                .problems
                .push(format!("{}/{}: stored {n} times", item.scan, item.name)),
            None => v
                .problems
                .push(format!("{}/{}: missing or different", item.scan, item.name)),
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_project_of_a_uri() {
        assert_eq!(
            uri_project("/data/prearchive/projects/P1/2025_1/S\r\n"),
            Some("P1")
        );
        assert_eq!(
            uri_project("/data/archive/projects/P1/subjects/A/experiments/B"),
            Some("P1")
        );
        assert_eq!(
            uri_project("/prearchive/projects/Unassigned/x/y"),
            Some("Unassigned")
        );
        assert_eq!(uri_project("/xapi/direct-archive/P/1.2/x"), None);
    }

    fn item(name: &str, size: u64, md5: &str) -> Item {
        Item {
            path: name.into(),
            scan: "1".into(),
            name: name.into(),
            size,
            md5: md5.into(),
        }
    }

    #[test]
    fn comparison_needs_size_digest_and_no_duplicates() {
        let items = vec![item("a", 3, "aa"), item("b", 4, "bb"), item("c", 5, "cc")];
        let files = vec![
            ("a.dcm".to_string(), 3, "aa".to_string()),
            ("b.dcm".to_string(), 4, "bx".to_string()),
            ("c1.dcm".to_string(), 5, "cc".to_string()),
            ("c2.dcm".to_string(), 5, "cc".to_string()),
        ];
        let v = compare(&items, &files, "u".into());
        assert_eq!(v.matched, 1);
        assert_eq!(v.problems.len(), 2, "{:?}", v.problems);
        assert!(!v.ok());
        let v = compare(&items[..1], &files[..1], "u".into());
        assert!(v.ok());
    }

    #[test]
    fn zips_whole_files_under_their_scan() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("x.dcm");
        std::fs::write(&p, b"DICM bytes").expect("write");
        let mut it = item("x.dcm", 10, "");
        it.path = p;
        let z = zip_piece(&[it]).expect("zip");
        let mut a = zip::ZipArchive::new(std::io::Cursor::new(z)).expect("read zip");
        let mut f = a.by_name("1/x.dcm").expect("entry");
        let mut s = String::new();
        std::io::Read::read_to_string(&mut f, &mut s).expect("read");
        assert_eq!(s, "DICM bytes");
    }
}
