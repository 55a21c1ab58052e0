//! The SFC proxy (RFC 7665 §4.6) for NSH-unaware SFs: toward the SF, the packet's NSH header is
//! kept per flow and stripped, and the inner frame goes out of the SF's port (tagged with its
//! VLAN); a frame coming back from the SF (on that port and VLAN) gets its flow's header back
//! with SI − 1 and returns to the SFF.
//!
//! The per-flow headers live in [`ProxyFlows`](super::ProxyFlows): each worker writes its own
//! shard and reads every worker's, so a frame back from the SF finds its flow's header whichever
//! worker receives it (see [`proxy_table`](super::proxy_table) for how, and what it costs).
//! The flow is the inner 5-tuple: the SF must send the frame back with the addresses, protocol
//! and ports it received (a router or a filter does; a NAT does not).
//!
//! Limits: headers of at most [`PROXY_HEADER_MAX`] bytes (`proxy-metadata-too-large`); an inner
//! packet that is not IP over Ethernet is refused (`proxy-unsupported`); a frame back from the SF
//! whose flow no worker remembers (a table too small for the flows in flight, an SF that changed
//! the 5-tuple or sent a frame of its own) is dropped as `proxy-no-state`.

use super::SfcState;
use crate::node::Node;
use crate::nodes::trace::Tracer;
use crate::nodes::Verdict;
use crate::packet::PacketBuf;
use crate::stats::DropReason;
use crate::tables::sfc::{SfImpl, SfcTables};
use crate::wire::ethernet::{self, field as eth};
use crate::wire::{nsh, vlan, EtherType, FlowKey, L2Info, NshNextProtocol};

use super::PROXY_HEADER_MAX;

impl SfcTables {
    /// Sends a packet to an NSH-unaware SF: NSH is kept per flow, stripped, and the inner frame
    /// goes out of the SF's port (tagged with its VLAN).
    #[inline]
    pub(super) fn proxy_out<P: PacketBuf>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        sf: usize,
        flow: Option<FlowKey>,
    ) -> Verdict {
        let SfImpl::Proxy {
            port,
            vlan,
            mac,
            unresolved,
        } = self.sfs[sf].imp
        else {
            unreachable!("proxy_out on a proxy SF");
        };
        if unresolved {
            return Verdict::Drop(DropReason::ArpUnresolved);
        }
        let h = nsh::Packet::new_unchecked(pkt.data());
        let len = h.header_len();
        if h.next_protocol() != NshNextProtocol::Ethernet {
            return Verdict::Drop(DropReason::ProxyUnsupported);
        }
        let Some(flow) = flow else {
            return Verdict::Drop(DropReason::ProxyUnsupported);
        };
        if len > PROXY_HEADER_MAX {
            return Verdict::Drop(DropReason::ProxyMetadataTooLarge);
        }
        st.proxy.insert(&flow, &pkt.data()[..len]);
        if !pkt.adj(len) || pkt.data().len() < ethernet::HEADER_LEN {
            return Verdict::Drop(DropReason::EthTruncated);
        }
        if let Some(v) = vlan {
            if !pkt.prepend(vlan::HEADER_LEN) {
                return Verdict::Drop(DropReason::NoHeadroom);
            }
            // The MACs move to the front; the tag goes between them and the EtherType.
            let d = pkt.data_mut();
            d.copy_within(vlan::HEADER_LEN..vlan::HEADER_LEN + eth::ETHERTYPE.start, 0);
            d[eth::ETHERTYPE].copy_from_slice(&u16::from(EtherType::Vlan).to_be_bytes());
            let tci = eth::ETHERTYPE.end..eth::ETHERTYPE.end + 2;
            d[tci].copy_from_slice(&v.to_be_bytes());
        }
        if let Some(m) = mac {
            pkt.data_mut()[eth::DESTINATION].copy_from_slice(&m);
        }
        Verdict::Tx(port)
    }

    /// A frame back from a proxied SF: the flow's NSH header is restored with SI − 1.
    #[inline]
    pub(super) fn proxy_in<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        sf: usize,
        l2: &L2Info,
        tr: &mut T,
    ) -> Verdict {
        if T::ON {
            tr.step(
                Node::SfcProxy,
                format_args!("back from SF {}", self.sfs[sf].name),
            );
        }
        let tagged = l2.vlans[0].is_some();
        if tagged {
            // Remove the outer tag: move the MACs over it.
            let d = pkt.data_mut();
            d.copy_within(0..eth::ETHERTYPE.start, vlan::HEADER_LEN);
            pkt.adj(vlan::HEADER_LEN);
        }
        let at = l2.l3_offset - if tagged { vlan::HEADER_LEN } else { 0 };
        let whole = pkt.pkt_len() - at;
        let Ok(flow) = FlowKey::extract_within(&pkt.data()[at..], whole, l2.ethertype) else {
            return Verdict::Drop(DropReason::ProxyUnsupported);
        };
        let Some((hdr, len)) = st.proxy.get(&flow) else {
            return Verdict::Drop(DropReason::ProxyNoState);
        };
        if !pkt.prepend(len) {
            return Verdict::Drop(DropReason::NoHeadroom);
        }
        let d = pkt.data_mut();
        d[..len].copy_from_slice(&hdr[..len]);
        let mut h = nsh::Packet::new_unchecked(d);
        let si = h.si();
        if si <= 1 {
            return Verdict::Drop(DropReason::NshSiZero);
        }
        h.set_si(si - 1);
        self.sff_forward(st, pkt, Some(Some(flow)), None, tr)
    }
}
