//! A reactor thread: one mio `Poll` owning a slab of connections, a timer heap and pools.
//!
//! Started by [`crate::server`], N per server. Nothing here is shared with other threads but
//! the inbox (commands + waker, `inbox.rs`), the counters and what `shared.rs` holds. The
//! loop: poll → read/write ready connections → run commands (trigger updates fanned out) →
//! accept a bounded batch → fire deadlines → keep-alive sweep → flush what was queued this
//! turn (one `writev` per connection per turn) → hand the turn's app events to JS. A panic
//! while serving one connection is caught here, closes that connection and is reported to
//! the embedder; the loop goes on.
//!
//! Submodules that add methods to [`Reactor`]: `accept` (listener, limits, EMFILE
//! back-off), `read` (handshake and frames), `write` (queues, flushing, closing),
//! `commands` (the inbox, run once per turn), `fanout` (trigger updates to subscribers),
//! `session` (driving a connection's GraphQL session), `keepalive` (ping sweeps), `trim`
//! (giving freed memory back). What a reactor owns: `conn` (a connection and its id),
//! `timer` (its deadline heap), `pool` (buffers and queues), `outq` (a connection's
//! outbound queue), `listener` (binding, done for it by the server); `events` is the
//! app-event batch it publishes into.

mod accept;
mod commands;
pub(crate) mod conn;
pub(crate) mod events;
mod fanout;
pub(crate) mod inbox;
mod keepalive;
pub(crate) mod listener;
pub(crate) mod outq;
pub(crate) mod pool;
mod read;
mod session;
pub(crate) mod shared;
pub(crate) mod timer;
mod trim;
mod write;

use bytes::Bytes;
use crossbeam_channel::Receiver;
use mio::net::TcpListener;
use mio::{Events, Poll, Token};
use slab::Slab;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use self::conn::{Conn, State};
use self::events::ConnEvent;
use self::inbox::Command;
use self::pool::Pool;
use self::shared::Shared;
use self::timer::Timers;
use crate::error::{Code, SubwireError};
use crate::metrics::{FanoutClock, ReactorMetrics};
use crate::stats::Counters;
use crate::ws::CloseCode;

pub(crate) const LISTENER: Token = Token(usize::MAX - 1);
pub(crate) const WAKER: Token = Token(usize::MAX - 2);

/// Size of the per-reactor read buffer every socket reads into first.
const SCRATCH: usize = 64 << 10;
/// Bytes read from one connection per turn before others get their go.
const READ_BUDGET: usize = 256 << 10;

pub(crate) struct Reactor {
    id: usize,
    poll: Poll,
    listener: Option<TcpListener>,
    conns: Slab<Conn>,
    shared: Arc<Shared>,
    inbox: Receiver<Command>,
    timers: Timers,
    pool: Pool,
    scratch: Vec<u8>,
    /// Actions decoded from the current read, applied after the reader lets go of the bytes.
    actions: Vec<read::Action>,
    /// Outputs of the current session call.
    collect: session::Collect,
    /// App events of this turn, handed to the JS batch at its end.
    pending_events: Vec<ConnEvent>,
    /// Connections whose queue gained frames this turn; flushed at the end of it.
    dirty: Vec<usize>,
    /// Payloads of consecutive trigger updates being folded (reused across turns).
    burst: Vec<Bytes>,
    /// Fan-out clocks of the trigger updates handled this turn: let go once it is flushed.
    clocks: Vec<Arc<FanoutClock>>,
    /// Glue blocks for building `writev` slice lists (reused across flushes).
    glue: outq::Scratch,
    /// Connections that still had bytes to read when their budget ran out.
    again: Vec<usize>,
    /// The listener may have more connections waiting (its batch ran out).
    accept_ready: bool,
    /// Accepting paused after EMFILE/ENFILE until then.
    accept_paused_until: Option<Instant>,
    emfile_reported: bool,
    /// When the next keep-alive sweep is due (None: keep-alive off).
    next_sweep: Option<Instant>,
    /// When to give freed memory back after a fan-out (`trim.rs`).
    trim: trim::TrimClock,
    stopping: bool,
}

