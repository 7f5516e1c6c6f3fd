//! One trigger's subscribers, grouped by the reactor that owns their connection.
//!
//! Owned by the hub thread ([`super::Hub`]), never shared. Each reactor's subscribers sit in
//! an `Arc<Vec>` plus an index for O(1) removal; a publish hands each reactor a clone of
//! that `Arc`, so an event to 19k subscribers costs one reference count per reactor, not
//! 19k allocations. A join or leave edits the list in place (`Arc::make_mut`), copying it
//! only while a reactor still holds the list of an event in flight.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;

use crate::bridge::ConnId;

/// One subscriber of a trigger: the connection, the operation id, and the bytes that
/// go before the shared payload in its `next` (legacy: `data`) message.
#[derive(Debug, Clone)]
pub struct Target {
    pub conn: ConnId,
    pub id: Arc<str>,
    /// `{"id":<id>,"type":"next","payload":`; the message ends with the payload and `}`.
    pub prefix: Bytes,
}

#[derive(Default)]
struct Group {
    list: Arc<Vec<Target>>,
}

#[derive(Default)]
pub struct Trigger {
    groups: Vec<Group>,
    /// (connection, operation id) → (reactor, position in its group's list).
    index: HashMap<(ConnId, Arc<str>), (usize, usize)>,
}

impl Trigger {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Adds a subscriber; false if it is there already.
    pub fn add(&mut self, target: Target) -> bool {
        let key = (target.conn, target.id.clone());
        if self.index.contains_key(&key) {
            return false;
        }
        let r = target.conn.reactor();
        if self.groups.len() <= r {
            self.groups.resize_with(r + 1, Group::default);
        }
        let list = Arc::make_mut(&mut self.groups[r].list);
        self.index.insert(key, (r, list.len()));
        list.push(target);
        true
    }

    /// Removes a subscriber; false if it was not there.
    pub fn remove(&mut self, conn: ConnId, id: &Arc<str>) -> bool {
        let Some((r, pos)) = self.index.remove(&(conn, id.clone())) else {
            return false;
        };
        let list = Arc::make_mut(&mut self.groups[r].list);
        list.swap_remove(pos);
        if let Some(moved) = list.get(pos) {
            if let Some(slot) = self.index.get_mut(&(moved.conn, moved.id.clone())) {
                slot.1 = pos;
            }
        }
        if list.is_empty() {
            // Give the memory back: a drained list keeps its capacity otherwise.
            self.groups[r].list = Arc::default();
        }
        true
    }

    /// Each reactor's subscribers (reactor index, shared list), skipping reactors with none.
    pub fn snapshots(&self) -> impl Iterator<Item = (usize, Arc<Vec<Target>>)> + '_ {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.list.is_empty())
            .map(|(r, g)| (r, g.list.clone()))
    }

    /// Every subscriber (for `error` and `complete`, which go to each of them once).
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.groups.iter().flat_map(|g| g.list.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(reactor: usize, key: usize, id: &str) -> Target {
        Target {
            conn: ConnId::new(reactor, key, 1),
            id: id.into(),
            prefix: Bytes::new(),
        }
    }

    #[test]
    fn removal_keeps_the_index_true_and_snapshots_follow_changes() {
        let mut tr = Trigger::default();
        for k in 0..100 {
            assert!(tr.add(t(k % 2, k, "a")));
        }
        assert!(!tr.add(t(0, 0, "a")), "a duplicate is refused");
        assert!(
            tr.add(t(0, 0, "b")),
            "another id on the same connection is not"
        );
        let before: Vec<_> = tr.snapshots().collect();
        assert_eq!(before.len(), 2);
        let again: Vec<_> = tr.snapshots().collect();
        assert!(
            Arc::ptr_eq(&before[0].1, &again[0].1),
            "unchanged: same list"
        );
        drop(again);
        // Remove in an order that moves elements around.
        for k in (0..100).step_by(3) {
            assert!(tr.remove(ConnId::new(k % 2, k, 1), &"a".into()));
            assert!(!tr.remove(ConnId::new(k % 2, k, 1), &"a".into()));
        }
        assert_eq!(
            before[0].1.len() + before[1].1.len(),
            101,
            "a list in flight is not changed"
        );
        let left: usize = tr.snapshots().map(|(_, s)| s.len()).sum();
        assert_eq!(left, tr.len());
        assert_eq!(tr.len(), 101 - 34);
        let snaps: Vec<_> = tr.snapshots().collect();
        for (_, snap) in snaps {
            for target in snap.iter() {
                assert!(tr.index.contains_key(&(target.conn, target.id.clone())));
            }
        }
        for k in 0..100 {
            tr.remove(ConnId::new(k % 2, k, 1), &"a".into());
        }
        tr.remove(ConnId::new(0, 0, 1), &"b".into());
        assert!(tr.is_empty());
        assert_eq!(tr.snapshots().count(), 0);
    }
}
