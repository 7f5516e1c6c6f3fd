//! The napi bridge: the only code JavaScript calls, and the only code that knows about V8.
//!
//! `NativeServer.listen(options, onError)` binds synchronously (so a bind failure throws
//! with a code) and starts the reactors. While the server listens it holds one *strong*
//! ThreadsafeFunction, which keeps Node's event loop alive as a listening `net.Server`
//! does; reactors report errors through a *weak* one, which never does. `dispose()`
//! stops the reactors, waits for them on libuv's thread pool, and releases both.
//!
//! Errors thrown from here have the message `ERR_SUBWIRE_…: what happened, what to do`;
//! index.js turns the prefix into `error.code`.
//!
//! Files: `options.rs` (JS options → `Config`), `events.rs` (app events → JS objects),
//! `triggers.rs` (the trigger hub and projection methods), `broker.rs` (the process's
//! broker: scale-out over Redis), `metrics.rs` (`metrics()`).

mod broker;
mod events;
mod metrics;
mod options;
mod triggers;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::{Arc, Mutex};

use std::collections::HashMap;

use crate::error::{Code, SubwireError};
use crate::hub::HubEvent;
use crate::metrics::BridgeMetrics;
use crate::project::Plan;
use crate::protocol::{SessionOp, WholeKind};
use crate::reactor::conn::ConnId;
use crate::reactor::events::Batch;
use crate::reactor::shared::Embedder;
use crate::server::Server;
use crate::ws::frame::OpCode;
use crate::ws::CloseCode;
use events::{js_event, JsAppEvent};
use options::{config_from, ListenOptions};

/// Locks a mutex that only the JS thread takes; a poisoned one still holds valid data.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn js_err(e: SubwireError) -> napi::Error {
    napi::Error::new(Status::GenericFailure, e.to_string())
}

pub(crate) fn invalid(msg: String) -> napi::Error {
    js_err(SubwireError::new(Code::InvalidOption, msg))
}

#[napi(object)]
pub struct AddressInfo {
    pub address: String,
    pub port: u32,
    pub family: String,
}

#[napi(object)]
pub struct ServerStats {
    pub connections: i64,
    pub open: i64,
    pub accepted: i64,
    pub upgrades: i64,
    pub rejected: i64,
    pub messages_in: i64,
    pub messages_out: i64,
    pub bytes_out: i64,
    pub queued_bytes: i64,
    pub panics: i64,
    pub slow_consumers: i64,
    pub triggers: i64,
    pub trigger_subscriptions: i64,
    pub trigger_updates: i64,
    pub open_per_reactor: Vec<i64>,
}

type ErrorFn = ThreadsafeFunction<SubwireError, (), FnArgs<(String, String)>, Status, false, true>;
type KeepAliveFn = ThreadsafeFunction<(), (), (), Status, false, false>;
type EventsFn = ThreadsafeFunction<(), (), FnArgs<(Vec<JsAppEvent>,)>, Status, false, true>;

/// Delivers reactor errors and event batches to JS without holding the event loop.
struct JsEmbedder {
    errors: ErrorFn,
    events: Option<EventsFn>,
}

impl Embedder for JsEmbedder {
    fn error(&self, err: SubwireError) {
        self.errors
            .call(err, ThreadsafeFunctionCallMode::NonBlocking);
    }

