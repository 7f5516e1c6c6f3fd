//! A connection's outbound queue: frames waiting for the socket, flushed with `writev`.
//!
//! Called by the reactor that owns the connection. An entry ([`Entry`]) is one frame or a
//! run of frames made of shared handles only (a subscriber's prefix, the payload or the
//! burst's payloads, a static tail): one encoded payload fans out to every recipient
//! without a copy, each framed with its own id, and headers are encoded only when the
//! entry is gathered for `writev`.
//! Queues come from and return to the reactor's pool (`reactor/pool.rs`), so a connection
//! with nothing to send holds no queue.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

mod entry;
mod gather;
pub(crate) use entry::{Entry, EntryRef};
pub(crate) use gather::Scratch;
use gather::{Gather, GLUE};

#[cfg(test)]
mod tests;

/// How many slices one `writev` carries at most (up to four per frame): the kernel's
/// `IOV_MAX`, so a burst of 20 events × 5 subscriptions to one connection is one syscall.
const MAX_SLICES: usize = 1024;

#[derive(Default)]
pub(crate) struct OutQueue {
    entries: VecDeque<Entry>,
    /// Bytes of the front frame already written.
    front_sent: usize,
    /// Bytes queued and not yet written.
    bytes: usize,
}

/// What a flush achieved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flushed {
    /// Everything was written.
    All(usize),
    /// The socket is full; wait for writability.
    Blocked(usize),
}

/// Most messages [`write_direct`] sends in one call (its slice list is on the stack).
pub(crate) const DIRECT_MESSAGES: usize = 32;

/// Writes `frames` to `w` now, with nothing queued: for a connection whose queue is empty,
/// so a fan-out costs one `writev` and no queue, as a hand-built frame would. Returns the
/// bytes written; fewer than the frames' length when the socket filled up (the caller
/// queues the rest). At most [`DIRECT_MESSAGES`] messages; more write nothing.
pub(crate) fn write_direct(
    w: &mut impl Write,
    frames: &[EntryRef<'_>],
    scratch: &mut Scratch,
) -> io::Result<usize> {
    let messages: usize = frames.iter().map(EntryRef::messages).sum();
    let (want, blocks) = gather::needs(messages);
    if messages > DIRECT_MESSAGES {
        return Ok(0);
    }
    let total: usize = frames.iter().map(EntryRef::wire_len).sum();
    let blocks = scratch.blocks(blocks);
    let mut written = 0;
    while written < total {
        let mut slices = [IoSlice::new(&[]); 3 * DIRECT_MESSAGES + 1];
        let mut out = Gather::new(&mut slices[..want], blocks);
        let mut skip = written;
        for f in frames {
            let len = f.wire_len();
            if skip >= len {
                skip -= len;
                continue;
            }
            if !f.gather(std::mem::take(&mut skip), &mut out) {
                break;
            }
        }
        let n = out.finish();
        match w.write_vectored(&slices[..n]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(k) => written += k,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

impl OutQueue {
    pub(crate) fn push(&mut self, entry: Entry) {
        self.bytes += entry.wire_len();
        self.entries.push_back(entry);
    }

    /// Queues the rest of an entry whose first `sent` bytes went out already (by
    /// [`write_direct`]); only into an empty queue, where that entry is the front.
    pub(crate) fn push_rest(&mut self, entry: Entry, sent: usize) {
        debug_assert!(self.entries.is_empty() && sent < entry.wire_len());
        self.bytes += entry.wire_len() - sent;
        self.front_sent = sent;
        self.entries.push_back(entry);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes waiting for the socket.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes waiting behind the message being written: all of [`OutQueue::bytes`] but what
    /// is left of the front message (the first one not fully written, started or not). This
    /// is what `maxBufferedBytes` caps, so one message bigger than the cap still goes out
    /// whole, while a consumer falling further behind is cut. O(messages in the front entry).
    pub(crate) fn backlog(&self) -> usize {
        let head = self
            .entries
            .front()
            .map_or(0, |f| f.view().left_of_message_at(self.front_sent));
        self.bytes - head
    }

    /// Whether the backlog is over `cap`; costs nothing more than a compare while the whole
    /// queue is within it.
    pub(crate) fn over(&self, cap: usize) -> bool {
        self.bytes > cap && self.backlog() > cap
    }

    /// Entries waiting (including a partly written one).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> usize {
        self.entries.len()
    }

    /// Writes as much as the socket takes, `MAX_SLICES` slices per syscall, gluing small
    /// pieces in `scratch`. A short queue's slice list is on the stack, sized to it (never
    /// a 16 KiB array cleared for one frame); a long one's is allocated per syscall.
    pub(crate) fn flush(
        &mut self,
        w: &mut impl Write,
        scratch: &mut Scratch,
    ) -> io::Result<Flushed> {
        let mut total = 0;
        while !self.entries.is_empty() {
            let messages: usize = self.entries.iter().map(Entry::messages).sum();
            let (want, blocks) = gather::needs(messages);
            let blocks = scratch.blocks(blocks.min(MAX_SLICES));
            let result = if want <= 16 {
                self.write_some::<16>(w, blocks)
            } else if want <= 128 {
                self.write_some::<128>(w, blocks)
            } else {
                let mut slices = vec![IoSlice::new(&[]); want.min(MAX_SLICES)];
                let n = self.gather(&mut slices, blocks);
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

    /// One `writev` of the queue's front through `N` slices on the stack.
    fn write_some<const N: usize>(
        &self,
        w: &mut impl Write,
        blocks: &mut [[u8; GLUE]],
    ) -> io::Result<usize> {
        let mut slices = [IoSlice::new(&[]); N];
        let n = self.gather(&mut slices, blocks);
        w.write_vectored(&slices[..n])
    }

    /// Fills `slices` with the unwritten bytes from the front; returns how many it used.
    fn gather<'a>(&'a self, slices: &mut [IoSlice<'a>], blocks: &'a mut [[u8; GLUE]]) -> usize {
        let mut out = Gather::new(slices, blocks);
        let mut skip = self.front_sent;
        for f in &self.entries {
            if !f.gather(std::mem::take(&mut skip), &mut out) {
                break;
            }
        }
        out.finish()
    }

    fn advance(&mut self, mut n: usize) {
        self.bytes -= n;
        while n > 0 {
            let Some(front) = self.entries.front() else {
                return;
            };
            let left = front.wire_len() - self.front_sent;
            if n < left {
                self.front_sent += n;
                return;
            }
            n -= left;
            self.front_sent = 0;
            self.entries.pop_front();
        }
    }

    /// Drops every message not yet started: a partly written front message stays, so the
    /// stream remains well-formed, and of a partly written run only the frames up to that
    /// one (nothing is left behind it: the backlog is 0); returns the bytes dropped.
    pub(crate) fn drop_unsent(&mut self) -> usize {
        let keep = usize::from(self.front_sent > 0).min(self.entries.len());
        let mut dropped: usize = self.entries.iter().skip(keep).map(Entry::wire_len).sum();
        self.entries.truncate(keep);
        if let Some(front) = self.entries.front_mut() {
            let through = front.view().messages_through(self.front_sent);
            dropped += front.keep_messages(through);
        }
        self.bytes -= dropped;
        dropped
    }

    /// Empties the queue for reuse; false when it grew too large to be worth keeping.
    pub(crate) fn recycle(&mut self) -> bool {
        self.entries.clear();
        self.front_sent = 0;
        self.bytes = 0;
        self.entries.capacity() <= 1024
    }
}
