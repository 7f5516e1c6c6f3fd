//! The read path: socket → scratch buffer → handshake or frames → actions.
//!
//! Bytes land in the reactor's scratch buffer; only an incomplete handshake or frame is
//! kept, in a pooled per-connection buffer. Messages decoded from a read become
//! [`Action`]s, applied once the reader is done with the buffer.

use bytes::Bytes;
use std::io::{self, Read};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use super::conn::{ConnInfo, State};
use super::inbox::Command;
use super::outq::Entry;
use super::{Reactor, READ_BUDGET};
use crate::config::Mode;
use crate::protocol::Session;
use crate::stats::Counters;
use crate::ws::frame::OpCode;
use crate::ws::message::Message;
use crate::ws::upgrade::{self, Policy, Reject};
use crate::ws::CloseCode;

/// What a decoded message asks the reactor to do.
pub(crate) enum Action {
    /// A data message to handle per the server's mode.
    Data(OpCode, Bytes),
    /// Answer a ping.
    Pong(Bytes),
    /// The peer sent a close frame: its code (`None`: an empty payload) and its payload
    /// (code and reason, validated), which the answer echoes.
    PeerClose(Option<CloseCode>, Bytes),
}

impl Reactor {
    /// Reads until the socket is drained or this connection's budget for the turn is spent.
    pub(super) fn on_readable(&mut self, key: usize) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut budget = READ_BUDGET;
        while let Some(conn) = self.conns.get_mut(key) {
            let n = match (&conn.sock).read(&mut scratch) {
                Ok(0) => {
                    // The peer hung up (or half-closed): nothing more will come.
                    self.drop_conn(key);
                    break;
                }
                Ok(n) => {
                    crate::metrics::add(&self.shared.metrics[self.id].bytes_in, n as u64);
                    n
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.drop_conn(key);
                    break;
                }
            };
            self.ingest(key, &mut scratch[..n]);
            if n >= budget {
                self.again.push(key);
                break;
            }
            budget -= n;
        }
        self.scratch = scratch;
    }

    /// Processes freshly read bytes, prefixed by whatever the connection kept from before.
    pub(super) fn ingest(&mut self, key: usize, fresh: &mut [u8]) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.inbuf.is_empty() {
            let (used, need) = self.consume(key, fresh);
            if used < fresh.len() {
                if let Some(conn) = self.conns.get_mut(key) {
                    let rest = &fresh[used..];
                    let mut buf = self.pool.take_buf(need.max(rest.len()));
                    buf.extend_from_slice(rest);
                    conn.inbuf = buf;
                }
            }
        } else {
            let mut buf = std::mem::take(&mut conn.inbuf);
            buf.extend_from_slice(fresh);
            let (used, need) = self.consume(key, &mut buf);
            buf.drain(..used.min(buf.len()));
            match self.conns.get_mut(key) {
                Some(conn) if !buf.is_empty() => {
                    if buf.capacity() < need {
                        buf.reserve(need - buf.len());
                    }
                    conn.inbuf = buf;
                }
                _ => self.pool.give_buf(buf),
            }
        }
    }

    /// Consumes bytes per the connection's state: `(bytes used, bytes wanted to progress)`.
    fn consume(&mut self, key: usize, data: &mut [u8]) -> (usize, usize) {
        match self.conns[key].state {
            State::Handshake { over_limit } => self.handshake(key, data, over_limit),
            State::Open | State::Closing => self.frames(key, data),
            State::Closed | State::Rejected | State::Failed => (data.len(), 0),
        }
    }

    fn handshake(&mut self, key: usize, data: &mut [u8], over_limit: bool) -> (usize, usize) {
        let shared = self.shared.clone();
        let cfg = &shared.config;
        let policy = Policy {
            path: &cfg.path,
            max_header_bytes: cfg.max_header_bytes,
            allowed_origins: cfg.allowed_origins.as_deref(),
            select_protocol: cfg.select_protocol,
        };
        let (header_len, resp, n) = match upgrade::parse(data, &policy) {
            Ok(None) => return (0, 0),
            Err(reject) => {
                self.reject(key, reject);
                return (data.len(), 0);
            }
            Ok(Some(_)) if over_limit => {
                self.reject(key, Reject::ServiceUnavailable);
                return (data.len(), 0);
            }
            Ok(Some(up)) => {
                let mut resp = [0u8; 256];
                let n = upgrade::write_accept(&up, &mut resp);
                if !cfg.headers.is_empty() || cfg.mode == Mode::GraphQL {
                    let headers = (cfg.headers.iter().enumerate())
                        .filter_map(|(i, name)| up.header(name).map(|v| (i, Box::from(v))))
                        .collect();
                    self.conns[key].info = Some(Box::new(ConnInfo {
                        url: up.target.into(),
                        headers,
                        protocol: up.protocol,
                    }));
                }
                (up.header_len, resp, n)
            }
        };
        self.conns[key].state = State::Open;
        self.disarm(key);
        Counters::add(&self.counters().upgrades, 1);
        Counters::add(&self.counters().open, 1);
        self.write_now(key, &resp[..n]);
        if !self.conns.contains(key) {
            return (data.len(), 0);
        }
        if cfg.mode == Mode::GraphQL {
            let protocol = self.conns[key].info.as_ref().and_then(|i| i.protocol);
            let settings = cfg.session;
            let now = Instant::now();
            self.with_session(key, |s, out| {
                *s = Session::open(protocol, &settings, now, out)
            });
            if self.conns.get(key).is_none_or(|c| c.state != State::Open) {
                return (data.len(), 0);
            }
        }
        let (used, need) = self.frames(key, &mut data[header_len..]);
        (header_len + used, need)
    }

    /// Decodes frames and applies what they ask for.
    fn frames(&mut self, key: usize, data: &mut [u8]) -> (usize, usize) {
        let max_payload = self.shared.config.max_payload;
        let graphql = self.shared.config.mode == Mode::GraphQL;
        let now = Instant::now();
        let conn = &mut self.conns[key];
        let closing = conn.state == State::Closing;
        let actions = &mut self.actions;
        let session = &mut conn.session;
        let collect = &mut self.collect;
        let mut count = 0u64;
        let mut conn_alive = false;
        let result = conn.reader.feed(data, max_payload, &mut |m| {
            count += 1;
            match m {
                Message::Text(_) | Message::Binary(_) | Message::Ping(_) if closing => {}
                Message::Text(s) if graphql => {
                    session.on_text(s, now, collect);
                    // Once the session closed, the rest of the input is not read.
                    return !session.is_closed();
                }
                Message::Binary(b) if graphql => {
                    match std::str::from_utf8(b) {
                        Ok(s) => session.on_text(s, now, collect),
                        Err(_) => {
                            let code = CloseCode::BAD_REQUEST;
                            session.close(code, code.reason(), collect)
                        }
                    }
                    return !session.is_closed();
                }
                Message::Text(s) => actions.push(Action::Data(
                    OpCode::Text,
                    Bytes::copy_from_slice(s.as_bytes()),
                )),
                Message::Binary(b) => {
                    actions.push(Action::Data(OpCode::Binary, Bytes::copy_from_slice(b)))
                }
                Message::Ping(p) => actions.push(Action::Pong(Bytes::copy_from_slice(p))),
                Message::Pong(_) => conn_alive = true,
                Message::Close(code, reason) => {
                    let mut payload = Vec::with_capacity(2 + reason.len());
                    if let Some(code) = code {
                        payload.extend_from_slice(&code.get().to_be_bytes());
                        payload.extend_from_slice(reason.as_bytes());
                    }
                    actions.push(Action::PeerClose(code, payload.into()));
                    return false;
                }
            }
            true
        });
        Counters::add(&self.counters().messages_in, count);
        if conn_alive {
            self.conns[key].awaiting_pong = false;
        }
        if graphql {
            self.apply_session(key);
        }
        self.apply(key);
        match result {
            Ok(p) => (p.consumed, p.need),
            Err(e) => {
                if closing {
                    // Our close frame is out or queued already: nothing more is owed.
                    self.linger(key);
                } else {
                    let code = e.close_code();
                    self.fail(key, code, code.reason());
                }
                (data.len(), 0)
            }
        }
    }

    fn apply(&mut self, key: usize) {
        let mut actions = std::mem::take(&mut self.actions);
        for action in actions.drain(..) {
            // A failure while applying (a slow consumer) ends what this read may still send;
            // a peer close is still heard while our own close is under way.
            match self.conns.get(key).map(|c| c.state) {
                Some(State::Open) => {}
                Some(State::Closing) if matches!(action, Action::PeerClose(..)) => {}
                _ => break,
            }
            match action {
                Action::Data(_, ref p)
                    if self
                        .shared
                        .config
                        .panic_on
                        .as_deref()
                        .is_some_and(|s| s.as_bytes() == &p[..]) =>
                {
                    panic!("fault injection: panic_on matched")
                }
                Action::Data(opcode, payload) => match self.shared.config.mode {
                    // (GraphQL sessions take their text before it becomes an action.)
                    Mode::Echo | Mode::GraphQL => self.send(key, Entry::ws(opcode, payload)),
                    Mode::Broadcast => self.shared.inboxes.broadcast(|| Command::Broadcast {
                        opcode,
                        payload: payload.clone(),
                    }),
                },
                Action::Pong(payload) => self.send(key, Entry::ws(OpCode::Pong, payload)),
                Action::PeerClose(code, payload) => self.on_peer_close(key, code, payload),
            }
        }
        self.actions = actions;
    }

    /// The peer's close frame: answer it (we did not start the close) or finish (we did).
    /// The app hears its code and reason (1005 and "" for an empty one); the answer echoes
    /// both, as ws does.
    fn on_peer_close(&mut self, key: usize, code: Option<CloseCode>, payload: Bytes) {
        match self.conns[key].state {
            State::Open => {
                let code = code.unwrap_or(CloseCode::NO_STATUS);
                let reason = payload.get(2..).unwrap_or_default();
                // The reader validated the reason: the fallback is never taken.
                let reason = std::str::from_utf8(reason).unwrap_or_default();
                self.notify_closed(key, code, reason);
                self.conns[key].state = State::Closed;
                self.metrics().closed(code);
                self.send(key, Entry::ws(OpCode::Close, payload));
                self.arm(key, self.shared.config.close_timeout);
            }
            _ => self.drop_conn(key),
        }
    }

    /// Queues an HTTP error response; the socket closes once it is sent and the peer is done.
    pub(super) fn reject(&mut self, key: usize, reject: Reject) {
        Counters::add(&self.counters().rejected, 1);
        self.metrics().rejected(reject);
        let conn = &mut self.conns[key];
        if conn.counted {
            conn.counted = false;
            self.shared.connections.fetch_sub(1, Relaxed);
        }
        conn.state = State::Rejected;
        self.send(key, Entry::raw(Bytes::from_static(reject.response())));
        self.arm(key, self.shared.config.close_timeout);
    }
}
