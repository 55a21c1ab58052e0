//! The classifier's packed key: a [`MatchKey`] as six 64-bit words, the (mask, value) pair a
//! rule's fields become over the same layout, and the fixed hash and pass-through hasher that
//! the classifier's maps and the flow cache use. The layout is written here only.
//!
//! Limits: the hash is fast and deterministic, not collision resistant (flows whose hashes agree
//! in the low bits share a flow-cache set and evict each other).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::classifier_rule::{ClassifierRule, MatchKey};
use crate::wire::IpFamily;

/// The packed key: source address (2 words), destination address (2 words),
/// `in_port << 32 | vlan_present << 16 | vlan`, and
/// `family << 40 | protocol << 32 | src_port << 16 | dst_port`. Packing is injective, so equal
/// packed keys are equal [`MatchKey`]s.
#[derive(Debug, Clone, Copy, Eq, Default)]
pub(super) struct Packed([u64; 6]);

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
    pub(super) fn from_key(key: &MatchKey) -> Packed {
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

    pub(super) fn and(&self, mask: &Packed) -> Packed {
        let mut out = [0u64; 6];
        for (o, (a, b)) in out.iter_mut().zip(self.0.iter().zip(mask.0.iter())) {
            *o = a & b;
        }
        Packed(out)
    }

    /// Sets the source and destination port bits (a rule's mask or value for one pair of port
    /// blocks; the bits must be clear before).
    pub(super) fn or_ports(&mut self, src: u16, dst: u16) {
        self.0[5] |= u64::from(src) << SRC_PORT_SHIFT | u64::from(dst);
    }

    /// A fixed, fast, deterministic hash (not collision resistant): the six words are mixed in
    /// three independent multiplies, folded, and finished with the MurmurHash3 finalizer.
    #[inline]
    pub(super) fn hash64(&self) -> u64 {
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
pub(super) struct PassThroughHasher(u64);

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

/// A hash map keyed by [`Packed`] keys, hashed with [`Packed::hash64`].
pub(super) type PackedMap<V> = HashMap<Packed, V, BuildHasherDefault<PassThroughHasher>>;

/// The mask and masked value of every field of `rule` but the ports.
pub(super) fn rule_mask_value(rule: &ClassifierRule) -> (Packed, Packed) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::classifier_rule::{ClassifierAction, IpPrefix, PortRange};
    use crate::wire::{FlowKey, IpProtocol, Ipv4Address, Ipv6Address};

    fn key(vlan: Option<u16>, flow: FlowKey) -> MatchKey {
        MatchKey {
            in_port: 3,
            vlan,
            flow,
        }
    }

    fn v4_flow() -> FlowKey {
        FlowKey::ipv4(
            Ipv4Address::new(10, 0, 0, 1),
            Ipv4Address::new(10, 0, 0, 2),
            IpProtocol::from(6),
            1000,
            80,
        )
    }

    #[test]
    fn packing_keeps_apart_what_the_fields_keep_apart() {
        let untagged = Packed::from_key(&key(None, v4_flow()));
        let priority_tagged = Packed::from_key(&key(Some(0), v4_flow()));
        assert_ne!(untagged, priority_tagged);
        // The same 16 address bytes as IPv6: another key.
        let v4 = v4_flow();
        let v6 = FlowKey {
            family: IpFamily::Ipv6,
            ..v4
        };
        assert_ne!(untagged, Packed::from_key(&key(None, v6)));
        assert_eq!(untagged, Packed::from_key(&key(None, v4_flow())));
        assert_eq!(untagged.hash64(), Packed::from_key(&key(None, v4)).hash64());
        let other = FlowKey::ipv6(
            Ipv6Address([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            Ipv6Address([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
            IpProtocol::from(17),
            80,
            1000,
        );
        assert_ne!(untagged, Packed::from_key(&key(None, other)));
    }

    #[test]
    fn a_masked_key_equals_the_rule_value_when_the_rule_matches() {
        let rule = ClassifierRule {
            in_port: Some(3),
            vlan: Some(100),
            dst: Some(IpPrefix::ipv4(Ipv4Address::new(10, 0, 0, 77), 24)),
            protocol: Some(6),
            ..ClassifierRule::any(1, ClassifierAction::Pass)
        };
        let (mask, value) = rule_mask_value(&rule);
        let hit = key(Some(100), v4_flow());
        assert!(rule.matches(&hit));
        assert_eq!(Packed::from_key(&hit).and(&mask), value);
        let mut misses = [hit; 4];
        misses[0].in_port = 4;
        misses[1].vlan = None;
        misses[2].flow.dst[2] = 1;
        misses[3].flow.protocol = IpProtocol::from(17);
        for miss in &misses {
            assert!(!rule.matches(miss));
            assert_ne!(Packed::from_key(miss).and(&mask), value, "{miss:?}");
        }
        // Ports are added per block by the classifier: here a single port.
        let rule = ClassifierRule {
            dst_ports: Some(PortRange::single(80)),
            ..rule
        };
        let (mut mask, mut value) = rule_mask_value(&rule);
        mask.or_ports(0, u16::MAX);
        value.or_ports(0, 80);
        assert_eq!(Packed::from_key(&hit).and(&mask), value);
        let mut miss = hit;
        miss.flow.dst_port = 81;
        assert_ne!(Packed::from_key(&miss).and(&mask), value);
    }
}
