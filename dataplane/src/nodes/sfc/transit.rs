//! The SFF transit fast path: an untagged IPv4 (no options) VXLAN-GPE + NSH packet to one of our
//! VTEPs whose next hop is a remote SFF or SF reached over VXLAN-GPE/IPv4 is forwarded by
//! rewriting its outer headers in place (no pop and push). One whose (SPI, SI) ends the chain
//! out of a resolved exit, carrying an Ethernet frame, has its outer headers and NSH popped and
//! the exit's MACs written; one whose next hop is a proxied SF has its outer headers popped and
//! goes through the proxy as the general path sends it there
//! ([`transit_packet`](SfcTables::transit_packet)).
//!
//! Each worker keeps a [`TransitMemo`]: the last (SPI, SI) decision, its output port and outer
//! header template, and the *signature* of the packet that made it (the header bits every check
//! compares with a constant, the VTEP, the SPI and the SI). A packet with an equal signature needs
//! only its lengths, its IPv4 header checksum and its NSH TTL checked. One whose signature differs
//! only in the SPI and SI (traffic over many paths) needs those three checks, SI > 0 and the
//! lookup of its (SPI, SI); anything else goes to the cold
//! [`transit_miss`](SfcTables::transit_miss), which makes every check. What the general path
//! would drop, count or hand to the slow path is never taken here; a differential test holds the
//! two paths equal byte for byte.

use super::SfcState;
use crate::nodes::Verdict;
use crate::packet::PacketBuf;
use crate::tables::sfc::{Hop, SfImpl, SfcTables, Transport};
use crate::wire::encap::{gpe4, Gpe4Template, GPE4_LEN};
use crate::wire::ethernet::{self, field as eth};
use crate::wire::NshNextProtocol;
use crate::wire::{checksum, ipv4, nsh, udp, vxlan_gpe, EtherType};

/// The outcome of the last transit fast-path lookup: `(SPI, SI)` → output port and outer headers,
/// and the signature of the packet that made it.
#[derive(Debug, Clone, Copy)]
pub(super) struct TransitMemo {
    /// SPI and SI as they sit in the NSH service path header (`u64::MAX`: none).
    key: u64,
    port: usize,
    hdr: Gpe4Template,
    /// The end of the chain or a proxied SF: the outer headers are popped instead of rewritten
    /// ([`SfcTables::transit_packet`] only).
    end: Option<Pop>,
    /// [`SIG_MASK`] applied to the words of the packet that passed every check and set this
    /// memo; [`NO_SIG`] when it was an MD type 2 packet too short for one or with more than
    /// [`MAX_TLVS`] TLVs.
    sig: [u64; SIG_WORDS],
    /// For MD type 2, the TLV layout of that packet: where each TLV's length byte sits (from the
    /// NSH header's start) and its value. A packet with the same signature (so the same header
    /// length) and these bytes has TLVs that walk the same way, so they are well-formed too.
    tlvs: [(u8, u8); MAX_TLVS],
    n_tlvs: u8,
}

/// Where a packet whose outer headers the transit path pops goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pop {
    /// The end of the chain out of this exit (index).
    Exit(usize),
    /// Through the proxy to this SF (index), not a group.
    Proxy(usize),
}

/// The most TLVs an MD type 2 packet may have for the transit memo to stand for its checks.
const MAX_TLVS: usize = 4;

/// The TLV layout of a checked MD type 2 NSH header ([`TransitMemo::tlvs`]), `None` with more
/// than [`MAX_TLVS`] TLVs.
fn tlv_layout(h: &[u8]) -> Option<([(u8, u8); MAX_TLVS], u8)> {
    let end = usize::from(h[1] & nsh::LEN_MASK_BYTE) * 4;
    let mut at = nsh::field::CONTEXT;
    let (mut tlvs, mut n) = ([(0u8, 0u8); MAX_TLVS], 0);
    while at < end {
        let len_at = at + nsh::field::TLV_LEN;
        let len = h[len_at] & nsh::TLV_LEN_MASK;
        *tlvs.get_mut(n)? = (len_at as u8, len);
        n += 1;
        at += nsh::TLV_HEADER_LEN + usize::from(len).div_ceil(4) * 4;
    }
    Some((tlvs, n as u8))
}

