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
