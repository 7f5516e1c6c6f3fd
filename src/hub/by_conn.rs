//! Which shared subscriptions each connection holds: (trigger, position in that trigger's
//! list for the connection's reactor), nothing more.
//!
//! Owned by the hub thread, kept in step with the triggers' lists by `members.rs`. The
//! usual connection holds one shared subscription, so one entry is stored inline in the
//! map's slot (no allocation of its own); a second one moves the list to a `Vec`. The map
//! is keyed by [`ConnId`] with ahash: ids are assigned by the server, not chosen by
//! clients, so SipHash's defence is not needed here.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::TriggerId;
use crate::reactor::conn::ConnId;

/// One shared subscription of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Sub {
    pub(crate) trigger: TriggerId,
    /// Its position in the trigger's list for the connection's reactor.
    pub(crate) pos: u32,
}

/// A connection's subscriptions: never empty (an empty one leaves the map).
#[derive(Debug)]
pub(super) enum Subs {
    One(Sub),
    Many(Vec<Sub>),
}

impl Subs {
    pub(super) fn as_slice(&self) -> &[Sub] {
        match self {
            Subs::One(s) => std::slice::from_ref(s),
            Subs::Many(v) => v,
        }
    }

    pub(super) fn as_mut_slice(&mut self) -> &mut [Sub] {
        match self {
            Subs::One(s) => std::slice::from_mut(s),
            Subs::Many(v) => v,
        }
    }

    /// Keeps the entries `keep` says yes to; false when none is left.
    fn retain(&mut self, mut keep: impl FnMut(&Sub) -> bool) -> bool {
        let v = match self {
            Subs::One(s) => return keep(s),
            Subs::Many(v) => v,
        };
        v.retain(keep);
        match v.len() {
            0 => false,
            1 => {
                let last = v[0];
                *self = Subs::One(last);
                true
            }
            n => {
                if v.capacity() > 8 && n * 4 < v.capacity() {
                    v.shrink_to(n * 2);
                }
                true
            }
        }
    }
}

/// The map's hasher: ahash with fixed keys. Connection ids are assigned by the server, not
/// chosen by clients, so the keys need not be secret (and no random source is needed).
type ConnHasher = BuildHasherDefault<ahash::AHasher>;

#[derive(Default)]
pub(super) struct ByConn {
    map: HashMap<ConnId, Subs, ConnHasher>,
}

