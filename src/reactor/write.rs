//! The write path: queue frames, flush them with `writev` once per turn, and close.
//!
//! A frame queued during a turn marks its connection dirty; the end of the turn flushes
//! every dirty connection once, so several frames to one peer go out in one syscall.
//! A socket that is full keeps its queue and is flushed again on its writable event.

use bytes::Bytes;
use std::io::Write;
use std::net::Shutdown;

use super::conn::State;
use super::outq::{Entry, Flushed};
use super::Reactor;
use crate::stats::Counters;
use crate::ws::frame::{self, OpCode};
use crate::ws::CloseCode;

impl Reactor {
    /// Queues a frame (or a run of frames) for `key`; it is written at the end of this turn.
    pub(crate) fn send(&mut self, key: usize, entry: Entry) {
        let messages = entry.messages();
        if self
            .conns
            .get(key)
            .is_some_and(|c| c.state != State::Rejected)
        {
            Counters::add(&self.counters().messages_out, messages as u64);
        }
        self.enqueue(key, entry, 0);
    }

    /// Queues `frame` minus its first `sent` bytes (already written; only into an empty
    /// queue), to go out at the end of this turn; a backlog behind the message being written
    /// past `maxBufferedBytes` closes the connection as a slow consumer. So a queue holds at
    /// most the cap plus what is left of one message.
    pub(super) fn enqueue(&mut self, key: usize, entry: Entry, sent: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.state == State::Failed {
            return; // its close frame is the last thing it gets
        }
        let q = conn.out.get_or_insert_with(|| self.pool.take_queue());
        let was_empty = q.is_empty();
        let added = entry.wire_len() - sent;
        if sent > 0 {
            q.push_rest(entry, sent);
        } else {
            q.push(entry);
        }
        let over = q.over(self.shared.config.max_buffered_bytes);
        if was_empty {
            self.dirty.push(key);
        }
        Counters::add(&self.counters().queued_bytes, added as u64);
        if over {
            self.slow_consumer(key);
        }
    }

    /// A connection's backlog passed `maxBufferedBytes`: what waits is dropped (memory stays
    /// bounded), the app hears `Closed` with 1008 `slow consumer`, and a close frame with
    /// that code goes out after any frame already started; a peer that never reads again
    /// is dropped by the close timeout.
    fn slow_consumer(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.state != State::Open {
            // Already closing (or not a WebSocket yet): nothing more is owed to it.
            self.drop_conn(key);
            return;
        }
        if let Some(q) = conn.out.as_mut() {
            let dropped = q.drop_unsent();
            Counters::sub(&self.counters().queued_bytes, dropped as u64);
        }
        Counters::add(&self.counters().slow_consumers, 1);
        self.fail(key, CloseCode::POLICY_VIOLATION, "slow consumer");
    }

    /// Writes `bytes` now if nothing is queued ahead of them; queues what the socket refuses.
    pub(super) fn write_now(&mut self, key: usize, bytes: &[u8]) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let mut written = 0;
        if conn.out.is_none() {
            loop {
                match (&conn.sock).write(&bytes[written..]) {
                    Ok(n) => {
                        written += n;
                        if n == 0 || written == bytes.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        self.drop_conn(key);
                        return;
                    }
                }
            }
            Counters::add(&self.counters().bytes_out, written as u64);
        }
        if written < bytes.len() {
            self.send(key, Entry::raw(Bytes::copy_from_slice(&bytes[written..])));
        }
    }

    /// Flushes every connection that gained frames this turn.
    /// Flushes the connections that gained frames this turn; returns how many there were.
    pub(super) fn flush_dirty(&mut self) -> usize {
        let mut dirty = std::mem::take(&mut self.dirty);
        let n = dirty.len();
        for &key in &dirty {
            self.guarded(key, |me| me.flush(key));
        }
        dirty.clear();
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
        n
    }

    /// Writes what the socket takes; on a drained queue, finishes any close in progress.
    pub(super) fn flush(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let Some(q) = conn.out.as_mut() else { return };
        let result = q.flush(&mut &conn.sock, &mut self.glue);
        let counters = &self.shared.counters[self.id];
        match result {
            Ok(Flushed::Blocked(n)) => {
                Counters::add(&counters.bytes_out, n as u64);
                Counters::sub(&counters.queued_bytes, n as u64);
            }
            Ok(Flushed::All(n)) => {
                Counters::add(&counters.bytes_out, n as u64);
                Counters::sub(&counters.queued_bytes, n as u64);
                if let Some(q) = conn.out.take() {
                    self.pool.give_queue(q);
                }
                self.after_flush(key);
            }
            Err(_) => self.drop_conn(key),
        }
    }

    fn after_flush(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        match conn.state {
            // Our close reply is out: the handshake is complete.
            State::Closed => self.drop_conn(key),
            // Our close frame or HTTP error is out: half-close so the peer sees the end,
            // and keep reading until it hangs up (or the close timeout drops it).
            State::Closing | State::Rejected | State::Failed => {
                let _ = conn.sock.shutdown(Shutdown::Write);
            }
            State::Open | State::Handshake { .. } => {}
        }
    }

    /// The transport failed (a bad frame, a slow consumer): the session hears it, the close
    /// frame is queued, and the connection lingers until the peer hangs up.
    pub(crate) fn fail(&mut self, key: usize, code: CloseCode, reason: &str) {
        self.notify_closed(key, code, reason);
        self.close_frame(key, code, reason);
        if self
            .conns
            .get(key)
            .is_some_and(|c| c.state == State::Closing)
        {
            self.linger(key);
        }
    }

    /// Stops reading frames for good: input is discarded from now on, the write side is shut
    /// once what is queued (our close frame) is flushed, and the socket is dropped when the
    /// peer hangs up or the close timeout passes — never while its bytes are still arriving,
    /// which would turn the close into a reset that destroys the close frame in flight.
    pub(crate) fn linger(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        conn.state = State::Failed;
        // A message being assembled is dropped with the reader; nothing is parsed any more.
        conn.reader = crate::ws::message::Reader::default();
        if conn.out.is_none() {
            let _ = conn.sock.shutdown(Shutdown::Write);
        }
        self.arm(key, self.shared.config.close_timeout);
    }

    /// Starts the closing handshake with `code`; a connection not yet upgraded just closes.
    pub(crate) fn close_frame(&mut self, key: usize, code: CloseCode, reason: &str) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.state != State::Open {
            if !matches!(conn.state, State::Closing | State::Closed | State::Failed) {
                self.drop_conn(key);
            }
            return;
        }
        conn.state = State::Closing;
        self.shared.metrics[self.id].closed(code);
        let mut payload = [0u8; 125];
        let n = frame::close_payload(&mut payload, code, reason);
        self.send(
            key,
            Entry::ws(OpCode::Close, Bytes::copy_from_slice(&payload[..n])),
        );
        self.arm(key, self.shared.config.close_timeout);
    }
}
