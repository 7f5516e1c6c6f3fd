//! RFC 6455 frame codec, sans-IO: opcodes, header encode/decode, close payloads, unmasking.
//!
//! Owns the wire format of one frame. The reactor calls [`encode_header`] and
//! [`close_payload`] to write frames: server frames are unmasked, so one payload is built once
//! and shared by every recipient and only the header (≤ [`MAX_HEADER`] bytes) is per
//! connection; tungstenite's `FrameHeader` writes that header into the caller's array.
//! [`crate::ws::message::Reader`] calls [`decode_client_header`] and [`unmask`] on bytes the
//! reactor read from an upgraded socket. Those two stay here: the decoder refuses each RFC
//! 6455 rule as soon as the bytes that break it are in (the first two bytes, for all but one)
//! with a typed error, where tungstenite's `FrameHeader::parse` waits for the whole header,
//! mask key included, and leaves the RSV, mask and control-frame rules to its caller; and
//! tungstenite unmasks owned frames only, where the reader unmasks its caller's buffer in
//! place, a piece at a time.

use std::io::Cursor;
use tungstenite::protocol::frame::coding::{self, Control, Data};
use tungstenite::protocol::frame::FrameHeader;

use super::close::{cut_reason, CloseCode};
use super::error::ProtocolError;

/// Frame opcodes defined by RFC 6455 §5.2 (the others are reserved and fail the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpCode {
    Continuation = 0,
    Text = 1,
    Binary = 2,
    Close = 8,
    Ping = 9,
    Pong = 10,
}

impl OpCode {
    /// The opcode for the low 4 bits of a frame's first byte; `None` for reserved values.
    pub(crate) fn from_u8(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            8 => OpCode::Close,
            9 => OpCode::Ping,
            10 => OpCode::Pong,
            _ => return None,
        })
    }

    /// Close, ping and pong: at most 125 bytes of payload, never fragmented.
    pub(crate) fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

impl From<OpCode> for coding::OpCode {
    fn from(op: OpCode) -> coding::OpCode {
        match op {
            OpCode::Continuation => coding::OpCode::Data(Data::Continue),
            OpCode::Text => coding::OpCode::Data(Data::Text),
            OpCode::Binary => coding::OpCode::Data(Data::Binary),
            OpCode::Close => coding::OpCode::Control(Control::Close),
            OpCode::Ping => coding::OpCode::Control(Control::Ping),
            OpCode::Pong => coding::OpCode::Control(Control::Pong),
        }
    }
}

/// Largest server frame header: 2 + 8 bytes (servers never mask).
pub(crate) const MAX_HEADER: usize = 10;
/// Largest client frame header: 2 + 8 length bytes + 4 mask-key bytes.
pub const MAX_CLIENT_HEADER: usize = 14;
/// Largest payload of a control frame (close, ping, pong).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Writes an unmasked server frame header for a payload of `len` bytes; returns the header
/// length (2, 4 or 10). tungstenite's `FrameHeader` writes it, into the caller's array (no
/// allocation, no copy of the payload).
pub(crate) fn encode_header(
    out: &mut [u8; MAX_HEADER],
    fin: bool,
    opcode: OpCode,
    len: usize,
) -> usize {
    let header = FrameHeader {
        is_final: fin,
        opcode: opcode.into(),
        ..FrameHeader::default()
    };
    let mut w = Cursor::new(&mut out[..]);
    // An unmasked header is at most 10 bytes: writing it into `out` cannot fail.
    let _ = header.format(len as u64, &mut w);
    w.position() as usize
}

/// Length of the unmasked server header for a payload of `len` bytes (2, 4 or 10).
pub(crate) fn header_len(len: usize) -> usize {
    FrameHeader::default().len(len as u64)
}

/// Builds a close frame payload: code (big-endian) + reason cut at a UTF-8 char boundary so the
/// payload is ≤ 125 bytes. Returns its length.
pub fn close_payload(out: &mut [u8; 125], code: CloseCode, reason: &str) -> usize {
    debug_assert!(code.may_send(), "{code:?} is never sent");
    let [hi, lo] = code.get().to_be_bytes();
    out[0] = hi;
    out[1] = lo;
    let reason = cut_reason(reason);
    for (dst, src) in out[2..].iter_mut().zip(reason.as_bytes()) {
        *dst = *src;
    }
    2 + reason.len()
}

