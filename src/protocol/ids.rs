//! The ids of a connection's active operations, compact for the common case, each with its
//! operation serial.
//!
//! A serial names one operation, where an id names whichever operation holds it now: a
//! client may complete id `1` and subscribe `1` again at once, while answers for the first
//! operation are still on their way (queued in JS, in the hub, in a reactor's inbox). Every
//! subscribe gets a fresh serial ([`fresh_serial`]); it travels with the `subscribe` event to
//! JS and comes back with every answer, and an answer whose serial is not the id's current one
//! is dropped. Serial 0 means "whichever holds the id" (answers from code that has none).
//!
//! Embedded in every session (so in every connection). Empty, it is an empty `Vec`: no
//! allocation. Up to [`FEW`] ids live in that `Vec` (room for exactly one at first, then
//! doubling), searched linearly (a connection usually
//! has one to a handful of operations); past that they move to a boxed `HashSet` (SipHash,
//! as ids come from clients), so a connection with thousands stays O(1) per lookup. When the
//! last id goes, the memory goes with it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// Above this many ids the set switches from a `Vec` to a `HashMap`.
const FEW: usize = 16;

/// One operation, as opposed to the id it holds (see the module comment). Never 0.
pub type OpSerial = u32;

/// The next serial, process-wide: a subscribe is not a hot path, and one counter for every
/// session costs no bytes per connection. It wraps after 2³² subscribes, skipping 0; an id
/// reused exactly 2³² subscribes later while an answer of its old operation is still queued
/// is the only case it cannot tell apart.
static NEXT_SERIAL: AtomicU32 = AtomicU32::new(1);

/// A serial no operation alive holds (but one 2³² subscribes ago).
pub(super) fn fresh_serial() -> OpSerial {
    loop {
        let s = NEXT_SERIAL.fetch_add(1, Relaxed);
        if s != 0 {
            return s;
        }
    }
}

/// Whether an answer carrying `want` is for the operation holding serial `held`.
fn same_op(held: OpSerial, want: OpSerial) -> bool {
    want == 0 || want == held
}

#[derive(Debug)]
pub(super) struct Ids(Repr);

#[derive(Debug)]
enum Repr {
    Few(Vec<(Box<str>, OpSerial)>),
    // Boxed on purpose: an inline HashMap (48 bytes) would double every session's id set.
    #[allow(clippy::box_collection)]
    Many(Box<HashMap<Box<str>, OpSerial>>),
}

impl Default for Ids {
    fn default() -> Self {
        Ids(Repr::Few(Vec::new()))
    }
}

