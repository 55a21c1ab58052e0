//! The built-in `lb` SF: a load balancer on the inner packet.
//!
//! Toward the VIP (its address, protocol and ports): the worker's connection table says which
//! backend the connection went to; a new connection (or one whose backend is gone or down, or a
//! new TCP SYN on a drained backend's entry) gets the backend the Maglev table gives for the
//! flow's hash (of the 5-tuple, or of the client's address alone with `hash = "source"`), and
//! is remembered. The inner frame's destination MAC becomes the backend's, and
//! with NAT the destination address (and port, when the backend has one) becomes the backend's,
//! with the IPv4 and TCP/UDP checksums updated incrementally (RFC 1624). A reply from a backend
//! (its address and port, with NAT) gets the VIP back as its source: stateless, so whichever
//! worker sees the reply translates it. Everything else passes untouched.
//!
//! Weight 0 drains a backend: it is out of the Maglev table, so it gets no new flows, but the
//! connections the table remembers stay on it. A backend that is down (marked, silent to ARP, or
//! failing its probe) is out of the table too, and its remembered connections move to the
//! backend the table now gives. Limits: IPv4 only; non-first fragments are dropped
//! (`lb-fragment`), since their ports are unknown.

use super::sf::{set_inner_dst_mac, InnerIp, TCP_ACK, TCP_SYN};
use super::state::SfConns;
use super::SfcState;
use crate::stats::DropReason;
use crate::tables::lb::Lb;
use crate::tables::sfc::SfcTables;
use crate::wire::{checksum, FlowKey, IpFamily, IpProtocol};

/// What a worker remembers of a connection: its backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LbConn {
    /// The backend's stable id.
    pub id: u64,
    /// Its index in the tables it was last seen in.
    pub hint: u16,
}

impl SfcTables {
    /// Runs `lb` SF `inst` on a packet (it starts at its NSH header) of `flow`.
    #[inline]
    pub(super) fn lb_sf(
        &self,
        st: &mut SfcState,
        inst: usize,
        lb: &Lb,
        data: &mut [u8],
        flow: Option<&FlowKey>,
    ) -> Result<(), DropReason> {
        let Some(f) = flow.filter(|f| f.family == IpFamily::Ipv4) else {
            return Ok(());
        };
        let proto = u8::from(f.protocol);
        let ours = match lb.protocol {
            Some(p) => p == proto,
            None => f.protocol == IpProtocol::Tcp || f.protocol == IpProtocol::Udp,
        };
        if !ours {
            return Ok(());
        }
        let (src, dst) = (addr4(&f.src), addr4(&f.dst));
        if dst == lb.vip {
            let ip = InnerIp::find(data).ok_or(DropReason::LbFragment)?;
            if ip.l4.is_none() {
                // A non-first fragment: its ports (and so its connection) are unknown.
                return Err(DropReason::LbFragment);
            }
            if !(lb.ports.lo <= f.dst_port && f.dst_port <= lb.ports.hi) {
                return Ok(());
            }
            let SfConns::Lb(conns) = &mut st.sf_conns[inst] else {
                return Err(DropReason::LbNoBackend);
            };
            let h = f.hash();
            let pick = if lb.source_hash {
                FlowKey {
                    dst: [0; 16],
                    src_port: 0,
                    dst_port: 0,
                    ..*f
                }
                .hash()
            } else {
                h
            };
            let syn = ip
                .tcp_flags(data)
                .is_some_and(|fl| fl & (TCP_SYN | TCP_ACK) == TCP_SYN);
            let mut chosen = None;
            if let Some(c) = conns.get_mut(h, f) {
                if let Some(b) = lb.backend_by_id(c.id, c.hint) {
                    let be = &lb.backends[b];
                    if be.alive() && !(syn && be.weight == 0) {
                        c.hint = b as u16;
                        chosen = Some(b);
                    }
                }
            }
            let b = match chosen {
                Some(b) => b,
                None => {
                    let b = lb.maglev.lookup(pick).ok_or(DropReason::LbNoBackend)?;
                    let id = lb.backends[b].id;
                    conns.insert(h, *f, LbConn { id, hint: b as u16 });
                    b
                }
            };
            let be = &lb.backends[b];
            let mac = be.mac.ok_or(DropReason::LbNoBackend)?;
            set_inner_dst_mac(data, &ip, mac);
            if lb.nat {
                rewrite(data, &ip, Side::Dst, be.addr, be.port.unwrap_or(f.dst_port));
            }
            Ok(())
        } else if lb.nat {
            let Some(b) = lb.backend_of_reply(src, f.src_port) else {
                return Ok(());
            };
            let ip = InnerIp::find(data).ok_or(DropReason::LbFragment)?;
            if ip.l4.is_none() {
                return Err(DropReason::LbFragment);
            }
            let port = match lb.backends[b].port {
                Some(_) => lb.ports.lo,
                None => f.src_port,
            };
            rewrite(data, &ip, Side::Src, lb.vip, port);
            Ok(())
        } else {
            Ok(())
        }
    }
}

#[inline(always)]
fn addr4(a: &[u8; 16]) -> [u8; 4] {
    [a[0], a[1], a[2], a[3]]
}

/// Which end of the inner packet a rewrite changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Src,
    Dst,
}

/// Sets one end's IPv4 address and TCP/UDP port, updating the IPv4 header checksum and the
/// TCP/UDP checksum (its pseudo-header covers the address) incrementally. A UDP checksum of 0
/// (none) stays 0. Every offset is checked: a short packet is left as it is.
fn rewrite(data: &mut [u8], ip: &InnerIp, side: Side, addr: [u8; 4], port: u16) {
    let Some(l4) = ip.l4 else {
        return;
    };
    let a_at = ip.l3 + if side == Side::Src { 12 } else { 16 };
    let p_at = l4 + if side == Side::Src { 0 } else { 2 };
    let tcp = ip.protocol == u8::from(IpProtocol::Tcp);
    let c_at = l4 + if tcp { 16 } else { 6 };
    if data.len() < (a_at + 4).max(c_at + 2).max(p_at + 2) {
        return;
    }
    let word = |d: &[u8], at: usize| u16::from_be_bytes([d[at], d[at + 1]]);
    let old = [word(data, a_at), word(data, a_at + 2), word(data, p_at)];
    let new = [
        u16::from_be_bytes([addr[0], addr[1]]),
        u16::from_be_bytes([addr[2], addr[3]]),
        port,
    ];
    let mut ip_sum = word(data, ip.l3 + 10);
    for k in 0..2 {
        ip_sum = checksum::update(ip_sum, old[k], new[k]);
    }
    data[ip.l3 + 10..ip.l3 + 12].copy_from_slice(&ip_sum.to_be_bytes());
    let l4_sum = word(data, c_at);
    if tcp || l4_sum != 0 {
        let mut s = l4_sum;
        for k in 0..3 {
            s = checksum::update(s, old[k], new[k]);
        }
        if !tcp && s == 0 {
            s = 0xffff;
        }
        data[c_at..c_at + 2].copy_from_slice(&s.to_be_bytes());
    }
    data[a_at..a_at + 4].copy_from_slice(&addr);
    data[p_at..p_at + 2].copy_from_slice(&port.to_be_bytes());
}