/// Whether the packet `d` is like the one that set `m`: the same signature, its NSH header
/// within the frame, the same TLV layout. Then it passes every check but the lengths, the IPv4
/// header checksum and the NSH TTL.
#[inline(always)]
fn memo_matches(m: &TransitMemo, d: &[u8]) -> bool {
    same_signature(d, &m.sig) && memo_matches_layout(m, d)
}

/// Whether the packet `d`, whose signature is the memo's but for the SPI and SI, has its NSH
/// header within the frame and the memo's TLV layout.
#[inline(always)]
fn memo_matches_layout(m: &TransitMemo, d: &[u8]) -> bool {
    let Some(rest) = d.get(GPE4_LEN..) else {
        return false;
    };
    let hlen = usize::from(rest[1] & nsh::LEN_MASK_BYTE) * 4;
    rest.len() >= hlen
        && m.tlvs[..usize::from(m.n_tlvs)].iter().all(|&(at, len)| {
            rest.get(usize::from(at))
                .is_some_and(|b| b & nsh::TLV_LEN_MASK == len)
        })
}

impl TransitMemo {
    /// No decision remembered.
    pub(super) const NONE: TransitMemo = TransitMemo {
        key: u64::MAX,
        port: 0,
        hdr: Gpe4Template::EMPTY,
        end: None,
        sig: NO_SIG,
        tlvs: [(0, 0); MAX_TLVS],
        n_tlvs: 0,
    };
}

/// Where the signature words start: the EtherType.
const SIG_AT: usize = gpe4::ETHERTYPE.start;
/// Where the bits it covers end: after the NSH SI.
const SIG_END: usize = gpe4::NSH + nsh::field::SI + 1;
const SIG_WORDS: usize = (SIG_END - SIG_AT).div_ceil(8);

/// The bits of bytes `SIG_AT..` (as little-endian words) that the transit checks compare with
/// constants, the destination address (one of our VTEPs) and the SPI and SI. A packet that has
/// them all equal to those of a packet that passed every check passes those checks too; only the
/// lengths, the IPv4 header checksum and the NSH TTL are left to check per packet.
const SIG_MASK: [u64; SIG_WORDS] = sig_mask();

const fn sig_mask() -> [u64; SIG_WORDS] {
    let spi = nsh::field::SPI;
    // (first byte, end, mask of each byte)
    let fields: [(usize, usize, u8); 13] = [
        (gpe4::ETHERTYPE.start, gpe4::ETHERTYPE.end, 0xff),
        (gpe4::IP_VER_IHL, gpe4::IP_VER_IHL + 1, 0xff),
        // The MF bit and the fragment offset.
        (gpe4::IP_FLG_OFF.start, gpe4::IP_FLG_OFF.start + 1, 0x3f),
        (gpe4::IP_FLG_OFF.start + 1, gpe4::IP_FLG_OFF.end, 0xff),
        (gpe4::IP_PROTOCOL, gpe4::IP_PROTOCOL + 1, 0xff),
        (gpe4::IP_DST.start, gpe4::IP_DST.end, 0xff),
        (gpe4::UDP_DST_PORT.start, gpe4::UDP_DST_PORT.end, 0xff),
        (
            gpe4::GPE_FLAGS,
            gpe4::GPE_FLAGS + 1,
            vxlan_gpe::VERSION_MASK | vxlan_gpe::FLAG_P,
        ),
        (gpe4::GPE_NEXT_PROTOCOL, gpe4::GPE_NEXT_PROTOCOL + 1, 0xff),
        (gpe4::NSH, gpe4::NSH + 1, nsh::VERSION_O_MASK),
        (gpe4::NSH + 1, gpe4::NSH + 2, nsh::LEN_MASK_BYTE),
        (
            gpe4::NSH + nsh::field::MD_TYPE,
            gpe4::NSH + nsh::field::MD_TYPE + 1,
            nsh::MD_TYPE_MASK,
        ),
        (gpe4::NSH + spi.start, gpe4::NSH + nsh::field::SI + 1, 0xff),
    ];
    let mut bytes = [0u8; 8 * SIG_WORDS];
    let mut f = 0;
    while f < fields.len() {
        let (mut i, end, m) = fields[f];
        while i < end {
            bytes[i - SIG_AT] = m;
            i += 1;
        }
        f += 1;
    }
    let mut words = [0u64; SIG_WORDS];
    let mut w = 0;
    while w < SIG_WORDS {
        let mut k = 0;
        while k < 8 {
            words[w] |= (bytes[8 * w + k] as u64) << (8 * k);
            k += 1;
        }
        w += 1;
    }
    words
}

