//! One entry of a connection's outbound queue: a frame, or a run of frames that differ only
//! in their payload (a burst of trigger updates to one subscriber).
//!
//! Built by the reactor ([`crate::reactor`]) and read by [`super::OutQueue`] when it
//! gathers slices for `writev`. An entry holds only shared handles: a subscriber's prefix
//! (`{"id":…,"type":"next","payload":`, built once when it joined), the payload (or the
//! burst's payload list, shared by every subscriber of the burst) and a static tail. The
//! WebSocket header of each frame is encoded when the entry is gathered, into the caller's
//! scratch, so a run of 20 updates costs one queue entry, not 20.

use bytes::Bytes;
use std::sync::Arc;

use super::gather::{Gather, GLUE_PIECE};
use crate::ws::frame::{self, OpCode};

/// The bytes before each payload: a `Bytes`, or a subscriber's prefix as the hub keeps it
/// (an `Arc<[u8]>`: one allocation, its count beside the bytes).
#[derive(Clone)]
pub(crate) enum Prefix {
    Bytes(Bytes),
    Shared(Arc<[u8]>),
}

impl std::ops::Deref for Prefix {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Prefix::Bytes(b) => b,
            Prefix::Shared(a) => a,
        }
    }
}

impl From<Bytes> for Prefix {
    fn from(b: Bytes) -> Self {
        Prefix::Bytes(b)
    }
}

impl From<Arc<[u8]>> for Prefix {
    fn from(a: Arc<[u8]>) -> Self {
        Prefix::Shared(a)
    }
}

enum Body {
    One(Bytes),
    Run(Arc<[Bytes]>),
}

/// A queue entry: for each payload, `header`, `prefix`, `payload`, `tail`, in that order.
pub(crate) struct Entry {
    /// The WebSocket opcode; `None` for raw bytes with no header (an HTTP response).
    opcode: Option<OpCode>,
    prefix: Prefix,
    body: Body,
    tail: &'static [u8],
    /// Bytes on the wire, headers included.
    len: usize,
}

impl Entry {
    /// A WebSocket frame with a shared payload.
    pub(crate) fn ws(opcode: OpCode, payload: Bytes) -> Entry {
        Entry::parts(opcode, Bytes::new(), payload, b"")
    }

    /// A WebSocket frame whose message is `prefix` + `payload` + `tail`; neither shared
    /// part is copied.
    pub(crate) fn parts(
        opcode: OpCode,
        prefix: impl Into<Prefix>,
        payload: Bytes,
        tail: &'static [u8],
    ) -> Entry {
        Entry::new(Some(opcode), prefix.into(), Body::One(payload), tail)
    }

    /// One frame per payload of `run`, each `prefix` + payload + `tail`, in order.
    pub(crate) fn run(
        opcode: OpCode,
        prefix: impl Into<Prefix>,
        run: Arc<[Bytes]>,
        tail: &'static [u8],
    ) -> Entry {
        Entry::new(Some(opcode), prefix.into(), Body::Run(run), tail)
    }

    /// Raw bytes with no WebSocket header (an HTTP response).
    pub(crate) fn raw(bytes: Bytes) -> Entry {
        Entry::new(None, Bytes::new().into(), Body::One(bytes), b"")
    }

    fn new(opcode: Option<OpCode>, prefix: Prefix, body: Body, tail: &'static [u8]) -> Entry {
        let mut f = Entry {
            opcode,
            prefix,
            body,
            tail,
            len: 0,
        };
        f.len = f.view().wire_len();
        f
    }

    /// The payloads, one per WebSocket frame.
    pub(crate) fn payloads(&self) -> &[Bytes] {
        match &self.body {
            Body::One(p) => std::slice::from_ref(p),
            Body::Run(run) => run,
        }
    }

    /// Bytes on the wire.
    pub(crate) fn wire_len(&self) -> usize {
        self.len
    }

    /// WebSocket messages this entry carries.
    pub(crate) fn messages(&self) -> usize {
        self.payloads().len()
    }

    /// Keeps only the first `n` frames of a run (the others were never started and will
    /// not be sent); returns the bytes removed. A single frame, or `n` of 0 or at or past
    /// the run's end, stays as it is. Allocates the shorter list: at a slow-consumer cut only.
    pub(crate) fn keep_messages(&mut self, n: usize) -> usize {
        let Body::Run(run) = &self.body else {
            return 0;
        };
        if n == 0 || n >= run.len() {
            return 0;
        }
        let before = self.len;
        self.body = Body::Run(run[..n].into());
        self.len = self.view().wire_len();
        before - self.len
    }

