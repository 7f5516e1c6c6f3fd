//! GraphQL mode's answers from JS to its sessions (lib/transport.js, lib/outbox.js): accept
//! or reject an init, results, errors, completes, closes, one at a time or one JS turn's in
//! one `batch` call. Each becomes a `SessionOp` for the connection's reactor.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::{exact, invalid, NativeServer};
use crate::metrics::BridgeMetrics;
use crate::protocol::{SessionOp, WholeKind};
use crate::reactor::conn::ConnId;
use crate::ws::CloseCode;

#[napi]
impl NativeServer {
    /// GraphQL mode: accept a connection's `connection_init` (payload: a JSON object).
    #[napi]
    pub fn accept(&self, conn: f64, payload: Option<String>) -> Result<bool> {
        self.op(conn, SessionOp::AcceptInit(payload))
    }

    /// GraphQL mode: refuse a connection's `connection_init`.
    #[napi]
    pub fn reject(&self, conn: f64, message: String) -> Result<bool> {
        self.op(conn, SessionOp::RejectInit(message))
    }

    /// GraphQL mode: one result (JSON bytes, framed as given) for operation `id`; `serial`
    /// (from its `subscribe` event; absent or 0: whichever operation holds `id`).
    #[napi]
    pub fn next(&self, conn: f64, id: String, payload: &[u8], serial: Option<u32>) -> Result<bool> {
        let op = SessionOp::Next(id, serial.unwrap_or(0), Bytes::copy_from_slice(payload));
        self.op(conn, op)
    }

    /// GraphQL mode: operation `id` failed with these GraphQL errors (a JSON array).
    #[napi]
    pub fn error(&self, conn: f64, id: String, errors: &[u8], serial: Option<u32>) -> Result<bool> {
        let op = SessionOp::Error(id, serial.unwrap_or(0), Bytes::copy_from_slice(errors));
        self.op(conn, op)
    }

    /// GraphQL mode: operation `id` is complete.
    #[napi]
    pub fn complete(&self, conn: f64, id: String, serial: Option<u32>) -> Result<bool> {
        self.op(conn, SessionOp::Complete(id, serial.unwrap_or(0)))
    }

    /// GraphQL mode: a hook failed; the connection closes with 4500 and this message.
    #[napi]
    pub fn internal_error(&self, conn: f64, message: String) -> Result<bool> {
        self.op(conn, SessionOp::InternalError(message))
    }

    /// GraphQL mode: close one connection with a code and reason.
    #[napi]
    pub fn close_connection(&self, conn: f64, code: u32, reason: String) -> Result<bool> {
        self.op(conn, SessionOp::Close(close_code(code)?, reason))
    }

    /// GraphQL mode: one JS turn's answers in one call, in order. Op `i` is `kinds[i]` for
    /// connection `conns[i]` with string arguments `a[i]`, `b[i]`: 0 accept, 1 accept with
    /// the ack payload `a`, 2 reject (`a`: message), 3 next (`a`: id, `b`: result JSON),
    /// 4 error (`a`: id, `b`: errors JSON), 5 complete (`a`: id), 6 internal error (`a`:
    /// message), 7 close (`a`: reason, `b`: code); whole messages as JS wrote them: 8 accept
    /// (`a`: the `connection_ack`), 9 next, 10 error, 11 complete (`a`: id, `b`: the
    /// message), 12 pong (`a`: the `pong`); 13 a client message JS parsed (`a`: its
    /// envelope). `serials[i]` is the operation's serial for 3–5 and 9–11 (0: whichever
    /// holds the id). The strings move into Rust, not copied again.
    #[napi]
    pub fn batch(
        &self,
        kinds: Uint8Array,
        conns: Float64Array,
        serials: Uint32Array,
        a: Vec<String>,
        b: Vec<String>,
    ) -> Result<bool> {
        let n = kinds.len();
        if conns.len() != n || serials.len() != n || a.len() != n || b.len() != n {
            return Err(invalid(
                "batch: kinds, conns, serials, a and b must have one entry per op".into(),
            ));
        }
        let mut ops = Vec::with_capacity(n);
        let each = kinds.iter().zip(conns.iter()).zip(serials.iter());
        for (((&kind, &conn), &serial), (a, b)) in each.zip(a.into_iter().zip(b)) {
            let conn = ConnId(exact(conn, "a connection id")?);
            let op = match kind {
                0 => SessionOp::AcceptInit(None),
                1 => SessionOp::AcceptInit(Some(a)),
                2 => SessionOp::RejectInit(a),
                3 => SessionOp::Next(a, serial, Bytes::from(b.into_bytes())),
                4 => SessionOp::Error(a, serial, Bytes::from(b.into_bytes())),
                5 => SessionOp::Complete(a, serial),
                6 => SessionOp::InternalError(a),
                7 => SessionOp::Close(close_code(b.parse().unwrap_or(0))?, a),
                8 => SessionOp::AcceptInitWhole(Bytes::from(a.into_bytes())),
                9 => SessionOp::Whole(WholeKind::Next, a, serial, Bytes::from(b.into_bytes())),
                10 => SessionOp::Whole(WholeKind::Error, a, serial, Bytes::from(b.into_bytes())),
                11 => SessionOp::Whole(WholeKind::Complete, a, serial, Bytes::from(b.into_bytes())),
                12 => SessionOp::Pong(Bytes::from(a.into_bytes())),
                13 => SessionOp::AppMessage(a),
                k => return Err(invalid(format!("batch: op kind {k} is unknown"))),
            };
            ops.push((conn, op));
        }
        BridgeMetrics::observe(&self.bridge.answers, n);
        self.running(|s| s.sessions(ops))
    }

    fn op(&self, conn: f64, op: SessionOp) -> Result<bool> {
        let conn = ConnId(exact(conn, "a connection id")?);
        self.running(|s| s.session(conn, op))
    }
}

/// A close code the app may send: 1000 or 3000–4999.
fn close_code(code: u32) -> Result<CloseCode> {
    CloseCode::from_app(code).ok_or_else(|| {
        invalid(format!(
            "close code {code} is not allowed: use 1000 or 3000-4999"
        ))
    })
}
