//! The built-in SFs, run in place by the SFF: `counter` (the SFF counts every SF's packets),
//! `firewall` (allow/deny rules on the inner 5-tuple, first match by priority, with a per-SF
//! flow cache in each worker; stateful, it also tracks connections), `lb` ([`super::lb`]) and
//! `ids` ([`super::ids`]). A packet they keep goes back to the SFF with SI − 1.
//!
//! The stateful firewall: a packet of a connection it let through, in either direction, passes
//! whatever the rules say (the reply of an allowed flow); any other packet is judged by the
//! rules, and one they allow opens a connection (for TCP only a SYN does: a stray segment the
//! rules allow passes without opening one). So with `default = "deny"` and rules for the
//! direction that may open connections, unsolicited inbound traffic is dropped. Connections
//! live in a per-worker [`ConnTable`](crate::tables::conn_table::ConnTable), looked up by the
//! symmetric hash of the 5-tuple, forgotten least recently used first when full.

use super::state::SfConns;
use super::SfcState;
use crate::stats::DropReason;
use crate::tables::classifier::{ClassifierAction, MatchKey};
use crate::tables::sfc::{SfImpl, SfcTables};
use crate::wire::{ethernet, l2_parse, nsh, EtherType, FlowKey, IpProtocol, NshNextProtocol};

/// TCP flags.
pub(super) const TCP_SYN: u8 = 0x02;
pub(super) const TCP_ACK: u8 = 0x10;

/// Where the inner IPv4 packet of a packet that starts at a checked NSH header lies.
#[derive(Debug, Clone, Copy)]
pub(super) struct InnerIp {
    /// Offset of the inner Ethernet header (when NSH carries Ethernet).
    pub eth: Option<usize>,
    /// Offset of the IPv4 header.
    pub l3: usize,
    /// Offset of the TCP/UDP header (`None` for a non-first fragment).
    pub l4: Option<usize>,
    pub protocol: u8,
    /// End of the IP packet within the buffer's first segment.
    pub end: usize,
}

impl InnerIp {
    /// The inner IPv4 packet; `None` when it is not IPv4 or its header does not fit.
    #[inline]
    pub(super) fn find(data: &[u8]) -> Option<InnerIp> {
        let h = nsh::Packet::new_unchecked(data);
        let at = h.header_len();
        let inner = data.get(at..)?;
        let (eth, l3) = match h.next_protocol() {
            NshNextProtocol::Ethernet => {
                let l2 = l2_parse(inner).ok()?;
                if l2.ethertype != EtherType::Ipv4 {
                    return None;
                }
                (Some(at), at + l2.l3_offset)
            }
            NshNextProtocol::Ipv4 => (None, at),
            _ => return None,
        };
        let ip = data.get(l3..l3 + 20)?;
        if ip[0] >> 4 != 4 {
            return None;
        }
        let ihl = usize::from(ip[0] & 0xf) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if ihl < 20 || total < ihl {
            return None;
        }
        let frag_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
        Some(InnerIp {
            eth,
            l3,
            l4: (frag_offset == 0).then_some(l3 + ihl),
            protocol: ip[9],
            end: (l3 + total).min(data.len()),
        })
    }

    /// The TCP flags, when it is a first (or only) fragment of TCP with its flags at hand.
    #[inline]
    pub(super) fn tcp_flags(&self, data: &[u8]) -> Option<u8> {
        if self.protocol != u8::from(IpProtocol::Tcp) {
            return None;
        }
        data.get(self.l4? + 13).copied()
    }
}

/// The inner Ethernet header's destination MAC, rewritten.
#[inline]
pub(super) fn set_inner_dst_mac(data: &mut [u8], ip: &InnerIp, mac: [u8; 6]) {
    if let Some(e) = ip.eth {
        if let Some(d) = data.get_mut(e..e + ethernet::field::DESTINATION.end) {
            d.copy_from_slice(&mac);
        }
    }
}

impl SfcTables {
    /// Runs built-in SF `inst` on a packet (it starts at its NSH header) of `flow` (its inner
    /// 5-tuple; `None` when it is not IP): `Err` with the reason when the SF drops it.
    #[inline]
    pub(super) fn builtin_sf(
        &self,
        st: &mut SfcState,
        inst: usize,
        data: &mut [u8],
        flow: Option<&FlowKey>,
    ) -> Result<(), DropReason> {
        match &self.sfs[inst].imp {
            SfImpl::Firewall {
                rules,
                default_allow,
                stateful,
            } => {
                let Some(f) = flow else {
                    return allow_or_deny(*default_allow);
                };
                // One hash for both lookups: the connection's set, either direction.
                let h = stateful.map(|_| f.symmetric_hash()).unwrap_or(0);
                if stateful.is_some() {
                    if let SfConns::Firewall(conns) = &mut st.sf_conns[inst] {
                        let rev = f.reversed();
                        if conns.find_mut(h, |k| k == f || *k == rev).is_some() {
                            return Ok(());
                        }
                    }
                }
                let key = MatchKey {
                    in_port: u16::MAX,
                    vlan: None,
                    flow: *f,
                };
                let allow = match rules.lookup_cached(&mut st.sf_caches[inst], &key) {
                    Some((_, ClassifierAction::Drop)) => false,
                    Some(_) => true,
                    None => *default_allow,
                };
                if allow && stateful.is_some() {
                    let opens = match InnerIp::find(data).and_then(|ip| ip.tcp_flags(data)) {
                        Some(flags) => flags & (TCP_SYN | TCP_ACK) == TCP_SYN,
                        None => f.protocol != IpProtocol::Tcp,
                    };
                    if let (true, SfConns::Firewall(conns)) = (opens, &mut st.sf_conns[inst]) {
                        conns.insert(h, *f, ());
                    }
                }
                allow_or_deny(allow)
            }
            SfImpl::Lb(lb) => self.lb_sf(st, inst, lb, data, flow),
            SfImpl::Ids(ids) => self.ids_sf(st, inst, ids, data, flow),
            _ => Ok(()),
        }
    }
}

#[inline]
fn allow_or_deny(allow: bool) -> Result<(), DropReason> {
    if allow {
        Ok(())
    } else {
        Err(DropReason::FirewallDeny)
    }
}
