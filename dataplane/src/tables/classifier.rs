//! The SFC classifier's rule table: an ordered list of rules matched on the inner packet, each
//! naming the service path a matching packet enters (RFC 7665 §2.2 "Classification", §4.4
//! "Classifiers": the classifier selects the SFP by local policy and attaches the SPI and the
//! initial SI in the SFC encapsulation).
//!
//! A [`ClassifierRule`] matches on the ingress port, the VLAN ID, IPv4 or IPv6 source and
//! destination prefixes, the IP protocol and source/destination port ranges; every field is
//! optional (a wildcard). A packet presents a [`MatchKey`]; [`Classifier::lookup`] returns the
//! matching rule with the lowest `priority` value, ties going to the rule given first.
//!
//! # Algorithm
//!
//! Tuple space search (Srinivasan, Suri, Varghese, SIGCOMM '99). Each rule is turned into one
//! or more (mask, value) entries over a packed 384-bit key: wildcards become zero mask bits,
//! prefixes become leading one bits, and each port range is split into power-of-two aligned
//! blocks (a range over 16 bits splits into at most 30 blocks; ranges of at most
//! [`EXACT_EXPANSION_LIMIT`] ports that are not one aligned block are listed port by port
//! instead, to keep the number of distinct masks down). Entries with the same mask form a
//! group, a hash map from the masked key to the best (priority, rule index) for that key.
//!
//! A lookup masks the packet's key with each group's mask and probes that group's map: **O(T)
//! hash probes, T the number of distinct mask tuples**, independent of the number of rules.
//! Groups are visited in order of the best rule they hold, and the search stops as soon as the
//! best match so far beats everything a remaining group could return. Building is
//! O(entries); a rule expands to at most 30 × 30 = 900 entries (two awkward port ranges), one
//! entry in the common case.
//!
//! [`FlowCache`] puts an exact-match, fixed-size, 2-way set-associative cache in front
//! ([`Classifier::lookup_cached`]): one hash and at most two key compares on a hit, and no
//! allocation after construction. Each cache is tied to the classifier that filled it and is
//! invalidated in O(1) (a generation bump) when used with another one, so swapping in a new
//! rule set never serves stale results.
//!
//! # Files
//!
//! This file holds the tuple space search ([`Classifier`]); the rule types and their checks
//! live in `classifier_rule.rs`, the packed key layout and its hash in `packed_key.rs`, the
//! flow cache in `flow_cache.rs`. All are re-exported here, the one path to use them by.
//!
//! # Limits
//!
//! * One VLAN ID (whichever the caller puts in [`MatchKey::vlan`], normally the outer tag);
//!   a rule cannot ask for "untagged only", only for a VID or for any.
//! * No match on DSCP, TCP flags, ICMP type or NSH/metadata fields; ports are whatever
//!   [`FlowKey`](crate::wire::FlowKey) holds (0 for non-TCP/UDP and for non-first fragments).
//! * Rules are fixed at construction; a change builds a new `Classifier` (read-copy-update).
//! * The table does not bound the entry expansion beyond the 900-per-rule worst case; rule sets
//!   made of many wide, unaligned port ranges use memory accordingly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

pub use super::classifier_rule::{
    ClassifierAction, ClassifierError, ClassifierRule, IpPrefix, MatchKey, PortRange, RuleField,
    MAX_SPI, MAX_VLAN_ID,
};
pub use super::flow_cache::FlowCache;

use super::classifier_rule::{check_rule, wildcard_or, RuleIdentity};
use super::packed_key::{rule_mask_value, Packed, PackedMap};

/// Port ranges of at most this many ports that are not a single aligned block are expanded into
/// exact ports rather than prefix-decomposed.
pub const EXACT_EXPANSION_LIMIT: u32 = 8;

/// The best rule for one masked key of a group.
#[derive(Debug, Clone, Copy)]
struct Entry {
    priority: u32,
    index: usize,
    action: ClassifierAction,
}

impl Entry {
    fn rank(&self) -> (u32, usize) {
        (self.priority, self.index)
    }
}

/// All entries sharing one mask tuple.
#[derive(Debug)]
struct Group {
    mask: Packed,
    /// The best (priority, index) of any entry: nothing in this group can beat it.
    best: (u32, usize),
    entries: PackedMap<Entry>,
}

