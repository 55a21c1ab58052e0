//! Maglev consistent hashing (D. E. Eisenbud et al., "Maglev: A Fast and Reliable Software
//! Network Load Balancer", NSDI 2016, §3.4), weighted: the lookup table of the `lb` SF's backends
//! and of SF groups' instances.
//!
//! The table has a prime number `M` of entries, each the index of a backend. Every backend has its
//! own permutation of the entries, `(offset + j · skip) mod M`, with `offset` and `skip` drawn from
//! two hashes of its name; backends take turns claiming the next free entry of their permutation
//! until every entry is taken. With equal weights each backend ends up with ⌊M/N⌋ or ⌈M/N⌉
//! entries (balance), and removing one backend changes mostly its own entries, because the others'
//! permutations do not depend on it (minimal disruption, not perfect: at the default size the
//! tests measure up to 3.9 % of the table moving between the remaining backends, on top of the
//! removed backend's own 1/N). Weights: a backend claims entries in proportion to its weight
//! (each turn it earns its weight in credit and claims one entry per `max weight` of credit, as
//! in VPP's and Katran's weighted variants); weight 0 claims none.
//!
//! A lookup is one multiply and one load: the flow's 32-bit hash is mapped onto `0..M` by
//! `hash · M >> 32` (uniform like `hash mod M`, without a division).

/// The smallest table size the `lb` SF and groups use by default.
pub const MIN_SIZE: usize = 251;

/// The largest table size a pipeline may ask for.
pub const MAX_SIZE: usize = 1 << 20;

/// A built Maglev lookup table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maglev {
    /// Backend index of each entry; empty when no backend has a weight.
    entries: Box<[u16]>,
}

/// Whether `n` is prime (trial division; sizes are at most [`MAX_SIZE`]).
pub fn is_prime(n: usize) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

/// The default table size for `backends` backends: the smallest prime at least 100 times their
/// number (at least [`MIN_SIZE`]), so that each backend's share is within 1 % of its due.
pub fn default_size(backends: usize) -> usize {
    let mut m = (backends.saturating_mul(100)).clamp(MIN_SIZE, MAX_SIZE);
    while !is_prime(m) {
        m += 1;
    }
    m
}

