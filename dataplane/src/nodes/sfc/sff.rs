//! NSH input and the Service Function Forwarder (RFC 8300 §2.2, §2.3, §5).
//!
//! NSH input checks a header that came from the network: O-bit (OAM) packets go to the slow path,
//! never forwarded; TTL is decremented before the lookup and what reaches 0 is dropped; SI 0 is
//! dropped. The SFF then looks the path up once (SPI → its hops) and follows it by SI: to an SF
//! (a group's instance chosen by [`pick_instance`](SfcTables::pick_instance)), a remote SFF, or
//! the end of the chain. Built-in SFs hand the packet back with SI − 1 and the walk goes on in
//! the same path's hops.

use super::SfcState;
use crate::node::Node;
use crate::nodes::trace::Tracer;
use crate::nodes::Verdict;
use crate::packet::PacketBuf;
use crate::slowpath::SlowReason;
use crate::stats::DropReason;
use crate::tables::sfc::{Hop, PathHops, SfImpl, SfcTables};
use crate::wire::{l2_parse, nsh, Error as WireError, EtherType, FlowKey, NshNextProtocol};

impl SfcTables {
    /// NSH arriving from the network (the packet starts at the NSH header); `entropy` is the
    /// outer UDP source port it came with, if any.
    #[inline]
    pub(super) fn nsh_input<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        entropy: Option<u16>,
        tr: &mut T,
    ) -> Verdict {
        let mut h = match nsh::Packet::new_checked(pkt.data_mut()) {
            Ok(h) => h,
            Err(e) => {
                return Verdict::Drop(match e {
                    WireError::BadVersion => DropReason::NshBadVersion,
                    WireError::BadLength => DropReason::NshBadLength,
                    WireError::BadMdType => DropReason::NshBadMdType,
                    WireError::TlvOverrun => DropReason::NshTlvOverrun,
                    _ => DropReason::NshTruncated,
                })
            }
        };
        if !matches!(h.md_type(), nsh::MdType::Md1 | nsh::MdType::Md2) {
            return Verdict::Drop(DropReason::NshBadMdType);
        }
        if h.o_bit() {
            return Verdict::SlowPath(SlowReason::NshOam);
        }
        if T::ON {
            tr.step(
                Node::NshInput,
                format_args!(
                    "SPI {} SI {} TTL {} MD type {:?}, {} from {}",
                    h.spi(),
                    h.si(),
                    h.ttl(),
                    h.md_type(),
                    if entropy.is_some() {
                        "VXLAN-GPE"
                    } else {
                        "Ethernet"
                    },
                    entropy
                        .map(|e| format!("UDP source port {e}"))
                        .unwrap_or_else(|| "the wire".into())
                ),
            );
        }
        if h.ttl() <= 1 {
            return Verdict::Drop(DropReason::NshTtlExpired);
        }
        h.decrement_ttl();
        if h.si() == 0 {
            return Verdict::Drop(DropReason::NshSiZero);
        }
        self.sff_forward(st, pkt, None, entropy, tr)
    }

    /// The inner packet's flow key (the packet starts at a checked NSH header).
    #[inline]
    pub(super) fn inner_flow(data: &[u8], whole: usize) -> Option<FlowKey> {
        let h = nsh::Packet::new_unchecked(data);
        let at = h.header_len();
        let inner = data.get(at..)?;
        let whole = whole.checked_sub(at)?;
        match h.next_protocol() {
            NshNextProtocol::Ethernet => {
                let l2 = l2_parse(inner).ok()?;
                let l3 = &inner[l2.l3_offset..];
                FlowKey::extract_within(l3, whole.checked_sub(l2.l3_offset)?, l2.ethertype).ok()
            }
            NshNextProtocol::Ipv4 => FlowKey::extract_within(inner, whole, EtherType::Ipv4).ok(),
            NshNextProtocol::Ipv6 => FlowKey::extract_within(inner, whole, EtherType::Ipv6).ok(),
            _ => None,
        }
    }

    /// Picks the instance of a group for a flow: the group's Maglev table (over its instances
    /// that are up, by weight) at the flow's symmetric hash, so both directions of a flow reach
    /// the same instance, and an instance going down or coming back moves its own flows and only a
    /// few percent of the others' (Maglev's disruption; a group keeps no connection table).
    #[inline]
    fn pick_instance(&self, sf: usize, flow: Option<&FlowKey>, reverse: bool) -> Option<usize> {
        let SfImpl::Group {
            members,
            maglev,
            fields,
        } = &self.sfs[sf].imp
        else {
            return Some(sf);
        };
        let h = match flow {
            Some(f) if fields.is_empty() => f.symmetric_hash(),
            Some(f) => f.fields_hash(*fields, reverse),
            None => 0,
        };
        maglev.lookup(h).map(|i| members[i])
    }

    /// Forwards a packet that starts at a valid NSH header by its (SPI, SI). `flow` is the inner
    /// packet's flow key when the caller already knows it.
    #[inline]
    pub(super) fn sff_forward<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        mut flow: Option<Option<FlowKey>>,
        entropy: Option<u16>,
        tr: &mut T,
    ) -> Verdict {
        // One hash lookup per packet (SPI → the path's hops); built-in hops keep the SPI and
        // only move SI, so the next lookups index the same table. SI strictly decreases on every
        // built-in hop, so this ends within 255 rounds.
        let mut table: Option<(u32, PathHops)> = None;
        for _ in 0..256 {
            let whole = pkt.pkt_len();
            let data = pkt.data();
            let h = nsh::Packet::new_unchecked(data);
            let (spi, si) = (h.spi(), h.si());
            if si == 0 {
                return Verdict::Drop(DropReason::NshSiZero);
            }
            let hops = match table {
                Some((s, t)) if s == spi => t,
                _ => match self.sff.get(spi) {
                    Some(t) => {
                        table = Some((spi, t));
                        t
                    }
                    None => return Verdict::Drop(DropReason::NshUnknownPath),
                },
            };
            let Some(hop) = self.hop(hops, si) else {
                return Verdict::Drop(DropReason::NshUnknownPath);
            };
            if T::ON {
                tr.step(
                    Node::Sff,
                    format_args!("SPI {spi} SI {si} → {}", self.describe_hop(hop)),
                );
            }
            match hop {
                Hop::End(x) => return self.end_of_chain(pkt, x),
                Hop::Sff(n) => return self.to_neighbor(pkt, n, flow.flatten(), entropy),
                Hop::Sf(sf) | Hop::SfReverse(sf) => {
                    let reverse = matches!(hop, Hop::SfReverse(_));
                    let fk = *flow.get_or_insert_with(|| Self::inner_flow(data, whole));
                    let Some(inst) = self.pick_instance(sf, fk.as_ref(), reverse) else {
                        return Verdict::Drop(DropReason::AllInstancesDown);
                    };
                    st.sf_packets[inst] += 1;
                    if T::ON {
                        tr.step(Node::Sf, format_args!("instance {}", self.sfs[inst].name));
                    }
                    match &self.sfs[inst].imp {
                        SfImpl::Remote(n) => return self.to_neighbor(pkt, *n, fk, entropy),
                        SfImpl::Proxy { .. } => return self.proxy_out(st, pkt, inst, fk),
                        SfImpl::Group { .. } => unreachable!("pick_instance returns a member"),
                        SfImpl::Counter => {}
                        imp @ (SfImpl::Firewall { .. } | SfImpl::Lb(_) | SfImpl::Ids(_)) => {
                            if let Err(r) = self.builtin_sf(st, inst, pkt.data_mut(), fk.as_ref()) {
                                return Verdict::Drop(r);
                            }
                            if let SfImpl::Lb(_) = imp {
                                // It may have rewritten the inner addresses and ports.
                                flow = None;
                            }
                        }
                    }
                    // The built-in SF did its work: SI − 1, back to the SFF.
                    let mut h = nsh::Packet::new_unchecked(pkt.data_mut());
                    h.set_si(si - 1);
                }
            }
        }
        Verdict::Drop(DropReason::NshSiZero)
    }
}
