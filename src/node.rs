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
use std::time::Duration;

use crate::config::{Config, ListenerMode, Mode};
use crate::error::{Code, SubwireError};
use crate::frame::OpCode;
use crate::server::Server;
use crate::shared::Sink;

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
}

fn config_from(o: ListenOptions) -> Result<Config> {
    let d = Config::default();
    let port = o.port.unwrap_or(0);
    let port =
        u16::try_from(port).map_err(|_| invalid(format!("port {port} is out of range 0–65535")))?;
    let mode = match o.mode.as_deref() {
        None | Some("echo") => Mode::Echo,
        Some("broadcast") => Mode::Broadcast,
        Some(m) => {
            return Err(invalid(format!(
                "mode {m:?} is unknown: use \"echo\" or \"broadcast\""
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
        ..d
    })
}

type ErrorFn = ThreadsafeFunction<SubwireError, (), FnArgs<(String, String)>, Status, false, true>;
type KeepAliveFn = ThreadsafeFunction<(), (), (), Status, false, false>;

/// Delivers reactor errors to JS without holding the event loop.
struct JsSink(ErrorFn);

impl Sink for JsSink {
    fn error(&self, err: SubwireError) {
        self.0.call(err, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

#[napi]
pub struct NativeServer {
    server: Option<Server>,
    keep_alive: Option<KeepAliveFn>,
}

#[napi]
impl NativeServer {
    /// Binds, starts the reactors and returns the running server.
    #[napi(factory)]
    pub fn listen(
        options: ListenOptions,
        on_error: Function<(String, String), ()>,
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
        let server = Server::start(config, Box::new(JsSink(errors))).map_err(js_err)?;
        Ok(NativeServer {
            server: Some(server),
            keep_alive: Some(keep_alive),
        })
    }

    #[napi]
    pub fn address(&self) -> Result<AddressInfo> {
        let s = self.running()?;
        let a = s.local_addr();
        Ok(AddressInfo {
            address: a.ip().to_string(),
            port: a.port() as u32,
            family: if a.is_ipv4() { "IPv4" } else { "IPv6" }.to_string(),
        })
    }

    #[napi]
    pub fn stats(&self) -> Result<ServerStats> {
        let s = self.running()?.stats();
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
        self.running()?.broadcast(op, Bytes::copy_from_slice(data));
        Ok(())
    }

    /// Closes every connection (1001) and ends the reactor threads; resolves when done.
    #[napi]
    pub fn dispose(&mut self) -> AsyncTask<Dispose> {
        let server = self.server.take();
        if let Some(s) = server.as_ref() {
            s.shutdown();
        }
        AsyncTask::new(Dispose {
            server,
            keep_alive: self.keep_alive.take(),
        })
    }

    fn running(&self) -> Result<&Server> {
        self.server
            .as_ref()
            .ok_or_else(|| js_err(SubwireError::new(Code::Disposed, "the server was disposed")))
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
