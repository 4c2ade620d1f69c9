//! Just enough HTTP/1.1 for the test server: one request per connection (`Connection: close`),
//! `Content-Length` bodies, and the hooks fault injection needs (stop reading mid-body).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path without the query, percent-decoded.
    pub path: String,
    /// Query pairs, decoded.
    pub query: Vec<(String, String)>,
    /// Header pairs, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A query parameter.
    pub fn param(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    /// A header (name in lower case).
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    /// A cookie value.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let h = self.header("cookie")?;
        h.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Files sent after the body as a stored (uncompressed) zip, read from disk as they are
    /// written (XNAT streams its `format=zip` downloads): (entry name, file).
    pub zip: Vec<(String, std::path::PathBuf)>,
    /// A file sent after the body, read from disk as it is written (outside the server's
    /// lock: downloads are served in parallel, as XNAT does).
    pub file: Option<std::path::PathBuf>,
}

impl Response {
    /// A text response.
    pub fn text(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into().into_bytes(),
            zip: Vec::new(),
            file: None,
        }
    }
}

/// Decodes `%XX` and `+`.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads the request line and headers; the body is left to [`read_body`].
pub fn read_head(r: &mut BufReader<TcpStream>) -> std::io::Result<Request> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok(Request {
        method,
        path: decode(path),
        query,
        headers,
        body: Vec::new(),
    })
}

/// Reads the `Content-Length` body, or only its first `limit` bytes (fault injection).
pub fn read_body(
    r: &mut BufReader<TcpStream>,
    req: &mut Request,
    limit: Option<usize>,
) -> std::io::Result<bool> {
    if req
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        let mut body = Vec::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            if size == 0 {
                let mut end = String::new();
                r.read_line(&mut end)?;
                break;
            }
            if limit.is_some_and(|l| body.len() + size > l) {
                let take = limit.unwrap_or(0).saturating_sub(body.len());
                let mut part = vec![0u8; take];
                r.read_exact(&mut part)?;
                body.extend(part);
                req.body = body;
                return Ok(false);
            }
            let mut chunk = vec![0u8; size];
            r.read_exact(&mut chunk)?;
            body.extend(chunk);
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
        req.body = body;
        return Ok(true);
    }
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let want = limit.map_or(len, |l| l.min(len));
    let mut body = vec![0u8; want];
    r.read_exact(&mut body)?;
    req.body = body;
    Ok(want == len)
}

/// Writes a response, announcing that the connection closes (`Connection: close`).
pub fn write(stream: &mut TcpStream, resp: &Response) -> std::io::Result<()> {
    write_with(stream, resp, true)
}

/// Writes a response; `announce_close` adds `Connection: close` (a server that closes anyway
/// without saying so, as CTP does, passes `false`).
pub fn write_with(
    stream: &mut TcpStream,
    resp: &Response,
    announce_close: bool,
) -> std::io::Result<()> {
    let reason = match resp.status {
        200 => "OK",
        201 => "Created",
        301 => "Moved Permanently",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", resp.status);
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let zip_len = if resp.zip.is_empty() {
        0
    } else {
        crate::zipstream::length(&resp.zip)?
    };
    let mut file = match &resp.file {
        Some(p) => Some(std::fs::File::open(p)?),
        None => None,
    };
    let file_len = match &file {
        Some(f) => f.metadata()?.len(),
        None => 0,
    };
    head.push_str(&format!(
        "Content-Length: {}\r\n",
        resp.body.len() as u64 + zip_len + file_len
    ));
    if announce_close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&resp.body)?;
    if !resp.zip.is_empty() {
        crate::zipstream::write(stream, &resp.zip)?;
    }
    if let Some(f) = file.as_mut() {
        std::io::copy(f, stream)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_text() {
        assert_eq!(decode("a%20b+c%2F"), "a b c/");
        assert_eq!(decode("100%"), "100%");
    }
}
