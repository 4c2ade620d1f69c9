//! Raw command-line arguments as clap parses them (the README's command line is the contract).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Deposit: de-identify DICOM and deliver it, resumably, to research archives.
#[derive(Debug, Parser)]
#[command(name = "deposit", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub common: Common,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args, Clone, Default)]
pub struct Common {
    /// Research study from the configuration (the only one is the default).
    #[arg(long, global = true, value_name = "NAME")]
    pub study: Option<String>,
    /// De-identification profile: a shipped name, a profile file or a CTP script.
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// Lookup table (CTP properties `ptid/ORIGINAL = PSEUDONYM` or CSV `original,pseudonym`).
    #[arg(long, global = true, value_name = "FILE")]
    pub lookup: Option<PathBuf>,
    /// Pixel-mask library (Deposit's format or a CTP DicomPixelAnonymizer script).
    #[arg(long, global = true, value_name = "FILE")]
    pub masks: Option<PathBuf>,
    /// Run the burned-in text detector (Tesseract) on every image, not only those at risk by
    /// their header: text found puts an image at risk (deid, send).
    #[arg(long, global = true)]
    pub detect_text: bool,
    /// Configuration file (default: DEPOSIT_CONFIG, else deposit.toml in the OS config folder).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// UID root for new UIDs (default: the configuration's, else 2.25).
    #[arg(long, global = true, value_name = "ROOT")]
    pub uid_root: Option<String>,
    /// What the configuration's study adds (filled in after parsing, not a flag).
    #[arg(skip)]
    pub resolved: crate::api::resolve::Resolved,
    /// Print exactly one JSON object on stdout when the command ends.
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail in the log (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress bar and no summary text (errors are still printed).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Delivery settings shared by `send` and `queue run|resume|retry`.
#[derive(Debug, Args, Clone, Default)]
pub struct Delivery {
    /// Pieces in flight at once per destination (default 2).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Bandwidth cap for uploads, e.g. 2MB/s, 500KiB/s (K/M/G = 1000s, Ki/Mi/Gi = 1024s).
    #[arg(long, value_name = "RATE", value_parser = crate::units::parse_rate)]
    pub max_rate: Option<u64>,
    /// How long to wait for an offline destination before leaving the job queued: 0, 90s, 30m,
    /// 12h, 2d, or `forever` (the default: it resumes by itself when the destination returns).
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_wait)]
    pub offline_wait: Option<crate::units::Wait>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Catalog DICOM under PATHs and summarise what was found.
    Scan {
        /// Folders or files (DICOMDIRs are followed).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Header-reading threads (default: twice the cores).
        #[arg(long, default_value_t = 0, hide = true)]
        threads: usize,
    },
    /// De-identify into DIR only (no upload).
    Deid {
        /// Folders or files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Output folder (not needed with --check).
        #[arg(long, value_name = "DIR", required_unless_present = "check")]
        out: Option<PathBuf>,
        /// Only check (e.g. list patient IDs missing from the lookup table); write nothing.
        #[arg(long)]
        check: bool,
    },
    /// De-identify, queue, deliver, commit and verify; resumable.
    Send {
        /// Folders or files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Destination: a configured name or a URL (folder:PATH, xnat+https://…, dicom://…);
        /// default: the study's destination.
        #[arg(long, value_name = "DEST")]
        to: Option<String>,
        /// Delivery settings.
        #[command(flatten)]
        delivery: Delivery,
        /// Non-DICOM file to attach (XNAT): LEVEL[:SCAN]:LABEL=PATH, LEVEL = project, subject,
        /// session or scan (e.g. session:NIFTI=brain.nii.gz, scan:3:QC=snapshot.png). Repeatable.
        #[arg(long = "resource", value_name = "SPEC")]
        resources: Vec<String>,
        /// Scan QC status to set (XNAT): SCAN=usable|questionable|unusable. Repeatable.
        #[arg(long = "scan-quality", value_name = "SCAN=STATUS")]
        scan_quality: Vec<String>,
    },
    /// Work the delivery queue: list, run, pause, resume, retry, cancel.
    Queue {
        /// What to do (default: list).
        #[arg(value_name = "ACTION")]
        action: Option<String>,
        /// Job id, or `all` (pause/resume/retry default to all; cancel needs it).
        #[arg(value_name = "ID")]
        id: Option<String>,
        /// Delivery settings (run, resume, retry).
        #[command(flatten)]
        delivery: Delivery,
    },
    /// Work the quarantine: list, show ID, release ID, discard ID.
    Quarantine {
        /// What to do (default: list).
        #[arg(value_name = "ACTION")]
        action: Option<String>,
        /// Item id.
        #[arg(value_name = "ID")]
        id: Option<String>,
        /// release: deliver the released item to this destination.
        #[arg(long, value_name = "DEST")]
        to: Option<String>,
        /// release: write the released item into this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
    },
    /// DICOM C-STORE SCP (+ C-ECHO) that catalogs, de-identifies and forwards.
    Receive {
        #[command(flatten)]
        flags: ReceiveFlags,
    },
    /// Windows services: install, uninstall, start or stop the receiver (`receive`) or the web
    /// UI (`web`) as a service that starts at boot (administrator).
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// What the archive holds (XNAT or a folder archive): sessions, scans with counts and QC
    /// status, set QC status, expected vs present.
    Archive {
        #[command(subcommand)]
        action: ArchiveAction,
    },
    /// Download a subject's sessions, one session or some of its scans from the archive into a
    /// folder: checked against the archive's listing (size, MD5), resumable (run it again).
    Fetch {
        /// Subject label.
        #[arg(value_name = "SUBJECT")]
        subject: String,
        /// Session label (default: every session of the subject).
        #[arg(value_name = "SESSION")]
        session: Option<String>,
        /// Only this scan of the session (repeatable).
        #[arg(long = "scan", value_name = "ID")]
        scans: Vec<String>,
        /// The archive: a configured destination name or URL (default: the study's).
        #[arg(long = "from", value_name = "DEST")]
        from: Option<String>,
        /// Folder to download into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Serve the web UI for headless monitoring (status, queue, quarantine) behind a password.
    Serve {
        /// Address to listen on (loopback by default: put a TLS proxy in front for remote use).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
        bind: String,
        /// TCP port (0: any free port).
        #[arg(long, value_name = "N", default_value_t = 8470)]
        port: u16,
        /// The built web UI (default: DEPOSIT_UI_DIR, the installed copy, or ./ui/dist).
        #[arg(long, value_name = "DIR")]
        ui: Option<PathBuf>,
    },
    /// Before/after tag table of one file, with the rule behind each change.
    Inspect {
        /// The DICOM file (with --sample: folders or files to sample from).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Instead: pick N instances per series at random (seeded) for review and sign-off.
        #[arg(long, value_name = "N")]
        sample: Option<u32>,
        /// Seed of the random sample (same seed, same sample).
        #[arg(long, value_name = "SEED", default_value_t = 1)]
        seed: u64,
    },
    /// Render one frame to PNG (masks applied unless --no-mask).
    Preview {
        /// The DICOM file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Output PNG.
        #[arg(long, value_name = "PNG")]
        out: PathBuf,
        /// Frame number (0-based).
        #[arg(long, value_name = "N", default_value_t = 0)]
        frame: u32,
        /// Do not apply masks.
        #[arg(long)]
        no_mask: bool,
    },
    /// Profiles: list, show NAME, check FILE, compare OLD NEW --sample PATH, approve NAME,
    /// approvals.
    Profile {
        /// What to do (default: list).
        #[arg(value_name = "ACTION")]
        action: Option<String>,
        /// Profile name or file (compare: OLD; `approved` is the study's approved profile).
        #[arg(value_name = "NAME|FILE")]
        name: Option<String>,
        /// compare: the proposed profile (NEW).
        #[arg(value_name = "NEW")]
        new: Option<String>,
        #[command(flatten)]
        check: ProfileCheck,
    },
    /// Store the secret for a destination in the OS keyring.
    Login {
        /// Destination name or URL.
        #[arg(value_name = "DEST")]
        dest: String,
    },
    /// A destination's server certificate: `fingerprint NAME` shows it (SHA-256, trusted or
    /// not); `pin NAME` shows it and, once confirmed, trusts exactly it (`pin_sha256`).
    Destination {
        /// fingerprint or pin.
        #[arg(value_name = "ACTION")]
        action: String,
        /// Destination name (fingerprint also takes a URL).
        #[arg(value_name = "NAME")]
        name: String,
        /// pin: save without asking (the fingerprint was confirmed with the administrator).
        #[arg(long)]
        yes: bool,
        /// pin: this fingerprint (as the administrator gave it) instead of the one the server
        /// presents now.
        #[arg(long, value_name = "SHA256")]
        sha256: Option<String>,
    },
    /// The HTTP proxy: show (default) the one in use and where it came from; login: store the
    /// proxy user's password in the OS keyring (read like `deposit login`).
    Proxy {
        /// show | login
        #[arg(value_name = "ACTION")]
        action: Option<String>,
    },
    /// Check that a destination answers, and say how it was reached (direct or which proxy) and
    /// with which TLS trust.
    TestConnection {
        /// Destination name or URL.
        #[arg(value_name = "DEST")]
        dest: String,
    },
    /// A readable report of what was sent (files, bytes, verification), under which approved
    /// profile, with review sign-offs and quarantine decisions, without identity: one printable
    /// HTML file, or CSV (deliveries, and the quarantine decisions beside it). `--study NAME`
    /// for one configured study.
    Report {
        /// First day (YYYY-MM-DD, local time), inclusive.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Last day (YYYY-MM-DD, local time), inclusive.
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// html (one self-contained file; print it to PDF from a browser) or csv.
        #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
        format: ReportFormat,
        /// Write here (csv: the quarantine decisions go beside it as STEM-quarantine.csv);
        /// default: standard output (csv: the two tables separated by an empty line).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Local times at this many minutes east of UTC (default: this machine's time zone).
        #[arg(long, value_name = "MINUTES", allow_hyphen_values = true)]
        utc_offset: Option<i32>,
    },
}

/// The file format of `deposit report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained, printable HTML file.
    Html,
    /// RFC 4180 CSV tables.
    Csv,
}

