//! Adding a missing entry to a lookup table, as the quarantine's "add to the lookup table" fix
//! does from the window: the file is rewritten whole ([`crate::durable::replace`]), so a crash
//! leaves the old table or the new one, never half of either.

use std::path::Path;
use std::sync::Mutex;

use crate::deid::lookup::with_entry;
use crate::error::ApiError;

/// Held while a table is read, added to and replaced.
static WRITING: Mutex<()> = Mutex::new(());

/// Adds `missing_key` (as a quarantine record holds it: `keytype/ORIGINAL`, e.g.
/// `ptid/12345` or `dateinc/12345`) with `value` to the existing lookup table at `file`. The file
/// must read as a lookup table already (so nothing else is ever appended to), and the entry must
/// be new. Errors name the file and the key type, never the values.
pub fn add_entry(file: &Path, missing_key: &str, value: &str) -> Result<(), ApiError> {
    // read, add, replace: one at a time in this process, or two entries added at once (the
    // window and the web UI share an engine) could each rewrite the table without the other's
    let _one_at_a_time = WRITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some((kind, original)) = missing_key.split_once('/') else {
        return Err(ApiError::usage(
            "deid.lookup_bad_entry",
            "the missing key is not of the form keytype/ORIGINAL",
        ));
    };
    let text = match std::fs::read(file) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            ApiError::usage(
                "deid.lookup_encoding",
                format!(
                    "the lookup table {} is not UTF-8 text; save it as UTF-8 first",
                    file.display()
                ),
            )
        })?,
        Err(e) => {
            return Err(ApiError::permanent(
                "deid.lookup_read",
                format!("cannot read the lookup table {}: {e}", file.display()),
            ))
        }
    };
    let new = with_entry(&text, kind, original, value).map_err(|e| {
        let mut err = ApiError::from_err(&e, true);
        err.message = format!("{} ({})", err.message, file.display());
        err
    })?;
    crate::durable::replace(file, new.as_bytes()).map_err(|e| {
        ApiError::permanent(
            "deid.lookup_write",
            format!("cannot write the lookup table {}: {e}", file.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn adds_to_the_file_and_keeps_its_permissions() {
        use crate::deid::lookup::LookupTable;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("lookup.csv");
        std::fs::write(&f, "original,pseudonym\n1,S1\n").expect("write");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        add_entry(&f, "ptid/2", "S2").expect("add");
        let text = std::fs::read_to_string(&f).expect("read");
        assert_eq!(
            LookupTable::parse(&text).expect("parse").get("ptid", "2"),
            Some("S2")
        );
        let mode = std::fs::metadata(&f).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // no temporary file is left
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
        // a second time: refused, file unchanged
        let e = add_entry(&f, "ptid/2", "OTHER").expect_err("exists");
        assert_eq!(e.code, "deid.lookup_exists");
        assert!(!e.message.contains("OTHER"));
        assert_eq!(std::fs::read_to_string(&f).expect("read"), text);
    }

    #[test]
    fn refuses_missing_or_foreign_files_and_bad_keys() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("new.properties");
        assert_eq!(
            add_entry(&f, "dateinc/7", "-14").expect_err("missing").code,
            "deid.lookup_read"
        );
        // a file that is not a lookup table is never appended to
        let rc = dir.path().join("profile.sh");
        std::fs::write(&rc, "export PATH=/bin\nls -l\n").expect("write");
        assert_eq!(
            add_entry(&rc, "ptid/1", "X").expect_err("foreign").code,
            "deid.lookup_bad_line"
        );
        assert_eq!(
            std::fs::read_to_string(&rc).expect("read"),
            "export PATH=/bin\nls -l\n"
        );
        std::fs::write(&f, "").expect("empty table");
        add_entry(&f, "dateinc/7", "-14").expect("add to an empty table");
        assert_eq!(
            std::fs::read_to_string(&f).expect("read"),
            "dateinc/7 = -14\n"
        );
        assert_eq!(
            add_entry(&f, "no-slash", "X").expect_err("bad").code,
            "deid.lookup_bad_entry"
        );
        std::fs::write(&f, [0xff, 0xfe, 0x00]).expect("binary");
        assert_eq!(
            add_entry(&f, "ptid/1", "X").expect_err("binary").code,
            "deid.lookup_encoding"
        );
    }
}
