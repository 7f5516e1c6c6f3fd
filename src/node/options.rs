//! Listen options from JS, turned into a [`Config`]: names, units (ms), defaults, checks.
//!
//! Called by `NativeServer.listen` on the JS thread; index.js has already checked types, so
//! what is checked here is ranges and names, with messages that say what to use instead.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::time::Duration;

use super::invalid;
use crate::config::{Config, ListenerMode, Mode};

/// Options for the transport listener (index.js validates and documents them).
#[napi(object)]
pub struct ListenOptions {
    pub port: Option<u32>,
    pub host: Option<String>,
    pub path: Option<String>,
    /// "echo" (default), "broadcast" or "graphql".
    pub mode: Option<String>,
    /// "reuseport" (default) or "shared"; "none" is lib/attach.js's (an attached server has no
    /// listener of its own).
    pub listener: Option<String>,
    /// Share the port with other servers that set it too (default false: a port in use fails).
    pub reuse_port: Option<bool>,
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
    /// GraphQL mode: active operations one connection may hold (default 100).
    pub max_subscriptions_per_connection: Option<u32>,
    /// GraphQL mode, graphql-transport-ws: client messages go to JS unread (`message`
    /// events), JS answers with `clientMessage` envelopes (graphql-ws's `jsonMessageReviver`).
    pub raw_messages: Option<bool>,
    /// GraphQL mode, graphql-transport-ws: `ping` messages become `ping` events and JS sends
    /// the pong (`onPing`, a replacer).
    pub forward_pings: Option<bool>,
    /// GraphQL mode, graphql-transport-ws: `pong` messages become `pong` events (`onPong`).
    pub forward_pongs: Option<bool>,
}

/// Milliseconds where 0 means "never".
fn optional_ms(v: Option<u32>, dflt: Option<Duration>) -> Option<Duration> {
    match v {
        None => dflt,
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms as u64)),
    }
}

pub(super) fn config_from(o: ListenOptions) -> Result<Config> {
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
        Some("none") => ListenerMode::None,
        Some(m) => {
            return Err(invalid(format!(
                "listener {m:?} is unknown: use \"reuseport\" or \"shared\""
            )))
        }
    };
    let ms = |v: Option<u32>, dflt: Duration| v.map_or(dflt, |v| Duration::from_millis(v as u64));
    let path = o.path.unwrap_or(d.path);
    // "*" (any path) is how an attached server without a `path` is configured.
    let any_path = path == "*" && listener == ListenerMode::None;
    if !(path.starts_with('/') || any_path) {
        return Err(invalid(format!("path {path:?} must start with '/'")));
    }
    Ok(Config {
        host: o.host.unwrap_or(d.host),
        port,
        path,
        mode,
        listener,
        reuse_port: o.reuse_port.unwrap_or(d.reuse_port),
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
            max_operations: o
                .max_subscriptions_per_connection
                .unwrap_or(d.session.max_operations),
            app: crate::protocol::AppHandles {
                parse: o.raw_messages.unwrap_or(false),
                // The pong echoes the payload as the app read it.
                ping: o.forward_pings.unwrap_or(false) || o.raw_messages.unwrap_or(false),
                pong: o.forward_pongs.unwrap_or(false),
            },
        },
        ..d
    })
}
