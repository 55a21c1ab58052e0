//! The outer headers of NSH's transports (RFC 8300 §4): NSH over Ethernet (EtherType 0x894F) and
//! VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe) over IPv4 or IPv6 (UDP 4790), as templates built once
//! per neighbour with the protocols' `Repr::emit`, then written in front of each packet with one
//! copy and a few patches (lengths, the IPv4 header checksum, the UDP source port) at the
//! offsets [`gpe4`] exports.
//!
//! Limits: no VLAN tag and no IPv4 options in the outer headers; the outer UDP checksum is 0 over
//! IPv4 (RFC 7348 §5) and computed over IPv6 (RFC 8200 §8.1).

use super::ethernet::{self, EtherType, Frame};
use super::ipv4::{self, IpProtocol};
use super::{checksum, ipv6, udp, vxlan_gpe, EthernetAddress, Ipv4Address, Ipv6Address};

/// Bytes of VXLAN-GPE outer headers over IPv4: Ethernet, IPv4, UDP, VXLAN-GPE.
pub const GPE4_LEN: usize =
    ethernet::HEADER_LEN + ipv4::HEADER_LEN + udp::HEADER_LEN + vxlan_gpe::HEADER_LEN;
/// Bytes of VXLAN-GPE outer headers over IPv6.
pub const GPE6_LEN: usize =
    ethernet::HEADER_LEN + ipv6::HEADER_LEN + udp::HEADER_LEN + vxlan_gpe::HEADER_LEN;
/// TTL / hop limit of the outer IP header.
pub const OUTER_TTL: u8 = 64;

/// Offsets, from the start of the frame, of the fields of VXLAN-GPE over IPv4 (no VLAN tag, no
/// IPv4 options), taken from each protocol's `field` module.
pub mod gpe4 {
    use core::ops::Range;

    use super::super::{ethernet, ipv4, udp, vxlan_gpe};

    const fn at(r: Range<usize>, by: usize) -> Range<usize> {
        r.start + by..r.end + by
    }

    pub const ETHERTYPE: Range<usize> = ethernet::field::ETHERTYPE;
    /// The IPv4 header.
    pub const IP: usize = ethernet::HEADER_LEN;
    pub const IP_VER_IHL: usize = IP + ipv4::field::VER_IHL;
    pub const IP_LENGTH: Range<usize> = at(ipv4::field::LENGTH, IP);
    pub const IP_FLG_OFF: Range<usize> = at(ipv4::field::FLG_OFF, IP);
    pub const IP_PROTOCOL: usize = IP + ipv4::field::PROTOCOL;
    pub const IP_CHECKSUM: Range<usize> = at(ipv4::field::CHECKSUM, IP);
    pub const IP_DST: Range<usize> = at(ipv4::field::DST_ADDR, IP);
    /// The UDP header.
    pub const UDP: usize = IP + ipv4::HEADER_LEN;
    pub const UDP_SRC_PORT: Range<usize> = at(udp::field::SRC_PORT, UDP);
    pub const UDP_DST_PORT: Range<usize> = at(udp::field::DST_PORT, UDP);
    pub const UDP_LENGTH: Range<usize> = at(udp::field::LENGTH, UDP);
    /// The VXLAN-GPE header.
    pub const GPE: usize = UDP + udp::HEADER_LEN;
    pub const GPE_FLAGS: usize = GPE + vxlan_gpe::field::FLAGS;
    pub const GPE_NEXT_PROTOCOL: usize = GPE + vxlan_gpe::field::NEXT_PROTOCOL;
    /// The NSH header.
    pub const NSH: usize = GPE + vxlan_gpe::HEADER_LEN;
}

/// The VXLAN-GPE header of NSH on VNI `vni`, emitted into `d`.
fn emit_gpe(d: &mut [u8], vni: u32) {
    vxlan_gpe::Repr {
        vni,
        next_protocol: vxlan_gpe::NextProtocol::Nsh,
        oam: false,
        bum: false,
    }
    .emit(&mut vxlan_gpe::Packet::new_unchecked(d));
}

/// The UDP header toward VXLAN-GPE, source port and length 0 (patched per packet).
fn emit_udp(d: &mut [u8]) {
    let repr = udp::Repr {
        src_port: 0,
        dst_port: udp::VXLAN_GPE_PORT,
        payload_len: 0,
    };
    let mut u = udp::Packet::new_unchecked(d);
    repr.emit(&mut u);
    u.set_len(0);
}

fn emit_ethernet(d: &mut [u8], dst: EthernetAddress, src: EthernetAddress, ethertype: EtherType) {
    ethernet::Repr {
        dst_addr: dst,
        src_addr: src,
        ethertype,
    }
    .emit(&mut Frame::new_unchecked(d));
}

