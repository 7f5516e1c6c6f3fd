//! Server configuration: every limit and timeout, with the defaults the docs promise.
//!
//! Built once by the napi bridge (or a Rust test) and shared read-only by all reactors.

use std::time::Duration;

/// What a connection does with the messages it receives: GraphQL sessions, or the two bare
/// WebSocket modes that `listen()` keeps for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every text/binary message comes back to its sender.
    Echo,
    /// Every text/binary message goes to every open connection, sender included.
    Broadcast,
    /// GraphQL over WebSocket: graphql-transport-ws or legacy graphql-ws sessions, whose
    /// app events go to JS in batches.
    GraphQL,
}

/// How the reactors share the listening port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListenerMode {
    /// One socket per reactor bound with `SO_REUSEPORT`; the kernel spreads connections.
    ReusePort,
    /// One socket, registered in every reactor's poll; whichever wakes first accepts.
    Shared,
    /// No listener: connections are handed over from Node's `http.Server` (`'upgrade'`).
    None,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Request-target path that upgrades (query string ignored).
    pub(crate) path: String,
    pub(crate) mode: Mode,
    pub(crate) listener: ListenerMode,
    /// Share the port with other servers (this process or others, same user) that opt in
    /// too (`reusePort`). Off: a port in use fails with `ERR_SUBWIRE_ADDR_IN_USE`.
    pub(crate) reuse_port: bool,
    /// Reactor threads (default: available cores).
    pub(crate) reactors: usize,
    /// Upgraded plus handshaking connections; beyond it requests get 503.
    pub(crate) max_connections: usize,
    /// Largest message, in bytes, after reassembly (default 1 MiB); over it → close 1009.
    pub(crate) max_payload: usize,
    /// Largest HTTP request head (default 8 KiB); over it → 431.
    pub(crate) max_header_bytes: usize,
    /// Outbound bytes allowed to wait behind the message being written, per connection
    /// (default 4 MiB); over it → close 1008 `slow consumer` (`OutQueue::backlog`).
    pub(crate) max_buffered_bytes: usize,
    /// `None` accepts any Origin.
    pub(crate) allowed_origins: Option<Vec<String>>,
    /// Request headers copied at upgrade for the app's hooks (lowercase names).
    pub(crate) headers: Vec<String>,
    /// A connection must finish its HTTP upgrade within this (default 10 s).
    pub(crate) handshake_timeout: Duration,
    /// After our close frame, or an HTTP error, the peer has this long to close (default 5 s).
    pub(crate) close_timeout: Duration,
    /// Picks the subprotocol from what the client offered (`protocol::select_protocol` in
    /// GraphQL mode; none otherwise).
    pub(crate) select_protocol: fn(&crate::ws::upgrade::Offered<'_>) -> Option<&'static str>,
    /// Ping every open connection this often; one that has not answered the previous ping
    /// by the next sweep is dropped, so half-open sockets never pile up. `None`: off.
    pub(crate) ping_interval: Option<Duration>,
    /// Protocol timings for GraphQL sessions (init timeout, legacy `ka`).
    pub(crate) session: crate::protocol::Settings,
    /// Fault injection for tests: a text message equal to this makes the reactor panic while
    /// handling it (proving a panic closes one connection, not the process).
    pub(crate) panic_on: Option<String>,
    /// Accepts per reactor turn, so a storm cannot starve established connections.
    pub(crate) accept_batch: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 0,
            path: "/".into(),
            mode: Mode::Echo,
            listener: ListenerMode::ReusePort,
            reuse_port: false,
            reactors: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_connections: 100_000,
            max_payload: 1 << 20,
            max_header_bytes: 8 << 10,
            max_buffered_bytes: 4 << 20,
            allowed_origins: None,
            headers: Vec::new(),
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            select_protocol: |_| None,
            ping_interval: None,
            session: crate::protocol::Settings::default(),
            panic_on: None,
            accept_batch: 128,
        }
    }
}