/// A stable 64-bit hash of a backend's name (FNV-1a, then a final mix), with a seed: the same on
/// every appliance and every run, so that tables built from the same names agree.
fn name_hash(name: &str, seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in name.as_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl Maglev {
    /// Builds the table of size `size` (a prime) over `backends`, each a name and a weight. An
    /// entry holds the index of its backend in `backends`. Panics when `size` is not a prime
    /// above 1 or there are more than 65535 backends (the pipeline checks refuse both).
    pub fn new<'a>(backends: impl IntoIterator<Item = (&'a str, u32)>, size: usize) -> Maglev {
        assert!(is_prime(size), "Maglev table size {size} is not a prime");
        let backends: Vec<(&str, u32)> = backends.into_iter().collect();
        assert!(backends.len() <= usize::from(u16::MAX), "too many backends");
        let max_w = backends.iter().map(|b| b.1).max().unwrap_or(0);
        if max_w == 0 {
            return Maglev {
                entries: Box::new([]),
            };
        }
        let m = size as u64;
        let perm: Vec<(u64, u64)> = backends
            .iter()
            .map(|(name, _)| {
                let offset = name_hash(name, 0x5eed_0001) % m;
                let skip = name_hash(name, 0x5eed_0002) % (m - 1) + 1;
                (offset, skip)
            })
            .collect();
        let mut next = vec![0u64; backends.len()];
        let mut credit = vec![0u64; backends.len()];
        let mut entries = vec![u16::MAX; size];
        let mut filled = 0;
        'fill: loop {
            for (i, &(_, w)) in backends.iter().enumerate() {
                credit[i] += u64::from(w);
                while credit[i] >= u64::from(max_w) {
                    credit[i] -= u64::from(max_w);
                    let (offset, skip) = perm[i];
                    let mut c = ((offset + next[i] * skip) % m) as usize;
                    while entries[c] != u16::MAX {
                        next[i] += 1;
                        c = ((offset + next[i] * skip) % m) as usize;
                    }
                    entries[c] = i as u16;
                    next[i] += 1;
                    filled += 1;
                    if filled == size {
                        break 'fill;
                    }
                }
            }
        }
        Maglev {
            entries: entries.into_boxed_slice(),
        }
    }

    /// The backend (index) of a flow's hash; `None` when no backend has a weight.
    #[inline(always)]
    pub fn lookup(&self, hash: u32) -> Option<usize> {
        let i = (u64::from(hash) * self.entries.len() as u64) >> 32;
        self.entries.get(i as usize).map(|&b| usize::from(b))
    }

    /// The table's size (0 when no backend has a weight).
    pub fn size(&self) -> usize {
        self.entries.len()
    }

    /// How many entries each of `n` backends owns.
    pub fn shares(&self, n: usize) -> Vec<usize> {
        let mut s = vec![0; n];
        for &e in self.entries.iter() {
            if let Some(x) = s.get_mut(usize::from(e)) {
                *x += 1;
            }
        }
        s
    }

    /// The entries, for comparing two tables.
    pub fn entries(&self) -> &[u16] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        named("backend-", n)
    }

    fn named(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    fn build(names: &[String], size: usize) -> Maglev {
        Maglev::new(names.iter().map(|n| (n.as_str(), 1)), size)
    }

    #[test]
    fn sizes_are_primes_at_least_100_per_backend() {
        assert_eq!(default_size(1), 251);
        assert_eq!(default_size(3), 307);
        assert_eq!(default_size(10), 1009);
        assert_eq!(default_size(100), 10007);
        assert!(is_prime(65537) && !is_prime(65535) && !is_prime(1) && is_prime(2));
    }

    #[test]
    fn equal_weights_give_floor_or_ceil_of_m_over_n() {
        for n in [1, 2, 3, 5, 7, 10, 33] {
            let m = default_size(n);
            let t = build(&names(n), m);
            assert_eq!(t.size(), m);
            for s in t.shares(n) {
                assert!(s == m / n || s == m.div_ceil(n), "n {n} m {m} share {s}");
                // Balance: within 1 % of the due share when M >= 100 N.
                let due = m as f64 / n as f64;
                assert!((s as f64 - due).abs() / due <= 0.01, "n {n}: {s} vs {due}");
            }
        }
    }

    #[test]
    fn weights_give_proportional_shares_and_zero_none() {
        let n = ["a", "b", "c", "d"];
        let t = Maglev::new([(n[0], 1), (n[1], 2), (n[2], 3), (n[3], 0)], 6007);
        let s = t.shares(4);
        assert_eq!(s[3], 0);
        let total: usize = s.iter().sum();
        assert_eq!(total, 6007);
        for (i, w) in [(0, 1.0), (1, 2.0), (2, 3.0)] {
            let due = 6007.0 * w / 6.0;
            assert!(
                (s[i] as f64 - due).abs() / due < 0.01,
                "{i}: {} vs {due}",
                s[i]
            );
        }
        assert_eq!(Maglev::new([("a", 0)], 251).lookup(7), None);
        assert_eq!(Maglev::new(std::iter::empty(), 251).size(), 0);
    }

    /// Removing one of N backends: the entries it owned move (they must, about 1/N of the
    /// table), and of the others' entries only a small excess moves. Measured here at the
    /// default size (M = the smallest prime ≥ 100 N) for N = 3, 5, 10, 20, 50 and 100, three
    /// ways of naming the backends, removing the first, a middle and the last: the excess was
    /// at most 3.9 % of the table (the most with 3 backends, where M = 307 is coarse; 1.6–3.0 % at
    /// N ≥ 10); the bound is 5 %.
    #[test]
    fn removing_one_backend_moves_little_more_than_its_share() {
        let mut worst: f64 = 0.0;
        for (prefix, n) in [3usize, 5, 10, 20, 50, 100]
            .into_iter()
            .flat_map(|n| [("backend-", n), ("i", n), ("web", n)])
        {
            let all = named(prefix, n);
            let m = default_size(n);
            let before = build(&all, m);
            for gone in [0, n / 2, n - 1] {
                let rest: Vec<String> = all
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != gone)
                    .map(|(_, s)| s.clone())
                    .collect();
                let after = build(&rest, m);
                let mut moved_other = 0;
                for (b, a) in before.entries().iter().zip(after.entries()) {
                    let b = usize::from(*b);
                    if b == gone {
                        continue;
                    }
                    if rest[usize::from(*a)] != all[b] {
                        moved_other += 1;
                    }
                }
                let excess = moved_other as f64 / m as f64;
                worst = worst.max(excess);
                assert!(
                    excess < 0.05,
                    "{prefix}* n {n}, removed {gone}: {moved_other} of {m} others moved"
                );
            }
        }
        assert!(worst > 0.0, "Maglev's disruption is small, not zero");
    }

    /// Adding a backend back restores exactly the table of before (the build is deterministic).
    #[test]
    fn same_names_same_table() {
        let all = names(5);
        assert_eq!(build(&all, 503), build(&all, 503));
        let t = build(&all, 503);
        // The lookup covers every entry: hashes spread over the whole range.
        let mut seen = vec![false; 503];
        for h in (0..u32::MAX).step_by(4096) {
            seen[((u64::from(h) * 503) >> 32) as usize] = true;
            assert!(t.lookup(h).unwrap() < 5);
        }
        assert!(seen.iter().all(|s| *s));
    }
}
