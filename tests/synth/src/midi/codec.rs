//! Byte-level pieces of the hard corpus: metadata segments inserted into real JPEG and J2K
//! frames, a small PDF with page text and /Author /Title, the pixel hash the scorer compares,
//! and the byte spellings (encodings) of an identifying value.

use sha2::{Digest, Sha256};

use super::spec::Needle;

/// A JPEG marker segment: `FF code`, big-endian length (itself included), data.
fn segment(code: u8, data: &[u8]) -> Vec<u8> {
    let len = (data.len() + 2).min(0xFFFF) as u16;
    let mut s = vec![0xFF, code];
    s.extend_from_slice(&len.to_be_bytes());
    s.extend_from_slice(&data[..usize::from(len) - 2]);
    s
}

/// An EXIF APP1 payload with one IFD0 entry: Artist (0x013B, ASCII).
pub fn exif_artist(artist: &str) -> Vec<u8> {
    let mut text = artist.as_bytes().to_vec();
    text.push(0);
    let mut d = b"Exif\0\0II*\0".to_vec();
    d.extend_from_slice(&8u32.to_le_bytes()); // IFD0 right after the TIFF header
    d.extend_from_slice(&1u16.to_le_bytes()); // one entry
    d.extend_from_slice(&0x013Bu16.to_le_bytes()); // Artist
    d.extend_from_slice(&2u16.to_le_bytes()); // ASCII
    d.extend_from_slice(&(text.len() as u32).to_le_bytes());
    d.extend_from_slice(&26u32.to_le_bytes()); // value offset: 8 + 2 + 12 + 4
    d.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    d.extend_from_slice(&text);
    d
}

/// An XMP APP1 payload naming `creator` in dc:creator.
pub fn xmp_creator(creator: &str) -> Vec<u8> {
    let mut d = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    d.extend_from_slice(
        format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
             xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description \
             xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:creator>{creator}</dc:creator>\
             </rdf:Description></rdf:RDF></x:xmpmeta>"
        )
        .as_bytes(),
    );
    d
}

/// Inserts a COM segment with `comment` and APP1 segments with `app1` payloads into a JPEG
/// frame, after SOI and any APP0 (JFIF) segment. The inserted bytes are an even count, so the
/// frame's padding is unchanged. `None` if the frame does not start with SOI.
pub fn jpeg_insert(frame: &[u8], comment: &str, app1: &[Vec<u8>]) -> Option<Vec<u8>> {
    if frame.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    if frame.get(2..4)? == [0xFF, 0xE0] {
        let len = u16::from_be_bytes([*frame.get(4)?, *frame.get(5)?]);
        at = 4 + usize::from(len);
    }
    let mut ins = Vec::new();
    for a in app1 {
        ins.extend(segment(0xE1, a));
    }
    let mut text = comment.as_bytes().to_vec();
    if (ins.len() + text.len()) % 2 == 1 {
        text.push(b' ');
    }
    ins.extend(segment(0xFE, &text));
    let mut out = frame.get(..at)?.to_vec();
    out.extend(ins);
    out.extend_from_slice(frame.get(at..)?);
    Some(out)
}

/// Inserts a J2K `COM` marker segment (Latin text) after the SIZ segment of a codestream.
/// `None` if the frame is not a raw codestream (SOC, SIZ).
pub fn j2k_insert(frame: &[u8], comment: &str) -> Option<Vec<u8>> {
    if frame.get(..4)? != [0xFF, 0x4F, 0xFF, 0x51] {
        return None;
    }
    let lsiz = u16::from_be_bytes([*frame.get(4)?, *frame.get(5)?]);
    let at = 4 + usize::from(lsiz);
    let mut text = comment.as_bytes().to_vec();
    if text.len() % 2 == 1 {
        text.push(b' ');
    }
    let mut seg = vec![0xFF, 0x64];
    seg.extend_from_slice(&((text.len() + 4) as u16).to_be_bytes());
    seg.extend_from_slice(&[0x00, 0x01]);
    seg.extend(text);
    let mut out = frame.get(..at)?.to_vec();
    out.extend(seg);
    out.extend_from_slice(frame.get(at..)?);
    Some(out)
}

/// A J2K codestream without the `COM` marker segments of its main header (a sample file's own
/// "Created by …" comment): the frame a de-identifier that removes comments must give back.
/// Other frames come back unchanged.
pub fn j2k_without_comments(frame: &[u8]) -> Vec<u8> {
    if frame.get(..2) != Some(&[0xFF, 0x4F][..]) {
        return frame.to_vec();
    }
    let mut out = frame[..2].to_vec();
    let mut at = 2usize;
    while let (Some(&0xFF), Some(&marker)) = (frame.get(at), frame.get(at + 1)) {
        if marker == 0x90 {
            break; // first tile-part: the main header ends
        }
        let Some(len) = frame
            .get(at + 2..at + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return frame.to_vec();
        };
        let end = at + 2 + len;
        let Some(seg) = frame.get(at..end) else {
            return frame.to_vec();
        };
        if marker != 0x64 {
            out.extend_from_slice(seg);
        }
        at = end;
    }
    out.extend_from_slice(frame.get(at..).unwrap_or_default());
    out
}

