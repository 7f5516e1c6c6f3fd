//! The HTTP/1.1 WebSocket upgrade (RFC 6455 §4.2), parsed in place: no allocation, no copies.
//!
//! Owns the server side of the opening handshake and nothing else: reading the request head,
//! deciding accept or refuse, and the bytes of the answer. It does no I/O. Called by the
//! reactor (`reactor/read.rs`) on the bytes a connection sends before it upgrades, again on
//! every read until the head is complete, and for sockets handed over from Node's
//! `http.Server` `'upgrade'` event (on the request head as Node parsed it, then `head`).
//!
//! [`parse`] reads the request head straight from the read buffer with httparse into a stack
//! array, checks it against the server's [`Policy`], computes `Sec-WebSocket-Accept` on the
//! stack, and returns an [`Upgrade`] that borrows the buffer. Header values the app asked for
//! are looked up afterwards with [`Upgrade::header`], which re-scans the borrowed head instead
//! of storing it. [`write_accept`] writes the 101 into a caller's stack array. Every refusal
//! is a [`Reject`] with a ready-made static response. Nothing here allocates or panics, on any
//! input (tests/upgrade_alloc.rs counts, fuzz/fuzz_targets/upgrade.rs hammers).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::{Digest, Sha1};

/// More headers than this → 431.
pub const MAX_HEADERS: usize = 64;

/// Longest subprotocol name [`write_accept`] can fit in its 256 bytes next to everything else.
pub const MAX_PROTOCOL_LEN: usize = 256 - HEAD_101.len() - 28 - PROTOCOL_101.len() - END_101.len();

/// Appended to the client's key before hashing (RFC 6455 §1.3).
const WS_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const HEAD_101: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
const PROTOCOL_101: &[u8] = b"\r\nSec-WebSocket-Protocol: ";
const END_101: &[u8] = b"\r\n\r\n";

/// What the server accepts. Built once per server, borrowed per call.
pub struct Policy<'p> {
    /// The request-target path must equal this; a query string (`?…`) is allowed and ignored.
    /// `*` takes every path (attached to an `http.Server` without a `path`, as `ws` does).
    pub path: &'p str,
    /// A request head longer than this is refused with 431, even while still incomplete.
    pub max_header_bytes: usize,
    /// `None` accepts any Origin; otherwise the Origin must match one (ASCII case-insensitive),
    /// and a request without one (or with several) is refused with 403.
    pub allowed_origins: Option<&'p [String]>,
    /// Chooses the subprotocol from the offered ones; `None` answers without one. A choice the
    /// client did not offer, longer than [`MAX_PROTOCOL_LEN`], or not all visible ASCII (an
    /// RFC 6455 subprotocol is a token) is dropped, as if `None`.
    pub select_protocol: fn(&Offered<'_>) -> Option<&'static str>,
}

/// The subprotocols a client offered, over every `Sec-WebSocket-Protocol` header.
pub struct Offered<'b> {
    headers: &'b [httparse::Header<'b>],
}

impl<'b> Offered<'b> {
    /// The offered tokens, in order, comma-split and trimmed of ASCII whitespace; empty ones
    /// and values that are not UTF-8 are skipped.
    pub fn iter(&self) -> impl Iterator<Item = &'b str> + '_ {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("sec-websocket-protocol"))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
            .flat_map(|v| v.split(','))
            // ASCII whitespace only (`str::trim` would also strip U+00A0 and friends, and
            // turn an offer of "\u{a0}graphql-ws" into one of "graphql-ws").
            .map(str::trim_ascii)
            .filter(|t| !t.is_empty())
    }

    /// Whether the client offered exactly this token (subprotocol names are case-sensitive).
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|t| t == name)
    }
}

/// Why an upgrade request was refused; each has a complete static HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// 404: the path is not the server's.
    NotFound,
    /// 405: not a GET.
    MethodNotAllowed,
    /// 400: malformed HTTP, or not a well-formed WebSocket upgrade.
    BadRequest,
    /// 426: missing or unsupported `Sec-WebSocket-Version`.
    UpgradeRequired,
    /// 403: Origin not on the allow-list.
    Forbidden,
    /// 431: too many headers or a head over `max_header_bytes`.
    HeadersTooLarge,
    /// 503: over `maxConnections` (chosen by the reactor, never by [`parse`]).
    ServiceUnavailable,
}