impl Ids {
    pub(super) fn len(&self) -> usize {
        match &self.0 {
            Repr::Few(v) => v.len(),
            Repr::Many(s) => s.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        self.serial(id).is_some()
    }

    /// The serial of the operation holding `id`.
    pub(super) fn serial(&self, id: &str) -> Option<OpSerial> {
        match &self.0 {
            Repr::Few(v) => v.iter().find(|(x, _)| &**x == id).map(|&(_, s)| s),
            Repr::Many(s) => s.get(id).copied(),
        }
    }

    /// Whether `id` is held by the operation `serial` (0: by any).
    pub(super) fn is_active(&self, id: &str, serial: OpSerial) -> bool {
        self.serial(id).is_some_and(|held| same_op(held, serial))
    }

    /// Whether operation `serial` still holds its id, told from the serial alone (no id
    /// compare); None when that takes the id: serial 0, or a set too large to scan.
    pub(super) fn holds(&self, serial: OpSerial) -> Option<bool> {
        match &self.0 {
            Repr::Few(v) if serial != 0 => Some(v.iter().any(|&(_, s)| s == serial)),
            _ => None,
        }
    }

    /// Adds `id` for a new operation and returns its serial; None (and no change) when `id`
    /// is already held.
    pub(super) fn insert(&mut self, id: &str) -> Option<OpSerial> {
        if self.contains(id) {
            return None;
        }
        let serial = fresh_serial();
        match &mut self.0 {
            Repr::Few(v) if v.len() < FEW => {
                // Exactly one slot for the first id (the usual connection has one), then
                // doubling up to FEW, instead of the `Vec`'s usual first four.
                if v.len() == v.capacity() {
                    v.reserve_exact(v.len().max(1));
                }
                v.push((id.into(), serial));
            }
            Repr::Few(v) => {
                let mut map: HashMap<Box<str>, OpSerial> = std::mem::take(v).into_iter().collect();
                map.insert(id.into(), serial);
                self.0 = Repr::Many(Box::new(map));
            }
            Repr::Many(s) => {
                s.insert(id.into(), serial);
            }
        }
        Some(serial)
    }

    /// Removes `id`; false when it was not there.
    pub(super) fn remove(&mut self, id: &str) -> bool {
        let found = match &mut self.0 {
            Repr::Few(v) => match v.iter().position(|(x, _)| &**x == id) {
                Some(i) => {
                    v.swap_remove(i);
                    true
                }
                None => false,
            },
            Repr::Many(s) => s.remove(id).is_some(),
        };
        if found && self.is_empty() {
            self.clear();
        }
        found
    }

    /// Forgets every id and frees the memory.
    pub(super) fn clear(&mut self) {
        self.0 = Repr::Few(Vec::new());
    }

    /// Whether the set holds heap memory (for tests of the idle footprint).
    #[cfg(test)]
    pub(super) fn allocated(&self) -> bool {
        match &self.0 {
            Repr::Few(v) => v.capacity() > 0,
            Repr::Many(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_into_a_set_and_frees_when_empty() {
        let mut ids = Ids::default();
        assert!(!ids.allocated());
        let capacity = |ids: &Ids| match &ids.0 {
            Repr::Few(v) => v.capacity(),
            Repr::Many(_) => usize::MAX,
        };
        for (n, want) in [(1, 1), (2, 2), (3, 4), (5, 8), (9, 16), (16, 16)] {
            while ids.len() < n {
                assert!(ids.insert(&format!("c{}", ids.len())).is_some());
            }
            assert_eq!(capacity(&ids), want, "{n} ids");
        }
        ids.clear();
        for i in 0..100 {
            assert!(ids.insert(&i.to_string()).is_some());
            assert!(ids.insert(&i.to_string()).is_none());
        }
        assert_eq!(ids.len(), 100);
        assert!(matches!(ids.0, Repr::Many(_)));
        assert!(ids.contains("42") && !ids.contains("100"));
        for i in (0..100).rev() {
            assert!(ids.remove(&i.to_string()));
            assert!(!ids.remove(&i.to_string()));
        }
        assert!(ids.is_empty() && !ids.allocated());
        assert!(ids.insert("x").is_some() && ids.remove("x") && !ids.allocated());
        assert!(std::mem::size_of::<Ids>() <= 24);
    }

    /// An id completed and subscribed again is a new operation: answers of the old one
    /// (its serial) are dropped, answers without a serial go to whoever holds the id.
    #[test]
    fn a_reused_id_is_a_new_operation() {
        for many in [false, true] {
            let mut ids = Ids::default();
            if many {
                for i in 0..=FEW {
                    ids.insert(&format!("other{i}"));
                }
                assert!(matches!(ids.0, Repr::Many(_)));
            }
            let old = ids.insert("1").unwrap();
            assert_eq!(ids.serial("1"), Some(old));
            assert!(ids.remove("1"));
            let new = ids.insert("1").unwrap();
            assert_ne!(old, new);
            assert!(!ids.is_active("1", old), "many={many}");
            assert!(ids.is_active("1", new) && ids.is_active("1", 0));
            // Told from the serial alone while the set is small; else the id must be read.
            let by_serial = |s| (!many).then_some(s);
            assert_eq!(ids.holds(old), by_serial(false));
            assert_eq!(ids.holds(new), by_serial(true));
            assert_eq!(ids.holds(0), None, "serial 0 needs the id");
            // (What answers carrying either serial do is the session's: session.rs tests.)
            assert!(ids.remove("1") && !ids.contains("1"));
        }
    }

    #[test]
    fn serials_are_never_zero_and_differ() {
        let a = fresh_serial();
        let b = fresh_serial();
        assert!(a != 0 && b != 0 && a != b);
        // (other tests take serials at the same time: only "never 0" is certain here)
        NEXT_SERIAL.store(u32::MAX - 1, Relaxed);
        for _ in 0..4 {
            assert_ne!(fresh_serial(), 0, "0 is skipped when the counter wraps");
        }
    }
}
