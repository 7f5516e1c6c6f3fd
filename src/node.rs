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

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bridge::{Batch, ConnId, EventKind, SessionOp};
use crate::config::{Config, ListenerMode, Mode};
use crate::error::{Code, SubwireError};
use crate::frame::OpCode;
use crate::server::Server;
use crate::shared::Sink;

/// Locks a mutex that only the JS thread takes; a poisoned one still holds valid data.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn js_err(e: SubwireError) -> napi::Error {
    napi::Error::new(Status::GenericFailure, e.to_string())
}

fn invalid(msg: String) -> napi::Error {
    js_err(SubwireError::new(Code::InvalidOption, msg))
}

/// Options for the transport listener (index.js validates and documents them).
#[napi(object)]
pub struct ListenOptions {
    pub port: Option<u32>,
    pub host: Option<String>,
    pub path: Option<String>,
    /// "echo" or "broadcast".
    pub mode: Option<String>,
    /// "reuseport" or "shared".
    pub listener: Option<String>,
    pub reactors: Option<u32>,
    pub max_connections: Option<u32>,
    pub max_payload: Option<u32>,
    pub max_header_bytes: Option<u32>,
    pub max_buffered_bytes: Option<u32>,
    pub allowed_origins: Option<Vec<String>>,
    pub headers: Option<Vec<String>>,
    /// Milliseconds.
    pub handshake_timeout: Option<u32>,
    /// Milliseconds.
    pub close_timeout: Option<u32>,
    /// Tests only: a text message equal to this panics the reactor handling it.
    pub test_panic_on: Option<String>,
    /// GraphQL mode: milliseconds to wait for `connection_init` (0: forever). Default 3000.
    pub connection_init_wait_timeout: Option<u32>,
    /// GraphQL mode: keep-alive interval in milliseconds (0: off). Default 12000.
    pub keep_alive: Option<u32>,
}

/// One app event, as JS receives it (fields by `type`).
#[napi(object)]
pub struct JsAppEvent {
    /// The connection's id (an exact integer).
    pub conn: f64,
    /// "init" | "subscribe" | "complete" | "closed"
    #[napi(js_name = "type")]
    pub kind: String,
    pub id: Option<String>,
    /// Raw JSON: the init payload or the subscribe payload.
    pub payload: Option<String>,
    pub url: Option<String>,
    /// Requested headers as `[name, value]` pairs.
    pub headers: Option<Vec<Vec<String>>>,
    pub protocol: Option<String>,
    pub code: Option<u32>,
    pub reason: Option<String>,
    pub acknowledged: Option<bool>,
}

fn js_event(ev: crate::bridge::AppEvent) -> JsAppEvent {
    let mut out = JsAppEvent {
        conn: ev.conn.0 as f64,
        kind: String::new(),
        id: None,
        payload: None,
        url: None,
        headers: None,
        protocol: None,
        code: None,
        reason: None,
        acknowledged: None,
    };
    match ev.kind {
        EventKind::Init {
            payload,
            url,
            headers,
            protocol,
        } => {
            out.kind = "init".into();
            out.payload = payload;
            out.url = Some(url);
            out.headers = Some(headers.into_iter().map(|(n, v)| vec![n, v]).collect());
            out.protocol = Some(protocol.into());
        }
        EventKind::Subscribe { id, payload } => {
            out.kind = "subscribe".into();
            out.id = Some(id);
            out.payload = Some(payload);
        }
        EventKind::Complete { id } => {
            out.kind = "complete".into();
            out.id = Some(id);
        }
        EventKind::Closed {
            code,
            reason,
            acknowledged,
        } => {
            out.kind = "closed".into();
            out.code = Some(code as u32);
            out.reason = Some(reason);
            out.acknowledged = Some(acknowledged);
        }
    }
    out
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
    pub open_per_reactor: Vec<i64>,
}

/// Milliseconds where 0 means "never".
fn optional_ms(v: Option<u32>, dflt: Option<Duration>) -> Option<Duration> {
    match v {
        None => dflt,
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms as u64)),
    }
}

fn config_from(o: ListenOptions) -> Result<Config> {
    let d = Config::default();
    let port = o.port.unwrap_or(0);
    let port =
        u16::try_from(port).map_err(|_| invalid(format!("port {port} is out of range 0–65535")))?;
    let mode = match o.mode.as_deref() {
        None | Some("echo") => Mode::Echo,
        Some("broadcast") => Mode::Broadcast,
        Some("graphql") => Mode::GraphQL,
        Some(m) => {
            return Err(invalid(format!(
                "mode {m:?} is unknown: use \"echo\", \"broadcast\" or \"graphql\""
            )))
        }
    };
    let listener = match o.listener.as_deref() {
        None | Some("reuseport") => ListenerMode::ReusePort,
        Some("shared") => ListenerMode::Shared,
        Some(m) => {
            return Err(invalid(format!(
                "listener {m:?} is unknown: use \"reuseport\" or \"shared\""
            )))
        }
    };
    let ms = |v: Option<u32>, dflt: Duration| v.map_or(dflt, |v| Duration::from_millis(v as u64));
    let path = o.path.unwrap_or(d.path);
    if !path.starts_with('/') {
        return Err(invalid(format!("path {path:?} must start with '/'")));
    }
    Ok(Config {
        host: o.host.unwrap_or(d.host),
        port,
        path,
        mode,
        listener,
        reactors: o.reactors.map_or(d.reactors, |n| n as usize),
        max_connections: o.max_connections.map_or(d.max_connections, |n| n as usize),
        max_payload: o.max_payload.map_or(d.max_payload, |n| n as usize),
        max_header_bytes: o
            .max_header_bytes
            .map_or(d.max_header_bytes, |n| n as usize),
        max_buffered_bytes: o
            .max_buffered_bytes
            .map_or(d.max_buffered_bytes, |n| n as usize),
        allowed_origins: o.allowed_origins,
        headers: o.headers.map_or(d.headers, |h| {
            h.into_iter().map(|s| s.to_ascii_lowercase()).collect()
        }),
        handshake_timeout: ms(o.handshake_timeout, d.handshake_timeout),
        close_timeout: ms(o.close_timeout, d.close_timeout),
        panic_on: o.test_panic_on,
        select_protocol: if mode == Mode::GraphQL {
            crate::protocol::select_protocol
        } else {
            d.select_protocol
        },
        ping_interval: optional_ms(o.keep_alive, d.session.keep_alive)
            .filter(|_| mode == Mode::GraphQL),
        session: crate::protocol::Settings {
            init_timeout: optional_ms(o.connection_init_wait_timeout, d.session.init_timeout),
            keep_alive: optional_ms(o.keep_alive, d.session.keep_alive),
        },
        ..d
    })
}

