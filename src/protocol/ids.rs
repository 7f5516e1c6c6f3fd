//! The ids of a connection's active operations, compact for the common case.
//!
//! Embedded in every session (so in every connection). Empty, it is an empty `Vec`: no
//! allocation. Up to [`FEW`] ids live in that `Vec` (room for exactly one at first, then
//! doubling), searched linearly (a connection usually
//! has one to a handful of operations); past that they move to a boxed `HashSet` (SipHash,
//! as ids come from clients), so a connection with thousands stays O(1) per lookup. When the
//! last id goes, the memory goes with it.

use bytes::Bytes;
use std::collections::HashSet;

use super::output::{Outgoing, Payload, Sink};

/// Above this many ids the set switches from a `Vec` to a `HashSet`.
const FEW: usize = 16;

#[derive(Debug)]
pub struct Ids(Repr);

#[derive(Debug)]
enum Repr {
    Few(Vec<Box<str>>),
    // Boxed on purpose: an inline HashSet (48 bytes) would double every session's id set.
    #[allow(clippy::box_collection)]
    Many(Box<HashSet<Box<str>>>),
}

impl Default for Ids {
    fn default() -> Self {
        Ids(Repr::Few(Vec::new()))
    }
}

impl Ids {
    /// Sends a server message of `kind` for operation `id` if it is active (both protocols'
    /// `next`/`data`, `error`, `complete`); `ends` frees the id. Returns whether it was sent.
    pub fn emit(
        &mut self,
        id: &str,
        kind: &'static str,
        payload: Option<&Bytes>,
        ends: bool,
        out: &mut dyn Sink,
    ) -> bool {
        let active = if ends {
            self.remove(id)
        } else {
            self.contains(id)
        };
        if active {
            out.send(Outgoing {
                id: Some(id),
                kind,
                payload: payload.map(Payload::Shared),
            });
        }
        active
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Few(v) => v.len(),
            Repr::Many(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, id: &str) -> bool {
        match &self.0 {
            Repr::Few(v) => v.iter().any(|x| &**x == id),
            Repr::Many(s) => s.contains(id),
        }
    }

    /// Adds `id`; false (and no change) when it is already there.
    pub fn insert(&mut self, id: &str) -> bool {
        if self.contains(id) {
            return false;
        }
        match &mut self.0 {
            Repr::Few(v) if v.len() < FEW => {
                // Exactly one slot for the first id (the usual connection has one), then
                // doubling up to FEW, instead of the `Vec`'s usual first four.
                if v.len() == v.capacity() {
                    v.reserve_exact(v.len().max(1));
                }
                v.push(id.into());
            }
            Repr::Few(v) => {
                let mut set: HashSet<Box<str>> = std::mem::take(v).into_iter().collect();
                set.insert(id.into());
                self.0 = Repr::Many(Box::new(set));
            }
            Repr::Many(s) => {
                s.insert(id.into());
            }
        }
        true
    }

    /// Removes `id`; false when it was not there.
    pub fn remove(&mut self, id: &str) -> bool {
        let found = match &mut self.0 {
            Repr::Few(v) => match v.iter().position(|x| &**x == id) {
                Some(i) => {
                    v.swap_remove(i);
                    true
                }
                None => false,
            },
            Repr::Many(s) => s.remove(id),
        };
        if found && self.is_empty() {
            self.clear();
        }
        found
    }

    /// Forgets every id and frees the memory.
    pub fn clear(&mut self) {
        self.0 = Repr::Few(Vec::new());
    }

    /// Whether the set holds heap memory (for tests of the idle footprint).
    pub fn allocated(&self) -> bool {
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
                assert!(ids.insert(&format!("c{}", ids.len())));
            }
            assert_eq!(capacity(&ids), want, "{n} ids");
        }
        ids.clear();
        for i in 0..100 {
            assert!(ids.insert(&i.to_string()));
            assert!(!ids.insert(&i.to_string()));
        }
        assert_eq!(ids.len(), 100);
        assert!(matches!(ids.0, Repr::Many(_)));
        assert!(ids.contains("42") && !ids.contains("100"));
        for i in (0..100).rev() {
            assert!(ids.remove(&i.to_string()));
            assert!(!ids.remove(&i.to_string()));
        }
        assert!(ids.is_empty() && !ids.allocated());
        assert!(ids.insert("x") && ids.remove("x") && !ids.allocated());
        assert!(std::mem::size_of::<Ids>() <= 24);
    }
}
