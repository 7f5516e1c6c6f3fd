//! subwire: the server core for GraphQL subscriptions over WebSocket, as a Node addon.
//!
//! Layers, bottom up (docs/ARCHITECTURE.md has the threads and the data path):
//! - [`ws`]: WebSocket, sans-IO — the upgrade parsed in place, the frame codec, a
//!   connection's read side, close codes;
//! - [`protocol`]: GraphQL over WebSocket, sans-IO — one session machine for
//!   graphql-transport-ws and legacy graphql-ws, and the bytes of every server message;
//! - `reactor`: the only code that touches connection sockets — N threads, each a mio poll
//!   over a slab of connections, with its timer heap, buffer pool and outbound queues;
//! - `hub`: the trigger hub thread — who listens to which shared trigger, one update fanned
//!   out to every subscriber through the reactors with the payload bytes shared;
//! - `server` starts and stops the reactors and the hub; `stats`, `metrics` (Prometheus
//!   families), `config`, `error` and `sys` (every `unsafe`) serve them all; `project`
//!   writes results from published JSON;
//! - `node` (feature `node`): the napi bridge, all that JavaScript sees.
//!
//! Only the two sans-IO layers are public: tests, benches and fuzzers drive them as a reactor
//! does, without sockets or Node. Everything else is private to the crate, so dead code is
//! reported, and is tested from inside (unit tests) and from JavaScript (`__test__/`).

#![warn(unreachable_pub, dead_code, clippy::undocumented_unsafe_blocks)]
// Without the napi bridge nothing reaches the server stack (only unit tests do), so its dead
// code is reported by the default build, which clippy checks too.
#![cfg_attr(not(feature = "node"), allow(dead_code))]

// Scale-out over Redis pub/sub; public for tests/broker/ (a real redis-server) until the
// napi bridge uses it.
pub mod broker;
pub mod protocol;
pub mod ws;

mod config;
pub mod error;
mod hub;
mod metrics;
mod project;
mod reactor;
mod relay;
mod server;
mod stats;
mod sys;

#[cfg(feature = "node")]
mod node;
