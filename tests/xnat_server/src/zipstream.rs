//! A stored (uncompressed) zip written straight to a stream, one file at a time, with its
//! length known before the first byte (so the answer has a `Content-Length`): what XNAT's
//! `…/files?format=zip` download serves, without holding the archive in memory.

use std::io::{Read, Write};
use std::path::PathBuf;

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;

fn size_of(p: &PathBuf) -> std::io::Result<u32> {
    let n = std::fs::metadata(p)?.len();
    u32::try_from(n).map_err(|_| std::io::Error::other("file too large for a zip32 entry"))
}

/// The number of bytes [`write`] writes for `files`.
pub fn length(files: &[(String, PathBuf)]) -> std::io::Result<u64> {
    let mut n = 22u64;
    for (name, p) in files {
        n += 30 + 46 + 2 * name.len() as u64 + u64::from(size_of(p)?);
    }
    Ok(n)
}

fn crc_of(p: &PathBuf) -> std::io::Result<u32> {
    let mut f = std::fs::File::open(p)?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok(h.finalize());
        }
        h.update(&buf[..k]);
    }
}

/// Writes the zip: local header and bytes per file, then the central directory.
pub fn write(out: &mut dyn Write, files: &[(String, PathBuf)]) -> std::io::Result<()> {
    let mut central = Vec::new();
    let mut offset = 0u32;
    for (name, p) in files {
        let size = size_of(p)?;
        let crc = crc_of(p)?;
        let nlen = u16::try_from(name.len()).map_err(std::io::Error::other)?;
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend(LOCAL.to_le_bytes());
        h.extend(20u16.to_le_bytes()); // version needed
        h.extend(0u16.to_le_bytes()); // flags
        h.extend(0u16.to_le_bytes()); // stored
        h.extend(0u32.to_le_bytes()); // time, date
        h.extend(crc.to_le_bytes());
        h.extend(size.to_le_bytes());
        h.extend(size.to_le_bytes());
        h.extend(nlen.to_le_bytes());
        h.extend(0u16.to_le_bytes());
        h.extend(name.as_bytes());
        out.write_all(&h)?;
        let mut f = std::fs::File::open(p)?;
        std::io::copy(&mut f, out)?;
        let mut c = Vec::with_capacity(46 + name.len());
        c.extend(CENTRAL.to_le_bytes());
        c.extend(20u16.to_le_bytes()); // made by
        c.extend(20u16.to_le_bytes()); // needed
        c.extend(0u16.to_le_bytes());
        c.extend(0u16.to_le_bytes());
        c.extend(0u32.to_le_bytes());
        c.extend(crc.to_le_bytes());
        c.extend(size.to_le_bytes());
        c.extend(size.to_le_bytes());
        c.extend(nlen.to_le_bytes());
        c.extend([0u8; 6]); // extra, comment lengths, disk number
        c.extend(0u16.to_le_bytes()); // internal attributes
        c.extend(0u32.to_le_bytes()); // external attributes
        c.extend(offset.to_le_bytes());
        c.extend(name.as_bytes());
        central.extend(c);
        offset = offset
            .checked_add(30 + u32::from(nlen) + size)
            .ok_or_else(|| std::io::Error::other("zip larger than 4 GB"))?;
    }
    let count = u16::try_from(files.len()).map_err(std::io::Error::other)?;
    let clen = u32::try_from(central.len()).map_err(std::io::Error::other)?;
    out.write_all(&central)?;
    let mut e = Vec::with_capacity(22);
    e.extend(END.to_le_bytes());
    e.extend([0u8; 4]);
    e.extend(count.to_le_bytes());
    e.extend(count.to_le_bytes());
    e.extend(clen.to_le_bytes());
    e.extend(offset.to_le_bytes());
    e.extend(0u16.to_le_bytes());
    out.write_all(&e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zip_reads_back_and_has_the_announced_length() {
        let d = tempfile::tempdir().expect("tmp");
        let a = d.path().join("a");
        let b = d.path().join("b");
        std::fs::write(&a, b"hello").expect("a");
        std::fs::write(&b, vec![7u8; 70_000]).expect("b");
        let files = vec![("x/a.dcm".to_string(), a), ("x/b.dcm".to_string(), b)];
        let mut out = Vec::new();
        write(&mut out, &files).expect("write");
        assert_eq!(out.len() as u64, length(&files).expect("len"));
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(out)).expect("zip");
        let mut s = String::new();
        z.by_name("x/a.dcm")
            .expect("a")
            .read_to_string(&mut s)
            .expect("read");
        assert_eq!(s, "hello");
        assert_eq!(z.by_name("x/b.dcm").expect("b").size(), 70_000);
    }
}
