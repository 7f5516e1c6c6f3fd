//! The client side of the RFC 6455 opening handshake, sans-IO: a `Sec-WebSocket-Key`, the
//! HTTP/1.1 upgrade request, and the check of the server's answer (101, `Upgrade`,
//! `Connection`, `Sec-WebSocket-Accept`, the chosen subprotocol).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use super::frame::Rng;

/// The GUID RFC 6455 §1.3 appends to the key before hashing.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// A response head longer than this is refused (servers send ~150 bytes).
pub const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes (always 24 ASCII bytes).
pub fn new_key(rng: &mut Rng) -> [u8; 24] {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&rng.next_u64().to_ne_bytes());
    raw[8..].copy_from_slice(&rng.next_u64().to_ne_bytes());
    let mut out = [0u8; 24];
    // 16 bytes always encode to exactly 24 characters, so this cannot fail.
    let n = B64.encode_slice(raw, &mut out).unwrap_or(0);
    debug_assert_eq!(n, 24);
    out
}

/// The `Sec-WebSocket-Accept` value a correct server answers to `key` (always 28 bytes).
pub fn accept_for(key: &[u8]) -> [u8; 28] {
    let mut h = Sha1::new();
    h.update(key);
    h.update(GUID);
    let digest = h.finalize();
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28 characters.
    let n = B64.encode_slice(digest, &mut out).unwrap_or(0);
    debug_assert_eq!(n, 28);
    out
}

/// Appends the HTTP/1.1 upgrade request.
pub fn write_request(
    out: &mut Vec<u8>,
    host: &str,
    path: &str,
    key: &[u8],
    protocol: Option<&str>,
) {
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    out.extend_from_slice(key);
    out.extend_from_slice(b"\r\nSec-WebSocket-Version: 13\r\n");
    if let Some(p) = protocol {
        out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
        out.extend_from_slice(p.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Why a handshake response was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum HandshakeError {
    TooLong,
    Malformed,
    Status(u16),
    NotUpgrade,
    BadAccept,
    Protocol,
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

/// Checks the server's answer. `Ok(None)`: the head is not complete yet. `Ok(Some(n))`: a
/// valid 101 whose head is `n` bytes (bytes after it are already WebSocket frames).
pub fn check_response(
    buf: &[u8],
    accept: &[u8; 28],
    protocol: Option<&str>,
) -> Result<Option<usize>, HandshakeError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_RESPONSE_HEAD {
            Err(HandshakeError::TooLong)
        } else {
            Ok(None)
        };
    };
    if end > MAX_RESPONSE_HEAD {
        return Err(HandshakeError::TooLong);
    }
    let mut lines = buf[..end]
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().ok_or(HandshakeError::Malformed)?;
    let mut parts = status_line.split(|&b| b == b' ');
    let version = parts.next().unwrap_or_default();
    if version != b"HTTP/1.1" {
        return Err(HandshakeError::Malformed);
    }
    let code = parts
        .next()
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or(HandshakeError::Malformed)?;
    if code != 101 {
        return Err(HandshakeError::Status(code));
    }
    let (mut upgrade, mut connection, mut accept_ok) = (false, false, false);
    let mut chosen: Option<&[u8]> = None;
    for line in lines {
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HandshakeError::Malformed)?;
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"upgrade") {
            upgrade = value.eq_ignore_ascii_case(b"websocket");
        } else if name.eq_ignore_ascii_case(b"connection") {
            connection = has_token(value, b"upgrade");
        } else if name.eq_ignore_ascii_case(b"sec-websocket-accept") {
            accept_ok = value == accept.as_slice();
        } else if name.eq_ignore_ascii_case(b"sec-websocket-protocol") {
            chosen = Some(value);
        }
    }
    if !upgrade || !connection {
        return Err(HandshakeError::NotUpgrade);
    }
    if !accept_ok {
        return Err(HandshakeError::BadAccept);
    }
    if chosen != protocol.map(str::as_bytes) {
        return Err(HandshakeError::Protocol);
    }
    Ok(Some(end + 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_matches_rfc_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            &accept_for(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn keys_are_24_base64_chars_and_differ() {
        let mut rng = Rng::new(42);
        let (a, b) = (new_key(&mut rng), new_key(&mut rng));
        assert_ne!(a, b);
        assert_eq!(B64.decode(a).map(|v| v.len()), Ok(16));
    }

    fn response(accept: &str, extra: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn handshake_checks() {
        let key = b"dGhlIHNhbXBsZSBub25jZQ==";
        let acc = accept_for(key);
        let good = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
        let mut r = response(good, "");
        assert_eq!(check_response(&r, &acc, None), Ok(Some(r.len())));
        // Frames right after the head are not part of it.
        r.extend_from_slice(&[0x81, 0x01, b'x']);
        assert_eq!(check_response(&r, &acc, None), Ok(Some(r.len() - 3)));
        // Incomplete head.
        assert_eq!(check_response(&r[..20], &acc, None), Ok(None));
        assert_eq!(
            check_response(&response("AAAA", ""), &acc, None),
            Err(HandshakeError::BadAccept)
        );
        let proto = response(good, "Sec-WebSocket-Protocol: graphql-transport-ws\r\n");
        assert_eq!(
            check_response(&proto, &acc, Some("graphql-transport-ws")),
            Ok(Some(proto.len()))
        );
        assert_eq!(
            check_response(&proto, &acc, None),
            Err(HandshakeError::Protocol)
        );
        assert_eq!(
            check_response(&response(good, ""), &acc, Some("graphql-ws")),
            Err(HandshakeError::Protocol)
        );
        let denied = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            check_response(denied, &acc, None),
            Err(HandshakeError::Status(503))
        );
        let plain =
            b"HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(
            check_response(plain, &acc, None),
            Err(HandshakeError::NotUpgrade)
        );
        assert_eq!(
            check_response(&vec![b'a'; MAX_RESPONSE_HEAD + 1], &acc, None),
            Err(HandshakeError::TooLong)
        );
        assert_eq!(
            check_response(b"garbage\r\n\r\n", &acc, None),
            Err(HandshakeError::Malformed)
        );
    }

    #[test]
    fn request_has_required_headers() {
        let mut out = Vec::new();
        write_request(
            &mut out,
            "127.0.0.1:9",
            "/graphql",
            b"dGhlIHNhbXBsZSBub25jZQ==",
            Some("graphql-ws"),
        );
        let s = String::from_utf8(out).expect("ascii");
        assert!(s.starts_with("GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"));
        assert!(s.contains("\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
        assert!(s.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(s.contains("\r\nSec-WebSocket-Protocol: graphql-ws\r\n"));
        assert!(s.ends_with("\r\n\r\n"));
    }
}