/// The bytes of a frame up to and including its last `FF D9` (JPEG EOI, J2K EOC): padding
/// after it does not count.
pub fn trim_frame(frame: &[u8]) -> &[u8] {
    let end = frame
        .windows(2)
        .rposition(|w| w == [0xFF, 0xD9])
        .map_or(frame.len(), |i| i + 2);
    frame.get(..end).unwrap_or(frame)
}

/// SHA-256 of encapsulated frames, each trimmed by [`trim_frame`].
pub fn frames_sha256(frames: &[Vec<u8>]) -> String {
    let mut h = Sha256::new();
    for f in frames {
        h.update(trim_frame(f));
    }
    hex(&h.finalize())
}

/// SHA-256 of bytes, hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex (`None` if malformed).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 == 1 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A one-page PDF whose page shows `text` (an uncompressed content stream), with /Author and
/// /Title in its Info dictionary. ASCII only.
pub fn pdf(text: &str, author: &str, title: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 20 150 Td ({text}) Tj ET");
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 200] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        format!("<< /Author ({author}) /Title ({title}) >>"),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Latin-1 bytes of `s`, if every character fits.
pub fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// The needles for a value: UTF-8, Latin-1 (when it differs), UTF-16 LE and BE.
pub fn needles(value: &str) -> Vec<Needle> {
    let mut n = vec![Needle {
        encoding: "utf-8".into(),
        hex: hex(value.as_bytes()),
    }];
    if let Some(l) = latin1(value) {
        if l != value.as_bytes() {
            n.push(Needle {
                encoding: "latin-1".into(),
                hex: hex(&l),
            });
        }
    }
    let le: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = value.encode_utf16().flat_map(u16::to_be_bytes).collect();
    n.push(Needle {
        encoding: "utf-16le".into(),
        hex: hex(&le),
    });
    n.push(Needle {
        encoding: "utf-16be".into(),
        hex: hex(&be),
    });
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_segments_go_after_app0_and_keep_parity() {
        let frame = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46, 0xFF, 0xDB, 0xFF, 0xD9,
        ];
        let out = jpeg_insert(&frame, "abc", &[exif_artist("X")]).expect("jpeg");
        assert_eq!(&out[..8], &frame[..8]);
        assert_eq!(&out[8..10], &[0xFF, 0xE1]);
        assert_eq!(out.len() % 2, frame.len() % 2);
        assert_eq!(trim_frame(&out).len(), out.len());
        assert!(out.windows(3).any(|w| w == b"abc"));
        assert!(jpeg_insert(&[0, 1, 2], "x", &[]).is_none());
    }

    #[test]
    fn j2k_comments_of_the_main_header_are_taken_out() {
        let mut frame = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x04, 0x01, 0x02];
        let with = j2k_insert(&frame, "Created by someone").expect("insert");
        frame.extend_from_slice(&[0xFF, 0x90, 0x00, 0x0A]);
        let mut with = with;
        with.extend_from_slice(&[0xFF, 0x90, 0x00, 0x0A]);
        assert_eq!(j2k_without_comments(&with), frame);
        assert_eq!(j2k_without_comments(b"not j2k"), b"not j2k".to_vec());
    }

    #[test]
    fn j2k_comment_after_siz() {
        let mut frame = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x04, 0xAA, 0xBB];
        frame.extend([0xFF, 0x90, 0xFF, 0xD9]);
        let out = j2k_insert(&frame, "hello").expect("j2k");
        assert_eq!(&out[8..10], &[0xFF, 0x64]);
        assert_eq!(u16::from_be_bytes([out[10], out[11]]), 2 + 2 + 6);
        assert_eq!(&out[out.len() - 4..], &frame[frame.len() - 4..]);
    }

    #[test]
    fn pdf_xref_points_at_objects() {
        let p = pdf("Report for Okonkwo", "Dr A", "T");
        let s = String::from_utf8(p).expect("ascii");
        let xref: usize = s
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|t| t.parse().ok())
            .expect("startxref");
        assert!(s[xref..].starts_with("xref"));
        assert!(s.contains("/Author (Dr A)"));
    }

    #[test]
    fn needles_spell_latin1_and_utf16() {
        let n = needles("Zoë");
        let enc: Vec<&str> = n.iter().map(|n| n.encoding.as_str()).collect();
        assert_eq!(enc, ["utf-8", "latin-1", "utf-16le", "utf-16be"]);
        assert_eq!(unhex(&n[1].hex), Some(b"Zo\xeb".to_vec()));
        assert_eq!(needles("Abc").len(), 3);
    }
}