/// What `deposit archive` does.
#[derive(Debug, Subcommand)]
pub enum ArchiveAction {
    /// A page of the archive's sessions (listed once, then kept: --refresh lists it again).
    Sessions {
        /// The archive: a configured destination name or URL (default: the study's).
        #[arg(long = "from", value_name = "DEST")]
        from: Option<String>,
        /// Only sessions whose subject or session label contains this text.
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// Page number, from 1.
        #[arg(long, default_value_t = 1, value_name = "N")]
        page: u32,
        /// Sessions per page (at most 1000).
        #[arg(long, default_value_t = 50, value_name = "N")]
        per_page: u32,
        /// List the archive again.
        #[arg(long)]
        refresh: bool,
    },
    /// One session's scans: files, bytes, QC status.
    Scans {
        /// Subject label.
        subject: String,
        /// Session label.
        session: String,
        /// The archive (default: the study's destination).
        #[arg(long = "from", value_name = "DEST")]
        from: Option<String>,
    },
    /// Set a scan's QC status (XNAT): usable, questionable or unusable.
    Qc {
        /// Subject label.
        subject: String,
        /// Session label.
        session: String,
        /// Scan ID.
        scan: String,
        /// usable, questionable or unusable.
        status: String,
        /// The archive (default: the study's destination).
        #[arg(long = "from", value_name = "DEST")]
        from: Option<String>,
    },
    /// Expected vs present: subjects of the lookup table not in the archive yet, delivered
    /// sessions whose file counts differ from the audit records.
    Gaps {
        /// The archive (default: the study's destination).
        #[arg(long = "from", value_name = "DEST")]
        from: Option<String>,
    },
}

