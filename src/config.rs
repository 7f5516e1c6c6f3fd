//! Server configuration: every limit and timeout, with the defaults the docs promise.
//!
//! Built once by the napi bridge (or a Rust test) and shared read-only by all reactors.

use std::time::Duration;

/// What a connection does with the messages it receives, until the GraphQL protocols exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
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
pub enum ListenerMode {
    /// One socket per reactor bound with `SO_REUSEPORT`; the kernel spreads connections.
    ReusePort,
    /// One socket, registered in every reactor's poll; whichever wakes first accepts.
    Shared,
    /// No listener: connections are handed over from Node's `http.Server` (`'upgrade'`).
    None,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// Request-target path that upgrades (query string ignored).
    pub path: String,
    pub mode: Mode,
    pub listener: ListenerMode,
    /// Share the port with other servers (this process or others, same user) that opt in
    /// too (`reusePort`). Off: a port in use fails with `ERR_SUBWIRE_ADDR_IN_USE`.
    pub reuse_port: bool,
    /// Reactor threads (default: available cores).
    pub reactors: usize,
    /// Upgraded plus handshaking connections; beyond it requests get 503.
    pub max_connections: usize,
    /// Largest message, in bytes, after reassembly (default 1 MiB); over it → close 1009.
    pub max_payload: usize,
    /// Largest HTTP request head (default 8 KiB); over it → 431.
    pub max_header_bytes: usize,
    /// Per-connection outbound bytes allowed to wait for the socket (default 4 MiB).
    pub max_buffered_bytes: usize,
    /// `None` accepts any Origin.
    pub allowed_origins: Option<Vec<String>>,
    /// Request headers copied at upgrade for the app's hooks (lowercase names).
    pub headers: Vec<String>,
    /// A connection must finish its HTTP upgrade within this (default 10 s).
    pub handshake_timeout: Duration,
    /// After our close frame, or an HTTP error, the peer has this long to close (default 5 s).
    pub close_timeout: Duration,
    /// Picks the subprotocol from what the client offered (the protocol layer sets this).
    pub select_protocol: fn(&crate::ws::upgrade::Offered<'_>) -> Option<&'static str>,
    /// Ping every open connection this often; one that has not answered the previous ping
    /// by the next sweep is dropped, so half-open sockets never pile up. `None`: off.
    pub ping_interval: Option<Duration>,
    /// Protocol timings for GraphQL sessions (init timeout, legacy `ka`).
    pub session: crate::protocol::Settings,
    /// Fault injection for tests: a text message equal to this makes the reactor panic while
    /// handling it (proving a panic closes one connection, not the process).
    pub panic_on: Option<String>,
    /// Accepts per reactor turn, so a storm cannot starve established connections.
    pub accept_batch: usize,
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
