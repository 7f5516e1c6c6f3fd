//! Driving a connection's GraphQL session: feeding it, applying what it asks, timing it.
//!
//! A session call writes into the reactor's [`Collect`] (frames, app events, a close);
//! [`Reactor::apply_session`] then queues the frames, tags the events with the connection's
//! id for the JS batch, starts the close, and re-arms the connection's one deadline from
//! `Session::next_deadline`. Events reach JS once per turn ([`Reactor::publish_events`]).

use bytes::Bytes;
use std::time::Instant;

use super::conn::{ConnId, ConnInfo, State};
use super::events::{ConnEvent, Request};
use super::outq::Entry;
use super::Reactor;
use crate::protocol::{self, AppEvent, Event, Outgoing, SessionOp};
use crate::ws::frame::OpCode;
use crate::ws::CloseCode;

/// Collects one session call's outputs (reused; allocation-free once warm).
#[derive(Default)]
pub(crate) struct Collect {
    frames: Vec<Entry>,
    events: Vec<Event>,
    close: Option<(CloseCode, String)>,
    /// Operation results (`next`, legacy `data`) and `error`s among the frames, for metrics.
    results: u64,
    errors: u64,
}

impl protocol::Sink for Collect {
    fn send(&mut self, msg: Outgoing<'_>) {
        if msg.id.is_some() {
            match msg.kind {
                "next" | "data" => self.results += 1,
                "error" => self.errors += 1,
                _ => {}
            }
        }
        if let Some(whole) = msg.whole() {
            // The app wrote the whole message: sent as it is, not copied.
            return self.frames.push(Entry::ws(OpCode::Text, whole.clone()));
        }
        let frame = match (msg.as_static(), msg.shared()) {
            (Some(s), _) => Entry::ws(OpCode::Text, Bytes::from_static(s.as_bytes())),
            // The app's payload is framed around, not copied.
            (None, Some(payload)) => {
                let mut head = Vec::new();
                msg.write_head(&mut head);
                let tail = msg.tail().as_bytes();
                Entry::parts(OpCode::Text, Bytes::from(head), payload.clone(), tail)
            }
            (None, None) => {
                let mut buf = Vec::new();
                msg.encode(&mut buf);
                Entry::ws(OpCode::Text, Bytes::from(buf))
            }
        };
        self.frames.push(frame);
    }

    fn app(&mut self, event: AppEvent<'_>) {
        self.events.push(event.into());
    }

    fn close(&mut self, code: CloseCode, reason: &str) {
        self.close = Some((code, reason.to_owned()));
    }
}

impl Reactor {
    pub(crate) fn conn_id(&self, key: usize) -> Option<ConnId> {
        self.conns
            .get(key)
            .map(|c| ConnId::new(self.id, key, c.gen))
    }

    /// Runs `f` on the connection's session with the collector, then applies the outputs.
    pub(crate) fn with_session(
        &mut self,
        key: usize,
        f: impl FnOnce(&mut protocol::Session, &mut Collect),
    ) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        f(&mut conn.session, &mut self.collect);
        self.apply_session(key);
    }

    /// Queues what the last session call produced, for connection `key`.
    pub(crate) fn apply_session(&mut self, key: usize) {
        let mut out = std::mem::take(&mut self.collect);
        let id = self.conn_id(key);
        if out.results + out.errors > 0 {
            let m = self.metrics();
            crate::metrics::add(&m.results, std::mem::take(&mut out.results));
            crate::metrics::add(&m.operation_errors, std::mem::take(&mut out.errors));
        }
        for frame in out.frames.drain(..) {
            // A slow-consumer close in the middle ends what this call may still send.
            if self.conns.get(key).is_none_or(|c| c.state != State::Open) {
                break;
            }
            self.send(key, frame);
        }
        out.frames.clear();
        for event in out.events.drain(..) {
            let Some(conn) = id else { break };
            // The request details travel with the connection's first event (`Init`, or an
            // `Opened` before any other), then the connection stops holding them.
            let first = match &event {
                Event::Closed { .. } => None,
                _ => self.conns.get_mut(key).and_then(|c| c.info.take()),
            };
            let mut request = first.map(|info| Box::new(self.request(*info)));
            if request.is_some() && !matches!(event, Event::Init { .. }) {
                self.pending_events.push(ConnEvent {
                    conn,
                    event: Event::Opened,
                    request: request.take(),
                });
            }
            self.pending_events.push(ConnEvent {
                conn,
                event,
                request,
            });
        }
        if let Some((code, reason)) = out.close.take() {
            self.close_frame(key, code, &reason);
        }
        self.collect = out;
        self.rearm_session(key);
    }

    /// The upgrade request's url, requested headers (named) and subprotocol, as events carry them.
    fn request(&self, info: ConnInfo) -> Request {
        let headers = info
            .headers
            .into_iter()
            .map(|(i, v)| {
                let name = self.shared.config.headers[i].clone();
                (name, String::from_utf8_lossy(&v).into_owned())
            })
            .collect();
        Request {
            url: info.url.into(),
            headers,
            protocol: info.protocol.unwrap_or(""),
        }
    }

    /// Keeps the connection's one deadline in step with its session's.
    fn rearm_session(&mut self, key: usize) {
        let Some(conn) = self.conns.get(key) else {
            return;
        };
        if conn.state != State::Open {
            return;
        }
        let want = conn.session.next_deadline();
        let armed = if conn.timer_gen != 0 {
            conn.deadline
        } else {
            None
        };
        if want != armed {
            match want {
                Some(at) => self.arm_at(key, at),
                None => self.disarm(key),
            }
        }
    }

    /// The socket ended without the session closing it: the app hears `Closed` once.
    pub(crate) fn notify_closed(&mut self, key: usize, code: CloseCode, reason: &str) {
        match self.conns.get(key) {
            Some(c) if !c.session.is_closed() => {}
            _ => return,
        }
        self.with_session(key, |s, out| s.transport_closed(code, reason, out));
    }

    /// A deadline of an open connection passed: the session acts on it.
    pub(crate) fn session_timeout(&mut self, key: usize, now: Instant) {
        self.with_session(key, |s, out| s.on_timeout(now, out));
    }

    /// JS answered for a connection (ignored when it has gone, or its slot was reused).
    pub(crate) fn session_op(&mut self, conn: ConnId, op: SessionOp) {
        let key = conn.key();
        match self.conns.get(key) {
            Some(c) if conn.matches_gen(c.gen) && c.state == State::Open => {}
            _ => return,
        }
        let now = Instant::now();
        self.with_session(key, |s, out| s.apply(op, now, out));
    }

    /// Hands this turn's app events to the JS batch; wakes JS once per empty batch.
    pub(crate) fn publish_events(&mut self) {
        if self.shared.events.publish(&mut self.pending_events) {
            self.shared.embedder.events_ready();
        }
    }
}
