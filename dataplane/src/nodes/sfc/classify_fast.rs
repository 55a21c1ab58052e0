//! The classifier's fast path: an untagged IPv4 (no options, not a fragment) TCP or UDP packet
//! in a single segment, on a port whose untagged frames no proxy claims, to an address that is
//! neither one of our VTEPs nor one of our own, is classified by its 5-tuple and arrival port
//! through a per-worker [`FastFlows`] table of decisions: the rule's outcome, and for a path whose
//! first hop is a resolved remote SFF or lone remote SF
//! ([`FastStart`](crate::tables::sfc::FastStart)) the outer headers and NSH
//! pushed with one copy, the IPv4 lengths and checksum filled in, and the flow's ECMP source port
//! computed once per flow.
//!
//! Only what the general path ([`classify`](super::classify)) would do with the packet is done,
//! byte for byte and with the same verdict; a differential test holds them equal. A decision is
//! cached only for the tables it was taken on (their [`id`](SfcTables::id)). Everything else
//! (VLANs, IPv6, fragments, other protocols, built-in first hops, groups) returns `None` to the
//! general path.

use super::SfcState;
use crate::nodes::trace::NoTrace;
use crate::nodes::Verdict;
use crate::packet::PacketBuf;
use crate::stats::DropReason;
use crate::tables::classifier::MatchKey;
use crate::tables::sfc::{RuleAction, SfcTables};
use crate::wire::encap::{gpe4_patch, GPE4_LEN};
use crate::wire::{FlowKey, IpProtocol, Ipv4Address};

/// Bytes the fast path reads: Ethernet, IPv4 without options, the ports.
const HEADERS: usize = 14 + 20 + 4;

/// What the classifier does with a flow, as the fast path caches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Start,
    Path,
    Exit,
    Drop,
    General,
}

/// What the classifier does with a flow, as the fast path caches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// Onto this path, by its [`FastStart`](crate::tables::sfc::FastStart).
    Start(u32),
    /// Onto this path, whose first hop the SFF takes (a built-in SF, a group, a proxy): its NSH
    /// header pushed, then the SFF with the flow's key.
    Path(u32),
    /// Out of this exit, unchained.
    Exit(u32),
    Drop(DropReason),
    /// Left to the general path.
    General,
}

/// One cached decision: the flow's key words, the tables it holds for, the decision (its kind
/// and an index: a path, an exit or a drop reason) and the flow's ECMP port. 32 bytes.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Slot {
    k0: u64,
    k1: u64,
    tables: u64,
    index: u32,
    kind: Kind,
    sport: u16,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32);

const EMPTY: Slot = Slot {
    k0: 0,
    k1: 0,
    tables: 0,
    index: 0,
    kind: Kind::General,
    sport: 0,
};

impl Slot {
    #[inline(always)]
    fn decision(&self) -> Decision {
        match self.kind {
            Kind::Start => Decision::Start(self.index),
            Kind::Path => Decision::Path(self.index),
            Kind::Exit => Decision::Exit(self.index),
            Kind::Drop => Decision::Drop(DropReason::ALL[self.index as usize]),
            Kind::General => Decision::General,
        }
    }
}

/// Two slots in one cache line: one probe per packet.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Bucket([Slot; 2]);

/// A worker's decisions of the classifier's fast path by flow: 2-way set-associative, sized at
/// construction, never allocating afterwards; a full bucket replaces its older slot.
#[derive(Debug)]
pub struct FastFlows {
    buckets: Box<[Bucket]>,
    /// 64 − log2(number of buckets): the hash's top bits pick the bucket.
    shift: u32,
}

impl FastFlows {
    /// Room for at least `flows` flows (two per bucket, a power of two of buckets).
    pub fn new(flows: usize) -> FastFlows {
        let n = Self::capacity_for(flows) / 2;
        FastFlows {
            buckets: vec![Bucket([EMPTY; 2]); n].into_boxed_slice(),
            shift: 64 - n.trailing_zeros(),
        }
    }

    /// The capacity [`new`](Self::new)`(flows)` has.
    pub fn capacity_for(flows: usize) -> usize {
        flows.div_ceil(2).max(2).next_power_of_two() * 2
    }

    /// The number of flows it holds at most.
    pub fn capacity(&self) -> usize {
        self.buckets.len() * 2
    }

    #[inline(always)]
    fn bucket(&self, k0: u64, k1: u64) -> usize {
        let h = (k0 ^ k1.rotate_left(23)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> self.shift) as usize
    }
}

/// The flow key of the headers the fast path read.
#[inline(always)]
fn flow_of(h: &[u8; HEADERS]) -> FlowKey {
    let addr = |at: usize| Ipv4Address::new(h[at], h[at + 1], h[at + 2], h[at + 3]);
    FlowKey::ipv4(
        addr(26),
        addr(30),
        IpProtocol::from(h[23]),
        u16::from_be_bytes([h[34], h[35]]),
        u16::from_be_bytes([h[36], h[37]]),
    )
}

/// `dst.copy_from_slice(src)` for headers: from 16 to 128 bytes in two fixed-size moves, which
/// may overlap, instead of a call to `memmove`.
#[inline(always)]
fn copy_headers(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if dst.len() != n || !(16..=128).contains(&n) {
        dst.copy_from_slice(src);
        return;
    }
    match n {
        16..=32 => copy_two::<16>(dst, src),
        33..=64 => copy_two::<32>(dst, src),
        _ => copy_two::<64>(dst, src),
    }
}