/// The bits of [`SIG_MASK`] that hold the SPI and SI: a packet whose signature differs from a
/// checked packet's only there passes the same checks but SI > 0, on another path.
const KEY_MASK: [u64; SIG_WORDS] = key_mask();

const fn key_mask() -> [u64; SIG_WORDS] {
    let mut words = [0u64; SIG_WORDS];
    let mut i = gpe4::NSH + nsh::field::SPI.start;
    while i <= gpe4::NSH + nsh::field::SI {
        let at = i - SIG_AT;
        words[at / 8] |= 0xff << (8 * (at % 8));
        i += 1;
    }
    words
}

/// A signature no packet has (it has bits outside the mask).
const NO_SIG: [u64; SIG_WORDS] = [u64::MAX; SIG_WORDS];

/// The signature words of `d`.
#[inline(always)]
fn signature(d: &[u8]) -> Option<[u64; SIG_WORDS]> {
    let w = d.get(SIG_AT..SIG_AT + 8 * SIG_WORDS)?;
    let mut sig = [0u64; SIG_WORDS];
    for (k, s) in sig.iter_mut().enumerate() {
        let b = &w[8 * k..8 * k + 8];
        *s = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) & SIG_MASK[k];
    }
    Some(sig)
}

/// Whether `d`'s signature is `sig` (one pass, no early exit).
#[inline(always)]
fn same_signature(d: &[u8], sig: &[u64; SIG_WORDS]) -> bool {
    signature(d).is_some_and(|s| s.iter().zip(sig).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0)
}

#[inline(always)]
fn be16(outer: &[u8; GPE4_LEN], at: usize) -> u16 {
    u16::from_be_bytes([outer[at], outer[at + 1]])
}

/// IPv4 and UDP header bytes.
const IP_UDP_LEN: usize = gpe4::GPE - gpe4::IP;

/// What the transit fast path found for a packet that passed its checks.
#[derive(Debug, Clone, Copy)]
enum Transit {
    /// Forwarded toward the next hop: ready to leave on this port.
    Tx(usize),
    /// The end of the chain or a proxied SF: untouched, for
    /// [`transit_packet`](SfcTables::transit_packet) to pop.
    End(Pop),
}

impl SfcTables {
    /// The transit fast path. It checks what the general path checks and writes the same bytes;
    /// anything else (or anything the general path would drop, count or hand to the slow path)
    /// returns `None` with the packet untouched. `Some(port)`: the packet is ready to leave on
    /// that port.
    #[inline(always)]
    pub fn transit(&self, st: &mut SfcState, d: &mut [u8], in_port: usize) -> Option<usize> {
        match self.transit_decide(st, d, in_port)? {
            Transit::Tx(port) => Some(port),
            Transit::End(_) => None,
        }
    }

    /// [`transit`](Self::transit), telling the end of a chain apart.
    #[inline(always)]
    fn transit_decide(&self, st: &mut SfcState, d: &mut [u8], in_port: usize) -> Option<Transit> {
        if self.fast_ports & 1u64.checked_shl(in_port as u32)? == 0 {
            return None;
        }
        // The common case: a packet like the one before, on the same path. Its signature stands
        // for every check but three.
        if !memo_matches(&st.transit, d) {
            return self.transit_miss(st, d);
        }
        let (outer, rest) = d.split_first_chunk::<GPE4_LEN>()?;
        if !transit_lengths_ok(outer, GPE4_LEN + rest.len())
            || !checksum::ipv4_header_ok(&outer[gpe4::IP..gpe4::UDP])
            || nsh::ttl_of(rest) <= 1
        {
            return None;
        }
        Some(match st.transit.end {
            Some(x) => Transit::End(x),
            None => Transit::Tx(transit_forward(&st.transit.hdr, st.transit.port, d)),
        })
    }

