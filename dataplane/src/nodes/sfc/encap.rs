//! Output of the chain: NSH encapsulation toward a neighbour (RFC 8300 §4: NSH over Ethernet, or
//! VXLAN-GPE over IPv4 or IPv6 from the neighbour's template) and the end of the chain (NSH
//! popped, the inner packet out of an exit with the exit's MACs).
//!
//! Outer lengths count the whole packet, every segment of a chain. Limits: a chain toward a
//! VXLAN-GPE over IPv6 neighbour is dropped (`gpe6-multi-segment`): its UDP checksum would have
//! to cover every segment.

use crate::nodes::Verdict;
use crate::packet::PacketBuf;
use crate::stats::DropReason;
use crate::tables::sfc::{SfcTables, Transport};
use crate::wire::encap::{GPE4_LEN, GPE6_LEN};
use crate::wire::ethernet::{self, field as eth};
use crate::wire::{nsh, udp, EtherType, FlowKey, NshNextProtocol};

impl SfcTables {
    /// Pushes the transport towards a neighbour (the packet starts at NSH). The outer UDP source
    /// port is `entropy` when the packet came with one, else a hash of the inner flow.
    #[inline]
    pub(super) fn to_neighbor<P: PacketBuf>(
        &self,
        pkt: &mut P,
        n: usize,
        flow: Option<FlowKey>,
        entropy: Option<u16>,
    ) -> Verdict {
        let nb = &self.neighbors[n];
        if nb.unresolved {
            return Verdict::Drop(DropReason::ArpUnresolved);
        }
        match &nb.transport {
            Transport::Ethernet(hdr) => {
                if !pkt.prepend(ethernet::HEADER_LEN) {
                    return Verdict::Drop(DropReason::NoHeadroom);
                }
                hdr.write(pkt.data_mut());
            }
            Transport::Gpe4(hdr) => {
                let sport = Self::entropy(pkt.data(), pkt.pkt_len(), flow, entropy);
                if !pkt.prepend(GPE4_LEN) {
                    return Verdict::Drop(DropReason::NoHeadroom);
                }
                let len = pkt.pkt_len();
                hdr.write_len(pkt.data_mut(), len, sport);
            }
            Transport::Gpe6(hdr) => {
                if pkt.pkt_len() != pkt.data().len() {
                    return Verdict::Drop(DropReason::Gpe6MultiSegment);
                }
                let sport = Self::entropy(pkt.data(), pkt.pkt_len(), flow, entropy);
                if !pkt.prepend(GPE6_LEN) {
                    return Verdict::Drop(DropReason::NoHeadroom);
                }
                hdr.write(pkt.data_mut(), sport);
            }
        }
        Verdict::Tx(nb.port)
    }

    /// The outer UDP source port: the entropy the packet came with, else the inner flow's.
    #[inline]
    fn entropy(data: &[u8], whole: usize, flow: Option<FlowKey>, entropy: Option<u16>) -> u16 {
        entropy
            .or_else(|| {
                flow.or_else(|| Self::inner_flow(data, whole))
                    .map(|f| f.entropy_port())
            })
            .unwrap_or(udp::VXLAN_GPE_PORT)
    }

    /// Pops NSH and sends the inner packet out of an exit.
    #[inline]
    pub(super) fn end_of_chain<P: PacketBuf>(&self, pkt: &mut P, x: usize) -> Verdict {
        let exit = &self.exits[x];
        if exit.unresolved {
            return Verdict::Drop(DropReason::ArpUnresolved);
        }
        let h = nsh::Packet::new_unchecked(pkt.data());
        let (len, next) = (h.header_len(), h.next_protocol());
        let ethertype = match next {
            NshNextProtocol::Ethernet => {
                if !pkt.adj(len) || pkt.data().len() < ethernet::HEADER_LEN {
                    return Verdict::Drop(DropReason::EthTruncated);
                }
                let d = pkt.data_mut();
                if let Some(m) = exit.dst_mac {
                    d[eth::DESTINATION].copy_from_slice(&m);
                }
                d[eth::SOURCE].copy_from_slice(&exit.src_mac);
                return Verdict::Tx(exit.port);
            }
            NshNextProtocol::Ipv4 => EtherType::Ipv4,
            NshNextProtocol::Ipv6 => EtherType::Ipv6,
            _ => return Verdict::Drop(DropReason::NshUnknownNextProtocol),
        };
        // An inner IP packet: an Ethernet header in place of NSH.
        let ok = if len >= ethernet::HEADER_LEN {
            pkt.adj(len - ethernet::HEADER_LEN)
        } else {
            pkt.prepend(ethernet::HEADER_LEN - len)
        };
        if !ok {
            return Verdict::Drop(DropReason::NoHeadroom);
        }
        let d = pkt.data_mut();
        d[eth::DESTINATION].copy_from_slice(&exit.dst_mac.unwrap_or([0xff; 6]));
        d[eth::SOURCE].copy_from_slice(&exit.src_mac);
        d[eth::ETHERTYPE].copy_from_slice(&u16::from(ethertype).to_be_bytes());
        Verdict::Tx(exit.port)
    }

    /// Sends a plain (unchained) packet out of an exit, with the exit's MACs.
    #[inline]
    pub(super) fn to_exit<P: PacketBuf>(&self, pkt: &mut P, x: usize) -> Verdict {
        let exit = &self.exits[x];
        if exit.unresolved {
            return Verdict::Drop(DropReason::ArpUnresolved);
        }
        let d = pkt.data_mut();
        if let Some(m) = exit.dst_mac {
            d[eth::DESTINATION].copy_from_slice(&m);
        }
        d[eth::SOURCE].copy_from_slice(&exit.src_mac);
        Verdict::Tx(exit.port)
    }
}
