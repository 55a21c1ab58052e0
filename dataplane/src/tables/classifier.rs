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
//! # Limits
//!
//! * One VLAN ID (whichever the caller puts in [`MatchKey::vlan`], normally the outer tag);
//!   a rule cannot ask for "untagged only", only for a VID or for any.
//! * No match on DSCP, TCP flags, ICMP type or NSH/metadata fields; ports are whatever
//!   [`FlowKey`] holds (0 for non-TCP/UDP and for non-first fragments).
//! * Rules are fixed at construction; a change builds a new `Classifier` (read-copy-update).
//! * The table does not bound the entry expansion beyond the 900-per-rule worst case; rule sets
//!   made of many wide, unaligned port ranges use memory accordingly.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::wire::{FlowKey, IpFamily, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

/// Port ranges of at most this many ports that are not a single aligned block are expanded into
/// exact ports rather than prefix-decomposed.
pub const EXACT_EXPANSION_LIMIT: u32 = 8;

/// The largest 802.1Q VLAN ID.
pub const MAX_VLAN_ID: u16 = 0x0fff;

/// The largest Service Path Identifier (24 bits, RFC 8300 §2.3).
pub const MAX_SPI: u32 = 0x00ff_ffff;

/// An IPv4 or IPv6 prefix to match a source or destination address against.
///
/// IPv4 addresses sit in the first 4 bytes of `addr`, as in [`FlowKey`]. Host bits are ignored.
/// A prefix of one family never matches an address of the other, even with length 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    /// Address family.
    pub family: IpFamily,
    /// The address (IPv4 in the first 4 bytes).
    pub addr: [u8; 16],
    /// Prefix length: 0..=32 for IPv4, 0..=128 for IPv6 (checked by [`Classifier::new`]).
    pub len: u8,
}

impl IpPrefix {
    /// An IPv4 prefix.
    pub fn ipv4(addr: Ipv4Address, len: u8) -> IpPrefix {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(addr.as_bytes());
        IpPrefix {
            family: IpFamily::Ipv4,
            addr: bytes,
            len,
        }
    }

    /// An IPv6 prefix.
    pub fn ipv6(addr: Ipv6Address, len: u8) -> IpPrefix {
        IpPrefix {
            family: IpFamily::Ipv6,
            addr: addr.0,
            len,
        }
    }

    /// The longest prefix length of the family.
    pub fn max_len(&self) -> u8 {
        match self.family {
            IpFamily::Ipv4 => 32,
            IpFamily::Ipv6 => 128,
        }
    }

    /// The netmask over the 16 address bytes, as a big-endian integer.
    fn mask(&self) -> u128 {
        let len = u32::from(self.len.min(self.max_len()));
        u128::MAX.checked_shl(128 - len).unwrap_or(0)
    }

    /// The same prefix with the host bits (and IPv4's 12 unused bytes) cleared.
    pub fn network(&self) -> IpPrefix {
        IpPrefix {
            addr: (u128::from_be_bytes(self.addr) & self.mask()).to_be_bytes(),
            ..*self
        }
    }

    /// True if the address `addr` of family `family` (one side of a [`FlowKey`]) is inside the
    /// prefix.
    pub fn contains(&self, family: IpFamily, addr: &[u8; 16]) -> bool {
        family == self.family
            && (u128::from_be_bytes(*addr) ^ u128::from_be_bytes(self.addr)) & self.mask() == 0
    }
}

impl From<Ipv4Cidr> for IpPrefix {
    fn from(cidr: Ipv4Cidr) -> IpPrefix {
        IpPrefix::ipv4(cidr.address(), cidr.prefix_len())
    }
}

impl From<Ipv6Cidr> for IpPrefix {
    fn from(cidr: Ipv6Cidr) -> IpPrefix {
        IpPrefix::ipv6(cidr.address(), cidr.prefix_len())
    }
}

/// An inclusive range of TCP/UDP ports, `lo..=hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port in the range.
    pub lo: u16,
    /// Last port in the range (`lo <= hi`, checked by [`Classifier::new`]).
    pub hi: u16,
}

impl PortRange {
    /// Every port, `0..=65535`.
    pub const ANY: PortRange = PortRange { lo: 0, hi: 65535 };

    /// The range `lo..=hi`.
    pub const fn new(lo: u16, hi: u16) -> PortRange {
        PortRange { lo, hi }
    }

