//! A worker's connection table: flows (their exact 5-tuple) → a small value, for the `lb` SF
//! (which backend a connection went to) and the stateful firewall (which connections it let
//! through, and which way they were opened).
//!
//! Fixed-size and set-associative: the flow's hash picks a set of [`WAYS`] entries laid out side by
//! side; a lookup compares at most those keys; a new flow takes a free entry of its set, or the
//! least recently used one when the set is full (that connection is forgotten). Nothing is
//! allocated after construction, and nothing is shared: each worker has its own, as each worker
//! sees the packets its receive queues bring it. "Recently" is a per-table counter of lookups, so
//! no clock is read per packet.

use crate::wire::FlowKey;

/// Entries per set.
pub const WAYS: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Entry<V> {
    key: FlowKey,
    value: V,
    /// The table's clock when the entry was last used; 0: free.
    stamp: u64,
}

/// Connections and their values.
#[derive(Debug, Clone)]
pub struct ConnTable<V> {
    entries: Box<[Option<Entry<V>>]>,
    /// Sets − 1 (sets are a power of two).
    mask: usize,
    clock: u64,
    used: usize,
}

impl<V: Copy> ConnTable<V> {
    /// A table of at least `capacity` entries (rounded up to a power of two sets of [`WAYS`]).
    pub fn new(capacity: usize) -> Self {
        let sets = capacity.div_ceil(WAYS).max(1).next_power_of_two();
        ConnTable {
            entries: vec![None; sets * WAYS].into_boxed_slice(),
            mask: sets - 1,
            clock: 0,
            used: 0,
        }
    }

    /// The entries it holds at most.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Connections held now.
    pub fn len(&self) -> usize {
        self.used
    }

    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    #[inline(always)]
    fn set(&self, hash: u32) -> std::ops::Range<usize> {
        let s = (hash as usize & self.mask) * WAYS;
        s..s + WAYS
    }

    /// The value of the connection whose key `matches` (in the set of `hash`), marked used.
    #[inline]
    pub fn find_mut(
        &mut self,
        hash: u32,
        mut matches: impl FnMut(&FlowKey) -> bool,
    ) -> Option<(&FlowKey, &mut V)> {
        self.clock += 1;
        let clock = self.clock;
        let set = self.set(hash);
        self.entries[set]
            .iter_mut()
            .flatten()
            .find(|e| matches(&e.key))
            .map(|e| {
                e.stamp = clock;
                (&e.key, &mut e.value)
            })
    }

    /// The value of `key` (in the set of `hash`), marked used.
    #[inline]
    pub fn get_mut(&mut self, hash: u32, key: &FlowKey) -> Option<&mut V> {
        self.find_mut(hash, |k| k == key).map(|(_, v)| v)
    }

    /// Records `key` with `value` (replacing its old value): in a free entry of its set, else in
    /// the least recently used one. Returns whether a connection was forgotten to make room.
    #[inline]
    pub fn insert(&mut self, hash: u32, key: FlowKey, value: V) -> bool {
        self.clock += 1;
        let clock = self.clock;
        let set = self.set(hash);
        let slots = &mut self.entries[set];
        let at = slots
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.key == key))
            .or_else(|| slots.iter().position(Option::is_none));
        let (i, evicted) = match at {
            Some(i) => (i, false),
            None => {
                let lru = slots
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, e)| e.as_ref().map_or(0, |e| e.stamp))
                    .map_or(0, |(i, _)| i);
                (lru, true)
            }
        };
        if slots[i].is_none() {
            self.used += 1;
        }
        slots[i] = Some(Entry {
            key,
            value,
            stamp: clock,
        });
        evicted
    }

    /// Forgets `key`; returns whether it was there.
    pub fn remove(&mut self, hash: u32, key: &FlowKey) -> bool {
        let set = self.set(hash);
        for e in &mut self.entries[set] {
            if e.as_ref().is_some_and(|e| e.key == *key) {
                *e = None;
                self.used -= 1;
                return true;
            }
        }
        false
    }

    /// Every connection and its value, for `qdpctl` and tests (not for the fast path).
    pub fn iter(&self) -> impl Iterator<Item = (&FlowKey, &V)> {
        self.entries.iter().flatten().map(|e| (&e.key, &e.value))
    }

    /// Forgets the connections `keep` refuses.
    pub fn retain(&mut self, mut keep: impl FnMut(&FlowKey, &V) -> bool) {
        for e in self.entries.iter_mut() {
            if e.as_ref().is_some_and(|x| !keep(&x.key, &x.value)) {
                *e = None;
                self.used -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{IpFamily, IpProtocol};

    fn flow(i: u32) -> FlowKey {
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&[10, 1, (i >> 8) as u8, i as u8]);
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[10, 2, 0, 1]);
        FlowKey {
            family: IpFamily::Ipv4,
            src,
            dst,
            protocol: IpProtocol::Tcp,
            src_port: 1000 + (i % 5000) as u16,
            dst_port: 80,
        }
    }

    #[test]
    fn insert_find_replace_remove() {
        let mut t: ConnTable<u16> = ConnTable::new(64);
        assert_eq!(t.capacity(), 64);
        let mut evicted = 0;
        for i in 0..40 {
            let k = flow(i);
            evicted += usize::from(t.insert(k.hash(), k, i as u16));
        }
        // 40 flows in 16 sets of 4 may have filled a set: what was not evicted is all there.
        let kept = (0..40)
            .filter(|&i| t.get_mut(flow(i).hash(), &flow(i)) == Some(&mut (i as u16)))
            .count();
        assert_eq!(kept, t.len());
        assert_eq!(kept + evicted, 40);
        let k = flow(3);
        t.insert(k.hash(), k, 77);
        let len = t.len();
        t.insert(k.hash(), k, 77);
        assert_eq!(t.len(), len, "the same key again replaces its value");
        assert_eq!(t.get_mut(k.hash(), &k), Some(&mut 77));
        assert!(t.remove(k.hash(), &k));
        assert_eq!(t.get_mut(k.hash(), &k), None);
        assert!(!t.remove(k.hash(), &k));
    }

    #[test]
    fn a_full_set_forgets_its_least_recently_used() {
        let mut t: ConnTable<u32> = ConnTable::new(WAYS);
        let keys: Vec<FlowKey> = (0..WAYS as u32 + 1).map(flow).collect();
        for (i, k) in keys.iter().take(WAYS).enumerate() {
            assert!(!t.insert(0, *k, i as u32));
        }
        // Use all but the second: it is the least recently used.
        for k in keys.iter().take(WAYS).enumerate().filter(|(i, _)| *i != 1) {
            assert!(t.get_mut(0, k.1).is_some());
        }
        assert!(t.insert(0, keys[WAYS], 9));
        assert!(t.get_mut(0, &keys[1]).is_none());
        assert_eq!(t.get_mut(0, &keys[WAYS]), Some(&mut 9));
        assert_eq!(t.len(), WAYS);
        t.retain(|_, v| *v != 9);
        assert_eq!(t.len(), WAYS - 1);
    }
}
