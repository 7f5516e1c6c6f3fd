//! The GraphQL-over-WebSocket protocols, as sans-IO state machines (quinn-proto style).
//!
//! Who calls it: the reactor, once per upgraded connection, and tests directly. At upgrade,
//! [`select_protocol`] (set as `Config::select_protocol`) picks the subprotocol; then
//! [`Session::open`] makes the connection's session, which the reactor embeds in its `Conn`.
//! From then on the reactor hands it decoded text messages, the app's decisions and results
//! (from JS), the end of the socket, and the time; the session answers through a [`Sink`]:
//! messages to send, [`AppEvent`]s for JS, and at most one close. It reads no clock (every
//! time-driven method takes `now`; [`Session::next_deadline`] is the one instant the
//! reactor's timer heap must arm for it) and knows nothing of sockets, napi or JS.
//!
//! What it owns: per-connection protocol state (a phase, one deadline, the active operation
//! ids in a set that allocates only while there are operations), the parsing and checking of
//! client messages, and the exact bytes of server messages. What it does not: WebSocket
//! framing and ping/pong frames (the reactor), GraphQL execution and hooks (JS).
//!
//! Files: `machine.rs` is the state machine both protocols share (phase, deadline, ids,
//! waiting before the ack, one `Closed`) and the `Dialect` trait, what a protocol adds to it;
//! `transport_ws.rs` (graphql-transport-ws, graphql-ws v6) and `legacy_ws.rs`
//! (subscriptions-transport-ws's `graphql-ws`) are each protocol's part, with its rules,
//! messages and close codes in the module comment; `session.rs` puts a machine and a
//! protocol together as the [`Session`] a connection holds; `stage.rs` the phases and what each holds; `ids.rs`
//! the id set; `parse.rs` reading client messages; `wire.rs` the bytes of server messages
//! (also the `next` prefix the hub keeps per subscriber); `event.rs` the sink and the app's
//! events; `answer.rs` the app's answers ([`SessionOp`]).
//!
//! Close codes decided by the machine, whatever the protocol: 4406 `Subprotocol not
//! acceptable` when the client offered neither subprotocol (the upgrade still answers 101, as
//! graphql-ws does); 4408 when `connection_init` does not come in time; 1008 when more
//! messages than its bounds wait for the app's decision on `connection_init` (`stage.rs`);
//! server-initiated closes ([`Session::close`]: 1000 normal, 1001 on dispose) with the
//! caller's code and reason. Reasons are always cut to 123 bytes at a UTF-8 boundary.

mod answer;
mod event;
mod ids;
mod legacy_ws;
mod machine;
mod parse;
mod session;
mod stage;
mod transport_ws;
mod wire;

use std::time::Duration;

pub use answer::{SessionOp, WholeKind};
pub use event::{AppEvent, Event, Output, Sink};
pub use ids::OpSerial;
pub use session::Session;
pub use stage::{max_waiting, EXTRA_WAITING, MAX_WAITING_BYTES, TOO_MANY_WAITING};
pub(crate) use wire::{
    json_id, next_body, next_prefix, prefix_has_json_id, prefix_id, prefix_json_id,
};
pub use wire::{Outgoing, Payload};

/// graphql-ws v6's subprotocol.
pub const GRAPHQL_TRANSPORT_WS: &str = "graphql-transport-ws";
/// subscriptions-transport-ws's subprotocol (same name as the graphql-ws package, older).
pub const GRAPHQL_WS: &str = "graphql-ws";

/// Picks the subprotocol at upgrade: `graphql-transport-ws` if offered, else `graphql-ws`,
/// else none. Fits `Config::select_protocol`.
pub fn select_protocol(offered: &crate::ws::upgrade::Offered<'_>) -> Option<&'static str> {
    choose(offered.iter())
}

/// [`select_protocol`] over plain tokens (exact, case-sensitive names).
pub fn choose<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    let mut legacy = false;
    for token in offered {
        if token == GRAPHQL_TRANSPORT_WS {
            return Some(GRAPHQL_TRANSPORT_WS);
        }
        legacy |= token == GRAPHQL_WS;
    }
    legacy.then_some(GRAPHQL_WS)
}

/// The protocol timings, shared by every connection of a server (sessions copy what they
/// need; they do not keep a reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `connectionInitWaitTimeout` (default 3 s); `None` disables it (0 or Infinity in JS).
    pub init_timeout: Option<Duration>,
    /// The keep-alive interval (default 12 s): the legacy protocol's `ka` period. `None`
    /// disables `ka` (WebSocket ping frames on the same interval are the reactor's).
    pub keep_alive: Option<Duration>,
    /// `maxSubscriptionsPerConnection` (default 100): a `subscribe` beyond it gets an
    /// `error` for that operation; the connection stays open.
    pub max_operations: u32,
    /// What the app does itself on graphql-transport-ws connections (default: nothing, the
    /// session answers alone and JS sees only init, subscribe, complete and close).
    pub app: AppHandles,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            init_timeout: Some(Duration::from_secs(3)),
            keep_alive: Some(Duration::from_secs(12)),
            max_operations: 100,
            app: AppHandles::default(),
        }
    }
}

/// graphql-transport-ws work the app takes over from the session, for graphql-ws options
/// that need JavaScript (the legacy protocol has no such messages and ignores these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppHandles {
    /// `jsonMessageReviver`: every client message goes to the app unread
    /// ([`AppEvent::Message`]); the app parses and checks it and hands the session its
    /// envelope ([`Session::on_app_message`]), so phases, ids and close codes are still
    /// decided here.
    pub parse: bool,
    /// `onPing` (or a replacer, or a reviver: the pong is then the app's to write): `ping`
    /// becomes [`AppEvent::Ping`] and the app sends the pong ([`Session::pong`]).
    pub ping: bool,
    /// `onPong`: `pong` becomes [`AppEvent::Pong`].
    pub pong: bool,
}

/// The refusal of one operation too many: graphql-transport-ws's `error` payload (an
/// array of GraphQL errors) when `array`, else the legacy message text.
fn too_many_operations(max: u32, array: bool) -> String {
    let text = format!(
        "Too many subscriptions on this connection: the server allows {max} at once \
         (maxSubscriptionsPerConnection); complete one before starting another"
    );
    if array {
        format!("[{{\"message\":\"{text}\"}}]")
    } else {
        text
    }
}
