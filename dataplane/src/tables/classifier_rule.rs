//! The classifier's rule language: what a rule matches ([`IpPrefix`], [`PortRange`], the
//! optional fields of a [`ClassifierRule`]), what it does ([`ClassifierAction`]), what a packet
//! presents ([`MatchKey`]), and the checks a rule set must pass ([`ClassifierError`]).
//! [`ClassifierRule::matches`] is the definition of a match, field by field; the tuple space
//! search in [`classifier`](super::classifier) implements it faster.
//!
//! Limits: one VLAN ID per packet (a rule cannot ask for "untagged only"); no match on DSCP, TCP
//! flags, ICMP type or NSH metadata; ports are whatever [`FlowKey`] holds (0 for non-TCP/UDP and
//! for non-first fragments).

use std::fmt;

use crate::wire::{FlowKey, IpFamily, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

#[cfg(doc)]
use super::classifier::Classifier;

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
    pub(super) fn mask(&self) -> u128 {
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
    pub(super) fn identity(&self) -> RuleIdentity {
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
    pub(super) fn family(&self) -> Option<IpFamily> {
        self.src.or(self.dst).map(|p| p.family)
    }
}

/// True if `field` is a wildcard or its value passes `test`.
pub(super) fn wildcard_or<T>(field: Option<T>, test: impl FnOnce(T) -> bool) -> bool {
    match field {
        None => true,
        Some(value) => test(value),
    }
}

/// A rule's match fields in canonical form, with its priority ([`ClassifierRule::identity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct RuleIdentity {
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

/// Checks one rule on its own (duplicates are found by [`Classifier::new`]).
pub(super) fn check_rule(index: usize, rule: &ClassifierRule) -> Result<(), ClassifierError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_ignore_host_bits_and_never_mix_families() {
        let net = IpPrefix::ipv4(Ipv4Address::new(192, 168, 1, 77), 24);
        assert_eq!(
            net.network(),
            IpPrefix::ipv4(Ipv4Address::new(192, 168, 1, 0), 24)
        );
        let mut inside = [0u8; 16];
        inside[..4].copy_from_slice(&[192, 168, 1, 200]);
        let mut outside = inside;
        outside[2] = 2;
        assert!(net.contains(IpFamily::Ipv4, &inside));
        assert!(!net.contains(IpFamily::Ipv4, &outside));
        assert!(!net.contains(IpFamily::Ipv6, &inside));
        let any_v4 = IpPrefix::ipv4(Ipv4Address::new(0, 0, 0, 0), 0);
        assert!(any_v4.contains(IpFamily::Ipv4, &outside));
        assert!(!any_v4.contains(IpFamily::Ipv6, &outside));
        let v6 = IpPrefix::ipv6(
            Ipv6Address([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            32,
        );
        assert_eq!(v6.max_len(), 128);
        assert_eq!(v6.network().addr[4..], [0u8; 12]);
    }

    #[test]
    fn identity_is_the_canonical_match() {
        let rule = ClassifierRule {
            src: Some(IpPrefix::ipv4(Ipv4Address::new(10, 1, 2, 3), 8)),
            dst_ports: Some(PortRange::ANY),
            ..ClassifierRule::any(5, ClassifierAction::Pass)
        };
        let same = ClassifierRule {
            src: Some(IpPrefix::ipv4(Ipv4Address::new(10, 9, 9, 9), 8)),
            dst_ports: None,
            ..ClassifierRule::any(5, ClassifierAction::Drop)
        };
        assert_eq!(rule.identity(), same.identity());
        let other_priority = ClassifierRule {
            priority: 6,
            ..same.clone()
        };
        assert_ne!(rule.identity(), other_priority.identity());
        assert_eq!(rule.family(), Some(IpFamily::Ipv4));
        assert_eq!(
            ClassifierRule::any(1, ClassifierAction::Pass).family(),
            None
        );
        assert!(PortRange::new(10, 20).contains(10) && PortRange::new(10, 20).contains(20));
        assert!(!PortRange::new(10, 20).contains(21));
    }
}
