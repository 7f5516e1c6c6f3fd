//! What the frame tests share: client frames built by hand (masked with a chosen key), the
//! messages a reader delivers as owned values, and feeding a reader as a reactor does.

pub use subwire::ws::frame::close_payload;
pub use subwire::ws::message::{Message, Progress, Reader};
pub use subwire::ws::CloseCode as close;
pub use subwire::ws::ProtocolError;

pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
pub const MAX: usize = 1 << 20;

/// A client frame: first byte as given (FIN/RSV/opcode), masked with `key` unless `None`.
pub fn raw(b0: u8, payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match key {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

pub fn frame(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
    raw(u8::from(fin) << 7 | op, payload, Some(KEY))
}

pub fn text(s: &str) -> Vec<u8> {
    frame(true, 1, s.as_bytes())
}

pub fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    frame(true, 8, &p)
}

pub fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Owned {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
}

pub fn own(m: Message<'_>) -> Owned {
    match m {
        Message::Text(s) => Owned::Text(s.to_owned()),
        Message::Binary(b) => Owned::Binary(b.to_vec()),
        Message::Ping(b) => Owned::Ping(b.to_vec()),
        Message::Pong(b) => Owned::Pong(b.to_vec()),
        Message::Close(c, r) => Owned::Close(c.map(u16::from), r.to_owned()),
    }
}

/// One feed of `bytes` with a fresh reader; every message is accepted. A failure is told by
/// the close code it brings.
pub fn feed_all(bytes: &[u8], max: usize) -> (Vec<Owned>, Result<Progress, close>) {
    feed_with(&mut Reader::default(), bytes, max)
}

pub fn feed_with(
    r: &mut Reader,
    bytes: &[u8],
    max: usize,
) -> (Vec<Owned>, Result<Progress, close>) {
    let mut buf = bytes.to_vec();
    let mut got = Vec::new();
    let res = r.feed(&mut buf, max, &mut |m| {
        got.push(own(m));
        true
    });
    (got, res.map_err(ProtocolError::close_code))
}

/// Feeds `bytes`; asserts it fails with `code` (the whole input is available).
pub fn fails(bytes: &[u8], code: close) -> Vec<Owned> {
    let (got, res) = feed_all(bytes, MAX);
    assert_eq!(res, Err(code), "messages before failing: {got:?}");
    got
}

pub fn done(n: usize) -> Result<Progress, close> {
    Ok(Progress {
        consumed: n,
        need: 0,
    })
}
