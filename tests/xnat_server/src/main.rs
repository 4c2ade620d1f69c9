//! Runs the XNAT-compatible test server by hand: `deposit-xnat-server ROOT [PORT]` with user
//! `alice`/`wonderland` writing to project `TRIAL` (auto-archive, CSRF on).

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().unwrap_or_else(|| "xnat-root".into()));
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let server =
        deposit_xnat_server::Server::start_on(&root, deposit_xnat_server::Config::default(), port)?;
    println!("{}", server.url());
    loop {
        std::thread::park();
    }
}
