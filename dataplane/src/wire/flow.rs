//! The inner 5-tuple of a packet ([`FlowKey`]) and its hashes: directional, for ECMP entropy
//! (e.g. the outer UDP source port, RFC 7348 §5), and symmetric, so that both directions of a
//! flow land on the same worker or service function instance.
//!
//! The hash is a fixed multiply-xorshift over 64-bit words (no per-process random seed), so
//! it gives the same value on every worker, process and host. It is fast, not collision
//! resistant: do not use it where an attacker choosing flows matters.
//!
//! Limits: IPv6 extension headers are not walked (a packet whose Next Header is an extension
//! header gets that protocol and ports 0); IPv4 non-first fragments get ports 0 (the first
//! fragment carries the ports, so a fragmented flow may hash two ways).

use std::net::IpAddr;

use super::ethernet::EtherType;
use super::ipv4::{self, Address as Ipv4Address, IpProtocol};
use super::ipv6::{self, Address as Ipv6Address};
use super::{Error, Result};

/// The address family of a [`FlowKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpFamily {
    /// IPv4: addresses in the first 4 bytes, the other 12 zero.
    Ipv4,
    /// IPv6.
    Ipv6,
}

/// The inner 5-tuple. Ports are 0 for protocols other than TCP and UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// Address family.
    pub family: IpFamily,
    /// Source address (IPv4 in the first 4 bytes, the rest zero).
    pub src: [u8; 16],
    /// Destination address (IPv4 in the first 4 bytes, the rest zero).
    pub dst: [u8; 16],
    /// IP protocol (IPv6: the fixed header's Next Header).
    pub protocol: IpProtocol,
    /// Source port, or 0.
    pub src_port: u16,
    /// Destination port, or 0.
    pub dst_port: u16,
}

impl std::fmt::Display for FlowKey {
    /// `10.1.0.1:1024 → 10.2.0.1:80 proto 6`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let addr = |b: &[u8; 16]| -> IpAddr {
            match self.family {
                IpFamily::Ipv4 => IpAddr::from([b[0], b[1], b[2], b[3]]),
                IpFamily::Ipv6 => IpAddr::from(*b),
            }
        };
        let (s, d) = (addr(&self.src), addr(&self.dst));
        let p = u8::from(self.protocol);
        match self.family {
            IpFamily::Ipv4 => write!(f, "{s}:{} → {d}:{}", self.src_port, self.dst_port)?,
            IpFamily::Ipv6 => write!(f, "[{s}]:{} → [{d}]:{}", self.src_port, self.dst_port)?,
        }
        write!(f, " proto {p}")
    }
}

/// The first source port of the dynamic range (RFC 6335 §6), used by [`FlowKey::entropy_port`].
pub const ENTROPY_PORT_BASE: u16 = 49152;

const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// One multiply-xorshift round.
fn mix(h: u64, word: u64) -> u64 {
    let h = (h ^ word).wrapping_mul(MUL);
    h ^ (h >> 29)
}

/// The MurmurHash3 64-bit finalizer, folded to 32 bits.
fn finish(mut h: u64) -> u32 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h ^ (h >> 32)) as u32
}

fn addr_words(addr: &[u8; 16]) -> (u64, u64) {
    let mut hi = [0u8; 8];
    let mut lo = [0u8; 8];
    hi.copy_from_slice(&addr[..8]);
    lo.copy_from_slice(&addr[8..]);
    (u64::from_be_bytes(hi), u64::from_be_bytes(lo))
}

#[inline]
fn v4_bytes(addr: Ipv4Address) -> [u8; 16] {
    // Built in a register and stored whole: a later 16-byte load of the key then forwards from
    // one store instead of stalling on two.
    ((u128::from(u32::from_be_bytes(*addr.as_bytes()))) << 96).to_be_bytes()
}

/// Reads the two ports at the start of a TCP or UDP header.
fn ports(l4: &[u8]) -> Result<(u16, u16)> {
    match l4 {
        [a, b, c, d, ..] => Ok((u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d]))),
        _ => Err(Error::Truncated),
    }
}