/// The Ethernet header of NSH over Ethernet toward one neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthTemplate {
    bytes: [u8; ethernet::HEADER_LEN],
}

impl EthTemplate {
    pub fn new(dst: EthernetAddress, src: EthernetAddress) -> Self {
        let mut bytes = [0; ethernet::HEADER_LEN];
        emit_ethernet(&mut bytes, dst, src, EtherType::Nsh);
        EthTemplate { bytes }
    }

    /// The header's bytes.
    pub fn bytes(&self) -> &[u8; ethernet::HEADER_LEN] {
        &self.bytes
    }

    /// Writes the header over `d[..14]`.
    #[inline(always)]
    pub fn write(&self, d: &mut [u8]) {
        if let Some(h) = d.first_chunk_mut::<{ ethernet::HEADER_LEN }>() {
            *h = self.bytes;
        }
    }
}

/// The outer Ethernet, IPv4, UDP and VXLAN-GPE headers toward one neighbour, with the fields that
/// vary per packet (IPv4 total length and checksum, UDP source port and length) left zero, and the
/// ones' complement sum of the IPv4 header as it stands, so that a packet's header checksum is one
/// addition away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gpe4Template {
    bytes: [u8; GPE4_LEN],
    ip_sum: u16,
}

impl Gpe4Template {
    /// A template no packet is ever written with (zero addresses): a placeholder.
    pub const EMPTY: Gpe4Template = Gpe4Template {
        bytes: [0; GPE4_LEN],
        ip_sum: 0,
    };

    pub fn new(
        dst_mac: EthernetAddress,
        src_mac: EthernetAddress,
        src: Ipv4Address,
        dst: Ipv4Address,
        vni: u32,
    ) -> Self {
        let mut bytes = [0u8; GPE4_LEN];
        emit_ethernet(&mut bytes, dst_mac, src_mac, EtherType::Ipv4);
        let ip_repr = ipv4::Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::Udp,
            payload_len: 0,
            ttl: OUTER_TTL,
            dscp: 0,
            ecn: 0,
            dont_frag: true,
        };
        let ip = &mut bytes[gpe4::IP..gpe4::UDP];
        let mut view = ipv4::Packet::new_unchecked(&mut *ip);
        ip_repr.emit(&mut view);
        view.set_total_len(0);
        view.set_checksum(0);
        let ip_sum = checksum::data(ip);
        emit_udp(&mut bytes[gpe4::UDP..gpe4::GPE]);
        emit_gpe(&mut bytes[gpe4::GPE..], vni);
        Gpe4Template { bytes, ip_sum }
    }

    /// Writes the headers over `d[..GPE4_LEN]` for a packet of `d.len()` bytes in all, with UDP
    /// source port `sport`.
    #[inline(always)]
    pub fn write(&self, d: &mut [u8], sport: u16) {
        self.write_len(d, d.len(), sport);
    }

    /// [`write`](Self::write) for a packet of `len` bytes in all, of which `d` is the front (the
    /// first segment of a chain): the lengths count `len`.
    #[inline(always)]
    pub fn write_len(&self, d: &mut [u8], len: usize, sport: u16) {
        let Some(h) = d.first_chunk_mut::<GPE4_LEN>() else {
            return;
        };
        *h = self.bytes;
        gpe4_patch(h, self.ip_sum, len, sport);
    }

    /// The headers' bytes, with the per-packet fields zero.
    pub fn bytes(&self) -> &[u8; GPE4_LEN] {
        &self.bytes
    }

    /// The ones' complement sum of the IPv4 header with its length and checksum zero.
    pub fn ip_sum(&self) -> u16 {
        self.ip_sum
    }
}

/// Fills in the per-packet fields of VXLAN-GPE over IPv4 headers copied from a template whose
/// IPv4 header sums to `ip_sum`: the IPv4 total length and header checksum, the UDP source port
/// and length, for a packet of `len` bytes in all.
#[inline(always)]
pub fn gpe4_patch(h: &mut [u8; GPE4_LEN], ip_sum: u16, len: usize, sport: u16) {
    let ip_len = (len - gpe4::IP) as u16;
    h[gpe4::IP_LENGTH].copy_from_slice(&ip_len.to_be_bytes());
    let c = checksum::finish(checksum::combine(&[ip_sum, ip_len]));
    h[gpe4::IP_CHECKSUM].copy_from_slice(&c.to_be_bytes());
    h[gpe4::UDP_SRC_PORT].copy_from_slice(&sport.to_be_bytes());
    h[gpe4::UDP_LENGTH].copy_from_slice(&(ip_len - ipv4::HEADER_LEN as u16).to_be_bytes());
}