/// Splits `range` into (value, mask) pairs over 16 bits: power-of-two aligned blocks, or exact
/// ports for a short range that is not one block. `None` is the wildcard `(0, 0)`.
fn port_blocks(range: Option<PortRange>, out: &mut Vec<(u16, u16)>) {
    out.clear();
    let Some(range) = range else {
        out.push((0, 0));
        return;
    };
    let (mut lo, hi) = (u32::from(range.lo), u32::from(range.hi));
    while lo <= hi {
        let mut size = 1u32 << lo.trailing_zeros().min(16);
        while lo + size - 1 > hi {
            size >>= 1;
        }
        out.push((lo as u16, !(size - 1) as u16));
        lo += size;
    }
    let count = u32::from(range.hi) - u32::from(range.lo) + 1;
    if out.len() > 1 && count <= EXACT_EXPANSION_LIMIT {
        out.clear();
        out.extend((range.lo..=range.hi).map(|p| (p, u16::MAX)));
    }
}

static NEXT_CLASSIFIER_ID: AtomicU64 = AtomicU64::new(1);

/// The classifier's rule table, immutable once built. See the [module docs](self) for the
/// algorithm and its cost.
#[derive(Debug)]
pub struct Classifier {
    rules: Vec<ClassifierRule>,
    /// Sorted by `best`, so a lookup can stop early.
    groups: Vec<Group>,
    entry_count: usize,
    /// Unique per built classifier; a [`FlowCache`] filled by another one is invalidated.
    id: u64,
}