impl Reject {
    /// Every refusal, in status order (metrics keep one counter each).
    pub const ALL: [Reject; 7] = [
        Reject::BadRequest,
        Reject::Forbidden,
        Reject::NotFound,
        Reject::MethodNotAllowed,
        Reject::UpgradeRequired,
        Reject::HeadersTooLarge,
        Reject::ServiceUnavailable,
    ];

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

    /// The whole response: status line, `Connection: close`, a plain-text body that says what
    /// was wrong (tests/upgrade/responses.rs parses each one and checks its Content-Length).
    pub fn response(self) -> &'static [u8] {
        match self {
            Reject::NotFound => b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 35\r\n\r\nno WebSocket endpoint at this path\n",
            Reject::MethodNotAllowed => b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nAllow: GET\r\nContent-Type: text/plain\r\nContent-Length: 42\r\n\r\na WebSocket upgrade must be a GET request\n",
            Reject::BadRequest => b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 38\r\n\r\nnot a valid WebSocket upgrade request\n",
            Reject::UpgradeRequired => b"HTTP/1.1 426 Upgrade Required\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\nthis server speaks WebSocket version 13\n",
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
    /// The subprotocol `select_protocol` chose (and the client offered).
    pub protocol: Option<&'static str>,
    /// The header lines of the head (request line excluded), re-scanned by `header()`.
    fields: &'b [u8],
}

impl<'b> Upgrade<'b> {
    /// The first header with this name (ASCII case-insensitive), value trimmed.
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers()
            .find_map(|(n, v)| n.eq_ignore_ascii_case(name.as_bytes()).then_some(v))
    }

    /// Every header as `(name, trimmed value)`, in request order, read from the borrowed head.
    pub fn headers(&self) -> impl Iterator<Item = (&'b [u8], &'b [u8])> {
        // httparse validated these lines: each is `name:value` ending in LF or CRLF, names
        // are tokens (no colon, no whitespace), no folded lines; the last line is empty.
        let fields: &'b [u8] = self.fields;
        fields.split(|&b| b == b'\n').filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let (name, rest) = line.split_at(colon);
            Some((name, rest.get(1..).unwrap_or_default().trim_ascii()))
        })
    }
}

/// True when the comma-separated `value` has `token` (ASCII case-insensitive).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses the request head at the start of `buf`. `Ok(None)`: incomplete and not yet over
/// `max_header_bytes`, read more. Bytes after the head are left alone for the frame reader.
///
/// A head complete within the limit is judged whole, first failed check wins: httparse error
/// → 400 (too many headers → 431); method not `GET` → 405; path (before `?`) not
/// `policy.path` → 404; not HTTP/1.1 → 400; no `Upgrade: websocket` or no `Connection: upgrade`
/// token → 400; `Sec-WebSocket-Version` missing or not `13` → 426; not exactly one
/// `Sec-WebSocket-Key` of base64 for 16 bytes → 400; Origin not allowed → 403; not exactly one
/// `Host` → 400.
///
/// Anything else is judged on its first `max_header_bytes + 1` bytes alone: an httparse error
/// there is a 400 (431 for too many headers), running past the limit a 431, otherwise "read
/// more". So the answer never depends on how the bytes were split into reads, and a request
/// line such as `POST /x` is not refused before its head ends: the rest could still turn out
/// malformed (400) or too large (431). A refusal is final: more bytes never change it.
pub fn parse<'b>(buf: &'b [u8], policy: &Policy<'_>) -> Result<Option<Upgrade<'b>>, Reject> {
    let limit = policy.max_header_bytes;
    // httparse never reads past the end of a head, so one pass over the first `limit + 1`
    // bytes answers every case: a head complete within them is the same head as in `buf`,
    // and bytes beyond them (frames, or the rest of an oversized head) are never scanned.
    let first = buf.get(..limit.saturating_add(1)).unwrap_or(buf);
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(first) {
        Ok(httparse::Status::Complete(n)) if n <= limit => check(buf, n, &req, policy).map(Some),
        Err(httparse::Error::TooManyHeaders) => Err(Reject::HeadersTooLarge),
        Err(_) => Err(Reject::BadRequest),
        // Complete at `limit + 1` bytes, or still partial after them.
        Ok(_) if first.len() > limit => Err(Reject::HeadersTooLarge),
        Ok(_) => Ok(None),
    }
}

