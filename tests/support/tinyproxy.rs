//! A private Debian `tinyproxy` (package `tinyproxy-bin`) on a loopback port, as the real HTTP
//! proxy between `deposit` and the test servers: a generated configuration (listen and allow
//! 127.0.0.1 only, CONNECT allowed to the given ports, optional `BasicAuth`), run in the
//! foreground (`-d -c FILE`), its log read to see which requests went through it.
//! Missing: the tests fail when `DEPOSIT_REQUIRE_PEERS=1`, else they skip with a message.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `tinyproxy` program, if installed.
pub fn find() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
            .map(|d| d.join("tinyproxy"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("DEPOSIT_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("peer program 'tinyproxy' is required (DEPOSIT_REQUIRE_PEERS=1) but missing (Debian package tinyproxy-bin)");
        }
        eprintln!("SKIPPED: peer program 'tinyproxy' not installed (Debian package tinyproxy-bin)");
    }
    found
}

/// A running tinyproxy (stopped when dropped).
pub struct Tinyproxy {
    program: PathBuf,
    conf: PathBuf,
    log: PathBuf,
    port: u16,
    child: Option<Child>,
}

/// How to set the proxy up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Port to listen on (0: a free one).
    pub port: u16,
    /// Ports CONNECT may reach (none: CONNECT refused).
    pub connect_ports: Vec<u16>,
    /// `BasicAuth USER PASSWORD`: requests without these credentials get 407.
    pub basic_auth: Option<(String, String)>,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl Tinyproxy {
    /// Writes the configuration under `dir` and starts the proxy; returns once it accepts
    /// connections.
    pub fn start(program: &Path, dir: &Path, opts: &Options) -> Tinyproxy {
        std::fs::create_dir_all(dir).expect("proxy dir");
        let port = if opts.port == 0 {
            free_port()
        } else {
            opts.port
        };
        let log = dir.join("tinyproxy.log");
        let conf = dir.join("tinyproxy.conf");
        let mut text = format!(
            "Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 120\nMaxClients 64\n\
             LogFile \"{}\"\nLogLevel Info\nDisableViaHeader Yes\n",
            log.display()
        );
        for p in &opts.connect_ports {
            text.push_str(&format!("ConnectPort {p}\n"));
        }
        if let Some((u, p)) = &opts.basic_auth {
            text.push_str(&format!("BasicAuth {u} {p}\n"));
        }
        std::fs::write(&conf, text).expect("write tinyproxy.conf");
        let mut t = Tinyproxy {
            program: program.to_path_buf(),
            conf,
            log,
            port,
            child: None,
        };
        t.restart();
        t
    }

    /// Starts the proxy again (same port, same configuration) after [`Self::stop`].
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(&self.program)
            .args(["-d", "-c"])
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tinyproxy");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!(
                        "tinyproxy exited ({status}): {}",
                        std::fs::read_to_string(&self.log).unwrap_or_default()
                    );
                }
            }
            assert!(Instant::now() < deadline, "tinyproxy did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the proxy (connections refused from now on) and waits until the port is free.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits (at most 5 s) until the log has not grown for 200 ms: tinyproxy writes it from its
    /// worker after the request went through, so a line can lag behind the answer.
    fn settle(&self) {
        let size = || std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut last = size();
        let mut quiet_since = std::time::Instant::now();
        while std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(25));
            let now = size();
            if now != last {
                last = now;
                quiet_since = std::time::Instant::now();
            } else if quiet_since.elapsed() >= std::time::Duration::from_millis(200) {
                return;
            }
        }
    }

    /// The requests it was asked to pass on (`GET http://…`, `CONNECT host:port`, …), in order
    /// (once its log has caught up).
    pub fn requests(&self) -> Vec<String> {
        self.settle();
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once("Request (file descriptor "))
            .filter_map(|(_, rest)| rest.split_once("): ").map(|(_, r)| r.to_string()))
            .collect()
    }

    /// How many requests named `target` (e.g. `127.0.0.1:PORT`).
    pub fn requests_to(&self, target: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.contains(target))
            .count()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        self.stop();
    }
}