    fn events_ready(&self) {
        if let Some(f) = &self.events {
            f.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

#[napi]
pub struct NativeServer {
    // Behind a lock so that `dispose(&self)` takes them out without holding a mutable borrow
    // of the JS object while its promise is pending (other calls keep working meanwhile).
    server: Mutex<Option<Server>>,
    keep_alive: Mutex<Option<KeepAliveFn>>,
    /// Projection plans of triggers served without JS per event (JS thread only).
    plans: Mutex<HashMap<u64, Plan>>,
    /// Hub events of this JS turn, sent together by `hubFlush` (JS thread only).
    hub_pending: Mutex<Vec<HubEvent>>,
    /// Unique in the process: names this server's routes in the broker's relay.
    id: u64,
    /// Batch sizes across the bridge (written on the JS thread only).
    bridge: Arc<BridgeMetrics>,
}

/// The next `NativeServer::id`.
static NEXT_SERVER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[napi]
impl NativeServer {
    /// Binds, starts the reactors and returns the running server.
    #[napi(factory)]
    pub fn listen(
        options: ListenOptions,
        on_error: Function<(String, String), ()>,
        on_events: Option<Function<Vec<JsAppEvent>, ()>>,
    ) -> Result<NativeServer> {
        let config = config_from(options)?;
        let errors: ErrorFn = on_error
            .build_threadsafe_function::<SubwireError>()
            .weak::<true>()
            .build_callback(|ctx| {
                Ok(FnArgs::from((
                    ctx.value.code.as_str().to_string(),
                    ctx.value.message,
                )))
            })?;
        let keep_alive: KeepAliveFn = on_error
            .build_threadsafe_function::<()>()
            .weak::<false>()
            .build_callback(|_| Ok(()))?;
        let batch = Arc::new(Batch::default());
        let bridge = Arc::new(BridgeMetrics::default());
        let events = match on_events {
            Some(f) => {
                let drain = batch.clone();
                let sizes = bridge.clone();
                Some(
                    f.build_threadsafe_function::<()>()
                        .weak::<true>()
                        .build_callback(move |_| {
                            let events: Vec<_> = drain.take().into_iter().map(js_event).collect();
                            BridgeMetrics::observe(&sizes.app_events, events.len());
                            Ok(FnArgs::from((events,)))
                        })?,
                )
            }
            None => None,
        };
        let embedder = JsEmbedder { errors, events };
        let server = Server::start(config, Box::new(embedder), batch).map_err(js_err)?;
        Ok(NativeServer {
            server: Mutex::new(Some(server)),
            keep_alive: Mutex::new(Some(keep_alive)),
            plans: Mutex::new(HashMap::new()),
            hub_pending: Mutex::new(Vec::new()),
            id: NEXT_SERVER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            bridge,
        })
    }

    /// Takes over a socket Node accepted (attach to an `http.Server`): `fd` is duplicated
    /// here, so the caller destroys its socket right after; `bytes` is the request head
    /// as Node received it followed by any bytes after it.
    #[napi]
    pub fn adopt(&self, fd: i32, bytes: Buffer) -> Result<()> {
        let bytes = bytes.to_vec();
        self.running(|s| s.adopt(fd, bytes))?.map_err(js_err)
    }

    #[napi]
    pub fn address(&self) -> Result<AddressInfo> {
        let a = self.running(|s| s.local_addr())?.ok_or_else(|| {
            invalid(
                "this server is attached to an http.Server and has no address of its own".into(),
            )
        })?;
        Ok(AddressInfo {
            address: a.ip().to_string(),
            port: a.port() as u32,
            family: if a.is_ipv4() { "IPv4" } else { "IPv6" }.to_string(),
        })
    }

    #[napi]
    pub fn stats(&self) -> Result<ServerStats> {
        let s = self.running(|s| s.stats())?;
        Ok(ServerStats {
            connections: s.connections as i64,
            open: s.open as i64,
            accepted: s.accepted as i64,
            upgrades: s.upgrades as i64,
            rejected: s.rejected as i64,
            messages_in: s.messages_in as i64,
            messages_out: s.messages_out as i64,
            bytes_out: s.bytes_out as i64,
            queued_bytes: s.queued_bytes as i64,
            panics: s.panics as i64,
            slow_consumers: s.slow_consumers as i64,
            triggers: s.triggers as i64,
            trigger_subscriptions: s.trigger_subscriptions as i64,
            trigger_updates: s.trigger_updates as i64,
            open_per_reactor: s.open_per_reactor.iter().map(|&n| n as i64).collect(),
        })
    }

    /// Sends one message to every open connection; the bytes are copied once.
    #[napi]
    pub fn broadcast(&self, data: &[u8], binary: bool) -> Result<()> {
        let op = if binary { OpCode::Binary } else { OpCode::Text };
        if !binary && std::str::from_utf8(data).is_err() {
            return Err(invalid(
                "a text broadcast must be valid UTF-8; pass binary=true for bytes".into(),
            ));
        }
        self.running(|s| s.broadcast(op, Bytes::copy_from_slice(data)))
    }

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

    /// Closes every connection (1001) and ends the reactor threads; resolves when done.
    #[napi]
    pub fn dispose(&self) -> AsyncTask<Dispose> {
        let server = lock(&self.server).take();
        if let Some(s) = server.as_ref() {
            broker::server_gone(self.id);
            s.shutdown();
        }
        AsyncTask::new(Dispose {
            server,
            keep_alive: lock(&self.keep_alive).take(),
        })
    }

    /// Runs `f` on the server, or fails with `ERR_SUBWIRE_DISPOSED` once dispose() began.
    pub(crate) fn running<T>(&self, f: impl FnOnce(&Server) -> T) -> Result<T> {
        let guard = lock(&self.server);
        let server = guard
            .as_ref()
            .ok_or_else(|| js_err(SubwireError::new(Code::Disposed, "the server was disposed")))?;
        Ok(f(server))
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

/// A non-negative exact integer from JS (below 2^53), or an error naming `what` it should be.
pub(crate) fn exact(v: f64, what: &str) -> Result<u64> {
    if v >= 0.0 && v.fract() == 0.0 && v < 9007199254740992.0 {
        Ok(v as u64)
    } else {
        Err(invalid(format!("{v} is not {what}")))
    }
}

/// Joins the reactor threads off the JS thread, then lets go of the event loop.
pub struct Dispose {
    server: Option<Server>,
    keep_alive: Option<KeepAliveFn>,
}

impl Task for Dispose {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        if let Some(mut s) = self.server.take() {
            s.join();
        }
        Ok(())
    }

    fn resolve(&mut self, _env: Env, _out: ()) -> Result<()> {
        self.keep_alive.take();
        Ok(())
    }

    fn finally(mut self, _env: Env) -> Result<()> {
        self.keep_alive.take();
        Ok(())
    }
}
