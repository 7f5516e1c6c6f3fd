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
//! client messages (`parse.rs`), and the exact bytes of server messages
//! ([`Outgoing`]). What it does not: WebSocket framing and ping/pong frames (the reactor),
//! GraphQL execution and hooks (JS).
//!
//! Files: `transport_ws.rs` (graphql-transport-ws, graphql-ws v6) and `legacy_ws.rs`
//! (subscriptions-transport-ws's `graphql-ws`) hold each protocol's rules, messages and
//! close codes in their module comments; `output.rs` the sink and message encoding;
//! `parse.rs` message reading; `stage.rs` the phases and what each holds (the messages
//! waiting for the app's decision, then the ids); `ids.rs` the id set.
//!
//! Close codes decided here, whatever the protocol: 4406 `Subprotocol not acceptable` when
//! the client offered neither subprotocol (the upgrade still answers 101, as graphql-ws
//! does); 1008 when more messages than its bounds wait for the app's decision on
//! `connection_init` (`stage.rs`); server-initiated closes ([`Session::close`]: 1000 normal,
//! 1001 on dispose) with the caller's code and reason. Reasons are always cut to 123 bytes
//! at a UTF-8 boundary.

mod ids;
pub mod legacy_ws;
mod output;
mod parse;
mod stage;
pub mod transport_ws;

use bytes::Bytes;
use std::time::{Duration, Instant};

use crate::ws::CloseCode;

pub use ids::{fresh_serial, Ids, OpSerial};
pub use legacy_ws::LegacyWs;
pub use output::{
    cut_reason, write_json_str, AppEvent, Event, Outgoing, Output, Payload, Sink, MAX_REASON,
};
pub use stage::{max_waiting, EXTRA_WAITING, MAX_WAITING_BYTES, TOO_MANY_WAITING};
pub use transport_ws::TransportWs;

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

/// One connection's protocol session.
#[derive(Debug)]
pub enum Session {
    TransportWs(TransportWs),
    LegacyWs(LegacyWs),
    /// No usable subprotocol (closed with 4406), or nothing left to do.
    Done,
}

/// Calls the same method on whichever protocol the session speaks.
macro_rules! each {
    ($self:ident, $s:ident => $e:expr, $done:expr) => {
        match $self {
            Session::TransportWs($s) => $e,
            Session::LegacyWs($s) => $e,
            Session::Done => $done,
        }
    };
}

impl Session {
    /// The session of a connection whose WebSocket opened at `now` with `protocol` (what
    /// [`select_protocol`] chose). Without one it closes at once with 4406.
    pub fn open(
        protocol: Option<&str>,
        settings: &Settings,
        now: Instant,
        out: &mut dyn Sink,
    ) -> Session {
        match protocol {
            Some(GRAPHQL_TRANSPORT_WS) => Session::TransportWs(TransportWs::new(settings, now)),
            Some(GRAPHQL_WS) => Session::LegacyWs(LegacyWs::new(settings, now)),
            _ => {
                let code = CloseCode::SUBPROTOCOL_NOT_ACCEPTABLE;
                end(out, code, code.reason(), false, true);
                Session::Done
            }
        }
    }

