//! Logging set-up: the tracing subscriber of the command line ([`init`]) and a size-bounded
//! log file ([`RotatingLog`], e.g. the receiver service's `DEPOSIT_HOME/logs/receive.log`,
//! rotated to `receive.log.1` … `.N`), usable as a tracing writer beside stderr (the journal).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Installs the process's tracing subscriber: the level from `verbose`/`quiet` (or the
/// `DEPOSIT_LOG` filter), to stderr and, when given, also to `file`.
pub fn init(verbose: u8, quiet: bool, file: Option<RotatingLog>) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEPOSIT_LOG").unwrap_or_else(|_| {
        // dicom-rs warns about every odd file it meets; the reasons reach the user anyway
        let quiet_readers = if verbose >= 2 {
            ""
        } else {
            ",dicom_object=error,dicom_parser=error,dicom_encoding=error"
        };
        tracing_subscriber::EnvFilter::new(format!("{level}{quiet_readers}"))
    });
    // the HTTP client's TRACE level dumps raw request bytes, credentials included: never that
    let asks_trace = verbose >= 3
        || std::env::var("DEPOSIT_LOG").is_ok_and(|v| v.to_ascii_lowercase().contains("trace"));
    let caps: &[&str] = if asks_trace {
        &[
            "reqwest=debug",
            "hyper=debug",
            "hyper_util=debug",
            "rustls=debug",
        ]
    } else {
        &[]
    };
    let filter = caps
        .iter()
        .filter_map(|d| d.parse().ok())
        .fold(filter, |f, d| f.add_directive(d));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match file {
        None => fmt.with_writer(io::stderr).try_init(),
        Some(f) => {
            use tracing_subscriber::fmt::writer::MakeWriterExt;
            fmt.with_ansi(false)
                .with_writer(io::stderr.and(f))
                .try_init()
        }
    };
}

/// `s` with every control character shown as an escape (`\n`, `\r`, `\t`, `\x1b`, `\u{85}`)
/// and backslashes doubled: for anything that came from outside (AE titles, file names, peer
/// strings) before it reaches a log line or a terminal, so that it cannot forge lines or
/// drive the terminal.
pub fn escape(s: &str) -> String {
    escape_with(s, true)
}

/// [`escape`] without doubling backslashes: for text that may already be escaped (the log file's
/// last line of defence).
fn escape_controls(s: &str) -> String {
    escape_with(s, false)
}

fn escape_with(s: &str, backslashes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' if backslashes => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            // C1 controls, line/paragraph separators, bidi overrides and isolates
            c if c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// The log file and its bounds.
#[derive(Debug)]
pub struct RotatingLog {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    state: Mutex<Option<(File, u64)>>,
}

impl RotatingLog {
    /// Opens (appending) `path`; rotates when it grows past `max_bytes`, keeping `keep` old files.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> io::Result<Self> {
        if let Some(d) = path.parent() {
            fs::create_dir_all(d)?;
        }
        let f = open_append(path)?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(RotatingLog {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(4096),
            keep: keep.max(1),
            state: Mutex::new(Some((f, size))),
        })
    }

    fn rotate(&self) -> io::Result<(File, u64)> {
        let name = |i: usize| {
            let mut s = self.path.as_os_str().to_owned();
            s.push(format!(".{i}"));
            PathBuf::from(s)
        };
        let _ = fs::remove_file(name(self.keep));
        for i in (1..self.keep).rev() {
            let _ = fs::rename(name(i), name(i + 1));
        }
        fs::rename(&self.path, name(1))?;
        Ok((open_append(&self.path)?, 0))
    }

    fn write_line(&self, buf: &[u8]) -> io::Result<()> {
        // one event per line: control characters inside it (a file name, a peer's string that
        // was not escaped at its source) cannot forge lines or drive a terminal reading the log.
        // Backslashes are left alone, so a string escaped at its source is not escaped twice.
        let text = String::from_utf8_lossy(buf);
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let mut line = escape_controls(body);
        line.push('\n');
        let mut st = self
            .state
            .lock()
            .map_err(|_| io::Error::other("log lock poisoned"))?;
        let needs_rotation = st
            .as_ref()
            .is_none_or(|(_, size)| size + line.len() as u64 > self.max_bytes);
        if needs_rotation {
            // the file is closed before it is renamed (Windows refuses to rename an open file);
            // a log that cannot rotate keeps appending rather than losing lines
            *st = None;
            *st = Some(match self.rotate() {
                Ok(fresh) => fresh,
                Err(_) => {
                    let f = open_append(&self.path)?;
                    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                    (f, size)
                }
            });
        }
        if let Some((f, size)) = st.as_mut() {
            f.write_all(line.as_bytes())?;
            *size += line.len() as u64;
        }
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    let _ = crate::home::set_mode(path, 0o600);
    Ok(f)
}

/// A writer handed out per log event.
pub struct LogWriter<'a>(&'a RotatingLog);

impl Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_line(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RotatingLog {
    type Writer = LogWriter<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        LogWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_gets_one_line_per_event_whatever_it_carries() {
        let d = tempfile::tempdir().expect("tmp");
        let path = d.path().join("x.log");
        let log = RotatingLog::open(&path, 1 << 20, 2).expect("open");
        log.write_line(b"file a\x1b[2J\nFORGED line\n")
            .expect("write");
        log.write_line(b"next\n").expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, "file a\\x1b[2J\\nFORGED line\nnext\n");
        // a string escaped at its source keeps its escapes as they are
        log.write_line(format!("ae {}\n", escape("A\\B\x07")).as_bytes())
            .expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.ends_with("ae A\\\\B\\x07\n"), "{text}");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("CT_1"), "CT_1");
        assert_eq!(
            escape("A\x1b[31mB\nC\rD\tE\\F\0"),
            "A\\x1b[31mB\\nC\\rD\\tE\\\\F\\x00"
        );
        assert_eq!(escape("x\u{85}y\u{202e}z\x7f"), "x\\u{85}y\\u{202e}z\\x7f");
        assert_eq!(escape("Müller"), "Müller");
    }

    #[test]
    fn rotates_and_keeps_a_bounded_number_of_files() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("logs/receive.log");
        let log = RotatingLog::open(&p, 4096, 2).expect("open");
        let line = [b'x'; 1000];
        for _ in 0..20 {
            log.write_line(&line).expect("write");
        }
        assert!(fs::metadata(&p).expect("log").len() <= 4096);
        assert!(d.path().join("logs/receive.log.1").exists());
        assert!(d.path().join("logs/receive.log.2").exists());
        assert!(!d.path().join("logs/receive.log.3").exists());
    }
}