/// Which service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceKind {
    /// `deposit receive` (the DICOM receiver).
    Receive,
    /// `deposit serve` (the web UI).
    Web,
}

/// What `deposit service` does.
#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Register the service (starts at boot, as LocalSystem): `deposit service install receive
    /// -- --aet DEPOSIT --port 104` (after `--`: the command's own arguments).
    Install {
        /// receive or web.
        which: ServiceKind,
        /// The service's data home (default: %ProgramData%\Deposit; its deposit.toml there is
        /// the service's configuration).
        #[arg(long, value_name = "DIR")]
        home: Option<PathBuf>,
        /// Arguments of `deposit receive` / `deposit serve`.
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// Stop and remove the service (its data home stays).
    Uninstall {
        /// receive or web.
        which: ServiceKind,
    },
    /// Start the service now.
    Start {
        /// receive or web.
        which: ServiceKind,
    },
    /// Stop the service (a receiver lets associations in flight finish).
    Stop {
        /// receive or web.
        which: ServiceKind,
    },
    /// What the service manager runs (not for people).
    #[command(hide = true)]
    Run {
        /// receive or web.
        which: ServiceKind,
        /// The service's data home.
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
        /// Arguments of the command.
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<String>,
    },
}

/// The flags of `deposit receive` (also what a receiver service is installed with).
#[derive(Debug, Args)]
pub struct ReceiveFlags {
    /// AE title to answer to.
    #[arg(long, value_name = "AE")]
    pub aet: Option<String>,
    /// TCP port.
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Forward de-identified studies to this destination.
    #[arg(long, value_name = "DEST")]
    pub forward: Option<String>,
    /// Seconds without a new instance before a study is forwarded.
    #[arg(long, value_name = "SECS", value_parser = crate::units::parse_seconds)]
    pub quiet_period: Option<u64>,
    /// Only accept associations from this calling AE title (repeat for more).
    #[arg(long = "allow-ae", value_name = "AE")]
    pub allow_ae: Vec<String>,
    /// Associations served at once (more are rejected, to be retried by the sender) [default: 16].
    #[arg(long, value_name = "N")]
    pub max_associations: Option<usize>,
    /// Associations one calling AE title may hold at once [default: 8].
    #[arg(long, value_name = "N")]
    pub max_per_ae: Option<usize>,
    /// Connections not yet negotiated at once (more wait until one ends) [default: 4].
    #[arg(long, value_name = "N")]
    pub max_pending: Option<usize>,
    /// Seconds from connection to a complete association request, then it is cut [default: 10].
    #[arg(long, value_name = "SECS", value_parser = crate::units::parse_seconds)]
    pub setup_timeout: Option<u64>,
    /// Seconds for each C-STORE and its data set, plus 1 s per 16 KiB received [default: 60].
    #[arg(long, value_name = "SECS", value_parser = crate::units::parse_seconds)]
    pub data_set_timeout: Option<u64>,
    /// Address to listen on (all interfaces by default: scanners and PACS are on the network).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Seconds between attempts to resume deliveries waiting for the destination.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60,
        value_parser = crate::units::parse_seconds,
        hide = true
    )]
    pub resume_every: u64,
}

