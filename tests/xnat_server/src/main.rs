//! Runs the test servers by hand or from benchmarks:
//! `deposit-xnat-server ROOT [PORT] [--ctp] [--stats FILE]` — the XNAT-compatible server (user
//! `alice`/`wonderland` writing to project `TRIAL`, auto-archive, CSRF on), or with `--ctp` the
//! CTP HttpImportService-compatible receiver (no authentication). `--stats FILE` rewrites FILE
//! every 20 ms with `{"requests","uploads","upload_bytes","dropped"}` (uploads: imports or
//! object POSTs).

fn main() -> std::io::Result<()> {
    let mut root = None;
    let mut port = 0u16;
    let mut ctp = false;
    let mut stats: Option<std::path::PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ctp" => ctp = true,
            "--stats" => stats = args.next().map(Into::into),
            _ if root.is_none() => root = Some(std::path::PathBuf::from(a)),
            _ => port = a.parse().unwrap_or(0),
        }
    }
    let root = root.unwrap_or_else(|| "xnat-root".into());
    let seen: Box<dyn Fn() -> Vec<deposit_xnat_server::Seen>> = if ctp {
        let r = deposit_xnat_server::CtpReceiver::start_on(
            &root,
            deposit_xnat_server::CtpConfig::default(),
            port,
        )?;
        println!("http://127.0.0.1:{}", r.port());
        Box::new(move || r.seen())
    } else {
        let s = deposit_xnat_server::Server::start_on(
            &root,
            deposit_xnat_server::Config::default(),
            port,
        )?;
        println!("{}", s.url());
        Box::new(move || s.seen())
    };
    loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        if let Some(path) = &stats {
            let all = seen();
            let up: Vec<_> = all
                .iter()
                .filter(|s| s.method == "POST" && (ctp || s.path.ends_with("/services/import")))
                .collect();
            let text = format!(
                "{{\"requests\":{},\"uploads\":{},\"upload_bytes\":{},\"dropped\":{}}}",
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
