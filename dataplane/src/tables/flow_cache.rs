//! The flow cache: an exact-match, fixed-size, 2-way set-associative cache of classifier results,
//! one per worker, in front of the tuple space search ([`Classifier::lookup_cached`]).
//!
//! Limits: the capacity is fixed at construction (a power of two); a full set evicts its older
//! entry, with no notion of how often an entry is used; a cache serves one classifier at a time
//! and starts empty when used with another.

use super::classifier_rule::ClassifierAction;
use super::packed_key::Packed;

#[cfg(doc)]
use super::classifier::Classifier;

/// One cached lookup result.
#[derive(Debug, Clone, Copy)]
struct CacheSlot {
    /// Valid only if equal to the cache's generation.
    generation: u64,
    key: Packed,
    result: Option<(usize, ClassifierAction)>,
}

/// An exact-match cache of classifier results in front of [`Classifier::lookup`], one per
/// worker.
///
/// 2-way set-associative with a fixed number of slots allocated at construction; lookups and
/// inserts never allocate. A new entry goes into a free way of its set, else it replaces the
/// older of the two. [`invalidate`](Self::invalidate) empties the cache in O(1) by bumping a
/// generation number.
#[derive(Debug)]
pub struct FlowCache {
    slots: Box<[CacheSlot]>,
    /// `slots.len() / 2 - 1`.
    set_mask: usize,
    generation: u64,
    /// The id of the classifier whose results are cached (0: none yet).
    pub(super) owner: u64,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to the classifier.
    pub misses: u64,
}

impl FlowCache {
    /// A cache of `capacity` entries, rounded up to a power of two, at least 2.
    pub fn new(capacity: usize) -> FlowCache {
        let capacity = capacity.max(2).next_power_of_two();
        let empty = CacheSlot {
            generation: 0,
            key: Packed::default(),
            result: None,
        };
        FlowCache {
            slots: vec![empty; capacity].into_boxed_slice(),
            set_mask: capacity / 2 - 1,
            generation: 1,
            owner: 0,
            hits: 0,
            misses: 0,
        }
    }

    /// The number of entries the cache holds at most.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Forgets every entry, in O(1). The hit and miss counters are kept.
    pub fn invalidate(&mut self) {
        self.generation += 1;
    }

    fn set(&self, hash: u64) -> usize {
        (hash as usize & self.set_mask) * 2
    }

    #[inline]
    pub(super) fn get(&self, hash: u64, key: &Packed) -> Option<Option<(usize, ClassifierAction)>> {
        let base = self.set(hash);
        self.slots[base..base + 2]
            .iter()
            .find(|s| s.generation == self.generation && s.key == *key)
            .map(|s| s.result)
    }

    #[inline]
    pub(super) fn insert(
        &mut self,
        hash: u64,
        key: Packed,
        result: Option<(usize, ClassifierAction)>,
    ) {
        let base = self.set(hash);
        let slot = CacheSlot {
            generation: self.generation,
            key,
            result,
        };
        if self.slots[base].generation != self.generation {
            self.slots[base] = slot;
        } else {
            // Way 0 holds the newer entry: it moves to way 1, evicting the older one.
            self.slots[base + 1] = self.slots[base];
            self.slots[base] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::classifier_rule::MatchKey;
    use crate::wire::{FlowKey, IpProtocol, Ipv4Address};

    fn key(in_port: u16) -> Packed {
        Packed::from_key(&MatchKey {
            in_port,
            vlan: None,
            flow: FlowKey::ipv4(
                Ipv4Address::new(10, 0, 0, 1),
                Ipv4Address::new(10, 0, 0, 2),
                IpProtocol::from(17),
                1,
                2,
            ),
        })
    }

    fn result(index: usize) -> Option<(usize, ClassifierAction)> {
        Some((index, ClassifierAction::Pass))
    }

    #[test]
    fn full_set_evicts_its_older_entry() {
        // Capacity 2 is one set: every key lands in it, whatever its hash.
        let mut cache = FlowCache::new(1);
        assert_eq!(cache.capacity(), 2);
        let (a, b, c) = (key(1), key(2), key(3));
        assert_eq!(cache.get(a.hash64(), &a), None);
        cache.insert(a.hash64(), a, result(1));
        cache.insert(b.hash64(), b, None);
        assert_eq!(cache.get(a.hash64(), &a), Some(result(1)));
        // A cached "no match" is an answer too.
        assert_eq!(cache.get(b.hash64(), &b), Some(None));
        cache.insert(c.hash64(), c, result(3));
        assert_eq!(cache.get(a.hash64(), &a), None);
        assert_eq!(cache.get(b.hash64(), &b), Some(None));
        assert_eq!(cache.get(c.hash64(), &c), Some(result(3)));
    }

    #[test]
    fn invalidate_forgets_every_entry() {
        let mut cache = FlowCache::new(8);
        let keys: Vec<Packed> = (0..4).map(key).collect();
        for (i, k) in keys.iter().enumerate() {
            cache.insert(k.hash64(), *k, result(i));
        }
        cache.invalidate();
        for k in &keys {
            assert_eq!(cache.get(k.hash64(), k), None);
        }
        // The cache fills again as before.
        cache.insert(keys[0].hash64(), keys[0], result(9));
        assert_eq!(cache.get(keys[0].hash64(), &keys[0]), Some(result(9)));
        assert_eq!(cache.capacity(), 8);
    }
}
