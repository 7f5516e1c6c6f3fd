//! The inbox: commands from the JS thread and the hub, run once per turn.
//!
//! Called by the reactor loop after the poll's readiness events. Consecutive trigger updates
//! for the same subscriber list (a burst on one trigger) are folded and fanned out together
//! (`fanout.rs`); any other command first sends what is held, so every connection still
//! sees its frames in the order the hub sent them.

use bytes::Bytes;
use std::sync::Arc;

use super::conn::State;
use super::inbox::{Command, Target};
use super::outq::Entry;
use super::Reactor;

impl Reactor {
    /// Runs every command waiting in the inbox.
    pub(super) fn commands(&mut self) {
        // Consecutive updates for the same target list (a burst on one trigger) are held
        // and fanned out together; any other command first sends what is held, so every
        // connection still sees its frames in the order the hub sent them.
        let mut burst: Option<Arc<Vec<Target>>> = None;
        let mut payloads = std::mem::take(&mut self.burst);
        while let Ok(cmd) = self.inbox.try_recv() {
            match cmd {
                Command::Next {
                    payload,
                    targets,
                    clock,
                } => {
                    // Let go at the end of the turn, once the frames are flushed.
                    self.clocks.push(clock);
                    if burst
                        .as_ref()
                        .is_some_and(|held| !Arc::ptr_eq(held, &targets))
                    {
                        self.fan_out_burst(&mut burst, &mut payloads, false);
                    }
                    payloads.push(payload);
                    burst = Some(targets);
                    continue;
                }
                _ => self.fan_out_burst(&mut burst, &mut payloads, false),
            }
            match cmd {
                Command::Broadcast { opcode, payload } => {
                    // By slot index, so a broadcast allocates nothing but the queue entries.
                    for key in 0..self.conns.capacity() {
                        if self.conns.get(key).is_some_and(|c| c.state == State::Open) {
                            self.send(key, Entry::ws(opcode, payload.clone()));
                        }
                    }
                }
                Command::Shutdown => self.begin_shutdown(),
                Command::Adopt { sock, bytes } => self.adopt(sock, bytes),
                Command::Next { .. } => {} // held above
                Command::Session { conn, op } => {
                    let key = conn.key();
                    self.guarded(key, |me| me.session_op(conn, op));
                }
                Command::Sessions(ops) => {
                    for (conn, op) in ops {
                        let key = conn.key();
                        self.guarded(key, |me| me.session_op(conn, op));
                    }
                }
            }
        }
        // The inbox is empty: nothing more reaches a connection this turn, so this last
        // burst may be written directly (`fanout.rs`); earlier ones are queued, so that a
        // connection in several triggers' lists still gets one `writev` for the turn.
        self.fan_out_burst(&mut burst, &mut payloads, true);
        self.burst = payloads;
    }

    /// Fans out the held burst, if any, and empties it.
    fn fan_out_burst(
        &mut self,
        burst: &mut Option<Arc<Vec<Target>>>,
        payloads: &mut Vec<Bytes>,
        last: bool,
    ) {
        if let Some(targets) = burst.take() {
            self.fan_out(payloads, &targets, last);
        }
        payloads.clear();
    }
}
