//! The compiled `lb` SF: its virtual address, its backends and their Maglev table. Read by the
//! `lb` node (`nodes::sfc::lb`), whose per-worker connection tables remember which backend each
//! connection went to, by the backend's [`id`](LbBackend::id) (a hash of its name), so that a
//! connection keeps its backend across table swaps that add, remove or reorder backends.

use super::classifier::PortRange;
use super::maglev::Maglev;

/// A backend, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbBackend {
    pub name: String,
    /// Stable across table swaps: a hash of the name.
    pub id: u64,
    /// IPv4, network order.
    pub addr: [u8; 4],
    /// The destination port the NAT rewrites to (`None`: the VIP's).
    pub port: Option<u16>,
    /// `None`: not resolved by ARP yet (it gets no flows).
    pub mac: Option<[u8; 6]>,
    pub weight: u32,
    /// Down (marked, unanswered ARP or failed probes): no flows, its connections move.
    pub down: bool,
}

impl LbBackend {
    /// Whether it may carry flows at all (existing ones, and new ones when its weight is not 0).
    #[inline]
    pub fn alive(&self) -> bool {
        !self.down && self.mac.is_some()
    }
}

/// An `lb` SF, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lb {
    /// IPv4, network order.
    pub vip: [u8; 4],
    /// IP protocol; `None`: TCP and UDP.
    pub protocol: Option<u8>,
    pub ports: PortRange,
    /// Destination NAT (else only the frame's destination MAC changes).
    pub nat: bool,
    /// New connections are placed by the client's address alone.
    pub source_hash: bool,
    pub backends: Vec<LbBackend>,
    /// Over the backends that are alive, by weight; its entries index `backends`.
    pub maglev: Maglev,
    /// Connections each worker remembers.
    pub connections: usize,
}

/// The stable id of a backend called `name`.
pub fn backend_id(name: &str) -> u64 {
    // FNV-1a: stable everywhere, unlike the standard library's hasher.
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl Lb {
    /// Builds it; `table_size` must be a prime (checked by the pipeline checks).
    pub fn new(
        vip: [u8; 4],
        protocol: Option<u8>,
        ports: PortRange,
        nat: bool,
        backends: Vec<LbBackend>,
        table_size: usize,
        connections: usize,
    ) -> Lb {
        // Backends that are not alive get weight 0: no entries. Indices stay those of `backends`.
        let maglev = Maglev::new(
            backends
                .iter()
                .map(|b| (b.name.as_str(), if b.alive() { b.weight } else { 0 })),
            table_size,
        );
        Lb {
            vip,
            protocol,
            ports,
            nat,
            source_hash: false,
            backends,
            maglev,
            connections,
        }
    }

    /// The backend with id `id`, trying index `hint` first.
    #[inline]
    pub fn backend_by_id(&self, id: u64, hint: u16) -> Option<usize> {
        let h = usize::from(hint);
        if self.backends.get(h).is_some_and(|b| b.id == id) {
            return Some(h);
        }
        self.backends.iter().position(|b| b.id == id)
    }

    /// The backend whose address and port a reply comes from, for the reverse NAT.
    #[inline]
    pub fn backend_of_reply(&self, src: [u8; 4], src_port: u16) -> Option<usize> {
        self.backends.iter().position(|b| {
            b.addr == src
                && match b.port {
                    Some(p) => p == src_port,
                    None => self.ports.lo <= src_port && src_port <= self.ports.hi,
                }
        })
    }
}
