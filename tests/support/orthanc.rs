//! A real Orthanc (the Debian package, with the DICOMweb plugin) started by a test on loopback,
//! with a Lua `ReceivedInstanceFilter` that logs every instance Orthanc receives — by C-STORE or
//! STOW-RS, a re-send of an instance it already holds included — so tests can count store events.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The AE title the test Orthanc answers to.
pub const ORTHANC_AE: &str = "ORTHANC";

/// A peer program on `PATH` (or in /usr/sbin, /usr/bin). Missing: panics when
/// `DEPOSIT_REQUIRE_PEERS=1`, else prints that the test is skipped and returns `None`.
pub fn peer(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("peer program '{name}' is required (DEPOSIT_REQUIRE_PEERS=1) but missing");
        }
        eprintln!("SKIPPED: peer program '{name}' not installed");
    }
    found
}

/// A loopback port free at the moment.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// GET `url`: (status, body); (0, empty) when nothing answers.
pub fn get_bytes(url: &str) -> (u16, Vec<u8>) {
    let client = deposit::archive::http::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    client
        .request(deposit::archive::http::Method::Get, url)
        .body_limit(256 * 1024 * 1024)
        .send_bytes("GET")
        .unwrap_or((0, Vec::new()))
}

/// GET `url` answered 200 with JSON.
pub fn get_json(url: &str) -> Value {
    let (status, body) = get_bytes(url);
    assert_eq!(status, 200, "GET {url}");
    serde_json::from_slice(&body).expect("json")
}

/// An Orthanc started on loopback with its own storage, killed (and reaped) on drop.
pub struct Orthanc {
    child: Child,
    /// REST and DICOMweb port.
    pub http: u16,
    /// DICOM port.
    pub dicom: u16,
    received_log: PathBuf,
}

fn orthanc_config(dir: &Path, http: u16, dicom: u16, log: &Path) -> PathBuf {
    let db = dir.join("db");
    std::fs::create_dir_all(&db).expect("mkdir db");
    // one line per instance received, before Orthanc decides whether it holds it already
    let lua = dir.join("count-received.lua");
    let script = format!(
        "function ReceivedInstanceFilter(dicom, origin, info)\n\
         \x20 local f = io.open({log:?}, 'a')\n\
         \x20 f:write((dicom.SOPInstanceUID or '?') .. ' ' .. (origin.RequestOrigin or '?') .. '\\n')\n\
         \x20 f:close()\n\
         \x20 return true\n\
         end\n",
        log = log.display().to_string()
    );
    std::fs::write(&lua, script).expect("write lua");
    let cfg = serde_json::json!({
        "Name": "deposit-test",
        "StorageDirectory": db,
        "IndexDirectory": db,
        "HttpPort": http,
        "DicomPort": dicom,
        "DicomAet": ORTHANC_AE,
        "DicomCheckCalledAet": true,
        "RemoteAccessAllowed": false,
        "AuthenticationEnabled": false,
        "DicomAlwaysAllowEcho": false,
        "DicomAlwaysAllowStore": false,
        "DicomCheckModalityHost": true,
        "DicomModalities": {
            "deposit": ["DEPOSIT", "127.0.0.1", 11112],
            "storescu": ["STORESCU", "127.0.0.1", 11113]
        },
        "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
        "DicomWeb": {
            "Enable": true, "Root": "/dicom-web/", "EnableWado": true,
            "WadoRoot": "/wado", "Host": format!("127.0.0.1:{http}"), "Ssl": false
        },
        "LuaScripts": [lua],
        "StorageCompression": false,
        "HttpDescribeErrors": true
    });
    let path = dir.join("orthanc.json");
    std::fs::write(&path, cfg.to_string()).expect("write config");
    path
}

impl Orthanc {
    /// Starts `bin` with its storage in `dir` and waits until both ports answer.
    pub fn start(bin: &Path, dir: &Path, http: u16, dicom: u16) -> Orthanc {
        std::fs::create_dir_all(dir).expect("mkdir orthanc");
        let received_log = dir.join("received.log");
        let cfg = orthanc_config(dir, http, dicom, &received_log);
        let child = Command::new(bin)
            .arg(format!("--logdir={}", dir.display()))
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Orthanc");
        let mut o = Orthanc {
            child,
            http,
            dicom,
            received_log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = get_bytes(&format!("http://127.0.0.1:{http}/plugins"));
            if status == 200 {
                let plugins = String::from_utf8_lossy(&body).to_string();
                assert!(
                    plugins.contains("dicom-web"),
                    "plugin not loaded: {plugins}"
                );
                break;
            }
            if let Ok(Some(st)) = o.child.try_wait() {
                panic!("Orthanc exited early ({st}); see {}", dir.display());
            }
            assert!(Instant::now() < deadline, "Orthanc did not come up");
            std::thread::sleep(Duration::from_millis(200));
        }
        // the DICOM port comes up with the HTTP one, but make sure
        while std::net::TcpStream::connect(("127.0.0.1", dicom)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Orthanc DICOM port did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        o
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http)
    }

    /// Orthanc's identifiers of the instances it holds.
    pub fn instance_ids(&self) -> Vec<String> {
        get_json(&self.url("/instances"))
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// The SOP Instance UIDs it holds, sorted.
    pub fn stored_uids(&self) -> Vec<String> {
        let mut uids: Vec<String> = self
            .instance_ids()
            .iter()
            .map(|id| {
                let tags = get_json(&self.url(&format!("/instances/{id}/simplified-tags")));
                tags["SOPInstanceUID"].as_str().unwrap_or("").to_string()
            })
            .collect();
        uids.sort();
        uids
    }

    /// Downloads every stored instance into `out`; returns their SOP Instance UIDs.
    pub fn download_all(&self, out: &Path) -> Vec<String> {
        std::fs::create_dir_all(out).expect("mkdir");
        let mut uids = Vec::new();
        for id in self.instance_ids() {
            let (status, bytes) = get_bytes(&self.url(&format!("/instances/{id}/file")));
            assert_eq!(status, 200);
            std::fs::write(out.join(format!("{id}.dcm")), &bytes).expect("write");
            let tags = get_json(&self.url(&format!("/instances/{id}/simplified-tags")));
            uids.push(tags["SOPInstanceUID"].as_str().unwrap_or("").to_string());
        }
        uids.sort();
        uids
    }

    /// Every instance received so far (SOP Instance UID, in order of arrival; a re-send of an
    /// instance Orthanc already holds is there again).
    pub fn received(&self) -> Vec<String> {
        std::fs::read_to_string(&self.received_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').next())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
