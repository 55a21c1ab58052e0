//! The compiled, immutable SFC tables of a pipeline (RFC 7665, RFC 8300): service paths and their
//! hops, neighbours with their outer header templates, SF instances and groups, exits, the
//! classifier and its rule actions. Built by [`crate::compile`], read by the SFC nodes; workers
//! share one snapshot and keep their mutable state apart.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crossbeam::utils::CachePadded;

use super::classifier::Classifier;
use crate::wire::encap::{EthTemplate, Gpe4Template, Gpe6Template};

/// A hasher for the SFF table's `u32` keys (SPIs): one multiply.
#[derive(Debug, Default, Clone, Copy)]
pub struct SffKeyHasher(u64);

impl std::hash::Hasher for SffKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// Where a path's hops sit in the SFF's hop arena: the hop for SI `si` is
/// `arena[offset + (si - lo)]` when `lo <= si < lo + len`. All paths share one arena, so a lookup
/// is one hash probe and one read from a compact array, even with 10k paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathHops {
    pub offset: u32,
    pub lo: u8,
    pub len: u16,
}

/// SPI → the path's hops, hashed.
pub type SffMap = HashMap<u32, PathHops, std::hash::BuildHasherDefault<SffKeyHasher>>;

/// SPI → the path's hops: an array indexed by SPI when the SPIs are dense (as Neutron allocates
/// them, counting up), so that a lookup is one read even with 10k paths; a hash map otherwise.
#[derive(Debug, Default, Clone)]
pub struct SpiTable {
    map: SffMap,
    /// The SPI of `dense[0]`.
    base: u32,
    /// By SPI − `base`; [`PathHops::NONE`] where no path has that SPI. Empty: use `map`.
    dense: Vec<PathHops>,
}

impl PathHops {
    /// No path (a hole in [`SpiTable`]'s array).
    pub const NONE: PathHops = PathHops {
        offset: u32::MAX,
        lo: 0,
        len: 0,
    };
}

impl SpiTable {
    /// Array slots allowed beyond the number of paths: SPIs spread over up to this many more
    /// values than there are paths still get the array (8 bytes a slot).
    const SLACK: usize = 4096;

    /// The table of these (SPI, hops) pairs; for an SPI given twice, the last.
    pub fn new(pairs: impl IntoIterator<Item = (u32, PathHops)>) -> Self {
        let map: SffMap = pairs.into_iter().collect();
        let (Some(&lo), Some(&hi)) = (map.keys().min(), map.keys().max()) else {
            return Self::default();
        };
        let span = (hi - lo) as usize + 1;
        if span > 2 * map.len() + Self::SLACK {
            return Self {
                map,
                base: 0,
                dense: Vec::new(),
            };
        }
        let mut dense = vec![PathHops::NONE; span];
        for (&spi, &h) in &map {
            dense[(spi - lo) as usize] = h;
        }
        Self {
            map,
            base: lo,
            dense,
        }
    }

    /// The hops of the path with this SPI.
    #[inline(always)]
    pub fn get(&self, spi: u32) -> Option<PathHops> {
        if self.dense.is_empty() {
            return self.map.get(&spi).copied();
        }
        let h = *self.dense.get(spi.wrapping_sub(self.base) as usize)?;
        (h.offset != u32::MAX).then_some(h)
    }

    /// Whether lookups read the array (for tests and traces).
    pub fn is_dense(&self) -> bool {
        !self.dense.is_empty()
    }
}

/// (port, VLAN) → the proxied SF whose frames come back there: looked up for every packet the
/// fast paths leave, so hashed with a multiply or two rather than SipHash.
pub type ProxyMap =
    HashMap<(usize, Option<u16>), usize, std::hash::BuildHasherDefault<SffKeyHasher>>;

/// Packets one SF instance handled, one cache-line-sized slot per worker (each written only by
/// its worker). Kept across table swaps for SFs that keep their name.
#[derive(Debug)]
pub struct SfCounter {
    per_worker: Box<[CachePadded<AtomicU64>]>,
}

impl SfCounter {
    pub fn new(workers: usize) -> Arc<SfCounter> {
        Arc::new(SfCounter {
            per_worker: (0..workers.max(1)).map(|_| Default::default()).collect(),
        })
    }

    /// What `worker` last published.
    pub fn load(&self, worker: usize) -> u64 {
        self.per_worker.get(worker).map_or(0, |c| c.load(Relaxed))
    }

    /// Publishes `worker`'s count (only that worker writes its slot).
    pub fn store(&self, worker: usize, n: u64) {
        if let Some(c) = self.per_worker.get(worker) {
            c.store(n, Relaxed);
        }
    }

    /// All workers together.
    pub fn total(&self) -> u64 {
        self.per_worker.iter().map(|c| c.load(Relaxed)).sum()
    }
}

/// How a neighbour is reached, with its outer headers ready to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// NSH directly over Ethernet.
    Ethernet(EthTemplate),
    /// VXLAN-GPE over IPv4.
    Gpe4(Gpe4Template),
    /// VXLAN-GPE over IPv6.
    Gpe6(Gpe6Template),
}

