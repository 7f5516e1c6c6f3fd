//! Building one `writev`'s slice list from queue entries.
//!
//! Used by [`super::OutQueue::flush`]. Shared bytes (payloads, long prefixes) become slices
//! that point at them; the small pieces between them (a frame's header, a short prefix,
//! the previous frame's tail) are copied side by side into one glue block, so a subscriber's
//! frame costs two slices (glue, payload) instead of four, and the kernel walks half as
//! many `iovec`s. The caller owns the slices (on its stack for short queues) and a
//! [`Scratch`] of glue blocks kept across flushes (the reactor holds one).

use std::io::IoSlice;

/// Longest piece copied into a glue block; longer ones are pointed at.
pub(super) const GLUE_PIECE: usize = 80;
/// A glue block holds a tail, a header and a prefix of up to `GLUE_PIECE` bytes each.
pub(super) const GLUE: usize = 2 * GLUE_PIECE + crate::ws::frame::MAX_HEADER + 6;

/// Slices and glue blocks a queue of `messages` frames can need at most: per frame, one
/// glue block, a long prefix and the payload; one glue block more for the last tail.
pub(super) fn needs(messages: usize) -> (usize, usize) {
    (3 * messages + 1, messages + 1)
}

/// Glue blocks reused across flushes: grown to the largest need seen (at most one per
/// slice of a `writev`), never cleared.
#[derive(Default)]
pub(crate) struct Scratch(Vec<[u8; GLUE]>);

impl Scratch {
    /// At least `n` blocks.
    pub(crate) fn blocks(&mut self, n: usize) -> &mut [[u8; GLUE]] {
        if self.0.len() < n {
            self.0.resize(n, [0; GLUE]);
        }
        &mut self.0[..n]
    }
}

/// The slice list being filled, and the glue block open at its end.
pub(crate) struct Gather<'a, 's> {
    slices: &'s mut [IoSlice<'a>],
    used: usize,
    blocks: std::slice::IterMut<'a, [u8; GLUE]>,
    open: Option<(&'a mut [u8; GLUE], usize)>,
}

impl<'a, 's> Gather<'a, 's> {
    pub(crate) fn new(slices: &'s mut [IoSlice<'a>], blocks: &'a mut [[u8; GLUE]]) -> Self {
        Gather {
            slices,
            used: 0,
            blocks: blocks.iter_mut(),
            open: None,
        }
    }

    /// Appends `bytes` (at most `GLUE_PIECE` long) to the open glue block.
    pub(crate) fn copy(&mut self, bytes: &[u8]) -> bool {
        debug_assert!(bytes.len() <= GLUE_PIECE);
        if self
            .open
            .as_ref()
            .is_some_and(|(_, len)| len + bytes.len() > GLUE)
            && !self.close()
        {
            return false;
        }
        if self.open.is_none() {
            let Some(block) = self.blocks.next() else {
                return false;
            };
            self.open = Some((block, 0));
        }
        let Some((block, len)) = self.open.as_mut() else {
            return false;
        };
        block[*len..*len + bytes.len()].copy_from_slice(bytes);
        *len += bytes.len();
        true
    }

    /// Adds a slice pointing at `bytes`, after the open glue block.
    pub(crate) fn point(&mut self, bytes: &'a [u8]) -> bool {
        self.close() && self.push(bytes)
    }

    /// Ends the list: the open glue block becomes its last slice if there is room (what
    /// does not fit is simply not written this time). Returns the slices used.
    pub(crate) fn finish(mut self) -> usize {
        self.close();
        self.used
    }

    fn close(&mut self) -> bool {
        match self.open.take() {
            None => true,
            Some((block, len)) => {
                let block: &'a [u8; GLUE] = block;
                self.push(&block[..len])
            }
        }
    }

    fn push(&mut self, bytes: &'a [u8]) -> bool {
        if self.used == self.slices.len() {
            return false;
        }
        self.slices[self.used] = IoSlice::new(bytes);
        self.used += 1;
        true
    }
}
