//! One trigger's subscribers, grouped by the reactor that owns their connection.
//!
//! Owned by the hub thread ([`super::Hub`]), never shared. Each reactor's subscribers sit in
//! an `Arc<Vec>`; a publish hands each reactor a clone of that `Arc`, so an event to 19k
//! subscribers costs one reference count per reactor, not 19k allocations. A join or leave
//! edits the list in place (`Arc::make_mut`), copying it only while a reactor still holds
//! the list of an event in flight. A subscriber is named by its position in its reactor's
//! list; who is where is kept by the hub's per-connection lists (`by_conn.rs`), which
//! [`Trigger::remove_at`] tells when it moves someone.

use std::sync::Arc;

use crate::reactor::conn::ConnId;
use crate::reactor::inbox::Target;

/// A subscriber that [`Trigger::remove_at`] moved into the freed position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Moved {
    pub(crate) conn: ConnId,
    /// Where it was (the list's old last position).
    pub(crate) from: u32,
}

#[derive(Default)]
pub(super) struct Trigger {
    /// Per reactor (by index), its subscribers.
    groups: Vec<Arc<Vec<Target>>>,
    len: usize,
}

impl Trigger {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a subscriber at the end of its reactor's list; returns its position there
    /// (None, and no change, if that would not fit a `u32`).
    pub(super) fn add(&mut self, target: Target) -> Option<u32> {
        let r = target.conn.reactor();
        if self.groups.len() <= r {
            self.groups.resize_with(r + 1, Arc::default);
        }
        let list = Arc::make_mut(&mut self.groups[r]);
        let pos = u32::try_from(list.len()).ok()?;
        if list.len() == list.capacity() {
            // Grow by a quarter, not double: an idle subscriber should not pay for up to
            // as much again in spare room. Still amortized O(1) per push.
            list.reserve_exact((list.len() / 4).max(4));
        }
        list.push(target);
        self.len += 1;
        Some(pos)
    }

    /// The subscriber at `pos` in `reactor`'s list.
    pub(super) fn get(&self, reactor: usize, pos: u32) -> Option<&Target> {
        self.groups.get(reactor)?.get(pos as usize)
    }

    /// Removes the subscriber at `pos` in `reactor`'s list: the last one takes its place.
    /// None if there is none; else `Some(moved)`: who moved from where to `pos`, if anyone.
    pub(super) fn remove_at(&mut self, reactor: usize, pos: u32) -> Option<Option<Moved>> {
        let group = self.groups.get_mut(reactor)?;
        let at = pos as usize;
        if at >= group.len() {
            return None;
        }
        let list = Arc::make_mut(group);
        list.swap_remove(at);
        self.len -= 1;
        let moved = list.get(at).map(|t| Moved {
            conn: t.conn,
            // The old last position: the list's new length, which fits as `pos` did.
            from: list.len() as u32,
        });
        if list.is_empty() {
            // Give the memory back: a drained list keeps its capacity otherwise.
            *group = Arc::default();
        } else if list.capacity() > 64 && list.len() * 4 < list.capacity() {
            list.shrink_to(list.len() * 2);
        }
        Some(moved)
    }

    /// Each reactor's subscribers (reactor index, shared list), skipping reactors with none.
    pub(super) fn snapshots(&self) -> impl Iterator<Item = (usize, Arc<Vec<Target>>)> + '_ {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, list)| !list.is_empty())
            .map(|(r, list)| (r, list.clone()))
    }

    /// Every subscriber (for `error` and `complete`, which go to each of them once).
    pub(super) fn targets(&self) -> impl Iterator<Item = &Target> {
        self.groups.iter().flat_map(|list| list.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(reactor: usize, key: usize) -> Target {
        Target::new(ConnId::new(reactor, key, 1), &key.to_string(), false, 0)
    }

    /// Where each connection (by key) sits, as the hub's per-connection lists would say.
    fn positions(tr: &Trigger) -> Vec<Option<(usize, u32)>> {
        let mut at = vec![None; 100];
        for (r, list) in tr.snapshots() {
            for (pos, target) in list.iter().enumerate() {
                assert_eq!(target.conn.reactor(), r);
                let key = target.conn.key();
                assert!(at[key].is_none(), "{key} is listed once");
                at[key] = Some((r, pos as u32));
            }
        }
        at
    }

    #[test]
    fn removal_moves_the_last_and_says_who_snapshots_follow_changes() {
        let mut tr = Trigger::default();
        for k in 0..100 {
            assert_eq!(tr.add(t(k % 2, k)), Some((k / 2) as u32));
        }
        let before: Vec<_> = tr.snapshots().collect();
        assert_eq!(before.len(), 2);
        let again: Vec<_> = tr.snapshots().collect();
        assert!(
            Arc::ptr_eq(&before[0].1, &again[0].1),
            "unchanged: same list"
        );
        drop(again);
        // Remove in an order that moves elements around; follow moves as the hub does.
        let mut at = positions(&tr);
        for k in (0..100).step_by(3) {
            let (r, pos) = at[k].take().unwrap();
            assert_eq!(tr.get(r, pos).map(|x| x.conn.key()), Some(k));
            let last = (tr.snapshots().find(|s| s.0 == r).unwrap().1.len() - 1) as u32;
            let moved = tr.remove_at(r, pos).unwrap();
            match moved {
                Some(Moved { conn, from }) => {
                    assert_ne!(pos, last);
                    assert_eq!(from, last);
                    assert_eq!(at[conn.key()], Some((r, last)));
                    at[conn.key()] = Some((r, pos));
                }
                None => assert_eq!(pos, last, "only removing the last moves nobody"),
            }
            assert_eq!(positions(&tr), at);
        }
        assert_eq!(tr.remove_at(0, 99), None);
        assert_eq!(tr.remove_at(7, 0), None);
        assert_eq!(
            before[0].1.len() + before[1].1.len(),
            100,
            "a list in flight is not changed"
        );
        let left: usize = tr.snapshots().map(|(_, s)| s.len()).sum();
        assert_eq!(left, tr.len());
        assert_eq!(tr.len(), 100 - 34);
        assert_eq!(tr.targets().count(), tr.len());
        let mut left: Vec<(usize, u32)> = at.iter().flatten().copied().collect();
        left.sort_by_key(|&(r, pos)| (r, std::cmp::Reverse(pos)));
        for (r, pos) in left {
            // From the back of each list: nothing moves.
            assert_eq!(tr.remove_at(r, pos), Some(None));
        }
        assert!(tr.is_empty());
        assert_eq!(tr.snapshots().count(), 0);
        assert!(
            tr.groups.iter().all(|g| g.capacity() == 0),
            "memory given back"
        );
    }

    #[test]
    fn lists_grow_by_a_quarter_and_shrink_when_mostly_empty() {
        let mut tr = Trigger::default();
        for k in 0..1000 {
            tr.add(t(0, k % 100));
            let cap = tr.groups[0].capacity();
            assert!(cap <= tr.len() + tr.len() / 4 + 4, "{cap} for {}", tr.len());
        }
        while tr.len() > 10 {
            tr.remove_at(0, 0).unwrap();
            let cap = tr.groups[0].capacity();
            assert!(cap <= 64 || cap <= tr.len() * 4, "{cap} for {}", tr.len());
        }
    }
}