/// A remote SFF or NSH-aware SF.
#[derive(Debug, Clone)]
pub struct Neighbor {
    /// The pipeline port it is reached through.
    pub port: usize,
    /// Its MAC is to be found by ARP and is not known yet.
    pub unresolved: bool,
    pub transport: Transport,
}

/// What an SF instance is, compiled.
#[derive(Debug)]
pub enum SfImpl {
    /// Built in: counts, then SI − 1.
    Counter,
    /// Built in: the first matching rule allows or denies (its action `Pass` or `Drop`);
    /// stateful, with this many connections per worker, when `stateful` is set.
    Firewall {
        rules: Classifier,
        default_allow: bool,
        stateful: Option<usize>,
    },
    /// Built in: a load balancer.
    Lb(Box<super::lb::Lb>),
    /// Built in: signature inspection.
    Ids(Box<super::ids_sf::IdsSf>),
    /// NSH-aware, behind a neighbour (index).
    Remote(usize),
    /// NSH-unaware, behind the SFC proxy on a port and VLAN.
    Proxy {
        port: usize,
        vlan: Option<u16>,
        /// Destination MAC of what is sent to it; the inner frame's when `None`.
        mac: Option<[u8; 6]>,
        /// Its MAC is to be found by ARP and is not known yet.
        unresolved: bool,
    },
    /// Several instances (SF indices) of one SF, and the Maglev table of those that are up, by
    /// weight (its entries index `members`).
    Group {
        members: Vec<usize>,
        maglev: super::maglev::Maglev,
        /// The fields the instance is picked by; the symmetric 5-tuple when empty.
        fields: crate::wire::flow::LbFields,
    },
}

/// An SF instance or group.
#[derive(Debug)]
pub struct Sf {
    pub name: String,
    pub imp: SfImpl,
    /// Skipped by its groups.
    pub down: bool,
    pub counter: Arc<SfCounter>,
}

/// Where plain packets leave.
#[derive(Debug, Clone)]
pub struct Exit {
    pub port: usize,
    /// The inner frame's destination MAC is kept when `None`.
    pub dst_mac: Option<[u8; 6]>,
    pub src_mac: [u8; 6],
    /// Its gateway's MAC is to be found by ARP and is not known yet.
    pub unresolved: bool,
}

/// A path's next hop at one SI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// An SF (index).
    Sf(usize),
    /// An SF (index) on a path that is another's reverse: a group that picks its instance by
    /// some fields (`lb_fields`) reads them from the other end, as its requests had them.
    SfReverse(usize),
    /// A remote SFF (neighbour index).
    Sff(usize),
    /// The end of the chain, out of an exit (index).
    End(usize),
}

/// What a classifier rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// Onto a path (index).
    Path(usize),
    /// Out of an exit (index), unchained.
    Exit(usize),
    Drop,
}

/// A service path as the classifier starts it.
#[derive(Debug, Clone)]
pub struct PathStart {
    /// The NSH header the classifier pushes (TTL, SPI and starting SI filled in).
    pub nsh: Vec<u8>,
}

/// A path's start as the classifier's fast path pushes it: the path's first hop is a remote SFF
/// or a lone remote SF, reached over NSH over Ethernet or VXLAN-GPE over IPv4, resolved; its
/// outer headers and the path's NSH header in one run of bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastStart {
    /// The outer headers, then the NSH header, as pushed (per-packet fields zero).
    pub bytes: Box<[u8]>,
    /// For VXLAN-GPE over IPv4: the sum of the IPv4 header, whose lengths, checksum and UDP
    /// source port are filled in per packet; `None` for NSH over Ethernet.
    pub gpe4_sum: Option<u16>,
    /// The output port.
    pub port: usize,
    /// The remote SF whose packet count the packet adds to, when the first hop is one.
    pub sf: Option<usize>,
}

/// A number unique to each [`SfcTables`] built, for the workers' caches of decisions taken over
/// one table.
pub fn next_tables_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Relaxed)
}

/// The compiled SFC tables of a pipeline. Workers share one and keep their mutable state apart
/// (`nodes::sfc::SfcState`).
#[derive(Debug)]
pub struct SfcTables {
    /// Our VTEPs (port index, address).
    pub vteps: Vec<(usize, IpAddr)>,
    /// Our IPv4 VTEP addresses, as read from a packet (network order in a `u32`).
    pub vtep4: Vec<u32>,
    pub neighbors: Vec<Neighbor>,
    pub sfs: Vec<Sf>,
    pub exits: Vec<Exit>,
    pub paths: Vec<PathStart>,
    pub sff: SpiTable,
    pub hop_arena: Vec<Option<Hop>>,
    pub classifier: Classifier,
    /// By classifier rule index.
    pub rule_actions: Vec<RuleAction>,
    /// The exit of traffic no rule matches (`None`: dropped).
    pub unmatched: Option<usize>,
    /// (port, VLAN) → the proxied SF whose frames come back there.
    pub proxies: ProxyMap,
    /// Entries of each worker's classifier flow cache.
    pub flow_cache: usize,
    /// Flows each worker's proxy remembers.
    pub proxy_flows: usize,
    /// Our IPv4 addresses (port index, address): ARP and ICMP for them go to the host stack.
    pub host4: Vec<(usize, [u8; 4])>,
    /// One bit per pipeline port whose untagged frames no proxy claims: where the transit fast
    /// path may look.
    pub fast_ports: u64,
    /// By path index: its start for the classifier's fast path, when it has one.
    pub starts: Vec<Option<FastStart>>,
    /// Unique to these tables ([`next_tables_id`]).
    pub id: u64,
    /// IPv4 destinations the classifier's fast path leaves to the general path: our VTEPs and
    /// our own addresses (network order in a `u32`).
    pub not_plain4: Vec<u32>,
    /// Names, for traces.
    pub path_names: Vec<String>,
    pub exit_names: Vec<String>,
    pub neighbor_names: Vec<String>,
}

