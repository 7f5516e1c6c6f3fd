//! Who listens to which trigger: every trigger's subscriber lists ([`Trigger`]) and, per
//! connection, where its subscribers sit in them ([`ByConn`]), kept in step.
//!
//! Owned by the hub thread. A subscriber `(conn, id)` is stored once, as a [`Target`] in
//! its trigger's list for its connection's reactor; the connection's entry names that
//! place (trigger, position), and the id is read from the target's prefix when it is
//! needed: to refuse a duplicate, to find the one leaving, to say `error`/`complete` to it.
//! Joining is O(1) plus a look at the connection's other subscriptions of the trigger;
//! leaving is the same look plus one swap: the subscriber moved into the freed place has
//! its connection's entry repointed.

use std::collections::HashMap;

use super::by_conn::{ByConn, Sub};
use super::trigger::{Moved, Trigger};
use super::TriggerId;
use crate::protocol::{json_id, prefix_has_json_id, prefix_json_id, OpSerial};
use crate::reactor::conn::ConnId;
use crate::reactor::inbox::Target;

#[derive(Default)]
pub(super) struct Members {
    triggers: HashMap<TriggerId, Trigger>,
    by_conn: ByConn,
    subscriptions: usize,
    /// Scratch: the JSON string of the id being looked for.
    json: Vec<u8>,
}

impl Members {
    /// Live triggers (each has at least one subscriber).
    pub(super) fn triggers(&self) -> usize {
        self.triggers.len()
    }

    /// Subscribers across all triggers.
    pub(super) fn subscriptions(&self) -> usize {
        self.subscriptions
    }

    pub(super) fn get(&self, trigger: TriggerId) -> Option<&Trigger> {
        self.triggers.get(&trigger)
    }

    /// Subscriber `(conn, id)` joins `trigger` (created on first use); false, and no
    /// change, if it is there already.
    pub(super) fn add(
        &mut self,
        trigger: TriggerId,
        conn: ConnId,
        id: &str,
        legacy: bool,
        serial: OpSerial,
    ) -> bool {
        let target = Target::new(conn, id, legacy, serial);
        let t = self.triggers.entry(trigger).or_default();
        let json = prefix_json_id(&target.prefix).unwrap_or_default();
        if find(&self.by_conn, t, trigger, conn, json).is_some() {
            return false;
        }
        let Some(pos) = t.add(target) else {
            if t.is_empty() {
                self.triggers.remove(&trigger);
            }
            return false;
        };
        self.by_conn.push(conn, Sub { trigger, pos });
        self.subscriptions += 1;
        true
    }

    /// Subscriber `(conn, id)` leaves `trigger`; an empty trigger is forgotten. False if it
    /// was not there.
    pub(super) fn remove(&mut self, trigger: TriggerId, conn: ConnId, id: &str) -> bool {
        let Some(t) = self.triggers.get_mut(&trigger) else {
            return false;
        };
        json_id(id, &mut self.json);
        let found = find(&self.by_conn, t, trigger, conn, &self.json);
        if let Some(pos) = found {
            self.by_conn.remove(conn, Sub { trigger, pos });
            detach(t, &mut self.by_conn, trigger, conn, pos);
            self.subscriptions -= 1;
        }
        if t.is_empty() {
            self.triggers.remove(&trigger);
        }
        found.is_some()
    }

    /// Every subscription of `conn` leaves; emptied triggers are forgotten. Returns how
    /// many there were.
    pub(super) fn remove_client(&mut self, conn: ConnId) -> usize {
        let Some(mut subs) = self.by_conn.take(conn) else {
            return 0;
        };
        let list = subs.as_mut_slice();
        // By trigger, and from the back of each list: whoever then moves into a freed place
        // comes from behind it, so it is not one of this connection's (those that are left
        // all sit in front), and no position in `list` goes stale. `take` removed the
        // connection's own entry, so a repoint can only touch other connections.
        list.sort_unstable_by(|a, b| a.trigger.cmp(&b.trigger).then(b.pos.cmp(&a.pos)));
        for s in list.iter() {
            let Some(t) = self.triggers.get_mut(&s.trigger) else {
                continue;
            };
            if detach(t, &mut self.by_conn, s.trigger, conn, s.pos) {
                self.subscriptions -= 1;
            }
            if t.is_empty() {
                self.triggers.remove(&s.trigger);
            }
        }
        list.len()
    }