/// Judges a complete head of `header_len` bytes (within the limit) that httparse accepted.
fn check<'b>(
    buf: &'b [u8],
    header_len: usize,
    req: &httparse::Request<'_, 'b>,
    policy: &Policy<'_>,
) -> Result<Upgrade<'b>, Reject> {
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(Reject::BadRequest);
    };
    if method != "GET" {
        return Err(Reject::MethodNotAllowed);
    }
    if policy.path != "*" && target.split_once('?').map_or(target, |(p, _)| p) != policy.path {
        return Err(Reject::NotFound);
    }
    if version != 1 {
        return Err(Reject::BadRequest);
    }

    let (mut upgrade, mut connection, mut version_ok, mut versions) = (false, false, true, 0);
    let (mut key, mut keys, mut origin, mut origins, mut hosts) = (None, 0, None, 0, 0);
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(h.value, "websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= has_token(h.value, "upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            version_ok &= h.value.trim_ascii() == b"13";
            versions += 1;
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            key = Some(h.value.trim_ascii());
            keys += 1;
        } else if name.eq_ignore_ascii_case("origin") {
            origin = Some(h.value.trim_ascii());
            origins += 1;
        } else if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        }
    }
    if !upgrade || !connection {
        return Err(Reject::BadRequest);
    }
    if versions == 0 || !version_ok {
        return Err(Reject::UpgradeRequired);
    }
    let key = match key {
        Some(k) if keys == 1 && is_valid_key(k) => k,
        _ => return Err(Reject::BadRequest),
    };
    if let Some(allowed) = policy.allowed_origins {
        let matches = |o: &[u8]| allowed.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(o));
        if origins != 1 || !origin.is_some_and(matches) {
            return Err(Reject::Forbidden);
        }
    }
    // RFC 9112 §3.2: exactly one Host, else 400.
    if hosts != 1 {
        return Err(Reject::BadRequest);
    }

    let offered = Offered {
        headers: &*req.headers,
    };
    let protocol =
        (policy.select_protocol)(&offered).filter(|p| protocol_fits(p) && offered.contains(p));
    let head = buf.get(..header_len).unwrap_or_default();
    Ok(Upgrade {
        header_len,
        target,
        accept: accept_key(key),
        protocol,
        fields: header_fields(head),
    })
}

/// The header lines of a complete, httparse-validated head: after any empty lines httparse
/// skipped and after the request line.
fn header_fields(head: &[u8]) -> &[u8] {
    let start = head.iter().position(|&b| b != b'\r' && b != b'\n');
    let rest = start.and_then(|s| head.get(s..)).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\n') {
        Some(lf) => rest.get(lf + 1..).unwrap_or_default(),
        None => &[],
    }
}

/// A subprotocol the 101 can name: 1 to [`MAX_PROTOCOL_LEN`] visible ASCII characters.
fn protocol_fits(p: &str) -> bool {
    (1..=MAX_PROTOCOL_LEN).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_graphic())
}

/// A key is the base64 of exactly 16 bytes (24 characters with padding).
fn is_valid_key(key: &[u8]) -> bool {
    let mut out = [0u8; 24];
    key.len() == 24 && matches!(STANDARD.decode_slice(key, &mut out), Ok(16))
}

/// `base64(sha1(key + GUID))`, on the stack. (tungstenite's `derive_accept_key` returns a
/// `String`: one allocation per upgrade, where this path makes none.)
fn accept_key(key: &[u8]) -> [u8; 28] {
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
    // `parse` only returns a protocol that fits, but the field is public: one set by hand
    // that does not (too long, empty, control bytes) is left out rather than truncated,
    // overflowing `out`, or injecting a header. The same test as `parse`'s, so a parsed
    // `protocol` is always the one the 101 names.
    let protocol = up.protocol.filter(|p| protocol_fits(p));
    let parts: [&[u8]; 5] = [
        HEAD_101,
        &up.accept,
        if protocol.is_some() {
            PROTOCOL_101
        } else {
            b""
        },
        protocol.unwrap_or_default().as_bytes(),
        END_101,
    ];
    let mut n = 0;
    for p in parts {
        // Always fits (see MAX_PROTOCOL_LEN); a miss would write less, never panic.
        if let Some(dst) = out.get_mut(n..n + p.len()) {
            dst.copy_from_slice(p);
            n += p.len();
        }
    }
    n
}
