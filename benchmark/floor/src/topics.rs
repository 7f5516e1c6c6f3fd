//! A floor loop's topic index: topic names interned to numbers, and per topic the
//! connections (slab keys) holding at least one subscription to it, so that a publish
//! visits its own subscribers only. A key is listed once per topic however many of the
//! connection's subscriptions share that topic.

use std::collections::HashMap;

#[derive(Default)]
pub struct Topics {
    index: HashMap<Box<str>, u32>,
    conns: Vec<Vec<usize>>,
}

impl Topics {
    /// The number of `name`, added if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&t) = self.index.get(name) {
            return t;
        }
        let t = self.conns.len() as u32;
        self.index.insert(name.into(), t);
        self.conns.push(Vec::new());
        t
    }

    /// The number of `name` if anyone ever subscribed to it here.
    pub fn lookup(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Lists connection `key` under `topic`.
    pub fn add(&mut self, topic: u32, key: usize) {
        self.conns[topic as usize].push(key);
    }

    /// Unlists connection `key` from `topic` (order is not kept).
    pub fn remove(&mut self, topic: u32, key: usize) {
        let list = &mut self.conns[topic as usize];
        if let Some(at) = list.iter().position(|&k| k == key) {
            list.swap_remove(at);
        }
    }

    /// The connections subscribed to `topic`.
    pub fn conns(&self, topic: u32) -> &[usize] {
        &self.conns[topic as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_lists_and_unlists() {
        let mut t = Topics::default();
        let (a, b) = (t.intern("a"), t.intern("b"));
        assert_eq!((a, b, t.intern("a"), t.lookup("c")), (0, 1, 0, None));
        t.add(a, 7);
        t.add(a, 9);
        t.add(b, 7);
        t.remove(a, 7);
        t.remove(a, 42);
        assert_eq!((t.conns(a), t.conns(b)), (&[9][..], &[7][..]));
    }
}
