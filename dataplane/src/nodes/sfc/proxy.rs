//! The SFC proxy (RFC 7665 §4.6) for NSH-unaware SFs: toward the SF, the packet's NSH header is
//! kept per flow and stripped, and the inner frame goes out of the SF's port (tagged with its
//! VLAN); a frame coming back from the SF (on that port and VLAN) gets its flow's header back
//! with SI − 1 and returns to the SFF.
//!
//! The per-flow headers live in each worker's [`ProxyTable`]: fixed capacity, no allocation after
//! construction, the oldest of a probe window overwritten when full. Limits: headers of at most
//! [`PROXY_HEADER_MAX`] bytes; an inner packet that is not IP over Ethernet is refused
//! (`proxy-unsupported`); a reply that reaches another worker than its request finds no state.

use super::SfcState;
use crate::node::Node;
use crate::nodes::trace::Tracer;
use crate::nodes::Verdict;
use crate::packet::PacketBuf;
use crate::stats::DropReason;
use crate::tables::sfc::{SfImpl, SfcTables};
use crate::wire::ethernet::{self, field as eth};
use crate::wire::{nsh, vlan, EtherType, FlowKey, L2Info, NshNextProtocol};

/// Largest NSH header the proxy keeps per flow.
pub const PROXY_HEADER_MAX: usize = 64;

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
        let Ok(flow) = FlowKey::extract(&pkt.data()[at..], l2.ethertype) else {
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

/// The proxy's per-flow memory of NSH headers: fixed capacity, open addressing over 8 slots,
/// the oldest of those overwritten when all are taken. No allocation after construction.
#[derive(Debug)]
pub(super) struct ProxyTable {
    slots: Vec<ProxySlot>,
    mask: usize,
    clock: u64,
}

#[derive(Debug, Clone, Copy)]
struct ProxySlot {
    key: Option<FlowKey>,
    stamp: u64,
    len: u8,
    hdr: [u8; PROXY_HEADER_MAX],
}

impl ProxyTable {
    const PROBE: usize = 8;

    pub(super) fn new(capacity: usize) -> Self {
        let cap = capacity.max(Self::PROBE).next_power_of_two();
        ProxyTable {
            slots: vec![
                ProxySlot {
                    key: None,
                    stamp: 0,
                    len: 0,
                    hdr: [0; PROXY_HEADER_MAX],
                };
                cap
            ],
            mask: cap - 1,
            clock: 0,
        }
    }

    fn insert(&mut self, key: &FlowKey, hdr: &[u8]) {
        self.clock += 1;
        let base = key.hash() as usize;
        let mut victim = base & self.mask;
        for i in 0..Self::PROBE {
            let s = (base + i) & self.mask;
            match &self.slots[s].key {
                Some(k) if k == key => {
                    victim = s;
                    break;
                }
                None => {
                    victim = s;
                    break;
                }
                Some(_) if self.slots[s].stamp < self.slots[victim].stamp => victim = s,
                Some(_) => {}
            }
        }
        let slot = &mut self.slots[victim];
        slot.key = Some(*key);
        slot.stamp = self.clock;
        slot.len = hdr.len() as u8;
        slot.hdr[..hdr.len()].copy_from_slice(hdr);
    }

    fn get(&self, key: &FlowKey) -> Option<([u8; PROXY_HEADER_MAX], usize)> {
        let base = key.hash() as usize;
        for i in 0..Self::PROBE {
            let s = &self.slots[(base + i) & self.mask];
            match &s.key {
                Some(k) if k == key => return Some((s.hdr, s.len as usize)),
                None => return None,
                Some(_) => {}
            }
        }
        None
    }
}