fn has_ports(protocol: IpProtocol) -> bool {
    matches!(protocol, IpProtocol::Tcp | IpProtocol::Udp)
}

impl FlowKey {
    /// An IPv4 key.
    pub fn ipv4(
        src: Ipv4Address,
        dst: Ipv4Address,
        protocol: IpProtocol,
        src_port: u16,
        dst_port: u16,
    ) -> FlowKey {
        FlowKey {
            family: IpFamily::Ipv4,
            src: v4_bytes(src),
            dst: v4_bytes(dst),
            protocol,
            src_port,
            dst_port,
        }
    }

    /// An IPv6 key.
    pub fn ipv6(
        src: Ipv6Address,
        dst: Ipv6Address,
        protocol: IpProtocol,
        src_port: u16,
        dst_port: u16,
    ) -> FlowKey {
        FlowKey {
            family: IpFamily::Ipv6,
            src: src.0,
            dst: dst.0,
            protocol,
            src_port,
            dst_port,
        }
    }

    /// Extracts the key from an IPv4 or IPv6 packet starting at `l3`.
    ///
    /// Errors: [`Error::Unsupported`] for other ethertypes; the IP view's `new_checked` errors;
    /// [`Error::Truncated`] if a TCP or UDP payload (first fragment) is shorter than the ports.
    #[inline]
    pub fn extract(l3: &[u8], ethertype: EtherType) -> Result<FlowKey> {
        match ethertype {
            EtherType::Ipv4 => {
                let packet = ipv4::Packet::new_checked(l3)?;
                let protocol = packet.protocol();
                let (src_port, dst_port) = if has_ports(protocol) && packet.frag_offset() == 0 {
                    ports(packet.payload())?
                } else {
                    (0, 0)
                };
                Ok(FlowKey::ipv4(
                    packet.src_addr(),
                    packet.dst_addr(),
                    protocol,
                    src_port,
                    dst_port,
                ))
            }
            EtherType::Ipv6 => {
                let packet = ipv6::Packet::new_checked(l3)?;
                let protocol = packet.next_header();
                let (src_port, dst_port) = if has_ports(protocol) {
                    ports(packet.payload())?
                } else {
                    (0, 0)
                };
                Ok(FlowKey::ipv6(
                    packet.src_addr(),
                    packet.dst_addr(),
                    protocol,
                    src_port,
                    dst_port,
                ))
            }
            _ => Err(Error::Unsupported),
        }
    }

    /// [`extract`](Self::extract) for an IP packet of `whole` bytes of which `l3` is the front:
    /// the first segment of a chain of mbufs, where its headers lie. The IP lengths are checked
    /// against `whole`; the header and the ports must lie in `l3` ([`Error::Truncated`]). With
    /// `whole == l3.len()` it is `extract`.
    #[inline]
    pub fn extract_within(l3: &[u8], whole: usize, ethertype: EtherType) -> Result<FlowKey> {
        if whole <= l3.len() {
            return Self::extract(l3, ethertype);
        }
        Self::extract_front(l3, whole, ethertype)
    }

    #[cold]
    fn extract_front(l3: &[u8], whole: usize, ethertype: EtherType) -> Result<FlowKey> {
        match ethertype {
            EtherType::Ipv4 => {
                if l3.len() < ipv4::HEADER_LEN {
                    return Err(Error::Truncated);
                }
                let packet = ipv4::Packet::new_unchecked(l3);
                if packet.version() != 4 {
                    return Err(Error::BadVersion);
                }
                let (header_len, total_len) =
                    (packet.header_len(), usize::from(packet.total_len()));
                if header_len < ipv4::HEADER_LEN || total_len < header_len || total_len > whole {
                    return Err(Error::BadLength);
                }
                let l4 = l3.get(header_len..).ok_or(Error::Truncated)?;
                let protocol = packet.protocol();
                let (src_port, dst_port) = if has_ports(protocol) && packet.frag_offset() == 0 {
                    ports(l4)?
                } else {
                    (0, 0)
                };
                Ok(FlowKey::ipv4(
                    packet.src_addr(),
                    packet.dst_addr(),
                    protocol,
                    src_port,
                    dst_port,
                ))
            }
            EtherType::Ipv6 => {
                if l3.len() < ipv6::HEADER_LEN {
                    return Err(Error::Truncated);
                }
                let packet = ipv6::Packet::new_unchecked(l3);
                if packet.version() != 6 {
                    return Err(Error::BadVersion);
                }
                if ipv6::HEADER_LEN + usize::from(packet.payload_len()) > whole {
                    return Err(Error::BadLength);
                }
                let protocol = packet.next_header();
                let (src_port, dst_port) = if has_ports(protocol) {
                    ports(&l3[ipv6::HEADER_LEN..])?
                } else {
                    (0, 0)
                };
                Ok(FlowKey::ipv6(
                    packet.src_addr(),
                    packet.dst_addr(),
                    protocol,
                    src_port,
                    dst_port,
                ))
            }
            _ => Err(Error::Unsupported),
        }
    }

