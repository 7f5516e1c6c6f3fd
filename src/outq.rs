//! A connection's outbound queue: frames waiting for the socket, flushed with `writev`.
//!
//! Called by the reactor that owns the connection. A frame is a small inline head (the
//! WebSocket header, different per connection only in length encoding), an optional shared
//! prefix (a subscriber's `{"id":…,"type":"next","payload":`, built once per subscription),
//! a shared [`Bytes`] payload and a static tail: one encoded payload fans out to every
//! recipient without a copy, each framed with its own id.
//! Queues come from and return to the reactor's [`crate::pool::Pool`], so a connection with
//! nothing to send holds no queue.

use bytes::Bytes;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use crate::frame::{self, OpCode};

/// How many slices one `writev` carries at most (up to four per frame): the kernel's
/// `IOV_MAX`, so a burst of 20 events × 5 subscriptions to one connection is one syscall.
const MAX_SLICES: usize = 1024;

/// One queued frame: `head`, `prefix`, `payload`, `tail`, written in that order.
pub struct Frame {
    head: [u8; frame::MAX_HEADER],
    head_len: u8,
    prefix: Bytes,
    payload: Bytes,
    tail: &'static [u8],
}

impl Frame {
    /// A WebSocket frame with a shared payload.
    pub fn ws(opcode: OpCode, payload: Bytes) -> Frame {
        Frame::parts(opcode, Bytes::new(), payload, b"")
    }

    /// A WebSocket frame whose message is `prefix` + `payload` + `tail`; neither shared
    /// part is copied.
    pub fn parts(opcode: OpCode, prefix: Bytes, payload: Bytes, tail: &'static [u8]) -> Frame {
        let mut head = [0u8; frame::MAX_HEADER];
        let len = prefix.len() + payload.len() + tail.len();
        let head_len = frame::encode_header(&mut head, true, opcode, len) as u8;
        Frame {
            head,
            head_len,
            prefix,
            payload,
            tail,
        }
    }

    /// Raw bytes with no WebSocket header (an HTTP response).
    pub fn raw(bytes: Bytes) -> Frame {
        Frame {
            head: [0; frame::MAX_HEADER],
            head_len: 0,
            prefix: Bytes::new(),
            payload: bytes,
            tail: b"",
        }
    }

    fn len(&self) -> usize {
        self.head_len as usize + self.prefix.len() + self.payload.len() + self.tail.len()
    }
}

#[derive(Default)]
pub struct OutQueue {
    frames: VecDeque<Frame>,
    /// Bytes of the front frame already written.
    front_sent: usize,
    /// Bytes queued and not yet written.
    bytes: usize,
}

/// What a flush achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum Flushed {
    /// Everything was written.
    All(usize),
    /// The socket is full; wait for writability.
    Blocked(usize),
}

impl OutQueue {
    pub fn push(&mut self, frame: Frame) {
        self.bytes += frame.len();
        self.frames.push_back(frame);
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Bytes waiting for the socket.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Frames waiting (including a partly written one).
    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// Writes as much as the socket takes, `MAX_SLICES` slices per syscall. A few frames
    /// go through a small array on the stack; a long queue through one slice list per
    /// syscall (never a 16 KiB array cleared for one frame).
    pub fn flush(&mut self, w: &mut impl Write) -> io::Result<Flushed> {
        const FEW: usize = 16;
        let mut total = 0;
        while !self.frames.is_empty() {
            let result = if self.frames.len() * 4 <= FEW {
                let mut slices = [IoSlice::new(&[]); FEW];
                let n = self.gather(&mut slices);
                w.write_vectored(&slices[..n])
            } else {
                let want = (self.frames.len() * 4).min(MAX_SLICES);
                let mut slices = vec![IoSlice::new(&[]); want];
                let n = self.gather(&mut slices);
                w.write_vectored(&slices[..n])
            };
            let written = match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Flushed::Blocked(total))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += written;
            self.advance(written);
        }
        Ok(Flushed::All(total))
    }

