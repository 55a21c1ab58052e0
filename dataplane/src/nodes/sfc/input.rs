//! Ethernet input and the IP / UDP / VXLAN-GPE input of tunnel traffic: where a received frame
//! goes. In order: ARP and ICMP for one of our own addresses (the host stack, on the slow path);
//! a frame back from a proxied SF (by port and VLAN); NSH over Ethernet; VXLAN-GPE to one of our
//! VTEPs (then NSH input); everything else to the classifier. Tunnel traffic to our VTEPs with a
//! bad IPv4 checksum, another UDP port or a malformed header is dropped and counted here.

use super::SfcState;
use crate::nodes::trace::Tracer;
use crate::nodes::Verdict;
use crate::packet::PacketBuf;
use crate::slowpath::SlowReason;
use crate::stats::DropReason;
use crate::tables::sfc::SfcTables;
use crate::wire::L2Info;
use crate::wire::{
    ipv4, ipv6, l2_parse, udp, vxlan_gpe, Error as WireError, EtherType, IpProtocol,
};

impl SfcTables {
    /// Ethernet input and everything after it, for any packet. Kept out of line, so that the
    /// transit fast path before it has the registers to itself.
    #[inline(never)]
    pub(super) fn process_general<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        in_port: usize,
        tr: &mut T,
    ) -> Verdict {
        let l2 = match l2_parse(pkt.data()) {
            Ok(l2) => l2,
            Err(WireError::TooManyVlans) => return Verdict::Drop(DropReason::VlanStack),
            Err(_) => return Verdict::Drop(DropReason::EthTruncated),
        };
        if !self.host4.is_empty() {
            if let Some(r) = self.for_us(pkt.data(), &l2, in_port) {
                return Verdict::SlowPath(r);
            }
        }
        if !self.proxies.is_empty() {
            if let Some(&sf) = self.proxies.get(&(in_port, l2.vlans[0])) {
                return self.proxy_in(st, pkt, sf, &l2, tr);
            }
        }
        match l2.ethertype {
            EtherType::Nsh => {
                if !pkt.adj(l2.l3_offset) {
                    return Verdict::Drop(DropReason::NshTruncated);
                }
                self.nsh_input(st, pkt, None, tr)
            }
            EtherType::Ipv4 | EtherType::Ipv6 => {
                let to_vtep = if pkt.pkt_len() > pkt.data().len() {
                    self.ip_to_vtep_chained(pkt.data(), l2.l3_offset, pkt.pkt_len(), l2.ethertype)
                } else {
                    self.ip_to_vtep(pkt.data(), l2.l3_offset, l2.ethertype)
                };
                match to_vtep {
                    Ok(Some((gpe_at, sport))) => self.gpe_input(st, pkt, gpe_at, sport, tr),
                    Ok(None) => self.classify(st, pkt, in_port, &l2, tr),
                    Err(r) => Verdict::Drop(r),
                }
            }
            _ => self.classify(st, pkt, in_port, &l2, tr),
        }
    }

    /// ARP for one of our addresses on this port, ICMP to one of our addresses, or TCP to one of
    /// them at a probe's port: for the host stack on the slow path.
    fn for_us(&self, d: &[u8], l2: &L2Info, in_port: usize) -> Option<SlowReason> {
        let l3 = d.get(l2.l3_offset..)?;
        match l2.ethertype {
            EtherType::Arp => {
                let arp = smoltcp::wire::ArpPacket::new_checked(l3).ok()?;
                let tpa = arp.target_protocol_addr();
                self.host4
                    .iter()
                    .any(|(p, a)| *p == in_port && a[..] == *tpa)
                    .then_some(SlowReason::HostArp)
            }
            EtherType::Ipv4 => {
                let h = l3.get(..ipv4::HEADER_LEN)?;
                let ours = || {
                    self.host4
                        .iter()
                        .any(|(_, a)| a[..] == h[ipv4::field::DST_ADDR])
                };
                let proto = h[ipv4::field::PROTOCOL];
                if proto == u8::from(IpProtocol::Icmp) {
                    return ours().then_some(SlowReason::HostIcmp);
                }
                // TCP to a health probe's source port: its answer.
                let ihl = usize::from(h[0] & 0xf) * 4;
                let dport = l3.get(ihl + 2..ihl + 4)?;
                (proto == u8::from(IpProtocol::Tcp)
                    && u16::from_be_bytes([dport[0], dport[1]]) >= crate::slowpath::PROBE_ID_BASE
                    && ours())
                .then_some(SlowReason::HostTcp)
            }
            _ => None,
        }
    }

    /// For IPv4 or IPv6 addressed to one of our VTEPs: the offset of the VXLAN-GPE header and
    /// the outer UDP source port; `None` for traffic not to a VTEP (the classifier's).
    #[inline]
    fn ip_to_vtep(
        &self,
        data: &[u8],
        at: usize,
        ethertype: EtherType,
    ) -> Result<Option<(usize, u16)>, DropReason> {
        if self.vteps.is_empty() {
            return Ok(None);
        }
        let (header_len, payload) = if ethertype == EtherType::Ipv4 {
            let ip =
                ipv4::Packet::new_checked(&data[at..]).map_err(|_| DropReason::Ipv4Malformed)?;
            if !self.is_vtep(ip.dst_addr().0.into()) {
                return Ok(None);
            }
            if !ip.verify_checksum() {
                return Err(DropReason::Ipv4BadChecksum);
            }
            if ip.protocol() != IpProtocol::Udp || ip.is_fragment() {
                return Err(DropReason::NotForUs);
            }
            (ip.header_len(), ip.payload().len())
        } else {
            let ip =
                ipv6::Packet::new_checked(&data[at..]).map_err(|_| DropReason::Ipv6Malformed)?;
            if !self.is_vtep(ip.dst_addr().0.into()) {
                return Ok(None);
            }
            if ip.next_header() != IpProtocol::Udp {
                return Err(DropReason::NotForUs);
            }
            (ip.header_len(), ip.payload().len())
        };
        let payload = &data[at + header_len..at + header_len + payload];
        let u = udp::Packet::new_checked(payload).map_err(|_| DropReason::UdpMalformed)?;
        if u.dst_port() != udp::VXLAN_GPE_PORT {
            return Err(DropReason::NotForUs);
        }
        Ok(Some((at + header_len + udp::HEADER_LEN, u.src_port())))
    }

    /// [`ip_to_vtep`](Self::ip_to_vtep) for a chain of mbufs of `whole` bytes whose first
    /// segment is `data`: the IP and UDP headers must lie in it (else `headers-split`), and
    /// their lengths are checked against the whole packet.
    #[cold]
    fn ip_to_vtep_chained(
        &self,
        data: &[u8],
        at: usize,
        whole: usize,
        ethertype: EtherType,
    ) -> Result<Option<(usize, u16)>, DropReason> {
        if self.vteps.is_empty() {
            return Ok(None);
        }
        let l3 = data.get(at..).ok_or(DropReason::HeadersSplit)?;
        let l3_whole = whole - at;
        let (header_len, payload_len) = if ethertype == EtherType::Ipv4 {
            if l3.len() < ipv4::HEADER_LEN {
                return Err(DropReason::HeadersSplit);
            }
            let ip = ipv4::Packet::new_unchecked(l3);
            let (header_len, total_len) = (ip.header_len(), usize::from(ip.total_len()));
            if ip.version() != 4
                || header_len < ipv4::HEADER_LEN
                || total_len < header_len
                || total_len > l3_whole
            {
                return Err(DropReason::Ipv4Malformed);
            }
            if l3.len() < header_len + udp::HEADER_LEN {
                return Err(DropReason::HeadersSplit);
            }
            if !self.is_vtep(ip.dst_addr().0.into()) {
                return Ok(None);
            }
            if !ip.verify_checksum() {
                return Err(DropReason::Ipv4BadChecksum);
            }
            if ip.protocol() != IpProtocol::Udp || ip.is_fragment() {
                return Err(DropReason::NotForUs);
            }
            (header_len, total_len - header_len)
        } else {
            if l3.len() < ipv6::HEADER_LEN + udp::HEADER_LEN {
                return Err(DropReason::HeadersSplit);
            }
            let ip = ipv6::Packet::new_unchecked(l3);
            let payload_len = usize::from(ip.payload_len());
            if ip.version() != 6 || ipv6::HEADER_LEN + payload_len > l3_whole {
                return Err(DropReason::Ipv6Malformed);
            }
            if !self.is_vtep(ip.dst_addr().0.into()) {
                return Ok(None);
            }
            if ip.next_header() != IpProtocol::Udp {
                return Err(DropReason::NotForUs);
            }
            (ipv6::HEADER_LEN, payload_len)
        };
        let u = udp::Packet::new_unchecked(&l3[header_len..header_len + udp::HEADER_LEN]);
        let udp_len = usize::from(u.len());
        if udp_len < udp::HEADER_LEN || udp_len > payload_len {
            return Err(DropReason::UdpMalformed);
        }
        if u.dst_port() != udp::VXLAN_GPE_PORT {
            return Err(DropReason::NotForUs);
        }
        Ok(Some((at + header_len + udp::HEADER_LEN, u.src_port())))
    }

    /// VXLAN-GPE to one of our VTEPs; `sport` is the outer UDP source port, the flow entropy
    /// the previous hop chose, kept when re-encapsulating.
    #[inline]
    fn gpe_input<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        at: usize,
        sport: u16,
        tr: &mut T,
    ) -> Verdict {
        let gpe = match vxlan_gpe::Packet::new_checked(&pkt.data()[at..]) {
            Ok(g) => g,
            Err(WireError::BadVersion) => return Verdict::Drop(DropReason::GpeBadVersion),
            Err(_) => return Verdict::Drop(DropReason::GpeTruncated),
        };
        if !gpe.p_flag() {
            return Verdict::Drop(DropReason::GpeNoPBit);
        }
        if gpe.next_protocol() != vxlan_gpe::NextProtocol::Nsh {
            return Verdict::Drop(DropReason::GpeNotNsh);
        }
        if !pkt.adj(at + vxlan_gpe::HEADER_LEN) {
            return Verdict::Drop(DropReason::GpeTruncated);
        }
        self.nsh_input(st, pkt, Some(sport), tr)
    }
}
