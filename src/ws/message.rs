//! One connection's read side, sans-IO: client frames → messages.
//!
//! Owns the per-connection read state: 16 bytes, plus an assembly buffer only while a
//! fragmented message is in progress. The reactor calls [`Reader::feed`] on bytes read from an
//! upgraded socket and keeps only the unconsumed tail (an incomplete frame). Unfragmented
//! frames — the hot path — are unmasked in place and delivered straight from the caller's
//! buffer, with no copy and no allocation; only fragments are copied, into a boxed assembly
//! buffer that exists while the message is in progress. Frame-level rules are
//! [`crate::ws::frame`]'s, UTF-8 is [`crate::ws::utf8`]'s, checked as the bytes arrive: a text frame
//! whose end has not arrived yet is unmasked and validated up to where it has, so invalid
//! UTF-8 fails with 1007 as soon as it is certain. This module adds sequencing, the size
//! limit and close-frame checks.

use super::close::CloseCode;
use super::error::ProtocolError;
use super::frame::{self, OpCode};
use super::utf8;

/// A complete message or control frame from the peer, borrowed from the buffer passed to
/// [`Reader::feed`] (or from the reader's assembly buffer for a fragmented message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Complete, UTF-8 validated.
    Text(&'a str),
    Binary(&'a [u8]),
    Ping(&'a [u8]),
    Pong(&'a [u8]),
    /// The peer's close: code (`None` for an empty close payload) and reason.
    Close(Option<CloseCode>, &'a str),
}

/// The outcome of one [`Reader::feed`] call.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes at the start of the buffer that were decoded; the caller drops them.
    pub consumed: usize,
    /// Total bytes the caller should hold from `buf[consumed..]` to complete the next frame, so
    /// it can size its buffer once. 0 if unknown: the next header is incomplete (it needs at most
    /// [`frame::MAX_CLIENT_HEADER`] bytes), or `feed` stopped because the callback said so.
    pub need: usize,
}

/// Per-connection reader. 16 bytes: the assembly state exists only while a fragmented message
/// is in progress.
#[derive(Debug, Default)]
pub struct Reader {
    frag: Option<Box<Fragmented>>,
    /// Payload bytes of the incomplete text frame at the start of the caller's kept bytes that
    /// are already unmasked (in the caller's buffer, in place) and validated; 0 otherwise.
    seen: u32,
    /// UTF-8 state of the text message in progress: fragmented, or in a frame still arriving.
    /// Default (empty) whenever no text message is in progress.
    utf8: utf8::Validator,
}

/// A fragmented message being assembled.
#[derive(Debug)]
struct Fragmented {
    data: Vec<u8>,
    text: bool,
}

/// Initial capacity of an assembly buffer (bounded by `max_payload`), when the first fragment
/// is smaller.
const FRAGMENT_CAPACITY: usize = 4096;

impl Reader {
    pub fn new() -> Reader {
        Reader::default()
    }

    /// True while a fragmented message is being assembled (the connection holds a buffer).
    pub fn in_fragment(&self) -> bool {
        self.frag.is_some()
    }

    /// Decode every whole frame at the start of `buf` (client frames; unmasking IN PLACE),
    /// calling `on` for each complete message or control frame in order. Stops early when `on`
    /// returns false (the caller saw Close or wants to stop) — then `consumed` covers that frame.
    ///
    /// Returns how many bytes were consumed; the rest (an incomplete frame) the caller keeps
    /// as it is — the part of a text frame already checked is unmasked in place and this
    /// reader remembers how far — and passes again, prefixed, with more bytes.
    /// `Err(e)` = fail the connection with `e.close_code()` (messages before the bad frame
    /// have been delivered); the reader is then spent. Data messages over `max_payload` bytes
    /// fail with 1009 as soon as a header claims it, before the payload arrives; control
    /// frames are bounded at 125 bytes; invalid UTF-8 fails with 1007 as soon as the bytes
    /// that prove it are in, whether or not their frame is complete.
    pub fn feed(
        &mut self,
        buf: &mut [u8],
        max_payload: usize,
        on: &mut dyn FnMut(Message<'_>) -> bool,
    ) -> Result<Progress, ProtocolError> {
        let mut pos = 0;
        loop {
            let rest = buf.get_mut(pos..).unwrap_or_default();
            let Some(h) = frame::decode_client_header(rest)? else {
                return Ok(Progress {
                    consumed: pos,
                    need: 0,
                });
            };
            let total = self.check(&h, max_payload)?;
            let seen = self.seen as usize;
            let Some(payload) = rest.get_mut(h.header_len..total) else {
                if self.is_text(&h) {
                    let arrived = rest.get_mut(h.header_len..).unwrap_or_default();
                    self.check_arrived(arrived, &h)?;
                }
                return Ok(Progress {
                    consumed: pos,
                    need: total,
                });
            };
            self.seen = 0;
            if let Some(unseen) = payload.get_mut(seen..) {
                frame::unmask(unseen, h.mask, seen);
            }
            pos += total;
            if !self.deliver(&h, payload, seen, max_payload, on)? {
                return Ok(Progress {
                    consumed: pos,
                    need: 0,
                });
            }
        }
    }

    /// Whether the frame `h` carries text: a text frame, or a continuation of a text message.
    fn is_text(&self, h: &frame::Header) -> bool {
        match h.opcode {
            OpCode::Text => true,
            OpCode::Continuation => self.frag.as_ref().is_some_and(|f| f.text),
            _ => false,
        }
    }

    /// The payload bytes that have `arrived` of a text frame whose end has not: unmasks and
    /// validates those not seen before, so invalid UTF-8 fails now rather than at the end.
    fn check_arrived(
        &mut self,
        arrived: &mut [u8],
        h: &frame::Header,
    ) -> Result<(), ProtocolError> {
        // Past 4 GiB of one frame (a `max_payload` that large) the rest waits for the end.
        let upto = arrived.len().min(u32::MAX as usize);
        let seen = self.seen as usize;
        let Some(fresh) = arrived.get_mut(seen..upto) else {
            return Ok(());
        };
        frame::unmask(fresh, h.mask, seen);
        self.utf8
            .feed(fresh, false)
            .map_err(|_| ProtocolError::InvalidUtf8)?;
        self.seen = upto as u32;
        Ok(())
    }

    /// Validates the next piece of the text message in progress; `last`: its final bytes (a
    /// code point may not stop there), after which the state is clean for the next message.
    fn check_text(&mut self, piece: &[u8], last: bool) -> Result<(), ProtocolError> {
        let result = self.utf8.feed(piece, last);
        if last {
            self.utf8 = utf8::Validator::default();
        }
        result.map_err(|_| ProtocolError::InvalidUtf8)
    }

    /// Message-level checks that need only the header: sequencing and the size limit. Returns
    /// the whole frame's length (header + payload).
    fn check(&self, h: &frame::Header, max_payload: usize) -> Result<usize, ProtocolError> {
        let so_far = match (h.opcode, &self.frag) {
            (OpCode::Continuation, None) | (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::BadSequence)
            }
            (OpCode::Continuation, Some(f)) => f.data.len() as u64,
            _ => 0,
        };
        if !h.opcode.is_control()
            && h.payload_len.saturating_add(so_far) > u64::try_from(max_payload).unwrap_or(u64::MAX)
        {
            return Err(ProtocolError::TooBig);
        }
        usize::try_from(h.payload_len)
            .ok()
            .and_then(|len| len.checked_add(h.header_len))
            .ok_or(ProtocolError::TooBig)
    }

    /// Handles one whole, unmasked frame that passed [`Reader::check`]; its first `seen`
    /// payload bytes were validated as they arrived (text only). Returns what `on` returned
    /// (true if it was not called).
    fn deliver(
        &mut self,
        h: &frame::Header,
        payload: &[u8],
        seen: usize,
        max_payload: usize,
        on: &mut dyn FnMut(Message<'_>) -> bool,
    ) -> Result<bool, ProtocolError> {
        let unseen = payload.get(seen..).unwrap_or_default();
        match h.opcode {
            OpCode::Text if h.fin => {
                if seen > 0 {
                    self.check_text(unseen, true)?;
                }
                // The whole payload again for a frame that arrived in pieces: a &str
                // without `unsafe`; one pass for the usual frame that arrived whole.
                let text = std::str::from_utf8(payload).map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(on(Message::Text(text)))
            }
            OpCode::Binary if h.fin => Ok(on(Message::Binary(payload))),
            OpCode::Text | OpCode::Binary => {
                let text = h.opcode == OpCode::Text;
                if text {
                    self.check_text(unseen, false)?;
                }
                let cap = payload.len().max(FRAGMENT_CAPACITY).min(max_payload);
                let mut data = Vec::with_capacity(cap.max(payload.len()));
                data.extend_from_slice(payload);
                self.frag = Some(Box::new(Fragmented { data, text }));
                Ok(true)
            }
            OpCode::Continuation => {
                let f = self.frag.as_mut().ok_or(ProtocolError::BadSequence)?;
                append(&mut f.data, payload, max_payload);
                if f.text {
                    self.check_text(unseen, h.fin)?;
                }
                if !h.fin {
                    return Ok(true);
                }
                let Some(f) = self.frag.take() else {
                    return Err(ProtocolError::BadSequence); // unreachable: checked above
                };
                if f.text {
                    // Already validated piece by piece; this second pass over the whole
                    // message (fragmented text only) buys a &str without `unsafe`.
                    let text =
                        std::str::from_utf8(&f.data).map_err(|_| ProtocolError::InvalidUtf8)?;
                    Ok(on(Message::Text(text)))
                } else {
                    Ok(on(Message::Binary(&f.data)))
                }
            }
            OpCode::Close => {
                let (code, reason) = match payload {
                    [] => (None, ""),
                    [_] => return Err(ProtocolError::BadClose),
                    [hi, lo, reason @ ..] => {
                        let code = CloseCode::from_peer(u16::from_be_bytes([*hi, *lo]))
                            .ok_or(ProtocolError::BadClose)?;
                        let reason =
                            std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
                        (Some(code), reason)
                    }
                };
                Ok(on(Message::Close(code, reason)))
            }
            OpCode::Ping => Ok(on(Message::Ping(payload))),
            OpCode::Pong => Ok(on(Message::Pong(payload))),
        }
    }
}

/// Appends a fragment, growing by doubling but never past `max_payload` (which `check` has
/// already proven the result fits in), so a message near the limit does not reserve twice it.
fn append(data: &mut Vec<u8>, bytes: &[u8], max_payload: usize) {
    let want = data.len().saturating_add(bytes.len());
    if want > data.capacity() {
        let target = want
            .max(data.capacity().saturating_mul(2))
            .min(max_payload)
            .max(want);
        data.reserve_exact(target - data.len());
    }
    data.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_caps_growth_at_max_payload() {
        let mut data = Vec::with_capacity(600);
        data.extend_from_slice(&[0; 600]);
        append(&mut data, &[0; 300], 1000);
        assert_eq!((data.len(), data.capacity()), (900, 1000));
        append(&mut data, &[0; 100], 1000);
        assert_eq!((data.len(), data.capacity()), (1000, 1000));
    }

    #[test]
    fn append_doubles_below_the_cap() {
        let mut data = Vec::with_capacity(16);
        append(&mut data, &[1; 17], 1 << 20);
        assert!(data.capacity() >= 32 && data.capacity() < 64);
    }
}
