//! One connection's state: a small struct in a reactor's slab.
//!
//! Owned by the reactor thread that accepted it. An idle upgraded connection is this
//! struct and its socket, nothing else: `inbuf` is empty unless a handshake or a frame is
//! incomplete, `out` is `None` unless bytes wait for the socket (both are pooled).

use mio::net::TcpStream;

use std::time::Instant;

use crate::protocol::Session;
use crate::reactor::outq::OutQueue;
use crate::ws::message::Reader;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Reading the HTTP upgrade request. `over_limit`: answer 503 when it completes.
    Handshake { over_limit: bool },
    /// Upgraded: frames flow both ways.
    Open,
    /// We sent a close frame; waiting for the peer's, discarding data.
    Closing,
    /// The peer closed and we answered; the socket closes once our close frame is flushed.
    Closed,
    /// We failed the connection (1002, 1007, 1009, 1008 slow consumer, or a bad frame while
    /// closing): our close frame, if one is owed, is queued; input is read and discarded
    /// unparsed; once the queue is flushed the write side is shut, and the socket is dropped
    /// when the peer hangs up or the close timeout passes. Dropping it while input is still
    /// arriving would make the kernel answer with a reset, which destroys the close frame
    /// (and anything before it) still on its way (a lingering close).
    Failed,
    /// An HTTP error response is queued: flush it, half-close, drain until the peer hangs up.
    Rejected,
}

/// Request details kept after a successful upgrade, only when the app asked for headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// The request-target, as sent.
    pub url: Box<str>,
    /// `(index into Config::headers, value)` for each requested header that was present.
    pub headers: Vec<(usize, Box<[u8]>)>,
    /// The subprotocol chosen at upgrade.
    pub protocol: Option<&'static str>,
}

pub struct Conn {
    pub sock: TcpStream,
    pub state: State,
    /// Counted in the server's connection total (false for a 503-bound handshake).
    pub counted: bool,
    /// A keep-alive ping went out and no pong has come back yet.
    pub awaiting_pong: bool,
    /// Generation of this connection's live deadline in the reactor's timer heap (0: none).
    pub timer_gen: u32,
    /// Tells this connection from earlier ones in the same slab slot (part of its JS id).
    pub gen: u32,
    /// When the live deadline fires (meaningful while `timer_gen != 0`).
    pub deadline: Option<Instant>,
    /// The GraphQL protocol session (one that speaks no protocol in the echo and broadcast
    /// modes).
    pub session: Session,
    pub reader: Reader,
    /// Bytes of an incomplete handshake or frame; empty (no allocation) otherwise.
    pub inbuf: Vec<u8>,
    /// Frames waiting for the socket; `None` when nothing is queued.
    pub out: Option<Box<OutQueue>>,
    /// Present only when the app asked for request headers.
    pub info: Option<Box<ConnInfo>>,
}

impl Conn {
    pub fn new(sock: TcpStream, over_limit: bool, gen: u32) -> Conn {
        Conn {
            sock,
            state: State::Handshake { over_limit },
            counted: !over_limit,
            awaiting_pong: false,
            timer_gen: 0,
            gen,
            deadline: None,
            session: Session::default(),
            reader: Reader::default(),
            inbuf: Vec::new(),
            out: None,
            info: None,
        }
    }

    /// Bytes queued for the socket.
    pub fn queued(&self) -> usize {
        self.out.as_ref().map_or(0, |q| q.bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_struct_stays_small() {
        let size = std::mem::size_of::<Conn>();
        println!("size_of::<Conn>() = {size} bytes");
        assert!(size <= 160, "Conn grew to {size} bytes");
    }
}
