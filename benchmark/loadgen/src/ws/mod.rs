//! Client side of RFC 6455, sans-IO (no sockets here; `client.rs` drives it): the opening
//! handshake (`handshake.rs`) and frames (`frame.rs`).

mod frame;
mod handshake;

pub use frame::*;
pub use handshake::*;