    /// The source address.
    pub fn src_addr(&self) -> IpAddr {
        self.addr(&self.src)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> IpAddr {
        self.addr(&self.dst)
    }

    fn addr(&self, bytes: &[u8; 16]) -> IpAddr {
        match self.family {
            IpFamily::Ipv4 => IpAddr::from([bytes[0], bytes[1], bytes[2], bytes[3]]),
            IpFamily::Ipv6 => IpAddr::from(*bytes),
        }
    }

    /// The key of the opposite direction.
    pub fn reversed(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            src_port: self.dst_port,
            dst_port: self.src_port,
            ..*self
        }
    }

    #[inline]
    fn hash_endpoints(&self, a: (&[u8; 16], u16), b: (&[u8; 16], u16)) -> u32 {
        let (a_hi, a_lo) = addr_words(a.0);
        let (b_hi, b_lo) = addr_words(b.0);
        let family = match self.family {
            IpFamily::Ipv4 => 4u64,
            IpFamily::Ipv6 => 6u64,
        };
        let tail = (family << 40)
            | (u64::from(u8::from(self.protocol)) << 32)
            | (u64::from(a.1) << 16)
            | u64::from(b.1);
        let mut h = MUL;
        for word in [a_hi, a_lo, b_hi, b_lo, tail] {
            h = mix(h, word);
        }
        finish(h)
    }

    /// A directional hash: `k.hash()` and `k.reversed().hash()` usually differ.
    #[inline]
    pub fn hash(&self) -> u32 {
        self.hash_endpoints((&self.src, self.src_port), (&self.dst, self.dst_port))
    }

    /// A symmetric hash: `k.symmetric_hash() == k.reversed().symmetric_hash()`. The endpoints
    /// (address, port) are put in order before hashing.
    #[inline]
    pub fn symmetric_hash(&self) -> u32 {
        let a = (&self.src, self.src_port);
        let b = (&self.dst, self.dst_port);
        if a <= b {
            self.hash_endpoints(a, b)
        } else {
            self.hash_endpoints(b, a)
        }
    }

    /// A hash of only the fields `fields` selects (networking-sfc's `lb_fields`): the others
    /// count as zero, and a TCP (UDP) port field applies to TCP (UDP) packets only. With
    /// `reverse`, the packet is a reply read from the other end: its destination stands for the
    /// source and the other way round, so a reply hashes as its request does.
    #[inline]
    pub fn fields_hash(&self, fields: LbFields, reverse: bool) -> u32 {
        let (src, dst, sport, dport) = if reverse {
            (&self.dst, &self.src, self.dst_port, self.src_port)
        } else {
            (&self.src, &self.dst, self.src_port, self.dst_port)
        };
        let (tcp, udp) = (
            self.protocol == IpProtocol::Tcp,
            self.protocol == IpProtocol::Udp,
        );
        let port = |p: u16, t: LbFields, u: LbFields| {
            if (tcp && fields.contains(t)) || (udp && fields.contains(u)) {
                p
            } else {
                0
            }
        };
        const ZERO: [u8; 16] = [0; 16];
        let a = if fields.contains(LbFields::IP_SRC) {
            src
        } else {
            &ZERO
        };
        let b = if fields.contains(LbFields::IP_DST) {
            dst
        } else {
            &ZERO
        };
        self.hash_endpoints(
            (a, port(sport, LbFields::TCP_SRC, LbFields::UDP_SRC)),
            (b, port(dport, LbFields::TCP_DST, LbFields::UDP_DST)),
        )
    }