    /// [`transit`](Self::transit) for a whole packet, which also ends chains: a packet whose
    /// (SPI, SI) is the end of the chain out of a resolved exit, carrying an Ethernet frame, has
    /// its outer headers and NSH popped and the exit's MACs written, as the general path's end of
    /// chain does. `None`, the packet untouched, for the general path.
    #[inline]
    pub(super) fn transit_packet<P: PacketBuf>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        in_port: usize,
    ) -> Option<Verdict> {
        if pkt.pkt_len() != pkt.data().len() {
            return None;
        }
        let x = match self.transit_decide(st, pkt.data_mut(), in_port)? {
            Transit::Tx(port) => return Some(Verdict::Tx(port)),
            Transit::End(Pop::Exit(x)) => x,
            Transit::End(Pop::Proxy(sf)) => {
                // What the general path does before the proxy: outer headers popped, NSH TTL
                // decremented (it was above 1), the SF's packet counted, the inner flow read.
                if !pkt.adj(GPE4_LEN) {
                    return None;
                }
                nsh::decrement_ttl_in_place(pkt.data_mut());
                let flow = Self::inner_flow(pkt.data(), pkt.pkt_len());
                st.sf_packets[sf] += 1;
                return Some(self.proxy_out(st, pkt, sf, flow));
            }
        };
        // It passed every check and ends its chain here; what it carries must be an Ethernet
        // frame.
        let rest = pkt.data().get(GPE4_LEN..)?;
        let nsh_len = usize::from(rest[1] & nsh::LEN_MASK_BYTE) * 4;
        if rest[nsh::field::NEXT_PROTOCOL] != u8::from(NshNextProtocol::Ethernet)
            || rest.len() < nsh_len + ethernet::HEADER_LEN
        {
            return None;
        }
        let exit = &self.exits[x];
        if !pkt.adj(GPE4_LEN + nsh_len) {
            return None;
        }
        let d = pkt.data_mut();
        if let Some(m) = exit.dst_mac {
            d[eth::DESTINATION].copy_from_slice(&m);
        }
        d[eth::SOURCE].copy_from_slice(&exit.src_mac);
        Some(Verdict::Tx(exit.port))
    }

    /// [`transit`](Self::transit) for a packet unlike the one before: every check, and the
    /// lookup when its (SPI, SI) is not the memo's. Cold and out of line, so that the common case
    /// keeps its registers.
    #[cold]
    #[inline(never)]
    fn transit_miss(&self, st: &mut SfcState, d: &mut [u8]) -> Option<Transit> {
        if let Some(out) = self.transit_other_path(st, d) {
            return out;
        }
        self.transit_checked(st, d)
    }

    /// A packet like the memo's but for its SPI and SI: its signature stands for every check but
    /// the lengths, the IPv4 header checksum, the NSH TTL and SI > 0, and its (SPI, SI) is looked
    /// up. `None` when it is not such a packet (for [`transit_checked`](Self::transit_checked));
    /// `Some` of what [`transit`](Self::transit) returns when it is.
    #[inline(always)]
    fn transit_other_path(&self, st: &mut SfcState, d: &mut [u8]) -> Option<Option<Transit>> {
        let sig = signature(d)?;
        let m = &st.transit;
        let other = sig
            .iter()
            .zip(&m.sig)
            .zip(&KEY_MASK)
            .fold(0, |acc, ((a, b), k)| acc | ((a ^ b) & !k));
        if other != 0 || !memo_matches_layout(m, d) {
            return None;
        }
        let (outer, rest) = d.split_first_chunk::<GPE4_LEN>()?;
        let h = rest.first_chunk::<{ nsh::HEADER_LEN }>()?;
        let si = h[nsh::field::SI];
        if si == 0
            || !transit_lengths_ok(outer, GPE4_LEN + rest.len())
            || !checksum::ipv4_header_ok(&outer[gpe4::IP..gpe4::UDP])
            || nsh::ttl_of(rest) <= 1
        {
            return None;
        }
        let spi = nsh::field::SPI.start;
        let [s0, s1, s2] = [h[spi], h[spi + 1], h[spi + 2]];
        let Some((port, hdr, end)) = self.transit_lookup(u32::from_be_bytes([0, s0, s1, s2]), si)
        else {
            return Some(None);
        };
        let m = &mut st.transit;
        m.key = u64::from(u32::from_ne_bytes([s0, s1, s2, si]));
        m.port = port;
        m.hdr = *hdr;
        m.end = end;
        m.sig = sig;
        Some(Some(match end {
            Some(x) => Transit::End(x),
            None => Transit::Tx(transit_forward(hdr, port, d)),
        }))
    }

    /// [`transit_miss`](Self::transit_miss) for a packet that is not like the memo's: every
    /// check, and the lookup when its (SPI, SI) is not the memo's.
    #[inline(always)]
    fn transit_checked(&self, st: &mut SfcState, d: &mut [u8]) -> Option<Transit> {
        let len = d.len();
        let (outer, rest) = d.split_first_chunk::<GPE4_LEN>()?;
        // Ethernet, IPv4 without options, UDP, not a fragment, to one of our VTEPs.
        let flg_off = be16(outer, gpe4::IP_FLG_OFF.start);
        if outer[gpe4::ETHERTYPE] != u16::from(EtherType::Ipv4).to_be_bytes()
            || outer[gpe4::IP_VER_IHL] != 0x40 | (ipv4::HEADER_LEN / 4) as u8
            || flg_off & (ipv4::FLAG_MF | ipv4::FRAG_OFFSET_MASK) != 0
            || outer[gpe4::IP_PROTOCOL] != u8::from(ipv4::IpProtocol::Udp)
        {
            return None;
        }
        let dst = &outer[gpe4::IP_DST];
        let dst = u32::from_ne_bytes([dst[0], dst[1], dst[2], dst[3]]);
        if !self.vtep4.contains(&dst)
            || !transit_lengths_ok(outer, len)
            || be16(outer, gpe4::UDP_DST_PORT.start) != udp::VXLAN_GPE_PORT
            || !checksum::ipv4_header_ok(&outer[gpe4::IP..gpe4::UDP])
        {
            return None;
        }
        // VXLAN-GPE version 0, P bit, next protocol NSH.
        if outer[gpe4::GPE_FLAGS] & (vxlan_gpe::VERSION_MASK | vxlan_gpe::FLAG_P)
            != vxlan_gpe::FLAG_P
            || outer[gpe4::GPE_NEXT_PROTOCOL] != u8::from(vxlan_gpe::NextProtocol::Nsh)
        {
            return None;
        }
        // NSH version 0, no O bit, TTL > 1, SI > 0; MD type 1 with its fixed length, or MD type 2
        // with well-formed TLVs.
        let h = rest.first_chunk::<{ nsh::HEADER_LEN }>()?;
        let si = h[nsh::field::SI];
        let [b0, b1] = [
            h[nsh::field::VER_TTL_LEN.start],
            h[nsh::field::VER_TTL_LEN.start + 1],
        ];
        if b0 & nsh::VERSION_O_MASK != 0 || nsh::ttl_of(rest) <= 1 || si == 0 {
            return None;
        }
        let (sig, (tlvs, n_tlvs)) = match h[nsh::field::MD_TYPE] & nsh::MD_TYPE_MASK {
            1 if b1 & nsh::LEN_MASK_BYTE == nsh::MD1_LEN_WORDS
                && rest.len() >= nsh::MD1_HEADER_LEN =>
            {
                (signature(d)?, ([(0, 0); MAX_TLVS], 0))
            }
            2 if nsh::Packet::new_checked(rest).is_ok() => match (signature(d), tlv_layout(rest)) {
                (Some(sig), Some(layout)) => (sig, layout),
                _ => (NO_SIG, ([(0, 0); MAX_TLVS], 0)),
            },
            _ => return None,
        };
        // SPI and SI as they stand in the packet.
        let spi = nsh::field::SPI.start;
        let [s0, s1, s2] = [h[spi], h[spi + 1], h[spi + 2]];
        let key = u64::from(u32::from_ne_bytes([s0, s1, s2, si]));
        if st.transit.key != key {
            // Field by field: each copy small enough to stay inline (no call to `memcpy` on
            // every packet when the paths alternate).
            let (port, hdr, end) = self.transit_lookup(u32::from_be_bytes([0, s0, s1, s2]), si)?;
            let m = &mut st.transit;
            m.key = key;
            m.port = port;
            m.hdr = *hdr;
            m.end = end;
        }
        st.transit.sig = sig;
        st.transit.tlvs = tlvs;
        st.transit.n_tlvs = n_tlvs;
        Some(match st.transit.end {
            Some(x) => Transit::End(x),
            None => Transit::Tx(transit_forward(&st.transit.hdr, st.transit.port, d)),
        })
    }

    /// The transit fast path's lookup of an (SPI, SI) its memo does not hold: a next hop that is
    /// a remote SFF or SF over VXLAN-GPE/IPv4 (its port and headers), the end of the chain out
    /// of a resolved exit or a proxied SF (where the headers are popped), or `None` for the
    /// general path.
    #[inline(always)]
    fn transit_lookup(&self, spi: u32, si: u8) -> Option<(usize, &Gpe4Template, Option<Pop>)> {
        let path = self.sff.get(spi)?;
        let n = match self.hop(path, si)? {
            Hop::Sff(n) => n,
            Hop::End(x) if !self.exits[x].unresolved => {
                return Some((self.exits[x].port, &Gpe4Template::EMPTY, Some(Pop::Exit(x))));
            }
            Hop::Sf(sf) | Hop::SfReverse(sf) => {
                let SfImpl::Proxy { port, .. } = self.sfs[sf].imp else {
                    return None;
                };
                return Some((port, &Gpe4Template::EMPTY, Some(Pop::Proxy(sf))));
            }
            _ => return None,
        };
        let nb = &self.neighbors[n];
        let Transport::Gpe4(hdr) = &nb.transport else {
            return None;
        };
        if nb.unresolved {
            return None;
        }
        Some((nb.port, hdr, None))
    }
}