    /// The same frames, borrowed.
    pub(crate) fn view(&self) -> EntryRef<'_> {
        EntryRef {
            opcode: self.opcode,
            prefix: &self.prefix,
            payloads: self.payloads(),
            tail: self.tail,
        }
    }

    /// See [`EntryRef::gather`].
    pub(crate) fn gather<'a>(&'a self, skip: usize, out: &mut Gather<'a, '_>) -> bool {
        self.view().gather(skip, out)
    }
}

/// A frame or run of frames by reference: what an [`Entry`] holds, for a writer that sends
/// straight from the subscriber list and the payloads without queueing (no reference
/// count is touched).
#[derive(Clone, Copy)]
pub(crate) struct EntryRef<'a> {
    pub(crate) opcode: Option<OpCode>,
    pub(crate) prefix: &'a [u8],
    pub(crate) payloads: &'a [Bytes],
    pub(crate) tail: &'static [u8],
}

impl<'a> EntryRef<'a> {
    /// Nothing (a placeholder in a fixed array).
    pub(crate) const EMPTY: EntryRef<'static> = EntryRef {
        opcode: None,
        prefix: b"",
        payloads: &[],
        tail: b"",
    };

    /// Bytes on the wire.
    pub(crate) fn wire_len(&self) -> usize {
        self.payloads.iter().map(|p| self.frame_len(p)).sum()
    }

    /// WebSocket messages.
    pub(crate) fn messages(&self) -> usize {
        self.payloads.len()
    }

    /// What is left, from byte `skip` of these frames on, of the message that byte belongs
    /// to (0 past the end).
    pub(crate) fn left_of_message_at(&self, mut skip: usize) -> usize {
        for p in self.payloads {
            let len = self.frame_len(p);
            if skip < len {
                return len - skip;
            }
            skip -= len;
        }
        0
    }

    /// How many messages there are up to and including the one byte `skip` belongs to
    /// (all of them past the end).
    pub(crate) fn messages_through(&self, mut skip: usize) -> usize {
        for (i, p) in self.payloads.iter().enumerate() {
            let len = self.frame_len(p);
            if skip < len {
                return i + 1;
            }
            skip -= len;
        }
        self.payloads.len()
    }

    /// The message length (what the header announces) of `payload`'s frame.
    fn message_len(&self, payload: &Bytes) -> usize {
        self.prefix.len() + payload.len() + self.tail.len()
    }

    /// Bytes on the wire of `payload`'s frame.
    fn frame_len(&self, payload: &Bytes) -> usize {
        let msg = self.message_len(payload);
        match self.opcode {
            Some(_) => frame::header_len(msg) + msg,
            None => msg,
        }
    }

    /// Calls `out` with each non-empty part from byte `skip` on, in order: headers,
    /// short prefixes and tails as bytes to copy (they are glued into one slice with their
    /// neighbours), prefixes and payloads as shared bytes to point at. Stops early,
    /// returning false, when `out` has no room left.
    pub(crate) fn gather(&self, mut skip: usize, out: &mut Gather<'a, '_>) -> bool {
        for p in self.payloads {
            let whole = self.frame_len(p);
            if skip >= whole {
                skip -= whole;
                continue;
            }
            let mut head = [0u8; frame::MAX_HEADER];
            let head_len = match self.opcode {
                Some(op) => frame::encode_header(&mut head, true, op, self.message_len(p)),
                None => 0,
            };
            let parts: [&[u8]; 4] = [&head[..head_len], self.prefix, p, self.tail];
            for (i, bytes) in parts.into_iter().enumerate() {
                if skip >= bytes.len() {
                    skip -= bytes.len();
                    continue;
                }
                let rest = &bytes[skip..];
                skip = 0;
                let fits = rest.len() <= GLUE_PIECE;
                let ok = match i {
                    0 => out.copy(rest),
                    1 if fits => out.copy(rest),
                    1 => out.point(&self.prefix[bytes.len() - rest.len()..]),
                    2 => out.point(&p[bytes.len() - rest.len()..]),
                    _ if fits => out.copy(rest),
                    _ => out.point(&self.tail[bytes.len() - rest.len()..]),
                };
                if !ok {
                    return false;
                }
            }
        }
        true
    }
}