    /// An ECMP entropy source port in 49152..=65535 derived from [`hash`](Self::hash).
    #[inline]
    pub fn entropy_port(&self) -> u16 {
        ENTROPY_PORT_BASE | (self.hash() as u16 & 0x3fff)
    }
}

bitflags::bitflags! {
    /// The inner packet fields a group picks its instance by (networking-sfc's `lb_fields`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct LbFields: u8 {
        const IP_SRC = 1;
        const IP_DST = 1 << 1;
        const TCP_SRC = 1 << 2;
        const TCP_DST = 1 << 3;
        const UDP_SRC = 1 << 4;
        const UDP_DST = 1 << 5;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_within_checks_lengths_against_the_whole_packet() {
        // An IPv4/UDP header of a 9000-byte packet whose first 64 bytes are at hand.
        let mut front = [0u8; 64];
        front[..20].copy_from_slice(&[
            0x45, 0, 0x23, 0x28, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        front[20..24].copy_from_slice(&[0x04, 0xd2, 0x16, 0x2e]);
        assert!(FlowKey::extract(&front, EtherType::Ipv4).is_err());
        let key = FlowKey::extract_within(&front, 9000, EtherType::Ipv4).unwrap();
        assert_eq!((key.src_port, key.dst_port), (1234, 5678));
        assert_eq!(key.dst_addr(), "10.0.0.2".parse::<IpAddr>().unwrap());
        // A total length beyond the whole packet still lies.
        assert_eq!(
            FlowKey::extract_within(&front, 8999, EtherType::Ipv4),
            Err(Error::BadLength)
        );
        // IPv6: payload length 8960 of 9000 bytes.
        let mut front6 = [0u8; 48];
        front6[0] = 0x60;
        front6[4..6].copy_from_slice(&8960u16.to_be_bytes());
        front6[6] = 6;
        front6[40..44].copy_from_slice(&[0, 80, 0x1f, 0x90]);
        let key = FlowKey::extract_within(&front6, 9000, EtherType::Ipv6).unwrap();
        assert_eq!((key.src_port, key.dst_port), (80, 8080));
        assert_eq!(
            FlowKey::extract_within(&front6, 8999, EtherType::Ipv6),
            Err(Error::BadLength)
        );
        // The ports must lie in the front.
        assert_eq!(
            FlowKey::extract_within(&front[..22], 9000, EtherType::Ipv4),
            Err(Error::Truncated)
        );
    }

    // IPv4 10.0.0.1:1234 -> 10.0.0.2:80, TCP, with the first 4 bytes of the TCP header.
    static IPV4_TCP: [u8; 24] = [
        0x45, 0x00, 0x00, 0x18, // version, IHL, DSCP/ECN, total length 24
        0x00, 0x00, 0x00, 0x00, // ident, flags, fragment offset 0
        0x40, 0x06, 0x00, 0x00, // TTL 64, TCP, checksum (not verified by extract)
        0x0a, 0x00, 0x00, 0x01, // 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // 10.0.0.2
        0x04, 0xd2, 0x00, 0x50, // ports 1234 -> 80
    ];

    // IPv6 2001:db8::1:5000 -> 2001:db8::2:53, UDP, with an 8-byte UDP header.
    static IPV6_UDP: [u8; 48] = [
        0x60, 0x00, 0x00, 0x00, // version 6
        0x00, 0x08, 0x11, 0x40, // payload length 8, UDP, hop limit 64
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // 2001:db8::1
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // 2001:db8::2
        0x13, 0x88, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // ports 5000 -> 53, length 8
    ];

    #[test]
    fn extract_ipv4_tcp() {
        let key = FlowKey::extract(&IPV4_TCP, EtherType::Ipv4).unwrap();
        assert_eq!(key.family, IpFamily::Ipv4);
        assert_eq!(key.src_addr(), "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(key.dst_addr(), "10.0.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(key.protocol, IpProtocol::Tcp);
        assert_eq!((key.src_port, key.dst_port), (1234, 80));
        assert_eq!(
            key,
            FlowKey::ipv4(
                Ipv4Address::new(10, 0, 0, 1),
                Ipv4Address::new(10, 0, 0, 2),
                IpProtocol::Tcp,
                1234,
                80
            )
        );
    }

    #[test]
    fn extract_ipv6_udp() {
        let key = FlowKey::extract(&IPV6_UDP, EtherType::Ipv6).unwrap();
        assert_eq!(key.family, IpFamily::Ipv6);
        assert_eq!(key.src_addr(), "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(key.dst_addr(), "2001:db8::2".parse::<IpAddr>().unwrap());
        assert_eq!(key.protocol, IpProtocol::Udp);
        assert_eq!((key.src_port, key.dst_port), (5000, 53));
    }

    #[test]
    fn no_ports_for_other_protocols_and_fragments() {
        let mut bytes = IPV4_TCP;
        bytes[9] = 1; // ICMP
        let key = FlowKey::extract(&bytes, EtherType::Ipv4).unwrap();
        assert_eq!(
            (key.protocol, key.src_port, key.dst_port),
            (IpProtocol::Icmp, 0, 0)
        );

        let mut bytes = IPV4_TCP;
        bytes[7] = 0x10; // fragment offset 128 bytes
        let key = FlowKey::extract(&bytes, EtherType::Ipv4).unwrap();
        assert_eq!(
            (key.protocol, key.src_port, key.dst_port),
            (IpProtocol::Tcp, 0, 0)
        );

        let mut bytes = IPV6_UDP;
        bytes[6] = 0; // Hop-by-Hop options: not walked
        let key = FlowKey::extract(&bytes, EtherType::Ipv6).unwrap();
        assert_eq!(
            (key.protocol, key.src_port, key.dst_port),
            (IpProtocol::Unknown(0), 0, 0)
        );
    }

    #[test]
    fn extract_errors() {
        assert_eq!(
            FlowKey::extract(&IPV4_TCP, EtherType::Arp),
            Err(Error::Unsupported)
        );
        assert_eq!(
            FlowKey::extract(&IPV4_TCP, EtherType::Ipv6),
            Err(Error::Truncated)
        );
        assert_eq!(
            FlowKey::extract(&IPV6_UDP, EtherType::Ipv4),
            Err(Error::BadVersion)
        );
        for len in 0..20 {
            assert_eq!(
                FlowKey::extract(&IPV4_TCP[..len], EtherType::Ipv4),
                Err(Error::Truncated)
            );
        }
        for len in 20..24 {
            assert_eq!(
                FlowKey::extract(&IPV4_TCP[..len], EtherType::Ipv4),
                Err(Error::BadLength)
            );
        }
        // Total length 22: only 2 bytes of TCP header, the ports do not fit.
        for total in 20..24u8 {
            let mut bytes = IPV4_TCP;
            bytes[3] = total;
            assert_eq!(
                FlowKey::extract(&bytes, EtherType::Ipv4),
                Err(Error::Truncated)
            );
        }
        let mut bytes = IPV6_UDP;
        bytes[5] = 3;
        assert_eq!(
            FlowKey::extract(&bytes, EtherType::Ipv6),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn fields_hash_reads_only_its_fields_and_a_reply_from_the_other_end() {
        let k = |s: [u8; 4], d: [u8; 4], sp: u16, dp: u16, proto: IpProtocol| {
            FlowKey::ipv4(Ipv4Address(s), Ipv4Address(d), proto, sp, dp)
        };
        let tcp = IpProtocol::Tcp;
        let a = k([10, 1, 0, 1], [10, 2, 0, 1], 1000, 80, tcp);
        let src = LbFields::IP_SRC;
        // Only the source address counts.
        assert_eq!(
            a.fields_hash(src, false),
            k([10, 1, 0, 1], [10, 2, 0, 9], 2000, 443, tcp).fields_hash(src, false)
        );
        assert_ne!(
            a.fields_hash(src, false),
            k([10, 1, 0, 2], [10, 2, 0, 1], 1000, 80, tcp).fields_hash(src, false)
        );
        // A reply, read from the other end, hashes as its request, for any fields.
        for f in [
            src,
            LbFields::IP_SRC | LbFields::IP_DST,
            LbFields::all(),
            LbFields::TCP_DST,
        ] {
            assert_eq!(
                a.fields_hash(f, false),
                a.reversed().fields_hash(f, true),
                "{f:?}"
            );
        }
        // TCP ports do not count for UDP.
        let u = k([10, 1, 0, 1], [10, 2, 0, 1], 1000, 80, IpProtocol::Udp);
        let u2 = k([10, 1, 0, 1], [10, 2, 0, 1], 1001, 81, IpProtocol::Udp);
        let ports = LbFields::TCP_SRC | LbFields::TCP_DST;
        assert_eq!(u.fields_hash(ports, false), u2.fields_hash(ports, false));
        assert_ne!(
            u.fields_hash(LbFields::UDP_SRC, false),
            u2.fields_hash(LbFields::UDP_SRC, false)
        );
    }

    #[test]
    fn symmetric_hash_is_symmetric() {
        for bytes in [&IPV4_TCP[..], &IPV6_UDP[..]] {
            let ethertype = if bytes[0] >> 4 == 4 {
                EtherType::Ipv4
            } else {
                EtherType::Ipv6
            };
            let key = FlowKey::extract(bytes, ethertype).unwrap();
            let back = key.reversed();
            assert_eq!(back.reversed(), key);
            assert_eq!(key.symmetric_hash(), back.symmetric_hash());
            assert_ne!(key.hash(), back.hash());
        }
        // Same addresses, ports swapped on one side only: a different flow.
        let a = FlowKey::ipv4(
            Ipv4Address::new(1, 1, 1, 1),
            Ipv4Address::new(2, 2, 2, 2),
            IpProtocol::Udp,
            10,
            20,
        );
        let b = FlowKey {
            src_port: 20,
            dst_port: 10,
            ..a
        };
        assert_ne!(a.symmetric_hash(), b.symmetric_hash());
        // Same address on both ends: ordering falls to the ports.
        let c = FlowKey { dst: a.src, ..a };
        assert_eq!(c.symmetric_hash(), c.reversed().symmetric_hash());
    }

    #[test]
    fn family_and_protocol_are_hashed() {
        let v4 = FlowKey::ipv4(
            Ipv4Address::new(10, 0, 0, 1),
            Ipv4Address::new(10, 0, 0, 2),
            IpProtocol::Udp,
            1,
            2,
        );
        let v6 = FlowKey {
            family: IpFamily::Ipv6,
            ..v4
        };
        let tcp = FlowKey {
            protocol: IpProtocol::Tcp,
            ..v4
        };
        assert_ne!(v4.hash(), v6.hash());
        assert_ne!(v4.hash(), tcp.hash());
        assert_ne!(v4.symmetric_hash(), tcp.symmetric_hash());
    }

    #[test]
    fn hashes_spread_over_buckets() {
        // 4096 flows differing only in the source port, into 64 buckets (expected 64 each).
        let mut direct = [0u32; 64];
        let mut symmetric = [0u32; 64];
        let mut ports = std::collections::HashSet::new();
        for port in 0..4096u16 {
            let key = FlowKey::ipv4(
                Ipv4Address::new(192, 168, 0, 1),
                Ipv4Address::new(10, 0, 0, 1),
                IpProtocol::Tcp,
                32768 + port,
                443,
            );
            direct[(key.hash() % 64) as usize] += 1;
            symmetric[(key.symmetric_hash() % 64) as usize] += 1;
            let entropy = key.entropy_port();
            assert!(entropy >= ENTROPY_PORT_BASE);
            ports.insert(entropy);
        }
        for buckets in [direct, symmetric] {
            let (min, max) = (buckets.iter().min().unwrap(), buckets.iter().max().unwrap());
            assert!(*min >= 32 && *max <= 104, "uneven: min {min} max {max}");
        }
        assert!(
            ports.len() > 3400,
            "only {} distinct entropy ports",
            ports.len()
        );
    }
}