/// A decoded client frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: OpCode,
    pub(crate) mask: [u8; 4],
    /// As claimed by the peer: check it against a limit before trusting it.
    pub(crate) payload_len: u64,
    /// 6, 8 or 14.
    pub(crate) header_len: usize,
}

/// Decodes the client frame header at the start of `buf`.
///
/// `Ok(None)`: the header is incomplete (it is at most [`MAX_CLIENT_HEADER`] bytes).
/// `Err` (each a 1002): RSV bits set (no extensions are negotiated), reserved opcode,
/// fragmented or oversized control frame, unmasked frame, 64-bit length with the top bit set.
/// Each is reported as soon as the bytes that show it are present (the first two bytes show
/// all but the last).
/// Message-level rules (continuations, size limit, UTF-8) are [`crate::ws::message::Reader`]'s.
pub(crate) fn decode_client_header(buf: &[u8]) -> Result<Option<Header>, ProtocolError> {
    let (b0, b1) = match buf {
        [b0, b1, ..] => (*b0, *b1),
        _ => return Ok(None),
    };
    if b0 & 0x70 != 0 {
        return Err(ProtocolError::ReservedBits);
    }
    let opcode = OpCode::from_u8(b0 & 0x0f).ok_or(ProtocolError::ReservedOpcode)?;
    let fin = b0 & 0x80 != 0;
    let len7 = b1 & 0x7f;
    if opcode.is_control() && (!fin || usize::from(len7) > MAX_CONTROL_PAYLOAD) {
        return Err(ProtocolError::BadControlFrame);
    }
    if b1 & 0x80 == 0 {
        return Err(ProtocolError::Unmasked);
    }
    let (payload_len, key_at) = match len7 {
        126 => match buf.get(2..4) {
            Some(&[hi, lo]) => (u64::from(u16::from_be_bytes([hi, lo])), 4),
            _ => return Ok(None),
        },
        127 => match buf.get(2..10).map(<[u8; 8]>::try_from) {
            Some(Ok(bytes)) => {
                let len = u64::from_be_bytes(bytes);
                if len >> 63 != 0 {
                    return Err(ProtocolError::BadLength);
                }
                (len, 10)
            }
            _ => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    match buf.get(key_at..key_at + 4) {
        Some(&[a, b, c, d]) => Ok(Some(Header {
            fin,
            opcode,
            mask: [a, b, c, d],
            payload_len,
            header_len: key_at + 4,
        })),
        _ => Ok(None),
    }
}

/// XOR-unmask in place; `offset` = position of `data[0]` within the frame payload (for
/// unmasking a payload in pieces). Word-at-a-time: 8 bytes per step, the tail byte by byte.
pub(crate) fn unmask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let mut key = key;
    key.rotate_left(offset % 4);
    let [a, b, c, d] = key;
    let word = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    // Whole 8-byte chunks keep the key phase, so the tail starts at key[0] again.
    for (byte, k) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_bits_round_trip() {
        for bits in 0..16u8 {
            match OpCode::from_u8(bits) {
                Some(op) => assert_eq!(op as u8, bits),
                None => assert!(matches!(bits, 3..=7 | 11..=15)),
            }
        }
        assert!(OpCode::Ping.is_control() && !OpCode::Continuation.is_control());
    }

    #[test]
    fn header_incomplete_until_mask_key() {
        let full = [0x81, 0xfe, 0x01, 0x00, 1, 2, 3, 4];
        for n in 0..full.len() {
            assert_eq!(decode_client_header(&full[..n]), Ok(None), "{n} bytes");
        }
        let h = decode_client_header(&full).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.payload_len, h.header_len),
            (true, OpCode::Text, 256, 8)
        );
        assert_eq!(h.mask, [1, 2, 3, 4]);
    }

    #[test]
    fn header_errors_need_only_two_bytes() {
        let code = |b: &[u8]| decode_client_header(b).map_err(ProtocolError::close_code);
        for b0 in [0xc1, 0xa1, 0x91, 0x83, 0x8b, 0x09, 0x08] {
            assert_eq!(code(&[b0, 0x80]), Err(CloseCode::PROTOCOL_ERROR), "{b0:#x}");
        }
        assert_eq!(code(&[0x89, 0xfe]), Err(CloseCode::PROTOCOL_ERROR));
        assert_eq!(code(&[0x81, 0x00]), Err(CloseCode::PROTOCOL_ERROR));
    }

    fn reference_unmask(data: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in data.iter_mut().enumerate() {
            *b ^= key[(offset % 4 + i) % 4];
        }
    }

    #[test]
    fn unmask_matches_byte_by_byte_reference_at_every_alignment_and_offset() {
        let key = [0xa5, 0x01, 0xff, 0x5a];
        let src: Vec<u8> = (0..300u32).map(|i| (i * 31 + 7) as u8).collect();
        for start in 0..16 {
            for len in (0..64).chain([255, 256, 257, 284]) {
                for offset in [0, 1, 2, 3, 4, 5, 6, 7, 1001, usize::MAX] {
                    let mut fast = src.clone();
                    let mut slow = src.clone();
                    unmask(&mut fast[start..start + len], key, offset);
                    reference_unmask(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn unmask_in_pieces_equals_unmask_whole_and_round_trips() {
        let plain: Vec<u8> = (0..100u8).collect();
        let mut whole = plain.clone();
        unmask(&mut whole, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_ne!(whole, plain);
        for k in 0..=plain.len() {
            let mut pieces = plain.clone();
            let (a, b) = pieces.split_at_mut(k);
            unmask(a, [0x37, 0xfa, 0x21, 0x3d], 0);
            unmask(b, [0x37, 0xfa, 0x21, 0x3d], k);
            assert_eq!(pieces, whole, "split at {k}");
        }
        unmask(&mut whole, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(whole, plain);
    }

    #[test]
    fn encode_header_all_length_forms() {
        let mut out = [0u8; MAX_HEADER];
        for len in [0, 125, 126, 65535, 65536, usize::MAX] {
            let n = encode_header(&mut out, true, OpCode::Text, len);
            assert_eq!(header_len(len), n, "len {len}");
        }
        let cases: [(usize, &[u8]); 7] = [
            (0, &[0x81, 0]),
            (125, &[0x81, 125]),
            (126, &[0x81, 126, 0, 126]),
            (65535, &[0x81, 126, 0xff, 0xff]),
            (65536, &[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
            (1 << 40, &[0x81, 127, 0, 0, 1, 0, 0, 0, 0, 0]),
            (
                usize::MAX,
                &[0x81, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for (len, want) in cases {
            let n = encode_header(&mut out, true, OpCode::Text, len);
            assert_eq!(&out[..n], want, "len {len}");
        }
        let n = encode_header(&mut out, false, OpCode::Binary, 3);
        assert_eq!(&out[..n], &[0x02, 3]);
        let n = encode_header(&mut out, true, OpCode::Close, 2);
        assert_eq!(&out[..n], &[0x88, 2]);
        for (op, bits) in [
            (OpCode::Continuation, 0),
            (OpCode::Ping, 9),
            (OpCode::Pong, 10),
        ] {
            encode_header(&mut out, true, op, 0);
            assert_eq!(out[0], 0x80 | bits);
        }
    }

    #[test]
    fn close_payload_cuts_the_reason_at_a_char_boundary() {
        let mut out = [0u8; 125];
        let n = close_payload(&mut out, CloseCode::GOING_AWAY, "bye");
        assert_eq!(&out[..n], b"\x03\xe9bye");
        assert_eq!(close_payload(&mut out, CloseCode::NORMAL, ""), 2);
        // 1 + 3k bytes: 123 falls inside a '€' (bytes 121..124), so the reason stops at 121.
        let reason = format!("a{}", "€".repeat(50));
        let n = close_payload(&mut out, CloseCode::INTERNAL, &reason);
        assert_eq!(n, 2 + 121);
        assert_eq!(&out[..2], &[0x03, 0xf3]);
        assert_eq!(std::str::from_utf8(&out[2..n]).unwrap(), &reason[..121]);
        // Exactly 123 bytes fits whole; 4-byte chars cut too.
        let n = close_payload(&mut out, CloseCode::NORMAL, &"€".repeat(41));
        assert_eq!(n, 125);
        let n = close_payload(
            &mut out,
            CloseCode::NORMAL,
            &format!("ab{}", "𝄞".repeat(40)),
        );
        assert_eq!(n, 2 + 2 + 4 * 30);
        assert!(std::str::from_utf8(&out[2..n]).is_ok());
    }
}
