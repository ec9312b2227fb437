//! HTTP/1.1 by hand: requests written byte for byte (arbitrary
//! request-targets, duplicate JSON keys, chunked bodies: nothing a client
//! library would normalise) and messages read back with their raw bytes, so
//! the recording proxy can forward them unchanged.

use std::io::{self, BufRead, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// One HTTP message as read from the wire.
#[derive(Debug, Clone)]
pub struct Message {
    /// The start line (`POST /x HTTP/1.1`, `HTTP/1.1 200 OK`).
    pub start: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Every byte of the message as it was read (head, framing and body).
    pub raw: Vec<u8>,
}

impl Message {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The status code of a response (0 if the start line is not one).
    pub fn status(&self) -> u16 {
        self.start
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The request-target of a request.
    pub fn target(&self) -> &str {
        self.start.split_whitespace().nth(1).unwrap_or("")
    }

    /// The body as text (lossy), for messages and reports.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How the end of a message's body is found when it has neither
/// `Content-Length` nor chunked framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A request: no framing means no body.
    Request,
    /// A response: no framing means the body runs to the end of the connection.
    Response,
}

/// Reads one message; `Ok(None)` on a clean end of stream before it starts.
pub fn read_message(reader: &mut impl BufRead, kind: Kind) -> io::Result<Option<Message>> {
    let mut raw = Vec::new();
    let start = loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return if raw.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        raw.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        if !text.is_empty() {
            break text;
        }
    };
    let mut headers = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        raw.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let mut message = Message {
        start,
        headers,
        body: Vec::new(),
        raw,
    };
    let chunked = message
        .header("Transfer-Encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let length = message
        .header("Content-Length")
        .and_then(|l| l.parse::<usize>().ok());
    let status = message.status();
    let bodiless = kind == Kind::Response && (status / 100 == 1 || status == 204 || status == 304);
    if bodiless {
    } else if chunked {
        loop {
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line)?;
            message.raw.extend_from_slice(&line);
            let size_text = String::from_utf8_lossy(&line);
            let size_text = size_text.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    let mut trailer = Vec::new();
                    reader.read_until(b'\n', &mut trailer)?;
                    message.raw.extend_from_slice(&trailer);
                    if trailer.is_empty() || trailer == b"\r\n" || trailer == b"\n" {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            message.raw.extend_from_slice(&chunk);
            message.body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = length {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        message.raw.extend_from_slice(&body);
        message.body = body;
    } else if kind == Kind::Response {
        let mut body = Vec::new();
        reader.read_to_end(&mut body)?;
        message.raw.extend_from_slice(&body);
        message.body = body;
    }
    Ok(Some(message))
}

/// How a request body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`.
    Length,
    /// `Transfer-Encoding: chunked`, the body in one chunk.
    Chunked,
}

/// A request as raw bytes: `Host: docker`, `Connection: close`, and for a
/// body `Content-Type: application/json` (Docker forwards only JSON bodies
/// to authorization plugins).
pub fn request_bytes(method: &str, target: &str, body: Option<&[u8]>, framing: Framing) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n");
    match (body, framing) {
        (None, _) => {}
        (Some(body), Framing::Length) => {
            out.push_str("Content-Type: application/json\r\n");
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        (Some(_), Framing::Chunked) => {
            out.push_str("Content-Type: application/json\r\n");
            out.push_str("Transfer-Encoding: chunked\r\n");
        }
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    match (body, framing) {
        (None, _) => {}
        (Some(body), Framing::Length) => out.extend_from_slice(body),
        (Some(body), Framing::Chunked) => {
            if !body.is_empty() {
                out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
    }
    out
}

/// Sends `raw` on a fresh connection to `socket` and reads the response.
pub fn exchange(socket: &Path, raw: &[u8], timeout: Duration) -> io::Result<Message> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(raw)?;
    let mut reader = io::BufReader::new(stream);
    read_message(&mut reader, Kind::Response)?.ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_requests_round_trip_through_the_reader() {
        let raw = request_bytes("POST", "/v1.23/x", Some(br#"{"a":1}"#), Framing::Chunked);
        let message = read_message(&mut io::Cursor::new(&raw), Kind::Request)
            .unwrap()
            .unwrap();
        assert_eq!(message.body, br#"{"a":1}"#);
        assert_eq!(message.raw, raw);
        assert_eq!(message.target(), "/v1.23/x");
    }
}