impl ByConn {
    /// Connections holding at least one shared subscription.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    pub(super) fn get(&self, conn: ConnId) -> &[Sub] {
        self.map.get(&conn).map_or(&[], Subs::as_slice)
    }

    pub(super) fn push(&mut self, conn: ConnId, sub: Sub) {
        let Some(subs) = self.map.get_mut(&conn) else {
            self.map.insert(conn, Subs::One(sub));
            return;
        };
        match subs {
            Subs::One(first) => *subs = Subs::Many(vec![*first, sub]),
            Subs::Many(v) => v.push(sub),
        }
    }

    /// Removes one entry; false if it was not there.
    pub(super) fn remove(&mut self, conn: ConnId, sub: Sub) -> bool {
        let mut found = false;
        self.retain(conn, |s| {
            let hit = !found && *s == sub;
            found |= hit;
            !hit
        });
        found
    }

    /// Drops every entry of `trigger` (it has been forgotten).
    pub(super) fn drop_trigger(&mut self, conn: ConnId, trigger: TriggerId) {
        self.retain(conn, |s| s.trigger != trigger);
    }

    /// The subscriber of `trigger` that sat at `from` now sits at `to`; false if `conn`
    /// has no such entry.
    pub(super) fn repoint(&mut self, conn: ConnId, trigger: TriggerId, from: u32, to: u32) -> bool {
        let Some(subs) = self.map.get_mut(&conn) else {
            return false;
        };
        let old = Sub { trigger, pos: from };
        match subs.as_mut_slice().iter_mut().find(|s| **s == old) {
            Some(s) => {
                s.pos = to;
                true
            }
            None => false,
        }
    }

    /// Takes every entry of `conn` out of the map.
    pub(super) fn take(&mut self, conn: ConnId) -> Option<Subs> {
        let subs = self.map.remove(&conn);
        self.shrink();
        subs
    }

    fn retain(&mut self, conn: ConnId, keep: impl FnMut(&Sub) -> bool) {
        let Some(subs) = self.map.get_mut(&conn) else {
            return;
        };
        if !subs.retain(keep) {
            self.map.remove(&conn);
            self.shrink();
        }
    }

    /// A table that held a connect storm gives the memory back once it is mostly empty
    /// (amortized O(1): rehashing `n` entries takes `n` removals to bring about).
    fn shrink(&mut self) {
        if self.map.capacity() > 256 && self.map.len() * 4 < self.map.capacity() {
            self.map.shrink_to(self.map.len() * 2);
        }
    }

    /// Every (connection, entries): for the hub's consistency checks in tests.
    #[cfg(test)]
    pub(super) fn iter(&self) -> impl Iterator<Item = (ConnId, &[Sub])> {
        self.map.iter().map(|(c, s)| (*c, s.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(trigger: TriggerId, pos: u32) -> Sub {
        Sub { trigger, pos }
    }

    #[test]
    fn one_entry_is_inline_more_spill_and_come_back() {
        let c = ConnId(5);
        let mut m = ByConn::default();
        assert!(m.get(c).is_empty());
        m.push(c, sub(1, 0));
        assert!(matches!(m.map[&c], Subs::One(_)));
        m.push(c, sub(2, 3));
        m.push(c, sub(1, 4));
        assert_eq!(m.get(c), &[sub(1, 0), sub(2, 3), sub(1, 4)]);
        assert!(m.repoint(c, 1, 4, 1));
        assert!(!m.repoint(c, 1, 4, 1), "already moved");
        assert!(!m.repoint(ConnId(6), 1, 0, 0));
        assert_eq!(m.get(c), &[sub(1, 0), sub(2, 3), sub(1, 1)]);
        assert!(m.remove(c, sub(2, 3)));
        assert!(!m.remove(c, sub(2, 3)));
        m.drop_trigger(c, 1);
        assert_eq!(m.len(), 0, "empty: gone");
        m.push(c, sub(1, 0));
        m.push(c, sub(2, 0));
        assert!(m.remove(c, sub(1, 0)));
        assert!(
            matches!(m.map[&c], Subs::One(s) if s == sub(2, 0)),
            "back inline"
        );
        assert!(m.remove(c, sub(2, 0)));
        assert_eq!(m.len(), 0);
        m.push(c, sub(3, 0));
        assert!(matches!(m.take(c), Some(Subs::One(_))));
        assert!(m.take(c).is_none());
    }

    #[test]
    fn the_table_shrinks_after_a_storm_and_entries_are_small() {
        let mut m = ByConn::default();
        for n in 0..10_000 {
            m.push(ConnId(n), sub(1, n as u32));
        }
        let full = m.map.capacity();
        for n in 100..10_000 {
            assert!(m.remove(ConnId(n), sub(1, n as u32)));
        }
        assert!(
            m.map.capacity() * 8 < full,
            "{} of {full}",
            m.map.capacity()
        );
        for n in 0..100 {
            assert_eq!(m.get(ConnId(n)), &[sub(1, n as u32)]);
        }
        assert_eq!(std::mem::size_of::<Sub>(), 16);
        assert_eq!(std::mem::size_of::<(ConnId, Subs)>(), 32);
    }

    #[test]
    fn conn_ids_spread_over_the_table() {
        use std::hash::BuildHasher;
        let b = ConnHasher::default();
        // Ids differ only in their generation or slab key; low and high bits both vary.
        let mut low = std::collections::HashSet::new();
        let mut high = std::collections::HashSet::new();
        for key in 0..64 {
            for gen in 0..16 {
                let h = b.hash_one(ConnId::new(1, key, gen));
                low.insert(h & 1023);
                high.insert(h >> 57);
            }
        }
        assert!(low.len() > 500, "{}", low.len());
        assert_eq!(high.len(), 128);
    }
}