type ErrorFn = ThreadsafeFunction<SubwireError, (), FnArgs<(String, String)>, Status, false, true>;
type KeepAliveFn = ThreadsafeFunction<(), (), (), Status, false, false>;
type EventsFn = ThreadsafeFunction<(), (), FnArgs<(Vec<JsAppEvent>,)>, Status, false, true>;

/// Delivers reactor errors and event batches to JS without holding the event loop.
struct JsSink {
    errors: ErrorFn,
    events: Option<EventsFn>,
}

impl Sink for JsSink {
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
}

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
        let events = match on_events {
            Some(f) => {
                let drain = batch.clone();
                Some(
                    f.build_threadsafe_function::<()>()
                        .weak::<true>()
                        .build_callback(move |_| {
                            let events = drain.take().into_iter().map(js_event).collect();
                            Ok(FnArgs::from((events,)))
                        })?,
                )
            }
            None => None,
        };
        let sink = JsSink { errors, events };
        let server = Server::start(config, Box::new(sink), batch).map_err(js_err)?;
        Ok(NativeServer {
            server: Mutex::new(Some(server)),
            keep_alive: Mutex::new(Some(keep_alive)),
        })
    }

    #[napi]
    pub fn address(&self) -> Result<AddressInfo> {
        let a = self.running(|s| s.local_addr())?;
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

    /// GraphQL mode: one result (JSON bytes, framed as given) for operation `id`.
    #[napi]
    pub fn next(&self, conn: f64, id: String, payload: &[u8]) -> Result<bool> {
        self.op(conn, SessionOp::Next(id, Bytes::copy_from_slice(payload)))
    }

    /// GraphQL mode: operation `id` failed with these GraphQL errors (a JSON array).
    #[napi]
    pub fn error(&self, conn: f64, id: String, errors: &[u8]) -> Result<bool> {
        self.op(conn, SessionOp::Error(id, Bytes::copy_from_slice(errors)))
    }

    /// GraphQL mode: operation `id` is complete.
    #[napi]
    pub fn complete(&self, conn: f64, id: String) -> Result<bool> {
        self.op(conn, SessionOp::Complete(id))
    }

    /// GraphQL mode: a hook failed; the connection closes with 4500 and this message.
    #[napi]
    pub fn internal_error(&self, conn: f64, message: String) -> Result<bool> {
        self.op(conn, SessionOp::InternalError(message))
    }

    /// GraphQL mode: close one connection with a code and reason.
    #[napi]
    pub fn close_connection(&self, conn: f64, code: u32, reason: String) -> Result<bool> {
        let code = u16::try_from(code)
            .ok()
            .filter(|c| *c == 1000 || (3000..5000).contains(c))
            .ok_or_else(|| {
                invalid(format!(
                    "close code {code} is not allowed: use 1000 or 3000-4999"
                ))
            })?;
        self.op(conn, SessionOp::Close(code, reason))
    }

    fn op(&self, conn: f64, op: SessionOp) -> Result<bool> {
        if !(conn >= 0.0 && conn.fract() == 0.0 && conn < 9007199254740992.0) {
            return Err(invalid(format!("{conn} is not a connection id")));
        }
        self.running(|s| s.session(ConnId(conn as u64), op))
    }

    /// Closes every connection (1001) and ends the reactor threads; resolves when done.
    #[napi]
    pub fn dispose(&self) -> AsyncTask<Dispose> {
        let server = lock(&self.server).take();
        if let Some(s) = server.as_ref() {
            s.shutdown();
        }
        AsyncTask::new(Dispose {
            server,
            keep_alive: lock(&self.keep_alive).take(),
        })
    }

    /// Runs `f` on the server, or fails with `ERR_SUBWIRE_DISPOSED` once dispose() began.
    fn running<T>(&self, f: impl FnOnce(&Server) -> T) -> Result<T> {
        let guard = lock(&self.server);
        let server = guard
            .as_ref()
            .ok_or_else(|| js_err(SubwireError::new(Code::Disposed, "the server was disposed")))?;
        Ok(f(server))
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