    /// Fills `slices` with the unwritten parts of whole frames, from the front; returns how
    /// many it used.
    fn gather<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        let mut skip = self.front_sent;
        for f in &self.frames {
            let parts = [
                &f.head[..f.head_len as usize],
                &f.prefix[..],
                &f.payload[..],
                f.tail,
            ];
            if n + parts.iter().filter(|p| !p.is_empty()).count() > slices.len() {
                break;
            }
            for part in parts {
                if part.is_empty() {
                    continue;
                }
                if skip >= part.len() {
                    skip -= part.len();
                    continue;
                }
                slices[n] = IoSlice::new(&part[skip..]);
                skip = 0;
                n += 1;
            }
        }
        n
    }

    fn advance(&mut self, mut n: usize) {
        self.bytes -= n;
        while n > 0 {
            let Some(front) = self.frames.front() else {
                return;
            };
            let left = front.len() - self.front_sent;
            if n < left {
                self.front_sent += n;
                return;
            }
            n -= left;
            self.front_sent = 0;
            self.frames.pop_front();
        }
    }

    /// Drops every frame not yet started (a partly written front frame stays, so the
    /// stream remains well-formed); returns the bytes dropped.
    pub fn drop_unsent(&mut self) -> usize {
        let keep = usize::from(self.front_sent > 0).min(self.frames.len());
        let dropped: usize = self.frames.iter().skip(keep).map(Frame::len).sum();
        self.frames.truncate(keep);
        self.bytes -= dropped;
        dropped
    }

    /// Empties the queue for reuse; false when it grew too large to be worth keeping.
    pub fn recycle(&mut self) -> bool {
        self.frames.clear();
        self.front_sent = 0;
        self.bytes = 0;
        self.frames.capacity() <= 1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `limit` bytes per call, then blocks after `calls` calls.
    struct Trickle {
        out: Vec<u8>,
        limit: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.calls == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.calls -= 1;
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.limit - n);
                self.out.extend_from_slice(&b[..take]);
                n += take;
                if n == self.limit {
                    break;
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn expected(frames: &[(OpCode, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        for (op, p) in frames {
            let mut h = [0u8; frame::MAX_HEADER];
            let n = frame::encode_header(&mut h, true, *op, p.len());
            v.extend_from_slice(&h[..n]);
            v.extend_from_slice(p);
        }
        v
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let shared = Bytes::from(vec![7u8; 300]);
        let input: Vec<(OpCode, &[u8])> = vec![
            (OpCode::Text, b"hello"),
            (OpCode::Binary, &shared[..]),
            (OpCode::Text, b""),
            (OpCode::Binary, &shared[..]),
        ];
        for limit in [1, 3, 7, 64, 1000] {
            let mut q = OutQueue::default();
            for (op, p) in &input {
                q.push(Frame::ws(*op, Bytes::copy_from_slice(p)));
            }
            let total = q.bytes();
            let mut w = Trickle {
                out: Vec::new(),
                limit,
                calls: 3,
            };
            let mut done = 0;
            loop {
                match q.flush(&mut w).unwrap() {
                    Flushed::All(n) => {
                        done += n;
                        break;
                    }
                    Flushed::Blocked(n) => {
                        done += n;
                        assert_eq!(q.bytes(), total - done);
                        w.calls = 3;
                    }
                }
            }
            assert_eq!(done, total);
            assert!(q.is_empty());
            assert_eq!(w.out, expected(&input), "limit {limit}");
        }
    }

    #[test]
    fn many_frames_span_several_writev_calls() {
        let mut q = OutQueue::default();
        let payload = Bytes::from_static(b"x");
        for _ in 0..1200 {
            q.push(Frame::ws(OpCode::Text, payload.clone()));
        }
        let mut w = Trickle {
            out: Vec::new(),
            limit: usize::MAX / 2,
            calls: 100,
        };
        assert_eq!(q.flush(&mut w).unwrap(), Flushed::All(3600));
        assert_eq!(w.out.len(), 3600);
        assert_eq!(
            w.calls,
            100 - (1200usize * 2).div_ceil(MAX_SLICES),
            "one writev per {MAX_SLICES} slices"
        );
    }

    #[test]
    fn framed_parts_share_the_payload_and_dropping_keeps_a_started_frame() {
        let payload = Bytes::from(vec![b'p'; 100]);
        let mut q = OutQueue::default();
        for id in ["1", "22"] {
            let prefix = Bytes::from(format!("{{\"id\":\"{id}\",\"payload\":"));
            q.push(Frame::parts(OpCode::Text, prefix, payload.clone(), b"}"));
        }
        let body = |id: &str| format!("{{\"id\":\"{id}\",\"payload\":{}}}", "p".repeat(100));
        let (a, b) = (body("1"), body("22"));
        let want = expected(&[(OpCode::Text, a.as_bytes()), (OpCode::Text, b.as_bytes())]);
        assert_eq!(q.bytes(), want.len());
        let mut w = Trickle {
            out: Vec::new(),
            limit: 5,
            calls: 1,
        };
        assert_eq!(q.flush(&mut w).unwrap(), Flushed::Blocked(5));
        // The first frame is started: it stays, the second goes.
        let dropped = q.drop_unsent();
        assert_eq!(dropped, 2 + b.len());
        w.calls = 100;
        w.limit = 1000;
        assert!(matches!(q.flush(&mut w).unwrap(), Flushed::All(_)));
        assert_eq!(w.out, expected(&[(OpCode::Text, a.as_bytes())]));
        assert_eq!(q.bytes(), 0);
        // Nothing started: everything goes.
        q.push(Frame::ws(OpCode::Text, payload.clone()));
        assert_eq!(q.drop_unsent(), 102);
        assert!(q.is_empty());
    }
}