impl Classifier {
    /// Checks the rules and builds the table.
    ///
    /// Errors (the first offending rule): [`ClassifierError::PrefixTooLong`],
    /// [`EmptyPortRange`](ClassifierError::EmptyPortRange),
    /// [`FamilyMismatch`](ClassifierError::FamilyMismatch),
    /// [`VlanOutOfRange`](ClassifierError::VlanOutOfRange),
    /// [`SpiOutOfRange`](ClassifierError::SpiOutOfRange) and
    /// [`Duplicate`](ClassifierError::Duplicate) (same priority and same match, after clearing
    /// host bits and treating `0..=65535` as a wildcard).
    pub fn new(rules: Vec<ClassifierRule>) -> Result<Classifier, ClassifierError> {
        let mut seen: HashMap<RuleIdentity, usize> = HashMap::with_capacity(rules.len());
        for (index, rule) in rules.iter().enumerate() {
            check_rule(index, rule)?;
            if let Some(&first) = seen.get(&rule.identity()) {
                return Err(ClassifierError::Duplicate { rule: index, first });
            }
            seen.insert(rule.identity(), index);
        }

        let mut groups: PackedMap<Group> = PackedMap::default();
        let mut entry_count = 0;
        let (mut src_blocks, mut dst_blocks) = (Vec::new(), Vec::new());
        for (index, rule) in rules.iter().enumerate() {
            let entry = Entry {
                priority: rule.priority,
                index,
                action: rule.action,
            };
            let (base_mask, base_value) = rule_mask_value(rule);
            port_blocks(rule.src_ports, &mut src_blocks);
            port_blocks(rule.dst_ports, &mut dst_blocks);
            for &(sv, sm) in &src_blocks {
                for &(dv, dm) in &dst_blocks {
                    let mut mask = base_mask;
                    let mut value = base_value;
                    mask.or_ports(sm, dm);
                    value.or_ports(sv, dv);
                    let group = groups.entry(mask).or_insert_with(|| Group {
                        mask,
                        best: entry.rank(),
                        entries: PackedMap::default(),
                    });
                    group.best = group.best.min(entry.rank());
                    let slot = group.entries.entry(value).or_insert_with(|| {
                        entry_count += 1;
                        entry
                    });
                    if entry.rank() < slot.rank() {
                        *slot = entry;
                    }
                }
            }
        }
        let mut groups: Vec<Group> = groups.into_values().collect();
        groups.sort_by_key(|g| g.best);
        Ok(Classifier {
            rules,
            groups,
            entry_count,
            id: NEXT_CLASSIFIER_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The rules, in the order given (the indices [`lookup`](Self::lookup) returns).
    pub fn rules(&self) -> &[ClassifierRule] {
        &self.rules
    }

    /// The number of distinct mask tuples: the most hash probes one lookup makes.
    pub fn tuple_count(&self) -> usize {
        self.groups.len()
    }

    /// The number of (mask, value) entries the rules expanded into.
    pub fn entry_count(&self) -> usize {
        self.entry_count
    }

    /// The matching rule with the lowest priority value (ties: the lower index) as
    /// `(rule index, action)`, or `None` if no rule matches. At most
    /// [`tuple_count`](Self::tuple_count) hash probes; no allocation.
    #[inline]
    pub fn lookup(&self, key: &MatchKey) -> Option<(usize, ClassifierAction)> {
        self.lookup_packed(&Packed::from_key(key))
    }

    #[inline]
    fn lookup_packed(&self, key: &Packed) -> Option<(usize, ClassifierAction)> {
        let mut best: Option<Entry> = None;
        for group in &self.groups {
            if best.is_some_and(|b| group.best > b.rank()) {
                break;
            }
            if let Some(entry) = group.entries.get(&key.and(&group.mask)) {
                if wildcard_or(best, |b| entry.rank() < b.rank()) {
                    best = Some(*entry);
                }
            }
        }
        best.map(|e| (e.index, e.action))
    }

    /// [`lookup`](Self::lookup) through `cache`: a hit costs one hash and at most two key
    /// compares; a miss does the full lookup and stores its result (a "no match" too). A cache
    /// last used with another classifier is invalidated first.
    #[inline]
    pub fn lookup_cached(
        &self,
        cache: &mut FlowCache,
        key: &MatchKey,
    ) -> Option<(usize, ClassifierAction)> {
        if cache.owner != self.id {
            cache.invalidate();
            cache.owner = self.id;
        }
        let packed = Packed::from_key(key);
        let hash = packed.hash64();
        if let Some(result) = cache.get(hash, &packed) {
            cache.hits += 1;
            return result;
        }
        cache.misses += 1;
        let result = self.lookup_packed(&packed);
        cache.insert(hash, packed, result);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{FlowKey, IpFamily, IpProtocol, Ipv4Address, Ipv6Address};
    use std::collections::HashSet;

    const TCP: u8 = 6;
    const UDP: u8 = 17;

    fn path(spi: u32) -> ClassifierAction {
        ClassifierAction::Path { spi, si: 255 }
    }

    fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> IpPrefix {
        IpPrefix::ipv4(Ipv4Address::new(a, b, c, d), len)
    }

    fn v6(tail: u16, len: u8) -> IpPrefix {
        let mut bytes = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        bytes[14..].copy_from_slice(&tail.to_be_bytes());
        IpPrefix::ipv6(Ipv6Address(bytes), len)
    }

    fn key4(src: [u8; 4], dst: [u8; 4], protocol: u8, sp: u16, dp: u16) -> MatchKey {
        MatchKey {
            in_port: 0,
            vlan: None,
            flow: FlowKey::ipv4(
                Ipv4Address(src),
                Ipv4Address(dst),
                IpProtocol::from(protocol),
                sp,
                dp,
            ),
        }
    }

    fn key6(src: u16, dst: u16, protocol: u8, sp: u16, dp: u16) -> MatchKey {
        MatchKey {
            in_port: 0,
            vlan: None,
            flow: FlowKey::ipv6(
                Ipv6Address(v6(src, 128).addr),
                Ipv6Address(v6(dst, 128).addr),
                IpProtocol::from(protocol),
                sp,
                dp,
            ),
        }
    }

    /// The specification: a linear scan.
    fn oracle(rules: &[ClassifierRule], key: &MatchKey) -> Option<(usize, ClassifierAction)> {
        rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.matches(key))
            .min_by_key(|(i, r)| (r.priority, *i))
            .map(|(i, r)| (i, r.action))
    }

    #[test]
    fn priority_then_index() {
        let rules = vec![
            ClassifierRule {
                dst: Some(v4(10, 0, 0, 0, 8)),
                ..ClassifierRule::any(20, path(1))
            },
            ClassifierRule {
                dst: Some(v4(10, 1, 0, 0, 16)),
                ..ClassifierRule::any(10, path(2))
            },
            ClassifierRule {
                dst: Some(v4(10, 1, 2, 0, 24)),
                ..ClassifierRule::any(30, path(3))
            },
            // Same priority as rule 1, later: loses the tie.
            ClassifierRule {
                protocol: Some(TCP),
                ..ClassifierRule::any(10, ClassifierAction::Drop)
            },
            ClassifierRule::any(1000, ClassifierAction::Pass),
        ];
        let c = Classifier::new(rules.clone()).unwrap();
        let at = |dst: [u8; 4], proto| c.lookup(&key4([1, 1, 1, 1], dst, proto, 1, 2));
        assert_eq!(at([10, 1, 2, 3], UDP), Some((1, path(2))));
        assert_eq!(at([10, 1, 2, 3], TCP), Some((1, path(2))));
        assert_eq!(at([10, 2, 0, 1], UDP), Some((0, path(1))));
        assert_eq!(at([10, 2, 0, 1], TCP), Some((3, ClassifierAction::Drop)));
        assert_eq!(at([11, 0, 0, 1], UDP), Some((4, ClassifierAction::Pass)));
        assert_eq!(c.rules(), &rules[..]);

        let c = Classifier::new(rules[..3].to_vec()).unwrap();
        assert_eq!(
            c.lookup(&key4([1, 1, 1, 1], [11, 0, 0, 1], UDP, 1, 2)),
            None
        );
    }

    #[test]
    fn wildcards_and_host_bits() {
        let rules = vec![
            ClassifierRule {
                // Host bits set: ignored.
                src: Some(v4(192, 168, 1, 77, 24)),
                ..ClassifierRule::any(1, path(1))
            },
            ClassifierRule {
                protocol: Some(UDP),
                dst_ports: Some(PortRange::single(53)),
                ..ClassifierRule::any(2, path(2))
            },
        ];
        let c = Classifier::new(rules).unwrap();
        assert_eq!(
            c.lookup(&key4([192, 168, 1, 5], [8, 8, 8, 8], TCP, 9, 53)),
            Some((0, path(1)))
        );
        assert_eq!(
            c.lookup(&key4([192, 168, 2, 5], [8, 8, 8, 8], UDP, 9, 53)),
            Some((1, path(2)))
        );
        assert_eq!(
            c.lookup(&key4([192, 168, 2, 5], [8, 8, 8, 8], TCP, 9, 53)),
            None
        );
        // The UDP/53 rule has no prefix, so it matches IPv6 too.
        assert_eq!(c.lookup(&key6(1, 2, UDP, 9, 53)), Some((1, path(2))));
    }

    #[test]
    fn ipv4_and_ipv6_never_mix() {
        let rules = vec![
            ClassifierRule {
                src: Some(v4(0, 0, 0, 0, 0)),
                ..ClassifierRule::any(1, path(4))
            },
            ClassifierRule {
                dst: Some(v6(0, 0)),
                ..ClassifierRule::any(2, path(6))
            },
            ClassifierRule {
                // The first 4 bytes of 2001:db8::/32 read as IPv4: 32.1.13.184.
                src: Some(v6(0, 32)),
                ..ClassifierRule::any(0, ClassifierAction::Drop)
            },
        ];
        let c = Classifier::new(rules).unwrap();
        assert_eq!(
            c.lookup(&key4([32, 1, 13, 184], [1, 2, 3, 4], TCP, 1, 2)),
            Some((0, path(4)))
        );
        assert_eq!(
            c.lookup(&key6(7, 8, TCP, 1, 2)),
            Some((2, ClassifierAction::Drop))
        );
        let mut other = key6(7, 8, TCP, 1, 2);
        other.flow.src[0] = 0xfe;
        assert_eq!(c.lookup(&other), Some((1, path(6))));

        let v4_only = Classifier::new(vec![ClassifierRule {
            dst: Some(v4(32, 1, 13, 184, 32)),
            ..ClassifierRule::any(1, path(4))
        }])
        .unwrap();
        let mut key = key6(1, 0, UDP, 1, 2);
        key.flow.dst = v4(32, 1, 13, 184, 32).addr;
        assert_eq!(v4_only.lookup(&key), None);
        key.flow.family = IpFamily::Ipv4;
        assert_eq!(v4_only.lookup(&key), Some((0, path(4))));
    }

    #[test]
    fn port_blocks_cover_exactly() {
        let mut out = Vec::new();
        for (lo, hi) in [
            (0u16, 65535u16),
            (7, 7),
            (1000, 2047),
            (1, 65534),
            (1024, 65535),
            (0, 0),
            (65535, 65535),
            (5, 7),
            (3, 12),
            (1, 9),
            (0x5555, 0xaaaa),
        ] {
            port_blocks(Some(PortRange::new(lo, hi)), &mut out);
            assert!(out.len() <= 30, "{lo}..={hi}: {} blocks", out.len());
            for port in 0..=65535u16 {
                let hits = out.iter().filter(|(v, m)| port & m == *v).count();
                let want = usize::from((lo..=hi).contains(&port));
                assert_eq!(hits, want, "{lo}..={hi} port {port}");
            }
        }
        port_blocks(Some(PortRange::ANY), &mut out);
        assert_eq!(out, [(0, 0)]);
        port_blocks(Some(PortRange::new(1000, 2047)), &mut out);
        assert_eq!(out, [(1000, 0xfff8), (1008, 0xfff0), (1024, 0xfc00)]);
        port_blocks(Some(PortRange::new(5, 7)), &mut out);
        assert_eq!(out, [(5, 0xffff), (6, 0xffff), (7, 0xffff)]);
        port_blocks(Some(PortRange::new(1, 65534)), &mut out);
        assert_eq!(out.len(), 30);
        port_blocks(None, &mut out);
        assert_eq!(out, [(0, 0)]);
    }

    #[test]
    fn port_ranges() {
        let rules = vec![
            ClassifierRule {
                dst_ports: Some(PortRange::single(80)),
                ..ClassifierRule::any(1, path(1))
            },
            ClassifierRule {
                dst_ports: Some(PortRange::new(1000, 2047)),
                ..ClassifierRule::any(2, path(2))
            },
            ClassifierRule {
                src_ports: Some(PortRange::new(1, 65534)),
                dst_ports: Some(PortRange::new(3, 12)),
                ..ClassifierRule::any(3, path(3))
            },
            ClassifierRule {
                src_ports: Some(PortRange::ANY),
                ..ClassifierRule::any(4, path(4))
            },
        ];
        let c = Classifier::new(rules.clone()).unwrap();
        for sp in [0, 1, 2, 999, 65534, 65535] {
            for dp in [
                0, 2, 3, 12, 13, 79, 80, 81, 999, 1000, 1500, 2047, 2048, 65535,
            ] {
                let key = key4([1, 2, 3, 4], [5, 6, 7, 8], TCP, sp, dp);
                assert_eq!(c.lookup(&key), oracle(&rules, &key), "{sp} -> {dp}");
            }
        }
        let at = |sp, dp| c.lookup(&key4([1, 2, 3, 4], [5, 6, 7, 8], TCP, sp, dp));
        assert_eq!(at(0, 80), Some((0, path(1))));
        assert_eq!(at(0, 1000), Some((1, path(2))));
        assert_eq!(at(0, 2047), Some((1, path(2))));
        assert_eq!(at(1, 12), Some((2, path(3))));
        assert_eq!(at(65535, 12), Some((3, path(4))));
        assert_eq!(at(0, 2048), Some((3, path(4))));
    }

    #[test]
    fn in_port_and_vlan() {
        let rules = vec![
            ClassifierRule {
                in_port: Some(1),
                vlan: Some(100),
                ..ClassifierRule::any(1, path(1))
            },
            ClassifierRule {
                vlan: Some(0),
                ..ClassifierRule::any(2, path(2))
            },
            ClassifierRule {
                in_port: Some(2),
                ..ClassifierRule::any(3, path(3))
            },
        ];
        let c = Classifier::new(rules).unwrap();
        let at = |in_port, vlan| {
            let mut key = key4([1, 2, 3, 4], [5, 6, 7, 8], UDP, 1, 2);
            key.in_port = in_port;
            key.vlan = vlan;
            c.lookup(&key)
        };
        assert_eq!(at(1, Some(100)), Some((0, path(1))));
        assert_eq!(at(2, Some(100)), Some((2, path(3))));
        assert_eq!(at(1, Some(101)), None);
        assert_eq!(at(1, None), None);
        // VID 0 (priority tag) is not "untagged".
        assert_eq!(at(1, Some(0)), Some((1, path(2))));
        assert_eq!(at(2, None), Some((2, path(3))));
    }

    #[test]
    fn errors() {
        let err = |rules: Vec<ClassifierRule>| Classifier::new(rules).unwrap_err();
        let ok = ClassifierRule::any(1, ClassifierAction::Pass);
        assert_eq!(
            err(vec![
                ok.clone(),
                ClassifierRule {
                    dst: Some(v4(1, 2, 3, 4, 33)),
                    ..ok.clone()
                }
            ]),
            ClassifierError::PrefixTooLong {
                rule: 1,
                field: RuleField::Destination,
                len: 33
            }
        );
        assert_eq!(
            err(vec![ClassifierRule {
                src: Some(v6(1, 129)),
                ..ok.clone()
            }]),
            ClassifierError::PrefixTooLong {
                rule: 0,
                field: RuleField::Source,
                len: 129
            }
        );
        assert_eq!(
            err(vec![ClassifierRule {
                src_ports: Some(PortRange::new(10, 9)),
                ..ok.clone()
            }]),
            ClassifierError::EmptyPortRange {
                rule: 0,
                field: RuleField::Source,
                range: PortRange::new(10, 9)
            }
        );
        assert_eq!(
            err(vec![ClassifierRule {
                src: Some(v4(1, 2, 3, 4, 32)),
                dst: Some(v6(1, 128)),
                ..ok.clone()
            }]),
            ClassifierError::FamilyMismatch { rule: 0 }
        );
        assert_eq!(
            err(vec![ClassifierRule {
                vlan: Some(4096),
                ..ok.clone()
            }]),
            ClassifierError::VlanOutOfRange {
                rule: 0,
                vlan: 4096
            }
        );
        assert_eq!(
            err(vec![ClassifierRule::any(1, path(1 << 24))]),
            ClassifierError::SpiOutOfRange {
                rule: 0,
                spi: 1 << 24
            }
        );
        // Same priority and same match after canonicalisation, whatever the action.
        let a = ClassifierRule {
            src: Some(v4(10, 0, 0, 1, 8)),
            dst_ports: Some(PortRange::ANY),
            ..ClassifierRule::any(5, path(1))
        };
        let b = ClassifierRule {
            src: Some(v4(10, 9, 9, 9, 8)),
            dst_ports: None,
            ..ClassifierRule::any(5, ClassifierAction::Drop)
        };
        assert_eq!(
            err(vec![a.clone(), ok.clone(), b.clone()]),
            ClassifierError::Duplicate { rule: 2, first: 0 }
        );
        // A different priority is a (shadowed) rule, not a duplicate.
        let c = Classifier::new(vec![
            a,
            ClassifierRule {
                priority: 6,
                ..b.clone()
            },
        ])
        .unwrap();
        assert_eq!(c.rules().len(), 2);
        let text = ClassifierError::Duplicate { rule: 2, first: 0 }.to_string();
        assert_eq!(text, "rule 2: same priority and match as rule 0");
        assert_eq!(Classifier::new(Vec::new()).unwrap().tuple_count(), 0);
    }

    #[test]
    fn flow_cache() {
        let rules = vec![ClassifierRule {
            protocol: Some(TCP),
            ..ClassifierRule::any(1, path(1))
        }];
        let c = Classifier::new(rules).unwrap();
        let mut cache = FlowCache::new(5);
        assert_eq!(cache.capacity(), 8);
        let tcp = key4([1, 2, 3, 4], [5, 6, 7, 8], TCP, 1, 2);
        let udp = key4([1, 2, 3, 4], [5, 6, 7, 8], UDP, 1, 2);
        for _ in 0..3 {
            assert_eq!(c.lookup_cached(&mut cache, &tcp), Some((0, path(1))));
            assert_eq!(c.lookup_cached(&mut cache, &udp), None);
        }
        assert_eq!((cache.hits, cache.misses), (4, 2));
        cache.invalidate();
        assert_eq!(c.lookup_cached(&mut cache, &tcp), Some((0, path(1))));
        assert_eq!((cache.hits, cache.misses), (4, 3));

        // A new rule set: the cache notices and does not serve the old answer.
        let c2 = Classifier::new(vec![ClassifierRule::any(1, ClassifierAction::Drop)]).unwrap();
        assert_eq!(
            c2.lookup_cached(&mut cache, &tcp),
            Some((0, ClassifierAction::Drop))
        );
        assert_eq!((cache.hits, cache.misses), (4, 4));

        // Many keys through a tiny cache: evictions, never a wrong answer.
        let mut small = FlowCache::new(2);
        for i in 0..1000u16 {
            let key = key4([1, 2, 3, 4], [5, 6, 7, 8], (i % 3) as u8 + 5, i % 7, 2);
            assert_eq!(c.lookup_cached(&mut small, &key), c.lookup(&key));
        }
        assert_eq!(small.hits + small.misses, 1000);
    }

    /// xorshift64* — enough randomness for a property test, no crates.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len() as u64) as usize]
        }
    }

    const PORTS: [u16; 12] = [0, 1, 22, 53, 80, 443, 1000, 1024, 2047, 4789, 8080, 65535];

    fn random_prefix(rng: &mut Rng, family: IpFamily) -> IpPrefix {
        match family {
            IpFamily::Ipv4 => {
                let len = rng.pick(&[0, 8, 16, 20, 24, 31, 32]);
                v4(
                    10,
                    rng.below(4) as u8,
                    rng.below(4) as u8,
                    rng.below(8) as u8,
                    len,
                )
            }
            IpFamily::Ipv6 => {
                let len = rng.pick(&[0, 32, 64, 120, 126, 128]);
                v6(rng.below(16) as u16, len)
            }
        }
    }

    fn random_range(rng: &mut Rng) -> Option<PortRange> {
        match rng.below(6) {
            0 | 1 => None,
            2 => Some(PortRange::single(rng.pick(&PORTS))),
            3 => Some(PortRange::ANY),
            _ => {
                let a = rng.pick(&PORTS).wrapping_add(rng.below(5) as u16);
                let b = rng.pick(&PORTS);
                Some(PortRange::new(a.min(b), a.max(b)))
            }
        }
    }

    fn random_rule(rng: &mut Rng) -> ClassifierRule {
        let family = if rng.chance(50) {
            IpFamily::Ipv4
        } else {
            IpFamily::Ipv6
        };
        ClassifierRule {
            priority: rng.below(300) as u32,
            in_port: rng.chance(20).then(|| rng.below(4) as u16),
            vlan: rng.chance(20).then(|| rng.pick(&[0, 10, 20])),
            src: rng.chance(40).then(|| random_prefix(rng, family)),
            dst: rng.chance(60).then(|| random_prefix(rng, family)),
            protocol: rng.chance(50).then(|| rng.pick(&[TCP, UDP, 1])),
            src_ports: random_range(rng),
            dst_ports: random_range(rng),
            action: match rng.below(4) {
                0 => ClassifierAction::Drop,
                1 => ClassifierAction::Pass,
                _ => path(rng.below(1 << 24) as u32),
            },
        }
    }

    fn random_rules(rng: &mut Rng, count: usize) -> Vec<ClassifierRule> {
        let mut seen = HashSet::new();
        let mut rules = Vec::with_capacity(count);
        while rules.len() < count {
            let rule = random_rule(rng);
            if seen.insert(rule.identity()) {
                rules.push(rule);
            }
        }
        rules
    }

    /// A key near a random rule: its values with some perturbation, so that matches happen.
    fn random_key(rng: &mut Rng, rules: &[ClassifierRule]) -> MatchKey {
        let rule = &rules[rng.below(rules.len() as u64) as usize];
        let family = match rule.family() {
            Some(f) if rng.chance(90) => f,
            _ if rng.chance(50) => IpFamily::Ipv4,
            _ => IpFamily::Ipv6,
        };
        let mut addr = |p: Option<IpPrefix>| {
            let mut a = match p {
                Some(p) if p.family == family && rng.chance(85) => p.addr,
                _ => random_prefix(rng, family).addr,
            };
            let last = if family == IpFamily::Ipv4 { 3 } else { 15 };
            if rng.chance(50) {
                a[last] ^= 1 << rng.below(8);
            }
            a
        };
        let src = addr(rule.src);
        let dst = addr(rule.dst);
        let mut port = |r: Option<PortRange>| match r {
            Some(r) if rng.chance(80) => {
                let span = u64::from(r.hi - r.lo) + 3;
                r.lo.wrapping_add(rng.below(span) as u16).wrapping_sub(1)
            }
            _ => rng.pick(&PORTS),
        };
        let src_port = port(rule.src_ports);
        let dst_port = port(rule.dst_ports);
        MatchKey {
            in_port: match rule.in_port {
                Some(p) if rng.chance(80) => p,
                _ => rng.below(4) as u16,
            },
            vlan: match rule.vlan {
                Some(v) if rng.chance(80) => Some(v),
                _ => rng.pick(&[None, Some(0), Some(10), Some(30)]),
            },
            flow: FlowKey {
                family,
                src,
                dst,
                protocol: IpProtocol::from(match rule.protocol {
                    Some(p) if rng.chance(80) => p,
                    _ => rng.pick(&[TCP, UDP, 1, 58]),
                }),
                src_port,
                dst_port,
            },
        }
    }

    #[test]
    fn random_rules_agree_with_linear_scan() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let rules = random_rules(&mut rng, 2000);
        let c = Classifier::new(rules.clone()).unwrap();
        let mut cache = FlowCache::new(256);
        let mut matched = 0;
        for i in 0..20_000 {
            let key = random_key(&mut rng, &rules);
            let want = oracle(&rules, &key);
            assert_eq!(c.lookup(&key), want, "key {i}: {key:?}");
            assert_eq!(c.lookup_cached(&mut cache, &key), want, "cached key {i}");
            // Again: now often a cache hit.
            assert_eq!(c.lookup_cached(&mut cache, &key), want, "cached key {i}");
            matched += usize::from(want.is_some());
        }
        assert!(matched > 10_000, "only {matched} keys matched");
        assert!(cache.hits >= 20_000, "hits {}", cache.hits);
        assert_eq!(cache.hits + cache.misses, 40_000);
        assert!(c.tuple_count() < c.entry_count());
    }