/// The outer Ethernet, IPv6, UDP and VXLAN-GPE headers toward one neighbour; the payload length,
/// UDP source port, length and checksum are written per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gpe6Template {
    bytes: [u8; GPE6_LEN],
    src: Ipv6Address,
    dst: Ipv6Address,
}

impl Gpe6Template {
    const IP: usize = ethernet::HEADER_LEN;
    const UDP: usize = Self::IP + ipv6::HEADER_LEN;

    pub fn new(
        dst_mac: EthernetAddress,
        src_mac: EthernetAddress,
        src: Ipv6Address,
        dst: Ipv6Address,
        vni: u32,
    ) -> Self {
        let mut bytes = [0u8; GPE6_LEN];
        emit_ethernet(&mut bytes, dst_mac, src_mac, EtherType::Ipv6);
        ipv6::Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Udp,
            payload_len: 0,
            hop_limit: OUTER_TTL,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut ipv6::Packet::new_unchecked(
            &mut bytes[Self::IP..Self::UDP],
        ));
        emit_udp(&mut bytes[Self::UDP..Self::UDP + udp::HEADER_LEN]);
        emit_gpe(&mut bytes[Self::UDP + udp::HEADER_LEN..], vni);
        Gpe6Template { bytes, src, dst }
    }

    /// Writes the headers over `d[..GPE6_LEN]` for a packet of `d.len()` bytes in all, with UDP
    /// source port `sport`, and the UDP checksum IPv6 requires.
    #[inline]
    pub fn write(&self, d: &mut [u8], sport: u16) {
        let udp_len = (d.len() - Self::UDP) as u16;
        let Some(h) = d.first_chunk_mut::<GPE6_LEN>() else {
            return;
        };
        *h = self.bytes;
        ipv6::Packet::new_unchecked(&mut h[Self::IP..Self::UDP]).set_payload_len(udp_len);
        let mut u = udp::Packet::new_unchecked(&mut d[Self::UDP..]);
        u.set_src_port(sport);
        u.set_len(udp_len);
        u.fill_checksum_ipv6(&self.src, &self.dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DST: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
    const SRC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);

    #[test]
    fn gpe4_template_writes_valid_headers() {
        let t = Gpe4Template::new(
            DST,
            SRC,
            Ipv4Address::new(10, 0, 0, 1),
            Ipv4Address::new(10, 0, 0, 2),
            0x123456,
        );
        let mut d = vec![0xaa; GPE4_LEN + 30];
        t.write(&mut d, 40000);
        // The fixture: what the transports wrote before templates existed.
        let expect: [u8; GPE4_LEN] = [
            2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, // Ethernet
            0x45, 0, 0, 66, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
            0x9c, 0x40, 0x12, 0xb6, 0, 46, 0, 0, // UDP 40000 → 4790, length 46, no checksum
            0x0c, 0, 0, 4, 0x12, 0x34, 0x56, 0, // VXLAN-GPE: I, P, NSH, VNI
        ];
        let mut e = expect;
        let c = checksum::internet_checksum(&e[gpe4::IP..gpe4::UDP]);
        e[gpe4::IP_CHECKSUM].copy_from_slice(&c.to_be_bytes());
        assert_eq!(d[..GPE4_LEN], e);
        let ip = ipv4::Packet::new_checked(&d[gpe4::IP..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(usize::from(ip.total_len()), d.len() - gpe4::IP);
        assert_eq!(d[GPE4_LEN..], [0xaa; 30]);
        assert_eq!(gpe4::NSH, GPE4_LEN);
    }

    #[test]
    fn gpe6_template_carries_a_udp_checksum() {
        let src = Ipv6Address([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        let dst = Ipv6Address([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        let t = Gpe6Template::new(DST, SRC, src, dst, 7);
        let mut d = vec![0x55; GPE6_LEN + 20];
        t.write(&mut d, 1234);
        let ip = ipv6::Packet::new_checked(&d[14..]).unwrap();
        assert_eq!(ip.hop_limit(), OUTER_TTL);
        let u = udp::Packet::new_checked(ip.payload()).unwrap();
        assert_eq!((u.src_port(), u.dst_port()), (1234, 4790));
        assert!(u.verify_checksum_ipv6(&src, &dst));
        let g = vxlan_gpe::Packet::new_checked(u.payload()).unwrap();
        assert_eq!(g.vni(), 7);
    }

    #[test]
    fn eth_template_is_nsh_over_ethernet() {
        let mut d = [0u8; 20];
        EthTemplate::new(DST, SRC).write(&mut d);
        assert_eq!(&d[..14], &[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x89, 0x4f]);
    }
}
