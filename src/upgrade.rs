//! The HTTP/1.1 WebSocket upgrade, parsed in place: no allocation, no header copies.
//!
//! Called by the reactor on the bytes a connection has sent before it upgrades (and, later,
//! by the hand-off path for sockets taken over from Node's `http.Server`). `parse` reads the
//! request head straight from the read buffer with httparse into a stack array, checks it
//! against the server's [`Policy`], computes `Sec-WebSocket-Accept` on the stack, and returns
//! an [`Upgrade`] that borrows the buffer. Header values the app asked for are looked up
//! later with [`Upgrade::header`], which re-scans the borrowed head instead of storing it.
//! Every refusal is a [`Reject`] with a ready-made static response.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::{Digest, Sha1};

/// More headers than this → 431.
pub const MAX_HEADERS: usize = 64;

/// Appended to the client's key before hashing (RFC 6455 §1.3).
const WS_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// What the server accepts. Built once per server, borrowed per call.
pub struct Policy<'p> {
    /// The request-target path must equal this; a query string is allowed and ignored.
    pub path: &'p str,
    /// A request head longer than this is refused with 431, even while still incomplete.
    pub max_header_bytes: usize,
    /// `None` accepts any Origin; otherwise the Origin must match one (ASCII case-insensitive).
    pub allowed_origins: Option<&'p [String]>,
    /// Chooses the subprotocol from the offered ones; `None` answers without one.
    pub select_protocol: fn(&Offered<'_>) -> Option<&'static str>,
}

/// The subprotocols a client offered, over every `Sec-WebSocket-Protocol` header.
pub struct Offered<'a> {
    headers: &'a [httparse::Header<'a>],
}

impl<'a> Offered<'a> {
    /// The offered tokens, in order, trimmed; values that are not UTF-8 are skipped.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("sec-websocket-protocol"))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|t| t == name)
    }
}

/// Why an upgrade request was refused; each has a complete static HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    NotFound,
    MethodNotAllowed,
    BadRequest,
    UpgradeRequired,
    Forbidden,
    HeadersTooLarge,
    ServiceUnavailable,
}

impl Reject {
    pub fn status(self) -> u16 {
        match self {
            Reject::NotFound => 404,
            Reject::MethodNotAllowed => 405,
            Reject::BadRequest => 400,
            Reject::UpgradeRequired => 426,
            Reject::Forbidden => 403,
            Reject::HeadersTooLarge => 431,
            Reject::ServiceUnavailable => 503,
        }
    }

    /// The whole response: status line, `Connection: close`, a plain-text body that says
    /// what was wrong (Content-Length is checked by a test).
    pub fn response(self) -> &'static [u8] {
        match self {
            Reject::NotFound => b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 35\r\n\r\nno WebSocket endpoint at this path\n",
            Reject::MethodNotAllowed => b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nAllow: GET\r\nContent-Type: text/plain\r\nContent-Length: 42\r\n\r\na WebSocket upgrade must be a GET request\n",
            Reject::BadRequest => b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 38\r\n\r\nnot a valid WebSocket upgrade request\n",
            Reject::UpgradeRequired => b"HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\nthis server speaks WebSocket version 13\n",
            Reject::Forbidden => b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\norigin not allowed\n",
            Reject::HeadersTooLarge => b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\nrequest headers too large\n",
            Reject::ServiceUnavailable => b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 38\r\n\r\ntoo many connections, try again later\n",
        }
    }
}

/// A complete, valid upgrade request, borrowing the read buffer.
#[derive(Debug)]
pub struct Upgrade<'b> {
    /// Bytes of the request head; `buf[header_len..]` are the client's first frame bytes.
    pub header_len: usize,
    /// The request-target as sent (path and query).
    pub target: &'b str,
    /// The `Sec-WebSocket-Accept` value.
    pub accept: [u8; 28],
    /// The subprotocol `select_protocol` chose.
    pub protocol: Option<&'static str>,
    /// The raw request head, re-scanned by `header()`.
    head: &'b [u8],
}

