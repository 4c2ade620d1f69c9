//! Runs the test servers by hand or from benchmarks:
//! `deposit-xnat-server ROOT [PORT] [--ctp] [--stats FILE]` — the XNAT-compatible server (user
//! `alice`/`wonderland` writing to project `TRIAL`, auto-archive, CSRF on), or with `--ctp` the
//! CTP HttpImportService-compatible receiver (no authentication). `--stats FILE` rewrites FILE
//! every 20 ms with `{"requests","downloads","uploads","upload_bytes","dropped"}` (uploads:
//! imports or object POSTs; downloads: files served). `--tls-cert PEM --tls-key PEM` serves HTTPS on PORT with that certificate
//! (a TLS front to the server, which then listens on an ephemeral port). `--list-only N` adds N
//! sessions without files (three per subject) to project TRIAL's listings (a large project).

fn main() -> std::io::Result<()> {
    let mut root = None;
    let mut port = 0u16;
    let mut ctp = false;
    let mut stats: Option<std::path::PathBuf> = None;
    let mut list_only = 0usize;
    let (mut tls_cert, mut tls_key): (Option<String>, Option<String>) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ctp" => ctp = true,
            "--stats" => stats = args.next().map(Into::into),
            "--list-only" => list_only = args.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            "--tls-cert" => tls_cert = args.next(),
            "--tls-key" => tls_key = args.next(),
            _ if root.is_none() => root = Some(std::path::PathBuf::from(a)),
            _ => port = a.parse().unwrap_or(0),
        }
    }
    let root = root.unwrap_or_else(|| "xnat-root".into());
    let tls = match (tls_cert, tls_key) {
        (Some(c), Some(k)) => Some((std::fs::read_to_string(c)?, std::fs::read_to_string(k)?)),
        (None, None) => None,
        _ => {
            return Err(std::io::Error::other(
                "--tls-cert and --tls-key go together",
            ))
        }
    };
    let (port, front_port) = match tls {
        Some(_) => (0, port),
        None => (port, 0),
    };
    let mut front = None;
    let mut serve_tls = |plain: u16| -> std::io::Result<Option<u16>> {
        let Some((cert, key)) = &tls else {
            return Ok(None);
        };
        let f = deposit_xnat_server::TlsFront::start_on(front_port, plain, cert, key)?;
        let p = f.port();
        front = Some(f);
        Ok(Some(p))
    };
    let seen: Box<dyn Fn() -> Vec<deposit_xnat_server::Seen>> = if ctp {
        let r = deposit_xnat_server::CtpReceiver::start_on(
            &root,
            deposit_xnat_server::CtpConfig::default(),
            port,
        )?;
        match serve_tls(r.port())? {
            Some(p) => println!("https://127.0.0.1:{p}"),
            None => println!("http://127.0.0.1:{}", r.port()),
        }
        Box::new(move || r.seen())
    } else {
        let s = deposit_xnat_server::Server::start_on(
            &root,
            deposit_xnat_server::Config::default(),
            port,
        )?;
        if list_only > 0 {
            s.list_only("TRIAL", list_only.div_ceil(3), 3);
        }
        match serve_tls(s.port())? {
            Some(p) => println!("https://127.0.0.1:{p}"),
            None => println!("{}", s.url()),
        }
        Box::new(move || s.seen())
    };
    // the TLS front serves as long as the process runs
    let _front = front;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        if let Some(path) = &stats {
            let all = seen();
            let up: Vec<_> = all
                .iter()
                .filter(|s| s.method == "POST" && (ctp || s.path.ends_with("/services/import")))
                .collect();
            let downloads = all
                .iter()
                .filter(|s| {
                    s.method == "GET"
                        && s.status == 200
                        && s.path.contains("/resources/")
                        && !s.path.ends_with("/files")
                })
                .count();
            let text = format!(
                "{{\"requests\":{},\"downloads\":{downloads},\"uploads\":{},\"upload_bytes\":{},\"dropped\":{}}}",
                all.len(),
                up.iter().filter(|s| s.status == 200).count(),
                up.iter()
                    .filter(|s| s.status == 200)
                    .map(|s| s.bytes)
                    .sum::<usize>(),
                up.iter().filter(|s| s.status == 0).count()
            );
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, path);
            }
        }
    }
}