    /// Forgets `trigger` and every connection's entries for it; returns it, so its
    /// subscribers can be told.
    pub(super) fn end(&mut self, trigger: TriggerId) -> Option<Trigger> {
        let t = self.triggers.remove(&trigger)?;
        for target in t.targets() {
            self.by_conn.drop_trigger(target.conn, trigger);
        }
        self.subscriptions -= t.len();
        Some(t)
    }
}

/// Position of `conn`'s subscriber of `trigger` whose id's JSON string is `json`.
fn find(
    by_conn: &ByConn,
    t: &Trigger,
    trigger: TriggerId,
    conn: ConnId,
    json: &[u8],
) -> Option<u32> {
    let r = conn.reactor();
    let hit = |s: &&Sub| {
        s.trigger == trigger
            && t.get(r, s.pos)
                .is_some_and(|x| prefix_has_json_id(&x.prefix, json))
    };
    by_conn.get(conn).iter().find(hit).map(|s| s.pos)
}

/// Takes `conn`'s subscriber at `pos` out of `t` (its own entry is the caller's business)
/// and repoints the entry of whoever moved into its place. False if there was none.
fn detach(
    t: &mut Trigger,
    by_conn: &mut ByConn,
    trigger: TriggerId,
    conn: ConnId,
    pos: u32,
) -> bool {
    let r = conn.reactor();
    debug_assert_eq!(t.get(r, pos).map(|x| x.conn), Some(conn));
    match t.remove_at(r, pos) {
        None => false,
        Some(None) => true,
        Some(Some(Moved { conn: moved, from })) => {
            let ok = by_conn.repoint(moved, trigger, from, pos);
            debug_assert!(ok, "the moved subscriber has an entry");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    impl Members {
        /// The invariants: each entry names a target of its connection, each target has
        /// exactly one entry, counts agree, no trigger is empty.
        fn check(&self) {
            let mut entries = 0;
            for (conn, subs) in self.by_conn.iter() {
                assert!(!subs.is_empty());
                for s in subs {
                    let t = &self.triggers[&s.trigger];
                    let target = t.get(conn.reactor(), s.pos).expect("entry names a target");
                    assert_eq!(target.conn, conn);
                    entries += 1;
                }
                let set: BTreeSet<_> = subs.iter().collect();
                assert_eq!(set.len(), subs.len(), "entries are distinct");
            }
            let targets: usize = self.triggers.values().map(|t| t.targets().count()).sum();
            assert_eq!(entries, targets);
            assert_eq!(entries, self.subscriptions);
            assert!(self
                .triggers
                .values()
                .all(|t| !t.is_empty() && t.len() == t.targets().count()));
        }

        /// Every (trigger, conn, id, legacy) held, from the lists themselves.
        fn held(&self) -> BTreeSet<(TriggerId, u64, String, bool)> {
            let mut all = BTreeSet::new();
            for (&trigger, t) in &self.triggers {
                for x in t.targets() {
                    let legacy = x.prefix.ends_with(br#""data","payload":"#);
                    all.insert((trigger, x.conn.0, x.id().unwrap().into_owned(), legacy));
                }
            }
            all
        }
    }

    fn c(reactor: usize, key: usize) -> ConnId {
        ConnId::new(reactor, key, 1)
    }

    #[test]
    fn several_subscriptions_of_one_connection_same_and_different_triggers() {
        let mut m = Members::default();
        let (a, b) = (c(0, 1), c(1, 2));
        assert!(m.add(1, a, "x", false, 0));
        assert!(!m.add(1, a, "x", false, 0), "a duplicate is refused");
        assert!(!m.add(1, a, "x", true, 0), "whatever the protocol flag");
        assert!(
            m.add(1, a, "y", false, 0),
            "another id on the same connection is not"
        );
        assert!(
            m.add(1, b, "x", false, 0),
            "nor the same id on another connection"
        );
        assert!(
            m.add(2, a, "x", false, 0),
            "nor the same id on another trigger"
        );
        assert!(m.add(1, c(0, 3), "z", false, 0));
        m.check();
        assert_eq!((m.triggers(), m.subscriptions()), (2, 5));
        // a's "x" on trigger 1 is first in reactor 0's list: removing it moves c(0,3)'s in.
        assert!(m.remove(1, a, "x"));
        assert!(!m.remove(1, a, "x"));
        assert!(!m.remove(1, b, "y"));
        assert!(!m.remove(9, a, "y"));
        m.check();
        assert!(m.remove(1, a, "y"));
        m.check();
        assert_eq!(m.by_conn.get(a), &[Sub { trigger: 2, pos: 0 }]);
        assert_eq!(m.remove_client(a), 1);
        assert_eq!(m.remove_client(a), 0);
        assert!(m.get(2).is_none(), "the emptied trigger is forgotten");
        m.check();
        assert_eq!((m.triggers(), m.subscriptions()), (1, 2));
    }

    #[test]
    fn remove_client_with_many_subscriptions_in_one_list_among_others() {
        let mut m = Members::default();
        let me = c(0, 7);
        // Interleaved with other connections, in two triggers, so removals move things.
        for i in 0..50 {
            assert!(m.add(1, c(0, 100 + i), "1", false, 0));
            assert!(m.add(1, me, &format!("op{i}"), false, 0));
            if i % 3 == 0 {
                assert!(m.add(2, me, &format!("op{i}"), false, 0));
                assert!(m.add(2, c(0, 200 + i), "1", true, 0));
            }
        }
        m.check();
        assert_eq!(m.remove_client(me), 50 + 17);
        m.check();
        assert_eq!(m.subscriptions(), 50 + 17);
        assert!(m.held().iter().all(|(_, conn, _, _)| *conn != me.0));
    }

    #[test]
    fn end_forgets_the_trigger_and_its_entries_and_keeps_the_ids() {
        let mut m = Members::default();
        let ids = ["1", "q\"uote", "back\\slash", "ctl\n\u{1}", "ünï ✓"];
        for (i, id) in ids.iter().enumerate() {
            assert!(m.add(5, c(i % 2, i), id, i % 2 == 1, 0));
            assert!(m.add(6, c(i % 2, i), id, i % 2 == 1, 0));
        }
        let t = m.end(5).unwrap();
        let mut got: Vec<_> = t
            .targets()
            .map(|x| (x.conn, x.id().unwrap().into_owned()))
            .collect();
        got.sort_by_key(|g| g.0.key());
        let want: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (c(i % 2, i), id.to_string()))
            .collect();
        assert_eq!(got, want);
        assert!(m.end(5).is_none());
        m.check();
        assert_eq!((m.triggers(), m.subscriptions()), (1, 5));
        assert!(
            m.add(5, c(0, 0), "1", false, 0),
            "a new trigger under the old id"
        );
        m.check();
    }

    #[test]
    fn random_operations_match_a_model() {
        let mut m = Members::default();
        let mut model: BTreeSet<(TriggerId, u64, String, bool)> = BTreeSet::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for step in 0..20_000 {
            let trigger = rand(4);
            let conn = c(rand(3) as usize, rand(12) as usize);
            let legacy = conn.key() % 2 == 1; // one protocol per connection
            let id = ["1", "2", "\"3\"", "4\\"][rand(4) as usize];
            match rand(20) {
                0..=9 => {
                    let fresh = !model
                        .iter()
                        .any(|(t, cn, i, _)| (*t, *cn, i.as_str()) == (trigger, conn.0, id));
                    assert_eq!(m.add(trigger, conn, id, legacy, 0), fresh, "step {step}");
                    model.insert((trigger, conn.0, id.to_string(), legacy));
                }
                10..=16 => {
                    let had = model.remove(&(trigger, conn.0, id.to_string(), legacy));
                    assert_eq!(m.remove(trigger, conn, id), had, "step {step}");
                }
                17..=18 => {
                    let n = model.iter().filter(|x| x.1 == conn.0).count();
                    model.retain(|x| x.1 != conn.0);
                    assert_eq!(m.remove_client(conn), n, "step {step}");
                }
                _ => {
                    let n = model.iter().filter(|x| x.0 == trigger).count();
                    model.retain(|x| x.0 != trigger);
                    assert_eq!(m.end(trigger).map_or(0, |t| t.len()), n, "step {step}");
                }
            }
            m.check();
            assert_eq!(m.held(), model, "step {step}");
        }
    }
}
