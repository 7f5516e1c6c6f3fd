//! The protocol sessions from the outside, driven as the reactor will drive them: decoded
//! text in, time in, app decisions in; messages, app events and closes out (recorded by the
//! `Vec<Output>` sink). No sockets, no clock: every instant is `t0 + offset`.

mod app_handles;
mod footprint;
mod legacy;
mod subprotocol;
mod support;
mod transport_errors;
mod transport_handshake;
mod transport_operations;
mod waiting;