impl<'b> Upgrade<'b> {
    /// The first header with this name (ASCII case-insensitive), value trimmed.
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        // The head was validated by httparse; lines end in LF (optionally CRLF), and the
        // first line is the request line, which has no colon before its first space.
        self.head.split(|&b| b == b'\n').skip(1).find_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let (n, v) = (&line[..colon], &line[colon + 1..]);
            n.eq_ignore_ascii_case(name.as_bytes())
                .then(|| v.trim_ascii())
        })
    }
}

/// True when the comma-separated `value` has `token` (ASCII case-insensitive).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses the request head at the start of `buf`. `Ok(None)`: incomplete, read more.
pub fn parse<'b>(buf: &'b [u8], policy: &Policy<'_>) -> Result<Option<Upgrade<'b>>, Reject> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let header_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > policy.max_header_bytes => {
            return Err(Reject::HeadersTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Reject::HeadersTooLarge),
        Err(_) => return Err(Reject::BadRequest),
    };
    if header_len > policy.max_header_bytes {
        return Err(Reject::HeadersTooLarge);
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(Reject::BadRequest);
    };
    if method != "GET" {
        return Err(Reject::MethodNotAllowed);
    }
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    if path != policy.path {
        return Err(Reject::NotFound);
    }
    if version != 1 {
        return Err(Reject::BadRequest);
    }

    let (mut upgrade, mut connection, mut ws_version, mut host) = (false, false, None, false);
    let (mut key, mut keys, mut origin) = (None, 0, None);
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(h.value, "websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= has_token(h.value, "upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            ws_version = Some(h.value.trim_ascii());
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            key = Some(h.value.trim_ascii());
            keys += 1;
        } else if name.eq_ignore_ascii_case("origin") {
            origin = Some(h.value.trim_ascii());
        } else if name.eq_ignore_ascii_case("host") {
            host = true;
        }
    }
    if !upgrade || !connection {
        return Err(Reject::BadRequest);
    }
    if ws_version != Some(b"13".as_slice()) {
        return Err(Reject::UpgradeRequired);
    }
    let key = match key {
        Some(k) if keys == 1 && is_valid_key(k) => k,
        _ => return Err(Reject::BadRequest),
    };
    if let Some(allowed) = policy.allowed_origins {
        let ok =
            origin.is_some_and(|o| allowed.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(o)));
        if !ok {
            return Err(Reject::Forbidden);
        }
    }
    if !host {
        return Err(Reject::BadRequest);
    }

    let protocol = (policy.select_protocol)(&Offered {
        headers: req.headers,
    });
    Ok(Some(Upgrade {
        header_len,
        target,
        accept: accept_key(key),
        protocol,
        head: &buf[..header_len],
    }))
}

/// A key is the base64 of exactly 16 bytes (24 characters with padding).
fn is_valid_key(key: &[u8]) -> bool {
    let mut out = [0u8; 24];
    key.len() == 24 && matches!(STANDARD.decode_slice(key, &mut out), Ok(16))
}

/// `base64(sha1(key + GUID))`, on the stack.
pub fn accept_key(key: &[u8]) -> [u8; 28] {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(WS_GUID);
    let digest = sha.finalize();
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28 characters, so this cannot fail.
    let _ = STANDARD.encode_slice(digest, &mut out);
    out
}

/// Writes the `101 Switching Protocols` response; returns its length.
pub fn write_accept(up: &Upgrade<'_>, out: &mut [u8; 256]) -> usize {
    const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
    const PROTO: &[u8] = b"\r\nSec-WebSocket-Protocol: ";
    // A protocol name too long to fit is a server bug; leave it out rather than truncate it
    // (the client then fails the connection, as it would for no protocol).
    let room = out.len() - HEAD.len() - up.accept.len() - PROTO.len() - 4;
    let protocol = up.protocol.filter(|p| p.len() <= room);
    let mut n = 0;
    let parts: [&[u8]; 4] = [
        HEAD,
        &up.accept,
        if protocol.is_some() { PROTO } else { b"" },
        protocol.unwrap_or("").as_bytes(),
    ];
    for p in parts.into_iter().chain([b"\r\n\r\n".as_slice()]) {
        out[n..n + p.len()].copy_from_slice(p);
        n += p.len();
    }
    n
}
