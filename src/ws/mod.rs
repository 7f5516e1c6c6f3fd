//! WebSocket, sans-IO: the upgrade handshake, the frame codec, a connection's read side.
//!
//! Driven by the reactor with bytes it read, and by tests and fuzzers without sockets.
//! `upgrade.rs` parses the HTTP/1.1 upgrade in place and writes the answer; `frame.rs`
//! encodes server frame headers and decodes/unmasks client ones; `message.rs` turns client
//! frames into messages (fragments, limits, close frames); `utf8.rs` validates text as its
//! bytes arrive; `close.rs` is the one type for close codes, `error.rs` the read side's error.

pub mod close;
mod error;
pub mod frame;
pub mod message;
pub mod upgrade;
mod utf8;

pub use close::CloseCode;
pub use error::ProtocolError;