    /// The subprotocol spoken, `None` after a 4406.
    pub fn protocol(&self) -> Option<&'static str> {
        match self {
            Session::TransportWs(_) => Some(GRAPHQL_TRANSPORT_WS),
            Session::LegacyWs(_) => Some(GRAPHQL_WS),
            Session::Done => None,
        }
    }

    /// One text message from the client. (`now` is unused today; it is part of the
    /// contract so that time-dependent rules never need a clock.)
    pub fn on_text(&mut self, text: &str, _now: Instant, out: &mut dyn Sink) {
        each!(self, s => s.on_text(text, out), ())
    }

    /// A client message the app read itself ([`AppHandles::parse`]), as its envelope:
    /// `{"type":…,"id"?:…,"payload"?:<token>}`. The session applies its rules as to a client
    /// message, except the payload's shape (the app checked it); `<token>` (any JSON value,
    /// e.g. a number naming what the app kept) comes back as the payload of the event the
    /// message produces (`Init`, `Subscribe`, `Ping`, `Pong`, `Refused`).
    /// graphql-transport-ws only; ignored otherwise.
    pub fn on_app_message(&mut self, envelope: &str, out: &mut dyn Sink) {
        if let Session::TransportWs(s) = self {
            s.on_app_message(envelope, out);
        }
    }

    /// The app's `pong` (after a [`AppEvent::Ping`]): the whole message as it wrote it.
    /// graphql-transport-ws only; nothing once closed.
    pub fn pong(&mut self, message: &Bytes, out: &mut dyn Sink) {
        if let Session::TransportWs(s) = self {
            s.pong(message, out);
        }
    }

    /// The one instant at which [`Session::on_timeout`] has something to do, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        each!(self, s => s.next_deadline(), None)
    }

    /// Time passed: acts on the deadline if `now` reached it (nothing happens before).
    pub fn on_timeout(&mut self, now: Instant, out: &mut dyn Sink) {
        each!(self, s => s.on_timeout(now, out), ())
    }

    /// The app accepted the connection. `payload` (a JSON object, as the app serialized it)
    /// goes into graphql-transport-ws's `connection_ack`; the legacy ack has none. Messages
    /// that waited for the decision are handled right after the ack, in order.
    pub fn accept_init(&mut self, payload: Option<&str>, now: Instant, out: &mut dyn Sink) {
        match self {
            Session::TransportWs(s) => s.accept_init(payload.map(Payload::Json), out),
            Session::LegacyWs(s) => s.accept_init(now, out),
            Session::Done => {}
        }
    }

    /// [`Session::accept_init`] with the whole `connection_ack` as the app wrote it
    /// (graphql-transport-ws; the legacy protocol sends its own ack).
    pub fn accept_init_whole(&mut self, message: &Bytes, now: Instant, out: &mut dyn Sink) {
        match self {
            Session::TransportWs(s) => s.accept_init(Some(Payload::Whole(message)), out),
            Session::LegacyWs(s) => s.accept_init(now, out),
            Session::Done => {}
        }
    }

    /// The app rejected the connection: 4403 `Forbidden`, or legacy `connection_error`
    /// {message} then 1011.
    pub fn reject_init(&mut self, message: &str, out: &mut dyn Sink) {
        match self {
            Session::TransportWs(s) => s.reject_init(out),
            Session::LegacyWs(s) => s.reject_init(message, out),
            Session::Done => {}
        }
    }

    /// A result for operation `id` (`next`, legacy `data`), payload bytes framed as given.
    /// False when `id` is not active (the client completed it): nothing is sent.
    /// `serial` is the operation's (from its `Subscribe` event), or 0 for whichever holds `id`:
    /// an answer for an operation that ended, whose id is now another's, is dropped too.
    pub fn next(
        &mut self,
        id: &str,
        serial: OpSerial,
        payload: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        each!(self, s => s.next(id, serial, payload, out), false)
    }

    /// Operation `id` failed: `error` with `errors` as given; frees the id.
    pub fn error(
        &mut self,
        id: &str,
        serial: OpSerial,
        errors: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        each!(self, s => s.error(id, serial, errors, out), false)
    }

    /// Operation `id` ended: `complete`; frees the id.
    pub fn complete(&mut self, id: &str, serial: OpSerial, out: &mut dyn Sink) -> bool {
        each!(self, s => s.complete(id, serial, out), false)
    }

    /// `next`, `error` or `complete` (`kind`) for operation `id`, the whole message as the
    /// app wrote it (graphql-ws's `jsonMessageReplacer`). Sent, and the id freed for
    /// `error`/`complete`, exactly as by [`Session::next`], [`Session::error`] and
    /// [`Session::complete`]: only while `id` is held by `serial`.
    pub fn send_whole(
        &mut self,
        kind: WholeKind,
        id: &str,
        serial: OpSerial,
        message: &Bytes,
        out: &mut dyn Sink,
    ) -> bool {
        each!(self, s => s.send_whole(kind, id, serial, message, out), false)
    }

    /// An internal error (a hook threw): 4500 with `message`, or legacy `connection_error`
    /// {message} then 1011.
    pub fn internal_error(&mut self, message: &str, out: &mut dyn Sink) {
        match self {
            Session::TransportWs(s) => s.close(CloseCode::INTERNAL_SERVER_ERROR, message, out),
            Session::LegacyWs(s) => s.internal_error(message, out),
            Session::Done => {}
        }
    }

    /// The server closes the connection (1000 normal, 1001 on dispose).
    pub fn close(&mut self, code: CloseCode, reason: &str, out: &mut dyn Sink) {
        each!(self, s => s.close(code, reason, out), ())
    }

    /// The socket ended by itself (the peer's close frame: its code or 1005; a broken socket:
    /// 1006). The app hears `Closed` once; nothing is sent.
    pub fn transport_closed(&mut self, code: CloseCode, reason: &str, out: &mut dyn Sink) {
        each!(self, s => s.transport_closed(code, reason, out), ())
    }

    /// Whether the session is over (it produces nothing more).
    pub fn is_closed(&self) -> bool {
        each!(self, s => s.is_closed(), true)
    }

    /// Whether the app accepted the connection (and it is still open).
    pub fn acknowledged(&self) -> bool {
        each!(self, s => s.acknowledged(), false)
    }

    /// The serial of the operation holding `id`, if it is active.
    pub fn serial(&self, id: &str) -> Option<OpSerial> {
        each!(self, s => s.serial(id), None)
    }

    /// Whether `id` is held by operation `serial` (0: by any), so results for it may be sent.
    pub fn is_active(&self, id: &str, serial: OpSerial) -> bool {
        each!(self, s => s.is_active(id, serial), false)
    }

    /// Whether operation `serial` is active, told without its id (a scan of serials);
    /// None when only [`Session::is_active`] can tell.
    pub fn holds(&self, serial: OpSerial) -> Option<bool> {
        each!(self, s => s.holds(serial), Some(false))
    }

    /// Active operations.
    pub fn active(&self) -> usize {
        each!(self, s => s.active(), 0)
    }
}

/// Which operation message a whole app-written message is ([`Session::send_whole`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WholeKind {
    Next,
    Error,
    Complete,
}

impl WholeKind {
    /// Its `type` (legacy: `data` for `next`) and whether it ends the operation.
    fn kind(self, legacy: bool) -> (&'static str, bool) {
        match self {
            WholeKind::Next if legacy => ("data", false),
            WholeKind::Next => ("next", false),
            WholeKind::Error => ("error", true),
            WholeKind::Complete => ("complete", true),
        }
    }
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

/// Ends a session: the close (when the session initiates it) and the app's `Closed`.
fn end(out: &mut dyn Sink, code: CloseCode, reason: &str, acknowledged: bool, send_close: bool) {
    let reason = cut_reason(reason);
    if send_close {
        out.close(code, reason);
    }
    out.app(AppEvent::Closed {
        code,
        reason,
        acknowledged,
    });
}