/// For `K <= src.len() == dst.len() <= 2K`: the first and the last `K` bytes cover them all.
#[inline(always)]
fn copy_two<const K: usize>(dst: &mut [u8], src: &[u8]) {
    if let (Some(d), Some(s)) = (dst.first_chunk_mut::<K>(), src.first_chunk::<K>()) {
        *d = *s;
    }
    if let (Some(d), Some(s)) = (dst.last_chunk_mut::<K>(), src.last_chunk::<K>()) {
        *d = *s;
    }
}

impl SfcTables {
    /// The classifier's fast path: `Some(verdict)` when it took the packet, `None` (the packet
    /// untouched) for the general path.
    #[inline(always)]
    pub(super) fn classify_fast<P: PacketBuf>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        in_port: usize,
    ) -> Option<Verdict> {
        if self.fast_ports & 1u64.checked_shl(in_port as u32)? == 0 {
            return None;
        }
        let whole = pkt.pkt_len();
        let d = pkt.data();
        let h = d.first_chunk::<HEADERS>()?;
        // IPv4 total length: the header, the ports, within the frame.
        let total = usize::from(u16::from_be_bytes([h[16], h[17]]));
        if whole != d.len()
            || u32::from_be_bytes([h[12], h[13], h[14], 0]) != 0x0800_4500
            || total.wrapping_sub(24) > d.len() - HEADERS
            || h[20] & 0x3f != 0
            || h[21] != 0
            || (h[23] != 6 && h[23] != 17)
        {
            return None;
        }
        let dst = u32::from_ne_bytes([h[30], h[31], h[32], h[33]]);
        if self.not_plain4.contains(&dst) {
            return None;
        }
        let w = |b: &[u8]| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        let k0 = w(&h[26..34]);
        let k1 = u64::from(u32::from_le_bytes([h[34], h[35], h[36], h[37]]))
            | u64::from(h[23]) << 32
            | (in_port as u64) << 40;
        let b = st.fast.bucket(k0, k1);
        let ways = &st.fast.buckets[b].0;
        let is = |s: &Slot| (s.k0 ^ k0) | (s.k1 ^ k1) | (s.tables ^ self.id) == 0;
        let hit = if is(&ways[0]) {
            Some(&ways[0])
        } else if is(&ways[1]) {
            Some(&ways[1])
        } else {
            None
        };
        let (decision, sport) = match hit {
            Some(s) => {
                if s.kind != Kind::General {
                    // Counted as the classifier's own cache would have counted it.
                    st.cache.hits += 1;
                }
                (s.decision(), s.sport)
            }
            None => {
                let slot = self.fast_decide(st, h, in_port, k0, k1);
                let bucket = &mut st.fast.buckets[b].0;
                bucket[1] = bucket[0];
                bucket[0] = slot;
                (slot.decision(), slot.sport)
            }
        };
        match decision {
            Decision::Start(pi) => {
                let s = self.starts[pi as usize].as_ref()?;
                let n = s.bytes.len();
                if !pkt.prepend(n) {
                    return Some(Verdict::Drop(DropReason::NoHeadroom));
                }
                let len = pkt.pkt_len();
                let d = pkt.data_mut();
                copy_headers(&mut d[..n], &s.bytes);
                if let (Some(sum), Some(outer)) = (s.gpe4_sum, d.first_chunk_mut::<GPE4_LEN>()) {
                    gpe4_patch(outer, sum, len, sport);
                }
                if let Some(sf) = s.sf {
                    st.sf_packets[sf] += 1;
                }
                Some(Verdict::Tx(s.port))
            }
            Decision::Path(pi) => {
                let flow = flow_of(h);
                let hdr = &self.paths[pi as usize].nsh;
                if !pkt.prepend(hdr.len()) {
                    return Some(Verdict::Drop(DropReason::NoHeadroom));
                }
                copy_headers(&mut pkt.data_mut()[..hdr.len()], hdr);
                Some(self.sff_forward(st, pkt, Some(Some(flow)), None, &mut NoTrace))
            }
            Decision::Exit(x) => Some(self.to_exit(pkt, x as usize)),
            Decision::Drop(r) => Some(Verdict::Drop(r)),
            Decision::General => None,
        }
    }

    /// The classifier's decision for a flow the fast path has not seen on these tables, as the
    /// general path takes it (through the classifier's own flow cache).
    #[cold]
    #[inline(never)]
    fn fast_decide(
        &self,
        st: &mut SfcState,
        h: &[u8; HEADERS],
        in_port: usize,
        k0: u64,
        k1: u64,
    ) -> Slot {
        let flow = flow_of(h);
        let key = MatchKey {
            in_port: in_port as u16,
            vlan: None,
            flow,
        };
        let action = match self.classifier.lookup_cached(&mut st.cache, &key) {
            Some((rule, _)) => Some(self.rule_actions[rule]),
            None => self.unmatched.map(RuleAction::Exit),
        };
        let decision = match action {
            None => Decision::Drop(DropReason::Unmatched),
            Some(RuleAction::Drop) => Decision::Drop(DropReason::ClassifierDrop),
            Some(RuleAction::Exit(x)) => Decision::Exit(x as u32),
            Some(RuleAction::Path(pi)) if self.starts[pi].is_some() => Decision::Start(pi as u32),
            Some(RuleAction::Path(pi)) => Decision::Path(pi as u32),
        };
        let (kind, index) = match decision {
            Decision::Start(i) => (Kind::Start, i),
            Decision::Path(i) => (Kind::Path, i),
            Decision::Exit(i) => (Kind::Exit, i),
            Decision::Drop(r) => (Kind::Drop, r as u32),
            Decision::General => (Kind::General, 0),
        };
        Slot {
            k0,
            k1,
            tables: self.id,
            index,
            kind,
            sport: flow.entropy_port(),
        }
    }
}
