//! Per-reactor pools of byte buffers and write queues, so the steady state allocates nothing.
//!
//! Owned by one reactor thread (no locks). A connection borrows a read buffer only while it
//! holds an incomplete frame or handshake, and a write queue only while bytes wait for the
//! socket; both go back here when drained, so an idle connection holds neither.

use super::outq::OutQueue;

/// Buffers of at least `buf_cap` bytes; oversized ones (a big message was assembled in them)
/// are freed instead of kept, so the pool's memory stays `max_free × buf_cap`.
pub(crate) struct Pool {
    bufs: Vec<Vec<u8>>,
    // Boxed on purpose: a connection holds its queue as an 8-byte `Option<Box<_>>`, and the
    // box moves between pool and connection without reallocating.
    #[allow(clippy::vec_box)]
    queues: Vec<Box<OutQueue>>,
    buf_cap: usize,
    max_free: usize,
}

impl Pool {
    pub(crate) fn new(buf_cap: usize, max_free: usize) -> Self {
        Pool {
            bufs: Vec::new(),
            queues: Vec::new(),
            buf_cap,
            max_free,
        }
    }

    /// An empty buffer with room for at least `want` bytes.
    pub(crate) fn take_buf(&mut self, want: usize) -> Vec<u8> {
        let mut buf = self
            .bufs
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.buf_cap));
        if buf.capacity() < want {
            buf.reserve(want);
        }
        buf
    }

    /// Returns a buffer; kept for reuse unless it grew large or the pool is full.
    pub(crate) fn give_buf(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() == 0
            || buf.capacity() > self.buf_cap * 4
            || self.bufs.len() >= self.max_free
        {
            return;
        }
        buf.clear();
        self.bufs.push(buf);
    }

    /// An empty write queue.
    pub(crate) fn take_queue(&mut self) -> Box<OutQueue> {
        self.queues.pop().unwrap_or_default()
    }

    /// Returns a drained write queue.
    pub(crate) fn give_queue(&mut self, mut q: Box<OutQueue>) {
        if self.queues.len() >= self.max_free || !q.recycle() {
            return;
        }
        self.queues.push(q);
    }

    /// Buffers and queues currently held for reuse (for stats and tests).
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize) {
        (self.bufs.len(), self.queues.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_big_ones_dropped() {
        let mut p = Pool::new(1024, 2);
        let mut b = p.take_buf(10);
        assert!(b.capacity() >= 1024);
        b.extend_from_slice(b"abc");
        let ptr = b.as_ptr();
        p.give_buf(b);
        let b2 = p.take_buf(10);
        assert_eq!(b2.as_ptr(), ptr, "the same allocation comes back");
        assert!(b2.is_empty());
        let big = vec![0u8; 1024 * 8];
        p.give_buf(big);
        assert_eq!(p.held().0, 0, "an oversized buffer is not kept");
        p.give_buf(Vec::with_capacity(1024));
        p.give_buf(Vec::with_capacity(1024));
        p.give_buf(Vec::with_capacity(1024));
        assert_eq!(p.held().0, 2, "at most max_free are kept");
    }
}