    #[test]
    fn ten_thousand_rules() {
        // One rule per (destination /32, destination port), priorities interleaved, over a
        // catch-all and a few wide rules.
        let mut rules = Vec::new();
        for i in 0..10_000u32 {
            rules.push(ClassifierRule {
                dst: Some(v4(10, (i >> 8) as u8, i as u8, 1, 32)),
                protocol: Some(TCP),
                dst_ports: Some(PortRange::single(1000 + (i % 50) as u16)),
                ..ClassifierRule::any(100 + i % 7, path(i))
            });
        }
        rules.push(ClassifierRule {
            dst: Some(v4(10, 0, 0, 0, 8)),
            dst_ports: Some(PortRange::new(1000, 1009)),
            ..ClassifierRule::any(103, ClassifierAction::Drop)
        });
        rules.push(ClassifierRule::any(u32::MAX, ClassifierAction::Pass));
        let c = Classifier::new(rules.clone()).unwrap();
        assert!(c.tuple_count() <= 4, "{} tuples", c.tuple_count());
        let mut cache = FlowCache::new(1024);
        for i in 0..10_000u32 {
            let dst = [10, (i >> 8) as u8, i as u8, 1];
            let port = 1000 + (i % 50) as u16;
            let key = key4([192, 0, 2, 1], dst, TCP, 40000, port);
            let want = if port <= 1009 && i % 7 > 3 {
                (10_000, ClassifierAction::Drop)
            } else {
                (i as usize, path(i))
            };
            assert_eq!(c.lookup(&key), Some(want), "rule {i}");
            assert_eq!(c.lookup_cached(&mut cache, &key), Some(want), "rule {i}");
            let miss = key4([192, 0, 2, 1], dst, TCP, 40000, port + 50);
            assert_eq!(c.lookup(&miss), Some((10_001, ClassifierAction::Pass)));
        }
        let mut rng = Rng(42);
        for _ in 0..500 {
            let key = random_key(&mut rng, &rules);
            assert_eq!(c.lookup(&key), oracle(&rules, &key));
        }
    }
}
