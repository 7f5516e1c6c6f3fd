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
//! `sessions.rs` (GraphQL mode's answers to sessions), `triggers.rs` (the trigger hub and
//! projection methods), `broker/` (the process's broker: scale-out over Redis), `metrics.rs`
//! (`metrics()`).

mod broker;
mod events;
mod metrics;
mod options;
mod sessions;
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
use crate::reactor::events::Batch;
use crate::reactor::shared::Embedder;
use crate::server::Server;
use crate::ws::frame::OpCode;
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