    /// The single port `port`.
    pub const fn single(port: u16) -> PortRange {
        PortRange { lo: port, hi: port }
    }

    /// True if `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }
}

/// What the classifier does with a matching packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClassifierAction {
    /// Encapsulate and send on the service path `spi`, starting at service index `si`.
    Path {
        /// Service Path Identifier (24 bits).
        spi: u32,
        /// Initial Service Index.
        si: u8,
    },
    /// Forward unclassified, outside any service path.
    Pass,
    /// Drop the packet.
    Drop,
}

/// One classifier rule: the fields to match (each `None` is a wildcard) and the action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassifierRule {
    /// Lower values are matched first; ties go to the rule given first.
    pub priority: u32,
    /// Ingress port.
    pub in_port: Option<u16>,
    /// VLAN ID (0..=4095).
    pub vlan: Option<u16>,
    /// Source prefix; also fixes the address family.
    pub src: Option<IpPrefix>,
    /// Destination prefix; also fixes the address family (must agree with `src`).
    pub dst: Option<IpPrefix>,
    /// IP protocol number (IPv6: the fixed header's Next Header).
    pub protocol: Option<u8>,
    /// Source ports.
    pub src_ports: Option<PortRange>,
    /// Destination ports.
    pub dst_ports: Option<PortRange>,
    /// What to do with a matching packet.
    pub action: ClassifierAction,
}

impl ClassifierRule {
    /// A rule matching every packet; set the fields to narrow it.
    pub fn any(priority: u32, action: ClassifierAction) -> ClassifierRule {
        ClassifierRule {
            priority,
            in_port: None,
            vlan: None,
            src: None,
            dst: None,
            protocol: None,
            src_ports: None,
            dst_ports: None,
            action,
        }
    }

    /// True if the rule matches `key`, checked field by field (the definition that
    /// [`Classifier::lookup`] implements faster).
    pub fn matches(&self, key: &MatchKey) -> bool {
        let flow = &key.flow;
        wildcard_or(self.in_port, |p| p == key.in_port)
            && wildcard_or(self.vlan, |v| key.vlan == Some(v))
            && wildcard_or(self.src, |p| p.contains(flow.family, &flow.src))
            && wildcard_or(self.dst, |p| p.contains(flow.family, &flow.dst))
            && wildcard_or(self.protocol, |p| p == u8::from(flow.protocol))
            && wildcard_or(self.src_ports, |r| r.contains(flow.src_port))
            && wildcard_or(self.dst_ports, |r| r.contains(flow.dst_port))
    }

    /// The match fields in canonical form (host bits cleared, full port ranges as wildcards),
    /// with the priority: two rules with equal identities are duplicates.
    fn identity(&self) -> RuleIdentity {
        let ports = |r: Option<PortRange>| r.filter(|r| *r != PortRange::ANY);
        RuleIdentity {
            priority: self.priority,
            in_port: self.in_port,
            vlan: self.vlan,
            src: self.src.map(|p| p.network()),
            dst: self.dst.map(|p| p.network()),
            protocol: self.protocol,
            src_ports: ports(self.src_ports),
            dst_ports: ports(self.dst_ports),
        }
    }

    /// The address family the rule is restricted to, if any.
    fn family(&self) -> Option<IpFamily> {
        self.src.or(self.dst).map(|p| p.family)
    }
}

/// True if `field` is a wildcard or its value passes `test`.
fn wildcard_or<T>(field: Option<T>, test: impl FnOnce(T) -> bool) -> bool {
    match field {
        None => true,
        Some(value) => test(value),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RuleIdentity {
    priority: u32,
    in_port: Option<u16>,
    vlan: Option<u16>,
    src: Option<IpPrefix>,
    dst: Option<IpPrefix>,
    protocol: Option<u8>,
    src_ports: Option<PortRange>,
    dst_ports: Option<PortRange>,
}

/// What a packet presents to the classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MatchKey {
    /// Ingress port.
    pub in_port: u16,
    /// VLAN ID of the (outer) tag, `None` if untagged.
    pub vlan: Option<u16>,
    /// The inner 5-tuple.
    pub flow: FlowKey,
}

/// Which address prefix of a rule an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleField {
    /// `src` / `src_ports`.
    Source,
    /// `dst` / `dst_ports`.
    Destination,
}

