//! subwire: the server core for GraphQL subscriptions over WebSocket, as a Node addon.
//!
//! Layers, bottom up (docs/ARCHITECTURE.md has the threads and the data flow):
//! - sans-IO cores, driven by tests and fuzzers without sockets:
//!   [`upgrade`] (HTTP/1.1 upgrade parsed in place), [`frame`] (RFC 6455 frame codec),
//!   [`message`] (per-connection frame reader: fragments, UTF-8, close codes);
//! - the I/O layer, the only code that touches sockets: [`reactor`] threads own connections
//!   in a slab, with [`pool`]ed buffers and a [`timer`] heap each; [`server`] starts and stops them;
//! - the trigger [`hub`] thread: who listens to which shared trigger, one update fanned out
//!   to every subscriber through the reactors with the payload bytes shared;
//! - the napi bridge (`node`, feature `node`), which is all that JavaScript sees.

// Scale-out over Redis; public for tests/broker.rs until the hub and the napi bridge use it.
pub mod bridge;
pub mod broker;
pub mod config;
pub mod conn;
pub mod error;
pub mod frame;
pub mod hub;
pub mod listener;
pub mod message;
pub mod outq;
pub mod pool;
pub mod project;
pub mod protocol;
pub mod reactor;
pub mod server;
pub mod shared;
pub mod sys;
pub mod timer;
pub mod upgrade;
pub mod utf8;

#[cfg(feature = "node")]
mod node;
