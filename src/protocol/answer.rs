//! What the app tells a session, owned so it can cross from the JS thread: its decision on
//! `connection_init`, results and ends of operations, pongs, parsed messages, closes.
//!
//! JS answers through the napi bridge (`NativeServer.batch` and friends), the hub for a
//! shared trigger's `error`/`complete`; the reactor that owns the connection hands each
//! [`SessionOp`] to its session with [`Session::apply`].

use bytes::Bytes;
use std::time::Instant;

use super::event::Sink;
use super::ids::OpSerial;
use super::session::Session;
use crate::ws::CloseCode;

/// One answer of the app for a connection's session.
#[derive(Debug, Clone)]
pub enum SessionOp {
    /// Accept `connection_init`; the optional JSON object goes into `connection_ack`.
    AcceptInit(Option<String>),
    /// Refuse it (4403, or legacy `connection_error` with this message).
    RejectInit(String),
    /// A result for operation `id` with serial `OpSerial` (0: whichever holds the id): JSON
    /// bytes framed as given.
    Next(String, OpSerial, Bytes),
    /// Operation `id` failed: a JSON array of GraphQL errors.
    Error(String, OpSerial, Bytes),
    /// Operation `id` ended.
    Complete(String, OpSerial),
    /// Accept `connection_init` with this whole `connection_ack` (graphql-transport-ws).
    AcceptInitWhole(Bytes),
    /// `next`/`error`/`complete` for operation `id` (with its serial), the whole message as
    /// the app wrote it.
    Whole(WholeKind, String, OpSerial, Bytes),
    /// The app's whole `pong`, after a `Ping` event.
    Pong(Bytes),
    /// A client message the app parsed, as its envelope (`Session::on_app_message`).
    AppMessage(String),
    /// A hook threw: 4500 (legacy: `connection_error`, then 1011).
    InternalError(String),
    /// Close the connection with this code and reason.
    Close(CloseCode, String),
}

/// Which operation message a whole app-written message is ([`Session::send_whole`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WholeKind {
    Next,
    Error,
    Complete,
}

impl Session {
    /// Applies the app's answer at `now`.
    pub fn apply(&mut self, op: SessionOp, now: Instant, out: &mut dyn Sink) {
        match op {
            SessionOp::AcceptInit(payload) => self.accept_init(payload.as_deref(), now, out),
            SessionOp::RejectInit(message) => self.reject_init(&message, out),
            SessionOp::Next(id, serial, payload) => {
                self.next(&id, serial, &payload, out);
            }
            SessionOp::Error(id, serial, errors) => {
                self.error(&id, serial, &errors, out);
            }
            SessionOp::Complete(id, serial) => {
                self.complete(&id, serial, out);
            }
            SessionOp::AcceptInitWhole(message) => self.accept_init_whole(&message, now, out),
            SessionOp::Whole(kind, id, serial, message) => {
                self.send_whole(kind, &id, serial, &message, out);
            }
            SessionOp::Pong(message) => self.pong(&message, out),
            SessionOp::AppMessage(envelope) => self.on_app_message(&envelope, out),
            SessionOp::InternalError(message) => self.internal_error(&message, out),
            SessionOp::Close(code, reason) => self.close(code, &reason, out),
        }
    }
}