impl Reactor {
    pub(crate) fn new(
        id: usize,
        poll: Poll,
        listener: Option<TcpListener>,
        shared: Arc<Shared>,
        inbox: Receiver<Command>,
    ) -> Reactor {
        Reactor {
            id,
            poll,
            listener,
            conns: Slab::new(),
            shared,
            inbox,
            timers: Timers::default(),
            pool: Pool::new(4096, 256),
            scratch: vec![0u8; SCRATCH],
            actions: Vec::new(),
            collect: session::Collect::default(),
            pending_events: Vec::new(),
            dirty: Vec::new(),
            burst: Vec::new(),
            clocks: Vec::new(),
            glue: Default::default(),
            again: Vec::new(),
            accept_ready: true,
            accept_paused_until: None,
            emfile_reported: false,
            next_sweep: None,
            trim: trim::TrimClock::default(),
            stopping: false,
        }
    }

    fn counters(&self) -> &Counters {
        &self.shared.counters[self.id]
    }

    fn metrics(&self) -> &ReactorMetrics {
        &self.shared.metrics[self.id]
    }

    /// Runs until shutdown completes. Never panics out: the caller is the thread's body.
    pub(crate) fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        self.next_sweep = self.shared.config.ping_interval.map(|d| Instant::now() + d);
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                self.report(Code::Io, format!("reactor {} poll failed: {e}", self.id));
                break;
            }
            let woke = Instant::now();
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept_ready = true,
                    WAKER => {}
                    Token(key) => {
                        let (r, w) = (
                            ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                            ev.is_writable(),
                        );
                        self.guarded(key, |me| {
                            if w {
                                me.flush(key);
                            }
                            if r {
                                me.on_readable(key);
                            }
                        });
                    }
                }
            }
            self.commands();
            self.accept_batch();
            self.retry_reads();
            self.fire_timers();
            self.keepalive_sweep();
            let flushed = self.flush_dirty();
            self.publish_events();
            self.maybe_trim(flushed);
            self.end_turn(woke);
            if self.stopping && self.conns.is_empty() {
                break;
            }
        }
        self.close_all_now();
        self.publish_events();
    }

    /// Records the turn's duration, and lets go of the fan-out clocks of the trigger updates
    /// whose frames this turn wrote (or queued behind a full socket): the last holder of an
    /// update's clock records its publish → fan-out time.
    fn end_turn(&mut self, woke: Instant) {
        let now = Instant::now();
        let m = &self.shared.metrics[self.id];
        for clock in self.clocks.drain(..) {
            if let Some(took) = clock.release(now) {
                m.fanout_done(took.as_nanos() as u64);
            }
        }
        m.turn(now.saturating_duration_since(woke).as_nanos() as u64);
    }

    /// Counts this turn's flushes; returns freed memory to the OS once a fan-out is over.
    fn maybe_trim(&mut self, flushed: usize) {
        if flushed == 0 && self.trim.due().is_none() {
            return;
        }
        let now = Instant::now();
        self.trim.note(flushed, now);
        if self.trim.take_due(now) {
            crate::sys::release_free_memory();
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        if !self.again.is_empty() || (self.accept_ready && self.can_accept(now)) {
            return Some(Duration::ZERO);
        }
        let mut t = self.timers.timeout(now);
        for at in [self.accept_paused_until, self.next_sweep, self.trim.due()]
            .into_iter()
            .flatten()
        {
            let d = at.saturating_duration_since(now);
            t = Some(t.map_or(d, |t| t.min(d)));
        }
        t
    }

    /// Runs `f` for connection `key`; a panic closes that connection and is reported.
    fn guarded(&mut self, key: usize, f: impl FnOnce(&mut Self)) {
        if catch_unwind(AssertUnwindSafe(|| f(self))).is_err() {
            // Working buffers are moved out of `self` while in use; a panic may have
            // unwound before they were put back. Restore them, or every later read on this
            // reactor would land in an empty buffer and look like a hang-up.
            if self.scratch.len() != SCRATCH {
                self.scratch = vec![0u8; SCRATCH];
            }
            self.actions.clear();
            Counters::add(&self.counters().panics, 1);
            self.drop_conn(key);
            self.report(
                Code::ReactorPanic,
                format!(
                    "reactor {} caught a panic while serving a connection; that connection was closed",
                    self.id
                ),
            );
        }
    }

    pub(crate) fn report(&self, code: Code, message: String) {
        self.shared.embedder.error(SubwireError::new(code, message));
    }

    /// Stops accepting and closes every connection: open ones with 1001, others at once.
    fn begin_shutdown(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        if let Some(mut l) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut l);
        }
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            match self.conns[key].state {
                State::Open if !self.conns[key].session.is_closed() => self
                    .with_session(key, |s, out| {
                        s.close(CloseCode::GOING_AWAY, CloseCode::GOING_AWAY.reason(), out)
                    }),
                State::Open => self.close_frame(key, CloseCode::GOING_AWAY, "server shutting down"),
                State::Closing | State::Closed | State::Failed => {}
                State::Handshake { .. } | State::Rejected => self.drop_conn(key),
            }
        }
    }

    fn retry_reads(&mut self) {
        let again = std::mem::take(&mut self.again);
        for &key in &again {
            self.guarded(key, |me| me.on_readable(key));
        }
        let mut again = again;
        again.clear();
        if self.again.is_empty() {
            self.again = again;
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some((key, gen)) = self.timers.pop_expired(now) {
            let Some(conn) = self.conns.get(key) else {
                continue;
            };
            if conn.timer_gen != gen {
                continue;
            }
            if conn.state == State::Open {
                // The session's deadline (init timeout, keep-alive).
                self.guarded(key, |me| me.session_timeout(key, now));
            } else {
                // Handshake too slow, or the peer never finished a close: drop it.
                let m = self.metrics();
                match conn.state {
                    State::Handshake { .. } => crate::metrics::add(&m.handshake_timeouts, 1),
                    _ => crate::metrics::add(&m.close_timeouts, 1),
                }
                self.drop_conn(key);
            }
        }
    }

    /// Arms the connection's single deadline, replacing any earlier one.
    pub(crate) fn arm(&mut self, key: usize, after: Duration) {
        self.arm_at(key, Instant::now() + after);
    }

    pub(crate) fn arm_at(&mut self, key: usize, at: Instant) {
        let gen = self.timers.arm(at, key);
        if let Some(c) = self.conns.get_mut(key) {
            c.timer_gen = gen;
            c.deadline = Some(at);
        }
    }

    pub(crate) fn disarm(&mut self, key: usize) {
        if let Some(c) = self.conns.get_mut(key) {
            c.timer_gen = 0;
        }
    }

    /// Closes the socket now and returns the connection's buffers to the pool.
    pub(crate) fn drop_conn(&mut self, key: usize) {
        self.notify_closed(key, CloseCode::ABNORMAL, "");
        let Some(mut conn) = self.conns.try_remove(key) else {
            return;
        };
        if conn.state == State::Open {
            // Lost without a close frame either way (a hang-up, an error, no pong).
            self.metrics().closed(CloseCode::ABNORMAL);
        }
        let _ = self.poll.registry().deregister(&mut conn.sock);
        if conn.counted {
            self.shared.connections.fetch_sub(1, Relaxed);
        }
        if matches!(
            conn.state,
            State::Open | State::Closing | State::Closed | State::Failed
        ) {
            Counters::sub(&self.counters().open, 1);
        }
        if let Some(q) = conn.out.take() {
            Counters::sub(&self.counters().queued_bytes, q.bytes() as u64);
            self.pool.give_queue(q);
        }
        let inbuf = std::mem::take(&mut conn.inbuf);
        self.pool.give_buf(inbuf);
        // A file descriptor came free: accepting may resume.
        if self.accept_paused_until.take().is_some() {
            self.accept_ready = true;
        }
    }

    fn close_all_now(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.drop_conn(key);
        }
    }
}
