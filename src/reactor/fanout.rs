//! Fan-out: one trigger update (or a burst of them) to every subscriber in a reactor's list.
//!
//! Called by the reactor loop (`commands`) with the hub's shared target list and the
//! burst's payloads. A connection's subscribers of one trigger sit side by side in the list
//! (the hub appends them as they join), so they are taken as one group: its frames go out
//! in one `writev` straight from the list and the payloads when nothing is queued before
//! them — no queue, no reference count, no allocation, the way the raw-socket floor writes
//! a pre-built frame — and only what the socket refuses is queued. A connection with frames
//! already waiting gets the group appended to its queue, behind them; so does every group
//! of a burst that is not the last of the inbox drain, as the connection may be in the
//! next trigger's list too and should still get one `writev` for the turn. A group split
//! in two (a leave's `swap_remove` moved one of them) costs a second `writev`, never a
//! wrong order.

use bytes::Bytes;
use std::sync::Arc;

use super::conn::{Conn, State};
use super::inbox::Target;
use super::outq::{self, Entry, EntryRef, DIRECT_MESSAGES};
use super::Reactor;
use crate::stats::Counters;
use crate::ws::frame::OpCode;

/// Most subscribers of one connection taken as one group; a bigger group is split. A group
/// with more than [`DIRECT_MESSAGES`] frames (a burst) is queued whole, so it still goes
/// out in one `writev` at the end of the turn.
const GROUP: usize = 16;

impl Reactor {
    /// Trigger updates, in publish order, for one list of targets: every target still
    /// subscribed gets, per update, its prefix and the shared payload (which carries the
    /// closing `}`). `direct`: nothing more is due to these connections this turn, so a
    /// group may be written now instead of queued.
    pub(crate) fn fan_out(&mut self, payloads: &[Bytes], targets: &[Target], direct: bool) {
        if payloads.is_empty() {
            return;
        }
        // Queued entries share the burst's payload list (one entry per subscriber, not one
        // per update); made on first need, as a direct write borrows the payloads instead.
        let mut run: Option<Arc<[Bytes]>> = None;
        let mut rest = targets;
        while let Some(first) = rest.first() {
            let same = rest
                .iter()
                .take(GROUP)
                .take_while(|t| t.conn == first.conn)
                .count();
            let (group, tail) = rest.split_at(same);
            self.fan_out_to(payloads, group, direct, &mut run);
            rest = tail;
        }
    }

    /// One connection's subscribers in a list (all with the same `conn`).
    fn fan_out_to(
        &mut self,
        payloads: &[Bytes],
        group: &[Target],
        direct: bool,
        run: &mut Option<Arc<[Bytes]>>,
    ) {
        let key = group[0].conn.key();
        let Some(c) = self.conns.get(key) else {
            return;
        };
        if !group[0].conn.matches_gen(c.gen) || c.state != State::Open {
            return;
        }
        let mut live = [EntryRef::EMPTY; GROUP];
        let mut which = [0u8; GROUP];
        let mut n = 0;
        for (i, t) in group.iter().enumerate().filter(|(_, t)| subscribed(c, t)) {
            which[n] = i as u8;
            live[n] = EntryRef {
                opcode: Some(OpCode::Text),
                prefix: &t.prefix,
                payloads,
                tail: b"",
            };
            n += 1;
        }
        if n == 0 {
            return;
        }
        let messages = n * payloads.len();
        Counters::add(&self.counters().messages_out, messages as u64);
        crate::metrics::add(&self.metrics().results, messages as u64);
        let mut sent = 0;
        if direct && c.out.is_none() && messages <= DIRECT_MESSAGES {
            match outq::write_direct(&mut &c.sock, &live[..n], &mut self.glue) {
                Ok(k) => sent = k,
                Err(_) => {
                    self.drop_conn(key);
                    return;
                }
            }
            Counters::add(&self.counters().bytes_out, sent as u64);
        }
        // Queue what is left: whole entries after the part-written one.
        for (&i, f) in which.iter().zip(&live).take(n) {
            let len = f.wire_len();
            let t = &group[i as usize];
            if sent >= len {
                sent -= len;
                continue;
            }
            let frame = match payloads {
                [one] => Entry::parts(OpCode::Text, t.prefix.clone(), one.clone(), b""),
                _ => {
                    let run = run.get_or_insert_with(|| payloads.into()).clone();
                    Entry::run(OpCode::Text, t.prefix.clone(), run, b"")
                }
            };
            self.enqueue(key, frame, std::mem::take(&mut sent));
        }
    }
}

/// Whether `t` is still the operation its connection runs under its id: told from the
/// serial alone when the connection has few operations, else by reading the id back out of
/// the prefix (borrowed unless it was escaped).
fn subscribed(c: &Conn, t: &Target) -> bool {
    match c.session.holds(t.serial) {
        Some(yes) => yes,
        None => t.id().is_some_and(|id| c.session.is_active(&id, t.serial)),
    }
}
