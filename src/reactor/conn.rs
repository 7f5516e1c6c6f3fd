//! One connection's state, a small struct in a reactor's slab, and its id.
//!
//! Owned by the reactor thread that accepted it. An idle upgraded connection is this
//! struct and its socket, nothing else: `inbuf` is empty unless a handshake or a frame is
//! incomplete, `out` is `None` unless bytes wait for the socket (both are pooled).

use mio::net::TcpStream;

use std::time::Instant;

use super::outq::OutQueue;
use crate::protocol::Session;
use crate::ws::message::Reader;

/// A connection's id as JS sees it: reactor (6 bits) | slab key (22 bits) | generation
/// (25 bits) — 53 bits, so it is an exact JS number. The generation tells a reused slot
/// from the connection that held it before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ConnId(pub(crate) u64);

const KEY_BITS: u32 = 22;
const GEN_BITS: u32 = 25;

impl ConnId {
    pub(crate) fn new(reactor: usize, key: usize, gen: u32) -> ConnId {
        let gen = gen as u64 & ((1 << GEN_BITS) - 1);
        let key = key as u64 & ((1 << KEY_BITS) - 1);
        ConnId(((reactor as u64) << (KEY_BITS + GEN_BITS)) | (key << GEN_BITS) | gen)
    }
    pub(crate) fn reactor(self) -> usize {
        (self.0 >> (KEY_BITS + GEN_BITS)) as usize
    }
    pub(crate) fn key(self) -> usize {
        ((self.0 >> GEN_BITS) & ((1 << KEY_BITS) - 1)) as usize
    }
    /// Whether a connection with generation `gen` is the one this id names.
    pub(crate) fn matches_gen(self, gen: u32) -> bool {
        self.0 & ((1 << GEN_BITS) - 1) == gen as u64 & ((1 << GEN_BITS) - 1)
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
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
pub(crate) struct ConnInfo {
    /// The request-target, as sent.
    pub(crate) url: Box<str>,
    /// `(index into Config::headers, value)` for each requested header that was present.
    pub(crate) headers: Vec<(usize, Box<[u8]>)>,
    /// The subprotocol chosen at upgrade.
    pub(crate) protocol: Option<&'static str>,
}

pub(crate) struct Conn {
    pub(crate) sock: TcpStream,
    pub(crate) state: State,
    /// Counted in the server's connection total (false for a 503-bound handshake).
    pub(crate) counted: bool,
    /// A keep-alive ping went out and no pong has come back yet.
    pub(crate) awaiting_pong: bool,
    /// Generation of this connection's live deadline in the reactor's timer heap (0: none).
    pub(crate) timer_gen: u32,
    /// Tells this connection from earlier ones in the same slab slot (part of its JS id).
    pub(crate) gen: u32,
    /// When the live deadline fires (meaningful while `timer_gen != 0`).
    pub(crate) deadline: Option<Instant>,
    /// The GraphQL protocol session (one that speaks no protocol in the echo and broadcast
    /// modes).
    pub(crate) session: Session,
    pub(crate) reader: Reader,
    /// Bytes of an incomplete handshake or frame; empty (no allocation) otherwise.
    pub(crate) inbuf: Vec<u8>,
    /// Frames waiting for the socket; `None` when nothing is queued.
    pub(crate) out: Option<Box<OutQueue>>,
    /// Present only when the app asked for request headers.
    pub(crate) info: Option<Box<ConnInfo>>,
}

impl Conn {
    pub(crate) fn new(sock: TcpStream, over_limit: bool, gen: u32) -> Conn {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_ids_round_trip_and_fit_a_js_number() {
        let id = ConnId::new(63, (1 << 22) - 1, u32::MAX);
        assert!(id.0 < 1 << 53);
        assert_eq!(id.reactor(), 63);
        assert_eq!(id.key(), (1 << 22) - 1);
        assert!(id.matches_gen(u32::MAX));
        assert!(!id.matches_gen(u32::MAX - 1));
        let id = ConnId::new(1, 5, 7);
        assert_eq!((id.reactor(), id.key()), (1, 5));
    }

    #[test]
    fn connection_struct_stays_small() {
        let size = std::mem::size_of::<Conn>();
        println!("size_of::<Conn>() = {size} bytes");
        assert!(size <= 160, "Conn grew to {size} bytes");
    }
}
