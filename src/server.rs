//! A running server: its reactor threads, their inboxes, and the way to stop them.
//!
//! Created by the napi bridge's `listen()` (or a Rust test) on the calling thread, so
//! bind errors return synchronously. `shutdown()` asks every reactor to close its
//! connections (1001) and exit; `join()` waits for that and is what `dispose()` awaits.

use crossbeam_channel::unbounded;
use mio::net::TcpListener;
use mio::{Poll, Waker};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::config::Config;
use crate::error::{Code, SubwireError};
use crate::hub::{Hub, HubEvent, HubHandle};
use crate::protocol::SessionOp;
use crate::reactor::conn::ConnId;
use crate::reactor::events::Batch;
use crate::reactor::inbox::{Command, Inbox};
use crate::reactor::listener;
use crate::reactor::shared::{Embedder, Shared};
use crate::reactor::{Reactor, WAKER};
use crate::stats::Stats;
use crate::ws::frame::OpCode;

pub(crate) struct Server {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    hub: HubHandle,
    local_addr: Option<SocketAddr>,
    /// Where the next handed-over socket goes (round robin over reactors).
    next_adopt: std::sync::atomic::AtomicUsize,
}

fn io_err(what: &str, e: std::io::Error) -> SubwireError {
    SubwireError::new(Code::Io, format!("{what}: {e}"))
}

impl Server {
    /// Binds and starts `config.reactors` reactor threads.
    /// `events` is where app events wait for the embedder to drain them.
    pub(crate) fn start(
        mut config: Config,
        embedder: Box<dyn Embedder>,
        events: Arc<Batch>,
    ) -> Result<Server, SubwireError> {
        config.reactors = config.reactors.clamp(1, 64);
        let count = config.reactors;
        let (listeners, local_addr) = listener::bind(&config, count)?;
        let shared = Arc::new(Shared::new(config, embedder, events));
        let mut inboxes = Vec::with_capacity(count);
        let mut reactors = Vec::with_capacity(count);
        let mut listeners = listeners.into_iter();
        for id in 0..count {
            let listener = listeners.next().map(TcpListener::from_std);
            let poll = Poll::new().map_err(|e| io_err("cannot create a poll instance", e))?;
            let waker = Waker::new(poll.registry(), WAKER)
                .map_err(|e| io_err("cannot create a waker", e))?;
            let (tx, rx) = unbounded();
            inboxes.push(Inbox {
                tx,
                waker: Arc::new(waker),
            });
            let mut r = Reactor::new(id, poll, listener, shared.clone(), rx);
            r.register_listener()
                .map_err(|e| io_err("cannot register the listener", e))?;
            reactors.push(r);
        }
        shared.inboxes.set(inboxes);
        let (hub, hub_handle) = Hub::new(shared.clone());
        let mut threads = Vec::with_capacity(count + 1);
        let guard = shared.clone();
        let t = std::thread::Builder::new()
            .name("subwire-hub".into())
            .spawn(move || {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hub.run())).is_err() {
                    guard.embedder.error(SubwireError::new(
                        Code::ReactorPanic,
                        "the trigger hub panicked and stopped; shared subscriptions get no more events",
                    ));
                }
            })
            .map_err(|e| io_err("cannot start the hub thread", e))?;
        threads.push(t);
        for (id, r) in reactors.into_iter().enumerate() {
            let guard = shared.clone();
            let t = std::thread::Builder::new()
                .name(format!("subwire-reactor-{id}"))
                .spawn(move || {
                    // The thread boundary: a panic outside any one connection's handling ends
                    // this reactor (its sockets close as it unwinds), never the process.
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.run())).is_err() {
                        guard.embedder.error(SubwireError::new(
                            Code::ReactorPanic,
                            format!(
                                "reactor {id} panicked and stopped; its connections were closed"
                            ),
                        ));
                    }
                })
                .map_err(|e| io_err("cannot start a reactor thread", e));
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    shared.inboxes.broadcast(|| Command::Shutdown);
                    hub_handle.send(HubEvent::Shutdown);
                    return Err(e);
                }
            }
        }
        Ok(Server {
            shared,
            threads,
            hub: hub_handle,
            local_addr,
            next_adopt: Default::default(),
        })
    }

    /// The bound address; `None` when attached to Node's `http.Server`.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Takes over a connection Node accepted: `fd` is duplicated (the caller then closes
    /// its own), and `bytes` (the request head as Node received it, plus any bytes after it)
    /// are handled by a reactor as if it had read them: same upgrade checks, same 101 or
    /// HTTP error. Fails if `fd` is not a connected TCP socket.
    pub(crate) fn adopt(&self, fd: std::os::fd::RawFd, bytes: Vec<u8>) -> Result<(), SubwireError> {
        let sock = crate::sys::dup_tcp_stream(fd).map_err(|e| {
            SubwireError::new(
                Code::Attach,
                format!("cannot take over the socket (fd {fd}): {e}"),
            )
        })?;
        let inboxes = self.shared.inboxes.all();
        if inboxes.is_empty() || self.is_stopping() {
            return Err(SubwireError::new(Code::Disposed, "the server was disposed"));
        }
        let r = self.next_adopt.fetch_add(1, Relaxed) % inboxes.len();
        inboxes[r].send(Command::Adopt { sock, bytes });
        Ok(())
    }

    pub(crate) fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The server's metric families, read now (`crate::metrics::families`).
    pub(crate) fn metric_families(&self) -> Vec<crate::metrics::Family> {
        self.shared.metric_families()
    }

    /// Sends one message to every open connection (the payload is shared, not copied).
    pub(crate) fn broadcast(&self, opcode: OpCode, payload: bytes::Bytes) {
        self.shared.inboxes.broadcast(|| Command::Broadcast {
            opcode,
            payload: payload.clone(),
        });
    }

    /// Hands the app's answer to the reactor that owns `conn`; false if it has gone.
    pub(crate) fn session(&self, conn: ConnId, op: SessionOp) -> bool {
        self.shared.inboxes.send_to(conn, op)
    }

    /// Hands many answers to their reactors, one command and one wake-up per reactor.
    pub(crate) fn sessions(&self, ops: Vec<(ConnId, SessionOp)>) -> bool {
        self.shared.inboxes.send_batch(ops)
    }

    /// Hands an event to the trigger hub; false once it has stopped.
    pub(crate) fn hub(&self, ev: HubEvent) -> bool {
        !self.is_stopping() && self.hub.send(ev)
    }

    /// The way to the hub thread, for a sender on another thread (the broker's relay).
    pub(crate) fn hub_handle(&self) -> HubHandle {
        self.hub.clone()
    }

    /// Asks every reactor and the hub to stop; returns at once. Safe to call twice.
    pub(crate) fn shutdown(&self) {
        if !self.shared.stopping.swap(true, Relaxed) {
            self.shared.inboxes.broadcast(|| Command::Shutdown);
            self.hub.send(HubEvent::Shutdown);
        }
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.shared.stopping.load(Relaxed)
    }

    /// Waits for the reactor and hub threads to end (after `shutdown`). Blocking: call it off the
    /// JS thread.
    pub(crate) fn join(&mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}
