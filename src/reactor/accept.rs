//! Accepting: a bounded batch per turn, the connection limit, and EMFILE back-off.

use mio::{Interest, Token};
use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::conn::Conn;
use super::{Reactor, LISTENER};
use crate::error::Code;
use crate::stats::Counters;

/// How long accepting pauses after the process ran out of file descriptors (unless one
/// frees up sooner: closing a connection resumes it).
const EMFILE_BACKOFF: Duration = Duration::from_millis(100);

impl Reactor {
    pub(super) fn can_accept(&self, now: Instant) -> bool {
        self.listener.is_some() && self.accept_paused_until.is_none_or(|t| t <= now)
    }

    /// Accepts at most `accept_batch` connections; leaves `accept_ready` set if more may wait.
    pub(super) fn accept_batch(&mut self) {
        let now = Instant::now();
        if !self.accept_ready || !self.can_accept(now) {
            return;
        }
        self.accept_paused_until = None;
        for _ in 0..self.shared.config.accept_batch {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((sock, _peer)) => {
                    self.admit(sock);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_ready = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_fd_exhaustion(&e) => {
                    self.accept_paused_until = Some(now + EMFILE_BACKOFF);
                    crate::metrics::add(&self.metrics().accept_pauses, 1);
                    if !self.emfile_reported {
                        self.emfile_reported = true;
                        self.report(
                            Code::TooManyOpenFiles,
                            format!(
                                "accept failed: {e}; the process is out of file descriptors. \
                                 Accepting pauses and resumes as connections close; lower \
                                 maxConnections or raise the open-file limit (ulimit -n)"
                            ),
                        );
                    }
                    return;
                }
                // ECONNABORTED and friends: that one connection is gone; keep going.
                Err(_) => {}
            }
        }
    }

    /// A connection Node accepted: admitted like our own, then fed what Node already read.
    pub(super) fn adopt(&mut self, sock: std::net::TcpStream, mut bytes: Vec<u8>) {
        if self.stopping {
            return; // dropping `sock` closes it
        }
        let Some(key) = self.admit(mio::net::TcpStream::from_std(sock)) else {
            return;
        };
        self.guarded(key, |me| me.ingest(key, &mut bytes));
    }

    /// Registers an accepted socket as a new connection in the handshake state.
    fn admit(&mut self, mut sock: mio::net::TcpStream) -> Option<usize> {
        Counters::add(&self.counters().accepted, 1);
        let _ = sock.set_nodelay(true);
        let max = self.shared.config.max_connections;
        // Reserve a place first, so two reactors cannot both take the last one.
        let over_limit = self
            .shared
            .connections
            .fetch_update(Relaxed, Relaxed, |n| (n < max).then_some(n + 1))
            .is_err();
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if let Err(e) = self.poll.registry().register(
            &mut sock,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            if !over_limit {
                self.shared.connections.fetch_sub(1, Relaxed);
            }
            self.report(Code::Io, format!("cannot register a connection: {e}"));
            return None;
        }
        let gen = self.timers.fresh_gen();
        entry.insert(Conn::new(sock, over_limit, gen));
        self.arm(key, self.shared.config.handshake_timeout);
        Some(key)
    }

    /// Registers the listener (called once when the reactor starts).
    pub(crate) fn register_listener(&mut self) -> io::Result<()> {
        if let Some(l) = self.listener.as_mut() {
            self.poll
                .registry()
                .register(l, LISTENER, Interest::READABLE)?;
        }
        Ok(())
    }
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}
