//! The little of RFC 6455 the floor needs: the HTTP upgrade answer (with the GraphQL
//! subprotocol the client offered), server text frames, and the client's masked frames
//! (small and unfragmented: what the load generator sends).

use std::io;

use base64::Engine;
use sha1::{Digest, Sha1};

pub const OP_TEXT: u8 = 0x1;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;

/// The 101 to send back, and which GraphQL protocol the connection speaks.
pub struct Reply {
    pub response: String,
    /// `graphql-ws` (subscriptions-transport-ws) rather than `graphql-transport-ws`.
    pub legacy: bool,
}

/// Parses a complete request head at the start of `buf`: `Ok(None)` while incomplete,
/// else the bytes it took and the 101 answer. Refuses a request without a key.
pub fn upgrade(buf: &[u8]) -> io::Result<Option<(usize, Reply)>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > 16 << 10 {
            return Err(io::ErrorKind::InvalidData.into());
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let field = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    };
    let key = field("sec-websocket-key").ok_or(io::ErrorKind::InvalidData)?;
    let offered: Vec<&str> = field("sec-websocket-protocol")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let proto = ["graphql-transport-ws", "graphql-ws"]
        .into_iter()
        .find(|p| offered.contains(p));
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(h.finalize());
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    );
    if let Some(p) = proto {
        response.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    response.push_str("\r\n");
    let legacy = proto == Some("graphql-ws");
    Ok(Some((end + 4, Reply { response, legacy })))
}

/// One unmasked, final text frame carrying `parts` concatenated.
pub fn text_frame(parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 10);
    out.push(0x81);
    if len < 126 {
        out.push(len as u8);
    } else if len < 65536 {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// The first client frame in `buf`: `(opcode, unmasked payload, bytes used)`, `Ok(None)`
/// while incomplete. Client frames must be masked; payloads over 64 KiB are refused.
pub fn client_frame(buf: &[u8]) -> io::Result<Option<(u8, Vec<u8>, usize)>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    if buf[1] & 0x80 == 0 {
        return Err(io::ErrorKind::InvalidData.into());
    }
    let (len, at) = match buf[1] & 0x7f {
        127 => return Err(io::ErrorKind::InvalidData.into()),
        126 if buf.len() < 4 => return Ok(None),
        126 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        n => (n as usize, 2),
    };
    if buf.len() < at + 4 + len {
        return Ok(None);
    }
    let mask = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
    let payload = buf[at + 4..at + 4 + len]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    Ok(Some((buf[0] & 0x0f, payload, at + 4 + len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_upgrade_with_the_offered_subprotocol() {
        let req = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
            Sec-WebSocket-Protocol: graphql-ws\r\n\r\nrest";
        let (used, reply) = upgrade(req).unwrap().unwrap();
        assert_eq!(&req[used..], b"rest");
        assert!(reply.legacy);
        assert!(reply
            .response
            .contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(reply
            .response
            .contains("Sec-WebSocket-Protocol: graphql-ws\r\n"));
        assert!(upgrade(&req[..20]).unwrap().is_none());
    }

    #[test]
    fn frames_round_trip() {
        let f = text_frame(&[b"ab", &[b'c'; 200]]);
        assert_eq!(&f[..4], &[0x81, 126, 0, 202]);
        assert_eq!(f.len(), 206);
        // A masked client "hi" with mask 1,2,3,4.
        let client = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2, 0x89];
        let (op, payload, used) = client_frame(&client).unwrap().unwrap();
        assert_eq!((op, payload.as_slice(), used), (OP_TEXT, &b"hi"[..], 8));
        assert!(client_frame(&client[8..]).unwrap().is_none());
        assert!(client_frame(&[0x81, 0x02, b'h', b'i']).is_err());
    }
}