/// Why a rule set was refused; `rule` is the index of the offending rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClassifierError {
    /// A prefix is longer than its family allows (32 or 128).
    #[error("rule {rule}: {field} prefix length {len} too long")]
    PrefixTooLong {
        /// Rule index.
        rule: usize,
        /// Source or destination prefix.
        field: RuleField,
        /// The length given.
        len: u8,
    },
    /// A port range with `lo > hi`.
    #[error("rule {rule}: {field} port range {}..={} is empty", range.lo, range.hi)]
    EmptyPortRange {
        /// Rule index.
        rule: usize,
        /// Source or destination ports.
        field: RuleField,
        /// The range given.
        range: PortRange,
    },
    /// The source and destination prefixes are of different families (the rule can never
    /// match).
    #[error("rule {rule}: source and destination prefixes of different families")]
    FamilyMismatch {
        /// Rule index.
        rule: usize,
    },
    /// A VLAN ID above 4095.
    #[error("rule {rule}: VLAN ID {vlan} above 4095")]
    VlanOutOfRange {
        /// Rule index.
        rule: usize,
        /// The VLAN ID given.
        vlan: u16,
    },
    /// A Service Path Identifier above 2^24 - 1.
    #[error("rule {rule}: SPI {spi} above 2^24 - 1")]
    SpiOutOfRange {
        /// Rule index.
        rule: usize,
        /// The SPI given.
        spi: u32,
    },
    /// A rule has the same priority and the same match as an earlier one.
    #[error("rule {rule}: same priority and match as rule {first}")]
    Duplicate {
        /// Rule index of the later rule.
        rule: usize,
        /// Rule index of the earlier one.
        first: usize,
    },
}

impl fmt::Display for RuleField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleField::Source => "source",
            RuleField::Destination => "destination",
        })
    }
}

/// The packed key: source address (2 words), destination address (2 words),
/// `in_port << 32 | vlan_present << 16 | vlan`, and
/// `family << 40 | protocol << 32 | src_port << 16 | dst_port`. Packing is injective, so equal
/// packed keys are equal [`MatchKey`]s.
#[derive(Debug, Clone, Copy, Eq, Default)]
struct Packed([u64; 6]);

impl PartialEq for Packed {
    /// Word by word without branches (the derived comparison calls memcmp).
    #[inline]
    fn eq(&self, other: &Packed) -> bool {
        let (a, b) = (&self.0, &other.0);
        ((a[0] ^ b[0])
            | (a[1] ^ b[1])
            | (a[2] ^ b[2])
            | (a[3] ^ b[3])
            | (a[4] ^ b[4])
            | (a[5] ^ b[5]))
            == 0
    }
}

const IN_PORT_SHIFT: u32 = 32;
const VLAN_PRESENT: u64 = 1 << 16;
const FAMILY_SHIFT: u32 = 40;
const PROTOCOL_SHIFT: u32 = 32;
const SRC_PORT_SHIFT: u32 = 16;

fn family_code(family: IpFamily) -> u64 {
    match family {
        IpFamily::Ipv4 => 4,
        IpFamily::Ipv6 => 6,
    }
}

fn split(value: u128) -> (u64, u64) {
    ((value >> 64) as u64, value as u64)
}

impl Packed {
    #[inline]
    fn from_key(key: &MatchKey) -> Packed {
        let flow = &key.flow;
        let (s0, s1) = split(u128::from_be_bytes(flow.src));
        let (d0, d1) = split(u128::from_be_bytes(flow.dst));
        let vlan = key.vlan.map_or(0, |v| VLAN_PRESENT | u64::from(v));
        let meta = u64::from(key.in_port) << IN_PORT_SHIFT | vlan;
        let l4 = family_code(flow.family) << FAMILY_SHIFT
            | u64::from(u8::from(flow.protocol)) << PROTOCOL_SHIFT
            | u64::from(flow.src_port) << SRC_PORT_SHIFT
            | u64::from(flow.dst_port);
        Packed([s0, s1, d0, d1, meta, l4])
    }

    fn and(&self, mask: &Packed) -> Packed {
        let mut out = [0u64; 6];
        for (o, (a, b)) in out.iter_mut().zip(self.0.iter().zip(mask.0.iter())) {
            *o = a & b;
        }
        Packed(out)
    }