impl SfcTables {
    /// The hop of a path for an SI.
    #[inline(always)]
    pub fn hop(&self, p: PathHops, si: u8) -> Option<Hop> {
        let i = usize::from(si.wrapping_sub(p.lo));
        if i >= usize::from(p.len) {
            return None;
        }
        self.hop_arena.get(p.offset as usize + i).copied().flatten()
    }

    /// The start of path `pi` for the classifier's fast path: `None` when its first hop is a
    /// built-in SF, a group, a proxied SF, the end of the chain, a neighbour over IPv6 or one not
    /// resolved yet (the general path handles those).
    pub fn fast_start(&self, pi: usize) -> Option<FastStart> {
        let nsh = &self.paths.get(pi)?.nsh;
        let h = crate::wire::nsh::Packet::new_checked(&nsh[..]).ok()?;
        let (spi, si) = (h.spi(), h.si());
        if si == 0 {
            return None;
        }
        let (n, sf) = match self.hop(self.sff.get(spi)?, si)? {
            Hop::Sff(n) => (n, None),
            Hop::Sf(i) | Hop::SfReverse(i) => match self.sfs[i].imp {
                SfImpl::Remote(n) => (n, Some(i)),
                _ => return None,
            },
            Hop::End(_) => return None,
        };
        let nb = &self.neighbors[n];
        if nb.unresolved {
            return None;
        }
        let (outer, gpe4_sum): (&[u8], _) = match &nb.transport {
            Transport::Ethernet(t) => (t.bytes(), None),
            Transport::Gpe4(t) => (t.bytes(), Some(t.ip_sum())),
            Transport::Gpe6(_) => return None,
        };
        Some(FastStart {
            bytes: [outer, &nsh[..]].concat().into_boxed_slice(),
            gpe4_sum,
            port: nb.port,
            sf,
        })
    }

    /// A hop in words, for traces.
    pub fn describe_hop(&self, hop: Hop) -> String {
        match hop {
            Hop::Sf(i) | Hop::SfReverse(i) => format!("SF {}", self.sfs[i].name),
            Hop::Sff(n) => format!("neighbour {}", self.neighbor_names[n]),
            Hop::End(x) => format!("end of chain, exit {}", self.exit_names[x]),
        }
    }

    /// Whether `a` is one of our VTEPs.
    #[inline]
    pub fn is_vtep(&self, a: IpAddr) -> bool {
        self.vteps.iter().any(|(_, v)| *v == a)
    }

    /// Packets each SF handled, all workers together, as last published.
    pub fn sf_totals(&self) -> Vec<(String, u64)> {
        self.sfs
            .iter()
            .map(|sf| (sf.name.clone(), sf.counter.total()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hops(i: u32) -> PathHops {
        PathHops {
            offset: i,
            lo: 250,
            len: 6,
        }
    }

    /// The array and the hash map answer alike: every SPI given, none other (below, between and
    /// above them, and the far end of the SPI space).
    #[test]
    fn spi_table_answers_alike_dense_or_hashed() {
        let dense_spis: Vec<u32> = (100..10_100).filter(|s| s % 7 != 3).collect();
        let sparse_spis = vec![1, 5000, 0xff_ffff];
        for (spis, dense) in [(dense_spis, true), (sparse_spis, false)] {
            let t = SpiTable::new(spis.iter().map(|&s| (s, hops(s * 2))));
            assert_eq!(t.is_dense(), dense);
            for &s in &spis {
                assert_eq!(t.get(s), Some(hops(s * 2)), "spi {s}");
            }
            let given: std::collections::HashSet<u32> = spis.iter().copied().collect();
            for s in (0..20_000).chain([0xff_fffe, 0xff_ffff, u32::MAX]) {
                if !given.contains(&s) {
                    assert_eq!(t.get(s), None, "spi {s}");
                }
            }
        }
        // An SPI given twice: the last; no SPIs: nothing found.
        let t = SpiTable::new([(9, hops(1)), (9, hops(2))]);
        assert_eq!(t.get(9), Some(hops(2)));
        assert_eq!(SpiTable::new([]).get(0), None);
    }
}