/// IPv4 total length and UDP length of a transit packet of `len` (at least 42) bytes: within
/// the frame, each large enough for its header, UDP within IPv4. As two unsigned comparisons:
/// 28 <= total <= len - 14, and 8 <= udp <= total - 20.
#[inline(always)]
fn transit_lengths_ok(outer: &[u8; GPE4_LEN], len: usize) -> bool {
    let total_len = usize::from(be16(outer, gpe4::IP_LENGTH.start));
    let udp_len = usize::from(be16(outer, gpe4::UDP_LENGTH.start));
    total_len.wrapping_sub(IP_UDP_LEN) <= len - gpe4::GPE
        && udp_len.wrapping_sub(udp::HEADER_LEN) <= total_len - IP_UDP_LEN
}

/// Forwards a packet the transit path accepted toward its next hop (`hdr` out of `port`): NSH
/// TTL decremented (it was above 1), outer headers rewritten. Returns the output port.
#[inline(always)]
fn transit_forward(hdr: &Gpe4Template, port: usize, d: &mut [u8]) -> usize {
    if let Some(h) = d.get_mut(gpe4::NSH..) {
        nsh::decrement_ttl_in_place(h);
    }
    // The previous hop's entropy (outer UDP source port) is kept.
    let sport = d
        .get(gpe4::UDP_SRC_PORT)
        .map_or(0, |p| u16::from_be_bytes([p[0], p[1]]));
    hdr.write(d, sport);
    port
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_mask_covers_the_checked_bits() {
        // Bytes 12..60 as they were written out by hand: EtherType, IPv4 version and IHL; MF and
        // fragment offset, protocol; destination address; UDP destination port, VXLAN-GPE
        // version and P bit; VXLAN-GPE next protocol, NSH version, O bit and length; NSH MD
        // type, SPI and SI.
        let by_hand: [u64; 6] = [
            u64::from_le_bytes([0xff, 0xff, 0xff, 0, 0, 0, 0, 0]),
            u64::from_le_bytes([0x3f, 0xff, 0, 0xff, 0, 0, 0, 0]),
            u64::from_le_bytes([0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0]),
            u64::from_le_bytes([0xff, 0xff, 0, 0, 0, 0, 0x34, 0]),
            u64::from_le_bytes([0, 0xff, 0, 0, 0, 0, 0xe0, 0x3f]),
            u64::from_le_bytes([0x0f, 0, 0xff, 0xff, 0xff, 0xff, 0, 0]),
        ];
        assert_eq!(SIG_AT, 12);
        assert_eq!(SIG_MASK, by_hand);
    }
}