/// The profile change check (`profile compare`) and the approval with its linkage check.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProfileCheck {
    /// compare, approve: sample DICOM files or folders to run both profiles on (in memory).
    #[arg(long, value_name = "PATH")]
    pub sample: Vec<PathBuf>,
    /// compare, approve: at most N files per series of the sample (a deterministic pick).
    #[arg(long, value_name = "N")]
    pub per_series: Option<u32>,
    /// compare, approve: seed of the per-series pick (default 0).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// compare: NEW's UID root (default: the one in force).
    #[arg(long, value_name = "ROOT")]
    pub new_uid_root: Option<String>,
    /// compare: NEW's lookup table (default: the one in force).
    #[arg(long, value_name = "FILE")]
    pub new_lookup: Option<PathBuf>,
    /// compare: NEW's pixel-mask library (default: the one in force).
    #[arg(long, value_name = "FILE")]
    pub new_masks: Option<PathBuf>,
    /// compare: NEW's site key file (32 bytes, as site.key; default: this data home's).
    #[arg(long, value_name = "FILE")]
    pub new_site_key: Option<PathBuf>,
    /// approve: who approves (recorded with the approval).
    #[arg(long, value_name = "NAME")]
    pub approver: Option<String>,
    /// approve: accept a change that breaks linkage with delivered studies, for this reason
    /// (recorded with the approval).
    #[arg(long, value_name = "REASON")]
    pub ack_linkage_break: Option<String>,
}
