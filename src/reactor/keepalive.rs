//! Keep-alive: one sweep per interval over a reactor's open connections.
//!
//! Each sweep pings every open connection and drops the ones that left the previous ping
//! unanswered, so a peer that vanished without a FIN (half-open) is gone within two
//! intervals. One timer per reactor and one flag per connection, instead of a timer per
//! connection; the frames of a sweep go out with the turn's flush.

use bytes::Bytes;
use std::time::Instant;

use super::conn::State;
use super::outq::Entry;
use super::Reactor;
use crate::ws::frame::OpCode;

impl Reactor {
    pub(super) fn keepalive_sweep(&mut self) {
        let (Some(due), Some(every)) = (self.next_sweep, self.shared.config.ping_interval) else {
            return;
        };
        let now = Instant::now();
        if now < due {
            return;
        }
        self.next_sweep = Some(now + every);
        for key in 0..self.conns.capacity() {
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            if conn.state != State::Open {
                continue;
            }
            if conn.awaiting_pong {
                // The last ping went unanswered for a whole interval.
                self.drop_conn(key);
                continue;
            }
            conn.awaiting_pong = true;
            self.send(key, Entry::ws(OpCode::Ping, Bytes::new()));
        }
    }
}
