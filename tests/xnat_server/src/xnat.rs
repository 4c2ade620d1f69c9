//! The XNAT behaviour: sessions and CSRF, the DICOM-zip import into prearchive sessions (merge
//! rule, overwrite, project fallback), the quiet timer, commit and the listings.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use dicom_dictionary_std::tags;
use md5::Digest;
use serde_json::{json, Value};

use crate::http::{self, Request, Response};
use crate::{Config, Faults, Seen};

/// A prearchive session.
#[derive(Debug, Clone)]
pub struct Prearc {
    /// Project.
    pub project: String,
    /// `yyyyMMdd_HHmmssSSS`-like timestamp folder.
    pub timestamp: String,
    /// Folder (the session label).
    pub folder: String,
    /// Subject label.
    pub subject: String,
    /// StudyInstanceUID (the row's `tag`).
    pub study_uid: String,
    /// RECEIVING, READY, …
    pub status: String,
    /// Set by the import parameter.
    pub prevent_auto_commit: bool,
    last_touch: Instant,
}

/// Everything the server knows.
pub struct State {
    root: PathBuf,
    config: Config,
    /// Live sessions: JSESSIONID → (user, csrf token).
    pub sessions: HashMap<String, (String, String)>,
    /// Prearchive sessions.
    pub prearc: Vec<Prearc>,
    /// Faults to inject.
    pub faults: Faults,
    /// Request log.
    pub seen: Vec<Seen>,
    counter: u64,
    /// Last request per session (for `session_ttl`).
    touched: HashMap<String, Instant>,
    /// Scan QC status set through the REST field shortcut, by scan folder.
    quality: HashMap<PathBuf, String>,
    /// Accession numbers given to archived subjects and experiments, by folder.
    accessions: HashMap<PathBuf, u64>,
    /// MD5 digests of archived files, by (file, size, modification time): XNAT keeps them in
    /// its catalog instead of reading the files for every listing.
    digests: HashMap<(PathBuf, u64, Option<SystemTime>), String>,
    /// Sessions listed without files (a large project for benchmarks): (project, subject,
    /// session label).
    pub listed_only: Vec<(String, String, String)>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the fault plan says for an import.
enum ImportFault {
    None,
    Status(u16),
    Drop(usize),
    Slow(Duration),
}

/// Serves one connection (one request).
pub fn serve(stream: TcpStream, state: &Mutex<State>) {
    let Ok(read_side) = stream.try_clone() else {
        return;
    };
    let mut stream = stream;
    let mut r = BufReader::new(read_side);
    let Ok(mut req) = http::read_head(&mut r) else {
        return;
    };
    let is_import = req.method == "POST" && req.path.ends_with("/services/import");
    let fault = if is_import {
        lock(state).take_import_fault()
    } else {
        ImportFault::None
    };
    let limit = match fault {
        ImportFault::Drop(n) => Some(n),
        _ => None,
    };
    let complete = http::read_body(&mut r, &mut req, limit).unwrap_or(false);
    if !complete {
        lock(state).log(&req, 0);
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return;
    }
    let resp = match fault {
        ImportFault::Status(s) => Response::text(s, "text/plain", "The server is busy"),
        _ => lock(state).handle(&req),
    };
    {
        let mut st = lock(state);
        st.log(&req, resp.status);
        if is_import && resp.status == 200 && st.faults.expire_after_import {
            st.faults.expire_after_import = false;
            st.sessions.clear();
        }
    }
    if let ImportFault::Slow(d) = fault {
        std::thread::sleep(d);
    }
    let _ = http::write(&mut stream, &resp);
}

fn result_set(rows: Vec<Value>) -> String {
    json!({"ResultSet": {"Result": rows, "totalRecords": rows_len(&rows)}}).to_string()
}

/// The sub-folders of `dir`, sorted (none when it does not exist).
fn dirs_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn rows_len(rows: &[Value]) -> String {
    rows.len().to_string()
}

fn safe(label: &str) -> bool {
    !label.is_empty()
        && label != "."
        && label != ".."
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

impl State {
    /// A fresh server state.
    pub fn new(root: PathBuf, config: Config) -> Self {
        State {
            root,
            config,
            sessions: HashMap::new(),
            prearc: Vec::new(),
            faults: Faults::default(),
            seen: Vec::new(),
            counter: 0,
            touched: HashMap::new(),
            quality: HashMap::new(),
            accessions: HashMap::new(),
            digests: HashMap::new(),
            listed_only: Vec::new(),
        }
    }

    /// A scan's QC status (`usable` unless set).
    pub fn quality_of(&self, p: &str, s: &str, e: &str, scan: &str) -> String {
        let dir = self
            .root
            .join("archive")
            .join(p)
            .join(s)
            .join(e)
            .join("scans")
            .join(scan);
        self.quality
            .get(&dir)
            .cloned()
            .unwrap_or_else(|| "usable".into())
    }

    /// Adds `subjects` × `per_subject` sessions to `project`'s listings, without files (a large
    /// project for benchmarks: the listings are what is measured).
    pub fn list_only(&mut self, project: &str, subjects: usize, per_subject: usize) {
        for s in 0..subjects {
            for e in 0..per_subject {
                self.listed_only.push((
                    project.to_string(),
                    format!("SUBJ{s:06}"),
                    format!("SUBJ{s:06}_MR{e}"),
                ));
            }
        }
    }

    fn accession(&mut self, dir: PathBuf) -> u64 {
        let next = self.accessions.len() as u64 + 1;
        *self.accessions.entry(dir).or_insert(next)
    }

    /// `…/subjects?format=json` rows of a project (archived and listed-only subjects).
    fn subject_rows(&mut self, p: &str) -> Vec<Value> {
        let dir = self.root.join("archive").join(p);
        let mut labels: Vec<String> = dirs_in(&dir);
        labels.extend(
            self.listed_only
                .iter()
                .filter(|(x, _, _)| x == p)
                .map(|(_, s, _)| s.clone()),
        );
        labels.sort();
        labels.dedup();
        labels
            .into_iter()
            .map(|s| {
                let id = format!("XNAT_S{:05}", self.accession(dir.join(&s)));
                json!({"ID": id, "project": p, "label": s, "insert_date": "2026-01-01 00:00:00.0",
                    "insert_user": "alice", "URI": format!("/data/subjects/{id}")})
            })
            .collect()
    }

    /// `…/experiments?format=json` rows of a project, with the columns asked for that XNAT
    /// knows (`subject_label` among them) besides its default ones.
    fn experiment_rows(&mut self, p: &str, columns: &[&str]) -> Vec<Value> {
        let dir = self.root.join("archive").join(p);
        let mut found: Vec<(String, String, String)> = Vec::new();
        for s in dirs_in(&dir) {
            for e in dirs_in(&dir.join(&s)) {
                let xsi = dirs_in(&dir.join(&s).join(&e).join("scans"))
                    .first()
                    .map(|c| Self::scan_type(&dir.join(&s).join(&e).join("scans").join(c)))
                    .unwrap_or_default()
                    .replace("ScanData", "SessionData");
                found.push((s.clone(), e, xsi));
            }
        }
        let listed: Vec<(String, String, String)> = self
            .listed_only
            .iter()
            .filter(|(x, _, _)| x == p)
            .map(|(_, s, e)| (s.clone(), e.clone(), "xnat:mrSessionData".to_string()))
            .collect();
        found.extend(listed);
        found
            .into_iter()
            .map(|(s, e, xsi)| {
                let id = format!("XNAT_E{:05}", self.accession(dir.join(&s).join(&e)));
                let sid = format!("XNAT_S{:05}", self.accession(dir.join(&s)));
                let mut row = json!({"ID": id, "project": p, "label": e, "xsiType": xsi,
                    "date": "", "insert_date": "2026-01-01 00:00:00.0",
                    "URI": format!("/data/experiments/{id}")});
                if columns.contains(&"subject_label") {
                    row["subject_label"] = json!(s);
                }
                if columns.contains(&"subject_ID") {
                    row["subject_ID"] = json!(sid);
                }
                row
            })
            .collect()
    }

    /// The files of the scans under `dir` (all, or one), with their zip entry names as XNAT
    /// writes them (`EXPT/scans/ID/resources/DICOM/files/NAME`).
    fn zip_entries(dir: &std::path::Path, e: &str, only: Option<&str>) -> Vec<(String, PathBuf)> {
        crate::files_under(dir)
            .into_iter()
            .filter_map(|f| {
                let rel = f.strip_prefix(dir).ok()?;
                let scan = rel.iter().next()?.to_string_lossy().into_owned();
                if only.is_some_and(|o| o != scan) {
                    return None;
                }
                let name = f.file_name()?.to_string_lossy().into_owned();
                Some((format!("{e}/scans/{scan}/resources/DICOM/files/{name}"), f))
            })
            .collect()
    }

    fn digest(&mut self, f: &std::path::Path) -> Option<(u64, String)> {
        let meta = std::fs::metadata(f).ok()?;
        let key = (f.to_path_buf(), meta.len(), meta.modified().ok());
        if let Some(d) = self.digests.get(&key) {
            return Some((meta.len(), d.clone()));
        }
        let b = std::fs::read(f).ok()?;
        let d = hex::encode(md5::Md5::digest(&b));
        self.digests.insert(key, d.clone());
        Some((b.len() as u64, d))
    }

    /// Expires idle sessions and notes activity on live ones.
    fn touch_session(&mut self, req: &Request) {
        let Some(id) = req.cookie("JSESSIONID") else {
            return;
        };
        if !self.sessions.contains_key(&id) {
            return;
        }
        if let Some(ttl) = self.config.session_ttl {
            if self.touched.get(&id).is_some_and(|t| t.elapsed() > ttl) {
                self.sessions.remove(&id);
                self.touched.remove(&id);
                return;
            }
        }
        self.touched.insert(id, Instant::now());
    }

    /// The folder of `projects/P[/subjects/S[/experiments/E[/scans/C]]]` in the archive, if
    /// that object exists.
    fn object_dir(&self, rest: &[&str]) -> Option<PathBuf> {
        let a = self.root.join("archive");
        let dir = match rest {
            ["projects", p] => {
                if !self.config.projects.iter().any(|x| x.id == *p) {
                    return None;
                }
                a.join(p)
            }
            ["projects", p, "subjects", s] => a.join(p).join(s),
            ["projects", p, "subjects", s, "experiments", e] => a.join(p).join(s).join(e),
            ["projects", p, "subjects", s, "experiments", e, "scans", c] => {
                a.join(p).join(s).join(e).join("scans").join(c)
            }
            _ => return None,
        };
        let is_project = rest.len() == 2;
        (is_project || dir.is_dir()).then_some(dir)
    }

    /// The XSI type of a scan, from the Modality of its first DICOM file.
    fn scan_type(dir: &std::path::Path) -> String {
        let modality = crate::files_under(&dir.join("resources/DICOM/files"))
            .first()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| {
                let obj = dicom_object::OpenFileOptions::new()
                    .read_preamble(dicom_object::file::ReadPreamble::Always)
                    .read_until(tags::PIXEL_DATA)
                    .from_reader(&b[..])
                    .ok()?;
                obj.element(tags::MODALITY)
                    .ok()
                    .and_then(|e| e.to_str().ok())
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_default();
        match modality.as_str() {
            "CT" => "xnat:ctScanData",
            "MR" => "xnat:mrScanData",
            "PT" => "xnat:petScanData",
            _ => "xnat:otherDicomScanData",
        }
        .to_string()
    }

    /// Resources and scan fields: PUT files into `…/resources/L/files/NAME`, list them, list a
    /// session's scans, set a scan's `quality` with the XML-path field shortcut.
    fn objects(&mut self, req: &Request, user: &str, rest: &[&str]) -> Option<Response> {
        let pos = rest.iter().position(|x| *x == "resources");
        if let Some(i) = pos {
            let (obj, tail) = rest.split_at(i);
            let dir = self.object_dir(obj);
            let project = obj.get(1).copied().unwrap_or_default();
            return Some(match (req.method.as_str(), tail) {
                ("PUT", ["resources", label, "files", name]) => {
                    let Some(dir) = dir else {
                        return Some(Response::text(404, "text/plain", "no such object"));
                    };
                    if !self.can_write(user, project) {
                        return Some(Response::text(403, "text/plain", "no write access"));
                    }
                    if !safe(label) || !safe(name) {
                        return Some(Response::text(
                            400,
                            "text/plain",
                            "bad resource or file name",
                        ));
                    }
                    let path = dir.join("resources").join(label).join("files").join(name);
                    if path.exists() && req.param("overwrite") != Some("true") {
                        return Some(Response::text(
                            409,
                            "text/plain",
                            "file already exists (use overwrite=true)",
                        ));
                    }
                    match path
                        .parent()
                        .map(std::fs::create_dir_all)
                        .unwrap_or(Ok(()))
                        .and_then(|_| std::fs::write(&path, &req.body))
                    {
                        Ok(()) => Response::text(200, "text/plain", ""),
                        Err(_) => Response::text(500, "text/plain", "cannot store"),
                    }
                }
                ("GET", ["resources", label, "files", name]) => {
                    let Some(dir) = dir else {
                        return Some(Response::text(404, "text/plain", "no such object"));
                    };
                    if !safe(label) || !safe(name) {
                        return Some(Response::text(404, "text/plain", "no such file"));
                    }
                    let path = dir.join("resources").join(label).join("files").join(name);
                    if path.is_file() {
                        let mut r = Response::text(200, "application/octet-stream", "");
                        r.file = Some(path);
                        r
                    } else {
                        Response::text(404, "text/plain", "no such file")
                    }
                }
                ("GET", ["resources", label, "files"]) => {
                    let Some(dir) = dir else {
                        return Some(Response::text(404, "text/plain", "no such object"));
                    };
                    let rdir = dir.join("resources").join(label).join("files");
                    if !rdir.is_dir() {
                        return Some(Response::text(404, "text/plain", "no such resource"));
                    }
                    let uri = format!("/data/{}/resources/{label}/files", obj.join("/"));
                    let rows = crate::files_under(&rdir)
                        .into_iter()
                        .filter_map(|f| {
                            let b = std::fs::read(&f).ok()?;
                            let name = f.file_name()?.to_string_lossy().into_owned();
                            Some(json!({"Name": name, "Size": b.len().to_string(),
                                "URI": format!("{uri}/{name}"),
                                "digest": hex::encode(md5::Md5::digest(&b)),
                                "collection": label, "file_format": "", "file_content": "",
                                "file_tags": ""}))
                        })
                        .collect();
                    Response::text(200, "application/json", result_set(rows))
                }
                _ => Response::text(404, "text/plain", "not found"),
            });
        }
        match (req.method.as_str(), rest) {
            ("GET", ["projects", p, "subjects", s, "experiments", e, "scans"]) => {
                let Some(dir) = self.object_dir(&rest[..rest.len() - 1]) else {
                    return Some(Response::text(404, "text/plain", "no such experiment"));
                };
                let mut ids: Vec<String> = std::fs::read_dir(dir.join("scans"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|d| d.path().is_dir())
                    .map(|d| d.file_name().to_string_lossy().into_owned())
                    .collect();
                ids.sort();
                let rows = ids
                    .iter()
                    .map(|id| {
                        let sdir = dir.join("scans").join(id);
                        json!({"ID": id, "xsiType": Self::scan_type(&sdir),
                            "quality": self.quality_of(p, s, e, id), "type": "",
                            "series_description": "", "note": "",
                            "URI": format!("/data/experiments/{e}/scans/{id}")})
                    })
                    .collect();
                Some(Response::text(200, "application/json", result_set(rows)))
            }
            ("PUT", ["projects", p, "subjects", _, "experiments", _, "scans", _]) => {
                let Some(dir) = self.object_dir(rest) else {
                    return Some(Response::text(404, "text/plain", "no such scan"));
                };
                if !self.can_write(user, p) {
                    return Some(Response::text(403, "text/plain", "no write access"));
                }
                // field shortcuts name the scan's own type: `xnat:ctScanData/quality=…`;
                // fields of another type are not this object's and are ignored
                let own = Self::scan_type(&dir);
                if let Some(q) = req.param(&format!("{own}/quality")) {
                    if !["usable", "questionable", "unusable"].contains(&q) {
                        return Some(Response::text(400, "text/plain", "unknown quality label"));
                    }
                    self.quality.insert(dir, q.to_string());
                }
                Some(Response::text(200, "text/plain", ""))
            }
            _ => None,
        }
    }

    fn log(&mut self, req: &Request, status: u16) {
        self.seen.push(Seen {
            method: req.method.clone(),
            path: req.path.clone(),
            status,
            bytes: req.body.len(),
        });
    }

    fn take_import_fault(&mut self) -> ImportFault {
        let f = &mut self.faults;
        if !f.import_statuses.is_empty() {
            return ImportFault::Status(f.import_statuses.remove(0));
        }
        if f.drop_imports > 0 {
            f.drop_imports -= 1;
            return ImportFault::Drop(f.drop_after);
        }
        if f.slow_imports > 0 {
            f.slow_imports -= 1;
            return ImportFault::Slow(f.slow_delay);
        }
        ImportFault::None
    }

    /// Gives or takes write access.
    pub fn set_writer(&mut self, project: &str, user: &str, write: bool) {
        if let Some(p) = self.config.projects.iter_mut().find(|p| p.id == project) {
            p.writers.retain(|u| u != user);
            if write {
                p.writers.push(user.into());
            }
        }
    }

    fn next_id(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn can_write(&self, user: &str, project: &str) -> bool {
        self.config
            .projects
            .iter()
            .any(|p| p.id == project && p.writers.iter().any(|w| w == user))
    }

    /// The user behind a request: a live session cookie, or Basic credentials.
    fn user(&self, req: &Request) -> Option<(String, bool)> {
        // (an idle session was already expired by `touch_session`)
        if let Some(id) = req.cookie("JSESSIONID") {
            if let Some((u, _)) = self.sessions.get(&id) {
                return Some((u.clone(), true));
            }
        }
        let h = req.header("authorization")?;
        let b64 = h.strip_prefix("Basic ")?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (u, p) = text.split_once(':')?;
        self.config
            .users
            .iter()
            .any(|(cu, cp)| cu == u && cp == p)
            .then(|| (u.to_string(), false))
    }

    fn handle(&mut self, req: &Request) -> Response {
        self.quiet_timer();
        self.touch_session(req);
        let path = req.path.trim_end_matches('/');
        let path = path.strip_prefix("/REST").map(|p| format!("/data{p}"));
        let path = path.as_deref().unwrap_or(req.path.trim_end_matches('/'));
        let stale_cookie = req
            .cookie("JSESSIONID")
            .is_some_and(|id| !self.sessions.contains_key(&id));
        if stale_cookie && self.config.login_page_on_expiry && req.header("authorization").is_none()
        {
            return Response::text(
                200,
                "text/html",
                "<html><body><form name=\"form1\" method=\"post\" action=\"/login\">\
                 <input name=\"username\"/></form></body></html>",
            );
        }
        let Some((user, by_cookie)) = self.user(req) else {
            return Response::text(
                401,
                "text/html",
                "<h3>Login attempt failed. Please try again.</h3>",
            );
        };
        // CSRF: cookie-authenticated state changes must carry the session's token
        if self.config.csrf && by_cookie && req.method != "GET" && path != "/data/JSESSION" {
            let id = req.cookie("JSESSIONID").unwrap_or_default();
            let expected = self.sessions.get(&id).map(|(_, t)| t.clone());
            if expected.as_deref() != req.param("XNAT_CSRF") || expected.is_none() {
                return Response::text(403, "text/plain", "CSRF token missing or wrong");
            }
        }
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("POST", ["data", "JSESSION"]) => self.login(&user),
            ("GET", ["data", "JSESSION"]) => Response::text(
                200,
                "text/plain",
                req.cookie("JSESSIONID").unwrap_or_default(),
            ),
            ("DELETE", ["data", "JSESSION"]) => {
                if let Some(id) = req.cookie("JSESSIONID") {
                    self.sessions.remove(&id);
                }
                Response::text(200, "text/plain", "")
            }
            ("GET", []) => {
                let token = req
                    .cookie("JSESSIONID")
                    .and_then(|id| self.sessions.get(&id).map(|(_, t)| t.clone()))
                    .unwrap_or_default();
                Response::text(
                    200,
                    "text/html",
                    format!("<html><script>\n  var csrfToken = '{token}';\n</script></html>"),
                )
            }
            ("GET", ["data", "auth"]) => {
                Response::text(200, "text/plain", format!("User '{user}' is logged in"))
            }
            ("GET", ["xapi", "siteConfig", "buildInfo"]) => {
                Response::text(200, "application/json", r#"{"version":"1.8.10"}"#)
            }
            ("GET", ["data", "projects"]) => {
                let edit = req.param("permissions") == Some("edit");
                let rows = self
                    .config
                    .projects
                    .iter()
                    .filter(|p| !edit || p.writers.contains(&user))
                    .map(|p| json!({"ID": p.id, "name": p.id}))
                    .collect();
                Response::text(200, "application/json", result_set(rows))
            }
            ("GET", ["data", "projects", p, "subjects"])
                if self.config.projects.iter().any(|x| x.id == *p) =>
            {
                let rows = self.subject_rows(p);
                Response::text(200, "application/json", result_set(rows))
            }
            ("GET", ["data", "projects", p, "experiments"])
                if self.config.projects.iter().any(|x| x.id == *p) =>
            {
                let columns: Vec<String> = req
                    .param("columns")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_string)
                    .collect();
                let cols: Vec<&str> = columns.iter().map(String::as_str).collect();
                let rows = self.experiment_rows(p, &cols);
                Response::text(200, "application/json", result_set(rows))
            }
            ("GET", ["data", "projects", p, "prearchive_code"]) => {
                match self.config.projects.iter().find(|x| x.id == *p) {
                    Some(x) => {
                        Response::text(200, "text/plain", if x.auto_archive { "4" } else { "0" })
                    }
                    None => Response::text(404, "text/plain", "no such project"),
                }
            }
            ("POST", ["data", "services", "import"]) => self.import(req, &user),
            (_, ["data", "services", "import"]) => Response::text(405, "text/plain", "POST only"),
            ("GET", ["data", "prearchive", "projects", p]) => {
                let rows = self
                    .prearc
                    .iter()
                    .filter(|s| s.project == *p)
                    .map(|s| {
                        json!({"project": s.project, "timestamp": s.timestamp, "name": s.folder,
                        "folderName": s.folder, "subject": s.subject, "tag": s.study_uid,
                        "status": s.status, "prevent_auto_commit": s.prevent_auto_commit.to_string(),
                        "url": format!("/prearchive/projects/{}/{}/{}", s.project, s.timestamp, s.folder)})
                    })
                    .collect();
                Response::text(200, "application/json", result_set(rows))
            }
            ("POST", ["data", "prearchive", "projects", p, ts, f]) => {
                if req.param("action") != Some("commit") {
                    return Response::text(400, "text/plain", "unsupported action");
                }
                self.commit(&user, p, ts, f)
            }
            (
                "GET",
                ["data", "prearchive", "projects", p, ts, f, "scans", s, "resources", "DICOM", "files"],
            ) => {
                let dir = self
                    .root
                    .join("prearchive")
                    .join(p)
                    .join(ts)
                    .join(f)
                    .join("scans");
                self.listing(
                    dir,
                    Some(s),
                    &format!("/data/prearchive/projects/{p}/{ts}/{f}"),
                )
            }
            (_, ["data", a @ ("archive" | "projects"), ..])
                if {
                    let rest: Vec<&str> = parts[if *a == "archive" { 2 } else { 1 }..].to_vec();
                    rest.contains(&"resources")
                        || (rest.len() == 7 && rest[6] == "scans")
                        || (req.method == "PUT" && rest.len() == 8 && rest[6] == "scans")
                } =>
            {
                let rest: Vec<&str> = parts[if *a == "archive" { 2 } else { 1 }..].to_vec();
                self.objects(req, &user, &rest)
                    .unwrap_or_else(|| Response::text(404, "text/plain", "not found"))
            }
            ("GET", ["data", a @ ("archive" | "projects"), ..]) => {
                let rest = if *a == "archive" {
                    &parts[2..]
                } else {
                    &parts[1..]
                };
                match rest {
                    ["projects", p, "subjects", s, "experiments", e] => {
                        if self.root.join("archive").join(p).join(s).join(e).is_dir() {
                            Response::text(
                                200,
                                "application/json",
                                result_set(vec![json!({"label": e, "project": p})]),
                            )
                        } else {
                            Response::text(404, "text/plain", "no such experiment")
                        }
                    }
                    ["projects", p, "subjects", s, "experiments", e, "scans", scan, "files"] => {
                        let dir = self
                            .root
                            .join("archive")
                            .join(p)
                            .join(s)
                            .join(e)
                            .join("scans");
                        let only = (*scan != "ALL").then_some(*scan);
                        if req.param("format") == Some("zip") {
                            if !dir.is_dir() {
                                return Response::text(404, "text/plain", "not found");
                            }
                            let mut r = Response::text(200, "application/zip", "");
                            r.zip = Self::zip_entries(&dir, e, only);
                            r.headers.push((
                                "Content-Disposition".into(),
                                format!("attachment; filename=\"{e}.zip\""),
                            ));
                            return r;
                        }
                        self.listing(
                            dir,
                            only,
                            &format!("/data/archive/projects/{p}/subjects/{s}/experiments/{e}"),
                        )
                    }
                    _ => Response::text(404, "text/plain", "not found"),
                }
            }
            _ => Response::text(404, "text/plain", "not found"),
        }
    }

    fn login(&mut self, user: &str) -> Response {
        let n = self.next_id();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let id = hex::encode(md5::Md5::digest(format!("{n}-{nanos}-{user}"))).to_uppercase();
        let csrf = hex::encode(md5::Md5::digest(format!("csrf-{id}")));
        self.sessions.insert(id.clone(), (user.to_string(), csrf));
        self.touched.insert(id.clone(), Instant::now());
        let mut r = Response::text(200, "text/plain", id.clone());
        r.headers.push((
            "Set-Cookie".into(),
            format!("JSESSIONID={id}; Path=/; HttpOnly"),
        ));
        // as XNAT: last activity (ms) and the timeout (ms)
        let ttl = self.config.session_ttl.map_or(900_000, |d| d.as_millis());
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        r.headers.push((
            "Set-Cookie".into(),
            format!("SESSION_EXPIRATION_TIME=\"{ms},{ttl}\"; Path=/"),
        ));
        r
    }

    /// Builds (and archives, when allowed) sessions quiet for longer than the quiet period.
    fn quiet_timer(&mut self) {
        let quiet = self.config.quiet;
        let due: Vec<usize> = (0..self.prearc.len())
            .filter(|&i| {
                let s = &self.prearc[i];
                s.status == "RECEIVING" && !s.prevent_auto_commit && s.last_touch.elapsed() >= quiet
            })
            .collect();
        for i in due.into_iter().rev() {
            let auto = self.auto_archive(&self.prearc[i].project.clone());
            if auto {
                let s = self.prearc.remove(i);
                let _ = self.archive(&s);
            } else {
                self.prearc[i].status = "READY".into();
            }
        }
    }

    fn auto_archive(&self, project: &str) -> bool {
        self.config
            .projects
            .iter()
            .any(|p| p.id == project && p.auto_archive)
    }

    fn import(&mut self, req: &Request, user: &str) -> Response {
        match req.param("import-handler") {
            Some("DICOM-zip") => {}
            Some(other) => {
                return Response::text(404, "text/plain", format!("Unknown importer: {other}"))
            }
            None => {
                return Response::text(400, "text/plain", "this test server needs import-handler")
            }
        }
        if req.body.is_empty() {
            return Response::text(
                400,
                "text/plain",
                "In-body File posts must include the file directly as the body of the message.",
            );
        }
        if req.header("content-type") != Some("application/zip") {
            return Response::text(400, "text/plain", "Unable to identify upload format.");
        }
        let param = |a: &str, b: &str| req.param(a).or(req.param(b)).map(str::to_string);
        let asked = param("PROJECT_ID", "project").unwrap_or_default();
        // XNAT does not refuse a project the user cannot write to: it routes by the DICOM
        // headers instead (here: none match), so the data lands in Unassigned
        let project = if self.can_write(user, &asked) {
            asked
        } else {
            "Unassigned".to_string()
        };
        let subject = param("SUBJECT_ID", "subject").unwrap_or_default();
        let label = param("EXPT_LABEL", "session").unwrap_or_else(|| "dicom_upload".into());
        if !safe(&subject) || !safe(&label) {
            return Response::text(400, "text/plain", "bad subject or session label");
        }
        let prevent = req.param("prevent_auto_commit") == Some("true");
        let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(&req.body)) {
            Ok(a) => a,
            Err(_) => return Response::text(400, "text/plain", "unable to read the zip"),
        };
        let mut uris: Vec<String> = Vec::new();
        for i in 0..archive.len() {
            let Ok(mut entry) = archive.by_index(i) else {
                return Response::text(400, "text/plain", "unable to read the zip");
            };
            if entry.is_dir() {
                continue;
            }
            let name = entry.name().to_string();
            let mut bytes = Vec::new();
            if entry.read_to_end(&mut bytes).is_err() {
                return Response::text(
                    400,
                    "text/plain",
                    format!("unable to read DICOM object {name}"),
                );
            }
            let Some((study, series, sop)) = dicom_ids(&bytes) else {
                // entries before this one stay in the prearchive, as in XNAT
                return Response::text(
                    400,
                    "text/plain",
                    format!("unable to read DICOM object {name}"),
                );
            };
            let idx = self.session_for(&project, &subject, &label, &study, prevent);
            let s = &self.prearc[idx];
            let dir = self
                .root
                .join("prearchive")
                .join(&s.project)
                .join(&s.timestamp)
                .join(&s.folder)
                .join("scans")
                .join(&series)
                .join("resources/DICOM/files");
            let uri = format!(
                "/data/prearchive/projects/{}/{}/{}",
                s.project, s.timestamp, s.folder
            );
            if std::fs::create_dir_all(&dir)
                .and_then(|_| std::fs::write(dir.join(format!("{sop}.dcm")), &bytes))
                .is_err()
            {
                return Response::text(
                    400,
                    "text/plain",
                    format!("unable to read DICOM object {name}"),
                );
            }
            self.prearc[idx].last_touch = Instant::now();
            if !uris.contains(&uri) {
                uris.push(uri);
            }
        }
        let body: String = uris.iter().map(|u| format!("{u}\r\n")).collect();
        Response::text(200, "text/uri-list", body)
    }

    /// The merge rule: same project + StudyInstanceUID + folder while RECEIVING (or READY and
    /// held by `prevent_auto_commit`, which reopens) → the same session; else a new one.
    fn session_for(
        &mut self,
        project: &str,
        subject: &str,
        folder: &str,
        study: &str,
        prevent: bool,
    ) -> usize {
        if let Some(i) = self.prearc.iter().position(|s| {
            s.project == project
                && s.study_uid == study
                && s.folder == folder
                && (s.status == "RECEIVING" || (s.status == "READY" && s.prevent_auto_commit))
        }) {
            self.prearc[i].status = "RECEIVING".into();
            return i;
        }
        let n = self.next_id();
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        self.prearc.push(Prearc {
            project: project.into(),
            timestamp: format!("{secs}_{n:03}"),
            folder: folder.into(),
            subject: subject.into(),
            study_uid: study.into(),
            status: "RECEIVING".into(),
            prevent_auto_commit: prevent,
            last_touch: Instant::now(),
        });
        self.prearc.len() - 1
    }

    fn commit(&mut self, user: &str, p: &str, ts: &str, f: &str) -> Response {
        let Some(i) = self
            .prearc
            .iter()
            .position(|s| s.project == p && s.timestamp == ts && s.folder == f)
        else {
            return Response::text(404, "text/plain", "no such prearchive session");
        };
        if p != "Unassigned" && !self.can_write(user, p) {
            return Response::text(403, "text/plain", "no write access");
        }
        if self.faults.busy_commits > 0 {
            self.faults.busy_commits -= 1;
            return Response::text(409, "text/plain", "session document locked");
        }
        if self.auto_archive(p) && p != "Unassigned" {
            let s = self.prearc.remove(i);
            match self.archive(&s) {
                Ok(uri) => Response::text(301, "text/plain", uri),
                Err(_) => Response::text(500, "text/plain", "archive failed"),
            }
        } else {
            self.prearc[i].status = "READY".into();
            Response::text(
                200,
                "text/uri-list",
                format!("/data/prearchive/projects/{p}/{ts}/{f}\r\n"),
            )
        }
    }

    /// Moves a prearchive session into the archive, merging with (and overwriting files of) an
    /// existing experiment of the same label (`overwrite=append`).
    fn archive(&self, s: &Prearc) -> std::io::Result<String> {
        let from = self
            .root
            .join("prearchive")
            .join(&s.project)
            .join(&s.timestamp)
            .join(&s.folder);
        let to = self
            .root
            .join("archive")
            .join(&s.project)
            .join(&s.subject)
            .join(&s.folder);
        for file in crate::files_under(&from) {
            let rel = file.strip_prefix(&from).map_err(std::io::Error::other)?;
            let dest = to.join(rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&file, &dest)?;
        }
        std::fs::create_dir_all(&to)?;
        let _ = std::fs::remove_dir_all(&from);
        Ok(format!(
            "/data/archive/projects/{}/subjects/{}/experiments/{}",
            s.project, s.subject, s.folder
        ))
    }

    /// `…/files?format=json` rows for the scans under `dir` (all, or one).
    fn listing(&mut self, dir: PathBuf, only: Option<&str>, uri: &str) -> Response {
        if !dir.parent().is_some_and(|p| p.is_dir()) {
            return Response::text(404, "text/plain", "not found");
        }
        let mut rows = Vec::new();
        for file in crate::files_under(&dir) {
            let Ok(rel) = file.strip_prefix(&dir) else {
                continue;
            };
            let scan = rel
                .iter()
                .next()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if only.is_some_and(|o| o != scan) {
                continue;
            }
            let Some((size, digest)) = self.digest(&file) else {
                continue;
            };
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            rows.push(json!({
                "Name": name,
                "Size": size.to_string(),
                "URI": format!("{uri}/scans/{scan}/resources/DICOM/files/{name}"),
                "digest": digest,
                "collection": "DICOM", "cat_ID": scan, "file_format": "DICOM",
                "file_content": "RAW", "file_tags": ""
            }));
        }
        Response::text(200, "application/json", result_set(rows))
    }
}

/// StudyInstanceUID, scan folder (SeriesNumber, else the series UID's last digits) and SOP
/// Instance UID of a Part-10 file.
pub(crate) fn dicom_ids(bytes: &[u8]) -> Option<(String, String, String)> {
    let obj = dicom_object::OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .read_until(tags::PIXEL_DATA)
        .from_reader(bytes)
        .ok()?;
    let text = |t| {
        obj.element(t)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            .filter(|s| !s.is_empty())
    };
    let study = text(tags::STUDY_INSTANCE_UID)?;
    let sop = text(tags::SOP_INSTANCE_UID)?;
    let series_uid = text(tags::SERIES_INSTANCE_UID).unwrap_or_default();
    let series = obj
        .element(tags::SERIES_NUMBER)
        .ok()
        .and_then(|e| e.to_int::<i64>().ok())
        .filter(|n| *n >= 0)
        .map(|n| n.to_string())
        .unwrap_or_else(|| {
            let d: String = series_uid.chars().filter(char::is_ascii_digit).collect();
            d[d.len().saturating_sub(8)..].to_string()
        });
    if !safe(&sop) || !safe(&series) {
        return None;
    }
    Some((study, series, sop))
}
