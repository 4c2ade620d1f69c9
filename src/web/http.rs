//! The web server's HTTP/1.1, kept small and bounded: one request per connection, the whole
//! header block within a deadline, the body within a deadline that grows with its announced
//! length, sizes capped, `Content-Length` bodies only; every answer closes the connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Largest header block (request line and headers).
const MAX_HEAD: usize = 16 * 1024;

/// How long a client may take over its request.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// For the request line and the headers, from the connection's start.
    pub head: Duration,
    /// For the body: this much, plus [`Self::body_per_16k`] per 16 KB announced.
    pub body: Duration,
    /// Extra time per 16 KB of body (a minimum rate).
    pub body_per_16k: Duration,
    /// For writing the answer.
    pub write: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            head: Duration::from_secs(10),
            body: Duration::from_secs(10),
            body_per_16k: Duration::from_secs(1),
            write: Duration::from_secs(30),
        }
    }
}

/// One parsed request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, as sent (not percent-decoded).
    pub path: String,
    /// What followed `?`, or empty.
    pub query: String,
    /// Header names (lower-case) and values.
    pub headers: Vec<(String, String)>,
    /// The body (empty when none was announced).
    pub body: Vec<u8>,
    /// Who sent it.
    pub peer: SocketAddr,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers (Content-Length and Connection are added).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// An answer with `body`.
    pub fn new(status: u16, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Why a request could not be read; each maps to the status answered (if any).
#[derive(Debug)]
pub enum ReadError {
    /// The client took too long (408).
    Timeout,
    /// The connection ended or failed (no answer).
    Closed,
    /// Not HTTP/1.x as this server reads it (400).
    Malformed,
    /// The header block is too large (431).
    HeadTooLarge,
    /// The announced body is too large (413).
    BodyTooLarge,
    /// A body without `Content-Length` (411/501).
    NoLength,
}

impl ReadError {
    /// The status to answer, if the client should get one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ReadError::Timeout => Some(408),
            ReadError::Closed => None,
            ReadError::Malformed => Some(400),
            ReadError::HeadTooLarge => Some(431),
            ReadError::BodyTooLarge => Some(413),
            ReadError::NoLength => Some(411),
        }
    }
}

/// Reads from `s` into `buf` until `deadline`, at most `max` bytes in all; returns how many.
fn read_some(s: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> Result<usize, ReadError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ReadError::Timeout);
    }
    s.set_read_timeout(Some(left))
        .map_err(|_| ReadError::Closed)?;
    match s.read(buf) {
        Ok(0) => Err(ReadError::Closed),
        Ok(n) => Ok(n),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(ReadError::Timeout)
        }
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(0),
        Err(_) => Err(ReadError::Closed),
    }
}

/// Reads one request from `s`, the connection having started at `start`.
pub fn read_request(
    s: &mut TcpStream,
    peer: SocketAddr,
    start: Instant,
    limits: &Deadlines,
    max_body: usize,
) -> Result<Request, ReadError> {
    let head_deadline = start + limits.head;
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::HeadTooLarge);
        }
        let n = read_some(s, &mut chunk, head_deadline)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD {
        return Err(ReadError::HeadTooLarge);
    }
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| ReadError::Malformed)?;
    let mut lines = head.split("\r\n");
    let first = lines.next().ok_or(ReadError::Malformed)?;
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed);
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Err(ReadError::Malformed);
    }
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line.split_once(':').ok_or(ReadError::Malformed)?;
        if k.is_empty() || k.contains(' ') {
            return Err(ReadError::Malformed);
        }
        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
        peer,
    };
    if req.header("transfer-encoding").is_some() {
        return Err(ReadError::NoLength);
    }
    let lengths: Vec<&str> = req.headers_named("content-length").collect();
    let length = match lengths.as_slice() {
        [] => 0,
        [one] => one.parse::<usize>().map_err(|_| ReadError::Malformed)?,
        _ => return Err(ReadError::Malformed),
    };
    if length > max_body {
        return Err(ReadError::BodyTooLarge);
    }
    if length > 0
        && req
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        let _ = s.set_write_timeout(Some(limits.write));
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| ReadError::Closed)?;
    }
    let body_deadline = Instant::now()
        + limits.body
        + limits.body_per_16k * u32::try_from(length / (16 * 1024)).unwrap_or(u32::MAX);
    let mut body = buf.split_off(head_end + 4);
    body.truncate(length);
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        let n = read_some(s, &mut chunk[..want], body_deadline)?;
        body.extend_from_slice(&chunk[..n]);
    }
    req.body = body;
    Ok(req)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        421 => "Misdirected Request",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn encode(r: &Response, head_only: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (k, v) in &r.headers {
        // names and values are this server's own; a line break would split the answer
        if k.contains(['\r', '\n']) || v.contains(['\r', '\n']) {
            continue;
        }
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        r.body.len()
    ));
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&r.body);
    }
    bytes
}

/// Writes a short answer without waiting (on a non-blocking socket: what fits is sent) and
/// closes the connection.
pub fn write_busy(s: &mut TcpStream, r: &Response) {
    let _ = s.write(&encode(r, false));
    let _ = s.shutdown(std::net::Shutdown::Write);
    // what the client already sent is read off (without waiting), so the close is not a reset
    let mut sink = [0u8; 4096];
    for _ in 0..4 {
        match s.read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
}

/// Writes `r` (without its body when `head_only`) and closes the connection.
pub fn write_response(s: &mut TcpStream, r: &Response, head_only: bool, limits: &Deadlines) {
    let _ = s.set_write_timeout(Some(limits.write));
    let bytes = encode(r, head_only);
    let _ = s.write_all(&bytes);
    let _ = s.flush();
    let _ = s.shutdown(std::net::Shutdown::Write);
    // let the client read the answer before the socket closes (a close with unread input
    // resets the connection): drain briefly
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 1024];
    let until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < until {
        match s.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream, SocketAddr) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let c = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let (s, peer) = l.accept().expect("accept");
        (c, s, peer)
    }

    #[test]
    fn reads_a_post_with_its_body() {
        let (mut c, mut s, peer) = pair();
        c.write_all(b"POST /api/x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd")
            .expect("write");
        let r = read_request(&mut s, peer, Instant::now(), &Deadlines::default(), 100)
            .expect("request");
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/x"));
        assert_eq!(r.query, "a=1");
        assert_eq!(r.header("HOST"), Some("h"));
        assert_eq!(r.body, b"abcd");
    }

    #[test]
    fn a_body_that_never_comes_times_out() {
        let (mut c, mut s, peer) = pair();
        c.write_all(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")
            .expect("write");
        let limits = Deadlines {
            body: Duration::from_millis(300),
            ..Deadlines::default()
        };
        let t = Instant::now();
        let r = read_request(&mut s, peer, Instant::now(), &limits, 100);
        assert!(matches!(r, Err(ReadError::Timeout)), "{r:?}");
        assert!(t.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn refuses_large_and_chunked_and_garbage() {
        for (raw, want) in [
            (&b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"[..], 413),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                411,
            ),
            (b"GARBAGE\r\n\r\n", 400),
            (
                b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                400,
            ),
        ] {
            let (mut c, mut s, peer) = pair();
            c.write_all(raw).expect("write");
            let r = read_request(&mut s, peer, Instant::now(), &Deadlines::default(), 100);
            assert_eq!(r.err().and_then(|e| e.status()), Some(want));
        }
    }
}
