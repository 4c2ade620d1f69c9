//! Raw command-line arguments as clap parses them (DESIGN.md §4 is the contract).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Configuration file (default: deposit.toml in the OS config folder).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
        /// Destination: a configured name or a URL (folder:PATH, xnat+https://…, dicom://…).
        #[arg(long, value_name = "DEST")]
        to: String,
    },
    /// Work the delivery queue: list, run, pause, resume, retry, cancel.
    Queue {
        /// What to do (default: list).
        #[arg(value_name = "ACTION")]
        action: Option<String>,
        /// Job id for retry/cancel.
        #[arg(value_name = "ID")]
        id: Option<String>,
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
        /// AE title to answer to.
        #[arg(long, value_name = "AE")]
        aet: Option<String>,
        /// TCP port.
        #[arg(long, value_name = "N")]
        port: Option<u16>,
        /// Forward de-identified studies to this destination.
        #[arg(long, value_name = "DEST")]
        forward: Option<String>,
    },
    /// Before/after tag table of one file, with the rule behind each change.
    Inspect {
        /// The DICOM file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
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
    /// Profiles: list, show NAME, check FILE, approve NAME.
    Profile {
        /// What to do (default: list).
        #[arg(value_name = "ACTION")]
        action: Option<String>,
        /// Profile name or file.
        #[arg(value_name = "NAME|FILE")]
        name: Option<String>,
    },
    /// Store the secret for a destination in the OS keyring.
    Login {
        /// Destination name or URL.
        #[arg(value_name = "DEST")]
        dest: String,
    },
}