    /// A fixed, fast, deterministic hash (not collision resistant): the six words are mixed in
    /// three independent multiplies, folded, and finished with the MurmurHash3 finalizer.
    #[inline]
    fn hash64(&self) -> u64 {
        let w = &self.0;
        let a = (w[0] ^ w[3].rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let b = (w[1] ^ w[4].rotate_left(17)).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
        let c = (w[2] ^ w[5].rotate_left(43)).wrapping_mul(0x1656_67b1_9e37_79f9);
        let mut h = a ^ b.rotate_left(21) ^ c.rotate_left(42);
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl Hash for Packed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

/// A hasher that passes through the single pre-mixed word [`Packed`] writes (SipHash would
/// cost more than the rest of a probe).
#[derive(Default)]
struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }
}

type PackedMap<V> = HashMap<Packed, V, BuildHasherDefault<PassThroughHasher>>;

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
                    mask.0[5] |= u64::from(sm) << SRC_PORT_SHIFT | u64::from(dm);
                    value.0[5] |= u64::from(sv) << SRC_PORT_SHIFT | u64::from(dv);
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

fn check_rule(index: usize, rule: &ClassifierRule) -> Result<(), ClassifierError> {
    for (field, prefix) in [
        (RuleField::Source, rule.src),
        (RuleField::Destination, rule.dst),
    ] {
        if let Some(p) = prefix {
            if p.len > p.max_len() {
                return Err(ClassifierError::PrefixTooLong {
                    rule: index,
                    field,
                    len: p.len,
                });
            }
        }
    }
    for (field, ports) in [
        (RuleField::Source, rule.src_ports),
        (RuleField::Destination, rule.dst_ports),
    ] {
        if let Some(range) = ports {
            if range.lo > range.hi {
                return Err(ClassifierError::EmptyPortRange {
                    rule: index,
                    field,
                    range,
                });
            }
        }
    }
    if let (Some(s), Some(d)) = (rule.src, rule.dst) {
        if s.family != d.family {
            return Err(ClassifierError::FamilyMismatch { rule: index });
        }
    }
    if let Some(vlan) = rule.vlan {
        if vlan > MAX_VLAN_ID {
            return Err(ClassifierError::VlanOutOfRange { rule: index, vlan });
        }
    }
    if let ClassifierAction::Path { spi, .. } = rule.action {
        if spi > MAX_SPI {
            return Err(ClassifierError::SpiOutOfRange { rule: index, spi });
        }
    }
    Ok(())
}

/// The mask and masked value of every field of `rule` but the ports.
fn rule_mask_value(rule: &ClassifierRule) -> (Packed, Packed) {
    let mut mask = Packed::default();
    let mut value = Packed::default();
    for (word, prefix) in [(0, rule.src), (2, rule.dst)] {
        if let Some(p) = prefix {
            let (m0, m1) = split(p.mask());
            let (v0, v1) = split(u128::from_be_bytes(p.addr) & p.mask());
            mask.0[word] = m0;
            mask.0[word + 1] = m1;
            value.0[word] = v0;
            value.0[word + 1] = v1;
        }
    }
    if let Some(port) = rule.in_port {
        mask.0[4] |= 0xffff << IN_PORT_SHIFT;
        value.0[4] |= u64::from(port) << IN_PORT_SHIFT;
    }
    if let Some(vlan) = rule.vlan {
        mask.0[4] |= VLAN_PRESENT | 0xffff;
        value.0[4] |= VLAN_PRESENT | u64::from(vlan);
    }
    if let Some(family) = rule.family() {
        mask.0[5] |= 0xff << FAMILY_SHIFT;
        value.0[5] |= family_code(family) << FAMILY_SHIFT;
    }
    if let Some(protocol) = rule.protocol {
        mask.0[5] |= 0xff << PROTOCOL_SHIFT;
        value.0[5] |= u64::from(protocol) << PROTOCOL_SHIFT;
    }
    (mask, value)
}

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
    owner: u64,
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
    fn get(&self, hash: u64, key: &Packed) -> Option<Option<(usize, ClassifierAction)>> {
        let base = self.set(hash);
        self.slots[base..base + 2]
            .iter()
            .find(|s| s.generation == self.generation && s.key == *key)
            .map(|s| s.result)
    }

    #[inline]
    fn insert(&mut self, hash: u64, key: Packed, result: Option<(usize, ClassifierAction)>) {
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
    use crate::wire::IpProtocol;
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
